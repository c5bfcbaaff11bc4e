// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Carrying out one step's actions, in the order the machine gave them.
//! Failures are logged (and counted where keepalived counts them); the
//! following actions still run.

use keepalived_vrrp::fsm::{Action, State};
use keepalived_vrrp::packet;

use super::core::Core;
use super::io::VipSpec;
use super::notify::state_word;

impl Core {
    /// `release`: whether DelVips really removes (false on stop with
    /// `-V`, so the addresses survive us).
    pub(super) async fn execute(&mut self, idx: usize, actions: Vec<Action>, release: bool) {
        for action in actions {
            match action {
                Action::SendAdvert { priority } => self.send_advert(idx, priority),
                Action::AddVips => self.set_vips(idx, true).await,
                Action::DelVips if release => self.set_vips(idx, false).await,
                Action::DelVips => {}
                Action::SendGarp { rounds, reason } => {
                    // Gratuitous ARP / NA need the AF_PACKET sender of
                    // keepalived-sys; until it is merged the burst is only
                    // logged.
                    if let Some(i) = self.insts.get(idx) {
                        tracing::debug!(
                            "({}) GARP burst ({rounds} rounds, {reason:?}) not sent: no sender yet",
                            i.conf.name
                        );
                    }
                }
                Action::StateChanged { from, to, priority } => {
                    self.state_changed(idx, from, to, priority)
                }
                Action::MasterRxLowerPriority { from, priority } => {
                    if let Some(i) = self.insts.get(idx) {
                        tracing::info!(
                            "({}) Received advert from {from} with lower priority {priority}, ours {}, forcing new election",
                            i.conf.name,
                            i.fsm.effective_priority()
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
                        self.notifier.priority_changed(&i.conf, state, to);
                    }
                }
            }
        }
    }

    fn state_changed(&mut self, idx: usize, from: State, to: State, priority: u8) {
        let Some(i) = self.insts.get_mut(idx) else {
            return;
        };
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
        let started = self.notifier.state_changed(&i.conf, to, priority);
        if to == State::Stop {
            self.stop_scripts.extend(started);
        }
    }

    fn send_advert(&mut self, idx: usize, priority: u8) {
        let Some(i) = self.insts.get(idx) else {
            return;
        };
        let Some(src) = i.src else {
            tracing::debug!("({}) no source address: advert not sent", i.conf.name);
            return;
        };
        let Some(socket) = self.socket((i.ifindex, i.family)).cloned() else {
            return;
        };
        let mut advert = i.advert.clone();
        advert.priority = priority;
        let mut sent = 0u64;
        for dst in i.destinations() {
            let bytes = packet::encode(&advert, src, i.checksum_destination(dst));
            match socket.send(&bytes, src, dst) {
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
        for v in &vips {
            let res = if add {
                self.add_vip(ifindex, v).await.map(|_| ())
            } else {
                self.del_vip(ifindex, v).await.map(|_| ())
            };
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

    /// The link a VIP lives on: its `dev`, else the instance's.
    async fn vip_link(&self, ifindex: u32, v: &VipSpec) -> std::io::Result<u32> {
        match &v.dev {
            None => Ok(ifindex),
            Some(dev) => self.nl.link_index(dev).await?.ok_or_else(|| {
                std::io::Error::new(std::io::ErrorKind::NotFound, format!("no interface {dev}"))
            }),
        }
    }

    pub(super) async fn add_vip(&self, ifindex: u32, v: &VipSpec) -> std::io::Result<bool> {
        let link = self.vip_link(ifindex, v).await?;
        self.nl.add_address(link, v).await
    }

    pub(super) async fn del_vip(&self, ifindex: u32, v: &VipSpec) -> std::io::Result<bool> {
        let link = self.vip_link(ifindex, v).await?;
        self.nl.del_address(link, v.address).await
    }
}
