// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The USR1 / USR2 / JSON dumps with live state and counters, in
//! keepalived's layout and field names (keepalived.data, keepalived.stats,
//! keepalived.json).

use std::fmt::Write as _;

use keepalived_vrrp::fsm::{Instance, State};
use keepalived_vrrp::node::InstanceSpec;
use serde_json::json;

use super::core::Core;
use super::instance::Live;
use super::notify::state_word;
use crate::dump;
use crate::proto::DumpKind;

/// keepalived's numeric states in keepalived.json.
fn state_number(s: State) -> u8 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

fn data_text(core: &Core) -> String {
    let mut s = String::new();
    let router_id = core
        .globals
        .as_ref()
        .and_then(|g| g.router_id.clone())
        .unwrap_or_else(|| "(none)".into());
    let _ = writeln!(s, "------< Global definitions >------");
    let _ = writeln!(s, " Router ID = {router_id}");
    let _ = writeln!(s, " Configuration generation = {}", core.generation);
    let _ = writeln!(s, "------< VRRP Topology >------");
    for (idx, i) in core.insts.iter().enumerate() {
        let Some(f) = core.node.instance(idx) else {
            continue;
        };
        let _ = writeln!(s, " VRRP Instance = {}", i.conf.name);
        let _ = writeln!(s, "   State = {}", state_word(f.state()));
        if let Some((addr, prio)) = f.last_master() {
            let _ = writeln!(s, "   Master router = {addr}");
            let _ = writeln!(s, "   Master priority = {prio}");
        }
        match &i.vmac {
            Some(v) => {
                let _ = writeln!(
                    s,
                    "   Use VMAC, i/f name {}, is_up = true, xmit_base = {}",
                    v.name, v.xmit_base
                );
                let _ = writeln!(
                    s,
                    "   Interface = {}, vmac on {}{}",
                    v.name,
                    v.base,
                    if v.xmit_base { ", xmit base i/f" } else { "" }
                );
            }
            None => {
                let _ = writeln!(s, "   Interface = {}", i.ifname());
            }
        }
        if let Some(src) = i.src {
            let _ = writeln!(s, "   Using src_ip = {src}");
        }
        let _ = writeln!(s, "   Virtual Router ID = {}", i.identity.vrid);
        let _ = writeln!(s, "   Priority = {}", f.params().priority);
        let _ = writeln!(s, "   Effective priority = {}", f.effective_priority());
        let _ = writeln!(
            s,
            "   Advert interval = {} milli-sec",
            f.params().advert_int.as_millis()
        );
        if let Some(spec) = core.node.spec(idx) {
            if !spec.track_script.is_empty() {
                let _ = writeln!(s, "   Tracked scripts = {}", spec.track_script.len());
                for u in &spec.track_script {
                    let health = core
                        .node
                        .scripts()
                        .find(|t| t.params.name == u.name)
                        .map(|t| t.health());
                    let _ = writeln!(
                        s,
                        "     {} weight {}{} ({health:?})",
                        u.name,
                        u.weight,
                        if u.reverse { " reverse" } else { "" }
                    );
                }
            }
            if !spec.track_interface.is_empty() {
                let _ = writeln!(s, "   Tracked interfaces = {}", spec.track_interface.len());
                for u in &spec.track_interface {
                    let _ = writeln!(s, "     {} weight {}", u.name, u.weight);
                }
            }
        }
        let causes = core.node.fault_causes(idx);
        if !causes.is_empty() {
            let _ = writeln!(s, "   Fault causes = {causes:?}");
        }
        let _ = writeln!(s, "   Virtual IP = {}", i.vips.len());
        for v in &i.vips {
            let _ = writeln!(
                s,
                "     {}/{} dev {}",
                v.address,
                v.prefix_len,
                v.dev.as_deref().unwrap_or(i.ifname())
            );
        }
    }
    s
}

fn stats_text(core: &Core) -> String {
    let mut s = String::new();
    for i in &core.insts {
        let c = &i.counters;
        let r = &c.rx;
        let _ = writeln!(s, "VRRP Instance: {}", i.conf.name);
        let _ = writeln!(
            s,
            "  Advertisements:\n    Received: {}\n    Sent: {}",
            r.advertisement_rcvd, c.advert_sent
        );
        let _ = writeln!(
            s,
            "  Became master: {}\n  Released master: {}",
            c.become_master, c.release_master
        );
        let _ = writeln!(
            s,
            "  Packet Errors:\n    Length: {}\n    TTL: {}\n    Invalid Type: {}\n    \
             Advertisement Interval: {}\n    Address List: {}",
            r.packet_length_errors,
            r.ip_ttl_errors,
            r.invalid_type_pkts_rcvd,
            r.interval_errors,
            r.address_list_errors
        );
        let _ = writeln!(
            s,
            "  Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}",
            r.invalid_auth_type, r.auth_type_mismatch, r.auth_failures
        );
        let _ = writeln!(
            s,
            "  Priority Zero:\n    Received: {}\n    Sent: {}",
            r.priority_zero_pkts_rcvd, c.pri_zero_sent
        );
    }
    s
}

fn instance_json(i: &Live, f: &Instance, spec: Option<&InstanceSpec>) -> serde_json::Value {
    let track_script: Vec<_> = spec
        .map(|s| {
            s.track_script
                .iter()
                .map(|u| json!({"name": u.name, "weight": u.weight}))
                .collect()
        })
        .unwrap_or_default();
    let track_ifp: Vec<_> = spec
        .map(|s| {
            s.track_interface
                .iter()
                .map(|u| json!({"name": u.name, "weight": u.weight}))
                .collect()
        })
        .unwrap_or_default();
    let c = &i.counters;
    let r = &c.rx;
    let vips: Vec<String> = i
        .conf
        .virtual_ipaddress
        .iter()
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect();
    let evips: Vec<String> = i
        .conf
        .virtual_ipaddress_excluded
        .iter()
        .map(|a| format!("{}/{}", a.address, a.prefix_len))
        .collect();
    json!({
        "data": {
            "iname": i.conf.name,
            // keepalived's ifp is the VMAC when there is one.
            "ifp_ifname": i.vmac.as_ref().map_or(i.ifname(), |v| v.name.as_str()),
            "vmac_ifname": i.vmac.as_ref().map_or("", |v| v.name.as_str()),
            "vrid": i.identity.vrid,
            "state": state_number(f.state()),
            "base_priority": f.params().priority,
            "effective_priority": f.effective_priority(),
            "adver_int": f.params().advert_int.as_secs_f64(),
            "master_adver_int": f.master_adver_int().as_secs_f64(),
            "saddr": i.src.map(|a| a.to_string()).unwrap_or_default(),
            "master_saddr": f.last_master().map(|(a, _)| a.to_string()).unwrap_or_default(),
            "master_priority": f.last_master().map_or(0, |(_, p)| p),
            "vips": vips,
            "evips": evips,
            "track_script": track_script,
            "track_ifp": track_ifp,
        },
        "stats": {
            "advert_rcvd": r.advertisement_rcvd,
            "advert_sent": c.advert_sent,
            "become_master": c.become_master,
            "release_master": c.release_master,
            "packet_len_err": r.packet_length_errors,
            "advert_interval_err": r.interval_errors,
            "ip_ttl_err": r.ip_ttl_errors,
            "invalid_type_rcvd": r.invalid_type_pkts_rcvd,
            "addr_list_err": r.address_list_errors,
            "invalid_authtype": r.invalid_auth_type,
            "authtype_mismatch": r.auth_type_mismatch,
            "auth_failure": r.auth_failures,
            "pri_zero_rcvd": r.priority_zero_pkts_rcvd,
            "pri_zero_sent": c.pri_zero_sent,
            // Beyond keepalived: the other drop reasons we count.
            "checksum_err": r.checksum_errors,
            "version_err": r.version_errors,
            "vrid_err": r.vrid_errors,
            "unicast_src_err": r.unicast_source_errors,
            "malformed": r.malformed,
        },
    })
}

fn json_text(core: &Core) -> String {
    let arr: Vec<_> = core
        .insts
        .iter()
        .enumerate()
        .filter_map(|(idx, i)| {
            let f = core.node.instance(idx)?;
            Some(instance_json(i, f, core.node.spec(idx)))
        })
        .collect();
    serde_json::Value::Array(arr).to_string()
}

pub(super) fn write(core: &mut Core, what: DumpKind) {
    match what {
        DumpKind::Data => dump::write_logged(dump::VRRP_DATA, &data_text(core)),
        DumpKind::Stats => dump::write_logged(dump::STATS, &stats_text(core)),
        DumpKind::StatsClear => {
            dump::write_logged(dump::STATS, &stats_text(core));
            for i in &mut core.insts {
                i.counters = Default::default();
            }
        }
        DumpKind::Json => dump::write_logged(dump::JSON, &json_text(core)),
    }
}
