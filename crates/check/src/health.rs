// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the desired table needs to know from the health checks, and the
//! start-up rule used until they have said anything.
//!
//! keepalived (ipwrapper.c `init_service_rs`, check_data.c
//! `validate_check_config`): a real server is alive when none of its
//! checkers has failed. At start a checker counts as failed only in
//! `alpha` mode, so a real server without checkers, or whose checkers are
//! not in alpha mode, is in the table from the first moment, and one with
//! an alpha checker waits for its first success.

use keepalived_config::model::lvs::{RealServer, VirtualServer};

use crate::ids::RealServerId;

/// The checkers' verdicts, as the desired table reads them.
pub trait HealthView {
    /// Whether the real server is up (all its checkers up). None while no
    /// verdict exists: [`alive_at_start`] decides then.
    fn alive(&self, rs: &RealServerId) -> Option<bool>;

    /// The weight a dynamic checker set (MISC_CHECK `misc_dynamic`,
    /// FILE_CHECK `weight`), possibly negative or huge: it is clamped to
    /// IPVS's range. None = the configured weight.
    fn weight(&self, _rs: &RealServerId) -> Option<i64> {
        None
    }
}

/// No verdict for anyone: the table keepalived programs at start-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct AtStart;

impl HealthView for AtStart {
    fn alive(&self, _rs: &RealServerId) -> Option<bool> {
        None
    }
}

/// Any closure giving up/down verdicts.
impl<F> HealthView for F
where
    F: Fn(&RealServerId) -> Option<bool>,
{
    fn alive(&self, rs: &RealServerId) -> Option<bool> {
        self(rs)
    }
}

/// keepalived's start-up state: up unless one of its checkers runs in
/// alpha mode (its own `alpha`, else the real server's, else the virtual
/// server's).
pub fn alive_at_start(rs: &RealServer, vs: &VirtualServer) -> bool {
    rs.checkers.iter().all(|c| !c.effective(rs, vs).alpha)
}

/// keepalived's `real_weight`: a dynamic weight clamped to what IPVS takes.
pub fn real_weight(w: i64) -> u32 {
    u32::try_from(w.clamp(0, i64::from(i32::MAX))).unwrap_or(0)
}
