#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# vrrp_track_process (issue 11): one side (T) tracks a process by its
# command line: argv[0] "kalrs-<lab>-web" and exactly the parameter
# "600" (a `sleep 600` started with `exec -a`), terminate_delay 0.5.
# T is A (weight -60: 150 -> 90) unless only B runs keepalived-rs, then
# B (weight +60: 100 -> 160), so that T is master exactly while the
# process runs. The proc connector exists only in the initial network
# namespace: keepalived-rs opens its socket there; keepalived 2.2.7 opens
# it in the daemon's namespace, where the kernel refuses it ("Failed to
# set/clear process event listen"), so T runs keepalived-rs whenever one
# side does; with keepalived on both sides that log line is all there is
# to check.
#   1. The process runs before the daemons start: T is master (scan).
#   2. SIGKILL of the process: the other side takes over, not before the
#      terminate_delay and within terminate_delay + an interval + its
#      master_down; T advertised its lowered priority.
#   3. A process with the same argv[0] and parameter "601" starts: no
#      match, the other side keeps the VIP.
#   4. The process starts again: T preempts within its master_down and
#      advertises its raised priority again.
# VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin track-process "vrrp_track_process: argv match, terminate_delay, takeover, recovery"
C_VERSION=3 C_ADVERT=0.1
TERM_DELAY=0.5
PNAME=kalrs-$LAB-web
if [[ $IMPL_A == ka && $IMPL_B == rs ]]; then T=B; else T=A; fi
if [[ $T == A ]]; then
    WEIGHT=-60 O=B T_NS=$NS_LB1 T_IP=$IP_LB1 T_BASE=$PRIO_A
    t_master() { a_master "$VIP"; }
    o_master() { b_master "$VIP"; }
else
    WEIGHT=60 O=A T_NS=$NS_LB2 T_IP=$IP_LB2 T_BASE=$PRIO_B
    t_master() { b_master "$VIP"; }
    o_master() { a_master "$VIP"; }
fi
T_UP=$T_BASE
T_DOWN=$T_BASE
if ((WEIGHT > 0)); then T_UP=$((T_BASE + WEIGHT)); else T_DOWN=$((T_BASE + WEIGHT)); fi
say "   tracker: $(side_name $T) ($(impl_of $T)), weight $WEIGHT: $T_UP with the process, $T_DOWN without"

start_proc() { # param -> pid of a sleep whose argv[0] is $PNAME
    ip netns exec "$T_NS" bash -c "exec -a $PNAME sleep $1" </dev/null >/dev/null 2>&1 &
    proc_register $! tracked-process
    printf '%s\n' "$!"
}

ROOT="vrrp_track_process web {
    process $PNAME 600
    weight $WEIGHT
    terminate_delay $TERM_DELAY
}"
EXTRA="    track_process {
        web
    }"
for side in A B; do
    name=$(side_name $side)
    if [[ $side == A ]]; then prio=$PRIO_A; else prio=$PRIO_B; fi
    if [[ $side == "$T" ]]; then
        { C_ROOT=$ROOT conf_global "$name"; C_EXTRA=$EXTRA conf_instance "$name" VI_1 $VRID $prio "$VIP/$PLEN"; } >"$RUN_DIR/$name.conf"
    else
        { C_ROOT='' conf_global "$name"; C_EXTRA='' conf_instance "$name" VI_1 $VRID $prio "$VIP/$PLEN"; } >"$RUN_DIR/$name.conf"
    fi
done
VIP_ADDRS=("$VIP")
pair_timers
MD_T=$(master_down_of 3 "$ADV" "$T_UP")
MD_O=$(master_down_of 3 "$ADV" "$([[ $O == A ]] && echo $PRIO_A || echo $PRIO_B)")

# keepalived on both sides: its proc connector socket is refused inside
# the namespace, so the only thing to check is that it says so.
if [[ $(impl_of $T) == ka ]]; then
    peer_start A "$RUN_DIR/lb1.conf"
    peer_start B "$RUN_DIR/lb2.conf"
    check "keepalived in a network namespace: proc connector refused" "see $(side_name $T).out" \
        wait_for 3 grep -q 'Failed to set/clear process event listen' "$RUN_DIR/$(side_name $T).out"
    # The closing wire check wants lb1's adverts: it is master for a while.
    sleep 1
    scenario_end
fi

# 1. the process runs first: the start-up scan finds it
P=$(start_proc 600)
sleep 0.2
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
check_state "process running at start: $(side_name $T) master" wait_for "$(calc "${START_ALLOW_S:-1} + 2 * $MD_T + $(slack_for "$ADV")")" t_master
check_state "$(side_name $T) stays master" holds_for 0.5 t_master
refresh_events
p=$(ev_first "$(adv_from_prio "$T_IP" "$T_UP")" "$T0" | ts_of)
check "$(side_name $T) advertises $T_UP" "at +$(delta "$p" "$T0") s" test -n "$p"

# 2. the process dies
sleep_random_phase "$ADV"
kill -KILL "$P"
T_KILL=$(now)
limit=$(calc "$TERM_DELAY + $ADV + $MD_O + $(slack_for "$ADV") + 0.1")
if wait_for "$(calc "$limit + 1")" o_master; then
    d=$(delta "$(now)" "$T_KILL")
    check "process killed: $(side_name $O) takes over after terminate_delay" "after $d s (allowed [$TERM_DELAY, $limit]); $(show_addrs)" \
        eval "ge '$d' '$TERM_DELAY' && le '$d' '$limit'"
else
    fail "process killed: $(side_name $O) takes over after terminate_delay" "not within $(calc "$limit + 1") s: $(show_addrs)"
fi
refresh_events
p=$(ev_first "$(adv_from_prio "$T_IP" "$T_DOWN")" "$T_KILL" | ts_of)
check "$(side_name $T) advertised $T_DOWN" "at +$(delta "$p" "$T_KILL") s" test -n "$p"

# 3. the same name with another parameter does not count
Q=$(start_proc 601)
check_state "argv[0] $PNAME with parameter 601: no match, $(side_name $O) keeps the VIP" holds_for 1 o_master

# 4. the process again
T_BACK=$(now)
P=$(start_proc 600)
limit=$(calc "$MD_T + $(slack_for "$ADV") + 0.2")
if wait_for "$(calc "$limit + 1")" t_master; then
    d=$(delta "$(now)" "$T_BACK")
    check "process back: $(side_name $T) preempts" "after $d s (allowed $limit); $(show_addrs)" le "$d" "$limit"
else
    fail "process back: $(side_name $T) preempts" "not within $(calc "$limit + 1") s: $(show_addrs)"
fi
refresh_events
p=$(ev_first "$(adv_from_prio "$T_IP" "$T_UP")" "$T_BACK" | ts_of)
check "$(side_name $T) advertises $T_UP again" "at +$(delta "$p" "$T_BACK") s" test -n "$p"
kill -KILL "$P" "$Q" 2>/dev/null || true
scenario_end
