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

#[test]
fn health_checks_move_real_servers_like_keepalived() {
    let passed = support::vm_checks("health-check.sh");
    // 14 table checkpoints + left/returned + notify + fifo + 8 sets of log
    // lines + 3 single lines.
    assert!(passed >= 29, "too few checks ran: {passed} passed");
}
