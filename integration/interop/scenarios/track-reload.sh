#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# A reload keeps tracking state. A tracks a script (weight -60, fall 3,
# rise 2, interval 1).
# 1. Script succeeding, A master: SIGHUP to A with the same config; A keeps
#    the VIP throughout, advertises 150 only, runs no notify.
# 2. The file removed and A reloaded at once: the script's count survives,
#    so A still needs `fall` failures (a tracker started afresh would fail
#    at its first run) before B takes over.
# 3. Script failed, B master: SIGHUP to A; the failed result survives (B
#    keeps the VIP, A advertises nothing); the file back, A preempts after
#    its `rise` successes. VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin track-reload "reload keeps script results: no priority dip, no VIP flap"
C_VERSION=3 C_ADVERT=0.1
INTERVAL=1 FALL=3 RISE=2 WEIGHT=-60
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
check_state "script succeeding: lb1 master" holds_for 1.2 a_master "$VIP"

T=$(now)
kill -HUP "${PEER_PID[A]}"
check_state "reload while master: VIP stays on lb1 only" holds_for 2 a_master "$VIP"
refresh_events
n=$(ev_count "\$2 == \"V\" && \$4 == \"$IP_LB1\" && \$9 != \"$PRIO_A\"" "$T")
check "reload while master: lb1 advertised only $PRIO_A" "$n adverts with another priority" test "$n" = 0
n=$(awk -v t="$T" '$1 + 0 > t + 0 && $2 == "lb1"' "$RUN_DIR/notify.log" | wc -l)
check "reload while master: no notify on lb1" "$n notify lines" test "$n" = 0

rm -f "$OK"
T=$(now)
kill -HUP "${PEER_PID[A]}"
limit=$(calc "$FALL * $INTERVAL + $MD_B + $(slack_for "$ADV") + 0.3")
expect_b_takes_over "file removed + reload: lb2 takes over only after fall failures" "$T" "$(calc "($FALL - 1) * $INTERVAL")" "$limit"
T=$(now)
kill -HUP "${PEER_PID[A]}"
check_state "reload while failed: lb2 keeps the VIP" holds_for 2 b_master "$VIP"
refresh_events
n=$(ev_count "$(adv_from "$IP_LB1")" "$T")
check "reload while failed: lb1 silent" "$n adverts from lb1" test "$n" = 0

touch "$OK"
T=$(now)
limit=$(calc "$RISE * $INTERVAL + $MD_A + $(slack_for "$ADV") + 0.3")
expect_a_takes_back "file back: lb1 preempts after rise successes" "$T" "$(calc "($RISE - 1) * $INTERVAL")" "$limit"
scenario_end
