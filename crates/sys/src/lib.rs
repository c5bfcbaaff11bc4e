// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Everything that touches the kernel outside IPVS.
//!
//! The VRRP child drives these modules; none of them knows the VRRP
//! protocol (the codec and state machine live in `keepalived-vrrp`): they
//! move bytes, addresses and processes.
//!
//! * [`vrrp_socket`]: raw IP protocol 112 sockets, one receiver and one
//!   sender per (interface, family).
//! * [`link`]: interface lookup and link up/down events (rtnetlink).
//! * [`macvlan`]: VMAC links (create, inspect, up, delete).
//! * [`proc_events`]: process events (proc connector) and /proc reads;
//!   [`proc_wire`] decodes what they hand us.
//! * [`sysctl`]: numeric values under /proc/sys.
//! * [`addr`]: idempotent address add/remove/list (rtnetlink).
//! * [`route`], [`rule`]: idempotent route and policy rule add/remove
//!   (rtnetlink), with keepalived's route protocol.
//! * [`deletions`]: the kernel's notices of deleted addresses, routes and
//!   rules (to put ours back).
//! * [`addr_events`]: every address change of the namespace, and the
//!   full list (the checker child's `ha_suspend`).
//! * [`garp`]: gratuitous ARP and unsolicited neighbour advertisement
//!   frames (pure builders) and the AF_PACKET socket that sends them.
//! * [`script`]: notify/track script execution with user switch, own
//!   process group and timeout.
//! * [`fifo`]: the notify FIFO writer that never blocks.
//! * [`netlink`]: the shared rtnetlink connection and its error type.
//! * [`mem`]: giving freed heap memory back after a big load.
//! * [`timer`]: a microsecond-precise one-shot timer (timerfd).

pub mod addr;
pub mod addr_events;
pub mod deletions;
mod direct;
pub mod fifo;
pub mod garp;
pub mod inotify;
pub mod link;
pub mod macvlan;
pub mod mem;
pub mod netlink;
pub mod proc_events;
pub mod proc_wire;
pub mod route;
pub mod rule;
pub mod script;
mod sockopt;
pub mod spawn;
pub mod sysctl;
pub mod timer;
pub mod vrid_filter;
pub mod vrrp_socket;
