// SPDX-License-Identifier: Apache-2.0 OR MIT
//! SRV answers to real servers: targets without glue are asked on their
//! own, a failed follow-up keeps what the target had, NXDOMAIN takes it
//! away, and only the lowest priority that resolves is used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::IpAddr;

use keepalived_check::resolve::{Followed, SrvRecord, SrvTargets, Target, to_follow};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn rec(target: &str, priority: u16, weight: u16, port: u16, glue: &[&str]) -> SrvRecord {
    SrvRecord {
        target: target.into(),
        priority,
        weight,
        port,
        glue: glue.iter().map(|g| ip(g)).collect(),
    }
}

fn found(addrs: &[&str]) -> Followed {
    Followed::Found(addrs.iter().map(|a| ip(a)).collect())
}

fn shown(ts: &[Target]) -> Vec<String> {
    ts.iter()
        .map(|t| format!("{}:{} {}", t.addr, t.port, t.weight.unwrap_or(0)))
        .collect()
}

fn follow(pairs: &[(&str, Followed)]) -> BTreeMap<String, Followed> {
    pairs
        .iter()
        .map(|(t, f)| ((*t).to_owned(), f.clone()))
        .collect()
}

#[test]
fn only_targets_without_glue_are_followed_once_each() {
    let records = [
        rec("a", 0, 1, 80, &["192.0.2.1"]),
        rec("b", 0, 1, 80, &[]),
        rec("b", 1, 1, 81, &[]),
        rec("c", 0, 1, 80, &[]),
    ];
    assert_eq!(to_follow(&records), vec!["b".to_owned(), "c".to_owned()]);
}

#[test]
fn glue_and_followed_addresses_make_the_set() {
    let mut t = SrvTargets::default();
    let records = [
        rec("a", 0, 10, 8080, &["192.0.2.1"]),
        rec("b", 0, 20, 8081, &[]),
    ];
    let got = t.targets(
        &records,
        &follow(&[("b", found(&["192.0.2.2", "192.0.2.3"]))]),
    );
    assert_eq!(
        shown(&got),
        [
            "192.0.2.1:8080 10",
            "192.0.2.2:8081 20",
            "192.0.2.3:8081 20"
        ]
    );
}

#[test]
fn a_failed_follow_up_keeps_the_target_and_nxdomain_removes_it() {
    let mut t = SrvTargets::default();
    let records = [rec("a", 0, 1, 80, &["192.0.2.1"]), rec("b", 0, 1, 80, &[])];
    t.targets(&records, &follow(&[("b", found(&["192.0.2.2"]))]));
    // Outage of b's own query: b keeps its address.
    let got = t.targets(&records, &follow(&[("b", Followed::Failed)]));
    assert_eq!(shown(&got), ["192.0.2.1:80 1", "192.0.2.2:80 1"]);
    // b's address changes: followed.
    let got = t.targets(&records, &follow(&[("b", found(&["192.0.2.9"]))]));
    assert_eq!(shown(&got), ["192.0.2.1:80 1", "192.0.2.9:80 1"]);
    // b is gone.
    let got = t.targets(&records, &follow(&[("b", Followed::Gone)]));
    assert_eq!(shown(&got), ["192.0.2.1:80 1"]);
    // And stays gone through an outage: nothing is remembered for it.
    let got = t.targets(&records, &follow(&[("b", Followed::Failed)]));
    assert_eq!(shown(&got), ["192.0.2.1:80 1"]);
}

#[test]
fn a_target_no_longer_named_is_forgotten() {
    let mut t = SrvTargets::default();
    t.targets(
        &[rec("b", 0, 1, 80, &[])],
        &follow(&[("b", found(&["192.0.2.2"]))]),
    );
    t.targets(&[rec("c", 0, 1, 80, &["192.0.2.3"])], &BTreeMap::new());
    // b is named again but its query fails: nothing left to keep.
    let got = t.targets(
        &[rec("b", 0, 1, 80, &[])],
        &follow(&[("b", Followed::Failed)]),
    );
    assert!(got.is_empty(), "{got:?}");
}

#[test]
fn the_lowest_priority_that_resolves_is_used() {
    let mut t = SrvTargets::default();
    let records = [
        rec("backup", 20, 5, 82, &["192.0.2.30"]),
        rec("one", 10, 1, 80, &[]),
        rec("two", 10, 3, 81, &["192.0.2.20"]),
    ];
    let got = t.targets(&records, &follow(&[("one", found(&["192.0.2.10"]))]));
    assert_eq!(shown(&got), ["192.0.2.10:80 1", "192.0.2.20:81 3"]);
    // one of the two gone: the other still holds priority 10.
    let got = t.targets(&records, &follow(&[("one", Followed::Gone)]));
    assert_eq!(shown(&got), ["192.0.2.20:81 3"]);
    // Nothing resolves at 10: the fallback.
    let records = [
        rec("backup", 20, 5, 82, &["192.0.2.30"]),
        rec("one", 10, 1, 80, &[]),
        rec("two", 10, 3, 81, &[]),
    ];
    let got = t.targets(
        &records,
        &follow(&[("one", Followed::Gone), ("two", found(&[]))]),
    );
    assert_eq!(shown(&got), ["192.0.2.30:82 5"]);
    // Nothing resolves at all: no real server.
    let got = t.targets(
        &[rec("one", 10, 1, 80, &[])],
        &follow(&[("one", Followed::Gone)]),
    );
    assert!(got.is_empty());
}
