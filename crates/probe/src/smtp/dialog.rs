// SPDX-License-Identifier: Apache-2.0 OR MIT
//! SMTP_CHECK's reading of the server's lines, without I/O
//! (`check_smtp.c: smtp_get_line_cb`, `smtp_get_status`).
//!
//! One line per step, read the way keepalived reads it:
//!
//! 1. bytes gather in a [`LINE_MAX`]-byte buffer (keepalived's 512 less
//!    its NUL); when it is full without a newline it is emptied and
//!    reading goes on ("Buffer overflow reading from server"), so an
//!    over-long line is judged on its last part;
//! 2. the line ends at the first `\n` before any NUL byte (keepalived
//!    searches a C string); the `\r` before it stays in the line;
//! 3. what follows the newline in the same read is dropped: every step
//!    starts with an empty buffer.
//!
//! A reply carries a status when the line starts with its three digits
//! followed by a space or nothing: `220 mail ESMTP` and `220` pass;
//! `220-mail` (a multi-line greeting), `220\r` (no text: the `\r` is
//! still there) and ` 220 x` fail, exactly as keepalived's `strtoul`
//! test does.

/// The longest line kept.
pub const LINE_MAX: usize = 511;

/// Gathers one line.
#[derive(Debug, Default)]
pub struct LineReader {
    buf: Vec<u8>,
    /// A NUL in the buffer hides any later newline.
    nul: bool,
    /// Times the buffer was emptied for want of a newline.
    pub overflows: u32,
}

impl LineReader {
    /// How much the next read may take (keepalived never reads past its
    /// buffer).
    pub fn room(&self) -> usize {
        if self.buf.len() >= LINE_MAX {
            LINE_MAX
        } else {
            LINE_MAX - self.buf.len()
        }
    }

    /// Takes one read's bytes; `Some(line)` (without its `\n`) once a
    /// newline is in. The rest of `data` is dropped.
    pub fn feed(&mut self, data: &[u8]) -> Option<Vec<u8>> {
        for &b in data {
            if self.buf.len() >= LINE_MAX {
                self.buf.clear();
                self.nul = false;
                self.overflows += 1;
            }
            self.buf.push(b);
            match b {
                0 => self.nul = true,
                b'\n' if !self.nul => {
                    self.buf.pop();
                    return Some(std::mem::take(&mut self.buf));
                }
                _ => {}
            }
        }
        None
    }
}

/// Whether `line` carries status `code` (`b"220"`, `b"250"`).
pub fn has_status(line: &[u8], code: &[u8; 3]) -> bool {
    line.starts_with(code) && matches!(line.get(3), None | Some(b' ') | Some(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_rule_is_keepalived_s() {
        for ok in [&b"220 mail ESMTP\r"[..], b"220", b"220 ", b"220\0junk"] {
            assert!(has_status(ok, b"220"), "{ok:?}");
        }
        for bad in [
            &b"220-mail\r"[..],
            b"220\r",
            b" 220 mail",
            b"2200 x",
            b"22",
            b"",
            b"250 ok",
            b"+220 x",
        ] {
            assert!(!has_status(bad, b"220"), "{bad:?}");
        }
    }

    #[test]
    fn a_line_may_come_in_pieces_and_keeps_its_cr() {
        let mut r = LineReader::default();
        assert_eq!(r.feed(b"220 ma"), None);
        assert_eq!(
            r.feed(b"il\r\n250 dropped\r\n"),
            Some(b"220 mail\r".to_vec())
        );
    }

    #[test]
    fn a_nul_hides_the_newline() {
        let mut r = LineReader::default();
        assert_eq!(r.feed(b"220\0x\n"), None);
    }

    #[test]
    fn an_overlong_line_is_judged_on_its_tail() {
        let mut r = LineReader::default();
        let mut long = b"220 ".to_vec();
        long.extend(std::iter::repeat_n(b'a', LINE_MAX - 4));
        long.extend_from_slice(b"250 tail\n");
        assert_eq!(r.feed(&long), Some(b"250 tail".to_vec()));
        assert_eq!(r.overflows, 1);
        // Exactly LINE_MAX bytes with the newline last still fit.
        let mut r = LineReader::default();
        let mut fits = b"220 ".to_vec();
        fits.extend(std::iter::repeat_n(b'a', LINE_MAX - 5));
        fits.push(b'\n');
        assert_eq!(r.feed(&fits).map(|l| l.len()), Some(LINE_MAX - 1));
        assert_eq!(r.overflows, 0);
    }
}
