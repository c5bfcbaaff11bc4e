// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A [`Table`] in the text `ipvsadm -Sn` (ipvsadm 1.31, Debian 12) prints,
//! byte for byte, so a VM test can compare what we want with what the
//! kernel holds by running `ipvsadm -Sn` there.
//!
//! What ipvsadm does, and what we reproduce:
//! * services sorted by (fwmark, family, protocol, address, port) and the
//!   destinations of each by (address, port), with libipvs' comparators,
//!   which subtract unsigned values and read the difference as a C `int`
//!   (so addresses more than 2^31 apart compare "backwards"), through
//!   glibc's merge sort;
//! * `-A <svc> -s <sched>`, then ` -p <timeout>` and a ` -M <mask>` that is
//!   not the default (dotted for IPv4, prefix length for IPv6) only when
//!   the service is persistent, ` --pe <engine>`, ` -o` for one-packet
//!   scheduling, ` -b <flags>` for the scheduler flags (named after the
//!   scheduler: `sh-fallback,sh-port`, `mh-fallback,mh-port`, else
//!   `flag-1,flag-2,flag-3`);
//! * `-a <svc> -r <addr:port> <-m|-g|-i> -w <weight>`, tunnels adding
//!   `--tun-type ipip`, `--tun-type gue --tun-port <p> <csum>` or
//!   `--tun-type gre <csum>`. Thresholds are not part of the save format.

use std::fmt::Write as _;
use std::net::IpAddr;

use crate::model::{
    Destination, Family, Forward, Service, ServiceEntry, ServiceKey, Table, TunnelType, svc_flags,
};

/// The whole table as `ipvsadm -Sn` prints it (one line per service and
/// per destination, each ending in a newline).
pub fn render_save(table: &Table) -> String {
    let mut services: Vec<&ServiceEntry> = table.services.iter().collect();
    merge_sort(&mut services, &|a, b| cmp_services(&a.service, &b.service));
    let mut out = String::new();
    for entry in services {
        render_service(entry, &mut out);
    }
    out
}

fn render_service(entry: &ServiceEntry, out: &mut String) {
    let svc = &entry.service;
    let name = service_name(&svc.key);
    let _ = write!(out, "-A {name} -s {}", svc.scheduler);
    if svc.flags & svc_flags::PERSISTENT != 0 {
        let _ = write!(out, " -p {}", svc.timeout);
        match svc.key.family() {
            Family::Inet if svc.netmask != u32::MAX => {
                let _ = write!(out, " -M {}", std::net::Ipv4Addr::from(svc.netmask));
            }
            Family::Inet6 if svc.netmask != 128 => {
                let _ = write!(out, " -M {}", svc.netmask as i32);
            }
            _ => {}
        }
    }
    if let Some(pe) = svc.pe_name.as_deref().filter(|p| !p.is_empty()) {
        let _ = write!(out, " --pe {pe}");
    }
    if svc.flags & svc_flags::ONEPACKET != 0 {
        out.push_str(" -o");
    }
    let sched_bits = svc_flags::SCHED1 | svc_flags::SCHED2 | svc_flags::SCHED3;
    if svc.flags & sched_bits != 0 {
        let _ = write!(out, " -b {}", sched_flag_names(svc));
    }
    out.push('\n');

    let mut dests: Vec<&Destination> = entry.dests.iter().collect();
    merge_sort(&mut dests, &|a, b| cmp_dests(a, b));
    for d in dests {
        let _ = write!(
            out,
            "-a {name} -r {} {} -w {}",
            d.key,
            forward_switch(d.forward),
            d.weight as i32
        );
        if d.forward == Forward::Tunnel {
            render_tunnel(d, out);
        }
        out.push('\n');
    }
}

fn render_tunnel(d: &Destination, out: &mut String) {
    let (tun_type, port, flags) = match d.tunnel {
        Some(t) => (t.tun_type, t.port, t.flags),
        None => (TunnelType::Ipip, 0, 0),
    };
    let csum = match flags {
        0 => "--tun-nocsum",
        1 => "--tun-csum",
        2 => "--tun-remcsum",
        // ipvsadm indexes a three-entry table; the kernel never reports
        // another value.
        _ => "(null)",
    };
    match tun_type {
        TunnelType::Ipip => out.push_str(" --tun-type ipip"),
        TunnelType::Gue => {
            let _ = write!(out, " --tun-type gue --tun-port {port} {csum}");
        }
        TunnelType::Gre => {
            let _ = write!(out, " --tun-type gre {csum}");
        }
    }
}

/// `-t 192.0.2.1:80`, `-u [2001:db8::1]:53`, `--sctp-service ...`,
/// `-f 7`, `-f 7 -6`: the key's own form, except that ipvsadm prints the
/// mark with %d.
fn service_name(key: &ServiceKey) -> String {
    match *key {
        ServiceKey::Addr { .. } => key.to_string(),
        ServiceKey::Fwmark {
            family: Family::Inet,
            mark,
        } => format!("-f {}", mark as i32),
        ServiceKey::Fwmark {
            family: Family::Inet6,
            mark,
        } => format!("-f {} -6", mark as i32),
    }
}

fn forward_switch(f: Forward) -> &'static str {
    match f {
        Forward::Masq => "-m",
        Forward::Tunnel => "-i",
        Forward::Local | Forward::Route => "-g",
        // ipvsadm passes a NULL to printf, which glibc prints so.
        Forward::Bypass => "(null)",
    }
}

fn sched_flag_names(svc: &Service) -> String {
    let has = |bit: u32| svc.flags & bit != 0;
    let names: Vec<&str> = match svc.scheduler.as_str() {
        "sh" | "mh" => {
            let s = &svc.scheduler;
            let mut v = Vec::new();
            if has(svc_flags::SCHED1) {
                v.push(if s == "sh" {
                    "sh-fallback"
                } else {
                    "mh-fallback"
                });
            }
            if has(svc_flags::SCHED2) {
                v.push(if s == "sh" { "sh-port" } else { "mh-port" });
            }
            v
        }
        _ => [
            (svc_flags::SCHED1, "flag-1"),
            (svc_flags::SCHED2, "flag-2"),
            (svc_flags::SCHED3, "flag-3"),
        ]
        .into_iter()
        .filter(|(bit, _)| has(*bit))
        .map(|(_, n)| n)
        .collect(),
    };
    names.join(",")
}

// ===== libipvs ordering =====

/// `nf_inet_addr` as four host-order words (IPv4 in the first).
fn words(addr: &IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let o = a.octets();
            let w = |i: usize| u32::from_be_bytes([o[i], o[i + 1], o[i + 2], o[i + 3]]);
            [w(0), w(4), w(8), w(12)]
        }
    }
}

/// `a - b` as libipvs computes it: unsigned subtraction read as an `int`.
fn c_diff(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

fn cmp_addr(first_is_v6: bool, a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (words(a), words(b));
    if first_is_v6 {
        for i in 0..4 {
            let r = c_diff(wa[i], wb[i]);
            if r != 0 {
                return r;
            }
        }
        0
    } else {
        c_diff(wa[0], wb[0])
    }
}

/// `ipvs_cmp_services`.
fn cmp_services(a: &Service, b: &Service) -> i32 {
    let parts = |s: &Service| match s.key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => (
            0u32,
            Family::of(&addr),
            u32::from(protocol.number()),
            Some(addr),
            port,
        ),
        ServiceKey::Fwmark { family, mark } => (mark, family, 0, None, 0),
    };
    let (fa, afa, pa, aa, porta) = parts(a);
    let (fb, afb, pb, ab, portb) = parts(b);
    let r = c_diff(fa, fb);
    if r != 0 {
        return r;
    }
    let r = i32::from(afa.af()) - i32::from(afb.af());
    if r != 0 {
        return r;
    }
    let r = c_diff(pa, pb);
    if r != 0 {
        return r;
    }
    let zero = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
    let r = cmp_addr(
        afa == Family::Inet6,
        aa.as_ref().unwrap_or(&zero),
        ab.as_ref().unwrap_or(&zero),
    );
    if r != 0 {
        return r;
    }
    i32::from(porta) - i32::from(portb)
}

/// `ipvs_cmp_dests`.
fn cmp_dests(a: &Destination, b: &Destination) -> i32 {
    let r = cmp_addr(a.key.addr.is_ipv6(), &a.key.addr, &b.key.addr);
    if r != 0 {
        return r;
    }
    i32::from(a.key.port) - i32::from(b.key.port)
}

/// glibc's `qsort` for small arrays: a top-down merge sort that splits at
/// `n / 2` and takes from the left run while `cmp(left, right) <= 0`. Done
/// by hand because libipvs' comparators are not a total order, which the
/// standard library's sorts are allowed to reject with a panic.
fn merge_sort<T: Copy>(v: &mut [T], cmp: &dyn Fn(&T, &T) -> i32) {
    let n = v.len();
    if n <= 1 {
        return;
    }
    let mid = n / 2;
    merge_sort(&mut v[..mid], cmp);
    merge_sort(&mut v[mid..], cmp);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, mid);
    while i < mid && j < n {
        if cmp(&v[i], &v[j]) <= 0 {
            merged.push(v[i]);
            i += 1;
        } else {
            merged.push(v[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&v[i..mid]);
    merged.extend_from_slice(&v[j..n]);
    v.copy_from_slice(&merged);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_matches_c_int_subtraction() {
        // 10.0.0.1 - 200.0.0.1 overflows an int to a positive value, so
        // libipvs puts 200.0.0.1 first.
        let a: IpAddr = "10.0.0.1".parse().unwrap_or(IpAddr::V4(0.into()));
        let b: IpAddr = "200.0.0.1".parse().unwrap_or(IpAddr::V4(0.into()));
        assert!(cmp_addr(false, &a, &b) > 0);
        let c: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::V4(0.into()));
        let d: IpAddr = "192.0.2.2".parse().unwrap_or(IpAddr::V4(0.into()));
        assert!(cmp_addr(false, &c, &d) < 0);
    }

    #[test]
    fn names_and_addresses_in_ipvsadm_form() {
        use crate::model::{DestKey, Protocol};
        let v6: IpAddr = "2001:db8::1".parse().unwrap_or(IpAddr::V4(0.into()));
        let v4: IpAddr = "192.0.2.1".parse().unwrap_or(IpAddr::V4(0.into()));
        let udp6 = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: v6,
            port: 53,
        };
        let sctp4 = ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: v4,
            port: 3868,
        };
        assert_eq!(service_name(&udp6), "-u [2001:db8::1]:53");
        assert_eq!(service_name(&sctp4), "--sctp-service 192.0.2.1:3868");
        let big = ServiceKey::Fwmark {
            family: Family::Inet6,
            mark: 0x8000_0001,
        };
        // ipvsadm's %d; our own messages keep the unsigned mark.
        assert_eq!(service_name(&big), "-f -2147483647 -6");
        assert_eq!(big.to_string(), "-f 2147483649 -6");
        assert_eq!(DestKey { addr: v6, port: 0 }.to_string(), "[2001:db8::1]:0");
        assert_eq!(DestKey { addr: v4, port: 80 }.to_string(), "192.0.2.1:80");
    }

    #[test]
    fn merge_sort_is_glibc_order() {
        let mut v = vec![5, 3, 9, 1, 3, 7];
        merge_sort(&mut v, &|a: &i32, b: &i32| a - b);
        assert_eq!(v, vec![1, 3, 3, 5, 7, 9]);
    }
}
