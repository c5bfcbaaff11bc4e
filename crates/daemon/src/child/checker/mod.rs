// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child's engine: keeps the kernel's IPVS table equal to what
//! the configuration and the health checks call for.
//!
//! Tasks (all on the child's one current-thread runtime):
//!
//! ```text
//!   shell::serve ──Cmd (apply / dump / stop, each with a reply)──▶ actor
//!   probe tasks (one per launched probe: TCP, HTTP/SSL, MISC, DNS, SMTP,
//!     UDP, PING) ──Report──▶ actor
//!   the track files FILE_CHECKs follow (inotify) ──name──▶ actor
//!   lookups of real servers named by DNS (one task per name) ──status──▶ actor
//!   IPVS batches (a blocking thread each, awaited by the actor)
//!   notify script reapers (one per started script)
//! ```
//!
//! The actor ([`actor`]) owns the health pool (`keepalived_check::
//! reconcile::Pool`: every checker machine, real server and quorum state),
//! the probe specs, the IPVS client and the notify fifos. It waits for a
//! command, a finished probe or the pool's next deadline, whichever comes
//! first, and carries out what the pool returns, in order ([`effects`]):
//! log lines, IPVS ops (consecutive ops as one batch), notify scripts,
//! fifo lines, probes to launch. Decisions are the pool's; the actor holds
//! none.

mod actor;
mod announce;
pub use announce::withdraw_dead as withdraw_dead_announces;
mod effects;
mod ping;
mod probes;
mod refused;
mod resolver;
mod resolver_state;

use std::sync::Arc;
use std::time::Duration;

use keepalived_config::Config;
use tokio::sync::{mpsc, oneshot};

use super::actor_link;
use super::shell::Engine;
use crate::exit;
use crate::proto::DumpKind;

/// Longest we wait for the actor to announce and clean up on stop (omega
/// scripts get 1 s, a big table's deletion some more).
const STOP_WAIT: Duration = Duration::from_secs(10);

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
    Status {
        ask: crate::proto::StatusAsk,
        reply: oneshot::Sender<serde_json::Value>,
    },
    Stop {
        reply: oneshot::Sender<()>,
    },
}

pub struct Checker {
    /// `-I`: leave the table as it is on stop.
    keep_on_stop: bool,
    cmds: Option<mpsc::Sender<Cmd>>,
    done: Option<oneshot::Receiver<u8>>,
}

impl Checker {
    pub fn new(keep_on_stop: bool) -> Self {
        Checker {
            keep_on_stop,
            cmds: None,
            done: None,
        }
    }

    fn sender(&mut self) -> mpsc::Sender<Cmd> {
        if let Some(tx) = &self.cmds {
            return tx.clone();
        }
        let (tx, rx) = mpsc::channel(8);
        let (done_tx, done_rx) = oneshot::channel();
        let actor = actor::Actor::new(self.keep_on_stop);
        tokio::task::spawn_local(async move {
            let code = actor.run(rx).await;
            let _ = done_tx.send(code);
        });
        self.cmds = Some(tx.clone());
        self.done = Some(done_rx);
        tx
    }
}

impl Engine for Checker {
    async fn apply(&mut self, config: Arc<Config>, generation: u64) -> Result<String, u8> {
        let tx = self.sender();
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
            return serde_json::json!({"virtual_servers": []});
        }
        actor_link::ask(self.cmds.as_ref(), |reply| Cmd::Status { ask, reply })
            .await
            .unwrap_or_else(|| serde_json::json!({"error": "the health checker is gone"}))
    }

    async fn stop(&mut self) {
        let cmds = self.cmds.take();
        actor_link::stop(
            cmds,
            |reply| Cmd::Stop { reply },
            STOP_WAIT,
            "Health checkers",
        )
        .await;
    }

    async fn failed(&mut self) -> u8 {
        actor_link::ended(&mut self.done).await
    }
}
