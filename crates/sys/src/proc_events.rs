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

const NETLINK_CONNECTOR: isize = 11;
const CN_IDX_PROC: u32 = 1;
const CN_VAL_PROC: u32 = 1;
const PROC_CN_MCAST_LISTEN: u32 = 1;
const NLMSG_DONE: u16 = 3;
const NLMSG_HDR: usize = 16;
const CN_MSG: usize = 20;
/// what, cpu, timestamp_ns before the event data.
const EVENT_HDR: usize = 16;

const PROC_EVENT_FORK: u32 = 0x1;
const PROC_EVENT_EXEC: u32 = 0x2;
const PROC_EVENT_COMM: u32 = 0x200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// One process event. Thread events are dropped in [`decode`]: only
/// processes (pid == tgid) count, as in keepalived.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcEvent {
    Fork { parent: u32, child: u32 },
    Exec { pid: u32 },
    Comm { pid: u32, comm: String },
    Exit { pid: u32 },
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let bytes: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_ne_bytes(bytes))
}

/// The events in one datagram (several netlink messages may share it);
/// anything short or foreign is skipped.
pub fn decode(buf: &[u8]) -> Vec<ProcEvent> {
    let mut out = Vec::new();
    let mut off = 0;
    while let Some(len) = u32_at(buf, off).and_then(|l| usize::try_from(l).ok()) {
        if len < NLMSG_HDR || off + len > buf.len() {
            break;
        }
        if let Some(msg) = buf.get(off..off + len)
            && let Some(ev) = decode_one(msg)
        {
            out.push(ev);
        }
        off += (len + 3) & !3;
    }
    out
}

fn decode_one(msg: &[u8]) -> Option<ProcEvent> {
    let cn = NLMSG_HDR;
    if u32_at(msg, cn)? != CN_IDX_PROC || u32_at(msg, cn + 4)? != CN_VAL_PROC {
        return None;
    }
    let ev = cn + CN_MSG;
    let what = u32_at(msg, ev)?;
    let data = ev + EVENT_HDR;
    let field = |i: usize| u32_at(msg, data + 4 * i);
    match what {
        PROC_EVENT_FORK => {
            let (parent_tgid, child_pid, child_tgid) = (field(1)?, field(2)?, field(3)?);
            (child_pid == child_tgid).then_some(ProcEvent::Fork {
                parent: parent_tgid,
                child: child_tgid,
            })
        }
        PROC_EVENT_EXEC => {
            let (pid, tgid) = (field(0)?, field(1)?);
            (pid == tgid).then_some(ProcEvent::Exec { pid })
        }
        PROC_EVENT_COMM => {
            let (pid, tgid) = (field(0)?, field(1)?);
            let raw = msg.get(data + 8..data + 24)?;
            let end = raw.iter().position(|b| *b == 0).unwrap_or(raw.len());
            let comm = String::from_utf8_lossy(raw.get(..end)?).into_owned();
            (pid == tgid).then_some(ProcEvent::Comm { pid, comm })
        }
        PROC_EVENT_EXIT => {
            let (pid, tgid) = (field(0)?, field(1)?);
            (pid == tgid).then_some(ProcEvent::Exit { pid })
        }
        _ => None,
    }
}

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

/// comm and state from `/proc/PID/stat` ("pid (comm) S ..."; comm may
/// itself hold parentheses, so the last ')' ends it).
fn parse_stat(stat: &[u8]) -> Option<(String, u8)> {
    let open = stat.iter().position(|b| *b == b'(')?;
    let close = stat.iter().rposition(|b| *b == b')')?;
    let comm = String::from_utf8_lossy(stat.get(open + 1..close)?).into_owned();
    let state = *stat.get(close + 2)?;
    Some((comm, state))
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

    fn message(what: u32, data: &[u32], comm: Option<&str>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&CN_IDX_PROC.to_ne_bytes());
        body.extend_from_slice(&CN_VAL_PROC.to_ne_bytes());
        body.extend_from_slice(&[0; 12]);
        body.extend_from_slice(&what.to_ne_bytes());
        body.extend_from_slice(&0u32.to_ne_bytes());
        body.extend_from_slice(&0u64.to_ne_bytes());
        for d in data {
            body.extend_from_slice(&d.to_ne_bytes());
        }
        if let Some(c) = comm {
            let mut raw = [0u8; 16];
            raw[..c.len()].copy_from_slice(c.as_bytes());
            body.extend_from_slice(&raw);
        }
        let len = u32::try_from(NLMSG_HDR + body.len()).unwrap();
        let mut m = len.to_ne_bytes().to_vec();
        m.extend_from_slice(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        m.extend_from_slice(&body);
        while m.len() % 4 != 0 {
            m.push(0);
        }
        m
    }

    #[test]
    fn decodes_process_events_and_drops_threads() {
        let mut dgram = message(PROC_EVENT_FORK, &[10, 10, 20, 20], None);
        dgram.extend(message(PROC_EVENT_FORK, &[10, 10, 21, 20], None));
        dgram.extend(message(PROC_EVENT_EXEC, &[20, 20], None));
        dgram.extend(message(PROC_EVENT_COMM, &[20, 20], Some("nginx")));
        dgram.extend(message(PROC_EVENT_EXIT, &[21, 20, 0, 17], None));
        dgram.extend(message(PROC_EVENT_EXIT, &[20, 20, 0, 17], None));
        dgram.extend(message(0x4, &[20, 20, 0, 0], None));
        assert_eq!(
            decode(&dgram),
            [
                ProcEvent::Fork {
                    parent: 10,
                    child: 20
                },
                ProcEvent::Exec { pid: 20 },
                ProcEvent::Comm {
                    pid: 20,
                    comm: "nginx".into()
                },
                ProcEvent::Exit { pid: 20 },
            ]
        );
        assert!(decode(&dgram[..10]).is_empty());
    }

    #[test]
    fn stat_comm_may_hold_parentheses() {
        assert_eq!(
            parse_stat(b"42 (a (b) c) S 1 42"),
            Some(("a (b) c".to_string(), b'S'))
        );
        assert_eq!(parse_stat(b"42 x"), None);
    }

    #[test]
    fn this_process_is_found_with_its_command_line() {
        let me = read_process(std::process::id(), true).unwrap();
        assert!(!me.comm.is_empty());
        assert!(!me.cmdline.is_empty());
    }
}
