// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The HTTP_GET / SSL_GET answer decoder on arbitrary bytes, split into
//! reads at arbitrary points, with and without a digest and a regex.
//! Nothing may panic; the head must stay within its limit; the verdict
//! must not depend on how the bytes were split into reads, and judging
//! must agree with the decoded fields.
#![no_main]

use keepalived_probe::http::regex::UrlRegex;
use keepalived_probe::http::response::{Decoder, Expect, Feed, HEAD_LIMIT, judge};
use libfuzzer_sys::fuzz_target;

/// Compiled once: compiling per input would dominate the run.
static RE: std::sync::LazyLock<Option<UrlRegex>> =
    std::sync::LazyLock::new(|| UrlRegex::compile("[Oo]K|x{3,}", &[], None, None).ok());

fn decode(data: &[u8], cuts: &[usize], digest: bool, regex: Option<UrlRegex>) -> (keepalived_probe::http::response::Decoded, bool) {
    let mut d = Decoder::new(digest, regex);
    let mut at = 0;
    let mut stopped = false;
    for &c in cuts.iter().chain(std::iter::once(&data.len())) {
        let end = c.clamp(at, data.len());
        if d.feed(&data[at..end]) == Feed::HeadTooLong {
            stopped = true;
            break;
        }
        at = end;
    }
    (d.finish(), stopped)
}

fuzz_target!(|input: &[u8]| {
    // First byte: how to split; the rest: the answer.
    let Some((&seed, data)) = input.split_first() else { return };
    let step = usize::from(seed % 61) + 1;
    let cuts: Vec<usize> = (step..data.len()).step_by(step).collect();
    let re = RE.clone();
    let (whole, stopped_whole) = decode(data, &[], true, re.clone());
    let (split, stopped_split) = decode(data, &cuts, true, re.clone());
    assert_eq!(stopped_whole, stopped_split);
    assert_eq!(whole.head, split.head);
    assert_eq!(whole.md5, split.md5);
    assert_eq!(whole.body_bytes, split.body_bytes);
    assert_eq!(whole.regex_matched, split.regex_matched);
    if let Some(h) = whole.head {
        assert!(h.len <= HEAD_LIMIT);
    }
    let want = Expect {
        status: &[(200, 299), (404, 404)],
        digest: whole.md5,
        regex: Some(false),
    };
    let v = judge(&whole, &want);
    match whole.head {
        None => assert!(v.is_err()),
        Some(h) if !((200..=299).contains(&h.status) || h.status == 404) => assert!(v.is_err()),
        Some(_) => assert_eq!(v.is_ok(), whole.regex_matched),
    }
    let _ = decode(data, &cuts, false, None);
});
