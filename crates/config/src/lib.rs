// SPDX-License-Identifier: Apache-2.0 OR MIT
//! keepalived.conf -> typed model.
//!
//! Three layers, each testable alone: [`preprocess`] turns files into
//! logical lines (includes, comments, conditionals, macros, sequences),
//! [`syntax`] turns lines into a statement tree with a pest grammar, and
//! [`model`] reads the tree into typed blocks with keepalived's defaults,
//! reporting every problem as a [`diag::Diagnostic`] with file, line and
//! column. This crate knows nothing of sockets or processes; what it needs
//! to know about the host comes through [`model::Host`].

pub mod diag;
pub mod preprocess;
pub mod script;
pub mod syntax;
