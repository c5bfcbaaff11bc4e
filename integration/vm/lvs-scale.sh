#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/bench/ipvs-scale.sh boots it): the IPVS
# scale benchmark, keepalived and keepalived-rs in the same boot, same
# kernel, same config.
#
# Payload (the working directory): big.conf, big-reload.conf (one weight
# changed), probe.env (the last service and real server in config order,
# and the changed one). For each implementation in $IMPLS, from an empty
# table:
#
#  start   launch `-C` on big.conf; poll `ipvsadm -Ln -t LAST` every 50 ms
#          until LAST's last real server is there (both daemons add in
#          config order, so it is the last entry to arrive), then check
#          with a full dump that every service and real server is in.
#  reload  copy big-reload.conf over big.conf, SIGHUP; "visible" is when
#          `ipvsadm -Ln -t CHANGED` shows the new weight, "idle" is when
#          the daemon's processes stopped using CPU (no tick for 300 ms:
#          the end of the reload's work). IPVS requests the daemon sent
#          meanwhile are captured on an nlmon device and counted on the
#          host (pcap written to the payload).
#  stop    SIGTERM the parent; time until it has exited; services left.
#
# With CHECK_DELAY set in probe.env (every real server has a TCP_CHECK),
# the real servers' addresses go on lo with tcp_sink (from the payload)
# listening on every service port, and the Pss is read SETTLE seconds
# (default 60) after the full table instead of when the daemon is idle:
# checkers never let it idle, so the reload step is skipped too.
#
# Writes "RESULT key value" lines to stdout and results-IMPLS.txt. Run one
# implementation per boot (see integration/bench/ipvs-scale.sh).
set -u
cd "${PAYLOAD:-/payload}" || exit 126
KALRS=${KALRS:?KALRS: the keepalived-rs binary}
IMPLS=${IMPLS:-"ka rs"}
# shellcheck disable=SC1091
source ./probe.env
: "${LAST_VS:?}" "${LAST_RS:?}" "${CHANGED_VS:?}" "${CHANGED_RS:?}" "${NEW_WEIGHT:?}" "${SERVICES:?}" "${DESTS:?}"
RES=$PWD/results-${IMPLS// /-}.txt
: >"$RES"
result() { echo "RESULT $*"; echo "$*" >>"$RES"; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

modprobe ip_vs || { echo "FAIL no IPVS in this kernel"; exit 1; }
for m in ip_vs_rr nlmon; do modprobe "$m" 2>/dev/null; done
if [ -n "${CHECK_DELAY:-}" ]; then
	ip link set lo up
	for r in $(seq 1 "$REAL_SERVERS"); do ip addr add "198.51.100.$r/32" dev lo; done
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	./tcp_sink 0.0.0.0 20000 "$SERVICES" /tmp/sink.count 2>/tmp/sink.err &
	# Binding thousands of listeners takes a while under TCG.
	for _ in $(seq 1 600); do grep -q listening /tmp/sink.err 2>/dev/null && break; sleep 0.1; done
	grep -q listening /tmp/sink.err || { echo "FAIL backend: $(cat /tmp/sink.err)"; exit 1; }
fi
ipvsadm -C || exit 1
have_nlmon=0
if ip link add nlmon0 type nlmon 2>/dev/null && ip link set nlmon0 up; then
	command -v tcpdump >/dev/null && have_nlmon=1
fi
[ $have_nlmon = 1 ] || echo "NOTE no nlmon device or tcpdump in the VM: IPVS requests of the reload are not counted"

# CPU ticks (utime+stime) of PID and its children, summed.
ticks() {
	local root=$1 total=0 p s
	for p in /proc/[0-9]*; do
		s=$(cat "$p/stat" 2>/dev/null) || continue
		# fields after "(comm) ": state ppid ... utime is field 14, stime 15
		set -- ${s##*) }
		if [ "${p#/proc/}" = "$root" ] || [ "$2" = "$root" ]; then
			total=$((total + ${12} + ${13}))
		fi
	done
	echo $total
}
# Waits until the tree of PID used no CPU for 300 ms; prints when that
# quiet stretch began.
wait_idle() {
	local root=$1 last cur since
	last=$(ticks "$root")
	since=$(now)
	local quiet=0
	while [ $quiet -lt 6 ]; do
		sleep 0.05
		cur=$(ticks "$root")
		if [ "$cur" = "$last" ]; then
			quiet=$((quiet + 1))
		else
			quiet=0
			last=$cur
			since=$(now)
		fi
	done
	echo "$since"
}
pss_kb() { # PID and its children, summed Pss in kB
	local root=$1 total=0 p v
	for p in /proc/[0-9]*; do
		[ -r "$p/stat" ] || continue
		set -- $(sed 's/.*) //' "$p/stat" 2>/dev/null)
		if [ "${p#/proc/}" = "$root" ] || [ "${2:-}" = "$root" ]; then
			v=$(awk '/^Pss:/ { print $2 }' "$p/smaps_rollup" 2>/dev/null)
			total=$((total + ${v:-0}))
		fi
	done
	echo $total
}
alive() { # PID: running and not a zombie
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	set -- ${s##*) }
	[ "$1" != Z ]
}
has_rs() { # VS RS [WEIGHT]
	local out
	out=$(ipvsadm -Ln -t "$1" 2>/dev/null) || return 1
	if [ -n "${3:-}" ]; then
		printf '%s\n' "$out" | awk -v rs="$2" -v w="$3" '$2 == rs && $4 == w { f = 1 } END { exit !f }'
	else
		printf '%s\n' "$out" | awk -v rs="$2" '$2 == rs { f = 1 } END { exit !f }'
	fi
}

# SIGTERM IMPL's PID; time until it has exited; services left.
stop_and_report() { # IMPL PID
	local t0 t1 left
	t0=$(now)
	kill -TERM "$2"
	while alive "$2"; do sleep 0.02; done
	wait "$2" 2>/dev/null
	t1=$(now)
	left=$(ipvsadm -Sn | grep -c '^-A')
	result "$1 stop_s $(elapsed "$t0" "$t1")"
	result "$1 stop_left_services $left"
	grep -iE 'killed|timeout|did not|removed what' "/tmp/$1.log" | tail -3 | sed "s/^/NOTE $1 log: /"
	cp "/tmp/$1.log" "$PWD/daemon-$1.log"
}

cp big.conf big-orig.conf
for impl in $IMPLS; do
	ipvsadm -C
	cp big-orig.conf run.conf
	bin=keepalived
	[ "$impl" = rs ] && bin=$KALRS
	t0=$(now)
	"$bin" -C -n -l ${DAEMON_FLAGS:-} -f "$PWD/run.conf" -p "/run/$impl.pid" -c "/run/$impl.c.pid" >"/tmp/$impl.log" 2>&1 &
	pid=$!
	while ! has_rs "$LAST_VS" "$LAST_RS"; do
		alive "$pid" || { echo "FAIL $impl exited during start"; tail -20 "/tmp/$impl.log"; exit 1; }
		sleep 0.05
	done
	t1=$(now)
	table=$(ipvsadm -Sn)
	nsvc=$(printf '%s\n' "$table" | grep -c '^-A')
	ndst=$(printf '%s\n' "$table" | grep -c '^-a')
	result "$impl start_s $(elapsed "$t0" "$t1")"
	result "$impl start_services $nsvc"
	result "$impl start_dests $ndst"
	[ "$nsvc" = "$SERVICES" ] && [ "$ndst" = "$DESTS" ] ||
		echo "NOTE $impl: full dump after the last entry arrived holds $nsvc/$SERVICES services, $ndst/$DESTS real servers"
	if [ -n "${CHECK_DELAY:-}" ]; then
		c0=$(cat /tmp/sink.count)
		sleep "${SETTLE:-60}"
		result "$impl pss_kb $(pss_kb "$pid")"
		result "$impl checks_in_settle $(($(cat /tmp/sink.count) - c0))"
		result "$impl dests_after_settle $(ipvsadm -Sn | grep -c '^-a')"
		for p in /proc/[0-9]*; do
			set -- $(sed 's/.*) //' "$p/stat" 2>/dev/null)
			if [ "${p#/proc/}" = "$pid" ] || [ "${2:-}" = "$pid" ]; then
				echo "NOTE $impl ${p#/proc/} pss_kb $(awk '/^Pss:/ { print $2 }' "$p/smaps_rollup") $(tr '\0' ' ' <"$p/cmdline" | cut -c1-30)"
			fi
		done
	else
		wait_idle "$pid" >/dev/null
		result "$impl pss_kb $(pss_kb "$pid")"
	fi

	# Reload with one weight changed.
	cp big-reload.conf run.conf
	cap=""
	[ -n "${CHECK_DELAY:-}" ] && { stop_and_report "$impl" "$pid"; continue; }
	if [ $have_nlmon = 1 ]; then
		cap=$PWD/reload-$impl.pcap
		tcpdump --immediate-mode -Z root -i nlmon0 -s 0 -U -w "$cap" 2>/dev/null &
		tcpid=$!
		sleep 1
	fi
	t0=$(now)
	kill -HUP "$pid"
	while ! has_rs "$CHANGED_VS" "$CHANGED_RS" "$NEW_WEIGHT"; do sleep 0.02; done
	t1=$(now)
	t2=$(wait_idle "$pid")
	result "$impl reload_visible_s $(elapsed "$t0" "$t1")"
	result "$impl reload_idle_s $(elapsed "$t0" "$t2")"
	if [ -n "$cap" ]; then
		sleep 1
		kill -INT "$tcpid"
		wait "$tcpid" 2>/dev/null
	fi
	[ "$impl" = rs ] && grep -o 'applied generation 2.*' "/tmp/$impl.log" | tail -1 | sed 's/^/NOTE rs log: /'

	stop_and_report "$impl" "$pid"
done
ipvsadm -C
echo "DONE"
