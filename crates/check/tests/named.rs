// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A name's new addresses reach the pool without a reload: only the real
//! servers of that name move, every other checker keeps its timer, its
//! counters and its run in flight, and the IPVS ops concern only the
//! addresses that came or went. The same scene through `reload` drops the
//! run in flight, which is what this path exists to avoid.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_check::book::{ConfigIdentity, RealServerState};
use keepalived_check::effect::{Effect, Launch};
use keepalived_check::machine::Outcome;
use keepalived_check::reconcile::Pool;
use keepalived_check::resolve::{self, LookupKey, Target};
use keepalived_check::time::Instant;
use keepalived_config::model::Config;
mod support;

use keepalived_ipvs::model::Op;

const CONF: &str = "
resolvers dns1 {
    nameserver ns1 192.0.2.53
}
virtual_server 198.51.100.10 80 {
    delay_loop 5
    lb_kind NAT
    protocol TCP
    real_server 192.0.2.1 80 {
        TCP_CHECK { connect_timeout 1 }
    }
    real_server_name a.example 80 {
        resolvers dns1
        alpha
        TCP_CHECK { connect_timeout 1 }
    }
    real_server_name b.example 80 {
        resolvers dns1
        TCP_CHECK { connect_timeout 1 }
    }
}
";

fn base() -> Arc<Config> {
    Arc::new(support::load(CONF))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// The configuration with `a` and `b` resolved to these addresses.
fn expanded(base: &Config, a: &[&str], b: &[&str]) -> Arc<Config> {
    let mut sets: BTreeMap<LookupKey, Vec<Target>> = BTreeMap::new();
    for l in resolve::lookups(base) {
        let addrs = if l.key.host == "a.example" { a } else { b };
        sets.insert(
            l.key,
            addrs
                .iter()
                .map(|s| Target {
                    addr: ip(s),
                    port: 0,
                    weight: None,
                })
                .collect(),
        );
    }
    Arc::new(resolve::expand(base, &sets))
}

struct World {
    pool: Pool,
    now: Instant,
    /// Probes launched and not answered yet.
    pending: Vec<Launch>,
    ops: Vec<Op>,
    logs: Vec<String>,
}

impl World {
    fn start(config: Arc<Config>) -> World {
        let mut jitter = |_w: Duration| Duration::ZERO;
        let (mut pool, out) = Pool::start(config, &mut ConfigIdentity, Instant::ZERO, &mut jitter);
        pool.set_programmed(pool.desired());
        let mut w = World {
            pool,
            now: Instant::ZERO,
            pending: Vec::new(),
            ops: Vec::new(),
            logs: Vec::new(),
        };
        w.take(out);
        w
    }

    fn take(&mut self, out: Vec<Effect>) {
        for e in out {
            match e {
                Effect::Probe(l) => self.pending.push(l),
                Effect::Ipvs(op) => self.ops.push(op),
                Effect::Log { line, .. } => self.logs.push(line),
                Effect::Script { .. } | Effect::Fifo(_) => {}
            }
        }
    }

    /// Every pending probe succeeds.
    fn answer_all(&mut self) {
        for l in std::mem::take(&mut self.pending) {
            let out = self
                .pool
                .result(&l, Outcome::Success, Duration::ZERO, "", self.now);
            self.take(out);
        }
    }

    /// Runs the clock to `secs`, answering each probe at once.
    fn run_to(&mut self, secs: f64) {
        let end = Instant::from_secs_f64(secs);
        while let Some(at) = self.pool.next_deadline() {
            if at > end {
                break;
            }
            self.now = at;
            let out = self.pool.poll(at);
            self.take(out);
            self.answer_all();
        }
        self.now = end;
    }

    /// Launches what falls due next and leaves it in flight.
    fn launch_next(&mut self) {
        self.now = self.pool.next_deadline().expect("a checker is scheduled");
        let out = self.pool.poll(self.now);
        self.take(out);
    }

    fn rs(&self, addr: &str) -> Option<RealServerState> {
        let name = format!("[{addr}]:tcp:80");
        self.pool
            .status()
            .into_iter()
            .flat_map(|vs| vs.real_servers)
            .find(|rs| rs.name == name)
    }

    fn runs(&self, addr: &str) -> u64 {
        self.rs(addr).expect(addr).checkers[0].state.runs.runs
    }
}

fn op_addr(op: &Op) -> Option<IpAddr> {
    match op {
        Op::AddDest(_, d) | Op::SetDest(_, d) => Some(d.key.addr),
        Op::DelDest(_, k) => Some(k.addr),
        _ => None,
    }
}

/// Static 192.0.2.1, a.example = .11, b.example = .21, all checked a
/// few times, then every checker's next run is in flight.
fn scene() -> (Arc<Config>, World) {
    let base = base();
    let mut w = World::start(expanded(&base, &["192.0.2.11"], &["192.0.2.21"]));
    w.run_to(19.0);
    assert!(w.rs("192.0.2.11").unwrap().alive, "a's first address is in");
    w.launch_next();
    assert_eq!(w.pending.len(), 3, "three runs in flight: {:?}", w.pending);
    w.ops.clear();
    w.logs.clear();
    (base, w)
}

#[test]
fn a_name_change_touches_only_that_name() {
    let (base, mut w) = scene();
    let before: Vec<_> = ["192.0.2.1", "192.0.2.21"]
        .iter()
        .map(|a| w.rs(a).unwrap())
        .collect();
    let mut jitter = |_w: Duration| Duration::ZERO;
    let out = w
        .pool
        .addresses_changed(
            expanded(&base, &["192.0.2.12"], &["192.0.2.21"]),
            &mut ConfigIdentity,
            w.now,
            &mut jitter,
        )
        .expect("same virtual servers");
    w.take(out);

    // The other real servers: the same state, timers and run in flight.
    for (a, was) in ["192.0.2.1", "192.0.2.21"].iter().zip(&before) {
        let is = w.rs(a).unwrap();
        assert_eq!(&is, was, "{a} untouched by a's change");
        assert!(is.checkers[0].state.running, "{a}'s run still in flight");
    }
    // Only a's addresses cost ops: the old one out; the new one is alpha,
    // so out until checked.
    assert_eq!(w.ops.len(), 1, "{:?}", w.ops);
    assert!(matches!(&w.ops[0], Op::DelDest(_, k) if k.addr == ip("192.0.2.11")));
    assert!(w.rs("192.0.2.11").is_none());
    assert!(
        !w.rs("192.0.2.12").unwrap().alive,
        "alpha: down until checked"
    );
    assert!(
        w.logs
            .iter()
            .any(|l| l.contains("[192.0.2.11]:tcp:80 no longer exist"))
    );

    // The runs in flight land on the checkers that launched them.
    let (s, b) = (w.runs("192.0.2.1"), w.runs("192.0.2.21"));
    w.answer_all();
    assert_eq!(w.runs("192.0.2.1"), s + 1);
    assert_eq!(w.runs("192.0.2.21"), b + 1);

    // The new address is checked, then added; nothing else moves.
    w.ops.clear();
    w.run_to(30.0);
    assert!(w.rs("192.0.2.12").unwrap().alive);
    assert!(
        w.ops.iter().all(|o| op_addr(o) == Some(ip("192.0.2.12"))),
        "{:?}",
        w.ops
    );
    assert!(
        w.ops
            .iter()
            .any(|o| matches!(o, Op::AddDest(_, d) if d.key.addr == ip("192.0.2.12")))
    );
    assert!(w.runs("192.0.2.21") > b + 1, "b goes on being checked");
}

#[test]
fn a_name_losing_every_address_or_a_new_one_added_moves_only_it() {
    let (base, mut w) = scene();
    w.answer_all();
    let mut jitter = |_w: Duration| Duration::ZERO;
    // b gains an address: no alpha, so in at once; a is unchanged.
    let out = w
        .pool
        .addresses_changed(
            expanded(&base, &["192.0.2.11"], &["192.0.2.21", "192.0.2.22"]),
            &mut ConfigIdentity,
            w.now,
            &mut jitter,
        )
        .unwrap();
    w.take(out);
    assert_eq!(w.ops.len(), 1, "{:?}", w.ops);
    assert!(matches!(&w.ops[0], Op::AddDest(_, d) if d.key.addr == ip("192.0.2.22")));
    // a loses its address: one removal.
    w.ops.clear();
    let out = w
        .pool
        .addresses_changed(
            expanded(&base, &[], &["192.0.2.21", "192.0.2.22"]),
            &mut ConfigIdentity,
            w.now,
            &mut jitter,
        )
        .unwrap();
    w.take(out);
    assert_eq!(w.ops.len(), 1, "{:?}", w.ops);
    assert!(matches!(&w.ops[0], Op::DelDest(_, k) if k.addr == ip("192.0.2.11")));
    assert!(w.rs("192.0.2.22").unwrap().alive);
}

#[test]
fn other_virtual_servers_are_a_reload() {
    let (_, mut w) = scene();
    let mut jitter = |_w: Duration| Duration::ZERO;
    let none = w.pool.addresses_changed(
        Arc::new(Config::default()),
        &mut ConfigIdentity,
        w.now,
        &mut jitter,
    );
    assert!(none.is_none(), "no virtual server: not this path's change");
    assert!(w.rs("192.0.2.21").is_some(), "untouched");
}

/// What this path avoids: the same change as a reload drops every run in
/// flight, so a test that did not tell them apart would pass on either.
#[test]
fn the_reload_path_would_drop_the_runs_in_flight() {
    let (base, mut w) = scene();
    let b = w.runs("192.0.2.21");
    let mut jitter = |_w: Duration| Duration::ZERO;
    let out = w.pool.reload(
        expanded(&base, &["192.0.2.12"], &["192.0.2.21"]),
        &mut ConfigIdentity,
        w.now,
        &mut jitter,
    );
    w.take(out);
    w.answer_all();
    assert_eq!(w.runs("192.0.2.21"), b, "a reload drops the result");
}

/// An SRV target whose weight changed keeps its checker (state, timer,
/// run in flight) and costs one SET_DEST.
#[test]
fn a_new_weight_keeps_the_checker_and_sets_the_destination() {
    let base = base();
    let weighted = |w: u16| {
        let mut sets: BTreeMap<LookupKey, Vec<Target>> = BTreeMap::new();
        for l in resolve::lookups(&base) {
            let (addr, weight) = if l.key.host == "a.example" {
                ("192.0.2.11", None)
            } else {
                ("192.0.2.21", Some(w))
            };
            sets.insert(
                l.key,
                vec![Target {
                    addr: ip(addr),
                    port: 0,
                    weight,
                }],
            );
        }
        Arc::new(resolve::expand(&base, &sets))
    };
    let mut w = World::start(weighted(5));
    w.run_to(19.0);
    w.launch_next();
    w.ops.clear();
    let before = w.rs("192.0.2.21").unwrap();
    let mut jitter = |_w: Duration| Duration::ZERO;
    let out = w
        .pool
        .addresses_changed(weighted(9), &mut ConfigIdentity, w.now, &mut jitter)
        .unwrap();
    w.take(out);
    let after = w.rs("192.0.2.21").unwrap();
    assert_eq!((before.weight, after.weight), (5, 9));
    assert_eq!(
        after.checkers[0].state.next_run,
        before.checkers[0].state.next_run
    );
    assert!(after.checkers[0].state.running, "its run still in flight");
    assert_eq!(w.ops.len(), 1, "{:?}", w.ops);
    assert!(
        matches!(&w.ops[0], Op::SetDest(_, d) if d.key.addr == ip("192.0.2.21") && d.weight == 9)
    );
    assert!(
        w.logs
            .iter()
            .any(|l| l.contains("Changing weight from 5 to 9")),
        "{:?}",
        w.logs
    );
}
