# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "flap": FLAPS admin down/up cycles of the VRRP interface (eth0) of a
# node picked at random each cycle, down and up for random times of
# 10-300 ms each (seeded). Must hold once the link is up again for the
# bound: the daemons still run, the pair is whole (one master per
# instance, its VIPs only on it), and it is lb1 again (higher priority,
# preempt); the slow v2 instance too, within its own master-down. Then
# lb1's link goes down for longer: lb1 must release its VIPs
# (keepalived's FAULT state) within one master-down while lb2 takes over,
# and be master again once the link is up.

ROW_WHAT_flap="admin down/up cycles of eth0 at random intervals"

# lb1 (link down) holds none of the VIPs, lb2 the fast instances' ones.
lb1_released() { ns_has_none "$NS_LB1" "$VIP1" "$VIP2" "$VIP3" && ns_has_all "$NS_LB2" "$VIP1" "$VIP2"; }

row_flap() {
    local i side ns t_end bound ok=1 dead
    for ((i = 1; i <= FLAPS; i++)); do
        side=$(rand_pick A B)
        ns=$(side_ns "$side")
        sleep "$(rand_between 0.01 0.3)"
        ip -n "$ns" link set "$IFACE" down
        sleep "$(rand_between 0.01 0.3)"
        ip -n "$ns" link set "$IFACE" up
    done
    # Mutation "flapdown" (--selftest): lb1's link stays down.
    if mutated flapdown; then ip -n "$NS_LB1" link set "$IFACE" down; fi
    t_end=$EPOCHREALTIME
    dead=""
    peer_alive A || dead+=" lb1"
    peer_alive B || dead+=" lb2"
    if [[ -z $dead ]]; then result "daemons survive $FLAPS flaps" PASS "both running"
    else result "daemons survive $FLAPS flaps" FAIL "exited:$dead"; fi
    # After the last up: the instance leaves FAULT, waits one master-down
    # as backup; LINK_S allows for the link event to reach the daemon.
    bound=$(calc "$MD_A + $(slack_for "$ADV") + $LINK_S")
    if settle "$bound"; then
        result "one master after the last flap" PASS "whole after $SETTLE_S s (bound $bound s): $(pair_state)"
    else
        result "one master after the last flap" FAIL "$SETTLE_MSG"; ok=0
    fi
    if ((ok)) && wire_masters 51 "$(calc "2 * $ADV")" | grep -qx lb1; then
        result "lb1 (priority 150) is master again" PASS "$(pair_state)"
    else
        result "lb1 (priority 150) is master again" FAIL "$(pair_state)"
    fi
    if settle_slow "$LINK_S"; then result "v2 instance whole" PASS "after $(delta "$EPOCHREALTIME" "$t_end") s: $(pair_state)"
    else result "v2 instance whole" FAIL "$(pair_state)"; fi
    if mutated flapdown; then ip -n "$NS_LB1" link set "$IFACE" up; fi
    # A lasting link loss on the master.
    ip -n "$NS_LB1" link set "$IFACE" down
    bound=$(calc "$MD_B + $(slack_for "$ADV") + $LINK_S")
    if wait_for "$bound" lb1_released; then
        result "link down: lb1 releases its VIPs" PASS "within $bound s: lb2 holds them ($(pair_state))"
    else
        result "link down: lb1 releases its VIPs" FAIL "after $bound s with lb1's eth0 down: lb1[$(vips_of "$NS_LB1")] lb2[$(vips_of "$NS_LB2")]"
    fi
    ip -n "$NS_LB1" link set "$IFACE" up
    if settle "$(calc "$MD_A + $(slack_for "$ADV") + $LINK_S")" && [[ $(wire_masters 51 "$(calc "2 * $ADV")") == lb1 ]]; then
        result "link up: lb1 master again" PASS "whole after $SETTLE_S s: $(pair_state)"
    else
        result "link up: lb1 master again" FAIL "${SETTLE_MSG:-lb1 not master}: $(pair_state)"
    fi
}
