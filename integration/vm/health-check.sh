#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs INSIDE the VM (integration/vm/run-in-vm --payload REPO): the health
# checks of the checker child against real backends and the real kernel's
# IPVS, real keepalived 2.2.7 and keepalived-rs through the same timeline.
#
# Backends are busybox httpd processes on addresses of lo (198.51.100.1-2)
# and a MISC script that tests for a file. Timeline (each step waits until
# the table settles, then records `ipvsadm -Sn`):
#   up        all three real servers in
#   tcp-down  the TCP_CHECK backend killed: it leaves
#   tcp-up    restarted: it returns
#   http-404  the HTTP_GET backend answers 404: it leaves
#   http-ok   index restored: it returns
#   misc-down the MISC_CHECK file removed: it leaves
#   reload    SIGHUP with delay_loop edited while the TCP backend is down:
#             it stays out (health kept), the others stay in; the second
#             virtual server below is removed
#   back      the TCP backend restarted after the reload: it returns
# and on a second virtual server (quorum 2, sorry server, inhibit_on_failure)
# whose MISC_CHECK is misc_dynamic (exit status from a file):
#   dyn-weight  exit 7: the server's weight becomes 5 (one SET_DEST)
#   quorum-lost exit 1: the server goes to weight 0 (inhibit), quorum is
#               lost, the sorry server comes in, the pool goes to weight 0
#   quorum-back exit 0: configured weight, quorum regained, sorry out
# Each checkpoint's table must equal keepalived's; the notify_up/down
# script calls and the lvs_notify_fifo lines must be keepalived's too.
#
# Prints PASS/FAIL lines and "N passed, N failed"; exits 1 on any failure.
set -u
cd "${PAYLOAD:-/payload}" || exit 126
KALRS=${KALRS:-$PWD/target/debug/keepalived-rs}
WORK=$(mktemp -d)
# keepalived checks scripts as its script user: they must be reachable.
chmod 755 "$WORK"
pass=0 fail=0
ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

[ -x "$KALRS" ] || { echo "FAIL no keepalived-rs binary at $KALRS"; exit 1; }
modprobe ip_vs 2>/dev/null
ipvsadm -C || { echo "FAIL no IPVS in this kernel"; exit 1; }
ip link set lo up
ip addr add 198.51.100.1/32 dev lo
ip addr add 198.51.100.2/32 dev lo
ip addr add 198.51.100.5/32 dev lo

mkdir -p "$WORK/www1" "$WORK/www2" "$WORK/www5"
echo one >"$WORK/www1/index.html"
echo two >"$WORK/www2/index.html"

cat >"$WORK/notify.sh" <<EOF
#!/bin/sh
echo "\$*" >>"$WORK/notify.log"
EOF
chmod 755 "$WORK/notify.sh"
cat >"$WORK/misc.sh" <<EOF
#!/bin/sh
test -f "$WORK/misc-up"
EOF
chmod 755 "$WORK/misc.sh"
cat >"$WORK/dyn.sh" <<EOF
#!/bin/sh
exit \$(cat "$WORK/dyn")
EOF
chmod 755 "$WORK/dyn.sh"

# conf DELAY: the configuration, delay_loop DELAY
conf() {
	cat <<EOF
global_defs {
    lvs_notify_fifo $WORK/fifo
}
virtual_server 192.0.2.10 80 {
    delay_loop $1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.1 80 {
        notify_up "$WORK/notify.sh up tcp"
        notify_down "$WORK/notify.sh down tcp"
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
            warmup 0
        }
    }
    real_server 198.51.100.2 80 {
        notify_up "$WORK/notify.sh up http"
        notify_down "$WORK/notify.sh down http"
        HTTP_GET {
            url {
                path /index.html
                status_code 200
            }
            connect_timeout 1
            retry 1
            delay_before_retry 1
            warmup 0
        }
    }
    real_server 198.51.100.3 80 {
        notify_up "$WORK/notify.sh up misc"
        notify_down "$WORK/notify.sh down misc"
        MISC_CHECK {
            misc_path "$WORK/misc.sh"
            # The VM is slow: keepalived's default (delay_loop, 1 s) lets
            # a script time out now and then.
            misc_timeout 5
            retry 1
            delay_before_retry 1
            warmup 0
        }
    }
}
EOF
	[ -n "${2:-}" ] && return
	cat <<EOF
virtual_server 192.0.2.11 80 {
    delay_loop $1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    quorum_up "$WORK/notify.sh quorum up"
    quorum_down "$WORK/notify.sh quorum down"
    sorry_server 198.51.100.9 80
    inhibit_on_failure
    real_server 198.51.100.5 80 {
        TCP_CHECK {
            connect_timeout 1
            warmup 0
        }
    }
    real_server 198.51.100.4 80 {
        weight 1
        MISC_CHECK {
            misc_path "$WORK/dyn.sh"
            misc_dynamic
            misc_timeout 5
            warmup 0
        }
    }
}
EOF
}

HTTPD1="" HTTPD2=""
backend_tcp() { # up|down
	if [ "$1" = up ]; then
		busybox httpd -f -p 198.51.100.1:80 -h "$WORK/www1" &
		HTTPD1=$!
	else
		[ -n "$HTTPD1" ] && kill "$HTTPD1" 2>/dev/null && wait "$HTTPD1" 2>/dev/null
		HTTPD1=""
	fi
}

# settle PATTERN PRESENT: wait (at most 30 s) until `ipvsadm -Sn` holds
# PATTERN (PRESENT=1) or not (PRESENT=0) on three reads 200 ms apart.
settle() {
	local i same=0 has
	for i in $(seq 150); do
		if ipvsadm -Sn | grep -q -- "$1"; then has=1; else has=0; fi
		if [ "$has" = "$2" ]; then
			same=$((same + 1))
			[ $same -ge 3 ] && return 0
		else
			same=0
		fi
		sleep 0.2
	done
	return 1
}

# run IMPL: the whole timeline; tables in $WORK/IMPL.STEP, logs in $WORK/IMPL.log
run() {
	local impl=$1 bin=keepalived
	[ "$impl" = rs ] && bin=$KALRS
	ipvsadm -C
	rm -f "$WORK/notify.log" "$WORK/fifo"
	: >"$WORK/notify.log"
	chmod 666 "$WORK/notify.log"
	mkfifo "$WORK/fifo"
	# keepalived reopens the fifo on reload: read it again after each EOF.
	: >"$WORK/$impl.fifo"
	(while :; do cat "$WORK/fifo" >>"$WORK/$impl.fifo"; done) &
	local reader=$!
	touch "$WORK/misc-up"
	backend_tcp up
	busybox httpd -f -p 198.51.100.2:80 -h "$WORK/www2" &
	local httpd2=$!
	busybox httpd -f -p 198.51.100.5:80 -h "$WORK/www5" &
	local httpd5=$!
	echo 0 >"$WORK/dyn"
	chmod 644 "$WORK/dyn"
	echo two >"$WORK/www2/index.html"
	conf 1 >"$WORK/$impl.conf"
	# keepalived-rs also serves its metrics (docs/metrics.md), scraped at
	# some checkpoints.
	local metrics=
	[ "$impl" = rs ] && metrics="--metrics 127.0.0.1:9650"
	# shellcheck disable=SC2086
	"$bin" -C -n -l -D -f "$WORK/$impl.conf" -p "$WORK/$impl.pid" -c "$WORK/$impl.c.pid" $metrics \
		>"$WORK/$impl.log" 2>&1 &
	local daemon=$!
	step() { # NAME PATTERN PRESENT
		settle "$2" "$3" || echo "    ($impl: $1 did not settle)"
		ipvsadm -Sn >"$WORK/$impl.$1"
		[ -z "$metrics" ] || busybox wget -q -O "$WORK/$impl.metrics.$1" http://127.0.0.1:9650/metrics ||
			echo "    ($impl: no metrics at $1)"
	}
	settle "198.51.100.3:80" 1
	sleep 3 # every checker has run (first run at 1 s)
	step up "198.51.100.1:80" 1
	echo 7 >"$WORK/dyn"
	step dyn-weight "198.51.100.4:80 -m -w 5" 1
	echo 1 >"$WORK/dyn"
	step quorum-lost "198.51.100.9:80" 1
	echo 0 >"$WORK/dyn"
	step quorum-back "198.51.100.9:80" 0
	backend_tcp down
	step tcp-down "198.51.100.1:80" 0
	backend_tcp up
	step tcp-up "198.51.100.1:80" 1
	rm "$WORK/www2/index.html"
	step http-404 "198.51.100.2:80" 0
	echo two >"$WORK/www2/index.html"
	step http-ok "198.51.100.2:80" 1
	rm "$WORK/misc-up"
	step misc-down "198.51.100.3:80" 0
	touch "$WORK/misc-up"
	step misc-up "198.51.100.3:80" 1
	backend_tcp down
	step tcp-down-2 "198.51.100.1:80" 0
	# The reload also removes the second virtual server: its servers and
	# quorum are announced down. (Kept, keepalived's reload changes its
	# misc_dynamic server's weight to 0, a weight migration quirk we do not
	# copy.)
	conf 2 one >"$WORK/$impl.conf"
	kill -HUP "$daemon"
	sleep 5 # several delay_loops after the reload
	step reload "198.51.100.1:80" 0
	backend_tcp up
	step back "198.51.100.1:80" 1
	kill -TERM "$daemon"
	wait "$daemon" 2>/dev/null
	ipvsadm -Sn >"$WORK/$impl.stopped"
	kill "$httpd2" "$httpd5" 2>/dev/null
	backend_tcp down
	sleep 0.5
	kill "$reader" 2>/dev/null
	pkill -P "$reader" cat 2>/dev/null
	cp "$WORK/notify.log" "$WORK/$impl.notify" 2>/dev/null || : >"$WORK/$impl.notify"
}

run ka
run rs

for s in up dyn-weight quorum-lost quorum-back tcp-down tcp-up http-404 http-ok misc-down misc-up tcp-down-2 reload back stopped; do
	if cmp -s "$WORK/ka.$s" "$WORK/rs.$s"; then
		ok "$s: same table as keepalived ($(wc -l <"$WORK/rs.$s") lines)"
	else
		bad "$s: tables differ"
		diff "$WORK/ka.$s" "$WORK/rs.$s" | sed 's/^/    /'
	fi
done
# The proof that checks really act: the server left and came back.
grep -q "198.51.100.1:80" "$WORK/rs.tcp-down" && bad "tcp-down: still in the table" ||
	ok "tcp-down: the dead TCP backend left ipvsadm -Sn"
grep -q "198.51.100.1:80" "$WORK/rs.tcp-up" && ok "tcp-up: it came back" ||
	bad "tcp-up: it did not come back"
if cmp -s "$WORK/ka.notify" "$WORK/rs.notify"; then
	ok "notify scripts: same calls as keepalived ($(wc -l <"$WORK/rs.notify"))"
else
	bad "notify scripts differ"
	diff "$WORK/ka.notify" "$WORK/rs.notify" | sed 's/^/    /'
fi
if cmp -s "$WORK/ka.fifo" "$WORK/rs.fifo"; then
	ok "lvs_notify_fifo: same lines as keepalived ($(wc -l <"$WORK/rs.fifo"))"
else
	bad "lvs_notify_fifo lines differ"
	diff "$WORK/ka.fifo" "$WORK/rs.fifo" | sed 's/^/    /'
fi
# The metrics follow the same checkpoints (keepalived-rs only).
metric() { # FILE REGEX: the value of the first series matching REGEX
	grep -E "^$2 " "$1" 2>/dev/null | head -n1 | awk '{ print $2 }'
}
m=$WORK/rs.metrics
v=$(metric "$m.tcp-down" 'keepalived_real_server_up\{.*198\.51\.100\.1\]:tcp:80.*\}')
[ "$v" = 0 ] && ok "metrics: real_server_up 0 for the dead TCP backend" ||
	bad "metrics: real_server_up for the dead TCP backend is '${v:-missing}', not 0"
v=$(metric "$m.tcp-up" 'keepalived_real_server_up\{.*198\.51\.100\.1\]:tcp:80.*\}')
[ "$v" = 1 ] && ok "metrics: real_server_up 1 when it is back" ||
	bad "metrics: real_server_up when it is back is '${v:-missing}', not 1"
v=$(metric "$m.tcp-up" 'keepalived_real_server_check_failures_total\{.*198\.51\.100\.1\]:tcp:80.*\}')
[ "${v:-0}" -gt 0 ] 2>/dev/null && ok "metrics: its failed checks counted ($v)" ||
	bad "metrics: its failed checks are '${v:-missing}'"
v=$(metric "$m.tcp-up" 'keepalived_check_duration_seconds_count\{.*\}')
[ "${v:-0}" -gt 0 ] 2>/dev/null && ok "metrics: check latency histogram filled ($v)" ||
	bad "metrics: check latency histogram count is '${v:-missing}'"
v=$(metric "$m.tcp-up" 'keepalived_ipvs_operations_total\{result="applied"\}')
[ "${v:-0}" -gt 0 ] 2>/dev/null && ok "metrics: IPVS operations counted ($v)" ||
	bad "metrics: IPVS operations applied is '${v:-missing}'"
v=$(metric "$m.back" 'keepalived_reloads_total\{result="ok"\}')
[ "$v" = 1 ] && ok "metrics: the reload counted" || bad "metrics: reloads ok is '${v:-missing}', not 1"

# The checker lines users grep, in order, without timestamps.
checker_lines() {
	grep -oE "(TCP connection to|TCP_CHECK on service|HTTP_CHECK on service|HTTP status code success to|Remote Web server|Misc check for|Removing service|Adding service|Enabling service|Disabling service|Changing weight|Gained quorum|Lost quorum|Adding sorry server|Removing sorry server|Adding alive servers|Removing alive servers).*" "$1"
}
checker_lines "$WORK/ka.log" >"$WORK/ka.lines"
checker_lines "$WORK/rs.log" >"$WORK/rs.lines"
# Per real server (the servers' first checks run at the same moment, so
# lines of different servers may interleave either way).
for who in 198.51.100.1 198.51.100.2 198.51.100.3 198.51.100.4 198.51.100.5 "quorum" "sorry" "alive servers"; do
	grep -F "$who" "$WORK/ka.lines" >"$WORK/ka.lines.$who"
	grep -F "$who" "$WORK/rs.lines" >"$WORK/rs.lines.$who"
	if cmp -s "$WORK/ka.lines.$who" "$WORK/rs.lines.$who" && [ -s "$WORK/rs.lines.$who" ]; then
		ok "checker log lines of $who: same as keepalived's ($(wc -l <"$WORK/rs.lines.$who"))"
	else
		bad "checker log lines of $who differ"
		diff "$WORK/ka.lines.$who" "$WORK/rs.lines.$who" | sed 's/^/    /'
	fi
done
for line in "TCP_CHECK on service [198.51.100.1]:tcp:80 failed after 1 retries." \
	"Removing service [198.51.100.1]:tcp:80 from VS [192.0.2.10]:tcp:80" \
	"Adding service [198.51.100.1]:tcp:80 to VS [192.0.2.10]:tcp:80"; do
	if grep -qF -- "$line" "$WORK/rs.log"; then
		ok "log: $line"
	else
		bad "log: no line $line"
		grep -F "198.51.100.1" "$WORK/rs.log" | tail -5 | sed 's/^/    rs: /'
	fi
done
if [ "$fail" -ne 0 ]; then
	echo "--- keepalived-rs log"
	tail -40 "$WORK/rs.log" | sed 's/^/    /'
	echo "--- keepalived log"
	tail -40 "$WORK/ka.log" | sed 's/^/    /'
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
