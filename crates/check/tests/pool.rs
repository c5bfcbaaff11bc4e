// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The health book and reconciler on a virtual clock: backends go down and
//! come back in a scripted world, probes are answered at once, IPVS ops
//! are applied to an in-memory kernel table, and each scenario checks the
//! table, keepalived's log lines, the notify scripts and the fifo lines
//! (reference keepalived-checkers.md §4, §5, §7, §8).
//!
//! Every scenario is a function returning `Err` on the first broken
//! expectation, so `mutations_are_caught` can run them with the harness
//! broken on purpose and show that they notice. The pool runs as the
//! checker child keeps it: without its configuration's checkers model
//! once started or reloaded (`Pool::release_build_model`).

use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_check::book::{ConfigIdentity, Identity};
use keepalived_check::effect::{Effect, Level};
use keepalived_check::machine::Outcome;
use keepalived_check::reconcile::Pool;
use keepalived_check::time::Instant;
use keepalived_config::model::Config;
mod support;
use support::load;

use keepalived_ipvs::model::{Op, Table};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mutation {
    None,
    /// IPVS ops are lost on the way to the kernel.
    LoseOps,
    /// Every probe succeeds, whatever the world says.
    AlwaysUp,
    /// Fifo lines are lost.
    LoseFifo,
    /// Address events never reach the pool.
    LoseAddresses,
    /// The re-read after lost notifications is not done.
    SkipReread,
}

struct Harness {
    pool: Pool,
    now: Instant,
    kernel: Table,
    /// Backends by address: None = answering, Some(o) = this outcome.
    world: HashMap<IpAddr, Outcome>,
    logs: Vec<String>,
    debug: Vec<String>,
    scripts: Vec<String>,
    fifo: Vec<String>,
    ops: Vec<Op>,
    probes: usize,
    mutation: Mutation,
}

impl Harness {
    fn new(text: &str, mutation: Mutation) -> Harness {
        let config = Arc::new(load(text));
        let mut jitter = |_w: Duration| Duration::ZERO;
        let (mut pool, effects) =
            Pool::start(config, &mut ConfigIdentity, Instant::ZERO, &mut jitter);
        let table = pool.desired();
        pool.set_programmed(table.clone());
        // As the checker child does once the table is in: every scenario
        // then runs on the model the child keeps.
        drop(pool.release_build_model());
        let mut h = Harness {
            pool,
            now: Instant::ZERO,
            kernel: table,
            world: HashMap::new(),
            logs: Vec::new(),
            debug: Vec::new(),
            scripts: Vec::new(),
            fifo: Vec::new(),
            ops: Vec::new(),
            probes: 0,
            mutation,
        };
        h.process(effects);
        h
    }

    fn set(&mut self, addr: &str, o: Outcome) {
        if let Ok(a) = addr.parse() {
            self.world.insert(a, o);
        }
    }

    /// The world's answer for a probe: its real server's address is
    /// found through the pool's status (`[addr]:proto:port`).
    fn answer(&self, share: Identity) -> Outcome {
        if self.mutation == Mutation::AlwaysUp {
            return Outcome::Success;
        }
        let addr = self
            .pool
            .status()
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .find(|rs| rs.checkers.iter().any(|c| c.share == share))
            .and_then(|rs| {
                let inner = rs.name.strip_prefix('[')?.split(']').next()?;
                inner.parse::<IpAddr>().ok()
            });
        addr.and_then(|a| self.world.get(&a).copied())
            .unwrap_or(Outcome::Success)
    }

    fn process(&mut self, effects: Vec<Effect>) {
        for e in effects {
            match e {
                Effect::Log { level, line } => match level {
                    Level::Debug => self.debug.push(line),
                    _ => self.logs.push(line),
                },
                Effect::Ipvs(op) => {
                    if self.mutation != Mutation::LoseOps {
                        apply(&mut self.kernel, &op);
                    }
                    self.ops.push(op);
                }
                Effect::Script { command, .. } => self.scripts.push(command.argv.join(" ")),
                Effect::Fifo(line) => {
                    if self.mutation != Mutation::LoseFifo {
                        self.fifo.push(line);
                    }
                }
                Effect::Probe(launch) => {
                    self.probes += 1;
                    let o = self.answer(launch.share);
                    let more = self.pool.result(&launch, o, Duration::ZERO, "", self.now);
                    self.process(more);
                }
            }
        }
        self.summary_agrees();
    }

    /// The summary's counts, kept by the pool as states change, agree
    /// with a walk over the whole status, after every step of every
    /// scenario (starts, results, reloads, address events, stops); so do
    /// the metrics view's quorum states.
    fn summary_agrees(&self) {
        let st = self.pool.status();
        let s = self.pool.summary(usize::MAX);
        let down: Vec<(String, String)> = st
            .iter()
            .flat_map(|vs| {
                vs.real_servers
                    .iter()
                    .filter(|r| !r.alive)
                    .map(move |r| (vs.name.clone(), r.name.clone()))
            })
            .collect();
        let listed: Vec<(String, String)> = s
            .down
            .iter()
            .map(|d| (d.virtual_server.clone(), d.name.clone()))
            .collect();
        assert_eq!(listed, down, "real servers down");
        let no_quorum: Vec<String> = st
            .iter()
            .filter(|v| !v.quorum_up)
            .map(|v| v.name.clone())
            .collect();
        let listed: Vec<String> = s.quorum_down.iter().map(|q| q.name.clone()).collect();
        assert_eq!(listed, no_quorum, "virtual servers without quorum");
        let total: usize = st.iter().map(|v| v.real_servers.len()).sum();
        assert_eq!(s.real_servers_total, total);
        assert_eq!(s.real_servers_up + s.real_servers_down, total);
        assert_eq!(s.virtual_servers_total, st.len());
        let quorum: Vec<bool> = self.pool.metrics().iter().map(|m| m.1).collect();
        let want: Vec<bool> = st.iter().map(|v| v.quorum_up).collect();
        assert_eq!(quorum, want, "metrics view quorum");
        // Capped: the first few, and how many more.
        let one = self.pool.summary(1);
        assert_eq!(one.down.len(), down.len().min(1));
        assert_eq!(one.down_more, down.len().saturating_sub(1));
    }

    /// Runs the clock to `secs`.
    fn run_to(&mut self, secs: f64) {
        let end = Instant::from_secs_f64(secs);
        while let Some(at) = self.pool.next_deadline() {
            if at > end {
                break;
            }
            self.now = at;
            let effects = self.pool.poll(at);
            self.process(effects);
        }
        self.now = end;
    }

    /// An address came to (`present`) or left interface `ifindex`.
    fn address(&mut self, addr: &str, ifindex: u32, present: bool) {
        let Ok(a) = addr.parse() else {
            return;
        };
        if self.mutation == Mutation::LoseAddresses {
            return;
        }
        let effects = self.pool.address(a, ifindex, present);
        self.process(effects);
    }

    /// The notifications were lost (ENOBUFS) and the addresses re-read:
    /// `held` is every (address, interface) the kernel has now.
    fn reread(&mut self, held: &[(&str, u32)]) {
        if self.mutation == Mutation::SkipReread {
            return;
        }
        let held: Vec<(std::net::IpAddr, u32)> = held
            .iter()
            .filter_map(|(a, i)| Some((a.parse().ok()?, *i)))
            .collect();
        let effects = self.pool.addresses_reread(&held);
        self.process(effects);
    }

    fn reload(&mut self, text: &str) {
        self.reload_config(load(text));
    }

    fn reload_config(&mut self, config: Config) {
        let config = Arc::new(config);
        let mut jitter = |_w: Duration| Duration::ZERO;
        let effects = self
            .pool
            .reload(config, &mut ConfigIdentity, self.now, &mut jitter);
        self.process(effects);
        // The child plans the whole desired table against the kernel.
        let desired = self.pool.desired();
        let current = self.kernel.clone();
        let ops = keepalived_ipvs::planner::plan(
            &desired,
            &current,
            &keepalived_ipvs::planner::Owned::of(&current),
            Default::default(),
        );
        self.process(ops.into_iter().map(Effect::Ipvs).collect());
        self.pool.set_programmed(desired);
        drop(self.pool.release_build_model());
    }

    fn take(&mut self) -> Record {
        Record {
            logs: std::mem::take(&mut self.logs),
            scripts: std::mem::take(&mut self.scripts),
            fifo: std::mem::take(&mut self.fifo),
            ops: std::mem::take(&mut self.ops),
        }
    }

    /// (real server address, port) -> weight of every destination of the
    /// first service.
    fn dests(&self) -> BTreeMap<String, u32> {
        self.kernel
            .services
            .first()
            .map(|s| {
                s.dests
                    .iter()
                    .map(|d| (format!("{}:{}", d.key.addr, d.key.port), d.weight))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The kernel table equals what the book wants.
    fn consistent(&self) -> Result<(), String> {
        let mut want = self.pool.desired();
        let mut have = self.kernel.clone();
        for t in [&mut want, &mut have] {
            t.services.sort_by_key(|s| s.service.key);
            for s in &mut t.services {
                s.dests.sort_by_key(|d| d.key);
            }
        }
        if want != have {
            return Err(format!("kernel {have:?} != desired {want:?}"));
        }
        Ok(())
    }
}

#[derive(Debug, Default)]
struct Record {
    logs: Vec<String>,
    scripts: Vec<String>,
    fifo: Vec<String>,
    ops: Vec<Op>,
}

fn apply(t: &mut Table, op: &Op) {
    match op {
        Op::AddDest(k, d) | Op::SetDest(k, d) => {
            if let Some(s) = t.services.iter_mut().find(|s| s.service.key == *k) {
                s.dests.retain(|x| x.key != d.key);
                s.dests.push(d.clone());
            }
        }
        Op::DelDest(k, dk) => {
            if let Some(s) = t.services.iter_mut().find(|s| s.service.key == *k) {
                s.dests.retain(|x| x.key != *dk);
            }
        }
        Op::AddService(s) => t.services.push(keepalived_ipvs::model::ServiceEntry {
            service: s.clone(),
            dests: Vec::new(),
        }),
        Op::DelService(k) => t.services.retain(|s| s.service.key != *k),
        _ => {}
    }
}

fn expect<T: PartialEq + std::fmt::Debug>(what: &str, got: T, want: T) -> Result<(), String> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got:?}, want {want:?}"))
    }
}

fn has(lines: &[String], needle: &str) -> Result<(), String> {
    if lines.iter().any(|l| l == needle) {
        Ok(())
    } else {
        Err(format!("no line {needle:?} in {lines:#?}"))
    }
}

fn weights(pairs: &[(&str, u32)]) -> BTreeMap<String, u32> {
    pairs.iter().map(|(k, w)| (k.to_string(), *w)).collect()
}

const TWO_TCP: &str = "
global_defs {
    lvs_notify_fifo /tmp/engine-test-fifo
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 10
    real_server 198.51.100.1 80 {
        notify_up \"/bin/up one\"
        notify_down \"/bin/down one\"
        TCP_CHECK {
            retry 2
            delay_before_retry 3
            warmup 0
        }
    }
    real_server 198.51.100.2 80 {
        TCP_CHECK {
            warmup 0
        }
    }
}
";

// ===== scenarios =====

const FILES: &str = "
track_file f1 {
    file /nonexistent/f1
    weight 2
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 10
    real_server 198.51.100.1 80 {
        weight 1
        notify_up \"/bin/up one\"
        notify_down \"/bin/down one\"
        FILE_CHECK {
            track_file f1
        }
    }
    real_server 198.51.100.2 80 {
        weight 1
        FILE_CHECK {
            track_file f1
            weight 0 reverse
        }
    }
}
";

/// FILE_CHECK: a track file's value moves the weight of one real server
/// (track file weight 2) and the state of another (weight 0, reverse:
/// zero is a fault); neither is announced or probed.
fn file_check(m: Mutation) -> Result<(), String> {
    let mut h = Harness::new(FILES, m);
    let rs1 = "[198.51.100.1]:tcp:80";
    let rs2 = "[198.51.100.2]:tcp:80";
    let vs = "[192.0.2.10]:tcp:80";
    // The file reads 0 at start: rs2 (reverse, weight 0) is down.
    expect("start", h.dests(), weights(&[("198.51.100.1:80", 1)]))?;
    if h.logs
        .iter()
        .any(|l| l.starts_with("Activating healthchecker"))
    {
        return Err(format!("a FILE_CHECK was announced: {:#?}", h.logs));
    }
    h.run_to(30.0);
    expect("never probed", h.probes, 0)?;
    h.take();
    let out = h.pool.file_changed("f1", 3);
    h.process(out);
    let r = h.take();
    expect(
        "value 3",
        h.dests(),
        weights(&[("198.51.100.1:80", 7), ("198.51.100.2:80", 1)]),
    )?;
    has(
        &r.logs,
        &format!("Changing weight from 1 to 7 for active service {rs1} of VS {vs}"),
    )?;
    has(&r.logs, &format!("Adding service {rs2} to VS {vs}"))?;
    expect("fifo", r.fifo, vec![format!("RS {rs2} {vs} UP\n")])?;
    // -1 x 2 takes 2 off the configured weight: below 0 is weight 0.
    let out = h.pool.file_changed("f1", -1);
    h.process(out);
    expect(
        "value -1",
        h.dests(),
        weights(&[("198.51.100.1:80", 0), ("198.51.100.2:80", 1)]),
    )?;
    // A fault through weight 2: rs1 leaves, with its notify.
    let out = h.pool.file_changed("f1", -(1 << 30));
    h.process(out);
    let r = h.take();
    expect("fault", h.dests(), weights(&[("198.51.100.2:80", 1)]))?;
    has(&r.logs, &format!("Removing service {rs1} from VS {vs}"))?;
    expect("down script", r.scripts, vec!["/bin/down one".to_string()])?;
    let out = h.pool.file_changed("f1", 0);
    h.process(out);
    let r = h.take();
    expect("back to 0", h.dests(), weights(&[("198.51.100.1:80", 1)]))?;
    expect("up script", r.scripts, vec!["/bin/up one".to_string()])?;
    expect(
        "tracked",
        h.pool.tracked_files().into_iter().collect::<Vec<_>>(),
        vec!["f1".to_string()],
    )?;
    h.consistent()
}

/// ConfigIdentity, with track files holding the given values.
struct Files(HashMap<String, i64>);

impl keepalived_check::book::Identify for Files {
    fn identify(
        &mut self,
        config: &Config,
        vs: &keepalived_config::model::lvs::VirtualServer,
        rs: &keepalived_config::model::lvs::RealServer,
        checker: &keepalived_config::model::checker::Checker,
    ) -> Result<keepalived_check::book::Identified, String> {
        ConfigIdentity.identify(config, vs, rs, checker)
    }

    fn file_value(&mut self, name: &str) -> i64 {
        self.0.get(name).copied().unwrap_or(0)
    }
}

/// A reload reads every track file anew (keepalived has no identity for
/// FILE_CHECK): a value that is a fault now takes a kept real server
/// out, one that is no longer a fault brings it back.
fn file_check_on_reload(m: Mutation) -> Result<(), String> {
    let mut h = Harness::new(FILES, m);
    let rs1 = "[198.51.100.1]:tcp:80";
    let vs = "[192.0.2.10]:tcp:80";
    let out = h.pool.file_changed("f1", 1);
    h.process(out);
    expect(
        "value 1",
        h.dests(),
        weights(&[("198.51.100.1:80", 3), ("198.51.100.2:80", 1)]),
    )?;
    h.take();
    let reload = |h: &mut Harness, value: i64| {
        let config = Arc::new(load(FILES));
        let mut jitter = |_w: Duration| Duration::ZERO;
        let mut files = Files(HashMap::from([("f1".to_string(), value)]));
        let effects = h.pool.reload(config, &mut files, h.now, &mut jitter);
        h.process(effects);
        let desired = h.pool.desired();
        let current = h.kernel.clone();
        let ops = keepalived_ipvs::planner::plan(
            &desired,
            &current,
            &keepalived_ipvs::planner::Owned::of(&current),
            Default::default(),
        );
        h.process(ops.into_iter().map(Effect::Ipvs).collect());
        h.pool.set_programmed(desired);
    };
    // The file now holds a fault for rs1 (-2^30 x 2).
    reload(&mut h, -(1 << 30));
    let r = h.take();
    // rs2 (reverse, weight 0) is up for any non-zero value.
    expect(
        "fault read on reload",
        h.dests(),
        weights(&[("198.51.100.2:80", 1)]),
    )?;
    has(&r.logs, &format!("Removing service {rs1} from VS {vs}"))?;
    expect("down script", r.scripts, vec!["/bin/down one".to_string()])?;
    reload(&mut h, 2);
    let r = h.take();
    expect(
        "read again",
        h.dests(),
        weights(&[("198.51.100.1:80", 5), ("198.51.100.2:80", 1)]),
    )?;
    expect("up script", r.scripts, vec!["/bin/up one".to_string()])?;
    h.consistent()
}

const SMTP: &str = "
virtual_server 192.0.2.10 25 {
    protocol TCP
    delay_loop 10
    real_server 198.51.100.1 25 {
        SMTP_CHECK {
            retry 2
            delay_before_retry 3
            warmup 0
        }
    }
}
";

/// SMTP_CHECK resets its retries at every cycle: even at a cold start
/// the server stays in for retry+1 failures.
fn smtp_cold_start(m: Mutation) -> Result<(), String> {
    let mut h = Harness::new(SMTP, m);
    h.set("198.51.100.1", Outcome::Failure);
    h.run_to(6.0);
    expect("in during the retries", h.dests().len(), 1)?;
    h.run_to(7.0);
    expect("out after the third failure", h.dests().len(), 0)?;
    h.set("198.51.100.1", Outcome::Success);
    h.run_to(17.0);
    let r = h.take();
    expect("back", h.dests().len(), 1)?;
    has(
        &r.logs,
        "Remote SMTP server [198.51.100.1]:tcp:25 succeed on service.",
    )?;
    h.consistent()
}

/// A real server leaves after retry+1 failures and returns after one
/// success, with keepalived's lines, scripts and fifo lines.
fn leaves_and_returns(m: Mutation) -> Result<(), String> {
    let mut h = Harness::new(TWO_TCP, m);
    let rs1 = "[198.51.100.1]:tcp:80";
    let vs = "[192.0.2.10]:tcp:80";
    has(
        &h.logs,
        &format!("Activating healthchecker for service {rs1} for VS {vs}"),
    )?;
    h.run_to(5.0);
    expect(
        "start",
        h.dests(),
        weights(&[("198.51.100.1:80", 1), ("198.51.100.2:80", 1)]),
    )?;
    h.take();
    h.set("198.51.100.1", Outcome::Failure);
    // Runs at 11 (retry 1), 14 (retry 2), 17 (down).
    h.run_to(16.0);
    expect("still in during retries", h.dests().len(), 2)?;
    h.run_to(17.0);
    let r = h.take();
    expect(
        "after the third failure",
        h.dests(),
        weights(&[("198.51.100.2:80", 1)]),
    )?;
    has(
        &r.logs,
        &format!("TCP_CHECK on service {rs1} failed after 2 retries."),
    )?;
    has(&r.logs, &format!("Removing service {rs1} from VS {vs}"))?;
    expect("scripts", r.scripts, vec!["/bin/down one".to_string()])?;
    expect("fifo", r.fifo, vec![format!("RS {rs1} {vs} DOWN\n")])?;
    expect("one op", r.ops.len(), 1)?;
    h.set("198.51.100.1", Outcome::Success);
    h.run_to(27.0);
    let r = h.take();
    has(&r.logs, &format!("TCP connection to {rs1} success."))?;
    has(&r.logs, &format!("Adding service {rs1} to VS {vs}"))?;
    expect("scripts", r.scripts, vec!["/bin/up one".to_string()])?;
    expect("fifo", r.fifo, vec![format!("RS {rs1} {vs} UP\n")])?;
    expect("back", h.dests().len(), 2)?;
    h.consistent()
}

/// inhibit_on_failure: weight 0 instead of removal.
fn inhibit(m: Mutation) -> Result<(), String> {
    let text = TWO_TCP.replace("delay_loop 10", "delay_loop 10\n    inhibit_on_failure");
    let mut h = Harness::new(&text, m);
    h.set("198.51.100.2", Outcome::Failure);
    h.run_to(1.0);
    let r = h.take();
    has(
        &r.logs,
        "Disabling service [198.51.100.2]:tcp:80 of VS [192.0.2.10]:tcp:80",
    )?;
    expect(
        "weight 0",
        h.dests(),
        weights(&[("198.51.100.1:80", 1), ("198.51.100.2:80", 0)]),
    )?;
    h.set("198.51.100.2", Outcome::Success);
    h.run_to(11.0);
    has(
        &h.take().logs,
        "Enabling service [198.51.100.2]:tcp:80 of VS [192.0.2.10]:tcp:80",
    )?;
    expect(
        "weight back",
        h.dests(),
        weights(&[("198.51.100.1:80", 1), ("198.51.100.2:80", 1)]),
    )?;
    h.consistent()
}

const QUORUM: &str = "
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 10
    quorum 2
    quorum_up \"/bin/qup\"
    quorum_down \"/bin/qdown\"
    sorry_server 198.51.100.9 80
    real_server 198.51.100.1 80 {
        TCP_CHECK {
            warmup 0
        }
    }
    real_server 198.51.100.2 80 {
        TCP_CHECK {
            warmup 0
        }
    }
}
";

/// Quorum lost: the sorry server replaces the pool; regained: the pool
/// comes back.
fn quorum_and_sorry(m: Mutation) -> Result<(), String> {
    let mut h = Harness::new(QUORUM, m);
    let vs = "[192.0.2.10]:tcp:80";
    // keepalived starts every virtual server without quorum, then gains
    // it once the servers are in.
    let r = h.take();
    has(&r.logs, &format!("Gained quorum 2+0=2 <= 2 for VS {vs}"))?;
    expect("start scripts", r.scripts, vec!["/bin/qup".to_string()])?;
    expect("start fifo", r.fifo, vec![format!("VS {vs} UP\n")])?;
    h.set("198.51.100.1", Outcome::Failure);
    h.run_to(1.0);
    let r = h.take();
    has(&r.logs, &format!("Lost quorum 2-0=2 > 1 for VS {vs}"))?;
    has(
        &r.logs,
        &format!("Adding sorry server [198.51.100.9]:tcp:80 to VS {vs}"),
    )?;
    has(
        &r.logs,
        &format!("Removing alive servers from the pool for VS {vs}"),
    )?;
    expect("sorry only", h.dests(), weights(&[("198.51.100.9:80", 1)]))?;
    expect("scripts", r.scripts, vec!["/bin/qdown".to_string()])?;
    expect(
        "fifo",
        r.fifo,
        vec![
            format!("RS [198.51.100.1]:tcp:80 {vs} DOWN\n"),
            format!("VS {vs} DOWN\n"),
        ],
    )?;
    h.set("198.51.100.1", Outcome::Success);
    h.run_to(11.0);
    let r = h.take();
    has(&r.logs, &format!("Gained quorum 2+0=2 <= 2 for VS {vs}"))?;
    has(
        &r.logs,
        &format!("Removing sorry server [198.51.100.9]:tcp:80 from VS {vs}"),
    )?;
    expect(
        "pool back",
        h.dests(),
        weights(&[("198.51.100.1:80", 1), ("198.51.100.2:80", 1)]),
    )?;
    expect("scripts", r.scripts, vec!["/bin/qup".to_string()])?;
    h.consistent()
}

/// alpha: out until the first success; a first failure announces down.
fn alpha(m: Mutation) -> Result<(), String> {
    let text = TWO_TCP.replace("delay_loop 10", "delay_loop 10\n    alpha");
    let mut h = Harness::new(&text, m);
    expect("nobody at start", h.dests().len(), 0)?;
    h.set("198.51.100.1", Outcome::Failure);
    h.run_to(1.0);
    let r = h.take();
    expect("only rs2", h.dests(), weights(&[("198.51.100.2:80", 1)]))?;
    has(
        &r.logs,
        "Adding service [198.51.100.2]:tcp:80 to VS [192.0.2.10]:tcp:80",
    )?;
    // keepalived announces the alpha server's first failure.
    expect("scripts", r.scripts, vec!["/bin/down one".to_string()])?;
    h.consistent()
}

/// misc_dynamic: the exit status sets the weight, one SET_DEST.
fn dynamic_weight(m: Mutation) -> Result<(), String> {
    let text = "
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 10
    real_server 198.51.100.1 80 {
        weight 3
        MISC_CHECK {
            misc_path \"/bin/check\"
            misc_dynamic
            warmup 0
        }
    }
}
";
    let mut h = Harness::new(text, m);
    h.set("198.51.100.1", Outcome::SuccessWithWeight(7));
    h.run_to(1.0);
    let r = h.take();
    has(
        &r.logs,
        "Changing weight from 3 to 7 for active service [198.51.100.1]:tcp:80 of VS [192.0.2.10]:tcp:80",
    )?;
    expect("one op", r.ops.len(), 1)?;
    expect("weight", h.dests(), weights(&[("198.51.100.1:80", 7)]))?;
    h.consistent()
}

/// Reload: a timer edit keeps health (a down server stays down, nothing
/// re-sent); a removed server is announced down and removed.
fn reload_keeps_health(m: Mutation) -> Result<(), String> {
    let mut h = Harness::new(TWO_TCP, m);
    h.set("198.51.100.2", Outcome::Failure);
    h.run_to(1.0);
    expect("rs2 out", h.dests(), weights(&[("198.51.100.1:80", 1)]))?;
    h.take();
    h.reload(&TWO_TCP.replace("delay_loop 10", "delay_loop 20"));
    let r = h.take();
    expect("no op for a timer edit", r.ops, vec![])?;
    expect(
        "rs2 still out",
        h.dests(),
        weights(&[("198.51.100.1:80", 1)]),
    )?;
    has(
        &r.logs,
        "Activating healthchecker for service [198.51.100.2]:tcp:80 for VS [192.0.2.10]:tcp:80",
    )?;
    // Removing real server 1: announced down, then deleted.
    let i = TWO_TCP.find("    real_server 198.51.100.1").unwrap_or(0);
    let j = TWO_TCP.find("    real_server 198.51.100.2").unwrap_or(0);
    let without = format!("{}{}", &TWO_TCP[..i], &TWO_TCP[j..]);
    h.reload(&without);
    let r = h.take();
    has(&r.logs, "service [198.51.100.1]:tcp:80 no longer exist")?;
    has(
        &r.logs,
        "Removing service [198.51.100.1]:tcp:80 from VS [192.0.2.10]:tcp:80",
    )?;
    expect("scripts", r.scripts, vec!["/bin/down one".to_string()])?;
    expect("empty", h.dests().len(), 0)?;
    h.set("198.51.100.2", Outcome::Success);
    h.run_to(40.0);
    expect(
        "rs2 back after its check",
        h.dests(),
        weights(&[("198.51.100.2:80", 1)]),
    )?;
    h.consistent()
}

/// Two virtual servers checking the same target share one probe; each
/// keeps its own verdict.
fn shared_probes(m: Mutation) -> Result<(), String> {
    let block = |port: u16| {
        format!(
            "virtual_server 192.0.2.10 {port} {{
    protocol TCP
    delay_loop 10
    real_server 198.51.100.1 8080 {{
        TCP_CHECK {{
            warmup 0
        }}
    }}
}}
"
        )
    };
    let text = format!("{}{}{}", block(80), block(81), block(82));
    let mut h = Harness::new(&text, m);
    h.run_to(35.0);
    // Four periods (1, 11, 21, 31), one probe each for three checkers.
    expect("probes", h.probes, 4)?;
    if !h
        .debug
        .iter()
        .any(|l| l.contains("joins a probe in flight") || l.contains("reuses"))
    {
        return Err(format!("no sharing line in {:?}", h.debug));
    }
    h.set("198.51.100.1", Outcome::Failure);
    // retry 1 (TCP_CHECK's default): down at the second failure, 1 s on.
    h.run_to(41.0);
    let first = h.take();
    expect("none down at the first failure", first.ops.len(), 0)?;
    h.run_to(42.0);
    let r = h.take();
    let removed = r
        .logs
        .iter()
        .filter(|l| l.starts_with("Removing service"))
        .count();
    expect("each virtual server removes its server", removed, 3)?;
    Ok(())
}

/// Stop: every server gets a line; omega adds the down notifications.
fn stop_with_omega(m: Mutation) -> Result<(), String> {
    let text = QUORUM.replace("quorum 2", "quorum 1\n    omega");
    let mut h = Harness::new(&text, m);
    h.run_to(2.0);
    h.take();
    let effects = h.pool.stop(false);
    h.process(effects);
    let r = h.take();
    has(
        &r.logs,
        "Shutting down service [198.51.100.1]:tcp:80 from VS [192.0.2.10]:tcp:80",
    )?;
    expect("scripts", r.scripts, vec!["/bin/qdown".to_string()])?;
    expect(
        "fifo",
        r.fifo,
        vec![
            "RS [198.51.100.1]:tcp:80 [192.0.2.10]:tcp:80 DOWN\n".to_string(),
            "RS [198.51.100.2]:tcp:80 [192.0.2.10]:tcp:80 DOWN\n".to_string(),
            "VS [192.0.2.10]:tcp:80 DOWN\n".to_string(),
        ],
    )
}

/// alpha with a sorry server: nothing is alive at start, so the virtual
/// server starts without quorum and the sorry server stands in.
fn starting_with_quorum_down(m: Mutation) -> Result<(), String> {
    let text = QUORUM.replace("quorum 2", "quorum 2\n    alpha");
    let mut h = Harness::new(&text, m);
    let vs = "[192.0.2.10]:tcp:80";
    let r = h.take();
    has(
        &r.logs,
        &format!("Starting with quorum down 2+0=2 > 0 for VS {vs}"),
    )?;
    expect("start scripts", r.scripts, vec!["/bin/qdown".to_string()])?;
    expect(
        "sorry at start",
        h.dests(),
        weights(&[("198.51.100.9:80", 1)]),
    )?;
    h.run_to(1.0);
    let r = h.take();
    has(&r.logs, &format!("Gained quorum 2+0=2 <= 2 for VS {vs}"))?;
    expect(
        "pool",
        h.dests(),
        weights(&[("198.51.100.1:80", 1), ("198.51.100.2:80", 1)]),
    )?;
    h.consistent()
}

/// A reload that changes a down server's checker (another port): the old
/// checker's failure goes with it and keepalived brings the server up at
/// once; its new checker then decides.
fn reload_changed_checker(m: Mutation) -> Result<(), String> {
    let mut h = Harness::new(TWO_TCP, m);
    h.set("198.51.100.2", Outcome::Failure);
    h.run_to(1.0);
    expect("rs2 out", h.dests(), weights(&[("198.51.100.1:80", 1)]))?;
    h.take();
    let changed = TWO_TCP.replace(
        "        TCP_CHECK {\n            warmup 0\n",
        "        TCP_CHECK {\n            connect_port 8080\n            warmup 0\n",
    );
    if changed == TWO_TCP {
        return Err("the test config did not change".into());
    }
    h.reload(&changed);
    let r = h.take();
    has(
        &r.logs,
        "Adding service [198.51.100.2]:tcp:80 to VS [192.0.2.10]:tcp:80",
    )?;
    expect("rs2 back at once", h.dests().len(), 2)?;
    // Still failing: the new checker (one failure is enough) removes it.
    h.run_to(h.now.as_micros() as f64 / 1e6 + 1.5);
    expect(
        "rs2 out again",
        h.dests(),
        weights(&[("198.51.100.1:80", 1)]),
    )?;
    h.consistent()
}

/// Two blocks on one group: each has its own servers and health, their
/// destinations merge in the group's service.
fn group_blocks_apart(m: Mutation) -> Result<(), String> {
    let text = "
virtual_server_group G {
    192.0.2.10 80
}
virtual_server group G {
    protocol TCP
    delay_loop 10
    real_server 198.51.100.1 80 {
        TCP_CHECK {
            warmup 0
        }
    }
}
virtual_server group G {
    protocol TCP
    delay_loop 10
    real_server 198.51.100.2 80 {
        TCP_CHECK {
            warmup 0
        }
    }
}
";
    let mut h = Harness::new(text, m);
    expect("both", h.dests().len(), 2)?;
    h.set("198.51.100.1", Outcome::Failure);
    h.run_to(1.0);
    let r = h.take();
    has(
        &r.logs,
        "Removing service [198.51.100.1]:tcp:80 from VS [G]:0",
    )?;
    expect(
        "block 1 keeps its server",
        h.dests(),
        weights(&[("198.51.100.2:80", 1)]),
    )?;
    h.consistent()
}

type Scenario = fn(Mutation) -> Result<(), String>;

/// ha_suspend: the checkers run only while the virtual server's address
/// is on some interface; a suspended checker freezes its real server.
fn ha_suspend(m: Mutation) -> Result<(), String> {
    let text = TWO_TCP.replace("delay_loop 10", "delay_loop 10\n    ha_suspend");
    let mut h = Harness::new(&text, m);
    let rs1 = "[198.51.100.1]:tcp:80";
    let vs = "[192.0.2.10]:tcp:80";
    has(
        &h.logs,
        &format!("Deactivating healthchecker for service {rs1} for VS {vs}"),
    )?;
    h.take();
    h.set("198.51.100.1", Outcome::Failure);
    h.run_to(30.0);
    expect("no probe while the address is absent", h.probes, 0)?;
    expect("real servers as at start", h.dests().len(), 2)?;
    // The VRRP instance becomes MASTER: its address arrives.
    h.address("192.0.2.10", 2, true);
    let r = h.take();
    has(
        &r.logs,
        &format!("Activating healthchecker for service {rs1} for VS {vs}"),
    )?;
    h.run_to(45.0);
    let r = h.take();
    has(&r.logs, &format!("Removing service {rs1} from VS {vs}"))?;
    expect("down after its cold-start failure", h.dests().len(), 1)?;
    // Also on a second interface, then gone from the first: still local.
    h.address("192.0.2.10", 3, true);
    h.address("192.0.2.10", 2, false);
    expect(
        "no line while one copy is left",
        h.take().logs,
        Vec::<String>::new(),
    )?;
    // Gone from every interface: suspended, the real server frozen down.
    h.address("192.0.2.10", 3, false);
    let r = h.take();
    has(
        &r.logs,
        &format!("Suspending healthchecker for service {rs1} for VS {vs}"),
    )?;
    let probes = h.probes;
    h.set("198.51.100.1", Outcome::Success);
    h.run_to(60.0);
    // A reload announces the checkers from the addresses known now.
    h.reload(&text);
    has(
        &h.take().logs,
        &format!("Deactivating healthchecker for service {rs1} for VS {vs}"),
    )?;
    h.run_to(100.0);
    expect("no probe while suspended", h.probes, probes)?;
    expect("frozen down", h.dests().len(), 1)?;
    h.address("192.0.2.10", 2, true);
    h.run_to(120.0);
    expect("back once the address is", h.dests().len(), 2)?;
    h.consistent()
}

/// ha_suspend across lost address notifications (ENOBUFS in an address
/// storm): the re-read alone tells the pool, and it ends as if it had
/// heard every event.
fn ha_suspend_reread(m: Mutation) -> Result<(), String> {
    let text = TWO_TCP.replace("delay_loop 10", "delay_loop 10\n    ha_suspend");
    let mut h = Harness::new(&text, m);
    let rs1 = "[198.51.100.1]:tcp:80";
    let vs = "[192.0.2.10]:tcp:80";
    h.take();
    h.run_to(20.0);
    expect("no probe while the address is absent", h.probes, 0)?;
    // The VIP came during the storm; its notification was lost.
    h.reread(&[("10.0.0.1", 1), ("192.0.2.10", 2)]);
    has(
        &h.take().logs,
        &format!("Activating healthchecker for service {rs1} for VS {vs}"),
    )?;
    h.run_to(40.0);
    expect(
        "probing once the re-read found the address",
        h.probes > 0,
        true,
    )?;
    // Moved to another interface, then gone, both unheard.
    h.take();
    h.reread(&[("10.0.0.1", 1), ("192.0.2.10", 3)]);
    expect("a move is no change", h.take().logs, Vec::<String>::new())?;
    h.reread(&[("10.0.0.1", 1)]);
    has(
        &h.take().logs,
        &format!("Suspending healthchecker for service {rs1} for VS {vs}"),
    )?;
    let probes = h.probes;
    h.run_to(80.0);
    expect("no probe once suspended", h.probes, probes)?;
    h.consistent()
}

const NAMED: &str = "
resolvers dns {
    nameserver ns 192.0.2.53
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 10
    alpha
    real_server 198.51.100.9 80 {
    }
    real_server_name web.example 80 {
        resolvers dns
        TCP_CHECK {
            warmup 0
        }
    }
}
";

/// Real servers named by DNS: each address the name gains is a real
/// server of its own, checked before it takes traffic (alpha); one that
/// stays keeps its state and costs no op; one that goes is removed.
fn resolved_names(m: Mutation) -> Result<(), String> {
    use keepalived_check::resolve::{Target, expand, lookups};
    let base = load(NAMED);
    let key = lookups(&base)
        .first()
        .map(|l| l.key.clone())
        .ok_or("no lookup")?;
    let with = |addrs: &[&str]| {
        let mut sets = BTreeMap::new();
        let t: Vec<Target> = addrs
            .iter()
            .filter_map(|a| a.parse().ok())
            .map(|addr| Target {
                addr,
                port: 0,
                weight: None,
            })
            .collect();
        sets.insert(key.clone(), t);
        expand(&base, &sets)
    };
    let mut h = Harness::new(NAMED, m);
    h.run_to(1.0);
    expect(
        "only the written one",
        h.dests(),
        weights(&[("198.51.100.9:80", 1)]),
    )?;
    h.reload_config(with(&["198.51.100.1"]));
    expect(
        "not before its check",
        h.dests(),
        weights(&[("198.51.100.9:80", 1)]),
    )?;
    h.run_to(3.0);
    expect(
        "in after its check",
        h.dests(),
        weights(&[("198.51.100.9:80", 1), ("198.51.100.1:80", 1)]),
    )?;
    h.take();
    h.set("198.51.100.2", Outcome::Failure);
    h.reload_config(with(&["198.51.100.1", "198.51.100.2"]));
    h.run_to(5.0);
    let r = h.take();
    expect("no op: .1 kept, .2 failing", r.ops, vec![])?;
    expect(
        "the failing new one stays out",
        h.dests(),
        weights(&[("198.51.100.9:80", 1), ("198.51.100.1:80", 1)]),
    )?;
    h.reload_config(with(&["198.51.100.2"]));
    expect(
        "the vanished one is removed",
        h.dests(),
        weights(&[("198.51.100.9:80", 1)]),
    )?;
    h.consistent()
}

const SCENARIOS: &[(&str, Scenario)] = &[
    ("resolved_names", resolved_names),
    ("leaves_and_returns", leaves_and_returns),
    ("inhibit", inhibit),
    ("quorum_and_sorry", quorum_and_sorry),
    ("alpha", alpha),
    ("dynamic_weight", dynamic_weight),
    ("reload_keeps_health", reload_keeps_health),
    ("shared_probes", shared_probes),
    ("stop_with_omega", stop_with_omega),
    ("starting_with_quorum_down", starting_with_quorum_down),
    ("reload_changed_checker", reload_changed_checker),
    ("group_blocks_apart", group_blocks_apart),
    ("file_check", file_check),
    ("file_check_on_reload", file_check_on_reload),
    ("smtp_cold_start", smtp_cold_start),
    ("ha_suspend", ha_suspend),
    ("ha_suspend_reread", ha_suspend_reread),
];

#[test]
fn scenarios() {
    let errors: Vec<String> = SCENARIOS
        .iter()
        .filter_map(|(name, f)| f(Mutation::None).err().map(|e| format!("{name}: {e}")))
        .collect();
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}

#[test]
fn mutations_are_caught() {
    for m in [
        Mutation::LoseOps,
        Mutation::AlwaysUp,
        Mutation::LoseFifo,
        Mutation::LoseAddresses,
        Mutation::SkipReread,
    ] {
        let caught = SCENARIOS.iter().filter(|(_, f)| f(m).is_err()).count();
        assert!(caught > 0, "{m:?} went unnoticed");
    }
}

#[test]
fn desired_is_pure() {
    let mut h = Harness::new(QUORUM, Mutation::None);
    h.set("198.51.100.1", Outcome::Failure);
    h.run_to(1.0);
    let a = h.pool.desired();
    assert_eq!(a, h.pool.desired());
    let json = serde_json::to_string(&h.pool.status()).unwrap_or_default();
    assert!(json.contains("\"sorry_active\":true"), "{json}");
}

/// A virtual server's `announce`: the pool's inputs and the pure book
/// together. No alpha: the quorum is up at start, but nothing is
/// announced before every checker answered; then it follows the quorum.
#[test]
fn announce_waits_for_every_checker_then_follows_the_quorum() {
    use keepalived_check::announce::{AnnounceBook, Input, Reason};
    let text = TWO_TCP.replace(
        "    protocol TCP\n",
        "    protocol TCP\n    announce {\n        dev eth0\n    }\n",
    );
    let mut h = Harness::new(&text, Mutation::None);
    let inputs = |h: &Harness| -> Vec<Input> {
        h.pool
            .announce_inputs()
            .into_iter()
            .map(|(_, i)| i)
            .collect()
    };
    let mut book = AnnounceBook::new();
    let start = inputs(&h);
    assert_eq!(start.len(), 1, "the announce survived validation");
    assert!(start[0].quorum, "no alpha: quorum up at start");
    assert!(!start[0].checked);
    assert!(book.update(&start).is_empty(), "not announced on a guess");
    h.run_to(5.0);
    let c = book.update(&inputs(&h));
    assert_eq!(c.len(), 1);
    assert!(c[0].up, "every checker answered, quorum up: {c:?}");
    h.set("198.51.100.1", Outcome::Failure);
    h.set("198.51.100.2", Outcome::Failure);
    // rs2 leaves at 11, rs1 after its retries at 17.
    h.run_to(12.0);
    assert!(
        book.update(&inputs(&h)).is_empty(),
        "one server left: quorum holds"
    );
    h.run_to(17.0);
    let c = book.update(&inputs(&h));
    assert_eq!(
        (c.len(), c[0].up, c[0].reason),
        (1, false, Reason::NoQuorum)
    );
    h.set("198.51.100.1", Outcome::Success);
    h.run_to(27.0);
    let c = book.update(&inputs(&h));
    assert!(c.len() == 1 && c[0].up, "back with quorum: {c:?}");
}

/// The checker child walks announce inputs only when the pool's announce
/// epoch moved: every change of the inputs must move it, and steady
/// probes must not.
#[test]
fn announce_epoch_moves_with_every_input_change_and_only_then() {
    let text = TWO_TCP.replace(
        "    protocol TCP\n",
        "    protocol TCP\n    announce {\n        dev eth0\n    }\n",
    );
    let mut h = Harness::new(&text, Mutation::None);
    let mut inputs = h.pool.announce_inputs();
    let mut epoch = h.pool.announce_epoch();
    let (mut moved, mut still) = (0, 0);
    for t in 1..=30 {
        match t {
            11 => {
                h.set("198.51.100.1", Outcome::Failure);
                h.set("198.51.100.2", Outcome::Failure);
            }
            21 => h.set("198.51.100.1", Outcome::Success),
            _ => {}
        }
        h.run_to(f64::from(t));
        let (now_inputs, now_epoch) = (h.pool.announce_inputs(), h.pool.announce_epoch());
        if now_inputs != inputs {
            assert_ne!(now_epoch, epoch, "inputs changed at {t} s, epoch did not");
            moved += 1;
        } else if now_epoch == epoch {
            still += 1;
        }
        (inputs, epoch) = (now_inputs, now_epoch);
    }
    assert!(
        moved >= 3,
        "first results, quorum lost, quorum back: {moved}"
    );
    assert!(
        still >= 10,
        "steady probes left the epoch alone only {still} times"
    );
}
