// SPDX-License-Identifier: Apache-2.0 OR MIT
//! DNS_CHECK (`check_dns.c`): one query over UDP to the target, judged by
//! [`wire::judge`]. Sending and the wait for the answer share one
//! connect_timeout, as in keepalived (its read deadline is what is left of
//! the send's).
//!
//! Outcomes and keepalived's words for them ([`Report::detail`], logged as
//! `DNS_CHECK (<RS>) <detail>`):
//! - success: `success` (keepalived logs nothing);
//! - our answer with an error code: `read error occurred. (rcode = N)`;
//! - nothing of ours before the deadline: `read timeout from socket`;
//! - a receive error (ICMP port unreachable gives ECONNREFUSED): `failed
//!   to read socket; errno N (<strerror>)`;
//! - connect() refused at once with a network error: `network unreachable
//!   for [ip]:port`;
//! - the datagram not sent whole: `failed to write socket.` / `failed to
//!   write all of the datagram.`;
//! - a local error (socket options, bind): `UDP socket bind failed.
//!   Rescheduling.`, no state change.

pub mod wire;

use std::io;

use hickory_proto::rr::Name;
use tokio::time::Instant;

use crate::conn::{self, ConnectError};
use crate::report::{Report, Verdict};
use crate::spec::Spec;

/// DNS_CHECK, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSpec {
    /// The type's code on the wire.
    pub qtype: u16,
    /// `name` as written (`.` when unset): identity.
    pub name: String,
    /// The question's name, checked encodable at resolution.
    pub question: Name,
}

/// keepalived reads into a 1024-byte buffer; a longer datagram is cut,
/// which changes nothing since only its header is read.
const RECV_BUFFER: usize = 1024;

pub async fn run(spec: &Spec, d: &DnsSpec) -> Report {
    let start = Instant::now();
    let deadline = start + spec.conn.connect_timeout;
    let socket = match conn::connect_udp(spec.target, &spec.conn, false) {
        Ok(s) => s,
        Err(ConnectError::Unreachable(e) | ConnectError::Failed(e)) => {
            return Report::new(
                Verdict::Failure,
                start.elapsed(),
                format!("network unreachable for {}", pair(spec)),
            )
            .with_cause(e);
        }
        Err(ConnectError::Local(e)) => {
            return Report::new(
                Verdict::LocalError,
                start.elapsed(),
                "UDP socket bind failed. Rescheduling.",
            )
            .with_cause(e);
        }
        Err(ConnectError::Timeout) => {
            return Report::new(Verdict::Failure, start.elapsed(), "connection timeout.");
        }
    };
    let id: u16 = rand::random();
    let query = match wire::query(id, &d.question, d.qtype) {
        Ok(q) => q,
        // Checked at resolution; kept as a local error rather than a
        // panic should it ever happen.
        Err(e) => {
            return Report::new(
                Verdict::LocalError,
                start.elapsed(),
                "UDP socket bind failed. Rescheduling.",
            )
            .with_cause(e);
        }
    };
    let fail = |detail: String, cause: Option<io::Error>| {
        let r = Report::new(Verdict::Failure, start.elapsed(), detail);
        match cause {
            Some(e) => r.with_cause(e),
            None => r,
        }
    };
    match tokio::time::timeout_at(deadline, socket.send(&query)).await {
        Err(_) => return fail("write timeout to socket.".into(), None),
        Ok(Err(e)) => return fail("failed to write socket.".into(), Some(e)),
        Ok(Ok(n)) if n != query.len() => {
            return fail("failed to write all of the datagram.".into(), None);
        }
        Ok(Ok(_)) => {}
    }
    let mut buf = [0u8; RECV_BUFFER];
    loop {
        let n = match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Err(_) => return fail("read timeout from socket".into(), None),
            Ok(Err(e)) => {
                let errno = e.raw_os_error().unwrap_or(0);
                return fail(
                    format!("failed to read socket; errno {errno} ({})", strerror(&e)),
                    Some(e),
                );
            }
            Ok(Ok(n)) => n,
        };
        match wire::judge(&buf[..n], id) {
            wire::Reading::Ignore(why) => {
                tracing::debug!(target = %spec.target, ?why, "DNS_CHECK datagram ignored");
            }
            wire::Reading::Success => {
                return Report::new(Verdict::Success, start.elapsed(), "success");
            }
            wire::Reading::Rcode(rcode) => {
                return fail(format!("read error occurred. (rcode = {rcode})"), None);
            }
        }
    }
}

/// `[ip]:port` as keepalived's `inet_sockaddrtopair` writes it.
fn pair(spec: &Spec) -> String {
    format!("[{}]:{}", spec.target.ip(), spec.target.port())
}

/// The C library's text for an errno, without Rust's " (os error N)".
fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}
