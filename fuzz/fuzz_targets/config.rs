// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Preprocessor + grammar + reader + validation on arbitrary input: any
//! bytes must produce diagnostics, never a panic, a hang or a blow-up.
#![no_main]

use std::path::Path;

use keepalived_config::host::FakeHost;
use keepalived_config::preprocess::Options;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let opts = Options {
        config_id: "lb1".into(),
        random_seed: Some(1),
        ..Options::default()
    };
    let host = FakeHost { interfaces: vec!["eth0".into()], ..FakeHost::default() };
    // A directory that does not exist: relative includes find nothing.
    let loaded = keepalived_config::load_str(Path::new("/nonexistent-fuzz/keepalived.conf"), text, &opts, &host);
    let _ = loaded.diagnostics.config_test_exit_code();
    let _ = serde_json::to_string(&loaded.config);
});
