// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The status model (the control socket's `status` answer, in its
//! `metrics` view) as Prometheus metrics. Every value is read from the
//! status the children report; no metric is kept here, so a scrape shows
//! what `keepalived-rs status --detail --json` would, and counters are as
//! monotonic as the engines' counters (they restart at zero only with the
//! child that keeps them).
//!
//! Streamed: one prometheus-client [`Collector`] walks the snapshot and
//! writes each family's series as it goes, labels borrowed from the
//! snapshot. No registry of families (a label vector and a hash-map
//! entry per series, hundreds of thousands at 100 000 real servers) is
//! built per scrape, and the order is the table's, the same every scrape.
//!
//! Series per scrape, bounded by the configuration: per VRRP instance 5
//! state series + 9 counters/gauges + 1 per drop reason (11); per real
//! server 4; per virtual server one quorum gauge and one histogram (16
//! series: 14 buckets, sum, count); 9 for the daemon (two children).
//! docs/metrics.md lists them.

use keepalived_check::reconcile::{MetricsRealServer, MetricsVirtualServer};
use keepalived_check::runs::{LATENCY_BOUNDS_US, RunStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use serde::Deserialize;

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

/// The checker child's `metrics` view.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Checker {
    metrics: Vec<MetricsVirtualServer>,
    ipvs_ops: IpvsOps,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct IpvsOps {
    applied: u64,
    failed: u64,
}

/// A histogram whose buckets were counted elsewhere (by the checkers),
/// shown as they are.
struct CountedHistogram<'a>(&'a RunStats);

impl CountedHistogram<'_> {
    fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result {
        let h = self.0;
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

/// The whole snapshot, written family by family.
#[derive(Debug)]
struct Snapshot {
    daemon: Daemon,
    vrrp: Option<Vrrp>,
    checker: Option<Checker>,
}

type Result = std::result::Result<(), std::fmt::Error>;

/// One family: its descriptor, then one series per item of `items`.
fn family<'i, T: 'i>(
    out: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    items: impl IntoIterator<Item = &'i T>,
    mut series: impl FnMut(&T, &mut MetricEncoder<'_>) -> Result,
) -> Result {
    let mut enc = out.encode_descriptor(name, help, None, kind)?;
    for it in items {
        series(it, &mut enc)?;
    }
    Ok(())
}

fn gauge(enc: &mut MetricEncoder<'_>, labels: &[(&str, &str)], v: i64) -> Result {
    ConstGauge::new(v).encode(enc.encode_family(&labels)?)
}

fn counter(enc: &mut MetricEncoder<'_>, labels: &[(&str, &str)], v: u64) -> Result {
    ConstCounter::new(v).encode(enc.encode_family(&labels)?)
}

impl Collector for Snapshot {
    fn encode(&self, mut out: DescriptorEncoder<'_>) -> Result {
        use MetricType::{Counter, Gauge};
        let d = &self.daemon;
        family(
            &mut out,
            "config_generation",
            "Configuration generation in force.",
            Gauge,
            [d],
            |d, e| gauge(e, &[], to_i64(d.generation)),
        )?;
        family(
            &mut out,
            "reloads",
            "Reloads, by outcome.",
            Counter,
            [d],
            |d, e| {
                counter(e, &[("result", "ok")], d.reloads_ok)?;
                counter(e, &[("result", "refused")], d.reloads_refused)
            },
        )?;
        family(
            &mut out,
            "child_restarts",
            "Child processes started again.",
            Counter,
            &d.children,
            |c, e| counter(e, &[("child", &c.kind)], c.restarts),
        )?;
        family(
            &mut out,
            "child_up",
            "1 when the child process runs.",
            Gauge,
            &d.children,
            |c, e| gauge(e, &[("child", &c.kind)], i64::from(c.pid.is_some())),
        )?;
        if let Some(v) = &self.vrrp {
            vrrp(&mut out, v)?;
        }
        if let Some(c) = &self.checker {
            checker(&mut out, c)?;
        }
        Ok(())
    }
}

/// A per-instance counter family: name, help, and where its value is.
type InstanceCounter = (&'static str, &'static str, fn(&Instance) -> u64);

fn vrrp(out: &mut DescriptorEncoder<'_>, v: &Vrrp) -> Result {
    use MetricType::{Counter, Gauge};
    let i = &v.instances;
    family(
        out,
        "vrrp_state",
        "1 for the state the VRRP instance is in, 0 for the others.",
        Gauge,
        i,
        |i, e| {
            for s in STATES {
                gauge(
                    e,
                    &[("instance", &i.name), ("state", s)],
                    i64::from(i.state == s),
                )?;
            }
            Ok(())
        },
    )?;
    family(
        out,
        "vrrp_priority",
        "Effective priority (what adverts carry).",
        Gauge,
        i,
        |i, e| gauge(e, &[("instance", &i.name)], i.effective_priority),
    )?;
    family(
        out,
        "vrrp_base_priority",
        "Configured priority.",
        Gauge,
        i,
        |i, e| gauge(e, &[("instance", &i.name)], i.base_priority),
    )?;
    let counters: [InstanceCounter; 7] = [
        ("vrrp_transitions", "State changes.", |i| i.transitions),
        ("vrrp_adverts_sent", "Advertisements sent.", |i| {
            i.adverts_sent
        }),
        (
            "vrrp_adverts_received",
            "Advertisements received that passed the header checks.",
            |i| i.rx.advertisement_rcvd,
        ),
        ("vrrp_become_master", "Transitions to MASTER.", |i| {
            i.become_master
        }),
        ("vrrp_release_master", "Transitions out of MASTER.", |i| {
            i.release_master
        }),
        ("vrrp_priority_zero_sent", "Priority-0 adverts sent.", |i| {
            i.pri_zero_sent
        }),
        (
            "vrrp_priority_zero_received",
            "Priority-0 adverts received.",
            |i| i.rx.priority_zero_pkts_rcvd,
        ),
    ];
    for (name, help, value) in counters {
        family(out, name, help, Counter, i, |i, e| {
            counter(e, &[("instance", &i.name)], value(i))
        })?;
    }
    family(
        out,
        "vrrp_adverts_dropped",
        "Advertisements dropped, by reason.",
        Counter,
        i,
        |i, e| {
            for (reason, n) in drops(&i.rx) {
                counter(e, &[("instance", &i.name), ("reason", reason)], n)?;
            }
            Ok(())
        },
    )
}

fn checker(out: &mut DescriptorEncoder<'_>, c: &Checker) -> Result {
    use MetricType::{Counter, Gauge, Histogram};
    let vss = &c.metrics;
    // Each real server with its virtual server's name, in table order.
    let per_rs = |out: &mut DescriptorEncoder<'_>,
                  name: &str,
                  help: &str,
                  kind: MetricType,
                  series: fn(
        &MetricsRealServer,
        &mut MetricEncoder<'_>,
        &[(&str, &str)],
    ) -> Result| {
        family(out, name, help, kind, vss, |vs, e| {
            for rs in &vs.3 {
                series(rs, e, &[("virtual_server", &vs.0), ("real_server", &rs.0)])?;
            }
            Ok(())
        })
    };
    per_rs(
        out,
        "real_server_up",
        "1 when the real server's checkers all say up.",
        Gauge,
        |rs, e, l| gauge(e, l, i64::from(rs.1)),
    )?;
    per_rs(
        out,
        "real_server_weight",
        "Weight the real server has in IPVS terms.",
        Gauge,
        |rs, e, l| gauge(e, l, rs.2),
    )?;
    per_rs(
        out,
        "real_server_checks",
        "Health checks run (with a verdict).",
        Counter,
        |rs, e, l| counter(e, l, rs.3),
    )?;
    per_rs(
        out,
        "real_server_check_failures",
        "Health checks that failed.",
        Counter,
        |rs, e, l| counter(e, l, rs.4),
    )?;
    family(
        out,
        "virtual_server_quorum_up",
        "1 when the quorum is met.",
        Gauge,
        vss,
        |vs, e| gauge(e, &[("virtual_server", &vs.0)], i64::from(vs.1)),
    )?;
    family(
        out,
        "check_duration_seconds",
        "Health check latency, all checkers of a virtual server together.",
        Histogram,
        vss,
        |vs, e| {
            CountedHistogram(&vs.2).encode(e.encode_family(&[("virtual_server", vs.0.as_str())])?)
        },
    )?;
    family(
        out,
        "ipvs_operations",
        "IPVS operations, by result.",
        Counter,
        [&c.ipvs_ops],
        |o, e| {
            counter(e, &[("result", "applied")], o.applied)?;
            counter(e, &[("result", "failed")], o.failed)
        },
    )
}

/// The text exposition (OpenMetrics) of `status`, the control socket's
/// answer in its `metrics` view.
pub fn render(status: &serde_json::Value) -> String {
    // Each part on its own: a child that answers something unexpected
    // loses its own families, not the others'. Read in place: no copy of
    // the status per scrape.
    let null = serde_json::Value::Null;
    let part = |k: &str| status.get(k).unwrap_or(&null);
    let snapshot = Snapshot {
        daemon: Daemon::deserialize(part("daemon")).unwrap_or_default(),
        vrrp: Option::<Vrrp>::deserialize(part("vrrp")).ok().flatten(),
        checker: Option::<Checker>::deserialize(part("checker"))
            .ok()
            .flatten(),
    };
    let mut reg = Registry::with_prefix("keepalived");
    reg.register_collector(Box::new(snapshot));
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
                        "metrics": [["10.0.0.1:80", true,
                          {"runs": 4, "failures": 1, "local_errors": 0,
                           "latency_buckets": [1,0,3,0,0,0,0,0,0,0,0,0,0,0],
                           "latency_sum_us": 9000},
                          [["10.0.0.2:80", true, 3, 4, 1]]]]}
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
