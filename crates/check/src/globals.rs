// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The lvs settings of `global_defs`: connection timeouts and the
//! connection-sync daemon.

use std::net::IpAddr;

use keepalived_config::model::global::GlobalDefs;
use keepalived_ipvs::model::{SyncDaemon, SyncState, Timeouts};

/// `lvs_timeouts`, for `SetTimeouts` (0 = leave the kernel's value). None
/// when unset or all zero: keepalived then sends nothing
/// (ipvswrapper.c `ipvs_set_timeouts`).
pub fn lvs_timeouts(g: &GlobalDefs) -> Option<Timeouts> {
    let t = g.lvs_timeouts.as_ref()?;
    let out = Timeouts {
        tcp: t.tcp.unwrap_or(0),
        tcp_fin: t.tcpfin.unwrap_or(0),
        udp: t.udp.unwrap_or(0),
    };
    (out != Timeouts::default()).then_some(out)
}

/// `lvs_sync_daemon IF [inst VI | VI [ID]] [id N] [maxlen N] [port N]
/// [ttl N] [group IP]` (global_parser.c `lvs_syncd_handler`). The VRRP
/// child runs it: master or backup following `instance`'s state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncDaemonSpec {
    pub interface: String,
    pub instance: Option<String>,
    /// None = the instance's VRID.
    pub sync_id: Option<u32>,
    pub max_len: Option<u16>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    pub group: Option<IpAddr>,
}

impl SyncDaemonSpec {
    /// The daemon to start in `state`; `vrid` is the tracked instance's,
    /// the sync id when none was written.
    pub fn daemon(&self, state: SyncState, vrid: u8) -> SyncDaemon {
        SyncDaemon {
            state,
            interface: self.interface.clone(),
            sync_id: self.sync_id.unwrap_or(u32::from(vrid)),
            max_len: self.max_len,
            group: self.group,
            port: self.port,
            ttl: self.ttl,
        }
    }
}

/// Reads the words of `lvs_sync_daemon` as the configuration kept them.
/// Values keepalived rejects are left unset, as keepalived does.
pub fn sync_daemon_spec(g: &GlobalDefs) -> Option<SyncDaemonSpec> {
    let words = g.lvs_sync_daemon.as_ref()?;
    let (interface, rest) = words.split_first()?;
    let mut spec = SyncDaemonSpec {
        interface: interface.clone(),
        instance: None,
        sync_id: None,
        max_len: None,
        port: None,
        ttl: None,
        group: None,
    };
    let mut i = 0;
    while i < rest.len() {
        let value = rest.get(i + 1).map(String::as_str);
        let mut took_value = true;
        match (rest[i].as_str(), value) {
            ("inst", Some(v)) => {
                spec.instance.get_or_insert_with(|| v.to_string());
            }
            ("id", Some(v)) => spec.sync_id = v.parse().ok().filter(|n| *n <= 255),
            ("maxlen", Some(v)) => {
                spec.max_len = v.parse().ok().filter(|n| (1..=65535 - 28).contains(n));
            }
            ("port", Some(v)) => spec.port = v.parse().ok().filter(|n| *n >= 1),
            ("ttl", Some(v)) => spec.ttl = v.parse().ok().filter(|n| *n >= 1),
            ("group", Some(v)) => {
                spec.group = v.parse::<IpAddr>().ok().filter(IpAddr::is_multicast);
            }
            // The old positional form: `IF INSTANCE [SYNCID]`.
            (word, _) if i == 0 => {
                spec.instance = Some(word.to_string());
                took_value = false;
            }
            (word, _) if i == 1 => {
                spec.sync_id = word.parse().ok().filter(|n| *n <= 255);
                took_value = false;
            }
            _ => took_value = false,
        }
        i += if took_value { 2 } else { 1 };
    }
    Some(spec)
}
