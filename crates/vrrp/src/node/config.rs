// SPDX-License-Identifier: Apache-2.0 OR MIT
//! From the configuration model to what the node tracks, with
//! keepalived's rules for per-use weights (`vrrp_track.c`
//! `alloc_track_script` and friends).

use std::time::Duration;

use keepalived_config::Config;
use keepalived_config::model::sync_group::SyncGroup;
use keepalived_config::model::track::{ParamMatch as ConfParamMatch, TrackRef};
use keepalived_config::model::vrrp::VrrpInstance;
use keepalived_config::types::Timer;

use crate::fsm::params::{InstanceParams, ParamsError};
use crate::fsm::priority::PRIO_OWNER;
use crate::node::announce::AnnounceSpec;
use crate::node::event::{InstanceSpec, SyncGroupSpec};
use crate::node::process::{ParamMatch, ProcessParams};
use crate::node::track::{ScriptParams, TrackUse};

/// keepalived turns a weight of ±254 into ±253 ("cannot be +/-254").
fn clamp_weight(w: i32) -> i32 {
    w.clamp(-253, 253)
}

/// A use of an object whose own weight and reverse are `(w, rev)`: a
/// per-use `weight` replaces the weight; `reverse` after it applies.
fn use_of(r: &TrackRef, own_weight: i32, own_reverse: bool) -> TrackUse {
    TrackUse {
        name: r.name.clone(),
        weight: r.weight.unwrap_or(own_weight),
        // The model does not tell `noreverse` from nothing: a per-use
        // `noreverse` on a `reverse` object is read as reverse.
        reverse: own_reverse || r.reverse,
    }
}

/// The node's view of a `vrrp_instance`. Tracked scripts and files that
/// the configuration does not define are left out (validation already
/// said so).
pub fn instance_spec(i: &VrrpInstance, cfg: &Config) -> Result<InstanceSpec, ParamsError> {
    let params = InstanceParams::from_config(i, &cfg.global_defs)?;
    let track_interface = i
        .track_interface
        .iter()
        .map(|r| {
            let mut u = use_of(r, 0, false);
            u.weight = clamp_weight(u.weight);
            u
        })
        .collect();
    let track_script = i
        .track_script
        .iter()
        .filter_map(|r| {
            let s = cfg.vrrp_scripts.iter().find(|s| s.name == r.name)?;
            let mut u = use_of(r, s.weight, s.weight_reverse);
            u.weight = clamp_weight(u.weight);
            Some(u)
        })
        .collect();
    let track_file = i
        .track_file
        .iter()
        .filter_map(|r| {
            let f = cfg.track_files.iter().find(|f| f.name == r.name)?;
            Some(use_of(r, f.weight, f.weight_reverse))
        })
        .collect();
    let track_process = i
        .track_process
        .iter()
        .filter_map(|r| {
            let p = cfg.track_processes.iter().find(|p| p.name == r.name)?;
            let mut u = use_of(r, p.weight, p.weight_reverse);
            u.weight = clamp_weight(u.weight);
            Some(u)
        })
        .collect();
    let mut spec = InstanceSpec {
        params,
        interface: i.interface.clone().unwrap_or_default(),
        dont_track_primary: i.dont_track_primary,
        track_interface,
        track_script,
        track_file,
        track_process,
    };
    if let Some(g) = cfg.sync_groups.iter().find(|g| g.group.contains(&i.name)) {
        in_sync_group(&mut spec, g, cfg);
    }
    spec.track_interface
        .extend(crate::node::static_track::uses(&i.name, cfg));
    Ok(spec)
}

/// keepalived's rules for a sync group member (`vrrp_complete_instance`,
/// `sync_group_tracking_init`): without `sync_group_tracking_weight` its
/// (or the deprecated `global_tracking`) its
/// own weighted tracking is not allowed (an interface's weight becomes
/// 0, a weighted script is dropped, a file's default weight 1 becomes 0
/// and another weight drops it), so any failure faults the group; the
/// group's own tracked objects apply to every member with their weights,
/// cleared when a member is an address owner.
fn in_sync_group(spec: &mut InstanceSpec, g: &SyncGroup, cfg: &Config) {
    // `global_tracking` (deprecated) is keepalived's old name for it.
    if !(g.sync_group_tracking_weight || g.global_tracking) {
        for u in &mut spec.track_interface {
            u.weight = 0;
        }
        spec.track_script.retain(|u| u.weight == 0);
        spec.track_process.retain(|u| u.weight == 0);
        spec.track_file.retain_mut(|u| match u.weight {
            1 => {
                u.weight = 0;
                true
            }
            w => w == 0,
        });
    }
    let owner_member = cfg
        .vrrp_instances
        .iter()
        .filter(|i| g.group.contains(&i.name))
        .any(|i| i.priority == PRIO_OWNER);
    let weight = |w: i32| if owner_member { 0 } else { clamp_weight(w) };
    for r in &g.track_interface {
        let mut u = use_of(r, 0, false);
        u.weight = weight(u.weight);
        spec.track_interface.push(u);
    }
    for r in &g.track_script {
        if let Some(s) = cfg.vrrp_scripts.iter().find(|s| s.name == r.name) {
            let mut u = use_of(r, s.weight, s.weight_reverse);
            u.weight = weight(u.weight);
            spec.track_script.push(u);
        }
    }
    for r in &g.track_process {
        if let Some(p) = cfg.track_processes.iter().find(|p| p.name == r.name) {
            let mut u = use_of(r, p.weight, p.weight_reverse);
            u.weight = weight(u.weight);
            spec.track_process.push(u);
        }
    }
    for r in &g.track_file {
        if let Some(f) = cfg.track_files.iter().find(|f| f.name == r.name) {
            let mut u = use_of(r, f.weight, f.weight_reverse);
            if owner_member {
                u.weight = 0;
            }
            spec.track_file.push(u);
        }
    }
}

/// The sync groups as the node sees them (validation already dropped
/// unknown and duplicate members and empty groups).
pub fn sync_groups(cfg: &Config) -> Vec<SyncGroupSpec> {
    cfg.sync_groups
        .iter()
        .map(|g| SyncGroupSpec {
            name: g.name.clone(),
            members: g.group.clone(),
        })
        .collect()
}

/// The scripts some instance tracks (keepalived drops unused ones).
pub fn scripts(cfg: &Config) -> Vec<ScriptParams> {
    cfg.vrrp_scripts
        .iter()
        .filter(|s| {
            let used = |refs: &[TrackRef]| refs.iter().any(|r| r.name == s.name);
            cfg.vrrp_instances.iter().any(|i| used(&i.track_script))
                || cfg.sync_groups.iter().any(|g| used(&g.track_script))
                || cfg.announces.iter().any(|a| used(&a.track_script))
        })
        .map(|s| ScriptParams {
            name: s.name.clone(),
            interval: Duration::from_secs(u64::from(s.interval.max(1))),
            rise: s.rise.max(1),
            fall: s.fall.max(1),
            init_fail: s.init_fail,
        })
        .collect()
}

/// The tracked processes some instance or group uses, with keepalived's
/// defaults: parameters, `param_match` or `full_command` compare the
/// command line (exactly unless `param_match` says otherwise);
/// `quorum_max 0` means the process must not run at all; `delay` sets
/// both delays.
pub fn processes(cfg: &Config) -> Vec<ProcessParams> {
    cfg.track_processes
        .iter()
        .filter(|p| {
            let used = |refs: &[TrackRef]| refs.iter().any(|r| r.name == p.name);
            cfg.vrrp_instances.iter().any(|i| used(&i.track_process))
                || cfg.sync_groups.iter().any(|g| used(&g.track_process))
                || cfg.announces.iter().any(|a| used(&a.track_process))
        })
        .filter_map(|p| {
            let (path, params) = p.process.split_first()?;
            let param_match = match p.param_match {
                ConfParamMatch::Initial => ParamMatch::Initial,
                ConfParamMatch::Partial => ParamMatch::Partial,
                ConfParamMatch::Full if params.is_empty() => ParamMatch::None,
                ConfParamMatch::Full => ParamMatch::Exact,
            };
            let full_command = p.full_command || param_match != ParamMatch::None;
            let quorum_max = p.quorum_max.unwrap_or(u32::MAX);
            let quorum = if quorum_max == 0 { 0 } else { p.quorum };
            let micros = |t: Option<Timer>| Duration::from_micros(t.map_or(0, |t| t.as_micros()));
            Some(ProcessParams {
                name: p.name.clone(),
                path: path.clone(),
                params: params.to_vec(),
                param_match,
                full_command,
                quorum,
                quorum_max,
                fork_delay: micros(p.fork_delay.or(p.delay)),
                terminate_delay: micros(p.terminate_delay.or(p.delay)),
            })
        })
        .collect()
}

/// The node's view of the `vrrp_announce` blocks: every use is a
/// condition, so weights are 0 whatever the object's own weight; a
/// per-use or object `reverse` still turns it around.
pub fn announces(cfg: &Config) -> Vec<AnnounceSpec> {
    let cond = |r: &TrackRef, own_reverse: bool| TrackUse {
        name: r.name.clone(),
        weight: 0,
        reverse: own_reverse || r.reverse,
    };
    cfg.announces
        .iter()
        .map(|a| AnnounceSpec {
            name: a.name.clone(),
            track_interface: a.track_interface.iter().map(|r| cond(r, false)).collect(),
            track_script: a
                .track_script
                .iter()
                .filter_map(|r| {
                    let s = cfg.vrrp_scripts.iter().find(|s| s.name == r.name)?;
                    Some(cond(r, s.weight_reverse))
                })
                .collect(),
            track_file: a
                .track_file
                .iter()
                .filter_map(|r| {
                    let f = cfg.track_files.iter().find(|f| f.name == r.name)?;
                    Some(cond(r, f.weight_reverse))
                })
                .collect(),
            track_process: a
                .track_process
                .iter()
                .filter_map(|r| {
                    let p = cfg.track_processes.iter().find(|p| p.name == r.name)?;
                    Some(cond(r, p.weight_reverse))
                })
                .collect(),
            drain: a.drain_delay.as_duration(),
        })
        .collect()
}
