// SPDX-License-Identifier: Apache-2.0 OR MIT
//! From the configuration model to what the node tracks, with
//! keepalived's rules for per-use weights (`vrrp_track.c`
//! `alloc_track_script` and friends).

use std::time::Duration;

use keepalived_config::Config;
use keepalived_config::model::track::TrackRef;
use keepalived_config::model::vrrp::VrrpInstance;

use crate::fsm::params::{InstanceParams, ParamsError};
use crate::node::event::InstanceSpec;
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
    Ok(InstanceSpec {
        params,
        interface: i.interface.clone().unwrap_or_default(),
        dont_track_primary: i.dont_track_primary,
        track_interface,
        track_script,
        track_file,
    })
}

/// The scripts some instance tracks (keepalived drops unused ones).
pub fn scripts(cfg: &Config) -> Vec<ScriptParams> {
    cfg.vrrp_scripts
        .iter()
        .filter(|s| {
            cfg.vrrp_instances
                .iter()
                .any(|i| i.track_script.iter().any(|r| r.name == s.name))
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
