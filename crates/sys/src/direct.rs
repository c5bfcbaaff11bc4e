// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A blocking rtnetlink socket for the one change that must not wait for
//! the runtime: installing VIPs when an instance becomes master.
//!
//! The shared [`Netlink`](crate::netlink::Netlink) connection is
//! asynchronous: a request goes through a channel to its reader task, which
//! must be scheduled to send it and again to hand the answer back, a few
//! tens of microseconds each time on a busy core. The kernel handles an
//! address change within the `send` itself, so a plain blocking
//! send-then-receive is both simpler and quicker, and keeps the gratuitous
//! ARP as close to the takeover advert as keepalived's.

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Mutex;

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};
use nix::sys::time::TimeVal;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload,
};
use rtnetlink::packet_route::RouteNetlinkMessage;

use crate::netlink::NetlinkError;

/// How long an answer the kernel owes may take.
const ANSWER_TIMEOUT_S: i64 = 5;

struct Inner {
    fd: OwnedFd,
    seq: u32,
    buf: Vec<u8>,
}

/// One blocking NETLINK_ROUTE socket; requests are serialised.
pub struct DirectRoute {
    inner: Mutex<Inner>,
}

impl DirectRoute {
    pub fn open() -> Result<Self, NetlinkError> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkRoute,
        )
        .map_err(to_io)?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(to_io)?;
        let limit = TimeVal::new(ANSWER_TIMEOUT_S, 0);
        setsockopt(&fd, sockopt::ReceiveTimeout, &limit).map_err(to_io)?;
        Ok(Self {
            inner: Mutex::new(Inner {
                fd,
                seq: 0,
                buf: vec![0; 16 << 10],
            }),
        })
    }

    /// Sends one change with NLM_F_CREATE|NLM_F_EXCL and waits for its
    /// ack; the kernel's refusal comes back as its errno.
    pub fn create(&self, op: &'static str, msg: RouteNetlinkMessage) -> Result<(), NetlinkError> {
        let mut inner = self.inner.lock().map_err(|_| NetlinkError::Protocol {
            op,
            detail: "socket lock poisoned".into(),
        })?;
        inner.seq = inner.seq.wrapping_add(1);
        let seq = inner.seq;
        let mut req = NetlinkMessage::from(msg);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_EXCL | NLM_F_CREATE;
        req.header.sequence_number = seq;
        req.finalize();
        let mut bytes = vec![0; req.buffer_len()];
        req.serialize(&mut bytes);
        loop {
            match send(inner.fd.as_raw_fd(), &bytes, MsgFlags::empty()) {
                Ok(_) => break,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(to_io(e)),
            }
        }
        loop {
            let Inner { fd, buf, .. } = &mut *inner;
            let n = match recv(fd.as_raw_fd(), buf, MsgFlags::empty()) {
                Ok(n) => n,
                Err(Errno::EINTR) => continue,
                Err(e) => return Err(to_io(e)),
            };
            let mut off = 0;
            while off < n {
                let Some(rest) = buf.get(off..n) else { break };
                let msg =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest).map_err(|e| {
                        NetlinkError::Protocol {
                            op,
                            detail: e.to_string(),
                        }
                    })?;
                let len = msg.header.length as usize;
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
                if msg.header.sequence_number != seq {
                    continue;
                }
                if let NetlinkPayload::Error(e) = msg.payload {
                    return match e.code {
                        None => Ok(()),
                        Some(code) => {
                            let errno = code.get().saturating_abs();
                            Err(NetlinkError::Kernel {
                                op,
                                errno,
                                source: std::io::Error::from_raw_os_error(errno),
                            })
                        }
                    };
                }
            }
        }
    }
}

fn to_io(e: Errno) -> NetlinkError {
    NetlinkError::Io(std::io::Error::from(e))
}
