// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `include` and its variants: recognising the line, `include_check`
//! flags, csh brace expansion, globbing and reading the files safely.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// keepalived's include checks, as bits.
pub(crate) mod check {
    /// Error if a match cannot be read or is not a regular, non-executable file.
    pub const READ: u8 = 0x01;
    /// Error if nothing matches a pattern without wildcards.
    pub const MATCH: u8 = 0x02;
    /// Error if nothing matches even a wildcard pattern.
    pub const WILDCARD_MATCH: u8 = 0x04;
    /// Error if one alternative of a `{a,b}` pattern matches nothing.
    pub const BRACE_MATCH: u8 = 0x08;
    pub const ALL: u8 = READ | MATCH | WILDCARD_MATCH | BRACE_MATCH;
}

/// Brace alternatives one include may produce.
pub(crate) const MAX_ALTERNATIVES: usize = 1024;
/// Files one include may match.
pub(crate) const MAX_MATCHES: usize = 10_000;
/// Largest configuration file read.
pub const MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;

/// An include line: the checks it adds and its pattern.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct IncludeLine<'a> {
    pub checks: u8,
    pub pattern: &'a str,
}

fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r')
}

/// Recognises `include PATTERN` and `include[rmwba] PATTERN`. The
/// pattern is the whole rest of the line, spaces included, as keepalived
/// takes it.
pub(crate) fn parse_include(line: &str) -> Option<IncludeLine<'_>> {
    let rest = line.strip_prefix("include")?;
    let b = rest.as_bytes();
    let (checks, skip) = match (b.first(), b.get(1)) {
        (Some(&c), _) if is_c_space(c) => (0, 1),
        (Some(&v), Some(&c)) if is_c_space(c) => {
            let checks = match v {
                b'r' => check::READ,
                b'm' => check::READ | check::MATCH,
                b'w' => check::READ | check::MATCH | check::WILDCARD_MATCH,
                b'b' => check::READ | check::BRACE_MATCH,
                b'a' => check::ALL,
                _ => return None,
            };
            (checks, 2)
        }
        _ => return None,
    };
    let pattern = rest.get(skip..)?.trim_start_matches([' ', '\t']);
    Some(IncludeLine { checks, pattern })
}

/// Applies an `include_check [WORDS]` line to the current checks.
/// Problems are returned as messages (keepalived's wording).
pub(crate) fn apply_include_check(current: u8, words: &[&str]) -> (u8, Vec<String>) {
    if words.is_empty() {
        return (check::ALL, Vec::new());
    }
    let mut value = current;
    let mut problems = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let (op, name) = match word.as_bytes().first() {
            Some(b'-') => ('-', word.get(1..).unwrap_or("")),
            Some(b'+') => ('+', word.get(1..).unwrap_or("")),
            _ if i == 0 => {
                value = 0;
                ('=', *word)
            }
            _ => {
                problems.push(format!(
                    "Duplicate include_check '{word}' specified - ignoring"
                ));
                continue;
            }
        };
        let flag = match name {
            "read" => check::READ,
            "match" => check::MATCH,
            "wildcard_match" => check::WILDCARD_MATCH,
            "brace_match" => check::BRACE_MATCH,
            _ => {
                problems.push(format!("Unknown include_check type '{name}' - ignoring"));
                continue;
            }
        };
        value = match op {
            '=' => check::READ | flag,
            '+' => value | flag,
            _ => value & !flag,
        };
    }
    (value, problems)
}

/// Whether the pattern has a `{` that is not escaped.
pub(crate) fn has_brace(pattern: &str) -> bool {
    let mut escaped = false;
    for b in pattern.bytes() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'{' => return true,
            _ => {}
        }
    }
    false
}

/// The first `{` with a matching `}`: (open, close) byte offsets.
fn first_brace_pair(s: &str) -> Option<(usize, usize)> {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'{' => {
                let mut depth = 0usize;
                let mut j = i;
                while let Some(&d) = b.get(j) {
                    match d {
                        b'\\' => j += 1,
                        b'{' => depth += 1,
                        b'}' => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                return Some((i, j));
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                // Unbalanced: glob(3) then takes the pattern literally.
                return None;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Splits a brace body at its top-level, unescaped commas.
fn alternatives(body: &str) -> Vec<&str> {
    let b = body.as_bytes();
    let mut parts = Vec::new();
    let (mut depth, mut start, mut i) = (0usize, 0usize, 0usize);
    while let Some(&c) = b.get(i) {
        match c {
            b'\\' => i += 1,
            b'{' => depth += 1,
            b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => {
                parts.push(body.get(start..i).unwrap_or(""));
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(body.get(start..).unwrap_or(""));
    parts
}

/// Expands csh braces (`a{b,c{d,e}}f` -> abf, acdf, acef) in order, as
/// glob(3) with GLOB_BRACE does. None if more than `limit` patterns
/// would result.
pub(crate) fn expand_braces(pattern: &str, limit: usize) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut work = vec![pattern.to_string()];
    while let Some(p) = work.pop() {
        match first_brace_pair(&p) {
            None => {
                out.push(p);
                if out.len() > limit {
                    return None;
                }
            }
            Some((open, close)) => {
                let (head, body, tail) =
                    (p.get(..open)?, p.get(open + 1..close)?, p.get(close + 1..)?);
                let alts = alternatives(body);
                if work.len() + alts.len() > limit {
                    return None;
                }
                // Pushed in reverse so that they come off the stack in order.
                for alt in alts.into_iter().rev() {
                    work.push(format!("{head}{alt}{tail}"));
                }
            }
        }
    }
    Some(out)
}

/// Whether glob(3) would treat the text as a pattern.
fn has_magic(s: &str) -> bool {
    let mut escaped = false;
    for b in s.bytes() {
        match b {
            _ if escaped => escaped = false,
            b'\\' => escaped = true,
            b'*' | b'?' | b'[' => return true,
            _ => {}
        }
    }
    false
}

/// Removes glob(3) backslash escapes from a pattern without wildcards.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Rewrites glob(3) escapes for the glob crate, which escapes with `[c]`.
fn to_glob_crate(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(n @ ('*' | '?' | '[' | ']')) => {
                    out.push('[');
                    out.push(n);
                    out.push(']');
                }
                Some(n) => out.push(n),
                None => {}
            },
            _ => out.push(c),
        }
    }
    out
}

/// The directory glob(3) would open first: the components before the
/// first one holding a wildcard.
fn literal_dir(pattern: &str) -> PathBuf {
    let mut dir = PathBuf::new();
    let mut parts = pattern.split('/').peekable();
    if pattern.starts_with('/') {
        dir.push("/");
    }
    while let Some(part) = parts.next() {
        if parts.peek().is_none() || has_magic(part) {
            break;
        }
        if !part.is_empty() {
            dir.push(unescape(part));
        }
    }
    dir
}

/// What a pattern matched.
#[derive(Debug, Default)]
pub(crate) struct Matches {
    pub paths: Vec<PathBuf>,
    /// A literal file or a directory to search did not exist.
    pub missing: bool,
    /// Some alternative had wildcards.
    pub wildcards: bool,
    /// More alternatives or matches than we allow.
    pub too_many: bool,
}

/// Resolves an include pattern relative to `base` (the including file's
/// directory; empty = the process's working directory).
pub(crate) fn resolve(pattern: &str, base: &Path) -> Matches {
    let mut m = Matches::default();
    let Some(alts) = expand_braces(pattern, MAX_ALTERNATIVES) else {
        m.too_many = true;
        return m;
    };
    let base_str = base.to_string_lossy();
    let base_escaped = glob::Pattern::escape(&base_str);
    for alt in alts {
        let absolute = alt.starts_with('/');
        if !has_magic(&alt) {
            let literal = unescape(&alt);
            let path = if absolute || base_str.is_empty() {
                PathBuf::from(literal)
            } else {
                base.join(literal)
            };
            match std::fs::symlink_metadata(&path) {
                Ok(_) => m.paths.push(path),
                Err(_) => m.missing = true,
            }
            continue;
        }
        m.wildcards = true;
        let dir = literal_dir(&alt);
        let dir = if absolute || base_str.is_empty() {
            dir
        } else {
            base.join(dir)
        };
        if !(dir.as_os_str().is_empty() || dir.is_dir()) {
            m.missing = true;
            continue;
        }
        let full = if absolute || base_str.is_empty() {
            to_glob_crate(&alt)
        } else {
            format!(
                "{}/{}",
                base_escaped.trim_end_matches('/'),
                to_glob_crate(&alt)
            )
        };
        let opts = glob::MatchOptions {
            case_sensitive: true,
            require_literal_separator: true,
            require_literal_leading_dot: true,
        };
        // An invalid pattern matches nothing, as glob(3) reports no match.
        let Ok(found) = glob::glob_with(&full, opts) else {
            continue;
        };
        for path in found.flatten() {
            if m.paths.len() >= MAX_MATCHES {
                m.too_many = true;
                return m;
            }
            m.paths.push(path);
        }
    }
    m
}

/// Why a matched file was not read.
#[derive(Debug)]
pub(crate) enum ReadError {
    Directory,
    NotRegular,
    TooBig,
    Io(std::io::Error),
}

/// Reads a configuration file: only regular, non-executable files (as
/// keepalived), checked before opening so that a FIFO or device never
/// blocks us, and never more than [`MAX_FILE_SIZE`] bytes. Bytes that are
/// not UTF-8 are replaced.
pub(crate) fn read_config_file(path: &Path) -> Result<String, ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if meta.is_dir() {
        return Err(ReadError::Directory);
    }
    if !meta.is_file() || meta.permissions().mode() & 0o111 != 0 {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > MAX_FILE_SIZE {
        return Err(ReadError::TooBig);
    }
    let file = File::open(path).map_err(ReadError::Io)?;
    // The file may have been swapped since the check: look again.
    let meta = file.metadata().map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(ReadError::TooBig);
    }
    Ok(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_lines() {
        assert_eq!(
            parse_include("include a.conf"),
            Some(IncludeLine {
                checks: 0,
                pattern: "a.conf"
            })
        );
        assert_eq!(
            parse_include("include\t  a b"),
            Some(IncludeLine {
                checks: 0,
                pattern: "a b"
            })
        );
        assert_eq!(
            parse_include("includer x").map(|i| i.checks),
            Some(check::READ)
        );
        assert_eq!(
            parse_include("includem x").map(|i| i.checks),
            Some(check::READ | check::MATCH)
        );
        assert_eq!(
            parse_include("includew x").map(|i| i.checks),
            Some(check::READ | check::MATCH | check::WILDCARD_MATCH)
        );
        assert_eq!(
            parse_include("includeb x").map(|i| i.checks),
            Some(check::READ | check::BRACE_MATCH)
        );
        assert_eq!(
            parse_include("includea x").map(|i| i.checks),
            Some(check::ALL)
        );
        assert_eq!(parse_include("include"), None);
        assert_eq!(parse_include("include_check"), None);
        assert_eq!(parse_include("includex y"), None);
        assert_eq!(parse_include("includes"), None);
    }

    #[test]
    fn include_check_words() {
        assert_eq!(apply_include_check(0, &[]).0, check::ALL);
        assert_eq!(apply_include_check(check::ALL, &["read"]).0, check::READ);
        assert_eq!(
            apply_include_check(0, &["match"]).0,
            check::READ | check::MATCH
        );
        assert_eq!(
            apply_include_check(check::ALL, &["+match", "-wildcard_match"]).0,
            check::ALL & !check::WILDCARD_MATCH
        );
        let (v, p) = apply_include_check(check::ALL, &["readable"]);
        assert_eq!(v, 0);
        assert_eq!(
            p,
            vec!["Unknown include_check type 'readable' - ignoring".to_string()]
        );
        let (v, p) = apply_include_check(0, &["read", "match"]);
        assert_eq!(v, check::READ);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn braces() {
        let e = |s| expand_braces(s, 100).expect("expand");
        assert_eq!(e("a{b,c}d"), vec!["abd", "acd"]);
        assert_eq!(
            e("{foo/{,cat,dog},bar}"),
            vec!["foo/", "foo/cat", "foo/dog", "bar"]
        );
        assert_eq!(e("x{a}y"), vec!["xay"]);
        assert_eq!(e("{a,b}{1,2}"), vec!["a1", "a2", "b1", "b2"]);
        assert_eq!(e("open{a,b"), vec!["open{a,b"]);
        assert_eq!(e(r"lit\{a,b}"), vec![r"lit\{a,b}"]);
        assert!(expand_braces(&"{a,b}".repeat(20), 1000).is_none());
        assert!(has_brace("a{b}"));
        assert!(!has_brace(r"a\{b}"));
    }

    #[test]
    fn literal_dirs() {
        assert_eq!(literal_dir("/etc/k/*.conf"), PathBuf::from("/etc/k"));
        assert_eq!(literal_dir("conf.d/*.conf"), PathBuf::from("conf.d"));
        assert_eq!(literal_dir("*.conf"), PathBuf::new());
        assert_eq!(literal_dir("/a/*/b/*.conf"), PathBuf::from("/a"));
    }

    #[test]
    fn globbing_in_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        for n in ["b.conf", "a.conf", ".hidden.conf", "c.txt"] {
            std::fs::write(dir.path().join(n), "x\n").expect("write");
        }
        let m = resolve("*.conf", dir.path());
        let names: Vec<_> = m
            .paths
            .iter()
            .map(|p| p.file_name().map(|f| f.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(
            names,
            vec![Some("a.conf".to_string()), Some("b.conf".to_string())]
        );
        assert!(m.wildcards && !m.missing);
        let m = resolve("{b,zz,a}.conf", dir.path());
        assert_eq!(m.paths.len(), 2);
        assert!(m.missing);
        assert_eq!(
            m.paths[0]
                .file_name()
                .map(|f| f.to_string_lossy().into_owned()),
            Some("b.conf".into())
        );
        let m = resolve("nodir/*.conf", dir.path());
        assert!(m.paths.is_empty() && m.missing);
        let m = resolve("*.none", dir.path());
        assert!(m.paths.is_empty() && !m.missing && m.wildcards);
    }

    #[test]
    fn refuses_special_and_executable_files() {
        assert!(matches!(
            read_config_file(Path::new("/dev/zero")),
            Err(ReadError::NotRegular)
        ));
        assert!(matches!(
            read_config_file(Path::new("/")),
            Err(ReadError::Directory)
        ));
        assert!(matches!(
            read_config_file(Path::new("/nonexistent/x")),
            Err(ReadError::Io(_))
        ));
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("x.sh");
        std::fs::write(&p, "x\n").expect("write");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert!(matches!(read_config_file(&p), Err(ReadError::NotRegular)));
    }
}
