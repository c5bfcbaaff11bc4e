#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Unicast peers (unicast_src_ip + unicast_peer): adverts go to the peer's
# address only, never to 224.0.0.18; election and a crash failover work as
# with multicast; both sides' unicast adverts carry a correct v3 checksum
# (pseudo-header with the peer as destination). VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin unicast "unicast_src_ip + unicast_peer: election and failover"
C_VERSION=3 C_ADVERT=0.1 C_UNICAST=1
pair_up "$VIP/$PLEN"
pair_steady_checks "$IP_LB2"
mc=$(ev_count "\$2 == \"V\" && \$5 == \"224.0.0.18\"")
check "no multicast advert from either side" "$mc adverts to 224.0.0.18" test "$mc" = 0

pair_crash_a_checks "the VIP" "$VIP/$PLEN"
check_adverts_fields "lb2 adverts as master to lb1 (unicast)" B 3 "$ADV_CS" "$IP_LB1" "$T_KILL"
cap_stop
refresh_events
check_adverts_valid "wire (lb2)" "$IP_LB2"
scenario_end
