// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The processes `vrrp_track_process` counts: a /proc scan at start and
//! on reload, then the kernel's process events. Which process matches is
//! [`ProcessParams::matches`]; what a count means is the node's.
//!
//! The table maps each pid to the tracked processes it counts for, so a
//! count is always "pids in the table with that name": an event that
//! repeats what the scan already saw (a fork seen by both) changes
//! nothing.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use keepalived_sys::proc_events::{self, ProcBatch, ProcEventsError, ProcUpdate};
use keepalived_vrrp::node::Event;
use keepalived_vrrp::node::process::{CountCause, ProcessParams};
use tokio::sync::mpsc;

#[derive(Default)]
pub struct Processes {
    params: Vec<ProcessParams>,
    pids: HashMap<u32, BTreeSet<String>>,
    /// The last count given to the node, per tracked process.
    reported: BTreeMap<String, u32>,
    events: Option<mpsc::UnboundedReceiver<ProcBatch>>,
    /// Tells the reader thread whether to read command lines.
    want_cmdline: Arc<AtomicBool>,
}

impl Processes {
    /// New tracked processes (start, reload): subscribes on first use,
    /// rescans /proc, and returns the counts for the node.
    pub fn configure(&mut self, params: Vec<ProcessParams>) -> Vec<Event> {
        self.params = params;
        self.reported
            .retain(|name, _| self.params.iter().any(|p| &p.name == name));
        if self.params.is_empty() {
            // Nothing to watch: stop listening (a reload may add some).
            self.events = None;
            self.pids.clear();
            return Vec::new();
        }
        self.want_cmdline
            .store(self.wants_cmdline(), Ordering::Relaxed);
        if self.events.is_none() {
            self.subscribe();
        }
        self.rescan()
    }

    fn subscribe(&mut self) {
        match proc_events::subscribe(self.want_cmdline.clone()) {
            Ok(rx) => self.events = Some(rx),
            Err(e) => tracing::error!(
                "cannot subscribe to process events (proc connector): {e}; \
                 tracked processes keep the counts of the last /proc scan"
            ),
        }
    }

    fn wants_cmdline(&self) -> bool {
        self.params.iter().any(|p| p.full_command)
    }

    fn names_of(&self, comm: &str, cmdline: &[u8]) -> BTreeSet<String> {
        self.params
            .iter()
            .filter(|p| p.matches(comm, cmdline))
            .map(|p| p.name.clone())
            .collect()
    }

    /// Rebuilds the table from /proc; every count is reported.
    fn rescan(&mut self) -> Vec<Event> {
        let want = self.wants_cmdline();
        self.pids = proc_events::scan(want)
            .into_iter()
            .filter_map(|p| {
                let names = self.names_of(&p.comm, &p.cmdline);
                (!names.is_empty()).then_some((p.pid, names))
            })
            .collect();
        self.reported.clear();
        let names: Vec<String> = self.params.iter().map(|p| p.name.clone()).collect();
        self.report(names, CountCause::Scan)
    }

    /// The next batch of process events; pending for ever without a
    /// subscription.
    pub async fn next(&mut self) -> Option<ProcBatch> {
        match &mut self.events {
            Some(rx) => rx.recv().await,
            None => std::future::pending().await,
        }
    }

    /// One batch of events: the counts that changed.
    pub fn on_batch(&mut self, batch: Option<ProcBatch>) -> Vec<Event> {
        match batch {
            None => {
                tracing::warn!(
                    "process events ended; tracked process counts are no longer updated"
                );
                self.events = None;
                Vec::new()
            }
            Some(Err(ProcEventsError::Lost)) => {
                tracing::info!("process events were lost; rescanning /proc");
                self.rescan()
            }
            Some(Err(e)) => {
                tracing::warn!("{e}; tracked process counts are no longer updated");
                self.events = None;
                Vec::new()
            }
            Some(Ok(events)) => {
                let mut out = Vec::new();
                for ev in events {
                    out.extend(self.on_event(ev));
                }
                out
            }
        }
    }

    fn on_event(&mut self, ev: ProcUpdate) -> Vec<Event> {
        let (touched, cause): (BTreeSet<String>, CountCause) = match ev {
            ProcUpdate::Fork { parent, child } => {
                let Some(names) = self.pids.get(&parent).cloned() else {
                    return Vec::new();
                };
                self.pids.insert(child, names.clone());
                (names, CountCause::Fork)
            }
            ProcUpdate::Exit { pid } => match self.pids.remove(&pid) {
                Some(names) => (names, CountCause::Exit),
                None => return Vec::new(),
            },
            ProcUpdate::Exec { pid, info } => {
                let now = info
                    .map(|p| self.names_of(&p.comm, &p.cmdline))
                    .unwrap_or_default();
                (self.replace(pid, now), CountCause::Exec)
            }
            ProcUpdate::Comm { pid, comm } => {
                // Only name matches can change; command-line ones stay.
                let mut now: BTreeSet<String> = self
                    .params
                    .iter()
                    .filter(|p| !p.full_command && p.path == comm)
                    .map(|p| p.name.clone())
                    .collect();
                if let Some(old) = self.pids.get(&pid) {
                    let by_cmdline = self.params.iter().filter(|p| p.full_command);
                    now.extend(
                        by_cmdline
                            .filter(|p| old.contains(&p.name))
                            .map(|p| p.name.clone()),
                    );
                }
                (self.replace(pid, now), CountCause::Exec)
            }
        };
        self.report(touched.into_iter().collect(), cause)
    }

    /// Sets what `pid` counts for; returns the names whose count moved.
    fn replace(&mut self, pid: u32, now: BTreeSet<String>) -> BTreeSet<String> {
        let old = if now.is_empty() {
            self.pids.remove(&pid).unwrap_or_default()
        } else {
            self.pids.insert(pid, now.clone()).unwrap_or_default()
        };
        old.symmetric_difference(&now).cloned().collect()
    }

    /// ProcessCount events for `names` whose count differs from the
    /// last reported one (all of them after a rescan).
    fn report(&mut self, names: Vec<String>, cause: CountCause) -> Vec<Event> {
        let mut out = Vec::new();
        for name in names {
            let count = self.pids.values().filter(|n| n.contains(&name)).count();
            let count = u32::try_from(count).unwrap_or(u32::MAX);
            if self.reported.get(&name) == Some(&count) {
                continue;
            }
            tracing::debug!("VRRP_Process({name}) {count} running ({cause:?})");
            self.reported.insert(name.clone(), count);
            out.push(Event::ProcessCount {
                process: name,
                count,
                cause,
            });
        }
        out
    }
}
