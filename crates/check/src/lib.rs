// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The pure side of the health checks: no sockets, no processes, no
//! clock of its own (the probes that do the I/O are `keepalived-probe`;
//! the checker child runs both).
//!
//! * [`machine`]: one checker's up/down machine (delay_loop, retry,
//!   delay_before_retry, warmup, alpha, keepalived's cold-start rule),
//!   driven by (probe outcome, now);
//! * [`book`]: every virtual server, real server and checker, with the
//!   real server's state as the AND of its checkers and its weight;
//! * [`lines`]: the per-run log lines of DNS, SMTP, UDP and PING;
//! * [`reconcile`]: the pool: probe results in, IPVS ops, notifications
//!   and keepalived's log lines ([`effect`]) out, for the virtual servers
//!   they concern; reload migration by checker identity; shared probes;
//! * [`resolve`]: real servers named by DNS (keepalived-rs extension):
//!   each name's lookup schedule, holds and address set;
//! * [`announce`]: when a virtual server's `announce` route is in the
//!   kernel (keepalived-rs extension);
//! * [`suspend`]: `ha_suspend`, checkers that run only while their
//!   virtual server's address is local;
//! * [`desired`], [`expand`], [`quorum`], [`health`], [`ids`]: the IPVS
//!   table the configuration and the verdicts call for (pure: a second
//!   computation gives the same table), which the planner reconciles the
//!   kernel with.

pub mod announce;
pub mod book;
pub mod desired;
pub mod effect;
pub mod expand;
pub mod globals;
pub mod health;
pub mod ids;
pub mod lines;
pub mod machine;
pub mod quorum;
pub mod reconcile;
pub mod resolve;
pub mod runs;
pub mod suspend;
pub mod time;
