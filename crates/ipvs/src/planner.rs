// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Desired table + kernel table -> the ordered list of [`Op`]s that turns
//! one into the other, touching only what is ours.
//!
//! Pure code: no sockets, no clock. The checker child calls [`plan`] each
//! time its desired table changes (and after a dump at start-up); the
//! netlink client carries the ops out in order.
//!
//! Ownership. The kernel's table is shared: another keepalived, ipvsadm or
//! kube-proxy may hold services there. We own a service when our
//! configuration names it (it is in `desired`) or named it before (it is
//! in [`Owned`], so a virtual server removed on reload is deleted); we own
//! every destination of a service we own. Nothing else is read or written,
//! unless a flush was asked for (`lvs_flush`), which clears everything.
//!
//! Order. A service is added before its destinations; a service we no
//! longer want is deleted with one `DelService`: the kernel unlinks its
//! destinations itself (`ip_vs_del_service` -> `__ip_vs_del_service` walks
//! `svc->destinations` and unlinks each one, net/netfilter/ipvs/ip_vs_ctl.c),
//! so no `DelDest` precedes it. Within a kept service, stale destinations
//! go first, then changed ones, then new ones, so that a server moving
//! between ports never briefly doubles. Services are visited in key order,
//! so the same inputs always give the same ops.
//!
//! Adoption (`-I`, restart over a live table): an entry the kernel already
//! holds with the wanted settings produces no op at all.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{
    DestKey, Destination, Forward, Op, Service, ServiceEntry, ServiceKey, Table, Timeouts,
    TunnelType, svc_flags,
};

/// The services we manage beyond those in the desired table: those our
/// previous configuration named (so their removal deletes them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Owned {
    services: BTreeSet<ServiceKey>,
}

impl Owned {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every service of `table`.
    pub fn of(table: &Table) -> Self {
        let mut o = Self::new();
        o.extend_from(table);
        o
    }

    pub fn insert(&mut self, key: ServiceKey) {
        self.services.insert(key);
    }

    pub fn extend_from(&mut self, table: &Table) {
        self.services
            .extend(table.services.iter().map(|e| e.service.key));
    }

    pub fn contains(&self, key: &ServiceKey) -> bool {
        self.services.contains(key)
    }
}

/// How [`plan`] may act beyond the default reconciliation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// Start with a `Flush` and rebuild from nothing (`lvs_flush` at
    /// start-up): foreign services go too.
    pub flush: bool,
}

/// The ops that make `current` hold `desired` on everything we own (see
/// the module documentation), and nothing else.
pub fn plan(desired: &Table, current: &Table, owned: &Owned, opts: PlanOptions) -> Vec<Op> {
    let want = index(desired);
    let empty = BTreeMap::new();
    let have_all = index(current);
    let have = if opts.flush { &empty } else { &have_all };
    let mut ops = Vec::new();
    if opts.flush {
        ops.push(Op::Flush);
    }

    // Services we own that are no longer wanted. Their destinations go
    // with them.
    for key in have.keys() {
        if !want.contains_key(key) && owned.contains(key) {
            ops.push(Op::DelService(*key));
        }
    }

    for (key, (svc, dests)) in &want {
        match have.get(key) {
            None => {
                ops.push(Op::AddService((*svc).clone()));
                for d in dests.values() {
                    ops.push(Op::AddDest(*key, (*d).clone()));
                }
            }
            Some((cur, cur_dests)) => {
                if !same_service_settings(svc, cur) {
                    ops.push(Op::SetService((*svc).clone()));
                }
                plan_dests(*key, dests, cur_dests, &mut ops);
            }
        }
    }
    ops
}

fn plan_dests(
    key: ServiceKey,
    want: &BTreeMap<DestKey, &Destination>,
    have: &BTreeMap<DestKey, &Destination>,
    ops: &mut Vec<Op>,
) {
    for dk in have.keys() {
        if !want.contains_key(dk) {
            ops.push(Op::DelDest(key, *dk));
        }
    }
    for (dk, d) in want {
        if let Some(cur) = have.get(dk)
            && !same_dest_settings(d, cur)
        {
            ops.push(Op::SetDest(key, (*d).clone()));
        }
    }
    for (dk, d) in want {
        if !have.contains_key(dk) {
            ops.push(Op::AddDest(key, (*d).clone()));
        }
    }
}

type Indexed<'a> = BTreeMap<ServiceKey, (&'a Service, BTreeMap<DestKey, &'a Destination>)>;

/// Key-ordered view of a table. A key listed twice keeps its first entry
/// (the kernel would refuse the second add with EEXIST), and so does a
/// destination listed twice within one service.
fn index(table: &Table) -> Indexed<'_> {
    let mut out: Indexed<'_> = BTreeMap::new();
    for ServiceEntry { service, dests } in &table.services {
        let (_, ds) = out
            .entry(service.key)
            .or_insert_with(|| (service, BTreeMap::new()));
        for d in dests {
            ds.entry(d.key).or_insert(d);
        }
    }
    out
}

/// Whether two services need no `SetService` between them. The kernel adds
/// HASHED to what it reports, so that bit is not compared.
pub fn same_service_settings(a: &Service, b: &Service) -> bool {
    let mask = !svc_flags::HASHED;
    a.scheduler == b.scheduler
        && a.flags & mask == b.flags & mask
        && a.timeout == b.timeout
        && a.netmask == b.netmask
        && a.pe_name.as_deref().unwrap_or("") == b.pe_name.as_deref().unwrap_or("")
}

/// Whether two destinations need no `SetDest` between them. The tunnel
/// settings only matter for a tunnelled destination, and plain IPIP may be
/// written either as `None` or as an all-default IPIP tunnel (the kernel
/// reports the attributes for every destination).
pub fn same_dest_settings(a: &Destination, b: &Destination) -> bool {
    let tunnel_of = |d: &Destination| {
        if d.forward != Forward::Tunnel {
            return None;
        }
        d.tunnel
            .filter(|t| !(t.tun_type == TunnelType::Ipip && t.port == 0 && t.flags == 0))
    };
    a.forward == b.forward
        && a.weight == b.weight
        && a.u_threshold == b.u_threshold
        && a.l_threshold == b.l_threshold
        && tunnel_of(a) == tunnel_of(b)
}

/// The `SetTimeouts` that brings the kernel's connection timeouts to the
/// wanted ones, if any differ. A 0 in `want` means "leave as is", exactly
/// as the kernel reads it, so only the fields we set are compared.
pub fn plan_timeouts(want: Timeouts, current: Timeouts) -> Option<Op> {
    let differs = |w: u32, c: u32| w != 0 && w != c;
    (differs(want.tcp, current.tcp)
        || differs(want.tcp_fin, current.tcp_fin)
        || differs(want.udp, current.udp))
    .then_some(Op::SetTimeouts(want))
}
