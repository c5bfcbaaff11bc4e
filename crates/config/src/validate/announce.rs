// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Checks on `vrrp_announce` blocks (a keepalived-rs extension, see
//! [`crate::model::announce`]). An announce that cannot do what it says
//! is dropped with an error, never half-applied: a route that ignored a
//! missing tracked script would be announced while nothing checks the
//! service, which is worse than no route.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::diag::{Category, Diagnostics};
use crate::host::Host;
use crate::model::Config;
use crate::model::announce::Announce;

/// keepalived's own route protocol; its cleanup and ours must never meet.
const PROTO_KEEPALIVED: u8 = 18;
/// Protocol numbers FRR's zebra uses for its own routes (and removes at
/// its start as leftovers).
const FRR_PROTOCOLS: std::ops::RangeInclusive<u8> = 186..=199;
/// Tables a routing daemon would export wholesale (default, main, local).
const SHARED_TABLES: [u32; 3] = [253, 254, 255];

pub(super) fn check(cfg: &mut Config, host: &dyn Host, diags: &mut Diagnostics) {
    let announces = std::mem::take(&mut cfg.announces);
    let mut names = HashSet::new();
    let mut claimed: HashSet<IpAddr> = HashSet::new();
    let vrrp_addrs = vrrp_addresses(cfg);
    let other_tables = other_tables(cfg);
    for a in announces {
        let problems = problems(&a, cfg, &vrrp_addrs, &other_tables, &claimed, host);
        if !names.insert(a.name.clone()) {
            error(
                diags,
                &a,
                format!("vrrp_announce {} already defined; ignored", a.name),
            );
            continue;
        }
        if !problems.is_empty() {
            for p in problems {
                error(diags, &a, format!("vrrp_announce {}: {p}; ignored", a.name));
            }
            continue;
        }
        warn_long_drain(
            diags,
            &a,
            &format!("vrrp_announce {}", a.name),
            cfg.root.child_wait_time,
        );
        claimed.extend(a.addresses.iter().copied());
        cfg.announces.push(a);
    }
}

/// A drain as long as `child_wait_time` would be cut by the supervisor's
/// SIGKILL (the checker child cuts it to a second less itself).
fn warn_long_drain(diags: &mut Diagnostics, a: &Announce, what: &str, child_wait_time: u32) {
    if a.drain_delay.as_micros() >= u64::from(child_wait_time) * 1_000_000 {
        diags.report(
            Category::Warning,
            a.at.loc().cloned(),
            format!(
                "{what}: drain_delay {} is not below child_wait_time {child_wait_time}: a stop may be cut short",
                a.drain_delay
            ),
        );
    }
}

fn error(diags: &mut Diagnostics, a: &Announce, msg: String) {
    diags.report(Category::GeneralError, a.at.loc().cloned(), msg);
}

/// Every reason `a` cannot run, in the order of its keywords.
fn problems(
    a: &Announce,
    cfg: &Config,
    vrrp_addrs: &HashSet<IpAddr>,
    other_tables: &HashSet<String>,
    claimed: &HashSet<IpAddr>,
    host: &dyn Host,
) -> Vec<String> {
    let mut out = Vec::new();
    if a.addresses.is_empty() {
        out.push("no address to announce".to_string());
    }
    for addr in &a.addresses {
        if vrrp_addrs.contains(addr) {
            out.push(format!(
                "{addr} is also a VRRP or static address (one owner per address)"
            ));
        }
        if claimed.contains(addr) {
            out.push(format!(
                "{addr} is already announced by another vrrp_announce"
            ));
        }
    }
    out.extend(route_problems(a, other_tables, host));
    if !a.tracks_anything() {
        out.push("tracks nothing (it would announce for ever)".to_string());
    }
    let missing = |refs: &[crate::model::track::TrackRef], known: &dyn Fn(&str) -> bool| {
        refs.iter()
            .filter(|r| !known(&r.name))
            .map(|r| r.name.clone())
            .collect::<Vec<_>>()
    };
    for s in missing(&a.track_script, &|n| {
        cfg.vrrp_scripts.iter().any(|s| s.name == n)
    }) {
        out.push(format!("track_script {s} is not a vrrp_script"));
    }
    for f in missing(&a.track_file, &|n| {
        cfg.track_files.iter().any(|f| f.name == n)
    }) {
        out.push(format!("track_file {f} is not a track_file"));
    }
    for p in missing(&a.track_process, &|n| {
        cfg.track_processes.iter().any(|p| p.name == n)
    }) {
        out.push(format!("track_process {p} is not a vrrp_track_process"));
    }
    out
}

/// What is wrong with the route keywords, for both kinds of announce.
fn route_problems(a: &Announce, other_tables: &HashSet<String>, host: &dyn Host) -> Vec<String> {
    let mut out = Vec::new();
    if !host.interface_exists(&a.dev) {
        out.push(format!("dev {} does not exist", a.dev));
    }
    if SHARED_TABLES.contains(&a.table) {
        out.push(format!(
            "table {} is a system table; use a table of its own so the routing daemon exports only these routes",
            a.table
        ));
    }
    if other_tables.contains(&a.table.to_string()) {
        out.push(format!(
            "table {} is also used by a static or virtual route or rule",
            a.table
        ));
    }
    if a.protocol < 5 || a.protocol == PROTO_KEEPALIVED || FRR_PROTOCOLS.contains(&a.protocol) {
        out.push(format!(
            "protocol {} belongs to the kernel, keepalived (18) or FRR (186-199)",
            a.protocol
        ));
    }
    out
}

/// A virtual server's `announce` (owned by the checker child): named
/// after the virtual server, its address the virtual server's. Dropped
/// with an error when it cannot run: a fwmark or group service (no single
/// address to announce), an address a VRRP side or another announce
/// owns, or a table and protocol a `vrrp_announce` also uses (each child
/// sweeps every route of its table and protocol at start, so sharing
/// both would let one remove the other's routes).
pub(super) fn check_virtual_servers(cfg: &mut Config, host: &dyn Host, diags: &mut Diagnostics) {
    let vrrp_addrs = vrrp_addresses(cfg);
    let other_tables = other_tables(cfg);
    let vrrp_side: HashSet<(u32, u8)> = cfg
        .announces
        .iter()
        .map(|a| (a.table, a.protocol))
        .collect();
    let mut claimed: HashSet<IpAddr> = cfg
        .announces
        .iter()
        .flat_map(|a| a.addresses.iter().copied())
        .collect();
    for vs in &mut cfg.virtual_servers {
        let Some(mut a) = vs.announce.take() else {
            continue;
        };
        a.name = vs.key.to_string();
        let mut problems = Vec::new();
        match &vs.key {
            crate::model::lvs::VirtualServerKey::Addr { ip, .. } => a.addresses = vec![*ip],
            _ => problems.push(
                "a fwmark or group virtual server has no single address to announce; use vrrp_announce"
                    .to_string(),
            ),
        }
        for addr in &a.addresses {
            if vrrp_addrs.contains(addr) {
                problems.push(format!(
                    "{addr} is also a VRRP or static address (one owner per address)"
                ));
            }
            if claimed.contains(addr) {
                problems.push(format!(
                    "{addr} is already announced (by vrrp_announce or another virtual server)"
                ));
            }
        }
        problems.extend(route_problems(&a, &other_tables, host));
        if vrrp_side.contains(&(a.table, a.protocol)) {
            problems.push(format!(
                "table {} protocol {} is a vrrp_announce's; give the virtual server's announce a protocol of its own",
                a.table, a.protocol
            ));
        }
        if !problems.is_empty() {
            for p in problems {
                error(
                    diags,
                    &a,
                    format!("virtual_server {} announce: {p}; ignored", a.name),
                );
            }
            continue;
        }
        warn_long_drain(
            diags,
            &a,
            &format!("virtual_server {} announce", a.name),
            cfg.root.child_wait_time,
        );
        claimed.extend(a.addresses.iter().copied());
        vs.announce = Some(a);
    }
}

/// Addresses the VRRP side owns: virtual and static addresses.
fn vrrp_addresses(cfg: &Config) -> HashSet<IpAddr> {
    let vips = cfg.vrrp_instances.iter().flat_map(|i| {
        i.virtual_ipaddress
            .iter()
            .chain(&i.virtual_ipaddress_excluded)
    });
    vips.chain(&cfg.static_ipaddress)
        .map(|a| a.address)
        .collect()
}

/// Tables named by static or virtual routes and rules (as written).
fn other_tables(cfg: &Config) -> HashSet<String> {
    let routes = cfg
        .vrrp_instances
        .iter()
        .flat_map(|i| &i.virtual_routes)
        .chain(&cfg.static_routes)
        .filter_map(|r| r.table.clone());
    let rules = cfg
        .vrrp_instances
        .iter()
        .flat_map(|i| &i.virtual_rules)
        .chain(&cfg.static_rules)
        .filter_map(|r| r.table.clone());
    routes.chain(rules).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::path::Path;

    use crate::preprocess::Options;
    use crate::{SystemHost, load_str};

    fn load(body: &str) -> (crate::Config, Vec<String>) {
        let text = format!("vrrp_script chk {{\n script \"/bin/true\"\n}}\n{body}");
        let loaded = load_str(Path::new("t.conf"), &text, &Options::default(), &SystemHost);
        let msgs = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect();
        (loaded.config, msgs)
    }

    #[test]
    fn a_good_announce_is_kept_with_its_defaults() {
        let (cfg, msgs) = load(
            "vrrp_announce WEB {\n address 192.0.2.10\n address 2001:db8::10/128\n \
             metric 5\n drain_delay 1.5\n track_script {\n  chk\n }\n}\n",
        );
        assert_eq!(cfg.announces.len(), 1, "{msgs:?}");
        let a = &cfg.announces[0];
        assert_eq!(a.addresses.len(), 2);
        assert_eq!(
            (a.dev.as_str(), a.table, a.protocol, a.metric),
            ("lo", 100, 249, 5)
        );
        assert_eq!(a.drain_delay.as_micros(), 1_500_000);
        assert_eq!(a.track_script[0].name, "chk");
        assert!(!a.local_route);
        assert!(cfg.has_vrrp(), "an announce alone starts the VRRP child");
        let (cfg, msgs) = load(
            "vrrp_announce WEB {\n address 192.0.2.10\n local_route\n table 7\n protocol 99\n \
             track_script {\n  chk\n }\n}\n",
        );
        let a = &cfg.announces[0];
        assert!(a.local_route, "{msgs:?}");
        assert_eq!((a.table, a.protocol), (7, 99));
    }

    #[test]
    fn unusable_announces_are_dropped_with_the_reason() {
        let cases = [
            (
                "address 192.0.2.10/24\n track_script {\n  chk\n }",
                "host address",
            ),
            ("track_script {\n  chk\n }", "no address"),
            ("address 192.0.2.10", "tracks nothing"),
            (
                "address 192.0.2.10\n track_script {\n  nope\n }",
                "nope is not a vrrp_script",
            ),
            (
                "address 192.0.2.10\n protocol 18\n track_script {\n  chk\n }",
                "protocol 18",
            ),
            (
                "address 192.0.2.10\n protocol 188\n track_script {\n  chk\n }",
                "FRR",
            ),
            (
                "address 192.0.2.10\n table 254\n track_script {\n  chk\n }",
                "system table",
            ),
            (
                "address 192.0.2.10\n dev nosuch0\n track_script {\n  chk\n }",
                "does not exist",
            ),
        ];
        for (body, why) in cases {
            let (cfg, msgs) = load(&format!("vrrp_announce A {{\n {body}\n}}\n"));
            assert!(cfg.announces.is_empty(), "{body}: kept");
            assert!(msgs.iter().any(|m| m.contains(why)), "{body}: {msgs:?}");
        }
    }

    #[test]
    fn clashes_with_the_vrrp_side_and_other_announces_are_refused() {
        let vrrp = "vrrp_instance VI {\n interface lo\n virtual_router_id 9\n \
                    virtual_ipaddress {\n  192.0.2.10/32\n }\n virtual_routes {\n  \
                    198.51.100.0/24 dev lo table 100\n }\n}\n";
        let (cfg, msgs) = load(&format!(
            "{vrrp}vrrp_announce A {{\n address 192.0.2.10\n table 101\n track_script {{\n  chk\n }}\n}}\n"
        ));
        assert!(cfg.announces.is_empty());
        assert!(msgs.iter().any(|m| m.contains("also a VRRP")), "{msgs:?}");
        let (cfg, msgs) = load(&format!(
            "{vrrp}vrrp_announce A {{\n address 192.0.2.11\n track_script {{\n  chk\n }}\n}}\n"
        ));
        assert!(cfg.announces.is_empty());
        assert!(
            msgs.iter().any(|m| m.contains("table 100 is also used")),
            "{msgs:?}"
        );
        let one = "vrrp_announce A {\n address 192.0.2.12\n track_script {\n  chk\n }\n}\n";
        let (cfg, msgs) = load(&format!("{one}{}", one.replace(" A ", " B ")));
        assert_eq!(cfg.announces.len(), 1);
        assert!(
            msgs.iter().any(|m| m.contains("already announced")),
            "{msgs:?}"
        );
    }

    fn vs(body: &str) -> String {
        format!(
            "virtual_server 192.0.2.20 80 {{\n protocol TCP\n {body}\n real_server 198.51.100.1 80 {{\n  TCP_CHECK {{\n  }}\n }}\n}}\n"
        )
    }

    #[test]
    fn a_virtual_servers_announce_takes_its_address_and_protocol_250() {
        let (cfg, msgs) = load(&vs("announce {\n  metric 3\n  drain_delay 2\n }"));
        let a = cfg.virtual_servers[0].announce.as_ref().expect("kept");
        assert!(msgs.iter().all(|m| !m.contains("announce")), "{msgs:?}");
        assert_eq!(
            a.addresses,
            vec!["192.0.2.20".parse::<std::net::IpAddr>().unwrap()]
        );
        assert_eq!((a.table, a.protocol, a.metric), (100, 250, 3));
        assert_eq!(a.drain_delay.as_micros(), 2_000_000);
        assert_eq!(a.name, "[192.0.2.20]:80");
    }

    #[test]
    fn unusable_virtual_server_announces_are_dropped_with_the_reason() {
        let cases = [
            (vs("announce {\n  address 192.0.2.9\n }"), "Unknown keyword 'address'"),
            (vs("announce {\n  track_script {\n   chk\n  }\n }"), "Unknown keyword"),
            (vs("announce {\n  protocol 18\n }"), "protocol 18"),
            (vs("announce {\n  table 254\n }"), "system table"),
            (vs("announce {\n  dev nope0\n }"), "dev nope0 does not exist"),
            (
                "virtual_server fwmark 5 {\n announce {\n }\n real_server 198.51.100.1 80 {\n }\n}\n"
                    .to_string(),
                "fwmark or group",
            ),
            (
                format!(
                    "vrrp_announce A {{\n address 192.0.2.30\n protocol 250\n track_script {{\n  chk\n }}\n}}\n{}",
                    vs("announce {\n }")
                ),
                "is a vrrp_announce's",
            ),
            (
                format!(
                    "vrrp_announce A {{\n address 192.0.2.20\n track_script {{\n  chk\n }}\n}}\n{}",
                    vs("announce {\n }")
                ),
                "already announced",
            ),
        ];
        for (body, want) in cases {
            let (_, msgs) = load(&body);
            assert!(msgs.iter().any(|m| m.contains(want)), "{want}: {msgs:?}");
        }
        // Dropped, not half-kept.
        let (cfg, _) = load(&vs("announce {\n  protocol 18\n }"));
        assert!(cfg.virtual_servers[0].announce.is_none());
    }
}
