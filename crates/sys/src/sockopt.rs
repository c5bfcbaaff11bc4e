// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The few socket options neither socket2 nor nix wrap (IPV6_CHECKSUM,
//! IP_MTU_DISCOVER), and binding an AF_PACKET socket to an interface.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// setsockopt with an `int` value.
#[allow(unsafe_code)]
pub(crate) fn set_int(
    fd: BorrowedFd<'_>,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    // SAFETY: `fd` is a live descriptor for the duration of the borrow; the
    // option value points to a local c_int whose exact size is passed.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Bind an AF_PACKET socket to one interface, so that plain `send()` goes
/// out of it (the kernel takes the bound ifindex when no address is given).
#[allow(unsafe_code)]
pub(crate) fn bind_packet(fd: BorrowedFd<'_>, ifindex: u32, protocol: u16) -> io::Result<()> {
    let ifindex = libc::c_int::try_from(ifindex)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "ifindex out of range"))?;
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as libc::c_ushort;
    sll.sll_protocol = protocol.to_be();
    sll.sll_ifindex = ifindex;
    // SAFETY: `fd` is live; the address points to a fully initialised
    // sockaddr_ll whose exact size is passed.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&raw const sll).cast::<libc::sockaddr>(),
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Register an owned socket with the tokio reactor.
#[allow(unsafe_code)]
pub(crate) fn register(
    sock: socket2::Socket,
) -> io::Result<tokio::io::unix::AsyncFd<socket2::Socket>> {
    // SAFETY: `socket2::Socket` owns its descriptor: it stays open and
    // `as_raw_fd` returns the same value until the Socket is dropped, which
    // happens only when the AsyncFd is dropped (we never call `into_inner`
    // and never replace the inner value).
    let fd = unsafe { tokio::io::unix::AsyncFd::register(sock) }?;
    Ok(fd)
}
