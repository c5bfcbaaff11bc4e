// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The signal dumps (inventory §B.2): files private to root (0600) in
//! `$TMPDIR` when it is absolute, else /tmp.

use std::fs::{OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const PARENT_DATA: &str = "keepalived_parent.data";
pub const VRRP_DATA: &str = "keepalived.data";
pub const CHECK_DATA: &str = "keepalived_check.data";
pub const STATS: &str = "keepalived.stats";
pub const JSON: &str = "keepalived.json";

pub fn dir() -> PathBuf {
    match std::env::var_os("TMPDIR").map(PathBuf::from) {
        Some(d) if d.is_absolute() => d,
        _ => PathBuf::from("/tmp"),
    }
}

/// Writes `text` to `name` in the dump directory, mode 0600 whatever the
/// umask or an earlier file's mode. The text goes to a private file beside
/// it that then replaces `name` in one rename, so a reader (an exporter
/// polling keepalived.json) never sees a half-written dump, and a link
/// planted at `name` is replaced rather than followed.
pub fn write(name: &str, text: &str) -> io::Result<PathBuf> {
    let path = dir().join(name);
    write_private(&path, text)?;
    Ok(path)
}

/// [`write`]'s way (0600, a private file renamed over `path`) for any
/// path: the resolvers' state file uses it too.
pub fn write_private(path: &Path, text: &str) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    // A leftover of this pid's earlier life (killed mid-write) would block
    // the exclusive create below.
    let _ = std::fs::remove_file(&tmp);
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            f.set_permissions(Permissions::from_mode(0o600))?;
            f.write_all(text.as_bytes())
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    Ok(())
}

/// [`write`], with the outcome in the log (the dumps answer signals: there
/// is no one to return an error to).
pub fn write_logged(name: &str, text: &str) {
    match write(name, text) {
        Ok(p) => tracing::info!("Wrote {}", p.display()),
        Err(e) => tracing::error!("Cannot write {name}: {e}"),
    }
}
