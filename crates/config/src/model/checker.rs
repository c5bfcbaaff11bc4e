// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Health checkers inside `real_server` (inventory §A.10).

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Checker {}

#[allow(dead_code)]
fn placeholder(node: &Node, r: &mut Reader<'_>) {
    let _ = r.block(node);
}
