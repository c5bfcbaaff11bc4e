// SPDX-License-Identifier: Apache-2.0 OR MIT
//! DNS_CHECK against a real DNS server (dnsmasq) and against python
//! servers that answer the way real servers should not.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Server, closed_udp_port, one_checker, runtime, spec_from};
use keepalived_probe::{Report, Spec, Verdict, run};

fn dns(ip: &str, port: u16, body: &str) -> Spec {
    spec_from(&one_checker(ip, port, &format!("DNS_CHECK {{\n{body}\n}}"))).expect("spec")
}

fn probe(spec: &Spec) -> Report {
    runtime().block_on(run(spec))
}

/// dnsmasq on 127.0.0.1, answering A example.test with 192.0.2.9 and
/// refusing everything else (it has no upstream).
struct Dnsmasq {
    child: Child,
    port: u16,
}

impl Dnsmasq {
    fn start() -> Dnsmasq {
        let port = closed_udp_port();
        let child = Command::new("dnsmasq")
            .args([
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--conf-file=/dev/null",
                "--pid-file=",
                "--user=root",
                "--listen-address=127.0.0.1",
                "--bind-interfaces",
                "--address=/example.test/192.0.2.9",
            ])
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dnsmasq (Debian package dnsmasq-base) must be installed for the DNS tests");
        // Ready when it answers.
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let start = Instant::now();
        let mut buf = [0u8; 512];
        loop {
            let q = b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x04test\x00\x00\x01\x00\x01";
            s.send_to(q, ("127.0.0.1", port)).expect("send");
            if s.recv(&mut buf).is_ok() {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "dnsmasq did not start"
            );
        }
        Dnsmasq { child, port }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn dnsmasq_answer_is_success() {
    let d = Dnsmasq::start();
    let r = probe(&dns(
        "127.0.0.1",
        d.port,
        "type A\nname example.test\nconnect_timeout 2",
    ));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Success, "success"),
        "{r:?}"
    );
    assert!(r.elapsed < Duration::from_millis(500), "{r:?}");
}

#[test]
fn dnsmasq_refusal_is_failure_with_its_rcode() {
    // The default query (SOA of the root) is refused by a dnsmasq without
    // upstream servers.
    let d = Dnsmasq::start();
    let r = probe(&dns("127.0.0.1", d.port, "connect_timeout 2"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "read error occurred. (rcode = 5)"),
        "{r:?}"
    );
}

#[test]
fn query_bytes_and_random_ids() {
    let s = Server::start_script("udp.py", "dns-header-only", &[]);
    let spec = dns("127.0.0.1", s.port, "type MX\nname Mail.Example.test\n");
    let mut ids = Vec::new();
    for n in 1..=4 {
        let r = probe(&spec);
        assert_eq!(r.verdict, Verdict::Success, "{r:?}");
        let q = s.request(n);
        let mut want = vec![0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x04Mail\x07Example\x04test\x00\x00\x0f\x00\x01");
        assert_eq!(&q[2..], &want[..], "query {n}: {q:02x?}");
        ids.push([q[0], q[1]]);
    }
    ids.dedup();
    assert!(ids.len() > 1, "the query ID never changes: {ids:?}");
}

#[test]
fn malformed_answer_with_our_id_qr_and_noerror_passes() {
    // QDCOUNT 1 and no question, then a dangling compression pointer:
    // keepalived reads the header only and accepts it; so do we.
    let s = Server::start_script("udp.py", "dns-header-only", &[]);
    let r = probe(&dns("127.0.0.1", s.port, "type A\nname example.test"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Success, "success"),
        "{r:?}"
    );
}

#[test]
fn other_ids_and_queries_are_ignored_until_ours() {
    let s = Server::start_script("udp.py", "dns-wrong-id", &[]);
    let r = probe(&dns("127.0.0.1", s.port, "connect_timeout 2"));
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
    // The right answer comes 0.2 s after the wrong ones.
    assert!(r.elapsed >= Duration::from_millis(190), "{r:?}");
}

#[test]
fn error_rcodes_fail() {
    for rcode in [2u8, 3, 5] {
        let s = Server::start_script("udp.py", "dns-rcode", &[&rcode.to_string()]);
        let r = probe(&dns("127.0.0.1", s.port, "connect_timeout 2"));
        assert_eq!(
            (r.verdict, r.detail),
            (
                Verdict::Failure,
                format!("read error occurred. (rcode = {rcode})")
            )
        );
    }
}

#[test]
fn silence_and_short_datagrams_time_out() {
    for mode in ["silent", "dns-short"] {
        let s = Server::start_script("udp.py", mode, &[]);
        let start = Instant::now();
        let r = probe(&dns("127.0.0.1", s.port, "connect_timeout 0.5"));
        assert_eq!(
            (r.verdict, r.detail.as_str()),
            (Verdict::Failure, "read timeout from socket"),
            "{mode}: {r:?}"
        );
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(490) && took < Duration::from_millis(900),
            "{mode}: {took:?}"
        );
        assert_eq!(s.request(1).len(), 17, "{mode}: the root SOA query");
    }
}

#[test]
fn closed_port_fails_at_once_on_the_icmp_error() {
    let r = probe(&dns("127.0.0.1", closed_udp_port(), "connect_timeout 3"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (
            Verdict::Failure,
            "failed to read socket; errno 111 (Connection refused)"
        ),
        "{r:?}"
    );
    assert!(r.elapsed < Duration::from_millis(500), "{r:?}");
}

#[test]
fn ipv6_and_connect_port() {
    let s = Server::start_script("udp.py", "dns-header-only6", &[]);
    let conf = format!(
        "virtual_server 2001:db8::10 53 {{\n  lvs_sched rr\n  lvs_method NAT\n  protocol UDP\n  real_server ::1 53 {{\n    DNS_CHECK {{\n      connect_port {}\n    }}\n  }}\n}}\n",
        s.port
    );
    let spec = spec_from(&conf).expect("spec");
    assert_eq!(
        spec.target,
        std::net::SocketAddr::from(([0u16, 0, 0, 0, 0, 0, 0, 1], s.port))
    );
    let r = probe(&spec);
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
}

#[test]
fn bind_to_a_foreign_address_is_a_local_error() {
    let r = probe(&dns("127.0.0.1", 53, "bindto 192.0.2.1"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::LocalError, "UDP socket bind failed. Rescheduling."),
        "{r:?}"
    );
}

#[test]
fn identity_is_options_type_and_name() {
    let base = dns("127.0.0.1", 53, "type A\nname example.test");
    let same = dns(
        "127.0.0.1",
        53,
        "type A\nname example.test\ndelay_loop 9\nretry 7",
    );
    assert_eq!(base.key(), same.key());
    for other in [
        "type AAAA\nname example.test",
        "type A\nname example.org",
        "type A\nname example.test\nconnect_timeout 2",
        "type A\nname example.test\nconnect_port 5353",
    ] {
        assert_ne!(base.key(), dns("127.0.0.1", 53, other).key(), "{other}");
    }
    assert_eq!(base.key().kind, "DNS_CHECK");
}

#[test]
fn names_that_cannot_be_encoded_are_refused_at_load() {
    let long = "a".repeat(64);
    let e = spec_from(&one_checker(
        "127.0.0.1",
        53,
        &format!("DNS_CHECK {{\nname {long}.test\n}}"),
    ))
    .expect_err("a 64-byte label");
    assert!(e.contains("cannot be sent"), "{e}");
}
