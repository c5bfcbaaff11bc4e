#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# The master's own link goes down ("pull the cable"), twice:
# 1. admin down on the node (ip link set eth0 down);
# 2. carrier loss: the bridge-side end of A's veth goes down.
# Each time B takes over within its master_down, A is FAULT (notify FAULT)
# and holds no VIP; when the link returns A goes BACKUP (notify) and
# preempts within A's master_down. VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin link-fault "own interface down: FAULT, VIP released, back and preempt"
C_VERSION=3 C_ADVERT=0.1
pair_up "$VIP/$PLEN"
check_state "lb1 master" holds_for 0.5 a_master "$VIP"
LINK_SLACK=0.25

fault_round() { # what down-cmd up-cmd
    local what=$1 down=$2 up=$3 T limit f b
    T=$(now)
    eval "$down"
    limit=$(calc "$MD_B + $(slack_for "$ADV") + $LINK_SLACK")
    expect_b_takes_over "$what: lb2 takes over, lb1 has no VIP" "$T" 0 "$limit"
    f=$(notify_first "$T" lb1 FAULT)
    check "$what: notify lb1 FAULT" "+$(delta "$f" "$T") s" test -n "$f"
    check_state "$what: lb1 keeps no VIP while down" holds_for 0.5 b_master "$VIP"
    T=$(now)
    eval "$up"
    limit=$(calc "$MD_A + $(slack_for "$ADV") + $LINK_SLACK + 0.2")
    expect_a_takes_back "$what: link back, lb1 preempts" "$T" 0 "$limit"
    b=$(notify_first "$T" lb1 BACKUP)
    check "$what: notify lb1 BACKUP on return" "+$(delta "$b" "$T") s" test -n "$b"
}
fault_round "admin down" "ip -n $NS_LB1 link set $IFACE down" "ip -n $NS_LB1 link set $IFACE up"
fault_round "carrier loss" "ip -n $NS_BR link set p-lb1 down" "ip -n $NS_BR link set p-lb1 up"
scenario_end
