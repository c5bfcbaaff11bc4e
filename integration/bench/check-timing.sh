#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Benchmark: how fast a dead real server leaves the table, and whether the
# checks of healthy servers keep their schedule while half of the others
# time out; keepalived and keepalived-rs in the same run (Debian's kernel
# under qemu, integration/vm/run-in-vm, one boot per implementation).
#
#   integration/bench/check-timing.sh
#   env: REPS=10 DL=2 R=2 DBR=1 (the detection checker's delay_loop,
#        retry, delay_before_retry) IMPLS="ka rs" SMP=2 MEM=2048
#        KALRS_BIN (default: a release build of keepalived-rs, built here)
#
# The in-VM steps are in integration/vm/check-timing.sh; the numbers are
# computed on the host by integration/bench/check-timing-report.py from
# the captures and logs it leaves in the payload (kept with KEEP=1).
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
IMPLS=${IMPLS:-"ka rs"}
[[ $(id -u) == 0 ]] || { echo "check-timing bench: needs root (qemu, 9p)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
(cd "$REPO" && cargo build --release -q -p keepalived-sys --example tcp_sink)
if [[ -z ${KALRS_BIN:-} ]]; then
	(cd "$REPO" && cargo build --release -q -p keepalived-rs)
	KALRS_BIN=$TARGET/release/keepalived-rs
fi
WORK=$(mktemp -d /var/tmp/kalrs-check-timing.XXXXXX)
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$WORK"' EXIT
cp "$REPO/integration/vm/check-timing.sh" "$TARGET/release/examples/tcp_sink" "$WORK/"
echo "# check-timing: reps ${REPS:-10}, delay_loop ${DL:-2} retry ${R:-2} delay_before_retry ${DBR:-1}; impls: $IMPLS"
for impl in $IMPLS; do
	"$REPO/integration/vm/run-in-vm" --quiet --payload "$WORK" --timeout 900 \
		--smp "${SMP:-2}" --mem "${MEM:-2048}" --modules "ip_vs ip_vs_rr nlmon dummy" \
		--env "KALRS=$KALRS_BIN" --env "IMPL=$impl" --env "REPS=${REPS:-10}" \
		--env "DL=${DL:-2}" --env "R=${R:-2}" --env "DBR=${DBR:-1}" --bin "$KALRS_BIN" \
		"$WORK/check-timing.sh" | tee "$WORK/vm-$impl.log" | grep -E '^(FAIL|RESULT|DONE|INFO)' || true
	grep -q '^DONE' "$WORK/vm-$impl.log" ||
		{ echo "check-timing bench: the VM run for $impl did not finish" >&2; tail -30 "$WORK/vm-$impl.log" >&2; exit 1; }
done
python3 "$REPO/integration/bench/check-timing-report.py" "$WORK" "${DL:-2}" "${R:-2}" "${DBR:-1}"
[[ -z ${KEEP:-} ]] || echo "# kept: $WORK"
