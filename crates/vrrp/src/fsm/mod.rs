// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The sans-IO VRRP state machine.
//!
//! The shell owns sockets, clocks and the kernel; it feeds
//! [`Instance::handle`] with [`Input`]s and the current [`Instant`],
//! executes the returned [`Action`]s in order, and calls
//! [`Instance::handle`] with [`Input::Timer`] when
//! [`Instance::next_deadline`] is reached.

pub mod event;
pub mod instance;
pub mod params;
pub mod priority;
pub mod time;
pub mod timers;

/// The protocol version: the codec's type, re-exported for the machine's
/// users.
pub use crate::packet::Version;
pub use event::{Action, GarpReason, Input, RxAdvert, State};
pub use instance::Instance;
pub use params::{GarpParams, InitialState, InstanceParams, ParamsError};
pub use time::Instant;
