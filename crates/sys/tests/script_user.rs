// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Scripts run as another user (`nobody`) through the clone-based spawn:
//! the ids and groups the script really has, exec and credential
//! failures reported with nothing left behind, the timeout killing the
//! group, the signal state and the descriptors the script inherits.
//!
//! The tests of this file take one lock: "no zombie child" and "no
//! leaked descriptor" are properties of the whole test process, which
//! another test's run in flight would blur.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::scripts::{open_dir, rt, stat_fields, write_file, write_script, zombie_children};

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use keepalived_sys::script::{ScriptError, ScriptOutcome, ScriptSpec, ScriptUser, run};

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;
/// Debian's `users` group, as a second supplementary group.
const USERS: u32 = 100;

static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn nobody() -> ScriptUser {
    ScriptUser {
        uid: NOBODY,
        gid: NOGROUP,
        groups: vec![NOGROUP, USERS],
    }
}

fn alive(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().map(String::as_str) != Some("Z"))
}

fn line_of<'a>(status: &'a str, key: &str) -> &'a str {
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {status}"))
        .trim()
}

/// The script sees the uid and gid asked for in all four slots (real,
/// effective, saved, filesystem) and exactly the groups asked for.
#[test]
fn script_gets_the_asked_uid_gid_and_groups() {
    common::require_root();
    let _serial = serial();
    let dir = open_dir();
    let out = dir.path().join("status");
    let script = write_script(
        dir.path(),
        "ids.sh",
        &format!("cat /proc/$$/status > {}", out.display()),
    );
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.user = Some(nobody());
    assert_eq!(rt().block_on(run(&spec)).unwrap(), ScriptOutcome::Exited(0));
    let status = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        line_of(&status, "Uid:")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["65534"; 4]
    );
    assert_eq!(
        line_of(&status, "Gid:")
            .split_whitespace()
            .collect::<Vec<_>>(),
        ["65534"; 4]
    );
    let mut groups: Vec<&str> = line_of(&status, "Groups:").split_whitespace().collect();
    groups.sort_unstable();
    assert_eq!(groups, ["100", "65534"]);
    // Nothing of root's power is left.
    assert_eq!(line_of(&status, "CapEff:"), "0000000000000000");

    // Empty groups clear them.
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.user = Some(ScriptUser {
        groups: Vec::new(),
        ..nobody()
    });
    assert_eq!(rt().block_on(run(&spec)).unwrap(), ScriptOutcome::Exited(0));
    let status = std::fs::read_to_string(&out).unwrap();
    assert_eq!(line_of(&status, "Groups:"), "");
}

/// Exec failures come back as the exec's errno, checked as the user the
/// script runs as, and the failed process is already reaped.
#[test]
fn exec_failures_are_reported_and_reaped() {
    common::require_root();
    let _serial = serial();
    let dir = open_dir();
    // Only root may enter: `nobody` cannot exec what is inside.
    let private = dir.path().join("private");
    std::fs::create_dir(&private).unwrap();
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).unwrap();
    let hidden = write_script(&private, "ok.sh", "exit 0");
    let no_shebang = write_file(dir.path(), "plain", "exit 0\n", 0o755);
    let not_executable = write_file(dir.path(), "noexec.sh", "#!/bin/sh\nexit 0\n", 0o644);
    let cases: [(&Path, Option<ScriptUser>, i32); 5] = [
        (&hidden, Some(nobody()), libc::EACCES),
        (Path::new("/nonexistent/x"), Some(nobody()), libc::ENOENT),
        // As nobody, a PATH entry under /root would give EACCES, as
        // execvp does.
        (Path::new("no-such-program-in-path"), None, libc::ENOENT),
        (&no_shebang, Some(nobody()), libc::ENOEXEC),
        (&not_executable, None, libc::EACCES),
    ];
    let rt = rt();
    for (program, user, errno) in cases {
        let mut spec = ScriptSpec::new([program.as_os_str()]);
        spec.user = user.clone();
        match rt.block_on(run(&spec)) {
            Err(ScriptError::Spawn { source, .. }) => {
                assert_eq!(
                    source.raw_os_error(),
                    Some(errno),
                    "{program:?} as {user:?}: {source}"
                );
            }
            other => panic!("{program:?} as {user:?}: {other:?}"),
        }
        assert_eq!(zombie_children(), Vec::<u32>::new(), "after {program:?}");
    }
    // Root itself may run it: the failure above was nobody's.
    assert_eq!(
        rt.block_on(run(&ScriptSpec::new([hidden.as_os_str()])))
            .unwrap(),
        ScriptOutcome::Exited(0)
    );
}

/// The timeout kills the group of a script run as another user, its
/// background child included.
#[test]
fn timeout_kills_the_group_of_a_script_run_as_nobody() {
    common::require_root();
    let _serial = serial();
    let dir = open_dir();
    let pids = dir.path().join("pids");
    let script = write_script(
        dir.path(),
        "slow.sh",
        &format!("sleep 100 &\necho $! $$ > {}\nsleep 100", pids.display()),
    );
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.user = Some(nobody());
    spec.timeout = Some(Duration::from_millis(700));
    let started = Instant::now();
    assert_eq!(rt().block_on(run(&spec)).unwrap(), ScriptOutcome::TimedOut);
    assert!(
        started.elapsed() < Duration::from_millis(700 + 1500),
        "kill took {:?}",
        started.elapsed()
    );
    let text = std::fs::read_to_string(&pids).unwrap();
    let both: Vec<u32> = text
        .split_whitespace()
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(both.len(), 2, "{text}");
    let deadline = Instant::now() + Duration::from_millis(500);
    while both.iter().any(|p| alive(*p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    for pid in both {
        assert!(!alive(pid), "{pid} survived");
    }
    assert_eq!(zombie_children(), Vec::<u32>::new());
}

/// Nothing ignored or blocked reaches the script (Rust ignores SIGPIPE in
/// every program, and the daemon blocks what it reads from a signalfd);
/// a descriptor opened without O_CLOEXEC does not reach it either.
#[test]
fn script_starts_with_clean_signals_and_only_stdio() {
    use nix::sys::signal::{SigSet, SigmaskHow, Signal, pthread_sigmask};
    let _serial = serial();
    let dir = open_dir();
    let out = dir.path().join("out");
    // dup() gives a copy without O_CLOEXEC.
    let leaked = nix::unistd::dup(std::io::stdin()).unwrap();
    let n = std::os::fd::AsRawFd::as_raw_fd(&leaked);
    let script = write_script(
        dir.path(),
        "sig.sh",
        &format!(
            // Builtins, then exec: the shell blocks every signal while
            // it forks, which would show in its own status.
            "if [ -e /proc/$$/fd/{n} ]; then echo leaked; else echo clean; fi > {o}.fd\n\
             exec grep -E '^Sig(Ign|Blk)' /proc/self/status > {o}",
            o = out.display()
        ),
    );
    let mut blocked = SigSet::empty();
    blocked.add(Signal::SIGTERM);
    blocked.add(Signal::SIGHUP);
    let mut old = SigSet::empty();
    pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&blocked), Some(&mut old)).unwrap();
    let result = rt().block_on(run(&ScriptSpec::new([script.as_os_str()])));
    pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None).unwrap();
    drop(leaked);
    assert_eq!(result.unwrap(), ScriptOutcome::Exited(0));
    let text = std::fs::read_to_string(&out).unwrap();
    assert_eq!(line_of(&text, "SigIgn:"), "0000000000000000", "{text}");
    assert_eq!(line_of(&text, "SigBlk:"), "0000000000000000", "{text}");
    let fd = std::fs::read_to_string(dir.path().join("out.fd")).unwrap();
    assert_eq!(fd.trim(), "clean", "descriptor {n} inherited");
}
