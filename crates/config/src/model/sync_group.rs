// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `vrrp_sync_group` (inventory §A.6).

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SyncGroup {}

pub fn read(node: &Node, r: &mut Reader<'_>) -> Option<SyncGroup> {
    let _ = r.block(node);
    None
}
