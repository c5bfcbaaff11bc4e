// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_track_process`: which processes match, and when a tracked
//! process counts as up (keepalived 2.2.7 `core/track_process.c`).
//!
//! * A process matches on its name (`/proc/PID/comm`, 15 bytes) unless
//!   parameters, `param_match` or `full_command` are given: then on its
//!   command line, argv[0] compared exactly with `process`'s first word and
//!   the rest per `param_match` (exact by default; `partial`: the first
//!   configured parameters match exactly, more may follow; `initial`: as
//!   partial, and the last configured one may be a prefix). Zombies never
//!   match. The shell matches; the node counts.
//! * Up while quorum ≤ count ≤ quorum_max.
//! * A change of status caused by a fork of a matching process waits
//!   `fork_delay`; one caused by an exit waits `terminate_delay`; the
//!   count going back during the wait cancels it (so a restart inside the
//!   delay is never seen). Changes from an exec, a name change or the
//!   /proc scan apply at once.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fsm::time::Instant;
use crate::node::track::{self, TrackUse, Verdict};

/// How the parameters after the name are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ParamMatch {
    /// Name (or argv[0] with `full_command`) only.
    None,
    Exact,
    Partial,
    Initial,
}

/// What one `vrrp_track_process` looks for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessParams {
    pub name: String,
    /// Compared with comm, or with argv[0] when `full_command`.
    pub path: String,
    pub params: Vec<String>,
    pub param_match: ParamMatch,
    pub full_command: bool,
    pub quorum: u32,
    pub quorum_max: u32,
    pub fork_delay: Duration,
    pub terminate_delay: Duration,
}

impl ProcessParams {
    /// Whether a process with this `comm` and NUL-separated `cmdline`
    /// matches (`cmdline` is only read when `full_command`).
    pub fn matches(&self, comm: &str, cmdline: &[u8]) -> bool {
        if !self.full_command {
            return comm == self.path;
        }
        let mut args = cmdline
            .strip_suffix(&[0])
            .unwrap_or(cmdline)
            .split(|b| *b == 0);
        if args.next() != Some(self.path.as_bytes()) {
            return false;
        }
        let rest: Vec<&[u8]> = if cmdline.contains(&0) {
            args.collect()
        } else {
            Vec::new()
        };
        self.params_match(&rest)
    }

    fn params_match(&self, got: &[&[u8]]) -> bool {
        let want = &self.params;
        match self.param_match {
            ParamMatch::None => true,
            ParamMatch::Exact => {
                got.len() == want.len() && got.iter().zip(want).all(|(g, w)| *g == w.as_bytes())
            }
            ParamMatch::Partial => {
                got.len() >= want.len() && got.iter().zip(want).all(|(g, w)| *g == w.as_bytes())
            }
            ParamMatch::Initial => {
                let n = want.len();
                got.len() >= n
                    && got.iter().zip(want).enumerate().all(|(i, (g, w))| {
                        if i + 1 == n {
                            g.starts_with(w.as_bytes())
                        } else {
                            *g == w.as_bytes()
                        }
                    })
            }
        }
    }

    fn in_quorum(&self, count: u32) -> bool {
        count >= self.quorum && count <= self.quorum_max
    }
}

/// Why a count changed: decides whether the status change waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CountCause {
    /// The /proc scan (start, reload, after lost events).
    Scan,
    /// A matching process forked.
    Fork,
    /// An exec or a name change made a process match or stop matching.
    Exec,
    /// A matching process exited.
    Exit,
}

/// One tracked process's count and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessTracker {
    pub params: ProcessParams,
    pub count: u32,
    /// The status the instances see.
    pub up: bool,
    /// A status change waiting for its delay.
    pending: Option<Instant>,
    /// Whether a scan has given a count yet (before that the status is
    /// unknown and counts as down, as keepalived before its scan).
    pub known: bool,
}

impl ProcessTracker {
    pub fn new(params: ProcessParams) -> Self {
        Self {
            params,
            count: 0,
            up: false,
            pending: None,
            known: false,
        }
    }

    /// New parameters of the same name: the count is kept (the shell
    /// rescans anyway) and the status recomputed.
    pub fn reconfigure(&mut self, params: ProcessParams) {
        self.params = params;
        self.pending = None;
        self.up = self.params.in_quorum(self.count);
    }

    /// The count is now `count`; true when the status changed now.
    pub fn set_count(&mut self, count: u32, cause: CountCause, now: Instant) -> bool {
        self.count = count;
        self.known = true;
        let target = self.params.in_quorum(count);
        if target == self.up {
            self.pending = None;
            return false;
        }
        let delay = match cause {
            CountCause::Fork => self.params.fork_delay,
            CountCause::Exit => self.params.terminate_delay,
            CountCause::Scan | CountCause::Exec => Duration::ZERO,
        };
        if delay.is_zero() {
            self.pending = None;
            self.up = target;
            return true;
        }
        if self.pending.is_none() {
            self.pending = Some(now + delay);
        }
        false
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
    }

    /// At or after the deadline: true when the status changed.
    pub fn fire(&mut self, now: Instant) -> bool {
        match self.pending {
            Some(at) if at <= now => {
                self.pending = None;
                let target = self.params.in_quorum(self.count);
                let changed = target != self.up;
                self.up = target;
                changed
            }
            _ => false,
        }
    }

    /// What the process does to an instance through one use.
    pub fn verdict(&self, u: &TrackUse) -> Verdict {
        track::up_down(u, self.up)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn params(path: &str, args: &[&str], m: ParamMatch, full: bool) -> ProcessParams {
        ProcessParams {
            name: "p".into(),
            path: path.into(),
            params: args.iter().map(|s| s.to_string()).collect(),
            param_match: m,
            full_command: full,
            quorum: 1,
            quorum_max: u32::MAX,
            fork_delay: Duration::ZERO,
            terminate_delay: Duration::ZERO,
        }
    }

    #[test]
    fn name_matches_comm_exactly_not_as_a_pattern() {
        let p = params("ssh", &[], ParamMatch::None, false);
        assert!(p.matches("ssh", b""));
        assert!(!p.matches("sshd", b"ssh\0"));
    }

    #[test]
    fn full_command_compares_argv0_and_the_parameters() {
        let exact = params(
            "/usr/sbin/haproxy",
            &["-f", "/etc/h.cfg"],
            ParamMatch::Exact,
            true,
        );
        assert!(exact.matches("haproxy", b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0"));
        assert!(!exact.matches("haproxy", b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0-D\0"));
        assert!(!exact.matches("haproxy", b"/usr/sbin/haproxy\0-f\0"));
        assert!(!exact.matches("haproxy", b"haproxy\0-f\0/etc/h.cfg\0"));
        let partial = params("/usr/sbin/haproxy", &["-f"], ParamMatch::Partial, true);
        assert!(partial.matches("", b"/usr/sbin/haproxy\0-f\0/etc/h.cfg\0"));
        assert!(!partial.matches("", b"/usr/sbin/haproxy\0-D\0"));
        let initial = params("x", &["-f", "/etc/h"], ParamMatch::Initial, true);
        assert!(initial.matches("", b"x\0-f\0/etc/h.cfg\0"));
        assert!(!initial.matches("", b"x\0-fx\0/etc/h.cfg\0"));
        let none = params("x", &[], ParamMatch::Exact, true);
        assert!(
            none.matches("", b"x\0"),
            "param_match without parameters: none allowed"
        );
        assert!(!none.matches("", b"x\0y\0"));
    }

    #[test]
    fn quorum_and_quorum_max_bound_the_count() {
        let mut p = params("x", &[], ParamMatch::None, false);
        p.quorum = 2;
        p.quorum_max = 3;
        let mut t = ProcessTracker::new(p);
        let now = Instant::from_micros(0);
        assert!(!t.set_count(1, CountCause::Scan, now));
        assert!(!t.up);
        assert!(t.set_count(2, CountCause::Exec, now));
        assert!(!t.set_count(3, CountCause::Exec, now));
        assert!(t.set_count(4, CountCause::Exec, now));
        assert!(!t.up, "above quorum_max");
    }

    #[test]
    fn terminate_delay_hides_a_restart_and_reports_a_lasting_exit() {
        let mut p = params("x", &[], ParamMatch::None, false);
        p.terminate_delay = Duration::from_millis(500);
        let mut t = ProcessTracker::new(p);
        let t0 = Instant::from_micros(0);
        assert!(t.set_count(1, CountCause::Scan, t0));
        assert!(!t.set_count(0, CountCause::Exit, t0), "waits");
        assert_eq!(t.next_deadline(), Some(t0 + Duration::from_millis(500)));
        assert!(!t.set_count(1, CountCause::Exec, t0 + Duration::from_millis(100)));
        assert_eq!(t.next_deadline(), None, "back in time: cancelled");
        assert!(t.up);
        assert!(!t.set_count(0, CountCause::Exit, t0 + Duration::from_millis(200)));
        assert!(!t.fire(t0 + Duration::from_millis(600)));
        assert!(t.fire(t0 + Duration::from_millis(700)));
        assert!(!t.up);
    }

    #[test]
    fn fork_delay_waits_before_up() {
        let mut p = params("x", &[], ParamMatch::None, false);
        p.fork_delay = Duration::from_secs(1);
        let mut t = ProcessTracker::new(p);
        let t0 = Instant::from_micros(0);
        assert!(!t.set_count(1, CountCause::Fork, t0));
        assert!(!t.up);
        assert!(t.fire(t0 + Duration::from_secs(1)));
        assert!(t.up);
    }
}
