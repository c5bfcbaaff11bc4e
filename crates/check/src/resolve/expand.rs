// SPDX-License-Identifier: Apache-2.0 OR MIT
//! From names to real servers: which lookups a configuration needs, and
//! the configuration the pool runs once the names' current addresses are
//! written in as plain real servers.
//!
//! Writing the addresses in keeps one description of the table: the pool
//! takes the expanded configuration (`Pool::addresses_changed`, not a
//! reload) and moves only the real servers that came or went.

use std::collections::BTreeMap;

use keepalived_config::Config;
use keepalived_config::model::lvs::{
    IpFamily, LvsMethod, RealServer, VirtualServer, VirtualServerKey,
};
use keepalived_config::model::resolvers::{InitAddr, NamedRealServer, Prefer, Resolvers};
use serde::{Deserialize, Serialize};

use super::name::Target;

/// One lookup: the same name asked the same way through the same
/// resolvers is looked up once, whichever services use it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LookupKey {
    pub resolvers: String,
    pub host: String,
    pub kind: LookupKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LookupKind {
    A,
    Aaaa,
    /// SRV, keeping targets' addresses of this family.
    SrvV4,
    SrvV6,
}

impl LookupKind {
    pub fn is_v6(self) -> bool {
        matches!(self, LookupKind::Aaaa | LookupKind::SrvV6)
    }
}

/// A lookup with what it needs to run.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    pub key: LookupKey,
    pub resolvers: Resolvers,
    /// The largest `max_addresses` of the names sharing it.
    pub max_addresses: u32,
    /// The start-up methods of the first name using it.
    pub init_addr: Vec<InitAddr>,
}

fn family(vs: &VirtualServer, r: &Resolvers) -> IpFamily {
    match &vs.key {
        VirtualServerKey::Addr { ip, .. } => IpFamily::of(ip),
        _ => match vs.ip_family {
            Some(f) => f,
            None => match r.resolve_prefer {
                Prefer::Ipv4 => IpFamily::Inet,
                Prefer::Ipv6 => IpFamily::Inet6,
            },
        },
    }
}

fn key_of(vs: &VirtualServer, n: &NamedRealServer, r: &Resolvers) -> LookupKey {
    let v6 = family(vs, r) == IpFamily::Inet6;
    let kind = match (n.is_srv(), v6) {
        (false, false) => LookupKind::A,
        (false, true) => LookupKind::Aaaa,
        (true, false) => LookupKind::SrvV4,
        (true, true) => LookupKind::SrvV6,
    };
    LookupKey {
        resolvers: n.resolvers.clone(),
        host: n.host.clone(),
        kind,
    }
}

/// Every lookup `config` needs, once each, in key order.
pub fn lookups(config: &Config) -> Vec<Lookup> {
    let mut out: BTreeMap<LookupKey, Lookup> = BTreeMap::new();
    for vs in &config.virtual_servers {
        for n in &vs.named_real_servers {
            let Some(r) = config.resolvers.iter().find(|r| r.name == n.resolvers) else {
                continue;
            };
            let key = key_of(vs, n, r);
            out.entry(key.clone())
                .and_modify(|l| l.max_addresses = l.max_addresses.max(n.max_addresses))
                .or_insert_with(|| Lookup {
                    key,
                    resolvers: r.clone(),
                    max_addresses: n.max_addresses,
                    init_addr: n.init_addr.clone(),
                });
        }
    }
    out.into_values().collect()
}

/// `base` with each name's current addresses written in as real servers
/// after the written ones. An address that a written `real_server`
/// already names (same address and port) is left to it; a name with no
/// address yet adds nothing.
pub fn expand(base: &Config, sets: &BTreeMap<LookupKey, Vec<Target>>) -> Config {
    let mut out = base.clone();
    for vs in &mut out.virtual_servers {
        let named = std::mem::take(&mut vs.named_real_servers);
        for n in &named {
            let Some(r) = base.resolvers.iter().find(|r| r.name == n.resolvers) else {
                continue;
            };
            let Some(targets) = sets.get(&key_of(vs, n, r)) else {
                continue;
            };
            for t in targets.iter().take(n.max_addresses as usize) {
                let rs = real_server(n, t);
                let port = rs.effective_port(vs);
                let tunnelled = rs
                    .lvs_method
                    .or(vs.lvs_method)
                    .is_some_and(|f| f.method == LvsMethod::Tun);
                let wrong_family = !tunnelled
                    && matches!(&vs.key, VirtualServerKey::Addr { ip, .. }
                        if IpFamily::of(ip) != IpFamily::of(&t.addr));
                let taken = vs
                    .real_servers
                    .iter()
                    .any(|o| o.ip == rs.ip && o.effective_port(vs) == port);
                if !wrong_family && !taken {
                    vs.real_servers.push(rs);
                }
            }
        }
        vs.named_real_servers = named;
    }
    out
}

fn real_server(n: &NamedRealServer, t: &Target) -> RealServer {
    let mut rs = n.template.clone();
    rs.ip = t.addr;
    if t.port != 0 {
        rs.port = Some(t.port);
    }
    if let Some(w) = t.weight {
        rs.weight = Some(u32::from(w));
    }
    rs
}
