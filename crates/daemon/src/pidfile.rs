// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Pid files (keepalived's `-p`, `-r`, `-c`), with stale-pid detection.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cli::Cli;
use crate::logging::Role;

/// The pid file of `whose`: `-p`, `-r` or `-c` when given, else
/// [`default_path`] (with `-s NAMESPACE` as the instance name).
pub fn path(cli: &Cli, whose: Role) -> PathBuf {
    let given = match whose {
        Role::Parent => &cli.pid,
        Role::Vrrp => &cli.vrrp_pid,
        Role::Checker => &cli.checkers_pid,
    };
    given
        .clone()
        .unwrap_or_else(|| default_path(whose, cli.namespace.as_deref()))
}

/// Where the pid files go when `-p`/`-r`/`-c` do not say. An instance
/// name (keepalived derives one from `-s NAMESPACE`) moves them all to
/// `/run/keepalived/` with the name in each, so daemons of several
/// namespaces can run side by side.
pub fn default_path(whose: Role, instance: Option<&str>) -> PathBuf {
    let base = match whose {
        Role::Parent => "keepalived",
        Role::Vrrp => "vrrp",
        Role::Checker => "checkers",
    };
    match (whose, instance) {
        (Role::Parent, None) => "/run/keepalived.pid".into(),
        (_, None) => format!("/run/keepalived_{base}.pid").into(),
        (_, Some(name)) => format!("/run/keepalived/{base}_{name}.pid").into(),
    }
}

/// The pid in `path`, if the file holds one.
pub fn read(path: &Path) -> Option<i32> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// Whether `pid` is a live keepalived(-rs) process other than us: a pid
/// file naming a dead process, or a pid reused by something else, is stale.
pub fn is_live_keepalived(pid: i32) -> bool {
    if pid <= 0 || pid == std::process::id() as i32 {
        return false;
    }
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    let base = argv0.rsplit(|&b| b == b'/').next().unwrap_or_default();
    base.starts_with(b"keepalived")
}

/// Writes `pid` to `path` (0644, replacing whatever was there).
pub fn write(path: &Path, pid: u32) -> io::Result<()> {
    if let Some(dir) = path.parent()
        && !dir.as_os_str().is_empty()
    {
        fs::create_dir_all(dir)?;
    }
    let tmp = tmp_name(path);
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o644)
            .open(&tmp)?;
        writeln!(f, "{pid}")?;
    }
    fs::rename(&tmp, path)
}

/// Removes `path` if it still names `pid` (a respawned child's newer file
/// is left alone).
pub fn remove_if(path: &Path, pid: u32) {
    if read(path) == Some(pid as i32) {
        let _ = fs::remove_file(path);
    }
}

/// How often a child's pid file that could not be written is tried
/// again: one failed open per second costs nothing, and an operator who
/// fixes the directory sees the right pid within a second.
pub const RETRY_EVERY: Duration = Duration::from_secs(1);

/// A child's pid file that could not be written when the child started
/// (directory read-only, full, missing). Until it is written, the file
/// names a dead child (or nothing), and `kill $(cat …)` hits the wrong
/// process; so the supervisor keeps trying on its timer.
#[derive(Debug)]
pub struct Owed {
    pub path: PathBuf,
    pub pid: u32,
    due: Instant,
}

/// What [`Owed::retry`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Retry {
    /// Not yet due.
    Waiting,
    /// Written: nothing owed any more.
    Written,
    /// Still failing; tried again [`RETRY_EVERY`] later.
    Failed,
}

impl Owed {
    /// Writes `pid` to `path`; on failure returns the error and what is
    /// owed (the caller logs the error, once).
    pub fn write(path: &Path, pid: u32, now: Instant) -> Result<(), (io::Error, Owed)> {
        write(path, pid).map_err(|e| {
            (
                e,
                Owed {
                    path: path.to_path_buf(),
                    pid,
                    due: now + RETRY_EVERY,
                },
            )
        })
    }

    pub fn due(&self) -> Instant {
        self.due
    }

    /// Tries again when due. Failures are not returned: the first one was
    /// logged, and one line a second about the same directory helps nobody.
    pub fn retry(&mut self, now: Instant) -> Retry {
        if now < self.due {
            return Retry::Waiting;
        }
        match write(&self.path, self.pid) {
            Ok(()) => Retry::Written,
            Err(_) => {
                self.due = now + RETRY_EVERY;
                Retry::Failed
            }
        }
    }
}

fn tmp_name(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_remove_and_staleness() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("sub/k.pid");
        write(&p, 4242).expect("writes");
        assert_eq!(read(&p), Some(4242));
        remove_if(&p, 1);
        assert!(p.exists(), "a file naming another pid stays");
        remove_if(&p, 4242);
        assert!(!p.exists());
        // Our own pid and pid 1 (not keepalived) are not live keepalived.
        assert!(!is_live_keepalived(std::process::id() as i32));
        assert!(!is_live_keepalived(i32::MAX));
    }

    #[test]
    fn an_owed_pid_file_is_written_once_the_directory_can_take_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        // A regular file where the directory should be: the write fails
        // (ENOTDIR) even for root, as a read-only directory would.
        let blocked = dir.path().join("run");
        fs::write(&blocked, "").expect("file");
        let p = blocked.join("v.pid");
        let t0 = Instant::now();
        let (_, mut owed) = Owed::write(&p, 4242, t0).expect_err("cannot be written yet");
        assert_eq!(owed.retry(t0), Retry::Waiting, "not before its time");
        assert_eq!(owed.retry(owed.due()), Retry::Failed);
        assert!(
            owed.due() >= t0 + 2 * RETRY_EVERY,
            "the next try is a period later"
        );
        fs::remove_file(&blocked).expect("unblock");
        assert_eq!(owed.retry(owed.due()), Retry::Written);
        assert_eq!(read(&p), Some(4242));
    }

    fn cli(args: &[&str]) -> Cli {
        use clap::Parser;
        Cli::try_parse_from(std::iter::once("k").chain(args.iter().copied())).expect("parses")
    }

    #[test]
    fn given_paths_win_over_the_defaults() {
        let c = cli(&["-r", "/x/v.pid", "-s", "blue"]);
        assert_eq!(path(&c, Role::Vrrp), Path::new("/x/v.pid"));
        assert_eq!(
            path(&c, Role::Parent),
            Path::new("/run/keepalived/keepalived_blue.pid")
        );
        let c = cli(&["-p", "/x/p.pid", "-c", "/x/c.pid"]);
        assert_eq!(path(&c, Role::Parent), Path::new("/x/p.pid"));
        assert_eq!(path(&c, Role::Checker), Path::new("/x/c.pid"));
        assert_eq!(path(&c, Role::Vrrp), Path::new("/run/keepalived_vrrp.pid"));
    }

    #[test]
    fn default_paths_follow_keepalived_with_and_without_a_namespace() {
        assert_eq!(
            default_path(Role::Parent, None),
            Path::new("/run/keepalived.pid")
        );
        assert_eq!(
            default_path(Role::Vrrp, None),
            Path::new("/run/keepalived_vrrp.pid")
        );
        assert_eq!(
            default_path(Role::Checker, None),
            Path::new("/run/keepalived_checkers.pid")
        );
        assert_eq!(
            default_path(Role::Parent, Some("blue")),
            Path::new("/run/keepalived/keepalived_blue.pid")
        );
        assert_eq!(
            default_path(Role::Vrrp, Some("blue")),
            Path::new("/run/keepalived/vrrp_blue.pid")
        );
        assert_eq!(
            default_path(Role::Checker, Some("blue")),
            Path::new("/run/keepalived/checkers_blue.pid")
        );
    }
}
