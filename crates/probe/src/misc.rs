// SPDX-License-Identifier: Apache-2.0 OR MIT
//! MISC_CHECK (`check_misc.c`): run the script, judge its exit status.
//!
//! - Exit 0: success. With `misc_dynamic`: 1 is a failure and 2..=255 a
//!   success with weight status − 2; without it any non-zero status fails.
//! - Past misc_timeout the script's process group gets SIGTERM, then
//!   SIGKILL 2 s later (crates/sys's runner); the run is a plain failure,
//!   whatever weight an earlier run gave (no weight drift, keepalived
//!   #2720: the engine drops the dynamic weight on any failure).
//! - stdin, stdout and stderr are /dev/null: output never accumulates.
//! - The start (clone and exec) waits on the spawner thread, not on the
//!   checker's loop (keepalived_sys::spawn); the timeout counts from the
//!   start request, as keepalived's from its fork.
//! - A run whose future is dropped (reload, shutdown) stops its script:
//!   SIGTERM to the group, SIGKILL 2 s later; tokio reaps the child. One
//!   dropped while its start is queued is never started, and one started
//!   meanwhile is killed and reaped by the spawner.
//! - Where we differ on purpose: a script that cannot be started (missing,
//!   not executable) is a local error (state unchanged) instead of
//!   keepalived's silent success; and whatever the script left running
//!   in its process group is killed when it ends, so a script that forks
//!   a daemon does not leave one behind every delay_loop.

use std::time::Duration;

use keepalived_sys::script::{self, ScriptOutcome, ScriptSpec};
use nix::sys::signal::Signal;
use tokio::time::Instant;

use crate::report::{Report, ScriptEnd, Verdict};
use crate::spec::MiscSpec;

/// keepalived's delay between SIGTERM and SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(2);

/// Stops a script whose run is abandoned (the future dropped at a reload
/// or shutdown), as keepalived SIGTERMs running MISC scripts then: SIGTERM
/// to its process group now, SIGKILL 2 s later.
struct StopOnDrop {
    pid: u32,
    armed: bool,
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let pid = self.pid;
        let _ = script::signal_process_group(pid, Signal::SIGTERM);
        // No runtime can be relied on inside drop: a short-lived thread.
        let _ = std::thread::Builder::new()
            .name("misc-stop".into())
            .spawn(move || {
                std::thread::sleep(KILL_GRACE);
                let _ = script::signal_process_group(pid, Signal::SIGKILL);
            });
    }
}

pub async fn run(m: &MiscSpec) -> Report {
    let start = Instant::now();
    let mut spec = ScriptSpec::new(m.argv.iter().map(String::as_str));
    spec.user = m.user.clone();
    spec.timeout = Some(m.timeout);
    spec.kill_grace = KILL_GRACE;
    // A file the kernel cannot execute directly (no `#!`): keepalived
    // hands it to the shell.
    spec.noexec_fallback = Some(
        std::iter::once("/bin/sh".into())
            .chain(spec.argv.iter().cloned())
            .collect(),
    );
    // The start waits on the spawner thread, not on the checker's loop;
    // dropping this future while it waits cancels it.
    let running = match script::spawn(&spec).await {
        Ok(r) => r,
        Err(e) => {
            return Report::new(Verdict::LocalError, start.elapsed(), "cannot be started")
                .with_cause(e);
        }
    };
    let pid = running.pid();
    let mut guard = StopOnDrop { pid, armed: true };
    let outcome = running.wait().await;
    guard.armed = false;
    // Leftovers of the script's process group (a daemon it forked).
    if let Err(e) = script::signal_process_group(pid, Signal::SIGKILL)
        && e.raw_os_error() != Some(libc::ESRCH)
    {
        tracing::debug!(pid, error = %e, "SIGKILL to the script's process group");
    }
    let elapsed = start.elapsed();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            return Report::new(Verdict::LocalError, elapsed, "lost").with_cause(e);
        }
    };
    let (verdict, detail, end) = match outcome {
        ScriptOutcome::Exited(0) => (Verdict::Success, "succeeded", ScriptEnd::Exited(0)),
        ScriptOutcome::Exited(code) if m.dynamic && (2..=255).contains(&code) => (
            Verdict::SuccessWithWeight(code.unsigned_abs() - 2),
            "succeeded",
            ScriptEnd::Exited(code),
        ),
        ScriptOutcome::Exited(code) => (Verdict::Failure, "failed", ScriptEnd::Exited(code)),
        ScriptOutcome::Signaled(sig) => (Verdict::Failure, "failed", ScriptEnd::Signaled(sig)),
        ScriptOutcome::TimedOut => (Verdict::Failure, "timed out", ScriptEnd::TimedOut),
    };
    let mut report = Report::new(verdict, elapsed, detail);
    report.script = Some(end);
    report
}
