// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `keepalived-rs`: the keepalived-compatible command line.

mod child;
mod cli;
mod config_test;
mod control;
mod dump;
mod kept_frame;
mod logging;
mod metrics;
mod notify;
mod pidfile;
mod proto;
mod sigs;
mod stall;
mod supervisor;
mod unsupported;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

/// keepalived's exit codes (inventory §B.3).
pub mod exit {
    pub const OK: u8 = 0;
    pub const FATAL: u8 = 1;
    pub const CONFIG: u8 = 2;
    pub const MISSING_PERMISSION: u8 = 4;
    pub const NO_CONFIG: u8 = 6;
    pub const PROGRAM: u8 = 70;
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // A child started by the supervisor: the hidden first argument says
    // which; the rest is the supervisor's own command line.
    let child = args
        .get(1)
        .and_then(|a| a.to_str())
        .and_then(child::Kind::from_arg);
    if child.is_some() {
        args.remove(1);
    }
    // keepalived-rs additions: `status`, `reload`, `stop` talk to a
    // running daemon over its control socket.
    if child.is_none()
        && let Some(cmd) = args
            .get(1)
            .and_then(|a| a.to_str())
            .and_then(control::client::command_of)
    {
        return ExitCode::from(control::client::run(cmd, &args));
    }
    // keepalived: invoked as `genhash`, or -T as the first option,
    // switches to genhash before any other parsing.
    let prog = args
        .first()
        .map(|a| a.to_string_lossy().into_owned())
        .unwrap_or_default();
    if child.is_none()
        && std::path::Path::new(&prog)
            .file_name()
            .is_some_and(|n| n == "genhash")
    {
        return ExitCode::from(keepalived_probe::genhash::main(&prog, true, &args[1..]));
    }
    if child.is_none() && args.get(1).is_some_and(|a| a == "-T" || a == "--genhash") {
        return ExitCode::from(keepalived_probe::genhash::main(&prog, false, &args[2..]));
    }
    let cli = match Cli::try_parse_from(cli::normalize_args(args.clone())) {
        Ok(cli) => cli,
        Err(e) => {
            // keepalived names the offending option and exits 1.
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid command line");
            eprintln!("{}", first.trim_start_matches("error: "));
            eprintln!("Try 'keepalived-rs --help' for the list of options.");
            return ExitCode::from(exit::FATAL);
        }
    };
    if let Some(kind) = child {
        return ExitCode::from(child::run(&cli, kind));
    }
    if cli.help {
        eprint!("{}", cli::HELP);
        return ExitCode::from(exit::OK);
    }
    if cli.version {
        eprintln!(
            "keepalived-rs v{} (compatible with Keepalived v2.2.7)",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::from(exit::OK);
    }
    if let Some(name) = &cli.signum {
        return match cli::signum(name) {
            Some(n) => {
                println!("{n}");
                ExitCode::from(exit::OK)
            }
            None => {
                eprintln!("Unknown sigfunc {name}");
                ExitCode::from(exit::FATAL)
            }
        };
    }
    if !cli.extra.is_empty() {
        eprintln!("Unexpected argument(s): {}", cli.extra.join(" "));
    }
    if let Some(log) = &cli.config_test {
        return ExitCode::from(config_test::run(&cli, log));
    }
    let _ = std::io::stdout().flush();
    ExitCode::from(supervisor::run(cli, args))
}
