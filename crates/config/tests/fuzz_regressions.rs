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

/// A 1.1 kB input: a 7-line definition expanded by a `~SEQ` whose end
/// (355555555555555555555) saturates at 2^63 - 1. The expansion limits
/// stop it (a `Fatal` diagnostic), and what they stopped is not read:
/// the reader used to go on through every line produced until then
/// (a million instances; minutes in the fuzzer). Here with limits a
/// thousand times smaller, the same shape.
#[test]
fn a_limit_hit_stops_the_load_before_the_reader() {
    use keepalived_config::preprocess::Limits;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-seq-saturated.conf");
    let text = std::fs::read(&path).expect("fixture");
    let text = String::from_utf8_lossy(&text);
    let opts = Options {
        limits: Limits {
            max_lines: 10_000,
            max_output_bytes: 512 * 1024,
            max_work: 20_000,
        },
        ..Options::default()
    };
    let loaded = keepalived_config::load_str(
        Path::new("t.conf"),
        &text,
        &opts,
        &FakeHost::with_interfaces(&["eth0"]),
    );
    assert!(
        loaded
            .diagnostics
            .iter()
            .any(|d| d.message.contains("expands to too")),
        "no limit reported: {:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    assert!(!loaded.diagnostics.can_start());
    // Nothing the parser or the reader says: they never ran.
    let after: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| {
            !d.message.contains("expands to too")
                && d.category != keepalived_config::diag::Category::Info
        })
        .map(|d| format!("{:?}: {}", d.category, d.message))
        .collect();
    assert!(
        after.len() <= 2,
        "the lines produced before the limit were read: {} more diagnostics, first {:?}",
        after.len(),
        after.first()
    );
}

/// The same input with the daemon's own limits: the runaway `~SEQ` is
/// known after its first value (what one value produced, times the values
/// left, passes the limits) and stops there, instead of filling the
/// limits first (40 s and 3.4 GB for the release binary's `-t`).
#[test]
fn a_runaway_seq_stops_after_its_first_value() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz-seq-saturated.conf");
    let text = std::fs::read(&path).expect("fixture");
    stopped_fatally_saying(
        &String::from_utf8_lossy(&text),
        "this ~SEQ would produce about",
    );
}

/// Blocks opened by an expansion, 100 000 deep: the parser and the reader
/// recurse once per level and overflowed their stack (the fuzzer's
/// SIGSEGV, 2026-12-05). The preprocessor stops at 256 levels now.
#[test]
fn blocks_nested_past_the_limit_stop_the_load() {
    stopped_fatally_saying(
        "~SEQ(i,1,100000) vrrp_instance V {\n",
        "Blocks nested more than 256 deep",
    );
}

/// Loads `text` with the daemon's own limits: a diagnostic says `what`
/// and the configuration cannot start.
fn stopped_fatally_saying(text: &str, what: &str) {
    let loaded = keepalived_config::load_str(
        Path::new("t.conf"),
        text,
        &Options::default(),
        &FakeHost::with_interfaces(&["eth0"]),
    );
    let messages: Vec<&String> = loaded.diagnostics.iter().map(|d| &d.message).collect();
    assert!(
        messages.iter().any(|m| m.contains(what)),
        "no {what:?} in {messages:?}"
    );
    assert!(!loaded.diagnostics.can_start());
}
