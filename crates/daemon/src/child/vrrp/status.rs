// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The VRRP child's live status (the control socket's `vrrp` part): the
//! node's view of each instance plus what only the shell knows (its
//! link, addresses and counters). Serialized as it is; the client's
//! renderer reads the field names.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::proto::{SUMMARY_CAP, StatusAsk, StatusView};
use keepalived_config::model::vrrp::State as ConfState;

use keepalived_vrrp::fsm::State;
use keepalived_vrrp::node::{FaultCause, TrackedStatus};
use keepalived_vrrp::packet::RxStats;

use super::core::Core;
use super::notify::state_word;

#[derive(Debug, Serialize)]
pub struct VrrpStatus {
    pub generation: u64,
    pub instances: Vec<InstanceStatus>,
    pub sync_groups: Vec<SyncGroupStatus>,
    /// Datagrams no instance claimed (unknown VRID, undecodable).
    pub unclaimed_datagrams: u64,
    /// `vrrp_announce` blocks (keepalived-rs extension).
    pub announces: Vec<AnnounceView>,
}

#[derive(Debug, Serialize)]
pub struct AnnounceView {
    pub name: String,
    /// "announced", "withdrawn" or "stopped".
    pub state: &'static str,
    /// The routes it puts in the kernel while announced.
    pub routes: Vec<String>,
    /// Why it is not announced (empty while announced).
    pub reasons: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct SyncGroupStatus {
    pub name: String,
    pub state: &'static str,
    pub members: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct InstanceStatus {
    pub name: String,
    pub state: &'static str,
    pub vrid: u8,
    pub interface: String,
    pub family: String,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub fault_reasons: Vec<String>,
    pub vips: Vec<String>,
    /// `virtual_routes` / `virtual_rules` as installed while MASTER.
    pub virtual_routes: Vec<String>,
    pub virtual_rules: Vec<String>,
    pub source: Option<String>,
    pub last_master: Option<String>,
    pub tracked: Vec<TrackedStatus>,
    pub adverts_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub pri_zero_sent: u64,
    /// Every state change since the instance was created.
    pub transitions: u64,
    pub rx: RxStats,
}

/// A fault cause in words, for the status and the log.
pub(super) fn reason(c: &FaultCause) -> String {
    match c {
        FaultCause::NoSourceAddress => "no source address".into(),
        FaultCause::InterfaceDown(i) => format!("interface {i} down"),
        FaultCause::TrackedInterface(i) => format!("tracked interface {i}"),
        FaultCause::Script(s) => format!("script {s} failed"),
        FaultCause::ScriptPending(s) => format!("script {s} has no result yet"),
        FaultCause::File(f) => format!("track file {f}"),
        FaultCause::Process(p) => format!("tracked process {p} out of quorum"),
    }
}

/// The answer to a `status` request, in the view it asks for.
pub fn answer(core: &Core, ask: &StatusAsk) -> serde_json::Value {
    let v = match ask.view {
        StatusView::Summary if !ask.filtered() => serde_json::to_value(summary(core)),
        // A filter names what to show in full; without a name for this
        // part, none of its instances.
        _ if ask.filtered() => {
            serde_json::to_value(of(core, |name| ask.instance.as_deref() == Some(name)))
        }
        _ => serde_json::to_value(of(core, |_| true)),
    };
    v.unwrap_or_else(|e| serde_json::json!({ "note": e.to_string() }))
}

/// Counts per state and the instances that need a look: FAULT, or not
/// in the state their configuration starts them in (a BACKUP that took
/// over, a MASTER that lost). Its size does not grow with the number of
/// instances beyond [`SUMMARY_CAP`].
#[derive(Debug, Serialize)]
pub struct VrrpSummary {
    pub generation: u64,
    pub instances_total: usize,
    pub by_state: BTreeMap<&'static str, usize>,
    pub attention: Vec<Attention>,
    /// Instances needing attention beyond those listed.
    pub attention_more: usize,
    pub sync_groups_total: usize,
    pub unclaimed_datagrams: u64,
    /// Every `vrrp_announce` block: one per block written, so the list is
    /// as short as the configuration, and whether a route is out is what
    /// an operator of an active/active director looks at first.
    pub announces: Vec<AnnounceView>,
}

#[derive(Debug, Serialize)]
pub struct Attention {
    pub name: String,
    pub state: &'static str,
    pub configured_state: &'static str,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub fault_reasons: Vec<String>,
}

fn summary(core: &Core) -> VrrpSummary {
    let mut by_state: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut attention = Vec::new();
    let mut attention_more = 0;
    let mut total = 0;
    for (idx, live) in core.insts.iter().enumerate() {
        let Some(node) = core.node.instance(idx).map(|f| f.state()) else {
            continue;
        };
        total += 1;
        let state = state_word(node);
        *by_state.entry(state).or_default() += 1;
        let configured = match live.conf.state {
            ConfState::Master => State::Master,
            ConfState::Backup => State::Backup,
        };
        if node == configured {
            continue;
        }
        if attention.len() >= SUMMARY_CAP {
            attention_more += 1;
            continue;
        }
        let Some(full) = core.node.instance_status(idx) else {
            continue;
        };
        attention.push(Attention {
            name: live.conf.name.clone(),
            state,
            configured_state: state_word(configured),
            base_priority: full.base_priority,
            effective_priority: full.effective_priority,
            fault_reasons: full.fault_causes.iter().map(reason).collect(),
        });
    }
    VrrpSummary {
        generation: core.generation,
        instances_total: total,
        by_state,
        attention,
        attention_more,
        sync_groups_total: core.node.sync_groups().count(),
        unclaimed_datagrams: core.unclaimed,
        announces: announce_views(core),
    }
}

/// The whole status of the instances `wanted` names.
pub fn of(core: &Core, wanted: impl Fn(&str) -> bool) -> VrrpStatus {
    let instances = core
        .insts
        .iter()
        .enumerate()
        .filter(|(_, live)| wanted(&live.conf.name))
        .filter_map(|(idx, live)| {
            let node = core.node.instance_status(idx)?;
            let mut fault_reasons: Vec<String> = node.fault_causes.iter().map(reason).collect();
            if node.state == State::Fault && fault_reasons.is_empty() {
                // FAULT for another member of its sync group.
                if let Some((g, _)) = core
                    .node
                    .sync_groups()
                    .find(|(g, _)| g.members.contains(&live.conf.name))
                {
                    fault_reasons.push(format!("sync group {}", g.name));
                }
            }
            Some(InstanceStatus {
                name: live.conf.name.clone(),
                state: state_word(node.state),
                vrid: live.identity.vrid,
                interface: live.identity.interface.clone(),
                family: format!("{:?}", live.identity.family),
                base_priority: node.base_priority,
                effective_priority: node.effective_priority,
                fault_reasons,
                vips: live
                    .vips
                    .iter()
                    .map(|v| format!("{}/{}", v.address, v.prefix_len))
                    .collect(),
                virtual_routes: live.routing.routes.iter().map(|r| r.describe()).collect(),
                virtual_rules: live.routing.rules.iter().map(|r| r.describe()).collect(),
                source: live.src.map(|a| a.to_string()),
                last_master: node.last_master.map(|(a, p)| format!("{a} (priority {p})")),
                tracked: node.tracked,
                adverts_sent: live.counters.advert_sent,
                become_master: live.counters.become_master,
                release_master: live.counters.release_master,
                pri_zero_sent: live.counters.pri_zero_sent,
                transitions: live.counters.transitions,
                rx: live.counters.rx,
            })
        })
        .collect();
    let sync_groups = core
        .node
        .sync_groups()
        .map(|(g, state)| SyncGroupStatus {
            name: g.name.clone(),
            state: state_word(state),
            members: g.members.clone(),
        })
        .collect();
    let announces = announce_views(core);
    VrrpStatus {
        generation: core.generation,
        instances,
        sync_groups,
        unclaimed_datagrams: core.unclaimed,
        announces,
    }
}

/// The `vrrp_announce` blocks as the status shows them.
fn announce_views(core: &Core) -> Vec<AnnounceView> {
    core.node
        .announces()
        .into_iter()
        .map(|a| {
            let routes = core
                .announces
                .get(&a.name)
                .map_or_else(Vec::new, crate::child::announce_routes::describe_routes);
            AnnounceView {
                state: match (a.stopped, a.announced) {
                    (true, _) => "stopped",
                    (false, true) => "announced",
                    (false, false) => "withdrawn",
                },
                routes,
                reasons: a.causes.iter().map(reason).collect(),
                name: a.name,
            }
        })
        .collect()
}
