// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The root `SSL` block: TLS context for SSL_GET checkers.

use serde::{Deserialize, Serialize};

use crate::reader::Reader;
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SslConfig {}

pub fn read(node: &Node, r: &mut Reader<'_>) -> SslConfig {
    let _ = r.block(node);
    SslConfig::default()
}
