// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The VRRP child's engine: runs every `vrrp_instance` of the snapshot.
//!
//! Tasks (all on the child's one current-thread runtime):
//!
//! ```text
//!   shell::serve ──Cmd (apply / dump / stop, each with a reply)──▶ Core task
//!   socket reader (one per interface+family+group) ──decoded datagram──▶ Core task
//!   script reaper (one per started notify script)
//!   rtnetlink connection driver (keepalived-sys)
//!   GARP/NA burst (one per takeover)
//!   process events (proc connector; only with vrrp_track_process) ──▶ Core task
//!   IPVS sync-daemon worker (an OS thread; only with lvs_sync_daemon)
//! ```
//!
//! The core task owns all protocol state; it waits for a command, a
//! datagram or the earliest deadline of all instances, whichever comes
//! first, and handles each to completion before waiting again, so there
//! are no locks and no half-executed action lists.
//!
//! Order guarantees: the actions of one state-machine step run in the
//! order the machine returned them, each kernel change acknowledged by
//! the kernel before the next action starts (on becoming master: advert
//! sent, then VIPs installed, then GARP, then notify scripts started and
//! the FIFO line written). Instances due in the same wake-up run in
//! configuration order. Notify scripts are started in transition order
//! but not waited for; FIFO lines are written in transition order.

mod announce;
mod core;
mod deleted;
mod dump;
mod exec;
mod instance;
mod io;
mod ka_json;
mod ka_routes;
mod ka_stats;
mod notify;
mod processes;
mod release;
pub(crate) mod routing;
mod status;
mod syncd;
mod track;
mod vmac;

pub use release::release_addresses;

use std::sync::Arc;
use std::time::Duration;

use keepalived_config::Config;
use tokio::sync::{mpsc, oneshot};

use super::actor_link;
use super::shell::Engine;
use crate::exit;
use crate::proto::DumpKind;

/// Longest we wait for the core to hand over and clean up on stop.
const STOP_WAIT: Duration = Duration::from_secs(3);

enum Cmd {
    Apply {
        config: Arc<Config>,
        generation: u64,
        reply: oneshot::Sender<Result<String, u8>>,
    },
    Dump {
        what: DumpKind,
        reply: oneshot::Sender<()>,
    },
    Stop {
        reply: oneshot::Sender<()>,
    },
    Status {
        ask: crate::proto::StatusAsk,
        reply: oneshot::Sender<serde_json::Value>,
    },
}

/// Options from the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// `-V`: leave the VIPs in place on stop.
    pub dont_release_vrrp: bool,
}

pub struct VrrpEngine {
    options: Options,
    cmds: Option<mpsc::Sender<Cmd>>,
    done: Option<oneshot::Receiver<u8>>,
}

impl VrrpEngine {
    pub fn new(options: Options) -> Self {
        Self {
            options,
            cmds: None,
            done: None,
        }
    }

    fn sender(&mut self) -> Result<mpsc::Sender<Cmd>, u8> {
        if let Some(tx) = &self.cmds {
            return Ok(tx.clone());
        }
        let (tx, rx) = mpsc::channel(8);
        let (done_tx, done_rx) = oneshot::channel();
        let core = core::Core::new(self.options).map_err(|e| {
            tracing::error!("VRRP: {e}");
            exit::FATAL
        })?;
        tokio::spawn(async move {
            let code = core.run(rx).await;
            let _ = done_tx.send(code);
        });
        self.cmds = Some(tx.clone());
        self.done = Some(done_rx);
        Ok(tx)
    }
}

impl Engine for VrrpEngine {
    async fn apply(&mut self, config: Arc<Config>, generation: u64) -> Result<String, u8> {
        let tx = self.sender()?;
        actor_link::ask(Some(&tx), |reply| Cmd::Apply {
            config,
            generation,
            reply,
        })
        .await
        .ok_or(exit::FATAL)?
    }

    async fn dump(&mut self, what: DumpKind) {
        let _ = actor_link::ask(self.cmds.as_ref(), |reply| Cmd::Dump { what, reply }).await;
    }

    async fn status(&mut self, ask: crate::proto::StatusAsk) -> serde_json::Value {
        if self.cmds.is_none() {
            return serde_json::json!({ "note": "no configuration applied yet" });
        }
        actor_link::ask(self.cmds.as_ref(), |reply| Cmd::Status { ask, reply })
            .await
            .unwrap_or_else(|| serde_json::json!({ "note": "the VRRP core has ended" }))
    }

    async fn stop(&mut self) {
        let cmds = self.cmds.take();
        actor_link::stop(
            cmds,
            |reply| Cmd::Stop { reply },
            STOP_WAIT,
            "VRRP instances",
        )
        .await;
    }

    async fn failed(&mut self) -> u8 {
        actor_link::ended(&mut self.done).await
    }
}
