#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Benchmark: idle cost of many VRRP instances, keepalived and keepalived-rs
# in the same run (keepalived-rs is left out, with a note, when it cannot
# hold a VIP: see bench_begin in interop/lib/bench.sh).
#
#   integration/bench/vrrp-resources.sh
#   env: COUNTS="50 255"  ADVERT=0.1  DURATION=30 (seconds measured)
#        IMPLS="ka rs"  KALRS_BIN (see vrrp-failover.sh)
#
# For each instance count N and implementation, both nodes of the interop
# lab run N VRRPv3 instances (vrid 1..N, one /32 VIP each in 198.51.100.0/24
# and 203.0.113.0/24, multicast, no notify hooks); lb1 (priority 150) is
# MASTER of all, lb2 (100) BACKUP. Once lb1 holds every VIP and lb2 none,
# every process of each daemon (the one started and its descendants) is
# sampled, then again DURATION s later:
#   CPU %  = delta of se.sum_exec_runtime (/proc/PID/sched, ns) / window,
#            in % of one core
#   Pss    = /proc/PID/smaps_rollup at the end (shared pages divided among
#            the processes that map them, so parent + child add up)
#   RssAnon from /proc/PID/status, wake-ups/s = context switches / window
# The window is flagged when lb2 sent any advert in it (a flap) or the VIPs
# moved.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

COUNTS=${COUNTS:-"50 255"}
ADVERT=${ADVERT:-0.1}
DURATION=${DURATION:-30}
IMPLS=${IMPLS:-"ka rs"}
need_root
need_cmd ip tcpdump awk ps setsid install keepalived
bench_begin resources
TOT=$BASE/totals.tsv
: >"$TOT"
echo "# vrrp-resources: COUNTS='$COUNTS' ADVERT=$ADVERT DURATION=${DURATION}s impls: ${impls[*]}; kernel $(uname -r), $(nproc) CPUs; $BASE"

vip_of() { # instance 1..N -> address
    if (($1 <= 254)); then printf '198.51.100.%d\n' "$1"; else printf '203.0.113.%d\n' $(($1 - 254)); fi
}
count_vips() { # ns n
    ip -n "$1" -4 -o addr show dev "$IFACE" | awk -v n="$2" '
        { split($4, a, "/") } a[1] ~ /^(198\.51\.100|203\.0\.113)\./ { c++ } END { print c + 0 }'
}
cpu_ns() { # pid -> cumulative CPU ns
    awk -F: '/^se.sum_exec_runtime/ { gsub(/ /, "", $2); printf "%.0f\n", $2 * 1000000 }' "/proc/$1/sched" 2>/dev/null
}
ctxsw() { awk '/^(voluntary|nonvoluntary)_ctxt_switches/ { s += $2 } END { print s + 0 }' "/proc/$1/status" 2>/dev/null; }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "$1" 2>/dev/null; }
snapshot() { # -> "side pid role cpu_ns ctxsw" per process
    local s p role
    for s in A B; do
        for p in $(peer_pids "$s"); do
            if [[ $p == "${PEER_PID[$s]}" ]]; then role=parent; else role=child; fi
            printf '%s %s %s %s %s\n' "$s" "$p" "$role" "$(cpu_ns "$p")" "$(ctxsw "$p")"
        done
    done
}

run_case() { # impl n
    local impl=$1 n=$2 i node prio s0 s1 t0 t1 win va vb flaps
    IMPL_A=$impl IMPL_B=$impl
    RUN_DIR=$BASE/$impl-$n
    mkdir -p "$RUN_DIR"
    conf_prepare_hook
    for node in lb1 lb2; do
        if [[ $node == lb1 ]]; then prio=150; else prio=100; fi
        {
            C_VERSION=3 conf_global "$node"
            for ((i = 1; i <= n; i++)); do
                C_ADVERT=$ADVERT C_NOTIFY=0 conf_instance "$node" "VI_$i" "$i" "$prio" "$(vip_of "$i")/32"
            done
        } >"$RUN_DIR/$node.conf"
    done
    log "$impl, $n instances: starting"
    peer_start B "$RUN_DIR/lb2.conf"
    peer_start A "$RUN_DIR/lb1.conf"
    wait_for "$(calc "10 + $n / 10")" eval "[[ \$(count_vips $NS_LB1 $n) == $n && \$(count_vips $NS_LB2 $n) == 0 ]]" ||
        die "$impl $n: lb1 holds $(count_vips "$NS_LB1" "$n")/$n VIPs, lb2 $(count_vips "$NS_LB2" "$n")"
    sleep 3
    # Only lb2's adverts are captured (a flap detector): capturing lb1's
    # thousands per second would load the machine being measured.
    CAP_FILTER="ip proto 112 and src host $IP_LB2"
    cap_start
    t0=$EPOCHREALTIME
    s0=$(snapshot)
    sleep "$DURATION"
    t1=$EPOCHREALTIME
    s1=$(snapshot)
    cap_stop
    win=$(delta "$t1" "$t0")
    va=$(count_vips "$NS_LB1" "$n")
    vb=$(count_vips "$NS_LB2" "$n")
    flaps=$( (tcpdump -r "$PCAP" -n 2>/dev/null || true) | wc -l)
    {
        printf '## %s, %d instances at advert_int %s: window %s s; VIPs lb1 %d/%d, lb2 %d; lb2 adverts in window: %d%s\n' \
            "$impl" "$n" "$ADVERT" "$win" "$va" "$n" "$vb" "$flaps" \
            "$( ((va == n && vb == 0 && flaps == 0)) || printf '  !! NOT A CLEAN IDLE WINDOW')"
        printf '%-4s %-5s %-7s %-7s %8s %8s %9s %10s\n' impl node pid role "CPU_%" Pss_kB Anon_kB wakeups/s
        local side p role c1 x1 c0 x0 cpu pss anon
        while read -r side p role c1 x1; do
            read -r _ _ _ c0 x0 < <(awk -v p="$p" '$2 == p' <<<"$s0")
            [[ -n ${c0:-} ]] || continue
            cpu=$(awk -v a="$c0" -v b="$c1" -v w="$win" 'BEGIN { printf "%.3f", (b - a) / 1e9 / w * 100 }')
            pss=$(kb "/proc/$p/smaps_rollup" Pss)
            anon=$(kb "/proc/$p/status" RssAnon)
            printf '%-4s %-5s %-7s %-7s %8s %8s %9s %10s\n' "$impl" "$(side_name "$side")" "$p" "$role" "$cpu" "$pss" "$anon" \
                "$(awk -v a="$x0" -v b="$x1" -v w="$win" 'BEGIN { printf "%.1f", (b - a) / w }')"
            printf '%s\t%s\t%s\t%s\t%s\n' "$impl" "$n" "$(side_name "$side")" "$cpu" "$pss" >>"$TOT"
        done <<<"$s1"
    } | tee "$RUN_DIR/table.txt"
    peer_crash A
    peer_crash B
}

for n in $COUNTS; do
    for impl in "${impls[@]}"; do run_case "$impl" "$n"; done
done

echo
echo "=== per daemon (all its processes), advert_int $ADVERT, ${DURATION} s idle: CPU % of one core, Pss kB"
printf '%-6s %-5s %-12s %-12s %-12s %-12s\n' N impl "lb1 CPU%" "lb1 Pss" "lb2 CPU%" "lb2 Pss"
for n in $COUNTS; do
    for impl in "${impls[@]}"; do
        awk -F'\t' -v i="$impl" -v n="$n" '$1 == i && $2 == n { c[$3] += $4; p[$3] += $5 }
            END { printf "%-6s %-5s %-12.3f %-12d %-12.3f %-12d\n", n, i, c["lb1"], p["lb1"], c["lb2"], p["lb2"] }' "$TOT"
    done
    if [[ " ${impls[*]} " == *" rs "* && " ${impls[*]} " == *" ka "* ]]; then
        awk -F'\t' -v n="$n" '$2 == n { c[$1 "/" $3] += $4; p[$1 "/" $3] += $5 }
            function r(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
            END { printf "%-6s rs/ka  CPU lb1 %s lb2 %s   Pss lb1 %s lb2 %s\n", n,
                  r(c["rs/lb1"], c["ka/lb1"]), r(c["rs/lb2"], c["ka/lb2"]), r(p["rs/lb1"], p["ka/lb1"]), r(p["rs/lb2"], p["ka/lb2"]) }' "$TOT"
    fi
done
echo "tables: $BASE/*/table.txt"
