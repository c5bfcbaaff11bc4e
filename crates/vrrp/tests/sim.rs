// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Simulation: 2..=5 instances of one VRID on a virtual LAN with a
//! virtual clock, network delay, kills (no priority 0), graceful stops,
//! restarts, faults, partitions, rejoins and priority changes, all drawn
//! from a seeded xorshift generator so every run is reproducible.
//!
//! Invariants checked:
//! * once the network is whole and nothing has changed for a settle
//!   window (master-down at the largest interval + the longest
//!   preempt_delay and one interval if any + twice the largest delay),
//!   exactly one live instance is MASTER (none if none is live);
//! * per instance, actions are coherent: `StateChanged.from` is the
//!   previous state, VIPs are added only on entering MASTER (after the
//!   advert, before the notification) and removed only on leaving it,
//!   priority 0 is only sent when leaving MASTER.
//!
//! `mutations_are_caught` proves the checks can fail: deliberately
//! broken rules injected in the harness must be reported.
//!
//! To replay one run: `SIM_SEED=<n> SIM_DEBUG=1 cargo test -p
//! keepalived-vrrp --test sim exactly -- --nocapture`.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant as WallClock};

use keepalived_vrrp::fsm::timers::master_down;
use keepalived_vrrp::fsm::{
    Action, InitialState, Input, Instance, InstanceParams, Instant, RxAdvert, State, Version,
};

// ===== deterministic randomness =====

/// xorshift64* (Vigna): tiny, good enough to pick scenarios.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.range(1, 100) <= percent
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.range(0, items.len() as u64 - 1) as usize]
    }
}

// ===== the harness =====

/// A rule deliberately broken in the harness to show the checks bite.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    None,
    /// A master never hears higher-priority adverts (it never yields).
    MasterDeaf,
    /// DelVips actions are lost.
    ForgetDelVips,
}

#[derive(Debug)]
enum Perturb {
    Kill(usize),
    Stop(usize),
    Restart(usize),
    Fault(usize),
    Recover(usize),
    Priority(usize, u8),
    Partition(Vec<u8>),
    Heal,
}

struct Node {
    params: InstanceParams,
    inst: Option<Instance>,
    /// Last state seen through actions (None when not running).
    seen: Option<State>,
    vips: bool,
    faulty: bool,
}

#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Packet {
    at: Instant,
    seq: u64,
    to: usize,
    from: usize,
    priority: u8,
    cs: u16,
}

#[derive(Default, Debug)]
struct Stats {
    events: u64,
    takeovers: u64,
    checks: u64,
    perturbations: u64,
}

struct Sim {
    nodes: Vec<Node>,
    group: Vec<u8>,
    packets: BinaryHeap<Reverse<Packet>>,
    seq: u64,
    rng: Rng,
    delay: (u64, u64),
    mutation: Mutation,
    stats: Stats,
}

fn addr(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + i as u8))
}

fn interval_cs(p: &InstanceParams) -> u16 {
    u16::try_from(p.advert_int.as_millis() / 10).unwrap_or(u16::MAX)
}

impl Sim {
    fn feed(&mut self, i: usize, input: Input, now: Instant) -> Result<(), String> {
        self.stats.events += 1;
        if self.mutation == Mutation::MasterDeaf
            && let Input::Advert(a) = &input
            && self.nodes[i].seen == Some(State::Master)
            && a.priority
                >= self.nodes[i]
                    .inst
                    .as_ref()
                    .map_or(0, |n| n.effective_priority())
        {
            return Ok(());
        }
        let Some(inst) = self.nodes[i].inst.as_mut() else {
            return Ok(());
        };
        let mut actions = inst.handle(input, now);
        let state = inst.state();
        if self.mutation == Mutation::ForgetDelVips {
            actions.retain(|a| *a != Action::DelVips);
        }
        self.check_actions(i, &actions, state, now)?;
        for a in actions {
            if let Action::SendAdvert { priority } = a {
                self.broadcast(i, priority, now);
            }
        }
        Ok(())
    }

    /// Per-instance coherence of one batch of actions.
    fn check_actions(
        &mut self,
        i: usize,
        actions: &[Action],
        state: State,
        now: Instant,
    ) -> Result<(), String> {
        let n = &mut self.nodes[i];
        let mut advert_before = false;
        let mut vips_added = false;
        let mut sent_zero = false;
        for a in actions {
            match a {
                Action::SendAdvert { priority } => {
                    advert_before = true;
                    if *priority == 0 {
                        if n.seen != Some(State::Master) {
                            return Err(format!("node {i} sent priority 0 while {:?}", n.seen));
                        }
                        sent_zero = true;
                    }
                }
                Action::AddVips => {
                    if n.vips {
                        return Err(format!("node {i} added VIPs twice at {now:?}"));
                    }
                    if !advert_before {
                        return Err(format!("node {i} added VIPs before its first advert"));
                    }
                    n.vips = true;
                    vips_added = true;
                }
                Action::DelVips => {
                    if !n.vips {
                        return Err(format!("node {i} removed VIPs it did not hold"));
                    }
                    n.vips = false;
                }
                Action::StateChanged { from, to, .. } => {
                    if Some(*from) != n.seen {
                        return Err(format!(
                            "node {i} StateChanged from {from:?}, last seen {:?}",
                            n.seen
                        ));
                    }
                    if *to == State::Master {
                        if !vips_added {
                            return Err(format!("node {i} became MASTER without AddVips first"));
                        }
                        self.stats.takeovers += 1;
                    }
                    n.seen = Some(*to);
                }
                Action::SendGarp { .. } => {
                    if !n.vips {
                        return Err(format!("node {i} sent GARP without VIPs"));
                    }
                }
                Action::MasterRxLowerPriority { .. } | Action::PriorityChanged { .. } => {}
            }
        }
        if sent_zero && n.vips {
            return Err(format!("node {i} sent priority 0 and kept its VIPs"));
        }
        if n.seen != Some(state) {
            return Err(format!("node {i} is {state:?} but reported {:?}", n.seen));
        }
        if n.vips != (state == State::Master) {
            return Err(format!(
                "node {i} VIPs {} in state {state:?} at {now:?}",
                n.vips
            ));
        }
        Ok(())
    }

    fn broadcast(&mut self, from: usize, priority: u8, now: Instant) {
        let cs = interval_cs(&self.nodes[from].params);
        for to in 0..self.nodes.len() {
            if to == from || self.group[to] != self.group[from] {
                continue;
            }
            let d = self.rng.range(self.delay.0, self.delay.1);
            self.seq += 1;
            self.packets.push(Reverse(Packet {
                at: now + Duration::from_micros(d),
                seq: self.seq,
                to,
                from,
                priority,
                cs,
            }));
        }
    }

    fn start(&mut self, i: usize, now: Instant) -> Result<(), String> {
        let n = &mut self.nodes[i];
        n.inst = Some(Instance::new(n.params.clone(), now));
        n.seen = Some(State::Init);
        n.vips = false;
        if n.faulty {
            self.feed(i, Input::FaultSet, now)?;
        }
        self.feed(i, Input::Startup, now)
    }

    fn apply(&mut self, p: &Perturb, now: Instant) -> Result<(), String> {
        self.stats.perturbations += 1;
        match *p {
            Perturb::Kill(i) => {
                // SIGKILL: gone without a word (its VIPs stay on the dead
                // box, which no longer counts).
                self.nodes[i].inst = None;
                self.nodes[i].seen = None;
                self.nodes[i].vips = false;
            }
            Perturb::Stop(i) => {
                if self.nodes[i].inst.is_some() {
                    self.feed(i, Input::Shutdown, now)?;
                    self.nodes[i].inst = None;
                    self.nodes[i].seen = None;
                }
            }
            Perturb::Restart(i) => {
                if self.nodes[i].inst.is_none() {
                    self.start(i, now)?;
                }
            }
            Perturb::Fault(i) => {
                self.nodes[i].faulty = true;
                self.feed(i, Input::FaultSet, now)?;
            }
            Perturb::Recover(i) => {
                self.nodes[i].faulty = false;
                self.feed(i, Input::FaultCleared, now)?;
            }
            Perturb::Priority(i, p) => {
                self.nodes[i].params.priority = p;
                self.feed(i, Input::PriorityChange { priority: p }, now)?;
            }
            Perturb::Partition(ref g) => self.group.clone_from(g),
            Perturb::Heal => self.group.iter_mut().for_each(|g| *g = 0),
        }
        Ok(())
    }

    fn masters(&self) -> (usize, usize) {
        let live = self
            .nodes
            .iter()
            .filter(|n| n.inst.is_some() && !n.faulty)
            .count();
        let masters = self
            .nodes
            .iter()
            .filter(|n| n.inst.as_ref().is_some_and(|i| i.state() == State::Master))
            .count();
        (live, masters)
    }
}

/// One random scenario. Returns the statistics, or the first violation.
fn run(seed: u64, mutation: Mutation) -> Result<Stats, String> {
    let mut rng = Rng::new(seed);
    let n = rng.range(2, 5) as usize;
    let version = if rng.chance(50) {
        Version::V2
    } else {
        Version::V3
    };
    let base_int = match version {
        Version::V2 => Duration::from_secs(1),
        Version::V3 => Duration::from_millis(10 * rng.pick(&[10u64, 50, 100])),
    };
    let owner = rng.chance(15);
    let mut nodes = Vec::new();
    for i in 0..n {
        let advert_int = if version == Version::V3 && rng.chance(20) {
            base_int * 2
        } else {
            base_int
        };
        let is_owner = owner && i == 0;
        let priority = if is_owner {
            255
        } else if rng.chance(20) {
            100 // equal priorities exercise the address tie-break
        } else {
            rng.range(1, 254) as u8
        };
        let special = !is_owner && rng.chance(25);
        let params = InstanceParams {
            name: format!("node{i}"),
            version,
            priority,
            advert_int,
            initial_state: if is_owner || rng.chance(15) {
                InitialState::Master
            } else {
                InitialState::Backup
            },
            nopreempt: special && rng.chance(50),
            preempt_delay: if special && rng.chance(50) {
                Duration::from_millis(rng.range(1, 3000))
            } else {
                Duration::ZERO
            },
            src_addr: Some(addr(i)),
            lower_prio_no_advert: rng.chance(20),
            higher_prio_send_advert: rng.chance(20),
            ..InstanceParams::default()
        };
        nodes.push(Node {
            params,
            inst: None,
            seen: None,
            vips: false,
            faulty: false,
        });
    }
    // Keep the generated flags consistent the way from_config does.
    for node in &mut nodes {
        let p = &mut node.params;
        if p.initial_state == InitialState::Master || p.nopreempt {
            p.preempt_delay = Duration::ZERO;
        }
        if p.initial_state == InitialState::Master {
            p.nopreempt = false;
        }
    }

    let max_int = nodes
        .iter()
        .map(|n| n.params.advert_int)
        .max()
        .unwrap_or(base_int);
    let max_preempt = nodes
        .iter()
        .map(|n| n.params.preempt_delay)
        .max()
        .unwrap_or_default();
    // Delay: up to 2 % of an interval, sometimes (rarely) close to the
    // skew differences so simultaneous takeovers happen.
    let max_delay_us = (max_int.as_micros() as u64 / 50).max(1);
    let delay = (max_delay_us / 4, max_delay_us);
    let mut settle = master_down(version, 1, max_int, 3) + Duration::from_micros(2 * delay.1);
    if !max_preempt.is_zero() {
        settle += max_preempt + max_int;
    }

    let mut sim = Sim {
        nodes,
        group: vec![0; n],
        packets: BinaryHeap::new(),
        seq: 0,
        rng,
        delay,
        mutation,
        stats: Stats::default(),
    };

    // The scenario: bursts of perturbations separated by quiet periods
    // long enough to settle, so the invariant is checked many times.
    let unit = max_int.as_micros() as u64;
    let mut plan: Vec<(Instant, Perturb)> = Vec::new();
    let mut t = 0u64;
    for _ in 0..sim.rng.range(3, 6) {
        let burst = sim.rng.range(1, 4);
        for _ in 0..burst {
            t += sim.rng.range(0, 3 * unit);
            let i = sim.rng.range(0, n as u64 - 1) as usize;
            let p = match sim.rng.range(0, 8) {
                0 => Perturb::Kill(i),
                1 => Perturb::Stop(i),
                2 | 3 => Perturb::Restart(i),
                4 => Perturb::Fault(i),
                5 => Perturb::Recover(i),
                6 => Perturb::Priority(i, sim.rng.range(1, 254) as u8),
                7 => Perturb::Partition((0..n).map(|_| sim.rng.range(0, 1) as u8).collect()),
                _ => Perturb::Heal,
            };
            plan.push((Instant::from_micros(t), p));
        }
        t += sim.rng.range(0, 4 * unit);
        // End each burst with the network whole and a wait long enough
        // for several settle windows.
        plan.push((Instant::from_micros(t), Perturb::Heal));
        t += 2 * settle.as_micros() as u64 + sim.rng.range(0, 5 * unit);
    }
    let end = Instant::from_micros(t);
    if std::env::var("SIM_DEBUG").is_ok() {
        eprintln!("n={n} {version:?} settle={settle:?} end={end:?} plan={plan:?}");
    }
    plan.reverse();

    let mut now = Instant::ZERO;
    for i in 0..n {
        sim.start(i, now)?;
    }
    let mut stable_since = Instant::ZERO;
    loop {
        let next_plan = plan.last().map(|(t, _)| *t);
        let next_packet = sim.packets.peek().map(|Reverse(p)| p.at);
        let next_timer = sim
            .nodes
            .iter()
            .filter_map(|n| n.inst.as_ref().and_then(Instance::next_deadline))
            .min();
        // `end` is always a candidate, so a silent network (everyone
        // dead) still gets its final check.
        // So is the moment the settle window closes, so quiet periods
        // are checked even when nothing else happens in them.
        let settled = Some(stable_since + settle).filter(|t| *t > now);
        let next = [next_plan, next_packet, next_timer, settled, Some(end)]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(end);
        if next > now || next == end {
            // Everything at `now` is done: check before time moves on.
            let whole = sim.group.iter().all(|g| *g == 0);
            if whole && now >= stable_since + settle {
                sim.stats.checks += 1;
                let (live, masters) = sim.masters();
                let expected = usize::from(live > 0);
                if masters != expected {
                    return Err(format!(
                        "seed {seed}: {masters} masters among {live} live nodes at {now:?} \
                         (stable since {stable_since:?}, settle {settle:?})"
                    ));
                }
            }
            now = next;
        }
        if now >= end {
            break;
        }
        if std::env::var("SIM_DEBUG").is_ok() {
            eprintln!("{now:?} plan={next_plan:?} pkt={next_packet:?} timer={next_timer:?}");
        }
        if next_plan == Some(now) {
            if let Some((_, p)) = plan.pop() {
                sim.apply(&p, now)
                    .map_err(|e| format!("seed {seed}: {e}"))?;
                stable_since = now;
            }
        } else if next_packet == Some(now) {
            if let Some(Reverse(p)) = sim.packets.pop()
                && sim.group[p.to] == sim.group[p.from]
            {
                let adv = RxAdvert {
                    src: addr(p.from),
                    priority: p.priority,
                    max_advert_int_cs: p.cs,
                };
                sim.feed(p.to, Input::Advert(adv), now)
                    .map_err(|e| format!("seed {seed}: {e}"))?;
            }
        } else {
            for i in 0..n {
                let due = sim.nodes[i]
                    .inst
                    .as_ref()
                    .and_then(Instance::next_deadline)
                    .is_some_and(|d| d <= now);
                if due {
                    sim.feed(i, Input::Timer, now)
                        .map_err(|e| format!("seed {seed}: {e}"))?;
                }
            }
        }
    }
    if sim.stats.checks == 0 {
        return Err(format!("seed {seed}: the invariant was never checked"));
    }
    Ok(sim.stats)
}

const RUNS: u64 = 10_000;

#[test]
fn exactly_one_master_after_settling() {
    let wall = WallClock::now();
    let mut total = Stats::default();
    for seed in std::env::var("SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(0..RUNS, |s: u64| s..s + 1)
    {
        match run(seed, Mutation::None) {
            Ok(s) => {
                total.events += s.events;
                total.takeovers += s.takeovers;
                total.checks += s.checks;
                total.perturbations += s.perturbations;
            }
            Err(e) => panic!("{e}"),
        }
    }
    eprintln!(
        "sim: {RUNS} runs, {} inputs, {} perturbations, {} takeovers, {} invariant checks, {:?}",
        total.events,
        total.perturbations,
        total.takeovers,
        total.checks,
        wall.elapsed()
    );
    // The scenarios must actually exercise elections.
    assert!(total.takeovers > RUNS, "too few takeovers: {total:?}");
}

#[test]
fn mutations_are_caught() {
    for (mutation, needle) in [
        (Mutation::MasterDeaf, "masters among"),
        (Mutation::ForgetDelVips, "VIPs"),
    ] {
        let failures: Vec<String> = (0..300)
            .filter_map(|seed| run(seed, mutation).err())
            .collect();
        assert!(
            failures.iter().any(|e| e.contains(needle)),
            "{mutation:?} went unnoticed ({} failures: {:?})",
            failures.len(),
            failures.first()
        );
    }
}
