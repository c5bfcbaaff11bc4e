// SPDX-License-Identifier: Apache-2.0 OR MIT
//! PING_CHECK's echo request and its reading of the answer, without I/O
//! (`check_ping.c: ping_it`, `recv_it`, `ping6_it`, `recv6_it`).
//!
//! The request is an ICMP (ICMPv6) echo with a zero identifier and
//! checksum (the kernel's ping socket fills both), a sequence number and
//! 128 bytes of keepalived's "keepalived check - " pattern. The first
//! datagram the socket delivers is judged: fewer than 8 bytes, or a type
//! other than echo reply, is a failure, as in keepalived. (A ping socket
//! only delivers echo replies carrying its own identifier.)

/// keepalived's payload size.
pub const PAYLOAD_LEN: usize = 128;
/// An ICMP header.
pub const HEADER_LEN: usize = 8;

const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;

/// The echo request.
pub fn request(v6: bool, seq: u16) -> Vec<u8> {
    let mut p = Vec::with_capacity(HEADER_LEN + PAYLOAD_LEN);
    p.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    p.extend_from_slice(&[0; 5]);
    // keepalived stores its counter without byte swapping; the value
    // only has to differ from one echo to the next.
    p.extend_from_slice(&seq.to_ne_bytes());
    p.extend(
        b"keepalived check - "
            .iter()
            .copied()
            .cycle()
            .take(PAYLOAD_LEN),
    );
    p
}

/// What the first datagram says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Reply,
    Short(usize),
    OtherType(u8),
}

pub fn judge(v6: bool, datagram: &[u8]) -> Reading {
    if datagram.len() < HEADER_LEN {
        return Reading::Short(datagram.len());
    }
    let want = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    match datagram[0] {
        t if t == want => Reading::Reply,
        t => Reading::OtherType(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let r = request(false, 0x0102);
        assert_eq!(r.len(), 136);
        assert_eq!(&r[..6], &[8, 0, 0, 0, 0, 0]);
        assert_eq!(&r[6..8], &0x0102u16.to_ne_bytes());
        assert_eq!(&r[8..27], b"keepalived check - ");
        assert!(
            r[8..]
                .chunks(19)
                .all(|c| b"keepalived check - ".starts_with(c))
        );
        assert_eq!(request(true, 0)[0], 128);
    }

    #[test]
    fn replies() {
        let mut reply = vec![0u8; 8];
        assert_eq!(judge(false, &reply), Reading::Reply);
        assert_eq!(judge(true, &reply), Reading::OtherType(0));
        reply[0] = 129;
        assert_eq!(judge(true, &reply), Reading::Reply);
        assert_eq!(judge(false, &reply[..7]), Reading::Short(7));
        reply[0] = 3;
        assert_eq!(judge(false, &reply), Reading::OtherType(3));
    }
}
