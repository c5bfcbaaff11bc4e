// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Routes, rules and static entries of the VRRP child, in a network
//! namespace, one lone instance (it becomes MASTER alone): the static
//! route from start, the virtual route and rule with MASTER, a VIP
//! deleted by hand put back, everything ours gone after SIGTERM.
//! Needs root; fails (never skips) without it. The same against real
//! keepalived: integration/interop/scenarios/routes.sh.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::fs;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use support::Netns;

const CONF: &str = "\
global_defs {
    router_id routes
}
static_routes {
    198.51.100.64/26 via 192.0.2.254 dev eth0
    198.51.100.128/26 dev eth0 src 192.0.2.1 metric 5 tos 0x10 realms 2/3 mtu lock 1400 advmss lock 1300 rtt lock 10ms rttvar lock 5ms ssthresh lock 3 cwnd lock 4 reordering lock 5 rto_min lock 200ms congctl lock cubic window 7 initcwnd 10 initrwnd 11 hoplimit 12 quickack 1 features ecn fastopen_no_cookie 1
    198.51.100.0/27 via 192.0.2.252 dev eth0 metric 9
    198.51.100.32/27 via 192.0.2.252 dev eth0 metric 9 append
    198.51.100.224/27 via 192.0.2.252 dev eth0 metric 9 add
    unreachable 198.51.100.192/27 table 102 no_track
}
static_rules {
    from 198.51.100.64/26 table 101 preference 301
    from 192.0.2.0/24 to 198.51.100.0/24 tos 0x10 fwmark 0x3/0xff iif eth0 oif eth0 uidrange 100-200 ipproto tcp sport 1000-2000 dport 80 table 100 suppress_prefixlength 8 suppress_ifgroup 3 preference 302
    not from 192.0.2.64/26 goto 400 preference 303
    from 192.0.2.8 realms 4/5 table 100 preference 304
    l3mdev preference 305
    inet6 to 2001:db8:5::/48 type prohibit preference 306
}
vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    priority 150
    version 3
    advert_int 0.1
    virtual_ipaddress {
        192.0.2.100/24
        192.0.2.101/24 brd 192.0.2.255
    }
    virtual_routes {
        203.0.113.0/25 via 192.0.2.254 dev eth0 table 100
    }
    virtual_rules {
        from 192.0.2.100 table 100 preference 200
    }
}
";

fn ip(ns: &str, args: &[&str]) -> String {
    let out = Command::new("ip")
        .args(["-n", ns])
        .args(args)
        .output()
        .expect("run ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every route and rule option of the static blocks, as `ip -d` shows
/// what the kernel holds: nothing configured may be missing.
fn every_option_reads_back(n: &str) {
    let route = ip(n, &["-d", "route", "show", "198.51.100.128/26"]);
    for want in [
        "proto keepalived",
        "src 192.0.2.1",
        "metric 5",
        "tos 0x10",
        "realms 2/3",
        "mtu lock 1400",
        "advmss lock 1300",
        // keepalived holds route times at 200 ms or more (10ms, 5ms here).
        "rtt lock 200ms",
        "rttvar lock 200ms",
        "ssthresh lock 3",
        "cwnd lock 4",
        "reordering lock 5",
        "rto_min lock 200ms",
        "congctl lock cubic",
        "window 7",
        "initcwnd 10",
        "initrwnd 11",
        "hoplimit 12",
        "quickack 1",
        "features ecn",
        "fastopen_no_cookie 1",
    ] {
        assert!(route.contains(want), "{want:?} not in {route}");
    }
    // Placement: ours in front of the administrator's by default
    // (keepalived's prepend), after it with `append`.
    let gateways = |dst: &str| -> Vec<String> {
        ip(n, &["route", "show", dst])
            .lines()
            .filter_map(|l| l.split_whitespace().nth(2).map(str::to_owned))
            .collect()
    };
    assert_eq!(gateways("198.51.100.0/27"), ["192.0.2.252", "192.0.2.253"]);
    assert_eq!(gateways("198.51.100.32/27"), ["192.0.2.253", "192.0.2.252"]);
    let typed = ip(n, &["route", "show", "table", "102"]);
    assert!(typed.contains("unreachable 198.51.100.192/27"), "{typed}");

    let rules = ip(n, &["-d", "rule", "show"]);
    for want in [
        "302:\tfrom 192.0.2.0/24 to 198.51.100.0/24 tos 0x10 fwmark 0x3/0xff iif eth0 oif eth0 \
         uidrange 100-200 ipproto tcp sport 1000-2000 dport 80 lookup 100 \
         suppress_prefixlength 8 suppress_ifgroup 3 proto keepalived",
        "303:\tnot from 192.0.2.64/26 goto 400",
        "304:\tfrom 192.0.2.8 lookup 100 realms 4/5 proto keepalived",
        "305:\tfrom all lookup [l3mdev-table] proto keepalived",
    ] {
        assert!(rules.contains(want), "{want:?} not in {rules}");
    }
    let six = ip(n, &["-6", "rule", "show", "pref", "306"]);
    assert!(six.contains("to 2001:db8:5::/48 prohibit"), "{six}");
}

/// keepalived-rs -P in namespace `n` on `conf`, its output in
/// `dir`/out.log.
fn start(n: &str, conf: &Path, dir: &Path) -> Child {
    let log = fs::File::create(dir.join("out.log")).expect("log file");
    Command::new("ip")
        .args(["netns", "exec", n])
        .arg(support::binary())
        .args(["-P", "-n", "-l", "-D", "-f"])
        .arg(conf)
        .arg("-p")
        .arg(dir.join("k.pid"))
        .arg("-r")
        .arg(dir.join("v.pid"))
        .stdout(Stdio::from(log.try_clone().expect("log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("start keepalived-rs")
}

/// SIGTERM, then its exit within 10 s.
fn stop(daemon: &mut Child, logged: impl Fn() -> String) {
    let pid = i32::try_from(daemon.id()).expect("a pid");
    kill(Pid::from_raw(pid), Signal::SIGTERM).expect("SIGTERM");
    let end = Instant::now() + Duration::from_secs(10);
    while daemon.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < end, "no exit after SIGTERM: {}", logged());
        sleep(Duration::from_millis(20));
    }
}

fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if f() {
            return;
        }
        sleep(Duration::from_millis(20));
    }
    panic!("{what}: not within {limit:?}");
}

#[test]
fn routes_follow_master_statics_stay_and_a_deleted_vip_comes_back() {
    let ns = Netns::up("rt");
    let n = ns.name.clone();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf = dir.path().join("k.conf");
    fs::write(&conf, CONF).expect("write the config");
    // An administrator's routes that ours meet: same prefix, TOS and
    // metric, another gateway.
    for dst in ["198.51.100.0/27", "198.51.100.32/27", "198.51.100.224/27"] {
        let out = Command::new("ip")
            .args(["-n", &n, "route", "add", dst, "via", "192.0.2.253"])
            .args(["dev", "eth0", "metric", "9", "proto", "static"])
            .output()
            .expect("run ip");
        assert!(out.status.success(), "{out:?}");
    }
    let mut daemon = start(&n, &conf, dir.path());
    let logged = || fs::read_to_string(dir.path().join("out.log")).unwrap_or_default();

    let static_route =
        || ip(&n, &["route", "show", "198.51.100.64/26", "proto", "18"]).contains("via");
    let static_rule = || !ip(&n, &["rule", "show", "pref", "301"]).is_empty();
    let vip = || ip(&n, &["-o", "addr", "show", "dev", "eth0"]).contains("192.0.2.100/24");
    let virtual_route =
        || ip(&n, &["route", "show", "table", "100", "proto", "18"]).contains("203.0.113.0/25 via");
    let virtual_rule = || !ip(&n, &["rule", "show", "pref", "200"]).is_empty();

    wait_for("static route and rule", Duration::from_secs(5), || {
        static_route() && static_rule()
    });
    every_option_reads_back(&n);
    // With `add` the administrator's route stays alone, and we say so.
    let add = ip(&n, &["route", "show", "198.51.100.224/27"]);
    assert_eq!(add.lines().count(), 1, "{add}");
    wait_for("the refused add logged", Duration::from_secs(2), || {
        logged().contains("route 198.51.100.224/27") && logged().contains("('add') not added")
    });
    wait_for(
        "MASTER: VIP, virtual route and rule",
        Duration::from_secs(5),
        || vip() && virtual_route() && virtual_rule(),
    );
    let vip_options = || ip(&n, &["-o", "addr", "show", "dev", "eth0"]);
    let end = Instant::now() + Duration::from_secs(2);
    while !vip_options().contains("192.0.2.101/24 brd 192.0.2.255") {
        assert!(
            Instant::now() < end,
            "a VIP's brd: {}\n{}",
            vip_options(),
            logged()
        );
        sleep(Duration::from_millis(20));
    }

    ip(&n, &["addr", "del", "192.0.2.100/24", "dev", "eth0"]);
    wait_for("the VIP put back", Duration::from_secs(2), vip);
    wait_for("the put-back logged", Duration::from_secs(2), || {
        logged()
            .contains("virtual address 192.0.2.100/24 was deleted while MASTER; putting it back")
    });
    // BACKUP once at start, MASTER once: no flap after the deletion.
    let l = logged();
    assert_eq!(l.matches("Entering BACKUP STATE").count(), 1, "{l}");
    assert_eq!(l.matches("Entering MASTER STATE").count(), 1, "{l}");

    ip(&n, &["route", "del", "198.51.100.64/26"]);
    wait_for(
        "the static route put back",
        Duration::from_secs(2),
        static_route,
    );

    stop(&mut daemon, logged);
    assert!(
        !vip() && !virtual_route() && !virtual_rule(),
        "VRRP entries left: {}",
        logged()
    );
    assert!(
        !static_route() && !static_rule(),
        "static entries left: {}",
        logged()
    );
    let theirs = ip(&n, &["route", "show", "proto", "static"]);
    assert_eq!(
        theirs.lines().count(),
        3,
        "the administrator's stay: {theirs}"
    );
    let ours = ip(&n, &["-d", "route", "show", "table", "all", "proto", "18"]);
    assert!(ours.is_empty(), "routes of ours left: {ours}");
}

/// A link that goes down takes the routes through it (and its IPv6
/// addresses) out of the kernel; when it comes back up, the tracked static
/// ones are put back on it (the node's `RestoreStaticsOn`, keepalived's
/// `interface_up`) and a `no_track` one is not.
#[test]
fn tracked_statics_come_back_with_their_link() {
    let ns = Netns::up("rtl");
    let n = ns.name.clone();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let conf = dir.path().join("k.conf");
    fs::write(
        &conf,
        "global_defs {\n    router_id routes_link\n}\n\
         static_ipaddress {\n    2001:db8:9::1/64 dev eth0\n    2001:db8:9::2/64 dev eth0 no_track\n}\n\
         static_routes {\n    198.51.100.64/26 via 192.0.2.254 dev eth0\n    \
         198.51.100.128/26 via 192.0.2.254 dev eth0 no_track\n}\n",
    )
    .expect("write the config");
    let mut daemon = start(&n, &conf, dir.path());
    let logged = || fs::read_to_string(dir.path().join("out.log")).unwrap_or_default();
    let route = |dst: &str| ip(&n, &["route", "show", dst, "proto", "18"]).contains("via");
    let addr = |a: &str| ip(&n, &["-6", "-o", "addr", "show", "dev", "eth0"]).contains(a);
    let tracked = || route("198.51.100.64/26") && addr("2001:db8:9::1/64");
    let untracked = || route("198.51.100.128/26") || addr("2001:db8:9::2/64");

    wait_for("the statics installed", Duration::from_secs(5), || {
        tracked() && untracked()
    });
    ip(&n, &["link", "set", "eth0", "down"]);
    wait_for(
        "the statics gone with their link",
        Duration::from_secs(2),
        || !tracked() && !untracked(),
    );
    ip(&n, &["link", "set", "eth0", "up"]);
    wait_for(
        "the tracked statics back with their link",
        Duration::from_secs(5),
        tracked,
    );
    wait_for("the reinstall logged", Duration::from_secs(2), || {
        logged().contains("(static) eth0 is up: installing its static addresses and routes again")
    });
    // A no_track entry is the administrator's to put back.
    sleep(Duration::from_millis(300));
    assert!(!untracked(), "a no_track static came back: {}", logged());

    stop(&mut daemon, logged);
    assert!(!tracked(), "statics left after stop: {}", logged());
}
