// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The node: every instance and tracked object of one VRRP process.
//!
//! Rules, in keepalived 2.2.7's terms:
//! * effective priority = base + Σ verdicts of every tracked use, clamped
//!   to 1..=254; an address owner (255) never moves
//!   ([`crate::fsm::priority::effective`]);
//! * an instance is FAULT while any [`FaultCause`] holds: no source
//!   address, its own interface down (IFF_UP and IFF_RUNNING; not with
//!   `dont_track_primary`), a weight-0 tracked object failed, a tracked
//!   file at -254 or below, a weight-0 script without a first result;
//! * both are recomputed from the objects' current states after every
//!   change (keepalived adds and subtracts as things change; the sums
//!   are the same, without a running total to drift);
//! * scripts run every `interval` from the node's start, never two runs
//!   of one script at once; their health follows rise/fall
//!   ([`ScriptTracker`]);
//! * an interface the shell never reported is down (keepalived treats a
//!   tracked interface that does not exist as down).
//!
//! Where we differ on purpose:
//! * a weight-0 script still running its first time holds the instance
//!   in FAULT as keepalived does, and like keepalived we do not notify
//!   that FAULT; the BACKUP after it is notified.
//! * keepalived starts a second copy of a script still running at its
//!   next interval (it logs "skipping run" and runs it anyway); we skip.

use std::collections::{BTreeMap, BTreeSet};

use crate::fsm::event::{Action, Input, State};
use crate::fsm::instance::Instance;
use crate::fsm::priority;
use crate::fsm::time::Instant;
use crate::node::announce::Announcer;
use crate::node::event::{Effect, Event, FaultCause, InstanceSpec};
use crate::node::owned::static_deleted;
use crate::node::process::{ProcessParams, ProcessTracker};
use crate::node::sync::Group;
use crate::node::track::{self, ScriptParams, ScriptTracker, TrackUse, Verdict};

pub(super) struct Member {
    pub(super) spec: InstanceSpec,
    pub(super) fsm: Instance,
    src_present: bool,
    pub(super) causes: Vec<FaultCause>,
}

#[derive(Default)]
pub struct Node {
    pub(super) members: Vec<Member>,
    pub(super) groups: Vec<Group>,
    scripts: BTreeMap<String, ScriptTracker>,
    /// Last reported state per interface name.
    links: BTreeMap<String, bool>,
    /// Interfaces that carry tracked static addresses or routes: the
    /// kernel drops those when the link goes down, so a link coming back
    /// up has them put back.
    static_links: BTreeSet<String>,
    /// Last value per track file name (0 until read, as keepalived).
    files: BTreeMap<String, i64>,
    processes: BTreeMap<String, ProcessTracker>,
    pub(super) announces: Vec<Announcer>,
}

// ===== impl Node =====

impl Node {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an instance (in INIT; [`Event::Startup`] starts it) and
    /// returns its index. The source address is assumed present until
    /// [`Event::SourceAddress`] says otherwise.
    pub fn add_instance(&mut self, spec: InstanceSpec, now: Instant) -> usize {
        let fsm = Instance::new(spec.params.clone(), now);
        self.members.push(Member {
            spec,
            fsm,
            src_present: true,
            causes: Vec::new(),
        });
        self.members.len() - 1
    }

    /// Forgets instance `idx` (shut it down first); later indices shift
    /// down by one, as in a `Vec`.
    pub fn remove_instance(&mut self, idx: usize) {
        if idx < self.members.len() {
            self.members.remove(idx);
        }
    }

    /// New configuration for an instance of the same identity: its state
    /// and timers are kept; tracking is re-evaluated with the new uses.
    pub fn reload_instance(&mut self, idx: usize, spec: InstanceSpec, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        let Some(m) = self.members.get_mut(idx) else {
            return out;
        };
        let actions = m
            .fsm
            .handle(Input::Reload(Box::new(spec.params.clone())), now);
        m.spec = spec;
        push_actions(idx, actions, &mut out);
        self.evaluate(idx, now, &mut out);
        out
    }

    /// Sets the scripts (at start and on reload). A script of the same
    /// name keeps its health and rise/fall count, so a reload never dips
    /// a priority or flaps a VIP; new scripts run at once; gone ones are
    /// forgotten (a result still to come for them is ignored).
    pub fn configure_scripts(&mut self, scripts: Vec<ScriptParams>, now: Instant) {
        let mut old = std::mem::take(&mut self.scripts);
        for p in scripts {
            let t = match old.remove(&p.name) {
                Some(mut t) => {
                    t.reconfigure(p);
                    t
                }
                None => ScriptTracker::new(p, now),
            };
            self.scripts.insert(t.params.name.clone(), t);
        }
    }

    /// Sets the tracked processes (at start and on reload). One of the
    /// same name keeps its count and status; the shell rescans /proc
    /// after this and reports every count.
    pub fn configure_processes(&mut self, processes: Vec<ProcessParams>) {
        let mut old = std::mem::take(&mut self.processes);
        for p in processes {
            let t = match old.remove(&p.name) {
                Some(mut t) => {
                    t.reconfigure(p);
                    t
                }
                None => ProcessTracker::new(p),
            };
            self.processes.insert(t.params.name.clone(), t);
        }
    }

    /// Sets the interfaces that carry tracked (not `no_track`) static
    /// addresses and routes (at start and on reload).
    pub fn configure_static_links(&mut self, names: impl IntoIterator<Item = String>) {
        self.static_links = names.into_iter().collect();
    }

    pub fn processes(&self) -> impl Iterator<Item = &ProcessTracker> {
        self.processes.values()
    }

    /// Re-evaluates every instance (after a reload changed what they
    /// track) and returns what follows.
    pub fn refresh(&mut self, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        self.evaluate_all(now, &mut out);
        out
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Instance `idx`'s state machine (state, priorities, params).
    pub fn instance(&self, idx: usize) -> Option<&Instance> {
        self.members.get(idx).map(|m| &m.fsm)
    }

    /// Instance `idx`'s configuration as the node holds it.
    pub fn spec(&self, idx: usize) -> Option<&InstanceSpec> {
        self.members.get(idx).map(|m| &m.spec)
    }

    /// Why instance `idx` is FAULT (empty: it is not).
    pub fn fault_causes(&self, idx: usize) -> &[FaultCause] {
        self.members.get(idx).map_or(&[], |m| m.causes.as_slice())
    }

    pub fn scripts(&self) -> impl Iterator<Item = &ScriptTracker> {
        self.scripts.values()
    }

    /// Every interface whose state matters: own interfaces (unless
    /// `dont_track_primary`) and tracked ones.
    pub fn interfaces(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .members
            .iter()
            .flat_map(|m| {
                let own = (!m.spec.dont_track_primary).then(|| m.spec.interface.clone());
                own.into_iter()
                    .chain(m.spec.track_interface.iter().map(|u| u.name.clone()))
            })
            .chain(self.announce_interfaces().cloned())
            .chain(self.static_links.iter().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// Every tracked file name in use.
    pub fn files(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .members
            .iter()
            .flat_map(|m| m.spec.track_file.iter().map(|u| u.name.clone()))
            .chain(self.announce_files().cloned())
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// The last state reported for link `name` (None: none yet).
    pub fn link_state(&self, name: &str) -> Option<bool> {
        self.links.get(name).copied()
    }

    /// The last value of a tracked file (0 until one was read).
    pub fn file_value(&self, name: &str) -> i64 {
        self.files.get(name).copied().unwrap_or(0)
    }

    /// When the shell must send [`Event::Timer`] next.
    pub fn next_deadline(&self) -> Option<Instant> {
        let instances = self.members.iter().filter_map(|m| m.fsm.next_deadline());
        let scripts = self.scripts.values().map(ScriptTracker::next_run);
        let processes = self
            .processes
            .values()
            .filter_map(ProcessTracker::next_deadline);
        instances.chain(scripts).chain(processes).min()
    }

    /// Feeds one event at time `now`; returns the effects in order.
    pub fn handle(&mut self, event: Event, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        match event {
            Event::Startup { instance } => {
                self.evaluate(instance, now, &mut out);
                let silent_group_fault = self.group_startup(instance, &mut out);
                let Some(m) = self.members.get_mut(instance) else {
                    return out;
                };
                let mut actions = m.fsm.handle(Input::Startup, now);
                let only_pending = !m.causes.is_empty()
                    && m.causes
                        .iter()
                        .all(|c| matches!(c, FaultCause::ScriptPending(_)));
                if only_pending || silent_group_fault {
                    // keepalived enters this FAULT silently (see the top).
                    actions.retain(|a| !matches!(a, Action::StateChanged { .. }));
                }
                self.push_member(instance, actions, now, &mut out);
            }
            Event::Advert { instance, advert } => {
                self.step(instance, Input::Advert(advert), now, &mut out);
            }
            Event::Timer => self.fire_due(now, now, &mut out),
            Event::Link { interface, up } => {
                let before = self.links.insert(interface.clone(), up);
                // Only a link seen down comes back up: the first report
                // finds the statics just installed by the start.
                if up && before == Some(false) && self.static_links.contains(&interface) {
                    out.push(Effect::RestoreStaticsOn { interface });
                }
                if before != Some(up) {
                    self.evaluate_all(now, &mut out);
                }
            }
            Event::SourceAddress { instance, present } => {
                if let Some(m) = self.members.get_mut(instance) {
                    m.src_present = present;
                }
                self.evaluate(instance, now, &mut out);
            }
            Event::ScriptResult { script, ok } => {
                let changed = self.scripts.get_mut(&script).and_then(|t| t.record(ok));
                if let Some(health) = changed {
                    out.push(Effect::ScriptHealth { script, health });
                    self.evaluate_all(now, &mut out);
                }
            }
            Event::FileValue { file, value } => {
                if self.files.insert(file, value) != Some(value) {
                    self.evaluate_all(now, &mut out);
                }
            }
            Event::Deleted {
                instance,
                what,
                tracked,
            } => self.owned_deleted(instance, what, tracked, &mut out),
            Event::LinkRecreated { instance } => self.link_recreated(instance, &mut out),
            Event::StaticDeleted { what, tracked } => static_deleted(what, tracked, &mut out),
            Event::ProcessCount {
                process,
                count,
                cause,
            } => {
                let changed = self
                    .processes
                    .get_mut(&process)
                    .is_some_and(|t| t.set_count(count, cause, now));
                if changed {
                    self.evaluate_all(now, &mut out);
                }
            }
            Event::Shutdown { instance } => self.step(instance, Input::Shutdown, now, &mut out),
            Event::ShutdownAll => {
                for idx in 0..self.members.len() {
                    self.step(idx, Input::Shutdown, now, &mut out);
                }
                self.groups_stopped(&mut out);
            }
        }
        out
    }

    /// [`Event::Timer`] for a shell that batches wake-ups: everything
    /// due up to `horizon` fires, each at its own deadline (or `now` if
    /// that is later), so an early wake-up does not move the rhythm.
    pub fn fire_timers(&mut self, now: Instant, horizon: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        self.fire_due(now, horizon, &mut out);
        out
    }

    fn fire_due(&mut self, now: Instant, horizon: Instant, out: &mut Vec<Effect>) {
        let mut process_changed = false;
        for t in self.processes.values_mut() {
            if let Some(due) = t.next_deadline()
                && due <= horizon
            {
                process_changed |= t.fire(due.max(now));
            }
        }
        if process_changed {
            self.evaluate_all(now, out);
        }
        for (name, t) in &mut self.scripts {
            let due = t.next_run();
            if due <= horizon && t.due(due.max(now)) {
                out.push(Effect::RunScript {
                    script: name.clone(),
                });
            }
        }
        for idx in 0..self.members.len() {
            let Some(due) = self.members.get(idx).and_then(|m| m.fsm.next_deadline()) else {
                continue;
            };
            if due <= horizon {
                let at = due.max(now);
                let input = if self.sync_holds_backup(idx, at) {
                    Input::HoldBackup
                } else {
                    Input::Timer
                };
                self.step(idx, input, at, out);
            }
        }
    }

    fn step(&mut self, idx: usize, input: Input, now: Instant, out: &mut Vec<Effect>) {
        if let Some(m) = self.members.get_mut(idx) {
            let actions = m.fsm.handle(input, now);
            self.push_member(idx, actions, now, out);
        }
    }

    fn evaluate_all(&mut self, now: Instant, out: &mut Vec<Effect>) {
        for idx in 0..self.members.len() {
            self.evaluate(idx, now, out);
        }
        self.evaluate_announces(out);
    }

    /// Recomputes instance `idx`'s fault causes and effective priority
    /// from the tracked objects and feeds the differences to its machine.
    fn evaluate(&mut self, idx: usize, now: Instant, out: &mut Vec<Effect>) {
        let Some(m) = self.members.get(idx) else {
            return;
        };
        let (causes, adjust) = self.assess(m);
        let grouped = self.group_of(idx).is_some();
        let Some(m) = self.members.get_mut(idx) else {
            return;
        };
        let target = priority::effective(m.spec.params.priority, adjust);
        if target != m.fsm.effective_priority() {
            let actions = m
                .fsm
                .handle(Input::PriorityChange { priority: target }, now);
            push_actions(idx, actions, out);
        }
        if causes == m.causes {
            return;
        }
        let was_fault = !m.causes.is_empty();
        m.causes = causes.clone();
        out.push(Effect::FaultCauses {
            instance: idx,
            causes: causes.clone(),
        });
        let input = match (was_fault, causes.is_empty()) {
            (false, false) => Input::FaultSet,
            (true, true) => Input::FaultCleared,
            _ => return,
        };
        if grouped {
            self.sync_fault_change(idx, input, now, out);
            return;
        }
        let actions = m.fsm.handle(input, now);
        push_actions(idx, actions, out);
    }

    /// Pushes member `idx`'s actions, then makes its sync group follow a
    /// change to MASTER or from MASTER to BACKUP.
    pub(super) fn push_member(
        &mut self,
        idx: usize,
        actions: Vec<Action>,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        let moved: Vec<(State, State)> = actions
            .iter()
            .filter_map(|a| match a {
                Action::StateChanged { from, to, .. } => Some((*from, *to)),
                _ => None,
            })
            .collect();
        push_actions(idx, actions, out);
        for (from, to) in moved {
            match (from, to) {
                (_, State::Master) => self.sync_master(idx, now, out),
                (State::Master, State::Backup) => self.sync_backup(idx, now, out),
                _ => {}
            }
        }
    }

    fn link_up(&self, name: &str) -> bool {
        self.links.get(name).copied().unwrap_or(false)
    }

    /// (fault causes, priority adjustment) of one member.
    fn assess(&self, m: &Member) -> (Vec<FaultCause>, i32) {
        let mut causes = Vec::new();
        if !m.src_present {
            causes.push(FaultCause::NoSourceAddress);
        }
        if !m.spec.dont_track_primary && !self.link_up(&m.spec.interface) {
            causes.push(FaultCause::InterfaceDown(m.spec.interface.clone()));
        }
        let uses = Uses {
            interfaces: &m.spec.track_interface,
            scripts: &m.spec.track_script,
            files: &m.spec.track_file,
            processes: &m.spec.track_process,
        };
        let adjust = self.judge(&uses, &mut causes);
        causes.sort();
        causes.dedup();
        let adjust = i32::try_from(adjust.clamp(i64::from(i32::MIN), i64::from(i32::MAX)))
            .unwrap_or_default();
        (causes, adjust)
    }

    /// Adds the fault causes of a set of tracked uses to `causes` and
    /// returns the sum of their priority adjustments.
    pub(super) fn judge(&self, uses: &Uses<'_>, causes: &mut Vec<FaultCause>) -> i64 {
        let mut adjust: i64 = 0;
        let mut apply = |v: Verdict, cause: FaultCause, causes: &mut Vec<FaultCause>| match v {
            Verdict::Adjust(a) => adjust += i64::from(a),
            Verdict::Fault => causes.push(cause),
            Verdict::Pending => causes.push(match cause {
                FaultCause::Script(n) => FaultCause::ScriptPending(n),
                other => other,
            }),
        };
        for u in uses.interfaces {
            let v = track::up_down(u, self.link_up(&u.name));
            apply(v, FaultCause::TrackedInterface(u.name.clone()), causes);
        }
        for u in uses.scripts {
            // A script the configuration dropped is not tracked at all.
            if let Some(t) = self.scripts.get(&u.name) {
                apply(t.verdict(u), FaultCause::Script(u.name.clone()), causes);
            }
        }
        for u in uses.files {
            let v = track::file_verdict(u, self.file_value(&u.name));
            apply(v, FaultCause::File(u.name.clone()), causes);
        }
        for u in uses.processes {
            // A process the configuration dropped is not tracked at all.
            if let Some(t) = self.processes.get(&u.name) {
                apply(t.verdict(u), FaultCause::Process(u.name.clone()), causes);
            }
        }
        adjust
    }
}

/// The tracked uses of one instance or announce.
pub(super) struct Uses<'a> {
    pub(super) interfaces: &'a [TrackUse],
    pub(super) scripts: &'a [TrackUse],
    pub(super) files: &'a [TrackUse],
    pub(super) processes: &'a [TrackUse],
}

pub(super) fn push_actions(instance: usize, actions: Vec<Action>, out: &mut Vec<Effect>) {
    out.extend(
        actions
            .into_iter()
            .map(|action| Effect::Instance { instance, action }),
    );
}
