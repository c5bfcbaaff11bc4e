// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Our receivers get real keepalived 2.2.7 adverts (IPv4 VRRPv2 and IPv6
//! VRRPv3, multicast) exactly as keepalived sends them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{A_V4, Lab, in_ns, join};
use keepalived_sys::netlink::Netlink;
use keepalived_sys::vrrp_socket::{Datagram, Family, RecvMode, VrrpReceiver};

struct Keepalived(Child);

impl Drop for Keepalived {
    fn drop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.0.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let _ = self.0.wait();
    }
}

fn start_keepalived(ns: &str, dir: &std::path::Path) -> Keepalived {
    let conf = dir.join("keepalived.conf");
    std::fs::write(
        &conf,
        "global_defs {\n router_id sys_interop\n}\n\
         vrrp_instance V4 {\n state MASTER\n interface va\n virtual_router_id 51\n priority 255\n advert_int 1\n virtual_ipaddress {\n  192.0.2.100/24\n }\n}\n\
         vrrp_instance V6 {\n state MASTER\n interface va\n virtual_router_id 52\n priority 255\n advert_int 1\n virtual_ipaddress {\n  fe80::52/64\n }\n}\n",
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
    let ka = start_keepalived(&lab.a, dir.path());
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
