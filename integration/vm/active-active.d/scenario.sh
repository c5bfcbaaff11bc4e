#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/vm/active-active boots it): three IPVS
# directors active/active behind a BGP router with ECMP, on Debian's
# kernel. Namespaces (inside the VM, so their names cannot clash):
#
#   aa-c   client 203.0.113.2 ---- aa-rt  router: BIRD 2 (AS 65000, kernel
#                                         protocol with `merge paths`),
#                                         fib_multipath_hash_policy=1,
#                                         br0 198.51.100.1/24
#   aa-d1..3  lan 198.51.100.11-13: keepalived-rs -C ($KALRS), virtual
#             server 192.0.2.80:80 `lb_algo mh` + `mh-port`, `lb_kind DR`,
#             an `announce` block, `lvs_sync_daemon lan id 7`; BIRD 2 with
#             packaging/routing/bird-announce.conf unchanged (AS 65001)
#   aa-r1..3  lan 198.51.100.21-23: the VIP on lo (DR), a TCP server
#             (busybox nc) that keeps each connection and answers every
#             line with "rsN LINE"
#
# Why DR: the real servers answer the client through the router, so no
# director holds state a flow's return path needs; a flow that ECMP moves
# to another director needs only that director to pick the same real
# server. (NAT would need the replies back through the director that
# rewrote them: the moved flow's replies would go to the old one.)
#
# Two mechanisms keep a moved flow on its real server; each phase proves
# one of them alone:
#   phase 1, sloppy_tcp=0: connections that exchanged data (so the sync
#     daemon, which copies a TCP connection at its 3rd packet, has copied
#     them) survive director d1's drain: on the other directors the
#     connection entry exists. Without the sync daemon they are reset.
#   phase 3, sloppy_tcp=1: connections that did only the handshake (2
#     packets: never copied, checked) survive director d1's second drain
#     and its return: the director a flow lands on creates the entry from a
#     mid-stream packet (sloppy_tcp) and mh (Maglev, same real servers in
#     the same order everywhere, mh-port because every flow comes from
#     one client address) picks the same real server. With rr, or
#     sloppy_tcp=0, they are reset.
# Phase 2: the returning director takes new connections again.
#
# AA_BREAK=nosync|rr|nosloppy breaks one piece (integration/vm/
# active-active --break): the phase that proves it must fail.
#
# Prints "ok NAME" / "FAIL NAME: why", then "N passed, N failed" and DONE.
set -u
BIN=${KALRS:?KALRS=path of keepalived-rs}
BREAK=${AA_BREAK:-}
VIP=192.0.2.80
R=/run/aa
OUT=/payload
die() { echo "scenario: $*"; echo "0 passed, 1 failed"; echo DONE; exit 1; }
ns() { local n=$1; shift; ip netns exec "aa-$n" "$@"; }

# ------------------------------------------------------------ the lab -------
# Built in the VM's root namespace; the checks then run in the client's
# (bash's /dev/tcp connects from the namespace it runs in), see the end.
setup() {
	[ -x "$BIN" ] || die "no keepalived-rs at $BIN"
	for c in bird ipvsadm ss nc; do
		command -v $c >/dev/null || die "no $c in the VM (integration/vm/active-active copies it in)"
	done
	mkdir -p $R || die "mkdir $R"
	modprobe ip_vs && modprobe ip_vs_mh && modprobe ip_vs_rr || die "no IPVS in this kernel"
	local n i
	for n in rt c d1 d2 d3 r1 r2 r3; do
		ip netns add aa-$n || die "namespace aa-$n"
		ip -n aa-$n link set lo up
	done
	ip -n aa-rt link add br0 type bridge || die "bridge"
	ip -n aa-rt addr add 198.51.100.1/24 dev br0
	ip -n aa-rt link set br0 up
	for i in 1 2 3; do
		lan_port d$i 198.51.100.1$i
		lan_port r$i 198.51.100.2$i
	done
	ip link add cl netns aa-rt type veth peer name eth0 netns aa-c || die "veth client"
	ip -n aa-rt addr add 203.0.113.1/24 dev cl
	ip -n aa-rt link set cl up
	ip -n aa-c addr add 203.0.113.2/24 dev eth0
	ip -n aa-c link set eth0 up
	ip -n aa-c route add default via 203.0.113.1
	# Layer-4 hashing, or every flow of the one client takes one path.
	ns rt sysctl -qw net.ipv4.ip_forward=1
	ns rt sysctl -qw net.ipv4.fib_multipath_hash_policy=1
	# A connect to a dead path fails in 15 s instead of 2 minutes (not
	# less: an emulated VM on a busy host can be that slow to answer).
	ns c sysctl -qw net.ipv4.tcp_syn_retries=3

	cat >$R/answer <<'EOF'
#!/bin/sh
while read -r line; do echo "$RS $line"; done
EOF
	chmod +x $R/answer
	for i in 1 2 3; do
		ip -n aa-r$i addr add $VIP/32 dev lo
		ns r$i sysctl -qw net.ipv4.conf.all.arp_ignore=1
		ns r$i sysctl -qw net.ipv4.conf.all.arp_announce=2
		ns r$i env RS=rs$i nc -ll -p 80 -e $R/answer >/dev/null 2>&1 &
	done

	# BGP hold time 90 s: an emulated VM on a busy host can stall for
	# more than 3 s (seen: "Hold timer expired", then BIRD's 60 s error
	# wait with the router down to one path). Withdrawals are UPDATEs and
	# need no timer; no check here waits on the hold time.
	cat >$R/rt.bird.conf <<EOF
router id 198.51.100.1;
log "$OUT/rt.bird.log" all;
protocol device {
}
protocol kernel {
	merge paths on;
	ipv4 { import none; export all; };
}
template bgp director {
	local as 65000;
	hold time 90;
	keepalive time 10;
	connect retry time 1;
	debug { states };
	ipv4 { import all; export none; };
}
protocol bgp d1 from director { neighbor 198.51.100.11 as 65001; }
protocol bgp d2 from director { neighbor 198.51.100.12 as 65001; }
protocol bgp d3 from director { neighbor 198.51.100.13 as 65001; }
EOF
	ns rt bird -c $R/rt.bird.conf -s $R/rt.ctl -P $R/rt.bird.pid || die "the router's BIRD did not start"
	for i in 1 2 3; do
		cat >$R/d$i.bird.conf <<EOF
router id 198.51.100.1$i;
log "$OUT/d$i.bird.log" all;
include "$OUT/bird-announce.conf";
protocol bgp upstream {
	local as 65001;
	neighbor 198.51.100.1 as 65000;
	hold time 90;
	keepalive time 10;
	connect retry time 1;
	ipv4 { import none; export where proto = "kalrs_announce"; };
}
EOF
		ns d$i bird -c $R/d$i.bird.conf -s $R/d$i.ctl -P $R/d$i.bird.pid ||
			die "director d$i's BIRD did not start"
		kconf $i >$R/d$i.conf
		start_director $i
	done
}

lan_port() { # NS ADDR: a port of the router's bridge
	ip link add p-$1 netns aa-rt type veth peer name lan netns aa-$1 || die "veth $1"
	ip -n aa-rt link set p-$1 master br0 up
	ip -n aa-$1 addr add $2/24 dev lan
	ip -n aa-$1 link set lan up
	ip -n aa-$1 route add default via 198.51.100.1
}

kconf() { # N: the director's keepalived.conf
	local sched="lb_algo mh
  mh-port" syncd="lvs_sync_daemon lan id 7"
	[ "$BREAK" = rr ] && sched="lb_algo rr"
	[ "$BREAK" = nosync ] && syncd=
	# child_wait_time: under TCG on a busy host the drain (2 s) plus the
	# IPVS removal can take longer than the default 5 s.
	cat <<EOF
child_wait_time 20
global_defs {
  router_id aa-d$1
  $syncd
}
virtual_server $VIP 80 {
  delay_loop 2
  $sched
  lb_kind DR
  protocol TCP
  announce {
    drain_delay 2
  }
  real_server 198.51.100.21 80 {
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 198.51.100.22 80 {
    TCP_CHECK {
      connect_timeout 2
    }
  }
  real_server 198.51.100.23 80 {
    TCP_CHECK {
      connect_timeout 2
    }
  }
}
EOF
}

start_director() { # N (without the client's open connections)
	(
		for f in "${FD[@]}"; do exec {f}>&-; done
		ns d$1 "$BIN" -C -n -l -D -f $R/d$1.conf -p $R/d$1.pid -c $R/d$1.chk.pid \
			>>$OUT/d$1.out 2>&1 &
	)
}

if [ "${1:-}" != client ]; then
	setup
	exec ip netns exec aa-c "$0" client
fi

# ------------------------------------------------------------ checks --------
# From here on the shell is in the client's namespace.
trap '' PIPE # a write to a reset connection fails; it must not kill us
PASS=0 FAIL=0
ok() { echo "ok $1"; PASS=$((PASS + 1)); }
bad() { echo "FAIL $1${2:+: $2}"; FAIL=$((FAIL + 1)); }
wait_for() { # SECS CMD...: poll until SECS (wall clock), a last try then
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while [ "${EPOCHREALTIME/./}" -lt $end ]; do
		"$@" && return 0
		sleep 0.2
	done
	"$@"
}
T0=${EPOCHREALTIME/./}
at() { echo "-- [$(((${EPOCHREALTIME/./} - T0) / 1000000)) s] $*"; }
# The router's next hops for the VIP, sorted, on one line.
hops() {
	echo $(ns rt ip -4 route show $VIP/32 2>/dev/null |
		grep -oE 'via 198\.51\.100\.[0-9]+' | awk '{print $2}' | sort)
}
hops_are() { [ "$(hops)" = "$*" ]; }
ALL="198.51.100.11 198.51.100.12 198.51.100.13"

# One connection: send TAG; ANSWER is the answer's first word (the real
# server). No subshell: every fork counts in an emulated VM.
one_shot() {
	local fd a=
	ANSWER=
	exec {fd}<>/dev/tcp/$VIP/80 || return 1
	echo "$1" >&$fd
	read -r -t 15 a <&$fd
	exec {fd}>&-
	ANSWER=${a%% *}
}
# Connections the director scheduled itself since its service was made.
conns_of() {
	ns d$1 ipvsadm -Ln --stats 2>/dev/null |
		awk -v vs="$VIP:80" '$1 == "TCP" && $2 == vs {print $3; f = 1} END {if (!f) print 0}'
}
# spread NAME DIRECTORS: 45 new connections; every listed director
# schedules at least 4 of them, every real server answers at least 4.
spread() {
	local name=$1 d i r before=() got=() per_d= per_rs= why=
	local -A rs=([rs1]=0 [rs2]=0 [rs3]=0 [none]=0)
	shift
	at "spread"
	# The kernel folds its per-CPU counters into what ipvsadm reads every
	# 2 s (the rate estimator's period): read after a quiet period, both
	# before and after, or a reading misses the newest connections.
	sleep 2.2
	for d in "$@"; do before[$d]=$(conns_of $d); done
	for i in $(seq 45); do
		one_shot "spread$i"
		case $ANSWER in rs1 | rs2 | rs3) r=$ANSWER ;; *) r=none ;; esac
		rs[$r]=$((rs[$r] + 1))
	done
	sleep 2.2
	for d in "$@"; do
		got[$d]=$(($(conns_of $d) - ${before[$d]}))
		[ ${got[$d]} -ge 4 ] || why="$why d$d:${got[$d]}"
		per_d="$per_d d$d=${got[$d]}"
	done
	for r in rs1 rs2 rs3; do
		[ ${rs[$r]} -ge 4 ] || why="$why $r:${rs[$r]}"
		per_rs="$per_rs${per_rs:+ }$r=${rs[$r]}"
	done
	[ ${rs[none]} = 0 ] || why="$why unanswered:${rs[none]}"
	if [ -z "$why" ]; then
		ok "$name (directors:$per_d; real servers: $per_rs)"
	else
		bad "$name" "directors:$per_d; real servers: $per_rs unanswered=${rs[none]}"
		echo "--- router: hash policy, route, neighbours; directors' IPVS"
		ns rt sysctl net.ipv4.fib_multipath_hash_policy
		ns rt ip -d route show $VIP/32
		ns rt ip neigh
		grep -v "Started" $OUT/rt.bird.log | tail -n 20
		for d in 1 2 3; do ns d$d ipvsadm -Ln --stats; done
	fi
}

# Long-lived connections: FD[i] the descriptor, RS_OF[i] the real server,
# HOME_OF[i] the director that scheduled it, PORT[i] the client port.
declare -a FD RS_OF HOME_OF PORT
open_long() { # N DATA(yes|no); WHY says what failed
	local i fd a
	FD=() RS_OF=() HOME_OF=() PORT=() WHY=
	for i in $(seq "$1"); do
		exec {fd}<>/dev/tcp/$VIP/80 || { WHY="connection $i: connect failed"; return 1; }
		FD[i]=$fd
		if [ "$2" = yes ]; then
			# Two exchanges: at least 3 packets through the director, the
			# sync daemon's threshold (net.ipv4.vs.sync_threshold 3 50).
			echo "open$i" >&$fd && read -r -t 15 a <&$fd || { WHY="connection $i: no answer"; return 1; }
			RS_OF[i]=${a%% *}
			echo "again$i" >&$fd && read -r -t 15 a <&$fd || { WHY="connection $i: no second answer"; return 1; }
		fi
	done
}
close_long() {
	local i f
	for i in "${!FD[@]}"; do
		f=${FD[i]}
		exec {f}>&-
	done
	FD=()
}
# Only ESTABLISHED entries count below: an entry of an earlier, closed
# connection (IPVS keeps TIME_WAIT 2 min) may have the same client port.
# Each connection's client port (ss names the descriptor), then the
# director whose IPVS scheduled it (LOCAL in /proc/net/ip_vs_conn_sync) and the
# real server it chose.
locate_long() {
	local port fd i d pro fip fpt tip tpt dip dpt state origin rest
	declare -A fd_port=() home=() dest=()
	while read -r fd port; do fd_port[$fd]=$port; done < <(
		ss -Htnp state established dst $VIP |
			sed -nE "s/.*203\.0\.113\.2:([0-9]+) .*pid=$$,fd=([0-9]+).*/\2 \1/p")
	for d in 1 2 3; do
		while read -r pro fip fpt tip tpt dip dpt state origin rest; do
			[ "$origin" = LOCAL ] && [ "$tip" = C0000250 ] && [ "$state" = ESTABLISHED ] || continue
			home[$((16#$fpt))]=$d
			dest[$((16#$fpt))]=rs$((16#${dip:6:2} - 20))
		done < <(ns d$d cat /proc/net/ip_vs_conn_sync 2>/dev/null)
	done
	for i in "${!FD[@]}"; do
		PORT[i]=${fd_port[${FD[i]}]:-?}
		HOME_OF[i]=${home[${PORT[i]}]:-?}
		[ -n "${RS_OF[i]:-}" ] || RS_OF[i]=${dest[${PORT[i]}]:-?}
	done
}
# How many of the long connections director D scheduled.
homed_on() {
	local i n=0
	for i in "${!FD[@]}"; do [ "${HOME_OF[i]}" = "$1" ] && n=$((n + 1)); done
	echo $n
}
# entry_ports D [ORIGIN]: the client ports of the ESTABLISHED entries for the
# VIP in director D's IPVS (only those of ORIGIN, LOCAL or SYNC, when
# given), in decimal, each with a space on both sides.
entry_ports() {
	echo " $(ns d$1 cat /proc/net/ip_vs_conn_sync 2>/dev/null |
		awk -v o="${2:-}" '$4 == "C0000250" && $8 == "ESTABLISHED" && (o == "" || $9 == o) {print $3}' |
		while read -r p; do printf '%d ' $((16#$p)); done)"
}
# Directors holding an entry (their own or copied) for every long connection.
synced_everywhere() {
	local d i ports
	for d in 1 2 3; do
		ports=$(entry_ports $d)
		for i in "${!FD[@]}"; do
			case $ports in *" ${PORT[i]} "*) ;; *) return 1 ;; esac
		done
	done
}
# Long connections that a director other than their own scheduled since
# (sloppy_tcp: from a mid-stream packet).
moved_count() {
	local d i n=0 ports
	for d in 1 2 3; do
		ports=$(entry_ports $d LOCAL)
		for i in "${!FD[@]}"; do
			[ "${HOME_OF[i]}" = $d ] && continue
			case $ports in *" ${PORT[i]} "*) n=$((n + 1)) ;; esac
		done
	done
	echo $n
}
# Long connections that some director other than their own also holds.
copied_count() {
	local d i n=0 ports
	for d in 1 2 3; do
		ports=$(entry_ports $d SYNC)
		for i in "${!FD[@]}"; do
			case $ports in *" ${PORT[i]} "*) n=$((n + 1)) ;; esac
		done
	done
	echo $n
}
# exchange NAME TAG: every long connection answers TAG from its real server.
exchange() {
	local name=$1 tag=$2 i a wrong=0 lost=0 t=15
	at "exchange $tag"
	for i in "${!FD[@]}"; do echo "$tag$i" >&${FD[i]} 2>/dev/null; done
	for i in "${!FD[@]}"; do
		a=
		if read -r -t $t a <&${FD[i]} 2>/dev/null && [ -n "$a" ]; then
			[ "$a" = "${RS_OF[i]} $tag$i" ] || wrong=$((wrong + 1))
		else
			lost=$((lost + 1))
			t=2 # one long wait is enough: the others had the same time
		fi
	done
	if [ $wrong = 0 ] && [ $lost = 0 ]; then
		ok "$name (${#FD[@]} connections)"
	else
		bad "$name" "$lost of ${#FD[@]} reset or silent, $wrong answered by another real server"
	fi
}
STOPPING=
stop_director() { # N: SIGTERM (stopped() waits for the exit)
	STOPPING=$(cat $R/d$1.pid 2>/dev/null) && kill -TERM "$STOPPING"
}
stopped() { wait_for 40 eval "! kill -0 $STOPPING 2>/dev/null"; }
syncd_running() { # N: the kernel runs a master and a backup sync daemon
	local d
	d=$(ns d$1 ipvsadm -L --daemon 2>/dev/null)
	case $d in *"master sync daemon (mcast=lan, syncid=7"*) ;; *) return 1 ;; esac
	case $d in *"backup sync daemon (mcast=lan, syncid=7"*) ;; *) return 1 ;; esac
}
check() { # NAME CMD...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}
report() {
	if [ $FAIL != 0 ]; then
		local i
		echo "--- router route, BIRD protocols"
		ns rt ip route show $VIP/32
		for i in 1 2 3; do
			echo "--- d$i: log tail, IPVS, connections"
			tail -n 25 $OUT/d$i.out
			ns d$i ipvsadm -Ln
			ns d$i ipvsadm -L --daemon
			ns d$i cat /proc/net/ip_vs_conn_sync | head -n 20
		done
	fi
	echo "$PASS passed, $FAIL failed"
	echo DONE
	exit 0
}

at "all three directors healthy (AA_BREAK=${BREAK:-none})"
if wait_for 90 hops_are $ALL; then
	ok "a: the router holds a 3-way ECMP route for the VIP ($(hops))"
else
	bad "a: the router holds a 3-way ECMP route for the VIP" "next hops: $(hops)"
	report
fi
at "checks"
for i in 1 2 3; do
	check "d$i: the kernel runs a master and a backup sync daemon (lvs_sync_daemon, no instance)" syncd_running $i
done
spread "b: 45 new connections spread over the directors and the real servers" 1 2 3

at "phase 1: the sync daemon alone (sloppy_tcp=0), d1 drained"
for i in 1 2 3; do ns d$i sysctl -qw net.ipv4.vs.sloppy_tcp=0; done
if ! open_long 18 yes; then
	bad "c: 18 long-lived connections open and answer" "$WHY"
	report
fi
locate_long
on_d1=$(homed_on 1)
check "c: d1 scheduled some of the long-lived connections ($on_d1 of 18; d2 $(homed_on 2), d3 $(homed_on 3))" \
	[ "$on_d1" -gt 0 ]
check "c: the sync daemon copied every long-lived connection to every director" \
	wait_for 8 synced_everywhere
check "c: d1 told to stop (SIGTERM: withdraw, drain, remove IPVS)" stop_director 1
check "c: the router dropped d1 from the ECMP route" wait_for 20 hops_are 198.51.100.12 198.51.100.13
exchange "c: established connections answer after d1's drain, from the same real server" after-drain
check "c: d1 stopped" stopped
line_of() { grep -n -m1 -- "$1" $OUT/d1.out | cut -d: -f1; }
w=$(line_of "VS_Announce(.*) withdrawn: stopping")
r=$(line_of "IPVS: removed what we own")
check "c: d1 withdrew its route before it removed its IPVS entries (log lines ${w:-none} < ${r:-none})" \
	eval '[ -n "$w" ] && [ -n "$r" ] && [ "$w" -lt "$r" ]'
check "c: d1's IPVS table is empty and the VIP left its lo" \
	eval "! ns d1 ipvsadm -Ln | grep -q '$VIP' && ! ip -n aa-d1 addr show lo | grep -q '$VIP/'"
exchange "c: they still answer with d1 gone" d1-gone
close_long

at "phase 2: d1 returns"
start_director 1
check "d: the router has d1 back (3-way ECMP)" wait_for 60 hops_are $ALL
spread "d: new connections spread again over the 3 directors" 1 2 3

at "phase 3: mh + sloppy_tcp alone (connections the sync daemon never copied), d1 drained again"
if [ "$BREAK" != nosloppy ]; then
	for i in 1 2 3; do ns d$i sysctl -qw net.ipv4.vs.sloppy_tcp=1; done
fi
# A handshake is 2 packets through the director, under the default
# threshold (3 50); but a starved emulated VM can retransmit a SYN, and a
# third packet gets the entry copied (CI saw 2 of 18). Raise the threshold
# so the phase tests what it names: flows the sync daemon never copied.
for i in 1 2 3; do ns d$i sysctl -qw net.ipv4.vs.sync_threshold="40 50"; done
if ! open_long 18 no; then
	bad "e: 18 handshake-only connections open" "$WHY"
	report
fi
locate_long
on_d1=$(homed_on 1)
check "e: d1 scheduled some of them ($on_d1 of 18; d2 $(homed_on 2), d3 $(homed_on 3)), each located" \
	eval "[ $on_d1 -gt 0 ] && [ $(homed_on '?') = 0 ]"
sleep 2.5 # the sync daemon sends what it has at least every 2 s
check "e: the sync daemon copied none of them (sync_threshold 40 50)" \
	[ "$(copied_count)" = 0 ]
check "e: d1 told to stop" stop_director 1
check "e: the router dropped d1 from the ECMP route" wait_for 20 hops_are 198.51.100.12 198.51.100.13
exchange "e: handshake-only connections answer after d1's drain, from the real server d1 chose" moved
moved=$(moved_count)
check "e: $moved of them now run through a director that did not schedule them (d1's $on_d1 and any the rehash moved)" \
	[ "$moved" -ge "$on_d1" ]
check "e: d1 stopped" stopped
start_director 1
check "e: the router has d1 back" wait_for 60 hops_are $ALL
exchange "e: they still answer after d1 returned (flows hashed back to it)" back
close_long
report
