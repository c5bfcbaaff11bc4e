// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `ha_suspend`: a virtual server's checkers run only while its address
//! is configured on a local interface, that is while the VRRP instance
//! holding it is MASTER (keepalived 2.2.7 check_api.c
//! `update_checker_activity`, `register_checkers_thread`; reference §3).
//!
//! The rules, as keepalived has them:
//! 1. The checker child follows the kernel's addresses (a dump at start,
//!    then RTM_NEWADDR / RTM_DELADDR). An address is counted once per
//!    interface holding it: the checkers are suspended only when it has
//!    left every interface.
//! 2. At start and on reload every checker of such a virtual server is
//!    announced `Activating healthchecker ...` when the address is there,
//!    `Deactivating healthchecker ...` when it is not.
//! 3. When the address comes or goes, each checker whose activity changes
//!    logs `Activating healthchecker ...` / `Suspending healthchecker ...`.
//! 4. A suspended checker keeps its state (the real server stays as it
//!    was) and looks again every `delay_loop` (the machine's rule).
//! 5. fwmark virtual servers cannot use it (the configuration clears it).
//!
//! Where we differ on purpose:
//! * keepalived counts events, not addresses: an RTM_NEWADDR that only
//!   changes an address already there (IPv6 lifetimes, flags) counts it a
//!   second time, and then one removal no longer suspends the checkers. We
//!   keep the set of (address, interface) pairs, so a repeated event
//!   changes nothing.
//! * keepalived 2.2.7's `addr_matches` returns false for every virtual
//!   server group before looking at its entries, so a group with
//!   `ha_suspend` is suspended for ever. We match the group's address
//!   entries (ranges included), as the rest of that function intends.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use keepalived_config::model::Config;
use keepalived_config::model::lvs::VirtualServer;
use keepalived_ipvs::model::ServiceKey;

use crate::expand;

/// The local addresses as the kernel reports them: address -> the
/// interfaces (by index) holding it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocalAddrs {
    held: BTreeMap<IpAddr, BTreeSet<u32>>,
}

impl LocalAddrs {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records an address event; true when it changed anything (a repeated
    /// RTM_NEWADDR for an address already there does not).
    pub fn update(&mut self, addr: IpAddr, ifindex: u32, present: bool) -> bool {
        if present {
            return self.held.entry(addr).or_default().insert(ifindex);
        }
        let Some(ifs) = self.held.get_mut(&addr) else {
            return false;
        };
        let removed = ifs.remove(&ifindex);
        if ifs.is_empty() {
            self.held.remove(&addr);
        }
        removed
    }

    /// Every (address, interface) pair.
    pub fn pairs(&self) -> Vec<(IpAddr, u32)> {
        self.held
            .iter()
            .flat_map(|(a, ifs)| ifs.iter().map(move |i| (*a, *i)))
            .collect()
    }

    /// On how many interfaces `addr` is configured.
    pub fn count(&self, addr: &IpAddr) -> usize {
        self.held.get(addr).map_or(0, BTreeSet::len)
    }
}

/// The addresses whose presence lets the checkers of `vs` run; None when
/// it does not use `ha_suspend` (its checkers always run).
pub fn watched(config: &Config, vs: &VirtualServer) -> Option<Vec<IpAddr>> {
    if !vs.ha_suspend {
        return None;
    }
    let mut addrs: Vec<IpAddr> = expand::services(config, vs)
        .into_iter()
        .filter_map(|e| match e.service.key {
            ServiceKey::Addr { addr, .. } => Some(addr),
            ServiceKey::Fwmark { .. } => None,
        })
        .collect();
    addrs.sort_unstable();
    addrs.dedup();
    Some(addrs)
}

/// Whether checkers watching `addrs` may run (rule 1).
pub fn active(watched: Option<&[IpAddr]>, local: &LocalAddrs) -> bool {
    watched.is_none_or(|addrs| addrs.iter().any(|a| local.count(a) > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn an_address_counts_once_per_interface() {
        let mut l = LocalAddrs::new();
        let vip = ip("192.0.2.1");
        assert!(l.update(vip, 2, true));
        assert!(!l.update(vip, 2, true), "a repeated event changes nothing");
        assert!(l.update(vip, 3, true));
        assert_eq!(l.count(&vip), 2);
        assert!(l.update(vip, 2, false));
        let w = [vip];
        assert!(active(Some(&w), &l), "still on interface 3");
        assert!(l.update(vip, 3, false));
        assert!(!active(Some(&w), &l));
        assert!(!l.update(vip, 3, false), "gone twice changes nothing");
    }

    #[test]
    fn without_ha_suspend_checkers_always_run() {
        assert!(active(None, &LocalAddrs::new()));
        assert!(!active(Some(&[]), &LocalAddrs::new()));
    }
}
