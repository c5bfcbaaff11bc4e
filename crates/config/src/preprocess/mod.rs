// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The lexical layer of keepalived.conf (inventory §A.1): files and
//! includes, comments, conditionals, definitions, sequences and brace
//! splitting. Its output is a flat list of logical lines, each of which
//! remembers the file, line and column it came from; the grammar never sees
//! a comment, a macro or an include.
//!
//! Submodules: `lexical` (comments, braces), `defs` (`$NAME`), `seq`
//! (`~SEQ`, `~LST`), `include` (files and globbing) and `engine`, which
//! drives them line by line in keepalived's order.

use std::path::{Path, PathBuf};

use crate::diag::{Diagnostics, Loc};

mod defs;
mod engine;
mod include;
mod lexical;
mod seq;

pub use include::MAX_FILE_SIZE;

/// How deeply includes may nest (a file including itself stops here).
pub const MAX_INCLUDE_DEPTH: usize = 32;

/// Bounds on what one configuration may expand to, so that no input (a
/// fuzzer's `~SEQ(i, 1000000000)`, a self-including file) can hang the
/// daemon or exhaust its memory. Hitting one is a `Fatal` diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Logical lines produced.
    pub max_lines: usize,
    /// Bytes of logical-line text produced.
    pub max_output_bytes: usize,
    /// Lines handled, including generated ones that produce nothing
    /// (e.g. `~SEQ(i, 1000000000) $X=1`).
    pub max_work: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_lines: 10_000_000,
            max_output_bytes: 512 * 1024 * 1024,
            max_work: 20_000_000,
        }
    }
}

/// One line after preprocessing: a statement, a lone `{` or a lone `}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogicalLine {
    /// Trimmed text; never empty, never holds a comment, and a `{` or `}`
    /// outside quotes only ever stands alone.
    pub text: String,
    /// Where `text` starts in its source. For text produced by a
    /// definition or a sequence this is the line that used it.
    pub loc: Loc,
}

/// Knobs that change what the preprocessor produces.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `-i`: the id `@ID` lines are matched against (default: the host
    /// name up to its first dot).
    pub config_id: String,
    /// `-e`: a missing configuration or include file is an error (all of
    /// keepalived's include checks are on).
    pub all_config: bool,
    /// Seed for `${_RANDOM}` (keepalived's `random_seed`); None = time.
    pub random_seed: Option<u64>,
    /// Value of `${_INSTANCE}` (`-i` / `instance`); when empty,
    /// `config_id` is used, as keepalived does.
    pub instance: String,
    /// Safety bounds; the defaults suit any real configuration.
    pub limits: Limits,
}

/// Something keepalived logs while reading files that is not a
/// configuration error (it does not change `keepalived -t`'s exit code),
/// e.g. "Config files missing" for a plain `include`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub loc: Option<Loc>,
    pub message: String,
}

/// The result of reading a configuration tree.
#[derive(Debug, Default)]
pub struct Preprocessed {
    pub lines: Vec<LogicalLine>,
    /// Every file read, in order (the main file first).
    pub files: Vec<PathBuf>,
    /// The main configuration file could not be read at all. keepalived
    /// still starts (and `-t` exits 0) unless `-e` was given; the
    /// diagnostic is a `FileNotFound`.
    pub main_missing: bool,
    /// Informational messages (see [`Note`]).
    pub notes: Vec<Note>,
    /// A [`Limits`] bound stopped the expansion (a `Fatal` diagnostic):
    /// `lines` is a truncated prefix of what was asked for.
    pub aborted: bool,
}

/// Reads `path` and everything it includes. Like keepalived, `path` may
/// itself be a glob pattern; a path that exists is taken literally.
pub fn preprocess_file(path: &Path, opts: &Options, diags: &mut Diagnostics) -> Preprocessed {
    let mut e = engine::Engine::new(opts, diags);
    e.run_main(path);
    e.finish()
}

/// Preprocesses `text` as if it were the file `name` (includes resolve
/// relative to `name`'s directory). Used by tests and the fuzzer.
pub fn preprocess_str(
    name: &Path,
    text: &str,
    opts: &Options,
    diags: &mut Diagnostics,
) -> Preprocessed {
    let mut e = engine::Engine::new(opts, diags);
    e.run_text(name, text);
    e.finish()
}
