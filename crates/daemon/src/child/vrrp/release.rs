// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Removing the VIPs of a VRRP child that died without stopping.
//!
//! A SIGKILLed or crashed child cannot release its addresses, and
//! keepalived leaves them on the interface, answering ARP for a router
//! that no longer sends adverts while the peer takes over: two hosts
//! claim the VIP. The supervisor calls [`release_addresses`] as soon as
//! it reaps such a child, before any respawn (which may be delayed by
//! back-off) and before exiting under `-R`. A respawned child also sweeps
//! its VIPs at start; both are idempotent. The instances' virtual
//! routes and rules go the same way, and so do announced routes
//! (`vrrp_announce`).

use keepalived_config::Config;
use keepalived_sys::netlink::Netlink;

use super::instance::{plan, vip_specs};
use super::io;
use super::routing::Routing;

/// Removes every VIP (and excluded VIP) of every instance in `config`
/// from its link. Returns how many addresses were removed; failures are
/// logged and do not stop the others.
pub fn release_addresses(config: &Config) -> usize {
    if config.vrrp_instances.is_empty() && config.announces.is_empty() {
        return 0;
    }
    let rt = match crate::child::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!("cannot remove the dead VRRP child's addresses: {e}");
            return 0;
        }
    };
    rt.block_on(release(config))
}

async fn release(config: &Config) -> usize {
    let nl = match Netlink::new() {
        Ok(nl) => nl,
        Err(e) => {
            tracing::error!("cannot remove the dead VRRP child's addresses: {e}");
            return 0;
        }
    };
    let mut removed = 0;
    for inst in &config.vrrp_instances {
        let Some(ifname) = inst.interface.as_deref() else {
            continue;
        };
        // With use_vmac the VIPs without a dev are on the macvlan (left in
        // place: the respawned child adopts it).
        let (link, specs) = match plan(inst, config) {
            Ok(p) => match p.vmac {
                Some(v) => (v.name, p.vips),
                None => (ifname.to_owned(), p.vips),
            },
            Err(_) => (ifname.to_owned(), vip_specs(inst)),
        };
        let Ok(Some(ifindex)) = io::link_index(&nl, &link).await else {
            continue;
        };
        for (v, res) in specs.iter().zip(io::del_vips(&nl, ifindex, &specs).await) {
            match res {
                Ok(true) => {
                    removed += 1;
                    tracing::info!(
                        "({}) removed virtual address {} of the dead VRRP child",
                        inst.name,
                        v.address
                    );
                }
                Ok(false) => {}
                Err(e) => tracing::warn!("({}) cannot remove {}: {e}", inst.name, v.address),
            }
        }
        // Its virtual routes and rules went with MASTER too. Static ones
        // stay: they belong to the daemon, which lives on, and the
        // respawned child finds them in place.
        Routing::of_instance(inst).remove(&nl, &inst.name).await;
    }
    // A dead child's announced routes would keep drawing traffic to a
    // host whose health nobody checks any more; the respawned child
    // announces again once its checks pass. The addresses stay (not
    // announced by themselves; the respawned child keeps them).
    removed + super::announce::withdraw_dead(&nl, config).await
}
