#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# preempt_delay: B is master; A (higher priority, state BACKUP,
# preempt_delay D) starts. A must not take over before D seconds after its
# start, and must take over by D + its master-down interval (+ start-up and
# scheduling allowance). VRRPv3, advert_int 0.1, D = PREEMPT_DELAY (1 s).
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin preempt-delay "preempt_delay postpones the takeover by the higher priority"
D=${PREEMPT_DELAY:-1}
C_VERSION=3 C_ADVERT=0.1 C_STATE=BACKUP
VIP_ADDRS=("$VIP")
{ conf_global lb2; conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"
C_PREEMPT_DELAY=$D
{ conf_global lb1; conf_instance lb1 VI_1 $VRID $PRIO_A "$VIP/$PLEN"; } >"$RUN_DIR/lb1.conf"
pair_b_alone_master

T_A=$(now)
peer_start A "$RUN_DIR/lb1.conf"
early=$(calc "$D - 0.1")
# Held until T_A + early, not for `early` from here: starting lb1 takes
# time of its own (much of it on a loaded machine), and lb1 may rightly
# take over D after T_A.
left=$(calc "$early - ($(now) - $T_A)")
check_state "lb2 keeps the VIP for the first $early s of lb1's preempt_delay $D s" holds_for "$left" b_master "$VIP"
high=$(calc "$D + ${START_ALLOW_S:-1} + $MD_A + $(slack_for "$ADV")")
wait_for "$(calc "$high - $early")" a_master "$VIP" || true
check_state "lb1 takes over after preempt_delay" a_master "$VIP"
sleep "$(calc "2 * $ADV")"
refresh_events
fa=$(ev_first "$(adv_from_prio "$IP_LB1" $PRIO_A)" "$T_A" | ts_of)
t=$(delta "$fa" "$T_A")
check "lb1's first advert between D and D + master_down after its start" \
    "start -> first lb1 advert $t s, allowed [$D, $high]" eval "ge '$t' '$D' && le '$t' '$high'"
scenario_end
