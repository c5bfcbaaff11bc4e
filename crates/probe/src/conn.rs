// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Opening the probe's TCP connection as keepalived does
//! (`core/layer4.c: socket_bind_connect`, `socket_state`): SO_MARK,
//! SO_BINDTODEVICE, bind, then a non-blocking connect bounded by a
//! deadline; and the connected datagram sockets of DNS_CHECK and
//! UDP_CHECK (`udp_bind_connect`: the same options, then a connect that
//! completes at once).
//!
//! Unlike keepalived 2.2.7 we set no SO_LINGER: its 5 s linger could block
//! the whole checker on close (keepalived #2271; removed in its HEAD).

use std::io;
use std::net::SocketAddr;

use nix::sys::socket::{setsockopt, sockopt};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use tokio::io::Interest;
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;

use crate::spec::ConnOpts;

/// Why no connection was made.
#[derive(Debug)]
pub enum ConnectError {
    /// The probe could not be made here (socket options, bind, or a
    /// synchronous connect error outside the "remote" family): keepalived's
    /// `connect_error` at setup time, a local error.
    Local(io::Error),
    /// connect() failed at once with a network error (unreachable,
    /// refused, reset, timed out): keepalived's synchronous `connect_fail`.
    Unreachable(io::Error),
    /// The handshake failed later (SO_ERROR): `connect_fail`.
    Failed(io::Error),
    /// No handshake before the deadline (or SO_ERROR ETIMEDOUT).
    Timeout,
}

/// What ends a non-blocking connect: writable (done) or an error.
const HANDSHAKE: Interest = Interest::WRITABLE.add(Interest::ERROR);

/// Errors of a synchronous connect() that mean "the server is not there"
/// rather than "we cannot probe" (keepalived's list).
fn is_remote_failure(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENETUNREACH
                | libc::EHOSTUNREACH
                | libc::ECONNREFUSED
                | libc::EHOSTDOWN
                | libc::ENETDOWN
                | libc::ECONNRESET
                | libc::ECONNABORTED
                | libc::ETIMEDOUT
        )
    )
}

/// Connects to `target` with `conn`'s options, giving up at `deadline`.
pub async fn connect(
    target: SocketAddr,
    conn: &ConnOpts,
    deadline: Instant,
) -> Result<TcpStream, ConnectError> {
    let socket = prepare(target, conn).map_err(ConnectError::Local)?;
    match socket.connect(&SockAddr::from(target)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if is_remote_failure(&e) => return Err(ConnectError::Unreachable(e)),
        Err(e) => return Err(ConnectError::Local(e)),
    }
    let stream =
        TcpStream::from_std(std::net::TcpStream::from(socket)).map_err(ConnectError::Local)?;
    let ready = match tokio::time::timeout_at(deadline, stream.ready(HANDSHAKE)).await {
        Err(_) => return Err(ConnectError::Timeout),
        Ok(Err(e)) => return Err(ConnectError::Failed(e)),
        Ok(Ok(r)) => r,
    };
    // The handshake is over: the socket is writable, or it failed (the
    // kernel reports EPOLLERR with EPOLLHUP then, never EPOLLOUT alone).
    // Only a failure needs SO_ERROR for its cause; keepalived reads it
    // every time, one system call per check we save.
    if ready.is_writable() && !ready.is_error() && !ready.is_write_closed() {
        return Ok(stream);
    }
    match stream.take_error() {
        Ok(None) => Ok(stream),
        Ok(Some(e)) if e.raw_os_error() == Some(libc::ETIMEDOUT) => Err(ConnectError::Timeout),
        Ok(Some(e)) => Err(ConnectError::Failed(e)),
        Err(e) => Err(ConnectError::Failed(e)),
    }
}

/// A UDP socket connected to `target` with `conn`'s options. With
/// `recv_err`, IP(V6)_RECVERR is set so that ICMP errors (destination
/// unreachable) come back as errors of the next receive.
pub fn connect_udp(
    target: SocketAddr,
    conn: &ConnOpts,
    recv_err: bool,
) -> Result<UdpSocket, ConnectError> {
    let socket = Socket::new(
        Domain::for_address(target),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )
    .map_err(ConnectError::Local)?;
    if recv_err {
        let set = if target.is_ipv4() {
            setsockopt(&socket, sockopt::Ipv4RecvErr, &true)
        } else {
            setsockopt(&socket, sockopt::Ipv6RecvErr, &true)
        };
        set.map_err(|e| ConnectError::Local(e.into()))?;
    }
    options(&socket, conn).map_err(ConnectError::Local)?;
    match socket.connect(&SockAddr::from(target)) {
        Ok(()) => {}
        Err(e) if is_remote_failure(&e) => return Err(ConnectError::Unreachable(e)),
        Err(e) => return Err(ConnectError::Local(e)),
    }
    UdpSocket::from_std(std::net::UdpSocket::from(socket)).map_err(ConnectError::Local)
}

fn prepare(target: SocketAddr, conn: &ConnOpts) -> io::Result<Socket> {
    let socket = Socket::new(
        Domain::for_address(target),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )?;
    options(&socket, conn)?;
    Ok(socket)
}

/// SO_MARK, SO_BINDTODEVICE and bind, in keepalived's order.
pub(crate) fn options(socket: &Socket, conn: &ConnOpts) -> io::Result<()> {
    if let Some(mark) = conn.fwmark() {
        socket.set_mark(mark)?;
    }
    if let Some(dev) = conn.bind_if() {
        socket.bind_device(Some(dev.as_bytes()))?;
    }
    if let Some(local) = conn.bind() {
        socket.bind(&SockAddr::from(local))?;
    }
    Ok(())
}
