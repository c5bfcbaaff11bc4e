#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# vrrp_sync_group: on each side, VI_1 (eth0, vrid 51, 192.0.2.100) and VI_2
# (eth1, a second bridge, vrid 52, 198.51.100.100) in sync group G with
# group notify hooks and a vrrp_notify_fifo. VRRPv3, advert_int 0.1.
# 1. Election: lb1 holds both VIPs. lb1's FIFO: the group's script (below)
#    holds both members silently until its first result, then VI_2 and
#    VI_1 BACKUP, `GROUP "G" BACKUP 0`; both MASTER, `GROUP "G" MASTER 0`.
# 2. lb1's eth1 goes down (VI_2's own link): VI_2 FAULT takes VI_1 to
#    FAULT too, so lb2 takes over both VIPs although lb1's eth0 is fine.
#    lb1: notify_fault G, notify GROUP G FAULT 0, FIFO VI_2 FAULT, VI_1
#    FAULT, GROUP FAULT in that order; lb2: GROUP G MASTER 0 after its
#    two instances' MASTER lines.
# 3. eth1 up: lb1 leaves FAULT (GROUP G BACKUP) and takes both back; lb2
#    reports GROUP G BACKUP.
# 4. The group's own track_script (weight 0, interval 1, fall 1) fails on
#    lb1: the group is FAULT and lb2 takes both; it succeeds again: lb1
#    takes both back.
# 5. SIGTERM of lb2: its FIFO ends with both instances' STOP lines, then
#    `GROUP "G" STOP 0`; notify_stop G runs.
# 6. SIGHUP of lb1 with the same config: no notification, the VIPs stay.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin sync-group "vrrp_sync_group: one member's link fails, both instances move; group notify and FIFO lines"
C_VERSION=3 C_ADVERT=0.1
VRID2=52
VIP_L2=198.51.100.100
lab_second_link

INTERVAL=1
group_conf() { # node
    local hook="$RUN_DIR/notify-hook $RUN_DIR/notify.log $1"
    cat <<EOF

vrrp_script chk_g {
    script "/usr/bin/test -e $RUN_DIR/ok-$1"
    interval $INTERVAL
    fall 1
    rise 1
}

vrrp_sync_group G {
    group {
        VI_1
        VI_2
    }
    notify_master "$hook notify_master G"
    notify_backup "$hook notify_backup G"
    notify_fault "$hook notify_fault G"
    notify_stop "$hook notify_stop G"
    notify "$hook notify"
    track_script {
        chk_g
    }
}
EOF
}
write_conf() { # node prio
    conf_global "$1" | sed "/router_id/a\\    vrrp_notify_fifo $RUN_DIR/$1.fifo"
    conf_instance "$1" VI_1 "$VRID" "$2" "$VIP/$PLEN"
    IFACE=$IFACE2 conf_instance "$1" VI_2 "$VRID2" "$2" "$VIP_L2/$PLEN"
    group_conf "$1"
}
# A reader on each FIFO before the daemons start (the teardown ends it).
fifo_reader() { # node
    mkfifo -m 0600 "$RUN_DIR/$1.fifo"
    # Opened read-write, so a daemon reopening its end at a reload is no
    # end of file.
    bash -c 'exec 3<>"$1"; exec cat <&3' fifo-reader "$RUN_DIR/$1.fifo" >"$RUN_DIR/$1.fifo.log" &
    local pid=$!
    disown "$pid"
    proc_register "$pid" "fifo-$1"
}
touch "$RUN_DIR/ok-lb1" "$RUN_DIR/ok-lb2"
write_conf lb1 "$PRIO_A" >"$RUN_DIR/lb1.conf"
write_conf lb2 "$PRIO_B" >"$RUN_DIR/lb2.conf"
fifo_reader lb1
fifo_reader lb2

on_l2() { IFACE=$IFACE2 "$@"; }
a_both() { a_master "$VIP" && on_l2 a_master "$VIP_L2"; }
b_both() { b_master "$VIP" && on_l2 b_master "$VIP_L2"; }
l2_addrs() { printf 'eth1 VIPs lb1[%s] lb2[%s]' "$(IFACE=$IFACE2 extra_addrs "$NS_LB1" "$IP2_LB1" x)" "$(IFACE=$IFACE2 extra_addrs "$NS_LB2" "$IP2_LB2" x)"; }
check_both() { # name cmd...
    local name=$1 rc=0
    shift
    "$@" || rc=$?
    if ((rc == 0)); then pass "$name" "$(show_addrs); $(l2_addrs)"; else fail "$name" "$(show_addrs); $(l2_addrs)"; fi
}
# notify.log: the group's hooks (notify_<state> G, or notify GROUP G
# <STATE> 0 exactly) for NODE after AFTER.
group_notify() { # after node kind(specific|generic) state
    awk -v a="$1" -v n="$2" -v k="$3" -v s="$4" '
        $1 + 0 > a + 0 && $2 == n {
            if (k == "specific" && $3 == "notify_" tolower(s) && $4 == "G" && NF == 4) { print $1; exit }
            if (k == "generic" && $3 == "notify" && $4 == "GROUP" && $5 == "G" && $6 == s && $7 == "0" && NF == 7) { print $1; exit }
        }' "$RUN_DIR/notify.log"
}
check_group_notify() { # label after node state
    local s g
    # Hooks are started, not awaited: a loaded machine runs them late.
    wait_for 1 eval "[[ -n \$(group_notify $2 $3 specific $4) && -n \$(group_notify $2 $3 generic $4) ]]" || true
    s=$(group_notify "$2" "$3" specific "$4")
    g=$(group_notify "$2" "$3" generic "$4")
    check "$1: notify_$(tr '[:upper:]' '[:lower:]' <<<"$4") G" "${s:+at +$(delta "$s" "$2") s}" test -n "$s"
    check "$1: notify GROUP G $4 0" "${g:+at +$(delta "$g" "$2") s}" test -n "$g"
}
# The FIFO lines from line FROM on (1-based) of NODE's log, joined by "|".
fifo_since() { # node from
    tail -n "+$2" "$RUN_DIR/$1.fifo.log" | paste -sd'|' -
}
fifo_lines() { wc -l <"$RUN_DIR/$1.fifo.log"; }
# Lines FROM.. of NODE's FIFO: each instance's STATE line (any order),
# then the group's, and nothing else.
check_fifo_states() { # label node from state prio
    local got want1 want2
    wait_for 1 eval "[[ \$(fifo_since $2 $3) == *'GROUP \"G\" $4 0'* ]]" || true
    got=$(fifo_since "$2" "$3")
    want1="INSTANCE \"VI_1\" $4 $5|INSTANCE \"VI_2\" $4 $5|GROUP \"G\" $4 0"
    want2="INSTANCE \"VI_2\" $4 $5|INSTANCE \"VI_1\" $4 $5|GROUP \"G\" $4 0"
    check "$1" "${got:-nothing}" test "$got" == "$want1" -o "$got" == "$want2"
}

pair_timers
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
limit=$(calc "${START_ALLOW_S:-1} + $MD_A + $(slack_for "$ADV")")
check_both "election: both VIPs on lb1 only" wait_for "$limit" a_both
check_both "lb1 stays master of both" holds_for 0.5 a_both
check_group_notify "lb1 group master" "$T0" lb1 MASTER
# The group's weight-0 script holds every member silently in FAULT until
# its first result; then both members BACKUP and the group after them.
got=$(head -n 3 "$RUN_DIR/lb1.fifo.log" | paste -sd'|' -)
want="INSTANCE \"VI_2\" BACKUP $PRIO_A|INSTANCE \"VI_1\" BACKUP $PRIO_A|GROUP \"G\" BACKUP 0"
check "lb1 FIFO at start: both BACKUP (after the script's first result), then GROUP BACKUP" "$got" test "$got" == "$want"
got=$(sed -n 4,6p "$RUN_DIR/lb1.fifo.log" | paste -sd'|' -)
check "lb1 FIFO: both MASTER, then GROUP MASTER" "$got" \
    test "$got" == "INSTANCE \"VI_1\" MASTER $PRIO_A|INSTANCE \"VI_2\" MASTER $PRIO_A|GROUP \"G\" MASTER 0" \
    -o "$got" == "INSTANCE \"VI_2\" MASTER $PRIO_A|INSTANCE \"VI_1\" MASTER $PRIO_A|GROUP \"G\" MASTER 0"
LINK_SLACK=0.25

from1=$(($(fifo_lines lb1) + 1))
from2=$(($(fifo_lines lb2) + 1))
T=$(now)
ip -n "$NS_LB1" link set "$IFACE2" down
limit=$(calc "$MD_B + $(slack_for "$ADV") + $LINK_SLACK")
check_both "lb1 eth1 down: lb2 takes over both VIPs" wait_for "$limit" b_both
check_both "lb1 holds neither VIP (VI_1 follows VI_2 into FAULT)" holds_for 0.5 b_both
check_group_notify "lb1 group fault" "$T" lb1 FAULT
check_group_notify "lb2 group master" "$T" lb2 MASTER
got=$(fifo_since lb1 "$from1")
check "lb1 FIFO: VI_2 FAULT, VI_1 FAULT, GROUP FAULT" "$got" \
    test "$got" == "INSTANCE \"VI_2\" FAULT $PRIO_A|INSTANCE \"VI_1\" FAULT $PRIO_A|GROUP \"G\" FAULT 0"
check_fifo_states "lb2 FIFO: both MASTER, then GROUP MASTER" lb2 "$from2" MASTER "$PRIO_B"

from2=$(($(fifo_lines lb2) + 1))
T=$(now)
ip -n "$NS_LB1" link set "$IFACE2" up
limit=$(calc "$MD_A + $(slack_for "$ADV") + $LINK_SLACK")
check_both "lb1 eth1 up: lb1 takes both VIPs back" wait_for "$limit" a_both
check_group_notify "lb1 group leaves fault" "$T" lb1 BACKUP
check_group_notify "lb2 group backup" "$T" lb2 BACKUP
check_fifo_states "lb2 FIFO: both BACKUP, then GROUP BACKUP" lb2 "$from2" BACKUP "$PRIO_B"

RUN_SLACK=0.3
from1=$(($(fifo_lines lb1) + 1))
rm -f "$RUN_DIR/ok-lb1"
T=$(now)
limit=$(calc "$INTERVAL + $MD_B + $(slack_for "$ADV") + $RUN_SLACK")
check_both "group track_script fails on lb1: lb2 takes both VIPs" wait_for "$limit" b_both
check_group_notify "lb1 group fault (script)" "$T" lb1 FAULT
got=$(fifo_since lb1 "$from1")
check "lb1 FIFO: VI_1 FAULT, VI_2 FAULT (the script's order), GROUP FAULT" "$got" \
    test "$got" == "INSTANCE \"VI_1\" FAULT $PRIO_A|INSTANCE \"VI_2\" FAULT $PRIO_A|GROUP \"G\" FAULT 0"
touch "$RUN_DIR/ok-lb1"
T=$(now)
limit=$(calc "$INTERVAL + $MD_A + $(slack_for "$ADV") + $RUN_SLACK")
check_both "group track_script succeeds again: lb1 takes both back" wait_for "$limit" a_both

wait_for 1 eval "[[ \$(tail -n 1 $RUN_DIR/lb1.fifo.log) == 'GROUP \"G\" MASTER 0' ]]" || true

# SIGTERM of lb2 (backup): its FIFO ends with both STOP lines, then the
# group's; notify_stop G runs; lb1 keeps both VIPs.
from2=$(($(fifo_lines lb2) + 1))
T=$(now)
peer_term B
wait_for 2 eval "[[ \$(fifo_since lb2 $from2) == *GROUP* ]]" || true
got=$(fifo_since lb2 "$from2")
check "lb2 FIFO at stop: both STOP, then GROUP STOP" "$got" \
    test "$got" == "INSTANCE \"VI_1\" STOP $PRIO_B|INSTANCE \"VI_2\" STOP $PRIO_B|GROUP \"G\" STOP 0"
s1=$(group_notify "$T" lb2 specific STOP)
check "lb2 stop: notify_stop G" "${s1:+at +$(delta "$s1" "$T") s}" test -n "$s1"

# The same config again on lb1 (SIGHUP): the group keeps its state;
# nothing is notified and the VIPs stay. (keepalived 2.2.7 drops its
# scripts at a reload here, "Unable to set default user", so the group's
# script is not used after this.)
from1=$(($(fifo_lines lb1) + 1))
T=$(now)
kill -HUP "${PEER_PID[A]}"
check_both "SIGHUP of lb1 (same group): lb1 keeps both VIPs" holds_for 1 a_both
got=$(fifo_since lb1 "$from1")
check "lb1 FIFO: nothing on reload" "${got:-nothing}" test -z "$got"
n=$(awk -v a="$T" '$1 + 0 > a + 0 && $2 == "lb1"' "$RUN_DIR/notify.log" | wc -l)
check "lb1: no notify on reload" "$n hook runs" test "$n" = 0
scenario_end
