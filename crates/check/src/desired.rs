// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The IPVS table the configuration calls for, given the health checks'
//! verdicts: what keepalived 2.2.7 would have programmed into the kernel
//! at the same point.
//!
//! Per virtual server (keepalived/check/ipwrapper.c `init_service_rs`,
//! `perform_svr_state`, `update_quorum_state`, `perform_quorum_state`,
//! `init_service_vs`; ipvswrapper.c `ipvs_cmd`):
//! * an alive real server is in every service of the virtual server with
//!   its weight (a dynamic weight clamped to 0..INT_MAX);
//! * a dead one is removed, unless `inhibit_on_failure`: then it stays
//!   with weight 0 (and is there with weight 0 from the start if it starts
//!   down, as in alpha mode);
//! * quorum (sum of alive weights, with hysteresis, see [`crate::quorum`])
//!   lost and a sorry server configured: the real servers leave (inhibited
//!   ones stay with weight 0) and the sorry server is added with weight 1;
//!   regained: the sorry server leaves (`sorry_server_inhibit`: stays with
//!   weight 0, and is there with weight 0 from the start) and the alive
//!   real servers come back;
//! * a real server that is also the sorry server is a single destination.
//!
//! Services two virtual servers share (two blocks on one group, or an
//! address listed twice) keep the first block's settings and merge their
//! destinations, the first one winning, as the kernel's EEXIST does for
//! keepalived. A destination of another family than its service is left
//! out unless tunnelled: the kernel refuses it.

use std::collections::HashMap;

use keepalived_config::model::Config;
use keepalived_config::model::lvs::{
    Forwarding, LvsMethod, RealServer, TunnelCsum, TunnelType as CfgTunnelType, VirtualServer,
};
use keepalived_ipvs::model::{
    DestKey, Destination, Family, Forward, ServiceEntry, ServiceKey, Table, Tunnel, TunnelType,
};

use crate::expand::{self, Expanded};
use crate::health::{HealthView, alive_at_start, real_weight};
use crate::ids::{RealServerId, VirtualServerId};
use crate::quorum::QuorumBook;

/// The table for `config` under `health` and the quorum states of
/// `quorum` (a virtual server the book has not seen starts as keepalived's
/// `set_quorum_states` says). Pure: the same inputs give the same table.
pub fn desired_table(config: &Config, health: &dyn HealthView, quorum: &QuorumBook) -> Table {
    let ids = VirtualServerId::all(config);
    let all: Vec<usize> = (0..config.virtual_servers.len()).collect();
    services_of(config, &ids, &all, health, quorum)
}

/// The merged services of the virtual servers at `indices` (in
/// configuration order), `ids` being [`VirtualServerId::all`] of `config`.
pub fn services_of(
    config: &Config,
    ids: &[VirtualServerId],
    indices: &[usize],
    health: &dyn HealthView,
    quorum: &QuorumBook,
) -> Table {
    let mut table = Table::default();
    // Where each service sits in `table`: a linear search per service was
    // quadratic (50 M comparisons at 10 000 services).
    let mut index: HashMap<ServiceKey, usize> = HashMap::new();
    for &i in indices {
        let (Some(vs), Some(id)) = (config.virtual_servers.get(i), ids.get(i)) else {
            continue;
        };
        let members = members(vs, id, health);
        let up = quorum.state(id, live_weight(&members), vs.quorum, vs.hysteresis);
        let sorry_mode = !up && vs.sorry_server.as_ref().is_some_and(|s| s.ip.is_some());
        for exp in expand::services(config, vs) {
            let dests = service_dests(vs, &exp, &members, sorry_mode);
            merge(&mut table, &mut index, exp, dests);
        }
    }
    table
}

/// The sum of the clamped weights of the alive real servers of `vs`
/// (keepalived's `weigh_live_realservers`).
pub fn live_weight_of(vs: &VirtualServer, id: &VirtualServerId, health: &dyn HealthView) -> u64 {
    live_weight(&members(vs, id, health))
}

fn live_weight(members: &[Member<'_>]) -> u64 {
    members
        .iter()
        .filter(|m| m.alive)
        .map(|m| u64::from(m.weight))
        .sum()
}

/// Moves every virtual server's quorum state as the live weights under
/// `health` say (with hysteresis); returns the indices of those whose
/// state changed. The only place outside the reconciler that writes the
/// book.
pub fn evaluate_quorum(
    config: &Config,
    health: &dyn HealthView,
    quorum: &mut QuorumBook,
) -> Vec<usize> {
    let ids = VirtualServerId::all(config);
    let mut changed = Vec::new();
    for (i, (vs, id)) in config.virtual_servers.iter().zip(&ids).enumerate() {
        let w = live_weight_of(vs, id, health);
        let before = quorum.get(id);
        let after = quorum.update(id, w, vs.quorum, vs.hysteresis);
        if before.is_some_and(|b| b != after) {
            changed.push(i);
        }
    }
    changed
}

/// The table keepalived programs at start-up: no verdicts yet, a fresh
/// quorum book.
pub fn startup_table(config: &Config) -> Table {
    desired_table(config, &crate::health::AtStart, &QuorumBook::new())
}

/// A real server with its verdict resolved.
struct Member<'a> {
    rs: &'a RealServer,
    alive: bool,
    weight: u32,
    inhibit: bool,
}

fn members<'a>(
    vs: &'a VirtualServer,
    vs_id: &VirtualServerId,
    health: &dyn HealthView,
) -> Vec<Member<'a>> {
    vs.real_servers
        .iter()
        .map(|rs| {
            let id = RealServerId {
                vs: vs_id.clone(),
                addr: rs.ip,
                port: expand::rs_port(rs),
            };
            let configured = i64::from(rs.effective_weight(vs));
            Member {
                rs,
                alive: health.alive(&id).unwrap_or_else(|| alive_at_start(rs, vs)),
                weight: real_weight(health.weight(&id).unwrap_or(configured)),
                inhibit: rs.effective_inhibit_on_failure(vs),
            }
        })
        .collect()
}

fn service_dests(
    vs: &VirtualServer,
    exp: &Expanded,
    members: &[Member<'_>],
    sorry_mode: bool,
) -> Vec<Destination> {
    let svc_port = match exp.service.key {
        ServiceKey::Addr { port, .. } => port,
        ServiceKey::Fwmark { .. } => 0,
    };
    // Sized up front: the programmed table keeps these lists, one per
    // service, and a list grown by pushes keeps room for up to twice its
    // destinations.
    let mut out: Vec<Destination> =
        Vec::with_capacity(members.len() + usize::from(vs.sorry_server.is_some()));
    for m in members {
        let weight = match (m.alive && !sorry_mode, m.inhibit) {
            (true, _) => m.weight,
            (false, true) => 0,
            (false, false) => continue,
        };
        let fwd = m.rs.effective_lvs_method(vs);
        let port = expand::dest_port(fwd.method, expand::rs_port(m.rs), exp.origin, svc_port);
        let d = destination(m.rs.ip, port, fwd, weight, m.rs);
        push_unique(&mut out, d, &exp.service.key);
    }
    if let Some(s) = &vs.sorry_server
        && let Some(ip) = s.ip
    {
        let fwd = s.lvs_method.unwrap_or_else(|| vs.effective_lvs_method());
        let port = expand::dest_port(fwd.method, expand::sorry_port(s), exp.origin, svc_port);
        let key = DestKey { addr: ip, port };
        let d = Destination {
            key,
            forward: forward(fwd.method),
            weight: 1,
            u_threshold: 0,
            l_threshold: 0,
            tunnel: tunnel(fwd),
        };
        if sorry_mode {
            out.retain(|x| x.key != key);
            push_unique(&mut out, d, &exp.service.key);
        } else if s.inhibit && out.iter().all(|x| x.key != key) {
            let duplicates_rs = vs
                .real_servers
                .iter()
                .any(|rs| rs.ip == ip && expand::rs_port(rs) == expand::sorry_port(s));
            if !duplicates_rs {
                push_unique(&mut out, Destination { weight: 0, ..d }, &exp.service.key);
            }
        }
    }
    out
}

fn push_unique(out: &mut Vec<Destination>, d: Destination, svc: &ServiceKey) {
    let fits = d.forward == Forward::Tunnel || Family::of(&d.key.addr) == svc.family();
    if fits && out.iter().all(|x| x.key != d.key) {
        out.push(d);
    }
}

fn destination(
    addr: std::net::IpAddr,
    port: u16,
    fwd: Forwarding,
    weight: u32,
    rs: &RealServer,
) -> Destination {
    Destination {
        key: DestKey { addr, port },
        forward: forward(fwd.method),
        weight,
        u_threshold: rs.uthreshold.unwrap_or(0),
        l_threshold: rs.lthreshold.unwrap_or(0),
        tunnel: tunnel(fwd),
    }
}

fn forward(m: LvsMethod) -> Forward {
    match m {
        LvsMethod::Nat => Forward::Masq,
        LvsMethod::Dr => Forward::Route,
        LvsMethod::Tun => Forward::Tunnel,
    }
}

/// GUE and GRE settings; plain IPIP is `None`.
fn tunnel(fwd: Forwarding) -> Option<Tunnel> {
    let t = fwd.tunnel?;
    let tun_type = match t.tun_type {
        CfgTunnelType::Ipip => return None,
        CfgTunnelType::Gue => TunnelType::Gue,
        CfgTunnelType::Gre => TunnelType::Gre,
    };
    Some(Tunnel {
        tun_type,
        port: t.port.unwrap_or(0),
        flags: match t.csum {
            TunnelCsum::Nocsum => 0,
            TunnelCsum::Csum => 1,
            TunnelCsum::Remcsum => 2,
        },
    })
}

/// Adds a service to the table, or merges its destinations into the one
/// already there (first settings and first destination win).
fn merge(
    table: &mut Table,
    index: &mut HashMap<ServiceKey, usize>,
    exp: Expanded,
    dests: Vec<Destination>,
) {
    if let Some(e) = index
        .get(&exp.service.key)
        .and_then(|&i| table.services.get_mut(i))
    {
        for d in dests {
            if e.dests.iter().all(|x| x.key != d.key) {
                e.dests.push(d);
            }
        }
        return;
    }
    index.insert(exp.service.key, table.services.len());
    table.services.push(ServiceEntry {
        service: exp.service,
        dests,
    });
}
