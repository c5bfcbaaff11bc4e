// SPDX-License-Identifier: Apache-2.0 OR MIT
//! VMAC (`use_vmac`, `vmac_xmit_base`): what keepalived 2.2.7 decides
//! about an instance's macvlan, as data the shell carries out.
//!
//! keepalived's rules (`vrrp_vmac.c`, `vrrp_if_config.c`):
//! * the macvlan sits on the instance's interface, in mode private, with
//!   the MAC 00:00:5e:00:01:VRID (IPv4) or 00:00:5e:00:02:VRID (IPv6)
//!   unless `use_vmac` names one, and is called `<vmac_prefix>.<VRID>`
//!   (prefix `vrrp`) unless `use_vmac` names it;
//! * the VIPs of the instance's family without a `dev` (or whose `dev` is
//!   the instance's interface) go on the macvlan; the others stay where
//!   they would be without VMAC;
//! * adverts leave from and arrive on the macvlan, unless
//!   `vmac_xmit_base`: then on the interface itself (the IPv4 source is
//!   the interface's address either way);
//! * IPv4: on the macvlan arp_ignore=1, accept_local=1, rp_filter=0,
//!   promote_secondaries=1 and IPv6 off; on the interface arp_ignore=1
//!   and arp_filter=1 while a macvlan uses it; all.rp_filter lowered to 0
//!   (after raising default and every interface to its old value) so the
//!   macvlan's 0 counts; the originals are put back on exit;
//! * IPv6: no automatic link-local address on the macvlan (addr_gen_mode
//!   none); it gets the instance's source address, else the interface's
//!   link-local, else one derived from the interface's MAC, unless
//!   `vmac_xmit_base`.
//!
//! Where we differ on purpose: a sysctl is put back only if it still
//! holds the value we wrote (keepalived does so for rp_filter only and
//! puts arp_ignore/arp_filter back whatever changed them since).

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv6Addr};

use keepalived_config::model::global::GlobalDefs;
use keepalived_config::model::vrrp::VrrpInstance;
use serde::{Deserialize, Serialize};

use crate::packet::Family;

/// The kernel's limit on an interface name (IFNAMSIZ - 1).
const IFNAME_MAX: usize = 15;

/// One instance's macvlan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VmacSpec {
    pub name: String,
    pub mac: [u8; 6],
    /// The instance's interface, the macvlan's lower link.
    pub base: String,
    pub family: Family,
    /// Adverts use the base interface, not the macvlan.
    pub xmit_base: bool,
}

impl VmacSpec {
    /// The macvlan of `i`, if it uses one (`use_vmac`).
    pub fn of(i: &VrrpInstance, g: &GlobalDefs, vrid: u8, family: Family) -> Option<Self> {
        let v = i.use_vmac.as_ref()?;
        let base = i.interface.clone()?;
        let prefix = g.vmac_prefix.as_deref().unwrap_or("vrrp");
        Some(Self {
            name: v.name.clone().unwrap_or_else(|| default_name(prefix, vrid)),
            mac: v
                .mac
                .as_deref()
                .and_then(parse_mac)
                .unwrap_or_else(|| virtual_mac(family, vrid)),
            base,
            family,
            xmit_base: i.vmac_xmit_base,
        })
    }

    /// The sysctls to write on the macvlan before it goes up.
    pub fn own_sysctls(&self) -> Vec<Sysctl> {
        let conf4 = |key: &str, value| Sysctl::new("ipv4", &self.name, key, value);
        let conf6 = |key: &str, value| Sysctl::new("ipv6", &self.name, key, value);
        match self.family {
            Family::Ipv4 => vec![
                conf4("arp_ignore", 1),
                conf4("accept_local", 1),
                conf4("rp_filter", 0),
                conf4("promote_secondaries", 1),
                conf6("disable_ipv6", 1),
            ],
            // 1 = IN6_ADDR_GEN_MODE_NONE (RFC 5798 §7.4: no address
            // derived from the virtual MAC).
            Family::Ipv6 => vec![conf6("addr_gen_mode", 1)],
        }
    }

    /// The sysctls the base interface needs while a macvlan uses it, so
    /// it does not answer ARP for the VIPs with its own MAC.
    pub fn base_sysctls(&self) -> Vec<Sysctl> {
        match self.family {
            Family::Ipv4 => vec![
                Sysctl::new("ipv4", &self.base, "arp_ignore", 1),
                Sysctl::new("ipv4", &self.base, "arp_filter", 1),
            ],
            Family::Ipv6 => Vec::new(),
        }
    }

    /// Whether the macvlan needs all.rp_filter at 0 (IPv4 only).
    pub fn needs_rp_filter_cleared(&self) -> bool {
        self.family == Family::Ipv4
    }
}

/// The macvlans keepalived makes for addresses that do not go on the
/// instance's own VMAC (`use_vmac_addr`, or `use_vmac` on the address):
/// one per (link, family), on the address's `dev` (the instance's
/// interface when it names none), with the family's virtual MAC (or the
/// configured one), named `<vmac_addr_prefix>.<vrid>` (else
/// `vmac_prefix`, else `vrrp`), the next free variant when that is taken
/// (see [`free_name`]). Returns each macvlan with the addresses it
/// carries.
pub fn addr_vmacs(
    i: &VrrpInstance,
    g: &GlobalDefs,
    vrid: u8,
    family: Family,
    own: Option<&VmacSpec>,
) -> Vec<(VmacSpec, Vec<IpAddr>)> {
    let Some(iface) = i.interface.as_deref() else {
        return Vec::new();
    };
    let prefix = g
        .vmac_addr_prefix
        .as_deref()
        .or(g.vmac_prefix.as_deref())
        .unwrap_or("vrrp");
    let mac = i
        .use_vmac
        .as_ref()
        .and_then(|v| v.mac.as_deref())
        .and_then(parse_mac);
    let mut taken: Vec<String> = own.map(|v| v.name.clone()).into_iter().collect();
    let mut out: Vec<(VmacSpec, Vec<IpAddr>)> = Vec::new();
    for a in i
        .virtual_ipaddress
        .iter()
        .chain(&i.virtual_ipaddress_excluded)
    {
        let fam = Family::of(a.address);
        let on_own_link = a.dev.as_deref().is_none_or(|d| d == iface);
        let needs = if on_own_link {
            // On the instance's own VMAC already, or on its interface.
            !(own.is_some() && fam == family) && (a.use_vmac || (i.use_vmac_addr && fam != family))
        } else {
            a.use_vmac || i.use_vmac_addr
        };
        if !needs {
            continue;
        }
        let base = a.dev.clone().unwrap_or_else(|| iface.to_owned());
        if let Some((_, addrs)) = out
            .iter_mut()
            .find(|(v, _)| v.base == base && v.family == fam)
        {
            addrs.push(a.address);
            continue;
        }
        let name = free_name(prefix, vrid, fam, &taken);
        taken.push(name.clone());
        out.push((
            VmacSpec {
                name,
                mac: mac.unwrap_or_else(|| virtual_mac(fam, vrid)),
                base,
                family: fam,
                xmit_base: false,
            },
            vec![a.address],
        ));
    }
    out
}

/// keepalived's `create_vmac_name`: `<prefix>.<vrid>`, else
/// `<prefix><n>.<vrid>` with n = 1, 2, ... (IPv6 tries 6 first, then 1,
/// 2, ... without 6), the first not in `taken`.
pub fn free_name(prefix: &str, vrid: u8, family: Family, taken: &[String]) -> String {
    let first = default_name(prefix, vrid);
    if !taken.contains(&first) {
        return first;
    }
    let numbers: Box<dyn Iterator<Item = u32>> = match family {
        Family::Ipv4 => Box::new(1..),
        Family::Ipv6 => Box::new(std::iter::once(6).chain((1..).filter(|n| *n != 6))),
    };
    numbers
        .map(|n| default_name(&format!("{prefix}{n}"), vrid))
        .find(|name| !taken.contains(name))
        .unwrap_or(first)
}

/// `<prefix>.<vrid>`, the prefix cut so that the name fits IFNAMSIZ.
pub fn default_name(prefix: &str, vrid: u8) -> String {
    let suffix = format!(".{vrid}");
    let keep = IFNAME_MAX.saturating_sub(suffix.len());
    let cut: String = prefix.chars().take(keep).collect();
    format!("{cut}{suffix}")
}

/// RFC 5798 §7.3: 00-00-5E-00-01-{VRID} (IPv4), 00-00-5E-00-02-{VRID}.
pub fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let kind = match family {
        Family::Ipv4 => 0x01,
        Family::Ipv6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, kind, vrid]
}

/// `aa:bb:cc:dd:ee:ff` (the parser already checked the form).
pub fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// The link-local address keepalived derives from a MAC (EUI-64).
pub fn link_local_from_mac(mac: [u8; 6]) -> Ipv6Addr {
    let [a, b, c, d, e, f] = mac;
    Ipv6Addr::from([
        0xfe,
        0x80,
        0,
        0,
        0,
        0,
        0,
        0,
        a ^ 0x02,
        b,
        c,
        0xff,
        0xfe,
        d,
        e,
        f,
    ])
}

/// One value under /proc/sys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Sysctl {
    /// Relative to /proc/sys, e.g. `net/ipv4/conf/eth0/arp_ignore`.
    pub path: String,
    pub value: u32,
}

impl Sysctl {
    fn new(proto: &str, ifname: &str, key: &str, value: u32) -> Self {
        Self {
            path: format!("net/{proto}/conf/{ifname}/{key}"),
            value,
        }
    }

    pub fn conf(proto: &str, ifname: &str, key: &str, value: u32) -> Self {
        Self::new(proto, ifname, key, value)
    }
}

/// keepalived's way to make a macvlan's rp_filter=0 effective (the
/// kernel uses the larger of `all` and the interface's value): raise
/// `default` and every interface below `all` to `all`, then set `all`
/// to 0, so no interface filters less than before. `interfaces` are the
/// current per-interface values; nothing to do when `all` is 0.
pub fn clear_rp_filter(all: u32, default: u32, interfaces: &[(String, u32)]) -> Vec<Sysctl> {
    if all == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if default < all {
        out.push(Sysctl::new("ipv4", "default", "rp_filter", all));
    }
    for (name, value) in interfaces {
        if *value < all {
            out.push(Sysctl::new("ipv4", name, "rp_filter", all));
        }
    }
    out.push(Sysctl::new("ipv4", "all", "rp_filter", 0));
    out
}

/// What we changed, by whom, and the value before: so that each value
/// goes back when its last user is gone, and only if nobody changed it
/// since.
#[derive(Debug, Default, Clone)]
pub struct Ledger {
    saved: BTreeMap<String, Saved>,
}

#[derive(Debug, Clone)]
struct Saved {
    original: u32,
    ours: u32,
    users: BTreeSet<String>,
}

/// A value to put back: write `original` if the current value is `ours`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restore {
    pub path: String,
    pub original: u32,
    pub ours: u32,
}

impl Ledger {
    /// `user` wants `want` at `path`, which holds `current`: the value to
    /// write, if any. The first change of a path remembers the original.
    pub fn set(&mut self, user: &str, path: &str, current: u32, want: u32) -> Option<u32> {
        if let Some(s) = self.saved.get_mut(path) {
            s.users.insert(user.to_owned());
            s.ours = want;
            return (current != want).then_some(want);
        }
        if current == want {
            return None;
        }
        self.saved.insert(
            path.to_owned(),
            Saved {
                original: current,
                ours: want,
                users: BTreeSet::from([user.to_owned()]),
            },
        );
        Some(want)
    }

    /// `user` is gone: the values it was the last user of.
    pub fn release(&mut self, user: &str) -> Vec<Restore> {
        let mut out = Vec::new();
        self.saved.retain(|path, s| {
            s.users.remove(user);
            if !s.users.is_empty() {
                return true;
            }
            out.push(Restore {
                path: path.clone(),
                original: s.original,
                ours: s.ours,
            });
            false
        });
        out
    }

    /// Every value still changed (at exit).
    pub fn release_all(&mut self) -> Vec<Restore> {
        std::mem::take(&mut self.saved)
            .into_iter()
            .map(|(path, s)| Restore {
                path,
                original: s.original,
                ours: s.ours,
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.saved.is_empty()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use keepalived_config::model::vrrp::Vmac;

    use super::*;

    fn instance(vmac: Option<Vmac>, xmit_base: bool) -> VrrpInstance {
        let mut i: VrrpInstance = serde_json::from_value(serde_json::json!({
            "name": "VI_1",
            "interface": "eth0",
            "virtual_router_id": 51,
        }))
        .unwrap();
        i.use_vmac = vmac;
        i.vmac_xmit_base = xmit_base;
        i
    }

    #[test]
    fn default_vmac_is_vrrp_dot_vrid_with_the_rfc_mac() {
        let i = instance(Some(Vmac::default()), false);
        let g = GlobalDefs::default();
        let v4 = VmacSpec::of(&i, &g, 51, Family::Ipv4).unwrap();
        assert_eq!(v4.name, "vrrp.51");
        assert_eq!(v4.mac, [0, 0, 0x5e, 0, 1, 51]);
        assert_eq!(v4.base, "eth0");
        assert!(!v4.xmit_base);
        let v6 = VmacSpec::of(&i, &g, 51, Family::Ipv6).unwrap();
        assert_eq!(v6.mac, [0, 0, 0x5e, 0, 2, 51]);
        assert!(VmacSpec::of(&instance(None, false), &g, 51, Family::Ipv4).is_none());
    }

    #[test]
    fn configured_name_mac_prefix_and_xmit_base_are_used() {
        let i = instance(
            Some(Vmac {
                name: Some("vip51".into()),
                mac: Some("02:00:00:00:00:33".into()),
            }),
            true,
        );
        let v = VmacSpec::of(&i, &GlobalDefs::default(), 51, Family::Ipv4).unwrap();
        assert_eq!((v.name.as_str(), v.mac), ("vip51", [2, 0, 0, 0, 0, 0x33]));
        assert!(v.xmit_base);
        let g = GlobalDefs {
            vmac_prefix: Some("averyveryverylongprefix".into()),
            ..GlobalDefs::default()
        };
        let v = VmacSpec::of(
            &instance(Some(Vmac::default()), false),
            &g,
            200,
            Family::Ipv4,
        );
        let name = v.unwrap().name;
        assert_eq!(name, "averyveryve.200");
        assert_eq!(name.len(), IFNAME_MAX);
    }

    #[test]
    fn ipv4_sysctls_follow_keepalived_and_ipv6_only_stops_the_link_local() {
        let i = instance(Some(Vmac::default()), false);
        let v = VmacSpec::of(&i, &GlobalDefs::default(), 7, Family::Ipv4).unwrap();
        let own: Vec<(String, u32)> = v
            .own_sysctls()
            .into_iter()
            .map(|s| (s.path, s.value))
            .collect();
        assert!(own.contains(&("net/ipv4/conf/vrrp.7/arp_ignore".into(), 1)));
        assert!(own.contains(&("net/ipv4/conf/vrrp.7/accept_local".into(), 1)));
        assert!(own.contains(&("net/ipv4/conf/vrrp.7/rp_filter".into(), 0)));
        assert!(own.contains(&("net/ipv6/conf/vrrp.7/disable_ipv6".into(), 1)));
        let base: Vec<String> = v.base_sysctls().into_iter().map(|s| s.path).collect();
        assert_eq!(
            base,
            [
                "net/ipv4/conf/eth0/arp_ignore",
                "net/ipv4/conf/eth0/arp_filter"
            ]
        );
        let v6 = VmacSpec::of(&i, &GlobalDefs::default(), 7, Family::Ipv6).unwrap();
        assert_eq!(
            v6.own_sysctls(),
            [Sysctl::conf("ipv6", "vrrp.7", "addr_gen_mode", 1)]
        );
        assert!(v6.base_sysctls().is_empty());
    }

    #[test]
    fn rp_filter_is_cleared_without_loosening_any_interface() {
        assert!(clear_rp_filter(0, 0, &[("eth0".into(), 1)]).is_empty());
        let plan = clear_rp_filter(2, 1, &[("eth0".into(), 0), ("eth1".into(), 2)]);
        assert_eq!(
            plan,
            [
                Sysctl::conf("ipv4", "default", "rp_filter", 2),
                Sysctl::conf("ipv4", "eth0", "rp_filter", 2),
                Sysctl::conf("ipv4", "all", "rp_filter", 0),
            ]
        );
    }

    #[test]
    fn ledger_restores_after_the_last_user_and_only_what_it_changed() {
        let mut l = Ledger::default();
        let p = "net/ipv4/conf/eth0/arp_ignore";
        assert_eq!(l.set("vrrp.1", p, 0, 1), Some(1));
        assert_eq!(l.set("vrrp.2", p, 1, 1), None, "already ours");
        assert_eq!(l.set("vrrp.1", "net/x", 1, 1), None, "already right");
        assert!(l.release("vrrp.1").is_empty(), "vrrp.2 still uses it");
        assert_eq!(
            l.release("vrrp.2"),
            [Restore {
                path: p.into(),
                original: 0,
                ours: 1
            }]
        );
        assert!(l.is_empty());
        l.set("a", p, 2, 1);
        assert_eq!(l.release_all().len(), 1);
        assert!(l.release_all().is_empty());
    }

    #[test]
    fn addr_vmacs_for_other_links_and_the_other_family() {
        let mut i: VrrpInstance = serde_json::from_value(serde_json::json!({
            "name": "VI_1",
            "interface": "eth0",
            "virtual_router_id": 51,
            "use_vmac_addr": true,
            "virtual_ipaddress": [
                {"address": "192.0.2.100", "prefix_len": 32},
                {"address": "198.51.100.100", "prefix_len": 24, "dev": "eth1"},
                {"address": "198.51.100.101", "prefix_len": 24, "dev": "eth1"},
            ],
            "virtual_ipaddress_excluded": [
                {"address": "2001:db8::1", "prefix_len": 64},
            ],
        }))
        .unwrap();
        let g = GlobalDefs::default();
        let got = addr_vmacs(&i, &g, 51, Family::Ipv4, None);
        let short: Vec<(&str, &str, [u8; 6], usize)> = got
            .iter()
            .map(|(v, a)| (v.name.as_str(), v.base.as_str(), v.mac, a.len()))
            .collect();
        assert_eq!(
            short,
            [
                ("vrrp.51", "eth1", [0, 0, 0x5e, 0, 1, 51], 2),
                ("vrrp6.51", "eth0", [0, 0, 0x5e, 0, 2, 51], 1),
            ]
        );
        // With the instance's own VMAC its name is taken; same-family
        // addresses on its link go on it, not on an address VMAC.
        i.use_vmac = Some(Vmac::default());
        let own = VmacSpec::of(&i, &g, 51, Family::Ipv4).unwrap();
        let names: Vec<String> = addr_vmacs(&i, &g, 51, Family::Ipv4, Some(&own))
            .into_iter()
            .map(|(v, _)| v.name)
            .collect();
        assert_eq!(names, ["vrrp1.51", "vrrp6.51"]);
        i.use_vmac_addr = false;
        assert!(addr_vmacs(&i, &g, 51, Family::Ipv4, Some(&own)).is_empty());
    }

    #[test]
    fn free_names_follow_keepalived_s_order() {
        let taken = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(free_name("vrrp", 7, Family::Ipv4, &[]), "vrrp.7");
        assert_eq!(
            free_name("vrrp", 7, Family::Ipv4, &taken(&["vrrp.7", "vrrp1.7"])),
            "vrrp2.7"
        );
        assert_eq!(
            free_name("vrrp", 7, Family::Ipv6, &taken(&["vrrp.7"])),
            "vrrp6.7"
        );
        assert_eq!(
            free_name(
                "vrrp",
                7,
                Family::Ipv6,
                &taken(&["vrrp.7", "vrrp6.7", "vrrp1.7"])
            ),
            "vrrp2.7"
        );
    }

    #[test]
    fn macs_parse_and_give_keepalived_s_link_local() {
        assert_eq!(
            parse_mac("02:6b:69:00:00:01"),
            Some([2, 0x6b, 0x69, 0, 0, 1])
        );
        assert_eq!(parse_mac("02:6b:69:00:00"), None);
        assert_eq!(parse_mac("02:6b:69:00:00:01:02"), None);
        assert_eq!(
            link_local_from_mac([2, 0x6b, 0x69, 0, 0, 1]),
            "fe80::6b:69ff:fe00:1".parse::<Ipv6Addr>().unwrap()
        );
    }
}
