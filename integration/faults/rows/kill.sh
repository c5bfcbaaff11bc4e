# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "kill": KILLS SIGKILLs, in blocks of six in seeded random order:
# each node's VRRP child twice and its parent (the supervisor) once, each
# a random 0-3 advert intervals after the pair was last whole.
#
# Schedule and back-off: the supervisor respawns a child that dies
# within 60 s of its start after 0, 0.1, 0.2, 0.4 ... s (doubling to
# 30 s; crates/daemon/src/supervisor.rs). A block kills each supervisor
# after at most two child deaths, so no supervisor sees more than four
# quick deaths (the last two of one block, the first two of the next):
# the longest respawn delay reached is 0.4 s, and the runner waits for
# the respawn (bounded by RESPAWN_S) before it checks anything.
# A killed parent is restarted by the runner, as a service manager
# would; its orphaned child must end by itself (PR_SET_PDEATHSIG).
#
# Must hold after each kill: no leaked process (nothing in the node's
# namespace but the running daemon and its descendants) within
# LEAK_S; the VRRP child running again; the pair whole within the bound
# (master-down + slack, + START_ALLOW_S after a restart).

ROW_WHAT_kill="SIGKILL of the parent and of the VRRP child"

child_replaced() { # side old-pid: the daemon has a VRRP child, not that one
    local new
    new=$(node_child "$1")
    [[ -n $new && $new != "$2" ]]
}
ns_empty() { [[ -z $(ip netns pids "$1" 2>/dev/null) ]]; }

row_kill() {
    local i k block side what pid child t_kill bound \
        fails_whole=0 fails_leak=0 fails_respawn=0 msg_w="" msg_l="" msg_r="" \
        worst=0 worst_respawn=0 n_parent=0 n_child=0 dt
    for ((i = 0; i < KILLS; i++)); do
        k=$((i % 6))
        if ((k == 0)); then
            # A new block: the six kills in a seeded random order.
            block=("A child" "A child" "A parent" "B child" "B child" "B parent")
            local j r tmp
            for ((j = 5; j > 0; j--)); do
                r=$((RANDOM % (j + 1)))
                tmp=${block[j]}; block[j]=${block[r]}; block[r]=$tmp
            done
        fi
        read -r side what <<<"${block[k]}"
        sleep "$(rand_between 0 "$(calc "3 * $ADV")")"
        pid=${PEER_PID[$side]}
        child=$(node_child "$side")
        t_kill=$EPOCHREALTIME
        if [[ $what == child ]]; then
            n_child=$((n_child + 1))
            [[ -n $child ]] && kill -KILL "$child" 2>/dev/null
            # The supervisor respawns it (a new pid under the same parent).
            if wait_for "$RESPAWN_S" child_replaced "$side" "${child:-x}"; then
                dt=$(delta "$EPOCHREALTIME" "$t_kill")
                awk -v a="$dt" -v b="$worst_respawn" 'BEGIN { exit !(a > b) }' && worst_respawn=$dt
            else
                fails_respawn=$((fails_respawn + 1))
                msg_r+=" #$((i + 1)) $(side_name "$side") child not respawned within $RESPAWN_S s;"
                # Leave the row in a state the next kill can use.
                peer_crash "$side"
                node_start "$side"
            fi
        else
            n_parent=$((n_parent + 1))
            kill -KILL "$pid" 2>/dev/null
            proc_wait_gone "$pid" 3 || true
            # shellcheck disable=SC2004 # PEER_PID is associative (lib/peer.sh)
            PEER_PID[$side]=
            # Its child must not outlive it: wait, bounded, for the
            # namespace to empty before the restart.
            if ! wait_for "$LEAK_S" ns_empty "$(side_ns "$side")"; then
                fails_leak=$((fails_leak + 1))
                msg_l+=" #$((i + 1)) after parent kill on $(side_name "$side"): $(ip netns pids "$(side_ns "$side")" | tr '\n' ' ');"
                # Clear the way for the restart (what a reboot would do).
                for p in $(ip netns pids "$(side_ns "$side")"); do kill -KILL "$p" 2>/dev/null || true; done
                wait_for 2 ns_empty "$(side_ns "$side")" || true
            fi
            rm -f "$RUN_DIR/$(side_name "$side").pid" "$RUN_DIR/$(side_name "$side").vrrp.pid"
            node_start "$side"
        fi
        # A respawned child or a restarted daemon starts as backup and
        # waits one master-down before it preempts.
        bound=$(calc "$START_ALLOW_S + $MD_B + $(slack_for "$ADV")")
        if settle "$bound"; then
            awk -v a="$SETTLE_S" -v b="$worst" 'BEGIN { exit !(a > b) }' && worst=$SETTLE_S
        else
            fails_whole=$((fails_whole + 1))
            msg_w+=" #$((i + 1)) $(side_name "$side") $what: $SETTLE_MSG;"
        fi
        # Mutation "stray" (--selftest): a process left in lb2's namespace.
        if mutated stray; then
            ip netns exec "$NS_LB2" sleep 60 &
            proc_register $! stray
        fi
        if ! wait_for "$LEAK_S" no_leaks; then
            fails_leak=$((fails_leak + 1))
            msg_l+=" #$((i + 1)) $(side_name "$side") $what: lb1[$(node_leaked A)] lb2[$(node_leaked B)];"
        fi
    done
    if ((fails_whole == 0)); then
        result "one master, VIPs only on it, after each" PASS "$KILLS kills ($n_parent parent, $n_child child), slowest whole after $worst s"
    else
        result "one master, VIPs only on it, after each" FAIL "$fails_whole of $KILLS:$msg_w"
    fi
    if ((fails_respawn == 0)); then
        result "VRRP child respawned" PASS "$n_child child kills, slowest respawn $worst_respawn s"
    else
        result "VRRP child respawned" FAIL "$fails_respawn of $n_child:$msg_r"
    fi
    if ((fails_leak == 0)); then
        result "no leaked process" PASS "namespaces hold only the daemons after each kill"
    else
        result "no leaked process" FAIL "$fails_leak:$msg_l"
    fi
    if settle_slow "$START_ALLOW_S"; then result "v2 instance whole" PASS "$(pair_state)"
    else result "v2 instance whole" FAIL "$(pair_state)"; fi
}
