// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Carrying out one step's actions, in the order the machine gave them.
//! Failures are logged (and counted where keepalived counts them); the
//! following actions still run.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use keepalived_sys::netlink::NetlinkError;
use keepalived_vrrp::fsm::{Action, GarpReason, State};
use keepalived_vrrp::node::{Effect, FaultCause, ScriptHealth};
use keepalived_vrrp::packet;

use super::core::Core;
use super::io::{self, VipSpec, VrrpSender};
use super::notify::state_word;

impl Core {
    /// Carries out the node's effects in order. `release`: whether
    /// DelVips really removes (false on stop with `-V`, so the addresses
    /// survive us).
    pub(super) async fn execute(&mut self, effects: Vec<Effect>, release: bool) {
        for effect in effects {
            match effect {
                Effect::Instance { instance, action } => {
                    self.execute_action(instance, action, release).await;
                }
                Effect::RunScript { script } => self.scripts.start(&script),
                Effect::ScriptHealth { script, health } => {
                    let word = match health {
                        ScriptHealth::Up => "succeeded",
                        ScriptHealth::Down => "failed",
                        ScriptHealth::Pending => "pending",
                    };
                    tracing::info!("VRRP_Script({script}) {word}");
                }
                Effect::FaultCauses { instance, causes } => {
                    if let Some(i) = self.insts.get(instance) {
                        log_causes(&i.conf.name, &causes);
                    }
                }
                Effect::Restore { instance, what } => self.restore(instance, what).await,
                Effect::RestoreStatic { what } => self.statics.restore(&self.nl, &what).await,
                Effect::RestoreStaticsOn { interface } => {
                    self.statics.restore_on(&self.nl, &interface).await;
                }
                Effect::Announce {
                    announce,
                    up,
                    causes,
                } => self.set_announce(&announce, up, &causes).await,
                Effect::Group { group, state } => {
                    tracing::info!(
                        "VRRP_Group({group}) Syncing instances to {} state",
                        state_word(state)
                    );
                    if let Some(g) = self.sync_groups.iter().find(|g| g.name == group) {
                        let started = self.notifier.group_changed(g, state);
                        if state == State::Stop {
                            self.stop_scripts.extend(started);
                        }
                    }
                }
            }
        }
    }

    async fn execute_action(&mut self, idx: usize, action: Action, release: bool) {
        {
            match action {
                Action::SendAdvert { priority } => self.send_advert(idx, priority).await,
                Action::AddVips => {
                    self.set_vips(idx, true).await;
                    self.set_routing(idx, true).await;
                }
                Action::DelVips if release => {
                    self.set_routing(idx, false).await;
                    self.set_vips(idx, false).await;
                }
                Action::DelVips => {}
                Action::SendGarp { rounds, reason } => self.send_garp(idx, rounds, reason).await,
                Action::StateChanged { from, to, priority } => {
                    self.state_changed(idx, from, to, priority)
                }
                Action::MasterRxLowerPriority { from, priority } => {
                    if let Some(i) = self.insts.get(idx) {
                        tracing::info!(
                            "({}) Received advert from {from} with lower priority {priority}, ours {}, forcing new election",
                            i.conf.name,
                            self.node
                                .instance(idx)
                                .map_or(0, |f| f.effective_priority())
                        );
                        self.notifier.master_rx_lower(&i.conf, priority);
                    }
                }
                Action::PriorityChanged { from, to, state } => {
                    if let Some(i) = self.insts.get(idx) {
                        tracing::info!(
                            "({}) Changing effective priority from {from} to {to}",
                            i.conf.name
                        );
                        let group = self
                            .sync_groups
                            .iter()
                            .find(|g| g.group.contains(&i.conf.name));
                        self.notifier.priority_changed(&i.conf, group, state, to);
                    }
                }
            }
        }
    }

    fn state_changed(&mut self, idx: usize, from: State, to: State, priority: u8) {
        let Some(i) = self.insts.get_mut(idx) else {
            return;
        };
        i.counters.transitions += 1;
        i.counters.last_transition = Some(std::time::SystemTime::now());
        if to == State::Master {
            i.counters.become_master += 1;
        }
        if from == State::Master {
            i.counters.release_master += 1;
        }
        match to {
            State::Stop => tracing::info!("({}) Stopped", i.conf.name),
            State::Init => {}
            _ => tracing::info!("({}) Entering {} STATE", i.conf.name, state_word(to)),
        }
        self.syncd.follow(&i.conf.name, i.identity.vrid, to);
        let started = self.notifier.state_changed(&i.conf, to, priority);
        if to == State::Stop {
            self.stop_scripts.extend(started);
        }
    }

    pub(super) async fn send_garp(&mut self, idx: usize, rounds: u32, reason: GarpReason) {
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        if rounds == 0 || i.vips.is_empty() {
            return;
        }
        let (name, ifname) = (i.conf.name.clone(), i.ifname().to_owned());
        // VIPs on another `dev` are announced there by their own link's
        // MAC only with garp_extra_if (not implemented): the instance's
        // link (its VMAC, if any) carries the ones without a dev; those
        // on address VMACs get their own bursts.
        let own_link = i.vmac.is_none();
        let vips: Vec<IpAddr> = i
            .vips
            .iter()
            .filter(|v| v.dev.as_deref().is_none_or(|d| own_link && d == ifname))
            .map(|v| v.address)
            .collect();
        // The link the frames leave from: the VMAC when there is one.
        let link = i.vmac.as_ref().map_or(ifname.clone(), |v| v.name.clone());
        self.garp_addr_vmacs(idx, rounds).await;
        let Some(out) = self.garp_out(idx).await else {
            return;
        };
        let g = self.globals.as_ref();
        let interval = |t: Option<keepalived_config::types::Timer>| {
            Duration::from_micros(t.map_or(0, |t| t.as_micros()))
        };
        let burst = io::GarpBurst {
            out,
            ifname: link.clone(),
            vips,
            rounds,
            interval4: interval(g.and_then(|g| g.vrrp_garp_interval)),
            interval6: interval(g.and_then(|g| g.vrrp_gna_interval)),
        };
        burst.send().await;
        tracing::info!("({name}) Sent gratuitous ARPs on {link} ({reason:?}, {rounds} rounds)");
    }

    /// The instance's GARP sender and MAC, looked up on first use.
    pub(super) async fn garp_out(&mut self, idx: usize) -> Option<io::GarpOut> {
        let i = self.insts.get(idx)?;
        if let Some(out) = &i.garp {
            return Some(out.clone());
        }
        // Another instance on the same link has one already.
        let ifindex = i.ifindex;
        if let Some(out) = self
            .insts
            .iter()
            .find_map(|o| o.garp.as_ref().filter(|_| o.ifindex == ifindex).cloned())
        {
            if let Some(i) = self.insts.get_mut(idx) {
                i.garp = Some(out.clone());
            }
            return Some(out);
        }
        let i = self.insts.get(idx)?;
        let (name, ifindex) = (i.conf.name.clone(), i.ifindex);
        let mac = match io::link_mac(&self.nl, ifindex).await {
            Ok(Some(m)) => m,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!("({name}) cannot read the MAC of its interface: {e}");
                return None;
            }
        };
        match io::GarpOut::open(ifindex, mac) {
            Ok(out) => {
                if let Some(i) = self.insts.get_mut(idx) {
                    i.garp = Some(out.clone());
                }
                Some(out)
            }
            Err(e) => {
                tracing::warn!("({name}) cannot open a GARP sender: {e}");
                None
            }
        }
    }

    /// The instance's sender, opened on first use; instances with the same
    /// link, source and TTL share one socket (255 instances on a link need
    /// not hold 255 sockets).
    fn sender(&mut self, idx: usize, src: IpAddr) -> Option<Arc<VrrpSender>> {
        let i = self.insts.get(idx)?;
        if let Some(s) = &i.sender {
            return Some(s.clone());
        }
        let key = (i.advert_link.index, src, i.unicast_ttl());
        let shared = self.insts.iter().find_map(|o| {
            o.sender
                .as_ref()
                .filter(|_| {
                    (o.advert_link.index, o.src, o.unicast_ttl()) == (key.0, Some(key.1), key.2)
                })
                .cloned()
        });
        let i = self.insts.get_mut(idx)?;
        if let Some(s) = shared {
            i.sender = Some(s.clone());
            return Some(s);
        }
        let link = i.advert_link.clone();
        match VrrpSender::open(&link.name, link.index, src, i.unicast_ttl()) {
            Ok(s) => {
                let s = Arc::new(s);
                i.sender = Some(s.clone());
                Some(s)
            }
            Err(e) => {
                tracing::warn!("({}) cannot open the VRRP send socket: {e}", i.conf.name);
                None
            }
        }
    }

    async fn send_advert(&mut self, idx: usize, priority: u8) {
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        let Some(src) = i.src else {
            tracing::debug!("({}) no source address: advert not sent", i.conf.name);
            return;
        };
        let Some(socket) = self.sender(idx, src) else {
            return;
        };
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        let mut advert = i.advert.clone();
        advert.priority = priority;
        let mut sent = 0u64;
        for dst in i.destinations() {
            let bytes = packet::encode(&advert, src, i.checksum_destination(dst));
            match socket.send_to(dst, &bytes).await {
                Ok(()) => sent += 1,
                Err(e) => tracing::warn!("({}) cannot send advert to {dst}: {e}", i.conf.name),
            }
        }
        if let Some(i) = self.insts.get_mut(idx) {
            i.counters.advert_sent += sent;
            if priority == 0 && sent > 0 {
                i.counters.pri_zero_sent += 1;
            }
        }
    }

    async fn set_vips(&mut self, idx: usize, add: bool) {
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        let (name, ifindex, vips) = (i.conf.name.clone(), i.ifindex, i.vips.clone());
        let results: Vec<Result<bool, NetlinkError>> = if add {
            let mut r = Vec::with_capacity(vips.len());
            for v in &vips {
                r.push(self.add_vip(ifindex, v).await);
            }
            r
        } else {
            self.del_vips(ifindex, &vips).await
        };
        for (v, res) in vips.iter().zip(results) {
            if let Err(e) = res {
                tracing::warn!(
                    "({name}) cannot {} {}/{}: {e}",
                    if add { "add" } else { "remove" },
                    v.address,
                    v.prefix_len
                );
            }
        }
        if !vips.is_empty() {
            tracing::info!(
                "({name}) {} {} virtual address(es)",
                if add { "Installed" } else { "Removed" },
                vips.len()
            );
        }
    }

    pub(super) async fn add_vip(&self, ifindex: u32, v: &VipSpec) -> Result<bool, NetlinkError> {
        let link = io::vip_link(&self.nl, ifindex, v).await?;
        io::add_address(&self.nl, link, v).await
    }

    pub(super) async fn del_vips(
        &self,
        ifindex: u32,
        vips: &[VipSpec],
    ) -> Vec<Result<bool, NetlinkError>> {
        io::del_vips(&self.nl, ifindex, vips).await
    }
}

/// keepalived's log lines for entering and leaving FAULT on tracking.
fn log_causes(name: &str, causes: &[FaultCause]) {
    if causes.is_empty() {
        tracing::info!("({name}) no fault cause left");
        return;
    }
    let why: Vec<String> = causes
        .iter()
        .map(|c| match c {
            FaultCause::NoSourceAddress => "no source address".to_owned(),
            FaultCause::InterfaceDown(i) => format!("interface {i} down"),
            FaultCause::TrackedInterface(i) => format!("tracked interface {i}"),
            FaultCause::Script(s) => format!("script {s}"),
            FaultCause::ScriptPending(s) => format!("script {s} has no result yet"),
            FaultCause::File(f) => format!("tracked file {f}"),
            FaultCause::Process(p) => format!("tracked process {p}"),
        })
        .collect();
    tracing::info!("({name}) fault: {}", why.join(", "));
}
