// SPDX-License-Identifier: Apache-2.0 OR MIT
//! keepalived's per-instance statistics (`vrrp_stats`), as USR2's
//! keepalived.stats and keepalived.json's `stats` show them.
//!
//! STATS_CLEAR zeroes them in keepalived. Ours are shown relative to a
//! baseline taken at the clear, because the counters underneath stay
//! monotonic: the Prometheus endpoint reads the same counters, and a
//! counter that goes back to zero without a restart is read as a reset
//! by every rate() over it.

use serde::Serialize;

use super::instance::Counters;

/// Field order is keepalived's (`vrrp_json_stats_dump`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct KaStats {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    pub advert_interval_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
}

impl KaStats {
    pub fn of(c: &Counters) -> Self {
        let r = &c.rx;
        Self {
            advert_rcvd: r.advertisement_rcvd,
            advert_sent: c.advert_sent,
            become_master: c.become_master,
            release_master: c.release_master,
            packet_len_err: r.packet_length_errors,
            advert_interval_err: r.interval_errors,
            ip_ttl_err: r.ip_ttl_errors,
            invalid_type_rcvd: r.invalid_type_pkts_rcvd,
            addr_list_err: r.address_list_errors,
            invalid_authtype: r.invalid_auth_type,
            authtype_mismatch: r.auth_type_mismatch,
            auth_failure: r.auth_failures,
            pri_zero_rcvd: r.priority_zero_pkts_rcvd,
            pri_zero_sent: c.pri_zero_sent,
        }
    }

    /// The counts since `base` was taken (a reload that rebuilt the
    /// instance restarted its counters: then all of them).
    pub fn since(self, base: &Self) -> Self {
        let d = |now: u64, then: u64| now.checked_sub(then);
        let all = [
            d(self.advert_rcvd, base.advert_rcvd),
            d(self.advert_sent, base.advert_sent),
            d(self.become_master, base.become_master),
            d(self.release_master, base.release_master),
            d(self.packet_len_err, base.packet_len_err),
            d(self.advert_interval_err, base.advert_interval_err),
            d(self.ip_ttl_err, base.ip_ttl_err),
            d(self.invalid_type_rcvd, base.invalid_type_rcvd),
            d(self.addr_list_err, base.addr_list_err),
            d(self.invalid_authtype, base.invalid_authtype),
            d(self.authtype_mismatch, base.authtype_mismatch),
            d(self.auth_failure, base.auth_failure),
            d(self.pri_zero_rcvd, base.pri_zero_rcvd),
            d(self.pri_zero_sent, base.pri_zero_sent),
        ];
        let Some(v) = all.into_iter().collect::<Option<Vec<u64>>>() else {
            return self;
        };
        Self {
            advert_rcvd: v[0],
            advert_sent: v[1],
            become_master: v[2],
            release_master: v[3],
            packet_len_err: v[4],
            advert_interval_err: v[5],
            ip_ttl_err: v[6],
            invalid_type_rcvd: v[7],
            addr_list_err: v[8],
            invalid_authtype: v[9],
            authtype_mismatch: v[10],
            auth_failure: v[11],
            pri_zero_rcvd: v[12],
            pri_zero_sent: v[13],
        }
    }

    /// keepalived.stats' block for instance `name` (vrrp_print.c).
    pub fn text(&self, name: &str) -> String {
        format!(
            "VRRP Instance: {name}\n  Advertisements:\n    Received: {}\n    Sent: {}\n  \
             Became master: {}\n  Released master: {}\n  Packet Errors:\n    Length: {}\n    \
             TTL: {}\n    Invalid Type: {}\n    Advertisement Interval: {}\n    Address List: {}\n  \
             Authentication Errors:\n    Invalid Type: {}\n    Type Mismatch: {}\n    Failure: {}\n  \
             Priority Zero:\n    Received: {}\n    Sent: {}\n",
            self.advert_rcvd,
            self.advert_sent,
            self.become_master,
            self.release_master,
            self.packet_len_err,
            self.ip_ttl_err,
            self.invalid_type_rcvd,
            self.advert_interval_err,
            self.addr_list_err,
            self.invalid_authtype,
            self.authtype_mismatch,
            self.auth_failure,
            self.pri_zero_rcvd,
            self.pri_zero_sent,
        )
    }
}

/// The drop reasons we count beyond keepalived's, written after its keys
/// in keepalived.json's `stats` (readers of keepalived's file ignore
/// them; the fault matrix's storm row reads them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Extras {
    pub checksum_err: u64,
    pub version_err: u64,
    pub vrid_err: u64,
    pub unicast_src_err: u64,
    pub malformed: u64,
}

impl Extras {
    /// Since the last STATS_CLEAR (`base`), like [`KaStats::since`].
    pub fn since(c: &Counters, base: &Counters) -> Self {
        let (r, b) = (&c.rx, &base.rx);
        let all = [
            (r.checksum_errors, b.checksum_errors),
            (r.version_errors, b.version_errors),
            (r.vrid_errors, b.vrid_errors),
            (r.unicast_source_errors, b.unicast_source_errors),
            (r.malformed, b.malformed),
        ];
        let cleared = all.iter().all(|(now, then)| now >= then);
        let v = all.map(|(now, then)| if cleared { now - then } else { now });
        Self {
            checksum_err: v[0],
            version_err: v[1],
            vrid_err: v[2],
            unicast_src_err: v[3],
            malformed: v[4],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_shows_only_what_came_after_it() {
        let mut c = Counters {
            advert_sent: 10,
            ..Counters::default()
        };
        c.rx.auth_failures = 3;
        let base = KaStats::of(&c);
        c.advert_sent = 12;
        let shown = KaStats::of(&c).since(&base);
        assert_eq!(shown.advert_sent, 2);
        assert_eq!(shown.auth_failure, 0);
        // Counters rebuilt by a reload are all new.
        let fresh = KaStats::of(&Counters::default()).since(&base);
        assert_eq!(fresh, KaStats::default());
    }
}
