// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Notify scripts and FIFO lines for state changes (inventory §B.5).
//!
//! Per transition, in this order: the state's own script
//! (`notify_master|backup|fault|stop`, exactly the configured argv),
//! then `notify` with `INSTANCE <name> <STATE> <priority>` appended, then
//! the line `INSTANCE "<name>" <STATE> <priority>` on every configured
//! FIFO. Scripts are started (by `keepalived_sys::script`: own process
//! group, stdio on /dev/null, killed by the supervisor if this child dies
//! without stopping), never waited for, by the engine; their exit is
//! reaped by a task. So, as with keepalived, only the FIFO lines are
//! ordered between transitions; the scripts of one transition are
//! *started* in order.

use std::path::Path;

use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::sync_group::SyncGroup;
use keepalived_config::model::vrrp::VrrpInstance;
use keepalived_sys::fifo::{FifoWrite, NotifyFifo};
use keepalived_vrrp::fsm::State;
use tokio::task::JoinHandle;

use crate::child::script::spawn;

/// keepalived's word for a state in notify arguments and FIFO lines.
pub fn state_word(s: State) -> &'static str {
    match s {
        State::Init => "INIT",
        State::Backup => "BACKUP",
        State::Master => "MASTER",
        State::Fault => "FAULT",
        State::Stop => "STOP",
    }
}

#[derive(Debug, Default)]
pub struct Notifier {
    fifos: Vec<NotifyFifo>,
    /// `vrrp_notify_priority_changes`: the default of each instance's
    /// `notify_priority_changes`.
    priority_changes: bool,
}

impl Notifier {
    /// Opens the configured FIFOs; ones already open stay open (a reader
    /// keeps its pipe across a reload), ones no longer configured close.
    pub fn reconfigure(&mut self, g: &GlobalDefs) {
        self.priority_changes = g.vrrp_notify_priority_changes.unwrap_or(false);
        let mut paths: Vec<&str> = [&g.notify_fifo, &g.vrrp_notify_fifo]
            .into_iter()
            .flatten()
            .map(|f| f.path.as_str())
            .collect();
        paths.dedup();
        let mut old = std::mem::take(&mut self.fifos);
        for path in paths {
            if let Some(pos) = old.iter().position(|f| f.path() == Path::new(path)) {
                self.fifos.push(old.swap_remove(pos));
                continue;
            }
            match NotifyFifo::open(Path::new(path)) {
                Ok(f) => self.fifos.push(f),
                Err(e) => tracing::warn!("cannot open notify FIFO {path}: {e}"),
            }
        }
    }

    /// Runs the hooks of a transition to `to`; returns the started
    /// scripts so that shutdown can wait for `notify_stop`.
    pub fn state_changed(
        &mut self,
        i: &VrrpInstance,
        to: State,
        priority: u8,
    ) -> Vec<JoinHandle<()>> {
        let specific = match to {
            State::Master => i.notify_master.as_ref(),
            State::Backup => i.notify_backup.as_ref(),
            State::Fault => i.notify_fault.as_ref(),
            State::Stop => i.notify_stop.as_ref(),
            State::Init => None,
        };
        let word = state_word(to);
        let mut started = Vec::new();
        if to == State::Init {
            return started;
        }
        if let Some(cmd) = specific {
            started.extend(spawn(cmd, &[]));
        }
        if let Some(cmd) = &i.notify {
            let extra = [
                "INSTANCE".to_owned(),
                i.name.clone(),
                word.to_owned(),
                priority.to_string(),
            ];
            started.extend(spawn(cmd, &extra));
        }
        self.fifo(&format!("INSTANCE \"{}\" {word} {priority}\n", i.name));
        started
    }

    /// A sync group entered `to`: its `notify_<state>`, then `notify`
    /// with `GROUP <name> <STATE> 0`, then the FIFO line (a group's
    /// priority is always 0 for keepalived).
    pub fn group_changed(&mut self, g: &SyncGroup, to: State) -> Vec<JoinHandle<()>> {
        let specific = match to {
            State::Master => g.notify_master.as_ref(),
            State::Backup => g.notify_backup.as_ref(),
            State::Fault => g.notify_fault.as_ref(),
            State::Stop => g.notify_stop.as_ref(),
            State::Init => return Vec::new(),
        };
        let word = state_word(to);
        let mut started = Vec::new();
        if let Some(cmd) = specific {
            started.extend(spawn(cmd, &[]));
        }
        if let Some(cmd) = &g.notify {
            let extra = [
                "GROUP".to_owned(),
                g.name.clone(),
                word.to_owned(),
                "0".to_owned(),
            ];
            started.extend(spawn(cmd, &extra));
        }
        self.fifo(&format!("GROUP \"{}\" {word} 0\n", g.name));
        started
    }

    /// As master, a lower-priority advert arrived.
    pub fn master_rx_lower(&mut self, i: &VrrpInstance, priority: u8) {
        if let Some(cmd) = &i.notify_master_rx_lower_pri {
            let _ = spawn(cmd, &[]);
        }
        self.fifo(&format!(
            "INSTANCE \"{}\" MASTER_RX_LOWER_PRI {priority}\n",
            i.name
        ));
    }

    /// The effective priority changed (`notify_priority_changes`; a sync
    /// group's sets it for every member).
    pub fn priority_changed(
        &mut self,
        i: &VrrpInstance,
        group: Option<&SyncGroup>,
        state: State,
        priority: u8,
    ) {
        let by_group = group.is_some_and(|g| g.notify_priority_changes);
        if !by_group && !i.notify_priority_changes.unwrap_or(self.priority_changes) {
            return;
        }
        let what = match state {
            State::Master => "MASTER_PRIORITY",
            State::Backup => "BACKUP_PRIORITY",
            _ => return,
        };
        self.fifo(&format!("INSTANCE \"{}\" {what} {priority}\n", i.name));
    }

    /// Writes one line to every FIFO without blocking: a full pipe
    /// loses the line (logged at debug), as a slow reader must not stall
    /// the protocol.
    fn fifo(&mut self, line: &str) {
        for f in &mut self.fifos {
            match f.write_line(line) {
                Ok(FifoWrite::Written) => {}
                Ok(lost) => tracing::debug!("notify FIFO {}: line {lost:?}", f.path().display()),
                Err(e) => tracing::debug!("notify FIFO {}: {e}", f.path().display()),
            }
        }
    }
}
