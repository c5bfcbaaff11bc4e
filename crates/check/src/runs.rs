// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What one checker has done since it was created: runs, failures and a
//! latency histogram with fixed buckets. Part of the checker's status
//! (DESIGN.md "One status model"); the metrics endpoint sums the
//! histograms of a virtual server's checkers, which fixed, shared bucket
//! bounds make exact. Kept across reloads with the machine.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Upper bounds of the latency buckets, in microseconds; a last, open
/// bucket takes the rest. 1 ms to 10 s covers a LAN TCP connect up to a
/// `connect_timeout` at its usual maximum.
pub const LATENCY_BOUNDS_US: [u64; 13] = [
    1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunStats {
    /// Runs that finished with a verdict (success or failure).
    pub runs: u64,
    /// Of those, failures.
    pub failures: u64,
    /// Runs that could not be tried (local bind or socket error).
    pub local_errors: u64,
    /// Runs per latency bucket (not cumulative); the last is above
    /// every bound.
    pub latency_buckets: [u64; 14],
    pub latency_sum_us: u64,
}

impl RunStats {
    /// Adds `other`'s counts (a virtual server's histogram is the sum of
    /// its checkers').
    pub fn merge(&mut self, other: &RunStats) {
        self.runs += other.runs;
        self.failures += other.failures;
        self.local_errors += other.local_errors;
        for (a, b) in self.latency_buckets.iter_mut().zip(other.latency_buckets) {
            *a += b;
        }
        self.latency_sum_us = self.latency_sum_us.saturating_add(other.latency_sum_us);
    }

    pub fn record(&mut self, failed: bool, latency: Duration) {
        self.runs += 1;
        if failed {
            self.failures += 1;
        }
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.latency_buckets.get_mut(bucket_of(us)) {
            *b += 1;
        }
        self.latency_sum_us = self.latency_sum_us.saturating_add(us);
    }
}

/// [`RunStats`] as each checker keeps it: 32-bit counts, which saturate
/// (at ten runs a second, after 13 years), in 80 bytes instead of 144 for
/// every checker (issue 10). Sums over checkers are [`RunStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunCounts {
    runs: u32,
    failures: u32,
    local_errors: u32,
    latency_buckets: [u32; 14],
    latency_sum_us: u64,
}

impl RunCounts {
    pub fn record(&mut self, failed: bool, latency: Duration) {
        self.runs = self.runs.saturating_add(1);
        if failed {
            self.failures = self.failures.saturating_add(1);
        }
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        if let Some(b) = self.latency_buckets.get_mut(bucket_of(us)) {
            *b = b.saturating_add(1);
        }
        self.latency_sum_us = self.latency_sum_us.saturating_add(us);
    }

    pub fn local_error(&mut self) {
        self.local_errors = self.local_errors.saturating_add(1);
    }

    pub fn stats(&self) -> RunStats {
        RunStats {
            runs: u64::from(self.runs),
            failures: u64::from(self.failures),
            local_errors: u64::from(self.local_errors),
            latency_buckets: self.latency_buckets.map(u64::from),
            latency_sum_us: self.latency_sum_us,
        }
    }
}

/// The bucket a latency of `us` falls in.
fn bucket_of(us: u64) -> usize {
    LATENCY_BOUNDS_US
        .iter()
        .position(|&b| us <= b)
        .unwrap_or(LATENCY_BOUNDS_US.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_land_in_their_bucket() {
        let mut r = RunStats::default();
        r.record(false, Duration::from_micros(1_000));
        r.record(true, Duration::from_millis(3));
        r.record(false, Duration::from_secs(60));
        assert_eq!((r.runs, r.failures), (3, 1));
        assert_eq!(r.latency_buckets[0], 1);
        assert_eq!(r.latency_buckets[2], 1);
        assert_eq!(r.latency_buckets[13], 1);
        assert_eq!(r.latency_sum_us, 1_000 + 3_000 + 60_000_000);
    }

    #[test]
    fn compact_counts_read_as_the_same_stats() {
        let mut wide = RunStats::default();
        let mut compact = RunCounts::default();
        for (failed, ms) in [(false, 1), (true, 3), (false, 60_000), (false, 7)] {
            wide.record(failed, Duration::from_millis(ms));
            compact.record(failed, Duration::from_millis(ms));
        }
        compact.local_error();
        wide.local_errors += 1;
        assert_eq!(compact.stats(), wide);
    }
}
