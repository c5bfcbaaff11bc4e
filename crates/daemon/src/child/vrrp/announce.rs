// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The I/O side of `vrrp_announce` (keepalived-rs extension): the
//! addresses on their link, the host routes a routing daemon exports,
//! the ARP sysctls. When to announce is the node's decision
//! (`keepalived_vrrp::node::announce`); this only carries it out.
//!
//! Kernel state we own, and when it changes:
//! * each address as a host address (/32, /128) on the announce's `dev`
//!   (or, with `local_route`, as a `local` route in the local table),
//!   from the first apply until the stop (after the drain) or until a
//!   reload removes the announce; it is not announced by itself, so it
//!   may stay while the route is withdrawn;
//! * each route `ADDR/32|128 dev DEV table T proto P metric M`, while
//!   the node says announced. Our protocol number is how a leftover of a
//!   killed run is found (at the first apply, every route of that table
//!   and protocol goes) and what makes a delete touch nothing else; it is
//!   never 18 (validation refuses it), so keepalived's and our VRRP
//!   side's routes are never met;
//! * `net.ipv4.conf.all.arp_ignore` raised to 1 and `arp_announce` to 2
//!   when an IPv4 address is announced: the address on `lo` must not be
//!   answered for on the other links, or the LAN would send the routed
//!   VIP's traffic to whichever director answered first. They are left
//!   so on stop (putting them back while another service relies on them
//!   would be worse than leaving a stricter setting).

use std::collections::BTreeMap;
use std::time::Duration;

use keepalived_config::Config;
use keepalived_config::model::announce::Announce;
use keepalived_sys::netlink::Netlink;
use keepalived_vrrp::node::FaultCause;

use super::core::Core;
use crate::child::announce_routes as kernel;

const LABEL: &str = "VRRP_Announce";

/// The supervisor's sweep after a VRRP child died without stopping.
pub async fn withdraw_dead(nl: &Netlink, config: &Config) -> usize {
    kernel::withdraw_dead(nl, LABEL, "VRRP", config.announces.iter()).await
}

/// The running generation's announces, by name.
#[derive(Debug, Default)]
pub struct Announces {
    confs: BTreeMap<String, Announce>,
    /// The running generation's `child_wait_time`, which bounds the
    /// stop's drain.
    child_wait_time: u32,
}

impl Announces {
    pub fn get(&self, name: &str) -> Option<&Announce> {
        self.confs.get(name)
    }
}

impl Core {
    /// Takes a (re)loaded configuration's announces. Call after the
    /// scripts, files and processes are configured and before the node's
    /// refresh, which decides what gets announced.
    pub(super) async fn apply_announces(&mut self, config: &Config, first: bool) {
        if first {
            kernel::remove_leftovers(&self.nl, LABEL, config.announces.iter()).await;
        }
        kernel::raise_arp_sysctls(LABEL, config.announces.iter());
        let new: BTreeMap<String, Announce> = config
            .announces
            .iter()
            .map(|a| (a.name.clone(), a.clone()))
            .collect();
        // A kept announce whose kernel state changed shape leaves the
        // node with the removed ones (so it is withdrawn through the old
        // conf, still held here) and comes back as new, judged afresh.
        let reshaped: Vec<String> = self
            .announces
            .confs
            .iter()
            .filter(|(name, old)| {
                new.get(*name)
                    .is_some_and(|n| !kernel::same_kernel_state(old, n))
            })
            .map(|(name, _)| name.clone())
            .collect();
        let all = keepalived_vrrp::node::config::announces(config);
        let kept: Vec<_> = all
            .iter()
            .filter(|s| !reshaped.contains(&s.name))
            .cloned()
            .collect();
        let effects = self.node.configure_announces(kept);
        self.execute(effects, true).await;
        self.announces.child_wait_time = config.root.child_wait_time;
        let old = std::mem::replace(&mut self.announces.confs, new);
        for (name, gone) in &old {
            if !self.announces.confs.contains_key(name) || reshaped.contains(name) {
                kernel::del_addresses(&self.nl, LABEL, gone).await;
            }
        }
        // A kept announce of the same shape has its addresses already.
        for (name, a) in &self.announces.confs {
            if !old.contains_key(name) || reshaped.contains(name) {
                kernel::add_addresses(&self.nl, LABEL, a).await;
            }
        }
        // Only adds the reshaped ones back: nothing to withdraw now.
        let effects = self.node.configure_announces(all);
        self.execute(effects, true).await;
    }

    /// Carries out the node's decision for one announce.
    pub(super) async fn set_announce(&mut self, name: &str, up: bool, causes: &[FaultCause]) {
        // A removed announce is still in the old generation's confs
        // while its withdrawal runs.
        let Some(a) = self.announces.get(name).cloned() else {
            return;
        };
        kernel::set_routes(&self.nl, LABEL, &a, up).await;
        if up {
            tracing::info!(
                "VRRP_Announce({name}) announcing {} in table {}",
                kernel::list_addresses(&a),
                a.table
            );
        } else if causes.is_empty() {
            tracing::info!("VRRP_Announce({name}) withdrawn");
        } else {
            let why: Vec<String> = causes.iter().map(super::status::reason).collect();
            tracing::info!("VRRP_Announce({name}) withdrawn: {}", why.join(", "));
        }
    }

    /// Stop: withdraw every route, wait the drain (cut to
    /// `child_wait_time` - 1 s) so the routers move flows away while this
    /// host still answers, then remove addresses.
    pub(super) async fn stop_announces(&mut self) {
        let (effects, drain) = self.node.stop_announces();
        let drain = kernel::cut_drain(drain, self.announces.child_wait_time);
        let withdrew = !effects.is_empty();
        self.execute(effects, true).await;
        if withdrew && drain > Duration::ZERO {
            tracing::info!("VRRP_Announce: draining for {drain:?} before removing addresses");
            tokio::time::sleep(drain).await;
        }
        let confs = std::mem::take(&mut self.announces.confs);
        for a in confs.values() {
            kernel::del_addresses(&self.nl, LABEL, a).await;
        }
    }
}
