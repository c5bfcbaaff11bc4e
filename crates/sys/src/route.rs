// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Idempotent route add/remove (rtnetlink), for keepalived's
//! `virtual_routes` and `static_routes`.
//!
//! Like addresses ([`crate::addr`]), "add a route that is there" and
//! "remove one that is not" succeed: a child restarted after a crash
//! meets what its predecessor installed. The kernel refuses an identical
//! route with EEXIST whatever the add flags, so one already present is
//! reported as [`RouteOutcome::AlreadyPresent`] and left alone.
//!
//! A route to a destination that already has one (same TOS and metric,
//! another gateway) is placed as keepalived places it ([`AddMode`]):
//! in front by default, after it for `append`, refused for `add`.
//!
//! A delete names the protocol (18, "keepalived", unless configured
//! otherwise): the kernel then removes only a route we installed, never
//! an administrator's route to the same prefix.

use std::net::IpAddr;

use futures_util::{StreamExt, TryStreamExt};

use rtnetlink::packet_route::AddressFamily;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteMetric, RouteNextHop,
    RouteNextHopFlags, RoutePreference, RouteProtocol, RouteRealm, RouteScope, RouteType, RouteVia,
};

use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage,
    NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;

use crate::netlink::{Netlink, NetlinkError};

/// RTPROT_KEEPALIVED: keepalived's routes carry it, and keepalived (and
/// we) recognise our own routes by it.
pub const PROTO_KEEPALIVED: u8 = 18;
/// RT_TABLE_MAIN.
pub const TABLE_MAIN: u32 = 254;

/// One `RTAX_*` route metric (`ip route ... mtu 1400 advmss 1360`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Metric {
    Mtu(u32),
    Window(u32),
    Rtt(u32),
    RttVar(u32),
    SsThresh(u32),
    Cwnd(u32),
    Advmss(u32),
    Reordering(u32),
    Hoplimit(u32),
    InitCwnd(u32),
    Features(u32),
    RtoMin(u32),
    InitRwnd(u32),
    QuickAck(u32),
    FastopenNoCookie(u32),
    CcAlgo(String),
    /// `lock`ed metrics, as the RTAX_LOCK bit mask.
    Lock(u32),
}

impl From<&Metric> for RouteMetric {
    fn from(m: &Metric) -> Self {
        match m {
            Metric::Mtu(v) => Self::Mtu(*v),
            Metric::Window(v) => Self::Window(*v),
            Metric::Rtt(v) => Self::Rtt(*v),
            Metric::RttVar(v) => Self::RttVar(*v),
            Metric::SsThresh(v) => Self::SsThresh(*v),
            Metric::Cwnd(v) => Self::Cwnd(*v),
            Metric::Advmss(v) => Self::Advmss(*v),
            Metric::Reordering(v) => Self::Reordering(*v),
            Metric::Hoplimit(v) => Self::Hoplimit(*v),
            Metric::InitCwnd(v) => Self::InitCwnd(*v),
            Metric::Features(v) => Self::Features(*v),
            Metric::RtoMin(v) => Self::RtoMin(*v),
            Metric::InitRwnd(v) => Self::InitRwnd(*v),
            Metric::QuickAck(v) => Self::QuickAck(*v),
            Metric::FastopenNoCookie(v) => Self::FastopenNoCookie(*v),
            Metric::CcAlgo(s) => Self::CcAlgo(s.clone()),
            Metric::Lock(v) => Self::Lock(*v),
        }
    }
}

/// Where a new route goes among routes to the same destination, TOS
/// and metric (keepalived's `prepend` / `add` / `append`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AddMode {
    /// NLM_F_CREATE: first of the list (the kernel's and keepalived's
    /// default, `ip route prepend`).
    #[default]
    Prepend,
    /// NLM_F_CREATE|NLM_F_EXCL: refused when one is there
    /// (`ip route add`).
    Exclusive,
    /// NLM_F_CREATE|NLM_F_APPEND: last of the list (`ip route append`).
    Append,
}

impl AddMode {
    /// The RTM_NEWROUTE header flags.
    pub fn flags(self) -> u16 {
        let base = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
        match self {
            Self::Prepend => base,
            Self::Exclusive => base | NLM_F_EXCL,
            Self::Append => base | NLM_F_APPEND,
        }
    }
}

/// One hop of a multipath route (`nexthop via GW dev IF weight W`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NextHop {
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    /// 1..=256, as `ip route` takes it (the kernel stores weight - 1).
    pub weight: u16,
    pub onlink: bool,
    pub realms: Option<u32>,
}

/// One route as `ip route add` would install it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteSpec {
    pub dst: IpAddr,
    pub dst_len: u8,
    /// IPv6 source-specific routing (`from PFX`).
    pub src: Option<(IpAddr, u8)>,
    /// The preferred source (`src IP`).
    pub pref_src: Option<IpAddr>,
    pub via: Option<IpAddr>,
    pub oif: Option<u32>,
    pub table: u32,
    pub metric: Option<u32>,
    pub protocol: u8,
    /// RT_SCOPE_* (0 universe, 253 link, 254 host).
    pub scope: u8,
    /// RTN_* (1 unicast, 6 blackhole, 7 unreachable, 8 prohibit, ...).
    pub kind: u8,
    pub tos: u8,
    pub onlink: bool,
    pub realms: Option<u32>,
    pub expires: Option<u32>,
    /// IPv6 router preference (`pref low|medium|high`).
    pub pref: Option<u8>,
    pub metrics: Vec<Metric>,
    pub nexthops: Vec<NextHop>,
    pub mode: AddMode,
}

impl RouteSpec {
    /// A unicast route in the main table with keepalived's protocol.
    pub fn new(dst: IpAddr, dst_len: u8) -> Self {
        Self {
            dst,
            dst_len,
            src: None,
            pref_src: None,
            via: None,
            oif: None,
            table: TABLE_MAIN,
            metric: None,
            protocol: PROTO_KEEPALIVED,
            scope: 0,
            kind: 1,
            tos: 0,
            onlink: false,
            realms: None,
            expires: None,
            pref: None,
            metrics: Vec::new(),
            nexthops: Vec::new(),
            mode: AddMode::default(),
        }
    }

    fn family(&self) -> AddressFamily {
        if self.dst.is_ipv4() {
            AddressFamily::Inet
        } else {
            AddressFamily::Inet6
        }
    }

    fn validate(&self) -> Result<(), NetlinkError> {
        let max = if self.dst.is_ipv4() { 32 } else { 128 };
        if self.dst_len > max {
            return Err(NetlinkError::Invalid(format!(
                "prefix length {} for route to {}",
                self.dst_len, self.dst
            )));
        }
        let same = |a: &IpAddr| a.is_ipv4() == self.dst.is_ipv4();
        if !self.pref_src.iter().all(same) || !self.src.iter().all(|(a, _)| same(a)) {
            return Err(NetlinkError::Invalid(format!(
                "route to {} mixes address families",
                self.dst
            )));
        }
        Ok(())
    }

    /// The RTM_NEWROUTE body.
    pub fn message(&self) -> RouteMessage {
        let mut msg = self.key();
        msg.header.scope = RouteScope::from(self.scope);
        msg.header.kind = RouteType::from(self.kind);
        if self.onlink {
            msg.header.flags = RouteFlags::Onlink;
        }
        let attrs = &mut msg.attributes;
        if let Some(p) = self.pref_src {
            attrs.push(RouteAttribute::PrefSource(address(p)));
        }
        if let Some(r) = self.realms {
            attrs.push(RouteAttribute::Realm(realm(r)));
        }
        if let Some(e) = self.expires {
            attrs.push(RouteAttribute::Expires(e));
        }
        if let Some(p) = self.pref {
            attrs.push(RouteAttribute::Preference(RoutePreference::from(p)));
        }
        if !self.metrics.is_empty() {
            attrs.push(RouteAttribute::Metrics(
                self.metrics.iter().map(RouteMetric::from).collect(),
            ));
        }
        if !self.nexthops.is_empty() {
            let hops = self.nexthops.iter().map(|h| self.hop(h)).collect();
            attrs.push(RouteAttribute::MultiPath(hops));
        }
        msg
    }

    /// What identifies the route to the kernel on delete (and on add):
    /// family, table, destination, source, TOS, metric, protocol,
    /// gateway and output interface.
    fn key(&self) -> RouteMessage {
        let mut msg = RouteMessage::default();
        let h = &mut msg.header;
        h.address_family = self.family();
        h.destination_prefix_length = self.dst_len;
        h.tos = self.tos;
        h.protocol = RouteProtocol::from(self.protocol);
        // Tables above 255 travel as RTA_TABLE only.
        h.table = u8::try_from(self.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
        h.scope = RouteScope::NoWhere;
        h.kind = RouteType::Unspec;
        let attrs = &mut msg.attributes;
        attrs.push(RouteAttribute::Table(self.table));
        attrs.push(RouteAttribute::Destination(address(self.dst)));
        if let Some((a, len)) = self.src {
            h.source_prefix_length = len;
            attrs.push(RouteAttribute::Source(address(a)));
        }
        if let Some(v) = self.via {
            attrs.push(gateway(self.dst, v));
        }
        if let Some(o) = self.oif {
            attrs.push(RouteAttribute::Oif(o));
        }
        if let Some(m) = self.metric {
            attrs.push(RouteAttribute::Priority(m));
        }
        msg
    }

    fn hop(&self, h: &NextHop) -> RouteNextHop {
        let mut hop = RouteNextHop::default();
        hop.hops = u8::try_from(h.weight.clamp(1, 256) - 1).unwrap_or(u8::MAX);
        hop.interface_index = h.oif.unwrap_or(0);
        if h.onlink {
            hop.flags = RouteNextHopFlags::Onlink;
        }
        if let Some(v) = h.via {
            hop.attributes.push(gateway(self.dst, v));
        }
        if let Some(r) = h.realms {
            hop.attributes.push(RouteAttribute::Realm(realm(r)));
        }
        hop
    }
}

fn address(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    }
}

/// RTA_GATEWAY in the route's family; RTA_VIA for an IPv6 gateway of
/// an IPv4 route (RFC 5549), as keepalived does.
fn gateway(dst: IpAddr, via: IpAddr) -> RouteAttribute {
    if dst.is_ipv4() == via.is_ipv4() {
        RouteAttribute::Gateway(address(via))
    } else {
        RouteAttribute::Via(match via {
            IpAddr::V4(v4) => RouteVia::Inet(v4),
            IpAddr::V6(v6) => RouteVia::Inet6(v6),
        })
    }
}

/// `realms` as the kernel packs it: source in the high 16 bits.
fn realm(r: u32) -> RouteRealm {
    RouteRealm {
        source: u16::try_from(r >> 16).unwrap_or(0),
        destination: u16::try_from(r & 0xffff).unwrap_or(0),
    }
}

/// What an add did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteOutcome {
    Added,
    /// EEXIST: the same route was there (left unchanged).
    AlreadyPresent,
}

/// What a delete did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteDelOutcome {
    Removed,
    /// ESRCH / ENOENT: no such route.
    NotPresent,
}

impl Netlink {
    /// `ip route add`; EEXIST is [`RouteOutcome::AlreadyPresent`].
    pub async fn add_route(&self, spec: &RouteSpec) -> Result<RouteOutcome, NetlinkError> {
        spec.validate()?;
        // rtnetlink's add request always sends NLM_F_EXCL (or REPLACE);
        // the placement flags are ours to choose, so the message is sent
        // as is.
        let mut req = NetlinkMessage::from(RouteNetlinkMessage::NewRoute(spec.message()));
        req.header.flags = spec.mode.flags();
        match self.acked("add route", req).await {
            Ok(()) => Ok(RouteOutcome::Added),
            Err(err) if err.errno() == Some(libc::EEXIST) => Ok(RouteOutcome::AlreadyPresent),
            Err(err) => Err(err),
        }
    }

    /// Sends one request and waits for its acknowledgement.
    async fn acked(
        &self,
        op: &'static str,
        req: NetlinkMessage<RouteNetlinkMessage>,
    ) -> Result<(), NetlinkError> {
        let mut handle = self.handle.clone();
        let mut answers = handle
            .request(req)
            .map_err(|e| NetlinkError::from_rtnetlink(op, e))?;
        while let Some(msg) = answers.next().await {
            if let NetlinkPayload::Error(e) = msg.payload
                && e.code.is_some()
            {
                return Err(NetlinkError::from_rtnetlink(
                    op,
                    rtnetlink::Error::NetlinkError(e),
                ));
            }
        }
        Ok(())
    }

    /// `ip route del`, only of a route with the spec's protocol; an
    /// absent route is [`RouteDelOutcome::NotPresent`].
    pub async fn del_route(&self, spec: &RouteSpec) -> Result<RouteDelOutcome, NetlinkError> {
        spec.validate()?;
        match self.handle.route().del(spec.key()).execute().await {
            Ok(()) => Ok(RouteDelOutcome::Removed),
            Err(e) => match NetlinkError::from_rtnetlink("delete route", e) {
                err if err
                    .errno()
                    .is_some_and(|n| matches!(n, libc::ESRCH | libc::ENOENT)) =>
                {
                    Ok(RouteDelOutcome::NotPresent)
                }
                err => Err(err),
            },
        }
    }
}

impl Netlink {
    /// The routes of one family in `table` (a dump of every table,
    /// filtered here: the kernel's strict dump filtering is opt-in per
    /// socket). For finding what a killed run left behind, and who else
    /// uses the table.
    pub async fn list_routes(
        &self,
        ipv6: bool,
        table: u32,
    ) -> Result<Vec<RouteGone>, NetlinkError> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = if ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let msgs: Vec<RouteMessage> = self
            .handle
            .route()
            .get(msg)
            .execute()
            .try_collect()
            .await
            .map_err(|e| NetlinkError::from_rtnetlink("list routes", e))?;
        Ok(msgs
            .iter()
            .filter_map(RouteGone::from_message)
            .filter(|r| r.table == table)
            .collect())
    }
}

/// A route deletion the kernel announced: enough to tell one of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteGone {
    pub dst: IpAddr,
    pub dst_len: u8,
    pub table: u32,
    pub protocol: u8,
    pub tos: u8,
    pub metric: Option<u32>,
}

impl RouteGone {
    pub fn from_message(msg: &RouteMessage) -> Option<Self> {
        let mut dst = None;
        let mut table = u32::from(msg.header.table);
        let mut metric = None;
        for a in &msg.attributes {
            match a {
                RouteAttribute::Destination(RouteAddress::Inet(v4)) => dst = Some(IpAddr::V4(*v4)),
                RouteAttribute::Destination(RouteAddress::Inet6(v6)) => {
                    dst = Some(IpAddr::V6(*v6));
                }
                RouteAttribute::Table(t) => table = *t,
                RouteAttribute::Priority(m) => metric = Some(*m),
                _ => {}
            }
        }
        // A default route carries no RTA_DST.
        let dst = dst.or(match msg.header.address_family {
            AddressFamily::Inet => Some(IpAddr::from([0u8; 4])),
            AddressFamily::Inet6 => Some(IpAddr::from([0u16; 8])),
            _ => None,
        })?;
        Some(Self {
            dst,
            dst_len: msg.header.destination_prefix_length,
            table,
            protocol: u8::from(msg.header.protocol),
            tos: msg.header.tos,
            metric,
        })
    }

    /// Whether this deletion removed `spec` (the kernel's key: table,
    /// destination, TOS, metric; and our protocol).
    pub fn matches(&self, spec: &RouteSpec) -> bool {
        self.dst == spec.dst
            && self.dst_len == spec.dst_len
            && self.table == spec.table
            && self.protocol == spec.protocol
            && self.tos == spec.tos
            && self.metric.unwrap_or(0) == spec.metric.unwrap_or(default_metric(spec.dst))
    }
}

/// The metric the kernel gives a route added without one: 0 for IPv4,
/// IP6_RT_PRIO_USER (1024) for IPv6.
fn default_metric(dst: IpAddr) -> u32 {
    if dst.is_ipv6() { 1024 } else { 0 }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn placement_words_become_keepalived_s_new_route_flags() {
        let base = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;
        assert_eq!(AddMode::Prepend.flags(), base, "no EXCL: goes in front");
        assert_eq!(AddMode::Exclusive.flags(), base | NLM_F_EXCL);
        assert_eq!(AddMode::Append.flags(), base | NLM_F_APPEND);
        assert_eq!(AddMode::default(), AddMode::Prepend);
    }

    #[test]
    fn a_route_carries_keepalived_protocol_and_its_table() {
        let mut spec = RouteSpec::new("203.0.113.0".parse().unwrap(), 25);
        spec.table = 1000;
        spec.via = Some("192.0.2.254".parse().unwrap());
        spec.oif = Some(3);
        let msg = spec.message();
        assert_eq!(u8::from(msg.header.protocol), PROTO_KEEPALIVED);
        assert_eq!(msg.header.table, RouteHeader::RT_TABLE_UNSPEC);
        assert!(msg.attributes.contains(&RouteAttribute::Table(1000)));
        assert!(msg.attributes.contains(&RouteAttribute::Oif(3)));
        assert_eq!(msg.header.kind, RouteType::Unicast);
        assert_eq!(msg.header.scope, RouteScope::Universe);
    }

    #[test]
    fn a_delete_names_only_the_key() {
        let mut spec = RouteSpec::new("203.0.113.0".parse().unwrap(), 25);
        spec.pref_src = Some("192.0.2.100".parse().unwrap());
        spec.metrics.push(Metric::Mtu(1400));
        let key = spec.key();
        assert_eq!(key.header.scope, RouteScope::NoWhere);
        assert!(!key.attributes.iter().any(|a| matches!(
            a,
            RouteAttribute::PrefSource(_) | RouteAttribute::Metrics(_)
        )));
        assert_eq!(u8::from(key.header.protocol), PROTO_KEEPALIVED);
    }

    #[test]
    fn an_ipv6_gateway_of_an_ipv4_route_is_rta_via() {
        let mut spec = RouteSpec::new("203.0.113.0".parse().unwrap(), 24);
        spec.via = Some("fe80::1".parse().unwrap());
        assert!(
            spec.message()
                .attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Via(RouteVia::Inet6(_))))
        );
    }

    #[test]
    fn nexthop_weight_is_stored_minus_one() {
        let mut spec = RouteSpec::new("203.0.113.0".parse().unwrap(), 24);
        spec.nexthops.push(NextHop {
            via: Some("192.0.2.1".parse().unwrap()),
            weight: 3,
            ..NextHop::default()
        });
        let hops = spec.message().attributes.into_iter().find_map(|a| match a {
            RouteAttribute::MultiPath(h) => Some(h),
            _ => None,
        });
        assert_eq!(hops.unwrap()[0].hops, 2);
    }

    #[test]
    fn a_deletion_notice_matches_by_the_kernel_key() {
        let mut spec = RouteSpec::new("203.0.113.0".parse().unwrap(), 25);
        spec.table = 100;
        let gone = RouteGone::from_message(&spec.message()).unwrap();
        assert!(gone.matches(&spec));
        spec.metric = Some(5);
        assert!(!gone.matches(&spec), "another metric is another route");
        let mut default = RouteSpec::new("0.0.0.0".parse().unwrap(), 0);
        default.table = 100;
        let mut msg = default.message();
        msg.attributes
            .retain(|a| !matches!(a, RouteAttribute::Destination(_)));
        assert!(RouteGone::from_message(&msg).unwrap().matches(&default));
        // IPv6: the kernel reports its default metric 1024.
        let v6 = RouteSpec::new("2001:db8:2::".parse().unwrap(), 48);
        let mut reported = v6.clone();
        reported.metric = Some(1024);
        let gone = RouteGone::from_message(&reported.message()).unwrap();
        assert!(gone.matches(&v6));
    }

    #[test]
    fn mixed_families_are_refused() {
        let mut spec = RouteSpec::new("203.0.113.0".parse().unwrap(), 24);
        spec.pref_src = Some("2001:db8::1".parse().unwrap());
        assert!(spec.validate().is_err());
        spec.pref_src = None;
        spec.dst_len = 33;
        assert!(spec.validate().is_err());
    }
}
