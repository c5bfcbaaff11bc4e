// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One name's lookups, holds and address set (rules in the module above).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::Duration;

use keepalived_config::model::resolvers::Resolvers;
use serde::{Deserialize, Serialize};

use super::status::{Counters, LastResult, NameStatus};
use crate::time::Instant;

/// One name's knobs, from its `resolvers` block and `real_server_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    pub resolve_retries: u32,
    pub timeout_resolve: Duration,
    pub timeout_retry: Duration,
    pub hold_valid: Duration,
    pub hold_nx: Duration,
    pub hold_obsolete: Duration,
    pub max_addresses: usize,
}

impl Settings {
    pub fn new(r: &Resolvers, max_addresses: u32) -> Self {
        Self {
            resolve_retries: r.resolve_retries.max(1),
            timeout_resolve: r.timeout_resolve.as_duration(),
            timeout_retry: r.timeout_retry.as_duration(),
            hold_valid: r.hold.valid.as_duration(),
            hold_nx: r.hold.nx.as_duration(),
            hold_obsolete: r.hold.obsolete.as_duration(),
            max_addresses: usize::try_from(max_addresses).unwrap_or(usize::MAX),
        }
    }
}

/// One address of the set: an A/AAAA address (port 0: the template's),
/// or an SRV target with its port and weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Target {
    pub addr: IpAddr,
    pub port: u16,
    /// SRV weight; None for A/AAAA (the template's weight applies).
    pub weight: Option<u16>,
}

/// What a lookup came to, as the wire reader classified it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// NOERROR: the addresses (possibly none), the smallest TTL.
    Valid {
        targets: Vec<Target>,
        ttl: u32,
    },
    NxDomain,
    Timeout,
    Refused,
    /// SERVFAIL, FORMERR, a CNAME loop, an unusable answer...
    Other,
}

/// What the I/O shell must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send query number `attempt` (1-based) of the current lookup; a new
    /// attempt supersedes the previous one (its late answer is dropped).
    Query { attempt: u32 },
}

/// A change to the name's set of real servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added(Target),
    Removed(Target),
    /// Same address and port, new SRV weight.
    Reweighted(Target),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle {
        next: Instant,
    },
    Waiting {
        started: Instant,
        attempt: u32,
        deadline: Instant,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    weight: Option<u16>,
    last_seen: Instant,
}

#[derive(Debug, Clone)]
pub struct NameState {
    name: String,
    settings: Settings,
    phase: Phase,
    set: BTreeMap<(IpAddr, u16), Entry>,
    last: LastResult,
    last_valid: Option<Instant>,
    ttl_until: Option<Instant>,
    nx_since: Option<Instant>,
    counters: Counters,
}

impl NameState {
    /// A name with no address yet, its first lookup due at `now`.
    pub fn new(name: impl Into<String>, settings: Settings, now: Instant) -> Self {
        Self {
            name: name.into(),
            settings,
            phase: Phase::Idle { next: now },
            set: BTreeMap::new(),
            last: LastResult::None,
            last_valid: None,
            ttl_until: None,
            nx_since: None,
            counters: Counters::default(),
        }
    }

    /// Starts from addresses already in use (a name kept across a
    /// reload): they count as seen `now`, so the holds apply to them as
    /// if the previous task had gone on.
    pub fn seed(&mut self, targets: &[Target], now: Instant) {
        for t in targets.iter().take(self.settings.max_addresses) {
            self.set.insert(
                (t.addr, t.port),
                Entry {
                    weight: t.weight,
                    last_seen: now,
                },
            );
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The query attempt an answer must belong to, if one is in flight.
    pub fn attempt_in_flight(&self) -> Option<u32> {
        match self.phase {
            Phase::Waiting { attempt, .. } => Some(attempt),
            Phase::Idle { .. } => None,
        }
    }

    /// How many lookups have ended, whatever their outcome: a change
    /// tells the I/O shell that a `poll` ended one (as a timeout).
    pub fn lookups_ended(&self) -> u64 {
        let c = &self.counters;
        c.valid + c.nx + c.timeouts + c.refused + c.other
    }

    pub fn next_deadline(&self) -> Instant {
        match self.phase {
            Phase::Idle { next } => next,
            Phase::Waiting { deadline, .. } => deadline,
        }
    }

    /// Advances the timers: starts a lookup, retries, or ends one as a
    /// timeout. Returns the query to send, if any.
    pub fn poll(&mut self, now: Instant) -> (Option<Action>, Vec<Change>) {
        match self.phase {
            Phase::Idle { next } if now >= next => {
                self.phase = Phase::Waiting {
                    started: now,
                    attempt: 1,
                    deadline: now + self.settings.timeout_retry,
                };
                self.counters.queries += 1;
                (Some(Action::Query { attempt: 1 }), Vec::new())
            }
            Phase::Waiting {
                started,
                attempt,
                deadline,
            } if now >= deadline => {
                if attempt < self.settings.resolve_retries {
                    let attempt = attempt + 1;
                    self.phase = Phase::Waiting {
                        started,
                        attempt,
                        deadline: now + self.settings.timeout_retry,
                    };
                    self.counters.queries += 1;
                    (Some(Action::Query { attempt }), Vec::new())
                } else {
                    let changes = self.finish(Outcome::Timeout, now);
                    // An overdue next lookup starts in the same call.
                    let (act, _) = self.poll(now);
                    (act, changes)
                }
            }
            _ => (None, Vec::new()),
        }
    }

    /// The answer to attempt `attempt`. An answer for a superseded attempt
    /// is still an answer to the same question and is taken (HAProxy
    /// does the same); one with no lookup in flight is dropped.
    pub fn answer(&mut self, outcome: Outcome, now: Instant) -> Vec<Change> {
        if self.attempt_in_flight().is_none() {
            self.counters.answers_dropped += 1;
            return Vec::new();
        }
        self.finish(outcome, now)
    }

    /// A datagram the shell refused (spoofed, malformed...): counted only.
    pub fn count_dropped_answer(&mut self) {
        self.counters.answers_dropped += 1;
    }

    fn finish(&mut self, outcome: Outcome, now: Instant) -> Vec<Change> {
        let started = match self.phase {
            Phase::Waiting { started, .. } => started,
            Phase::Idle { .. } => now,
        };
        // Rule 1: the next lookup is a period after this one started, but
        // never in the past (a lookup that outlived its period).
        let next = (started + self.settings.timeout_resolve).max(now);
        self.phase = Phase::Idle { next };
        match outcome {
            Outcome::Valid { targets, ttl } => self.valid(targets, ttl, now),
            Outcome::NxDomain => {
                self.last = LastResult::Nx;
                self.counters.nx += 1;
                // Judged at each NXDOMAIN, so within one period of the
                // hold: waking early would cost an extra query.
                let since = *self.nx_since.get_or_insert(now);
                if now - since >= self.settings.hold_nx {
                    self.clear()
                } else {
                    Vec::new()
                }
            }
            Outcome::Timeout => {
                self.last = LastResult::Timeout;
                self.counters.timeouts += 1;
                Vec::new()
            }
            Outcome::Refused => {
                self.last = LastResult::Refused;
                self.counters.refused += 1;
                Vec::new()
            }
            Outcome::Other => {
                self.last = LastResult::Other;
                self.counters.other += 1;
                Vec::new()
            }
        }
    }

    fn valid(&mut self, targets: Vec<Target>, ttl: u32, now: Instant) -> Vec<Change> {
        self.last = LastResult::Valid;
        self.counters.valid += 1;
        self.nx_since = None;
        self.last_valid = Some(now);
        self.ttl_until = Some(now + Duration::from_secs(u64::from(ttl)));
        let mut changes = Vec::new();
        for t in targets {
            let key = (t.addr, t.port);
            if let Some(e) = self.set.get_mut(&key) {
                if e.weight != t.weight {
                    e.weight = t.weight;
                    changes.push(Change::Reweighted(t));
                }
                e.last_seen = now;
                continue;
            }
            // Rule 7: the set never grows past its bound.
            if self.set.len() >= self.settings.max_addresses {
                self.counters.records_dropped += 1;
                continue;
            }
            self.set.insert(
                key,
                Entry {
                    weight: t.weight,
                    last_seen: now,
                },
            );
            self.counters.addresses_added += 1;
            changes.push(Change::Added(t));
        }
        // Rule 3.
        let hold = self.settings.hold_obsolete;
        let gone: Vec<(IpAddr, u16)> = self
            .set
            .iter()
            .filter(|(_, e)| e.last_seen != now && now - e.last_seen >= hold)
            .map(|(k, _)| *k)
            .collect();
        for k in gone {
            if let Some(e) = self.set.remove(&k) {
                self.counters.addresses_removed += 1;
                changes.push(Change::Removed(Target {
                    addr: k.0,
                    port: k.1,
                    weight: e.weight,
                }));
            }
        }
        changes
    }

    fn clear(&mut self) -> Vec<Change> {
        let all = std::mem::take(&mut self.set);
        self.counters.addresses_removed += all.len() as u64;
        all.into_iter()
            .map(|((addr, port), e)| {
                Change::Removed(Target {
                    addr,
                    port,
                    weight: e.weight,
                })
            })
            .collect()
    }

    /// The current set, in address order.
    pub fn targets(&self) -> Vec<Target> {
        self.set
            .iter()
            .map(|(&(addr, port), e)| Target {
                addr,
                port,
                weight: e.weight,
            })
            .collect()
    }

    pub fn status(&self, now: Instant) -> NameStatus {
        NameStatus {
            name: self.name.clone(),
            addresses: self.targets(),
            ttl_left: self.ttl_until.map(|t| (t - now).as_secs()),
            last_result: self.last,
            stale: self
                .last_valid
                .is_some_and(|v| now - v > self.settings.hold_valid),
            counters: self.counters,
        }
    }
}
