// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The proofs that need the real kernel's IPVS, each in a VM booted from
//! Debian's kernel (this host's kernel has no IPVS). Both tests live in
//! one binary on purpose: cargo runs test binaries one after another but
//! the tests of one binary on parallel threads, so the two VMs (one vCPU
//! each, mostly waiting on daemon timers) boot and run at the same time
//! instead of back to back.

mod support;

/// The checker child against the real kernel's IPVS: every config of
/// integration/lvs-corpus programmed by real keepalived and by us must
/// give the same `ipvsadm -Sn`; reloads cost exactly the ops of their
/// diff; `-I` adopts; a kernel refusal is logged and isolated;
/// `lvs_sync_daemon` follows the VRRP instance as keepalived's does. The
/// checks themselves are in integration/vm/lvs-compare.sh (one boot).
#[test]
fn checker_child_programs_what_keepalived_programs() {
    let passed = support::vm_checks("lvs-compare.sh");
    // 18 corpus configs x 3 checks + reload + adopt + refusal checks,
    // + 2 lvs_sync_daemon configs x 9 checks.
    assert!(passed >= 78, "too few checks ran: {passed} passed");
}

/// The health checks of `keepalived-rs -C` against real backends (busybox
/// httpd, a MISC script) and the real kernel's IPVS, side by side with
/// real keepalived 2.2.7 on the same timeline: a dead TCP backend leaves
/// `ipvsadm -Sn` and returns, an HTTP 404 and a failing MISC script do
/// the same, a reload keeps a down server down, a misc_dynamic weight
/// reaches IPVS, quorum is lost and regained with a sorry server and
/// inhibit_on_failure, and at every checkpoint the table, the notify
/// script calls, the fifo lines and the checker log lines equal
/// keepalived's; our Prometheus metrics (real server up, failed checks,
/// latency histogram, IPVS ops, reloads) follow the same checkpoints. The
/// checks are in integration/vm/health-check.sh (one boot).
#[test]
fn health_checks_move_real_servers_like_keepalived() {
    let passed = support::vm_checks("health-check.sh");
    // 14 table checkpoints + left/returned + notify + fifo + 8 sets of log
    // lines + 3 single lines.
    assert!(passed >= 29, "too few checks ran: {passed} passed");
}
