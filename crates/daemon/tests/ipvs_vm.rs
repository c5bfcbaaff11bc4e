// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child against the real kernel's IPVS, in a VM booted from
//! Debian's kernel (this host's kernel has no IPVS): every config of
//! integration/lvs-corpus programmed by real keepalived and by us must
//! give the same `ipvsadm -Sn`; reloads cost exactly the ops of their
//! diff; `-I` adopts; a kernel refusal is logged and isolated;
//! `lvs_sync_daemon` follows the VRRP instance as keepalived's does. The
//! checks themselves are in integration/vm/lvs-compare.sh (one boot).

mod support;

use std::process::Command;

#[test]
fn checker_child_programs_what_keepalived_programs() {
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
        .arg(repo.join("integration/vm/lvs-compare.sh"))
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
    // 18 corpus configs x 3 checks + reload + adopt + refusal checks,
    // + 2 lvs_sync_daemon configs x 9 checks.
    assert!(passed >= 78, "too few checks ran: {summary}");
}
