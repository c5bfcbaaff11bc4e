#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# track_file (weight 1, so the value is added to the priority): A tracks a
# file the test writes.
#   5    A advertises 155 and stays master;
#   -60  A advertises 90: B takes over within an interval + B's master_down;
#   -300 at or below -254: A is FAULT (notify FAULT, no VIP);
#   0    A is back at 150 and preempts within A's master_down.
# VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin track-file "track_file: value x weight on the priority, FAULT at -254"
C_VERSION=3 C_ADVERT=0.1
TF=$RUN_DIR/tf-lb1
echo 0 >"$TF"
A_ROOT="track_file tf {
    file $TF
    weight 1
}"
A_EXTRA="    track_file {
        tf
    }"
pair_up_tracked "$VIP/$PLEN"
WRITE_SLACK=0.25

T=$(now)
echo 5 >"$TF"
sleep "$(calc "3 * $ADV")"
refresh_events
p=$(ev_first "$(adv_from_prio "$IP_LB1" $((PRIO_A + 5)))" "$T" | ts_of)
check "5: lb1 advertises $((PRIO_A + 5))" "at +$(delta "$p" "$T") s" test -n "$p"
check_state "5: lb1 stays master" holds_for 0.3 a_master "$VIP"

T=$(now)
echo -60 >"$TF"
limit=$(calc "$ADV + $MD_B + $(slack_for "$ADV") + $WRITE_SLACK")
expect_b_takes_over "-60: lb1 at $((PRIO_A - 60)), lb2 takes over" "$T" 0 "$limit"
refresh_events
p=$(ev_first "$(adv_from_prio "$IP_LB1" $((PRIO_A - 60)))" "$T" | ts_of)
check "-60: lb1 advertised $((PRIO_A - 60))" "at +$(delta "$p" "$T") s" test -n "$p"

T=$(now)
echo -300 >"$TF"
sleep 0.3
f=$(notify_first "$T" lb1 FAULT)
check "-300: notify lb1 FAULT" "+$(delta "$f" "$T") s" test -n "$f"
check_state "-300: lb1 FAULT, lb2 keeps the VIP" holds_for 0.3 b_master "$VIP"

T=$(now)
echo 0 >"$TF"
limit=$(calc "$MD_A + $(slack_for "$ADV") + $WRITE_SLACK")
expect_a_takes_back "0: lb1 back at $PRIO_A and preempts" "$T" 0 "$limit"
b=$(notify_first "$T" lb1 BACKUP)
check "0: notify lb1 BACKUP (leaving FAULT)" "+$(delta "$b" "$T") s" test -n "$b"
scenario_end
