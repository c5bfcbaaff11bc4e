// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Every kernel call the VRRP engine makes: raw VRRP sockets, link and
//! address look-ups, VIP add/remove. Kept in one module so that moving it
//! onto `keepalived-sys` later touches nothing else.
//!
//! Sockets: one raw `IPPROTO_VRRP` socket per (interface, family), bound
//! to the device, joined to the VRRP group, multicast loop off (we never
//! see our own adverts), TTL / hop limit 255, TOS 0xC0 for IPv4. The
//! source address and outgoing interface of every send are given per
//! packet (`IP_PKTINFO` / `IPV6_PKTINFO`), so one socket serves all
//! instances on the interface whatever their source address.

use std::io::{self, IoSlice, IoSliceMut};
use std::net::{IpAddr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::num::NonZeroU32;
use std::os::fd::{AsRawFd, RawFd};

use futures_util::TryStreamExt;
use keepalived_vrrp::packet::{self, DropReason, Family, IPPROTO_VRRP, Received};
use nix::sys::socket::{
    self, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrIn, SockaddrIn6, sockopt,
};
use rtnetlink::packet_route::address::{AddressAttribute, AddressHeaderFlags, AddressMessage};
use rtnetlink::packet_route::link::LinkAttribute;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

/// The IPv6 VRRP group (RFC 5798 §5.1.2.2).
pub const MCAST_GROUP6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);

const VRRP_TOS: u32 = 0xc0;
const VRRP_TTL: u32 = 255;
/// Bigger than any VRRP datagram (IP header + 255 IPv6 addresses).
const RX_BUF: usize = 4200;

// ===== sockets =====

/// A raw VRRP socket for one interface and family.
pub struct VrrpSocket {
    fd: AsyncFd<Socket>,
    pub family: Family,
    pub ifindex: u32,
}

impl VrrpSocket {
    /// Opens the socket on `ifname` (index `ifindex`) and joins `group`
    /// (IPv4: `vrrp_mcast_group4`; IPv6: ff02::12).
    pub fn open(family: Family, ifname: &str, ifindex: u32, group: IpAddr) -> io::Result<Self> {
        let domain = match family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let s = Socket::new(
            domain,
            Type::RAW,
            Some(Protocol::from(i32::from(IPPROTO_VRRP))),
        )?;
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
        s.bind_device(Some(ifname.as_bytes()))?;
        match (family, group) {
            (Family::Ipv4, IpAddr::V4(g)) => {
                s.set_multicast_loop_v4(false)?;
                s.set_multicast_ttl_v4(VRRP_TTL)?;
                s.set_ttl_v4(VRRP_TTL)?;
                s.set_tos_v4(VRRP_TOS)?;
                s.join_multicast_v4_n(&g, &socket2::InterfaceIndexOrAddress::Index(ifindex))?;
            }
            (Family::Ipv6, IpAddr::V6(g)) => {
                s.set_multicast_loop_v6(false)?;
                s.set_multicast_hops_v6(VRRP_TTL)?;
                s.set_unicast_hops_v6(VRRP_TTL)?;
                s.set_multicast_if_v6(ifindex)?;
                s.join_multicast_v6(&g, ifindex)?;
                socket::setsockopt(&s, sockopt::Ipv6RecvPacketInfo, &true)?;
                socket::setsockopt(&s, sockopt::Ipv6RecvHopLimit, &true)?;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "multicast group of the other family",
                ));
            }
        }
        if let Some(idx) = NonZeroU32::new(ifindex) {
            // Harmless duplicate of SO_BINDTODEVICE that also pins the
            // multicast output interface for IPv4.
            let _ = match family {
                Family::Ipv4 => s.bind_device_by_index_v4(Some(idx)),
                Family::Ipv6 => s.bind_device_by_index_v6(Some(idx)),
            };
        }
        // `AsyncFd::new` is deprecated because a borrowed fd could be
        // closed behind tokio's back; ours is an owned `Socket` that
        // lives exactly as long as the `AsyncFd`, and the replacement
        // (`register`) is `unsafe`, which this crate does not allow.
        #[allow(deprecated)]
        let fd = AsyncFd::new(s)?;
        Ok(Self {
            fd,
            family,
            ifindex,
        })
    }

    /// Waits for the next datagram and decodes it. The outer error is a
    /// socket error; the inner one a datagram without a VRRP header.
    pub async fn recv(&self) -> io::Result<Result<Received, DropReason>> {
        loop {
            let mut guard = self.fd.readable().await?;
            match guard.try_io(|fd| recv_one(fd.get_ref().as_raw_fd(), self.family)) {
                Ok(r) => return r,
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends one VRRP payload from `src` to `dst` out of our interface.
    /// A full socket buffer drops the advert (the next one follows within
    /// one interval), as a congested link would.
    pub fn send(&self, payload: &[u8], src: IpAddr, dst: IpAddr) -> io::Result<()> {
        let fd = self.fd.get_ref().as_raw_fd();
        let iov = [IoSlice::new(payload)];
        match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let info = libc::in_pktinfo {
                    ipi_ifindex: i32::try_from(self.ifindex).unwrap_or(0),
                    ipi_spec_dst: libc::in_addr {
                        s_addr: u32::from(s).to_be(),
                    },
                    ipi_addr: libc::in_addr { s_addr: 0 },
                };
                let cmsg = [ControlMessage::Ipv4PacketInfo(&info)];
                let to = SockaddrIn::from(SocketAddrV4::new(d, 0));
                socket::sendmsg(fd, &iov, &cmsg, MsgFlags::empty(), Some(&to))?;
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                let info = libc::in6_pktinfo {
                    ipi6_addr: libc::in6_addr {
                        s6_addr: s.octets(),
                    },
                    ipi6_ifindex: self.ifindex,
                };
                let cmsg = [ControlMessage::Ipv6PacketInfo(&info)];
                let scope = if needs_scope(d) { self.ifindex } else { 0 };
                let to = SockaddrIn6::from(SocketAddrV6::new(d, 0, 0, scope));
                socket::sendmsg(fd, &iov, &cmsg, MsgFlags::empty(), Some(&to))?;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "source and destination of different families",
                ));
            }
        }
        Ok(())
    }
}

fn needs_scope(a: Ipv6Addr) -> bool {
    a.is_multicast() || a.segments()[0] & 0xffc0 == 0xfe80
}

fn recv_one(fd: RawFd, family: Family) -> io::Result<Result<Received, DropReason>> {
    let mut buf = [0u8; RX_BUF];
    match family {
        // IPv4 raw sockets deliver the IP header: everything is in it.
        Family::Ipv4 => {
            let n = socket::recv(fd, &mut buf, MsgFlags::empty())?;
            Ok(packet::decode_v4(buf.get(..n).unwrap_or_default()))
        }
        Family::Ipv6 => {
            let mut cmsg = nix::cmsg_space!(libc::in6_pktinfo, libc::c_int);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg =
                socket::recvmsg::<SockaddrIn6>(fd, &mut iov, Some(&mut cmsg), MsgFlags::empty())?;
            let n = msg.bytes;
            let src = msg.address.map(|a| a.ip()).unwrap_or(Ipv6Addr::UNSPECIFIED);
            let mut dst = Ipv6Addr::UNSPECIFIED;
            let mut hop = None;
            for c in msg.cmsgs()? {
                match c {
                    ControlMessageOwned::Ipv6PacketInfo(i) => {
                        dst = Ipv6Addr::from(i.ipi6_addr.s6_addr)
                    }
                    ControlMessageOwned::Ipv6HopLimit(h) => hop = u8::try_from(h).ok(),
                    _ => {}
                }
            }
            Ok(packet::decode_v6(
                buf.get(..n).unwrap_or_default(),
                src,
                dst,
                hop,
            ))
        }
    }
}

// ===== gratuitous ARP / unsolicited NA (keepalived-sys) =====

/// Sends `rounds` rounds of GARP (IPv4 VIPs) / unsolicited NA (IPv6
/// VIPs) out of `ifindex`, `interval4` / `interval6` apart
/// (`vrrp_garp_interval` / `vrrp_gna_interval`). Runs as its own task
/// so that pacing never holds up the protocol.
pub fn spawn_garp_burst(
    ifindex: u32,
    ifname: String,
    mac: [u8; 6],
    vips: Vec<IpAddr>,
    rounds: u32,
    interval4: std::time::Duration,
    interval6: std::time::Duration,
) {
    tokio::spawn(async move {
        let sender = match keepalived_sys::garp::FrameSender::open(ifindex) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("cannot open a GARP sender on {ifname}: {e}");
                return;
            }
        };
        let router = keepalived_sys::link::ipv6_forwarding(&ifname);
        for _ in 0..rounds {
            for vip in &vips {
                let (res, gap) = match vip {
                    IpAddr::V4(a) => (
                        sender
                            .send(&keepalived_sys::garp::build_garp(mac, *a))
                            .await,
                        interval4,
                    ),
                    IpAddr::V6(a) => (
                        sender
                            .send(&keepalived_sys::garp::build_unsolicited_na(mac, *a, router))
                            .await,
                        interval6,
                    ),
                };
                if let Err(e) = res {
                    tracing::debug!("GARP/NA for {vip} on {ifname}: {e}");
                }
                if !gap.is_zero() {
                    tokio::time::sleep(gap).await;
                }
            }
        }
    });
}

// ===== links and addresses (rtnetlink) =====

/// An address on a link, as the kernel lists it.
#[derive(Debug, Clone)]
pub struct LinkAddress {
    pub address: IpAddr,
    pub secondary: bool,
    pub tentative: bool,
    msg: AddressMessage,
}

/// What to install for one VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VipSpec {
    pub address: IpAddr,
    pub prefix_len: u8,
    /// None = the instance's interface.
    pub dev: Option<String>,
    pub label: Option<String>,
    pub nodad: bool,
}

/// The route netlink connection (its driver runs as a task).
#[derive(Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
}

fn nl_err(e: rtnetlink::Error) -> io::Error {
    match e {
        rtnetlink::Error::NetlinkError(m) => match m.code {
            Some(c) => io::Error::from_raw_os_error(-c.get()),
            None => io::Error::other("netlink error without code"),
        },
        other => io::Error::other(other.to_string()),
    }
}

impl Netlink {
    pub fn new() -> io::Result<Self> {
        let (conn, handle, _) = rtnetlink::new_connection()?;
        tokio::spawn(conn);
        Ok(Self { handle })
    }

    /// The index of link `name`; None when there is no such link.
    pub async fn link_index(&self, name: &str) -> io::Result<Option<u32>> {
        let mut links = self
            .handle
            .link()
            .get()
            .match_name(name.to_owned())
            .execute();
        match links.try_next().await {
            Ok(Some(l)) => Ok(Some(l.header.index)),
            Ok(None) => Ok(None),
            Err(rtnetlink::Error::NetlinkError(m))
                if m.code.map(|c| -c.get()) == Some(libc::ENODEV) =>
            {
                Ok(None)
            }
            Err(e) => Err(nl_err(e)),
        }
    }

    /// The hardware address of link `ifindex` (GARP / NA sender).
    pub async fn link_mac(&self, ifindex: u32) -> io::Result<Option<[u8; 6]>> {
        let mut links = self.handle.link().get().match_index(ifindex).execute();
        let Some(l) = links.try_next().await.map_err(nl_err)? else {
            return Ok(None);
        };
        Ok(l.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(b) => <[u8; 6]>::try_from(b.as_slice()).ok(),
            _ => None,
        }))
    }

    /// The addresses of link `ifindex`, in the kernel's order.
    pub async fn addresses(&self, ifindex: u32) -> io::Result<Vec<LinkAddress>> {
        let mut req = self
            .handle
            .address()
            .get()
            .set_link_index_filter(ifindex)
            .execute();
        let mut out = Vec::new();
        while let Some(msg) = req.try_next().await.map_err(nl_err)? {
            if msg.header.index != ifindex {
                continue;
            }
            // IPv4 names the local address IFA_LOCAL (IFA_ADDRESS is the
            // peer on point-to-point links); IPv6 only has IFA_ADDRESS.
            let mut local = None;
            let mut address = None;
            for a in &msg.attributes {
                match a {
                    AddressAttribute::Local(ip) => local = Some(*ip),
                    AddressAttribute::Address(ip) => address = Some(*ip),
                    _ => {}
                }
            }
            let Some(ip) = local.or(address) else {
                continue;
            };
            let flags = msg.header.flags;
            out.push(LinkAddress {
                address: ip,
                secondary: flags.contains(AddressHeaderFlags::Secondary),
                tentative: flags.contains(AddressHeaderFlags::Tentative),
                msg,
            });
        }
        Ok(out)
    }

    /// Adds `vip` on `ifindex`; Ok(false) when it was already there.
    pub async fn add_address(&self, ifindex: u32, vip: &VipSpec) -> io::Result<bool> {
        let mut req = self
            .handle
            .address()
            .add(ifindex, vip.address, vip.prefix_len);
        let msg = req.message_mut();
        if let Some(label) = &vip.label {
            msg.attributes.push(AddressAttribute::Label(label.clone()));
        }
        if vip.nodad && vip.address.is_ipv6() {
            msg.header.flags |= AddressHeaderFlags::Nodad;
        }
        match req.execute().await {
            Ok(()) => Ok(true),
            Err(e) => {
                let e = nl_err(e);
                if e.raw_os_error() == Some(libc::EEXIST) {
                    Ok(false)
                } else {
                    Err(e)
                }
            }
        }
    }

    /// Removes every copy of `address` from `ifindex`; Ok(false) when
    /// there was none.
    pub async fn del_address(&self, ifindex: u32, address: IpAddr) -> io::Result<bool> {
        let mut removed = false;
        for a in self.addresses(ifindex).await? {
            if a.address != address {
                continue;
            }
            match self.handle.address().del(a.msg).execute().await {
                Ok(()) => removed = true,
                Err(e) => {
                    let e = nl_err(e);
                    if e.raw_os_error() != Some(libc::EADDRNOTAVAIL) {
                        return Err(e);
                    }
                }
            }
        }
        Ok(removed)
    }

    /// The advert source keepalived would pick: the first non-secondary
    /// IPv4 address, or the first usable IPv6 link-local, that is not
    /// one of `ours` (our VIPs may sit on the same link).
    pub async fn primary_address(
        &self,
        ifindex: u32,
        family: Family,
        ours: &[IpAddr],
    ) -> io::Result<Option<IpAddr>> {
        let addrs = self.addresses(ifindex).await?;
        Ok(addrs
            .iter()
            .filter(|a| !ours.contains(&a.address) && !a.tentative)
            .find(|a| match (family, a.address) {
                (Family::Ipv4, IpAddr::V4(_)) => !a.secondary,
                (Family::Ipv6, IpAddr::V6(v6)) => v6.segments()[0] & 0xffc0 == 0xfe80,
                _ => false,
            })
            .map(|a| a.address))
    }
}

/// keepalived's default groups.
pub fn default_group(family: Family, group4: Option<IpAddr>, group6: Option<IpAddr>) -> IpAddr {
    match family {
        Family::Ipv4 => group4
            .filter(IpAddr::is_ipv4)
            .unwrap_or(IpAddr::V4(packet::MCAST_GROUP4)),
        Family::Ipv6 => group6
            .filter(IpAddr::is_ipv6)
            .unwrap_or(IpAddr::V6(MCAST_GROUP6)),
    }
}
