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
use keepalived_sys::script::{self, PreparedScript, ScriptSpec, ScriptUser};
use keepalived_vrrp::node::ScriptParams;
use nix::sys::signal::Signal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::{mpsc, oneshot};

/// keepalived's grace between SIGTERM and SIGKILL for a timed-out script.
const KILL_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// A start that waited longer than this for the spawner (queue and exec)
/// is logged: it no longer holds the VRRP loop, but it is the time the
/// script lost from its timeout, and says the machine is starved.
const SLOW_SPAWN: std::time::Duration = std::time::Duration::from_millis(20);

/// One finished run.
pub struct ScriptDone {
    pub name: String,
    /// Which run of `name` (a new start replaces an older one's entry).
    run: u64,
    pub ok: bool,
    /// It exited leaving processes in its group, which were killed.
    pub left_behind: bool,
}

/// A run in flight.
struct Run {
    id: u64,
    /// Its pid (and process group), 0 while its start is queued.
    pid: Arc<AtomicU32>,
    /// Tells its task to stop: cancel the start, or kill the group.
    stop: oneshot::Sender<()>,
}

pub struct Scripts {
    /// Each runnable script, with its start built once for every run.
    specs: HashMap<String, (ScriptSpec, PreparedScript)>,
    /// Runs in flight, by script name.
    running: HashMap<String, Run>,
    next_run: u64,
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
            next_run: 0,
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
            )
            .and_then(|spec| {
                let start = spec.prepare().map_err(|e| e.to_string())?;
                Ok((spec, start))
            }) {
                Ok(runnable) => {
                    specs.insert(p.name.clone(), runnable);
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
        self.specs.get(name).map(|(s, _)| s.argv.clone())
    }

    /// Names of the scripts the node may be told to run.
    pub fn configured(&self) -> impl Iterator<Item = &String> {
        self.specs.keys()
    }

    /// Starts one run; a run that cannot start is reported as a failure
    /// through the same channel (the node hears it at the next turn of
    /// the loop, never inside this call). The start itself (the clone
    /// and the wait for the exec) happens on the spawner thread: this
    /// only queues it, and the run's task waits for it.
    pub fn start(&mut self, name: &str) {
        let Some((_, start)) = self.specs.get(name) else {
            return;
        };
        let asked = std::time::Instant::now();
        let starting = start.spawn();
        self.next_run += 1;
        let run = self.next_run;
        let (stop_tx, stop_rx) = oneshot::channel();
        let pid = Arc::new(AtomicU32::new(0));
        self.running.insert(
            name.to_owned(),
            Run {
                id: run,
                pid: pid.clone(),
                stop: stop_tx,
            },
        );
        let tx = self.done_tx.clone();
        let name = name.to_owned();
        tokio::spawn(async move {
            let stop = stopped(stop_rx);
            tokio::pin!(stop);
            let running = tokio::select! {
                r = starting => r,
                // Stopping before the start was served: dropping the
                // start cancels it (or kills and reaps what it started).
                () = &mut stop => return,
            };
            let running = match running {
                Ok(r) => r,
                Err(e) => {
                    tracing::warn!("VRRP_Script({name}) cannot run: {e}");
                    let _ = tx.send(ScriptDone {
                        name,
                        run,
                        ok: false,
                        left_behind: false,
                    });
                    return;
                }
            };
            let took = asked.elapsed();
            if took > SLOW_SPAWN {
                tracing::info!(
                    "VRRP_Script({name}): its start waited {took:?} for the spawner \
                     (the VRRP loop ran meanwhile)"
                );
            }
            let child = running.pid();
            pid.store(child, Ordering::Relaxed);
            let wait = running.wait();
            tokio::pin!(wait);
            let waited = tokio::select! {
                o = &mut wait => o,
                () = &mut stop => {
                    kill_group(&name, child);
                    wait.await
                }
            };
            let mut left_behind = false;
            let ok = match waited {
                Ok(o) => {
                    if let script::ScriptOutcome::TimedOut = o {
                        tracing::info!("VRRP_Script({name}) timed out");
                    } else {
                        if !o.success() {
                            tracing::debug!("VRRP_Script({name}) ended with {o:?}");
                        }
                        left_behind = kill_leftovers(&name, child);
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
                run,
                ok,
                left_behind,
            });
        });
    }

    /// The next finished run (pends for ever when none is running).
    pub async fn next_done(&mut self) -> ScriptDone {
        loop {
            if let Some(d) = self.done_rx.recv().await {
                if self.running.get(&d.name).map(|r| r.id) == Some(d.run) {
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

    /// Kills every run in flight with its process group (stop); a run
    /// whose start is still with the spawner is cancelled (its task
    /// drops the start).
    pub fn kill_all(&mut self) {
        for (name, run) in self.running.drain() {
            let pid = run.pid.load(Ordering::Relaxed);
            if pid != 0 {
                kill_group(&name, pid);
            }
            let _ = run.stop.send(());
        }
    }
}

fn kill_group(name: &str, pid: u32) {
    if let Err(e) = script::signal_process_group(pid, Signal::SIGKILL)
        && e.raw_os_error() != Some(libc::ESRCH)
    {
        tracing::debug!("VRRP_Script({name}): kill group {pid}: {e}");
    }
}

/// Resolves when the run is told to stop; never when its sender is
/// dropped without a word (the run finished and was forgotten).
async fn stopped(rx: oneshot::Receiver<()>) {
    if rx.await.is_err() {
        std::future::pending::<()>().await;
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
    // No shebang: keepalived runs it through the shell.
    let line = argv.join(" ");
    let mut spec = ScriptSpec::new(argv);
    spec.noexec_fallback = Some(vec!["/bin/sh".into(), "-c".into(), line.into()]);
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
