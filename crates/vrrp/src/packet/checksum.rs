// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The Internet checksum (RFC 1071) and the pseudo-headers VRRPv3 puts
//! under it (RFC 5798 §5.2.8).
//!
//! VRRPv2 (RFC 3768 §5.3.8) sums the VRRP message alone. VRRPv3 first sums
//! the IPv4 or IPv6 pseudo-header: source, destination, protocol 112 and
//! the VRRP message length.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::wire::IPPROTO_VRRP;

/// Adds `data` as big-endian 16-bit words to `acc` (an odd trailing byte is
/// padded with zero, as RFC 1071 says).
fn add_words(mut acc: u64, data: &[u8]) -> u64 {
    let mut words = data.chunks_exact(2);
    for w in &mut words {
        acc += u64::from(u16::from_be_bytes([w[0], w[1]]));
    }
    if let [last] = words.remainder() {
        acc += u64::from(u16::from_be_bytes([*last, 0]));
    }
    acc
}

/// Folds the carries back in and complements.
fn finish(mut acc: u64) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    // The loop leaves at most 16 significant bits.
    !(acc as u16)
}

fn pseudo_v4(src: Ipv4Addr, dst: Ipv4Addr, len: usize) -> u64 {
    let mut acc = add_words(0, &src.octets());
    acc = add_words(acc, &dst.octets());
    acc += u64::from(IPPROTO_VRRP);
    acc + len as u64
}

fn pseudo_v6(src: Ipv6Addr, dst: Ipv6Addr, len: usize) -> u64 {
    let mut acc = add_words(0, &src.octets());
    acc = add_words(acc, &dst.octets());
    acc += u64::from(IPPROTO_VRRP);
    // The upper-layer length is 32 bits wide: add both halves.
    acc + (len as u64 >> 16) + (len as u64 & 0xffff)
}

/// What the checksum covers besides the VRRP message itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pseudo {
    /// VRRPv2: the message alone.
    None,
    /// VRRPv3: the pseudo-header of the IP family of `src`/`dst`. Mixed
    /// families cannot come off one socket; they sum no pseudo-header.
    Ip { src: IpAddr, dst: IpAddr },
}

/// Sum of the pseudo-header and `msg`, complemented. Over a message that
/// carries its checksum this is 0 when the checksum is right; over a
/// message whose checksum field is 0 it is the value to write there.
pub(crate) fn compute(pseudo: Pseudo, msg: &[u8]) -> u16 {
    let acc = match pseudo {
        Pseudo::None => 0,
        Pseudo::Ip {
            src: IpAddr::V4(s),
            dst: IpAddr::V4(d),
        } => pseudo_v4(s, d, msg.len()),
        Pseudo::Ip {
            src: IpAddr::V6(s),
            dst: IpAddr::V6(d),
        } => pseudo_v6(s, d, msg.len()),
        Pseudo::Ip { .. } => 0,
    };
    finish(add_words(acc, msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(compute(Pseudo::None, &data), !0xddf2);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(compute(Pseudo::None, &[0x12]), !0x1200);
    }
}
