// SPDX-License-Identifier: Apache-2.0 OR MIT
//! UDP_CHECK against python UDP servers and closed ports on loopback.

mod common;

use std::time::{Duration, Instant};

use common::{Server, closed_udp_port, one_checker, runtime, spec_from};
use keepalived_probe::{Report, Spec, Verdict, run};

fn udp(port: u16, body: &str) -> Spec {
    spec_from(&one_checker(
        "127.0.0.1",
        port,
        &format!("UDP_CHECK {{\n{body}\n}}"),
    ))
    .expect("spec")
}

fn probe(spec: &Spec) -> Report {
    runtime().block_on(run(spec))
}

fn outcome(r: &Report) -> (Verdict, &str) {
    (r.verdict, r.detail.as_str())
}

#[test]
fn default_payload_and_any_reply_is_success() {
    let s = Server::start_script("udp.py", "echo", &[]);
    let r = probe(&udp(s.port, "connect_timeout 2"));
    assert_eq!(outcome(&r), (Verdict::Success, "success"), "{r:?}");
    assert!(r.elapsed < Duration::from_millis(500), "{r:?}");
    assert_eq!(s.request(1), b"keepalived check - keepalived ch");
}

#[test]
fn silence_is_success_without_require_reply_and_failure_with_it() {
    let s = Server::start_script("udp.py", "silent", &[]);
    let start = Instant::now();
    let r = probe(&udp(s.port, "connect_timeout 0.5\npayload 00ff10"));
    assert_eq!(outcome(&r), (Verdict::Success, "success"), "{r:?}");
    assert!(start.elapsed() >= Duration::from_millis(490));
    assert_eq!(s.request(1), [0x00, 0xff, 0x10]);
    let r = probe(&udp(s.port, "connect_timeout 0.5\nrequire_reply"));
    assert_eq!(outcome(&r), (Verdict::Failure, "failed"), "{r:?}");
}

#[test]
fn icmp_port_unreachable_is_failure_at_once() {
    for body in ["connect_timeout 3", "connect_timeout 3\nrequire_reply 00"] {
        let r = probe(&udp(closed_udp_port(), body));
        assert_eq!(outcome(&r), (Verdict::Failure, "failed"), "{body}: {r:?}");
        assert!(r.elapsed < Duration::from_millis(500), "{body}: {r:?}");
        assert!(
            r.cause
                .as_deref()
                .is_some_and(|c| c.contains("Connection refused")),
            "{r:?}"
        );
    }
}

#[test]
fn reply_pattern_with_wildcards() {
    // The echo server sends the payload back.
    let s = Server::start_script("udp.py", "echo", &[]);
    for (pattern, want) in [
        ("4142434445", Verdict::Success),
        ("41X2xX44", Verdict::Success),
        // Longer than the reply: compared on the reply's five bytes.
        ("414243444546474849", Verdict::Success),
        ("4142434446", Verdict::Failure),
        ("X1X3", Verdict::Failure),
    ] {
        let r = probe(&udp(
            s.port,
            &format!("payload 4142434445\nrequire_reply {pattern}"),
        ));
        assert_eq!(r.verdict, want, "{pattern}: {r:?}");
        if want == Verdict::Failure {
            assert_eq!(r.detail, "reply data mismatch");
        }
    }
}

#[test]
fn reply_lengths() {
    let s = Server::start_script("udp.py", "reply", &["0102030405060708"]);
    for (body, want) in [
        ("require_reply 0102", Verdict::Success),
        ("require_reply 0102\nmin_reply_length 8", Verdict::Success),
        ("require_reply 0102\nmin_reply_length 9", Verdict::Failure),
        ("require_reply 0102\nmax_reply_length 8", Verdict::Success),
        ("require_reply 0102\nmax_reply_length 7", Verdict::Failure),
        // A bare require_reply honours the lengths too (keepalived did
        // not look at them without a pattern).
        ("require_reply\nmax_reply_length 7", Verdict::Failure),
        ("require_reply\nmin_reply_length 8", Verdict::Success),
    ] {
        let r = probe(&udp(s.port, body));
        assert_eq!(r.verdict, want, "{body}: {r:?}");
    }
}

#[test]
fn ipv6_echo() {
    let s = Server::start_script("udp.py", "echo6", &[]);
    let conf = format!(
        "virtual_server 2001:db8::10 53 {{\n  lvs_sched rr\n  lvs_method NAT\n  protocol UDP\n  real_server ::1 {} {{\n    UDP_CHECK {{\n      require_reply 6b65\n    }}\n  }}\n}}\n",
        s.port
    );
    let r = probe(&spec_from(&conf).expect("spec"));
    assert_eq!(outcome(&r), (Verdict::Success, "success"), "{r:?}");
}

#[test]
fn bind_failure_is_a_failure_not_a_local_error() {
    // keepalived counts every UDP setup error as a failed check.
    let r = probe(&udp(9, "bindto 192.0.2.1"));
    assert_eq!(outcome(&r), (Verdict::Failure, "failed"), "{r:?}");
}

#[test]
fn identity_is_the_connection_options_only() {
    let base = udp(53, "payload 00");
    for same in [
        "payload 01",
        "require_reply 00\nmin_reply_length 3",
        "delay_loop 9",
    ] {
        assert_eq!(base.key(), udp(53, same).key(), "{same}");
    }
    for other in ["connect_timeout 9", "connect_port 54", "bindto 127.0.0.2"] {
        assert_ne!(base.key(), udp(53, other).key(), "{other}");
    }
    assert_eq!(base.key().kind, "UDP_CHECK");
    // Sharing one run needs the same bytes and the same reading.
    assert_eq!(
        base.share_key(),
        udp(53, "payload 00\ndelay_loop 9").share_key()
    );
    for other in [
        "payload 01",
        "payload 00\nrequire_reply",
        "payload 00\nrequire_reply 00",
    ] {
        assert_ne!(base.share_key(), udp(53, other).share_key(), "{other}");
    }
}
