// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Addresses and links through rtnetlink, read back with `ip -j`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{A_V4, Lab, in_ns, join, sh};
use keepalived_sys::addr::{AddOutcome, AddrSpec, DelOutcome, Scope};
use keepalived_sys::link::{LinkEvent, LinkEvents};
use keepalived_sys::netlink::{Netlink, NetlinkError};
use serde_json::Value;

fn find<'a>(json: &'a Value, local: &str) -> Option<&'a Value> {
    json.get(0)?
        .get("addr_info")?
        .as_array()?
        .iter()
        .find(|a| a.get("local").and_then(Value::as_str) == Some(local))
}

#[test]
fn vip_add_is_idempotent_and_label_brd_scope_read_back() {
    let lab = Lab::new();
    let outcomes = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let mut v4 = AddrSpec::new(va.index, "192.0.2.100".parse().unwrap(), 24);
        v4.label = Some("va:vip".into());
        v4.broadcast = Some("192.0.2.255".parse().unwrap());
        v4.scope = Some(Scope::Global);
        let mut host = AddrSpec::new(va.index, "198.51.100.7".parse().unwrap(), 32);
        host.scope = Some(Scope::Host);
        let v6 = AddrSpec::new(va.index, "2001:db8::100".parse().unwrap(), 64);
        let mut out = Vec::new();
        for spec in [&v4, &v4, &host, &v6, &v6] {
            out.push(nl.add_address(spec).await.unwrap());
        }
        let listed = nl.list_addresses(va.index).await.unwrap();
        (out, listed)
    }));
    let (adds, listed) = outcomes;
    use AddOutcome::*;
    assert_eq!(
        adds,
        vec![Added, AlreadyPresent, Added, Added, AlreadyPresent]
    );

    let json = lab.addr_json(&lab.a, "va");
    let vip = find(&json, "192.0.2.100").expect("VIP present");
    assert_eq!(vip["prefixlen"], 24);
    assert_eq!(vip["label"], "va:vip");
    assert_eq!(vip["broadcast"], "192.0.2.255");
    assert_eq!(vip["scope"], "global");
    assert_eq!(vip["secondary"], true, "second address in the subnet");
    let host = find(&json, "198.51.100.7").expect("host address present");
    assert_eq!(host["scope"], "host");
    let v6 = find(&json, "2001:db8::100").expect("IPv6 VIP present");
    assert_eq!(v6["prefixlen"], 64);
    assert_eq!(v6["nodad"], true);
    assert!(v6.get("tentative").is_none());

    // The listing the VRRP child uses after a crash restart sees them too.
    let want: [IpAddr; 4] = [
        A_V4.parse().unwrap(),
        "192.0.2.100".parse().unwrap(),
        "198.51.100.7".parse().unwrap(),
        "2001:db8::100".parse().unwrap(),
    ];
    for addr in want {
        assert!(
            listed.iter().any(|a| a.addr == addr),
            "{addr} not listed: {listed:?}"
        );
    }
    let vip = listed.iter().find(|a| a.addr == want[1]).unwrap();
    assert_eq!(vip.label.as_deref(), Some("va:vip"));
    assert!(vip.is_secondary());
    assert!(
        listed
            .iter()
            .find(|a| a.addr == want[3])
            .unwrap()
            .is_nodad()
    );

    let dels = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let v4 = AddrSpec::new(va.index, "192.0.2.100".parse().unwrap(), 24);
        let v6 = AddrSpec::new(va.index, "2001:db8::100".parse().unwrap(), 64);
        let mut out = Vec::new();
        for spec in [&v4, &v4, &v6, &v6] {
            out.push(nl.del_address(spec).await.unwrap());
        }
        out
    }));
    use DelOutcome::*;
    assert_eq!(dels, vec![Removed, NotPresent, Removed, NotPresent]);
    let json = lab.addr_json(&lab.a, "va");
    assert!(find(&json, "192.0.2.100").is_none());
    assert!(find(&json, "2001:db8::100").is_none());
    assert!(find(&json, A_V4).is_some(), "the primary address stays");
}

#[test]
fn real_errors_are_errors() {
    let lab = Lab::new();
    let (bad_if, missing) = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let bad = nl
            .add_address(&AddrSpec::new(9999, "192.0.2.5".parse().unwrap(), 24))
            .await;
        let missing = nl.interface_by_name("nope0").await;
        (bad, missing)
    }));
    assert!(matches!(bad_if, Err(NetlinkError::Kernel { errno, .. }) if errno == libc::ENODEV));
    assert!(matches!(missing, Err(NetlinkError::NoSuchInterface(_))));
}

/// The blocking path the takeover uses gives the same outcomes and the
/// same kernel state as the asynchronous one.
#[test]
fn add_address_now_is_idempotent_and_reports_refusals() {
    let lab = Lab::new();
    let (adds, bad) = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let mut v4 = AddrSpec::new(va.index, "192.0.2.101".parse().unwrap(), 32);
        v4.label = Some("va:now".into());
        let v6 = AddrSpec::new(va.index, "2001:db8::101".parse().unwrap(), 128);
        let mut out = Vec::new();
        for spec in [&v4, &v4, &v6, &v6] {
            out.push(nl.add_address_now(spec).unwrap());
        }
        let bad = nl.add_address_now(&AddrSpec::new(9999, "192.0.2.5".parse().unwrap(), 24));
        (out, bad)
    }));
    use AddOutcome::*;
    assert_eq!(adds, vec![Added, AlreadyPresent, Added, AlreadyPresent]);
    assert!(matches!(bad, Err(NetlinkError::Kernel { errno, .. }) if errno == libc::ENODEV));
    let json = lab.addr_json(&lab.a, "va");
    let v4 = find(&json, "192.0.2.101").expect("VIP present");
    assert_eq!(v4["label"], "va:now");
    let v6 = find(&json, "2001:db8::101").expect("IPv6 VIP present");
    assert_eq!(v6["nodad"], true);
}

#[test]
fn interface_lookup_matches_ip_link() {
    let lab = Lab::new();
    let iface = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        nl.interface_by_name("va").await.unwrap()
    }));
    let link: Value = serde_json::from_str(&sh(&[
        "ip", "-n", &lab.a, "-j", "link", "show", "dev", "va",
    ]))
    .unwrap();
    assert_eq!(Value::from(iface.index), link[0]["ifindex"]);
    let mac = iface
        .mac
        .expect("veth has a MAC")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");
    assert_eq!(Value::from(mac), link[0]["address"]);
    assert!(iface.up && iface.running);
    assert_eq!(iface.primary_ipv4(), Some(A_V4.parse().unwrap()));
    let ll = iface.ipv6_link_local().expect("link-local");
    let json = lab.addr_json(&lab.a, "va");
    assert!(
        find(&json, &ll.to_string()).is_some(),
        "{ll} not in ip addr"
    );
}

#[test]
fn link_events_report_down_and_up() {
    let lab = Lab::new();
    let ns = lab.a.clone();
    let events = join(in_ns(&lab.a, move || async move {
        let mut events = LinkEvents::subscribe().unwrap();
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let mut seen = Vec::new();
        for (state, want_up) in [("down", false), ("up", true)] {
            sh(&["ip", "-n", &ns, "link", "set", "va", state]);
            let found = tokio::time::timeout(Duration::from_secs(5), async {
                while let Some(ev) = events.next().await {
                    if let LinkEvent::Changed(s) = &ev
                        && s.index == va.index
                        && s.up == want_up
                    {
                        return Some(ev);
                    }
                }
                None
            })
            .await
            .expect("no link event within 5 s");
            seen.push(found.expect("subscription ended"));
        }
        seen
    }));
    match &events[..] {
        [LinkEvent::Changed(down), LinkEvent::Changed(up)] => {
            assert_eq!(down.name.as_deref(), Some("va"));
            assert!(!down.up && !down.running);
            assert!(up.up);
        }
        other => panic!("unexpected events {other:?}"),
    }
}

/// A storm while nobody reads the sockets overruns them: both the link
/// and the address subscriptions say so (ENOBUFS as `Lost`) instead of
/// going on as if nothing had been missed.
#[test]
fn overrun_subscriptions_report_lost_notifications() {
    use keepalived_sys::addr_events::{AddrEvents, AddrNotice};
    let lab = Lab::new();
    let ns = lab.a.clone();
    let (link_lost, addr_lost, seen) = join(in_ns(&lab.a, move || async move {
        let mut links = LinkEvents::subscribe().unwrap();
        let mut addrs = AddrEvents::subscribe().unwrap();
        // 1 500 flaps and 1 500 address adds and deletes, far more than a
        // default receive buffer holds; the runtime is blocked meanwhile,
        // so nothing reads the sockets.
        let batch = std::env::temp_dir().join(format!("ksys-overrun-{ns}.batch"));
        let mut cmds = String::new();
        for i in 0..1500u32 {
            let state = if i % 2 == 0 { "down" } else { "up" };
            cmds.push_str(&format!("link set va {state}\n"));
            let a = format!("198.51.{}.{}", 100 + i / 250, 1 + i % 250);
            cmds.push_str(&format!("addr add {a}/32 dev lo\naddr del {a}/32 dev lo\n"));
        }
        cmds.push_str("link set va up\n");
        std::fs::write(&batch, cmds).unwrap();
        sh(&["ip", "-n", &ns, "-batch", batch.to_str().unwrap()]);
        let _ = std::fs::remove_file(&batch);
        let (mut link_lost, mut addr_lost, mut seen) = (false, false, 0usize);
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                tokio::select! {
                    Some(ev) = links.next() => {
                        seen += 1;
                        link_lost |= ev == LinkEvent::Lost;
                    }
                    Some(ev) = addrs.next() => {
                        seen += 1;
                        addr_lost |= ev == AddrNotice::Lost;
                    }
                }
                if link_lost && addr_lost {
                    break;
                }
            }
        })
        .await;
        (link_lost, addr_lost, seen)
    }));
    assert!(
        link_lost,
        "no Lost from the link subscription ({seen} notices read)"
    );
    assert!(
        addr_lost,
        "no Lost from the address subscription ({seen} notices read)"
    );
}
