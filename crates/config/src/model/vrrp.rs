// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_instance` (inventory §A.7).

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VrrpInstance {
    pub name: String,
}

pub fn read_instance(node: &Node, r: &mut Reader<'_>) -> Option<VrrpInstance> {
    let _ = r.block(node);
    None
}
