#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# VRRPv3 over IPv6, advert_int 0.1: adverts go from the link-local address
# to ff02::12 with hop limit 255; the master announces the VIP with an
# unsolicited neighbour advertisement that the client sees; after a crash
# of A, B does the same.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin v3-ipv6 "VRRPv3 IPv6: link-local source, unsolicited NA seen by the client"
C_VERSION=3 C_ADVERT=0.1
pair_up "$VIP6/64"
pair_steady_checks ff02::12
na=$(ev_first "$(na_from "$MAC_LB1" "$VIP6")" "$T0")
if [[ -n $na ]]; then
    read -r _ _ _ nsrc ndst _ oflag <<<"$na"
    info "lb1's NA: $nsrc > $ndst target $VIP6 override=$oflag"
fi

peer_crash A
T_KILL=$T_EVENT
ns_del_addrs "$NS_LB1" "$VIP6/64"
limit=$(calc "$MD_B + $(slack_for "$ADV")")
check_state "lb2 holds the IPv6 VIP after SIGKILL of lb1" wait_for "$(calc "$limit + 1")" b_master "$VIP6"
sleep "$(calc "2 * $ADV + 0.1")"
refresh_events
ll_a=$(linklocal_of "$NS_LB1")
ll_b=$(linklocal_of "$NS_LB2")
last_a=$(ev_last "$(adv_from "$ll_a")" "$T0" "$T_KILL" | ts_of)
first_b=$(ev_first "$(adv_from "$ll_b")" "$T_KILL" | ts_of)
gap=$(delta "$first_b" "$last_a")
check "lb2's first advert within master_down of lb1's last" "${gap} s (master_down $MD_B, allowed $limit)" le "$gap" "$limit"
check_adverts_fields "lb2 adverts as master (IPv6)" B 3 "$ADV_CS" ff02::12 "$T_KILL"
nb=$(ev_first "$(na_from "$MAC_LB2" "$VIP6")" "$T_KILL" | ts_of)
check "client saw lb2's unsolicited NA for $VIP6" "+$(delta "$nb" "$T_KILL") s after the kill" test -n "$nb"
scenario_end
