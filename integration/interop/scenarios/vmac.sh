#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# use_vmac (issue 11): both sides run VI_1 (vrid 51, VRRPv3, 0.1 s) with
# use_vmac, lb1's net.ipv4.conf.all.rp_filter set to 2 first.
#   1. Each side has vrrp.51: a private-mode macvlan on eth0 with MAC
#      00:00:5e:00:01:33; the VIP is on lb1's vrrp.51 (not on eth0) only;
#      lb1's sysctls as keepalived sets them (vrrp.51 arp_ignore 1,
#      accept_local 1, rp_filter 0; eth0 arp_ignore 1, arp_filter 1;
#      all.rp_filter 0, eth0's rp_filter raised to 2).
#   2. The client sees lb1's adverts (source 192.0.2.1) and its gratuitous
#      ARP for the VIP from 00:00:5e:00:01:33, and lb1's ARP reply for the
#      VIP carries that MAC;
#      nothing from lb2's own MAC or the virtual MAC while lb2 is backup.
#   2b. lb1's vrrp.51 deleted from outside (`ip link del`): it is made
#      again as it was and lb1 holds the VIP on it (keepalived 2.2.7
#      recreates its VMAC too, through a FAULT; keepalived-rs stays
#      MASTER: no notify on lb1, and a gratuitous ARP from the new link).
#   3. SIGTERM of lb1: lb2 takes over, its adverts and GARP come from the
#      same virtual MAC with source 192.0.2.2; lb1's vrrp.51 is gone and
#      its sysctls are back (eth0 rp_filter 0, all.rp_filter 2; eth0
#      arp_ignore and arp_filter 0 with keepalived-rs, left at 1 by
#      keepalived 2.2.7).
#   4. lb2 reloaded with use_vmac + vmac_xmit_base: the instance keeps its
#      state and the VIP on vrrp.51 (no notify), adverts from eth0's MAC.
#   5. lb2 reloaded (SIGHUP) without use_vmac: its vrrp.51 is gone and the
#      VIP is on its eth0.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin vmac "use_vmac: macvlan, virtual source MAC on adverts and GARP, sysctls, removal"
C_VERSION=3 C_ADVERT=0.1
VMAC=vrrp.$VRID
VMAC_MAC=00:00:5e:00:01:$(printf '%02x' "$VRID")

ip netns exec "$NS_LB1" sysctl -qw net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth0.rp_filter=0
vmac_has() { # ns addr: the address is on the node's VMAC
    ip -n "$1" -o addr show dev "$VMAC" 2>/dev/null | awk -v a="$2" '{ split($4, x, "/"); if (x[1] == a) f = 1 } END { exit !f }'
}
vmac_exists() { ip -n "$1" link show dev "$VMAC" >/dev/null 2>&1; }
vmac_gone() { ! vmac_exists "$1"; }
a_vmac_master() { vmac_has "$NS_LB1" "$VIP" && ! vmac_has "$NS_LB2" "$VIP" && ns_has_none "$NS_LB1" "$VIP"; }
b_vmac_master() { vmac_has "$NS_LB2" "$VIP" && ! vmac_has "$NS_LB1" "$VIP"; }
sysctl_of() { ip netns exec "$1" cat "/proc/sys/net/ipv4/conf/$2/$3" 2>/dev/null || echo none; }
vmac_link_ok() { # ns -> "" when vrrp.51 is right, else what is wrong
    local d
    d=$(ip -n "$1" -d -o link show dev "$VMAC" 2>/dev/null) || { echo "no $VMAC"; return; }
    [[ $d == *"$VMAC@$IFACE"* ]] || echo "not on $IFACE"
    [[ $d == *"macvlan mode private"* ]] || echo "not macvlan private"
    [[ $d == *"link/ether $VMAC_MAC "* ]] || echo "MAC not $VMAC_MAC"
}

for node in lb1 lb2; do
    { conf_global $node; C_EXTRA="    use_vmac" conf_instance $node VI_1 $VRID "$([[ $node == lb1 ]] && echo $PRIO_A || echo $PRIO_B)" "$VIP/$PLEN"; } >"$RUN_DIR/$node.conf"
done
VIP_ADDRS=("$VIP")
pair_timers
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
limit=$(calc "${START_ALLOW_S:-1} + $MD_A + $(slack_for "$ADV")")
check_state "election: VIP on lb1's $VMAC only" wait_for "$limit" a_vmac_master
T_ELECT=$(now)

# 1. the links and the sysctls
for ns in "$NS_LB1" "$NS_LB2"; do
    w=$(vmac_link_ok "$ns")
    check "$VMAC on ${ns##*-}: private macvlan on $IFACE, MAC $VMAC_MAC" "${w:-ok}" test -z "$w"
done
got="$(sysctl_of "$NS_LB1" "$VMAC" arp_ignore) $(sysctl_of "$NS_LB1" "$VMAC" accept_local) $(sysctl_of "$NS_LB1" "$VMAC" rp_filter)"
check "lb1 $VMAC arp_ignore accept_local rp_filter = 1 1 0" "$got" test "$got" = "1 1 0"
got="$(sysctl_of "$NS_LB1" "$IFACE" arp_ignore) $(sysctl_of "$NS_LB1" "$IFACE" arp_filter) $(sysctl_of "$NS_LB1" "$IFACE" rp_filter) $(sysctl_of "$NS_LB1" all rp_filter)"
check "lb1 $IFACE arp_ignore arp_filter rp_filter, all.rp_filter = 1 1 2 0" "$got" test "$got" = "1 1 2 0"

# 2. the wire
holds_for 0.3 a_vmac_master || true
refresh_events
n=$(ev_count "\$2 == \"V\" && \$3 == \"$VMAC_MAC\" && \$4 == \"$IP_LB1\"" "$T0")
check "lb1's adverts leave from $VMAC_MAC (source $IP_LB1)" "$n adverts" test "$n" -gt 0
n=$(ev_count "\$2 == \"V\" && \$3 == \"$MAC_LB1\"" "$T0")
check "no advert from lb1's own MAC $MAC_LB1" "$n adverts" test "$n" = 0
g=$(ev_first "$(garp_from "$VMAC_MAC" "$VIP")" "$T0" | ts_of)
check "client saw lb1's gratuitous ARP for $VIP from $VMAC_MAC" "at +$(delta "$g" "$T0") s" test -n "$g"
# The ARP reply itself: the client's neighbour entry is no witness, as
# lb1 answers the probe datagram from the VIP out of eth0 and its ARP
# request for the client (sender 192.0.2.100, eth0's MAC) overwrites it.
T=$(now)
client_resolve "$VIP"
sleep 0.1
refresh_events
r=$(ev_first "\$2 == \"A\" && \$4 == \"$VIP\" && \$6 == \"2\"" "$T" | awk '{ print $3 }')
check "lb1 answers ARP for $VIP with $VMAC_MAC" "reply from ${r:-none}" test "$r" = "$VMAC_MAC"
nb=$(ev_count "\$2 == \"V\" && \$4 == \"$IP_LB2\"" "$(calc "$T_ELECT + $ADV")")
check "lb2 silent while backup" "$nb adverts from lb2 after election" test "$nb" = 0

# 2b. the VMAC deleted behind lb1's back comes back, with the VIP on it
T=$(now)
ip -n "$NS_LB1" link del dev "$VMAC"
check "lb1's $VMAC made again after ip link del" "" wait_for 2 eval 'w=$(vmac_link_ok "$NS_LB1"); [[ -z $w ]]'
check_state "lb1 holds the VIP on its new $VMAC" wait_for "$(calc "$MD_B + 2")" a_vmac_master
holds_for 0.3 a_vmac_master || true
refresh_events
g=$(ev_first "$(garp_from "$VMAC_MAC" "$VIP")" "$T" | ts_of)
check "client saw a gratuitous ARP for $VIP from $VMAC_MAC after the deletion" "at +$(delta "$g" "$T") s" test -n "$g"
if [[ $IMPL_A == rs ]]; then
    n=$(awk -v t="$T" '$1 + 0 > t + 0 && $2 == "lb1"' "$RUN_DIR/notify.log" | wc -l)
    check "lb1 stayed MASTER through it (no notify)" "$n notify lines" test "$n" = 0
fi

# 3. SIGTERM of lb1: lb2 takes over from the same virtual MAC; lb1 cleans up
peer_term A
T=$T_EVENT
check_state "lb2 holds the VIP on its $VMAC after SIGTERM of lb1" wait_for "$(calc "$MD_B + 1")" b_vmac_master
sleep "$(calc "3 * $ADV")"
refresh_events
n=$(ev_count "\$2 == \"V\" && \$3 == \"$VMAC_MAC\" && \$4 == \"$IP_LB2\"" "$T")
check "lb2's adverts leave from $VMAC_MAC (source $IP_LB2)" "$n adverts" test "$n" -gt 0
g=$(ev_first "$(garp_from "$VMAC_MAC" "$VIP")" "$T" | ts_of)
check "client saw lb2's gratuitous ARP for $VIP from $VMAC_MAC" "at +$(delta "$g" "$T") s" test -n "$g"
check "lb1's $VMAC removed on stop" "$(ip -n "$NS_LB1" -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | paste -sd' ' -)" vmac_gone "$NS_LB1"
# keepalived 2.2.7 puts rp_filter back but leaves eth0's arp_ignore and
# arp_filter at 1; keepalived-rs puts them back too (docs/compatibility.md).
case $IMPL_A in
    ka) want="1 1 0 2" ;;
    *) want="0 0 0 2" ;;
esac
got="$(sysctl_of "$NS_LB1" "$IFACE" arp_ignore) $(sysctl_of "$NS_LB1" "$IFACE" arp_filter) $(sysctl_of "$NS_LB1" "$IFACE" rp_filter) $(sysctl_of "$NS_LB1" all rp_filter)"
check "lb1 sysctls after stop: $IFACE arp_ignore arp_filter rp_filter, all.rp_filter = $want" "$got" test "$got" = "$want"

# 4. vmac_xmit_base by reload: the instance keeps its state and its VIP,
#    its adverts now leave from eth0's own MAC
{ conf_global lb2; C_EXTRA="    use_vmac
    vmac_xmit_base" conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"
T=$(now)
kill -HUP "${PEER_PID[B]}"
check_state "vmac_xmit_base: lb2 keeps the VIP on its $VMAC through the reload" holds_for 1 b_vmac_master
refresh_events
n=$(ev_count "\$2 == \"V\" && \$3 == \"$MAC_LB2\" && \$4 == \"$IP_LB2\"" "$T")
v=$(ev_count "\$2 == \"V\" && \$3 == \"$VMAC_MAC\"" "$(calc "$T + 0.5")")
check "vmac_xmit_base: lb2's adverts leave from $IFACE's MAC $MAC_LB2" "$n adverts, $v from $VMAC_MAC after +0.5 s" test "$n" -gt 0 -a "$v" = 0
n=$(awk -v t="$T" '$1 + 0 > t + 0 && $2 == "lb2"' "$RUN_DIR/notify.log" | wc -l)
check "vmac_xmit_base: no state change on lb2 (no notify)" "$n notify lines" test "$n" = 0

# 5. a reload without use_vmac removes lb2's VMAC
{ conf_global lb2; C_EXTRA="" conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"
kill -HUP "${PEER_PID[B]}"
check "reload without use_vmac: lb2's $VMAC removed" "" wait_for 3 vmac_gone "$NS_LB2"
check_state "reload without use_vmac: the VIP is on lb2's $IFACE" wait_for 3 ns_has_all "$NS_LB2" "$VIP"

# The closing wire check looks at lb1's adverts (source 192.0.2.1).
scenario_end
