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

pair_crash_a_checks "the IPv6 VIP" "$VIP6/64"
check_adverts_fields "lb2 adverts as master (IPv6)" B 3 "$ADV_CS" ff02::12 "$T_KILL"
nb=$(ev_first "$(na_from "$MAC_LB2" "$VIP6")" "$T_KILL" | ts_of)
check "client saw lb2's unsolicited NA for $VIP6" "+$(delta "$nb" "$T_KILL") s after the kill" test -n "$nb"
scenario_end
