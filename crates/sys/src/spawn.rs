// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Start a program with `posix_spawn` and wait for it through a pidfd.
//!
//! Why not `std::process::Command`: the daemon blocks the signals it reads
//! from a signalfd, a blocked mask survives exec, and std neither resets
//! the mask nor lets us ask `posix_spawn` to; the only std way to unblock
//! is a `pre_exec` hook, which forces a full fork (page tables copied,
//! every thread of the daemon taking copy-on-write faults until the
//! child execs). glibc's `posix_spawn` is a vfork that can set the mask,
//! the signal dispositions and the process group itself. A run per
//! second per tracked script makes that difference the VRRP process's
//! main cost (docs/benchmarks.md, "Tracking").
//!
//! The child is reaped here, through its pidfd, not by tokio's SIGCHLD
//! machinery (which only waits for the children it spawned itself).

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;
use tokio::io::unix::AsyncFd;

/// How a spawned program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

/// A spawned program not yet reaped.
#[derive(Debug)]
pub struct Spawned {
    pid: Pid,
    pidfd: Option<AsyncFd<OwnedFd>>,
}

/// `posix_spawnp(argv[0], argv, env)` with stdin, stdout and stderr on
/// /dev/null, an empty signal mask, default dispositions, and its own
/// process group. `env` is the whole environment. Must be called inside
/// a tokio runtime.
pub fn spawn(argv: &[OsString], env: &[OsString]) -> io::Result<Spawned> {
    let argv_c = cstrings(argv)?;
    let env_c = cstrings(env)?;
    let program = argv_c
        .first()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "empty argv"))?;
    let mut argv_p: Vec<*mut libc::c_char> = argv_c.iter().map(|c| c.as_ptr().cast_mut()).collect();
    argv_p.push(std::ptr::null_mut());
    let mut env_p: Vec<*mut libc::c_char> = env_c.iter().map(|c| c.as_ptr().cast_mut()).collect();
    env_p.push(std::ptr::null_mut());
    let pid = raw_spawn(program, &argv_p, &env_p)?;
    let pidfd = match pidfd_open(pid).and_then(register) {
        Ok(fd) => fd,
        Err(e) => {
            // Without a pidfd we cannot wait asynchronously: do not leave
            // a child nobody reaps.
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
            return Err(e);
        }
    };
    Ok(Spawned {
        pid,
        pidfd: Some(pidfd),
    })
}

impl Spawned {
    pub fn pid(&self) -> u32 {
        u32::try_from(self.pid.as_raw()).unwrap_or(0)
    }

    /// Waits for the end and reaps.
    pub async fn wait(&mut self) -> io::Result<Ended> {
        loop {
            if let Some(ended) = self.try_reap()? {
                return Ok(ended);
            }
            let Some(fd) = &self.pidfd else {
                return Err(io::Error::other("already reaped"));
            };
            // A pidfd turns readable when the process exits.
            let mut ready = fd.readable().await?;
            ready.clear_ready();
        }
    }

    fn try_reap(&mut self) -> io::Result<Option<Ended>> {
        if self.pidfd.is_none() {
            return Err(io::Error::other("already reaped"));
        }
        let ended = match waitpid(self.pid, Some(WaitPidFlag::WNOHANG)).map_err(io::Error::from)? {
            WaitStatus::Exited(_, code) => Ended::Exited(code),
            WaitStatus::Signaled(_, sig, _) => Ended::Signaled(sig as i32),
            _ => return Ok(None),
        };
        self.pidfd = None;
        Ok(Some(ended))
    }
}

impl Drop for Spawned {
    /// Abandoned before it was reaped (its waiting task dropped, e.g. at
    /// shutdown): reap it if it has ended. Nothing blocks or spawns here;
    /// one still running stays a zombie of ours once it ends, which only
    /// happens to a run abandoned while the process lives on.
    fn drop(&mut self) {
        if self.pidfd.is_some() {
            let _ = waitpid(self.pid, Some(WaitPidFlag::WNOHANG));
        }
    }
}

/// The current environment minus `remove`, plus `add`, as `KEY=VALUE`.
pub fn environment(remove: &[&str], add: &[(OsString, OsString)]) -> Vec<OsString> {
    let mut vars: Vec<(OsString, OsString)> = std::env::vars_os()
        .filter(|(k, _)| !remove.iter().any(|r| OsStr::new(r) == k))
        .filter(|(k, _)| !add.iter().any(|(a, _)| a == k))
        .collect();
    vars.extend(add.iter().cloned());
    vars.into_iter()
        .map(|(k, v)| {
            let mut kv = k;
            kv.push("=");
            kv.push(v);
            kv
        })
        .collect()
}

fn cstrings(items: &[OsString]) -> io::Result<Vec<CString>> {
    items
        .iter()
        .map(|s| {
            CString::new(s.as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL byte in argv or env"))
        })
        .collect()
}

fn pidfd_open(pid: Pid) -> io::Result<OwnedFd> {
    #[allow(unsafe_code)]
    // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1;
    // no memory is passed.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::other("pidfd out of range"))?;
    #[allow(unsafe_code)]
    // SAFETY: the kernel just returned this fd to us; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[allow(unsafe_code)]
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the OwnedFd keeps its descriptor open, with the same number,
    // until the AsyncFd (which never gives it away) drops it.
    unsafe { Ok(AsyncFd::register(fd)?) }
}

/// The attribute and file-action objects, destroyed on every path out.
struct Attrs {
    attr: libc::posix_spawnattr_t,
    actions: libc::posix_spawn_file_actions_t,
}

#[allow(unsafe_code)]
fn raw_spawn(
    program: &CString,
    argv: &[*mut libc::c_char],
    env: &[*mut libc::c_char],
) -> io::Result<Pid> {
    fn check(rc: libc::c_int) -> io::Result<()> {
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::from_raw_os_error(rc))
        }
    }
    let dev_null = c"/dev/null";
    // SAFETY: both objects are initialised by their init functions before
    // any other use and destroyed exactly once by Drop; every pointer
    // handed to libc (program, argv, env, the path) outlives the call, and
    // argv/env are NULL-terminated arrays of NUL-terminated strings.
    unsafe {
        let mut a: Attrs = std::mem::zeroed();
        check(libc::posix_spawnattr_init(&mut a.attr))?;
        if let Err(e) = check(libc::posix_spawn_file_actions_init(&mut a.actions)) {
            libc::posix_spawnattr_destroy(&mut a.attr);
            return Err(e);
        }
        let mut a = InitAttrs(a);
        let attrs = &mut a.0;
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        check(libc::posix_spawnattr_setsigmask(&mut attrs.attr, &empty))?;
        check(libc::posix_spawnattr_setsigdefault(&mut attrs.attr, &all))?;
        check(libc::posix_spawnattr_setpgroup(&mut attrs.attr, 0))?;
        let flags = libc::POSIX_SPAWN_SETSIGMASK
            | libc::POSIX_SPAWN_SETSIGDEF
            | libc::POSIX_SPAWN_SETPGROUP;
        check(libc::posix_spawnattr_setflags(
            &mut attrs.attr,
            flags as libc::c_short,
        ))?;
        for (fd, mode) in [
            (0, libc::O_RDONLY),
            (1, libc::O_WRONLY),
            (2, libc::O_WRONLY),
        ] {
            check(libc::posix_spawn_file_actions_addopen(
                &mut attrs.actions,
                fd,
                dev_null.as_ptr(),
                mode,
                0,
            ))?;
        }
        let mut pid: libc::pid_t = 0;
        check(libc::posix_spawnp(
            &mut pid,
            program.as_ptr(),
            &attrs.actions,
            &attrs.attr,
            argv.as_ptr(),
            env.as_ptr(),
        ))?;
        Ok(Pid::from_raw(pid))
    }
}

/// [`Attrs`] once both init calls succeeded.
struct InitAttrs(Attrs);

impl Drop for InitAttrs {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: both were initialised (that is what this type means) and
        // are destroyed only here.
        unsafe {
            libc::posix_spawn_file_actions_destroy(&mut self.0.actions);
            libc::posix_spawnattr_destroy(&mut self.0.attr);
        }
    }
}
