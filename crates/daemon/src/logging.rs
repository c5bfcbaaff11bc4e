// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Logging as keepalived: syslog by default (`-S` facility, `-G` off), the
//! console with `-l`, a file with `-g`, `-D` for detail; `--log-json`
//! writes the console/file lines as JSON objects for log shippers.
//!
//! Syslog messages are RFC 3164 datagrams to `/dev/log` written here
//! (`<PRI>IDENT[PID]: message`; the syslog daemon stamps the time), with
//! keepalived's identities so existing syslog rules keep matching.

use std::fmt::Write as _;
use std::os::unix::net::UnixDatagram;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::Cli;

mod deadline;
mod held;
pub use held::hold;

/// A stop began at `started`: syslog lines that cannot be sent within
/// half of `child_wait` are dropped and counted, so the stop ends before
/// the parent's kill. See [`deadline`].
pub fn stop_deadline(started: Instant, child_wait: Duration) {
    deadline::set(deadline::for_stop(started, child_wait));
}

/// At the end of a stop: one line for the syslog lines dropped, if any.
pub fn report_late_lines() {
    deadline::report_late();
}

/// Which of the three processes this is (its syslog identity, its pid file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Parent,
    Vrrp,
    Checker,
}

impl Role {
    pub fn ident(self) -> &'static str {
        match self {
            Role::Parent => "Keepalived",
            Role::Vrrp => "Keepalived_vrrp",
            Role::Checker => "Keepalived_healthcheckers",
        }
    }
}

/// `-S`: 0-7 = local0-7, or a name. None for anything else.
pub fn facility(name: &str) -> Option<u8> {
    let code = match name {
        "user" => 1,
        "daemon" => 3,
        n => {
            let d = n.strip_prefix("local").unwrap_or(n);
            let k: u8 = d.parse().ok()?;
            if k > 7 || d.len() != 1 {
                return None;
            }
            16 + k
        }
    };
    Some(code)
}

fn severity(level: &Level) -> u8 {
    match *level {
        Level::ERROR => 3,
        Level::WARN => 4,
        Level::INFO => 6,
        Level::DEBUG | Level::TRACE => 7,
    }
}

struct Syslog {
    conn: Mutex<SyslogConn>,
    facility: u8,
    ident: &'static str,
    /// `/dev/log` (another socket in the tests).
    socket: &'static str,
    /// [`SYSLOG_RETRY`] (shorter in the tests).
    retry: Duration,
}

/// How long lines go without a connect attempt after one failed. Without
/// a syslog daemon every line tried socket, connect and close: three
/// system calls a line, most of a 100 000-line stop on the host. A syslog
/// daemon that comes back is found within this time; lines before that
/// are lost, as they would be had it stayed down.
const SYSLOG_RETRY: Duration = Duration::from_secs(1);

#[derive(Default)]
struct SyslogConn {
    sock: Option<UnixDatagram>,
    /// No connect attempt before this (after one failed).
    quiet_until: Option<Instant>,
    /// Connect attempts made, for the tests.
    attempts: u64,
}

impl Syslog {
    /// Sends the line `make` formats, if there is a socket to send it to
    /// (no formatting otherwise).
    fn send(&self, make: impl FnOnce() -> String) {
        if deadline::skip() {
            return;
        }
        let Ok(mut conn) = self.conn.lock() else {
            return;
        };
        if conn.sock.is_none() {
            let now = Instant::now();
            if conn.quiet_until.is_some_and(|t| now < t) {
                return;
            }
            conn.attempts += 1;
            // Non-blocking: a full queue is waited out in `deadline`,
            // which can give up at a stop's deadline.
            conn.sock = UnixDatagram::unbound()
                .and_then(|s| s.connect(self.socket).map(|()| s))
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
                .ok();
            conn.quiet_until = conn.sock.is_none().then(|| now + self.retry);
        }
        let Some(sock) = conn.sock.as_ref() else {
            return;
        };
        if deadline::send(sock, make().as_bytes()).is_err() {
            // The syslog daemon may have restarted: reconnect next time.
            conn.sock = None;
        }
    }
}

#[derive(Default)]
struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

impl<S: Subscriber> Layer<S> for Syslog {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        self.send(|| {
            let mut msg = Message::default();
            event.record(&mut msg);
            let pri = self.facility * 8 + severity(event.metadata().level());
            format!(
                "<{pri}>{}[{}]: {}",
                self.ident,
                std::process::id(),
                msg.0.trim_start()
            )
        });
    }
}

/// The test hook's variable (debug builds only): the syslog socket's path.
const TEST_SYSLOG_VAR: &str = "KEEPALIVED_RS_TEST_SYSLOG";

/// `/dev/log`, or in a debug build the test's socket.
fn syslog_socket() -> &'static str {
    #[cfg(debug_assertions)]
    if let Ok(p) = std::env::var(TEST_SYSLOG_VAR) {
        return Box::leak(p.into_boxed_str());
    }
    let _ = TEST_SYSLOG_VAR;
    "/dev/log"
}

/// Installs the global subscriber for `role` from the command line.
pub fn init(cli: &Cli, role: Role) {
    let level = if cli.log_detail {
        LevelFilter::DEBUG
    } else {
        LevelFilter::INFO
    };
    let facility = cli.log_facility.as_deref().and_then(facility).unwrap_or(3);
    let syslog = (!cli.no_syslog).then(|| Syslog {
        conn: Mutex::new(SyslogConn::default()),
        facility,
        ident: role.ident(),
        socket: syslog_socket(),
        retry: SYSLOG_RETRY,
    });
    let file = cli.log_file.as_ref().and_then(|p| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .ok()
    });
    let console = cli.log_console || (cli.log_json && file.is_none());
    let ident = role.ident();
    let make_fmt = |writer: tracing_subscriber::fmt::writer::BoxMakeWriter| {
        let base = tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_target(false)
            .with_ansi(false);
        if cli.log_json {
            base.json()
                .flatten_event(true)
                .with_current_span(false)
                .boxed()
        } else {
            base.boxed()
        }
    };
    let sink = match file {
        Some(f) => Some(held::Sink::File(std::sync::Arc::new(f))),
        None => console.then_some(held::Sink::Stderr),
    };
    let out: Option<Box<dyn Layer<_> + Send + Sync>> = sink.map(|sink| {
        let lines = std::sync::Arc::new(held::Lines::new(sink));
        held::install(std::sync::Arc::clone(&lines));
        make_fmt(tracing_subscriber::fmt::writer::BoxMakeWriter::new(
            move || held::LineWriter(std::sync::Arc::clone(&lines)),
        ))
    });
    let _ = tracing_subscriber::registry()
        .with(level)
        .with(syslog)
        .with(out)
        .try_init();
    tracing::debug!(process = ident, "logging started");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Without a syslog daemon a line costs no connect attempt (three
    /// system calls each: most of a 100 000-line stop on the host), and
    /// one that comes back is found.
    #[test]
    fn no_syslog_daemon_one_attempt_then_found_when_it_comes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path: &'static str = Box::leak(
            dir.path()
                .join("log")
                .to_string_lossy()
                .into_owned()
                .into_boxed_str(),
        );
        let syslog = Syslog {
            conn: Mutex::new(SyslogConn::default()),
            facility: 3,
            ident: "test",
            socket: path,
            retry: Duration::from_millis(200),
        };
        let mut formatted = 0;
        for i in 0..1000 {
            syslog.send(|| {
                formatted += 1;
                format!("line {i}")
            });
        }
        let attempts = |s: &Syslog| s.conn.lock().map(|c| c.attempts).unwrap_or(0);
        assert_eq!(attempts(&syslog), 1, "one attempt for 1000 lines");
        assert_eq!(formatted, 0, "nothing formatted for nobody");

        let daemon = UnixDatagram::bind(path).expect("bind");
        std::thread::sleep(Duration::from_millis(250));
        syslog.send(|| "back".to_owned());
        let mut buf = [0u8; 64];
        daemon
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let n = daemon.recv(&mut buf).expect("the line reached the daemon");
        assert_eq!(&buf[..n], b"back");
        assert_eq!(attempts(&syslog), 2);
    }

    #[test]
    fn facilities_as_keepalived() {
        assert_eq!(facility("daemon"), Some(3));
        assert_eq!(facility("user"), Some(1));
        assert_eq!(facility("local3"), Some(19));
        assert_eq!(facility("7"), Some(23));
        assert_eq!(facility("local8"), None);
        assert_eq!(facility("kern"), None);
    }
}
