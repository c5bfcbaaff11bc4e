#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/vm/resolvers boots it): keepalived-rs -C
# ($KALRS) with real servers named by DNS, a real dnsmasq whose records the
# timeline changes, and the real kernel table read with `ipvsadm -Sn`.
# Each step waits (at most WAIT s) for the table's real servers to be what
# it expects, prints "ok NAME" or "FAIL NAME" with the table, and at the
# end "N passed, N failed" then DONE.
set -u
BIN=${KALRS:?KALRS=path of keepalived-rs}
WAIT=${WAIT:-6}
D=/rs
die() { echo "scenario: $*" >&2; echo DONE; exit 1; }
[ -x "$BIN" ] || die "no keepalived-rs at $BIN"
command -v dnsmasq >/dev/null || die "no dnsmasq in the VM (run-in-vm --bin /usr/sbin/dnsmasq)"
mkdir -p $D || die "mkdir"
cp /payload/resolvers.conf $D/ || die "copy"
ip link set lo up
ip addr add 198.51.100.53/32 dev lo || die "address"
modprobe ip_vs 2>/dev/null
ipvsadm -C || die "no IPVS in this kernel"

hosts() { printf '%s web.example.internal\n' "$@" >$D/hosts; }
# The SRV targets' addresses live in the same hosts file as web's.
srv_hosts() { printf '198.51.100.31 one.example.internal\n198.51.100.32 two.example.internal\n' >>$D/hosts; }
DNSMASQ=
dns_up() {
	dnsmasq -k --conf-file=/dev/null --port=53 --listen-address=198.51.100.53 \
		--bind-interfaces --no-resolv --no-hosts --addn-hosts=$D/hosts \
		--local=/example.internal/ --local-ttl=5 \
		--srv-host=_http._tcp.example.internal,one.example.internal,8080,0,10 \
		--srv-host=_http._tcp.example.internal,two.example.internal,8081,0,20 \
		--user=root --pid-file=$D/dnsmasq.pid >$D/dnsmasq.log 2>&1 &
	DNSMASQ=$!
	for _ in $(seq 50); do
		ss -Hlun 'sport = :53' | grep -q . && return 0
		sleep 0.1
	done
	die "dnsmasq does not listen"
}
dns_down() { kill "$DNSMASQ"; DNSMASQ=; }
dns_reload() { kill -HUP "$DNSMASQ"; }

table() { ipvsadm -Sn | grep -- ' -r ' | awk '{print $5, $NF}' | sort | tr '\n' ' '; }
PASS=0 FAIL=0
expect() { # NAME WANT: wait until the real servers are WANT
	local name=$1 want=$2 got
	for _ in $(seq $((WAIT * 10))); do
		got=$(table)
		[ "$got" = "$want" ] && { echo "ok $name"; PASS=$((PASS + 1)); return; }
		sleep 0.1
	done
	echo "FAIL $name: want [$want] got [$got]"
	FAIL=$((FAIL + 1))
}
steady() { # NAME SECS: the table must not change for SECS
	local name=$1 before now
	before=$(table)
	for _ in $(seq $(($2 * 10))); do
		now=$(table)
		[ "$now" = "$before" ] || { echo "FAIL $name: [$before] became [$now]"; FAIL=$((FAIL + 1)); return; }
		sleep 0.1
	done
	echo "ok $name"
	PASS=$((PASS + 1))
}

SRV="198.51.100.31:8080 10 198.51.100.32:8081 20"
hosts 198.51.100.21
srv_hosts
dns_up
"$BIN" -C -n -l -D -f $D/resolvers.conf --control-socket=$D/ctl -p $D/k.pid -c $D/c.pid >$D/daemon.log 2>&1 &
KA=$!
expect "start: one A, SRV with two targets (their ports and weights)" "198.51.100.21:80 1 $SRV "
hosts 198.51.100.22
srv_hosts
dns_reload
expect "address change" "198.51.100.22:80 1 $SRV "
hosts 198.51.100.22 198.51.100.23
srv_hosts
dns_reload
expect "one A added" "198.51.100.22:80 1 198.51.100.23:80 1 $SRV "
hosts 198.51.100.23
srv_hosts
dns_reload
expect "one A removed" "198.51.100.23:80 1 $SRV "
echo "-- dns down" >&2
dns_down
steady "DNS server down: nothing changes" 4
# A reload while DNS is down, with one more name (so every lookup task
# restarts): the names kept keep their addresses, the new one has none.
sed -i 's/^  real_server_name web.example.internal 80 {/  real_server_name new.example.internal 80 {\n    resolvers dns\n  }\n&/' $D/resolvers.conf
grep -q new.example.internal $D/resolvers.conf || die "cannot edit the configuration"
kill -HUP "$KA"
steady "reload during the outage: nothing changes" 3
echo "-- status" >&2
# The control socket answers within its own timeout; a loaded VM (TCG)
# may miss it once, so ask up to five times.
for _ in 1 2 3 4 5; do
	status=$(timeout 10 "$BIN" status --detail --json --control-socket=$D/ctl 2>&1) && break
	sleep 1
done
if echo "$status" | grep -q '"last_result": "timeout"' && echo "$status" | grep -q '"reloads_ok": 1'; then
	echo "ok status shows the timeouts and the reload"
	PASS=$((PASS + 1))
else
	echo "FAIL status shows no timeout or no reload: $status"
	FAIL=$((FAIL + 1))
fi
echo "-- nx" >&2
: >$D/hosts
srv_hosts
dns_up
expect "NXDOMAIN removes the name's real servers after hold nx" "$SRV "
stop_ka() {
	kill "$KA" 2>/dev/null
	for _ in $(seq 100); do
		kill -0 "$KA" 2>/dev/null || return 0
		sleep 0.1
	done
	die "keepalived-rs does not stop"
}
# Start-up with DNS unreachable: no real server until the first valid
# answer (init-addr none), then the names fill in.
echo "-- start without DNS" >&2
stop_ka
dns_down
ipvsadm -C
hosts 198.51.100.24
srv_hosts
"$BIN" -C -n -l -D -f $D/resolvers.conf --control-socket=$D/ctl -p $D/k.pid -c $D/c.pid >>$D/daemon.log 2>&1 &
KA=$!
sleep 1
expect "start with DNS down: no real server" ""
steady "start with DNS down: still none" 2
dns_up
expect "DNS back: the names fill in" "198.51.100.24:80 1 $SRV "
echo "-- stopping" >&2
stop_ka
kill "$DNSMASQ" 2>/dev/null
if [ "$FAIL" -ne 0 ]; then
	echo "--- daemon log"
	cat $D/daemon.log
	echo "--- dnsmasq log"
	cat $D/dnsmasq.log
fi
echo "$PASS passed, $FAIL failed"
echo DONE
