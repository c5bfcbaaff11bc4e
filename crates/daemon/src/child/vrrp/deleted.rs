// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Addresses, routes and rules deleted behind our back.
//!
//! The kernel announces every deletion (ours too). The shell only finds
//! whose object it was: an instance's VIP, virtual route or rule goes to
//! the node, which decides (put it back while MASTER, see
//! `keepalived_vrrp::node::owned`), and so does a static one (put back
//! unless `no_track`, as keepalived does).

use keepalived_sys::addr::{AddrInfo, Scope};
use keepalived_sys::deletions::{Deleted, Deletions};
use keepalived_sys::route::PROTO_KEEPALIVED;
use keepalived_vrrp::node::{Event, Owned};

use super::core::Core;
use super::routing;
use crate::child::notices;

impl Core {
    /// Subscribes once; without a subscription deletions go unnoticed
    /// (logged).
    pub(super) fn watch_deletions(&mut self) {
        if self.deletions.is_some() {
            return;
        }
        match Deletions::subscribe() {
            Ok(d) => self.deletions = Some(notices::forward(d, "addresses", may_be_ours)),
            Err(e) => tracing::warn!(
                "cannot subscribe to address/route/rule deletions: a deleted VIP is not put back: {e}"
            ),
        }
    }

    pub(super) async fn on_deleted(&mut self, d: Option<Deleted>) {
        let Some(d) = d else {
            tracing::warn!("deletion notifications ended; deleted VIPs are no longer put back");
            self.deletions = None;
            return;
        };
        let mut found = Vec::new();
        let statik = match &d {
            Deleted::Lost => {
                self.resync_vips().await;
                return;
            }
            Deleted::Address(a) => {
                for (idx, i) in self.insts.iter().enumerate() {
                    if let Some(tracked) = vip_of(i, a) {
                        found.push((idx, Owned::Address(a.addr), tracked));
                    }
                }
                self.statics.address_gone(&self.nl, a).await
            }
            Deleted::Route(r) => {
                for (idx, i) in self.insts.iter().enumerate() {
                    if let Some(k) = i.routing.route_gone(r) {
                        let tracked = i.routing.routes.get(k).is_some_and(|p| p.tracked);
                        found.push((idx, Owned::Route(k), tracked));
                    }
                }
                self.statics.route_gone(r)
            }
            Deleted::Rule(r) => {
                for (idx, i) in self.insts.iter().enumerate() {
                    if let Some(k) = i.routing.rule_gone(r) {
                        let tracked = i.routing.rules.get(k).is_some_and(|p| p.tracked);
                        found.push((idx, Owned::Rule(k), tracked));
                    }
                }
                self.statics.rule_gone(r)
            }
        };
        if let Some((what, tracked)) = statik {
            let now = self.now();
            self.feed(Event::StaticDeleted { what, tracked }, now).await;
        }
        for (instance, what, tracked) in found {
            let now = self.now();
            self.feed(
                Event::Deleted {
                    instance,
                    what,
                    tracked,
                },
                now,
            )
            .await;
        }
    }

    /// After lost notices: every VIP of every instance that the kernel
    /// no longer has is treated as deleted, so the node puts back a
    /// MASTER's (and ignores the others', as for any deletion).
    async fn resync_vips(&mut self) {
        let present = match self.nl.all_addresses().await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!("cannot re-read the addresses after lost notifications: {e}");
                return;
            }
        };
        let mut gone = Vec::new();
        for i in &self.insts {
            for v in &i.vips {
                let held = present.iter().any(|a| {
                    a.addr == v.address
                        && a.prefix_len == v.prefix_len
                        && (v.dev.is_some() || a.ifindex == i.ifindex)
                });
                if !held {
                    gone.push(AddrInfo {
                        ifindex: i.ifindex,
                        addr: v.address,
                        prefix_len: v.prefix_len,
                        broadcast: None,
                        scope: Scope::Global,
                        label: None,
                        flags: 0,
                    });
                }
            }
        }
        tracing::debug!(
            "address re-read after lost notifications: {} VIP(s) absent",
            gone.len()
        );
        for a in gone {
            Box::pin(self.on_deleted(Some(Deleted::Address(a)))).await;
        }
    }

    /// Puts back what the node said to put back, and says so.
    pub(super) async fn restore(&mut self, idx: usize, what: Owned) {
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        let name = i.conf.name.clone();
        match what {
            Owned::Address(addr) => {
                let Some(v) = i.vips.iter().find(|v| v.address == addr).cloned() else {
                    return;
                };
                let ifindex = i.ifindex;
                tracing::warn!(
                    "({name}) virtual address {}/{} was deleted while MASTER; putting it back",
                    v.address,
                    v.prefix_len
                );
                if let Err(e) = self.add_vip(ifindex, &v).await {
                    tracing::warn!("({name}) cannot put back {}: {e}", v.address);
                }
                // The kernel drops the routes that used the address as
                // their source without a word: install the instance's
                // routes and rules again (those still there are left as
                // they are).
                if let Some(r) = self.insts.get(idx).map(|i| i.routing.clone()) {
                    r.install(&self.nl, &name).await;
                }
            }
            Owned::Route(k) => {
                let Some(r) = i.routing.routes.get(k).cloned() else {
                    return;
                };
                tracing::warn!(
                    "({name}) virtual route {} was deleted while MASTER; putting it back",
                    routing::show(&r.spec)
                );
                routing::add_route(&self.nl, &r, &name).await;
            }
            Owned::Rule(k) => {
                let Some(r) = i.routing.rules.get(k).cloned() else {
                    return;
                };
                tracing::warn!(
                    "({name}) virtual rule {} was deleted while MASTER; putting it back",
                    r.spec.priority
                );
                routing::add_rule(&self.nl, &r.spec, &name).await;
            }
        }
    }

    /// Installs (`add`) or removes an instance's virtual routes and rules.
    pub(super) async fn set_routing(&mut self, idx: usize, add: bool) {
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        if i.routing.is_empty() {
            return;
        }
        let (name, r) = (i.conf.name.clone(), i.routing.clone());
        if add {
            r.install(&self.nl, &name).await;
        } else {
            r.remove(&self.nl, &name).await;
        }
        tracing::info!(
            "({name}) {} {} virtual route(s), {} virtual rule(s)",
            if add { "Installed" } else { "Removed" },
            r.routes.len(),
            r.rules.len()
        );
    }
}

/// Only tracked routes and rules are answered, and those always carry
/// protocol 18: a router with a full BGP table withdraws thousands of
/// other routes a second, which must not reach the core.
fn may_be_ours(d: &Deleted) -> bool {
    match d {
        Deleted::Address(_) | Deleted::Lost => true,
        Deleted::Route(r) => r.protocol == PROTO_KEEPALIVED,
        Deleted::Rule(r) => r.protocol.is_none_or(|p| p == PROTO_KEEPALIVED),
    }
}

/// Whether `a` is one of instance `i`'s VIPs (and tracked: not
/// `no_track`). A VIP with its own `dev` is matched by address only.
fn vip_of(i: &super::instance::Live, a: &AddrInfo) -> Option<bool> {
    let v = i
        .vips
        .iter()
        .find(|v| v.address == a.addr && v.prefix_len == a.prefix_len)?;
    if v.dev.is_none() && a.ifindex != i.ifindex {
        return None;
    }
    let no_track = i
        .conf
        .virtual_ipaddress
        .iter()
        .chain(&i.conf.virtual_ipaddress_excluded)
        .any(|c| c.address == a.addr && c.no_track);
    Some(!no_track)
}

#[cfg(test)]
mod tests {
    use keepalived_sys::route::RouteGone;

    use super::*;

    #[test]
    fn only_protocol_18_routes_reach_the_core() {
        let gone = |protocol| {
            Deleted::Route(RouteGone {
                dst: std::net::IpAddr::from([203, 0, 113, 0]),
                dst_len: 24,
                table: 254,
                protocol,
                tos: 0,
                metric: None,
            })
        };
        assert!(may_be_ours(&gone(18)));
        assert!(!may_be_ours(&gone(186)), "a BGP route");
    }
}
