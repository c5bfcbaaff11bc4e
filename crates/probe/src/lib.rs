// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Health-check probes: the I/O half of keepalived's checkers.
//!
//! A [`Spec`] is one checker resolved from the configuration; [`run`] (or
//! [`run_url`] for HTTP_GET / SSL_GET) makes one probe and returns a
//! [`Report`]. This crate holds no up/down state and never touches IPVS:
//! retries, alpha, delay_loop and the order of urls belong to the
//! per-checker machine in `keepalived-check`, which the daemon feeds with
//! these reports.
//!
//! Everything runs on a tokio current-thread runtime; every I/O step is
//! bounded by connect_timeout as keepalived 2.2.7 bounds it (MISC: by
//! misc_timeout).
//!
//! Modules: [`spec`] (resolution and identity), [`conn`] (socket setup and
//! connect), [`tcp`], [`dns`] (query and answer rules, the I/O shell), [`udp`], [`smtp`], [`ping`], [`http`] (request builder, response decoder, regex,
//! the I/O shell), [`tls`] (rustls client), [`misc`] (scripts),
//! [`genhash`] (the `genhash` command), [`resolve`] (lookups of real
//! servers named by DNS, a keepalived-rs extension).

pub mod conn;
pub mod dns;
pub mod genhash;
pub mod http;
pub mod misc;
pub mod ping;
pub mod report;
pub mod resolve;
pub mod smtp;
pub mod spec;
pub mod tcp;
pub mod tls;
pub mod udp;

pub use dns::DnsSpec;
pub use report::{HttpOutcome, Report, ScriptEnd, Verdict};
pub use smtp::SmtpSpec;
pub use spec::{ConnOpts, HttpSpec, Kind, MiscSpec, ShareKey, Spec, SpecKey, UrlSpec};
pub use udp::UdpSpec;

/// Runs one probe. For HTTP_GET / SSL_GET this probes the first url; use
/// [`run_url`] to walk the urls as keepalived does.
pub async fn run(spec: &Spec) -> Report {
    run_url(spec, 0).await
}

/// Runs one probe of url `url_index` (HTTP_GET / SSL_GET; ignored by the
/// other kinds).
///
/// keepalived probes one url per run: the engine starts at 0, moves to
/// the next url (after delay_loop) when a url passes, stays on a failing
/// url (retrying after delay_before_retry), and after a failed url
/// passes again restarts at 0; the checker is up only after a pass over
/// every url ([`Spec::url_count`]).
///
/// The checker child spawns one task per run, and a task holds its future
/// inline: every kind but TCP is boxed, so that a TCP_CHECK task (the
/// common and cheapest kind) is not the size of an HTTPS exchange (3.7 kB
/// unboxed, allocated and moved for every run).
pub async fn run_url(spec: &Spec, url_index: usize) -> Report {
    match &spec.kind {
        Kind::Tcp => tcp::run(spec).await,
        Kind::Http(h) => Box::pin(http::run_url(spec, h, url_index)).await,
        Kind::Misc(m) => Box::pin(misc::run(m)).await,
        Kind::Dns(d) => Box::pin(dns::run(spec, d)).await,
        Kind::Udp(u) => Box::pin(udp::run(spec, u)).await,
        Kind::Smtp(m) => Box::pin(smtp::run(spec, m)).await,
        Kind::Ping => Box::pin(ping::run(spec)).await,
    }
}

#[cfg(test)]
mod tests {
    /// The engine spawns probes as tasks: their futures must be Send.
    #[test]
    fn probe_futures_are_send() {
        fn is_send<T: Send>(_: &T) {}
        let spec = crate::Spec {
            target: std::net::SocketAddr::from(([127, 0, 0, 1], 1)),
            conn: crate::ConnOpts::plain(std::time::Duration::from_secs(1)),
            kind: crate::Kind::Tcp,
        };
        let fut = crate::run_url(&spec, 0);
        is_send(&fut);
        let args = crate::genhash::Args {
            server: std::net::IpAddr::from([127, 0, 0, 1]),
            port: 1,
            url: "/".into(),
            ssl: false,
            sni: false,
            vhost: None,
            protocol: crate::http::request::Protocol::Http10,
            fwmark: 0,
            timeout_us: 1,
            verbose: false,
        };
        let g = crate::genhash::fetch(&args);
        is_send(&g);
    }
}
