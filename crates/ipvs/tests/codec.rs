// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Encode and decode against bytes captured from a real kernel
//! (tests/fixtures/kernel-6.1.txt; its header says how it was made).
//! Runs on any host: no socket is opened.

use keepalived_ipvs::decode::{self, Frame, FrameKind, GenlMessage};
use keepalived_ipvs::encode;
use keepalived_ipvs::model::{
    Destination, Family, Forward, Info, Op, Protocol, Service, ServiceKey, Timeouts, Tunnel,
    TunnelType, svc_flags,
};
use pretty_assertions::assert_eq;

mod common;
use common::{Fixture, dest, key, request_ops, service};

fn data_frames(datagrams: &[Vec<u8>]) -> Vec<GenlMessage> {
    let mut out = Vec::new();
    for d in datagrams {
        for f in decode::frames(d).expect("frames") {
            if let FrameKind::Data(body) = f.kind {
                out.push(GenlMessage::parse(body).expect("genl"));
            }
        }
    }
    out
}

#[test]
fn requests_encode_to_the_bytes_the_kernel_accepted() {
    let fx = Fixture::load();
    for (name, op) in request_ops() {
        let want = &fx.get(&format!("request {name}"))[0];
        let family = u16::from_ne_bytes([want[4], want[5]]);
        let seq = u32::from_ne_bytes([want[8], want[9], want[10], want[11]]);
        let got = encode::op_request(&op)
            .expect("encode")
            .to_bytes(family, seq)
            .expect("bytes");
        assert_eq!(common::hex(&got), common::hex(want), "{name}");
    }
}

#[test]
fn info_and_config_replies() {
    let fx = Fixture::load();
    let info = data_frames(fx.get("info"));
    assert_eq!(
        decode::info(&info[0]).expect("info"),
        Info {
            version: 0x010201,
            conn_tab_size: 4096
        }
    );
    let config = data_frames(fx.get("config"));
    assert_eq!(
        decode::timeouts(&config[0]).expect("timeouts"),
        Timeouts {
            tcp: 7200,
            tcp_fin: 60,
            udp: 300
        }
    );
}

/// The table tests/common IPVSADM_TABLE built, as the model says it.
fn ipvsadm_table() -> Vec<(Service, Vec<Destination>)> {
    let web = key(Protocol::Tcp, "192.0.2.1", 80);
    let mut nat = dest("192.0.2.10", 8080, Forward::Masq, 3);
    nat.u_threshold = 100;
    nat.l_threshold = 10;
    let mut gue = dest("192.0.2.13", 80, Forward::Tunnel, 2);
    gue.tunnel = Some(Tunnel {
        tun_type: TunnelType::Gue,
        port: 6080,
        flags: 1,
    });
    let mut dns = service(key(Protocol::Udp, "2001:db8::1", 53), "rr");
    dns.flags = svc_flags::ONEPACKET;
    let mut sctp = service(key(Protocol::Sctp, "192.0.2.2", 3868), "sh");
    sctp.flags = svc_flags::SCHED1 | svc_flags::SCHED2;
    let mut pers = service(key(Protocol::Tcp, "192.0.2.3", 443), "wlc");
    pers.flags = svc_flags::PERSISTENT;
    pers.timeout = 300;
    pers.netmask = 0xffff_ff00;
    let mut sip = service(key(Protocol::Udp, "192.0.2.4", 5060), "rr");
    sip.flags = svc_flags::PERSISTENT;
    sip.timeout = 60;
    sip.pe_name = Some("sip".to_owned());
    let fw6 = ServiceKey::Fwmark {
        family: Family::Inet6,
        mark: 1,
    };
    vec![
        (
            service(web, "wrr"),
            vec![nat, dest("192.0.2.11", 80, Forward::Route, 0), gue],
        ),
        (
            dns,
            vec![
                dest("2001:db8::10", 53, Forward::Masq, 1),
                dest("192.0.2.50", 53, Forward::Tunnel, 1),
            ],
        ),
        (sctp, vec![]),
        (service(fw6, "rr"), vec![]),
        (pers, vec![]),
        (sip, vec![]),
    ]
}

#[test]
fn dump_replies_decode_to_the_table_ipvsadm_built() {
    let fx = Fixture::load();
    let services = data_frames(fx.get("services"));
    let mut got = Vec::new();
    for (i, msg) in services.iter().enumerate() {
        let (svc, _stats) = decode::service(msg).expect("service");
        let mut dests: Vec<_> = data_frames(fx.get(&format!("dests {i}")))
            .iter()
            .map(|m| decode::dest(m, svc.key.family()).expect("dest").0)
            .collect();
        dests.sort_by_key(|d| d.key);
        got.push((svc, dests));
    }
    got.sort_by_key(|(s, _)| s.key);
    let mut want = ipvsadm_table();
    for (_, d) in &mut want {
        d.sort_by_key(|d| d.key);
    }
    want.sort_by_key(|(s, _)| s.key);
    assert_eq!(got, want);
}

#[test]
fn frames_split_acks_and_errors() {
    // Two messages back to back: an ack of seq 7 and ENOENT for seq 8.
    let mut buf = Vec::new();
    for (seq, code) in [(7u32, 0i32), (8, -2)] {
        buf.extend_from_slice(&36u32.to_ne_bytes());
        buf.extend_from_slice(&2u16.to_ne_bytes());
        buf.extend_from_slice(&0u16.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&code.to_ne_bytes());
        buf.extend_from_slice(&[0; 16]);
    }
    let f = decode::frames(&buf).expect("frames");
    assert_eq!(
        f,
        vec![
            Frame {
                msg_type: 2,
                flags: 0,
                seq: 7,
                kind: FrameKind::Ack
            },
            Frame {
                msg_type: 2,
                flags: 0,
                seq: 8,
                kind: FrameKind::Error(2)
            },
        ]
    );
}

#[test]
fn garbage_never_panics() {
    let fx = Fixture::load();
    // Every prefix and every single-byte corruption of real messages.
    for (_, datagrams) in &fx.sections {
        for d in datagrams {
            for cut in 0..d.len() {
                let _ = decode::frames(&d[..cut]);
            }
            for i in 0..d.len() {
                let mut bad = d.clone();
                bad[i] ^= 0xff;
                let Ok(frames) = decode::frames(&bad) else {
                    continue;
                };
                for f in frames {
                    let FrameKind::Data(body) = f.kind else {
                        continue;
                    };
                    if let Ok(m) = GenlMessage::parse(body) {
                        let _ = decode::service(&m);
                        let _ = decode::dest(&m, Family::Inet);
                        let _ = decode::daemon(&m);
                        let _ = decode::info(&m);
                        let _ = decode::timeouts(&m);
                    }
                }
            }
        }
    }
}

#[test]
fn names_too_long_are_refused_before_sending() {
    let mut s = service(key(Protocol::Tcp, "192.0.2.1", 80), "sixteen-chars-xx");
    assert!(encode::op_request(&Op::AddService(s.clone())).is_err());
    s.scheduler = "rr".to_owned();
    s.pe_name = Some("nul\0".to_owned());
    assert!(encode::op_request(&Op::AddService(s)).is_err());
}
