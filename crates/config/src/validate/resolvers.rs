// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Checks for the keepalived-rs `resolvers` extension: each block is
//! usable on its own and every `real_server_name` names one. A mistake
//! drops what it concerns with a general error (`-t` exits non-zero),
//! as keepalived does for its own unusable blocks.

use crate::diag::{Category, Diagnostics};
use crate::model::Config;
use crate::model::resolvers::{InitAddr, NamedRealServer};

pub(super) fn check(cfg: &mut Config, diags: &mut Diagnostics) {
    let mut seen: Vec<String> = Vec::new();
    cfg.resolvers.retain(|v| {
        if seen.contains(&v.name) {
            diags.report(
                Category::GeneralError,
                v.loc.clone(),
                format!("resolvers {} is defined twice; this one is ignored", v.name),
            );
            return false;
        }
        seen.push(v.name.clone());
        if v.nameservers.is_empty() && !v.parse_resolv_conf {
            diags.report(
                Category::GeneralError,
                v.loc.clone(),
                format!(
                    "resolvers {} has no nameserver and no parse-resolv-conf; ignored",
                    v.name
                ),
            );
            return false;
        }
        true
    });
    for v in &cfg.resolvers {
        diags.report(
            Category::Info,
            v.loc.clone(),
            format!(
                "resolvers {} (keepalived-rs extension): {} nameserver(s){}, a lookup every {}s, \
                 {} retries {}s apart; an address gone from answers is removed after {}s, \
                 NXDOMAIN removes the name's real servers after {}s; timeouts and errors change nothing",
                v.name,
                v.nameservers.len(),
                if v.parse_resolv_conf { " + /etc/resolv.conf" } else { "" },
                v.timeout_resolve,
                v.resolve_retries,
                v.timeout_retry,
                v.hold.obsolete,
                v.hold.nx,
            ),
        );
    }
    let known: Vec<&str> = cfg.resolvers.iter().map(|v| v.name.as_str()).collect();
    let with_state: Vec<&str> = cfg
        .resolvers
        .iter()
        .filter(|v| v.state_file.is_some())
        .map(|v| v.name.as_str())
        .collect();
    for vs in &mut cfg.virtual_servers {
        let vs_name = vs.key.to_string();
        for n in &mut vs.named_real_servers {
            init_addr_usable(n, &with_state, &vs_name, diags);
        }
        let mut hosts: Vec<(String, Option<u16>)> = Vec::new();
        vs.named_real_servers.retain(|n| {
            if !known.contains(&n.resolvers.as_str()) {
                diags.report(
                    Category::GeneralError,
                    n.loc.clone(),
                    format!(
                        "virtual server {vs_name}: real_server_name {} uses unknown resolvers '{}'; skipped",
                        n.host, n.resolvers
                    ),
                );
                return false;
            }
            let key = (n.host.clone(), n.port);
            if hosts.contains(&key) {
                diags.report(
                    Category::GeneralError,
                    n.loc.clone(),
                    format!(
                        "virtual server {vs_name}: real_server_name {} is a duplicate; removed",
                        n.host
                    ),
                );
                return false;
            }
            hosts.push(key);
            let lookup = if n.is_srv() { "SRV target of the lowest priority that resolves (port and weight from its record)" } else { "A/AAAA address" };
            diags.report(
                Category::Info,
                n.loc.clone(),
                format!(
                    "virtual server {vs_name}: real_server_name {} (keepalived-rs extension) \
                     becomes one real server per {lookup}, at most {}, through resolvers {}; \
                     {}",
                    n.host,
                    n.max_addresses,
                    n.resolvers,
                    start_rule(&n.init_addr)
                ),
            );
            true
        });
    }
}

/// `init_addr last` needs a `state_file` in its resolvers, `libc` an A/AAAA
/// name (getaddrinfo has no SRV): otherwise that method is dropped with
/// an error, the others stay.
fn init_addr_usable(
    n: &mut NamedRealServer,
    with_state: &[&str],
    vs_name: &str,
    diags: &mut Diagnostics,
) {
    let mut keep = Vec::new();
    for m in std::mem::take(&mut n.init_addr) {
        let why = match m {
            InitAddr::Last if !with_state.contains(&n.resolvers.as_str()) => Some(format!(
                "init_addr last needs 'state_file PATH' in resolvers {}",
                n.resolvers
            )),
            InitAddr::Libc if n.is_srv() => {
                Some("init_addr libc cannot look up an SRV name".to_string())
            }
            _ => None,
        };
        match why {
            Some(why) => diags.report(
                Category::GeneralError,
                n.loc.clone(),
                format!(
                    "virtual server {vs_name}: real_server_name {}: {why}; that method is ignored",
                    n.host
                ),
            ),
            None => keep.push(m),
        }
    }
    n.init_addr = keep;
}

/// What `-t` says of a name's start-up.
fn start_rule(init: &[InitAddr]) -> String {
    let words: Vec<String> = init
        .iter()
        .map(|m| match m {
            InitAddr::Last => "last".to_string(),
            InitAddr::Libc => "libc".to_string(),
            InitAddr::None => "none".to_string(),
            InitAddr::Addr(a) => a.to_string(),
        })
        .collect();
    if words.is_empty() || words[0] == "none" {
        "none exists until the first valid answer".to_string()
    } else {
        format!(
            "until the first valid answer its addresses come from init_addr {}",
            words.join(",")
        )
    }
}
