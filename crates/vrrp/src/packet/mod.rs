// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Sans-IO VRRPv2 (RFC 3768) / VRRPv3 (RFC 5798) codec over IPv4 and IPv6,
//! byte-compatible with keepalived 2.2.7.
//!
//! Receive: [`decode_v4`] / [`decode_v6`] turn what a raw socket delivered
//! into a [`Received`] (fails only without a readable VRRP header); the
//! I/O shell routes it by [`Received::vrid`], then [`validate`] runs
//! keepalived's checks against the instance's [`RxExpect`] and yields an
//! [`Accepted`] advert or a [`DropReason`]; [`RxStats::record`] counts
//! either. Send: [`encode`] builds the VRRP payload with its checksum.

mod advert;
mod checksum;
mod drop;
mod rx;
mod stats;
mod validate;
mod wire;

pub use advert::{Advert, encode};
pub use drop::DropReason;
pub use rx::{Received, decode_v4, decode_v6};
pub use stats::RxStats;
pub use validate::{
    Accepted, MCAST_GROUP4, RxAuth, RxExpect, UnicastChecksum, UnicastPeer, validate,
};
pub use wire::{
    AH_LEN, AUTH_DATA_LEN, Auth, AuthType, Family, HEADER_LEN, IPPROTO_AH, IPPROTO_VRRP,
    MAX_V3_ADVERT_INT_CS, REQUIRED_TTL, TYPE_ADVERTISEMENT, Version,
};
