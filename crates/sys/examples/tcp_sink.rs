// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A cheap backend for the checker benchmarks (integration/bench/check-cost.sh):
//! listens on many TCP ports of one address, accepts every connection,
//! optionally answers a minimal HTTP response, closes, and counts. The
//! count (connections accepted so far) is written to a file every second,
//! so the benchmark measures the probe rate the backends really saw.
//!
//!     tcp_sink ADDR FIRST_PORT COUNT COUNT_FILE [--http]
//!
//! One current-thread runtime, one task per listener: idle between
//! connections, so it takes little of the CPU the daemons are measured on.

use std::cell::Cell;
use std::net::{IpAddr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const HTTP_ANSWER: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok";

fn usage() -> ! {
    eprintln!("usage: tcp_sink ADDR FIRST_PORT COUNT COUNT_FILE [--http]");
    std::process::exit(2);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 4 {
        usage();
    }
    let addr: IpAddr = args[0].parse().unwrap_or_else(|_| usage());
    let first: u16 = args[1].parse().unwrap_or_else(|_| usage());
    let count: u16 = args[2].parse().unwrap_or_else(|_| usage());
    let file = args[3].clone();
    let http = args.get(4).is_some_and(|a| a == "--http");
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
        for i in 0..count {
            let port = first.saturating_add(i);
            let listener = match TcpListener::bind(SocketAddr::new(addr, port)).await {
                Ok(l) => l,
                Err(e) => {
                    eprintln!("tcp_sink: bind {addr}:{port}: {e}");
                    std::process::exit(1);
                }
            };
            let accepted = Rc::clone(&accepted);
            tokio::task::spawn_local(async move {
                loop {
                    let Ok((mut s, _)) = listener.accept().await else {
                        continue;
                    };
                    accepted.set(accepted.get() + 1);
                    if http {
                        tokio::task::spawn_local(async move {
                            // Read the request (one GET fits one segment)
                            // so that closing with it unread does not
                            // reset the connection under the answer.
                            let mut buf = [0u8; 1024];
                            let _ = s.read(&mut buf).await;
                            let _ = s.write_all(HTTP_ANSWER).await;
                            let _ = s.shutdown().await;
                        });
                    }
                }
            });
        }
        eprintln!("tcp_sink: listening on {addr}:{first}..+{count}");
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tick.tick().await;
            let _ = std::fs::write(&file, format!("{}\n", accepted.get()));
        }
    });
}
