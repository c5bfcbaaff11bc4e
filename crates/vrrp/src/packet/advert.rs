// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The advertisement as data, and its encoder.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::packet::checksum::{self, Pseudo};
use crate::packet::wire::{
    AUTH_DATA_LEN, Auth, Family, HEADER_LEN, MAX_V3_ADVERT_INT_CS, TYPE_ADVERTISEMENT, Version,
};

/// A VRRP ADVERTISEMENT (the only VRRP message type).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Advert {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advertisement interval in centiseconds. v3 carries it as such (12
    /// bits); v2 carries whole seconds, so a decoded v2 value is a multiple
    /// of 100.
    pub max_advert_int_cs: u16,
    /// v2 authentication; always [`Auth::None`] for v3.
    pub auth: Auth,
    /// The virtual addresses, in the order sent.
    pub addresses: Vec<IpAddr>,
}

/// Encodes `advert` as the VRRP payload the kernel wraps in an IP header
/// (IPv4 raw sockets with `IP_HDRINCL` off, IPv6 raw sockets).
///
/// `src` and `dst` are the addresses of the IP header: the family of `src`
/// picks the address size and, for v3, the pseudo-header. keepalived's
/// v3-over-IPv4 unicast adverts use the peer's address as `dst` (one
/// packet per peer, each with its own checksum) -- unless the instance
/// runs the pre-1.3.6 "old unicast checksum" (configured, or detected from
/// a peer): then the pseudo-header destination is the multicast group even
/// though the packet goes to the peer, so pass the group as `dst` (see
/// [`crate::packet::UnicastChecksum::pseudo_destination`]). For IPv6
/// keepalived lets the kernel fill the checksum (`IPV6_CHECKSUM`); we
/// compute the same value so the bytes are right either way.
///
/// Values the wire cannot carry are clamped, never panicked on: addresses
/// of the other family than `src` are left out, at most 255 addresses are
/// written (keepalived moves the surplus to the excluded list at config
/// time), a v2 interval is written as whole seconds (rounded down, at
/// most 255), a v3 interval as at most 4095 cs, and v3 ignores `auth`.
pub fn encode(advert: &Advert, src: IpAddr, dst: IpAddr) -> Vec<u8> {
    let family = Family::of(src);
    let addresses: Vec<IpAddr> = advert
        .addresses
        .iter()
        .copied()
        .filter(|a| Family::of(*a) == family)
        .take(usize::from(u8::MAX))
        .collect();
    let count = u8::try_from(addresses.len()).unwrap_or(u8::MAX);
    let has_auth_trailer = advert.version == Version::V2 && family == Family::Ipv4;

    let mut out = Vec::with_capacity(
        HEADER_LEN
            + addresses.len() * family.address_len()
            + if has_auth_trailer { AUTH_DATA_LEN } else { 0 },
    );
    out.push(advert.version.number() << 4 | TYPE_ADVERTISEMENT);
    out.push(advert.vrid);
    out.push(advert.priority);
    out.push(count);
    match advert.version {
        Version::V2 => {
            out.push(advert.auth.auth_type().to_wire());
            out.push(u8::try_from(advert.max_advert_int_cs / 100).unwrap_or(u8::MAX));
        }
        Version::V3 => {
            // The 4 reserved bits stay zero.
            let cs = advert.max_advert_int_cs.min(MAX_V3_ADVERT_INT_CS);
            out.extend_from_slice(&cs.to_be_bytes());
        }
    }
    out.extend_from_slice(&[0, 0]);
    for a in &addresses {
        match a {
            IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
            IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
        }
    }
    if has_auth_trailer {
        match advert.auth {
            Auth::None => out.extend_from_slice(&[0; AUTH_DATA_LEN]),
            Auth::Pass(data) => out.extend_from_slice(&data),
        }
    }

    let pseudo = match advert.version {
        Version::V2 => Pseudo::None,
        Version::V3 => Pseudo::Ip { src, dst },
    };
    let sum = checksum::compute(pseudo, &out);
    out[6..8].copy_from_slice(&sum.to_be_bytes());
    out
}
