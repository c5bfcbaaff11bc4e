// SPDX-License-Identifier: Apache-2.0 OR MIT
//! Shared pieces of the binary's integration tests: the repository, the
//! binary, and a network namespace holding the corpus's interfaces.
//!
//! These tests need root and network namespaces. Without them they fail
//! with a message saying so; they never pass by skipping.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub mod adverts;
pub mod prom;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("repo root")
}

pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keepalived-rs"))
}

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests must run as root (network namespaces, pid files, signals): \
         run ./integration/run-tests as root"
    );
}

/// Runs `args[0]` with the rest as arguments and returns its standard
/// output; a command that cannot start or fails fails the test with its
/// output.
pub fn run_ok(args: &[&str]) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Root and each `(program, argument)` runnable, or the test `who` fails
/// saying what is missing (integration/install-deps installs them all).
pub fn require(who: &str, programs: &[(&str, &str)]) {
    assert!(
        nix::unistd::geteuid().is_root(),
        "{who} needs root (network namespaces, raw sockets)"
    );
    for (prog, arg) in programs {
        assert!(
            Command::new(prog).arg(arg).output().is_ok(),
            "{who} needs {prog} in PATH (integration/install-deps installs it)"
        );
    }
}

/// `ip netns exec NS PROG -P -n -l -D -f CONF -p PID -r VRRP_PID` with
/// standard input closed and both outputs to `log`: a VRRP-only daemon,
/// ours or keepalived, in a namespace. The caller adds what it needs and
/// spawns it.
pub fn vrrp_daemon(
    ns: &str,
    prog: &str,
    conf: &Path,
    pid: &Path,
    vrrp_pid: &Path,
    log: std::fs::File,
) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns, prog, "-P", "-n", "-l", "-D", "-f"])
        .arg(conf)
        .arg("-p")
        .arg(pid)
        .arg("-r")
        .arg(vrrp_pid)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log fd"))
        .stderr(log);
    c
}

/// Kills every process left in network namespace `ns` and deletes it;
/// errors are ignored (for `Drop`).
pub fn remove_netns(ns: &str) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
    let _ = Command::new("ip").args(["netns", "del", ns]).status();
}

/// Two namespaces, `ours` and `peer`, joined by a veth pair named veth0
/// on both sides (192.0.2.1/24 in `ours`, 192.0.2.2/24 in `peer`), lo up
/// in both, and a temporary directory; both are removed on drop with
/// whatever still runs in them.
pub struct VethPair {
    pub ours: String,
    pub peer: String,
    pub dir: tempfile::TempDir,
}

impl VethPair {
    pub fn up(ours: String, peer: String) -> Self {
        let pair = Self {
            ours,
            peer,
            dir: tempfile::tempdir().expect("a temporary directory"),
        };
        for ns in [&pair.ours, &pair.peer] {
            run_ok(&["ip", "netns", "add", ns]);
            run_ok(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        run_ok(&[
            "ip", "link", "add", "veth0", "netns", &pair.ours, "type", "veth", "peer", "name",
            "veth0", "netns", &pair.peer,
        ]);
        for (ns, v4) in [(&pair.ours, "192.0.2.1/24"), (&pair.peer, "192.0.2.2/24")] {
            run_ok(&["ip", "-n", ns, "addr", "add", v4, "dev", "veth0"]);
            run_ok(&["ip", "-n", ns, "link", "set", "veth0", "up"]);
        }
        pair
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        remove_netns(&self.ours);
        remove_netns(&self.peer);
    }
}

/// A namespace made by integration/netns/config-ns.sh, removed on drop.
pub struct Netns {
    pub name: String,
    script: PathBuf,
}

impl Netns {
    pub fn up(tag: &str) -> Self {
        require_root();
        let script = repo_root().join("integration/netns/config-ns.sh");
        let name = format!("k{tag}{}", std::process::id());
        let out = Command::new(&script)
            .args(["up", &name])
            .output()
            .expect("run config-ns.sh");
        assert!(
            out.status.success(),
            "cannot build the test namespace with {}: {}{}",
            script.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        Self { name, script }
    }

    /// Runs `cmd args` inside the namespace, in `dir`, with a time limit.
    pub fn run(&self, dir: &Path, cmd: &Path, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, "timeout", "60"])
            .arg(cmd)
            .args(args)
            .current_dir(dir)
            .output()
            .expect("run a command in the test namespace")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new(&self.script)
            .args(["down", &self.name])
            .output();
    }
}

/// Runs `integration/vm/<script>` in a VM booted from Debian's kernel with
/// the repository as payload and our binary in it, fails the test unless
/// it exits 0 and its last "N passed, M failed" line has no failure, and
/// returns N.
pub fn vm_checks(script: &str) -> usize {
    require_root();
    let repo = repo_root();
    let bin = binary();
    let out = Command::new(repo.join("integration/vm/run-in-vm"))
        .current_dir(&repo)
        .args(["--payload"])
        .arg(&repo)
        .args(["--timeout", "900", "--mem", "768", "--env"])
        .arg(format!("KALRS={}", bin.display()))
        .arg("--bin")
        .arg(&bin)
        .arg(repo.join("integration/vm").join(script))
        .output()
        .expect("integration/vm/run-in-vm runs (see integration/install-deps)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "VM checks failed (exit {:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.ends_with("failed"))
        .expect("a summary line");
    assert!(summary.ends_with(" 0 failed"), "{summary}");
    summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count")
}
