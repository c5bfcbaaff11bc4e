// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Sans-IO VRRP v2/v3: packet codec and the RFC 5798 state machine.
//!
//! Empty until the VRRP issue lands; the crate exists so the workspace
//! shape (and its dependency arrows) is fixed from the start.

pub mod packet;
