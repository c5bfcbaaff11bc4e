// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker machines' clock: a plain value the caller passes in.
//!
//! keepalived counts checker time in microseconds (`TIMER_HZ`), as the
//! configuration's `Timer` does; so do we, so every schedule is integer
//! arithmetic that tests can replay exactly on a virtual clock.

use std::ops::{Add, Sub};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A point in time, in microseconds since an epoch the caller chooses
/// (the child's start for the daemon, zero for tests).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Instant(u64);

impl Instant {
    pub const ZERO: Instant = Instant(0);

    pub const fn from_micros(us: u64) -> Self {
        Self(us)
    }

    pub const fn as_micros(self) -> u64 {
        self.0
    }

    pub fn from_secs_f64(s: f64) -> Self {
        Self((s * 1e6).round() as u64)
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;

    /// Saturates: a deadline at the end of time is never reached.
    fn add(self, d: Duration) -> Instant {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(us))
    }
}

impl Sub<Instant> for Instant {
    type Output = Duration;

    /// Zero when `rhs` is later.
    fn sub(self, rhs: Instant) -> Duration {
        Duration::from_micros(self.0.saturating_sub(rhs.0))
    }
}
