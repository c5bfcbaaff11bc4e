#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Every encoding side A can send, in one daemon, decoded by tshark:
#   VI_1  vrid 51  VRRPv2 (per-instance "version 2"), advert_int 1,
#         multicast, auth PASS          VIP 192.0.2.100
#   VI_2  vrid 52  VRRPv3 IPv4, advert_int 0.1, unicast to lb2
#                                       VIP 192.0.2.101
#   VI_3  vrid 53  VRRPv3 IPv6, advert_int 0.1, multicast ff02::12
#                                       VIP 2001:db8:0:1::100
# Each instance's adverts must carry its version, vrid, interval and
# destination; the PASS string must be the configured one; and every
# advert from lb1 must be valid VRRP with a correct checksum (the check at
# the end of every scenario, here over all three encodings).
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin wire "tshark: v2+auth, v3 unicast, v3 IPv6 adverts are valid with correct checksums"
PW=ki-wire1
write_conf() { # node prio
    conf_global "$1"
    C_INST_VERSION=2 C_ADVERT=1 C_AUTH_PASS=$PW conf_instance "$1" VI_1 51 "$2" "$VIP/$PLEN"
    C_UNICAST=1 C_ADVERT=0.1 conf_instance "$1" VI_2 52 "$2" "$VIP2/$PLEN"
    C_ADVERT=0.1 conf_instance "$1" VI_3 53 "$2" "$VIP6/64"
}
C_VERSION=3
write_conf lb1 $PRIO_A >"$RUN_DIR/lb1.conf"
write_conf lb2 $PRIO_B >"$RUN_DIR/lb2.conf"
VIP_ADDRS=("$VIP" "$VIP2" "$VIP6")
C_INST_VERSION=2 C_ADVERT=1 pair_timers      # the slowest instance sets the pace
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
pair_wait_a_master "lb1 master of all three instances" "$T0"
sleep 1.2
refresh_events
ll=$(linklocal_of "$NS_LB1")
one() { # label src vrid ver intvl_cs dst
    local line ver iv dst
    line=$(ev_first "\$2 == \"V\" && \$4 == \"$2\" && \$8 == \"$3\"" "$T0")
    read -r _ _ _ _ dst _ ver _ _ iv _ <<<"$line"
    check "$1" "${line:+v$ver vrid $3 ${iv}cs > $dst}" test -n "$line" -a "$ver" = "$4" -a "$iv" = "$5" -a "$dst" = "$6"
}
one "VI_1: VRRPv2 multicast advert" "$IP_LB1" 51 2 100 224.0.0.18
one "VI_2: VRRPv3 unicast advert" "$IP_LB1" 52 3 10 "$IP_LB2"
one "VI_3: VRRPv3 IPv6 advert" "$ll" 53 3 10 ff02::12
pw=$( (tshark -r "$PCAP" "${TSHARK_OPTS[@]}" -Y "ip.src == $IP_LB1 && vrrp.virt_rtr_id == 51" -T fields -e vrrp.auth_type -e vrrp.auth_string 2>/dev/null || true) | head -n 1)
check "VI_1: auth type 1, string '$PW'" "decoded: ${pw:-none}" test "$pw" = "1	$PW"
scenario_end
