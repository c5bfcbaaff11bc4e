// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the node can say about an instance right now: the part of the
//! status model (shared/DESIGN.md "One status model") that protocol
//! state decides. The shell adds what only it knows (addresses,
//! counters) and every view (control socket, dumps, metrics) renders
//! from the result.

use std::net::IpAddr;

use serde::Serialize;

use super::core::Node;
use super::event::FaultCause;
use super::track::ScriptHealth;
use crate::fsm::State;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStatus {
    pub state: State,
    /// As configured (255: address owner).
    pub base_priority: u8,
    /// What the adverts carry: base plus tracked weights, clamped.
    pub effective_priority: u8,
    /// Why it is FAULT; empty when it is not.
    pub fault_causes: Vec<FaultCause>,
    /// The last master heard from, with its priority.
    pub last_master: Option<(IpAddr, u8)>,
    pub tracked: Vec<TrackedStatus>,
}

/// One tracked object as this instance uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackedStatus {
    /// `script`, `interface`, `file` or `process`.
    pub kind: &'static str,
    pub name: String,
    /// The weight this instance gives it (0: FAULT when it fails).
    pub weight: i32,
    pub reverse: bool,
    /// `up` / `down` / `pending` (scripts and links), a file's value, or
    /// a process's `up|down (N running)`.
    pub state: String,
}

impl Node {
    /// Instance `idx`'s status, None when there is no such instance.
    pub fn instance_status(&self, idx: usize) -> Option<InstanceStatus> {
        let fsm = self.instance(idx)?;
        let spec = self.spec(idx)?;
        let mut tracked = Vec::new();
        for u in &spec.track_script {
            let health = self
                .scripts()
                .find(|t| t.params.name == u.name)
                .map(|t| t.health());
            let state = match health {
                Some(ScriptHealth::Up) => "up",
                Some(ScriptHealth::Down) => "down",
                Some(ScriptHealth::Pending) => "pending",
                None => "unknown",
            };
            tracked.push(TrackedStatus {
                kind: "script",
                name: u.name.clone(),
                weight: u.weight,
                reverse: u.reverse,
                state: state.into(),
            });
        }
        for u in &spec.track_interface {
            let state = match self.link_state(&u.name) {
                Some(true) => "up",
                Some(false) => "down",
                None => "unknown",
            };
            tracked.push(TrackedStatus {
                kind: "interface",
                name: u.name.clone(),
                weight: u.weight,
                reverse: u.reverse,
                state: state.into(),
            });
        }
        for u in &spec.track_file {
            tracked.push(TrackedStatus {
                kind: "file",
                name: u.name.clone(),
                weight: u.weight,
                reverse: u.reverse,
                state: self.file_value(&u.name).to_string(),
            });
        }
        for u in &spec.track_process {
            let state = match self.processes().find(|t| t.params.name == u.name) {
                Some(t) if t.known => {
                    let word = if t.up { "up" } else { "down" };
                    format!("{word} ({} running)", t.count)
                }
                Some(_) => "unknown".into(),
                None => "not tracked".into(),
            };
            tracked.push(TrackedStatus {
                kind: "process",
                name: u.name.clone(),
                weight: u.weight,
                reverse: u.reverse,
                state,
            });
        }
        Some(InstanceStatus {
            state: fsm.state(),
            base_priority: fsm.params().priority,
            effective_priority: fsm.effective_priority(),
            fault_causes: self.fault_causes(idx).to_vec(),
            last_master: fsm.last_master(),
            tracked,
        })
    }
}
