// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Real servers named by DNS: the wire side (query, answer validation)
//! and the I/O shell that sends lookups to the configured nameservers.

pub mod net;
pub mod wire;
