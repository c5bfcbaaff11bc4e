// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The VRRP and checker children.
//!
//! A child is the same binary re-executed by the supervisor with a hidden
//! first argument. It blocks its signals into a signalfd before anything
//! else (so every thread the runtime starts inherits the mask), then runs
//! one current-thread tokio runtime: [`shell`] talks to the supervisor
//! over stdin and to the signals, and drives an [`shell::Engine`] that
//! owns the protocol work. The supervisor's side is in
//! [`crate::supervisor`].

use std::ffi::CString;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;

use nix::sys::signal::Signal;

use crate::cli::Cli;
use crate::exit;
use crate::logging::Role;
use crate::sigs::{self, Signals};

mod actor_link;
mod announce_routes;
mod checker;
mod notices;
pub mod report;
mod script;
mod shell;
mod track_files;
pub(crate) mod vrrp;

pub use checker::withdraw_dead_announces as withdraw_checker_announces;
pub use vrrp::release_addresses as release_vrrp_addresses;

/// The one-thread runtime a child (or the supervisor's crash cleanup)
/// runs its async work on.
fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// Which child this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Vrrp,
    Checker,
}

impl Kind {
    /// The hidden first argument that makes the binary this child.
    pub fn arg(self) -> &'static str {
        match self {
            Kind::Vrrp => "--child=vrrp",
            Kind::Checker => "--child=checker",
        }
    }

    pub fn from_arg(arg: &str) -> Option<Self> {
        match arg {
            "--child=vrrp" => Some(Kind::Vrrp),
            "--child=checker" => Some(Kind::Checker),
            _ => None,
        }
    }

    /// The process name in ps/top (comm, at most 15 bytes).
    pub fn comm(self) -> &'static str {
        match self {
            Kind::Vrrp => "kalrs_vrrp",
            Kind::Checker => "kalrs_check",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Vrrp => "VRRP",
            Kind::Checker => "Healthcheck",
        }
    }

    pub fn role(self) -> Role {
        match self {
            Kind::Vrrp => Role::Vrrp,
            Kind::Checker => Role::Checker,
        }
    }
}

/// Runs the child; returns its exit code.
pub fn run(cli: &Cli, kind: Kind) -> u8 {
    crate::logging::init(cli, kind.role());
    if let Ok(name) = CString::new(kind.comm()) {
        let _ = nix::sys::prctl::set_name(&name);
    }
    // Die with the supervisor. The channel's end of stream covers the race
    // where it died before this line.
    let _ = nix::sys::prctl::set_pdeathsig(Signal::SIGTERM);
    let signals = match Signals::new(&sigs::handled()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!("signalfd: {e}");
            return exit::FATAL;
        }
    };
    let chan = match std::io::stdin()
        .as_fd()
        .try_clone_to_owned()
        .map(UnixStream::from)
    {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("no channel to the supervisor: {e}");
            return exit::FATAL;
        }
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return exit::FATAL;
        }
    };
    tracing::info!(
        "Starting {} child process, pid {}",
        kind.label(),
        std::process::id()
    );
    match kind {
        Kind::Checker => {
            let engine = checker::Checker::new(cli.dont_release_ipvs);
            // Probes (HTTP body hashing, TLS) are not Send: the actor and
            // its probe tasks live on a LocalSet on the one thread.
            let local = tokio::task::LocalSet::new();
            local.block_on(&runtime, shell::serve(kind, engine, chan, signals))
        }
        Kind::Vrrp => {
            let engine = vrrp::VrrpEngine::new(vrrp::Options {
                dont_release_vrrp: cli.dont_release_vrrp,
            });
            runtime.block_on(shell::serve(kind, engine, chan, signals))
        }
    }
}
