// SPDX-License-Identifier: Apache-2.0 OR MIT
//! IPVS over generic netlink: typed objects, codec and the reconciling
//! planner.

pub mod client;
pub mod consts;
pub mod decode;
pub mod encode;
pub mod error;
pub mod ipvsadm;
pub mod model;
pub mod planner;

pub use client::Ipvs;
pub use error::{Applied, Error, OpError, OpErrorKind};
