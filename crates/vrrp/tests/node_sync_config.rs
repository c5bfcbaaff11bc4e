// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A `vrrp_sync_group` member's tracking as the node sees it, from
//! keepalived.conf text through the real loader (keepalived 2.2.7's
//! `vrrp_complete_instance` and `sync_group_tracking_init` rules).

use std::path::Path;

use keepalived_config::host::Host;
use keepalived_config::model::Config;
use keepalived_config::preprocess::Options;
use keepalived_vrrp::node::config::{instance_spec, scripts, sync_groups};
use keepalived_vrrp::node::{InstanceSpec, SyncGroupSpec, TrackUse};

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

fn spec(cfg: &Config, name: &str) -> InstanceSpec {
    let i = cfg
        .vrrp_instances
        .iter()
        .find(|i| i.name == name)
        .expect("instance");
    instance_spec(i, cfg).expect("spec")
}

fn uses(v: &[TrackUse]) -> Vec<(&str, i32)> {
    v.iter().map(|u| (u.name.as_str(), u.weight)).collect()
}

const SCRIPTS: &str = "
vrrp_script chk_w { script /bin/true\n weight -20 }
vrrp_script chk_0 { script /bin/true }
vrrp_script chk_g { script /bin/true\n weight 10 }
vrrp_script chk_unused { script /bin/true }
track_file f_default { file /tmp/f1 }
track_file f_w5 { file /tmp/f2\n weight 5 }
";

fn instance(name: &str, vrid: u8, prio: u8) -> String {
    format!(
        "vrrp_instance {name} {{\n interface eth0\n virtual_router_id {vrid}\n priority {prio}\n \
         track_interface {{\n eth1 weight -30\n eth2\n }}\n \
         track_script {{\n chk_w\n chk_0\n }}\n \
         track_file {{\n f_default\n f_w5\n }}\n \
         virtual_ipaddress {{\n 192.0.2.{vrid}/24\n }}\n}}\n"
    )
}

fn group(extra: &str) -> String {
    format!(
        "vrrp_sync_group G {{\n group {{\n VI_1\n VI_2\n }}\n \
         track_script {{\n chk_g\n }}\n track_interface {{\n eth9 weight -5\n }}\n {extra}\n}}\n"
    )
}

#[test]
fn member_weights_become_faults_and_group_tracking_is_added() {
    let cfg = load(&format!(
        "{SCRIPTS}{}{}{}",
        instance("VI_1", 51, 100),
        instance("VI_2", 52, 100),
        group("")
    ));
    let s = spec(&cfg, "VI_1");
    // Interface weights become 0 (any failure is a FAULT); the group's
    // own interface keeps its weight.
    assert_eq!(
        uses(&s.track_interface),
        [("eth1", 0), ("eth2", 0), ("eth9", -5)]
    );
    // A weighted script of the member is dropped; the group's is added.
    assert_eq!(uses(&s.track_script), [("chk_0", 0), ("chk_g", 10)]);
    // A file's default weight 1 becomes 0; another weight drops the file.
    assert_eq!(uses(&s.track_file), [("f_default", 0)]);
    assert_eq!(
        uses(&spec(&cfg, "VI_2").track_script),
        uses(&s.track_script)
    );
    assert_eq!(
        sync_groups(&cfg),
        [SyncGroupSpec {
            name: "G".into(),
            members: vec!["VI_1".into(), "VI_2".into()],
        }]
    );
    // A script only the group tracks is run; one nobody tracks is not.
    let names: Vec<String> = scripts(&cfg).into_iter().map(|p| p.name).collect();
    assert!(names.contains(&"chk_g".to_owned()), "{names:?}");
    assert!(!names.contains(&"chk_unused".to_owned()), "{names:?}");
}

#[test]
fn tracking_weight_keeps_member_weights() {
    for kw in ["sync_group_tracking_weight", "global_tracking"] {
        let cfg = load(&format!(
            "{SCRIPTS}{}{}{}",
            instance("VI_1", 51, 100),
            instance("VI_2", 52, 100),
            group(kw)
        ));
        let s = spec(&cfg, "VI_1");
        assert_eq!(
            uses(&s.track_interface),
            [("eth1", -30), ("eth2", 0), ("eth9", -5)],
            "{kw}"
        );
        assert_eq!(
            uses(&s.track_script),
            [("chk_w", -20), ("chk_0", 0), ("chk_g", 10)],
            "{kw}"
        );
        assert_eq!(uses(&s.track_file), [("f_default", 1), ("f_w5", 5)], "{kw}");
    }
}

#[test]
fn an_owner_member_clears_group_weights() {
    let cfg = load(&format!(
        "{SCRIPTS}{}{}{}",
        instance("VI_1", 51, 255),
        instance("VI_2", 52, 100),
        group("sync_group_tracking_weight")
    ));
    let s = spec(&cfg, "VI_2");
    assert_eq!(s.track_script.last().map(|u| u.weight), Some(0));
    assert_eq!(s.track_interface.last().map(|u| u.weight), Some(0));
}

#[test]
fn outside_a_group_nothing_changes() {
    let cfg = load(&format!("{SCRIPTS}{}", instance("VI_1", 51, 100)));
    let s = spec(&cfg, "VI_1");
    assert_eq!(uses(&s.track_interface), [("eth1", -30), ("eth2", 0)]);
    assert_eq!(uses(&s.track_script), [("chk_w", -20), ("chk_0", 0)]);
    assert_eq!(uses(&s.track_file), [("f_default", 1), ("f_w5", 5)]);
}
