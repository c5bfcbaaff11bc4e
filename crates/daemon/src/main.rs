// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `keepalived-rs`: the keepalived-compatible command line.

mod cli;
mod config_test;

use std::ffi::OsString;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;

/// keepalived's exit codes (inventory §B.3).
pub mod exit {
    pub const OK: u8 = 0;
    pub const FATAL: u8 = 1;
}

fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    // keepalived: -T must be the first option and switches to genhash.
    if args.get(1).is_some_and(|a| a == "-T" || a == "--genhash") {
        eprintln!(
            "keepalived-rs: genhash mode arrives with the health checkers; not implemented yet"
        );
        return ExitCode::from(exit::FATAL);
    }
    let cli = match Cli::try_parse_from(cli::normalize_args(args)) {
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
    if cli.dump_conf {
        let code = config_test::dump(&cli);
        if code != 0 {
            return ExitCode::from(code);
        }
    }
    let _ = std::io::stdout().flush();
    eprintln!(
        "keepalived-rs: the daemon (supervisor, VRRP and checker children) is not implemented yet; \
         use -t to test a configuration or -d to dump it"
    );
    ExitCode::from(exit::FATAL)
}
