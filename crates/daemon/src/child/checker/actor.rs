// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child's actor: the health pool, the probes in flight, the
//! IPVS client and the notifiers, driven by commands, probe reports and
//! the pool's deadlines (see the module above for the task picture).
//!
//! IPVS. At start the kernel is dumped once: entries we would add that are
//! already there are adopted (a restart with `-I` rebuilds nothing), and
//! `lvs_flush` starts from an empty table. After that everything is planned
//! against what we last programmed (the pool's belief), not against a
//! fresh dump: a reload costs only the ops of its diff, a health change
//! only the ops of its virtual server. Every op that fails is logged with
//! the service or destination it concerns; the others still happen, and
//! the kernel is dumped again and the whole table planned once more
//! against it, so that what failed is retried.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keepalived_check::effect::{Effect, Launch};
use keepalived_check::globals::{self, SyncDaemonSpec};
use keepalived_check::reconcile::Pool;
use keepalived_check::resolve::{self, Names};
use keepalived_check::suspend::LocalAddrs;
use keepalived_check::time::Instant as CheckInstant;
use keepalived_config::Config;
use keepalived_config::model::checker::Checker;
use keepalived_ipvs::client::Ipvs;
use keepalived_ipvs::error::{Applied, OpError};
use keepalived_ipvs::model::{Op, SyncState, Table, Timeouts};
use keepalived_ipvs::planner::{self, Owned, PlanOptions};
use keepalived_probe::Report;
use keepalived_sys::addr_events::{AddrEvents, AddrNotice};
use tokio::sync::mpsc;
use tokio::task::JoinSet;

use super::Cmd;
use super::announce::VsAnnounces;
use super::effects::{self, Notifier};
use super::ping;
use super::probes::{self, Jitter, ProbeIdentify, Specs};
use super::refused::Refused;
use super::resolver::{self, Resolver, Update};
use super::resolver_state;
use crate::child::notices;
use crate::child::report;
use crate::child::track_files::Files;
use crate::exit;
use crate::logging;
use crate::proto::{DumpKind, SUMMARY_CAP, StatusAsk, StatusView};

/// The pool's clock: microseconds since the actor started.
struct Clock {
    epoch: tokio::time::Instant,
}

/// How many of the pool's effects run between two yields of the loop.
const EFFECTS_PER_SLICE: usize = 256;

impl Clock {
    fn now(&self) -> CheckInstant {
        CheckInstant::from_micros(
            u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX),
        )
    }

    fn at(&self, t: CheckInstant) -> tokio::time::Instant {
        self.epoch + Duration::from_micros(t.as_micros())
    }
}

/// What woke the actor.
enum Wake {
    Cmd(Option<Cmd>),
    /// A track file a FILE_CHECK follows changed.
    File(String),
    Probe(Result<(tokio::task::Id, (Launch, Report)), tokio::task::JoinError>),
    Timer,
    Addr(Option<AddrNotice>),
    /// A name's lookup finished.
    Resolved(Update),
}

pub struct Actor {
    /// `-I`: leave the table as it is on stop.
    keep_on_stop: bool,
    ipvs: Option<Ipvs>,
    /// The configuration in force as the pool keeps it (the same `Arc`):
    /// without its checkers' model, which only building the pool reads
    /// ([`Pool::release_build_model`]).
    config: Option<Arc<Config>>,
    /// What the next reload's summary compares against, taken from the
    /// configuration in force while it was whole.
    outline: report::Outline,
    generation: u64,
    /// The health of every checker, real and virtual server, and what we
    /// believe the kernel holds of ours (its services are the ones we own,
    /// see the planner's ownership rule).
    pool: Option<Pool>,
    /// An op failed: the belief may be wrong, dump before the next plan.
    resync: bool,
    timeouts: Option<Timeouts>,
    /// `lvs_sync_daemon` naming no VRRP instance: keepalived's checker
    /// then runs a master and a backup daemon together (with a named
    /// instance the VRRP child runs it). The settings last started.
    syncd: Option<SyncDaemonSpec>,
    /// Share key -> probe spec, for the current configuration.
    specs: Specs,
    probes: JoinSet<(Launch, Report)>,
    /// Each probe task's launch, to answer for a task that panicked.
    launched: HashMap<tokio::task::Id, Launch>,
    /// The most probes in flight since the heap was last trimmed.
    burst: usize,
    notifier: Notifier,
    clock: Clock,
    jitter: Jitter,
    /// IPVS ops since the child started: (applied or already so, failed).
    ipvs_ops: (u64, u64),
    /// Services the kernel refused to create, for the status.
    refused: Refused,
    /// The track files FILE_CHECKs follow (shared with the VRRP child's
    /// track_file watching).
    files: Files,
    /// `ping_group_range` as found before we widened it for PING_CHECK.
    ping_range: Option<(u32, u32)>,
    /// `KEEPALIVED_RS_IPVS_DRY=1`: every IPVS op succeeds without a
    /// kernel, so the checker can be profiled (callgrind, heaptrack) on a
    /// host without IPVS. Not for production: the table is not touched.
    dry: bool,
    /// `KEEPALIVED_RS_IPVS_DRY_OPS=<file>` (with `KEEPALIVED_RS_IPVS_DRY`):
    /// every op is appended there, one per line, each batch closed by an
    /// empty line, so a test can see what the child would have sent.
    dry_ops: Option<std::path::PathBuf>,
    /// The namespace's address changes, followed once a virtual server
    /// uses `ha_suspend` (keepalived opens its netlink socket then).
    addr_events: Option<mpsc::UnboundedReceiver<AddrNotice>>,
    /// The configuration as the supervisor sent it, kept whole while it
    /// names real servers by DNS (a name's new addresses rebuild the pool
    /// from it); `config` is this one with their current addresses
    /// written in.
    base: Option<Arc<Config>>,
    /// Each name's last status (its current addresses with it).
    names: Names,
    resolver: Option<Resolver>,
    resolved_tx: mpsc::UnboundedSender<Update>,
    resolved_rx: mpsc::UnboundedReceiver<Update>,
    /// Virtual servers' `announce` routes (keepalived-rs extension).
    announces: VsAnnounces,
}

/// Batches up to this many IPVS ops run on the actor's thread; bigger
/// ones (a start, a reload) on a blocking thread, so that they do not
/// stall the probes.
const INLINE_OPS: usize = 16;

/// Counts the results of one batch and logs each failure.
fn tally(
    outcome: &mut Outcome,
    refused: &mut Refused,
    results: Vec<Result<Applied, OpError>>,
    ops: Vec<Op>,
) {
    for (r, op) in results.into_iter().zip(ops) {
        refused.record(&op, r.as_ref().err());
        match r {
            Ok(Applied::Done) => outcome.done += 1,
            Ok(Applied::AlreadyThere | Applied::AlreadyGone) => outcome.already += 1,
            Err(e) => {
                log_failure(&e);
                outcome.failed.push(op);
            }
        }
    }
}

/// How one batch went, for the log and the summary.
#[derive(Debug, Default)]
struct Outcome {
    done: usize,
    already: usize,
    /// The ops that failed (or whose fate is unknown).
    failed: Vec<Op>,
}

impl Actor {
    pub fn new(keep_on_stop: bool) -> Self {
        let (resolved_tx, resolved_rx) = mpsc::unbounded_channel();
        Actor {
            keep_on_stop,
            ipvs: None,
            config: None,
            outline: report::Outline::default(),
            generation: 0,
            pool: None,
            resync: false,
            timeouts: None,
            syncd: None,
            specs: Specs::default(),
            probes: JoinSet::new(),
            launched: HashMap::new(),
            burst: 0,
            notifier: Notifier::default(),
            clock: Clock {
                epoch: tokio::time::Instant::now(),
            },
            jitter: Jitter::new(),
            ipvs_ops: (0, 0),
            refused: Refused::default(),
            files: Files::default(),
            ping_range: None,
            dry: std::env::var_os("KEEPALIVED_RS_IPVS_DRY").is_some_and(|v| v == "1"),
            dry_ops: std::env::var_os("KEEPALIVED_RS_IPVS_DRY_OPS").map(Into::into),
            addr_events: None,
            base: None,
            names: Names::default(),
            resolver: None,
            resolved_tx,
            resolved_rx,
            announces: VsAnnounces::default(),
        }
    }

    /// Serves commands, probe reports and deadlines until told to stop
    /// (or the shell is gone); returns the child's exit code.
    pub async fn run(mut self, mut cmds: mpsc::Receiver<Cmd>) -> u8 {
        // One timer, moved only when the pool's next deadline moves: most
        // wake-ups (a probe's result) leave it where it was, and a new
        // sleep each time would register and drop a timer entry each time.
        let timer = tokio::time::sleep_until(self.clock.epoch);
        tokio::pin!(timer);
        let mut armed: Option<tokio::time::Instant> = None;
        loop {
            let wake_at = self
                .pool
                .as_mut()
                .and_then(Pool::next_deadline)
                .map(|d| self.clock.at(d));
            if wake_at != armed {
                if let Some(t) = wake_at {
                    timer.as_mut().reset(t);
                }
                armed = wake_at;
            }
            let wake = tokio::select! {
                cmd = cmds.recv() => Wake::Cmd(cmd),
                Some(done) = self.probes.join_next_with_id() => Wake::Probe(done),
                name = self.files.next_changed() => Wake::File(name),
                () = &mut timer, if armed.is_some() => {
                    // Fired: re-armed at the next deadline, whatever it is.
                    armed = None;
                    Wake::Timer
                }
                ev = next_addr(&mut self.addr_events) => Wake::Addr(ev),
                Some(u) = self.resolved_rx.recv() => Wake::Resolved(u),
            };
            match wake {
                Wake::Cmd(None) => {
                    self.stop().await;
                    return exit::OK;
                }
                Wake::Cmd(Some(Cmd::Apply {
                    config,
                    generation,
                    reply,
                })) => {
                    let result = self.apply(config, generation).await;
                    let fatal = result.as_ref().err().copied();
                    let _ = reply.send(result);
                    if let Some(code) = fatal {
                        return code;
                    }
                }
                Wake::Cmd(Some(Cmd::Dump { what, reply })) => {
                    self.dump(what);
                    let _ = reply.send(());
                }
                Wake::Cmd(Some(Cmd::Status { ask, reply })) => {
                    let _ = reply.send(self.status(&ask));
                }
                Wake::Cmd(Some(Cmd::Stop { reply })) => {
                    self.stop().await;
                    let _ = reply.send(());
                    // The child exits next: its memory goes back to the
                    // kernel whole, where freeing the pool entry by entry
                    // took a quarter of a 100 000-checker stop's CPU.
                    // Nothing here needs dropping (sockets and FIFOs close
                    // at exit, the probes were aborted by the stop).
                    std::mem::forget(self);
                    return exit::OK;
                }
                Wake::Probe(Ok((id, (launch, report)))) => {
                    self.launched.remove(&id);
                    self.after_burst();
                    let now = self.clock.now();
                    if let Some(pool) = self.pool.as_mut() {
                        let out = pool.result(
                            &launch,
                            probes::outcome(report.verdict),
                            report.elapsed,
                            &probes::detail(&report),
                            now,
                        );
                        self.execute(out).await;
                    }
                }
                Wake::Probe(Err(e)) => {
                    // Aborted by a reload or stop: its result is not
                    // wanted. Panicked: its checkers get a local error
                    // (state unchanged, next run a delay_loop later)
                    // instead of waiting for ever.
                    let launch = self.launched.remove(&e.id());
                    if let (false, Some(launch), Some(pool)) =
                        (e.is_cancelled(), launch, self.pool.as_mut())
                    {
                        tracing::error!("health check task failed: {e}");
                        let now = self.clock.now();
                        let out = pool.result(
                            &launch,
                            keepalived_check::machine::Outcome::LocalError,
                            Duration::ZERO,
                            "probe task failed",
                            now,
                        );
                        self.execute(out).await;
                    }
                }
                Wake::File(name) => {
                    // Out of range: logged by the read, the last value
                    // stays (keepalived).
                    if let (Some(value), Some(pool)) = (self.files.read(&name), self.pool.as_mut())
                    {
                        let out = pool.file_changed(&name, value);
                        self.execute(out).await;
                    }
                }
                Wake::Addr(Some(AddrNotice::Changed(ev))) => {
                    if let Some(pool) = self.pool.as_mut() {
                        let out = pool.address(ev.info.addr, ev.info.ifindex, ev.present);
                        self.execute(out).await;
                    }
                }
                Wake::Addr(Some(AddrNotice::Lost)) => self.reread_addresses().await,
                Wake::Addr(None) => {
                    tracing::error!("ha_suspend: the address notifications ended");
                    self.addr_events = None;
                }
                Wake::Resolved(u) => {
                    if let Err(code) = self.resolved(u).await {
                        return code;
                    }
                }
                Wake::Timer => {
                    let now = self.clock.now();
                    if let Some(pool) = self.pool.as_mut() {
                        let out = pool.poll(now);
                        self.execute(out).await;
                    }
                }
            }
        }
    }

    /// Carries out what the pool returned, in order; consecutive IPVS ops
    /// go as one batch.
    async fn execute(&mut self, out: Vec<Effect>) {
        let mut batch: Vec<Op> = Vec::new();
        // A start or stop with 100 000 real servers returns as many lines:
        // written a slice at a time, not one system call each (one each
        // made a 100 000-checker stop outlast child_wait_time). Flushed
        // before every wait, and let go over an IPVS batch (seconds at
        // start in a slow VM), so nothing logged meanwhile is held up.
        let mut lines = logging::hold();
        for (i, e) in out.into_iter().enumerate() {
            // A start with 100 000 checkers returns as many log lines and
            // launches: let the heartbeat (and the probes) run between
            // slices, or the watchdog takes a loop that is working through
            // them for a stalled one (seen in the VM: no heartbeat for
            // 10.5 s, the child killed and restarted mid-start).
            if i % EFFECTS_PER_SLICE == EFFECTS_PER_SLICE - 1 {
                lines.flush();
                tokio::task::yield_now().await;
            }
            if let Effect::Ipvs(op) = e {
                batch.push(op);
                continue;
            }
            if !batch.is_empty() {
                drop(lines);
                self.health_ops(std::mem::take(&mut batch)).await;
                lines = logging::hold();
            }
            match e {
                Effect::Ipvs(_) => {}
                Effect::Log { level, line } => effects::log(level, &line),
                Effect::Script { command, stopping } => self.notifier.script(&command, stopping),
                Effect::Fifo(line) => self.notifier.fifo(&line),
                Effect::Probe(launch) => self.launch(launch),
            }
        }
        drop(lines);
        if !batch.is_empty() {
            self.health_ops(batch).await;
        }
        // Routes follow the quorum the effects just moved.
        if let Some(pool) = self.pool.as_ref() {
            self.announces.sync(pool).await;
        }
    }

    /// Gives the heap a burst of probes left behind back to the system.
    /// When many checkers fall due together (the first round after a slow
    /// start, a stall), thousands of probe tasks live at once; freed, their
    /// memory sits between long-lived allocations and glibc keeps it.
    /// Trimmed once the burst is over, it costs one heap walk per burst.
    fn after_burst(&mut self) {
        const BIG: usize = 256;
        let now = self.launched.len();
        if self.burst >= BIG && now <= self.burst / 8 {
            keepalived_sys::mem::release_freed_memory();
            self.burst = now;
        }
    }

    fn launch(&mut self, launch: Launch) {
        let Some(spec) = self.specs.get(&launch.share).cloned() else {
            tracing::error!("no probe for {}", launch.share);
            return;
        };
        let task = launch.clone();
        let handle = self.probes.spawn_local(async move {
            let report = keepalived_probe::run_url(&spec, task.url).await;
            (task, report)
        });
        self.launched.insert(handle.id(), launch);
        self.burst = self.burst.max(self.launched.len());
    }

    /// The ops of a health change. When one fails the kernel is dumped and
    /// the whole table planned against it once more.
    async fn health_ops(&mut self, ops: Vec<Op>) {
        if self.open().is_err() {
            return;
        }
        let outcome = self.run_ops(ops).await;
        if outcome.failed.is_empty() {
            return;
        }
        let Some(pool) = self.pool.as_ref() else {
            return;
        };
        let desired = pool.desired();
        let owned = Owned::of(&pool.programmed());
        let Some(ipvs) = self.ipvs.as_mut() else {
            return;
        };
        let current = match ipvs.dump() {
            Ok(t) => t,
            Err(e) => {
                tracing::error!("IPVS: cannot read the kernel's table: {e}");
                self.resync = true;
                return;
            }
        };
        let ops = planner::plan(&desired, &current, &owned, PlanOptions::default());
        let again = self.run_ops(ops).await;
        self.resync = !again.failed.is_empty();
        let believed = believed(desired, &current, &again.failed);
        if let Some(pool) = self.pool.as_mut() {
            pool.set_programmed(believed);
        }
    }

    /// Runs `ops` (a big batch on a blocking thread: it must not stall
    /// the runtime) and logs each failure.
    async fn run_ops(&mut self, ops: Vec<Op>) -> Outcome {
        let outcome = self.apply_ops(ops).await;
        self.ipvs_ops.0 += (outcome.done + outcome.already) as u64;
        self.ipvs_ops.1 += outcome.failed.len() as u64;
        outcome
    }

    async fn apply_ops(&mut self, ops: Vec<Op>) -> Outcome {
        let mut outcome = Outcome::default();
        if ops.is_empty() {
            return outcome;
        }
        if self.dry {
            if let Some(path) = &self.dry_ops {
                record_dry_ops(path, &ops);
            }
            outcome.done = ops.len();
            return outcome;
        }
        let Some(mut ipvs) = self.ipvs.take() else {
            outcome.failed = ops;
            return outcome;
        };
        if ops.len() <= INLINE_OPS {
            // A health change: the kernel handles the request inside our
            // send, so it is done in microseconds; a hop to a blocking
            // thread and back would cost more than the op (milliseconds
            // under load) between the verdict and the kernel.
            let results = ipvs.apply(&ops);
            self.ipvs = Some(ipvs);
            tally(&mut outcome, &mut self.refused, results, ops);
            return outcome;
        }
        let ops = Arc::new(ops);
        let batch = Arc::clone(&ops);
        let joined = tokio::task::spawn_blocking(move || {
            let mut ipvs = ipvs;
            let results = ipvs.apply(&batch);
            (ipvs, results)
        })
        .await;
        // The worker is done with its copy of the Arc either way.
        let ops = Arc::try_unwrap(ops).unwrap_or_else(|shared| (*shared).clone());
        let (ipvs, results) = match joined {
            Ok(x) => x,
            Err(e) => {
                // The fate of every op is unknown, and the socket is gone
                // (the next apply opens a new one).
                tracing::error!("IPVS worker failed: {e}");
                outcome.failed = ops;
                return outcome;
            }
        };
        self.ipvs = Some(ipvs);
        tally(&mut outcome, &mut self.refused, results, ops);
        outcome
    }

    fn open(&mut self) -> Result<(), u8> {
        if self.ipvs.is_some() || self.dry {
            return Ok(());
        }
        match Ipvs::open() {
            Ok(i) => {
                self.ipvs = Some(i);
                Ok(())
            }
            Err(e) => {
                // keepalived's checker exits FATAL (1) here.
                tracing::error!("IPVS: Can't initialize ipvs: {e}");
                Err(exit::FATAL)
            }
        }
    }
}

/// What we own after a batch: the desired table, plus every service
/// whose deletion failed (as `current` had it), so that it stays ours and
/// the next plan or the stop deletes it again. Other failures (an add, a
/// change) need no entry here: the dump the failure triggers shows the
/// next plan what is missing.
fn believed(desired: Table, current: &Table, failed: &[Op]) -> Table {
    let mut table = desired;
    for op in failed {
        if let Op::DelService(key) = op
            && table.services.iter().all(|e| e.service.key != *key)
            && let Some(e) = current.services.iter().find(|e| e.service.key == *key)
        {
            table.services.push(e.clone());
        }
    }
    table
}

/// The next address notice, or never without a subscription.
async fn next_addr(events: &mut Option<mpsc::UnboundedReceiver<AddrNotice>>) -> Option<AddrNotice> {
    match events {
        Some(e) => e.recv().await,
        None => std::future::pending().await,
    }
}

impl Actor {
    /// Subscribes to address changes, then lists the addresses (in that
    /// order, so none is missed). Failing, ha_suspend sees no address and
    /// its checkers stay suspended, which the log says.
    async fn follow_addresses(&mut self) -> LocalAddrs {
        let mut local = LocalAddrs::new();
        match AddrEvents::subscribe() {
            Ok(e) => {
                self.addr_events = Some(notices::forward(e, "addresses (ha_suspend)", |_| true))
            }
            Err(e) => {
                tracing::error!("ha_suspend: cannot follow address changes: {e}");
                return local;
            }
        }
        let listed = match keepalived_sys::netlink::Netlink::new() {
            Ok(nl) => nl.all_addresses().await,
            Err(e) => Err(e),
        };
        match listed {
            Ok(addrs) => {
                for a in addrs {
                    local.update(a.addr, a.ifindex, true);
                }
            }
            Err(e) => tracing::error!("ha_suspend: cannot list the addresses: {e}"),
        }
        local
    }

    /// After lost notifications: the addresses listed again, and what
    /// changed applied to `ha_suspend`.
    async fn reread_addresses(&mut self) {
        let listed = match keepalived_sys::netlink::Netlink::new() {
            Ok(nl) => nl.all_addresses().await,
            Err(e) => Err(e),
        };
        let addrs = match listed {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(
                    "ha_suspend: cannot re-read the addresses after lost notifications: {e}"
                );
                return;
            }
        };
        let held: Vec<_> = addrs.iter().map(|a| (a.addr, a.ifindex)).collect();
        if let Some(pool) = self.pool.as_mut() {
            let out = pool.addresses_reread(&held);
            self.execute(out).await;
        }
    }
}

/// Appends one dry batch to the test's op record (see `Actor::dry_ops`).
fn record_dry_ops(path: &std::path::Path, ops: &[Op]) {
    use std::io::Write;
    let mut text = String::new();
    for op in ops {
        text.push_str(&format!("{op:?}\n"));
    }
    text.push('\n');
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    if let Err(e) = written {
        tracing::error!(
            "IPVS dry run: cannot record the ops in {}: {e}",
            path.display()
        );
    }
}

fn log_failure(e: &OpError) {
    tracing::error!("IPVS: {e}");
}

/// The track files some FILE_CHECK follows.
fn file_checks(config: &Config) -> BTreeSet<String> {
    config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .filter_map(|c| match c {
            Checker::FileCheck(f) => Some(f.track_file.clone()),
            _ => None,
        })
        .collect()
}

/// The SMTP_CHECKs that have `host { }` blocks.
fn smtp_host_blocks(config: &Config) -> impl Iterator<Item = &Checker> {
    config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .filter(|c| matches!(c, Checker::SmtpCheck(s) if !s.host.is_empty()))
}

fn uses_ping(config: &Config) -> bool {
    config
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .any(|c| matches!(c, Checker::PingCheck(_)))
}

fn is_empty(config: &Config) -> bool {
    config.virtual_servers.is_empty()
        && globals::lvs_timeouts(&config.global_defs).is_none()
        && !config.global_defs.lvs_flush
        && checker_syncd(config).is_none()
}

/// The sync daemon settings this child runs: `lvs_sync_daemon` naming no
/// VRRP instance.
fn checker_syncd(config: &Config) -> Option<SyncDaemonSpec> {
    globals::sync_daemon_spec(&config.global_defs).filter(|s| s.instance.is_none())
}

fn stop_syncd() -> [Op; 2] {
    [
        Op::StopDaemon(SyncState::Master),
        Op::StopDaemon(SyncState::Backup),
    ]
}

impl Actor {
    /// A configuration from the supervisor: the names it uses are looked
    /// up (a name kept from the previous one keeps its addresses: the
    /// rule for a reload), then it is applied with their addresses.
    async fn apply(&mut self, config: Arc<Config>, generation: u64) -> Result<String, u8> {
        let lookups = resolve::lookups(&config);
        let resolv_conf = resolver::resolv_conf_for(&lookups);
        let same = self
            .resolver
            .as_ref()
            .is_some_and(|r| r.runs(&lookups, &resolv_conf));
        if !same {
            if let Some(mut r) = self.resolver.take() {
                r.stop();
            }
            self.names.keep(&lookups);
            if !lookups.is_empty() {
                self.resolver = Some(Resolver::start(
                    lookups,
                    resolv_conf,
                    &self.names.addresses(),
                    self.clock.epoch,
                    &self.resolved_tx,
                ));
            }
        }
        let effective = self.names.expand(&config);
        // Without names nothing reads it again: the pool's copy is all.
        self.base = self.resolver.is_some().then_some(config);
        self.apply_effective(effective, generation).await
    }

    /// A name's lookup finished: with it, every status already queued
    /// (names answering together, as at start or when DNS comes back),
    /// so that the configuration is applied once, when `Names` says some
    /// addresses changed.
    async fn resolved(&mut self, first: Update) -> Result<(), u8> {
        let mut changed: Vec<String> = Vec::new();
        let mut next = Some(first);
        while let Some(u) = next {
            let moved = self.names.update(u.key.clone(), u.status);
            if moved && !changed.contains(&u.key.host) {
                changed.push(u.key.host);
            }
            next = self.resolved_rx.try_recv().ok();
        }
        if changed.is_empty() {
            return Ok(());
        }
        let Some(base) = self.base.clone() else {
            return Ok(());
        };
        resolver_state::write(&base.resolvers, &self.names.addresses());
        let effective = self.names.expand(&base);
        let summary = match self.apply_addresses(Arc::clone(&effective)).await {
            Some(s) => s,
            None => self.apply_effective(effective, self.generation).await?,
        };
        tracing::info!(
            "real_server_name {}: addresses changed; {summary}",
            changed.join(", ")
        );
        Ok(())
    }

    /// New addresses of names, on their own path (not a reload): only the
    /// real servers that came or went move, every other checker keeps its
    /// timer and its probe in flight, and the ops are those of the virtual
    /// servers concerned. None when the pool cannot take it that way (no
    /// pool yet, other virtual servers): then it is applied as a reload.
    async fn apply_addresses(&mut self, config: Arc<Config>) -> Option<String> {
        let started = Instant::now();
        let now = self.clock.now();
        let mut ident = ProbeIdentify::default();
        let jitter = &mut self.jitter;
        let mut draw = |w: Duration| jitter.draw(w);
        let out = self.pool.as_mut()?.addresses_changed(
            Arc::clone(&config),
            &mut ident,
            now,
            &mut draw,
        )?;
        self.specs = Specs::from(ident.specs);
        self.outline = report::Outline::of(&config);
        self.keep_running(config);
        let ops = out.iter().filter(|e| matches!(e, Effect::Ipvs(_))).count();
        let before = self.ipvs_ops;
        self.execute(out).await;
        Some(format!(
            "{ops} IPVS ops for the real servers that came or went ({} failed), \
             other checkers undisturbed, in {:.1} ms",
            self.ipvs_ops.1 - before.1,
            started.elapsed().as_secs_f64() * 1e3
        ))
    }

    async fn apply_effective(
        &mut self,
        config: Arc<Config>,
        generation: u64,
    ) -> Result<String, u8> {
        let started = Instant::now();
        let first = self.config.is_none();
        let outline = report::Outline::of(&config);
        let names = self.outline.diff(&outline).summary("virtual servers");
        keepalived_sys::mem::trace_heap(format_args!("outlined"));
        // check_smtp.c `smtp_check_end_handler`, at every read of the
        // configuration; each host still becomes a checker.
        for _ in smtp_host_blocks(&config) {
            tracing::info!(
                "The SMTP_CHECK host block is deprecated. Please define additional checkers."
            );
        }
        // Before the pool reads them: init_file, and the watch.
        let followed = file_checks(&config);
        self.files
            .configure(&config, first, |f| followed.contains(&f.name));
        if self.ping_range.is_none() && uses_ping(&config) {
            self.ping_range = ping::widen_group_range();
        }
        // The health pool: started, or migrated by checker identity.
        let mut local = LocalAddrs::new();
        if self.addr_events.is_none() && config.virtual_servers.iter().any(|v| v.ha_suspend) {
            local = self.follow_addresses().await;
            if let Some(pool) = self.pool.as_mut() {
                // The old configuration has no ha_suspend: no lines.
                for (addr, ifindex) in local.pairs() {
                    pool.address(addr, ifindex, true);
                }
            }
        }
        let now = self.clock.now();
        let mut ident = ProbeIdentify::default();
        let jitter = &mut self.jitter;
        let mut draw = |w: Duration| jitter.draw(w);
        let announced = match self.pool.as_mut() {
            None => {
                let (mut pool, out) =
                    Pool::start_with(Arc::clone(&config), &mut ident, now, &mut draw, local);
                pool.set_debug_lines(tracing::enabled!(tracing::Level::DEBUG));
                self.pool = Some(pool);
                out
            }
            Some(pool) => {
                // keepalived drops every run in flight on reload.
                self.probes.abort_all();
                self.launched.clear();
                pool.reload(Arc::clone(&config), &mut ident, now, &mut draw)
            }
        };
        self.specs = Specs::from(ident.specs);
        keepalived_sys::mem::trace_heap(format_args!("pool built"));
        self.notifier.reconfigure(&config.global_defs);
        let Some(pool) = self.pool.as_ref() else {
            return Err(exit::FATAL);
        };
        let shared = pool.shared_probes();
        if !shared.is_empty() {
            let checkers: usize = shared.iter().map(|(_, n)| n).sum();
            tracing::debug!(
                "{checkers} checkers run {} shared probes (identical target and request)",
                shared.len()
            );
        }
        let programmed = pool.programmed();
        let desired = pool.desired();
        // Nothing to program and nothing programmed: no need for IPVS (a
        // kernel without it is fine then, as for `--all` with no LVS).
        if is_empty(&config) && programmed.services.is_empty() && self.ipvs.is_none() {
            self.apply_announces(&config, first).await;
            self.outline = outline;
            self.keep_running(config);
            self.generation = generation;
            self.execute(announced).await;
            return Ok(format!("{names}; no IPVS work"));
        }
        self.open()?;
        let mut ops = Vec::new();
        if let Some(t) = globals::lvs_timeouts(&config.global_defs)
            && self.timeouts != Some(t)
        {
            ops.push(Op::SetTimeouts(t));
            self.timeouts = Some(t);
        }
        let syncd = checker_syncd(&config);
        if (first && syncd.is_some()) || syncd != self.syncd {
            // Stopped first: changed settings, or (at start) whatever a
            // killed predecessor left running.
            ops.extend(stop_syncd());
            if let Some(spec) = &syncd {
                ops.extend(
                    [SyncState::Master, SyncState::Backup]
                        .map(|state| Op::StartDaemon(spec.daemon(state, 0))),
                );
            }
            self.syncd = syncd;
        }
        // Ours: what we programmed (the planner only deletes services we
        // own that are no longer wanted).
        let owned = Owned::of(&programmed);
        let dumped = !self.dry && (first || self.resync);
        let current = if !dumped {
            programmed
        } else {
            let Some(ipvs) = self.ipvs.as_mut() else {
                return Err(exit::FATAL);
            };
            match ipvs.dump() {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!("IPVS: cannot read the kernel's table: {e}");
                    return Err(exit::FATAL);
                }
            }
        };
        let opts = PlanOptions {
            flush: first && config.global_defs.lvs_flush,
        };
        ops.extend(planner::plan(&desired, &current, &owned, opts));
        let count = ops.len();
        keepalived_sys::mem::trace_heap(format_args!("planned"));
        // What the plan started from, for the summary: after a dump, the
        // kernel's table (a restart with -I finds its table there and
        // adds nothing); otherwise what we believe we programmed.
        let against = format!(
            "{} services and {} real servers {}",
            current.services.len(),
            current
                .services
                .iter()
                .map(|e| e.dests.len())
                .sum::<usize>(),
            if dumped {
                "found in the kernel"
            } else {
                "programmed before"
            }
        );
        let outcome = self.run_ops(ops).await;
        let table_ms = started.elapsed().as_secs_f64() * 1e3;
        keepalived_sys::mem::trace_heap(format_args!("table applied"));
        self.resync = !outcome.failed.is_empty();
        // The schedule counts from the table's end, as keepalived's does,
        // at start and on reload alike (2.2.7's `start_check` applies the
        // diff, `init_services`, before `register_checkers_thread` in
        // both cases).
        let took = self.clock.now() - now;
        if let Some(pool) = self.pool.as_mut() {
            pool.set_programmed(believed(desired, &current, &outcome.failed));
            pool.postpone_runs(took);
        }
        if outcome
            .failed
            .iter()
            .any(|op| matches!(op, Op::SetTimeouts(_) | Op::Flush))
        {
            self.timeouts = None;
        }
        self.apply_announces(&config, first).await;
        self.outline = outline;
        self.keep_running(config);
        self.generation = generation;
        keepalived_sys::mem::trace_heap(format_args!("model released"));
        // The checkers' start lines (one per checker) come after the
        // table, as keepalived's do, and can take longer than it.
        let lines = announced.len();
        self.execute(announced).await;
        keepalived_sys::mem::trace_heap(format_args!("start lines written"));
        Ok(format!(
            "{names}; {count} IPVS ops against {against} ({} done, {} already so, {} failed), \
             table in {table_ms:.1} ms; {lines} start lines and notifications, all done in {:.1} ms",
            outcome.done,
            outcome.already,
            outcome.failed.len(),
            started.elapsed().as_secs_f64() * 1e3
        ))
    }

    /// The live status: every virtual server, real server and checker
    /// (machine state, last result and latency), and which probes are
    /// shared.
    /// The answer to a `status` request in the view it asks for. Only the
    /// detail view walks the whole table; the summary reads the pool's
    /// kept counts, the metrics view a few numbers per real server.
    fn status(&self, ask: &StatusAsk) -> serde_json::Value {
        let ops = serde_json::json!({"applied": self.ipvs_ops.0, "failed": self.ipvs_ops.1});
        let refused = self.refused.to_json();
        let Some(pool) = self.pool.as_ref() else {
            return serde_json::json!({
                "virtual_servers": [],
                "ipvs_ops": ops,
                    "ipvs_refused": refused,
            });
        };
        match ask.view {
            StatusView::Summary if !ask.filtered() => {
                let (announces, announces_more) = self.announces.summary(pool, SUMMARY_CAP);
                return serde_json::json!({
                    "generation": self.generation,
                    "summary": pool.summary(SUMMARY_CAP),
                    "announces": announces,
                    "announces_more": announces_more,
                    "probes_in_flight": self.probes.len(),
                    "ipvs_ops": ops,
                    "ipvs_refused": refused,
                });
            }
            StatusView::Metrics => {
                return serde_json::json!({
                    "metrics": pool.metrics(),
                    "ipvs_ops": ops,
                    "ipvs_refused": refused,
                });
            }
            _ if ask.filtered() => {
                // A filter names what to show in full; without a name for
                // this part, none of its virtual servers.
                let vs = ask.vs.as_deref();
                return serde_json::json!({
                    "generation": self.generation,
                    "virtual_servers": pool.status_of(|name| vs.is_some_and(|w| names_vs(name, w))),
                    "ipvs_ops": ops,
                    "ipvs_refused": refused,
                });
            }
            _ => {}
        }
        let shared: Vec<serde_json::Value> = pool
            .shared_probes()
            .into_iter()
            .map(|(probe, checkers)| serde_json::json!({"probe": probe, "checkers": checkers}))
            .collect();
        let names: Vec<serde_json::Value> = self
            .names
            .statuses()
            .map(|(k, st)| {
                serde_json::json!({
                    "resolvers": k.resolvers,
                    "status": st,
                })
            })
            .collect();
        serde_json::json!({
            "generation": self.generation,
            "virtual_servers": pool.status(),
            "resolved_names": names,
            "shared_probes": shared,
            "probes_in_flight": self.probes.len(),
            "announces": self.announces.status(pool),
            "ipvs_ops": ops,
                    "ipvs_refused": refused,
        })
    }

    fn dump(&mut self, what: DumpKind) {
        if let Some(c) = &self.config {
            let health = self.pool.as_ref().map(Pool::status).unwrap_or_default();
            report::write_dump(what, c, self.generation, &health);
        }
    }

    /// `config` is in force: kept as the pool keeps it, without what only
    /// building the pool needed (at 100 000 TCP_CHECKs, 16 MB).
    fn keep_running(&mut self, config: Arc<Config>) {
        self.config = match self.pool.as_mut() {
            Some(pool) => {
                // The pool's reference must be the last one for the model
                // to be cut where it lies rather than copied.
                drop(config);
                Some(pool.release_build_model())
            }
            None => Some(config),
        };
    }

    async fn apply_announces(&mut self, config: &Config, first: bool) {
        if let Some(pool) = self.pool.as_ref() {
            self.announces.apply(config, pool, first).await;
        }
    }

    /// The table goes first, in one DEL_SERVICE per service (each takes
    /// its destinations with it), and only then the shutdown lines and
    /// omega notifications: at 100 000 real servers those lines alone
    /// outlast child_wait_time on a slow console, and a child killed
    /// before its deletes would leave the whole table in the kernel
    /// (keepalived, which deletes real server by real server as it logs,
    /// does leave it). Probes in flight are dropped, not awaited.
    async fn stop(&mut self) {
        let child_wait = self.config.as_ref().map_or(5, |c| c.root.child_wait_time);
        logging::stop_deadline(Instant::now(), Duration::from_secs(u64::from(child_wait)));
        if let Some(mut r) = self.resolver.take() {
            r.stop();
        }
        self.probes.abort_all();
        self.launched.clear();
        // Drain: the routers stop sending new flows here first, the
        // connections they already sent are served until the IPVS
        // entries go.
        let drain = self.announces.withdraw_for_stop(child_wait).await;
        if drain > Duration::ZERO {
            tracing::info!("VS_Announce: draining for {drain:?} before removing IPVS entries");
            tokio::time::sleep(drain).await;
        }
        let flush_on_stop = self
            .config
            .as_ref()
            .and_then(|c| c.global_defs.lvs_flush_on_stop.as_deref())
            .is_some();
        self.remove_table().await;
        if let Some(pool) = self.pool.as_mut() {
            let out = pool.stop(flush_on_stop);
            self.execute(out).await;
        }
        self.announces.remove_addresses().await;
        self.notifier.wait_stopping().await;
        if let Some(old) = self.ping_range.take() {
            ping::restore_group_range(old);
        }
        logging::report_late_lines();
    }

    async fn remove_table(&mut self) {
        // Dry, there is no client but the ops are counted (and recorded)
        // all the same.
        let open = self.ipvs.is_some() || self.dry;
        // Like keepalived, whatever -I says: the daemons are ours.
        if open && self.syncd.take().is_some() {
            let outcome = self.run_ops(stop_syncd().to_vec()).await;
            if outcome.failed.is_empty() {
                tracing::info!("IPVS: sync daemons stopped");
            }
        }
        if !open || self.keep_on_stop {
            if self.keep_on_stop {
                tracing::info!("IPVS: leaving the table in place (-I)");
            }
            return;
        }
        let started = Instant::now();
        let flush = self
            .config
            .as_ref()
            .is_some_and(|c| c.global_defs.lvs_flush_on_stop.as_deref() == Some("ALL"));
        let ops: Vec<Op> = if flush {
            vec![Op::Flush]
        } else {
            // Deleting a service takes its destinations with it.
            self.pool
                .as_ref()
                .map(Pool::programmed)
                .unwrap_or_default()
                .services
                .iter()
                .map(|e| Op::DelService(e.service.key))
                .collect()
        };
        let count = ops.len();
        let outcome = self.run_ops(ops).await;
        tracing::info!(
            "IPVS: removed what we own: {count} ops ({} failed) in {:.1} ms",
            outcome.failed.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use keepalived_ipvs::model::{Family, Service, ServiceEntry, ServiceKey};

    use super::*;

    fn entry(mark: u32) -> ServiceEntry {
        ServiceEntry {
            service: Service {
                key: ServiceKey::Fwmark {
                    family: Family::Inet,
                    mark,
                },
                scheduler: "rr".to_owned(),
                flags: 0,
                timeout: 0,
                netmask: u32::MAX,
                pe_name: None,
            },
            dests: Vec::new(),
        }
    }

    fn table(marks: &[u32]) -> Table {
        Table {
            services: marks.iter().map(|m| entry(*m)).collect(),
        }
    }

    #[test]
    fn a_service_whose_deletion_failed_stays_ours() {
        let desired = table(&[1]);
        let current = table(&[1, 2, 3]);
        let failed = vec![
            Op::DelService(entry(2).service.key),
            // A failed add is not believed away: the next plan dumps.
            Op::AddService(entry(1).service),
        ];
        let got = believed(desired, &current, &failed);
        assert_eq!(got, table(&[1, 2]));
        // Planned again against a dump that still holds it, it is deleted.
        let ops = planner::plan(
            &table(&[1]),
            &current,
            &Owned::of(&got),
            PlanOptions::default(),
        );
        assert_eq!(ops, vec![Op::DelService(entry(2).service.key)]);
    }

    #[test]
    fn without_failures_the_belief_is_the_desired_table() {
        let got = believed(table(&[1, 4]), &table(&[1, 2]), &[]);
        assert_eq!(got, table(&[1, 4]));
    }
}

/// Whether `wanted` (what a person typed after `--vs`) names the virtual
/// server shown as `name` (`[192.0.2.1]:tcp:80`): its exact name, or
/// the address and port without the protocol, with or without brackets.
fn names_vs(name: &str, wanted: &str) -> bool {
    if name == wanted {
        return true;
    }
    let Some((bracketed, rest)) = name.split_once("]:") else {
        return false;
    };
    let addr = bracketed.trim_start_matches('[');
    let port = rest.rsplit(':').next().unwrap_or(rest);
    wanted == format!("[{addr}]:{port}") || wanted == format!("{addr}:{port}")
}

#[cfg(test)]
mod vs_name_tests {
    use super::names_vs;

    #[test]
    fn a_virtual_server_is_named_with_or_without_protocol_and_brackets() {
        let n = "[192.0.2.1]:tcp:80";
        assert!(names_vs(n, n));
        assert!(names_vs(n, "192.0.2.1:80"));
        assert!(names_vs(n, "[192.0.2.1]:80"));
        assert!(!names_vs(n, "192.0.2.1:8080"));
        assert!(!names_vs(n, "192.0.2.10:80"));
        assert!(names_vs("[2001:db8::1]:udp:53", "[2001:db8::1]:53"));
        assert!(names_vs("FWM 5", "FWM 5"));
        assert!(!names_vs("FWM 5", "5"));
    }
}
