// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Watching the daemon does not disturb it: VRRP's advert timing on the
//! wire is the same with 100 control-socket clients asking for the status
//! in a loop, and with a Prometheus scrape every 100 ms, as when nobody
//! watches.
//!
//! Ours runs one VRRPv3 instance at advert_int 0.1, alone on a veth (so
//! MASTER), in one namespace; tcpdump in the other namespace stamps every
//! advert as the kernel receives it. Three windows in one run: idle (the
//! baseline), 100 clients, scrapes. In each loaded window the p99 of the
//! interval between adverts must be within 1 ms of the idle window's,
//! and no advert may be missing. The scrapes must also parse (`promtool
//! check metrics` on every tenth) and no counter may go down; the clients
//! must get answers (a client told "too many clients" waits 10 ms and
//! tries again, as a polite tool would).
//!
//! The daemon runs under `chrt -r 10` (see [`start_ours`]).
//!
//! Durations: 10 s per window in CI; `KALRS_LOAD_PROOF=full` gives the
//! issue's 30 s of clients (and 30 s of baseline) and 60 s of scrapes,
//! the figures in docs/benchmarks.md:
//!
//!     KALRS_LOAD_PROOF=full cargo test -p keepalived-rs --test under_load -- --nocapture
//!
//! Needs root, iproute2, tcpdump, python3 and promtool (Debian package
//! `prometheus`); fails (never skips) without them.

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

mod support;
use support::prom::{first_regression, value};

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");
const PORT: u16 = 9652;
const CLIENTS: usize = 100;
/// How much worse than idle the p99 advert interval may be under load.
const TOLERANCE: Duration = Duration::from_millis(1);
const ADVERT: Duration = Duration::from_millis(100);

/// (baseline and clients window, scrape window).
fn windows() -> (Duration, Duration) {
    match std::env::var("KALRS_LOAD_PROOF").as_deref() {
        Ok("full") => (Duration::from_secs(30), Duration::from_secs(60)),
        _ => (Duration::from_secs(10), Duration::from_secs(10)),
    }
}

use support::VethPair as Lab;
use support::adverts::{self, epoch_now, start_capture};

/// Ours in `ours`; tcpdump in `peer`, the wire.
fn lab() -> Lab {
    support::require(
        "the observation-load test",
        &[
            ("tcpdump", "--version"),
            ("promtool", "--version"),
            ("python3", "--version"),
        ],
    );
    let id = std::process::id() % 100_000;
    // Branch-prefixed: other tests build namespaces at the same time.
    Lab::up(format!("observe-ul{id}"), format!("observe-uw{id}"))
}

const CONF: &str = "global_defs {\n  metrics_listen 127.0.0.1:9652\n}\n\
vrrp_instance VI_1 {\n  interface veth0\n  virtual_router_id 51\n  priority 150\n  \
version 3\n  advert_int 0.1\n  virtual_ipaddress {\n    192.0.2.100/24\n  }\n}\n";

fn start_ours(lab: &Lab) -> Child {
    fs::write(lab.path("k.conf"), CONF).expect("write the configuration");
    let log = fs::File::create(lab.path("ours.log")).expect("log");
    // Real-time, as keepalived's vrrp_rt_priority would make it (a
    // keyword we parse and name as not acted on): the CI machine runs
    // other jobs at normal priority, and without this their bursts, not
    // our clients, set the p99 (idle windows of 104-120 ms seen with a
    // build next door). The clients and the scraper stay at normal
    // priority; what is measured is whether serving them delays the
    // adverts inside the daemon.
    Command::new("ip")
        .args(["netns", "exec", &lab.ours, "chrt", "-r", "10"])
        .args([OURS, "-P", "-n", "-l", "-D", "-f"])
        .arg(lab.path("k.conf"))
        .arg("-p")
        .arg(lab.path("ours.pid"))
        .arg("-r")
        .arg(lab.path("vrrp.pid"))
        .arg("--control-socket")
        .arg(lab.path("ctl.sock"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log fd"))
        .stderr(log)
        .spawn()
        .expect("start ours")
}

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let until = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < until, "timed out waiting for {what}");
        sleep(Duration::from_millis(20));
    }
}

/// A window of the run, in the capture's clock.
#[derive(Clone, Copy)]
struct Window {
    from: f64,
    to: f64,
}

impl Window {
    /// Runs `f` (which returns when the window is over) and notes when.
    fn around(f: impl FnOnce()) -> Window {
        let from = epoch_now();
        f();
        Window {
            from,
            to: epoch_now(),
        }
    }
}

/// Advert intervals whose both ends fall inside `w`, sorted.
fn intervals(stamps: &[f64], w: Window) -> Vec<Duration> {
    adverts::sorted_gaps(stamps, w.from, w.to)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(i).copied().unwrap_or_default()
}

/// What the clients saw.
#[derive(Default)]
struct Tally {
    answered: AtomicU64,
    too_many: AtomicU64,
    failed: AtomicU64,
}

/// One status request on a fresh connection.
fn ask_status(sock: &Path, tally: &Tally) {
    let Ok(mut conn) = UnixStream::connect(sock) else {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = conn.write_all(b"{\"version\":1,\"cmd\":\"status\"}\n");
    let mut line = String::new();
    let _ = BufReader::new(conn).read_line(&mut line);
    let answer: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
    if answer["ok"] == true && answer["result"]["vrrp"]["instances"][0]["name"] == "VI_1" {
        tally.answered.fetch_add(1, Ordering::Relaxed);
    } else if line.contains("too many clients") {
        tally.too_many.fetch_add(1, Ordering::Relaxed);
        sleep(Duration::from_millis(10));
    } else {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        eprintln!("status answer: {line:?}");
    }
}

fn hammer(sock: &Path, tally: &Arc<Tally>, length: Duration) {
    let stop = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (sock, tally, stop) = (sock.to_path_buf(), Arc::clone(tally), Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    ask_status(&sock, &tally);
                }
            })
        })
        .collect();
    sleep(length);
    stop.store(true, Ordering::Relaxed);
    for t in threads {
        t.join().expect("a client thread");
    }
}

/// Scrapes `n` times at 10/s from inside the namespace, each body to
/// `out/scrape-N.txt`.
const SCRAPER: &str = r#"
import sys, time, urllib.request
port, out, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
url = "http://127.0.0.1:%d/metrics" % port
t0 = time.time()
for i in range(n):
    with urllib.request.urlopen(url, timeout=5) as r:
        assert r.status == 200, r.status
        open("%s/scrape-%d.txt" % (out, i), "w").write(r.read().decode())
    time.sleep(max(0.0, t0 + 0.1 * (i + 1) - time.time()))
"#;

fn scrape(lab: &Lab, n: usize) -> Vec<String> {
    let out = lab.path("scrapes");
    fs::create_dir_all(&out).expect("mkdir");
    let done = Command::new("ip")
        .args(["netns", "exec", &lab.ours, "python3", "-c", SCRAPER])
        .arg(PORT.to_string())
        .arg(&out)
        .arg(n.to_string())
        .output()
        .expect("run the scraper");
    assert!(
        done.status.success(),
        "the scraper failed: {}\n--- ours ---\n{}",
        String::from_utf8_lossy(&done.stderr),
        fs::read_to_string(lab.path("ours.log")).unwrap_or_default()
    );
    (0..n)
        .map(|i| fs::read_to_string(out.join(format!("scrape-{i}.txt"))).expect("a scrape"))
        .collect()
}

fn promtool_accepts(text: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(text.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

#[test]
fn status_clients_and_scrapes_leave_advert_timing_alone() {
    let (window, scrape_window) = windows();
    let lab = lab();
    let mut ours = start_ours(&lab);
    let sock = lab.path("ctl.sock");
    wait_for("the control socket", Duration::from_secs(10), || {
        sock.exists().then_some(())
    });
    let probe = Tally::default();
    wait_for("VI_1 MASTER", Duration::from_secs(10), || {
        let out = Command::new(OURS)
            .args(["status", "--detail", "--json", "--control-socket"])
            .arg(&sock)
            .output()
            .ok()?;
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (v["vrrp"]["instances"][0]["state"] == "MASTER").then_some(())
    });
    ask_status(&sock, &probe);
    assert_eq!(probe.answered.load(Ordering::Relaxed), 1, "a status answer");
    let mut capture = start_capture(&lab);

    let idle = Window::around(|| sleep(window));
    let tally = Arc::new(Tally::default());
    let clients = Window::around(|| hammer(&sock, &tally, window));
    let n_scrapes = (scrape_window.as_millis() / ADVERT.as_millis()) as usize;
    let mut texts = Vec::new();
    let scrapes = Window::around(|| texts = scrape(&lab, n_scrapes));
    sleep(Duration::from_millis(300));
    let _ = Command::new("kill")
        .args(["-TERM", &capture.id().to_string()])
        .status();
    let _ = capture.wait();

    let stamps = adverts::stamps(&lab, "192.0.2.1");
    let mut report = String::new();
    let mut p99 = Vec::new();
    for (name, w) in [("idle", idle), ("clients", clients), ("scrapes", scrapes)] {
        let gaps = intervals(&stamps, w);
        let expected = ((w.to - w.from) / ADVERT.as_secs_f64()) as usize;
        let line = format!(
            "{name:8} {:5.1} s  {} intervals  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms  top {:?}\n",
            w.to - w.from,
            gaps.len(),
            percentile(&gaps, 0.5).as_secs_f64() * 1e3,
            percentile(&gaps, 0.99).as_secs_f64() * 1e3,
            gaps.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
            gaps.iter()
                .rev()
                .take(5)
                .map(|g| (g.as_secs_f64() * 1e4).round() / 10.0)
                .collect::<Vec<_>>(),
        );
        report.push_str(&line);
        // Nothing missing: at most one interval lost at each edge.
        assert!(
            gaps.len() + 2 >= expected && gaps.last() < Some(&(ADVERT * 3 / 2)),
            "{name}: adverts missing ({} intervals for {expected})\n{report}",
            gaps.len()
        );
        p99.push(percentile(&gaps, 0.99));
    }
    let (answered, too_many, failed) = (
        tally.answered.load(Ordering::Relaxed),
        tally.too_many.load(Ordering::Relaxed),
        tally.failed.load(Ordering::Relaxed),
    );
    report.push_str(&format!(
        "clients: {answered} status answers, {too_many} told too many, {failed} failed; {} scrapes\n",
        texts.len()
    ));
    eprint!("{report}");
    for (name, p) in [("clients", p99[1]), ("scrapes", p99[2])] {
        assert!(
            p <= p99[0] + TOLERANCE,
            "{name}: p99 advert interval {p:?} against {:?} idle\n{report}",
            p99[0]
        );
    }
    assert_eq!(failed, 0, "{report}");
    assert!(
        answered >= 10 * window.as_secs(),
        "too few answers\n{report}"
    );

    // The scrapes: every tenth passes promtool, no counter goes down,
    // and the advert counter follows the wire.
    for (i, t) in texts.iter().enumerate().step_by(10) {
        if let Err(e) = promtool_accepts(t) {
            panic!("promtool check metrics, scrape {i}: {e}\n{t}");
        }
    }
    if let Some(e) = first_regression(&texts) {
        panic!("{e}");
    }
    let sent = "keepalived_vrrp_adverts_sent_total{instance=\"VI_1\"}";
    let (first, last) = (
        value(&texts[0], sent),
        value(texts.last().expect("scrapes"), sent),
    );
    let want = (n_scrapes as f64 - 1.0) * 0.9;
    assert!(
        matches!((first, last), (Some(a), Some(b)) if b - a >= want),
        "{sent}: {first:?} -> {last:?} over {n_scrapes} scrapes"
    );

    // Still the same daemon and the same child, never restarted.
    let status = Command::new(OURS)
        .args(["status", "--detail", "--json", "--control-socket"])
        .arg(&sock)
        .output()
        .expect("status");
    let v: serde_json::Value = serde_json::from_slice(&status.stdout).expect("json");
    assert_eq!(v["daemon"]["children"][0]["restarts"], 0, "{v}");
    assert_eq!(v["vrrp"]["instances"][0]["state"], "MASTER", "{v}");
    let _ = Command::new("kill")
        .args(["-TERM", &ours.id().to_string()])
        .status();
    let _ = ours.wait();
}
