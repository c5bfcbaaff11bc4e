// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Shell-like splitting of script command lines (inventory §A.1 "Script
//! strings").
//!
//! keepalived reads a script keyword (`script`, `notify*`, `misc_path`,
//! `quorum_up`, ...) in two passes. The statement text is first split into
//! words with quotes and escapes honoured; the first of those words is the
//! command, which is split the same way again into the argv; any further
//! words are the optional user and group. So
//! `notify "/bin/echo 'a b' \"c d\" e\#f"` gives the single word
//! `/bin/echo 'a b' "c d" e#f`, whose argv is `/bin/echo`, `a b`, `c d`,
//! `e#f`.
//!
//! Rules of one pass: words are separated by blanks (space, tab, CR, LF,
//! VT, FF) outside quotes; `'...'` and `"..."` group text and pieces next to
//! each other join into one word; a backslash escapes in and out of quotes:
//! `\a \b \E \f \n \r \t \v`, `\nnn` (up to 3 octal digits), `\xHH...`
//! (every following hex digit), `\cC` (control character), and `\X` for any
//! other X is X itself. A word stops at a NUL produced by an escape, as C
//! strings do.

use std::fmt;

use crate::diag::Category;

/// Why a command line could not be split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptSyntaxError {
    /// A quote (`'` or `"`) is never closed.
    UnmatchedQuote { quote: char },
    /// The text ends with a lone backslash.
    TrailingBackslash,
    /// There is no command at all.
    Empty,
    /// Escapes produced bytes that are not UTF-8 (use
    /// [`split_command_bytes`] to keep them).
    InvalidUtf8,
}

impl ScriptSyntaxError {
    /// The keepalived category to report this under.
    pub fn category(&self) -> Category {
        match self {
            Self::UnmatchedQuote { .. } => Category::UnmatchedQuote,
            Self::TrailingBackslash | Self::Empty | Self::InvalidUtf8 => Category::GeneralError,
        }
    }
}

impl fmt::Display for ScriptSyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnmatchedQuote { quote } => write!(f, "missing terminating {quote}"),
            Self::TrailingBackslash => f.write_str("missing escape char at end"),
            Self::Empty => f.write_str("no command given"),
            Self::InvalidUtf8 => f.write_str("escapes produce bytes that are not valid UTF-8"),
        }
    }
}

impl std::error::Error for ScriptSyntaxError {}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

/// Decodes the escape after a backslash at `s[0]`; returns the byte and
/// how many input bytes (after the backslash) were used.
fn escape(s: &[u8]) -> (u8, usize) {
    match s {
        [b'x', h, ..] if h.is_ascii_hexdigit() => {
            let digits = s.iter().skip(1).take_while(|c| c.is_ascii_hexdigit());
            // Like a C char, the value keeps only the low 8 bits.
            let value = digits
                .clone()
                .fold(0u8, |acc, &c| (acc << 4) | hex_value(c));
            (value, 1 + digits.count())
        }
        [b'c', c, ..] => (c & 0x1f, 2),
        [b'0'..=b'7', ..] => {
            let digits = s.iter().take(3).take_while(|c| (b'0'..=b'7').contains(*c));
            let value = digits
                .clone()
                .fold(0u8, |acc, &c| acc.wrapping_mul(8).wrapping_add(c - b'0'));
            (value, digits.count())
        }
        [c, ..] => {
            let value = match c {
                b'a' => 0x07,
                b'b' => 0x08,
                b'E' => 0x1b,
                b'f' => 0x0c,
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'v' => 0x0b,
                other => *other,
            };
            (value, 1)
        }
        [] => (0, 0),
    }
}

fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        b'A'..=b'F' => c - b'A' + 10,
        _ => 0,
    }
}

/// One pass: splits `raw` into words (as raw bytes).
pub fn split_words(raw: &str) -> Result<Vec<Vec<u8>>, ScriptSyntaxError> {
    split_word_bytes(raw.as_bytes())
}

/// [`split_words`] over bytes, for the second pass (the first pass may
/// have produced any byte).
fn split_word_bytes(b: &[u8]) -> Result<Vec<Vec<u8>>, ScriptSyntaxError> {
    let mut words = Vec::new();
    let mut i = 0;
    loop {
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        if i >= b.len() {
            return Ok(words);
        }
        let mut word = Vec::new();
        let mut quote: Option<u8> = None;
        while let Some(&c) = b.get(i) {
            match (quote, c) {
                (_, b'\\') => {
                    let rest = b.get(i + 1..).unwrap_or(&[]);
                    if rest.is_empty() {
                        return Err(ScriptSyntaxError::TrailingBackslash);
                    }
                    let (value, used) = escape(rest);
                    word.push(value);
                    i += 1 + used;
                }
                (Some(q), c) if c == q => {
                    quote = None;
                    i += 1;
                }
                (None, b'"' | b'\'') => {
                    quote = Some(c);
                    i += 1;
                }
                (None, c) if is_space(c) => break,
                (_, c) => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        if let Some(q) = quote {
            return Err(ScriptSyntaxError::UnmatchedQuote {
                quote: char::from(q),
            });
        }
        if let Some(nul) = word.iter().position(|&c| c == 0) {
            word.truncate(nul);
        }
        words.push(word);
    }
}

/// A script statement: the command's argv and the optional user and group
/// that follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptLine {
    pub argv: Vec<Vec<u8>>,
    /// Words after the command (keepalived reads them as user and group).
    pub extra: Vec<Vec<u8>>,
}

/// Both passes over a statement's text after the keyword.
pub fn split_script_line(raw: &str) -> Result<ScriptLine, ScriptSyntaxError> {
    let mut words = split_words(raw)?.into_iter();
    let command = words.next().ok_or(ScriptSyntaxError::Empty)?;
    let argv = split_word_bytes(&command)?;
    if argv.is_empty() {
        return Err(ScriptSyntaxError::Empty);
    }
    Ok(ScriptLine {
        argv,
        extra: words.collect(),
    })
}

/// The argv of a script statement (`raw` is the text after the keyword,
/// e.g. a [`crate::syntax::Node`]'s `rest`), as bytes: escapes may produce
/// any byte.
pub fn split_command_bytes(raw: &str) -> Result<Vec<Vec<u8>>, ScriptSyntaxError> {
    split_script_line(raw).map(|l| l.argv)
}

/// The argv of a script statement (`raw` is the text after the keyword,
/// e.g. a [`crate::syntax::Node`]'s `rest`). Words after the command
/// (user, group) are not part of it; see [`split_script_line`].
pub fn split_command(raw: &str) -> Result<Vec<String>, ScriptSyntaxError> {
    split_command_bytes(raw)?
        .into_iter()
        .map(|w| String::from_utf8(w).map_err(|_| ScriptSyntaxError::InvalidUtf8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        split_words(s)
            .expect("split")
            .into_iter()
            .map(|w| String::from_utf8(w).expect("utf8"))
            .collect()
    }

    #[test]
    fn inventory_example() {
        let raw = r#""/bin/echo 'a b' \"c d\" e\#f""#;
        assert_eq!(words(raw), vec![r#"/bin/echo 'a b' "c d" e#f"#]);
        assert_eq!(
            split_command(raw),
            Ok(vec![
                "/bin/echo".into(),
                "a b".into(),
                "c d".into(),
                "e#f".into()
            ])
        );
    }

    #[test]
    fn quotes_join_and_group() {
        assert_eq!(words(r#"a"b c"'d e'f  g"#), vec!["ab cd ef", "g"]);
        assert_eq!(words("''  \"\""), vec!["", ""]);
        assert_eq!(words("  \t "), Vec::<String>::new());
        // A double quote inside single quotes is text, and vice versa.
        assert_eq!(words(r#"'a"b' "c'd""#), vec![r#"a"b"#, "c'd"]);
    }

    #[test]
    fn escapes() {
        assert_eq!(
            words(r"\a\b\E\f\n\r\t\v"),
            vec!["\x07\x08\x1b\x0c\n\r\t\x0b"]
        );
        assert_eq!(words(r"\101\x41\x4a\cA\q\\"), vec!["AAJ\x01q\\"]);
        assert_eq!(words(r"\xg \c"), vec!["xg", "c"]);
        assert_eq!(words(r"'\x41' a\ b"), vec!["A", "a b"]);
        assert_eq!(words(r"ab\0cd x"), vec!["ab", "x"]);
        assert_eq!(words(r"\1234"), vec!["S4"]);
    }

    #[test]
    fn errors() {
        assert_eq!(
            split_words("'abc"),
            Err(ScriptSyntaxError::UnmatchedQuote { quote: '\'' })
        );
        assert_eq!(
            split_words("\"abc"),
            Err(ScriptSyntaxError::UnmatchedQuote { quote: '"' })
        );
        assert_eq!(
            split_words("abc\\"),
            Err(ScriptSyntaxError::TrailingBackslash)
        );
        assert_eq!(split_command(""), Err(ScriptSyntaxError::Empty));
        assert_eq!(split_command("\"\""), Err(ScriptSyntaxError::Empty));
        assert_eq!(split_command(r"\xff"), Err(ScriptSyntaxError::InvalidUtf8));
        assert_eq!(split_command_bytes(r"\xff"), Ok(vec![vec![0xff]]));
        assert_eq!(
            ScriptSyntaxError::UnmatchedQuote { quote: '"' }.category(),
            Category::UnmatchedQuote
        );
    }

    #[test]
    fn user_and_group_follow_the_command() {
        let l = split_script_line(r#""/usr/bin/check.sh arg" nobody nogroup"#).expect("line");
        assert_eq!(l.argv, vec![b"/usr/bin/check.sh".to_vec(), b"arg".to_vec()]);
        assert_eq!(l.extra, vec![b"nobody".to_vec(), b"nogroup".to_vec()]);
        // Unquoted, the second word is the user, not an argument.
        assert_eq!(split_command("/bin/true arg"), Ok(vec!["/bin/true".into()]));
    }
}
