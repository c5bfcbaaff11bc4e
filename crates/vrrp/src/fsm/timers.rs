// SPDX-License-Identifier: Apache-2.0 OR MIT
//! RFC 3768 §6.1 / RFC 5798 §6.1 timer arithmetic, in keepalived's
//! integer microseconds so our deadlines match its to the microsecond.

use std::time::Duration;

use crate::fsm::time::{TIMER_CENTI_HZ, TIMER_HZ, micros};
use crate::packet::Version;

/// Skew_Time for `priority` (the effective one, as keepalived uses).
///
/// VRRPv2 (RFC 3768): `(256 - priority) / 256` seconds, whatever the
/// advertisement interval. VRRPv3 (RFC 5798): scaled by
/// Master_Adver_Interval, computed as keepalived does, first truncating
/// the interval to whole centiseconds (`625 / 16 == 10 000 / 256`).
pub fn skew(version: Version, priority: u8, master_adver_int: Duration) -> Duration {
    skew_units(version, 256 - u64::from(priority), master_adver_int)
}

/// The smallest skew (priority 255): keepalived's first wait for an
/// instance configured `state MASTER` below priority 255.
pub fn skew_min(version: Version, master_adver_int: Duration) -> Duration {
    skew_units(version, 1, master_adver_int)
}

fn skew_units(version: Version, units: u64, master_adver_int: Duration) -> Duration {
    let us = match version {
        Version::V2 => units * TIMER_HZ / 256,
        Version::V3 => {
            let cs = micros(master_adver_int) / TIMER_CENTI_HZ;
            units.saturating_mul(cs).saturating_mul(625) / 16
        }
    };
    Duration::from_micros(us)
}

/// Master_Down_Interval: `adverts` (keepalived's `down_timer_adverts`,
/// 3 by default as in the RFCs) intervals plus the skew.
pub fn master_down(
    version: Version,
    priority: u8,
    master_adver_int: Duration,
    adverts: u32,
) -> Duration {
    master_adver_int.saturating_mul(adverts) + skew(version, priority, master_adver_int)
}
