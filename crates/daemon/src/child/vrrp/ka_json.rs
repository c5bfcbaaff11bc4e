// SPDX-License-Identifier: Apache-2.0 OR MIT
//! keepalived.json in keepalived 2.2.7's schema (vrrp_json.c): the same
//! keys in the same order, the same value types and the same optional
//! keys left out when keepalived leaves them out, so exporters written
//! for keepalived's file read ours unchanged. The integration test
//! `crates/daemon/tests/json_parity.rs` diffs it against real
//! keepalived's file for one configuration.
//!
//! Where we cannot say what keepalived says (`wantstate`, virtual routes
//! and rules), docs/compatibility.md lists it.

use std::ffi::OsString;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use keepalived_config::model::addr::IpAddress;
use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::vrrp::AuthType;
use keepalived_config::types::Command;
use keepalived_vrrp::fsm::{Instance, State};
use keepalived_vrrp::node::InstanceSpec;
use keepalived_vrrp::packet::Version;
use serde::Serialize;

use super::instance::Live;
use super::ka_routes;
use super::ka_stats::{Extras, KaStats};

/// keepalived's numeric states.
pub fn state_number(s: State) -> u8 {
    match s {
        State::Init => 0,
        State::Backup => 1,
        State::Master => 2,
        State::Fault => 3,
        State::Stop => 98,
    }
}

#[derive(Serialize)]
pub struct KaInstance {
    data: KaData,
    stats: Stats,
}

/// keepalived's counters, then ours (docs/compatibility.md item 40).
#[derive(Serialize)]
pub struct Stats {
    #[serde(flatten)]
    pub keepalived: KaStats,
    #[serde(flatten)]
    pub ours: Extras,
}

/// Field order is keepalived's (`vrrp_json_data_dump`).
#[derive(Serialize)]
struct KaData {
    iname: String,
    dont_track_primary: u8,
    skip_check_adv_addr: u8,
    strict_mode: u8,
    vmac_ifname: String,
    ifp_ifname: String,
    master_priority: u8,
    /// `%f`: seconds since the epoch with microseconds.
    last_transition: f64,
    garp_delay: serde_json::Number,
    garp_refresh: u64,
    garp_rep: u32,
    garp_refresh_rep: u32,
    garp_lower_prio_delay: u64,
    garp_lower_prio_rep: u32,
    lower_prio_no_advert: u8,
    higher_prio_send_advert: u8,
    vrid: u8,
    base_priority: u8,
    effective_priority: u8,
    vipset: bool,
    promote_secondaries: bool,
    adver_int: serde_json::Number,
    master_adver_int: serde_json::Number,
    accept: u8,
    nopreempt: bool,
    preempt_delay: u64,
    state: u8,
    wantstate: u8,
    version: u8,
    smtp_alert: bool,
    notify_deleted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_backup: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_fault: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_stop: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_deleted: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    script_master_rx_lower_pri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evips: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vroutes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vrules: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_ifp: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    track_script: Vec<String>,
    auth_type: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    auth_data: Option<String>,
}

/// What the instance's JSON needs beyond the instance itself.
pub struct Context<'a> {
    pub globals: Option<&'a GlobalDefs>,
    /// The argv of a `vrrp_script` by name, as it runs.
    pub script_argv: &'a dyn Fn(&str) -> Option<Vec<OsString>>,
}

pub fn instance(
    i: &Live,
    f: &Instance,
    spec: Option<&InstanceSpec>,
    stats: Stats,
    cx: &Context<'_>,
) -> KaInstance {
    let c = &i.conf;
    let p = f.params();
    let g = cx.globals;
    let strict = c
        .strict_mode
        .unwrap_or_else(|| g.is_some_and(|g| g.vrrp_strict));
    let v2 = p.version == Version::V2;
    let owner = p.priority == 255;
    // keepalived's defaults and its strict-mode reset for VRRPv2, which
    // spares the address owner.
    let accept = c.accept.unwrap_or(owner || !strict) && !(strict && v2 && !owner);
    let smtp_alert = c
        .smtp_alert
        .or_else(|| g.and_then(|g| g.smtp_alert_vrrp))
        .or_else(|| g.and_then(|g| g.smtp_alert))
        .unwrap_or(false);
    let set = f.state() == State::Master;
    let vips = c
        .virtual_ipaddress
        .iter()
        .map(|a| ip_text(a, i.ifname(), set))
        .collect();
    let evips = c
        .virtual_ipaddress_excluded
        .iter()
        .map(|a| ip_text(a, i.ifname(), set))
        .collect();
    let track_ifp = spec
        .map(|s| {
            s.track_interface
                .iter()
                // keepalived ignores tracking of the instance's own link
                // ("since own interface"): it follows it anyway.
                .filter(|u| u.name != i.ifname())
                .map(|u| u.name.clone())
                .collect()
        })
        .unwrap_or_default();
    let track_script = spec
        .map(|s| {
            s.track_script
                .iter()
                .filter_map(|u| (cx.script_argv)(&u.name))
                .map(|argv| cmd_str(&argv))
                .collect()
        })
        .unwrap_or_default();
    let (auth_type, auth_data) = match &c.authentication {
        Some(a) if v2 => match a.auth_type {
            Some(AuthType::Pass) => (1, Some(a.auth_pass.clone().unwrap_or_default())),
            Some(AuthType::Ah) => (2, Some(a.auth_pass.clone().unwrap_or_default())),
            None => (0, None),
        },
        _ => (0, None),
    };
    let state = state_number(f.state());
    let script = |cmd: &Option<Command>| {
        cmd.as_ref()
            .filter(|c| !c.argv.is_empty())
            .map(|c| cmd_str(&c.argv.iter().map(OsString::from).collect::<Vec<_>>()))
    };
    let data = KaData {
        iname: c.name.clone(),
        dont_track_primary: c.dont_track_primary.into(),
        skip_check_adv_addr: i.skip_check_adv_addr.into(),
        strict_mode: strict.into(),
        vmac_ifname: i.vmac.as_ref().map_or_else(String::new, |v| v.name.clone()),
        // keepalived's ifp is the VMAC when there is one.
        ifp_ifname: i
            .vmac
            .as_ref()
            .map_or_else(|| i.ifname().to_owned(), |v| v.name.clone()),
        master_priority: if f.state() == State::Backup {
            f.last_master().map_or(0, |(_, p)| p)
        } else {
            0
        },
        last_transition: epoch_secs(i.counters.last_transition),
        garp_delay: g_number(p.garp.master_delay.as_secs_f64()),
        garp_refresh: p.garp.master_refresh.as_secs(),
        garp_rep: p.garp.master_repeat,
        garp_refresh_rep: p.garp.master_refresh_repeat,
        garp_lower_prio_delay: p.garp.lower_prio_delay.as_secs(),
        garp_lower_prio_rep: p.garp.lower_prio_repeat,
        lower_prio_no_advert: p.lower_prio_no_advert.into(),
        higher_prio_send_advert: p.higher_prio_send_advert.into(),
        vrid: i.identity.vrid,
        base_priority: p.priority,
        effective_priority: f.effective_priority(),
        vipset: set,
        promote_secondaries: c.promote_secondaries,
        adver_int: g_number(p.advert_int.as_secs_f64()),
        master_adver_int: g_number(f.master_adver_int().as_secs_f64()),
        accept: accept.into(),
        nopreempt: p.nopreempt,
        preempt_delay: p.preempt_delay.as_secs(),
        state,
        wantstate: state,
        version: if v2 { 2 } else { 3 },
        smtp_alert,
        notify_deleted: c.notify_deleted.is_some(),
        script_backup: script(&c.notify_backup),
        script_master: script(&c.notify_master),
        script_fault: script(&c.notify_fault),
        script_stop: script(&c.notify_stop),
        script_deleted: script(&c.notify_deleted),
        script: script(&c.notify),
        script_master_rx_lower_pri: script(&c.notify_master_rx_lower_pri),
        vips,
        evips,
        vroutes: i.routing.routes.iter().map(ka_routes::route).collect(),
        vrules: i.routing.rules.iter().map(ka_routes::rule).collect(),
        track_ifp,
        track_script,
        auth_type,
        auth_data,
    };
    KaInstance { data, stats }
}

fn epoch_secs(t: Option<SystemTime>) -> f64 {
    t.and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A number as C's `%g` writes it: whole values without a fraction (an
/// exporter that reads `adver_int` into an integer must not meet `1.0`),
/// at most 6 significant digits.
fn g_number(v: f64) -> serde_json::Number {
    if v.fract() == 0.0 && v.abs() < 1e6 {
        #[allow(clippy::cast_possible_truncation)]
        return serde_json::Number::from(v as i64);
    }
    let rounded: f64 = format!("{v:.5e}").parse().unwrap_or(v);
    serde_json::Number::from_f64(rounded).unwrap_or_else(|| serde_json::Number::from(0))
}

/// keepalived's `cmd_str`: each word in single quotes, the program by
/// its real path (script security resolves it so).
fn cmd_str(argv: &[OsString]) -> String {
    let mut words = Vec::with_capacity(argv.len());
    for (n, w) in argv.iter().enumerate() {
        let w = w.to_string_lossy();
        if n == 0 {
            // A redirection-only "script" tests for a file; keepalived
            // leaves it unquoted.
            if w.starts_with('<') || w.starts_with('>') {
                words.push(w.into_owned());
                continue;
            }
            let real = real_program(&w).unwrap_or_else(|| PathBuf::from(w.as_ref()));
            words.push(format!("'{}'", real.display()));
        } else {
            words.push(format!("'{w}'"));
        }
    }
    words.join(" ")
}

fn real_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return std::fs::canonicalize(name).ok();
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .and_then(|p| std::fs::canonicalize(p).ok())
}

/// keepalived's `format_ipaddress` for the parts our model carries.
fn ip_text(a: &IpAddress, ifname: &str, set: bool) -> String {
    let full = match a.address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    let mut s = a.address.to_string();
    if a.prefix_len != full {
        s.push_str(&format!("/{}", a.prefix_len));
    }
    if let (IpAddr::V4(v4), Some(brd)) = (a.address, a.brd.as_deref()) {
        let host_bits = 32 - u32::from(a.prefix_len);
        let b = match brd {
            "+" if host_bits > 1 => Some(std::net::Ipv4Addr::from(
                u32::from(v4) | (u32::MAX >> (32 - host_bits)),
            )),
            "+" | "-" => None,
            other => other.parse().ok(),
        };
        if let Some(b) = b {
            s.push_str(&format!(" brd {b}"));
        }
    }
    s.push_str(&format!(" dev {}", a.dev.as_deref().unwrap_or(ifname)));
    if a.use_vmac {
        s.push_str(" use_vmac");
    }
    s.push_str(&format!(
        " scope {}",
        a.scope.as_deref().unwrap_or("global")
    ));
    if let Some(l) = &a.label {
        s.push_str(&format!(" label {l}"));
    }
    if let Some(peer) = &a.peer {
        s.push_str(&format!(" peer {}/{}", peer.address, a.prefix_len));
    }
    for (on, word) in [
        (a.home, " home"),
        (a.nodad, " -nodad"),
        (a.mngtmpaddr, " mngtmpaddr"),
        (a.noprefixroute, " noprefixroute"),
        (a.autojoin, " autojoin"),
        (a.no_track, " no_track"),
    ] {
        if on {
            s.push_str(word);
        }
    }
    if let Some(g) = &a.track_group {
        s.push_str(&format!(" track_group {g}"));
    }
    if a.address.is_ipv6() {
        match a.preferred_lft {
            None => s.push_str(" preferred_lft forever"),
            Some(0) => s.push_str(" deprecated"),
            Some(n) => s.push_str(&format!(" preferred_lft {n}")),
        }
    }
    if set {
        s.push_str(" set");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_as_c_g_does() {
        assert_eq!(g_number(1.0).to_string(), "1");
        assert_eq!(g_number(5.0).to_string(), "5");
        assert_eq!(g_number(0.1).to_string(), "0.1");
        assert_eq!(g_number(0.35).to_string(), "0.35");
    }

    #[test]
    fn commands_are_quoted_word_by_word() {
        let argv: Vec<OsString> = ["/no/such/prog", "a b", "c"]
            .iter()
            .map(OsString::from)
            .collect();
        assert_eq!(cmd_str(&argv), "'/no/such/prog' 'a b' 'c'");
        let test: Vec<OsString> = ["</etc/hostname"].iter().map(OsString::from).collect();
        assert_eq!(cmd_str(&test), "</etc/hostname");
    }

    #[test]
    fn addresses_read_as_keepalived_prints_them() {
        let mut a = IpAddress {
            address: "192.0.2.101".parse().expect("ip"),
            prefix_len: 32,
            ..IpAddress::default()
        };
        assert_eq!(
            ip_text(&a, "eth0", true),
            "192.0.2.101 dev eth0 scope global set"
        );
        a.prefix_len = 24;
        a.brd = Some("+".into());
        assert_eq!(
            ip_text(&a, "eth0", false),
            "192.0.2.101/24 brd 192.0.2.255 dev eth0 scope global"
        );
        let v6 = IpAddress {
            address: "2001:db8::1".parse().expect("ip"),
            prefix_len: 64,
            ..IpAddress::default()
        };
        assert_eq!(
            ip_text(&v6, "eth0", false),
            "2001:db8::1/64 dev eth0 scope global preferred_lft forever"
        );
    }

    #[test]
    fn real_program_follows_links() {
        let sh = real_program("sh").expect("sh is on PATH");
        assert!(sh.is_absolute());
    }
}
