// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Addresses, routes and rules deleted behind our back.
//!
//! The kernel announces every deletion (ours too). The shell only finds
//! whose object it was: an instance's VIP, virtual route or rule goes to
//! the node, which decides (put it back while MASTER, see
//! `keepalived_vrrp::node::owned`), and so does a static one (put back
//! unless `no_track`, as keepalived does).

use std::time::Duration;

use keepalived_sys::addr::{AddrInfo, Scope};
use keepalived_sys::deletions::{Deleted, Deletions};
use keepalived_sys::route::PROTO_KEEPALIVED;
use keepalived_vrrp::node::{Event, Owned};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::core::Core;
use super::routing;

impl Core {
    /// Subscribes once; without a subscription deletions go unnoticed
    /// (logged).
    pub(super) fn watch_deletions(&mut self) {
        if self.deletions.is_some() {
            return;
        }
        match Deletions::subscribe() {
            Ok(mut d) => {
                let (tx, rx) = mpsc::unbounded_channel();
                tokio::spawn(async move {
                    let mut losses = LossBurst::default();
                    loop {
                        // None: the burst's held re-read is due, once the
                        // socket was quiet for QUIET or, while notices keep
                        // coming, once its time has passed (a timeout polls
                        // its future first, so a steady stream would
                        // postpone it for ever).
                        let next = match losses.held_until() {
                            None => Some(d.next().await),
                            Some(at) if Instant::now() >= at => None,
                            Some(at) => tokio::time::timeout_at(at, d.next()).await.ok(),
                        };
                        let Some(next) = next else {
                            losses.released();
                            if tx.send(Deleted::Lost).is_err() {
                                break;
                            }
                            continue;
                        };
                        let Some(ev) = next else { break };
                        if matches!(ev, Deleted::Lost) && !losses.pass(Instant::now()) {
                            continue;
                        }
                        if !may_be_ours(&ev) {
                            continue;
                        }
                        if tx.send(ev).is_err() {
                            break;
                        }
                    }
                });
                self.deletions = Some(rx);
            }
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

/// How lost notices (ENOBUFS) reach the core during a storm: the first
/// of a burst at once (and logged), the rest held and passed on as one
/// re-read once the socket has been quiet for [`LossBurst::QUIET`], so an
/// address storm costs a few re-reads and log lines, not one per
/// overrun. A burst ends after [`LossBurst::QUIET`] without a loss.
#[derive(Debug, Default)]
struct LossBurst {
    /// The last loss passed on or held.
    last: Option<Instant>,
    /// A loss held back: a re-read is owed at `last + QUIET`.
    held: bool,
    /// Losses in the current burst, for the closing log line.
    count: u64,
}

impl LossBurst {
    const QUIET: Duration = Duration::from_millis(200);

    /// A loss at `now`: true to pass it on now.
    fn pass(&mut self, now: Instant) -> bool {
        let in_burst = self
            .last
            .is_some_and(|t| now.duration_since(t) < Self::QUIET);
        self.last = Some(now);
        if in_burst {
            self.held = true;
            self.count += 1;
            return false;
        }
        self.count = 1;
        tracing::warn!(
            "rtnetlink notifications lost (ENOBUFS: an address storm?); re-reading the addresses"
        );
        true
    }

    /// When the held re-read is due, if one is.
    fn held_until(&self) -> Option<Instant> {
        self.last.filter(|_| self.held).map(|t| t + Self::QUIET)
    }

    /// The held re-read was passed on: the burst is over.
    fn released(&mut self) {
        self.held = false;
        tracing::info!(
            "rtnetlink notifications were lost {} time(s) in that burst; addresses re-read",
            self.count
        );
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

    #[test]
    fn a_loss_burst_is_one_reread_now_and_one_when_quiet() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut b = LossBurst::default();
        assert_eq!(b.held_until(), None);
        assert!(b.pass(t0), "the first loss goes through at once");
        assert_eq!(b.held_until(), None, "nothing owed yet");
        assert!(!b.pass(ms(50)));
        assert!(
            !b.pass(ms(150)),
            "each loss within QUIET of the last is held"
        );
        assert_eq!(b.held_until(), Some(ms(150) + LossBurst::QUIET));
        b.released();
        assert_eq!(b.held_until(), None);
        assert!(
            b.pass(ms(150) + LossBurst::QUIET),
            "a new burst after a quiet spell"
        );
    }
}
