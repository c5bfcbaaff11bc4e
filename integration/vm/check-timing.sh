#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/bench/check-timing.sh boots it, one boot
# per implementation): how fast the checker reacts and whether it keeps
# its schedule. Every timestamp is the guest's wall clock, which the
# packet captures, the backend's accept log and $EPOCHREALTIME share.
#
#  detect     one real server, TCP_CHECK delay_loop DL, retry R,
#             delay_before_retry DBR, connect_timeout 1. REPS times: kill
#             its backend (SIGKILL, so probes are refused), wait until the
#             real server has left the table, restart the backend, wait
#             until it is back. Captured: SYNs and RSTs of the probes on lo
#             (lo-IMPL.txt) and every netlink message (nlmon,
#             nl-IMPL.pcap), so the host finds the last refused probe
#             before each DEL_DEST and the DEL_DEST itself.
#  blackhole  100 virtual servers x 10 real servers, TCP_CHECK delay_loop
#             5 on each, distinct targets; the backend logs each accepted
#             connection (accept-IMPL.log). After a steady window, the
#             addresses of half of the real servers are taken off lo and
#             routed to a dummy device, which drops what it is given: their
#             connects time out (connect_timeout 3). The host compares the
#             other half's probe intervals before and after.
#
# Writes "RESULT IMPL key value" lines and the files above to the payload.
set -u
cd "${PAYLOAD:-/payload}" || exit 126
IMPL=${IMPL:?IMPL: ka or rs}
KALRS=${KALRS:-}
REPS=${REPS:-10}
DL=${DL:-2}
R=${R:-2}
DBR=${DBR:-1}
result() { echo "RESULT $IMPL $*"; }
now() { echo "$EPOCHREALTIME"; }

modprobe ip_vs || { echo "FAIL no IPVS in this kernel"; exit 1; }
for m in ip_vs_rr nlmon dummy; do modprobe "$m" 2>/dev/null; done
ipvsadm -C || exit 1
ip link set lo up
ip addr add 192.0.2.1/32 dev lo
for j in $(seq 1 10) $(seq 101 110); do ip addr add "198.51.100.$j/32" dev lo; done
ip link add nlmon0 type nlmon && ip link set nlmon0 up || { echo "FAIL no nlmon device"; exit 1; }
ip link add bh0 type dummy && ip link set bh0 up || { echo "FAIL no dummy device"; exit 1; }
command -v tcpdump >/dev/null || { echo "FAIL no tcpdump in the VM"; exit 1; }

case $IMPL in
ka) DAEMON=(keepalived) ;;
rs) DAEMON=("$KALRS") ;;
*) echo "FAIL unknown IMPL $IMPL"; exit 1 ;;
esac
start() { # conf
	rm -f /tmp/ka.pid /tmp/ka-check.pid
	"${DAEMON[@]}" -C -n -l -D -f "$1" -p /tmp/ka.pid -c /tmp/ka-check.pid >>/tmp/daemon-"$IMPL".log 2>&1 &
	PID=$!
}
stop() {
	kill -TERM "$PID" 2>/dev/null
	for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	ipvsadm -C
}
# wait_for COUNT_EXPR TIMEOUT_S: until `ipvsadm -Sn | grep -c PATTERN` OP N
dests() { ipvsadm -Sn | grep -c -- "-r $1"; }
wait_dests() { # pattern op n timeout_s
	local i
	for i in $(seq 1 $(($4 * 20))); do
		[ "$(dests "$1")" "$2" "$3" ] && return 0
		sleep 0.05
	done
	return 1
}

# ---- detect
cat >/tmp/detect.conf <<CONF
virtual_server 192.0.2.1 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 30000 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
            delay_loop $DL
            retry $R
            delay_before_retry $DBR
            warmup 0
        }
    }
}
CONF
sink() { ./tcp_sink 198.51.100.1 30000 1 /tmp/det.count 2>>/tmp/sink.err & SINK=$!; }
tcpdump -Z root -i lo -n -tt -l 'tcp port 30000 and (tcp[tcpflags] & (tcp-syn|tcp-rst) != 0)' >/tmp/lo.txt 2>/dev/null &
LOCAP=$!
tcpdump --immediate-mode -Z root -i nlmon0 -s 0 -U -w /tmp/nl.pcap 2>/dev/null &
NLCAP=$!
sink
sleep 1
start /tmp/detect.conf
wait_dests 198.51.100.1:30000 -ge 1 60 || { echo "FAIL $IMPL: the real server never came in"; exit 1; }
for rep in $(seq 1 "$REPS"); do
	# Kill at a different point of the check period each time.
	sleep "$(awk -v r="$rep" -v d="$DL" 'BEGIN { printf "%.2f", 1 + (r * 0.37 % d) }')"
	k=$(now)
	kill -KILL "$SINK"
	wait "$SINK" 2>/dev/null
	echo "KILL $IMPL $rep $k" >>/tmp/kills.txt
	if ! wait_dests 198.51.100.1:30000 -eq 0 30; then
		echo "FAIL $IMPL: rep $rep: the real server never left the table"; exit 1
	fi
	sink
	wait_dests 198.51.100.1:30000 -ge 1 30 || { echo "FAIL $IMPL: rep $rep: the real server never came back"; exit 1; }
done
stop
sleep 0.5
kill "$LOCAP" "$NLCAP" 2>/dev/null
kill "$SINK" 2>/dev/null
wait "$LOCAP" "$NLCAP" 2>/dev/null
[ -s /tmp/lo.txt ] || { echo "FAIL $IMPL: the capture on lo saw no probe"; exit 1; }
cp /tmp/lo.txt "lo-$IMPL.txt"
cp /tmp/nl.pcap "nl-$IMPL.pcap"
cp /tmp/kills.txt "kills-$IMPL.txt"
result detect_reps "$REPS"

# ---- blackhole
{
	for i in $(seq 0 99); do
		printf 'virtual_server 192.0.2.1 %d {\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n' $((10000 + i))
		for j in $(seq 1 10); do
			# The second half's real servers are the ones black-holed.
			a=$j
			[ "$i" -ge 50 ] && a=$((100 + j))
			printf '    real_server 198.51.100.%d %d {\n        weight 1\n' "$a" $((20000 + i))
			printf '        TCP_CHECK {\n            connect_timeout 3\n            delay_loop 5\n'
			printf '            retry 1\n            delay_before_retry 1\n            warmup 5\n        }\n    }\n'
		done
		printf '}\n'
	done
} >/tmp/bh.conf
./tcp_sink 0.0.0.0 20000 100 /tmp/bh.count --log /tmp/accept.log 2>>/tmp/sink.err &
BHSINK=$!
sleep 1
start /tmp/bh.conf
wait_dests 198.51.100. -ge 1000 120 || { echo "FAIL $IMPL: table incomplete: $(dests 198.51.100.)"; exit 1; }
sleep 12
result steady_from "$(now)"
sleep 25
t=$(now)
for j in $(seq 101 110); do ip addr del "198.51.100.$j/32" dev lo; done
ip route add 198.51.100.96/27 dev bh0
result blackhole_at "$t"
sleep 30
result end_at "$(now)"
result left_in_table "$(dests 198.51.100.)"
# The daemon's processes at the end (state, CPU ticks): a stalled or dead
# checker shows here.
for p in $(pgrep -f -- "-f /tmp/bh.conf"); do
	echo "INFO $IMPL proc $p $(cut -d' ' -f3,14,15 "/proc/$p/stat" 2>/dev/null) $(tr '\0' ' ' <"/proc/$p/cmdline" | cut -c1-40)"
done
sleep 1.5
stop
kill "$BHSINK" 2>/dev/null
wait "$BHSINK" 2>/dev/null
cp /tmp/accept.log "accept-$IMPL.log"
cp /tmp/daemon-"$IMPL".log "daemon-$IMPL.log"
grep -ciE 'timeout|timed out' /tmp/daemon-"$IMPL".log | sed "s/^/RESULT $IMPL timeout_log_lines /"
echo DONE
