// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The I/O side of a virtual server's `announce` (keepalived-rs
//! extension): the checker child owns these routes, so a director run
//! with `-C` only can announce its virtual servers over BGP. When to
//! announce is `keepalived_check::announce`'s decision (quorum, once
//! every checker has answered); the kernel work is shared with the VRRP
//! side (`crate::child::announce_routes`).
//!
//! Kernel state owned here: each virtual server's address on its `dev`
//! (or as a local route) from the first apply until the stop, and the
//! host route `ADDR dev DEV table T proto P metric M` while announced.
//! Start sweeps every route of the configured (table, protocol) pairs (a
//! killed run's leftovers); a reload keeps the route of a virtual server
//! that stays healthy and keeps its shape.

use std::collections::BTreeMap;
use std::time::Duration;

use keepalived_check::announce::{AnnounceBook, Change, Reason};
use keepalived_check::ids::VirtualServerId;
use keepalived_check::reconcile::Pool;
use keepalived_config::Config;
use keepalived_config::model::announce::Announce;
use keepalived_sys::netlink::Netlink;

use crate::child::announce_routes as kernel;

const LABEL: &str = "VS_Announce";

#[derive(Default)]
pub struct VsAnnounces {
    book: AnnounceBook,
    /// The running configuration's announces, by virtual server.
    confs: BTreeMap<VirtualServerId, Announce>,
    nl: Option<Netlink>,
    /// The pool's announce epoch at the last sync: a sync after a probe
    /// that moved nothing announces depend on walks nothing.
    synced: Option<(u64, u64, u64)>,
}

/// The supervisor's sweep after a checker child died without stopping
/// (SIGKILLed, crashed): its routes would keep drawing traffic to a
/// director nobody checks any more. The addresses stay (not announced by
/// themselves); the respawned child announces again once its checks
/// pass. Returns how many routes were withdrawn.
pub fn withdraw_dead(announces: &[Announce]) -> usize {
    if announces.is_empty() {
        return 0;
    }
    let rt = match crate::child::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot withdraw the dead checker child's routes: {e}");
            return 0;
        }
    };
    rt.block_on(async {
        match Netlink::new() {
            Ok(nl) => kernel::withdraw_dead(&nl, LABEL, "checker", announces.iter()).await,
            Err(e) => {
                tracing::error!("cannot withdraw the dead checker child's routes: {e}");
                0
            }
        }
    })
}

impl VsAnnounces {
    fn netlink(&mut self) -> Option<&Netlink> {
        if self.nl.is_none() {
            match Netlink::new() {
                Ok(nl) => self.nl = Some(nl),
                Err(e) => tracing::error!("{LABEL}: no netlink socket: {e}"),
            }
        }
        self.nl.as_ref()
    }

    /// Takes a (re)loaded configuration, after the pool took it: removed
    /// or reshaped announces leave the kernel, new ones get their
    /// addresses. What gets announced is decided by [`Self::sync`].
    pub async fn apply(&mut self, config: &Config, pool: &Pool, first: bool) {
        self.synced = None;
        let new: BTreeMap<VirtualServerId, Announce> = pool
            .announce_inputs()
            .into_iter()
            .filter_map(|(v, i)| {
                let a = config.virtual_servers.get(v)?.announce.clone()?;
                Some((i.id, a))
            })
            .collect();
        if new.is_empty() && self.confs.is_empty() {
            return;
        }
        let Some(nl) = self.netlink().cloned() else {
            return;
        };
        if first {
            kernel::remove_leftovers(&nl, LABEL, new.values()).await;
        }
        kernel::raise_arp_sysctls(LABEL, new.values());
        let old = std::mem::take(&mut self.confs);
        for (id, gone) in &old {
            let kept = new.get(id);
            if kept.is_some_and(|n| kernel::same_kernel_state(gone, n)) {
                continue;
            }
            if self.book.is_announced(id) {
                kernel::set_routes(&nl, LABEL, gone, false).await;
            }
            kernel::del_addresses(&nl, LABEL, gone).await;
            if let Some(n) = kept {
                // Reshaped: the same decision, carried out in the new shape.
                kernel::add_addresses(&nl, LABEL, n).await;
                if self.book.is_announced(id) {
                    kernel::set_routes(&nl, LABEL, n, true).await;
                }
            }
        }
        for (id, a) in &new {
            if !old.contains_key(id) {
                kernel::add_addresses(&nl, LABEL, a).await;
            }
        }
        self.confs = new;
    }

    /// Judges every announce against the pool's current state and
    /// carries out the changes. Cheap when nothing has an announce.
    pub async fn sync(&mut self, pool: &Pool) {
        if self.confs.is_empty() {
            return;
        }
        let epoch = pool.announce_epoch();
        if self.synced == Some(epoch) {
            return;
        }
        self.synced = Some(epoch);
        let inputs: Vec<_> = pool.announce_inputs().into_iter().map(|(_, i)| i).collect();
        let changes = self.book.update(&inputs);
        for c in changes {
            self.carry_out(&c).await;
        }
    }

    async fn carry_out(&mut self, c: &Change) {
        // A removed virtual server was withdrawn by `apply`.
        let Some(a) = self.confs.get(&c.id).cloned() else {
            return;
        };
        let Some(nl) = self.netlink().cloned() else {
            return;
        };
        kernel::set_routes(&nl, LABEL, &a, c.up).await;
        if c.up {
            tracing::info!(
                "{LABEL}({}) announcing {} in table {}",
                a.name,
                kernel::list_addresses(&a),
                a.table
            );
        } else {
            tracing::info!("{LABEL}({}) withdrawn: {}", a.name, c.reason.describe());
        }
    }

    /// Stop, first step: every route withdrawn for good. Returns how long
    /// to wait before the IPVS entries go: the longest `drain_delay` of
    /// what was announced, at most `child_wait_time` less a second so the
    /// stop still ends before the supervisor's SIGKILL.
    pub async fn withdraw_for_stop(&mut self, child_wait_time: u32) -> Duration {
        let (ids, drain) = self.book.stop();
        for id in ids {
            self.carry_out(&Change {
                id,
                up: false,
                reason: Reason::Stopped,
            })
            .await;
        }
        kernel::cut_drain(drain, child_wait_time)
    }

    /// Each announce, its routes and why it is (not) announced, in the
    /// shape `keepalived-rs status` renders for `vrrp_announce`.
    pub fn status(&self, pool: &Pool) -> Vec<serde_json::Value> {
        self.views(pool, |_| true)
    }

    /// The announces whose state word `keep` accepts, as the status
    /// shows them (only those are rendered).
    fn views(&self, pool: &Pool, keep: impl Fn(&str) -> bool) -> Vec<serde_json::Value> {
        pool.announce_inputs()
            .into_iter()
            .filter_map(|(_, i)| {
                let a = self.confs.get(&i.id)?;
                let reason = self.book.reason(&i);
                let state = match reason {
                    Reason::Stopped => "stopped",
                    _ if self.book.is_announced(&i.id) => "announced",
                    _ => "withdrawn",
                };
                if !keep(state) {
                    return None;
                }
                let reasons: Vec<&str> = match reason {
                    Reason::Announced | Reason::Stopped => Vec::new(),
                    other => vec![other.describe()],
                };
                let routes = kernel::describe_routes(a);
                Some(serde_json::json!({
                    "name": a.name,
                    "state": state,
                    "routes": routes,
                    "reasons": reasons,
                }))
            })
            .collect()
    }

    /// The summary's part: the announces not announced (withdrawn or
    /// stopped), at most `cap`, and how many more there are. Walks only
    /// the virtual servers that announce.
    pub fn summary(&self, pool: &Pool, cap: usize) -> (Vec<serde_json::Value>, usize) {
        if self.confs.is_empty() {
            return (Vec::new(), 0);
        }
        let out = self.views(pool, |state| state != "announced");
        let more = out.len().saturating_sub(cap);
        (out.into_iter().take(cap).collect(), more)
    }

    /// Stop, last step: the addresses go.
    pub async fn remove_addresses(&mut self) {
        let confs = std::mem::take(&mut self.confs);
        if confs.is_empty() {
            return;
        }
        let Some(nl) = self.netlink().cloned() else {
            return;
        };
        for a in confs.values() {
            kernel::del_addresses(&nl, LABEL, a).await;
        }
    }
}
