// SPDX-License-Identifier: Apache-2.0 OR MIT
//! From an SRV answer to real servers: which targets need a query of
//! their own, what each target's addresses are, and which priority is in
//! use.
//!
//! - A target the additional section gives addresses for takes them; one
//!   it says nothing of is asked on its own (A or AAAA, the family the
//!   lookup keeps), since many servers send no additional records.
//! - A target whose own query failed (timeout, refusal, error) keeps the
//!   addresses it last had: as for the name itself, a DNS outage changes
//!   nothing. NXDOMAIN, or NOERROR without address, means it has none.
//! - RFC 2782 priority: only the records of the lowest priority value
//!   that has a target with an address are used; higher values are
//!   fallbacks, used only while no lower one resolves. Weights stay the
//!   real servers' weights.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use super::name::Target;

/// One SRV record of an answer, as the wire reader (keepalived-probe)
/// returns it, with what the additional section said of its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    /// Lower case, without the final dot.
    pub target: String,
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// The target's addresses of the asked family from the additional
    /// section (at most the reader's bound); empty when it gave none.
    pub glue: Vec<IpAddr>,
}

/// How a target's own query ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// NOERROR with these addresses (none: the target has none).
    Found(Vec<IpAddr>),
    /// NXDOMAIN.
    Gone,
    /// Timeout, refusal or another error: nothing learnt.
    Failed,
}

/// The targets' last known addresses, kept across lookups of one name.
#[derive(Debug, Clone, Default)]
pub struct SrvTargets {
    known: BTreeMap<String, Vec<IpAddr>>,
}

/// The targets an answer gives no address for, once each, in order.
pub fn to_follow(records: &[SrvRecord]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    records
        .iter()
        .filter(|r| r.glue.is_empty())
        .filter(|r| seen.insert(r.target.as_str()))
        .map(|r| r.target.clone())
        .collect()
}

impl SrvTargets {
    /// The real servers of an answer: each record's addresses (glue, the
    /// target's own answer, or what it last had), then only the lowest
    /// priority that has any.
    pub fn targets(
        &mut self,
        records: &[SrvRecord],
        followed: &BTreeMap<String, Followed>,
    ) -> Vec<Target> {
        let mut addrs: BTreeMap<&str, Vec<IpAddr>> = BTreeMap::new();
        for r in records {
            if addrs.contains_key(r.target.as_str()) {
                continue;
            }
            let now = if !r.glue.is_empty() {
                r.glue.clone()
            } else {
                match followed.get(&r.target) {
                    Some(Followed::Found(a)) => a.clone(),
                    Some(Followed::Gone) => Vec::new(),
                    Some(Followed::Failed) | None => {
                        self.known.get(&r.target).cloned().unwrap_or_default()
                    }
                }
            };
            addrs.insert(&r.target, now);
        }
        // A target no longer named is forgotten.
        self.known = addrs
            .iter()
            .filter(|(_, a)| !a.is_empty())
            .map(|(t, a)| ((*t).to_owned(), a.clone()))
            .collect();
        let in_use = records
            .iter()
            .filter(|r| addrs.get(r.target.as_str()).is_some_and(|a| !a.is_empty()))
            .map(|r| r.priority)
            .min();
        let Some(priority) = in_use else {
            return Vec::new();
        };
        records
            .iter()
            .filter(|r| r.priority == priority)
            .flat_map(|r| {
                addrs
                    .get(r.target.as_str())
                    .into_iter()
                    .flatten()
                    .map(|&addr| Target {
                        addr,
                        port: r.port,
                        weight: Some(r.weight),
                    })
            })
            .collect()
    }
}
