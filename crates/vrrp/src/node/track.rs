// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Tracked objects and what each one does to an instance that tracks it
//! (inventory §C.6; keepalived 2.2.7 `vrrp_track.c`, `vrrp_scheduler.c`
//! `vrrp_script_child_thread`, `trackers/track_file.c`).
//!
//! keepalived keeps a running `total_priority` and adds or subtracts
//! weights as objects change, which makes every transition a chance to
//! get the sum wrong. We recompute instead: each tracked use answers
//! [`Verdict`] from the object's current state, and the node sums them.
//! The per-state values below are the ones keepalived's increments add
//! up to.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::fsm::time::Instant;

/// The lowest a file status goes; at or below it the instance is FAULT
/// (keepalived's "-254 means down").
pub const FILE_FAULT: i64 = -254;
/// The highest a single file status adds.
const FILE_MAX: i64 = 253;

/// One instance's use of a tracked object: the weight after the per-use
/// `weight W [reverse]` overrode the object's own.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackUse {
    pub name: String,
    /// 0 = the object failing puts the instance in FAULT.
    pub weight: i32,
    /// Inverts the sense: a weight applies when the object is down, and
    /// with weight 0 the instance is FAULT while the object is up.
    #[serde(default)]
    pub reverse: bool,
}

/// What one tracked use does to its instance now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Verdict {
    /// Adds this much to the base priority (may be negative or zero).
    Adjust(i32),
    /// A fault cause: the instance is FAULT while it holds.
    Fault,
    /// A weight-0 script that has not finished its first run: keepalived
    /// keeps the instance out of BACKUP/MASTER (silently) until it has.
    Pending,
}

/// The weighted value of an up/down object (scripts, interfaces,
/// processes): a positive weight is earned while up, a negative one paid
/// while down; `reverse` negates it.
pub fn weighted(weight: i32, reverse: bool, up: bool) -> i32 {
    let applies = if up { weight > 0 } else { weight < 0 };
    match (applies, reverse) {
        (false, _) => 0,
        (true, false) => weight,
        (true, true) => weight.saturating_neg(),
    }
}

/// An up/down object (interface, script that has a result) as seen
/// through one use.
pub fn up_down(u: &TrackUse, up: bool) -> Verdict {
    if u.weight == 0 {
        // keepalived: FAULT when `up != (multiplier == 1)`.
        if up == u.reverse {
            Verdict::Fault
        } else {
            Verdict::Adjust(0)
        }
    } else {
        Verdict::Adjust(weighted(u.weight, u.reverse, up))
    }
}

/// A tracked file's value through one use: value × weight (negated by
/// `reverse`), capped at 253; -254 or lower is FAULT. With weight 0 a
/// non-zero value is FAULT (a zero one with `reverse`).
pub fn file_verdict(u: &TrackUse, value: i64) -> Verdict {
    if u.weight == 0 {
        return if (value != 0) != u.reverse {
            Verdict::Fault
        } else {
            Verdict::Adjust(0)
        };
    }
    let mult: i64 = if u.reverse { -1 } else { 1 };
    let status = value
        .saturating_mul(i64::from(u.weight))
        .saturating_mul(mult);
    if status <= FILE_FAULT {
        Verdict::Fault
    } else {
        // In FILE_FAULT+1..=FILE_MAX, so the conversion cannot fail.
        Verdict::Adjust(i32::try_from(status.min(FILE_MAX)).unwrap_or(0))
    }
}

/// Reads a track file's content as keepalived does (`strtol` with base
/// 0 over the first 127 bytes): leading blanks and a sign, then decimal,
/// `0x` hex or `0` octal digits; no digits at all reads as 0. None = out
/// of keepalived's range (below `i32::MIN` or above `i32::MAX + 1`):
/// keepalived logs and ignores the read, keeping the last value.
pub fn parse_file_value(bytes: &[u8]) -> Option<i64> {
    let text = bytes.get(..bytes.len().min(127)).unwrap_or_default();
    let s = String::from_utf8_lossy(text);
    let s = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..).unwrap_or_default()),
        Some(b'+') => (false, s.get(1..).unwrap_or_default()),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        if h.starts_with(|c: char| c.is_ascii_hexdigit()) {
            (16, h)
        } else {
            (8, "0")
        }
    } else if s.starts_with('0') {
        (8, s)
    } else {
        (10, s)
    };
    let end = digits
        .find(|c: char| !c.is_digit(radix))
        .unwrap_or(digits.len());
    let digits = digits.get(..end).unwrap_or_default();
    if digits.is_empty() {
        return Some(0);
    }
    // Too long for i64 is out of range either way.
    let magnitude = i64::from_str_radix(digits, radix).ok()?;
    let value = if neg { -magnitude } else { magnitude };
    (i64::from(i32::MIN)..=i64::from(i32::MAX) + 1)
        .contains(&value)
        .then_some(value)
}

// ===== vrrp_script =====

/// A `vrrp_script` as the node needs it (the argv, user and timeout are
/// the shell's business: it runs the script and reports the outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptParams {
    pub name: String,
    pub interval: Duration,
    /// Consecutive successes that make a failed script good again.
    pub rise: u32,
    /// Consecutive failures that make a good script fail.
    pub fall: u32,
    /// Start as failed instead of "no result yet".
    #[serde(default)]
    pub init_fail: bool,
}

/// A script's state as the instances see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ScriptHealth {
    /// No run has finished yet (and not `init_fail`).
    Pending,
    Up,
    Down,
}

/// One script's result counter, keepalived's `vscript->result`:
/// `0..rise` is failed (counting successes up to `rise`), `rise..` is
/// good (counting down failures to `rise`), `rise + fall - 1` is "good
/// with all `fall` failures still to go".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptTracker {
    pub params: ScriptParams,
    result: u32,
    health: ScriptHealth,
    /// When the next run starts.
    next_run: Instant,
    /// A run was started and has not reported yet.
    running: bool,
}

impl ScriptTracker {
    /// A tracker whose first run is due at `now` (keepalived runs every
    /// script as soon as it starts).
    pub fn new(params: ScriptParams, now: Instant) -> Self {
        let rise = params.rise.max(1);
        let (result, health) = if params.init_fail {
            (0, ScriptHealth::Down)
        } else {
            // "One success is enough" for the first result.
            (rise - 1, ScriptHealth::Pending)
        };
        Self {
            params,
            result,
            health,
            next_run: now,
            running: false,
        }
    }

    pub fn health(&self) -> ScriptHealth {
        self.health
    }

    pub fn next_run(&self) -> Instant {
        self.next_run
    }

    pub fn running(&self) -> bool {
        self.running
    }

    /// Whether a run should start at `now`; if so, marks it started and
    /// schedules the next one an interval after this one was due. A run
    /// still going at the next tick is not doubled (keepalived logs
    /// "skipping run" there, then starts another copy anyway).
    pub fn due(&mut self, now: Instant) -> bool {
        if now < self.next_run {
            return false;
        }
        // From the due time, not from now, so a late wake-up does not
        // drift the rhythm; never in the past, so a long stall does not
        // fire a burst of catch-up runs.
        let interval = self.params.interval.max(Duration::from_millis(1));
        self.next_run = (self.next_run + interval).max(now);
        if self.next_run == now {
            self.next_run = now + interval;
        }
        if self.running {
            return false;
        }
        self.running = true;
        true
    }

    /// A run ended (`ok`: exit code 0; failure, signal or timeout
    /// otherwise). Returns the new health when it changed.
    pub fn record(&mut self, ok: bool) -> Option<ScriptHealth> {
        self.running = false;
        let rise = self.params.rise.max(1);
        let fall = self.params.fall.max(1);
        let top = rise + fall - 1;
        let before = self.health;
        if ok {
            if self.result < rise - 1 {
                self.result += 1;
            } else {
                self.result = top;
                self.health = ScriptHealth::Up;
            }
        } else if self.result > rise {
            self.result -= 1;
        } else {
            self.result = 0;
            self.health = ScriptHealth::Down;
        }
        (self.health != before).then_some(self.health)
    }

    /// Takes new parameters on reload, keeping the health and re-seating
    /// the counter as keepalived's `clear_diff_script` does: a failed
    /// script keeps the successes it still needs, a good one the failures
    /// it can still take, both within the new rise/fall. So a reload
    /// never dips a priority or flaps a VIP.
    pub fn reconfigure(&mut self, params: ScriptParams) {
        let (old_rise, old_fall) = (self.params.rise.max(1), self.params.fall.max(1));
        let (rise, fall) = (params.rise.max(1), params.fall.max(1));
        let (old_top, top) = (old_rise + old_fall - 1, rise + fall - 1);
        self.result = match self.health {
            ScriptHealth::Pending => rise - 1,
            ScriptHealth::Down if self.result == 0 => 0,
            ScriptHealth::Down => rise.saturating_sub(old_rise.saturating_sub(self.result)),
            ScriptHealth::Up if self.result >= old_top => top,
            ScriptHealth::Up => (rise + self.result.saturating_sub(old_rise)).min(top),
        };
        if params.interval < self.params.interval {
            // A shorter interval takes effect at once.
            self.next_run = self
                .next_run
                .saturating_sub(self.params.interval - params.interval);
        }
        self.params = params;
    }

    /// Through one use.
    pub fn verdict(&self, u: &TrackUse) -> Verdict {
        match self.health {
            ScriptHealth::Pending if u.weight == 0 => Verdict::Pending,
            // A weighted script changes nothing before its first result.
            ScriptHealth::Pending => Verdict::Adjust(0),
            ScriptHealth::Up => up_down(u, true),
            ScriptHealth::Down => up_down(u, false),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn tracker(rise: u32, fall: u32, init_fail: bool) -> ScriptTracker {
        ScriptTracker::new(
            ScriptParams {
                name: "chk".into(),
                interval: Duration::from_secs(1),
                rise,
                fall,
                init_fail,
            },
            Instant::ZERO,
        )
    }

    fn u(weight: i32, reverse: bool) -> TrackUse {
        TrackUse {
            name: "x".into(),
            weight,
            reverse,
        }
    }

    #[test]
    fn first_result_decides_at_once() {
        let mut t = tracker(3, 3, false);
        assert_eq!(t.health(), ScriptHealth::Pending);
        assert_eq!(t.record(true), Some(ScriptHealth::Up));
        let mut t = tracker(3, 3, false);
        assert_eq!(t.record(false), Some(ScriptHealth::Down));
    }

    #[test]
    fn fall_failures_then_rise_successes() {
        let mut t = tracker(2, 3, false);
        t.record(true);
        assert_eq!(t.record(false), None);
        assert_eq!(t.record(false), None);
        assert_eq!(t.record(false), Some(ScriptHealth::Down));
        assert_eq!(t.record(true), None);
        assert_eq!(t.record(true), Some(ScriptHealth::Up));
        // One failure does not undo a fresh rise.
        assert_eq!(t.record(false), None);
        assert_eq!(t.record(true), None);
        assert_eq!(t.health(), ScriptHealth::Up);
    }

    #[test]
    fn init_fail_needs_rise_successes() {
        let mut t = tracker(2, 1, true);
        assert_eq!(t.health(), ScriptHealth::Down);
        assert_eq!(t.record(true), None);
        assert_eq!(t.record(true), Some(ScriptHealth::Up));
    }

    #[test]
    fn weights_as_keepalived_sums_them() {
        assert_eq!(weighted(10, false, true), 10);
        assert_eq!(weighted(10, false, false), 0);
        assert_eq!(weighted(-10, false, false), -10);
        assert_eq!(weighted(-10, false, true), 0);
        assert_eq!(weighted(10, true, true), -10);
        assert_eq!(weighted(-10, true, false), 10);
        assert_eq!(up_down(&u(0, false), false), Verdict::Fault);
        assert_eq!(up_down(&u(0, false), true), Verdict::Adjust(0));
        assert_eq!(up_down(&u(0, true), true), Verdict::Fault);
    }

    #[test]
    fn file_values() {
        assert_eq!(file_verdict(&u(1, false), 5), Verdict::Adjust(5));
        assert_eq!(file_verdict(&u(-2, false), 5), Verdict::Adjust(-10));
        assert_eq!(file_verdict(&u(1, false), -300), Verdict::Fault);
        assert_eq!(file_verdict(&u(1, false), -254), Verdict::Fault);
        assert_eq!(file_verdict(&u(1, false), -253), Verdict::Adjust(-253));
        assert_eq!(file_verdict(&u(1, false), 1000), Verdict::Adjust(253));
        assert_eq!(file_verdict(&u(1, true), 5), Verdict::Adjust(-5));
        assert_eq!(file_verdict(&u(0, false), 3), Verdict::Fault);
        assert_eq!(file_verdict(&u(0, false), 0), Verdict::Adjust(0));
        assert_eq!(file_verdict(&u(0, true), 0), Verdict::Fault);
        assert_eq!(
            file_verdict(&u(i32::MAX, false), i64::MAX),
            Verdict::Adjust(253)
        );
    }

    #[test]
    fn file_parsing_like_strtol() {
        assert_eq!(parse_file_value(b"5\n"), Some(5));
        assert_eq!(parse_file_value(b"  -300"), Some(-300));
        assert_eq!(parse_file_value(b"0x10"), Some(16));
        assert_eq!(parse_file_value(b"010"), Some(8));
        assert_eq!(parse_file_value(b"garbage"), Some(0));
        assert_eq!(parse_file_value(b""), Some(0));
        assert_eq!(parse_file_value(b"12abc"), Some(12));
        assert_eq!(parse_file_value(b"2147483648"), Some(2_147_483_648));
        assert_eq!(parse_file_value(b"2147483649"), None);
        assert_eq!(parse_file_value(b"99999999999999999999999"), None);
    }

    #[test]
    fn reload_keeps_counts_as_keepalived() {
        let mut t = tracker(3, 3, false);
        t.record(true);
        t.record(false); // one failure taken: result 4 of top 5
        t.reconfigure(ScriptParams {
            rise: 2,
            fall: 5,
            ..t.params.clone()
        });
        // keepalived: rise + (4 - 3) = 3; four more failures to go.
        assert_eq!(t.health(), ScriptHealth::Up);
        assert_eq!(t.record(false), None);
        assert_eq!(t.record(false), Some(ScriptHealth::Down));
        t.record(true); // one success of rise 2 counted
        t.reconfigure(ScriptParams {
            rise: 4,
            ..t.params.clone()
        });
        // keepalived: 4 - (2 - 1) = 3 = rise - 1: still one success short.
        assert_eq!(t.record(true), Some(ScriptHealth::Up));
    }

    #[test]
    fn runs_are_not_doubled() {
        let mut t = tracker(1, 1, false);
        assert!(t.due(Instant::ZERO));
        let one = Instant::ZERO + Duration::from_secs(1);
        assert_eq!(t.next_run(), one);
        assert!(!t.due(one), "still running: skipped");
        t.record(true);
        assert!(t.due(one + Duration::from_secs(1)));
    }
}
