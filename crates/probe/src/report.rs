// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What one probe run says.

use std::time::Duration;

use serde::Serialize;

use crate::http::response::Success;

/// The verdict of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Verdict {
    Success,
    Failure,
    /// keepalived's "local error" (§3.7, §3.8): the probe could not be
    /// made (socket, bind, SO_MARK, SO_BINDTODEVICE, a synchronous connect
    /// error outside the unreachable/refused/reset/timeout family, a
    /// script that cannot be started). State unchanged; run again after
    /// delay_loop.
    LocalError,
    /// MISC_CHECK with `misc_dynamic`, exit status 2..=255: up, and the
    /// real server's weight becomes status − 2 (0..=253).
    SuccessWithWeight(u32),
}

/// How a MISC script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ScriptEnd {
    Exited(i32),
    /// Killed by a signal we did not send.
    Signaled(i32),
    /// Ran past misc_timeout; its process group was killed.
    TimedOut,
}

/// HTTP_GET / SSL_GET specifics of a run that reached an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpOutcome {
    /// Which url was probed.
    pub url_index: usize,
    /// On success, keepalived's `<what> success to <RS> url(<path>)` word.
    pub success: Option<Success>,
    /// `(Content-Length, body bytes received)` when they differ:
    /// keepalived logs `http_check for RS <RS> VS <VS> url <vhost><path>:
    /// content_length (<n>) does not match received bytes (<m>)` once per
    /// distinct difference, and the verdict does not change.
    pub length_mismatch: Option<(u64, u64)>,
    pub status: Option<u16>,
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub elapsed: Duration,
    /// keepalived's words for the outcome, to splice into its log lines:
    /// - TCP_CHECK: `success`, `timeout` or `failed`
    ///   (`TCP connection to <RS> <detail>.`);
    /// - HTTP_GET / SSL_GET: the reason keepalived logs as
    ///   `<detail> server <RS>.` (`Timeout connecting`, `HTTP status code
    ///   error to`, ...), or `success`;
    /// - MISC_CHECK: `succeeded`, `failed` or `timed out` (see
    ///   [`Report::script`] for the exit status or signal);
    /// - LocalError: keepalived's rescheduling line (`TCP socket bind
    ///   failed. Rescheduling.`, `WEB socket bind failed. Rescheduling`, ...).
    pub detail: String,
    /// The underlying cause when there is one (an OS error, a TLS alert),
    /// for debug logs and status; keepalived does not log it.
    pub cause: Option<String>,
    pub http: Option<HttpOutcome>,
    pub script: Option<ScriptEnd>,
}

impl Report {
    pub(crate) fn new(verdict: Verdict, elapsed: Duration, detail: impl Into<String>) -> Report {
        Report {
            verdict,
            elapsed,
            detail: detail.into(),
            cause: None,
            http: None,
            script: None,
        }
    }

    pub(crate) fn with_cause(mut self, cause: impl ToString) -> Report {
        self.cause = Some(cause.to_string());
        self
    }
}
