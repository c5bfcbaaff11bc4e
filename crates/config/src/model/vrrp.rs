// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_instance` (inventory §A.7).
//!
//! Values that depend on other blocks (the VRRP version, the address
//! family, global defaults, interface existence) are settled by
//! `validate::vrrp`; this module reads what is written, with keepalived's
//! per-keyword checks.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::diag::Category;
use crate::model::addr::{
    At, IpAddress, Route, Rule, parse_prefix, read_route_block, read_rule_block, read_vip_block,
};
use crate::model::sync_group::set_notify;
use crate::model::track::{TrackRef, read_track_refs};
use crate::reader::{Reader, Table};
use crate::syntax::Node;
use crate::types::{Command, Timer};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Master,
    #[default]
    Backup,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    /// Simple password (type 1).
    #[default]
    Pass,
    /// IPSEC AH (type 2).
    Ah,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Authentication {
    /// None when `auth_type` was missing or invalid.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub auth_type: Option<AuthType>,
    /// At most 8 characters (longer ones are truncated with a warning).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub auth_pass: Option<String>,
}

/// `unicast_peer` entry: `IP [min_ttl N] [max_ttl N]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UnicastPeer {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub min_ttl: u8,
    #[serde(skip_serializing_if = "unicast_peer_max_ttl_is_default")]
    pub max_ttl: u8,
    #[serde(skip)]
    pub at: At,
}

impl Default for UnicastPeer {
    fn default() -> Self {
        Self {
            address: IpAddr::from([0, 0, 0, 0]),
            min_ttl: 0,
            max_ttl: 255,
            at: At::default(),
        }
    }
}

struct_defaults!(UnicastPeer {
    max_ttl: u8 => unicast_peer_max_ttl_is_default,
});

/// `use_vmac [IFNAME] [MAC]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Vmac {
    /// None = `vrrp.<VRID>` (with `vmac_prefix`).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: Option<String>,
    /// None = 00:00:5e:00:01:<VRID> (02 for IPv6).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mac: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    #[default]
    Bridge,
    Private,
    Vepa,
}

/// `use_ipvlan [IFNAME] [IP[/LEN]] [bridge|private|vepa]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Ipvlan {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub address: Option<crate::model::addr::Prefix>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mode: IpvlanMode,
}

/// `garp_extra_if [all] SECS`: repeat GARPs for addresses on other
/// interfaces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GarpExtraIf {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub all: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub interval: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpInstance {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    #[serde(skip_serializing_if = "vrrp_instance_state_is_default")]
    pub state: State,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub interface: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vrf: Option<String>,
    /// Required, 1-255.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtual_router_id: Option<u8>,
    /// 1-255; 255 = address owner. 100, or 255 for `state MASTER` when
    /// not written.
    #[serde(skip_serializing_if = "vrrp_instance_priority_is_default")]
    pub priority: u8,
    /// 1 s. VRRPv2 rounds to whole seconds, v3 to centiseconds (validate).
    #[serde(skip_serializing_if = "vrrp_instance_advert_int_is_default")]
    pub advert_int: Timer,
    /// 2 or 3; None = global `vrrp_version` (3 for IPv6).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub version: Option<u8>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub authentication: Option<Authentication>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_interface: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_script: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_file: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_process: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_bfd: Vec<TrackRef>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub dont_track_primary: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_master: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_backup: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_fault: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_stop: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_deleted: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_master_rx_lower_pri: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_priority_changes: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_alert: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub unicast_peer: Vec<UnicastPeer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub unicast_src_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mcast_src_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mcast_dst_ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_src_ip: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub unicast_ttl: Option<u8>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub unicast_fault_no_peer: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub check_unicast_src: bool,
    /// `old_unicast_checksum [never]`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub old_unicast_checksum: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub native_ipv6: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub use_vmac: Option<Vmac>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub use_vmac_addr: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub vmac_xmit_base: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub use_ipvlan: Option<Ipvlan>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtual_ipaddress: Vec<IpAddress>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtual_ipaddress_excluded: Vec<IpAddress>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtual_routes: Vec<Route>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtual_rules: Vec<Rule>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub promote_secondaries: bool,
    /// None = keepalived decides (no_accept in strict mode below 255).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub accept: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub skip_check_adv_addr: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub strict_mode: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nopreempt: bool,
    /// 0-1000 s.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub preempt_delay: Timer,
    /// 0-4.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub debug: u8,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_sync_daemon_interface: Option<String>,
    /// Seconds; None = the global `vrrp_garp_*` value.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_master_delay: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_master_repeat: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_master_refresh: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_master_refresh_repeat: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_lower_prio_delay: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_lower_prio_repeat: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub garp_extra_if: Option<GarpExtraIf>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub down_timer_adverts: Option<u8>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lower_prio_no_advert: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub higher_prio_send_advert: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub kernel_rx_buf_size: Option<u64>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub linkbeat_use_polling: bool,
    #[serde(skip)]
    pub at: At,
    #[serde(skip)]
    pub interface_at: At,
    /// Sent with the rest so that a child holds exactly the model the
    /// supervisor read.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    priority_set: bool,
}

impl Default for VrrpInstance {
    fn default() -> Self {
        Self {
            name: String::new(),
            state: State::Backup,
            interface: None,
            vrf: None,
            virtual_router_id: None,
            priority: 100,
            advert_int: Timer::from_secs(1),
            version: None,
            authentication: None,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
            dont_track_primary: false,
            notify_master: None,
            notify_backup: None,
            notify_fault: None,
            notify_stop: None,
            notify_deleted: None,
            notify: None,
            notify_master_rx_lower_pri: None,
            notify_priority_changes: None,
            smtp_alert: None,
            unicast_peer: Vec::new(),
            unicast_src_ip: None,
            mcast_src_ip: None,
            mcast_dst_ip: None,
            track_src_ip: false,
            unicast_ttl: None,
            unicast_fault_no_peer: false,
            check_unicast_src: false,
            old_unicast_checksum: None,
            native_ipv6: false,
            use_vmac: None,
            use_vmac_addr: false,
            vmac_xmit_base: false,
            use_ipvlan: None,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            promote_secondaries: false,
            accept: None,
            skip_check_adv_addr: None,
            strict_mode: None,
            nopreempt: false,
            preempt_delay: Timer::default(),
            debug: 0,
            lvs_sync_daemon_interface: None,
            garp_master_delay: None,
            garp_master_repeat: None,
            garp_master_refresh: None,
            garp_master_refresh_repeat: None,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            garp_extra_if: None,
            down_timer_adverts: None,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            kernel_rx_buf_size: None,
            linkbeat_use_polling: false,
            at: At::default(),
            interface_at: At::default(),
            priority_set: false,
        }
    }
}

struct_defaults!(VrrpInstance {
    state: State => vrrp_instance_state_is_default,
    priority: u8 => vrrp_instance_priority_is_default,
    advert_int: Timer => vrrp_instance_advert_int_is_default,
});

impl VrrpInstance {
    /// The source address written for adverts, if any.
    pub fn src_ip(&self) -> Option<IpAddr> {
        self.unicast_src_ip.or(self.mcast_src_ip)
    }

    /// Whether the instance is IPv6: from its first address, as keepalived
    /// decides it (VIPs, then the source address, then the peers).
    pub fn is_ipv6(&self) -> bool {
        self.virtual_ipaddress
            .first()
            .map(|a| a.address.is_ipv6())
            .or_else(|| self.src_ip().map(|a| a.is_ipv6()))
            .or_else(|| self.unicast_peer.first().map(|p| p.address.is_ipv6()))
            .unwrap_or(false)
    }
}

/// Interface names are at most IFNAMSIZ-1 bytes.
const IFNAME_MAX: usize = 15;

fn opt_bool(n: &Node<'_>, r: &mut Reader<'_>) -> Option<bool> {
    Some(r.flag(n))
}

fn garp_secs(n: &Node<'_>, r: &mut Reader<'_>) -> Option<u32> {
    r.int(n, 0u32, u32::MAX / 1_000_000)
}

fn garp_repeat(n: &Node<'_>, r: &mut Reader<'_>, what: &str) -> Option<u32> {
    let v = r.int(n, 0u32, u32::MAX)?;
    if v == 0 {
        r.warn(n.loc(), format!("{what} must be greater than 0; using 1"));
        return Some(1);
    }
    Some(v)
}

fn read_state(i: &mut VrrpInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(t) = r.arg(n, 0) else { return };
    match t.text {
        "MASTER" => i.state = State::Master,
        "BACKUP" => {
            if i.state == State::Master {
                r.warn(
                    &t.loc,
                    format!(
                        "({}) state previously set as MASTER; BACKUP ignored",
                        i.name
                    ),
                );
            } else {
                i.state = State::Backup;
            }
        }
        other => r.warn(
            &t.loc,
            format!(
                "({}) unknown state '{other}': expected MASTER or BACKUP; using BACKUP",
                i.name
            ),
        ),
    }
}

fn read_interface(i: &mut VrrpInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    let Some(name) = r.string(n) else { return };
    if name.len() > IFNAME_MAX {
        r.warn(
            n.loc(),
            format!("interface name '{name}' is too long; ignored"),
        );
        return;
    }
    if name == "lo" {
        r.warn(
            n.loc(),
            format!(
                "({}) cannot use the loopback interface for vrrp; ignored",
                i.name
            ),
        );
        return;
    }
    i.interface = Some(name);
    i.interface_at = At::of(n.loc());
}

fn read_src_ip(n: &Node<'_>, r: &mut Reader<'_>) -> Option<IpAddr> {
    r.no_block(n);
    let t = r.arg(n, 0)?;
    match t.text.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            r.error(
                &t.loc,
                format!("malformed source address '{}'; ignored", t.text),
            );
            None
        }
    }
}

fn read_unicast_peers(i: &mut VrrpInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    for e in r.block(n) {
        r.no_block(e);
        let Ok(address) = e.name().parse::<IpAddr>() else {
            r.error(
                e.loc(),
                format!(
                    "({}) malformed unicast peer address '{}'; skipped",
                    i.name,
                    e.name()
                ),
            );
            continue;
        };
        let mut p = UnicastPeer {
            address,
            at: At::of(e.loc()),
            ..UnicastPeer::default()
        };
        let mut k = 0;
        while k < e.args.len() {
            let t = &e.args[k];
            match (t.text, e.args.get(k + 1)) {
                ("min_ttl", Some(v)) => {
                    if let Some(x) = r.int_tok(v, 0u8, 255) {
                        p.min_ttl = x;
                    }
                    k += 2;
                }
                ("max_ttl", Some(v)) => {
                    if let Some(x) = r.int_tok(v, 0u8, 255) {
                        p.max_ttl = x;
                    }
                    k += 2;
                }
                ("min_ttl" | "max_ttl", None) => {
                    r.diags.report(
                        Category::MissingParameter,
                        Some(t.loc.clone()),
                        format!("({}) {} is missing a value", i.name, t.text),
                    );
                    k += 1;
                }
                (other, _) => {
                    r.warn(
                        &t.loc,
                        format!("({}) unknown unicast_peer option '{other}'", i.name),
                    );
                    k += 1;
                }
            }
        }
        if p.min_ttl > p.max_ttl {
            r.warn(
                e.loc(),
                format!(
                    "({}) min_ttl {} > max_ttl {}: all packets will be discarded",
                    i.name, p.min_ttl, p.max_ttl
                ),
            );
        }
        i.unicast_peer.push(p);
    }
}

fn is_mac(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    parts.len() == 6
        && parts
            .iter()
            .all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn read_use_vmac(i: &mut VrrpInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let mut v = i.use_vmac.take().unwrap_or_default();
    for t in &n.args {
        let s = t.text;
        if s.contains(':') {
            if !is_mac(s) {
                r.warn(&t.loc, format!("invalid VMAC MAC address '{s}'; ignored"));
            } else if u8::from_str_radix(&s[..2], 16).is_ok_and(|b| b & 1 == 1) {
                r.warn(
                    &t.loc,
                    format!("VMAC MAC address {s} is multicast; ignored"),
                );
            } else if s.to_ascii_lowercase().starts_with("00:00:5e:00:01:")
                || s.to_ascii_lowercase().starts_with("00:00:5e:00:02:")
            {
                r.warn(
                    &t.loc,
                    format!("VMAC MAC address {s} may not be an RFC 5798 address; ignored"),
                );
            } else {
                v.mac = Some(s.to_string());
            }
        } else if s.len() > IFNAME_MAX {
            r.warn(
                &t.loc,
                format!("VMAC interface name '{s}' is too long; ignored"),
            );
        } else {
            v.name = Some(s.to_string());
        }
    }
    i.use_vmac = Some(v);
}

fn read_use_ipvlan(i: &mut VrrpInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    if i.use_ipvlan.is_some() {
        r.warn(
            n.loc(),
            format!("({}) use_ipvlan already specified", i.name),
        );
        return;
    }
    let mut v = Ipvlan::default();
    for t in &n.args {
        match t.text {
            "bridge" => v.mode = IpvlanMode::Bridge,
            "private" => v.mode = IpvlanMode::Private,
            "vepa" => v.mode = IpvlanMode::Vepa,
            s => {
                if let Some(p) = parse_prefix(t, r) {
                    if v.address.is_some() {
                        r.warn(
                            &t.loc,
                            format!(
                                "({}) ipvlan address already specified; '{s}' ignored",
                                i.name
                            ),
                        );
                    } else {
                        v.address = Some(p);
                    }
                } else if v.name.is_some() {
                    r.warn(
                        &t.loc,
                        format!(
                            "({}) IPVLAN interface already specified; '{s}' ignored",
                            i.name
                        ),
                    );
                } else if s.len() > IFNAME_MAX {
                    r.warn(
                        &t.loc,
                        format!(
                            "({}) IPVLAN interface name '{s}' is too long; ignored",
                            i.name
                        ),
                    );
                } else {
                    v.name = Some(s.to_string());
                }
            }
        }
    }
    i.use_ipvlan = Some(v);
}

fn read_garp_extra_if(i: &mut VrrpInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let mut g = GarpExtraIf::default();
    let mut args = n.args.iter().peekable();
    if args.peek().is_some_and(|t| t.text == "all") {
        g.all = true;
        args.next();
    }
    match args.next() {
        Some(t) => {
            if let Some(v) = r.int_tok(t, 0u32, 86400) {
                g.interval = v;
                i.garp_extra_if = Some(g);
            }
        }
        None => r.warn(
            n.loc(),
            format!("({}) {} specified without time; ignored", i.name, n.name()),
        ),
    }
}

fn read_authentication(i: &mut VrrpInstance, n: &Node<'_>, r: &mut Reader<'_>) {
    let mut a = i.authentication.take().unwrap_or_default();
    let name = i.name.clone();
    for e in r.block(n) {
        match e.name() {
            "auth_type" => {
                r.no_block(e);
                if let Some(t) = r.arg(e, 0) {
                    match t.text {
                        "PASS" => a.auth_type = Some(AuthType::Pass),
                        "AH" => a.auth_type = Some(AuthType::Ah),
                        other => r.error(
                            &t.loc,
                            format!("({name}) unknown authentication type '{other}': expected PASS or AH"),
                        ),
                    }
                }
            }
            "auth_pass" => {
                if let Some(mut p) = r.string(e) {
                    if p.len() > 8 {
                        r.warn(
                            e.loc(),
                            "auth_pass is longer than 8 characters; truncated to 8",
                        );
                        let cut = (0..=8).rev().find(|k| p.is_char_boundary(*k)).unwrap_or(0);
                        p.truncate(cut);
                    }
                    a.auth_pass = Some(p);
                }
            }
            _ => r.unknown(e, ["auth_type", "auth_pass"].into_iter()),
        }
    }
    i.authentication = Some(a);
}

const INSTANCE: &Table<VrrpInstance> = &[
    ("state", read_state),
    ("interface", read_interface),
    ("vrf", |i, n, r| {
        if i.interface.is_some() {
            r.warn(
                n.loc(),
                format!(
                    "({}) cannot specify a VRF interface and interface; ignored",
                    i.name
                ),
            );
            return;
        }
        i.vrf = r.string(n);
    }),
    ("virtual_router_id", |i, n, r| {
        if let Some(v) = r.int(n, 1u8, 255) {
            i.virtual_router_id = Some(v);
        }
    }),
    ("priority", |i, n, r| {
        // A bad value keeps the default 100 (keepalived says so).
        i.priority_set = true;
        if let Some(v) = r.int(n, 1u8, 255) {
            i.priority = v;
        }
    }),
    ("advert_int", |i, n, r| {
        if let Some(v) = r.timer(n, Timer::from_micros(10_000), Timer::from_secs(255)) {
            i.advert_int = v;
        }
    }),
    ("version", |i, n, r| {
        if let Some(v) = r.int(n, 2u8, 3) {
            i.version = Some(v);
        }
    }),
    ("authentication", read_authentication),
    ("track_interface", |i, n, r| {
        i.track_interface.extend(read_track_refs(n, -254, 254, r))
    }),
    ("track_script", |i, n, r| {
        i.track_script.extend(read_track_refs(n, -253, 253, r))
    }),
    ("track_file", |i, n, r| {
        i.track_file.extend(read_track_refs(n, -254, 254, r))
    }),
    ("track_process", |i, n, r| {
        i.track_process.extend(read_track_refs(n, -254, 254, r))
    }),
    ("track_bfd", |i, n, r| {
        i.track_bfd.extend(read_track_refs(n, -253, 253, r))
    }),
    ("dont_track_primary", |i, n, r| {
        i.dont_track_primary = r.flag(n)
    }),
    ("notify_master", |i, n, r| {
        set_notify(&mut i.notify_master, n, r)
    }),
    ("notify_backup", |i, n, r| {
        set_notify(&mut i.notify_backup, n, r)
    }),
    ("notify_fault", |i, n, r| {
        set_notify(&mut i.notify_fault, n, r)
    }),
    ("notify_stop", |i, n, r| {
        set_notify(&mut i.notify_stop, n, r)
    }),
    ("notify_deleted", |i, n, r| {
        // A bare notify_deleted means "send deleted, not fault, to notify".
        if n.args.is_empty() {
            r.no_block(n);
            return;
        }
        set_notify(&mut i.notify_deleted, n, r)
    }),
    ("notify", |i, n, r| set_notify(&mut i.notify, n, r)),
    ("notify_master_rx_lower_pri", |i, n, r| {
        set_notify(&mut i.notify_master_rx_lower_pri, n, r)
    }),
    ("notify_priority_changes", |i, n, r| {
        i.notify_priority_changes = opt_bool(n, r)
    }),
    ("smtp_alert", |i, n, r| i.smtp_alert = opt_bool(n, r)),
    ("unicast_peer", read_unicast_peers),
    ("unicast_src_ip", |i, n, r| {
        if let Some(a) = read_src_ip(n, r) {
            i.unicast_src_ip = Some(a);
        }
    }),
    ("mcast_src_ip", |i, n, r| {
        if let Some(a) = read_src_ip(n, r) {
            i.mcast_src_ip = Some(a);
        }
    }),
    ("mcast_dst_ip", |i, n, r| {
        let Some(a) = read_src_ip(n, r) else { return };
        if !a.is_multicast() {
            r.warn(
                n.loc(),
                format!("({}) mcast_dst_ip {a} is not multicast; ignored", i.name),
            );
            return;
        }
        i.mcast_dst_ip = Some(a);
    }),
    ("track_src_ip", |i, n, r| i.track_src_ip = r.flag(n)),
    ("unicast_ttl", |i, n, r| {
        if let Some(v) = r.int(n, 0u8, 255) {
            i.unicast_ttl = Some(v);
        }
    }),
    ("unicast_fault_no_peer", |i, n, r| {
        i.unicast_fault_no_peer = r.flag(n)
    }),
    ("check_unicast_src", |i, n, r| {
        i.check_unicast_src = r.flag(n)
    }),
    ("old_unicast_checksum", |i, n, r| {
        r.no_block(n);
        match n.args.first() {
            None => i.old_unicast_checksum = Some("auto".into()),
            Some(t) if t.text == "never" => i.old_unicast_checksum = Some("never".into()),
            Some(t) => r.warn(
                &t.loc,
                format!(
                    "({}) unknown old_unicast_checksum mode '{}'; ignored",
                    i.name, t.text
                ),
            ),
        }
    }),
    ("native_ipv6", |i, n, r| i.native_ipv6 = r.flag(n)),
    ("use_vmac", read_use_vmac),
    ("use_vmac_addr", |i, n, r| i.use_vmac_addr = r.flag(n)),
    ("vmac_xmit_base", |i, n, r| i.vmac_xmit_base = r.flag(n)),
    ("use_ipvlan", read_use_ipvlan),
    ("virtual_ipaddress", |i, n, r| {
        i.virtual_ipaddress.extend(read_vip_block(n, r))
    }),
    ("virtual_ipaddress_excluded", |i, n, r| {
        i.virtual_ipaddress_excluded.extend(read_vip_block(n, r))
    }),
    ("virtual_routes", |i, n, r| {
        i.virtual_routes.extend(read_route_block(n, r))
    }),
    ("virtual_rules", |i, n, r| {
        i.virtual_rules.extend(read_rule_block(n, r))
    }),
    ("promote_secondaries", |i, n, r| {
        i.promote_secondaries = r.flag(n)
    }),
    ("linkbeat_use_polling", |i, n, r| {
        i.linkbeat_use_polling = r.flag(n);
        r.warn(
            n.loc(),
            format!("({}) 'linkbeat_use_polling' in a vrrp instance is deprecated; use a linkbeat_interfaces block", i.name),
        );
    }),
    ("accept", |i, n, r| {
        r.no_block(n);
        i.accept = Some(true);
    }),
    ("no_accept", |i, n, r| {
        r.no_block(n);
        i.accept = Some(false);
    }),
    ("skip_check_adv_addr", |i, n, r| {
        i.skip_check_adv_addr = opt_bool(n, r)
    }),
    ("strict_mode", |i, n, r| i.strict_mode = opt_bool(n, r)),
    ("preempt", |i, n, r| {
        r.no_block(n);
        i.nopreempt = false;
    }),
    ("nopreempt", |i, n, r| {
        r.no_block(n);
        i.nopreempt = true;
    }),
    ("preempt_delay", |i, n, r| {
        if let Some(v) = r.timer(n, Timer::default(), Timer::from_secs(1000)) {
            i.preempt_delay = v;
        }
    }),
    ("debug", |i, n, r| {
        if let Some(v) = r.int(n, 0u8, 4) {
            i.debug = v;
        }
    }),
    ("lvs_sync_daemon_interface", |i, n, r| {
        r.warn(
            n.loc(),
            format!("({}) lvs_sync_daemon_interface in a vrrp instance is deprecated; use the global lvs_sync_daemon", i.name),
        );
        i.lvs_sync_daemon_interface = r.string(n);
    }),
    ("garp_master_delay", |i, n, r| {
        if let Some(v) = garp_secs(n, r) {
            i.garp_master_delay = Some(v);
        }
    }),
    ("garp_master_repeat", |i, n, r| {
        if let Some(v) = garp_repeat(n, r, "garp_master_repeat") {
            i.garp_master_repeat = Some(v);
        }
    }),
    ("garp_master_refresh", |i, n, r| {
        if let Some(v) = garp_secs(n, r) {
            i.garp_master_refresh = Some(v);
        }
    }),
    ("garp_master_refresh_repeat", |i, n, r| {
        if let Some(v) = garp_repeat(n, r, "garp_master_refresh_repeat") {
            i.garp_master_refresh_repeat = Some(v);
        }
    }),
    ("garp_lower_prio_delay", |i, n, r| {
        if let Some(v) = garp_secs(n, r) {
            i.garp_lower_prio_delay = Some(v);
        }
    }),
    ("garp_lower_prio_repeat", |i, n, r| {
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            i.garp_lower_prio_repeat = Some(v);
        }
    }),
    ("garp_extra_if", read_garp_extra_if),
    ("vmac_garp_intvl", |i, n, r| {
        r.warn(
            n.loc(),
            "'vmac_garp_intvl' is deprecated; use 'garp_extra_if'",
        );
        read_garp_extra_if(i, n, r);
    }),
    ("down_timer_adverts", |i, n, r| {
        if let Some(v) = r.int(n, 1u8, 100) {
            i.down_timer_adverts = Some(v);
        }
    }),
    ("lower_prio_no_advert", |i, n, r| {
        i.lower_prio_no_advert = opt_bool(n, r)
    }),
    ("higher_prio_send_advert", |i, n, r| {
        i.higher_prio_send_advert = opt_bool(n, r)
    }),
    ("kernel_rx_buf_size", |i, n, r| {
        if let Some(v) = r.int(n, 1u64, u64::from(u32::MAX)) {
            i.kernel_rx_buf_size = Some(v);
        }
    }),
];

pub fn read_instance(node: &Node<'_>, r: &mut Reader<'_>) -> Option<VrrpInstance> {
    let Some(name) = node.args.first() else {
        r.diags.report(
            Category::MissingParameter,
            Some(node.loc().clone()),
            "vrrp_instance must have a name; block ignored",
        );
        return None;
    };
    let mut i = VrrpInstance {
        name: name.text.to_string(),
        at: At::of(node.loc()),
        ..VrrpInstance::default()
    };
    let items = r.block(node);
    r.read_block(&mut i, items, INSTANCE);
    // keepalived makes an unprioritised initial MASTER the address owner.
    if i.state == State::Master && !i.priority_set {
        i.priority = 255;
    }
    Some(i)
}
