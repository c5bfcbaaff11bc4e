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

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::layer::{Context, SubscriberExt};
use tracing_subscriber::util::SubscriberInitExt;

use crate::cli::Cli;

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
    sock: Mutex<Option<UnixDatagram>>,
    facility: u8,
    ident: &'static str,
}

impl Syslog {
    fn send(&self, line: &str) {
        let Ok(mut guard) = self.sock.lock() else {
            return;
        };
        if guard.is_none() {
            *guard = UnixDatagram::unbound()
                .and_then(|s| s.connect("/dev/log").map(|()| s))
                .ok();
        }
        let sent = guard.as_ref().map(|s| s.send(line.as_bytes()));
        if !matches!(sent, Some(Ok(_))) {
            // The syslog daemon may have restarted: reconnect next time.
            *guard = None;
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
        let mut msg = Message::default();
        event.record(&mut msg);
        let pri = self.facility * 8 + severity(event.metadata().level());
        let line = format!(
            "<{pri}>{}[{}]: {}",
            self.ident,
            std::process::id(),
            msg.0.trim_start()
        );
        self.send(&line);
    }
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
        sock: Mutex::new(None),
        facility,
        ident: role.ident(),
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
    let out: Option<Box<dyn Layer<_> + Send + Sync>> = if let Some(f) = file {
        let f = std::sync::Arc::new(f);
        Some(make_fmt(
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(move || FileWriter(f.clone())),
        ))
    } else if console {
        Some(make_fmt(
            tracing_subscriber::fmt::writer::BoxMakeWriter::new(std::io::stderr),
        ))
    } else {
        None
    };
    let _ = tracing_subscriber::registry()
        .with(level)
        .with(syslog)
        .with(out)
        .try_init();
    tracing::debug!(process = ident, "logging started");
}

struct FileWriter(std::sync::Arc<std::fs::File>);

impl std::io::Write for FileWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        (&*self.0).write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        (&*self.0).flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
