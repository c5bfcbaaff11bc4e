// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The instance parameters the state machine needs, and their mapping
//! from the configuration model with keepalived's defaults.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::vrrp::{State as ConfState, VrrpInstance};
use serde::{Deserialize, Serialize};

use crate::fsm::priority::PRIO_OWNER;
use crate::fsm::time::{TIMER_CENTI_HZ, TIMER_HZ, micros};
use crate::packet::Version;

/// `state MASTER|BACKUP` in the configuration (keepalived's `wantstate`
/// at startup).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum InitialState {
    Master,
    #[default]
    Backup,
}

/// The gratuitous ARP / NA schedule (inventory §C.5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct GarpParams {
    /// Delay of the second burst after becoming master; zero = none.
    pub master_delay: Duration,
    /// Rounds per burst on becoming master.
    pub master_repeat: u32,
    /// Refresh period while master; zero = no refresh.
    pub master_refresh: Duration,
    pub master_refresh_repeat: u32,
    /// Delay of the second burst after a lower-priority advert; zero = none.
    pub lower_prio_delay: Duration,
    /// Rounds sent when a lower-priority advert arrives; zero = none.
    pub lower_prio_repeat: u32,
}

impl Default for GarpParams {
    /// keepalived's built-in defaults (5 rounds, second burst after 5 s,
    /// no refresh).
    fn default() -> Self {
        Self {
            master_delay: Duration::from_secs(5),
            master_repeat: 5,
            master_refresh: Duration::ZERO,
            master_refresh_repeat: 1,
            lower_prio_delay: Duration::from_secs(5),
            lower_prio_repeat: 5,
        }
    }
}

/// Missing fields take keepalived's defaults when deserialized (so a
/// scenario names only what it needs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InstanceParams {
    pub name: String,
    pub vrid: u8,
    pub version: Version,
    /// Configured (base) priority; 255 = address owner.
    pub priority: u8,
    /// Our advertisement interval (v2: whole seconds, v3: centiseconds).
    pub advert_int: Duration,
    pub initial_state: InitialState,
    pub nopreempt: bool,
    /// Zero = preempt at once.
    pub preempt_delay: Duration,
    /// Our advert source address, for the equal-priority tie-break. None
    /// until the shell knows the interface's primary address; the
    /// tie-break then treats the addresses as equal, like keepalived.
    pub src_addr: Option<IpAddr>,
    /// Adverts missed before a backup takes over (3).
    pub down_timer_adverts: u32,
    /// As master, do not answer a lower-priority advert with our own.
    pub lower_prio_no_advert: bool,
    /// As master, send one advert before yielding to a higher priority.
    pub higher_prio_send_advert: bool,
    pub garp: GarpParams,
    /// `vrrp_startup_delay`: backups start counting their first
    /// master-down interval this long after the machine's epoch.
    pub startup_delay: Duration,
}

impl Default for InstanceParams {
    fn default() -> Self {
        Self {
            name: String::new(),
            vrid: 1,
            version: Version::V2,
            priority: 100,
            advert_int: Duration::from_secs(1),
            initial_state: InitialState::Backup,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            src_addr: None,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            garp: GarpParams::default(),
            startup_delay: Duration::ZERO,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParamsError {
    /// `virtual_router_id` is missing (validation reports it first).
    MissingVrid { instance: String },
}

impl fmt::Display for ParamsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamsError::MissingVrid { instance } => {
                write!(f, "({instance}) the virtual router id must be set")
            }
        }
    }
}

impl std::error::Error for ParamsError {}

impl InstanceParams {
    /// Maps a validated `vrrp_instance` plus `global_defs`, applying the
    /// defaults keepalived's `vrrp_complete_instance` applies. The
    /// corrections validation already made (interval rounding, preempt
    /// conflicts) are re-applied so unvalidated input still gives a sane
    /// machine.
    pub fn from_config(i: &VrrpInstance, g: &GlobalDefs) -> Result<Self, ParamsError> {
        let vrid =
            i.virtual_router_id
                .filter(|v| *v != 0)
                .ok_or_else(|| ParamsError::MissingVrid {
                    instance: i.name.clone(),
                })?;
        let version = if i.is_ipv6() || i.version.unwrap_or(g.vrrp_version) == 3 {
            Version::V3
        } else {
            Version::V2
        };
        let strict = i.strict_mode.unwrap_or(g.vrrp_strict);
        let priority = i.priority.max(1);
        let initial_state = match i.state {
            ConfState::Master => InitialState::Master,
            ConfState::Backup => InitialState::Backup,
        };
        let nopreempt =
            i.nopreempt && priority != PRIO_OWNER && initial_state != InitialState::Master;
        let preempt_delay = if initial_state == InitialState::Master || strict || nopreempt {
            Duration::ZERO
        } else {
            i.preempt_delay.as_duration()
        };
        let lower_prio_no_advert = strict
            || i.lower_prio_no_advert
                .or(g.vrrp_lower_prio_no_advert)
                .unwrap_or(false);
        let higher_prio_send_advert = !strict
            && i.higher_prio_send_advert
                .or(g.vrrp_higher_prio_send_advert)
                .unwrap_or(false);
        Ok(Self {
            name: i.name.clone(),
            vrid,
            version,
            priority,
            advert_int: round_advert_int(version, i.advert_int.as_duration()),
            initial_state,
            nopreempt,
            preempt_delay,
            src_addr: i.src_ip(),
            down_timer_adverts: u32::from(
                i.down_timer_adverts
                    .unwrap_or(g.vrrp_down_timer_adverts)
                    .max(1),
            ),
            lower_prio_no_advert,
            higher_prio_send_advert,
            garp: garp_params(i, g, strict),
            startup_delay: g
                .vrrp_startup_delay
                .map(|t| t.as_duration())
                .unwrap_or_default(),
        })
    }
}

/// Global GARP values after `vrrp_min_garp`, which (like keepalived)
/// only replaces values still at their defaults.
fn global_garp(g: &GlobalDefs) -> (u32, u32, u32, u32) {
    let mut delay = g.vrrp_garp_master_delay;
    let mut repeat = g.vrrp_garp_master_repeat;
    let mut refresh = g.vrrp_garp_master_refresh;
    let mut refresh_repeat = g.vrrp_garp_master_refresh_repeat;
    if g.vrrp_min_garp {
        if repeat == 5 {
            repeat = 1;
        }
        refresh = 0;
        if refresh_repeat == 1 {
            refresh_repeat = 0;
        }
        if delay == 5 {
            delay = 0;
        }
    }
    (delay, repeat, refresh, refresh_repeat)
}

fn garp_params(i: &VrrpInstance, g: &GlobalDefs, strict: bool) -> GarpParams {
    let secs = |s: u32| Duration::from_secs(u64::from(s));
    let (delay, repeat, refresh, refresh_repeat) = global_garp(g);
    let lower_prio_repeat = if strict {
        0
    } else {
        i.garp_lower_prio_repeat
            .or(g.vrrp_garp_lower_prio_repeat)
            .unwrap_or(repeat)
    };
    let lower_prio_delay = if strict {
        0
    } else {
        i.garp_lower_prio_delay
            .or(g.vrrp_garp_lower_prio_delay)
            .unwrap_or(delay)
    };
    GarpParams {
        master_delay: secs(i.garp_master_delay.unwrap_or(delay)),
        master_repeat: i.garp_master_repeat.unwrap_or(repeat),
        master_refresh: secs(i.garp_master_refresh.unwrap_or(refresh)),
        master_refresh_repeat: i.garp_master_refresh_repeat.unwrap_or(refresh_repeat),
        lower_prio_delay: secs(lower_prio_delay),
        lower_prio_repeat,
    }
}

/// keepalived's interval rules: v2 whole seconds in 1..=255 (rounded to
/// nearest), v3 centiseconds in 1..=4095.
fn round_advert_int(version: Version, d: Duration) -> Duration {
    let us = micros(d);
    let (unit, max_units) = match version {
        Version::V2 => (TIMER_HZ, 255),
        Version::V3 => (TIMER_CENTI_HZ, 4095),
    };
    let units = (us.saturating_add(unit / 2) / unit).clamp(1, max_units);
    Duration::from_micros(units * unit)
}
