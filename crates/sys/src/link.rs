// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Interface lookup and link state events through rtnetlink.
//!
//! The VRRP child needs, per instance interface: the ifindex (sockets,
//! frames), the MAC (GARP/NA sender), up/running (FAULT), the primary IPv4
//! address (IPv4 advert source) and the IPv6 link-local address (IPv6
//! advert source, RFC 5798 §5.1.2.1).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use std::pin::Pin;

use futures_util::{Stream, StreamExt};
use rtnetlink::packet_core::{NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage};
use rtnetlink::sys::SocketAddr;

use crate::addr::AddrInfo;
use crate::netlink::{Netlink, NetlinkError};
use crate::vrrp_socket::Family;

/// What the VRRP child needs to know about one interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub index: u32,
    pub name: String,
    /// `None` for links without an Ethernet-sized hardware address.
    pub mac: Option<[u8; 6]>,
    /// Administratively up (IFF_UP).
    pub up: bool,
    /// Operationally up (IFF_RUNNING: carrier present), what keepalived
    /// tracks for FAULT.
    pub running: bool,
    /// Every address on the interface, in kernel order.
    pub addresses: Vec<AddrInfo>,
}

impl Interface {
    /// The interface's primary IPv4 address (see [`advert_source`]).
    pub fn primary_ipv4(&self) -> Option<Ipv4Addr> {
        match advert_source(&self.addresses, Family::V4, &[]) {
            Some(IpAddr::V4(v4)) => Some(v4),
            _ => None,
        }
    }

    /// The first usable IPv6 link-local address (see [`advert_source`]).
    pub fn ipv6_link_local(&self) -> Option<Ipv6Addr> {
        match advert_source(&self.addresses, Family::V6, &[]) {
            Some(IpAddr::V6(v6)) => Some(v6),
            _ => None,
        }
    }
}

/// The VRRP advert source keepalived picks among `addrs` (kernel order):
/// IPv4, the first address that is not a secondary; IPv6, the first
/// link-local (fe80::/10, RFC 5798 §5.1.2.1). Addresses still tentative
/// or that failed DAD are skipped (the kernel refuses to send from them),
/// and so is every address in `exclude` (the caller's VIPs may sit on
/// the same link).
pub fn advert_source(addrs: &[AddrInfo], family: Family, exclude: &[IpAddr]) -> Option<IpAddr> {
    addrs
        .iter()
        .filter(|a| !exclude.contains(&a.addr) && !a.is_tentative() && !a.is_dad_failed())
        .find(|a| match (family, a.addr) {
            (Family::V4, IpAddr::V4(_)) => !a.is_secondary(),
            (Family::V6, IpAddr::V6(v6)) => is_link_local(&v6),
            _ => false,
        })
        .map(|a| a.addr)
}

/// fe80::/10 (std's `is_unicast_link_local` is stable but spelled out here
/// for clarity of intent).
pub fn is_link_local(addr: &Ipv6Addr) -> bool {
    addr.segments()[0] & 0xffc0 == 0xfe80
}

/// Link state as carried by one RTM_NEWLINK / RTM_DELLINK notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkState {
    pub index: u32,
    pub name: Option<String>,
    pub up: bool,
    pub running: bool,
}

/// One link notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    /// New link or a change of an existing one (flags, name, MAC, ...).
    Changed(LinkState),
    /// The link was deleted.
    Removed(LinkState),
    /// The kernel dropped notifications (ENOBUFS: the socket's receive
    /// buffer was full); any link change may have been among them.
    Lost,
}

fn state_of(msg: &LinkMessage) -> LinkState {
    let name = msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::IfName(n) => Some(n.clone()),
        _ => None,
    });
    LinkState {
        index: msg.header.index,
        name,
        up: msg.header.flags.contains(LinkFlags::Up),
        running: msg.header.flags.contains(LinkFlags::Running),
    }
}

fn mac_of(msg: &LinkMessage) -> Option<[u8; 6]> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::Address(bytes) => <[u8; 6]>::try_from(bytes.as_slice()).ok(),
        _ => None,
    })
}

impl Netlink {
    /// Look an interface up by name, with its addresses.
    pub async fn interface_by_name(&self, name: &str) -> Result<Interface, NetlinkError> {
        let req = self.handle.link().get().match_name(name.to_owned());
        self.interface_from(req, name.to_owned()).await
    }

    /// Look an interface up by index, with its addresses.
    pub async fn interface_by_index(&self, index: u32) -> Result<Interface, NetlinkError> {
        let req = self.handle.link().get().match_index(index);
        self.interface_from(req, format!("index {index}")).await
    }

    async fn interface_from(
        &self,
        req: rtnetlink::LinkGetRequest,
        what: String,
    ) -> Result<Interface, NetlinkError> {
        let mut replies = req.execute();
        let msg = match replies.next().await {
            Some(Ok(msg)) => msg,
            Some(Err(rtnetlink::Error::NetlinkError(e)))
                if matches!(e.raw_code().saturating_abs(), libc::ENODEV | libc::ENOENT) =>
            {
                return Err(NetlinkError::NoSuchInterface(what));
            }
            Some(Err(e)) => return Err(NetlinkError::from_rtnetlink("get link", e)),
            None => return Err(NetlinkError::NoSuchInterface(what)),
        };
        // Drain so the request completes cleanly.
        while replies.next().await.is_some() {}
        let state = state_of(&msg);
        let addresses = self.list_addresses(state.index).await?;
        Ok(Interface {
            index: state.index,
            name: state.name.unwrap_or(what),
            mac: mac_of(&msg),
            up: state.up,
            running: state.running,
            addresses,
        })
    }
}

/// A subscription to RTNLGRP_LINK: every link change in the namespace.
///
/// The subscription has its own netlink socket. If the kernel drops
/// notifications (socket buffer overrun) that is reported as
/// [`LinkEvent::Lost`]; a consumer that must not miss a transition
/// re-reads the interfaces it cares about with
/// [`Netlink::interface_by_index`] when it starts and after a loss.
pub struct LinkEvents {
    // Sync too: the VRRP core, which is shared by reference across
    // awaits, owns the subscription.
    messages: Pin<
        Box<dyn Stream<Item = (NetlinkMessage<RouteNetlinkMessage>, SocketAddr)> + Send + Sync>,
    >,
    conn: tokio::task::JoinHandle<()>,
}

impl LinkEvents {
    /// Subscribe. Must be called inside a tokio runtime.
    pub fn subscribe() -> Result<Self, NetlinkError> {
        let (conn, _handle, messages) =
            rtnetlink::new_multicast_connection(&[rtnetlink::MulticastGroup::Link])?;
        let conn = tokio::spawn(conn);
        Ok(Self {
            messages: Box::pin(messages),
            conn,
        })
    }

    /// The next link event; `None` when the subscription ended.
    /// Cancel-safe: a message not yet returned stays queued.
    pub async fn next(&mut self) -> Option<LinkEvent> {
        loop {
            let (msg, _) = self.messages.next().await?;
            match msg.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                    return Some(LinkEvent::Changed(state_of(&link)));
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(link)) => {
                    return Some(LinkEvent::Removed(state_of(&link)));
                }
                // netlink-proto turns an ENOBUFS read into this message.
                NetlinkPayload::Overrun(_) => return Some(LinkEvent::Lost),
                _ => continue,
            }
        }
    }
}

impl Drop for LinkEvents {
    fn drop(&mut self) {
        self.conn.abort();
    }
}

/// Whether IPv6 forwarding is on for `ifname` (keepalived sets the NA
/// router flag from it). Unreadable means "not a router".
pub fn ipv6_forwarding(ifname: &str) -> bool {
    if ifname.contains('/') || ifname.starts_with('.') {
        return false;
    }
    std::fs::read_to_string(format!("/proc/sys/net/ipv6/conf/{ifname}/forwarding"))
        .map(|s| s.trim() == "1")
        .unwrap_or(false)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::addr::Scope;

    fn info(addr: &str, flags: u32) -> AddrInfo {
        AddrInfo {
            ifindex: 2,
            addr: addr.parse().unwrap(),
            prefix_len: 24,
            broadcast: None,
            scope: Scope::Global,
            label: None,
            flags,
        }
    }

    #[test]
    fn source_skips_excluded_secondaries_and_tentative_link_locals() {
        let addrs = [
            info("192.0.2.100", 0),
            info("192.0.2.5", libc::IFA_F_SECONDARY),
            info("192.0.2.1", 0),
            info("fe80::1", libc::IFA_F_TENTATIVE),
            info("2001:db8::1", 0),
            info("fe80::2", 0),
        ];
        let ours = ["192.0.2.100".parse().unwrap()];
        assert_eq!(
            advert_source(&addrs, Family::V4, &ours),
            Some("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            advert_source(&addrs, Family::V4, &[]),
            Some("192.0.2.100".parse().unwrap())
        );
        assert_eq!(
            advert_source(&addrs, Family::V6, &ours),
            Some("fe80::2".parse().unwrap())
        );
    }
}
