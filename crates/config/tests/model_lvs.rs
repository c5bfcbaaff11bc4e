// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The lvs side of the model: virtual_server_group, virtual_server,
//! real_server, checkers, SSL, and their whole-configuration checks.
//! Expected diagnostics and exit codes were taken from keepalived 2.2.7
//! (`keepalived -t`) on the same snippets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use keepalived_config::diag::{Category, Diagnostics, Loc};
use keepalived_config::host::FakeHost;
use keepalived_config::model::checker::{Checker, DnsType, HttpProtocol, StatusRange};
use keepalived_config::model::lvs::{
    Forwarding, LvsMethod, Protocol, Scheduler, TunnelCsum, TunnelType, VirtualServerKey, VsgEntry,
};
use keepalived_config::model::{self, Config};
use keepalived_config::preprocess::LogicalLine;
use keepalived_config::reader::Reader;
use keepalived_config::syntax;
use keepalived_config::types::Timer;
use keepalived_config::validate;

/// Stands in for the preprocessor: one logical line per non-empty line,
/// with a trailing ` {` / leading `}` split off.
fn lines(text: &str) -> Vec<LogicalLine> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap();
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        let col = u32::try_from(raw.len() - raw.trim_start().len() + 1).unwrap();
        let loc = Loc::new("t.conf".into(), line, col);
        let push = |out: &mut Vec<LogicalLine>, s: &str| {
            out.push(LogicalLine {
                text: s.to_string(),
                loc: loc.clone(),
            })
        };
        if let Some(head) = t.strip_suffix(" {") {
            push(&mut out, head.trim_end());
            push(&mut out, "{");
        } else {
            push(&mut out, t);
        }
    }
    out
}

fn load(text: &str) -> (Config, Diagnostics) {
    let mut diags = Diagnostics::new();
    let src = lines(text);
    let tree = syntax::parse(&src, &mut diags);
    let mut reader = Reader::new(&mut diags);
    let mut cfg = model::read(&tree, &mut reader);
    let commands = std::mem::take(&mut reader.commands);
    let host = FakeHost::with_interfaces(&["eth0"]);
    validate::run(&mut cfg, &commands, &host, &mut diags);
    (cfg, diags)
}

fn assert_clean(d: &Diagnostics) {
    let all: Vec<String> = d.iter().map(ToString::to_string).collect();
    assert!(d.is_empty(), "unexpected diagnostics: {all:#?}");
    assert_eq!(d.config_test_exit_code(), 0);
}

/// Asserts one diagnostic mentions `needle`, at `line` when given.
fn assert_diag(d: &Diagnostics, needle: &str, line: Option<u32>, cat: Category) {
    let all: Vec<String> = d.iter().map(ToString::to_string).collect();
    let hit = d.iter().find(|x| x.message.contains(needle));
    let hit = hit.unwrap_or_else(|| panic!("no diagnostic containing {needle:?} in {all:#?}"));
    assert_eq!(hit.category, cat, "{all:#?}");
    if let Some(l) = line {
        assert_eq!(hit.loc.as_ref().map(|l| l.line), Some(l), "{all:#?}");
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const HEAD: &str = "lb_algo rr\nlb_kind NAT\nprotocol TCP\n";

fn vs(body: &str) -> String {
    format!("virtual_server 192.0.2.10 80 {{\n{HEAD}{body}\n}}\n")
}

// ----- blocks -----

#[test]
fn virtual_server_group_entries() {
    let (cfg, d) = load(
        "virtual_server_group G {
192.0.2.30 80
192.0.2.31-35 80
203.0.113.0/29 8080
2001:db8::30-3f 80
192.0.2.40-192.0.2.50
fwmark 20 inet
fwmark 21 inet6
}
virtual_server group G {
lb_algo rr
lb_kind NAT
protocol TCP
persistence_timeout
real_server 198.51.100.31 80 {
}
}",
    );
    assert_clean(&d);
    let g = &cfg.virtual_server_groups[0];
    assert_eq!(g.name, "G");
    assert_eq!(
        g.entries[1],
        VsgEntry::Range {
            start: ip("192.0.2.31"),
            end: ip("192.0.2.35"),
            port: 80
        }
    );
    assert_eq!(
        g.entries[2],
        VsgEntry::Range {
            start: ip("203.0.113.0"),
            end: ip("203.0.113.7"),
            port: 8080
        }
    );
    assert_eq!(
        g.entries[3],
        VsgEntry::Range {
            start: ip("2001:db8::30"),
            end: ip("2001:db8::3f"),
            port: 80
        }
    );
    assert_eq!(
        g.entries[4],
        VsgEntry::Range {
            start: ip("192.0.2.40"),
            end: ip("192.0.2.50"),
            port: 0
        }
    );
    assert!(matches!(
        g.entries[6],
        VsgEntry::Fwmark {
            fwmark: 21,
            family: Some(_)
        }
    ));
    assert_eq!(
        cfg.virtual_servers[0].key,
        VirtualServerKey::Group("G".into())
    );
}

#[test]
fn virtual_server_group_bad_entries() {
    let (cfg, d) = load(
        "virtual_server_group G1 {
192.0.2.20-10 80
192.0.2.0/33 80
fwmark 7 inet7
192.0.2.300 80
192.0.2.1/24 80
}
virtual_server_group EMPTY {
}",
    );
    assert_diag(
        &d,
        "not greater than its start",
        Some(2),
        Category::GeneralError,
    );
    assert_diag(&d, "prefix '33'", Some(3), Category::GeneralError);
    assert_diag(&d, "family 'inet7'", Some(4), Category::GeneralError);
    assert_diag(&d, "'192.0.2.300'", Some(5), Category::GeneralError);
    assert_diag(&d, "beyond the prefix", Some(6), Category::GeneralError);
    assert_diag(
        &d,
        "EMPTY has no valid entries",
        Some(8),
        Category::GeneralError,
    );
    assert!(cfg.virtual_server_groups.is_empty());
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn virtual_server_every_keyword() {
    let (cfg, d) = load(
        "virtual_server 192.0.2.10 80 {
delay_loop 6
lvs_sched sh
sh-port
sh-fallback
lb_kind TUN type gue port 6080 csum
protocol sctp
persistence_timeout 600
persistence_granularity 255.255.255.0
persistence_engine sip
ha_suspend
virtualhost www.example.com
alpha
omega
hashed
flag-1
flag-2
flag-3
ip_family inet
sorry_server 192.0.2.99 80
sorry_server_inhibit
sorry_server_lvs_method DR
quorum 2
hysteresis 1
quorum_up /bin/true
quorum_down \"/bin/echo down\"
smtp_alert
snmp_name web
connect_timeout 3
retry 2
delay_before_retry 4
warmup 5
inhibit_on_failure
weight 3
real_server 198.51.100.11 80 {
}
}",
    );
    assert_clean(&d);
    let v = &cfg.virtual_servers[0];
    assert_eq!(
        v.key,
        VirtualServerKey::Addr {
            ip: ip("192.0.2.10"),
            port: 80
        }
    );
    assert_eq!(v.delay_loop, Some(Timer::from_secs(6)));
    assert_eq!(v.lvs_sched, Some(Scheduler::Sh));
    assert!(v.sh_port && v.sh_fallback && !v.mh_port);
    let tun = v.lvs_method.and_then(|f| f.tunnel).unwrap();
    assert_eq!(v.lvs_method.map(|f| f.method), Some(LvsMethod::Tun));
    assert_eq!(tun.tun_type, TunnelType::Gue);
    assert_eq!(tun.port, Some(6080));
    assert_eq!(tun.csum, TunnelCsum::Csum);
    assert_eq!(v.protocol, Some(Protocol::Sctp));
    assert_eq!(v.persistence_timeout, Some(600));
    assert_eq!(v.persistence_granularity.as_deref(), Some("255.255.255.0"));
    assert_eq!(v.persistence_engine.as_deref(), Some("sip"));
    assert!(v.ha_suspend && v.alpha && v.omega && v.hashed && v.flag_1 && v.flag_2 && v.flag_3);
    let s = v.sorry_server.as_ref().unwrap();
    assert_eq!(
        (s.ip, s.port, s.inhibit),
        (Some(ip("192.0.2.99")), Some(80), true)
    );
    assert_eq!(s.lvs_method.map(|f| f.method), Some(LvsMethod::Dr));
    assert_eq!((v.quorum, v.hysteresis), (2, 1));
    assert_eq!(v.quorum_up.as_ref().unwrap().argv, ["/bin/true"]);
    assert_eq!(v.quorum_down.as_ref().unwrap().argv, ["/bin/echo", "down"]);
    assert_eq!(v.smtp_alert, Some(true));
    assert_eq!(v.snmp_name.as_deref(), Some("web"));
    assert_eq!(v.connect_timeout, Some(Timer::from_secs(3)));
    assert_eq!(v.retry, Some(2));
    assert!(v.inhibit_on_failure);
    assert_eq!(v.weight, Some(3));
    // Real server inherits.
    let rs = &v.real_servers[0];
    assert_eq!(rs.effective_weight(v), 3);
    assert!(rs.effective_inhibit_on_failure(v));
    assert!(rs.effective_alpha(v));
    assert_eq!(rs.effective_delay_loop(v), Timer::from_secs(6));
    assert_eq!(rs.effective_connect_timeout(v), Timer::from_secs(3));
}

#[test]
fn virtual_server_fwmark_and_legacy_names() {
    let (cfg, d) = load(
        "virtual_server fwmark 10 {
delay_loop 10
lb_algo wrr
lb_kind DR
persistence_timeout
real_server 192.0.2.21 {
weight 1
}
}
virtual_server fwmark 11 {
ip_family inet6
lb_algo mh
mh-port
lb_kind DR
real_server 2001:db8::21 {
}
}",
    );
    assert_clean(&d);
    let v = &cfg.virtual_servers[0];
    assert_eq!(v.key, VirtualServerKey::Fwmark(10));
    assert_eq!(v.persistence_timeout, Some(360));
    assert_eq!(
        v.lvs_method,
        Some(Forwarding {
            method: LvsMethod::Dr,
            tunnel: None
        })
    );
    assert_eq!(v.effective_protocol(), None);
    assert!(cfg.virtual_servers[1].mh_port);
}

#[test]
fn virtual_server_defaults_and_warnings() {
    // keepalived: no protocol -> UDP, no scheduler -> wlc, no method -> NAT,
    // each a config error (exit 5).
    let (cfg, d) = load(
        "virtual_server 192.0.2.10 80 {
real_server 198.51.100.11 80 {
}
}",
    );
    assert_diag(
        &d,
        "no protocol set; using UDP",
        Some(1),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "no scheduler (lvs_sched) set; using wlc",
        Some(1),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "no forwarding method (lvs_method) set; using NAT",
        Some(1),
        Category::GeneralError,
    );
    assert_eq!(d.len(), 3);
    assert_eq!(d.config_test_exit_code(), 5);
    let v = &cfg.virtual_servers[0];
    assert_eq!(v.protocol, Some(Protocol::Udp));
    assert_eq!(v.effective_lvs_sched(), Scheduler::Wlc);
    assert_eq!(v.effective_lvs_method().method, LvsMethod::Nat);
    assert_eq!(v.effective_delay_loop(), Timer::from_secs(60));
    assert_eq!(v.quorum, 1);
    let rs = &v.real_servers[0];
    assert_eq!(rs.effective_port(v), 80);
    assert_eq!(rs.effective_weight(v), 1);
    assert_eq!(rs.effective_connect_timeout(v), Timer::from_secs(5));
    assert!(!rs.effective_inhibit_on_failure(v));
    assert!(rs.effective_smtp_alert(None));
    assert!(!rs.effective_smtp_alert(Some(false)));
}

#[test]
fn real_server_every_keyword() {
    let (cfg, d) = load(&vs("real_server 198.51.100.11 {
weight 70000
inhibit_on_failure off
notify_up \"/bin/echo up\"
notify_down /bin/false
lvs_method TUN type gre
uthreshold 100
lthreshold 10
alpha
connect_timeout 2.5
retry 4
delay_before_retry 2
warmup 1
delay_loop 7
smtp_alert no
virtualhost rs.example.com
snmp_name rs1
}"));
    assert_clean(&d);
    let v = &cfg.virtual_servers[0];
    let rs = &v.real_servers[0];
    assert_eq!(rs.port, None);
    assert_eq!(rs.effective_port(v), 80);
    assert_eq!(rs.weight, Some(70000));
    assert_eq!(rs.inhibit_on_failure, Some(false));
    assert_eq!(rs.notify_up.as_ref().unwrap().argv, ["/bin/echo", "up"]);
    assert_eq!(rs.notify_down.as_ref().unwrap().argv, ["/bin/false"]);
    let f = rs.lvs_method.unwrap();
    assert_eq!(f.method, LvsMethod::Tun);
    assert_eq!(f.tunnel.unwrap().tun_type, TunnelType::Gre);
    assert_eq!((rs.uthreshold, rs.lthreshold), (Some(100), Some(10)));
    assert_eq!(rs.alpha, Some(true));
    let d = rs.checker_defaults();
    assert_eq!(d.connect_timeout, Some(Timer::from_micros(2_500_000)));
    assert_eq!(d.retry, Some(4));
    assert_eq!(d.delay_loop, Some(Timer::from_secs(7)));
    assert_eq!(d.smtp_alert, Some(false));
    assert_eq!(d.virtualhost.as_deref(), Some("rs.example.com"));
    assert_eq!(d.snmp_name.as_deref(), Some("rs1"));
}

#[test]
fn real_server_bad_values() {
    let (cfg, d) = load(&vs("real_server 198.51.100.11 80 {
weight -1
lvs_method FOO
retry 0
}
real_server 198.51.100.300 80 {
}
real_server 2001:db8::1 80 {
}"));
    assert_diag(&d, "'-1'", Some(6), Category::InvalidNumber);
    assert_diag(
        &d,
        "unknown forwarding method 'FOO'",
        Some(7),
        Category::GeneralError,
    );
    assert_diag(&d, "'0' outside range", Some(8), Category::InvalidNumber);
    assert_diag(
        &d,
        "invalid real server IP address '198.51.100.300'",
        Some(10),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "not of the virtual server's address family",
        Some(12),
        Category::GeneralError,
    );
    assert_eq!(cfg.virtual_servers[0].real_servers.len(), 1);
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn ssl_block() {
    let (cfg, d) = load(
        "SSL {
password secret
ca /etc/ssl/ca.pem
certificate /etc/ssl/c.pem
key /etc/ssl/k.pem
}",
    );
    assert_clean(&d);
    let s = cfg.ssl.unwrap();
    assert_eq!(s.password.as_deref(), Some("secret"));
    assert_eq!(s.ca.as_deref(), Some("/etc/ssl/ca.pem"));
    assert_eq!(s.certificate.as_deref(), Some("/etc/ssl/c.pem"));
    assert_eq!(s.key.as_deref(), Some("/etc/ssl/k.pem"));
    assert!(!s.is_autogen());

    let (_, d) = load("SSL {\npassword\n}");
    assert_diag(
        &d,
        "SSL password is missing",
        Some(2),
        Category::GeneralError,
    );
    assert_eq!(d.config_test_exit_code(), 5);
}

// ----- checkers -----

fn checkers(body: &str) -> (Vec<Checker>, Diagnostics) {
    let (mut cfg, d) = load(&vs(&format!("real_server 198.51.100.11 80 {{\n{body}\n}}")));
    let cs = cfg
        .virtual_servers
        .pop()
        .and_then(|mut v| v.real_servers.pop())
        .map(|r| r.checkers)
        .unwrap_or_default();
    (cs, d)
}

#[test]
fn tcp_check_common_keywords() {
    let (c, d) = checkers(
        "TCP_CHECK {
connect_ip 198.51.100.11
connect_port 8080
bindto 198.51.100.1
bind_port 40001
bind_if nosuch0
fwmark 7
connect_timeout 3
retry 3
delay_before_retry 2
warmup 5
delay_loop 9
alpha
log_all_failures yes
}",
    );
    assert_clean(&d);
    let Checker::TcpCheck(t) = &c[0] else {
        panic!("{c:?}")
    };
    let k = &t.common;
    assert_eq!(k.connect_ip, Some(ip("198.51.100.11")));
    assert_eq!(k.connect_port, Some(8080));
    assert_eq!(k.bindto, Some(ip("198.51.100.1")));
    assert_eq!(k.bind_port, Some(40001));
    // keepalived does not check bind_if against the host.
    assert_eq!(k.bind_if.as_deref(), Some("nosuch0"));
    assert_eq!(k.fwmark, Some(7));
    assert_eq!(k.retry, Some(3));
    assert_eq!(k.alpha, Some(true));
    assert_eq!(k.log_all_failures, Some(true));
}

#[test]
fn checker_inheritance() {
    let (cfg, d) = load(
        "virtual_server 192.0.2.10 80 {
lb_algo rr
lb_kind NAT
protocol TCP
delay_loop 20
retry 5
connect_timeout 7
real_server 198.51.100.11 80 {
warmup 2
TCP_CHECK {
delay_before_retry 4
}
HTTP_GET {
url {
path /
}
}
DNS_CHECK {
}
MISC_CHECK {
misc_path /bin/true
}
}
real_server 198.51.100.12 80 {
HTTP_GET {
url {
path /
}
}
DNS_CHECK {
}
}
}",
    );
    // MISC_CHECK without script security: that is the script-security
    // check's business, not ours.
    assert!(d.iter().all(|x| x.category == Category::Security), "{d:?}");
    let v = &cfg.virtual_servers[0];
    let rs = &v.real_servers[0];
    let tcp = rs.checkers[0].effective(rs, v);
    assert_eq!(tcp.delay_loop, Timer::from_secs(20));
    assert_eq!(tcp.retry, 5);
    assert_eq!(tcp.delay_before_retry, Timer::from_secs(4));
    assert_eq!(tcp.warmup, Timer::from_secs(2));
    assert_eq!(tcp.connect_timeout, Some(Timer::from_secs(7)));
    assert!(!tcp.alpha);
    let misc = rs.checkers[3].effective(rs, v);
    assert_eq!(misc.connect_timeout, None);

    // Without VS/RS retry: per-kind defaults.
    let mut v2 = v.clone();
    v2.retry = None;
    let rs2 = &v2.real_servers[1];
    let http = rs2.checkers[0].effective(rs2, &v2);
    assert_eq!(http.retry, 1);
    assert_eq!(http.delay_before_retry, Timer::from_secs(3));
    assert_eq!(http.warmup, Timer::from_secs(20));
    let dns = rs2.checkers[1].effective(rs2, &v2);
    assert_eq!(dns.retry, 3);
    assert_eq!(dns.delay_before_retry, Timer::from_secs(20));
}

#[test]
fn http_get_and_ssl_get() {
    let (c, d) = checkers(
        "HTTP_GET {
url {
path /
digest 9B3A0C85A887A256D6939DA88AABD8CD
}
url {
path /status?full
status_code 200-299 301 302
virtualhost status.example.com
regex \"^ok\"
regex_no_match
regex_options caseless bogus
regex_stack 1 2
regex_min_offset 1
regex_max_offset 20
}
http_protocol 1.0C
virtualhost app.example.com
fast_recovery
}
SSL_GET {
url {
path /health
}
enable_sni
connect_port 443
}",
    );
    assert_clean(&d);
    let Checker::HttpGet(h) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(h.url.len(), 2);
    assert_eq!(
        h.url[0].digest.as_deref(),
        Some("9b3a0c85a887a256d6939da88aabd8cd")
    );
    assert_eq!(
        h.url[0].effective_status_codes(),
        [StatusRange { min: 200, max: 299 }]
    );
    let u = &h.url[1];
    assert_eq!(u.status_code.len(), 3);
    assert_eq!(u.regex.as_deref(), Some("^ok"));
    assert!(u.regex_no_match);
    assert_eq!(u.regex_options, ["caseless"]);
    assert_eq!(u.regex_stack, Some((1, 2)));
    assert_eq!(
        (u.regex_min_offset, u.regex_max_offset),
        (Some(1), Some(20))
    );
    assert_eq!(h.http_protocol, HttpProtocol::Http10C);
    assert!(h.fast_recovery);
    let Checker::SslGet(s) = &c[1] else {
        panic!("{c:?}")
    };
    assert!(s.enable_sni);
    assert_eq!(s.common.connect_port, Some(443));
}

#[test]
fn http_get_errors() {
    let (c, d) = checkers(
        "HTTP_GET {
http_protocol 2
nb_get_retry 3
url {
status_code 99 200-100
digest abc
}
}
SSL_GET {
}",
    );
    // Lines: the real_server opens on line 5.
    assert_diag(
        &d,
        "invalid http_protocol '2'",
        Some(7),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "'nb_get_retry' is deprecated",
        Some(8),
        Category::Warning,
    );
    assert_diag(
        &d,
        "invalid HTTP status code '99'",
        Some(10),
        Category::GeneralError,
    );
    assert_diag(&d, "'200-100'", Some(10), Category::GeneralError);
    assert_diag(
        &d,
        "digest 'abc' should be 32",
        Some(11),
        Category::GeneralError,
    );
    assert_diag(&d, "'url' has no 'path'", Some(9), Category::GeneralError);
    assert_diag(
        &d,
        "HTTP_GET has no valid 'url'",
        Some(6),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "SSL_GET has no valid 'url'",
        Some(14),
        Category::GeneralError,
    );
    assert!(c.is_empty());
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn misc_check() {
    let (c, d) = checkers(
        "MISC_CHECK {
misc_path \"/usr/bin/test -d /etc\"
misc_timeout 5
misc_dynamic
user root wheel
retry 2
warmup 1
}
MISC_CHECK {
connect_ip 198.51.100.1
}",
    );
    let Checker::MiscCheck(m) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(
        m.misc_path.as_ref().unwrap().argv,
        ["/usr/bin/test", "-d", "/etc"]
    );
    assert_eq!(m.misc_timeout, Some(Timer::from_secs(5)));
    assert!(m.misc_dynamic);
    assert_eq!(
        (m.user.as_deref(), m.group.as_deref()),
        (Some("root"), Some("wheel"))
    );
    assert_eq!(m.common.retry, Some(2));
    // MISC_CHECK has no connection keywords; a missing misc_path drops it.
    assert_diag(
        &d,
        "Unknown keyword 'connect_ip'",
        Some(15),
        Category::UnknownKeyword,
    );
    assert_diag(
        &d,
        "MISC_CHECK has no 'misc_path'",
        Some(14),
        Category::GeneralError,
    );
    assert_eq!(c.len(), 1);
}

#[test]
fn smtp_check() {
    let (c, d) = checkers(
        "SMTP_CHECK {
helo_name lb1.example.com
connect_timeout 10
host {
connect_ip 198.51.100.2
connect_port 587
}
}",
    );
    assert_clean(&d);
    let Checker::SmtpCheck(s) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(s.helo_name.as_deref(), Some("lb1.example.com"));
    assert_eq!(s.host[0].connect_port, Some(587));
}

#[test]
fn dns_check() {
    let (c, d) = checkers(
        "DNS_CHECK {
type aaaa
name www.example.com.
retry 3
}
DNS_CHECK {
type PTR
name a..b
}",
    );
    let Checker::DnsCheck(x) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(x.qtype, DnsType::Aaaa);
    assert_eq!(x.name.as_deref(), Some("www.example.com."));
    let Checker::DnsCheck(y) = &c[1] else {
        panic!("{c:?}")
    };
    assert_eq!(y.qtype, DnsType::Soa);
    assert_diag(
        &d,
        "unknown DNS_CHECK type 'PTR'",
        Some(12),
        Category::GeneralError,
    );
    assert_diag(&d, "empty label", Some(13), Category::GeneralError);
    assert_eq!(d.len(), 2);
}

#[test]
fn udp_check() {
    let (c, d) = checkers(
        "UDP_CHECK {
payload 0102030405
require_reply 01XX03
min_reply_length 2
max_reply_length 100
}
UDP_CHECK {
payload zz
require_reply 0G
max_reply_length 70000
min_reply_length 300
}",
    );
    let Checker::UdpCheck(u) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(u.payload.as_deref(), Some(&[1u8, 2, 3, 4, 5][..]));
    assert_eq!(u.require_reply.as_deref(), Some("01XX03"));
    assert_eq!((u.min_reply_length, u.max_reply_length), (2, 100));
    assert_diag(
        &d,
        "invalid UDP_CHECK payload 'zz'",
        Some(13),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "invalid UDP_CHECK reply '0G'",
        Some(14),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "'70000' outside range",
        Some(15),
        Category::InvalidNumber,
    );
    assert_diag(
        &d,
        "min_reply_length 300 > max_reply_length 255",
        Some(12),
        Category::GeneralError,
    );
}

#[test]
fn ping_check() {
    let (c, d) = checkers("PING_CHECK {\nretry 2\nconnect_port 5\n}");
    assert_clean(&d);
    let Checker::PingCheck(p) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(p.common.retry, Some(2));
}

#[test]
fn file_check() {
    let (c, d) = checkers(
        "FILE_CHECK {
track_file rs_tf
weight 2 reverse
}
FILE_CHECK {
dynamic
}
FILE_CHECK {
track_file x
weight 300
retry 1
}",
    );
    let Checker::FileCheck(f) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(f.track_file, "rs_tf");
    assert_eq!((f.weight, f.reverse), (Some(2), true));
    // `dynamic` is not a FILE_CHECK keyword in 2.2.7, and FILE_CHECK has
    // no retry; with no track_file the checker is dropped.
    assert_diag(
        &d,
        "Unknown keyword 'dynamic'",
        Some(11),
        Category::UnknownKeyword,
    );
    assert_diag(
        &d,
        "FILE_CHECK has no 'track_file'",
        Some(10),
        Category::GeneralError,
    );
    assert_diag(&d, "'300' outside range", Some(15), Category::InvalidNumber);
    assert_diag(
        &d,
        "Unknown keyword 'retry'",
        Some(16),
        Category::UnknownKeyword,
    );
    assert_eq!(c.len(), 2);
}

#[test]
fn bfd_check() {
    let (c, d) = checkers("BFD_CHECK {\nname BFD_RS\nalpha\n}\nBFD_CHECK {\nretry 1\n}");
    let Checker::BfdCheck(b) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(b.name, "BFD_RS");
    assert_eq!(b.alpha, Some(true));
    assert_diag(
        &d,
        "Unknown keyword 'retry'",
        Some(11),
        Category::UnknownKeyword,
    );
    assert_diag(
        &d,
        "BFD_CHECK has no 'name'",
        Some(10),
        Category::GeneralError,
    );
}

// ----- validation -----

#[test]
fn validation_no_real_servers() {
    let (cfg, d) = load(&vs(""));
    assert_diag(&d, "has no real servers", Some(1), Category::GeneralError);
    assert!(cfg.virtual_servers.is_empty());
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn validation_silent_cases() {
    // Undefined group, duplicate virtual servers, unknown bind_if: all
    // accepted silently by keepalived 2.2.7.
    let (_, d) = load(
        "virtual_server group NOPE {
lb_algo rr
lb_kind NAT
protocol TCP
real_server 198.51.100.11 80 {
TCP_CHECK {
bind_if nosuchif0
}
}
}
virtual_server 192.0.2.10 80 {
lb_algo twos
lb_kind NAT
protocol TCP
real_server 198.51.100.11 80 {
}
}
virtual_server 192.0.2.10 80 {
lb_algo rr
lb_kind NAT
protocol TCP
real_server 198.51.100.11 80 {
}
}",
    );
    assert_clean(&d);
}

#[test]
fn validation_quorum_duplicates_sorry_family() {
    let (cfg, d) = load(&vs("quorum 5
hysteresis 7
sorry_server 2001:db8::5 80
real_server 198.51.100.11 80 {
weight 2
}
real_server 198.51.100.11 80 {
weight 2
}"));
    assert_diag(
        &d,
        "sorry server 2001:db8::5 is not of",
        Some(1),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "real server 198.51.100.11 is a duplicate",
        Some(11),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "quorum 5 exceeds the total weight of its real servers 2",
        Some(1),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "hysteresis 7 must be below quorum 2; set to 1",
        Some(1),
        Category::GeneralError,
    );
    assert_eq!(d.config_test_exit_code(), 5);
    let v = &cfg.virtual_servers[0];
    assert_eq!((v.quorum, v.hysteresis), (2, 1));
    assert!(v.sorry_server.is_none());
    assert_eq!(v.real_servers.len(), 1);
}

#[test]
fn validation_parse_time_vs_errors() {
    let (cfg, d) = load(
        "virtual_server 192.0.2.10 80 {
lb_algo foo
lb_kind DR
protocol TCP
ops
sh-port
sorry_server_inhibit
real_server 198.51.100.11 8080 {
}
}
virtual_server fwmark 5 {
protocol TCP
ha_suspend
lb_algo rr
lb_kind DR
real_server 198.51.100.11 80 {
}
}
virtual_server 192.0.2.11 0 {
lb_algo rr
lb_kind DR
protocol UDP
ip_family inet6
real_server 198.51.100.11 {
}
}",
    );
    assert_diag(
        &d,
        "invalid scheduler 'foo'",
        Some(2),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "'sh-port' only applies",
        Some(6),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "sorry_server_inhibit before or without",
        Some(7),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "ip_family inet6 conflicts",
        Some(23),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "one-packet scheduling (ops) needs UDP",
        Some(1),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "[192.0.2.10]:80: no scheduler",
        Some(1),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "ports differ; the real server takes port 80",
        Some(8),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "ha_suspend cannot be used with fwmarks",
        Some(11),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "protocol is ignored for a fwmark service",
        Some(11),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "has a port, which is cleared",
        Some(16),
        Category::GeneralError,
    );
    assert_diag(
        &d,
        "a zero port needs persistence",
        Some(19),
        Category::GeneralError,
    );
    assert_eq!(d.len(), 11, "{d:#?}");
    assert_eq!(d.config_test_exit_code(), 5);
    assert_eq!(cfg.virtual_servers[2].persistence_timeout, Some(360));
}

#[test]
fn validation_ranges() {
    let (_, d) = load(&vs("persistence_timeout 0
delay_loop 0
weight 0
real_server 198.51.100.11 80 {
}"));
    assert_diag(
        &d,
        "'0' outside range [1, 2678400]",
        Some(5),
        Category::InvalidNumber,
    );
    assert_diag(
        &d,
        "'0' outside range [0.000001",
        Some(6),
        Category::InvalidNumber,
    );
    assert_diag(
        &d,
        "'0' outside range [1, 2147483647]",
        Some(7),
        Category::InvalidNumber,
    );
    assert_eq!(d.config_test_exit_code(), 5);
}

#[test]
fn serde_round_trip() {
    let (cfg, _) = load(&vs("real_server 198.51.100.11 80 {
HTTP_GET {
url {
path /
}
}
FILE_CHECK {
track_file tf
}
}"));
    let json = serde_json::to_string(&cfg.virtual_servers).unwrap();
    assert!(json.contains("\"HTTP_GET\""), "{json}");
    assert!(json.contains("\"lvs_sched\":\"rr\""), "{json}");
    let back: Vec<keepalived_config::model::lvs::VirtualServer> =
        serde_json::from_str(&json).unwrap();
    // Locations are not serialized.
    let mut expect = cfg.virtual_servers.clone();
    for v in &mut expect {
        v.loc = None;
        for r in &mut v.real_servers {
            r.loc = None;
            for c in &mut r.checkers {
                if let Checker::FileCheck(f) = c {
                    f.loc = None;
                }
            }
        }
    }
    assert_eq!(back, expect);
}

#[test]
fn validation_link_local_needs_bind_if() {
    let (cfg, d) = load(
        "virtual_server 2001:db8::10 80 {
lb_algo rr
lb_kind NAT
protocol TCP
real_server 2001:db8::11 80 {
TCP_CHECK {
connect_ip fe80::1
}
TCP_CHECK {
connect_ip fe80::1
bind_if eth0
}
}
}",
    );
    assert_diag(
        &d,
        "link-local address fe80::1 but has no bind_if",
        Some(5),
        Category::GeneralError,
    );
    assert_eq!(d.len(), 1);
    assert_eq!(d.config_test_exit_code(), 5);
    assert_eq!(cfg.virtual_servers[0].real_servers[0].checkers.len(), 1);
}

#[test]
fn url_regex_is_read_with_quotes_and_escapes_resolved() {
    // keepalived reads the pattern as one quoted, escaped word: `\\d` in
    // the file is `\d` in the pattern, a lone `\d` is `d`.
    let (c, d) = checkers(
        "HTTP_GET {
url {
path /a
regex \"a\\\\d+ b\"
}
url {
path /b
regex x\\y\\x41
}
url {
path /c
regex two words
}
}",
    );
    assert_clean(&d);
    let Checker::HttpGet(h) = &c[0] else {
        panic!("{c:?}")
    };
    assert_eq!(h.url[0].regex.as_deref(), Some("a\\d+ b"));
    assert_eq!(h.url[1].regex.as_deref(), Some("xyA"));
    assert_eq!(h.url[2].regex, None);
}

/// keepalived drops the other scheduler's flag (`mh-port` under `sh`)
/// without a word; `-t` notes it, and its verdict stays clean.
#[test]
fn the_other_schedulers_flag_is_noted_not_dropped_silently() {
    let (cfg, d) = load(
        "virtual_server 192.0.2.10 80 {
lb_algo sh
lb_kind NAT
protocol TCP
mh-port
sh-port
real_server 198.51.100.11 80 {
}
}",
    );
    assert_diag(
        &d,
        "'mh-port' does nothing with this scheduler",
        Some(5),
        Category::Info,
    );
    assert_eq!(d.config_test_exit_code(), 0);
    let v = &cfg.virtual_servers[0];
    assert!(v.sh_port && !v.mh_port);
}
