// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The VRRP receive path on arbitrary bytes: decoding (as an IPv4 datagram,
//! and as an IPv6 payload whose first 33 bytes give source, destination
//! and hop limit), validation against instances shaped after the packet
//! itself (so the checks run deep), counting, and re-encoding. Nothing may
//! panic, and every accepted advert must re-encode into one that is
//! accepted again, unchanged.
#![no_main]

use std::net::Ipv6Addr;

use keepalived_vrrp::packet::{
    Auth, Received, RxExpect, RxStats, UnicastChecksum, UnicastPeer, Version, decode_v4, decode_v6,
    encode, validate,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rx) = decode_v4(data) {
        exercise(&rx);
    }
    if let (Some(src), Some(dst), Some(hop), Some(payload)) = (
        data.get(..16),
        data.get(16..32),
        data.get(32),
        data.get(33..),
    ) {
        let (Ok(src), Ok(dst)) = (<[u8; 16]>::try_from(src), <[u8; 16]>::try_from(dst)) else {
            return;
        };
        let hop = (*hop != 0).then_some(*hop);
        if let Ok(rx) = decode_v6(payload, Ipv6Addr::from(src), Ipv6Addr::from(dst), hop) {
            exercise(&rx);
        }
    }
});

fn exercise(rx: &Received) {
    let _ = rx.advert();
    let version = if rx.version() == 2 {
        Version::V2
    } else {
        Version::V3
    };
    let base = RxExpect::new(
        rx.family,
        version,
        rx.vrid(),
        rx.max_advert_int_cs(),
        rx.addresses(),
    );

    let mut pass = base.clone();
    pass.auth = Auth::Pass(rx.auth_data().unwrap_or_default());
    let mut unicast = base.clone();
    unicast.unicast_peers = vec![UnicastPeer {
        address: rx.src,
        min_ttl: 2,
        max_ttl: 254,
    }];
    unicast.check_unicast_src = true;
    let mut old = unicast.clone();
    old.unicast_checksum = UnicastChecksum::Old;
    let mut lax = base.clone();
    lax.check_addresses = false;
    lax.addresses.clear();

    let mut stats = RxStats::default();
    for exp in [base, pass, unicast, old, lax] {
        let outcome = validate(rx, &exp);
        stats.record(&outcome);
        match outcome {
            Ok(accepted) => {
                let _ = serde_json::to_string(&accepted);
                // Re-encode with the pseudo-header destination the sender used.
                let mode = if accepted.old_unicast_checksum {
                    UnicastChecksum::OldDetected
                } else {
                    exp.unicast_checksum
                };
                let dst = mode.pseudo_destination(accepted.dst, exp.mcast_group4);
                let again = Received {
                    vrrp: encode(&accepted.advert, accepted.src, dst),
                    ..rx.clone()
                };
                assert_eq!(again.vrrp.len(), rx.vrrp.len(), "re-encoded length differs");
                let revalidated = validate(&again, &exp);
                assert_eq!(revalidated.map(|a| a.advert).ok(), Some(accepted.advert));
            }
            Err(reason) => {
                let _ = reason.to_string();
                let _ = serde_json::to_string(&reason);
            }
        }
    }
}
