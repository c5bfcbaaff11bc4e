// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child's engine: keeps the kernel's IPVS table equal to
//! what the configuration (and, once they exist, the health checks) call
//! for.
//!
//! At start the kernel is dumped once: entries we would add that are
//! already there are adopted (a restart with `-I` rebuilds nothing), and
//! `lvs_flush` starts from an empty table. After that the engine plans
//! against what it last programmed, not against a fresh dump: a reload
//! then costs only the ops of its diff, whatever the table's size. Every
//! op that fails is logged with the service or destination it concerns;
//! the others still happen.

use std::sync::Arc;
use std::time::Instant;

use keepalived_check::desired;
use keepalived_check::globals;
use keepalived_check::health::AtStart;
use keepalived_check::quorum::QuorumBook;
use keepalived_config::Config;
use keepalived_ipvs::client::Ipvs;
use keepalived_ipvs::error::{Applied, OpError};
use keepalived_ipvs::model::{Op, Table, Timeouts};
use keepalived_ipvs::planner::{self, Owned, PlanOptions};

use super::report;
use super::shell::Engine;
use crate::exit;
use crate::proto::DumpKind;

pub struct Checker {
    /// `-I`: leave the table as it is on stop.
    keep_on_stop: bool,
    ipvs: Option<Ipvs>,
    config: Option<Arc<Config>>,
    generation: u64,
    /// What we believe the kernel holds of ours.
    programmed: Table,
    owned: Owned,
    quorum: QuorumBook,
    timeouts: Option<Timeouts>,
}

/// How one batch went, for the log and the summary.
#[derive(Debug, Default)]
struct Outcome {
    done: usize,
    already: usize,
    failed: usize,
}

impl Checker {
    pub fn new(keep_on_stop: bool) -> Self {
        Checker {
            keep_on_stop,
            ipvs: None,
            config: None,
            generation: 0,
            programmed: Table::default(),
            owned: Owned::new(),
            quorum: QuorumBook::new(),
            timeouts: None,
        }
    }

    /// Runs `ops` on a blocking thread (a big batch must not stall the
    /// runtime) and logs each failure.
    async fn run(&mut self, ops: Vec<Op>) -> Outcome {
        let mut outcome = Outcome::default();
        if ops.is_empty() {
            return outcome;
        }
        let Some(ipvs) = self.ipvs.take() else {
            outcome.failed = ops.len();
            return outcome;
        };
        let joined = tokio::task::spawn_blocking(move || {
            let mut ipvs = ipvs;
            let results = ipvs.apply(&ops);
            (ipvs, results)
        })
        .await;
        let (ipvs, results) = match joined {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("IPVS worker failed: {e}");
                return outcome;
            }
        };
        self.ipvs = Some(ipvs);
        for r in results {
            match r {
                Ok(Applied::Done) => outcome.done += 1,
                Ok(Applied::AlreadyThere | Applied::AlreadyGone) => outcome.already += 1,
                Err(e) => {
                    outcome.failed += 1;
                    log_failure(&e);
                }
            }
        }
        outcome
    }

    fn open(&mut self) -> Result<(), u8> {
        if self.ipvs.is_some() {
            return Ok(());
        }
        match Ipvs::open() {
            Ok(i) => {
                self.ipvs = Some(i);
                Ok(())
            }
            Err(e) => {
                // keepalived's checker exits FATAL (1) here.
                tracing::error!("IPVS: Can't initialize ipvs: {e}");
                Err(exit::FATAL)
            }
        }
    }
}

fn log_failure(e: &OpError) {
    tracing::error!("IPVS: {e}");
}

fn is_empty(config: &Config) -> bool {
    config.virtual_servers.is_empty()
        && globals::lvs_timeouts(&config.global_defs).is_none()
        && !config.global_defs.lvs_flush
}

impl Engine for Checker {
    async fn apply(&mut self, config: Arc<Config>, generation: u64) -> Result<String, u8> {
        let started = Instant::now();
        let first = self.config.is_none();
        let names = match &self.config {
            None => report::diff(&Config::default(), &config),
            Some(old) => report::diff(old, &config),
        }
        .summary("virtual servers");
        // Nothing to program and nothing programmed: no need for IPVS (a
        // kernel without it is fine then, as for `--all` with no LVS).
        if is_empty(&config) && self.programmed.services.is_empty() && self.ipvs.is_none() {
            self.config = Some(config);
            self.generation = generation;
            return Ok(format!("{names}; no IPVS work"));
        }
        self.open()?;
        let desired = desired::desired_table(&config, &AtStart, &mut self.quorum);
        let mut ops = Vec::new();
        if let Some(t) = globals::lvs_timeouts(&config.global_defs)
            && self.timeouts != Some(t)
        {
            ops.push(Op::SetTimeouts(t));
            self.timeouts = Some(t);
        }
        let current = if first {
            let Some(ipvs) = self.ipvs.as_mut() else {
                return Err(exit::FATAL);
            };
            match ipvs.dump() {
                Ok(t) => t,
                Err(e) => {
                    tracing::error!("IPVS: cannot read the kernel's table: {e}");
                    return Err(exit::FATAL);
                }
            }
        } else {
            self.programmed.clone()
        };
        let opts = PlanOptions {
            flush: first && desired::flush_at_start(&config.global_defs),
        };
        self.owned.extend_from(&desired);
        ops.extend(planner::plan(&desired, &current, &self.owned, opts));
        let count = ops.len();
        let outcome = self.run(ops).await;
        // What is ours now: the desired table (a failed op is logged and
        // retried by the next reload's plan only if it differs; keeping
        // the belief simple beats guessing the kernel's partial state).
        self.owned = Owned::of(&desired);
        self.programmed = desired;
        self.config = Some(config);
        self.generation = generation;
        Ok(format!(
            "{names}; {count} IPVS ops ({} done, {} already so, {} failed) in {:.1} ms",
            outcome.done,
            outcome.already,
            outcome.failed,
            started.elapsed().as_secs_f64() * 1e3
        ))
    }

    async fn dump(&mut self, what: DumpKind) {
        if let Some(c) = &self.config {
            report::write_dump(what, c, self.generation);
        }
    }

    async fn stop(&mut self) {
        if self.ipvs.is_none() || self.keep_on_stop {
            if self.keep_on_stop {
                tracing::info!("IPVS: leaving the table in place (-I)");
            }
            return;
        }
        let started = Instant::now();
        let flush = self
            .config
            .as_ref()
            .is_some_and(|c| c.global_defs.lvs_flush_on_stop.as_deref() == Some("ALL"));
        let ops: Vec<Op> = if flush {
            vec![Op::Flush]
        } else {
            // Deleting a service takes its destinations with it.
            self.owned.iter().map(|k| Op::DelService(*k)).collect()
        };
        let count = ops.len();
        let outcome = self.run(ops).await;
        tracing::info!(
            "IPVS: removed what we own: {count} ops ({} failed) in {:.1} ms",
            outcome.failed,
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}
