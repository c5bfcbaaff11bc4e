// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The engine's side of the kernel: every call goes to `keepalived-sys`;
//! this module only translates between the engine's types (the codec's
//! `Family`, `VipSpec`) and the sys crate's, and adds the engine's rules
//! on top (which addresses may be an advert source, what "remove a VIP"
//! means after a crash).
//!
//! Sockets: one [`VrrpReceiver`] per (interface, family, what it
//! listens to): the VRRP group (or a configured one) for multicast
//! instances, unbound for unicast instances, so that a datagram reaches
//! exactly one receiver. One [`VrrpSender`] per instance, bound to its
//! advert source.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_sys::addr::{AddrInfo, AddrSpec, DelOutcome};
use keepalived_sys::garp;
use keepalived_sys::netlink::{Netlink, NetlinkError};
use keepalived_sys::vrrp_socket::{self, Datagram, RecvMode, SocketError};
use keepalived_vrrp::packet::{self, DropReason, Family, Received};

pub use keepalived_sys::vrrp_socket::{VrrpReceiver, VrrpSender};

/// What to install for one VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    pub address: IpAddr,
    pub prefix_len: u8,
    /// None = the instance's interface.
    pub dev: Option<String>,
    pub label: Option<String>,
    pub nodad: bool,
    /// `brd` (IPv4), and `scope`, as configured.
    pub broadcast: Option<std::net::Ipv4Addr>,
    pub scope: Option<keepalived_sys::addr::Scope>,
}

impl VipSpec {
    fn on(&self, ifindex: u32) -> AddrSpec {
        let mut spec = AddrSpec::new(ifindex, self.address, self.prefix_len);
        spec.label.clone_from(&self.label);
        spec.nodad = self.nodad && self.address.is_ipv6();
        spec.broadcast = self.broadcast;
        spec.scope = self.scope;
        spec
    }
}

pub fn sys_family(f: Family) -> vrrp_socket::Family {
    match f {
        Family::Ipv4 => vrrp_socket::Family::V4,
        Family::Ipv6 => vrrp_socket::Family::V6,
    }
}

/// keepalived's default groups.
pub fn default_group(family: Family, group4: Option<IpAddr>, group6: Option<IpAddr>) -> IpAddr {
    let standard = sys_family(family).group();
    match family {
        Family::Ipv4 => group4.filter(IpAddr::is_ipv4).unwrap_or(standard),
        Family::Ipv6 => group6.filter(IpAddr::is_ipv6).unwrap_or(standard),
    }
}

/// What a receiver listens to: a multicast group, or (`None`) the
/// unicast adverts of unicast-peer instances.
pub type Listen = Option<IpAddr>;

/// Opens the receiver for `listen` on `ifname`.
pub fn open_receiver(
    family: Family,
    ifname: &str,
    ifindex: u32,
    listen: Listen,
) -> Result<VrrpReceiver, SocketError> {
    let fam = sys_family(family);
    let mode = match listen {
        Some(g) if g == fam.group() => RecvMode::Multicast,
        Some(g) => RecvMode::MulticastGroup(g),
        None => RecvMode::Unicast { local: None },
    };
    VrrpReceiver::open(ifname, ifindex, fam, mode)
}

/// Decodes one received datagram with the codec.
pub fn decode(d: &Datagram) -> Result<Received, DropReason> {
    match (d.src, d.dst) {
        // IPv4 raw sockets deliver the IP header: everything is in it.
        (IpAddr::V4(_), _) => packet::decode_v4(&d.bytes),
        (IpAddr::V6(src), IpAddr::V6(dst)) => packet::decode_v6(d.payload(), src, dst, Some(d.ttl)),
        (IpAddr::V6(src), IpAddr::V4(_)) => {
            packet::decode_v6(d.payload(), src, std::net::Ipv6Addr::UNSPECIFIED, None)
        }
    }
}

// ===== gratuitous ARP / unsolicited NA =====

/// Where an instance's GARP/NA frames leave: its link's MAC and an
/// AF_PACKET sender bound to that link.
#[derive(Clone)]
pub struct GarpOut {
    pub mac: [u8; 6],
    sender: Arc<garp::FrameSender>,
}

impl GarpOut {
    pub fn open(ifindex: u32, mac: [u8; 6]) -> std::io::Result<Self> {
        Ok(Self {
            mac,
            sender: Arc::new(garp::FrameSender::open(ifindex)?),
        })
    }
}

/// One GARP burst: `rounds` rounds over `vips`, GARP for IPv4 and
/// unsolicited NA for IPv6, `interval4` / `interval6` after each frame
/// (`vrrp_garp_interval` / `vrrp_gna_interval`).
pub struct GarpBurst {
    pub out: GarpOut,
    pub ifname: String,
    pub vips: Vec<IpAddr>,
    pub rounds: u32,
    pub interval4: Duration,
    pub interval6: Duration,
}

impl GarpBurst {
    /// Sends the frames that need no pacing now, before returning (all of
    /// them when no interval is set, as keepalived does: the network
    /// learns the new master before anything else runs), and from the
    /// first interval on the rest from a task of its own, so that pacing
    /// never holds up the protocol.
    pub async fn send(self) {
        // A /proc read: only when an NA needs its router flag.
        let router = self.vips.iter().any(IpAddr::is_ipv6)
            && keepalived_sys::link::ipv6_forwarding(&self.ifname);
        let frames: Vec<(Vec<u8>, Duration)> = (0..self.rounds)
            .flat_map(|_| self.vips.iter())
            .map(|vip| match vip {
                IpAddr::V4(a) => (garp::build_garp(self.out.mac, *a).to_vec(), self.interval4),
                IpAddr::V6(a) => (
                    garp::build_unsolicited_na(self.out.mac, *a, router).to_vec(),
                    self.interval6,
                ),
            })
            .collect();
        let mut frames = frames.into_iter();
        while let Some((frame, gap)) = frames.next() {
            self.send_one(&frame).await;
            if !gap.is_zero() {
                let rest: Vec<(Vec<u8>, Duration)> = frames.collect();
                if !rest.is_empty() {
                    tokio::spawn(async move {
                        tokio::time::sleep(gap).await;
                        self.paced(rest).await;
                    });
                }
                return;
            }
        }
    }

    async fn paced(&self, frames: Vec<(Vec<u8>, Duration)>) {
        for (frame, gap) in frames {
            self.send_one(&frame).await;
            if !gap.is_zero() {
                tokio::time::sleep(gap).await;
            }
        }
    }

    async fn send_one(&self, frame: &[u8]) {
        if let Err(e) = self.out.sender.send(frame).await {
            tracing::debug!("GARP/NA on {}: {e}", self.ifname);
        }
    }
}

// ===== links and addresses =====

/// The index of `name`; None when there is no such interface.
pub async fn link_index(nl: &Netlink, name: &str) -> Result<Option<u32>, NetlinkError> {
    match nl.interface_by_name(name).await {
        Ok(i) => Ok(Some(i.index)),
        Err(NetlinkError::NoSuchInterface(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The Ethernet address of `ifindex`, if it has one.
pub async fn link_mac(nl: &Netlink, ifindex: u32) -> Result<Option<[u8; 6]>, NetlinkError> {
    match nl.interface_by_index(ifindex).await {
        Ok(i) => Ok(i.mac),
        Err(NetlinkError::NoSuchInterface(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Adds `vip` on `ifindex`; Ok(false) when it was already there.
///
/// On the blocking rtnetlink socket: the kernel answers within the send,
/// and a takeover's GARP must not wait for the runtime to schedule the
/// shared connection's task (twice) in between.
pub async fn add_address(nl: &Netlink, ifindex: u32, vip: &VipSpec) -> Result<bool, NetlinkError> {
    use keepalived_sys::addr::AddOutcome;
    Ok(nl.add_address_now(&vip.on(ifindex))? == AddOutcome::Added)
}

/// The link a VIP lives on: its `dev`, else the instance's `ifindex`.
pub async fn vip_link(nl: &Netlink, ifindex: u32, v: &VipSpec) -> Result<u32, NetlinkError> {
    match &v.dev {
        None => Ok(ifindex),
        Some(dev) => link_index(nl, dev)
            .await?
            .ok_or_else(|| NetlinkError::NoSuchInterface(dev.clone())),
    }
}

/// Removes an instance's `vips` (each from its own link, see
/// [`vip_link`]) with [`del_addresses`]; results in `vips`' order.
pub async fn del_vips(
    nl: &Netlink,
    ifindex: u32,
    vips: &[VipSpec],
) -> Vec<Result<bool, NetlinkError>> {
    let mut out: Vec<Option<Result<bool, NetlinkError>>> = Vec::with_capacity(vips.len());
    let mut batch = Vec::with_capacity(vips.len());
    for v in vips {
        match vip_link(nl, ifindex, v).await {
            Ok(link) => {
                batch.push((link, v));
                out.push(None);
            }
            Err(e) => out.push(Some(Err(e))),
        }
    }
    let mut done = del_addresses(nl, &batch).await.into_iter();
    out.into_iter()
        .map(|r| r.or_else(|| done.next()).unwrap_or(Ok(false)))
        .collect()
}

/// Removes every copy of each VIP's address from its link, whatever its
/// prefix length (a crashed predecessor may have run an older
/// configuration). `vips` pairs each VIP with its link; each link's
/// addresses are listed once for the whole batch, not once per VIP. The
/// result, in `vips`' order, is Ok(false) where there was nothing to
/// remove.
pub async fn del_addresses(
    nl: &Netlink,
    vips: &[(u32, &VipSpec)],
) -> Vec<Result<bool, NetlinkError>> {
    // A failed listing is not remembered: the next VIP of that link asks
    // again (and reports its own error).
    let mut listed: HashMap<u32, Vec<AddrInfo>> = HashMap::new();
    let mut out = Vec::with_capacity(vips.len());
    for &(ifindex, vip) in vips {
        let addrs = match listed.entry(ifindex) {
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(slot) => match nl.list_addresses(ifindex).await {
                Ok(a) => slot.insert(a),
                Err(e) => {
                    out.push(Err(e));
                    continue;
                }
            },
        };
        out.push(del_listed(nl, ifindex, vip, addrs).await);
    }
    out
}

async fn del_listed(
    nl: &Netlink,
    ifindex: u32,
    vip: &VipSpec,
    addrs: &[AddrInfo],
) -> Result<bool, NetlinkError> {
    let mut removed = false;
    for a in addrs {
        if a.addr != vip.address || a.ifindex != ifindex {
            continue;
        }
        let mut spec = vip.on(ifindex);
        spec.prefix_len = a.prefix_len;
        if nl.del_address(&spec).await? == DelOutcome::Removed {
            removed = true;
        }
    }
    Ok(removed)
}

/// The advert source on `ifindex` that is not one of `ours` (our VIPs
/// may sit on the same link): [`keepalived_sys::link::advert_source`].
pub async fn primary_address(
    nl: &Netlink,
    ifindex: u32,
    family: Family,
    ours: &[IpAddr],
) -> Result<Option<IpAddr>, NetlinkError> {
    let addrs = nl.list_addresses(ifindex).await?;
    Ok(keepalived_sys::link::advert_source(
        &addrs,
        sys_family(family),
        ours,
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_vips_get_nodad_and_ipv4_ones_keep_their_label() {
        let v6 = VipSpec {
            address: "2001:db8::10".parse().unwrap(),
            prefix_len: 64,
            dev: None,
            label: None,
            nodad: true,
            broadcast: None,
            scope: None,
        };
        assert!(v6.on(3).nodad);
        let v4 = VipSpec {
            address: "192.0.2.10".parse().unwrap(),
            prefix_len: 24,
            dev: None,
            label: Some("veth0:1".into()),
            nodad: true,
            broadcast: Some("192.0.2.255".parse().unwrap()),
            scope: Some(keepalived_sys::addr::Scope::Host),
        };
        let spec = v4.on(3);
        assert!(!spec.nodad);
        assert_eq!(spec.broadcast, v4.broadcast, "brd is sent");
        assert_eq!(spec.scope, v4.scope, "scope is sent");
        assert_eq!(spec.label.as_deref(), Some("veth0:1"));
        assert_eq!((spec.ifindex, spec.prefix_len), (3, 24));
    }
}
