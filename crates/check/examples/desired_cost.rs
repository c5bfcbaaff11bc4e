// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Prints what the checker's pure steps cost on a configuration: the
//! desired table, and the plans against an empty kernel and against
//! itself (a reload that changes nothing):
//! `cargo run --release -p keepalived-check --example desired_cost -- FILE`.

use std::path::Path;
use std::time::Instant;

use keepalived_check::desired::startup_table;
use keepalived_config::{SystemHost, load_file, preprocess};
use keepalived_ipvs::model::Table;
use keepalived_ipvs::planner::{Owned, PlanOptions, plan};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: desired_cost FILE");
        std::process::exit(2);
    };
    let t = Instant::now();
    let loaded = load_file(
        Path::new(&path),
        &preprocess::Options::default(),
        &SystemHost,
    );
    println!("load {:.1} ms", t.elapsed().as_secs_f64() * 1e3);
    let t = Instant::now();
    let desired = startup_table(&loaded.config);
    println!(
        "desired table ({} services) {:.1} ms",
        desired.services.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let ops = plan(
        &desired,
        &Table::default(),
        &Owned::of(&Table::default()),
        PlanOptions::default(),
    );
    println!(
        "plan from empty: {} ops {:.1} ms",
        ops.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let ops = plan(
        &desired,
        &desired,
        &Owned::of(&desired),
        PlanOptions::default(),
    );
    println!(
        "plan unchanged: {} ops {:.1} ms",
        ops.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
}
