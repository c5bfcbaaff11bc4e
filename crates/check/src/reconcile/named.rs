// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Real servers named by DNS whose addresses changed (keepalived-rs
//! extension): a path of its own beside the reload.
//!
//! A reload restarts every checker and drops the runs in flight, which is
//! keepalived's rule for a new configuration but would make every DNS
//! change cost every real server a check period. Here only the real
//! servers that came or went are touched: a new address starts as at a
//! cold start (down until checked when it has a checker and `alpha`), a
//! vanished one is announced down and forgotten, an SRV target whose
//! weight changed keeps its checkers with the new weight. Everything else
//! (other addresses of the same name, other names, written real servers)
//! keeps its machine, its timer and its run in flight: the generation
//! stays, so those results still land. The IPVS ops are those of the
//! virtual servers concerned, planned against the belief.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use keepalived_config::model::Config;

use super::lifecycle::cold;
use super::{Jitter, Pool, Share};
use crate::book::{Book, Build, CheckerRef, Identify, RsEntry, RsKey};
use crate::effect::Effect;
use crate::health::real_weight;
use crate::ids::VirtualServerId;
use crate::machine::Start;
use crate::suspend;
use crate::time::Instant;

impl Pool {
    /// `config` is the running configuration with the names' current
    /// addresses written in. Returns None, touching nothing, when its
    /// virtual servers are not the running ones (then it is a reload's
    /// business, not this path's).
    pub fn addresses_changed(
        &mut self,
        config: Arc<Config>,
        identify: &mut dyn Identify,
        now: Instant,
        jitter: Jitter<'_>,
    ) -> Option<Vec<Effect>> {
        if VirtualServerId::all(&config) != self.ids {
            return None;
        }
        let mut out = Vec::new();
        let mut build = Build::new(&config, Start::Cold, now, jitter, identify);
        let mut book = Book::build(&config, &mut build);
        // Refusals were logged when the configuration was applied; a new
        // address of the same template is refused for the same reason.
        out.extend(build.refused.into_iter().map(Effect::debug));

        let mut touched: BTreeSet<usize> = BTreeSet::new();
        // Gone first, while the old book still holds them.
        for v in 0..self.book.vss.len() {
            let wanted: BTreeSet<RsKey> = book
                .vss
                .get(v)
                .map(|vs| vs.rss.iter().map(|r| r.key).collect())
                .unwrap_or_default();
            let gone: Vec<usize> = (0..self.book.vss[v].rss.len())
                .filter(|&r| !wanted.contains(&self.book.vss[v].rss[r].key))
                .collect();
            for r in gone {
                out.push(Effect::info(format!(
                    "service {} no longer exist",
                    self.book.vss[v].rss[r].name
                )));
                self.clear_rs(v, r, &mut out);
                touched.insert(v);
            }
        }

        let mut old: Vec<Vec<Option<RsEntry>>> = std::mem::take(&mut self.book.vss)
            .into_iter()
            .map(|vs| vs.rss.into_iter().map(Some).collect())
            .collect();
        let mut moved: HashMap<CheckerRef, CheckerRef> = HashMap::new();
        let mut fresh: Vec<(usize, usize)> = Vec::new();
        let mut reweighted: Vec<(usize, usize, i64)> = Vec::new();
        for (v, vs) in book.vss.iter_mut().enumerate() {
            let olds = old.get_mut(v);
            let at: HashMap<RsKey, usize> = olds
                .as_ref()
                .map(|rss| {
                    rss.iter()
                        .enumerate()
                        .filter_map(|(i, r)| r.as_ref().map(|r| (r.key, i)))
                        .collect()
                })
                .unwrap_or_default();
            let mut olds = olds;
            for (nr, rs) in vs.rss.iter_mut().enumerate() {
                let kept = at
                    .get(&rs.key)
                    .and_then(|&or| Some((or, olds.as_mut()?.get_mut(or)?.take()?)));
                let Some((or, mut kept)) = kept else {
                    cold(rs);
                    fresh.push((v, nr));
                    touched.insert(v);
                    continue;
                };
                for ck in 0..kept.checkers.len() {
                    let from = CheckerRef {
                        vs: v as u32,
                        rs: or as u32,
                        ck: ck as u32,
                    };
                    let to = CheckerRef {
                        rs: nr as u32,
                        ..from
                    };
                    moved.insert(from, to);
                }
                if kept.base_weight != rs.base_weight {
                    let before = kept.effective_weight();
                    kept.base_weight = rs.base_weight;
                    for c in &mut kept.checkers {
                        c.machine.set_base_weight(rs.base_weight);
                    }
                    reweighted.push((v, nr, before));
                    touched.insert(v);
                }
                *rs = kept;
            }
        }

        self.book = book;
        self.book.reindex();
        self.config = config;
        self.index_services();
        self.follow_moves(&moved);
        for &(v, r) in &fresh {
            self.announce_fresh(v, r, &mut out);
        }
        for (v, r, before) in reweighted {
            let rs = &self.book.vss[v].rss[r];
            let (was, is) = (real_weight(before), real_weight(rs.effective_weight()));
            if was != is {
                out.push(Effect::info(format!(
                    "Changing weight from {was} to {is} for {}active service {} of VS {}",
                    if rs.alive { "" } else { "in" },
                    rs.name,
                    self.book.vss[v].name
                )));
            }
        }
        for v in touched {
            self.sync_vs(v, &mut out);
            self.update_quorum(v, &mut out);
        }
        Some(out)
    }

    /// Checkers that kept their state moved in the book: their timers and
    /// the runs they wait on follow them; those of removed real servers
    /// are dropped (a late result then feeds nobody).
    fn follow_moves(&mut self, moved: &HashMap<CheckerRef, CheckerRef>) {
        let shared = Share::of(&self.book).shared;
        self.share.recent.retain(|k, _| shared.contains(&k.0));
        self.share.shared = shared;
        for (_, waiters) in self.share.inflight.values_mut() {
            *waiters = waiters
                .iter()
                .filter_map(|w| moved.get(w).copied())
                .collect();
        }
        // Re-registering each deadline as it is restarts nothing.
        self.rearm_all();
    }

    /// A new address's checkers, enabled or suspended as their virtual
    /// server's `ha_suspend` says, announced as keepalived announces a
    /// checker it registers.
    fn announce_fresh(&mut self, v: usize, r: usize, out: &mut Vec<Effect>) {
        let watched = self.watched.get(v).and_then(Option::as_deref);
        let active = suspend::active(watched, &self.local);
        let vs = &mut self.book.vss[v];
        let vs_name = vs.name.clone();
        let rs = &mut vs.rss[r];
        for c in &mut rs.checkers {
            c.machine.set_enabled(active);
            if c.file.is_some() {
                continue;
            }
            out.push(Effect::info(format!(
                "{} healthchecker for service {} for VS {vs_name}",
                if active { "Activating" } else { "Deactivating" },
                rs.name,
            )));
        }
    }
}
