// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What goes into the node and what comes out: plain serde data, so a
//! scenario is a JSONL file of events and the expected JSONL of effects.

use serde::{Deserialize, Serialize};

use crate::fsm::event::{Action, RxAdvert, State};
use crate::fsm::params::InstanceParams;
use crate::node::owned::Owned;
use crate::node::process::CountCause;
use crate::node::track::{ScriptHealth, TrackUse};

/// Everything the node needs to know about one `vrrp_instance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceSpec {
    pub params: InstanceParams,
    /// The instance's own interface.
    pub interface: String,
    /// Its own interface going down is not a fault.
    #[serde(default)]
    pub dont_track_primary: bool,
    #[serde(default)]
    pub track_interface: Vec<TrackUse>,
    #[serde(default)]
    pub track_script: Vec<TrackUse>,
    #[serde(default)]
    pub track_file: Vec<TrackUse>,
    #[serde(default)]
    pub track_process: Vec<TrackUse>,
}

/// A `vrrp_sync_group`: instances (by name, in the configured order)
/// that change state together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncGroupSpec {
    pub name: String,
    pub members: Vec<String>,
}

/// An input to the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// Start instance `instance` (added by [`crate::node::Node::add_instance`]).
    Startup { instance: usize },
    /// A received advert that passed the receive checks, for `instance`
    /// (the shell demultiplexes by interface, family and VRID).
    Advert { instance: usize, advert: RxAdvert },
    /// `now` reached [`crate::node::Node::next_deadline`]; early or
    /// duplicate timers are harmless.
    Timer,
    /// A link changed; `up` is keepalived's IF_FLAGS_UP: administratively
    /// up *and* carrier (IFF_UP and IFF_RUNNING). A link deleted is down.
    Link { interface: String, up: bool },
    /// Whether `instance` has a source address for its adverts (none =
    /// FAULT until one appears).
    SourceAddress { instance: usize, present: bool },
    /// A script run ended: `ok` is exit code 0; any other code, a signal
    /// or the timeout is a failure.
    ScriptResult { script: String, ok: bool },
    /// A tracked file was (re)read and holds this value.
    FileValue { file: String, value: i64 },
    /// Someone else deleted `what` of `instance` from the kernel;
    /// `tracked` is false for a `no_track` object.
    Deleted {
        instance: usize,
        what: Owned,
        #[serde(default = "yes")]
        tracked: bool,
    },
    /// Instance `instance`'s link (its VMAC or one of its address VMACs)
    /// was deleted behind our back and the shell made it again: what was
    /// on it went with it.
    LinkRecreated { instance: usize },
    /// Someone else deleted a `static_ipaddress` (`Address`),
    /// `static_routes` or `static_rules` entry (`Route`/`Rule`: its index
    /// in the configured list); `tracked` is false for a `no_track` one.
    StaticDeleted {
        what: Owned,
        #[serde(default = "yes")]
        tracked: bool,
    },
    /// A `vrrp_track_process` now counts `count` matching processes.
    ProcessCount {
        process: String,
        count: u32,
        cause: CountCause,
    },
    /// Stop `instance` (deleted by a reload).
    Shutdown { instance: usize },
    /// Stop every instance (the process is exiting).
    ShutdownAll,
}

/// An output of the node, in the order the shell must carry them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// An action of instance `instance`'s state machine.
    Instance { instance: usize, action: Action },
    /// Start one run of the script (the shell enforces its timeout and
    /// answers with [`Event::ScriptResult`]).
    RunScript { script: String },
    /// A script's health changed (keepalived logs "VRRP_Script(NAME)
    /// succeeded|failed").
    ScriptHealth {
        script: String,
        health: ScriptHealth,
    },
    /// An instance's fault causes changed (for the log and the status
    /// view): the causes now active, empty when it recovered.
    FaultCauses {
        instance: usize,
        causes: Vec<FaultCause>,
    },
    /// A sync group entered `state`, after its members moved: the shell
    /// runs the group's `notify_<state>`, then its `notify` with
    /// `GROUP <name> <STATE> 0`, then writes the FIFO line
    /// `GROUP "<name>" <STATE> 0`.
    Group { group: String, state: State },
    /// Put back `what` of a MASTER `instance`, deleted by someone else;
    /// nothing else changes (see [`crate::node::owned`]).
    Restore { instance: usize, what: Owned },
    /// Put back the static entry `what`, deleted by someone else (see
    /// [`crate::node::owned`]).
    RestoreStatic { what: Owned },
    /// Interface `interface`, which carries tracked static addresses or
    /// routes, came back up: put them back on it (the kernel removed its
    /// routes, and IPv6 addresses, when it went down), as keepalived's
    /// `interface_up` does.
    RestoreStaticsOn { interface: String },
    /// A `vrrp_announce`'s routes go in (`up`) or out; `causes` say why
    /// it is not healthy (empty when up, or when removed or stopping).
    Announce {
        announce: String,
        up: bool,
        causes: Vec<FaultCause>,
    },
}

fn yes() -> bool {
    true
}

/// Why an instance is FAULT.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FaultCause {
    /// No address to send adverts from.
    NoSourceAddress,
    /// Its own interface is down (unless `dont_track_primary`).
    InterfaceDown(String),
    /// A weight-0 tracked interface is down (up, with `reverse`).
    TrackedInterface(String),
    /// A weight-0 script failed (succeeded, with `reverse`).
    Script(String),
    /// A weight-0 script has no result yet: keepalived holds the
    /// instance in FAULT until the first run ends, without notifying.
    ScriptPending(String),
    /// A tracked file's weighted value is at or below -254 (non-zero
    /// with weight 0).
    File(String),
    /// A weight-0 tracked process is out of its quorum (in it, with
    /// `reverse`).
    Process(String),
}
