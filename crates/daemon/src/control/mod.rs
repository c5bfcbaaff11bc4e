// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The control socket: live status, reload and stop for people and tools,
//! beyond keepalived's signal-triggered files.
//!
//! [`wire`] is the language (newline-delimited JSON with a version),
//! [`server`] the supervisor's side on threads of its own, [`client`] the
//! `keepalived-rs status|reload|stop` commands and [`render`] the table a
//! person reads.

pub mod client;
pub mod render;
pub mod server;
pub mod wire;

use std::path::PathBuf;

use crate::cli::Cli;
use crate::logging::Role;

/// Where the socket lives: `--control-socket`, else beside the parent's
/// pid file with `.sock` for `.pid` (`/run/keepalived.sock`; with `-s
/// NAME`, `/run/keepalived/keepalived_NAME.sock`), so daemons that keep
/// their pid files apart keep their sockets apart too.
pub fn socket_path(cli: &Cli) -> PathBuf {
    if let Some(p) = &cli.control_socket {
        return p.clone();
    }
    crate::pidfile::path(cli, Role::Parent).with_extension("sock")
}
