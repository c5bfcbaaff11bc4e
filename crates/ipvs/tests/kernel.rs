// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The client against a real kernel's IPVS.
//!
//! This machine's kernel has no IPVS, so on the host the test boots
//! Debian's kernel under qemu with integration/vm/run-in-vm and runs this
//! same test binary inside it (env `KALRS_IPVS_IN_VM=1`). Everything is
//! checked in that one boot. The host part fails if the VM cannot boot or
//! any in-VM check fails; nothing is skipped.
//!
//! `KALRS_IPVS_CAPTURE=1` on the host additionally rewrites the byte
//! fixtures in tests/fixtures/ from what this kernel answers.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use keepalived_ipvs::ipvsadm::render_save;
use keepalived_ipvs::model::{
    DestKey, Destination, Family, Forward, Op, Protocol, Service, ServiceEntry, ServiceKey,
    SyncDaemon, SyncState, Table, Timeouts, Tunnel, TunnelType, svc_flags,
};
use keepalived_ipvs::{Applied, Error, Ipvs, OpError, OpErrorKind};

mod common;
use common::{dest, key, service};

const IN_VM: &str = "KALRS_IPVS_IN_VM";
const CAPTURE: &str = "KALRS_IPVS_CAPTURE";

#[test]
fn kernel_ipvs() {
    if std::env::var_os(IN_VM).is_some() {
        in_vm();
    } else {
        on_host();
    }
}

// ===== host side =====

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn on_host() {
    let root = workspace()
        .canonicalize()
        .expect("workspace root must exist");
    let runner = root.join("integration/vm/run-in-vm");
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut cmd = Command::new(&runner);
    cmd.arg("--payload")
        .arg(&root)
        .args(["--timeout", "110", "--mem", "768", "--env"])
        .arg(format!("{IN_VM}=1"));
    if std::env::var_os(CAPTURE).is_some() {
        cmd.arg("--env").arg(format!("{CAPTURE}=1"));
    }
    if let Ok(b) = std::env::var("KALRS_IPVS_BENCH") {
        cmd.arg("--env").arg(format!("KALRS_IPVS_BENCH={b}"));
    }
    cmd.arg(&exe)
        .args(["--exact", "kernel_ipvs", "--nocapture", "--test-threads=1"]);
    let started = Instant::now();
    let status = cmd.status().unwrap_or_else(|e| {
        panic!(
            "cannot start {} (install the VM packages with integration/install-deps): {e}",
            runner.display()
        )
    });
    eprintln!("VM run took {:.1?}", started.elapsed());
    assert!(
        status.success(),
        "the in-VM IPVS test failed or the VM could not run (exit {:?}; 124 timeout, 125 VM died, 126 setup error)",
        status.code()
    );
}

// ===== helpers =====

fn tcp(addr: &str, port: u16) -> ServiceKey {
    key(Protocol::Tcp, addr, port)
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("{cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sorted(mut t: Table) -> Table {
    t.services.sort_by_key(|e| e.service.key);
    for s in &mut t.services {
        s.dests.sort_by_key(|d| d.key);
    }
    t
}

fn kernel_errno(r: &Result<Applied, OpError>) -> Option<i32> {
    match r {
        Err(e) => e.errno(),
        Ok(_) => None,
    }
}

fn all_done(results: &[Result<Applied, OpError>], ctx: &str) {
    for r in results {
        assert_eq!(r, &Ok(Applied::Done), "{ctx}");
    }
}

// ===== in the VM =====

const SCHEDULERS: [&str; 14] = [
    "rr", "wrr", "lc", "wlc", "lblc", "lblcr", "dh", "sh", "sed", "nq", "fo", "ovf", "mh", "twos",
];

fn kernel_has_scheduler(name: &str) -> bool {
    let release = sh("uname -r");
    let dir = format!("/lib/modules/{}/kernel/net/netfilter/ipvs", release.trim());
    std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(Result::ok)
        .any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("ip_vs_{name}.ko"))
        })
}

fn in_vm() {
    let t0 = Instant::now();
    let mut ipvs = match Ipvs::open() {
        Ok(i) => i,
        Err(e) => panic!("cannot open IPVS in the VM: {e}"),
    };
    eprintln!(
        "opened IPVS family {} in {:.1?}",
        ipvs.family_id(),
        t0.elapsed()
    );
    let info = ipvs.info().expect("info");
    eprintln!("info: {info:?}");
    assert_eq!(info.version, 0x010201, "IPVS version");
    assert!(info.conn_tab_size > 0);

    all_done(&ipvs.apply(&[Op::Flush]), "flush");
    assert_eq!(ipvs.dump().expect("dump"), Table::default());

    table_checks(&mut ipvs);
    change_checks(&mut ipvs);
    config_checks(&mut ipvs);
    error_checks(&mut ipvs);
    bench(&mut ipvs);
    if std::env::var_os(CAPTURE).is_some() {
        common::capture::run(&mut ipvs);
    }
    eprintln!("in-VM checks done in {:.1?}", t0.elapsed());
}

/// Services and destinations of every kind, in one batch, with two bad
/// ops in the middle that must fail alone.
fn table_checks(ipvs: &mut Ipvs) {
    let web = tcp("192.0.2.1", 80);
    let dns6 = key(Protocol::Udp, "2001:db8::1", 53);
    let sctp = key(Protocol::Sctp, "192.0.2.2", 3868);
    let fw4 = ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 1,
    };
    let fw6 = ServiceKey::Fwmark {
        family: Family::Inet6,
        mark: 1,
    };
    let mut want: Vec<ServiceEntry> = Vec::new();
    let mut entry = |service: Service, dests: Vec<Destination>| {
        want.push(ServiceEntry { service, dests });
    };

    let mut nat = dest("192.0.2.10", 8080, Forward::Masq, 3);
    nat.u_threshold = 100;
    nat.l_threshold = 10;
    let mut gue = dest("192.0.2.13", 80, Forward::Tunnel, 2);
    gue.tunnel = Some(Tunnel {
        tun_type: TunnelType::Gue,
        port: 6080,
        flags: 1,
    });
    let mut gre = dest("192.0.2.14", 80, Forward::Tunnel, 2);
    gre.tunnel = Some(Tunnel {
        tun_type: TunnelType::Gre,
        port: 0,
        flags: 1,
    });
    entry(
        service(web, "wrr"),
        vec![
            nat,
            dest("192.0.2.11", 80, Forward::Route, 0),
            dest("192.0.2.12", 80, Forward::Tunnel, 1),
            gue,
            gre,
        ],
    );
    let mut s = service(dns6, "rr");
    s.flags = svc_flags::ONEPACKET;
    entry(
        s,
        vec![
            dest("2001:db8::10", 53, Forward::Masq, 1),
            // Another family behind a tunnel is allowed.
            dest("192.0.2.50", 53, Forward::Tunnel, 1),
        ],
    );
    let mut s = service(sctp, "sh");
    s.flags = svc_flags::SCHED1 | svc_flags::SCHED2;
    entry(s, vec![dest("192.0.2.20", 3868, Forward::Route, 1)]);
    entry(
        service(fw4, "rr"),
        vec![dest("192.0.2.21", 0, Forward::Route, 1)],
    );
    entry(
        service(fw6, "rr"),
        vec![dest("2001:db8::21", 0, Forward::Route, 1)],
    );
    let mut s = service(tcp("192.0.2.3", 443), "wlc");
    s.flags = svc_flags::PERSISTENT;
    s.timeout = 300;
    s.netmask = 0xffff_ff00;
    entry(s, vec![]);
    let mut s = service(tcp("2001:db8::3", 443), "wlc");
    s.flags = svc_flags::PERSISTENT;
    s.timeout = 300;
    s.netmask = 64;
    entry(s, vec![]);
    let mut s = service(key(Protocol::Udp, "192.0.2.4", 5060), "rr");
    s.flags = svc_flags::PERSISTENT;
    s.timeout = 60;
    s.pe_name = Some("sip".to_owned());
    entry(s, vec![]);
    let mut s = service(tcp("192.0.2.5", 80), "mh");
    s.flags = svc_flags::SCHED1 | svc_flags::SCHED2;
    entry(s, vec![]);
    // Every scheduler the kernel may have; those it lacks must fail alone.
    let mut missing = Vec::new();
    for (i, name) in SCHEDULERS.iter().enumerate() {
        let s = service(tcp("198.51.100.1", 1000 + i as u16), name);
        if kernel_has_scheduler(name) {
            entry(s, vec![dest("198.51.100.2", 80, Forward::Masq, 1)]);
        } else {
            missing.push(s);
        }
    }
    eprintln!(
        "schedulers this kernel lacks: {:?}",
        missing.iter().map(|s| &s.scheduler).collect::<Vec<_>>()
    );

    let mut ops = Vec::new();
    for e in &want {
        ops.push(Op::AddService(e.service.clone()));
        for d in &e.dests {
            ops.push(Op::AddDest(e.service.key, d.clone()));
        }
    }
    // The bad ones, in the middle of the batch.
    let bad_sched = service(tcp("192.0.2.9", 80), "nosuch");
    let v4_dest_nat = dest("192.0.2.51", 53, Forward::Masq, 1);
    let long_name = service(tcp("192.0.2.9", 81), "a-scheduler-name-too-long");
    let mid = ops.len() / 2;
    ops.insert(mid, Op::AddService(bad_sched.clone()));
    ops.insert(mid + 1, Op::AddDest(dns6, v4_dest_nat));
    ops.insert(mid + 2, Op::AddService(long_name));
    let first_missing = ops.len();
    ops.extend(missing.iter().cloned().map(Op::AddService));

    let started = Instant::now();
    let results = ipvs.apply(&ops);
    eprintln!("applied {} ops in {:.1?}", ops.len(), started.elapsed());
    assert_eq!(results.len(), ops.len());
    for (i, (op, r)) in ops.iter().zip(&results).enumerate() {
        match i {
            _ if i == mid => {
                assert_eq!(kernel_errno(r), Some(nix::libc::ENOENT), "{op:?}: {r:?}");
                let msg = r.as_ref().map(|_| ()).expect_err("must fail").to_string();
                assert!(
                    msg.contains("-t 192.0.2.9:80") && msg.contains("nosuch"),
                    "{msg}"
                );
                eprintln!("expected error: {msg}");
            }
            _ if i == mid + 1 => {
                assert_eq!(kernel_errno(r), Some(nix::libc::EINVAL), "{op:?}: {r:?}");
                let msg = r.as_ref().map(|_| ()).expect_err("must fail").to_string();
                assert!(
                    msg.contains("[2001:db8::1]:53") && msg.contains("192.0.2.51"),
                    "{msg}"
                );
                eprintln!("expected error: {msg}");
            }
            _ if i == mid + 2 => {
                assert!(
                    matches!(
                        r,
                        Err(OpError {
                            kind: OpErrorKind::Invalid(_),
                            ..
                        })
                    ),
                    "{r:?}"
                );
            }
            _ if i >= first_missing => {
                assert_eq!(kernel_errno(r), Some(nix::libc::ENOENT), "{op:?}: {r:?}");
            }
            _ => assert_eq!(r, &Ok(Applied::Done), "{op:?}"),
        }
    }

    let want = sorted(Table { services: want });
    let got = sorted(ipvs.dump().expect("dump"));
    pretty_assertions::assert_eq!(got, want, "our dump");

    // ipvsadm's view of the same table, byte for byte (it does not print
    // thresholds).
    pretty_assertions::assert_eq!(sh("ipvsadm -Sn"), render_save(&want), "ipvsadm -Sn");
    // And thresholds through ipvsadm's listing.
    let thresholds = sh("ipvsadm -Ln --thresholds -t 192.0.2.1:80");
    assert!(
        thresholds
            .lines()
            .any(|l| l.contains("192.0.2.10:8080") && l.contains(" 100 ") && l.contains(" 10 ")),
        "{thresholds}"
    );
}

/// Edits, deletes, and the idempotent flavours.
fn change_checks(ipvs: &mut Ipvs) {
    let web = tcp("192.0.2.1", 80);
    let mut d = dest("192.0.2.10", 8080, Forward::Masq, 7);
    d.u_threshold = 100;
    d.l_threshold = 10;
    let mut s = service(web, "wlc");
    s.flags = svc_flags::PERSISTENT;
    s.timeout = 120;
    all_done(
        &ipvs.apply(&[Op::SetDest(web, d.clone()), Op::SetService(s.clone())]),
        "set",
    );
    let t = ipvs.dump().expect("dump");
    let e = t
        .services
        .iter()
        .find(|e| e.service.key == web)
        .expect("web service");
    assert_eq!(e.service, s);
    assert!(e.dests.contains(&d), "{:?}", e.dests);
    assert!(sh("ipvsadm -Sn").contains("-a -t 192.0.2.1:80 -r 192.0.2.10:8080 -m -w 7"));

    let gone = DestKey {
        addr: "192.0.2.11".parse().expect("addr"),
        port: 80,
    };
    let fw4 = ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 1,
    };
    let r = ipvs.apply(&[
        Op::DelDest(web, gone),
        Op::DelDest(web, gone),
        Op::DelService(fw4),
        Op::DelService(fw4),
        Op::DelDest(fw4, gone),
        Op::AddService(s.clone()),
        Op::AddDest(web, d.clone()),
        Op::SetDest(fw4, d.clone()),
        Op::AddDest(fw4, d.clone()),
    ]);
    assert_eq!(r[0], Ok(Applied::Done));
    assert_eq!(r[1], Ok(Applied::AlreadyGone));
    assert_eq!(r[2], Ok(Applied::Done));
    assert_eq!(r[3], Ok(Applied::AlreadyGone));
    assert_eq!(r[4], Ok(Applied::AlreadyGone));
    assert_eq!(r[5], Ok(Applied::AlreadyThere));
    assert_eq!(r[6], Ok(Applied::AlreadyThere));
    assert_eq!(kernel_errno(&r[7]), Some(nix::libc::ESRCH), "{:?}", r[7]);
    assert_eq!(kernel_errno(&r[8]), Some(nix::libc::ESRCH), "{:?}", r[8]);
    let saved = sh("ipvsadm -Sn");
    assert!(
        !saved.contains("192.0.2.11:80") && !saved.contains("-A -f 1 -s"),
        "{saved}"
    );

    // Zero the counters: all, then one service.
    ipvs.zero(None).expect("zero all");
    ipvs.zero(Some(&web)).expect("zero one");
    match ipvs.zero(Some(&fw4)) {
        Err(Error::Kernel { errno, .. }) => assert_eq!(errno, nix::libc::ESRCH),
        other => panic!("zero of a missing service: {other:?}"),
    }
    let status = ipvs.dump_status().expect("dump status");
    assert!(status.iter().all(|s| s.stats.conns == 0));
}

/// Timeouts and the sync daemon.
fn config_checks(ipvs: &mut Ipvs) {
    // The kernel refuses sync daemons (EINVAL) while any destination has
    // another family than its service, and table_checks made one.
    all_done(&ipvs.apply(&[Op::Flush]), "flush");
    let before = ipvs.timeouts().expect("timeouts");
    assert_eq!(
        before,
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    let t = Timeouts {
        tcp: 7200,
        tcp_fin: 60,
        udp: 0,
    };
    all_done(&ipvs.apply(&[Op::SetTimeouts(t)]), "timeouts");
    assert_eq!(
        ipvs.timeouts().expect("timeouts"),
        Timeouts { udp: 300, ..t }
    );
    assert!(sh("ipvsadm -Ln --timeout").contains("7200 60 300"));
    all_done(&ipvs.apply(&[Op::SetTimeouts(before)]), "timeouts back");

    sh(
        "ip link add kalrs0 type dummy && ip link set kalrs0 multicast on up && ip addr add 192.0.2.200/24 dev kalrs0 && ip route add 224.0.0.0/4 dev kalrs0",
    );
    let master = SyncDaemon {
        state: SyncState::Master,
        interface: "kalrs0".to_owned(),
        sync_id: 7,
        max_len: None,
        group: None,
        port: None,
        ttl: None,
    };
    let backup = SyncDaemon {
        state: SyncState::Backup,
        sync_id: 8,
        ..master.clone()
    };
    let r = ipvs.apply(&[
        Op::StartDaemon(master.clone()),
        Op::StartDaemon(master.clone()),
        Op::StartDaemon(backup.clone()),
    ]);
    assert_eq!(
        r,
        vec![
            Ok(Applied::Done),
            Ok(Applied::AlreadyThere),
            Ok(Applied::Done)
        ]
    );
    // Debian's 6.1 under TCG hung in the stop (kthread_stop) when it came
    // a few milliseconds after the start; a real daemon never does that.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let running = ipvs.daemons().expect("daemons");
    eprintln!("sync daemons: {running:?}");
    assert_eq!(running.len(), 2);
    for (want, got) in [&master, &backup].iter().zip(&running) {
        assert_eq!(got.state, want.state);
        assert_eq!(got.interface, want.interface);
        assert_eq!(got.sync_id, want.sync_id);
    }
    let listed = sh("ipvsadm -L --daemon");
    assert!(
        listed.contains("master sync daemon (mcast=kalrs0, syncid=7"),
        "{listed}"
    );
    let r = ipvs.apply(&[
        Op::StopDaemon(SyncState::Master),
        Op::StopDaemon(SyncState::Master),
        Op::StopDaemon(SyncState::Backup),
    ]);
    assert_eq!(
        r,
        vec![
            Ok(Applied::Done),
            Ok(Applied::AlreadyGone),
            Ok(Applied::Done)
        ]
    );
    assert!(ipvs.daemons().expect("daemons").is_empty());
    sh("ip link del kalrs0");
}

fn error_checks(ipvs: &mut Ipvs) {
    all_done(&ipvs.apply(&[Op::Flush]), "flush");
    assert!(ipvs.dump().expect("dump").services.is_empty());
    assert_eq!(sh("ipvsadm -Sn"), "");
    let r = ipvs.apply(&[Op::AddDest(
        tcp("192.0.2.1", 80),
        dest("192.0.2.10", 80, Forward::Masq, 1),
    )]);
    let e = r[0].as_ref().map(|_| ()).expect_err("must fail");
    assert_eq!(e.errno(), Some(nix::libc::ESRCH));
    assert!(e.to_string().contains("-t 192.0.2.1:80"), "{e}");
}

/// N services x 10 destinations in one apply: 1000 by default (the whole
/// test stays well under a minute under TCG), 10 000 with
/// `KALRS_IPVS_BENCH=full` on the host.
fn bench(ipvs: &mut Ipvs) {
    let n: u16 = if std::env::var("KALRS_IPVS_BENCH").as_deref() == Ok("full") {
        10_000
    } else {
        1_000
    };
    let mut ops = Vec::with_capacity(usize::from(n) * 11);
    for i in 0..n {
        let key = tcp("203.0.113.1", 1 + i);
        ops.push(Op::AddService(service(key, "wlc")));
        for j in 0..10u8 {
            ops.push(Op::AddDest(
                key,
                dest(&format!("198.51.100.{}", 1 + j), 80, Forward::Route, 1),
            ));
        }
    }
    let started = Instant::now();
    let results = ipvs.apply(&ops);
    let took = started.elapsed();
    let failed = results.iter().filter(|r| r.is_err()).count();
    assert_eq!(
        failed,
        0,
        "first failure: {:?}",
        results.iter().find(|r| r.is_err())
    );
    eprintln!(
        "BENCH apply {} ops ({n} services x 10 dests): {:.2?} ({:.0} ops/s)",
        ops.len(),
        took,
        ops.len() as f64 / took.as_secs_f64()
    );
    let started = Instant::now();
    let table = ipvs.dump().expect("dump");
    eprintln!("BENCH dump of {n} x 10: {:.2?}", started.elapsed());
    assert_eq!(table.services.len(), usize::from(n));
    assert!(table.services.iter().all(|s| s.dests.len() == 10));
    let started = Instant::now();
    let deletes: Vec<Op> = table
        .services
        .iter()
        .map(|s| Op::DelService(s.service.key))
        .collect();
    let r = ipvs.apply(&deletes);
    assert!(r.iter().all(|r| r == &Ok(Applied::Done)));
    eprintln!("BENCH delete {n} services: {:.2?}", started.elapsed());
    assert!(ipvs.dump().expect("dump").services.is_empty());
}
