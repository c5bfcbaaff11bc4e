#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# vrrp_script with a weight: A tracks a script (weight -60, fall 2, rise 2,
# interval 1) that tests a file. The test removes the file: after `fall`
# failures A advertises 150 - 60 = 90 < 100 and B takes over within
# fall x interval + B's master_down; the file back, `rise` successes bring
# A back to 150 and it preempts within rise x interval + A's master_down.
# VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin track-script "vrrp_script weight: priority drop, takeover, recovery, preemption"
C_VERSION=3 C_ADVERT=0.1
INTERVAL=1 FALL=2 RISE=2 WEIGHT=-60
OK=$RUN_DIR/ok-lb1
touch "$OK"
A_ROOT="vrrp_script chk_ok {
    script \"/usr/bin/test -e $OK\"
    interval $INTERVAL
    fall $FALL
    rise $RISE
    weight $WEIGHT
}"
A_EXTRA="    track_script {
        chk_ok
    }"
pair_up_tracked "$VIP/$PLEN"
check_state "script succeeding: lb1 stays master" holds_for 1.5 a_master "$VIP"
# Script start-up cost and the run's own phase: a run takes a few ms.
RUN_SLACK=0.3
sleep_random_phase "$INTERVAL"

rm -f "$OK"
T_FAIL=$(now)
low=$(calc "($FALL - 1) * $INTERVAL")
limit=$(calc "$FALL * $INTERVAL + $MD_B + $(slack_for "$ADV") + $RUN_SLACK")
expect_b_takes_over "file removed: lb2 takes over after fall failures" "$T_FAIL" "$low" "$limit"
sleep "$(calc "3 * $ADV")"
refresh_events
low_prio=$((PRIO_A + WEIGHT))
p=$(ev_first "$(adv_from_prio "$IP_LB1" "$low_prio")" "$T_FAIL" | ts_of)
check "lb1 advertised its effective priority $low_prio" "at +$(delta "$p" "$T_FAIL") s" test -n "$p"
n=$(ev_count "$(adv_from "$IP_LB1")" "$(calc "$T_MOVED + $ADV")")
check "lb1 silent once lb2 is master" "$n adverts from lb1" test "$n" = 0

touch "$OK"
T_OK=$(now)
low=$(calc "($RISE - 1) * $INTERVAL")
limit=$(calc "$RISE * $INTERVAL + $MD_A + $(slack_for "$ADV") + $RUN_SLACK")
expect_a_takes_back "file back: lb1 preempts after rise successes" "$T_OK" "$low" "$limit"
sleep "$(calc "3 * $ADV")"
refresh_events
p=$(ev_first "$(adv_from_prio "$IP_LB1" "$PRIO_A")" "$T_OK" | ts_of)
check "lb1 advertises $PRIO_A again" "at +$(delta "$p" "$T_OK") s" test -n "$p"
b=$(notify_first "$T_OK" lb2 BACKUP)
check "notify: lb2 BACKUP" "+$(delta "$b" "$T_OK") s" test -n "$b"
scenario_end
