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
//! the others still happen, and the next reload plans against a fresh
//! dump again, so that it retries what failed.

use std::sync::Arc;
use std::time::Instant;

use keepalived_check::desired;
use keepalived_check::globals::{self, SyncDaemonSpec};
use keepalived_check::health::AtStart;
use keepalived_check::quorum::QuorumBook;
use keepalived_config::Config;
use keepalived_ipvs::client::Ipvs;
use keepalived_ipvs::error::{Applied, OpError};
use keepalived_ipvs::model::{Op, SyncState, Table, Timeouts};
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
    /// What we believe the kernel holds of ours; its services are the
    /// ones we own (see the planner's ownership rule).
    programmed: Table,
    /// An op failed: `programmed` may be wrong, dump before the next plan.
    resync: bool,
    quorum: QuorumBook,
    timeouts: Option<Timeouts>,
    /// `lvs_sync_daemon` naming no VRRP instance: keepalived's checker
    /// then runs a master and a backup daemon together (with a named
    /// instance the VRRP child runs it). The settings last started.
    syncd: Option<SyncDaemonSpec>,
}

/// How one batch went, for the log and the summary.
#[derive(Debug, Default)]
struct Outcome {
    done: usize,
    already: usize,
    /// The ops that failed (or whose fate is unknown).
    failed: Vec<Op>,
}

impl Checker {
    pub fn new(keep_on_stop: bool) -> Self {
        Checker {
            keep_on_stop,
            ipvs: None,
            config: None,
            generation: 0,
            programmed: Table::default(),
            resync: false,
            quorum: QuorumBook::new(),
            timeouts: None,
            syncd: None,
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
            outcome.failed = ops;
            return outcome;
        };
        let ops = Arc::new(ops);
        let batch = Arc::clone(&ops);
        let joined = tokio::task::spawn_blocking(move || {
            let mut ipvs = ipvs;
            let results = ipvs.apply(&batch);
            (ipvs, results)
        })
        .await;
        // The worker is done with its copy of the Arc either way.
        let ops = Arc::try_unwrap(ops).unwrap_or_else(|shared| (*shared).clone());
        let (ipvs, results) = match joined {
            Ok(x) => x,
            Err(e) => {
                // The fate of every op is unknown, and the socket is gone
                // (the next apply opens a new one).
                tracing::error!("IPVS worker failed: {e}");
                outcome.failed = ops;
                return outcome;
            }
        };
        self.ipvs = Some(ipvs);
        for (r, op) in results.into_iter().zip(ops) {
            match r {
                Ok(Applied::Done) => outcome.done += 1,
                Ok(Applied::AlreadyThere | Applied::AlreadyGone) => outcome.already += 1,
                Err(e) => {
                    log_failure(&e);
                    outcome.failed.push(op);
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

/// What we own after a batch: the desired table, plus every service
/// whose deletion failed (as `current` had it), so that it stays ours and
/// the next plan or the stop deletes it again. Other failures (an add, a
/// change) need no entry here: the dump the failure triggers shows the
/// next plan what is missing.
fn believed(desired: Table, current: &Table, failed: &[Op]) -> Table {
    let mut table = desired;
    for op in failed {
        if let Op::DelService(key) = op
            && table.services.iter().all(|e| e.service.key != *key)
            && let Some(e) = current.services.iter().find(|e| e.service.key == *key)
        {
            table.services.push(e.clone());
        }
    }
    table
}

fn log_failure(e: &OpError) {
    tracing::error!("IPVS: {e}");
}

fn is_empty(config: &Config) -> bool {
    config.virtual_servers.is_empty()
        && globals::lvs_timeouts(&config.global_defs).is_none()
        && !config.global_defs.lvs_flush
        && checker_syncd(config).is_none()
}

/// The sync daemon settings this child runs: `lvs_sync_daemon` naming no
/// VRRP instance.
fn checker_syncd(config: &Config) -> Option<SyncDaemonSpec> {
    globals::sync_daemon_spec(&config.global_defs).filter(|s| s.instance.is_none())
}

fn stop_syncd() -> [Op; 2] {
    [
        Op::StopDaemon(SyncState::Master),
        Op::StopDaemon(SyncState::Backup),
    ]
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
        let desired = desired::desired_table(&config, &AtStart, &self.quorum);
        let mut ops = Vec::new();
        if let Some(t) = globals::lvs_timeouts(&config.global_defs)
            && self.timeouts != Some(t)
        {
            ops.push(Op::SetTimeouts(t));
            self.timeouts = Some(t);
        }
        let syncd = checker_syncd(&config);
        if (first && syncd.is_some()) || syncd != self.syncd {
            // Stopped first: changed settings, or (at start) whatever a
            // killed predecessor left running.
            ops.extend(stop_syncd());
            if let Some(spec) = &syncd {
                ops.extend(
                    [SyncState::Master, SyncState::Backup]
                        .map(|state| Op::StartDaemon(spec.daemon(state, 0))),
                );
            }
            self.syncd = syncd;
        }
        // Ours: what we programmed (the planner only deletes services we
        // own that are no longer wanted).
        let owned = Owned::of(&self.programmed);
        let current = if first || self.resync {
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
            std::mem::take(&mut self.programmed)
        };
        let opts = PlanOptions {
            flush: first && config.global_defs.lvs_flush,
        };
        ops.extend(planner::plan(&desired, &current, &owned, opts));
        let count = ops.len();
        let outcome = self.run(ops).await;
        self.resync = !outcome.failed.is_empty();
        self.programmed = believed(desired, &current, &outcome.failed);
        if outcome
            .failed
            .iter()
            .any(|op| matches!(op, Op::SetTimeouts(_) | Op::Flush))
        {
            self.timeouts = None;
        }
        self.config = Some(config);
        self.generation = generation;
        Ok(format!(
            "{names}; {count} IPVS ops ({} done, {} already so, {} failed) in {:.1} ms",
            outcome.done,
            outcome.already,
            outcome.failed.len(),
            started.elapsed().as_secs_f64() * 1e3
        ))
    }

    async fn dump(&mut self, what: DumpKind) {
        if let Some(c) = &self.config {
            report::write_dump(what, c, self.generation);
        }
    }

    async fn stop(&mut self) {
        // Like keepalived, whatever -I says: the daemons are ours.
        if self.ipvs.is_some() && self.syncd.take().is_some() {
            let outcome = self.run(stop_syncd().to_vec()).await;
            if outcome.failed.is_empty() {
                tracing::info!("IPVS: sync daemons stopped");
            }
        }
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
            self.programmed
                .services
                .iter()
                .map(|e| Op::DelService(e.service.key))
                .collect()
        };
        let count = ops.len();
        let outcome = self.run(ops).await;
        tracing::info!(
            "IPVS: removed what we own: {count} ops ({} failed) in {:.1} ms",
            outcome.failed.len(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
}

#[cfg(test)]
mod tests {
    use keepalived_ipvs::model::{Family, Service, ServiceEntry, ServiceKey};

    use super::*;

    fn entry(mark: u32) -> ServiceEntry {
        ServiceEntry {
            service: Service {
                key: ServiceKey::Fwmark {
                    family: Family::Inet,
                    mark,
                },
                scheduler: "rr".to_owned(),
                flags: 0,
                timeout: 0,
                netmask: u32::MAX,
                pe_name: None,
            },
            dests: Vec::new(),
        }
    }

    fn table(marks: &[u32]) -> Table {
        Table {
            services: marks.iter().map(|m| entry(*m)).collect(),
        }
    }

    #[test]
    fn a_service_whose_deletion_failed_stays_ours() {
        let desired = table(&[1]);
        let current = table(&[1, 2, 3]);
        let failed = vec![
            Op::DelService(entry(2).service.key),
            // A failed add is not believed away: the next plan dumps.
            Op::AddService(entry(1).service),
        ];
        let got = believed(desired, &current, &failed);
        assert_eq!(got, table(&[1, 2]));
        // Planned again against a dump that still holds it, it is deleted.
        let ops = planner::plan(
            &table(&[1]),
            &current,
            &Owned::of(&got),
            PlanOptions::default(),
        );
        assert_eq!(ops, vec![Op::DelService(entry(2).service.key)]);
    }

    #[test]
    fn without_failures_the_belief_is_the_desired_table() {
        let got = believed(table(&[1, 4]), &table(&[1, 2]), &[]);
        assert_eq!(got, table(&[1, 4]));
    }
}
