#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# use_vmac_addr (issue 11): an IPv4 instance (vrid 51, VRRPv3, 0.1 s,
# no use_vmac) with the VIP 192.0.2.100 and the excluded IPv6 address
# 2001:db8:0:1::100/64, on both sides.
#   1. Each side has vrrp.51: a private macvlan on eth0 with the IPv6
#      virtual MAC 00:00:5e:00:02:33 (the address's family), made for the
#      excluded address; on lb1 it holds that address, the IPv4 VIP stays
#      on eth0.
#   2. The client sees lb1's unsolicited NA for the IPv6 address from
#      00:00:5e:00:02:33, its GARP for the IPv4 VIP from eth0's own MAC,
#      and adverts from eth0's MAC.
#   3. SIGTERM of lb1: lb2 takes both addresses (the IPv6 one on its
#      vrrp.51, NA from the same virtual MAC); lb1's vrrp.51 is gone.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin vmac-addr "use_vmac_addr: a VMAC for the other family's address, NA from it, removal"
C_VERSION=3 C_ADVERT=0.1
VMAC=vrrp.$VRID
VMAC_MAC=00:00:5e:00:02:$(printf '%02x' "$VRID")
on_vmac() { ip -n "$1" -o addr show dev "$VMAC" 2>/dev/null | awk -v a="$2" '{ split($4, x, "/"); if (x[1] == a) f = 1 } END { exit !f }'; }
vmac_gone() { ! ip -n "$1" link show dev "$VMAC" >/dev/null 2>&1; }
a_holds() { ns_has_all "$NS_LB1" "$VIP" && on_vmac "$NS_LB1" "$VIP6" && ns_has_none "$NS_LB2" "$VIP" && ! on_vmac "$NS_LB2" "$VIP6"; }
b_holds() { ns_has_all "$NS_LB2" "$VIP" && on_vmac "$NS_LB2" "$VIP6" && ns_has_none "$NS_LB1" "$VIP"; }

EXTRA="    use_vmac_addr
    virtual_ipaddress_excluded {
        $VIP6/64
    }"
for node in lb1 lb2; do
    if [[ $node == lb1 ]]; then prio=$PRIO_A; else prio=$PRIO_B; fi
    { conf_global $node; C_EXTRA=$EXTRA conf_instance $node VI_1 $VRID "$prio" "$VIP/$PLEN"; } >"$RUN_DIR/$node.conf"
done
VIP_ADDRS=("$VIP")
pair_timers
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
limit=$(calc "${START_ALLOW_S:-1} + $MD_A + $(slack_for "$ADV")")
check_state "election: lb1 holds $VIP on eth0 and $VIP6 on its $VMAC" wait_for "$limit" a_holds

for ns in "$NS_LB1" "$NS_LB2"; do
    d=$(ip -n "$ns" -d -o link show dev "$VMAC" 2>/dev/null || true)
    ok=1
    [[ $d == *"$VMAC@$IFACE"* && $d == *"macvlan mode private"* && $d == *"link/ether $VMAC_MAC "* ]] || ok=0
    check "${ns##*-} $VMAC: private macvlan on $IFACE with MAC $VMAC_MAC" "${d:0:120}" test "$ok" = 1
done

holds_for 0.3 a_holds || true
refresh_events
g=$(ev_first "$(na_from "$VMAC_MAC" "$VIP6")" "$T0" | ts_of)
check "client saw lb1's unsolicited NA for $VIP6 from $VMAC_MAC" "at +$(delta "$g" "$T0") s" test -n "$g"
g=$(ev_first "$(garp_from "$MAC_LB1" "$VIP")" "$T0" | ts_of)
check "client saw lb1's gratuitous ARP for $VIP from $MAC_LB1" "at +$(delta "$g" "$T0") s" test -n "$g"
n=$(ev_count "\$2 == \"V\" && \$3 == \"$MAC_LB1\" && \$4 == \"$IP_LB1\"" "$T0")
check "lb1's adverts leave from $MAC_LB1" "$n adverts" test "$n" -gt 0

peer_term A
T=$T_EVENT
check_state "lb2 holds both after SIGTERM of lb1" wait_for "$(calc "$MD_B + 1")" b_holds
sleep 0.2
refresh_events
g=$(ev_first "$(na_from "$VMAC_MAC" "$VIP6")" "$T" | ts_of)
check "client saw lb2's unsolicited NA for $VIP6 from $VMAC_MAC" "at +$(delta "$g" "$T") s" test -n "$g"
check "lb1's $VMAC removed on stop" "" vmac_gone "$NS_LB1"
scenario_end
