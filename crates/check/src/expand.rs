// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Which kernel services a `virtual_server` stands for, with which
//! settings, and which port each real server gets in each of them.
//!
//! keepalived 2.2.7 (keepalived/check/ipvswrapper.c `ipvs_set_srule`,
//! `ipvs_group_cmd`, `ipvs_group_range_cmd`; check_data.c
//! `alloc_vsg_entry`, `validate_check_config`; check_parser.c
//! `vs_end_handler`):
//! * an address virtual server is one service {protocol, address, port};
//!   a fwmark one is {family, mark};
//! * a group is one service per address of each range entry (all address
//!   entries first, in order, then the fwmark entries), each with the
//!   entry's own port and family and the virtual server's protocol; a
//!   fwmark entry takes its own family, else the virtual server's, else
//!   IPv4;
//! * an IPv4 range runs from start to end; an IPv6 range only steps the
//!   last 16-bit group (the other groups are the start's);
//! * the service flags are the virtual server's (`ops` -> ONEPACKET,
//!   `flag-N` -> SCHEDN, `sh-fallback`/`mh-fallback` -> SCHED1,
//!   `sh-port`/`mh-port` -> SCHED2), plus PERSISTENT with a persistence
//!   timeout; the netmask (IPv4 mask / IPv6 prefix) and the persistence
//!   engine are sent only with persistence; for group services keepalived
//!   resets the netmask to the family default after setting it, so a
//!   group's `persistence_granularity` never reaches the kernel;
//! * a real server's port: NAT keeps its own (an address virtual server
//!   fills in its port when the real server has none, a fwmark or group
//!   one leaves 0); DR and TUN take the service's port (0 for fwmark).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use keepalived_config::model::Config;
use keepalived_config::model::lvs::{
    IpFamily, LvsMethod, Protocol as CfgProtocol, RealServer, SorryServer, VirtualServer,
    VirtualServerKey, VsgEntry,
};
use keepalived_ipvs::model::{Family, Protocol, Service, ServiceKey, svc_flags};

/// Where a service came from, which decides real server ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `virtual_server IP PORT`.
    Addr,
    /// `virtual_server fwmark N` or a fwmark entry of a group.
    Fwmark,
    /// An address entry of a group.
    GroupAddr,
}

/// One kernel service of a virtual server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expanded {
    pub service: Service,
    pub origin: Origin,
}

fn family(f: IpFamily) -> Family {
    match f {
        IpFamily::Inet => Family::Inet,
        IpFamily::Inet6 => Family::Inet6,
    }
}

fn is_tun(method: LvsMethod) -> bool {
    method == LvsMethod::Tun
}

/// The virtual server's address family as keepalived works it out while
/// reading the block: its address, `ip_family`, the granularity's form,
/// the first real server that is not tunnelled, a sorry server that is
/// not tunnelled; then, outside groups, from tunnelled servers if they
/// agree, else IPv4. None only for a group whose servers are all
/// tunnelled (its fwmark entries then default to IPv4).
pub fn vs_family(vs: &VirtualServer, in_group_context: bool) -> Option<Family> {
    if let VirtualServerKey::Addr { ip, .. } = vs.key {
        return Some(Family::of(&ip));
    }
    if let Some(f) = vs.ip_family {
        return Some(family(f));
    }
    if let Some(g) = &vs.persistence_granularity {
        return Some(if g.contains('.') {
            Family::Inet
        } else {
            Family::Inet6
        });
    }
    let vs_method = vs.effective_lvs_method().method;
    if let Some(rs) = vs
        .real_servers
        .iter()
        .find(|rs| !is_tun(rs.lvs_method.map_or(vs_method, |f| f.method)))
    {
        return Some(Family::of(&rs.ip));
    }
    let sorry_ip = vs.sorry_server.as_ref().and_then(|s| s.ip);
    if let (Some(s), Some(ip)) = (&vs.sorry_server, sorry_ip)
        && !is_tun(s.lvs_method.map_or(vs_method, |f| f.method))
    {
        return Some(Family::of(&ip));
    }
    let is_group = matches!(vs.key, VirtualServerKey::Group(_));
    if is_group || in_group_context {
        return None;
    }
    let mut fam = sorry_ip.map(|ip| Family::of(&ip));
    for rs in &vs.real_servers {
        match fam {
            None => fam = Some(Family::of(&rs.ip)),
            Some(f) if f != Family::of(&rs.ip) => return Some(Family::Inet),
            Some(_) => {}
        }
    }
    Some(fam.unwrap_or(Family::Inet))
}

/// The settings every service of `vs` shares; `key` and the netmask
/// default are filled in per service.
fn settings(vs: &VirtualServer, key: ServiceKey) -> Service {
    let mut flags = 0;
    let set = |flags: &mut u32, on: bool, bit: u32| {
        if on {
            *flags |= bit;
        }
    };
    set(&mut flags, vs.ops, svc_flags::ONEPACKET);
    set(&mut flags, vs.flag_1, svc_flags::SCHED1);
    set(&mut flags, vs.flag_2, svc_flags::SCHED2);
    set(&mut flags, vs.flag_3, svc_flags::SCHED3);
    set(
        &mut flags,
        vs.sh_fallback || vs.mh_fallback,
        svc_flags::SCHED1,
    );
    set(&mut flags, vs.sh_port || vs.mh_port, svc_flags::SCHED2);
    let fam = key.family();
    let default_mask = match fam {
        Family::Inet => u32::MAX,
        Family::Inet6 => 128,
    };
    let timeout = vs.persistence_timeout.unwrap_or(0);
    let mut netmask = default_mask;
    let mut pe_name = None;
    if timeout > 0 {
        flags |= svc_flags::PERSISTENT;
        let from_group = matches!(vs.key, VirtualServerKey::Group(_));
        if !from_group && let Some(g) = &vs.persistence_granularity {
            netmask = granularity(g, fam).unwrap_or(default_mask);
        }
        pe_name = vs.persistence_engine.clone().filter(|p| !p.is_empty());
    }
    Service {
        key,
        scheduler: vs.effective_lvs_sched().name().to_string(),
        flags,
        timeout,
        netmask,
        pe_name,
    }
}

/// `persistence_granularity` as the kernel takes it: an IPv4 mask as a
/// host-order number, an IPv6 prefix length.
pub fn granularity(text: &str, fam: Family) -> Option<u32> {
    match fam {
        Family::Inet => text.parse::<Ipv4Addr>().ok().map(u32::from),
        Family::Inet6 => text.parse::<u32>().ok().filter(|p| (1..=128).contains(p)),
    }
}

/// Every kernel service `vs` stands for, in the order keepalived creates
/// them. A group the configuration lacks gives none (keepalived silently
/// creates nothing).
pub fn services(config: &Config, vs: &VirtualServer) -> Vec<Expanded> {
    let protocol = vs.effective_protocol().map(protocol_of);
    match &vs.key {
        VirtualServerKey::Addr { ip, port } => {
            let key = ServiceKey::Addr {
                protocol: protocol.unwrap_or(keepalived_ipvs::model::Protocol::Udp),
                addr: *ip,
                port: *port,
            };
            vec![Expanded {
                service: settings(vs, key),
                origin: Origin::Addr,
            }]
        }
        VirtualServerKey::Fwmark(mark) => {
            let key = ServiceKey::Fwmark {
                family: vs_family(vs, false).unwrap_or(Family::Inet),
                mark: *mark,
            };
            vec![Expanded {
                service: settings(vs, key),
                origin: Origin::Fwmark,
            }]
        }
        VirtualServerKey::Group(name) => {
            let Some(group) = config
                .virtual_server_groups
                .iter()
                .find(|g| &g.name == name)
            else {
                return Vec::new();
            };
            let mut out = Vec::new();
            if let Some(protocol) = protocol {
                for e in &group.entries {
                    if let VsgEntry::Range { start, end, port } = e {
                        for addr in range_addrs(*start, *end) {
                            let key = ServiceKey::Addr {
                                protocol,
                                addr,
                                port: *port,
                            };
                            out.push(Expanded {
                                service: settings(vs, key),
                                origin: Origin::GroupAddr,
                            });
                        }
                    }
                }
            }
            for e in &group.entries {
                if let VsgEntry::Fwmark { fwmark, family: f } = e {
                    let fam = f
                        .map(family)
                        .or_else(|| vs_family(vs, true))
                        .unwrap_or(Family::Inet);
                    let key = ServiceKey::Fwmark {
                        family: fam,
                        mark: *fwmark,
                    };
                    out.push(Expanded {
                        service: settings(vs, key),
                        origin: Origin::Fwmark,
                    });
                }
            }
            out
        }
    }
}

/// The addresses of a group range entry, as keepalived walks them.
/// Deviation: keepalived steps an IPv4 address by adding to its last
/// octet in network order, which wraps inside the /24 and never ends for
/// a range that crosses one; we count through the whole range instead.
pub fn range_addrs(start: IpAddr, end: IpAddr) -> Vec<IpAddr> {
    match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            let (s, e) = (u32::from(s), u32::from(e));
            if e < s {
                return vec![IpAddr::V4(Ipv4Addr::from(s))];
            }
            (s..=e).map(|a| IpAddr::V4(Ipv4Addr::from(a))).collect()
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => {
            let seg = s.segments();
            let (first, last) = (seg[7], e.segments()[7]);
            if last < first {
                return vec![IpAddr::V6(s)];
            }
            (first..=last)
                .map(|g| {
                    let mut x = seg;
                    x[7] = g;
                    IpAddr::V6(Ipv6Addr::from(x))
                })
                .collect()
        }
        _ => vec![start],
    }
}

/// The port a real (or sorry) server has in a service of `origin` whose
/// port is `service_port`. `own` is the port written with the server (0 =
/// none).
pub fn dest_port(method: LvsMethod, own: u16, origin: Origin, service_port: u16) -> u16 {
    match (method, origin) {
        (LvsMethod::Nat, Origin::Addr) if own == 0 => service_port,
        (LvsMethod::Nat, _) => own,
        (_, Origin::Fwmark) => 0,
        (_, _) => service_port,
    }
}

pub fn rs_port(rs: &RealServer) -> u16 {
    rs.port.unwrap_or(0)
}

pub fn sorry_port(s: &SorryServer) -> u16 {
    s.port.unwrap_or(0)
}

/// The kernel's protocol for the configuration's.
pub fn protocol_of(p: CfgProtocol) -> Protocol {
    match p {
        CfgProtocol::Tcp => Protocol::Tcp,
        CfgProtocol::Udp => Protocol::Udp,
        CfgProtocol::Sctp => Protocol::Sctp,
    }
}
