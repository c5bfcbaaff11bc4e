// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the running pool keeps of its configuration (issue 10's memory
//! aim). The checkers' model is read once, when the book is built: each
//! checker's machine, identity, probe spec, schedule and log context come
//! from it then, and a reload or a name's new addresses build a new book
//! from the new configuration, never from the old one. A real server's
//! notify commands are copied into the book too. What the pool reads
//! afterwards (the desired table, quorum weights, `ha_suspend` and the
//! announce inputs) is the virtual and real servers' own settings. So
//! once a pool is started or reloaded, the checkers' model, those
//! commands and what the real server sets for its checkers are dropped: at 100 000 TCP_CHECKs that is 16 MB the checker
//! child held for nothing (keepalived keeps one structure per checker,
//! not a configuration beside it).

use std::sync::Arc;

use keepalived_config::model::Config;
use keepalived_config::model::lvs::RealServer;

use super::Pool;

impl Pool {
    /// Drops what only building the book needed from the configuration
    /// the pool keeps, and returns that configuration for the caller to
    /// keep instead of the full one (the same `Arc`, so one copy lives).
    /// The pool should hold the only reference: otherwise the whole
    /// model is copied before it is cut.
    pub fn release_build_model(&mut self) -> Arc<Config> {
        if !carries_build_model(&self.config) {
            return Arc::clone(&self.config);
        }
        if let Some(config) = Arc::get_mut(&mut self.config) {
            strip(config);
            // Copied once stripped, and the original freed: cut where it
            // lies, the model left its checkers' 160-byte pieces as holes
            // between the real servers it keeps, which the allocator can
            // reuse but not give back; the original freed whole is one
            // span it can give back (the child trims after each apply).
            *config = Config::clone(config);
        } else {
            let mut copy = Config::clone(&self.config);
            strip(&mut copy);
            self.config = Arc::new(copy);
        }
        Arc::clone(&self.config)
    }
}

/// Whether `config` still holds anything [`strip`] takes out.
fn carries_build_model(config: &Config) -> bool {
    config.virtual_servers.iter().any(|vs| {
        vs.real_servers.iter().any(holds_build_model)
            || vs
                .named_real_servers
                .iter()
                .any(|n| holds_build_model(&n.template))
    })
}

fn holds_build_model(rs: &RealServer) -> bool {
    !rs.checkers.is_empty()
        || rs.notify_up.is_some()
        || rs.notify_down.is_some()
        || rs.checker_defaults.is_some()
}

fn strip(config: &mut Config) {
    for vs in &mut config.virtual_servers {
        for rs in &mut vs.real_servers {
            strip_rs(rs);
        }
        // The running pool's configuration has its names' addresses
        // written in already; the templates are the resolver's business,
        // which keeps the configuration as the supervisor sent it.
        for named in &mut vs.named_real_servers {
            strip_rs(&mut named.template);
        }
    }
}

fn strip_rs(rs: &mut RealServer) {
    rs.checkers = Vec::new();
    rs.notify_up = None;
    rs.notify_down = None;
    // Inherited by the checkers when the book is built, and only then.
    rs.checker_defaults = None;
}
