// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What a child reports before its engine knows better: the diff of two
//! snapshots by name, and the dump files built from the configuration
//! alone. Engines replace the dumps with their live state.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use keepalived_config::Config;
use serde_json::json;

use super::Kind;
use crate::dump;
use crate::proto::DumpKind;

/// What changed between two snapshots, by name, for this child's part.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub unchanged: usize,
}

fn diff_by<T: PartialEq>(old: &[T], new: &[T], name: impl Fn(&T) -> String) -> Diff {
    let old: BTreeMap<String, &T> = old.iter().map(|x| (name(x), x)).collect();
    let new: BTreeMap<String, &T> = new.iter().map(|x| (name(x), x)).collect();
    let mut d = Diff::default();
    for (k, v) in &new {
        match old.get(k) {
            None => d.added.push(k.clone()),
            Some(o) if o != v => d.changed.push(k.clone()),
            Some(_) => d.unchanged += 1,
        }
    }
    d.removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    d
}

/// The diff of `kind`'s part of the configuration.
pub fn diff(kind: Kind, old: &Config, new: &Config) -> Diff {
    match kind {
        Kind::Vrrp => diff_by(&old.vrrp_instances, &new.vrrp_instances, |i| i.name.clone()),
        Kind::Checker => diff_by(&old.virtual_servers, &new.virtual_servers, |v| {
            v.key.to_string()
        }),
    }
}

impl Diff {
    pub fn summary(&self, what: &str) -> String {
        let mut s = format!(
            "{what}: {} added, {} removed, {} changed, {} unchanged",
            self.added.len(),
            self.removed.len(),
            self.changed.len(),
            self.unchanged
        );
        for (label, names) in [
            ("added", &self.added),
            ("removed", &self.removed),
            ("changed", &self.changed),
        ] {
            if !names.is_empty() {
                let _ = write!(s, "; {label} {}", names.join(", "));
            }
        }
        s
    }
}

pub fn what(kind: Kind) -> &'static str {
    match kind {
        Kind::Vrrp => "VRRP instances",
        Kind::Checker => "virtual servers",
    }
}

/// The text of keepalived.data / keepalived_check.data.
pub fn data_text(kind: Kind, config: &Config, generation: u64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "------< Global definitions >------");
    let _ = writeln!(
        s,
        " Router ID = {}",
        config.global_defs.router_id.as_deref().unwrap_or("(none)")
    );
    let _ = writeln!(s, " Configuration generation = {generation}");
    match kind {
        Kind::Vrrp => {
            let _ = writeln!(s, "------< VRRP Topology >------");
            for i in &config.vrrp_instances {
                let _ = writeln!(s, " VRRP Instance = {}", i.name);
                let _ = writeln!(s, "   State = INIT");
            }
        }
        Kind::Checker => {
            let _ = writeln!(s, "------< LVS Topology >------");
            for v in &config.virtual_servers {
                let _ = writeln!(s, " VIP = {}", v.key);
                let _ = writeln!(s, "   Real servers = {}", v.real_servers.len());
            }
        }
    }
    s
}

fn stats_text(config: &Config) -> String {
    let mut s = String::new();
    for i in &config.vrrp_instances {
        let _ = writeln!(s, "VRRP Instance: {}", i.name);
        let _ = writeln!(s, "  Advertisements:\n    Received: 0\n    Sent: 0");
        let _ = writeln!(s, "  Became master: 0\n  Released master: 0");
        let _ = writeln!(
            s,
            "  Packet Errors:\n    Length: 0\n    TTL: 0\n    Invalid Type: 0\n    \
             Advertisement Interval: 0\n    Address List: 0"
        );
        let _ = writeln!(
            s,
            "  Authentication Errors:\n    Invalid Type: 0\n    Type Mismatch: 0\n    Failure: 0"
        );
        let _ = writeln!(s, "  Priority Zero:\n    Received: 0\n    Sent: 0");
    }
    s
}

/// keepalived.json: one object per instance, keepalived's field names;
/// state 0 = init until the VRRP engine reports more.
pub fn json_text(config: &Config) -> String {
    let arr: Vec<_> = config
        .vrrp_instances
        .iter()
        .map(|i| {
            json!({
                "data": {
                    "iname": i.name,
                    "state": 0,
                    "vips": [],
                    "evips": [],
                    "track_script": [],
                    "track_ifp": [],
                },
                "stats": {
                    "advert_rcvd": 0, "advert_sent": 0, "become_master": 0,
                    "release_master": 0, "packet_len_err": 0, "advert_interval_err": 0,
                    "ip_ttl_err": 0, "invalid_type_rcvd": 0, "addr_list_err": 0,
                    "invalid_authtype": 0, "authtype_mismatch": 0, "auth_failure": 0,
                    "pri_zero_rcvd": 0, "pri_zero_sent": 0,
                },
            })
        })
        .collect();
    serde_json::Value::Array(arr).to_string()
}

pub fn write_dump(kind: Kind, what: DumpKind, config: &Config, generation: u64) {
    let res = match (kind, what) {
        (Kind::Vrrp, DumpKind::Data) => {
            dump::write(dump::VRRP_DATA, &data_text(kind, config, generation))
        }
        (Kind::Checker, DumpKind::Data) => {
            dump::write(dump::CHECK_DATA, &data_text(kind, config, generation))
        }
        (Kind::Vrrp, DumpKind::Stats | DumpKind::StatsClear) => {
            dump::write(dump::STATS, &stats_text(config))
        }
        (Kind::Vrrp, DumpKind::Json) => dump::write(dump::JSON, &json_text(config)),
        (Kind::Checker, _) => return,
    };
    match res {
        Ok(p) => tracing::info!("Wrote {}", p.display()),
        Err(e) => tracing::error!("Cannot write the {what:?} dump: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keepalived_config::model::lvs::{VirtualServer, VirtualServerKey};
    use keepalived_config::model::vrrp::VrrpInstance;

    fn inst(name: &str) -> VrrpInstance {
        // Through serde so that this keeps compiling as the model grows.
        serde_json::from_value(json!({ "name": name })).expect("an instance")
    }

    fn vs(mark: u32, delay: bool) -> VirtualServer {
        VirtualServer {
            key: VirtualServerKey::Fwmark(mark),
            ha_suspend: delay,
            ..VirtualServer::default()
        }
    }

    #[test]
    fn diff_names_added_removed_changed() {
        let old = Config {
            vrrp_instances: vec![inst("A"), inst("B")],
            virtual_servers: vec![vs(1, false), vs(2, false)],
            ..Config::default()
        };
        let new = Config {
            vrrp_instances: vec![inst("B"), inst("C")],
            virtual_servers: vec![vs(2, true), vs(3, false), vs(1, false)],
            ..Config::default()
        };
        let d = diff(Kind::Vrrp, &old, &new);
        assert_eq!(d.added, ["C"]);
        assert_eq!(d.removed, ["A"]);
        assert!(d.changed.is_empty());
        assert_eq!(d.unchanged, 1);
        let d = diff(Kind::Checker, &old, &new);
        assert_eq!(d.added, ["FWM 3"]);
        assert!(d.removed.is_empty());
        assert_eq!(d.changed, ["FWM 2"]);
        assert_eq!(d.unchanged, 1);
        assert_eq!(
            d.summary("virtual servers"),
            "virtual servers: 1 added, 0 removed, 1 changed, 1 unchanged; added FWM 3; changed FWM 2"
        );
    }

    #[test]
    fn json_dump_has_keepalived_fields() {
        let c = Config {
            vrrp_instances: vec![inst("VI_1")],
            ..Config::default()
        };
        let v: serde_json::Value = serde_json::from_str(&json_text(&c)).expect("json");
        assert_eq!(v[0]["data"]["iname"], "VI_1");
        assert_eq!(v[0]["data"]["state"], 0);
        assert_eq!(v[0]["stats"]["advert_rcvd"], 0);
        assert!(data_text(Kind::Vrrp, &c, 3).contains("VRRP Instance = VI_1"));
    }
}
