// SPDX-License-Identifier: Apache-2.0 OR MIT
//! keepalived-rs extension: `resolvers NAME { ... }` and real servers named
//! by DNS (`real_server_name HOST [PORT] { resolvers NAME ... }`).
//!
//! The knobs and their defaults are HAProxy's `resolvers` section, written
//! in keepalived's language: one statement per line, times in decimal
//! seconds like every other keepalived timer. HAProxy's unit suffixes
//! (`100ms`, `1s`, `2m`, `1h`) are also accepted so a section can be
//! carried over; a bare number is seconds here (HAProxy reads it as
//! milliseconds), which is the one trap when porting.
//!
//! A name starting with `_` is looked up as an SRV record (HAProxy's
//! rule): each target becomes a real server with the record's port and
//! weight. Any other name is looked up as A or AAAA, the family being the
//! virtual server's when it has one, else the resolvers' `resolve-prefer`.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use crate::diag::Loc;
use crate::model::lvs::{RealServer, read_rs_item, rs_keywords};
use crate::reader::{Reader, Table};
use crate::syntax::{Node, Token};
use crate::types::Timer;

/// Port a `nameserver` gets when none is written.
pub const DNS_PORT: u16 = 53;
/// Longest accepted time (a day): longer would only hide a typo.
pub const RESOLVER_TIME_MAX: Timer = Timer::from_secs(86_400);
/// Bound on the addresses one name may fill (HAProxy's `server-template`
/// count plays this part); answers beyond it are dropped and counted.
pub const DEFAULT_MAX_ADDRESSES: u32 = 64;
pub const MAX_ADDRESSES_LIMIT: u32 = 4096;

/// Address family asked for when the virtual server does not decide.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Prefer {
    Ipv4,
    /// HAProxy's default.
    #[default]
    Ipv6,
}

/// `hold STATUS TIME`: HAProxy's six statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Hold {
    /// How long a valid answer stays current when later lookups fail:
    /// after it the status reads "stale" (the table is still unchanged).
    pub valid: Timer,
    /// NXDOMAIN for this long removes the name's real servers.
    pub nx: Timer,
    /// Accepted for HAProxy parity. A timeout, refusal or other error never
    /// removes anything here: a DNS outage must not empty IPVS.
    pub timeout: Timer,
    pub refused: Timer,
    pub other: Timer,
    /// An address missing from valid answers for this long is removed.
    pub obsolete: Timer,
}

impl Default for Hold {
    fn default() -> Self {
        Self {
            valid: Timer::from_secs(10),
            nx: Timer::from_secs(30),
            timeout: Timer::from_secs(30),
            refused: Timer::from_secs(30),
            other: Timer::from_secs(30),
            obsolete: Timer::from_secs(0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Nameserver {
    pub id: String,
    pub addr: SocketAddr,
}

/// A `resolvers` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Resolvers {
    pub name: String,
    pub nameservers: Vec<Nameserver>,
    /// Also use the nameservers of /etc/resolv.conf (read by the checker
    /// child at start and reload).
    pub parse_resolv_conf: bool,
    /// Lookups sent per period before the period counts as failed.
    pub resolve_retries: u32,
    /// Period between lookups of a name.
    pub timeout_resolve: Timer,
    /// Wait for an answer before the next retry.
    pub timeout_retry: Timer,
    pub hold: Hold,
    /// EDNS0 UDP payload size advertised; larger answers come over TCP.
    pub accepted_payload_size: u16,
    pub resolve_prefer: Prefer,
    /// `state_file PATH` (ours): where the checker child keeps each name's
    /// last addresses, for `init_addr last` after a restart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_file: Option<String>,
    /// Where `hold timeout`, `hold refused` or `hold other` is first
    /// written: accepted for HAProxy parity, acted on by nothing (the
    /// daemon names it as unsupported at `-t` and at start).
    #[serde(skip)]
    pub hold_unused_at: Option<Loc>,
    #[serde(skip)]
    pub loc: Option<Loc>,
}

impl Default for Resolvers {
    fn default() -> Self {
        Self {
            name: String::new(),
            nameservers: Vec::new(),
            parse_resolv_conf: false,
            resolve_retries: 3,
            timeout_resolve: Timer::from_secs(1),
            timeout_retry: Timer::from_secs(1),
            hold: Hold::default(),
            accepted_payload_size: 512,
            resolve_prefer: Prefer::Ipv6,
            state_file: None,
            hold_unused_at: None,
            loc: None,
        }
    }
}

/// `real_server_name HOST [PORT] { resolvers NAME; max_addresses N; ... }`:
/// a template real server filled once per resolved address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedRealServer {
    pub host: String,
    /// None: the virtual server's port (SRV answers bring their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    pub resolvers: String,
    pub max_addresses: u32,
    /// `init_addr` (HAProxy's `init-addr`): where the addresses come from
    /// until the first valid answer, tried in order; empty means `none`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub init_addr: Vec<InitAddr>,
    /// Everything else a real server says; its `ip` is unused.
    pub template: RealServer,
    #[serde(skip)]
    pub loc: Option<Loc>,
}

/// One start-up method of `init_addr`, HAProxy's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitAddr {
    /// The addresses the resolvers' `state_file` kept from the last run.
    Last,
    /// The system resolver (getaddrinfo: /etc/hosts, then DNS), A/AAAA
    /// names only.
    Libc,
    /// No address until DNS answers.
    None,
    /// This address.
    Addr(IpAddr),
}

/// `last,libc,none` or an address among them; None when a word is not one.
pub fn parse_init_addr(s: &str) -> Result<Vec<InitAddr>, String> {
    s.split(',')
        .map(|w| match w.trim() {
            "last" => Ok(InitAddr::Last),
            "libc" => Ok(InitAddr::Libc),
            "none" => Ok(InitAddr::None),
            other => other
                .parse::<IpAddr>()
                .map(InitAddr::Addr)
                .map_err(|_| format!("'{other}' is not last, libc, none or an address")),
        })
        .collect()
}

impl NamedRealServer {
    /// HAProxy's rule: `_service._proto.name` is an SRV lookup.
    pub fn is_srv(&self) -> bool {
        self.host.starts_with('_')
    }
}

/// A time in keepalived's decimal seconds, or with one of HAProxy's unit
/// suffixes (`us`, `ms`, `s`, `m`, `h`, `d`).
pub fn parse_time(s: &str) -> Option<Timer> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let base = Timer::parse(num)?;
    let micros = base.as_micros();
    let scaled = match unit {
        "" | "s" => Some(micros),
        "us" => Some(micros / 1_000_000),
        "ms" => Some(micros / 1_000),
        "m" => micros.checked_mul(60),
        "h" => micros.checked_mul(3_600),
        "d" => micros.checked_mul(86_400),
        _ => None,
    }?;
    Some(Timer::from_micros(scaled))
}

fn time_tok(t: &Token<'_>, r: &mut Reader<'_>) -> Option<Timer> {
    match parse_time(t.text) {
        Some(v) if v <= RESOLVER_TIME_MAX => Some(v),
        Some(_) => {
            r.error(
                &t.loc,
                format!("time '{}' is longer than a day; ignored", t.text),
            );
            None
        }
        None => {
            r.error(
                &t.loc,
                format!(
                    "expected a time (seconds, or with ms/s/m/h), found '{}'; ignored",
                    t.text
                ),
            );
            None
        }
    }
}

/// `ADDR`, `ADDR:PORT`, `[V6]:PORT` or a bare IPv6 address.
pub fn parse_nameserver_addr(s: &str) -> Option<SocketAddr> {
    if let Ok(sa) = s.parse::<SocketAddr>() {
        return Some(sa);
    }
    s.parse::<IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, DNS_PORT))
}

const RESOLVERS: &Table<Resolvers> = &[
    ("nameserver", |v, n, r| {
        r.no_block(n);
        let (Some(id), Some(addr)) = (r.arg(n, 0), r.arg(n, 1)) else {
            return;
        };
        let Some(sa) = parse_nameserver_addr(addr.text) else {
            r.error(
                &addr.loc,
                format!(
                    "nameserver {}: '{}' is not ADDR[:PORT]; ignored",
                    id.text, addr.text
                ),
            );
            return;
        };
        if sa.port() == 0 {
            r.error(&addr.loc, "nameserver port 0; ignored");
            return;
        }
        if v.nameservers.iter().any(|s| s.id == id.text) {
            r.error(
                &id.loc,
                format!("nameserver id '{}' is used twice; ignored", id.text),
            );
            return;
        }
        v.nameservers.push(Nameserver {
            id: id.text.to_string(),
            addr: sa,
        });
    }),
    ("parse-resolv-conf", |v, n, r| {
        v.parse_resolv_conf = r.flag(n)
    }),
    ("parse_resolv_conf", |v, n, r| {
        v.parse_resolv_conf = r.flag(n)
    }),
    ("resolve_retries", |v, n, r| {
        if let Some(x) = r.int(n, 1u32, 100) {
            v.resolve_retries = x;
        }
    }),
    ("timeout", |v, n, r| {
        r.no_block(n);
        let (Some(which), Some(t)) = (r.arg(n, 0), r.arg(n, 1)) else {
            return;
        };
        let Some(kind) = r.choice_tok(which, &["resolve", "retry"]) else {
            return;
        };
        let Some(time) = time_tok(t, r) else { return };
        if time.as_micros() < 1_000 {
            r.error(&t.loc, "timeout below 1ms; ignored");
            return;
        }
        match kind {
            "resolve" => v.timeout_resolve = time,
            _ => v.timeout_retry = time,
        }
    }),
    ("hold", |v, n, r| {
        r.no_block(n);
        let (Some(which), Some(t)) = (r.arg(n, 0), r.arg(n, 1)) else {
            return;
        };
        let choices = ["valid", "nx", "timeout", "refused", "other", "obsolete"];
        let Some(kind) = r.choice_tok(which, &choices) else {
            return;
        };
        let Some(time) = time_tok(t, r) else { return };
        if matches!(kind, "timeout" | "refused" | "other") && v.hold_unused_at.is_none() {
            v.hold_unused_at = Some(which.loc.clone());
        }
        let slot = match kind {
            "valid" => &mut v.hold.valid,
            "nx" => &mut v.hold.nx,
            "timeout" => &mut v.hold.timeout,
            "refused" => &mut v.hold.refused,
            "other" => &mut v.hold.other,
            _ => &mut v.hold.obsolete,
        };
        *slot = time;
    }),
    ("accepted_payload_size", |v, n, r| {
        if let Some(x) = r.int(n, 512u16, u16::MAX) {
            v.accepted_payload_size = x;
        }
    }),
    ("resolve-prefer", read_prefer),
    ("resolve_prefer", read_prefer),
    ("state_file", read_state_file),
    ("state-file", read_state_file),
];

fn read_state_file(v: &mut Resolvers, n: &Node<'_>, r: &mut Reader<'_>) {
    let Some(path) = r.string(n) else { return };
    if !path.starts_with('/') {
        r.error(
            n.loc(),
            format!("state_file '{path}' is not an absolute path; ignored"),
        );
        return;
    }
    v.state_file = Some(path);
}

fn read_prefer(v: &mut Resolvers, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(t) = r.arg(n, 0) else { return };
    match r.choice_tok(t, &["ipv4", "ipv6"]) {
        Some("ipv4") => v.resolve_prefer = Prefer::Ipv4,
        Some(_) => v.resolve_prefer = Prefer::Ipv6,
        None => {}
    }
}

/// Reads a `resolvers NAME { ... }` block.
pub fn read_resolvers(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Resolvers> {
    let name = r.arg(node, 0)?;
    let mut v = Resolvers {
        name: name.text.to_string(),
        loc: Some(node.loc().clone()),
        ..Resolvers::default()
    };
    let items = r.block(node);
    r.read_block(&mut v, items, RESOLVERS);
    Some(v)
}

/// Reads `real_server_name HOST [PORT] { ... }`; None when the header is
/// unusable (the block is then skipped with its error).
pub fn read_named_real_server(node: &Node<'_>, r: &mut Reader<'_>) -> Option<NamedRealServer> {
    let host = r.arg(node, 0)?;
    if let Err(why) = check_host(host.text) {
        r.error(
            &host.loc,
            format!(
                "real_server_name '{}' is not a DNS name ({why}); skipped",
                host.text
            ),
        );
        return None;
    }
    let port = match node.args.get(1) {
        Some(p) => Some(r.int_tok(p, 0u16, u16::MAX)?).filter(|v| *v != 0),
        None => None,
    };
    let mut named = NamedRealServer {
        host: host.text.trim_end_matches('.').to_ascii_lowercase(),
        port,
        resolvers: String::new(),
        max_addresses: DEFAULT_MAX_ADDRESSES,
        init_addr: Vec::new(),
        template: RealServer {
            port,
            loc: Some(node.loc().clone()),
            ..RealServer::default()
        },
        loc: Some(node.loc().clone()),
    };
    for n in r.block(node) {
        match n.name() {
            "resolvers" => {
                if let Some(s) = r.string(n) {
                    named.resolvers = s;
                }
            }
            "max_addresses" => {
                if let Some(x) = r.int(n, 1u32, MAX_ADDRESSES_LIMIT) {
                    named.max_addresses = x;
                }
            }
            "init_addr" | "init-addr" => {
                let Some(t) = r.arg(n, 0) else { continue };
                match parse_init_addr(t.text) {
                    Ok(v) => named.init_addr = v,
                    Err(why) => r.error(&t.loc, format!("init_addr: {why}; ignored")),
                }
            }
            _ => {
                if !read_rs_item(&mut named.template, n, r) {
                    r.unknown(
                        n,
                        ["resolvers", "max_addresses", "init_addr"]
                            .into_iter()
                            .chain(rs_keywords()),
                    );
                }
            }
        }
    }
    if named.resolvers.is_empty() {
        r.error(
            node.loc(),
            format!(
                "real_server_name {} has no 'resolvers NAME'; skipped",
                named.host
            ),
        );
        return None;
    }
    Some(named)
}

/// A name the resolver can put in a question: not an address (those
/// belong in `real_server`), labels of 1..=63 letters, digits, `-` or `_`,
/// 253 characters at most.
pub fn check_host(host: &str) -> Result<(), &'static str> {
    if host.parse::<IpAddr>().is_ok() {
        return Err("an IP address: use real_server");
    }
    let h = host.strip_suffix('.').unwrap_or(host);
    if h.is_empty() || h.len() > 253 {
        return Err("empty or longer than 253 characters");
    }
    for label in h.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("a label is empty or longer than 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err("only letters, digits, '-' and '_' are allowed");
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_seconds_or_with_haproxy_units() {
        assert_eq!(parse_time("1"), Some(Timer::from_secs(1)));
        assert_eq!(parse_time("0.5"), Some(Timer::from_micros(500_000)));
        assert_eq!(parse_time("100ms"), Some(Timer::from_micros(100_000)));
        assert_eq!(parse_time("2m"), Some(Timer::from_secs(120)));
        assert_eq!(parse_time("1h"), Some(Timer::from_secs(3600)));
        assert_eq!(parse_time("1x"), None);
        assert_eq!(parse_time("ms"), None);
        assert_eq!(parse_time(""), None);
    }

    #[test]
    fn nameserver_addresses_take_an_optional_port() {
        assert_eq!(
            parse_nameserver_addr("192.0.2.53"),
            Some("192.0.2.53:53".parse().unwrap())
        );
        assert_eq!(
            parse_nameserver_addr("192.0.2.53:5353"),
            Some("192.0.2.53:5353".parse().unwrap())
        );
        assert_eq!(
            parse_nameserver_addr("2001:db8::53"),
            Some("[2001:db8::53]:53".parse().unwrap())
        );
        assert_eq!(
            parse_nameserver_addr("[2001:db8::53]:5353"),
            Some("[2001:db8::53]:5353".parse().unwrap())
        );
        assert_eq!(parse_nameserver_addr("ns.example"), None);
    }

    #[test]
    fn hosts_must_be_dns_names() {
        assert!(check_host("web.example.internal").is_ok());
        assert!(check_host("_http._tcp.example.internal.").is_ok());
        assert!(check_host("192.0.2.1").is_err());
        assert!(check_host("a..b").is_err());
        assert!(check_host("a b").is_err());
        assert!(check_host(&"a".repeat(64)).is_err());
    }
}
