// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A one-shot timer with microsecond precision on CLOCK_MONOTONIC.
//!
//! tokio's timer wheel rounds every sleep up to the next millisecond
//! tick, so a master-down timer would fire up to 1 ms late (and more
//! under load). VRRP's deadlines matter at that scale (`advert_int 0.01`
//! gives a 36 ms master-down interval, which keepalived meets within
//! ~0.2 ms), so the VRRP core sleeps on a timerfd armed with an absolute
//! deadline instead, polled by the runtime like any other fd.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use nix::time::{ClockId as Clock, clock_gettime};
use tokio::io::unix::AsyncFd;

/// Time since an arbitrary fixed point (boot), on the clock the timer
/// uses. Deadlines given to [`PreciseTimer::sleep_until`] are on this
/// scale.
pub fn monotonic_now() -> Duration {
    match clock_gettime(Clock::CLOCK_MONOTONIC) {
        Ok(ts) => Duration::from(ts),
        // CLOCK_MONOTONIC cannot fail on Linux; be safe rather than panic.
        Err(_) => Duration::ZERO,
    }
}

struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

impl Fd {
    fn fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

/// One timerfd; re-armed by every [`sleep_until`](Self::sleep_until).
pub struct PreciseTimer {
    fd: AsyncFd<Fd>,
    /// The deadline the timerfd is armed with and has not yet reported:
    /// a loop that asks for the same deadline again (every wake-up for a
    /// datagram does) costs no syscall.
    /// In nanoseconds; 0 = not armed.
    armed: AtomicU64,
}

impl PreciseTimer {
    /// Must be called inside a tokio runtime.
    #[allow(unsafe_code)]
    pub fn new() -> io::Result<Self> {
        let t = TimerFd::new(
            ClockId::CLOCK_MONOTONIC,
            TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        // SAFETY: `TimerFd` owns its descriptor; it stays open, with the
        // same number, until the AsyncFd (which never gives it away)
        // drops it.
        let fd = unsafe { AsyncFd::register(Fd(t)) }?;
        Ok(Self {
            fd,
            armed: AtomicU64::new(0),
        })
    }

    /// Completes at `deadline` (on the [`monotonic_now`] scale); at once
    /// when it has passed. Cancel-safe: dropping the future leaves the
    /// timer armed; the next call keeps it when its deadline is the same
    /// and re-arms it otherwise (which also resets any expiry nobody
    /// read).
    pub async fn sleep_until(&self, deadline: Duration) -> io::Result<()> {
        if deadline <= monotonic_now() {
            return Ok(());
        }
        // A zero it_value would disarm the timer: 1 ns is the smallest
        // deadline, and any real deadline is far beyond it.
        let wanted = u64::try_from(deadline.as_nanos()).unwrap_or(u64::MAX);
        if self.armed.load(Ordering::Relaxed) != wanted {
            let at = TimeSpec::from_duration(deadline.max(Duration::from_nanos(1)));
            self.armed.store(0, Ordering::Relaxed);
            self.fd
                .get_ref()
                .0
                .set(
                    Expiration::OneShot(at),
                    TimerSetTimeFlags::TFD_TIMER_ABSTIME,
                )
                .map_err(io::Error::from)?;
            self.armed.store(wanted, Ordering::Relaxed);
        }
        loop {
            let mut guard = self.fd.readable().await?;
            let mut buf = [0u8; 8];
            match guard.try_io(|fd| {
                nix::unistd::read(fd.get_ref().fd(), &mut buf).map_err(io::Error::from)
            }) {
                Ok(Ok(_)) => {
                    self.armed.store(0, Ordering::Relaxed);
                    return Ok(());
                }
                Ok(Err(e)) => return Err(e),
                // Readiness left over from an earlier arming: wait again.
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn fires_at_the_deadline_not_a_millisecond_tick_later() {
        rt().block_on(async {
            let t = PreciseTimer::new().unwrap();
            for i in 0..20u64 {
                // Deadlines off the millisecond grid on purpose.
                let deadline = monotonic_now() + Duration::from_micros(2_300 + 37 * i);
                // Poll once so the timer is armed, then ask the kernel what
                // it holds: the exact deadline, not one rounded up to a
                // millisecond tick as tokio's wheel would. This is what
                // makes the wake-up precise; how soon the scheduler then
                // runs us depends on the machine's load, which a unit test
                // must not assert on (the failover benchmarks measure it).
                tokio::select! {
                    biased;
                    _ = t.sleep_until(deadline) => panic!("fired before its deadline"),
                    () = tokio::task::yield_now() => {}
                }
                let after = monotonic_now();
                let Some(Expiration::OneShot(left)) = t.fd.get_ref().0.get().unwrap() else {
                    panic!("timer not armed");
                };
                let left = Duration::from(left);
                let read_at = monotonic_now();
                // The kernel read `left` between `after` and `read_at`.
                assert!(
                    left <= deadline.saturating_sub(after) + Duration::from_micros(1),
                    "armed {left:?} ahead, deadline {:?} ahead",
                    deadline.saturating_sub(after)
                );
                assert!(
                    left + Duration::from_micros(1) >= deadline.saturating_sub(read_at),
                    "armed {left:?} ahead, deadline {:?} ahead",
                    deadline.saturating_sub(read_at)
                );
                t.sleep_until(deadline).await.unwrap();
                let now = monotonic_now();
                assert!(now >= deadline, "fired early by {:?}", deadline - now);
            }
        });
    }

    #[test]
    fn a_cancelled_sleep_does_not_wake_the_next_one_early() {
        rt().block_on(async {
            let t = PreciseTimer::new().unwrap();
            // Armed, abandoned before it fires, then left to fire unread.
            let soon = monotonic_now() + Duration::from_millis(1);
            tokio::select! {
                biased;
                _ = t.sleep_until(soon) => panic!("a 1 ms timer fired at once"),
                () = tokio::task::yield_now() => {}
            }
            tokio::time::sleep(Duration::from_millis(3)).await;
            let deadline = monotonic_now() + Duration::from_millis(20);
            t.sleep_until(deadline).await.unwrap();
            assert!(monotonic_now() >= deadline);
        });
    }

    #[test]
    fn asking_again_for_the_same_deadline_still_fires_once_at_it() {
        rt().block_on(async {
            let t = PreciseTimer::new().unwrap();
            let deadline = monotonic_now() + Duration::from_millis(3);
            // Abandoned twice before it fires, as a loop woken by datagrams
            // does, then awaited.
            for _ in 0..2 {
                tokio::select! {
                    biased;
                    _ = t.sleep_until(deadline) => panic!("fired early"),
                    () = tokio::task::yield_now() => {}
                }
            }
            t.sleep_until(deadline).await.unwrap();
            assert!(monotonic_now() >= deadline);
            let next = monotonic_now() + Duration::from_millis(2);
            t.sleep_until(next).await.unwrap();
            assert!(monotonic_now() >= next);
        });
    }

    #[test]
    fn a_past_deadline_returns_at_once() {
        rt().block_on(async {
            let t = PreciseTimer::new().unwrap();
            let start = monotonic_now();
            t.sleep_until(Duration::from_nanos(1)).await.unwrap();
            assert!(monotonic_now() - start < Duration::from_millis(5));
        });
    }
}
