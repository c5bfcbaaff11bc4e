// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The kernel side of VMAC and vrrp_track_process, in a network
//! namespace: a private macvlan with a given MAC is created, recognised,
//! brought up and deleted; the proc connector, subscribed to from inside
//! a namespace (its socket must be made in the initial one), reports the
//! exec of a process with its command line and its exit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use common::{Lab, in_ns, join};
use keepalived_sys::netlink::Netlink;
use keepalived_sys::proc_events::{self, ProcUpdate};

#[test]
fn macvlan_is_created_private_with_its_mac_and_deleted() {
    let lab = Lab::new();
    join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let base = nl.interface_by_name("va").await.unwrap().index;
        let mac = [0, 0, 0x5e, 0, 1, 51];
        assert_eq!(nl.link_kind("vrrp.51").await.unwrap(), None);
        nl.add_macvlan("vrrp.51", base, mac).await.unwrap();
        let k = nl.link_kind("vrrp.51").await.unwrap().expect("created");
        assert!(k.macvlan && k.private, "{k:?}");
        assert_eq!((k.lower, k.mac), (Some(base), Some(mac)));
        nl.set_link_up(k.index).await.unwrap();
        assert!(nl.interface_by_index(k.index).await.unwrap().up);
        let plain = nl.link_kind("va").await.unwrap().expect("va");
        assert!(!plain.macvlan);
        assert!(nl.del_link(k.index).await.unwrap());
        assert!(!nl.del_link(k.index).await.unwrap(), "already gone");
        assert_eq!(nl.link_kind("vrrp.51").await.unwrap(), None);
    }));
}

#[test]
fn process_events_reach_a_subscriber_inside_a_namespace() {
    let lab = Lab::new();
    join(in_ns(&lab.a, || async {
        let mut rx = proc_events::subscribe(Arc::new(AtomicBool::new(true)))
            .expect("subscribe from inside a namespace");
        let argv0 = format!("kalrs-test-{}", std::process::id());
        let mut child = Command::new("bash")
            .args(["-c", &format!("exec -a {argv0} sleep 30")])
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut seen_exec = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !seen_exec {
            let batch = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("no exec of the child within 5 s")
                .expect("channel open")
                .expect("no error");
            seen_exec = batch.iter().any(|u| match u {
                ProcUpdate::Exec {
                    pid: p,
                    info: Some(i),
                } => *p == pid && i.cmdline.starts_with(format!("{argv0}\0").as_bytes()),
                _ => false,
            });
        }
        child.kill().unwrap();
        child.wait().unwrap();
        loop {
            let batch = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("no exit of the child within 5 s")
                .expect("channel open")
                .expect("no error");
            if batch
                .iter()
                .any(|u| matches!(u, ProcUpdate::Exit { pid: p } if *p == pid))
            {
                break;
            }
        }
    }));
}
