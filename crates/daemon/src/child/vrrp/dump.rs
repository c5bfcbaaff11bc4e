// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The USR1 / USR2 / JSON dumps with live state and counters, in
//! keepalived's layout and field names (keepalived.data, keepalived.stats,
//! keepalived.json).

use std::fmt::Write as _;

use super::core::Core;
use super::instance::Live;
use super::ka_json;
use super::ka_stats::{Extras, KaStats};
use super::notify::state_word;
use crate::dump;
use crate::proto::DumpKind;

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
        if !i.routing.routes.is_empty() {
            let _ = writeln!(s, "   Virtual Routes = {}", i.routing.routes.len());
            for r in &i.routing.routes {
                let _ = writeln!(s, "     {}", r.describe());
            }
        }
        if !i.routing.rules.is_empty() {
            let _ = writeln!(s, "   Virtual Rules = {}", i.routing.rules.len());
            for r in &i.routing.rules {
                let _ = writeln!(s, "     {}", r.describe());
            }
        }
    }
    let st = &core.statics;
    if !st.is_empty() {
        let _ = writeln!(s, "------< Static addresses, routes and rules >------");
        for a in &st.addresses {
            let _ = writeln!(s, " {} dev {}", a.conf, a.dev);
        }
        for r in &st.routing.routes {
            let _ = writeln!(s, " {}", r.describe());
        }
        for r in &st.routing.rules {
            let _ = writeln!(s, " {}", r.describe());
        }
    }
    s
}

fn shown_stats(i: &Live) -> KaStats {
    KaStats::of(&i.counters).since(&KaStats::of(&i.stats_base))
}

fn stats_text(core: &Core) -> String {
    core.insts
        .iter()
        .map(|i| shown_stats(i).text(&i.conf.name))
        .collect()
}

fn json_text(core: &Core) -> String {
    let argv = |name: &str| core.scripts.argv(name);
    let cx = ka_json::Context {
        globals: core.globals.as_ref(),
        script_argv: &argv,
    };
    let arr: Vec<_> = core
        .insts
        .iter()
        .enumerate()
        .filter_map(|(idx, i)| {
            let f = core.node.instance(idx)?;
            Some(ka_json::instance(
                i,
                f,
                core.node.spec(idx),
                ka_json::Stats {
                    keepalived: shown_stats(i),
                    ours: Extras::since(&i.counters, &i.stats_base),
                },
                &cx,
            ))
        })
        .collect();
    serde_json::to_string(&arr).unwrap_or_else(|_| "[]".into())
}

pub(super) fn write(core: &mut Core, what: DumpKind) {
    match what {
        DumpKind::Data => dump::write_logged(dump::VRRP_DATA, &data_text(core)),
        DumpKind::Stats => dump::write_logged(dump::STATS, &stats_text(core)),
        DumpKind::StatsClear => {
            dump::write_logged(dump::STATS, &stats_text(core));
            for i in &mut core.insts {
                i.stats_base = i.counters.clone();
            }
        }
        DumpKind::Json => dump::write_logged(dump::JSON, &json_text(core)),
    }
}
