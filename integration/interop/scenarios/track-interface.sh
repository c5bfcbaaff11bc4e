#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# track_interface on other links of A: trk0 with weight -60, trk1 with
# weight 0 (each a veth whose peer stays in A's namespace).
# 1. trk0 admin down: A advertises 90 and B takes over within B's
#    master_down; trk0 up: A preempts within A's master_down.
# 2. trk1 loses its carrier (its peer goes down, trk1 stays admin up): A is
#    FAULT (no VIP, notify FAULT) and B takes over; the peer up again: A
#    returns to BACKUP and preempts. VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin track-interface "track_interface: weight drop and FAULT, admin down and carrier loss"
C_VERSION=3 C_ADVERT=0.1
WEIGHT=-60
for l in trk0 trk1; do
    ip -n "$NS_LB1" link add "$l" type veth peer name "${l}p"
    ip -n "$NS_LB1" link set "$l" up
    ip -n "$NS_LB1" link set "${l}p" up
done
A_EXTRA="    track_interface {
        trk0 weight $WEIGHT
        trk1
    }"
pair_up_tracked "$VIP/$PLEN"
check_state "tracked links up: lb1 stays master" holds_for 1 a_master "$VIP"
check_status A MASTER "$PRIO_A" "links up"
check_status B BACKUP "$PRIO_B" "links up"
# Link notifications take a moment through netlink (and a loaded CI
# machine schedules a daemon late now and then).
LINK_SLACK=0.25

T=$(now)
ip -n "$NS_LB1" link set trk0 down
limit=$(calc "$ADV + $MD_B + $(slack_for "$ADV") + $LINK_SLACK")
expect_b_takes_over "trk0 admin down: lb1 drops to $((PRIO_A + WEIGHT)), lb2 takes over" "$T" 0 "$limit"
refresh_events
p=$(ev_first "$(adv_from_prio "$IP_LB1" "$((PRIO_A + WEIGHT))")" "$T" | ts_of)
check "lb1 advertised $((PRIO_A + WEIGHT))" "at +$(delta "$p" "$T") s" test -n "$p"
f=$(notify_first "$T" lb1 FAULT)
check "a weighted link is no fault" "${f:+FAULT at $f}" test -z "$f"
check_status A BACKUP "$((PRIO_A + WEIGHT))" "trk0 down"
check_status B MASTER "$PRIO_B" "trk0 down"
T=$(now)
ip -n "$NS_LB1" link set trk0 up
limit=$(calc "$MD_A + $(slack_for "$ADV") + $LINK_SLACK")
expect_a_takes_back "trk0 up: lb1 preempts" "$T" 0 "$limit"
check_status A MASTER "$PRIO_A" "trk0 up"

T=$(now)
ip -n "$NS_LB1" link set trk1p down
limit=$(calc "$MD_B + $(slack_for "$ADV") + $LINK_SLACK")
expect_b_takes_over "trk1 carrier lost (weight 0): lb1 FAULT, lb2 takes over" "$T" 0 "$limit"
f=$(notify_first "$T" lb1 FAULT)
check "notify: lb1 FAULT" "+$(delta "$f" "$T") s" test -n "$f"
check_state "lb1 stays FAULT without the VIP" holds_for 0.5 b_master "$VIP"
check_status A FAULT "$PRIO_A" "trk1 carrier lost"
check_status B MASTER "$PRIO_B" "trk1 carrier lost"
T=$(now)
ip -n "$NS_LB1" link set trk1p up
limit=$(calc "$MD_A + $(slack_for "$ADV") + $LINK_SLACK")
expect_a_takes_back "trk1 carrier back: lb1 leaves FAULT and preempts" "$T" 0 "$limit"
b=$(notify_first "$T" lb1 BACKUP)
check "notify: lb1 BACKUP" "+$(delta "$b" "$T") s" test -n "$b"
check_status A MASTER "$PRIO_A" "trk1 carrier back"
check_status B BACKUP "$PRIO_B" "trk1 carrier back"
scenario_end
