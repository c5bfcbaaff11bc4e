// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The name-resolution core on a virtual clock: HAProxy's schedule,
//! the holds, the outage rule, the start-up rule and the bounds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;
use std::time::Duration;

use keepalived_check::resolve::{Action, Change, LastResult, NameState, Outcome, Settings, Target};
use keepalived_check::time::Instant;

fn settings() -> Settings {
    Settings {
        resolve_retries: 3,
        timeout_resolve: Duration::from_secs(1),
        timeout_retry: Duration::from_millis(300),
        hold_valid: Duration::from_secs(10),
        hold_nx: Duration::from_secs(5),
        hold_obsolete: Duration::ZERO,
        max_addresses: 64,
    }
}

fn ms(v: u64) -> Instant {
    Instant::from_micros(v * 1000)
}

fn a(s: &str) -> Target {
    Target {
        addr: s.parse::<IpAddr>().unwrap(),
        port: 0,
        weight: None,
    }
}

fn valid(addrs: &[&str]) -> Outcome {
    Outcome::Valid {
        targets: addrs.iter().map(|s| a(s)).collect(),
        ttl: 60,
    }
}

/// Polls at `t` until no more query is asked for; the queries sent.
fn run(n: &mut NameState, t: Instant) -> (u32, Vec<Change>) {
    let mut sent = 0;
    let mut changes = Vec::new();
    for _ in 0..10 {
        let (act, ch) = n.poll(t);
        changes.extend(ch);
        match act {
            Some(Action::Query { .. }) => sent += 1,
            None => break,
        }
    }
    (sent, changes)
}

/// Starts a lookup at `t` and answers it at once.
fn lookup(n: &mut NameState, t: Instant, o: Outcome) -> Vec<Change> {
    let (sent, _) = run(n, t);
    assert_eq!(sent, 1, "one query starts the lookup at {t:?}");
    n.answer(o, t)
}

#[test]
fn first_query_at_start_then_one_per_period() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    assert_eq!(n.next_deadline(), ms(0));
    let mut queries = 0;
    for sec in 0..100 {
        let t = ms(sec * 1000);
        let (sent, _) = run(&mut n, t);
        queries += sent;
        n.answer(valid(&["192.0.2.1"]), t + Duration::from_millis(5));
        assert_eq!(n.next_deadline(), t + Duration::from_secs(1));
        // Nothing in between.
        assert_eq!(run(&mut n, t + Duration::from_millis(500)).0, 0);
    }
    assert_eq!(queries, 100, "one query per name per period, no more");
}

#[test]
fn retries_then_timeout_then_next_period() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    assert_eq!(n.poll(ms(0)).0, Some(Action::Query { attempt: 1 }));
    assert_eq!(n.poll(ms(299)).0, None);
    assert_eq!(n.poll(ms(300)).0, Some(Action::Query { attempt: 2 }));
    assert_eq!(n.poll(ms(600)).0, Some(Action::Query { attempt: 3 }));
    let (act, ch) = n.poll(ms(900));
    assert_eq!((act, ch), (None, vec![]));
    assert_eq!(n.status(ms(900)).last_result, LastResult::Timeout);
    // The next lookup is one period after the failed one started.
    assert_eq!(n.next_deadline(), ms(1000));
    assert_eq!(n.poll(ms(1000)).0, Some(Action::Query { attempt: 1 }));
}

#[test]
fn lookups_ended_counts_what_polls_and_answers_end() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    assert_eq!(n.lookups_ended(), 0);
    n.poll(ms(0));
    n.poll(ms(100));
    n.poll(ms(300));
    assert_eq!(n.lookups_ended(), 0, "early polls and retries end nothing");
    n.poll(ms(600));
    n.poll(ms(900));
    assert_eq!(n.lookups_ended(), 1, "the last retry's deadline: a timeout");
    lookup(&mut n, ms(1000), Outcome::Refused);
    lookup(&mut n, ms(2000), valid(&["192.0.2.1"]));
    assert_eq!(n.lookups_ended(), 3);
}

#[test]
fn a_lookup_longer_than_its_period_starts_the_next_at_once() {
    let mut s = settings();
    s.timeout_retry = Duration::from_millis(600);
    let mut n = NameState::new("web.example", s, ms(0));
    run(&mut n, ms(0));
    run(&mut n, ms(600));
    run(&mut n, ms(1200));
    let (sent, _) = run(&mut n, ms(1800));
    assert_eq!(sent, 1, "timeout ends the lookup, the overdue one starts");
    assert_eq!(n.attempt_in_flight(), Some(1));
}

#[test]
fn start_up_rule_no_address_until_a_valid_answer() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    for sec in 0..5 {
        let t = ms(sec * 1000);
        run(&mut n, t);
        assert!(n.answer(Outcome::Timeout, t).is_empty());
    }
    assert!(n.targets().is_empty());
    let ch = lookup(&mut n, ms(5000), valid(&["192.0.2.1"]));
    assert_eq!(ch, vec![Change::Added(a("192.0.2.1"))]);
}

#[test]
fn address_change_add_and_remove() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    lookup(&mut n, ms(0), valid(&["192.0.2.1"]));
    let ch = lookup(&mut n, ms(1000), valid(&["192.0.2.2"]));
    assert_eq!(
        ch,
        vec![
            Change::Added(a("192.0.2.2")),
            Change::Removed(a("192.0.2.1"))
        ]
    );
    let ch = lookup(&mut n, ms(2000), valid(&["192.0.2.2", "192.0.2.3"]));
    assert_eq!(ch, vec![Change::Added(a("192.0.2.3"))]);
    let ch = lookup(&mut n, ms(3000), valid(&["192.0.2.3"]));
    assert_eq!(ch, vec![Change::Removed(a("192.0.2.2"))]);
    let ch = lookup(&mut n, ms(4000), valid(&["192.0.2.3"]));
    assert!(ch.is_empty(), "same answer, no change");
    assert_eq!(n.targets(), vec![a("192.0.2.3")]);
}

#[test]
fn hold_obsolete_keeps_a_vanished_address_for_a_while() {
    let mut s = settings();
    s.hold_obsolete = Duration::from_secs(2);
    let mut n = NameState::new("web.example", s, ms(0));
    lookup(&mut n, ms(0), valid(&["192.0.2.1", "192.0.2.2"]));
    assert!(lookup(&mut n, ms(1000), valid(&["192.0.2.1"])).is_empty());
    // Last named at 0: at two seconds it goes.
    let ch = lookup(&mut n, ms(2000), valid(&["192.0.2.1"]));
    assert_eq!(ch, vec![Change::Removed(a("192.0.2.2"))]);
}

#[test]
fn hold_obsolete_counts_from_the_last_valid_answer_naming_it() {
    let mut s = settings();
    s.hold_obsolete = Duration::from_millis(1500);
    let mut n = NameState::new("web.example", s, ms(0));
    lookup(&mut n, ms(0), valid(&["192.0.2.1", "192.0.2.2"]));
    assert!(lookup(&mut n, ms(1000), valid(&["192.0.2.1"])).is_empty());
    let ch = lookup(&mut n, ms(2000), valid(&["192.0.2.1"]));
    assert_eq!(ch, vec![Change::Removed(a("192.0.2.2"))]);
}

#[test]
fn nxdomain_removes_the_set_after_hold_nx_only() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    lookup(&mut n, ms(0), valid(&["192.0.2.1", "192.0.2.2"]));
    for sec in 1..6 {
        let ch = lookup(&mut n, ms(sec * 1000), Outcome::NxDomain);
        assert!(ch.is_empty(), "held at {sec}s");
    }
    let ch = lookup(&mut n, ms(6000), Outcome::NxDomain);
    assert_eq!(
        ch,
        vec![
            Change::Removed(a("192.0.2.1")),
            Change::Removed(a("192.0.2.2"))
        ]
    );
    assert!(n.targets().is_empty());
    // The name comes back.
    let ch = lookup(&mut n, ms(7000), valid(&["192.0.2.9"]));
    assert_eq!(ch, vec![Change::Added(a("192.0.2.9"))]);
}

#[test]
fn a_valid_answer_restarts_the_nx_hold() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    lookup(&mut n, ms(0), valid(&["192.0.2.1"]));
    for sec in 1..5 {
        lookup(&mut n, ms(sec * 1000), Outcome::NxDomain);
    }
    lookup(&mut n, ms(5000), valid(&["192.0.2.1"]));
    for sec in 6..10 {
        assert!(lookup(&mut n, ms(sec * 1000), Outcome::NxDomain).is_empty());
    }
}

#[test]
fn an_outage_never_removes_anything() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    lookup(&mut n, ms(0), valid(&["192.0.2.1"]));
    let mut t = 1000;
    for o in [Outcome::Timeout, Outcome::Refused, Outcome::Other] {
        for _ in 0..100 {
            assert!(lookup(&mut n, ms(t), o.clone()).is_empty());
            t += 1000;
        }
    }
    // And a nameserver that never answers at all.
    for _ in 0..100 {
        let (_, ch) = run(&mut n, ms(t));
        assert!(ch.is_empty());
        t += 100;
    }
    assert_eq!(n.targets(), vec![a("192.0.2.1")]);
    let st = n.status(ms(t));
    assert!(st.stale, "no valid answer for longer than hold valid");
    assert_eq!(st.counters.refused, 100);
}

#[test]
fn ten_thousand_records_are_bounded_and_counted() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    let targets: Vec<Target> = (0..10_000u32)
        .map(|i| Target {
            addr: IpAddr::from(std::net::Ipv4Addr::from(0xc000_0200u32 + i)),
            port: 0,
            weight: None,
        })
        .collect();
    let ch = lookup(&mut n, ms(0), Outcome::Valid { targets, ttl: 5 });
    assert_eq!(ch.len(), 64);
    assert_eq!(n.targets().len(), 64);
    assert_eq!(n.status(ms(0)).counters.records_dropped, 10_000 - 64);
}

#[test]
fn srv_targets_carry_port_and_weight() {
    let mut n = NameState::new("_http._tcp.example", settings(), ms(0));
    let t = |ip: &str, port, w| Target {
        addr: ip.parse().unwrap(),
        port,
        weight: Some(w),
    };
    let ch = lookup(
        &mut n,
        ms(0),
        Outcome::Valid {
            targets: vec![t("192.0.2.1", 8080, 10), t("192.0.2.2", 8081, 20)],
            ttl: 30,
        },
    );
    assert_eq!(ch.len(), 2);
    let ch = lookup(
        &mut n,
        ms(1000),
        Outcome::Valid {
            targets: vec![t("192.0.2.1", 8080, 5), t("192.0.2.2", 8081, 20)],
            ttl: 30,
        },
    );
    assert_eq!(ch, vec![Change::Reweighted(t("192.0.2.1", 8080, 5))]);
}

#[test]
fn status_shows_ttl_left_and_last_result() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    let st = n.status(ms(0));
    assert_eq!(st.last_result, LastResult::None);
    assert_eq!(st.ttl_left, None);
    lookup(&mut n, ms(0), valid(&["192.0.2.1"]));
    let st = n.status(ms(20_000));
    assert_eq!(st.ttl_left, Some(40));
    assert_eq!(st.last_result, LastResult::Valid);
    assert_eq!(st.addresses, vec![a("192.0.2.1")]);
    assert!(st.stale);
    assert_eq!(st.name, "web.example");
}

#[test]
fn a_seeded_name_keeps_its_addresses_through_an_outage() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    n.seed(&[a("192.0.2.1")], ms(0));
    for sec in 0..5 {
        assert!(lookup(&mut n, ms(sec * 1000), Outcome::Timeout).is_empty());
    }
    assert_eq!(n.targets(), vec![a("192.0.2.1")]);
    let ch = lookup(&mut n, ms(5000), valid(&["192.0.2.2"]));
    assert_eq!(
        ch,
        vec![
            Change::Added(a("192.0.2.2")),
            Change::Removed(a("192.0.2.1"))
        ]
    );
}

#[test]
fn an_answer_with_nothing_in_flight_is_dropped() {
    let mut n = NameState::new("web.example", settings(), ms(0));
    assert!(n.answer(valid(&["192.0.2.1"]), ms(0)).is_empty());
    assert!(n.targets().is_empty());
    assert_eq!(n.status(ms(0)).counters.answers_dropped, 1);
}

mod expansion {
    use std::collections::BTreeMap;
    use std::path::Path;

    use keepalived_check::resolve::{LookupKind, Target, expand, lookups};
    use keepalived_config::Config;
    use keepalived_config::host::FakeHost;

    fn load(text: &str) -> Config {
        let host = FakeHost::with_interfaces(&["eth0"]);
        keepalived_config::load_str(Path::new("t.conf"), text, &Default::default(), &host).config
    }

    const CONF: &str = "\
resolvers dns {
 nameserver ns 192.0.2.53
}
virtual_server 192.0.2.10 80 {
 lvs_sched rr
 protocol TCP
 real_server 192.0.2.1 80 {
 }
 real_server_name web.example 8080 {
  resolvers dns
  weight 3
  TCP_CHECK {
  }
 }
 real_server_name _http._tcp.example {
  resolvers dns
 }
}
virtual_server 2001:db8::10 80 {
 lvs_sched rr
 protocol TCP
 real_server_name web.example {
  resolvers dns
 }
}
virtual_server 192.0.2.11 80 {
 lvs_sched rr
 protocol TCP
 real_server_name web.example {
  resolvers dns
  max_addresses 1
 }
}
";

    fn t(ip: &str, port: u16, weight: Option<u16>) -> Target {
        Target {
            addr: ip.parse().unwrap(),
            port,
            weight,
        }
    }

    #[test]
    fn one_lookup_per_name_type_and_family() {
        let cfg = load(CONF);
        let l = lookups(&cfg);
        let kinds: Vec<(&str, LookupKind)> = l
            .iter()
            .map(|l| (l.key.host.as_str(), l.key.kind))
            .collect();
        assert_eq!(
            kinds,
            vec![
                ("_http._tcp.example", LookupKind::SrvV4),
                ("web.example", LookupKind::A),
                ("web.example", LookupKind::Aaaa),
            ]
        );
        assert_eq!(l[1].max_addresses, 64);
    }

    #[test]
    fn addresses_become_real_servers() {
        let cfg = load(CONF);
        let l = lookups(&cfg);
        let mut sets = BTreeMap::new();
        sets.insert(
            l[0].key.clone(),
            vec![
                t("192.0.2.21", 9000, Some(5)),
                t("192.0.2.22", 9001, Some(0)),
            ],
        );
        sets.insert(
            l[1].key.clone(),
            vec![
                t("192.0.2.1", 0, None),
                t("192.0.2.31", 0, None),
                t("192.0.2.32", 0, None),
            ],
        );
        let out = expand(&cfg, &sets);
        let vs = &out.virtual_servers[0];
        let rs: Vec<(String, u16, u32, usize)> = vs
            .real_servers
            .iter()
            .map(|r| {
                (
                    r.ip.to_string(),
                    r.effective_port(vs),
                    r.effective_weight(vs),
                    r.checkers.len(),
                )
            })
            .collect();
        assert_eq!(
            rs,
            vec![
                ("192.0.2.1".into(), 80, 1, 0),
                // 192.0.2.1 again but on 8080: its own real server.
                ("192.0.2.1".into(), 8080, 3, 1),
                ("192.0.2.31".into(), 8080, 3, 1),
                ("192.0.2.32".into(), 8080, 3, 1),
                ("192.0.2.21".into(), 9000, 5, 0),
                ("192.0.2.22".into(), 9001, 0, 0),
            ]
        );
        // No AAAA answer yet: the IPv6 service has no real server.
        assert!(out.virtual_servers[1].real_servers.is_empty());
        // max_addresses of the name, even when the lookup is shared.
        assert_eq!(out.virtual_servers[2].real_servers.len(), 1);
        // The same sets give the same configuration.
        assert_eq!(expand(&cfg, &sets), out);
    }

    #[test]
    fn an_address_a_real_server_already_names_is_left_to_it() {
        let cfg = load(CONF);
        let l = lookups(&cfg);
        let mut sets = BTreeMap::new();
        sets.insert(l[1].key.clone(), vec![t("192.0.2.1", 0, None)]);
        let mut c = cfg.clone();
        c.virtual_servers[0].named_real_servers[0].template.port = Some(80);
        c.virtual_servers[0].named_real_servers[0].port = Some(80);
        let out = expand(&c, &sets);
        assert_eq!(out.virtual_servers[0].real_servers.len(), 1);
        // A family the service cannot take is left out.
        sets.insert(l[1].key.clone(), vec![t("2001:db8::1", 0, None)]);
        assert_eq!(expand(&cfg, &sets).virtual_servers[0].real_servers.len(), 1);
    }
}
