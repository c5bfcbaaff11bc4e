// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Receive counters of one instance.
//!
//! Names follow RFC 8347's `statistics` (advertisement-rcvd,
//! priority-zero-pkts-rcvd, invalid-type-pkts-rcvd, address-list-errors,
//! packet-length-errors, interval-errors, checksum-errors, version-errors,
//! vrid-errors, ip-ttl-errors) and, for v2 authentication, RFC 2787's
//! MIB. The doc of each field says which keepalived counter (its USR2
//! stats dump / SNMP) it matches.

use serde::{Deserialize, Serialize};

use crate::packet::drop::DropReason;
use crate::packet::validate::Accepted;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RxStats {
    /// Adverts that passed checks 0-10 (keepalived `advert_rcvd`), whether
    /// or not the address checks after that passed.
    pub advertisement_rcvd: u64,
    /// Accepted adverts with priority 0 (`pri_zero_rcvd`).
    pub priority_zero_pkts_rcvd: u64,
    /// Length or IPv4 Total Length wrong (`packet_len_err`).
    pub packet_length_errors: u64,
    /// TTL / hop limit not 255, or outside a unicast peer's range
    /// (`ip_ttl_err`).
    pub ip_ttl_errors: u64,
    /// Wrong version (`vers_err`, SNMP only).
    pub version_errors: u64,
    /// VRID not ours (`vrid_err`; keepalived never increments it since it
    /// demultiplexes on the VRID first).
    pub vrid_errors: u64,
    /// Bad checksum (`chk_err`, SNMP only).
    pub checksum_errors: u64,
    /// Type not ADVERTISEMENT (`invalid_type_rcvd`).
    pub invalid_type_pkts_rcvd: u64,
    /// Address count, missing VIP, or multicast/unicast mismatch
    /// (`addr_list_err`).
    pub address_list_errors: u64,
    /// v2 interval mismatch. keepalived drops these without counting (its
    /// `advert_interval_err` always reads 0); we count them.
    pub interval_errors: u64,
    /// v2 Auth Type not 0, 1 or 2 (`invalid_authtype`).
    pub invalid_auth_type: u64,
    /// v2 Auth Type, or AH presence, differs from ours
    /// (`authtype_mismatch`).
    pub auth_type_mismatch: u64,
    /// Wrong PASS password (`auth_failure`).
    pub auth_failures: u64,
    /// Unicast source not a peer. keepalived does not count these.
    pub unicast_source_errors: u64,
    /// Too short or malformed to read a VRRP header, or for another family.
    /// keepalived drops these before knowing the instance; the I/O shell
    /// counts them per socket.
    pub malformed: u64,
}

impl RxStats {
    /// Counts the outcome of [`crate::packet::validate`] (or a decode
    /// error).
    pub fn record(&mut self, outcome: &Result<Accepted, DropReason>) {
        let reason = match outcome {
            Ok(accepted) => {
                self.advertisement_rcvd += 1;
                if accepted.advert.priority == 0 {
                    self.priority_zero_pkts_rcvd += 1;
                }
                if accepted.address_list_mismatch.is_some() {
                    self.address_list_errors += 1;
                }
                return;
            }
            Err(reason) => reason,
        };
        if reason.counted_as_received() {
            self.advertisement_rcvd += 1;
        }
        let counter = match reason {
            DropReason::TooShort { .. }
            | DropReason::MalformedIpHeader { .. }
            | DropReason::WrongFamily { .. } => &mut self.malformed,
            DropReason::UnknownVrid { .. } => &mut self.vrid_errors,
            DropReason::AuthTypeMismatch { .. } => &mut self.auth_type_mismatch,
            DropReason::LengthMismatch { .. } | DropReason::IpTotalLengthMismatch { .. } => {
                &mut self.packet_length_errors
            }
            DropReason::InvalidTtl { .. } | DropReason::TtlOutOfRange { .. } => {
                &mut self.ip_ttl_errors
            }
            DropReason::VersionMismatch { .. } => &mut self.version_errors,
            DropReason::InvalidAuthType { .. } => &mut self.invalid_auth_type,
            DropReason::AuthFailure => &mut self.auth_failures,
            DropReason::IntervalMismatch { .. } => &mut self.interval_errors,
            DropReason::InvalidType { .. } => &mut self.invalid_type_pkts_rcvd,
            DropReason::AddressCountMismatch { .. }
            | DropReason::CastMismatch { .. }
            | DropReason::AddressMissing { .. } => &mut self.address_list_errors,
            DropReason::ChecksumError { .. } => &mut self.checksum_errors,
            DropReason::UnicastSourceNotPeer { .. } => &mut self.unicast_source_errors,
        };
        *counter += 1;
    }
}
