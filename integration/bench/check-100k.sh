#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Benchmark (bad input row "100 000 checkers configured"): keepalived-rs
# `-C` with a TCP_CHECK on each of 10 000 virtual servers x 10 real
# servers, on the host, in a network namespace of its own, with
# KEEPALIVED_RS_IPVS_DRY=1 (every IPVS op succeeds without a kernel: the
# host has no IPVS; the checkers, probes and schedule are the real ones).
# keepalived cannot run here (no IPVS), so there is no ratio.
#
#   integration/bench/check-100k.sh
#   env: SERVICES=10000 RS=10 DELAY_LOOP=30 WINDOW=65
#        KALRS_BIN (default: a release build, built here)
#
# Backends: tcp_sink on ports 20000.. (one per virtual server: every
# checker has its own target, nothing is shared) of 198.51.100.1-RS on the
# namespace's lo, logging every accepted connection. After the first
# checks have spread over one delay_loop, over WINDOW seconds: the probe
# rate the backends saw against SERVICES x RS / DELAY_LOOP, the lateness
# of each target's probe starts (interval - delay_loop: p50, p99, max),
# and the daemon's Pss, threads and open fds at the start and end of the
# window (a leak would grow them); the daemon must still be running. Then
# the stop: when the table was removed, when the shutdown lines were
# written (how many), and when the processes were gone.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
SERVICES=${SERVICES:-10000}
RS=${RS:-10}
DELAY_LOOP=${DELAY_LOOP:-30}
WINDOW=${WINDOW:-65}
[[ $(id -u) == 0 ]] || { echo "check-100k bench: needs root (network namespace)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
(cd "$REPO" && cargo build --release -q -p keepalived-sys --example tcp_sink)
if [[ -z ${KALRS_BIN:-} ]]; then
	(cd "$REPO" && cargo build --release -q -p keepalived-rs)
	KALRS_BIN=$TARGET/release/keepalived-rs
fi
NS=checkbench-100k-$$
WORK=$(mktemp -d /var/tmp/kalrs-check-100k.XXXXXX)
cleanup() {
	[[ -n ${PID:-} ]] && kill -TERM "$PID" 2>/dev/null && sleep 2
	[[ -n ${SINK:-} ]] && kill "$SINK" 2>/dev/null
	ip netns del "$NS" 2>/dev/null || true
	[[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT
python3 "$REPO/integration/bench/gen-lvs-config.py" --services "$SERVICES" --real-servers "$RS" \
	--check-delay "$DELAY_LOOP" --out "$WORK" >/dev/null
ip netns add "$NS"
in_ns() { ip netns exec "$NS" "$@"; }
in_ns ip link set lo up
for r in $(seq 1 "$RS"); do in_ns ip addr add "198.51.100.$r/32" dev lo; done
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
ip netns exec "$NS" "$TARGET/release/examples/tcp_sink" 0.0.0.0 20000 "$SERVICES" "$WORK/sink.count" --log "$WORK/accept.log" 2>"$WORK/sink.err" &
SINK=$!
sleep 1
t0=$EPOCHREALTIME
# Not through in_ns: a function in the background is a subshell, and $!
# must be the daemon's parent (ip netns exec execs it), or the cleanup
# would leave it running.
KEEPALIVED_RS_IPVS_DRY=1 ip netns exec "$NS" "$KALRS_BIN" -C -n -l -f "$WORK/big.conf" -p "$WORK/ka.pid" -c "$WORK/kc.pid" \
	>"$WORK/daemon.log" 2>&1 &
PID=$!
tree() { echo "$PID"; pgrep -P "$PID" || true; }
fail_lines() { grep -c 'bind failed' "$WORK/daemon.log" || true; }
probe() { # label
	local p
	for p in $(tree); do
		echo "$1 $p pss_kb $(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup") fds $(ls "/proc/$p/fd" | wc -l) threads $(ls "/proc/$p/task" | wc -l)"
	done
}
settle=$(awk -v d="$DELAY_LOOP" 'BEGIN { printf "%d", d + 5 }')
sleep "$settle"
kill -0 "$PID" || { echo "check-100k: the daemon died during start" >&2; tail "$WORK/daemon.log" >&2; exit 1; }
started=$(grep -m1 -o 'Activating healthchecker.*\|[0-9]* checkers.*' "$WORK/daemon.log" || true)
w0=$EPOCHREALTIME
c0=$(cat "$WORK/sink.count")
probe start
f0=$(fail_lines)
sleep "$WINDOW"
w1=$EPOCHREALTIME
c1=$(cat "$WORK/sink.count")
probe end
echo "probes the kernel refused locally in the window (\"TCP socket bind failed\" lines): $(($(fail_lines) - f0))"
kill -0 "$PID" || { echo "check-100k: the daemon died during the window" >&2; exit 1; }
sleep 1.5 # the sink writes its log once a second
python3 - "$WORK/accept.log" "$w0" "$w1" "$DELAY_LOOP" "$c0" "$c1" "$((SERVICES * RS))" <<'PY'
import collections, sys
path, w0, w1, dl, c0, c1, n = sys.argv[1], *map(float, sys.argv[2:])
starts = collections.defaultdict(list)
with open(path) as f:
    for line in f:
        p = line.split()
        if len(p) == 2:
            starts[p[1]].append(float(p[0]))
late = []
for t, ts in starts.items():
    ts.sort()
    for a, b in zip(ts, ts[1:]):
        if w0 <= b < w1:
            late.append((b - a - dl) * 1000)
late.sort()
pc = lambda q: late[min(len(late) - 1, int(q * (len(late) - 1)))] if late else float("nan")
rate = (c1 - c0) / (w1 - w0)
print(f"probes seen {c1 - c0:.0f} in {w1 - w0:.1f} s = {rate:.0f}/s; configured {n / dl:.0f}/s ({rate * dl / n:.1%}); "
      f"lateness of probe starts (interval - delay_loop) over {len(late)} intervals: "
      f"p50 {pc(0.5):.1f} ms p99 {pc(0.99):.1f} ms max {late[-1] if late else float('nan'):.1f} ms")
PY
echo "start to first report: $started"
# grep -c exits 1 on a count of 0: not a failure here.
echo "error or panic lines in the log: $(grep -ciE 'error|panic' "$WORK/daemon.log" || true)"
# Stop: SIGTERM to the parent; when the table was removed (dry: the ops
# are counted all the same) and when each process was gone, from the
# SIGTERM; whether the supervisor had to kill the child (child_wait_time).
ts=$EPOCHREALTIME
kill -TERM "$PID"
while kill -0 "$PID" 2>/dev/null; do sleep 0.05; done
te=$EPOCHREALTIME
PID=
python3 - "$WORK/daemon.log" "$ts" "$te" <<'PY'
import datetime, sys
path, ts, te = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
def at(line):
    return datetime.datetime.strptime(line[:26], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc).timestamp()
seen = {}
killed = 0
lines, first, last = 0, None, None
for line in open(path, errors="replace"):
    if not line[:4].isdigit():
        continue
    for key, needle in (("removed", "IPVS: removed what we own"), ("stopped", "Stopped Healthcheck child"),
                        ("child", "Healthcheck child process(")):
        if needle in line:
            seen[key] = (at(line) - ts, line.split("Z ", 1)[-1].strip())
    if "Shutting down " in line and at(line) >= ts:
        lines += 1
        last = at(line) - ts
        first = last if first is None else first
    killed += "failed to die" in line
for key in ("removed", "stopped", "child"):
    if key in seen:
        print(f"stop: {seen[key][0]:.2f} s after SIGTERM: {seen[key][1]}")
# keepalived's shutdown line for each real server: all of them, or was
# the child killed while writing them?
if lines:
    print(f"stop: {lines} shutdown lines, from {first:.2f} to {last:.2f} s after SIGTERM")
else:
    print("stop: no shutdown line")
print(f"stop: parent gone {te - ts:.2f} s after SIGTERM; child killed by the supervisor: {'yes' if killed else 'no'}")
PY
