// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The pool across a reload (checker identity migration, keepalived's
//! ipwrapper.c `clear_diff_services`, `migrate_checkers`) and at shutdown
//! (`clear_services`).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use keepalived_config::model::Config;

use super::{Jitter, Pool, Share};
use crate::book::{Book, Build, Identify, RsEntry, schedule_of};
use crate::effect::Effect;
use crate::expand;
use crate::health::real_weight;
use crate::ids::VirtualServerId;
use crate::machine::{Start, Timing};
use crate::time::Instant;

impl Pool {
    /// A new configuration (keepalived's reload, reference §7): checkers
    /// keep their state when their identity is unchanged, real servers and
    /// virtual servers that went away are announced down, every checker
    /// restarts at 1 s + jitter. In-flight runs are dropped. Returns the
    /// lines and notifications; the child then plans [`Pool::desired`]
    /// against the kernel, which sends only the diff.
    pub fn reload(
        &mut self,
        config: Arc<Config>,
        identify: &mut dyn Identify,
        now: Instant,
        jitter: Jitter<'_>,
    ) -> Vec<Effect> {
        let mut out = Vec::new();
        let mut build = Build::new(&config, Start::Reload, now, jitter, identify);
        let mut book = Book::build(&config, &mut build);
        let jitter = build.jitter;
        out.extend(build.refused.into_iter().map(Effect::warn));

        let old_vs: HashMap<VirtualServerId, usize> = self
            .book
            .vss
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.clone(), i))
            .collect();
        let new_ids: BTreeSet<VirtualServerId> = book.vss.iter().map(|v| v.id.clone()).collect();
        self.batch = true;

        // Virtual servers that went away.
        for v in 0..self.book.vss.len() {
            if new_ids.contains(&self.book.vss[v].id) {
                continue;
            }
            out.push(Effect::info(format!(
                "Removing Virtual Server {}",
                self.book.vss[v].name
            )));
            for r in 0..self.book.vss[v].rss.len() {
                self.clear_rs(v, r, &mut out);
            }
            let id = self.book.vss[v].id.clone();
            if self.quorum.get(&id) == Some(true) {
                self.quorum.set(&id, false);
                self.vs_notifies(v, false, false, &mut out);
            }
        }

        // Kept and new virtual servers.
        let mut bring_up = Vec::new();
        let mut bring_down = Vec::new();
        let mut new_vs = Vec::new();
        let mut kept_vs = Vec::new();
        for (nv, vs) in book.vss.iter_mut().enumerate() {
            let Some(&ov) = old_vs.get(&vs.id) else {
                for rs in &mut vs.rss {
                    cold(rs);
                }
                new_vs.push(nv);
                continue;
            };
            kept_vs.push(nv);
            let new_rs: BTreeSet<_> = vs.rss.iter().map(|r| r.key).collect();
            for r in 0..self.book.vss[ov].rss.len() {
                if !new_rs.contains(&self.book.vss[ov].rss[r].key) {
                    out.push(Effect::info(format!(
                        "service {} no longer exist",
                        self.book.vss[ov].rss[r].name
                    )));
                    self.clear_rs(ov, r, &mut out);
                }
            }
            for (nr, rs) in vs.rss.iter_mut().enumerate() {
                let Some(old) = self.book.vss[ov].rss.iter().find(|o| o.key == rs.key) else {
                    cold(rs);
                    continue;
                };
                migrate_rs(old, rs, &config, nv, now, jitter);
                if rs.failed_checkers() == 0 && !rs.alive {
                    bring_up.push((nv, nr));
                }
                // A track file read anew may hold a fault now
                // (check_file.c `set_track_file_checkers_down` on reload).
                let file_down = rs
                    .checkers
                    .iter()
                    .any(|c| c.file.is_some() && !c.machine.is_up());
                if file_down && rs.alive {
                    bring_down.push((nv, nr));
                }
                let (was, is) = (
                    real_weight(old.effective_weight()),
                    real_weight(rs.effective_weight()),
                );
                if was != is {
                    out.push(Effect::info(format!(
                        "Changing weight from {was} to {is} for {}active service {} of VS {}",
                        if rs.alive { "" } else { "in" },
                        rs.name,
                        vs.name
                    )));
                }
            }
        }

        // The new book in force.
        self.quorum.retain(|id| new_ids.contains(id));
        self.book = book;
        self.ids = VirtualServerId::all(&config);
        self.config = config;
        self.index_services();
        self.generation += 1;
        self.share = Share::of(&self.book);
        for (v, r) in bring_up {
            self.rs_transition(v, r, true, &mut out);
        }
        for (v, r) in bring_down {
            self.rs_transition(v, r, false, &mut out);
        }
        for v in new_vs {
            self.init_quorum(v, &mut out);
        }
        for v in kept_vs {
            self.update_quorum(v, &mut out);
        }
        self.activate_all(&mut out);
        self.batch = false;
        self.retally();
        out
    }

    /// `clear_service_rs` on reload: a real server that went away.
    pub(super) fn clear_rs(&mut self, v: usize, r: usize, out: &mut Vec<Effect>) {
        let vs = &self.book.vss[v];
        let rs = &vs.rss[r];
        if rs.alive || rs.inhibit {
            out.push(Effect::info(format!(
                "Removing {}service {} from VS {}",
                if rs.inhibit && !rs.alive {
                    "(inhibited) "
                } else {
                    ""
                },
                rs.name,
                vs.name
            )));
        }
        if rs.alive {
            self.book.vss[v].rss[r].alive = false;
            self.rs_notifies(v, r, false, out);
        }
    }

    /// keepalived's shutdown lines and, with `omega`, notifications
    /// (`clear_services`; reference §8). `flush`: `lvs_flush_on_stop`
    /// (no per-server lines). The child removes the table itself.
    pub fn stop(&mut self, flush: bool) -> Vec<Effect> {
        let mut out = Vec::new();
        self.batch = true;
        for v in 0..self.book.vss.len() {
            if !flush {
                for r in 0..self.book.vss[v].rss.len() {
                    let vs = &self.book.vss[v];
                    let rs = &vs.rss[r];
                    out.push(Effect::info(format!(
                        "Shutting down {}service {} from VS {}",
                        if rs.inhibit && !rs.alive {
                            "(inhibited) "
                        } else {
                            ""
                        },
                        rs.name,
                        vs.name
                    )));
                    if rs.alive {
                        let omega = vs.omega;
                        self.book.vss[v].rss[r].alive = false;
                        if omega {
                            self.rs_notifies(v, r, true, &mut out);
                        }
                    }
                }
            }
            let id = self.book.vss[v].id.clone();
            self.quorum.set(&id, false);
            self.vs_notifies(v, false, true, &mut out);
        }
        self.timers.clear();
        self.share = Share::default();
        self.retally();
        out
    }
}

/// A real server new to the pool starts as at a cold start.
pub(super) fn cold(rs: &mut RsEntry) {
    for c in &mut rs.checkers {
        c.machine.arm_one_failure();
    }
    rs.alive = rs.failed_checkers() == 0;
}

/// ipwrapper.c `migrate_checkers`: each checker of the kept real server
/// takes over the machine of an old checker with the same identity.
fn migrate_rs(
    old: &RsEntry,
    rs: &mut RsEntry,
    config: &Config,
    v: usize,
    now: Instant,
    jitter: Jitter<'_>,
) {
    let mut taken = vec![false; old.checkers.len()];
    let cfg_rs = config.virtual_servers.get(v).and_then(|vs| {
        vs.real_servers
            .iter()
            .find(|r| r.ip == rs.key.addr && expand::rs_port(r) == rs.key.port)
    });
    for c in &mut rs.checkers {
        // keepalived has no identity for FILE_CHECK: it is read anew.
        if c.file.is_some() {
            continue;
        }
        let Some(i) = old
            .checkers
            .iter()
            .enumerate()
            .position(|(i, o)| !taken[i] && o.identity == c.identity)
        else {
            continue;
        };
        taken[i] = true;
        let timing: Timing = c.machine.timing();
        let schedule = cfg_rs
            .and_then(|r| r.checkers.get(c.config_index as usize))
            .map(schedule_of)
            .unwrap_or(crate::machine::Schedule::Plain);
        let mut m = old.checkers[i].machine.clone();
        m.migrate(timing, schedule, now, jitter(timing.warmup));
        m.set_base_weight(rs.base_weight);
        c.machine = m;
    }
    rs.alive = old.alive;
    let failed = rs
        .checkers
        .iter()
        .filter(|c| c.machine.has_run() && !c.machine.is_up())
        .count();
    let any_run = rs.checkers.iter().any(|c| c.machine.has_run());
    if failed > 0 || (!rs.alive && !any_run) {
        for c in &mut rs.checkers {
            c.machine.arm_one_failure();
        }
    }
}
