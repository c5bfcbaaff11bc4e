// SPDX-License-Identifier: Apache-2.0 OR MIT
//! UDP_CHECK's reading of a reply, without I/O (`check_udp.c:
//! check_udp_reply`, `parser.c: read_hex_str`).
//!
//! `require_reply` takes hex digits, `X` (or `x`) standing for any nibble.
//! A reply passes when:
//!
//! 1. its length is within `min_reply_length ..= max_reply_length`
//!    (the shell reads at most max + 1 bytes, so a longer datagram is seen
//!    as max + 1 and fails);
//! 2. its first min(reply length, pattern length) bytes equal the pattern
//!    outside the wildcard nibbles: a reply shorter than the pattern is
//!    compared on what it has, a longer one only on the pattern's length.
//!
//! Where we differ on purpose: keepalived checks the lengths only when a
//! pattern follows `require_reply`; a bare `require_reply` took any reply
//! whatever `min_reply_length` / `max_reply_length` said. We check them
//! whenever a reply is required, so those keywords are never ignored.

use serde::Serialize;

/// `require_reply` and the lengths, resolved.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ReplyRule {
    /// Expected bytes, wildcard nibbles zeroed.
    pub data: Vec<u8>,
    /// Per byte, the bits that are wildcards.
    pub mask: Vec<u8>,
    pub min_len: usize,
    pub max_len: usize,
}

impl ReplyRule {
    /// `pattern` as the configuration holds it (empty: any bytes).
    pub fn new(pattern: &str, min_len: u16, max_len: u16) -> Result<ReplyRule, String> {
        let bad = || format!("UDP_CHECK require_reply '{pattern}' is not hex digits (X: any)");
        if !pattern.len().is_multiple_of(2) {
            return Err(bad());
        }
        let mut data = Vec::with_capacity(pattern.len() / 2);
        let mut mask = Vec::with_capacity(pattern.len() / 2);
        for pair in pattern.as_bytes().chunks(2) {
            let (mut d, mut m) = (0u8, 0u8);
            for &c in pair {
                d <<= 4;
                m <<= 4;
                match c {
                    b'X' | b'x' => m |= 0x0f,
                    _ => d |= (c as char).to_digit(16).ok_or_else(bad)? as u8,
                }
            }
            data.push(d);
            mask.push(m);
        }
        Ok(ReplyRule {
            data,
            mask,
            min_len: usize::from(min_len),
            max_len: usize::from(max_len),
        })
    }

    /// How many bytes the shell must try to read: one more than the most
    /// allowed, so that a longer reply is noticed.
    pub fn read_len(&self) -> usize {
        self.max_len + 1
    }

    /// Whether `reply` (as read, at most [`ReplyRule::read_len`] bytes)
    /// passes.
    pub fn accepts(&self, reply: &[u8]) -> bool {
        if reply.len() < self.min_len || reply.len() > self.max_len {
            return false;
        }
        reply
            .iter()
            .zip(self.data.iter().zip(&self.mask))
            .all(|(r, (d, m))| (r ^ d) & !m == 0)
    }
}

/// keepalived's default payload: 32 bytes of "keepalived check - "
/// repeated.
pub fn default_payload() -> Vec<u8> {
    b"keepalived check - "
        .iter()
        .copied()
        .cycle()
        .take(32)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(p: &str, min: u16, max: u16) -> ReplyRule {
        match ReplyRule::new(p, min, max) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn wildcards_are_nibbles() {
        let r = rule("41X2xX", 0, 255);
        assert_eq!(r.data, [0x41, 0x02, 0x00]);
        assert_eq!(r.mask, [0x00, 0xf0, 0xff]);
        assert!(r.accepts(&[0x41, 0x02, 0x99]));
        assert!(r.accepts(&[0x41, 0xf2, 0x00]));
        assert!(!r.accepts(&[0x41, 0x03, 0x00]));
        assert!(!r.accepts(&[0x40, 0x02, 0x00]));
    }

    #[test]
    fn compared_on_the_shorter_of_reply_and_pattern() {
        let r = rule("414243", 0, 255);
        assert!(r.accepts(b"AB"));
        assert!(r.accepts(b"ABCDEF"));
        assert!(!r.accepts(b"AX"));
        // An empty datagram compares nothing: it passes unless
        // min_reply_length says otherwise.
        assert!(r.accepts(b""));
        assert!(!rule("414243", 1, 255).accepts(b""));
    }

    #[test]
    fn lengths_bound_the_reply_even_without_a_pattern() {
        let r = rule("", 2, 4);
        assert!(!r.accepts(b"A"));
        assert!(r.accepts(b"AB"));
        assert!(r.accepts(b"ABCD"));
        assert!(!r.accepts(b"ABCDE"));
        assert_eq!(r.read_len(), 5);
    }

    #[test]
    fn bad_patterns_are_refused() {
        for p in ["4", "4G", "zz", "41 42"] {
            assert!(ReplyRule::new(p, 0, 255).is_err(), "{p}");
        }
    }

    #[test]
    fn default_payload_is_keepalived_s() {
        assert_eq!(
            default_payload(),
            b"keepalived check - keepalived ch".to_vec()
        );
    }
}
