# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "partition": PARTS times, one node's bridge port (seeded pick) stops
# forwarding (`bridge link set ... state 0`: the port is cut off but the
# node's carrier stays up, so the daemon sees a silent network, not a
# link fault). The cut-off node must become master of its own (the split
# brain a partition allows); a random 0-2 advert intervals later the port
# forwards again. Must hold after each heal: one master per instance
# within one master-down interval (+ slack), VIPs only on it.

ROW_WHAT_partition="bridge port blocked (split brain), then healed"

row_partition() {
    local i side port worst=0 fails=0 bound msg=""
    bound=$(calc "$MD_B + $(slack_for "$ADV")")
    for ((i = 1; i <= PARTS; i++)); do
        side=$(rand_pick A B)
        port=p-$(side_name "$side")
        bridge -n "$NS_BR" link set dev "$port" state 0
        # Whichever side is cut off, lb2 loses its master and takes over
        # (lb1 stays master): wait for that split brain (bounded).
        wait_for "$(calc "$MD_B + $(slack_for "$ADV") + 0.5")" ns_has_all "$NS_LB2" "$VIP1" "$VIP2" || true
        sleep "$(rand_between 0 "$(calc "2 * $ADV")")"
        # Mutation "noheal" (--selftest): the port stays blocked.
        mutated noheal || bridge -n "$NS_BR" link set dev "$port" state 3
        if settle "$bound"; then
            awk -v a="$SETTLE_S" -v b="$worst" 'BEGIN { exit !(a > b) }' && worst=$SETTLE_S
        else
            fails=$((fails + 1))
            msg+=" #$i($(side_name "$side")): $SETTLE_MSG;"
        fi
    done
    if ((fails == 0)); then
        result "one master within master-down after heal" PASS "$PARTS heals, slowest whole after $worst s (bound $bound s)"
    else
        result "one master within master-down after heal" FAIL "$fails of $PARTS:$msg"
    fi
    if settle_slow 0; then result "v2 instance whole" PASS "$(pair_state)"
    else result "v2 instance whole" FAIL "$(pair_state)"; fi
    if mutated noheal; then
        bridge -n "$NS_BR" link set dev p-lb1 state 3
        bridge -n "$NS_BR" link set dev p-lb2 state 3
    fi
}
