// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Process events from the kernel's proc connector (NETLINK_CONNECTOR,
//! CN_IDX_PROC) and the /proc reads that go with them.
//!
//! The connector exists only in the initial network namespace: the
//! socket is created by a short-lived thread that enters
//! `/proc/1/ns/net` first (a namespace change is per thread, so the rest
//! of the process stays where it is); the socket keeps that namespace.
//! A thread of its own reads the socket and /proc (see [`ProcUpdate`]).
//! Process ids are those of the caller's pid namespace, which must be the
//! initial one too (it is, under `ip netns exec`).

use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::sched::CloneFlags;
use nix::sys::socket::MsgFlags;
use rtnetlink::sys::{Socket, SocketAddr};
use tokio::sync::mpsc;

use crate::proc_wire::{CN_IDX_PROC, CN_MSG, CN_VAL_PROC, NLMSG_HDR, parse_stat};
pub use crate::proc_wire::{ProcEvent, decode};

const NETLINK_CONNECTOR: isize = 11;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const NLMSG_DONE: u16 = 3;

/// The subscription request: nlmsghdr + cn_msg + PROC_CN_MCAST_LISTEN.
fn listen_message() -> Vec<u8> {
    let total = NLMSG_HDR + CN_MSG + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&u32::try_from(total).unwrap_or(40).to_ne_bytes());
    m.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&std::process::id().to_ne_bytes());
    m.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    m.extend_from_slice(&4u16.to_ne_bytes());
    m.extend_from_slice(&0u16.to_ne_bytes());
    m.extend_from_slice(&PROC_CN_MCAST_LISTEN.to_ne_bytes());
    m
}

/// What the reader thread hands over: an event with the /proc reads it
/// needs already done, so that no caller ever waits on /proc (reading a
/// process's command line takes its memory map lock, which a busy
/// process can hold for a long time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcUpdate {
    Fork {
        parent: u32,
        child: u32,
    },
    /// After an exec: what the process is now (None: gone already).
    Exec {
        pid: u32,
        info: Option<ProcInfo>,
    },
    Comm {
        pid: u32,
        comm: String,
    },
    Exit {
        pid: u32,
    },
}

/// Why the subscription failed or faltered.
#[derive(Debug, thiserror::Error)]
pub enum ProcEventsError {
    /// The kernel dropped events (ENOBUFS): counts must be rebuilt from
    /// /proc.
    #[error("process events were lost")]
    Lost,
    #[error("process events: {0}")]
    Io(#[from] io::Error),
}

pub type ProcBatch = Result<Vec<ProcUpdate>, ProcEventsError>;

/// How often the reader looks whether anyone still listens.
const RECV_TIMEOUT: Duration = Duration::from_secs(1);

/// Subscribes (root only) and starts the reader thread; its batches
/// arrive on the returned channel until it is dropped. `want_cmdline`
/// says whether an exec'd process's command line is read too.
pub fn subscribe(want_cmdline: Arc<AtomicBool>) -> io::Result<mpsc::UnboundedReceiver<ProcBatch>> {
    let socket = std::thread::spawn(open_in_initial_netns)
        .join()
        .map_err(|_| io::Error::other("the proc connector thread panicked"))??;
    // Bursts of forks (a busy build) must not overflow it easily.
    let _ = socket.set_rx_buf_sz(1024 * 1024);
    nix::sys::socket::setsockopt(
        &socket,
        nix::sys::socket::sockopt::ReceiveTimeout,
        &nix::sys::time::TimeVal::new(i64::try_from(RECV_TIMEOUT.as_secs()).unwrap_or(1), 0),
    )
    .map_err(io::Error::from)?;
    let sent = socket.send(&listen_message(), 0)?;
    if sent != NLMSG_HDR + CN_MSG + 4 {
        return Err(io::Error::other("short proc connector subscription"));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    std::thread::Builder::new()
        .name("proc-events".into())
        .spawn(move || read_loop(&socket, &tx, &want_cmdline))?;
    Ok(rx)
}

fn read_loop(socket: &Socket, tx: &mpsc::UnboundedSender<ProcBatch>, want: &AtomicBool) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let batch = match nix::sys::socket::recv(socket.as_raw_fd(), &mut buf, MsgFlags::empty()) {
            Ok(n) => Ok(decode(buf.get(..n).unwrap_or_default())
                .into_iter()
                .map(|e| resolve(e, want.load(Ordering::Relaxed)))
                .collect()),
            Err(nix::errno::Errno::EAGAIN | nix::errno::Errno::EINTR) => {
                if tx.is_closed() {
                    return;
                }
                continue;
            }
            Err(nix::errno::Errno::ENOBUFS) => Err(ProcEventsError::Lost),
            Err(e) => Err(ProcEventsError::Io(e.into())),
        };
        let fatal = matches!(batch, Err(ProcEventsError::Io(_)));
        if tx.send(batch).is_err() || fatal {
            return;
        }
    }
}

fn resolve(e: ProcEvent, want_cmdline: bool) -> ProcUpdate {
    match e {
        ProcEvent::Fork { parent, child } => ProcUpdate::Fork { parent, child },
        ProcEvent::Exec { pid } => ProcUpdate::Exec {
            pid,
            info: read_process(pid, want_cmdline),
        },
        ProcEvent::Comm { pid, comm } => ProcUpdate::Comm { pid, comm },
        ProcEvent::Exit { pid } => ProcUpdate::Exit { pid },
    }
}

/// The initial network namespace's inode number (the kernel's
/// `PROC_NET_INIT_INO`, fixed like those of the other initial namespaces).
const NET_INIT_INO: u64 = 0xEFFF_FFF9;

fn open_in_initial_netns() -> io::Result<Socket> {
    let own = std::fs::metadata("/proc/thread-self/ns/net")?;
    if own.ino() != NET_INIT_INO {
        let ns = initial_netns()?;
        nix::sched::setns(&ns, CloneFlags::CLONE_NEWNET).map_err(io::Error::from)?;
    }
    let mut socket = Socket::new(NETLINK_CONNECTOR)?;
    socket.bind(&SocketAddr::new(0, CN_IDX_PROC))?;
    Ok(socket)
}

/// A handle on the initial network namespace: through pid 1, else any
/// process living there whose namespace we may open (a container may
/// deny pid 1's, as a sandbox here does).
fn initial_netns() -> io::Result<std::fs::File> {
    let is_init = |f: &std::fs::File| f.metadata().is_ok_and(|m| m.ino() == NET_INIT_INO);
    let pids = std::fs::read_dir("/proc")?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
    std::iter::once(1)
        .chain(pids)
        .filter_map(|pid| std::fs::File::open(format!("/proc/{pid}/ns/net")).ok())
        .find(is_init)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "no way into the initial network namespace (needed for the proc connector)",
            )
        })
}

// ===== /proc =====

/// What matching needs of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcInfo {
    pub pid: u32,
    /// `/proc/PID/comm` (from `stat`).
    pub comm: String,
    /// `/proc/PID/cmdline` (NUL-separated), when asked for.
    pub cmdline: Vec<u8>,
}

/// Process `pid` unless it is gone or a zombie; `cmdline` read only if
/// `want_cmdline` (it may have to be paged in).
pub fn read_process(pid: u32, want_cmdline: bool) -> Option<ProcInfo> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    let (comm, state) = parse_stat(&stat)?;
    if state == b'Z' {
        return None;
    }
    let cmdline = if want_cmdline {
        std::fs::read(format!("/proc/{pid}/cmdline")).ok()?
    } else {
        Vec::new()
    };
    Some(ProcInfo { pid, comm, cmdline })
}

/// Every live process.
pub fn scan(want_cmdline: bool) -> Vec<ProcInfo> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| read_process(pid, want_cmdline))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_found_with_its_command_line() {
        let me = read_process(std::process::id(), true).unwrap();
        assert!(!me.comm.is_empty());
        assert!(!me.cmdline.is_empty());
    }
}
