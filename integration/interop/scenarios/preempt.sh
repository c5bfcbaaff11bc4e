#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Preemption (the default): after a crash of A and B's takeover, A comes
# back, ignores B's lower-priority adverts, and takes the master role back
# after its own master-down interval; B goes back to BACKUP and falls
# silent. VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin preempt "higher priority returns and preempts"
C_VERSION=3 C_ADVERT=0.1
pair_up "$VIP/$PLEN"
peer_crash A
T_KILL=$T_EVENT
wait_for "$(calc "$MD_B + 1")" ns_has_addr "$NS_LB2" "$VIP" || true
check_state "lb2 master after SIGKILL of lb1" ns_has_addr "$NS_LB2" "$VIP"
ns_del_addrs "$NS_LB1" "$VIP/$PLEN"        # what a reboot of lb1 does
sleep "$(calc "2 * $ADV")"

T_RESTART=$(now)
peer_start A "$RUN_DIR/lb1.conf"
pair_wait_a_master "lb1 restarted: preempts, VIP on lb1 only" "$T_RESTART"
sleep "$(calc "3 * $ADV")"
refresh_events
fa=$(ev_first "$(adv_from_prio "$IP_LB1" $PRIO_A)" "$T_RESTART" | ts_of)
info "restart -> first lb1 advert $(delta "$fa" "$T_RESTART") s (lb1 master_down $MD_A s)"
g=$(ev_first "$(garp_from "$MAC_LB1" "$VIP")" "$T_RESTART" | ts_of)
check "client saw lb1's gratuitous ARP after preempting" "+$(delta "$g" "$T_RESTART") s after restart" test -n "$g"
nb=$(ev_count "$(adv_from "$IP_LB2")" "$(calc "$fa + $ADV")")
check "lb2 silent after lb1's first advert" "$nb lb2 adverts later than one interval after it" test "$nb" = 0
b=$(notify_first "$T_RESTART" lb2 BACKUP)
check "notify: lb2 BACKUP" "+$(delta "$b" "$T_RESTART") s after restart" test -n "$b"
scenario_end
