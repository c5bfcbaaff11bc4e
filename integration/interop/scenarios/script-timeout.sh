#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# A hung vrrp_script: while a marker file exists the script (and a child it
# puts in the background) sleeps for ever. Each run is killed at `timeout`
# with its process group and counts as a failure (weight -60, fall 1), so
# B takes over, not before the timeout; at most one run is alive at a time;
# once the marker is gone A preempts again and no script process or zombie
# is left in A's namespace. VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin script-timeout "hung vrrp_script killed at its timeout, counted as failure"
C_VERSION=3 C_ADVERT=0.1
INTERVAL=2 TIMEOUT=1 WEIGHT=-60
MARK=$RUN_DIR/hang-lb1
HANG=$RUN_DIR/chk-hang
cat >"$HANG" <<EOF
#!/bin/sh
[ -e $MARK ] || exit 0
sleep 3600 &
exec sleep 3601
EOF
chmod 0755 "$HANG"
A_ROOT="vrrp_script chk_hang {
    script \"$HANG\"
    interval $INTERVAL
    timeout $TIMEOUT
    weight $WEIGHT
}"
A_EXTRA="    track_script {
        chk_hang
    }"
pair_up_tracked "$VIP/$PLEN"
RUN_SLACK=0.3
sleep_random_phase "$INTERVAL"

touch "$MARK"
T_HANG=$(now)
limit=$(calc "$INTERVAL + $TIMEOUT + $MD_B + $(slack_for "$ADV") + $RUN_SLACK")
expect_b_takes_over "script hangs: killed at timeout, lb2 takes over" "$T_HANG" "$TIMEOUT" "$limit"
max=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
    n=$(ns_procs_matching "$NS_LB1" 'sleep 360[01]' | wc -l)
    ((n > max)) && max=$n
    sleep 0.2
done
check "at most one hung run at a time (its 2 processes)" "at most $max sleep processes seen" test "$max" -le 2
check "the hung runs were really running" "at most $max sleep processes seen" test "$max" -ge 1

rm -f "$MARK"
T_OK=$(now)
limit=$(calc "2 * $INTERVAL + $TIMEOUT + $MD_A + $(slack_for "$ADV") + $RUN_SLACK")
expect_a_takes_back "script exits 0 again: lb1 preempts" "$T_OK" 0 "$limit"
sleep 0.5
left=$(ns_procs_matching "$NS_LB1" 'sleep 360[01]')
check "no script process left behind" "${left:-none}" test -z "$left"
z=$(ns_zombies "$NS_LB1")
check "no zombie in lb1" "${z:-none}" test -z "$z"
scenario_end
