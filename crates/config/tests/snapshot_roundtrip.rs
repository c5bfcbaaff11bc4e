// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The JSON snapshot (what the supervisor sends its children) leaves out
//! fields that hold their default; reading it back must still give exactly
//! the model that was written, for every configuration we have.

use std::path::{Path, PathBuf};

use keepalived_config::model::checker::Checker;
use keepalived_config::{Config, SystemHost, load_file, preprocess};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn confs_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            confs_under(&p, out);
        } else if p.extension().is_some_and(|x| x == "conf") {
            out.push(p);
        }
    }
}

fn corpus() -> Vec<PathBuf> {
    let root = repo_root();
    let mut files = vec![root.join("keepalived.conf.example")];
    for d in [
        "integration/configs",
        "integration/lvs-corpus",
        "crates/config/tests/fixtures",
    ] {
        confs_under(&root.join(d), &mut files);
    }
    files.sort();
    files
}

/// `c` without what the snapshot never carried: where virtual servers,
/// real servers, groups and some checkers were written (kept only for the
/// supervisor's own checks; a single `At` is already ignored by `==`, a
/// list of them is not).
fn without_source_positions(c: &Config) -> Config {
    let mut c = c.clone();
    for g in &mut c.sync_groups {
        g.group_at.clear();
    }
    for g in &mut c.garp_groups {
        g.interfaces_at.clear();
    }
    for g in &mut c.virtual_server_groups {
        g.loc = None;
    }
    for vs in &mut c.virtual_servers {
        vs.loc = None;
        for rs in &mut vs.real_servers {
            rs.loc = None;
            for ck in &mut rs.checkers {
                match ck {
                    Checker::FileCheck(f) => f.loc = None,
                    Checker::BfdCheck(b) => b.loc = None,
                    _ => {}
                }
            }
        }
    }
    c
}

fn roundtrip(c: &Config) -> Config {
    let bytes = serde_json::to_vec(c).expect("serialise");
    serde_json::from_slice(&bytes).expect("deserialise")
}

#[test]
fn every_corpus_config_survives_the_snapshot() {
    let files = corpus();
    assert!(files.len() > 100, "corpus not found: {files:?}");
    let mut with_content = 0;
    for f in &files {
        let loaded = load_file(f, &preprocess::Options::default(), &SystemHost);
        let c = &loaded.config;
        if *c != Config::default() {
            with_content += 1;
        }
        let c = without_source_positions(c);
        pretty_assertions::assert_eq!(c, roundtrip(&c), "{}", f.display());
    }
    assert!(
        with_content > 100,
        "only {with_content} configs held anything"
    );
}

#[test]
fn defaults_are_left_out_and_come_back() {
    assert_eq!(
        serde_json::to_string(&Config::default()).expect("serialise"),
        "{}"
    );
    // Fields whose default is not their type's (priority 100, quorum 1)
    // come back from the container default, and a changed one is kept.
    let text = "vrrp_instance V {\n interface eth0\n virtual_router_id 1\n}\n\
                vrrp_instance W {\n interface eth0\n virtual_router_id 2\n priority 150\n}\n\
                virtual_server 192.0.2.1 80 {\n quorum 0\n real_server 192.0.2.2 80 {\n }\n}\n";
    let loaded = keepalived_config::load_str(
        Path::new("/x.conf"),
        text,
        &preprocess::Options::default(),
        &SystemHost,
    );
    let c = &without_source_positions(&loaded.config);
    assert_eq!(c.vrrp_instances[0].priority, 100);
    assert_eq!(c.vrrp_instances[1].priority, 150);
    assert_eq!(*c, roundtrip(c));
    let json = serde_json::to_string(&c.vrrp_instances[0]).expect("serialise");
    assert!(!json.contains("priority"), "{json}");
}

/// `-d` shows what the configuration means: with every field on, the
/// defaults are written too, and the snapshot's skipping comes back after.
#[test]
fn every_field_mode_writes_defaults_and_ends_with_its_closure() {
    let c = Config {
        vrrp_instances: vec![Default::default()],
        ..Config::default()
    };
    let full = keepalived_config::types::with_every_field(|| {
        serde_json::to_string(&c.vrrp_instances[0]).expect("serialise")
    });
    assert!(full.contains("\"priority\":100"), "{full}");
    assert!(full.contains("\"advert_int\""), "{full}");
    let lean = serde_json::to_string(&c.vrrp_instances[0]).expect("serialise");
    assert!(!lean.contains("priority"), "{lean}");
    assert!(
        lean.len() * 3 < full.len(),
        "{} vs {}",
        lean.len(),
        full.len()
    );
    let back: Config = serde_json::from_str(&keepalived_config::types::with_every_field(|| {
        serde_json::to_string(&c).expect("serialise")
    }))
    .expect("reads back");
    assert_eq!(back, c);
}
