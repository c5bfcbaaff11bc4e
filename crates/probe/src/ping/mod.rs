// SPDX-License-Identifier: Apache-2.0 OR MIT
//! PING_CHECK (`check_ping.c`): one ICMP / ICMPv6 echo over an
//! unprivileged datagram ping socket (SOCK_DGRAM, IPPROTO_ICMP(V6)); an
//! echo reply within connect_timeout is success.
//!
//! The kernel creates such a socket only for a group inside
//! `net.ipv4.ping_group_range` (for IPv6 too); keepalived widens that
//! range when it loads a PING_CHECK, see [`group_range`]. Without it the
//! socket cannot be made: a local error, `ICMP connect fail to create
//! socket. Rescheduling.` (`ICMPv6 ...`), with the cause.
//!
//! [`Report::detail`]: `success` (keepalived: `ICMP connection to <RS>
//! success.`), `timeout` (`ICMP connection to address <RS> timeout.`),
//! or for the other failures the line keepalived always logs for them
//! (check_ping.c `ping_it`, `recv_it`): `send ICMP packet fail`
//! (`send ICMPv6 packet fail - errno N`; no route: the socket's connect, which looks the route up,
//! counts as the send), `recv ICMP packet error` (an ICMP error),
//! `Error, got short ICMP packet, N bytes`, `Got ICMP packet with type
//! 0xN`; `failed` when a socket option could not be set.
//!
//! Where we differ on purpose: `bindto`, `bind_if` and `fwmark` are
//! honoured (keepalived 2.2.7 ignored them; its HEAD honours bindto and
//! bind_if), so a probe leaves by the interface and with the mark the
//! configuration asks for. The socket is connected to the target, so only
//! the target's replies are read.

pub mod echo;
pub mod group_range;

use std::sync::atomic::{AtomicU16, Ordering};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::net::UdpSocket;
use tokio::time::Instant;

use crate::conn;
use crate::report::{Report, Verdict};
use crate::spec::Spec;

/// keepalived's process-wide echo sequence.
static SEQ: AtomicU16 = AtomicU16::new(0);

pub async fn run(spec: &Spec) -> Report {
    let start = Instant::now();
    let deadline = start + spec.conn.connect_timeout;
    let v6 = spec.target.is_ipv6();
    let failed =
        |cause: String| Report::new(Verdict::Failure, start.elapsed(), "failed").with_cause(cause);
    let (domain, proto) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let socket = match Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(proto)) {
        Ok(s) => s,
        Err(e) => {
            let hint = if e.raw_os_error() == Some(libc::EACCES) {
                " (our group is outside net.ipv4.ping_group_range)"
            } else {
                ""
            };
            return Report::new(
                Verdict::LocalError,
                start.elapsed(),
                if v6 {
                    "ICMPv6 connect fail to create socket. Rescheduling."
                } else {
                    "ICMP connect fail to create socket. Rescheduling."
                },
            )
            .with_cause(format!("{e}{hint}"));
        }
    };
    if let Err(e) = conn::options(&socket, &spec.conn) {
        return failed(e.to_string());
    }
    // The port of an ICMP socket address is the echo identifier, which the
    // kernel chose at bind; 0 here leaves it alone.
    let to = std::net::SocketAddr::new(spec.target.ip(), 0);
    let v = if v6 { "v6" } else { "" };
    // keepalived 2.2.7 names the errno for ICMPv6 only.
    let send_failed = |e: std::io::Error| {
        let detail = if v6 {
            format!(
                "send ICMPv6 packet fail - errno {}",
                e.raw_os_error().unwrap_or(0)
            )
        } else {
            "send ICMP packet fail".to_string()
        };
        Report::new(Verdict::Failure, start.elapsed(), detail).with_cause(e)
    };
    if let Err(e) = socket.connect(&SockAddr::from(to)) {
        return send_failed(e);
    }
    let socket = match UdpSocket::from_std(std::net::UdpSocket::from(socket)) {
        Ok(s) => s,
        Err(e) => return failed(e.to_string()),
    };
    let request = echo::request(v6, SEQ.fetch_add(1, Ordering::Relaxed));
    match tokio::time::timeout_at(deadline, socket.send(&request)).await {
        Err(_) => return Report::new(Verdict::Failure, start.elapsed(), "timeout"),
        Ok(Err(e)) => return send_failed(e),
        Ok(Ok(_)) => {}
    }
    let mut buf = [0u8; echo::HEADER_LEN + echo::PAYLOAD_LEN];
    match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
        Err(_) => Report::new(Verdict::Failure, start.elapsed(), "timeout"),
        Ok(Err(e)) => Report::new(
            Verdict::Failure,
            start.elapsed(),
            format!("recv ICMP{v} packet error"),
        )
        .with_cause(e),
        Ok(Ok(n)) => {
            let said = |d: String| Report::new(Verdict::Failure, start.elapsed(), d);
            match echo::judge(v6, &buf[..n]) {
                echo::Reading::Reply => Report::new(Verdict::Success, start.elapsed(), "success"),
                echo::Reading::Short(n) => {
                    said(format!("Error, got short ICMP{v} packet, {n} bytes"))
                }
                echo::Reading::OtherType(t) => said(format!("Got ICMP{v} packet with type {t:#x}")),
            }
        }
    }
}
