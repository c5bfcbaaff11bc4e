// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Raw IP protocol 112 (VRRP) sockets: one [`VrrpReceiver`] and one
//! [`VrrpSender`] per (interface, address family, multicast-or-unicast).
//!
//! The sockets carry VRRP bytes; they neither build nor check adverts.
//!
//! Socket options, and why (keepalived 2.2.7's `open_vrrp_read_socket` /
//! `open_vrrp_send_socket` set the same ones unless noted):
//!
//! Receiver
//! * `SO_BINDTODEVICE`: only packets that arrived on this interface; the
//!   VRID space is per interface.
//! * `IP_MULTICAST_ALL = 0` (both families; keepalived: IPv4 only): without
//!   it a raw socket gets multicast for groups joined by *any* socket on
//!   any interface.
//! * multicast mode: join 224.0.0.18 / ff02::12 on the interface, then bind
//!   to 224.0.0.18 (IPv4) or ::1 (IPv6) so unicast VRRP to one of our
//!   addresses is not delivered to the multicast socket; the IPv6 ::1 bind
//!   still passes joined multicast (raw IPv6 delivery checks membership for
//!   multicast destinations) and fails harmlessly when `lo` is down.
//! * unicast mode: bind to the local unicast address (`unicast_src_ip` or
//!   the interface's primary address), so only adverts addressed to it
//!   arrive; no group is joined.
//! * IPv4 `IP_PKTINFO`: the arrival ifindex. The datagram itself keeps its
//!   IP header (raw IPv4 sockets always deliver it), so the caller reads
//!   source, destination, TTL and length from there.
//! * IPv6 `IPV6_RECVPKTINFO` (destination, to tell multicast from unicast,
//!   and ifindex), `IPV6_RECVHOPLIMIT` (RFC 5798 §7.1: hop limit must be
//!   255), `IPV6_RECVTCLASS` (reported for diagnostics; not in keepalived),
//!   `IPV6_CHECKSUM = 6`: the kernel verifies the VRRP checksum (offset 6)
//!   with the IPv6 pseudo-header and drops bad packets before we see them.
//!
//! * `SO_RCVBUFFORCE` [`RECV_BUFFER`] (falling back to `SO_RCVBUF`, capped
//!   by `rmem_max`; keepalived keeps the default, about 200 kB): room for
//!   a burst of junk without dropping the master's adverts with it.
//! * A BPF filter passing only the VRIDs configured on the interface
//!   ([`VrrpReceiver::set_vrids`], [`crate::vrid_filter`]); until it is
//!   set, everything passes. Or, on a pair of receivers, one passing the
//!   adverts whose version and (IPv4 multicast) TTL are right and one
//!   passing the rest for those VRIDs ([`VrrpReceiver::set_adverts`],
//!   [`VrrpReceiver::set_rejects`]). Not in keepalived.
//!
//! Sender
//! * `SO_BINDTODEVICE` + bind to the source address: packets leave by this
//!   interface with the configured source (IPv4 primary / `unicast_src_ip`,
//!   IPv6 link-local with its scope).
//! * IPv4 `IP_TOS = 0xC0` (precedence "internetwork control"), IPv6
//!   `IPV6_TCLASS = 0xC0` (CS6).
//! * `IP_MULTICAST_TTL` / `IPV6_MULTICAST_HOPS = 255` (RFC 3768 §5.1.1.3,
//!   RFC 5798 §5.1.1.3), `IP_TTL` / `IPV6_UNICAST_HOPS` = `unicast_ttl`
//!   (keepalived's default 255) for unicast peers.
//! * `IP_MULTICAST_LOOP = 0`: our own adverts must not come back to our
//!   receiver.
//! * IPv6 `IPV6_MULTICAST_IF` = the interface.
//! * IPv4 `IP_MTU_DISCOVER = IP_PMTUDISC_DONT`: keepalived builds its own
//!   header (IP_HDRINCL) with DF clear and a per-packet IP ID; with the
//!   kernel building the header, this is what keeps DF clear and the IP ID
//!   counting (with DF set Linux sends ID 0).
//! * IPv6 `IPV6_CHECKSUM = 6`: the kernel fills in the VRRP checksum, so a
//!   caller may leave it zero (a pre-filled correct one is also fine).
//! * `SO_RCVBUF` minimal and a one-instruction BPF filter that accepts
//!   nothing: a raw socket would otherwise queue a copy of every incoming
//!   VRRP packet it matches.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsFd;

use nix::sys::socket::{
    ControlMessageOwned, MsgFlags, SockaddrStorage, recvmsg, setsockopt, sockopt,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, SockFilter, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::link::is_link_local;
use crate::sockopt::{register, set_int};

/// IANA protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;
/// RFC 3768 / 5798 IPv4 multicast group.
pub const VRRP_GROUP_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
/// RFC 5798 IPv6 multicast group.
pub const VRRP_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// TTL / hop limit every VRRP packet is sent with and must arrive with.
pub const VRRP_TTL: u8 = 255;
/// DSCP CS6 / IPv4 precedence "internetwork control".
pub const VRRP_TOS: u8 = 0xc0;

/// Address family of a VRRP socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Self {
        if addr.is_ipv4() { Self::V4 } else { Self::V6 }
    }

    /// The VRRP multicast group of this family.
    pub fn group(self) -> IpAddr {
        match self {
            Self::V4 => IpAddr::V4(VRRP_GROUP_V4),
            Self::V6 => IpAddr::V6(VRRP_GROUP_V6),
        }
    }

    fn domain(self) -> Domain {
        match self {
            Self::V4 => Domain::IPV4,
            Self::V6 => Domain::IPV6,
        }
    }
}

/// Which adverts a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecvMode {
    /// Adverts to the VRRP group on this interface.
    Multicast,
    /// Adverts to another multicast group (`vrrp_mcast_group4|6`,
    /// `mcast_dst_ip`), joined and bound like the VRRP group.
    MulticastGroup(IpAddr),
    /// Adverts sent to `local` (one of our addresses on this interface);
    /// `None` accepts any unicast or multicast VRRP arriving on the
    /// interface (no bind).
    Unicast { local: Option<IpAddr> },
}

/// Errors of the VRRP sockets.
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("{what} on {ifname}: {source}")]
    Setup {
        what: &'static str,
        ifname: String,
        source: io::Error,
    },
    #[error("receive: {0}")]
    Recv(io::Error),
    #[error("send to {dst}: {source}")]
    Send { dst: IpAddr, source: io::Error },
    /// A datagram the kernel delivered but we cannot describe (short IPv4
    /// header, missing ancillary data, truncated): dropped, count it.
    #[error("malformed datagram: {0}")]
    Malformed(&'static str),
    #[error("{0} does not match the socket's address family")]
    WrongFamily(IpAddr),
}

/// One received VRRP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv4 TTL from the header / IPv6 hop limit from ancillary data.
    pub ttl: u8,
    /// IPv4 TOS from the header / IPv6 traffic class from ancillary data.
    pub tos: u8,
    /// The interface the datagram arrived on.
    pub ifindex: u32,
    /// IPv4: the whole IP datagram, header included (the VRRPv3 checksum
    /// and AH need it). IPv6: the VRRP packet only.
    pub bytes: Vec<u8>,
    /// Where the VRRP packet starts in `bytes` (IPv4: IHL × 4; IPv6: 0).
    pub payload_offset: usize,
}

impl Datagram {
    /// The VRRP packet.
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(self.payload_offset..).unwrap_or(&[])
    }
}

fn setup<T>(what: &'static str, ifname: &str, r: io::Result<T>) -> Result<T, SocketError> {
    r.map_err(|source| SocketError::Setup {
        what,
        ifname: ifname.to_owned(),
        source,
    })
}

/// RECV_BUFFER past `rmem_max` when we may (root: SO_RCVBUFFORCE), else
/// as far as `rmem_max` lets SO_RCVBUF go.
fn grow_receive_buffer(sock: &Socket, ifname: &str) -> Result<(), SocketError> {
    let forced = set_int(
        sock.as_fd(),
        libc::SOL_SOCKET,
        libc::SO_RCVBUFFORCE,
        RECV_BUFFER as i32,
    );
    if forced.is_err() {
        setup("SO_RCVBUF", ifname, sock.set_recv_buffer_size(RECV_BUFFER))?;
    }
    Ok(())
}

fn nix_io<T>(r: nix::Result<T>) -> io::Result<T> {
    r.map_err(io::Error::from)
}

fn raw_socket(family: Family, ifname: &str) -> Result<Socket, SocketError> {
    let sock = setup(
        "socket(raw, 112)",
        ifname,
        Socket::new(
            family.domain(),
            Type::RAW.nonblocking(),
            Some(Protocol::from(IPPROTO_VRRP)),
        ),
    )?;
    setup(
        "SO_BINDTODEVICE",
        ifname,
        sock.bind_device(Some(ifname.as_bytes())),
    )?;
    match family {
        Family::V4 => setup("IP_MULTICAST_ALL", ifname, sock.set_multicast_all_v4(false))?,
        // IPV6_MULTICAST_ALL exists since Linux 4.20; older kernels only
        // lack the extra filtering.
        Family::V6 => {
            if let Err(e) = sock.set_multicast_all_v6(false) {
                tracing::debug!(ifname, error = %e, "IPV6_MULTICAST_ALL not supported");
            }
        }
    }
    Ok(sock)
}

fn sock_addr(addr: IpAddr, ifindex: u32) -> SockAddr {
    match addr {
        IpAddr::V4(v4) => SockAddr::from(SocketAddr::new(IpAddr::V4(v4), 0)),
        IpAddr::V6(v6) => {
            // Link-local unicast and link-scope multicast need the scope;
            // the kernel ignores it for other addresses.
            let scope = if is_link_local(&v6) || v6.is_multicast() {
                ifindex
            } else {
                0
            };
            SockAddr::from(SocketAddrV6::new(v6, 0, 0, scope))
        }
    }
}

/// Joins `group` on the interface and binds so that only datagrams to it
/// arrive (IPv4: bind to the group; IPv6: bind to ::1, see the module doc).
fn join_group(sock: &Socket, ifname: &str, ifindex: u32, group: IpAddr) -> Result<(), SocketError> {
    match group {
        IpAddr::V4(g) => {
            setup(
                "join IPv4 group",
                ifname,
                sock.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex)),
            )?;
            setup(
                "bind IPv4 group",
                ifname,
                sock.bind(&sock_addr(group, ifindex)),
            )?;
        }
        IpAddr::V6(g) => {
            setup(
                "join IPv6 group",
                ifname,
                sock.join_multicast_v6(&g, ifindex),
            )?;
            if let Err(e) = sock.bind(&sock_addr(Ipv6Addr::LOCALHOST.into(), 0)) {
                tracing::debug!(ifname, error = %e, "bind ::1 failed; unicast VRRP will reach the multicast socket too");
            }
        }
    }
    Ok(())
}

/// The receive buffer asked for: about 1 300 small datagrams, 35 ms of
/// reading for the debug build under a flood (docs/reliability.md,
/// finding 4), against ~270 with the default.
pub const RECV_BUFFER: usize = 1 << 20;

/// Receives VRRP datagrams on one interface.
pub struct VrrpReceiver {
    fd: AsyncFd<Socket>,
    family: Family,
    ifindex: u32,
    buf: Vec<u8>,
    cmsg: Vec<u8>,
}

impl VrrpReceiver {
    /// Open the receive socket. Must be called inside a tokio runtime.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        family: Family,
        mode: RecvMode,
    ) -> Result<Self, SocketError> {
        let sock = raw_socket(family, ifname)?;
        match mode {
            RecvMode::Multicast => join_group(&sock, ifname, ifindex, family.group())?,
            RecvMode::MulticastGroup(group) => {
                if Family::of(&group) != family || !group.is_multicast() {
                    return Err(SocketError::WrongFamily(group));
                }
                join_group(&sock, ifname, ifindex, group)?;
            }
            RecvMode::Unicast { local: Some(local) } => {
                if Family::of(&local) != family {
                    return Err(SocketError::WrongFamily(local));
                }
                setup(
                    "bind unicast source",
                    ifname,
                    sock.bind(&sock_addr(local, ifindex)),
                )?;
            }
            RecvMode::Unicast { local: None } => {}
        }
        match family {
            Family::V4 => setup(
                "IP_PKTINFO",
                ifname,
                nix_io(setsockopt(&sock, sockopt::Ipv4PacketInfo, &true)),
            )?,
            Family::V6 => {
                setup(
                    "IPV6_RECVPKTINFO",
                    ifname,
                    nix_io(setsockopt(&sock, sockopt::Ipv6RecvPacketInfo, &true)),
                )?;
                setup("IPV6_RECVHOPLIMIT", ifname, sock.set_recv_hoplimit_v6(true))?;
                setup("IPV6_RECVTCLASS", ifname, sock.set_recv_tclass_v6(true))?;
                setup(
                    "IPV6_CHECKSUM",
                    ifname,
                    set_int(sock.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 6),
                )?;
            }
        }
        grow_receive_buffer(&sock, ifname)?;
        let fd = setup("register with tokio", ifname, register(sock))?;
        Ok(Self {
            fd,
            family,
            ifindex,
            buf: vec![0; 65536],
            cmsg: match family {
                Family::V4 => nix::cmsg_space!(libc::in_pktinfo),
                Family::V6 => nix::cmsg_space!(libc::in6_pktinfo, libc::c_int, libc::c_int),
            },
        })
    }

    /// Lets only datagrams for `vrids` reach this socket (the kernel drops
    /// the others before they take room in its queue); replaces the
    /// filter set before. An empty list passes nothing.
    pub fn set_vrids(&self, vrids: &[u8]) -> io::Result<()> {
        self.attach(&crate::vrid_filter::program(self.family, vrids))
    }

    /// Lets only the adverts `wanted` names reach this socket (right
    /// version/type byte for the VRID, IPv4 TTL 255 when asked): the
    /// socket the master's adverts arrive on.
    pub fn set_adverts(&self, wanted: &crate::vrid_filter::Wanted) -> io::Result<()> {
        self.attach(&crate::vrid_filter::adverts(self.family, wanted))
    }

    /// Lets only what [`set_adverts`](Self::set_adverts) refuses among
    /// the datagrams for a wanted VRID reach this socket, so they are
    /// still validated and counted without crowding the adverts' queue.
    pub fn set_rejects(&self, wanted: &crate::vrid_filter::Wanted) -> io::Result<()> {
        self.attach(&crate::vrid_filter::rejects(self.family, wanted))
    }

    fn attach(&self, prog: &[crate::vrid_filter::Insn]) -> io::Result<()> {
        let prog: Vec<SockFilter> = prog
            .iter()
            .map(|i| SockFilter::new(i.code, i.jt, i.jf, i.k))
            .collect();
        self.fd.get_ref().attach_filter(&prog)
    }

    /// Wait for the next datagram.
    ///
    /// [`SocketError::Malformed`] is per datagram: keep receiving.
    pub async fn recv(&mut self) -> Result<Datagram, SocketError> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// [`recv`](Self::recv) as a poll, so that one task can wait on many
    /// receivers without a task (and a channel hop) per socket.
    pub fn poll_recv(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<Datagram, SocketError>> {
        use std::task::Poll;
        loop {
            let mut guard = match self.fd.poll_read_ready(cx) {
                Poll::Ready(Ok(g)) => g,
                Poll::Ready(Err(e)) => return Poll::Ready(Err(SocketError::Recv(e))),
                Poll::Pending => return Poll::Pending,
            };
            let fd = guard.get_inner().as_fd();
            let family = self.family;
            let ifindex = self.ifindex;
            let buf = &mut self.buf;
            let cmsg = &mut self.cmsg;
            match guard.try_io(|_| recv_once(fd, family, ifindex, buf, cmsg)) {
                Ok(Ok(Ok(d))) => return Poll::Ready(Ok(d)),
                Ok(Ok(Err(malformed))) => return Poll::Ready(Err(malformed)),
                Ok(Err(e)) => return Poll::Ready(Err(SocketError::Recv(e))),
                Err(_would_block) => continue,
            }
        }
    }
}

type RecvResult = io::Result<Result<Datagram, SocketError>>;

fn recv_once(
    fd: std::os::fd::BorrowedFd<'_>,
    family: Family,
    bound_ifindex: u32,
    buf: &mut [u8],
    cmsg_buf: &mut [u8],
) -> RecvResult {
    use std::os::fd::AsRawFd;
    let mut iov = [io::IoSliceMut::new(buf)];
    let msg = nix_io(recvmsg::<SockaddrStorage>(
        fd.as_raw_fd(),
        &mut iov,
        Some(cmsg_buf),
        MsgFlags::MSG_DONTWAIT,
    ))?;
    let len = msg.bytes;
    let truncated = msg.flags.contains(MsgFlags::MSG_TRUNC);
    let from = msg.address.and_then(|a| {
        a.as_sockaddr_in()
            .map(|s| IpAddr::V4(s.ip()))
            .or_else(|| a.as_sockaddr_in6().map(|s| IpAddr::V6(s.ip())))
    });
    let mut ifindex = bound_ifindex;
    let mut dst6 = None;
    let mut hop_limit = None;
    let mut tclass = 0u8;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv4PacketInfo(info) => {
                    ifindex = u32::try_from(info.ipi_ifindex).unwrap_or(bound_ifindex);
                }
                ControlMessageOwned::Ipv6PacketInfo(info) => {
                    ifindex = info.ipi6_ifindex;
                    dst6 = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
                }
                ControlMessageOwned::Ipv6HopLimit(h) => hop_limit = u8::try_from(h).ok(),
                ControlMessageOwned::Ipv6TClass(t) => tclass = u8::try_from(t).unwrap_or(0),
                _ => {}
            }
        }
    }
    if truncated {
        return Ok(Err(SocketError::Malformed(
            "datagram larger than the receive buffer",
        )));
    }
    let bytes = buf.get(..len).unwrap_or(&[]).to_vec();
    Ok(match family {
        Family::V4 => describe_v4(bytes, ifindex),
        Family::V6 => match (from, dst6, hop_limit) {
            (Some(src), Some(dst), Some(ttl)) => Ok(Datagram {
                src,
                dst: IpAddr::V6(dst),
                ttl,
                tos: tclass,
                ifindex,
                bytes,
                payload_offset: 0,
            }),
            (None, _, _) => Err(SocketError::Malformed("no source address")),
            _ => Err(SocketError::Malformed(
                "missing IPv6 packet info or hop limit",
            )),
        },
    })
}

/// Read source, destination, TTL and TOS from the IPv4 header a raw socket
/// hands us.
fn describe_v4(bytes: Vec<u8>, ifindex: u32) -> Result<Datagram, SocketError> {
    let (Some(&ver_ihl), Some(&tos), Some(&ttl)) = (bytes.first(), bytes.get(1), bytes.get(8))
    else {
        return Err(SocketError::Malformed("shorter than an IPv4 header"));
    };
    let ihl = usize::from(ver_ihl & 0x0f) * 4;
    if ver_ihl >> 4 != 4 || ihl < 20 || bytes.len() < ihl {
        return Err(SocketError::Malformed("bad IPv4 header length"));
    }
    let addr_at = |at: usize| -> Option<Ipv4Addr> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(Ipv4Addr::from(b))
    };
    let (Some(src), Some(dst)) = (addr_at(12), addr_at(16)) else {
        return Err(SocketError::Malformed("shorter than an IPv4 header"));
    };
    Ok(Datagram {
        src: src.into(),
        dst: dst.into(),
        ttl,
        tos,
        ifindex,
        bytes,
        payload_offset: ihl,
    })
}

/// Sends VRRP packets out of one interface from one source address.
pub struct VrrpSender {
    fd: AsyncFd<Socket>,
    family: Family,
    ifindex: u32,
    src: IpAddr,
}

impl VrrpSender {
    /// Open the send socket. `src` must be configured on the interface
    /// (EADDRNOTAVAIL otherwise: keepalived's "no source address" FAULT).
    /// `unicast_ttl` is keepalived's `unicast_ttl` (default [`VRRP_TTL`]);
    /// multicast always uses 255. Must be called inside a tokio runtime.
    pub fn open(
        ifname: &str,
        ifindex: u32,
        src: IpAddr,
        unicast_ttl: u8,
    ) -> Result<Self, SocketError> {
        let family = Family::of(&src);
        let sock = raw_socket(family, ifname)?;
        // Never read from this socket: keep nothing queued on it.
        setup("SO_RCVBUF", ifname, sock.set_recv_buffer_size(0))?;
        setup(
            "SO_ATTACH_FILTER",
            ifname,
            sock.attach_filter(&[SockFilter::new(0x06, 0, 0, 0)]),
        )?;
        match family {
            Family::V4 => {
                setup("IP_TOS", ifname, sock.set_tos_v4(u32::from(VRRP_TOS)))?;
                setup(
                    "IP_MULTICAST_TTL",
                    ifname,
                    sock.set_multicast_ttl_v4(u32::from(VRRP_TTL)),
                )?;
                setup("IP_TTL", ifname, sock.set_ttl_v4(u32::from(unicast_ttl)))?;
                setup(
                    "IP_MULTICAST_LOOP",
                    ifname,
                    sock.set_multicast_loop_v4(false),
                )?;
                setup(
                    "IP_MTU_DISCOVER",
                    ifname,
                    set_int(
                        sock.as_fd(),
                        libc::IPPROTO_IP,
                        libc::IP_MTU_DISCOVER,
                        libc::IP_PMTUDISC_DONT,
                    ),
                )?;
            }
            Family::V6 => {
                setup(
                    "IPV6_TCLASS",
                    ifname,
                    sock.set_tclass_v6(u32::from(VRRP_TOS)),
                )?;
                setup(
                    "IPV6_MULTICAST_HOPS",
                    ifname,
                    sock.set_multicast_hops_v6(u32::from(VRRP_TTL)),
                )?;
                setup(
                    "IPV6_UNICAST_HOPS",
                    ifname,
                    sock.set_unicast_hops_v6(u32::from(unicast_ttl)),
                )?;
                setup(
                    "IPV6_MULTICAST_LOOP",
                    ifname,
                    sock.set_multicast_loop_v6(false),
                )?;
                setup(
                    "IPV6_MULTICAST_IF",
                    ifname,
                    sock.set_multicast_if_v6(ifindex),
                )?;
                setup(
                    "IPV6_CHECKSUM",
                    ifname,
                    set_int(sock.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_CHECKSUM, 6),
                )?;
            }
        }
        setup(
            "bind source address",
            ifname,
            sock.bind(&sock_addr(src, ifindex)),
        )?;
        grow_receive_buffer(&sock, ifname)?;
        let fd = setup("register with tokio", ifname, register(sock))?;
        Ok(Self {
            fd,
            family,
            ifindex,
            src,
        })
    }

    /// The source address packets carry.
    pub fn source(&self) -> IpAddr {
        self.src
    }

    /// Send one VRRP packet to the family's VRRP group.
    pub async fn send_multicast(&self, packet: &[u8]) -> Result<(), SocketError> {
        self.send_to(self.family.group(), packet).await
    }

    /// Send one VRRP packet to `dst` (a unicast peer, or the group). For
    /// unicast, call once per peer: VRRPv3 over IPv4 has a different
    /// checksum per destination.
    pub async fn send_to(&self, dst: IpAddr, packet: &[u8]) -> Result<(), SocketError> {
        if Family::of(&dst) != self.family {
            return Err(SocketError::WrongFamily(dst));
        }
        let addr = sock_addr(dst, self.ifindex);
        loop {
            let mut guard = self
                .fd
                .writable()
                .await
                .map_err(|source| SocketError::Send { dst, source })?;
            match guard.try_io(|fd| fd.get_ref().send_to(packet, &addr)) {
                Ok(Ok(_)) => return Ok(()),
                Ok(Err(source)) => return Err(SocketError::Send { dst, source }),
                Err(_would_block) => continue,
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_is_described() {
        let mut pkt = vec![0u8; 28];
        pkt[0] = 0x45;
        pkt[1] = 0xc0;
        pkt[8] = 255;
        pkt[9] = 112;
        pkt[12..16].copy_from_slice(&[192, 0, 2, 1]);
        pkt[16..20].copy_from_slice(&[224, 0, 0, 18]);
        pkt[20] = 0x31;
        let d = describe_v4(pkt, 4).unwrap();
        assert_eq!(d.src, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert_eq!(d.dst, IpAddr::V4(VRRP_GROUP_V4));
        assert_eq!((d.ttl, d.tos, d.ifindex), (255, 0xc0, 4));
        assert_eq!(d.payload(), &[0x31, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn malformed_ipv4_headers_are_errors_not_panics() {
        for bytes in [
            vec![],
            vec![0x45],
            vec![0x46; 20],
            vec![0x65; 40],
            vec![0x41; 40],
        ] {
            assert!(matches!(
                describe_v4(bytes, 1),
                Err(SocketError::Malformed(_))
            ));
        }
    }

    #[test]
    fn link_scope_v6_destinations_carry_the_ifindex() {
        let a = sock_addr(IpAddr::V6(VRRP_GROUP_V6), 7);
        assert_eq!(a.as_socket_ipv6().map(|s| s.scope_id()), Some(7));
        let g = sock_addr("2001:db8::1".parse().unwrap(), 7);
        assert_eq!(g.as_socket_ipv6().map(|s| s.scope_id()), Some(0));
    }
}
