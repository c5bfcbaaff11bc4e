// SPDX-License-Identifier: Apache-2.0 OR MIT
//! From a configured route or rule (`ip route` / `ip rule` words kept by
//! the config crate) to what the kernel is asked for. Pure: interface
//! names stay names until the route is installed (an interface may come
//! and go while the daemon runs).
//!
//! keepalived's rules (vrrp_iproute.c, vrrp_iprule.c `alloc_*`):
//! * a route is unicast, in table main, scope universe, unless written
//!   otherwise; a tracked route (no `no_track`) always carries protocol
//!   18 ("keepalived"), which is how keepalived tells its routes from
//!   others; an untracked one keeps a configured protocol, else 18 too;
//! * a rule needs an action (`table`, `goto`, `nop`, `blackhole`,
//!   `unreachable`, `prohibit`), else it is dropped; a tracked rule
//!   carries FRA_PROTOCOL 18;
//! * table, scope, protocol and type names are those of iproute2's
//!   built-in tables; other names are read from
//!   `/etc/iproute2/rt_tables` by the caller, never guessed.

use std::net::IpAddr;

use keepalived_config::model::addr::{Prefix, Route, RouteAddMode, Rule};
use keepalived_sys::route::{AddMode, Metric, NextHop, PROTO_KEEPALIVED, RouteSpec};
use keepalived_sys::rule::{Action, RuleSpec};

/// A route ready to install once its interfaces are looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutePlan {
    /// `oif` and the hops' `oif` are filled in at install time.
    pub spec: RouteSpec,
    pub dev: Option<String>,
    /// One per `spec.nexthops` entry.
    pub hop_devs: Vec<Option<String>>,
    /// A deletion behind our back is answered (no `no_track`).
    pub tracked: bool,
}

/// A rule ready to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RulePlan {
    pub spec: RuleSpec,
    pub tracked: bool,
}

/// Looks up table names beyond the built-in ones (`rt_tables`).
pub type TableNames<'a> = &'a dyn Fn(&str) -> Option<u32>;

/// `main`, `local`, `default`, a number, or a name `names` knows.
pub fn table_id(name: &str, names: TableNames<'_>) -> Result<u32, String> {
    match name {
        "main" => Ok(254),
        "local" => Ok(255),
        "default" => Ok(253),
        "unspec" => Ok(0),
        _ => number(name)
            .or_else(|| names(name))
            .ok_or_else(|| format!("unknown routing table '{name}'")),
    }
}

/// Decimal or 0x-hex.
fn number(s: &str) -> Option<u32> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn small(s: &str, what: &str) -> Result<u8, String> {
    number(s)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or_else(|| format!("invalid {what} '{s}'"))
}

fn scope_id(s: &str) -> Result<u8, String> {
    match s {
        "global" | "universe" => Ok(0),
        "site" => Ok(200),
        "link" => Ok(253),
        "host" => Ok(254),
        "nowhere" => Ok(255),
        _ => small(s, "scope"),
    }
}

fn protocol_id(s: &str) -> Result<u8, String> {
    match s {
        "unspec" => Ok(0),
        "redirect" => Ok(1),
        "kernel" => Ok(2),
        "boot" => Ok(3),
        "static" => Ok(4),
        "ra" => Ok(9),
        "dhcp" => Ok(16),
        "keepalived" => Ok(PROTO_KEEPALIVED),
        "babel" => Ok(42),
        "bgp" => Ok(186),
        "isis" => Ok(187),
        "ospf" => Ok(188),
        "rip" => Ok(189),
        _ => small(s, "protocol"),
    }
}

/// Route types (RTN_*) by the names `ip route` takes and prints.
pub const ROUTE_TYPES: [(&str, u8); 9] = [
    ("unicast", 1),
    ("local", 2),
    ("broadcast", 3),
    ("anycast", 4),
    ("multicast", 5),
    ("blackhole", 6),
    ("unreachable", 7),
    ("prohibit", 8),
    ("throw", 9),
];

fn type_id(s: &str) -> Result<u8, String> {
    ROUTE_TYPES
        .iter()
        .find_map(|&(name, id)| (name == s).then_some(id))
        .ok_or_else(|| format!("unknown route type '{s}'"))
}

/// `realms [SRC/]DST` (numbers only: realm names need rt_realms).
fn realms(s: &str) -> Result<u32, String> {
    let (src, dst) = match s.split_once('/') {
        Some((a, b)) => (number(a), number(b)),
        None => (Some(0), number(s)),
    };
    match (src, dst) {
        (Some(a), Some(b)) if a <= 0xffff && b <= 0xffff => Ok(a << 16 | b),
        _ => Err(format!("invalid realms '{s}' (numbers only)")),
    }
}

fn u32_of(s: &str, what: &str) -> Result<u32, String> {
    number(s).ok_or_else(|| format!("invalid {what} '{s}'"))
}

fn route_time(key: &str, value: &str) -> Result<u32, String> {
    keepalived_config::model::route_time::route_time(key, value).map(|t| t.units)
}

/// Applies one `ip route` option word kept verbatim by the config.
fn route_option(spec: &mut RouteSpec, key: &str, value: &str) -> Result<(), String> {
    let m = |what| u32_of(value, what);
    match key {
        "tos" | "dsfield" => spec.tos = small(value, "tos")?,
        "realms" | "realm" => spec.realms = Some(realms(value)?),
        "mtu" => spec.metrics.push(Metric::Mtu(m("mtu")?)),
        "advmss" => spec.metrics.push(Metric::Advmss(m("advmss")?)),
        "window" => spec.metrics.push(Metric::Window(m("window")?)),
        "cwnd" => spec.metrics.push(Metric::Cwnd(m("cwnd")?)),
        "ssthresh" => spec.metrics.push(Metric::SsThresh(m("ssthresh")?)),
        "reordering" => spec.metrics.push(Metric::Reordering(m("reordering")?)),
        "hoplimit" => spec.metrics.push(Metric::Hoplimit(m("hoplimit")?)),
        "initcwnd" => spec.metrics.push(Metric::InitCwnd(m("initcwnd")?)),
        "initrwnd" => spec.metrics.push(Metric::InitRwnd(m("initrwnd")?)),
        "quickack" => spec.metrics.push(Metric::QuickAck(m("quickack")?)),
        "fastopen_no_cookie" => spec
            .metrics
            .push(Metric::FastopenNoCookie(m("fastopen_no_cookie")?)),
        // keepalived's reading (config crate): kernel units, 200 ms-120 s.
        "rtt" => spec.metrics.push(Metric::Rtt(route_time(key, value)?)),
        "rttvar" => spec.metrics.push(Metric::RttVar(route_time(key, value)?)),
        "rto_min" => spec.metrics.push(Metric::RtoMin(route_time(key, value)?)),
        "congctl" => spec.metrics.push(Metric::CcAlgo(value.to_owned())),
        "features" => match value {
            // RTAX_FEATURE_ECN.
            "ecn" => spec.metrics.push(Metric::Features(1)),
            other => spec
                .metrics
                .push(Metric::Features(u32_of(other, "features")?)),
        },
        "expires" => spec.expires = Some(m("expires")?),
        "pref" => {
            // ICMPV6_ROUTER_PREF_*.
            spec.pref = Some(match value {
                "low" => 3,
                "medium" => 0,
                "high" => 1,
                other => small(other, "pref")?,
            });
        }
        // MPLS only: the kernel keeps nothing of it for an IPv4 or IPv6
        // route (keepalived sends it all the same). `-t` and the start
        // log say so (unsupported.rs); the route goes in without it.
        "ttl-propagate" => match value {
            "enabled" | "disabled" => {}
            other => return Err(format!("invalid ttl-propagate '{other}'")),
        },
        other => return Err(format!("route option '{other}' is not supported")),
    }
    Ok(())
}

/// The RTAX_* number of a metric keepalived lets a route `lock`, whose
/// bit in RTAX_LOCK says the kernel must keep the configured value.
fn lock_bit(metric: &str) -> Result<u32, String> {
    let rtax = match metric {
        "mtu" => 2,
        "rtt" => 4,
        "rttvar" => 5,
        "ssthresh" => 6,
        "cwnd" => 7,
        "advmss" => 8,
        "reordering" => 9,
        "rto_min" => 13,
        "congctl" => 16,
        other => return Err(format!("route metric '{other}' cannot be locked")),
    };
    Ok(1 << rtax)
}

/// `nexthop via GW dev IF weight W onlink`, one clause.
fn next_hop(clause: &str) -> Result<(NextHop, Option<String>), String> {
    let mut hop = NextHop {
        weight: 1,
        ..NextHop::default()
    };
    let mut dev = None;
    let words: Vec<&str> = clause.split_whitespace().collect();
    let mut i = 0;
    while i < words.len() {
        let next = words.get(i + 1).copied();
        let need = |what: &str| next.ok_or_else(|| format!("nexthop '{what}' has no value"));
        match words[i] {
            "via" | "gw" => {
                let mut v = need("via")?;
                if v == "inet" || v == "inet6" {
                    i += 1;
                    v = words
                        .get(i + 1)
                        .copied()
                        .ok_or("nexthop 'via' has no address")?;
                }
                hop.via = Some(
                    v.parse()
                        .map_err(|_| format!("invalid nexthop address '{v}'"))?,
                );
                i += 2;
            }
            "dev" => {
                dev = Some(need("dev")?.to_owned());
                i += 2;
            }
            "weight" => {
                let w = need("weight")?;
                hop.weight = w
                    .parse::<u16>()
                    .ok()
                    .filter(|w| (1..=256).contains(w))
                    .ok_or_else(|| format!("invalid nexthop weight '{w}'"))?;
                i += 2;
            }
            "realms" => {
                hop.realms = Some(realms(need("realms")?)?);
                i += 2;
            }
            "onlink" => {
                hop.onlink = true;
                i += 1;
            }
            other => return Err(format!("nexthop option '{other}' is not supported")),
        }
    }
    Ok((hop, dev))
}

fn prefix(p: &Prefix) -> (IpAddr, u8) {
    (p.address, p.prefix_len)
}

/// The kernel request for one configured route.
pub fn route_plan(r: &Route, names: TableNames<'_>) -> Result<RoutePlan, String> {
    let to = r.to.ok_or("route has no destination")?;
    let mut spec = RouteSpec::new(to.address, to.prefix_len);
    // A `default` destination was read as 0.0.0.0/0; an IPv6 route
    // written `default via 2001:db8::1` is ::/0.
    let v6 = r.via.is_some_and(|v| v.is_ipv6())
        || r.src.is_some_and(|s| s.is_ipv6())
        || r.from.is_some_and(|f| f.address.is_ipv6());
    if to.prefix_len == 0 && to.address.is_unspecified() && v6 && r.via.is_none_or(|v| v.is_ipv6())
    {
        spec.dst = IpAddr::from([0u16; 8]);
    }
    spec.pref_src = r.src;
    spec.src = r.from.as_ref().map(prefix);
    spec.via = r.via;
    if let Some(t) = &r.table {
        spec.table = table_id(t, names)?;
    }
    spec.metric = r.metric;
    if let Some(t) = &r.route_type {
        spec.kind = type_id(t)?;
    }
    if let Some(s) = &r.scope {
        spec.scope = scope_id(s)?;
    }
    spec.protocol = match (&r.protocol, r.no_track) {
        (Some(p), true) => protocol_id(p)?,
        _ => PROTO_KEEPALIVED,
    };
    spec.onlink = r.onlink;
    for (k, v) in &r.options {
        route_option(&mut spec, k, v)?;
    }
    let mut lock = 0;
    for m in &r.locked {
        lock |= lock_bit(m)?;
    }
    if lock != 0 {
        spec.metrics.push(Metric::Lock(lock));
    }
    spec.mode = match r.add_mode {
        RouteAddMode::Prepend => AddMode::Prepend,
        RouteAddMode::Add => AddMode::Exclusive,
        RouteAddMode::Append => AddMode::Append,
    };
    let mut hop_devs = Vec::new();
    for clause in &r.nexthops {
        let (hop, dev) = next_hop(clause)?;
        spec.nexthops.push(hop);
        hop_devs.push(dev);
    }
    Ok(RoutePlan {
        spec,
        dev: r.dev.clone(),
        hop_devs,
        tracked: !r.no_track,
    })
}

/// `a[-b]` for port and uid ranges.
fn range<T: std::str::FromStr + Copy + PartialOrd>(s: &str, what: &str) -> Result<(T, T), String> {
    let bad = || format!("invalid {what} '{s}'");
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?),
        None => {
            let v = s.parse().map_err(|_| bad())?;
            (v, v)
        }
    };
    if a > b {
        return Err(bad());
    }
    Ok((a, b))
}

fn ip_proto(s: &str) -> Result<u8, String> {
    match s {
        "tcp" => Ok(6),
        "udp" => Ok(17),
        "icmp" => Ok(1),
        "ipv6-icmp" | "icmpv6" => Ok(58),
        "sctp" => Ok(132),
        _ => small(s, "ipproto"),
    }
}

fn rule_option(spec: &mut RuleSpec, key: &str, value: &str) -> Result<(), String> {
    match key {
        "tos" | "dsfield" => spec.tos = small(value, "tos")?,
        "realms" => spec.realms = Some(realms(value)?),
        "suppress_prefixlength" | "sup_pl" => {
            spec.suppress_prefixlen = Some(u32_of(value, "suppress_prefixlength")?);
        }
        "suppress_ifgroup" | "sup_group" => {
            spec.suppress_ifgroup = Some(match value {
                "default" => 0,
                v => u32_of(v, "suppress_ifgroup")?,
            });
        }
        "tunnel-id" => {
            spec.tun_id = Some(u64::from(u32_of(value, "tunnel-id")?));
        }
        "uidrange" => spec.uid_range = Some(range(value, "uidrange")?),
        "ipproto" => spec.ip_proto = Some(ip_proto(value)?),
        "sport" => spec.sport = Some(range(value, "sport")?),
        "dport" => spec.dport = Some(range(value, "dport")?),
        "protocol" => spec.protocol = Some(protocol_id(value)?),
        other => return Err(format!("rule option '{other}' is not supported")),
    }
    Ok(())
}

/// `fwmark V[/M]`.
fn fwmark(s: &str) -> Result<(u32, Option<u32>), String> {
    let bad = || format!("invalid fwmark '{s}'");
    match s.split_once('/') {
        Some((v, m)) => Ok((number(v).ok_or_else(bad)?, Some(number(m).ok_or_else(bad)?))),
        None => Ok((number(s).ok_or_else(bad)?, None)),
    }
}

/// The kernel request for one configured rule.
pub fn rule_plan(r: &Rule, names: TableNames<'_>) -> Result<RulePlan, String> {
    let action = match (&r.action, &r.table) {
        (Some(a), _) if a.starts_with("goto ") => {
            let target = a.trim_start_matches("goto ").trim();
            Action::Goto(u32_of(target, "goto target")?)
        }
        (Some(a), _) if a == "nop" => Action::Nop,
        (Some(a), _) if a == "blackhole" => Action::Blackhole,
        (Some(a), _) if a == "unreachable" => Action::Unreachable,
        (Some(a), _) if a == "prohibit" => Action::Prohibit,
        (_, Some(t)) => Action::Table(table_id(t, names)?),
        // `l3mdev` looks its table up itself.
        _ if r.options.iter().any(|(k, _)| k == "l3mdev") => Action::Table(0),
        _ => return Err("no action specified for rule".to_owned()),
    };
    let ipv6 = r.inet6
        || r.from.is_some_and(|p| p.address.is_ipv6())
        || r.to.is_some_and(|p| p.address.is_ipv6());
    // keepalived picks a preference when none is written (config does).
    let mut spec = RuleSpec::new(ipv6, action, r.preference.unwrap_or(0));
    if let Action::Goto(target) = action
        && spec.priority >= target
    {
        return Err(format!(
            "preference {} >= goto target {target}",
            spec.priority
        ));
    }
    // `from all` / `to all` select everything: no selector at all.
    spec.from = r.from.as_ref().filter(|p| p.prefix_len > 0).map(prefix);
    spec.to = r.to.as_ref().filter(|p| p.prefix_len > 0).map(prefix);
    spec.invert = r.not;
    spec.iif.clone_from(&r.iif);
    spec.oif.clone_from(&r.oif);
    if let Some(f) = &r.fwmark {
        spec.fwmark = Some(fwmark(f)?);
    }
    for (k, v) in &r.options {
        if k == "l3mdev" {
            spec.l3mdev = true;
        } else {
            rule_option(&mut spec, k, v)?;
        }
    }
    if !r.no_track {
        spec.protocol = Some(PROTO_KEEPALIVED);
    }
    Ok(RulePlan {
        spec,
        tracked: !r.no_track,
    })
}

/// Table names from an `rt_tables` file's text (`ID NAME` lines).
pub fn parse_rt_tables(text: &str, name: &str) -> Option<u32> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or_default())
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?, w.next()?))
        })
        .find(|(_, n)| *n == name)
        .and_then(|(id, _)| number(id))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use keepalived_config::preprocess::Options;
    use keepalived_config::{SystemHost, load_str};

    use super::*;

    fn no_names(_: &str) -> Option<u32> {
        None
    }

    fn config(text: &str) -> keepalived_config::Config {
        load_str(Path::new("t.conf"), text, &Options::default(), &SystemHost).config
    }

    fn routes(lines: &str) -> Vec<Result<RoutePlan, String>> {
        let c = config(&format!("static_routes {{\n{lines}\n}}\n"));
        c.static_routes
            .iter()
            .map(|r| route_plan(r, &no_names))
            .collect()
    }

    fn rules(lines: &str) -> Vec<Result<RulePlan, String>> {
        let c = config(&format!("static_rules {{\n{lines}\n}}\n"));
        c.static_rules
            .iter()
            .map(|r| rule_plan(r, &no_names))
            .collect()
    }

    #[test]
    fn a_plain_route_is_unicast_main_universe_keepalived() {
        let r = routes("203.0.113.0/25 via 192.0.2.254 dev eth0")
            .remove(0)
            .unwrap();
        assert_eq!(r.spec.table, 254);
        assert_eq!(r.spec.kind, 1);
        assert_eq!(r.spec.scope, 0);
        assert_eq!(r.spec.protocol, PROTO_KEEPALIVED);
        assert_eq!(r.dev.as_deref(), Some("eth0"));
        assert!(r.tracked);
        assert_eq!(r.spec.via, Some("192.0.2.254".parse().unwrap()));
    }

    #[test]
    fn every_route_option_reaches_the_request() {
        let r = routes(
            "203.0.113.128/25 src 192.0.2.100 via 192.0.2.254 dev eth0 table 100 metric 5 \
             scope link mtu 1400 advmss 1360 rtt 300ms initcwnd 10 congctl cubic tos 0x10 \
             realms 2/3 onlink",
        )
        .remove(0)
        .unwrap();
        let s = &r.spec;
        assert_eq!(
            (s.table, s.metric, s.scope, s.tos),
            (100, Some(5), 253, 0x10)
        );
        assert_eq!(s.pref_src, Some("192.0.2.100".parse().unwrap()));
        assert_eq!(s.realms, Some(2 << 16 | 3));
        assert!(s.onlink);
        assert_eq!(
            s.metrics,
            vec![
                Metric::Mtu(1400),
                Metric::Advmss(1360),
                Metric::Rtt(2400),
                Metric::InitCwnd(10),
                Metric::CcAlgo("cubic".into()),
            ]
        );
    }

    #[test]
    fn locked_metrics_set_their_rtax_lock_bits_and_the_placement_word_its_flags() {
        let mut v = routes(
            "198.51.100.0/25 dev eth0 mtu lock 1400 advmss lock 1300 window 10 append\n\
             198.51.100.128/25 dev eth0 rtt lock 10ms rttvar lock 5ms ssthresh lock 3 cwnd lock 4 \
             reordering lock 5 rto_min lock 200ms congctl lock cubic add\n\
             203.0.113.0/25 dev eth0 mtu 1400\n\
             203.0.113.128/25 dev eth0 ttl-propagate enabled",
        );
        let a = v.remove(0).unwrap();
        assert_eq!(
            a.spec.metrics,
            vec![
                Metric::Mtu(1400),
                Metric::Advmss(1300),
                Metric::Window(10),
                Metric::Lock(1 << 2 | 1 << 8),
            ]
        );
        assert_eq!(a.spec.mode, AddMode::Append);
        let b = v.remove(0).unwrap();
        let lock = b.spec.metrics.iter().find_map(|m| match m {
            Metric::Lock(l) => Some(*l),
            _ => None,
        });
        let every = [4, 5, 6, 7, 9, 13, 16].iter().fold(0, |m, b| m | 1 << b);
        assert_eq!(lock, Some(every));
        assert_eq!(b.spec.mode, AddMode::Exclusive);
        let c = v.remove(0).unwrap();
        assert!(
            !c.spec.metrics.iter().any(|m| matches!(m, Metric::Lock(_))),
            "nothing locked, no RTAX_LOCK"
        );
        assert_eq!(c.spec.mode, AddMode::Prepend, "keepalived's default");
        assert!(v.remove(0).is_ok(), "ttl-propagate does not stop the route");
    }

    #[test]
    fn types_protocols_and_nexthops() {
        let mut v = routes(
            "blackhole 198.51.100.128/25 no_track\n\
             198.51.100.0/25 dev eth0 protocol static no_track\n\
             198.51.100.0/26 dev eth0 protocol static\n\
             203.0.113.0/24 nexthop via 192.0.2.1 dev eth0 weight 2 nexthop via 192.0.2.2 dev eth1\n\
             2001:db8:1::/48 via 2001:db8::fe dev eth0 pref high",
        );
        let bh = v.remove(0).unwrap();
        assert_eq!((bh.spec.kind, bh.tracked), (6, false));
        let untracked = v.remove(0).unwrap();
        assert_eq!(untracked.spec.protocol, 4, "untracked keeps its protocol");
        let tracked = v.remove(0).unwrap();
        assert_eq!(
            tracked.spec.protocol, PROTO_KEEPALIVED,
            "tracked is forced to 18"
        );
        let mp = v.remove(0).unwrap();
        assert_eq!(mp.spec.nexthops.len(), 2);
        assert_eq!(mp.spec.nexthops[0].weight, 2);
        assert_eq!(mp.hop_devs, vec![Some("eth0".into()), Some("eth1".into())]);
        let v6 = v.remove(0).unwrap();
        assert_eq!(v6.spec.pref, Some(1));
        assert!(v6.spec.dst.is_ipv6());
    }

    #[test]
    fn tables_by_name() {
        let names = |n: &str| (n == "vips").then_some(100);
        assert_eq!(table_id("main", &names), Ok(254));
        assert_eq!(table_id("vips", &names), Ok(100));
        assert_eq!(table_id("0x10", &names), Ok(16));
        assert!(table_id("nope", &names).is_err());
        let text = "# comment\n255\tlocal\n100 vips # ours\n";
        assert_eq!(parse_rt_tables(text, "vips"), Some(100));
        assert_eq!(parse_rt_tables(text, "other"), None);
    }

    #[test]
    fn rules_carry_selectors_action_and_protocol() {
        let mut v = rules(
            "from 192.0.2.100 table 100 preference 200\n\
             to 203.0.113.0/24 table 100 preference 201 no_track\n\
             fwmark 3/0xff table 100 preference 202\n\
             from all iif eth0 ipproto tcp dport 80-90 uidrange 100-200 prohibit preference 203\n\
             inet6 table 100 preference 204\n\
             not from 192.0.2.0/24 goto 300 preference 205\n\
             from 192.0.2.1 preference 206",
        );
        let a = v.remove(0).unwrap();
        assert_eq!(a.spec.action, Action::Table(100));
        assert_eq!(a.spec.from, Some(("192.0.2.100".parse().unwrap(), 32)));
        assert_eq!(a.spec.protocol, Some(PROTO_KEEPALIVED));
        assert!(a.tracked);
        let b = v.remove(0).unwrap();
        assert_eq!((b.spec.protocol, b.tracked), (None, false));
        let c = v.remove(0).unwrap();
        assert_eq!(c.spec.fwmark, Some((3, Some(0xff))));
        let d = v.remove(0).unwrap();
        assert_eq!(d.spec.action, Action::Prohibit);
        assert_eq!(d.spec.from, None, "from all is no selector");
        assert_eq!(d.spec.iif.as_deref(), Some("eth0"));
        assert_eq!(
            (d.spec.ip_proto, d.spec.dport, d.spec.uid_range),
            (Some(6), Some((80, 90)), Some((100, 200)))
        );
        let e = v.remove(0).unwrap();
        assert!(e.spec.ipv6);
        let f = v.remove(0).unwrap();
        assert_eq!(f.spec.action, Action::Goto(300));
        assert!(f.spec.invert);
        assert!(
            v.is_empty(),
            "a rule without an action is dropped when read"
        );
    }
}
