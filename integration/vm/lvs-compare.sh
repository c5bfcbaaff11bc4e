#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/vm/run-in-vm --payload REPO): the IPVS
# proofs of the checker child against the real kernel, in one boot.
#
#  corpus   for every integration/lvs-corpus/*.conf: real keepalived -C,
#           `ipvsadm -Sn`, stop; keepalived-rs -C, `ipvsadm -Sn`, stop;
#           the two tables must be identical (and ours leaves nothing).
#  reload   weight change, real server removed, added, virtual server
#           removed: the table follows the config and the number of
#           netlink ops equals the size of the change.
#  adopt    restart with -I: existing entries are adopted (0 ops).
#  refuse   a service the kernel refuses (scheduler it lacks) is logged
#           with its name and the other services are still programmed;
#           the next reload retries it.
#  syncd    lvs_sync_daemon: the kernel daemons while BACKUP, MASTER, after
#           a reload, after a takeover by a peer and after the stop are
#           the same as real keepalived's; with no instance named, the
#           checker's master+backup daemons are too.
#
# Prints PASS/FAIL lines and "N passed, N failed"; exits 1 on any failure.
set -u
cd "${PAYLOAD:-/payload}" || exit 126
KALRS=${KALRS:-$PWD/target/debug/keepalived-rs}
WORK=$(mktemp -d)
pass=0 fail=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

[ -x "$KALRS" ] || { echo "FAIL no keepalived-rs binary at $KALRS"; exit 1; }
modprobe ip_vs 2>/dev/null
ipvsadm -C || { echo "FAIL no IPVS in this kernel"; exit 1; }

# stable CMD [PATTERN]: CMD's output once it holds PATTERN (any non-empty
# output without one) and three reads 100 ms apart agree (at most ~6 s).
stable() {
	local prev="" cur same=0 i
	for i in $(seq 60); do
		cur=$($1 2>&1)
		if [ -n "$cur" ] && printf '%s\n' "$cur" | grep -q -- "${2:-}" && [ "$cur" = "$prev" ]; then
			same=$((same + 1))
			[ $same -ge 2 ] && break
		else
			same=0
		fi
		prev=$cur
		sleep 0.1
	done
	printf '%s\n' "$cur"
}
stable_table() { stable "ipvsadm -Sn"; }

# start IMPL CONF TAG [extra flags]: daemon in the background, pid in $DPID
start() {
	local impl=$1 conf=$2 tag=$3
	shift 3
	local bin=keepalived
	[ "$impl" = rs ] && bin=$KALRS
	"$bin" -C -n -l -D -f "$conf" -p "$WORK/$tag.pid" -c "$WORK/$tag.c.pid" "$@" \
		>"$WORK/$tag.log" 2>&1 &
	DPID=$!
}

stop() {
	local i
	kill -TERM "$DPID" 2>/dev/null
	for i in $(seq 100); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$DPID" 2>/dev/null
}

wait_log() { # FILE TEXT [COUNT]
	local i n
	for i in $(seq 100); do
		n=$(grep -c -- "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- corpus -------------------------------------------------------------
for conf in integration/lvs-corpus/*.conf; do
	name=$(basename "$conf" .conf)
	ipvsadm -C
	start ka "$conf" "ka-$name"
	ka=$(stable_table)
	stop
	ipvsadm -C
	start rs "$conf" "rs-$name"
	wait_log "$WORK/rs-$name.log" "applied generation 1" || true
	rs=$(stable_table)
	stop
	left=$(ipvsadm -Sn)
	if [ "$ka" = "$rs" ] && [ -n "$rs" ]; then
		ok "corpus $name: same table as keepalived ($(printf '%s\n' "$rs" | wc -l) lines)"
	else
		bad "corpus $name: tables differ"
		diff <(printf '%s\n' "$ka") <(printf '%s\n' "$rs") | sed 's/^/    /'
		tail -5 "$WORK/rs-$name.log" | sed 's/^/    rs: /'
	fi
	if [ -f "integration/lvs-corpus/$name.expected" ]; then
		if [ "$rs" = "$(cat "integration/lvs-corpus/$name.expected")" ]; then
			ok "corpus $name: matches the reviewed .expected"
		else
			bad "corpus $name: differs from the reviewed .expected"
			diff "integration/lvs-corpus/$name.expected" <(printf '%s\n' "$rs") | sed 's/^/    /'
		fi
	fi
	[ -z "$left" ] && ok "corpus $name: stop leaves nothing" ||
		bad "corpus $name: stop left $(printf '%s\n' "$left" | wc -l) lines"
done

# ---- reload by diff -----------------------------------------------------
ops_of() { # LOG GENERATION -> the op count our summary reports
	grep "applied generation $2" "$1" | tail -1 | sed -n 's/.* \([0-9]*\) IPVS ops.*/\1/p'
}
cfg() { # real servers of VS 192.0.2.10:80 as "IP:WEIGHT ..." + optional 2nd VS
	{
		echo "virtual_server 192.0.2.10 80 {"
		echo "  lb_algo wrr"
		echo "  lb_kind NAT"
		echo "  protocol TCP"
		for rs in $1; do
			echo "  real_server ${rs%%:*} 8080 { weight ${rs##*:} }"
		done
		echo "}"
		if [ -n "${2:-}" ]; then
			echo "virtual_server 192.0.2.11 443 {"
			echo "  lb_algo rr"
			echo "  protocol TCP"
			echo "  real_server 198.51.100.9 443 { weight 1 }"
			echo "}"
		fi
	} >"$WORK/reload.conf"
}
ipvsadm -C
cfg "198.51.100.1:1 198.51.100.2:1 198.51.100.3:1" second
start rs "$WORK/reload.conf" reload
wait_log "$WORK/reload.log" "applied generation 1"
gen=1
step() { # DESC EXPECTED_OPS RS_SPEC [second]
	local desc=$1 want=$2
	cfg "$3" "${4:-}"
	gen=$((gen + 1))
	kill -HUP "$DPID"
	if ! wait_log "$WORK/reload.log" "applied generation $gen"; then
		bad "reload $desc: generation $gen never applied"
		return
	fi
	local got table
	got=$(ops_of "$WORK/reload.log" $gen)
	table=$(ipvsadm -Sn)
	[ "$got" = "$want" ] && ok "reload $desc: $got netlink op(s)" ||
		bad "reload $desc: $got ops, expected $want"
	local rs
	for rs in $3; do
		printf '%s\n' "$table" | grep -q -- "-r ${rs%%:*}:8080 -m -w ${rs##*:}$" ||
			{ bad "reload $desc: ${rs} missing from the table"; return; }
	done
	local n
	n=$(printf '%s\n' "$table" | grep -c -- "-t 192.0.2.10:80 -r")
	[ "$n" = "$(echo $3 | wc -w)" ] && ok "reload $desc: table matches the config" ||
		bad "reload $desc: $n real servers in the kernel"
}
step "weight change" 1 "198.51.100.1:1 198.51.100.2:5 198.51.100.3:1" second
step "real server removed" 1 "198.51.100.1:1 198.51.100.2:5" second
step "real server added" 1 "198.51.100.1:1 198.51.100.2:5 198.51.100.4:2" second
step "virtual server removed" 1 "198.51.100.1:1 198.51.100.2:5 198.51.100.4:2"
ipvsadm -Sn | grep -q "192.0.2.11:443" && bad "reload: removed virtual server still there" ||
	ok "reload: removed virtual server is gone with its real servers"
step "nothing changed" 0 "198.51.100.1:1 198.51.100.2:5 198.51.100.4:2"
stop

# ---- restart with -I: adopt ----------------------------------------------
ipvsadm -C
start rs "$WORK/reload.conf" adopt1 -I
wait_log "$WORK/adopt1.log" "applied generation 1"
before=$(ipvsadm -Sn)
stop
[ "$(ipvsadm -Sn)" = "$before" ] && ok "adopt: -I leaves the table on stop" ||
	bad "adopt: -I stop changed the table"
start rs "$WORK/reload.conf" adopt2 -I
wait_log "$WORK/adopt2.log" "applied generation 1"
got=$(ops_of "$WORK/adopt2.log" 1)
[ "$got" = 0 ] && ok "adopt: restart with -I rebuilds nothing (0 ops)" ||
	bad "adopt: restart with -I sent $got ops"
[ "$(ipvsadm -Sn)" = "$before" ] && ok "adopt: table unchanged" || bad "adopt: table changed"
stop
[ -z "$(ipvsadm -Sn)" ] || ipvsadm -C

# ---- a refusal does not stop the others -----------------------------------
cat >"$WORK/refuse.conf" <<'EOF'
virtual_server 192.0.2.20 53 {
  lb_algo twos
  protocol UDP
  real_server 198.51.100.20 53 { weight 1 }
}
virtual_server 192.0.2.21 80 {
  lb_algo rr
  protocol TCP
  real_server 198.51.100.21 80 { weight 1 }
}
EOF
if ipvsadm -A -u 192.0.2.99:1 -s twos 2>/dev/null; then
	ipvsadm -C
	echo "SKIP-REASON this kernel has twos; cannot provoke a refusal with it"
	bad "refuse: kernel unexpectedly has the twos scheduler"
else
	start rs "$WORK/refuse.conf" refuse
	wait_log "$WORK/refuse.log" "applied generation 1"
	grep -q "192.0.2.20" "$WORK/refuse.log" && grep "IPVS" "$WORK/refuse.log" | grep -q "192.0.2.20" &&
		ok "refuse: the refused service is named in the log" ||
		bad "refuse: no log line names 192.0.2.20"
	ipvsadm -Sn | grep -q -- "-t 192.0.2.21:80 -r 198.51.100.21:80" &&
		ok "refuse: the other service is programmed" || bad "refuse: the other service is missing"
	kill -0 "$DPID" 2>/dev/null && ok "refuse: the checker keeps running" ||
		bad "refuse: the checker died"
	# The failure made the belief unsure: the reload (same config) plans
	# against a fresh dump, so it retries the refused service and its
	# real server.
	kill -HUP "$DPID"
	wait_log "$WORK/refuse.log" "applied generation 2"
	got=$(ops_of "$WORK/refuse.log" 2)
	[ "$got" = 2 ] && ok "refuse: a reload retries what failed ($got ops)" ||
		bad "refuse: a reload sent $got ops, expected 2 (the refused service and its real server)"
	stop
fi

# ---- the whole daemon: three processes, respawn, stop -------------------
cat >"$WORK/both.conf" <<'EOF2'
vrrp_instance VI_1 {
  interface lo
  virtual_router_id 51
  advert_int 0.1
  version 3
  virtual_ipaddress { 192.0.2.200/32 }
}
virtual_server 192.0.2.30 80 {
  lb_algo rr
  protocol TCP
  real_server 198.51.100.30 80 { weight 1 }
}
EOF2
ip link set lo up
ipvsadm -C
KALRS_ONLY="$KALRS"
"$KALRS_ONLY" -n -l -D -f "$WORK/both.conf" -p "$WORK/d.pid" -r "$WORK/d.vrrp.pid" \
	-c "$WORK/d.check.pid" >"$WORK/daemon.log" 2>&1 &
DPID=$!
wait_log "$WORK/daemon.log" "All child processes are up"
kids=$(ps -o comm= --ppid "$DPID" 2>/dev/null | sort | tr '\n' ' ')
[ -z "$kids" ] && kids=$(for p in /proc/[0-9]*; do
	[ "$(awk '{print $4}' "$p/stat" 2>/dev/null)" = "$DPID" ] && cat "$p/comm"
done | sort | tr '\n' ' ')
[ "$kids" = "kalrs_check kalrs_vrrp " ] && ok "daemon: three processes (parent, $kids)" ||
	bad "daemon: children are '$kids'"
[ "$(cat "$WORK/d.pid" 2>/dev/null)" = "$DPID" ] && ok "daemon: parent pid file" || bad "daemon: parent pid file"
ipvsadm -Sn | grep -q "192.0.2.30:80 -r 198.51.100.30:80" && ok "daemon: checker programmed IPVS" ||
	bad "daemon: IPVS table is missing the service"
old=$(cat "$WORK/d.check.pid")
kill -9 "$old"
for i in $(seq 20); do
	new=$(cat "$WORK/d.check.pid" 2>/dev/null)
	[ -n "$new" ] && [ "$new" != "$old" ] && kill -0 "$new" 2>/dev/null && break
	sleep 0.05
done
[ -n "$new" ] && [ "$new" != "$old" ] && ok "daemon: killed checker back within 1 s (pid $old -> $new)" ||
	bad "daemon: checker not respawned within 1 s"
wait_log "$WORK/daemon.log" "applied generation 1" 3
ipvsadm -Sn | grep -q "192.0.2.30:80 -r 198.51.100.30:80" && ok "daemon: respawned checker adopted the table" ||
	bad "daemon: table lost after the respawn"
kill -TERM "$DPID"
t0=${EPOCHREALTIME/./}
for i in $(seq 100); do kill -0 "$DPID" 2>/dev/null || break; sleep 0.05; done
wait "$DPID" 2>/dev/null
ms=$(((${EPOCHREALTIME/./} - t0) / 1000))
kill -0 "$DPID" 2>/dev/null && bad "daemon: still running after TERM" ||
	ok "daemon: TERM stops everything in $ms ms (child_wait_time 5 s)"
[ -z "$(ipvsadm -Sn)" ] && ok "daemon: stop removed what it owned" || bad "daemon: stop left IPVS entries"
[ ! -e "$WORK/d.pid" ] && [ ! -e "$WORK/d.check.pid" ] && [ ! -e "$WORK/d.vrrp.pid" ] &&
	ok "daemon: pid files removed" || bad "daemon: pid files left behind"
ip -br addr show dev lo | grep -q 192.0.2.200 && bad "daemon: VIP left on lo" || ok "daemon: VIP released"

# ---- lvs_sync_daemon follows the tracked VRRP instance -------------------
# Real keepalived, then us, with the same config: a lone instance on a
# veth link (BACKUP for 3 adverts, then MASTER; a dummy link has no
# multicast, keepalived disables the instance there); `ipvsadm -L --daemon`
# as backup, as master, after a reload that changes the settings, after
# a peer with a higher priority (real keepalived on the other end of the
# veth) took over, and after the stop must be the same for both.
modprobe veth 2>/dev/null
ip link del sd0 2>/dev/null
ip netns del sdpeer 2>/dev/null
# The peer's end in a namespace of its own: an advert from one of our own
# addresses would be dropped as a martian.
ip netns add sdpeer && ip link add sd0 type veth peer name sd1 netns sdpeer &&
	ip link set sd0 up && ip addr add 192.0.2.250/24 dev sd0 &&
	ip -n sdpeer link set sd1 up && ip -n sdpeer addr add 192.0.2.249/24 dev sd1 ||
	bad "syncd: cannot create the veth link"
cat >"$WORK/syncd-peer.conf" <<'EOF3'
vrrp_instance VI_P {
  state BACKUP
  interface sd1
  virtual_router_id 61
  priority 200
  advert_int 2
  virtual_ipaddress { 192.0.2.251/32 }
}
EOF3
daemons() { ipvsadm -L --daemon 2>&1; }
# The daemon list once it holds PATTERN and three reads agree.
stable_daemons() { stable "ipvsadm -L --daemon" "$1"; }
syncd_conf() { # LVS_SYNC_DAEMON_LINE
	cat >"$WORK/syncd.conf" <<EOF3
global_defs {
  $1
}
vrrp_instance VI_S {
  state BACKUP
  interface sd0
  virtual_router_id 61
  priority 100
  advert_int 2
  virtual_ipaddress { 192.0.2.251/32 }
}
EOF3
}
# run_syncd IMPL TAG LINE RELOAD_LINE SYNCID: sets S_BACKUP S_MASTER S_RELOAD
# S_LEAVE S_AFTER
run_syncd() {
	local bin=keepalived
	[ "$1" = rs ] && bin=$KALRS
	ipvsadm --stop-daemon master 2>/dev/null
	ipvsadm --stop-daemon backup 2>/dev/null
	syncd_conf "$3"
	"$bin" -P -n -l -D -f "$WORK/syncd.conf" -p "$WORK/$2.pid" -r "$WORK/$2.vrrp.pid" \
		>"$WORK/$2.log" 2>&1 &
	DPID=$!
	wait_log "$WORK/$2.log" "Entering BACKUP STATE"
	S_BACKUP=$(stable_daemons "sync daemon")
	wait_log "$WORK/$2.log" "Entering MASTER STATE"
	S_MASTER=$(stable_daemons "master sync daemon")
	syncd_conf "$4"
	kill -HUP "$DPID"
	S_RELOAD=$(stable_daemons "syncid=$5,")
	ip netns exec sdpeer keepalived -P -n -l -f "$WORK/syncd-peer.conf" -p "$WORK/$2.peer.pid" \
		-r "$WORK/$2.peer.vrrp.pid" >"$WORK/$2.peer.log" 2>&1 &
	local peer=$!
	wait_log "$WORK/$2.log" "Entering BACKUP STATE" 2 || wait_log "$WORK/$2.log" "Entering BACKUP STATE" 2
	S_LEAVE=$(stable_daemons "backup sync daemon")
	stop
	kill -TERM "$peer"
	wait "$peer" 2>/dev/null
	sleep 0.5
	S_AFTER=$(daemons)
}
syncd_case() { # NAME LINE RELOAD_LINE RELOADED_SYNCID
	local name=$1 phase ka rs
	run_syncd ka "ka-syncd-$name" "$2" "$3" "$4"
	local kb=$S_BACKUP km=$S_MASTER kr=$S_RELOAD kl=$S_LEAVE ks=$S_AFTER
	run_syncd rs "rs-syncd-$name" "$2" "$3" "$4"
	for phase in backup master reload leave after; do
		case $phase in
		backup) ka=$kb rs=$S_BACKUP ;;
		master) ka=$km rs=$S_MASTER ;;
		reload) ka=$kr rs=$S_RELOAD ;;
		leave) ka=$kl rs=$S_LEAVE ;;
		after) ka=$ks rs=$S_AFTER ;;
		esac
		if [ "$ka" = "$rs" ]; then
			ok "syncd $name $phase: same daemons as keepalived: $(printf '%s' "${rs:-none}" | tr '\n' ' ')"
		else
			bad "syncd $name $phase: daemons differ"
			printf '%s\n' "$ka" | sed 's/^/    keepalived:    /'
			printf '%s\n' "$rs" | sed 's/^/    keepalived-rs: /'
			tail -5 "$WORK/rs-syncd-$name.log" | sed 's/^/    rs: /'
		fi
	done
	# What each phase must show, whatever keepalived did.
	printf '%s\n' "$S_BACKUP" | grep -q "^backup sync daemon" &&
		! printf '%s\n' "$S_BACKUP" | grep -q "^master" &&
		ok "syncd $name: backup daemon only while BACKUP" || bad "syncd $name: while BACKUP: $S_BACKUP"
	printf '%s\n' "$S_MASTER" | grep -q "^master sync daemon" &&
		! printf '%s\n' "$S_MASTER" | grep -q "^backup" &&
		ok "syncd $name: master daemon only while MASTER" || bad "syncd $name: while MASTER: $S_MASTER"
	printf '%s\n' "$S_LEAVE" | grep -q "^backup sync daemon.*syncid=$4," &&
		! printf '%s\n' "$S_LEAVE" | grep -q "^master" &&
		ok "syncd $name: back to backup when a peer takes over" ||
		bad "syncd $name: after the takeover: $S_LEAVE"
	[ -z "$S_AFTER" ] && ok "syncd $name: stop leaves no daemon" || bad "syncd $name: stop left: $S_AFTER"
}
syncd_case positional "lvs_sync_daemon sd0 VI_S 7" "lvs_sync_daemon sd0 VI_S id 8" 8
syncd_case options \
	"lvs_sync_daemon sd0 inst VI_S maxlen 1200 port 8850 ttl 3 group 224.0.0.83" \
	"lvs_sync_daemon sd0 inst VI_S id 9 maxlen 1200 port 8850 ttl 3 group 224.0.0.83" 9
# lvs_sync_daemon naming no instance: the checker runs a master and a
# backup daemon together (syncid 0 unless given), and stops them on exit.
for line in "lvs_sync_daemon sd0" "lvs_sync_daemon sd0 id 5 maxlen 1300"; do
	cat >"$WORK/syncd-check.conf" <<EOF4
global_defs {
  $line
}
virtual_server 192.0.2.40 80 {
  lb_algo rr
  protocol TCP
  real_server 198.51.100.40 80 { weight 1 }
}
EOF4
	for impl in ka rs; do
		ipvsadm -C
		start "$impl" "$WORK/syncd-check.conf" "syncd-check-$impl"
		got=$(stable_daemons "backup sync daemon")
		stop
		eval "SC_$impl=\$got"
		eval "SC_AFTER_$impl=\$(daemons)"
	done
	if [ "$SC_ka" = "$SC_rs" ] && printf '%s\n' "$SC_rs" | grep -q "master sync daemon" &&
		printf '%s\n' "$SC_rs" | grep -q "backup sync daemon"; then
		ok "syncd checker '$line': master and backup, same as keepalived"
	else
		bad "syncd checker '$line': daemons differ"
		printf 'ka: %s\nrs: %s\n' "$SC_ka" "$SC_rs" | sed 's/^/    /'
		tail -5 "$WORK/syncd-check-rs.log" | sed 's/^/    rs: /'
	fi
	[ -z "$SC_AFTER_rs" ] && [ "$SC_AFTER_ka" = "$SC_AFTER_rs" ] &&
		ok "syncd checker '$line': stop leaves no daemon" ||
		bad "syncd checker '$line': after stop: ka '$SC_AFTER_ka' rs '$SC_AFTER_rs'"
done
ipvsadm -C
ip link del sd0 2>/dev/null
ip netns del sdpeer 2>/dev/null

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
