// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `~SEQ(var, [start,] [step,] end)`, `~SEQx(...)` and
//! `~LST(var, v1, v2 ...)` / `~LST({a,b}, {1,2}, ...)` line prefixes.
//!
//! Parsing only: the engine sets the variables and re-reads the rest of
//! the line once per value, which is also how several prefixes on one line
//! nest (the rest of the line starts with the next prefix).

/// Longest parameter text of a `~SEQ` keepalived accepts (three 64-bit
/// numbers with separators).
const MAX_SEQ_PARAMS: usize = 3 * 20 + 3;

/// A parsed `~SEQ`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Seq {
    pub var: String,
    pub start: i64,
    pub step: i64,
    pub end: i64,
    pub hex: bool,
}

impl Seq {
    /// How many values [`Seq::values`] yields.
    pub fn count(&self) -> u128 {
        let (start, end, step) = (
            i128::from(self.start),
            i128::from(self.end),
            i128::from(self.step),
        );
        let span = if step > 0 && end >= start {
            (end - start) / step
        } else if step < 0 && end <= start {
            (start - end) / -step
        } else if step == 0 {
            // Never ends by itself; the engine's limits stop it.
            return u128::MAX;
        } else {
            return 0;
        };
        // The walk stops where the next value would overflow i64.
        let last = start + span * step;
        let reachable = if i64::try_from(last).is_ok() {
            span
        } else {
            span - 1
        };
        reachable.unsigned_abs() + 1
    }

    /// The values in order, stopping rather than overflowing.
    pub fn values(&self) -> impl Iterator<Item = String> + '_ {
        let mut next = Some(self.start);
        std::iter::from_fn(move || {
            let cur = next?;
            if (self.step > 0 && cur > self.end) || (self.step < 0 && cur < self.end) {
                return None;
            }
            next = cur.checked_add(self.step);
            Some(if self.hex {
                format!("{:x}", cur.unsigned_abs())
            } else {
                cur.to_string()
            })
        })
    }
}

/// A parsed `~LST`: variable names and the value sets, each as long as
/// `vars` (missing values are empty, as in keepalived).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lst {
    pub vars: Vec<String>,
    pub sets: Vec<Vec<String>>,
}

/// The start of a `~SEQ`: its variable, hex flag, the raw parameter text
/// (definitions in it must be expanded before [`parse_seq_numbers`]) and
/// the byte offset of the rest of the line.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct SeqHead<'a> {
    pub var: &'a str,
    pub hex: bool,
    pub params: &'a str,
    pub rest_at: usize,
}

fn skip_blanks(s: &str, mut p: usize) -> usize {
    while matches!(s.as_bytes().get(p), Some(b' ' | b'\t')) {
        p += 1;
    }
    p
}

/// Splits `~SEQ(var, params...) rest`; Err holds the reason.
pub(crate) fn parse_seq_head(line: &str) -> Result<SeqHead<'_>, &'static str> {
    let b = line.as_bytes();
    let mut p = 4; // "~SEQ"
    let hex = b.get(p) == Some(&b'x');
    if hex {
        p += 1;
    }
    p = skip_blanks(line, p);
    if b.get(p) != Some(&b'(') {
        return Err("missing '('");
    }
    p = skip_blanks(line, p + 1);
    let var_start = p;
    while b
        .get(p)
        .is_some_and(|c| !matches!(c, b' ' | b'\t' | b',' | b')'))
    {
        p += 1;
    }
    let var = line.get(var_start..p).ok_or("bad variable")?;
    p = skip_blanks(line, p);
    if var.is_empty() || b.get(p) != Some(&b',') {
        return Err("expected '(variable, ...'");
    }
    p = skip_blanks(line, p + 1);
    let close = line
        .get(p..)
        .and_then(|t| t.find(')'))
        .map(|o| p + o)
        .ok_or("missing ')'")?;
    let params = line.get(p..close).ok_or("bad parameters")?;
    if params.len() + 2 > MAX_SEQ_PARAMS {
        return Err("parameter strings too long");
    }
    let rest_at = skip_blanks(line, close + 1);
    Ok(SeqHead {
        var,
        hex,
        params,
        rest_at,
    })
}

/// C's `strtol(s, &end, 0)`: optional blanks and sign, `0x` hex, leading
/// `0` octal, else decimal; saturates on overflow. Returns the value and
/// the bytes consumed (0 when no number was found).
fn strtol(s: &str) -> (i64, usize) {
    let b = s.as_bytes();
    let mut p = 0;
    while b.get(p).is_some_and(|c| c.is_ascii_whitespace()) {
        p += 1;
    }
    let neg = b.get(p) == Some(&b'-');
    if matches!(b.get(p), Some(b'-' | b'+')) {
        p += 1;
    }
    let (radix, digits_at) = if b.get(p) == Some(&b'0')
        && matches!(b.get(p + 1), Some(b'x' | b'X'))
        && b.get(p + 2).is_some_and(u8::is_ascii_hexdigit)
    {
        (16, p + 2)
    } else if b.get(p) == Some(&b'0') {
        (8, p)
    } else {
        (10, p)
    };
    let mut q = digits_at;
    let mut value: i128 = 0;
    while let Some(d) = b.get(q).and_then(|&c| char::from(c).to_digit(radix)) {
        value = (value * i128::from(radix) + i128::from(d)).min(i128::from(i64::MAX) + 1);
        q += 1;
    }
    if q == digits_at {
        return (0, 0);
    }
    let value = if neg { -value } else { value };
    let clamped = value.clamp(i128::from(i64::MIN), i128::from(i64::MAX));
    (i64::try_from(clamped).unwrap_or(0), q)
}

/// Reads the 1 to 3 numbers of a `~SEQ` (after definitions were
/// expanded) with keepalived's defaults for the missing ones.
pub(crate) fn parse_seq_numbers(var: &str, hex: bool, params: &str) -> Result<Seq, &'static str> {
    if params.len() + 2 > MAX_SEQ_PARAMS {
        return Err("parameter strings too long");
    }
    let mut nums = Vec::with_capacity(3);
    let mut rest = params;
    loop {
        let (n, used) = strtol(rest);
        nums.push(n);
        rest = rest
            .get(used..)
            .unwrap_or("")
            .trim_start_matches([' ', '\t']);
        if rest.is_empty() {
            break;
        }
        match rest.strip_prefix(',') {
            Some(r) if nums.len() < 3 => rest = r,
            _ => return Err("invalid ~SEQ definition"),
        }
    }
    let (start, step, end) = match nums.as_slice() {
        [end] => {
            let end = *end;
            (
                if end < 0 { -1 } else { 1 },
                if end < 1 { -1 } else { 1 },
                end,
            )
        }
        [start, end] => (*start, if start <= end { 1 } else { -1 }, *end),
        [start, step, end] => {
            if *step == 0 || (start < end && *step < 0) || (start > end && *step > 0) {
                return Err("invalid ~SEQ values");
            }
            (*start, *step, *end)
        }
        _ => return Err("invalid ~SEQ definition"),
    };
    if hex && (start < 0 || end < 0) {
        return Err("~SEQx is only valid for positive numbers");
    }
    Ok(Seq {
        var: var.to_string(),
        start,
        step,
        end,
        hex,
    })
}

/// Reads one `{a, b}` group or a single word, ending at any of `stops`.
fn read_group<'a>(line: &'a str, mut p: usize, stops: &[u8]) -> (Vec<&'a str>, usize, bool) {
    let b = line.as_bytes();
    let braced = b.get(p) == Some(&b'{');
    if braced {
        p = skip_blanks(line, p + 1);
    }
    let mut words = Vec::new();
    loop {
        let start = p;
        while b.get(p).is_some_and(|c| !stops.contains(c)) {
            p += 1;
        }
        words.push(line.get(start..p).unwrap_or(""));
        p = skip_blanks(line, p);
        if !braced || b.get(p) != Some(&b',') {
            break;
        }
        p = skip_blanks(line, p + 1);
    }
    (words, p, braced)
}

/// Parses `~LST(...) rest`, returning the list and the offset of `rest`.
pub(crate) fn parse_lst(line: &str) -> Result<(Lst, usize), &'static str> {
    let b = line.as_bytes();
    let mut p = skip_blanks(line, 4); // "~LST"
    if b.get(p) != Some(&b'(') {
        return Err("missing '('");
    }
    p = skip_blanks(line, p + 1);
    let (vars, q, braced) = read_group(line, p, b" \t,}");
    p = q;
    if braced {
        if b.get(p) != Some(&b'}') {
            return Err("expected '}' after the variables");
        }
        p = skip_blanks(line, p + 1);
    }
    if b.get(p) != Some(&b',') {
        return Err("expected ',' after the variables");
    }
    p = skip_blanks(line, p + 1);
    let mut sets = Vec::new();
    loop {
        let (mut values, q, braced) = read_group(line, p, b" \t,})");
        p = q;
        if braced {
            if b.get(p) != Some(&b'}') {
                return Err("expected '}' after the values");
            }
            p = skip_blanks(line, p + 1);
        }
        if values.len() > vars.len() {
            return Err("~LST specification has too many values");
        }
        values.resize(vars.len(), "");
        sets.push(values.into_iter().map(str::to_string).collect());
        match b.get(p) {
            Some(b')') => break,
            Some(b',') => p = skip_blanks(line, p + 1),
            _ => return Err("expected ',' or ')' after a value"),
        }
    }
    if vars.iter().all(|v| v.is_empty()) {
        return Err("no variable");
    }
    let rest_at = skip_blanks(line, p + 1);
    Ok((
        Lst {
            vars: vars.into_iter().map(str::to_string).collect(),
            sets,
        },
        rest_at,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(line: &str) -> Result<(Vec<String>, String), &'static str> {
        let h = parse_seq_head(line)?;
        let s = parse_seq_numbers(h.var, h.hex, h.params)?;
        Ok((s.values().collect(), line[h.rest_at..].to_string()))
    }

    #[test]
    fn seq_forms() {
        assert_eq!(
            seq("~SEQ(i,3) s_$i"),
            Ok((vec!["1".into(), "2".into(), "3".into()], "s_$i".into()))
        );
        assert_eq!(seq("~SEQ(SUBNET, 0, 3) x").map(|v| v.0.len()), Ok(4));
        assert_eq!(
            seq("~SEQ(i,-2)").map(|v| v.0),
            Ok(vec!["-1".into(), "-2".into()])
        );
        assert_eq!(
            seq("~SEQ(i,0)").map(|v| v.0),
            Ok(vec!["1".into(), "0".into()])
        );
        assert_eq!(
            seq("~SEQ(i,5,3)").map(|v| v.0),
            Ok(vec!["5".into(), "4".into(), "3".into()])
        );
        assert_eq!(
            seq("~SEQ(i,168,2,172)").map(|v| v.0),
            Ok(vec!["168".into(), "170".into(), "172".into()])
        );
        assert_eq!(
            seq("~SEQx(j, 0x90, 0x10, 0xc0) fe80::${j}").map(|v| v.0),
            Ok(vec!["90".into(), "a0".into(), "b0".into(), "c0".into()])
        );
        assert_eq!(
            seq("~SEQx(j,10,3,16)").map(|v| v.0),
            Ok(vec!["a".into(), "d".into(), "10".into()])
        );
        assert_eq!(seq("~SEQ(i,010)").map(|v| v.0.len()), Ok(8));
    }

    #[test]
    fn seq_errors() {
        assert!(seq("~SEQ i,3)").is_err());
        assert!(seq("~SEQ(i)").is_err());
        assert!(seq("~SEQ(,3)").is_err());
        assert!(seq("~SEQ(i,3").is_err());
        assert!(seq("~SEQ(i,1,0,3)").is_err());
        assert!(seq("~SEQ(i,1,-1,3)").is_err());
        assert!(seq("~SEQ(i,a)").is_err());
        assert!(seq("~SEQ(i,1,2,3,4)").is_err());
        assert!(seq("~SEQx(i,-3)").is_err());
        assert!(seq(&format!("~SEQ(i,{})", "1".repeat(80))).is_err());
    }

    #[test]
    fn seq_does_not_overflow() {
        let s =
            parse_seq_numbers("i", false, "9223372036854775806, 9223372036854775807").expect("seq");
        assert_eq!(s.values().count(), 2);
        let s = parse_seq_numbers("i", false, "99999999999999999999999").expect("seq");
        assert_eq!(s.end, i64::MAX);
    }

    #[test]
    fn lst_forms() {
        let (l, at) = parse_lst("~LST(v,p,q) l_$v").expect("lst");
        assert_eq!(l.vars, vec!["v"]);
        assert_eq!(l.sets, vec![vec!["p".to_string()], vec!["q".to_string()]]);
        assert_eq!(&"~LST(v,p,q) l_$v"[at..], "l_$v");
        let line = "~LST({IP, IP1}, {10,1},{20,4}, {3}) 192.168.${IP}.${IP1}";
        let (l, at) = parse_lst(line).expect("lst");
        assert_eq!(l.vars, vec!["IP", "IP1"]);
        assert_eq!(l.sets[0], vec!["10", "1"]);
        assert_eq!(l.sets[2], vec!["3", ""]);
        assert_eq!(&line[at..], "192.168.${IP}.${IP1}");
    }

    #[test]
    fn lst_errors() {
        assert!(parse_lst("~LST v,1)").is_err());
        assert!(parse_lst("~LST({a,b},{1,2,3})").is_err());
        assert!(parse_lst("~LST(a)").is_err());
        assert!(parse_lst("~LST(a,1").is_err());
        assert!(parse_lst("~LST({a,b} 1)").is_err());
    }
}

#[cfg(test)]
mod count_tests {
    use super::Seq;

    fn seq(start: i64, step: i64, end: i64) -> Seq {
        Seq {
            var: "i".into(),
            start,
            step,
            end,
            hex: false,
        }
    }

    #[test]
    fn count_is_what_values_yields() {
        for (start, step, end) in [
            (1, 1, 10),
            (0, 3, 10),
            (10, -2, 1),
            (5, 1, 4),
            (5, -1, 6),
            (7, 1, 7),
            (i64::MAX - 5, 2, i64::MAX),
            (i64::MIN + 5, -2, i64::MIN),
            (i64::MAX - 2, 1, i64::MAX),
        ] {
            let s = seq(start, step, end);
            assert_eq!(
                s.count(),
                s.values().count() as u128,
                "{start} {step} {end}"
            );
        }
        assert_eq!(seq(0, 1, i64::MAX).count(), 1u128 << 63);
    }
}
