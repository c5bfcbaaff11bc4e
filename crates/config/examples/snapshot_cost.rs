// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Prints what loading a configuration costs, step by step, and the size
//! and cost of the JSON snapshot the supervisor sends its children:
//! `cargo run --release -p keepalived-config --example snapshot_cost -- FILE
//! [--load-only]`.

use std::path::Path;
use std::time::Instant;

use keepalived_config::{Config, SystemHost, load_file, preprocess};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: snapshot_cost FILE");
        std::process::exit(2);
    };
    let t = Instant::now();
    let loaded = load_file(
        Path::new(&path),
        &preprocess::Options::default(),
        &SystemHost,
    );
    let load = t.elapsed();
    let load_peak = peak_rss_kib();
    if std::env::args().nth(2).as_deref() == Some("--load-only") {
        println!(
            "load {:.1} ms (peak RSS {} KiB)",
            load.as_secs_f64() * 1e3,
            load_peak.map_or_else(|| "?".to_string(), |k| k.to_string())
        );
        return;
    }
    let t = Instant::now();
    let bytes = match serde_json::to_vec(&loaded.config) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("serialise: {e}");
            std::process::exit(1);
        }
    };
    let encode = t.elapsed();
    let t = Instant::now();
    let back: Result<Config, _> = serde_json::from_slice(&bytes);
    let decode = t.elapsed();
    println!(
        "load {:.1} ms (peak RSS {} KiB); JSON {} bytes, encode {:.1} ms, decode {:.1} ms ({})",
        load.as_secs_f64() * 1e3,
        load_peak.map_or_else(|| "?".to_string(), |k| k.to_string()),
        bytes.len(),
        encode.as_secs_f64() * 1e3,
        decode.as_secs_f64() * 1e3,
        if back.is_ok() { "ok" } else { "FAILED" }
    );
}

/// The process's peak resident set so far (Linux's VmHWM), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
