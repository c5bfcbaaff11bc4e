// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What validation needs to know about the machine, behind a trait so the
//! reader stays pure and tests can describe any host.

use std::path::Path;

/// Facts about the host a configuration is checked against.
pub trait Host {
    /// Whether a network interface of that name exists.
    fn interface_exists(&self, name: &str) -> bool;
}

/// The machine we run on.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemHost;

impl Host for SystemHost {
    fn interface_exists(&self, name: &str) -> bool {
        // A name with a slash would escape /sys/class/net.
        !name.is_empty() && !name.contains('/') && Path::new("/sys/class/net").join(name).exists()
    }
}

/// A host described by tests.
#[derive(Debug, Default, Clone)]
pub struct FakeHost {
    pub interfaces: Vec<String>,
}

impl Host for FakeHost {
    fn interface_exists(&self, name: &str) -> bool {
        self.interfaces.iter().any(|i| i == name)
    }
}
