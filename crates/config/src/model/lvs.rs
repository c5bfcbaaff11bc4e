// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `virtual_server_group`, `virtual_server`, `real_server` (inventory §A.9).
//!
//! Values a real server or checker inherits are kept as `Option`s exactly
//! as written; the `effective_*` methods resolve them with keepalived's
//! defaults (checker -> real server -> virtual server -> built-in).
//! Mistakes keepalived notices while parsing are reported here; those that
//! need the whole block (no real servers, quorum, ports) are in
//! `validate::lvs`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

use crate::diag::Loc;
use crate::model::checker::{
    self, CHECKER_KEYWORDS, CONNECT_TIMEOUT_MAX, Checker, TIMER_MAX, strict_flag,
};
use crate::reader::{Reader, Table};
use crate::syntax::{Node, Token};
use crate::types::{Command, Timer};

/// IPVS's largest weight (INT_MAX).
pub const WEIGHT_MAX: u32 = i32::MAX as u32;
/// IPVS's largest persistence timeout (31 days).
pub const PERSISTENCE_TIMEOUT_MAX: u32 = 2_678_400;
/// `persistence_timeout` written without a value.
pub const PERSISTENCE_TIMEOUT_DEFAULT: u32 = 360;
pub const DEFAULT_DELAY_LOOP: Timer = Timer::from_secs(60);
pub const DEFAULT_CONNECT_TIMEOUT: Timer = Timer::from_secs(5);

// ----- small closed sets -----

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IpFamily {
    Inet,
    Inet6,
}

impl IpFamily {
    pub fn of(ip: &IpAddr) -> Self {
        if ip.is_ipv4() {
            IpFamily::Inet
        } else {
            IpFamily::Inet6
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

/// IPVS schedulers keepalived 2.2.7 accepts (names are case-sensitive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Sed,
    Nq,
    Twos,
}

const SCHEDULERS: &[(&str, Scheduler)] = &[
    ("rr", Scheduler::Rr),
    ("wrr", Scheduler::Wrr),
    ("lc", Scheduler::Lc),
    ("wlc", Scheduler::Wlc),
    ("lblc", Scheduler::Lblc),
    ("lblcr", Scheduler::Lblcr),
    ("sh", Scheduler::Sh),
    ("mh", Scheduler::Mh),
    ("dh", Scheduler::Dh),
    ("fo", Scheduler::Fo),
    ("ovf", Scheduler::Ovf),
    ("sed", Scheduler::Sed),
    ("nq", Scheduler::Nq),
    ("twos", Scheduler::Twos),
];

impl Scheduler {
    /// The name keepalived's config and the kernel both use (`wlc`, `mh`).
    pub fn name(self) -> &'static str {
        SCHEDULERS
            .iter()
            .find(|(_, s)| *s == self)
            .map_or("wlc", |(name, _)| name)
    }
}

/// keepalived's scheduler when none is set (it warns).
pub const DEFAULT_SCHEDULER: Scheduler = Scheduler::Wlc;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LvsMethod {
    Nat,
    Dr,
    Tun,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    #[default]
    Ipip,
    Gue,
    Gre,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelCsum {
    #[default]
    Nocsum,
    Csum,
    Remcsum,
}

/// `lvs_method` / `lb_kind` with its tunnel options.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Forwarding {
    pub method: LvsMethod,
    /// Only for TUN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tunnel: Option<Tunnel>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(default)]
pub struct Tunnel {
    #[serde(rename = "type")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub tun_type: TunnelType,
    /// GUE only.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub csum: TunnelCsum,
}

impl Forwarding {
    pub const NAT: Forwarding = Forwarding {
        method: LvsMethod::Nat,
        tunnel: None,
    };
}

// ----- virtual_server_group -----

/// One line of a `virtual_server_group`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VsgEntry {
    /// `IP [PORT]`, `IP-END [PORT]` or `IP/PREFIX [PORT]`, as an inclusive
    /// range (start == end for a single address). Port 0 = none.
    Range {
        start: IpAddr,
        end: IpAddr,
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        fwmark: u32,
        family: Option<IpFamily>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VirtualServerGroup {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub name: String,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub entries: Vec<VsgEntry>,
    #[serde(skip)]
    pub loc: Option<Loc>,
}

impl VirtualServerGroup {
    pub fn has_addresses(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Range { .. }))
    }

    pub fn has_fwmarks(&self) -> bool {
        self.entries
            .iter()
            .any(|e| matches!(e, VsgEntry::Fwmark { .. }))
    }
}

// ----- virtual_server / real_server -----

/// What a `virtual_server` line names.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VirtualServerKey {
    /// `virtual_server IP [PORT]` (port 0 = none given).
    Addr {
        ip: IpAddr,
        port: u16,
    },
    Fwmark(u32),
    Group(String),
}

impl Default for VirtualServerKey {
    fn default() -> Self {
        VirtualServerKey::Fwmark(0)
    }
}

impl std::fmt::Display for VirtualServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VirtualServerKey::Addr { ip, port } => write!(f, "[{ip}]:{port}"),
            VirtualServerKey::Fwmark(m) => write!(f, "FWM {m}"),
            VirtualServerKey::Group(g) => write!(f, "group {g}"),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SorryServer {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub ip: Option<IpAddr>,
    /// None = the virtual server's port.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub port: Option<u16>,
    /// `sorry_server_inhibit`.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub inhibit: bool,
    /// `sorry_server_lvs_method` (default: the virtual server's).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_method: Option<Forwarding>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VirtualServer {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub key: VirtualServerKey,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub ip_family: Option<IpFamily>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub delay_loop: Option<Timer>,
    /// `lvs_sched` / `lb_algo`; None = wlc, with a warning.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_sched: Option<Scheduler>,
    /// `lvs_method` / `lb_kind`; None = NAT, with a warning.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_method: Option<Forwarding>,
    /// None = UDP for address services, with a warning.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub protocol: Option<Protocol>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub persistence_timeout: Option<u32>,
    /// IPv4 netmask or IPv6 prefix length, as written.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub persistence_granularity: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub persistence_engine: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub ha_suspend: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub virtualhost: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub alpha: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub omega: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub ops: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub hashed: bool,
    #[serde(rename = "flag-1")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub flag_1: bool,
    #[serde(rename = "flag-2")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub flag_2: bool,
    #[serde(rename = "flag-3")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub flag_3: bool,
    #[serde(rename = "sh-port")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub sh_port: bool,
    #[serde(rename = "sh-fallback")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub sh_fallback: bool,
    #[serde(rename = "mh-port")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mh_port: bool,
    #[serde(rename = "mh-fallback")]
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub mh_fallback: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub sorry_server: Option<SorryServer>,
    #[serde(skip_serializing_if = "virtual_server_quorum_is_default")]
    pub quorum: u32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub hysteresis: u32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub quorum_up: Option<Command>,
    /// `announce { ... }` (keepalived-rs extension): a host route for the
    /// virtual server's address while it has quorum. Validation names it
    /// after the virtual server and fills in the address.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub announce: Option<crate::model::announce::Announce>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub quorum_down: Option<Command>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub smtp_alert: Option<bool>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub snmp_name: Option<String>,
    // Defaults for real servers and their checkers.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub connect_timeout: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub retry: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub delay_before_retry: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub warmup: Option<Timer>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub inhibit_on_failure: bool,
    /// Weight of real servers that set none.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight: Option<u32>,
    #[serde(
        default,
        skip_serializing_if = "crate::types::is_default",
        deserialize_with = "crate::model::sized::vec"
    )]
    pub real_servers: Vec<RealServer>,
    /// keepalived-rs extension: real servers named by DNS
    /// (`real_server_name`), each filling a set of real servers at run time.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub named_real_servers: Vec<crate::model::resolvers::NamedRealServer>,
    #[serde(skip)]
    pub loc: Option<Loc>,
}

impl Default for VirtualServer {
    fn default() -> Self {
        Self {
            key: VirtualServerKey::default(),
            ip_family: None,
            delay_loop: None,
            lvs_sched: None,
            lvs_method: None,
            protocol: None,
            persistence_timeout: None,
            persistence_granularity: None,
            persistence_engine: None,
            ha_suspend: false,
            virtualhost: None,
            alpha: false,
            omega: false,
            ops: false,
            hashed: false,
            flag_1: false,
            flag_2: false,
            flag_3: false,
            sh_port: false,
            sh_fallback: false,
            mh_port: false,
            mh_fallback: false,
            sorry_server: None,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            announce: None,
            quorum_down: None,
            smtp_alert: None,
            snmp_name: None,
            connect_timeout: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            inhibit_on_failure: false,
            weight: None,
            real_servers: Vec::new(),
            named_real_servers: Vec::new(),
            loc: None,
        }
    }
}

struct_defaults!(VirtualServer {
    quorum: u32 => virtual_server_quorum_is_default,
});

impl VirtualServer {
    pub fn effective_delay_loop(&self) -> Timer {
        self.delay_loop.unwrap_or(DEFAULT_DELAY_LOOP)
    }

    pub fn effective_lvs_sched(&self) -> Scheduler {
        self.lvs_sched.unwrap_or(DEFAULT_SCHEDULER)
    }

    pub fn effective_lvs_method(&self) -> Forwarding {
        self.lvs_method.unwrap_or(Forwarding::NAT)
    }

    /// The protocol programmed into IPVS (None for fwmark services, whose
    /// protocol keepalived ignores).
    pub fn effective_protocol(&self) -> Option<Protocol> {
        match self.key {
            VirtualServerKey::Fwmark(_) => None,
            _ => Some(self.protocol.unwrap_or(Protocol::Udp)),
        }
    }

    pub fn effective_connect_timeout(&self) -> Timer {
        self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// The port of an address service (0 for fwmark and group services).
    pub fn port(&self) -> u16 {
        match self.key {
            VirtualServerKey::Addr { port, .. } => port,
            _ => 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RealServer {
    pub ip: IpAddr,
    /// None = the virtual server's port.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub weight: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub inhibit_on_failure: Option<bool>,
    /// Boxed, as they are rare: inline, the two took 144 bytes of every
    /// real server.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_up: Option<Box<Command>>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub notify_down: Option<Box<Command>>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lvs_method: Option<Forwarding>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub uthreshold: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub lthreshold: Option<u32>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub alpha: Option<bool>,
    /// What the real server sets for its checkers (and its SNMP name):
    /// read when checkers are built, rarely set, so boxed and absent
    /// unless one is. Inline, these took 97 of the struct's 240 bytes,
    /// which the checker child kept for every real server after its
    /// checkers were built (issue 10's memory aim).
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub checker_defaults: Option<Box<RsCheckerDefaults>>,
    #[serde(
        default,
        skip_serializing_if = "crate::types::is_default",
        deserialize_with = "crate::model::sized::vec"
    )]
    pub checkers: Vec<Checker>,
    #[serde(skip)]
    pub loc: Option<Loc>,
}

/// A real server's settings that its checkers inherit when they do not
/// set their own (and `snmp_name`, which nothing running reads).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RsCheckerDefaults {
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub connect_timeout: Option<Timer>,
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub retry: Option<u32>,
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub delay_before_retry: Option<Timer>,
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub warmup: Option<Timer>,
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub delay_loop: Option<Timer>,
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub smtp_alert: Option<bool>,
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub virtualhost: Option<String>,
    #[serde(skip_serializing_if = "crate::types::is_default")]
    pub snmp_name: Option<String>,
}

/// What a real server without checker defaults reads.
static NO_CHECKER_DEFAULTS: RsCheckerDefaults = RsCheckerDefaults {
    connect_timeout: None,
    retry: None,
    delay_before_retry: None,
    warmup: None,
    delay_loop: None,
    smtp_alert: None,
    virtualhost: None,
    snmp_name: None,
};

impl Default for RealServer {
    fn default() -> Self {
        Self {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: None,
            weight: None,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            lvs_method: None,
            uthreshold: None,
            lthreshold: None,
            alpha: None,
            checker_defaults: None,
            checkers: Vec::new(),
            loc: None,
        }
    }
}

impl RealServer {
    /// [`crate::Config::shrink_to_fit`] for one real server: its checkers
    /// and the lists inside them.
    pub fn shrink_to_fit(&mut self) {
        self.checkers.shrink_to_fit();
        for cmd in [&mut self.notify_up, &mut self.notify_down]
            .into_iter()
            .flatten()
        {
            cmd.argv.shrink_to_fit();
        }
        for c in &mut self.checkers {
            match c {
                Checker::HttpGet(h) | Checker::SslGet(h) => h.url.shrink_to_fit(),
                Checker::MiscCheck(m) => {
                    if let Some(cmd) = &mut m.misc_path {
                        cmd.argv.shrink_to_fit();
                    }
                }
                Checker::SmtpCheck(s) => s.host.shrink_to_fit(),
                _ => {}
            }
        }
    }

    pub fn effective_port(&self, vs: &VirtualServer) -> u16 {
        self.port.filter(|p| *p != 0).unwrap_or_else(|| vs.port())
    }

    pub fn effective_weight(&self, vs: &VirtualServer) -> u32 {
        self.weight.or(vs.weight).unwrap_or(1)
    }

    pub fn effective_lvs_method(&self, vs: &VirtualServer) -> Forwarding {
        self.lvs_method.unwrap_or_else(|| vs.effective_lvs_method())
    }

    pub fn effective_inhibit_on_failure(&self, vs: &VirtualServer) -> bool {
        self.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure)
    }

    pub fn effective_alpha(&self, vs: &VirtualServer) -> bool {
        self.alpha.unwrap_or(vs.alpha)
    }

    /// What this real server sets for its checkers (all unset when it
    /// sets nothing).
    pub fn checker_defaults(&self) -> &RsCheckerDefaults {
        self.checker_defaults
            .as_deref()
            .unwrap_or(&NO_CHECKER_DEFAULTS)
    }

    /// The same, to set one.
    pub fn checker_defaults_mut(&mut self) -> &mut RsCheckerDefaults {
        self.checker_defaults.get_or_insert_with(Box::default)
    }

    pub fn effective_delay_loop(&self, vs: &VirtualServer) -> Timer {
        self.checker_defaults()
            .delay_loop
            .unwrap_or_else(|| vs.effective_delay_loop())
    }

    pub fn effective_connect_timeout(&self, vs: &VirtualServer) -> Timer {
        self.checker_defaults()
            .connect_timeout
            .unwrap_or_else(|| vs.effective_connect_timeout())
    }

    /// Explicit retry of the real server or, failing that, the virtual
    /// server (None = each checker's own default).
    pub fn inherited_retry(&self, vs: &VirtualServer) -> Option<u32> {
        self.checker_defaults().retry.or(vs.retry)
    }

    pub fn inherited_delay_before_retry(&self, vs: &VirtualServer) -> Option<Timer> {
        self.checker_defaults()
            .delay_before_retry
            .or(vs.delay_before_retry)
    }

    pub fn inherited_warmup(&self, vs: &VirtualServer) -> Option<Timer> {
        self.checker_defaults().warmup.or(vs.warmup)
    }

    /// keepalived's rule: smtp_alert set on the real server, else the
    /// global `smtp_alert_checker` / `smtp_alert`, else on (for
    /// compatibility, unlike every other smtp_alert default).
    pub fn effective_smtp_alert(&self, global: Option<bool>) -> bool {
        self.checker_defaults()
            .smtp_alert
            .or(global)
            .unwrap_or(true)
    }
}

/// A checker's timing with every inherited value resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveChecker {
    pub delay_loop: Timer,
    pub retry: u32,
    pub delay_before_retry: Timer,
    /// Upper bound of the random delay before the first check.
    pub warmup: Timer,
    /// None for kinds without a connection (MISC, FILE, BFD).
    pub connect_timeout: Option<Timer>,
    pub alpha: bool,
}

impl Checker {
    /// Resolves this checker's timing the way keepalived does: the
    /// checker's own value, else the real server's, else the virtual
    /// server's, else the kind's default.
    pub fn effective(&self, rs: &RealServer, vs: &VirtualServer) -> EffectiveChecker {
        let common = self.common();
        let own = |f: fn(&checker::CheckerCommon) -> Option<Timer>| common.and_then(f);
        let d = self.kind_defaults();
        let delay_loop = own(|c| c.delay_loop).unwrap_or_else(|| rs.effective_delay_loop(vs));
        let retry = common
            .and_then(|c| c.retry)
            .or_else(|| rs.inherited_retry(vs))
            .unwrap_or(d.retry);
        let delay_before_retry = own(|c| c.delay_before_retry)
            .or_else(|| rs.inherited_delay_before_retry(vs))
            .or(d.delay_before_retry)
            .unwrap_or(delay_loop);
        let warmup = own(|c| c.warmup)
            .or_else(|| rs.inherited_warmup(vs))
            .unwrap_or(delay_loop);
        let has_conn = !matches!(
            self,
            Checker::MiscCheck(_) | Checker::FileCheck(_) | Checker::BfdCheck(_)
        );
        let connect_timeout = has_conn.then(|| {
            own(|c| c.connect_timeout).unwrap_or_else(|| rs.effective_connect_timeout(vs))
        });
        let own_alpha = match self {
            Checker::BfdCheck(b) => b.alpha,
            _ => common.and_then(|c| c.alpha),
        };
        EffectiveChecker {
            delay_loop,
            retry,
            delay_before_retry,
            warmup,
            connect_timeout,
            alpha: own_alpha.unwrap_or_else(|| rs.effective_alpha(vs)),
        }
    }
}

// ----- reading: virtual_server_group -----

pub fn read_virtual_server_group(
    node: &Node<'_>,
    r: &mut Reader<'_>,
) -> Option<VirtualServerGroup> {
    let name = r.arg(node, 0)?.text.to_string();
    let mut g = VirtualServerGroup {
        name,
        entries: Vec::new(),
        loc: Some(node.loc().clone()),
    };
    let items = r.block(node);
    for e in items {
        if let Some(entry) = read_vsg_entry(&g.name, e, r) {
            g.entries.push(entry);
        }
    }
    let v4 = g.entries.iter().any(|e| match e {
        VsgEntry::Range { start, .. } => start.is_ipv4(),
        VsgEntry::Fwmark { family, .. } => *family == Some(IpFamily::Inet),
    });
    let v6 = g.entries.iter().any(|e| match e {
        VsgEntry::Range { start, .. } => start.is_ipv6(),
        VsgEntry::Fwmark { family, .. } => *family == Some(IpFamily::Inet6),
    });
    let fwm_no_family = g
        .entries
        .iter()
        .any(|e| matches!(e, VsgEntry::Fwmark { family: None, .. }));
    if g.entries.is_empty() {
        r.error(
            node.loc(),
            format!(
                "virtual_server_group {} has no valid entries; removed",
                g.name
            ),
        );
        return None;
    }
    if v4 && v6 && fwm_no_family {
        r.error(
            node.loc(),
            format!(
                "virtual_server_group {} mixes IPv4, IPv6 and a fwmark without a family; removed",
                g.name
            ),
        );
        return None;
    }
    Some(g)
}

fn read_vsg_entry(group: &str, e: &Node<'_>, r: &mut Reader<'_>) -> Option<VsgEntry> {
    r.no_block(e);
    if e.name() == "fwmark" {
        let t = r.arg(e, 0)?;
        let fwmark = r.int_tok(t, 0u32, u32::MAX)?;
        let family = match e.args.get(1).map(|t| (t, t.text)) {
            None => None,
            Some((_, "inet")) => Some(IpFamily::Inet),
            Some((_, "inet6")) => Some(IpFamily::Inet6),
            Some((t, other)) => {
                r.error(
                    &t.loc,
                    format!("({group}): fwmark {fwmark} family '{other}' is not inet or inet6; entry ignored"),
                );
                return None;
            }
        };
        return Some(VsgEntry::Fwmark { fwmark, family });
    }
    let port = match e.args.first() {
        Some(t) => r.int_tok(t, 0u16, u16::MAX)?,
        None => 0,
    };
    match parse_range(e.keyword.text) {
        Ok((start, end)) => Some(VsgEntry::Range { start, end, port }),
        Err(why) => {
            r.error(
                e.loc(),
                format!(
                    "({group}): invalid address or range '{}': {why}; entry ignored",
                    e.keyword.text
                ),
            );
            None
        }
    }
}

/// `A`, `A-B` (B: last IPv4 octet / last IPv6 group, or a full address),
/// `A/PREFIX` (host bits must be clear).
pub fn parse_range(s: &str) -> Result<(IpAddr, IpAddr), String> {
    if let Some((a, m)) = s.split_once('/') {
        let start: IpAddr = a.parse().map_err(|_| format!("'{a}' is not an address"))?;
        let bits: u32 = if start.is_ipv4() { 32 } else { 128 };
        let prefix: u32 = m
            .parse()
            .ok()
            .filter(|p| *p >= 1 && *p <= bits)
            .ok_or_else(|| format!("prefix '{m}' is not between 1 and {bits}"))?;
        return prefix_range(start, prefix);
    }
    if let Some((a, b)) = s.split_once('-') {
        let start: IpAddr = a.parse().map_err(|_| format!("'{a}' is not an address"))?;
        let full_end = match start {
            IpAddr::V4(_) => b.contains('.'),
            IpAddr::V6(_) => b.contains(':'),
        };
        let end: IpAddr = if full_end {
            let end: IpAddr = b.parse().map_err(|_| format!("'{b}' is not an address"))?;
            if end.is_ipv4() != start.is_ipv4() {
                return Err("the range ends are of different address families".into());
            }
            if end < start {
                return Err("the range ends before it starts".into());
            }
            end
        } else {
            let end = last_part(start, b)?;
            if end <= start {
                return Err("the range end is not greater than its start".into());
            }
            end
        };
        return Ok((start, end));
    }
    let ip: IpAddr = s.parse().map_err(|_| "not an IP address".to_string())?;
    Ok((ip, ip))
}

fn last_part(start: IpAddr, b: &str) -> Result<IpAddr, String> {
    match start {
        IpAddr::V4(v4) => {
            let last: u8 = b
                .parse()
                .map_err(|_| format!("range end '{b}' is not a number between 0 and 255"))?;
            let mut o = v4.octets();
            o[3] = last;
            Ok(IpAddr::V4(Ipv4Addr::from(o)))
        }
        IpAddr::V6(v6) => {
            let last = u16::from_str_radix(b, 16)
                .map_err(|_| format!("range end '{b}' is not a hex group"))?;
            let mut seg = v6.segments();
            seg[7] = last;
            Ok(IpAddr::V6(Ipv6Addr::from(seg)))
        }
    }
}

fn prefix_range(start: IpAddr, prefix: u32) -> Result<(IpAddr, IpAddr), String> {
    match start {
        IpAddr::V4(v4) => {
            let host = u32::MAX.checked_shr(prefix).unwrap_or(0);
            let a = u32::from(v4);
            if a & host != 0 {
                return Err("address bits beyond the prefix are not zero".into());
            }
            Ok((start, IpAddr::V4(Ipv4Addr::from(a | host))))
        }
        IpAddr::V6(v6) => {
            let host = u128::MAX.checked_shr(prefix).unwrap_or(0);
            let a = u128::from(v6);
            if a & host != 0 {
                return Err("address bits beyond the prefix are not zero".into());
            }
            Ok((start, IpAddr::V6(Ipv6Addr::from(a | host))))
        }
    }
}

// ----- reading: virtual_server -----

/// Reading state of one virtual server: keepalived works out the address
/// family while it reads (from the address, then from the first real
/// server), and later lines are judged against it.
struct VsBuilder {
    vs: VirtualServer,
    af: Option<IpFamily>,
}

fn set_timer(field: &mut Option<Timer>, n: &Node<'_>, r: &mut Reader<'_>, min: Timer, max: Timer) {
    if let Some(t) = r.timer(n, min, max) {
        *field = Some(t);
    }
}

fn read_forwarding(n: &Node<'_>, r: &mut Reader<'_>, who: &str) -> Option<Forwarding> {
    r.no_block(n);
    let t = r.arg(n, 0)?;
    let method = match t.text {
        "NAT" => LvsMethod::Nat,
        "DR" => LvsMethod::Dr,
        "TUN" => LvsMethod::Tun,
        other => {
            r.error(
                &t.loc,
                format!(
                    "unknown forwarding method '{other}' for {who} server: expected NAT, DR or TUN"
                ),
            );
            return None;
        }
    };
    let mut tun = Tunnel::default();
    let mut i = 1;
    while let Some(opt) = n.args.get(i) {
        match opt.text {
            "type" => {
                let Some(v) = n.args.get(i + 1) else {
                    r.error(&opt.loc, format!("missing tunnel type for {who} server"));
                    return None;
                };
                tun.tun_type = match v.text {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    other => {
                        r.error(
                            &v.loc,
                            format!("unknown tunnel type '{other}' for {who} server: expected ipip, gue or gre"),
                        );
                        return None;
                    }
                };
                i += 2;
            }
            "port" => {
                let Some(v) = n.args.get(i + 1) else {
                    r.error(
                        &opt.loc,
                        format!("missing port for {who} server gue tunnel"),
                    );
                    return None;
                };
                tun.port = Some(r.int_tok(v, 1u16, u16::MAX)?);
                i += 2;
            }
            "nocsum" => {
                tun.csum = TunnelCsum::Nocsum;
                i += 1;
            }
            "csum" => {
                tun.csum = TunnelCsum::Csum;
                i += 1;
            }
            "remcsum" => {
                tun.csum = TunnelCsum::Remcsum;
                i += 1;
            }
            other => {
                r.error(
                    &opt.loc,
                    format!("invalid tunnel option '{other}' for {who} server"),
                );
                return None;
            }
        }
    }
    if (tun.tun_type == TunnelType::Gue) != tun.port.is_some() {
        r.error(
            n.loc(),
            "a gue tunnel needs a port, and other tunnel types take none",
        );
        return None;
    }
    if tun.tun_type == TunnelType::Ipip && tun.csum != TunnelCsum::Nocsum {
        r.error(n.loc(), "ipip tunnels do not support a checksum option");
        return None;
    }
    if tun.tun_type == TunnelType::Gre && tun.csum == TunnelCsum::Remcsum {
        r.error(n.loc(), "gre tunnels do not support remcsum");
        return None;
    }
    Some(Forwarding {
        method,
        tunnel: (method == LvsMethod::Tun).then_some(tun),
    })
}

/// `virtualhost` / `snmp_name` style single strings.
fn one_string(n: &Node<'_>, r: &mut Reader<'_>, exact: bool) -> Option<String> {
    r.no_block(n);
    if exact && n.args.len() > 1 {
        r.error(n.loc(), format!("'{}' takes exactly one value", n.name()));
        return None;
    }
    r.arg(n, 0).map(|t| t.text.to_string())
}

fn read_lb_flag(b: &mut VsBuilder, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let vs = &mut b.vs;
    match n.name() {
        "ops" => vs.ops = true,
        "hashed" => vs.hashed = true,
        "flag-1" => vs.flag_1 = true,
        "flag-2" => vs.flag_2 = true,
        "flag-3" => vs.flag_3 = true,
        // The sh/mh flags need the scheduler chosen earlier in the block.
        name => match (vs.lvs_sched, name) {
            (Some(Scheduler::Sh), "sh-port") => vs.sh_port = true,
            (Some(Scheduler::Sh), "sh-fallback") => vs.sh_fallback = true,
            (Some(Scheduler::Mh), "mh-port") => vs.mh_port = true,
            (Some(Scheduler::Mh), "mh-fallback") => vs.mh_fallback = true,
            // keepalived ignores the other scheduler's flags without a
            // word; `-t` notes it (a note: its verdict stays clean).
            (Some(Scheduler::Sh | Scheduler::Mh), _) => r.diags.report(
                crate::diag::Category::Info,
                Some(n.loc().clone()),
                format!("'{name}' does nothing with this scheduler (keepalived ignores it too)"),
            ),
            _ => r.error(
                n.loc(),
                format!(
                    "'{name}' only applies to the {} scheduler set before it; ignored",
                    if name.starts_with("sh") { "sh" } else { "mh" }
                ),
            ),
        },
    }
}

const VS: &Table<VsBuilder> = &[
    ("ip_family", |b, n, r| {
        r.no_block(n);
        let Some(t) = r.arg(n, 0) else { return };
        let af = match t.text {
            "inet" => IpFamily::Inet,
            "inet6" => IpFamily::Inet6,
            other => {
                r.error(
                    &t.loc,
                    format!("unknown address family '{other}': expected inet or inet6"),
                );
                return;
            }
        };
        if b.af.is_some_and(|cur| cur != af) {
            r.error(
                n.loc(),
                format!(
                    "ip_family {} conflicts with the family of the virtual server's addresses",
                    t.text
                ),
            );
            return;
        }
        b.af = Some(af);
        b.vs.ip_family = Some(af);
    }),
    ("retry", |b, n, r| {
        if let Some(v) = r.int(n, 1u32, u32::MAX) {
            b.vs.retry = Some(v);
        }
    }),
    ("delay_before_retry", |b, n, r| {
        set_timer(
            &mut b.vs.delay_before_retry,
            n,
            r,
            Timer::from_micros(0),
            TIMER_MAX,
        )
    }),
    ("warmup", |b, n, r| {
        set_timer(&mut b.vs.warmup, n, r, Timer::from_micros(0), TIMER_MAX)
    }),
    ("connect_timeout", |b, n, r| {
        set_timer(
            &mut b.vs.connect_timeout,
            n,
            r,
            Timer::from_micros(1),
            CONNECT_TIMEOUT_MAX,
        )
    }),
    ("delay_loop", |b, n, r| {
        set_timer(&mut b.vs.delay_loop, n, r, Timer::from_micros(1), TIMER_MAX)
    }),
    ("inhibit_on_failure", |b, n, r| {
        // At this level keepalived takes the bare keyword only.
        r.no_block(n);
        b.vs.inhibit_on_failure = true;
    }),
    ("lb_algo", read_sched),
    ("lvs_sched", read_sched),
    ("hashed", read_lb_flag),
    ("ops", read_lb_flag),
    ("flag-1", read_lb_flag),
    ("flag-2", read_lb_flag),
    ("flag-3", read_lb_flag),
    ("sh-port", read_lb_flag),
    ("sh-fallback", read_lb_flag),
    ("mh-port", read_lb_flag),
    ("mh-fallback", read_lb_flag),
    ("lb_kind", read_vs_method),
    ("lvs_method", read_vs_method),
    ("persistence_engine", |b, n, r| {
        if let Some(s) = r.string(n) {
            // IP_VS_PENAME_MAXLEN is 16 with the NUL.
            if s.len() > 15 {
                r.error(
                    n.loc(),
                    format!("persistence_engine '{s}' is longer than 15 characters; truncated"),
                );
            }
            b.vs.persistence_engine = Some(s.chars().take(15).collect());
        }
    }),
    ("persistence_timeout", |b, n, r| {
        r.no_block(n);
        match n.args.first() {
            None => b.vs.persistence_timeout = Some(PERSISTENCE_TIMEOUT_DEFAULT),
            Some(t) => {
                if let Some(v) = r.int_tok(t, 1u32, PERSISTENCE_TIMEOUT_MAX) {
                    b.vs.persistence_timeout = Some(v);
                }
            }
        }
    }),
    ("persistence_granularity", read_granularity),
    ("protocol", |b, n, r| {
        r.no_block(n);
        let Some(t) = r.arg(n, 0) else { return };
        match t.text.to_ascii_uppercase().as_str() {
            "TCP" => b.vs.protocol = Some(Protocol::Tcp),
            "UDP" => b.vs.protocol = Some(Protocol::Udp),
            "SCTP" => b.vs.protocol = Some(Protocol::Sctp),
            _ => r.error(
                &t.loc,
                format!("unknown protocol '{}': expected TCP, UDP or SCTP", t.text),
            ),
        }
    }),
    ("ha_suspend", |b, n, r| {
        r.no_block(n);
        b.vs.ha_suspend = true;
    }),
    ("smtp_alert", |b, n, r| {
        if let Some(v) = strict_flag(n, r) {
            b.vs.smtp_alert = Some(v);
        }
    }),
    ("virtualhost", |b, n, r| {
        if let Some(s) = one_string(n, r, false) {
            b.vs.virtualhost = Some(s);
        }
    }),
    ("snmp_name", |b, n, r| {
        if let Some(s) = one_string(n, r, true) {
            b.vs.snmp_name = Some(s);
        }
    }),
    ("alpha", |b, n, r| {
        r.no_block(n);
        b.vs.alpha = true;
    }),
    ("omega", |b, n, r| {
        r.no_block(n);
        b.vs.omega = true;
    }),
    ("quorum_up", |b, n, r| {
        if b.vs.quorum_up.is_some() {
            r.error(n.loc(), "quorum_up is already set; this one is ignored");
            return;
        }
        b.vs.quorum_up = r.command(n);
    }),
    ("quorum_down", |b, n, r| {
        if b.vs.quorum_down.is_some() {
            r.error(n.loc(), "quorum_down is already set; this one is ignored");
            return;
        }
        b.vs.quorum_down = r.command(n);
    }),
    ("announce", |b, n, r| {
        if b.vs.announce.is_some() {
            r.error(n.loc(), "announce is already set; this one is ignored");
            return;
        }
        b.vs.announce = Some(crate::model::announce::read_vs_announce(n, r));
    }),
    ("quorum", |b, n, r| {
        // keepalived falls back to 1 on a bad value (rather than keeping
        // an earlier one).
        b.vs.quorum = r.int(n, 1u32, u32::MAX).unwrap_or(1);
    }),
    ("hysteresis", |b, n, r| {
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            b.vs.hysteresis = v;
        }
    }),
    ("weight", |b, n, r| {
        if let Some(v) = r.int(n, 1u32, WEIGHT_MAX) {
            b.vs.weight = Some(v);
        }
    }),
    ("sorry_server", |b, n, r| {
        r.no_block(n);
        let Some(t) = r.arg(n, 0) else { return };
        let Some(ip) = r.ip_tok(t) else { return };
        let port = match n.args.get(1) {
            Some(p) => match r.int_tok(p, 0u16, u16::MAX) {
                Some(v) => Some(v).filter(|v| *v != 0),
                None => return,
            },
            None => None,
        };
        b.vs.sorry_server = Some(SorryServer {
            ip: Some(ip),
            port,
            ..SorryServer::default()
        });
    }),
    ("sorry_server_inhibit", |b, n, r| {
        r.no_block(n);
        match &mut b.vs.sorry_server {
            Some(s) => s.inhibit = true,
            None => r.error(
                n.loc(),
                "sorry_server_inhibit before or without sorry_server; ignored",
            ),
        }
    }),
    ("sorry_server_lvs_method", |b, n, r| {
        if b.vs.sorry_server.is_none() {
            r.error(
                n.loc(),
                "sorry_server_lvs_method before or without sorry_server; ignored",
            );
            return;
        }
        let f = read_forwarding(n, r, "sorry");
        if let (Some(f), Some(s)) = (f, &mut b.vs.sorry_server) {
            s.lvs_method = Some(f);
        }
    }),
    ("real_server", |b, n, r| {
        if let Some(rs) = read_real_server(n, r) {
            add_real_server(b, rs, r);
        }
    }),
    ("real_server_name", |b, n, r| {
        if let Some(named) = crate::model::resolvers::read_named_real_server(n, r) {
            b.vs.named_real_servers.push(named);
        }
    }),
];

fn read_sched(b: &mut VsBuilder, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(t) = r.arg(n, 0) else { return };
    match SCHEDULERS.iter().find(|(k, _)| *k == t.text) {
        Some((_, s)) => b.vs.lvs_sched = Some(*s),
        None => r.error(
            &t.loc,
            format!(
                "invalid scheduler '{}': expected one of {}",
                t.text,
                SCHEDULERS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }
}

fn read_vs_method(b: &mut VsBuilder, n: &Node<'_>, r: &mut Reader<'_>) {
    if let Some(f) = read_forwarding(n, r, "virtual") {
        b.vs.lvs_method = Some(f);
    }
}

fn read_granularity(b: &mut VsBuilder, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(t) = r.arg(n, 0) else { return };
    let af = b.af.unwrap_or(if t.text.contains('.') {
        IpFamily::Inet
    } else {
        IpFamily::Inet6
    });
    let ok = match af {
        IpFamily::Inet6 => t.text.parse::<u8>().is_ok_and(|v| (1..=128).contains(&v)),
        IpFamily::Inet => t.text.parse::<Ipv4Addr>().is_ok(),
    };
    if !ok {
        r.error(
            &t.loc,
            format!(
                "invalid persistence_granularity '{}': expected {}",
                t.text,
                if af == IpFamily::Inet {
                    "an IPv4 netmask"
                } else {
                    "an IPv6 prefix length between 1 and 128"
                }
            ),
        );
        return;
    }
    b.vs.persistence_granularity = Some(t.text.to_string());
    b.af.get_or_insert(af);
    // A granularity implies persistence.
    b.vs.persistence_timeout
        .get_or_insert(PERSISTENCE_TIMEOUT_DEFAULT);
}

/// keepalived drops a real server whose family differs from the virtual
/// server's (unless it is tunnelled); the first one fixes the family.
fn add_real_server(b: &mut VsBuilder, rs: RealServer, r: &mut Reader<'_>) {
    let tunnelled = rs.lvs_method.is_some_and(|f| f.method == LvsMethod::Tun);
    if !tunnelled {
        let af = IpFamily::of(&rs.ip);
        match b.af {
            None => b.af = Some(af),
            Some(cur) if cur != af => {
                if let Some(loc) = &rs.loc {
                    r.error(
                        loc,
                        format!(
                            "real server {} is not of the virtual server's address family; skipped",
                            rs.ip
                        ),
                    );
                }
                return;
            }
            Some(_) => {}
        }
    }
    b.vs.real_servers.push(rs);
}

fn read_vs_key(node: &Node<'_>, r: &mut Reader<'_>) -> Option<VirtualServerKey> {
    let first = r.arg(node, 0)?;
    match first.text {
        "group" => {
            let name = r.arg(node, 1)?;
            Some(VirtualServerKey::Group(name.text.to_string()))
        }
        "fwmark" => {
            let t = r.arg(node, 1)?;
            r.int_tok(t, 0u32, u32::MAX).map(VirtualServerKey::Fwmark)
        }
        _ => {
            let ip = parse_ip(first, r, "virtual server")?;
            let port = match node.args.get(1) {
                Some(p) => r.int_tok(p, 0u16, u16::MAX)?,
                None => 0,
            };
            Some(VirtualServerKey::Addr { ip, port })
        }
    }
}

fn parse_ip(t: &Token<'_>, r: &mut Reader<'_>, what: &str) -> Option<IpAddr> {
    match t.text.parse::<IpAddr>() {
        Ok(ip) => Some(ip),
        Err(_) => {
            r.error(
                &t.loc,
                format!("invalid {what} IP address '{}'; skipped", t.text),
            );
            None
        }
    }
}

/// Reads a `virtual_server` block; None when keepalived skips it (bad key).
pub fn read_virtual_server(node: &Node<'_>, r: &mut Reader<'_>) -> Option<VirtualServer> {
    let key = read_vs_key(node, r)?;
    let af = match &key {
        VirtualServerKey::Addr { ip, .. } => Some(IpFamily::of(ip)),
        _ => None,
    };
    let mut b = VsBuilder {
        vs: VirtualServer {
            key,
            loc: Some(node.loc().clone()),
            ..VirtualServer::default()
        },
        af,
    };
    let items = r.block(node);
    r.read_block(&mut b, items, VS);
    check_sorry_family(&mut b, node, r);
    // A service lives as long as the configuration: give back what the
    // list grew by (a third of the model on 10-real-server services).
    b.vs.real_servers.shrink_to_fit();
    Some(b.vs)
}

/// At the end of the block keepalived drops a sorry server of the wrong
/// family (a tunnelled one may differ).
fn check_sorry_family(b: &mut VsBuilder, node: &Node<'_>, r: &mut Reader<'_>) {
    let Some(s) = &b.vs.sorry_server else { return };
    let Some(ip) = s.ip else { return };
    let tunnelled = s
        .lvs_method
        .or(b.vs.lvs_method)
        .is_some_and(|f| f.method == LvsMethod::Tun);
    if tunnelled {
        return;
    }
    match b.af {
        Some(af) if af != IpFamily::of(&ip) => {
            r.error(
                node.loc(),
                format!("sorry server {ip} is not of the virtual server's address family; skipped"),
            );
            b.vs.sorry_server = None;
        }
        Some(_) => {}
        None => b.af = Some(IpFamily::of(&ip)),
    }
}

// ----- reading: real_server -----

const RS: &Table<RealServer> = &[
    ("weight", |s, n, r| {
        if let Some(v) = r.int(n, 0u32, WEIGHT_MAX) {
            s.weight = Some(v);
        }
    }),
    ("lvs_method", |s, n, r| {
        if let Some(f) = read_forwarding(n, r, "real") {
            s.lvs_method = Some(f);
        }
    }),
    ("uthreshold", |s, n, r| {
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            s.uthreshold = Some(v);
        }
    }),
    ("lthreshold", |s, n, r| {
        if let Some(v) = r.int(n, 0u32, u32::MAX) {
            s.lthreshold = Some(v);
        }
    }),
    ("inhibit_on_failure", |s, n, r| {
        if let Some(v) = strict_flag(n, r) {
            s.inhibit_on_failure = Some(v);
        }
    }),
    ("notify_up", |s, n, r| {
        if s.notify_up.is_some() {
            r.error(n.loc(), "notify_up is already set; this one is ignored");
            return;
        }
        s.notify_up = r.command(n).map(Box::new);
    }),
    ("notify_down", |s, n, r| {
        if s.notify_down.is_some() {
            r.error(n.loc(), "notify_down is already set; this one is ignored");
            return;
        }
        s.notify_down = r.command(n).map(Box::new);
    }),
    ("alpha", |s, n, r| {
        if let Some(v) = strict_flag(n, r) {
            s.alpha = Some(v);
        }
    }),
    ("retry", |s, n, r| {
        if let Some(v) = r.int(n, 1u32, u32::MAX) {
            s.checker_defaults_mut().retry = Some(v);
        }
    }),
    ("delay_before_retry", |s, n, r| {
        set_timer(
            &mut s.checker_defaults_mut().delay_before_retry,
            n,
            r,
            Timer::from_micros(0),
            TIMER_MAX,
        )
    }),
    ("warmup", |s, n, r| {
        set_timer(
            &mut s.checker_defaults_mut().warmup,
            n,
            r,
            Timer::from_micros(0),
            TIMER_MAX,
        )
    }),
    ("connect_timeout", |s, n, r| {
        set_timer(
            &mut s.checker_defaults_mut().connect_timeout,
            n,
            r,
            Timer::from_micros(1),
            CONNECT_TIMEOUT_MAX,
        )
    }),
    ("delay_loop", |s, n, r| {
        set_timer(
            &mut s.checker_defaults_mut().delay_loop,
            n,
            r,
            Timer::from_micros(1),
            TIMER_MAX,
        )
    }),
    ("smtp_alert", |s, n, r| {
        if let Some(v) = strict_flag(n, r) {
            s.checker_defaults_mut().smtp_alert = Some(v);
        }
    }),
    ("virtualhost", |s, n, r| {
        if let Some(v) = one_string(n, r, false) {
            s.checker_defaults_mut().virtualhost = Some(v);
        }
    }),
    ("snmp_name", |s, n, r| {
        if let Some(v) = one_string(n, r, true) {
            s.checker_defaults_mut().snmp_name = Some(v);
        }
    }),
];

fn read_real_server(node: &Node<'_>, r: &mut Reader<'_>) -> Option<RealServer> {
    let t = r.arg(node, 0)?;
    let ip = parse_ip(t, r, "real server")?;
    let port = match node.args.get(1) {
        Some(p) => Some(r.int_tok(p, 0u16, u16::MAX)?).filter(|v| *v != 0),
        None => None,
    };
    let mut rs = RealServer {
        ip,
        port,
        loc: Some(node.loc().clone()),
        ..RealServer::default()
    };
    let items = r.block(node);
    for n in items {
        if !read_rs_item(&mut rs, n, r) {
            r.unknown(n, rs_keywords());
        }
    }
    Some(rs)
}

/// Reads one statement of a real server's block (a checker or a setting);
/// false when the keyword is not a real server's.
pub(crate) fn read_rs_item(rs: &mut RealServer, n: &Node<'_>, r: &mut Reader<'_>) -> bool {
    if CHECKER_KEYWORDS.contains(&n.name()) {
        if let Some(c) = checker::read_checker(n, r) {
            rs.checkers.push(c);
        }
        true
    } else if let Some((_, h)) = RS.iter().find(|(k, _)| *k == n.name()) {
        h(rs, n, r);
        true
    } else {
        false
    }
}

/// Every keyword a real server's block takes.
pub(crate) fn rs_keywords() -> impl Iterator<Item = &'static str> {
    RS.iter()
        .map(|(k, _)| *k)
        .chain(CHECKER_KEYWORDS.iter().copied())
}

#[cfg(test)]
mod scheduler_tests {
    use super::*;

    #[test]
    fn every_scheduler_has_its_own_name_and_serde_agrees() {
        let mut seen = std::collections::BTreeSet::new();
        for (key, s) in SCHEDULERS {
            assert_eq!(s.name(), *key);
            assert!(seen.insert(s.name()), "{key} listed twice");
            let json = serde_json::to_string(s).unwrap_or_default();
            assert_eq!(json, format!("\"{key}\""));
        }
        assert_eq!(seen.len(), 14, "every kernel scheduler");
    }
}
