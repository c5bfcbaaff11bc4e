// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Real servers named by DNS on the real binary, as root, in a namespace
//! of its own, with a real dnsmasq on its loopback and dry IPVS
//! (`KEEPALIVED_RS_IPVS_DRY=1`, the ops recorded in a file).
//!
//! A change of one name's addresses is not a reload: the written real
//! server and the other name's keep their checker exactly as it was (the
//! status shows the same next run and the same run count; a reload would
//! have restarted both at 1 s), and the ops sent are only those of the
//! addresses that came and went.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Netns, require_root};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived-rs");

const CONF: &str = "global_defs {
  router_id resolved_names
}
resolvers dns {
  nameserver ns1 127.0.0.1:5353
  timeout resolve 1
  timeout retry 300ms
  hold obsolete 0
}
virtual_server 198.51.100.10 80 {
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server 192.0.2.1 80 {
    MISC_CHECK {
      misc_path /bin/true
      delay_loop 30
      warmup 0
    }
  }
  real_server_name a.example.internal 80 {
    resolvers dns
    alpha
    MISC_CHECK {
      misc_path /bin/true
      delay_loop 1
      warmup 0
    }
  }
  real_server_name b.example.internal 80 {
    resolvers dns
    MISC_CHECK {
      misc_path /bin/true
      delay_loop 30
      warmup 0
    }
  }
}
";

/// Kills what it holds on drop (a failed assertion must not leave a
/// daemon or a dnsmasq running).
struct Running(Vec<Child>);

impl Drop for Running {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn hosts(dir: &Path, a: &str) {
    let text = format!("{a} a.example.internal\n192.0.2.21 b.example.internal\n");
    fs::write(dir.join("hosts.tmp"), text).expect("hosts");
    fs::rename(dir.join("hosts.tmp"), dir.join("hosts")).expect("hosts");
}

fn status(dir: &Path) -> Option<Value> {
    let out = Command::new(BIN)
        .args(["status", "--json", "--control-socket"])
        .arg(dir.join("ctl"))
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

/// Every real server of the status, wherever the checker's part sits.
fn real_servers(v: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::Object(m) => {
                if let Some(Value::Array(rss)) = m.get("real_servers") {
                    out.extend(rss.iter().cloned());
                }
                stack.extend(m.values());
            }
            Value::Array(a) => stack.extend(a),
            _ => {}
        }
    }
    out
}

fn rs(v: &Value, addr: &str) -> Option<Value> {
    let name = format!("[{addr}]:tcp:80");
    real_servers(v)
        .into_iter()
        .find(|r| r["name"] == name.as_str())
}

/// (next run, runs) of a real server's checker.
fn timer(v: &Value, addr: &str) -> Option<(Value, u64)> {
    let c = rs(v, addr)?["checkers"].get(0)?.clone();
    Some((c["next_run"].clone(), c["runs"]["runs"].as_u64()?))
}

fn wait_for<T>(what: &str, log: &Path, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; log:\n{}",
            fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_name_change_leaves_every_other_checker_running() {
    require_root();
    let ns = Netns::up("srvn");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    fs::write(d.join("k.conf"), CONF).expect("config");
    hosts(d, "192.0.2.11");
    let log = d.join("log");
    let in_ns = |prog: &str| {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &ns.name, prog]);
        c
    };
    let dnsmasq = in_ns("dnsmasq")
        .args([
            "-k",
            "--conf-file=/dev/null",
            "--port=5353",
            "--listen-address=127.0.0.1",
            "--bind-interfaces",
            "--no-resolv",
            "--no-hosts",
            "--local=/example.internal/",
            "--local-ttl=1",
            "--user=root",
        ])
        .arg(format!("--addn-hosts={}", d.join("hosts").display()))
        .arg(format!("--pid-file={}", d.join("dnsmasq.pid").display()))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq (apt install dnsmasq-base) starts");
    let dns_pid = dnsmasq.id();
    let mut running = Running(vec![dnsmasq]);
    let ops = d.join("ops");
    let daemon = in_ns(BIN)
        .args(["-C", "-n", "-l", "-D", "-f"])
        .arg(d.join("k.conf"))
        .arg(format!("--control-socket={}", d.join("ctl").display()))
        .arg("-p")
        .arg(d.join("parent.pid"))
        .arg("-c")
        .arg(d.join("check.pid"))
        .env("KEEPALIVED_RS_IPVS_DRY", "1")
        .env("KEEPALIVED_RS_IPVS_DRY_OPS", &ops)
        .env("TMPDIR", d)
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("starts");
    running.0.push(daemon);

    // Everything resolved, checked once and up.
    let before = wait_for("a, b and the written server checked", &log, || {
        let s = status(d)?;
        for a in ["192.0.2.1", "192.0.2.11", "192.0.2.21"] {
            let r = rs(&s, a)?;
            (r["alive"] == true && timer(&s, a)?.1 >= 1).then_some(())?;
        }
        Some(s)
    });
    let ops_before = fs::read_to_string(&ops).unwrap_or_default().len();

    // a moves to another address.
    hosts(d, "192.0.2.12");
    let hup = Command::new("kill")
        .args(["-HUP", &dns_pid.to_string()])
        .status()
        .expect("kill");
    assert!(hup.success(), "dnsmasq reloads its hosts");
    let after = wait_for("a's new address checked and in", &log, || {
        let s = status(d)?;
        (rs(&s, "192.0.2.11").is_none() && rs(&s, "192.0.2.12")?["alive"] == true).then_some(s)
    });
    for a in ["192.0.2.1", "192.0.2.21"] {
        assert_eq!(
            timer(&after, a),
            timer(&before, a),
            "{a}'s checker (next run, runs) did not move with a's change"
        );
    }
    let text = fs::read_to_string(&ops).unwrap_or_default();
    let since = text.get(ops_before..).unwrap_or_default();
    let lines: Vec<&str> = since.lines().filter(|l| !l.is_empty()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("DelDest") && l.contains("192.0.2.11")),
        "the old address removed: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("AddDest") && l.contains("192.0.2.12")),
        "the new address added once checked: {lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.contains("192.0.2.11") || l.contains("192.0.2.12")),
        "only a's addresses cost ops: {lines:?}"
    );
    let logged = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        logged.contains("other checkers undisturbed"),
        "applied on its own path, not as a reload:\n{logged}"
    );
}
