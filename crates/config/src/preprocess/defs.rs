// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `$NAME=VALUE` definitions and their expansion (`$NAME`, `${NAME}`,
//! `${_RANDOM min max}`), including the built-in names.

use std::collections::HashMap;

use super::lexical::is_blank;

/// A line may not grow beyond this by expansion; keepalived stops at its
/// 1 KiB line buffer, we are more generous but still finite so that
/// `$A=x$A` cannot eat the memory.
pub(crate) const MAX_EXPANDED_LEN: usize = 64 * 1024;
/// Substitutions allowed in one line before we call it a loop.
pub(crate) const MAX_SUBSTITUTIONS: usize = 10_000;

/// What produces a definition's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text given by `$NAME=...` (or by `~SEQ`/`~LST`), or a fixed builtin.
    Text,
    /// `${_PWD}`: directory of the file being read.
    Pwd,
    /// `${_INSTANCE}`.
    Instance,
    /// `${_RANDOM [min [max]]}`: the only name that takes parameters.
    Random,
}

#[derive(Debug, Clone)]
struct Def {
    value: String,
    /// Defined over several lines; such a value may only be used at the
    /// end of a line, and its lines after the first become lines of their
    /// own.
    multiline: bool,
    kind: Kind,
}

/// A parsed `$NAME=VALUE` line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Definition<'a> {
    pub name: &'a str,
    /// The value; for a multi-line definition the first line with a
    /// trailing `\n` (or empty when the first line only held the `\`).
    pub value: String,
    pub multiline: bool,
}

/// Recognises `$NAME=VALUE` at the start of a (comment-stripped) line.
/// `NAME` is `[A-Za-z_][A-Za-z0-9_]*` and must be followed directly by
/// `=`: `$NAME = x` is not a definition (keepalived's rule).
pub(crate) fn parse_definition(line: &str) -> Option<Definition<'_>> {
    let rest = line.strip_prefix('$')?;
    let first = rest.bytes().next()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    let name_len = rest
        .bytes()
        .take_while(|&b| b.is_ascii_alphanumeric() || b == b'_')
        .count();
    let name = rest.get(..name_len)?;
    let after = rest.get(name_len..)?.strip_prefix('=')?;
    let value = after.trim_start_matches([' ', '\t']);
    if let Some(body) = value.strip_suffix('\\') {
        let body = body.trim_end_matches([' ', '\t']);
        let value = if body.is_empty() {
            String::new()
        } else {
            format!("{body}\n")
        };
        Some(Definition {
            name,
            value,
            multiline: true,
        })
    } else {
        Some(Definition {
            name,
            value: value.to_string(),
            multiline: false,
        })
    }
}

/// A small, deterministic generator for `${_RANDOM}` (splitmix64): good
/// enough for spreading values, and reproducible under `random_seed`.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `[min, max]` (bounds swapped if given backwards).
    fn between(&mut self, min: u64, max: u64) -> u64 {
        let (lo, hi) = if min <= max { (min, max) } else { (max, min) };
        let span = u128::from(hi - lo) + 1;
        let r = u128::from(self.next()) % span;
        lo + u64::try_from(r).unwrap_or(0)
    }
}

/// A reference found in a line: `$NAME` or `${NAME params}`.
struct Ref<'a> {
    name: &'a str,
    /// Byte offset just past the reference.
    end: usize,
    params: Option<&'a str>,
}

/// The outcome of expanding one line.
#[derive(Debug, Default)]
pub(crate) struct Expansion {
    pub changed: bool,
    /// Lines that follow, from multi-line definitions, in the order they
    /// were met; the last one found must be read first.
    pub tails: Vec<Vec<String>>,
    /// Why expansion was abandoned (a runaway definition).
    pub error: Option<String>,
}

/// The table of definitions, global to a configuration read.
#[derive(Debug)]
pub(crate) struct Defs {
    map: HashMap<String, Def>,
    rng: Rng,
    /// `${_PWD}` of the file being read.
    pub pwd: String,
    instance: String,
}

impl Defs {
    pub fn new(instance: String, seed: u64) -> Self {
        let mut map = HashMap::new();
        let builtin = |value: &str, kind| Def {
            value: value.to_string(),
            multiline: false,
            kind,
        };
        map.insert("_PWD".to_string(), builtin("", Kind::Pwd));
        map.insert("_INSTANCE".to_string(), builtin("", Kind::Instance));
        map.insert("_RANDOM".to_string(), builtin("", Kind::Random));
        map.insert("_HASH".to_string(), builtin("#", Kind::Text));
        map.insert("_BANG".to_string(), builtin("!", Kind::Text));
        Self {
            map,
            rng: Rng(seed),
            pwd: String::new(),
            instance,
        }
    }

    /// Defines or replaces `name` (a builtin may be overridden).
    pub fn set(&mut self, name: &str, value: String, multiline: bool) {
        let def = Def {
            value,
            multiline,
            kind: Kind::Text,
        };
        if let Some(d) = self.map.get_mut(name) {
            *d = def;
        } else {
            self.map.insert(name.to_string(), def);
        }
    }

    /// Adds one more line to a multi-line definition being read.
    pub fn append(&mut self, name: &str, text: &str) {
        if let Some(d) = self.map.get_mut(name) {
            d.value.push_str(text);
        }
    }

    /// Closes a multi-line definition; one that collected nothing is an
    /// ordinary empty definition.
    pub fn finish_multiline(&mut self, name: &str) {
        if let Some(d) = self.map.get_mut(name)
            && d.value.is_empty()
        {
            d.multiline = false;
        }
    }

    /// Reads a reference starting at the `$` at byte `at`; None if the
    /// text there is not a well-formed reference.
    fn parse_ref(text: &str, at: usize) -> Option<Ref<'_>> {
        let bytes = text.as_bytes();
        let braced = bytes.get(at + 1) == Some(&b'{');
        let start = at + 1 + usize::from(braced);
        let first = *bytes.get(start)?;
        if !(first.is_ascii_alphabetic() || first == b'_') {
            return None;
        }
        let name_len = bytes
            .get(start..)?
            .iter()
            .take_while(|&&b| b.is_ascii_alphanumeric() || b == b'_')
            .count();
        let name = text.get(start..start + name_len)?;
        let mut p = start + name_len;
        if !braced {
            // An unbraced name must end at a blank, `,`, `)` or the end.
            return match bytes.get(p) {
                None | Some(b' ' | b'\t' | b',' | b')') => Some(Ref {
                    name,
                    end: p,
                    params: None,
                }),
                _ => None,
            };
        }
        if bytes.get(p) == Some(&b'}') {
            return Some(Ref {
                name,
                end: p + 1,
                params: None,
            });
        }
        // Parameters: digits and spaces, ending with a digit, then `}`.
        let params_start = p;
        while bytes
            .get(p)
            .is_some_and(|b| *b == b' ' || b.is_ascii_digit())
        {
            p += 1;
        }
        if bytes.get(p) != Some(&b'}')
            || !bytes.get(p.checked_sub(1)?).is_some_and(u8::is_ascii_digit)
        {
            return None;
        }
        let params = text.get(params_start..p)?.trim_start_matches(' ');
        Some(Ref {
            name,
            end: p + 1,
            params: Some(params),
        })
    }

    /// The replacement text for a reference, or None if it names nothing
    /// usable here.
    fn value_of(&mut self, r: &Ref<'_>, at_line_end: bool) -> Option<(String, bool)> {
        let def = self.map.get(r.name)?;
        if def.multiline && !at_line_end {
            return None;
        }
        if r.params.is_some() && def.kind != Kind::Random {
            return None;
        }
        let value = match def.kind {
            Kind::Text => def.value.clone(),
            Kind::Pwd => self.pwd.clone(),
            Kind::Instance => self.instance.clone(),
            Kind::Random => {
                let (min, max) = random_bounds(r.params.unwrap_or(""));
                self.rng.between(min, max).to_string()
            }
        };
        Some((value, def.multiline))
    }

    /// Expands every reference in `text`, rescanning each substitution so
    /// that values may refer to other definitions (use-time, recursive).
    /// Undefined references stay as written.
    pub fn expand(&mut self, text: &mut String) -> Expansion {
        let mut result = Expansion::default();
        let mut pos = 0;
        let mut count = 0usize;
        while let Some(off) = text.get(pos..).and_then(|t| t.find('$')) {
            let at = pos + off;
            if at + 1 >= text.len() {
                break;
            }
            let Some(r) = Self::parse_ref(text, at) else {
                pos = at + 1;
                continue;
            };
            let end = r.end;
            let Some((value, multiline)) = self.value_of(&r, end == text.len()) else {
                pos = at + 1;
                continue;
            };
            count += 1;
            if count > MAX_SUBSTITUTIONS || text.len() - (end - at) + value.len() > MAX_EXPANDED_LEN
            {
                result.error = Some(format!(
                    "Parameter substitution on line '{}' does not terminate (recursive definition?)",
                    preview(text)
                ));
                return result;
            }
            result.changed = true;
            let first = if multiline {
                let mut lines = value.split('\n');
                let first = lines.next().unwrap_or("").to_string();
                let tail: Vec<String> = lines
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect();
                if !tail.is_empty() {
                    result.tails.push(tail);
                }
                first
            } else {
                value
            };
            let stops = first.trim_start_matches([' ', '\t']).starts_with('~');
            text.replace_range(at..end, &first);
            // A value starting with `~` is a sequence: keepalived stops
            // substituting so the sequence sees its own variables unexpanded.
            if stops {
                break;
            }
        }
        result
    }
}

/// `${_RANDOM}` bounds: "", "min" or "min max" (extra words ignored),
/// defaulting to 0 and 32767 as keepalived does.
fn random_bounds(params: &str) -> (u64, u64) {
    let mut words = params.split(' ').filter(|w| !w.is_empty());
    let parse = |w: &str| w.parse::<u64>().unwrap_or(u64::MAX);
    let min = words.next().map_or(0, parse);
    let max = words.next().map_or(32767, parse);
    (min, max)
}

/// The start of a long line, for messages.
pub(crate) fn preview(text: &str) -> &str {
    let mut end = text.len().min(120);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or("")
}

/// Whether `line` (after a substitution) must be looked at again from the
/// start: keepalived does so when it now starts with `@` or still holds a
/// `$`.
pub(crate) fn needs_recheck(line: &str) -> bool {
    line.starts_with('@') || line.contains('$')
}

/// Strips the trailing `\` of a continuation line of a multi-line
/// definition and the blanks before it; returns the text to append and
/// whether more lines follow.
pub(crate) fn continuation(line: &str) -> (String, bool) {
    match line.strip_suffix('\\') {
        Some(body) => {
            let mut body = body.to_string();
            while body.as_bytes().last().is_some_and(|&b| is_blank(b)) {
                body.pop();
            }
            if body.is_empty() {
                // A lone `\` adds no blank line to the definition.
                (String::new(), true)
            } else {
                body.push('\n');
                (body, true)
            }
        }
        None => (line.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Defs {
        let mut d = Defs::new("inst".into(), 42);
        d.pwd = "/etc/keepalived".into();
        d
    }

    fn exp(d: &mut Defs, s: &str) -> String {
        let mut t = s.to_string();
        let r = d.expand(&mut t);
        assert!(r.error.is_none(), "{:?}", r.error);
        t
    }

    #[test]
    fn parses_definitions() {
        let d = parse_definition("$X=abc").expect("def");
        assert_eq!((d.name, d.value.as_str(), d.multiline), ("X", "abc", false));
        let d = parse_definition("$_a1=  x y").expect("def");
        assert_eq!((d.name, d.value.as_str()), ("_a1", "x y"));
        let d = parse_definition("$E=").expect("def");
        assert_eq!(d.value, "");
        let d = parse_definition("$M= \\").expect("def");
        assert_eq!((d.value.as_str(), d.multiline), ("", true));
        let d = parse_definition("$M=a  \\").expect("def");
        assert_eq!((d.value.as_str(), d.multiline), ("a\n", true));
        assert!(parse_definition("$X =1").is_none());
        assert!(parse_definition("$1X=1").is_none());
        assert!(parse_definition("$X").is_none());
        assert!(parse_definition("X=1").is_none());
    }

    #[test]
    fn expands_plain_and_braced() {
        let mut d = defs();
        d.set("X", "abc".into(), false);
        assert_eq!(exp(&mut d, "k1_$X"), "k1_abc");
        assert_eq!(exp(&mut d, "k2_${X}z"), "k2_abcz");
        assert_eq!(exp(&mut d, "\"k3_${X}\""), "\"k3_abc\"");
        assert_eq!(exp(&mut d, "w_$X,x w2_$X)x"), "w_abc,x w2_abc)x");
        // Not terminated by an allowed character: left alone.
        assert_eq!(exp(&mut d, "w3_$X;x"), "w3_$X;x");
        assert_eq!(exp(&mut d, "$$ $ ${UNDEF} $UNDEF"), "$$ $ ${UNDEF} $UNDEF");
        assert_eq!(exp(&mut d, "${X 5}"), "${X 5}");
    }

    #[test]
    fn expansion_is_recursive_and_late() {
        let mut d = defs();
        d.set("BASE", "10.2.${SUB}".into(), false);
        d.set("SUB", "0".into(), false);
        assert_eq!(exp(&mut d, "${BASE}.100/32"), "10.2.0.100/32");
        d.set("SUB", "10".into(), false);
        assert_eq!(exp(&mut d, "${BASE}.100/32"), "10.2.10.100/32");
    }

    #[test]
    fn builtins() {
        let mut d = defs();
        assert_eq!(exp(&mut d, "${_PWD}/x"), "/etc/keepalived/x");
        assert_eq!(exp(&mut d, "i_${_INSTANCE}_"), "i_inst_");
        assert_eq!(exp(&mut d, "a${_HASH}b${_BANG}"), "a#b!");
        assert_eq!(exp(&mut d, "${_RANDOM 5 5}"), "5");
        assert_eq!(exp(&mut d, "${_RANDOM 5 5 }"), "${_RANDOM 5 5 }");
        for _ in 0..100 {
            let v: u64 = exp(&mut d, "${_RANDOM 3 9}").parse().expect("number");
            assert!((3..=9).contains(&v));
            let v: u64 = exp(&mut d, "${_RANDOM}").parse().expect("number");
            assert!(v <= 32767);
        }
        d.set("_HASH", "h".into(), false);
        assert_eq!(exp(&mut d, "${_HASH}"), "h");
    }

    #[test]
    fn random_is_deterministic_per_seed() {
        let mut a = Defs::new(String::new(), 7);
        let mut b = Defs::new(String::new(), 7);
        let xs: Vec<String> = (0..5)
            .map(|_| exp(&mut a, "${_RANDOM 0 1000000}"))
            .collect();
        let ys: Vec<String> = (0..5)
            .map(|_| exp(&mut b, "${_RANDOM 0 1000000}"))
            .collect();
        assert_eq!(xs, ys);
    }

    #[test]
    fn multiline_only_at_end_and_splits() {
        let mut d = defs();
        d.set("M", "m1\nm2\nm3".into(), true);
        let mut t = "pre_$M".to_string();
        let r = d.expand(&mut t);
        assert_eq!(t, "pre_m1");
        assert_eq!(r.tails, vec![vec!["m2".to_string(), "m3".to_string()]]);
        let mut t = "$M post".to_string();
        let r = d.expand(&mut t);
        assert!(!r.changed);
        assert_eq!(t, "$M post");
    }

    #[test]
    fn runaway_definitions_stop() {
        let mut d = defs();
        d.set("A", "x$A".into(), false);
        let mut t = "$A".to_string();
        assert!(d.expand(&mut t).error.is_some());
        d.set("A", "$B".into(), false);
        d.set("B", "$A".into(), false);
        let mut t = "k_$A".to_string();
        assert!(d.expand(&mut t).error.is_some());
    }

    #[test]
    fn tilde_value_stops_scan() {
        let mut d = defs();
        d.set("S", "~SEQ(z,2) z_$z".into(), false);
        d.set("z", "9".into(), false);
        assert_eq!(exp(&mut d, "$S"), "~SEQ(z,2) z_$z");
    }

    #[test]
    fn continuation_lines() {
        assert_eq!(continuation("m1_${N} \\"), ("m1_${N}\n".to_string(), true));
        assert_eq!(continuation("\\"), (String::new(), true));
        assert_eq!(continuation("m3"), ("m3".to_string(), false));
    }
}
