// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Root-level scalars (in 2.2.7 these are not part of `global_defs`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RootSettings {
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub net_namespace: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub net_namespace_ipvs: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub namespace_with_ipsets: bool,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub instance: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub use_pid_dir: bool,
    /// Seconds the parent waits for a child to stop before SIGKILL.
    #[serde(skip_serializing_if = "root_settings_child_wait_time_is_default")]
    pub child_wait_time: u32,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
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

struct_defaults!(RootSettings {
    child_wait_time: u32 => root_settings_child_wait_time_is_default,
});
