// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Why a received datagram was not accepted as an advertisement.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::packet::wire::{AuthType, Family};

/// One variant per check, listed in the order the checks run (decode
/// first, then [`crate::packet::validate`]); the messages follow
/// keepalived's log lines in our own words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum DropReason {
    // ----- decode (before the instance is known) -----
    /// Too few bytes for the IP header (IPv4) and the 8-byte VRRP header.
    #[error("VRRP packet too short: {received} bytes, need at least {needed}")]
    TooShort { received: usize, needed: usize },
    /// The IPv4 raw socket delivered something that is not an IPv4 header.
    #[error("malformed IPv4 header: version {version}, header length {header_len}")]
    MalformedIpHeader { version: u8, header_len: usize },

    // ----- demultiplexing (the I/O shell normally does this) -----
    /// The advert belongs to another family than the instance.
    #[error("{received} advert for an {family} instance")]
    WrongFamily { received: Family, family: Family },
    /// No instance with this VRID on the socket (keepalived ignores these,
    /// logging them only with `log_unknown_vrids`).
    #[error("unknown VRID {vrid}")]
    UnknownVrid { vrid: u8 },

    // ----- validation, in keepalived's order -----
    /// Auth type differs from ours. Also how keepalived's IPsec AH adverts
    /// end (IP protocol 51, or Auth Type 2): we do not implement AH.
    #[error("received {received} authentication, expected {expected}")]
    AuthTypeMismatch {
        received: AuthType,
        expected: AuthType,
    },
    /// The bytes received differ from what the header's version and count
    /// announce (lengths include the IP header for IPv4).
    #[error("VRRP packet too {}: {received} bytes, expected {expected}", if received > expected { "long" } else { "short" })]
    LengthMismatch { received: usize, expected: usize },
    /// Multicast advert with TTL / hop limit other than 255.
    #[error("invalid TTL/hop limit {ttl}, expected 255")]
    InvalidTtl { ttl: u8 },
    #[error("wrong VRRP version {received}, expected {expected}")]
    VersionMismatch { received: u8, expected: u8 },
    /// v2 Auth Type other than none, PASS or AH.
    #[error("invalid authentication type {auth_type}")]
    InvalidAuthType { auth_type: u8 },
    /// v2 PASS password differs (compared in constant time).
    #[error("invalid authentication password")]
    AuthFailure,
    /// v2 Adver Int differs from ours. Dropped so that two routers with
    /// different intervals do not both settle as master of one VRID.
    #[error("advertisement interval mismatch: ours {expected_s} s, received {received_s} s")]
    IntervalMismatch { received_s: u8, expected_s: u16 },
    /// Type is not ADVERTISEMENT.
    #[error("invalid packet type {kind}, expected 1 (advertisement)")]
    InvalidType { kind: u8 },
    /// Count IPvX Addrs differs from our number of virtual addresses.
    #[error("unexpected address count {received}, expected {expected}")]
    AddressCountMismatch { received: u8, expected: usize },
    /// IPv4 Total Length differs from the bytes received.
    #[error("IPv4 total length {ip_total_len} but {received} bytes received")]
    IpTotalLengthMismatch { ip_total_len: u16, received: usize },
    #[error("invalid VRRPv{version} checksum 0x{received:04x}")]
    ChecksumError { version: u8, received: u16 },
    /// Multicast advert on a unicast instance or the reverse.
    #[error("expected {} packet but received {} packet", if *expected_multicast { "multicast" } else { "unicast" }, if *expected_multicast { "unicast" } else { "multicast" })]
    CastMismatch { expected_multicast: bool },
    /// One of our virtual addresses is not in the advert.
    #[error("virtual address {address} not present in the advert")]
    AddressMissing { address: IpAddr },
    /// Unicast source is not one of our peers (`check_unicast_src`).
    #[error("unicast source {src} is not a unicast peer")]
    UnicastSourceNotPeer { src: IpAddr },
    /// Unicast TTL outside the peer's `min_ttl`..`max_ttl`.
    #[error("TTL/hop limit {ttl} not in range {min} - {max}")]
    TtlOutOfRange { ttl: u8, min: u8, max: u8 },
}

impl DropReason {
    /// True for the checks keepalived runs after it has counted the packet
    /// as a received advertisement (`advert_rcvd`): the address-list and
    /// unicast-source checks.
    pub fn counted_as_received(&self) -> bool {
        matches!(
            self,
            DropReason::AddressMissing { .. }
                | DropReason::UnicastSourceNotPeer { .. }
                | DropReason::TtlOutOfRange { .. }
        )
    }
}
