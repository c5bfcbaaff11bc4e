// SPDX-License-Identifier: Apache-2.0 OR MIT
//! One VRRP instance (one VRID on one interface, one address family):
//! RFC 5798 §6.4 as keepalived 2.2.7 runs it (`vrrp.c`,
//! `vrrp_scheduler.c`, `vrrp_track.c`).
//!
//! ```text
//!            Startup                     master-down expiry
//!   INIT ─────────────────▶ BACKUP ─────────────────────────▶ MASTER
//!     │  (owner + state        ▲  ◀── higher-priority advert ──┘ │
//!     │   MASTER: straight     │                                 │
//!     │   to MASTER)           │ FaultCleared          FaultSet  │
//!     └── FaultSet ──▶ FAULT ──┘ ◀───────────────────────────────┘
//!   any state ── Shutdown ──▶ STOP
//! ```
//!
//! The machine holds one main deadline (keepalived's `sands`: the next
//! advert as master, master-down as backup) plus the delayed GARP bursts.

use std::cmp::Ordering;
use std::net::IpAddr;
use std::time::Duration;

use crate::fsm::event::{Action, GarpReason, Input, RxAdvert, State};
use crate::fsm::params::{InitialState, InstanceParams};
use crate::fsm::priority::PRIO_OWNER;
use crate::fsm::time::Instant;
use crate::fsm::timers;
use crate::packet::Version;

const CENTISECOND: Duration = Duration::from_millis(10);

#[derive(Debug, Clone)]
pub struct Instance {
    params: InstanceParams,
    state: State,
    effective_priority: u8,
    /// keepalived's `master_adver_int`: ours, or (v3 backup) the master's.
    master_adver_int: Duration,
    /// Whether a fault cause is active (kept while in INIT too).
    fault: bool,
    /// Master: next advert. Backup: master-down expiry. INIT: only for an
    /// owner waiting out `vrrp_startup_delay`.
    sands: Option<Instant>,
    /// After this, a backup stops accepting lower-priority masters
    /// (`preempt_delay`); None = the delay has not started.
    preempt_time: Option<Instant>,
    garp_delayed: Option<Instant>,
    garp_lower_prio_delayed: Option<Instant>,
    garp_refresh_at: Option<Instant>,
    /// End of `vrrp_startup_delay`.
    delayed_start: Instant,
    /// The last master we accepted (address, priority), for status.
    master: Option<(IpAddr, u8)>,
    /// keepalived's `wantstate == MASTER` while BACKUP: configured
    /// `state MASTER`, or held in BACKUP by a sync group after its
    /// master-down timer ran out.
    wants_master: bool,
    /// Sync group whose state is not MASTER: an owner configured MASTER
    /// starts as BACKUP like any configured MASTER.
    no_owner_start: bool,
    /// When this master last received a lower-priority advert. keepalived
    /// answers every one, so a flood of replayed lower-priority adverts
    /// comes back as a flood of our own adverts, GARPs and notify
    /// scripts; we answer the first one after a quiet spell of three
    /// advert intervals, which is the one that can make a lower master
    /// yield sooner than our next periodic advert would.
    lower_prio_seen: Option<Instant>,
}

// ===== impl Instance =====

impl Instance {
    /// A stopped machine in INIT; `Input::Startup` starts it. `now` is
    /// the epoch `vrrp_startup_delay` counts from.
    pub fn new(params: InstanceParams, now: Instant) -> Self {
        let effective_priority = params.priority.max(1);
        Self {
            master_adver_int: params.advert_int,
            delayed_start: now + params.startup_delay,
            params,
            state: State::Init,
            effective_priority,
            fault: false,
            sands: None,
            preempt_time: None,
            garp_delayed: None,
            garp_lower_prio_delayed: None,
            garp_refresh_at: None,
            master: None,
            wants_master: false,
            no_owner_start: false,
            lower_prio_seen: None,
        }
    }

    /// Whether a sync group would count this instance as wanting MASTER
    /// (keepalived's `wantstate`).
    pub fn wants_master(&self) -> bool {
        self.state == State::Master || (self.state == State::Backup && self.wants_master)
    }

    /// Whether the next [`Input::Timer`] at `now` would take this backup
    /// to MASTER.
    pub fn master_down_due(&self, now: Instant) -> bool {
        self.state == State::Backup && self.sands.is_some_and(|t| t <= now)
    }

    /// Before `Startup`: the instance's sync group does not start as
    /// MASTER, so an owner configured MASTER waits one interval as
    /// BACKUP like any configured MASTER (keepalived `vrrp_init_state`).
    pub fn hold_owner_start(&mut self) {
        self.no_owner_start = true;
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn params(&self) -> &InstanceParams {
        &self.params
    }

    /// The interval used for master-down (v3 backups adopt the master's).
    pub fn master_adver_int(&self) -> Duration {
        self.master_adver_int
    }

    /// The master this instance last accepted, if any.
    pub fn last_master(&self) -> Option<(IpAddr, u8)> {
        self.master
    }

    /// When the shell must feed `Input::Timer` next; None = no timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.sands, self.garp_delayed, self.garp_lower_prio_delayed]
            .into_iter()
            .flatten()
            .min()
    }

    /// Feeds one input at time `now`; returns the actions in order.
    pub fn handle(&mut self, input: Input, now: Instant) -> Vec<Action> {
        let mut out = Vec::new();
        self.handle_into(input, now, &mut out);
        out
    }

    /// As [`Instance::handle`], appending to a caller-owned buffer.
    pub fn handle_into(&mut self, input: Input, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Stop {
            return;
        }
        match input {
            Input::Startup => self.startup(now, out),
            Input::Advert(adv) => match self.state {
                State::Backup => self.backup_rx(&adv, now),
                State::Master => self.master_rx(&adv, now, out),
                // keepalived drops adverts in INIT and FAULT.
                State::Init | State::Fault | State::Stop => {}
            },
            Input::Timer => self.timer(now, out),
            Input::Shutdown => self.shutdown(now, out),
            Input::FaultSet => self.fault_set(now, out),
            Input::FaultCleared => self.fault_cleared(now, out),
            Input::PriorityChange { priority } => self.priority_change(priority, out),
            Input::Reload(params) => self.reload(*params, out),
            Input::HoldBackup => {
                if self.state == State::Backup {
                    self.wants_master = true;
                    self.sands = Some(now + self.master_down());
                }
            }
            Input::SyncMaster => {
                if self.state == State::Backup {
                    self.become_master(now, out);
                }
            }
            Input::SyncBackup => {
                if self.state == State::Master {
                    self.leave_master(State::Backup, now, out);
                }
            }
        }
    }

    // ----- derived values -----

    fn version(&self) -> Version {
        self.params.version
    }

    fn skew(&self) -> Duration {
        timers::skew(
            self.version(),
            self.effective_priority,
            self.master_adver_int,
        )
    }

    fn master_down(&self) -> Duration {
        timers::master_down(
            self.version(),
            self.effective_priority,
            self.master_adver_int,
            self.params.down_timer_adverts,
        )
    }

    /// keepalived's `vrrp_init_instance_sands` for BACKUP: a backup
    /// never times out before `vrrp_startup_delay` + its interval.
    fn backup_deadline(&self, now: Instant, wait: Duration) -> Instant {
        if now < self.delayed_start {
            self.delayed_start + wait
        } else {
            now + wait
        }
    }

    /// Compares an advert's source with ours for the equal-priority
    /// tie-break; unknown or other-family addresses compare equal, as in
    /// keepalived's `vrrp_saddr_cmp`.
    fn cmp_src(&self, src: IpAddr) -> Ordering {
        match (src, self.params.src_addr) {
            (IpAddr::V4(a), Some(IpAddr::V4(b))) => a.cmp(&b),
            (IpAddr::V6(a), Some(IpAddr::V6(b))) => a.cmp(&b),
            _ => Ordering::Equal,
        }
    }

    fn is_owner(&self) -> bool {
        self.params.priority == PRIO_OWNER
    }

    fn changed(&mut self, to: State, out: &mut Vec<Action>) {
        let from = self.state;
        self.state = to;
        out.push(Action::StateChanged {
            from,
            to,
            priority: self.effective_priority,
        });
    }

    // ----- inputs -----

    /// RFC 5798 §6.4.1, keepalived `vrrp_init_state`.
    fn startup(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Init {
            return;
        }
        if !self.params.preempt_delay.is_zero() {
            // keepalived starts the delay when it reads the config.
            self.preempt_time = Some(now + self.params.preempt_delay);
        }
        self.master_adver_int = self.params.advert_int;
        if self.fault {
            self.changed(State::Fault, out);
            return;
        }
        let wants_master = self.params.initial_state == InitialState::Master;
        self.wants_master = wants_master;
        if wants_master && self.is_owner() && !self.no_owner_start {
            // keepalived times out of BACKUP after 1 µs without a BACKUP
            // notification; we go straight to MASTER (after the startup
            // delay, which keepalived honours too).
            if now < self.delayed_start {
                self.sands = Some(self.delayed_start);
            } else {
                self.become_master(now, out);
            }
            return;
        }
        let wait = if wants_master {
            // Configured MASTER below 255: one interval + the minimum skew.
            self.master_adver_int + timers::skew_min(self.version(), self.master_adver_int)
        } else {
            self.master_down()
        };
        self.sands = Some(self.backup_deadline(now, wait));
        self.changed(State::Backup, out);
    }

    fn timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.garp_delayed.is_some_and(|t| t <= now) {
            self.garp_delayed = None;
            self.garp_burst(self.params.garp.master_repeat, GarpReason::MasterDelay, out);
        }
        if self.garp_lower_prio_delayed.is_some_and(|t| t <= now) {
            self.garp_lower_prio_delayed = None;
            self.garp_burst(
                self.params.garp.lower_prio_repeat,
                GarpReason::LowerPriorityDelay,
                out,
            );
        }
        if self.sands.is_none_or(|t| t > now) {
            return;
        }
        match self.state {
            // Backup: RFC 5798 §6.4.2 Master_Down_Timer fires.
            State::Init | State::Backup => self.become_master(now, out),
            State::Master => self.master_tx(now, out),
            State::Fault | State::Stop => self.sands = None,
        }
    }

    /// Periodic advert (keepalived `vrrp_state_master_tx` on timeout),
    /// with the GARP refresh riding on the advert tick as keepalived does.
    fn master_tx(&mut self, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::SendAdvert {
            priority: self.effective_priority,
        });
        if let Some(at) = self.garp_refresh_at
            && now > at
        {
            self.garp_burst(
                self.params.garp.master_refresh_repeat,
                GarpReason::Refresh,
                out,
            );
            self.garp_refresh_at = Some(now + self.params.garp.master_refresh);
        }
        self.sands = Some(now + self.params.advert_int);
    }

    /// keepalived `vrrp_state_goto_master` + `vrrp_state_become_master`:
    /// the advert goes first so the old master drops the VIPs before our
    /// GARPs, then addresses, GARP burst, notifications.
    fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.lower_prio_seen = None;
        self.master_adver_int = self.params.advert_int;
        self.master = None;
        out.push(Action::SendAdvert {
            priority: self.effective_priority,
        });
        out.push(Action::AddVips);
        self.garp_burst(
            self.params.garp.master_repeat,
            GarpReason::BecomeMaster,
            out,
        );
        let garp = &self.params.garp;
        self.garp_delayed = (!garp.master_delay.is_zero()).then(|| now + garp.master_delay);
        self.garp_refresh_at = (!garp.master_refresh.is_zero()).then(|| now + garp.master_refresh);
        self.sands = Some(now + self.params.advert_int);
        self.changed(State::Master, out);
    }

    /// keepalived `vrrp_state_leave_master` / `vrrp_restore_interface`.
    fn leave_master(&mut self, to: State, now: Instant, out: &mut Vec<Action>) {
        if to != State::Backup {
            out.push(Action::SendAdvert { priority: 0 });
        }
        out.push(Action::DelVips);
        self.garp_delayed = None;
        self.garp_lower_prio_delayed = None;
        self.garp_refresh_at = None;
        self.wants_master = false;
        self.changed(to, out);
        self.sands = match to {
            State::Backup => {
                self.preempt_time = None;
                Some(now + self.master_down())
            }
            _ => None,
        };
    }

    fn garp_burst(&self, rounds: u32, reason: GarpReason, out: &mut Vec<Action>) {
        if rounds > 0 {
            out.push(Action::SendGarp { rounds, reason });
        }
    }

    /// RFC 5798 §6.4.2 "If an ADVERTISEMENT is received", keepalived
    /// `vrrp_state_backup`.
    fn backup_rx(&mut self, adv: &RxAdvert, now: Instant) {
        if adv.priority == 0 {
            // The master is stopping: take over after Skew_Time only.
            let wait = self.skew();
            self.sands = Some(self.backup_deadline(now, wait));
            return;
        }
        let delaying =
            !self.params.preempt_delay.is_zero() && self.preempt_time.is_none_or(|t| t > now);
        if !(self.params.nopreempt || adv.priority >= self.effective_priority || delaying) {
            // Preempt: ignore a lower-priority master and let our own
            // master-down timer run out ("received lower priority advert
            // - discarding").
            return;
        }
        if self.version() == Version::V3 && adv.max_advert_int_cs > 0 {
            self.master_adver_int = CENTISECOND * u32::from(adv.max_advert_int_cs);
        }
        self.master = Some((adv.src, adv.priority));
        // Held in BACKUP by a sync group, we wanted MASTER; a master's
        // advert makes us want BACKUP again.
        self.wants_master = false;
        if !self.params.preempt_delay.is_zero() {
            if adv.priority >= self.effective_priority {
                self.preempt_time = None;
            } else if self.preempt_time.is_none() {
                self.preempt_time = Some(now + self.params.preempt_delay);
            }
        }
        let wait = self.master_down();
        self.sands = Some(self.backup_deadline(now, wait));
    }

    /// RFC 5798 §6.4.3 "If an ADVERTISEMENT is received", keepalived
    /// `vrrp_state_master_rx`.
    fn master_rx(&mut self, adv: &RxAdvert, now: Instant, out: &mut Vec<Action>) {
        let addr = self.cmp_src(adv.src);
        let ours = self.effective_priority;
        let higher = adv.priority > ours || (adv.priority == ours && addr == Ordering::Greater);
        if adv.priority == 0 || (self.params.higher_prio_send_advert && higher) {
            out.push(Action::SendAdvert { priority: ours });
            if adv.priority == 0 {
                self.restart_advert_timer(now);
                return;
            }
        }
        if adv.priority == ours && addr != Ordering::Equal && ours == PRIO_OWNER {
            // Two address owners: keepalived reports a configuration
            // error and drops its own priority to 254 to break the tie.
            self.params.priority = PRIO_OWNER - 1;
            self.effective_priority = PRIO_OWNER - 1;
        }
        let ours = self.effective_priority;
        if adv.priority < ours || (adv.priority == ours && addr == Ordering::Less) {
            let quiet = self.params.advert_int * 3;
            let seen = self.lower_prio_seen.replace(now);
            if seen.is_some_and(|t| now < t + quiet) {
                // Part of a stream already answered: a lower master that
                // can hear us has yielded to the answer or to our
                // periodic adverts; one that cannot gains nothing from
                // more, and replays must not be amplified.
                return;
            }
            if !self.params.lower_prio_no_advert {
                out.push(Action::SendAdvert { priority: ours });
            }
            let garp = &self.params.garp;
            if garp.lower_prio_repeat > 0 {
                out.push(Action::SendGarp {
                    rounds: garp.lower_prio_repeat,
                    reason: GarpReason::LowerPriority,
                });
                if !garp.lower_prio_delay.is_zero() {
                    self.garp_lower_prio_delayed = Some(now + garp.lower_prio_delay);
                }
            }
            out.push(Action::MasterRxLowerPriority {
                from: adv.src,
                priority: adv.priority,
            });
            self.restart_advert_timer(now);
            return;
        }
        if adv.priority > ours || (adv.priority == ours && addr == Ordering::Greater) {
            if self.version() == Version::V3 && adv.max_advert_int_cs > 0 {
                self.master_adver_int = CENTISECOND * u32::from(adv.max_advert_int_cs);
            }
            self.master = Some((adv.src, adv.priority));
            self.leave_master(State::Backup, now, out);
            return;
        }
        // Equal priority from our own address: keepalived only warns.
        self.restart_advert_timer(now);
    }

    /// keepalived resets a master's advert timer after handling an
    /// advert, except with `lower_prio_no_advert` (nothing was sent).
    fn restart_advert_timer(&mut self, now: Instant) {
        if !self.params.lower_prio_no_advert {
            self.sands = Some(now + self.params.advert_int);
        }
    }

    fn shutdown(&mut self, now: Instant, out: &mut Vec<Action>) {
        match self.state {
            State::Master => self.leave_master(State::Stop, now, out),
            State::Backup | State::Fault => {
                self.changed(State::Stop, out);
                self.sands = None;
            }
            State::Init => self.state = State::Stop,
            State::Stop => {}
        }
    }

    /// keepalived `down_instance`.
    fn fault_set(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.fault {
            return;
        }
        self.fault = true;
        self.wants_master = false;
        match self.state {
            State::Master => self.leave_master(State::Fault, now, out),
            State::Backup => {
                self.sands = None;
                self.changed(State::Fault, out);
            }
            State::Init | State::Fault | State::Stop => {}
        }
    }

    /// keepalived `try_up_instance` + `vrrp_state_leave_fault`: back to
    /// BACKUP with a full master-down wait (even an owner: its
    /// `wantstate` is FAULT by then).
    fn fault_cleared(&mut self, now: Instant, out: &mut Vec<Action>) {
        if !self.fault {
            return;
        }
        self.fault = false;
        if self.state != State::Fault {
            return;
        }
        self.master_adver_int = self.params.advert_int;
        self.preempt_time = None;
        self.wants_master = false;
        let wait = self.master_down();
        self.sands = Some(self.backup_deadline(now, wait));
        self.changed(State::Backup, out);
    }

    /// keepalived `vrrp_set_effective_priority`.
    fn priority_change(&mut self, priority: u8, out: &mut Vec<Action>) {
        if self.is_owner() {
            return;
        }
        let new = priority.clamp(1, PRIO_OWNER - 1);
        let old = self.effective_priority;
        if new == old {
            return;
        }
        let old_down = self.master_down();
        self.effective_priority = new;
        let new_down = self.master_down();
        if self.state == State::Backup {
            // The skew follows the priority: move the running master-down
            // deadline by the difference, earlier for a higher priority,
            // later for a lower one (keepalived 2.2.7 does both).
            self.sands = self.sands.map(|t| {
                if new_down < old_down {
                    t.saturating_sub(old_down - new_down)
                } else {
                    t + (new_down - old_down)
                }
            });
        }
        out.push(Action::PriorityChanged {
            from: old,
            to: new,
            state: self.state,
        });
    }

    fn reload(&mut self, params: InstanceParams, out: &mut Vec<Action>) {
        let base_changed = params.priority != self.params.priority;
        let interval_changed = params.advert_int != self.params.advert_int;
        self.params = params;
        if interval_changed && self.state != State::Backup {
            self.master_adver_int = self.params.advert_int;
        }
        if base_changed {
            let new = self.params.priority.max(1);
            if new != self.effective_priority {
                out.push(Action::PriorityChanged {
                    from: self.effective_priority,
                    to: new,
                    state: self.state,
                });
                self.effective_priority = new;
            }
        }
    }
}
