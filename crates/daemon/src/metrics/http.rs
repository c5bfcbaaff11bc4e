// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The endpoint's HTTP side: just enough HTTP/1.x for a scraper. One
//! request per connection (`Connection: close`), `GET /metrics` (or `/`)
//! only, a request head of at most [`MAX_HEAD`] bytes that must arrive
//! within [`DEADLINE`], [`MAX_CLIENTS`] connections at once.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::control::server::Asker;
use crate::control::wire::{Command, StatusAsk, StatusView};

pub const MAX_CLIENTS: usize = 8;
pub const MAX_HEAD: usize = 8192;
pub const DEADLINE: Duration = Duration::from_secs(5);

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Binds `addr` and serves it on a thread of its own; returns the bound
/// address (port 0 picks one).
pub fn start(addr: SocketAddr, asker: Asker) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || accept_loop(&listener, &asker))?;
    Ok(bound)
}

fn accept_loop(listener: &TcpListener, asker: &Asker) {
    let active = Arc::new(AtomicUsize::new(0));
    for conn in listener.incoming() {
        let Ok(mut conn) = conn else {
            // Out of descriptors and the like: do not spin on it.
            std::thread::sleep(Duration::from_millis(50));
            continue;
        };
        if active.fetch_add(1, Ordering::SeqCst) >= MAX_CLIENTS {
            active.fetch_sub(1, Ordering::SeqCst);
            let _ = conn.set_write_timeout(Some(DEADLINE));
            let _ = respond(&mut conn, "503 Service Unavailable", "text/plain", "busy\n");
            continue;
        }
        let (asker, active) = (asker.clone(), Arc::clone(&active));
        let spawned = std::thread::Builder::new()
            .name("metrics-client".into())
            .spawn(move || {
                serve(conn, &asker);
                active.fetch_sub(1, Ordering::SeqCst);
            });
        if spawned.is_err() {
            tracing::warn!("metrics: cannot start a thread for a client");
        }
    }
}

/// What a request head asks for.
#[derive(Debug, PartialEq, Eq)]
enum Asked {
    /// With whether the client accepts OpenMetrics.
    Metrics(bool),
    NotFound,
    BadMethod,
    Bad,
}

fn parse_head(head: &[u8]) -> Asked {
    let Some(line) = head.split(|&b| b == b'\n').next() else {
        return Asked::Bad;
    };
    let line = String::from_utf8_lossy(line);
    let mut words = line.split_whitespace();
    let (Some(method), Some(target), Some(version)) = (words.next(), words.next(), words.next())
    else {
        return Asked::Bad;
    };
    if !version.starts_with("HTTP/1.") {
        return Asked::Bad;
    }
    if method != "GET" {
        return Asked::BadMethod;
    }
    let path = target.split('?').next().unwrap_or(target);
    match path {
        "/metrics" | "/" => Asked::Metrics(accepts_openmetrics(head)),
        _ => Asked::NotFound,
    }
}

/// Prometheus asks for OpenMetrics in its Accept header; curl and
/// promtool do not, and get the classic text format.
fn accepts_openmetrics(head: &[u8]) -> bool {
    String::from_utf8_lossy(head).lines().any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("accept") && v.contains("application/openmetrics-text")
        })
    })
}

/// Reads up to the blank line that ends the head; None when it is too
/// long, late or cut.
fn read_head(conn: &mut TcpStream) -> Option<Vec<u8>> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        if head.len() > MAX_HEAD {
            return None;
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return None,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    Some(head)
}

fn serve(mut conn: TcpStream, asker: &Asker) {
    let _ = conn.set_read_timeout(Some(DEADLINE));
    let _ = conn.set_write_timeout(Some(DEADLINE));
    let asked = read_head(&mut conn).map_or(Asked::Bad, |h| parse_head(&h));
    let _ = match asked {
        Asked::Metrics(openmetrics) => {
            // The metrics view: a few numbers per real server, not the
            // whole status model.
            let answer = asker.ask(Command::Status, StatusAsk::of(StatusView::Metrics));
            match answer.result_value() {
                Some(Ok(status)) if answer.ok => {
                    let text = super::render::render(&status);
                    if openmetrics {
                        respond(&mut conn, "200 OK", OPENMETRICS, &text)
                    } else {
                        let classic = super::text004::from_openmetrics(&text);
                        respond(&mut conn, "200 OK", super::text004::CONTENT_TYPE, &classic)
                    }
                }
                _ => respond(
                    &mut conn,
                    "503 Service Unavailable",
                    "text/plain",
                    &format!("{}\n", answer.error.unwrap_or_default()),
                ),
            }
        }
        Asked::NotFound => respond(&mut conn, "404 Not Found", "text/plain", "try /metrics\n"),
        Asked::BadMethod => respond(
            &mut conn,
            "405 Method Not Allowed",
            "text/plain",
            "GET only\n",
        ),
        Asked::Bad => respond(&mut conn, "400 Bad Request", "text/plain", "bad request\n"),
    };
}

fn respond(conn: &mut TcpStream, status: &str, ctype: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(body.as_bytes())?;
    conn.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_get_of_metrics_is_served() {
        assert_eq!(
            parse_head(b"GET /metrics HTTP/1.1\r\n\r\n"),
            Asked::Metrics(false)
        );
        assert_eq!(
            parse_head(
                b"GET /?x=1 HTTP/1.0\r\nAccept: application/openmetrics-text;version=1.0.0\r\n\r\n"
            ),
            Asked::Metrics(true)
        );
        assert_eq!(parse_head(b"GET /other HTTP/1.1\r\n\r\n"), Asked::NotFound);
        assert_eq!(
            parse_head(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Asked::BadMethod
        );
        assert_eq!(parse_head(b"GET /metrics SPDY\r\n\r\n"), Asked::Bad);
        assert_eq!(parse_head(b"\xff\r\n\r\n"), Asked::Bad);
    }
}
