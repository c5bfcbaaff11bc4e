// SPDX-License-Identifier: Apache-2.0 OR MIT
//! TCP_CHECK against real sockets on loopback.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{closed_port, one_checker, runtime, spec_from};
use keepalived_probe::{Verdict, run};
use socket2::{Domain, SockAddr, Socket, Type};

fn tcp(port: u16, body: &str) -> keepalived_probe::Spec {
    spec_from(&one_checker(
        "127.0.0.1",
        port,
        &format!("TCP_CHECK {{\n{body}\n}}"),
    ))
    .expect("spec")
}

#[test]
fn handshake_is_success_and_close_does_not_linger() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let r = runtime().block_on(run(&tcp(port, "connect_timeout 2")));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Success, "success")
    );
    // keepalived 2.2.7's SO_LINGER(5 s) could stall the close; ours is
    // immediate: the whole probe took far less than a second.
    assert!(r.elapsed < Duration::from_millis(500), "{r:?}");
    // The peer sees an orderly close (FIN, not RST): read() gives 0.
    let (mut conn, _) = l.accept().expect("accept");
    use std::io::Read;
    let mut b = [0u8; 1];
    assert_eq!(conn.read(&mut b).expect("read"), 0);
}

#[test]
fn refused_is_failure() {
    let r = runtime().block_on(run(&tcp(closed_port(), "")));
    assert_eq!((r.verdict, r.detail.as_str()), (Verdict::Failure, "failed"));
}

#[test]
fn no_handshake_within_connect_timeout_is_a_timeout() {
    // A listener that never accepts, its backlog full: further SYNs are
    // dropped, so the connect hangs.
    let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    s.bind(&SockAddr::from(std::net::SocketAddr::from((
        [127, 0, 0, 1],
        0,
    ))))
    .expect("bind");
    s.listen(0).expect("listen");
    let port = s
        .local_addr()
        .expect("addr")
        .as_socket()
        .expect("inet")
        .port();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let c = Socket::new(Domain::IPV4, Type::STREAM.nonblocking(), None).expect("socket");
        let _ = c.connect(&SockAddr::from(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            port,
        ))));
        fillers.push(c);
    }
    std::thread::sleep(Duration::from_millis(200));
    let start = Instant::now();
    let r = runtime().block_on(run(&tcp(port, "connect_timeout 1")));
    assert_eq!(
        (r.verdict, r.detail.as_str()),
        (Verdict::Failure, "timeout"),
        "{r:?}"
    );
    let took = start.elapsed();
    assert!(
        took >= Duration::from_millis(950) && took < Duration::from_millis(1500),
        "{took:?}"
    );
}

#[test]
fn local_problems_are_local_errors_not_failures() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    // An address that is not ours: bind fails (EADDRNOTAVAIL).
    let r = runtime().block_on(run(&tcp(port, "bindto 192.0.2.77")));
    assert_eq!(r.verdict, Verdict::LocalError, "{r:?}");
    assert_eq!(r.detail, "TCP socket bind failed. Rescheduling.");
    // An interface that does not exist.
    let r = runtime().block_on(run(&tcp(port, "bind_if nosuchdev0")));
    assert_eq!(r.verdict, Verdict::LocalError, "{r:?}");
}

#[test]
fn bind_options_and_fwmark_are_applied() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let free = closed_port();
    let r = runtime().block_on(run(&tcp(
        port,
        &format!("bindto 127.0.0.1\nbind_port {free}\nbind_if lo\nfwmark 7"),
    )));
    assert_eq!(
        r.verdict,
        Verdict::Success,
        "{r:?} (needs root for SO_MARK)"
    );
    let (_, peer) = l.accept().expect("accept");
    assert_eq!(peer.port(), free);
}

#[test]
fn connect_ip_and_connect_port_replace_the_target() {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let spec = spec_from(&one_checker(
        "192.0.2.5",
        80,
        &format!("TCP_CHECK {{\nconnect_ip 127.0.0.1\nconnect_port {port}\n}}"),
    ))
    .expect("spec");
    assert_eq!(spec.target, common::loopback(port));
    assert_eq!(runtime().block_on(run(&spec)).verdict, Verdict::Success);
}

#[test]
fn identity_ignores_timers_but_not_connection_options() {
    let a = tcp(80, "delay_loop 5\nretry 3");
    let b = tcp(80, "delay_loop 9\nretry 1\ndelay_before_retry 4");
    let c = tcp(81, "");
    let d = tcp(80, "connect_timeout 2");
    assert_eq!(a.key(), b.key());
    assert_ne!(a.key(), c.key());
    assert_ne!(a.key(), d.key());
}
