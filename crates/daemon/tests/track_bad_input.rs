// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Bad input to VRRP tracking, with real processes: a `vrrp_script` that
//! does not exist, is not executable, is insecure under
//! `enable_script_security`, prints megabytes, leaves a process behind,
//! daemonizes, never exits; a `track_file` holding garbage, a number too
//! big for it, a number that overflows the weight; and a process table
//! churning as fast as two workers can fork and rename themselves under
//! `vrrp_track_process`.
//!
//! The script and file cases run the same configuration under our daemon
//! and under real keepalived 2.2.7 at the same time, each in a namespace
//! of its own (veth0 carries the adverts, tcpdump listens on its peer):
//! the priority each instance advertises (or its FAULT, no advert) must
//! be keepalived's. Beyond that ours must log each case, keep every
//! instance's advert interval, keep its fd count, never hold more than
//! one run of a hung script, and leave no process of a script behind,
//! neither while running (keepalived leaves one per run of a script that
//! does `cmd &`; we kill the script's process group when it exits) nor
//! after stop. A script that called setsid has left on purpose and is
//! outside both daemons' reach (docs/compatibility.md).
//!
//! The process storm runs ours only: keepalived 2.2.7 cannot open the
//! proc connector inside a network namespace.
//!
//! Needs root, iproute2, tcpdump, perl and keepalived; fails (never
//! skips) without them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

mod support;
use support::run_ok as run;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

/// advert_int of every instance (seconds) and the lateness we allow an
/// advert on a shared, busy CI machine.
const ADVERT: f64 = 1.0;
const LATE: f64 = 0.3;

fn preflight() {
    support::require(
        "track_bad_input tests",
        &[
            ("keepalived", "--version"),
            ("tcpdump", "--version"),
            ("perl", "--version"),
        ],
    );
}

#[derive(Clone, Copy, PartialEq, Debug)]
enum Impl {
    Ours,
    Keepalived,
}

/// One namespace with a veth pair: the daemon uses veth0, tcpdump
/// listens on veth1 and so sees every advert veth0 sends.
struct Ns {
    name: String,
}

impl Ns {
    fn new(tag: &str) -> Ns {
        let name = format!("track11-{tag}-{}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        run(&["ip", "netns", "add", &name]);
        let ns = Ns { name };
        let n = ns.name.as_str();
        run(&[
            "ip", "-n", n, "link", "add", "veth0", "type", "veth", "peer", "name", "veth1",
        ]);
        run(&["ip", "-n", n, "addr", "add", "192.0.2.1/24", "dev", "veth0"]);
        for dev in ["lo", "veth0", "veth1"] {
            run(&["ip", "-n", n, "link", "set", dev, "up"]);
        }
        ns
    }

    fn pids(&self) -> Vec<u32> {
        let out = Command::new("ip")
            .args(["netns", "pids", &self.name])
            .output()
            .expect("ip netns pids");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }
}

impl Drop for Ns {
    fn drop(&mut self) {
        support::remove_netns(&self.name);
    }
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return true;
        }
        sleep(Duration::from_millis(20));
    }
    false
}

fn read_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Open fds of `pid`: (pidfds, the others). A pidfd is held for each run
/// in flight, so their number moves with the sampling instant; a leak
/// shows as more of them than there are scripts, or as other fds growing.
fn fd_count(pid: u32) -> (usize, usize) {
    let Ok(dir) = fs::read_dir(format!("/proc/{pid}/fd")) else {
        return (0, 0);
    };
    let targets: Vec<String> = dir
        .flatten()
        .filter_map(|e| fs::read_link(e.path()).ok())
        .map(|t| t.to_string_lossy().into_owned())
        .collect();
    let pidfds = targets.iter().filter(|t| t.contains("pidfd")).count();
    (pidfds, targets.len() - pidfds)
}

/// [`fd_count`] at the sample with the fewest other fds of three 100 ms
/// apart: a file open for a moment (a tracked file being read, a
/// script's security check) shows in one sample, a leak in all of them.
/// Seen: 21 -> 23 once in about 17 runs on a loaded machine.
fn settled_fd_count(pid: u32) -> (usize, usize) {
    (0..3)
        .map(|i| {
            if i > 0 {
                sleep(Duration::from_millis(100));
            }
            fd_count(pid)
        })
        .min_by_key(|&(_, others)| others)
        .unwrap_or((0, 0))
}

/// Processes whose command line is exactly `cmd` (e.g. "sleep 600").
fn processes_running(cmd: &str) -> Vec<u32> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(raw) = fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let line = raw
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        if line == cmd {
            out.push(pid);
        }
    }
    out
}

/// tcpdump on veth1, one text line per advert.
struct Capture {
    child: Child,
    out: PathBuf,
}

impl Capture {
    fn start(ns: &Ns, dir: &Path) -> Capture {
        let out = dir.join("adverts.txt");
        let err = dir.join("tcpdump.err");
        let child = Command::new("ip")
            .args([
                "netns", "exec", &ns.name, "tcpdump", "-i", "veth1", "-n", "-tt",
            ])
            .args(["-l", "-p", "vrrp"])
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).expect("capture file"))
            .stderr(fs::File::create(&err).expect("tcpdump log"))
            .spawn()
            .expect("start tcpdump");
        let ready = wait_for(Duration::from_secs(5), || {
            fs::read_to_string(&err).is_ok_and(|t| t.contains("listening on"))
        });
        assert!(
            ready,
            "tcpdump did not start: {:?}",
            fs::read_to_string(&err)
        );
        Capture { child, out }
    }

    /// Stops tcpdump and returns each VRID's adverts: (time, priority).
    fn finish(mut self) -> BTreeMap<u8, Vec<(f64, u8)>> {
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let text = fs::read_to_string(&self.out).unwrap_or_default();
        let mut by_vrid: BTreeMap<u8, Vec<(f64, u8)>> = BTreeMap::new();
        for line in text.lines() {
            // 1733355495.123456 IP 192.0.2.1 > 224.0.0.18: VRRPv2,
            // Advertisement, vrid 4, prio 110, authtype none, ...
            let time = line.split_whitespace().next().and_then(|t| t.parse().ok());
            let field = |key: &str| {
                line.split(", ")
                    .find_map(|f| f.strip_prefix(key))
                    .and_then(|v| v.trim().parse().ok())
            };
            if let (Some(t), Some(vrid), Some(prio)) = (time, field("vrid "), field("prio ")) {
                by_vrid.entry(vrid).or_default().push((t, prio));
            }
        }
        by_vrid
    }
}

/// A daemon (ours or keepalived) with `-P` in a namespace.
struct Daemon {
    child: Child,
    vrrp_pid: u32,
    log: PathBuf,
}

impl Daemon {
    fn start(ns: &Ns, which: Impl, dir: &Path, conf: &Path) -> Daemon {
        let pid_file = dir.join("main.pid");
        let vrrp_pid_file = dir.join("vrrp.pid");
        let log = dir.join("daemon.log");
        let logf = fs::File::create(&log).expect("daemon log");
        let prog = match which {
            Impl::Ours => OURS,
            Impl::Keepalived => "keepalived",
        };
        let child = support::vrrp_daemon(&ns.name, prog, conf, &pid_file, &vrrp_pid_file, logf)
            .spawn()
            .expect("start the daemon");
        let mut vrrp_pid = None;
        let up = wait_for(Duration::from_secs(5), || {
            vrrp_pid = read_pid(&vrrp_pid_file);
            vrrp_pid.is_some()
        });
        let log_text = fs::read_to_string(&log).unwrap_or_default();
        assert!(up, "{which:?} did not start:\n{log_text}");
        Daemon {
            child,
            vrrp_pid: vrrp_pid.unwrap_or(0),
            log,
        }
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGTERM and wait for the exit; false when it took over 10 s.
    fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let gone = wait_for(Duration::from_secs(10), || {
            matches!(self.child.try_wait(), Ok(Some(_)))
        });
        if !gone {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        gone
    }
}

fn write_script(dir: &Path, name: &str, body: &str, mode: u32) {
    let path = dir.join(name);
    fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write a script");
    fs::set_permissions(&path, fs::Permissions::from_mode(mode)).expect("chmod a script");
}

/// The tracked objects, one instance (VRID 1..) each, in this order.
const SCRIPTS: [&str; 7] = [
    "missing", "noexec", "insecure", "chatty", "forks", "daemon", "hangs",
];
const FILES: [&str; 3] = ["garbage", "huge", "overflow"];

/// Writes the scripts, files and configuration into `dir` (a directory
/// only root may write, as script security wants) and returns the
/// configuration's path.
fn bad_inputs(dir: &Path) -> PathBuf {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod the directory");
    write_script(dir, "noexec.sh", "exit 0", 0o644);
    write_script(dir, "insecure.sh", "exit 0", 0o777);
    write_script(
        dir,
        "chatty.sh",
        "head -c 8000000 /dev/zero\nhead -c 8000000 /dev/zero >&2\nexit 0",
        0o755,
    );
    write_script(dir, "forks.sh", "sleep 600 &\nexit 0", 0o755);
    write_script(
        dir,
        "daemon.sh",
        "setsid sleep 601 </dev/null >/dev/null 2>&1 &\nexit 0",
        0o755,
    );
    write_script(dir, "hangs.sh", "exec sleep 602", 0o755);
    fs::write(dir.join("garbage"), "garbage\n").expect("write a track file");
    fs::write(dir.join("huge"), "99999999999999999999\n").expect("write a track file");
    fs::write(dir.join("overflow"), "2147483647\n").expect("write a track file");
    let d = dir.display();
    let mut conf = String::from(
        "global_defs {\n  enable_script_security\n  script_user root\n  vrrp_garp_master_delay 0\n}\n",
    );
    for name in SCRIPTS {
        let (extra, weight) = if name == "hangs" {
            ("  timeout 1\n  fall 1\n", -10)
        } else {
            ("", 10)
        };
        let file = if name == "missing" {
            "nonexistent.sh".to_owned()
        } else {
            format!("{name}.sh")
        };
        conf += &format!(
            "vrrp_script {name} {{\n  script \"{d}/{file}\"\n  interval 1\n  weight {weight}\n{extra}}}\n"
        );
    }
    for (name, weight) in FILES.iter().zip([1, 1, -1]) {
        conf += &format!("track_file {name} {{\n  file \"{d}/{name}\"\n  weight {weight}\n}}\n");
    }
    let tracked = SCRIPTS
        .iter()
        .map(|s| ("track_script", *s))
        .chain(FILES.iter().map(|f| ("track_file", *f)));
    for (i, (kind, name)) in tracked.enumerate() {
        let vrid = i + 1;
        conf += &format!(
            "vrrp_instance I{vrid} {{\n  state MASTER\n  interface veth0\n  virtual_router_id {vrid}\n  \
             priority 100\n  advert_int {ADVERT}\n  virtual_ipaddress {{\n    192.0.2.{}/32\n  }}\n  \
             {kind} {{\n    {name}\n  }}\n}}\n",
            100 + vrid
        );
    }
    let path = dir.join("keepalived.conf");
    fs::write(&path, conf).expect("write the configuration");
    path
}

/// What one implementation did with the bad inputs.
struct Run {
    which: Impl,
    adverts: BTreeMap<u8, Vec<(f64, u8)>>,
    log: String,
    /// (pidfds, other fds) at the start and at the end of the window.
    fds: ((usize, usize), (usize, usize)),
    /// Most `sleep 602` (the hung script) alive at one sample.
    hung_at_once: usize,
    /// `sleep 600` (left behind by forks.sh) alive just before stop.
    left_behind: usize,
    stopped: bool,
    /// Processes of the namespace after the stop, setsid daemons aside.
    after_stop: Vec<String>,
}

fn run_bad_inputs(which: Impl, tag: &str) -> Run {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf = bad_inputs(dir.path());
    let ns = Ns::new(tag);
    let capture = Capture::start(&ns, dir.path());
    let daemon = Daemon::start(&ns, which, dir.path(), &conf);
    let ns_pids = || -> Vec<u32> { ns.pids() };
    let in_ns = |cmd: &str| {
        let here = ns_pids();
        processes_running(cmd)
            .into_iter()
            .filter(|p| here.contains(p))
            .count()
    };
    sleep(Duration::from_secs(2));
    let fd_start = settled_fd_count(daemon.vrrp_pid);
    let mut hung_at_once = 0;
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        hung_at_once = hung_at_once.max(in_ns("sleep 602"));
        sleep(Duration::from_millis(250));
    }
    let fd_end = settled_fd_count(daemon.vrrp_pid);
    // A run in flight holds its `sleep 600` for the few ms before its
    // group is killed: what piles up shows in every sample.
    let left_behind = (0..3)
        .map(|_| {
            sleep(Duration::from_millis(100));
            in_ns("sleep 600")
        })
        .min()
        .unwrap_or(0);
    let log_before_stop = daemon.log_text();
    let stopped = daemon.stop();
    sleep(Duration::from_millis(300));
    let after_stop = ns_pids()
        .into_iter()
        .filter_map(|p| {
            let cmd = fs::read(format!("/proc/{p}/cmdline")).ok()?;
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            let cmd = cmd.trim().to_owned();
            (!cmd.starts_with("tcpdump") && cmd != "sleep 601").then_some(cmd)
        })
        .collect();
    let adverts = capture.finish();
    drop(ns);
    Run {
        which,
        adverts,
        log: log_before_stop,
        fds: (fd_start, fd_end),
        hung_at_once,
        left_behind,
        stopped,
        after_stop,
    }
}

/// The priority an instance settled on: its last advert before the
/// priority-0 one of the stop (None: it never advertised, i.e. FAULT).
fn settled(adverts: &[(f64, u8)]) -> Option<u8> {
    adverts.iter().rev().map(|a| a.1).find(|p| *p != 0)
}

/// How many adverts of `adverts` (time, priority) are not priority 0 (a
/// FAULT or stopping instance's), and the longest gap between two of them.
fn live_adverts(adverts: &[(f64, u8)]) -> (usize, f64) {
    let times: Vec<f64> = adverts.iter().filter(|a| a.1 != 0).map(|a| a.0).collect();
    let worst = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
    (times.len(), worst)
}

#[test]
fn bad_scripts_and_track_files_get_keepalived_treatment_without_leaks() {
    preflight();
    let ka = std::thread::spawn(|| run_bad_inputs(Impl::Keepalived, "ka"));
    let ours = run_bad_inputs(Impl::Ours, "rs");
    let ka = ka.join().expect("the keepalived run");
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(what);
        }
    };

    // Same verdict as keepalived, instance by instance.
    let names = SCRIPTS.iter().chain(FILES.iter());
    for (i, name) in names.enumerate() {
        let vrid = u8::try_from(i + 1).unwrap();
        let get = |r: &Run| r.adverts.get(&vrid).and_then(|a| settled(a));
        check(
            get(&ours) == get(&ka),
            format!(
                "{name} (vrid {vrid}): ours advertises {:?}, keepalived {:?}",
                get(&ours),
                get(&ka)
            ),
        );
    }
    // The oracle itself: the cases mean what we think they mean.
    let ka_prio = |vrid: u8| ka.adverts.get(&vrid).and_then(|a| settled(a));
    check(
        ka_prio(4) == Some(110) && ka_prio(7) == Some(90) && ka_prio(10).is_none(),
        "keepalived: the chatty script succeeds, the hung one fails, the overflowing file is FAULT"
            .into(),
    );

    // Every instance that is not in FAULT keeps its advert interval.
    for (vrid, adverts) in &ours.adverts {
        let (n, worst) = live_adverts(adverts);
        check(
            n >= 5 && worst <= ADVERT + LATE,
            format!("vrid {vrid}: {n} adverts, longest gap {worst:.3} s (advert_int {ADVERT})"),
        );
    }

    // Each case has a log line saying what happened.
    for needle in [
        "VRRP_Script(missing) not run",
        "VRRP_Script(noexec) not run",
        "is not executable",
        "VRRP_Script(insecure) not run",
        "world-writable",
        "VRRP_Script(hangs) timed out",
        "VRRP_Script(forks) exited leaving processes in its process group",
        "Invalid number \"99999999999999999999\"",
        "(I10) fault: tracked file overflow",
    ] {
        check(ours.log.contains(needle), format!("log says: {needle}"));
    }
    check(!ours.log.contains("panicked"), "no panic in the log".into());
    let ((pid_a, other_a), (pid_b, other_b)) = ours.fds;
    check(
        other_a == other_b && pid_a <= SCRIPTS.len() && pid_b <= SCRIPTS.len(),
        format!(
            "VRRP child fds over 5 s: {other_a} -> {other_b}, plus {pid_a} -> {pid_b} pidfds of runs in flight"
        ),
    );
    check(
        ours.hung_at_once <= 1,
        format!(
            "runs of the hung script alive at once: {}",
            ours.hung_at_once
        ),
    );
    check(
        ours.left_behind == 0,
        format!(
            "processes left by `sleep 600 &` in a script: ours {}, keepalived {}",
            ours.left_behind, ka.left_behind
        ),
    );
    check(ours.stopped, "stops within 10 s of SIGTERM".into());
    check(
        ours.after_stop.is_empty(),
        format!("processes left after the stop: {:?}", ours.after_stop),
    );
    println!(
        "keepalived for comparison: {} left behind while running, after stop {:?}",
        ka.left_behind, ka.after_stop
    );
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}\n--- our log:\n{}",
        failures.len(),
        ours.log
    );
    assert_eq!(ka.which, Impl::Keepalived);
    assert_eq!(ours.which, Impl::Ours);
}

/// Forks as fast as it can from `workers` processes for `seconds`; each
/// child renames itself (perl's `$0` is PR_SET_NAME on Linux: a comm
/// event on top of fork and exit) and exits at once. Prints the number
/// of children. Perl, not python: a smaller process forks about three
/// times as fast.
const STORM: &str = r#"
use POSIX ();
use Time::HiRes qw(time);
my ($name, $seconds, $workers) = @ARGV;
pipe(my $r, my $w) or die "pipe: $!";
my @kids;
for (1 .. $workers) {
    my $pid = fork() // die "fork: $!";
    if ($pid == 0) {
        close $r;
        my ($end, $n) = (time + $seconds, 0);
        while (time < $end) {
            my $c = fork() // next;
            if ($c == 0) { $0 = $name; POSIX::_exit(0); }
            waitpid($c, 0);
            $n++;
        }
        syswrite $w, "$n\n";
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
close $w;
waitpid($_, 0) for @kids;
my $total = 0;
$total += $_ for <$r>;
print "$total\n";
"#;

#[test]
fn a_process_storm_keeps_the_timers_and_the_counts() {
    preflight();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let tag = std::process::id() % 100_000;
    let storm_name = format!("t11s{tag}");
    let steady_name = format!("t11k{tag}");
    // The steady process is `sleep` under another name, so its comm is
    // the name the tracker looks for.
    let steady_bin = dir.path().join(&steady_name);
    // Copied by a child process, never opened for writing here: a write
    // descriptor of ours, inherited by whatever another test thread
    // forks at that moment, would make the exec below fail with ETXTBSY
    // (seen once in a full run; crates/sys/tests/script.rs does the same).
    let copied = Command::new("cp")
        .arg("/bin/sleep")
        .arg(&steady_bin)
        .status()
        .expect("run cp");
    assert!(copied.success(), "copy /bin/sleep");
    let mut steady = Command::new(&steady_bin)
        .arg("600")
        .spawn()
        .expect("start the steady process");
    let conf = dir.path().join("keepalived.conf");
    let mut text = String::from("global_defs {\n  vrrp_garp_master_delay 0\n}\n");
    for (name, process) in [("storm", &storm_name), ("steady", &steady_name)] {
        text += &format!("vrrp_track_process {name} {{\n  process {process}\n  weight 10\n}}\n");
    }
    for (vrid, name) in [(1, "storm"), (2, "steady")] {
        text += &format!(
            "vrrp_instance I{vrid} {{\n  state MASTER\n  interface veth0\n  virtual_router_id {vrid}\n  \
             priority 100\n  advert_int {ADVERT}\n  virtual_ipaddress {{\n    192.0.2.{}/32\n  }}\n  \
             track_process {{\n    {name}\n  }}\n}}\n",
            100 + vrid
        );
    }
    fs::write(&conf, text).expect("write the configuration");
    let ns = Ns::new("storm");
    let capture = Capture::start(&ns, dir.path());
    let daemon = Daemon::start(&ns, Impl::Ours, dir.path(), &conf);
    sleep(Duration::from_secs(2));
    let fd_start = fd_count(daemon.vrrp_pid);
    let cpu = |pid: u32| -> u64 {
        let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let after = stat.rsplit(')').next().unwrap_or_default();
        let f: Vec<&str> = after.split_whitespace().collect();
        f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
    };
    let cpu_before = cpu(daemon.vrrp_pid);
    let storm_start = Instant::now();
    let seconds = 3.0;
    let out = Command::new("perl")
        .args(["-e", STORM, &storm_name, &seconds.to_string(), "2"])
        .output()
        .expect("run the storm");
    let storm_secs = storm_start.elapsed().as_secs_f64();
    let forks: f64 = String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0.0);
    let cpu_storm = cpu(daemon.vrrp_pid).saturating_sub(cpu_before);
    // Let the last events in, then take the steady process away.
    sleep(Duration::from_millis(1500));
    let _ = steady.kill();
    let _ = steady.wait();
    sleep(Duration::from_millis(1500));
    let fd_end = fd_count(daemon.vrrp_pid);
    let log = daemon.log_text();
    let stopped = daemon.stop();
    let adverts = capture.finish();
    drop(ns);

    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64;
    println!(
        "storm: {forks} fork+rename+exit in {storm_secs:.2} s = {:.0}/s; VRRP child CPU {:.2} s \
         during it; lost-event rescans: {}",
        forks / seconds,
        cpu_storm as f64 / ticks,
        log.matches("rescanning /proc").count()
    );
    let mut failures = Vec::new();
    let mut check = |ok: bool, what: String| {
        println!("{} {what}", if ok { "ok  " } else { "FAIL" });
        if !ok {
            failures.push(what);
        }
    };
    check(forks > 1000.0, format!("the storm forked {forks} times"));
    for (vrid, list) in &adverts {
        let (n, worst) = live_adverts(list);
        check(
            n >= 6 && worst <= ADVERT + LATE,
            format!("vrid {vrid}: {n} adverts, longest gap {worst:.3} s"),
        );
    }
    let get = |vrid: u8| adverts.get(&vrid).map(Vec::as_slice).unwrap_or_default();
    let steady_seen: Vec<u8> = get(2).iter().map(|a| a.1).filter(|p| *p != 0).collect();
    check(
        steady_seen.first() == Some(&110) && settled(get(2)) == Some(100),
        format!("steady process: 110 while it runs, 100 once killed ({steady_seen:?})"),
    );
    check(
        settled(get(1)) == Some(100),
        format!("storm over: no stale count ({:?})", settled(get(1))),
    );
    check(!log.contains("panicked"), "no panic in the log".into());
    check(
        fd_start.1 == fd_end.1 && fd_end.0 == 0,
        format!("VRRP child fds {fd_start:?} -> {fd_end:?} (pidfds, others)"),
    );
    check(stopped, "stops within 10 s of SIGTERM".into());
    assert!(
        failures.is_empty(),
        "{} failed: {failures:#?}\n--- our log:\n{log}",
        failures.len()
    );
}

/// Scripts carry no parent-death signal (keepalived sets none either):
/// when the VRRP child is SIGKILLed with a hung
/// script running, the supervisor finds the script by the mark in its
/// environment and kills it, instead of leaving it to run for ever. A
/// daemon the script started with setsid (it carries the mark too) left
/// the session on purpose and is left alone.
#[test]
fn a_script_outlives_no_crashed_child() {
    preflight();
    let dir = tempfile::tempdir().expect("a temporary directory");
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).expect("chmod");
    write_script(
        dir.path(),
        "hangs.sh",
        "[ -e \"$0.daemon\" ] || { : > \"$0.daemon\"; setsid sleep 604 </dev/null >/dev/null 2>&1 & }\n\
         exec sleep 603",
        0o755,
    );
    let conf = dir.path().join("keepalived.conf");
    fs::write(
        &conf,
        format!(
            "vrrp_script hangs {{\n  script \"{}/hangs.sh\"\n  interval 1\n  timeout 60\n}}\n\
             vrrp_instance I1 {{\n  state MASTER\n  interface veth0\n  virtual_router_id 1\n  \
             priority 100\n  advert_int 1\n  virtual_ipaddress {{\n    192.0.2.101/32\n  }}\n  \
             track_script {{\n    hangs\n  }}\n}}\n",
            dir.path().display()
        ),
    )
    .expect("write the configuration");
    let ns = Ns::new("crash");
    let daemon = Daemon::start(&ns, Impl::Ours, dir.path(), &conf);
    let in_ns = |cmd: &str| {
        let here = ns.pids();
        processes_running(cmd)
            .into_iter()
            .filter(|p| here.contains(p))
            .count()
    };
    assert!(
        wait_for(Duration::from_secs(5), || in_ns("sleep 603") == 1),
        "the hung script never ran:\n{}",
        daemon.log_text()
    );
    assert!(
        wait_for(Duration::from_secs(5), || processes_running("sleep 604")
            .len()
            == 1),
        "the script's setsid daemon never ran:\n{}",
        daemon.log_text()
    );
    // The respawned child starts runs of its own: watch the old one.
    let old_runs = processes_running("sleep 603");
    let _ = Command::new("kill")
        .args(["-KILL", &daemon.vrrp_pid.to_string()])
        .status();
    let cleaned = wait_for(Duration::from_secs(3), || {
        old_runs
            .iter()
            .all(|p| !Path::new(&format!("/proc/{p}")).exists())
    });
    let log = daemon.log_text();
    let daemons = processes_running("sleep 604");
    let stopped = daemon.stop();
    drop(ns);
    for p in &daemons {
        let _ = Command::new("kill")
            .args(["-KILL", &p.to_string()])
            .status();
    }
    assert!(cleaned, "the script outlived its SIGKILLed child:\n{log}");
    assert_eq!(
        daemons.len(),
        1,
        "the setsid daemon the script started did not survive the sweep:\n{log}"
    );
    assert!(
        log.contains("left 1 script process(es) running: killed"),
        "no log line for the cleanup:\n{log}"
    );
    assert!(stopped, "did not stop after the crash:\n{log}");
}
