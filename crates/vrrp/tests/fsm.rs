// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Transition tables for the VRRP state machine: each case is a setup,
//! a list of timed inputs and the exact actions / state / next deadline
//! expected after the last one.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use keepalived_vrrp::fsm::Instant;
use keepalived_vrrp::fsm::timers::{master_down, skew, skew_min};
use keepalived_vrrp::fsm::{
    Action, GarpReason, InitialState, Input, Instance, InstanceParams, RxAdvert, State, Version,
};

const OURS: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 10);

fn at_us(us: u64) -> Instant {
    Instant::from_micros(us)
}

fn at_ms(ms: u64) -> Instant {
    at_us(ms * 1000)
}

fn params(priority: u8) -> InstanceParams {
    InstanceParams {
        name: "VI_1".into(),
        priority,
        src_addr: Some(IpAddr::V4(OURS)),
        ..InstanceParams::default()
    }
}

fn adv(last_octet: u8, priority: u8) -> Input {
    adv_int(last_octet, priority, 100)
}

fn adv_int(last_octet: u8, priority: u8, cs: u16) -> Input {
    Input::Advert(RxAdvert {
        src: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last_octet)),
        priority,
        max_advert_int_cs: cs,
    })
}

fn changed(from: State, to: State, priority: u8) -> Action {
    Action::StateChanged { from, to, priority }
}

fn advert(priority: u8) -> Action {
    Action::SendAdvert { priority }
}

fn garp(rounds: u32, reason: GarpReason) -> Action {
    Action::SendGarp { rounds, reason }
}

/// The four actions of a takeover, in keepalived's order.
fn takeover(from: State, priority: u8) -> Vec<Action> {
    vec![
        advert(priority),
        Action::AddVips,
        garp(5, GarpReason::BecomeMaster),
        changed(from, State::Master, priority),
    ]
}

/// Runs `steps` on a fresh instance; returns it and the last step's actions.
fn run(p: InstanceParams, steps: &[(Instant, Input)]) -> (Instance, Vec<Action>) {
    let mut i = Instance::new(p, Instant::ZERO);
    let mut last = Vec::new();
    for (now, input) in steps {
        last = i.handle(input.clone(), *now);
    }
    (i, last)
}

/// A backup at priority 100 that has become master at t = 3.609375 s.
fn master_steps() -> Vec<(Instant, Input)> {
    vec![(at_ms(0), Input::Startup), (at_us(3_609_375), Input::Timer)]
}

struct Case {
    name: &'static str,
    params: InstanceParams,
    steps: Vec<(Instant, Input)>,
    actions: Vec<Action>,
    state: State,
    deadline: Option<Instant>,
}

fn check(cases: Vec<Case>) {
    for c in cases {
        let (i, actions) = run(c.params, &c.steps);
        assert_eq!(actions, c.actions, "{}: actions", c.name);
        assert_eq!(i.state(), c.state, "{}: state", c.name);
        assert_eq!(i.next_deadline(), c.deadline, "{}: deadline", c.name);
    }
}

#[test]
fn timer_formulas_match_keepalived() {
    let s1 = Duration::from_secs(1);
    // v2: (256 - p) / 256 s regardless of the interval.
    assert_eq!(skew(Version::V2, 100, s1), Duration::from_micros(609_375));
    assert_eq!(
        skew(Version::V2, 100, s1 * 5),
        Duration::from_micros(609_375)
    );
    assert_eq!(skew(Version::V2, 255, s1), Duration::from_micros(3_906));
    assert_eq!(skew_min(Version::V2, s1), Duration::from_micros(3_906));
    assert_eq!(
        master_down(Version::V2, 100, s1, 3),
        Duration::from_micros(3_609_375)
    );
    assert_eq!(
        master_down(Version::V2, 150, s1, 3),
        Duration::from_micros(3_414_062)
    );
    // v3: scaled by the interval, truncated to whole centiseconds first.
    let cs = Duration::from_millis(10);
    assert_eq!(skew(Version::V3, 100, s1), Duration::from_micros(609_375));
    assert_eq!(
        skew(Version::V3, 100, cs * 10),
        Duration::from_micros(60_937)
    );
    assert_eq!(skew(Version::V3, 100, cs), Duration::from_micros(6_093));
    assert_eq!(
        skew(Version::V3, 100, Duration::from_micros(19_999)),
        Duration::from_micros(6_093)
    );
    assert_eq!(skew_min(Version::V3, s1), Duration::from_micros(3_906));
    assert_eq!(
        master_down(Version::V3, 100, cs, 3),
        Duration::from_micros(36_093)
    );
    assert_eq!(
        master_down(Version::V3, 100, cs, 5),
        Duration::from_micros(56_093)
    );
}

#[test]
fn startup() {
    let v3 = InstanceParams {
        version: Version::V3,
        advert_int: Duration::from_millis(100),
        ..params(100)
    };
    check(vec![
        Case {
            name: "backup waits master-down",
            params: params(100),
            steps: vec![(at_ms(0), Input::Startup)],
            actions: vec![changed(State::Init, State::Backup, 100)],
            state: State::Backup,
            deadline: Some(at_us(3_609_375)),
        },
        Case {
            name: "v3 backup waits 3 intervals + scaled skew",
            params: v3,
            steps: vec![(at_ms(1000), Input::Startup)],
            actions: vec![changed(State::Init, State::Backup, 100)],
            state: State::Backup,
            deadline: Some(at_us(1_000_000 + 360_937)),
        },
        Case {
            name: "state MASTER + owner is master at once",
            params: InstanceParams {
                initial_state: InitialState::Master,
                ..params(255)
            },
            steps: vec![(at_ms(0), Input::Startup)],
            actions: takeover(State::Init, 255),
            state: State::Master,
            deadline: Some(at_ms(1000)),
        },
        Case {
            name: "state MASTER below 255 waits one interval + minimum skew",
            params: InstanceParams {
                initial_state: InitialState::Master,
                ..params(150)
            },
            steps: vec![(at_ms(0), Input::Startup)],
            actions: vec![changed(State::Init, State::Backup, 150)],
            state: State::Backup,
            deadline: Some(at_us(1_003_906)),
        },
        Case {
            name: "owner configured BACKUP waits master-down",
            params: params(255),
            steps: vec![(at_ms(0), Input::Startup)],
            actions: vec![changed(State::Init, State::Backup, 255)],
            state: State::Backup,
            deadline: Some(at_us(3_003_906)),
        },
        Case {
            name: "fault before startup starts in FAULT",
            params: params(100),
            steps: vec![(at_ms(0), Input::FaultSet), (at_ms(0), Input::Startup)],
            actions: vec![changed(State::Init, State::Fault, 100)],
            state: State::Fault,
            deadline: None,
        },
        Case {
            name: "vrrp_startup_delay postpones the first master-down",
            params: InstanceParams {
                startup_delay: Duration::from_secs(10),
                ..params(100)
            },
            steps: vec![(at_ms(0), Input::Startup)],
            actions: vec![changed(State::Init, State::Backup, 100)],
            state: State::Backup,
            deadline: Some(at_us(13_609_375)),
        },
        Case {
            name: "master-down expiry takes over: advert, VIPs, GARP, notify",
            params: params(100),
            steps: master_steps(),
            actions: takeover(State::Backup, 100),
            state: State::Master,
            deadline: Some(at_us(4_609_375)),
        },
        Case {
            name: "an early timer does nothing",
            params: params(100),
            steps: vec![(at_ms(0), Input::Startup), (at_ms(3000), Input::Timer)],
            actions: vec![],
            state: State::Backup,
            deadline: Some(at_us(3_609_375)),
        },
    ]);
}

#[test]
fn backup_receives() {
    let start = || vec![(at_ms(0), Input::Startup)];
    let with = |mut s: Vec<(Instant, Input)>, more: Vec<(Instant, Input)>| {
        s.extend(more);
        s
    };
    check(vec![
        Case {
            name: "priority 0: master-down becomes the skew",
            params: params(100),
            steps: with(start(), vec![(at_ms(2000), adv(20, 0))]),
            actions: vec![],
            state: State::Backup,
            deadline: Some(at_us(2_609_375)),
        },
        Case {
            name: "higher priority restarts master-down",
            params: params(100),
            steps: with(start(), vec![(at_ms(2000), adv(20, 200))]),
            actions: vec![],
            state: State::Backup,
            deadline: Some(at_us(5_609_375)),
        },
        Case {
            name: "equal priority is a valid master too",
            params: params(100),
            steps: with(start(), vec![(at_ms(2000), adv(5, 100))]),
            actions: vec![],
            state: State::Backup,
            deadline: Some(at_us(5_609_375)),
        },
        Case {
            name: "lower priority is discarded (preempt)",
            params: params(100),
            steps: with(start(), vec![(at_ms(2000), adv(20, 50))]),
            actions: vec![],
            state: State::Backup,
            deadline: Some(at_us(3_609_375)),
        },
        Case {
            name: "nopreempt accepts a lower-priority master",
            params: InstanceParams {
                nopreempt: true,
                ..params(100)
            },
            steps: with(start(), vec![(at_ms(2000), adv(20, 50))]),
            actions: vec![],
            state: State::Backup,
            deadline: Some(at_us(5_609_375)),
        },
        Case {
            name: "v3 adopts the master's interval",
            params: InstanceParams {
                version: Version::V3,
                ..params(100)
            },
            steps: with(start(), vec![(at_ms(2000), adv_int(20, 200, 50))]),
            actions: vec![],
            state: State::Backup,
            // 3 × 0.5 s + (156 × 50 × 625 / 16) µs.
            deadline: Some(at_us(2_000_000 + 1_500_000 + 304_687)),
        },
        Case {
            name: "v2 ignores the advert's interval",
            params: params(100),
            steps: with(start(), vec![(at_ms(2000), adv_int(20, 200, 50))]),
            actions: vec![],
            state: State::Backup,
            deadline: Some(at_us(5_609_375)),
        },
        Case {
            name: "adverts are ignored in FAULT",
            params: params(100),
            steps: with(
                start(),
                vec![(at_ms(1000), Input::FaultSet), (at_ms(2000), adv(20, 0))],
            ),
            actions: vec![],
            state: State::Fault,
            deadline: None,
        },
    ]);
}

#[test]
fn preempt_delay() {
    let p = InstanceParams {
        preempt_delay: Duration::from_secs(10),
        ..params(100)
    };
    // Within the delay after startup a lower master is accepted ...
    let mut i = Instance::new(p.clone(), Instant::ZERO);
    i.handle(Input::Startup, at_ms(0));
    i.handle(adv(20, 50), at_ms(3000));
    assert_eq!(i.next_deadline(), Some(at_us(6_609_375)));
    i.handle(adv(20, 50), at_ms(9000));
    assert_eq!(i.next_deadline(), Some(at_us(12_609_375)));
    // ... after it, discarded, so master-down runs out and we preempt.
    i.handle(adv(20, 50), at_ms(10_500));
    assert_eq!(i.next_deadline(), Some(at_us(12_609_375)));
    assert_eq!(
        i.handle(Input::Timer, at_us(12_609_375)),
        takeover(State::Backup, 100)
    );

    // A higher master stops the delay; the next lower one restarts it.
    let mut i = Instance::new(p, Instant::ZERO);
    i.handle(Input::Startup, at_ms(0));
    i.handle(adv(20, 200), at_ms(1000));
    i.handle(adv(20, 50), at_ms(20_000));
    i.handle(adv(20, 50), at_ms(29_000));
    assert_eq!(i.next_deadline(), Some(at_us(32_609_375)), "still delaying");
    i.handle(adv(20, 50), at_ms(30_001));
    assert_eq!(i.next_deadline(), Some(at_us(32_609_375)), "delay over");
}

#[test]
fn master_receives() {
    let with = |more: Vec<(Instant, Input)>| {
        let mut s = master_steps();
        s.extend(more);
        s
    };
    let t = at_ms(4000);
    check(vec![
        Case {
            name: "higher priority: release VIPs, back to BACKUP",
            params: params(100),
            steps: with(vec![(t, adv(20, 200))]),
            actions: vec![Action::DelVips, changed(State::Master, State::Backup, 100)],
            state: State::Backup,
            deadline: Some(at_us(7_609_375)),
        },
        Case {
            name: "equal priority, higher address wins",
            params: params(100),
            steps: with(vec![(t, adv(20, 100))]),
            actions: vec![Action::DelVips, changed(State::Master, State::Backup, 100)],
            state: State::Backup,
            deadline: Some(at_us(7_609_375)),
        },
        Case {
            name: "equal priority, lower address: stay and assert ourselves",
            params: params(100),
            steps: with(vec![(t, adv(5, 100))]),
            actions: vec![
                advert(100),
                garp(5, GarpReason::LowerPriority),
                Action::MasterRxLowerPriority {
                    from: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 5)),
                    priority: 100,
                },
            ],
            state: State::Master,
            deadline: Some(at_ms(5000)),
        },
        Case {
            name: "lower priority: advert, GARP, notify_master_rx_lower_pri",
            params: params(100),
            steps: with(vec![(t, adv(20, 50))]),
            actions: vec![
                advert(100),
                garp(5, GarpReason::LowerPriority),
                Action::MasterRxLowerPriority {
                    from: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)),
                    priority: 50,
                },
            ],
            state: State::Master,
            deadline: Some(at_ms(5000)),
        },
        Case {
            name: "lower priority with lower_prio_no_advert and no GARP",
            params: InstanceParams {
                lower_prio_no_advert: true,
                garp: keepalived_vrrp::fsm::GarpParams {
                    lower_prio_repeat: 0,
                    ..Default::default()
                },
                ..params(100)
            },
            steps: with(vec![(t, adv(20, 50))]),
            actions: vec![Action::MasterRxLowerPriority {
                from: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 20)),
                priority: 50,
            }],
            state: State::Master,
            deadline: Some(at_us(4_609_375)),
        },
        Case {
            name: "priority 0: answer with an advert, stay",
            params: params(100),
            steps: with(vec![(t, adv(20, 0))]),
            actions: vec![advert(100)],
            state: State::Master,
            deadline: Some(at_ms(5000)),
        },
        Case {
            name: "higher_prio_send_advert sends one advert before yielding",
            params: InstanceParams {
                higher_prio_send_advert: true,
                ..params(100)
            },
            steps: with(vec![(t, adv(20, 200))]),
            actions: vec![
                advert(100),
                Action::DelVips,
                changed(State::Master, State::Backup, 100),
            ],
            state: State::Backup,
            deadline: Some(at_us(7_609_375)),
        },
        Case {
            name: "v3 master yielding adopts the new master's interval",
            params: InstanceParams {
                version: Version::V3,
                ..params(100)
            },
            steps: with(vec![(t, adv_int(20, 200, 200))]),
            actions: vec![Action::DelVips, changed(State::Master, State::Backup, 100)],
            state: State::Backup,
            deadline: Some(at_us(4_000_000 + 6_000_000 + 1_218_750)),
        },
        Case {
            name: "two owners: ours drops to 254 and yields to the higher address",
            params: InstanceParams {
                initial_state: InitialState::Master,
                ..params(255)
            },
            steps: vec![(at_ms(0), Input::Startup), (t, adv(20, 255))],
            actions: vec![Action::DelVips, changed(State::Master, State::Backup, 254)],
            state: State::Backup,
            deadline: Some(at_us(4_000_000 + 3_007_812)),
        },
        Case {
            name: "advert timer: periodic adverts",
            params: params(100),
            steps: with(vec![(at_us(4_609_375), Input::Timer)]),
            actions: vec![advert(100)],
            state: State::Master,
            deadline: Some(at_us(5_609_375)),
        },
    ]);
}

#[test]
fn garp_schedule() {
    let p = InstanceParams {
        garp: keepalived_vrrp::fsm::GarpParams {
            master_delay: Duration::from_secs(5),
            master_repeat: 3,
            master_refresh: Duration::from_millis(2500),
            master_refresh_repeat: 2,
            ..Default::default()
        },
        ..params(100)
    };
    let mut i = Instance::new(p, Instant::ZERO);
    i.handle(Input::Startup, at_ms(0));
    let mut log = Vec::new();
    while let Some(now) = i.next_deadline().filter(|d| *d < at_ms(12_000)) {
        for a in i.handle(Input::Timer, now) {
            if matches!(a, Action::SendGarp { .. }) {
                log.push((now.as_micros(), a));
            }
        }
    }
    let t0 = 3_609_375;
    assert_eq!(
        log,
        vec![
            (t0, garp(3, GarpReason::BecomeMaster)),
            // The refresh rides on the first advert after 2.5 s.
            (t0 + 3_000_000, garp(2, GarpReason::Refresh)),
            (t0 + 5_000_000, garp(3, GarpReason::MasterDelay)),
            (t0 + 6_000_000, garp(2, GarpReason::Refresh)),
        ]
    );

    // Leaving MASTER cancels the delayed burst.
    let mut i = Instance::new(params(100), Instant::ZERO);
    i.handle(Input::Startup, at_ms(0));
    i.handle(Input::Timer, at_us(t0));
    i.handle(adv(20, 200), at_ms(4000));
    assert_eq!(i.next_deadline(), Some(at_us(7_609_375)));
    assert_eq!(
        i.handle(Input::Timer, at_us(t0 + 5_000_000)),
        takeover(State::Backup, 100)
    );
}

#[test]
fn fault_and_stop() {
    let with = |more: Vec<(Instant, Input)>| {
        let mut s = master_steps();
        s.extend(more);
        s
    };
    check(vec![
        Case {
            name: "master fault: priority 0, release, FAULT",
            params: params(100),
            steps: with(vec![(at_ms(4000), Input::FaultSet)]),
            actions: vec![
                advert(0),
                Action::DelVips,
                changed(State::Master, State::Fault, 100),
            ],
            state: State::Fault,
            deadline: None,
        },
        Case {
            name: "fault is idempotent",
            params: params(100),
            steps: with(vec![
                (at_ms(4000), Input::FaultSet),
                (at_ms(4001), Input::FaultSet),
            ]),
            actions: vec![],
            state: State::Fault,
            deadline: None,
        },
        Case {
            name: "backup fault",
            params: params(100),
            steps: vec![(at_ms(0), Input::Startup), (at_ms(1000), Input::FaultSet)],
            actions: vec![changed(State::Backup, State::Fault, 100)],
            state: State::Fault,
            deadline: None,
        },
        Case {
            name: "fault cleared: BACKUP with a full master-down",
            params: params(100),
            steps: with(vec![
                (at_ms(4000), Input::FaultSet),
                (at_ms(9000), Input::FaultCleared),
            ]),
            actions: vec![changed(State::Fault, State::Backup, 100)],
            state: State::Backup,
            deadline: Some(at_us(12_609_375)),
        },
        Case {
            name: "owner leaves FAULT through BACKUP too",
            params: InstanceParams {
                initial_state: InitialState::Master,
                ..params(255)
            },
            steps: vec![
                (at_ms(0), Input::Startup),
                (at_ms(1000), Input::FaultSet),
                (at_ms(2000), Input::FaultCleared),
            ],
            actions: vec![changed(State::Fault, State::Backup, 255)],
            state: State::Backup,
            deadline: Some(at_us(5_003_906)),
        },
        Case {
            name: "master shutdown: priority 0, release, STOP",
            params: params(100),
            steps: with(vec![(at_ms(4000), Input::Shutdown)]),
            actions: vec![
                advert(0),
                Action::DelVips,
                changed(State::Master, State::Stop, 100),
            ],
            state: State::Stop,
            deadline: None,
        },
        Case {
            name: "backup shutdown",
            params: params(100),
            steps: vec![(at_ms(0), Input::Startup), (at_ms(1000), Input::Shutdown)],
            actions: vec![changed(State::Backup, State::Stop, 100)],
            state: State::Stop,
            deadline: None,
        },
        Case {
            name: "nothing happens after STOP",
            params: params(100),
            steps: vec![
                (at_ms(0), Input::Startup),
                (at_ms(1000), Input::Shutdown),
                (at_ms(2000), Input::Startup),
            ],
            actions: vec![],
            state: State::Stop,
            deadline: None,
        },
    ]);
}

#[test]
fn priority_changes() {
    check(vec![
        Case {
            name: "backup raising its priority shortens the running wait",
            params: params(100),
            steps: vec![
                (at_ms(0), Input::Startup),
                (at_ms(1000), Input::PriorityChange { priority: 200 }),
            ],
            actions: vec![Action::PriorityChanged {
                from: 100,
                to: 200,
                state: State::Backup,
            }],
            state: State::Backup,
            // Skew 156/256 s -> 56/256 s.
            deadline: Some(at_us(3_609_375 - 390_625)),
        },
        Case {
            name: "lowering lengthens the running wait (keepalived 2.2.7)",
            params: params(100),
            steps: vec![
                (at_ms(0), Input::Startup),
                (at_ms(1000), Input::PriorityChange { priority: 50 }),
            ],
            actions: vec![Action::PriorityChanged {
                from: 100,
                to: 50,
                state: State::Backup,
            }],
            state: State::Backup,
            // Skew 156/256 s -> 206/256 s (804 687 us, truncated).
            deadline: Some(at_us(3_609_375 + 195_312)),
        },
        Case {
            name: "clamped to 1..=254",
            params: params(100),
            steps: vec![(at_ms(0), Input::PriorityChange { priority: 255 })],
            actions: vec![Action::PriorityChanged {
                from: 100,
                to: 254,
                state: State::Init,
            }],
            state: State::Init,
            deadline: None,
        },
        Case {
            name: "owner ignores tracking",
            params: params(255),
            steps: vec![(at_ms(0), Input::PriorityChange { priority: 10 })],
            actions: vec![],
            state: State::Init,
            deadline: None,
        },
        Case {
            name: "master advertises the new priority at its next tick",
            params: params(100),
            steps: {
                let mut s = master_steps();
                s.push((at_ms(4000), Input::PriorityChange { priority: 90 }));
                s.push((at_us(4_609_375), Input::Timer));
                s
            },
            actions: vec![advert(90)],
            state: State::Master,
            deadline: Some(at_us(5_609_375)),
        },
    ]);
}

#[test]
fn inputs_and_actions_are_serde_data() {
    let inputs = vec![
        Input::Startup,
        adv(20, 100),
        Input::Timer,
        Input::PriorityChange { priority: 9 },
        Input::Reload(Box::new(params(100))),
    ];
    for i in inputs {
        let s = serde_json::to_string(&i).expect("serialize input");
        let back: Input = serde_json::from_str(&s).expect("deserialize input");
        assert_eq!(back, i);
    }
    let (_, actions) = run(params(100), &master_steps());
    let s = serde_json::to_string(&actions).expect("serialize actions");
    let back: Vec<Action> = serde_json::from_str(&s).expect("deserialize actions");
    assert_eq!(back, actions);
    assert!(s.contains(r#""to":"MASTER""#), "{s}");
}

/// A flood of lower-priority adverts (replays, or a peer that cannot hear
/// us) is answered once, at its start, not once per packet: the master's
/// own advert schedule and the notify scripts stay as they were. A new
/// stream after three quiet advert intervals is answered again.
#[test]
fn a_master_answers_a_stream_of_lower_priority_adverts_once() {
    let answered = |from: u8| {
        vec![
            advert(100),
            garp(5, GarpReason::LowerPriority),
            Action::MasterRxLowerPriority {
                from: IpAddr::V4(Ipv4Addr::new(192, 0, 2, from)),
                priority: 50,
            },
        ]
    };
    let mut i = Instance::new(params(100), Instant::ZERO);
    for (now, input) in master_steps() {
        i.handle(input, now);
    }
    assert_eq!(i.state(), State::Master);
    let t = at_ms(4000);
    assert_eq!(i.handle(adv(20, 50), t), answered(20));
    // Answering restarted the advert timer.
    assert_eq!(i.next_deadline(), Some(at_ms(5000)));
    // The stream goes on: nothing sent, nothing run, timer untouched.
    for ms in [1, 10, 500, 999] {
        let now = t + Duration::from_millis(ms);
        assert_eq!(i.handle(adv(21, 50), now), vec![], "at +{ms} ms");
        assert_eq!(i.next_deadline(), Some(at_ms(5000)), "at +{ms} ms");
    }
    // Periodic adverts go on as if nothing had been received.
    assert_eq!(i.handle(Input::Timer, at_ms(5000)), vec![advert(100)]);
    assert_eq!(i.next_deadline(), Some(at_ms(6000)));
    // Still one stream while gaps stay under three intervals.
    for ms in [5_500, 8_000, 10_999] {
        assert_eq!(i.handle(adv(20, 50), at_ms(ms)), vec![], "at {ms} ms");
    }
    // Three quiet intervals: a new stream, answered again.
    assert_eq!(i.handle(adv(20, 50), at_ms(14_000)), answered(20));
    // A higher priority still wins at once, inside a stream.
    let out = i.handle(adv(20, 200), at_ms(14_001));
    assert_eq!(
        out,
        vec![Action::DelVips, changed(State::Master, State::Backup, 100)]
    );
}
