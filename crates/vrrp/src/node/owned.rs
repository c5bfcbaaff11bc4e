// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What a MASTER instance owns in the kernel (its VIPs and eVIPs, its
//! virtual routes and rules), and what happens when someone deletes one
//! of them behind our back.
//!
//! keepalived 2.2.7 answers a deleted VIP, virtual route or virtual rule
//! of a MASTER by dropping to BACKUP (`set_vrrp_backup`): it sends a
//! priority-0 advert, removes everything it owns, and usually becomes
//! MASTER again within the same second, so one stray `ip addr del`
//! flaps the service and runs the notify scripts twice. We put the
//! deleted object back instead and change nothing else: no state
//! change, no advert, no notify (docs/compatibility.md).
//!
//! As in keepalived, `no_track` objects are not watched, and an
//! instance that is not MASTER owns nothing (its own removals arrive
//! here as deletions too, and must be ignored).
//!
//! A master's VMAC deleted behind its back is made again by the shell
//! (keepalived 2.2.7 does that too, through FAULT); the VIPs, routes and
//! rules that were on it are gone with it. Unlike keepalived the
//! instance does not pass through FAULT: it puts them back on the new
//! link and sends a GARP burst, as on becoming master, and stays master.
//! A backup owns nothing there and does nothing.
//!
//! `static_ipaddress`, `static_routes` and `static_rules` belong to no
//! instance: they are held whatever the states, so a tracked one deleted
//! by someone else is always put back (keepalived does the same).

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::core::Node;
use super::event::Effect;
use crate::fsm::{Action, GarpReason, State};

/// One object an instance installs while MASTER.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Owned {
    /// A VIP or eVIP.
    Address(IpAddr),
    /// The instance's `virtual_routes` entry at this index.
    Route(usize),
    /// The instance's `virtual_rules` entry at this index.
    Rule(usize),
}

impl Node {
    /// `what` of instance `idx` was deleted by someone else; `tracked`
    /// is false for a `no_track` object.
    pub(super) fn owned_deleted(
        &self,
        idx: usize,
        what: Owned,
        tracked: bool,
        out: &mut Vec<Effect>,
    ) {
        let master = self
            .instance(idx)
            .is_some_and(|f| f.state() == State::Master);
        if master && tracked {
            out.push(Effect::Restore {
                instance: idx,
                what,
            });
        }
    }

    /// Instance `idx`'s link was made again (see the module's words).
    pub(super) fn link_recreated(&self, idx: usize, out: &mut Vec<Effect>) {
        let Some(f) = self.instance(idx).filter(|f| f.state() == State::Master) else {
            return;
        };
        let rounds = f.params().garp.master_repeat;
        out.push(Effect::Instance {
            instance: idx,
            action: Action::AddVips,
        });
        out.push(Effect::Instance {
            instance: idx,
            action: Action::SendGarp {
                rounds,
                reason: GarpReason::LinkRecreated,
            },
        });
    }
}

/// A static entry was deleted by someone else; `tracked` is false for a
/// `no_track` one.
pub(super) fn static_deleted(what: Owned, tracked: bool, out: &mut Vec<Effect>) {
    if tracked {
        out.push(Effect::RestoreStatic { what });
    }
}
