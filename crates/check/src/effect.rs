// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the reconciler asks the checker child to do, in the order it must
//! be done: log lines, IPVS ops, notify scripts, fifo lines, probes.

use keepalived_config::types::Command;
use keepalived_ipvs::model::Op;
use serde::{Deserialize, Serialize};

use crate::machine::Note;
use crate::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Debug,
    Info,
    Warn,
}

/// A probe the child must run: the share key names the probe (the daemon
/// maps it to the probe's spec), `url` the HTTP URL index.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Launch {
    pub share: crate::book::Identity,
    pub url: usize,
    /// Reload generation: a result for an older one is dropped.
    pub generation: u64,
    pub started: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    Log {
        level: Level,
        line: String,
    },
    Ipvs(Op),
    /// A notify script, fire and forget; `stopping`: keepalived gives it
    /// one second at shutdown.
    Script {
        command: Command,
        stopping: bool,
    },
    /// A line for `notify_fifo` and `lvs_notify_fifo`, newline included.
    Fifo(String),
    Probe(Launch),
}

impl Effect {
    pub fn info(line: String) -> Self {
        Effect::Log {
            level: Level::Info,
            line,
        }
    }

    pub fn debug(line: String) -> Self {
        Effect::Log {
            level: Level::Debug,
            line,
        }
    }

    pub fn warn(line: String) -> Self {
        Effect::Log {
            level: Level::Warn,
            line,
        }
    }
}

/// The checker kinds as their log lines name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Kind {
    TcpCheck,
    HttpGet,
    SslGet,
    MiscCheck,
    SmtpCheck,
    DnsCheck,
    UdpCheck,
    PingCheck,
    FileCheck,
    BfdCheck,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::TcpCheck => "TCP_CHECK",
            Kind::HttpGet => "HTTP_GET",
            Kind::SslGet => "SSL_GET",
            Kind::MiscCheck => "MISC_CHECK",
            Kind::SmtpCheck => "SMTP_CHECK",
            Kind::DnsCheck => "DNS_CHECK",
            Kind::UdpCheck => "UDP_CHECK",
            Kind::PingCheck => "PING_CHECK",
            Kind::FileCheck => "FILE_CHECK",
            Kind::BfdCheck => "BFD_CHECK",
        }
    }
}

/// What a checker's log lines need to know about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogContext {
    pub kind: Kind,
    /// HTTP: the URL paths; MISC: argv[0] in `script`.
    pub urls: Vec<String>,
    pub script: String,
    pub log_all_failures: bool,
}

/// keepalived's line for a finished run (check_tcp.c `tcp_epilog`,
/// check_http.c `epilog` / `http_handle_response`, check_misc.c
/// `misc_check_child_thread`; reference §10); None when keepalived prints
/// nothing. `detail` is the probe's reason, used where keepalived names
/// one.
pub fn check_line(
    ctx: &LogContext,
    note: Note,
    rs: &str,
    vs: &str,
    detail: &str,
) -> Option<String> {
    let all = ctx.log_all_failures;
    let misc = |what: &str| format!("Misc check for [{rs} VS {vs}] by [{}] {what}.", ctx.script);
    let line = match (ctx.kind, note) {
        (_, Note::Quiet) => return None,
        (Kind::TcpCheck, Note::Succeeded) => format!("TCP connection to {rs} success."),
        (Kind::HttpGet | Kind::SslGet, Note::Succeeded) => {
            format!("Remote Web server {rs} succeed on service.")
        }
        (Kind::HttpGet | Kind::SslGet, Note::UrlPassed { url }) => {
            let path = ctx.urls.get(url).map_or("", String::as_str);
            format!("HTTP status code success to {rs} url({path})")
        }
        (Kind::MiscCheck, Note::Succeeded) => misc("succeeded"),
        (_, Note::Succeeded) => format!("{} on service {rs} succeeded.", ctx.kind.label()),
        (_, Note::UrlPassed { .. }) => return None,
        (kind, Note::Failed { after_retries }) => {
            let name = match kind {
                Kind::HttpGet | Kind::SslGet => "HTTP_CHECK",
                k => k.label(),
            };
            match (kind, after_retries) {
                (Kind::MiscCheck, Some(n)) => misc(&format!("failed after {n} retries")),
                (Kind::MiscCheck, None) => misc("failed"),
                (_, Some(n)) => format!("{name} on service {rs} failed after {n} retries."),
                (_, None) => format!("{name} on service {rs} failed."),
            }
        }
        (kind, Note::Retrying { attempt, of }) if all => match kind {
            Kind::TcpCheck => format!("TCP connection to {rs} failed."),
            Kind::MiscCheck => misc(&format!("failed on retry {attempt}/{of}")),
            _ => format!("{detail} server {rs}."),
        },
        (_, Note::Retrying { .. } | Note::StillDown) => return None,
        (Kind::TcpCheck, Note::LocalError) => "TCP socket bind failed. Rescheduling.".to_string(),
        (Kind::HttpGet | Kind::SslGet, Note::LocalError) => {
            "WEB socket bind failed. Rescheduling".to_string()
        }
        (kind, Note::LocalError) => {
            format!("{} local error ({detail}). Rescheduling.", kind.label())
        }
    };
    Some(line)
}
