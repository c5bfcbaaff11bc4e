// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Requests to the kernel, built with neli's message and attribute types.
//!
//! Pure: a [`Request`] is a command plus its attributes; [`Request::to_bytes`]
//! frames it for a given family id and sequence number. Nothing here
//! touches a socket, so every request can be checked byte for byte on a
//! host without IPVS.

use std::io::Cursor;
use std::net::IpAddr;

use neli::consts::nl::NlmF;
use neli::genl::{AttrTypeBuilder, Genlmsghdr, GenlmsghdrBuilder, Nlattr, NlattrBuilder};
use neli::nl::{NlPayload, NlmsghdrBuilder};
use neli::types::{Buffer, GenlBuffer};
use neli::{Size, ToBytes};

use crate::consts::{
    NAME_MAX, cmd, cmd_attr, daemon_attr, daemon_state, dest_attr, nl, svc_attr, tun_type,
};
use crate::model::{
    DestKey, Destination, Family, Op, Service, ServiceKey, SyncDaemon, SyncState, Timeouts,
    TunnelType, svc_flags,
};

/// Why a request could not be built. Nothing was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    #[error("{what} {name:?} is longer than {NAME_MAX} bytes or contains a NUL")]
    BadName { what: &'static str, name: String },
    #[error("{0}")]
    Neli(String),
}

/// One generic netlink request: command, netlink flags, attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub cmd: u8,
    /// `NLM_F_ACK` for changes, `NLM_F_DUMP` for lists (REQUEST is implied).
    pub dump: bool,
    pub attrs: GenlBuffer<u16, Buffer>,
}

impl Request {
    fn new(cmd: u8) -> Self {
        Request {
            cmd,
            dump: false,
            attrs: GenlBuffer::new(),
        }
    }

    fn dump(cmd: u8) -> Self {
        Request {
            dump: true,
            ..Request::new(cmd)
        }
    }

    fn with(mut self, attr: Nlattr<u16, Buffer>) -> Self {
        self.attrs.push(attr);
        self
    }

    /// The whole netlink message for `family` (the resolved IPVS id, or
    /// nlctrl's) with sequence number `seq`.
    pub fn to_bytes(&self, family: u16, seq: u32) -> Result<Vec<u8>, EncodeError> {
        self.to_bytes_acked(family, seq, !self.dump)
    }

    /// Like [`to_bytes`](Self::to_bytes), choosing whether a change asks
    /// for an ack. Without one the kernel answers only a failure.
    pub fn to_bytes_acked(&self, family: u16, seq: u32, ack: bool) -> Result<Vec<u8>, EncodeError> {
        let flags = match (self.dump, ack) {
            (true, _) => NlmF::REQUEST | NlmF::DUMP,
            (false, true) => NlmF::REQUEST | NlmF::ACK,
            (false, false) => NlmF::REQUEST,
        };
        let genl: Genlmsghdr<u8, u16> = GenlmsghdrBuilder::default()
            .cmd(self.cmd)
            .version(crate::consts::GENL_VERSION)
            .attrs(self.attrs.clone())
            .build()
            .map_err(neli_err)?;
        let msg = NlmsghdrBuilder::default()
            .nl_type(family)
            .nl_flags(flags)
            .nl_seq(seq)
            .nl_pid(0)
            .nl_payload(NlPayload::Payload(genl))
            .build()
            .map_err(neli_err)?;
        let mut out = Cursor::new(Vec::with_capacity(msg.padded_size()));
        msg.to_bytes(&mut out).map_err(neli_err)?;
        Ok(out.into_inner())
    }
}

/// Renumbers an encoded message in place: a batch learns each message's
/// sequence number only when it takes it (nlmsghdr: len u32, type u16,
/// flags u16, seq u32, all host order).
pub fn set_seq(msg: &mut [u8], seq: u32) {
    if let Some(field) = msg.get_mut(8..12) {
        field.copy_from_slice(&seq.to_ne_bytes());
    }
}

/// Makes an encoded change ask for an ack: a batch does so on its last
/// message only, whose answer then tells that all before it were handled.
pub fn set_ack(msg: &mut [u8]) {
    if let Some(flags) = msg.get_mut(6..8) {
        let v = u16::from_ne_bytes([flags[0], flags[1]]) | u16::from(NlmF::ACK);
        flags.copy_from_slice(&v.to_ne_bytes());
    }
}

fn neli_err(e: impl std::fmt::Display) -> EncodeError {
    EncodeError::Neli(e.to_string())
}

// ===== attributes =====

fn attr(ty: u16, payload: &[u8]) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    NlattrBuilder::default()
        .nla_type(
            AttrTypeBuilder::default()
                .nla_type(ty)
                .build()
                .map_err(neli_err)?,
        )
        .nla_payload(Buffer::from(payload))
        .build()
        .map_err(neli_err)
}

fn nested(ty: u16, children: &[Nlattr<u16, Buffer>]) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    let mut outer = attr(ty, &[])?;
    for child in children {
        outer = outer.nest(child).map_err(neli_err)?;
    }
    Ok(outer)
}

fn u8_attr(ty: u16, v: u8) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    attr(ty, &[v])
}

fn u16_attr(ty: u16, v: u16) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    attr(ty, &v.to_ne_bytes())
}

fn be16_attr(ty: u16, v: u16) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    attr(ty, &v.to_be_bytes())
}

fn u32_attr(ty: u16, v: u32) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    attr(ty, &v.to_ne_bytes())
}

/// A NUL-terminated name the kernel copies into a 16-byte buffer.
fn name_attr(ty: u16, what: &'static str, name: &str) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    if name.len() > NAME_MAX || name.contains('\0') {
        return Err(EncodeError::BadName {
            what,
            name: name.to_owned(),
        });
    }
    let mut bytes = Vec::with_capacity(name.len() + 1);
    bytes.extend_from_slice(name.as_bytes());
    bytes.push(0);
    attr(ty, &bytes)
}

/// `union nf_inet_addr`: always 16 bytes, IPv4 in the first four.
fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out = a.octets(),
    }
    out
}

fn service_key_attrs(key: &ServiceKey) -> Result<Vec<Nlattr<u16, Buffer>>, EncodeError> {
    let mut attrs = vec![u16_attr(svc_attr::AF, key.family().af())?];
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            attrs.push(u16_attr(svc_attr::PROTOCOL, protocol.number())?);
            attrs.push(attr(svc_attr::ADDR, &addr_bytes(addr))?);
            attrs.push(be16_attr(svc_attr::PORT, *port)?);
        }
        ServiceKey::Fwmark { mark, .. } => attrs.push(u32_attr(svc_attr::FWMARK, *mark)?),
    }
    Ok(attrs)
}

/// `CMD_ATTR_SERVICE` with only the identity (for DEL, dest ops, dumps).
pub fn service_key_attr(key: &ServiceKey) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    nested(cmd_attr::SERVICE, &service_key_attrs(key)?)
}

/// The netmask attribute is `be32` for IPv4 but the kernel reads the IPv6
/// prefix length as a plain number (what ipvsadm sends too).
fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        Family::Inet => netmask.to_be_bytes(),
        Family::Inet6 => netmask.to_ne_bytes(),
    }
}

/// `CMD_ATTR_SERVICE` with every setting NEW/SET_SERVICE require.
pub fn service_attr(svc: &Service) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    let mut attrs = service_key_attrs(&svc.key)?;
    attrs.push(name_attr(
        svc_attr::SCHED_NAME,
        "scheduler",
        &svc.scheduler,
    )?);
    if let Some(pe) = &svc.pe_name {
        attrs.push(name_attr(svc_attr::PE_NAME, "persistence engine", pe)?);
    }
    // struct ip_vs_flags { flags, mask }: a full mask makes the kernel take
    // our flags as they are instead of merging them with the old ones.
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&(svc.flags & !svc_flags::HASHED).to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    attrs.push(attr(svc_attr::FLAGS, &flags)?);
    attrs.push(u32_attr(svc_attr::TIMEOUT, svc.timeout)?);
    attrs.push(attr(
        svc_attr::NETMASK,
        &netmask_bytes(svc.key.family(), svc.netmask),
    )?);
    nested(cmd_attr::SERVICE, &attrs)
}

fn dest_key_attrs(key: &DestKey) -> Result<Vec<Nlattr<u16, Buffer>>, EncodeError> {
    Ok(vec![
        attr(dest_attr::ADDR, &addr_bytes(&key.addr))?,
        be16_attr(dest_attr::PORT, key.port)?,
        u16_attr(dest_attr::ADDR_FAMILY, Family::of(&key.addr).af())?,
    ])
}

/// `CMD_ATTR_DEST` with every setting NEW/SET_DEST require.
pub fn dest_attr(dest: &Destination) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    let mut attrs = dest_key_attrs(&dest.key)?;
    attrs.push(u32_attr(dest_attr::FWD_METHOD, dest.forward.bits())?);
    attrs.push(u32_attr(dest_attr::WEIGHT, dest.weight)?);
    attrs.push(u32_attr(dest_attr::U_THRESH, dest.u_threshold)?);
    attrs.push(u32_attr(dest_attr::L_THRESH, dest.l_threshold)?);
    // Absent tunnel attributes mean IPIP to the kernel, so a change back
    // from GUE/GRE to IPIP needs nothing special.
    if let Some(t) = &dest.tunnel {
        let ty = match t.tun_type {
            TunnelType::Ipip => tun_type::IPIP,
            TunnelType::Gue => tun_type::GUE,
            TunnelType::Gre => tun_type::GRE,
        };
        attrs.push(u8_attr(dest_attr::TUN_TYPE, ty)?);
        attrs.push(be16_attr(dest_attr::TUN_PORT, t.port)?);
        attrs.push(u16_attr(dest_attr::TUN_FLAGS, t.flags)?);
    }
    nested(cmd_attr::DEST, &attrs)
}

fn state_number(state: SyncState) -> u32 {
    match state {
        SyncState::Master => daemon_state::MASTER,
        SyncState::Backup => daemon_state::BACKUP,
    }
}

fn daemon_attr(d: &SyncDaemon) -> Result<Nlattr<u16, Buffer>, EncodeError> {
    let mut attrs = vec![
        u32_attr(daemon_attr::STATE, state_number(d.state))?,
        name_attr(daemon_attr::MCAST_IFN, "interface", &d.interface)?,
        u32_attr(daemon_attr::SYNC_ID, d.sync_id)?,
    ];
    if let Some(len) = d.max_len {
        attrs.push(u16_attr(daemon_attr::SYNC_MAXLEN, len)?);
    }
    match d.group {
        Some(IpAddr::V4(g)) => attrs.push(attr(daemon_attr::MCAST_GROUP, &g.octets())?),
        Some(IpAddr::V6(g)) => attrs.push(attr(daemon_attr::MCAST_GROUP6, &g.octets())?),
        None => {}
    }
    if let Some(port) = d.port {
        attrs.push(u16_attr(daemon_attr::MCAST_PORT, port)?);
    }
    if let Some(ttl) = d.ttl {
        attrs.push(u8_attr(daemon_attr::MCAST_TTL, ttl)?);
    }
    nested(cmd_attr::DAEMON, &attrs)
}

// ===== requests =====

/// The request that carries out `op`.
pub fn op_request(op: &Op) -> Result<Request, EncodeError> {
    Ok(match op {
        Op::AddService(s) => Request::new(cmd::NEW_SERVICE).with(service_attr(s)?),
        Op::SetService(s) => Request::new(cmd::SET_SERVICE).with(service_attr(s)?),
        Op::DelService(k) => Request::new(cmd::DEL_SERVICE).with(service_key_attr(k)?),
        Op::AddDest(k, d) => Request::new(cmd::NEW_DEST)
            .with(service_key_attr(k)?)
            .with(dest_attr(d)?),
        Op::SetDest(k, d) => Request::new(cmd::SET_DEST)
            .with(service_key_attr(k)?)
            .with(dest_attr(d)?),
        Op::DelDest(k, d) => Request::new(cmd::DEL_DEST)
            .with(service_key_attr(k)?)
            .with(nested(cmd_attr::DEST, &dest_key_attrs(d)?)?),
        Op::Flush => Request::new(cmd::FLUSH),
        Op::SetTimeouts(t) => timeouts_request(t)?,
        Op::StartDaemon(d) => Request::new(cmd::NEW_DAEMON).with(daemon_attr(d)?),
        Op::StopDaemon(state) => Request::new(cmd::DEL_DAEMON).with(nested(
            cmd_attr::DAEMON,
            &[u32_attr(daemon_attr::STATE, state_number(*state))?],
        )?),
    })
}

fn timeouts_request(t: &Timeouts) -> Result<Request, EncodeError> {
    // 0 = leave unchanged, both for the kernel and for the model, so the
    // zeros can be sent as they are; leaving them out says the same.
    let mut req = Request::new(cmd::SET_CONFIG);
    for (ty, v) in [
        (cmd_attr::TIMEOUT_TCP, t.tcp),
        (cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin),
        (cmd_attr::TIMEOUT_UDP, t.udp),
    ] {
        if v != 0 {
            req = req.with(u32_attr(ty, v)?);
        }
    }
    Ok(req)
}

/// Dump of every service.
pub fn get_services() -> Request {
    Request::dump(cmd::GET_SERVICE)
}

/// Dump of the destinations of one service.
pub fn get_dests(key: &ServiceKey) -> Result<Request, EncodeError> {
    Ok(Request::dump(cmd::GET_DEST).with(service_key_attr(key)?))
}

/// Dump of the running sync daemons.
pub fn get_daemons() -> Request {
    Request::dump(cmd::GET_DAEMON)
}

pub fn get_info() -> Request {
    Request::new(cmd::GET_INFO)
}

pub fn get_timeouts() -> Request {
    Request::new(cmd::GET_CONFIG)
}

/// Zero the counters of one service, or of all with `None`.
pub fn zero(key: Option<&ServiceKey>) -> Result<Request, EncodeError> {
    let req = Request::new(cmd::ZERO);
    Ok(match key {
        Some(k) => req.with(service_key_attr(k)?),
        None => req,
    })
}

/// nlctrl's "which id has family `name`?" (sent to `GENL_ID_CTRL`).
pub fn resolve_family(name: &str) -> Result<Request, EncodeError> {
    let mut bytes = name.as_bytes().to_vec();
    bytes.push(0);
    Ok(Request::new(nl::CTRL_CMD_GETFAMILY).with(attr(nl::CTRL_ATTR_FAMILY_NAME, &bytes)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message renumbered and acked in place is byte for byte the one
    /// encoded with that number and ack in the first place.
    #[test]
    fn patching_seq_and_ack_equals_encoding_them() {
        let req = op_request(&Op::Flush).expect("encodes");
        let mut patched = req.to_bytes_acked(0x1a, 0, false).expect("encodes");
        set_seq(&mut patched, 77);
        set_ack(&mut patched);
        assert_eq!(
            patched,
            req.to_bytes_acked(0x1a, 77, true).expect("encodes")
        );
        assert_ne!(
            patched,
            req.to_bytes_acked(0x1a, 77, false).expect("encodes")
        );
    }
}
