// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Prints the JSON snapshot of a configuration (what the supervisor sends
//! its children): `cargo run -p keepalived-config --example dump_json -- FILE`.

use std::path::Path;

use keepalived_config::{SystemHost, load_file, preprocess};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump_json FILE");
        std::process::exit(2);
    };
    let loaded = load_file(
        Path::new(&path),
        &preprocess::Options::default(),
        &SystemHost,
    );
    match serde_json::to_string_pretty(&loaded.config) {
        Ok(s) => println!("{s}"),
        Err(e) => {
            eprintln!("serialise: {e}");
            std::process::exit(1);
        }
    }
}
