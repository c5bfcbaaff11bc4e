// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What a configuration asks for that keepalived-rs accepts but does not
//! act on yet.
//!
//! keepalived would act on every one of these keywords. A user who swaps
//! the binary must not trust a check, a tracker or a route that is never
//! run, so each keyword in use is named once: as a note by `-t` (category
//! Info, so a configuration keepalived calls clean still answers 0) and
//! as a warning in the log when the daemon starts or reloads.
//!
//! This is a table of what is missing, not of what exists: when a
//! feature becomes real, its row goes. Rows are grouped by the child that
//! would act on them, so that `-P` or `-C` name only their own.

use std::collections::BTreeMap;

use keepalived_config::Config;
use keepalived_config::diag::{Category, Diagnostics, Loc};
use keepalived_config::model::checker::Checker;
use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::lvs::VirtualServer;

/// The child that would act on a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Side {
    Vrrp,
    Checker,
    /// The supervisor or both children (process settings, email, SNMP).
    Daemon,
}

/// One keyword in use that nothing acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub keyword: &'static str,
    pub side: Side,
    /// How many times the configuration uses it.
    pub uses: usize,
    /// Its first use, where the model kept the place.
    pub first: Option<Loc>,
    /// What does not happen because of it, in the user's terms.
    pub effect: &'static str,
}

impl Note {
    pub fn message(&self) -> String {
        let times = if self.uses > 1 {
            format!(" ({} uses)", self.uses)
        } else {
            String::new()
        };
        format!(
            "'{}'{times} is not supported by keepalived-rs yet: {}",
            self.keyword, self.effect
        )
    }
}

/// Collects uses, one entry per keyword, in the order first seen.
#[derive(Default)]
struct Finder {
    notes: Vec<Note>,
    index: BTreeMap<&'static str, usize>,
}

impl Finder {
    fn add(&mut self, side: Side, keyword: &'static str, at: Option<&Loc>, effect: &'static str) {
        if let Some(&i) = self.index.get(keyword) {
            if let Some(n) = self.notes.get_mut(i) {
                n.uses += 1;
                if n.first.is_none() {
                    n.first = at.cloned();
                }
            }
            return;
        }
        self.index.insert(keyword, self.notes.len());
        self.notes.push(Note {
            keyword,
            side,
            uses: 1,
            first: at.cloned(),
            effect,
        });
    }
}

const TRACK: &str = "nothing is tracked and the priority never changes because of it";

/// Every keyword of `config` that keepalived acts on and we do not.
pub fn find(config: &Config) -> Vec<Note> {
    let mut f = Finder::default();
    vrrp(config, &mut f);
    checker(config, &mut f);
    globals(&config.global_defs, &mut f);
    root(config, &mut f);
    f.notes
}

/// Routes and rules whose options we cannot send: the VRRP child logs
/// each as not installed when it plans it; `-t` says so beforehand.
fn unsendable_routes(config: &Config, f: &mut Finder) {
    use crate::child::vrrp::routing::{reload_system_tables, route_refusal, rule_refusal};
    reload_system_tables();
    const EFFECT: &str = "an entry with an option keepalived-rs cannot send \
                          (encap, a realm or interface-group name, ...) is not installed";
    let mut routes = |keyword, list: &[keepalived_config::model::addr::Route]| {
        for r in list.iter().filter(|r| route_refusal(r).is_some()) {
            f.add(Side::Vrrp, keyword, r.at.0.as_ref(), EFFECT);
        }
    };
    routes("static_routes entry", &config.static_routes);
    for i in &config.vrrp_instances {
        routes("virtual_routes entry", &i.virtual_routes);
    }
    // Installed, but without the option: the kernel has nowhere to keep
    // it for an IPv4 or IPv6 route.
    let statics = config.static_routes.iter();
    let virtuals = config.vrrp_instances.iter().flat_map(|i| &i.virtual_routes);
    for r in statics.chain(virtuals) {
        if r.options.iter().any(|(k, _)| k == "ttl-propagate") {
            f.add(
                Side::Vrrp,
                "ttl-propagate",
                r.at.0.as_ref(),
                "it applies to MPLS routes only; the route is installed without it",
            );
        }
    }
    let mut rules = |keyword, list: &[keepalived_config::model::addr::Rule]| {
        for r in list.iter().filter(|r| rule_refusal(r).is_some()) {
            f.add(Side::Vrrp, keyword, r.at.0.as_ref(), EFFECT);
        }
    };
    rules("static_rules entry", &config.static_rules);
    for i in &config.vrrp_instances {
        rules("virtual_rules entry", &i.virtual_rules);
    }
}

/// Address options the model keeps but no address request carries yet
/// (`crates/sys` `addr.rs` sends label, nodad, brd and scope).
fn unsent_address_options(config: &Config, f: &mut Finder) {
    use keepalived_config::model::addr::IpAddress;
    const EFFECT: &str = "the address is added without it";
    let mut check = |a: &IpAddress| {
        let at = a.at.0.as_ref();
        let unsent: [(bool, &'static str); 6] = [
            (a.home, "home (ip address)"),
            (a.mngtmpaddr, "mngtmpaddr (ip address)"),
            (a.noprefixroute, "noprefixroute (ip address)"),
            (a.autojoin, "autojoin (ip address)"),
            (a.preferred_lft.is_some(), "preferred_lft (ip address)"),
            (a.peer.is_some(), "peer (ip address)"),
        ];
        for (used, keyword) in unsent {
            if used {
                f.add(Side::Vrrp, keyword, at, EFFECT);
            }
        }
    };
    for a in &config.static_ipaddress {
        check(a);
    }
    for i in &config.vrrp_instances {
        for a in i
            .virtual_ipaddress
            .iter()
            .chain(&i.virtual_ipaddress_excluded)
        {
            check(a);
        }
    }
}

fn vrrp(config: &Config, f: &mut Finder) {
    use Side::Vrrp as V;
    unsendable_routes(config, f);
    unsent_address_options(config, f);
    for g in &config.sync_groups {
        let at = g.at.0.as_ref();
        for r in &g.track_bfd {
            f.add(V, "track_bfd", r.at.0.as_ref().or(at), TRACK);
        }
        if g.smtp_alert {
            f.add(V, "smtp_alert", at, "no email is sent");
        }
    }
    for i in &config.vrrp_instances {
        let at = i.at.0.as_ref();
        for r in &i.track_bfd {
            f.add(V, "track_bfd", r.at.0.as_ref().or(at), TRACK);
        }
        let unused: [(bool, &'static str, &'static str); 7] = [
            (
                i.use_ipvlan.is_some(),
                "use_ipvlan",
                "no ipvlan is created; adverts use the interface itself",
            ),
            (
                i.track_src_ip,
                "track_src_ip",
                "losing the source address does not put the instance in FAULT",
            ),
            (
                i.unicast_fault_no_peer,
                "unicast_fault_no_peer",
                "an instance without unicast peers does not go to FAULT",
            ),
            (
                i.vrf.is_some(),
                "vrf",
                "the instance does not follow the VRF",
            ),
            (
                i.notify_deleted.is_some(),
                "notify_deleted",
                "the script is never run",
            ),
            (
                i.promote_secondaries,
                "promote_secondaries",
                "the interface's promote_secondaries setting is left as it is",
            ),
            (
                i.kernel_rx_buf_size.is_some(),
                "kernel_rx_buf_size",
                "the receive buffer keeps the kernel's default size",
            ),
        ];
        for (used, keyword, effect) in unused {
            if used {
                f.add(V, keyword, at, effect);
            }
        }
        if i.lvs_sync_daemon_interface.is_some() {
            f.add(
                V,
                "lvs_sync_daemon_interface",
                at,
                "no sync daemon is started; use global lvs_sync_daemon",
            );
        }
        if i.smtp_alert == Some(true) {
            f.add(V, "smtp_alert", at, "no email is sent");
        }
    }
    for g in &config.garp_groups {
        f.add(
            V,
            "garp_group",
            g.at.0.as_ref(),
            "its GARP intervals are not applied",
        );
    }
    for l in &config.linkbeat_interfaces {
        f.add(
            V,
            "linkbeat_interfaces",
            l.at.0.as_ref(),
            "it has no effect",
        );
    }
    for d in &config.interface_up_down_delays {
        f.add(
            V,
            "interface_up_down_delays",
            d.at.0.as_ref(),
            "link changes take effect at once, without the delay",
        );
    }
    for b in &config.bfd_instances {
        f.add(
            V,
            "bfd_instance",
            b.at.0.as_ref(),
            "keepalived-rs runs no BFD process",
        );
    }
}

fn checker(config: &Config, f: &mut Finder) {
    use Side::Checker as C;
    for r in &config.resolvers {
        if let Some(at) = &r.hold_unused_at {
            f.add(
                C,
                "hold timeout/refused/other",
                Some(at),
                "a DNS timeout, refusal or other error never removes a name's real servers, \
                 however long it lasts (only hold nx and hold obsolete do)",
            );
        }
    }
    for vs in &config.virtual_servers {
        vs_keywords(vs, f);
        // A `real_server_name`'s template is what each of its addresses
        // runs: named once, whatever DNS answers.
        let templates = vs.named_real_servers.iter().map(|n| &n.template);
        for rs in vs.real_servers.iter().chain(templates) {
            let at = rs.loc.as_ref().or(vs.loc.as_ref());
            for c in &rs.checkers {
                match c {
                    Checker::HttpGet(h) | Checker::SslGet(h) => {
                        if h.url.iter().any(|u| u.regex_stack.is_some()) {
                            f.add(
                                C,
                                "regex_stack",
                                at,
                                "the regex crate has no match stack to size (item 26); ignored",
                            );
                        }
                        if h.fast_recovery {
                            f.add(
                                C,
                                "fast_recovery",
                                at,
                                "URLs of a server that is not up are checked one per delay_loop, \
                                 not chained without delay",
                            );
                        }
                    }
                    Checker::BfdCheck(_) => f.add(
                        C,
                        "BFD_CHECK",
                        at,
                        "keepalived-rs runs no BFD process: the checker is left out and its \
                         real server counts only its other checkers",
                    ),
                    // Run by the checker child (crates/probe + check).
                    Checker::TcpCheck(_)
                    | Checker::MiscCheck(_)
                    | Checker::SmtpCheck(_)
                    | Checker::DnsCheck(_)
                    | Checker::UdpCheck(_)
                    | Checker::PingCheck(_)
                    | Checker::FileCheck(_) => {}
                }
            }
            if rs.checker_defaults().smtp_alert == Some(true) {
                f.add(C, "smtp_alert", at, "no email is sent");
            }
            if rs.checker_defaults().snmp_name.is_some() {
                f.add(C, "snmp_name", at, NO_SNMP_NAME);
            }
        }
    }
}

fn vs_keywords(vs: &VirtualServer, f: &mut Finder) {
    use Side::Checker as C;
    let at = vs.loc.as_ref();

    if vs.smtp_alert == Some(true) {
        f.add(C, "smtp_alert", at, "no email is sent");
    }
    if vs.snmp_name.is_some() {
        f.add(C, "snmp_name", at, NO_SNMP_NAME);
    }
}

/// `snmp_name` names a server in keepalived's SNMP tables only.
const NO_SNMP_NAME: &str = "no SNMP agent runs: the name is not used";

fn globals(g: &GlobalDefs, f: &mut Finder) {
    use Side::{Checker as C, Daemon as D, Vrrp as V};
    let d = GlobalDefs::default();
    let set: &[(bool, Side, &'static str, &'static str)] = &[
        (
            !g.notification_email.is_empty() || g.smtp_server.is_some(),
            D,
            "notification_email / smtp_server",
            "no email is ever sent",
        ),
        (
            g.startup_script.is_some(),
            D,
            "startup_script",
            "the script is never run",
        ),
        (
            g.shutdown_script.is_some(),
            D,
            "shutdown_script",
            "the script is never run",
        ),
        (
            g.notify_fifo_script.is_some(),
            D,
            "notify_fifo_script",
            "the script is never started (the FIFO itself is written)",
        ),
        (
            g.vrrp_notify_fifo_script.is_some(),
            V,
            "vrrp_notify_fifo_script",
            "the script is never started (the FIFO itself is written)",
        ),
        (
            g.lvs_notify_fifo_script.is_some(),
            C,
            "lvs_notify_fifo_script",
            "the script is never started",
        ),
        (
            g.log_unknown_vrids,
            V,
            "log_unknown_vrids",
            "adverts for a VRID no instance has are counted and logged at debug level only",
        ),
        (
            g.vrrp_garp_extra_if.is_some(),
            V,
            "vrrp_garp_extra_if",
            "no GARP is sent on other interfaces",
        ),
        (
            g.dynamic_interfaces,
            V,
            "dynamic_interfaces",
            "an instance whose interface is missing at start does not wait for it",
        ),
        (
            g.default_interface.is_some(),
            V,
            "default_interface",
            "instances without an interface do not get this one",
        ),
        (
            g.vrrp_iptables.is_some() || g.nftables.is_some(),
            V,
            "vrrp_iptables / nftables",
            "no firewall rules are added for VIPs",
        ),
        (
            g.nftables_ipvs.is_some(),
            C,
            "nftables_ipvs",
            "no firewall rules are added for virtual servers",
        ),
        (
            g.max_auto_priority.is_some() || g.min_auto_priority_delay.is_some(),
            D,
            "max_auto_priority / min_auto_priority_delay",
            "the processes keep their normal scheduling",
        ),
        (
            g.vrrp_priority.is_some()
                || g.vrrp_rt_priority.is_some()
                || g.vrrp_no_swap
                || g.vrrp_cpu_affinity.is_some()
                || g.vrrp_rlimit_rttime.is_some(),
            V,
            "vrrp_priority / vrrp_rt_priority / vrrp_no_swap / vrrp_cpu_affinity / vrrp_rlimit_rttime",
            "the VRRP child keeps its normal scheduling and memory",
        ),
        (
            g.checker_priority.is_some()
                || g.checker_rt_priority.is_some()
                || g.checker_no_swap
                || g.checker_cpu_affinity.is_some()
                || g.checker_rlimit_rttime.is_some(),
            C,
            "checker_priority / checker_rt_priority / checker_no_swap / checker_cpu_affinity / checker_rlimit_rttime",
            "the checker child keeps its normal scheduling and memory",
        ),
        (
            g.process_names
                || g.process_name.is_some()
                || g.vrrp_process_name.is_some()
                || g.checker_process_name.is_some(),
            D,
            "process_names",
            "the processes keep the binary's name",
        ),
        (
            g.snmp_socket.is_some()
                || g.enable_traps
                || g.enable_snmp_vrrp
                || g.enable_snmp_checker
                || g.enable_snmp_rfc
                || g.enable_snmp_rfcv2
                || g.enable_snmp_rfcv3,
            D,
            "enable_snmp_* / enable_traps",
            "there is no SNMP agent",
        ),
        (g.enable_dbus, V, "enable_dbus", "there is no D-Bus service"),
        (
            g.reload_time_file.is_some() || g.reload_file.is_some() || g.reload_repeat,
            D,
            "reload_time_file / reload_file / reload_repeat",
            "no timed reload happens",
        ),
        (
            g.config_save_dir.is_some() || g.reload_check_config.is_some(),
            D,
            "config_save_dir / reload_check_config",
            "it has no effect (a reload is always checked first and kept only when valid)",
        ),
        (
            g.fifo_write_vrrp_states_on_reload,
            V,
            "fifo_write_vrrp_states_on_reload",
            "no state lines are written at reload",
        ),
    ];
    for (used, side, keyword, effect) in set.iter().copied() {
        if used {
            f.add(side, keyword, None, effect);
        }
    }
    // Buffer sizes and other tuning: the kernel's defaults serve.
    let tuning = g.vrrp_rx_bufs_policy != d.vrrp_rx_bufs_policy
        || g.vrrp_rx_bufs_multiplier != d.vrrp_rx_bufs_multiplier
        || g.vrrp_netlink_cmd_rcv_bufs.is_some()
        || g.vrrp_netlink_monitor_rcv_bufs.is_some()
        || g.lvs_netlink_cmd_rcv_bufs.is_some()
        || g.lvs_netlink_monitor_rcv_bufs.is_some()
        || g.process_monitor_rcv_bufs.is_some()
        || g.disable_local_igmp;
    if tuning {
        f.add(
            D,
            "receive buffer sizes / disable_local_igmp",
            None,
            "the kernel's defaults are kept",
        );
    }
}

fn root(config: &Config, f: &mut Finder) {
    use Side::Daemon as D;
    let r = &config.root;
    if r.net_namespace.is_some() || r.net_namespace_ipvs.is_some() {
        f.add(
            D,
            "net_namespace",
            None,
            "the daemon runs in the namespace it was started in",
        );
    }
    if r.use_pid_dir {
        f.add(D, "use_pid_dir", None, "pid files keep their usual place");
    }
}

/// Command-line options keepalived acts on and we do not.
pub fn for_command_line(cli: &crate::cli::Cli) -> Vec<Note> {
    let mut f = Finder::default();
    if cli.snmp || cli.snmp_agent_socket.is_some() {
        f.add(
            Side::Daemon,
            "-x / --snmp",
            None,
            "there is no SNMP agent (see `keepalived-rs status` and the control socket)",
        );
    }
    if cli.address_monitoring {
        f.add(
            Side::Daemon,
            "-a / --address-monitoring",
            None,
            "address changes are not logged",
        );
    }
    f.notes
}

/// The notes for the children that will run: `-P` leaves out the
/// checker's, `-C` the VRRP child's.
pub fn for_children(config: &Config, vrrp: bool, checker: bool) -> Vec<Note> {
    find(config)
        .into_iter()
        .filter(|n| match n.side {
            Side::Vrrp => vrrp,
            Side::Checker => checker,
            Side::Daemon => true,
        })
        .collect()
}

/// As `-t` reports them: Info diagnostics, which never change its exit
/// code.
pub fn add_to(diags: &mut Diagnostics, notes: &[Note]) {
    for n in notes {
        diags.report(Category::Info, n.first.clone(), n.message());
    }
}

/// As the daemon logs them at start or reload: one warning each.
pub fn log(notes: &[Note]) {
    for n in notes {
        match &n.first {
            Some(at) => tracing::warn!("({at}) {}", n.message()),
            None => tracing::warn!("{}", n.message()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use keepalived_config::preprocess::Options;
    use keepalived_config::{SystemHost, load_str};

    use super::*;

    fn notes(text: &str) -> Vec<Note> {
        let loaded = load_str(Path::new("t.conf"), text, &Options::default(), &SystemHost);
        find(&loaded.config)
    }

    fn keywords(text: &str) -> Vec<&'static str> {
        notes(text).into_iter().map(|n| n.keyword).collect()
    }

    #[test]
    fn a_plain_pair_has_nothing_to_note() {
        let k = keywords(
            "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n priority 100\n \
             virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n",
        );
        assert_eq!(k, Vec::<&str>::new());
    }

    #[test]
    fn routes_rules_and_static_blocks_are_acted_on() {
        let k = keywords(
            "track_group TG {\n group {\n  VI_1\n }\n}\n\
             static_ipaddress {\n 192.0.2.60/24 dev lo track_group TG\n}\n\
             static_routes {\n 203.0.113.0/24 dev lo\n}\n\
             static_rules {\n from 192.0.2.60 table 100 preference 100\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n \
             virtual_ipaddress {\n  192.0.2.1/24\n }\n \
             virtual_ipaddress_excluded {\n  192.0.2.2/24\n }\n \
             virtual_routes {\n  198.51.100.0/24 dev lo table 100\n }\n \
             virtual_rules {\n  to 198.51.100.0/24 table 100 preference 101\n }\n}\n",
        );
        assert_eq!(k, Vec::<&str>::new());
    }

    #[test]
    fn tracking_is_named_once_per_keyword_with_its_count_and_place() {
        let n = notes(
            "bfd_instance chk {\n neighbor_ip 192.0.2.9\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n \
             track_bfd {\n  chk\n }\n virtual_ipaddress {\n  192.0.2.1/24\n }\n}\n\
             vrrp_instance VI_2 {\n interface lo\n virtual_router_id 52\n \
             track_bfd {\n  chk\n }\n virtual_ipaddress {\n  192.0.2.2/24\n }\n}\n",
        );
        let k: Vec<_> = n.iter().map(|n| n.keyword).collect();
        assert_eq!(k, vec!["track_bfd", "bfd_instance"]);
        let track = &n[0];
        assert_eq!(track.uses, 2);
        assert!(track.first.is_some(), "{track:?}");
        assert!(track.message().contains("(2 uses)"), "{}", track.message());
    }

    #[test]
    fn checkers_are_named_by_kind() {
        let k = keywords(
            "virtual_server 192.0.2.10 80 {\n protocol TCP\n \
             real_server 192.0.2.20 80 {\n  TCP_CHECK {\n   connect_timeout 3\n  }\n \
             notify_down /bin/true\n }\n \
             real_server 192.0.2.21 80 {\n  DNS_CHECK {\n  }\n  SMTP_CHECK {\n  }\n  \
             UDP_CHECK {\n  }\n  PING_CHECK {\n  }\n  \
             HTTP_GET {\n   url {\n    path /\n   }\n   fast_recovery\n  }\n }\n}\n",
        );
        // Every checker kind but BFD_CHECK runs, and notify_* too.
        assert_eq!(k, vec!["fast_recovery"]);
        let k = keywords(
            "bfd_instance b1 {\n neighbor_ip 198.51.100.1\n}\n\
             virtual_server 192.0.2.10 80 {\n protocol TCP\n \
             real_server 192.0.2.20 80 {\n  BFD_CHECK {\n   name b1\n  }\n }\n \
             real_server 192.0.2.21 80 {\n  BFD_CHECK {\n   name b1\n  }\n }\n}\n",
        );
        assert_eq!(k, vec!["bfd_instance", "BFD_CHECK"]);
    }

    #[test]
    fn resolvers_holds_nothing_acts_on_are_named() {
        let acted_on = "resolvers dns1 {\n nameserver ns1 192.0.2.53\n hold nx 5\n \
                        hold obsolete 5\n}\n";
        assert_eq!(keywords(acted_on), Vec::<&str>::new());
        let text = "resolvers dns1 {\n nameserver ns1 192.0.2.53\n hold timeout 5\n \
                    hold other 5\n}\n\
                    resolvers dns2 {\n nameserver ns1 192.0.2.53\n hold refused 5\n}\n";
        let n = notes(text);
        let k: Vec<&str> = n.iter().map(|n| n.keyword).collect();
        assert_eq!(k, vec!["hold timeout/refused/other"]);
        // Once per block that writes any of the three.
        assert_eq!(n[0].uses, 2);
    }

    #[test]
    fn a_named_real_servers_template_is_looked_at() {
        let k = keywords(
            "resolvers dns1 {\n nameserver ns1 192.0.2.53\n}\n\
             virtual_server 192.0.2.10 80 {\n protocol TCP\n \
             real_server_name web.example.internal {\n  resolvers dns1\n  \
             HTTP_GET {\n   url {\n    path /\n   }\n   fast_recovery\n  }\n  smtp_alert\n }\n}\n",
        );
        assert_eq!(k, vec!["fast_recovery", "smtp_alert"]);
    }

    #[test]
    fn snmp_names_are_noted() {
        let k = keywords(
            "virtual_server 192.0.2.10 80 {\n protocol TCP\n snmp_name web\n \
             real_server 198.51.100.1 80 {\n  snmp_name web1\n }\n}\n",
        );
        assert_eq!(k, vec!["snmp_name"]);
    }

    #[test]
    fn routes_we_cannot_send_are_named() {
        let k = keywords(
            "static_routes {\n 198.51.100.0/24 dev lo encap mpls 200\n \
             198.51.100.128/25 dev lo\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n \
             virtual_ipaddress {\n  192.0.2.1/24\n }\n \
             virtual_routes {\n  192.0.2.128/25 dev lo realms bogus\n  \
             192.0.2.64/26 dev lo table 100\n }\n}\n",
        );
        assert_eq!(k, vec!["static_routes entry", "virtual_routes entry"]);
    }

    #[test]
    fn address_options_no_request_carries_are_named() {
        let k = keywords(
            "static_ipaddress {\n 192.0.2.60/24 dev lo brd + scope link home\n \
             2001:db8::60/64 dev lo mngtmpaddr noprefixroute autojoin preferred_lft 30\n}\n\
             vrrp_instance VI_1 {\n interface lo\n virtual_router_id 51\n \
             virtual_ipaddress {\n  192.0.2.1/24 brd 192.0.2.255 scope link\n  \
             192.0.2.2 peer 192.0.2.3\n  192.0.2.4/24 label lo:v nodad\n }\n}\n",
        );
        assert_eq!(
            k,
            vec![
                "home (ip address)",
                "mngtmpaddr (ip address)",
                "noprefixroute (ip address)",
                "autojoin (ip address)",
                "preferred_lft (ip address)",
                "peer (ip address)",
            ]
        );
    }

    #[test]
    fn log_unknown_vrids_and_regex_stack_are_named() {
        let k = keywords(
            "global_defs {\n log_unknown_vrids\n}\n\
             virtual_server 192.0.2.10 80 {\n protocol TCP\n lvs_method NAT\n \
             real_server 192.0.2.20 80 {\n  HTTP_GET {\n   url {\n    path /\n    \
             regex ok\n    regex_stack 1000 2000\n   }\n  }\n }\n}\n",
        );
        assert_eq!(k, vec!["regex_stack", "log_unknown_vrids"]);
    }

    #[test]
    fn ttl_propagate_is_named_and_locks_are_not() {
        let k = keywords(
            "static_routes {\n 198.51.100.0/24 dev lo ttl-propagate enabled\n \
             198.51.100.128/25 dev lo mtu lock 1400 append\n}\n",
        );
        assert_eq!(k, vec!["ttl-propagate"]);
    }

    #[test]
    fn each_child_names_only_its_own() {
        let text = "global_defs {\n enable_traps\n}\n\
             garp_group {\n garp_interval 1\n interface lo\n}\n\
             bfd_instance b1 {\n neighbor_ip 198.51.100.1\n}\n\
             virtual_server 192.0.2.10 80 {\n protocol TCP\n \
             real_server 192.0.2.20 80 {\n  BFD_CHECK {\n   name b1\n  }\n }\n}\n";
        let loaded = load_str(Path::new("t.conf"), text, &Options::default(), &SystemHost);
        let only_vrrp: Vec<_> = for_children(&loaded.config, true, false)
            .into_iter()
            .map(|n| n.keyword)
            .collect();
        assert_eq!(
            only_vrrp,
            vec!["garp_group", "bfd_instance", "enable_snmp_* / enable_traps"]
        );
        let only_check: Vec<_> = for_children(&loaded.config, false, true)
            .into_iter()
            .map(|n| n.keyword)
            .collect();
        assert_eq!(
            only_check,
            vec!["BFD_CHECK", "enable_snmp_* / enable_traps"]
        );
    }

    #[test]
    fn command_line_options_are_noted() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from(["k", "-x", "-a"]).expect("parses");
        let k: Vec<_> = for_command_line(&cli)
            .into_iter()
            .map(|n| n.keyword)
            .collect();
        assert_eq!(k, vec!["-x / --snmp", "-a / --address-monitoring"]);
        let plain = crate::cli::Cli::try_parse_from(["k"]).expect("parses");
        assert!(for_command_line(&plain).is_empty());
    }

    #[test]
    fn notes_do_not_change_the_config_test_exit_code() {
        let text = "garp_group {\n garp_interval 1\n interface lo\n}\n";
        let loaded = load_str(Path::new("t.conf"), text, &Options::default(), &SystemHost);
        let before = loaded.diagnostics.config_test_exit_code();
        let mut diags = loaded.diagnostics.clone();
        add_to(&mut diags, &find(&loaded.config));
        assert!(diags.len() > loaded.diagnostics.len());
        assert_eq!(diags.config_test_exit_code(), before);
    }
}
