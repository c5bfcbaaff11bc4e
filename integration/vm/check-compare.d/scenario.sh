#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM, one boot per implementation (integration/vm/check-compare
# boots it): IMPL=ka runs real keepalived -C, IMPL=rs runs keepalived-rs -C
# ($KALRS), on /payload/cc/check.conf, against real servers inside the VM,
# and drives the same timeline for both. At each checkpoint it writes
# /payload/out/NN-NAME/{ipvs,notify,fifo,daemon,log}: `ipvsadm -Sn` sorted, the
# notify_up/notify_down/quorum_up/quorum_down calls and the lvs_notify_fifo
# lines since the previous checkpoint (sorted: the scripts run concurrently),
# whether the daemon still runs, and (log) the checker's log lines since the
# previous checkpoint, without timestamps, sorted. The host compares them.
# For keepalived-rs also status.json (`keepalived-rs status --detail --json`), which
# the host checks against the table.
#
# A checkpoint is taken once the action's effect has settled: wait for the
# observed state (table + notify + fifo) to differ from the state before the
# action (at most CHANGE_WAIT s: an implementation that does nothing must
# still be recorded; 20 s for the start), then for QUIET s without any
# change. Every action of
# this timeline changes something with keepalived, so keepalived's own
# timing (first check 1 s after start, retry after 1 s) fits in the window.
# When the host gave the reviewed result of the checkpoint ($SRC/expect/
# NN-NAME/, from keepalived.expected; for rs with the known differences
# applied), reaching exactly that state (table, notify and fifo lines, daemon
# running or not, checker log lines) and still holding it MATCH_QUIET s later
# ends the wait early: most of a QUIET window is spent waiting for nothing.
# It is only a wait: what is recorded is what the VM shows, and an
# implementation that never reaches the reviewed state gets the full wait
# above. A change later than MATCH_QUIET lands in the next checkpoint,
# whose target it then misses, so the host still sees it.
set -u
IMPL=${IMPL:?IMPL=ka or IMPL=rs}
CHANGE_WAIT=${CHANGE_WAIT:-8}
QUIET=${QUIET:-3}
MATCH_QUIET=${MATCH_QUIET:-1}
SRC=/payload/cc
OUT=/payload/out
CC=/cc

die() {
	echo "scenario: $*" >&2
	exit 1
}

case $IMPL in
ka) BIN=keepalived ;;
rs)
	BIN=${KALRS:?KALRS=path of keepalived-rs}
	[ -x "$BIN" ] || die "no keepalived-rs binary at $BIN"
	;;
*) die "IMPL must be ka or rs, not $IMPL" ;;
esac
command -v openssl >/dev/null || die "no openssl in the VM (run-in-vm --bin /usr/bin/openssl)"
mkdir -p "$OUT" "$CC/state" "$CC/www/21" "$CC/www/22" "$CC/www/31" || die "cannot create $CC"
cp "$SRC"/*.sh "$SRC"/*.conf "$SRC"/*.pem "$CC/" || die "cannot copy $SRC"
: >"$CC/notify.log"
chmod 666 "$CC/notify.log" # the scripts run as keepalived_script
: >"$CC/fifo.log"
mkfifo "$CC/lvs.fifo" || die "mkfifo"

ip link set lo up
for a in 11 12 13 14 15 21 22 31 41 51 52 59 61 71 72 81 91 95 96; do
	ip addr add "198.51.100.$a/32" dev lo || die "cannot add 198.51.100.$a"
done
ip addr add 2001:db8::91/128 dev lo || die "cannot add 2001:db8::91"
command -v dnsmasq >/dev/null || die "no dnsmasq in the VM (run-in-vm --bin /usr/sbin/dnsmasq)"
modprobe ip_vs 2>/dev/null
ipvsadm -C || die "no IPVS in this kernel"

# ---- real servers -----------------------------------------------------
declare -A SERVER
listening() { # PORT: wait (at most 5 s) until something listens on it
	for _ in $(seq 100); do
		ss -Hltn "sport = :$1" | grep -q . && return 0
		sleep 0.05
	done
	die "nothing listens on port $1"
}
tcp_up() { # PORT: accepts and closes (busybox nc forks per connection)
	busybox nc -ll -p "$1" -e /bin/true </dev/null >/dev/null 2>&1 &
	SERVER[$1]=$!
	listening "$1"
}
http_up() { # PORT NAME: serves /cc/www/NAME through http-serve.sh
	busybox nc -ll -p "$1" -e "$CC/http-serve.sh" "$2" </dev/null >/dev/null 2>&1 &
	SERVER[$1]=$!
	listening "$1"
}
tls_up() { # PORT: openssl s_server -WWW serving /cc/www/31
	(cd "$CC/www/31" && exec openssl s_server -quiet -accept "$1" -cert "$CC/cert.pem" \
		-key "$CC/key.pem" -WWW </dev/null >/dev/null 2>&1) &
	SERVER[$1]=$!
	listening "$1"
}
smtp_up() { # PORT: smtp-serve.sh per connection
	busybox nc -ll -p "$1" -e "$CC/smtp-serve.sh" </dev/null >/dev/null 2>&1 &
	SERVER[$1]=$!
	listening "$1"
}
# One dnsmasq answers DNS on 198.51.100.71 and .81, port 53 (A records for
# example.test only, nothing forwarded).
dns_up() {
	dnsmasq -k --conf-file=/dev/null --listen-address=198.51.100.71,198.51.100.81 \
		--bind-interfaces --port=53 --no-resolv --no-hosts --address=/example.test/192.0.2.99 \
		--user=root --group=root --pid-file= </dev/null >/dev/null 2>&1 &
	SERVER[53]=$!
	for _ in $(seq 100); do
		[ "$(ss -Hlun 'sport = :53' | wc -l)" -ge 2 ] && return 0
		sleep 0.05
	done
	die "dnsmasq does not listen"
}
dns_down() {
	kill "${SERVER[53]}" 2>/dev/null
	wait "${SERVER[53]}" 2>/dev/null
	for _ in $(seq 100); do
		ss -Hlun 'sport = :53' | grep -q . || return 0
		sleep 0.05
	done
	die "dnsmasq still listening"
}
# The DNS, UDP, SMTP and PING targets all go away, or all come back.
udp_family_down() {
	dns_down
	server_down 2525
	ip addr del 198.51.100.91/32 dev lo || die "cannot remove 198.51.100.91"
	ip addr del 2001:db8::91/128 dev lo || die "cannot remove 2001:db8::91"
}
udp_family_up() {
	dns_up
	smtp_up 2525
	ip addr add 198.51.100.91/32 dev lo || die "cannot add 198.51.100.91"
	ip addr add 2001:db8::91/128 dev lo || die "cannot add 2001:db8::91"
}
server_down() { # PORT: the listener is gone (connections are refused)
	kill "${SERVER[$1]}" 2>/dev/null
	wait "${SERVER[$1]}" 2>/dev/null
	for _ in $(seq 100); do
		ss -Hltn "sport = :$1" | grep -q . || return 0
		sleep 0.05
	done
	die "port $1 still listening"
}

printf 'page-ok' >"$CC/www/22/page"
printf 'ok' >"$CC/www/21/health"
printf 'tls-ok\n' >"$CC/www/31/index.html"
echo 0 >"$CC/state/misc41"
echo 0 >"$CC/state/tf1"
for p in 8011 8012 8014 8015 8051 8052 8059 8061; do tcp_up $p; done
http_up 8021 21
http_up 8022 22
tls_up 8031
smtp_up 2525
dns_up

# The fifo's lines, as the daemon writes them (it holds the fifo open
# read-write, so cat sees EOF only when the daemon is gone).
(while :; do cat "$CC/lvs.fifo"; done >>"$CC/fifo.log" 2>/dev/null) &

# ---- observation ----------------------------------------------------------
DPID=
# What an action may change. Not whether the daemon runs: at the start that
# changes at once, long before the daemon has programmed anything.
state() {
	ipvsadm -Sn 2>&1 | sort
	echo "--"
	cat "$CC/notify.log" "$CC/fifo.log"
}
now() { echo "${EPOCHREALTIME/./}"; } # microseconds
# at_target: the observed state is the one in $TARGET (the reviewed
# checkpoint): the table, the notify and fifo lines and the checker log
# lines since the last checkpoint, whether the daemon runs. Cheapest
# comparison first: it runs at every poll.
at_target() {
	[ -n "$TARGET" ] && [ -d "$TARGET" ] || return 1
	[ "$(ipvsadm -Sn 2>&1 | sort)" = "$(cat "$TARGET/ipvs")" ] || return 1
	[ "$(tail -n +$((NOTIFY_SEEN + 1)) "$CC/notify.log" | sort)" = "$(cat "$TARGET/notify")" ] || return 1
	[ "$(tail -n +$((FIFO_SEEN + 1)) "$CC/fifo.log" | sort)" = "$(cat "$TARGET/fifo")" ] || return 1
	local running=exited lines
	kill -0 "$DPID" 2>/dev/null && running=running
	[ "$running" = "$(cat "$TARGET/daemon")" ] || return 1
	lines=$(wc -l <"$OUT/daemon.log")
	[ "$(sed -n "$((LOG_SEEN + 1)),${lines}p" "$OUT/daemon.log" | checker_lines)" = "$(cat "$TARGET/log")" ]
}
# held_target: at the target now and still MATCH_QUIET s later.
held_target() {
	at_target || return 1
	sleep "$MATCH_QUIET"
	at_target
}
# settle BASE [QUIET]: until the state differs from BASE (CHANGE_WAIT at
# most), then until it has not changed for QUIET seconds (60 s at most);
# or until it holds $TARGET.
settle() {
	local base=$1 quiet=$(((${2:-$QUIET}) * 1000000)) t0 last cur since
	t0=$(now)
	SETTLE_HOW=quiet
	cur=$(state)
	while [ "$cur" = "$base" ] && [ $(($(now) - t0)) -lt $((CHANGE_WAIT * 1000000)) ]; do
		sleep 0.2
		cur=$(state)
	done
	last=$cur
	since=$(now)
	while [ $(($(now) - since)) -lt "$quiet" ] && [ $(($(now) - t0)) -lt 60000000 ]; do
		if held_target; then
			SETTLE_HOW=target
			break
		fi
		sleep 0.2
		cur=$(state)
		if [ "$cur" != "$last" ]; then
			last=$cur
			since=$(now)
		fi
	done
	SETTLE_MS=$((($(now) - t0) / 1000))
}
N=0 NOTIFY_SEEN=0 FIFO_SEEN=0 LOG_SEEN=0
# The checker's log lines users grep (keepalived-checkers.md sections 4, 5,
# 7, 8, 10), without the timestamp either daemon puts first, sorted (checks
# of different servers run concurrently). Not PING's `send ICMP packet
# fail`: logged at every run, also while down, so how many fall in a
# checkpoint depends on how long it took to settle. A DNS_CHECK attempt
# short of the last retry says "read timeout" or "Connection refused"
# depending on whether the query met dnsmasq dying or already gone (a race
# with the scenario's kill, seen for both daemons): that reason is folded
# into one; the closing "after N retries" line keeps its own. Likewise an
# HTTP/SSL attempt that meets the TLS server being killed says "Connection
# failed", "Cannot send get request", "Read, no data received" or, when
# the dying server still accepted the connection, "SSL handshake/
# communication error", depending on how far the connection got (seen
# for both daemons; the last in keepalived's run of 2026-12-05): folded
# into one reason, one line per attempt still.
checker_lines() {
	sed -E -e 's/^[A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]{8} [0-9]{4}: //' \
		-e 's/^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z +[A-Z]+ //' |
		grep -E '^(TCP connection to |TCP_CHECK on service |HTTP status code |MD5 digest |Regex match |Remote Web server |HTTP_CHECK on service |SSL_CHECK |Misc check for |Adding service |Removing service |Enabling service |Disabling service |Gained quorum |Lost quorum |Starting with quorum |(Adding|Removing|Enabling|Disabling) sorry server |(Adding|Removing) alive servers |Changing weight |service .* no longer exist|Shutting down service |(\(inhibited\) )?Shutting down|Connection failed server |Error connecting server |Timeout |Read, no data|SSL handshake|Cannot send get request|Removing Virtual Server|Activating healthchecker |UDP connection to |UDP_CHECK on service |UDP check to |ICMP connection to |ICMP CHECK on service |DNS_CHECK |SMTP_CHECK |Remote SMTP server )' |
		sed -E -e 's/^(DNS_CHECK \([^)]*\)) (read timeout from socket|failed to read socket; errno 111 \(Connection refused\))$/\1 no answer (read timeout or refused)/'\
			-e 's/^(Connection failed|Cannot send get request to|Read, no data received from|SSL handshake\/communication error connecting to) server (.*)$/Connection failed, send failed or nothing read: server \2/' |
		sort
}
record() { # NAME: one checkpoint
	N=$((N + 1))
	local dir
	dir=$OUT/$(printf %02d "$N")-$1
	mkdir -p "$dir"
	ipvsadm -Sn 2>&1 | sort >"$dir/ipvs"
	tail -n +$((NOTIFY_SEEN + 1)) "$CC/notify.log" | sort >"$dir/notify"
	NOTIFY_SEEN=$((NOTIFY_SEEN + $(wc -l <"$dir/notify")))
	tail -n +$((FIFO_SEEN + 1)) "$CC/fifo.log" | sort >"$dir/fifo"
	FIFO_SEEN=$((FIFO_SEEN + $(wc -l <"$dir/fifo")))
	if kill -0 "$DPID" 2>/dev/null; then echo running; else echo exited; fi >"$dir/daemon"
	# What keepalived-rs says of its real servers, right after the table:
	# the host checks that the two agree (status-vs-table.py).
	if [ "$IMPL" = rs ] && [ "$(cat "$dir/daemon")" = running ]; then
		# A child busy on the VM's one slow vCPU may miss the status's 2 s:
		# asked again, at most twice, before the host sees no answer.
		for _ in 1 2 3; do
			"$BIN" status --detail --json --control-socket "$CC/daemon.sock" >"$dir/status.json" 2>&1
			grep -q '"virtual_servers"' "$dir/status.json" && break
			sleep 1
		done
	fi
	local lines
	lines=$(wc -l <"$OUT/daemon.log")
	sed -n "$((LOG_SEEN + 1)),${lines}p" "$OUT/daemon.log" | checker_lines >"$dir/log"
	LOG_SEEN=$lines
	echo "checkpoint $(basename "$dir"): settled ($SETTLE_HOW) after ${SETTLE_MS} ms," \
		"$(wc -l <"$dir/ipvs") table lines, $(wc -l <"$dir/notify") notify, $(wc -l <"$dir/fifo") fifo"
}
# step NAME QUIET COMMAND...: run the action, wait for it to settle, record.
# NO_TARGET=1: wait the whole QUIET window whatever the state.
step() {
	local name=$1 quiet=$2 base
	shift 2
	TARGET=
	[ "${NO_TARGET:-0}" = 1 ] || TARGET=$SRC/expect/$(printf %02d $((N + 1)))-$name
	base=$(state)
	echo "$(date +%T) +$((($(now) - T0) / 1000)) ms: $name"
	"$@"
	settle "$base" "$quiet"
	record "$name"
}

# ---- the timeline -----------------------------------------------------------
T0=$(now)
cp "$CC/check.conf" "$CC/keepalived.conf"
start_daemon() {
	"$BIN" -C -n -l -D -f "$CC/keepalived.conf" -p "$CC/daemon.pid" -c "$CC/checkers.pid" \
		>"$OUT/daemon.log" 2>&1 &
	DPID=$!
}
write() { # FILE TEXT
	printf '%s' "$2" >"$1"
}
reload() {
	cp "$CC/check-reload.conf" "$CC/keepalived.conf"
	kill -HUP "$DPID"
}
stop_daemon() {
	kill -TERM "$DPID" 2>/dev/null
	for _ in $(seq 200); do
		kill -0 "$DPID" 2>/dev/null || break
		sleep 0.05
	done
	wait "$DPID" 2>/dev/null
}
# A debug build under TCG on a busy host takes seconds to program its table.
CHANGE_WAIT=20 step start "$QUIET" start_daemon
step tcp-port-closed "$QUIET" server_down 8011
step tcp-port-back "$QUIET" tcp_up 8011
step http-status-500 "$QUIET" write "$CC/www/21/health.status" "500 Internal Server Error"
step http-status-200 "$QUIET" rm "$CC/www/21/health.status"
step http-digest-mismatch "$QUIET" write "$CC/www/22/page" "page-bad"
step http-digest-match "$QUIET" write "$CC/www/22/page" "page-ok"
step tls-server-gone "$QUIET" server_down 8031
step tls-server-back "$QUIET" tls_up 8031
step misc-exit-7-weight-5 "$QUIET" write "$CC/state/misc41" 7
step misc-exit-1-down "$QUIET" write "$CC/state/misc41" 1
step misc-exit-0-up "$QUIET" write "$CC/state/misc41" 0
step quorum-lost-sorry-in "$QUIET" server_down 8051
step quorum-back-sorry-out "$QUIET" tcp_up 8051
step inhibit-weight-0 "$QUIET" server_down 8061
step inhibit-weight-back "$QUIET" tcp_up 8061
step tcp-down-before-reload "$QUIET" server_down 8011
# The reload's effects come in two waves: the config diff at once, the
# changed checker's failure ~2 s later; a longer quiet window takes both.
step reload-one-checker-changed $((QUIET + 2)) reload
step tcp-back-after-reload "$QUIET" tcp_up 8011
# A probe in flight when its server dies gets no refusal: it fails by
# connect_timeout (5 s), past the default quiet window; wait that out.
step dns-udp-smtp-ping-targets-gone $((QUIET + 4)) udp_family_down
step dns-udp-smtp-ping-targets-back "$QUIET" udp_family_up
step track-file-3 "$QUIET" write "$CC/state/tf1" 3
step track-file-0 "$QUIET" write "$CC/state/tf1" 0
# Nothing comes after the stop to catch a late change: the full window.
NO_TARGET=1 step stop 2 stop_daemon
echo "scenario $IMPL: $N checkpoints in $((($(now) - T0) / 1000)) ms"
