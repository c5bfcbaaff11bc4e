// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Network namespace lab for the kernel tests.
//!
//! Two namespaces joined by a veth pair (`va` in A, `vb` in B) with
//! 192.0.2.1/24 + 2001:db8::1/64 on A and 192.0.2.2/24 + 2001:db8::2/64 on
//! B, DAD off so link-local addresses are usable at once, `lo` up.
//!
//! Entering a namespace: the test runs its async logic on a dedicated
//! thread that calls setns(CLONE_NEWNET) and then builds its own
//! current-thread tokio runtime. setns only changes the calling thread, so
//! the test harness and other tests are untouched, and every socket (raw,
//! packet, netlink) created on that thread lives in the namespace.
//! Processes (tcpdump, ip) are started with `ip netns exec`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod scripts;

use std::future::Future;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests create network namespaces and raw sockets: run them as root"
    );
}

pub fn sh(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

static SEQ: AtomicU32 = AtomicU32::new(0);

pub struct Lab {
    pub a: String,
    pub b: String,
}

pub const A_V4: &str = "192.0.2.1";
pub const B_V4: &str = "192.0.2.2";
pub const A_V6: &str = "2001:db8::1";
pub const B_V6: &str = "2001:db8::2";

impl Lab {
    pub fn new() -> Self {
        require_root();
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let id = std::process::id();
        let lab = Self {
            a: format!("ksys{id}x{n}a"),
            b: format!("ksys{id}x{n}b"),
        };
        for ns in [&lab.a, &lab.b] {
            sh(&["ip", "netns", "add", ns]);
            for key in [
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ] {
                sh(&["ip", "netns", "exec", ns, "sysctl", "-qw", key]);
            }
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        sh(&[
            "ip", "link", "add", "va", "netns", &lab.a, "type", "veth", "peer", "name", "vb",
            "netns", &lab.b,
        ]);
        for (ns, dev, v4, v6) in [(&lab.a, "va", A_V4, A_V6), (&lab.b, "vb", B_V4, B_V6)] {
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v4}/24"),
                "dev",
                dev,
            ]);
            sh(&[
                "ip",
                "-n",
                ns,
                "addr",
                "add",
                &format!("{v6}/64"),
                "dev",
                dev,
                "nodad",
            ]);
            sh(&["ip", "-n", ns, "link", "set", dev, "up"]);
        }
        lab.wait_link_local(&lab.a.clone(), "va");
        lab.wait_link_local(&lab.b.clone(), "vb");
        lab
    }

    fn wait_link_local(&self, ns: &str, dev: &str) {
        for _ in 0..100 {
            let out = sh(&[
                "ip", "-n", ns, "-6", "addr", "show", "dev", dev, "scope", "link",
            ]);
            if out.contains("fe80::") && !out.contains("tentative") {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("no usable link-local address on {dev} in {ns}");
    }

    /// `ip -j addr show dev DEV` in NS, parsed.
    pub fn addr_json(&self, ns: &str, dev: &str) -> serde_json::Value {
        let out = sh(&["ip", "-n", ns, "-j", "addr", "show", "dev", dev]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("ip -j output {out:?}: {e}"))
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Run `f` on a new thread inside namespace `ns` with its own
/// current-thread runtime.
pub fn in_ns<F, Fut, T>(ns: &str, f: F) -> std::thread::JoinHandle<T>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
    T: Send + 'static,
{
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("open {path}: {e}"));
        nix::sched::setns(&file, nix::sched::CloneFlags::CLONE_NEWNET)
            .unwrap_or_else(|e| panic!("setns {path}: {e}"));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("runtime: {e}"));
        rt.block_on(f())
    })
}

/// Join a namespace thread, re-raising its panic.
pub fn join<T>(h: std::thread::JoinHandle<T>) -> T {
    match h.join() {
        Ok(v) => v,
        Err(p) => std::panic::resume_unwind(p),
    }
}
