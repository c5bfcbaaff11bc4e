// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What goes into the machine and what comes out: plain serde data, so a
//! scenario is a JSONL file of inputs and the expected JSONL of actions.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::fsm::params::InstanceParams;

/// The instance's state (RFC 5798 §6.4 plus keepalived's FAULT and STOP).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    /// Created, `Startup` not yet handled.
    Init,
    Backup,
    Master,
    Fault,
    /// Shut down; the machine ignores everything from here on.
    Stop,
}

/// A received advertisement that already passed the receive checks of
/// inventory §C.2 (length, TTL, version, auth, checksum, VRID, v2 address
/// list and interval match; a v3 address-list mismatch is only reported).
/// Only what the state machine needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RxAdvert {
    /// Source address of the IP packet (the sender's primary address).
    pub src: IpAddr,
    pub priority: u8,
    /// The advert's interval in centiseconds: the v3 Max Adver Int field;
    /// for v2, the seconds field × 100 (v2 never adopts it).
    pub max_advert_int_cs: u16,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// Start the protocol (RFC 5798 §6.4.1 Startup event).
    Startup,
    Advert(RxAdvert),
    /// `now` reached [`crate::fsm::Instance::next_deadline`]; early or
    /// duplicate timer inputs are harmless.
    Timer,
    /// Stop the instance (keepalived exiting or the instance deleted by a
    /// reload): a master sends priority 0 and releases its addresses.
    Shutdown,
    /// At least one fault cause is active (own or tracked interface down,
    /// unweighted track failure, source address missing ...). The shell
    /// counts the causes; this input is idempotent.
    FaultSet,
    /// No fault cause is active any more. Idempotent.
    FaultCleared,
    /// New effective priority from tracking (see [`crate::fsm::priority`]).
    /// Ignored for an address owner; clamped to 1..=254 otherwise.
    PriorityChange {
        priority: u8,
    },
    /// Reload with new parameters for the same instance identity: the
    /// state and running timers are kept.
    Reload(Box<InstanceParams>),
    /// Sync group: this backup's master-down timer ran out but another
    /// member does not want MASTER yet, so it stays BACKUP, remembers
    /// that it wants MASTER and waits another master-down interval
    /// (keepalived `vrrp_sync_can_goto_master`).
    HoldBackup,
    /// Sync group: another member became MASTER; a backup follows at
    /// once (keepalived `vrrp_sync_master`).
    SyncMaster,
    /// Sync group: another member went from MASTER to BACKUP; a master
    /// follows, without a priority-0 advert (keepalived `vrrp_sync_backup`).
    SyncBackup,
}

/// Why a burst of gratuitous ARPs / unsolicited NAs is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum GarpReason {
    /// First burst on becoming master.
    BecomeMaster,
    /// Second burst `garp_master_delay` after becoming master.
    MasterDelay,
    /// Periodic `garp_master_refresh`.
    Refresh,
    /// A lower-priority advert reached us as master.
    LowerPriority,
    /// Second burst `garp_lower_prio_delay` after that.
    LowerPriorityDelay,
    /// A master's VMAC was deleted behind its back and made again: its
    /// VIPs are back on a new link (the node's answer to
    /// `node::Event::LinkRecreated`, not the machine's).
    LinkRecreated,
}

/// Side effects for the shell, in the order it must carry them out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Action {
    /// Send one advertisement with this priority (0 = "master stopping").
    SendAdvert { priority: u8 },
    /// Install the VIPs, eVIPs, virtual routes and rules (and accept-mode
    /// firewall changes).
    AddVips,
    /// Remove them.
    DelVips,
    /// Send `rounds` rounds of gratuitous ARP / unsolicited NA over every
    /// VIP and eVIP. The shell paces the individual messages with
    /// `vrrp_garp_interval` / `vrrp_gna_interval` (a per-interface queue
    /// shared by all instances, so it belongs to the shell); the machine
    /// schedules the bursts themselves.
    SendGarp { rounds: u32, reason: GarpReason },
    /// The state changed. The shell runs `notify_master|backup|fault|stop`
    /// (configured argv only), then `notify` with
    /// `INSTANCE <name> <STATE> <priority>`, then the FIFO line (§B.5).
    StateChanged {
        from: State,
        to: State,
        priority: u8,
    },
    /// As master, received a lower-priority advert: runs
    /// `notify_master_rx_lower_pri` and the FIFO `MASTER_RX_LOWER_PRI` line.
    MasterRxLowerPriority { from: IpAddr, priority: u8 },
    /// The effective priority changed (FIFO `MASTER_PRIORITY` /
    /// `BACKUP_PRIORITY` when `notify_priority_changes` is set).
    PriorityChanged { from: u8, to: u8, state: State },
}
