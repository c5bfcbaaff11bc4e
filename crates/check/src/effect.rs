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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// What a checker's log lines need to know about it (one per distinct
/// context, shared by the checkers that have it: see the health book).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LogContext {
    pub kind: Kind,
    /// HTTP: the URL paths (`script`: MISC's program, `argv[0]`).
    pub urls: Vec<String>,
    /// HTTP: what each URL's success line names, as check_http.c
    /// `http_handle_response` picks it: `MD5 digest` when the URL has a
    /// digest, else `Regex match` when it has a regex, else `HTTP status
    /// code`. Missing entries read as the last.
    #[serde(default)]
    pub url_success: Vec<String>,
    pub script: String,
    pub log_all_failures: bool,
    /// The checker's `retry` (MISC lines name it).
    pub retry: u32,
}

/// keepalived's line for a finished run (check_tcp.c `tcp_epilog`,
/// check_http.c `epilog` / `http_handle_response`, check_misc.c
/// `misc_check_child_thread`; reference §10); None when keepalived prints
/// nothing. `detail` is the probe's word for the outcome (`timeout`,
/// `HTTP status code error to`, `timed out` ...), for MISC optionally
/// followed by ` (<reason>)` (`exited with status 1`, `due to signal 9`),
/// used where keepalived names them.
pub fn check_lines(
    ctx: &LogContext,
    note: Note,
    rs: impl std::fmt::Display,
    vs: &str,
    detail: &str,
) -> Vec<String> {
    let url_line = |url: usize| {
        let path = ctx.urls.get(url).map_or("", String::as_str);
        let what = ctx
            .url_success
            .get(url)
            .map_or("HTTP status code", String::as_str);
        format!("{what} success to {rs} url({path})")
    };
    match note {
        Note::WebSucceeded { url_line: line } => line
            .map(url_line)
            .into_iter()
            .chain([format!("Remote Web server {rs} succeed on service.")])
            .collect(),
        Note::UrlPassed { url } if matches!(ctx.kind, Kind::HttpGet | Kind::SslGet) => {
            vec![url_line(url)]
        }
        // With log_all_failures keepalived logs the reason of every failed
        // run of TCP and HTTP checkers, the one that takes the checker
        // down (or fails its first run) included, before the verdict line
        // (check_tcp.c `tcp_check_thread`, check_http.c `timeout_epilog`).
        Note::Failed { .. }
            if ctx.log_all_failures
                && matches!(ctx.kind, Kind::TcpCheck | Kind::HttpGet | Kind::SslGet) =>
        {
            let reason = Note::Retrying {
                attempt: 1,
                of: ctx.retry,
            };
            check_line(ctx, reason, &rs, vs, detail)
                .into_iter()
                .chain(check_line(ctx, note, &rs, vs, detail))
                .collect()
        }
        _ => check_line(ctx, note, &rs, vs, detail).into_iter().collect(),
    }
}

fn check_line(
    ctx: &LogContext,
    note: Note,
    rs: &dyn std::fmt::Display,
    vs: &str,
    detail: &str,
) -> Option<String> {
    let all = ctx.log_all_failures;
    let misc = |what: &str| format!("Misc check for [{rs} VS {vs}] by [{}] {what}.", ctx.script);
    // check_misc.c: `<word><suffix>[ (<reason>)]`.
    let (word, reason) = match detail.split_once(" (") {
        Some((w, r)) => (w, format!(" ({r}")),
        None => (detail, String::new()),
    };
    let word = if word.is_empty() || word == "success" || word == "succeeded" {
        "failed"
    } else {
        word
    };
    let retries = |n: u32| if n == 1 { "retry" } else { "retries" };
    let misc_failed = |suffix: String| misc(&format!("{word}{suffix}{reason}"));
    let line = match (ctx.kind, note) {
        (_, Note::Quiet) => return None,
        (Kind::TcpCheck, Note::Succeeded) => format!("TCP connection to {rs} success."),
        (Kind::HttpGet | Kind::SslGet, Note::Succeeded) => {
            format!("Remote Web server {rs} succeed on service.")
        }
        (Kind::MiscCheck, Note::Succeeded) => misc("succeeded"),
        (_, Note::Succeeded) => format!("{} on service {rs} succeeded.", ctx.kind.label()),
        (_, Note::UrlPassed { .. } | Note::WebSucceeded { .. }) => return None,
        (kind, Note::Failed { after_retries }) => {
            let name = match kind {
                Kind::HttpGet | Kind::SslGet => "HTTP_CHECK",
                k => k.label(),
            };
            match (kind, after_retries) {
                (Kind::MiscCheck, _) if ctx.retry == 0 => {
                    misc_failed(" with retry disabled".into())
                }
                (Kind::MiscCheck, _) => {
                    misc_failed(format!(" after {} {}", ctx.retry, retries(ctx.retry)))
                }
                (_, Some(n)) => format!("{name} on service {rs} failed after {n} retries."),
                (_, None) => format!("{name} on service {rs} failed."),
            }
        }
        (kind, Note::Retrying { attempt, of }) if all => match kind {
            Kind::TcpCheck => format!("TCP connection to {rs} {word}."),
            Kind::MiscCheck if attempt <= 1 => {
                misc_failed(format!(", will do {of} {}", retries(of)))
            }
            Kind::MiscCheck => misc_failed(format!(" on retry {}/{of}", attempt - 1)),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(kind: Kind, retry: u32) -> LogContext {
        LogContext {
            url_success: Vec::new(),
            kind,
            urls: vec!["/a".into(), "/b".into()],
            script: "/bin/chk".into(),
            log_all_failures: true,
            retry,
        }
    }

    const RS: &str = "[198.51.100.1]:tcp:80";
    const VS: &str = "[192.0.2.10]:tcp:80";

    #[test]
    fn misc_lines_as_check_misc_prints_them() {
        let misc = ctx(Kind::MiscCheck, 1);
        let failed = Note::Failed {
            after_retries: Some(1),
        };
        assert_eq!(
            check_lines(&misc, failed, RS, VS, "failed (exited with status 1)"),
            [format!(
                "Misc check for [{RS} VS {VS}] by [/bin/chk] failed after 1 retry (exited with status 1)."
            )]
        );
        assert_eq!(
            check_lines(&misc, failed, RS, VS, "timed out"),
            [format!(
                "Misc check for [{RS} VS {VS}] by [/bin/chk] timed out after 1 retry."
            )]
        );
        let first = Note::Retrying { attempt: 1, of: 3 };
        assert_eq!(
            check_lines(
                &ctx(Kind::MiscCheck, 3),
                first,
                RS,
                VS,
                "failed (exited with status 2)"
            ),
            [format!(
                "Misc check for [{RS} VS {VS}] by [/bin/chk] failed, will do 3 retries (exited with status 2)."
            )]
        );
        let no_retry = Note::Failed {
            after_retries: None,
        };
        assert_eq!(
            check_lines(&ctx(Kind::MiscCheck, 0), no_retry, RS, VS, "failed"),
            [format!(
                "Misc check for [{RS} VS {VS}] by [/bin/chk] failed with retry disabled."
            )]
        );
    }

    #[test]
    fn with_log_all_failures_the_failure_that_downs_a_checker_says_why() {
        let down = Note::Failed {
            after_retries: Some(1),
        };
        assert_eq!(
            check_lines(&ctx(Kind::TcpCheck, 1), down, RS, VS, "failed"),
            [
                format!("TCP connection to {RS} failed."),
                format!("TCP_CHECK on service {RS} failed after 1 retries."),
            ]
        );
        let first = Note::Failed {
            after_retries: None,
        };
        assert_eq!(
            check_lines(&ctx(Kind::HttpGet, 1), first, RS, VS, "MD5 digest error to"),
            [
                format!("MD5 digest error to server {RS}."),
                format!("HTTP_CHECK on service {RS} failed."),
            ]
        );
        let quiet = LogContext {
            log_all_failures: false,
            ..ctx(Kind::TcpCheck, 1)
        };
        assert_eq!(
            check_lines(&quiet, down, RS, VS, "failed"),
            [format!("TCP_CHECK on service {RS} failed after 1 retries.")]
        );
    }

    #[test]
    fn a_url_success_names_its_last_test() {
        let http = LogContext {
            url_success: vec!["MD5 digest".into(), "Regex match".into()],
            ..ctx(Kind::HttpGet, 1)
        };
        assert_eq!(
            check_lines(&http, Note::UrlPassed { url: 0 }, RS, VS, "success"),
            [format!("MD5 digest success to {RS} url(/a)")]
        );
        assert_eq!(
            check_lines(&http, Note::UrlPassed { url: 1 }, RS, VS, "success"),
            [format!("Regex match success to {RS} url(/b)")]
        );
    }

    #[test]
    fn http_pass_lines() {
        let http = ctx(Kind::HttpGet, 1);
        let note = Note::WebSucceeded { url_line: Some(1) };
        assert_eq!(
            check_lines(&http, note, RS, VS, "success"),
            [
                format!("HTTP status code success to {RS} url(/b)"),
                format!("Remote Web server {RS} succeed on service."),
            ]
        );
        assert!(check_lines(&http, Note::Quiet, RS, VS, "success").is_empty());
    }
}
