// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The pool's live state (DESIGN.md "One status model"): what the control
//! socket, the USR1 dump and the debug log render.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Pool;
use super::tally::Tally;
use crate::book::{CheckerState, Identity, RealServerState, VirtualServerState};
use crate::runs::RunStats;

/// The checker's part of a summary status: counts, and the first few
/// real servers down and virtual servers without quorum (in table
/// order), each list capped with how many more there are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckerSummary {
    pub virtual_servers_total: usize,
    pub real_servers_total: usize,
    pub real_servers_up: usize,
    pub real_servers_down: usize,
    pub quorum_down_total: usize,
    pub quorum_down: Vec<QuorumDown>,
    pub quorum_down_more: usize,
    pub down: Vec<DownRealServer>,
    pub down_more: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuorumDown {
    pub name: String,
    pub quorum: u32,
    pub sorry_active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownRealServer {
    pub virtual_server: String,
    pub name: String,
    pub weight: u32,
    /// Of its checkers, how many say down (0 with none: taken out by a
    /// reload or the stop).
    pub failed_checkers: usize,
    pub checkers: usize,
}

/// One virtual server as the metrics writer needs it: its quorum, the
/// latency histogram of all its checkers together, and per real server
/// only the numbers that become series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsVirtualServer(
    pub String,
    pub bool,
    pub RunStats,
    pub Vec<MetricsRealServer>,
);

/// (name, alive, effective weight, checks run, checks failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricsRealServer(pub String, pub bool, pub i64, pub u64, pub u64);

impl Pool {
    /// Recounts [`Tally`] from the book (after a start, reload or stop).
    pub(super) fn retally(&mut self) {
        let mut t = Tally::default();
        for (v, vs) in self.book.vss.iter().enumerate() {
            t.real_servers += vs.rss.len();
            for (r, rs) in vs.rss.iter().enumerate() {
                t.real_server(v, r, rs.alive);
            }
            let up = self
                .quorum
                .state(&vs.id, self.live_weight(v), vs.quorum, vs.hysteresis);
            t.quorum(v, up);
        }
        self.tally = t;
    }

    /// The summary: reads the kept tally and at most `cap` entries of
    /// each list, whatever the size of the table.
    pub fn summary(&self, cap: usize) -> CheckerSummary {
        let t = &self.tally;
        let quorum_down = t
            .quorum_down
            .iter()
            .take(cap)
            .filter_map(|&v| self.book.vss.get(v))
            .map(|vs| QuorumDown {
                name: vs.name.clone(),
                quorum: vs.quorum,
                sorry_active: vs.sorry.is_some(),
            })
            .collect();
        let down = t
            .down
            .iter()
            .take(cap)
            .filter_map(|&(v, r)| {
                let vs = self.book.vss.get(v)?;
                let rs = vs.rss.get(r)?;
                Some(DownRealServer {
                    virtual_server: vs.name.clone(),
                    name: rs.name.to_string(),
                    weight: rs.base_weight,
                    failed_checkers: rs.failed_checkers(),
                    checkers: rs.checkers.len(),
                })
            })
            .collect();
        CheckerSummary {
            virtual_servers_total: self.book.vss.len(),
            real_servers_total: t.real_servers,
            real_servers_up: t.real_servers.saturating_sub(t.down.len()),
            real_servers_down: t.down.len(),
            quorum_down_total: t.quorum_down.len(),
            quorum_down,
            quorum_down_more: t.quorum_down.len().saturating_sub(cap),
            down,
            down_more: t.down.len().saturating_sub(cap),
        }
    }

    /// What the metrics writer reads: a few numbers per real server, the
    /// checkers' latency counts merged per virtual server.
    pub fn metrics(&self) -> Vec<MetricsVirtualServer> {
        self.book
            .vss
            .iter()
            .enumerate()
            .map(|(v, vs)| {
                let mut hist = RunStats::default();
                let rss = vs
                    .rss
                    .iter()
                    .map(|rs| {
                        let (mut n, mut f) = (0, 0);
                        for c in &rs.checkers {
                            let r = c.machine.runs();
                            n += r.runs;
                            f += r.failures;
                            hist.merge(&r);
                        }
                        MetricsRealServer(
                            rs.name.to_string(),
                            rs.alive,
                            rs.effective_weight(),
                            n,
                            f,
                        )
                    })
                    .collect();
                MetricsVirtualServer(
                    vs.name.clone(),
                    !self.tally.quorum_down.contains(&v),
                    hist,
                    rss,
                )
            })
            .collect()
    }

    pub fn status(&self) -> Vec<VirtualServerState> {
        self.status_of(|_| true)
    }

    /// The whole state of the virtual servers `wanted` names.
    pub fn status_of(&self, wanted: impl Fn(&str) -> bool) -> Vec<VirtualServerState> {
        self.book
            .vss
            .iter()
            .enumerate()
            .filter(|(_, vs)| wanted(&vs.name))
            .map(|(v, vs)| {
                let w = self.live_weight(v);
                let up = self.quorum.state(&vs.id, w, vs.quorum, vs.hysteresis);
                VirtualServerState {
                    name: vs.name.clone(),
                    quorum: vs.quorum,
                    hysteresis: vs.hysteresis,
                    quorum_up: up,
                    sorry_server: vs.sorry.clone(),
                    sorry_active: !up && vs.sorry.is_some(),
                    real_servers: vs
                        .rss
                        .iter()
                        .map(|rs| RealServerState {
                            name: rs.name.to_string(),
                            alive: rs.alive,
                            weight: rs.base_weight,
                            effective_weight: rs.effective_weight(),
                            inhibit_on_failure: rs.inhibit,
                            checkers: rs
                                .checkers
                                .iter()
                                .map(|c| CheckerState {
                                    kind: c.log.kind,
                                    identity: c.identity,
                                    share: c.share,
                                    state: c.machine.status(),
                                })
                                .collect(),
                        })
                        .collect(),
                }
            })
            .collect()
    }

    /// How many checkers share each probe (more than one).
    pub fn shared_probes(&self) -> Vec<(Identity, usize)> {
        let mut n: BTreeMap<&Identity, usize> = BTreeMap::new();
        for (_, c) in self.book.checkers() {
            *n.entry(&c.share).or_default() += 1;
        }
        n.into_iter()
            .filter(|(_, k)| *k > 1)
            .map(|(i, k)| (*i, k))
            .collect()
    }
}
