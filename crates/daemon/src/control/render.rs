// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The status as a person reads it at a glance, rendered from the JSON
//! the daemon answers (the same that `status --json` prints): nothing
//! here knows an engine's internals, and a field an older daemon does not
//! send shows as `-`.

use std::fmt::Write;

use serde_json::Value;

fn s(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(x)) => x.clone(),
        Some(Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        Some(x) => x.to_string(),
    }
}

fn list(v: Option<&Value>) -> String {
    match v.and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a.iter().map(|x| s(Some(x))).collect::<Vec<_>>().join(", "),
        _ => "-".into(),
    }
}

/// The elements of the list `key` of `v` (none when absent).
fn items<'a>(v: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    v.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// `    LABEL: a, b` under an entry, when its list `key` is not empty.
fn reasons(out: &mut String, label: &str, entry: &Value, key: &str) {
    if items(entry, key).next().is_some() {
        let _ = writeln!(out, "    {label}: {}", list(entry.get(key)));
    }
}

fn up_down(v: Option<&Value>) -> &'static str {
    match v.and_then(Value::as_bool) {
        Some(true) => "up",
        Some(false) => "DOWN",
        None => "-",
    }
}

fn duration(v: Option<&Value>) -> String {
    let Some(secs) = v.and_then(Value::as_f64) else {
        return "-".into();
    };
    let secs = secs.max(0.0) as u64;
    match secs {
        0..=119 => format!("{secs}s"),
        120..=7199 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs / 60) % 60),
    }
}

/// A text table's layout: each column's lead-in (the spaces or words
/// before it) and its width. A cell is padded to its column's width, on
/// the right or, for numbers, on the left; a width of 0 leaves it as it
/// is (the last column). A header and its rows share one layout, so
/// they cannot drift apart.
struct Table(&'static [Col]);

#[derive(Clone, Copy)]
enum Col {
    Left(&'static str, usize),
    Right(&'static str, usize),
}

use Col::{Left, Right};

impl Table {
    fn row(&self, out: &mut String, cells: &[&str]) {
        for (col, cell) in self.0.iter().zip(cells) {
            let _ = match *col {
                Left(lead, width) => write!(out, "{lead}{cell:<width$}"),
                Right(lead, width) => write!(out, "{lead}{cell:>width$}"),
            };
        }
        out.push('\n');
    }
}

const CHILDREN: Table = Table(&[
    Left("  ", 12),
    Left(" pid ", 8),
    Left(" restarts ", 3),
    Left(" generation ", 0),
    Left("", 0),
]);
const INSTANCES: Table = Table(&[
    Left("", 16),
    Left(" ", 7),
    Right(" ", 4),
    Left(" ", 10),
    Right(" ", 8),
    Left("  ", 10),
    Left(" ", 0),
]);
const ANNOUNCES: Table = Table(&[Left("", 16), Left(" ", 10), Left(" ", 0)]);
const REAL_SERVERS: Table = Table(&[
    Left("  ", 28),
    Left(" ", 5),
    Left(" weight ", 5),
    Left(" ", 0),
]);

/// The whole status.
pub fn status(v: &Value) -> String {
    let mut out = String::new();
    daemon(&mut out, v.get("daemon"));
    if let Some(vrrp) = v.get("vrrp").filter(|x| !x.is_null()) {
        instances(&mut out, vrrp);
        announces(&mut out, vrrp);
    }
    if let Some(checker) = v.get("checker").filter(|x| !x.is_null()) {
        ipvs_refused(&mut out, checker);
        virtual_servers(&mut out, checker);
        // A virtual server's `announce`, in the vrrp_announce layout.
        announces(&mut out, checker);
        resolved_names(&mut out, checker);
    }
    out
}

/// Real servers named by DNS: name, current addresses, TTL left, last
/// result (and "stale" past `hold valid` without a valid answer).
fn resolved_names(out: &mut String, checker: &Value) {
    let Some(names) = checker.get("resolved_names").and_then(Value::as_array) else {
        return;
    };
    if names.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nNames (resolvers)");
    for n in names {
        let st = n.get("status");
        let get = |k: &str| st.and_then(|x| x.get(k));
        let addrs: Vec<String> = get("addresses")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|a| {
                let ip = s(a.get("addr"));
                let mut t = match a.get("port").and_then(Value::as_u64) {
                    Some(p) if p != 0 => format!("{ip}:{p}"),
                    _ => ip,
                };
                if let Some(w) = a.get("weight").and_then(Value::as_u64) {
                    let _ = write!(t, " w{w}");
                }
                t
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:<28} {:<8} ttl {:<6} last {}{}  [{}]",
            s(get("name")),
            s(n.get("resolvers")),
            duration(get("ttl_left")),
            s(get("last_result")),
            if get("stale").and_then(Value::as_bool) == Some(true) {
                " (stale)"
            } else {
                ""
            },
            if addrs.is_empty() {
                "-".to_string()
            } else {
                addrs.join(", ")
            },
        );
    }
}

fn daemon(out: &mut String, d: Option<&Value>) {
    let Some(d) = d else { return };
    let _ = writeln!(
        out,
        "keepalived-rs {} pid {} up {}  config {} (generation {})  reloads: {} ok, {} refused",
        s(d.get("version")),
        s(d.get("pid")),
        duration(d.get("uptime_s")),
        s(d.get("config_file")),
        s(d.get("generation")),
        s(d.get("reloads_ok")),
        s(d.get("reloads_refused")),
    );
    for c in items(d, "children") {
        let answer = match c.get("answer").and_then(Value::as_str) {
            Some(a) if a != "ok" => format!("  ({a})"),
            _ => String::new(),
        };
        CHILDREN.row(
            out,
            &[
                &s(c.get("kind")),
                &s(c.get("pid")),
                &s(c.get("restarts")),
                &s(c.get("generation")),
                &answer,
            ],
        );
    }
}

fn instances(out: &mut String, vrrp: &Value) {
    let Some(list_) = vrrp.get("instances").and_then(Value::as_array) else {
        let _ = writeln!(out, "\nVRRP: {}", s(vrrp.get("note")));
        return;
    };
    out.push('\n');
    INSTANCES.row(
        out,
        &[
            "INSTANCE",
            "STATE",
            "VRID",
            "INTERFACE",
            "PRIORITY",
            "SINCE",
            "VIPS",
        ],
    );
    for i in list_ {
        let prio = format!(
            "{}/{}",
            s(i.get("effective_priority")),
            s(i.get("base_priority"))
        );
        INSTANCES.row(
            out,
            &[
                &s(i.get("name")),
                &s(i.get("state")),
                &s(i.get("vrid")),
                &s(i.get("interface")),
                &prio,
                &duration(i.get("state_since_s")),
                &list(i.get("vips")),
            ],
        );
        reasons(out, "fault", i, "fault_reasons");
        for t in items(i, "tracked") {
            let _ = writeln!(
                out,
                "    {} {}: {} (weight {})",
                s(t.get("kind")),
                s(t.get("name")),
                s(t.get("state")),
                s(t.get("weight")),
            );
        }
    }
}

/// `vrrp_announce` blocks (or virtual servers' `announce`): state,
/// routes, and why not announced.
fn announces(out: &mut String, vrrp: &Value) {
    let Some(list_) = vrrp
        .get("announces")
        .and_then(Value::as_array)
        .filter(|a| !a.is_empty())
    else {
        return;
    };
    out.push('\n');
    ANNOUNCES.row(out, &["ANNOUNCE", "STATE", "ROUTES"]);
    for a in list_ {
        ANNOUNCES.row(
            out,
            &[
                &s(a.get("name")),
                &s(a.get("state")),
                &list(a.get("routes")),
            ],
        );
        reasons(out, "not announced", a, "reasons");
    }
}

fn virtual_servers(out: &mut String, checker: &Value) {
    let Some(vss) = checker.get("virtual_servers").and_then(Value::as_array) else {
        let _ = writeln!(out, "\nHealth checks: {}", s(checker.get("note")));
        return;
    };
    for vs in vss {
        let _ = writeln!(
            out,
            "\nVS {}  quorum {}  alive {}/{}",
            s(vs.get("name")),
            up_down(vs.get("quorum_up")),
            s(vs.get("alive")),
            s(vs.get("real_server_count")),
        );
        for rs in items(vs, "real_servers") {
            let checks: Vec<String> = items(rs, "checkers")
                .map(|c| {
                    format!(
                        "{} {} {}",
                        s(c.get("kind")),
                        s(c.get("last_result")),
                        c.get("latency_ms")
                            .and_then(Value::as_f64)
                            .map(|ms| format!("{ms:.1}ms"))
                            .unwrap_or_default()
                    )
                    .trim_end()
                    .to_string()
                })
                .collect();
            REAL_SERVERS.row(
                out,
                &[
                    &s(rs.get("name")),
                    up_down(rs.get("alive")),
                    &s(rs.get("weight")),
                    &checks.join("; "),
                ],
            );
        }
    }
}

/// The summary (`keepalived-rs status` without `--detail`): counts per
/// state, then only what needs a look, each list ending in "N more".
pub fn summary(v: &Value) -> String {
    let mut out = String::new();
    daemon(&mut out, v.get("daemon"));
    if let Some(vrrp) = v.get("vrrp").filter(|x| !x.is_null()) {
        match vrrp.get("by_state").and_then(Value::as_object) {
            None => {
                let _ = writeln!(out, "\nVRRP: {}", s(vrrp.get("note")));
            }
            Some(by) => {
                let counts: Vec<String> = by
                    .iter()
                    .map(|(k, n)| format!("{} {k}", s(Some(n))))
                    .collect();
                let _ = writeln!(
                    out,
                    "\nVRRP instances: {} ({})",
                    s(vrrp.get("instances_total")),
                    if counts.is_empty() {
                        "-".into()
                    } else {
                        counts.join(", ")
                    }
                );
                for i in items(vrrp, "attention") {
                    let _ = writeln!(
                        out,
                        "  {:<16} {:<7} (configured {}) priority {}/{}",
                        s(i.get("name")),
                        s(i.get("state")),
                        s(i.get("configured_state")),
                        s(i.get("effective_priority")),
                        s(i.get("base_priority")),
                    );
                    reasons(&mut out, "fault", i, "fault_reasons");
                }
                more(
                    &mut out,
                    vrrp.get("attention_more"),
                    "instances not in their configured state",
                );
                announces(&mut out, vrrp);
            }
        }
    }
    if let Some(checker) = v.get("checker").filter(|x| !x.is_null()) {
        let Some(sm) = checker.get("summary") else {
            let _ = writeln!(
                out,
                "\nHealth checks: {}",
                s(checker.get("note").or(checker.get("error")))
            );
            return out;
        };
        ipvs_refused(&mut out, checker);
        let _ = writeln!(
            out,
            "\nVirtual servers: {} ({} without quorum)  real servers: {} ({} up, {} down)",
            s(sm.get("virtual_servers_total")),
            s(sm.get("quorum_down_total")),
            s(sm.get("real_servers_total")),
            s(sm.get("real_servers_up")),
            s(sm.get("real_servers_down")),
        );
        for q in items(sm, "quorum_down") {
            let _ = writeln!(
                out,
                "  VS {}  quorum DOWN (quorum {}){}",
                s(q.get("name")),
                s(q.get("quorum")),
                if q.get("sorry_active").and_then(Value::as_bool) == Some(true) {
                    "  sorry server in"
                } else {
                    ""
                }
            );
        }
        more(
            &mut out,
            sm.get("quorum_down_more"),
            "virtual servers without quorum",
        );
        for rs in items(sm, "down") {
            let _ = writeln!(
                out,
                "  {:<28} DOWN  in VS {}  ({}/{} checkers failing)",
                s(rs.get("name")),
                s(rs.get("virtual_server")),
                s(rs.get("failed_checkers")),
                s(rs.get("checkers")),
            );
        }
        more(&mut out, sm.get("down_more"), "real servers down");
        // Only the virtual servers' announces that are not announced.
        announces(&mut out, checker);
        more(
            &mut out,
            checker.get("announces_more"),
            "announces not announced",
        );
    }
    let _ = writeln!(
        out,
        "\n(summary; `status --detail` for everything, `--vs ADDR:PORT` or `--instance NAME` for one)"
    );
    out
}

/// Services the kernel refused to create: first, since the rest of the
/// status (health, quorum) says nothing of the kernel.
fn ipvs_refused(out: &mut String, checker: &Value) {
    for r in items(checker, "ipvs_refused") {
        let _ = writeln!(
            out,
            "\nIPVS REFUSED {}: {}",
            s(r.get("service")),
            s(r.get("error"))
        );
    }
}

fn more(out: &mut String, n: Option<&Value>, what: &str) {
    if let Some(n) = n.and_then(Value::as_u64).filter(|n| *n > 0) {
        let _ = writeln!(out, "  ... {n} more {what}");
    }
}

/// The result of `reload` / `stop`.
pub fn outcome(v: &Value) -> String {
    s(v.get("message").or(Some(v)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The lines of a whole rendering: every column and space pinned.
    fn whole(lines: &[&str]) -> String {
        lines.iter().map(|l| format!("{l}\n")).collect()
    }

    #[test]
    fn a_status_reads_at_a_glance_and_tolerates_missing_fields() {
        let v = json!({
            "daemon": {"version": "0.1.0", "pid": 42, "uptime_s": 3725, "config_file": "/etc/k.conf",
                       "generation": 3, "reloads_ok": 2, "reloads_refused": 1,
                       "children": [{"kind": "vrrp", "pid": 43, "restarts": 0, "generation": 3, "answer": "ok"},
                                    {"kind": "checker", "pid": null, "restarts": 2, "generation": null, "answer": "not running"}]},
            "vrrp": {"instances": [{"name": "VI_1", "state": "MASTER", "vrid": 51, "interface": "eth0",
                                    "base_priority": 150, "effective_priority": 130, "state_since_s": 12,
                                    "vips": ["192.0.2.100/24"],
                                    "tracked": [{"kind": "script", "name": "chk_haproxy", "state": "failed", "weight": -20}]}],
                     "announces": [{"name": "WEB", "state": "withdrawn",
                                    "routes": ["192.0.2.10/32 dev lo table 100 proto 249 metric 0"],
                                    "reasons": ["script chk failed"]}]},
            "checker": {"ipvs_refused": [{"service": "-t 192.0.2.21:80",
                                          "error": "add service -t 192.0.2.21:80 (scheduler sed): kernel error ENOENT"}],
                        "virtual_servers": [{"name": "[192.0.2.100]:tcp:80", "quorum_up": true, "alive": 1,
                        "real_server_count": 2,
                        "real_servers": [{"name": "[198.51.100.1]:tcp:80", "alive": true, "weight": 1,
                                          "checkers": [{"kind": "TCP_CHECK", "last_result": "success", "latency_ms": 0.42}]},
                                         {"name": "[198.51.100.2]:tcp:80", "alive": false}]}],
                        "resolved_names": [{"resolvers": "dns", "status": {"name": "web.example", "ttl_left": 42,
                            "last_result": "timeout", "stale": true,
                            "addresses": [{"addr": "198.51.100.1", "port": 0, "weight": null},
                                          {"addr": "198.51.100.2", "port": 8080, "weight": 5}]}}]}
        });
        let text = status(&v);
        assert_eq!(
            text,
            whole(&[
                "keepalived-rs 0.1.0 pid 42 up 62m05s  config /etc/k.conf (generation 3)  reloads: 2 ok, 1 refused",
                "  vrrp         pid 43       restarts 0   generation 3",
                "  checker      pid -        restarts 2   generation -  (not running)",
                "",
                "INSTANCE         STATE   VRID INTERFACE  PRIORITY  SINCE      VIPS",
                "VI_1             MASTER    51 eth0        130/150  12s        192.0.2.100/24",
                "    script chk_haproxy: failed (weight -20)",
                "",
                "ANNOUNCE         STATE      ROUTES",
                "WEB              withdrawn  192.0.2.10/32 dev lo table 100 proto 249 metric 0",
                "    not announced: script chk failed",
                "",
                "IPVS REFUSED -t 192.0.2.21:80: add service -t 192.0.2.21:80 (scheduler sed): kernel error ENOENT",
                "",
                "VS [192.0.2.100]:tcp:80  quorum up  alive 1/2",
                "  [198.51.100.1]:tcp:80        up    weight 1     TCP_CHECK success 0.4ms",
                "  [198.51.100.2]:tcp:80        DOWN  weight -     ",
                "",
                "Names (resolvers)",
                "  web.example                  dns      ttl 42s    last timeout (stale)  [198.51.100.1, 198.51.100.2:8080 w5]",
            ])
        );
        for want in [
            "pid 42 up 62m05s",
            "reloads: 2 ok, 1 refused",
            "(not running)",
            "VI_1             MASTER    51 eth0        130/150  12s        192.0.2.100/24",
            "script chk_haproxy: failed (weight -20)",
            "WEB              withdrawn  192.0.2.10/32 dev lo table 100 proto 249 metric 0",
            "    not announced: script chk failed",
            "VS [192.0.2.100]:tcp:80  quorum up  alive 1/2",
            "TCP_CHECK success 0.4ms",
            "[198.51.100.2]:tcp:80        DOWN  weight -",
            "web.example                  dns      ttl 42s    last timeout (stale)  [198.51.100.1, 198.51.100.2:8080 w5]",
            "IPVS REFUSED -t 192.0.2.21:80: add service -t 192.0.2.21:80 (scheduler sed): kernel error ENOENT",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
    }

    #[test]
    fn a_summary_lists_what_needs_a_look_and_counts_the_rest() {
        let v = json!({
            "view": "summary",
            "daemon": {"version": "0.1.0", "pid": 42, "children": []},
            "vrrp": {"instances_total": 30, "by_state": {"BACKUP": 3, "MASTER": 27},
                     "attention": [{"name": "VI_9", "state": "FAULT", "configured_state": "MASTER",
                                    "base_priority": 150, "effective_priority": 150,
                                    "fault_reasons": ["interface eth1 down"]}],
                     "attention_more": 4},
            "checker": {"ipvs_refused": [{"service": "-t 192.0.2.22:80", "error": "kernel error ENOENT"}],
                        "summary": {"virtual_servers_total": 2, "real_servers_total": 20,
                        "real_servers_up": 19, "real_servers_down": 1, "quorum_down_total": 1,
                        "quorum_down": [{"name": "[192.0.2.1]:tcp:80", "quorum": 3, "sorry_active": true}],
                        "quorum_down_more": 0,
                        "down": [{"virtual_server": "[192.0.2.1]:tcp:80", "name": "[198.51.100.3]:tcp:80",
                                  "weight": 1, "failed_checkers": 1, "checkers": 1}],
                        "down_more": 0}}
        });
        let text = summary(&v);
        assert_eq!(
            text,
            whole(&[
                "keepalived-rs 0.1.0 pid 42 up -  config - (generation -)  reloads: - ok, - refused",
                "",
                "VRRP instances: 30 (3 BACKUP, 27 MASTER)",
                "  VI_9             FAULT   (configured MASTER) priority 150/150",
                "    fault: interface eth1 down",
                "  ... 4 more instances not in their configured state",
                "",
                "IPVS REFUSED -t 192.0.2.22:80: kernel error ENOENT",
                "",
                "Virtual servers: 2 (1 without quorum)  real servers: 20 (19 up, 1 down)",
                "  VS [192.0.2.1]:tcp:80  quorum DOWN (quorum 3)  sorry server in",
                "  [198.51.100.3]:tcp:80        DOWN  in VS [192.0.2.1]:tcp:80  (1/1 checkers failing)",
                "",
                "(summary; `status --detail` for everything, `--vs ADDR:PORT` or `--instance NAME` for one)",
            ])
        );
        for want in [
            "VRRP instances: 30 (3 BACKUP, 27 MASTER)",
            "VI_9             FAULT   (configured MASTER) priority 150/150",
            "IPVS REFUSED -t 192.0.2.22:80: kernel error ENOENT",
            "    fault: interface eth1 down",
            "... 4 more instances not in their configured state",
            "Virtual servers: 2 (1 without quorum)  real servers: 20 (19 up, 1 down)",
            "VS [192.0.2.1]:tcp:80  quorum DOWN (quorum 3)  sorry server in",
            "[198.51.100.3]:tcp:80        DOWN  in VS [192.0.2.1]:tcp:80  (1/1 checkers failing)",
        ] {
            assert!(text.contains(want), "missing {want:?} in:\n{text}");
        }
        assert!(!text.contains("more real servers"), "{text}");
    }
}
