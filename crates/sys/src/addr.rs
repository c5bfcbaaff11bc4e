// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Idempotent address add/remove and per-interface listing (rtnetlink).
//!
//! VIP handling must survive a crash restart: a new VRRP child may find
//! the addresses its killed predecessor installed, so "add an address that
//! is there" and "remove one that is not" are successes, reported as such.
//!
//! IPv6 VIPs are added with IFA_F_NODAD, as keepalived does: a VIP moves
//! between routers and must be usable at once, not after DAD (and DAD would
//! fail whenever the old master still holds it).

use std::net::{IpAddr, Ipv4Addr};

use futures_util::TryStreamExt;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::netlink::{Netlink, NetlinkError};

/// Address scope (`ip addr ... scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `global` (RT_SCOPE_UNIVERSE, 0).
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
    /// Any other numeric scope.
    Other(u8),
}

impl From<Scope> for AddressScope {
    fn from(s: Scope) -> Self {
        match s {
            Scope::Global => AddressScope::Universe,
            Scope::Site => AddressScope::Site,
            Scope::Link => AddressScope::Link,
            Scope::Host => AddressScope::Host,
            Scope::Nowhere => AddressScope::Nowhere,
            Scope::Other(n) => AddressScope::Other(n),
        }
    }
}

impl From<AddressScope> for Scope {
    fn from(s: AddressScope) -> Self {
        match s {
            AddressScope::Universe => Scope::Global,
            AddressScope::Site => Scope::Site,
            AddressScope::Link => Scope::Link,
            AddressScope::Host => Scope::Host,
            AddressScope::Nowhere => Scope::Nowhere,
            AddressScope::Other(n) => Scope::Other(n),
            _ => Scope::Other(u8::from(s)),
        }
    }
}

/// One address to install or remove: what `ip addr add ADDR/PLEN dev IF
/// [brd B] [scope S] [label L]` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrSpec {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 only; `None` installs no broadcast (keepalived's default for
    /// VIPs without `brd`).
    pub broadcast: Option<Ipv4Addr>,
    /// `None` lets the kernel pick (global for IPv4, by address type for
    /// IPv6).
    pub scope: Option<Scope>,
    /// IPv4 only; the kernel requires it to start with the interface name.
    pub label: Option<String>,
    /// IPv6 only: skip duplicate address detection. `AddrSpec::new` sets it
    /// for IPv6 like keepalived does for every IPv6 VIP.
    pub nodad: bool,
}

impl AddrSpec {
    /// A plain address with keepalived's defaults (IPv6: nodad).
    pub fn new(ifindex: u32, addr: IpAddr, prefix_len: u8) -> Self {
        Self {
            ifindex,
            addr,
            prefix_len,
            broadcast: None,
            scope: None,
            label: None,
            nodad: addr.is_ipv6(),
        }
    }

    fn validate(&self) -> Result<(), NetlinkError> {
        let max = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix_len > max {
            return Err(NetlinkError::Invalid(format!(
                "prefix length {} for {}",
                self.prefix_len, self.addr
            )));
        }
        if self.addr.is_ipv6() && (self.broadcast.is_some() || self.label.is_some()) {
            return Err(NetlinkError::Invalid(format!(
                "broadcast/label given for IPv6 address {}",
                self.addr
            )));
        }
        if let Some(label) = &self.label {
            // IFNAMSIZ - 1 bytes, the kernel's limit for IFA_LABEL.
            if label.is_empty() || label.len() > 15 {
                return Err(NetlinkError::Invalid(format!("label {label:?}")));
            }
        }
        Ok(())
    }

    fn message(&self) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.family = match self.addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        msg.header.prefix_len = self.prefix_len;
        msg.header.index = self.ifindex;
        if let Some(scope) = self.scope {
            msg.header.scope = scope.into();
        }
        msg.attributes.push(AddressAttribute::Local(self.addr));
        msg.attributes.push(AddressAttribute::Address(self.addr));
        if let Some(brd) = self.broadcast {
            msg.attributes.push(AddressAttribute::Broadcast(brd));
        }
        if let Some(label) = &self.label {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if self.nodad && self.addr.is_ipv6() {
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes
                .push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        msg
    }
}

/// What an add did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    /// EEXIST: the address was already on the interface (left unchanged).
    AlreadyPresent,
}

/// What a remove did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DelOutcome {
    Removed,
    /// EADDRNOTAVAIL / ENOENT / ESRCH: the address was not there.
    NotPresent,
}

/// One address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrInfo {
    pub ifindex: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub broadcast: Option<Ipv4Addr>,
    pub scope: Scope,
    pub label: Option<String>,
    /// IFA_F_* bits (IFA_FLAGS when present, else the header byte).
    pub flags: u32,
}

impl AddrInfo {
    pub fn is_secondary(&self) -> bool {
        self.flags & libc::IFA_F_SECONDARY != 0
    }
    pub fn is_tentative(&self) -> bool {
        self.flags & libc::IFA_F_TENTATIVE != 0
    }
    pub fn is_dad_failed(&self) -> bool {
        self.flags & libc::IFA_F_DADFAILED != 0
    }
    pub fn is_nodad(&self) -> bool {
        self.flags & libc::IFA_F_NODAD != 0
    }

    pub(crate) fn from_message(msg: &AddressMessage) -> Option<Self> {
        let mut local = None;
        let mut address = None;
        let mut broadcast = None;
        let mut label = None;
        let mut flags = None;
        for attr in &msg.attributes {
            match attr {
                AddressAttribute::Local(a) => local = Some(*a),
                AddressAttribute::Address(a) => address = Some(*a),
                AddressAttribute::Broadcast(b) => broadcast = Some(*b),
                AddressAttribute::Label(l) => label = Some(l.clone()),
                AddressAttribute::Flags(f) => flags = Some(f.bits()),
                _ => {}
            }
        }
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer
        // on point-to-point links and equal to it elsewhere.
        let addr = local.or(address)?;
        Some(Self {
            ifindex: msg.header.index,
            addr,
            prefix_len: msg.header.prefix_len,
            broadcast,
            scope: msg.header.scope.into(),
            label,
            flags: flags.unwrap_or(u32::from(msg.header.flags.bits())),
        })
    }
}

fn is_absent_errno(errno: i32) -> bool {
    matches!(errno, libc::EADDRNOTAVAIL | libc::ENOENT | libc::ESRCH)
}

impl Netlink {
    /// `ip addr add`; EEXIST is [`AddOutcome::AlreadyPresent`].
    pub async fn add_address(&self, spec: &AddrSpec) -> Result<AddOutcome, NetlinkError> {
        spec.validate()?;
        let mut req = self
            .handle
            .address()
            .add(spec.ifindex, spec.addr, spec.prefix_len);
        *req.message_mut() = spec.message();
        match req.execute().await {
            Ok(()) => Ok(AddOutcome::Added),
            Err(e) => match NetlinkError::from_rtnetlink("add address", e) {
                err if err.errno() == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
                err => Err(err),
            },
        }
    }

    /// [`add_address`](Self::add_address) on the blocking socket, without
    /// going through the runtime: for the takeover, where the GARP that
    /// follows must not wait.
    pub fn add_address_now(&self, spec: &AddrSpec) -> Result<AddOutcome, NetlinkError> {
        spec.validate()?;
        let msg = RouteNetlinkMessage::NewAddress(spec.message());
        match self.direct()?.create("add address", msg) {
            Ok(()) => Ok(AddOutcome::Added),
            Err(err) if err.errno() == Some(libc::EEXIST) => Ok(AddOutcome::AlreadyPresent),
            Err(err) => Err(err),
        }
    }

    /// `ip addr del`; an absent address is [`DelOutcome::NotPresent`].
    /// Only ifindex, address and prefix length identify the address.
    pub async fn del_address(&self, spec: &AddrSpec) -> Result<DelOutcome, NetlinkError> {
        spec.validate()?;
        let mut msg = AddressMessage::default();
        msg.header.family = match spec.addr {
            IpAddr::V4(_) => AddressFamily::Inet,
            IpAddr::V6(_) => AddressFamily::Inet6,
        };
        msg.header.prefix_len = spec.prefix_len;
        msg.header.index = spec.ifindex;
        msg.attributes.push(AddressAttribute::Local(spec.addr));
        msg.attributes.push(AddressAttribute::Address(spec.addr));
        match self.handle.address().del(msg).execute().await {
            Ok(()) => Ok(DelOutcome::Removed),
            Err(e) => match NetlinkError::from_rtnetlink("delete address", e) {
                err if err.errno().is_some_and(is_absent_errno) => Ok(DelOutcome::NotPresent),
                err => Err(err),
            },
        }
    }

    /// Every address on one interface, both families, in kernel order.
    pub async fn list_addresses(&self, ifindex: u32) -> Result<Vec<AddrInfo>, NetlinkError> {
        let msgs: Vec<AddressMessage> = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .execute()
            .try_collect()
            .await
            .map_err(|e| NetlinkError::from_rtnetlink("list addresses", e))?;
        Ok(msgs.iter().filter_map(AddrInfo::from_message).collect())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_spec_defaults_to_nodad_and_carries_the_flag() {
        let spec = AddrSpec::new(3, "2001:db8::1".parse().unwrap(), 64);
        assert!(spec.nodad);
        let msg = spec.message();
        assert!(
            msg.attributes
                .contains(&AddressAttribute::Flags(AddressFlags::Nodad))
        );
        assert_eq!(msg.header.family, AddressFamily::Inet6);
    }

    #[test]
    fn ipv4_spec_without_brd_sends_no_broadcast() {
        let spec = AddrSpec::new(3, "192.0.2.10".parse().unwrap(), 24);
        assert!(!spec.nodad);
        let msg = spec.message();
        assert!(
            !msg.attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Broadcast(_)))
        );
    }

    #[test]
    fn invalid_specs_are_refused() {
        let mut spec = AddrSpec::new(3, "2001:db8::1".parse().unwrap(), 129);
        assert!(spec.validate().is_err());
        spec.prefix_len = 64;
        spec.label = Some("eth0:1".into());
        assert!(spec.validate().is_err());
        let mut v4 = AddrSpec::new(3, "192.0.2.1".parse().unwrap(), 24);
        v4.label = Some("a-label-that-is-too-long".into());
        assert!(v4.validate().is_err());
    }

    #[test]
    fn listing_decodes_flags_and_prefers_local() {
        let mut msg = AddressMessage::default();
        msg.header.index = 7;
        msg.header.prefix_len = 24;
        msg.attributes
            .push(AddressAttribute::Address("192.0.2.99".parse().unwrap()));
        msg.attributes
            .push(AddressAttribute::Local("192.0.2.1".parse().unwrap()));
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::Secondary));
        let info = AddrInfo::from_message(&msg).unwrap();
        assert_eq!(info.addr, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert!(info.is_secondary());
        assert!(!info.is_tentative());
    }
}
