// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Adverts captured from real keepalived 2.2.7, decoded and re-encoded.
//!
//! How they were captured: two network namespaces `vc1` / `vc2` joined by a
//! veth pair (`veth0` 192.0.2.1/24 + 2001:db8::1/64, link-local
//! fe80::20e6:b8ff:fe3c:34bc; `veth1` 192.0.2.2/24 + 2001:db8::2/64), then
//!
//! ```text
//! ip netns exec vc2 tcpdump -i veth1 -w cap.pcap 'ip proto 112 or ip6 proto 112'
//! ip netns exec vc1 keepalived -P -n -l -D -f ka.conf    # SIGTERM after 8 s
//! ```
//!
//! with `ka.conf` holding these instances on `veth0` (all `state BACKUP`, so
//! each became master after its Master_Down interval and sent priority 0 on
//! SIGTERM):
//!
//! | instance   | version | VRID | prio | advert_int | extras |
//! |------------|---------|------|------|------------|--------|
//! | V2_NONE    | 2       | 51   | 150  | 1          | VIPs 192.0.2.100, .101 |
//! | V2_PASS    | 2       | 52   | 100  | 2          | `auth_type PASS`, `auth_pass secret`; VIP .102 |
//! | V3_V4      | 3       | 53   | 200  | 0.5        | VIPs .103, .104, .105 |
//! | V3_V6      | 3       | 54   | 120  | 1          | VIPs fe80::54, 2001:db8::54 |
//! | V3_UNICAST | 3       | 55   | 110  | 1          | `unicast_src_ip 192.0.2.1`, `unicast_peer { 192.0.2.2 }`; VIP .106 |
//! | V2_UNICAST | 2       | 56   | 90   | 1          | same unicast setup; VIP .107 |
//!
//! A second run added V3_UNICAST_OLD (VRID 57, as V3_UNICAST plus
//! `old_unicast_checksum`, VIP .108); the peer keepalived in `vc2` logged
//! "Setting unicast VRRPv3 checksum to old version" on receiving it.
//!
//! IPv4 bytes are the IP datagram (what an IPv4 raw socket delivers: the
//! Ethernet header stripped); IPv6 bytes are the VRRP payload (what an
//! IPv6 raw socket delivers), with source, destination and hop limit from
//! the capture's IPv6 header.
#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_vrrp::packet::{
    Accepted, Advert, Auth, DropReason, Family, Received, RxExpect, UnicastChecksum, UnicastPeer,
    Version, decode_v4, decode_v6, encode, validate,
};
use pretty_assertions::assert_eq;

/// V2_NONE, frame 5: VRRPv2, vrid 51, prio 150, no auth, 1 s, two VIPs.
const V2_NONE: &[u8] = &[
    0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x8d, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x96, 0x02, //
    0x00, 0x01, 0xc3, 0xfe, 0xc0, 0x00, 0x02, 0x64, 0xc0, 0x00, 0x02, 0x65, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// V2_NONE on SIGTERM: the priority 0 advert (IP ID 6).
const V2_NONE_PRIO0: &[u8] = &[
    0x45, 0xc0, 0x00, 0x2c, 0x00, 0x06, 0x00, 0x00, 0xff, 0x70, 0x18, 0x88, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x33, 0x00, 0x02, //
    0x00, 0x01, 0x59, 0xff, 0xc0, 0x00, 0x02, 0x64, 0xc0, 0x00, 0x02, 0x65, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

/// V2_PASS, frame 26: auth type 1, "secret" zero-padded to 8 bytes, 2 s.
const V2_PASS: &[u8] = &[
    0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x91, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x00, 0x12, 0x21, 0x34, 0x64, 0x01, //
    0x01, 0x02, 0x7b, 0x15, 0xc0, 0x00, 0x02, 0x66, 0x73, 0x65, 0x63, 0x72, //
    0x65, 0x74, 0x00, 0x00,
];

/// V3_V4, frame 1: VRRPv3 over IPv4, 50 cs, three VIPs.
const V3_V4: &[u8] = &[
    0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x18, 0x91, //
    0xc0, 0x00, 0x02, 0x01, 0xe0, 0x00, 0x00, 0x12, 0x31, 0x35, 0xc8, 0x03, //
    0x00, 0x32, 0x1c, 0xc2, 0xc0, 0x00, 0x02, 0x67, 0xc0, 0x00, 0x02, 0x68, //
    0xc0, 0x00, 0x02, 0x69,
];

/// V3_V6, frame 6: VRRPv3 over IPv6 payload, 100 cs, two VIPs
/// (fe80::20e6:b8ff:fe3c:34bc -> ff02::12, hop limit 255).
const V3_V6: &[u8] = &[
    0x31, 0x36, 0x78, 0x02, 0x00, 0x64, 0x1e, 0x74, 0xfe, 0x80, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x54, //
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x54,
];

/// V3_V6 on SIGTERM: priority 0.
const V3_V6_PRIO0: &[u8] = &[
    0x31, 0x36, 0x00, 0x02, 0x00, 0x64, 0x96, 0x74, 0xfe, 0x80, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x54, //
    0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x54,
];

/// V3_UNICAST, frame 7: 192.0.2.1 -> 192.0.2.2; the pseudo-header carries
/// the peer's address.
const V3_UNICAST: &[u8] = &[
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x36, 0xa9, //
    0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0x31, 0x37, 0x6e, 0x01, //
    0x00, 0x64, 0x19, 0x78, 0xc0, 0x00, 0x02, 0x6a,
];

/// V2_UNICAST, frame 9.
const V2_UNICAST: &[u8] = &[
    0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x36, 0xa1, //
    0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0x21, 0x38, 0x5a, 0x01, //
    0x00, 0x01, 0xc2, 0x59, 0xc0, 0x00, 0x02, 0x6b, 0x00, 0x00, 0x00, 0x00, //
    0x00, 0x00, 0x00, 0x00,
];

/// V3_UNICAST_OLD (second run): sent to 192.0.2.2 but checksummed with
/// 224.0.0.18 in the pseudo-header (tshark calls it bad: 0xfb63, "should
/// be 0x1974").
const V3_UNICAST_OLD: &[u8] = &[
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x36, 0xa9, //
    0xc0, 0x00, 0x02, 0x01, 0xc0, 0x00, 0x02, 0x02, 0x31, 0x39, 0x6e, 0x01, //
    0x00, 0x64, 0xfb, 0x63, 0xc0, 0x00, 0x02, 0x6c,
];

const KA1_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const KA2_V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const GROUP4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
const KA1_LL: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0x20e6, 0xb8ff, 0xfe3c, 0x34bc);
const GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

fn v4(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, last))
}

/// One capture: its bytes, how to decode them, what they hold, and the
/// expectations of the receiving instance (its configuration mirrored).
struct Fixture {
    name: &'static str,
    bytes: &'static [u8],
    /// IPv6 ancillary data (source, destination, hop limit); `None` for
    /// IPv4 datagrams.
    v6: Option<(Ipv6Addr, Ipv6Addr, u8)>,
    src: IpAddr,
    dst: IpAddr,
    advert: Advert,
    expect: RxExpect,
}

impl Fixture {
    fn decode(&self) -> Result<Received, DropReason> {
        match self.v6 {
            None => decode_v4(self.bytes),
            Some((s, d, hl)) => decode_v6(self.bytes, s, d, Some(hl)),
        }
    }

    /// The VRRP message inside `bytes`.
    fn vrrp(&self) -> &'static [u8] {
        if self.v6.is_some() {
            self.bytes
        } else {
            &self.bytes[20..]
        }
    }
}

fn advert(version: Version, vrid: u8, priority: u8, cs: u16, addrs: Vec<IpAddr>) -> Advert {
    Advert {
        version,
        vrid,
        priority,
        max_advert_int_cs: cs,
        auth: Auth::None,
        addresses: addrs,
    }
}

fn unicast(mut e: RxExpect, peer: Ipv4Addr) -> RxExpect {
    e.unicast_peers = vec![UnicastPeer::new(IpAddr::V4(peer))];
    e
}

fn fixtures() -> Vec<Fixture> {
    let v2_none_vips = vec![v4(100), v4(101)];
    let v3_v4_vips = vec![v4(103), v4(104), v4(105)];
    let v6_vips: Vec<IpAddr> = vec!["fe80::54".parse().unwrap(), "2001:db8::54".parse().unwrap()];
    let v4e = |version, vrid, cs, vips: &Vec<IpAddr>| {
        RxExpect::new(Family::Ipv4, version, vrid, cs, vips.clone())
    };
    let mut pass_expect = v4e(Version::V2, 52, 200, &vec![v4(102)]);
    pass_expect.auth = Auth::pass(b"secret");
    vec![
        Fixture {
            name: "v2 none",
            bytes: V2_NONE,
            v6: None,
            src: IpAddr::V4(KA1_V4),
            dst: IpAddr::V4(GROUP4),
            advert: advert(Version::V2, 51, 150, 100, v2_none_vips.clone()),
            expect: v4e(Version::V2, 51, 100, &v2_none_vips),
        },
        Fixture {
            name: "v2 none priority 0",
            bytes: V2_NONE_PRIO0,
            v6: None,
            src: IpAddr::V4(KA1_V4),
            dst: IpAddr::V4(GROUP4),
            advert: advert(Version::V2, 51, 0, 100, v2_none_vips.clone()),
            expect: v4e(Version::V2, 51, 100, &v2_none_vips),
        },
        Fixture {
            name: "v2 PASS",
            bytes: V2_PASS,
            v6: None,
            src: IpAddr::V4(KA1_V4),
            dst: IpAddr::V4(GROUP4),
            advert: Advert {
                auth: Auth::Pass(*b"secret\0\0"),
                ..advert(Version::V2, 52, 100, 200, vec![v4(102)])
            },
            expect: pass_expect,
        },
        Fixture {
            name: "v3 IPv4",
            bytes: V3_V4,
            v6: None,
            src: IpAddr::V4(KA1_V4),
            dst: IpAddr::V4(GROUP4),
            advert: advert(Version::V3, 53, 200, 50, v3_v4_vips.clone()),
            expect: v4e(Version::V3, 53, 50, &v3_v4_vips),
        },
        Fixture {
            name: "v3 IPv6",
            bytes: V3_V6,
            v6: Some((KA1_LL, GROUP6, 255)),
            src: IpAddr::V6(KA1_LL),
            dst: IpAddr::V6(GROUP6),
            advert: advert(Version::V3, 54, 120, 100, v6_vips.clone()),
            expect: RxExpect::new(Family::Ipv6, Version::V3, 54, 100, v6_vips.clone()),
        },
        Fixture {
            name: "v3 IPv6 priority 0",
            bytes: V3_V6_PRIO0,
            v6: Some((KA1_LL, GROUP6, 255)),
            src: IpAddr::V6(KA1_LL),
            dst: IpAddr::V6(GROUP6),
            advert: advert(Version::V3, 54, 0, 100, v6_vips.clone()),
            expect: RxExpect::new(Family::Ipv6, Version::V3, 54, 100, v6_vips),
        },
        Fixture {
            name: "v3 IPv4 unicast",
            bytes: V3_UNICAST,
            v6: None,
            src: IpAddr::V4(KA1_V4),
            dst: IpAddr::V4(KA2_V4),
            advert: advert(Version::V3, 55, 110, 100, vec![v4(106)]),
            expect: unicast(v4e(Version::V3, 55, 100, &vec![v4(106)]), KA1_V4),
        },
        Fixture {
            name: "v2 IPv4 unicast",
            bytes: V2_UNICAST,
            v6: None,
            src: IpAddr::V4(KA1_V4),
            dst: IpAddr::V4(KA2_V4),
            advert: advert(Version::V2, 56, 90, 100, vec![v4(107)]),
            expect: unicast(v4e(Version::V2, 56, 100, &vec![v4(107)]), KA1_V4),
        },
    ]
}

#[test]
fn decode_matches_the_captured_adverts() {
    for f in fixtures() {
        let rx = f.decode().unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(rx.src, f.src, "{}", f.name);
        assert_eq!(rx.dst, f.dst, "{}", f.name);
        assert_eq!(rx.ttl, Some(255), "{}", f.name);
        assert_eq!(rx.vrid(), f.advert.vrid, "{}", f.name);
        assert_eq!(rx.vrrp, f.vrrp(), "{}", f.name);
        assert_eq!(rx.advert(), Some(f.advert.clone()), "{}", f.name);
    }
}

#[test]
fn encode_reproduces_keepalived_bytes() {
    for f in fixtures() {
        assert_eq!(encode(&f.advert, f.src, f.dst), f.vrrp(), "{}", f.name);
    }
}

#[test]
fn captured_adverts_pass_validation() {
    for f in fixtures() {
        let rx = f.decode().unwrap_or_else(|e| panic!("{}: {e}", f.name));
        let expected = Accepted {
            advert: f.advert.clone(),
            src: f.src,
            dst: f.dst,
            old_unicast_checksum: false,
            address_list_mismatch: None,
        };
        assert_eq!(validate(&rx, &f.expect), Ok(expected), "{}", f.name);
    }
}

#[test]
fn old_unicast_checksum_is_detected_refused_or_used_as_configured() {
    let rx = decode_v4(V3_UNICAST_OLD).unwrap();
    let vip = vec![v4(108)];
    let mut exp = unicast(
        RxExpect::new(Family::Ipv4, Version::V3, 57, 100, vip.clone()),
        KA1_V4,
    );
    let advert = advert(Version::V3, 57, 110, 100, vip);

    // Default: accepted, flagged so the instance switches to the old form.
    let got = validate(&rx, &exp).unwrap();
    assert!(got.old_unicast_checksum);
    assert_eq!(got.advert, advert);

    // `old_unicast_checksum never`: a checksum error.
    exp.unicast_checksum = UnicastChecksum::Never;
    assert_eq!(
        validate(&rx, &exp),
        Err(DropReason::ChecksumError {
            version: 3,
            received: 0xfb63
        })
    );

    // Configured (or already detected): the group is the pseudo-header
    // destination, which matches directly.
    for mode in [UnicastChecksum::Old, UnicastChecksum::OldDetected] {
        exp.unicast_checksum = mode;
        assert!(!validate(&rx, &exp).unwrap().old_unicast_checksum);
        // And that is how we send in that mode.
        let dst = mode.pseudo_destination(IpAddr::V4(KA2_V4), GROUP4);
        assert_eq!(
            encode(&advert, IpAddr::V4(KA1_V4), dst),
            &V3_UNICAST_OLD[20..]
        );
    }

    // A standard unicast advert under a configured old mode fails.
    exp.unicast_checksum = UnicastChecksum::Old;
    let mut std_exp = exp.clone();
    std_exp.vrid = 55;
    std_exp.addresses = vec![v4(106)];
    assert!(matches!(
        validate(&decode_v4(V3_UNICAST).unwrap(), &std_exp),
        Err(DropReason::ChecksumError { .. })
    ));
}

/// Every prefix of every capture: decoding and validation return errors,
/// never panic, and never accept a cut advert.
#[test]
fn truncations_never_panic_nor_pass() {
    for f in fixtures() {
        for len in 0..f.bytes.len() {
            let cut = &f.bytes[..len];
            let decoded = match f.v6 {
                None => decode_v4(cut),
                Some((s, d, hl)) => decode_v6(cut, s, d, Some(hl)),
            };
            let Ok(rx) = decoded else { continue };
            let _ = rx.advert();
            let _ = rx.addresses();
            let _ = rx.auth_data();
            let outcome = validate(&rx, &f.expect);
            assert!(
                matches!(outcome, Err(DropReason::LengthMismatch { .. })),
                "{} cut to {len}: {outcome:?}",
                f.name
            );
        }
        // Every shorter length below the VRRP header fails to decode.
        let header_end = if f.v6.is_some() { 8 } else { 28 };
        for len in 0..header_end {
            let decoded = match f.v6 {
                None => decode_v4(&f.bytes[..len]),
                Some((s, d, hl)) => decode_v6(&f.bytes[..len], s, d, Some(hl)),
            };
            assert!(
                matches!(decoded, Err(DropReason::TooShort { .. })),
                "{} {len}",
                f.name
            );
        }
    }
}

#[test]
fn a_trailing_byte_is_a_length_mismatch() {
    for f in fixtures() {
        let mut long = f.bytes.to_vec();
        long.push(0);
        let rx = match f.v6 {
            None => decode_v4(&long),
            Some((s, d, hl)) => decode_v6(&long, s, d, Some(hl)),
        }
        .unwrap();
        let n = f.bytes.len();
        assert_eq!(
            validate(&rx, &f.expect),
            Err(DropReason::LengthMismatch {
                received: n + 1,
                expected: n
            }),
            "{}",
            f.name
        );
    }
}

#[test]
fn accepted_adverts_round_trip_through_json() {
    for f in fixtures() {
        let got = validate(&f.decode().unwrap(), &f.expect).unwrap();
        let json = serde_json::to_string(&got).unwrap();
        let back: Accepted = serde_json::from_str(&json).unwrap();
        assert_eq!(back, got, "{}", f.name);
    }
}
