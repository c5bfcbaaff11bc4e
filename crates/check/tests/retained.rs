// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child keeps its pool's configuration without the
//! checkers' model once the pool is built (`Pool::release_build_model`,
//! issue 10's memory aim). This test runs two pools side by side on the
//! same inputs, one keeping the whole model and one released after each
//! start and reload as the child does, over a configuration that sets
//! every real-server keyword the running pool could read (weights,
//! inhibit, forwarding methods, thresholds, ports, notify scripts, alpha,
//! a sorry server, quorum, a group, ha_suspend), and asserts that they
//! answer alike at every step: effects, desired table and status. A
//! release that takes out something the pool reads shows up here as a
//! difference.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_check::book::ConfigIdentity;
use keepalived_check::effect::Effect;
use keepalived_check::machine::Outcome;
use keepalived_check::reconcile::Pool;
use keepalived_check::time::Instant;

mod support;
use support::load;

const CONFIG: &str = "
virtual_server_group web {
    192.0.2.20 80
    fwmark 7
}
virtual_server 192.0.2.10 80 {
    protocol TCP
    delay_loop 10
    quorum 4
    hysteresis 1
    quorum_up \"/bin/q up\"
    quorum_down \"/bin/q down\"
    sorry_server 198.51.100.99 8080
    real_server 198.51.100.1 80 {
        weight 3
        inhibit_on_failure
        notify_up \"/bin/up one\"
        notify_down \"/bin/down one\"
        uthreshold 100
        lthreshold 10
        TCP_CHECK {
            retry 1
            delay_before_retry 2
            warmup 0
        }
    }
    real_server 198.51.100.2 8080 {
        weight 2
        lvs_method TUN
        alpha
        delay_loop 7
        retry 2
        delay_before_retry 3
        connect_timeout 4
        smtp_alert
        snmp_name rs2
        TCP_CHECK {
            warmup 0
        }
        TCP_CHECK {
            connect_port 9000
            warmup 0
        }
    }
    real_server 198.51.100.3 80 {
        lvs_method DR
        MISC_CHECK {
            misc_path \"/bin/true\"
            misc_dynamic
            warmup 0
        }
    }
}
virtual_server group web {
    protocol TCP
    delay_loop 5
    ha_suspend
    real_server 198.51.100.4 80 {
        inhibit_on_failure
        weight 7
        virtualhost rs4.example.com
        warmup 0
        HTTP_GET {
            url {
                path /
                status_code 200
            }
            warmup 0
        }
    }
}
";

/// The same configuration with one real server's settings changed and a
/// real server added.
fn reloaded() -> String {
    CONFIG.replace("weight 3", "weight 5").replace(
        "    real_server 198.51.100.3 80 {",
        "    real_server 198.51.100.5 80 {\n        TCP_CHECK {\n            warmup 0\n        }\n    }\n    real_server 198.51.100.3 80 {",
    )
}

struct Side {
    pool: Pool,
    released: bool,
    /// Every step's effects, in order.
    trace: Vec<Effect>,
}

impl Side {
    fn start(text: &str, released: bool) -> Side {
        let mut jitter = |_: Duration| Duration::ZERO;
        let (pool, effects) = Pool::start(
            Arc::new(load(text)),
            &mut ConfigIdentity,
            Instant::ZERO,
            &mut jitter,
        );
        let mut side = Side {
            pool,
            released,
            trace: Vec::new(),
        };
        side.settle();
        side.feed(effects, &HashMap::new(), Instant::ZERO);
        side
    }

    /// As the child does after a start or reload: the table in, then the
    /// model released (on the released side only).
    fn settle(&mut self) {
        let table = self.pool.desired();
        self.pool.set_programmed(table);
        if self.released {
            drop(self.pool.release_build_model());
        }
    }

    fn feed(&mut self, effects: Vec<Effect>, world: &HashMap<IpAddr, Outcome>, now: Instant) {
        for e in effects {
            if let Effect::Probe(launch) = &e {
                let outcome = self.answer(launch, world);
                let more = self.pool.result(launch, outcome, Duration::ZERO, "", now);
                self.trace.push(e);
                self.feed(more, world, now);
                continue;
            }
            self.trace.push(e);
        }
    }

    fn answer(
        &self,
        launch: &keepalived_check::effect::Launch,
        world: &HashMap<IpAddr, Outcome>,
    ) -> Outcome {
        self.pool
            .status()
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .find(|rs| rs.checkers.iter().any(|c| c.share == launch.share))
            .and_then(|rs| rs.name.strip_prefix('[')?.split(']').next()?.parse().ok())
            .and_then(|a: IpAddr| world.get(&a).copied())
            .unwrap_or(Outcome::Success)
    }

    fn run_to(&mut self, secs: f64, world: &HashMap<IpAddr, Outcome>) {
        let end = Instant::from_secs_f64(secs);
        while let Some(at) = self.pool.next_deadline() {
            if at > end {
                break;
            }
            let effects = self.pool.poll(at);
            self.feed(effects, world, at);
        }
    }

    fn reload(&mut self, text: &str, now: Instant) {
        let mut jitter = |_: Duration| Duration::ZERO;
        let effects = self
            .pool
            .reload(Arc::new(load(text)), &mut ConfigIdentity, now, &mut jitter);
        self.settle();
        self.feed(effects, &HashMap::new(), now);
    }
}

fn agree(step: &str, a: &Side, b: &Side) {
    assert_eq!(a.trace, b.trace, "{step}: effects differ");
    assert_eq!(
        a.pool.desired(),
        b.pool.desired(),
        "{step}: desired tables differ"
    );
    assert_eq!(a.pool.status(), b.pool.status(), "{step}: status differs");
    assert_eq!(
        a.pool.announce_inputs().len(),
        b.pool.announce_inputs().len(),
        "{step}: announce inputs differ"
    );
}

#[test]
fn a_pool_without_its_build_model_runs_as_the_whole_one() {
    let mut whole = Side::start(CONFIG, false);
    let mut kept = Side::start(CONFIG, true);
    agree("start", &whole, &kept);
    // The released side holds no checker model any more.
    let held = kept.pool.release_build_model();
    assert!(
        held.virtual_servers
            .iter()
            .flat_map(|vs| &vs.real_servers)
            .all(|rs| rs.checkers.is_empty() && rs.notify_up.is_none()),
        "the model was not released"
    );
    drop(held);

    let mut world = HashMap::new();
    whole.run_to(1.0, &world);
    kept.run_to(1.0, &world);
    agree("first results", &whole, &kept);

    for (addr, o) in [
        ("198.51.100.1", Outcome::Failure),
        ("198.51.100.3", Outcome::SuccessWithWeight(9)),
        ("198.51.100.4", Outcome::Failure),
    ] {
        world.insert(addr.parse().unwrap_or(IpAddr::from([0, 0, 0, 0])), o);
    }
    whole.run_to(40.0, &world);
    kept.run_to(40.0, &world);
    agree("failures, quorum lost, dynamic weight", &whole, &kept);

    let now = Instant::from_secs_f64(40.0);
    whole.reload(&reloaded(), now);
    kept.reload(&reloaded(), now);
    agree("reload", &whole, &kept);

    world.clear();
    whole.run_to(90.0, &world);
    kept.run_to(90.0, &world);
    agree("recovery after the reload", &whole, &kept);

    let (a, b) = (whole.pool.stop(false), kept.pool.stop(false));
    assert_eq!(a, b, "stop: effects differ");
    assert!(
        whole.trace.iter().any(|e| matches!(e, Effect::Ipvs(_)))
            && whole
                .trace
                .iter()
                .any(|e| matches!(e, Effect::Script { .. })),
        "the scenario moved no table and ran no script: it proves nothing"
    );
}
