#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Benchmark: IPVS at scale, keepalived and keepalived-rs in the same VM boot
# (Debian's kernel under qemu, integration/vm/run-in-vm): SERVICES virtual
# servers x RS real servers, no health checks.
#
#   integration/bench/ipvs-scale.sh
#   env: SERVICES=10000 RS=10  IMPLS="ka rs"  SMP=2  MEM=3072
#        KALRS_BIN (default: a release build of keepalived-rs, built here)
#        CHECK_DELAY=D: a TCP_CHECK (delay_loop D) on every real server,
#        backends on the VM's lo; reports the Pss SETTLE s (default 60)
#        after start and skips the reload (see integration/vm/lvs-scale.sh)
#
# For each: start -> full table in the kernel; one weight change by reload
# (when the change is visible, when the daemon is idle again, and how many
# IPVS requests it sent, captured on an nlmon device); stop (time until
# the parent has exited, services left in the kernel). The steps are in
# integration/vm/lvs-scale.sh. Prints both and the ratios.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
SERVICES=${SERVICES:-10000}
RS=${RS:-10}
IMPLS=${IMPLS:-"ka rs"}
[[ $(id -u) == 0 ]] || { echo "ipvs-scale bench: needs root (qemu, 9p)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "ipvs-scale bench: needs python3" >&2; exit 1; }
if [[ -z ${KALRS_BIN:-} ]]; then
	(cd "$REPO" && cargo build --release -q -p keepalived-rs)
	KALRS_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/keepalived-rs
fi
WORK=$(mktemp -d /var/tmp/kalrs-ipvs-scale.XXXXXX)
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$WORK"' EXIT
check=()
if [[ -n ${CHECK_DELAY:-} ]]; then
	check=(--check-delay "$CHECK_DELAY")
	(cd "$REPO" && cargo build --release -q -p keepalived-sys --example tcp_sink)
	cp "${CARGO_TARGET_DIR:-$REPO/target}/release/examples/tcp_sink" "$WORK/"
fi
python3 "$REPO/integration/bench/gen-lvs-config.py" --services "$SERVICES" --real-servers "$RS" "${check[@]}" --out "$WORK"
cp "$REPO/integration/vm/lvs-scale.sh" "$WORK/"
echo "# ipvs-scale: $SERVICES services x $RS real servers; impls: $IMPLS; host $(nproc) CPUs; keepalived-rs: $KALRS_BIN"
# One boot per implementation: the kernel keeps deleted real servers in a
# trash list for minutes and every add scans it, so whoever ran second in
# the same boot would start 10x slower (measured: 176 s instead of 14 s).
rc=0
# clocksource=hpet: on a loaded host a TCG guest's TSC clock can run many
# times fast (seen: 23x, so SETTLE=60 lasted seconds and the checker
# child's heartbeat bound fired early; docs/benchmarks.md, the 172 probes).
for impl in $IMPLS; do
	RUN_IN_VM_APPEND=${RUN_IN_VM_APPEND:-clocksource=hpet} \
	"$REPO/integration/vm/run-in-vm" --quiet --payload "$WORK" --timeout 1500 \
		--smp "${SMP:-2}" --mem "${MEM:-3072}" --modules "ip_vs nlmon" \
		--env "KALRS=$KALRS_BIN" --env "IMPLS=$impl" --env "DAEMON_FLAGS=${DAEMON_FLAGS:-}" --env "SETTLE=${SETTLE:-60}" --bin "$KALRS_BIN" \
		"$WORK/lvs-scale.sh" | tee "$WORK/vm-$impl.log" | grep -E '^(FAIL|NOTE|DONE|RESULT)' || rc=$?
	grep -q '^DONE' "$WORK/vm-$impl.log" ||
		{ echo "ipvs-scale bench: the VM run for $impl did not finish" >&2; tail -30 "$WORK/vm-$impl.log" >&2; exit 1; }
done
python3 "$REPO/integration/bench/ipvs-scale-report.py" "$WORK"
exit $rc
