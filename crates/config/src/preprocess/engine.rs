// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Drives the rules over files, line by line, in keepalived's order:
//! comment stripping, then for each line `@ID` conditionals, `$NAME=`
//! definitions, `~SEQ`/`~LST`, substitution (repeated while it changes
//! something), `include`, and finally brace splitting, whose pieces are
//! read again as lines of their own.
//!
//! Everything that multiplies work is bounded (nesting, rounds, total
//! work, output size) so that no input can hang us or exhaust memory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use super::defs::{self, Defs};
use super::include::{self, IncludeLine, ReadError, check};
use super::lexical::{self, BraceSplit, char_len, strip_comment, trim_end_blanks};
use super::seq;
use super::{LogicalLine, MAX_INCLUDE_DEPTH, Note, Options, Preprocessed};
use crate::diag::{Category, Diagnostics, Loc};

/// Nesting of sequences and multi-line expansions within one line.
const MAX_NESTING: u32 = 64;

/// Deepest `{` nesting accepted (see `emit`).
const MAX_BLOCK_DEPTH: usize = 256;
/// Substitute-and-look-again rounds for one line.
const MAX_ROUNDS: usize = 1_000;

/// A file being read.
struct Frame {
    /// Its name in locations.
    file: Arc<str>,
    /// Base for relative includes (empty: the working directory).
    dir: PathBuf,
    /// `${_PWD}` while reading it.
    pwd: String,
}

pub(crate) struct Engine<'a> {
    opts: &'a Options,
    diags: &'a mut Diagnostics,
    out: Preprocessed,
    defs: Defs,
    /// keepalived's `include_check` bits currently in force.
    include_check: u8,
    /// Name of the multi-line definition being collected.
    capture: Option<String>,
    frames: Vec<Frame>,
    /// Names of the open blocks (to see `include_check` in `global_defs`).
    blocks: Vec<String>,
    /// Index in the output of the last statement emitted, whose first
    /// word names a block opened on the next line.
    last_statement: Option<usize>,
    work: u64,
    out_bytes: usize,
    /// A global limit was hit: stop producing anything.
    aborted: bool,
}

fn time_seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() ^ u64::from(d.subsec_nanos()))
}

/// `@ID rest` / `@^ID rest`: the byte offset where `rest` starts if the
/// line is kept, None if it is dropped (also when nothing follows the id).
fn conditional(line: &str, config_id: &str) -> Option<usize> {
    let negate = line.starts_with("@^");
    let id_start = if negate { 2 } else { 1 };
    let tail = line.get(id_start..)?;
    let id_len = tail.find([' ', '\t'])?;
    let id = tail.get(..id_len)?;
    if (id == config_id) == negate {
        return None;
    }
    let rest = id_start + id_len;
    let (_, blanks) = lexical::trim_start_blanks(line.get(rest..)?);
    Some(rest + blanks)
}

impl<'a> Engine<'a> {
    pub fn new(opts: &'a Options, diags: &'a mut Diagnostics) -> Self {
        let instance = if opts.instance.is_empty() {
            opts.config_id.clone()
        } else {
            opts.instance.clone()
        };
        let seed = opts.random_seed.unwrap_or_else(time_seed);
        Self {
            opts,
            diags,
            out: Preprocessed::default(),
            defs: Defs::new(instance, seed),
            include_check: if opts.all_config { check::ALL } else { 0 },
            capture: None,
            frames: Vec::new(),
            blocks: Vec::new(),
            last_statement: None,
            work: 0,
            out_bytes: 0,
            aborted: false,
        }
    }

    pub fn finish(mut self) -> Preprocessed {
        self.end_capture();
        // The lines are held while the whole model is read (tokens borrow
        // them) and dropped after: the room the list grew into would only
        // add to the load's peak.
        self.out.lines.shrink_to_fit();
        self.out.aborted = self.aborted;
        self.out
    }

    /// Reads the main configuration file, which keepalived opens like an
    /// include that must match and be readable.
    pub fn run_main(&mut self, path: &Path) {
        let checks = check::READ | check::MATCH | check::WILDCARD_MATCH;
        let opened = if std::fs::symlink_metadata(path).is_ok() {
            usize::from(self.read_file(path, checks, None))
        } else {
            let pattern = path.to_string_lossy().into_owned();
            self.include_pattern(
                &IncludeLine {
                    checks,
                    pattern: &pattern,
                },
                None,
            )
        };
        if opened == 0 {
            self.out.main_missing = true;
        } else if opened > 1 {
            self.diags.report(
                Category::MultipleFiles,
                None,
                format!(
                    "WARNING, multiple configuration file matches of {}",
                    path.display()
                ),
            );
        }
    }

    /// Reads `text` as the content of the file `name`.
    pub fn run_text(&mut self, name: &Path, text: &str) {
        self.out.files.push(name.to_path_buf());
        self.push_frame(name);
        self.read_lines(text);
        self.frames.pop();
    }

    fn push_frame(&mut self, path: &Path) {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let probe = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir.as_path()
        };
        let pwd = std::fs::canonicalize(probe)
            .or_else(|_| std::path::absolute(probe))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.defs.pwd.clone_from(&pwd);
        self.frames.push(Frame {
            file: Arc::from(path.to_string_lossy().as_ref()),
            dir,
            pwd,
        });
    }

    fn pop_frame(&mut self) {
        self.frames.pop();
        if let Some(f) = self.frames.last() {
            self.defs.pwd.clone_from(&f.pwd);
        }
    }

    /// Counts one unit of work; false once the budget is spent.
    fn tick(&mut self, loc: &Loc) -> bool {
        if self.aborted {
            return false;
        }
        self.work += 1;
        if self.work > self.opts.limits.max_work {
            self.abort(loc, "Configuration expands to too much work (runaway ~SEQ/~LST or definitions?) - stopping");
            return false;
        }
        true
    }

    fn abort(&mut self, loc: &Loc, message: &str) {
        self.diags
            .report(Category::Fatal, Some(loc.clone()), message);
        self.aborted = true;
    }

    fn error(&mut self, loc: &Loc, message: String) {
        self.diags
            .report(Category::GeneralError, Some(loc.clone()), message);
    }

    /// Reports an include problem of kind `kind`: an error if the include
    /// (or `include_check` / `-e`) asks for that check, else only logged.
    fn file_problem(&mut self, kind: u8, checks: u8, loc: Option<&Loc>, message: String) {
        if (self.include_check | checks) & kind != 0 {
            self.diags
                .report(Category::FileNotFound, loc.cloned(), message);
        } else {
            self.out.notes.push(Note {
                loc: loc.cloned(),
                message,
            });
        }
    }

    /// Splits a file into physical lines and feeds them in.
    fn read_lines(&mut self, text: &str) {
        let Some(file) = self.frames.last().map(|f| f.file.clone()) else {
            return;
        };
        for (i, raw) in text.split('\n').enumerate() {
            if self.aborted {
                break;
            }
            let raw = raw.trim_end_matches('\r');
            if raw.is_empty() {
                // A truly empty line ends a multi-line definition; a line
                // holding only a comment does not.
                self.end_capture();
                continue;
            }
            let s = strip_comment(raw);
            let lead = u32::try_from(s.lead).unwrap_or(u32::MAX);
            let loc = Loc::new(
                file.clone(),
                u32::try_from(i + 1).unwrap_or(u32::MAX),
                lead.saturating_add(1),
            );
            if s.unterminated_quote {
                self.error(&loc, format!("Unterminated quote '{}'", s.text));
            }
            if !s.text.is_empty() {
                // A Stop ends this line's expansion only; a global abort
                // is seen at the top of the loop.
                self.process_line(s.text.into_owned(), &loc, 0);
            }
        }
    }

    fn end_capture(&mut self) {
        if let Some(name) = self.capture.take() {
            self.defs.finish_multiline(&name);
        }
    }

    /// Handles one line, whatever produced it (a file, a sequence, a
    /// multi-line definition or the rest of a brace-split line).
    ///
    /// Stop means the expansion this line belongs to must end now: a
    /// global limit was hit, or somewhere below it nesting went too deep.
    /// A recursive multi-line definition grows a tree whose every leaf is
    /// too deep; stopping at the first leaf reports it once instead of for
    /// each of millions of leaves. Lines of a file (depth 0, also those of
    /// an included file) start a fresh expansion, so they ignore a Stop
    /// that was not a global abort.
    fn process_line(&mut self, text: String, loc: &Loc, depth: u32) -> Flow {
        if !self.tick(loc) {
            return Flow::Stop;
        }
        if text.is_empty() {
            return Flow::Go;
        }
        if depth > MAX_NESTING {
            self.error(
                loc,
                "Definitions or sequences nested too deeply (recursive definition?) - line ignored"
                    .into(),
            );
            return Flow::Stop;
        }
        if let Some(name) = self.capture.clone() {
            let (piece, more) = defs::continuation(&text);
            self.defs.append(&name, &piece);
            if !more {
                self.end_capture();
            }
            return Flow::Go;
        }
        let mut tails = Vec::new();
        if let Flow::Stop = self.process_pieces(text, loc, depth, &mut tails) {
            return Flow::Stop;
        }
        // Lines of multi-line definitions follow the line that used them;
        // the most recently started definition continues first.
        for tail in tails.into_iter().rev() {
            for line in tail {
                if let Flow::Stop = self.process_line(line, loc, depth + 1) {
                    return Flow::Stop;
                }
            }
        }
        Flow::Go
    }

    /// The per-line rules, then brace splitting; the text after a brace is
    /// put through the same rules again (as keepalived re-reads it).
    fn process_pieces(
        &mut self,
        mut text: String,
        loc: &Loc,
        depth: u32,
        tails: &mut Vec<Vec<String>>,
    ) -> Flow {
        let mut col = loc.col;
        // Offset of the unprocessed rest: pieces are cut off by moving it,
        // never by copying the rest, so long lines stay linear.
        let mut off = 0usize;
        let mut substituted = false;
        loop {
            match self.line_rules(
                &mut text,
                &mut off,
                &mut col,
                loc,
                depth,
                &mut substituted,
                tails,
            ) {
                Step::Done => return Flow::Go,
                Step::Stop => return Flow::Stop,
                Step::Continue => {}
            }
            let rest = text.get(off..).unwrap_or("");
            if let Some(inc) = include::parse_include(rest) {
                let pattern = inc.pattern.to_string();
                let at = loc.at_col(col);
                self.include_pattern(
                    &IncludeLine {
                        checks: inc.checks,
                        pattern: &pattern,
                    },
                    Some(&at),
                );
                return self.flow();
            }
            let (piece, next) = match lexical::find_brace(rest) {
                BraceSplit::Whole => (rest, None),
                BraceSplit::Leading { rest_at } => (rest.get(..1).unwrap_or(""), rest_at),
                BraceSplit::Inner { at } => {
                    (trim_end_blanks(rest.get(..at).unwrap_or("")), Some(at))
                }
            };
            let piece = piece.to_string();
            self.emit(piece, loc.at_col(col));
            let Some(next) = next else {
                return self.flow();
            };
            col = col.saturating_add(char_len(rest.get(..next).unwrap_or("")));
            off += next;
            if self.aborted {
                return Flow::Stop;
            }
        }
    }

    /// Conditionals, definitions, sequences and substitution on the text
    /// from `off`; Done when the line was consumed or dropped.
    #[allow(clippy::too_many_arguments)]
    fn line_rules(
        &mut self,
        text: &mut String,
        off: &mut usize,
        col: &mut u32,
        loc: &Loc,
        depth: u32,
        substituted: &mut bool,
        tails: &mut Vec<Vec<String>>,
    ) -> Step {
        for _ in 0..MAX_ROUNDS {
            let rest = text.get(*off..).unwrap_or("");
            if rest.starts_with('@') {
                let Some(skip) = conditional(rest, &self.opts.config_id) else {
                    return Step::Done;
                };
                *col = col.saturating_add(char_len(rest.get(..skip).unwrap_or("")));
                *off += skip;
            }
            let rest = text.get(*off..).unwrap_or("");
            if rest.is_empty() {
                return Step::Done;
            }
            if let Some(d) = defs::parse_definition(rest) {
                if d.multiline {
                    self.capture = Some(d.name.to_string());
                }
                self.defs.set(d.name, d.value, d.multiline);
                return Step::Done;
            }
            if rest.starts_with("~SEQ") || rest.starts_with("~LST") {
                let rest = rest.to_string();
                return match self.repeat(&rest, &loc.at_col(*col), depth) {
                    Flow::Go => Step::Done,
                    Flow::Stop => Step::Stop,
                };
            }
            // Substitution runs once over the whole line; pieces after a
            // brace were already covered by it.
            if rest.starts_with('~') || *substituted || !rest.contains('$') {
                return Step::Continue;
            }
            *substituted = true;
            text.drain(..*off);
            *off = 0;
            let exp = self.defs.expand(text);
            if let Some(e) = exp.error {
                self.error(loc, e);
                return Step::Done;
            }
            tails.extend(exp.tails);
            if !exp.changed {
                return Step::Continue;
            }
            // keepalived strips comments again after substituting, so a
            // `${_HASH}` outside quotes does start a comment.
            let s = strip_comment(text);
            if s.unterminated_quote {
                self.error(loc, format!("Unterminated quote '{}'", s.text));
            }
            let again = defs::needs_recheck(&s.text);
            *text = s.text.into_owned();
            if !again {
                return if text.is_empty() {
                    Step::Done
                } else {
                    Step::Continue
                };
            }
            // Look at the new text from the start, and allow another
            // substitution round.
            *substituted = false;
        }
        self.error(
            loc,
            format!(
                "Line '{}' keeps changing under substitution - ignored",
                defs::preview(text)
            ),
        );
        Step::Done
    }

    /// Runs a `~SEQ` or `~LST` line: sets its variable(s) for each value
    /// and reads the rest of the line each time.
    fn repeat(&mut self, line: &str, loc: &Loc, depth: u32) -> Flow {
        if line.starts_with("~SEQ") {
            match self.parse_seq(line) {
                Ok((s, rest)) => {
                    let count = s.count();
                    for (i, v) in s.values().enumerate() {
                        let before = self.spent();
                        self.defs.set(&s.var, v, false);
                        if let Flow::Stop = self.process_line(rest.clone(), loc, depth + 1) {
                            return Flow::Stop;
                        }
                        // A runaway sequence is known after one round: what
                        // one value cost, times the values left, against
                        // what the limits leave (so it fails in a moment,
                        // not after filling the limits: 40 s and 3.4 GB).
                        if i == 0 && self.seq_overruns(before, count.saturating_sub(1), loc) {
                            return Flow::Stop;
                        }
                    }
                }
                Err(why) => self.error(loc, format!("Invalid ~SEQ specification '{line}': {why}")),
            }
            return Flow::Go;
        }
        match seq::parse_lst(line) {
            Ok((lst, rest_at)) => {
                let rest = line.get(rest_at..).unwrap_or("").to_string();
                for set in &lst.sets {
                    for (var, value) in lst.vars.iter().zip(set) {
                        self.defs.set(var, value.clone(), false);
                    }
                    if let Flow::Stop = self.process_line(rest.clone(), loc, depth + 1) {
                        return Flow::Stop;
                    }
                }
            }
            Err(why) => self.error(loc, format!("Invalid ~LST specification '{line}': {why}")),
        }
        Flow::Go
    }

    /// (work, lines, bytes) produced so far.
    fn spent(&self) -> (u128, u128, u128) {
        (
            u128::from(self.work),
            self.out.lines.len() as u128,
            self.out_bytes as u128,
        )
    }

    /// Whether `left` more rounds, each costing what the one since
    /// `before` did, would pass a limit; if so, stops with a fatal error.
    fn seq_overruns(&mut self, before: (u128, u128, u128), left: u128, loc: &Loc) -> bool {
        let now = self.spent();
        let limits = self.opts.limits;
        let round = [now.0 - before.0, now.1 - before.1, now.2 - before.2];
        let used = [now.0, now.1, now.2];
        let max = [
            u128::from(limits.max_work),
            limits.max_lines as u128,
            limits.max_output_bytes as u128,
        ];
        let over = (0..3).any(|k| used[k].saturating_add(round[k].saturating_mul(left)) > max[k]);
        if over {
            let lines = round[1].saturating_mul(left.saturating_add(1));
            self.abort(
                loc,
                &format!(
                    "Configuration expands to too many lines: this ~SEQ would produce about {lines}, past the limits ({} lines, {} lines of work) - stopping",
                    limits.max_lines, limits.max_work
                ),
            );
        }
        over
    }

    /// Stop once a global limit was hit, else go on.
    fn flow(&self) -> Flow {
        if self.aborted { Flow::Stop } else { Flow::Go }
    }

    /// A `~SEQ` head with definitions in its numbers expanded.
    fn parse_seq(&mut self, line: &str) -> Result<(seq::Seq, String), String> {
        let head = seq::parse_seq_head(line)?;
        let mut params = head.params.to_string();
        let exp = self.defs.expand(&mut params);
        if let Some(e) = exp.error {
            return Err(e);
        }
        if !exp.tails.is_empty() {
            return Err("~SEQ parameter is multiline definition".into());
        }
        let s = seq::parse_seq_numbers(head.var, head.hex, &params)?;
        Ok((s, line.get(head.rest_at..).unwrap_or("").to_string()))
    }

    /// Resolves and reads an include; returns how many files were read.
    fn include_pattern(&mut self, inc: &IncludeLine<'_>, loc: Option<&Loc>) -> usize {
        let pattern = inc.pattern;
        if self.frames.len() >= MAX_INCLUDE_DEPTH {
            let message = format!(
                "Includes nested more than {MAX_INCLUDE_DEPTH} deep (recursive include?) - skipping '{pattern}'"
            );
            self.diags
                .report(Category::FileNotFound, loc.cloned(), message);
            return 0;
        }
        let base = self
            .frames
            .last()
            .map(|f| f.dir.clone())
            .unwrap_or_default();
        let m = include::resolve(pattern, &base);
        let checks = inc.checks;
        if m.too_many {
            self.diags.report(
                Category::GeneralError,
                loc.cloned(),
                format!("Include '{pattern}' expands to too many files or alternatives - skipping"),
            );
            return 0;
        }
        if m.paths.is_empty() {
            if m.missing {
                let kind = if include::has_brace(pattern) {
                    check::BRACE_MATCH
                } else {
                    check::MATCH
                };
                self.file_problem(
                    kind,
                    checks,
                    loc,
                    format!("Config files missing '{pattern}'."),
                );
            } else if m.wildcards && (self.include_check | checks) & check::WILDCARD_MATCH != 0 {
                self.file_problem(
                    check::WILDCARD_MATCH,
                    checks,
                    loc,
                    format!("No config files matched '{pattern}'."),
                );
            }
            return 0;
        }
        if m.missing {
            self.file_problem(
                check::BRACE_MATCH,
                checks,
                loc,
                format!("Some config files missing: \"{pattern}\"."),
            );
            if (self.include_check | checks) & check::BRACE_MATCH != 0 {
                return 0;
            }
        }
        let mut opened = 0;
        for path in &m.paths {
            if self.aborted {
                break;
            }
            opened += usize::from(self.read_file(path, checks, loc));
        }
        if opened == 0 {
            self.out.notes.push(Note {
                loc: loc.cloned(),
                message: format!("No config files matched '{pattern}'."),
            });
        }
        opened
    }

    /// Reads one matched file; false if it was skipped.
    fn read_file(&mut self, path: &Path, checks: u8, loc: Option<&Loc>) -> bool {
        let shown = path.display();
        let text = match include::read_config_file(path) {
            Ok(t) => t,
            Err(ReadError::Directory) => {
                let message = format!("Configuration file '{shown}/' is a directory - skipping");
                self.file_problem(check::READ, checks, loc, message);
                return false;
            }
            Err(ReadError::NotRegular) => {
                let message = format!(
                    "Configuration file '{shown}' is not a regular non-executable file - skipping"
                );
                self.file_problem(check::READ, checks, loc, message);
                return false;
            }
            Err(ReadError::TooBig) => {
                let limit = include::MAX_FILE_SIZE;
                let message =
                    format!("Configuration file '{shown}' is larger than {limit} bytes - skipping");
                self.file_problem(check::READ, checks, loc, message);
                return false;
            }
            Err(ReadError::Io(e)) => {
                let message = format!("Configuration file '{shown}' open problem ({e}) - skipping");
                self.file_problem(check::READ, checks, loc, message);
                return false;
            }
        };
        self.out.files.push(path.to_path_buf());
        // An include_check set inside a file lasts until that file ends.
        let saved = self.include_check;
        self.push_frame(path);
        self.read_lines(&text);
        self.pop_frame();
        self.include_check = saved;
        true
    }

    /// Appends a logical line, keeping track of blocks so that an
    /// `include_check` inside `global_defs` takes effect right away.
    fn emit(&mut self, text: String, loc: Loc) {
        let text = grammar_safe(text);
        if text.is_empty() || self.aborted {
            return;
        }
        let limits = self.opts.limits;
        if self.out.lines.len() >= limits.max_lines
            || self.out_bytes + text.len() > limits.max_output_bytes
        {
            self.abort(&loc, "Configuration expands to too many lines - stopping");
            return;
        }
        match text.as_str() {
            "{" => {
                let name = self
                    .last_statement
                    .take()
                    .and_then(|i| self.out.lines.get(i))
                    .map(|l| first_word(&l.text).to_string())
                    .unwrap_or_default();
                if self.blocks.len() >= MAX_BLOCK_DEPTH {
                    // The parser and the reader recurse once per level: a
                    // runaway `~SEQ(i, 100000) {` would overflow their
                    // stack (found by the fuzzer). keepalived's deepest
                    // block is 4 levels down.
                    self.abort(
                        &loc,
                        &format!("Blocks nested more than {MAX_BLOCK_DEPTH} deep - stopping"),
                    );
                    return;
                }
                self.blocks.push(name);
            }
            "}" => {
                self.blocks.pop();
                self.last_statement = None;
            }
            _ => {
                self.note_statement(&text, &loc);
                self.last_statement = Some(self.out.lines.len());
            }
        }
        self.out_bytes += text.len();
        self.out.lines.push(LogicalLine { text, loc });
    }

    /// Applies `include_check` when it is a `global_defs` keyword (at top
    /// level keepalived does not know it and ignores it).
    fn note_statement(&mut self, text: &str, loc: &Loc) {
        if first_word(text) != "include_check" || self.blocks.len() != 1 {
            return;
        }
        if self.blocks.first().is_none_or(|b| b != "global_defs") {
            return;
        }
        let args: Vec<&str> = text
            .split([' ', '\t'])
            .filter(|w| !w.is_empty())
            .skip(1)
            .map(|w| w.trim_matches('"'))
            .collect();
        let (value, problems) = include::apply_include_check(self.include_check, &args);
        self.include_check = value;
        for p in problems {
            self.error(loc, p);
        }
    }
}

/// Holds the grammar's contract even for odd values (a `${_PWD}` whose
/// directory name has a newline): one line, no blanks at either end.
fn grammar_safe(text: String) -> String {
    let text = if text.contains('\n') {
        text.replace('\n', " ")
    } else {
        text
    };
    let trimmed = text.trim_matches([' ', '\t']);
    if trimmed.len() == text.len() {
        text
    } else {
        trimmed.to_string()
    }
}

fn first_word(text: &str) -> &str {
    text.split([' ', '\t']).next().unwrap_or("")
}

/// Whether a line still has text to emit after the per-line rules.
enum Step {
    Done,
    /// The expansion must end (see [`Flow`]).
    Stop,
    Continue,
}

/// Whether the expansion a line belongs to goes on.
enum Flow {
    Go,
    /// A global limit was hit, or nesting went too deep below this line.
    Stop,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emitted_text_is_one_trimmed_line() {
        assert_eq!(grammar_safe("a\nb".into()), "a b");
        assert_eq!(grammar_safe(" a \t".into()), "a");
        assert_eq!(grammar_safe("\n".into()), "");
    }

    #[test]
    fn conditionals() {
        assert_eq!(conditional("@main router_id a", "main"), Some(6));
        assert_eq!(conditional("@main router_id a", "backup"), None);
        assert_eq!(conditional("@^main x", "main"), None);
        assert_eq!(conditional("@^main \t x", "backup"), Some(9));
        assert_eq!(conditional("@main", "main"), None);
    }
}
