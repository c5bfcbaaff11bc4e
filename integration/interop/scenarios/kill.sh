#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Master crash: SIGKILL of A's whole process group at a random phase of the
# advert cycle. B must become master within its master-down interval
# (3 x advert_int + skew, RFC 5798), measured from A's last advert, send a
# GARP that moves the client's neighbour entry, and run notify MASTER.
# VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin kill "SIGKILL of the master: backup takes over within master_down"
C_VERSION=3 C_ADVERT=${KILL_ADVERT:-0.1}
pair_up "$VIP/$PLEN"
holds_for "$(calc "3 * $ADV")" a_master "$VIP" || true
check_status A MASTER "$PRIO_A" "before the kill"
check_status B BACKUP "$PRIO_B" "before the kill"
client_resolve "$VIP"
sleep_random_phase "$ADV"

peer_crash A
T_KILL=$T_EVENT
limit=$(calc "$MD_B + $(slack_for "$ADV")")
if wait_for "$(calc "$limit + 1")" ns_has_addr "$NS_LB2" "$VIP"; then
    pass "lb2 holds the VIP after SIGKILL of lb1" "+$(delta "$(now)" "$T_KILL") s after the kill (polled)"
else
    fail "lb2 holds the VIP after SIGKILL of lb1" "$(show_addrs)"
fi
sleep "$(calc "2 * $ADV + 0.1")"
refresh_events
last_a=$(ev_last "$(adv_from "$IP_LB1")" "$T0" "$T_KILL" | ts_of)
first_b=$(ev_first "$(adv_from "$IP_LB2")" "$T_KILL" | ts_of)
garp_b=$(ev_first "$(garp_from "$MAC_LB2" "$VIP")" "$T_KILL" | ts_of)
ntfy_b=$(notify_first "$T_KILL" lb2 MASTER)
gap=$(delta "$first_b" "$last_a")
# Not earlier than the RFC allows either (a backup that takes over after
# one or two missed adverts would pass the upper bound).
low=$(calc "$MD_B - 0.02 - 0.1 * $ADV")
check "lb2's first advert within master_down of lb1's last" \
    "last lb1 advert -> first lb2 advert ${gap} s, allowed [$low, $limit] (master_down $MD_B)" \
    eval "ge '$gap' '$low' && le '$gap' '$limit'"
info "kill -> lb2 advert $(delta "$first_b" "$T_KILL") s, GARP $(delta "$garp_b" "$T_KILL") s, notify $(delta "$ntfy_b" "$T_KILL") s"
post=$(ev_count "$(adv_from "$IP_LB1")" "$T_KILL")
check "no advert from lb1 after SIGKILL" "$post adverts" test "$post" = 0
check "client saw lb2's gratuitous ARP for the VIP" "+$(delta "$garp_b" "$T_KILL") s after the kill" test -n "$garp_b"
check "notify: lb2 MASTER" "+$(delta "$ntfy_b" "$T_KILL") s after the kill" test -n "$ntfy_b"
check_adverts_fields "lb2 adverts as master (v3 fields)" B 3 "$ADV_CS" 224.0.0.18 "$T_KILL"
mac=$(client_neigh_mac "$VIP")
check "client neighbour entry moved to lb2's MAC" "lladdr ${mac:-none}" test "$mac" = "$MAC_LB2"
check_status B MASTER "$PRIO_B" "after lb1's crash"
scenario_end
