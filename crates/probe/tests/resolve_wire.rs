// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Reading answers for real servers named by DNS: what is taken, and
//! every kind of bad input refused or bounded (truncated, oversized,
//! malformed, spoofed, CNAME loops, 10 000 records).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::op::{Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, SRV};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use keepalived_probe::resolve::wire::{
    Ask, Dropped, Found, MAX_CNAME_HOPS, Reading, SrvRecord, from_nameserver, query, question_name,
    read,
};

const ID: u16 = 0x4242;

fn name(s: &str) -> Name {
    question_name(s).unwrap()
}

fn response(qname: &str, qtype: RecordType, rcode: ResponseCode) -> Message {
    let mut q = Query::query(name(qname), qtype);
    q.set_query_class(DNSClass::IN);
    let mut m = Message::new();
    m.set_id(ID)
        .set_message_type(MessageType::Response)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .set_recursion_available(true)
        .set_response_code(rcode)
        .add_query(q);
    m
}

fn a_rec(owner: &str, ip: [u8; 4], ttl: u32) -> Record {
    Record::from_rdata(name(owner), ttl, RData::A(A(Ipv4Addr::from(ip))))
}

fn bytes(m: &Message) -> Vec<u8> {
    m.to_vec().unwrap()
}

fn v4(ip: [u8; 4]) -> Found {
    Found {
        addr: IpAddr::V4(Ipv4Addr::from(ip)),
        port: 0,
        weight: None,
    }
}

fn valid(r: Reading) -> (Vec<Found>, u32, u64) {
    match r {
        Reading::Valid(a) => (a.found, a.ttl, a.dropped),
        other => panic!("not valid: {other:?}"),
    }
}

#[test]
fn the_query_asks_once_with_edns() {
    let q = query(ID, &name("web.example.internal"), Ask::A, 1232).unwrap();
    let m = Message::from_vec(&q).unwrap();
    assert_eq!(m.id(), ID);
    assert!(m.recursion_desired());
    assert_eq!(m.queries().len(), 1);
    assert_eq!(m.queries()[0].query_type(), RecordType::A);
    assert_eq!(m.extensions().as_ref().unwrap().max_payload(), 1232);
    let srv = query(1, &name("_http._tcp.example"), Ask::Srv { v6: false }, 512).unwrap();
    let m = Message::from_vec(&srv).unwrap();
    assert_eq!(m.queries()[0].query_type(), RecordType::SRV);
}

#[test]
fn a_records_are_taken_with_the_smallest_ttl() {
    let mut m = response("web.example", RecordType::A, ResponseCode::NoError);
    m.add_answer(a_rec("web.example", [192, 0, 2, 1], 30));
    m.add_answer(a_rec("web.example", [192, 0, 2, 2], 10));
    // A record for another owner is not ours.
    m.add_answer(a_rec("other.example", [192, 0, 2, 3], 10));
    let (found, ttl, dropped) = valid(read(&bytes(&m), ID, &name("WEB.example"), Ask::A, 64));
    assert_eq!(found, vec![v4([192, 0, 2, 1]), v4([192, 0, 2, 2])]);
    assert_eq!((ttl, dropped), (10, 0));
}

#[test]
fn aaaa_records_for_an_ipv6_service() {
    let mut m = response("web.example", RecordType::AAAA, ResponseCode::NoError);
    let ip: Ipv6Addr = "2001:db8::1".parse().unwrap();
    m.add_answer(Record::from_rdata(
        name("web.example"),
        5,
        RData::AAAA(AAAA(ip)),
    ));
    m.add_answer(a_rec("web.example", [192, 0, 2, 1], 5));
    let (found, _, _) = valid(read(&bytes(&m), ID, &name("web.example"), Ask::Aaaa, 64));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].addr, IpAddr::V6(ip));
}

#[test]
fn rcodes_are_classified() {
    let n = name("web.example");
    let r = |c| {
        read(
            &bytes(&response("web.example", RecordType::A, c)),
            ID,
            &n,
            Ask::A,
            64,
        )
    };
    assert_eq!(r(ResponseCode::NXDomain), Reading::NxDomain);
    assert_eq!(r(ResponseCode::Refused), Reading::Refused);
    assert!(matches!(r(ResponseCode::ServFail), Reading::Other(_)));
    assert!(matches!(r(ResponseCode::FormErr), Reading::Other(_)));
    // NOERROR with no record: valid and empty.
    let (found, ttl, _) = valid(r(ResponseCode::NoError));
    assert!(found.is_empty());
    assert_eq!(ttl, 0);
}

#[test]
fn spoofed_answers_are_dropped() {
    let mut m = response("web.example", RecordType::A, ResponseCode::NoError);
    m.add_answer(a_rec("web.example", [192, 0, 2, 66], 30));
    let n = name("web.example");
    let b = bytes(&m);
    assert_eq!(
        read(&b, ID + 1, &n, Ask::A, 64),
        Reading::Dropped(Dropped::WrongId(ID))
    );
    assert_eq!(
        read(&b, ID, &name("web2.example"), Ask::A, 64),
        Reading::Dropped(Dropped::WrongQuestion)
    );
    assert_eq!(
        read(&b, ID, &n, Ask::Aaaa, 64),
        Reading::Dropped(Dropped::WrongQuestion)
    );
    let mut q = m.clone();
    q.set_message_type(MessageType::Query);
    assert_eq!(
        read(&bytes(&q), ID, &n, Ask::A, 64),
        Reading::Dropped(Dropped::NotAResponse)
    );
    let mut two = m.clone();
    two.add_query(Query::query(name("web.example"), RecordType::A));
    assert_eq!(
        read(&bytes(&two), ID, &n, Ask::A, 64),
        Reading::Dropped(Dropped::WrongQuestion)
    );
}

#[test]
fn the_source_must_be_the_nameserver() {
    let ns: SocketAddr = "192.0.2.53:53".parse().unwrap();
    assert!(from_nameserver(ns, ns));
    assert!(from_nameserver(
        "[::ffff:192.0.2.53]:53".parse().unwrap(),
        ns
    ));
    assert!(!from_nameserver("192.0.2.54:53".parse().unwrap(), ns));
    assert!(!from_nameserver("192.0.2.53:5353".parse().unwrap(), ns));
}

#[test]
fn truncated_short_and_malformed_messages() {
    let mut m = response("web.example", RecordType::A, ResponseCode::NoError);
    m.add_answer(a_rec("web.example", [192, 0, 2, 1], 30));
    let n = name("web.example");
    let mut tc = m.clone();
    tc.set_truncated(true);
    assert_eq!(read(&bytes(&tc), ID, &n, Ask::A, 64), Reading::Truncated);
    let b = bytes(&m);
    assert_eq!(
        read(&b[..11], ID, &n, Ask::A, 64),
        Reading::Dropped(Dropped::TooShort)
    );
    // Cut anywhere inside the records: refused, never a partial set.
    for cut in HEADER..b.len() {
        let r = read(&b[..cut], ID, &n, Ask::A, 64);
        assert_eq!(r, Reading::Dropped(Dropped::Malformed), "cut at {cut}");
    }
    // A compression pointer loop.
    let mut evil = b[..12].to_vec();
    evil.extend_from_slice(&[0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01]);
    assert_eq!(
        read(&evil, ID, &n, Ask::A, 64),
        Reading::Dropped(Dropped::Malformed)
    );
    // Random garbage of every small size.
    for len in 0..200usize {
        let junk: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        assert!(matches!(
            read(&junk, ID, &n, Ask::A, 64),
            Reading::Dropped(_)
        ));
    }
}

const HEADER: usize = 12;

#[test]
fn cname_chains_are_followed_and_loops_refused() {
    let n = name("web.example");
    let mut m = response("web.example", RecordType::A, ResponseCode::NoError);
    m.add_answer(Record::from_rdata(
        name("web.example"),
        60,
        RData::CNAME(CNAME(name("lb.example"))),
    ));
    m.add_answer(a_rec("lb.example", [192, 0, 2, 7], 20));
    let (found, ttl, _) = valid(read(&bytes(&m), ID, &n, Ask::A, 64));
    assert_eq!((found, ttl), (vec![v4([192, 0, 2, 7])], 20));

    let mut lp = response("web.example", RecordType::A, ResponseCode::NoError);
    lp.add_answer(Record::from_rdata(
        name("web.example"),
        60,
        RData::CNAME(CNAME(name("b.example"))),
    ));
    lp.add_answer(Record::from_rdata(
        name("b.example"),
        60,
        RData::CNAME(CNAME(name("web.example"))),
    ));
    assert!(
        matches!(read(&bytes(&lp), ID, &n, Ask::A, 64), Reading::Other(w) if w.contains("loop"))
    );

    // A loop that does not come back to the question, and a long chain.
    let mut long = response("web.example", RecordType::A, ResponseCode::NoError);
    let mut prev = "web.example".to_string();
    for i in 0..=MAX_CNAME_HOPS {
        let next = format!("c{i}.example");
        long.add_answer(Record::from_rdata(
            name(&prev),
            60,
            RData::CNAME(CNAME(name(&next))),
        ));
        prev = next;
    }
    long.add_answer(a_rec(&prev, [192, 0, 2, 8], 60));
    assert!(matches!(
        read(&bytes(&long), ID, &n, Ask::A, 64),
        Reading::Other(_)
    ));
    let mut side = response("web.example", RecordType::A, ResponseCode::NoError);
    side.add_answer(Record::from_rdata(
        name("web.example"),
        60,
        RData::CNAME(CNAME(name("x.example"))),
    ));
    side.add_answer(Record::from_rdata(
        name("x.example"),
        60,
        RData::CNAME(CNAME(name("y.example"))),
    ));
    side.add_answer(Record::from_rdata(
        name("y.example"),
        60,
        RData::CNAME(CNAME(name("x.example"))),
    ));
    assert!(matches!(
        read(&bytes(&side), ID, &n, Ask::A, 64),
        Reading::Other(_)
    ));
}

/// 10 000 A records cannot fit a DNS message (65 535 bytes even over
/// TCP, 16 bytes a record): the most that fits is bounded, and a header
/// that claims 10 000 is refused as malformed.
#[test]
fn ten_thousand_records_are_bounded() {
    let mut m = response("web.example", RecordType::A, ResponseCode::NoError);
    for i in 0..4_000u32 {
        m.add_answer(a_rec("web.example", (0xc612_0000u32 + i).to_be_bytes(), 60));
    }
    let b = bytes(&m);
    assert!(b.len() <= 65_535, "{}", b.len());
    let (found, _, dropped) = valid(read(&b, ID, &name("web.example"), Ask::A, 64));
    assert_eq!(found.len(), 64);
    assert_eq!(dropped, 4_000 - 64);

    let mut claim = b.clone();
    claim[6..8].copy_from_slice(&10_000u16.to_be_bytes());
    assert_eq!(
        read(&claim, ID, &name("web.example"), Ask::A, 64),
        Reading::Dropped(Dropped::Malformed)
    );
}

#[test]
fn srv_records_with_their_glue_priority_port_and_weight() {
    let n = name("_http._tcp.example");
    let mut m = response("_http._tcp.example", RecordType::SRV, ResponseCode::NoError);
    for (prio, w, port, target) in [
        (10, 5, 8080, "One.Example"),
        (20, 7, 8081, "two.example"),
        (20, 7, 8082, "noglue.example"),
    ] {
        m.add_answer(Record::from_rdata(
            n.clone(),
            30,
            RData::SRV(SRV::new(prio, w, port, name(target))),
        ));
    }
    // RFC 2782: target "." means not available there.
    m.add_answer(Record::from_rdata(
        n.clone(),
        30,
        RData::SRV(SRV::new(0, 1, 9000, Name::root())),
    ));
    m.add_additional(a_rec("one.example", [192, 0, 2, 11], 12));
    m.add_additional(a_rec("one.example", [192, 0, 2, 11], 12));
    m.add_additional(a_rec("two.example", [192, 0, 2, 12], 40));
    let srv = |target: &str, priority, weight, port, glue: &[[u8; 4]]| SrvRecord {
        target: target.into(),
        priority,
        weight,
        port,
        glue: glue
            .iter()
            .map(|&g| IpAddr::V4(Ipv4Addr::from(g)))
            .collect(),
    };
    match read(&bytes(&m), ID, &n, Ask::Srv { v6: false }, 64) {
        Reading::Valid(a) => {
            assert!(a.found.is_empty());
            assert_eq!(
                a.srv,
                vec![
                    srv("one.example", 10, 5, 8080, &[[192, 0, 2, 11]]),
                    srv("two.example", 20, 7, 8081, &[[192, 0, 2, 12]]),
                    srv("noglue.example", 20, 7, 8082, &[]),
                ]
            );
            assert_eq!((a.ttl, a.dropped), (12, 0));
        }
        other => panic!("not valid: {other:?}"),
    }
    // Bounded: at most `max` records, the rest counted.
    match read(&bytes(&m), ID, &n, Ask::Srv { v6: false }, 2) {
        Reading::Valid(a) => assert_eq!((a.srv.len(), a.dropped), (2, 1)),
        other => panic!("not valid: {other:?}"),
    }
}
