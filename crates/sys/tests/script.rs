// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Script execution: exit codes, timeout killing the whole group, user
//! switch, environment and stdio.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::scripts::{rt, write_script};

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use keepalived_sys::script::{ScriptOutcome, ScriptSpec, ScriptUser, run, spawn};

/// Alive and not a zombie.
fn running(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .map(|(_, rest)| rest.trim_start().starts_with('Z'))
            .unwrap_or(false),
        Err(_) => false,
    }
}

#[test]
fn exit_codes_are_returned() {
    let rt = rt();
    for code in [0, 1, 3, 42] {
        let spec = ScriptSpec::new(["/bin/sh", "-c", &format!("exit {code}")]);
        assert_eq!(
            rt.block_on(run(&spec)).unwrap(),
            ScriptOutcome::Exited(code)
        );
    }
    let spec = ScriptSpec::new(["/bin/sh", "-c", "kill -USR1 $$"]);
    assert_eq!(
        rt.block_on(run(&spec)).unwrap(),
        ScriptOutcome::Signaled(libc::SIGUSR1)
    );
    assert!(
        rt.block_on(run(&ScriptSpec::new(["/nonexistent/x"])))
            .is_err()
    );
    assert!(
        rt.block_on(run(&ScriptSpec::new(Vec::<String>::new())))
            .is_err()
    );
}

#[test]
fn timeout_kills_the_script_and_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // A child in the background plus one in the foreground, like a script
    // that starts helpers.
    let script = write_script(
        dir.path(),
        "slow.sh",
        &format!(
            "sleep 100 &\necho $! > {p}.bg\necho $$ > {p}.sh\nsleep 100",
            p = pids.display()
        ),
    );
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.timeout = Some(Duration::from_millis(700));
    let rt = rt();
    let started = Instant::now();
    let outcome = rt.block_on(run(&spec)).unwrap();
    let took = started.elapsed();
    assert_eq!(outcome, ScriptOutcome::TimedOut);
    assert!(
        took >= Duration::from_millis(700),
        "returned early: {took:?}"
    );
    assert!(
        took < Duration::from_millis(700 + 1000),
        "kill took {took:?}"
    );
    let read_pid = |suffix: &str| -> i32 {
        let path = format!("{}.{suffix}", pids.display());
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{path}: {e}"))
            .trim()
            .parse()
            .unwrap()
    };
    let (bg, sh) = (read_pid("bg"), read_pid("sh"));
    // Orphans are reaped by init asynchronously: allow a moment.
    let deadline = Instant::now() + Duration::from_millis(500);
    while (running(bg) || running(sh)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!running(sh), "script {sh} survived");
    assert!(!running(bg), "background child {bg} survived");
}

#[test]
fn script_runs_in_its_own_process_group_with_dev_null_stdio_and_inherited_env() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = write_script(
        dir.path(),
        "probe.sh",
        &format!(
            "fds=$(readlink /proc/$$/fd/0 /proc/$$/fd/1 /proc/$$/fd/2)\n\
             {{ ps -o pgid= -p $$; echo \"$KA_TEST_VAR\"; echo \"$PATH\"; echo \"$fds\"; }} > {}",
            out.display()
        ),
    );
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.env.push(("KA_TEST_VAR".into(), "hello".into()));
    let rt = rt();
    let running = rt.block_on(spawn(&spec)).unwrap();
    let pid = running.pid();
    assert_eq!(
        rt.block_on(running.wait()).unwrap(),
        ScriptOutcome::Exited(0)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert_eq!(lines[0], pid.to_string(), "pgid == pid");
    assert_eq!(lines[1], "hello");
    assert_eq!(
        lines[2],
        std::env::var("PATH").unwrap_or_default(),
        "environment inherited"
    );
    assert_eq!(&lines[3..6], &["/dev/null", "/dev/null", "/dev/null"]);
}

#[test]
fn user_switch_is_observed() {
    common::require_root();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.path().join("id");
    let script = write_script(
        dir.path(),
        "id.sh",
        &format!("echo \"$(id -u) $(id -g) $(id -G)\" > {}", out.display()),
    );
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.user = Some(ScriptUser {
        uid: 65534,
        gid: 65534,
        groups: vec![65534],
    });
    assert_eq!(rt().block_on(run(&spec)).unwrap(), ScriptOutcome::Exited(0));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        "65534 65534 65534"
    );
}

/// The daemon blocks SIGTERM (it reads it from a signalfd) and a blocked
/// mask survives exec: the script must still die of the timeout's
/// SIGTERM, not wait for the SIGKILL after the grace period.
#[test]
fn timeout_sigterm_reaches_a_script_started_with_sigterm_blocked() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let mut blocked = SigSet::empty();
    blocked.add(Signal::SIGTERM);
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut old)).unwrap();
    let mut spec = ScriptSpec::new(["/bin/sleep", "100"]);
    spec.timeout = Some(Duration::from_millis(300));
    spec.kill_grace = Duration::from_secs(5);
    let rt = rt();
    let started = Instant::now();
    let outcome = rt.block_on(run(&spec)).unwrap();
    let took = started.elapsed();
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
    assert_eq!(outcome, ScriptOutcome::TimedOut);
    assert!(
        took < Duration::from_secs(2),
        "SIGTERM was not delivered: the run ended after {took:?} (grace 5 s)"
    );
}

/// What a run leaves behind carries the spawner's mark, and
/// `leftovers_of` finds it (the supervisor's cleanup after a crashed
/// child relies on it); a process of someone else is not found.
#[test]
fn leftovers_are_found_by_the_spawners_mark() {
    use keepalived_sys::script::{SPAWNED_BY, leftovers_of};
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("bg.pid");
    let script = write_script(
        dir.path(),
        "leaves.sh",
        // setsid: out of the run's process group, which the runner kills
        // when the script exits; the mark is in its environment all the
        // same. The leftover writes its own pid once it is in its new
        // session, and the script waits for that before it exits: exiting
        // first raced the group kill (a starved machine killed the
        // leftover before its setsid).
        &format!(
            "setsid sh -c 'echo $$ > {p}.new; mv {p}.new {p}; exec sleep 30' &\n\
             while [ ! -s {p} ]; do sleep 0.01; done\nexit 0",
            p = pidfile.display()
        ),
    );
    let spec = ScriptSpec::new([script.as_os_str()]);
    let rt = rt();
    assert_eq!(rt.block_on(run(&spec)).unwrap(), ScriptOutcome::Exited(0));
    let bg: u32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut other = std::process::Command::new("sleep")
        .arg("30")
        .env(SPAWNED_BY, "1")
        .spawn()
        .unwrap();
    let found = leftovers_of(std::process::id());
    let other_pid = other.id();
    let _ = other.kill();
    let _ = other.wait();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(bg).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert!(found.contains(&bg), "{bg} not in {found:?}");
    assert!(!found.contains(&other_pid), "someone else's process found");
}
