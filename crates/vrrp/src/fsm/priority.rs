// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Effective priority from tracking (inventory §C.6).
//!
//! The shell sums the weights of the tracked objects (scripts,
//! interfaces, files, processes, BFD) that currently apply; this module
//! turns base + sum into the priority the machine advertises.

/// The address owner's priority; tracking never moves it.
pub const PRIO_OWNER: u8 = 255;

/// keepalived's `vrrp_set_effective_priority`: an owner stays at 255;
/// anything else is clamped to 1..=254 so tracking can neither silence
/// an instance (0 means "stopping") nor make it an owner.
pub fn effective(base: u8, adjustment: i32) -> u8 {
    if base == PRIO_OWNER {
        return PRIO_OWNER;
    }
    let total = i64::from(base) + i64::from(adjustment);
    // The clamp makes the conversion infallible; 254 is only a fallback.
    u8::try_from(total.clamp(1, i64::from(PRIO_OWNER - 1))).unwrap_or(PRIO_OWNER - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clamps_and_keeps_owner() {
        assert_eq!(effective(100, 50), 150);
        assert_eq!(effective(100, -150), 1);
        assert_eq!(effective(200, 100), 254);
        assert_eq!(effective(254, 1), 254);
        assert_eq!(effective(255, -100), 255);
        assert_eq!(effective(1, i32::MIN), 1);
        assert_eq!(effective(1, i32::MAX), 254);
    }
}
