// SPDX-License-Identifier: Apache-2.0 OR MIT
//! PING_CHECK's one setting outside the probe: keepalived's checker widens
//! `net.ipv4.ping_group_range` to start at gid 0 when a PING_CHECK is
//! configured (the kernel opens a ping socket only for a group in that
//! range, root included) and puts the first gid back when it stops
//! (check_ping.c `set_ping_group_range`).

use std::path::Path;

use keepalived_probe::ping::group_range;

/// Widens the range; returns what it was when it changed. A failure is
/// logged: each PING_CHECK run then reports the socket it cannot open.
pub fn widen_group_range() -> Option<(u32, u32)> {
    match group_range::widen(Path::new(group_range::PATH)) {
        Ok(Some(old)) => {
            if old.0 > 1 && old.1 > 1 {
                tracing::info!(
                    "Warning: {} being expanded from {} {} to 0 {}",
                    group_range::PATH,
                    old.0,
                    old.1,
                    old.1
                );
            }
            Some(old)
        }
        Ok(None) => None,
        Err(e) => {
            tracing::warn!("cannot widen {}: {e}", group_range::PATH);
            None
        }
    }
}

pub fn restore_group_range(old: (u32, u32)) {
    if let Err(e) = group_range::restore(Path::new(group_range::PATH), old) {
        tracing::warn!("cannot restore {}: {e}", group_range::PATH);
    }
}
