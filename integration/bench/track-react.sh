#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Benchmark (issue 11): how fast a tracked failure reaches the wire,
# keepalived and keepalived-rs in the same run. Run by hand, not in CI.
#
#   integration/bench/track-react.sh
#   env: CASES="file link script fault linkfault"  REPS=10  IMPLS="ka rs"  ADVERT=1
#        KALRS_BIN (default: a release build of keepalived-rs, built here)
#        STAGES=1: also split each file/link figure into its stages (below)
#
# lb1 of the interop lab (integration/interop/lib) runs alone, MASTER of one
# VRRPv3 instance (vrid 51, priority 150, advert_int $ADVERT) that tracks
#   track_file tf        (weight 1: the value written is added)
#   track_interface eth1 weight -30   (a second veth, lab_second_link)
#   track_interface trk0              (a veth inside lb1, no weight: FAULT)
#   vrrp_script chk      (interval 1, weight -20, fall 1, rise 1; fails
#                         while a flag file exists)
# The client captures lb1's adverts (tcpdump in its namespace, nanosecond
# stamps, CLOCK_REALTIME like $EPOCHREALTIME). Each repetition, after a
# random fraction of the advert interval, the test makes one change and
# takes T0; the figure is T0 -> lb1's first advert at another priority than
# 150 (the first advert after the change, whatever the daemon does):
#   file    T0 right before `echo -10 >tf` (a bash builtin); expect 140
#   link    T0 right before `ip link set eth1 down`; expect 120 (includes
#           the exec of ip(8), the same for both daemons)
#   script  the flag is created; T0 is taken by the failing script itself
#           ($EPOCHREALTIME printed just before `exit 1`), so the figure is
#           exit -> advert, not the wait for the next interval; expect 130
#   fault   T0 right before `echo -300 >tf`: at or below -254 the instance
#           goes to FAULT; expect the priority-0 advert a master sends when
#           it gives up
#   linkfault T0 right before `ip link set trk0 down`: FAULT, priority 0
# Then the change is undone and the test waits for priority 150 again.
# A daemon that only puts the new priority in its next scheduled advert
# (keepalived, for a priority change while MASTER) shows the phase of the
# advert timer here, uniform over 0..advert_int: "stale" counts the
# adverts still at 150 after T0, 0 when the change made the next advert.
# Prints per case and implementation: n, min / median / max in ms, the
# priorities seen, stale adverts, and ours - keepalived's medians.
#
# STAGES=1 (file and link cases): strace -ttt follows the VRRP process of
# each daemon (both alike: it slows every syscall of both) and splits the
# figure into T0 -> the daemon reads the event (the inotify record naming
# the file, or an RTM_NEWLINK) -> the daemon logs "Changing effective
# priority" (its own work: node and priority) -> the wire figure above
# (the rest: the wait for the next scheduled advert). The wire figure
# under strace is not comparable with a run without it. Our supervisor's
# stall bound is raised for the traced run (KEEPALIVED_RS_STALL_MS).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

CASES=${CASES:-"file link script fault linkfault"}
STAGES=${STAGES:-0}
REPS=${REPS:-10}
ADVERT=${ADVERT:-1}
IMPLS=${IMPLS:-"ka rs"}
need_root
need_cmd ip tcpdump tshark awk ps setsid install keepalived
if [[ $STAGES == 1 ]]; then
    need_cmd strace
    # A traced child on a busy machine can miss heartbeats for a second
    # (the bound at advert_int 0.01): our supervisor must not kill it.
    export KEEPALIVED_RS_STALL_MS=${KEEPALIVED_RS_STALL_MS:-60000}
fi
bench_release_build
VIP=192.0.2.100
bench_begin track-react
lab_second_link
# No dummy module on every host: a veth pair inside lb1 does.
ip -n "$NS_LB1" link add trk0 type veth peer name trk1
ip -n "$NS_LB1" link set trk1 up
RES=$BASE/results.tsv
printf 'impl\tcase\trep\treact_ms\tprio\tstale\tt0\n' >"$RES"
echo "# track-react: CASES='$CASES' REPS=$REPS impls: ${impls[*]}; kernel $(uname -r), $(nproc) CPUs; load $(cut -d' ' -f1-3 /proc/loadavg); $BASE"
[[ " ${impls[*]} " != *" rs "* ]] || echo "# keepalived-rs: $KALRS_BIN"

write_conf() {
    local root extra
    root="track_file tf {
    file $RUN_DIR/tf
    weight 1
}
vrrp_script chk {
    script \"$RUN_DIR/react-check\"
    interval 1
    weight -20
    fall 1
    rise 1
}"
    extra="    track_file {
        tf
    }
    track_interface {
        $IFACE2 weight -30
        trk0
    }
    track_script {
        chk
    }"
    C_ROOT=$root C_VERSION=3 conf_global lb1
    C_ADVERT=$ADVERT C_NOTIFY=0 C_EXTRA=$extra conf_instance lb1 VI_1 51 150 "$VIP/32"
}

# The tracked script: root-owned in a root-owned directory (script
# security); fails while the flag exists and stamps the moment it exits.
write_check() {
    cat >"$RUN_DIR/react-check" <<EOF
#!/bin/bash
[[ -e $RUN_DIR/fail ]] || exit 0
printf '%s\n' "\$EPOCHREALTIME" >>$RUN_DIR/exit.log
exit 1
EOF
    chmod 0755 "$RUN_DIR/react-check"
}

# First advert from lb1 after T at another priority than 150 / at 150.
first_moved() { refresh_events; ev_first "\$2 == \"V\" && \$4 == \"$IP_LB1\" && \$9 != \"150\"" "$1"; }
first_back() { refresh_events; ev_first "\$2 == \"V\" && \$4 == \"$IP_LB1\" && \$9 == \"150\"" "$1"; }

apply() { # case -> sets T0 (empty when the script never failed)
    local tf=$1 t
    case $tf in
        file) T0=$EPOCHREALTIME; echo -10 >"$RUN_DIR/tf" ;;
        fault) T0=$EPOCHREALTIME; echo -300 >"$RUN_DIR/tf" ;;
        link) T0=$EPOCHREALTIME; ip -n "$NS_LB1" link set "$IFACE2" down ;;
        linkfault) T0=$EPOCHREALTIME; ip -n "$NS_LB1" link set trk0 down ;;
        script)
            t=$EPOCHREALTIME
            : >"$RUN_DIR/fail"
            # The script runs every second: wait for its failing run.
            wait_for 3 eval "[[ -s $RUN_DIR/exit.log ]] && awk -v t=$t '\$1 > t { f = 1 } END { exit !f }' $RUN_DIR/exit.log" || true
            T0=$(awk -v t="$t" '$1 > t { print; exit }' "$RUN_DIR/exit.log")
            ;;
    esac
}
undo() { # case
    case $1 in
        file | fault) echo 0 >"$RUN_DIR/tf" ;;
        link) ip -n "$NS_LB1" link set "$IFACE2" up ;;
        linkfault) ip -n "$NS_LB1" link set trk0 up ;;
        script) rm -f "$RUN_DIR/fail" ;;
    esac
}

run_impl() { # impl
    local impl=$1 c rep ev ts prio tu ms stale
    IMPL_A=$impl
    RUN_DIR=$BASE/$impl
    mkdir -p "$RUN_DIR"
    chmod 0755 "$RUN_DIR"
    echo 0 >"$RUN_DIR/tf"
    : >"$RUN_DIR/exit.log"
    write_check
    write_conf >"$RUN_DIR/lb1.conf"
    ip -n "$NS_LB1" link set "$IFACE2" up
    ip -n "$NS_LB1" link set trk0 up
    CAP_FILTER="ip proto 112 and src host $IP_LB1"
    cap_start
    log "$impl: starting"
    peer_start A "$RUN_DIR/lb1.conf"
    wait_for 10 ns_has_addr "$NS_LB1" "$VIP" || die "$impl: lb1 did not become MASTER"
    TRACER=
    if [[ $STAGES == 1 ]]; then
        wait_for 5 test -s "$RUN_DIR/lb1.vrrp.pid" || die "$impl: no VRRP pid file"
        strace -ttt -s 100 -e trace=read,recvmsg,recvfrom,write -o "$BASE/strace-$impl" -p "$(<"$RUN_DIR/lb1.vrrp.pid")" 2>/dev/null &
        TRACER=$!
        proc_register "$TRACER" strace
    fi
    sleep 2
    for c in $CASES; do
        for ((rep = 1; rep <= REPS; rep++)); do
            sleep "0.$((RANDOM % 1000))"
            T0=
            apply "$c"
            [[ -n $T0 ]] || die "$impl $c rep $rep: the tracked script never failed"
            # Nothing polls during the reaction itself (tshark would compete
            # with the daemon for the 2 CPUs).
            sleep 1.2
            wait_for 3 eval "[[ -n \$(first_moved $T0) ]]" || true
            ev=$(first_moved "$T0")
            if [[ -n $ev ]]; then
                read -r ts _ _ _ _ _ _ _ prio _ <<<"$ev"
                ms=$(awk -v a="$ts" -v b="$T0" 'BEGIN { printf "%.3f", (a - b) * 1000 }')
                stale=$(ev_count "\$2 == \"V\" && \$4 == \"$IP_LB1\" && \$9 == \"150\"" "$T0" "$ts")
            else
                ms=- prio=- stale=-
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$impl" "$c" "$rep" "$ms" "$prio" "$stale" "$T0" >>"$RES"
            log "$impl $c rep $rep: ${ms} ms, priority $prio, $stale stale adverts"
            tu=$EPOCHREALTIME
            undo "$c"
            wait_for 8 eval "[[ -n \$(first_back $tu) ]]" || die "$impl $c rep $rep: lb1 did not get back to priority 150"
        done
    done
    [[ -z $TRACER ]] || { kill "$TRACER" 2>/dev/null || true; wait "$TRACER" 2>/dev/null || true; }
    cap_stop
    peer_crash A
}

# stages IMPL CASE: per repetition "event_ms own_ms" from the strace of
# IMPL's VRRP process (see STAGES above).
stages() {
    local impl=$1 c=$2 pat
    case $c in
        file) pat='read\([0-9]+, "\\1\\0\\0\\0\\10\\0.*\\0tf\\0' ;;
        link) pat='recv(msg|from)\(.*nlmsg_type=0x10' ;;
        *) return 0 ;;
    esac
    awk -F'\t' -v i="$impl" -v c="$c" '$1 == i && $2 == c && $4 != "-" { print $7 }' "$RES" |
        while read -r t0; do
            PAT=$pat awk -v t="$t0" '
                $1 + 0 < t { next }
                !ev && $0 ~ ENVIRON["PAT"] && $0 !~ /MSG_PEEK/ { ev = $1 }
                ev && /write\(2,.*effective priority/ { printf "%.3f %.3f\n", (ev - t) * 1000, ($1 - ev) * 1000; done = 1; exit }
                END { if (!done) print "- -" }' "$BASE/strace-$impl"
        done
}

for impl in "${impls[@]}"; do run_impl "$impl"; done

echo
echo "=== change -> lb1's first advert at a new priority, ms (n min median max), advert_int $ADVERT; load $(cut -d' ' -f1-3 /proc/loadavg)"
SUM=$BASE/summary.tsv
: >"$SUM"
for c in $CASES; do
    for impl in "${impls[@]}"; do
        read -r n mn md mx < <(awk -F'\t' -v i="$impl" -v c="$c" '$1 == i && $2 == c && $4 != "-" { print $4 }' "$RES" | stats)
        printf '%-6s %-3s n=%-3s min %9s  median %9s  max %9s  priorities %s  stale adverts %s\n' "$c" "$impl" "$n" "$mn" "$md" "$mx" \
            "$(awk -F'\t' -v i="$impl" -v c="$c" '$1 == i && $2 == c { print $5 }' "$RES" | sort | uniq -c | awk '{ printf "%s%sx%s", s, $1, $2; s = " " }')" \
            "$(awk -F'\t' -v i="$impl" -v c="$c" '$1 == i && $2 == c && $6 != "-" { s += $6 } END { print s + 0 }' "$RES")"
        printf '%s\t%s\t%s\t%s\n' "$c" "$impl" "$md" "$mx" >>"$SUM"
    done
    awk -F'\t' -v c="$c" '$1 == c { m[$2] = $3; x[$2] = $4 }
        END { if (("rs" in m) && ("ka" in m)) printf "%-6s ours - keepalived: median %+.3f ms, max %+.3f ms\n", c, m["rs"] - m["ka"], x["rs"] - x["ka"] }' "$SUM"
done
if [[ $STAGES == 1 ]]; then
    echo
    echo "=== stages under strace, ms (n min median max): T0 -> event read by the daemon; event -> priority logged"
    for c in $CASES; do
        for impl in "${impls[@]}"; do
            st=$(stages "$impl" "$c")
            [[ -n $st ]] || continue
            read -r n1 a1 m1 x1 < <(awk '$1 != "-" { print $1 }' <<<"$st" | stats)
            read -r n2 a2 m2 x2 < <(awk '$2 != "-" { print $2 }' <<<"$st" | stats)
            printf '%-6s %-3s T0->event n=%-3s %s / %s / %s   event->priority n=%-3s %s / %s / %s\n' "$c" "$impl" "$n1" "$a1" "$m1" "$x1" "$n2" "$a2" "$m2" "$x2"
        done
    done
fi
echo "results: $RES"
