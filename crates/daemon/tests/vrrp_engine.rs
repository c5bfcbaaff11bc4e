// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Our VRRP engine against real keepalived 2.2.7, on a veth pair between
//! two network namespaces: ours runs in one, keepalived in the other.
//! Needs root, iproute2 and `keepalived` in PATH; fails (never skips)
//! without them. VRRPv3 at advert_int 0.1 keeps every scenario short.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread::sleep;
use std::time::{Duration, Instant};

mod support;
use support::run_ok as run;

const OURS: &str = env!("CARGO_BIN_EXE_keepalived-rs");

static SEQ: AtomicU32 = AtomicU32::new(0);

fn preflight() {
    support::require("vrrp_engine tests", &[("keepalived", "--version")]);
}

/// Two namespaces joined by a veth pair: `a` (veth0, 192.0.2.1,
/// 2001:db8:1::1) and `b` (veth0, 192.0.2.2, 2001:db8:1::2). IPv6 DAD is
/// off so link-locals are usable at once.
struct Lab {
    a: String,
    b: String,
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        preflight();
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let tag = format!("{}x{n}", std::process::id() % 100_000);
        let lab = Lab {
            a: format!("kvA{tag}"),
            b: format!("kvB{tag}"),
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        for ns in [&lab.a, &lab.b] {
            run(&["ip", "netns", "add", ns]);
            for k in ["all", "default"] {
                run(&[
                    "ip",
                    "netns",
                    "exec",
                    ns,
                    "sysctl",
                    "-qw",
                    &format!("net.ipv6.conf.{k}.accept_dad=0"),
                ]);
            }
        }
        run(&[
            "ip", "link", "add", "veth0", "netns", &lab.a, "type", "veth", "peer", "name", "veth0",
            "netns", &lab.b,
        ]);
        for (ns, v4, v6) in [
            (&lab.a, "192.0.2.1/24", "2001:db8:1::1/64"),
            (&lab.b, "192.0.2.2/24", "2001:db8:1::2/64"),
        ] {
            run(&["ip", "-n", ns, "addr", "add", v4, "dev", "veth0"]);
            run(&["ip", "-n", ns, "addr", "add", v6, "dev", "veth0", "nodad"]);
            run(&["ip", "-n", ns, "link", "set", "lo", "up"]);
            run(&["ip", "-n", ns, "link", "set", "veth0", "up"]);
        }
        // Wait for the link-locals to be usable.
        let ok = wait_for(Duration::from_secs(5), || {
            [&lab.a, &lab.b].iter().all(|ns| {
                let out = run(&[
                    "ip", "-n", ns, "-6", "addr", "show", "dev", "veth0", "scope", "link",
                ]);
                out.contains("fe80") && !out.contains("tentative")
            })
        });
        assert!(ok.is_some(), "link-local addresses never became usable");
        lab
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn has(&self, ns: &str, addr: &str) -> bool {
        let out = run(&["ip", "-n", ns, "-j", "addr", "show", "dev", "veth0"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        v.as_array().into_iter().flatten().any(|link| {
            link["addr_info"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|a| a["local"].as_str() == Some(addr))
        })
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        support::remove_netns(&self.a);
        support::remove_netns(&self.b);
    }
}

fn wait_for(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        sleep(Duration::from_millis(20));
    }
    None
}

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    Ours,
    Keepalived,
}

/// One daemon (ours or keepalived) running in a namespace.
struct Daemon {
    child: Child,
    pid_file: PathBuf,
    vrrp_pid_file: PathBuf,
    log: PathBuf,
}

impl Daemon {
    fn start(lab: &Lab, ns: &str, which: Impl, name: &str, conf: &str) -> Daemon {
        let conf_path = lab.path(&format!("{name}.conf"));
        fs::write(&conf_path, conf).expect("write the configuration");
        let pid_file = lab.path(&format!("{name}.pid"));
        let vrrp_pid_file = lab.path(&format!("{name}-vrrp.pid"));
        let log = lab.path(&format!("{name}.log"));
        let _ = fs::remove_file(&pid_file);
        let _ = fs::remove_file(&vrrp_pid_file);
        let prog = match which {
            Impl::Ours => OURS,
            Impl::Keepalived => "keepalived",
        };
        let logf = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("open the log");
        let child = support::vrrp_daemon(ns, prog, &conf_path, &pid_file, &vrrp_pid_file, logf)
            .spawn()
            .expect("start the daemon");
        let d = Daemon {
            child,
            pid_file,
            vrrp_pid_file,
            log,
        };
        let up = wait_for(Duration::from_secs(5), || {
            read_pid(&d.pid_file).is_some() && read_pid(&d.vrrp_pid_file).is_some()
        });
        assert!(up.is_some(), "{name} did not start:\n{}", d.log_text());
        d
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(pid: i32, sig: &str) {
        let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
    }

    /// SIGKILL without any cleanup: the supervisor is frozen first so it
    /// cannot respawn the child or pass it a SIGTERM.
    fn kill9(mut self) {
        let parent = read_pid(&self.pid_file);
        let child = read_pid(&self.vrrp_pid_file);
        if let Some(p) = parent {
            Self::signal(p, "-STOP");
        }
        if let Some(c) = child {
            Self::signal(c, "-KILL");
        }
        if let Some(p) = parent {
            Self::signal(p, "-KILL");
        }
        let _ = self.child.wait();
    }

    /// SIGTERM and wait for the exit.
    fn term(mut self) {
        if let Some(p) = read_pid(&self.pid_file) {
            Self::signal(p, "-TERM");
        }
        let _ = self.child.wait();
    }
}

fn read_pid(p: &Path) -> Option<i32> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// An IPv4 v3 instance; `notify` = a script for `notify`.
fn conf_v4(prio: u8, notify: Option<&Path>) -> String {
    let notify = notify
        .map(|p| format!("  notify {}\n", p.display()))
        .unwrap_or_default();
    format!(
        "vrrp_instance VI_1 {{\n  interface veth0\n  virtual_router_id 51\n  priority {prio}\n  \
         version 3\n  advert_int 0.1\n{notify}  virtual_ipaddress {{\n    192.0.2.100/24\n  }}\n}}\n"
    )
}

/// A notify script appending its arguments to `<dir>/notify.log`.
fn notify_script(lab: &Lab) -> (PathBuf, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let script = lab.path("notify.sh");
    let log = lab.path("notify.log");
    fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", log.display()),
    )
    .expect("write the notify script");
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).expect("chmod");
    (script, log)
}

const VIP4: &str = "192.0.2.100";
const VIP6: &str = "2001:db8:1::100";

fn fail(msg: &str, logs: &[&Daemon]) -> ! {
    let mut s = format!("{msg}\n");
    for d in logs {
        s.push_str(&format!(
            "----- {} -----\n{}\n",
            d.log.display(),
            d.log_text()
        ));
    }
    panic!("{s}");
}

/// (a) ours 150 vs keepalived 100: ours is master and alone holds the
/// VIP; (b) SIGKILL ours: keepalived takes over, the VIP stays stale on
/// our side, a restart removes it first and pre-empts back; (c) SIGTERM
/// ours: keepalived sees priority 0 and takes over in well under 1 s.
#[test]
fn ours_master_kill_restart_and_term_against_keepalived() {
    let lab = Lab::new();
    let ka = Daemon::start(&lab, &lab.b, Impl::Keepalived, "ka", &conf_v4(100, None));
    let (script, notify_log) = notify_script(&lab);
    let ours = Daemon::start(
        &lab,
        &lab.a,
        Impl::Ours,
        "ours",
        &conf_v4(150, Some(&script)),
    );

    // (a)
    let t = wait_for(Duration::from_secs(3), || {
        lab.has(&lab.a, VIP4) && !lab.has(&lab.b, VIP4)
    });
    if t.is_none() {
        fail("(a) ours never became the only VIP holder", &[&ours, &ka]);
    }
    // Stable: no flapping for a while.
    sleep(Duration::from_millis(500));
    if !lab.has(&lab.a, VIP4) || lab.has(&lab.b, VIP4) {
        fail("(a) mastership did not stay with ours", &[&ours, &ka]);
    }

    let notified = wait_for(Duration::from_secs(2), || {
        fs::read_to_string(&notify_log).is_ok_and(|s| s.contains("INSTANCE VI_1 MASTER 150"))
    });
    if notified.is_none() {
        fail(
            &format!(
                "(a) notify not run with keepalived's argv: {:?}",
                fs::read_to_string(&notify_log)
            ),
            &[&ours],
        );
    }

    // (b) SIGKILL: no priority 0, keepalived waits out master-down.
    ours.kill9();
    let t = wait_for(Duration::from_secs(3), || lab.has(&lab.b, VIP4));
    if t.is_none() {
        fail("(b) keepalived did not take over after SIGKILL", &[&ka]);
    }
    assert!(
        lab.has(&lab.a, VIP4),
        "(b) the killed daemon should have left its VIP behind (the stale address this test needs)"
    );
    let ours = Daemon::start(
        &lab,
        &lab.a,
        Impl::Ours,
        "ours-restarted",
        &conf_v4(150, Some(&script)),
    );
    let t = wait_for(Duration::from_secs(3), || {
        lab.has(&lab.a, VIP4) && !lab.has(&lab.b, VIP4)
    });
    if t.is_none() {
        fail("(b) restarted ours did not pre-empt back", &[&ours, &ka]);
    }
    if !ours
        .log_text()
        .contains("removed stale virtual address 192.0.2.100")
    {
        fail(
            "(b) the restart did not remove the stale VIP first",
            &[&ours],
        );
    }
    let startup = ours.log_text();
    let backup_at = startup.find("Entering BACKUP STATE");
    let stale_at = startup.find("removed stale virtual address");
    if !matches!((stale_at, backup_at), (Some(s), Some(b)) if s < b) {
        fail(
            "(b) stale VIP not removed before the instance started",
            &[&ours],
        );
    }

    // (c) SIGTERM: priority 0 makes keepalived take over at once.
    sleep(Duration::from_millis(300));
    let start = Instant::now();
    ours.term();
    let t = wait_for(Duration::from_secs(3), || lab.has(&lab.b, VIP4)).map(|_| start.elapsed());
    match t {
        Some(d) if d < Duration::from_secs(1) => {
            eprintln!("takeover after SIGTERM: {d:?}");
        }
        _ => fail(
            "(c) keepalived did not take over within 1 s of SIGTERM",
            &[&ka],
        ),
    }
    if lab.has(&lab.a, VIP4) {
        fail("(c) ours kept the VIP after SIGTERM", &[&ka]);
    }
    if !ka.log_text().contains("received priority 0 advertisement") {
        fail("(c) keepalived never saw our priority 0 advert", &[&ka]);
    }
    ka.term();
}

/// (d) Roles swapped: keepalived 150 is master, ours (100) stays backup
/// without the VIP, and takes over when keepalived is SIGKILLed.
#[test]
fn ours_backup_takes_over_from_killed_keepalived() {
    let lab = Lab::new();
    let ka = Daemon::start(&lab, &lab.b, Impl::Keepalived, "ka", &conf_v4(150, None));
    let t = wait_for(Duration::from_secs(3), || lab.has(&lab.b, VIP4));
    if t.is_none() {
        fail("(d) keepalived did not become master", &[&ka]);
    }
    let ours = Daemon::start(&lab, &lab.a, Impl::Ours, "ours", &conf_v4(100, None));
    // Longer than our master-down interval (3 × 0.1 s + skew).
    sleep(Duration::from_millis(1200));
    if lab.has(&lab.a, VIP4) || !lab.has(&lab.b, VIP4) {
        fail("(d) ours should be backup without the VIP", &[&ours, &ka]);
    }
    if ours.log_text().contains("Entering MASTER STATE") {
        fail("(d) ours went master while keepalived was", &[&ours, &ka]);
    }
    ka.kill9();
    let t = wait_for(Duration::from_secs(3), || lab.has(&lab.a, VIP4));
    match t {
        Some(d) => eprintln!("takeover after keepalived SIGKILL: {d:?}"),
        None => fail(
            "(d) ours did not take over from the killed keepalived",
            &[&ours],
        ),
    }
    ours.term();
}

/// An instance without a source address retries once a second; adverts
/// arriving more often than that (keepalived at 0.1 s) must not keep
/// postponing the retry.
#[test]
fn source_address_retry_is_not_starved_by_adverts() {
    let lab = Lab::new();
    run(&[
        "ip",
        "-n",
        &lab.a,
        "addr",
        "del",
        "192.0.2.1/24",
        "dev",
        "veth0",
    ]);
    let ka = Daemon::start(&lab, &lab.b, Impl::Keepalived, "ka", &conf_v4(100, None));
    if wait_for(Duration::from_secs(3), || lab.has(&lab.b, VIP4)).is_none() {
        fail("keepalived did not become master", &[&ka]);
    }
    let ours = Daemon::start(&lab, &lab.a, Impl::Ours, "ours", &conf_v4(150, None));
    let faulted = wait_for(Duration::from_secs(3), || {
        ours.log_text().contains("Entering FAULT STATE")
    });
    if faulted.is_none() {
        fail("ours without an IPv4 address did not enter FAULT", &[&ours]);
    }
    // Several retry periods with keepalived's adverts arriving meanwhile.
    sleep(Duration::from_millis(1500));
    run(&[
        "ip",
        "-n",
        &lab.a,
        "addr",
        "add",
        "192.0.2.1/24",
        "dev",
        "veth0",
    ]);
    let t = wait_for(Duration::from_secs(4), || {
        lab.has(&lab.a, VIP4) && !lab.has(&lab.b, VIP4)
    });
    match t {
        Some(d) => eprintln!("master {d:?} after the source address appeared"),
        None => fail(
            "ours never found its new source address (retry starved?)",
            &[&ours, &ka],
        ),
    }
    if !ours.log_text().contains("using source address 192.0.2.1") {
        fail("ours did not log its new source address", &[&ours]);
    }
    ours.term();
    ka.term();
}

fn conf_v6(prio: u8) -> String {
    format!(
        "vrrp_instance VI_6 {{\n  interface veth0\n  virtual_router_id 61\n  priority {prio}\n  \
         version 3\n  advert_int 0.1\n  virtual_ipaddress {{\n    {VIP6}/64\n  }}\n}}\n"
    )
}

/// (e) VRRPv3 over IPv6 at 0.1 s: ours 150 is master over keepalived
/// 100, and SIGTERM hands over with priority 0.
#[test]
fn ipv6_v3_pair_with_keepalived() {
    let lab = Lab::new();
    let ka = Daemon::start(&lab, &lab.b, Impl::Keepalived, "ka6", &conf_v6(100));
    let ours = Daemon::start(&lab, &lab.a, Impl::Ours, "ours6", &conf_v6(150));
    let t = wait_for(Duration::from_secs(3), || {
        lab.has(&lab.a, VIP6) && !lab.has(&lab.b, VIP6)
    });
    if t.is_none() {
        fail(
            "(e) ours never became the only IPv6 VIP holder",
            &[&ours, &ka],
        );
    }
    sleep(Duration::from_millis(500));
    if !lab.has(&lab.a, VIP6) || lab.has(&lab.b, VIP6) {
        fail("(e) IPv6 mastership did not stay with ours", &[&ours, &ka]);
    }
    let start = Instant::now();
    ours.term();
    match wait_for(Duration::from_secs(3), || lab.has(&lab.b, VIP6)).map(|_| start.elapsed()) {
        Some(d) if d < Duration::from_secs(1) => eprintln!("IPv6 takeover after SIGTERM: {d:?}"),
        _ => fail(
            "(e) keepalived did not take the IPv6 VIP within 1 s",
            &[&ka],
        ),
    }
    if !ka.log_text().contains("received priority 0 advertisement") {
        fail(
            "(e) keepalived never saw our IPv6 priority 0 advert",
            &[&ka],
        );
    }
    ka.term();
}

/// Reload: an instance whose identity is unchanged keeps MASTER through a
/// SIGHUP (new priority, one more VIP: added at once, no new MASTER
/// notification); an instance that leaves the configuration stops (its
/// VIP goes, keepalived takes VRID 51 over) while a new one starts.
#[test]
fn reload_keeps_unchanged_instances_and_swaps_the_others() {
    let lab = Lab::new();
    let ka = Daemon::start(&lab, &lab.b, Impl::Keepalived, "ka", &conf_v4(100, None));
    let (script, notify_log) = notify_script(&lab);
    let ours = Daemon::start(
        &lab,
        &lab.a,
        Impl::Ours,
        "ours",
        &conf_v4(150, Some(&script)),
    );
    if wait_for(Duration::from_secs(3), || {
        lab.has(&lab.a, VIP4) && !lab.has(&lab.b, VIP4)
    })
    .is_none()
    {
        fail("reload: ours never became master", &[&ours, &ka]);
    }
    let conf_path = lab.path("ours.conf");
    let hup = || {
        if let Some(p) = read_pid(&ours.pid_file) {
            Daemon::signal(p, "-HUP");
        }
    };

    // Same identity, new priority and one more (excluded: not in the
    // adverts, so keepalived's address-list check still passes) VIP.
    let grown = conf_v4(200, Some(&script)).replace(
        "  }\n}\n",
        "  }\n  virtual_ipaddress_excluded {\n    192.0.2.101/24\n  }\n}\n",
    );
    fs::write(&conf_path, grown).expect("rewrite the configuration");
    hup();
    if wait_for(Duration::from_secs(3), || lab.has(&lab.a, "192.0.2.101")).is_none() {
        fail("reload: the added VIP was not installed", &[&ours, &ka]);
    }
    sleep(Duration::from_millis(300));
    if !lab.has(&lab.a, VIP4) || lab.has(&lab.b, VIP4) {
        fail("reload: mastership moved", &[&ours, &ka]);
    }
    if ours.log_text().matches("Entering MASTER STATE").count() != 1 {
        fail("reload: the kept instance re-entered MASTER", &[&ours]);
    }
    let masters = fs::read_to_string(&notify_log)
        .unwrap_or_default()
        .matches("MASTER")
        .count();
    if masters != 1 {
        fail(
            &format!("reload: {masters} MASTER notifications, expected 1"),
            &[&ours],
        );
    }

    // VI_1 leaves, VI_2 (VRID 52) arrives.
    let swapped = "vrrp_instance VI_2 {\n  interface veth0\n  virtual_router_id 52\n  \
                   priority 150\n  version 3\n  advert_int 0.1\n  virtual_ipaddress {\n    \
                   192.0.2.102/24\n  }\n}\n";
    fs::write(&conf_path, swapped).expect("rewrite the configuration");
    hup();
    let done = wait_for(Duration::from_secs(3), || {
        !lab.has(&lab.a, VIP4)
            && !lab.has(&lab.a, "192.0.2.101")
            && lab.has(&lab.b, VIP4)
            && lab.has(&lab.a, "192.0.2.102")
    });
    if done.is_none() {
        fail(
            "reload: VI_1 did not stop or VI_2 did not start",
            &[&ours, &ka],
        );
    }
    if !ka.log_text().contains("received priority 0 advertisement") {
        fail("reload: the removed master did not send priority 0", &[&ka]);
    }
    // After each apply the VRRP child hands back the pages of the code
    // that read and applied it (mem::release_startup_code), and logs by
    // how much its file-backed resident set fell: some, every time.
    let released = |generation: u32| {
        let head = format!("Start-up code pages handed back after generation {generation}: ");
        ours.log_text().lines().any(|l| {
            l.split_once(head.as_str())
                .and_then(|(_, kb)| kb.strip_suffix(" kB")?.parse::<u64>().ok())
                .is_some_and(|kb| kb > 0)
        })
    };
    for generation in 1..=3 {
        if wait_for(Duration::from_secs(3), || released(generation)).is_none() {
            fail(
                &format!("reload: no start-up code released after generation {generation}"),
                &[&ours],
            );
        }
    }
    ours.term();
    ka.term();
}

/// Reload that starts tracking an interface which is up: the kept MASTER
/// stays MASTER (no FAULT, its VIP never leaves: keepalived looks the
/// interface up at reload), and the tracking works (the interface down:
/// FAULT, VIP gone; up: MASTER again). Found by the fault matrix's track
/// row: the new link counted as down until the read after the reload,
/// so every such reload dropped the VIP and sent priority 0.
#[test]
fn reload_adding_a_tracked_interface_that_is_up_keeps_master() {
    let lab = Lab::new();
    run(&[
        "ip", "-n", &lab.a, "link", "add", "trk0", "type", "veth", "peer", "name", "trk0p",
    ]);
    run(&["ip", "-n", &lab.a, "link", "set", "trk0p", "up"]);
    run(&["ip", "-n", &lab.a, "link", "set", "trk0", "up"]);
    let ours = Daemon::start(&lab, &lab.a, Impl::Ours, "ours", &conf_v4(150, None));
    if wait_for(Duration::from_secs(3), || lab.has(&lab.a, VIP4)).is_none() {
        fail("track reload: ours never became master", &[&ours]);
    }
    let tracked = conf_v4(150, None).replace(
        "  virtual_ipaddress",
        "  track_interface {\n    trk0\n  }\n  virtual_ipaddress",
    );
    fs::write(lab.path("ours.conf"), tracked).expect("rewrite the configuration");
    if let Some(p) = read_pid(&ours.pid_file) {
        Daemon::signal(p, "-HUP");
    }
    // The VIP is polled until the reload is applied and 0.5 s after.
    let mut lost = false;
    let mut applied_at = None;
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        lost |= !lab.has(&lab.a, VIP4);
        if applied_at.is_none() && ours.log_text().contains("applied generation 2") {
            applied_at = Some(Instant::now());
        }
        if applied_at.is_some_and(|t| t.elapsed() > Duration::from_millis(500)) {
            break;
        }
        sleep(Duration::from_millis(10));
    }
    if applied_at.is_none() {
        fail("track reload: the reload was not applied", &[&ours]);
    }
    let log = ours.log_text();
    if lost || log.contains("Entering FAULT STATE") {
        fail(
            "track reload: the master left MASTER (VIP lost or FAULT) on a reload adding an up tracked interface",
            &[&ours],
        );
    }
    if log.matches("Entering MASTER STATE").count() != 1 {
        fail(
            "track reload: the kept instance re-entered MASTER",
            &[&ours],
        );
    }
    run(&["ip", "-n", &lab.a, "link", "set", "trk0", "down"]);
    if wait_for(Duration::from_secs(3), || !lab.has(&lab.a, VIP4)).is_none() {
        fail("track reload: trk0 down did not release the VIP", &[&ours]);
    }
    run(&["ip", "-n", &lab.a, "link", "set", "trk0", "up"]);
    if wait_for(Duration::from_secs(3), || lab.has(&lab.a, VIP4)).is_none() {
        fail("track reload: trk0 up did not bring MASTER back", &[&ours]);
    }
    ours.term();
}
