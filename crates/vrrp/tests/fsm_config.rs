// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `InstanceParams::from_config`: keepalived.conf text through the real
//! loader, then the mapping with keepalived's defaults.

use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

use keepalived_config::host::Host;
use keepalived_config::model::Config;
use keepalived_config::preprocess::Options;
use keepalived_vrrp::fsm::{GarpParams, InitialState, InstanceParams, Version};

struct AnyInterface;

impl Host for AnyInterface {
    fn interface_exists(&self, _: &str) -> bool {
        true
    }
}

fn load(text: &str) -> Config {
    let opts = Options {
        random_seed: Some(1),
        ..Options::default()
    };
    keepalived_config::load_str(Path::new("test.conf"), text, &opts, &AnyInterface).config
}

fn params(text: &str) -> InstanceParams {
    let cfg = load(text);
    let inst = cfg.vrrp_instances.first().expect("one vrrp_instance");
    InstanceParams::from_config(inst, &cfg.global_defs).expect("params")
}

#[test]
fn defaults() {
    let p = params(
        "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n \
         virtual_ipaddress {\n 192.0.2.100/24\n }\n}\n",
    );
    assert_eq!(
        p,
        InstanceParams {
            name: "VI_1".into(),
            vrid: 51,
            version: Version::V2,
            priority: 100,
            advert_int: Duration::from_secs(1),
            initial_state: InitialState::Backup,
            nopreempt: false,
            preempt_delay: Duration::ZERO,
            src_addr: None,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            garp: GarpParams {
                master_delay: Duration::from_secs(5),
                master_repeat: 5,
                master_refresh: Duration::ZERO,
                master_refresh_repeat: 1,
                lower_prio_delay: Duration::from_secs(5),
                lower_prio_repeat: 5,
            },
            startup_delay: Duration::ZERO,
        }
    );
}

#[test]
fn state_master_without_priority_is_the_owner() {
    let p = params(
        "vrrp_instance VI_1 {\n state MASTER\n interface eth0\n virtual_router_id 51\n \
         nopreempt\n virtual_ipaddress {\n 192.0.2.100\n }\n}\n",
    );
    assert_eq!(p.initial_state, InitialState::Master);
    assert_eq!(p.priority, 255);
    assert!(
        !p.nopreempt,
        "nopreempt is cleared for an owner / state MASTER"
    );
}

#[test]
fn v3_ipv6_and_instance_overrides() {
    let p = params(
        "global_defs {\n vrrp_garp_master_delay 2\n vrrp_garp_master_refresh 60\n \
         vrrp_down_timer_adverts 5\n vrrp_startup_delay 4.5\n}\n\
         vrrp_instance VI_6 {\n interface eth0\n virtual_router_id 7\n priority 150\n \
         advert_int 0.25\n preempt_delay 3\n unicast_src_ip 2001:db8::1\n \
         garp_master_repeat 2\n lower_prio_no_advert\n \
         virtual_ipaddress {\n 2001:db8::100/64\n }\n}\n",
    );
    assert_eq!(p.version, Version::V3, "IPv6 forces v3");
    assert_eq!(p.priority, 150);
    assert_eq!(p.advert_int, Duration::from_millis(250));
    assert_eq!(p.preempt_delay, Duration::from_secs(3));
    assert_eq!(
        p.src_addr,
        Some("2001:db8::1".parse::<IpAddr>().expect("addr"))
    );
    assert_eq!(p.down_timer_adverts, 5);
    assert_eq!(p.startup_delay, Duration::from_millis(4500));
    assert!(p.lower_prio_no_advert);
    assert_eq!(p.garp.master_delay, Duration::from_secs(2));
    assert_eq!(p.garp.master_repeat, 2);
    assert_eq!(p.garp.master_refresh, Duration::from_secs(60));
    assert_eq!(p.garp.lower_prio_delay, Duration::from_secs(2));
    assert_eq!(
        p.garp.lower_prio_repeat, 5,
        "global repeat, not the instance's"
    );
}

#[test]
fn strict_mode_and_min_garp() {
    let p = params(
        "global_defs {\n vrrp_strict\n vrrp_min_garp\n}\n\
         vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 51\n priority 120\n \
         virtual_ipaddress {\n 192.0.2.100\n }\n}\n",
    );
    assert!(
        p.lower_prio_no_advert,
        "strict implies lower_prio_no_advert"
    );
    assert!(!p.higher_prio_send_advert);
    assert_eq!(p.garp.lower_prio_repeat, 0);
    assert_eq!(p.garp.master_repeat, 1);
    assert_eq!(p.garp.master_delay, Duration::ZERO);
}

#[test]
fn missing_vrid_is_an_error_not_a_panic() {
    let inst = keepalived_config::model::vrrp::VrrpInstance::default();
    assert_eq!(inst.virtual_router_id, None);
    let g = keepalived_config::model::global::GlobalDefs::default();
    assert!(InstanceParams::from_config(&inst, &g).is_err());
}
