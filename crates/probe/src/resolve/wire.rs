// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The resolver's query and its reading of the answer, without I/O, for
//! real servers named by DNS (keepalived-rs extension).
//!
//! Unlike DNS_CHECK (which keeps keepalived's header-only verdict), the
//! addresses of real servers come from here, so an answer is parsed fully
//! and refused unless every check passes. In order:
//!
//! 1. fewer than 12 bytes: dropped ([`Dropped::TooShort`]);
//! 2. not a DNS message hickory-proto can parse: dropped (`Malformed`);
//! 3. an ID other than the query's: dropped (`WrongId`: a late answer to a
//!    superseded attempt, or a spoof);
//! 4. QR clear: dropped (`NotAResponse`);
//! 5. not exactly our question (name without regard to case, type,
//!    class IN): dropped (`WrongQuestion`);
//! 6. TC set: [`Reading::Truncated`], ask again over TCP;
//! 7. RCODE: NXDOMAIN, REFUSED, anything but NOERROR is "other";
//! 8. NOERROR: the answer section is followed from the question's name
//!    through at most [`MAX_CNAME_HOPS`] CNAMEs (a loop or a longer chain
//!    is "other"), and the records of the asked type owned by the final
//!    name are taken. For SRV, each record is returned with its priority,
//!    weight and port, and with the target's addresses found in the
//!    additional section (where dnsmasq, BIND and CoreDNS put them when
//!    they have them); a target without any there is left for the caller
//!    to ask on its own. A record whose target is `.` (RFC 2782: the
//!    service is decidedly not available there) is skipped.
//!
//! What comes from the wrong source address or port is refused by the I/O
//! shell before it gets here ([`from_nameserver`]). At most `max` targets
//! are returned; the rest are counted in [`Answer::dropped`].

use std::net::{IpAddr, SocketAddr};

use hickory_proto::op::{Edns, Message, MessageType, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

pub use crate::dns::wire::HEADER_LEN;
use crate::dns::wire::query_message;
/// Longer chains are refused (resolvers commonly stop around 8 to 16).
pub const MAX_CNAME_HOPS: usize = 8;

/// What is asked for a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    A,
    Aaaa,
    /// SRV, keeping targets' addresses of this family.
    Srv {
        v6: bool,
    },
}

impl Ask {
    fn record_type(self) -> RecordType {
        match self {
            Ask::A => RecordType::A,
            Ask::Aaaa => RecordType::AAAA,
            Ask::Srv { .. } => RecordType::SRV,
        }
    }
}

/// One address read from an answer (port and weight from SRV).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub addr: IpAddr,
    pub port: u16,
    pub weight: Option<u16>,
}

/// One SRV record of an answer: the pure resolver logic's own type, so
/// the wire reader's output goes to it as is.
pub use keepalived_check::resolve::SrvRecord;

/// A NOERROR answer's addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// A/AAAA: the addresses.
    pub found: Vec<Found>,
    /// SRV: the records (at most `max`).
    pub srv: Vec<SrvRecord>,
    /// Smallest TTL of the records used (0 when there were none).
    pub ttl: u32,
    /// Records beyond `max`, SRV targets without an address.
    pub dropped: u64,
}

/// What one datagram (or TCP message) means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Dropped(Dropped),
    Truncated,
    Valid(Answer),
    NxDomain,
    Refused,
    /// Another RCODE, or a CNAME loop / overlong chain.
    Other(String),
}

/// Why a message was not taken as the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    TooShort,
    Malformed,
    WrongId(u16),
    NotAResponse,
    WrongQuestion,
}

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dropped::TooShort => f.write_str("shorter than a DNS header"),
            Dropped::Malformed => f.write_str("not a well-formed DNS message"),
            Dropped::WrongId(id) => write!(f, "ID {id} is not the query's"),
            Dropped::NotAResponse => f.write_str("QR clear: not a response"),
            Dropped::WrongQuestion => f.write_str("not an answer to our question"),
        }
    }
}

/// The name as a question name (absolute).
pub fn question_name(host: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(host).map_err(|e| format!("'{host}' cannot be sent: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

/// The query: ID, RD=1, one question of class IN, an EDNS0 OPT record
/// advertising `payload` (HAProxy's `accepted_payload_size`).
pub fn query(id: u16, name: &Name, ask: Ask, payload: u16) -> Result<Vec<u8>, String> {
    let mut edns = Edns::new();
    edns.set_max_payload(payload.max(512));
    let mut m = query_message(id, name, ask.record_type());
    m.set_edns(edns);
    m.to_vec()
        .map_err(|e| format!("query for '{name}' cannot be encoded: {e}"))
}

/// Whether a datagram came from the nameserver it was sent to (same
/// address and port; an IPv4-mapped source counts as its IPv4 address).
pub fn from_nameserver(src: SocketAddr, ns: SocketAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    canon(src.ip()) == canon(ns.ip()) && src.port() == ns.port()
}

/// Reads `bytes` as the answer to query `id` for `name`/`ask`.
pub fn read(bytes: &[u8], id: u16, name: &Name, ask: Ask, max: usize) -> Reading {
    if bytes.len() < HEADER_LEN {
        return Reading::Dropped(Dropped::TooShort);
    }
    let Ok(m) = Message::from_vec(bytes) else {
        return Reading::Dropped(Dropped::Malformed);
    };
    if m.id() != id {
        return Reading::Dropped(Dropped::WrongId(m.id()));
    }
    if m.message_type() != MessageType::Response {
        return Reading::Dropped(Dropped::NotAResponse);
    }
    let ours = match m.queries() {
        [q] => {
            q.name().eq_ignore_root(name)
                && q.query_type() == ask.record_type()
                && q.query_class() == DNSClass::IN
        }
        _ => false,
    };
    if !ours {
        return Reading::Dropped(Dropped::WrongQuestion);
    }
    if m.truncated() {
        return Reading::Truncated;
    }
    match m.response_code() {
        ResponseCode::NoError => {}
        ResponseCode::NXDomain => return Reading::NxDomain,
        ResponseCode::Refused => return Reading::Refused,
        other => return Reading::Other(format!("rcode {other}")),
    }
    let owner = match follow_cnames(m.answers(), name) {
        Ok(n) => n,
        Err(why) => return Reading::Other(why),
    };
    let mut ans = Answer {
        found: Vec::new(),
        srv: Vec::new(),
        ttl: u32::MAX,
        dropped: 0,
    };
    let take = |ans: &mut Answer, f: Found, ttl: u32| {
        if ans.found.len() >= max {
            ans.dropped += 1;
        } else {
            ans.found.push(f);
            ans.ttl = ans.ttl.min(ttl);
        }
    };
    for r in m
        .answers()
        .iter()
        .filter(|r| r.name().eq_ignore_root(&owner))
    {
        match (ask, r.data()) {
            (Ask::A, RData::A(a)) => take(
                &mut ans,
                Found {
                    addr: IpAddr::V4(a.0),
                    port: 0,
                    weight: None,
                },
                r.ttl(),
            ),
            (Ask::Aaaa, RData::AAAA(a)) => take(
                &mut ans,
                Found {
                    addr: IpAddr::V6(a.0),
                    port: 0,
                    weight: None,
                },
                r.ttl(),
            ),
            (Ask::Srv { v6 }, RData::SRV(srv)) => {
                if srv.target().is_root() {
                    continue;
                }
                if ans.srv.len() >= max {
                    ans.dropped += 1;
                    continue;
                }
                let mut ttl = r.ttl();
                let mut addrs = Vec::new();
                for (addr, t) in glue(m.additionals(), srv.target(), v6) {
                    if addrs.len() >= max {
                        ans.dropped += 1;
                    } else if !addrs.contains(&addr) {
                        addrs.push(addr);
                        ttl = ttl.min(t);
                    }
                }
                ans.ttl = ans.ttl.min(ttl);
                ans.srv.push(SrvRecord {
                    target: target_name(srv.target()),
                    priority: srv.priority(),
                    weight: srv.weight(),
                    port: srv.port(),
                    glue: addrs,
                });
            }
            _ => {}
        }
    }
    if ans.found.is_empty() && ans.srv.is_empty() {
        ans.ttl = 0;
    }
    Reading::Valid(ans)
}

/// An SRV target as the key its follow-up query and its addresses go by.
fn target_name(n: &Name) -> String {
    let mut t = n.to_lowercase().to_ascii();
    if t.len() > 1 && t.ends_with('.') {
        t.pop();
    }
    t
}

/// The name the answer's records belong to after the CNAME chain.
fn follow_cnames(answers: &[Record], qname: &Name) -> Result<Name, String> {
    let mut owner = qname.clone();
    for _ in 0..=MAX_CNAME_HOPS {
        let next = answers.iter().find_map(|r| match r.data() {
            RData::CNAME(c) if r.name().eq_ignore_root(&owner) => Some(c.0.clone()),
            _ => None,
        });
        match next {
            Some(n) if n.eq_ignore_root(qname) => {
                return Err(format!("CNAME loop back to {qname}"));
            }
            Some(n) => owner = n,
            None => return Ok(owner),
        }
    }
    Err(format!(
        "CNAME chain longer than {MAX_CNAME_HOPS} (or a loop) from {qname}"
    ))
}

/// An SRV target's addresses of the wanted family from the additional
/// section, with their TTLs.
fn glue(additionals: &[Record], target: &Name, v6: bool) -> Vec<(IpAddr, u32)> {
    additionals
        .iter()
        .filter(|r| r.name().eq_ignore_root(target))
        .filter_map(|r| match (r.data(), v6) {
            (RData::A(a), false) => Some((IpAddr::V4(a.0), r.ttl())),
            (RData::AAAA(a), true) => Some((IpAddr::V6(a.0), r.ttl())),
            _ => None,
        })
        .collect()
}
