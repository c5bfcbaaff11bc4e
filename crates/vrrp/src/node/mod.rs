// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The VRRP node: every instance and tracked object of one VRRP
//! process, sans-IO (shared/DESIGN.md "The VRRP node").
//!
//! The shell feeds [`Node::handle`] with [`Event`]s (decoded adverts,
//! link changes, script results, file values, timers) and the current
//! [`crate::fsm::Instant`], carries out the returned [`Effect`]s in
//! order, and sends [`Event::Timer`] when [`Node::next_deadline`] is
//! reached. Fault causes and effective priorities are decided here,
//! never in the shell.

pub mod announce;
pub mod config;
pub mod core;
pub mod event;
pub mod owned;
pub mod process;
pub mod static_track;
pub mod status;
mod sync;
pub mod track;
pub mod vmac;

pub use self::core::Node;
pub use announce::{AnnounceSpec, AnnounceStatus};
pub use event::{Effect, Event, FaultCause, InstanceSpec, SyncGroupSpec};
pub use owned::Owned;
pub use status::{InstanceStatus, TrackedStatus};
pub use track::{ScriptHealth, ScriptParams, ScriptTracker, TrackUse, Verdict};
pub use vmac::VmacSpec;
