// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What runs in the new process between `clone` and `exec`.
//!
//! The new process shares the daemon's memory (`CLONE_VM`) while the
//! spawning thread sleeps until it execs or exits (`CLONE_VFORK`); the
//! daemon's other threads keep running. So this code may only make raw
//! system calls on data the parent prepared: no allocation, no lock, no
//! glibc wrapper that does more than the system call (glibc's
//! `setresuid`, `setgroups` & co. signal every thread of the process to
//! switch them all: here that would be the daemon's threads), and no
//! panic. The one thing written to shared memory is the failure report.

use std::sync::atomic::{AtomicU64, Ordering};

use libc::{c_char, c_int, c_long, c_void, gid_t, uid_t};

/// A step of the setup, named in the failure report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    ProcessGroup,
    Groups,
    Gid,
    Uid,
    Stdio,
    SignalMask,
    Exec,
}

impl Step {
    const ALL: [Step; 7] = [
        Step::ProcessGroup,
        Step::Groups,
        Step::Gid,
        Step::Uid,
        Step::Stdio,
        Step::SignalMask,
        Step::Exec,
    ];

    fn code(self) -> u64 {
        // Codes start at 1: 0 in the report means "no failure".
        Self::ALL
            .iter()
            .position(|s| *s == self)
            .map_or(0, |i| i as u64 + 1)
    }

    fn from_code(code: u64) -> Option<Step> {
        Self::ALL
            .get(usize::try_from(code).ok()?.checked_sub(1)?)
            .copied()
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::ProcessGroup => "setpgid",
            Step::Groups => "setgroups",
            Step::Gid => "setresgid",
            Step::Uid => "setresuid",
            Step::Stdio => "stdio on /dev/null",
            Step::SignalMask => "signal mask",
            Step::Exec => "exec",
        })
    }
}

/// The identity to switch to, groups first.
#[derive(Clone, Copy)]
pub struct Identity {
    pub uid: uid_t,
    pub gid: gid_t,
    pub groups: *const gid_t,
    pub n_groups: usize,
}

/// Everything the new process reads, built by the parent before `clone`
/// and alive (on the parent's stack) until the new process has execed or
/// exited.
pub struct Plan {
    /// Where to try the program, in order (`execvp`'s PATH walk, done
    /// ahead): NUL-terminated paths.
    pub candidates: *const *const c_char,
    pub n_candidates: usize,
    /// NULL-terminated arrays of NUL-terminated strings.
    pub argv: *const *const c_char,
    pub envp: *const *const c_char,
    pub identity: Option<Identity>,
    /// `step code << 32 | errno`, 0 while nothing failed.
    pub failure: AtomicU64,
}

impl Plan {
    /// The failure the new process reported, once it has execed or
    /// exited (the parent reads it after `clone` returns).
    pub fn failure(&self) -> Option<(Step, i32)> {
        let v = self.failure.load(Ordering::Acquire);
        let step = Step::from_code(v >> 32)?;
        Some((step, i32::try_from(v & 0xffff_ffff).unwrap_or(libc::EIO)))
    }
}

/// The signal numbers whose disposition is reset (1 up to the kernel's
/// 64; SIGKILL and SIGSTOP cannot be changed).
const LAST_SIGNAL: c_int = 64;

/// The kernel's `struct sigaction` for SIG_DFL with no flags and an empty
/// mask is all zeroes; 4 words is at least its size on every
/// architecture (handler, flags, restorer, 64-bit mask).
static DEFAULT_ACTION: [u64; 4] = [0; 4];
/// The kernel's 64-bit signal set.
static EMPTY_SET: u64 = 0;
const SIGSET_SIZE: c_long = 8;

/// The new process's entry point (`clone`'s callback); `plan` is a
/// `*const Plan`. Returns only after a failure: its value is the exit
/// code (127, like a shell's "cannot run").
pub extern "C" fn run(plan: *mut c_void) -> c_int {
    #[allow(unsafe_code)]
    // SAFETY: the parent passes a pointer to a Plan that outlives this
    // process's use of it (it sleeps in clone until we exec or exit).
    let plan = unsafe { &*(plan as *const Plan) };
    let (step, errno) = match setup_and_exec(plan) {
        Err(failed) => failed,
        Ok(()) => (Step::Exec, libc::EIO),
    };
    let errno = u64::try_from(errno).unwrap_or(u64::from(libc::EIO.unsigned_abs()));
    plan.failure
        .store(step.code() << 32 | errno, Ordering::Release);
    127
}

/// Returns only on failure (`Ok` cannot happen: a successful exec does
/// not return).
#[allow(unsafe_code)]
fn setup_and_exec(plan: &Plan) -> Result<(), (Step, i32)> {
    // SAFETY (for every block below): raw system calls on static data or
    // on memory the parent keeps alive and does not touch meanwhile.
    //
    // Dispositions first, while every signal is still blocked (the parent
    // blocked them before clone): a handler of the daemon must never run
    // here, on our stack, with the daemon's memory; and an ignored signal
    // would stay ignored across exec.
    for sig in 1..=LAST_SIGNAL {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
            continue;
        }
        // Failure (a number this kernel lacks) leaves nothing to reset.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                DEFAULT_ACTION.as_ptr(),
                std::ptr::null_mut::<c_void>(),
                SIGSET_SIZE,
            );
        }
    }
    // Its own process group: a timeout kills the script and what it
    // started.
    check(Step::ProcessGroup, unsafe {
        libc::syscall(libc::SYS_setpgid, 0, 0)
    })?;
    if let Some(id) = &plan.identity {
        // Groups and gid before uid: after setresuid we could no longer.
        check(Step::Groups, unsafe {
            libc::syscall(libc::SYS_setgroups, id.n_groups, id.groups)
        })?;
        check(Step::Gid, unsafe {
            libc::syscall(libc::SYS_setresgid, id.gid, id.gid, id.gid)
        })?;
        check(Step::Uid, unsafe {
            libc::syscall(libc::SYS_setresuid, id.uid, id.uid, id.uid)
        })?;
    }
    stdio_on_dev_null()?;
    // Descriptors someone opened without O_CLOEXEC are not the script's
    // business. Marked rather than closed, so a failed exec's report is
    // unaffected; a kernel without close_range (before 5.11) leaves them.
    unsafe {
        libc::syscall(
            libc::SYS_close_range,
            3 as libc::c_uint,
            libc::c_uint::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        );
    }
    check(Step::SignalMask, unsafe {
        libc::syscall(
            libc::SYS_rt_sigprocmask,
            libc::SIG_SETMASK,
            &EMPTY_SET as *const u64,
            std::ptr::null_mut::<c_void>(),
            SIGSET_SIZE,
        )
    })?;
    exec(plan)
}

/// stdin, stdout and stderr on /dev/null (opened here, so nothing of
/// the parent's is involved).
#[allow(unsafe_code)]
fn stdio_on_dev_null() -> Result<(), (Step, i32)> {
    // SAFETY: raw system calls on a static path and our own descriptors.
    let fd = check(Step::Stdio, unsafe {
        libc::syscall(
            libc::SYS_openat,
            libc::AT_FDCWD,
            c"/dev/null".as_ptr(),
            libc::O_RDWR,
        )
    })?;
    for target in 0..=2 {
        // dup3 refuses equal descriptors; one already in place was opened
        // here without O_CLOEXEC and stays open across exec.
        if fd != target {
            check(Step::Stdio, unsafe {
                libc::syscall(libc::SYS_dup3, fd, target, 0)
            })?;
        }
    }
    if fd > 2 {
        unsafe { libc::syscall(libc::SYS_close, fd) };
    }
    Ok(())
}

/// `execve` on each candidate in turn, with `execvp`'s rules: a path
/// that does not exist is skipped, permission denied is remembered and
/// reported if nothing else works, any other error stops the walk.
#[allow(unsafe_code)]
fn exec(plan: &Plan) -> Result<(), (Step, i32)> {
    let mut denied = false;
    let mut last = libc::ENOENT;
    for i in 0..plan.n_candidates {
        // SAFETY: `candidates` holds `n_candidates` valid C strings, and
        // argv/envp are NULL-terminated arrays the parent keeps alive.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_execve,
                *plan.candidates.add(i),
                plan.argv,
                plan.envp,
            )
        };
        let Err((_, errno)) = check(Step::Exec, rc) else {
            continue;
        };
        match errno {
            libc::EACCES => denied = true,
            libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT => {}
            other => return Err((Step::Exec, other)),
        }
        last = errno;
    }
    Err((Step::Exec, if denied { libc::EACCES } else { last }))
}

/// A raw system call's result: its value, or the step and errno.
fn check(step: Step, rc: c_long) -> Result<c_long, (Step, i32)> {
    if rc >= 0 {
        return Ok(rc);
    }
    #[allow(unsafe_code)]
    // SAFETY: errno is the calling thread's (the parent thread's, which
    // sleeps in clone: writing it there is what glibc's own vfork-style
    // spawn does too); reading it is a plain load.
    let errno = unsafe { *libc::__errno_location() };
    Err((step, errno))
}
