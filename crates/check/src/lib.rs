// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Health checkers and the per-checker up/down machine, and the IPVS table
//! the configuration and the checkers' verdicts call for.
//!
//! The checkers themselves land with the health-check issue; what is here
//! is the pure side: [`desired::desired_table`] turns the configuration and
//! a [`health::HealthView`] into the table the planner reconciles the
//! kernel with.

pub mod book;
pub mod desired;
pub mod effect;
pub mod expand;
pub mod globals;
pub mod health;
pub mod ids;
pub mod machine;
pub mod quorum;
pub mod reconcile;
pub mod time;
