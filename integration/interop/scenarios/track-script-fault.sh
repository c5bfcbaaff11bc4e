#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# vrrp_script with weight 0: a failing script puts A in FAULT. The test
# removes the file the script tests: after `fall` failures A is FAULT (no
# VIP, silent, notify FAULT) and B takes over within fall x interval + B's
# master_down; the file back, one success (rise 1) returns A to BACKUP and
# it preempts within interval + A's master_down. VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin track-script-fault "vrrp_script weight 0: FAULT and back"
C_VERSION=3 C_ADVERT=0.1
INTERVAL=1 FALL=2 RISE=1
OK=$RUN_DIR/ok-lb1
touch "$OK"
A_ROOT="vrrp_script chk_ok {
    script \"/usr/bin/test -e $OK\"
    interval $INTERVAL
    fall $FALL
    rise $RISE
    weight 0
}"
A_EXTRA="    track_script {
        chk_ok
    }"
pair_up_tracked "$VIP/$PLEN"
RUN_SLACK=0.3
sleep_random_phase "$INTERVAL"

rm -f "$OK"
T_FAIL=$(now)
low=$(calc "($FALL - 1) * $INTERVAL")
limit=$(calc "$FALL * $INTERVAL + $MD_B + $(slack_for "$ADV") + $RUN_SLACK")
expect_b_takes_over "file removed: lb1 FAULT, lb2 takes over" "$T_FAIL" "$low" "$limit"
f=$(notify_first "$T_FAIL" lb1 FAULT)
check "notify: lb1 FAULT" "+$(delta "$f" "$T_FAIL") s" test -n "$f"
check_state "lb1 stays FAULT without the VIP" holds_for 1 b_master "$VIP"
refresh_events
n=$(ev_count "$(adv_from "$IP_LB1")" "$(calc "$T_MOVED + $ADV")")
check "lb1 silent while FAULT" "$n adverts from lb1" test "$n" = 0

touch "$OK"
T_OK=$(now)
limit=$(calc "$RISE * $INTERVAL + $MD_A + $(slack_for "$ADV") + $RUN_SLACK")
expect_a_takes_back "file back: lb1 leaves FAULT and preempts" "$T_OK" 0 "$limit"
b=$(notify_first "$T_OK" lb1 BACKUP)
m=$(notify_first "$T_OK" lb1 MASTER)
check "notify: lb1 BACKUP then MASTER" "BACKUP +$(delta "$b" "$T_OK") s, MASTER +$(delta "$m" "$T_OK") s" \
    eval "[[ -n '$b' && -n '$m' ]] && le '$b' '$m'"
scenario_end
