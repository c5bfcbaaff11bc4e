// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Address, route and rule entries (inventory §A.4), shared by `static_*`
//! and the `virtual_*` blocks of `vrrp_instance`.
//!
//! Each entry is one line in `ip addr/route/rule add` syntax. Like
//! keepalived, a malformed entry is reported and skipped; an unknown option
//! word is reported and ignored, the rest of the entry kept.

use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::diag::Loc;
use crate::reader::Reader;
use crate::syntax::{Node, Token};

/// Where an entry was written, kept for checks made after reading (a
/// missing interface). Never serialized, and ignored by `==` so moving a
/// line does not make two configurations differ.
#[derive(Debug, Clone, Default)]
pub struct At(pub Option<Loc>);

impl PartialEq for At {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl At {
    pub fn of(loc: &Loc) -> Self {
        Self(Some(loc.clone()))
    }

    pub fn loc(&self) -> Option<&Loc> {
        self.0.as_ref()
    }
}

/// An address with an optional prefix length, as written `IP[/LEN]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefix {
    pub address: IpAddr,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub prefix_len: u8,
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

fn max_len(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

/// Parses `IP[/LEN]`. An address without a length is a host (/32, /128),
/// as keepalived takes it. A bad length is reported and the host length
/// used, as keepalived does; a bad address gives None (nothing reported).
pub fn parse_prefix(t: &Token<'_>, r: &mut Reader<'_>) -> Option<Prefix> {
    let (addr, len) = match t.text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (t.text, None),
    };
    let address: IpAddr = addr.parse().ok()?;
    let max = max_len(address);
    let prefix_len = match len {
        None => max,
        Some(l) => match l.parse::<u8>() {
            Ok(v) if v <= max => v,
            _ => {
                r.error(
                    &t.loc,
                    format!(
                        "invalid prefix length '{l}' for address {}: expected 0 to {max}; using {max}",
                        t.text
                    ),
                );
                max
            }
        },
    };
    Some(Prefix {
        address,
        prefix_len,
    })
}

// ---------------------------------------------------------------- addresses

/// One `virtual_ipaddress` / `static_ipaddress` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IpAddress {
    pub address: IpAddr,
    /// /32 or /128 when not written.
    #[serde(skip_serializing_if = "ip_address_prefix_len_is_default")]
    pub prefix_len: u8,
    /// `brd IP`, or `+` / `-` (derive from the prefix / none).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub brd: Option<String>,
    /// None = the instance's interface (or `default_interface` for static).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub peer: Option<Prefix>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub home: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nodad: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mngtmpaddr: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub noprefixroute: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub autojoin: bool,
    /// Seconds, or None for `forever` / not set.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub preferred_lft: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub no_track: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_group: Option<String>,
    /// Put this address on the instance's VMAC even though the instance
    /// does not use one for its own interface.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub use_vmac: bool,
    #[serde(skip)]
    pub at: At,
}

impl Default for IpAddress {
    fn default() -> Self {
        Self {
            address: IpAddr::from([0, 0, 0, 0]),
            prefix_len: 32,
            brd: None,
            dev: None,
            scope: None,
            label: None,
            peer: None,
            home: false,
            nodad: false,
            mngtmpaddr: false,
            noprefixroute: false,
            autojoin: false,
            preferred_lft: None,
            no_track: false,
            track_group: None,
            use_vmac: false,
            at: At::default(),
        }
    }
}

struct_defaults!(IpAddress {
    prefix_len: u8 => ip_address_prefix_len_is_default,
});

impl IpAddress {
    pub fn is_ipv6(&self) -> bool {
        self.address.is_ipv6()
    }
}

impl fmt::Display for IpAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// Reads one address entry (`node.keyword` is the address). `track_group`
/// is only known to static addresses; on a VIP keepalived reports it (and
/// its value) as unknown words.
pub fn read_ipaddress(node: &Node<'_>, is_static: bool, r: &mut Reader<'_>) -> Option<IpAddress> {
    r.no_block(node);
    let Some(p) = parse_prefix(&node.keyword, r) else {
        r.error(
            node.loc(),
            format!(
                "invalid IP address '{}': expected IP[/LEN]; entry skipped",
                node.name()
            ),
        );
        return None;
    };
    let mut a = IpAddress {
        address: p.address,
        prefix_len: p.prefix_len,
        at: At::of(node.loc()),
        ..IpAddress::default()
    };
    let mut i = 0;
    while i < node.args.len() {
        let t = &node.args[i];
        let next = node.args.get(i + 1);
        let mut takes_value = true;
        match t.text {
            "dev" => a.dev = value(r, t, next),
            "scope" => a.scope = value(r, t, next),
            "label" => a.label = value(r, t, next),
            "brd" | "broadcast" => {
                a.brd = value(r, t, next);
                if let Some(b) = &a.brd
                    && b != "+"
                    && b != "-"
                    && b.parse::<IpAddr>().is_err()
                {
                    r.error(&t.loc, format!("invalid broadcast address '{b}'"));
                    a.brd = None;
                }
            }
            "peer" => {
                if let Some(v) = next {
                    // keepalived takes a bare peer address only.
                    match v.text.parse::<IpAddr>() {
                        Ok(ip) if ip.is_ipv4() == a.address.is_ipv4() => {
                            a.peer = Some(Prefix {
                                address: ip,
                                prefix_len: max_len(ip),
                            })
                        }
                        Ok(_) => r.warn(
                            &v.loc,
                            format!("peer address {} does not match the address family", v.text),
                        ),
                        Err(_) => r.error(&v.loc, format!("invalid peer address '{}'", v.text)),
                    }
                } else {
                    missing_value(r, t);
                }
            }
            "preferred_lft" => match next {
                Some(v) if v.text == "forever" => a.preferred_lft = None,
                Some(v) => match v.text.parse::<u32>() {
                    Ok(n) => a.preferred_lft = Some(n),
                    Err(_) => r.error(
                        &v.loc,
                        format!(
                            "preferred_lft expects a number of seconds or 'forever', found '{}'",
                            v.text
                        ),
                    ),
                },
                None => missing_value(r, t),
            },
            "track_group" if is_static => a.track_group = value(r, t, next),
            other => {
                takes_value = false;
                match other {
                    "home" => a.home = true,
                    "-nodad" | "nodad" => a.nodad = true,
                    "mngtmpaddr" => a.mngtmpaddr = true,
                    "noprefixroute" => a.noprefixroute = true,
                    "autojoin" => a.autojoin = true,
                    "no_track" => a.no_track = true,
                    "use_vmac" => a.use_vmac = true,
                    _ => r.warn(
                        &t.loc,
                        format!("unknown option '{other}' for ip address {}; ignored", a),
                    ),
                }
            }
        }
        i += if takes_value { 2 } else { 1 };
    }
    Some(a)
}

/// The word after an option that takes one.
fn value(r: &mut Reader<'_>, t: &Token<'_>, next: Option<&Token<'_>>) -> Option<String> {
    match next {
        Some(v) => Some(v.text.to_string()),
        None => {
            missing_value(r, t);
            None
        }
    }
}

fn missing_value(r: &mut Reader<'_>, t: &Token<'_>) {
    r.diags.report(
        crate::diag::Category::MissingParameter,
        Some(t.loc.clone()),
        format!("'{}' is missing its value", t.text),
    );
}

/// `static_ipaddress { ... }`.
pub fn read_ipaddress_block(node: &Node<'_>, r: &mut Reader<'_>) -> Vec<IpAddress> {
    let items = r.block(node);
    items
        .iter()
        .filter_map(|n| read_ipaddress(n, true, r))
        .collect()
}

/// `virtual_ipaddress { ... }` / `virtual_ipaddress_excluded { ... }`.
pub fn read_vip_block(node: &Node<'_>, r: &mut Reader<'_>) -> Vec<IpAddress> {
    let items = r.block(node);
    items
        .iter()
        .filter_map(|n| read_ipaddress(n, false, r))
        .collect()
}

// ------------------------------------------------------------------ routes

/// One `virtual_routes` / `static_routes` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Route {
    /// `unicast` unless written (`blackhole`, `unreachable`, `prohibit`,
    /// `throw`, `local`, `broadcast`, `multicast`, `anycast`).
    #[serde(rename = "type")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub route_type: Option<String>,
    /// The destination (`default` is 0.0.0.0/0 or ::/0).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub to: Option<Prefix>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub src: Option<IpAddr>,
    /// IPv6 source-specific routing.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub from: Option<Prefix>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub via: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub dev: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub metric: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub onlink: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub no_track: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_group: Option<String>,
    /// The other `ip route` attributes (mtu, advmss, realms, ...), as
    /// written, in order.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub options: Vec<(String, String)>,
    /// `nexthop ...` clauses, unparsed.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub nexthops: Vec<String>,
    /// The metrics written `NAME lock VALUE`: the kernel must not let
    /// path MTU discovery or TCP change them (RTAX_LOCK).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub locked: Vec<String>,
    /// How the route meets others to the same destination.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub add_mode: RouteAddMode,
    #[serde(skip)]
    pub at: At,
}

/// keepalived's `add` / `prepend` / `append` route words: what happens
/// when a route to the same destination, TOS and metric is there.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteAddMode {
    /// Ours goes in front of it (keepalived's default).
    #[default]
    Prepend,
    /// Refused: the kernel answers EEXIST (`ip route add`).
    Add,
    /// Ours goes after it (`ip route append`).
    Append,
}

/// The metrics keepalived 2.2.7 lets a route `lock`; it reads `lock`
/// after any other one as that metric's (invalid) value.
pub const LOCKABLE_METRICS: &[&str] = &[
    "mtu",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "cwnd",
    "ssthresh",
    "rto_min",
    "congctl",
];

const ROUTE_TYPES: &[&str] = &[
    "unicast",
    "blackhole",
    "unreachable",
    "prohibit",
    "throw",
    "local",
    "broadcast",
    "multicast",
    "anycast",
];

/// `ip route` attributes that take one value and that we keep verbatim.
const ROUTE_VALUE_OPTS: &[&str] = &[
    "tos",
    "dsfield",
    "realms",
    "mtu",
    "hoplimit",
    "advmss",
    "rtt",
    "rttvar",
    "reordering",
    "window",
    "cwnd",
    "ssthresh",
    "rto_min",
    "initcwnd",
    "initrwnd",
    "features",
    "quickack",
    "congctl",
    "pref",
    "fastopen_no_cookie",
    "expires",
    "vrf",
    "ttl-propagate",
];

pub fn read_route(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Route> {
    r.no_block(node);
    let mut rt = Route {
        at: At::of(node.loc()),
        ..Route::default()
    };
    let words: Vec<&Token<'_>> = std::iter::once(&node.keyword)
        .chain(node.args.iter())
        .collect();
    let (mut inet6, mut default_to) = (false, false);
    let mut i = 0;
    while i < words.len() {
        let t = words[i];
        let next = words.get(i + 1).copied();
        let w = t.text;
        let mut step = 2;
        match w {
            "to" => rt.to = route_prefix(r, t, next),
            "from" => rt.from = route_prefix(r, t, next),
            "src" => rt.src = route_ip(r, t, next),
            "via" | "gw" => {
                // `via inet6 ADDR` names the family first.
                let (addr_tok, extra) = match next {
                    Some(n) if n.text == "inet" || n.text == "inet6" => {
                        (words.get(i + 2).copied(), 1)
                    }
                    _ => (next, 0),
                };
                if w == "gw" {
                    r.warn(&t.loc, "'gw' for routes is deprecated; use 'via'");
                }
                rt.via = route_ip(r, t, addr_tok);
                step += extra;
            }
            "dev" | "oif" => rt.dev = value(r, t, next),
            "table" => rt.table = value(r, t, next),
            "metric" | "priority" | "preference" => match next {
                Some(v) => match v.text.parse::<u32>() {
                    Ok(m) => rt.metric = Some(m),
                    Err(_) => r.error(
                        &v.loc,
                        format!("invalid metric '{}': expected a number", v.text),
                    ),
                },
                None => missing_value(r, t),
            },
            "protocol" => rt.protocol = value(r, t, next),
            "scope" => rt.scope = value(r, t, next),
            "track_group" => rt.track_group = value(r, t, next),
            "encap" => {
                // encap TYPE ARGS...: keep the rest of the clause verbatim.
                rt.options.push((
                    "encap".into(),
                    words[i + 1..]
                        .iter()
                        .map(|t| t.text)
                        .collect::<Vec<_>>()
                        .join(" "),
                ));
                step = words.len() - i;
            }
            "nexthop" => {
                // Every later word belongs to the nexthops.
                let rest: Vec<&str> = words[i + 1..].iter().map(|t| t.text).collect();
                for nh in rest.join(" ").split("nexthop") {
                    let nh = nh.trim();
                    if !nh.is_empty() {
                        rt.nexthops.push(nh.to_string());
                    }
                }
                step = words.len() - i;
            }
            "or" => {
                r.warn(&t.loc, "\"or\" for routes is deprecated; use \"nexthop\"");
                if let Some(v) = next {
                    rt.nexthops.push(format!("via {}", v.text));
                }
            }
            "onlink" => {
                rt.onlink = true;
                step = 1;
            }
            "no_track" => {
                rt.no_track = true;
                step = 1;
            }
            "inet6" => {
                inet6 = true;
                step = 1;
            }
            "inet" => step = 1,
            "add" => {
                rt.add_mode = RouteAddMode::Add;
                step = 1;
            }
            "prepend" => {
                rt.add_mode = RouteAddMode::Prepend;
                step = 1;
            }
            "append" => {
                rt.add_mode = RouteAddMode::Append;
                step = 1;
            }
            "as" => {
                // keepalived reads `as [to] ADDR` (an MPLS destination),
                // says it is for MPLS only, and keeps the rest of the line.
                if next.is_some_and(|n| n.text == "to") {
                    step += 1;
                }
                r.error(&t.loc, "'as [to]' is for MPLS only; ignored");
            }
            _ if LOCKABLE_METRICS.contains(&w) && next.is_some_and(|n| n.text == "lock") => {
                if let Some(v) = value(r, t, words.get(i + 2).copied()) {
                    match route_value(w, &v) {
                        Value::Skip(why) | Value::Drop(why) => {
                            r.error(&t.loc, format!("{why}; route skipped"));
                            return None;
                        }
                        Value::Noted(notes) => report_notes(r, &t.loc, notes),
                        Value::Keep => {}
                    }
                    rt.options.push((w.to_string(), v));
                    if !rt.locked.iter().any(|l| l == w) {
                        rt.locked.push(w.to_string());
                    }
                }
                step = 3;
            }
            _ if ROUTE_TYPES.contains(&w) => {
                rt.route_type = Some(w.to_string());
                step = 1;
            }
            _ if ROUTE_VALUE_OPTS.contains(&w) => {
                if next.is_some_and(|n| n.text == "lock") {
                    // keepalived takes `lock` as the value, fails to read
                    // it as a number and skips the route.
                    r.error(
                        &t.loc,
                        format!("invalid {w} value 'lock' ({w} cannot be locked); route skipped"),
                    );
                    return None;
                }
                if let Some(v) = value(r, t, next) {
                    match route_value(w, &v) {
                        Value::Keep => rt.options.push((w.to_string(), v)),
                        Value::Noted(notes) => {
                            report_notes(r, &t.loc, notes);
                            rt.options.push((w.to_string(), v));
                        }
                        Value::Drop(why) => r.error(&t.loc, why),
                        Value::Skip(why) => {
                            r.error(&t.loc, format!("{why}; route skipped"));
                            return None;
                        }
                    }
                }
            }
            "default" if rt.to.is_none() => {
                // The family is settled once the whole line is read.
                rt.to = Some(Prefix {
                    address: IpAddr::from([0, 0, 0, 0]),
                    prefix_len: 0,
                });
                default_to = true;
                step = 1;
            }
            _ if rt.to.is_none() => {
                // A bare destination.
                match parse_prefix(t, r) {
                    Some(p) => rt.to = Some(p),
                    None => {
                        r.error(
                            &t.loc,
                            format!("unknown route keyword or invalid destination '{w}'"),
                        );
                        return None;
                    }
                }
                step = 1;
            }
            _ => {
                r.error(
                    &t.loc,
                    format!("unknown route keyword '{w}'; route skipped"),
                );
                return None;
            }
        }
        i += step;
    }
    if rt.to.is_none() {
        r.error(node.loc(), "route has no destination; route skipped");
        return None;
    }
    // `default` is ::/0 when the line says inet6 or names an IPv6 gateway,
    // source or from-prefix (in any order), as `ip -6 route` would take it.
    let has = |k: &str| rt.options.iter().any(|(o, _)| o == k);
    // `expires` and `pref` exist for IPv6 only: keepalived takes them as
    // naming the family.
    let v6_named = rt.via.is_some_and(|a| a.is_ipv6())
        || rt.src.is_some_and(|a| a.is_ipv6())
        || rt.from.as_ref().is_some_and(|p| p.address.is_ipv6())
        || has("expires")
        || has("pref");
    if default_to && (inet6 || v6_named) {
        rt.to = Some(Prefix {
            address: IpAddr::from([0u16; 8]),
            prefix_len: 0,
        });
    }
    let v6 = rt.to.is_some_and(|p| p.address.is_ipv6());
    let wrong_family = if !v6 && has("expires") {
        Some("expires is only valid for IPv6".to_owned())
    } else if !v6 && has("pref") {
        Some("pref is only valid for IPv6".to_owned())
    } else if v6 && has("realms") {
        Some("realms are only valid for IPv4".to_owned())
    } else {
        rt.from
            .filter(|p| p.address.is_ipv4())
            .map(|p| format!("route from address {p} is only supported with IPv6"))
    };
    if let Some(why) = wrong_family {
        r.error(node.loc(), format!("{why}; route skipped"));
        return None;
    }
    // A tracked route is known by protocol 18; keepalived says so when
    // another one is configured, and uses 18.
    if !rt.no_track
        && let Some(p) = rt.protocol.take_if(|p| p != "keepalived" && p != "18")
    {
        r.error(
            node.loc(),
            format!(
                "a tracked route must have protocol keepalived (18), not '{p}'; protocol reset (or add 'no_track')"
            ),
        );
    }
    // keepalived tracks a route through its interface; without one it says
    // so (a warning) and does not track it.
    if !rt.no_track && rt.dev.is_none() && !rt.nexthops.iter().any(|n| n.contains("dev ")) {
        r.warn(
            node.loc(),
            "cannot track a route with no interface specified (add 'dev IF' or 'no_track'); not tracking",
        );
        rt.no_track = true;
    }
    Some(rt)
}

/// What keepalived 2.2.7 does with one route option's value.
enum Value {
    Keep,
    /// Kept, with what keepalived says of it at load.
    Noted(Vec<super::route_time::Note>),
    /// Reported; the route goes on without the option.
    Drop(String),
    /// Reported; the whole route is skipped.
    Skip(String),
}

fn report_notes(r: &mut Reader<'_>, loc: &Loc, notes: Vec<super::route_time::Note>) {
    use crate::diag::Category;
    for n in notes {
        // keepalived: CONFIG_INVALID_NUMBER for the decimals, a plain log
        // line (no effect on -t's exit code) for the clamp.
        let category = if n.error {
            Category::InvalidNumber
        } else {
            Category::Info
        };
        r.diags.report(category, Some(loc.clone()), n.text);
    }
}

/// keepalived's reading of the values it checks while parsing (numbers,
/// ranges, time units and keywords); names that need iproute2's files
/// (tos, realms) are looked at when the route is planned.
fn route_value(key: &str, v: &str) -> Value {
    let number = |max: u32| {
        let n = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
            Some(h) => u32::from_str_radix(h, 16).ok(),
            None => v.parse::<u32>().ok(),
        };
        match n {
            Some(n) if n <= max => Value::Keep,
            _ => Value::Skip(format!("invalid {key} value '{v}' for route")),
        }
    };
    match key {
        "mtu" | "advmss" | "reordering" | "window" | "cwnd" | "ssthresh" | "initcwnd"
        | "initrwnd" | "expires" => number(u32::MAX),
        "hoplimit" => number(255),
        "quickack" | "fastopen_no_cookie" => number(1),
        "rtt" | "rttvar" | "rto_min" => match super::route_time::route_time(key, v) {
            Ok(t) if t.notes.is_empty() => Value::Keep,
            Ok(t) => Value::Noted(t.notes),
            Err(why) => Value::Skip(format!("{why} for route")),
        },
        "features" if v != "ecn" => Value::Drop(format!("feature {v} not supported; ignored")),
        "ttl-propagate" if v != "enabled" && v != "disabled" => {
            Value::Drop(format!("ttl-propagate value {v} not recognised; ignored"))
        }
        "pref" if !["low", "medium", "high"].contains(&v) && v.parse::<u8>().is_err() => {
            Value::Skip(format!("invalid pref value '{v}' for route"))
        }
        _ => Value::Keep,
    }
}

fn route_prefix(r: &mut Reader<'_>, t: &Token<'_>, next: Option<&Token<'_>>) -> Option<Prefix> {
    let v = next.or_else(|| {
        missing_value(r, t);
        None
    })?;
    if v.text == "default" || v.text == "all" {
        return Some(Prefix {
            address: IpAddr::from([0, 0, 0, 0]),
            prefix_len: 0,
        });
    }
    let p = parse_prefix(v, r);
    if p.is_none() {
        r.error(&v.loc, format!("invalid {} address '{}'", t.text, v.text));
    }
    p
}

fn route_ip(r: &mut Reader<'_>, t: &Token<'_>, next: Option<&Token<'_>>) -> Option<IpAddr> {
    let v = next.or_else(|| {
        missing_value(r, t);
        None
    })?;
    match v.text.parse() {
        Ok(a) => Some(a),
        Err(_) => {
            r.error(
                &v.loc,
                format!("invalid route {} address '{}'", t.text, v.text),
            );
            None
        }
    }
}

pub fn read_route_block(node: &Node<'_>, r: &mut Reader<'_>) -> Vec<Route> {
    let items = r.block(node);
    items.iter().filter_map(|n| read_route(n, r)).collect()
}

// ------------------------------------------------------------------- rules

/// One `virtual_rules` / `static_rules` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Rule {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub from: Option<Prefix>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub to: Option<Prefix>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub not: bool,
    /// `inet6` written: an IPv6 rule even without an address selector.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub inet6: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub table: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub iif: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub oif: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub fwmark: Option<String>,
    /// None = keepalived picks 16384 (with a warning).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub preference: Option<u32>,
    /// `goto`, `nop`, `blackhole`, `unreachable`, `prohibit` actions.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub no_track: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_group: Option<String>,
    /// Other `ip rule` selectors (tos, uidrange, sport, ...), as written.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub options: Vec<(String, String)>,
    #[serde(skip)]
    pub at: At,
}

const RULE_VALUE_OPTS: &[&str] = &[
    "tos",
    "dsfield",
    "realms",
    "suppress_prefixlength",
    "sup_pl",
    "suppress_ifgroup",
    "sup_group",
    "tunnel-id",
    "uidrange",
    "ipproto",
    "sport",
    "dport",
    "protocol",
];

pub fn read_rule(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Rule> {
    r.no_block(node);
    let mut ru = Rule {
        at: At::of(node.loc()),
        ..Rule::default()
    };
    let words: Vec<&Token<'_>> = std::iter::once(&node.keyword)
        .chain(node.args.iter())
        .collect();
    // keepalived takes one action per rule.
    let mut actions = 0;
    let mut i = 0;
    while i < words.len() {
        let t = words[i];
        let next = words.get(i + 1).copied();
        let w = t.text;
        let mut step = 2;
        if matches!(
            w,
            "table"
                | "lookup"
                | "goto"
                | "nop"
                | "blackhole"
                | "unreachable"
                | "prohibit"
                | "l3mdev"
        ) {
            actions += 1;
            if actions > 1 {
                r.error(
                    &t.loc,
                    "cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for a rule; rule skipped",
                );
                return None;
            }
        }
        match w {
            "from" => ru.from = route_prefix(r, t, next),
            "to" => ru.to = route_prefix(r, t, next),
            "table" | "lookup" => ru.table = value(r, t, next),
            "iif" | "dev" => ru.iif = value(r, t, next),
            "oif" => ru.oif = value(r, t, next),
            "fwmark" => ru.fwmark = value(r, t, next),
            "preference" | "priority" | "order" => match next {
                Some(v) => match v.text.parse::<u32>() {
                    Ok(p) => ru.preference = Some(p),
                    Err(_) => r.error(
                        &v.loc,
                        format!("invalid rule preference '{}': expected a number", v.text),
                    ),
                },
                None => missing_value(r, t),
            },
            "goto" => {
                ru.action = value(r, t, next).map(|v| format!("goto {v}"));
            }
            "track_group" => ru.track_group = value(r, t, next),
            "not" => {
                ru.not = true;
                step = 1;
            }
            "no_track" => {
                ru.no_track = true;
                step = 1;
            }
            "l3mdev" => {
                ru.options.push(("l3mdev".into(), String::new()));
                step = 1;
            }
            "nop" | "blackhole" | "unreachable" | "prohibit" => {
                ru.action = Some(w.to_string());
                step = 1;
            }
            // `type ACTION` names the action explicitly.
            "inet" | "type" => step = 1,
            "inet6" => {
                ru.inet6 = true;
                step = 1;
            }
            _ if RULE_VALUE_OPTS.contains(&w) => {
                if let Some(v) = value(r, t, next) {
                    ru.options.push((w.to_string(), v));
                }
            }
            _ => {
                // keepalived 2.2.7 reports the word and drops the rule:
                // a rule missing a selector would match more than meant.
                r.error(&t.loc, format!("unknown rule option '{w}'; rule skipped"));
                return None;
            }
        }
        i += step;
    }
    if let Some(why) = rule_refusal(&ru, actions) {
        r.error(node.loc(), format!("{why}; rule skipped"));
        return None;
    }
    if !ru.no_track
        && let Some(at) = ru
            .options
            .iter()
            .position(|(k, v)| k == "protocol" && v != "keepalived" && v != "18")
    {
        let (_, p) = ru.options.remove(at);
        r.error(
            node.loc(),
            format!(
                "a tracked rule must have protocol keepalived (18), not '{p}'; protocol reset (or add 'no_track')"
            ),
        );
    }
    if ru.preference.is_none() {
        let p = r.next_rule_preference;
        r.next_rule_preference = p.saturating_sub(1);
        r.warn(
            node.loc(),
            format!(
                "rule has no preference specified; setting it to {p}, which is probably not what you want"
            ),
        );
        ru.preference = Some(p);
    }
    Some(ru)
}

/// Why keepalived 2.2.7 drops a rule it has read whole, if it does.
fn rule_refusal(ru: &Rule, actions: usize) -> Option<String> {
    if let Some(target) = ru.action.as_deref().and_then(|a| a.strip_prefix("goto ")) {
        let Ok(target) = target.parse::<u32>() else {
            return Some(format!("invalid goto target '{target}'"));
        };
        match ru.preference {
            None => return Some(format!("goto target {target} specified without preference")),
            Some(p) if p >= target => {
                return Some(format!("preference {p} >= goto target {target}"));
            }
            Some(_) => {}
        }
    }
    if actions == 0 {
        return Some("no action specified for rule".to_owned());
    }
    // Only a table lookup can be suppressed or carry a realm.
    let table_only = ru.options.iter().any(|(k, _)| {
        matches!(
            k.as_str(),
            "realms" | "suppress_prefixlength" | "sup_pl" | "suppress_ifgroup" | "sup_group"
        )
    });
    if table_only && ru.action.is_some() {
        return Some("suppressor/realm specified for non table action".to_owned());
    }
    None
}

pub fn read_rule_block(node: &Node<'_>, r: &mut Reader<'_>) -> Vec<Rule> {
    let items = r.block(node);
    items.iter().filter_map(|n| read_rule(n, r)).collect()
}
