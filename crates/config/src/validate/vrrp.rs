// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Whole-configuration checks for the vrrp side.

use crate::diag::Diagnostics;
use crate::host::Host;
use crate::model::Config;

pub(super) fn check(cfg: &mut Config, host: &dyn Host, diags: &mut Diagnostics) {
    let _ = (cfg, host, diags);
}
