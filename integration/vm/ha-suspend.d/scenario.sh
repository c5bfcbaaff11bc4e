#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/vm/ha-suspend-compare boots it, one boot
# per implementation): ha_suspend on a real kernel. The virtual server's
# address comes and goes on lo as a VRRP instance would add and remove it;
# at each step print the checker's healthchecker lines since the previous
# step (timestamps and prefixes cut) and whether the backend was probed.
set -u
IMPL=${IMPL:?IMPL=ka or IMPL=rs}
cd /payload || exit 126
case $IMPL in
ka) BIN=keepalived ;;
rs) BIN=${KALRS:?} ;;
*) echo "FAIL IMPL"; exit 1 ;;
esac
ip link set lo up
ip addr add 198.51.100.1/32 dev lo
modprobe ip_vs
ipvsadm -C || { echo "FAIL no IPVS"; exit 1; }
./tcp_sink 198.51.100.1 20000 1 /tmp/sink.count 2>/tmp/sink.err &
sleep 1
cat >/tmp/ha.conf <<'CONF'
virtual_server 192.0.2.10 80 {
    lb_algo rr
    lb_kind NAT
    protocol TCP
    ha_suspend
    delay_loop 1
    real_server 198.51.100.1 20000 {
        TCP_CHECK {
            connect_timeout 1
            warmup 0
        }
    }
}
CONF
"$BIN" -C -n -l -D -f /tmp/ha.conf -p /tmp/ka.pid -c /tmp/kc.pid >/tmp/daemon.log 2>&1 &
PID=$!
seen=0
count() { cat /tmp/sink.count 2>/dev/null || echo 0; }
step() { # NAME: the new healthchecker lines and whether probes ran
	local n c
	# The sink writes its count every second: settle, then watch 3 s
	# (three delay_loops) for new probes.
	sleep 2
	c=$(count)
	sleep 3
	n=$(wc -l </tmp/daemon.log)
	echo "== $1"
	sed -n "$((seen + 1)),${n}p" /tmp/daemon.log |
		grep -o '\(Activating\|Deactivating\|Suspending\) healthchecker.*'
	seen=$n
	if [ "$(count)" -gt "$c" ]; then echo "probed: yes"; else echo "probed: no"; fi
	echo "table: $(ipvsadm -Sn | grep -c -- '-r 198.51.100.1')"
}
step start-address-absent
ip addr add 192.0.2.10/32 dev lo
step address-added
ip addr del 192.0.2.10/32 dev lo
step address-removed
ip addr add 192.0.2.10/32 dev lo
step address-back
kill -TERM $PID
wait $PID
echo DONE
