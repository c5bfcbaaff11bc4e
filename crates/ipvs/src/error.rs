// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Errors of the IPVS client.

use crate::decode::DecodeError;
use crate::encode::EncodeError;
use crate::model::Op;

/// A failure of the client as a whole (open, dump, info ...).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel has no "IPVS" generic netlink family: ip_vs is neither
    /// built in nor loadable.
    #[error(
        "the kernel has no IPVS (generic netlink family \"IPVS\" not found; is ip_vs available?)"
    )]
    NoIpvs,
    #[error("netlink socket: {0}")]
    Socket(#[source] std::io::Error),
    /// The kernel refused a request that is not an [`Op`].
    #[error("{what}: kernel error {}", Errno(*errno))]
    Kernel { what: &'static str, errno: i32 },
    #[error("cannot build the {what} request: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: EncodeError,
    },
    #[error("cannot decode the {what} reply: {source}")]
    Decode {
        what: &'static str,
        #[source]
        source: DecodeError,
    },
}

/// How an [`Op`] succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// The kernel did it.
    Done,
    /// An add found the object already there (EEXIST).
    AlreadyThere,
    /// A delete found the object already gone (ENOENT / ESRCH).
    AlreadyGone,
}

/// Why one [`Op`] failed. Carries the op, so the message names the
/// service or destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {kind}", describe(op))]
pub struct OpError {
    pub op: Box<Op>,
    pub kind: OpErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpErrorKind {
    /// The kernel answered with this (positive) errno.
    #[error("kernel error {}{}", Errno(*.0), hint(*.0))]
    Kernel(i32),
    /// The op cannot be expressed (name too long ...); nothing was sent.
    #[error("not sent: {0}")]
    Invalid(EncodeError),
    /// The request could not be sent or its answer was lost (socket
    /// error, receive buffer overrun): the kernel may or may not have done
    /// it; dump to find out.
    #[error("no answer: {0}")]
    NoAnswer(String),
}

impl OpError {
    /// The kernel's errno, if the kernel refused the op.
    pub fn errno(&self) -> Option<i32> {
        match self.kind {
            OpErrorKind::Kernel(e) => Some(e),
            _ => None,
        }
    }
}

fn hint(errno: i32) -> &'static str {
    match errno {
        nix::libc::ENOENT => " (unknown scheduler or persistence engine, or no such destination)",
        nix::libc::ESRCH => " (no such service)",
        nix::libc::EEXIST => " (already exists)",
        _ => "",
    }
}

/// What an op does, in ipvsadm's words, for messages.
pub fn describe(op: &Op) -> String {
    match op {
        Op::AddService(s) => format!("add service {} ({})", s.key, settings(s)),
        Op::SetService(s) => format!("edit service {} ({})", s.key, settings(s)),
        Op::DelService(k) => format!("delete service {k}"),
        Op::AddDest(k, d) => format!("add destination {} to service {k}", d.key),
        Op::SetDest(k, d) => format!(
            "edit destination {} of service {k} (weight {})",
            d.key, d.weight
        ),
        Op::DelDest(k, d) => format!("delete destination {d} of service {k}"),
        Op::Flush => "flush the table".to_owned(),
        Op::SetTimeouts(t) => format!("set timeouts {} {} {}", t.tcp, t.tcp_fin, t.udp),
        Op::StartDaemon(d) => format!("start sync daemon {:?} on {}", d.state, d.interface),
        Op::StopDaemon(s) => format!("stop sync daemon {s:?}"),
    }
}

/// The settings a kernel may refuse a service for: both ENOENT causes
/// (scheduler and persistence engine) named, so the message says which
/// names the kernel was asked for.
fn settings(s: &crate::model::Service) -> String {
    match &s.pe_name {
        Some(pe) => format!("scheduler {}, persistence engine {pe}", s.scheduler),
        None => format!("scheduler {}", s.scheduler),
    }
}

/// An errno shown as `ENOENT (No such file or directory)`.
pub struct Errno(pub i32);

impl std::fmt::Display for Errno {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = nix::errno::Errno::from_raw(self.0);
        write!(f, "{name:?} ({})", name.desc())
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;
    use crate::model::{Protocol, Service, ServiceKey};

    #[test]
    fn a_refused_service_names_its_scheduler_and_persistence_engine() {
        let mut s = Service {
            key: ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 22)),
                port: 80,
            },
            scheduler: "rr".into(),
            flags: 0,
            timeout: 60,
            netmask: u32::MAX,
            pe_name: Some("nosuchpe".into()),
        };
        let e = OpError {
            op: Box::new(Op::AddService(s.clone())),
            kind: OpErrorKind::Kernel(nix::libc::ENOENT),
        };
        assert_eq!(
            e.to_string(),
            "add service -t 192.0.2.22:80 (scheduler rr, persistence engine nosuchpe): \
             kernel error ENOENT (No such file or directory) \
             (unknown scheduler or persistence engine, or no such destination)"
        );
        s.pe_name = None;
        assert_eq!(
            describe(&Op::SetService(s)),
            "edit service -t 192.0.2.22:80 (scheduler rr)"
        );
    }
}
