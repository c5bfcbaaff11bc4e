// SPDX-License-Identifier: Apache-2.0 OR MIT
//! GARP and unsolicited NA sent from A, captured in B with tcpdump and
//! decoded with tshark.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Lab, in_ns, join, sh};
use keepalived_sys::garp::{FrameSender, build_garp, build_unsolicited_na};
use keepalived_sys::netlink::Netlink;

/// tcpdump in `ns` on `dev`, returned once it is listening.
///
/// `--immediate-mode`: without it libpcap's TPACKET_V3 ring hands packets
/// over only when a block fills or its 1 s timeout expires, and a capture
/// stopped earlier loses them.
fn start_capture(ns: &str, dev: &str, file: &std::path::Path) -> Child {
    let mut child = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "tcpdump",
            "-Z",
            "root",
            "--immediate-mode",
            "-n",
            "-U",
            "-i",
            dev,
            "-w",
        ])
        .arg(file)
        .arg("arp or icmp6")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tcpdump must be installed");
    let stderr = child.stderr.take().expect("piped stderr");
    let mut lines = BufReader::new(stderr).lines();
    loop {
        match lines.next() {
            Some(Ok(l)) if l.contains("listening on") => break,
            Some(Ok(_)) => continue,
            _ => panic!("tcpdump did not start"),
        }
    }
    // Keep draining so tcpdump never blocks on a full stderr pipe.
    std::thread::spawn(move || for _ in lines {});
    child
}

fn stop_capture(mut child: Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    // `ip netns exec` execs tcpdump, so this pid is tcpdump itself.
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let _ = child.wait();
}

fn tshark(file: &std::path::Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec![
        "-r".to_string(),
        file.display().to_string(),
        "-Y".into(),
        filter.into(),
    ];
    args.extend(["-T".into(), "fields".into()]);
    for f in fields {
        args.extend(["-e".into(), (*f).into()]);
    }
    let out = Command::new("tshark")
        .args(&args)
        .output()
        .expect("tshark must be installed");
    assert!(
        out.status.success(),
        "tshark: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_owned).collect())
        .collect()
}

#[test]
fn garp_and_na_are_seen_on_the_wire_as_keepalived_sends_them() {
    let lab = Lab::new();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cap.pcap");
    let cap = start_capture(&lab.b, "vb", &file);

    let mac = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let mac = va.mac.expect("veth MAC");
        let tx = FrameSender::open(va.index).unwrap();
        tx.send(&build_garp(mac, "192.0.2.100".parse().unwrap()))
            .await
            .unwrap();
        tx.send(&build_unsolicited_na(
            mac,
            "2001:db8::100".parse().unwrap(),
            false,
        ))
        .await
        .unwrap();
        mac
    }));
    std::thread::sleep(Duration::from_millis(500));
    stop_capture(cap);
    let mac = mac
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":");

    let arp = tshark(
        &file,
        "arp.src.proto_ipv4 == 192.0.2.100",
        &[
            "arp.opcode",
            "arp.src.hw_mac",
            "arp.src.proto_ipv4",
            "arp.dst.hw_mac",
            "arp.dst.proto_ipv4",
            "eth.dst",
        ],
    );
    assert_eq!(
        arp,
        vec![vec![
            "1".to_string(),
            mac.clone(),
            "192.0.2.100".into(),
            "ff:ff:ff:ff:ff:ff".into(),
            "192.0.2.100".into(),
            "ff:ff:ff:ff:ff:ff".into(),
        ]],
        "one ARP request broadcast for the VIP"
    );

    let na = tshark(
        &file,
        "icmpv6.type == 136 && icmpv6.nd.na.target_address == 2001:db8::100",
        &[
            "ipv6.src",
            "ipv6.dst",
            "ipv6.hlim",
            "icmpv6.nd.na.flag.r",
            "icmpv6.nd.na.flag.s",
            "icmpv6.nd.na.flag.o",
            "icmpv6.opt.linkaddr",
            "icmpv6.checksum.status",
            "eth.dst",
        ],
    );
    assert_eq!(
        na,
        vec![vec![
            "2001:db8::100".to_string(),
            "ff02::1".into(),
            "255".into(),
            "0".into(),
            "0".into(),
            "1".into(),
            mac,
            "1".into(),
            "33:33:00:00:00:01".into(),
        ]],
        "one NA: R=0 S=0 O=1, TLLA = our MAC, checksum Good (1)"
    );
    // The capture really ran: B's own traffic or ours is in it.
    assert!(!sh(&["tshark", "-r", &file.display().to_string()]).is_empty());
}
