// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Shared by the VM test (which captures fixtures) and the codec tests
//! (which check against them).
#![allow(dead_code)]

pub mod capture;

use keepalived_ipvs::model::{
    DestKey, Destination, Family, Forward, Op, Protocol, Service, ServiceKey, SyncDaemon,
    SyncState, Timeouts, Tunnel, TunnelType, svc_flags,
};

/// Where the captured bytes live, relative to the crate.
pub const FIXTURE: &str = "tests/fixtures/kernel-6.1.txt";

/// The table the fixture's dump replies show, as ipvsadm built it.
pub const IPVSADM_TABLE: &[&str] = &[
    "ipvsadm -A -t 192.0.2.1:80 -s wrr",
    "ipvsadm -a -t 192.0.2.1:80 -r 192.0.2.10:8080 -m -w 3 -x 100 -y 10",
    "ipvsadm -a -t 192.0.2.1:80 -r 192.0.2.11:80 -g -w 0",
    "ipvsadm -a -t 192.0.2.1:80 -r 192.0.2.13:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum",
    "ipvsadm -A -u [2001:db8::1]:53 -s rr -o",
    "ipvsadm -a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -m -w 1",
    "ipvsadm -a -u [2001:db8::1]:53 -r 192.0.2.50:53 -i -w 1",
    "ipvsadm -A --sctp-service 192.0.2.2:3868 -s sh -b sh-fallback,sh-port",
    "ipvsadm -A -f 1 -6 -s rr",
    "ipvsadm -A -t 192.0.2.3:443 -s wlc -p 300 -M 255.255.255.0",
    "ipvsadm -A -u 192.0.2.4:5060 -s rr -p 60 --pe sip",
    "ipvsadm --set 7200 60 300",
];

pub fn key(protocol: Protocol, addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol,
        addr: addr.parse().expect("fixture address"),
        port,
    }
}

pub fn service(key: ServiceKey, scheduler: &str) -> Service {
    Service {
        key,
        scheduler: scheduler.to_owned(),
        flags: 0,
        timeout: 0,
        netmask: match key.family() {
            Family::Inet => u32::MAX,
            Family::Inet6 => 128,
        },
        pe_name: None,
    }
}

pub fn dest(addr: &str, port: u16, forward: Forward, weight: u32) -> Destination {
    Destination {
        key: DestKey {
            addr: addr.parse().expect("fixture address"),
            port,
        },
        forward,
        weight,
        u_threshold: 0,
        l_threshold: 0,
        tunnel: None,
    }
}

/// Requests whose bytes the fixture holds, each accepted by the kernel
/// (in this order, on an empty table).
pub fn request_ops() -> Vec<(&'static str, Op)> {
    let web = key(Protocol::Tcp, "198.51.100.1", 80);
    let v6 = key(Protocol::Udp, "2001:db8::5", 53);
    let fw = ServiceKey::Fwmark {
        family: Family::Inet,
        mark: 42,
    };
    let mut persistent = service(v6, "sh");
    persistent.flags = svc_flags::PERSISTENT | svc_flags::SCHED1 | svc_flags::SCHED2;
    persistent.timeout = 600;
    persistent.netmask = 64;
    let mut sip = service(key(Protocol::Udp, "198.51.100.2", 5060), "rr");
    sip.flags = svc_flags::PERSISTENT;
    sip.timeout = 60;
    sip.netmask = 0xffff_ff00;
    sip.pe_name = Some("sip".to_owned());
    let mut nat = dest("198.51.100.10", 8080, Forward::Masq, 5);
    nat.u_threshold = 1000;
    nat.l_threshold = 100;
    let mut gue = dest("198.51.100.11", 80, Forward::Tunnel, 1);
    gue.tunnel = Some(Tunnel {
        tun_type: TunnelType::Gue,
        port: 6080,
        flags: 1,
    });
    let mut gre = dest("2001:db8::11", 0, Forward::Tunnel, 1);
    gre.tunnel = Some(Tunnel {
        tun_type: TunnelType::Gre,
        port: 0,
        flags: 0,
    });
    let mut nat_w0 = nat.clone();
    nat_w0.weight = 0;
    vec![
        ("add-service-tcp4", Op::AddService(service(web, "wrr"))),
        ("add-service-udp6-persistent", Op::AddService(persistent)),
        ("add-service-fwmark", Op::AddService(service(fw, "rr"))),
        ("add-service-sip", Op::AddService(sip.clone())),
        ("add-dest-nat", Op::AddDest(web, nat)),
        ("add-dest-gue", Op::AddDest(web, gue)),
        (
            "add-dest-dr",
            Op::AddDest(fw, dest("198.51.100.12", 0, Forward::Route, 2)),
        ),
        ("add-dest-gre6", Op::AddDest(fw, gre)),
        ("set-dest-weight0", Op::SetDest(web, nat_w0)),
        (
            "set-service",
            Op::SetService(Service {
                scheduler: "lc".to_owned(),
                ..sip
            }),
        ),
        (
            "del-dest",
            Op::DelDest(
                web,
                DestKey {
                    addr: "198.51.100.11".parse().expect("addr"),
                    port: 80,
                },
            ),
        ),
        ("del-service", Op::DelService(fw)),
        (
            "set-timeouts",
            Op::SetTimeouts(Timeouts {
                tcp: 900,
                tcp_fin: 30,
                udp: 0,
            }),
        ),
        (
            "start-daemon",
            Op::StartDaemon(SyncDaemon {
                state: SyncState::Backup,
                interface: "kalrs0".to_owned(),
                sync_id: 9,
                max_len: Some(1400),
                group: Some("239.255.0.81".parse().expect("group")),
                port: Some(8848),
                ttl: Some(2),
            }),
        ),
        ("stop-daemon", Op::StopDaemon(SyncState::Backup)),
        ("flush", Op::Flush),
    ]
}

/// A fixture file: sections `[name]` of hex lines (one datagram each).
pub struct Fixture {
    pub sections: Vec<(String, Vec<Vec<u8>>)>,
}

impl Fixture {
    pub fn parse(text: &str) -> Fixture {
        let mut sections: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                sections.push((name.to_owned(), Vec::new()));
            } else if let Some((_, datagrams)) = sections.last_mut() {
                datagrams.push(unhex(line));
            } else {
                panic!("fixture line outside a section: {line}");
            }
        }
        Fixture { sections }
    }

    pub fn get(&self, name: &str) -> &[Vec<u8>] {
        self.sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, d)| d.as_slice())
            .unwrap_or_else(|| panic!("fixture has no section [{name}]"))
    }

    pub fn load() -> Fixture {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Fixture::parse(&text)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex line {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}
