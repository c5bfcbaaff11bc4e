#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/bench/check-cost.sh boots it, one boot
# per implementation): what health checks cost the daemon.
#
# Payload (the working directory): check.conf, nocheck.conf, bench.env
# (from integration/bench/gen-check-config.py) and the tcp_sink backend
# (with cert.pem and key.pem for KIND=ssl).
#
#  baseline  `-C` on nocheck.conf (the same table, no checkers): Pss of
#            the daemon's processes once the table is in and they idle.
#  checks    `-C` on check.conf; after the first checks have spread over
#            one delay_loop and a full round has passed, CPU ticks of the
#            daemon's processes and connections the backends accepted
#            over WINDOW seconds; Pss at the end; every real server must
#            still be in the table (a check that failed would show).
#
# Writes "RESULT key value" lines.
set -u
cd "${PAYLOAD:-/payload}" || exit 126
IMPL=${IMPL:?IMPL: ka or rs}
KALRS=${KALRS:-}
WINDOW=${WINDOW:-30}
# shellcheck disable=SC1091
source ./bench.env
: "${SERVICES:?}" "${RS:?}" "${KIND:?}" "${SINK_PORTS:?}" "${DELAY_LOOP:?}" "${CHECKS:?}"
result() { echo "RESULT $IMPL $*"; }
now() { echo "$EPOCHREALTIME"; }

modprobe ip_vs || { echo "FAIL no IPVS in this kernel"; exit 1; }
modprobe ip_vs_rr 2>/dev/null
ipvsadm -C || exit 1
ip link set lo up
ip addr add 192.0.2.1/32 dev lo
for j in $(seq 1 "$RS"); do ip addr add "198.51.100.$j/32" dev lo; done
sink_flag=""
[ "$KIND" = http ] && sink_flag=--http
[ "$KIND" = ssl ] && sink_flag="--tls cert.pem key.pem"
# shellcheck disable=SC2086 # the flags are words
./tcp_sink 0.0.0.0 20000 "$SINK_PORTS" /tmp/sink.count $sink_flag 2>/tmp/sink.err &
SINK=$!
sleep 1
kill -0 $SINK 2>/dev/null || { echo "FAIL backend did not start: $(cat /tmp/sink.err)"; exit 1; }

case $IMPL in
ka) DAEMON=(keepalived) ;;
rs) DAEMON=("$KALRS") ;;
*) echo "FAIL unknown IMPL $IMPL"; exit 1 ;;
esac

# The parent and its children.
tree() {
	local root=$1 p s
	echo "$root"
	for p in /proc/[0-9]*; do
		s=$(cat "$p/stat" 2>/dev/null) || continue
		set -- ${s##*) }
		[ "$2" = "$root" ] && echo "${p#/proc/}"
	done
}
# "user system" ticks (utime, stime) of the parent and its children:
# the system share is the kernel's work for the probes' system calls,
# which no user-space saving can remove.
ticks() {
	local user=0 sys=0 p s
	for p in $(tree "$1"); do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		set -- ${s##*) }
		user=$((user + ${12}))
		sys=$((sys + ${13}))
	done
	echo "$user $sys"
}
pss_kb() {
	local total=0 p v
	for p in $(tree "$1"); do
		v=$(awk '/^Pss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
		total=$((total + ${v:-0}))
	done
	echo $total
}
in_table() { ipvsadm -Sn | grep -c -- '-r 198.51.100.'; }
start() { # conf
	rm -f /tmp/ka.pid /tmp/ka-check.pid
	"${DAEMON[@]}" -C -n -l -D -f "$1" -p /tmp/ka.pid -c /tmp/ka-check.pid >/tmp/daemon-"$IMPL".log 2>&1 &
	PID=$!
}
stop() {
	kill -TERM "$PID" 2>/dev/null
	for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	ipvsadm -C
}
wait_table() {
	local i
	for i in $(seq 1 1200); do
		[ "$(in_table)" -ge "$CHECKS" ] && return 0
		sleep 0.1
	done
	echo "FAIL $IMPL: table incomplete: $(in_table) of $CHECKS"
	return 1
}

start nocheck.conf
wait_table || exit 1
sleep 3
result baseline_pss_kb "$(pss_kb "$PID")"
stop

start check.conf
wait_table || exit 1
# Warmup spreads the first checks over 1 s + one delay_loop; then one
# more full round so every checker is in its steady rhythm.
settle=$(awk -v d="$DELAY_LOOP" 'BEGIN { printf "%d", 2 * d + 2 }')
sleep "$settle"
t0=$(now); read -r u0 s0 <<<"$(ticks "$PID")"; c0=$(cat /tmp/sink.count)
sleep "$WINDOW"
t1=$(now); read -r u1 s1 <<<"$(ticks "$PID")"; c1=$(cat /tmp/sink.count)
result window_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
result cpu_ticks "$((u1 - u0 + s1 - s0))"
result user_ticks "$((u1 - u0))"
result sys_ticks "$((s1 - s0))"
result checks "$((c1 - c0))"
result expected_checks "$(awk -v n="$CHECKS" -v d="$DELAY_LOOP" -v w="$WINDOW" 'BEGIN { printf "%d", n * w / d }')"
result window_cfg "$WINDOW"
result check_pss_kb "$(pss_kb "$PID")"
# Where the Pss is, per process and mapping (heap, anonymous, the binary):
# "INFO" lines, for the reader, not the report.
for p in $(tree "$PID"); do
	awk -v p="$p" '/^[0-9a-f]+-[0-9a-f]+ / { n = $6; if (n == "") n = "[anon]" }
		/^Pss:/ { s[n] += $2 } END { for (n in s) if (s[n] >= 256) printf "INFO %s pss_kb %d %s\n", p, s[n], n }' \
		"/proc/$p/smaps" 2>/dev/null
	echo "INFO $p threads $(ls /proc/$p/task 2>/dev/null | wc -l) cmd $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-40)"
done
# The daemon's complaints, if any (a child that died or was restarted).
grep -E 'ERROR|WARN|panick|exited|restart' /tmp/daemon-"$IMPL".log 2>/dev/null | tail -5 | sed 's/^/INFO log: /'
result alive_at_end "$(in_table)"
result clk_tck "$(getconf CLK_TCK 2>/dev/null || echo 100)"
stop
kill $SINK 2>/dev/null
echo DONE
