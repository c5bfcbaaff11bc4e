// SPDX-License-Identifier: Apache-2.0 OR MIT
//! A url's `regex` compiled with the `regex` crate in place of keepalived's
//! PCRE2, with the `regex_options` we can honour and a clear error for the
//! ones we cannot (docs/compatibility.md lists every difference).
//!
//! keepalived compiles without PCRE2_UTF, so the subject is bytes: `.`
//! matches one byte and `\w`, `\d`, `\s`, case folding are ASCII. We match
//! with Unicode off for the same meaning.

use regex::bytes::{Regex, RegexBuilder};

/// `regex_options` that only steer PCRE2's optimiser or features we never
/// use (callouts, offset limits, `\C`, UTF): accepted, no effect.
const NO_EFFECT: &[&str] = &[
    "auto_callout",
    "never_backslash_c",
    "never_ucp",
    "never_utf",
    "no_auto_capture",
    "no_auto_possess",
    "no_dotstar_anchor",
    "no_start_optimize",
    "use_offset_limit",
    // Our `$` already matches only at the very end.
    "dollar_endonly",
];

/// `regex_options` that change what matches in ways the `regex` crate
/// cannot reproduce.
const UNSUPPORTED: &[&str] = &[
    "allow_empty_class",
    "alt_bsux",
    "alt_circumflex",
    "alt_verbnames",
    "dupnames",
    "firstline",
    "match_unset_backref",
];

/// A compiled url regex with its offsets.
#[derive(Debug, Clone)]
pub struct UrlRegex {
    pub regex: Regex,
    /// `regex_min_offset`: the earliest stream offset a match may start at.
    pub min_offset: Option<u64>,
    /// `regex_max_offset`: the last stream offset a match may start at.
    pub max_offset: Option<u64>,
}

impl UrlRegex {
    /// Compiles `pattern` with keepalived's option names.
    pub fn compile(
        pattern: &str,
        options: &[String],
        min_offset: Option<u64>,
        max_offset: Option<u64>,
    ) -> Result<UrlRegex, String> {
        let mut b = RegexBuilder::new(pattern);
        b.unicode(false);
        for opt in options {
            match opt.as_str() {
                "caseless" => b.case_insensitive(true),
                "multiline" => b.multi_line(true),
                "dotall" => b.dot_matches_new_line(true),
                "extended" => b.ignore_whitespace(true),
                "ungreedy" => b.swap_greed(true),
                o if NO_EFFECT.contains(&o) => &mut b,
                o if UNSUPPORTED.contains(&o) => {
                    return Err(format!(
                        "regex option '{o}' is not supported (the regex engine is not PCRE2)"
                    ));
                }
                o => return Err(format!("unknown regex option '{o}'")),
            };
        }
        let regex = b.build().map_err(|e| {
            format!("regex \"{pattern}\" cannot be used (PCRE2-only syntax such as back-references and look-around is not supported): {e}")
        })?;
        Ok(UrlRegex {
            regex,
            min_offset,
            max_offset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::UrlRegex;

    #[test]
    fn options_and_unsupported_syntax() {
        let r = UrlRegex::compile("hello", &["caseless".into()], None, None).expect("ok");
        assert!(r.regex.is_match(b"HeLLo"));
        // Bytes, not UTF-8: `.` takes one byte of a two-byte character.
        let r = UrlRegex::compile("^.$", &[], None, None).expect("ok");
        assert!(!r.regex.is_match("é".as_bytes()));
        let r = UrlRegex::compile("^..$", &[], None, None).expect("ok");
        assert!(r.regex.is_match("é".as_bytes()));
        assert!(UrlRegex::compile("(a)\\1", &[], None, None).is_err());
        assert!(UrlRegex::compile("a(?=b)", &[], None, None).is_err());
        assert!(UrlRegex::compile("a", &["firstline".into()], None, None).is_err());
        assert!(UrlRegex::compile("a", &["no_start_optimize".into()], None, None).is_ok());
    }
}
