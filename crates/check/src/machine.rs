// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One checker's up/down machine: keepalived 2.2.7's scheduling and state
//! rules (check_api.c `register_checkers_thread`, check_tcp.c
//! `tcp_epilog`, check_http.c `epilog`, check_misc.c
//! `misc_check_child_thread`, ipwrapper.c `update_svr_checker_state`),
//! driven by (probe outcome, now). No I/O, no clock of its own.
//!
//! ```text
//!   new ──(1 s + jitter ≤ warmup)──▶ due ──start()──▶ running ──finish(outcome)──▶ due at next_deadline()
//! ```
//!
//! The rules, as keepalived has them (reference §3):
//! 1. The first run is at `1 s + uniform(0, warmup)`; the caller draws the
//!    random part, so tests are deterministic.
//! 2. A cold start arms "one failure is enough": `retry_it = retry`, so the
//!    first failure takes the checker down with no retries, alpha or not.
//! 3. A success resets `retry_it`; it brings a down (or never run) checker
//!    up. There is no rise count. The next run is a `delay_loop` later.
//! 4. A failure while up (or never run): below `retry`, one more retry a
//!    `delay_before_retry` later, no state change; at `retry`, the checker
//!    goes down and the next run is a `delay_loop` later. So an up checker
//!    falls at the (retry+1)-th consecutive failure.
//! 5. A local error (the probe could not even be attempted: bind, SO_MARK,
//!    EADDRNOTAVAIL...) changes nothing; the next run is a `delay_loop`
//!    later.
//! 6. A failure while already down, per kind: see [`Schedule`].
//! 7. HTTP/SSL check one URL per run, the next URL a `delay_loop` later;
//!    the checker comes up only after a full clean pass; a URL that failed
//!    for good is remembered and retried every max(delay_before_retry,
//!    delay_loop); when it passes, the pass restarts at the first URL.
//! 8. MISC: the next run counts from the previous run's *start*.
//!
//! Where we differ on purpose (reference §13):
//! * TCP_CHECK while down probes every `delay_loop` (keepalived HEAD); 2.2.7
//!   replays a silent burst of `retry` probes at `delay_before_retry`.
//! * HTTP `fast_recovery` chains URLs with no delay in keepalived (a tight
//!   loop against a server that answers at once); we keep the ordinary
//!   schedule and ignore the option (the daemon says so at start).
//! * A failed MISC run always drops its dynamic weight (keepalived forgets
//!   to when the script was killed by a signal, #2720).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Instant;

/// keepalived's fixed part of the first delay (`TIMER_HZ`).
pub const FIRST_RUN: Duration = Duration::from_secs(1);

/// How a checker kind reschedules (rule 6 and what differs per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// TCP, UDP, PING: a down checker is probed every `delay_loop`.
    Plain,
    /// DNS_CHECK: as [`Schedule::Plain`], but its final failure line
    /// counts the retries whenever the checker has run, `retry 0`
    /// included (check_dns.c `dns_final`: ` after 0 retries`).
    Dns,
    /// SMTP_CHECK (check_smtp.c `smtp_final`, `smtp_start_check_thread`):
    /// every cycle that starts after a `delay_loop` (the first one too)
    /// resets the retries, so keepalived's cold-start "one failure is
    /// enough" never applies and a checker falls at its (retry+1)-th
    /// failure even at start; a down checker replays the whole retry
    /// cycle, silently, every `delay_loop`.
    Smtp,
    /// HTTP_GET / SSL_GET with this many URLs (at least 1).
    Http { urls: u32 },
    /// MISC_CHECK: runs count from the previous start.
    Misc,
    /// FILE_CHECK: never runs; its state follows a tracked file
    /// ([`Machine::set_file_status`]).
    Passive,
}

/// A checker's timing with everything inherited resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    pub delay_loop: Duration,
    pub retry: u32,
    pub delay_before_retry: Duration,
    /// Upper bound of the random part of the first delay.
    pub warmup: Duration,
    pub alpha: bool,
}

/// What one probe run found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    /// Nothing was tried (local bind or socket error): no state change.
    LocalError,
    /// MISC_CHECK `misc_dynamic`: up, with this weight for the real
    /// server (exit status − 2).
    SuccessWithWeight(u32),
}

/// How the machine starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Start {
    /// Daemon start: alpha checkers start down, every checker falls at
    /// its first failure (check_data.c `validate_check_config`).
    Cold,
    /// Created by a reload (a new checker, or a new real server): up, no
    /// retries used. The health book then applies keepalived's real
    /// server rule with [`Machine::arm_one_failure`] (ipwrapper.c
    /// `migrate_checkers`).
    Reload,
}

/// What a finished run changed, for the health book.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Up,
    Down,
    /// The first result equalled the starting state (keepalived's
    /// `update_svr_checker_state` then still fires the real server's
    /// notifies when the checker is alpha or the result a failure).
    FirstResult {
        up: bool,
    },
}

/// What a finished run says, for the log (formatted by the health book,
/// which knows the names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Note {
    /// Came up, or the first run passed.
    Succeeded,
    /// HTTP: one URL passed while the checker is not up.
    UrlPassed {
        url: usize,
    },
    /// HTTP: a full clean pass brought the checker up (or was its first);
    /// `url_line`: the last URL's own success line comes first (the
    /// checker was not up).
    WebSucceeded {
        url_line: Option<usize>,
    },
    /// Went down (or the first run failed); `after_retries` is None on a
    /// first run or with retry 0.
    Failed {
        after_retries: Option<u32>,
    },
    /// A failure that will be retried (keepalived logs these only with
    /// `log_all_failures`).
    Retrying {
        attempt: u32,
        of: u32,
    },
    /// A failure while already down.
    StillDown,
    LocalError,
    /// A success that changed nothing worth a line.
    Quiet,
}

/// The result of [`Machine::finish`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub change: Option<Change>,
    /// The checker's dynamic weight part changed to this.
    pub weight: Option<i64>,
    pub note: Note,
}

/// The last finished run, for status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub outcome: Outcome,
    pub finished: Instant,
    pub latency_us: u64,
}

/// A checker's live state (DESIGN.md "One status model").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerStatus {
    pub up: bool,
    pub has_run: bool,
    pub enabled: bool,
    pub retry_it: u32,
    pub retry: u32,
    pub delay_loop_us: u64,
    pub delay_before_retry_us: u64,
    pub warmup_us: u64,
    pub alpha: bool,
    /// The dynamic part of the real server's weight.
    pub cur_weight: i64,
    /// HTTP: the URL the next run checks, and the one that failed.
    pub url: Option<usize>,
    pub failed_url: Option<usize>,
    pub running: bool,
    pub next_run: Option<Instant>,
    pub last: Option<LastRun>,
    /// Runs, failures and latencies since the checker was created.
    #[serde(default)]
    pub runs: crate::runs::RunStats,
}

/// [`Timing`] as a machine keeps it: microseconds (keepalived's own unit,
/// as the configuration's timers), 32 bytes instead of 56.
#[derive(Debug, Clone, Copy)]
struct PackedTiming {
    delay_loop_us: u64,
    delay_before_retry_us: u64,
    warmup_us: u64,
    retry: u32,
    alpha: bool,
}

impl PackedTiming {
    fn of(t: Timing) -> Self {
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        PackedTiming {
            delay_loop_us: us(t.delay_loop),
            delay_before_retry_us: us(t.delay_before_retry),
            warmup_us: us(t.warmup),
            retry: t.retry,
            alpha: t.alpha,
        }
    }

    fn get(self) -> Timing {
        Timing {
            delay_loop: Duration::from_micros(self.delay_loop_us),
            retry: self.retry,
            delay_before_retry: Duration::from_micros(self.delay_before_retry_us),
            warmup: Duration::from_micros(self.warmup_us),
            alpha: self.alpha,
        }
    }
}

/// One per checker, so kept small (issue 10: 304 bytes before, see
/// tests/footprint.rs): timing in microseconds, URL indices in 32 bits,
/// run counts in [`crate::runs::RunCounts`].
#[derive(Debug, Clone)]
pub struct Machine {
    timing: PackedTiming,
    schedule: Schedule,
    /// The real server's configured weight (MISC dynamic weights are kept
    /// relative to it, as keepalived's `cur_weight`).
    base_weight: u32,
    up: bool,
    has_run: bool,
    enabled: bool,
    retry_it: u32,
    url: u32,
    failed_url: Option<u32>,
    cur_weight: i64,
    next_run: Instant,
    running: bool,
    last_start: Instant,
    last: Option<LastRun>,
    runs: crate::runs::RunCounts,
    /// SMTP: the next run begins a cycle (it follows a `delay_loop`).
    cycle_start: bool,
}

// ===== impl Machine =====

impl Machine {
    /// A machine whose first run is due at `now + 1 s + jitter`, `jitter`
    /// being the caller's uniform draw in `0..=warmup` (clamped to it).
    pub fn new(
        timing: Timing,
        schedule: Schedule,
        base_weight: u32,
        start: Start,
        now: Instant,
        jitter: Duration,
    ) -> Self {
        let cold = start == Start::Cold;
        // keepalived clears alpha on a FILE_CHECK and counts it as run:
        // its file was read before anything else (check_file.c
        // `add_rs_to_track_files`).
        let passive = schedule == Schedule::Passive;
        Machine {
            timing: PackedTiming::of(timing),
            schedule: sane(schedule),
            base_weight,
            up: passive || !(cold && timing.alpha),
            has_run: passive,
            enabled: true,
            retry_it: if cold { timing.retry } else { 0 },
            url: 0,
            failed_url: None,
            cur_weight: 0,
            next_run: now + FIRST_RUN + jitter.min(timing.warmup),
            running: false,
            last_start: now,
            last: None,
            runs: crate::runs::RunCounts::default(),
            cycle_start: true,
        }
    }

    pub fn is_up(&self) -> bool {
        self.up
    }

    pub fn has_run(&self) -> bool {
        self.has_run
    }

    /// Runs, failures and latencies since the checker was created.
    pub fn runs(&self) -> crate::runs::RunStats {
        self.runs.stats()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub fn timing(&self) -> Timing {
        self.timing.get()
    }

    /// The dynamic part of the real server's weight (keepalived's
    /// `cur_weight`).
    pub fn cur_weight(&self) -> i64 {
        self.cur_weight
    }

    /// When [`Machine::start`] should be called next; None while a run is
    /// in flight.
    pub fn next_deadline(&self) -> Option<Instant> {
        (!self.running && self.schedule != Schedule::Passive).then_some(self.next_run)
    }

    /// Starts a run if one is due: returns the URL index to probe (0 for
    /// kinds without URLs). A disabled checker (`ha_suspend`) is not run
    /// and looks again a `delay_loop` later.
    pub fn start(&mut self, now: Instant) -> Option<usize> {
        if self.running || now < self.next_run {
            return None;
        }
        if self.schedule == Schedule::Passive {
            return None;
        }
        if !self.enabled {
            self.next_run = now + self.timing().delay_loop;
            self.cycle_start = true;
            return None;
        }
        if self.schedule == Schedule::Smtp && self.cycle_start {
            self.retry_it = 0;
        }
        self.running = true;
        self.last_start = now;
        Some(self.url as usize)
    }

    /// `ha_suspend`: a disabled checker keeps its state and does not run.
    pub fn set_enabled(&mut self, enabled: bool) {
        self.enabled = enabled;
    }

    /// When the last run finished (its result taken).
    pub fn last_finished(&self) -> Option<Instant> {
        self.last.map(|l| l.finished)
    }

    /// Feeds the outcome of the run [`Machine::start`] began.
    pub fn finish(&mut self, outcome: Outcome, latency: Duration, now: Instant) -> Step {
        self.running = false;
        match outcome {
            Outcome::LocalError => self.runs.local_error(),
            Outcome::Failure => self.runs.record(true, latency),
            Outcome::Success | Outcome::SuccessWithWeight(_) => self.runs.record(false, latency),
        }
        self.last = Some(LastRun {
            outcome,
            finished: now,
            latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        });
        let was_up = self.up;
        let had_run = self.has_run;
        let step = match outcome {
            Outcome::LocalError => {
                self.next_run = self.after(now, self.timing().delay_loop);
                self.cycle_start = true;
                return Step {
                    change: None,
                    weight: None,
                    note: Note::LocalError,
                };
            }
            Outcome::Success | Outcome::SuccessWithWeight(_) => {
                let weight = self.set_success_weight(outcome);
                let note = match self.schedule {
                    Schedule::Http { urls } => self.http_success(urls),
                    Schedule::Plain
                    | Schedule::Dns
                    | Schedule::Smtp
                    | Schedule::Misc
                    | Schedule::Passive => {
                        self.retry_it = 0;
                        let note = if !self.up || !self.has_run {
                            Note::Succeeded
                        } else {
                            Note::Quiet
                        };
                        self.up = true;
                        self.has_run = true;
                        note
                    }
                };
                let delay = self.timing().delay_loop;
                self.next_run = self.after(now, delay);
                self.cycle_start = true;
                Step {
                    change: None,
                    weight,
                    note,
                }
            }
            Outcome::Failure => match self.schedule {
                Schedule::Http { .. } => self.http_failure(now),
                Schedule::Smtp => self.smtp_failure(now),
                Schedule::Plain | Schedule::Dns | Schedule::Misc | Schedule::Passive => {
                    self.plain_failure(now)
                }
            },
        };
        // A retried failure is not a verdict: keepalived marks the
        // checker as run then, but calls no state handler, so no notify.
        let verdict = !matches!(step.note, Note::Retrying { .. });
        let change = if self.up != was_up {
            Some(if self.up { Change::Up } else { Change::Down })
        } else if !had_run && self.has_run && verdict {
            Some(Change::FirstResult { up: self.up })
        } else {
            None
        };
        Step { change, ..step }
    }

    /// MISC runs count from their start; everything else from the end.
    fn after(&self, now: Instant, delay: Duration) -> Instant {
        match self.schedule {
            Schedule::Misc => self.last_start + delay,
            _ => now + delay,
        }
    }

    fn set_success_weight(&mut self, outcome: Outcome) -> Option<i64> {
        let new = match outcome {
            Outcome::SuccessWithWeight(w) => i64::from(w) - i64::from(self.base_weight),
            _ => 0,
        };
        (new != self.cur_weight).then(|| {
            self.cur_weight = new;
            new
        })
    }

    fn http_success(&mut self, urls: u32) -> Note {
        let passed = self.url as usize;
        self.url += 1;
        self.retry_it = 0;
        // check_http.c logs a URL's success only while the checker is
        // down, whatever has_run says.
        let url_line = (!self.up).then_some(passed);
        let mut note = url_line.map_or(Note::Quiet, |url| Note::UrlPassed { url });
        if self.url >= urls && self.failed_url.is_none() {
            // A full clean pass.
            if !self.up || !self.has_run {
                note = Note::WebSucceeded { url_line };
            }
            self.up = true;
            self.has_run = true;
            self.url = 0;
        } else if self.failed_url.is_some() {
            // The failed URL passes: check them all again from the first.
            self.failed_url = None;
            self.url = 0;
        }
        if !self.has_run {
            self.retry_it = self.timing.retry;
        }
        note
    }

    fn http_failure(&mut self, now: Instant) -> Step {
        let t = self.timing();
        self.retry_it = self.retry_it.saturating_add(1);
        let mut note = if self.up {
            // check_http.c marks the checker as having run at a failure it
            // retries: its final line then says "after N retries".
            if self.retry_it <= t.retry {
                self.has_run = true;
            }
            Note::Retrying {
                attempt: self.retry_it,
                of: t.retry,
            }
        } else {
            Note::StillDown
        };
        if self.retry_it > t.retry {
            if self.up || !self.has_run {
                let after_retries = (self.has_run && t.retry > 0).then_some(self.retry_it - 1);
                note = Note::Failed { after_retries };
                self.up = false;
                self.has_run = true;
            }
            self.failed_url = Some(self.url);
        }
        let delay = if self.failed_url.is_some() {
            t.delay_before_retry.max(t.delay_loop)
        } else {
            t.delay_before_retry
        };
        self.next_run = now + delay;
        Step {
            change: None,
            weight: None,
            note,
        }
    }

    fn plain_failure(&mut self, now: Instant) -> Step {
        let t = self.timing();
        let mut weight = None;
        let (note, delay) = if self.up || !self.has_run {
            if self.retry_it < t.retry {
                self.retry_it += 1;
                // check_tcp.c `tcp_epilog` (UDP, PING, DNS alike) marks
                // the checker as run at a retried failure too: its final
                // line then counts the retries. MISC does not.
                if self.schedule != Schedule::Misc {
                    self.has_run = true;
                }
                let note = Note::Retrying {
                    attempt: self.retry_it,
                    of: t.retry,
                };
                (note, t.delay_before_retry)
            } else {
                let counted = t.retry > 0 || self.schedule == Schedule::Dns;
                let after_retries = (self.has_run && counted).then_some(t.retry);
                self.retry_it = 0;
                self.up = false;
                self.has_run = true;
                if self.cur_weight != 0 {
                    self.cur_weight = 0;
                    weight = Some(0);
                }
                (Note::Failed { after_retries }, t.delay_loop)
            }
        } else {
            (Note::StillDown, t.delay_loop)
        };
        self.next_run = self.after(now, delay);
        Step {
            change: None,
            weight,
            note,
        }
    }

    /// check_smtp.c `smtp_final`: a failure is retried while retries are
    /// left, whatever the state (silently while down); the last one takes
    /// an up (or never run) checker down. keepalived logs the failure's
    /// reason (not a verdict line) on the last try, or on every try with
    /// `log_all_failures`, while the checker is up or has not run.
    fn smtp_failure(&mut self, now: Instant) -> Step {
        let t = self.timing();
        let counts = self.up || !self.has_run;
        let last = self.retry_it >= t.retry;
        let mut note = match (counts, last) {
            (false, _) => Note::StillDown,
            (true, true) => Note::Failed {
                after_retries: None,
            },
            (true, false) => Note::Retrying {
                attempt: self.retry_it + 1,
                of: t.retry,
            },
        };
        self.retry_it = self.retry_it.saturating_add(1);
        if self.retry_it <= t.retry {
            self.next_run = now + t.delay_before_retry;
            self.cycle_start = false;
        } else {
            if counts {
                self.up = false;
                self.has_run = true;
            } else {
                note = Note::StillDown;
            }
            self.next_run = now + t.delay_loop;
            self.cycle_start = true;
        }
        Step {
            change: None,
            weight: None,
            note,
        }
    }

    /// FILE_CHECK: the tracked file's status through this checker (see
    /// [`file_status`]): `None` is a fault (down, no dynamic weight),
    /// `Some(w)` up with `w` added to the real server's weight. Returns
    /// the change, as [`Machine::finish`] would.
    pub fn set_file_status(&mut self, status: Option<i64>) -> Option<Change> {
        let was_up = self.up;
        self.up = status.is_some();
        self.cur_weight = status.unwrap_or(0);
        self.has_run = true;
        (was_up != self.up).then_some(if self.up { Change::Up } else { Change::Down })
    }

    /// A reload kept this checker (same identity): it keeps its state
    /// (up or down once it has run, its URL memory, its dynamic weight) and
    /// takes the new timing. Retries already used stay used, but at most
    /// `retry - 1` of them (one more failure fails it), and none with the
    /// new `retry` 0. An in-flight run is dropped (keepalived cancels every
    /// timer and socket on reload) and the next run is at `now + 1 s +
    /// jitter`, as after every reload.
    pub fn migrate(&mut self, timing: Timing, schedule: Schedule, now: Instant, jitter: Duration) {
        self.retry_it = if self.retry_it > 0 && timing.retry > 0 {
            self.retry_it.min(timing.retry - 1)
        } else {
            0
        };
        if !self.has_run {
            self.up = true;
        }
        let schedule = sane(schedule);
        if let Schedule::Http { urls } = schedule {
            self.url = self.url.min(urls - 1);
            self.failed_url = self.failed_url.filter(|u| *u < urls);
        }
        self.timing = PackedTiming::of(timing);
        self.schedule = schedule;
        self.running = false;
        self.cycle_start = true;
        self.next_run = now + FIRST_RUN + jitter.min(timing.warmup);
    }

    /// Moves the next run `by` later, unless a run is in flight. For the
    /// time the table took after a start or a reload scheduled the
    /// checkers: keepalived schedules them only once its table is in
    /// (check_daemon.c `start_check`: `init_services`, then
    /// `register_checkers_thread`).
    pub fn postpone(&mut self, by: Duration) {
        if !self.running {
            self.next_run = self.next_run + by;
        }
    }

    /// keepalived's reload rule for a real server with a failed checker
    /// (or down with nothing run yet): each of its checkers that has not
    /// run starts down if alpha, and falls at its first failure.
    pub fn arm_one_failure(&mut self) {
        if !self.has_run {
            if self.timing.alpha {
                self.up = false;
            }
            self.retry_it = self.timing.retry;
        }
    }

    /// The configured weight of the real server changed on reload.
    pub fn set_base_weight(&mut self, w: u32) {
        self.base_weight = w;
    }

    pub fn status(&self) -> CheckerStatus {
        let t = self.timing();
        let http = matches!(self.schedule, Schedule::Http { .. });
        let us = |d: Duration| u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        CheckerStatus {
            up: self.up,
            has_run: self.has_run,
            enabled: self.enabled,
            retry_it: self.retry_it,
            retry: t.retry,
            delay_loop_us: us(t.delay_loop),
            delay_before_retry_us: us(t.delay_before_retry),
            warmup_us: us(t.warmup),
            alpha: t.alpha,
            cur_weight: self.cur_weight,
            url: http.then_some(self.url as usize),
            failed_url: self.failed_url.map(|u| u as usize),
            running: self.running,
            next_run: self.next_deadline(),
            last: self.last,
            runs: self.runs.stats(),
        }
    }
}

/// keepalived's `IPVS_WEIGHT_FAULT` (`INT_MIN`): a FILE_CHECK status at
/// or below it is a fault.
pub const FILE_FAULT: i64 = i32::MIN as i64;

/// A tracked file's status through one FILE_CHECK (trackers/track_file.c
/// `update_track_file_status`): with weight 0, a non-zero value is a
/// fault (a zero one with `reverse`); otherwise value × weight, negated
/// by `reverse`, kept within `i32`, a fault at `i32::MIN`. `None` = fault,
/// `Some(w)` = up, with `w` added to the real server's weight.
pub fn file_status(value: i64, weight: i32, reverse: bool) -> Option<i64> {
    if weight == 0 {
        return ((value != 0) == reverse).then_some(0);
    }
    let mult: i64 = if reverse { -1 } else { 1 };
    let status = value
        .saturating_mul(i64::from(weight))
        .saturating_mul(mult)
        .clamp(FILE_FAULT, i64::from(i32::MAX));
    (status > FILE_FAULT).then_some(status)
}

/// An HTTP checker has at least one URL (the configuration drops one
/// without).
fn sane(s: Schedule) -> Schedule {
    match s {
        Schedule::Http { urls } => Schedule::Http { urls: urls.max(1) },
        other => other,
    }
}
