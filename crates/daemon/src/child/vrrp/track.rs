// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The I/O side of tracking: runs `vrrp_script`s when the node says so
//! and reports how they ended, and watches links. What a result means
//! is the node's business (`keepalived_vrrp::node`).
//!
//! Each run is a child in its own process group (`keepalived_sys::script`),
//! stdio on /dev/null (nothing to drain, so a chatty script can never
//! block on a full pipe), killed with its group at `timeout` (SIGTERM,
//! then SIGKILL 2 s later, as keepalived), reaped by a task that sends
//! the outcome back to the core. The user and whether it may run at all
//! are what script security decided (`keepalived_config::security`), with
//! the same rules the supervisor's `-t` applied.

use std::collections::HashMap;

use keepalived_config::Config;
use keepalived_config::diag::{Diagnostics, Loc};
use keepalived_config::host::SystemHost;
use keepalived_config::model::track::VrrpScript;
use keepalived_config::security;
use keepalived_config::types::CommandUse;
use keepalived_sys::script::{self, ScriptError, ScriptSpec, ScriptUser};
use keepalived_vrrp::node::ScriptParams;
use nix::sys::signal::Signal;
use tokio::sync::mpsc;

/// keepalived's grace between SIGTERM and SIGKILL for a timed-out script.
const KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A start slower than this is logged (it delays adverts).
const SLOW_SPAWN: std::time::Duration = std::time::Duration::from_millis(20);

/// One finished run.
pub struct ScriptDone {
    pub name: String,
    /// The run's pid (0 when it could not start).
    pub pid: u32,
    pub ok: bool,
    /// It exited leaving processes in its group, which were killed.
    pub left_behind: bool,
}

pub struct Scripts {
    specs: HashMap<String, ScriptSpec>,
    /// Runs in flight: name -> pid (its process group).
    running: HashMap<String, u32>,
    done_tx: mpsc::UnboundedSender<ScriptDone>,
    done_rx: mpsc::UnboundedReceiver<ScriptDone>,
    /// Scripts already reported for leaving processes behind (once each:
    /// at `interval 1` a log line a second would drown the log).
    reported_leftovers: std::collections::HashSet<String>,
}

impl Default for Scripts {
    fn default() -> Self {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        Self {
            specs: HashMap::new(),
            running: HashMap::new(),
            done_tx,
            done_rx,
            reported_leftovers: Default::default(),
        }
    }
}

impl Scripts {
    /// Takes the scripts of a (re)loaded configuration; returns the ones
    /// the node runs: tracked by some instance and allowed by script
    /// security (keepalived removes the others, with the errors `-t`
    /// already printed).
    pub fn configure(&mut self, config: &Config) -> Vec<ScriptParams> {
        let tracked = keepalived_vrrp::node::config::scripts(config);
        let g = &config.global_defs;
        let mut specs = HashMap::new();
        let mut out = Vec::new();
        for p in tracked {
            let Some(s) = config.vrrp_scripts.iter().find(|s| s.name == p.name) else {
                continue;
            };
            match spec_of(
                s,
                g.enable_script_security,
                g.script_user.as_deref(),
                g.script_group.as_deref(),
            ) {
                Ok(spec) => {
                    specs.insert(p.name.clone(), spec);
                    out.push(p);
                }
                Err(why) => tracing::error!("VRRP_Script({}) not run: {why}", s.name),
            }
        }
        self.specs = specs;
        out
    }

    /// The argv a script runs with (keepalived.json names scripts so).
    pub fn argv(&self, name: &str) -> Option<Vec<std::ffi::OsString>> {
        self.specs.get(name).map(|s| s.argv.clone())
    }

    /// Names of the scripts the node may be told to run.
    pub fn configured(&self) -> impl Iterator<Item = &String> {
        self.specs.keys()
    }

    /// Starts one run; a run that cannot start is reported as a failure
    /// through the same channel (the node hears it at the next turn of
    /// the loop, never inside this call).
    pub fn start(&mut self, name: &str) {
        let Some(spec) = self.specs.get(name) else {
            return;
        };
        let started = std::time::Instant::now();
        let running = match script::spawn(spec) {
            Ok(r) => r,
            Err(ScriptError::Spawn { source, .. })
                if source.raw_os_error() == Some(libc::ENOEXEC) =>
            {
                // No shebang: keepalived runs it through the shell.
                let line = spec
                    .argv
                    .iter()
                    .map(|a| a.to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join(" ");
                let mut sh = spec.clone();
                sh.argv = vec!["/bin/sh".into(), "-c".into(), line.into()];
                match script::spawn(&sh) {
                    Ok(r) => r,
                    Err(e) => return self.failed_to_start(name, &e),
                }
            }
            Err(e) => return self.failed_to_start(name, &e),
        };
        let pid = running.pid();
        // The spawn (a vfork) blocks the protocol's thread until the
        // child has exec'd: on a starved machine that can be long.
        let took = started.elapsed();
        if took > SLOW_SPAWN {
            tracing::info!("VRRP_Script({name}): starting it held the VRRP loop for {took:?}");
        }
        self.running.insert(name.to_owned(), pid);
        let tx = self.done_tx.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            let mut left_behind = false;
            let ok = match running.wait().await {
                Ok(o) => {
                    if let script::ScriptOutcome::TimedOut = o {
                        tracing::info!("VRRP_Script({name}) timed out");
                    } else {
                        if !o.success() {
                            tracing::debug!("VRRP_Script({name}) ended with {o:?}");
                        }
                        left_behind = kill_leftovers(&name, pid);
                    }
                    o.success()
                }
                Err(e) => {
                    tracing::warn!("VRRP_Script({name}): {e}");
                    false
                }
            };
            let _ = tx.send(ScriptDone {
                name,
                pid,
                ok,
                left_behind,
            });
        });
    }

    fn failed_to_start(&mut self, name: &str, e: &ScriptError) {
        tracing::warn!("VRRP_Script({name}) cannot run: {e}");
        let _ = self.done_tx.send(ScriptDone {
            name: name.to_owned(),
            pid: 0,
            ok: false,
            left_behind: false,
        });
    }

    /// The next finished run (pends for ever when none is running).
    pub async fn next_done(&mut self) -> ScriptDone {
        loop {
            if let Some(d) = self.done_rx.recv().await {
                if self.running.get(&d.name) == Some(&d.pid) {
                    self.running.remove(&d.name);
                }
                if d.left_behind && self.reported_leftovers.insert(d.name.clone()) {
                    tracing::warn!(
                        "VRRP_Script({}) exited leaving processes in its process group: \
                         killed them (and will after every run)",
                        d.name
                    );
                }
                return d;
            }
            // Cannot happen: we hold a sender ourselves.
            std::future::pending::<()>().await;
        }
    }

    /// Kills every run in flight with its process group (stop).
    pub fn kill_all(&mut self) {
        for (name, pid) in self.running.drain() {
            let pgid = i32::try_from(pid).unwrap_or(0);
            if pgid > 1
                && let Err(e) =
                    nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), Signal::SIGKILL)
                && e != nix::errno::Errno::ESRCH
            {
                tracing::debug!("VRRP_Script({name}): kill group {pgid}: {e}");
            }
        }
    }
}

/// Kills what a finished run left in its process group (`cmd &` in a
/// script). keepalived 2.2.7 leaves them running, so a script that does
/// this every `interval` piles up processes without bound; a check has
/// no business outliving its verdict. Something that really means to
/// stay (a daemon that called setsid) left the group and is not touched.
/// The group cannot be a newer one: a pgid stays reserved while any
/// member lives, and an empty group gets ESRCH.
fn kill_leftovers(name: &str, pid: u32) -> bool {
    match script::signal_process_group(pid, Signal::SIGKILL) {
        Ok(()) => {
            tracing::debug!("VRRP_Script({name}): killed what run {pid} left behind");
            true
        }
        Err(e) if e.raw_os_error() == Some(libc::ESRCH) => false,
        Err(e) => {
            tracing::debug!("VRRP_Script({name}): kill group {pid}: {e}");
            false
        }
    }
}

/// The runnable form of a `vrrp_script`, or why it must not run.
fn spec_of(
    s: &VrrpScript,
    enabled: bool,
    default_user: Option<&str>,
    default_group: Option<&str>,
) -> Result<ScriptSpec, String> {
    let command = s.script.clone().ok_or("no script")?;
    let argv = command.argv.clone();
    if argv.is_empty() {
        return Err("empty script".into());
    }
    let mut command = command;
    if command.user.is_none() {
        command.user.clone_from(&s.user);
        command.group.clone_from(&s.group);
    }
    let cu = CommandUse {
        command,
        keyword: "script".into(),
        loc: Loc::new("config".into(), 0, 0),
    };
    // The supervisor printed these diagnostics already.
    let mut quiet = Diagnostics::new();
    let verdict = security::check(
        std::slice::from_ref(&cu),
        enabled,
        default_user,
        default_group,
        &SystemHost,
        &mut quiet,
    )
    .into_iter()
    .next()
    .unwrap_or_default();
    if !verdict.runs() {
        return Err(verdict
            .reason
            .unwrap_or_else(|| format!("{:?}", verdict.state)));
    }
    let mut spec = ScriptSpec::new(argv);
    spec.kill_grace = KILL_GRACE;
    spec.timeout = Some(std::time::Duration::from_secs(u64::from(
        s.timeout.unwrap_or(s.interval).max(1),
    )));
    let me = (
        nix::unistd::geteuid().as_raw(),
        nix::unistd::getegid().as_raw(),
    );
    if let (Some(uid), Some(gid)) = (verdict.uid, verdict.gid)
        && (uid, gid) != me
    {
        spec.user = Some(ScriptUser {
            uid,
            gid,
            groups: vec![gid],
        });
    }
    Ok(spec)
}
