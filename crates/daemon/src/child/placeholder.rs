// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The engine of a child whose subsystem has no engine yet: it holds the
//! snapshot, names what each reload changed and writes the dumps the
//! configuration alone can fill.

use std::sync::Arc;

use keepalived_config::Config;

use super::Kind;
use super::report;
use super::shell::Engine;
use crate::proto::DumpKind;

pub struct Placeholder {
    kind: Kind,
    config: Option<Arc<Config>>,
    generation: u64,
}

impl Placeholder {
    pub fn new(kind: Kind) -> Self {
        Placeholder {
            kind,
            config: None,
            generation: 0,
        }
    }
}

impl Engine for Placeholder {
    async fn apply(&mut self, config: Arc<Config>, generation: u64) -> Result<String, u8> {
        let what = report::what(self.kind);
        let summary = match &self.config {
            None => format!(
                "initial configuration: {}",
                report::diff(self.kind, &Config::default(), &config).summary(what)
            ),
            Some(old) => format!(
                "reload: {}",
                report::diff(self.kind, old, &config).summary(what)
            ),
        };
        self.config = Some(config);
        self.generation = generation;
        Ok(summary)
    }

    async fn dump(&mut self, what: DumpKind) {
        if let Some(c) = &self.config {
            report::write_dump(self.kind, what, c, self.generation);
        }
    }

    async fn stop(&mut self) {}
}
