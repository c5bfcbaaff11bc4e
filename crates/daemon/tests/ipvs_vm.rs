// SPDX-License-Identifier: Apache-2.0 OR MIT
//! The checker child against the real kernel's IPVS, in a VM booted from
//! Debian's kernel (this host's kernel has no IPVS): every config of
//! integration/lvs-corpus programmed by real keepalived and by us must
//! give the same `ipvsadm -Sn`; reloads cost exactly the ops of their
//! diff; `-I` adopts; a kernel refusal is logged and isolated;
//! `lvs_sync_daemon` follows the VRRP instance as keepalived's does. The
//! checks themselves are in integration/vm/lvs-compare.sh (one boot).

mod support;

#[test]
fn checker_child_programs_what_keepalived_programs() {
    let passed = support::vm_checks("lvs-compare.sh");
    // 18 corpus configs x 3 checks + reload + adopt + refusal checks,
    // + 2 lvs_sync_daemon configs x 9 checks.
    assert!(passed >= 78, "too few checks ran: {passed} passed");
}
