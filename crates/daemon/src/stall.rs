// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Telling a stalled child from a starved one.
//!
//! A child that misses its heartbeats for the whole watchdog bound is
//! killed. On a box so loaded that the child is runnable but gets no CPU
//! (seen: load 16 on 2 cores, a checker child killed four times in a
//! row), killing it only adds a respawn, a full table apply and every
//! checker's start-up rules to the load. The kernel knows the difference:
//! `/proc/PID/schedstat` counts the time a task ran and the time it sat
//! runnable on a run queue (a wait is added when it ends, so one still
//! going on shows as the state R in `/proc/PID/stat` with no time run).
//! A child that spent most of its silence waiting for a CPU is given more
//! time, up to a ceiling; a child that ran, or slept, through its silence
//! has stalled.
//!
//! Both children get this grace. The VRRP child once did not, on the
//! reasoning that a starved master sends no adverts, its peer takes over
//! and its VIPs must go; but the kill and the VIP removal need the CPU the
//! box does not have either, and a respawned child was killed again while
//! starting: in a starved guest (faults-vm, load 32) the link carried no
//! advert at all for 74 s while keepalived, which has no watchdog, kept
//! sending. A starved master that runs again reads the peer's adverts and
//! settles as VRRP says (the higher priority stays or becomes MASTER),
//! which is what keepalived does on the same box.

use std::time::Duration;

/// How long a starved child may stay silent, in watchdog bounds.
pub const STARVED_CEILING: u32 = 6;

/// The scheduler's account of a task (`/proc/PID/schedstat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedTimes {
    /// Time spent on a CPU.
    pub on_cpu: Duration,
    /// Time spent runnable, waiting for a CPU (waits that have ended).
    pub waiting: Duration,
    /// Runnable (running or waiting for a CPU) when read.
    pub runnable: bool,
}

impl SchedTimes {
    /// `pid`'s main thread (the child's loop runs there).
    pub fn of(pid: u32) -> Option<Self> {
        let read = |f: &str| std::fs::read_to_string(format!("/proc/{pid}/{f}")).ok();
        Self::parse(&read("schedstat")?, &read("stat")?)
    }

    /// `schedstat`: "on-cpu-ns wait-ns timeslices"; `stat`: "pid (comm)
    /// STATE ..." (comm may hold spaces and parentheses).
    pub fn parse(schedstat: &str, stat: &str) -> Option<Self> {
        let mut it = schedstat.split_whitespace().map(|w| w.parse::<u64>().ok());
        let on_cpu = it.next()??;
        let waiting = it.next()??;
        let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
        Some(Self {
            on_cpu: Duration::from_nanos(on_cpu),
            waiting: Duration::from_nanos(waiting),
            runnable: state == "R",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Kill it: its loop does not turn.
    Stalled,
    /// Wait: it spent this long of its silence waiting for a CPU.
    Starved { waited: Duration },
}

/// Judges a child silent for `silent` (past `bound`), from its scheduler
/// account at its last heartbeat and now. Without both accounts (no
/// procfs, the process gone) it has stalled, as before this existed.
pub fn judge(
    silent: Duration,
    bound: Duration,
    at_beat: Option<SchedTimes>,
    now: Option<SchedTimes>,
) -> Verdict {
    let (Some(then), Some(now)) = (at_beat, now) else {
        return Verdict::Stalled;
    };
    if silent >= bound * STARVED_CEILING {
        return Verdict::Stalled;
    }
    let ran = now.on_cpu.saturating_sub(then.on_cpu);
    // A wait still going on is not in the account yet: runnable now and
    // hardly run since, it has been waiting since about its last run.
    let waited = if now.runnable && ran * 2 < silent {
        silent - ran
    } else {
        now.waiting.saturating_sub(then.waiting)
    };
    // Most of the silence spent on a run queue: the box, not the child.
    if waited * 2 >= silent {
        Verdict::Starved { waited }
    } else {
        Verdict::Stalled
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(on_cpu_ms: u64, waiting_ms: u64) -> Option<SchedTimes> {
        Some(SchedTimes {
            on_cpu: Duration::from_millis(on_cpu_ms),
            waiting: Duration::from_millis(waiting_ms),
            runnable: false,
        })
    }

    fn runnable(on_cpu_ms: u64, waiting_ms: u64) -> Option<SchedTimes> {
        t(on_cpu_ms, waiting_ms).map(|s| SchedTimes {
            runnable: true,
            ..s
        })
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn reads_the_kernels_line() {
        let stat = "77 (a (b) c) S 1 77 77 0 -1";
        assert_eq!(
            SchedTimes::parse("1500000000 250000000 42\n", stat),
            t(1500, 250)
        );
        assert_eq!(
            SchedTimes::parse("1 2 3", "77 (x) R 1"),
            Some(SchedTimes {
                on_cpu: Duration::from_nanos(1),
                waiting: Duration::from_nanos(2),
                runnable: true
            })
        );
        assert_eq!(SchedTimes::parse("garbage", stat), None);
        assert_eq!(SchedTimes::parse("12", stat), None);
        assert_eq!(SchedTimes::parse("1 2 3", "no state"), None);
        let own = SchedTimes::of(std::process::id());
        assert!(own.is_some(), "no /proc/self/schedstat here");
    }

    #[test]
    fn waiting_for_a_cpu_through_the_silence_is_starvation() {
        let v = judge(12 * S, 10 * S, t(100, 0), t(150, 9_000));
        assert_eq!(
            v,
            Verdict::Starved {
                waited: Duration::from_millis(9_000)
            }
        );
    }

    #[test]
    fn a_wait_still_going_on_is_starvation() {
        // Runnable now, hardly run, nothing added to the account yet.
        assert!(matches!(
            judge(12 * S, 10 * S, t(100, 0), runnable(102, 0)),
            Verdict::Starved { .. }
        ));
    }

    #[test]
    fn running_or_sleeping_through_it_is_a_stall() {
        // A busy loop: runnable, and it had the CPU.
        assert_eq!(
            judge(12 * S, 10 * S, t(100, 0), runnable(11_000, 500)),
            Verdict::Stalled
        );
        // A busy loop: it had the CPU.
        assert_eq!(
            judge(12 * S, 10 * S, t(100, 0), t(11_000, 500)),
            Verdict::Stalled
        );
        // A deadlock: asleep, neither running nor waiting.
        assert_eq!(
            judge(12 * S, 10 * S, t(100, 0), t(100, 0)),
            Verdict::Stalled
        );
    }

    #[test]
    fn starvation_has_a_ceiling_and_needs_both_accounts() {
        assert_eq!(
            judge(60 * S, 10 * S, t(0, 0), t(0, 59_000)),
            Verdict::Stalled
        );
        assert_eq!(judge(12 * S, 10 * S, None, t(0, 11_000)), Verdict::Stalled);
        assert_eq!(judge(12 * S, 10 * S, t(0, 0), None), Verdict::Stalled);
    }
}
