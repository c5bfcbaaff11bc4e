// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Health checkers inside `real_server` (inventory §A.10).
//!
//! Every checker kind has its own keyword table; the keywords most kinds
//! share (connection options, retry and timing) live in two common tables
//! tried after the kind's own. Values left unset stay `None` so the real
//! server / virtual server defaults can be resolved later by the
//! `effective_*` methods of [`crate::model::lvs::RealServer`].

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::diag::{Category, Loc};
use crate::reader::{Reader, Table, parse_bool};
use crate::syntax::Node;
use crate::types::{Command, Timer};

/// The longest interface name the kernel accepts (IFNAMSIZ - 1).
const IFNAMSIZ_MAX: usize = 15;

/// `connect_timeout` is held in microseconds in an unsigned int.
pub(crate) const CONNECT_TIMEOUT_MAX: Timer = Timer::from_micros(u32::MAX as u64);
/// Timers without an upper bound of their own.
pub(crate) const TIMER_MAX: Timer = Timer::from_micros(u64::MAX);

/// Keywords shared by the checkers (not every kind takes every one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckerCommon {
    /// Address to probe (default: the real server's).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub connect_ip: Option<IpAddr>,
    /// Port to probe (default: the real server's).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub connect_port: Option<u16>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bindto: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bind_port: Option<u16>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub bind_if: Option<String>,
    /// SO_MARK for the probe socket.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub fwmark: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub connect_timeout: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub retry: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub delay_before_retry: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub warmup: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub delay_loop: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub alpha: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub log_all_failures: Option<bool>,
}

/// One health check of a real server.
///
/// The kinds that carry more than the shared keywords are boxed: a
/// configuration can hold 100 000 checkers, nearly all TCP_CHECKs, and
/// every one would otherwise take the room of the largest kind (296 bytes
/// against 152).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Checker {
    TcpCheck(TcpCheck),
    HttpGet(Box<HttpCheck>),
    SslGet(Box<HttpCheck>),
    MiscCheck(Box<MiscCheck>),
    SmtpCheck(Box<SmtpCheck>),
    DnsCheck(Box<DnsCheck>),
    UdpCheck(Box<UdpCheck>),
    PingCheck(PingCheck),
    FileCheck(FileCheck),
    BfdCheck(BfdCheck),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TcpCheck {
    #[serde(flatten)]
    pub common: CheckerCommon,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PingCheck {
    #[serde(flatten)]
    pub common: CheckerCommon,
}

/// `http_protocol`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpProtocol {
    #[default]
    #[serde(rename = "1.0")]
    Http10,
    /// 1.0 with `Connection: close`.
    #[serde(rename = "1.0C")]
    Http10C,
    #[serde(rename = "1.1")]
    Http11,
}

/// An accepted status code or inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusRange {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub min: u16,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub max: u16,
}

/// `url { ... }` of HTTP_GET / SSL_GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Url {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub path: String,
    /// MD5 of the body, 32 lowercase hex digits.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub digest: Option<String>,
    /// Empty means keepalived's default, 200-299.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub status_code: Vec<StatusRange>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub regex_no_match: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub regex_options: Vec<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub regex_stack: Option<(u64, u64)>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub regex_min_offset: Option<u64>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub regex_max_offset: Option<u64>,
}

impl Url {
    /// The status codes that count as success.
    pub fn effective_status_codes(&self) -> Vec<StatusRange> {
        if self.status_code.is_empty() {
            vec![StatusRange { min: 200, max: 299 }]
        } else {
            self.status_code.clone()
        }
    }
}

/// HTTP_GET and SSL_GET.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpCheck {
    #[serde(flatten)]
    pub common: CheckerCommon,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub url: Vec<Url>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub http_protocol: HttpProtocol,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub fast_recovery: bool,
    /// SSL_GET only.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub enable_sni: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MiscCheck {
    #[serde(flatten)]
    pub common: CheckerCommon,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub misc_path: Option<Command>,
    /// Default: the checker's delay_loop.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub misc_timeout: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub misc_dynamic: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub group: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpCheck {
    #[serde(flatten)]
    pub common: CheckerCommon,
    /// Default `smtpchecker.keepalived.org`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub helo_name: Option<String>,
    /// Legacy `host { ... }` blocks: each is one more connection to try.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub host: Vec<CheckerCommon>,
}

/// DNS_CHECK query types keepalived 2.2.7 knows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum DnsType {
    A,
    Ns,
    Cname,
    #[default]
    Soa,
    Mx,
    Txt,
    Aaaa,
    Rrsig,
    Dnskey,
}

const DNS_TYPES: &[(&str, DnsType)] = &[
    ("A", DnsType::A),
    ("NS", DnsType::Ns),
    ("CNAME", DnsType::Cname),
    ("SOA", DnsType::Soa),
    ("MX", DnsType::Mx),
    ("TXT", DnsType::Txt),
    ("AAAA", DnsType::Aaaa),
    ("RRSIG", DnsType::Rrsig),
    ("DNSKEY", DnsType::Dnskey),
];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DnsCheck {
    #[serde(flatten)]
    pub common: CheckerCommon,
    #[serde(rename = "type")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub qtype: DnsType,
    /// Default `.`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UdpCheck {
    #[serde(flatten)]
    pub common: CheckerCommon,
    /// Bytes sent (hex in the configuration).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub payload: Option<Vec<u8>>,
    /// Whether a reply is needed, and its pattern (`X` digits are wildcards).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub require_reply: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub min_reply_length: u16,
    #[serde(skip_serializing_if = "udp_check_max_reply_length_is_default")]
    pub max_reply_length: u16,
}

impl Default for UdpCheck {
    fn default() -> Self {
        Self {
            common: CheckerCommon::default(),
            payload: None,
            require_reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        }
    }
}

struct_defaults!(UdpCheck {
    max_reply_length: u16 => udp_check_max_reply_length_is_default,
});

/// FILE_CHECK: the real server's weight follows a `track_file`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FileCheck {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub track_file: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight: Option<i32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub reverse: bool,
    /// Where `track_file` was written (the reference is checked later).
    #[serde(skip)]
    pub loc: Option<Loc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BfdCheck {
    /// The `bfd_instance` followed.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub alpha: Option<bool>,
    #[serde(skip)]
    pub loc: Option<Loc>,
}

/// Per-kind defaults keepalived applies when neither the checker nor the
/// real/virtual server says otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindDefaults {
    pub retry: u32,
    /// None = the checker's delay_loop.
    pub delay_before_retry: Option<Timer>,
}

impl Checker {
    /// The shared keywords, for kinds that have them.
    pub fn common(&self) -> Option<&CheckerCommon> {
        match self {
            Checker::TcpCheck(c) => Some(&c.common),
            Checker::HttpGet(c) | Checker::SslGet(c) => Some(&c.common),
            Checker::MiscCheck(c) => Some(&c.common),
            Checker::SmtpCheck(c) => Some(&c.common),
            Checker::DnsCheck(c) => Some(&c.common),
            Checker::UdpCheck(c) => Some(&c.common),
            Checker::PingCheck(c) => Some(&c.common),
            Checker::FileCheck(_) | Checker::BfdCheck(_) => None,
        }
    }

    /// The keyword that starts this checker.
    pub fn kind(&self) -> &'static str {
        match self {
            Checker::TcpCheck(_) => "TCP_CHECK",
            Checker::HttpGet(_) => "HTTP_GET",
            Checker::SslGet(_) => "SSL_GET",
            Checker::MiscCheck(_) => "MISC_CHECK",
            Checker::SmtpCheck(_) => "SMTP_CHECK",
            Checker::DnsCheck(_) => "DNS_CHECK",
            Checker::UdpCheck(_) => "UDP_CHECK",
            Checker::PingCheck(_) => "PING_CHECK",
            Checker::FileCheck(_) => "FILE_CHECK",
            Checker::BfdCheck(_) => "BFD_CHECK",
        }
    }

    /// keepalived's per-kind retry and delay_before_retry defaults.
    pub fn kind_defaults(&self) -> KindDefaults {
        let one = Some(Timer::from_secs(1));
        match self {
            Checker::HttpGet(_) | Checker::SslGet(_) => KindDefaults {
                retry: 1,
                delay_before_retry: Some(Timer::from_secs(3)),
            },
            Checker::DnsCheck(_) => KindDefaults {
                retry: 3,
                delay_before_retry: None,
            },
            Checker::MiscCheck(_) => KindDefaults {
                retry: 0,
                delay_before_retry: one,
            },
            _ => KindDefaults {
                retry: 1,
                delay_before_retry: one,
            },
        }
    }
}

// ----- reading -----

/// Connection keywords (not for MISC, FILE, BFD).
const CONN: &Table<CheckerCommon> = &[
    ("connect_ip", |c, n, r| {
        if let Some(ip) = r.ip(n) {
            if c.bindto.is_some_and(|b| b.is_ipv4() != ip.is_ipv4()) {
                r.error(
                    n.loc(),
                    format!("connect_ip {ip} is not of the address family of bindto; ignored"),
                );
            } else {
                c.connect_ip = Some(ip);
            }
        }
    }),
    ("connect_port", |c, n, r| {
        if let Some(p) = r.int(n, 1u16, 65535) {
            c.connect_port = Some(p);
        }
    }),
    ("bindto", |c, n, r| {
        if let Some(ip) = r.ip(n) {
            if c.connect_ip.is_some_and(|d| d.is_ipv4() != ip.is_ipv4()) {
                r.error(
                    n.loc(),
                    format!("bindto {ip} is not of the address family of connect_ip; ignored"),
                );
            } else {
                c.bindto = Some(ip);
            }
        }
    }),
    ("bind_port", |c, n, r| {
        if let Some(p) = r.int(n, 1u16, 65535) {
            c.bind_port = Some(p);
        }
    }),
    ("bind_if", |c, n, r| {
        // keepalived does not look the interface up here; it only checks
        // that the name fits.
        if let Some(s) = r.string(n) {
            if s.len() > IFNAMSIZ_MAX {
                r.error(
                    n.loc(),
                    format!(
                        "interface name '{s}' is longer than {IFNAMSIZ_MAX} characters; ignored"
                    ),
                );
            } else {
                c.bind_if = Some(s);
            }
        }
    }),
    ("connect_timeout", |c, n, r| {
        if let Some(t) = r.timer(n, Timer::from_micros(1), CONNECT_TIMEOUT_MAX) {
            c.connect_timeout = Some(t);
        }
    }),
    ("fwmark", |c, n, r| {
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            c.fwmark = Some(v);
        }
    }),
];

/// Retry and timing keywords (every kind except FILE and BFD).
const BASE: &Table<CheckerCommon> = &[
    ("retry", |c, n, r| {
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            c.retry = Some(v);
        }
    }),
    ("delay_before_retry", |c, n, r| {
        if let Some(t) = r.timer(n, Timer::from_micros(0), TIMER_MAX) {
            c.delay_before_retry = Some(t);
        }
    }),
    ("warmup", |c, n, r| {
        if let Some(t) = r.timer(n, Timer::from_micros(0), TIMER_MAX) {
            c.warmup = Some(t);
        }
    }),
    ("delay_loop", |c, n, r| {
        if let Some(t) = r.timer(n, Timer::from_micros(1), TIMER_MAX) {
            c.delay_loop = Some(t);
        }
    }),
    ("alpha", |c, n, r| c.alpha = strict_flag(n, r)),
    ("log_all_failures", |c, n, r| {
        c.log_all_failures = strict_flag(n, r)
    }),
];

/// keepalived's optional boolean where a bad word leaves the value unset
/// (rather than taking it as on).
pub(crate) fn strict_flag(n: &Node<'_>, r: &mut Reader<'_>) -> Option<bool> {
    r.no_block(n);
    match n.args.first() {
        None => Some(true),
        Some(t) => {
            let v = parse_bool(t.text);
            if v.is_none() {
                r.error(
                    &t.loc,
                    format!(
                        "'{}' expects on/off, true/false or yes/no, found '{}'; ignored",
                        n.name(),
                        t.text
                    ),
                );
            }
            v
        }
    }
}

/// Dispatches `items` to the kind's own table, then to the common tables;
/// unknown keywords are reported with the union as suggestions.
fn read_checker_block<T>(
    t: &mut T,
    items: &[Node<'_>],
    own: &Table<T>,
    common: &[&Table<CheckerCommon>],
    get_common: fn(&mut T) -> &mut CheckerCommon,
    r: &mut Reader<'_>,
) {
    for node in items {
        if let Some((_, h)) = own.iter().find(|(k, _)| *k == node.name()) {
            h(t, node, r);
            continue;
        }
        let found = common
            .iter()
            .flat_map(|tab| tab.iter())
            .find(|(k, _)| *k == node.name());
        match found {
            Some((_, h)) => h(get_common(t), node, r),
            None => {
                let known = own
                    .iter()
                    .map(|(k, _)| *k)
                    .chain(common.iter().flat_map(|tab| tab.iter().map(|(k, _)| *k)));
                r.unknown(node, known);
            }
        }
    }
}

const NO_OWN_TCP: &Table<TcpCheck> = &[];
const NO_OWN_PING: &Table<PingCheck> = &[];
const NO_OWN_COMMON: &Table<CheckerCommon> = &[];

fn read_tcp(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = TcpCheck::default();
    let items = r.block(node);
    read_checker_block(
        &mut c,
        items,
        NO_OWN_TCP,
        &[CONN, BASE],
        |c| &mut c.common,
        r,
    );
    Some(Checker::TcpCheck(c))
}

fn read_ping(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = PingCheck::default();
    let items = r.block(node);
    read_checker_block(
        &mut c,
        items,
        NO_OWN_PING,
        &[CONN, BASE],
        |c| &mut c.common,
        r,
    );
    Some(Checker::PingCheck(c))
}

// --- HTTP_GET / SSL_GET ---

const HTTP: &Table<HttpCheck> = &[
    ("url", |c, n, r| {
        if let Some(u) = read_url(n, r) {
            c.url.push(u);
        }
    }),
    ("nb_get_retry", |c, n, r| {
        r.warn(n.loc(), "'nb_get_retry' is deprecated; use 'retry'");
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            c.common.retry = Some(v);
        }
    }),
    ("virtualhost", |c, n, r| {
        if let Some(s) = r.string(n) {
            c.virtualhost = Some(s);
        }
    }),
    ("http_protocol", |c, n, r| {
        r.no_block(n);
        let Some(t) = r.arg(n, 0) else { return };
        match t.text {
            "1.0" => c.http_protocol = HttpProtocol::Http10,
            "1.0C" | "1.0c" => c.http_protocol = HttpProtocol::Http10C,
            "1.1" => c.http_protocol = HttpProtocol::Http11,
            other => r.error(
                &t.loc,
                format!("invalid http_protocol '{other}': expected 1.0, 1.0C or 1.1"),
            ),
        }
    }),
    ("fast_recovery", |c, n, r| {
        if let Some(v) = strict_flag(n, r) {
            c.fast_recovery = v;
        }
    }),
    ("enable_sni", |c, n, r| {
        if let Some(v) = strict_flag(n, r) {
            c.enable_sni = v;
        }
    }),
];

fn read_http(node: &Node<'_>, r: &mut Reader<'_>, ssl: bool) -> Option<Checker> {
    let mut c = HttpCheck::default();
    let items = r.block(node);
    read_checker_block(&mut c, items, HTTP, &[CONN, BASE], |c| &mut c.common, r);
    if c.url.is_empty() {
        r.error(
            node.loc(),
            format!("{} has no valid 'url' block; checker ignored", node.name()),
        );
        return None;
    }
    Some(if ssl {
        Checker::SslGet(Box::new(c))
    } else {
        Checker::HttpGet(Box::new(c))
    })
}

const URL: &Table<Url> = &[
    ("path", |u, n, r| {
        if let Some(s) = r.string(n) {
            u.path = s;
        }
    }),
    ("digest", |u, n, r| {
        let Some(s) = r.string(n) else { return };
        if u.digest.is_some() {
            r.error(n.loc(), format!("digest '{s}' is a duplicate; ignored"));
        } else if s.len() != 32 {
            r.error(
                n.loc(),
                format!(
                    "digest '{s}' should be 32 hex digits, found {} characters",
                    s.len()
                ),
            );
        } else if !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            r.error(n.loc(), format!("digest '{s}' is not hexadecimal"));
        } else {
            u.digest = Some(s.to_ascii_lowercase());
        }
    }),
    ("status_code", |u, n, r| {
        r.no_block(n);
        for t in &n.args {
            match parse_status(t.text) {
                Some(s) => u.status_code.push(s),
                None => r.error(
                    &t.loc,
                    format!(
                        "invalid HTTP status code '{}': expected N or N-M within 100-599",
                        t.text
                    ),
                ),
            }
        }
    }),
    ("virtualhost", |u, n, r| {
        if let Some(s) = r.string(n) {
            u.virtualhost = Some(s);
        }
    }),
    // The regex keywords are reported by keepalived through its log only,
    // not as configuration errors, so `-t` stays clean: we keep what we
    // can and stay silent about the rest, as it does.
    ("regex", |u, n, r| {
        r.no_block(n);
        // keepalived reads the pattern with quotes and escapes resolved
        // (`\\d` is `\d`; a lone `\d` is `d`), and wants one word.
        if let Ok(words) = crate::script::split_words(n.rest)
            && let [word] = words.as_slice()
        {
            u.regex = Some(String::from_utf8_lossy(word).into_owned());
        }
    }),
    ("regex_no_match", |u, n, r| {
        r.no_block(n);
        u.regex_no_match = true;
    }),
    ("regex_options", |u, n, r| {
        r.no_block(n);
        u.regex_options.extend(
            n.args
                .iter()
                .filter(|t| REGEX_OPTIONS.contains(&t.text))
                .map(|t| t.text.to_string()),
        );
    }),
    ("regex_stack", |u, n, r| {
        r.no_block(n);
        if let [a, b] = n.args.as_slice()
            && let (Ok(a), Ok(b)) = (a.text.parse::<u64>(), b.text.parse::<u64>())
            && a <= b
        {
            u.regex_stack = Some((a, b));
        }
    }),
    ("regex_min_offset", |u, n, r| {
        r.no_block(n);
        u.regex_min_offset = single_u64(n);
    }),
    ("regex_max_offset", |u, n, r| {
        r.no_block(n);
        u.regex_max_offset = single_u64(n);
    }),
];

/// PCRE2 options keepalived knows by name.
const REGEX_OPTIONS: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "auto_callout",
    "caseless",
    "dollar_endonly",
    "dotall",
    "dupnames",
    "extended",
    "firstline",
    "match_unset_backref",
    "multiline",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "ungreedy",
    "never_backslash_c",
    "alt_circumflex",
    "alt_verbnames",
    "use_offset_limit",
];

fn single_u64(n: &Node<'_>) -> Option<u64> {
    match n.args.as_slice() {
        [t] => t.text.parse().ok(),
        _ => None,
    }
}

fn parse_status(s: &str) -> Option<StatusRange> {
    let (a, b) = s.split_once('-').unwrap_or((s, s));
    let min: u16 = a.parse().ok()?;
    let max: u16 = b.parse().ok()?;
    let ok = |v: u16| (100..=599).contains(&v);
    (ok(min) && ok(max) && min <= max).then_some(StatusRange { min, max })
}

fn read_url(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Url> {
    let mut u = Url::default();
    let items = r.block(node);
    r.read_block(&mut u, items, URL);
    if u.path.is_empty() {
        r.error(node.loc(), "'url' has no 'path'; url ignored");
        return None;
    }
    Some(u)
}

// --- MISC_CHECK ---

const MISC: &Table<MiscCheck> = &[
    ("misc_path", |c, n, r| c.misc_path = r.command(n)),
    ("misc_timeout", |c, n, r| {
        if let Some(t) = r.timer(n, Timer::from_micros(0), TIMER_MAX) {
            c.misc_timeout = Some(t);
        }
    }),
    ("misc_dynamic", |c, n, r| {
        if let Some(v) = strict_flag(n, r) {
            c.misc_dynamic = v;
        }
    }),
    ("user", |c, n, r| {
        r.no_block(n);
        if let Some(u) = r.arg(n, 0) {
            c.user = Some(u.text.to_string());
            c.group = n.args.get(1).map(|t| t.text.to_string());
        }
    }),
];

fn read_misc(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = MiscCheck::default();
    let items = r.block(node);
    read_checker_block(&mut c, items, MISC, &[BASE], |c| &mut c.common, r);
    if c.misc_path.is_none() {
        r.error(node.loc(), "MISC_CHECK has no 'misc_path'; checker ignored");
        return None;
    }
    Some(Checker::MiscCheck(Box::new(c)))
}

// --- SMTP_CHECK ---

const SMTP: &Table<SmtpCheck> = &[
    ("helo_name", |c, n, r| {
        if let Some(s) = r.string(n) {
            c.helo_name = Some(s);
        }
    }),
    ("host", |c, n, r| {
        // Deprecated in favour of one SMTP_CHECK per host; keepalived only
        // logs that, so no diagnostic here.
        let mut h = CheckerCommon::default();
        let items = r.block(n);
        read_checker_block(&mut h, items, NO_OWN_COMMON, &[CONN], |h| h, r);
        c.host.push(h);
    }),
];

fn read_smtp(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = SmtpCheck::default();
    let items = r.block(node);
    read_checker_block(&mut c, items, SMTP, &[CONN, BASE], |c| &mut c.common, r);
    Some(Checker::SmtpCheck(Box::new(c)))
}

// --- DNS_CHECK ---

const DNS: &Table<DnsCheck> = &[
    ("type", |c, n, r| {
        r.no_block(n);
        let Some(t) = r.arg(n, 0) else { return };
        match DNS_TYPES
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(t.text))
        {
            Some((_, v)) => c.qtype = *v,
            None => r.error(
                &t.loc,
                format!(
                    "unknown DNS_CHECK type '{}': expected one of {}",
                    t.text,
                    DNS_TYPES
                        .iter()
                        .map(|(k, _)| *k)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        }
    }),
    ("name", |c, n, r| {
        let Some(s) = r.string(n) else { return };
        if c.name.is_some() {
            r.error(
                n.loc(),
                "DNS_CHECK 'name' given twice; the second is ignored",
            );
        } else if has_empty_label(&s) {
            r.error(
                n.loc(),
                format!("DNS_CHECK name '{s}' has an empty label; ignored"),
            );
        } else {
            c.name = Some(s);
        }
    }),
];

/// A name like `a..b` or `.x` (a lone `.` is the root and fine).
fn has_empty_label(s: &str) -> bool {
    if s == "." {
        return false;
    }
    let body = s.strip_suffix('.').unwrap_or(s);
    body.split('.').any(str::is_empty)
}

fn read_dns(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = DnsCheck::default();
    let items = r.block(node);
    read_checker_block(&mut c, items, DNS, &[CONN, BASE], |c| &mut c.common, r);
    Some(Checker::DnsCheck(Box::new(c)))
}

// --- UDP_CHECK ---

const UDP: &Table<UdpCheck> = &[
    ("payload", |c, n, r| {
        r.no_block(n);
        let Some(t) = n.args.first() else {
            r.error(n.loc(), "'payload' needs hex bytes");
            return;
        };
        match parse_hex(t.text) {
            Some(b) => c.payload = Some(b),
            None => r.error(
                &t.loc,
                format!("invalid UDP_CHECK payload '{}': expected hex bytes", t.text),
            ),
        }
    }),
    ("require_reply", |c, n, r| {
        r.no_block(n);
        match n.args.first() {
            None => c.require_reply = Some(String::new()),
            Some(t) => {
                if valid_reply_pattern(t.text) {
                    c.require_reply = Some(t.text.to_string());
                } else {
                    r.error(
                        &t.loc,
                        format!(
                            "invalid UDP_CHECK reply '{}': expected hex digits (X as a wildcard)",
                            t.text
                        ),
                    );
                }
            }
        }
    }),
    ("min_reply_length", |c, n, r| {
        if let Some(v) = r.int(n, 0u16, u16::MAX) {
            c.min_reply_length = v;
        }
    }),
    ("max_reply_length", |c, n, r| {
        if let Some(v) = r.int(n, 0u16, u16::MAX) {
            c.max_reply_length = v;
        }
    }),
];

fn parse_hex(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

fn valid_reply_pattern(s: &str) -> bool {
    !s.is_empty()
        && s.len().is_multiple_of(2)
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'X' || b == b'x')
}

fn read_udp(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = UdpCheck::default();
    let items = r.block(node);
    read_checker_block(&mut c, items, UDP, &[CONN, BASE], |c| &mut c.common, r);
    if c.min_reply_length > c.max_reply_length {
        r.error(
            node.loc(),
            format!(
                "UDP_CHECK min_reply_length {} > max_reply_length {}: the check can never pass",
                c.min_reply_length, c.max_reply_length
            ),
        );
    }
    Some(Checker::UdpCheck(Box::new(c)))
}

// --- FILE_CHECK ---

const FILE: &Table<FileCheck> = &[
    ("track_file", |c, n, r| {
        if let Some(s) = r.string(n) {
            c.track_file = s;
            c.loc = Some(n.loc().clone());
        }
    }),
    ("weight", |c, n, r| {
        r.no_block(n);
        let Some(t) = r.arg(n, 0) else { return };
        let Some(w) = r.int_tok(t, -254i32, 254) else {
            return;
        };
        match n.args.get(1).map(|t| (t, t.text)) {
            None => {}
            Some((_, "reverse")) => c.reverse = true,
            Some((_, "noreverse")) => c.reverse = false,
            Some((t, other)) => {
                r.error(
                    &t.loc,
                    format!(
                        "unknown track file weight option '{other}': expected reverse or noreverse"
                    ),
                );
                return;
            }
        }
        c.weight = Some(w);
    }),
];

fn read_file(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = FileCheck::default();
    let items = r.block(node);
    r.read_block(&mut c, items, FILE);
    if c.track_file.is_empty() {
        r.error(
            node.loc(),
            "FILE_CHECK has no 'track_file'; checker ignored",
        );
        return None;
    }
    Some(Checker::FileCheck(c))
}

// --- BFD_CHECK ---

const BFD: &Table<BfdCheck> = &[
    ("name", |c, n, r| {
        r.no_block(n);
        if n.args.len() != 1 {
            r.error(
                n.loc(),
                "BFD_CHECK 'name' takes exactly one bfd_instance name; checker ignored",
            );
            c.name.clear();
            return;
        }
        if let Some(t) = n.args.first() {
            c.name = t.text.to_string();
            c.loc = Some(n.loc().clone());
        }
    }),
    ("alpha", |c, n, r| c.alpha = strict_flag(n, r)),
];

fn read_bfd(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    let mut c = BfdCheck::default();
    let items = r.block(node);
    r.read_block(&mut c, items, BFD);
    if c.name.is_empty() {
        r.error(node.loc(), "BFD_CHECK has no 'name'; checker ignored");
        return None;
    }
    Some(Checker::BfdCheck(c))
}

/// The checker keywords a `real_server` block accepts.
pub const CHECKER_KEYWORDS: &[&str] = &[
    "TCP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "MISC_CHECK",
    "SMTP_CHECK",
    "DNS_CHECK",
    "UDP_CHECK",
    "PING_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

/// Reads one checker block; `None` when keepalived would drop it (the
/// reason has been reported).
pub fn read_checker(node: &Node<'_>, r: &mut Reader<'_>) -> Option<Checker> {
    match node.name() {
        "TCP_CHECK" => read_tcp(node, r),
        "HTTP_GET" => read_http(node, r, false),
        "SSL_GET" => read_http(node, r, true),
        "MISC_CHECK" => read_misc(node, r),
        "SMTP_CHECK" => read_smtp(node, r),
        "DNS_CHECK" => read_dns(node, r),
        "UDP_CHECK" => read_udp(node, r),
        "PING_CHECK" => read_ping(node, r),
        "FILE_CHECK" => read_file(node, r),
        "BFD_CHECK" => read_bfd(node, r),
        _ => {
            r.diags.report(
                Category::UnknownKeyword,
                Some(node.loc().clone()),
                format!("Unknown checker '{}'", node.name()),
            );
            None
        }
    }
}
