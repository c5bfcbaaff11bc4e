// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Field layout of the VRRP message shared by v2 and v3.
//!
//! ```text
//! VRRPv2 (RFC 3768 §5.1)                 VRRPv3 (RFC 5798 §5.1)
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2: |   Auth Type   |   Adver Int   |          Checksum         |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |             IPv4 (4 bytes) or IPv6 (16 bytes) addresses       |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2 over IPv4 only:  Authentication Data (8 bytes)               |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! v2 Adver Int is in seconds; v3 Max Adver Int is 12 bits of
//! centiseconds. keepalived appends the 8 authentication bytes to every v2
//! IPv4 message (zeros without authentication) and none to IPv6 ones.

use serde::{Deserialize, Serialize};

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: u8 = 112;
/// IP protocol number of the IPsec AH header keepalived's v2 `auth_type AH`
/// puts in front of VRRP.
pub const IPPROTO_AH: u8 = 51;
/// Length of that AH header as keepalived builds it (next header, payload
/// length, reserved, SPI, sequence number, 96-bit HMAC-MD5 ICV).
pub const AH_LEN: usize = 24;
/// Fixed VRRP header (version through checksum).
pub const HEADER_LEN: usize = 8;
/// v2 authentication data trailer.
pub const AUTH_DATA_LEN: usize = 8;
/// TTL / hop limit every multicast advert must carry (RFC 5798 §5.1.1.3).
pub const REQUIRED_TTL: u8 = 255;
/// Type field of an ADVERTISEMENT, the only type defined.
pub const TYPE_ADVERTISEMENT: u8 = 1;
/// Largest v3 Max Adver Int (12 bits of centiseconds).
pub const MAX_V3_ADVERT_INT_CS: u16 = 0x0fff;

/// Protocol version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    /// The 4-bit value on the wire.
    pub fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

/// Address family of the instance (and of the socket an advert came from).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    /// Bytes per address in the address list.
    pub fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    /// Family of `addr`.
    pub fn of(addr: std::net::IpAddr) -> Family {
        if addr.is_ipv4() {
            Family::Ipv4
        } else {
            Family::Ipv6
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Family::Ipv4 => "IPv4",
            Family::Ipv6 => "IPv6",
        })
    }
}

/// The v2 Auth Type field (RFC 2338 / keepalived: 0 none, 1 simple text
/// password, 2 IPsec AH). RFC 3768 removed 1 and 2; keepalived still
/// speaks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthType {
    None,
    Pass,
    /// keepalived's IPsec AH authentication. We do not implement it: such
    /// adverts are decoded and dropped as an authentication-type mismatch.
    Ah,
    /// Any other value: an invalid authentication type.
    Other(u8),
}

impl AuthType {
    /// From the wire value.
    pub fn from_wire(v: u8) -> AuthType {
        match v {
            0 => AuthType::None,
            1 => AuthType::Pass,
            2 => AuthType::Ah,
            other => AuthType::Other(other),
        }
    }

    /// To the wire value.
    pub fn to_wire(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Pass => 1,
            AuthType::Ah => 2,
            AuthType::Other(v) => v,
        }
    }
}

impl std::fmt::Display for AuthType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AuthType::None => f.write_str("none"),
            AuthType::Pass => f.write_str("PASS"),
            AuthType::Ah => f.write_str("AH"),
            AuthType::Other(v) => write!(f, "{v}"),
        }
    }
}

/// Authentication an advert carries (v2 only; v3 has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    None,
    /// Simple text password, zero-padded to 8 bytes (keepalived truncates
    /// longer `auth_pass` values to 8).
    Pass([u8; AUTH_DATA_LEN]),
}

impl Auth {
    /// A PASS value from a configured password: the first 8 bytes,
    /// zero-padded.
    pub fn pass(password: &[u8]) -> Auth {
        let mut data = [0u8; AUTH_DATA_LEN];
        for (d, s) in data.iter_mut().zip(password) {
            *d = *s;
        }
        Auth::Pass(data)
    }

    /// The Auth Type this authentication puts on the wire.
    pub fn auth_type(&self) -> AuthType {
        match self {
            Auth::None => AuthType::None,
            Auth::Pass(_) => AuthType::Pass,
        }
    }
}
