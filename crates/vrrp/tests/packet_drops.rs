// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One crafted packet per drop reason, the order of the checks, what
//! keepalived accepts despite a difference, and the counters.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_vrrp::packet::{
    Accepted, Advert, Auth, AuthType, DropReason, Family, IPPROTO_AH, IPPROTO_VRRP, Received,
    RxExpect, RxStats, UnicastPeer, Version, decode_v4, decode_v6, encode, validate,
};
use pretty_assertions::assert_eq;

const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const GROUP: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);

fn vip(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

/// An IPv4 header as the kernel hands it to a raw socket, then `payload`.
fn ipv4(src: Ipv4Addr, dst: Ipv4Addr, ttl: u8, proto: u8, payload: &[u8]) -> Vec<u8> {
    let total = u16::try_from(20 + payload.len()).unwrap();
    let mut d = vec![0x45, 0xc0];
    d.extend_from_slice(&total.to_be_bytes());
    d.extend_from_slice(&[0, 1, 0, 0, ttl, proto, 0, 0]);
    d.extend_from_slice(&src.octets());
    d.extend_from_slice(&dst.octets());
    d.extend_from_slice(payload);
    d
}

fn advert(version: Version) -> Advert {
    Advert {
        version,
        vrid: 51,
        priority: 100,
        max_advert_int_cs: 100,
        auth: Auth::None,
        addresses: vec![vip(100), vip(101)],
    }
}

fn expect(version: Version) -> RxExpect {
    RxExpect::new(Family::Ipv4, version, 51, 100, vec![vip(100), vip(101)])
}

/// A well-formed multicast datagram for `a`, TTL 255.
fn datagram(a: &Advert) -> Vec<u8> {
    ipv4(
        SRC,
        GROUP,
        255,
        IPPROTO_VRRP,
        &encode(a, IpAddr::V4(SRC), IpAddr::V4(GROUP)),
    )
}

fn check(bytes: &[u8], exp: &RxExpect) -> Result<Accepted, DropReason> {
    validate(&decode_v4(bytes)?, exp)
}

/// Recomputes the v2 checksum after a test edited the message, so the edit
/// is the only thing wrong.
fn refresh_v2_checksum(d: &mut [u8]) {
    d[26] = 0;
    d[27] = 0;
    let mut sum: u32 = 0;
    for w in d[20..].chunks(2) {
        sum += u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    d[26..28].copy_from_slice(&(!(sum as u16)).to_be_bytes());
}

#[test]
fn crafted_baselines_are_accepted() {
    for v in [Version::V2, Version::V3] {
        let got = check(&datagram(&advert(v)), &expect(v)).unwrap();
        assert_eq!(got.advert, advert(v));
        assert_eq!(got.src, IpAddr::V4(SRC));
    }
}

#[test]
fn too_short_to_hold_a_vrrp_header() {
    assert_eq!(
        decode_v4(&[0x45; 10]),
        Err(DropReason::TooShort {
            received: 10,
            needed: 28
        })
    );
    let d = datagram(&advert(Version::V2));
    assert_eq!(
        decode_v4(&d[..27]),
        Err(DropReason::TooShort {
            received: 27,
            needed: 28
        })
    );
    let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    assert_eq!(
        decode_v6(&[0x31; 7], ll, ll, Some(255)),
        Err(DropReason::TooShort {
            received: 7,
            needed: 8
        })
    );
    // With AH, the VRRP header starts after 24 more bytes.
    let ah = ipv4(SRC, GROUP, 255, IPPROTO_AH, &[0; 30]);
    assert_eq!(
        decode_v4(&ah),
        Err(DropReason::TooShort {
            received: 50,
            needed: 52
        })
    );
}

#[test]
fn malformed_ipv4_headers() {
    let mut d = datagram(&advert(Version::V2));
    d[0] = 0x65;
    assert_eq!(
        decode_v4(&d),
        Err(DropReason::MalformedIpHeader {
            version: 6,
            header_len: 20
        })
    );
    d[0] = 0x44;
    assert_eq!(
        decode_v4(&d),
        Err(DropReason::MalformedIpHeader {
            version: 4,
            header_len: 16
        })
    );
}

#[test]
fn ip_options_are_skipped() {
    // IHL 6: one 4-byte option (NOPs) before the VRRP message.
    let a = advert(Version::V2);
    let payload = encode(&a, IpAddr::V4(SRC), IpAddr::V4(GROUP));
    let mut d = ipv4(SRC, GROUP, 255, IPPROTO_VRRP, &payload);
    d[0] = 0x46;
    d.splice(20..20, [1, 1, 1, 1]);
    let total = u16::try_from(d.len()).unwrap();
    d[2..4].copy_from_slice(&total.to_be_bytes());
    assert_eq!(check(&d, &expect(Version::V2)).unwrap().advert, a);
}

#[test]
fn demultiplexing_errors() {
    let d = datagram(&advert(Version::V3));
    let mut exp = expect(Version::V3);
    exp.vrid = 52;
    assert_eq!(check(&d, &exp), Err(DropReason::UnknownVrid { vrid: 51 }));
    exp = expect(Version::V3);
    exp.family = Family::Ipv6;
    let err = check(&d, &exp).unwrap_err();
    assert_eq!(
        err,
        DropReason::WrongFamily {
            received: Family::Ipv4,
            family: Family::Ipv6
        }
    );
    assert_eq!(err.to_string(), "IPv4 advert for an IPv6 instance");
}

#[test]
fn keepalived_ah_adverts_are_an_auth_type_mismatch() {
    // IP protocol 51, a 24-byte AH header (next header 112), then VRRPv2
    // with Auth Type 2: keepalived's `auth_type AH`, which we do not speak.
    let mut a = advert(Version::V2);
    a.auth = Auth::None;
    let mut vrrp = encode(&a, IpAddr::V4(SRC), IpAddr::V4(GROUP));
    vrrp[4] = 2;
    let mut payload = vec![IPPROTO_VRRP, 4, 0, 0];
    payload.extend_from_slice(&[0; 20]);
    payload.extend_from_slice(&vrrp);
    let d = ipv4(SRC, GROUP, 255, IPPROTO_AH, &payload);
    let rx = decode_v4(&d).unwrap();
    assert!(rx.ah);
    assert_eq!(rx.vrid(), 51);
    assert_eq!(rx.auth_type(), AuthType::Ah);
    assert_eq!(
        validate(&rx, &expect(Version::V2)),
        Err(DropReason::AuthTypeMismatch {
            received: AuthType::Ah,
            expected: AuthType::None
        })
    );
    // Auth Type 2 without the AH header: a valid type that is not ours.
    let mut d = datagram(&a);
    d[24] = 2;
    refresh_v2_checksum(&mut d);
    assert_eq!(
        check(&d, &expect(Version::V2)),
        Err(DropReason::AuthTypeMismatch {
            received: AuthType::Ah,
            expected: AuthType::None
        })
    );
}

#[test]
fn length_must_match_the_count() {
    let mut d = datagram(&advert(Version::V3));
    d[23] = 3; // count 3, two addresses present
    assert_eq!(
        check(&d, &expect(Version::V3)),
        Err(DropReason::LengthMismatch {
            received: 36,
            expected: 40
        })
    );
    d[23] = 1; // count 1: one address too many
    assert_eq!(
        check(&d, &expect(Version::V3)),
        Err(DropReason::LengthMismatch {
            received: 36,
            expected: 32
        })
    );
    // v2 over IPv4 needs the 8 bytes of authentication data.
    let d = datagram(&advert(Version::V2));
    assert_eq!(
        check(&d[..d.len() - 8], &expect(Version::V2)),
        Err(DropReason::LengthMismatch {
            received: 36,
            expected: 44
        })
    );
}

#[test]
fn multicast_ttl_must_be_255_unicast_ttl_is_free() {
    let a = advert(Version::V3);
    let payload = encode(&a, IpAddr::V4(SRC), IpAddr::V4(GROUP));
    let d = ipv4(SRC, GROUP, 254, IPPROTO_VRRP, &payload);
    assert_eq!(
        check(&d, &expect(Version::V3)),
        Err(DropReason::InvalidTtl { ttl: 254 })
    );

    let payload = encode(&a, IpAddr::V4(SRC), IpAddr::V4(PEER));
    let d = ipv4(SRC, PEER, 64, IPPROTO_VRRP, &payload);
    let mut exp = expect(Version::V3);
    exp.unicast_peers = vec![UnicastPeer::new(IpAddr::V4(SRC))];
    assert!(check(&d, &exp).is_ok());

    // IPv6 without IPV6_HOPLIMIT ancillary data: not checked.
    let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let g6 = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
    let a6 = Advert {
        addresses: vec![IpAddr::V6(ll)],
        ..advert(Version::V3)
    };
    let p6 = encode(&a6, IpAddr::V6(ll), IpAddr::V6(g6));
    let exp6 = RxExpect::new(Family::Ipv6, Version::V3, 51, 100, vec![IpAddr::V6(ll)]);
    assert!(validate(&decode_v6(&p6, ll, g6, None).unwrap(), &exp6).is_ok());
    assert_eq!(
        validate(&decode_v6(&p6, ll, g6, Some(1)).unwrap(), &exp6),
        Err(DropReason::InvalidTtl { ttl: 1 })
    );
}

#[test]
fn version_must_be_ours() {
    let d = datagram(&advert(Version::V3));
    assert_eq!(
        check(&d, &expect(Version::V2)),
        Err(DropReason::VersionMismatch {
            received: 3,
            expected: 2
        })
    );
    let d = datagram(&advert(Version::V2));
    assert_eq!(
        check(&d, &expect(Version::V3)),
        Err(DropReason::VersionMismatch {
            received: 2,
            expected: 3
        })
    );
}

#[test]
fn v2_authentication() {
    let mut d = datagram(&advert(Version::V2));
    d[24] = 7;
    refresh_v2_checksum(&mut d);
    assert_eq!(
        check(&d, &expect(Version::V2)),
        Err(DropReason::InvalidAuthType { auth_type: 7 })
    );

    // PASS advert to an instance without authentication, and the reverse.
    let pass = Advert {
        auth: Auth::pass(b"secret"),
        ..advert(Version::V2)
    };
    assert_eq!(
        check(&datagram(&pass), &expect(Version::V2)),
        Err(DropReason::AuthTypeMismatch {
            received: AuthType::Pass,
            expected: AuthType::None
        })
    );
    let mut exp = expect(Version::V2);
    exp.auth = Auth::pass(b"secret");
    assert_eq!(
        check(&datagram(&advert(Version::V2)), &exp),
        Err(DropReason::AuthTypeMismatch {
            received: AuthType::None,
            expected: AuthType::Pass
        })
    );
    // Right and wrong passwords.
    assert!(check(&datagram(&pass), &exp).is_ok());
    let wrong = Advert {
        auth: Auth::pass(b"secreT"),
        ..advert(Version::V2)
    };
    assert_eq!(check(&datagram(&wrong), &exp), Err(DropReason::AuthFailure));
    // keepalived truncates passwords to 8 bytes.
    assert_eq!(Auth::pass(b"0123456789"), Auth::Pass(*b"01234567"));
}

#[test]
fn v2_interval_mismatch_is_dropped_v3_is_accepted() {
    // keepalived 2.2.7 drops a v2 advert whose interval differs (verified:
    // the backup logged "advertisement interval mismatch mine=2 sec rcv'd=1
    // sec" and became a second master).
    let mut a = advert(Version::V2);
    a.max_advert_int_cs = 200;
    assert_eq!(
        check(&datagram(&a), &expect(Version::V2)),
        Err(DropReason::IntervalMismatch {
            received_s: 2,
            expected_s: 1
        })
    );
    // v3: accepted with the sender's interval, which a backup adopts
    // (keepalived logged "advertisement interval updated from 2000ms to
    // 1000ms by master" and stayed backup).
    let mut a = advert(Version::V3);
    a.max_advert_int_cs = 37;
    assert_eq!(
        check(&datagram(&a), &expect(Version::V3))
            .unwrap()
            .advert
            .max_advert_int_cs,
        37
    );
}

#[test]
fn type_must_be_advertisement() {
    let mut d = datagram(&advert(Version::V2));
    d[20] = 0x22;
    refresh_v2_checksum(&mut d);
    assert_eq!(
        check(&d, &expect(Version::V2)),
        Err(DropReason::InvalidType { kind: 2 })
    );
}

#[test]
fn address_count_and_list() {
    // VRRPv2: dropped, as keepalived does (verified: it logged "received
    // an unexpected ip number count 3, expected 1!" and became master too)
    // and as RFC 3768 section 7.1 requires.
    for version in [Version::V2, Version::V3] {
        let one = Advert {
            addresses: vec![vip(100)],
            ..advert(version)
        };
        let other = Advert {
            addresses: vec![vip(100), vip(109)],
            ..advert(version)
        };
        let count = DropReason::AddressCountMismatch {
            received: 1,
            expected: 2,
        };
        let missing = DropReason::AddressMissing { address: vip(101) };
        let got_one = check(&datagram(&one), &expect(version));
        let got_other = check(&datagram(&other), &expect(version));
        if version == Version::V2 {
            assert_eq!(got_one, Err(count));
            assert_eq!(got_other, Err(missing));
        } else {
            // VRRPv3: used for the election, the mismatch reported (our
            // answer to keepalived issue #1603: one master, not two).
            assert_eq!(
                got_one.expect("accepted").address_list_mismatch,
                Some(count)
            );
            assert_eq!(
                got_other.expect("accepted").address_list_mismatch,
                Some(missing)
            );
        }
        // Order does not matter.
        let swapped = Advert {
            addresses: vec![vip(101), vip(100)],
            ..advert(version)
        };
        let ok = check(&datagram(&swapped), &expect(version)).expect("accepted");
        assert_eq!(ok.address_list_mismatch, None);
        // skip_check_adv_addr, advert from the known master: both clean.
        let mut exp = expect(version);
        exp.check_addresses = false;
        let got = check(&datagram(&one), &exp).expect("accepted");
        assert_eq!(got.advert.addresses, vec![vip(100)]);
        assert_eq!(got.address_list_mismatch, None);
        assert!(check(&datagram(&other), &exp).is_ok());
    }
}

#[test]
fn ip_total_length_must_match() {
    let mut d = datagram(&advert(Version::V3));
    d[3] += 4;
    assert_eq!(
        check(&d, &expect(Version::V3)),
        Err(DropReason::IpTotalLengthMismatch {
            ip_total_len: 40,
            received: 36
        })
    );
}

#[test]
fn checksums() {
    for v in [Version::V2, Version::V3] {
        let mut d = datagram(&advert(v));
        d[27] ^= 1;
        let received = u16::from_be_bytes([d[26], d[27]]);
        assert_eq!(
            check(&d, &expect(v)),
            Err(DropReason::ChecksumError {
                version: v.number(),
                received
            })
        );
    }
    // v3 covers the pseudo-header: another source breaks it, v2 does not care.
    let other = Ipv4Addr::new(192, 0, 2, 9);
    for v in [Version::V2, Version::V3] {
        let payload = encode(&advert(v), IpAddr::V4(SRC), IpAddr::V4(GROUP));
        let d = ipv4(other, GROUP, 255, IPPROTO_VRRP, &payload);
        assert_eq!(check(&d, &expect(v)).is_ok(), v == Version::V2);
    }
    // IPv6: checked too (keepalived relies on the kernel's IPV6_CHECKSUM).
    let ll = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
    let g6 = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
    let a6 = Advert {
        addresses: vec![IpAddr::V6(ll)],
        ..advert(Version::V3)
    };
    let mut p6 = encode(&a6, IpAddr::V6(ll), IpAddr::V6(g6));
    p6[7] ^= 0x80;
    let exp6 = RxExpect::new(Family::Ipv6, Version::V3, 51, 100, vec![IpAddr::V6(ll)]);
    assert!(matches!(
        validate(&decode_v6(&p6, ll, g6, Some(255)).unwrap(), &exp6),
        Err(DropReason::ChecksumError { version: 3, .. })
    ));
}

#[test]
fn multicast_versus_unicast_destination() {
    let mut unicast_exp = expect(Version::V3);
    unicast_exp.unicast_peers = vec![UnicastPeer::new(IpAddr::V4(SRC))];
    assert_eq!(
        check(&datagram(&advert(Version::V3)), &unicast_exp),
        Err(DropReason::CastMismatch {
            expected_multicast: false
        })
    );
    let payload = encode(&advert(Version::V3), IpAddr::V4(SRC), IpAddr::V4(PEER));
    let d = ipv4(SRC, PEER, 255, IPPROTO_VRRP, &payload);
    assert_eq!(
        check(&d, &expect(Version::V3)),
        Err(DropReason::CastMismatch {
            expected_multicast: true
        })
    );
}

#[test]
fn unicast_source_and_ttl_range() {
    let payload = encode(&advert(Version::V3), IpAddr::V4(SRC), IpAddr::V4(PEER));
    let d = ipv4(SRC, PEER, 200, IPPROTO_VRRP, &payload);
    let mut exp = expect(Version::V3);
    let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));
    exp.unicast_peers = vec![UnicastPeer::new(other)];
    // Without check_unicast_src anyone may send.
    assert!(check(&d, &exp).is_ok());
    exp.check_unicast_src = true;
    assert_eq!(
        check(&d, &exp),
        Err(DropReason::UnicastSourceNotPeer {
            src: IpAddr::V4(SRC)
        })
    );
    exp.unicast_peers.push(UnicastPeer {
        address: IpAddr::V4(SRC),
        min_ttl: 250,
        max_ttl: 255,
    });
    assert_eq!(
        check(&d, &exp),
        Err(DropReason::TtlOutOfRange {
            ttl: 200,
            min: 250,
            max: 255
        })
    );
    exp.unicast_peers[1].min_ttl = 200;
    assert!(check(&d, &exp).is_ok());
}

#[test]
fn first_failing_check_wins() {
    // Bad length and bad version: length first.
    let mut d = datagram(&advert(Version::V3));
    d.push(0);
    assert!(matches!(
        check(&d, &expect(Version::V2)),
        Err(DropReason::LengthMismatch { .. })
    ));
    // Bad TTL and bad checksum: TTL first.
    let mut d = datagram(&advert(Version::V3));
    d[8] = 1;
    d[27] ^= 1;
    assert_eq!(
        check(&d, &expect(Version::V3)),
        Err(DropReason::InvalidTtl { ttl: 1 })
    );
    // Wrong interval and wrong type (v2): interval first.
    let mut a = advert(Version::V2);
    a.max_advert_int_cs = 300;
    let mut d = datagram(&a);
    d[20] = 0x25;
    assert!(matches!(
        check(&d, &expect(Version::V2)),
        Err(DropReason::IntervalMismatch { .. })
    ));
    // Wrong count and bad checksum: count first in v2; in v3 the count
    // only gets noted, so the checksum drops it.
    for (version, count_first) in [(Version::V2, true), (Version::V3, false)] {
        let one = Advert {
            addresses: vec![vip(100)],
            ..advert(version)
        };
        let mut d = datagram(&one);
        d[27] ^= 1;
        let got = check(&d, &expect(version));
        if count_first {
            assert!(
                matches!(got, Err(DropReason::AddressCountMismatch { .. })),
                "{got:?}"
            );
        } else {
            assert!(
                matches!(got, Err(DropReason::ChecksumError { .. })),
                "{got:?}"
            );
        }
    }
}

#[test]
fn stats_count_like_keepalived() {
    let mut stats = RxStats::default();
    let ok = check(&datagram(&advert(Version::V3)), &expect(Version::V3));
    stats.record(&ok);
    let zero = Advert {
        priority: 0,
        ..advert(Version::V3)
    };
    stats.record(&check(&datagram(&zero), &expect(Version::V3)));
    let other = Advert {
        addresses: vec![vip(100), vip(109)],
        ..advert(Version::V3)
    };
    stats.record(&check(&datagram(&other), &expect(Version::V3)));
    let mut bad = datagram(&advert(Version::V3));
    bad[27] ^= 1;
    stats.record(&check(&bad, &expect(Version::V3)));
    stats.record(&check(&bad[..10], &expect(Version::V3)));
    assert_eq!(
        stats,
        RxStats {
            // The missing-VIP advert counts as received, as in keepalived.
            advertisement_rcvd: 3,
            priority_zero_pkts_rcvd: 1,
            address_list_errors: 1,
            checksum_errors: 1,
            malformed: 1,
            ..RxStats::default()
        }
    );
}

#[test]
fn drop_reasons_serialize_and_display() {
    let r = DropReason::InvalidTtl { ttl: 64 };
    assert_eq!(
        serde_json::to_string(&r).unwrap(),
        r#"{"reason":"invalid_ttl","ttl":64}"#
    );
    assert_eq!(r.to_string(), "invalid TTL/hop limit 64, expected 255");
    let r = DropReason::LengthMismatch {
        received: 36,
        expected: 40,
    };
    assert_eq!(
        r.to_string(),
        "VRRP packet too short: 36 bytes, expected 40"
    );
    let back: DropReason = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(back, r);
    assert_eq!(
        DropReason::CastMismatch {
            expected_multicast: true
        }
        .to_string(),
        "expected multicast packet but received unicast packet"
    );
}

#[test]
fn hand_built_received_never_panics() {
    // `Received` is public data: accessors must cope with any content.
    let rx = Received {
        family: Family::Ipv6,
        src: IpAddr::V4(SRC),
        dst: IpAddr::V4(GROUP),
        ttl: None,
        ip_total_len: Some(0),
        ah: false,
        received_len: 0,
        vrrp: vec![0x31, 51, 100, 200],
    };
    assert_eq!(rx.advert(), None);
    assert_eq!(rx.header_len(), 0);
    let mut exp = expect(Version::V3);
    exp.family = Family::Ipv6;
    assert!(validate(&rx, &exp).is_err());
}
