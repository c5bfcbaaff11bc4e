// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What a resolved name shows in the status model: its current addresses,
//! the TTL the last valid answer carried (time left on it), the last
//! result and the counters of every drop reason.

use serde::{Deserialize, Serialize};

use super::name::Target;

/// The last lookup's result, in HAProxy's status names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LastResult {
    /// No lookup has finished yet.
    None,
    Valid,
    Nx,
    Timeout,
    Refused,
    Other,
}

/// Counters since the name was configured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    pub queries: u64,
    pub valid: u64,
    pub nx: u64,
    pub timeouts: u64,
    pub refused: u64,
    pub other: u64,
    /// Records beyond `max_addresses` (or of the wrong family) dropped.
    pub records_dropped: u64,
    /// Datagrams that were not an answer to our query (wrong ID, question
    /// or source, malformed): counted by the I/O shell, kept here.
    pub answers_dropped: u64,
    pub addresses_added: u64,
    pub addresses_removed: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameStatus {
    pub name: String,
    pub addresses: Vec<Target>,
    /// Seconds left on the TTL of the last valid answer (it does not drive
    /// the schedule; HAProxy's timers do).
    pub ttl_left: Option<u64>,
    pub last_result: LastResult,
    /// No valid answer for longer than `hold valid`: the addresses are
    /// kept, but they are what DNS said a while ago.
    pub stale: bool,
    pub counters: Counters,
}
