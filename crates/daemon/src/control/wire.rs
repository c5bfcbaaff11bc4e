// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The control socket's language: one JSON object per line each way.
//!
//! A request names its protocol version and a command; the answer carries
//! the same version, `ok`, and either a result or an error a person can
//! read. Requests are read with a size cap and a deadline by the server
//! ([`super::server`]); this module only says what a line means.
//!
//! ```text
//! -> {"version":1,"cmd":"status"}
//! <- {"version":1,"ok":true,"result":{"daemon":{...},"vrrp":{...},"checker":{...}}}
//! -> {"version":1,"cmd":"status","view":"summary"}
//! <- {"version":1,"ok":true,"result":{"view":"summary","daemon":{...},"vrrp":{"by_state":{...},...},...}}
//! -> {"version":1,"cmd":"status","vs":"192.0.2.10:80","instance":"VI_1"}
//! -> {"version":1,"cmd":"reload"}
//! <- {"version":1,"ok":false,"error":"the new configuration was refused","diagnostics":[...]}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Which status a client wants: the whole table (what tools parse), a
/// summary whose size does not grow with the real servers, the compact
/// form the metrics writer streams from, and an optional filter that
/// narrows the whole table to one virtual server or one instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAsk {
    #[serde(default)]
    pub view: StatusView,
    /// Only this virtual server (its name as the status shows it,
    /// `ADDR:PORT`, `fwmark N` or a group name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vs: Option<String>,
    /// Only this VRRP instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

impl StatusAsk {
    pub fn of(view: StatusView) -> Self {
        Self {
            view,
            ..Self::default()
        }
    }

    /// Whether a filter narrows the answer (a filter also means detail).
    pub fn filtered(&self) -> bool {
        self.vs.is_some() || self.instance.is_some()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusView {
    /// Everything, as before there were views (the default: older
    /// clients and scripts send no view).
    #[default]
    Detail,
    /// Counts per state and the objects needing attention, capped.
    Summary,
    /// What the metrics writer needs, in arrays rather than objects.
    Metrics,
}

/// The protocol version this daemon speaks.
pub const VERSION: u32 = 1;

/// The longest request line accepted (requests are tiny; anything longer
/// is a mistake or an attack).
pub const MAX_REQUEST: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    /// Live state of the supervisor and of each child.
    Status,
    /// Re-read the configuration (as SIGHUP) and answer with the outcome.
    Reload,
    /// Stop the daemon (as SIGTERM).
    Stop,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub version: u32,
    pub cmd: Command,
    /// For `status`: which view, and what to narrow it to. Absent fields
    /// ask for the whole table, as version 1 always answered.
    #[serde(flatten)]
    pub ask: StatusAsk,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    pub version: u32,
    pub ok: bool,
    /// JSON text: the supervisor writes a status from its children's
    /// answers without parsing them; a reader parses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For a refused reload: what was wrong with the configuration.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub diagnostics: Vec<String>,
}

impl Answer {
    pub fn ok(result: impl Serialize) -> Self {
        match serde_json::value::to_raw_value(&result) {
            Ok(raw) => Self {
                version: VERSION,
                ok: true,
                result: Some(raw),
                error: None,
                diagnostics: Vec::new(),
            },
            Err(e) => Self::error(format!("cannot write the answer: {e}")),
        }
    }

    /// The result, parsed (None when there is none).
    pub fn result_value(&self) -> Option<serde_json::Result<serde_json::Value>> {
        self.result
            .as_deref()
            .map(|r| serde_json::from_str(r.get()))
    }

    pub fn error(message: impl Into<String>) -> Self {
        Self {
            version: VERSION,
            ok: false,
            result: None,
            error: Some(message.into()),
            diagnostics: Vec::new(),
        }
    }

    /// The answer as one line, newline included.
    pub fn to_line(&self) -> String {
        let mut s = serde_json::to_string(self).unwrap_or_else(|e| {
            format!("{{\"version\":{VERSION},\"ok\":false,\"error\":\"{e}\"}}")
        });
        s.push('\n');
        s
    }
}

/// Why a request line was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRequest {
    TooLong,
    /// No complete line before the server's read deadline.
    Slow(std::time::Duration),
    NotJson(String),
    Version(u32),
}

impl std::fmt::Display for BadRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadRequest::TooLong => write!(f, "request longer than {MAX_REQUEST} bytes"),
            BadRequest::Slow(d) => write!(
                f,
                "no complete request line within {} s; closing",
                d.as_secs()
            ),
            BadRequest::NotJson(e) => write!(f, "not a request: {e}"),
            BadRequest::Version(v) => {
                write!(
                    f,
                    "protocol version {v} not spoken (this daemon speaks {VERSION})"
                )
            }
        }
    }
}

/// Reads one request line (without its newline).
pub fn parse_request(line: &[u8]) -> Result<Request, BadRequest> {
    if line.len() > MAX_REQUEST {
        return Err(BadRequest::TooLong);
    }
    let req: Request =
        serde_json::from_slice(line).map_err(|e| BadRequest::NotJson(e.to_string()))?;
    if req.version != VERSION {
        return Err(BadRequest::Version(req.version));
    }
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_request_reads_back() {
        let line = br#"{"version":1,"cmd":"status"}"#;
        assert_eq!(
            parse_request(line),
            Ok(Request {
                version: 1,
                cmd: Command::Status,
                ask: StatusAsk::default(),
            })
        );
        let line = br#"{"version":1,"cmd":"status","view":"summary","vs":"192.0.2.1:80"}"#;
        let req = parse_request(line).expect("reads");
        assert_eq!(req.ask.view, StatusView::Summary);
        assert_eq!(req.ask.vs.as_deref(), Some("192.0.2.1:80"));
        assert!(matches!(
            parse_request(br#"{"version":1,"cmd":"status","view":"everything"}"#),
            Err(BadRequest::NotJson(_))
        ));
    }

    #[test]
    fn bad_lines_say_why() {
        assert!(matches!(
            parse_request(b"status"),
            Err(BadRequest::NotJson(_))
        ));
        assert!(matches!(
            parse_request(br#"{"version":1,"cmd":"format_disk"}"#),
            Err(BadRequest::NotJson(_))
        ));
        assert_eq!(
            parse_request(br#"{"version":2,"cmd":"status"}"#),
            Err(BadRequest::Version(2))
        );
        assert_eq!(
            parse_request(&vec![b' '; MAX_REQUEST + 1]),
            Err(BadRequest::TooLong)
        );
    }

    #[test]
    fn answers_are_one_line_each() {
        let a = Answer::ok(serde_json::json!({"x": "a\nb"}));
        let line = a.to_line();
        assert_eq!(line.matches('\n').count(), 1);
        let back: Answer = serde_json::from_str(line.trim_end()).expect("json");
        assert_eq!(back.to_line(), line);
        assert_eq!(
            back.result_value().expect("a result").expect("json"),
            serde_json::json!({"x": "a\nb"})
        );
        let e = Answer::error("nope").to_line();
        assert!(e.contains("\"ok\":false") && e.contains("nope"), "{e}");
    }
}
