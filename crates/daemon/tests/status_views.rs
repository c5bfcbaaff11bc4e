// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The status views on the real binary, as root, in a namespace of its
//! own, with dry IPVS (`KEEPALIVED_RS_IPVS_DRY=1`: the host has no IPVS).
//!
//! - the summary says what the whole table says: its counts and its
//!   lists agree with a `--detail` answer taken once the checks settled;
//! - `--vs` answers the whole state of the one virtual server it names;
//! - the summary's size does not grow with the number of real servers
//!   (10 against 1 000, 10 and 30 of them down: the lists stay capped at
//!   20 with "N more"), while the
//!   detail answer does.
//!
//! Real servers with a TCP_CHECK connect to a closed port on the
//! namespace's loopback (refused at once: down after one run); real
//! servers without a checker stay up.

mod support;

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Netns;

const BIN: &str = env!("CARGO_BIN_EXE_keepalived-rs");
/// In the test's own namespace: no clash with another test's port.
const METRICS: &str = "127.0.0.1:9661";

/// A real server; `failing` gives it a check that is refused.
fn rs(addr: &str, failing: bool) -> String {
    let check = if failing {
        "    TCP_CHECK {\n      connect_ip 127.0.0.1\n      connect_port 9\n      connect_timeout 1\n      \
         delay_loop 30\n      warmup 0\n      retry 0\n    }\n"
    } else {
        ""
    };
    format!("  real_server {addr} 80 {{\n    weight 1\n{check}  }}\n")
}

fn vs(addr: &str, quorum: u32, rss: &[String]) -> String {
    format!(
        "virtual_server {addr} 80 {{\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n  quorum {quorum}\n{}}}\n",
        rss.concat()
    )
}

struct Daemon {
    child: Child,
    dir: tempfile::TempDir,
    ns: Netns,
}

impl Daemon {
    fn start(tag: &str, config: &str, extra: &[&str]) -> Self {
        let ns = Netns::up(tag);
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("k.conf"), config).expect("config");
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.name, BIN, "-C", "-n", "-l", "-f"])
            .arg(dir.path().join("k.conf"))
            .arg("-p")
            .arg(dir.path().join("parent.pid"))
            .arg("-c")
            .arg(dir.path().join("check.pid"))
            .arg("--control-socket")
            .arg(dir.path().join("ctl.sock"))
            .args(extra)
            .env("KEEPALIVED_RS_IPVS_DRY", "1")
            .env("TMPDIR", dir.path())
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(dir.path().join("log")).expect("log file"))
            .spawn()
            .expect("starts");
        Daemon { child, dir, ns }
    }

    /// GET /metrics from inside the namespace (the classic text format).
    fn scrape(&self) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns.name, "python3", "-c"])
            .arg(
                "import sys, urllib.request\n\
                 sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
            )
            .arg(format!("http://{METRICS}/metrics"))
            .output()
            .expect("python3 runs");
        assert!(
            out.status.success(),
            "scrape: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("ctl.sock")
    }

    /// `keepalived-rs status ARGS --json`, parsed; None until it answers.
    fn status(&self, args: &[&str]) -> Option<Value> {
        let out = Command::new(BIN)
            .arg("status")
            .args(args)
            .arg("--json")
            .arg("--control-socket")
            .arg(self.sock())
            .output()
            .expect("runs");
        out.status
            .success()
            .then(|| serde_json::from_slice(&out.stdout).ok())
            .flatten()
    }

    /// The summary once `down` real servers are down (the checks have
    /// run), or a failure with the log.
    fn settled(&self, down: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut last = None;
        loop {
            if let Some(v) = self.status(&[]) {
                if v["checker"]["summary"]["real_servers_down"].as_u64() == Some(down) {
                    return v;
                }
                last = Some(v);
            }
            if Instant::now() > deadline {
                let detail = self.status(&["--detail"]).unwrap_or_default();
                let really_down = detail["checker"]["virtual_servers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .flat_map(|vs| vs["real_servers"].as_array().into_iter().flatten())
                    .filter(|rs| rs["alive"] == false)
                    .count();
                let log = fs::read_to_string(self.dir.path().join("log")).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                panic!(
                    "never {down} real servers down (the detail says {really_down}); last summary: {}\nlog tail (last first):\n{}",
                    last.map(|v| v["checker"].to_string()).unwrap_or_default(),
                    tail.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn names(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|x| x[key].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn the_summary_agrees_with_the_detail_and_a_filter_names_one_server() {
    support::require_root();
    let config = [
        vs(
            "192.0.2.1",
            1,
            &(1..=4)
                .map(|i| rs(&format!("198.51.100.{i}"), false))
                .collect::<Vec<_>>(),
        ),
        vs(
            "192.0.2.2",
            1,
            &[
                rs("198.51.100.11", true),
                rs("198.51.100.12", true),
                rs("198.51.100.13", true),
                rs("198.51.100.14", false),
                rs("198.51.100.15", false),
            ],
        ),
        // Every real server fails: quorum lost.
        vs(
            "192.0.2.3",
            1,
            &[rs("198.51.100.21", true), rs("198.51.100.22", true)],
        ),
    ]
    .concat();
    let d = Daemon::start("statusscale-a", &config, &["--metrics", METRICS]);
    let summary = d.settled(5);
    let detail = d.status(&["--detail"]).expect("detail");
    assert_eq!(summary["view"], "summary");
    assert_eq!(detail["view"], "detail");

    // The counts, against the whole table.
    let vss = detail["checker"]["virtual_servers"]
        .as_array()
        .expect("virtual servers");
    let all: Vec<(&Value, &Value)> = vss
        .iter()
        .flat_map(|vs| {
            vs["real_servers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |rs| (vs, rs))
        })
        .collect();
    let down: Vec<String> = all
        .iter()
        .filter(|(_, rs)| rs["alive"] == false)
        .map(|(vs, rs)| format!("{} {}", vs["name"], rs["name"]))
        .collect();
    let no_quorum: Vec<String> = vss
        .iter()
        .filter(|vs| vs["quorum_up"] == false)
        .map(|vs| vs["name"].as_str().unwrap_or_default().to_owned())
        .collect();
    let s = &summary["checker"]["summary"];
    assert_eq!(s["virtual_servers_total"], vss.len(), "{summary}");
    assert_eq!(s["real_servers_total"], all.len(), "{summary}");
    assert_eq!(s["real_servers_down"], down.len(), "{summary}");
    assert_eq!(s["real_servers_up"], all.len() - down.len(), "{summary}");
    assert_eq!(s["quorum_down_total"], no_quorum.len(), "{summary}");
    assert_eq!((all.len(), down.len()), (11, 5));
    assert_eq!(no_quorum, vec!["[192.0.2.3]:tcp:80".to_owned()]);

    // The lists (under the cap): the same objects.
    let listed: Vec<String> = s["down"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|x| format!("{} {}", x["virtual_server"], x["name"]))
        .collect();
    assert_eq!(listed, down, "{summary}");
    assert_eq!(names(&s["quorum_down"], "name"), no_quorum);
    assert_eq!(
        (s["down_more"].as_u64(), s["quorum_down_more"].as_u64()),
        (Some(0), Some(0))
    );

    // One virtual server, by address and port, in full.
    let one = d.status(&["--vs", "192.0.2.2:80"]).expect("filtered");
    let got = one["checker"]["virtual_servers"].as_array().expect("list");
    assert_eq!(got.len(), 1, "{one}");
    assert_eq!(got[0]["name"], "[192.0.2.2]:tcp:80");
    let want = &vss[1];
    assert_eq!(
        names(&got[0]["real_servers"], "name"),
        names(&want["real_servers"], "name")
    );
    let alive = |v: &Value| -> Vec<bool> {
        v["real_servers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["alive"] == true)
            .collect()
    };
    assert_eq!(alive(&got[0]), alive(want));
    assert_eq!(alive(&got[0]), vec![false, false, false, true, true]);
    // Its exact name works too; a name of nothing answers nothing.
    let exact = d.status(&["--vs", "[192.0.2.3]:tcp:80"]).expect("filtered");
    assert_eq!(
        names(&exact["checker"]["virtual_servers"], "name"),
        no_quorum
    );
    let none = d.status(&["--vs", "192.0.2.9:80"]).expect("filtered");
    assert_eq!(none["checker"]["virtual_servers"], serde_json::json!([]));

    // The table a person reads.
    let out = Command::new(BIN)
        .args(["status", "--control-socket"])
        .arg(d.sock())
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Virtual servers: 3 (1 without quorum)  real servers: 11 (6 up, 5 down)"),
        "{text}"
    );
    assert!(
        text.contains("VS [192.0.2.3]:tcp:80  quorum DOWN"),
        "{text}"
    );

    // The scrape, from the checker's metrics view, says the same, and
    // promtool reads it.
    let scrape = d.scrape();
    let series = |name: &str| -> Vec<(String, f64)> {
        scrape
            .lines()
            .filter(|l| l.starts_with(&format!("{name}{{")))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_owned(), v.parse().ok()?))
            })
            .collect()
    };
    let up = series("keepalived_real_server_up");
    assert_eq!(up.len(), 11, "{scrape}");
    assert_eq!(up.iter().map(|s| s.1).sum::<f64>(), 6.0, "{scrape}");
    assert!(
        scrape.contains(
            "keepalived_real_server_up{virtual_server=\"[192.0.2.2]:tcp:80\",real_server=\"[198.51.100.11]:tcp:80\"} 0"
        ),
        "{scrape}"
    );
    let quorum = series("keepalived_virtual_server_quorum_up");
    assert_eq!(
        quorum
            .iter()
            .filter(|s| s.1 == 0.0)
            .map(|s| s.0.as_str())
            .collect::<Vec<_>>(),
        vec!["keepalived_virtual_server_quorum_up{virtual_server=\"[192.0.2.3]:tcp:80\"}"]
    );
    // One histogram per virtual server (14 buckets, sum, count), none per
    // real server; the failed checks are in it.
    assert_eq!(
        series("keepalived_check_duration_seconds_bucket").len(),
        3 * 14
    );
    let failures: f64 = series("keepalived_real_server_check_failures_total")
        .iter()
        .map(|s| s.1)
        .sum();
    assert!(failures >= 5.0, "{scrape}");
    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian's prometheus package) runs");
    {
        use std::io::Write;
        let mut input = promtool.stdin.take().expect("stdin");
        input.write_all(scrape.as_bytes()).expect("to promtool");
    }
    let checked = promtool.wait_with_output().expect("promtool");
    assert!(
        checked.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
}

/// `services` virtual servers of `per` real servers, the first `failing`
/// of each with a failing check (the others without a checker: a
/// thousand checkers on a loaded debug build are not what is tested).
fn table(services: usize, per: usize, failing: usize) -> String {
    (0..services)
        .map(|s| {
            let rss: Vec<String> = (0..per)
                .map(|r| {
                    rs(
                        &format!("198.51.{}.{}", 100 + r / 250, 1 + r % 250),
                        r < failing,
                    )
                })
                .collect();
            vs(&format!("192.0.2.{}", s + 1), 1, &rss)
        })
        .collect()
}

/// Bytes of the checker's part of an answer.
fn checker_bytes(v: &Value) -> usize {
    serde_json::to_vec(&v["checker"]).map_or(0, |b| b.len())
}

#[test]
fn the_summary_does_not_grow_with_the_real_servers() {
    support::require_root();
    let small = Daemon::start("statusscale-s", &table(2, 5, 5), &[]);
    let small_summary = checker_bytes(&small.settled(10));
    let small_detail = checker_bytes(&small.status(&["--detail"]).expect("detail"));
    drop(small);
    let big = Daemon::start("statusscale-b", &table(2, 500, 15), &[]);
    let big_s = big.settled(30);
    let big_summary = checker_bytes(&big_s);
    let big_detail = checker_bytes(&big.status(&["--detail"]).expect("detail"));
    let s = &big_s["checker"]["summary"];
    assert_eq!(s["down"].as_array().map(Vec::len), Some(20), "capped");
    assert_eq!(s["down_more"], 10);
    // The lists are about as long (10 and 20 entries of the same shape):
    // within 3x, while the detail grows with the table (about 20x here:
    // most of the big table's real servers have no checker to describe).
    assert!(
        big_summary < small_summary * 3,
        "summary {small_summary} -> {big_summary} bytes"
    );
    assert!(
        big_detail > small_detail * 10,
        "detail {small_detail} -> {big_detail} bytes"
    );
    eprintln!(
        "summary {small_summary} -> {big_summary} bytes, detail {small_detail} -> {big_detail} bytes"
    );
}
