#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Graceful stop: SIGTERM to A. A must send a priority-0 advert and release
# the VIP; B must take over after its skew time (RFC 5798 6.4.2: on a
# priority-0 advert the backup sets its timer to Skew_Time), not after a
# full master-down interval. VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin term "SIGTERM of the master: priority-0 advert, handover within skew time"
C_VERSION=3 C_ADVERT=0.1
pair_up "$VIP/$PLEN"
holds_for "$(calc "3 * $ADV")" a_master "$VIP" || true
sleep_random_phase "$ADV"

peer_term A 10
T_TERM=$T_EVENT
check "lb1 exits on SIGTERM" "after $(delta "$(now)" "$T_TERM") s" eval '! peer_alive A'
wait_for "$(calc "$MD_B + 1")" b_master "$VIP" || true
check_state "lb2 holds the VIP, lb1 released it" b_master "$VIP"
sleep "$(calc "2 * $ADV + 0.1")"
refresh_events
p0=$(ev_first "$(adv_from_prio "$IP_LB1" 0)" "$T_TERM" | ts_of)
check "lb1 sent a priority-0 advert" "+$(delta "$p0" "$T_TERM") s after SIGTERM" test -n "$p0"
first_b=$(ev_first "$(adv_from "$IP_LB2")" "$T_TERM" | ts_of)
gap=$(delta "$first_b" "$p0")
limit=$(calc "$SKEW_B + $(slack_for "$ADV")")
check "lb2 takes over within skew time of the priority-0 advert" \
    "priority-0 -> first lb2 advert ${gap} s (skew $SKEW_B, allowed $limit)" le "$gap" "$limit"
garp_b=$(ev_first "$(garp_from "$MAC_LB2" "$VIP")" "$T_TERM" | ts_of)
check "client saw lb2's gratuitous ARP for the VIP" "+$(delta "$garp_b" "$T_TERM") s after SIGTERM" test -n "$garp_b"
st=$(notify_first "$T_TERM" lb1 STOP)
mb=$(notify_first "$T_TERM" lb2 MASTER)
check "notify: lb1 STOP, lb2 MASTER" "lb1 STOP +$(delta "$st" "$T_TERM") s, lb2 MASTER +$(delta "$mb" "$T_TERM") s" test -n "$st" -a -n "$mb"
scenario_end
