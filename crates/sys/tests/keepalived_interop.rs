// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Our receivers get real keepalived 2.2.7 adverts (IPv4 VRRPv2 and IPv6
//! VRRPv3, multicast) exactly as keepalived sends them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{A_V4, B_V4, Lab, in_ns, join};
use keepalived_sys::netlink::Netlink;
use keepalived_sys::vrrp_socket::{Datagram, Family, RecvMode, VrrpReceiver, VrrpSender};

struct Keepalived(Child);

impl Drop for Keepalived {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

fn start_keepalived(ns: &str, dir: &std::path::Path, state: &str, priority: u8) -> Keepalived {
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        format!(
            "global_defs {{\n router_id sys_interop\n}}\n\
             vrrp_instance V4 {{\n state {state}\n interface va\n virtual_router_id 51\n priority {priority}\n advert_int 1\n virtual_ipaddress {{\n  192.0.2.100/24\n }}\n}}\n\
             vrrp_instance V6 {{\n state {state}\n interface va\n virtual_router_id 52\n priority {priority}\n advert_int 1\n virtual_ipaddress {{\n  fe80::52/64\n }}\n}}\n"
        ),
    )
    .unwrap();
    let path = |f: &str| dir.join(f).display().to_string();
    let child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "keepalived",
            "-n",
            "-l",
            "--vrrp",
            "-f",
        ])
        .arg(&conf)
        .args([
            "-p",
            &path("ka.pid"),
            "-r",
            &path("vrrp.pid"),
            "-c",
            &path("check.pid"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("keepalived must be installed");
    Keepalived(child)
}

async fn first_advert(rx: &mut VrrpReceiver, vrid: u8) -> Datagram {
    tokio::time::timeout(Duration::from_secs(8), async {
        loop {
            let d = rx.recv().await.expect("receive");
            if d.payload().get(1) == Some(&vrid) {
                return d;
            }
        }
    })
    .await
    .expect("no keepalived advert within 8 s")
}

#[test]
fn keepalived_adverts_reach_our_multicast_receivers() {
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let receiver = in_ns(&lab.b, move || async move {
        let nl = Netlink::new().unwrap();
        let vb = nl.interface_by_name("vb").await.unwrap();
        let mut rx4 = VrrpReceiver::open("vb", vb.index, Family::V4, RecvMode::Multicast).unwrap();
        let mut rx6 = VrrpReceiver::open("vb", vb.index, Family::V6, RecvMode::Multicast).unwrap();
        ready_tx.send(()).unwrap();
        (
            first_advert(&mut rx4, 51).await,
            first_advert(&mut rx6, 52).await,
        )
    });
    ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let ka = start_keepalived(&lab.a, dir.path(), "MASTER", 255);
    let (v4, v6) = join(receiver);
    drop(ka);

    assert_eq!(v4.src, A_V4.parse::<IpAddr>().unwrap());
    assert_eq!((v4.ttl, v4.tos), (255, 0xc0));
    let p = v4.payload();
    assert_eq!(p[0], 0x21, "VRRPv2 advertisement");
    assert_eq!((p[1], p[2], p[3]), (51, 255, 1), "VRID, priority, count");
    assert_eq!(&p[8..12], &[192, 0, 2, 100]);

    assert!(matches!(v6.src, IpAddr::V6(a) if keepalived_sys::link::is_link_local(&a)));
    assert_eq!((v6.ttl, v6.tos), (255, 0xc0));
    let p = v6.payload();
    assert_eq!(p[0], 0x31, "VRRPv3 advertisement");
    assert_eq!((p[1], p[2], p[3]), (52, 255, 1));
    assert_eq!(p.len(), 8 + 16);
}

/// RFC 1071 checksum (VRRPv2 has no pseudo-header).
fn inet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn vips_on_va(lab: &Lab) -> (bool, bool) {
    let json = lab.addr_json(&lab.a, "va").to_string();
    (json.contains("192.0.2.100"), json.contains("fe80::52"))
}

/// keepalived (BACKUP, priority 100) accepts our priority-254 adverts: it
/// stays backup while we send, and takes over once we stop. Proves our
/// sender's TTL, source, TOS and the kernel-filled IPv6 checksum are what
/// keepalived's receive checks want.
#[test]
fn keepalived_accepts_our_adverts_and_stays_backup() {
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let sender = in_ns(&lab.b, move || async move {
        let nl = Netlink::new().unwrap();
        let vb = nl.interface_by_name("vb").await.unwrap();
        let tx4 = VrrpSender::open("vb", vb.index, B_V4.parse().unwrap(), 255).unwrap();
        let ll = vb.ipv6_link_local().expect("link-local on vb");
        let tx6 = VrrpSender::open("vb", vb.index, IpAddr::V6(ll), 255).unwrap();
        // VRRPv2: version 2 type 1, VRID 51, prio 254, 1 address, no auth,
        // interval 1 s, checksum, 192.0.2.100, 8 bytes auth data.
        let mut v2 = vec![
            0x21, 51, 254, 1, 0, 1, 0, 0, 192, 0, 2, 100, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let ck = inet_checksum(&v2).to_be_bytes();
        v2[6..8].copy_from_slice(&ck);
        // VRRPv3/IPv6: VRID 52, prio 254, 1 address, 100 cs; the kernel
        // computes the checksum (IPV6_CHECKSUM).
        let mut v3 = vec![0x31, 52, 254, 1, 0x00, 0x64, 0, 0];
        v3.extend_from_slice(&"fe80::52".parse::<std::net::Ipv6Addr>().unwrap().octets());
        loop {
            tx4.send_multicast(&v2).await.unwrap();
            tx6.send_multicast(&v3).await.unwrap();
            if stop_rx.recv_timeout(Duration::from_millis(1000)).is_ok() {
                return;
            }
        }
    });
    let ka = start_keepalived(&lab.a, dir.path(), "BACKUP", 100);
    // keepalived's Master_Down_Interval for priority 100 at 1 s is ~3.6 s.
    std::thread::sleep(Duration::from_secs(6));
    let while_sending = vips_on_va(&lab);
    stop_tx.send(()).unwrap();
    join(sender);
    let mut after_stop = (false, false);
    for _ in 0..80 {
        std::thread::sleep(Duration::from_millis(100));
        after_stop = vips_on_va(&lab);
        if after_stop == (true, true) {
            break;
        }
    }
    drop(ka);
    assert_eq!(
        while_sending,
        (false, false),
        "keepalived took over although we advertised"
    );
    assert_eq!(
        after_stop,
        (true, true),
        "keepalived never took over: the test cannot tell"
    );
}
