// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The core task: instances, sockets, the one timer, apply / reload /
//! stop. Executing a step's actions is in [`super::exec`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::Config;
use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::sync_group::SyncGroup;
use keepalived_config::model::track::TrackRef;
use keepalived_sys::deletions::Deleted;
use keepalived_sys::link::{LinkEvent, LinkEvents};
use keepalived_sys::netlink::{Netlink, NetlinkError};
use keepalived_sys::timer::{self, PreciseTimer};
use keepalived_sys::vrid_filter::Wanted;
use keepalived_sys::vrrp_socket::SocketError;
use keepalived_vrrp::fsm::{self, RxAdvert, State};
use keepalived_vrrp::node::{Event, Node};
use keepalived_vrrp::packet::{self, DropReason, Family, Received};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::announce::Announces;
use super::instance::{self, AdvertLink, Links, Live, Plan};
use super::io::{self, VrrpReceiver};
use super::notify::Notifier;
use super::processes::Processes;
use super::routing::Statics;
use super::syncd::Syncd;
use super::track::Scripts;
use super::vmac::Vmacs;
use super::{Cmd, Options, dump, status};
use crate::child::notices;
use crate::child::track_files::Files;
use crate::exit;

/// Instances due within this much of the earliest deadline are handled
/// in the same wake-up (saves wake-ups when several share a rhythm).
const BATCH: Duration = Duration::from_micros(500);
/// How often instances without a source address look for one again.
const ADDRESS_RETRY: Duration = Duration::from_secs(1);
/// How long a receiver that failed is left alone.
const RECV_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// How long after an apply the transitions it caused are over (master
/// down at the common advert_int of 1 s, the takeover's delayed GARPs at
/// the default garp_master_delay of 5 s): then the memory and code pages
/// the start touched are handed back a second time, since the first
/// release (right after the apply, by the shell) comes before them.
const SETTLED: Duration = Duration::from_secs(15);

/// At most this many queued datagrams are handled per wake-up, so that a
/// flood cannot hold off a due timer.
const RX_DRAIN: usize = 64;

/// Longest we wait for `notify_stop` scripts at shutdown (keepalived: 1 s).
const NOTIFY_STOP_WAIT: Duration = Duration::from_secs(1);
/// At most one debug line per this interval for dropped datagrams.
const DROP_LOG_EVERY: Duration = Duration::from_secs(1);

/// Which instances a datagram can be for: interface and family.
pub type SocketKey = (u32, Family);
/// One receiver per interface, family and what it listens to.
pub type ReceiverKey = (u32, Family, io::Listen);

/// One open receiver. The core polls them all itself: a task per socket
/// and a channel to the core cost a task switch and a channel hop per
/// advert, which with 255 instances is most of a backup's CPU.
struct Reader {
    rkey: ReceiverKey,
    key: SocketKey,
    /// The adverts: with `rejects` open, only the (VRID, version) pairs of
    /// our instances with a right IPv4 TTL; else every VRID of ours.
    main: Rx,
    /// The other datagrams for our VRIDs (wrong TTL, version or type),
    /// validated and counted like the rest but queued apart, so a flood
    /// of them cannot crowd the master's adverts out of `main`'s queue
    /// (keepalived_sys::vrid_filter). None: it could not be opened or
    /// filtered, and `main` takes them.
    rejects: Option<Rx>,
    /// What the kernel filters pass (None: no filter yet, all pass).
    wanted: Option<Wanted>,
}

struct Rx {
    socket: VrrpReceiver,
    /// After a receive error: not polled until then (a persistent error
    /// must not spin the loop).
    paused_until: Option<tokio::time::Instant>,
}

type Datagram = (SocketKey, Result<Result<Received, DropReason>, SocketError>);

/// The next datagram of any receiver, starting the scan at `*start`
/// (rotated, so a flooded socket cannot starve the others). Every
/// adverts socket is read before any rejects socket: when the loop
/// cannot keep up, it is the rejects that wait and overflow.
fn poll_readers(
    readers: &mut [Reader],
    start: &mut usize,
    cx: &mut std::task::Context<'_>,
) -> std::task::Poll<Datagram> {
    let n = readers.len();
    let now = tokio::time::Instant::now();
    for rejects in [false, true] {
        for k in 0..n {
            let Some(r) = readers.get_mut(start.wrapping_add(k) % n) else {
                continue;
            };
            let key = r.key;
            let rx = if rejects {
                r.rejects.as_mut()
            } else {
                Some(&mut r.main)
            };
            if let Some(d) = rx.and_then(|rx| poll_one(rx, key, now, cx)) {
                *start = start.wrapping_add(1);
                return std::task::Poll::Ready(d);
            }
        }
    }
    std::task::Poll::Pending
}

fn poll_one(
    r: &mut Rx,
    key: SocketKey,
    now: tokio::time::Instant,
    cx: &mut std::task::Context<'_>,
) -> Option<Datagram> {
    if r.paused_until.is_some_and(|t| t > now) {
        return None;
    }
    r.paused_until = None;
    match r.socket.poll_recv(cx) {
        std::task::Poll::Ready(res) => {
            if matches!(res, Err(SocketError::Recv(_))) {
                r.paused_until = Some(now + RECV_ERROR_PAUSE);
            }
            Some((key, res.map(|d| io::decode(&d))))
        }
        std::task::Poll::Pending => None,
    }
}

pub struct Core {
    pub(super) options: Options,
    pub(super) nl: Netlink,
    /// The protocol clock's zero, on [`timer::monotonic_now`]'s scale.
    base: Duration,
    /// Protocol deadlines wait on this, not on tokio's millisecond wheel.
    timer: PreciseTimer,
    /// The shell's half of each instance; the node holds the other half
    /// (state machine, tracking, fault causes) at the same index.
    pub(super) insts: Vec<Live>,
    pub(super) node: Node,
    pub(super) scripts: Scripts,
    files: Files,
    /// Link changes, forwarded by a task that owns the subscription and
    /// folds a storm's lost notices into a few re-reads (notices.rs; the
    /// task switch it adds per event is below what the reaction benchmark
    /// can see); None if the subscription could not be made: links are
    /// then read at apply only.
    links: Option<mpsc::UnboundedReceiver<LinkEvent>>,
    /// Address, route and rule deletions, forwarded by a task that owns
    /// the subscription (None: not subscribed).
    pub(super) deletions: Option<mpsc::UnboundedReceiver<Deleted>>,
    /// `static_ipaddress`, `static_routes`, `static_rules` as installed.
    pub(super) statics: Statics,
    /// A handful at most (one per interface, family and group).
    receivers: Vec<Reader>,
    /// Where the next scan of the receivers starts.
    rx_start: usize,
    pub(super) notifier: Notifier,
    /// The running generation's global_defs; the rest of the snapshot is
    /// dropped once applied (each instance keeps its own part).
    pub(super) globals: Option<GlobalDefs>,
    pub(super) generation: u64,
    /// Scripts started by the current stop sequence.
    pub(super) stop_scripts: Vec<JoinHandle<()>>,
    /// Datagrams no instance wanted (unknown VRID, undecodable).
    pub(super) unclaimed: u64,
    last_drop_log: Option<tokio::time::Instant>,
    pub(super) syncd: Syncd,
    /// The running generation's sync groups, for their notify hooks.
    pub(super) sync_groups: Vec<SyncGroup>,
    /// Sysctls the VMACs changed, to put back.
    pub(super) vmacs: Vmacs,
    processes: Processes,
    pub(super) announces: Announces,
}

impl Core {
    pub fn new(options: Options) -> Result<Self, String> {
        Ok(Self {
            options,
            nl: Netlink::new().map_err(|e| format!("cannot open the route netlink socket: {e}"))?,
            base: timer::monotonic_now(),
            timer: PreciseTimer::new().map_err(|e| format!("cannot create a timerfd: {e}"))?,
            insts: Vec::new(),
            node: Node::new(),
            scripts: Scripts::default(),
            files: Files::default(),
            links: None,
            deletions: None,
            statics: Statics::default(),
            receivers: Vec::new(),
            rx_start: 0,
            notifier: Notifier::default(),
            globals: None,
            generation: 0,
            stop_scripts: Vec::new(),
            unclaimed: 0,
            last_drop_log: None,
            syncd: Syncd::default(),
            sync_groups: Vec::new(),
            vmacs: Vmacs::default(),
            processes: Processes::default(),
            announces: Announces::default(),
        })
    }

    pub(super) fn now(&self) -> fsm::Instant {
        let us = timer::monotonic_now().saturating_sub(self.base).as_micros();
        fsm::Instant::from_micros(u64::try_from(us).unwrap_or(u64::MAX))
    }

    fn to_monotonic(&self, t: fsm::Instant) -> Duration {
        self.base + Duration::from_micros(t.as_micros())
    }

    /// Runs until told to stop (or the engine handle is gone).
    pub async fn run(mut self, mut cmds: mpsc::Receiver<Cmd>) -> u8 {
        // A fixed point in time, not a sleep restarted on every wake-up:
        // datagrams arriving faster than ADDRESS_RETRY would postpone
        // the retry for ever.
        let mut retry_at: Option<tokio::time::Instant> = None;
        let mut settle_at: Option<tokio::time::Instant> = None;
        loop {
            let deadline = self.node.next_deadline().map(|t| self.to_monotonic(t));
            retry_at = if self.insts.iter().any(|i| i.src.is_none()) {
                retry_at.or_else(|| Some(tokio::time::Instant::now() + ADDRESS_RETRY))
            } else {
                None
            };
            // A paused receiver is polled again when its pause ends.
            // (A pause already over is cleared by the next poll, not slept on.)
            let now = tokio::time::Instant::now();
            let paused = self
                .receivers
                .iter()
                .flat_map(|r| std::iter::once(&r.main).chain(&r.rejects))
                .filter_map(|r| r.paused_until)
                .filter(|t| *t > now)
                .min();
            tokio::select! {
                cmd = cmds.recv() => match cmd {
                    None => {
                        self.stop().await;
                        return exit::OK;
                    }
                    Some(Cmd::Apply { config, generation, reply }) => {
                        let r = self.apply(config, generation).await;
                        let _ = reply.send(r);
                        settle_at = Some(tokio::time::Instant::now() + SETTLED);
                    }
                    Some(Cmd::Dump { what, reply }) => {
                        dump::write(&mut self, what);
                        let _ = reply.send(());
                    }
                    Some(Cmd::Status { ask, reply }) => {
                        let v = status::answer(&self, &ask);
                        let _ = reply.send(v);
                    }
                    Some(Cmd::Stop { reply }) => {
                        self.stop().await;
                        let _ = reply.send(());
                        return exit::OK;
                    }
                },
                (key, d) = std::future::poll_fn(|cx| poll_readers(&mut self.receivers, &mut self.rx_start, cx)) => {
                    self.on_datagram(key, d).await;
                    // Adverts of many instances arrive together: handle
                    // what is already queued before computing the next
                    // deadline and re-arming the timer again.
                    for _ in 0..RX_DRAIN {
                        let ready = std::future::poll_fn(|cx| {
                            std::task::Poll::Ready(
                                poll_readers(&mut self.receivers, &mut self.rx_start, cx),
                            )
                        })
                        .await;
                        let std::task::Poll::Ready((key, d)) = ready else { break };
                        self.on_datagram(key, d).await;
                    }
                }
                done = self.scripts.next_done() => {
                    let now = self.now();
                    self.feed(Event::ScriptResult { script: done.name, ok: done.ok }, now).await;
                }
                ev = next_link(&mut self.links) => self.on_link(ev).await,
                d = next_of(&mut self.deletions) => self.on_deleted(d).await,
                file = self.files.next_changed() => self.on_file(file).await,
                batch = self.processes.next() => {
                    let now = self.now();
                    for ev in self.processes.on_batch(batch) {
                        self.feed(ev, now).await;
                    }
                }
                () = sleep_until(paused) => {}
                () = precise_sleep(&self.timer, deadline) => self.on_timer().await,
                () = sleep_until(settle_at) => {
                    settle_at = None;
                    keepalived_sys::mem::release_freed_memory();
                    let kb = keepalived_sys::mem::release_startup_code();
                    tracing::debug!("Start-up code pages handed back once the transitions settled: {kb} kB");
                }
                () = sleep_until(retry_at) => {
                    retry_at = None;
                    self.retry_addresses().await;
                }
            }
        }
    }

    /// Between two instances of an apply: the timers already due fire
    /// now, so a reload of many instances on a slow machine does not hold
    /// a master's adverts past its backups' master-down interval
    /// (docs/reliability.md, finding 6). Each step of the apply leaves
    /// the instances and the node in step, so firing here is what the
    /// loop would do if the apply were done.
    async fn fire_due_timers(&mut self) {
        if self.node.next_deadline().is_some_and(|d| d <= self.now()) {
            self.on_timer().await;
        }
    }

    async fn on_timer(&mut self) {
        let now = self.now();
        // Whatever is due a few hundred µs from now fires with its own
        // deadline as "now": early by at most BATCH.
        let effects = self.node.fire_timers(now, now + BATCH);
        self.execute(effects, true).await;
    }

    /// Feeds one event to the node and executes what it returns.
    pub(super) async fn feed(&mut self, event: Event, now: fsm::Instant) {
        let effects = self.node.handle(event, now);
        self.execute(effects, true).await;
    }

    /// A link changed: the node hears it by name (IFF_UP and
    /// IFF_RUNNING both needed, as keepalived's IF_FLAGS_UP).
    async fn on_link(&mut self, ev: Option<LinkEvent>) {
        let Some(ev) = ev else {
            tracing::warn!("link notifications ended; link changes are no longer seen");
            self.links = None;
            return;
        };
        let (state, up, removed) = match ev {
            LinkEvent::Lost => {
                // A down or up of an instance's or a tracked interface may
                // be among the lost: read them all, as at apply.
                self.read_links().await;
                return;
            }
            LinkEvent::Changed(s) => {
                let up = s.up && s.running;
                (s, up, false)
            }
            LinkEvent::Removed(s) => (s, false, true),
        };
        let Some(name) = state.name else {
            return;
        };
        if removed {
            self.vmac_removed(&name).await;
        }
        if up {
            self.vmacs_on_base_up(&name).await;
        }
        if !self.node.interfaces().contains(&name) {
            return;
        }
        let now = self.now();
        self.feed(
            Event::Link {
                interface: name,
                up,
            },
            now,
        )
        .await;
    }

    /// A tracked file changed (or was read for the first time).
    async fn on_file(&mut self, name: String) {
        if let Some(value) = self.files.read(&name) {
            let now = self.now();
            self.feed(Event::FileValue { file: name, value }, now).await;
        }
    }

    /// Reads the state of every interface the node cares about (at
    /// apply: new instances or tracked interfaces), so the node never
    /// relies on a notification it may have missed.
    async fn read_links(&mut self) {
        let names = self.node.interfaces();
        self.read_links_of(names).await;
    }

    async fn read_links_of(&mut self, names: Vec<String>) {
        for name in names {
            let up = match self.nl.interface_by_name(&name).await {
                Ok(i) => i.up && i.running,
                Err(NetlinkError::NoSuchInterface(_)) => false,
                Err(e) => {
                    tracing::warn!("cannot read the state of {name}: {e}");
                    continue;
                }
            };
            let now = self.now();
            self.feed(
                Event::Link {
                    interface: name,
                    up,
                },
                now,
            )
            .await;
        }
    }

    async fn on_datagram(
        &mut self,
        key: SocketKey,
        d: Result<Result<Received, DropReason>, SocketError>,
    ) {
        let rx = match d {
            Ok(Ok(rx)) => rx,
            Ok(Err(reason)) => {
                self.unclaimed += 1;
                self.log_drop(&reason);
                return;
            }
            Err(SocketError::Malformed(what)) => {
                self.unclaimed += 1;
                if self.drop_log_due() {
                    tracing::debug!("dropped VRRP datagram: {what}");
                }
                return;
            }
            Err(e) => {
                tracing::warn!("VRRP socket on ifindex {}: {e}", key.0);
                return;
            }
        };
        let vrid = rx.vrid();
        let Some(idx) = self
            .insts
            .iter()
            .position(|i| (i.advert_link.index, i.family()) == key && i.identity.vrid == vrid)
        else {
            self.unclaimed += 1;
            self.log_drop(&DropReason::UnknownVrid { vrid });
            return;
        };
        let now = self.now();
        let following = self.node.instance(idx).is_some_and(|f| {
            f.state() == State::Backup && f.last_master().map(|(a, _)| a) == Some(rx.src)
        });
        let Some(inst) = self.insts.get_mut(idx) else {
            return;
        };
        inst.expect.check_addresses = !(inst.skip_check_adv_addr && following);
        let outcome = packet::validate(&rx, &inst.expect);
        inst.counters.rx.record(&outcome);
        let acc = match outcome {
            Ok(acc) => acc,
            Err(reason) => {
                if self.drop_log_due()
                    && let Some(inst) = self.insts.get(idx)
                {
                    tracing::debug!("({}) dropped advert: {reason}", inst.conf.name);
                }
                return;
            }
        };
        if acc.old_unicast_checksum
            && inst.expect.unicast_checksum == packet::UnicastChecksum::Standard
        {
            tracing::info!(
                "({}) Setting unicast VRRPv3 checksum to old version",
                inst.conf.name
            );
            inst.expect.unicast_checksum = packet::UnicastChecksum::OldDetected;
        }
        if inst.note_mismatch(acc.address_list_mismatch.as_ref())
            && let Some(why) = &acc.address_list_mismatch
        {
            tracing::warn!(
                "({}) advert from {}: {why}; address lists differ (used for the election anyway)",
                inst.conf.name,
                acc.src
            );
        }
        let adv = RxAdvert {
            src: acc.src,
            priority: acc.advert.priority,
            max_advert_int_cs: acc.advert.max_advert_int_cs,
        };
        self.feed(
            Event::Advert {
                instance: idx,
                advert: adv,
            },
            now,
        )
        .await;
    }

    /// Whether a drop may be logged now (at most one line per
    /// DROP_LOG_EVERY).
    fn drop_log_due(&mut self) -> bool {
        let now = tokio::time::Instant::now();
        if self
            .last_drop_log
            .is_some_and(|t| now.duration_since(t) < DROP_LOG_EVERY)
        {
            return false;
        }
        self.last_drop_log = Some(now);
        true
    }

    /// A datagram no instance took.
    fn log_drop(&mut self, reason: &DropReason) {
        if self.drop_log_due() {
            tracing::debug!("dropped VRRP datagram: {reason}");
        }
    }

    // ----- apply / reload -----

    pub(super) async fn apply(
        &mut self,
        config: Arc<Config>,
        generation: u64,
    ) -> Result<String, u8> {
        let began = std::time::Instant::now();
        let first = self.globals.is_none();
        super::routing::reload_system_tables();
        self.notifier.reconfigure(&config.global_defs);
        self.syncd.configure(&config.global_defs);
        let mut plans = Vec::new();
        let mut skipped = 0usize;
        // Scripts security disabled are not tracked at all (keepalived
        // removes them and every reference to them).
        let scripts = self.scripts.configure(&config);
        let runnable: Vec<String> = self.scripts.configured().cloned().collect();
        let tracked_files = self.files.configure(&config, first, |f| {
            let used = |refs: &[TrackRef]| refs.iter().any(|r| r.name == f.name);
            config.vrrp_instances.iter().any(|i| used(&i.track_file))
                || config.announces.iter().any(|a| used(&a.track_file))
        });
        let mut config = (*config).clone();
        config.vrrp_scripts.retain(|s| runnable.contains(&s.name));
        config
            .track_files
            .retain(|f| tracked_files.contains(&f.name));
        let config = Arc::new(config);
        // Static addresses, routes and rules: before any instance, so a
        // virtual route may use them; a reload changes only what changed.
        let statics = Statics::plan(&config);
        if first && !statics.is_empty() {
            tracing::info!(
                "installing {} static address(es), {} static route(s), {} static rule(s)",
                statics.addresses.len(),
                statics.routing.routes.len(),
                statics.routing.rules.len()
            );
        }
        if first {
            statics.install(&self.nl).await;
            self.statics = statics;
        } else {
            self.statics.reload(statics, &self.nl).await;
        }
        self.node.configure_static_links(self.statics.links());
        // Before any instance can become MASTER: a VIP deleted from then
        // on is seen.
        self.watch_deletions();
        // Known before any instance starts, so none starts on a wrong
        // priority or state.
        for name in tracked_files {
            self.on_file(name).await;
        }
        let processes = keepalived_vrrp::node::config::processes(&config);
        self.node.configure_processes(processes.clone());
        let now = self.now();
        for ev in self.processes.configure(processes) {
            self.feed(ev, now).await;
        }
        for conf in &config.vrrp_instances {
            match instance::plan(conf, &config) {
                Ok(p) => plans.push(p),
                Err(e) => {
                    tracing::error!("{e}; instance not started");
                    skipped += 1;
                }
            }
        }
        instance::unique_vmac_names(&mut plans, &config.global_defs);
        if !first {
            // A link the node does not follow yet counts as down: a kept
            // MASTER that starts tracking an interface that is up would
            // enter FAULT (and drop its VIPs, and send priority 0) until
            // the read after the reload. Read such links first.
            let known = self.node.interfaces();
            let mut new_links: Vec<String> = plans
                .iter()
                .flat_map(|p| {
                    let own = (!p.spec.dont_track_primary).then(|| p.spec.interface.clone());
                    own.into_iter()
                        .chain(p.spec.track_interface.iter().map(|u| u.name.clone()))
                })
                .filter(|n| !known.contains(n))
                .collect();
            new_links.sort();
            new_links.dedup();
            self.read_links_of(new_links).await;
        }
        let mut kept = 0usize;
        let mut started = 0usize;
        let mut stopped = 0usize;
        // Instances gone or changed beyond their identity stop first, so
        // that a replacement with the same VRID never meets its old self.
        let mut idx = 0;
        while idx < self.insts.len() {
            let keep = self
                .insts
                .get(idx)
                .is_some_and(|live| plans.iter().any(|p| p.identity == live.identity));
            if keep {
                idx += 1;
                continue;
            }
            let now = self.now();
            self.feed(Event::Shutdown { instance: idx }, now).await;
            let gone = self.insts.remove(idx);
            self.node.remove_instance(idx);
            for v in gone.vmac.iter().chain(&gone.addr_vmacs) {
                self.vmac_down(&gone.conf.name, v).await;
            }
            stopped += 1;
        }
        // Same-named scripts keep their results and rise/fall counts.
        self.node.configure_scripts(scripts, self.now());
        // Judged by the refresh below, once links are read.
        self.apply_announces(&config, first).await;
        // Before any member starts: the first decides the group's state.
        self.node
            .configure_groups(keepalived_vrrp::node::config::sync_groups(&config));
        self.sync_groups = config.sync_groups.clone();
        for plan in plans {
            if let Some(pos) = self.insts.iter().position(|l| l.identity == plan.identity) {
                self.reload_one(pos, plan).await;
                kept += 1;
            } else if self.start_one(plan).await.is_some() {
                started += 1;
            } else {
                skipped += 1;
            }
            self.fire_due_timers().await;
        }
        if self.links.is_none() {
            match LinkEvents::subscribe() {
                Ok(l) => self.links = Some(notices::forward(l, "links", |_| true)),
                Err(e) => tracing::warn!("cannot subscribe to link changes: {e}"),
            }
        }
        self.read_links().await;
        // Tracking uses may have changed with the reload.
        let now = self.now();
        let effects = self.node.refresh(now);
        self.execute(effects, true).await;
        self.ensure_receivers();
        self.close_unused_sockets();
        self.syncd.refresh(&self.insts, &self.node);
        self.globals = Some(config.global_defs.clone());
        self.generation = generation;
        let took = began.elapsed().as_millis();
        let summary = if first {
            format!("VRRP instances: {started} started, {skipped} not started ({took} ms)")
        } else {
            format!(
                "reload: VRRP instances: {kept} kept, {started} started, {stopped} stopped, {skipped} not started ({took} ms)"
            )
        };
        Ok(summary)
    }

    async fn reload_one(&mut self, pos: usize, mut plan: Plan) {
        let Some(live) = self.insts.get_mut(pos) else {
            return;
        };
        let routing = std::mem::take(&mut plan.routing);
        let (routes_gone, routes_new) = live.routing.diff(&routing);
        live.routing = routing;
        let (gone, new, spec) = live.reload(plan);
        let master = self.node.instance(pos).map(|f| f.state()) == Some(State::Master);
        let ifindex = live.ifindex;
        let name = live.conf.name.clone();
        for (v, res) in gone.iter().zip(self.del_vips(ifindex, &gone).await) {
            if let Err(e) = res {
                tracing::warn!("({name}) cannot remove {}: {e}", v.address);
            }
        }
        if master {
            for v in &new {
                if let Err(e) = self.add_vip(ifindex, v).await {
                    tracing::warn!("({name}) cannot add {}: {e}", v.address);
                }
            }
        }
        // Unchanged routes and rules stay as they are; removed ones go
        // (they may be ours from an earlier MASTER spell), new ones come
        // only while MASTER.
        routes_gone.remove(&self.nl, &name).await;
        if master {
            routes_new.install(&self.nl, &name).await;
        }
        let now = self.now();
        let effects = self.node.reload_instance(pos, spec, now);
        self.execute(effects, true).await;
    }

    /// Starts one new instance; None when its interface cannot be used.
    async fn start_one(&mut self, plan: Plan) -> Option<()> {
        let name = plan.conf.name.clone();
        let ifname = plan.identity.interface.clone();
        let ifindex = match io::link_index(&self.nl, &ifname).await {
            Ok(Some(i)) => i,
            Ok(None) => {
                tracing::error!("({name}) interface {ifname} does not exist; instance not started");
                return None;
            }
            Err(e) => {
                tracing::error!("({name}) cannot look up interface {ifname}: {e}");
                return None;
            }
        };
        let base = ifindex;
        let mut advert = AdvertLink {
            index: ifindex,
            name: ifname.clone(),
        };
        let ifindex = match plan.vmac.clone() {
            None => ifindex,
            Some(v) => match self.vmac_up(&name, &v, base, plan.conf.src_ip()).await {
                Ok(index) => {
                    if !v.xmit_base {
                        advert = AdvertLink {
                            index,
                            name: v.name.clone(),
                        };
                    }
                    index
                }
                Err(e) => {
                    tracing::error!("({name}) {e}; instance not started");
                    return None;
                }
            },
        };
        // Address VMACs: a failure leaves their VIPs unplaceable (logged
        // when added), not the instance stopped.
        for v in &plan.addr_vmacs {
            let base = match io::link_index(&self.nl, &v.base).await {
                Ok(Some(b)) => b,
                _ => {
                    tracing::error!("({name}) no interface {} for VMAC {}", v.base, v.name);
                    continue;
                }
            };
            if let Err(e) = self.vmac_up(&name, v, base, None).await {
                tracing::error!("({name}) {e}");
            }
        }
        // A predecessor killed without cleanup may have left our VIPs:
        // we start as BACKUP, so we must not hold them.
        for (v, res) in plan
            .vips
            .iter()
            .zip(self.del_vips(ifindex, &plan.vips).await)
        {
            match res {
                Ok(true) => tracing::info!(
                    "({name}) removed stale virtual address {} left by a previous run",
                    v.address
                ),
                Ok(false) => {}
                Err(e) => tracing::warn!("({name}) cannot check for stale {}: {e}", v.address),
            }
        }
        // Its virtual routes and rules too (they carry our protocol, so
        // nobody else's route is touched).
        plan.routing.remove(&self.nl, &name).await;
        let family = plan.identity.family;
        let listen = instance::listen(&plan.conf, plan.group);
        if !self.ensure_receiver((advert.index, family, listen), &advert.name, &name) {
            if let Some(v) = &plan.vmac {
                self.vmac_down(&name, v).await;
            }
            return None;
        }
        let configured = plan.conf.src_ip();
        let src = match configured {
            Some(a) => Some(a),
            None => self.resolve_src(base, family, &plan).await,
        };
        // The node must know the instance's links before it evaluates it,
        // or it would pass through FAULT (unknown = down) for nothing.
        let mut links = vec![ifname.clone()];
        links.extend(plan.spec.track_interface.iter().map(|u| u.name.clone()));
        self.read_links_of(links).await;
        let now = self.now();
        let mut spec = plan.spec.clone();
        spec.params.src_addr = src;
        let links = Links {
            vips: ifindex,
            base,
            advert,
        };
        let live = Live::new(plan, links, src);
        self.insts.push(live);
        let idx = self.node.add_instance(spec, now);
        // Looked up now, so that the first takeover sends its GARP right
        // after its VIPs instead of asking the kernel for the MAC first.
        let _ = self.garp_out(idx).await;
        if src.is_none() {
            tracing::warn!(
                "({name}) no usable {family} address on {ifname}: FAULT until one appears"
            );
            let gone = Event::SourceAddress {
                instance: idx,
                present: false,
            };
            self.feed(gone, now).await;
        }
        self.feed(Event::Startup { instance: idx }, now).await;
        Some(())
    }

    async fn resolve_src(&self, ifindex: u32, family: Family, plan: &Plan) -> Option<IpAddr> {
        // `unicast_src_ip` / `mcast_src_ip` name the source outright, as
        // keepalived uses its configured saddr whatever the link holds.
        if let Some(src) = plan.identity.unicast_src {
            return Some(src);
        }
        let ours: Vec<IpAddr> = plan.vips.iter().map(|v| v.address).collect();
        io::primary_address(&self.nl, ifindex, family, &ours)
            .await
            .ok()
            .flatten()
    }

    async fn retry_addresses(&mut self) {
        for idx in 0..self.insts.len() {
            let Some(live) = self.insts.get(idx) else {
                continue;
            };
            if live.src.is_some() {
                continue;
            }
            let ours = live.vip_addresses();
            let (ifindex, family) = (live.base_ifindex, live.family());
            let found = io::primary_address(&self.nl, ifindex, family, &ours)
                .await
                .ok()
                .flatten();
            let Some(src) = found else {
                continue;
            };
            let now = self.now();
            let Some(live) = self.insts.get_mut(idx) else {
                continue;
            };
            tracing::info!("({}) using source address {src}", live.conf.name);
            live.src = Some(src);
            live.sender = None;
            let Some(mut spec) = self.node.spec(idx).cloned() else {
                continue;
            };
            spec.params.src_addr = Some(src);
            let mut effects = self.node.reload_instance(idx, spec, now);
            let back = Event::SourceAddress {
                instance: idx,
                present: true,
            };
            effects.extend(self.node.handle(back, now));
            self.execute(effects, true).await;
        }
    }

    /// Opens receivers a reload made necessary (a changed multicast
    /// group keeps the instance but needs another receiver).
    pub(super) fn ensure_receivers(&mut self) {
        for idx in 0..self.insts.len() {
            let Some(i) = self.insts.get(idx) else {
                continue;
            };
            let (rkey, ifname, name) = (
                i.receiver_key(),
                i.advert_link.name.clone(),
                i.conf.name.clone(),
            );
            self.ensure_receiver(rkey, &ifname, &name);
        }
        self.filter_receivers();
    }

    /// Gives each receiver the kernel filters for the instances it
    /// serves (as `on_datagram` claims them: interface and family), so
    /// adverts for other VRIDs never take room in its queues, and the
    /// ones with a wrong TTL, version or type go to its rejects socket.
    fn filter_receivers(&mut self) {
        for r in &mut self.receivers {
            let mine = || {
                self.insts
                    .iter()
                    .filter(|i| (i.advert_link.index, i.family()) == r.key)
            };
            let wanted = Wanted {
                adverts: mine()
                    .map(|i| (i.identity.vrid, i.expect.advert_version_type()))
                    .collect(),
                ttl_255: mine().all(|i| i.expect.requires_ttl_255()),
            };
            if r.wanted.as_ref() == Some(&wanted) {
                continue;
            }
            let split = match &r.rejects {
                Some(_) if !wanted.fits() => Err(std::io::Error::other(
                    "more (VRID, version) pairs than one filter holds (254)",
                )),
                Some(rej) => rej
                    .socket
                    .set_rejects(&wanted)
                    .and_then(|()| r.main.socket.set_adverts(&wanted)),
                None => Err(std::io::Error::other("no rejects socket")),
            };
            let res = match split {
                Ok(()) => Ok(()),
                Err(e) => {
                    if r.rejects.take().is_some() {
                        tracing::warn!(
                            "cannot split the VRRP socket on ifindex {} (adverts, rejects): {e}; one socket reads both",
                            r.key.0
                        );
                    }
                    let mut vrids: Vec<u8> = wanted.adverts.iter().map(|(v, _)| *v).collect();
                    vrids.sort_unstable();
                    vrids.dedup();
                    r.main.socket.set_vrids(&vrids)
                }
            };
            match res {
                Ok(()) => r.wanted = Some(wanted),
                // Without it every VRID is read, as before: logged, not fatal.
                Err(e) => tracing::warn!(
                    "cannot set the VRID filter of the VRRP socket on ifindex {}: {e}",
                    r.key.0
                ),
            }
        }
    }

    /// Opens the receiver `rkey` unless it is open; false (logged for
    /// instance `name`) when it cannot be opened.
    fn ensure_receiver(&mut self, rkey: ReceiverKey, ifname: &str, name: &str) -> bool {
        if self.receivers.iter().any(|r| r.rkey == rkey) {
            return true;
        }
        let (ifindex, family, listen) = rkey;
        match io::open_receiver(family, ifname, ifindex, listen) {
            Ok(socket) => {
                // Passing nothing until filter_receivers splits the two.
                let rejects = io::open_receiver(family, ifname, ifindex, listen)
                    .map_err(|e| e.to_string())
                    .and_then(|s| s.set_vrids(&[]).map(|()| s).map_err(|e| e.to_string()));
                let rejects = match rejects {
                    Ok(socket) => Some(Rx {
                        socket,
                        paused_until: None,
                    }),
                    Err(e) => {
                        tracing::warn!(
                            "({name}) cannot open the {family} VRRP rejects socket on {ifname}: {e}; one socket reads both"
                        );
                        None
                    }
                };
                self.receivers.push(Reader {
                    rkey,
                    key: (ifindex, family),
                    main: Rx {
                        socket,
                        paused_until: None,
                    },
                    rejects,
                    wanted: None,
                });
                true
            }
            Err(e) => {
                tracing::error!("({name}) cannot open the {family} VRRP socket on {ifname}: {e}");
                false
            }
        }
    }

    pub(super) fn close_unused_sockets(&mut self) {
        let used: Vec<ReceiverKey> = self.insts.iter().map(Live::receiver_key).collect();
        self.receivers.retain(|r| used.contains(&r.rkey));
    }

    // ----- stop -----

    pub(super) async fn stop(&mut self) {
        // Withdrawn and drained first: the routers move flows away while
        // everything here still answers.
        self.stop_announces().await;
        let now = self.now();
        self.scripts.kill_all();
        let effects = self.node.handle(Event::ShutdownAll, now);
        self.execute(effects, !self.options.dont_release_vrrp).await;
        // Our own removals must not be answered.
        self.deletions = None;
        // keepalived clears them even with -V (which keeps only the VIPs).
        std::mem::take(&mut self.statics).remove(&self.nl).await;
        self.syncd.settle().await;
        // With -V the VIPs stay, and so must the links they are on.
        if !self.options.dont_release_vrrp {
            let vmacs: Vec<(String, _)> = self
                .insts
                .iter()
                .flat_map(|i| {
                    i.vmac
                        .iter()
                        .chain(&i.addr_vmacs)
                        .map(|v| (i.conf.name.clone(), v.clone()))
                        .collect::<Vec<_>>()
                })
                .collect();
            for (name, v) in vmacs {
                self.vmac_down(&name, &v).await;
            }
            self.vmacs.release_all();
        }
        let scripts = std::mem::take(&mut self.stop_scripts);
        if !scripts.is_empty() {
            let all = async {
                for s in scripts {
                    let _ = s.await;
                }
            };
            if tokio::time::timeout(NOTIFY_STOP_WAIT, all).await.is_err() {
                tracing::info!("notify_stop scripts still running after {NOTIFY_STOP_WAIT:?}");
            }
        }
        self.insts.clear();
        self.node = Node::new();
        self.receivers.clear();
    }
}

async fn precise_sleep(timer: &PreciseTimer, deadline: Option<Duration>) {
    let Some(at) = deadline else {
        return std::future::pending().await;
    };
    if let Err(e) = timer.sleep_until(at).await {
        // Cannot happen with a valid timerfd; fall back to tokio's timer
        // rather than spin.
        tracing::warn!("timerfd: {e}");
        tokio::time::sleep(at.saturating_sub(timer::monotonic_now())).await;
    }
}

async fn next_link(links: &mut Option<mpsc::UnboundedReceiver<LinkEvent>>) -> Option<LinkEvent> {
    match links {
        Some(l) => l.recv().await,
        None => std::future::pending().await,
    }
}

async fn next_of<T>(rx: &mut Option<mpsc::UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(t: Option<tokio::time::Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}
