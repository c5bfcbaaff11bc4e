// SPDX-License-Identifier: Apache-2.0 OR MIT
//! UDP_CHECK (`check_udp.c`, `core/layer4.c: udp_bind_connect`,
//! `udp_socket_state`): one datagram on a connected socket with
//! IP(V6)_RECVERR, then one wait of connect_timeout.
//!
//! | what comes back              | without require_reply | with require_reply          |
//! |------------------------------|-----------------------|-----------------------------|
//! | a datagram                   | success               | [`ReplyRule::accepts`]      |
//! | an ICMP error (receive error)| failure               | failure                     |
//! | nothing before the deadline  | **success**           | failure                     |
//!
//! Every error on the way (socket options, bind, connect, send) is a
//! failure, as in keepalived: UDP_CHECK has no local-error case.
//!
//! [`Report::detail`]: `success`, `failed` (keepalived's `UDP connection
//! to <RS> failed.`) or `reply data mismatch` (`UDP check to <RS> reply
//! data mismatch.`).
//!
//! Where we differ on purpose: keepalived read the error queue and counted
//! an ICMP error other than destination unreachable (time exceeded,
//! parameter problem) as a success; any receive error fails here.

pub mod reply;

use tokio::time::Instant;

use crate::conn::{self, ConnectError};
use crate::report::{Report, Verdict};
use crate::spec::Spec;
pub use reply::ReplyRule;

/// UDP_CHECK, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UdpSpec {
    pub payload: Vec<u8>,
    /// `Some` with `require_reply`.
    pub reply: Option<ReplyRule>,
}

pub async fn run(spec: &Spec, u: &UdpSpec) -> Report {
    let start = Instant::now();
    let deadline = start + spec.conn.connect_timeout;
    let failed =
        |cause: String| Report::new(Verdict::Failure, start.elapsed(), "failed").with_cause(cause);
    let socket = match conn::connect_udp(spec.target, &spec.conn, true) {
        Ok(s) => s,
        Err(ConnectError::Local(e) | ConnectError::Unreachable(e) | ConnectError::Failed(e)) => {
            return failed(e.to_string());
        }
        Err(ConnectError::Timeout) => return failed("connect timeout".into()),
    };
    match tokio::time::timeout_at(deadline, socket.send(&u.payload)).await {
        Ok(Ok(n)) if n == u.payload.len() => {}
        Ok(Ok(n)) => return failed(format!("sent {n} of {} bytes", u.payload.len())),
        Ok(Err(e)) => return failed(e.to_string()),
        Err(_) => return failed("send timeout".into()),
    }
    let mut buf = vec![0u8; u.reply.as_ref().map_or(1, ReplyRule::read_len)];
    match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
        Err(_) => match u.reply {
            None => Report::new(Verdict::Success, start.elapsed(), "success"),
            Some(_) => failed("no reply before connect_timeout".into()),
        },
        Ok(Err(e)) => failed(e.to_string()),
        Ok(Ok(n)) => match &u.reply {
            Some(rule) if !rule.accepts(&buf[..n]) => {
                Report::new(Verdict::Failure, start.elapsed(), "reply data mismatch")
                    .with_cause(format!("{n}-byte reply"))
            }
            _ => Report::new(Verdict::Success, start.elapsed(), "success"),
        },
    }
}
