// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Conformance scenarios for the VRRP node, holo-style: each file in
//! `tests/node/*.jsonl` is a setup line, then steps. A step advances the
//! virtual clock to `at_us` (firing every deadline on the way, in order,
//! as the daemon would), then feeds its `event` or `reload`, and the
//! effects of both must equal `effects` exactly.
//!
//! ```text
//! {"setup": {"instances": [InstanceSpec...], "scripts": [ScriptParams...],
//!            "groups": [SyncGroupSpec...]}}
//! {"at_us": 0, "event": Event, "effects": [Effect...]}
//! {"at_us": 5000000, "effects": [...]}                 (timers only)
//! {"at_us": 6000000, "reload": {setup}, "effects": [...]}
//! ```
//!
//! `NODE_BLESS=1 cargo test -p keepalived-vrrp --test node_scenarios --
//! --nocapture` prints what the node does instead of comparing, to
//! write a new scenario (read it before keeping it: a blessed mistake is
//! still a mistake). `mutations_are_caught` proves the comparison can
//! fail: wrong events and wrong expectations must be reported.

use std::path::{Path, PathBuf};

use keepalived_vrrp::fsm::Instant;
use keepalived_vrrp::node::{Effect, Event, InstanceSpec, Node, ScriptParams, SyncGroupSpec};
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
struct Setup {
    instances: Vec<InstanceSpec>,
    #[serde(default)]
    scripts: Vec<ScriptParams>,
    #[serde(default)]
    groups: Vec<SyncGroupSpec>,
    #[serde(default)]
    static_links: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Step {
    at_us: u64,
    #[serde(default)]
    event: Option<Event>,
    #[serde(default)]
    reload: Option<Setup>,
    effects: Vec<Effect>,
}

/// Parsed lines, kept as JSON so mutations can edit them.
fn load(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).expect("read scenario");
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect()
}

/// Runs one scenario; Err describes the first difference.
fn run(lines: &[Value], bless: bool) -> Result<(), String> {
    let (first, rest) = lines.split_first().ok_or("empty scenario")?;
    let setup: Setup = serde_json::from_value(first.get("setup").cloned().ok_or("no setup")?)
        .map_err(|e| format!("setup: {e}"))?;
    let mut node = Node::new();
    node.configure_scripts(setup.scripts.clone(), Instant::ZERO);
    node.configure_groups(setup.groups.clone());
    node.configure_static_links(setup.static_links.clone());
    for spec in setup.instances {
        node.add_instance(spec, Instant::ZERO);
    }
    let mut clock = Instant::ZERO;
    for (n, line) in rest.iter().enumerate() {
        let step: Step =
            serde_json::from_value(line.clone()).map_err(|e| format!("step {n}: {e}"))?;
        let until = Instant::from_micros(step.at_us);
        if until < clock {
            return Err(format!("step {n}: time goes backwards"));
        }
        let mut got = Vec::new();
        while let Some(due) = node.next_deadline().filter(|d| *d <= until) {
            let due = due.max(clock);
            clock = due;
            got.extend(node.handle(Event::Timer, due));
        }
        clock = until;
        if let Some(reload) = step.reload {
            node.configure_scripts(reload.scripts, clock);
            node.configure_groups(reload.groups);
            node.configure_static_links(reload.static_links);
            for (idx, spec) in reload.instances.into_iter().enumerate() {
                got.extend(node.reload_instance(idx, spec, clock));
            }
            got.extend(node.refresh(clock));
        }
        if let Some(event) = step.event {
            got.extend(node.handle(event, clock));
        }
        if bless {
            let mut v = line.clone();
            v["effects"] = serde_json::to_value(&got).map_err(|e| e.to_string())?;
            println!("{v}");
        } else if got != step.effects {
            return Err(format!(
                "step {n} (at {} us): expected\n  {}\ngot\n  {}",
                step.at_us,
                serde_json::to_string(&step.effects).unwrap_or_default(),
                serde_json::to_string(&got).unwrap_or_default()
            ));
        }
    }
    Ok(())
}

fn scenarios() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/node exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    v.sort();
    assert!(v.len() >= 8, "scenarios missing from {}", dir.display());
    v
}

#[test]
fn every_scenario_matches() {
    let bless = std::env::var_os("NODE_BLESS").is_some();
    let mut failed = Vec::new();
    for path in scenarios() {
        if bless {
            println!("== {}", path.display());
        }
        if let Err(e) = run(&load(&path), bless) {
            failed.push(format!("{}: {e}", path.display()));
        }
    }
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// Flips the first boolean found under an event (script ok, link up...).
fn flip_bool(v: &mut Value) -> bool {
    match v {
        Value::Bool(b) => {
            *b = !*b;
            true
        }
        Value::Object(m) => m.values_mut().any(flip_bool),
        Value::Array(a) => a.iter_mut().any(flip_bool),
        _ => false,
    }
}

#[test]
fn mutations_are_caught() {
    for path in scenarios() {
        let lines = load(&path);
        // A scenario about insensitivity (dont_track_primary) says so.
        let inert = std::fs::read_to_string(&path)
            .unwrap_or_default()
            .contains("flipped events change nothing");
        let (mut flips, mut flips_caught) = (0, 0);
        for idx in 1..lines.len() {
            // Dropping any expected effect must always be reported.
            if lines[idx]["effects"]
                .as_array()
                .is_some_and(|a| !a.is_empty())
            {
                let mut m = lines.clone();
                m[idx]["effects"].as_array_mut().map(Vec::pop);
                assert!(
                    run(&m, false).is_err(),
                    "{}: step {idx}: a dropped effect went unnoticed",
                    path.display()
                );
            }
            // A flipped event flag (script ok, link up, address present)
            // need not change every step (a failure inside `fall` changes
            // nothing yet), but over a scenario some must be noticed.
            let mut m = lines.clone();
            if m[idx].get_mut("event").is_some_and(flip_bool) {
                flips += 1;
                if run(&m, false).is_err() {
                    flips_caught += 1;
                }
            }
        }
        assert!(
            flips == 0 || inert || flips_caught > 0,
            "{}: none of {flips} flipped events was noticed",
            path.display()
        );
        assert!(
            !inert || flips_caught == 0,
            "{}: claims flipped events change nothing, but {flips_caught} did",
            path.display()
        );
    }
}
