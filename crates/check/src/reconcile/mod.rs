// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The reconciler: probe results in, IPVS ops, notifications and
//! keepalived's log lines out, for the virtual servers a result concerns
//! and no others.
//!
//! Ownership. The pool owns the health book (machines, real server and
//! quorum states) and its belief of what the kernel holds for our
//! services (`programmed`). It never reads the kernel: the checker child
//! programs the start-up and reload tables with the planner (against a
//! dump) and hands the result back with [`Pool::set_programmed`]; after
//! that every op the pool returns is planned against its belief and the
//! belief updated as if the op succeeded (a failed op makes the child dump
//! and hand the kernel's table back).
//!
//! Order, per result, as keepalived 2.2.7 does it (ipwrapper.c
//! `update_svr_checker_state` -> `perform_svr_state` ->
//! `update_quorum_state`; reference §4.1, §5):
//! 1. the checker's own line (`TCP connection to ... success.`);
//! 2. a weight change: `Changing weight ...`, its SET_DEST, quorum;
//! 3. the real server's transition line (`Adding service ...`), then its
//!    ops (none while the sorry server stands in), then its notify script
//!    and fifo line;
//! 4. quorum: `Gained/Lost quorum ...`, the sorry server lines, the ops
//!    that swap the pool and the sorry server, then quorum_up/down and the
//!    `VS ... UP|DOWN` fifo line.
//!
//! The ops of a step come from diffing the desired destinations of the
//! services the virtual server has (with every virtual server that shares
//! one of them: keepalived merges two blocks on one service) against the
//! belief; computing them never moves any state.
//!
//! Identical probes run once (`share`): checkers with equal identities
//! probe the same target the same way, so a run already in flight, or one
//! started after a checker's last result and no older than its
//! delay_loop, is taken instead of starting another. Each checker keeps its
//! own schedule, retries and state.

mod lifecycle;
mod named;
mod retained;
mod status;
mod tally;

pub use status::{
    CheckerSummary, DownRealServer, MetricsRealServer, MetricsVirtualServer, QuorumDown,
};

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::model::Config;
use keepalived_ipvs::model::{ServiceEntry, ServiceKey, Table};
use keepalived_ipvs::planner::{self, Owned, PlanOptions};

use crate::book::{Book, Build, CheckerRef, Identify, Identity, VsEntry};
use crate::desired::{live_weight_of, services_of};
use crate::effect::{Effect, Launch, check_lines};
use crate::expand;
use crate::health::real_weight;
use crate::ids::VirtualServerId;
use crate::lines::probe_lines;
use crate::machine::{Change, Outcome, Start, file_status};
use crate::quorum::{QuorumBook, next_state};
use crate::suspend::{self, LocalAddrs};
use crate::time::Instant;

/// A finished run kept for sharing.
#[derive(Debug, Clone)]
struct Recent {
    started: Instant,
    outcome: Outcome,
    latency: Duration,
    detail: String,
}

#[derive(Debug, Default)]
struct Share {
    inflight: HashMap<(Identity, usize), (Instant, Vec<CheckerRef>)>,
    recent: HashMap<(Identity, usize), Recent>,
    /// The share keys more than one checker has: only their runs are
    /// kept in `recent` (a run nobody else can take would cost a map
    /// entry and a string per checker for nothing).
    shared: BTreeSet<Identity>,
}

impl Share {
    fn of(book: &Book) -> Share {
        let mut seen = BTreeSet::new();
        let mut shared = BTreeSet::new();
        for (_, c) in book.checkers() {
            if !seen.insert(c.share) {
                shared.insert(c.share);
            }
        }
        Share {
            shared,
            ..Share::default()
        }
    }
}

pub struct Pool {
    config: Arc<Config>,
    ids: Vec<VirtualServerId>,
    book: Book,
    quorum: QuorumBook,
    programmed: BTreeMap<ServiceKey, ServiceEntry>,
    vs_services: Vec<Vec<ServiceKey>>,
    owners: HashMap<ServiceKey, Vec<usize>>,
    timers: BinaryHeap<Reverse<(Instant, CheckerRef)>>,
    generation: u64,
    share: Share,
    /// While a reload applies: the child plans the whole table afterwards,
    /// so transitions produce no ops of their own.
    batch: bool,
    /// The kernel's local addresses (`ha_suspend`), kept across reloads.
    local: LocalAddrs,
    /// Per virtual server: the addresses `ha_suspend` watches (None:
    /// its checkers always run).
    watched: Vec<Option<Vec<IpAddr>>>,
    /// Whether [`Effect::debug`] lines are wanted: the sharing lines come
    /// once per probe period per checker, and formatting them for a log
    /// that drops them is most of what sharing costs.
    debug_lines: bool,
    /// Checkers that have given their first result: with the quorum's
    /// moves and the generation, what announce inputs depend on.
    first_results: u64,
    /// What the status summary reads, kept up to date.
    tally: tally::Tally,
}

/// The random part of a first delay: given warmup, a duration in
/// `0..=warmup`.
pub type Jitter<'a> = &'a mut dyn FnMut(Duration) -> Duration;

// ===== impl Pool =====

impl Pool {
    /// keepalived's start-up (check_daemon.c `start_check`, ipwrapper.c
    /// `init_services`, `set_quorum_states`): every checker cold, alpha
    /// real servers out, quorum states from the live weights, a virtual
    /// server starting without quorum puts its sorry server in.
    pub fn start(
        config: Arc<Config>,
        identify: &mut dyn Identify,
        now: Instant,
        jitter: Jitter<'_>,
    ) -> (Pool, Vec<Effect>) {
        Pool::start_with(config, identify, now, jitter, LocalAddrs::new())
    }

    /// [`Pool::start`] knowing the local addresses (the child dumps them
    /// first when a virtual server uses `ha_suspend`, as keepalived does
    /// before it announces its checkers).
    pub fn start_with(
        config: Arc<Config>,
        identify: &mut dyn Identify,
        now: Instant,
        jitter: Jitter<'_>,
        local: LocalAddrs,
    ) -> (Pool, Vec<Effect>) {
        let mut out = Vec::new();
        let mut build = Build::new(&config, Start::Cold, now, jitter, identify);
        let book = Book::build(&config, &mut build);
        out.extend(build.refused.into_iter().map(Effect::warn));
        let mut pool = Pool {
            ids: VirtualServerId::all(&config),
            config,
            book,
            quorum: QuorumBook::new(),
            programmed: BTreeMap::new(),
            vs_services: Vec::new(),
            owners: HashMap::new(),
            timers: BinaryHeap::new(),
            generation: 0,
            share: Share::default(),
            batch: true,
            local,
            watched: Vec::new(),
            debug_lines: true,
            first_results: 0,
            tally: tally::Tally::default(),
        };
        pool.index_services();
        pool.share = Share::of(&pool.book);
        for v in 0..pool.book.vss.len() {
            if pool.config.global_defs.rs_init_notifies {
                for r in 0..pool.book.vss[v].rss.len() {
                    if pool.book.vss[v].rss[r].alive {
                        pool.rs_notifies(v, r, false, &mut out);
                    }
                }
            }
            pool.init_quorum(v, &mut out);
        }
        pool.activate_all(&mut out);
        pool.batch = false;
        pool.retally();
        (pool, out)
    }

    /// Every virtual server with an `announce`, its index in the
    /// configuration and what [`crate::announce::AnnounceBook`] judges it
    /// by. A FILE_CHECK counts as answered (it has the file's value from
    /// the start).
    pub fn announce_inputs(&self) -> Vec<(usize, crate::announce::Input)> {
        self.config
            .virtual_servers
            .iter()
            .enumerate()
            .filter_map(|(v, vs)| {
                let announce = vs.announce.as_ref()?;
                let entry = self.book.vss.get(v)?;
                let checked = entry
                    .rss
                    .iter()
                    .flat_map(|rs| &rs.checkers)
                    .all(|c| c.file.is_some() || c.machine.has_run());
                Some((
                    v,
                    crate::announce::Input {
                        id: entry.id.clone(),
                        checked,
                        quorum: self.quorum.get(&entry.id) == Some(true),
                        drain: announce.drain_delay.as_duration(),
                    },
                ))
            })
            .collect()
    }

    /// Changes whenever [`Pool::announce_inputs`] may answer differently
    /// (a reload, a quorum move, a checker's first result): the caller
    /// walks the virtual servers only when it moved, not after every probe.
    pub fn announce_epoch(&self) -> (u64, u64, u64) {
        (self.generation, self.quorum.moves(), self.first_results)
    }

    /// Whether to produce debug lines (on by default; the child turns them
    /// off when its log would drop them).
    pub fn set_debug_lines(&mut self, on: bool) {
        self.debug_lines = on;
    }

    /// The whole table the book calls for now (pure).
    pub fn desired(&self) -> Table {
        let all: Vec<usize> = (0..self.ids.len()).collect();
        services_of(&self.config, &self.ids, &all, &self.book, &self.quorum)
    }

    /// What the child programmed (or found in the kernel): the belief the
    /// next ops are planned against.
    pub fn set_programmed(&mut self, table: Table) {
        self.programmed = table
            .services
            .into_iter()
            .map(|e| (e.service.key, e))
            .collect();
    }

    pub fn programmed(&self) -> Table {
        Table {
            services: self.programmed.values().cloned().collect(),
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// When [`Pool::poll`] has work next.
    pub fn next_deadline(&mut self) -> Option<Instant> {
        while let Some(Reverse((at, who))) = self.timers.peek().copied() {
            let live = self
                .book
                .checker(who)
                .and_then(|c| c.machine.next_deadline())
                == Some(at);
            if live {
                return Some(at);
            }
            self.timers.pop();
        }
        None
    }

    /// Every run not in flight `by` later ([`Machine::postpone`]): the
    /// child's table took that long after this start or reload set the
    /// schedule. Without it a table that takes minutes (100 000 real
    /// servers in a slow VM) leaves every first run that fell in those
    /// minutes overdue at once, a burst of thousands of probes.
    ///
    /// [`Machine::postpone`]: crate::machine::Machine::postpone
    pub fn postpone_runs(&mut self, by: Duration) {
        if by.is_zero() {
            return;
        }
        for vs in &mut self.book.vss {
            for rs in &mut vs.rss {
                for c in &mut rs.checkers {
                    c.machine.postpone(by);
                }
            }
        }
        self.rearm_all();
    }

    /// Starts every run due at `now`: a probe to launch, or a shared run
    /// joined or reused.
    pub fn poll(&mut self, now: Instant) -> Vec<Effect> {
        let mut out = Vec::new();
        while let Some(Reverse((at, who))) = self.timers.peek().copied() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(entry) = self.book.checker_mut(who) else {
                continue;
            };
            if entry.machine.next_deadline() != Some(at) {
                continue;
            }
            let Some(url) = entry.machine.start(now) else {
                // Disabled: it rescheduled itself.
                self.arm(who);
                continue;
            };
            let key = (entry.share, url);
            let last_seen = entry.last_seen();
            let delay_loop = entry.machine.timing().delay_loop;
            if let Some((_, waiters)) = self.share.inflight.get_mut(&key) {
                waiters.push(who);
                let n = waiters.len();
                if self.debug_lines {
                    out.push(Effect::debug(format!(
                        "{} joins a probe in flight ({n} checkers share it): {}",
                        self.checker_label(who),
                        key.0
                    )));
                }
                continue;
            }
            let fresh = self.share.recent.get(&key).filter(|r| {
                last_seen.is_none_or(|seen| r.started > seen) && now - r.started <= delay_loop
            });
            if let Some(r) = fresh.cloned() {
                if self.debug_lines {
                    out.push(Effect::debug(format!(
                        "{} reuses the run started {:.3} s ago: {}",
                        self.checker_label(who),
                        (now - r.started).as_secs_f64(),
                        key.0
                    )));
                }
                self.feed(who, r.outcome, r.latency, &r.detail, now, &mut out);
                continue;
            }
            self.share.inflight.insert(key, (now, vec![who]));
            out.push(Effect::Probe(Launch {
                share: key.0,
                url: key.1,
                generation: self.generation,
                started: now,
            }));
        }
        out
    }

    /// A launched probe finished: every checker waiting on it takes the
    /// result. A result from before the last reload is dropped.
    pub fn result(
        &mut self,
        launch: &Launch,
        outcome: Outcome,
        latency: Duration,
        detail: &str,
        now: Instant,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        if launch.generation != self.generation {
            return out;
        }
        let key = (launch.share, launch.url);
        let Some((started, waiters)) = self.share.inflight.remove(&key) else {
            return out;
        };
        if self.share.shared.contains(&key.0) {
            self.share.recent.insert(
                key,
                Recent {
                    started,
                    outcome,
                    latency,
                    detail: detail.to_string(),
                },
            );
        }
        for who in waiters {
            self.feed(who, outcome, latency, detail, now, &mut out);
        }
        out
    }

    /// One checker takes one result (ipwrapper.c `update_svr_checker_state`).
    fn feed(
        &mut self,
        who: CheckerRef,
        outcome: Outcome,
        latency: Duration,
        detail: &str,
        now: Instant,
        out: &mut Vec<Effect>,
    ) {
        let (v, r) = (who.vs as usize, who.rs as usize);
        let Some(vs) = self.book.vss.get_mut(v) else {
            return;
        };
        let vs_name = &vs.name;
        let Some(rs) = vs.rss.get_mut(r) else {
            return;
        };
        let weight_before = rs.effective_weight();
        let Some(entry) = rs.checkers.get_mut(who.ck as usize) else {
            return;
        };
        if !entry.machine.is_running() {
            return;
        }
        let was_up = entry.machine.is_up();
        let had_run = entry.machine.has_run();
        let step = entry.machine.finish(outcome, latency, now);
        if !had_run && entry.machine.has_run() {
            self.first_results += 1;
        }
        let alpha = entry.machine.timing().alpha;
        let lines = probe_lines(&entry.log, step.note, was_up, rs.name, vs_name, detail)
            .unwrap_or_else(|| check_lines(&entry.log, step.note, rs.name, vs_name, detail));
        self.arm(who);
        out.extend(lines.into_iter().map(Effect::info));
        if step.weight.is_some() && step.change != Some(Change::Down) {
            self.weight_changed(v, r, weight_before, out);
        }
        let rs = &self.book.vss[v].rss[r];
        match step.change {
            Some(Change::FirstResult { up }) if alpha || !up => {
                self.rs_notifies(v, r, false, out);
            }
            Some(Change::Up) if rs.failed_checkers() == 0 => {
                self.rs_transition(v, r, true, out);
            }
            // This checker is the only one down.
            Some(Change::Down) if rs.failed_checkers() == 1 => {
                self.rs_transition(v, r, false, out);
            }
            _ => {}
        }
    }

    /// Track file `name` now holds `value` (an inotify event, re-read):
    /// every FILE_CHECK following it moves as keepalived's
    /// `process_update_checker_track_file_status` moves it. A fault takes
    /// the checker down (its dynamic weight dropped); leaving a fault
    /// brings it up with its weight; otherwise the real server's weight
    /// changes (`Changing weight ...`).
    pub fn file_changed(&mut self, name: &str, value: i64) -> Vec<Effect> {
        let mut out = Vec::new();
        let users: Vec<CheckerRef> = self
            .book
            .checkers()
            .filter(|(_, c)| c.file.as_ref().is_some_and(|f| f.name == name))
            .map(|(at, _)| at)
            .collect();
        for who in users {
            let (v, r) = (who.vs as usize, who.rs as usize);
            let Some(rs) = self.book.vss.get_mut(v).and_then(|vs| vs.rss.get_mut(r)) else {
                continue;
            };
            let weight_before = rs.effective_weight();
            let Some(entry) = rs.checkers.get_mut(who.ck as usize) else {
                continue;
            };
            let Some(f) = entry.file.as_ref() else {
                continue;
            };
            let status = file_status(value, f.weight, f.reverse);
            let before = entry.machine.is_up().then_some(entry.machine.cur_weight());
            if before == status {
                continue;
            }
            let change = entry.machine.set_file_status(status);
            let rs = &self.book.vss[v].rss[r];
            match change {
                Some(Change::Down) if rs.failed_checkers() == 1 => {
                    self.rs_transition(v, r, false, &mut out);
                }
                Some(Change::Up) if rs.failed_checkers() == 0 => {
                    self.rs_transition(v, r, true, &mut out);
                }
                Some(_) => {}
                None => self.weight_changed(v, r, weight_before, &mut out),
            }
        }
        out
    }

    /// The names of the track files FILE_CHECKs follow.
    pub fn tracked_files(&self) -> BTreeSet<String> {
        self.book
            .checkers()
            .filter_map(|(_, c)| c.file.as_ref().map(|f| f.name.clone()))
            .collect()
    }

    /// Every checker's deadline, in a heap sized for them: one entry each
    /// and room for an eighth more (stale entries wait there until they
    /// reach the top). Grown one push at a time, the heap of 100 000
    /// checkers held room for 131 072.
    fn rearm_all(&mut self) {
        let all: Vec<CheckerRef> = self.book.checkers().map(|(at, _)| at).collect();
        self.timers = BinaryHeap::with_capacity(all.len() + all.len() / 8);
        for who in all {
            self.arm(who);
        }
    }

    fn arm(&mut self, who: CheckerRef) {
        if let Some(at) = self
            .book
            .checker(who)
            .and_then(|c| c.machine.next_deadline())
        {
            self.timers.push(Reverse((at, who)));
        }
    }

    fn checker_label(&self, who: CheckerRef) -> String {
        let vs = &self.book.vss[who.vs as usize];
        let rs = &vs.rss[who.rs as usize];
        let kind = rs.checkers[who.ck as usize].log.kind.label();
        format!("{kind} of {} of VS {}", rs.name, vs.name)
    }

    // ----- keepalived's transitions -----

    /// `update_svr_wgt`.
    fn weight_changed(&mut self, v: usize, r: usize, before: i64, out: &mut Vec<Effect>) {
        let rs = &self.book.vss[v].rss[r];
        let (old, new) = (real_weight(before), real_weight(rs.effective_weight()));
        if old == new {
            return;
        }
        out.push(Effect::info(format!(
            "Changing weight from {old} to {new} for {}active service {} of VS {}",
            if rs.alive { "" } else { "in" },
            rs.name,
            self.book.vss[v].name
        )));
        self.sync_vs(v, out);
        self.update_quorum(v, out);
    }

    /// `perform_svr_state`.
    fn rs_transition(&mut self, v: usize, r: usize, alive: bool, out: &mut Vec<Effect>) {
        let vs = &self.book.vss[v];
        let rs = &vs.rss[r];
        if rs.alive == alive {
            return;
        }
        let line = match (alive, rs.inhibit) {
            (true, false) => format!("Adding service {} to VS {}", rs.name, vs.name),
            (true, true) => format!("Enabling service {} of VS {}", rs.name, vs.name),
            (false, false) => format!("Removing service {} from VS {}", rs.name, vs.name),
            (false, true) => format!("Disabling service {} of VS {}", rs.name, vs.name),
        };
        out.push(Effect::info(line));
        self.book.vss[v].rss[r].alive = alive;
        self.tally.real_server(v, r, alive);
        self.sync_vs(v, out);
        self.rs_notifies(v, r, false, out);
        self.update_quorum(v, out);
    }

    /// `do_rs_notifies`: the script for the real server's state and the
    /// fifo line.
    fn rs_notifies(&self, v: usize, r: usize, stopping: bool, out: &mut Vec<Effect>) {
        let vs = &self.book.vss[v];
        let rs = &vs.rss[r];
        let script = if rs.alive {
            &rs.notify_up
        } else {
            &rs.notify_down
        };
        if let Some(command) = script {
            out.push(Effect::Script {
                command: keepalived_config::types::Command::clone(command),
                stopping,
            });
        }
        out.push(Effect::Fifo(format!(
            "RS {} {} {}\n",
            rs.name,
            vs.name,
            if rs.alive { "UP" } else { "DOWN" }
        )));
    }

    /// `do_vs_notifies`: quorum_up/down and the fifo line; at shutdown
    /// only with `omega`.
    fn vs_notifies(&self, v: usize, up: bool, stopping: bool, out: &mut Vec<Effect>) {
        let vs = &self.book.vss[v];
        if stopping && !vs.omega {
            return;
        }
        let script = if up { &vs.quorum_up } else { &vs.quorum_down };
        if let Some(command) = script {
            out.push(Effect::Script {
                command: command.clone(),
                stopping,
            });
        }
        out.push(Effect::Fifo(format!(
            "VS {} {}\n",
            vs.name,
            if up { "UP" } else { "DOWN" }
        )));
    }

    fn live_weight(&self, v: usize) -> u64 {
        match (self.config.virtual_servers.get(v), self.ids.get(v)) {
            (Some(vs), Some(id)) => live_weight_of(vs, id, &self.book),
            _ => 0,
        }
    }

    /// `update_quorum_state` after a change (not at start).
    fn update_quorum(&mut self, v: usize, out: &mut Vec<Effect>) {
        let w = self.live_weight(v);
        let vs = &self.book.vss[v];
        let (q, h) = (vs.quorum, vs.hysteresis);
        let up = self.quorum.state(&vs.id, w, q, h);
        let next = next_state(up, w, q, h);
        if next == up {
            return;
        }
        self.quorum.set(&vs.id, next);
        self.tally.quorum(v, next);
        let vs = &self.book.vss[v];
        if next {
            out.push(Effect::info(format!(
                "Gained quorum {q}+{h}={} <= {w} for VS {}",
                u64::from(q) + u64::from(h),
                vs.name
            )));
            if let Some(s) = &vs.sorry {
                let verb = if vs.sorry_inhibit {
                    "Disabling"
                } else {
                    "Removing"
                };
                out.push(Effect::info(format!(
                    "{verb} sorry server {s} from VS {}",
                    vs.name
                )));
                out.push(Effect::info(format!(
                    "Adding alive servers to the pool for VS {}",
                    vs.name
                )));
            }
        } else {
            out.push(Effect::info(format!(
                "Lost quorum {q}-{h}={} > {w} for VS {}",
                i64::from(q) - i64::from(h),
                vs.name
            )));
            self.sorry_in(v, out);
        }
        self.sync_vs(v, out);
        self.vs_notifies(v, next, false, out);
    }

    /// The lines of a sorry server replacing the pool.
    fn sorry_in(&self, v: usize, out: &mut Vec<Effect>) {
        let vs = &self.book.vss[v];
        if let Some(s) = &vs.sorry {
            let verb = if vs.sorry_inhibit {
                "Enabling"
            } else {
                "Adding"
            };
            out.push(Effect::info(format!(
                "{verb} sorry server {s} to VS {}",
                vs.name
            )));
            out.push(Effect::info(format!(
                "Removing alive servers from the pool for VS {}",
                vs.name
            )));
        }
    }

    /// A virtual server's first quorum state (start, or new on reload).
    /// keepalived computes it before any real server is alive
    /// (check_data.c `validate_check_config` -> `set_quorum_states`), so
    /// every virtual server starts down, then `init_service_vs` ->
    /// `update_quorum_state(vs, init)` re-evaluates with the servers in:
    /// enough weight logs `Gained quorum` and fires quorum_up and the
    /// `VS ... UP` fifo line; too little with a sorry server logs
    /// `Starting with quorum down`, puts the sorry server in and fires the
    /// down notifications; too little without one does nothing.
    /// keepalived prints that threshold as `Q-H=<Q+H>`; we print the sum
    /// it is.
    fn init_quorum(&mut self, v: usize, out: &mut Vec<Effect>) {
        let w = self.live_weight(v);
        let vs = &self.book.vss[v];
        let (q, h) = (vs.quorum, vs.hysteresis);
        let id = vs.id.clone();
        if next_state(false, w, q, h) {
            self.quorum.set(&id, true);
            self.tally.quorum(v, true);
            out.push(Effect::info(format!(
                "Gained quorum {q}+{h}={} <= {w} for VS {}",
                u64::from(q) + u64::from(h),
                vs.name
            )));
            self.vs_notifies(v, true, false, out);
            return;
        }
        self.quorum.set(&id, false);
        self.tally.quorum(v, false);
        if vs.sorry.is_none() {
            return;
        }
        out.push(Effect::info(format!(
            "Starting with quorum down {q}+{h}={} > {w} for VS {}",
            u64::from(q) + u64::from(h),
            vs.name
        )));
        self.sorry_in(v, out);
        self.sync_vs(v, out);
        self.vs_notifies(v, false, false, out);
    }

    /// `register_checkers_thread`: every checker announced, those of a
    /// virtual server whose `ha_suspend` address is absent disabled.
    fn activate_all(&mut self, out: &mut Vec<Effect>) {
        for (v, vs) in self.book.vss.iter_mut().enumerate() {
            let watched = self.watched.get(v).and_then(Option::as_deref);
            let active = suspend::active(watched, &self.local);
            set_activity(vs, active, "Deactivating", false, out);
        }
        self.rearm_all();
    }

    /// An address came to or left an interface (RTM_NEWADDR /
    /// RTM_DELADDR): the checkers of the virtual servers watching it are
    /// activated or suspended (`update_checker_activity`).
    pub fn address(&mut self, addr: IpAddr, ifindex: u32, present: bool) -> Vec<Effect> {
        let mut out = Vec::new();
        if !self.local.update(addr, ifindex, present) {
            return out;
        }
        for (v, vs) in self.book.vss.iter_mut().enumerate() {
            let Some(Some(watched)) = self.watched.get(v) else {
                continue;
            };
            if !watched.contains(&addr) {
                continue;
            }
            let active = suspend::active(Some(watched), &self.local);
            set_activity(vs, active, "Suspending", true, &mut out);
        }
        out
    }

    /// The addresses as re-read after lost notifications (ENOBUFS): each
    /// (address, interface) pair that appeared or went since the last
    /// event is applied as [`Pool::address`] would, so `ha_suspend` ends
    /// as if no notification had been lost.
    pub fn addresses_reread(&mut self, held: &[(IpAddr, u32)]) -> Vec<Effect> {
        let now: std::collections::BTreeSet<(IpAddr, u32)> = held.iter().copied().collect();
        let before: std::collections::BTreeSet<(IpAddr, u32)> =
            self.local.pairs().into_iter().collect();
        // Arrivals first: an address that moved between interfaces
        // stays local throughout, so it suspends nothing.
        let mut out = Vec::new();
        for &(addr, ifindex) in now.difference(&before) {
            out.extend(self.address(addr, ifindex, true));
        }
        for &(addr, ifindex) in before.difference(&now) {
            out.extend(self.address(addr, ifindex, false));
        }
        out
    }

    // ----- IPVS -----

    fn index_services(&mut self) {
        self.vs_services.clear();
        self.owners.clear();
        self.watched = self
            .config
            .virtual_servers
            .iter()
            .map(|vs| suspend::watched(&self.config, vs))
            .collect();
        for (v, vs) in self.config.virtual_servers.iter().enumerate() {
            let keys: Vec<ServiceKey> = expand::services(&self.config, vs)
                .into_iter()
                .map(|e| e.service.key)
                .collect();
            for k in &keys {
                self.owners.entry(*k).or_default().push(v);
            }
            self.vs_services.push(keys);
        }
    }

    /// The ops that bring the services of virtual server `v` to what the
    /// book calls for, planned against the belief (then updated).
    fn sync_vs(&mut self, v: usize, out: &mut Vec<Effect>) {
        if self.batch {
            return;
        }
        let Some(keys) = self.vs_services.get(v) else {
            return;
        };
        let involved: BTreeSet<usize> = keys
            .iter()
            .filter_map(|k| self.owners.get(k))
            .flatten()
            .copied()
            .collect();
        let involved: Vec<usize> = involved.into_iter().collect();
        let mut want = services_of(&self.config, &self.ids, &involved, &self.book, &self.quorum);
        want.services.retain(|e| keys.contains(&e.service.key));
        let have = Table {
            services: keys
                .iter()
                .filter_map(|k| self.programmed.get(k).cloned())
                .collect(),
        };
        let ops = planner::plan(&want, &have, &Owned::of(&have), PlanOptions::default());
        out.extend(ops.into_iter().map(Effect::Ipvs));
        for e in want.services {
            self.programmed.insert(e.service.key, e);
        }
    }
}

/// Enables (`active`) or suspends every checker of `vs` and announces
/// each as keepalived does, `off` being the verb for a suspension
/// ("Deactivating" at start, "Suspending" later); with `changes_only`,
/// checkers already so are left unannounced. A FILE_CHECK is not a
/// checker keepalived launches: it follows but is not announced.
fn set_activity(
    vs: &mut VsEntry,
    active: bool,
    off: &str,
    changes_only: bool,
    out: &mut Vec<Effect>,
) {
    for rs in &mut vs.rss {
        for c in &mut rs.checkers {
            if changes_only && c.machine.is_enabled() == active {
                continue;
            }
            c.machine.set_enabled(active);
            if c.file.is_some() {
                continue;
            }
            out.push(Effect::info(format!(
                "{} healthchecker for service {} for VS {}",
                if active { "Activating" } else { off },
                rs.name,
                vs.name
            )));
        }
    }
}
