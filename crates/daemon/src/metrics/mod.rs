// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The Prometheus endpoint (ours; keepalived has none): opt-in with
//! `--metrics ADDR:PORT` or `metrics_listen ADDR:PORT` in global_defs.
//!
//! Like the control socket, it runs on threads of its own and reaches
//! the supervisor only through the control socket's request queue
//! ([`crate::control::server::Asker`]): a scrape is a `status` request,
//! answered by the supervisor's loop between two of its turns with what
//! the children report. A slow or hostile HTTP client therefore costs
//! one of [`http::MAX_CLIENTS`] threads, never a signal or a respawn.
//! [`render`] turns the status into metric families; docs/metrics.md
//! names them.

pub mod http;
pub mod render;
pub mod text004;
