#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# use_vmac with IPv6 (VRRPv3, 0.1 s): not in the default list (run it by
# name: `integration/interop/run vmac-ipv6`); `vmac` covers IPv4.
#   1. The VIP 2001:db8:0:1::100 is on lb1's vrrp.51 only; each side's
#      vrrp.51 has MAC 00:00:5e:00:02:33 and, as its only link-local
#      address, eth0's (no address derived from the virtual MAC).
#   2. lb1's adverts leave from the virtual MAC with eth0's link-local
#      source; its unsolicited NA for the VIP comes from the virtual MAC.
#   3. SIGTERM of lb1: lb2 takes over; lb1's vrrp.51 is gone.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin vmac-ipv6 "use_vmac, IPv6: virtual MAC 00:00:5e:00:02:VRID, link-local, NA"
C_VERSION=3 C_ADVERT=0.1
VMAC=vrrp.$VRID
VMAC_MAC=00:00:5e:00:02:$(printf '%02x' "$VRID")
vmac_has() { # ns addr
    ip -n "$1" -o addr show dev "$VMAC" 2>/dev/null | awk -v a="$2" '{ split($4, x, "/"); if (x[1] == a) f = 1 } END { exit !f }'
}
vmac_gone() { ! ip -n "$1" link show dev "$VMAC" >/dev/null 2>&1; }
a_vmac_master() { vmac_has "$NS_LB1" "$VIP6" && ! vmac_has "$NS_LB2" "$VIP6"; }
b_vmac_master() { vmac_has "$NS_LB2" "$VIP6" && ! vmac_has "$NS_LB1" "$VIP6"; }
vmac_linklocals() { ip -n "$1" -6 -o addr show dev "$VMAC" scope link 2>/dev/null | awk '{ sub(/\/.*/, "", $4); print $4 }' | paste -sd' ' -; }

for node in lb1 lb2; do
    if [[ $node == lb1 ]]; then prio=$PRIO_A; else prio=$PRIO_B; fi
    { conf_global $node; C_EXTRA="    use_vmac" conf_instance $node VI_1 $VRID "$prio" "$VIP6/64"; } >"$RUN_DIR/$node.conf"
done
VIP_ADDRS=("$VIP6")
pair_timers
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
limit=$(calc "${START_ALLOW_S:-1} + $MD_A + $(slack_for "$ADV")")
check "election: $VIP6 on lb1's $VMAC only" "" wait_for "$limit" a_vmac_master

for ns in "$NS_LB1" "$NS_LB2"; do
    mac=$(ip -n "$ns" -o link show dev "$VMAC" 2>/dev/null | awk '{ for (i = 1; i < NF; i++) if ($i == "link/ether") print $(i + 1) }')
    ll=$(vmac_linklocals "$ns")
    want=$(linklocal_of "$ns")
    check "${ns##*-} $VMAC: MAC $VMAC_MAC, link-local $want only" "MAC ${mac:-none}, link-local [$ll]" test "$mac" = "$VMAC_MAC" -a "$ll" = "$want"
done

holds_for 0.3 a_vmac_master || true
refresh_events
LL1=$(linklocal_of "$NS_LB1")
n=$(ev_count "\$2 == \"V\" && \$3 == \"$VMAC_MAC\" && \$4 == \"$LL1\"" "$T0")
o=$(ev_count "\$2 == \"V\" && \$3 == \"$MAC_LB1\"" "$T0")
check "lb1's adverts leave from $VMAC_MAC (source $LL1)" "$n adverts, $o from $MAC_LB1" test "$n" -gt 0 -a "$o" = 0
g=$(ev_first "$(na_from "$VMAC_MAC" "$VIP6")" "$T0" | ts_of)
check "client saw lb1's unsolicited NA for $VIP6 from $VMAC_MAC" "at +$(delta "$g" "$T0") s" test -n "$g"

peer_term A
check "lb2 holds $VIP6 on its $VMAC after SIGTERM of lb1" "" wait_for "$(calc "$MD_B + 1")" b_vmac_master
check "lb1's $VMAC removed on stop" "" vmac_gone "$NS_LB1"
scenario_end
