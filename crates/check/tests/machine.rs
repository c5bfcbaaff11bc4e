// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The per-checker machine on a virtual clock, one table row per rule of
//! keepalived 2.2.7's scheduling (reference keepalived-checkers.md §3).
//!
//! Each row feeds a list of probe outcomes, each at the moment the
//! machine asks for it (`next_deadline`), and compares the timeline it
//! produced: `"<start s> u<url> <change> <note>"` per run.
//! `mutations_are_caught` breaks the harness on purpose and shows the
//! comparison notices.

use std::time::Duration;

use keepalived_check::machine::{Change, Machine, Note, Outcome, Schedule, Start, Timing};
use keepalived_check::time::Instant;

const S: Outcome = Outcome::Success;
const F: Outcome = Outcome::Failure;
const L: Outcome = Outcome::LocalError;

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// delay_loop 10, retry 2, delay_before_retry 3, warmup 0.
fn timing() -> Timing {
    Timing {
        delay_loop: secs(10.0),
        retry: 2,
        delay_before_retry: secs(3.0),
        warmup: Duration::ZERO,
        alpha: false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    None,
    /// Every run is started 1 ms late.
    LateClock,
    /// The third outcome is reported as a success whatever it was.
    FlipThird,
    /// Changes are not recorded.
    DropChanges,
}

fn change(c: Option<Change>) -> &'static str {
    match c {
        None => "-",
        Some(Change::Up) => "up",
        Some(Change::Down) => "down",
        Some(Change::FirstResult { up: true }) => "first-up",
        Some(Change::FirstResult { up: false }) => "first-down",
    }
}

fn note(n: Note) -> String {
    match n {
        Note::Succeeded => "ok".into(),
        Note::UrlPassed { url } => format!("url{url}-ok"),
        Note::WebSucceeded { .. } => "ok".into(),
        Note::Failed {
            after_retries: None,
        } => "failed".into(),
        Note::Failed {
            after_retries: Some(n),
        } => format!("failed-after-{n}"),
        Note::Retrying { attempt, of } => format!("retry-{attempt}/{of}"),
        Note::StillDown => "still-down".into(),
        Note::LocalError => "local".into(),
        Note::Quiet => "quiet".into(),
    }
}

/// Runs `outcomes`, each run lasting `latency`; returns the timeline.
fn drive(
    m: &mut Machine,
    outcomes: &[Outcome],
    latency: Duration,
    mutation: Mutation,
) -> Vec<String> {
    let mut out = Vec::new();
    let mut clock = Instant::ZERO;
    for (i, o) in outcomes.iter().enumerate() {
        let Some(mut at) = m.next_deadline() else {
            out.push("no deadline".into());
            break;
        };
        // A deadline that passed while the previous run was in flight
        // fires as soon as that run ends.
        at = at.max(clock);
        if mutation == Mutation::LateClock {
            at = at + Duration::from_millis(1);
        }
        let Some(url) = m.start(at) else {
            out.push(format!("{} not started", at.as_micros()));
            break;
        };
        let o = if mutation == Mutation::FlipThird && i == 2 {
            S
        } else {
            *o
        };
        clock = at + latency;
        let step = m.finish(o, latency, clock);
        let c = if mutation == Mutation::DropChanges {
            None
        } else {
            step.change
        };
        out.push(format!(
            "{} u{url} {} {}",
            at.as_micros() as f64 / 1e6,
            change(c),
            note(step.note)
        ));
    }
    if let Some(next) = m.next_deadline() {
        out.push(format!("next {}", next.as_micros() as f64 / 1e6));
    }
    out
}

struct Row {
    name: &'static str,
    timing: Timing,
    schedule: Schedule,
    jitter: f64,
    latency: f64,
    outcomes: &'static [Outcome],
    want: &'static [&'static str],
}

fn rows() -> Vec<Row> {
    let t = timing();
    let alpha = Timing { alpha: true, ..t };
    let retry0 = Timing { retry: 0, ..t };
    let warm = Timing {
        warmup: secs(5.0),
        ..t
    };
    let plain = Schedule::Plain;
    let http2 = Schedule::Http { urls: 2 };
    let row = |name, timing, schedule, outcomes, want| Row {
        name,
        timing,
        schedule,
        jitter: 0.0,
        latency: 0.0,
        outcomes,
        want,
    };
    vec![
        // §3.1: first run at 1 s + jitter, the jitter clamped to warmup.
        Row {
            jitter: 3.0,
            ..row(
                "first run after warmup jitter",
                warm,
                plain,
                &[S],
                &["4 u0 first-up ok", "next 14"],
            )
        },
        Row {
            jitter: 9.0,
            ..row(
                "jitter clamped to warmup",
                warm,
                plain,
                &[S],
                &["6 u0 first-up ok", "next 16"],
            )
        },
        row("warmup 0: first run at 1 s", t, plain, &[], &["next 1"]),
        // §3.2: one failure is enough at a cold start.
        row(
            "cold start: first failure downs",
            t,
            plain,
            &[F],
            &["1 u0 down failed", "next 11"],
        ),
        row(
            "alpha: first failure keeps down, says so",
            alpha,
            plain,
            &[F],
            &["1 u0 first-down failed", "next 11"],
        ),
        // §3.3, §3.5: one success brings up; a non-alpha first success changes nothing.
        row(
            "non-alpha first success",
            t,
            plain,
            &[S, S],
            &["1 u0 first-up ok", "11 u0 - quiet", "next 21"],
        ),
        row(
            "alpha first success brings up",
            alpha,
            plain,
            &[S],
            &["1 u0 up ok", "next 11"],
        ),
        row(
            "no rise count",
            t,
            plain,
            &[F, S],
            &["1 u0 down failed", "11 u0 up ok", "next 21"],
        ),
        // §3.4: an up checker falls at the (retry+1)-th consecutive failure.
        row(
            "falls after retries",
            t,
            plain,
            &[S, F, F, F],
            &[
                "1 u0 first-up ok",
                "11 u0 - retry-1/2",
                "14 u0 - retry-2/2",
                "17 u0 down failed-after-2",
                "next 27",
            ],
        ),
        row(
            "a success resets the retries",
            t,
            plain,
            &[S, F, S, F, F],
            &[
                "1 u0 first-up ok",
                "11 u0 - retry-1/2",
                "14 u0 - quiet",
                "24 u0 - retry-1/2",
                "27 u0 - retry-2/2",
                "next 30",
            ],
        ),
        row(
            "retry 0 falls at once",
            retry0,
            plain,
            &[S, F],
            &["1 u0 first-up ok", "11 u0 down failed", "next 21"],
        ),
        // §3.6 (our choice, keepalived HEAD): a down plain checker is probed every delay_loop.
        row(
            "down: every delay_loop",
            t,
            plain,
            &[F, F, F],
            &[
                "1 u0 down failed",
                "11 u0 - still-down",
                "21 u0 - still-down",
                "next 31",
            ],
        ),
        // §3.7: local errors change nothing.
        row(
            "local error: no change, delay_loop",
            t,
            plain,
            &[S, L, L, F],
            &[
                "1 u0 first-up ok",
                "11 u0 - local",
                "21 u0 - local",
                "31 u0 - retry-1/2",
                "next 34",
            ],
        ),
        row(
            "local error at cold start keeps the arm",
            t,
            plain,
            &[L, F],
            &["1 u0 - local", "11 u0 down failed", "next 21"],
        ),
        // §10.2: HTTP, one URL per run, up after a full clean pass.
        row(
            "http: up after a full pass",
            alpha,
            http2,
            &[S, S, S],
            &["1 u0 - url0-ok", "11 u1 up ok", "21 u0 - quiet", "next 31"],
        ),
        row(
            "http: first failure mid-pass downs",
            t,
            http2,
            &[S, F],
            &["1 u0 - quiet", "11 u1 down failed", "next 21"],
        ),
        row(
            "http: failed URL remembered, retried every max(dbr, delay_loop), recovery pass",
            t,
            http2,
            &[S, S, S, F, F, F, F, S, S, S],
            &[
                "1 u0 - quiet",
                "11 u1 first-up ok",
                "21 u0 - quiet",
                "31 u1 - retry-1/2",
                "34 u1 - retry-2/2",
                "37 u1 down failed-after-2",
                "47 u1 - still-down",
                "57 u1 - url1-ok",
                "67 u0 - url0-ok",
                "77 u1 up ok",
                "next 87",
            ],
        ),
        row(
            "http: a failure in the recovery pass waits delay_before_retry",
            t,
            http2,
            &[F, S, S, F, F, F, S],
            &[
                "1 u0 down failed",
                "11 u0 - url0-ok",
                "21 u0 - url0-ok",
                "31 u1 - still-down",
                "34 u1 - still-down",
                "37 u1 - still-down",
                "47 u1 - url1-ok",
                "next 57",
            ],
        ),
        // §10.4: SMTP resets its retries at every cycle: even at a cold
        // start it falls at the (retry+1)-th failure; while down it
        // replays the retry cycle silently every delay_loop.
        row(
            "smtp: cold start needs retry+1 failures",
            t,
            Schedule::Smtp,
            &[F, F, F, F, F, F, S],
            &[
                "1 u0 - retry-1/2",
                "4 u0 - retry-2/2",
                "7 u0 down failed",
                "17 u0 - still-down",
                "20 u0 - still-down",
                "23 u0 - still-down",
                "33 u0 up ok",
                "next 43",
            ],
        ),
        row(
            "smtp: alpha first verdict after the retries",
            alpha,
            Schedule::Smtp,
            &[F, F, F],
            &[
                "1 u0 - retry-1/2",
                "4 u0 - retry-2/2",
                "7 u0 first-down failed",
                "next 17",
            ],
        ),
        row(
            "smtp: a success in the retries ends the cycle",
            t,
            Schedule::Smtp,
            &[S, F, S, F, F, F],
            &[
                "1 u0 first-up ok",
                "11 u0 - retry-1/2",
                "14 u0 - quiet",
                "24 u0 - retry-1/2",
                "27 u0 - retry-2/2",
                "30 u0 down failed",
                "next 40",
            ],
        ),
        // §10.5: DNS counts its retries on the final line, retry 0 too.
        row(
            "dns: falls after retries",
            t,
            Schedule::Dns,
            &[S, F, F, F, F],
            &[
                "1 u0 first-up ok",
                "11 u0 - retry-1/2",
                "14 u0 - retry-2/2",
                "17 u0 down failed-after-2",
                "27 u0 - still-down",
                "next 37",
            ],
        ),
        row(
            "dns: retry 0 still says after 0 retries",
            retry0,
            Schedule::Dns,
            &[S, F],
            &["1 u0 first-up ok", "11 u0 down failed-after-0", "next 21"],
        ),
        row(
            "file: never runs",
            t,
            Schedule::Passive,
            &[S],
            &["no deadline"],
        ),
        // §10.3: MISC runs count from the previous start, also while retrying.
        Row {
            latency: 0.5,
            ..row(
                "misc: from the previous start",
                t,
                Schedule::Misc,
                &[S, F, F, F, F],
                &[
                    "1 u0 first-up ok",
                    "11 u0 - retry-1/2",
                    "14 u0 - retry-2/2",
                    "17 u0 down failed-after-2",
                    "27 u0 - still-down",
                    "next 37",
                ],
            )
        },
        Row {
            latency: 12.0,
            ..row(
                "misc: an overrunning script runs again at once",
                t,
                Schedule::Misc,
                &[S, S],
                &["1 u0 first-up ok", "13 u0 - quiet", "next 23"],
            )
        },
    ]
}

fn check_rows(mutation: Mutation) -> Vec<String> {
    let mut errors = Vec::new();
    for r in rows() {
        let mut m = Machine::new(
            r.timing,
            r.schedule,
            1,
            Start::Cold,
            Instant::ZERO,
            secs(r.jitter),
        );
        let got = drive(&mut m, r.outcomes, secs(r.latency), mutation);
        if got != r.want {
            errors.push(format!("{}: got {got:?}, want {:?}", r.name, r.want));
        }
    }
    errors
}

#[test]
fn scheduling_rules() {
    let errors = check_rows(Mutation::None);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn mutations_are_caught() {
    for m in [
        Mutation::LateClock,
        Mutation::FlipThird,
        Mutation::DropChanges,
    ] {
        assert!(!check_rows(m).is_empty(), "{m:?} went unnoticed");
    }
}

#[test]
fn misc_dynamic_weight() {
    let mut m = Machine::new(
        timing(),
        Schedule::Misc,
        5,
        Start::Cold,
        Instant::ZERO,
        Duration::ZERO,
    );
    let mut run = |o| {
        let at = m.next_deadline().unwrap_or(Instant::ZERO);
        m.start(at);
        m.finish(o, Duration::ZERO, at).weight
    };
    // Exit 9 -> weight 7, kept relative to the configured 5.
    assert_eq!(run(Outcome::SuccessWithWeight(7)), Some(2));
    assert_eq!(run(Outcome::SuccessWithWeight(7)), None);
    // Exit 0 restores the configured weight.
    assert_eq!(run(Outcome::Success), Some(0));
    assert_eq!(run(Outcome::SuccessWithWeight(1)), Some(-4));
    // Retried failures keep it; the failure that downs drops it.
    assert_eq!(run(F), None);
    assert_eq!(run(F), None);
    assert_eq!(run(F), Some(0));
    assert!(!m.is_up());
}

#[test]
fn reload_keeps_state_and_caps_retries() {
    let t = timing();
    let mut m = Machine::new(
        t,
        Schedule::Plain,
        1,
        Start::Cold,
        Instant::ZERO,
        Duration::ZERO,
    );
    drive(&mut m, &[S, F, F], Duration::ZERO, Mutation::None);
    assert_eq!(m.status().retry_it, 2);
    let now = Instant::from_micros(20_000_000);
    m.migrate(
        Timing {
            retry: 1,
            delay_loop: secs(5.0),
            ..t
        },
        Schedule::Plain,
        now,
        Duration::ZERO,
    );
    let st = m.status();
    assert!(st.up && st.has_run);
    assert_eq!(
        st.retry_it, 0,
        "retry 1: one more failure is the last retry"
    );
    assert_eq!(m.next_deadline(), Some(Instant::from_micros(21_000_000)));
    let got = drive(&mut m, &[F, F], Duration::ZERO, Mutation::None);
    assert_eq!(
        got,
        ["21 u0 - retry-1/1", "24 u0 down failed-after-1", "next 29"]
    );

    // retry 3 after two failures: two are kept, so one more retry remains.
    let mut m = Machine::new(
        t,
        Schedule::Plain,
        1,
        Start::Cold,
        Instant::ZERO,
        Duration::ZERO,
    );
    drive(&mut m, &[S, F, F], Duration::ZERO, Mutation::None);
    m.migrate(
        Timing { retry: 3, ..t },
        Schedule::Plain,
        now,
        Duration::ZERO,
    );
    assert_eq!(m.status().retry_it, 2);

    // A reload-created checker is up and needs its retries, unless armed.
    let mut m = Machine::new(
        Timing { alpha: true, ..t },
        Schedule::Plain,
        1,
        Start::Reload,
        now,
        Duration::ZERO,
    );
    assert!(m.is_up());
    assert_eq!(m.status().retry_it, 0);
    m.arm_one_failure();
    assert!(!m.is_up());
    assert_eq!(m.status().retry_it, 2);
}

#[test]
fn disabled_checker_does_not_run() {
    let mut m = Machine::new(
        timing(),
        Schedule::Plain,
        1,
        Start::Cold,
        Instant::ZERO,
        Duration::ZERO,
    );
    m.set_enabled(false);
    let at = Instant::from_micros(1_000_000);
    assert_eq!(m.start(at), None);
    assert_eq!(m.next_deadline(), Some(Instant::from_micros(11_000_000)));
    m.set_enabled(true);
    assert_eq!(m.start(Instant::from_micros(11_000_000)), Some(0));
    assert_eq!(m.next_deadline(), None, "no deadline while running");
}

#[test]
fn status_is_serde() {
    let m = Machine::new(
        timing(),
        Schedule::Http { urls: 3 },
        1,
        Start::Cold,
        Instant::ZERO,
        Duration::ZERO,
    );
    let json = serde_json::to_string(&m.status()).unwrap_or_default();
    assert!(json.contains("\"retry_it\":2"), "{json}");
    assert!(json.contains("\"url\":0"), "{json}");
}

#[test]
fn file_status_as_track_file_computes_it() {
    use keepalived_check::machine::file_status;
    // Weight 0: any non-zero value is a fault; reversed, zero is.
    assert_eq!(file_status(0, 0, false), Some(0));
    assert_eq!(file_status(3, 0, false), None);
    assert_eq!(file_status(0, 0, true), None);
    assert_eq!(file_status(-1, 0, true), Some(0));
    // Weight W: value x W, negated by reverse; i32::MIN or below is a fault.
    assert_eq!(file_status(5, 2, false), Some(10));
    assert_eq!(file_status(5, 2, true), Some(-10));
    assert_eq!(file_status(i64::from(i32::MIN), 1, false), None);
    assert_eq!(
        file_status(i64::from(i32::MIN) + 1, 1, false),
        Some(i64::from(i32::MIN) + 1)
    );
    assert_eq!(file_status(1 << 40, 1, false), Some(i64::from(i32::MAX)));
    assert_eq!(file_status(-(1 << 40), 1, true), Some(i64::from(i32::MAX)));
    assert_eq!(file_status(1 << 40, 1, true), None);
}

#[test]
fn a_file_checker_follows_its_status() {
    let mut m = Machine::new(
        timing(),
        Schedule::Passive,
        1,
        Start::Cold,
        Instant::ZERO,
        Duration::ZERO,
    );
    assert!(m.is_up() && m.has_run());
    assert_eq!(m.set_file_status(Some(4)), None);
    assert_eq!(m.cur_weight(), 4);
    assert_eq!(m.set_file_status(None), Some(Change::Down));
    assert_eq!(m.cur_weight(), 0);
    assert_eq!(m.set_file_status(Some(0)), Some(Change::Up));
    assert_eq!(m.start(Instant::from_micros(100_000_000)), None);
}
