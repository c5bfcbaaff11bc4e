// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A probe fully resolved from the configuration, and its identity.
//!
//! Resolution follows keepalived 2.2.7 (reference §1, §10): the target is
//! the real server's address and port *as written* on the `real_server`
//! line, `connect_ip` replacing the address and `connect_port` the port;
//! the Host header's virtual host is url > checker > real server > virtual
//! server; SNI (with `enable_sni`) is url > checker > virtual server, never
//! the real server's; `misc_timeout` unset or 0 means the virtual server's
//! `delay_loop`; a MISC script runs as its `user`, else `script_user`, else
//! `keepalived_script` when that account exists, else as ourselves.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use keepalived_config::host::{Host, SystemHost};
use keepalived_config::model::Config;
use keepalived_config::model::checker::{
    Checker, CheckerCommon, HttpCheck, HttpProtocol, SmtpCheck,
};
use keepalived_config::model::lvs::{RealServer, VirtualServer};
use keepalived_config::security::DEFAULT_SCRIPT_USER;
use keepalived_sys::script::ScriptUser;
use serde::Serialize;

use crate::dns::DnsSpec;
use crate::http::regex::UrlRegex;
use crate::http::request::Protocol;
use crate::smtp::SmtpSpec;
use crate::udp::{ReplyRule, UdpSpec};

/// A probe ready to run.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Where the network probes connect (unused by MISC).
    pub target: SocketAddr,
    pub conn: ConnOpts,
    pub kind: Kind,
}

/// Connection options shared by the network probes. The options few
/// checkers set are boxed: every checker has a spec, and inline they were
/// 64 of its 128 bytes (issue 10).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ConnOpts {
    extra: Option<Box<ConnExtra>>,
    /// Bound on each I/O step.
    pub connect_timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
struct ConnExtra {
    bind: Option<SocketAddr>,
    bind_if: Option<String>,
    fwmark: Option<u32>,
}

const _: () = assert!(size_of::<Spec>() <= 72, "a spec's rare options are boxed");

impl ConnOpts {
    /// `bind`: local address and port (`bindto`, `bind_port`); `bind_if`:
    /// SO_BINDTODEVICE; `fwmark`: SO_MARK.
    pub fn new(
        bind: Option<SocketAddr>,
        bind_if: Option<String>,
        fwmark: Option<u32>,
        connect_timeout: Duration,
    ) -> Self {
        let any = bind.is_some() || bind_if.is_some() || fwmark.is_some();
        ConnOpts {
            extra: any.then(|| {
                Box::new(ConnExtra {
                    bind,
                    bind_if,
                    fwmark,
                })
            }),
            connect_timeout,
        }
    }

    /// No local binding, device or mark.
    pub fn plain(connect_timeout: Duration) -> Self {
        ConnOpts {
            extra: None,
            connect_timeout,
        }
    }

    pub fn bind(&self) -> Option<SocketAddr> {
        self.extra.as_ref().and_then(|x| x.bind)
    }

    pub fn bind_if(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|x| x.bind_if.as_deref())
    }

    pub fn fwmark(&self) -> Option<u32> {
        self.extra.as_ref().and_then(|x| x.fwmark)
    }
}

/// What the probe does. The kinds with settings are boxed: every checker
/// has a spec, nearly all of them TCP, which would otherwise each take the
/// room of the largest kind.
#[derive(Debug, Clone)]
pub enum Kind {
    Tcp,
    /// HTTP_GET, or SSL_GET when `tls` is set.
    Http(Box<HttpSpec>),
    Misc(Box<MiscSpec>),
    Dns(Box<DnsSpec>),
    Udp(Box<UdpSpec>),
    Smtp(Box<SmtpSpec>),
    /// PING_CHECK: the target's port is unused.
    Ping,
}

// A kind with its settings inline would make every TCP probe's spec as
// large as an HTTP one (it was 112 bytes).
const _: () = assert!(size_of::<Kind>() <= 16, "Kind's settings are boxed");

/// HTTP_GET / SSL_GET.
#[derive(Debug, Clone)]
pub struct HttpSpec {
    /// `Some` for SSL_GET.
    pub tls: Option<Arc<rustls::ClientConfig>>,
    pub protocol: Protocol,
    /// The checker's own `virtualhost` (part of its identity).
    pub virtualhost: Option<String>,
    /// At least one.
    pub urls: Vec<UrlSpec>,
    /// The most time a whole answer may take once the request is sent:
    /// the larger of connect_timeout and delay_loop. keepalived bounds
    /// each read only, so a server trickling bytes held its check for
    /// ever (keepalived #1822); we fail it with `Timeout HTTP read`.
    pub answer_budget: Duration,
}

/// One `url { }` block, resolved.
#[derive(Debug, Clone)]
pub struct UrlSpec {
    pub path: String,
    /// Inclusive ranges; keepalived's default is 200-299.
    pub status: Vec<(u16, u16)>,
    pub digest: Option<[u8; 16]>,
    /// The url's own `virtualhost` (identity).
    pub virtualhost: Option<String>,
    /// The Host header value (url > checker > real server > virtual server
    /// virtualhost); `None`: `ip:port` of the target.
    pub host: Option<String>,
    /// SNI to send (SSL_GET with `enable_sni` only).
    pub sni: Option<String>,
    pub regex: Option<UrlRegex>,
    pub regex_no_match: bool,
    /// `regex` and `regex_options` as written (identity).
    pub regex_source: Option<(String, Vec<String>)>,
}

/// MISC_CHECK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MiscSpec {
    pub argv: Vec<String>,
    /// `None`: run as ourselves.
    pub user: Option<ScriptUser>,
    pub timeout: Duration,
    pub dynamic: bool,
}

/// keepalived's checker identity (`compare_*_check`): the kind and what
/// keepalived compares, never the timer keywords. Equal keys across a
/// reload mean "the same checker": keep its state.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SpecKey {
    pub kind: &'static str,
    pub conn: Option<ConnKey>,
    pub detail: KeyDetail,
}

/// Connection options as keepalived compares them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ConnKey {
    pub target: SocketAddr,
    pub bind: Option<SocketAddr>,
    pub bind_if: Option<String>,
    pub fwmark: Option<u32>,
    pub connect_timeout_us: u128,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub enum KeyDetail {
    None,
    /// Not `http_protocol`, `enable_sni` or `fast_recovery`: keepalived
    /// does not compare them.
    Http {
        virtualhost: Option<String>,
        urls: Vec<UrlKey>,
    },
    Smtp {
        helo_name: String,
    },
    Dns {
        qtype: u16,
        name: String,
    },
    Misc {
        argv: Vec<String>,
        uid: Option<u32>,
        gid: Option<u32>,
        dynamic: bool,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct UrlKey {
    pub path: String,
    pub digest: Option<[u8; 16]>,
    pub status: Vec<(u16, u16)>,
    pub virtualhost: Option<String>,
    pub regex: Option<(String, Vec<String>)>,
    pub regex_no_match: bool,
    pub regex_min_offset: Option<u64>,
    pub regex_max_offset: Option<u64>,
}

/// Everything that shapes what goes on the wire and how the answer is
/// judged: two specs with equal share keys give the same result for the
/// same url index, so one run may serve both. Stricter than [`SpecKey`]
/// (which follows keepalived's reload identity and so ignores, e.g., the
/// Host header a virtual server's `virtualhost` gives).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ShareKey {
    pub key: SpecKey,
    pub tls: bool,
    pub protocol: Option<Protocol>,
    /// Per url: Host header and SNI.
    pub hosts: Vec<(Option<String>, Option<String>)>,
    pub misc_timeout_us: Option<u128>,
    /// UDP_CHECK's payload and reply rule, which its identity leaves out.
    pub udp: Option<(Vec<u8>, Option<ReplyRule>)>,
}

impl Spec {
    /// Resolves `checker` of `rs` in `vs`. `Err` says why this checker
    /// cannot run here (kinds not built yet, TLS material rustls cannot
    /// use, a regex the `regex` crate cannot compile ...).
    pub fn from_config(
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Spec, String> {
        Spec::from_config_on(&SystemHost, config, vs, rs, checker)
    }

    /// As [`Spec::from_config`], with user accounts looked up in `host`.
    pub fn from_config_on(
        host: &dyn Host,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Spec, String> {
        let eff = checker.effective(rs, vs);
        let connect_timeout = eff
            .connect_timeout
            .unwrap_or_else(|| rs.effective_connect_timeout(vs))
            .as_duration();
        match checker {
            Checker::TcpCheck(c) => Ok(Spec {
                target: target(rs, &c.common)?,
                conn: conn_opts(rs, &c.common, connect_timeout)?,
                kind: Kind::Tcp,
            }),
            Checker::HttpGet(c) | Checker::SslGet(c) => {
                let tls = matches!(checker, Checker::SslGet(_));
                Ok(Spec {
                    target: target(rs, &c.common)?,
                    conn: conn_opts(rs, &c.common, connect_timeout)?,
                    kind: Kind::Http(Box::new(http_spec(
                        config,
                        vs,
                        rs,
                        c,
                        tls,
                        connect_timeout.max(eff.delay_loop.as_duration()),
                    )?)),
                })
            }
            Checker::MiscCheck(c) => {
                let Some(cmd) = &c.misc_path else {
                    return Err("MISC_CHECK has no misc_path".into());
                };
                if cmd.argv.is_empty() {
                    return Err("MISC_CHECK misc_path is empty".into());
                }
                let timeout = c
                    .misc_timeout
                    .filter(|t| t.as_micros() > 0)
                    .unwrap_or_else(|| vs.effective_delay_loop())
                    .as_duration();
                let user = script_user(
                    host,
                    config,
                    c.user.as_deref().or(cmd.user.as_deref()),
                    c.group.as_deref().or(cmd.group.as_deref()),
                )?;
                Ok(Spec {
                    target: SocketAddr::new(rs.ip, rs.port.unwrap_or(0)),
                    conn: ConnOpts::plain(connect_timeout),
                    kind: Kind::Misc(Box::new(MiscSpec {
                        argv: cmd.argv.clone(),
                        user,
                        timeout,
                        dynamic: c.misc_dynamic,
                    })),
                })
            }
            Checker::DnsCheck(c) => {
                let question = crate::dns::wire::question_name(c.name.as_deref())?;
                // Encoded once here so a name that cannot go on the wire
                // is refused at load, not at every run.
                let qtype = crate::dns::wire::type_code(c.qtype);
                crate::dns::wire::query(0, &question, qtype)?;
                Ok(Spec {
                    target: target(rs, &c.common)?,
                    conn: conn_opts(rs, &c.common, connect_timeout)?,
                    kind: Kind::Dns(Box::new(DnsSpec {
                        qtype,
                        name: c.name.clone().unwrap_or_else(|| ".".into()),
                        question,
                    })),
                })
            }
            Checker::UdpCheck(c) => {
                let reply = match &c.require_reply {
                    None => None,
                    Some(p) => Some(ReplyRule::new(p, c.min_reply_length, c.max_reply_length)?),
                };
                Ok(Spec {
                    target: target(rs, &c.common)?,
                    conn: conn_opts(rs, &c.common, connect_timeout)?,
                    kind: Kind::Udp(Box::new(UdpSpec {
                        payload: c
                            .payload
                            .clone()
                            .unwrap_or_else(crate::udp::reply::default_payload),
                        reply,
                    })),
                })
            }
            Checker::SmtpCheck(c) => {
                let mut all = smtp_specs(vs, rs, c, connect_timeout)?;
                if all.is_empty() {
                    return Err("SMTP_CHECK has no connection".into());
                }
                Ok(all.swap_remove(0))
            }
            Checker::PingCheck(c) => Ok(Spec {
                target: target(rs, &c.common)?,
                conn: conn_opts(rs, &c.common, connect_timeout)?,
                kind: Kind::Ping,
            }),
            other => Err(format!(
                "{} is not implemented yet by keepalived-rs; this checker does not run",
                other.kind()
            )),
        }
    }

    /// Every checker `checker` stands for: one, except an SMTP_CHECK with
    /// the deprecated `host { }` blocks, which keepalived turns into one
    /// checker per host (the first being the block's own connection when
    /// the block sets any connection keyword or has no host), all with
    /// the block's timers, retry, alpha and helo_name. The engine must use
    /// this, not [`Spec::from_config`], to run every host.
    pub fn from_config_all(
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Vec<Spec>, String> {
        Spec::from_config_all_on(&SystemHost, config, vs, rs, checker)
    }

    /// As [`Spec::from_config_all`], with user accounts looked up in
    /// `host`.
    pub fn from_config_all_on(
        host: &dyn Host,
        config: &Config,
        vs: &VirtualServer,
        rs: &RealServer,
        checker: &Checker,
    ) -> Result<Vec<Spec>, String> {
        match checker {
            Checker::SmtpCheck(c) => {
                let eff = checker.effective(rs, vs);
                let connect_timeout = eff
                    .connect_timeout
                    .unwrap_or_else(|| rs.effective_connect_timeout(vs))
                    .as_duration();
                smtp_specs(vs, rs, c, connect_timeout)
            }
            _ => Ok(vec![Spec::from_config_on(host, config, vs, rs, checker)?]),
        }
    }

    /// keepalived's checker identity, for reload migration.
    pub fn key(&self) -> SpecKey {
        let conn = Some(ConnKey {
            target: self.target,
            bind: self.conn.bind(),
            bind_if: self.conn.bind_if().map(str::to_string),
            fwmark: self.conn.fwmark(),
            connect_timeout_us: self.conn.connect_timeout.as_micros(),
        });
        match &self.kind {
            Kind::Tcp => SpecKey {
                kind: "TCP_CHECK",
                conn,
                detail: KeyDetail::None,
            },
            Kind::Http(h) => SpecKey {
                kind: if h.tls.is_some() {
                    "SSL_GET"
                } else {
                    "HTTP_GET"
                },
                conn,
                detail: KeyDetail::Http {
                    virtualhost: h.virtualhost.clone(),
                    urls: h
                        .urls
                        .iter()
                        .map(|u| UrlKey {
                            path: u.path.clone(),
                            digest: u.digest,
                            status: u.status.clone(),
                            virtualhost: u.virtualhost.clone(),
                            regex: u.regex_source.clone(),
                            regex_no_match: u.regex_no_match,
                            regex_min_offset: u.regex.as_ref().and_then(|r| r.min_offset),
                            regex_max_offset: u.regex.as_ref().and_then(|r| r.max_offset),
                        })
                        .collect(),
                },
            },
            Kind::Smtp(m) => SpecKey {
                kind: "SMTP_CHECK",
                conn,
                detail: KeyDetail::Smtp {
                    helo_name: m.helo_name.clone(),
                },
            },
            Kind::Dns(d) => SpecKey {
                kind: "DNS_CHECK",
                conn,
                detail: KeyDetail::Dns {
                    qtype: d.qtype,
                    name: d.name.clone(),
                },
            },
            // keepalived compares the connection options only: a new
            // payload or reply rule keeps the checker's state.
            Kind::Udp(_) => SpecKey {
                kind: "UDP_CHECK",
                conn,
                detail: KeyDetail::None,
            },
            Kind::Ping => SpecKey {
                kind: "PING_CHECK",
                conn,
                detail: KeyDetail::None,
            },
            Kind::Misc(m) => SpecKey {
                kind: "MISC_CHECK",
                conn: None,
                detail: KeyDetail::Misc {
                    argv: m.argv.clone(),
                    uid: m.user.as_ref().map(|u| u.uid),
                    gid: m.user.as_ref().map(|u| u.gid),
                    dynamic: m.dynamic,
                },
            },
        }
    }

    /// The key under which identical probes may share one run.
    pub fn share_key(&self) -> ShareKey {
        let (tls, protocol, hosts) = match &self.kind {
            Kind::Http(h) => (
                h.tls.is_some(),
                Some(h.protocol),
                h.urls
                    .iter()
                    .map(|u| (u.host.clone(), u.sni.clone()))
                    .collect(),
            ),
            _ => (false, None, Vec::new()),
        };
        ShareKey {
            key: self.key(),
            tls,
            protocol,
            hosts,
            misc_timeout_us: match &self.kind {
                Kind::Misc(m) => Some(m.timeout.as_micros()),
                _ => None,
            },
            udp: match &self.kind {
                Kind::Udp(u) => Some((u.payload.clone(), u.reply.clone())),
                _ => None,
            },
        }
    }

    /// Number of urls (1 for kinds without urls): the engine cycles the
    /// url index over `0..url_count()`.
    pub fn url_count(&self) -> usize {
        match &self.kind {
            Kind::Http(h) => h.urls.len(),
            _ => 1,
        }
    }
}

/// SMTP_CHECK and its `host { }` blocks (`check_smtp.c:
/// smtp_check_end_handler`). A host's connect_timeout is its own, else the
/// real server's, else the virtual server's (never the block's).
fn smtp_specs(
    vs: &VirtualServer,
    rs: &RealServer,
    c: &SmtpCheck,
    connect_timeout: Duration,
) -> Result<Vec<Spec>, String> {
    let helo_name = c
        .helo_name
        .clone()
        .unwrap_or_else(|| crate::smtp::DEFAULT_HELO.into());
    let own = &c.common;
    let own_conn = own.connect_ip.is_some()
        || own.connect_port.is_some()
        || own.bindto.is_some()
        || own.bind_port.is_some()
        || own.bind_if.is_some()
        || own.fwmark.is_some()
        || own.connect_timeout.is_some()
        || c.host.is_empty();
    let mut conns = Vec::with_capacity(c.host.len() + 1);
    if own_conn {
        conns.push((own, connect_timeout));
    }
    for h in &c.host {
        let t = h
            .connect_timeout
            .unwrap_or_else(|| rs.effective_connect_timeout(vs))
            .as_duration();
        conns.push((h, t));
    }
    conns
        .into_iter()
        .map(|(common, timeout)| {
            Ok(Spec {
                target: target(rs, common)?,
                conn: conn_opts(rs, common, timeout)?,
                kind: Kind::Smtp(Box::new(SmtpSpec {
                    helo_name: helo_name.clone(),
                    real_server: SocketAddr::new(rs.ip, rs.port.unwrap_or(0)),
                })),
            })
        })
        .collect()
}

fn target(rs: &RealServer, c: &CheckerCommon) -> Result<SocketAddr, String> {
    let ip = c.connect_ip.unwrap_or(rs.ip);
    let port = c.connect_port.or(rs.port).unwrap_or(0);
    if let IpAddr::V6(v6) = ip
        && v6.is_unicast_link_local()
        && c.bind_if.is_none()
    {
        return Err(format!(
            "Checker link local address {ip} requires a bind_if"
        ));
    }
    Ok(SocketAddr::new(ip, port))
}

fn conn_opts(rs: &RealServer, c: &CheckerCommon, timeout: Duration) -> Result<ConnOpts, String> {
    let family_v4 = c.connect_ip.unwrap_or(rs.ip).is_ipv4();
    // keepalived binds only when `bindto` is set; we also honour a lone
    // `bind_port`, on the wildcard address of the target's family.
    let bind = match (c.bindto, c.bind_port) {
        (Some(ip), port) => Some(SocketAddr::new(ip, port.unwrap_or(0))),
        (None, Some(port)) => Some(SocketAddr::new(
            if family_v4 {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            },
            port,
        )),
        (None, None) => None,
    };
    Ok(ConnOpts::new(
        bind,
        c.bind_if.clone(),
        c.fwmark.filter(|m| *m != 0),
        timeout,
    ))
}

fn http_spec(
    config: &Config,
    vs: &VirtualServer,
    rs: &RealServer,
    c: &HttpCheck,
    tls: bool,
    answer_budget: Duration,
) -> Result<HttpSpec, String> {
    if c.url.is_empty() {
        return Err("HTTP/SSL_GET checker has no urls specified".into());
    }
    let tls_config = if tls {
        Some(crate::tls::client_config(config.ssl.as_ref())?)
    } else {
        None
    };
    let protocol = match c.http_protocol {
        HttpProtocol::Http10 => Protocol::Http10,
        HttpProtocol::Http10C => Protocol::Http10C,
        HttpProtocol::Http11 => Protocol::Http11,
    };
    let mut urls = Vec::with_capacity(c.url.len());
    for u in &c.url {
        let digest = match &u.digest {
            None => None,
            Some(hex) => Some(parse_digest(hex)?),
        };
        let regex = match &u.regex {
            None => None,
            Some(p) => Some(UrlRegex::compile(
                p,
                &u.regex_options,
                u.regex_min_offset.filter(|m| *m > 0),
                u.regex_max_offset,
            )?),
        };
        let sni = if tls && c.enable_sni {
            let name = u
                .virtualhost
                .as_ref()
                .or(c.virtualhost.as_ref())
                .or(vs.virtualhost.as_ref());
            if let Some(n) = name
                && rustls::pki_types::ServerName::try_from(n.as_str()).is_err()
            {
                return Err(format!(
                    "virtualhost '{n}' cannot be sent as a TLS server name (SNI)"
                ));
            }
            name.cloned()
        } else {
            None
        };
        urls.push(UrlSpec {
            path: u.path.clone(),
            status: u
                .effective_status_codes()
                .iter()
                .map(|s| (s.min, s.max))
                .collect(),
            digest,
            virtualhost: u.virtualhost.clone(),
            host: u
                .virtualhost
                .as_ref()
                .or(c.virtualhost.as_ref())
                .or(rs.checker_defaults().virtualhost.as_ref())
                .or(vs.virtualhost.as_ref())
                .cloned(),
            sni,
            regex,
            regex_no_match: u.regex_no_match,
            regex_source: u.regex.clone().map(|p| (p, u.regex_options.clone())),
        });
    }
    Ok(HttpSpec {
        tls: tls_config,
        protocol,
        virtualhost: c.virtualhost.clone(),
        urls,
        answer_budget,
    })
}

/// 32 hex digits to 16 bytes.
pub fn parse_digest(hex: &str) -> Result<[u8; 16], String> {
    let bad = || format!("digest '{hex}' is not 32 hexadecimal digits");
    if hex.len() != 32 {
        return Err(bad());
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        let pair = hex.get(2 * i..2 * i + 2).ok_or_else(bad)?;
        *b = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
    }
    Ok(out)
}

/// The account a MISC script runs as.
fn script_user(
    host: &dyn Host,
    config: &Config,
    user: Option<&str>,
    group: Option<&str>,
) -> Result<Option<ScriptUser>, String> {
    let g = &config.global_defs;
    let (name, group) = match user {
        Some(u) => (u, group),
        None => match g.script_user.as_deref() {
            Some(u) => (u, g.script_group.as_deref()),
            None => {
                return Ok(host.user(DEFAULT_SCRIPT_USER).map(|ids| ScriptUser {
                    uid: ids.uid,
                    gid: ids.gid,
                    groups: Vec::new(),
                }));
            }
        },
    };
    let ids = host
        .user(name)
        .ok_or_else(|| format!("user '{name}' does not exist"))?;
    let gid = match group.map(|g| g.strip_prefix(':').unwrap_or(g)) {
        Some(gname) if !gname.is_empty() => host
            .group(gname)
            .ok_or_else(|| format!("group '{gname}' does not exist"))?,
        _ => ids.gid,
    };
    Ok(Some(ScriptUser {
        uid: ids.uid,
        gid,
        groups: Vec::new(),
    }))
}
