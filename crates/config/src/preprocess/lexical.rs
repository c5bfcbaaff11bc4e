// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Character-level rules: comments, the `\#` / `\!` escapes, blank
//! trimming and where a `{` or `}` splits a line.

use std::borrow::Cow;

/// Spaces and tabs: the only characters keepalived trims around a line.
pub(crate) fn is_blank(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `s` without leading spaces and tabs, and how many bytes were removed.
pub(crate) fn trim_start_blanks(s: &str) -> (&str, usize) {
    let n = s.bytes().take_while(|&b| is_blank(b)).count();
    (s.get(n..).unwrap_or(""), n)
}

pub(crate) fn trim_end_blanks(s: &str) -> &str {
    s.trim_end_matches([' ', '\t'])
}

/// The number of characters (not bytes) in `s`, for 1-based columns that
/// agree with what pest reports.
pub(crate) fn char_len(s: &str) -> u32 {
    let n = if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    };
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A source line with its comment removed.
#[derive(Debug)]
pub(crate) struct Stripped<'a> {
    pub text: Cow<'a, str>,
    /// Bytes of leading blanks removed (all ASCII, so also characters).
    pub lead: usize,
    /// A `"` was opened and never closed.
    pub unterminated_quote: bool,
}

/// Removes a comment, the backslash of `\#` / `\!` outside quotes and the
/// blanks at both ends.
///
/// This follows keepalived's reading of a line: a `"` toggles "inside
/// quotes" (so `#` and `!` there are text), a backslash always hides the
/// next character from that toggle, and a backslash that ends the line
/// marks a continuation and survives even after a comment (so a
/// multi-line definition may carry a comment on each line).
pub(crate) fn strip_comment(line: &str) -> Stripped<'_> {
    let (body, lead) = trim_start_blanks(line);
    let bytes = body.as_bytes();
    // Fast path: nothing that needs the careful walk.
    if !bytes
        .iter()
        .any(|&b| matches!(b, b'#' | b'!' | b'"' | b'\\'))
    {
        return Stripped {
            text: Cow::Borrowed(trim_end_blanks(body)),
            lead,
            unterminated_quote: false,
        };
    }
    let mut out: Vec<u8> = Vec::with_capacity(bytes.len());
    let mut in_quote = false;
    let mut comment_at: Option<usize> = None;
    let mut continued = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => {
                if comment_at.is_none() {
                    in_quote = !in_quote;
                }
                out.push(b);
                i += 1;
            }
            b'\\' => match bytes.get(i + 1) {
                None => {
                    continued = true;
                    break;
                }
                Some(&next) if !in_quote && (next == b'#' || next == b'!') => {
                    out.push(next);
                    i += 2;
                }
                Some(&next) => {
                    out.push(b);
                    out.push(next);
                    i += 2;
                }
            },
            b'#' | b'!' if !in_quote && comment_at.is_none() => {
                comment_at = Some(out.len());
                out.push(b);
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    if let Some(at) = comment_at {
        out.truncate(at);
    }
    while out.last().is_some_and(|&b| is_blank(b)) {
        out.pop();
    }
    if continued {
        out.push(b'\\');
    }
    // Only ASCII bytes were removed or moved, so the text stays UTF-8; the
    // lossy conversion is a formality that never replaces anything.
    let text = match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    Stripped {
        text: Cow::Owned(text),
        lead,
        unterminated_quote: in_quote,
    }
}

/// Where a line must be cut so that a brace stands alone.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BraceSplit {
    /// No brace outside quotes: the line is whole.
    Whole,
    /// The line starts with a brace: emit it alone; the rest (if any)
    /// starts at this byte offset.
    Leading { rest_at: Option<usize> },
    /// A brace outside quotes starts at this byte offset: the text before
    /// it is a statement, the brace and what follows are the rest.
    Inner { at: usize },
}

/// Finds the first `{` or `}` outside double quotes.
///
/// Unlike keepalived, a backslash-escaped `\"` does not end a quoted
/// string here; that is how the comment rule reads quotes too, and it keeps
/// a `{` inside a quoted script command such as `"/bin/echo \"{\""` from
/// splitting the command.
pub(crate) fn find_brace(line: &str) -> BraceSplit {
    let bytes = line.as_bytes();
    if matches!(bytes.first(), Some(b'{' | b'}')) {
        let after = bytes.get(1..).unwrap_or(&[]);
        let skip = after.iter().take_while(|&&b| is_blank(b)).count();
        let rest_at = 1 + skip;
        return BraceSplit::Leading {
            rest_at: (rest_at < bytes.len()).then_some(rest_at),
        };
    }
    let mut in_quote = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'"' => in_quote = !in_quote,
            b'\\' if in_quote => i += 1,
            b'{' | b'}' if !in_quote => return BraceSplit::Inner { at: i },
            _ => {}
        }
        i += 1;
    }
    BraceSplit::Whole
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(s: &str) -> String {
        strip_comment(s).text.into_owned()
    }

    #[test]
    fn comments_anywhere_outside_quotes() {
        assert_eq!(strip("  priority 100   # high"), "priority 100");
        assert_eq!(strip("priority 100 ! high"), "priority 100");
        assert_eq!(strip("# whole line"), "");
        assert_eq!(strip("! Configuration File for keepalived"), "");
        assert_eq!(
            strip(r#"script "/bin/x #1 !2" # c"#),
            r#"script "/bin/x #1 !2""#
        );
        assert_eq!(strip("a#b"), "a");
    }

    #[test]
    fn escaped_comment_characters() {
        assert_eq!(strip(r"k4\#x"), "k4#x");
        assert_eq!(strip(r"k\!x"), "k!x");
        // Inside quotes the backslash stays for the script tokenizer.
        assert_eq!(
            strip(r#"notify "/bin/echo 'a b' \"c d\" e\#f""#),
            r#"notify "/bin/echo 'a b' \"c d\" e\#f""#
        );
        // An escaped quote does not open a quoted string.
        assert_eq!(strip(r#"a\"b # c"#), r#"a\"b"#);
    }

    #[test]
    fn continuation_survives_comment_and_blanks() {
        assert_eq!(strip(r"  m1 \"), r"m1\");
        assert_eq!(strip("m1   \\"), "m1\\");
        assert_eq!(strip("m1 # note \\"), "m1\\");
        assert_eq!(strip("\\"), "\\");
    }

    #[test]
    fn reports_unterminated_quote_and_lead() {
        let s = strip_comment("\t  x \"open # not a comment");
        assert!(s.unterminated_quote);
        assert_eq!(s.lead, 3);
        assert_eq!(s.text, "x \"open # not a comment");
        assert!(!strip_comment("\"closed\"").unterminated_quote);
    }

    #[test]
    fn utf8_is_kept() {
        assert_eq!(strip("router_id café # x"), "router_id café");
        assert_eq!(char_len("é{"), 2);
    }

    #[test]
    fn brace_positions() {
        assert_eq!(find_brace("a b"), BraceSplit::Whole);
        assert_eq!(find_brace("{"), BraceSplit::Leading { rest_at: None });
        assert_eq!(find_brace("{  x"), BraceSplit::Leading { rest_at: Some(3) });
        assert_eq!(find_brace("} }"), BraceSplit::Leading { rest_at: Some(2) });
        assert_eq!(find_brace("vi { x"), BraceSplit::Inner { at: 3 });
        assert_eq!(find_brace(r#"s "a{b}" {"#), BraceSplit::Inner { at: 9 });
        assert_eq!(find_brace(r#"s "a\"{" x"#), BraceSplit::Whole);
        assert_eq!(find_brace(r#"s "open {"#), BraceSplit::Whole);
    }
}
