// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Signals as file descriptors (signalfd), for the poll loops of the
//! supervisor and the children.
//!
//! nix's `SigSet` only knows the classic signals; keepalived's JSON and
//! STATS_CLEAR signals are real-time ones (SIGRTMIN+2, SIGRTMAX-1), so the
//! set is built with libc here. This is the daemon's only `unsafe`.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};

use nix::sys::signal::{SigSet, SigmaskHow, pthread_sigmask};
use nix::sys::signalfd::{SfdFlags, SignalFd};

/// The JSON dump signal (SIGRTMIN+2 with glibc).
pub fn sig_json() -> i32 {
    libc::SIGRTMIN() + 2
}

/// The STATS_CLEAR signal (SIGRTMAX-1).
pub fn sig_stats_clear() -> i32 {
    libc::SIGRTMAX() - 1
}

/// The signals keepalived's parent and children both act on: stop,
/// reload and the dump requests.
pub fn handled() -> [i32; 7] {
    [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGUSR1,
        libc::SIGUSR2,
        sig_json(),
        sig_stats_clear(),
    ]
}

/// A set holding exactly `signals` (any number, real-time included).
#[allow(unsafe_code)]
fn set_of(signals: &[i32]) -> SigSet {
    // SAFETY: sigemptyset initialises the whole set before sigaddset and
    // before nix takes it; invalid numbers only make sigaddset fail.
    unsafe {
        let mut raw: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut raw);
        for &s in signals {
            libc::sigaddset(&mut raw, s);
        }
        SigSet::from_sigset_t_unchecked(raw)
    }
}

/// Blocks `signals` for this (single-threaded) process and returns a
/// signalfd that reports them.
pub struct Signals {
    fd: SignalFd,
}

impl Signals {
    pub fn new(signals: &[i32]) -> std::io::Result<Self> {
        let set = set_of(signals);
        pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)?;
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)?;
        Ok(Signals { fd })
    }

    /// The next pending signal number, if any.
    pub fn next(&mut self) -> Option<i32> {
        match self.fd.read_signal() {
            Ok(Some(info)) => i32::try_from(info.ssi_signo).ok(),
            _ => None,
        }
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Signals {
    /// Hands the signalfd to the tokio reactor (inside a runtime).
    #[allow(unsafe_code)]
    pub fn into_async(self) -> std::io::Result<tokio::io::unix::AsyncFd<Signals>> {
        // SAFETY: `Signals` owns its signalfd, never replaces or closes it
        // while alive, and `as_raw_fd` always returns that same fd, which
        // is all `register` asks for.
        unsafe { tokio::io::unix::AsyncFd::register(self) }.map_err(std::io::Error::from)
    }
}

impl AsRawFd for Signals {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

pub fn name(sig: i32) -> String {
    if sig == sig_json() {
        return "JSON (SIGRTMIN+2)".into();
    }
    if sig == sig_stats_clear() {
        return "STATS_CLEAR (SIGRTMAX-1)".into();
    }
    match nix::sys::signal::Signal::try_from(sig) {
        Ok(s) => s.as_str().to_string(),
        Err(_) => format!("signal {sig}"),
    }
}
