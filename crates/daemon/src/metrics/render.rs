// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The status model (the control socket's `status` answer) as Prometheus
//! metrics. Every value is read from the status the children report; no
//! metric is kept here, so a scrape shows exactly what `keepalived-rs
//! status --json` would, and counters are as monotonic as the engines'
//! counters (they restart at zero only with the child that keeps them).
//!
//! Series per scrape, bounded by the configuration: per VRRP instance 5
//! state series + 9 counters/gauges + 1 per drop reason (13); per real
//! server 5; per virtual server one histogram (16 series: 14 buckets,
//! sum, count); a handful for the daemon. docs/metrics.md lists them.

use std::sync::Mutex;

use keepalived_check::runs::{LATENCY_BOUNDS_US, RunStats};
use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::{MetricType, TypedMetric};
use prometheus_client::registry::Registry;
use serde::Deserialize;

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Daemon {
    generation: u64,
    reloads_ok: u64,
    reloads_refused: u64,
    children: Vec<Child>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Child {
    kind: String,
    pid: Option<u32>,
    restarts: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Vrrp {
    instances: Vec<Instance>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Instance {
    name: String,
    state: String,
    base_priority: i64,
    effective_priority: i64,
    adverts_sent: u64,
    become_master: u64,
    release_master: u64,
    pri_zero_sent: u64,
    transitions: u64,
    rx: keepalived_vrrp::packet::RxStats,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Checker {
    virtual_servers: Vec<VirtualServer>,
    ipvs_ops: IpvsOps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IpvsOps {
    applied: u64,
    failed: u64,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct VirtualServer {
    name: String,
    quorum_up: bool,
    real_servers: Vec<RealServer>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RealServer {
    name: String,
    alive: bool,
    effective_weight: i64,
    checkers: Vec<CheckerRuns>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CheckerRuns {
    runs: RunStats,
}

/// A histogram whose buckets were counted elsewhere (by the checkers),
/// shown as they are.
#[derive(Debug, Default)]
struct CountedHistogram(Mutex<RunStats>);

impl CountedHistogram {
    fn add(&self, r: &RunStats) {
        if let Ok(mut h) = self.0.lock() {
            h.runs += r.runs;
            h.latency_sum_us = h.latency_sum_us.saturating_add(r.latency_sum_us);
            for (a, b) in h.latency_buckets.iter_mut().zip(r.latency_buckets) {
                *a += b;
            }
        }
    }
}

impl TypedMetric for CountedHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for CountedHistogram {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let h = self.0.lock().map(|h| *h).unwrap_or_default();
        let mut buckets: Vec<(f64, u64)> = LATENCY_BOUNDS_US
            .iter()
            .map(|&us| us as f64 / 1e6)
            .zip(h.latency_buckets)
            .collect();
        // The encoder writes `+Inf` for f64::MAX (not for infinity).
        buckets.push((f64::MAX, h.latency_buckets[LATENCY_BOUNDS_US.len()]));
        let count = h.latency_buckets.iter().sum();
        encoder.encode_histogram::<NoLabelSet>(h.latency_sum_us as f64 / 1e6, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        Self::TYPE
    }
}

fn gauges(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Gauge> {
    let f = Family::<Labels, Gauge>::default();
    reg.register(name, help, f.clone());
    f
}

fn counters(reg: &mut Registry, name: &str, help: &str) -> Family<Labels, Counter> {
    let f = Family::<Labels, Counter>::default();
    reg.register(name, help, f.clone());
    f
}

const STATES: [&str; 5] = ["INIT", "BACKUP", "MASTER", "FAULT", "STOP"];

/// The drop reasons of [`keepalived_vrrp::packet::RxStats`], by label.
fn drops(rx: &keepalived_vrrp::packet::RxStats) -> [(&'static str, u64); 11] {
    [
        ("packet_length", rx.packet_length_errors),
        ("ip_ttl", rx.ip_ttl_errors),
        ("version", rx.version_errors),
        ("vrid", rx.vrid_errors),
        ("checksum", rx.checksum_errors),
        ("invalid_type", rx.invalid_type_pkts_rcvd),
        ("address_list", rx.address_list_errors),
        ("advert_interval", rx.interval_errors),
        ("invalid_auth_type", rx.invalid_auth_type),
        ("auth_type_mismatch", rx.auth_type_mismatch),
        ("auth_failure", rx.auth_failures),
    ]
}

fn vrrp(reg: &mut Registry, v: &Vrrp) {
    let state = gauges(
        reg,
        "vrrp_state",
        "1 for the state the VRRP instance is in, 0 for the others",
    );
    let prio = gauges(
        reg,
        "vrrp_priority",
        "Effective priority (what adverts carry)",
    );
    let base = gauges(reg, "vrrp_base_priority", "Configured priority");
    let trans = counters(reg, "vrrp_transitions", "State changes");
    let sent = counters(reg, "vrrp_adverts_sent", "Advertisements sent");
    let rcvd = counters(
        reg,
        "vrrp_adverts_received",
        "Advertisements received that passed the header checks",
    );
    let became = counters(reg, "vrrp_become_master", "Transitions to MASTER");
    let released = counters(reg, "vrrp_release_master", "Transitions out of MASTER");
    let zero_sent = counters(reg, "vrrp_priority_zero_sent", "Priority-0 adverts sent");
    let zero_rcvd = counters(
        reg,
        "vrrp_priority_zero_received",
        "Priority-0 adverts received",
    );
    let dropped = counters(
        reg,
        "vrrp_adverts_dropped",
        "Advertisements dropped, by reason",
    );
    for i in &v.instances {
        let l = || vec![("instance", i.name.clone())];
        for s in STATES {
            let mut lv = l();
            lv.push(("state", s.to_owned()));
            state.get_or_create(&lv).set(i64::from(i.state == s));
        }
        prio.get_or_create(&l()).set(i.effective_priority);
        base.get_or_create(&l()).set(i.base_priority);
        trans.get_or_create(&l()).inc_by(i.transitions);
        sent.get_or_create(&l()).inc_by(i.adverts_sent);
        rcvd.get_or_create(&l()).inc_by(i.rx.advertisement_rcvd);
        became.get_or_create(&l()).inc_by(i.become_master);
        released.get_or_create(&l()).inc_by(i.release_master);
        zero_sent.get_or_create(&l()).inc_by(i.pri_zero_sent);
        zero_rcvd
            .get_or_create(&l())
            .inc_by(i.rx.priority_zero_pkts_rcvd);
        for (reason, n) in drops(&i.rx) {
            let mut lv = l();
            lv.push(("reason", reason.to_owned()));
            dropped.get_or_create(&lv).inc_by(n);
        }
    }
}

fn checker(reg: &mut Registry, c: &Checker) {
    let up = gauges(
        reg,
        "real_server_up",
        "1 when the real server's checkers all say up",
    );
    let weight = gauges(
        reg,
        "real_server_weight",
        "Weight the real server has in IPVS terms",
    );
    let runs = counters(
        reg,
        "real_server_checks",
        "Health checks run (with a verdict)",
    );
    let failed = counters(
        reg,
        "real_server_check_failures",
        "Health checks that failed",
    );
    let quorum = gauges(reg, "virtual_server_quorum_up", "1 when the quorum is met");
    let latency = Family::<Labels, CountedHistogram>::default();
    reg.register(
        "check_duration_seconds",
        "Health check latency, all checkers of a virtual server together",
        latency.clone(),
    );
    let ops = counters(reg, "ipvs_operations", "IPVS operations, by result");
    for vs in &c.virtual_servers {
        let v = vec![("virtual_server", vs.name.clone())];
        quorum.get_or_create(&v).set(i64::from(vs.quorum_up));
        let hist = latency.get_or_create(&v);
        for rs in &vs.real_servers {
            let l = vec![
                ("virtual_server", vs.name.clone()),
                ("real_server", rs.name.clone()),
            ];
            up.get_or_create(&l).set(i64::from(rs.alive));
            weight.get_or_create(&l).set(rs.effective_weight);
            let (mut n, mut f) = (0, 0);
            for ch in &rs.checkers {
                n += ch.runs.runs;
                f += ch.runs.failures;
                hist.add(&ch.runs);
            }
            runs.get_or_create(&l).inc_by(n);
            failed.get_or_create(&l).inc_by(f);
        }
    }
    ops.get_or_create(&vec![("result", "applied".to_owned())])
        .inc_by(c.ipvs_ops.applied);
    ops.get_or_create(&vec![("result", "failed".to_owned())])
        .inc_by(c.ipvs_ops.failed);
}

/// The text exposition of `status` (the control socket's answer).
pub fn render(status: &serde_json::Value) -> String {
    // Each part on its own: a child that answers something unexpected
    // loses its own families, not the others'.
    // Read in place: the status of a large table is megabytes, and a
    // copy of it per scrape was most of a scrape's allocations.
    let null = serde_json::Value::Null;
    let part = |k: &str| status.get(k).unwrap_or(&null);
    let daemon = Daemon::deserialize(part("daemon")).unwrap_or_default();
    let vrrp_part = Option::<Vrrp>::deserialize(part("vrrp")).ok().flatten();
    let checker_part = Option::<Checker>::deserialize(part("checker"))
        .ok()
        .flatten();
    let mut reg = Registry::with_prefix("keepalived");
    let generation = gauges(
        &mut reg,
        "config_generation",
        "Configuration generation in force",
    );
    generation
        .get_or_create(&Vec::new())
        .set(to_i64(daemon.generation));
    let reloads = counters(&mut reg, "reloads", "Reloads, by outcome");
    reloads
        .get_or_create(&vec![("result", "ok".to_owned())])
        .inc_by(daemon.reloads_ok);
    reloads
        .get_or_create(&vec![("result", "refused".to_owned())])
        .inc_by(daemon.reloads_refused);
    let restarts = counters(&mut reg, "child_restarts", "Child processes started again");
    let child_up = gauges(&mut reg, "child_up", "1 when the child process runs");
    for c in &daemon.children {
        let l = vec![("child", c.kind.clone())];
        restarts.get_or_create(&l).inc_by(c.restarts);
        child_up.get_or_create(&l).set(i64::from(c.pid.is_some()));
    }
    if let Some(v) = &vrrp_part {
        vrrp(&mut reg, v);
    }
    if let Some(c) = &checker_part {
        checker(&mut reg, c);
    }
    let mut out = String::new();
    if prometheus_client::encoding::text::encode(&mut out, &reg).is_err() {
        out.clear();
    }
    out
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_renders_every_family() {
        let status = serde_json::json!({
            "daemon": {"generation": 2, "reloads_ok": 1, "reloads_refused": 3,
                       "children": [{"kind": "vrrp", "pid": 7, "restarts": 1}]},
            "vrrp": {"instances": [{"name": "VI_1", "state": "MASTER", "base_priority": 150,
                      "effective_priority": 140, "adverts_sent": 9, "transitions": 2,
                      "rx": {"advertisement_rcvd": 4, "auth_failures": 2}}]},
            "checker": {"ipvs_ops": {"applied": 5, "failed": 1},
                        "virtual_servers": [{"name": "10.0.0.1:80", "quorum_up": true,
                          "real_servers": [{"name": "10.0.0.2:80", "alive": true,
                            "effective_weight": 3,
                            "checkers": [{"runs": {"runs": 4, "failures": 1, "local_errors": 0,
                              "latency_buckets": [1,0,3,0,0,0,0,0,0,0,0,0,0,0],
                              "latency_sum_us": 9000}}]}]}]}
        });
        let text = render(&status);
        if let Some(p) = std::env::var_os("METRICS_SAMPLE_OUT") {
            let _ = std::fs::write(p, super::super::text004::from_openmetrics(&text));
        }
        for want in [
            "keepalived_reloads_total{result=\"refused\"} 3",
            "keepalived_child_restarts_total{child=\"vrrp\"} 1",
            "keepalived_vrrp_state{instance=\"VI_1\",state=\"MASTER\"} 1",
            "keepalived_vrrp_state{instance=\"VI_1\",state=\"BACKUP\"} 0",
            "keepalived_vrrp_priority{instance=\"VI_1\"} 140",
            "keepalived_vrrp_adverts_dropped_total{instance=\"VI_1\",reason=\"auth_failure\"} 2",
            "keepalived_real_server_checks_total{virtual_server=\"10.0.0.1:80\",real_server=\"10.0.0.2:80\"} 4",
            "keepalived_check_duration_seconds_bucket{le=\"0.005\",virtual_server=\"10.0.0.1:80\"} 4",
            "keepalived_check_duration_seconds_count{virtual_server=\"10.0.0.1:80\"} 4",
            "keepalived_ipvs_operations_total{result=\"failed\"} 1",
        ] {
            assert!(text.contains(want), "missing {want} in:\n{text}");
        }
    }
}
