// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Which configurations a daemon may start with, and which may replace a
//! running one.

use std::path::Path;

use keepalived_config::host::FakeHost;
use keepalived_config::preprocess::Options;

fn diagnostics(text: &str) -> keepalived_config::diag::Diagnostics {
    keepalived_config::load_str(
        Path::new("t.conf"),
        text,
        &Options::default(),
        &FakeHost::with_interfaces(&["eth0"]),
    )
    .diagnostics
}

const GOOD: &str = "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n}\n";

#[test]
fn a_clean_config_may_start_and_replace() {
    let d = diagnostics(GOOD);
    assert!(d.can_start() && d.can_replace_running(), "{d:?}");
}

#[test]
fn an_unbalanced_brace_may_start_but_not_replace() {
    let d = diagnostics(&format!("{GOOD}vrrp_instance broken {{\n"));
    assert!(d.can_start(), "keepalived starts with it (warnings only)");
    assert!(!d.can_replace_running());
}

#[test]
fn a_warning_alone_may_replace() {
    let d = diagnostics(&format!("{GOOD}global_defs {{\n  no_such_keyword 1\n}}\n"));
    assert!(!d.is_empty());
    assert!(d.can_start() && d.can_replace_running());
}

#[test]
fn a_missing_interface_may_do_neither() {
    let d = diagnostics("vrrp_instance VI_1 {\n interface eth9\n virtual_router_id 51\n}\n");
    assert!(!d.can_start() && !d.can_replace_running());
}
