// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One query attempt on the network: the same question to every
//! nameserver over UDP (from a fresh socket and a random ID each, so a
//! late or forged answer to another attempt cannot match), TCP to the
//! same nameserver when the UDP answer is truncated. No state is kept
//! between attempts; the schedule is the caller's.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use hickory_proto::rr::Name;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::task::JoinSet;
use tokio::time::{Instant, timeout_at};

use super::wire::{self, Ask, Reading};

/// What one attempt brought.
#[derive(Debug, Default)]
pub struct Attempt {
    /// The answer taken: the first NOERROR or NXDOMAIN from any
    /// nameserver, else the last refusal or error; None when nothing
    /// usable came before the deadline.
    pub reading: Option<Reading>,
    /// Messages refused on the way, with why (for the log and counters).
    pub dropped: Vec<String>,
}

/// The question, as sent to each nameserver.
#[derive(Debug, Clone)]
pub struct Question {
    pub name: Name,
    pub ask: Ask,
    pub payload: u16,
    pub max: usize,
}

/// Asks every nameserver of `servers` until `deadline`.
pub async fn attempt(servers: &[SocketAddr], q: &Question, deadline: Instant) -> Attempt {
    let mut set = JoinSet::new();
    for &ns in servers {
        let q = q.clone();
        set.spawn(async move { ask_one(ns, &q, deadline).await });
    }
    let mut out = Attempt::default();
    while let Ok(Some(done)) = timeout_at(deadline, set.join_next()).await {
        let Ok((reading, dropped)) = done else {
            continue;
        };
        out.dropped.extend(dropped);
        match reading {
            Some(r @ (Reading::Valid(_) | Reading::NxDomain)) => {
                out.reading = Some(r);
                set.abort_all();
                return out;
            }
            Some(r) => out.reading = Some(r),
            None => {}
        }
    }
    set.abort_all();
    out
}

async fn ask_one(
    ns: SocketAddr,
    q: &Question,
    deadline: Instant,
) -> (Option<Reading>, Vec<String>) {
    let mut dropped = Vec::new();
    let id: u16 = rand::random();
    let bytes = match wire::query(id, &q.name, q.ask, q.payload) {
        Ok(b) => b,
        Err(e) => return (Some(Reading::Other(e)), dropped),
    };
    let local: IpAddr = if ns.is_ipv4() {
        Ipv4Addr::UNSPECIFIED.into()
    } else {
        Ipv6Addr::UNSPECIFIED.into()
    };
    let sock = match UdpSocket::bind(SocketAddr::new(local, 0)).await {
        Ok(s) => s,
        Err(e) => return (Some(Reading::Other(format!("socket: {e}"))), dropped),
    };
    if let Err(e) = sock.send_to(&bytes, ns).await {
        return (Some(Reading::Other(format!("send to {ns}: {e}"))), dropped);
    }
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, src) = match timeout_at(deadline, sock.recv_from(&mut buf)).await {
            Err(_) => return (None, dropped),
            // An ICMP error (port unreachable): as good as no answer.
            Ok(Err(_)) => continue,
            Ok(Ok(v)) => v,
        };
        if !wire::from_nameserver(src, ns) {
            dropped.push(format!("answer from {src}, not from nameserver {ns}"));
            continue;
        }
        match wire::read(buf.get(..n).unwrap_or_default(), id, &q.name, q.ask, q.max) {
            Reading::Dropped(d) => dropped.push(format!("answer from {ns}: {d}")),
            Reading::Truncated => return (over_tcp(ns, &bytes, id, q, deadline).await, dropped),
            r => return (Some(r), dropped),
        }
    }
}

/// RFC 7766: the same query with a two-byte length, one answer back.
async fn over_tcp(
    ns: SocketAddr,
    query: &[u8],
    id: u16,
    q: &Question,
    deadline: Instant,
) -> Option<Reading> {
    let exchange = async {
        let mut s = TcpStream::connect(ns).await.ok()?;
        let len = u16::try_from(query.len()).ok()?;
        let mut msg = len.to_be_bytes().to_vec();
        msg.extend_from_slice(query);
        s.write_all(&msg).await.ok()?;
        let mut lb = [0u8; 2];
        s.read_exact(&mut lb).await.ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(lb))];
        s.read_exact(&mut body).await.ok()?;
        Some(body)
    };
    let body = timeout_at(deadline, exchange).await.ok()??;
    match wire::read(&body, id, &q.name, q.ask, q.max) {
        Reading::Truncated => Some(Reading::Other(format!("{ns}: truncated over TCP"))),
        Reading::Dropped(d) => Some(Reading::Other(format!("{ns} over TCP: {d}"))),
        r => Some(r),
    }
}

/// The `nameserver` lines of a resolv.conf, port 53.
pub fn resolv_conf_nameservers(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver")).then(|| w.next()).flatten()
        })
        .filter_map(|a| a.split('%').next()?.parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_lines() {
        let t = "# c\nnameserver 192.0.2.53\nsearch example\nnameserver fe80::1%eth0\nnameserver bogus\n";
        let v = resolv_conf_nameservers(t);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], SocketAddr::from(([192, 0, 2, 53], 53)));
    }
}
