// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The process model, on the real binary, as root: supervisor and children,
//! pid files, respawn, exit codes, signals, dumps, reload, sd_notify.
//!
//! Every daemon started here is killed by a Drop guard, assertion or not.
//! A daemon that runs VRRP instances runs in a namespace of its own
//! ([`support::Netns`]), never on the host's links.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use support::{Netns, require_root};

const BIN: &str = env!("CARGO_BIN_EXE_keepalived-rs");

fn wait_for<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// (ppid, comm) of a live process.
fn stat(pid: i32) -> Option<(i32, String)> {
    let s = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = s.find('(')?;
    let close = s.rfind(')')?;
    let comm = s[open + 1..close].to_string();
    let rest: Vec<&str> = s[close + 2..].split(' ').collect();
    if rest.first() == Some(&"Z") {
        return None;
    }
    Some((rest.get(1)?.parse().ok()?, comm))
}

fn children_of(parent: i32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    for e in fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        if let Some((ppid, comm)) = stat(pid)
            && ppid == parent
        {
            out.push((pid, comm));
        }
    }
    out.sort();
    out
}

fn alive(pid: i32) -> bool {
    stat(pid).is_some()
}

struct Daemon {
    dir: tempfile::TempDir,
    proc: Option<Child>,
    pid: i32,
    /// Where the daemon runs, when not on the host; removed after the
    /// daemon is killed (fields drop after `Drop::drop`).
    _netns: Option<Netns>,
}

const CONF: &str = "global_defs {\n  router_id test\n}\n";

impl Daemon {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(dir: &Path, extra: &[&str]) -> Command {
        Self::command_in(None, dir, extra)
    }

    /// The daemon's command line, inside `netns` when given (`ip netns
    /// exec` execs in place: the pid is the daemon's).
    fn command_in(netns: Option<&Netns>, dir: &Path, extra: &[&str]) -> Command {
        let mut c = match netns {
            None => Command::new(BIN),
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", &ns.name, BIN]);
                c
            }
        };
        c.args(["-l", "-G", "-D"])
            .arg("-f")
            .arg(dir.join("k.conf"))
            .arg("-p")
            .arg(dir.join("parent.pid"))
            .arg("-r")
            .arg(dir.join("vrrp.pid"))
            .arg("-c")
            .arg(dir.join("check.pid"))
            .args(extra)
            .env("TMPDIR", dir)
            .env_remove("NOTIFY_SOCKET")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("log"))
                    .expect("log file"),
            ));
        c
    }

    fn start_with(extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        Self::start_conf(CONF, extra, env)
    }

    fn start_conf(conf: &str, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        Self::start_in(None, conf, extra, env)
    }

    fn start_in(netns: Option<Netns>, conf: &str, extra: &[&str], env: &[(&str, &str)]) -> Daemon {
        require_root();
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("k.conf"), conf).expect("config");
        let mut cmd = Self::command_in(netns.as_ref(), dir.path(), extra);
        cmd.arg("-n");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let proc = cmd.spawn().expect("starts");
        let pid = proc.id() as i32;
        Daemon {
            dir,
            proc: Some(proc),
            pid,
            _netns: netns,
        }
    }

    fn start(extra: &[&str]) -> Daemon {
        Self::start_with(extra, &[])
    }

    fn log(&self) -> String {
        fs::read_to_string(self.path("log")).unwrap_or_default()
    }

    fn wait_log(&self, needle: &str, count: usize) {
        wait_for(
            &format!("{count} x {needle:?} in the log"),
            Duration::from_secs(10),
            || (self.log().matches(needle).count() >= count).then_some(()),
        );
    }

    fn pidfile(&self, name: &str) -> Option<i32> {
        fs::read_to_string(self.path(name))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    /// Waits until the children are up (both snapshots acknowledged).
    fn wait_up(&self) {
        self.wait_log("All child processes are up", 1);
    }

    fn signal(&self, sig: i32) {
        let rc = nix::sys::signal::kill(Pid::from_raw(self.pid), Signal::try_from(sig).ok());
        if Signal::try_from(sig).is_err() {
            // Real-time signals: nix has no name for them.
            let status = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(self.pid.to_string())
                .status()
                .expect("kill(1)");
            assert!(status.success());
        } else {
            rc.expect("signal sent");
        }
    }

    /// Waits for the supervisor to exit; its exit code.
    fn wait_exit(&mut self, limit: Duration) -> i32 {
        let proc = self.proc.as_mut().expect("started by us");
        let status = wait_for("the supervisor to exit", limit, || {
            proc.try_wait().ok().flatten()
        });
        self.proc = None;
        status.code().unwrap_or(-1)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.pid <= 0 {
            return;
        }
        for (pid, _) in children_of(self.pid) {
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        let _ = kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        if let Some(mut p) = self.proc.take() {
            let _ = p.wait();
        }
    }
}

#[test]
fn three_processes_named_apart_with_pid_files_that_vanish_on_stop() {
    let mut d = Daemon::start(&["--all"]);
    d.wait_up();
    let kids = children_of(d.pid);
    let names: Vec<&str> = kids.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(names.len(), 2, "children: {kids:?}");
    assert!(
        names.contains(&"kalrs_vrrp") && names.contains(&"kalrs_check"),
        "{kids:?}"
    );
    assert_eq!(stat(d.pid).expect("parent").1, "keepalived-rs");
    assert_eq!(d.pidfile("parent.pid"), Some(d.pid));
    let vrrp = d.pidfile("vrrp.pid").expect("vrrp pid file");
    let check = d.pidfile("check.pid").expect("checker pid file");
    assert!(
        kids.contains(&(vrrp, "kalrs_vrrp".into())),
        "{kids:?} vs {vrrp}"
    );
    assert!(
        kids.contains(&(check, "kalrs_check".into())),
        "{kids:?} vs {check}"
    );
    let cmdline = fs::read(format!("/proc/{vrrp}/cmdline")).expect("cmdline");
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    assert!(cmdline.contains("--child=vrrp"), "{cmdline}");
    // SIGTERM: everything gone within child_wait_time (5 s).
    let t = Instant::now();
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(Duration::from_secs(5)), 0);
    println!("stopped in {:?}", t.elapsed());
    assert!(!alive(vrrp) && !alive(check));
    for f in ["parent.pid", "vrrp.pid", "check.pid"] {
        assert!(!d.path(f).exists(), "{f} left behind");
    }
}

#[test]
fn dash_p_and_dash_c_run_one_child() {
    for (flag, comm, pidf, other) in [
        ("-P", "kalrs_vrrp", "vrrp.pid", "check.pid"),
        ("-C", "kalrs_check", "check.pid", "vrrp.pid"),
    ] {
        let d = Daemon::start(&["--all", flag]);
        d.wait_up();
        let kids = children_of(d.pid);
        assert_eq!(kids.len(), 1, "{flag}: {kids:?}");
        assert_eq!(kids[0].1, comm);
        assert_eq!(d.pidfile(pidf), Some(kids[0].0));
        assert!(!d.path(other).exists());
    }
}

/// A configuration with both parts; its VRRP instance sends adverts and
/// takes its VIP on `lo`, so it runs in a test namespace (whose `lo` is
/// its own).
const BOTH_PARTS: &str = "\
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100/32
    }
}
virtual_server 192.0.2.100 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 80 {
    }
}
";

/// Both parts configured, no `--all`: both children start. This host's
/// kernel has no IPVS, so the checker exits FATAL there, and VRRP must
/// keep running (the three-process picture with a working checker is
/// checked in the VM: integration/vm/lvs-compare.sh, "daemon").
#[test]
fn both_parts_start_both_children_and_no_ipvs_does_not_stop_vrrp() {
    let d = Daemon::start_in(Some(Netns::up("ps")), BOTH_PARTS, &[], &[]);
    d.wait_log("Starting VRRP child process", 1);
    d.wait_log("Starting Healthcheck child process", 1);
    d.wait_log("exited with permanent error FATAL", 1);
    assert!(
        d.log().contains("IPVS: Can't initialize ipvs"),
        "{}",
        d.log()
    );
    std::thread::sleep(Duration::from_millis(300));
    let kids = children_of(d.pid);
    let comms: Vec<&str> = kids.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(comms, ["kalrs_vrrp"], "log: {}", d.log());
    assert_eq!(d.pidfile("vrrp.pid"), Some(kids[0].0));
    assert_eq!(d.pidfile("parent.pid"), Some(d.pid));
}

#[test]
fn children_started_only_for_configured_parts() {
    // What the configuration holds, as the config crate reads it. `-t`
    // keeps `-d` from going on to start (and detach) a second daemon.
    let d = Daemon::start(&[]);
    let out = Command::new(BIN)
        .args(["-t", "-d", "-f"])
        .arg(d.path("k.conf"))
        .output()
        .expect("-d");
    let model: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let non_empty = |k: &str| model[k].as_array().is_some_and(|a| !a.is_empty());
    let mut expected = Vec::new();
    if non_empty("vrrp_instances") || non_empty("static_ipaddress") {
        expected.push("kalrs_vrrp");
    }
    if non_empty("virtual_servers") {
        expected.push("kalrs_check");
    }
    if expected.is_empty() {
        d.wait_log("No child process to start", 1);
    } else {
        d.wait_up();
    }
    let mut got: Vec<String> = children_of(d.pid).into_iter().map(|(_, c)| c).collect();
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(alive(d.pid), "the supervisor keeps running");
}

#[test]
fn killed_children_are_back_within_a_second_with_new_pid_files() {
    let d = Daemon::start(&["--all"]);
    d.wait_up();
    for f in ["vrrp.pid", "check.pid"] {
        let old = d.pidfile(f).expect("pid file");
        let t = Instant::now();
        kill(Pid::from_raw(old), Signal::SIGKILL).expect("kill");
        let new = wait_for("a respawned child", Duration::from_secs(1), || {
            d.pidfile(f)
                .filter(|p| *p != old && stat(*p).is_some_and(|s| s.0 == d.pid))
        });
        println!("{f}: {old} -> {new} in {:?}", t.elapsed());
    }
    assert_eq!(children_of(d.pid).len(), 2);
}

#[test]
fn dont_respawn_makes_the_parent_exit() {
    let mut d = Daemon::start(&["--all", "-R"]);
    d.wait_up();
    let vrrp = d.pidfile("vrrp.pid").expect("pid");
    let check = d.pidfile("check.pid").expect("pid");
    kill(Pid::from_raw(vrrp), Signal::SIGKILL).expect("kill");
    // keepalived raises SIGTERM in itself: a normal stop, exit 0.
    assert_eq!(d.wait_exit(Duration::from_secs(5)), 0);
    assert!(!alive(check));
    assert!(d.log().contains("died: Exiting"));
    assert!(!d.path("parent.pid").exists() && !d.path("check.pid").exists());
}

/// A VRRP-only config whose instance takes its VIP on the test
/// namespace's eth0 at once.
const MASTER_ON_ETH0: &str = "\
vrrp_instance VI_1 {
    interface eth0
    state MASTER
    priority 200
    virtual_router_id 52
    advert_int 0.1
    version 3
    virtual_ipaddress {
        192.0.2.101/32
    }
}
";

fn has_vip(ns: &str, vip: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", ns, "-br", "addr", "show", "dev", "eth0"])
        .output()
        .expect("ip addr");
    String::from_utf8_lossy(&out.stdout).contains(vip)
}

/// keepalived leaves a SIGKILLed VRRP child's VIPs on the interface
/// (answering ARP while the peer takes over). With `-R` nothing respawns,
/// so the supervisor must remove them itself before it exits.
#[test]
fn a_killed_vrrp_child_leaves_no_vip_even_with_dont_respawn() {
    let ns = Netns::up("kv");
    let name = ns.name.clone();
    let mut d = Daemon::start_in(Some(ns), MASTER_ON_ETH0, &["-R"], &[]);
    d.wait_up();
    wait_for("the VIP on eth0", Duration::from_secs(5), || {
        has_vip(&name, "192.0.2.101").then_some(())
    });
    let vrrp = d.pidfile("vrrp.pid").expect("vrrp pid");
    kill(Pid::from_raw(vrrp), Signal::SIGKILL).expect("kill");
    assert_eq!(d.wait_exit(Duration::from_secs(5)), 0, "{}", d.log());
    assert!(
        !has_vip(&name, "192.0.2.101"),
        "VIP left behind: {}",
        d.log()
    );
    assert!(
        d.log().contains("left 1 virtual address(es): removed"),
        "{}",
        d.log()
    );
}

/// Without `-R` the VIP is removed when the child is reaped, before the
/// respawned child starts (which takes it again once master).
#[test]
fn a_killed_vrrp_child_is_cleaned_up_before_the_respawn() {
    let ns = Netns::up("kw");
    let name = ns.name.clone();
    let d = Daemon::start_in(Some(ns), MASTER_ON_ETH0, &[], &[]);
    d.wait_up();
    wait_for("the VIP on eth0", Duration::from_secs(5), || {
        has_vip(&name, "192.0.2.101").then_some(())
    });
    let vrrp = d.pidfile("vrrp.pid").expect("vrrp pid");
    kill(Pid::from_raw(vrrp), Signal::SIGKILL).expect("kill");
    d.wait_log("left 1 virtual address(es): removed", 1);
    // The supervisor's own line ("pid=", the child says "pid "), twice:
    // the first start and the respawn.
    d.wait_log("Starting VRRP child process, pid=", 2);
    let log = d.log();
    let removed = log.find("left 1 virtual address(es)").expect("logged");
    let respawn = log
        .rfind("Starting VRRP child process, pid=")
        .expect("respawned");
    assert!(removed < respawn, "removed after the respawn: {log}");
    // The new child is master again (alone on the link).
    wait_for("the VIP back on eth0", Duration::from_secs(5), || {
        has_vip(&name, "192.0.2.101").then_some(())
    });
}

#[test]
fn permanent_child_exit_codes_stop_everything_with_that_code() {
    for (who, code, only) in [("checker", 2, "-C"), ("vrrp", 4, "-P"), ("vrrp", 1, "-P")] {
        let spec = format!("{who}:{code}");
        let mut d = Daemon::start_with(&["--all", only], &[("KEEPALIVED_RS_CHILD_EXIT", &spec)]);
        assert_eq!(d.wait_exit(Duration::from_secs(5)), code, "{spec}");
        assert!(
            d.log().contains("exited with permanent error"),
            "{}",
            d.log()
        );
        assert!(!d.path("parent.pid").exists());
    }
}

#[test]
fn a_permanent_exit_ends_that_child_only() {
    // keepalived terminates everything when one child exits with 1, 2 or
    // 4; a checker without IPVS would then take VRRP down with it.
    let mut d = Daemon::start_with(&["--all"], &[("KEEPALIVED_RS_CHILD_EXIT", "checker:1")]);
    d.wait_log("exited with permanent error FATAL", 1);
    std::thread::sleep(Duration::from_millis(300));
    let kids: Vec<String> = children_of(d.pid).into_iter().map(|(_, c)| c).collect();
    assert_eq!(kids, ["kalrs_vrrp"], "{}", d.log());
    assert!(alive(d.pid));
    assert!(d.pidfile("vrrp.pid").is_some());
    assert!(!d.path("check.pid").exists());
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(Duration::from_secs(5)), 0);
}

#[test]
fn stale_pid_file_does_not_stop_the_next_start_but_a_live_daemon_does() {
    require_root();
    let dead = {
        let mut c = Command::new("true").spawn().expect("true");
        let pid = c.id();
        c.wait().expect("reaped");
        pid
    };
    let mut d = Daemon::start_with(&["--all"], &[]);
    // Written before the daemon looks: race-free because the daemon
    // replaces it only once running.
    d.wait_up();
    let _ = fs::write(d.path("parent.pid"), format!("{dead}\n"));
    d.signal(libc::SIGTERM);
    d.wait_exit(Duration::from_secs(5));
    fs::write(d.path("parent.pid"), format!("{dead}\n")).expect("stale file");
    let mut cmd = Daemon::command(d.dir.path(), &["--all", "-n"]);
    let second = cmd.spawn().expect("starts");
    let mut d2 = Daemon {
        dir: tempfile::tempdir().expect("tempdir"),
        pid: second.id() as i32,
        proc: Some(second),
        _netns: None,
    };
    wait_for("the new pid file", Duration::from_secs(5), || {
        (fs::read_to_string(d.path("parent.pid")).ok()?.trim() == d2.pid.to_string()).then_some(())
    });
    // A third start while this one runs: refused with keepalived's exit
    // code (0: "daemon is already running"), file untouched.
    let out = Daemon::command(d.dir.path(), &["--all", "-n"])
        .stderr(Stdio::piped())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already running"));
    assert_eq!(d.pidfile("parent.pid"), Some(d2.pid));
    d2.signal(libc::SIGTERM);
    assert_eq!(d2.wait_exit(Duration::from_secs(5)), 0);
}

#[test]
fn dumps_are_written_mode_0600() {
    let d = Daemon::start(&["--all", "-u", "000"]);
    d.wait_up();
    // A leftover world-readable file must end up private too.
    fs::write(d.path("keepalived.json"), "old").expect("write");
    fs::set_permissions(d.path("keepalived.json"), fs::Permissions::from_mode(0o644))
        .expect("chmod");
    d.signal(libc::SIGUSR1);
    d.signal(libc::SIGUSR2);
    d.signal(libc::SIGRTMIN() + 2);
    for f in [
        "keepalived_parent.data",
        "keepalived.data",
        "keepalived_check.data",
        "keepalived.stats",
    ] {
        let meta = wait_for(f, Duration::from_secs(5), || fs::metadata(d.path(f)).ok());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
    }
    let json = wait_for("keepalived.json", Duration::from_secs(5), || {
        fs::read_to_string(d.path("keepalived.json"))
            .ok()
            .filter(|s| s != "old")
    });
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert!(v.is_array());
    let mode = fs::metadata(d.path("keepalived.json"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let parent = fs::read_to_string(d.path("keepalived_parent.data")).expect("data");
    assert!(parent.contains(&format!("pid = {}", d.pid)), "{parent}");
}

#[test]
fn sighup_with_a_broken_config_keeps_the_old_one() {
    let d = Daemon::start(&["--all"]);
    d.wait_up();
    let before = children_of(d.pid);
    // Unreadable configuration: a directory where the file was.
    fs::remove_file(d.path("k.conf")).expect("rm");
    fs::create_dir(d.path("k.conf")).expect("mkdir");
    d.signal(libc::SIGHUP);
    d.wait_log("Reload aborted", 1);
    assert!(
        d.log().contains("Configuration file"),
        "the error is logged"
    );
    assert_eq!(children_of(d.pid), before, "nothing restarted");
    assert!(!d.log().contains("applied generation 2"));
    // Fixed: the next HUP goes through to both children.
    fs::remove_dir(d.path("k.conf")).expect("rmdir");
    fs::write(d.path("k.conf"), CONF).expect("config");
    d.signal(libc::SIGHUP);
    d.wait_log("Reload finished: generation 2", 1);
    assert_eq!(d.log().matches("applied generation 2").count(), 2);
    assert_eq!(children_of(d.pid), before);
}

#[test]
fn sighup_with_an_unbalanced_brace_keeps_everything_running() {
    let d = Daemon::start(&["--all"]);
    d.wait_up();
    let before = children_of(d.pid);
    fs::write(
        d.path("k.conf"),
        format!("{CONF}\nvrrp_instance broken {{\n"),
    )
    .expect("config");
    d.signal(libc::SIGHUP);
    d.wait_log("Reload aborted", 1);
    assert_eq!(children_of(d.pid), before, "nothing restarted");
    assert!(alive(d.pid), "keepalived 2.2.7 exits here; we must not");
    assert!(!d.log().contains("applied generation 2"));
}

#[test]
fn a_hup_during_a_reload_is_queued_and_runs_after_it() {
    let d = Daemon::start_with(&["--all"], &[("KEEPALIVED_RS_APPLY_DELAY_MS", "600")]);
    d.wait_up();
    d.signal(libc::SIGHUP);
    std::thread::sleep(Duration::from_millis(150));
    d.signal(libc::SIGHUP);
    d.wait_log("Reload finished: generation 3", 1);
    let log = d.log();
    assert_eq!(log.matches("request queued").count(), 1, "{log}");
    let two = log
        .find("Reload finished: generation 2")
        .expect("gen 2 finished");
    let three = log
        .find("Reload finished: generation 3")
        .expect("gen 3 finished");
    assert!(two < three, "the queued reload starts after the first ends");
    assert!(!log.contains("generation 4"), "two HUPs, two reloads");
}

#[test]
fn stop_forces_a_stuck_child_after_child_wait_time() {
    let mut d = Daemon::start(&["--all"]);
    d.wait_up();
    let vrrp = d.pidfile("vrrp.pid").expect("pid");
    kill(Pid::from_raw(vrrp), Signal::SIGSTOP).expect("stop");
    let t = Instant::now();
    d.signal(libc::SIGTERM);
    assert_eq!(d.wait_exit(Duration::from_secs(8)), 0);
    let took = t.elapsed();
    assert!(took >= Duration::from_millis(4900), "waited {took:?}");
    assert!(d.log().contains("failed to die - forcing termination"));
    assert!(!alive(vrrp));
}

#[test]
fn detaches_without_dash_n_and_notifies_systemd_with_it() {
    require_root();
    // Without -n: the command returns, the daemon lives on in its own session.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("k.conf"), CONF).expect("config");
    let status = Daemon::command(dir.path(), &["--all"])
        .status()
        .expect("runs");
    assert!(status.success());
    let pid = wait_for("the daemon's pid file", Duration::from_secs(5), || {
        fs::read_to_string(dir.path().join("parent.pid"))
            .ok()?
            .trim()
            .parse::<i32>()
            .ok()
    });
    let mut d = Daemon {
        dir,
        proc: None,
        pid,
        _netns: None,
    };
    assert!(alive(pid));
    assert_eq!(
        nix::unistd::getsid(Some(Pid::from_raw(pid))).expect("sid"),
        Pid::from_raw(pid)
    );
    d.wait_up();
    d.signal(libc::SIGTERM);
    wait_for("the daemon to go", Duration::from_secs(5), || {
        (!alive(pid)).then_some(())
    });
    assert!(!d.path("parent.pid").exists());
    d.pid = 0;

    // With -n and NOTIFY_SOCKET: READY=1 once both children are up.
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("k.conf"), CONF).expect("config");
    let sock_path = dir.path().join("notify");
    let sock = std::os::unix::net::UnixDatagram::bind(&sock_path).expect("bind");
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut cmd = Daemon::command(dir.path(), &["--all", "-n"]);
    cmd.env("NOTIFY_SOCKET", &sock_path);
    let proc = cmd.spawn().expect("starts");
    let d = Daemon {
        pid: proc.id() as i32,
        proc: Some(proc),
        dir,
        _netns: None,
    };
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("a notification");
    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(
        msg.contains("READY=1") && msg.contains(&format!("MAINPID={}", d.pid)),
        "{msg}"
    );
    assert!(d.pidfile("vrrp.pid").is_some() && d.pidfile("check.pid").is_some());
    assert_eq!(children_of(d.pid).len(), 2);
}

/// Open fds, VmRSS, Pss and RssAnon (kB). Pss is printed, not asserted:
/// it rises when other processes sharing the binary's pages exit, as the
/// daemons of tests running alongside do.
fn figures(pid: i32) -> (usize, u64, u64, u64) {
    let fds = fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count();
    let field = |file: &str, key: &str| -> u64 {
        fs::read_to_string(format!("/proc/{pid}/{file}"))
            .expect("proc file")
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .expect("field")
    };
    (
        fds,
        field("status", "VmRSS:"),
        field("smaps_rollup", "Pss:"),
        field("status", "RssAnon:"),
    )
}

#[test]
fn two_hundred_reloads_leave_fds_and_memory_flat() {
    let d = Daemon::start(&["--all"]);
    d.wait_up();
    let pids = [
        ("parent", d.pid),
        ("vrrp", d.pidfile("vrrp.pid").expect("pid")),
        ("check", d.pidfile("check.pid").expect("pid")),
    ];
    let t = Instant::now();
    let mut generation = 1;
    let mut reload = |n: usize| {
        for _ in 0..n {
            generation += 1;
            d.signal(libc::SIGHUP);
            d.wait_log(&format!("Reload finished: generation {generation}"), 1);
        }
    };
    reload(20); // warm-up: allocator pools, log buffers
    let before: Vec<_> = pids.iter().map(|(_, p)| figures(*p)).collect();
    reload(200);
    let after: Vec<_> = pids.iter().map(|(_, p)| figures(*p)).collect();
    println!("220 reloads in {:?}", t.elapsed());
    for ((name, pid), (b, a)) in pids.iter().zip(before.iter().zip(&after)) {
        println!(
            "{name} (pid {pid}): fds {} -> {}, VmRSS {} -> {} kB, Pss {} -> {} kB, RssAnon {} -> {} kB",
            b.0, a.0, b.1, a.1, b.2, a.2, b.3, a.3
        );
        assert_eq!(a.0, b.0, "{name}: open fds grew");
        assert!(a.1 <= b.1 + 256, "{name}: VmRSS grew {} -> {} kB", b.1, a.1);
        assert!(
            a.3 <= b.3 + 128,
            "{name}: RssAnon grew {} -> {} kB",
            b.3,
            a.3
        );
    }
    assert_eq!(children_of(d.pid).len(), 2, "no child restarted");
    assert_eq!(d.pidfile("vrrp.pid"), Some(pids[1].1));
}

/// A configuration using keywords nothing acts on yet (see
/// crates/daemon/src/unsupported.rs): one the VRRP child would act on,
/// one the checker would.
const NOT_YET: &str = "\
bfd_instance B1 {
    neighbor_ip 198.51.100.1
}
vrrp_instance VI_1 {
    interface lo
    virtual_router_id 51
    kernel_rx_buf_size 1048576
    virtual_ipaddress {
        192.0.2.100/32
    }
}
virtual_server 192.0.2.100 25 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 25 {
        BFD_CHECK {
            name B1
        }
    }
}
";

/// `-t` names what is not acted on as notes that keep its exit code;
/// the daemon warns at start, and `-P` names only the VRRP side's.
#[test]
fn keywords_not_acted_on_are_named_by_dash_t_and_at_start() {
    let d = Daemon::start_in(Some(Netns::up("nyet")), NOT_YET, &["-P"], &[]);
    let out = Command::new(BIN)
        .args(["-t", "-f"])
        .arg(d.path("k.conf"))
        .output()
        .expect("-t");
    let stderr = String::from_utf8_lossy(&out.stderr);
    // The same configuration without those keywords answers the same.
    let plain = d.path("plain.conf");
    let without = NOT_YET
        .replace("    kernel_rx_buf_size 1048576\n", "")
        .replace("bfd_instance B1 {\n    neighbor_ip 198.51.100.1\n}\n", "")
        .replace("        BFD_CHECK {\n            name B1\n        }\n", "");
    fs::write(&plain, without).expect("plain.conf");
    let plain_out = Command::new(BIN)
        .args(["-t", "-f"])
        .arg(&plain)
        .output()
        .expect("-t");
    let plain_stderr = String::from_utf8_lossy(&plain_out.stderr);
    assert!(!plain_stderr.contains("not supported"), "{plain_stderr}");
    assert_eq!(out.status.code(), plain_out.status.code(), "{stderr}");
    for keyword in ["'kernel_rx_buf_size'", "'BFD_CHECK'"] {
        assert!(
            stderr.contains(&format!("{keyword} is not supported by keepalived-rs yet")),
            "{keyword} missing from -t: {stderr}"
        );
    }
    d.wait_up();
    d.wait_log(
        "'kernel_rx_buf_size' is not supported by keepalived-rs yet",
        1,
    );
    assert!(
        !d.log().contains("BFD_CHECK"),
        "-P named the checker's: {}",
        d.log()
    );
}

/// `keepalived-rs CMD ARGS` against `d`'s control socket.
fn ctl(d: &Daemon, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--control-socket")
        .arg(d.path("parent.sock"))
        .output()
        .expect("runs")
}

/// Sends raw bytes to the control socket, returns what comes back.
fn raw(d: &Daemon, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(d.path("parent.sock")).expect("connects");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let _ = s.write_all(bytes);
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

const ONE_INSTANCE: &str = "\
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";

#[test]
fn the_control_socket_answers_status_reload_and_stop() {
    let mut d = Daemon::start_in(Some(Netns::up("ctl")), ONE_INSTANCE, &["-P"], &[]);
    d.wait_up();
    let sock = d.path("parent.sock");
    let mode = fs::metadata(&sock).expect("socket").permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "root only");

    let out = ctl(&d, &["status", "--detail", "--json"]);
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["daemon"]["pid"], d.pid);
    assert_eq!(v["daemon"]["generation"], 1);
    let vrrp_pid = d.pidfile("vrrp.pid").expect("vrrp pid");
    assert_eq!(v["daemon"]["children"][0]["pid"], vrrp_pid);
    assert_eq!(v["daemon"]["children"][0]["answer"], "ok");
    let inst = &v["vrrp"]["instances"][0];
    assert_eq!(inst["name"], "VI_1", "{v}");
    assert_eq!(inst["vrid"], 51);
    assert_eq!(inst["base_priority"], 150);
    assert_eq!(inst["vips"][0], "192.0.2.100/24");
    // Alone on its link it becomes master, and the status follows.
    wait_for("status MASTER", Duration::from_secs(8), || {
        let v: serde_json::Value =
            serde_json::from_slice(&ctl(&d, &["status", "--detail", "--json"]).stdout).ok()?;
        (v["vrrp"]["instances"][0]["state"] == "MASTER").then_some(())
    });
    let text = String::from_utf8_lossy(&ctl(&d, &["status"]).stdout).into_owned();
    assert!(text.contains(&format!("pid {}", d.pid)), "{text}");
    assert!(text.contains("VI_1") && text.contains("MASTER"), "{text}");
    // The summary counts it; a filter answers it in full, or nothing.
    let v: serde_json::Value =
        serde_json::from_slice(&ctl(&d, &["status", "--json"]).stdout).expect("json");
    assert_eq!(v["view"], "summary", "{v}");
    assert_eq!(v["vrrp"]["instances_total"], 1, "{v}");
    assert_eq!(v["vrrp"]["by_state"]["MASTER"], 1, "{v}");
    // Configured BACKUP (the default), MASTER alone: listed.
    assert_eq!(v["vrrp"]["attention"][0]["name"], "VI_1", "{v}");
    let v: serde_json::Value =
        serde_json::from_slice(&ctl(&d, &["status", "--instance", "VI_1", "--json"]).stdout)
            .expect("json");
    assert_eq!(
        v["vrrp"]["instances"][0]["vips"][0], "192.0.2.100/24",
        "{v}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&ctl(&d, &["status", "--instance=VI_9", "--json"]).stdout)
            .expect("json");
    assert_eq!(v["vrrp"]["instances"], serde_json::json!([]), "{v}");

    // A good reload answers once applied; a broken one is refused with
    // its diagnostics and changes nothing.
    let out = ctl(&d, &["reload"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("generation 2 is running"));
    fs::write(
        d.path("k.conf"),
        format!("{ONE_INSTANCE}vrrp_instance X {{\n"),
    )
    .expect("write");
    let out = ctl(&d, &["reload"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("refused") && err.contains("Missing '}'"),
        "{err}"
    );
    let v: serde_json::Value =
        serde_json::from_slice(&ctl(&d, &["status", "--detail", "--json"]).stdout).expect("json");
    assert_eq!(v["daemon"]["generation"], 2);
    assert_eq!(v["daemon"]["reloads_refused"], 1);

    let out = ctl(&d, &["stop"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(d.wait_exit(Duration::from_secs(10)), 0);
    assert!(!sock.exists(), "the socket is removed on stop");
}

#[test]
fn the_control_socket_refuses_bad_clients_without_harm() {
    let d = Daemon::start_in(Some(Netns::up("ctlbad")), ONE_INSTANCE, &["-P"], &[]);
    d.wait_up();
    // Malformed, oversized, unknown version: an error line, then closed.
    assert!(raw(&d, b"hello\n").contains("not a request"));
    assert!(raw(&d, &vec![b'x'; 10_000]).contains("longer than"));
    assert!(raw(&d, b"{\"version\":9,\"cmd\":\"status\"}\n").contains("version 9"));
    assert!(raw(&d, b"\xff\xfe\x00{\"version\":1}\n").contains("not a request"));
    // Gone before its answer (the answer's write fails), and a request
    // cut off by the end of the stream: nothing breaks.
    for bytes in [
        &b"{\"version\":1,\"cmd\":\"status\"}\n"[..],
        &b"{\"version\":1,\"cmd\":\"sta"[..],
    ] {
        use std::io::Write;
        let mut s =
            std::os::unix::net::UnixStream::connect(d.path("parent.sock")).expect("connects");
        s.write_all(bytes).expect("written");
    }
    // A slow client that never finishes its line does not hold up others.
    let slow = std::os::unix::net::UnixStream::connect(d.path("parent.sock")).expect("connects");
    let started = std::time::Instant::now();
    let out = ctl(&d, &["status", "--detail", "--json"]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // It is closed at the server's read deadline, and told why.
    {
        use std::io::{Read, Write};
        let mut slow = slow;
        slow.write_all(b"{\"version\":").expect("half a request");
        slow.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let mut told = String::new();
        let _ = slow.read_to_string(&mut told);
        assert!(told.contains("no complete request line"), "{told:?}");
    }
    // Not root: refused, even when the file mode would let it in.
    fs::set_permissions(d.path("parent.sock"), fs::Permissions::from_mode(0o666)).expect("chmod");
    let out = Command::new("setpriv")
        .args([
            "--reuid",
            "65534",
            "--regid",
            "65534",
            "--clear-groups",
            BIN,
            "status",
        ])
        .arg("--control-socket")
        .arg(d.path("parent.sock"))
        .output()
        .expect("setpriv");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("only root"), "{err}");
    // Still serving, same generation, same child.
    let v: serde_json::Value =
        serde_json::from_slice(&ctl(&d, &["status", "--detail", "--json"]).stdout).expect("json");
    assert_eq!(v["daemon"]["children"][0]["restarts"], 0);
    assert!(alive(d.pid));
}

/// A VRRP child whose loop stops (SIGSTOP) is a stalled master: the
/// watchdog kills it within its bound, its VIP is removed as after a
/// crash, and the respawned child is master again.
#[test]
fn a_stalled_vrrp_child_is_detected_killed_and_replaced() {
    let ns = Netns::up("stall");
    let name = ns.name.clone();
    let d = Daemon::start_in(
        Some(ns),
        MASTER_ON_ETH0,
        &[],
        &[("KEEPALIVED_RS_STALL_MS", "1000")],
    );
    d.wait_up();
    wait_for("the VIP on eth0", Duration::from_secs(5), || {
        has_vip(&name, "192.0.2.101").then_some(())
    });
    let vrrp = d.pidfile("vrrp.pid").expect("vrrp pid");
    let stopped = Instant::now();
    kill(Pid::from_raw(vrrp), Signal::SIGSTOP).expect("stop");
    // The respawned child (state MASTER, advert_int 0.1) takes the VIP
    // back within milliseconds, so the removal is read from the log.
    d.wait_log("stalled: no heartbeat", 1);
    let took = stopped.elapsed();
    // The bound, plus one heartbeat period of slack.
    assert!(took < Duration::from_millis(1500), "{took:?}: {}", d.log());
    d.wait_log("left 1 virtual address(es): removed", 1);
    wait_for("a new VRRP child", Duration::from_secs(5), || {
        d.pidfile("vrrp.pid").filter(|p| *p != vrrp)
    });
    wait_for("the VIP back on eth0", Duration::from_secs(5), || {
        has_vip(&name, "192.0.2.101").then_some(())
    });
}

/// A child busy in a long apply keeps its heartbeat (the apply waits
/// without blocking the loop), so it is not taken for stalled.
#[test]
fn a_long_apply_is_not_a_stall() {
    let d = Daemon::start_with(
        &["--all", "-C"],
        &[
            // A bound far above a loaded machine's scheduling gaps (a
            // 500 ms bound was once missed under load average 14), and an
            // apply more than three bounds long.
            ("KEEPALIVED_RS_STALL_MS", "1500"),
            ("KEEPALIVED_RS_APPLY_DELAY_MS", "5000"),
        ],
    );
    d.wait_up();
    let checker = d.pidfile("check.pid").expect("checker pid");
    d.signal(libc::SIGHUP);
    d.wait_log("Reload finished", 1);
    assert_eq!(d.pidfile("check.pid"), Some(checker), "{}", d.log());
    assert!(!d.log().contains("stalled"), "{}", d.log());
}

/// A CPU cgroup that gives its processes 1 ms of CPU a second (cgroup v1's
/// cpu controller or v2's cpu.max): starvation on demand.
struct Starved {
    dir: PathBuf,
    procs: PathBuf,
}

impl Starved {
    fn new(name: &str) -> Starved {
        let v1 = Path::new("/sys/fs/cgroup/cpu");
        // (the cgroup, the files that set its limit)
        let (dir, limit) = if v1.join("cpu.cfs_quota_us").exists() {
            (
                v1.join(name),
                vec![
                    ("cpu.cfs_period_us", "1000000"),
                    ("cpu.cfs_quota_us", "1000"),
                ],
            )
        } else if fs::read_to_string("/sys/fs/cgroup/cgroup.controllers")
            .is_ok_and(|c| c.split_whitespace().any(|w| w == "cpu"))
        {
            let _ = fs::write("/sys/fs/cgroup/cgroup.subtree_control", "+cpu");
            (
                Path::new("/sys/fs/cgroup").join(name),
                vec![("cpu.max", "1000 1000000")],
            )
        } else {
            panic!(
                "this test needs a cgroup cpu controller (v1 at /sys/fs/cgroup/cpu or v2's cpu.max)"
            );
        };
        let _ = fs::create_dir(&dir);
        for (file, value) in limit {
            fs::write(dir.join(file), value).expect("cgroup limit");
        }
        Starved {
            procs: dir.join("cgroup.procs"),
            dir,
        }
    }

    fn hold(&self, pid: i32) {
        fs::write(&self.procs, pid.to_string()).expect("move into the starved cgroup");
    }

    /// Back to the root cgroup (of the same hierarchy).
    fn release(&self, pid: i32) -> std::io::Result<()> {
        let root = self
            .dir
            .parent()
            .expect("hierarchy root")
            .join("cgroup.procs");
        fs::write(root, pid.to_string())
    }
}

impl Drop for Starved {
    fn drop(&mut self) {
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The same for the VRRP child: starved of CPU it is waited for (a kill
/// and a respawn would only silence the link longer on a starved box),
/// stopped it is killed within its bound.
#[test]
fn a_starved_vrrp_child_is_waited_for_a_stopped_one_is_not() {
    // A busy child: 60 instances at 0.1 s adverts.
    let mut conf = String::new();
    for v in 1..=60 {
        conf.push_str(&format!(
            "vrrp_instance VI_{v} {{\n interface eth0\n virtual_router_id {v}\n version 3\n \
             advert_int 0.1\n priority 200\n virtual_ipaddress {{\n  198.51.100.{v}/32\n }}\n}}\n"
        ));
    }
    let d = Daemon::start_in(
        Some(Netns::up("sv")),
        &conf,
        &["-P"],
        // Shorter than the 1 s the cgroup throttles it at a time (the
        // loop answers its heartbeat first whenever it runs), and long
        // enough that its starvation ceiling (6 bounds, 3.6 s) outlasts
        // a throttled period or two the loaded host does not serve: at
        // 300 ms (a 1.8 s ceiling) the child was once killed as stalled
        // in a full `run-tests`.
        &[("KEEPALIVED_RS_STALL_MS", "600")],
    );
    d.wait_log("Entering MASTER STATE", 60);
    // Many bounds, each silence shorter than the starvation ceiling.
    starved_waited_stopped_killed(&d, "vrrp.pid", "kalrs-starvev");
}

/// A checker child that gets no CPU (the box is starved, not the child
/// stalled) is given time past its bound rather than killed, and one that
/// is stopped is still killed within the bound.
#[test]
fn a_starved_checker_child_is_waited_for_a_stopped_one_is_not() {
    // Enough failing checks (closed ports on loopback) that 1 ms of CPU a
    // second cannot also carry the heartbeats.
    let mut conf = String::new();
    for v in 0..20 {
        conf.push_str(&format!(
            "virtual_server 192.0.2.{} 80 {{\n delay_loop 1\n lb_algo rr\n lb_kind NAT\n protocol TCP\n",
            v + 1
        ));
        for r in 0..50 {
            conf.push_str(&format!(
                " real_server 127.0.{}.{} 9 {{\n  TCP_CHECK {{\n   connect_timeout 1\n  }}\n }}\n",
                v + 1,
                r + 1
            ));
        }
        conf.push_str("}\n");
    }
    let d = Daemon::start_conf(
        &conf,
        &["-C"],
        &[
            ("KEEPALIVED_RS_IPVS_DRY", "1"),
            ("KEEPALIVED_RS_STALL_MS", "1000"),
        ],
    );
    d.wait_up();
    // Longer than the bound (1 s), shorter than its starvation ceiling.
    starved_waited_stopped_killed(&d, "check.pid", "kalrs-starve");
}

/// The child named by `pidfile` starved in a cgroup for 3.5 s: logged as
/// starved, not killed; then SIGSTOPped: killed within 2.5 s.
fn starved_waited_stopped_killed(d: &Daemon, pidfile: &str, cgroup: &str) {
    let child = d.pidfile(pidfile).expect("child pid");
    let cg = Starved::new(&format!("{cgroup}-{}", std::process::id()));
    cg.hold(child);
    std::thread::sleep(Duration::from_millis(3500));
    if let Err(e) = cg.release(child) {
        // The child is gone: killed as stalled, or worse. Its log says.
        panic!("move the child back: {e}\n{}", d.log());
    }
    d.wait_log("the host is starved, not the child stalled", 1);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(d.pidfile(pidfile), Some(child), "{}", d.log());
    assert!(!d.log().contains("stalled: no heartbeat"), "{}", d.log());
    // A stop is not starvation.
    let stopped = Instant::now();
    kill(Pid::from_raw(child), Signal::SIGSTOP).expect("stop");
    d.wait_log("stalled: no heartbeat", 1);
    assert!(
        stopped.elapsed() < Duration::from_millis(2500),
        "{}",
        d.log()
    );
}
