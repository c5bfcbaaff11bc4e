// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Notify scripts and FIFO lines for state changes (inventory §B.5).
//!
//! Per transition, in this order: the state's own script
//! (`notify_master|backup|fault|stop`, exactly the configured argv),
//! then `notify` with `INSTANCE <name> <STATE> <priority>` appended, then
//! the line `INSTANCE "<name>" <STATE> <priority>` on every configured
//! FIFO. Scripts are started, never waited for, by the engine (each in
//! its own process group, stdio on /dev/null); their exit is reaped by a
//! task. So, as with keepalived, only the FIFO lines are ordered between
//! transitions; the scripts of one transition are *started* in order.

use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::Stdio;

use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::vrrp::VrrpInstance;
use keepalived_config::types::Command;
use keepalived_vrrp::fsm::State;
use tokio::task::JoinHandle;

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
    fifos: Vec<String>,
}

impl Notifier {
    pub fn from_config(g: &GlobalDefs) -> Self {
        let mut fifos: Vec<String> = [&g.notify_fifo, &g.vrrp_notify_fifo]
            .into_iter()
            .flatten()
            .map(|f| f.path.clone())
            .collect();
        fifos.dedup();
        Self { fifos }
    }

    /// Runs the hooks of a transition to `to`; returns the started
    /// scripts so that shutdown can wait for `notify_stop`.
    pub fn state_changed(&self, i: &VrrpInstance, to: State, priority: u8) -> Vec<JoinHandle<()>> {
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

    /// As master, a lower-priority advert arrived.
    pub fn master_rx_lower(&self, i: &VrrpInstance, priority: u8) {
        if let Some(cmd) = &i.notify_master_rx_lower_pri {
            let _ = spawn(cmd, &[]);
        }
        self.fifo(&format!(
            "INSTANCE \"{}\" MASTER_RX_LOWER_PRI {priority}\n",
            i.name
        ));
    }

    /// The effective priority changed (`notify_priority_changes`).
    pub fn priority_changed(&self, i: &VrrpInstance, state: State, priority: u8) {
        if i.notify_priority_changes != Some(true) {
            return;
        }
        let what = match state {
            State::Master => "MASTER_PRIORITY",
            State::Backup => "BACKUP_PRIORITY",
            _ => return,
        };
        self.fifo(&format!("INSTANCE \"{}\" {what} {priority}\n", i.name));
    }

    /// Writes one line to every FIFO without blocking: no reader, or a
    /// full pipe, loses the line (logged at debug), as a slow reader
    /// must not stall the protocol.
    fn fifo(&self, line: &str) {
        for path in &self.fifos {
            let res = OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
                .and_then(|mut f| f.write_all(line.as_bytes()));
            if let Err(e) = res {
                tracing::debug!("notify FIFO {path}: {e}");
            }
        }
    }
}

/// Starts `cmd` with `extra` appended; a file the kernel cannot execute
/// directly (no shebang) runs through `/bin/sh -c`, like keepalived.
fn spawn(cmd: &Command, extra: &[String]) -> Option<JoinHandle<()>> {
    let (prog, args) = cmd.argv.split_first()?;
    let args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .chain(extra.iter().map(String::as_str))
        .collect();
    let build = |p: &str, a: &[&str]| {
        let mut c = tokio::process::Command::new(p);
        c.args(a)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .kill_on_drop(false);
        c
    };
    let child = match build(prog, &args).spawn() {
        Ok(c) => c,
        Err(e) if e.raw_os_error() == Some(libc::ENOEXEC) => {
            let line = std::iter::once(prog.as_str())
                .chain(args.iter().copied())
                .collect::<Vec<_>>()
                .join(" ");
            match build("/bin/sh", &["-c", &line]).spawn() {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!("Cannot run {line}: {e}");
                    return None;
                }
            }
        }
        Err(e) => {
            tracing::warn!("Cannot run {prog}: {e}");
            return None;
        }
    };
    let name = prog.clone();
    Some(tokio::spawn(async move {
        let mut child = child;
        match child.wait().await {
            Ok(s) if !s.success() => tracing::debug!("{name} exited with {s}"),
            Ok(_) => {}
            Err(e) => tracing::debug!("{name}: {e}"),
        }
    }))
}
