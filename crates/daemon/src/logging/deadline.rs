// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A stop's deadline for syslog lines.
//!
//! A syslog datagram waits while the syslog daemon's queue is full, as
//! keepalived's `syslog(3)` does. At 100 000 real servers a stop logs as
//! many lines, and a slow syslog daemon (busybox's in the test VM takes
//! them one write at a time) held the checker child past
//! `child_wait_time`: the parent then killed it, its table long removed,
//! and the lines it had not sent were lost anyway. Once a stop has set a
//! deadline, a line that cannot be sent before it is dropped and counted
//! instead, so the child exits by itself and says in one line how many
//! syslog did not get. Without a deadline a send waits as long as it must.

use std::io;
use std::os::fd::AsFd;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};

static DEADLINE: Mutex<Option<Instant>> = Mutex::new(None);
static LATE: AtomicU64 = AtomicU64::new(0);

/// Lines not sent before the deadline are dropped from now on.
pub fn set(at: Instant) {
    if let Ok(mut d) = DEADLINE.lock() {
        *d = Some(at);
    }
}

fn current() -> Option<Instant> {
    DEADLINE.lock().ok().and_then(|d| *d)
}

/// Syslog lines dropped at a deadline so far.
pub fn late() -> u64 {
    LATE.load(Ordering::Relaxed)
}

/// How a send ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Yes,
    /// The queue stayed full until the deadline: dropped and counted.
    Late,
}

/// Sends `buf` on the non-blocking `sock`, waiting for room in the
/// receiver's queue until `deadline` (for ever without one).
pub fn send_by(sock: &UnixDatagram, buf: &[u8], deadline: Option<Instant>) -> io::Result<Sent> {
    loop {
        match sock.send(buf) {
            Ok(_) => return Ok(Sent::Yes),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                let timeout = match deadline {
                    None => PollTimeout::NONE,
                    Some(d) => {
                        let left = d.saturating_duration_since(Instant::now());
                        if left.is_zero() {
                            LATE.fetch_add(1, Ordering::Relaxed);
                            return Ok(Sent::Late);
                        }
                        // Rounded up: a zero timeout would spin.
                        let ms = left.as_millis().clamp(1, i32::MAX as u128);
                        PollTimeout::try_from(ms as i32).unwrap_or(PollTimeout::MAX)
                    }
                };
                let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLOUT)];
                match poll(&mut fds, timeout) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Err(e) => return Err(e),
        }
    }
}

/// True (and the line counted) when a line has already missed the
/// deadline and it has passed: the rest are dropped without being
/// formatted or tried, as at 100 000 lines formatting alone takes time
/// the stop no longer has.
pub fn skip() -> bool {
    if late() == 0 || current().is_none_or(|d| Instant::now() < d) {
        return false;
    }
    LATE.fetch_add(1, Ordering::Relaxed);
    true
}

/// Sends with the stop's deadline, if one is set.
pub fn send(sock: &UnixDatagram, buf: &[u8]) -> io::Result<Sent> {
    send_by(sock, buf, current())
}

/// The deadline a stop sets: half of `child_wait_time`. The other half
/// is for what the stop still has to do once syslog is cut off: in the
/// test VM a 100 000-line stop still took a second to format its console
/// lines after the deadline (ipvs-scale, docs/benchmarks.md), which a
/// fifth of 5 s did not leave.
pub fn for_stop(started: Instant, child_wait: Duration) -> Instant {
    started + child_wait / 2
}

/// At the end of a stop: if lines were dropped, one more line says so,
/// with a little time of its own to reach syslog.
pub fn report_late() {
    let n = late();
    if n == 0 {
        return;
    }
    set(Instant::now() + Duration::from_millis(250));
    tracing::warn!(
        "{n} log lines were not sent to syslog: the syslog daemon did not take them before the stop's deadline (child_wait_time); console and file lines are whole"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair() -> (UnixDatagram, UnixDatagram) {
        let (a, b) = UnixDatagram::pair().expect("socketpair");
        a.set_nonblocking(true).expect("nonblocking");
        (a, b)
    }

    /// A receiver that never reads: lines fill its queue, then each waits
    /// until the deadline and is counted, and the sender gets its thread
    /// back soon after the deadline instead of never.
    #[test]
    fn a_full_queue_drops_at_the_deadline() {
        let (tx, rx) = pair();
        let deadline = Instant::now() + Duration::from_millis(300);
        let before = late();
        let mut sent = 0u64;
        let mut dropped = 0u64;
        for i in 0..5_000 {
            match send_by(&tx, format!("line {i}").as_bytes(), Some(deadline)).expect("send") {
                Sent::Yes => sent += 1,
                Sent::Late => dropped += 1,
            }
        }
        let back = Instant::now();
        assert!(sent > 0, "the queue took some");
        assert!(dropped > 0, "a queue never read must drop some");
        assert_eq!(sent + dropped, 5_000);
        assert!(late() - before >= dropped, "counted");
        assert!(back >= deadline, "waited for room until the deadline");
        assert!(
            back < deadline + Duration::from_millis(500),
            "and no longer: {:?} past it",
            back - deadline
        );
        // What was sent is what is queued, in order.
        rx.set_nonblocking(true).expect("nonblocking");
        let mut buf = [0u8; 64];
        let n = rx.recv(&mut buf).expect("first");
        assert_eq!(&buf[..n], b"line 0");
    }

    /// Without a deadline a full queue is waited out: a slow reader gets
    /// every line.
    #[test]
    fn without_a_deadline_every_line_waits_for_room() {
        let (tx, rx) = pair();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 64];
            let mut got = 0u32;
            while got < 3_000 {
                if got.is_multiple_of(500) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                rx.recv(&mut buf).expect("recv");
                got += 1;
            }
            got
        });
        for i in 0..3_000 {
            assert_eq!(
                send_by(&tx, format!("line {i}").as_bytes(), None).expect("send"),
                Sent::Yes
            );
        }
        assert_eq!(reader.join().expect("reader"), 3_000);
    }

    #[test]
    fn the_stop_budget_keeps_a_margin() {
        let t = Instant::now();
        assert_eq!(
            for_stop(t, Duration::from_secs(5)),
            t + Duration::from_millis(2_500)
        );
        assert_eq!(
            for_stop(t, Duration::from_secs(1)),
            t + Duration::from_millis(500)
        );
    }
}
