// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Receive side, step 2: the checks of RFC 3768 §7.1 / RFC 5798 §7.1 as
//! keepalived 2.2.7 runs them (`vrrp_check_packet`), in its order, against
//! what one instance expects.
//!
//! Order (first failure wins; see [`DropReason`] for each):
//!
//! 0. family and VRID (keepalived demultiplexes on these before any check)
//! 1. IPv4: AH header present iff we use AH (never: AH is not implemented)
//! 2. length == IP header (+ AH) + 8 + count × address size (+ 8 for v2 over
//!    IPv4)
//! 3. TTL / hop limit == 255, only without unicast peers and only when known
//! 4. version
//! 5. v2 only: Auth Type is 0, 1 or 2; equal to ours; PASS password equal
//!    (constant time); Adver Int equal to ours
//! 6. type == ADVERTISEMENT
//! 7. count == our number of VIPs (when addresses are checked, see below)
//! 8. IPv4: Total Length == bytes received
//! 9. checksum (v2: message only; v3: with the pseudo-header)
//! 10. destination multicast iff we have no unicast peers
//!
//! -- the advert now counts as received (`advert_rcvd`) --
//!
//! 11. every VIP of ours is in the advert (when addresses are checked)
//! 12. with unicast peers and `check_unicast_src`, and when addresses are
//!     checked: source is a peer, and TTL is within that peer's
//!     `min_ttl`..`max_ttl`
//!
//! What keepalived accepts although it differs from ours, and we too:
//! a v3 advert whose interval differs from ours (a backup adopts the
//! master's, RFC 5798 §6.4.2); with `skip_check_adv_addr`, an address list
//! that differs from ours when the advert comes from the master we already
//! follow ([`RxExpect::check_addresses`] false: checks 7, 11 and 12 are
//! skipped). Everything else in the list above is dropped, including a v2
//! interval mismatch and a v2 address-list mismatch.
//!
//! Where we differ on purpose: a v3 address-list mismatch (checks 7 and
//! 11) is counted and reported in [`Accepted::address_list_mismatch`], and
//! the advert is still used (keepalived drops it; see that field).
//!
//! Differences from keepalived, none visible on a valid exchange:
//! - IPv6 checksums: keepalived leaves them to the kernel (`IPV6_CHECKSUM`
//!   drops bad ones before userspace, uncounted). We verify them too, so
//!   the result does not depend on the socket option.
//! - keepalived reads the PASS password at `Total Length - 8`, before it
//!   checks Total Length; we read it after the announced address list.
//!   Both drop a packet whose Total Length is wrong, possibly under a
//!   different counter.
//! - keepalived repeats check 7 after counting the advert; that second
//!   test can never fail, we leave it out.

use std::net::{IpAddr, Ipv4Addr};

use serde::{Deserialize, Serialize};

use crate::packet::advert::Advert;
use crate::packet::checksum::{self, Pseudo};
use crate::packet::drop::DropReason;
use crate::packet::rx::Received;
use crate::packet::wire::{
    AUTH_DATA_LEN, Auth, AuthType, Family, REQUIRED_TTL, TYPE_ADVERTISEMENT, Version,
};

/// The IPv4 VRRP multicast group (`vrrp_mcast_group4` default).
pub const MCAST_GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

/// A `unicast_peer` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnicastPeer {
    pub address: IpAddr,
    /// Accepted TTL range, checked only with `check_unicast_src`
    /// (keepalived's defaults: 0 and 255).
    pub min_ttl: u8,
    pub max_ttl: u8,
}

impl UnicastPeer {
    /// A peer with keepalived's default TTL range (any).
    pub fn new(address: IpAddr) -> UnicastPeer {
        UnicastPeer {
            address,
            min_ttl: 0,
            max_ttl: u8::MAX,
        }
    }
}

/// Which pseudo-header destination a v3-over-IPv4 unicast instance uses
/// (keepalived's `old_unicast_checksum`, `unicast_chksum_compat`).
///
/// Since 1.3.6 keepalived puts the peer's address in the pseudo-header, as
/// RFC 5798 says; before, the multicast group. A default instance that
/// receives an old-style checksum switches to the old style for good
/// (receiving and sending) and logs it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnicastChecksum {
    /// Default: the real destination; switch to [`Self::OldDetected`] when a
    /// peer's advert only checks out with the group.
    #[default]
    Standard,
    /// `old_unicast_checksum never`: the real destination, never switch.
    Never,
    /// `old_unicast_checksum`: the multicast group.
    Old,
    /// Switched to the group after a peer used it.
    OldDetected,
}

impl UnicastChecksum {
    /// Whether the pseudo-header carries the multicast group instead of
    /// the real destination.
    pub fn uses_group(self) -> bool {
        matches!(self, UnicastChecksum::Old | UnicastChecksum::OldDetected)
    }

    /// The `dst` to give [`crate::packet::encode`] for a v3 IPv4 advert
    /// sent to `peer` (or to the group when `peer` is the group).
    pub fn pseudo_destination(self, peer: IpAddr, group: Ipv4Addr) -> IpAddr {
        if self.uses_group() && peer.is_ipv4() {
            IpAddr::V4(group)
        } else {
            peer
        }
    }
}

/// Authentication an instance expects (v2; ignored for v3).
pub type RxAuth = Auth;

/// What one instance expects of the adverts it receives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxExpect {
    pub family: Family,
    pub version: Version,
    pub vrid: u8,
    /// v2 authentication (`authentication { auth_type PASS ... }`).
    pub auth: RxAuth,
    /// Our configured `advert_int` in centiseconds (v2: whole seconds).
    pub advert_int_cs: u16,
    /// Our VIPs as we advertise them (same family; excluded VIPs are not
    /// in adverts and not here).
    pub addresses: Vec<IpAddr>,
    /// Empty for a multicast instance.
    pub unicast_peers: Vec<UnicastPeer>,
    /// `check_unicast_src` (global or per instance).
    pub check_unicast_src: bool,
    /// Run the address-list checks. keepalived skips them only with
    /// `skip_check_adv_addr` for a backup receiving from the master it
    /// already follows; a master always checks. The caller decides.
    pub check_addresses: bool,
    pub unicast_checksum: UnicastChecksum,
    /// `vrrp_mcast_group4`.
    pub mcast_group4: Ipv4Addr,
}

impl RxExpect {
    /// Expectations with keepalived's defaults for the optional parts:
    /// multicast, no authentication, addresses checked.
    pub fn new(
        family: Family,
        version: Version,
        vrid: u8,
        advert_int_cs: u16,
        addresses: Vec<IpAddr>,
    ) -> RxExpect {
        RxExpect {
            family,
            version,
            vrid,
            auth: Auth::None,
            advert_int_cs,
            addresses,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            check_addresses: true,
            unicast_checksum: UnicastChecksum::Standard,
            mcast_group4: MCAST_GROUP4,
        }
    }

    /// Whether an advert must come with TTL / hop limit 255: without
    /// unicast peers, as keepalived checks it (and `validate` does).
    pub fn requires_ttl_255(&self) -> bool {
        self.unicast_peers.is_empty()
    }

    /// The first byte (version and type) of the adverts this instance
    /// accepts.
    pub fn advert_version_type(&self) -> u8 {
        self.version.number() << 4 | TYPE_ADVERTISEMENT
    }

    fn auth_type(&self) -> AuthType {
        if self.version == Version::V2 {
            self.auth.auth_type()
        } else {
            AuthType::None
        }
    }
}

/// An advert that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accepted {
    pub advert: Advert,
    /// The sender (its primary address or `unicast_src_ip`): what the
    /// state machine compares on equal priorities.
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The v3 IPv4 checksum only matched with the multicast group in the
    /// pseudo-header: the peer runs the pre-1.3.6 unicast checksum. The
    /// instance should switch to [`UnicastChecksum::OldDetected`] (keepalived
    /// logs "Setting unicast VRRPv3 checksum to old version").
    pub old_unicast_checksum: bool,
    /// VRRPv3 only: the address list differs from ours (count or a VIP
    /// missing). keepalived drops such an advert, so a rolling change of
    /// the VIP list on one node makes both nodes master (keepalived issue
    /// #1603). RFC 5798 §7.1 asks only that the mismatch be logged, so we
    /// count it, let the caller log it, and still use the advert for the
    /// election: one master. VRRPv2 keeps the drop (RFC 3768 §7.1 requires
    /// it unless the sender is the owner).
    pub address_list_mismatch: Option<DropReason>,
}

/// Constant-time comparison, so the time taken does not tell how many
/// leading password bytes were right.
fn same_secret(a: &[u8; AUTH_DATA_LEN], b: &[u8; AUTH_DATA_LEN]) -> bool {
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Runs the checks listed in the module documentation, in that order.
pub fn validate(rx: &Received, exp: &RxExpect) -> Result<Accepted, DropReason> {
    // 0. Demultiplexing.
    if rx.family != exp.family {
        return Err(DropReason::WrongFamily {
            received: rx.family,
            family: exp.family,
        });
    }
    if rx.vrid() != exp.vrid {
        return Err(DropReason::UnknownVrid { vrid: rx.vrid() });
    }
    // 1. AH: configured AH is not supported, so an AH header never matches.
    if rx.ah {
        return Err(DropReason::AuthTypeMismatch {
            received: AuthType::Ah,
            expected: exp.auth_type(),
        });
    }
    // 2. Length.
    let expected_len = rx.header_len() + rx.announced_len();
    if rx.received_len != expected_len {
        return Err(DropReason::LengthMismatch {
            received: rx.received_len,
            expected: expected_len,
        });
    }
    // 3. TTL.
    if let Some(ttl) = rx
        .ttl
        .filter(|t| *t != REQUIRED_TTL && exp.requires_ttl_255())
    {
        return Err(DropReason::InvalidTtl { ttl });
    }
    // 4. Version.
    if rx.version() != exp.version.number() {
        return Err(DropReason::VersionMismatch {
            received: rx.version(),
            expected: exp.version.number(),
        });
    }
    // 5. v2 authentication and interval.
    if exp.version == Version::V2 {
        let received = rx.auth_type();
        if let AuthType::Other(auth_type) = received {
            return Err(DropReason::InvalidAuthType { auth_type });
        }
        if received != exp.auth_type() {
            return Err(DropReason::AuthTypeMismatch {
                received,
                expected: exp.auth_type(),
            });
        }
        if let Auth::Pass(ours) = &exp.auth {
            let theirs = rx.auth_data().unwrap_or([0; AUTH_DATA_LEN]);
            if !same_secret(&theirs, ours) {
                return Err(DropReason::AuthFailure);
            }
        }
        if u16::from(rx.advert_int_v2_s()) * 100 != exp.advert_int_cs {
            return Err(DropReason::IntervalMismatch {
                received_s: rx.advert_int_v2_s(),
                expected_s: exp.advert_int_cs / 100,
            });
        }
    }
    // 6. Type.
    if rx.kind() != TYPE_ADVERTISEMENT {
        return Err(DropReason::InvalidType { kind: rx.kind() });
    }
    // 7. Address count (v3: noted, not dropped; see `Accepted`).
    let mut address_list_mismatch = None;
    if exp.check_addresses && usize::from(rx.count()) != exp.addresses.len() {
        let reason = DropReason::AddressCountMismatch {
            received: rx.count(),
            expected: exp.addresses.len(),
        };
        if exp.version == Version::V2 {
            return Err(reason);
        }
        address_list_mismatch = Some(reason);
    }
    // 8. IPv4 Total Length.
    if let Some(total) = rx
        .ip_total_len
        .filter(|t| usize::from(*t) != rx.received_len)
    {
        return Err(DropReason::IpTotalLengthMismatch {
            ip_total_len: total,
            received: rx.received_len,
        });
    }
    // 9. Checksum.
    let old_unicast_checksum = check_checksum(rx, exp)?;
    // 10. Multicast vs unicast.
    let expected_multicast = exp.unicast_peers.is_empty();
    if rx.dst.is_multicast() != expected_multicast {
        return Err(DropReason::CastMismatch { expected_multicast });
    }

    // From here on keepalived has counted the advert as received.
    let addresses = rx.addresses();
    if exp.check_addresses {
        // 11. Every VIP present.
        if let Some(missing) = exp.addresses.iter().find(|a| !addresses.contains(a)) {
            let reason = DropReason::AddressMissing { address: *missing };
            if exp.version == Version::V2 {
                return Err(reason);
            }
            address_list_mismatch.get_or_insert(reason);
        }
        // 12. Unicast source and its TTL range.
        if !exp.unicast_peers.is_empty() && exp.check_unicast_src {
            let peer = exp
                .unicast_peers
                .iter()
                .find(|p| p.address == rx.src)
                .ok_or(DropReason::UnicastSourceNotPeer { src: rx.src })?;
            if let Some(ttl) = rx.ttl.filter(|t| *t < peer.min_ttl || *t > peer.max_ttl) {
                return Err(DropReason::TtlOutOfRange {
                    ttl,
                    min: peer.min_ttl,
                    max: peer.max_ttl,
                });
            }
        }
    }

    let auth = match (exp.version, exp.auth) {
        (Version::V2, Auth::Pass(_)) => Auth::Pass(rx.auth_data().unwrap_or([0; AUTH_DATA_LEN])),
        _ => Auth::None,
    };
    Ok(Accepted {
        advert: Advert {
            version: exp.version,
            vrid: rx.vrid(),
            priority: rx.priority(),
            max_advert_int_cs: rx.max_advert_int_cs(),
            auth,
            addresses,
        },
        src: rx.src,
        dst: rx.dst,
        old_unicast_checksum,
        address_list_mismatch,
    })
}

/// Check 9. Returns whether only the old unicast form matched.
fn check_checksum(rx: &Received, exp: &RxExpect) -> Result<bool, DropReason> {
    let error = DropReason::ChecksumError {
        version: rx.version(),
        received: rx.checksum(),
    };
    if exp.version == Version::V2 {
        return if checksum::compute(Pseudo::None, &rx.vrrp) == 0 {
            Ok(false)
        } else {
            Err(error)
        };
    }
    let group = IpAddr::V4(exp.mcast_group4);
    let dst = if rx.family == Family::Ipv4 && exp.unicast_checksum.uses_group() {
        group
    } else {
        rx.dst
    };
    if checksum::compute(Pseudo::Ip { src: rx.src, dst }, &rx.vrrp) == 0 {
        return Ok(false);
    }
    let may_detect_old = rx.family == Family::Ipv4
        && !exp.unicast_peers.is_empty()
        && exp.unicast_checksum == UnicastChecksum::Standard
        && dst != group;
    if may_detect_old
        && checksum::compute(
            Pseudo::Ip {
                src: rx.src,
                dst: group,
            },
            &rx.vrrp,
        ) == 0
    {
        return Ok(true);
    }
    Err(error)
}
