// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `garp_group`, `linkbeat_interfaces`, `interface_up_down_delays`, `bfd_instance` (inventory §A.8).

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GarpGroup {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LinkbeatInterface {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UpDownDelay {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BfdInstance {}

pub fn read_garp_group(node: &Node, r: &mut Reader<'_>) -> Option<GarpGroup> {
    let _ = r.block(node);
    None
}

pub fn read_linkbeat_interfaces(node: &Node, r: &mut Reader<'_>) -> Vec<LinkbeatInterface> {
    let _ = r.block(node);
    Vec::new()
}

pub fn read_up_down_delays(node: &Node, r: &mut Reader<'_>) -> Vec<UpDownDelay> {
    let _ = r.block(node);
    Vec::new()
}

pub fn read_bfd_instance(node: &Node, r: &mut Reader<'_>) -> Option<BfdInstance> {
    let _ = r.block(node);
    None
}
