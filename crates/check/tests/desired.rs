// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The desired IPVS table from keepalived.conf text: service expansion,
//! real server ports and weights, health, inhibit, quorum and the sorry
//! server, globals. Each expectation is keepalived 2.2.7's behaviour as
//! read in its source (see the module docs of `desired` and `expand`).

use std::collections::BTreeMap;
use std::net::IpAddr;

use keepalived_check::desired::{desired_table, evaluate_quorum, startup_table};
use keepalived_check::globals::{lvs_timeouts, sync_daemon_spec};
use keepalived_check::health::HealthView;
use keepalived_check::ids::RealServerId;
use keepalived_check::quorum::QuorumBook;
use keepalived_config::model::Config;
mod support;
use support::load;

use keepalived_ipvs::ipvsadm::render_save;
use keepalived_ipvs::model::{
    Family, Forward, Protocol, ServiceKey, SyncState, Table, Timeouts, TunnelType, svc_flags,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or(IpAddr::V4(0.into()))
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}

/// Destinations of one service as (addr, port) -> weight.
fn weights(t: &Table, key: &ServiceKey) -> BTreeMap<(IpAddr, u16), u32> {
    t.services
        .iter()
        .find(|e| &e.service.key == key)
        .unwrap_or_else(|| panic!("no service {key} in {t:#?}"))
        .dests
        .iter()
        .map(|d| ((d.key.addr, d.key.port), d.weight))
        .collect()
}

/// Verdicts by real server address.
struct Verdicts(BTreeMap<IpAddr, bool>, BTreeMap<IpAddr, i64>);

impl HealthView for Verdicts {
    fn alive(&self, rs: &RealServerId) -> Option<bool> {
        self.0.get(&rs.addr).copied()
    }
    fn weight(&self, rs: &RealServerId) -> Option<i64> {
        self.1.get(&rs.addr).copied()
    }
}

/// The table after the quorum states moved as `health` says (what the
/// reconciler does after each verdict).
fn reevaluated(c: &Config, health: &dyn HealthView, book: &mut QuorumBook) -> Table {
    evaluate_quorum(c, health, book);
    let first = desired_table(c, health, book);
    // Computing the table never moves anything.
    assert_eq!(first, desired_table(c, health, book));
    first
}

fn down(addrs: &[&str]) -> Verdicts {
    Verdicts(
        addrs.iter().map(|a| (ip(a), false)).collect(),
        BTreeMap::new(),
    )
}

#[test]
fn address_service_defaults() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            protocol TCP
            real_server 198.51.100.1 { }
            real_server 198.51.100.2 8080 { weight 3 }
        }",
    );
    let t = startup_table(&c);
    assert_eq!(t.services.len(), 1);
    let s = &t.services[0].service;
    assert_eq!(s.key, tcp("192.0.2.10", 80));
    // No lvs_sched: wlc. No persistence: default mask, no flags.
    assert_eq!(s.scheduler, "wlc");
    assert_eq!((s.flags, s.timeout, s.netmask), (0, 0, u32::MAX));
    // NAT by default; a port-less NAT real server takes the service port.
    let d = &t.services[0].dests;
    assert!(d.iter().all(|d| d.forward == Forward::Masq));
    assert_eq!(
        weights(&t, &s.key),
        BTreeMap::from([
            ((ip("198.51.100.1"), 80), 1),
            ((ip("198.51.100.2"), 8080), 3)
        ])
    );
}

#[test]
fn missing_protocol_is_udp() {
    let c = load(
        "virtual_server 192.0.2.10 53 {
            lb_algo rr
            real_server 198.51.100.1 53 { }
        }",
    );
    let t = startup_table(&c);
    assert!(matches!(
        t.services[0].service.key,
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            ..
        }
    ));
}

#[test]
fn dr_real_server_takes_the_service_port() {
    let c = load(
        "virtual_server 192.0.2.10 443 {
            lb_algo rr
            lb_kind DR
            protocol TCP
            real_server 198.51.100.1 { }
            real_server 198.51.100.2 443 { }
        }",
    );
    let t = startup_table(&c);
    let w = weights(&t, &tcp("192.0.2.10", 443));
    assert_eq!(w.keys().map(|k| k.1).collect::<Vec<_>>(), vec![443, 443]);
    assert!(
        t.services[0]
            .dests
            .iter()
            .all(|d| d.forward == Forward::Route)
    );
}

#[test]
fn fwmark_service_family_and_ports() {
    let c = load(
        "virtual_server fwmark 7 {
            lb_algo sh
            sh-port
            sh-fallback
            lb_kind DR
            real_server 2001:db8::1 80 { }
            real_server 2001:db8::2 { lvs_method NAT }
        }",
    );
    let t = startup_table(&c);
    let key = ServiceKey::Fwmark {
        family: Family::Inet6,
        mark: 7,
    };
    let s = &t.services[0].service;
    assert_eq!(s.key, key);
    assert_eq!(s.netmask, 128);
    assert_eq!(s.flags, svc_flags::SCHED1 | svc_flags::SCHED2);
    // DR on a fwmark service: port 0; NAT without a port: 0 as well.
    assert_eq!(
        weights(&t, &key).keys().copied().collect::<Vec<_>>(),
        vec![(ip("2001:db8::1"), 0), (ip("2001:db8::2"), 0)]
    );
}

#[test]
fn group_ranges_expand_to_one_service_per_address() {
    let c = load(
        "virtual_server_group web {
            192.0.2.1-3 80
            2001:db8::a-c 80
            fwmark 5 inet
            fwmark 6 inet6
        }
        virtual_server group web {
            lb_algo rr
            lb_kind DR
            protocol TCP
            persistence_timeout 600
            persistence_granularity 255.255.255.0
            real_server 198.51.100.1 80 { }
        }",
    );
    let t = startup_table(&c);
    let keys: Vec<ServiceKey> = t.services.iter().map(|e| e.service.key).collect();
    let expect = vec![
        tcp("192.0.2.1", 80),
        tcp("192.0.2.2", 80),
        tcp("192.0.2.3", 80),
        tcp("2001:db8::a", 80),
        tcp("2001:db8::b", 80),
        tcp("2001:db8::c", 80),
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark: 5,
        },
        ServiceKey::Fwmark {
            family: Family::Inet6,
            mark: 6,
        },
    ];
    assert_eq!(keys, expect);
    for e in &t.services {
        // Persistence applies; the group's granularity does not reach the
        // kernel (keepalived resets the mask per entry).
        assert_eq!(e.service.flags, svc_flags::PERSISTENT);
        assert_eq!(e.service.timeout, 600);
        let default = if e.service.key.family() == Family::Inet6 {
            128
        } else {
            u32::MAX
        };
        assert_eq!(e.service.netmask, default);
        // An IPv4 real server cannot serve an IPv6 service (not tunnelled).
        let want = usize::from(e.service.key.family() == Family::Inet);
        assert_eq!(e.dests.len(), want, "{}", e.service.key);
        for d in &e.dests {
            let port = match e.service.key {
                ServiceKey::Addr { port, .. } => port,
                ServiceKey::Fwmark { .. } => 0,
            };
            assert_eq!(d.key.port, port);
        }
    }
}

#[test]
fn cidr_group_entry() {
    let c = load(
        "virtual_server_group g { 192.0.2.8/30 443 }
        virtual_server group g {
            lb_algo lc
            protocol TCP
            real_server 198.51.100.1 8443 { }
        }",
    );
    let t = startup_table(&c);
    let addrs: Vec<String> = t
        .services
        .iter()
        .map(|e| e.service.key.to_string())
        .collect();
    assert_eq!(
        addrs,
        vec![
            "-t 192.0.2.8:443",
            "-t 192.0.2.9:443",
            "-t 192.0.2.10:443",
            "-t 192.0.2.11:443"
        ]
    );
    // NAT in a group keeps the real server's own port.
    assert!(t.services.iter().all(|e| e.dests[0].key.port == 8443));
}

#[test]
fn persistence_granularity_is_the_netmask() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            lb_algo rr
            protocol TCP
            persistence_timeout 300
            persistence_granularity 255.255.255.0
            persistence_engine sip
            real_server 198.51.100.1 80 { }
        }
        virtual_server 2001:db8::10 80 {
            lb_algo rr
            protocol TCP
            persistence_granularity 64
            real_server 2001:db8::100 80 { }
        }",
    );
    let t = startup_table(&c);
    let v4 = &t.services[0].service;
    assert_eq!(v4.flags, svc_flags::PERSISTENT);
    assert_eq!((v4.timeout, v4.netmask), (300, 0xffff_ff00));
    assert_eq!(v4.pe_name.as_deref(), Some("sip"));
    let v6 = &t.services[1].service;
    // A granularity alone implies the default timeout.
    assert_eq!((v6.timeout, v6.netmask), (360, 64));
}

#[test]
fn ops_and_flags() {
    let c = load(
        "virtual_server 192.0.2.10 53 {
            lb_algo mh
            mh-port
            ops
            protocol UDP
            real_server 198.51.100.1 53 { }
        }
        virtual_server 192.0.2.11 80 {
            lb_algo wrr
            flag-3
            protocol TCP
            real_server 198.51.100.1 80 { }
        }",
    );
    let t = startup_table(&c);
    assert_eq!(
        t.services[0].service.flags,
        svc_flags::ONEPACKET | svc_flags::SCHED2
    );
    assert_eq!(t.services[1].service.flags, svc_flags::SCHED3);
}

#[test]
fn tunnels_and_thresholds() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            lb_algo rr
            lb_kind TUN type gue port 6080 csum
            protocol TCP
            real_server 198.51.100.1 80 {
                uthreshold 100
                lthreshold 10
            }
            real_server 198.51.100.2 80 { lvs_method TUN type gre remcsum }
            real_server 198.51.100.3 80 { lvs_method TUN }
        }",
    );
    let t = startup_table(&c);
    let ds = &t.services[0].dests;
    assert!(ds.iter().all(|d| d.forward == Forward::Tunnel));
    let gue = ds[0].tunnel.unwrap_or_else(|| panic!("no tunnel"));
    assert_eq!(
        (gue.tun_type, gue.port, gue.flags),
        (TunnelType::Gue, 6080, 1)
    );
    assert_eq!((ds[0].u_threshold, ds[0].l_threshold), (100, 10));
    // `remcsum` is refused for gre (the line is ignored), so that real
    // server keeps the virtual server's GUE settings.
    assert_eq!(ds[1].tunnel, Some(gue));
    // Plain TUN is IPIP, which has no settings.
    assert_eq!(ds[2].tunnel, None);
}

#[test]
fn alpha_real_servers_start_down_others_up() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            lb_algo rr
            protocol TCP
            real_server 198.51.100.1 80 {
                TCP_CHECK {
                }
            }
            real_server 198.51.100.2 80 {
                alpha
                TCP_CHECK {
                }
            }
            real_server 198.51.100.3 80 {
                alpha
                inhibit_on_failure
                TCP_CHECK {
                }
            }
            real_server 198.51.100.4 80 { }
        }",
    );
    let t = startup_table(&c);
    assert_eq!(
        weights(&t, &tcp("192.0.2.10", 80)),
        BTreeMap::from([
            ((ip("198.51.100.1"), 80), 1),
            ((ip("198.51.100.3"), 80), 0),
            ((ip("198.51.100.4"), 80), 1),
        ])
    );
}

#[test]
fn failures_remove_or_inhibit_and_weights_follow_checks() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            lb_algo wrr
            protocol TCP
            real_server 198.51.100.1 80 { weight 5 }
            real_server 198.51.100.2 80 {
                weight 5
                inhibit_on_failure
            }
            real_server 198.51.100.3 80 { weight 5 }
        }",
    );
    let mut book = QuorumBook::new();
    let mut h = down(&["198.51.100.1", "198.51.100.2"]);
    h.1.insert(ip("198.51.100.3"), 100);
    let t = reevaluated(&c, &h, &mut book);
    assert_eq!(
        weights(&t, &tcp("192.0.2.10", 80)),
        BTreeMap::from([
            ((ip("198.51.100.2"), 80), 0),
            ((ip("198.51.100.3"), 80), 100)
        ])
    );
    // A negative dynamic weight is 0, a huge one INT_MAX.
    h.1.insert(ip("198.51.100.3"), -7);
    let t = reevaluated(&c, &h, &mut book);
    assert_eq!(
        weights(&t, &tcp("192.0.2.10", 80))[&(ip("198.51.100.3"), 80)],
        0
    );
    h.1.insert(ip("198.51.100.3"), i64::MAX);
    let t = reevaluated(&c, &h, &mut book);
    assert_eq!(
        weights(&t, &tcp("192.0.2.10", 80))[&(ip("198.51.100.3"), 80)],
        i32::MAX as u32
    );
}

const SORRY: &str = "virtual_server 192.0.2.10 80 {
    lb_algo rr
    protocol TCP
    quorum 4
    hysteresis 1
    sorry_server 203.0.113.9 8080
    real_server 198.51.100.1 80 { weight 2 }
    real_server 198.51.100.2 80 { weight 2 }
    real_server 198.51.100.3 80 {
        weight 2
        inhibit_on_failure
    }
}";

#[test]
fn quorum_with_hysteresis_and_sorry_server() {
    let c = load(SORRY);
    let key = tcp("192.0.2.10", 80);
    let sorry = ((ip("203.0.113.9"), 8080), 1);
    let mut book = QuorumBook::new();

    // Start: 6 >= 4 + 1, quorum up.
    let t = reevaluated(&c, &down(&[]), &mut book);
    assert_eq!(weights(&t, &key).len(), 3);

    // 4 alive: not below 4 - 1, still up.
    let t = reevaluated(&c, &down(&["198.51.100.1"]), &mut book);
    assert_eq!(
        weights(&t, &key),
        BTreeMap::from([((ip("198.51.100.2"), 80), 2), ((ip("198.51.100.3"), 80), 2)])
    );

    // 2 alive: below 3, lost: sorry server in, inhibited server at 0,
    // the other alive one out.
    let h = down(&["198.51.100.1", "198.51.100.2"]);
    let t = reevaluated(&c, &h, &mut book);
    assert_eq!(
        weights(&t, &key),
        BTreeMap::from([((ip("198.51.100.3"), 80), 0), sorry])
    );

    // 4 alive again: not yet 4 + 1, still down.
    let t = reevaluated(&c, &down(&["198.51.100.1"]), &mut book);
    assert_eq!(
        weights(&t, &key),
        BTreeMap::from([((ip("198.51.100.3"), 80), 0), sorry])
    );

    // 6: regained; sorry server out.
    let t = reevaluated(&c, &down(&[]), &mut book);
    assert_eq!(weights(&t, &key).len(), 3);
    assert!(!weights(&t, &key).contains_key(&sorry.0));
}

#[test]
fn starting_without_quorum_puts_the_sorry_server_in() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            lb_algo rr
            protocol TCP
            sorry_server 203.0.113.9 80
            real_server 198.51.100.1 80 {
                alpha
                TCP_CHECK {
                }
            }
        }",
    );
    let t = startup_table(&c);
    assert_eq!(
        weights(&t, &tcp("192.0.2.10", 80)),
        BTreeMap::from([((ip("203.0.113.9"), 80), 1)])
    );
}

#[test]
fn sorry_server_inhibit_waits_at_weight_zero() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            lb_algo rr
            lb_kind DR
            protocol TCP
            sorry_server 203.0.113.9
            sorry_server_inhibit
            real_server 198.51.100.1 80 { }
        }",
    );
    let key = tcp("192.0.2.10", 80);
    let t = startup_table(&c);
    // DR: the sorry server takes the service port.
    assert_eq!(
        weights(&t, &key),
        BTreeMap::from([((ip("198.51.100.1"), 80), 1), ((ip("203.0.113.9"), 80), 0)])
    );
    let mut book = QuorumBook::new();
    let t = reevaluated(&c, &down(&["198.51.100.1"]), &mut book);
    assert_eq!(
        weights(&t, &key),
        BTreeMap::from([((ip("203.0.113.9"), 80), 1)])
    );
}

#[test]
fn two_blocks_on_one_group_share_services() {
    let c = load(
        "virtual_server_group g { 192.0.2.1 80 }
        virtual_server group g {
            lb_algo rr
            protocol TCP
            real_server 198.51.100.1 80 { }
        }
        virtual_server group g {
            lb_algo wlc
            protocol UDP
            real_server 198.51.100.2 80 { }
        }",
    );
    let t = startup_table(&c);
    assert_eq!(t.services.len(), 2);
    assert_eq!(t.services[0].service.scheduler, "rr");
    assert_eq!(t.services[1].service.scheduler, "wlc");
}

#[test]
fn globals() {
    let c = load(
        "global_defs {
            lvs_timeouts tcp 7200 udp 60
            lvs_sync_daemon eth0 VI_1 id 42 maxlen 1400 port 8848 ttl 2 group 239.0.0.81
        }",
    );
    assert_eq!(
        lvs_timeouts(&c.global_defs),
        Some(Timeouts {
            tcp: 7200,
            tcp_fin: 0,
            udp: 60
        })
    );
    let spec = sync_daemon_spec(&c.global_defs).unwrap_or_else(|| panic!("no sync daemon"));
    assert_eq!(spec.instance.as_deref(), Some("VI_1"));
    let d = spec.daemon(SyncState::Master, 51);
    assert_eq!(d.interface, "eth0");
    assert_eq!(
        (d.sync_id, d.max_len, d.port, d.ttl, d.group),
        (42, Some(1400), Some(8848), Some(2), Some(ip("239.0.0.81")))
    );
    let c = load("global_defs { lvs_sync_daemon eth0 inst VI_2 }");
    let spec = sync_daemon_spec(&c.global_defs).unwrap_or_else(|| panic!("no sync daemon"));
    assert_eq!(spec.daemon(SyncState::Backup, 51).sync_id, 51);
    assert_eq!(lvs_timeouts(&load("global_defs { }").global_defs), None);
}

#[test]
fn ipvsadm_save_rendering() {
    let c = load(
        "virtual_server 192.0.2.10 80 {
            lb_algo sh
            sh-port
            protocol TCP
            persistence_timeout 300
            persistence_granularity 255.255.255.0
            real_server 198.51.100.2 80 { weight 2 }
            real_server 198.51.100.1 80 { lvs_method TUN type gue port 6080 csum }
        }
        virtual_server fwmark 3 {
            lb_algo rr
            lb_kind DR
            ip_family inet6
            real_server 2001:db8::1 { }
        }",
    );
    let text = render_save(&startup_table(&c));
    assert_eq!(
        text,
        "-A -t 192.0.2.10:80 -s sh -p 300 -M 255.255.255.0 -b sh-port\n\
         -a -t 192.0.2.10:80 -r 198.51.100.1:80 -i -w 1 --tun-type gue --tun-port 6080 --tun-csum\n\
         -a -t 192.0.2.10:80 -r 198.51.100.2:80 -m -w 2\n\
         -A -f 3 -6 -s rr\n\
         -a -f 3 -6 -r [2001:db8::1]:0 -g -w 1\n"
    );
}

#[test]
fn two_blocks_on_one_group_are_told_apart_by_ordinal() {
    use keepalived_check::ids::VirtualServerId;
    let c = load(
        "virtual_server_group G {
            192.0.2.10 80
        }
        virtual_server fwmark 7 {
            protocol TCP
            real_server 198.51.100.9 80 { }
        }
        virtual_server group G {
            protocol TCP
            real_server 198.51.100.1 80 { }
        }
        virtual_server group G {
            protocol TCP
            real_server 198.51.100.2 80 { }
        }",
    );
    let ids = VirtualServerId::all(&c);
    let names: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
    assert_eq!(names, ["FWM 7", "[G]:0", "[G]:1"]);
    assert_ne!(ids[1], ids[2], "same name and protocol, different blocks");
}

#[test]
fn keepalived_names_for_servers() {
    use keepalived_check::ids::{VirtualServerId, rs_name};
    let c = load(
        "virtual_server 192.0.2.10 80 {
            protocol TCP
            real_server 198.51.100.1 { }
            real_server 198.51.100.2 8080 {
                lvs_method DR
            }
        }
        virtual_server fwmark 5 {
            protocol TCP
            real_server 198.51.100.1 80 { }
        }",
    );
    let vs = &c.virtual_servers[0];
    assert_eq!(
        VirtualServerId::all(&c)[0].to_string(),
        "[192.0.2.10]:tcp:80"
    );
    assert_eq!(rs_name(vs, &vs.real_servers[0]), "[198.51.100.1]:tcp:80");
    // DR takes the service's port.
    assert_eq!(rs_name(vs, &vs.real_servers[1]), "[198.51.100.2]:tcp:80");
    let fw = &c.virtual_servers[1];
    assert_eq!(rs_name(fw, &fw.real_servers[0]), "[198.51.100.1]:none:80");
}
