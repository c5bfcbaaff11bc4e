// SPDX-License-Identifier: Apache-2.0 OR MIT
//! MISC_CHECK: real scripts through crates/sys's runner.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{config_from, one_checker, runtime, spec_from};
use keepalived_probe::{Kind, ScriptEnd, Spec, Verdict, run};

fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, body).expect("write");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    p
}

fn misc(path: &str, extra: &str) -> Spec {
    spec_from(&one_checker(
        "127.0.0.1",
        80,
        &format!("MISC_CHECK {{\n misc_path \"{path}\"\n {extra}\n}}"),
    ))
    .expect("spec")
}

#[test]
fn exit_codes_and_dynamic_weight() {
    let d = tempfile::tempdir().expect("tmp");
    let s = |code: i32| {
        script(
            d.path(),
            &format!("exit{code}.sh"),
            &format!("#!/bin/sh\nexit {code}\n"),
        )
    };
    let rt = runtime();
    let (e0, e1, e7) = (s(0), s(1), s(7));
    let p = |p: &PathBuf| p.to_string_lossy().into_owned();
    assert_eq!(
        rt.block_on(run(&misc(&p(&e0), ""))).verdict,
        Verdict::Success
    );
    let r = rt.block_on(run(&misc(&p(&e1), "")));
    assert_eq!(
        (r.verdict, r.script),
        (Verdict::Failure, Some(ScriptEnd::Exited(1)))
    );
    assert_eq!(
        rt.block_on(run(&misc(&p(&e7), ""))).verdict,
        Verdict::Failure
    );
    assert_eq!(
        rt.block_on(run(&misc(&p(&e7), "misc_dynamic"))).verdict,
        Verdict::SuccessWithWeight(5)
    );
    assert_eq!(
        rt.block_on(run(&misc(&p(&e1), "misc_dynamic"))).verdict,
        Verdict::Failure
    );
    assert_eq!(
        rt.block_on(run(&misc(&p(&e0), "misc_dynamic"))).verdict,
        Verdict::Success
    );
    // Arguments are split as keepalived splits them.
    let args = script(
        d.path(),
        "args.sh",
        "#!/bin/sh\n[ \"$1\" = 'a b' ] && [ \"$2\" = c ]\n",
    );
    assert_eq!(
        rt.block_on(run(&misc(&format!("{} 'a b' c", p(&args)), "")))
            .verdict,
        Verdict::Success
    );
}

fn processes_in_group(pgid: i32) -> Vec<i32> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").expect("proc").flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the ")" of the command: state ppid pgrp ...
        let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(2).and_then(|g| g.parse::<i32>().ok()) == Some(pgid) {
            v.push(pid);
        }
    }
    v
}

fn pid_alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            !s.rsplit_once(')')
                .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

#[test]
fn a_hung_script_is_killed_at_misc_timeout_with_its_children() {
    let d = tempfile::tempdir().expect("tmp");
    let pidfile = d.path().join("pids");
    // Ignores SIGTERM, and has a child that does too: only the SIGKILL
    // 2 s after the SIGTERM ends them.
    let s = script(
        d.path(),
        "hang.sh",
        &format!(
            "#!/bin/sh\ntrap '' TERM\nsleep 1000 &\necho $$ $! > {}\nwhile :; do sleep 1; done\n",
            pidfile.display()
        ),
    );
    let start = Instant::now();
    let r = runtime().block_on(run(&misc(&s.to_string_lossy(), "misc_timeout 1")));
    let took = start.elapsed();
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "timed out")
    );
    assert_eq!(r.script, Some(ScriptEnd::TimedOut));
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_millis(4500),
        "{took:?}"
    );
    let pids = std::fs::read_to_string(&pidfile).expect("pids");
    let pids: Vec<i32> = pids
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(pids.len(), 2);
    std::thread::sleep(Duration::from_millis(100));
    for p in &pids {
        assert!(!pid_alive(*p), "pid {p} survived");
    }
    // Zombies whose parent is init are init's to reap (they were
    // reparented when the script died); anything alive, or a zombie of
    // ours, is a leak.
    let me = std::process::id().to_string();
    let left: Vec<String> = processes_in_group(pids[0])
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
        .filter(|st| {
            let f: Vec<&str> = st
                .rsplit_once(')')
                .map_or("", |(_, r)| r)
                .split_whitespace()
                .collect();
            f.first() != Some(&"Z") || f.get(1) == Some(&me.as_str())
        })
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn a_script_that_obeys_sigterm_ends_at_the_timeout() {
    let d = tempfile::tempdir().expect("tmp");
    let s = script(d.path(), "sleep.sh", "#!/bin/sh\nexec sleep 1000\n");
    let start = Instant::now();
    let r = runtime().block_on(run(&misc(&s.to_string_lossy(), "misc_timeout 1")));
    assert_eq!(r.verdict, Verdict::Failure);
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn a_forked_daemon_is_not_left_behind() {
    let d = tempfile::tempdir().expect("tmp");
    let pidfile = d.path().join("pid");
    let s = script(
        d.path(),
        "daemon.sh",
        &format!(
            "#!/bin/sh\nsleep 1000 &\necho $! > {}\nexit 0\n",
            pidfile.display()
        ),
    );
    let r = runtime().block_on(run(&misc(&s.to_string_lossy(), "")));
    assert_eq!(r.verdict, Verdict::Success);
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    std::thread::sleep(Duration::from_millis(100));
    assert!(!pid_alive(pid), "the forked sleep {pid} survived");
}

#[test]
fn megabytes_of_output_are_discarded() {
    let d = tempfile::tempdir().expect("tmp");
    let s = script(
        d.path(),
        "loud.sh",
        "#!/bin/sh\nhead -c 50000000 /dev/zero\nhead -c 5000000 /dev/zero >&2\nexit 0\n",
    );
    let start = Instant::now();
    let r = runtime().block_on(run(&misc(&s.to_string_lossy(), "misc_timeout 20")));
    assert_eq!(r.verdict, Verdict::Success);
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn scripts_without_shebang_run_through_the_shell() {
    let d = tempfile::tempdir().expect("tmp");
    let s = script(d.path(), "plain", "exit 3\n");
    assert_eq!(
        runtime()
            .block_on(run(&misc(&s.to_string_lossy(), "misc_dynamic")))
            .verdict,
        Verdict::SuccessWithWeight(1)
    );
}

#[test]
fn a_script_that_cannot_start_is_a_local_error() {
    let r = runtime().block_on(run(&misc("/nonexistent/check.sh", "")));
    assert_eq!(r.verdict, Verdict::LocalError, "{r:?}");
}

#[test]
fn misc_timeout_defaults_to_the_virtual_servers_delay_loop() {
    let text = "virtual_server 192.0.2.10 80 {\n delay_loop 7\n protocol TCP\n real_server 127.0.0.1 80 {\n delay_loop 2\n MISC_CHECK {\n misc_path /bin/true\n delay_loop 3\n }\n }\n}\n";
    let (config, _) = config_from(text);
    let vs = &config.virtual_servers[0];
    let rs = &vs.real_servers[0];
    let spec = Spec::from_config(&config, vs, rs, &rs.checkers[0]).expect("spec");
    let Kind::Misc(m) = &spec.kind else {
        panic!("not misc")
    };
    assert_eq!(m.timeout, Duration::from_secs(7));
}

#[test]
fn identity_is_argv_user_and_dynamic_not_the_timeout() {
    let a = misc("/bin/true x", "misc_timeout 3");
    let b = misc("/bin/true x", "misc_timeout 9");
    let c = misc("/bin/true y", "");
    let e = misc("/bin/true x", "misc_dynamic");
    assert_eq!(a.key(), b.key());
    assert_ne!(a.share_key(), b.share_key());
    assert_ne!(a.key(), c.key());
    assert_ne!(a.key(), e.key());
}

#[test]
fn an_abandoned_run_stops_its_script() {
    let d = tempfile::tempdir().expect("tmp");
    let pidfile = d.path().join("pid");
    let s = script(
        d.path(),
        "long.sh",
        &format!(
            "#!/bin/sh\necho $$ > {}\nexec sleep 1000\n",
            pidfile.display()
        ),
    );
    let spec = misc(&s.to_string_lossy(), "misc_timeout 100");
    let rt = runtime();
    // The engine drops the run (a reload): the future is cancelled.
    let r =
        rt.block_on(async { tokio::time::timeout(Duration::from_millis(500), run(&spec)).await });
    assert!(r.is_err(), "the script cannot have finished");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("pid");
    // Let tokio's orphan reaper run, then look.
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(300)).await });
    assert!(
        !pid_alive(pid),
        "script {pid} still running after its run was dropped"
    );
}
