#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Heap profile of the checker child at SERVICES x 10 TCP_CHECKs (issue 10,
# "Where the memory goes"): on the host, in a network namespace of its own,
# with dry IPVS (KEEPALIVED_RS_IPVS_DRY=1). heaptrack is attached to the
# child itself (not through `ip netns exec`) while an injected apply delay
# (KEEPALIVED_RS_APPLY_DELAY_MS) holds it before its first apply, so the
# pool, book, specs and start-up are recorded; the configuration model,
# decoded before the delay, is not. Prints the child's Pss SETTLE s after
# the apply and the profile's biggest holders at the heap's peak.
#
#   integration/bench/check-heap.sh
#   env: SERVICES=1000 SETTLE=15 KALRS_BIN (default: a release build)
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
SERVICES=${SERVICES:-1000}
RS=10
[[ $(id -u) == 0 ]] || { echo "check-heap bench: needs root (network namespace)" >&2; exit 1; }
command -v heaptrack >/dev/null || { echo "check-heap bench: needs heaptrack (apt-get install heaptrack)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
(cd "$REPO" && cargo build --release -q -p keepalived-sys --example tcp_sink)
if [[ -z ${KALRS_BIN:-} ]]; then
	(cd "$REPO" && cargo build --release -q -p keepalived-rs)
	KALRS_BIN=$TARGET/release/keepalived-rs
fi
NS=checkheap-$$
WORK=$(mktemp -d /var/tmp/kalrs-check-heap.XXXXXX)
# Every exit path comes here, a failed step under `set -e` and a Ctrl-C
# too: errexit is off inside (a kill of a process already gone must not
# end the cleanup before the namespace is deleted, as it did), and INT and
# TERM become exits so the EXIT trap runs once.
cleanup() {
	set +e
	trap - EXIT INT TERM
	if [[ -n ${PID:-} ]] && kill -TERM "$PID" 2>/dev/null; then
		for _ in $(seq 50); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$PID" 2>/dev/null
	fi
	# heaptrack is a shell script with a shell of its own under it.
	[[ -n ${HT:-} ]] && { pkill -TERM -P "$HT" 2>/dev/null; kill "$HT" 2>/dev/null; }
	[[ -n ${SINK:-} ]] && kill "$SINK" 2>/dev/null
	# Whatever else still runs in the namespace (the checker child if its
	# parent was killed): gone before the namespace is.
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	[[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
python3 "$REPO/integration/bench/gen-lvs-config.py" --services "$SERVICES" --real-servers "$RS" \
	--check-delay 120 --out "$WORK" >/dev/null
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
for r in $(seq 1 "$RS"); do ip netns exec "$NS" ip addr add "198.51.100.$r/32" dev lo; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
ip netns exec "$NS" "$TARGET/release/examples/tcp_sink" 0.0.0.0 20000 "$SERVICES" "$WORK/sink.count" 2>"$WORK/sink.err" &
SINK=$!
sleep 0.5
KEEPALIVED_RS_APPLY_DELAY_MS=8000 KEEPALIVED_RS_IPVS_DRY=1 ip netns exec "$NS" "$KALRS_BIN" -C -n -l -G \
	-f "$WORK/big.conf" -p "$WORK/ka.pid" -c "$WORK/kc.pid" >"$WORK/daemon.log" 2>&1 &
PID=$!
alive() { kill -0 "$PID" 2>/dev/null || { echo "check-heap bench: the daemon exited: $(tail -3 "$WORK/daemon.log")" >&2; exit 1; }; }
until [[ -s $WORK/kc.pid ]]; do alive; sleep 0.1; done
CHILD=$(cat "$WORK/kc.pid")
sleep 0.5
heaptrack -o "$WORK/heap" -p "$CHILD" >"$WORK/heaptrack.out" 2>&1 &
HT=$!
until grep -q 'generation 1 applied' "$WORK/daemon.log"; do alive; sleep 0.5; done
sleep "${SETTLE:-15}"
echo "checkers $((SERVICES * RS)): checker child Pss $(awk '/^Pss:/ { print $2 }' "/proc/$CHILD/smaps_rollup") kB"
kill -TERM "$PID"
wait "$PID" || true
PID=
# heaptrack has been seen to hang after its target exited (its reader
# waiting on a pipe nobody closes): bounded, and said.
for _ in $(seq 300); do kill -0 "$HT" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$HT" 2>/dev/null; then
	echo "check-heap bench: heaptrack did not finish within 30 s of the daemon's stop; no profile" >&2
	exit 1
fi
wait "$HT" || true
heaptrack_print -f "$WORK"/heap.*zst --flamegraph-cost-type peak -F "$WORK/peak.stacks" >/dev/null 2>&1
heaptrack_print -f "$WORK"/heap.*zst 2>/dev/null | grep 'peak heap memory'
# Each peak stack by its innermost frames that are not the allocator's.
python3 - "$WORK/peak.stacks" <<'PY'
import collections, re, sys
noise = re.compile(r"alloc|grow|finish|with_capacity|from_iter|collect|to_vec|to_owned|box_new|new<>|clone")
agg = collections.Counter()
for line in open(sys.argv[1]):
    stack, _, n = line.rstrip().rpartition(" ")
    frames = [f for f in stack.split(";")[-16:][::-1] if not noise.search(f)]
    agg[" <- ".join(f[:50] for f in frames[:5])] += int(n)
for k, v in agg.most_common(12):
    print(f"{v / 1e6:7.2f} MB {k}")
PY
