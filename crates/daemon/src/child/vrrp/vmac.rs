// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Carrying out the VMAC decisions of [`keepalived_vrrp::node::vmac`]:
//! the macvlan link, its sysctls and those of its base interface, and
//! putting the sysctls back.

use std::net::{IpAddr, Ipv6Addr};

use keepalived_sys::addr::AddrSpec;
use keepalived_sys::sysctl;
use keepalived_vrrp::node::Event;
use keepalived_vrrp::node::vmac::{self, Ledger, Restore, Sysctl, VmacSpec};
use keepalived_vrrp::packet::Family;

use super::core::Core;
use super::instance::AdvertLink;

/// The ledger user for the all/default/per-interface rp_filter changes:
/// they stay until exit, as in keepalived.
const RP_FILTER_USER: &str = "all.rp_filter";

/// What the VMACs changed outside their own links.
#[derive(Default)]
pub struct Vmacs {
    ledger: Ledger,
}

impl Vmacs {
    /// Writes `s` on behalf of `user`, remembering the value before.
    fn set(&mut self, user: &str, s: &Sysctl) {
        let current = match sysctl::read(&s.path) {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!("cannot read sysctl {}: {e}", s.path);
                return;
            }
        };
        if let Some(v) = self.ledger.set(user, &s.path, current, s.value) {
            write(&s.path, v);
        }
    }

    /// keepalived's rp_filter dance, once per process (see
    /// [`vmac::clear_rp_filter`]).
    fn clear_rp_filter(&mut self, interfaces: &[String]) {
        let Ok(all) = sysctl::read("net/ipv4/conf/all/rp_filter") else {
            tracing::info!("cannot read net.ipv4.conf.all.rp_filter");
            return;
        };
        if all == 0 {
            return;
        }
        let default = sysctl::read("net/ipv4/conf/default/rp_filter").unwrap_or(all);
        let values: Vec<(String, u32)> = interfaces
            .iter()
            .filter_map(|i| {
                let v = sysctl::read(&format!("net/ipv4/conf/{i}/rp_filter")).ok()?;
                Some((i.clone(), v))
            })
            .collect();
        for s in vmac::clear_rp_filter(all, default, &values) {
            tracing::info!("NOTICE: setting sysctl {} to {}", s.path, s.value);
            self.set(RP_FILTER_USER, &s);
        }
    }

    /// Puts back what `user` was the last to need.
    fn release(&mut self, user: &str) {
        restore(self.ledger.release(user));
    }

    /// Puts back everything (at exit).
    pub fn release_all(&mut self) {
        restore(self.ledger.release_all());
    }
}

fn write(path: &str, value: u32) {
    if let Err(e) = sysctl::write(path, value) {
        tracing::warn!("cannot set sysctl {path} to {value}: {e}");
    }
}

/// keepalived's rule for rp_filter, ours for every value: only a value
/// still as we left it goes back.
fn restore(list: Vec<Restore>) {
    for r in list {
        match sysctl::read(&r.path) {
            Ok(v) if v == r.ours => write(&r.path, r.original),
            Ok(_) => tracing::info!("sysctl {} changed since we set it; left as it is", r.path),
            // The link is gone: nothing to put back.
            Err(_) => {}
        }
    }
}

impl Core {
    /// Creates the macvlan of instance `inst` on `base` (or adopts a
    /// matching one a previous run left) and returns its index.
    /// `src`: the instance's configured source address.
    pub(super) async fn vmac_up(
        &mut self,
        inst: &str,
        spec: &VmacSpec,
        base: u32,
        src: Option<IpAddr>,
    ) -> Result<u32, String> {
        let existing = self
            .nl
            .link_kind(&spec.name)
            .await
            .map_err(|e| format!("cannot look up {}: {e}", spec.name))?;
        let adopt = match existing {
            Some(k)
                if k.macvlan && k.private && k.lower == Some(base) && k.mac == Some(spec.mac) =>
            {
                tracing::info!("({inst}) Found matching interface {}", spec.name);
                true
            }
            Some(k) if k.macvlan => {
                tracing::info!(
                    "({inst}) VMAC {} already exists but is incompatible. It will be deleted/updated",
                    spec.name
                );
                self.nl
                    .del_link(k.index)
                    .await
                    .map_err(|e| format!("cannot remove the old {}: {e}", spec.name))?;
                false
            }
            Some(_) => {
                return Err(format!(
                    "VMAC interface name {} already exists as a non VMAC interface",
                    spec.name
                ));
            }
            None => false,
        };
        if !adopt {
            self.nl
                .add_macvlan(&spec.name, base, spec.mac)
                .await
                .map_err(|e| format!("Unable to create VMAC interface {}: {e}", spec.name))?;
        }
        let index = self
            .nl
            .link_kind(&spec.name)
            .await
            .ok()
            .flatten()
            .map(|k| k.index)
            .ok_or_else(|| format!("VMAC interface {} vanished", spec.name))?;
        // rp_filter first: it raises every interface, the new one too,
        // before the macvlan's own 0 is written.
        if spec.needs_rp_filter_cleared() {
            let names = interface_names();
            self.vmacs.clear_rp_filter(&names);
            for s in spec.base_sysctls() {
                self.vmacs.set(&spec.name, &s);
            }
        }
        // Before the link comes up: an IPv6 link-local address from the
        // virtual MAC must never appear, nor IPv6 on an IPv4 VMAC.
        for s in spec.own_sysctls() {
            write(&s.path, s.value);
        }
        self.nl
            .set_link_up(index)
            .await
            .map_err(|e| format!("cannot bring {} up: {e}", spec.name))?;
        if spec.family == Family::Ipv6 && !spec.xmit_base {
            self.vmac_link_local(inst, spec, base, index, src).await;
        }
        Ok(index)
    }

    /// keepalived's link-local address for an IPv6 VMAC: the configured
    /// source, else the base interface's, else one from its MAC, so that
    /// adverts leave from a non-VIP address with the virtual MAC.
    async fn vmac_link_local(
        &self,
        inst: &str,
        spec: &VmacSpec,
        base: u32,
        index: u32,
        src: Option<IpAddr>,
    ) {
        let addr: Option<Ipv6Addr> = match src {
            Some(IpAddr::V6(a)) => Some(a),
            _ => match self.nl.interface_by_index(base).await {
                Ok(i) => i
                    .ipv6_link_local()
                    .or_else(|| i.mac.map(vmac::link_local_from_mac)),
                Err(_) => None,
            },
        };
        let Some(addr) = addr else {
            tracing::info!("({inst}) no link-local address for {}", spec.name);
            return;
        };
        let mut a = AddrSpec::new(index, IpAddr::V6(addr), 64);
        // The same address is on the base link: DAD would only delay it.
        a.nodad = true;
        if let Err(e) = self.nl.add_address(&a).await {
            tracing::info!(
                "({inst}) adding link-local address to {} failed: {e}",
                spec.name
            );
        }
    }

    /// GARP/NA for the VIPs on instance `idx`'s address VMACs, from each
    /// VMAC's own MAC.
    pub(super) async fn garp_addr_vmacs(&mut self, idx: usize, rounds: u32) {
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        let name = i.conf.name.clone();
        let jobs: Vec<(String, Vec<IpAddr>)> = i
            .addr_vmacs
            .iter()
            .map(|v| {
                let vips = i
                    .vips
                    .iter()
                    .filter(|a| a.dev.as_deref() == Some(v.name.as_str()))
                    .map(|a| a.address)
                    .collect();
                (v.name.clone(), vips)
            })
            .collect();
        for (link, vips) in jobs {
            let Ok(Some(index)) = super::io::link_index(&self.nl, &link).await else {
                continue;
            };
            let Ok(Some(mac)) = super::io::link_mac(&self.nl, index).await else {
                continue;
            };
            let out = match super::io::GarpOut::open(index, mac) {
                Ok(o) => o,
                Err(e) => {
                    tracing::warn!("({name}) cannot open a GARP sender on {link}: {e}");
                    continue;
                }
            };
            let g = self.globals.as_ref();
            let interval = |t: Option<keepalived_config::types::Timer>| {
                std::time::Duration::from_micros(t.map_or(0, |t| t.as_micros()))
            };
            super::io::GarpBurst {
                out,
                ifname: link.clone(),
                vips,
                rounds,
                interval4: interval(g.and_then(|g| g.vrrp_garp_interval)),
                interval6: interval(g.and_then(|g| g.vrrp_gna_interval)),
            }
            .send()
            .await;
            tracing::info!("({name}) Sent gratuitous ARPs on {link} ({rounds} rounds)");
        }
    }

    /// A link went away. If it was one of our macvlans, it is made again
    /// at once when its base link is still there (keepalived 2.2.7 does
    /// the same: an admin's `ip link del vrrp.51` must not leave the
    /// instance deaf for good), else when the base link comes back
    /// ([`Self::vmacs_on_base_up`]); then the node hears
    /// `Event::LinkRecreated` and says what to put back
    /// (`keepalived_vrrp::node::owned`).
    /// Our own removals never get here: an instance is out of `insts`
    /// before its macvlan is deleted.
    pub(super) async fn vmac_removed(&mut self, link: &str) {
        let Some((idx, spec)) = self.vmac_named(link) else {
            return;
        };
        // The base link's own notice may have come first and made it
        // again already.
        if matches!(self.nl.link_kind(&spec.name).await, Ok(Some(_))) {
            return;
        }
        self.vmac_recreate(idx, &spec).await;
    }

    /// A link came up: make the macvlans again that sit on it and went
    /// with it (deleting a link deletes its macvlans).
    pub(super) async fn vmacs_on_base_up(&mut self, base: &str) {
        let wanted: Vec<(usize, VmacSpec)> = self
            .insts
            .iter()
            .enumerate()
            .flat_map(|(i, l)| {
                l.vmac
                    .iter()
                    .chain(&l.addr_vmacs)
                    .filter(|v| v.base == base)
                    .map(move |v| (i, v.clone()))
            })
            .collect();
        for (idx, spec) in wanted {
            if matches!(self.nl.link_kind(&spec.name).await, Ok(None)) {
                self.vmac_recreate(idx, &spec).await;
            }
        }
    }

    /// The instance and spec of our macvlan called `link`, if any.
    fn vmac_named(&self, link: &str) -> Option<(usize, VmacSpec)> {
        self.insts.iter().enumerate().find_map(|(i, l)| {
            l.vmac
                .iter()
                .chain(&l.addr_vmacs)
                .find(|v| v.name == link)
                .map(|v| (i, v.clone()))
        })
    }

    async fn vmac_recreate(&mut self, idx: usize, spec: &VmacSpec) {
        let Some(live) = self.insts.get(idx) else {
            return;
        };
        let inst = live.conf.name.clone();
        let src = live.conf.src_ip();
        let main = live.vmac.as_ref().is_some_and(|v| v.name == spec.name);
        tracing::info!("({inst}) Interface {} deleted", spec.name);
        let base = match super::io::link_index(&self.nl, &spec.base).await {
            Ok(Some(b)) => b,
            Ok(None) => {
                tracing::info!(
                    "({inst}) {} is gone too: VMAC {} is made again when it is back",
                    spec.base,
                    spec.name
                );
                return;
            }
            Err(e) => {
                tracing::warn!("({inst}) cannot look up {}: {e}", spec.base);
                return;
            }
        };
        let index = match self.vmac_up(&inst, spec, base, src).await {
            Ok(i) => i,
            Err(e) => {
                tracing::error!("({inst}) {e}");
                return;
            }
        };
        tracing::info!("({inst}) VMAC {} made again (index {index})", spec.name);
        let Some(live) = self.insts.get_mut(idx) else {
            return;
        };
        if main {
            live.ifindex = index;
            live.base_ifindex = base;
            live.advert_link = if spec.xmit_base {
                AdvertLink {
                    index: base,
                    name: spec.base.clone(),
                }
            } else {
                AdvertLink {
                    index,
                    name: spec.name.clone(),
                }
            };
            // Both were bound to the old link.
            live.garp = None;
            live.sender = None;
            self.ensure_receivers();
            self.close_unused_sockets();
        }
        // What was on the old link is gone: the node says what to put
        // back (a master's VIPs, routes and rules, and a GARP burst).
        let now = self.now();
        self.feed(Event::LinkRecreated { instance: idx }, now).await;
    }

    /// Removes instance `inst`'s macvlan and puts back the base
    /// interface's sysctls if no other VMAC needs them.
    pub(super) async fn vmac_down(&mut self, inst: &str, spec: &VmacSpec) {
        self.vmacs.release(&spec.name);
        match self.nl.link_kind(&spec.name).await {
            Ok(Some(k)) if k.macvlan => match self.nl.del_link(k.index).await {
                Ok(_) => tracing::info!("({inst}) removed VMAC interface {}", spec.name),
                Err(e) => {
                    tracing::warn!("({inst}) Error removing VMAC interface {}: {e}", spec.name)
                }
            },
            Ok(_) => {}
            Err(e) => tracing::warn!("({inst}) cannot look up {}: {e}", spec.name),
        }
    }
}

/// Every interface name in the namespace (for rp_filter).
fn interface_names() -> Vec<String> {
    std::fs::read_dir("/proc/sys/net/ipv4/conf")
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n != "all" && n != "default")
                .collect()
        })
        .unwrap_or_default()
}
