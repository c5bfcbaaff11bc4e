// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Quorum with hysteresis, per virtual server (ipwrapper.c
//! `update_quorum_state`, `set_quorum_states`).
//!
//! The quorum is the sum of the (clamped) weights of the alive real
//! servers. Down -> up when the sum reaches `quorum + hysteresis`; up ->
//! down when it falls below `quorum - hysteresis`, or to 0. Because the
//! state depends on its past, it lives in a [`QuorumBook`] the caller keeps
//! between calls of `desired_table`, which only reads it: the health book's
//! reconciler moves it (and logs and notifies each move), and prunes it on
//! reload with [`QuorumBook::retain`].

use std::collections::BTreeMap;

use crate::ids::VirtualServerId;

/// One virtual server's next quorum state.
///
/// keepalived starts each virtual server with quorum "up" only when
/// `quorum + hysteresis` is 0 (no real server is alive yet when it first
/// computes it), then re-evaluates once its real servers are in.
/// Deviation: gaining quorum also needs a non-zero sum, so that a virtual
/// server whose real servers all weigh 0 (quorum lowered to 0) stays down
/// instead of flipping at every re-evaluation as keepalived's rule would.
pub fn next_state(up: bool, weight_sum: u64, quorum: u32, hysteresis: u32) -> bool {
    let (q, h) = (u64::from(quorum), u64::from(hysteresis));
    if up {
        !(weight_sum == 0 || weight_sum < q.saturating_sub(h))
    } else {
        weight_sum > 0 && weight_sum >= q + h
    }
}

/// Quorum state of every virtual server, carried from one computation of
/// the desired table to the next (and across reloads: the identity is
/// keepalived's).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QuorumBook {
    up: BTreeMap<VirtualServerId, bool>,
    /// Moves recorded so far: lets a reader that follows every quorum
    /// (announces) skip its walk when nothing moved.
    moves: u64,
}

impl QuorumBook {
    pub fn new() -> Self {
        Self::default()
    }

    /// The recorded state, or for a virtual server not seen yet the one it
    /// starts in (keepalived's `set_quorum_states`: up when the live
    /// weight reaches `quorum + hysteresis`). Reads only.
    pub fn state(
        &self,
        vs: &VirtualServerId,
        weight_sum: u64,
        quorum: u32,
        hysteresis: u32,
    ) -> bool {
        self.up
            .get(vs)
            .copied()
            .unwrap_or_else(|| next_state(false, weight_sum, quorum, hysteresis))
    }

    /// The recorded state, if any.
    pub fn get(&self, vs: &VirtualServerId) -> Option<bool> {
        self.up.get(vs).copied()
    }

    pub fn set(&mut self, vs: &VirtualServerId, up: bool) {
        self.record(vs, up);
    }

    /// How many times a recorded state changed (or appeared).
    pub fn moves(&self) -> u64 {
        self.moves
    }

    fn record(&mut self, vs: &VirtualServerId, up: bool) {
        if self.up.insert(vs.clone(), up) != Some(up) {
            self.moves += 1;
        }
    }

    /// The state after seeing `weight_sum`, recorded.
    pub fn update(
        &mut self,
        vs: &VirtualServerId,
        weight_sum: u64,
        quorum: u32,
        hysteresis: u32,
    ) -> bool {
        let before = self
            .up
            .get(vs)
            .copied()
            .unwrap_or(u64::from(quorum) + u64::from(hysteresis) == 0);
        let after = next_state(before, weight_sum, quorum, hysteresis);
        self.record(vs, after);
        after
    }

    /// Forgets virtual servers the configuration no longer has.
    pub fn retain(&mut self, keep: impl Fn(&VirtualServerId) -> bool) {
        let before = self.up.len();
        self.up.retain(|k, _| keep(k));
        if self.up.len() != before {
            self.moves += 1;
        }
    }
}
