// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Block structure: logical lines -> a tree of [`Node`]s, by a pest grammar.

use pest::Parser;
use pest::iterators::Pair;
use pest_derive::Parser;
use serde::Serialize;

use crate::diag::{Category, Diagnostics, Loc};
use crate::preprocess::LogicalLine;

#[derive(Parser)]
#[grammar = "grammar.pest"]
struct ConfParser;

/// One word of a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token {
    /// The word with surrounding quotes removed.
    pub text: String,
    /// Whether it was written in double quotes.
    pub quoted: bool,
    pub loc: Loc,
}

/// A statement, with the block that follows it if there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// The first word.
    pub keyword: Token,
    /// The other words.
    pub args: Vec<Token>,
    /// The statement's text after the keyword, unsplit, for keywords that
    /// take a shell-like command line.
    pub rest: String,
    pub block: Option<Block>,
}

/// A `{ ... }` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block {
    pub open: Loc,
    pub items: Vec<Node>,
    /// False when the input ended before the closing `}`.
    pub closed: bool,
}

impl Node {
    pub fn name(&self) -> &str {
        &self.keyword.text
    }

    pub fn loc(&self) -> &Loc {
        &self.keyword.loc
    }

    /// The statement's words after the keyword, as plain strings.
    pub fn arg_strs(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(|t| t.text.as_str())
    }
}

/// The parsed file: top-level statements.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Tree {
    pub items: Vec<Node>,
}

/// Maps byte offsets in the joined text back to source locations.
///
/// pest's own `line_col()` rescans the input from its start on every call,
/// which is quadratic over a large configuration; a table of line starts
/// and a binary search keep each lookup logarithmic.
struct LineMap<'a> {
    lines: &'a [LogicalLine],
    /// Byte offset where each joined line starts.
    starts: Vec<usize>,
}

impl<'a> LineMap<'a> {
    fn new(lines: &'a [LogicalLine], text: &str) -> Self {
        let mut starts = Vec::with_capacity(lines.len() + 1);
        starts.push(0);
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { lines, starts }
    }

    /// `line` is a 0-based joined line, `byte_col` a 0-based byte column.
    fn loc_at(&self, line: usize, byte_col: usize) -> Loc {
        match self.lines.get(line) {
            Some(l) => {
                let col = u32::try_from(byte_col).unwrap_or(u32::MAX);
                l.loc.at_col(l.loc.col.saturating_add(col))
            }
            None => self
                .lines
                .last()
                .map(|l| l.loc.clone())
                .unwrap_or_else(|| Loc::new("<empty>".into(), 0, 0)),
        }
    }

    fn loc_of_offset(&self, offset: usize) -> Loc {
        let line = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(line).copied().unwrap_or(0);
        self.loc_at(line, offset.saturating_sub(start))
    }

    fn loc_of(&self, pair: &Pair<'_, Rule>) -> Loc {
        self.loc_of_offset(pair.as_span().start())
    }

    /// pest's 1-based position (only used for the rare parse error).
    fn loc(&self, line: usize, col: usize) -> Loc {
        self.loc_at(line.saturating_sub(1), col.saturating_sub(1))
    }
}

/// Builds the statement tree. Structural mistakes (stray `}`, unclosed
/// block, brace without a keyword, unterminated quote) become diagnostics;
/// everything that can be understood is kept.
pub fn parse(lines: &[LogicalLine], diags: &mut Diagnostics) -> Tree {
    let mut text = String::with_capacity(lines.iter().map(|l| l.text.len() + 1).sum());
    for (i, l) in lines.iter().enumerate() {
        if i > 0 {
            text.push('\n');
        }
        text.push_str(&l.text);
    }
    let map = LineMap::new(lines, &text);
    let pairs = match ConfParser::parse(Rule::config, &text) {
        Ok(p) => p,
        Err(e) => {
            // The grammar accepts any sequence of logical lines, so this
            // only happens if the preprocessor broke its own contract.
            let (line, col) = match e.line_col {
                pest::error::LineColLocation::Pos(p) => p,
                pest::error::LineColLocation::Span(p, _) => p,
            };
            diags.report(
                Category::Fatal,
                Some(map.loc(line, col)),
                format!(
                    "internal: could not parse the block structure: {}",
                    e.variant.message()
                ),
            );
            return Tree::default();
        }
    };
    let mut tree = Tree::default();
    for pair in pairs.flatten().take(1) {
        for item in pair.into_inner() {
            match item.as_rule() {
                Rule::statement_with_block => tree.items.push(statement(item, &map, diags)),
                Rule::block => {
                    let loc = map.loc_of(&item);
                    diags.report(
                        Category::UnexpectedBof,
                        Some(loc),
                        "Unexpected '{' without a keyword; block ignored",
                    );
                    let _ = block(item, &map, diags);
                }
                Rule::stray_close => {
                    diags.report(
                        Category::UnexpectedEof,
                        Some(map.loc_of(&item)),
                        "Extra '}' found",
                    );
                }
                _ => {}
            }
        }
    }
    tree
}

fn statement(pair: Pair<'_, Rule>, map: &LineMap<'_>, diags: &mut Diagnostics) -> Node {
    let mut inner = pair.into_inner();
    let mut words: Vec<Token> = Vec::new();
    let mut rest = String::new();
    let mut blk = None;
    if let Some(stmt) = inner.next() {
        let text = stmt.as_str();
        let base = stmt.as_span().start();
        for w in split_words(text) {
            let loc = map.loc_of_offset(base + w.start);
            if w.unterminated {
                diags.report(
                    Category::UnmatchedQuote,
                    Some(loc.clone()),
                    "Unmatched quote",
                );
            }
            if words.len() == 1 {
                rest = text
                    .get(w.start..)
                    .unwrap_or_default()
                    .trim_end()
                    .to_string();
            }
            words.push(Token {
                text: w.text.to_string(),
                quoted: w.quoted,
                loc,
            });
        }
    }
    if let Some(b) = inner.next() {
        blk = Some(block(b, map, diags));
    }
    let mut words = words.into_iter();
    let keyword = words.next().unwrap_or_else(|| Token {
        text: String::new(),
        quoted: false,
        loc: Loc::new("<empty>".into(), 0, 0),
    });
    Node {
        keyword,
        args: words.collect(),
        rest,
        block: blk,
    }
}

/// One word of a statement line.
struct Word<'a> {
    text: &'a str,
    /// Byte offset of the word (its opening quote, if quoted) in the line.
    start: usize,
    quoted: bool,
    unterminated: bool,
}

/// keepalived's word rules: blanks separate words; a double quote always
/// starts a new word that runs to the next double quote (no escapes), so
/// `"ab"cd` and `ab"cd"` are two words each; a quote left open runs to the
/// end of the line.
fn split_words(line: &str) -> Vec<Word<'_>> {
    let bytes = line.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                let start = i;
                let body = i + 1;
                match bytes[body..].iter().position(|&b| b == b'"') {
                    Some(len) => {
                        words.push(Word {
                            text: &line[body..body + len],
                            start,
                            quoted: true,
                            unterminated: false,
                        });
                        i = body + len + 1;
                    }
                    None => {
                        words.push(Word {
                            text: &line[body..],
                            start,
                            quoted: true,
                            unterminated: true,
                        });
                        i = bytes.len();
                    }
                }
            }
            _ => {
                let start = i;
                while i < bytes.len() && !matches!(bytes[i], b' ' | b'\t' | b'"') {
                    i += 1;
                }
                words.push(Word {
                    text: &line[start..i],
                    start,
                    quoted: false,
                    unterminated: false,
                });
            }
        }
    }
    words
}

fn block(pair: Pair<'_, Rule>, map: &LineMap<'_>, diags: &mut Diagnostics) -> Block {
    let open = map.loc_of(&pair);
    let mut items = Vec::new();
    let mut closed = false;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::statement_with_block => items.push(statement(p, map, diags)),
            Rule::block => {
                diags.report(
                    Category::UnexpectedBof,
                    Some(map.loc_of(&p)),
                    "Unexpected '{' without a keyword; block ignored",
                );
                let _ = block(p, map, diags);
            }
            Rule::close => closed = true,
            _ => {}
        }
    }
    if !closed {
        diags.report(
            Category::MissingEob,
            Some(open.clone()),
            "Missing '}': this block is still open at the end of the configuration",
        );
    }
    Block {
        open,
        items,
        closed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(src: &[&str]) -> Vec<LogicalLine> {
        src.iter()
            .enumerate()
            .map(|(i, t)| LogicalLine {
                text: (*t).to_string(),
                loc: Loc::new("t.conf".into(), i as u32 + 1, 1),
            })
            .collect()
    }

    #[test]
    fn nested_blocks_and_args() {
        let mut d = Diagnostics::new();
        let t = parse(
            &lines(&[
                "vrrp_instance VI_1",
                "{",
                "priority 100",
                "virtual_ipaddress",
                "{",
                "192.0.2.1/24 dev eth0",
                "}",
                "}",
            ]),
            &mut d,
        );
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(t.items.len(), 1);
        let vi = &t.items[0];
        assert_eq!(vi.name(), "vrrp_instance");
        assert_eq!(vi.arg_strs().collect::<Vec<_>>(), ["VI_1"]);
        let b = vi.block.as_ref().expect("block");
        assert!(b.closed);
        assert_eq!(b.items[0].name(), "priority");
        let vip = &b.items[1].block.as_ref().expect("vip block").items[0];
        assert_eq!(vip.name(), "192.0.2.1/24");
        assert_eq!(vip.rest, "dev eth0");
        assert_eq!(vip.args[1].loc.col, 18);
    }

    #[test]
    fn quoted_words_and_rest() {
        let mut d = Diagnostics::new();
        let t = parse(&lines(&[r#"notify_master "/bin/echo a b" x"#]), &mut d);
        let n = &t.items[0];
        assert_eq!(n.args[0].text, "/bin/echo a b");
        assert!(n.args[0].quoted);
        assert_eq!(n.rest, r#""/bin/echo a b" x"#);
    }

    #[test]
    fn structure_errors_are_diagnostics() {
        let mut d = Diagnostics::new();
        let t = parse(
            &lines(&[
                "}",
                "global_defs",
                "{",
                "router_id x",
                "{",
                "a",
                "}",
                "\"open",
            ]),
            &mut d,
        );
        let cats: Vec<_> = d.iter().map(|x| x.category).collect();
        assert!(cats.contains(&Category::UnexpectedEof), "{cats:?}");
        assert!(cats.contains(&Category::MissingEob), "{cats:?}");
        assert!(cats.contains(&Category::UnmatchedQuote), "{cats:?}");
        assert_eq!(t.items.len(), 1);
        // `router_id x` took the `{ a }` block: the reader decides whether
        // a keyword may have one.
        let g = t.items[0].block.as_ref().expect("block");
        assert!(!g.closed);
        assert!(g.items[0].block.is_some());
    }
}
