// SPDX-License-Identifier: Apache-2.0 OR MIT
//! VRRP raw sockets across a veth pair: what B receives from A.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::sync::mpsc;
use std::time::Duration;

use common::{A_V4, A_V6, B_V4, B_V6, Lab, in_ns, join};
use keepalived_sys::netlink::Netlink;
use keepalived_sys::vrid_filter::Wanted;
use keepalived_sys::vrrp_socket::{
    Datagram, Family, RecvMode, VRRP_GROUP_V4, VRRP_GROUP_V6, VrrpReceiver, VrrpSender,
};

/// A VRRPv3 advert shape: version/type, VRID 51, prio 100, 1 address,
/// interval 100 cs, checksum left zero, one address.
fn advert(addr: &[u8]) -> Vec<u8> {
    let mut p = vec![0x31, 51, 100, 1, 0x00, 0x64, 0, 0];
    p.extend_from_slice(addr);
    p
}

struct Case {
    family: Family,
    mode: RecvMode,
    /// `None`: multicast.
    dst: Option<IpAddr>,
    /// `None`: A's link-local.
    src: Option<IpAddr>,
}

/// Open the receiver in B, then send from A until B has a datagram.
fn exchange(lab: &Lab, case: Case, payload: Vec<u8>) -> (Datagram, IpAddr, u32) {
    receive_in_b(lab, case, Filter::None, 255, vec![payload])
}

/// The kernel filter B's receiver gets.
enum Filter {
    None,
    Vrids(Vec<u8>),
    Adverts(Wanted),
    Rejects(Wanted),
}

/// The receive harness: opens B's receiver with `filter`, then sends
/// `round` from A (unicast with TTL `ttl`), one round each 100 ms, until B
/// has read a datagram. Returns that datagram, A's source and B's ifindex.
fn receive_in_b(
    lab: &Lab,
    case: Case,
    filter: Filter,
    ttl: u8,
    round: Vec<Vec<u8>>,
) -> (Datagram, IpAddr, u32) {
    let (ready_tx, ready_rx) = mpsc::channel();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    let Case {
        family,
        mode,
        dst,
        src,
    } = case;
    let receiver = in_ns(&lab.b, move || async move {
        let nl = Netlink::new().unwrap();
        let vb = nl.interface_by_name("vb").await.unwrap();
        let mut rx = VrrpReceiver::open("vb", vb.index, family, mode).unwrap();
        match &filter {
            Filter::None => {}
            Filter::Vrids(v) => rx.set_vrids(v).unwrap(),
            Filter::Adverts(w) => rx.set_adverts(w).unwrap(),
            Filter::Rejects(w) => rx.set_rejects(w).unwrap(),
        }
        ready_tx.send(()).unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("nothing received within 5 s")
            .expect("receive error");
        let _ = done_tx.send(());
        (got, vb.index)
    });
    ready_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("receiver did not open");
    let sender = in_ns(&lab.a, move || async move {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        let src =
            src.unwrap_or_else(|| IpAddr::V6(va.ipv6_link_local().expect("link-local on va")));
        let tx = VrrpSender::open("va", va.index, src, ttl).unwrap();
        for _ in 0..20 {
            for payload in &round {
                match dst {
                    None => tx.send_multicast(payload).await.unwrap(),
                    Some(d) => tx.send_to(d, payload).await.unwrap(),
                }
            }
            if done_rx.recv_timeout(Duration::from_millis(100)).is_ok() {
                break;
            }
        }
        src
    });
    let (got, ifindex) = join(receiver);
    let src = join(sender);
    (got, src, ifindex)
}

#[test]
fn multicast_v4_arrives_with_ttl_255_tos_c0_and_df_clear() {
    let lab = Lab::new();
    let payload = advert(&[192, 0, 2, 100]);
    let case = Case {
        family: Family::V4,
        mode: RecvMode::Multicast,
        dst: None,
        src: Some(A_V4.parse().unwrap()),
    };
    let (got, src, vb_index) = exchange(&lab, case, payload.clone());
    assert_eq!(got.src, src);
    assert_eq!(got.dst, IpAddr::V4(VRRP_GROUP_V4));
    assert_eq!(got.ttl, 255);
    assert_eq!(got.tos, 0xc0);
    assert_eq!(got.ifindex, vb_index);
    assert_eq!(got.payload(), payload.as_slice());
    assert_eq!(got.bytes[9], 112, "IP protocol");
    assert_eq!(got.bytes[6] & 0x40, 0, "DF must be clear like keepalived's");
}

#[test]
fn a_configured_v4_group_is_joined_and_received() {
    let lab = Lab::new();
    // MCAST-TEST-NET (RFC 5771), standing in for `vrrp_mcast_group4`.
    let group: IpAddr = "233.252.0.18".parse().unwrap();
    let payload = advert(&[192, 0, 2, 100]);
    let case = Case {
        family: Family::V4,
        mode: RecvMode::MulticastGroup(group),
        dst: Some(group),
        src: Some(A_V4.parse().unwrap()),
    };
    let (got, src, _) = exchange(&lab, case, payload.clone());
    assert_eq!(got.src, src);
    assert_eq!(got.dst, group);
    assert_eq!(got.payload(), payload.as_slice());
}

#[test]
fn multicast_v6_arrives_from_link_local_with_hop_limit_255_and_kernel_checksum() {
    let lab = Lab::new();
    let payload = advert(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    let case = Case {
        family: Family::V6,
        mode: RecvMode::Multicast,
        dst: None,
        src: None,
    };
    let (got, src, vb_index) = exchange(&lab, case, payload.clone());
    assert!(matches!(src, IpAddr::V6(v6) if keepalived_sys::link::is_link_local(&v6)));
    assert_eq!(got.src, src);
    assert_eq!(got.dst, IpAddr::V6(VRRP_GROUP_V6));
    assert_eq!(got.ttl, 255);
    assert_eq!(got.tos, 0xc0);
    assert_eq!(got.ifindex, vb_index);
    let body = got.payload();
    assert_eq!(body.len(), payload.len());
    assert_eq!(&body[..6], &payload[..6]);
    assert_eq!(&body[8..], &payload[8..]);
    assert_ne!(&body[6..8], &[0, 0], "the kernel fills the checksum");
}

#[test]
fn unicast_v4_reaches_the_unicast_socket_but_not_the_multicast_one() {
    let lab = Lab::new();
    // A multicast receiver in B must not see unicast adverts.
    let (mc_ready_tx, mc_ready_rx) = mpsc::channel();
    let mc = in_ns(&lab.b, move || async move {
        let nl = Netlink::new().unwrap();
        let vb = nl.interface_by_name("vb").await.unwrap();
        let mut rx = VrrpReceiver::open("vb", vb.index, Family::V4, RecvMode::Multicast).unwrap();
        mc_ready_tx.send(()).unwrap();
        tokio::time::timeout(Duration::from_millis(1500), rx.recv())
            .await
            .is_ok()
    });
    mc_ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let payload = advert(&[192, 0, 2, 100]);
    let case = Case {
        family: Family::V4,
        mode: RecvMode::Unicast {
            local: Some(B_V4.parse().unwrap()),
        },
        dst: Some(B_V4.parse().unwrap()),
        src: Some(A_V4.parse().unwrap()),
    };
    let (got, src, vb_index) = exchange(&lab, case, payload.clone());
    assert_eq!(got.src, src);
    assert_eq!(got.dst, B_V4.parse::<IpAddr>().unwrap());
    assert_eq!(got.ttl, 255);
    assert_eq!(got.tos, 0xc0);
    assert_eq!(got.ifindex, vb_index);
    assert_eq!(got.payload(), payload.as_slice());
    assert!(!join(mc), "the multicast socket received a unicast advert");
}

#[test]
fn unicast_v6_arrives_with_hop_limit_255() {
    let lab = Lab::new();
    let payload = advert(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]);
    let case = Case {
        family: Family::V6,
        mode: RecvMode::Unicast {
            local: Some(B_V6.parse().unwrap()),
        },
        dst: Some(B_V6.parse().unwrap()),
        src: Some(A_V6.parse().unwrap()),
    };
    let (got, src, vb_index) = exchange(&lab, case, payload.clone());
    assert_eq!(got.src, src);
    assert_eq!(got.dst, B_V6.parse::<IpAddr>().unwrap());
    assert_eq!(got.ttl, 255);
    assert_eq!(got.tos, 0xc0);
    assert_eq!(got.ifindex, vb_index);
    assert_eq!(&got.payload()[8..], &payload[8..]);
}

#[test]
fn sender_refuses_a_source_address_the_interface_does_not_have() {
    let lab = Lab::new();
    let r = join(in_ns(&lab.a, || async {
        let nl = Netlink::new().unwrap();
        let va = nl.interface_by_name("va").await.unwrap();
        VrrpSender::open("va", va.index, "192.0.2.77".parse().unwrap(), 255).map(|_| ())
    }));
    let err = r.expect_err("bind to a foreign address must fail");
    assert!(err.to_string().contains("bind source address"), "{err}");
}

/// To the VRRP group of `family`, from A's address (IPv4) or its
/// link-local one (IPv6).
fn multicast_case(family: Family) -> Case {
    Case {
        family,
        mode: RecvMode::Multicast,
        dst: None,
        src: match family {
            Family::V4 => Some(A_V4.parse().unwrap()),
            Family::V6 => None,
        },
    }
}

/// The VRID filter in the real kernel: B's socket passes only VRID 52;
/// A sends VRID 51 first, then 52. The first datagram B reads is 52's,
/// for IPv4 (VRID after the IP header) and IPv6 (VRID at byte 1).
fn first_after_filter(family: Family) -> Vec<u8> {
    let lab = Lab::new();
    let case = multicast_case(family);
    let mut wrong = advert(&[192, 0, 2, 100]);
    let mut right = wrong.clone();
    wrong[1] = 51;
    right[1] = 52;
    let mut round = vec![wrong; 10];
    round.push(right);
    let (got, _, _) = receive_in_b(&lab, case, Filter::Vrids(vec![52]), 255, round);
    got.payload().to_vec()
}

#[test]
fn the_vrid_filter_drops_other_vrids_in_the_kernel_v4() {
    let got = first_after_filter(Family::V4);
    assert_eq!(got.get(1), Some(&52), "{got:?}");
}

#[test]
fn the_vrid_filter_drops_other_vrids_in_the_kernel_v6() {
    let got = first_after_filter(Family::V6);
    assert_eq!(got.get(1), Some(&52), "{got:?}");
}

/// The adverts/rejects split in the real kernel. A sends, in each round,
/// datagrams the socket under test must not pass, then the one it must:
/// the first datagram B reads is that one. VRID 52 runs VRRPv3 (byte
/// 0x31) with TTL 255 required; 51 is nobody's.
fn first_of_split(family: Family, adverts_side: bool) -> Vec<u8> {
    let lab = Lab::new();
    let case = multicast_case(family);
    let wanted = Wanted {
        adverts: vec![(52, 0x31)],
        ttl_255: true,
    };
    let with = |vt: u8, vrid: u8| {
        let mut p = advert(&[192, 0, 2, 100]);
        p[0] = vt;
        p[1] = vrid;
        p
    };
    let (filter, mut round) = if adverts_side {
        // A v2 byte and a bad type for 52, a good v3 advert of 51.
        (
            Filter::Adverts(wanted),
            vec![with(0x21, 52), with(0x32, 52), with(0x31, 51)],
        )
    } else {
        // Good adverts of 52 and anything of 51.
        (
            Filter::Rejects(wanted),
            vec![with(0x31, 52), with(0x21, 51), with(0x31, 51)],
        )
    };
    round = std::iter::repeat_n(round, 5).flatten().collect();
    round.push(if adverts_side {
        with(0x31, 52)
    } else {
        with(0x21, 52)
    });
    let (got, _, _) = receive_in_b(&lab, case, filter, 255, round);
    got.payload().to_vec()
}

#[test]
fn the_adverts_socket_takes_only_right_versions_v4_and_v6() {
    for family in [Family::V4, Family::V6] {
        let got = first_of_split(family, true);
        assert_eq!(got.get(..2), Some(&[0x31, 52][..]), "{family:?}: {got:?}");
    }
}

#[test]
fn the_rejects_socket_takes_only_the_rest_of_our_vrids_v4_and_v6() {
    for family in [Family::V4, Family::V6] {
        let got = first_of_split(family, false);
        assert_eq!(got.get(..2), Some(&[0x21, 52][..]), "{family:?}: {got:?}");
    }
}

/// TTL, unicast from A (the multicast TTL is always 255): with TTL 255
/// required, the adverts socket reads a TTL 255 advert and nothing of a
/// TTL 64 one; the rejects socket reads the TTL 64 one.
#[test]
fn a_wrong_ipv4_ttl_goes_to_the_rejects_socket() {
    let wanted = Wanted {
        adverts: vec![(51, 0x31)],
        ttl_255: true,
    };
    let case = || Case {
        family: Family::V4,
        mode: RecvMode::Unicast {
            local: Some(B_V4.parse().unwrap()),
        },
        dst: Some(B_V4.parse().unwrap()),
        src: Some(A_V4.parse().unwrap()),
    };
    let payload = advert(&[192, 0, 2, 100]);
    let lab = Lab::new();
    let (got, _, _) = receive_in_b(
        &lab,
        case(),
        Filter::Adverts(wanted.clone()),
        255,
        vec![payload.clone()],
    );
    assert_eq!(got.ttl, 255);
    let (got, _, _) = receive_in_b(
        &lab,
        case(),
        Filter::Rejects(wanted.clone()),
        64,
        vec![payload.clone()],
    );
    assert_eq!(got.ttl, 64);
    // receive_in_b fails when nothing arrives within 5 s.
    let missed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        receive_in_b(&lab, case(), Filter::Adverts(wanted), 64, vec![payload])
    }));
    assert!(
        missed.is_err(),
        "a TTL 64 advert reached the adverts socket"
    );
}
