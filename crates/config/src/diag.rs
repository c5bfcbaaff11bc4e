// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Diagnostics: what went wrong, where, and how bad it is.
//!
//! The categories mirror keepalived's `config_err_t` in its declaration
//! order, because `keepalived -t` derives its exit code from the most
//! severe category seen and users script against those codes.

use std::fmt;
use std::sync::Arc;

use serde::Serialize;

/// Where a diagnostic points: a file, a 1-based line and a 1-based column.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Loc {
    pub file: Arc<str>,
    pub line: u32,
    pub col: u32,
}

impl Loc {
    pub fn new(file: Arc<str>, line: u32, col: u32) -> Self {
        Self { file, line, col }
    }

    /// The same place, moved to another column of the line.
    pub fn at_col(&self, col: u32) -> Self {
        Self {
            file: self.file.clone(),
            line: self.line,
            col,
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: Line {}, Column {}", self.file, self.line, self.col)
    }
}

/// keepalived's error categories, least to most significant as keepalived
/// orders them (a later one overrides an earlier one for the `-t` code).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// Said for information; never changes the exit code (keepalived
    /// prints "Config files missing" for a plain `include` and exits 0).
    Info,
    FileNotFound,
    BadInterface,
    Fatal,
    MultipleFiles,
    UnknownKeyword,
    UnexpectedBof,
    UnexpectedEof,
    MissingEob,
    UnmatchedQuote,
    MissingParameter,
    InvalidNumber,
    GeneralError,
    Warning,
    Security,
    /// A keyword that needs a value has none. keepalived stops reading
    /// the configuration there and exits 2, so nothing after it counts.
    MissingValue,
}

impl Category {
    /// Mistakes in the file's structure (braces, quotes): what follows
    /// them is not what the author meant, so a running daemon must not
    /// switch to it, although keepalived would start with it.
    pub fn is_structural(self) -> bool {
        matches!(
            self,
            Category::UnexpectedBof
                | Category::UnexpectedEof
                | Category::MissingEob
                | Category::UnmatchedQuote
        )
    }

    /// Categories that mean the daemon cannot run with this config.
    pub fn is_fatal(self) -> bool {
        matches!(
            self,
            Category::FileNotFound | Category::BadInterface | Category::Fatal
        )
    }
}

/// One message about the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub category: Category,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loc: Option<Loc>,
    pub message: String,
    /// A suggestion a person can act on ("did you mean `priority`?").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(loc) = &self.loc {
            write!(f, "({loc}) ")?;
        }
        f.write_str(&self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

/// The exit codes of `keepalived -t` (2.2.7).
pub mod exit {
    pub const OK: i32 = 0;
    /// keepalived stopped reading (a keyword without its value).
    pub const CONFIG_ABORTED: i32 = 2;
    /// The configuration cannot be run.
    pub const CONFIG: i32 = 4;
    /// Errors or warnings; the daemon would still run.
    pub const CONFIG_TEST: i32 = 5;
    /// Scripts are configured but script security is not enabled.
    pub const CONFIG_TEST_SECURITY: i32 = 6;
}

/// Collects diagnostics in the order they were found.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn report(&mut self, category: Category, loc: Option<Loc>, message: impl Into<String>) {
        self.push(Diagnostic {
            category,
            loc,
            message: message.into(),
            hint: None,
        });
    }

    pub fn report_hint(
        &mut self,
        category: Category,
        loc: Option<Loc>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) {
        self.push(Diagnostic {
            category,
            loc,
            message: message.into(),
            hint: Some(hint.into()),
        });
    }

    pub fn warn(&mut self, loc: &Loc, message: impl Into<String>) {
        self.report(Category::Warning, Some(loc.clone()), message);
    }

    pub fn error(&mut self, loc: &Loc, message: impl Into<String>) {
        self.report(Category::GeneralError, Some(loc.clone()), message);
    }

    pub fn fatal(&mut self, loc: Option<&Loc>, message: impl Into<String>) {
        self.report(Category::Fatal, loc.cloned(), message);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// The most significant category in keepalived's ordering (Info and
    /// MissingValue, which are not part of it, left out).
    pub fn worst(&self) -> Option<Category> {
        self.items
            .iter()
            .map(|d| d.category)
            .filter(|c| !matches!(c, Category::Info | Category::MissingValue))
            .max()
    }

    pub fn has_fatal(&self) -> bool {
        self.items.iter().any(|d| d.category.is_fatal())
    }

    /// The exit code of `-t`.
    ///
    /// keepalived keeps the numerically highest category, so a warning
    /// reported after a fatal error turns "cannot run" (4) into "would run
    /// with warnings" (5). We do not repeat that: a configuration that
    /// cannot run always answers 4 (see docs/compatibility.md).
    /// Whether a daemon may start with this configuration: not when it
    /// cannot run (a fatal finding) or the parser stopped early.
    pub fn can_start(&self) -> bool {
        let code = self.config_test_exit_code();
        code != exit::CONFIG && code != exit::CONFIG_ABORTED
    }

    /// Whether a running daemon may switch to this configuration. Stricter
    /// than [`Self::can_start`]: a structural mistake (unbalanced brace,
    /// open quote) means what follows is not what the author meant, and a
    /// working configuration must not be replaced by a half-understood one.
    pub fn can_replace_running(&self) -> bool {
        self.can_start() && !self.items.iter().any(|d| d.category.is_structural())
    }

    pub fn config_test_exit_code(&self) -> i32 {
        if self
            .items
            .iter()
            .any(|d| d.category == Category::MissingValue)
        {
            return exit::CONFIG_ABORTED;
        }
        if self.has_fatal() {
            return exit::CONFIG;
        }
        match self.worst() {
            None => exit::OK,
            Some(Category::Security) => exit::CONFIG_TEST_SECURITY,
            Some(_) => exit::CONFIG_TEST,
        }
    }
}
