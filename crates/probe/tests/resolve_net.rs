// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One lookup attempt on real sockets against nameservers played on
//! loopback: forged datagrams first (wrong ID, wrong question, garbage)
//! are dropped and reported while the real answer is still taken; a
//! truncated UDP answer is asked again over TCP; a silent nameserver ends
//! the attempt at its deadline; NOERROR from a second nameserver wins over
//! a refusal from the first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{RData, Record};
use keepalived_probe::resolve::net::{Question, attempt};
use keepalived_probe::resolve::wire::{Ask, Reading, question_name};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn question() -> Question {
    Question {
        name: question_name("web.example.internal").unwrap(),
        ask: Ask::A,
        payload: 512,
        max: 64,
    }
}

/// The answer to `query` with one A record, RCODE `rcode`, TC `tc`.
fn answer(query: &[u8], rcode: ResponseCode, tc: bool, last: u8) -> Message {
    let q = Message::from_vec(query).unwrap();
    let mut m = Message::new();
    m.set_id(q.id())
        .set_message_type(MessageType::Response)
        .set_response_code(rcode)
        .set_truncated(tc)
        .add_query(q.queries()[0].clone());
    if rcode == ResponseCode::NoError && !tc {
        m.add_answer(Record::from_rdata(
            q.queries()[0].name().clone(),
            30,
            RData::A(A(Ipv4Addr::new(192, 0, 2, last))),
        ));
    }
    m
}

fn found(r: &Option<Reading>) -> Vec<String> {
    match r {
        Some(Reading::Valid(a)) => a.found.iter().map(|f| f.addr.to_string()).collect(),
        other => panic!("not a valid answer: {other:?}"),
    }
}

#[test]
fn forged_datagrams_are_dropped_and_the_answer_taken() {
    runtime().block_on(async {
        let ns = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = ns.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let (n, from) = ns.recv_from(&mut buf).await.unwrap();
            let q = buf[..n].to_vec();
            let mut wrong_id = answer(&q, ResponseCode::NoError, false, 66);
            wrong_id.set_id(wrong_id.id().wrapping_add(1));
            ns.send_to(&wrong_id.to_vec().unwrap(), from).await.unwrap();
            ns.send_to(b"\x00\x01garbage-garbage", from).await.unwrap();
            let good = answer(&q, ResponseCode::NoError, false, 7);
            ns.send_to(&good.to_vec().unwrap(), from).await.unwrap();
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let got = attempt(&[addr], &question(), deadline).await;
        server.await.unwrap();
        assert_eq!(found(&got.reading), vec!["192.0.2.7"]);
        assert_eq!(got.dropped.len(), 2, "{:?}", got.dropped);
        assert!(
            got.dropped[0].contains("is not the query's"),
            "{:?}",
            got.dropped
        );
    });
}

#[test]
fn an_answer_from_another_port_is_refused() {
    runtime().block_on(async {
        let ns = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let forger = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = ns.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let (n, from) = ns.recv_from(&mut buf).await.unwrap();
            let q = buf[..n].to_vec();
            let forged = answer(&q, ResponseCode::NoError, false, 66);
            forger
                .send_to(&forged.to_vec().unwrap(), from)
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            let good = answer(&q, ResponseCode::NoError, false, 8);
            ns.send_to(&good.to_vec().unwrap(), from).await.unwrap();
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let got = attempt(&[addr], &question(), deadline).await;
        server.await.unwrap();
        assert_eq!(found(&got.reading), vec!["192.0.2.8"]);
        assert!(
            got.dropped[0].contains("not from nameserver"),
            "{:?}",
            got.dropped
        );
    });
}

#[test]
fn a_truncated_answer_is_asked_again_over_tcp() {
    runtime().block_on(async {
        // UDP and TCP on the same port.
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let port = udp.local_addr().unwrap().port();
            if let Ok(t) = TcpListener::bind(("127.0.0.1", port)).await {
                break (udp, t);
            }
        };
        let addr = udp.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let (n, from) = udp.recv_from(&mut buf).await.unwrap();
            let tc = answer(&buf[..n], ResponseCode::NoError, true, 0);
            udp.send_to(&tc.to_vec().unwrap(), from).await.unwrap();
            let (mut s, _) = tcp.accept().await.unwrap();
            let mut lb = [0u8; 2];
            s.read_exact(&mut lb).await.unwrap();
            let mut q = vec![0u8; usize::from(u16::from_be_bytes(lb))];
            s.read_exact(&mut q).await.unwrap();
            let full = answer(&q, ResponseCode::NoError, false, 9)
                .to_vec()
                .unwrap();
            let mut out = u16::try_from(full.len()).unwrap().to_be_bytes().to_vec();
            out.extend_from_slice(&full);
            s.write_all(&out).await.unwrap();
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let got = attempt(&[addr], &question(), deadline).await;
        server.await.unwrap();
        assert_eq!(found(&got.reading), vec!["192.0.2.9"]);
    });
}

#[test]
fn a_silent_nameserver_ends_the_attempt_at_its_deadline() {
    runtime().block_on(async {
        let ns = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = ns.local_addr().unwrap();
        let start = tokio::time::Instant::now();
        let got = attempt(&[addr], &question(), start + Duration::from_millis(200)).await;
        assert!(got.reading.is_none());
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(200), "{took:?}");
        drop(ns);
    });
}

#[test]
fn noerror_from_one_nameserver_wins_over_a_refusal() {
    runtime().block_on(async {
        let refusing = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let good = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let servers: Vec<SocketAddr> =
            vec![refusing.local_addr().unwrap(), good.local_addr().unwrap()];
        let a = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let (n, from) = refusing.recv_from(&mut buf).await.unwrap();
            let r = answer(&buf[..n], ResponseCode::Refused, false, 0);
            refusing.send_to(&r.to_vec().unwrap(), from).await.unwrap();
        });
        let b = tokio::spawn(async move {
            let mut buf = vec![0u8; 2048];
            let (n, from) = good.recv_from(&mut buf).await.unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            let r = answer(&buf[..n], ResponseCode::NoError, false, 10);
            good.send_to(&r.to_vec().unwrap(), from).await.unwrap();
        });
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        let got = attempt(&servers, &question(), deadline).await;
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(found(&got.reading), vec!["192.0.2.10"]);
    });
}
