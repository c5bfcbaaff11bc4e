// SPDX-License-Identifier: Apache-2.0 OR MIT
//! PING_CHECK inside network namespaces this test creates (root needed:
//! the test fails, never skips, without it). Each namespace gets its own
//! `net.ipv4.ping_group_range`.

mod common;

use std::fs::File;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{one_checker, runtime, spec_from};
use keepalived_probe::ping::group_range;
use keepalived_probe::{Report, Spec, Verdict, run};
use nix::sched::{CloneFlags, setns};

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A named network namespace, deleted on drop.
struct Netns {
    name: String,
}

fn sh(args: &[&str]) {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Netns {
    /// With `lo` up and the given ping_group_range.
    fn new(range: &str) -> Netns {
        let name = format!(
            "probe2-ping-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        sh(&["ip", "netns", "add", &name]);
        let ns = Netns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns.exec(&[
            "sysctl",
            "-q",
            "-w",
            &format!("net.ipv4.ping_group_range={range}"),
        ]);
        ns
    }

    fn exec(&self, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", &self.name];
        all.extend_from_slice(args);
        sh(&all);
    }

    /// Runs `f` on a thread inside the namespace.
    fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> T {
        let path = format!("/run/netns/{}", self.name);
        std::thread::spawn(move || {
            let fd = File::open(&path).expect("netns file");
            setns(&fd, CloneFlags::CLONE_NEWNET).expect("setns");
            f()
        })
        .join()
        .expect("thread")
    }

    fn probe(&self, spec: Spec) -> Report {
        self.run(move || runtime().block_on(run(&spec)))
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn ping(ip: &str, body: &str) -> Spec {
    spec_from(&one_checker(ip, 80, &format!("PING_CHECK {{\n{body}\n}}"))).expect("spec")
}

fn ping6(ip: &str, body: &str) -> Spec {
    spec_from(&format!(
        "virtual_server 2001:db8::10 80 {{\n  lvs_sched rr\n  lvs_method NAT\n  protocol TCP\n  real_server {ip} 80 {{\n    PING_CHECK {{\n{body}\n    }}\n  }}\n}}\n"
    ))
    .expect("spec")
}

#[test]
fn echo_reply_from_loopback_v4_and_v6() {
    let ns = Netns::new("0 2147483647");
    let r = ns.probe(ping("127.0.0.1", "connect_timeout 2"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Success, "success"),
        "{r:?}"
    );
    assert!(r.elapsed < Duration::from_millis(500), "{r:?}");
    let r = ns.probe(ping6("::1", "connect_timeout 2"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Success, "success"),
        "{r:?}"
    );
}

#[test]
fn unanswered_echo_times_out() {
    // 192.0.2.99 is on a link (a veth pair) where nobody answers.
    let ns = Netns::new("0 2147483647");
    ns.exec(&[
        "ip", "link", "add", "p2v0", "type", "veth", "peer", "name", "p2v1",
    ]);
    ns.exec(&["ip", "addr", "add", "192.0.2.1/24", "dev", "p2v0"]);
    ns.exec(&["ip", "link", "set", "p2v0", "up"]);
    ns.exec(&["ip", "link", "set", "p2v1", "up"]);
    let r = ns.probe(ping("192.0.2.99", "connect_timeout 1"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "timeout"),
        "{r:?}"
    );
    assert!(
        r.elapsed >= Duration::from_millis(990) && r.elapsed < Duration::from_millis(1500),
        "{r:?}"
    );
}

#[test]
fn no_route_fails_at_once() {
    let ns = Netns::new("0 2147483647");
    let r = ns.probe(ping("198.51.100.7", "connect_timeout 3"));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "send ICMP packet fail"),
        "{r:?}"
    );
    assert!(r.elapsed < Duration::from_millis(500), "{r:?}");
}

#[test]
fn outside_ping_group_range_is_a_local_error_until_widened() {
    let ns = Netns::new("1 0");
    let r = ns.probe(ping("127.0.0.1", ""));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (
            Verdict::LocalError,
            "ICMP connect fail to create socket. Rescheduling."
        ),
        "{r:?}"
    );
    assert!(
        r.cause
            .as_deref()
            .is_some_and(|c| c.contains("ping_group_range")),
        "{r:?}"
    );
    let r = ns.probe(ping6("::1", ""));
    assert_eq!(
        r.detail,
        "ICMPv6 connect fail to create socket. Rescheduling."
    );
    // keepalived's widening, on the namespace's real sysctl, lets root
    // ping; restoring it closes the door again.
    let old =
        ns.run(|| group_range::widen(std::path::Path::new(group_range::PATH)).expect("widen"));
    assert_eq!(old, Some((1, 0)));
    let r = ns.probe(ping("127.0.0.1", ""));
    assert_eq!(r.verdict, Verdict::Success, "{r:?}");
    ns.run(move || {
        group_range::restore(std::path::Path::new(group_range::PATH), (1, 0)).expect("restore")
    });
    let r = ns.probe(ping("127.0.0.1", ""));
    assert_eq!(r.verdict, Verdict::LocalError, "{r:?}");
}

#[test]
fn identity_is_the_connection_options_only() {
    let base = ping("192.0.2.5", "");
    assert_eq!(base.key(), ping("192.0.2.5", "delay_loop 3\nretry 9").key());
    for other in ["connect_timeout 1", "fwmark 7", "bindto 192.0.2.1"] {
        assert_ne!(base.key(), ping("192.0.2.5", other).key(), "{other}");
    }
    assert_ne!(base.key(), ping("192.0.2.6", "").key());
    assert_eq!(base.key().kind, "PING_CHECK");
}
