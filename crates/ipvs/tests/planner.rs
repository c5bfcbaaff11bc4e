// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The planner against an in-memory model of the kernel's IPVS table:
//! hand-written cases for the rules keepalived relies on, then randomized
//! tables from a small deterministic generator.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_ipvs::model::{
    DestKey, Destination, Family, Forward, Op, Protocol, Service, ServiceEntry, ServiceKey, Table,
    Timeouts, Tunnel, TunnelType, svc_flags,
};
use keepalived_ipvs::planner::{
    Owned, PlanOptions, plan, plan_timeouts, same_dest_settings, same_service_settings,
};

// ===== the kernel, in memory =====

/// What `ip_vs_ctl.c` does with each command, reduced to the table: an add
/// of something that exists fails (EEXIST), an edit or delete of something
/// missing fails (ESRCH for services, ENOENT for destinations), deleting a
/// service unlinks its destinations.
#[derive(Debug, Clone, Default, PartialEq)]
struct Kernel {
    services: BTreeMap<ServiceKey, (Service, BTreeMap<DestKey, Destination>)>,
}

impl Kernel {
    fn from_table(t: &Table) -> Self {
        let mut k = Kernel::default();
        for e in &t.services {
            let mut ds = BTreeMap::new();
            for d in &e.dests {
                ds.insert(d.key, d.clone());
            }
            // The kernel reports HASHED on every service it holds.
            let mut svc = e.service.clone();
            svc.flags |= svc_flags::HASHED;
            k.services.insert(e.service.key, (svc, ds));
        }
        k
    }

    fn apply(&mut self, op: &Op) -> Result<(), String> {
        match op {
            Op::Flush => self.services.clear(),
            Op::AddService(s) => {
                if self.services.contains_key(&s.key) {
                    return Err(format!("EEXIST service {}", s.key));
                }
                let mut s = s.clone();
                s.flags |= svc_flags::HASHED;
                self.services.insert(s.key, (s, BTreeMap::new()));
            }
            Op::SetService(s) => {
                let (cur, _) = self
                    .services
                    .get_mut(&s.key)
                    .ok_or(format!("ESRCH set {}", s.key))?;
                *cur = s.clone();
                cur.flags |= svc_flags::HASHED;
            }
            Op::DelService(k) => {
                self.services.remove(k).ok_or(format!("ESRCH del {k}"))?;
            }
            Op::AddDest(k, d) => {
                let (_, ds) = self
                    .services
                    .get_mut(k)
                    .ok_or(format!("ESRCH adddest {k}"))?;
                if ds.contains_key(&d.key) {
                    return Err(format!("EEXIST dest {:?}", d.key));
                }
                ds.insert(d.key, d.clone());
            }
            Op::SetDest(k, d) => {
                let (_, ds) = self
                    .services
                    .get_mut(k)
                    .ok_or(format!("ESRCH setdest {k}"))?;
                let cur = ds.get_mut(&d.key).ok_or(format!("ENOENT {:?}", d.key))?;
                *cur = d.clone();
            }
            Op::DelDest(k, dk) => {
                let (_, ds) = self
                    .services
                    .get_mut(k)
                    .ok_or(format!("ESRCH deldest {k}"))?;
                ds.remove(dk).ok_or(format!("ENOENT {dk:?}"))?;
            }
            Op::SetTimeouts(_) | Op::StartDaemon(_) | Op::StopDaemon(_) => {}
        }
        Ok(())
    }
}

fn run(desired: &Table, current: &Table, owned: &Owned, opts: PlanOptions) -> (Vec<Op>, Kernel) {
    let ops = plan(desired, current, owned, opts);
    let mut k = Kernel::from_table(current);
    for op in &ops {
        if let Err(e) = k.apply(op) {
            panic!("op {op:?} failed in the kernel model: {e}\nall ops: {ops:#?}");
        }
    }
    (ops, k)
}

// ===== builders =====

fn v4(s: &str) -> IpAddr {
    IpAddr::V4(s.parse::<Ipv4Addr>().unwrap_or(Ipv4Addr::UNSPECIFIED))
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: v4(addr),
        port,
    }
}

fn svc(key: ServiceKey, sched: &str) -> Service {
    Service {
        key,
        scheduler: sched.into(),
        flags: 0,
        timeout: 0,
        netmask: if key.family() == Family::Inet6 {
            128
        } else {
            u32::MAX
        },
        pe_name: None,
    }
}

fn dest(addr: &str, port: u16, weight: u32) -> Destination {
    Destination {
        key: DestKey {
            addr: v4(addr),
            port,
        },
        forward: Forward::Masq,
        weight,
        u_threshold: 0,
        l_threshold: 0,
        tunnel: None,
    }
}

fn table(entries: Vec<(Service, Vec<Destination>)>) -> Table {
    Table {
        services: entries
            .into_iter()
            .map(|(service, dests)| ServiceEntry { service, dests })
            .collect(),
    }
}

// ===== cases =====

#[test]
fn empty_kernel_gets_services_before_their_dests() {
    let k = tcp("192.0.2.10", 80);
    let want = table(vec![(
        svc(k, "rr"),
        vec![dest("198.51.100.1", 80, 1), dest("198.51.100.2", 80, 2)],
    )]);
    let (ops, kern) = run(
        &want,
        &Table::default(),
        &Owned::new(),
        PlanOptions::default(),
    );
    assert_eq!(
        ops,
        vec![
            Op::AddService(svc(k, "rr")),
            Op::AddDest(k, dest("198.51.100.1", 80, 1)),
            Op::AddDest(k, dest("198.51.100.2", 80, 2)),
        ]
    );
    assert_eq!(kern.services.len(), 1);
}

#[test]
fn identical_table_is_adopted_without_ops() {
    let k = tcp("192.0.2.10", 80);
    let t = table(vec![(svc(k, "wlc"), vec![dest("198.51.100.1", 80, 1)])]);
    let mut kernel_view = t.clone();
    // As dumped: the kernel adds HASHED.
    kernel_view.services[0].service.flags |= svc_flags::HASHED;
    assert!(plan(&t, &kernel_view, &Owned::of(&t), PlanOptions::default()).is_empty());
}

#[test]
fn weight_change_is_exactly_one_set_dest() {
    let k = tcp("192.0.2.10", 80);
    let cur = table(vec![(
        svc(k, "wrr"),
        vec![dest("198.51.100.1", 80, 1), dest("198.51.100.2", 80, 1)],
    )]);
    let want = table(vec![(
        svc(k, "wrr"),
        vec![dest("198.51.100.1", 80, 1), dest("198.51.100.2", 80, 0)],
    )]);
    let ops = plan(&want, &cur, &Owned::of(&cur), PlanOptions::default());
    assert_eq!(ops, vec![Op::SetDest(k, dest("198.51.100.2", 80, 0))]);
}

#[test]
fn removed_real_server_is_one_del_dest() {
    let k = tcp("192.0.2.10", 80);
    let cur = table(vec![(
        svc(k, "rr"),
        vec![dest("198.51.100.1", 80, 1), dest("198.51.100.2", 80, 1)],
    )]);
    let want = table(vec![(svc(k, "rr"), vec![dest("198.51.100.1", 80, 1)])]);
    let ops = plan(&want, &cur, &Owned::of(&cur), PlanOptions::default());
    assert_eq!(
        ops,
        vec![Op::DelDest(
            k,
            DestKey {
                addr: v4("198.51.100.2"),
                port: 80
            }
        )]
    );
}

#[test]
fn removed_virtual_server_is_one_del_service_and_its_dests_go_with_it() {
    let a = tcp("192.0.2.10", 80);
    let b = tcp("192.0.2.11", 443);
    let cur = table(vec![
        (svc(a, "rr"), vec![dest("198.51.100.1", 80, 1)]),
        (
            svc(b, "rr"),
            vec![dest("198.51.100.1", 443, 1), dest("198.51.100.2", 443, 1)],
        ),
    ]);
    let want = table(vec![(svc(a, "rr"), vec![dest("198.51.100.1", 80, 1)])]);
    let (ops, kern) = run(&want, &cur, &Owned::of(&cur), PlanOptions::default());
    assert_eq!(ops, vec![Op::DelService(b)]);
    assert!(!kern.services.contains_key(&b));
}

#[test]
fn foreign_services_are_left_alone_unless_flushing() {
    let ours = tcp("192.0.2.10", 80);
    let theirs = tcp("203.0.113.5", 8080);
    let cur = table(vec![(
        svc(theirs, "lc"),
        vec![dest("198.51.100.9", 8080, 3)],
    )]);
    let want = table(vec![(svc(ours, "rr"), vec![dest("198.51.100.1", 80, 1)])]);
    let (ops, kern) = run(&want, &cur, &Owned::of(&want), PlanOptions::default());
    assert!(
        ops.iter()
            .all(|op| !matches!(op, Op::DelService(k) if *k == theirs))
    );
    assert!(kern.services.contains_key(&theirs));

    let (ops, kern) = run(&want, &cur, &Owned::of(&want), PlanOptions { flush: true });
    assert_eq!(ops.first(), Some(&Op::Flush));
    assert!(!kern.services.contains_key(&theirs));
    assert!(kern.services.contains_key(&ours));
}

#[test]
fn service_named_by_config_is_adopted_and_fixed() {
    // Someone else created our service with another scheduler and an
    // extra destination: we own it now.
    let k = tcp("192.0.2.10", 80);
    let cur = table(vec![(
        svc(k, "lc"),
        vec![dest("198.51.100.1", 80, 1), dest("198.51.100.7", 80, 1)],
    )]);
    let want = table(vec![(svc(k, "rr"), vec![dest("198.51.100.1", 80, 1)])]);
    let (ops, _) = run(&want, &cur, &Owned::new(), PlanOptions::default());
    assert_eq!(
        ops,
        vec![
            Op::SetService(svc(k, "rr")),
            Op::DelDest(
                k,
                DestKey {
                    addr: v4("198.51.100.7"),
                    port: 80
                }
            ),
        ]
    );
}

#[test]
fn forwarding_and_tunnel_changes_are_set_dest() {
    let k = tcp("192.0.2.10", 80);
    let mut d = dest("198.51.100.1", 80, 1);
    d.forward = Forward::Tunnel;
    let cur = table(vec![(svc(k, "rr"), vec![d.clone()])]);
    let mut gue = d.clone();
    gue.tunnel = Some(Tunnel {
        tun_type: TunnelType::Gue,
        port: 6080,
        flags: 1,
    });
    let want = table(vec![(svc(k, "rr"), vec![gue.clone()])]);
    assert_eq!(
        plan(&want, &cur, &Owned::new(), PlanOptions::default()),
        vec![Op::SetDest(k, gue)]
    );
    // Plain IPIP written either way is the same.
    let mut ipip = d.clone();
    ipip.tunnel = Some(Tunnel {
        tun_type: TunnelType::Ipip,
        port: 0,
        flags: 0,
    });
    assert!(same_dest_settings(&d, &ipip));
}

#[test]
fn persistence_change_is_set_service() {
    let k = tcp("192.0.2.10", 80);
    let cur = table(vec![(svc(k, "rr"), vec![])]);
    let mut p = svc(k, "rr");
    p.flags = svc_flags::PERSISTENT;
    p.timeout = 300;
    p.netmask = 0xffff_ff00;
    let want = table(vec![(p.clone(), vec![])]);
    assert_eq!(
        plan(&want, &cur, &Owned::new(), PlanOptions::default()),
        vec![Op::SetService(p)]
    );
}

#[test]
fn timeouts_only_when_a_set_value_differs() {
    let cur = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    assert_eq!(plan_timeouts(Timeouts::default(), cur), None);
    let same = Timeouts {
        tcp: 900,
        tcp_fin: 0,
        udp: 0,
    };
    assert_eq!(plan_timeouts(same, cur), None);
    let want = Timeouts {
        tcp: 7200,
        tcp_fin: 0,
        udp: 0,
    };
    assert_eq!(plan_timeouts(want, cur), Some(Op::SetTimeouts(want)));
}

// ===== randomized =====

/// SplitMix64: small, deterministic, good enough to shuffle tables.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len() as u64) as usize]
    }
}

/// Keys drawn from a small pool so that desired, current and owned overlap.
fn random_key(r: &mut Rng) -> ServiceKey {
    match r.below(4) {
        0 => ServiceKey::Fwmark {
            family: if r.chance(50) {
                Family::Inet
            } else {
                Family::Inet6
            },
            mark: 1 + r.below(3) as u32,
        },
        1 => ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: IpAddr::V6(Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0,
                0,
                0,
                0,
                1 + r.below(3) as u16,
            )),
            port: 53,
        },
        _ => ServiceKey::Addr {
            protocol: *r.pick(&[Protocol::Tcp, Protocol::Udp, Protocol::Sctp]),
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1 + r.below(4) as u8)),
            port: *r.pick(&[80, 443]),
        },
    }
}

fn random_service(r: &mut Rng, key: ServiceKey) -> Service {
    let sched: &&str = r.pick(&["rr", "wlc", "sh", "mh"]);
    let mut s = svc(key, sched);
    if r.chance(30) {
        s.flags |= svc_flags::PERSISTENT;
        s.timeout = *r.pick(&[60, 300]);
    }
    if r.chance(20) {
        s.flags |= svc_flags::SCHED1;
    }
    s
}

fn random_dest(r: &mut Rng) -> Destination {
    let mut d = dest("198.51.100.1", 80, r.below(4) as u32);
    d.key = DestKey {
        addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1 + r.below(5) as u8)),
        port: *r.pick(&[0, 80, 8080]),
    };
    d.forward = *r.pick(&[Forward::Masq, Forward::Route, Forward::Tunnel]);
    if d.forward == Forward::Tunnel && r.chance(50) {
        d.tunnel = Some(Tunnel {
            tun_type: TunnelType::Gue,
            port: 6080,
            flags: r.below(3) as u16,
        });
    }
    if r.chance(20) {
        d.u_threshold = 100;
    }
    d
}

fn random_table(r: &mut Rng) -> Table {
    let mut seen = BTreeSet::new();
    let mut t = Table::default();
    for _ in 0..r.below(6) {
        let key = random_key(r);
        if !seen.insert(key) {
            continue;
        }
        let mut dseen = BTreeSet::new();
        let mut dests = Vec::new();
        for _ in 0..r.below(5) {
            let d = random_dest(r);
            if dseen.insert(d.key) {
                dests.push(d);
            }
        }
        t.services.push(ServiceEntry {
            service: random_service(r, key),
            dests,
        });
    }
    t
}

/// `current` derived from `desired` by random edits, plus foreign services,
/// so that most runs exercise adoption, sets and deletes together.
fn perturb(r: &mut Rng, desired: &Table) -> Table {
    let mut t = Table::default();
    for e in &desired.services {
        if r.chance(20) {
            continue;
        }
        let mut e = e.clone();
        if r.chance(25) {
            e.service.scheduler = "lc".into();
        }
        e.dests.retain(|_| !r.chance(20));
        for d in &mut e.dests {
            if r.chance(20) {
                d.weight += 1;
            }
        }
        if r.chance(30) {
            let d = random_dest(r);
            if e.dests.iter().all(|x| x.key != d.key) {
                e.dests.push(d);
            }
        }
        t.services.push(e);
    }
    for e in random_table(r).services {
        if t.services.iter().all(|x| x.service.key != e.service.key) {
            t.services.push(e);
        }
    }
    t
}

/// The number of ops the difference needs, counted independently of the
/// planner: one per stale owned service, one per new service and each of its
/// destinations, one per changed service, one per stale, changed or new
/// destination of a kept service.
fn expected_op_count(desired: &Table, current: &Table, owned: &Owned) -> usize {
    let want = Kernel::from_table(desired);
    let have = Kernel::from_table(current);
    let mut n = 0;
    for k in have.services.keys() {
        if !want.services.contains_key(k) && owned.contains(k) {
            n += 1;
        }
    }
    for (k, (ws, wd)) in &want.services {
        match have.services.get(k) {
            None => n += 1 + wd.len(),
            Some((hs, hd)) => {
                if !same_service_settings(ws, hs) {
                    n += 1;
                }
                for (dk, d) in wd {
                    match hd.get(dk) {
                        None => n += 1,
                        Some(h) if !same_dest_settings(d, h) => n += 1,
                        Some(_) => {}
                    }
                }
                n += hd.keys().filter(|dk| !wd.contains_key(dk)).count();
            }
        }
    }
    n
}

fn equivalent(
    a: &(Service, BTreeMap<DestKey, Destination>),
    b: &(Service, BTreeMap<DestKey, Destination>),
) -> bool {
    same_service_settings(&a.0, &b.0)
        && a.1.len() == b.1.len()
        && a.1
            .iter()
            .all(|(k, d)| b.1.get(k).is_some_and(|e| same_dest_settings(d, e)))
}

#[test]
fn random_tables_converge_on_what_we_own_and_leave_the_rest() {
    let mut r = Rng(0x6b65_6570_616c_6976);
    for round in 0..3000 {
        let desired = random_table(&mut r);
        let current = if r.chance(70) {
            perturb(&mut r, &desired)
        } else {
            random_table(&mut r)
        };
        // Previously owned: some of what the kernel holds.
        let mut owned = Owned::new();
        for e in &current.services {
            if r.chance(40) {
                owned.insert(e.service.key);
            }
        }
        let flush = r.chance(5);
        let (ops, kern) = run(&desired, &current, &owned, PlanOptions { flush });

        let want = Kernel::from_table(&desired);
        let before = Kernel::from_table(&current);
        for (k, w) in &want.services {
            let got = kern
                .services
                .get(k)
                .unwrap_or_else(|| panic!("round {round}: {k} missing after plan"));
            assert!(
                equivalent(w, got),
                "round {round}: {k} differs: {got:?} vs {w:?}"
            );
        }
        for (k, b) in &before.services {
            if want.services.contains_key(k) {
                continue;
            }
            let gone = !kern.services.contains_key(k);
            if flush || owned.contains(k) {
                assert!(gone, "round {round}: owned {k} not deleted");
            } else {
                assert_eq!(
                    kern.services.get(k),
                    Some(b),
                    "round {round}: foreign {k} touched"
                );
            }
        }
        let expected = if flush {
            1 + desired
                .services
                .iter()
                .map(|e| 1 + e.dests.len())
                .sum::<usize>()
        } else {
            expected_op_count(&desired, &current, &owned)
        };
        assert_eq!(ops.len(), expected, "round {round}: {ops:#?}");

        // Planning again against the result is a no-op.
        let again = Table {
            services: kern
                .services
                .values()
                .map(|(s, ds)| ServiceEntry {
                    service: s.clone(),
                    dests: ds.values().cloned().collect(),
                })
                .collect(),
        };
        assert!(
            plan(&desired, &again, &owned, PlanOptions::default()).is_empty(),
            "round {round}: second plan not empty"
        );
    }
}
