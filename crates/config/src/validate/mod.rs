// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Checks that need the whole configuration (references between blocks,
//! values that depend on each other) or the host (interfaces, scripts).

mod announce;
mod lvs;
mod resolvers;
mod vrrp;

use crate::diag::Diagnostics;
use crate::host::Host;
use crate::model::Config;
use crate::security::{self, ScriptVerdict, Subsystem};
use crate::types::CommandUse;

/// Runs every whole-configuration check, adjusting `cfg` where keepalived
/// would (a value clamped, an unusable entry dropped) and reporting why.
/// Returns the script verdicts for the commands that will run, in the
/// order of `commands` (None for a command whose subsystem has no work).
pub fn run(
    cfg: &mut Config,
    commands: &[CommandUse],
    host: &dyn Host,
    diags: &mut Diagnostics,
) -> Vec<Option<ScriptVerdict>> {
    vrrp::check(cfg, host, diags);
    resolvers::check(cfg, diags);
    lvs::check(cfg, host, diags);
    announce::check(cfg, host, diags);
    announce::check_virtual_servers(cfg, host, diags);
    scripts(cfg, commands, host, diags)
}

/// Script security over the commands of the subsystems that will run:
/// keepalived checks a subsystem's scripts only when it has work, so a
/// `vrrp_script` with no `vrrp_instance` is never looked at.
fn scripts(
    cfg: &Config,
    commands: &[CommandUse],
    host: &dyn Host,
    diags: &mut Diagnostics,
) -> Vec<Option<ScriptVerdict>> {
    let (vrrp, checker) = (cfg.has_vrrp(), cfg.has_checker());
    let active: Vec<usize> = commands
        .iter()
        .enumerate()
        .filter(|(_, c)| match security::subsystem(&c.keyword) {
            Subsystem::Vrrp => vrrp,
            Subsystem::Checker => checker,
            Subsystem::Both => vrrp || checker,
        })
        .map(|(i, _)| i)
        .collect();
    let selected: Vec<CommandUse> = active
        .iter()
        .filter_map(|&i| commands.get(i).cloned())
        .collect();
    let g = &cfg.global_defs;
    let verdicts = security::check(
        &selected,
        g.enable_script_security,
        g.script_user.as_deref(),
        g.script_group.as_deref(),
        host,
        diags,
    );
    let mut out = vec![None; commands.len()];
    for (i, v) in active.into_iter().zip(verdicts) {
        if let Some(slot) = out.get_mut(i) {
            *slot = Some(v);
        }
    }
    out
}
