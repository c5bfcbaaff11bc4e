// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The child's event loop: frames from the supervisor, signals, and the
//! engine's own request to exit. Everything protocol-specific is behind
//! [`Engine`]; the shell only sequences it.
//!
//! Order guarantees the engines rely on: snapshots are applied one at a
//! time in the order they arrive and each is acknowledged only after
//! `apply` returned; a dump request is served between two applies, never
//! during one; `stop` runs once, last.

use std::future::Future;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use keepalived_config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};

use super::Kind;
use crate::exit;
use crate::proto::{self, FromChild, ToChild};
use crate::sigs::{self, Signals};

/// What a child runs: the VRRP instances or the virtual servers.
pub trait Engine {
    /// Puts snapshot `generation` in force (the first call starts the
    /// engine; later ones are reloads and should touch only what changed).
    /// `Ok` carries a one-line summary for the log; `Err` an exit code
    /// for a child that cannot go on.
    fn apply(
        &mut self,
        config: Arc<Config>,
        generation: u64,
    ) -> impl Future<Output = Result<String, u8>>;

    /// Writes the dump files of `what`.
    fn dump(&mut self, what: proto::DumpKind) -> impl Future<Output = ()>;

    /// The engine's live state, rendered from its status model (the
    /// control socket's `status`). Engines without one say so.
    fn status(&mut self, ask: proto::StatusAsk) -> impl Future<Output = serde_json::Value> {
        let _ = ask;
        std::future::ready(serde_json::json!({"note": "no live status from this child yet"}))
    }

    /// Stops cleanly (a VRRP master hands over, owned state is removed).
    fn stop(&mut self) -> impl Future<Output = ()>;

    /// Resolves with an exit code when the engine itself must end the
    /// child (a fatal error in one of its tasks). Never, by default.
    fn failed(&mut self) -> impl Future<Output = u8> {
        std::future::pending()
    }
}

/// Test hooks, read from the environment once at start.
#[derive(Debug, Default)]
struct Hooks {
    /// `KEEPALIVED_RS_CHILD_EXIT=vrrp:2` makes the VRRP child exit with
    /// code 2 once it has acknowledged a configuration (exercises the
    /// supervisor's handling of keepalived's permanent exit codes).
    exit: Option<u8>,
    /// `KEEPALIVED_RS_APPLY_DELAY_MS=N` makes every apply take N ms
    /// longer, so a test can land a second HUP inside a reload.
    apply_delay: Option<std::time::Duration>,
}

impl Hooks {
    fn from_env(kind: Kind) -> Self {
        let me = match kind {
            Kind::Vrrp => "vrrp",
            Kind::Checker => "checker",
        };
        let exit = std::env::var("KEEPALIVED_RS_CHILD_EXIT")
            .ok()
            .and_then(|v| {
                let (who, code) = v.split_once(':')?;
                (who == me).then(|| code.parse().ok()).flatten()
            });
        let apply_delay = std::env::var("KEEPALIVED_RS_APPLY_DELAY_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .map(std::time::Duration::from_millis);
        // `KEEPALIVED_RS_HEAP_STATS=1` logs the allocator's figures
        // ([`keepalived_sys::mem::HeapStats`]) around each apply: decoded,
        // applied, trimmed (the checker child's memory work, issue 10).
        keepalived_sys::mem::set_heap_trace(
            std::env::var_os("KEEPALIVED_RS_HEAP_STATS").is_some_and(|v| v == "1"),
        );
        Hooks { exit, apply_delay }
    }
}

/// Runs the child until it is told to stop; returns its exit code.
pub async fn serve<E: Engine>(kind: Kind, mut engine: E, chan: UnixStream, signals: Signals) -> u8 {
    let setup = chan
        .set_nonblocking(true)
        .and_then(|()| tokio::net::UnixStream::from_std(chan))
        .and_then(|c| Ok((c, signals.into_async()?)));
    let (chan, mut signals) = match setup {
        Ok(x) => x,
        Err(e) => {
            tracing::error!("cannot watch the channel and signals: {e}");
            return exit::FATAL;
        }
    };
    // Answers and heartbeats share the write half; the heartbeat task
    // runs whenever the loop waits (an apply waiting on its worker
    // thread included), and stops when the loop stalls: that is what
    // the supervisor's watchdog looks for.
    let (mut chan, writer) = chan.into_split();
    let writer = Arc::new(tokio::sync::Mutex::new(writer));
    let beat = Arc::new(AtomicU64::new(0));
    let heartbeat = tokio::spawn(heartbeats(Arc::clone(&writer), Arc::clone(&beat)));
    let code = serve_loop(kind, &mut engine, &mut chan, &writer, &beat, &mut signals).await;
    heartbeat.abort();
    code
}

/// Sends a heartbeat every `every_ms` (0: none yet) until aborted.
async fn heartbeats(writer: Arc<tokio::sync::Mutex<OwnedWriteHalf>>, every_ms: Arc<AtomicU64>) {
    let Ok(frame) = proto::encode(&FromChild::Heartbeat) else {
        return;
    };
    loop {
        let ms = every_ms.load(Ordering::Relaxed);
        if ms == 0 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        }
        tokio::time::sleep(Duration::from_millis(ms)).await;
        if writer.lock().await.write_all(&frame).await.is_err() {
            return;
        }
    }
}

async fn serve_loop<E: Engine>(
    kind: Kind,
    engine: &mut E,
    chan: &mut OwnedReadHalf,
    writer: &tokio::sync::Mutex<OwnedWriteHalf>,
    beat: &AtomicU64,
    signals: &mut tokio::io::unix::AsyncFd<Signals>,
) -> u8 {
    let hooks = Hooks::from_env(kind);
    let mut framer = proto::Framer::default();
    let mut buf = vec![0u8; 64 << 10];
    loop {
        tokio::select! {
            ready = signals.readable_mut() => {
                let mut guard = match ready {
                    Ok(g) => g,
                    Err(e) => {
                        tracing::error!("signalfd: {e}");
                        return exit::FATAL;
                    }
                };
                while let Some(sig) = guard.get_inner_mut().next() {
                    if sig == libc::SIGTERM || sig == libc::SIGINT {
                        tracing::info!("Stopping {} child ({})", kind.label(), sigs::name(sig));
                        engine.stop().await;
                        tracing::info!("Stopped {} child", kind.label());
                        return exit::OK;
                    }
                    tracing::debug!("{} ignored: the supervisor coordinates it", sigs::name(sig));
                }
                guard.clear_ready();
            }
            read = chan.read(&mut buf) => {
                let n = match read {
                    // A supervisor killed with our messages still unread in
                    // its socket reads as a reset, not an end of stream
                    // (AF_UNIX): gone all the same, and the stop must still
                    // take the table or the VIPs away.
                    Ok(0) => {
                        tracing::info!("Supervisor gone; {} child exiting", kind.label());
                        engine.stop().await;
                        return exit::OK;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                        tracing::info!("Supervisor gone ({e}); {} child exiting", kind.label());
                        engine.stop().await;
                        return exit::OK;
                    }
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => {
                        tracing::error!("Cannot read from the supervisor: {e}");
                        return exit::FATAL;
                    }
                };
                framer.push(&buf[..n]);
                while let Some(msg) = framer.next::<ToChild>() {
                    let msg = match msg {
                        Ok(m) => m,
                        Err(e) => {
                            tracing::error!("Bad message from the supervisor: {e}");
                            return exit::FATAL;
                        }
                    };
                    if let ToChild::Config { heartbeat_ms, .. } = &msg {
                        beat.store(*heartbeat_ms, Ordering::Relaxed);
                    }
                    if let Some(code) = handle(&hooks, engine, writer, msg).await {
                        return code;
                    }
                }
            }
            code = engine.failed() => {
                tracing::error!("{} child cannot go on; exiting with {code}", kind.label());
                return code;
            }
        }
    }
}

/// One message from the supervisor; `Some(code)` ends the child.
async fn handle<E: Engine>(
    hooks: &Hooks,
    engine: &mut E,
    writer: &tokio::sync::Mutex<OwnedWriteHalf>,
    msg: ToChild,
) -> Option<u8> {
    match msg {
        ToChild::Config {
            generation, config, ..
        } => {
            if let Some(d) = hooks.apply_delay {
                tokio::time::sleep(d).await;
            }
            keepalived_sys::mem::trace_heap(format_args!("generation {generation} decoded"));
            // Kept for as long as it is in force, as a copy: every list of
            // a copy is cut to size, and its pieces lie together. The
            // decoded one has holes where its lists grew while read;
            // the pool built next would fill them, and once the model is
            // released (the checker child keeps a stripped copy) those
            // pool pieces would hold every page of its span resident (at
            // 100 000 TCP_CHECKs, 12 MB of freed heap that `malloc_trim`
            // could not give back, measured). Freed whole, the
            // decoded span is one free stretch the pool fills in order.
            let copy = Box::new(Config::clone(&config));
            drop(config);
            let summary = match engine.apply(Arc::from(copy), generation).await {
                Ok(s) => s,
                Err(code) => return Some(code),
            };
            tracing::info!("Configuration generation {generation} applied: {summary}");
            keepalived_sys::mem::trace_heap(format_args!("generation {generation} applied"));
            // The old generation and the snapshot's decoding are gone, and
            // so is the need for the code that read and applied them.
            keepalived_sys::mem::release_freed_memory();
            let kb = keepalived_sys::mem::release_startup_code();
            keepalived_sys::mem::trace_heap(format_args!("generation {generation} trimmed"));
            tracing::debug!(
                "Start-up code pages handed back after generation {generation}: {kb} kB"
            );
            let ack = proto::encode(&FromChild::Applied {
                generation,
                summary,
            });
            let sent = match ack {
                Ok(bytes) => writer.lock().await.write_all(bytes.as_slice()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                tracing::error!("Cannot answer the supervisor: {e}");
                return Some(exit::FATAL);
            }
            if let Some(code) = hooks.exit {
                tracing::error!("Exiting with injected code {code}");
                return Some(code);
            }
            None
        }
        ToChild::Dump { kind: what } => {
            engine.dump(what).await;
            None
        }
        ToChild::Status { id, ask } => {
            let status = engine.status(ask).await;
            let sent = match proto::encode_status(id, &status) {
                Ok(bytes) => writer.lock().await.write_all(bytes.as_slice()).await,
                Err(e) => Err(e),
            };
            if let Err(e) = sent {
                tracing::error!("Cannot answer the supervisor: {e}");
                return Some(exit::FATAL);
            }
            None
        }
    }
}
