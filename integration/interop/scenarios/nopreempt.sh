#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# nopreempt: B is master (A not running); A starts with the higher
# priority, both "state BACKUP" + nopreempt. A must accept B as master and
# stay backup and silent; when B then dies, A takes over normally.
# VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin nopreempt "nopreempt: a returning higher priority does not take over"
C_VERSION=3 C_ADVERT=0.1 C_STATE=BACKUP C_NOPREEMPT=1
VIP_ADDRS=("$VIP")
{ conf_global lb1; conf_instance lb1 VI_1 $VRID $PRIO_A "$VIP/$PLEN"; } >"$RUN_DIR/lb1.conf"
{ conf_global lb2; conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"
pair_b_alone_master

T_A=$(now)
peer_start A "$RUN_DIR/lb1.conf"
hold=$(calc "${START_ALLOW_S:-1} + 3 * $MD_A")
check_state "lb2 stays master for $hold s after lb1 (priority $PRIO_A) starts" holds_for "$hold" b_master "$VIP"
refresh_events
na=$(ev_count "$(adv_from "$IP_LB1")" "$T_A")
check "lb1 silent (backup)" "$na adverts from lb1" test "$na" = 0
b=$(notify_first "$T_A" lb1 BACKUP)
m=$(notify_first "$T_A" lb1 MASTER)
check "notify: lb1 BACKUP and no MASTER" "BACKUP +$(delta "$b" "$T_A") s, MASTER ${m:-none}" test -n "$b" -a -z "$m"

peer_crash B
T_KILL=$T_EVENT
ns_del_addrs "$NS_LB2" "$VIP/$PLEN"
limit=$(calc "$MD_A + $(slack_for "$ADV")")
check_state "lb1 takes over when lb2 dies" wait_for "$(calc "$limit + 0.5")" a_master "$VIP"
scenario_end
