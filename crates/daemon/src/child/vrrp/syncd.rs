// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `lvs_sync_daemon`: the kernel's IPVS connection-sync daemon follows
//! the VRRP instance it names, as keepalived's VRRP process does it:
//! a backup daemon from the instance's start (vrrp_scheduler.c
//! `vrrp_init_state`), switched to master when the instance becomes
//! MASTER (vrrp.c `vrrp_state_become_master`: stop backup, start
//! master) and back when it leaves MASTER (`vrrp_state_leave_master`:
//! stop master, start backup), stopped when the instance stops
//! (vrrp_daemon.c `vrrp_terminate_phase1`). FAULT and INIT count as
//! "not master". Without an instance keepalived's checker process runs
//! master and backup together: the VRRP process leaves it alone.
//!
//! The IPVS calls block (starting or stopping a daemon waits for kernel
//! threads), so they run on a thread of their own, in the order they
//! were asked for: a state change only queues the set of daemons it
//! wants and the VRRP loop goes on. Only the stop waits for the thread
//! (bounded), so that the daemons are gone before we exit.
//!
//! Without IPVS in the kernel keepalived 2.2.7's VRRP process crashes
//! at start-up; we log it and VRRP carries on without the daemon.

use std::sync::mpsc;
use std::time::Duration;

use keepalived_check::globals::{SyncDaemonSpec, sync_daemon_spec};
use keepalived_config::model::global::GlobalDefs;
use keepalived_ipvs::client::Ipvs;
use keepalived_ipvs::model::{Op, SyncDaemon, SyncState};
use keepalived_vrrp::fsm::State;
use keepalived_vrrp::node::Node;
use tokio::sync::oneshot;

use super::instance::Live;

/// Longest the stop waits for the daemons to be stopped (one stop takes
/// some 30 ms); with `notify_stop`'s second it stays within the engine's
/// stop budget.
const SETTLE_WAIT: Duration = Duration::from_millis(1500);

/// The daemons wanted while the tracked instance (VRID `vrid`) is in
/// `state`: master while MASTER, none once stopped, backup otherwise.
pub fn wanted(spec: &SyncDaemonSpec, vrid: u8, state: State) -> Vec<SyncDaemon> {
    match state {
        State::Stop => Vec::new(),
        State::Master => vec![spec.daemon(SyncState::Master, vrid)],
        State::Init | State::Backup | State::Fault => vec![spec.daemon(SyncState::Backup, vrid)],
    }
}

/// The ops that turn the daemons `running` into `wanted`: a daemon that
/// runs with other settings is restarted. Stops come first, so that a
/// switch stops the old role before starting the new one, as keepalived
/// does.
pub fn transition(running: &[SyncDaemon], wanted: &[SyncDaemon]) -> Vec<Op> {
    let mut stops = Vec::new();
    let mut starts = Vec::new();
    for state in [SyncState::Master, SyncState::Backup] {
        let now = running.iter().find(|d| d.state == state);
        let want = wanted.iter().find(|d| d.state == state);
        if now == want {
            continue;
        }
        if now.is_some() {
            stops.push(Op::StopDaemon(state));
        }
        if let Some(w) = want {
            starts.push(Op::StartDaemon(w.clone()));
        }
    }
    stops.extend(starts);
    stops
}

/// What the VRRP engine keeps about the sync daemon.
#[derive(Default)]
pub struct Syncd {
    spec: Option<SyncDaemonSpec>,
    /// The set last handed to the worker.
    asked: Vec<SyncDaemon>,
    worker: Option<Worker>,
}

impl Syncd {
    /// Takes the settings of a (re)loaded configuration; the daemons
    /// change when the instances have been applied ([`Syncd::refresh`]),
    /// or at the tracked instance's first transition.
    pub fn configure(&mut self, g: &GlobalDefs) {
        self.spec = sync_daemon_spec(g);
    }

    /// After an apply: the daemons the tracked instance's current state
    /// calls for (changed settings restart them).
    pub fn refresh(&mut self, insts: &[Live], node: &Node) {
        let Some(spec) = &self.spec else {
            self.want(Vec::new());
            return;
        };
        let Some(name) = spec.instance.clone() else {
            tracing::info!(
                "lvs_sync_daemon names no VRRP instance: the VRRP process does not run it"
            );
            self.want(Vec::new());
            return;
        };
        let found = insts.iter().position(|i| i.conf.name == name);
        match found.and_then(|idx| Some((insts.get(idx)?, node.instance(idx)?))) {
            Some((i, f)) => self.follow(&name, i.identity.vrid, f.state()),
            None => {
                tracing::warn!(
                    "Unable to find vrrp instance {name} for lvs_syncd - clearing lvs_syncd config"
                );
                self.want(Vec::new());
            }
        }
    }

    /// Instance `name` (VRID `vrid`) entered `state`.
    pub fn follow(&mut self, name: &str, vrid: u8, state: State) {
        let Some(spec) = &self.spec else {
            return;
        };
        if spec.instance.as_deref() != Some(name) {
            return;
        }
        let w = wanted(spec, vrid, state);
        self.want(w);
    }

    /// Waits (bounded) until the worker has carried out everything asked
    /// so far.
    pub async fn settle(&mut self) {
        let Some(worker) = &self.worker else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        if worker.jobs.send(Job::Flush(tx)).is_err() {
            return;
        }
        if tokio::time::timeout(SETTLE_WAIT, rx).await.is_err() {
            tracing::warn!("IPVS sync daemon changes still pending after {SETTLE_WAIT:?}");
        }
    }

    fn want(&mut self, w: Vec<SyncDaemon>) {
        if w == self.asked {
            return;
        }
        if self.worker.is_none() {
            self.worker = Worker::spawn();
        }
        let Some(worker) = &self.worker else {
            return;
        };
        if worker.jobs.send(Job::Want(w.clone())).is_ok() {
            self.asked = w;
        } else {
            // The thread is gone: the next change starts another, which
            // reads what runs from the kernel.
            tracing::error!("IPVS sync daemon worker is gone");
            self.worker = None;
        }
    }
}

// ===== the worker thread =====

enum Job {
    Want(Vec<SyncDaemon>),
    Flush(oneshot::Sender<()>),
}

struct Worker {
    jobs: mpsc::Sender<Job>,
}

impl Worker {
    fn spawn() -> Option<Worker> {
        let (jobs, rx) = mpsc::channel();
        match std::thread::Builder::new()
            .name("kalrs_syncd".to_owned())
            .spawn(move || work(&rx))
        {
            Ok(_) => Some(Worker { jobs }),
            Err(e) => {
                tracing::error!("cannot start the IPVS sync daemon worker: {e}");
                None
            }
        }
    }
}

/// Ends when the engine drops its sender.
fn work(jobs: &mpsc::Receiver<Job>) {
    let mut ipvs: Option<Ipvs> = None;
    // None: unknown (start, or after a failure): read from the kernel.
    let mut running: Option<Vec<SyncDaemon>> = None;
    let mut open_failed = false;
    while let Ok(job) = jobs.recv() {
        let w = match job {
            Job::Flush(done) => {
                let _ = done.send(());
                continue;
            }
            Job::Want(w) => w,
        };
        if ipvs.is_none() {
            match Ipvs::open() {
                Ok(i) => ipvs = Some(i),
                Err(e) if !open_failed => {
                    open_failed = true;
                    tracing::error!(
                        "IPVS: Can't initialize ipvs: {e}; lvs_sync_daemon not started, VRRP carries on"
                    );
                }
                Err(e) => tracing::debug!("IPVS still unavailable: {e}"),
            }
        }
        let Some(handle) = ipvs.as_mut() else {
            continue;
        };
        let now = match running.take() {
            Some(r) => r,
            None => handle.daemons().unwrap_or_else(|e| {
                tracing::warn!("IPVS: cannot list the sync daemons: {e}");
                Vec::new()
            }),
        };
        let ops = transition(&now, &w);
        let mut failed = false;
        for (op, r) in ops.iter().zip(handle.apply(&ops)) {
            match r {
                Ok(_) => log_done(op),
                Err(e) => {
                    tracing::warn!("IPVS: {e}");
                    failed = true;
                }
            }
        }
        running = (!failed).then_some(w);
    }
}

fn log_done(op: &Op) {
    match op {
        Op::StartDaemon(d) => tracing::info!(
            "Starting IPVS sync daemon: {} on {}, syncid {}",
            role(d.state),
            d.interface,
            d.sync_id
        ),
        Op::StopDaemon(s) => tracing::info!("Stopping IPVS sync daemon: {}", role(*s)),
        _ => {}
    }
}

fn role(s: SyncState) -> &'static str {
    match s {
        SyncState::Master => "master",
        SyncState::Backup => "backup",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(instance: &str, id: Option<u32>) -> SyncDaemonSpec {
        SyncDaemonSpec {
            interface: "eth1".to_owned(),
            instance: Some(instance.to_owned()),
            sync_id: id,
            max_len: None,
            port: None,
            ttl: None,
            group: None,
        }
    }

    fn daemon(state: SyncState, id: u32) -> SyncDaemon {
        SyncDaemon {
            state,
            interface: "eth1".to_owned(),
            sync_id: id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    #[test]
    fn master_only_while_master() {
        let s = spec("VI_1", Some(7));
        assert_eq!(
            wanted(&s, 51, State::Master),
            vec![daemon(SyncState::Master, 7)]
        );
        for st in [State::Init, State::Backup, State::Fault] {
            assert_eq!(
                wanted(&s, 51, st),
                vec![daemon(SyncState::Backup, 7)],
                "{st:?}"
            );
        }
        assert!(wanted(&s, 51, State::Stop).is_empty());
    }

    #[test]
    fn sync_id_defaults_to_the_vrid() {
        let s = spec("VI_1", None);
        assert_eq!(
            wanted(&s, 51, State::Backup),
            vec![daemon(SyncState::Backup, 51)]
        );
    }

    #[test]
    fn becoming_master_stops_backup_then_starts_master() {
        let ops = transition(
            &[daemon(SyncState::Backup, 7)],
            &[daemon(SyncState::Master, 7)],
        );
        assert_eq!(
            ops,
            vec![
                Op::StopDaemon(SyncState::Backup),
                Op::StartDaemon(daemon(SyncState::Master, 7))
            ]
        );
    }

    #[test]
    fn leaving_master_stops_master_then_starts_backup() {
        let ops = transition(
            &[daemon(SyncState::Master, 7)],
            &[daemon(SyncState::Backup, 7)],
        );
        assert_eq!(
            ops,
            vec![
                Op::StopDaemon(SyncState::Master),
                Op::StartDaemon(daemon(SyncState::Backup, 7))
            ]
        );
    }

    #[test]
    fn start_stop_and_nothing_to_do() {
        let b = daemon(SyncState::Backup, 7);
        assert_eq!(
            transition(&[], std::slice::from_ref(&b)),
            vec![Op::StartDaemon(b.clone())]
        );
        assert_eq!(
            transition(std::slice::from_ref(&b), &[]),
            vec![Op::StopDaemon(SyncState::Backup)]
        );
        assert!(transition(std::slice::from_ref(&b), std::slice::from_ref(&b)).is_empty());
    }

    #[test]
    fn changed_settings_restart_the_daemon() {
        let old = daemon(SyncState::Master, 7);
        let mut new = old.clone();
        new.port = Some(9000);
        assert_eq!(
            transition(&[old], std::slice::from_ref(&new)),
            vec![Op::StopDaemon(SyncState::Master), Op::StartDaemon(new)]
        );
    }

    #[test]
    fn leftovers_are_stopped() {
        // Both roles left by a run that did not stop them; we want backup
        // with our settings: master goes, backup is restarted as ours.
        let mut stale = daemon(SyncState::Backup, 3);
        stale.interface = "eth9".to_owned();
        let ops = transition(
            &[daemon(SyncState::Master, 7), stale],
            &[daemon(SyncState::Backup, 7)],
        );
        assert_eq!(
            ops,
            vec![
                Op::StopDaemon(SyncState::Master),
                Op::StopDaemon(SyncState::Backup),
                Op::StartDaemon(daemon(SyncState::Backup, 7))
            ]
        );
    }

    #[test]
    fn follow_ignores_other_instances_and_dedups() {
        let mut s = Syncd {
            spec: Some(spec("VI_1", Some(7))),
            ..Syncd::default()
        };
        s.follow("VI_2", 52, State::Master);
        assert!(s.asked.is_empty() && s.worker.is_none());
        // Without a worker thread here, `asked` records what would have
        // been queued (the worker starts only on a real change).
        s.asked = vec![daemon(SyncState::Backup, 7)];
        s.worker = None;
        s.follow("VI_1", 51, State::Fault);
        assert!(s.worker.is_none(), "same set: nothing queued");
    }
}
