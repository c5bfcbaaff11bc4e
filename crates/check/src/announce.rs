// SPDX-License-Identifier: Apache-2.0 OR MIT
//! When a virtual server's `announce` (keepalived-rs extension) puts its
//! host route in the kernel: the checker child's counterpart of the VRRP
//! side's `vrrp_announce` decisions, driven by quorum instead of tracked
//! objects.
//!
//! Rules:
//! * healthy = the virtual server has quorum (after its hysteresis, as
//!   the pool keeps it);
//! * nothing is announced before every checker of the virtual server has
//!   produced a result: at start keepalived counts real servers without
//!   `alpha` as alive, so the quorum says "up" before anything was
//!   checked, and a route must not draw traffic on that guess. Once every
//!   checker has answered the virtual server is ready for good (a reload
//!   that adds a cold real server does not withdraw a healthy route);
//! * a virtual server that leaves the configuration is withdrawn;
//! * stop withdraws everything and nothing comes back, and says how long
//!   to drain: the longest `drain_delay` of what was announced.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::ids::VirtualServerId;

/// One virtual server with an `announce`, as the pool sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub id: VirtualServerId,
    /// Every checker has produced a result at least once.
    pub checked: bool,
    pub quorum: bool,
    /// How long a stop waits after withdrawing (its `drain_delay`).
    pub drain: Duration,
}

/// Why a virtual server is or is not announced, for the log and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Announced,
    /// Some checker has no result yet.
    NotChecked,
    NoQuorum,
    Stopped,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Announced => "announced",
            Reason::NotChecked => "not every checker has a result yet",
            Reason::NoQuorum => "quorum lost",
            Reason::Stopped => "stopping",
        }
    }
}

/// A change the shell carries out: put (`up`) or remove the routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: VirtualServerId,
    pub up: bool,
    pub reason: Reason,
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    ready: bool,
    announced: bool,
    drain: Duration,
}

#[derive(Debug, Default)]
pub struct AnnounceBook {
    entries: BTreeMap<VirtualServerId, Entry>,
    stopped: bool,
}

impl AnnounceBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// Judges every virtual server with an announce (`inputs` is all of
    /// them: one missing is gone from the configuration).
    pub fn update(&mut self, inputs: &[Input]) -> Vec<Change> {
        let mut out = Vec::new();
        let gone: Vec<VirtualServerId> = self
            .entries
            .keys()
            .filter(|id| !inputs.iter().any(|i| &i.id == *id))
            .cloned()
            .collect();
        for id in gone {
            if self.entries.remove(&id).is_some_and(|e| e.announced) {
                out.push(Change {
                    id,
                    up: false,
                    reason: Reason::Stopped,
                });
            }
        }
        for i in inputs {
            let e = self.entries.entry(i.id.clone()).or_default();
            e.ready |= i.checked;
            e.drain = i.drain;
            let reason = self.reason_for(i);
            let e = self.entries.entry(i.id.clone()).or_default();
            let up = reason == Reason::Announced;
            if up != e.announced {
                e.announced = up;
                out.push(Change {
                    id: i.id.clone(),
                    up,
                    reason,
                });
            }
        }
        out
    }

    fn reason_for(&self, i: &Input) -> Reason {
        let ready = self.entries.get(&i.id).is_some_and(|e| e.ready);
        if self.stopped {
            Reason::Stopped
        } else if !ready {
            Reason::NotChecked
        } else if !i.quorum {
            Reason::NoQuorum
        } else {
            Reason::Announced
        }
    }

    /// Withdraws everything for good: returns what was announced and how
    /// long to wait before the rest of the stop (the longest drain of
    /// what was announced, zero if nothing was).
    pub fn stop(&mut self) -> (Vec<VirtualServerId>, Duration) {
        self.stopped = true;
        let mut drain = Duration::ZERO;
        let ids = self
            .entries
            .iter_mut()
            .filter(|(_, e)| e.announced)
            .map(|(id, e)| {
                e.announced = false;
                drain = drain.max(e.drain);
                id.clone()
            })
            .collect();
        (ids, drain)
    }

    pub fn is_announced(&self, id: &VirtualServerId) -> bool {
        self.entries.get(id).is_some_and(|e| e.announced)
    }

    /// The reason a virtual server is (not) announced now.
    pub fn reason(&self, i: &Input) -> Reason {
        self.reason_for(i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> VirtualServerId {
        VirtualServerId::Fwmark {
            family: None,
            mark: n,
        }
    }

    fn input(n: u32, checked: bool, quorum: bool) -> Input {
        Input {
            id: id(n),
            checked,
            quorum,
            drain: Duration::from_secs(u64::from(n)),
        }
    }

    fn ups(changes: &[Change]) -> Vec<(VirtualServerId, bool)> {
        changes.iter().map(|c| (c.id.clone(), c.up)).collect()
    }

    #[test]
    fn stop_drains_the_longest_delay_of_what_was_announced_only() {
        let mut b = AnnounceBook::new();
        // 3 has the longest drain but was never announced.
        b.update(&[
            input(1, true, true),
            input(2, true, true),
            input(3, true, false),
        ]);
        assert_eq!(
            b.stop(),
            (vec![id(1), id(2)], Duration::from_secs(2)),
            "only what was announced drains"
        );
    }

    #[test]
    fn quorum_at_start_is_not_enough_until_every_checker_answered() {
        let mut b = AnnounceBook::new();
        assert!(b.update(&[input(1, false, true)]).is_empty());
        assert_eq!(b.reason(&input(1, false, true)), Reason::NotChecked);
        assert_eq!(ups(&b.update(&[input(1, true, true)])), vec![(id(1), true)]);
        assert!(b.is_announced(&id(1)));
    }

    #[test]
    fn first_results_that_say_unhealthy_announce_nothing() {
        let mut b = AnnounceBook::new();
        assert!(b.update(&[input(1, true, false)]).is_empty());
        assert_eq!(b.reason(&input(1, true, false)), Reason::NoQuorum);
    }

    #[test]
    fn quorum_lost_withdraws_and_regained_announces_again() {
        let mut b = AnnounceBook::new();
        b.update(&[input(1, true, true)]);
        let c = b.update(&[input(1, true, false)]);
        assert_eq!(ups(&c), vec![(id(1), false)]);
        assert_eq!(c[0].reason, Reason::NoQuorum);
        assert!(b.update(&[input(1, true, false)]).is_empty(), "no repeat");
        assert_eq!(ups(&b.update(&[input(1, true, true)])), vec![(id(1), true)]);
    }

    #[test]
    fn ready_is_kept_so_a_reload_with_a_cold_server_withdraws_nothing() {
        let mut b = AnnounceBook::new();
        b.update(&[input(1, true, true)]);
        assert!(b.update(&[input(1, false, true)]).is_empty());
        assert!(b.is_announced(&id(1)));
    }

    #[test]
    fn a_removed_virtual_server_is_withdrawn_and_stop_is_final() {
        let mut b = AnnounceBook::new();
        b.update(&[input(1, true, true), input(2, true, true)]);
        assert_eq!(
            ups(&b.update(&[input(2, true, true)])),
            vec![(id(1), false)]
        );
        assert_eq!(b.stop(), (vec![id(2)], Duration::from_secs(2)));
        assert!(b.update(&[input(2, true, true)]).is_empty());
        assert_eq!(b.stop(), (Vec::new(), Duration::ZERO));
    }
}
