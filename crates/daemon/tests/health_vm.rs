// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The health checks of `keepalived-rs -C` against real backends (busybox
//! httpd, a MISC script) and the real kernel's IPVS, in a VM booted from
//! Debian's kernel, side by side with real keepalived 2.2.7 on the same
//! timeline: a dead TCP backend leaves `ipvsadm -Sn` and returns, an HTTP
//! 404 and a failing MISC script do the same, a reload keeps a down
//! server down, a misc_dynamic weight reaches IPVS, quorum is lost and
//! regained with a sorry server and inhibit_on_failure, and at every
//! checkpoint the table, the notify script calls, the fifo lines and the
//! checker log lines equal keepalived's; our Prometheus metrics
//! (real server up, failed checks, latency histogram, IPVS ops, reloads)
//! follow the same checkpoints. The checks are in
//! integration/vm/health-check.sh (one boot).

mod support;

use std::process::Command;

#[test]
fn health_checks_move_real_servers_like_keepalived() {
    support::require_root();
    let repo = support::repo_root();
    let bin = support::binary();
    let out = Command::new(repo.join("integration/vm/run-in-vm"))
        .current_dir(&repo)
        .args(["--payload"])
        .arg(&repo)
        .args(["--timeout", "900", "--mem", "768", "--env"])
        .arg(format!("KALRS={}", bin.display()))
        .arg("--bin")
        .arg(&bin)
        .arg(repo.join("integration/vm/health-check.sh"))
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
    let passed: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .expect("a count");
    // 14 table checkpoints + left/returned + notify + fifo + 8 sets of log
    // lines + 3 single lines.
    assert!(passed >= 29, "too few checks ran: {summary}");
}
