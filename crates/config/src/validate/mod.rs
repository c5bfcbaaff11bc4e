// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Checks that need the whole configuration (references between blocks,
//! values that depend on each other) or the host (interfaces, scripts).

mod lvs;
mod vrrp;

use crate::diag::Diagnostics;
use crate::host::Host;
use crate::model::Config;
use crate::types::CommandUse;

/// Runs every whole-configuration check, adjusting `cfg` where keepalived
/// would (a value clamped, an unusable entry dropped) and reporting why.
pub fn run(cfg: &mut Config, commands: &[CommandUse], host: &dyn Host, diags: &mut Diagnostics) {
    vrrp::check(cfg, host, diags);
    lvs::check(cfg, host, diags);
    let _ = commands;
}
