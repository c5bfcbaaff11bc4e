// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The root `SSL` block: TLS context for SSL_GET checkers.
//!
//! keepalived does not open the files while checking a configuration, so
//! neither do we; an empty block means "generate a context".

use serde::{Deserialize, Serialize};

use crate::reader::{Reader, Table};
use crate::syntax::Node;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SslConfig {
    /// Password of the private key.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub password: Option<String>,
    /// CA file.
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub ca: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub certificate: Option<String>,
    #[serde(default, skip_serializing_if = "crate::types::is_default")]
    pub key: Option<String>,
}

impl SslConfig {
    /// Whether keepalived would build its own context (nothing configured).
    pub fn is_autogen(&self) -> bool {
        self.password.is_none()
            && self.ca.is_none()
            && self.certificate.is_none()
            && self.key.is_none()
    }
}

/// Sets one field, reporting a missing value or a repeated one (the later
/// value wins, as in keepalived).
fn set(field: &mut Option<String>, what: &str, n: &Node<'_>, r: &mut Reader<'_>) {
    r.no_block(n);
    let Some(t) = n.args.first() else {
        r.error(n.loc(), format!("SSL {what} is missing its value"));
        return;
    };
    if field.is_some() {
        r.error(
            n.loc(),
            format!("SSL {what} is given twice; the later one is used"),
        );
    }
    *field = Some(t.text.to_string());
}

const SSL: &Table<SslConfig> = &[
    ("password", |s, n, r| set(&mut s.password, "password", n, r)),
    ("ca", |s, n, r| set(&mut s.ca, "cafile", n, r)),
    ("certificate", |s, n, r| {
        set(&mut s.certificate, "certfile", n, r)
    }),
    ("key", |s, n, r| set(&mut s.key, "keyfile", n, r)),
];

/// Reads an `SSL { ... }` block. A second block replaces the first
/// (keepalived reports that; the caller keeps the last one).
pub fn read(node: &Node<'_>, r: &mut Reader<'_>) -> SslConfig {
    let mut s = SslConfig::default();
    let items = r.block(node);
    r.read_block(&mut s, items, SSL);
    s
}
