// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Address, route and rule entries (inventory §A.4), shared by `static_*` and `virtual_*` blocks.

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IpAddress {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Route {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Rule {}

pub fn read_ipaddress_block(node: &Node, r: &mut Reader<'_>) -> Vec<IpAddress> {
    let _ = r.block(node);
    Vec::new()
}

pub fn read_route_block(node: &Node, r: &mut Reader<'_>) -> Vec<Route> {
    let _ = r.block(node);
    Vec::new()
}

pub fn read_rule_block(node: &Node, r: &mut Reader<'_>) -> Vec<Rule> {
    let _ = r.block(node);
    Vec::new()
}
