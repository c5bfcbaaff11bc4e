// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Run notify and track scripts without blocking the VRRP child.
//!
//! What the child process gets, following keepalived 2.2.7
//! (`system_call_script`):
//! * the configured argv, exec'd directly (the caller has already decided
//!   between a direct exec and `/bin/sh -c`);
//! * optionally another user: supplementary groups, gid, then uid (in that
//!   order: after setuid we could no longer change groups);
//! * its own process group (`setpgid(0, 0)`), so a timeout can kill the
//!   script *and* everything it started;
//! * the environment variable [`SPAWNED_BY`] = our pid, so whoever cleans
//!   up after a crashed child can find what it started (the scripts and
//!   whatever they left running) in /proc: [`leftovers_of`];
//! * the inherited environment (keepalived does not clear it), minus
//!   `IFS`, `LD_PRELOAD` and `LD_LIBRARY_PATH` (newer keepalived drops
//!   these too), plus any variables the caller adds;
//! * stdin, stdout and stderr on /dev/null;
//! * no signal blocked (the daemon blocks the ones it reads from a
//!   signalfd; keepalived also resets the mask before exec) and every
//!   disposition back to its default.
//!
//! Every run starts in a vfork-like clone ([`crate::spawn`]: no page
//! tables copied, no copy-on-write faults in the daemon's threads until
//! the exec), on the process's spawner thread so that the caller's loop
//! never waits for the exec, with or without a user switch: the new
//! process switches groups, gid and uid itself with raw system calls
//! before the exec. A
//! failure there (or of the exec) is an error of [`spawn`], and the
//! process is already reaped. No PR_SET_PDEATHSIG (keepalived sets none
//! either): a child that stops kills its runs itself, and the supervisor
//! kills what a crashed one left ([`leftovers_of`]).
//!
//! On timeout the group gets SIGTERM, then SIGKILL after `kill_grace`
//! (keepalived: 2 s for track scripts), and the result is
//! [`ScriptOutcome::TimedOut`].

use std::ffi::{OsStr, OsString};
use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use tokio::time::Instant;

use crate::spawn::{Env, Prepared, Program, SpawnError, Spawned, Step, SwitchUser};

/// The identity a script runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups (keepalived sets the user's groups; empty
    /// clears them).
    pub groups: Vec<u32>,
}

/// Everything needed to start one script run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptSpec {
    /// Program and arguments, already split; must not be empty.
    pub argv: Vec<OsString>,
    /// `None`: run as ourselves.
    pub user: Option<ScriptUser>,
    /// Added to the inherited environment.
    pub env: Vec<(OsString, OsString)>,
    /// `None`: wait for ever (notify scripts); `Some`: track scripts.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL to the group after a timeout.
    pub kill_grace: Duration,
    /// Run instead when the kernel cannot execute `argv[0]` (ENOEXEC: a
    /// file without `#!`); each caller says how keepalived hands such a
    /// file to the shell.
    pub noexec_fallback: Option<Vec<OsString>>,
}

impl ScriptSpec {
    /// A spec with keepalived's defaults: no user switch, no timeout, 2 s
    /// grace.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        Self {
            argv: argv.into_iter().map(Into::into).collect(),
            user: None,
            env: Vec::new(),
            timeout: None,
            kill_grace: Duration::from_secs(2),
            noexec_fallback: None,
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptOutcome {
    /// Exited by itself with this code.
    Exited(i32),
    /// Killed by a signal it did not get from our timeout.
    Signaled(i32),
    /// Ran past its timeout; its process group was killed.
    TimedOut,
}

impl ScriptOutcome {
    /// keepalived's rule: only exit code 0 is success.
    pub fn success(self) -> bool {
        self == Self::Exited(0)
    }
}

/// Why a script could not be run.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("empty argv")]
    EmptyArgv,
    /// Not started: before the new process existed, or its exec failed
    /// (ENOENT, EACCES, ENOEXEC for a file without `#!`…).
    #[error("spawn {program:?}: {source}")]
    Spawn {
        program: OsString,
        source: io::Error,
    },
    /// The new process failed to set itself up before exec (a user it
    /// may not switch to…); it has been reaped.
    #[error("spawn {program:?}: {step} in the new process: {source}")]
    Setup {
        program: OsString,
        step: Step,
        source: io::Error,
    },
    #[error("wait for pid {pid}: {source}")]
    Wait { pid: u32, source: io::Error },
}

/// A started script.
#[derive(Debug)]
pub struct RunningScript {
    child: Spawned,
    pid: u32,
    /// When the timeout expires: counted from the start request, as
    /// keepalived counts it from its fork (a start that waited long in
    /// the spawner's queue has that much less time to run).
    deadline: Option<Instant>,
    kill_grace: Duration,
}

/// Asks for a script run now (starts are served in the order they were
/// asked for, on the spawner thread, [`crate::spawn`]); the future
/// resolves once the process has execed, without blocking the caller's
/// thread meanwhile. Dropping it before then cancels the start (a
/// process already started for it is killed and reaped). Must be polled
/// inside a tokio runtime. A script run again and again is better
/// [`ScriptSpec::prepare`]d once.
pub fn spawn(
    spec: &ScriptSpec,
) -> impl Future<Output = Result<RunningScript, ScriptError>> + Send + use<> {
    let started = spec.prepare().map(|p| p.spawn());
    async move { started?.await }
}

/// A script's start built once for all its runs: argv, environment and
/// the PATH walk as the new process reads them, on the thread that
/// prepares it (`crate::spawn`'s prepared starts).
#[derive(Debug, Clone)]
pub struct PreparedScript {
    start: Arc<Prepared>,
    /// For error messages.
    program: Arc<OsStr>,
    timeout: Option<Duration>,
    kill_grace: Duration,
}

impl ScriptSpec {
    /// The start of this script, ready for any number of runs; fails for
    /// what could never start (empty argv, a NUL byte, uid or gid -1).
    pub fn prepare(&self) -> Result<PreparedScript, ScriptError> {
        let program = self.argv.first().ok_or(ScriptError::EmptyArgv)?;
        let mut env = self.env.clone();
        env.push((SPAWNED_BY.into(), std::process::id().to_string().into()));
        let start = Prepared::new(&Program {
            argv: self.argv.clone(),
            env: Env {
                remove: &REMOVED_ENV,
                add: env,
            },
            user: self.user.as_ref().map(|u| SwitchUser {
                uid: u.uid,
                gid: u.gid,
                groups: u.groups.clone(),
            }),
            noexec_fallback: self.noexec_fallback.clone(),
        })
        .map_err(|e| start_error(program, e))?;
        Ok(PreparedScript {
            start: Arc::new(start),
            program: program.as_os_str().into(),
            timeout: self.timeout,
            kill_grace: self.kill_grace,
        })
    }
}

impl PreparedScript {
    /// [`spawn`] of this script: one run.
    pub fn spawn(&self) -> impl Future<Output = Result<RunningScript, ScriptError>> + Send + use<> {
        let requested = Instant::now();
        let deadline = self.timeout.map(|t| requested + t);
        let kill_grace = self.kill_grace;
        let program = self.program.clone();
        let started = crate::spawn::spawn_prepared(self.start.clone());
        async move {
            let child = started.await.map_err(|e| start_error(&program, e))?;
            Ok(RunningScript {
                pid: child.pid(),
                child,
                deadline,
                kill_grace,
            })
        }
    }
}

fn start_error(program: &OsStr, e: SpawnError) -> ScriptError {
    match e {
        SpawnError::Start(source)
        | SpawnError::Child {
            step: Step::Exec,
            source,
        } => ScriptError::Spawn {
            program: program.to_os_string(),
            source,
        },
        SpawnError::Child { step, source } => ScriptError::Setup {
            program: program.to_os_string(),
            step,
            source,
        },
    }
}

/// Variables a script does not inherit (newer keepalived drops them too).
const REMOVED_ENV: [&str; 3] = ["IFS", "LD_PRELOAD", "LD_LIBRARY_PATH"];

impl RunningScript {
    /// The script's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Signal the script's whole process group (e.g. SIGTERM at shutdown).
    pub fn signal_group(&self, signal: Signal) -> io::Result<()> {
        signal_group(self.pid, signal)
    }

    /// Wait for the end, enforcing the timeout.
    pub async fn wait(mut self) -> Result<ScriptOutcome, ScriptError> {
        let pid = self.pid;
        let waited = match self.deadline {
            None => wait_child(&mut self.child).await,
            Some(at) => match tokio::time::timeout_at(at, wait_child(&mut self.child)).await {
                Ok(status) => status,
                Err(_elapsed) => {
                    self.kill_after_timeout().await;
                    return Ok(ScriptOutcome::TimedOut);
                }
            },
        };
        waited.map_err(|source| ScriptError::Wait { pid, source })
    }

    async fn kill_after_timeout(&mut self) {
        let pid = self.pid;
        if let Err(e) = signal_group(pid, Signal::SIGTERM) {
            tracing::debug!(pid, error = %e, "SIGTERM to script group");
        }
        let reaped = tokio::time::timeout(self.kill_grace, wait_child(&mut self.child)).await;
        // The leader may be gone while grandchildren still run: the group
        // gets SIGKILL either way (ESRCH when it is already empty).
        if let Err(e) = signal_group(pid, Signal::SIGKILL)
            && e.raw_os_error() != Some(libc::ESRCH)
        {
            tracing::warn!(pid, error = %e, "SIGKILL to script group");
        }
        if reaped.is_err()
            && let Err(e) = wait_child(&mut self.child).await
        {
            tracing::warn!(pid, error = %e, "reaping killed script");
        }
    }
}

async fn wait_child(child: &mut Spawned) -> io::Result<ScriptOutcome> {
    Ok(match child.wait().await? {
        crate::spawn::Ended::Exited(code) => ScriptOutcome::Exited(code),
        crate::spawn::Ended::Signaled(sig) => ScriptOutcome::Signaled(sig),
    })
}

/// Signals the process group a script led (its pid), e.g. to kill what a
/// script left running after it exited. ESRCH when the group is empty.
pub fn signal_process_group(pid: u32, signal: Signal) -> io::Result<()> {
    signal_group(pid, signal)
}

fn signal_group(pid: u32, signal: Signal) -> io::Result<()> {
    let pgid = i32::try_from(pid)
        .ok()
        .filter(|p| *p > 1)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no process group"))?;
    killpg(Pid::from_raw(pgid), signal).map_err(io::Error::from)
}

/// Start a script and wait for its outcome.
pub async fn run(spec: &ScriptSpec) -> Result<ScriptOutcome, ScriptError> {
    spawn(spec).await?.wait().await
}

/// The environment variable every script gets: the pid of the process
/// that started it. Scripts' own children inherit it, so it marks
/// everything a run left behind too.
pub const SPAWNED_BY: &str = "KEEPALIVED_RS_SPAWNED_BY";

/// Every live process whose environment says `spawner` started it (or a
/// script it started), from /proc. For cleaning up after a child that
/// died without stopping its scripts; a process that rewrote its
/// environment escapes. Whether one that called setsid (and so escapes a
/// group kill) is spared too is the caller's choice.
pub fn leftovers_of(spawner: u32) -> Vec<u32> {
    let marker = format!("{SPAWNED_BY}={spawner}");
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes()))
        })
        .collect()
}
