// SPDX-License-Identifier: Apache-2.0 OR MIT
//! HTTP_GET and SSL_GET: the I/O shell around [`request`] and
//! [`response`].
//!
//! Steps and their time bounds, as keepalived 2.2.7 (`check_http.c`,
//! `check_ssl.c`), each failure with keepalived's reason text:
//!
//! | step | bound | failure |
//! |---|---|---|
//! | connect (+ TLS handshake) | one connect_timeout for both | `Timeout connecting`, `Connection failed`, `HTTP_CHECK - network unreachable` (sync), `SSL handshake/communication error connecting to` |
//! | send the request | a fresh connect_timeout | `Cannot send get request to`, `Timeout WEB write` |
//! | first answer bytes | connect_timeout | `Timeout WEB read` (SSL over TLS 1.3: `Timeout SSL read`) |
//! | HTTP: each further read | connect_timeout each (a trickling server keeps the check alive, keepalived #1822) | `Timeout HTTP read`, `Read error with` |
//! | SSL: the rest of the answer | one connect_timeout | `Timeout SSL read` |
//!
//! The answer is read until the server closes (any TLS error or close
//! also ends it); then [`response::judge`] decides. One url per run: the
//! engine picks the index (keepalived moves to the next url after a
//! success, stays on a failing one).

pub mod regex;
pub mod request;
pub mod response;

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, Interest};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

use crate::conn::{self, ConnectError};
use crate::http::regex::UrlRegex;
use crate::http::response::{Decoded, Decoder, Expect, Feed};
use crate::report::{HttpOutcome, Report, Verdict};
use crate::spec::{ConnOpts, HttpSpec, Spec};

/// Bytes asked for by one read: keepalived's buffer less its NUL.
const READ_SIZE: usize = 4095;

/// One request/answer exchange, shared by the checker and genhash.
pub(crate) struct Exchange<'a> {
    pub target: SocketAddr,
    pub conn: &'a ConnOpts,
    /// TLS client and the SNI to send.
    pub tls: Option<(&'a Arc<rustls::ClientConfig>, Option<&'a str>)>,
    pub request: Vec<u8>,
    pub digest: bool,
    pub regex: Option<UrlRegex>,
    /// Bound on the whole answer (after the request is sent).
    pub budget: Option<Duration>,
}

/// How an exchange ended.
pub(crate) enum Ended {
    /// The stream ended (or the head outgrew its limit): judge it.
    Answer(Decoded),
    /// No answer to judge.
    Fail {
        verdict: Verdict,
        reason: &'static str,
        cause: Option<String>,
    },
}

fn fail(reason: &'static str, cause: Option<String>) -> Ended {
    Ended::Fail {
        verdict: Verdict::Failure,
        reason,
        cause,
    }
}

/// Runs url `url_index` of an HTTP_GET / SSL_GET spec. An index past the
/// last url is taken modulo the url count.
pub async fn run_url(spec: &Spec, http: &HttpSpec, url_index: usize) -> Report {
    let start = Instant::now();
    let Some(url) = http.urls.get(url_index % http.urls.len().max(1)) else {
        return Report::new(
            Verdict::LocalError,
            start.elapsed(),
            "HTTP checker has no url",
        );
    };
    let x = Exchange {
        target: spec.target,
        conn: &spec.conn,
        tls: http.tls.as_ref().map(|c| (c, url.sni.as_deref())),
        request: request::build(&url.path, http.protocol, url.host.as_deref(), spec.target),
        digest: url.digest.is_some(),
        regex: url.regex.clone(),
        budget: Some(http.answer_budget),
    };
    let ended = exchange(x, &mut |_: &[u8]| {}).await;
    let elapsed = start.elapsed();
    match ended {
        Ended::Fail {
            verdict,
            reason,
            cause,
        } => Report {
            cause,
            ..Report::new(verdict, elapsed, reason)
        },
        Ended::Answer(d) => {
            let want = Expect {
                status: &url.status,
                digest: url.digest,
                regex: url.regex.as_ref().map(|_| url.regex_no_match),
            };
            let judged = response::judge(&d, &want);
            let mut report = match judged {
                Ok(_) => Report::new(Verdict::Success, elapsed, "success"),
                Err(f) => Report::new(Verdict::Failure, elapsed, f.text()),
            };
            report.http = Some(HttpOutcome {
                url_index: url_index % http.urls.len(),
                success: judged.ok(),
                length_mismatch: d.length_mismatch(),
                status: d.head.map(|h| h.status),
            });
            report
        }
    }
}

/// Connects, sends, reads until the end. `tap` sees every byte read.
pub(crate) async fn exchange(x: Exchange<'_>, tap: &mut (dyn FnMut(&[u8]) + Send)) -> Ended {
    let timeout = x.conn.connect_timeout;
    let deadline = Instant::now() + timeout;
    let tcp = match conn::connect(x.target, x.conn, deadline).await {
        Ok(s) => s,
        Err(ConnectError::Timeout) => return fail("Timeout connecting", None),
        Err(ConnectError::Failed(e)) => return fail("Connection failed", Some(e.to_string())),
        Err(ConnectError::Unreachable(e)) => {
            return fail("HTTP_CHECK - network unreachable", Some(e.to_string()));
        }
        Err(ConnectError::Local(e)) => {
            return Ended::Fail {
                verdict: Verdict::LocalError,
                reason: "WEB socket bind failed. Rescheduling",
                cause: Some(e.to_string()),
            };
        }
    };
    let decoder = Decoder::new(x.digest, x.regex);
    let budget = x.budget;
    match x.tls {
        None => {
            let mut tcp = tcp;
            if let Some(end) = send(&mut tcp, &x.request, timeout).await {
                return end;
            }
            let limit = budget.map(|b| Instant::now() + b);
            within(limit, read_plain(&tcp, decoder, timeout, tap)).await
        }
        Some((config, sni)) => {
            let name = match sni {
                Some(n) => ServerName::try_from(n.to_string()),
                None => Ok(ServerName::IpAddress(x.target.ip().into())),
            };
            let Ok(name) = name else {
                return fail("SSL handshake/communication error connecting to", None);
            };
            let connector = TlsConnector::from(Arc::clone(config));
            let mut tls =
                match tokio::time::timeout_at(deadline, connector.connect(name, tcp)).await {
                    Err(_) => return fail("Timeout connecting", None),
                    Ok(Err(e)) => {
                        return fail(
                            "SSL handshake/communication error connecting to",
                            Some(e.to_string()),
                        );
                    }
                    Ok(Ok(s)) => s,
                };
            // A TLS 1.3 server sends session tickets right after the
            // handshake, which wakes keepalived's first read: a silent
            // server then times out in its SSL reader ("Timeout SSL
            // read"), not in the first wait ("Timeout WEB read").
            let tickets =
                tls.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
            if let Some(end) = send(&mut tls, &x.request, timeout).await {
                return end;
            }
            let limit = budget.map(|b| Instant::now() + b);
            within(limit, read_tls(&mut tls, decoder, timeout, tickets, tap)).await
        }
    }
}

/// The whole-answer bound (see [`HttpSpec::answer_budget`]).
async fn within(limit: Option<Instant>, read: impl std::future::Future<Output = Ended>) -> Ended {
    match limit {
        None => read.await,
        Some(at) => match tokio::time::timeout_at(at, read).await {
            Ok(ended) => ended,
            Err(_) => fail(
                "Timeout HTTP read",
                Some("the answer did not end within max(connect_timeout, delay_loop)".into()),
            ),
        },
    }
}

async fn send<S: tokio::io::AsyncWrite + Unpin>(
    s: &mut S,
    request: &[u8],
    timeout: Duration,
) -> Option<Ended> {
    let write = async {
        s.write_all(request).await?;
        s.flush().await
    };
    match tokio::time::timeout(timeout, write).await {
        Err(_) => Some(fail("Timeout WEB write", None)),
        Ok(Err(e)) => Some(fail("Cannot send get request to", Some(e.to_string()))),
        Ok(Ok(())) => None,
    }
}

async fn read_plain(
    s: &TcpStream,
    mut decoder: Decoder,
    timeout: Duration,
    tap: &mut (dyn FnMut(&[u8]) + Send),
) -> Ended {
    let mut buf = vec![0u8; READ_SIZE];
    let mut first = true;
    loop {
        // `ready` and `try_read` take nothing from tokio's cooperative
        // budget (a plain `read` did): an endless answer that is always
        // ready would never let the caller's deadline (`within`) run.
        tokio::task::consume_budget().await;
        // Readiness, then the read: the readiness tells whether the peer's
        // FIN was already in before the read.
        let read = async {
            loop {
                let ready = s.ready(Interest::READABLE).await?;
                match s.try_read(&mut buf) {
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                        ) => {}
                    other => return other.map(|n| (n, ready.is_read_closed())),
                }
            }
        };
        let (n, closed) = match tokio::time::timeout(timeout, read).await {
            Err(_) if first => return fail("Timeout WEB read", None),
            Err(_) => return fail("Timeout HTTP read", None),
            Ok(Err(e)) => return fail("Read error with", Some(e.to_string())),
            Ok(Ok(n)) => n,
        };
        first = false;
        if n == 0 {
            return Ended::Answer(decoder.finish());
        }
        let chunk = &buf[..n];
        tap(chunk);
        if decoder.feed(chunk) == Feed::HeadTooLong {
            return Ended::Answer(decoder.finish());
        }
        // The FIN came before this read and the read left room in the
        // buffer: it took everything up to the FIN, and the next read
        // would return 0 (keepalived makes that read; we save it).
        if closed && n < buf.len() {
            return Ended::Answer(decoder.finish());
        }
    }
}

async fn read_tls<S: AsyncRead + Unpin>(
    s: &mut S,
    mut decoder: Decoder,
    timeout: Duration,
    tickets: bool,
    tap: &mut (dyn FnMut(&[u8]) + Send),
) -> Ended {
    let mut buf = vec![0u8; READ_SIZE];
    // Until the first bytes: connect_timeout; then one connect_timeout
    // for the rest (keepalived re-arms its SSL read with what is left).
    let mut deadline = Instant::now() + timeout;
    let mut first = true;
    let mut head_seen = false;
    loop {
        let n = match tokio::time::timeout_at(deadline, s.read(&mut buf)).await {
            Err(_) if first && !tickets => return fail("Timeout WEB read", None),
            Err(_) => return fail("Timeout SSL read", None),
            Ok(Err(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            // Any TLS or socket error ends the answer, like a close.
            Ok(Err(_)) => return Ended::Answer(decoder.finish()),
            Ok(Ok(n)) => n,
        };
        if n == 0 {
            // A clean close_notify before any head: keepalived's
            // "SSL read error from".
            if !head_seen {
                return fail("SSL read error from", None);
            }
            return Ended::Answer(decoder.finish());
        }
        if first {
            first = false;
            deadline = Instant::now() + timeout;
        }
        let chunk = &buf[..n];
        tap(chunk);
        let fed = decoder.feed(chunk);
        head_seen = decoder.head().is_some();
        if fed == Feed::HeadTooLong {
            return Ended::Answer(decoder.finish());
        }
    }
}
