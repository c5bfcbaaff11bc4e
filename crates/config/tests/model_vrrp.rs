// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The vrrp side of the typed model and its whole-config checks. Expected
//! exit codes are those keepalived 2.2.7 `-t` gives for the same configs
//! (checked in a network namespace with eth0/eth1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use keepalived_config::diag::{Category, Diagnostics, Loc};
use keepalived_config::host::FakeHost;
use keepalived_config::model::vrrp::{AuthType, State};
use keepalived_config::model::{self, Config};
use keepalived_config::preprocess::LogicalLine;
use keepalived_config::reader::Reader;
use keepalived_config::types::Timer;
use keepalived_config::{syntax, validate};

/// Turns text into logical lines the way the preprocessor would for simple
/// input: trimmed non-empty lines, a trailing ` {` split onto its own line.
fn lines(text: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = u32::try_from(n + 1).expect("line");
        let indent = raw.len() - raw.trim_start().len();
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        let col = u32::try_from(indent + 1).expect("col");
        let loc = Loc::new("t.conf".into(), line, col);
        if let Some(head) = t.strip_suffix(" {") {
            out.push(LogicalLine {
                text: head.trim_end().to_string(),
                loc: loc.clone(),
            });
            let brace_col = u32::try_from(indent + t.len()).expect("col");
            out.push(LogicalLine {
                text: "{".into(),
                loc: loc.at_col(brace_col),
            });
        } else {
            out.push(LogicalLine {
                text: t.to_string(),
                loc,
            });
        }
    }
    out
}

fn load_with(text: &str, ifaces: &[&str]) -> (Config, Diagnostics) {
    // The commands these tests configure, as root-owned executables.
    let host = [
        "/bin/true",
        "/bin/false",
        "/bin/echo",
        "/usr/bin/test",
        "/usr/sbin/nginx",
    ]
    .iter()
    .fold(FakeHost::with_interfaces(ifaces), |h, p| {
        h.with_file(p, 0, 0, 0o755)
    });
    let mut diags = Diagnostics::new();
    let src = lines(text);
    let tree = syntax::parse(&src, &mut diags);
    let mut reader = Reader::new(&mut diags);
    let mut config = model::read(&tree, &mut reader);
    let commands = std::mem::take(&mut reader.commands);
    validate::run(&mut config, &commands, &host, &mut diags);
    (config, diags)
}

fn load(text: &str) -> (Config, Diagnostics) {
    let (c, d) = load_with(text, &["eth0", "eth1"]);
    (c, without_security(d))
}

/// These tests are about the model; script security has its own tests, so
/// its verdict on configs without `enable_script_security` is set aside.
fn without_security(d: Diagnostics) -> Diagnostics {
    let mut out = Diagnostics::new();
    for x in d
        .iter()
        .filter(|x| x.category != keepalived_config::Category::Security)
    {
        out.push(x.clone());
    }
    out
}

fn clean(text: &str) -> Config {
    let (c, d) = load(text);
    assert!(d.is_empty(), "unexpected diagnostics: {d:#?}");
    assert_eq!(d.config_test_exit_code(), 0);
    c
}

/// Asserts one diagnostic contains `needle` at `line:col` with `cat`.
fn expect_diag(d: &Diagnostics, cat: Category, needle: &str, line: u32, col: u32) {
    let found = d.iter().find(|x| x.message.contains(needle));
    let Some(x) = found else {
        panic!("no diagnostic containing {needle:?}: {d:#?}");
    };
    assert_eq!(x.category, cat, "{x:?}");
    let l = x.loc.as_ref().expect("location");
    assert_eq!((l.line, l.col), (line, col), "{x:?}");
}

const MINIMAL: &str = "
vrrp_instance VI_1 {
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority 100
    advert_int 1
    virtual_ipaddress {
        192.0.2.100/24
    }
}
";

#[test]
fn minimal_instance_defaults() {
    let c = clean(MINIMAL);
    let i = &c.vrrp_instances[0];
    assert_eq!(i.name, "VI_1");
    assert_eq!(i.state, State::Backup);
    assert_eq!(i.interface.as_deref(), Some("eth0"));
    assert_eq!(i.virtual_router_id, Some(51));
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_int, Timer::from_secs(1));
    assert_eq!(i.version, Some(2));
    assert!(!i.nopreempt);
    let vip = &i.virtual_ipaddress[0];
    assert_eq!(vip.address, "192.0.2.100".parse::<IpAddr>().unwrap());
    assert_eq!(vip.prefix_len, 24);
}

#[test]
fn global_defs_every_keyword_is_known() {
    let c = clean(
        "
global_defs {
    router_id r1
    notification_email {
        a@example.com
    }
    notification_email_from k@example.com
    smtp_server 192.0.2.25 25
    smtp_helo_name h
    smtp_connect_timeout 30
    smtp_alert
    smtp_alert_vrrp
    smtp_alert_checker
    no_email_faults
    no_checker_emails
    checker_log_all_failures
    rs_init_notifies
    enable_script_security
    script_user root root
    vrrp_skip_check_adv_addr
    vrrp_garp_interval 0.001
    vrrp_gna_interval 0.001
    vrrp_garp_master_delay 5
    vrrp_garp_master_repeat 5
    vrrp_garp_master_refresh 60
    vrrp_garp_master_refresh_repeat 2
    vrrp_garp_lower_prio_delay 3
    vrrp_garp_lower_prio_repeat 2
    vrrp_min_garp
    vrrp_garp_extra_if all 10
    vrrp_down_timer_adverts 3
    vrrp_lower_prio_no_advert
    vrrp_higher_prio_send_advert
    vrrp_version 3
    vrrp_mcast_group4 224.0.0.18
    vrrp_mcast_group6 ff02::12
    vrrp_check_unicast_src
    nftables
    nftables_priority -1
    nftables_counters
    nftables_ifindex
    nftables_ipvs
    nftables_ipvs_priority -1
    nftables_ipvs_start_fwmark 1000
    default_interface eth0
    dynamic_interfaces allow_if_changes
    vrrp_startup_delay 1
    max_auto_priority 10
    min_auto_priority_delay 1000000
    vrrp_priority -10
    vrrp_no_swap
    vrrp_rt_priority 10
    vrrp_cpu_affinity 0
    vrrp_rlimit_rttime 10000
    checker_priority -5
    checker_no_swap
    checker_rt_priority 10
    checker_cpu_affinity 0
    checker_rlimit_rtime 10000
    bfd_priority -5
    bfd_no_swap
    bfd_rt_priority 10
    bfd_cpu_affinity 0 1
    bfd_rlimit_rttime 10000
    lvs_sync_daemon eth0 VI_1 id 5 maxlen 100 port 8848 ttl 1 group 224.0.0.81
    lvs_timeouts tcp 900 tcpfin 120 udp 300
    lvs_flush
    lvs_flush_on_stop VS
    notify_fifo /tmp/f1 root
    notify_fifo_script /bin/true
    vrrp_notify_fifo /tmp/f2
    vrrp_notify_fifo_script /bin/true
    lvs_notify_fifo /tmp/f3
    lvs_notify_fifo_script /bin/true
    vrrp_notify_priority_changes true
    fifo_write_vrrp_states_on_reload
    startup_script /bin/true
    startup_script_timeout 10
    shutdown_script /bin/true
    shutdown_script_timeout 10
    snmp_socket unix:/var/agentx/master
    enable_traps
    enable_snmp_vrrp
    enable_snmp_keepalived
    enable_snmp_checker
    enable_snmp_rfc
    enable_snmp_rfcv2
    enable_snmp_rfcv3
    enable_dbus
    dbus_service_name org.keepalived.Vrrp1
    vrrp_netlink_cmd_rcv_bufs 1048576
    vrrp_netlink_cmd_rcv_bufs_force
    vrrp_netlink_monitor_rcv_bufs 1048576
    vrrp_netlink_monitor_rcv_bufs_force
    lvs_netlink_cmd_rcv_bufs 1048576
    lvs_netlink_cmd_rcv_bufs_force
    lvs_netlink_monitor_rcv_bufs 1048576
    lvs_netlink_monitor_rcv_bufs_force
    process_monitor_rcv_bufs 1048576
    process_monitor_rcv_bufs_force
    vrrp_rx_bufs_policy MTU
    vrrp_rx_bufs_multiplier 3
    process_names
    process_name kk
    vrrp_process_name kv
    checker_process_name kc
    bfd_process_name kb
    vmac_prefix vrt
    vmac_addr_prefix vrt
    log_unknown_vrids
    disable_local_igmp
    umask 0022
    random_seed 42
    data_use_instance
    config_save_dir /tmp
    tmp_config_directory /tmp
    reload_check_config
    reload_time_file /tmp/rtf
    reload_repeat
    reload_file /tmp/rf
    vrrp_strict
}
",
    );
    let g = &c.global_defs;
    assert_eq!(g.router_id.as_deref(), Some("r1"));
    assert!(g.enable_script_security);
    assert_eq!(g.script_user.as_deref(), Some("root"));
    assert_eq!(g.script_group.as_deref(), Some("root"));
    assert_eq!(g.vrrp_garp_interval, Some(Timer::from_micros(1000)));
    assert_eq!(g.vrrp_version, 3);
    assert!(g.vrrp_strict);
    assert_eq!(g.smtp_server.as_ref().map(|s| s.port), Some(25));
    assert_eq!(
        g.notify_fifo.as_ref().and_then(|f| f.user.as_deref()),
        Some("root")
    );
    assert_eq!(g.lvs_timeouts.as_ref().and_then(|t| t.tcpfin), Some(120));
    assert_eq!(g.bfd_cpu_affinity, Some(vec![0, 1]));
    assert_eq!(g.nftables.as_deref(), Some("keepalived"));
    assert!(g.enable_snmp_vrrp);
}

#[test]
fn global_defs_defaults_and_bad_values() {
    let (c, d) = load(
        "
global_defs {
    vrrp_garp_master_repeat 0
    vrrp_version 4
    vrrp_priority 30
    vrrp_garp_interval 0
    vrrp_ipsets
    nat_mask 255.255.255.0
}
",
    );
    let g = &c.global_defs;
    assert_eq!(g.vrrp_garp_master_repeat, 1);
    assert_eq!(g.vrrp_version, 2);
    assert_eq!(g.vrrp_priority, None);
    assert_eq!(g.vrrp_garp_master_delay, 5);
    assert_eq!(g.smtp_connect_timeout, 30);
    expect_diag(&d, Category::Warning, "must be greater than 0", 3, 5);
    expect_diag(
        &d,
        Category::InvalidNumber,
        "'4' outside range [2, 3]",
        4,
        18,
    );
    expect_diag(
        &d,
        Category::InvalidNumber,
        "'30' outside range [-20, 19]",
        5,
        19,
    );
    expect_diag(&d, Category::InvalidNumber, "'0' outside range", 6, 24);
    // No ipset support in the reference build: keepalived says unknown.
    expect_diag(&d, Category::UnknownKeyword, "'vrrp_ipsets'", 7, 5);
    expect_diag(&d, Category::UnknownKeyword, "'nat_mask'", 8, 5);
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn instance_all_keywords() {
    let (c, d) = load(
        "
vrrp_script chk {
    script /bin/true
}
track_file tf {
    file /tmp/x
}
vrrp_track_process tp {
    process sshd
}
bfd_instance B {
    neighbor_ip 192.0.2.9
}
vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 150
    advert_int 2
    version 2
    use_vmac vrrp51 02:00:00:00:00:01
    vmac_xmit_base
    dont_track_primary
    track_interface {
        eth1 weight 10
    }
    track_script {
        chk weight 10 reverse
    }
    track_file {
        tf weight -5
    }
    track_process {
        tp
    }
    track_bfd {
        B weight 3 noreverse
    }
    mcast_src_ip 192.0.2.1
    track_src_ip
    unicast_fault_no_peer
    check_unicast_src
    old_unicast_checksum never
    virtual_ipaddress {
        192.0.2.10/24 dev eth0 label eth0:vip
        192.0.2.11
    }
    virtual_ipaddress_excluded {
        192.0.2.12/24
    }
    virtual_routes {
        203.0.113.0/24 via 192.0.2.254 dev eth0 table 100 metric 5
    }
    virtual_rules {
        from 192.0.2.0/24 table 100 preference 5
    }
    accept
    skip_check_adv_addr
    strict_mode false
    preempt
    debug 1
    notify_backup /bin/true
    notify_master \"/bin/echo master\"
    notify_fault /bin/true
    notify_stop /bin/true
    notify_deleted /bin/true
    notify /bin/true root root
    notify_master_rx_lower_pri /bin/true
    smtp_alert
    notify_priority_changes
    garp_master_delay 5
    garp_master_refresh 10
    garp_master_repeat 5
    garp_master_refresh_repeat 1
    garp_lower_prio_delay 5
    garp_lower_prio_repeat 5
    down_timer_adverts 3
    garp_extra_if 5
    lower_prio_no_advert
    higher_prio_send_advert
    kernel_rx_buf_size 10000
    authentication {
        auth_type PASS
        auth_pass secret
    }
}
",
    );
    assert!(d.is_empty(), "{d:#?}");
    let i = &c.vrrp_instances[0];
    assert_eq!(i.state, State::Master);
    assert_eq!(i.priority, 150);
    assert_eq!(i.advert_int, Timer::from_secs(2));
    let vm = i.use_vmac.as_ref().expect("vmac");
    assert_eq!(vm.name.as_deref(), Some("vrrp51"));
    assert_eq!(vm.mac.as_deref(), Some("02:00:00:00:00:01"));
    assert_eq!(i.track_script[0].weight, Some(10));
    assert!(i.track_script[0].reverse);
    assert_eq!(i.track_file[0].weight, Some(-5));
    assert_eq!(i.virtual_ipaddress[1].prefix_len, 32);
    assert_eq!(i.virtual_ipaddress[0].label.as_deref(), Some("eth0:vip"));
    assert_eq!(i.virtual_routes[0].metric, Some(5));
    assert_eq!(i.virtual_rules[0].preference, Some(5));
    assert_eq!(i.accept, Some(true));
    let auth = i.authentication.as_ref().expect("auth");
    assert_eq!(auth.auth_type, Some(AuthType::Pass));
    assert_eq!(i.notify_master.as_ref().map(|c| c.argv.len()), Some(2));
    assert_eq!(
        i.notify.as_ref().and_then(|c| c.user.as_deref()),
        Some("root")
    );
}

#[test]
fn state_master_without_priority_is_owner() {
    let c = clean(
        &MINIMAL
            .replace("state BACKUP", "state MASTER")
            .replace("priority 100\n", ""),
    );
    assert_eq!(c.vrrp_instances[0].priority, 255);
}

#[test]
fn addresses_routes_rules() {
    let (c, d) = load(
        "
static_ipaddress {
    192.0.2.50/24 dev eth0 scope global label eth0:st
    198.51.100.50/24 brd + dev eth1 home -nodad noprefixroute preferred_lft forever no_track
    2001:db8::50 dev eth0
    192.0.2.52/33 dev eth0
    192.0.2.300/24 dev eth0
    192.0.2.54/24 dev eth0 wibble
}
static_routes {
    203.0.113.0/24 via 192.0.2.254 dev eth0
    blackhole 203.0.113.128/25 no_track
    2001:db8:1::/48 via 2001:db8::fe dev eth0
    198.51.100.0/24 via 192.0.2.254
}
static_rules {
    from 192.0.2.0/24 table 100 preference 100
    to 203.0.113.0/24 lookup 100 priority 101
    fwmark 7 table 100
}
",
    );
    let a = &c.static_ipaddress;
    assert_eq!(a.len(), 5, "the invalid address is skipped");
    assert_eq!(a[0].scope.as_deref(), Some("global"));
    assert_eq!(a[1].brd.as_deref(), Some("+"));
    assert!(a[1].home && a[1].nodad && a[1].noprefixroute && a[1].no_track);
    assert_eq!(a[2].prefix_len, 128);
    assert_eq!(
        a[3].prefix_len, 32,
        "a bad prefix length takes the host length"
    );
    let r = &c.static_routes;
    assert_eq!(r.len(), 4);
    assert_eq!(r[1].route_type.as_deref(), Some("blackhole"));
    assert_eq!(r[1].to.map(|p| p.prefix_len), Some(25));
    assert_eq!(c.static_rules[1].preference, Some(101));
    expect_diag(
        &d,
        Category::GeneralError,
        "invalid prefix length '33'",
        6,
        5,
    );
    expect_diag(
        &d,
        Category::GeneralError,
        "invalid IP address '192.0.2.300/24'",
        7,
        5,
    );
    expect_diag(&d, Category::Warning, "unknown option 'wibble'", 8, 28);
    expect_diag(&d, Category::Warning, "cannot track a route", 14, 5);
    expect_diag(&d, Category::Warning, "rule has no preference", 19, 5);
    assert_eq!(d.config_test_exit_code(), 5);
}

/// keepalived 2.2.7's `lock` before a metric's value, and its placement
/// words (`add`, `prepend`, `append`): kept, never read as values.
#[test]
fn route_locks_and_placement_words_are_kept() {
    use keepalived_config::model::addr::RouteAddMode;
    let (c, d) = load(
        "
static_routes {
    198.51.100.0/25 dev eth0 mtu lock 1400 advmss lock 1300 append
    198.51.100.128/25 dev eth0 congctl lock cubic rtt lock 10ms add
    203.0.113.0/25 dev eth0 mtu 1400 append prepend
    203.0.113.128/25 dev eth0 as to 192.0.2.9 mtu 1300
    192.0.2.128/25 dev eth0 window lock 10
    192.0.2.0/26 dev eth0 lock
}
",
    );
    let r = &c.static_routes;
    assert_eq!(r.len(), 4, "the bad lock lines are skipped: {d:#?}");
    assert_eq!(
        r[0].options,
        [
            ("mtu".into(), "1400".into()),
            ("advmss".into(), "1300".into())
        ]
    );
    assert_eq!(r[0].locked, ["mtu", "advmss"]);
    assert_eq!(r[0].add_mode, RouteAddMode::Append);
    assert_eq!(
        r[1].options,
        [
            ("congctl".into(), "cubic".into()),
            ("rtt".into(), "10ms".into())
        ]
    );
    assert_eq!(r[1].locked, ["congctl", "rtt"]);
    assert_eq!(r[1].add_mode, RouteAddMode::Add);
    assert!(r[2].locked.is_empty());
    assert_eq!(r[2].add_mode, RouteAddMode::Prepend, "the last word wins");
    assert_eq!(r[3].options, [("mtu".to_string(), "1300".to_string())]);
    expect_diag(
        &d,
        Category::GeneralError,
        "'as [to]' is for MPLS only",
        6,
        31,
    );
    expect_diag(
        &d,
        Category::GeneralError,
        "invalid window value 'lock'",
        7,
        29,
    );
    expect_diag(
        &d,
        Category::GeneralError,
        "unknown route keyword 'lock'",
        8,
        27,
    );
}

/// keepalived 2.2.7 drops a rule with a word it does not know, takes
/// `dev` for `iif` and `type` before the action.
#[test]
fn rule_words_as_keepalived_reads_them() {
    let (c, d) = load(
        "
static_rules {
    from 192.0.2.0/24 dev eth0 table 100 preference 100
    to 203.0.113.0/24 type prohibit preference 101
    from 192.0.2.0/24 wibble table 100 preference 102
}
",
    );
    let r = &c.static_rules;
    assert_eq!(r.len(), 2, "{d:#?}");
    assert_eq!(r[0].iif.as_deref(), Some("eth0"));
    assert_eq!(r[1].action.as_deref(), Some("prohibit"));
    expect_diag(
        &d,
        Category::GeneralError,
        "unknown rule option 'wibble'; rule skipped",
        5,
        23,
    );
}

/// The values and combinations keepalived 2.2.7 refuses while reading a
/// route or rule (its messages in vrrp_iproute.c / vrrp_iprule.c): the
/// entry is skipped, or for `features` / `ttl-propagate` only the option.
#[test]
fn route_and_rule_values_keepalived_refuses() {
    let (c, d) = load(
        "
static_routes {
    198.51.100.0/28 dev eth0 table 100
    198.51.100.16/28 dev eth0 lookup 100
    198.51.100.32/28 dev eth0 features 3
    198.51.100.48/28 dev eth0 quickack 2
    198.51.100.64/28 dev eth0 hoplimit 300
    198.51.100.80/28 dev eth0 expires 30
    198.51.100.96/28 dev eth0 pref high
    2001:db8:9::/48 dev eth0 realms 3
    198.51.100.112/28 from 192.0.2.0/24 dev eth0
    198.51.100.128/28 dev eth0 rtt 10parsecs
    198.51.100.144/28 dev eth0 ttl-propagate maybe
    198.51.100.160/28 dev eth0 protocol static
    default dev eth0 expires 30
}
static_rules {
    from 192.0.2.0/24 oifname eth0 table 100 preference 103
    from 192.0.2.2 blackhole preference 105 realms 3
    from 192.0.2.4 l3mdev table 100 preference 107
    from 192.0.2.5 goto 100 preference 108
    from 192.0.2.6 goto 300
    from 192.0.2.7 preference 109
    from 192.0.2.8 table 100 preference 110 protocol static
    from 192.0.2.9 table 100 preference 111 protocol static no_track
}
",
    );
    let kept: Vec<String> = c
        .static_routes
        .iter()
        .map(|r| r.to.map(|p| p.to_string()).unwrap_or_default())
        .collect();
    assert_eq!(
        kept,
        [
            "198.51.100.0/28",
            "198.51.100.32/28",
            "198.51.100.144/28",
            "198.51.100.160/28",
            "::/0"
        ],
        "{d:#?}"
    );
    assert!(c.static_routes[1].options.is_empty(), "features 3 dropped");
    assert!(
        c.static_routes[2].options.is_empty(),
        "ttl-propagate dropped"
    );
    assert_eq!(c.static_routes[3].protocol, None, "tracked: reset to 18");
    let prefs: Vec<Option<u32>> = c.static_rules.iter().map(|r| r.preference).collect();
    assert_eq!(prefs, [Some(110), Some(111)]);
    assert!(
        c.static_rules[0].options.is_empty(),
        "tracked: protocol reset"
    );
    assert_eq!(c.static_rules[1].options.len(), 1, "untracked keeps it");
    for (needle, line) in [
        ("unknown route keyword 'lookup'", 4),
        ("feature 3 not supported", 5),
        ("invalid quickack value '2'", 6),
        ("invalid hoplimit value '300'", 7),
        ("expires is only valid for IPv6", 8),
        ("pref is only valid for IPv6", 9),
        ("realms are only valid for IPv4", 10),
        (
            "route from address 192.0.2.0/24 is only supported with IPv6",
            11,
        ),
        ("invalid rtt '10parsecs'", 12),
        ("ttl-propagate value maybe not recognised", 13),
        ("a tracked route must have protocol keepalived", 14),
        ("unknown rule option 'oifname'", 18),
        ("suppressor/realm specified for non table action", 19),
        ("cannot specify more than one of table", 20),
        ("preference 108 >= goto target 100", 21),
        ("goto target 300 specified without preference", 22),
        ("no action specified for rule", 23),
        ("a tracked rule must have protocol keepalived", 24),
    ] {
        let x = d
            .iter()
            .find(|x| x.message.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in {d:#?}"));
        assert_eq!(x.category, Category::GeneralError, "{x:?}");
        assert_eq!(x.loc.as_ref().map(|l| l.line), Some(line), "{x:?}");
    }
    assert_eq!(d.config_test_exit_code(), 5);
}

/// `default` takes its family from the rest of the line: `inet6` (before
/// or after it), an IPv6 gateway or source; otherwise it is IPv4.
#[test]
fn a_default_route_takes_the_lines_family() {
    let (c, _) = load(
        "
static_routes {
    default dev eth0
    inet6 default dev eth0
    default dev eth0 inet6
    default via 2001:db8::fe dev eth0
    default via inet6 2001:db8::fe dev eth0
    default via 192.0.2.254 dev eth0
}
",
    );
    let to: Vec<String> = c
        .static_routes
        .iter()
        .map(|r| {
            r.to.map(|p| format!("{}/{}", p.address, p.prefix_len))
                .unwrap_or_default()
        })
        .collect();
    assert_eq!(
        to,
        ["0.0.0.0/0", "::/0", "::/0", "::/0", "::/0", "0.0.0.0/0"]
    );
}

#[test]
fn scripts_processes_files_groups() {
    let (c, d) = load(
        "
global_defs {
    enable_script_security
}
vrrp_script chk {
    script \"/usr/bin/test -f /tmp/x\"
    interval 2
    timeout 3
    weight -20 reverse
    rise 2
    fall 3
    user nobody nogroup
    init_fail
}
vrrp_script empty {
    interval 2
}
vrrp_track_process tp {
    process /usr/sbin/nginx -g daemon
    param_match partial
    full_command
    weight -20 reverse
    quorum 2
    quorum_max 4
    fork_delay 1
    terminate_delay 0.5
}
track_file tf {
    file \"/tmp/tf\"
    weight -2 reverse
    init_file 5 overwrite
}
track_group TG {
    group {
        VI_1
    }
}
",
    );
    let s = &c.vrrp_scripts;
    assert_eq!(s.len(), 1, "a script without 'script' is removed");
    assert_eq!(s[0].script.as_ref().map(|c| c.argv.len()), Some(3));
    assert_eq!(
        (s[0].interval, s[0].timeout, s[0].weight),
        (2, Some(3), -20)
    );
    assert!(s[0].weight_reverse && s[0].init_fail);
    assert_eq!(s[0].group.as_deref(), Some("nogroup"));
    let p = &c.track_processes[0];
    assert_eq!(p.process, ["/usr/sbin/nginx", "-g", "daemon"]);
    assert_eq!(p.quorum_max, Some(4));
    assert_eq!(p.terminate_delay, Some(Timer::from_micros(500_000)));
    let f = &c.track_files[0];
    assert_eq!((f.init_file, f.init_file_overwrite), (Some(5), true));
    expect_diag(
        &d,
        Category::Warning,
        "vrrp_script empty has no 'script'",
        15,
        1,
    );
    // TG names VI_1, which is not defined: keepalived drops it silently.
    assert!(c.track_groups[0].group.is_empty());
    assert!(!d.iter().any(|x| x.message.contains("TG")), "{d:#?}");
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn sync_group_members_and_notify() {
    let base = MINIMAL.replace("VI_1", "VI_A")
        + &MINIMAL
            .replace("VI_1", "VI_B")
            .replace("eth0", "eth1")
            .replace("51", "52");
    let c = clean(&format!(
        "
vrrp_sync_group SG_1 {{
    group {{
        VI_A
        VI_B
    }}
    notify_master \"/bin/echo group master\"
    notify \"/bin/echo group\" root root
    smtp_alert
}}
{base}"
    ));
    let g = &c.sync_groups[0];
    assert_eq!(g.group, ["VI_A", "VI_B"]);
    assert!(g.smtp_alert);
    assert_eq!(
        g.notify.as_ref().and_then(|c| c.group.as_deref()),
        Some("root")
    );
}

#[test]
fn misc_blocks() {
    let c = clean(
        "
garp_group {
    garp_interval 0.5
    interfaces {
        eth0
        eth1
    }
}
linkbeat_interfaces {
    eth0
    eth1 MII
}
interface_up_down_delays {
    eth0 2 3
    eth1 5
}
bfd_instance BFD_1 {
    neighbor_ip 192.0.2.2
    source_ip 192.0.2.1
    min_rx 100
    multiplier 3
    ttl 255
    weight 10
}
",
    );
    assert_eq!(c.garp_groups[0].interfaces, ["eth0", "eth1"]);
    assert_eq!(
        c.garp_groups[0].garp_interval,
        Some(Timer::from_micros(500_000))
    );
    assert_eq!(c.interface_up_down_delays[0].up, Timer::from_secs(3));
    assert_eq!(c.interface_up_down_delays[1].up, Timer::default());
    assert_eq!(c.bfd_instances[0].min_rx, 100);
    assert_eq!(c.bfd_instances[0].min_tx, 10);
}

// ------------------------------------------------------------- validation

#[test]
fn vrid_required_and_range() {
    let (_, d) = load(&MINIMAL.replace("virtual_router_id 51", "virtual_router_id 300"));
    expect_diag(
        &d,
        Category::InvalidNumber,
        "'300' outside range [1, 255]",
        5,
        23,
    );
    expect_diag(
        &d,
        Category::GeneralError,
        "virtual router id must be set",
        2,
        1,
    );
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn priority_out_of_range_keeps_default() {
    let (c, d) = load(&MINIMAL.replace("priority 100", "priority 0"));
    assert_eq!(c.vrrp_instances[0].priority, 100);
    expect_diag(
        &d,
        Category::InvalidNumber,
        "'0' outside range [1, 255]",
        6,
        14,
    );
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn master_below_255_in_strict_mode() {
    let text = format!(
        "global_defs {{\n    vrrp_strict\n}}\n{}",
        MINIMAL.replace("state BACKUP", "state MASTER")
    );
    let (c, d) = load(&text);
    expect_diag(
        &d,
        Category::GeneralError,
        "state MASTER must match being address owner",
        5,
        1,
    );
    assert_eq!(c.vrrp_instances[0].state, State::Backup);
    assert_eq!(d.config_test_exit_code(), 5);
    // Without strict mode keepalived accepts it silently.
    clean(&MINIMAL.replace("state BACKUP", "state MASTER"));
}

#[test]
fn nopreempt_and_preempt_delay_with_master() {
    let (c, d) = load(&MINIMAL.replace(
        "state BACKUP",
        "state MASTER\n    nopreempt\n    preempt_delay 3",
    ));
    let i = &c.vrrp_instances[0];
    assert!(!i.nopreempt);
    assert_eq!(i.preempt_delay, Timer::default());
    expect_diag(
        &d,
        Category::Warning,
        "nopreempt will not work with initial state MASTER",
        2,
        1,
    );
    expect_diag(
        &d,
        Category::Warning,
        "preempt_delay will not work with initial state MASTER",
        2,
        1,
    );
    assert_eq!(d.config_test_exit_code(), 5);
    let (_, d) = load(&MINIMAL.replace("priority 100", "priority 100\n    preempt_delay 2000"));
    expect_diag(
        &d,
        Category::InvalidNumber,
        "'2000' outside range [0, 1000]",
        7,
        19,
    );
}

#[test]
fn v3_with_authentication_is_ignored() {
    let (c, d) = load(&MINIMAL.replace(
        "advert_int 1",
        "version 3\n    authentication {\n        auth_type PASS\n        auth_pass 123456789\n    }",
    ));
    assert!(c.vrrp_instances[0].authentication.is_none());
    expect_diag(
        &d,
        Category::Warning,
        "auth_pass is longer than 8 characters",
        10,
        9,
    );
    expect_diag(
        &d,
        Category::Warning,
        "VRRP version 3 does not support authentication",
        2,
        1,
    );
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn ipv6_forces_v3_silently() {
    let c = clean(
        &MINIMAL
            .replace("advert_int 1", "version 2")
            .replace("192.0.2.100/24", "2001:db8::1/64"),
    );
    assert_eq!(c.vrrp_instances[0].version, Some(3));
}

#[test]
fn advert_int_rounding() {
    let (c, d) = load(&MINIMAL.replace("advert_int 1", "advert_int 0.5"));
    assert_eq!(c.vrrp_instances[0].advert_int, Timer::from_secs(1));
    expect_diag(
        &d,
        Category::Warning,
        "VRRPv2 advertisement interval 0.5 s must be an integer",
        2,
        1,
    );
    assert_eq!(d.config_test_exit_code(), 5);
    let (c, d) = load(&MINIMAL.replace("advert_int 1", "advert_int 2.5"));
    assert_eq!(c.vrrp_instances[0].advert_int, Timer::from_secs(3));
    assert_eq!(d.config_test_exit_code(), 5);
    let c = clean(&MINIMAL.replace("advert_int 1", "advert_int 0.5\n    version 3"));
    assert_eq!(c.vrrp_instances[0].advert_int, Timer::from_micros(500_000));
    let (c, d) = load(&MINIMAL.replace("advert_int 1", "advert_int 0.015\n    version 3"));
    assert_eq!(c.vrrp_instances[0].advert_int, Timer::from_micros(20_000));
    expect_diag(&d, Category::Warning, "units of 10 ms", 2, 1);
    let (c, _) = load(&MINIMAL.replace("advert_int 1", "advert_int 41\n    version 3"));
    assert_eq!(
        c.vrrp_instances[0].advert_int,
        Timer::from_micros(40_950_000)
    );
}

#[test]
fn instance_without_interface() {
    let (_, d) = load(&MINIMAL.replace("    interface eth0\n", ""));
    expect_diag(&d, Category::GeneralError, "(VI_1) has no interface", 2, 1);
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn undefined_track_references() {
    let (c, d) = load(&MINIMAL.replace(
        "advert_int 1",
        "track_script {\n        nosuch\n    }\n    track_file {\n        nofile\n    }\n    track_process {\n        noproc\n    }\n    track_bfd {\n        nobfd\n    }",
    ));
    let i = &c.vrrp_instances[0];
    assert!(i.track_script.is_empty() && i.track_file.is_empty());
    expect_diag(&d, Category::Warning, "track script nosuch not found", 8, 9);
    expect_diag(&d, Category::Warning, "track file nofile not found", 11, 9);
    expect_diag(
        &d,
        Category::Warning,
        "track process noproc not found",
        14,
        9,
    );
    expect_diag(&d, Category::Warning, "track bfd nobfd not found", 17, 9);
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn sync_group_bad_and_double_members() {
    let text = format!(
        "
vrrp_sync_group SG {{
    group {{
        VI_1
        VI_X
    }}
}}
vrrp_sync_group SG2 {{
    group {{
        VI_1
    }}
}}
{MINIMAL}"
    );
    let (c, d) = load(&text);
    expect_diag(
        &d,
        Category::Warning,
        "VI_X specified in sync group SG doesn't exist",
        5,
        9,
    );
    expect_diag(
        &d,
        Category::Warning,
        "VI_1 cannot be in more than one sync group",
        10,
        9,
    );
    expect_diag(&d, Category::Warning, "SG has only 1 virtual router", 2, 1);
    expect_diag(
        &d,
        Category::Warning,
        "SG2 has no matching virtual router",
        8,
        1,
    );
    assert_eq!(c.sync_groups.len(), 1);
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn missing_interfaces_are_bad_interfaces() {
    let (_, d) = load(&MINIMAL.replace("interface eth0", "interface eth9"));
    expect_diag(
        &d,
        Category::Warning,
        "interface eth9 for vrrp_instance VI_1 doesn't exist",
        4,
        5,
    );
    expect_diag(
        &d,
        Category::BadInterface,
        "non-existent interface eth9",
        4,
        5,
    );
    assert_eq!(d.config_test_exit_code(), 4);

    let (_, d) = load(&MINIMAL.replace("advert_int 1", "track_interface {\n        eth8\n    }"));
    expect_diag(
        &d,
        Category::Warning,
        "tracked interface eth8 doesn't exist",
        8,
        9,
    );
    assert_eq!(d.config_test_exit_code(), 4);

    let (_, d) = load(&MINIMAL.replace("192.0.2.100/24", "192.0.2.100/24 dev eth7"));
    expect_diag(
        &d,
        Category::BadInterface,
        "non-existent interface eth7",
        9,
        9,
    );
    assert_eq!(d.config_test_exit_code(), 4);

    let (_, d) = load("linkbeat_interfaces {\n    eth6\n}\n");
    expect_diag(&d, Category::BadInterface, "unknown interface eth6", 2, 5);
    assert_eq!(d.config_test_exit_code(), 4);
}

/// Counts the interface questions validation asks its host.
struct CountingHost {
    inner: FakeHost,
    asked: std::cell::Cell<usize>,
}

impl keepalived_config::Host for CountingHost {
    fn interface_exists(&self, name: &str) -> bool {
        self.asked.set(self.asked.get() + 1);
        self.inner.interface_exists(name)
    }
}

#[test]
fn each_interface_name_is_asked_once() {
    let mut text = String::new();
    for i in 1..=20 {
        text.push_str(&format!(
            "vrrp_instance V{i} {{\n interface eth0\n virtual_router_id {i}\n track_interface {{\n  eth1\n }}\n virtual_ipaddress {{\n  192.0.2.{i}/32 dev eth0\n  198.51.100.{i}/32 dev eth9\n }}\n}}\n"
        ));
    }
    let host = CountingHost {
        inner: FakeHost::with_interfaces(&["eth0", "eth1"]),
        asked: std::cell::Cell::new(0),
    };
    let mut diags = Diagnostics::new();
    let src = lines(&text);
    let tree = syntax::parse(&src, &mut diags);
    let mut reader = Reader::new(&mut diags);
    let mut config = model::read(&tree, &mut reader);
    validate::run(&mut config, &[], &host, &mut diags);
    assert_eq!(config.vrrp_instances.len(), 20);
    // eth9 is still reported for every address that names it.
    let bad = diags
        .iter()
        .filter(|d| d.category == Category::BadInterface)
        .count();
    assert_eq!(bad, 20, "{diags:#?}");
    assert_eq!(host.asked.get(), 3);
}

#[test]
fn duplicate_names_and_vrids() {
    let two = format!("{MINIMAL}{}", MINIMAL.replace("VI_1", "VI_2"));
    let (c, d) = load(&two);
    expect_diag(
        &d,
        Category::Warning,
        "VI_1 and VI_2 both use VRID 51 with IPv4 on interface eth0",
        13,
        1,
    );
    assert_eq!(c.vrrp_instances.len(), 2);
    let (c, d) = load(&format!("{MINIMAL}{MINIMAL}"));
    expect_diag(
        &d,
        Category::Warning,
        "vrrp instance VI_1 already defined",
        13,
        1,
    );
    assert_eq!(c.vrrp_instances.len(), 1);
    assert_eq!(d.config_test_exit_code(), 5);
    // Same VRID on the same interface for IPv4 and IPv6 is fine.
    clean(&format!(
        "{MINIMAL}{}",
        MINIMAL
            .replace("VI_1", "VI_2")
            .replace("192.0.2.100/24", "2001:db8::1/64")
    ));
}

#[test]
fn no_vip_warns_and_unicast_peers() {
    let (_, d) = load(&MINIMAL.replace("        192.0.2.100/24\n", ""));
    expect_diag(
        &d,
        Category::Warning,
        "no VIP specified; at least one is sensible",
        2,
        1,
    );
    let (c, d) = load(&MINIMAL.replace(
        "advert_int 1",
        "unicast_src_ip 192.0.2.1\n    unicast_peer {\n        192.0.2.2 min_ttl 1 max_ttl 200\n        2001:db8::2\n        bad\n    }",
    ));
    let p = &c.vrrp_instances[0].unicast_peer;
    assert_eq!(p.len(), 1);
    assert_eq!((p[0].min_ttl, p[0].max_ttl), (1, 200));
    expect_diag(
        &d,
        Category::GeneralError,
        "malformed unicast peer address 'bad'",
        11,
        9,
    );
    expect_diag(
        &d,
        Category::GeneralError,
        "unicast peer 2001:db8::2",
        10,
        9,
    );
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn state_values() {
    let (c, d) = load(&MINIMAL.replace("state BACKUP", "state FOO"));
    assert_eq!(c.vrrp_instances[0].state, State::Backup);
    expect_diag(&d, Category::Warning, "unknown state 'FOO'", 3, 11);
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn rules_without_preference_count_down_from_16384_across_the_file() {
    let (c, d) = load(
        "vrrp_instance VI_1 {
    interface eth0
    virtual_router_id 51
    virtual_ipaddress {
        192.0.2.100/32
    }
    virtual_rules {
        from 192.0.2.5 table 100
        from 192.0.2.6 table 101 preference 300
    }
}
static_rules {
    from 192.0.2.7 table 102
}
",
    );
    let i = &c.vrrp_instances[0];
    let prefs: Vec<_> = i
        .virtual_rules
        .iter()
        .chain(&c.static_rules)
        .map(|r| r.preference)
        .collect();
    assert_eq!(prefs, vec![Some(16384), Some(300), Some(16383)]);
    expect_diag(&d, Category::Warning, "setting it to 16383", 13, 5);
}

#[test]
fn accept_with_vrrp_v2_in_strict_mode_is_reset() {
    let text = |prio: u8| {
        format!(
            "global_defs {{
    vrrp_strict
}}
vrrp_instance VI_1 {{
    interface eth0
    virtual_router_id 51
    priority {prio}
    version 2
    accept
    virtual_ipaddress {{
        192.0.2.100/32
    }}
}}
"
        )
    };
    let (c, d) = load(&text(100));
    assert_eq!(c.vrrp_instances[0].accept, Some(false));
    expect_diag(
        &d,
        Category::GeneralError,
        "accept mode for VRRP version 2 does not comply with RFC3768",
        4,
        1,
    );
    // The address owner keeps it, as keepalived's does.
    let (c, d) = load(&text(255));
    assert_eq!(c.vrrp_instances[0].accept, Some(true));
    assert!(!d.iter().any(|x| x.message.contains("RFC3768")));
}
