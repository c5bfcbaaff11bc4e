// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Stable names for virtual and real servers, the same across reloads as
//! keepalived's own identity rules (`vs_iseq`, `rs_iseq` in
//! keepalived/check/ipwrapper.c): what the health checks report on and
//! what quorum state is kept under.

use std::net::IpAddr;

use keepalived_config::model::lvs::{Protocol as CfgProtocol, VirtualServer, VirtualServerKey};
use keepalived_ipvs::model::{Family, Protocol};

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
    /// `virtual_server group NAME`; the protocol tells two blocks on the
    /// same group apart (None for a fwmark-only group).
    Group {
        name: String,
        protocol: Option<Protocol>,
    },
}

impl VirtualServerId {
    pub fn of(vs: &VirtualServer) -> Self {
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
                protocol,
            },
        }
    }
}

impl std::fmt::Display for VirtualServerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VirtualServerId::Addr {
                protocol,
                addr,
                port,
            } => write!(f, "{protocol:?} [{addr}]:{port}"),
            VirtualServerId::Fwmark { mark, .. } => write!(f, "FWM {mark}"),
            VirtualServerId::Group { name, .. } => write!(f, "group {name}"),
        }
    }
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

pub fn protocol_of(p: CfgProtocol) -> Protocol {
    match p {
        CfgProtocol::Tcp => Protocol::Tcp,
        CfgProtocol::Udp => Protocol::Udp,
        CfgProtocol::Sctp => Protocol::Sctp,
    }
}
