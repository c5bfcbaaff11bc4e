// SPDX-License-Identifier: Apache-2.0 OR MIT
//! An instance's virtual routes and rules as keepalived 2.2.7 writes them
//! in keepalived.json (`vroutes`, `vrules`: the text of its
//! `format_iproute` / `format_iprule`), so that tools reading the file see
//! the same strings.
//!
//! Rendered from what we install (the plans), with numbers where
//! keepalived prints numbers (table, protocol, scope). Where we differ
//! (docs/compatibility.md): keepalived appends ` [dev IF]` to an
//! installed route configured without `dev` (the interface the kernel
//! chose) and ` [installed ifindex 0]` to an installed IPv6 route, and
//! writes `add` for some routes it was not told to `add` (seen for a
//! `blackhole` one); we write neither suffix, and the word configured
//! (`prepend` when none was).

use std::fmt::Write;
use std::net::IpAddr;

use keepalived_sys::route::{AddMode, Metric, PROTO_KEEPALIVED, TABLE_MAIN};
use keepalived_sys::rule::Action;

use super::routing::spec::{ROUTE_TYPES, RoutePlan, RulePlan};

/// keepalived prints a prefix length only when it is not a host's.
fn prefix(a: IpAddr, len: u8) -> String {
    let host = if a.is_ipv4() { 32 } else { 128 };
    if len == host {
        a.to_string()
    } else {
        format!("{a}/{len}")
    }
}

fn family(a: IpAddr) -> &'static str {
    if a.is_ipv4() { "inet" } else { "inet6" }
}

/// RTN_* names as iproute2 prints them (a number for one we never plan).
fn route_type(kind: u8) -> String {
    ROUTE_TYPES
        .iter()
        .find_map(|&(name, id)| (id == kind).then(|| name.to_owned()))
        .unwrap_or_else(|| kind.to_string())
}

pub fn route(r: &RoutePlan) -> String {
    let s = &r.spec;
    let mut out = String::from(match s.mode {
        AddMode::Prepend => "prepend ",
        AddMode::Exclusive => "add ",
        AddMode::Append => "append ",
    });
    if s.kind != 1 {
        let _ = write!(out, "{} ", route_type(s.kind));
    }
    if s.dst_len == 0 {
        out.push_str("default");
    } else {
        out.push_str(&prefix(s.dst, s.dst_len));
    }
    if let Some((a, l)) = s.src {
        let _ = write!(out, " from {}", prefix(a, l));
    }
    if let Some(a) = s.pref_src {
        let _ = write!(out, " src {a}");
    }
    if s.tos != 0 {
        let _ = write!(out, " tos {}", s.tos);
    }
    if let Some(v) = s.via {
        let _ = write!(out, " via {} {v}", family(v));
    }
    if let Some(d) = &r.dev {
        let _ = write!(out, " dev {d}");
    }
    if s.table != TABLE_MAIN {
        let _ = write!(out, " table {}", s.table);
    }
    // keepalived writes the protocol when it set it: on every route it
    // meant to track (including one it then stops tracking for want of
    // a `dev`), and where configured.
    if r.tracked || r.dev.is_none() || s.protocol != PROTO_KEEPALIVED {
        let _ = write!(out, " proto {}", s.protocol);
    }
    // The scope only when not the default.
    if s.scope != 0 {
        let _ = write!(out, " scope {}", s.scope);
    }
    if let Some(m) = s.metric {
        let _ = write!(out, " metric {m}");
    }
    if s.onlink && s.dst.is_ipv4() {
        out.push_str(" onlink");
    }
    if let Some(r) = s.realms {
        realms(&mut out, r);
    }
    if let Some(e) = s.expires {
        let _ = write!(out, " expires {e}sec");
    }
    metrics(&mut out, &s.metrics);
    for (hop, dev) in s.nexthops.iter().zip(&r.hop_devs) {
        out.push_str(" nexthop");
        if let Some(v) = hop.via {
            let six = if v.is_ipv4() { "" } else { "6" };
            let _ = write!(out, " via inet{six} {v}");
        }
        if let Some(d) = dev {
            let _ = write!(out, " dev {d}");
        }
        if hop.weight > 1 {
            let _ = write!(out, " weight {}", hop.weight);
        }
        if hop.onlink {
            out.push_str(" onlink");
        }
    }
    if !r.tracked {
        out.push_str(" no_track");
    }
    out
}

fn realms(out: &mut String, r: u32) {
    if r & 0xFFFF_0000 != 0 {
        let _ = write!(out, " realms {}/{}", r >> 16, r & 0xFFFF);
    } else {
        let _ = write!(out, " realm {}", r & 0xFFFF);
    }
}

/// The metrics keepalived prints as plain numbers, in its order, each
/// with the RTAX_* number whose lock bit it shows as `lock ` (none for
/// those it prints without).
const PRINTED_METRICS: [(&str, Option<u32>); 10] = [
    ("mtu", Some(2)),
    ("window", None),
    ("ssthresh", Some(6)),
    ("cwnd", Some(7)),
    ("advmss", Some(8)),
    ("reordering", Some(9)),
    ("hoplimit", None),
    ("initcwnd", None),
    ("initrwnd", None),
    ("quickack", None),
];

/// A metric's name in [`PRINTED_METRICS`], and its value.
fn printed(m: &Metric) -> Option<(&'static str, u32)> {
    Some(match *m {
        Metric::Mtu(v) => ("mtu", v),
        Metric::Window(v) => ("window", v),
        Metric::SsThresh(v) => ("ssthresh", v),
        Metric::Cwnd(v) => ("cwnd", v),
        Metric::Advmss(v) => ("advmss", v),
        Metric::Reordering(v) => ("reordering", v),
        Metric::Hoplimit(v) => ("hoplimit", v),
        Metric::InitCwnd(v) => ("initcwnd", v),
        Metric::InitRwnd(v) => ("initrwnd", v),
        Metric::QuickAck(v) => ("quickack", v),
        _ => return None,
    })
}

fn metrics(out: &mut String, ms: &[Metric]) {
    let lock = ms
        .iter()
        .find_map(|m| match m {
            Metric::Lock(l) => Some(*l),
            _ => None,
        })
        .unwrap_or(0);
    for (name, rtax) in PRINTED_METRICS {
        let first = ms
            .iter()
            .filter_map(printed)
            .find_map(|(n, v)| (n == name).then_some(v));
        if let Some(v) = first {
            let locked = match rtax {
                Some(r) if lock & (1 << r) != 0 => "lock ",
                _ => "",
            };
            let _ = write!(out, " {name} {locked}{v}");
        }
    }
}

pub fn rule(r: &RulePlan) -> String {
    let s = &r.spec;
    let mut out = String::new();
    if s.from.is_none() && s.to.is_none() && s.ipv6 {
        out.push_str("inet6 ");
    }
    if s.invert {
        out.push_str("not ");
    }
    match s.from {
        Some((a, l)) => {
            let _ = write!(out, "from {}", prefix(a, l));
        }
        None => out.push_str("from all"),
    }
    if let Some((a, l)) = s.to {
        let _ = write!(out, " to {}", prefix(a, l));
    }
    let _ = write!(out, " priority {} tos 0x{:x}", s.priority, s.tos);
    if let Some((mark, mask)) = s.fwmark {
        let _ = write!(out, " fwmark 0x{mark:x}");
        if let Some(m) = mask.filter(|m| *m != u32::MAX) {
            let _ = write!(out, "/0x{m:x}");
        }
    }
    if let Some(i) = &s.iif {
        let _ = write!(out, " iif {i}");
    }
    if let Some(o) = &s.oif {
        let _ = write!(out, " oif {o}");
    }
    if let Some(p) = s.suppress_prefixlen {
        let _ = write!(out, " suppress_prefixlen {p}");
    }
    if let Some(g) = s.suppress_ifgroup {
        let _ = write!(out, " suppress_ifgroup {g}");
    }
    if let Some(t) = s.tun_id {
        let _ = write!(out, " tunnel-id {t}");
    }
    if let Some((a, b)) = s.uid_range {
        let _ = write!(out, " uidrange {a}-{b}");
    }
    if s.l3mdev {
        out.push_str(" l3mdev");
    }
    if let Some(p) = s.protocol {
        let _ = write!(out, " protocol {p}");
    }
    if let Some(p) = s.ip_proto {
        let _ = write!(out, " ipproto {p}");
    }
    if let Some((a, b)) = s.sport {
        let _ = write!(out, " sport {a}-{b}");
    }
    if let Some((a, b)) = s.dport {
        let _ = write!(out, " dport {a}-{b}");
    }
    if let Some(r) = s.realms {
        let _ = write!(out, " realms {}/{}", r >> 16, r & 0xffff);
    }
    let _ = match s.action {
        Action::Table(t) => write!(out, " lookup {t}"),
        Action::Goto(p) => write!(out, " goto {p}"),
        Action::Nop => write!(out, " nop"),
        Action::Blackhole => write!(out, " type blackhole"),
        Action::Unreachable => write!(out, " type unreachable"),
        Action::Prohibit => write!(out, " type prohibit"),
    };
    if !r.tracked {
        out.push_str(" no_track");
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use keepalived_config::preprocess::Options;
    use keepalived_config::{SystemHost, load_str};

    use super::*;
    use crate::child::vrrp::routing::spec::{route_plan, rule_plan};

    fn no_names(_: &str) -> Option<u32> {
        None
    }

    fn config(text: &str) -> keepalived_config::Config {
        load_str(Path::new("t.conf"), text, &Options::default(), &SystemHost).config
    }

    fn route_of(line: &str) -> String {
        let c = config(&format!("static_routes {{\n{line}\n}}\n"));
        let r = c.static_routes.first().expect("a route");
        route(&route_plan(r, &no_names).expect("a plan"))
    }

    fn rule_of(line: &str) -> String {
        let c = config(&format!("static_rules {{\n{line}\n}}\n"));
        let r = c.static_rules.first().expect("a rule");
        rule(&rule_plan(r, &no_names).expect("a plan"))
    }

    #[test]
    fn routes_read_as_keepalived_writes_them() {
        assert_eq!(
            route_of("198.51.100.0/24 via 192.0.2.254 dev veth0"),
            "prepend 198.51.100.0/24 via inet 192.0.2.254 dev veth0 proto 18"
        );
        assert_eq!(
            route_of("blackhole 198.51.100.64/26 table 100"),
            "prepend blackhole 198.51.100.64/26 table 100 proto 18 no_track"
        );
        assert_eq!(
            route_of("198.51.100.7 dev veth0 scope link metric 50 no_track"),
            "prepend 198.51.100.7 dev veth0 scope 253 metric 50 no_track"
        );
        assert_eq!(
            route_of("2001:db8:2::/64 via 2001:db8:1::254 dev veth0"),
            "prepend 2001:db8:2::/64 via inet6 2001:db8:1::254 dev veth0 proto 18"
        );
        // keepalived's order, not the line's; the first of a repeated one.
        assert_eq!(
            route_of(
                "198.51.100.0/24 dev veth0 quickack 1 hoplimit 9 advmss 1300 mtu 1400 mtu 1500 window 7"
            ),
            "prepend 198.51.100.0/24 dev veth0 proto 18 mtu 1400 window 7 advmss 1300 hoplimit 9 quickack 1"
        );
    }

    #[test]
    fn rules_read_as_keepalived_writes_them() {
        assert_eq!(
            rule_of("from 198.51.100.0/24 table 100 priority 100"),
            "from 198.51.100.0/24 priority 100 tos 0x0 protocol 18 lookup 100"
        );
        assert_eq!(
            rule_of("to 198.51.100.64/26 fwmark 7 table main priority 300 no_track"),
            "from all to 198.51.100.64/26 priority 300 tos 0x0 fwmark 0x7 lookup 254 no_track"
        );
    }
}
