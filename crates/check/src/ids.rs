// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Stable names for virtual and real servers, the same across reloads as
//! keepalived's own identity rules (`vs_iseq`, `rs_iseq` in
//! keepalived/check/ipwrapper.c): what the health checks report on and
//! what quorum state is kept under.

use std::collections::HashMap;
use std::net::IpAddr;

use keepalived_config::model::Config;
use keepalived_config::model::lvs::{LvsMethod, RealServer, VirtualServer, VirtualServerKey};
use keepalived_ipvs::model::{Family, Protocol};

pub use crate::expand::protocol_of;
use crate::expand::{Origin, dest_port};

/// A `virtual_server` block.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VirtualServerId {
    /// `virtual_server IP PORT` with its protocol.
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// `virtual_server fwmark N`; None when no family could be worked out
    /// (keepalived then uses IPv4).
    Fwmark { family: Option<Family>, mark: u32 },
    /// `virtual_server group NAME`, the `ordinal`-th (from 0) of the
    /// blocks using that group: keepalived tells two blocks on one group
    /// apart by that ordinal, whatever their protocols (ipwrapper.c
    /// `link_vsg_to_vs` overwrites the port with it, `vs_iseq` compares it).
    Group { name: String, ordinal: u32 },
}

impl VirtualServerId {
    /// The identity of every `virtual_server` of `config`, in order.
    pub fn all(config: &Config) -> Vec<VirtualServerId> {
        let mut seen: HashMap<&str, u32> = HashMap::new();
        config
            .virtual_servers
            .iter()
            .map(|vs| {
                let ordinal = match &vs.key {
                    VirtualServerKey::Group(name) => {
                        let n = seen.entry(name.as_str()).or_insert(0);
                        *n += 1;
                        *n - 1
                    }
                    _ => 0,
                };
                VirtualServerId::of(vs, ordinal)
            })
            .collect()
    }

    /// The identity of `vs`; `ordinal` only matters for a group (see
    /// [`VirtualServerId::all`]).
    pub fn of(vs: &VirtualServer, ordinal: u32) -> Self {
        let protocol = vs.effective_protocol().map(protocol_of);
        match &vs.key {
            VirtualServerKey::Addr { ip, port } => VirtualServerId::Addr {
                protocol: protocol.unwrap_or(Protocol::Udp),
                addr: *ip,
                port: *port,
            },
            VirtualServerKey::Fwmark(mark) => VirtualServerId::Fwmark {
                family: crate::expand::vs_family(vs, false),
                mark: *mark,
            },
            VirtualServerKey::Group(name) => VirtualServerId::Group {
                name: name.clone(),
                ordinal,
            },
        }
    }
}

/// keepalived's name for a virtual server in logs and fifo lines
/// (check_data.c `format_vs`): `[10.0.0.1]:tcp:80`, `FWM 5`, `[NAME]:1`.
impl std::fmt::Display for VirtualServerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VirtualServerId::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "[{addr}]:{}:{port}", protocol_name(Some(*protocol))),
            VirtualServerId::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
            VirtualServerId::Group { name, ordinal } => write!(f, "[{name}]:{ordinal}"),
        }
    }
}

/// The protocol as keepalived's `inet_sockaddrtotrio` writes it.
pub fn protocol_name(p: Option<Protocol>) -> &'static str {
    match p {
        Some(Protocol::Tcp) => "tcp",
        Some(Protocol::Udp) => "udp",
        Some(Protocol::Sctp) => "sctp",
        None => "none",
    }
}

/// keepalived's name for a real (or sorry) server of `vs` (check_data.c
/// `format_rs`): `[addr]:proto:port`, the protocol the virtual server's
/// (`none` for fwmark), the port after keepalived's fix-ups (a NAT server
/// without a port takes the virtual server's; DR and TUN take the
/// service's).
pub fn server_name(vs: &VirtualServer, addr: IpAddr, own_port: u16, method: LvsMethod) -> String {
    server_name_of(vs, addr, own_port, method).to_string()
}

/// A server's name as its parts, written out when it is logged: the book
/// keeps one per real server, and a formatted string was about 50 heap
/// bytes of each of them (100 000 in a big pool, issue 10).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerName {
    addr: IpAddr,
    protocol: Option<Protocol>,
    port: u16,
}

impl std::fmt::Display for ServerName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}]:{}:{}",
            self.addr,
            protocol_name(self.protocol),
            self.port
        )
    }
}

/// [`server_name`] as its parts.
pub fn server_name_of(
    vs: &VirtualServer,
    addr: IpAddr,
    own_port: u16,
    method: LvsMethod,
) -> ServerName {
    let (origin, svc_port) = match &vs.key {
        VirtualServerKey::Addr { port, .. } => (Origin::Addr, *port),
        VirtualServerKey::Fwmark(_) => (Origin::Fwmark, 0),
        VirtualServerKey::Group(_) => (Origin::GroupAddr, 0),
    };
    let port = match (method, origin) {
        // A fwmark NAT server keeps the port it was given.
        (LvsMethod::Nat, Origin::Fwmark) => own_port,
        _ => dest_port(method, own_port, origin, svc_port),
    };
    ServerName {
        addr,
        protocol: vs.effective_protocol().map(protocol_of),
        port,
    }
}

/// [`server_name`] of a real server.
pub fn rs_name(vs: &VirtualServer, rs: &RealServer) -> String {
    rs_name_of(vs, rs).to_string()
}

/// [`rs_name`] as its parts.
pub fn rs_name_of(vs: &VirtualServer, rs: &RealServer) -> ServerName {
    server_name_of(
        vs,
        rs.ip,
        rs.port.unwrap_or(0),
        rs.effective_lvs_method(vs).method,
    )
}

/// A `real_server` of a virtual server: its address and the port written
/// in the configuration (0 when none; the port a destination ends up with
/// depends on the service, see `expand`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RealServerId {
    pub vs: VirtualServerId,
    pub addr: IpAddr,
    pub port: u16,
}
