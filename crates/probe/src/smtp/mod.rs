// SPDX-License-Identifier: Apache-2.0 OR MIT
//! SMTP_CHECK (`check_smtp.c`): connect, read the greeting (status 220),
//! send `HELO <helo_name>\r\n`, read the answer (status 250), send
//! `QUIT\r\n`, read any line: success. Lines are read by
//! [`dialog::LineReader`].
//!
//! [`Report::detail`] holds keepalived's reason, logged as `SMTP_CHECK
//! <detail>` (`<srv>` is the probed `[ip]:port`): `Connection timeout to
//! server <srv>`, `Could not connect to server <srv>`, `Network
//! unreachable for server <ip> - real server <RS ip:port>`, `Read timeout
//! from server <srv>`, `Read failure from server <srv>` (closed or reset),
//! `Write timeout to server <srv>`, `Write failure to server <srv>`, `Bad
//! greeting banner from server <srv>`, `Bad HELO response from server
//! <srv>`; `success` on success (keepalived: `Remote SMTP server <RS>
//! succeed on service.`); a local error says `SMTP_CHECK socket bind
//! failed. Rescheduling.`
//!
//! Where we differ on purpose: keepalived bounds each read by
//! connect_timeout, so a server trickling a line a byte at a time held a
//! check for up to 511 timeouts; each line here must come within one
//! connect_timeout.

pub mod dialog;

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;

use crate::conn::{self, ConnectError};
use crate::report::{Report, Verdict};
use crate::spec::Spec;
use dialog::{LineReader, has_status};

/// keepalived's `helo_name` default.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

/// SMTP_CHECK, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSpec {
    pub helo_name: String,
    /// The real server's address and port, for keepalived's "Network
    /// unreachable" text.
    pub real_server: SocketAddr,
}

/// Why a step failed.
enum StepError {
    Timeout,
    Failure,
}

pub async fn run(spec: &Spec, s: &SmtpSpec) -> Report {
    let start = Instant::now();
    let srv = format!("[{}]:{}", spec.target.ip(), spec.target.port());
    let fail = |detail: String| Report::new(Verdict::Failure, start.elapsed(), detail);
    let timeout = spec.conn.connect_timeout;
    let mut stream = match conn::connect(spec.target, &spec.conn, start + timeout).await {
        Ok(st) => st,
        Err(ConnectError::Timeout) => {
            return fail(format!("Connection timeout to server {srv}"));
        }
        Err(ConnectError::Failed(e)) => {
            return fail(format!("Could not connect to server {srv}")).with_cause(e);
        }
        Err(ConnectError::Unreachable(e)) => {
            return fail(format!(
                "Network unreachable for server {} - real server [{}]:{}",
                spec.target.ip(),
                s.real_server.ip(),
                s.real_server.port()
            ))
            .with_cause(e);
        }
        Err(ConnectError::Local(e)) => {
            return Report::new(
                Verdict::LocalError,
                start.elapsed(),
                "SMTP_CHECK socket bind failed. Rescheduling.",
            )
            .with_cause(e);
        }
    };
    let read_err = |e: StepError| match e {
        StepError::Timeout => format!("Read timeout from server {srv}"),
        StepError::Failure => format!("Read failure from server {srv}"),
    };
    let write_err = |e: StepError| match e {
        StepError::Timeout => format!("Write timeout to server {srv}"),
        StepError::Failure => format!("Write failure to server {srv}"),
    };
    let banner = match read_line(&mut stream, timeout).await {
        Ok(l) => l,
        Err(e) => return fail(read_err(e)),
    };
    if !has_status(&banner, b"220") {
        return fail(format!("Bad greeting banner from server {srv}"))
            .with_cause(String::from_utf8_lossy(&banner));
    }
    let helo = format!("HELO {}\r\n", s.helo_name);
    if let Err(e) = write_line(&mut stream, helo.as_bytes(), timeout).await {
        return fail(write_err(e));
    }
    let answer = match read_line(&mut stream, timeout).await {
        Ok(l) => l,
        Err(e) => return fail(read_err(e)),
    };
    if !has_status(&answer, b"250") {
        return fail(format!("Bad HELO response from server {srv}"))
            .with_cause(String::from_utf8_lossy(&answer));
    }
    if let Err(e) = write_line(&mut stream, b"QUIT\r\n", timeout).await {
        return fail(write_err(e));
    }
    match read_line(&mut stream, timeout).await {
        Ok(_) => Report::new(Verdict::Success, start.elapsed(), "success"),
        Err(e) => fail(read_err(e)),
    }
}

async fn read_line(
    stream: &mut TcpStream,
    timeout: std::time::Duration,
) -> Result<Vec<u8>, StepError> {
    let deadline = Instant::now() + timeout;
    let mut reader = LineReader::default();
    let mut buf = [0u8; dialog::LINE_MAX];
    loop {
        let room = reader.room();
        let n = match tokio::time::timeout_at(deadline, stream.read(&mut buf[..room])).await {
            Err(_) => return Err(StepError::Timeout),
            Ok(Err(_) | Ok(0)) => return Err(StepError::Failure),
            Ok(Ok(n)) => n,
        };
        if let Some(line) = reader.feed(&buf[..n]) {
            return Ok(line);
        }
    }
}

async fn write_line(
    stream: &mut TcpStream,
    line: &[u8],
    timeout: std::time::Duration,
) -> Result<(), StepError> {
    match tokio::time::timeout(timeout, stream.write_all(line)).await {
        Err(_) => Err(StepError::Timeout),
        Ok(Err(_)) => Err(StepError::Failure),
        Ok(Ok(())) => Ok(()),
    }
}
