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

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::time::Duration;

use keepalived_config::Config;
use keepalived_config::model::announce::Announce;
use keepalived_sys::addr::AddrSpec;
use keepalived_sys::netlink::Netlink;
use keepalived_sys::route::{RouteDelOutcome, RouteSpec};
use keepalived_sys::sysctl;
use keepalived_vrrp::node::FaultCause;

use super::core::Core;

/// The running generation's announces, by name.
#[derive(Debug, Default)]
pub struct Announces {
    confs: BTreeMap<String, Announce>,
}

impl Announces {
    pub fn get(&self, name: &str) -> Option<&Announce> {
        self.confs.get(name)
    }
}

/// The route of one announced address.
pub fn route_of(a: &Announce, addr: IpAddr, oif: u32) -> RouteSpec {
    let mut r = RouteSpec::new(addr, host_len(addr));
    r.table = a.table;
    r.protocol = a.protocol;
    r.metric = Some(a.metric);
    r.oif = Some(oif);
    // No gateway: the destination is on the link itself.
    r.scope = 253;
    r
}

/// RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST.
const TABLE_LOCAL: u32 = 255;
const RTN_LOCAL: u8 = 2;
const SCOPE_HOST: u8 = 254;

fn host_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
}

/// Whether two confs put the same things in the kernel.
fn same_kernel_state(a: &Announce, b: &Announce) -> bool {
    a.addresses == b.addresses
        && a.dev == b.dev
        && a.local_route == b.local_route
        && a.table == b.table
        && a.protocol == b.protocol
        && a.metric == b.metric
}

impl Core {
    /// Takes a (re)loaded configuration's announces. Call after the
    /// scripts, files and processes are configured and before the node's
    /// refresh, which decides what gets announced.
    pub(super) async fn apply_announces(&mut self, config: &Config, first: bool) {
        if first {
            self.remove_leftovers(config).await;
        }
        if config
            .announces
            .iter()
            .any(|a| a.addresses.iter().any(IpAddr::is_ipv4))
        {
            raise_arp_sysctls();
        }
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
            .filter(|(name, old)| new.get(*name).is_some_and(|n| !same_kernel_state(old, n)))
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
        let old = std::mem::replace(&mut self.announces.confs, new);
        for (name, gone) in &old {
            if !self.announces.confs.contains_key(name) || reshaped.contains(name) {
                del_addresses(&self.nl, gone).await;
            }
        }
        for a in self.announces.confs.values() {
            add_addresses(&self.nl, a).await;
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
        set_routes(&self.nl, &a, up).await;
        if up {
            tracing::info!(
                "VRRP_Announce({name}) announcing {} in table {}",
                list(&a.addresses),
                a.table
            );
        } else if causes.is_empty() {
            tracing::info!("VRRP_Announce({name}) withdrawn");
        } else {
            let why: Vec<String> = causes.iter().map(describe).collect();
            tracing::info!("VRRP_Announce({name}) withdrawn: {}", why.join(", "));
        }
    }

    /// Stop: withdraw every route, wait the drain so the routers move
    /// flows away while this host still answers, then remove addresses.
    pub(super) async fn stop_announces(&mut self) {
        let (effects, drain) = self.node.stop_announces();
        let withdrew = !effects.is_empty();
        self.execute(effects, true).await;
        if withdrew && drain > Duration::ZERO {
            tracing::info!("VRRP_Announce: draining for {drain:?} before removing addresses");
            tokio::time::sleep(drain).await;
        }
        let confs = std::mem::take(&mut self.announces.confs);
        for a in confs.values() {
            del_addresses(&self.nl, a).await;
        }
    }

    /// Every route of an announce's table and protocol: a run killed
    /// before its stop left them, and nothing is announced before its
    /// health is known.
    async fn remove_leftovers(&mut self, config: &Config) {
        let mut seen = BTreeSet::new();
        for a in &config.announces {
            for ipv6 in [false, true] {
                if !seen.insert((a.table, a.protocol, ipv6)) {
                    continue;
                }
                let found = match self.nl.list_routes(ipv6, a.table).await {
                    Ok(f) => f,
                    Err(e) => {
                        tracing::warn!("VRRP_Announce: cannot list table {}: {e}", a.table);
                        continue;
                    }
                };
                let (ours, foreign): (Vec<_>, Vec<_>) =
                    found.into_iter().partition(|r| r.protocol == a.protocol);
                if let Some(f) = foreign.first() {
                    // The routing daemon exports the whole table (FRR)
                    // or may be told to: someone else's routes there
                    // would be announced with ours.
                    tracing::warn!(
                        "VRRP_Announce: table {} also holds {} route(s) of other protocols (e.g. {}/{} proto {}); a routing daemon exporting the table may announce them too",
                        a.table,
                        foreign.len(),
                        f.dst,
                        f.dst_len,
                        f.protocol
                    );
                }
                for r in ours {
                    let mut spec = RouteSpec::new(r.dst, r.dst_len);
                    spec.table = r.table;
                    spec.protocol = r.protocol;
                    spec.tos = r.tos;
                    spec.metric = r.metric;
                    match self.nl.del_route(&spec).await {
                        Ok(_) => tracing::info!(
                            "VRRP_Announce: removed leftover route {}/{} from table {}",
                            r.dst,
                            r.dst_len,
                            r.table
                        ),
                        Err(e) => tracing::warn!(
                            "VRRP_Announce: cannot remove leftover route {}/{}: {e}",
                            r.dst,
                            r.dst_len
                        ),
                    }
                }
            }
        }
    }
}

/// The supervisor's sweep after a VRRP child died without stopping:
/// every announced route of `config` goes (by table, protocol, address
/// and metric, whatever the link). Returns how many were there.
pub async fn withdraw_dead(nl: &Netlink, config: &Config) -> usize {
    let mut removed = 0;
    for a in &config.announces {
        for &addr in &a.addresses {
            let mut spec = route_of(a, addr, 0);
            spec.oif = None;
            match nl.del_route(&spec).await {
                Ok(RouteDelOutcome::Removed) => {
                    removed += 1;
                    tracing::info!(
                        "VRRP_Announce({}) withdrew {addr} of the dead VRRP child",
                        a.name
                    );
                }
                Ok(RouteDelOutcome::NotPresent) => {}
                Err(e) => tracing::warn!("VRRP_Announce({}) cannot withdraw {addr}: {e}", a.name),
            }
        }
    }
    removed
}

async fn set_routes(nl: &Netlink, a: &Announce, up: bool) {
    let oif = match nl.interface_by_name(&a.dev).await {
        Ok(i) => i.index,
        Err(e) => {
            tracing::error!("VRRP_Announce({}) no link {}: {e}", a.name, a.dev);
            return;
        }
    };
    for &addr in &a.addresses {
        let spec = route_of(a, addr, oif);
        let res = if up {
            nl.add_route(&spec).await.map(|_| ())
        } else {
            nl.del_route(&spec).await.map(|_| ())
        };
        if let Err(e) = res {
            let verb = if up { "announce" } else { "withdraw" };
            tracing::error!("VRRP_Announce({}) cannot {verb} {addr}: {e}", a.name);
        }
    }
}

/// `local ADDR dev DEV table local proto P`: the host owns the address
/// without it being on any link.
fn local_route_of(a: &Announce, addr: IpAddr, oif: u32) -> RouteSpec {
    let mut r = RouteSpec::new(addr, host_len(addr));
    r.table = TABLE_LOCAL;
    r.protocol = a.protocol;
    r.oif = Some(oif);
    r.kind = RTN_LOCAL;
    r.scope = SCOPE_HOST;
    r
}

async fn add_addresses(nl: &Netlink, a: &Announce) {
    let Ok(link) = nl.interface_by_name(&a.dev).await else {
        tracing::error!("VRRP_Announce({}) no link {}", a.name, a.dev);
        return;
    };
    for &addr in &a.addresses {
        let res = if a.local_route {
            nl.add_route(&local_route_of(a, addr, link.index))
                .await
                .map(|_| ())
        } else {
            nl.add_address(&AddrSpec::new(link.index, addr, host_len(addr)))
                .await
                .map(|_| ())
        };
        if let Err(e) = res {
            tracing::error!(
                "VRRP_Announce({}) cannot add {addr} to {}: {e}",
                a.name,
                a.dev
            );
        }
    }
}

async fn del_addresses(nl: &Netlink, a: &Announce) {
    let Ok(link) = nl.interface_by_name(&a.dev).await else {
        return;
    };
    for &addr in &a.addresses {
        let res = if a.local_route {
            nl.del_route(&local_route_of(a, addr, link.index))
                .await
                .map(|_| ())
        } else {
            nl.del_address(&AddrSpec::new(link.index, addr, host_len(addr)))
                .await
                .map(|_| ())
        };
        if let Err(e) = res {
            tracing::warn!("VRRP_Announce({}) cannot remove {addr}: {e}", a.name);
        }
    }
}

/// arp_ignore 1: answer only for addresses of the receiving link;
/// arp_announce 2: never use a foreign link's address as ARP source.
/// Raised, never lowered (a stricter value someone set stays).
fn raise_arp_sysctls() {
    for (key, want) in [
        ("net/ipv4/conf/all/arp_ignore", 1),
        ("net/ipv4/conf/all/arp_announce", 2),
    ] {
        match sysctl::read(key) {
            Ok(v) if v >= want => {}
            _ => {
                if let Err(e) = sysctl::write(key, want) {
                    tracing::warn!("VRRP_Announce: cannot set {key}={want}: {e}");
                }
            }
        }
    }
}

fn list(addrs: &[IpAddr]) -> String {
    addrs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn describe(c: &FaultCause) -> String {
    match c {
        FaultCause::TrackedInterface(n) => format!("interface {n} down"),
        FaultCause::Script(n) => format!("script {n} failed"),
        FaultCause::ScriptPending(n) => format!("script {n} has no result yet"),
        FaultCause::File(n) => format!("track file {n}"),
        FaultCause::Process(n) => format!("process {n} out of quorum"),
        other => format!("{other:?}"),
    }
}
