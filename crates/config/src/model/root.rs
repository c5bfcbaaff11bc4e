// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Root-level scalars (in 2.2.7 these are not part of `global_defs`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RootSettings {
    pub net_namespace: Option<String>,
    pub net_namespace_ipvs: Option<String>,
    pub namespace_with_ipsets: bool,
    pub instance: Option<String>,
    pub use_pid_dir: bool,
    /// Seconds the parent waits for a child to stop before SIGKILL.
    pub child_wait_time: u32,
    pub linkbeat_use_polling: bool,
}

impl Default for RootSettings {
    fn default() -> Self {
        Self {
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            instance: None,
            use_pid_dir: false,
            child_wait_time: 5,
            linkbeat_use_polling: false,
        }
    }
}
