// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The IPVS client: one generic netlink socket, blocking.
//!
//! Blocking on purpose: generic netlink runs the kernel's handler inside
//! our `send`, so a request is finished (and its ack queued) when `send`
//! returns; there is nothing to await. The checker child calls it from
//! `tokio::task::spawn_blocking` (the handle is `Send`) for big batches,
//! which keeps one big apply from stalling its runtime, and inline for
//! the few ops of a health change.
//!
//! Batching: [`Ipvs::apply`] packs many requests, each with its own
//! sequence number, into one `send`; the kernel handles them in order and
//! queues one ack each, which we then read and match by sequence number.
//! The receive buffer bounds how many acks may wait, hence the chunks.

use std::os::fd::{AsRawFd, OwnedFd};

use nix::errno::Errno as NixErrno;
use nix::sys::socket::{
    AddressFamily, MsgFlags, NetlinkAddr, SockFlag, SockProtocol, SockType, bind, recv, send,
    setsockopt, socket, sockopt,
};

use crate::consts::nl;
use crate::decode::{self, DecodeError, FrameKind, GenlMessage};
use crate::encode::{self, Request};
use crate::error::{Applied, Error, OpError, OpErrorKind};
use crate::model::{
    DestStatus, Info, Op, ServiceEntry, ServiceStatus, SyncDaemon, Table, Timeouts,
};

/// Receive buffer we ask for (SO_RCVBUFFORCE; the kernel doubles it).
/// Each queued ack costs well under 1 KiB of it.
const RCVBUF: usize = 8 << 20;
/// Requests per `send`: their acks must fit the receive buffer, and the
/// request bytes the send buffer.
const CHUNK_MSGS: usize = 2048;
const CHUNK_BYTES: usize = 160 << 10;
/// Longest wait for an answer the kernel owes us.
const ANSWER_TIMEOUT_S: i64 = 30;
/// One `recv`; dump parts are at most this big because netlink sizes them
/// after the largest buffer we read with.
const RECV_BUF: usize = 64 << 10;

/// Requests about to go in one `send`.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    /// Index into the ops of each message, in order; message k carries
    /// sequence number (the client's seq before the batch) + 1 + k.
    sent: Vec<usize>,
    /// Where the last message starts in `bytes`.
    last_at: usize,
}

impl Batch {
    /// Appends one encoded request, numbering it after `seq_before` and
    /// the messages already in the batch.
    fn push(&mut self, op: usize, mut msg: Vec<u8>, seq_before: u32) {
        let seq = seq_before
            .wrapping_add(1)
            .wrapping_add(self.sent.len() as u32);
        encode::set_seq(&mut msg, seq);
        self.last_at = self.bytes.len();
        self.bytes.extend_from_slice(&msg);
        self.sent.push(op);
    }
}

/// A handle on the kernel's IPVS.
pub struct Ipvs {
    fd: OwnedFd,
    family: u16,
    seq: u32,
    buf: Vec<u8>,
}

impl std::fmt::Debug for Ipvs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ipvs")
            .field("family", &self.family)
            .finish()
    }
}

impl Ipvs {
    /// Opens a generic netlink socket and resolves the "IPVS" family
    /// (the kernel loads ip_vs on this request when it is a module).
    pub fn open() -> Result<Ipvs, Error> {
        let fd = socket(
            AddressFamily::Netlink,
            SockType::Raw,
            SockFlag::SOCK_CLOEXEC,
            SockProtocol::NetlinkGeneric,
        )
        .map_err(sock_err)?;
        bind(fd.as_raw_fd(), &NetlinkAddr::new(0, 0)).map_err(sock_err)?;
        // FORCE needs CAP_NET_ADMIN, which IPVS needs anyway; without it
        // the plain option (capped by rmem_max) still helps.
        if setsockopt(&fd, sockopt::RcvBufForce, &RCVBUF).is_err() {
            setsockopt(&fd, sockopt::RcvBuf, &RCVBUF).map_err(sock_err)?;
        }
        // The kernel answers within the send; a reply that never comes
        // (a message it skipped) must not hang the checker for ever.
        let limit = nix::sys::time::TimeVal::new(ANSWER_TIMEOUT_S, 0);
        setsockopt(&fd, sockopt::ReceiveTimeout, &limit).map_err(sock_err)?;
        let mut ipvs = Ipvs {
            fd,
            family: nl::GENL_ID_CTRL,
            seq: 0,
            buf: vec![0; RECV_BUF],
        };
        let req =
            encode::resolve_family(crate::consts::FAMILY_NAME).map_err(|source| Error::Encode {
                what: "family lookup",
                source,
            })?;
        let replies = match ipvs.request(nl::GENL_ID_CTRL, &req, "family lookup") {
            Err(Error::Kernel { errno, .. }) if errno == nix::libc::ENOENT => {
                return Err(Error::NoIpvs);
            }
            other => other?,
        };
        let msg = replies.first().ok_or(Error::NoIpvs)?;
        ipvs.family = decode::family_id(msg).map_err(|source| Error::Decode {
            what: "family lookup",
            source,
        })?;
        Ok(ipvs)
    }

    /// The generic netlink id the kernel gave the IPVS family.
    pub fn family_id(&self) -> u16 {
        self.family
    }

    /// Services and their destinations, without live counters.
    pub fn dump(&mut self) -> Result<Table, Error> {
        Ok(Table {
            services: self
                .dump_status()?
                .into_iter()
                .map(|s| ServiceEntry {
                    service: s.service,
                    dests: s.dests.into_iter().map(|d| d.dest).collect(),
                })
                .collect(),
        })
    }

    /// Services and destinations with connection and traffic counters.
    pub fn dump_status(&mut self) -> Result<Vec<ServiceStatus>, Error> {
        let mut out = Vec::new();
        for msg in self.request_ipvs(&encode::get_services(), "service dump")? {
            let (service, stats) = decode::service(&msg).map_err(dec("service dump"))?;
            out.push(ServiceStatus {
                service,
                stats,
                dests: Vec::new(),
            });
        }
        // One dump per service: netlink runs one dump at a time per socket.
        for s in &mut out {
            let req = encode::get_dests(&s.service.key).map_err(enc("destination dump"))?;
            for msg in self.request_ipvs(&req, "destination dump")? {
                let (dest, counters, stats) =
                    decode::dest(&msg, s.service.key.family()).map_err(dec("destination dump"))?;
                s.dests.push(DestStatus {
                    dest,
                    counters,
                    stats,
                });
            }
        }
        Ok(out)
    }

    pub fn info(&mut self) -> Result<Info, Error> {
        self.get_one(&encode::get_info(), "info", decode::info)
    }

    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        self.get_one(&encode::get_timeouts(), "timeouts", decode::timeouts)
    }

    /// The running sync daemons.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        self.request_ipvs(&encode::get_daemons(), "daemon dump")?
            .iter()
            .map(|m| decode::daemon(m).map_err(dec("daemon dump")))
            .collect()
    }

    /// Zeroes the counters of one service, or of every service.
    pub fn zero(&mut self, key: Option<&crate::model::ServiceKey>) -> Result<(), Error> {
        let req = encode::zero(key).map_err(enc("zero"))?;
        self.request_ipvs(&req, "zero").map(|_| ())
    }

    /// Carries out `ops` in order and says how each went, at the same
    /// index. A failed op does not stop the others (the kernel handles
    /// each message of a batch on its own). EEXIST on an add and
    /// ENOENT/ESRCH on a delete are successes ([`Applied::AlreadyThere`],
    /// [`Applied::AlreadyGone`]).
    pub fn apply(&mut self, ops: &[Op]) -> Vec<Result<Applied, OpError>> {
        let mut results: Vec<Option<Result<Applied, OpError>>> = vec![None; ops.len()];
        let mut batch = Batch::default();
        for (i, op) in ops.iter().enumerate() {
            let bytes = match encode::op_request(op)
                .and_then(|r| r.to_bytes_acked(self.family, 0, false))
            {
                Ok(b) => b,
                Err(e) => {
                    results[i] = Some(Err(op_err(op, OpErrorKind::Invalid(e))));
                    continue;
                }
            };
            if !batch.sent.is_empty()
                && (batch.sent.len() >= CHUNK_MSGS || batch.bytes.len() + bytes.len() > CHUNK_BYTES)
            {
                self.flush(&mut batch, ops, &mut results);
            }
            batch.push(i, bytes, self.seq);
        }
        self.flush(&mut batch, ops, &mut results);
        results
            .into_iter()
            .zip(ops)
            .map(|(r, op)| {
                r.unwrap_or_else(|| Err(op_err(op, OpErrorKind::NoAnswer("lost".to_owned()))))
            })
            .collect()
    }

    /// Sends `batch` (its last message asking for the ack) and reads the
    /// answers; empties it.
    fn flush(
        &mut self,
        batch: &mut Batch,
        ops: &[Op],
        results: &mut [Option<Result<Applied, OpError>>],
    ) {
        if batch.sent.is_empty() {
            return;
        }
        encode::set_ack(&mut batch.bytes[batch.last_at..]);
        let base = self.seq.wrapping_add(1);
        self.seq = self.seq.wrapping_add(batch.sent.len() as u32);
        let outcome = self
            .send_all(&batch.bytes)
            .and_then(|()| self.collect_answers(base, &batch.sent, ops, results));
        if let Err(e) = outcome {
            for &i in &batch.sent {
                if results[i].is_none() {
                    results[i] = Some(Err(op_err(&ops[i], OpErrorKind::NoAnswer(e.to_string()))));
                }
            }
        }
        batch.bytes.clear();
        batch.sent.clear();
    }

    /// Sends `req` and returns the raw datagrams of its answer, for
    /// capturing fixtures. Not for production use.
    #[doc(hidden)]
    pub fn exchange_raw(&mut self, req: &Request) -> Result<Vec<Vec<u8>>, Error> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let what = "raw exchange";
        let bytes = req
            .to_bytes(self.family, seq)
            .map_err(|source| Error::Encode { what, source })?;
        self.send_all(&bytes).map_err(sock_err)?;
        let mut out = Vec::new();
        loop {
            let n = self.recv_some().map_err(sock_err)?;
            let frames = decode::frames(&self.buf[..n]).map_err(dec(what))?;
            let mine = frames.iter().any(|f| f.seq == seq);
            let end = frames.iter().any(|f| {
                f.seq == seq
                    && match f.kind {
                        FrameKind::Data(_) => !req.dump,
                        _ => true,
                    }
            });
            if mine {
                out.push(self.buf[..n].to_vec());
            }
            if end {
                return Ok(out);
            }
        }
    }

    /// The sequence number the next request will carry.
    #[doc(hidden)]
    pub fn next_seq(&self) -> u32 {
        self.seq.wrapping_add(1)
    }

    // ===== plumbing =====

    /// Reads the kernel's answers to one batch: an error for each message
    /// that failed, then the ack (or error) of the last one. The kernel
    /// handles a batch's messages in order inside the send, so once the
    /// last has answered, every message that sent nothing succeeded.
    fn collect_answers(
        &mut self,
        base: u32,
        sent: &[usize],
        ops: &[Op],
        results: &mut [Option<Result<Applied, OpError>>],
    ) -> Result<(), NixErrno> {
        let last = sent.len() - 1;
        let mut done = false;
        while !done {
            let n = self.recv_some()?;
            let frames = match decode::frames(&self.buf[..n]) {
                Ok(f) => f,
                // A garbled buffer: its answers are lost, the rest may come.
                Err(_) => continue,
            };
            for f in frames {
                let pos = f.seq.wrapping_sub(base) as usize;
                let Some(&i) = sent.get(pos) else { continue };
                if results[i].is_some() {
                    continue;
                }
                let r = match f.kind {
                    FrameKind::Ack => Ok(Applied::Done),
                    FrameKind::Error(errno) => classify(&ops[i], errno),
                    _ => continue,
                };
                results[i] = Some(r);
                done |= pos == last;
            }
        }
        for &i in sent {
            results[i].get_or_insert(Ok(Applied::Done));
        }
        Ok(())
    }

    /// A plain GET: its one reply, decoded.
    fn get_one<T>(
        &mut self,
        req: &Request,
        what: &'static str,
        decode: fn(&GenlMessage) -> Result<T, DecodeError>,
    ) -> Result<T, Error> {
        let replies = self.request_ipvs(req, what)?;
        let msg = replies.first().ok_or(Error::Decode {
            what,
            source: DecodeError::Missing { what: "reply" },
        })?;
        decode(msg).map_err(dec(what))
    }

    fn request_ipvs(
        &mut self,
        req: &Request,
        what: &'static str,
    ) -> Result<Vec<GenlMessage>, Error> {
        self.request(self.family, req, what)
    }

    /// One request and all its replies (a dump's parts, or one answer),
    /// until DONE or the ack.
    fn request(
        &mut self,
        family: u16,
        req: &Request,
        what: &'static str,
    ) -> Result<Vec<GenlMessage>, Error> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let bytes = req
            .to_bytes(family, seq)
            .map_err(|source| Error::Encode { what, source })?;
        self.send_all(&bytes).map_err(sock_err)?;
        let mut out = Vec::new();
        loop {
            let n = self.recv_some().map_err(sock_err)?;
            let frames = decode::frames(&self.buf[..n]).map_err(dec(what))?;
            for f in frames {
                if f.seq != seq {
                    continue; // late answer to an earlier request
                }
                match f.kind {
                    FrameKind::Data(body) => {
                        out.push(GenlMessage::parse(body).map_err(dec(what))?);
                        // A plain (non-dump) GET answers with one message
                        // and no ack.
                        if !req.dump && f.flags & nix::libc::NLM_F_MULTI as u16 == 0 {
                            return Ok(out);
                        }
                    }
                    FrameKind::Done | FrameKind::Ack => return Ok(out),
                    FrameKind::Error(errno) => return Err(Error::Kernel { what, errno }),
                    FrameKind::Other => {}
                }
            }
        }
    }

    fn send_all(&self, bytes: &[u8]) -> Result<(), NixErrno> {
        loop {
            match send(self.fd.as_raw_fd(), bytes, MsgFlags::empty()) {
                Ok(_) => return Ok(()),
                Err(NixErrno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// One datagram into `self.buf`; its length.
    fn recv_some(&mut self) -> Result<usize, NixErrno> {
        loop {
            // MSG_TRUNC makes recv return the real length, so a datagram
            // bigger than the buffer is detected instead of cut silently.
            match recv(self.fd.as_raw_fd(), &mut self.buf, MsgFlags::MSG_TRUNC) {
                Ok(n) if n > self.buf.len() => return Err(NixErrno::EMSGSIZE),
                Ok(n) => return Ok(n),
                Err(NixErrno::EINTR) => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

/// EEXIST on an add and ENOENT/ESRCH on a delete leave the table as the
/// op wanted it.
fn classify(op: &Op, errno: i32) -> Result<Applied, OpError> {
    use nix::libc::{EEXIST, ENOENT, ESRCH};
    match (op, errno) {
        (Op::AddService(_) | Op::AddDest(..) | Op::StartDaemon(_), EEXIST) => {
            Ok(Applied::AlreadyThere)
        }
        (Op::DelService(_) | Op::DelDest(..) | Op::StopDaemon(_), ENOENT | ESRCH) => {
            Ok(Applied::AlreadyGone)
        }
        _ => Err(op_err(op, OpErrorKind::Kernel(errno))),
    }
}

fn op_err(op: &Op, kind: OpErrorKind) -> OpError {
    OpError {
        op: Box::new(op.clone()),
        kind,
    }
}

fn sock_err(e: NixErrno) -> Error {
    Error::Socket(std::io::Error::from(e))
}

fn dec(what: &'static str) -> impl Fn(DecodeError) -> Error {
    move |source| Error::Decode { what, source }
}

fn enc(what: &'static str) -> impl Fn(crate::encode::EncodeError) -> Error {
    move |source| Error::Encode { what, source }
}
