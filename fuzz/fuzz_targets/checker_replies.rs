// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the DNS, SMTP and UDP checkers read from a server, on arbitrary
//! bytes: the DNS answer judge, SMTP's line reader (fed in reads no
//! larger than it asks for, as the shell does) and status test, and
//! UDP_CHECK's `require_reply` pattern and reply matching. Nothing may
//! panic, and each verdict must agree with what it claims to have seen.
#![no_main]

use keepalived_probe::dns::wire::{Reading, judge};
use keepalived_probe::smtp::dialog::{LINE_MAX, LineReader, has_status};
use keepalived_probe::udp::reply::ReplyRule;
use libfuzzer_sys::fuzz_target;

fn dns(data: &[u8]) {
    // The query ID is the first two bytes: half the inputs answer it.
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    if let Reading::Success | Reading::Rcode(_) = judge(data, id) {
        assert!(
            data.len() >= 12,
            "a verdict on a datagram shorter than a header"
        );
        assert_eq!(u16::from_be_bytes([data[0], data[1]]), id);
        assert!(data[2] & 0x80 != 0, "a verdict on a query (QR clear)");
    }
    if let Reading::Rcode(r) = judge(data, id) {
        assert!(r != 0 && r <= 15);
    }
}

fn smtp(data: &[u8]) {
    let Some((&step, rest)) = data.split_first() else {
        return;
    };
    let step = usize::from(step) + 1;
    let mut r = LineReader::default();
    let mut at = 0;
    while at < rest.len() {
        let room = r.room();
        assert!((1..=LINE_MAX).contains(&room));
        let end = (at + step.min(room)).min(rest.len());
        if let Some(line) = r.feed(&rest[at..end]) {
            assert!(line.len() < LINE_MAX);
            // The newline that ended it was not behind a NUL.
            if let Some(nl) = line.iter().position(|&b| b == b'\n') {
                assert!(
                    line[..nl].contains(&0),
                    "a line cut after an earlier newline"
                );
            }
            for code in [b"220", b"250"] {
                if has_status(&line, code) {
                    assert!(line.starts_with(code));
                }
            }
            r = LineReader::default();
        }
        at = end;
    }
}

fn udp(data: &[u8]) {
    // First byte: where the pattern ends; next two: the lengths.
    let [cut, lo, hi, rest @ ..] = data else {
        return;
    };
    let cut = usize::from(*cut).min(rest.len());
    let (pattern, reply) = rest.split_at(cut);
    let Ok(pattern) = std::str::from_utf8(pattern) else {
        return;
    };
    let (min, max) = (u16::from(*lo), u16::from(*lo) + u16::from(*hi));
    if let Ok(rule) = ReplyRule::new(pattern, min, max) {
        assert_eq!(rule.data.len(), pattern.len() / 2);
        assert_eq!(rule.data.len(), rule.mask.len());
        assert_eq!(rule.read_len(), usize::from(max) + 1);
        let reply = &reply[..reply.len().min(rule.read_len())];
        if rule.accepts(reply) {
            assert!((usize::from(min)..=usize::from(max)).contains(&reply.len()));
            for ((r, d), m) in reply.iter().zip(&rule.data).zip(&rule.mask) {
                assert_eq!(r & !m, d & !m);
            }
        }
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&which, data)) = input.split_first() else {
        return;
    };
    match which % 3 {
        0 => dns(data),
        1 => smtp(data),
        _ => udp(data),
    }
});
