// SPDX-License-Identifier: Apache-2.0 OR MIT
//! DNS_CHECK's query and its reading of the answer, without I/O
//! (`check_dns.c: dns_make_query`, `dns_recv_thread`).
//!
//! The query is built with hickory-proto: a 12-byte header with the
//! caller's ID, RD=1, one question of class IN, no other records (so no
//! EDNS OPT record, as keepalived sends none).
//!
//! The answer is judged on the header bytes alone, in keepalived's order,
//! so that a reply a strict parser would refuse (a truncated question, a
//! bad compression pointer, trailing garbage) still passes as it does in
//! keepalived:
//!
//! 1. fewer than [`HEADER_LEN`] bytes: ignored, keep waiting;
//! 2. an ID other than ours: ignored (a late answer to an earlier probe, or
//!    a spoof), keep waiting;
//! 3. QR clear (a query, not a response): ignored, keep waiting;
//! 4. RCODE not 0: failure, `read error occurred. (rcode = N)`;
//! 5. otherwise success, whatever the counts say (NODATA passes).
//!
//! Where we differ on purpose: keepalived's size test compares with the
//! size of a *pointer* (8 bytes on 64-bit) instead of the header's 12, so
//! an 8 to 11-byte datagram was read as a header; we ignore anything
//! shorter than a DNS header.

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use keepalived_config::model::checker::DnsType;

/// The size of a DNS header.
pub const HEADER_LEN: usize = 12;

/// keepalived's on-wire code of a `type` keyword.
pub fn type_code(t: DnsType) -> u16 {
    match t {
        DnsType::A => 1,
        DnsType::Ns => 2,
        DnsType::Cname => 5,
        DnsType::Soa => 6,
        DnsType::Mx => 15,
        DnsType::Txt => 16,
        DnsType::Aaaa => 28,
        DnsType::Rrsig => 46,
        DnsType::Dnskey => 48,
    }
}

/// The question's name: `name` as written (`.` or none: the root).
pub fn question_name(name: Option<&str>) -> Result<Name, String> {
    match name {
        None | Some(".") => Ok(Name::root()),
        Some(n) => {
            Name::from_ascii(n).map_err(|e| format!("DNS_CHECK name '{n}' cannot be sent: {e}"))
        }
    }
}

/// The query datagram.
pub fn query(id: u16, name: &Name, qtype: u16) -> Result<Vec<u8>, String> {
    query_message(id, name, RecordType::from(qtype))
        .to_vec()
        .map_err(|e| format!("DNS_CHECK query for '{name}' cannot be encoded: {e}"))
}

/// A standard query: ID, RD=1, one question of class IN, nothing else
/// (the resolver of real servers named by DNS adds its EDNS0 record).
pub(crate) fn query_message(id: u16, name: &Name, qtype: RecordType) -> Message {
    let mut q = Query::query(name.clone(), qtype);
    q.set_query_class(DNSClass::IN);
    let mut m = Message::new();
    m.set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(q);
    m
}

/// What one received datagram means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// Not an answer to this query: keep waiting until the deadline.
    Ignore(Ignored),
    /// Our answer, RCODE 0.
    Success,
    /// Our answer with this RCODE.
    Rcode(u8),
}

/// Why a datagram was ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ignored {
    TooShort,
    OtherId(u16),
    NotAResponse,
}

/// Reads `datagram` as the answer to query `id`.
pub fn judge(datagram: &[u8], id: u16) -> Reading {
    let Some(header) = datagram.get(..HEADER_LEN) else {
        return Reading::Ignore(Ignored::TooShort);
    };
    let got = u16::from_be_bytes([header[0], header[1]]);
    if got != id {
        return Reading::Ignore(Ignored::OtherId(got));
    }
    let flags = u16::from_be_bytes([header[2], header[3]]);
    if flags & 0x8000 == 0 {
        return Reading::Ignore(Ignored::NotAResponse);
    }
    match (flags & 0x000f) as u8 {
        0 => Reading::Success,
        rcode => Reading::Rcode(rcode),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(id: u16, flags: u16) -> Vec<u8> {
        let mut h = Vec::new();
        h.extend_from_slice(&id.to_be_bytes());
        h.extend_from_slice(&flags.to_be_bytes());
        h.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
        h
    }

    #[test]
    fn query_bytes_are_keepalived_s() -> Result<(), String> {
        // keepalived 2.2.7 for `type A`, `name example.test`, ID 0x1234:
        // header (RD only, QDCOUNT 1), labels, root, type, class IN.
        let q = query(0x1234, &question_name(Some("example.test"))?, 1)?;
        let mut want = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x07example\x04test\x00\x00\x01\x00\x01");
        assert_eq!(q, want);
        // A trailing dot changes nothing; the root is one zero byte; case
        // is kept as written.
        assert_eq!(
            query(0x1234, &question_name(Some("example.test."))?, 1)?,
            want
        );
        let root = query(7, &question_name(None)?, type_code(DnsType::Soa))?;
        assert_eq!(&root[HEADER_LEN..], b"\x00\x00\x06\x00\x01");
        assert_eq!(root, query(7, &question_name(Some("."))?, 6)?);
        let mixed = query(7, &question_name(Some("WwW.Example.TEST"))?, 28)?;
        assert_eq!(
            &mixed[HEADER_LEN..],
            b"\x03WwW\x07Example\x04TEST\x00\x00\x1c\x00\x01"
        );
        Ok(())
    }

    #[test]
    fn service_names_go_as_written() -> Result<(), String> {
        let q = query(1, &question_name(Some("_sip._udp.example.test"))?, 33)?;
        assert_eq!(
            &q[HEADER_LEN..],
            b"\x04_sip\x04_udp\x07example\x04test\x00\x00\x21\x00\x01"
        );
        Ok(())
    }

    #[test]
    fn non_ascii_names_are_refused() {
        // keepalived sent the bytes as they were; we refuse them at load.
        let r = question_name(Some("caf\u{e9}.example.test")).map(|n| n.to_ascii());
        assert!(r.is_err(), "{r:?}");
    }

    #[test]
    fn names_that_cannot_be_sent_are_refused() {
        let long = "a".repeat(64);
        assert!(question_name(Some(&long)).is_err());
        let total = vec!["abcdefghi"; 30].join(".");
        assert!(question_name(Some(&total)).is_err());
    }

    #[test]
    fn type_codes() {
        let all = [
            (DnsType::A, 1),
            (DnsType::Ns, 2),
            (DnsType::Cname, 5),
            (DnsType::Soa, 6),
            (DnsType::Mx, 15),
            (DnsType::Txt, 16),
            (DnsType::Aaaa, 28),
            (DnsType::Rrsig, 46),
            (DnsType::Dnskey, 48),
        ];
        for (t, c) in all {
            assert_eq!(type_code(t), c, "{t:?}");
        }
    }

    #[test]
    fn verdict_from_header_bytes_only() {
        // QR + RD + RA, NOERROR: success even with nothing after the
        // header although QDCOUNT says 1 (a strict parser refuses it).
        assert_eq!(judge(&header(9, 0x8180), 9), Reading::Success);
        let mut garbage = header(9, 0x8180);
        garbage.extend_from_slice(&[0xc0, 0xff, 0xff]);
        assert_eq!(judge(&garbage, 9), Reading::Success);
        // The rule matters: a full parse refuses both.
        assert!(Message::from_vec(&header(9, 0x8180)).is_err());
        assert!(Message::from_vec(&garbage).is_err());
        assert_eq!(judge(&header(9, 0x8185), 9), Reading::Rcode(5));
        assert_eq!(judge(&header(9, 0x8183), 9), Reading::Rcode(3));
        assert_eq!(
            judge(&header(8, 0x8180), 9),
            Reading::Ignore(Ignored::OtherId(8))
        );
        assert_eq!(
            judge(&header(9, 0x0100), 9),
            Reading::Ignore(Ignored::NotAResponse)
        );
        // A query echoed back with an error code is still not a response.
        assert_eq!(
            judge(&header(9, 0x0105), 9),
            Reading::Ignore(Ignored::NotAResponse)
        );
        assert_eq!(
            judge(&header(9, 0x8180)[..11], 9),
            Reading::Ignore(Ignored::TooShort)
        );
        assert_eq!(judge(&[], 9), Reading::Ignore(Ignored::TooShort));
    }
}
