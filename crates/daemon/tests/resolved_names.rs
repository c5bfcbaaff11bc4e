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
        .args(["status", "--detail", "--json", "--control-socket"])
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

fn in_ns(ns: &Netns, prog: &str) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", &ns.name, prog]);
    c
}

/// dnsmasq on the namespace's 127.0.0.1:5353, answering for
/// example.internal from `d`/hosts and `extra` options.
fn dnsmasq(ns: &Netns, d: &Path, extra: &[&str]) -> Child {
    in_ns(ns, "dnsmasq")
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
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("dnsmasq (apt install dnsmasq-base) starts")
}

/// keepalived-rs -C on `d`/k.conf with dry IPVS, its ops in `d`/ops and
/// its log in `d`/log.
fn daemon(ns: &Netns, d: &Path) -> Child {
    in_ns(ns, BIN)
        .args(["-C", "-n", "-l", "-D", "-f"])
        .arg(d.join("k.conf"))
        .arg(format!("--control-socket={}", d.join("ctl").display()))
        .arg("-p")
        .arg(d.join("parent.pid"))
        .arg("-c")
        .arg(d.join("check.pid"))
        .env("KEEPALIVED_RS_IPVS_DRY", "1")
        .env("KEEPALIVED_RS_IPVS_DRY_OPS", d.join("ops"))
        .env("TMPDIR", d)
        .env_remove("NOTIFY_SOCKET")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(fs::File::create(d.join("log")).expect("log file"))
        .spawn()
        .expect("starts")
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
    let ops = d.join("ops");
    let dns = dnsmasq(&ns, d, &[]);
    let dns_pid = dns.id();
    let mut running = Running(vec![dns]);
    running.0.push(daemon(&ns, d));

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

const SRV_CONF: &str = "global_defs {
  router_id resolved_srv
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
  real_server_name _http._tcp.example.internal {
    resolvers dns
  }
}
";

/// The SRV records: priority 0 `one` (its address from `--address`, which
/// dnsmasq does not put in the additional section) and `hosted` (from the
/// hosts file, which it does), priority 1 `backup` (a fallback).
const SRV: [&str; 3] = [
    "--srv-host=_http._tcp.example.internal,one.example.internal,8080,0,10",
    "--srv-host=_http._tcp.example.internal,hosted.example.internal,8081,0,20",
    "--srv-host=_http._tcp.example.internal,backup.example.internal,8082,1,5",
];

/// The real servers of the status as "ADDR:PORT WEIGHT", sorted.
fn srv_set(s: &Value) -> Vec<String> {
    let mut v: Vec<String> = real_servers(s)
        .iter()
        .filter_map(|r| {
            let name = r["name"].as_str()?;
            let (addr, port) = name.split_once("]:tcp:")?;
            Some(format!(
                "{}:{port} {}",
                addr.trim_start_matches('['),
                r["weight"]
            ))
        })
        .collect();
    v.sort();
    v
}

fn wait_set(d: &Path, what: &str, want: &[&str]) {
    wait_for(what, &d.join("log"), || {
        let s = status(d)?;
        (srv_set(&s) == want).then_some(())
    });
}

#[test]
fn srv_targets_without_glue_are_asked_and_priority_falls_back() {
    require_root();
    let ns = Netns::up("srvs");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    fs::write(d.join("k.conf"), SRV_CONF).expect("config");
    let hosted = |on: bool| {
        let text = if on {
            "192.0.2.41 hosted.example.internal\n"
        } else {
            ""
        };
        fs::write(d.join("hosts"), text).expect("hosts");
    };
    hosted(true);
    let mut args: Vec<&str> = SRV.to_vec();
    args.extend([
        "--address=/one.example.internal/192.0.2.31",
        "--address=/backup.example.internal/192.0.2.33",
    ]);
    let mut running = Running(vec![dnsmasq(&ns, d, &args)]);
    running.0.push(daemon(&ns, d));
    wait_set(
        d,
        "priority 0: one asked on its own, hosted from the additional section",
        &["192.0.2.31:8080 10", "192.0.2.41:8081 20"],
    );

    // one's address changes: followed by its own query.
    let mut dns = running.0.remove(0);
    let _ = dns.kill();
    let _ = dns.wait();
    args[3] = "--address=/one.example.internal/192.0.2.32";
    running.0.push(dnsmasq(&ns, d, &args));
    wait_set(
        d,
        "one's new address",
        &["192.0.2.32:8080 10", "192.0.2.41:8081 20"],
    );

    // Neither priority 0 target resolves any more: the fallback.
    let mut dns = running.0.pop().expect("dnsmasq");
    let _ = dns.kill();
    let _ = dns.wait();
    hosted(false);
    let fallback: Vec<&str> = SRV
        .iter()
        .copied()
        .chain(["--address=/backup.example.internal/192.0.2.33"])
        .collect();
    running.0.push(dnsmasq(&ns, d, &fallback));
    wait_set(d, "priority 1 in use", &["192.0.2.33:8082 5"]);

    // And back: priority 0 again, the fallback out.
    let mut dns = running.0.pop().expect("dnsmasq");
    let _ = dns.kill();
    let _ = dns.wait();
    hosted(true);
    running.0.push(dnsmasq(&ns, d, &fallback));
    wait_set(d, "priority 0 back", &["192.0.2.41:8081 20"]);
}

/// a from the state file (`last`), h from the system resolver (`libc`:
/// the namespace's /etc/hosts, as `ip netns exec` mounts it), s from a
/// written address: with DNS down at the second start, all three are
/// real servers at once.
fn init_conf(d: &Path) -> String {
    format!(
        "global_defs {{
  router_id resolved_init
}}
resolvers dns {{
  nameserver ns1 127.0.0.1:5353
  timeout resolve 1
  timeout retry 300ms
  hold obsolete 0
  state_file {}
}}
virtual_server 198.51.100.10 80 {{
  lb_algo rr
  lb_kind NAT
  protocol TCP
  real_server_name a.example.internal 80 {{
    resolvers dns
    init_addr last,none
  }}
  real_server_name h.example.internal 80 {{
    resolvers dns
    init_addr libc
  }}
  real_server_name s.example.internal 80 {{
    resolvers dns
    init_addr 192.0.2.99
  }}
}}
",
        d.join("dns.state").display()
    )
}

/// Removes /etc/netns/NAME (the namespace's own /etc files) on drop.
struct EtcNetns(std::path::PathBuf);

impl Drop for EtcNetns {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn stop(mut c: Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &c.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = c.kill();
    let _ = c.wait();
}

#[test]
fn a_restart_with_dns_down_starts_from_init_addr() {
    use std::os::unix::fs::PermissionsExt;
    require_root();
    let ns = Netns::up("srvi");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    fs::write(d.join("k.conf"), init_conf(d)).expect("config");
    fs::write(
        d.join("hosts"),
        "192.0.2.11 a.example.internal\n192.0.2.31 h.example.internal\n192.0.2.41 s.example.internal\n",
    )
    .expect("hosts");
    let mut running = Running(vec![dnsmasq(&ns, d, &[])]);
    running.0.push(daemon(&ns, d));
    wait_set(
        d,
        "every name resolved by DNS",
        &["192.0.2.11:80 1", "192.0.2.31:80 1", "192.0.2.41:80 1"],
    );
    let state = d.join("dns.state");
    wait_for("the state file", &d.join("log"), || {
        let text = fs::read_to_string(&state).ok()?;
        text.contains("192.0.2.41").then_some(())
    });
    let mode = fs::metadata(&state)
        .expect("state file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the state file is private");

    // Both down; the namespace's /etc/hosts names h elsewhere.
    for c in running.0.drain(..).rev() {
        stop(c);
    }
    let etc = Path::new("/etc/netns").join(&ns.name);
    fs::create_dir_all(&etc).expect("/etc/netns/NAME");
    let _etc = EtcNetns(etc.clone());
    fs::write(etc.join("hosts"), "192.0.2.32 h.example.internal\n").expect("hosts");
    let _ = fs::remove_file(d.join("ctl"));
    running.0.push(daemon(&ns, d));
    wait_set(
        d,
        "a from the state file, h from libc, s as written, DNS down",
        &["192.0.2.11:80 1", "192.0.2.32:80 1", "192.0.2.99:80 1"],
    );
    // An outage changes nothing: still there a few lookups later.
    std::thread::sleep(Duration::from_secs(2));
    let s = status(d).expect("status");
    assert_eq!(
        srv_set(&s),
        ["192.0.2.11:80 1", "192.0.2.32:80 1", "192.0.2.99:80 1"]
    );
}
