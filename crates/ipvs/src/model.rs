// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The IPVS objects as the kernel knows them, in host types.
//!
//! These are the common language of the codec (which turns them into
//! netlink attributes and back), the planner (which diffs desired against
//! dumped) and the checker child (which builds the desired ones from the
//! configuration). Byte order is the codec's business: here a port is a
//! plain `u16` and a netmask a plain `u32` as the user wrote them.

use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

/// Address family, as the kernel's `AF_*` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Self {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The kernel's `AF_INET` / `AF_INET6`.
    pub fn af(self) -> u16 {
        match self {
            Family::Inet => 2,
            Family::Inet6 => 10,
        }
    }

    pub fn from_af(af: u16) -> Option<Self> {
        match af {
            2 => Some(Family::Inet),
            10 => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// IP protocol of an address-keyed service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    pub fn number(self) -> u16 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    pub fn from_number(n: u16) -> Option<Self> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }
}

/// What identifies a virtual service to the kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ServiceKey {
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// A firewall-mark service; the family still matters (a v4 and a v6
    /// service may share a mark).
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }
}

impl std::fmt::Display for ServiceKey {
    /// The form `ipvsadm -Sn` uses: `-t 192.0.2.1:80`, `-f 1`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServiceKey::Addr {
                protocol,
                addr,
                port,
            } => {
                let flag = match protocol {
                    Protocol::Tcp => "-t",
                    Protocol::Udp => "-u",
                    Protocol::Sctp => "--sctp-service",
                };
                write!(f, "{flag} {}", SocketAddr::new(*addr, *port))
            }
            ServiceKey::Fwmark { family, mark } => match family {
                Family::Inet => write!(f, "-f {mark}"),
                Family::Inet6 => write!(f, "-f {mark} -6"),
            },
        }
    }
}

/// `IP_VS_SVC_F_*` bits we set (HASHED is the kernel's own and ignored).
pub mod svc_flags {
    pub const PERSISTENT: u32 = 0x0001;
    pub const HASHED: u32 = 0x0002;
    pub const ONEPACKET: u32 = 0x0004;
    pub const SCHED1: u32 = 0x0008;
    pub const SCHED2: u32 = 0x0010;
    pub const SCHED3: u32 = 0x0020;
}

/// A virtual service and its settings (not its destinations).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Service {
    pub key: ServiceKey,
    /// Scheduler name as the kernel knows it (`rr`, `wlc`, `mh` ...).
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` without HASHED.
    pub flags: u32,
    /// Persistence timeout in seconds; 0 = not persistent.
    pub timeout: u32,
    /// IPv4: the mask as a host-order u32 (0xffffffff by default);
    /// IPv6: the prefix length (128 by default).
    pub netmask: u32,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
}

/// How a destination is reached: `IP_VS_CONN_F_*` & FWD_MASK.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Forward {
    /// MASQ (keepalived `NAT`).
    Masq,
    Local,
    Tunnel,
    /// DROUTE (keepalived `DR`).
    Route,
    Bypass,
}

impl Forward {
    pub fn bits(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel => 2,
            Forward::Route => 3,
            Forward::Bypass => 4,
        }
    }

    pub fn from_bits(bits: u32) -> Option<Self> {
        match bits & 0x7 {
            0 => Some(Forward::Masq),
            1 => Some(Forward::Local),
            2 => Some(Forward::Tunnel),
            3 => Some(Forward::Route),
            4 => Some(Forward::Bypass),
            _ => None,
        }
    }
}

/// Tunnel encapsulation of a TUN destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

/// The settings of a TUN destination beyond plain IPIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Tunnel {
    pub tun_type: TunnelType,
    /// GUE only.
    pub port: u16,
    /// `IP_VS_TUNNEL_ENCAP_FLAG_*`: 0 nocsum, 1 csum, 2 remcsum.
    pub flags: u16,
}

/// What identifies a destination within its service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl std::fmt::Display for DestKey {
    /// `192.0.2.10:80`, `[2001:db8::10]:80`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        SocketAddr::new(self.addr, self.port).fmt(f)
    }
}

/// A real server of one service.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Destination {
    pub key: DestKey,
    pub forward: Forward,
    pub weight: u32,
    pub u_threshold: u32,
    pub l_threshold: u32,
    /// None = IPIP or not a tunnel.
    pub tunnel: Option<Tunnel>,
}

/// Live counters the kernel reports with a destination (never planned).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestCounters {
    pub active_conns: u32,
    pub inact_conns: u32,
    pub persist_conns: u32,
}

/// Connection-sync daemon state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SyncState {
    Master,
    Backup,
}

/// A sync daemon (`lvs_sync_daemon`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SyncDaemon {
    pub state: SyncState,
    pub interface: String,
    pub sync_id: u32,
    pub max_len: Option<u16>,
    pub group: Option<IpAddr>,
    pub port: Option<u16>,
    pub ttl: Option<u8>,
}

/// `ipvsadm --set tcp tcpfin udp`, seconds; 0 = leave unchanged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// `GET_INFO`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// e.g. 0x010201 for 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

/// A whole table: what the kernel holds, or what we want it to hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub services: Vec<ServiceEntry>,
}

/// A service with its destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceEntry {
    pub service: Service,
    pub dests: Vec<Destination>,
}

/// One change to the kernel's table: what the planner emits and the
/// netlink client carries out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    AddService(Service),
    /// Changes the settings of an existing service (same key).
    SetService(Service),
    DelService(ServiceKey),
    AddDest(ServiceKey, Destination),
    /// Changes an existing destination (same key).
    SetDest(ServiceKey, Destination),
    DelDest(ServiceKey, DestKey),
    /// Removes every service and destination (`lvs_flush`).
    Flush,
    SetTimeouts(Timeouts),
    StartDaemon(SyncDaemon),
    StopDaemon(SyncState),
}

/// Traffic counters the kernel keeps per service and per destination
/// (`IPVS_STATS_ATTR_*`, 64-bit flavour). Live data, never planned.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    pub conns: u64,
    pub in_pkts: u64,
    pub out_pkts: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Rates, per second, as the kernel's estimator computes them.
    pub cps: u64,
    pub in_pps: u64,
    pub out_pps: u64,
    pub in_bps: u64,
    pub out_bps: u64,
}

/// A destination as dumped, with its live counters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DestStatus {
    pub dest: Destination,
    pub counters: DestCounters,
    pub stats: Stats,
}

/// A service as dumped, with its live counters and destinations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStatus {
    pub service: Service,
    pub stats: Stats,
    pub dests: Vec<DestStatus>,
}
