// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `global_defs` (inventory §A.3).

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GlobalDefs {
    pub router_id: Option<String>,
}

pub fn read(g: &mut GlobalDefs, node: &Node, r: &mut Reader<'_>) {
    let _ = (g, r.block(node));
}
