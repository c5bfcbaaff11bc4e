// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The answer of an HTTP_GET / SSL_GET server, decoded the way keepalived
//! 2.2.7 does it (`check_http.c: http_process_response`,
//! `http_handle_response`, `lib/html.c`), without any I/O: the shell feeds
//! the bytes it reads and calls [`Decoder::finish`] at the end of the
//! stream; [`judge`] then gives the verdict for one `url`.
//!
//! Reading, in keepalived's order:
//!
//! 1. Bytes are gathered until the first CRLFCRLF (the end of the head).
//!    keepalived reads into a 4096-byte buffer that keeps one byte for a
//!    NUL, so the head must end within the first [`HEAD_LIMIT`] (4095)
//!    bytes; once they are in without a CRLFCRLF its next read asks for 0
//!    bytes, which it takes for the end of the stream: "no data".
//!    [`Decoder::feed`] answers [`Feed::HeadTooLong`] at that point.
//! 2. Status code: skip to the first space or CR of the response; a space
//!    must follow, then exactly three digits, then a space. Anything else
//!    (`HTTP/1.1 200\r\n`, `HTTP/1.1 2000 OK`) is status 0. The line need
//!    not start with `HTTP/`.
//! 3. `Content-Length:` is searched case-sensitively as a substring (so
//!    `X-Content-Length:` matches too, and `content-length:` does not); its
//!    value is read as C's `strtoul` reads it (leading blanks, a sign,
//!    digits) and must be followed by CR, LF or the end; otherwise there is
//!    no length. A present length caps the bytes fed to MD5.
//! 4. MD5 (only when the url has a `digest`) over the body bytes, that is
//!    the bytes after the head, capped at Content-Length; a chunked body is
//!    hashed with its framing. The whole body is read (until the server
//!    closes) whatever the length says.
//! 5. Regex over the response bytes, head included; offsets count from the
//!    first byte of the response.
//!
//! Verdict ([`judge`]), first failure wins: no head → [`Failure::NoData`];
//! status not in the url's set → [`Failure::Status`]; digest differs →
//! [`Failure::Digest`]; regex not matched (or matched with
//! `regex_no_match`) → [`Failure::Regex`].
//!
//! Memory is bounded: at most [`HEAD_LIMIT`] bytes of head are kept, the
//! body is hashed as it arrives and only a window of at most
//! [`REGEX_WINDOW`] bytes is kept for the regex.
//!
//! Where we differ on purpose (none changes a verdict on a sane answer):
//! - `Content-Length:` is searched in the head only. keepalived searches
//!   the whole first read, so a body that says `Content-Length:` could cap
//!   the digest depending on how the bytes were split into reads.
//! - The regex sees the head on every answer. keepalived skips the first
//!   read (head included) when it carries no body byte, so whether the
//!   headers are searched depended on packet timing.
//! - The regex runs on one stream, not per read: `^` means the start of
//!   the response (keepalived: the start of any read), and a match is
//!   found across read boundaries within [`REGEX_WINDOW`] bytes (keepalived
//!   keeps partial matches up to its 4095-byte buffer). A match that
//!   touches the end of the bytes received so far is only trusted once
//!   more bytes or the end of the stream arrive (PCRE2's hard partial
//!   matching does the same).
//! - keepalived adds a regex-preserved prefix to its byte count, which can
//!   cap the digest early when a url has both a digest and a regex; we
//!   count received bytes only.

use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};

use crate::http::regex::UrlRegex;

/// The most bytes the head may take, CRLFCRLF included.
pub const HEAD_LIMIT: usize = 4095;
/// The regex window: bytes kept from earlier reads so a match may span
/// reads (keepalived's buffer less its NUL).
pub const REGEX_WINDOW: usize = 4095;

/// What was learnt from the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// 0 when the status line does not follow keepalived's rule.
    pub status: u16,
    /// `None`: no usable `Content-Length:` (keepalived's SIZE_MAX).
    pub content_length: Option<u64>,
    /// Bytes of head, CRLFCRLF included.
    pub len: usize,
}

/// Whether the shell should keep reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Feed {
    More,
    /// 4095 bytes without the end of the head: stop reading, the answer is
    /// "no data" (keepalived's zero-length read).
    HeadTooLong,
}

/// Everything [`judge`] needs, once the stream has ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decoded {
    pub head: Option<Head>,
    /// MD5 of the (capped) body; `None` when no digest was asked for.
    pub md5: Option<[u8; 16]>,
    /// Body bytes received (not capped).
    pub body_bytes: u64,
    /// Whether the url's regex matched (false without a regex).
    pub regex_matched: bool,
}

impl Decoded {
    /// `(Content-Length, body bytes received)` when they differ; keepalived
    /// logs this (once per distinct difference) but never fails on it.
    pub fn length_mismatch(&self) -> Option<(u64, u64)> {
        let cl = self.head?.content_length?;
        (cl != self.body_bytes).then_some((cl, self.body_bytes))
    }
}

/// Incremental decoder for one answer.
#[derive(Debug)]
pub struct Decoder {
    /// Bytes before the head was found (at most [`HEAD_LIMIT`]).
    pending: Vec<u8>,
    head: Option<Head>,
    md5: Option<Md5>,
    /// Body bytes fed to MD5 so far.
    hashed: u64,
    body_bytes: u64,
    regex: Option<RegexScan>,
}

impl Decoder {
    /// `digest`: compute the body MD5; `regex`: the url's regex.
    pub fn new(digest: bool, regex: Option<UrlRegex>) -> Decoder {
        Decoder {
            pending: Vec::new(),
            head: None,
            md5: digest.then(Md5::new),
            hashed: 0,
            body_bytes: 0,
            regex: regex.map(RegexScan::new),
        }
    }

    /// The head, once it has been seen.
    pub fn head(&self) -> Option<Head> {
        self.head
    }

    /// Feeds the next bytes read. Never keeps more than a bounded amount.
    pub fn feed(&mut self, mut data: &[u8]) -> Feed {
        // The whole head in the first chunk (the usual answer): read in
        // place, without copying the chunk aside.
        // The same pieces reach the body as by the copying path below.
        let take = data.len().min(HEAD_LIMIT);
        if self.head.is_none()
            && self.pending.is_empty()
            && let Some(len) = head_end(&data[..take])
        {
            let head_bytes = &data[..len];
            self.head = Some(Head {
                status: status_code(head_bytes),
                content_length: content_length(head_bytes),
                len,
            });
            if let Some(scan) = &mut self.regex {
                scan.push(head_bytes);
            }
            self.body(&data[len..take]);
            self.body(&data[take..]);
            return Feed::More;
        }
        if self.head.is_none() {
            let room = HEAD_LIMIT - self.pending.len();
            let take = data.len().min(room);
            let (now, rest) = data.split_at(take);
            self.pending.extend_from_slice(now);
            let Some(len) = head_end(&self.pending) else {
                return if self.pending.len() >= HEAD_LIMIT {
                    Feed::HeadTooLong
                } else {
                    Feed::More
                };
            };
            let head_bytes = &self.pending[..len];
            self.head = Some(Head {
                status: status_code(head_bytes),
                content_length: content_length(head_bytes),
                len,
            });
            let first = std::mem::take(&mut self.pending);
            if let Some(scan) = &mut self.regex {
                scan.push(&first[..len]);
            }
            self.body(&first[len..]);
            data = rest;
        }
        self.body(data);
        Feed::More
    }

    fn body(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        if let Some(md5) = &mut self.md5 {
            let cap = self.head.and_then(|h| h.content_length).unwrap_or(u64::MAX);
            let room = cap.saturating_sub(self.hashed);
            let n = usize::try_from(room).map_or(data.len(), |r| r.min(data.len()));
            md5.update(&data[..n]);
            self.hashed += n as u64;
        }
        self.body_bytes += data.len() as u64;
        if let Some(scan) = &mut self.regex {
            scan.push(data);
        }
    }

    /// The end of the stream (EOF, or a TLS close or error).
    pub fn finish(self) -> Decoded {
        let regex_matched = self.regex.is_some_and(|mut s| {
            s.end();
            s.matched
        });
        Decoded {
            head: self.head,
            md5: self.md5.map(|m| m.finalize().into()),
            body_bytes: self.body_bytes,
            regex_matched,
        }
    }
}

/// Offset just past the first CRLFCRLF.
fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// keepalived's `extract_status_code`.
pub fn status_code(head: &[u8]) -> u16 {
    let Some(sp) = head.iter().position(|&b| b == b' ' || b == b'\r') else {
        return 0;
    };
    if head[sp] != b' ' {
        return 0;
    }
    // Three digits then a space. keepalived's strtoul would also take a
    // sign or a leading tab, but such codes are below 100 and so never in
    // a status set: the verdict is the same as 0.
    match head.get(sp + 1..sp + 5) {
        Some([a, b, c, b' ']) if [a, b, c].iter().all(|d| d.is_ascii_digit()) => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => 0,
    }
}

/// keepalived's `extract_content_length` over the head.
pub fn content_length(head: &[u8]) -> Option<u64> {
    const TAG: &[u8] = b"Content-Length:";
    // keepalived's strstr stops at a NUL.
    let text = head.split(|&b| b == 0).next().unwrap_or_default();
    let at = text.windows(TAG.len()).position(|w| w == TAG)?;
    let value = &text[at + TAG.len()..];
    let (n, used) = strtoul(value);
    match value.get(used) {
        None | Some(b'\r' | b'\n') => n,
        Some(_) => None,
    }
}

/// C's `strtoul(s, &end, 10)`: the value (`None` on overflow, which
/// keepalived reads as "no length") and how many bytes it used (0 when
/// there is no number at all).
fn strtoul(s: &[u8]) -> (Option<u64>, usize) {
    let mut i = s
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r'))
        .count();
    let negative = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = s[i.min(s.len())..]
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return (Some(0), 0);
    }
    let value = s[i..i + digits].iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    });
    // A negated value wraps like C's unsigned long; u64::MAX is SIZE_MAX,
    // keepalived's "no length".
    let value = value
        .map(|v| if negative { v.wrapping_neg() } else { v })
        .filter(|v| *v != u64::MAX);
    (value, i + digits)
}

/// How a url passed, for keepalived's `<what> success to <RS> url(<path>)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Success {
    /// "HTTP status code".
    Status,
    /// "MD5 digest".
    Digest,
    /// "Regex match".
    Regex,
}

impl Success {
    pub fn text(self) -> &'static str {
        match self {
            Success::Status => "HTTP status code",
            Success::Digest => "MD5 digest",
            Success::Regex => "Regex match",
        }
    }
}

/// Why an answer failed, in keepalived's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Failure {
    /// No CRLFCRLF within [`HEAD_LIMIT`] bytes before the end.
    NoData,
    /// Status 0 or not in the url's set.
    Status(u16),
    /// MD5 differs from the url's digest.
    Digest,
    /// The regex did not match (or did, with `regex_no_match`).
    Regex,
}

impl Failure {
    /// keepalived's log text (followed by ` server <RS>.`).
    pub fn text(self) -> &'static str {
        match self {
            Failure::NoData => "Read, no data received from ",
            Failure::Status(_) => "HTTP status code error to",
            Failure::Digest => "MD5 digest error to",
            Failure::Regex => "Regex match failed",
        }
    }
}

/// What one url expects of the answer.
#[derive(Debug, Clone, Copy)]
pub struct Expect<'a> {
    /// Inclusive ranges.
    pub status: &'a [(u16, u16)],
    pub digest: Option<[u8; 16]>,
    /// `Some(no_match)` when the url has a regex.
    pub regex: Option<bool>,
}

/// keepalived's verdict for one url.
pub fn judge(d: &Decoded, want: &Expect<'_>) -> Result<Success, Failure> {
    let head = d.head.ok_or(Failure::NoData)?;
    if !want
        .status
        .iter()
        .any(|&(lo, hi)| (lo..=hi).contains(&head.status))
        || !(100..=599).contains(&head.status)
    {
        return Err(Failure::Status(head.status));
    }
    let mut how = Success::Status;
    if let Some(digest) = want.digest {
        if d.md5 != Some(digest) {
            return Err(Failure::Digest);
        }
        how = Success::Digest;
    }
    if let Some(no_match) = want.regex {
        if d.regex_matched == no_match {
            return Err(Failure::Regex);
        }
        how = Success::Regex;
    }
    Ok(how)
}

/// The regex run over the stream through a bounded window.
#[derive(Debug)]
struct RegexScan {
    re: UrlRegex,
    /// Bytes kept: one byte of context (when `base > 0`) then the tail of
    /// what came before, then the new bytes.
    window: Vec<u8>,
    /// Stream offset of `window[0]`.
    base: u64,
    matched: bool,
    /// A match was found beyond `regex_max_offset`: keepalived stops there.
    done: bool,
}

impl RegexScan {
    fn new(re: UrlRegex) -> RegexScan {
        RegexScan {
            re,
            window: Vec::new(),
            base: 0,
            matched: false,
            done: false,
        }
    }

    fn push(&mut self, data: &[u8]) {
        if self.done {
            return;
        }
        self.window.extend_from_slice(data);
        self.search(false);
        // Keep the tail (plus one byte of context for `^`, `\b`) for a
        // match that spans into the next read.
        let keep = REGEX_WINDOW + 1;
        if self.window.len() > keep {
            let cut = self.window.len() - keep;
            self.window.drain(..cut);
            self.base += cut as u64;
        }
    }

    fn end(&mut self) {
        if !self.done {
            self.search(true);
        }
    }

    fn search(&mut self, at_end: bool) {
        let min = self.re.min_offset.unwrap_or(0);
        // The context byte is never a match start.
        let from = usize::from(self.base > 0)
            .max(usize::try_from(min.saturating_sub(self.base)).unwrap_or(usize::MAX));
        // Past the last offset a match may start at: nothing more to do.
        if let Some(max) = self.re.max_offset
            && self.base.saturating_add(from as u64) > max
        {
            self.done = true;
            return;
        }
        if from > self.window.len() {
            return;
        }
        let Some(m) = self.re.regex.find_at(&self.window, from) else {
            return;
        };
        // A match that reaches the end of what we have may change with
        // more bytes (PCRE2's hard partial match): wait for them.
        if !at_end && m.end() == self.window.len() {
            return;
        }
        let start = self.base + m.start() as u64;
        self.done = true;
        self.matched = self.re.max_offset.is_none_or(|max| start <= max);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::regex::UrlRegex;

    fn decode(chunks: &[&[u8]], digest: bool, re: Option<UrlRegex>) -> Decoded {
        let mut d = Decoder::new(digest, re);
        for c in chunks {
            if d.feed(c) == Feed::HeadTooLong {
                break;
            }
        }
        d.finish()
    }

    fn md5_of(b: &[u8]) -> [u8; 16] {
        Md5::digest(b).into()
    }

    const OK: Expect<'static> = Expect {
        status: &[(200, 299)],
        digest: None,
        regex: None,
    };

    #[test]
    fn status_line_needs_a_space_after_three_digits() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n\r\n"), 200);
        assert_eq!(status_code(b"HTTP/1.0 404 \r\n\r\n"), 404);
        assert_eq!(status_code(b"HTTP/1.1 200\r\n\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1 2000 OK\r\n\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1  200 OK\r\n\r\n"), 0);
        assert_eq!(status_code(b"HTTP/1.1 20x OK\r\n\r\n"), 0);
        assert_eq!(status_code(b"\r\n\r\n"), 0);
        assert_eq!(status_code(b"XYZ 204 whatever\r\n\r\n"), 204);
        // The scan stops at the first CR, not at LF.
        assert_eq!(status_code(b"HTTP/1.1\n200 OK\r\n\r\n"), 0);
    }

    #[test]
    fn content_length_is_case_sensitive_and_strtoul_like() {
        let cl = |h: &str| content_length(h.as_bytes());
        assert_eq!(
            cl("HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\n"),
            Some(12)
        );
        assert_eq!(cl("HTTP/1.0 200 OK\r\ncontent-length: 12\r\n\r\n"), None);
        assert_eq!(cl("HTTP/1.0 200 OK\r\nContent-Length:7\r\n\r\n"), Some(7));
        assert_eq!(
            cl("HTTP/1.0 200 OK\r\nContent-Length: \t+7\r\n\r\n"),
            Some(7)
        );
        assert_eq!(cl("HTTP/1.0 200 OK\r\nContent-Length: 7 \r\n\r\n"), None);
        assert_eq!(cl("HTTP/1.0 200 OK\r\nContent-Length: x\r\n\r\n"), None);
        // No digits right before CR: strtoul gives 0 and stops at the CR.
        assert_eq!(cl("HTTP/1.0 200 OK\r\nContent-Length:\r\n\r\n"), Some(0));
        assert_eq!(
            cl("HTTP/1.0 200 OK\r\nX-Content-Length: 3\r\n\r\n"),
            Some(3)
        );
        assert_eq!(
            cl("HTTP/1.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
            None
        );
        assert_eq!(cl("HTTP/1.0 200 OK\r\n\0Content-Length: 3\r\n\r\n"), None);
    }

    #[test]
    fn digest_covers_the_body_capped_at_content_length() {
        let d = decode(
            &[b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello world"],
            true,
            None,
        );
        assert_eq!(d.md5, Some(md5_of(b"hello")));
        assert_eq!(d.body_bytes, 11);
        assert_eq!(d.length_mismatch(), Some((5, 11)));
        // Split anywhere: same hash.
        let d2 = decode(
            &[
                b"HTTP/1.0 200 OK\r\nContent-Len",
                b"gth: 5\r\n\r",
                b"\nhel",
                b"lo world",
            ],
            true,
            None,
        );
        assert_eq!(d2, d);
        let none = decode(&[b"HTTP/1.0 200 OK\r\n\r\n"], true, None);
        assert_eq!(none.md5, Some(md5_of(b"")));
        assert_eq!(
            none.md5
                .map(|m| m.iter().map(|b| format!("{b:02x}")).collect::<String>()),
            Some("d41d8cd98f00b204e9800998ecf8427e".to_string())
        );
        let chunked = decode(
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n"],
            true,
            None,
        );
        assert_eq!(chunked.md5, Some(md5_of(b"5\r\nhello\r\n0\r\n\r\n")));
    }

    #[test]
    fn head_must_end_within_4095_bytes() {
        let mut big = b"HTTP/1.0 200 OK\r\nX: ".to_vec();
        big.resize(4091, b'a');
        big.extend_from_slice(b"\r\n\r\n");
        assert_eq!(big.len(), 4095);
        let d = decode(&[&big], false, None);
        assert_eq!(judge(&d, &OK), Ok(Success::Status));

        let mut over = b"HTTP/1.0 200 OK\r\nX: ".to_vec();
        over.resize(4092, b'a');
        over.extend_from_slice(b"\r\n\r\nbody");
        let mut dec = Decoder::new(false, None);
        assert_eq!(dec.feed(&over), Feed::HeadTooLong);
        assert_eq!(judge(&dec.finish(), &OK), Err(Failure::NoData));
    }

    #[test]
    fn verdict_order() {
        let d = decode(&[b"HTTP/1.0 500 Oops\r\n\r\nbody"], true, None);
        let want = Expect {
            status: &[(200, 299)],
            digest: Some([0; 16]),
            regex: None,
        };
        assert_eq!(judge(&d, &want), Err(Failure::Status(500)));
        let d = decode(&[b"HTTP/1.0 200 OK\r\n\r\nbody"], true, None);
        assert_eq!(judge(&d, &want), Err(Failure::Digest));
        let right = Expect {
            digest: Some(md5_of(b"body")),
            ..want
        };
        assert_eq!(judge(&d, &right), Ok(Success::Digest));
        assert_eq!(
            judge(&decode(&[b"HTTP/1.0 200 OK\r\n"], false, None), &OK),
            Err(Failure::NoData)
        );
        assert_eq!(judge(&decode(&[], false, None), &OK), Err(Failure::NoData));
        let lists = Expect {
            status: &[(200, 200), (301, 302), (500, 500)],
            ..OK
        };
        for (code, ok) in [
            (200, true),
            (302, true),
            (303, false),
            (500, true),
            (201, false),
        ] {
            let line = format!("HTTP/1.0 {code} X\r\n\r\n");
            let d = decode(&[line.as_bytes()], false, None);
            assert_eq!(judge(&d, &lists).is_ok(), ok, "{code}");
        }
    }

    fn re(p: &str) -> UrlRegex {
        UrlRegex::compile(p, &[], None, None).expect("valid regex")
    }

    #[test]
    fn regex_sees_the_head_and_spans_reads() {
        let want = Expect {
            regex: Some(false),
            ..OK
        };
        let d = decode(
            &[b"HTTP/1.0 200 OK\r\nServer: magic\r\n\r\n"],
            false,
            Some(re("Server: mag")),
        );
        assert_eq!(judge(&d, &want), Ok(Success::Regex));
        let d = decode(
            &[b"HTTP/1.0 200 OK\r\n\r\nabc NEED", b"LE def"],
            false,
            Some(re("NEEDLE")),
        );
        assert!(d.regex_matched);
        let d = decode(&[b"HTTP/1.0 200 OK\r\n\r\nabc"], false, Some(re("NEEDLE")));
        assert_eq!(judge(&d, &want), Err(Failure::Regex));
        let no = Expect {
            regex: Some(true),
            ..OK
        };
        assert_eq!(judge(&d, &no), Ok(Success::Regex));
        // `^` is the start of the response, not of a read.
        let d = decode(
            &[b"HTTP/1.0 200 OK\r\n\r\nx", b"foo"],
            false,
            Some(re("^foo")),
        );
        assert!(!d.regex_matched);
        // `$` at the end of a read is not the end of the answer.
        let d = decode(
            &[b"HTTP/1.0 200 OK\r\n\r\nfoo", b"bar"],
            false,
            Some(re("foo$")),
        );
        assert!(!d.regex_matched);
        let d = decode(
            &[b"HTTP/1.0 200 OK\r\n\r\nbar", b"foo"],
            false,
            Some(re("foo$")),
        );
        assert!(d.regex_matched);
    }

    #[test]
    fn regex_offsets_count_from_the_first_response_byte() {
        let body = b"HTTP/1.0 200 OK\r\n\r\n0123456789abc";
        let at = |min, max| {
            let r = UrlRegex::compile("abc", &[], min, max).expect("valid");
            decode(&[body], false, Some(r)).regex_matched
        };
        let pos = 29; // "abc" starts here
        assert!(at(None, None));
        assert!(at(Some(pos), None));
        assert!(!at(Some(pos + 1), None));
        assert!(at(None, Some(pos)));
        assert!(!at(None, Some(pos - 1)));
    }

    #[test]
    fn endless_body_keeps_memory_bounded() {
        let mut d = Decoder::new(true, Some(re("never-there")));
        assert_eq!(d.feed(b"HTTP/1.0 200 OK\r\n\r\n"), Feed::More);
        let chunk = vec![b'x'; 65536];
        for _ in 0..200 {
            d.feed(&chunk);
        }
        let scan = d.regex.as_ref().map_or(0, |s| s.window.capacity());
        assert!(scan < 200_000, "window grew to {scan}");
        assert!(d.pending.capacity() <= HEAD_LIMIT);
        assert_eq!(d.finish().body_bytes, 200 * 65536);
    }
}
