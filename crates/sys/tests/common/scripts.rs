// SPDX-License-Identifier: Apache-2.0 OR MIT
//! What the script tests share: a runtime, and scripts written safely.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The file is written by a child process, never opened for writing
/// here: a write descriptor of ours would be inherited by whatever
/// another test thread forks at that moment, and exec of the script
/// would then fail with ETXTBSY (seen once in a full run).
pub fn write_file(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
    let p = dir.join(name);
    let mut writer = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("cat > \"$0\"")
        .arg(&p)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = writer.stdin.take().unwrap();
    stdin.write_all(body.as_bytes()).unwrap();
    drop(stdin);
    assert!(writer.wait().unwrap().success(), "writing {}", p.display());
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}

/// An executable `/bin/sh` script running `body`.
pub fn write_script(dir: &Path, name: &str, body: &str) -> PathBuf {
    write_file(dir, name, &format!("#!/bin/sh\n{body}\n"), 0o755)
}

/// A directory `nobody` can write into (results come back through files).
pub fn open_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    dir
}

/// The `/proc/PID/stat` fields after the command name: state, ppid, …
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Our children that are zombies (ended, not reaped).
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            stat_fields(*pid).is_some_and(|f| {
                f.first().map(String::as_str) == Some("Z") && f.get(1) == Some(&me)
            })
        })
        .collect()
}
