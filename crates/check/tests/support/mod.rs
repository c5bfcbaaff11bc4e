// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the pool, desired-table and DNS-change tests share.

use std::path::Path;

use keepalived_config::host::FakeHost;
use keepalived_config::model::Config;
use keepalived_config::preprocess::Options;

/// A configuration the tests write, loaded as the daemon loads it (one
/// `eth0`); a fatal diagnostic fails the test.
pub fn load(text: &str) -> Config {
    let loaded = keepalived_config::load_str(
        Path::new("t.conf"),
        text,
        &Options::default(),
        &FakeHost::with_interfaces(&["eth0"]),
    );
    assert!(
        !loaded.diagnostics.has_fatal(),
        "config rejected: {:?}",
        loaded.diagnostics.iter().collect::<Vec<_>>()
    );
    loaded.config
}
