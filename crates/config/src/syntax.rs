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

/// One word of a statement, borrowed from its logical line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Token<'a> {
    /// The word with surrounding quotes removed.
    pub text: &'a str,
    /// Whether it was written in double quotes.
    pub quoted: bool,
    pub loc: Loc,
}

/// A statement, with the block that follows it if there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node<'a> {
    /// The first word.
    pub keyword: Token<'a>,
    /// The other words.
    pub args: Vec<Token<'a>>,
    /// The statement's text after the keyword, unsplit, for keywords that
    /// take a shell-like command line.
    pub rest: &'a str,
    pub block: Option<Block<'a>>,
}

/// A `{ ... }` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Block<'a> {
    pub open: Loc,
    pub items: Vec<Node<'a>>,
    /// False when the input ended before the closing `}`.
    pub closed: bool,
}

impl<'a> Node<'a> {
    pub fn name(&self) -> &'a str {
        self.keyword.text
    }

    pub fn loc(&self) -> &Loc {
        &self.keyword.loc
    }

    /// The statement's words after the keyword, as plain strings.
    pub fn arg_strs(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.args.iter().map(|t| t.text)
    }
}

/// The parsed file: top-level statements.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Tree<'a> {
    pub items: Vec<Node<'a>>,
}

/// The grammar refused the input, which only happens if the preprocessor
/// broke its own contract: the `Fatal` diagnostic to report instead of
/// everything else the block structure would have said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure(pub crate::diag::Diagnostic);

/// Builds the statement tree. Structural mistakes (stray `}`, unclosed
/// block, brace without a keyword, unterminated quote) become diagnostics;
/// everything that can be understood is kept. Tokens borrow from `lines`.
pub fn parse<'a>(lines: &'a [LogicalLine], diags: &mut Diagnostics) -> Tree<'a> {
    let mut found = Diagnostics::new();
    let mut tree = Tree::default();
    match parse_each(lines, &mut found, |n| tree.items.push(n)) {
        Ok(()) => {
            diags.extend(found);
            tree
        }
        Err(ParseFailure(d)) => {
            diags.push(d);
            Tree::default()
        }
    }
}

/// As [`parse`], handing each top-level statement to `sink` as soon as it
/// is complete, so that a large configuration never exists as one whole
/// tree (nor as one pest token queue). On `Err`, what was handed out and
/// reported must be discarded: [`parse`] would have produced nothing but
/// the failure.
///
/// pest runs over one top-level entry at a time. Entries are cut where the
/// grammar itself would end them (a lone `}` or `{` is a whole logical
/// line, so brace depth alone tells where a top-level block ends), which
/// gives the same tree as one pass over the whole text.
pub fn parse_each<'a>(
    lines: &'a [LogicalLine],
    diags: &mut Diagnostics,
    mut sink: impl FnMut(Node<'a>),
) -> Result<(), ParseFailure> {
    let mut chunk = Chunk::default();
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        i = entry_end(lines, i);
        chunk.fill(lines, start, i);
        let pairs = match ConfParser::parse(Rule::config, &chunk.text) {
            Ok(p) => p,
            Err(e) => return Err(chunk.failure(&e)),
        };
        for pair in pairs.flatten().take(1) {
            for item in pair.into_inner() {
                match item.as_rule() {
                    Rule::statement_with_block => sink(statement(item, &chunk, diags)),
                    Rule::block => {
                        diags.report(
                            Category::UnexpectedBof,
                            Some(chunk.loc_of(&item)),
                            "Unexpected '{' without a keyword; block ignored",
                        );
                        let _ = block(item, &chunk, diags);
                    }
                    Rule::stray_close => {
                        diags.report(
                            Category::UnexpectedEof,
                            Some(chunk.loc_of(&item)),
                            "Extra '}' found",
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// Where the top-level entry starting at line `i` ends (exclusive): a
/// stray `}` alone; a statement with the block that follows it, if any;
/// a block up to its matching `}` or the end of input. Blank lines, which
/// the grammar skips, stay with the entry before them.
fn entry_end(lines: &[LogicalLine], mut i: usize) -> usize {
    let is = |i: usize, s: &str| lines.get(i).is_some_and(|l| l.text == s);
    let blank = |i: usize| lines.get(i).is_some_and(|l| l.text.is_empty());
    if is(i, "}") {
        return i + 1;
    }
    if !is(i, "{") {
        i += 1;
        let mut j = i;
        while blank(j) {
            j += 1;
        }
        if !is(j, "{") {
            return i;
        }
        i = j;
    }
    let mut depth = 0usize;
    while let Some(l) = lines.get(i) {
        i += 1;
        match l.text.as_str() {
            "{" => depth += 1,
            "}" => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    break;
                }
            }
            _ => {}
        }
    }
    i
}

/// One top-level entry's lines joined for pest, and the way back from
/// byte offsets in that text to the lines themselves.
#[derive(Default)]
struct Chunk<'a> {
    lines: &'a [LogicalLine],
    /// Index in `lines` of the chunk's first line.
    first: usize,
    text: String,
    /// Byte offset where each of the chunk's lines starts in `text`.
    starts: Vec<usize>,
}

impl<'a> Chunk<'a> {
    fn fill(&mut self, lines: &'a [LogicalLine], start: usize, end: usize) {
        self.lines = lines;
        self.first = start;
        self.text.clear();
        self.starts.clear();
        for (k, l) in lines.get(start..end).unwrap_or_default().iter().enumerate() {
            if k > 0 {
                self.text.push('\n');
            }
            self.starts.push(self.text.len());
            self.text.push_str(&l.text);
        }
    }

    /// The logical line holding chunk offset `offset`, and the byte
    /// column of `offset` in it.
    fn line_of(&self, offset: usize) -> (Option<&'a LogicalLine>, usize) {
        let k = self
            .starts
            .partition_point(|&s| s <= offset)
            .saturating_sub(1);
        let start = self.starts.get(k).copied().unwrap_or(0);
        (self.lines.get(self.first + k), offset.saturating_sub(start))
    }

    fn loc_at(&self, line: Option<&LogicalLine>, byte_col: usize) -> Loc {
        match line {
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

    fn loc_of(&self, pair: &Pair<'_, Rule>) -> Loc {
        let (line, col) = self.line_of(pair.as_span().start());
        self.loc_at(line, col)
    }

    fn failure(&self, e: &pest::error::Error<Rule>) -> ParseFailure {
        // pest's positions are 1-based and relative to the chunk.
        let (line, col) = match e.line_col {
            pest::error::LineColLocation::Pos(p) => p,
            pest::error::LineColLocation::Span(p, _) => p,
        };
        let l = self.lines.get(self.first + line.saturating_sub(1));
        ParseFailure(crate::diag::Diagnostic {
            category: Category::Fatal,
            loc: Some(self.loc_at(l, col.saturating_sub(1))),
            message: format!(
                "internal: could not parse the block structure: {}",
                e.variant.message()
            ),
            hint: None,
        })
    }
}

fn statement<'a>(pair: Pair<'_, Rule>, chunk: &Chunk<'a>, diags: &mut Diagnostics) -> Node<'a> {
    let mut inner = pair.into_inner();
    let mut keyword = None;
    let mut args = Vec::new();
    let mut rest = "";
    if let Some(stmt) = inner.next() {
        // A statement never spans lines: its words are slices of its line.
        let (line, col) = chunk.line_of(stmt.as_span().start());
        let text = line.and_then(|l| l.text.get(col..)).unwrap_or_default();
        for w in Words::new(text) {
            let loc = chunk.loc_at(line, col + w.start);
            if w.unterminated {
                diags.report(
                    Category::UnmatchedQuote,
                    Some(loc.clone()),
                    "Unmatched quote",
                );
            }
            let tok = Token {
                text: w.text,
                quoted: w.quoted,
                loc,
            };
            if keyword.is_none() {
                keyword = Some(tok);
                continue;
            }
            if args.is_empty() {
                rest = text.get(w.start..).unwrap_or_default().trim_end();
            }
            args.push(tok);
        }
    }
    let block = inner.next().map(|b| block(b, chunk, diags));
    let keyword = keyword.unwrap_or_else(|| Token {
        text: "",
        quoted: false,
        loc: Loc::new("<empty>".into(), 0, 0),
    });
    Node {
        keyword,
        args,
        rest,
        block,
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
struct Words<'a> {
    line: &'a str,
    i: usize,
}

impl<'a> Words<'a> {
    fn new(line: &'a str) -> Self {
        Self { line, i: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = Word<'a>;

    fn next(&mut self) -> Option<Word<'a>> {
        let line = self.line;
        let bytes = line.as_bytes();
        while let Some(&b) = bytes.get(self.i) {
            match b {
                b' ' | b'\t' => self.i += 1,
                b'"' => {
                    let start = self.i;
                    let body = start + 1;
                    let rest = line.get(body..).unwrap_or_default();
                    return Some(match rest.find('"') {
                        Some(len) => {
                            self.i = body + len + 1;
                            Word {
                                text: &rest[..len],
                                start,
                                quoted: true,
                                unterminated: false,
                            }
                        }
                        None => {
                            self.i = bytes.len();
                            Word {
                                text: rest,
                                start,
                                quoted: true,
                                unterminated: true,
                            }
                        }
                    });
                }
                _ => {
                    let start = self.i;
                    let len = bytes[start..]
                        .iter()
                        .position(|b| matches!(b, b' ' | b'\t' | b'"'))
                        .unwrap_or(bytes.len() - start);
                    self.i = start + len;
                    return Some(Word {
                        text: line.get(start..start + len).unwrap_or_default(),
                        start,
                        quoted: false,
                        unterminated: false,
                    });
                }
            }
        }
        None
    }
}

fn block<'a>(pair: Pair<'_, Rule>, chunk: &Chunk<'a>, diags: &mut Diagnostics) -> Block<'a> {
    let open = chunk.loc_of(&pair);
    let mut items = Vec::new();
    let mut closed = false;
    for p in pair.into_inner() {
        match p.as_rule() {
            Rule::statement_with_block => items.push(statement(p, chunk, diags)),
            Rule::block => {
                diags.report(
                    Category::UnexpectedBof,
                    Some(chunk.loc_of(&p)),
                    "Unexpected '{' without a keyword; block ignored",
                );
                let _ = block(p, chunk, diags);
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
        let src = lines(&[
            "vrrp_instance VI_1",
            "{",
            "priority 100",
            "virtual_ipaddress",
            "{",
            "192.0.2.1/24 dev eth0",
            "}",
            "}",
        ]);
        let t = parse(&src, &mut d);
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
        let src = lines(&[r#"notify_master "/bin/echo a b" x"#]);
        let t = parse(&src, &mut d);
        let n = &t.items[0];
        assert_eq!(n.args[0].text, "/bin/echo a b");
        assert!(n.args[0].quoted);
        assert_eq!(n.rest, r#""/bin/echo a b" x"#);
    }

    #[test]
    fn structure_errors_are_diagnostics() {
        let mut d = Diagnostics::new();
        let src = lines(&[
            "}",
            "global_defs",
            "{",
            "router_id x",
            "{",
            "a",
            "}",
            "\"open",
        ]);
        let t = parse(&src, &mut d);
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

    /// Entries are parsed one at a time; where one ends must not change
    /// the tree or what is reported, in what order.
    #[test]
    fn entries_cut_where_the_grammar_ends_them() {
        let src = lines(&[
            "a", "", "{", "b", "}", "}", "{", "c", "}", "d", "e", "{", "{", "f",
        ]);
        let mut d = Diagnostics::new();
        let t = parse(&src, &mut d);
        let got: Vec<_> = d
            .iter()
            .map(|x| (x.category, x.loc.as_ref().map(|l| l.line)))
            .collect();
        assert_eq!(
            got,
            [
                (Category::UnexpectedEof, Some(6)),
                (Category::UnexpectedBof, Some(7)),
                (Category::UnexpectedBof, Some(13)),
                (Category::MissingEob, Some(13)),
                (Category::MissingEob, Some(12)),
            ]
        );
        let names: Vec<_> = t.items.iter().map(|n| n.name()).collect();
        assert_eq!(names, ["a", "d", "e"]);
        let a = t.items[0].block.as_ref().expect("a's block");
        assert!(a.closed);
        assert_eq!(a.items[0].name(), "b");
        assert!(t.items[1].block.is_none());
        let e = t.items[2].block.as_ref().expect("e's block");
        assert!(!e.closed);
        assert!(e.items.is_empty());
    }
}
