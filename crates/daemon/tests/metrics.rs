// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The Prometheus endpoint on a running daemon: ours in one namespace
//! (VI_1 master at 150, VI_2 backup under the peer's 200), real
//! keepalived as the peer in another. Scraped at 10/s for 5 s while
//! three idle clients hold connections open, STATS_CLEAR is sent and
//! the daemon is reloaded (once with the same file, once with a broken
//! one): every scrape answers, every counter is monotonic, the reloads
//! are counted, `promtool check metrics` accepts the text, and a client
//! asking for OpenMetrics gets it. Then the VRRP child is killed: its
//! restart is counted.
//!
//! Needs root, iproute2, python3, `keepalived` and `promtool` (Debian
//! package `prometheus`) in PATH; fails (never skips) without them.
//! About 9 s.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

mod support;
use support::prom::{counters, first_regression, value};
use support::run_ok as run;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const PORT: u16 = 9651;
const SCRAPES: usize = 50;

fn preflight() {
    support::require(
        "the metrics test",
        &[
            ("keepalived", "--version"),
            ("promtool", "--version"),
            ("python3", "--version"),
        ],
    );
}

use support::VethPair as Lab;

/// Ours in `ours`, keepalived in `peer`.
fn lab() -> Lab {
    preflight();
    let id = std::process::id() % 100_000;
    Lab::up(format!("kmO{id}"), format!("kmP{id}"))
}

fn conf(p1: u8, p2: u8, metrics: bool) -> String {
    let global = if metrics {
        format!("global_defs {{\n  metrics_listen 127.0.0.1:{PORT}\n}}\n")
    } else {
        String::new()
    };
    format!(
        "{global}vrrp_instance VI_1 {{\n  interface veth0\n  virtual_router_id 51\n  priority {p1}\n  \
         version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n\
         vrrp_instance VI_2 {{\n  interface veth0\n  virtual_router_id 52\n  priority {p2}\n  \
         version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    192.0.2.110/24\n  }}\n}}\n"
    )
}

fn start(lab: &Lab, ns: &str, prog: &str, name: &str, text: &str) -> (Child, PathBuf) {
    let conf_path = lab.path(&format!("{name}.conf"));
    fs::write(&conf_path, text).expect("write the configuration");
    let pid_file = lab.path(&format!("{name}.pid"));
    let log = fs::File::create(lab.path(&format!("{name}.log"))).expect("log");
    let vrrp_pid = lab.path(&format!("{name}-vrrp.pid"));
    let child = support::vrrp_daemon(ns, prog, &conf_path, &pid_file, &vrrp_pid, log)
        .spawn()
        .expect("start a daemon");
    (child, pid_file)
}

fn read_pid(p: &Path) -> Option<i32> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// Scrapes SCRAPES times at 10/s from inside `ns`, each body to
/// `dir/scrape-N.txt`, with three idle connections held open all along;
/// then once asking for OpenMetrics (`dir/openmetrics.txt`).
const SCRAPER: &str = r#"
import socket, sys, time, urllib.request
port, out, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
url = "http://127.0.0.1:%d/metrics" % port
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
t0 = time.time()
for i in range(n):
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200, r.status
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4"), r.headers["Content-Type"]
        open("%s/scrape-%d.txt" % (out, i), "w").write(r.read().decode())
    time.sleep(max(0.0, t0 + 0.1 * (i + 1) - time.time()))
req = urllib.request.Request(url, headers={"Accept": "application/openmetrics-text;version=1.0.0"})
with urllib.request.urlopen(req, timeout=5) as r:
    assert r.headers["Content-Type"].startswith("application/openmetrics-text"), r.headers["Content-Type"]
    open("%s/openmetrics.txt" % out, "w").write(r.read().decode())
print("elapsed %.2f" % (time.time() - t0))
"#;

#[test]
fn scrapes_at_10_per_second_stay_monotonic_and_pass_promtool() {
    let lab = lab();
    let (mut peer, _) = start(
        &lab,
        &lab.peer,
        "keepalived",
        "peer",
        &conf(100, 200, false),
    );
    let (mut ours, pid_file) = start(&lab, &lab.ours, OURS, "ours", &conf(150, 100, true));
    let until = Instant::now() + Duration::from_secs(5);
    while read_pid(&pid_file).is_none() {
        assert!(Instant::now() < until, "ours did not start");
        sleep(Duration::from_millis(20));
    }
    let pid = read_pid(&pid_file).unwrap_or_default();
    // Both elections settle in 3 x 0.1 s + skew.
    sleep(Duration::from_millis(1500));

    let out = lab.path("scrapes");
    fs::create_dir_all(&out).expect("mkdir");
    let scraper = Command::new("ip")
        .args(["netns", "exec", &lab.ours, "python3", "-c", SCRAPER])
        .arg(PORT.to_string())
        .arg(&out)
        .arg(SCRAPES.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the scraper");
    // STATS_CLEAR, a reload with the same file, then one with a broken
    // file, each between two scrapes: none may take a counter back.
    let after_scrape = |n: usize| {
        let f = out.join(format!("scrape-{n}.txt"));
        let until = Instant::now() + Duration::from_secs(20);
        while !f.exists() {
            assert!(Instant::now() < until, "scrape {n} never came");
            sleep(Duration::from_millis(10));
        }
    };
    after_scrape(5);
    let clear = run(&[OURS, "--signum=STATS_CLEAR"]);
    run(&["kill", &format!("-{}", clear.trim()), &pid.to_string()]);
    after_scrape(15);
    run(&["kill", "-HUP", &pid.to_string()]);
    after_scrape(25);
    // Left broken: the daemon keeps its running configuration, and a
    // restore could race the supervisor's reading of the file.
    fs::write(lab.path("ours.conf"), "vrrp_instance VI_1 {\n").expect("break the file");
    run(&["kill", "-HUP", &pid.to_string()]);
    let scraped = scraper.wait_with_output().expect("the scraper");
    let log = fs::read_to_string(lab.path("ours.log")).unwrap_or_default();
    assert!(
        scraped.status.success(),
        "the scraper failed: {}{}\n--- ours ---\n{log}",
        String::from_utf8_lossy(&scraped.stdout),
        String::from_utf8_lossy(&scraped.stderr)
    );
    eprintln!(
        "scraper: {}",
        String::from_utf8_lossy(&scraped.stdout).trim()
    );

    let texts: Vec<String> = (0..SCRAPES)
        .map(|i| fs::read_to_string(out.join(format!("scrape-{i}.txt"))).expect("a scrape"))
        .collect();
    let (first, last) = (&texts[0], &texts[SCRAPES - 1]);
    // Monotonic: no counter-like series goes down from one scrape to the
    // next, and none disappears.
    assert!(
        counters(first).len() > 20,
        "too few counter series:\n{first}"
    );
    if let Some(e) = first_regression(&texts) {
        panic!("{e}\n{last}");
    }
    // The counters move with the protocol, and the reloads are counted.
    let sent = "keepalived_vrrp_adverts_sent_total{instance=\"VI_1\"}";
    let rcvd = "keepalived_vrrp_adverts_received_total{instance=\"VI_2\"}";
    for series in [sent, rcvd] {
        let (a, b) = (value(first, series), value(last, series));
        assert!(
            matches!((a, b), (Some(a), Some(b)) if b >= a + 20.0),
            "{series}: {a:?} -> {b:?} over 5 s at advert_int 0.1\n{last}"
        );
    }
    for (series, want) in [
        (
            "keepalived_vrrp_state{instance=\"VI_1\",state=\"MASTER\"}",
            1.0,
        ),
        (
            "keepalived_vrrp_state{instance=\"VI_2\",state=\"BACKUP\"}",
            1.0,
        ),
        ("keepalived_vrrp_priority{instance=\"VI_1\"}", 150.0),
        ("keepalived_reloads_total{result=\"ok\"}", 1.0),
        ("keepalived_reloads_total{result=\"refused\"}", 1.0),
        ("keepalived_child_restarts_total{child=\"vrrp\"}", 0.0),
        ("keepalived_child_up{child=\"vrrp\"}", 1.0),
    ] {
        assert_eq!(value(last, series), Some(want), "{series}\n{last}");
    }
    // promtool reads the classic text format and lints the names.
    let check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(fs::File::open(out.join(format!("scrape-{}.txt", SCRAPES - 1))).expect("scrape"))
        .output()
        .expect("run promtool");
    assert!(
        check.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let om = fs::read_to_string(out.join("openmetrics.txt")).expect("the OpenMetrics scrape");
    assert!(om.ends_with("# EOF\n"), "not OpenMetrics:\n{om}");
    assert!(om.contains("# TYPE keepalived_vrrp_adverts_sent counter"));

    let _ = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let _ = ours.wait();
    let _ = peer.kill();
    let _ = peer.wait();
}
