// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_track_process` from keepalived.conf text to the node's
//! decisions: the parameters keepalived derives, and the priority / FAULT
//! that process counts cause.

use std::path::Path;
use std::time::Duration;

use keepalived_config::host::Host;
use keepalived_config::model::Config;
use keepalived_config::preprocess::Options;
use keepalived_vrrp::fsm::{Action, Instant, State};
use keepalived_vrrp::node::config::{instance_spec, processes};
use keepalived_vrrp::node::process::{CountCause, ParamMatch};
use keepalived_vrrp::node::{Effect, Event, FaultCause, Node};

struct AnyInterface;

impl Host for AnyInterface {
    fn interface_exists(&self, _: &str) -> bool {
        true
    }
}

fn load(text: &str) -> Config {
    let opts = Options {
        random_seed: Some(1),
        ..Options::default()
    };
    keepalived_config::load_str(Path::new("test.conf"), text, &opts, &AnyInterface).config
}

const CONF: &str = "
vrrp_track_process web {
    process /usr/sbin/nginx -g daemon
    param_match partial
    weight -60
    terminate_delay 0.5
}
vrrp_track_process db {
    process postgres
    quorum 2
    quorum_max 3
}
vrrp_track_process unused {
    process x
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 1
    track_process {
        web
        db
    }
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";

fn ms(n: u64) -> Instant {
    Instant::from_micros(n * 1000)
}

#[test]
fn keepalived_defaults_for_matching_quorum_and_delays() {
    let cfg = load(CONF);
    let ps = processes(&cfg);
    let names: Vec<&str> = ps.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["web", "db"], "unused processes are not tracked");
    let web = &ps[0];
    assert_eq!(web.path, "/usr/sbin/nginx");
    assert_eq!(web.params, ["-g", "daemon"]);
    assert_eq!(web.param_match, ParamMatch::Partial);
    assert!(web.full_command, "parameters mean the command line");
    assert_eq!(web.terminate_delay, Duration::from_millis(500));
    assert_eq!(web.fork_delay, Duration::ZERO);
    assert_eq!((web.quorum, web.quorum_max), (1, u32::MAX));
    let db = &ps[1];
    assert_eq!((db.param_match, db.full_command), (ParamMatch::None, false));
    assert_eq!((db.quorum, db.quorum_max), (2, 3));
}

fn priority_changes(effects: &[Effect]) -> Vec<u8> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Instance {
                action: Action::PriorityChanged { to, .. },
                ..
            } => Some(*to),
            _ => None,
        })
        .collect()
}

#[test]
fn counts_move_the_priority_after_the_delay_and_weight_0_faults() {
    let cfg = load(CONF);
    let spec = instance_spec(&cfg.vrrp_instances[0], &cfg).expect("spec");
    let mut node = Node::new();
    node.configure_processes(processes(&cfg));
    let i = node.add_instance(spec, ms(0));
    node.handle(
        Event::Link {
            interface: "eth0".into(),
            up: true,
        },
        ms(0),
    );
    let count = |p: &str, n: u32, cause| Event::ProcessCount {
        process: p.into(),
        count: n,
        cause,
    };
    node.handle(count("web", 1, CountCause::Scan), ms(0));
    node.handle(count("db", 2, CountCause::Scan), ms(0));
    node.handle(Event::Startup { instance: i }, ms(0));
    assert!(node.fault_causes(i).is_empty());
    assert_eq!(node.instance(i).map(|f| f.effective_priority()), Some(150));

    let status = node.instance_status(i).expect("status");
    let web = status
        .tracked
        .iter()
        .find(|t| t.name == "web")
        .expect("web");
    assert_eq!(
        (web.kind, web.state.as_str()),
        ("process", "up (1 running)")
    );

    // web exits: nothing before terminate_delay, then 150 - 60.
    let out = node.handle(count("web", 0, CountCause::Exit), ms(1000));
    assert!(priority_changes(&out).is_empty(), "{out:?}");
    assert_eq!(node.next_deadline(), Some(ms(1500)));
    let out = node.fire_timers(ms(1500), ms(1500));
    assert_eq!(priority_changes(&out), [90]);

    // Restarted (exec): back at once.
    let out = node.handle(count("web", 1, CountCause::Exec), ms(2000));
    assert_eq!(priority_changes(&out), [150]);

    // db above quorum_max (weight 0): FAULT; back in range: cleared.
    node.handle(count("db", 4, CountCause::Exec), ms(3000));
    assert_eq!(node.fault_causes(i), [FaultCause::Process("db".into())]);
    assert_eq!(node.instance(i).map(|f| f.state()), Some(State::Fault));
    node.handle(count("db", 3, CountCause::Exit), ms(3100));
    assert!(node.fault_causes(i).is_empty());
}
