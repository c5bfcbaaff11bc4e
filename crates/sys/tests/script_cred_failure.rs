// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A spawner that may not switch users: its own test binary, because
//! the spawner thread (keepalived_sys::spawn) is one per process and
//! keeps the credentials of the thread that started it. Here that is a
//! thread that dropped its effective uid first, so every start of this
//! process is made without the right to switch users.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::scripts::{open_dir, rt, write_script, zombie_children};

use keepalived_sys::script::{ScriptError, ScriptSpec, ScriptUser, run};
use keepalived_sys::spawn::Step;

const NOBODY: u32 = 65534;
const NOGROUP: u32 = 65534;

fn nobody() -> ScriptUser {
    ScriptUser {
        uid: NOBODY,
        gid: NOGROUP,
        groups: vec![NOGROUP],
    }
}

/// A spawner that may not switch users gets the failing step back (the
/// script never runs), and the failed process is already reaped.
#[test]
fn credential_failure_is_reported_and_reaped() {
    common::require_root();
    let dir = open_dir();
    let ran = dir.path().join("ran");
    let script = write_script(dir.path(), "mark.sh", &format!("touch {}", ran.display()));
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.user = Some(nobody());
    // Credentials are per thread in the kernel: a raw setresuid on a
    // thread of our own drops its effective uid (and with it every
    // capability) while keeping root as the saved uid, and the spawner
    // thread it starts with this process's first start inherits that.
    let result = std::thread::spawn(move || {
        #[allow(unsafe_code)]
        // SAFETY: raw system call changing this thread's effective uid.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, -1, NOBODY, -1) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        let result = rt().block_on(run(&spec));
        #[allow(unsafe_code)]
        // SAFETY: as above; the saved uid 0 allows the way back.
        let rc = unsafe { libc::syscall(libc::SYS_setresuid, -1, 0, -1) };
        assert_eq!(rc, 0, "{}", std::io::Error::last_os_error());
        result
    })
    .join()
    .unwrap();
    match result {
        Err(ScriptError::Setup { step, source, .. }) => {
            assert_eq!(step, Step::Groups);
            assert_eq!(source.raw_os_error(), Some(libc::EPERM));
        }
        other => panic!("expected a setgroups failure, got {other:?}"),
    }
    assert!(!ran.exists(), "the script ran");
    assert_eq!(zombie_children(), Vec::<u32>::new());

    // uid -1 would mean "unchanged" to setresuid: refused before any
    // process exists, never run as root.
    let mut spec = ScriptSpec::new([script.as_os_str()]);
    spec.user = Some(ScriptUser {
        uid: u32::MAX,
        ..nobody()
    });
    match rt().block_on(run(&spec)) {
        Err(ScriptError::Spawn { source, .. }) => {
            assert_eq!(source.kind(), std::io::ErrorKind::InvalidInput);
        }
        other => panic!("uid -1: {other:?}"),
    }
    assert!(!ran.exists(), "the script ran as uid -1");
}
