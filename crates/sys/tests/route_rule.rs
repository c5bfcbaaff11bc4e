// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Routes and rules through rtnetlink in a namespace, read back with
//! `ip -j`, and the deletion notices the VRRP child reacts to.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Lab, in_ns, join, sh};
use keepalived_sys::deletions::{Deleted, Deletions};
use keepalived_sys::netlink::Netlink;
use keepalived_sys::route::{Metric, PROTO_KEEPALIVED, RouteDelOutcome, RouteOutcome, RouteSpec};
use keepalived_sys::rule::{Action, RuleDelOutcome, RuleOutcome, RuleSpec};
use serde_json::Value;

fn json(ns: &str, args: &[&str]) -> Value {
    let mut full = vec!["ip", "-n", ns, "-j", "-d"];
    full.extend_from_slice(args);
    serde_json::from_str(&sh(&full)).expect("ip -j output")
}

#[test]
fn routes_are_idempotent_carry_protocol_18_and_delete_only_ours() {
    let lab = Lab::new();
    // An administrator's route to the same prefix in another table, and
    // one with another protocol in ours: neither may be touched.
    sh(&[
        "ip",
        "-n",
        &lab.a,
        "route",
        "add",
        "203.0.113.0/25",
        "via",
        "192.0.2.254",
        "table",
        "100",
        "proto",
        "static",
        "metric",
        "7",
    ]);
    let outcomes = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let mut r = RouteSpec::new("203.0.113.0".parse().unwrap(), 25);
        r.via = Some("192.0.2.254".parse().unwrap());
        r.oif = Some(va.index);
        r.table = 100;
        r.metrics.push(Metric::Mtu(1400));
        let mut bh = RouteSpec::new("203.0.113.128".parse().unwrap(), 25);
        bh.kind = 6;
        bh.table = 1000;
        let mut v6 = RouteSpec::new("2001:db8:2::".parse().unwrap(), 48);
        v6.via = Some("2001:db8::fe".parse().unwrap());
        v6.oif = Some(va.index);
        let adds = vec![
            nl.add_route(&r).await.unwrap(),
            nl.add_route(&r).await.unwrap(),
            nl.add_route(&bh).await.unwrap(),
            nl.add_route(&v6).await.unwrap(),
        ];
        (r, bh, v6, adds)
    }));
    let (r, bh, v6, adds) = outcomes;
    use RouteOutcome::*;
    assert_eq!(adds, vec![Added, AlreadyPresent, Added, Added]);
    let t100 = json(&lab.a, &["route", "show", "table", "100"]);
    let ours: Vec<&Value> = t100
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["protocol"] == "keepalived" || r["protocol"] == "18")
        .collect();
    assert_eq!(ours.len(), 1, "{t100}");
    assert_eq!(ours[0]["gateway"], "192.0.2.254");
    assert_eq!(ours[0]["metrics"][0]["mtu"], 1400, "{t100}");
    let t1000 = json(&lab.a, &["route", "show", "table", "1000"]);
    assert_eq!(t1000[0]["type"], "blackhole", "{t1000}");
    let six = json(&lab.a, &["-6", "route", "show", "2001:db8:2::/48"]);
    assert_eq!(six[0]["gateway"], "2001:db8::fe", "{six}");

    let dels = join(in_ns(&lab.a, move || async move {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let mut r = r;
        r.oif = Some(va.index);
        vec![
            nl.del_route(&r).await.unwrap(),
            nl.del_route(&r).await.unwrap(),
            nl.del_route(&bh).await.unwrap(),
            nl.del_route(&v6).await.unwrap(),
        ]
    }));
    use RouteDelOutcome::*;
    assert_eq!(dels, vec![Removed, NotPresent, Removed, Removed]);
    let left = json(&lab.a, &["route", "show", "table", "100"]);
    assert_eq!(
        left.as_array().unwrap().len(),
        1,
        "the static one stays: {left}"
    );
    assert_eq!(left[0]["protocol"], "static");
}

#[test]
fn rules_are_idempotent_and_read_back() {
    let lab = Lab::new();
    let (adds, dels) = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let mut from = RuleSpec::new(false, Action::Table(100), 200);
        from.from = Some(("192.0.2.100".parse().unwrap(), 32));
        from.protocol = Some(PROTO_KEEPALIVED);
        let mut mark = RuleSpec::new(false, Action::Table(1000), 202);
        mark.fwmark = Some((3, Some(0xff)));
        mark.iif = Some("va".into());
        let mut v6 = RuleSpec::new(true, Action::Prohibit, 210);
        v6.to = Some(("2001:db8:2::".parse().unwrap(), 48));
        let adds = vec![
            nl.add_rule(&from).await.unwrap(),
            nl.add_rule(&from).await.unwrap(),
            nl.add_rule(&mark).await.unwrap(),
            nl.add_rule(&v6).await.unwrap(),
        ];
        (adds, (from, mark, v6))
    }));
    use RuleOutcome::*;
    assert_eq!(adds, vec![Added, AlreadyPresent, Added, Added]);
    let rules = json(&lab.a, &["rule", "show"]);
    let by_pref = |p: u64| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["priority"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("no rule {p}: {rules}"))
    };
    let r200 = by_pref(200);
    assert_eq!(r200["src"], "192.0.2.100");
    assert_eq!(r200["table"], "100");
    assert!(
        r200["protocol"] == "keepalived" || r200["protocol"] == "18",
        "{r200}"
    );
    let r202 = by_pref(202);
    assert_eq!(r202["iif"], "va");
    assert_eq!(r202["table"], "1000");
    let six = json(&lab.a, &["-6", "rule", "show", "pref", "210"]);
    assert_eq!(six[0]["action"], "prohibit", "{six}");

    let (from, mark, v6) = dels;
    let outcomes = join(in_ns(&lab.a, move || async move {
        let nl = Netlink::new().unwrap();
        vec![
            nl.del_rule(&from).await.unwrap(),
            nl.del_rule(&from).await.unwrap(),
            nl.del_rule(&mark).await.unwrap(),
            nl.del_rule(&v6).await.unwrap(),
        ]
    }));
    use RuleDelOutcome::*;
    assert_eq!(outcomes, vec![Removed, NotPresent, Removed, Removed]);
    let left = sh(&["ip", "-n", &lab.a, "rule", "show"]);
    assert!(!left.contains("200:") && !left.contains("202:"), "{left}");
}

#[test]
fn deletions_of_addresses_routes_and_rules_are_announced() {
    let lab = Lab::new();
    let seen = join(in_ns(&lab.a, || async {
        let mut d = Deletions::subscribe().unwrap();
        let mut seen = Vec::new();
        // The commands run from a thread of their own (`ip -n` enters
        // the namespace itself).
        let ns = lab_name_of_current();
        let cmds = std::thread::spawn(move || {
            sh(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "add",
                "192.0.2.100/24",
                "dev",
                "va",
            ]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "route",
                "add",
                "203.0.113.0/24",
                "via",
                "192.0.2.254",
                "table",
                "100",
                "proto",
                "18",
            ]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "rule",
                "add",
                "from",
                "192.0.2.100",
                "table",
                "100",
                "pref",
                "200",
                "proto",
                "18",
            ]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "addr",
                "del",
                "192.0.2.100/24",
                "dev",
                "va",
            ]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "route",
                "del",
                "203.0.113.0/24",
                "table",
                "100",
            ]);
            sh(&["ip", "-n", &ns, "rule", "del", "pref", "200"]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "-6",
                "route",
                "add",
                "2001:db8:2::/48",
                "via",
                "2001:db8::fe",
                "dev",
                "va",
                "table",
                "100",
                "proto",
                "18",
            ]);
            sh(&[
                "ip",
                "-n",
                &ns,
                "-6",
                "route",
                "del",
                "2001:db8:2::/48",
                "table",
                "100",
            ]);
        });
        let v6: RouteSpec = {
            let mut r = RouteSpec::new("2001:db8:2::".parse().unwrap(), 48);
            r.table = 100;
            r
        };
        while seen.len() < 4 {
            match tokio::time::timeout(Duration::from_secs(5), d.next()).await {
                Ok(Some(Deleted::Address(a))) if a.addr.to_string() == "192.0.2.100" => {
                    seen.push(format!("addr {}/{}", a.addr, a.prefix_len));
                }
                Ok(Some(Deleted::Route(r))) if r.table == 100 => {
                    // The kernel's key finds our spec (IPv6: its default
                    // metric 1024 on a route added without one).
                    let ours = r.dst.is_ipv4() || r.matches(&v6);
                    seen.push(format!(
                        "route {}/{} proto {} ours {ours}",
                        r.dst, r.dst_len, r.protocol
                    ));
                }
                Ok(Some(Deleted::Rule(r))) if r.priority == 200 => {
                    seen.push(format!(
                        "rule {} table {} proto {:?}",
                        r.priority, r.table, r.protocol
                    ));
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("subscription ended"),
                Err(_) => panic!("deletions not announced in 5 s: {seen:?}"),
            }
        }
        cmds.join().unwrap();
        seen
    }));
    assert_eq!(
        seen,
        vec![
            "addr 192.0.2.100/24".to_owned(),
            "route 203.0.113.0/24 proto 18 ours true".to_owned(),
            "rule 200 table 100 proto Some(18)".to_owned(),
            "route 2001:db8:2::/48 proto 18 ours true".to_owned(),
        ]
    );
    drop(lab);
}

/// The namespace the calling thread is in, by name (`ip netns identify`).
fn lab_name_of_current() -> String {
    sh(&["ip", "netns", "identify"]).trim().to_owned()
}
