// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The keepalived-rs `resolvers` extension: the block's knobs and
//! HAProxy's defaults, `real_server_name`, and the mistakes reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use keepalived_config::host::FakeHost;
use keepalived_config::model::resolvers::Prefer;
use keepalived_config::types::Timer;
use keepalived_config::{Category, Config, Diagnostics};

fn load(text: &str) -> (Config, Diagnostics) {
    let host = FakeHost::with_interfaces(&["eth0"]);
    let l = keepalived_config::load_str(Path::new("t.conf"), text, &Default::default(), &host);
    (l.config, l.diagnostics)
}

fn messages(d: &Diagnostics) -> Vec<String> {
    d.iter().map(|d| d.message.clone()).collect()
}

/// What is said beyond the `-t` explanations (Info).
fn problems(d: &Diagnostics) -> Vec<String> {
    d.iter()
        .filter(|d| d.category != Category::Info)
        .map(|d| d.message.clone())
        .collect()
}

const FULL: &str = "\
resolvers dns1 {
    nameserver ns1 192.0.2.53
    nameserver ns2 [2001:db8::53]:5353
    parse-resolv-conf
    resolve_retries 5
    timeout resolve 2s
    timeout retry 250ms
    hold valid 20
    hold nx 5s
    hold obsolete 1.5
    accepted_payload_size 1232
    resolve-prefer ipv4
}
virtual_server 192.0.2.10 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server_name Web.Example.Internal. 8080 {
        resolvers dns1
        weight 3
        max_addresses 10
        TCP_CHECK {
            connect_timeout 2
        }
    }
    real_server_name _http._tcp.example.internal {
        resolvers dns1
    }
}
";

#[test]
fn every_knob_is_read() {
    let (cfg, d) = load(FULL);
    assert!(problems(&d).is_empty(), "{:?}", messages(&d));
    let v = &cfg.resolvers[0];
    assert_eq!(v.name, "dns1");
    assert_eq!(v.nameservers.len(), 2);
    assert_eq!(v.nameservers[0].addr, "192.0.2.53:53".parse().unwrap());
    assert_eq!(
        v.nameservers[1].addr,
        "[2001:db8::53]:5353".parse().unwrap()
    );
    assert!(v.parse_resolv_conf);
    assert_eq!(v.resolve_retries, 5);
    assert_eq!(v.timeout_resolve, Timer::from_secs(2));
    assert_eq!(v.timeout_retry, Timer::from_micros(250_000));
    assert_eq!(v.hold.valid, Timer::from_secs(20));
    assert_eq!(v.hold.nx, Timer::from_secs(5));
    assert_eq!(v.hold.obsolete, Timer::from_micros(1_500_000));
    assert_eq!(v.hold.timeout, Timer::from_secs(30), "default kept");
    assert_eq!(v.accepted_payload_size, 1232);
    assert_eq!(v.resolve_prefer, Prefer::Ipv4);

    let vs = &cfg.virtual_servers[0];
    assert!(vs.real_servers.is_empty());
    let web = &vs.named_real_servers[0];
    assert_eq!(web.host, "web.example.internal", "lower case, no root dot");
    assert_eq!(web.port, Some(8080));
    assert_eq!(web.max_addresses, 10);
    assert_eq!(web.template.weight, Some(3));
    assert_eq!(web.template.checkers.len(), 1);
    assert!(!web.is_srv());
    assert!(vs.named_real_servers[1].is_srv());
}

#[test]
fn config_test_explains_the_extension() {
    let (_, d) = load(FULL);
    let m = messages(&d);
    assert!(
        m.iter()
            .any(|s| s.starts_with("resolvers dns1 (keepalived-rs extension)")),
        "{m:?}"
    );
    assert!(
        m.iter().any(|s| s.contains("real_server_name _http._tcp.example.internal (keepalived-rs extension) becomes one real server per SRV target of the lowest priority that resolves (port")),
        "{m:?}"
    );
    assert_eq!(d.config_test_exit_code(), 0);
}

#[test]
fn defaults_are_haproxys() {
    let (cfg, d) = load("resolvers r {\n nameserver a 192.0.2.53:53\n}\n");
    assert!(problems(&d).is_empty(), "{:?}", messages(&d));
    let v = &cfg.resolvers[0];
    assert_eq!(v.resolve_retries, 3);
    assert_eq!(v.timeout_resolve, Timer::from_secs(1));
    assert_eq!(v.timeout_retry, Timer::from_secs(1));
    assert_eq!(v.hold.valid, Timer::from_secs(10));
    assert_eq!(v.hold.nx, Timer::from_secs(30));
    assert_eq!(v.hold.other, Timer::from_secs(30));
    assert_eq!(v.hold.obsolete, Timer::from_secs(0));
    assert_eq!(v.accepted_payload_size, 512);
    assert_eq!(v.resolve_prefer, Prefer::Ipv6);
}

fn one_error(text: &str, needle: &str) -> Config {
    let (cfg, d) = load(text);
    let m = messages(&d);
    assert!(
        m.iter().any(|s| s.contains(needle)),
        "{needle:?} not in {m:?}"
    );
    assert_ne!(d.config_test_exit_code(), 0, "{m:?}");
    cfg
}

const VS_HEAD: &str =
    "virtual_server 192.0.2.10 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n";

#[test]
fn unknown_resolvers_drops_the_named_server_and_an_empty_service() {
    let text = format!(
        "resolvers r {{\n nameserver a 192.0.2.53\n}}\n{VS_HEAD} real_server_name web.example {{\n resolvers nope\n }}\n}}\n"
    );
    let cfg = one_error(&text, "unknown resolvers 'nope'");
    assert!(cfg.virtual_servers.is_empty(), "no real server left");
}

#[test]
fn a_hostname_without_resolvers_is_refused() {
    let text = format!("{VS_HEAD} real_server_name web.example {{\n weight 2\n }}\n}}\n");
    one_error(&text, "has no 'resolvers NAME'");
}

#[test]
fn an_address_is_not_a_name() {
    let text = format!("{VS_HEAD} real_server_name 192.0.2.7 80 {{\n resolvers r\n }}\n}}\n");
    one_error(&text, "use real_server");
}

#[test]
fn a_resolvers_block_needs_a_nameserver() {
    let cfg = one_error("resolvers r {\n resolve_retries 2\n}\n", "no nameserver");
    assert!(cfg.resolvers.is_empty());
}

#[test]
fn bad_values_are_named() {
    one_error(
        "resolvers r {\n nameserver a 192.0.2.53\n timeout resolve 1x\n}\n",
        "expected a time",
    );
    one_error(
        "resolvers r {\n nameserver a ns.example\n}\n",
        "is not ADDR[:PORT]",
    );
    one_error(
        "resolvers r {\n nameserver a 192.0.2.53\n nameserver a 192.0.2.54\n}\n",
        "used twice",
    );
    one_error(
        "resolvers r {\n nameserver a 192.0.2.53\n}\nresolvers r {\n nameserver a 192.0.2.54\n}\n",
        "defined twice",
    );
}

#[test]
fn the_snapshot_round_trips() {
    let (cfg, _) = load(FULL);
    let json = serde_json::to_string(&cfg).unwrap();
    let back: Config = serde_json::from_str(&json).unwrap();
    assert_eq!(
        back.resolvers[0].timeout_retry,
        cfg.resolvers[0].timeout_retry
    );
    assert_eq!(
        back.virtual_servers[0].named_real_servers[0].host,
        "web.example.internal"
    );
    assert_eq!(back.resolvers[0].hold, cfg.resolvers[0].hold);
}

#[test]
fn a_templates_checker_references_are_checked_like_a_real_servers() {
    let (c, d) = load(
        "track_file tf1 {\n file /tmp/tf1\n}\n\
         resolvers dns1 {\n nameserver ns1 192.0.2.53\n}\n\
         virtual_server 192.0.2.10 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n \
         real_server_name web.example.internal {\n  resolvers dns1\n  \
         FILE_CHECK {\n   track_file tf1\n  }\n  FILE_CHECK {\n   track_file nope\n  }\n }\n}\n",
    );
    assert_eq!(
        problems(&d),
        vec!["track_file 'nope' is not defined before this FILE_CHECK; checker ignored"]
    );
    assert_eq!(
        c.virtual_servers[0].named_real_servers[0]
            .template
            .checkers
            .len(),
        1
    );
}

const DNS1: &str = "resolvers dns1 {\n nameserver ns1 192.0.2.53\n}\n";

/// The whole-configuration checks of real servers reach a template:
/// a missing forwarding method is named as for a real server.
#[test]
fn a_template_without_a_forwarding_method_is_named() {
    let (_, d) = load(&format!(
        "{DNS1}virtual_server 192.0.2.10 80 {{\n lvs_sched rr\n protocol TCP\n \
         real_server_name web.example.internal {{\n  resolvers dns1\n }}\n}}\n"
    ));
    assert_eq!(
        problems(&d),
        vec!["virtual server [192.0.2.10]:80: no forwarding method (lvs_method) set; using NAT"]
    );
    let (_, d) = load(&format!(
        "{DNS1}virtual_server 192.0.2.10 80 {{\n lvs_sched rr\n protocol TCP\n \
         real_server_name web.example.internal {{\n  resolvers dns1\n  lvs_method DR\n }}\n}}\n"
    ));
    assert!(problems(&d).is_empty(), "{:?}", messages(&d));
}

/// Outside NAT a real server takes the service's port; so does every
/// server a template becomes.
#[test]
fn a_templates_port_follows_the_service_outside_nat() {
    let (c, d) = load(&format!(
        "{DNS1}virtual_server 192.0.2.10 80 {{\n lvs_sched rr\n lvs_method DR\n protocol TCP\n \
         real_server_name web.example.internal 8080 {{\n  resolvers dns1\n }}\n \
         real_server_name api.example.internal 80 {{\n  resolvers dns1\n }}\n}}\n\
         virtual_server fwmark 7 {{\n lvs_sched rr\n lvs_method DR\n \
         real_server_name web.example.internal 80 {{\n  resolvers dns1\n }}\n}}\n"
    ));
    assert_eq!(
        problems(&d),
        vec![
            "virtual server [192.0.2.10]:80: real_server_name web.example.internal has port 8080 but the ports differ; the port is cleared",
            "virtual server FWM 7: real_server_name web.example.internal has port 80 but a fwmark service takes no port; the port is cleared",
        ]
    );
    let named = &c.virtual_servers[0].named_real_servers;
    assert_eq!((named[0].port, named[0].template.port), (None, None));
    assert_eq!(named[1].template.port, Some(80), "the same port stays");
    assert_eq!(
        c.virtual_servers[1].named_real_servers[0].template.port,
        None
    );
}

/// A template's checker aimed at a link-local address needs bind_if, as
/// a real server's does.
#[test]
fn a_templates_link_local_checker_needs_bind_if() {
    let (c, d) = load(&format!(
        "{DNS1}virtual_server 2001:db8::10 80 {{\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n \
         real_server_name web.example.internal {{\n  resolvers dns1\n  \
         TCP_CHECK {{\n   connect_ip fe80::1\n  }}\n  \
         TCP_CHECK {{\n   connect_ip fe80::2\n   bind_if eth0\n  }}\n  \
         TCP_CHECK {{\n   connect_port 81\n  }}\n }}\n}}\n"
    ));
    assert_eq!(
        problems(&d),
        vec!["TCP_CHECK probes link-local address fe80::1 but has no bind_if; checker ignored"]
    );
    let t = &c.virtual_servers[0].named_real_servers[0].template;
    assert_eq!(t.checkers.len(), 2);
}

const START: &str = "\
resolvers dns1 {
    nameserver ns1 192.0.2.53
    state_file /var/lib/keepalived-rs/dns1.state
}
resolvers dns2 {
    nameserver ns1 192.0.2.53
}
virtual_server 192.0.2.10 80 {
    lvs_sched rr
    lvs_method NAT
    protocol TCP
    real_server_name a.example.internal {
        resolvers dns1
        init-addr last,libc,192.0.2.7,none
    }
    real_server_name b.example.internal {
        resolvers dns2
        init_addr last,libc
    }
    real_server_name _http._tcp.example.internal {
        resolvers dns1
        init_addr libc,last
    }
    real_server_name c.example.internal {
        resolvers dns1
        init_addr last,bogus
    }
}
";

#[test]
fn init_addr_and_state_file_are_read_and_checked() {
    use keepalived_config::model::resolvers::InitAddr;
    let (c, d) = load(START);
    assert_eq!(
        c.resolvers[0].state_file.as_deref(),
        Some("/var/lib/keepalived-rs/dns1.state")
    );
    assert_eq!(c.resolvers[1].state_file, None);
    let named = &c.virtual_servers[0].named_real_servers;
    assert_eq!(
        named[0].init_addr,
        vec![
            InitAddr::Last,
            InitAddr::Libc,
            InitAddr::Addr("192.0.2.7".parse().unwrap()),
            InitAddr::None
        ]
    );
    // No state file in dns2: `last` dropped, `libc` kept.
    assert_eq!(named[1].init_addr, vec![InitAddr::Libc]);
    // getaddrinfo has no SRV.
    assert_eq!(named[2].init_addr, vec![InitAddr::Last]);
    // A word that is none of them: the line is ignored.
    assert!(named[3].init_addr.is_empty());
    let p = problems(&d);
    assert!(
        p.iter()
            .any(|m| m.contains("init_addr last needs 'state_file PATH' in resolvers dns2")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("init_addr libc cannot look up an SRV name")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|m| m.contains("'bogus' is not last, libc, none or an address")),
        "{p:?}"
    );
    assert!(
        messages(&d)
            .iter()
            .any(|m| m.contains("its addresses come from init_addr last,libc,192.0.2.7,none")),
        "{:?}",
        messages(&d)
    );
}

#[test]
fn a_relative_state_file_is_refused() {
    let (c, d) = load("resolvers dns1 {\n nameserver ns1 192.0.2.53\n state_file dns1.state\n}\n");
    assert_eq!(c.resolvers[0].state_file, None);
    assert!(
        problems(&d)
            .iter()
            .any(|m| m.contains("state_file 'dns1.state' is not an absolute path")),
        "{:?}",
        problems(&d)
    );
}
