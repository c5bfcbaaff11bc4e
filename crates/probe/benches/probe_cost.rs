// SPDX-License-Identifier: Apache-2.0 OR MIT
//! CPU cost of one probe on the probing thread: TCP_CHECK, HTTP_GET and
//! SSL_GET against an in-process loopback server on another thread, run
//! 100 at a time on a current-thread runtime (as the checker child will).
//! Only the probing thread's CPU time is counted
//! (CLOCK_THREAD_CPUTIME_ID), so the server's work is not.
//!
//!     cargo bench -p keepalived-probe --bench probe_cost

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use keepalived_probe::{ConnOpts, HttpSpec, Kind, Spec, UrlSpec, Verdict, run_url};

const N: usize = 5000;
const CONCURRENCY: usize = 100;

fn thread_cpu() -> Duration {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .expect("clock_gettime");
    Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32)
}

/// Plain HTTP: answers each connection and closes it.
fn http_server() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            std::thread::spawn(move || {
                let mut buf = [0u8; 1024];
                let _ = c.read(&mut buf);
                let _ = c.write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n");
            });
        }
    });
    addr
}

fn spec(target: SocketAddr, kind: Kind) -> Spec {
    Spec {
        target,
        conn: ConnOpts::plain(Duration::from_secs(5)),
        kind,
    }
}

fn http_kind(tls: Option<Arc<rustls::ClientConfig>>) -> Kind {
    Kind::Http(Box::new(HttpSpec {
        tls,
        protocol: keepalived_probe::http::request::Protocol::Http10,
        virtualhost: None,
        urls: vec![UrlSpec {
            path: "/".into(),
            status: vec![(200, 299)],
            digest: Some(
                keepalived_probe::spec::parse_digest("6f5902ac237024bdd0c176cb93063dc4")
                    .expect("hex"),
            ),
            virtualhost: None,
            host: None,
            sni: None,
            regex: None,
            regex_no_match: false,
            regex_source: None,
        }],
        answer_budget: Duration::from_secs(10),
    }))
}

fn measure(name: &str, spec: &Spec) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    let ok = rt.block_on(async {
        let local = tokio::task::LocalSet::new();
        local
            .run_until(async {
                let mut ok = 0;
                for _ in 0..N / CONCURRENCY {
                    let mut set = tokio::task::JoinSet::new();
                    for _ in 0..CONCURRENCY {
                        let s = spec.clone();
                        set.spawn_local(async move { run_url(&s, 0).await });
                    }
                    while let Some(r) = set.join_next().await {
                        if r.is_ok_and(|r| r.verdict == Verdict::Success) {
                            ok += 1;
                        }
                    }
                }
                ok
            })
            .await
    });
    let cpu = thread_cpu() - cpu0;
    let wall = t0.elapsed();
    println!(
        "{name}: {ok}/{N} passed, {:.1} µs CPU per probe on the probing thread, {:.0} probes/s wall",
        cpu.as_secs_f64() * 1e6 / N as f64,
        N as f64 / wall.as_secs_f64()
    );
}

fn main() {
    let http = http_server();
    measure("TCP_CHECK", &spec(http, Kind::Tcp));
    measure("HTTP_GET (MD5)", &spec(http, http_kind(None)));
    let tls = tls_server();
    let client = keepalived_probe::tls::client_config(None).expect("tls client");
    measure("SSL_GET (MD5)", &spec(tls, http_kind(Some(client))));
}

/// TLS: rustls on its own runtime thread, certificate made by openssl.
fn tls_server() -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
    let st = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=bench",
        ])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl");
    assert!(st.success());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert)
        .expect("cert")
        .collect::<Result<_, _>>()
        .expect("cert");
    let key = PrivateKeyDer::from_pem_file(&key).expect("key");
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(chain, key)
    .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr");
    l.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let l = tokio::net::TcpListener::from_std(l).expect("listener");
            loop {
                let Ok((c, _)) = l.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut s) = acceptor.accept(c).await else {
                        return;
                    };
                    let mut buf = [0u8; 1024];
                    let _ = s.read(&mut buf).await;
                    let _ = s
                        .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nhello world\n")
                        .await;
                    let _ = s.shutdown().await;
                });
            }
        });
    });
    drop(dir);
    addr
}
