// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `virtual_server_group`, `virtual_server`, `real_server` (inventory §A.9).

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServerGroup {}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VirtualServer {}

pub fn read_virtual_server_group(node: &Node, r: &mut Reader<'_>) -> Option<VirtualServerGroup> {
    let _ = r.block(node);
    None
}

pub fn read_virtual_server(node: &Node, r: &mut Reader<'_>) -> Option<VirtualServer> {
    let _ = r.block(node);
    None
}
