// SPDX-License-Identifier: Apache-2.0 OR MIT
//! `net.ipv4.ping_group_range`, which decides who may open a ping socket
//! (`check_ping.c: set_ping_group_range`). keepalived, when a PING_CHECK is
//! configured, lowers the range's first gid to 0 (keeping its last), so
//! that root may ping, and puts the old first gid back when it stops.
//! The range is per network namespace.

use std::io;
use std::path::Path;

/// The sysctl's file.
pub const PATH: &str = "/proc/sys/net/ipv4/ping_group_range";

/// `(first, last)` gids from the file's text (`"1\t0\n"`).
pub fn parse(text: &str) -> Option<(u32, u32)> {
    let mut it = text.split_whitespace();
    let first = it.next()?.parse().ok()?;
    let last = it.next()?.parse().ok()?;
    it.next().is_none().then_some((first, last))
}

/// Whether `gid` may open ping sockets under `range`.
pub fn admits(range: (u32, u32), gid: u32) -> bool {
    range.0 <= gid && gid <= range.1
}

/// keepalived's widening: the first gid becomes 0, the last is kept.
/// `None` when the first gid is already 0.
pub fn widened(range: (u32, u32)) -> Option<String> {
    (range.0 != 0).then(|| format!("0\t{}\n", range.1))
}

/// Widens the range in `path` as keepalived does; returns the range found
/// when it was changed (to give to [`restore`]).
pub fn widen(path: &Path) -> io::Result<Option<(u32, u32)>> {
    let text = std::fs::read_to_string(path)?;
    let range = parse(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: unexpected content {text:?}", path.display()),
        )
    })?;
    match widened(range) {
        None => Ok(None),
        Some(new) => {
            std::fs::write(path, new)?;
            Ok(Some(range))
        }
    }
}

/// Puts back the first gid [`widen`] found, keeping the current last gid.
pub fn restore(path: &Path, old: (u32, u32)) -> io::Result<()> {
    let text = std::fs::read_to_string(path)?;
    let last = parse(&text).map_or(old.1, |r| r.1);
    std::fs::write(path, format!("{}\t{last}\n", old.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_default_denies_everyone_and_is_widened_to_root() {
        let r = parse("1\t0\n");
        assert_eq!(r, Some((1, 0)));
        let r = (1, 0);
        assert!(!admits(r, 0));
        assert_eq!(widened(r).as_deref(), Some("0\t0\n"));
        assert!(admits((0, 0), 0));
        assert_eq!(widened((0, 2147483647)), None);
        assert_eq!(parse("0 2147483647"), Some((0, 2147483647)));
        assert_eq!(parse("x 1"), None);
        assert_eq!(parse("1 2 3"), None);
    }

    #[test]
    fn widen_and_restore_a_file() -> io::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("range");
        std::fs::write(&p, "1\t0\n")?;
        assert_eq!(widen(&p)?, Some((1, 0)));
        assert_eq!(std::fs::read_to_string(&p)?, "0\t0\n");
        assert_eq!(widen(&p)?, None);
        restore(&p, (1, 0))?;
        assert_eq!(std::fs::read_to_string(&p)?, "1\t0\n");
        Ok(())
    }
}
