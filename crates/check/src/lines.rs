// SPDX-License-Identifier: Apache-2.0 OR MIT
//! keepalived's lines for a finished run of DNS_CHECK, SMTP_CHECK,
//! UDP_CHECK and PING_CHECK, which differ in shape from TCP's
//! ([`crate::effect::check_lines`] has TCP, HTTP, SSL and MISC):
//!
//! | kind  | came up                                     | went down (after N retries)                                          | a failure, with log_all_failures                 |
//! |-------|---------------------------------------------|----------------------------------------------------------------------|--------------------------------------------------|
//! | UDP   | `UDP connection to <RS> success.`           | `UDP_CHECK on service <RS> failed[ after N retries].`                | `UDP connection to <RS> failed.` / `UDP check to <RS> reply data mismatch.`, while up |
//! | PING  | `ICMP connection to <RS> success.`          | `ICMP CHECK on service <RS> of <VS> failed after N retries.` / `ICMP CHECK on service <RS> failed.` | `ICMP connection to address <RS> timeout.` / `ICMP connection to <RS> of <VS> failed.`, while up |
//! | DNS   | nothing                                     | `DNS_CHECK (<RS>) <reason>[ after N retries]`                        | `DNS_CHECK (<RS>) <reason>`, while up or not run  |
//! | SMTP  | `Remote SMTP server <RS> succeed on service.` | `SMTP_CHECK <reason>` (the reason only)                            | `SMTP_CHECK <reason>`, while up or not run        |
//!
//! (check_udp.c `udp_epilog`, `udp_check_thread`; check_ping.c
//! `icmp_epilog`, `icmp_check_thread`; check_dns.c `dns_final`;
//! check_smtp.c `smtp_final`.) UDP and PING print their failure reason
//! before the verdict line when the checker was up, the failure that
//! takes it down included; DNS and SMTP print the reason as the verdict.
//! A local error prints the probe's own rescheduling line (DNS's with
//! its `DNS_CHECK (<RS>)` prefix). `detail` is
//! the probe's word: the reason text for DNS and SMTP, `failed` /
//! `reply data mismatch` for UDP, `timeout` or keepalived's own line for
//! the problem (`send ICMP packet fail`, which PING logs at
//! every run whatever the state) for PING.

use crate::effect::{Kind, LogContext};
use crate::machine::Note;

/// The lines, or None when `ctx` is not one of these kinds. `was_up`:
/// the checker's state before the run.
pub fn probe_lines(
    ctx: &LogContext,
    note: Note,
    was_up: bool,
    rs: impl std::fmt::Display,
    vs: &str,
    detail: &str,
) -> Option<Vec<String>> {
    let all = ctx.log_all_failures;
    let lines = match ctx.kind {
        Kind::UdpCheck => {
            let reason = || {
                if detail == "reply data mismatch" {
                    format!("UDP check to {rs} reply data mismatch.")
                } else {
                    format!("UDP connection to {rs} failed.")
                }
            };
            match note {
                Note::Succeeded => vec![format!("UDP connection to {rs} success.")],
                Note::Retrying { .. } if all && was_up => vec![reason()],
                Note::Failed { after_retries } => {
                    let mut v = Vec::new();
                    if all && was_up {
                        v.push(reason());
                    }
                    v.push(match after_retries {
                        Some(n) => format!("UDP_CHECK on service {rs} failed after {n} retries."),
                        None => format!("UDP_CHECK on service {rs} failed."),
                    });
                    v
                }
                Note::LocalError => vec![detail.to_string()],
                _ => Vec::new(),
            }
        }
        Kind::PingCheck => {
            // check_ping.c logs a send or receive problem at every run,
            // whatever the state; a send that failed has no reason line.
            let mut v = Vec::new();
            let own = !matches!(detail, "success" | "timeout" | "failed");
            if own && note != Note::LocalError {
                v.push(detail.to_string());
            }
            let failed = matches!(note, Note::Retrying { .. } | Note::Failed { .. });
            if failed && all && was_up {
                if detail == "timeout" {
                    v.push(format!("ICMP connection to address {rs} timeout."));
                } else if !detail.starts_with("send ICMP") {
                    v.push(format!("ICMP connection to {rs} of {vs} failed."));
                }
            }
            match note {
                Note::Succeeded => v.push(format!("ICMP connection to {rs} success.")),
                Note::Failed {
                    after_retries: Some(n),
                } => v.push(format!(
                    "ICMP CHECK on service {rs} of {vs} failed after {n} retries."
                )),
                Note::Failed {
                    after_retries: None,
                } => v.push(format!("ICMP CHECK on service {rs} failed.")),
                Note::LocalError => v.push(detail.to_string()),
                _ => {}
            }
            v
        }
        Kind::DnsCheck => match note {
            Note::Retrying { .. } if all => vec![format!("DNS_CHECK ({rs}) {detail}")],
            Note::Failed { after_retries } => {
                let suffix = after_retries.map_or(String::new(), |n| format!(" after {n} retries"));
                vec![format!("DNS_CHECK ({rs}) {detail}{suffix}")]
            }
            // check_dns.c `dns_connect_thread` says it with its prefix.
            Note::LocalError => vec![format!("DNS_CHECK ({rs}) {detail}")],
            _ => Vec::new(),
        },
        Kind::SmtpCheck => match note {
            Note::Succeeded => vec![format!("Remote SMTP server {rs} succeed on service.")],
            Note::Retrying { .. } if all => vec![format!("SMTP_CHECK {detail}")],
            Note::Failed { .. } => vec![format!("SMTP_CHECK {detail}")],
            Note::LocalError => vec![detail.to_string()],
            _ => Vec::new(),
        },
        _ => return None,
    };
    Some(lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RS: &str = "[198.51.100.71]:udp:53";
    const VS: &str = "[192.0.2.7]:udp:53";

    fn ctx(kind: Kind, all: bool) -> LogContext {
        LogContext {
            kind,
            urls: Vec::new(),
            url_success: Vec::new(),
            script: String::new(),
            log_all_failures: all,
            retry: 2,
        }
    }

    const DOWN: Note = Note::Failed {
        after_retries: Some(2),
    };
    const FIRST: Note = Note::Failed {
        after_retries: None,
    };
    const RETRY: Note = Note::Retrying { attempt: 1, of: 2 };

    fn lines(kind: Kind, all: bool, note: Note, was_up: bool, detail: &str) -> Vec<String> {
        probe_lines(&ctx(kind, all), note, was_up, RS, VS, detail).unwrap_or_default()
    }

    #[test]
    fn udp() {
        assert_eq!(
            lines(Kind::UdpCheck, false, Note::Succeeded, false, "success"),
            [format!("UDP connection to {RS} success.")]
        );
        assert_eq!(
            lines(Kind::UdpCheck, false, DOWN, true, "failed"),
            [format!("UDP_CHECK on service {RS} failed after 2 retries.")]
        );
        assert_eq!(
            lines(Kind::UdpCheck, true, DOWN, true, "reply data mismatch"),
            [
                format!("UDP check to {RS} reply data mismatch."),
                format!("UDP_CHECK on service {RS} failed after 2 retries."),
            ]
        );
        // An alpha checker's first failure: it was not up, no reason.
        assert_eq!(
            lines(Kind::UdpCheck, true, FIRST, false, "failed"),
            [format!("UDP_CHECK on service {RS} failed.")]
        );
        assert_eq!(
            lines(Kind::UdpCheck, true, RETRY, true, "failed"),
            [format!("UDP connection to {RS} failed.")]
        );
        assert!(lines(Kind::UdpCheck, false, RETRY, true, "failed").is_empty());
        assert!(lines(Kind::UdpCheck, true, Note::StillDown, false, "failed").is_empty());
    }

    #[test]
    fn ping() {
        assert_eq!(
            lines(Kind::PingCheck, false, Note::Succeeded, false, "success"),
            [format!("ICMP connection to {RS} success.")]
        );
        assert_eq!(
            lines(Kind::PingCheck, false, DOWN, true, "timeout"),
            [format!(
                "ICMP CHECK on service {RS} of {VS} failed after 2 retries."
            )]
        );
        assert_eq!(
            lines(Kind::PingCheck, true, FIRST, true, "timeout"),
            [
                format!("ICMP connection to address {RS} timeout."),
                format!("ICMP CHECK on service {RS} failed."),
            ]
        );
        assert_eq!(
            lines(Kind::PingCheck, true, RETRY, true, "recv ICMP packet error"),
            [
                "recv ICMP packet error".to_string(),
                format!("ICMP connection to {RS} of {VS} failed.")
            ]
        );
        // A send that failed: keepalived's own line, at every run, and
        // no reason line.
        let send = "send ICMPv6 packet fail - errno 101";
        assert_eq!(
            lines(Kind::PingCheck, true, DOWN, true, send),
            [
                send.to_string(),
                format!("ICMP CHECK on service {RS} of {VS} failed after 2 retries.")
            ]
        );
        assert_eq!(
            lines(Kind::PingCheck, true, Note::StillDown, false, send),
            [send]
        );
    }

    #[test]
    fn dns() {
        assert!(lines(Kind::DnsCheck, true, Note::Succeeded, false, "success").is_empty());
        assert_eq!(
            lines(
                Kind::DnsCheck,
                false,
                DOWN,
                true,
                "read timeout from socket"
            ),
            [format!(
                "DNS_CHECK ({RS}) read timeout from socket after 2 retries"
            )]
        );
        assert_eq!(
            lines(
                Kind::DnsCheck,
                false,
                FIRST,
                true,
                "read error occurred. (rcode = 3)"
            ),
            [format!("DNS_CHECK ({RS}) read error occurred. (rcode = 3)")]
        );
        assert_eq!(
            lines(
                Kind::DnsCheck,
                true,
                RETRY,
                true,
                "read timeout from socket"
            ),
            [format!("DNS_CHECK ({RS}) read timeout from socket")]
        );
        assert!(lines(Kind::DnsCheck, false, RETRY, true, "x").is_empty());
        assert_eq!(
            lines(
                Kind::DnsCheck,
                false,
                Note::LocalError,
                true,
                "UDP socket bind failed. Rescheduling."
            ),
            [format!(
                "DNS_CHECK ({RS}) UDP socket bind failed. Rescheduling."
            )]
        );
    }

    #[test]
    fn smtp() {
        let why = "Bad greeting banner from server [198.51.100.72]:25";
        assert_eq!(
            lines(Kind::SmtpCheck, false, Note::Succeeded, false, "success"),
            [format!("Remote SMTP server {RS} succeed on service.")]
        );
        assert_eq!(
            lines(Kind::SmtpCheck, false, DOWN, true, why),
            [format!("SMTP_CHECK {why}")]
        );
        assert_eq!(
            lines(Kind::SmtpCheck, true, RETRY, true, why),
            [format!("SMTP_CHECK {why}")]
        );
        assert!(lines(Kind::SmtpCheck, false, RETRY, true, why).is_empty());
        assert_eq!(
            lines(
                Kind::SmtpCheck,
                false,
                Note::LocalError,
                true,
                "SMTP_CHECK socket bind failed. Rescheduling."
            ),
            ["SMTP_CHECK socket bind failed. Rescheduling."]
        );
        assert_eq!(
            probe_lines(&ctx(Kind::TcpCheck, true), DOWN, true, RS, VS, "failed"),
            None
        );
    }
}
