// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `static_ipaddress`, `static_routes`, `static_rules`: installed when
//! the VRRP child applies its first configuration, changed by a reload
//! only where the configuration changed, removed on stop.
//!
//! A static entry deleted behind our back is found here and handed to
//! the node (`Event::StaticDeleted`), which says to put back a tracked
//! one (no `no_track`), as keepalived does (`reinstate_static_*`).

use std::net::{IpAddr, Ipv4Addr};

use keepalived_config::Config;
use keepalived_config::model::addr::IpAddress;
use keepalived_sys::addr::{AddrInfo, AddrSpec, Scope};
use keepalived_sys::netlink::{Netlink, NetlinkError};
use keepalived_sys::route::RouteGone;
use keepalived_sys::rule::RuleGone;
use keepalived_vrrp::node::Owned;

use super::{Routing, add_route, add_rule, show};

const WHO: &str = "static";

/// One static address and the interface it goes on.
#[derive(Debug, Clone, PartialEq)]
pub struct StaticAddr {
    pub conf: IpAddress,
    pub dev: String,
}

/// Everything the static blocks install.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statics {
    pub addresses: Vec<StaticAddr>,
    pub routing: Routing,
}

impl Statics {
    pub fn plan(config: &Config) -> Self {
        let default_if = config.global_defs.default_interface.clone();
        let addresses = config
            .static_ipaddress
            .iter()
            .filter_map(|a| match a.dev.clone().or_else(|| default_if.clone()) {
                Some(dev) => Some(StaticAddr {
                    conf: a.clone(),
                    dev,
                }),
                None => {
                    tracing::error!(
                        "(static) address {a} has no dev and there is no default_interface; not installed"
                    );
                    None
                }
            })
            .collect();
        Self {
            addresses,
            routing: Routing::plan(&config.static_routes, &config.static_rules, WHO),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routing.is_empty()
    }

    /// Addresses, then routes, then rules.
    pub async fn install(&self, nl: &Netlink) {
        for a in &self.addresses {
            add_address(nl, a).await;
        }
        self.routing.install(nl, WHO).await;
    }

    /// Rules, then routes, then addresses.
    pub async fn remove(&self, nl: &Netlink) {
        self.routing.remove(nl, WHO).await;
        for a in &self.addresses {
            let res = match nl.interface_by_name(&a.dev).await {
                Ok(i) => nl
                    .del_address(&address_spec(&a.conf, i.index))
                    .await
                    .map(|_| ()),
                Err(NetlinkError::NoSuchInterface(_)) => Ok(()),
                Err(e) => Err(e),
            };
            if let Err(e) = res {
                tracing::warn!("(static) cannot remove address {}: {e}", a.conf);
            }
        }
    }

    /// Moves to `new`: removes what left the configuration, adds what
    /// joined it, leaves the rest alone.
    pub async fn reload(&mut self, new: Self, nl: &Netlink) {
        let (gone, added) = self.routing.diff(&new.routing);
        let old_addrs: Vec<StaticAddr> = self
            .addresses
            .iter()
            .filter(|a| !new.addresses.contains(a))
            .cloned()
            .collect();
        let new_addrs: Vec<StaticAddr> = new
            .addresses
            .iter()
            .filter(|a| !self.addresses.contains(a))
            .cloned()
            .collect();
        Self {
            addresses: old_addrs,
            routing: gone,
        }
        .remove(nl)
        .await;
        Self {
            addresses: new_addrs,
            routing: added,
        }
        .install(nl)
        .await;
        *self = new;
    }

    /// The interfaces that carry tracked static addresses or routes (the
    /// node puts those back when such a link comes back up). Rules do not
    /// go with an interface.
    pub fn links(&self) -> Vec<String> {
        let addrs = self
            .addresses
            .iter()
            .filter(|a| !a.conf.no_track)
            .map(|a| a.dev.clone());
        let routes = self
            .routing
            .routes
            .iter()
            .filter(|r| r.tracked)
            .filter_map(|r| r.dev.clone());
        let mut v: Vec<String> = addrs.chain(routes).collect();
        v.sort();
        v.dedup();
        v
    }

    /// Interface `name` came back up (the node's
    /// `Effect::RestoreStaticsOn`): the kernel dropped the routes through
    /// it when it went down (and IPv6 addresses with them), so the
    /// tracked static addresses and routes on it are installed again, as
    /// keepalived's `interface_up` does.
    pub async fn restore_on(&self, nl: &Netlink, name: &str) {
        let addrs: Vec<&StaticAddr> = self
            .addresses
            .iter()
            .filter(|a| !a.conf.no_track && a.dev == name)
            .collect();
        let routes: Vec<_> = self
            .routing
            .routes
            .iter()
            .filter(|r| r.tracked && r.dev.as_deref() == Some(name))
            .collect();
        if addrs.is_empty() && routes.is_empty() {
            return;
        }
        tracing::info!("(static) {name} is up: installing its static addresses and routes again");
        for a in addrs {
            add_address(nl, a).await;
        }
        for r in routes {
            add_route(nl, r, WHO).await;
        }
    }

    /// Which static entry a deletion removed, and whether it is tracked
    /// (not `no_track`): the node decides what follows
    /// (`Event::StaticDeleted`).
    pub async fn address_gone(&self, nl: &Netlink, gone: &AddrInfo) -> Option<(Owned, bool)> {
        for a in &self.addresses {
            if a.conf.address != gone.addr || a.conf.prefix_len != gone.prefix_len {
                continue;
            }
            let on_it = nl
                .interface_by_name(&a.dev)
                .await
                .is_ok_and(|i| i.index == gone.ifindex);
            if on_it {
                return Some((Owned::Address(gone.addr), !a.conf.no_track));
            }
        }
        None
    }

    pub fn route_gone(&self, gone: &RouteGone) -> Option<(Owned, bool)> {
        let k = self.routing.route_gone(gone)?;
        let tracked = self.routing.routes.get(k).is_some_and(|r| r.tracked);
        Some((Owned::Route(k), tracked))
    }

    pub fn rule_gone(&self, gone: &RuleGone) -> Option<(Owned, bool)> {
        let k = self.routing.rule_gone(gone)?;
        let tracked = self.routing.rules.get(k).is_some_and(|r| r.tracked);
        Some((Owned::Rule(k), tracked))
    }

    /// Puts back the static entry the node said to put back, and says so.
    pub async fn restore(&self, nl: &Netlink, what: &Owned) {
        match *what {
            Owned::Address(addr) => {
                for a in self.addresses.iter().filter(|a| a.conf.address == addr) {
                    tracing::info!("(static) address {} was deleted; putting it back", a.conf);
                    add_address(nl, a).await;
                }
                // Routes using it as their source went with it, silently.
                self.routing.install(nl, WHO).await;
            }
            Owned::Route(k) => {
                if let Some(r) = self.routing.routes.get(k) {
                    tracing::info!(
                        "(static) route {} was deleted; putting it back",
                        show(&r.spec)
                    );
                    add_route(nl, r, WHO).await;
                }
            }
            Owned::Rule(k) => {
                if let Some(r) = self.routing.rules.get(k) {
                    tracing::info!(
                        "(static) rule {} was deleted; putting it back",
                        r.spec.priority
                    );
                    add_rule(nl, &r.spec, WHO).await;
                }
            }
        }
    }
}

async fn add_address(nl: &Netlink, a: &StaticAddr) {
    let res = match nl.interface_by_name(&a.dev).await {
        Ok(i) => nl
            .add_address(&address_spec(&a.conf, i.index))
            .await
            .map(|_| ()),
        Err(e) => Err(e),
    };
    if let Err(e) = res {
        tracing::warn!("(static) cannot add address {} on {}: {e}", a.conf, a.dev);
    }
}

/// `ip addr add` for one configured address.
pub fn address_spec(a: &IpAddress, ifindex: u32) -> AddrSpec {
    let mut spec = AddrSpec::new(ifindex, a.address, a.prefix_len);
    spec.nodad = a.address.is_ipv6() && (a.nodad || spec.nodad);
    spec.label.clone_from(&a.label);
    spec.scope = a.scope.as_deref().and_then(scope);
    if let IpAddr::V4(v4) = a.address {
        spec.broadcast = match a.brd.as_deref() {
            Some("+") => Some(broadcast_of(v4, a.prefix_len)),
            Some(b) => b.parse().ok(),
            None => None,
        };
    }
    spec
}

fn scope(s: &str) -> Option<Scope> {
    Some(match s {
        "global" | "universe" => Scope::Global,
        "site" => Scope::Site,
        "link" => Scope::Link,
        "host" => Scope::Host,
        "nowhere" => Scope::Nowhere,
        n => Scope::Other(n.parse().ok()?),
    })
}

/// `brd +`: every host bit set.
fn broadcast_of(a: Ipv4Addr, len: u8) -> Ipv4Addr {
    let host = u32::MAX.checked_shr(u32::from(len)).unwrap_or(0);
    Ipv4Addr::from(u32::from(a) | host)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn brd_plus_sets_the_host_bits() {
        assert_eq!(
            broadcast_of("192.0.2.50".parse().unwrap(), 24),
            "192.0.2.255".parse::<Ipv4Addr>().unwrap()
        );
        assert_eq!(
            broadcast_of("192.0.2.50".parse().unwrap(), 32),
            "192.0.2.50".parse::<Ipv4Addr>().unwrap()
        );
    }

    #[test]
    fn scope_and_label_reach_the_address() {
        let a = IpAddress {
            address: "192.0.2.50".parse().unwrap(),
            prefix_len: 24,
            scope: Some("link".into()),
            label: Some("eth0:st".into()),
            brd: Some("+".into()),
            ..IpAddress::default()
        };
        let s = address_spec(&a, 4);
        assert_eq!(s.scope, Some(Scope::Link));
        assert_eq!(s.label.as_deref(), Some("eth0:st"));
        assert_eq!(s.broadcast, Some("192.0.2.255".parse().unwrap()));
    }
}
