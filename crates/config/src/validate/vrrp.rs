// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Whole-configuration checks for the vrrp side, as keepalived 2.2.7 makes
//! them once every block is read: references between blocks, values that
//! depend on the VRRP version or strict mode, and interfaces on the host.
//!
//! What keepalived reports as a warning we report as a warning, and we fix
//! the model the way it does (a value cleared, an entry dropped), so `-t`
//! answers the same. An interface missing on the host is
//! [`Category::BadInterface`]; where keepalived also logs a warning about
//! it (instance interface, track_interface, addresses, routes, garp_group)
//! we do too, so the record matches its output.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};

use crate::diag::{Category, Diagnostics, Loc};
use crate::host::Host;
use crate::model::Config;
use crate::model::addr::{At, IpAddress, Route};
use crate::model::global::GlobalDefs;
use crate::model::track::TrackRef;
use crate::model::vrrp::{AuthType, State, VrrpInstance};
use crate::types::Timer;

pub(super) fn check(cfg: &mut Config, host: &dyn Host, diags: &mut Diagnostics) {
    let ifs = &Interfaces::new(host);
    dedup_names(cfg, diags);
    let names = Names::of(cfg);
    let strict = cfg.global_defs.vrrp_strict;
    for inst in &mut cfg.vrrp_instances {
        check_instance(inst, &cfg.global_defs, &names, strict, ifs, diags);
    }
    check_sync_groups(cfg, &names, ifs, diags);
    check_track_groups(cfg);
    check_duplicate_vrids(cfg, diags);
    check_static(cfg, &names, ifs, diags);
    check_misc_interfaces(cfg, ifs, diags);
}

/// Asks the host about each interface name once: a large configuration
/// names the same few interfaces thousands of times, and every answer from
/// the system host is a lookup in /sys (8 % of `-t` on a 117 000-line
/// config). Lives for one check, so a reload sees the interfaces of its
/// own moment.
struct Interfaces<'h> {
    host: &'h dyn Host,
    known: RefCell<HashMap<String, bool>>,
}

impl<'h> Interfaces<'h> {
    fn new(host: &'h dyn Host) -> Self {
        Self {
            host,
            known: RefCell::new(HashMap::new()),
        }
    }

    fn exists(&self, name: &str) -> bool {
        if let Some(&known) = self.known.borrow().get(name) {
            return known;
        }
        let exists = self.host.interface_exists(name);
        self.known.borrow_mut().insert(name.to_string(), exists);
        exists
    }
}

fn loc(at: &At) -> Option<Loc> {
    at.loc().cloned()
}

fn warn(diags: &mut Diagnostics, at: &At, msg: impl Into<String>) {
    diags.report(Category::Warning, loc(at), msg);
}

fn error(diags: &mut Diagnostics, at: &At, msg: impl Into<String>) {
    diags.report(Category::GeneralError, loc(at), msg);
}

fn bad_interface(diags: &mut Diagnostics, at: &At, msg: impl Into<String>) {
    diags.report(Category::BadInterface, loc(at), msg);
}

/// A missing interface that keepalived warns about before failing.
fn missing_interface_warned(diags: &mut Diagnostics, at: &At, name: &str, what: &str) {
    warn(
        diags,
        at,
        format!("interface {name} for {what} doesn't exist"),
    );
    bad_interface(
        diags,
        at,
        format!("non-existent interface {name} specified in configuration"),
    );
}

/// Names defined by root blocks, for reference checks.
struct Names {
    scripts: HashSet<String>,
    files: HashSet<String>,
    processes: HashSet<String>,
    bfds: HashSet<String>,
    instances: HashSet<String>,
    track_groups: HashSet<String>,
}

impl Names {
    fn of(cfg: &Config) -> Self {
        Self {
            scripts: cfg.vrrp_scripts.iter().map(|s| s.name.clone()).collect(),
            files: cfg.track_files.iter().map(|s| s.name.clone()).collect(),
            processes: cfg.track_processes.iter().map(|s| s.name.clone()).collect(),
            bfds: cfg.bfd_instances.iter().map(|s| s.name.clone()).collect(),
            instances: cfg.vrrp_instances.iter().map(|s| s.name.clone()).collect(),
            track_groups: cfg.track_groups.iter().map(|s| s.name.clone()).collect(),
        }
    }
}

/// keepalived keeps the first block of a name and warns about the others.
fn dedup_names(cfg: &mut Config, diags: &mut Diagnostics) {
    let mut seen = HashSet::new();
    cfg.vrrp_instances.retain(|i| {
        if seen.insert(i.name.clone()) {
            return true;
        }
        warn(
            diags,
            &i.at,
            format!("vrrp instance {} already defined; ignored", i.name),
        );
        false
    });
    let mut seen = HashSet::new();
    cfg.sync_groups.retain(|g| {
        if seen.insert(g.name.clone()) {
            return true;
        }
        warn(
            diags,
            &g.at,
            format!("vrrp sync group {} already defined; ignored", g.name),
        );
        false
    });
    let mut seen = HashSet::new();
    cfg.track_groups.retain(|g| {
        if seen.insert(g.name.clone()) {
            return true;
        }
        warn(
            diags,
            &g.at,
            format!("track_group {} already defined; ignored", g.name),
        );
        false
    });
}

/// Drops references to objects that are not defined, as keepalived does.
fn check_refs(
    owner: &str,
    kind: &str,
    refs: &mut Vec<TrackRef>,
    known: &HashSet<String>,
    diags: &mut Diagnostics,
) {
    refs.retain(|t| {
        if known.contains(&t.name) {
            return true;
        }
        warn(
            diags,
            &t.at,
            format!("({owner}) track {kind} {} not found, ignoring", t.name),
        );
        false
    });
}

fn check_track_interfaces(
    owner: &str,
    refs: &[TrackRef],
    ifs: &Interfaces<'_>,
    diags: &mut Diagnostics,
) {
    for t in refs {
        if !ifs.exists(&t.name) {
            warn(
                diags,
                &t.at,
                format!("({owner}) tracked interface {} doesn't exist", t.name),
            );
            bad_interface(
                diags,
                &t.at,
                format!(
                    "non-existent interface {} specified in configuration",
                    t.name
                ),
            );
        }
    }
}

fn check_instance(
    i: &mut VrrpInstance,
    g: &GlobalDefs,
    names: &Names,
    global_strict: bool,
    ifs: &Interfaces<'_>,
    diags: &mut Diagnostics,
) {
    let name = i.name.clone();
    let strict = i.strict_mode.unwrap_or(global_strict);

    if i.virtual_router_id.is_none() {
        error(
            diags,
            &i.at,
            format!("({name}) the virtual router id must be set"),
        );
    }

    // Interface.
    match &i.interface {
        Some(ifname) if !ifs.exists(ifname) => {
            let what = format!("vrrp_instance {name}");
            missing_interface_warned(diags, &i.interface_at, ifname, &what);
        }
        Some(_) => {}
        None if i.vrf.is_none() => {
            // keepalived 2.2.7 says "Unknown interface!" even for unicast
            // instances with a source address.
            error(diags, &i.at, format!("({name}) has no interface"));
        }
        None => {}
    }
    check_track_interfaces(&name, &i.track_interface, ifs, diags);

    // References.
    check_refs(&name, "script", &mut i.track_script, &names.scripts, diags);
    check_refs(&name, "file", &mut i.track_file, &names.files, diags);
    check_refs(
        &name,
        "process",
        &mut i.track_process,
        &names.processes,
        diags,
    );
    check_refs(&name, "bfd", &mut i.track_bfd, &names.bfds, diags);

    // Address family: the first VIP decides; other VIPs must match.
    // Excluded addresses may be of either family (keepalived's
    // `alloc_vrrp_evip` takes them as they come).
    let v6 = i.is_ipv6();
    let fam = |a: &IpAddress| a.address.is_ipv6() == v6;
    {
        let list = &mut i.virtual_ipaddress;
        list.retain(|a| {
            if fam(a) {
                return true;
            }
            warn(
                diags,
                &a.at,
                format!("({name}) address family of {a} must match the VRRP instance; ignored"),
            );
            false
        });
    }
    i.unicast_peer.retain(|p| {
        if p.address.is_ipv6() == v6 {
            return true;
        }
        error(
            diags,
            &p.at,
            format!(
                "({name}) unicast peer {} must be of the instance's address family; skipped",
                p.address
            ),
        );
        false
    });
    if i.native_ipv6 && !v6 {
        warn(
            diags,
            &i.at,
            format!("({name}) cannot specify native_ipv6 with IPv4 addresses"),
        );
        i.native_ipv6 = false;
    }

    for a in i
        .virtual_ipaddress
        .iter()
        .chain(&i.virtual_ipaddress_excluded)
    {
        if let Some(dev) = &a.dev
            && !ifs.exists(dev)
        {
            missing_interface_warned(diags, &a.at, dev, &format!("ip address {a}"));
        }
    }
    check_route_interfaces(&i.virtual_routes, ifs, diags);

    // Version: IPv6 is always v3 (keepalived switches silently).
    let mut version = i.version.unwrap_or(g.vrrp_version);
    if v6 {
        version = 3;
    }
    i.version = Some(version);

    if i.virtual_ipaddress.is_empty() {
        if strict {
            error(
                diags,
                &i.at,
                format!("({name}) no VIP specified; at least one is required"),
            );
        } else {
            warn(
                diags,
                &i.at,
                format!("({name}) no VIP specified; at least one is sensible"),
            );
        }
    }

    if strict && version == 2 && i.accept == Some(true) && i.priority != 255 {
        // RFC 3768 has no accept mode; keepalived reports it (a general
        // error for -t) and runs without it.
        error(
            diags,
            &i.at,
            format!(
                "({name}) warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"
            ),
        );
        i.accept = Some(false);
    }
    check_authentication(i, version, strict, v6, diags);
    check_advert_int(i, version, diags);
    check_preempt(i, strict, diags);
    check_unicast(i, strict, diags);
}

fn check_route_interfaces(routes: &[Route], ifs: &Interfaces<'_>, diags: &mut Diagnostics) {
    for r in routes {
        if let Some(dev) = &r.dev
            && !ifs.exists(dev)
        {
            missing_interface_warned(diags, &r.at, dev, "route");
        }
    }
}

fn check_authentication(
    i: &mut VrrpInstance,
    version: u8,
    strict: bool,
    v6: bool,
    diags: &mut Diagnostics,
) {
    let Some(auth) = &i.authentication else {
        return;
    };
    let name = &i.name;
    let why = if version == 3 {
        Some(format!(
            "({name}) VRRP version 3 does not support authentication; ignored"
        ))
    } else if strict {
        Some(format!(
            "({name}) strict mode does not support authentication; ignored"
        ))
    } else if auth.auth_type.is_some() && auth.auth_pass.is_none() {
        Some(format!(
            "({name}) authentication specified but no password given; ignored"
        ))
    } else if v6 && auth.auth_type == Some(AuthType::Ah) {
        Some(format!(
            "({name}) cannot use AH authentication with IPv6; ignored"
        ))
    } else {
        None
    };
    if let Some(msg) = why {
        warn(diags, &i.at, msg);
        i.authentication = None;
        return;
    }
    if i.state == State::Master && auth.auth_type == Some(AuthType::Ah) {
        warn(
            diags,
            &i.at,
            format!(
                "({name}) initial state MASTER is incompatible with AH authentication; clearing"
            ),
        );
        i.state = State::Backup;
    }
}

/// VRRPv2 carries whole seconds, v3 centiseconds below 40.96 s; keepalived
/// rounds (half up) with a warning.
fn check_advert_int(i: &mut VrrpInstance, version: u8, diags: &mut Diagnostics) {
    let us = i.advert_int.as_micros();
    let name = &i.name;
    if version == 2 {
        if !us.is_multiple_of(1_000_000) {
            let secs = ((us + 500_000) / 1_000_000).max(1);
            warn(
                diags,
                &i.at,
                format!(
                    "({name}) VRRPv2 advertisement interval {} s must be an integer; rounding to {secs} s",
                    i.advert_int
                ),
            );
            i.advert_int = Timer::from_secs(secs);
        }
    } else if us > 40_950_000 {
        warn(
            diags,
            &i.at,
            format!(
                "({name}) VRRPv3 advertisement interval {} s is out of range: it must be less than 40.96 s; using 40.95 s",
                i.advert_int
            ),
        );
        i.advert_int = Timer::from_micros(40_950_000);
    } else if !us.is_multiple_of(10_000) {
        let cs = ((us + 5_000) / 10_000).max(1);
        warn(
            diags,
            &i.at,
            format!(
                "({name}) VRRPv3 advertisement interval {} s must be in units of 10 ms; rounding",
                i.advert_int
            ),
        );
        i.advert_int = Timer::from_micros(cs * 10_000);
    }
}

fn check_preempt(i: &mut VrrpInstance, strict: bool, diags: &mut Diagnostics) {
    let name = i.name.clone();
    if i.state == State::Master && i.priority != 255 && strict {
        // keepalived reports this and starts the instance as BACKUP.
        error(
            diags,
            &i.at,
            format!(
                "({name}) state MASTER must match being address owner (priority 255) in strict mode"
            ),
        );
        i.state = State::Backup;
    }
    if i.nopreempt {
        if i.priority == 255 {
            warn(
                diags,
                &i.at,
                format!(
                    "({name}) nopreempt is incompatible with priority 255; resetting nopreempt"
                ),
            );
            i.nopreempt = false;
        } else if i.state == State::Master {
            warn(
                diags,
                &i.at,
                format!("({name}) nopreempt will not work with initial state MASTER; clearing"),
            );
            i.nopreempt = false;
        }
    }
    if i.preempt_delay != Timer::default() {
        let why = if i.state == State::Master {
            Some("preempt_delay will not work with initial state MASTER; clearing")
        } else if strict {
            Some("preempt_delay is incompatible with strict mode; resetting")
        } else if i.nopreempt {
            Some("preempt_delay is incompatible with nopreempt mode; resetting")
        } else {
            None
        };
        if let Some(w) = why {
            warn(diags, &i.at, format!("({name}) {w}"));
            i.preempt_delay = Timer::default();
        }
    }
}

fn check_unicast(i: &mut VrrpInstance, strict: bool, diags: &mut Diagnostics) {
    let name = i.name.clone();
    let unicast = !i.unicast_peer.is_empty();
    if unicast && strict {
        warn(
            diags,
            &i.at,
            format!("({name}) unicast peers are not supported in strict mode"),
        );
    }
    if !unicast && i.unicast_ttl.is_some() {
        warn(
            diags,
            &i.at,
            format!("({name}) cannot use unicast_ttl without unicast peers; resetting"),
        );
        i.unicast_ttl = None;
    }
    if unicast && i.mcast_dst_ip.is_some() {
        warn(
            diags,
            &i.at,
            format!("({name}) multicast destination specified with unicast; ignored"),
        );
        i.mcast_dst_ip = None;
    }
    if unicast && i.use_vmac.is_some() && !i.vmac_xmit_base {
        warn(
            diags,
            &i.at,
            format!("({name}) unicast with use_vmac requires vmac_xmit_base; setting it"),
        );
        i.vmac_xmit_base = true;
    }
    if i.use_vmac.is_some() && i.promote_secondaries {
        warn(
            diags,
            &i.at,
            format!("({name}) promote_secondaries is automatically set for vmacs; ignored"),
        );
    }
}

fn check_sync_groups(
    cfg: &mut Config,
    names: &Names,
    ifs: &Interfaces<'_>,
    diags: &mut Diagnostics,
) {
    let mut member_of: HashMap<String, String> = HashMap::new();
    cfg.sync_groups.retain_mut(|g| {
        let gname = g.name.clone();
        let mut kept = Vec::new();
        let mut kept_at = Vec::new();
        for (k, m) in g.group.iter().enumerate() {
            let at = g.group_at.get(k).cloned().unwrap_or_else(|| g.at.clone());
            if !names.instances.contains(m) {
                warn(
                    diags,
                    &at,
                    format!("virtual router {m} specified in sync group {gname} doesn't exist; ignored"),
                );
                continue;
            }
            if let Some(other) = member_of.get(m) {
                warn(
                    diags,
                    &at,
                    format!("virtual router {m} cannot be in more than one sync group (already in {other}); ignored in {gname}"),
                );
                continue;
            }
            member_of.insert(m.clone(), gname.clone());
            kept.push(m.clone());
            kept_at.push(at);
        }
        g.group = kept;
        g.group_at = kept_at;
        check_refs(&gname, "script", &mut g.track_script, &names.scripts, diags);
        check_refs(&gname, "file", &mut g.track_file, &names.files, diags);
        check_refs(&gname, "process", &mut g.track_process, &names.processes, diags);
        check_refs(&gname, "bfd", &mut g.track_bfd, &names.bfds, diags);
        check_track_interfaces(&gname, &g.track_interface, ifs, diags);
        match g.group.len() {
            0 => {
                warn(
                    diags,
                    &g.at,
                    format!("sync group {gname} has no matching virtual router; removed"),
                );
                false
            }
            1 => {
                warn(
                    diags,
                    &g.at,
                    format!("sync group {gname} has only 1 virtual router; this probably isn't what you want"),
                );
                true
            }
            _ => true,
        }
    });
}

/// keepalived drops unknown track group members without a config error
/// (`-t` stays 0), so we do too.
fn check_track_groups(cfg: &mut Config) {
    let instances: HashSet<&str> = cfg.vrrp_instances.iter().map(|i| i.name.as_str()).collect();
    for g in &mut cfg.track_groups {
        g.group.retain(|m| instances.contains(m.as_str()));
    }
}

/// Two instances with the same VRID on the same interface and family
/// would fight over one virtual MAC.
fn check_duplicate_vrids(cfg: &Config, diags: &mut Diagnostics) {
    let mut seen: HashMap<(String, u8, bool), &str> = HashMap::new();
    for i in &cfg.vrrp_instances {
        let (Some(ifname), Some(vrid)) = (&i.interface, i.virtual_router_id) else {
            continue;
        };
        let v6 = i.is_ipv6();
        match seen.get(&(ifname.clone(), vrid, v6)) {
            Some(first) => warn(
                diags,
                &i.at,
                format!(
                    "{first} and {} both use VRID {vrid} with IPv{} on interface {ifname}",
                    i.name,
                    if v6 { 6 } else { 4 }
                ),
            ),
            None => {
                seen.insert((ifname.clone(), vrid, v6), &i.name);
            }
        }
    }
}

fn check_static(cfg: &Config, names: &Names, ifs: &Interfaces<'_>, diags: &mut Diagnostics) {
    let default_if = cfg
        .global_defs
        .default_interface
        .clone()
        .unwrap_or_else(|| "eth0".to_string());
    for a in &cfg.static_ipaddress {
        if let Some(tg) = &a.track_group
            && !names.track_groups.contains(tg)
        {
            warn(diags, &a.at, format!("track_group {tg} not found"));
        }
        match &a.dev {
            Some(dev) => {
                if !ifs.exists(dev) {
                    missing_interface_warned(diags, &a.at, dev, &format!("ip address {a}"));
                }
            }
            None => {
                if !ifs.exists(&default_if) {
                    bad_interface(
                        diags,
                        &a.at,
                        format!(
                            "static address {a} needs an interface, and the default interface {default_if} doesn't exist"
                        ),
                    );
                }
            }
        }
    }
    check_route_interfaces(&cfg.static_routes, ifs, diags);
}

fn check_misc_interfaces(cfg: &Config, ifs: &Interfaces<'_>, diags: &mut Diagnostics) {
    for g in &cfg.garp_groups {
        for (k, ifname) in g.interfaces.iter().enumerate() {
            if !ifs.exists(ifname) {
                let at = g
                    .interfaces_at
                    .get(k)
                    .cloned()
                    .unwrap_or_else(|| g.at.clone());
                missing_interface_warned(diags, &at, ifname, "garp_group");
            }
        }
    }
    // keepalived reports these two as bad interfaces without a warning.
    for l in &cfg.linkbeat_interfaces {
        if !ifs.exists(&l.interface) {
            bad_interface(
                diags,
                &l.at,
                format!(
                    "unknown interface {} specified for linkbeat interface",
                    l.interface
                ),
            );
        }
    }
    for d in &cfg.interface_up_down_delays {
        if !ifs.exists(&d.interface) {
            bad_interface(
                diags,
                &d.at,
                format!(
                    "unknown interface {} specified for up/down delay",
                    d.interface
                ),
            );
        }
    }
}
