// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Receive side, step 1: take what a raw socket delivered apart, without
//! knowing which instance it is for.
//!
//! keepalived does the same split: it reads the VRRP header wherever the
//! socket put it (dropping, with a log line and no counter, anything too
//! short to hold one), looks the instance up by VRID, and only then runs
//! the ordered checks of [`crate::packet::validate`]. So decoding fails
//! only when there is no VRRP header to read; everything else -- even a
//! length that contradicts the address count -- is left to validation, so
//! the drop lands on the right instance's counter in keepalived's order.

use std::net::{IpAddr, Ipv6Addr};

use pnet_packet::ipv4::Ipv4Packet;
use serde::{Deserialize, Serialize};

use crate::packet::advert::Advert;
use crate::packet::drop::DropReason;
use crate::packet::wire::{
    AH_LEN, AUTH_DATA_LEN, Auth, AuthType, Family, HEADER_LEN, IPPROTO_AH, MAX_V3_ADVERT_INT_CS,
    Version,
};

/// One datagram off a VRRP socket, parsed as far as needed to route it to
/// an instance ([`Received::vrid`]) and to validate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Received {
    /// Family of the socket it came from.
    pub family: Family,
    /// IP source (IPv4 header, or the IPv6 socket's peer address).
    pub src: IpAddr,
    /// IP destination (IPv4 header, or IPv6 `IPV6_PKTINFO`).
    pub dst: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6 `IPV6_HOPLIMIT`); `None` when the
    /// ancillary data did not carry it, which skips the TTL checks as in
    /// keepalived.
    pub ttl: Option<u8>,
    /// IPv4 Total Length field; `None` for IPv6.
    pub ip_total_len: Option<u16>,
    /// The IPv4 datagram was IP protocol 51: keepalived's IPsec AH header
    /// sat between the IP header and VRRP (and has been skipped).
    pub ah: bool,
    /// Bytes the socket delivered: the whole IPv4 datagram, or the IPv6
    /// payload. keepalived's length messages count these.
    pub received_len: usize,
    /// The VRRP message: everything after the IP (and AH) header, at
    /// least [`HEADER_LEN`] bytes.
    pub vrrp: Vec<u8>,
}

/// Decodes what an IPv4 `IPPROTO_VRRP` raw socket delivers: IPv4 header,
/// optional AH header, VRRP message.
///
/// Fails only when no VRRP header can be read: fewer bytes than an IPv4
/// header, a header that is not IPv4 or whose IHL is below 5 (the kernel
/// never delivers those), or too few bytes after it for the 8-byte VRRP
/// header (after a 24-byte AH header for protocol 51).
pub fn decode_v4(datagram: &[u8]) -> Result<Received, DropReason> {
    let min = Ipv4Packet::minimum_packet_size();
    let ip = Ipv4Packet::new(datagram).ok_or(DropReason::TooShort {
        received: datagram.len(),
        needed: min + HEADER_LEN,
    })?;
    let ihl = usize::from(ip.get_header_length()) * 4;
    if ip.get_version() != 4 || ihl < min {
        return Err(DropReason::MalformedIpHeader {
            version: ip.get_version(),
            header_len: ihl,
        });
    }
    let ah = ip.get_next_level_protocol().0 == IPPROTO_AH;
    let offset = if ah { ihl + AH_LEN } else { ihl };
    let vrrp = datagram
        .get(offset..)
        .filter(|v| v.len() >= HEADER_LEN)
        .ok_or(DropReason::TooShort {
            received: datagram.len(),
            needed: offset + HEADER_LEN,
        })?;
    Ok(Received {
        family: Family::Ipv4,
        src: IpAddr::V4(ip.get_source()),
        dst: IpAddr::V4(ip.get_destination()),
        ttl: Some(ip.get_ttl()),
        ip_total_len: Some(ip.get_total_length()),
        ah,
        received_len: datagram.len(),
        vrrp: vrrp.to_vec(),
    })
}

/// Decodes what an IPv6 `IPPROTO_VRRP` raw socket delivers: the VRRP
/// message alone, with the source from `recvmsg`'s address, the
/// destination from `IPV6_PKTINFO` and the hop limit from `IPV6_HOPLIMIT`.
///
/// Fails only when `payload` is shorter than the 8-byte VRRP header.
pub fn decode_v6(
    payload: &[u8],
    src: Ipv6Addr,
    dst: Ipv6Addr,
    hop_limit: Option<u8>,
) -> Result<Received, DropReason> {
    if payload.len() < HEADER_LEN {
        return Err(DropReason::TooShort {
            received: payload.len(),
            needed: HEADER_LEN,
        });
    }
    Ok(Received {
        family: Family::Ipv6,
        src: IpAddr::V6(src),
        dst: IpAddr::V6(dst),
        ttl: hop_limit,
        ip_total_len: None,
        ah: false,
        received_len: payload.len(),
        vrrp: payload.to_vec(),
    })
}

// Field accessors. `vrrp` is public (and deserializable), so nothing here
// assumes decode's length guarantee: missing bytes read as zero.
impl Received {
    fn byte(&self, i: usize) -> u8 {
        self.vrrp.get(i).copied().unwrap_or(0)
    }

    /// Version field (any 4-bit value; validation wants 2 or 3).
    pub fn version(&self) -> u8 {
        self.byte(0) >> 4
    }

    /// Type field (1 = ADVERTISEMENT).
    pub fn kind(&self) -> u8 {
        self.byte(0) & 0x0f
    }

    /// Virtual Router ID: the demultiplexing key.
    pub fn vrid(&self) -> u8 {
        self.byte(1)
    }

    pub fn priority(&self) -> u8 {
        self.byte(2)
    }

    /// Count IPvX Addrs field.
    pub fn count(&self) -> u8 {
        self.byte(3)
    }

    /// v2 Auth Type field (meaningless for v3).
    pub fn auth_type(&self) -> AuthType {
        AuthType::from_wire(self.byte(4))
    }

    /// v2 Adver Int field, in seconds.
    pub fn advert_int_v2_s(&self) -> u8 {
        self.byte(5)
    }

    /// v3 Max Adver Int field in centiseconds (reserved bits masked off).
    pub fn max_advert_int_v3_cs(&self) -> u16 {
        u16::from_be_bytes([self.byte(4), self.byte(5)]) & MAX_V3_ADVERT_INT_CS
    }

    /// The interval in centiseconds, read the way `version()` says.
    pub fn max_advert_int_cs(&self) -> u16 {
        if self.version() == 2 {
            u16::from(self.advert_int_v2_s()) * 100
        } else {
            self.max_advert_int_v3_cs()
        }
    }

    pub fn checksum(&self) -> u16 {
        u16::from_be_bytes([self.byte(6), self.byte(7)])
    }

    /// The VRRP message length the header announces: fixed header,
    /// `count` addresses of the socket's family, and for v2 over IPv4 the
    /// authentication data (keepalived's rule, whatever the instance).
    pub fn announced_len(&self) -> usize {
        let trailer = if self.family == Family::Ipv4 && self.version() == 2 {
            AUTH_DATA_LEN
        } else {
            0
        };
        HEADER_LEN + usize::from(self.count()) * self.family.address_len() + trailer
    }

    /// Bytes in front of the VRRP message (IPv4 + AH headers; 0 for IPv6).
    pub fn header_len(&self) -> usize {
        self.received_len.saturating_sub(self.vrrp.len())
    }

    /// The address list: up to `count` addresses, as many as the bytes
    /// hold.
    pub fn addresses(&self) -> Vec<IpAddr> {
        let len = self.family.address_len();
        self.vrrp
            .get(HEADER_LEN..)
            .unwrap_or_default()
            .chunks_exact(len)
            .take(usize::from(self.count()))
            .filter_map(|c| match self.family {
                Family::Ipv4 => <[u8; 4]>::try_from(c).ok().map(IpAddr::from),
                Family::Ipv6 => <[u8; 16]>::try_from(c).ok().map(IpAddr::from),
            })
            .collect()
    }

    /// v2 authentication data: the 8 bytes after the announced address
    /// list, if present.
    pub fn auth_data(&self) -> Option<[u8; AUTH_DATA_LEN]> {
        let start = HEADER_LEN + usize::from(self.count()) * self.family.address_len();
        self.vrrp
            .get(start..start + AUTH_DATA_LEN)
            .and_then(|s| s.try_into().ok())
    }

    /// The message as an [`Advert`], without any validation: `None` when
    /// the version is not 2 or 3 or the address list is cut short. For
    /// logs, captures and tests; instances use
    /// [`crate::packet::validate`].
    pub fn advert(&self) -> Option<Advert> {
        let version = match self.version() {
            2 => Version::V2,
            3 => Version::V3,
            _ => return None,
        };
        let addresses = self.addresses();
        if addresses.len() != usize::from(self.count()) {
            return None;
        }
        let auth = match (version, self.auth_type()) {
            (Version::V2, AuthType::Pass) => Auth::Pass(self.auth_data()?),
            _ => Auth::None,
        };
        Some(Advert {
            version,
            vrid: self.vrid(),
            priority: self.priority(),
            max_advert_int_cs: self.max_advert_int_cs(),
            auth,
            addresses,
        })
    }
}
