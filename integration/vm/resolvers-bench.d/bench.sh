#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/vm/resolvers-bench boots it): 10 virtual
# servers x 5 real_server_names x 20 A records = 1 000 real servers by
# name, `timeout resolve 1`, no health checker, keepalived-rs -C on the
# VM's real IPVS, a real dnsmasq (query log on: it counts what we send).
#
#  fill     start -> 1 000 real servers in the kernel table (ipvsadm -Sn);
#  cpu      the checker child's utime+stime over DUR s of steady state,
#           % of one core (dnsmasq's too, for scale);
#  queries  queries dnsmasq logged over the same DUR s, per second
#           (expected 50: one per name per period);
#  change   REPS times: one A record of one name replaced in the hosts
#           file, dnsmasq SIGHUP at t0; ipvsadm -Ln polled in a tight loop
#           until the new address is in and the old one out: t1 - t0. The
#           poll's own period (one ipvsadm -Ln over 1 000 entries) is
#           printed: it bounds the reading's resolution. Put back after
#           each change, waited for the same way (not timed).
set -u
BIN=${KALRS:?KALRS=path of keepalived-rs}
DUR=${DUR:-30}
REPS=${REPS:-12}
D=/rb
die() { echo "bench: $*" >&2; echo DONE; exit 1; }
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }
result() { echo "RESULT $*"; }
mkdir -p $D || die mkdir
ip link set lo up
ip addr add 198.51.100.53/32 dev lo || die address
modprobe ip_vs 2>/dev/null
ipvsadm -C || die "no IPVS in this kernel"

VSS=10 NAMES=5 ADDRS=20
addr() { echo "10.1.$(($1 * NAMES + $2)).$(($3 + 1))"; } # vs name i
# hosts [V K I NEW]: every record, one of them replaced (one awk: a
# loaded VM forks slowly)
hosts() {
	awk -v vss=$VSS -v names=$NAMES -v addrs=$ADDRS -v rv="${1:--1}" -v rk="${2:--1}" \
		-v ri="${3:--1}" -v new="${4:-}" 'BEGIN {
		for (v = 0; v < vss; v++) for (k = 0; k < names; k++) for (i = 0; i < addrs; i++) {
			a = "10.1." (v * names + k) "." (i + 1)
			if (v == rv && k == rk && i == ri) a = new
			printf "%s n%d-%d.example.internal\n", a, v, k
		}
	}' >$D/hosts.tmp
	mv $D/hosts.tmp $D/hosts
}
{
	printf 'global_defs {\n router_id bench\n}\nresolvers dns {\n nameserver ns1 198.51.100.53:53\n'
	printf ' timeout resolve 1\n timeout retry 0.5\n hold obsolete 0\n}\n'
	for ((v = 0; v < VSS; v++)); do
		printf 'virtual_server 192.0.2.%d 80 {\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n' $((v + 1))
		for ((k = 0; k < NAMES; k++)); do
			printf ' real_server_name n%d-%d.example.internal 80 {\n  resolvers dns\n }\n' $v $k
		done
		echo "}"
	done
} >$D/k.conf
hosts
dnsmasq -k --conf-file=/dev/null --port=53 --listen-address=198.51.100.53 --bind-interfaces \
	--no-resolv --no-hosts --addn-hosts=$D/hosts --local=/example.internal/ --local-ttl=1 \
	--cache-size=10000 --dns-forward-max=1000 --log-queries --log-facility=$D/queries.log \
	--user=root --pid-file=$D/dnsmasq.pid >$D/dnsmasq.out 2>&1 &
DNS=$!
for _ in $(seq 50); do ss -Hlun 'sport = :53' | grep -q . && break; sleep 0.1; done
ss -Hlun 'sport = :53' | grep -q . || die "dnsmasq does not listen"

count() { ipvsadm -Sn | grep -c -- ' -r '; }
t0=$(now_us)
"$BIN" -C -n -l -f $D/k.conf --control-socket=$D/ctl -p $D/k.pid -c $D/c.pid >$D/daemon.log 2>&1 &
KA=$!
n=0
for _ in $(seq 3000); do
	n=$(count)
	[ "$n" -ge 1000 ] && break
	sleep 0.01
done
t1=$(now_us)
[ "$n" -eq 1000 ] || { cat $D/daemon.log; die "only $n of 1000 real servers in the kernel"; }
result fill_ms $(((t1 - t0) / 1000))
CHILD=$(cat $D/c.pid 2>/dev/null)
[ -n "$CHILD" ] && [ -d /proc/$CHILD ] || die "no checker child pid in $D/c.pid"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
queries() { grep -c ' query\[' $D/queries.log; }
# The child's own count (its status counters), beside what dnsmasq saw.
sent() {
	"$BIN" status --detail --json --control-socket=$D/ctl 2>/dev/null |
		grep -o '"queries": *[0-9]*' | awk -F: '{s += $2} END {print s + 0}'
}
sleep 2
HZ=100 # USER_HZ: /proc/PID/stat counts in 1/100 s on Linux
s0=$(sent) c0=$(ticks "$CHILD") d0=$(ticks "$DNS") q0=$(queries) w0=$(now_us)
sleep "$DUR"
c1=$(ticks "$CHILD") d1=$(ticks "$DNS") q1=$(queries) w1=$(now_us) s1=$(sent)
el=$((w1 - w0))
result cpu_checker_pct "$(awk -v t=$((c1 - c0)) -v hz="$HZ" -v el=$el 'BEGIN{printf "%.2f", 100 * t / hz / (el / 1e6)}')"
result cpu_dnsmasq_pct "$(awk -v t=$((d1 - d0)) -v hz="$HZ" -v el=$el 'BEGIN{printf "%.2f", 100 * t / hz / (el / 1e6)}')"
result queries_per_s_dnsmasq "$(awk -v q=$((q1 - q0)) -v el=$el 'BEGIN{printf "%.1f", q / (el / 1e6)}')"
# (the status requests sit outside the CPU window's ends but inside the
# counters' window by at most two status round trips: a bound, not a rate)
result queries_per_s_child "$(awk -v q=$((s1 - s0)) -v el=$el 'BEGIN{printf "%.1f", q / (el / 1e6)}')"
result timeouts "$(grep -o '"timeouts": *[0-9]*' <<<"$("$BIN" status --detail --json --control-socket=$D/ctl 2>/dev/null)" | awk -F: '{s += $2} END {print s + 0}')"
result names 50

# has ADDR VS: whether the kernel table has ADDR:80 under VS
wait_for() { # VS NEW OLD -> prints microseconds from $T0, or FAIL
	local vs=$1 new=$2 old=$3 out polls=0
	while :; do
		out=$(ipvsadm -Ln -t "$vs")
		polls=$((polls + 1))
		if [[ $out == *" $new:80 "* ]] && [[ $out != *" $old:80 "* ]]; then
			echo "$(($(now_us) - T0)) $polls"
			return 0
		fi
		(($(now_us) - T0 > 20000000)) && { echo FAIL; return 1; }
	done
}
lat=()
for ((r = 0; r < REPS; r++)); do
	v=$((r % VSS)) k=$((r % NAMES)) i=$((r % ADDRS))
	old=$(addr $v $k $i) new=10.2.$r.1 vs=192.0.2.$((v + 1)):80
	hosts $v $k $i "$new"
	# Off the period: the change lands anywhere in the 1 s cycle.
	sleep "0.$((RANDOM % 10))"
	T0=$(now_us)
	kill -HUP "$DNS"
	got=$(wait_for "$vs" "$new" "$old") || {
		ipvsadm -Ln -t "$vs"
		tail -20 $D/daemon.log
		die "change $r: not in the kernel after 20 s"
	}
	read -r us polls <<<"$got"
	echo "change $r: $vs $old -> $new in $((us / 1000)) ms ($polls polls)"
	lat+=("$us")
	POLLS=$((${POLLS:-0} + polls)) POLL_US=$((${POLL_US:-0} + us))
	hosts
	T0=$(now_us)
	kill -HUP "$DNS"
	wait_for "$vs" "$old" "$new" >/dev/null || {
		ipvsadm -Ln -t "$vs"
		tail -20 $D/daemon.log
		die "change $r back: not in the kernel after 20 s"
	}
done
sorted=$(printf '%s\n' "${lat[@]}" | sort -n)
result change_ms_min "$(echo "$sorted" | head -1 | awk '{printf "%.0f", $1 / 1000}')"
result change_ms_median "$(echo "$sorted" | awk '{a[NR]=$1} END{m = NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2; printf "%.0f", m / 1000}')"
result change_ms_max "$(echo "$sorted" | tail -1 | awk '{printf "%.0f", $1 / 1000}')"
result change_n "${#lat[@]}"
result poll_period_ms "$(awk -v u="$POLL_US" -v p="$POLLS" 'BEGIN{printf "%.2f", u / p / 1000}')"
result apply_ms "$(grep -o 'addresses changed; .* in [0-9.]* ms' $D/daemon.log | grep -o '[0-9.]* ms$' | sort -n | awk '{a[NR]=$1} END{if (NR) printf "n=%d min %s median %s max %s", NR, a[1], a[int((NR+1)/2)], a[NR]}')"
kill "$KA" 2>/dev/null
for _ in $(seq 100); do kill -0 "$KA" 2>/dev/null || break; sleep 0.1; done
kill "$DNS" 2>/dev/null
echo DONE
