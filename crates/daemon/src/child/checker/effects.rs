// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child's side of the pool's notifications: log lines,
//! notify scripts (`notify_up`/`notify_down`, `quorum_up`/`quorum_down`,
//! exactly as configured, no arguments added) and lines on `notify_fifo`
//! and `lvs_notify_fifo` (`RS <RS> <VS> UP|DOWN`, `VS <VS> UP|DOWN`).

use std::path::Path;
use std::time::Duration;

use keepalived_check::effect::Level;
use keepalived_config::model::global::GlobalDefs;
use keepalived_config::types::Command;
use keepalived_sys::fifo::{FifoWrite, NotifyFifo};
use tokio::task::JoinHandle;

use crate::child::script;

/// keepalived gives the notify scripts of a shutdown one second.
const STOPPING_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct Notifier {
    fifos: Vec<NotifyFifo>,
    /// Scripts started while stopping, waited for (a little) at the end.
    stopping: Vec<JoinHandle<()>>,
}

impl Notifier {
    /// Opens the configured FIFOs; ones already open stay open (a reader
    /// keeps its pipe across a reload), ones no longer configured close.
    pub fn reconfigure(&mut self, g: &GlobalDefs) {
        let mut paths: Vec<&str> = [&g.notify_fifo, &g.lvs_notify_fifo]
            .into_iter()
            .flatten()
            .map(|f| f.path.as_str())
            .collect();
        paths.dedup();
        let mut old = std::mem::take(&mut self.fifos);
        for path in paths {
            if let Some(pos) = old.iter().position(|f| f.path() == Path::new(path)) {
                self.fifos.push(old.swap_remove(pos));
                continue;
            }
            match NotifyFifo::open(Path::new(path)) {
                Ok(f) => self.fifos.push(f),
                Err(e) => tracing::warn!("cannot open notify FIFO {path}: {e}"),
            }
        }
    }

    pub fn script(&mut self, command: &Command, stopping: bool) {
        let started = script::spawn(command, &[]);
        if stopping {
            self.stopping.extend(started);
        }
    }

    /// Writes one line to every FIFO without blocking: a full pipe loses
    /// the line (logged at debug), a slow reader must not stall checks.
    pub fn fifo(&mut self, line: &str) {
        for f in &mut self.fifos {
            match f.write_line(line) {
                Ok(FifoWrite::Written) => {}
                Ok(lost) => tracing::debug!("notify FIFO {}: line {lost:?}", f.path().display()),
                Err(e) => tracing::debug!("notify FIFO {}: {e}", f.path().display()),
            }
        }
    }

    /// Gives the shutdown scripts their second.
    pub async fn wait_stopping(&mut self) {
        let all = futures_join(std::mem::take(&mut self.stopping));
        if tokio::time::timeout(STOPPING_WAIT, all).await.is_err() {
            tracing::debug!("shutdown notify scripts still running after {STOPPING_WAIT:?}");
        }
    }
}

async fn futures_join(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

pub fn log(level: Level, line: &str) {
    match level {
        Level::Debug => tracing::debug!("{line}"),
        Level::Info => tracing::info!("{line}"),
        Level::Warn => tracing::warn!("{line}"),
    }
}
