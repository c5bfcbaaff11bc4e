// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Inputs the fuzzer found slow or crashing, kept so they stay fixed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use keepalived_config::host::FakeHost;
use keepalived_config::preprocess::Options;

/// A recursive multi-line definition inside ~SEQ: every leaf of its
/// expansion tree used to report "nested too deeply", 10 million times
/// (49 s for 1.5 KB). One report per top-level line now.
#[test]
fn recursive_expansion_is_reported_once_and_fast() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-recursive-expansion.conf");
    let text = std::fs::read(&path).expect("fixture");
    let text = String::from_utf8_lossy(&text);
    let t = Instant::now();
    let loaded = keepalived_config::load_str(
        Path::new("t.conf"),
        &text,
        &Options::default(),
        &FakeHost::with_interfaces(&["eth0"]),
    );
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "took {:?}",
        t.elapsed()
    );
    let deep = loaded
        .diagnostics
        .iter()
        .filter(|d| d.message.contains("nested too deeply"))
        .count();
    assert!((1..=8).contains(&deep), "{deep} nesting reports");
}
