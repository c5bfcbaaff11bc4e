// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Replies from the kernel: netlink framing, then the generic netlink
//! payload through neli, then the attributes into the model's types.
//!
//! Pure and total: any byte string gives either a value or a
//! [`DecodeError`], never a panic (the kernel is trusted to be right, but a
//! bug here must not take the checker down).

use std::io::Cursor;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::FromBytesWithInput;
use neli::genl::{Genlmsghdr, Nlattr};
use neli::types::{Buffer, GenlBuffer};
use serde::{Deserialize, Serialize};

use crate::consts::{
    cmd_attr, daemon_attr, daemon_state, dest_attr, info_attr, nl, stats_attr, svc_attr, tun_type,
};
use crate::model::{
    DestCounters, DestKey, Destination, Family, Forward, Info, Protocol, Service, ServiceKey,
    Stats, SyncDaemon, SyncState, Timeouts, Tunnel, TunnelType, svc_flags,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum DecodeError {
    #[error("netlink message truncated at byte {offset}")]
    Truncated { offset: usize },
    #[error("bad generic netlink payload: {0}")]
    Genl(String),
    #[error("attribute {what} missing")]
    Missing { what: &'static str },
    #[error("attribute {what} has {len} bytes")]
    BadLength { what: &'static str, len: usize },
    #[error("unknown {what} {value}")]
    Unknown { what: &'static str, value: u32 },
}

// ===== netlink framing =====

/// One netlink message of a received buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub msg_type: u16,
    pub flags: u16,
    pub seq: u32,
    pub kind: FrameKind<'a>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind<'a> {
    /// A family message; the bytes after the netlink header.
    Data(&'a [u8]),
    /// NLMSG_ERROR with error 0.
    Ack,
    /// NLMSG_ERROR: the positive errno.
    Error(i32),
    /// End of a dump.
    Done,
    /// NOOP / OVERRUN: nothing to act on.
    Other,
}

fn ne_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn ne_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// Splits a buffer returned by one `recv` into its messages.
pub fn frames(buf: &[u8]) -> Result<Vec<Frame<'_>>, DecodeError> {
    let mut out = Vec::new();
    let mut off = 0usize;
    while off < buf.len() {
        let truncated = DecodeError::Truncated { offset: off };
        let len = ne_u32(buf, off).ok_or(truncated.clone())? as usize;
        let end = off.checked_add(len).ok_or(truncated.clone())?;
        if len < nl::NLMSG_HDRLEN || end > buf.len() {
            return Err(truncated);
        }
        let msg_type = ne_u16(buf, off + 4).ok_or(truncated.clone())?;
        let flags = ne_u16(buf, off + 6).ok_or(truncated.clone())?;
        let seq = ne_u32(buf, off + 8).ok_or(truncated.clone())?;
        let body = &buf[off + nl::NLMSG_HDRLEN..end];
        let kind = match msg_type {
            nl::NLMSG_ERROR => {
                let code = ne_u32(body, 0).ok_or(truncated)? as i32;
                if code == 0 {
                    FrameKind::Ack
                } else {
                    FrameKind::Error(code.saturating_neg())
                }
            }
            nl::NLMSG_DONE => FrameKind::Done,
            nl::NLMSG_NOOP | nl::NLMSG_OVERRUN => FrameKind::Other,
            _ => FrameKind::Data(body),
        };
        out.push(Frame {
            msg_type,
            flags,
            seq,
            kind,
        });
        // Messages are 4-byte aligned; the last one may lack its padding.
        off = end.saturating_add(3) & !3;
    }
    Ok(out)
}

// ===== generic netlink payload =====

/// A decoded generic netlink message: command and top-level attributes.
pub struct GenlMessage {
    genl: Genlmsghdr<u8, u16>,
}

impl GenlMessage {
    pub fn parse(body: &[u8]) -> Result<Self, DecodeError> {
        let genl = Genlmsghdr::<u8, u16>::from_bytes_with_input(&mut Cursor::new(body), body.len())
            .map_err(|e| DecodeError::Genl(e.to_string()))?;
        Ok(GenlMessage { genl })
    }

    fn attrs(&self) -> Attrs<'_> {
        Attrs(self.genl.attrs().as_ref())
    }
}

/// A list of attributes with typed getters. Unknown attributes are
/// ignored (newer kernels add some); the last of duplicates wins.
struct Attrs<'a>(&'a [Nlattr<u16, Buffer>]);

struct Nested(GenlBuffer<u16, Buffer>);

impl Nested {
    fn attrs(&self) -> Attrs<'_> {
        Attrs(self.0.as_ref())
    }
}

impl<'a> Attrs<'a> {
    fn get(&self, ty: u16) -> Option<&'a [u8]> {
        self.0
            .iter()
            .rev()
            .find(|a| *a.nla_type().nla_type() == ty)
            .map(|a| a.nla_payload().as_ref())
    }

    fn nested(&self, ty: u16) -> Result<Option<Nested>, DecodeError> {
        match self.get(ty) {
            None => Ok(None),
            Some(b) => GenlBuffer::from_bytes_with_input(&mut Cursor::new(b), b.len())
                .map(|g| Some(Nested(g)))
                .map_err(|e| DecodeError::Genl(e.to_string())),
        }
    }

    fn fixed<const N: usize>(
        &self,
        ty: u16,
        what: &'static str,
    ) -> Result<Option<[u8; N]>, DecodeError> {
        match self.get(ty) {
            None => Ok(None),
            Some(b) => b
                .get(..N)
                .and_then(|s| s.try_into().ok())
                .map(Some)
                .ok_or(DecodeError::BadLength { what, len: b.len() }),
        }
    }

    fn u8(&self, ty: u16, what: &'static str) -> Result<Option<u8>, DecodeError> {
        Ok(self.fixed::<1>(ty, what)?.map(|b| b[0]))
    }

    fn u16(&self, ty: u16, what: &'static str) -> Result<Option<u16>, DecodeError> {
        Ok(self.fixed(ty, what)?.map(u16::from_ne_bytes))
    }

    fn be16(&self, ty: u16, what: &'static str) -> Result<Option<u16>, DecodeError> {
        Ok(self.fixed(ty, what)?.map(u16::from_be_bytes))
    }

    fn u32(&self, ty: u16, what: &'static str) -> Result<Option<u32>, DecodeError> {
        Ok(self.fixed(ty, what)?.map(u32::from_ne_bytes))
    }

    /// A counter that is u32 in STATS and u64 in STATS64.
    fn counter(&self, ty: u16, wide: bool) -> u64 {
        match self.get(ty) {
            Some(b) if wide || b.len() >= 8 => b
                .get(..8)
                .and_then(|s| s.try_into().ok())
                .map(u64::from_ne_bytes)
                .unwrap_or_default(),
            Some(b) => b
                .get(..4)
                .and_then(|s| s.try_into().ok())
                .map(|s| u64::from(u32::from_ne_bytes(s)))
                .unwrap_or_default(),
            None => 0,
        }
    }

    fn string(&self, ty: u16) -> Option<String> {
        self.get(ty).map(|b| {
            let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
            String::from_utf8_lossy(&b[..end]).into_owned()
        })
    }
}

fn need<T>(v: Option<T>, what: &'static str) -> Result<T, DecodeError> {
    v.ok_or(DecodeError::Missing { what })
}

fn addr(b: [u8; 16], family: Family) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(b)),
    }
}

fn family(af: u16) -> Result<Family, DecodeError> {
    Family::from_af(af).ok_or(DecodeError::Unknown {
        what: "address family",
        value: u32::from(af),
    })
}

/// STATS64 when the kernel sends it, else the 32-bit STATS.
fn stats(a: &Attrs<'_>, stats: u16, stats64: u16) -> Result<Stats, DecodeError> {
    let (n, wide) = match a.nested(stats64)? {
        Some(n) => (n, true),
        None => match a.nested(stats)? {
            Some(n) => (n, false),
            None => return Ok(Stats::default()),
        },
    };
    let s = n.attrs();
    Ok(Stats {
        conns: s.counter(stats_attr::CONNS, wide),
        in_pkts: s.counter(stats_attr::INPKTS, wide),
        out_pkts: s.counter(stats_attr::OUTPKTS, wide),
        in_bytes: s.counter(stats_attr::INBYTES, true),
        out_bytes: s.counter(stats_attr::OUTBYTES, true),
        cps: s.counter(stats_attr::CPS, wide),
        in_pps: s.counter(stats_attr::INPPS, wide),
        out_pps: s.counter(stats_attr::OUTPPS, wide),
        in_bps: s.counter(stats_attr::INBPS, wide),
        out_bps: s.counter(stats_attr::OUTBPS, wide),
    })
}

// ===== objects =====

/// A service of a GET_SERVICE dump (a NEW_SERVICE message).
pub fn service(msg: &GenlMessage) -> Result<(Service, Stats), DecodeError> {
    let n = need(msg.attrs().nested(cmd_attr::SERVICE)?, "service")?;
    let a = n.attrs();
    let fam = family(need(a.u16(svc_attr::AF, "af")?, "af")?)?;
    let key = match a.u32(svc_attr::FWMARK, "fwmark")? {
        Some(mark) if mark != 0 => ServiceKey::Fwmark { family: fam, mark },
        _ => {
            let proto = need(a.u16(svc_attr::PROTOCOL, "protocol")?, "protocol")?;
            ServiceKey::Addr {
                protocol: Protocol::from_number(proto).ok_or(DecodeError::Unknown {
                    what: "protocol",
                    value: u32::from(proto),
                })?,
                addr: addr(need(a.fixed(svc_attr::ADDR, "addr")?, "addr")?, fam),
                port: need(a.be16(svc_attr::PORT, "port")?, "port")?,
            }
        }
    };
    let flags: [u8; 8] = need(a.fixed(svc_attr::FLAGS, "flags")?, "flags")?;
    let flags = u32::from_ne_bytes([flags[0], flags[1], flags[2], flags[3]]);
    let netmask: [u8; 4] = need(a.fixed(svc_attr::NETMASK, "netmask")?, "netmask")?;
    let netmask = match fam {
        Family::Inet => u32::from_be_bytes(netmask),
        Family::Inet6 => u32::from_ne_bytes(netmask),
    };
    let svc = Service {
        key,
        scheduler: need(a.string(svc_attr::SCHED_NAME), "scheduler")?,
        flags: flags & !svc_flags::HASHED,
        timeout: a.u32(svc_attr::TIMEOUT, "timeout")?.unwrap_or(0),
        netmask,
        pe_name: a.string(svc_attr::PE_NAME).filter(|s| !s.is_empty()),
    };
    Ok((svc, stats(&a, svc_attr::STATS, svc_attr::STATS64)?))
}

/// A destination of a GET_DEST dump. `svc_family` is used when the
/// kernel does not say the destination's own family (before 4.19).
pub fn dest(
    msg: &GenlMessage,
    svc_family: Family,
) -> Result<(Destination, DestCounters, Stats), DecodeError> {
    let n = need(msg.attrs().nested(cmd_attr::DEST)?, "dest")?;
    let a = n.attrs();
    let fam = match a.u16(dest_attr::ADDR_FAMILY, "dest af")? {
        Some(af) => family(af)?,
        None => svc_family,
    };
    let fwd = need(a.u32(dest_attr::FWD_METHOD, "forward")?, "forward")?;
    let forward = Forward::from_bits(fwd).ok_or(DecodeError::Unknown {
        what: "forwarding method",
        value: fwd,
    })?;
    let tun = a
        .u8(dest_attr::TUN_TYPE, "tunnel type")?
        .unwrap_or(tun_type::IPIP);
    let tunnel = match (forward, tun) {
        (Forward::Tunnel, tun_type::IPIP)
        | (Forward::Masq | Forward::Local | Forward::Route | Forward::Bypass, _) => None,
        (Forward::Tunnel, t) => Some(Tunnel {
            tun_type: match t {
                tun_type::GUE => TunnelType::Gue,
                tun_type::GRE => TunnelType::Gre,
                other => {
                    return Err(DecodeError::Unknown {
                        what: "tunnel type",
                        value: u32::from(other),
                    });
                }
            },
            port: a.be16(dest_attr::TUN_PORT, "tunnel port")?.unwrap_or(0),
            flags: a.u16(dest_attr::TUN_FLAGS, "tunnel flags")?.unwrap_or(0),
        }),
    };
    let d = Destination {
        key: DestKey {
            addr: addr(
                need(a.fixed(dest_attr::ADDR, "dest addr")?, "dest addr")?,
                fam,
            ),
            port: need(a.be16(dest_attr::PORT, "dest port")?, "dest port")?,
        },
        forward,
        weight: need(a.u32(dest_attr::WEIGHT, "weight")?, "weight")?,
        u_threshold: a.u32(dest_attr::U_THRESH, "u_thresh")?.unwrap_or(0),
        l_threshold: a.u32(dest_attr::L_THRESH, "l_thresh")?.unwrap_or(0),
        tunnel,
    };
    let counters = DestCounters {
        active_conns: a.u32(dest_attr::ACTIVE_CONNS, "active")?.unwrap_or(0),
        inact_conns: a.u32(dest_attr::INACT_CONNS, "inactive")?.unwrap_or(0),
        persist_conns: a.u32(dest_attr::PERSIST_CONNS, "persistent")?.unwrap_or(0),
    };
    Ok((
        d,
        counters,
        stats(&a, dest_attr::STATS, dest_attr::STATS64)?,
    ))
}

/// A sync daemon of a GET_DAEMON dump.
pub fn daemon(msg: &GenlMessage) -> Result<SyncDaemon, DecodeError> {
    let n = need(msg.attrs().nested(cmd_attr::DAEMON)?, "daemon")?;
    let a = n.attrs();
    let state = need(a.u32(daemon_attr::STATE, "state")?, "state")?;
    let group = match (
        a.fixed::<4>(daemon_attr::MCAST_GROUP, "group")?,
        a.fixed::<16>(daemon_attr::MCAST_GROUP6, "group6")?,
    ) {
        (_, Some(g6)) if g6 != [0; 16] => Some(IpAddr::V6(Ipv6Addr::from(g6))),
        (Some(g4), _) if g4 != [0; 4] => Some(IpAddr::V4(Ipv4Addr::from(g4))),
        _ => None,
    };
    Ok(SyncDaemon {
        state: match state {
            daemon_state::MASTER => SyncState::Master,
            daemon_state::BACKUP => SyncState::Backup,
            other => {
                return Err(DecodeError::Unknown {
                    what: "daemon state",
                    value: other,
                });
            }
        },
        interface: need(a.string(daemon_attr::MCAST_IFN), "interface")?,
        sync_id: a.u32(daemon_attr::SYNC_ID, "sync id")?.unwrap_or(0),
        max_len: a.u16(daemon_attr::SYNC_MAXLEN, "maxlen")?,
        group,
        port: a.u16(daemon_attr::MCAST_PORT, "port")?,
        ttl: a.u8(daemon_attr::MCAST_TTL, "ttl")?,
    })
}

/// The GET_CONFIG reply.
pub fn timeouts(msg: &GenlMessage) -> Result<Timeouts, DecodeError> {
    let a = msg.attrs();
    Ok(Timeouts {
        tcp: a.u32(cmd_attr::TIMEOUT_TCP, "tcp timeout")?.unwrap_or(0),
        tcp_fin: a
            .u32(cmd_attr::TIMEOUT_TCP_FIN, "tcpfin timeout")?
            .unwrap_or(0),
        udp: a.u32(cmd_attr::TIMEOUT_UDP, "udp timeout")?.unwrap_or(0),
    })
}

/// The GET_INFO reply.
pub fn info(msg: &GenlMessage) -> Result<Info, DecodeError> {
    let a = msg.attrs();
    Ok(Info {
        version: need(a.u32(info_attr::VERSION, "version")?, "version")?,
        conn_tab_size: a
            .u32(info_attr::CONN_TAB_SIZE, "conn_tab_size")?
            .unwrap_or(0),
    })
}

/// nlctrl's NEWFAMILY reply: the family id.
pub fn family_id(msg: &GenlMessage) -> Result<u16, DecodeError> {
    need(
        msg.attrs().u16(nl::CTRL_ATTR_FAMILY_ID, "family id")?,
        "family id",
    )
}
