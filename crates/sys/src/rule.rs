// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Idempotent policy-routing rule add/remove (rtnetlink), for
//! keepalived's `virtual_rules` and `static_rules`.
//!
//! Rules are added with NLM_F_EXCL as keepalived adds them: an identical
//! rule already present is [`RuleOutcome::AlreadyPresent`]. A delete
//! sends the same selectors, so the kernel removes that rule only.

use std::net::IpAddr;

use rtnetlink::packet_route::route::{RouteProtocol, RouteRealm};
use rtnetlink::packet_route::rule::{
    RuleAction, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};
use rtnetlink::packet_route::{AddressFamily, IpProtocol};

use crate::netlink::{Netlink, NetlinkError};

/// What a matching packet does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// `table N` / `lookup N`.
    Table(u32),
    /// `goto PREF`.
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// One rule as `ip rule add` would install it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSpec {
    pub ipv6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    /// `not`.
    pub invert: bool,
    pub action: Action,
    pub priority: u32,
    pub tos: u8,
    /// `fwmark V[/M]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub realms: Option<u32>,
    pub suppress_prefixlen: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub tun_id: Option<u64>,
    pub uid_range: Option<(u32, u32)>,
    pub l3mdev: bool,
    /// FRA_PROTOCOL: 18 for a tracked rule (keepalived forces it).
    pub protocol: Option<u8>,
    pub ip_proto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
}

impl RuleSpec {
    pub fn new(ipv6: bool, action: Action, priority: u32) -> Self {
        Self {
            ipv6,
            from: None,
            to: None,
            invert: false,
            action,
            priority,
            tos: 0,
            fwmark: None,
            iif: None,
            oif: None,
            realms: None,
            suppress_prefixlen: None,
            suppress_ifgroup: None,
            tun_id: None,
            uid_range: None,
            l3mdev: false,
            protocol: None,
            ip_proto: None,
            sport: None,
            dport: None,
        }
    }

    fn validate(&self) -> Result<(), NetlinkError> {
        for (a, len) in self.from.iter().chain(self.to.iter()) {
            let max = if a.is_ipv4() { 32 } else { 128 };
            if a.is_ipv6() != self.ipv6 || *len > max {
                return Err(NetlinkError::Invalid(format!(
                    "rule selector {a}/{len} does not fit the rule's family"
                )));
            }
        }
        Ok(())
    }

    /// The RTM_NEWRULE / RTM_DELRULE body (both carry every selector).
    pub fn message(&self) -> RuleMessage {
        let mut msg = RuleMessage::default();
        let h = &mut msg.header;
        h.family = if self.ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        h.tos = self.tos;
        if self.invert {
            h.flags = RuleFlags::Invert;
        }
        let attrs = &mut msg.attributes;
        h.action = match self.action {
            Action::Table(t) => {
                // Tables above 255 travel as FRA_TABLE only.
                h.table = u8::try_from(t).unwrap_or(0);
                attrs.push(RuleAttribute::Table(t));
                RuleAction::ToTable
            }
            Action::Goto(p) => {
                attrs.push(RuleAttribute::Goto(p));
                RuleAction::Goto
            }
            Action::Nop => RuleAction::Nop,
            Action::Blackhole => RuleAction::Blackhole,
            Action::Unreachable => RuleAction::Unreachable,
            Action::Prohibit => RuleAction::Prohibit,
        };
        if let Some((a, len)) = self.from {
            h.src_len = len;
            attrs.push(RuleAttribute::Source(a));
        }
        if let Some((a, len)) = self.to {
            h.dst_len = len;
            attrs.push(RuleAttribute::Destination(a));
        }
        attrs.push(RuleAttribute::Priority(self.priority));
        if let Some((mark, mask)) = self.fwmark {
            attrs.push(RuleAttribute::FwMark(mark));
            if let Some(m) = mask {
                attrs.push(RuleAttribute::FwMask(m));
            }
        }
        if let Some(r) = self.realms {
            attrs.push(RuleAttribute::Realm(RouteRealm {
                source: u16::try_from(r >> 16).unwrap_or(0),
                destination: u16::try_from(r & 0xffff).unwrap_or(0),
            }));
        }
        if let Some(p) = self.suppress_prefixlen {
            attrs.push(RuleAttribute::SuppressPrefixLen(p));
        }
        if let Some(g) = self.suppress_ifgroup {
            attrs.push(RuleAttribute::SuppressIfGroup(g));
        }
        if let Some(i) = &self.iif {
            attrs.push(RuleAttribute::Iifname(i.clone()));
        }
        if let Some(o) = &self.oif {
            attrs.push(RuleAttribute::Oifname(o.clone()));
        }
        if let Some(t) = self.tun_id {
            attrs.push(RuleAttribute::TunId(t));
        }
        if let Some((start, end)) = self.uid_range {
            attrs.push(RuleAttribute::UidRange(RuleUidRange { start, end }));
        }
        if self.l3mdev {
            attrs.push(RuleAttribute::L3MDev(true));
        }
        if let Some(p) = self.protocol {
            attrs.push(RuleAttribute::Protocol(RouteProtocol::from(p)));
        }
        if let Some(p) = self.ip_proto {
            attrs.push(RuleAttribute::IpProtocol(IpProtocol::from(p)));
        }
        if let Some((start, end)) = self.sport {
            attrs.push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
        }
        if let Some((start, end)) = self.dport {
            attrs.push(RuleAttribute::DestinationPortRange(RulePortRange {
                start,
                end,
            }));
        }
        msg
    }
}

/// What an add did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOutcome {
    Added,
    AlreadyPresent,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleDelOutcome {
    Removed,
    NotPresent,
}

impl Netlink {
    /// `ip rule add`; EEXIST is [`RuleOutcome::AlreadyPresent`].
    pub async fn add_rule(&self, spec: &RuleSpec) -> Result<RuleOutcome, NetlinkError> {
        spec.validate()?;
        let mut req = self.handle.rule().add();
        *req.message_mut() = spec.message();
        match req.execute().await {
            Ok(()) => Ok(RuleOutcome::Added),
            Err(e) => match NetlinkError::from_rtnetlink("add rule", e) {
                err if err.errno() == Some(libc::EEXIST) => Ok(RuleOutcome::AlreadyPresent),
                err => Err(err),
            },
        }
    }

    /// `ip rule del`; an absent rule is [`RuleDelOutcome::NotPresent`].
    pub async fn del_rule(&self, spec: &RuleSpec) -> Result<RuleDelOutcome, NetlinkError> {
        spec.validate()?;
        match self.handle.rule().del(spec.message()).execute().await {
            Ok(()) => Ok(RuleDelOutcome::Removed),
            Err(e) => match NetlinkError::from_rtnetlink("delete rule", e) {
                err if err
                    .errno()
                    .is_some_and(|n| matches!(n, libc::ENOENT | libc::ESRCH)) =>
                {
                    Ok(RuleDelOutcome::NotPresent)
                }
                err => Err(err),
            },
        }
    }
}

/// A rule deletion the kernel announced: family, priority, table and
/// protocol are enough to tell one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleGone {
    pub ipv6: bool,
    pub priority: u32,
    pub table: u32,
    pub protocol: Option<u8>,
}

impl RuleGone {
    pub fn from_message(msg: &RuleMessage) -> Option<Self> {
        let ipv6 = match msg.header.family {
            AddressFamily::Inet => false,
            AddressFamily::Inet6 => true,
            _ => return None,
        };
        let mut priority = 0;
        let mut table = u32::from(msg.header.table);
        let mut protocol = None;
        for a in &msg.attributes {
            match a {
                RuleAttribute::Priority(p) => priority = *p,
                RuleAttribute::Table(t) => table = *t,
                RuleAttribute::Protocol(p) => protocol = Some(u8::from(*p)),
                _ => {}
            }
        }
        Some(Self {
            ipv6,
            priority,
            table,
            protocol,
        })
    }

    /// Whether this deletion removed `spec`.
    pub fn matches(&self, spec: &RuleSpec) -> bool {
        let table = match spec.action {
            Action::Table(t) => t,
            _ => 0,
        };
        self.ipv6 == spec.ipv6
            && self.priority == spec.priority
            && self.table == table
            && (self.protocol.is_none() || self.protocol == spec.protocol.or(Some(0)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_table_rule_names_table_and_priority() {
        let mut spec = RuleSpec::new(false, Action::Table(100), 200);
        spec.from = Some(("192.0.2.100".parse().unwrap(), 32));
        spec.protocol = Some(18);
        let msg = spec.message();
        assert_eq!(msg.header.action, RuleAction::ToTable);
        assert_eq!(msg.header.table, 100);
        assert_eq!(msg.header.src_len, 32);
        assert!(msg.attributes.contains(&RuleAttribute::Priority(200)));
        assert!(msg.attributes.contains(&RuleAttribute::Table(100)));
        let gone = RuleGone::from_message(&msg).unwrap();
        assert!(gone.matches(&spec));
        assert!(!gone.matches(&RuleSpec::new(false, Action::Table(100), 201)));
    }

    #[test]
    fn a_selector_of_the_other_family_is_refused() {
        let mut spec = RuleSpec::new(true, Action::Table(100), 10);
        spec.to = Some(("192.0.2.0".parse().unwrap(), 24));
        assert!(spec.validate().is_err());
    }
}
