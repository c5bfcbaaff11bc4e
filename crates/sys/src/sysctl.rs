// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Reading and writing numeric values under /proc/sys (of the calling
//! thread's network namespace, for the `net/` tree).

use std::io;

/// The value at `path` (relative to /proc/sys).
pub fn read(path: &str) -> io::Result<u32> {
    let text = std::fs::read_to_string(full(path)?)?;
    text.trim()
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: {e}")))
}

/// Writes `value` at `path` (relative to /proc/sys).
pub fn write(path: &str, value: u32) -> io::Result<()> {
    std::fs::write(full(path)?, format!("{value}\n"))
}

/// Interface names come from the configuration: one with `..` or a
/// leading `/` must not reach another file.
fn full(path: &str) -> io::Result<String> {
    if path.starts_with('/') || path.split('/').any(|p| p == ".." || p.is_empty()) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("not a sysctl path: {path}"),
        ));
    }
    Ok(format!("/proc/sys/{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_under_proc_sys() {
        assert!(read("net/ipv4/conf/../../../etc/passwd").is_err());
        assert!(read("/etc/passwd").is_err());
        assert!(write("net/ipv4/conf//x", 1).is_err());
        assert_eq!(
            full("net/ipv4/conf/vrrp.51/arp_ignore").ok().as_deref(),
            Some("/proc/sys/net/ipv4/conf/vrrp.51/arp_ignore")
        );
    }
}
