// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Reading statements into typed values.
//!
//! Every block of the model is read by a table of `(keyword, handler)`
//! pairs. The table is the single list of keywords a block knows: it drives
//! dispatch, the "did you mean" hint for unknown keywords, and `-d`. Value
//! helpers report what was wrong and where, and return `None` so the caller
//! keeps its default, as keepalived does.

use std::net::IpAddr;

use crate::diag::{Category, Diagnostics, Loc};
use crate::syntax::{Node, Token};
use crate::types::{Command, CommandUse, Timer};

/// How one keyword of a block of type `T` is read.
pub type Handler<T> = fn(&mut T, &Node<'_>, &mut Reader<'_>);

/// A block's keyword table.
pub type Table<T> = [(&'static str, Handler<T>)];

/// Reading state: the diagnostics sink and what later checks need.
pub struct Reader<'d> {
    pub diags: &'d mut Diagnostics,
    /// Every command read so far (for script security).
    pub commands: Vec<CommandUse>,
    /// The preference the next rule without one gets: keepalived counts
    /// down from 16384, one per such rule, across the whole file.
    pub next_rule_preference: u32,
}

impl<'d> Reader<'d> {
    pub fn new(diags: &'d mut Diagnostics) -> Self {
        Self {
            diags,
            commands: Vec::new(),
            next_rule_preference: 16384,
        }
    }

    /// Reads every statement of `items` into `target` through `table`.
    /// Unknown keywords are reported (never fatal) with the closest known
    /// keyword as a hint.
    pub fn read_block<T>(&mut self, target: &mut T, items: &[Node<'_>], table: &Table<T>) {
        for node in items {
            match table.iter().find(|(k, _)| *k == node.name()) {
                Some((_, handler)) => handler(target, node, self),
                None => self.unknown(node, table.iter().map(|(k, _)| *k)),
            }
        }
    }

    /// Reports an unknown keyword, suggesting the closest of `known`.
    pub fn unknown<'k>(&mut self, node: &Node<'_>, known: impl Iterator<Item = &'k str>) {
        let msg = format!("Unknown keyword '{}'", node.name());
        match closest(node.name(), known) {
            Some(s) => self.diags.report_hint(
                Category::UnknownKeyword,
                Some(node.loc().clone()),
                msg,
                format!("did you mean '{s}'?"),
            ),
            None => self
                .diags
                .report(Category::UnknownKeyword, Some(node.loc().clone()), msg),
        }
    }

    // ----- structure -----

    /// The body of a keyword that needs one; reports its absence.
    pub fn block<'n, 'a>(&mut self, node: &'n Node<'a>) -> &'n [Node<'a>] {
        match &node.block {
            Some(b) => &b.items,
            None => {
                self.diags.report(
                    Category::MissingParameter,
                    Some(node.loc().clone()),
                    format!("'{}' expects a '{{ ... }}' block", node.name()),
                );
                &[]
            }
        }
    }

    /// Reports a block after a keyword that takes none (it is ignored).
    pub fn no_block(&mut self, node: &Node<'_>) {
        if let Some(b) = &node.block {
            self.diags.report(
                Category::UnexpectedBof,
                Some(b.open.clone()),
                format!(
                    "'{}' does not take a block; its '{{ ... }}' is ignored",
                    node.name()
                ),
            );
        }
    }

    // ----- arguments -----

    /// Argument `i` (0 = the first word after the keyword). A missing one
    /// is a [`Category::MissingValue`]: keepalived stops reading there
    /// (exit 2), which is what it does for most keywords.
    pub fn arg<'n, 'a>(&mut self, node: &'n Node<'a>, i: usize) -> Option<&'n Token<'a>> {
        self.arg_as(node, i, Category::MissingValue)
    }

    /// As [`Reader::arg`], for the keywords where keepalived only warns
    /// about a missing value and goes on (`router_id`, ...).
    pub fn arg_lenient<'n, 'a>(&mut self, node: &'n Node<'a>, i: usize) -> Option<&'n Token<'a>> {
        self.arg_as(node, i, Category::MissingParameter)
    }

    fn arg_as<'n, 'a>(
        &mut self,
        node: &'n Node<'a>,
        i: usize,
        category: Category,
    ) -> Option<&'n Token<'a>> {
        let t = node.args.get(i);
        if t.is_none() {
            let loc = node
                .args
                .last()
                .map_or_else(|| node.loc().clone(), |t| t.loc.clone());
            self.diags.report(
                category,
                Some(loc),
                format!(
                    "'{}' is missing a parameter at word position {}",
                    node.name(),
                    i + 2
                ),
            );
        }
        t
    }

    /// The first argument as a string.
    pub fn string(&mut self, node: &Node<'_>) -> Option<String> {
        self.no_block(node);
        self.arg(node, 0).map(|t| t.text.to_string())
    }

    /// An integer in `[min, max]` from token `t`. Parsed wide first so
    /// "300" for a u8 says "out of range" rather than "not a number".
    pub fn int_tok<N>(&mut self, t: &Token<'_>, min: N, max: N) -> Option<N>
    where
        N: Into<i128> + TryFrom<i128> + Copy + std::fmt::Display,
    {
        match t.text.parse::<i128>() {
            Ok(v) if v >= min.into() && v <= max.into() => N::try_from(v).ok(),
            Ok(_) => {
                self.diags.report(
                    Category::InvalidNumber,
                    Some(t.loc.clone()),
                    format!("number '{}' outside range [{min}, {max}]", t.text),
                );
                None
            }
            Err(_) => {
                self.diags.report(
                    Category::InvalidNumber,
                    Some(t.loc.clone()),
                    format!(
                        "expected a number between {min} and {max}, found '{}'",
                        t.text
                    ),
                );
                None
            }
        }
    }

    /// The first argument as an integer in `[min, max]`.
    pub fn int<N>(&mut self, node: &Node<'_>, min: N, max: N) -> Option<N>
    where
        N: Into<i128> + TryFrom<i128> + Copy + std::fmt::Display,
    {
        self.no_block(node);
        let t = self.arg(node, 0)?;
        self.int_tok(t, min, max)
    }

    /// A timer (decimal seconds) in `[min, max]` from token `t`.
    pub fn timer_tok(&mut self, t: &Token<'_>, min: Timer, max: Timer) -> Option<Timer> {
        match Timer::parse(t.text) {
            Some(v) if v >= min && v <= max => Some(v),
            Some(_) => {
                self.diags.report(
                    Category::InvalidNumber,
                    Some(t.loc.clone()),
                    format!("number '{}' outside range [{min}, {max}]", t.text),
                );
                None
            }
            None => {
                self.diags.report(
                    Category::InvalidNumber,
                    Some(t.loc.clone()),
                    format!("expected a time in seconds, found '{}'", t.text),
                );
                None
            }
        }
    }

    /// The first argument as a timer in `[min, max]`.
    pub fn timer(&mut self, node: &Node<'_>, min: Timer, max: Timer) -> Option<Timer> {
        self.no_block(node);
        let t = self.arg(node, 0)?;
        self.timer_tok(t, min, max)
    }

    /// keepalived's optional `<BOOL>`: a bare keyword means on.
    pub fn flag(&mut self, node: &Node<'_>) -> bool {
        self.no_block(node);
        match node.args.first() {
            None => true,
            Some(t) => match parse_bool(t.text) {
                Some(b) => b,
                None => {
                    self.diags.report(
                        Category::InvalidNumber,
                        Some(t.loc.clone()),
                        format!(
                            "'{}' expects on/off, true/false or yes/no, found '{}'; taking it as on",
                            node.name(),
                            t.text
                        ),
                    );
                    true
                }
            },
        }
    }

    /// An IP address (v4 or v6, no prefix) from token `t`.
    pub fn ip_tok(&mut self, t: &Token<'_>) -> Option<IpAddr> {
        match t.text.parse::<IpAddr>() {
            Ok(a) => Some(a),
            Err(_) => {
                self.diags
                    .error(&t.loc, format!("invalid IP address '{}'", t.text));
                None
            }
        }
    }

    /// The first argument as an IP address.
    pub fn ip(&mut self, node: &Node<'_>) -> Option<IpAddr> {
        self.no_block(node);
        let t = self.arg(node, 0)?;
        self.ip_tok(t)
    }

    /// One of `choices` (case-insensitive), returned in the table's case.
    pub fn choice_tok(&mut self, t: &Token<'_>, choices: &[&'static str]) -> Option<&'static str> {
        let found = choices
            .iter()
            .find(|c| c.eq_ignore_ascii_case(t.text))
            .copied();
        if found.is_none() {
            self.diags.report(
                Category::GeneralError,
                Some(t.loc.clone()),
                format!(
                    "invalid value '{}': expected one of {}",
                    t.text,
                    choices.join(", ")
                ),
            );
        }
        found
    }

    /// A command line: `KEYWORD CMD [user [group]]`. The statement is
    /// re-split shell-like (quotes, escapes) as keepalived does, then the
    /// command word is split again into argv. Recorded for script security.
    pub fn command(&mut self, node: &Node<'_>) -> Option<Command> {
        self.no_block(node);
        if node.args.is_empty() {
            self.arg(node, 0);
            return None;
        }
        let line = match crate::script::split_script_line(node.rest) {
            Ok(l) => l,
            Err(e) => {
                self.diags.report(
                    e.category(),
                    Some(node.args[0].loc.clone()),
                    format!("'{}': {e}", node.name()),
                );
                return None;
            }
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let cmd = Command {
            argv: line.argv.iter().map(|a| text(a)).collect(),
            user: line.extra.first().map(|u| text(u)),
            group: line.extra.get(1).map(|g| text(g)),
        };
        self.commands.push(CommandUse {
            command: cmd.clone(),
            keyword: node.name().to_string(),
            loc: node.loc().clone(),
        });
        Some(cmd)
    }

    /// Reports a keyword that is accepted but has no effect here.
    pub fn obsolete(&mut self, node: &Node<'_>, why: &str) {
        self.diags
            .warn(node.loc(), format!("'{}' is obsolete: {why}", node.name()));
    }

    pub fn warn(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.diags.warn(loc, msg);
    }

    pub fn error(&mut self, loc: &Loc, msg: impl Into<String>) {
        self.diags.error(loc, msg);
    }
}

/// keepalived's boolean words.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" => Some(true),
        "off" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// The known keyword closest to `word`, if it is close enough to be a
/// plausible typo.
pub fn closest<'k>(word: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    let mut best: Option<(&str, f64)> = None;
    for k in known {
        let score = strsim::jaro_winkler(word, k);
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((k, score));
        }
    }
    best.filter(|(k, s)| *s >= 0.85 || strsim::levenshtein(word, k) <= 2)
        .map(|(k, _)| k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preprocess::LogicalLine;
    use crate::syntax;

    #[derive(Default, Debug)]
    struct Demo {
        priority: u8,
        advert: Option<Timer>,
        nopreempt: bool,
    }

    const DEMO: &Table<Demo> = &[
        ("priority", |d, n, r| {
            if let Some(v) = r.int(n, 1, 255) {
                d.priority = v;
            }
        }),
        ("advert_int", |d, n, r| {
            d.advert = r.timer(n, Timer::from_micros(1), Timer::from_secs(255))
        }),
        ("nopreempt", |d, n, r| d.nopreempt = r.flag(n)),
    ];

    fn read(src: &[&str]) -> (Demo, Diagnostics) {
        let lines: Vec<_> = src
            .iter()
            .enumerate()
            .map(|(i, t)| LogicalLine {
                text: (*t).into(),
                loc: Loc::new("x".into(), i as u32 + 1, 1),
            })
            .collect();
        let mut diags = Diagnostics::new();
        let tree = syntax::parse(&lines, &mut diags);
        let mut d = Demo::default();
        let mut r = Reader::new(&mut diags);
        r.read_block(&mut d, &tree.items, DEMO);
        (d, diags)
    }

    #[test]
    fn table_dispatch_and_values() {
        let (d, diags) = read(&["priority 150", "advert_int 0.5", "nopreempt"]);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(d.priority, 150);
        assert_eq!(d.advert, Some(Timer::from_micros(500_000)));
        assert!(d.nopreempt);
    }

    #[test]
    fn bad_values_keep_defaults_and_say_why() {
        let (d, diags) = read(&["priority 300", "priorty 10", "advert_int x", "priority"]);
        assert_eq!(d.priority, 0);
        let msgs: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert!(
            msgs[0].contains("number '300' outside range [1, 255]"),
            "{msgs:?}"
        );
        assert!(msgs[1].contains("Unknown keyword 'priorty'"), "{msgs:?}");
        assert!(msgs[1].contains("did you mean 'priority'?"), "{msgs:?}");
        assert!(msgs[2].contains("expected a time in seconds"), "{msgs:?}");
        assert!(msgs[3].contains("missing a parameter"), "{msgs:?}");
        // A keyword without its value stops keepalived: exit 2.
        assert_eq!(diags.config_test_exit_code(), 2);
    }

    #[test]
    fn closest_only_for_plausible_typos() {
        let known = ["priority", "advert_int", "interface"];
        assert_eq!(
            closest("interfce", known.iter().copied()),
            Some("interface")
        );
        assert_eq!(closest("zzz", known.iter().copied()), None);
    }
}
