#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Benchmark: what health checks cost, keepalived and keepalived-rs on the
# same configuration in the same run (Debian's kernel under qemu,
# integration/vm/run-in-vm, one boot per implementation).
#
#   integration/bench/check-cost.sh
#   env: SERVICES=1000 RS=10 KIND=tcp|http|ssl SHARED=1 DELAY_LOOP=10
#        WINDOW=30 IMPLS="ka rs" SMP=2 MEM=2048
#        KALRS_BIN (default: a release build of keepalived-rs, built here)
#        VM_ENV="NAME=VAL ..." (more environment for both daemons in the VM,
#        e.g. MALLOC_ARENA_MAX=1 to try an allocator setting)
#
# SERVICES x RS real servers, one checker each, backends on the VM's lo
# (tcp_sink: accepts, answers HTTP when KIND=http, the same inside TLS
# when KIND=ssl with a P-256 certificate made here by openssl, counts). Prints per
# implementation: checks the backends saw in WINDOW s (and how many the
# configuration calls for: TCG may not sustain it), CPU-seconds per 1 000
# completed checks, the Pss the checkers add over the same table without
# checkers, and the ratios ours / keepalived's. The in-VM steps are in
# integration/vm/check-cost.sh.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
IMPLS=${IMPLS:-"ka rs"}
[[ $(id -u) == 0 ]] || { echo "check-cost bench: needs root (qemu, 9p)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
(cd "$REPO" && cargo build --release -q -p keepalived-sys --example tcp_sink)
if [[ -z ${KALRS_BIN:-} ]]; then
	(cd "$REPO" && cargo build --release -q -p keepalived-rs)
	KALRS_BIN=$TARGET/release/keepalived-rs
fi
WORK=$(mktemp -d /var/tmp/kalrs-check-cost.XXXXXX)
[[ -n ${KEEP:-} ]] || trap 'rm -rf "$WORK"' EXIT
shared=()
[[ -n ${SHARED:-} ]] && shared=(--shared)
python3 "$REPO/integration/bench/gen-check-config.py" --services "${SERVICES:-1000}" \
	--real-servers "${RS:-10}" --kind "${KIND:-tcp}" --delay-loop "${DELAY_LOOP:-10}" \
	"${shared[@]}" --out "$WORK"
cp "$REPO/integration/vm/check-cost.sh" "$TARGET/release/examples/tcp_sink" "$WORK/"
if [[ ${KIND:-tcp} == ssl ]]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=bench \
		-keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
fi
echo "# check-cost: $(grep -E '^(SERVICES|RS|KIND|DELAY_LOOP|SINK_PORTS)=' "$WORK/bench.env" | tr '\n' ' ')window ${WINDOW:-30} s; impls: $IMPLS"
vm_env=()
for kv in ${VM_ENV:-}; do vm_env+=(--env "$kv"); done
for impl in $IMPLS; do
	"$REPO/integration/vm/run-in-vm" --quiet --payload "$WORK" --timeout 900 \
		--smp "${SMP:-2}" --mem "${MEM:-2048}" --modules "ip_vs ip_vs_rr" "${vm_env[@]}" \
		--env "KALRS=$KALRS_BIN" --env "IMPL=$impl" --env "WINDOW=${WINDOW:-30}" --bin "$KALRS_BIN" \
		"$WORK/check-cost.sh" | tee "$WORK/vm-$impl.log" | grep -E '^(FAIL|RESULT|DONE|INFO)' || true
	grep -q '^DONE' "$WORK/vm-$impl.log" ||
		{ echo "check-cost bench: the VM run for $impl did not finish" >&2; tail -30 "$WORK/vm-$impl.log" >&2; exit 1; }
done
cat "$WORK"/vm-*.log | python3 "$REPO/integration/bench/check-cost-report.py"
