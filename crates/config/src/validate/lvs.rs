// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Whole-configuration checks for the lvs side, in the order keepalived
//! 2.2.7 makes them. Each is a general error in keepalived (`-t` exits 5)
//! and adjusts the configuration the same way.
//!
//! Deliberately not reported, because keepalived 2.2.7 accepts them
//! silently: a `virtual_server group` naming no group (the service is
//! just not created), duplicate virtual servers, and `bind_if` naming an
//! interface the host lacks.

use crate::diag::{Diagnostics, Loc};
use crate::host::Host;
use crate::model::Config;
use crate::model::checker::Checker;
use crate::model::lvs::{
    LvsMethod, Protocol, RealServer, VirtualServer, VirtualServerGroup, VirtualServerKey,
};

pub(super) fn check(cfg: &mut Config, host: &dyn Host, diags: &mut Diagnostics) {
    let _ = host;
    check_checker_references(cfg, diags);
    check_link_local(cfg, diags);
    let groups = cfg.virtual_server_groups.clone();
    cfg.virtual_servers.retain_mut(|vs| {
        let group = match &vs.key {
            VirtualServerKey::Group(name) => match groups.iter().find(|g| &g.name == name) {
                Some(g) => Some(g),
                // keepalived ignores such a service without a word.
                None => return true,
            },
            _ => None,
        };
        check_virtual_server(vs, group, diags)
    });
}

/// Names (and where they were defined) of the root `track_file` blocks.
fn track_file_names(cfg: &Config) -> Vec<(String, Option<Loc>)> {
    cfg.track_files
        .iter()
        .map(|t| (t.name.clone(), t.at.0.clone()))
        .collect()
}

/// Names of the `bfd_instance` blocks.
fn bfd_instance_names(cfg: &Config) -> Vec<(String, Option<Loc>)> {
    cfg.bfd_instances
        .iter()
        .map(|b| (b.name.clone(), b.at.0.clone()))
        .collect()
}

/// Whether a definition at `def` comes before a use at `at`. keepalived
/// resolves these references while parsing, so a block defined further
/// down is "not found". Without locations (or across files, where the
/// order is not known here) we assume it is defined first.
fn defined_before(def: Option<&Loc>, at: Option<&Loc>) -> bool {
    match (def, at) {
        (Some(d), Some(a)) if d.file == a.file => d.line < a.line,
        _ => true,
    }
}

/// FILE_CHECK needs an earlier `track_file`, BFD_CHECK an earlier
/// `bfd_instance`; keepalived drops the checker otherwise.
fn check_checker_references(cfg: &mut Config, diags: &mut Diagnostics) {
    let files = track_file_names(cfg);
    let bfds = bfd_instance_names(cfg);
    // While the helpers know nothing, skip the checks rather than report
    // every reference as missing.
    let (check_files, check_bfds) = (!files.is_empty(), !bfds.is_empty());
    for vs in &mut cfg.virtual_servers {
        // A real_server_name's template: each of its addresses runs it.
        let templates = vs.named_real_servers.iter_mut().map(|n| &mut n.template);
        for rs in vs.real_servers.iter_mut().chain(templates) {
            rs.checkers.retain(|c| match c {
                Checker::FileCheck(f) if check_files => {
                    let ok = files.iter().any(|(n, d)| {
                        *n == f.track_file && defined_before(d.as_ref(), f.loc.as_ref())
                    });
                    if !ok {
                        diags.report(
                            crate::diag::Category::GeneralError,
                            f.loc.clone(),
                            format!(
                                "track_file '{}' is not defined before this FILE_CHECK; checker ignored",
                                f.track_file
                            ),
                        );
                    }
                    ok
                }
                Checker::BfdCheck(b) if check_bfds => {
                    let ok = bfds
                        .iter()
                        .any(|(n, d)| *n == b.name && defined_before(d.as_ref(), b.loc.as_ref()));
                    if !ok {
                        diags.report(
                            crate::diag::Category::GeneralError,
                            b.loc.clone(),
                            format!(
                                "BFD_CHECK: bfd_instance '{}' is not configured; checker ignored",
                                b.name
                            ),
                        );
                    }
                    ok
                }
                _ => true,
            });
        }
    }
}

/// A checker probing an IPv6 link-local address must say which interface
/// to use; keepalived drops it otherwise.
fn check_link_local(cfg: &mut Config, diags: &mut Diagnostics) {
    for vs in &mut cfg.virtual_servers {
        let vs_loc = vs.loc.clone();
        // A real_server_name's template has no address of its own (DNS
        // gives them): only a checker's connect_ip can be judged here.
        let plain = vs.real_servers.iter_mut().map(|rs| (Some(rs.ip), rs));
        let templates = vs
            .named_real_servers
            .iter_mut()
            .map(|n| (None, &mut n.template));
        for (rs_ip, rs) in plain.chain(templates) {
            let loc = rs.loc.clone().or_else(|| vs_loc.clone());
            rs.checkers.retain(|c| {
                let Some(common) = c.common() else {
                    return true;
                };
                let Some(dst) = common.connect_ip.or(rs_ip) else {
                    return true;
                };
                let link_local = matches!(dst, std::net::IpAddr::V6(v6) if v6.is_unicast_link_local());
                if link_local && common.bind_if.is_none() {
                    report(
                        diags,
                        loc.as_ref(),
                        format!(
                            "{} probes link-local address {dst} but has no bind_if; checker ignored",
                            c.kind()
                        ),
                    );
                    return false;
                }
                true
            });
        }
    }
}

fn report(diags: &mut Diagnostics, loc: Option<&Loc>, msg: String) {
    diags.report(crate::diag::Category::GeneralError, loc.cloned(), msg);
}

/// Checks one virtual server; false when keepalived drops it.
fn check_virtual_server(
    vs: &mut VirtualServer,
    group: Option<&VirtualServerGroup>,
    diags: &mut Diagnostics,
) -> bool {
    let loc = vs.loc.clone();
    let loc = loc.as_ref();
    let name = vs.key.to_string();
    // A service with only named real servers waits for DNS to fill it.
    if vs.real_servers.is_empty() && vs.named_real_servers.is_empty() {
        report(
            diags,
            loc,
            format!("virtual server {name} has no real servers; ignored"),
        );
        return false;
    }
    let is_fwmark = matches!(vs.key, VirtualServerKey::Fwmark(_))
        || group.is_some_and(|g| !g.has_addresses() && g.has_fwmarks());
    let uses_fwmarks =
        matches!(vs.key, VirtualServerKey::Fwmark(_)) || group.is_some_and(|g| g.has_fwmarks());
    let has_addresses =
        matches!(vs.key, VirtualServerKey::Addr { .. }) || group.is_some_and(|g| g.has_addresses());

    if vs.ha_suspend && uses_fwmarks {
        report(
            diags,
            loc,
            format!("virtual server {name}: ha_suspend cannot be used with fwmarks; cleared"),
        );
        vs.ha_suspend = false;
    }
    if has_addresses {
        check_address_service(vs, &name, loc, diags);
    }
    if vs.persistence_timeout.is_none()
        && let Some(g) = group
    {
        let zero_port = g
            .entries
            .iter()
            .any(|e| matches!(e, crate::model::lvs::VsgEntry::Range { port: 0, .. }));
        if zero_port {
            require_persistence(vs, &name, loc, diags);
        }
    }
    if vs.protocol.is_some() && is_fwmark {
        report(
            diags,
            loc,
            format!("virtual server {name}: protocol is ignored for a fwmark service"),
        );
        vs.protocol = None;
    }
    if vs.lvs_sched.is_none() {
        report(
            diags,
            loc,
            format!("virtual server {name}: no scheduler (lvs_sched) set; using wlc"),
        );
    }
    check_real_servers(vs, &name, loc, diags);
    check_quorum(vs, &name, loc, diags);
    true
}

fn check_address_service(
    vs: &mut VirtualServer,
    name: &str,
    loc: Option<&Loc>,
    diags: &mut Diagnostics,
) {
    if vs.protocol.is_none() {
        // The kernel would take protocol 0 as UDP; keepalived says so.
        report(
            diags,
            loc,
            format!("virtual server {name}: no protocol set; using UDP"),
        );
        vs.protocol = Some(Protocol::Udp);
    }
    if vs.ops && vs.protocol != Some(Protocol::Udp) {
        report(
            diags,
            loc,
            format!("virtual server {name}: one-packet scheduling (ops) needs UDP; cleared"),
        );
        vs.ops = false;
    }
    if vs.persistence_timeout.is_none() && matches!(vs.key, VirtualServerKey::Addr { port: 0, .. })
    {
        require_persistence(vs, name, loc, diags);
    }
}

/// A service on port 0 (all ports) only works with persistence; keepalived
/// turns it on with the default timeout and says so.
fn require_persistence(
    vs: &mut VirtualServer,
    name: &str,
    loc: Option<&Loc>,
    diags: &mut Diagnostics,
) {
    report(
        diags,
        loc,
        format!(
            "virtual server {name}: a zero port needs persistence; persistence_timeout set to 360"
        ),
    );
    vs.persistence_timeout = Some(crate::model::lvs::PERSISTENCE_TIMEOUT_DEFAULT);
}

fn same_rs(a: &RealServer, b: &RealServer, vs: &VirtualServer) -> bool {
    a.ip == b.ip && a.effective_port(vs) == b.effective_port(vs)
}

/// What is checked of a `real_server_name` template as of a real server:
/// the forwarding method, ports, and (in [`check_link_local`],
/// [`check_checker_references`]) its checkers; weights and checker fields
/// are read by the same code. Left to run time, where the addresses are
/// known: duplicates against real servers (named ones are compared by
/// name in `validate::resolvers`), the address family, the sorry server
/// twin and the quorum.
fn check_real_servers(
    vs: &mut VirtualServer,
    name: &str,
    loc: Option<&Loc>,
    diags: &mut Diagnostics,
) {
    // Duplicates: the second one goes.
    let mut kept: Vec<RealServer> = Vec::with_capacity(vs.real_servers.len());
    for rs in std::mem::take(&mut vs.real_servers) {
        if kept.iter().any(|k| same_rs(k, &rs, vs)) {
            report(
                diags,
                rs.loc.as_ref().or(loc),
                format!(
                    "virtual server {name}: real server {} is a duplicate; removed",
                    rs.ip
                ),
            );
        } else {
            kept.push(rs);
        }
    }
    vs.real_servers = kept;

    // One "no forwarding method" per virtual server, when a real or sorry
    // server needs the virtual server's and it has none.
    let templates = vs.named_real_servers.iter().map(|n| &n.template);
    let needs_method = vs
        .real_servers
        .iter()
        .chain(templates)
        .any(|rs| rs.lvs_method.is_none())
        || vs
            .sorry_server
            .as_ref()
            .is_some_and(|s| s.lvs_method.is_none());
    if needs_method && vs.lvs_method.is_none() {
        report(
            diags,
            loc,
            format!("virtual server {name}: no forwarding method (lvs_method) set; using NAT"),
        );
    }

    let twin_inhibit = vs.sorry_server.as_ref().and_then(|s| {
        let ip = s.ip?;
        let sport = s.port.unwrap_or(vs.port());
        vs.real_servers
            .iter()
            .find(|rs| rs.ip == ip && rs.effective_port(vs) == sport)
            .map(|rs| (ip, rs.effective_inhibit_on_failure(vs)))
    });
    if let (Some((ip, inhibit)), Some(s)) = (twin_inhibit, &mut vs.sorry_server)
        && inhibit != s.inhibit
    {
        report(
            diags,
            loc,
            format!(
                "virtual server {name}: real server {ip} is also the sorry server but their inhibit_on_failure differ; the sorry server follows the real server"
            ),
        );
        s.inhibit = inhibit;
    }
    check_ports(vs, name, loc, diags);
}

/// Unless NAT is used, real servers take the virtual server's port, and a
/// fwmark service takes none.
fn check_ports(vs: &mut VirtualServer, name: &str, loc: Option<&Loc>, diags: &mut Diagnostics) {
    let vport = vs.port();
    let is_fwmark = matches!(vs.key, VirtualServerKey::Fwmark(_));
    let is_group = matches!(vs.key, VirtualServerKey::Group(_));
    if is_group {
        // Group services: ports are compared per entry only at run time
        // in ways keepalived reports; the common case (all entries with
        // the real server's port) is clean.
        return;
    }
    let vs_method = vs.effective_lvs_method();
    for rs in &mut vs.real_servers {
        if rs.lvs_method.unwrap_or(vs_method).method == LvsMethod::Nat {
            continue;
        }
        let Some(p) = rs.port else { continue };
        if is_fwmark {
            report(
                diags,
                rs.loc.as_ref().or(loc),
                format!(
                    "fwmark virtual server {name}: real server {} has a port, which is cleared",
                    rs.ip
                ),
            );
            rs.port = None;
        } else if p != vport {
            report(
                diags,
                rs.loc.as_ref().or(loc),
                format!(
                    "virtual server {name} and real server {} ports differ; the real server takes port {vport}",
                    rs.ip
                ),
            );
            rs.port = None;
        }
    }
    for n in &mut vs.named_real_servers {
        let rs = &mut n.template;
        if rs.lvs_method.unwrap_or(vs_method).method == LvsMethod::Nat {
            continue;
        }
        let Some(p) = rs.port else { continue };
        if is_fwmark || p != vport {
            let why = if is_fwmark {
                "a fwmark service takes no port"
            } else {
                "the ports differ"
            };
            report(
                diags,
                rs.loc.as_ref().or(loc),
                format!(
                    "virtual server {name}: real_server_name {} has port {p} but {why}; the port is cleared",
                    n.host
                ),
            );
            rs.port = None;
            n.port = None;
        }
    }
    if let Some(s) = &mut vs.sorry_server
        && s.lvs_method.unwrap_or(vs_method).method != LvsMethod::Nat
        && let Some(p) = s.port
        && (is_fwmark || p != vport)
    {
        report(
            diags,
            loc,
            format!("virtual server {name}: the sorry server's port does not apply; cleared"),
        );
        s.port = None;
    }
}

fn check_quorum(vs: &mut VirtualServer, name: &str, loc: Option<&Loc>, diags: &mut Diagnostics) {
    // Named real servers bring weight only once DNS answers: the total is
    // not known here, so the quorum stays as written.
    if !vs.named_real_servers.is_empty() {
        return;
    }
    let total: u64 = vs
        .real_servers
        .iter()
        .map(|rs| u64::from(rs.effective_weight(vs)))
        .sum();
    let total = u32::try_from(total).unwrap_or(u32::MAX);
    if vs.quorum > total {
        report(
            diags,
            loc,
            format!(
                "virtual server {name}: quorum {} exceeds the total weight of its real servers {total}; quorum lowered to {total}",
                vs.quorum
            ),
        );
        vs.quorum = total;
    }
    if vs.hysteresis >= vs.quorum {
        let h = vs.quorum.saturating_sub(1);
        report(
            diags,
            loc,
            format!(
                "virtual server {name}: hysteresis {} must be below quorum {}; set to {h}",
                vs.hysteresis, vs.quorum
            ),
        );
        vs.hysteresis = h;
    }
}
