// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The names of the running configuration as the checker child last
//! heard of them, and the rule that turns a lookup's status into a new
//! configuration: only a change of a name's addresses is applied, on its
//! own path (`Pool::addresses_changed`, not a reload).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use keepalived_config::Config;

use super::expand::{Lookup, LookupKey, expand};
use super::name::Target;
use super::status::NameStatus;

/// Which lookups are configured and each one's last status; the
/// addresses written into the configuration are derived from it.
#[derive(Debug, Clone, Default)]
pub struct Names {
    keys: BTreeSet<LookupKey>,
    status: BTreeMap<LookupKey, NameStatus>,
}

impl Names {
    /// The lookups of a new configuration: a name kept keeps its status
    /// and addresses (the rule for a reload), the others are forgotten.
    pub fn keep(&mut self, lookups: &[Lookup]) {
        self.keys = lookups.iter().map(|l| l.key.clone()).collect();
        let keys = &self.keys;
        self.status.retain(|k, _| keys.contains(k));
    }

    /// Records a lookup's status. True when the name's addresses changed,
    /// so the configuration is to be expanded and applied again; the
    /// status of a lookup no longer configured (a task stopped late) is
    /// ignored.
    pub fn update(&mut self, key: LookupKey, status: NameStatus) -> bool {
        if !self.keys.contains(&key) {
            return false;
        }
        let before = self.status.get(&key).map_or(&[][..], |s| &s.addresses);
        let changed = before != status.addresses.as_slice();
        self.status.insert(key, status);
        changed
    }

    /// Each name that has addresses, with them.
    pub fn addresses(&self) -> BTreeMap<LookupKey, Vec<Target>> {
        self.status
            .iter()
            .filter(|(_, s)| !s.addresses.is_empty())
            .map(|(k, s)| (k.clone(), s.addresses.clone()))
            .collect()
    }

    /// Each configured name heard of, with its last status, in key order.
    pub fn statuses(&self) -> impl Iterator<Item = (&LookupKey, &NameStatus)> {
        self.status.iter()
    }

    /// `base` with the names' current addresses written in (`base`
    /// itself while no name has an address).
    pub fn expand(&self, base: &Arc<Config>) -> Arc<Config> {
        let sets = self.addresses();
        if sets.is_empty() {
            Arc::clone(base)
        } else {
            Arc::new(expand(base, &sets))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use keepalived_config::model::resolvers::Resolvers;

    use super::super::expand::LookupKind;
    use super::super::status::{Counters, LastResult};
    use super::*;

    fn key(host: &str) -> LookupKey {
        LookupKey {
            resolvers: "dns1".into(),
            host: host.into(),
            kind: LookupKind::A,
        }
    }

    fn lookup(host: &str) -> Lookup {
        Lookup {
            key: key(host),
            resolvers: Resolvers::default(),
            max_addresses: 64,
            init_addr: Vec::new(),
        }
    }

    fn status(host: &str, last: &[u8]) -> NameStatus {
        NameStatus {
            name: host.into(),
            addresses: last
                .iter()
                .map(|&b| Target {
                    addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, b)),
                    port: 0,
                    weight: None,
                })
                .collect(),
            ttl_left: None,
            last_result: LastResult::Valid,
            stale: false,
            counters: Counters::default(),
        }
    }

    #[test]
    fn only_a_change_of_addresses_of_a_configured_name_counts() {
        let mut n = Names::default();
        assert!(!n.update(key("a"), status("a", &[1])), "not configured");
        n.keep(&[lookup("a"), lookup("b")]);
        assert!(!n.update(key("a"), status("a", &[])), "still none");
        assert!(n.update(key("a"), status("a", &[1])));
        assert!(!n.update(key("a"), status("a", &[1])), "same addresses");
        assert!(n.update(key("b"), status("b", &[2, 3])));
        assert_eq!(n.statuses().count(), 2);
        assert_eq!(n.addresses().len(), 2);
        assert!(n.update(key("b"), status("b", &[])));
        assert_eq!(n.addresses().len(), 1, "a name without addresses adds none");
        assert_eq!(n.statuses().count(), 2, "but its status is kept");
        n.keep(&[lookup("a")]);
        assert_eq!(n.statuses().count(), 1, "a dropped name is forgotten");
        assert!(!n.update(key("b"), status("b", &[4])), "a late status");
        assert_eq!(n.addresses().keys().collect::<Vec<_>>(), vec![&key("a")]);
    }
}
