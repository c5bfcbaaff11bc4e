// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_sync_group`: members that move together, with keepalived
//! 2.2.7's rules (`vrrp_sync.c`, `try_up_instance`, `down_instance`,
//! `vrrp_init_state`):
//! * FAULT: one member with a fault cause puts every member in FAULT
//!   (a master sends priority 0 and drops its addresses); the group
//!   leaves FAULT only when no member has a cause left, every member
//!   then going to BACKUP;
//! * MASTER: a backup whose master-down timer runs out becomes MASTER
//!   only when every other member wants MASTER too (its own timer ran
//!   out, or it is configured `state MASTER`); otherwise it waits
//!   another master-down interval in BACKUP. Once one member is MASTER
//!   the others follow at once;
//! * BACKUP: a master that sees a higher-priority advert goes BACKUP and
//!   takes every other master with it (no priority-0 advert);
//! * the group's own notifications come after the members'; the group
//!   starts in FAULT (a member has a fault), MASTER (every member is an
//!   address owner configured MASTER: then no MASTER notification is
//!   ever sent, as in keepalived) or BACKUP;
//! * at start, a member put in FAULT by its group only is not notified;
//!   while a member waits for a weight-0 script's first result, the
//!   group is not notified either (it reports BACKUP after the members
//!   once the results are in).
//!
//! `nopreempt`, `preempt_delay` and priority-0 adverts act on each
//! member's own timer; the group only gates and propagates the result.

use crate::fsm::event::{Input, State};
use crate::fsm::params::InitialState;
use crate::fsm::priority::PRIO_OWNER;
use crate::fsm::time::Instant;
use crate::node::core::{Node, push_actions};
use crate::node::event::{Effect, FaultCause, SyncGroupSpec};

pub(super) struct Group {
    pub(super) spec: SyncGroupSpec,
    /// INIT until a member starts, and after that while a member waits
    /// for a weight-0 script's first result (keepalived's
    /// `num_member_init`: no group notification until it has one).
    pub(super) state: State,
    /// A member has started.
    started: bool,
}

impl Node {
    /// Sets the sync groups (at start, before any member starts, and on
    /// reload). A group with the same name and members keeps its state;
    /// a new or changed one takes its state from its running members
    /// (FAULT if any is, MASTER if all are, else BACKUP), without
    /// notifying.
    pub fn configure_groups(&mut self, groups: Vec<SyncGroupSpec>) {
        let old = std::mem::take(&mut self.groups);
        for spec in groups {
            let kept = old
                .iter()
                .find(|g| g.spec == spec)
                .map(|g| (g.state, g.started));
            let mut g = Group {
                spec,
                state: State::Init,
                started: false,
            };
            (g.state, g.started) = kept.unwrap_or_else(|| {
                let state = self.derived_state(&g);
                (state, state != State::Init)
            });
            self.groups.push(g);
        }
    }

    /// The state of sync group `name`, if configured.
    pub fn group_state(&self, name: &str) -> Option<State> {
        self.groups
            .iter()
            .find(|g| g.spec.name == name)
            .map(|g| g.state)
    }

    /// Every sync group with its state (INIT: no member started yet, or
    /// one waits for a script's first result).
    pub fn sync_groups(&self) -> impl Iterator<Item = (&SyncGroupSpec, State)> {
        self.groups.iter().map(|g| (&g.spec, g.state))
    }

    fn derived_state(&self, g: &Group) -> State {
        let states: Vec<State> = self
            .members_of(g)
            .iter()
            .filter_map(|&i| self.members.get(i).map(|m| m.fsm.state()))
            .filter(|s| *s != State::Init && *s != State::Stop)
            .collect();
        if states.is_empty() {
            State::Init
        } else if states.contains(&State::Fault) {
            State::Fault
        } else if states.iter().all(|s| *s == State::Master) {
            State::Master
        } else {
            State::Backup
        }
    }

    /// Indices of the group's members present in the node, in the
    /// group's order.
    fn members_of(&self, g: &Group) -> Vec<usize> {
        g.spec
            .members
            .iter()
            .filter_map(|name| {
                self.members
                    .iter()
                    .position(|m| &m.spec.params.name == name)
            })
            .collect()
    }

    pub(super) fn group_of(&self, idx: usize) -> Option<usize> {
        let name = &self.members.get(idx)?.spec.params.name;
        self.groups
            .iter()
            .position(|g| g.spec.members.iter().any(|n| n == name))
    }

    fn set_group(&mut self, gi: usize, state: State, out: &mut Vec<Effect>) {
        if let Some(g) = self.groups.get_mut(gi) {
            g.state = state;
            out.push(Effect::Group {
                group: g.spec.name.clone(),
                state,
            });
        }
    }

    /// Before member `idx` starts: the first member to start decides the
    /// group's initial state (and notifies it). Returns true when the
    /// member enters FAULT for its group only (not notified).
    pub(super) fn group_startup(&mut self, idx: usize, out: &mut Vec<Effect>) -> bool {
        let Some(gi) = self.group_of(idx) else {
            return false;
        };
        let Some(g) = self.groups.get(gi) else {
            return false;
        };
        let members = self.members_of(g);
        let live = |i: &usize| self.members.get(*i);
        if !g.started {
            let fault = members.iter().filter_map(live).any(|m| {
                m.causes
                    .iter()
                    .any(|c| !matches!(c, FaultCause::ScriptPending(_)))
            });
            let pending = members
                .iter()
                .filter_map(live)
                .any(|m| !m.causes.is_empty());
            let owners = members.iter().filter_map(live).all(|m| {
                m.spec.params.priority == PRIO_OWNER
                    && m.spec.params.initial_state == InitialState::Master
            });
            if let Some(g) = self.groups.get_mut(gi) {
                g.started = true;
            }
            if fault {
                self.set_group(gi, State::Fault, out);
            } else if pending {
                // Silent until the scripts' first results, as keepalived.
            } else if owners {
                // keepalived sends no group notification here, and none
                // later: the group is MASTER already when members are.
                if let Some(g) = self.groups.get_mut(gi) {
                    g.state = State::Master;
                }
            } else {
                self.set_group(gi, State::Backup, out);
            }
        }
        let state = self.groups.get(gi).map_or(State::Init, |g| g.state);
        let Some(m) = self.members.get_mut(idx) else {
            return false;
        };
        if state != State::Master {
            m.fsm.hold_owner_start();
        }
        let held = state == State::Fault || state == State::Init;
        if held && m.causes.is_empty() {
            // Silently in INIT; Startup then enters FAULT.
            m.fsm.handle(Input::FaultSet, Instant::ZERO);
            return true;
        }
        false
    }

    /// Whether member `idx`, a backup whose master-down timer is due at
    /// `now`, must stay BACKUP because another member does not want
    /// MASTER (keepalived `vrrp_sync_can_goto_master`).
    pub(super) fn sync_holds_backup(&self, idx: usize, now: Instant) -> bool {
        let Some(gi) = self.group_of(idx) else {
            return false;
        };
        let Some(g) = self.groups.get(gi) else {
            return false;
        };
        if g.state == State::Master {
            return false;
        }
        if !self
            .members
            .get(idx)
            .is_some_and(|m| m.fsm.master_down_due(now))
        {
            return false;
        }
        self.members_of(g)
            .into_iter()
            .filter(|&i| i != idx)
            .any(|i| self.members.get(i).is_some_and(|m| !m.fsm.wants_master()))
    }

    /// Member `idx` became MASTER: every other member that is not
    /// follows (keepalived `vrrp_sync_master`).
    pub(super) fn sync_master(&mut self, idx: usize, now: Instant, out: &mut Vec<Effect>) {
        self.follow(idx, State::Master, Input::SyncMaster, now, out);
    }

    /// Member `idx` went from MASTER to BACKUP: every other master
    /// follows (keepalived `vrrp_sync_backup`).
    pub(super) fn sync_backup(&mut self, idx: usize, now: Instant, out: &mut Vec<Effect>) {
        self.follow(idx, State::Backup, Input::SyncBackup, now, out);
    }

    fn follow(
        &mut self,
        idx: usize,
        state: State,
        input: Input,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        let Some(gi) = self.group_of(idx) else {
            return;
        };
        let Some(g) = self.groups.get(gi) else {
            return;
        };
        if g.state == state || g.state == State::Init {
            return;
        }
        for i in self.members_of(g) {
            if i == idx {
                continue;
            }
            if let Some(m) = self.members.get_mut(i) {
                let actions = m.fsm.handle(input.clone(), now);
                push_actions(i, actions, out);
            }
        }
        self.set_group(gi, state, out);
    }

    /// Member `idx`'s own fault causes appeared (`FaultSet`) or all went
    /// (`FaultCleared`): the group is FAULT while any member has a cause
    /// (keepalived `down_instance` / `try_up_instance` with their
    /// `num_member_fault` count).
    pub(super) fn sync_fault_change(
        &mut self,
        idx: usize,
        input: Input,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        let Some(gi) = self.group_of(idx) else {
            return;
        };
        let Some(g) = self.groups.get(gi) else {
            return;
        };
        let not_started = self
            .members
            .get(idx)
            .is_none_or(|m| m.fsm.state() == State::Init);
        if matches!(input, Input::FaultSet) && not_started {
            // Its Startup decides (the group's first start reads every
            // member's causes; a weight-0 script's pending first result
            // is no group FAULT).
            if let Some(m) = self.members.get_mut(idx) {
                m.fsm.handle(Input::FaultSet, now);
            }
            return;
        }
        let members = self.members_of(g);
        let started = g.started;
        let any_fault = members
            .iter()
            .any(|&i| self.members.get(i).is_some_and(|m| !m.causes.is_empty()));
        let (target, input) = match input {
            Input::FaultSet => (State::Fault, Input::FaultSet),
            _ if any_fault => return,
            _ => (State::Backup, Input::FaultCleared),
        };
        if started && g.state == target && target == State::Fault {
            // Already FAULT for another member: this one is FAULT too.
            if let Some(m) = self.members.get_mut(idx) {
                m.fsm.handle(Input::FaultSet, now);
            }
            return;
        }
        // The member whose causes changed moves first, then the others
        // in the group's order.
        let order = std::iter::once(idx).chain(members.into_iter().filter(|&i| i != idx));
        for i in order {
            if let Some(m) = self.members.get_mut(i) {
                let actions = m.fsm.handle(input.clone(), now);
                push_actions(i, actions, out);
            }
        }
        if started {
            self.set_group(gi, target, out);
        }
    }

    /// Every group reports STOP after its members (keepalived
    /// `notify_shutdown`).
    pub(super) fn groups_stopped(&mut self, out: &mut Vec<Effect>) {
        for gi in 0..self.groups.len() {
            if self.groups.get(gi).is_some_and(|g| g.started) {
                self.set_group(gi, State::Stop, out);
            }
        }
    }
}
