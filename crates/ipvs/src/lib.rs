// SPDX-License-Identifier: Apache-2.0 OR MIT
//! IPVS over generic netlink: typed objects, codec and the reconciling
//! planner.

pub mod ipvsadm;
pub mod model;
pub mod planner;
