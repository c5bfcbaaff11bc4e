// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A cheap backend for the checker benchmarks (integration/bench/check-cost.sh,
//! integration/bench/check-timing.sh): listens on many TCP ports of one
//! address, accepts every connection, optionally answers a minimal HTTP
//! response, closes, and counts. The count (connections accepted so far)
//! is written to a file every second, so the benchmark measures the probe
//! rate the backends really saw.
//!
//!     tcp_sink ADDR FIRST_PORT COUNT COUNT_FILE [--http] [--log FILE] [--tls CERT KEY]
//!
//! `--tls CERT KEY` (PEM files): the HTTP answer inside TLS (rustls, the
//! protocol versions it offers by default), for SSL_GET.
//! `--log FILE`: one line per accepted connection, `REALTIME_S LOCAL_ADDR`
//! (the wall clock, so that it lines up with packet captures and the
//! shell's `$EPOCHREALTIME` in the same guest). The timing benchmark reads
//! probe starts from it. Lines are buffered and written once a second,
//! not per connection, so the log costs the measured daemon little.
//!
//! One current-thread runtime, one task per listener: idle between
//! connections, so it takes little of the CPU the daemons are measured on.

use std::cell::{Cell, RefCell};
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const HTTP_ANSWER: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn usage() -> ! {
    eprintln!(
        "usage: tcp_sink ADDR FIRST_PORT COUNT COUNT_FILE [--http] [--log FILE] [--tls CERT KEY]"
    );
    std::process::exit(2);
}

struct Options {
    addr: IpAddr,
    first: u16,
    count: u16,
    count_file: String,
    http: bool,
    log: Option<String>,
    tls: Option<(String, String)>,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        usage();
    }
    let mut o = Options {
        addr: args[0].parse().unwrap_or_else(|_| usage()),
        first: args[1].parse().unwrap_or_else(|_| usage()),
        count: args[2].parse().unwrap_or_else(|_| usage()),
        count_file: args[3].clone(),
        http: false,
        log: None,
        tls: None,
    };
    let mut rest = args[4..].iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--http" => o.http = true,
            "--log" => o.log = Some(rest.next().unwrap_or_else(|| usage()).clone()),
            "--tls" => {
                let cert = rest.next().unwrap_or_else(|| usage()).clone();
                let key = rest.next().unwrap_or_else(|| usage()).clone();
                o.tls = Some((cert, key));
                o.http = true;
            }
            _ => usage(),
        }
    }
    o
}

fn acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, String> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{cert}: {e}"))?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("{key}: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .map_err(|e| e.to_string())?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Reads the request (one GET fits one segment) so that closing with it
/// unread does not reset the connection under the answer, then answers.
async fn answer<S: AsyncRead + AsyncWrite + Unpin>(mut s: S) {
    let mut buf = [0u8; 1024];
    let _ = s.read(&mut buf).await;
    let _ = s.write_all(HTTP_ANSWER).await;
    let _ = s.shutdown().await;
}

fn main() {
    let o = options();
    let tls = o.tls.as_ref().map(|(cert, key)| {
        acceptor(cert, key).unwrap_or_else(|e| {
            eprintln!("tcp_sink: TLS: {e}");
            std::process::exit(1);
        })
    });
    let log_file = o.log.as_ref().map(|path| {
        std::fs::File::create(path).unwrap_or_else(|e| {
            eprintln!("tcp_sink: {path}: {e}");
            std::process::exit(1);
        })
    });
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("tcp_sink: runtime: {e}");
            std::process::exit(1);
        }
    };
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let accepted = Rc::new(Cell::new(0u64));
        let pending = Rc::new(RefCell::new(String::new()));
        let logging = log_file.is_some();
        for i in 0..o.count {
            let port = o.first.saturating_add(i);
            let listener = match TcpListener::bind(SocketAddr::new(o.addr, port)).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("tcp_sink: bind {}:{port}: {e}", o.addr);
                    std::process::exit(1);
                }
            };
            let accepted = Rc::clone(&accepted);
            let pending = Rc::clone(&pending);
            let http = o.http;
            let tls = tls.clone();
            tokio::task::spawn_local(async move {
                loop {
                    let Ok((s, _)) = listener.accept().await else {
                        continue;
                    };
                    accepted.set(accepted.get() + 1);
                    if logging {
                        let at = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .unwrap_or_default();
                        let local = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
                        let _ = writeln!(
                            pending.borrow_mut(),
                            "{}.{:06} {local}",
                            at.as_secs(),
                            at.subsec_micros()
                        );
                    }
                    if let Some(tls) = &tls {
                        let tls = tls.clone();
                        tokio::task::spawn_local(async move {
                            if let Ok(s) = tls.accept(s).await {
                                answer(s).await;
                            }
                        });
                    } else if http {
                        tokio::task::spawn_local(answer(s));
                    }
                }
            });
        }
        eprintln!(
            "tcp_sink: listening on {}:{}..+{}",
            o.addr, o.first, o.count
        );
        let mut log_file = log_file;
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let _ = std::fs::write(&o.count_file, format!("{}\n", accepted.get()));
            if let Some(f) = log_file.as_mut() {
                let lines = std::mem::take(&mut *pending.borrow_mut());
                let _ = f.write_all(lines.as_bytes());
            }
        }
    });
}
