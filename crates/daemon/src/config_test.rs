// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `-t` (test the configuration) and `-d` (dump what was understood).

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;

use keepalived_config::preprocess::Options;
use keepalived_config::{Loaded, SystemHost, load_file};

use crate::cli::Cli;

/// The host name up to its first dot: keepalived's default config id.
fn node_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    name.trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

fn preprocess_options(cli: &Cli) -> Options {
    Options {
        config_id: cli.config_id.clone().unwrap_or_else(node_name),
        all_config: cli.all_config,
        random_seed: None,
        instance: cli.config_id.clone().unwrap_or_default(),
        ..Options::default()
    }
}

/// Reads, preprocesses and validates the configuration file of `cli`
/// (shared by `-t` and the daemon's start and reload).
pub fn load(cli: &Cli) -> Loaded {
    load_file(&cli.config_file(), &preprocess_options(cli), &SystemHost)
}

/// Which children `-P` / `-C` leave to run (both without either).
pub fn children(cli: &Cli) -> (bool, bool) {
    let only = cli.vrrp || cli.check;
    (!only || cli.vrrp, !only || cli.check)
}

/// Runs `-t`: every diagnostic to stderr (or to `log`), keepalived's exit
/// code; with `-d`, the model as JSON on stdout as well.
pub fn run(cli: &Cli, log: &str) -> u8 {
    let loaded = load(cli);
    let mut diagnostics = loaded.diagnostics.clone();
    let (vrrp, checker) = children(cli);
    let mut notes = crate::unsupported::for_command_line(cli);
    notes.extend(crate::unsupported::for_children(
        &loaded.config,
        vrrp,
        checker,
    ));
    crate::unsupported::add_to(&mut diagnostics, &notes);
    let mut text = String::new();
    for d in diagnostics.iter() {
        text.push_str(&d.to_string());
        text.push('\n');
    }
    if log.is_empty() {
        eprint!("{text}");
    } else {
        // keepalived creates the report file private to root.
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(log)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            eprintln!("cannot write the config test report to {log}: {e}");
            eprint!("{text}");
        }
    }
    if cli.dump_conf {
        print_json(&loaded);
    }
    u8::try_from(diagnostics.config_test_exit_code()).unwrap_or(1)
}

/// The model as pretty JSON on stdout (`-d`).
pub fn print_json(loaded: &Loaded) {
    match keepalived_config::types::with_every_field(|| {
        serde_json::to_string_pretty(&loaded.config)
    }) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("cannot serialize the configuration: {e}"),
    }
}
