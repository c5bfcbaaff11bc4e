// SPDX-License-Identifier: Apache-2.0 OR MIT
//! keepalived.conf -> typed model.
//!
//! Three layers, each testable alone: [`preprocess`] turns files into
//! logical lines (includes, comments, conditionals, macros, sequences),
//! [`syntax`] turns lines into a statement tree with a pest grammar, and
//! [`model`] reads the tree into typed blocks with keepalived's defaults;
//! [`validate`] then checks what needs the whole configuration or the host.
//! Every problem is a [`diag::Diagnostic`] with file, line and column.
//! This crate knows nothing of sockets or processes; what it needs to know
//! about the host comes through [`host::Host`].

pub mod diag;
pub mod host;
pub mod model;
pub mod preprocess;
pub mod reader;
pub mod script;
pub mod security;
pub mod syntax;
pub mod types;
pub mod validate;

use std::path::{Path, PathBuf};

pub use diag::{Category, Diagnostic, Diagnostics, Loc};
pub use host::{Host, SystemHost};
pub use model::Config;

/// A configuration read from disk, with everything said about it.
#[derive(Debug)]
pub struct Loaded {
    pub config: Config,
    pub diagnostics: Diagnostics,
    /// Every file read, the main file first.
    pub files: Vec<PathBuf>,
    /// The main file could not be read (missing, not a regular file, or a
    /// pattern that matched nothing).
    pub main_missing: bool,
    /// Every command the configuration runs.
    pub commands: Vec<types::CommandUse>,
    /// Script security's verdict on each of `commands` (None where its
    /// subsystem has nothing to do).
    pub scripts: Vec<Option<security::ScriptVerdict>>,
}

/// Reads, parses and validates the configuration at `path`.
pub fn load_file(path: &Path, opts: &preprocess::Options, host: &dyn Host) -> Loaded {
    let mut diags = Diagnostics::new();
    let pre = preprocess::preprocess_file(path, opts, &mut diags);
    finish(pre, diags, host)
}

/// As [`load_file`], for text that claims to be the file `name`.
pub fn load_str(name: &Path, text: &str, opts: &preprocess::Options, host: &dyn Host) -> Loaded {
    let mut diags = Diagnostics::new();
    let pre = preprocess::preprocess_str(name, text, opts, &mut diags);
    finish(pre, diags, host)
}

fn finish(pre: preprocess::Preprocessed, mut diags: Diagnostics, host: &dyn Host) -> Loaded {
    let preprocess::Preprocessed {
        lines,
        files,
        main_missing,
        notes,
        aborted,
    } = pre;
    // What keepalived only logs (a plain include that found nothing) is
    // shown but does not change the verdict.
    for note in notes {
        diags.report(Category::Info, note.loc, note.message);
    }
    // A limit stopped the expansion: the configuration cannot run, and
    // reading the millions of lines produced until then would only cost
    // time and memory (a fuzzer's 1 kB `~SEQ` over a 7-line definition
    // took minutes: docs/benchmarks.md "Fuzzing").
    if aborted {
        return Loaded {
            config: Config::default(),
            diagnostics: diags,
            files,
            main_missing,
            commands: Vec::new(),
            scripts: Default::default(),
        };
    }
    // Each top-level statement is read into the model as soon as it is
    // parsed and then dropped, so the whole tree never exists at once.
    // What the structure and the model say is kept apart to be reported in
    // the order of a whole parse followed by a whole read.
    let mut structure = Diagnostics::new();
    let mut said = Diagnostics::new();
    let mut reader = reader::Reader::new(&mut said);
    let mut config = Config::default();
    let parsed = syntax::parse_each(&lines, &mut structure, |node| {
        model::read_node(&mut config, &node, &mut reader);
    });
    let mut commands = std::mem::take(&mut reader.commands);
    drop(lines);
    match parsed {
        Ok(()) => {
            diags.extend(structure);
            diags.extend(said);
        }
        Err(syntax::ParseFailure(d)) => {
            // A whole parse would have produced an empty tree.
            diags.push(d);
            config = Config::default();
            commands.clear();
        }
    }
    let scripts = validate::run(&mut config, &commands, host, &mut diags);
    Loaded {
        config,
        diagnostics: diags,
        files,
        main_missing,
        commands,
        scripts,
    }
}
