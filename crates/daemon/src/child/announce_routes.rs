// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The kernel side of announced routes (keepalived-rs extension), shared
//! by the VRRP child (`vrrp_announce`) and the checker child (a virtual
//! server's `announce`): the addresses on their link, the host routes a
//! routing daemon exports, the ARP sysctls, the sweep of a killed run's
//! leftovers. Which child decides what is its own business; `label`
//! names the owner in the log (`VRRP_Announce`, `VS_Announce`).
//!
//! Ownership: each child sweeps and withdraws only routes of its own
//! (table, protocol) pairs, and validation refuses a pair used by both
//! (the checker's default protocol is 250, the VRRP side's 249), so the
//! two never remove each other's routes; neither ever uses 18, so
//! keepalived's and our VRRP side's virtual routes are never met.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::time::Duration;

use keepalived_config::model::announce::Announce;
use keepalived_sys::addr::AddrSpec;
use keepalived_sys::netlink::Netlink;
use keepalived_sys::route::{AddMode, RouteDelOutcome, RouteSpec};
use keepalived_sys::sysctl;

/// RT_TABLE_LOCAL, RTN_LOCAL, RT_SCOPE_HOST.
const TABLE_LOCAL: u32 = 255;
const RTN_LOCAL: u8 = 2;
const SCOPE_HOST: u8 = 254;

fn host_len(addr: IpAddr) -> u8 {
    if addr.is_ipv4() { 32 } else { 128 }
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
    // As before keepalived's placement words existed here: never put in
    // front of a route someone else has to the same host.
    r.mode = AddMode::Exclusive;
    r
}

/// The routes an announce puts in the kernel, as the status shows them.
pub fn describe_routes(a: &Announce) -> Vec<String> {
    a.addresses
        .iter()
        .map(|&addr| {
            format!(
                "{addr}/{} dev {} table {} proto {} metric {}",
                host_len(addr),
                a.dev,
                a.table,
                a.protocol,
                a.metric
            )
        })
        .collect()
}

/// A stop's drain, cut to `child_wait_time` less a second so the stop
/// still ends (addresses removed) before the supervisor's SIGKILL.
pub fn cut_drain(drain: Duration, child_wait_time: u32) -> Duration {
    drain.min(Duration::from_secs(
        u64::from(child_wait_time).saturating_sub(1),
    ))
}

/// The announced addresses, space-separated, for the log.
pub fn list_addresses(a: &Announce) -> String {
    a.addresses
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether two confs put the same things in the kernel.
pub fn same_kernel_state(a: &Announce, b: &Announce) -> bool {
    a.addresses == b.addresses
        && a.dev == b.dev
        && a.local_route == b.local_route
        && a.table == b.table
        && a.protocol == b.protocol
        && a.metric == b.metric
}

/// Every route of the announces' tables and protocols: a run killed
/// before its stop left them, and nothing is announced before its
/// health is known.
pub async fn remove_leftovers<'a>(
    nl: &Netlink,
    label: &str,
    announces: impl Iterator<Item = &'a Announce>,
) {
    let mut seen = BTreeSet::new();
    for a in announces {
        for ipv6 in [false, true] {
            if !seen.insert((a.table, a.protocol, ipv6)) {
                continue;
            }
            let found = match nl.list_routes(ipv6, a.table).await {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!("{label}: cannot list table {}: {e}", a.table);
                    continue;
                }
            };
            let (ours, foreign): (Vec<_>, Vec<_>) =
                found.into_iter().partition(|r| r.protocol == a.protocol);
            if let Some(f) = foreign.first() {
                // The routing daemon exports the whole table (FRR) or may
                // be told to: someone else's routes there would be
                // announced with ours.
                tracing::warn!(
                    "{label}: table {} also holds {} route(s) of other protocols (e.g. {}/{} proto {}); a routing daemon exporting the table may announce them too",
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
                match nl.del_route(&spec).await {
                    Ok(_) => tracing::info!(
                        "{label}: removed leftover route {}/{} from table {}",
                        r.dst,
                        r.dst_len,
                        r.table
                    ),
                    Err(e) => tracing::warn!(
                        "{label}: cannot remove leftover route {}/{}: {e}",
                        r.dst,
                        r.dst_len
                    ),
                }
            }
        }
    }
}

/// The supervisor's sweep after a child died without stopping: every
/// announced route of `announces` goes (by table, protocol, address and
/// metric, whatever the link). Returns how many were there.
pub async fn withdraw_dead<'a>(
    nl: &Netlink,
    label: &str,
    child: &str,
    announces: impl Iterator<Item = &'a Announce>,
) -> usize {
    let mut removed = 0;
    for a in announces {
        for &addr in &a.addresses {
            let mut spec = route_of(a, addr, 0);
            spec.oif = None;
            match nl.del_route(&spec).await {
                Ok(RouteDelOutcome::Removed) => {
                    removed += 1;
                    tracing::info!(
                        "{label}({}) withdrew {addr} of the dead {child} child",
                        a.name
                    );
                }
                Ok(RouteDelOutcome::NotPresent) => {}
                Err(e) => tracing::warn!("{label}({}) cannot withdraw {addr}: {e}", a.name),
            }
        }
    }
    removed
}

/// Puts (`up`) or removes an announce's routes.
pub async fn set_routes(nl: &Netlink, label: &str, a: &Announce, up: bool) {
    let oif = match nl.interface_by_name(&a.dev).await {
        Ok(i) => i.index,
        Err(e) => {
            tracing::error!("{label}({}) no link {}: {e}", a.name, a.dev);
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
            tracing::error!("{label}({}) cannot {verb} {addr}: {e}", a.name);
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
    r.mode = AddMode::Exclusive;
    r
}

pub async fn add_addresses(nl: &Netlink, label: &str, a: &Announce) {
    let Ok(link) = nl.interface_by_name(&a.dev).await else {
        tracing::error!("{label}({}) no link {}", a.name, a.dev);
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
            tracing::error!("{label}({}) cannot add {addr} to {}: {e}", a.name, a.dev);
        }
    }
}

pub async fn del_addresses(nl: &Netlink, label: &str, a: &Announce) {
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
            tracing::warn!("{label}({}) cannot remove {addr}: {e}", a.name);
        }
    }
}

/// arp_ignore 1: answer only for addresses of the receiving link;
/// arp_announce 2: never use a foreign link's address as ARP source.
/// Raised, never lowered (a stricter value someone set stays). Only
/// when an IPv4 address is announced.
pub fn raise_arp_sysctls<'a>(label: &str, mut announces: impl Iterator<Item = &'a Announce>) {
    if !announces.any(|a| a.addresses.iter().any(IpAddr::is_ipv4)) {
        return;
    }
    for (key, want) in [
        ("net/ipv4/conf/all/arp_ignore", 1),
        ("net/ipv4/conf/all/arp_announce", 2),
    ] {
        match sysctl::read(key) {
            Ok(v) if v >= want => {}
            _ => {
                if let Err(e) = sysctl::write(key, want) {
                    tracing::warn!("{label}: cannot set {key}={want}: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drain_is_cut_to_a_second_below_child_wait_time() {
        let s = Duration::from_secs;
        assert_eq!(cut_drain(s(2), 5), s(2));
        assert_eq!(cut_drain(s(30), 5), s(4));
        assert_eq!(cut_drain(s(3), 0), Duration::ZERO);
    }
}
