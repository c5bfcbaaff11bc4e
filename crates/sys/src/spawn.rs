// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Start a program in a new process that shares our memory until it
//! execs (`clone(CLONE_VM | CLONE_VFORK)`), and wait for it through a
//! pidfd.
//!
//! Why not `std::process::Command`: the daemon blocks the signals it reads
//! from a signalfd, a blocked mask survives exec, and std neither resets
//! the mask nor switches users without a `pre_exec` hook, which forces a
//! full fork (page tables copied, every thread of the daemon taking
//! copy-on-write faults until the child execs). Why not `posix_spawn`,
//! which is the same vfork-like clone inside glibc: it cannot switch
//! users. Doing the clone here gives both paths (with and without a user
//! switch) the cheap start; a run per second per tracked script makes
//! that the VRRP process's main cost (docs/benchmarks.md, "Tracking").
//!
//! Everything the new process needs (argv, environment, the PATH walk,
//! the groups) is built before the clone, on the thread that asks for
//! the start ([`prepared`]); what the new process does is in [`child`].
//! A failure before or at exec is written by the new process into the
//! plan it shares with us, as glibc's `posix_spawn` does (no pipe
//! needed: we sleep until it has execed or exited), and the process is
//! reaped before we return the error.
//!
//! The clone runs on one spawner thread per process ([`queue`]), not on
//! the caller's: with CLONE_VFORK the cloning thread sleeps until the
//! exec, and on a starved machine that held the VRRP loop past a peer's
//! master-down interval. The caller gets a future.
//!
//! The child is reaped here, through its pidfd (`CLONE_PIDFD`, so there
//! is no window where the pid could be reused), not by tokio's SIGCHLD
//! machinery (which only waits for the children it spawned itself).

mod child;
mod prepared;
mod queue;
mod reply;

/// A value that counts its drops: the queue's and the reply slot's tests
/// see which side let go of an answer.
#[cfg(test)]
struct DropCounted(std::sync::Arc<std::sync::atomic::AtomicUsize>);

#[cfg(test)]
impl Drop for DropCounted {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

pub use child::Step;
pub use prepared::Prepared;
pub use queue::QUEUE_DEPTH;

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prepared::{Attempt, CArray};

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

/// The identity a program runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SwitchUser {
    pub uid: u32,
    pub gid: u32,
    /// Supplementary groups; empty clears them.
    pub groups: Vec<u32>,
}

/// Why a program could not be started.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// Before a new process existed (bad argument, no memory, clone).
    #[error("{0}")]
    Start(io::Error),
    /// The new process failed at `step`; it has been reaped. For
    /// [`Step::Exec`] the error is the exec's (ENOENT, EACCES, ENOEXEC…).
    #[error("{step}: {source}")]
    Child { step: Step, source: io::Error },
}

/// What to start: `execvp(argv[0], argv)` with the environment `env`
/// describes, stdin, stdout and stderr on /dev/null, an empty signal
/// mask, default dispositions, its own process group, and optionally
/// another user.
#[derive(Debug, Clone)]
pub struct Program {
    pub argv: Vec<OsString>,
    pub env: Env,
    pub user: Option<SwitchUser>,
    /// Started instead when the kernel refuses `argv[0]` as an executable
    /// format (ENOEXEC: a script without `#!`), as keepalived hands such
    /// files to the shell. Tried on the spawner thread right away, so
    /// starts stay in request order.
    pub noexec_fallback: Option<Vec<OsString>>,
}

/// A program's environment: this process's own, less the `remove`d
/// variables, with `add` set. Written out once for every start that asks
/// for the same (`prepared`), so a start waiting in the queue shares it
/// rather than holding a copy of the whole environment (a hundred
/// scripts fall due together at every interval).
#[derive(Debug, Clone)]
pub struct Env {
    pub remove: &'static [&'static str],
    pub add: Vec<(OsString, OsString)>,
}

/// Starts `program` on this process's spawner thread ([`queue`]): the
/// request is queued now, in call order; the returned future resolves
/// once the new process has execed (or failed to), without ever
/// blocking the calling thread. Dropping the future before then cancels
/// the start, or kills and reaps a process started meanwhile. Must be
/// polled inside a tokio runtime.
pub fn spawn(
    program: Program,
) -> impl std::future::Future<Output = Result<Spawned, SpawnError>> + Send + use<> {
    let prepared = Prepared::new(&program).map(Arc::new);
    let started = prepared.map(spawn_prepared);
    async move { started?.await }
}

/// [`spawn`] of a start prepared earlier (one [`Prepared`] may serve any
/// number of starts, e.g. every run of a tracked script).
pub fn spawn_prepared(
    prepared: Arc<Prepared>,
) -> impl std::future::Future<Output = Result<Spawned, SpawnError>> + Send + use<> {
    let answer = queue::submit(prepared);
    async move {
        let started = answer.await?;
        started.register().map_err(SpawnError::Start)
    }
}

/// Starts `program` on the calling thread, which sleeps until the new
/// process has execed or exited. Only the spawner thread calls it, and
/// it touches no heap memory: everything was built by the asker.
fn start(program: &Prepared) -> Result<Started, SpawnError> {
    let user = program.user.map(|(uid, gid)| child::Identity {
        uid,
        gid,
        groups: program.groups.as_ptr(),
        n_groups: program.groups.len(),
    });
    let first = start_one(&program.first, &program.env, user.as_ref());
    match (first, &program.noexec_fallback) {
        (
            Err(SpawnError::Child {
                step: Step::Exec,
                source,
            }),
            Some(fallback),
        ) if source.raw_os_error() == Some(libc::ENOEXEC) => {
            start_one(fallback, &program.env, user.as_ref())
        }
        (other, _) => other,
    }
}

fn start_one(
    attempt: &Attempt,
    env: &CArray,
    user: Option<&child::Identity>,
) -> Result<Started, SpawnError> {
    let plan = child::Plan {
        candidates: attempt.candidates.as_ptr(),
        n_candidates: attempt.candidates.len(),
        argv: attempt.argv.as_ptr(),
        envp: env.as_ptr(),
        identity: user.copied(),
        failure: AtomicU64::new(0),
    };
    let (pid, pidfd) = clone_child(&plan).map_err(SpawnError::Start)?;
    if let Some((step, errno)) = plan.failure() {
        // It has exited or is exiting: reap it now, no zombie is left.
        let _ = waitpid(pid, None);
        drop(pidfd);
        return Err(SpawnError::Child {
            step,
            source: io::Error::from_raw_os_error(errno),
        });
    }
    Ok(Started {
        pid,
        pidfd: Some(pidfd),
    })
}

/// A process that has execed, on its way from the spawner thread to the
/// loop that asked for it. Whoever drops it unclaimed (the loop gave up
/// on the start: reload, shutdown, a dropped future) kills its process
/// group and reaps it, so no run outlives a start nobody waits for.
#[derive(Debug)]
pub(crate) struct Started {
    pid: Pid,
    pidfd: Option<OwnedFd>,
}

impl Started {
    /// Hands the pidfd to tokio, on the runtime of the caller.
    fn register(mut self) -> io::Result<Spawned> {
        let Some(fd) = self.pidfd.take() else {
            return Err(io::Error::other("already claimed"));
        };
        match register(fd) {
            Ok(fd) => Ok(Spawned {
                pid: self.pid,
                pidfd: Some(fd),
            }),
            Err(e) => {
                // Without a pidfd we cannot wait asynchronously: do not
                // leave a child nobody reaps.
                kill_and_reap(self.pid);
                Err(e)
            }
        }
    }
}

impl Drop for Started {
    fn drop(&mut self) {
        if self.pidfd.take().is_some() {
            kill_and_reap(self.pid);
        }
    }
}

/// SIGKILL to the new process's group (it leads one: nothing else is in
/// it yet but what it started itself), then the blocking reap, which is
/// short after SIGKILL.
fn kill_and_reap(pid: Pid) {
    let _ = nix::sys::signal::killpg(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
    let _ = waitpid(pid, None);
}

/// The new process's stack size. It runs a few small frames of
/// [`child`] and system calls: a few kB are used.
const STACK_SIZE: usize = 64 * 1024;

/// A stack for new processes, one per spawning thread (mapped once,
/// reused: a process uses it only while its parent thread sleeps in
/// clone), with a guard page below so an overflow faults instead of
/// writing over our memory.
struct ChildStack {
    base: *mut libc::c_void,
    len: usize,
}

impl ChildStack {
    #[allow(unsafe_code)]
    fn map() -> io::Result<ChildStack> {
        let guard = page_size();
        let len = STACK_SIZE + guard;
        // SAFETY: a fresh anonymous mapping, owned by the returned value.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_STACK,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let stack = ChildStack { base, len };
        // SAFETY: the lowest page of the mapping just made.
        if unsafe { libc::mprotect(base, guard, libc::PROT_NONE) } != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(stack)
    }

    /// The highest address (stacks grow down), 16-byte aligned.
    fn top(&self) -> *mut libc::c_void {
        self.base.wrapping_byte_add(self.len & !15)
    }
}

impl Drop for ChildStack {
    #[allow(unsafe_code)]
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

fn page_size() -> usize {
    #[allow(unsafe_code)]
    // SAFETY: sysconf only reads a system value.
    let v = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(v).unwrap_or(4096)
}

thread_local! {
    static STACK: std::cell::RefCell<Option<ChildStack>> = const { std::cell::RefCell::new(None) };
}

/// The clone itself: every signal blocked around it (so no handler of
/// ours runs in the new process before it has reset them), the new
/// process on this thread's [`ChildStack`]. Returns once it has execed
/// or exited.
#[allow(unsafe_code)]
fn clone_child(plan: &child::Plan) -> io::Result<(Pid, OwnedFd)> {
    STACK.with(|cell| {
        let mut slot = cell
            .try_borrow_mut()
            .map_err(|_| io::Error::other("spawn re-entered"))?;
        if slot.is_none() {
            *slot = Some(ChildStack::map()?);
        }
        let top = slot
            .as_ref()
            .map(ChildStack::top)
            .ok_or_else(|| io::Error::other("no stack"))?;
        let all: u64 = !0;
        let mut old: u64 = 0;
        // SAFETY: raw rt_sigprocmask with 8-byte sets (the kernel's size);
        // the raw call also blocks glibc's internal signals, which
        // pthread_sigmask would leave open.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &all as *const u64,
                &mut old as *mut u64,
                8 as libc::c_long,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut pidfd: libc::c_int = -1;
        let flags = libc::CLONE_VM | libc::CLONE_VFORK | libc::CLONE_PIDFD | libc::SIGCHLD;
        // SAFETY: `top` is the top of a mapped stack nothing else uses
        // while this thread sleeps in clone (CLONE_VFORK); `plan` and all
        // it points to live on our frame until clone returns, i.e. until
        // the new process has execed or exited. With CLONE_PIDFD the
        // parent-tid argument receives the pidfd.
        let pid = unsafe {
            libc::clone(
                child::run,
                top,
                flags,
                std::ptr::from_ref(plan).cast_mut().cast::<libc::c_void>(),
                &mut pidfd as *mut libc::c_int,
            )
        };
        let clone_error = io::Error::last_os_error();
        // SAFETY: as above, restoring the mask read before.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                libc::SIG_SETMASK,
                &old as *const u64,
                std::ptr::null_mut::<u64>(),
                8 as libc::c_long,
            )
        };
        if pid < 0 {
            return Err(clone_error);
        }
        // SAFETY: the kernel just gave us this descriptor; nothing else
        // owns it.
        let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
        Ok((Pid::from_raw(pid), pidfd))
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

#[allow(unsafe_code)]
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: the OwnedFd keeps its descriptor open, with the same number,
    // until the AsyncFd (which never gives it away) drops it.
    unsafe { Ok(AsyncFd::register(fd)?) }
}
