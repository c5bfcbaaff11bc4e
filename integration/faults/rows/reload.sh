# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "reload": RELOADS SIGHUPs to both nodes, the configuration cycling
# good -> broken (an unbalanced brace) -> VIP list of VI_2 changed (adds
# 192.0.2.102) -> good ... Each HUP waits for the previous reload to end
# (ours logs "Reload finished" / "Reload aborted"; the VI_2 addresses are
# checked on lb1), so it is a storm as fast as the daemons complete.
# Must hold: the daemons never exit; every broken configuration is
# refused (one "Reload aborted" per broken HUP and node, the running
# generation kept); every good one is applied; VI_1, whose instance never
# changes, never flaps: its VIP is never deleted from lb1 nor added to
# lb2 (ip monitor in both namespaces) and lb2 never advertises it.
# keepalived 2.2.7 exits at the first broken configuration
# (shared/reference/keepalived-measured.md): its column says so.

ROW_WHAT_reload="SIGHUP storm: good / broken / VIP-list change"

REFUSED_RE='Reload aborted'
DONE_RE='Reload (finished|aborted)'

log_count() { # side regex -> matching lines in the side's daemon log
    grep -cE "$2" "$RUN_DIR/$(side_name "$1").out" 2>/dev/null || true
}
# Both daemons logged the end of one more reload than before (or one died).
reload_ended() { # done-a-before done-b-before
    ! peer_alive A || ! peer_alive B && return 0
    (($(log_count A "$DONE_RE") > $1 && $(log_count B "$DONE_RE") > $2))
}
vi2_matches() { # want-102 (0|1): VI_2's addresses on lb1 are the configured ones
    ns_has_addr "$NS_LB1" "$VIP2" || return 1
    if [[ $1 == 1 ]]; then ns_has_addr "$NS_LB1" "$VIP2B"; else ! ns_has_addr "$NS_LB1" "$VIP2B"; fi
}

row_reload() {
    local i kind mon1 mon2 pid1 pid2 t0 want done_a done_b refused_a0 refused_b0 \
        broken=0 not_applied=0 exited="" flaps adv_b gap s
    mon1=$RUN_DIR/reload-monitor-lb1.txt
    mon2=$RUN_DIR/reload-monitor-lb2.txt
    ip -n "$NS_LB1" monitor address >"$mon1" 2>&1 &
    pid1=$!
    proc_register "$pid1" monitor-lb1
    ip -n "$NS_LB2" monitor address >"$mon2" 2>&1 &
    pid2=$!
    proc_register "$pid2" monitor-lb2
    sleep 0.1
    refused_a0=$(log_count A "$REFUSED_RE")
    refused_b0=$(log_count B "$REFUSED_RE")
    t0=$EPOCHREALTIME
    for ((i = 1; i <= RELOADS; i++)); do
        case $((i % 3)) in
            1) kind=broken ;;
            2) kind=vips ;;
            0) kind=good ;;
        esac
        case $kind in
            good) write_confs; want=0 ;;
            vips) write_confs "$VIP2B"; want=1 ;;
            broken)
                broken=$((broken + 1))
                # Mutation "notbroken" (--selftest): the "broken" one is good.
                mutated notbroken && continue
                for s in lb1 lb2; do printf '\nvrrp_instance BROKEN {\n    state BACKUP\n' >>"$RUN_DIR/$s.conf"; done ;;
        esac
        done_a=$(log_count A "$DONE_RE")
        done_b=$(log_count B "$DONE_RE")
        kill -HUP "${PEER_PID[A]}" "${PEER_PID[B]}" 2>/dev/null || true
        # Wait for both reloads to end (or a daemon to die), bounded.
        wait_for 5 reload_ended "$done_a" "$done_b" || true
        if ! peer_alive A || ! peer_alive B; then
            # The other node got the same HUP: give it a moment to end too.
            wait_for 1 eval '! peer_alive A && ! peer_alive B' || true
            peer_alive A || exited+=" lb1"
            peer_alive B || exited+=" lb2"
            exited="at reload #$i ($kind):$exited"
            break
        fi
        if [[ $kind != broken ]] && ! wait_for 2 vi2_matches "$want"; then
            not_applied=$((not_applied + 1))
        fi
        sleep "$(rand_between 0 0.05)"
    done
    sleep "$(calc "$MD_B + $(slack_for "$ADV")")"
    kill "$pid1" "$pid2" 2>/dev/null || true
    wait "$pid1" "$pid2" 2>/dev/null || true
    if [[ -z $exited ]]; then
        result "daemons never exit" PASS "$RELOADS reloads ($broken broken), both running"
    elif [[ $IMPL == ka ]]; then
        result "daemons never exit" FAIL "exited $exited (known: keepalived-measured.md)"
    else
        result "daemons never exit" FAIL "exited $exited"
    fi
    if [[ -z $exited ]]; then
        local ra rb
        ra=$(($(log_count A "$REFUSED_RE") - refused_a0))
        rb=$(($(log_count B "$REFUSED_RE") - refused_b0))
        if ((ra == broken && rb == broken && not_applied == 0)); then
            result "broken refused, good applied" PASS "refused lb1 $ra, lb2 $rb of $broken; VIP list applied every time"
        else
            result "broken refused, good applied" FAIL "refused lb1 $ra, lb2 $rb of $broken; $not_applied good reload(s) not applied within 2 s"
        fi
    else
        result "broken refused, good applied" FAIL "not refused: the daemon exited $exited"
    fi
    flaps=$( (grep -E "Deleted .*inet $VIP1/" "$mon1" || true) | wc -l)
    flaps=$((flaps + $( (grep -E "inet $VIP1/" "$mon2" || true) | wc -l)))
    adv_b=$(wire_adverts "$t0" | awk -v s="$IP_LB2" '$2 == s && $3 == 51 && $4 > 0' | wc -l)
    gap=$(wire_adverts "$t0" | awk -v s="$IP_LB1" '$2 == s && $3 == 51 { if (n++ && $1 - l > g) g = $1 - l; l = $1 } END { printf "%.4f", g }')
    if [[ -n $exited ]]; then
        result "unchanged VI_1 never flaps" FAIL "$flaps VIP events, $adv_b lb2 adverts (daemon exited $exited)"
    elif ((flaps == 0 && adv_b == 0)); then
        result "unchanged VI_1 never flaps" PASS "no VIP event, no lb2 advert; lb1's longest advert gap $gap s"
    else
        result "unchanged VI_1 never flaps" FAIL "$flaps VIP events (ip monitor), $adv_b lb2 adverts; lb1's longest gap $gap s"
    fi
    # Leave the pair on the good configuration.
    write_confs
    if [[ -z $exited ]]; then
        done_a=$(log_count A "$DONE_RE")
        kill -HUP "${PEER_PID[A]}" "${PEER_PID[B]}" 2>/dev/null || true
        wait_for 5 reload_ended "$done_a" "$(log_count B "$DONE_RE")" || true
        wait_for 2 vi2_matches 0 || true
    fi
}
