#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Benchmark (issue 11): what vrrp_script tracking costs the VRRP process,
# keepalived and keepalived-rs in the same run. Run by hand, not in CI.
#
#   integration/bench/track-cost.sh
#   env: INSTANCES=100  WARMUP=10  WINDOW=60 (seconds)  ROUNDS=1
#        SCRIPT=/bin/true  IMPLS="ka rs"
#        SCRIPT_USER (each script runs as this user: a user switch)
#        KALRS_BIN (default: a release build of keepalived-rs, built here)
#
# lb1 of the interop lab (integration/interop/lib: namespaces, veth, a
# bridge) runs alone with INSTANCES VRRPv3 instances (advert_int 1, one /32
# VIP each), every instance tracking its own vrrp_script (`interval 1`,
# SCRIPT, which exits 0). lb1 is MASTER of all. After WARMUP s, the VRRP
# process (keepalived's VRRP child / our VRRP child, from the -r pid file)
# is sampled, then again WINDOW s later:
#   own CPU     utime + stime of the VRRP process (/proc/PID/stat 14, 15:
#               every thread, the kernel's precise runtime split by ticks)
#   scripts CPU cutime + cstime (/proc/PID/stat 16, 17): what the children
#               it has reaped used. Both daemons fork each script run from
#               the VRRP process and reap it there, so this is exactly the
#               script runs (cgroup v2 is not mounted on this host, and a
#               cgroup would add the two together anyway)
#   runs        forks of the VRRP process in the window, counted with
#               `perf stat -e sched:sched_process_fork` when perf works
#               (else "-", and the per-run figures use the nominal
#               INSTANCES x WINDOW); --no-inherit, or every fork would
#               also copy perf's counter into the child (perf_trace_init
#               was 4.5 % of our VRRP process in a profile)
#   Pss         /proc/PID/smaps_rollup of the VRRP process at the end, and
#               (all) of every process of the daemon (parent + VRRP child:
#               keepalived's child is a fork of its parent and shares its
#               pages, ours is exec'd, so the VRRP process alone flatters
#               keepalived)
# Prints a row per implementation and round, then ours / keepalived's.
# The load average before and after each window is printed with it: the
# figures mean little on a busy machine.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

INSTANCES=${INSTANCES:-100}
WARMUP=${WARMUP:-10}
WINDOW=${WINDOW:-60}
ROUNDS=${ROUNDS:-1}
SCRIPT=${SCRIPT:-/bin/true}
IMPLS=${IMPLS:-"ka rs"}
need_root
need_cmd ip awk ps setsid install keepalived
[[ -x $SCRIPT ]] || die "SCRIPT=$SCRIPT is not executable"
((INSTANCES >= 1 && INSTANCES <= 254)) || die "INSTANCES must be 1..254"
bench_release_build
HZ=$(getconf CLK_TCK)
bench_begin track-cost
RES=$BASE/results.tsv
printf 'impl\tround\twindow_s\town_s\tscripts_s\truns\tpss_kb\tload_before\tload_after\tpss_all_kb\n' >"$RES"
echo "# track-cost: INSTANCES=$INSTANCES WARMUP=${WARMUP}s WINDOW=${WINDOW}s ROUNDS=$ROUNDS SCRIPT=$SCRIPT impls: ${impls[*]}; kernel $(uname -r), $(nproc) CPUs; $BASE"
[[ " ${impls[*]} " != *" rs "* ]] || echo "# keepalived-rs: $KALRS_BIN"

# /proc/PID/stat fields 14-17 (utime stime cutime cstime) in ticks; the
# command name may hold spaces, so cut after its closing parenthesis.
ticks() { # pid -> "own children"
    local s
    s=$(cat "/proc/$1/stat") || return 1
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    printf '%s %s\n' "$((${12} + ${13}))" "$((${14} + ${15}))"
}
loadavg() { awk '{ print $1 "/" $2 "/" $3 }' /proc/loadavg; }

write_conf() { # -> config on stdout
    local i root="" extra
    for ((i = 1; i <= INSTANCES; i++)); do
        root+="vrrp_script chk_$i {
    script \"$SCRIPT\"
    interval 1${SCRIPT_USER:+
    user $SCRIPT_USER}
}
"
    done
    C_ROOT=$root C_VERSION=3 conf_global lb1
    for ((i = 1; i <= INSTANCES; i++)); do
        extra="    track_script {
        chk_$i
    }"
        C_ADVERT=1 C_NOTIFY=0 C_EXTRA=$extra conf_instance lb1 "VI_$i" "$i" 150 "198.51.100.$i/32"
    done
}

vrrp_pid_of() { # -> pid of the VRRP process of side A
    local f=$RUN_DIR/lb1.vrrp.pid p
    wait_for 5 test -s "$f" || die "no VRRP pid file $f"
    p=$(<"$f")
    proc_alive "$p" || die "VRRP process $p (from $f) is not running"
    printf '%s\n' "$p"
}

run_case() { # impl round
    local impl=$1 round=$2 vp t0 t1 a0 a1 win own kids runs pss l0 l1 perf_pid="" all p
    IMPL_A=$impl
    RUN_DIR=$BASE/$impl-$round
    mkdir -p "$RUN_DIR"
    write_conf >"$RUN_DIR/lb1.conf"
    log "$impl round $round: starting, $INSTANCES instances"
    peer_start A "$RUN_DIR/lb1.conf"
    vp=$(vrrp_pid_of)
    wait_for 20 eval "[[ \$(ip -n $NS_LB1 -4 -o addr show dev $IFACE | grep -c 198.51.100.) == $INSTANCES ]]" ||
        die "$impl: lb1 did not become MASTER of all $INSTANCES instances"
    sleep "$WARMUP"
    proc_alive "$vp" || die "$impl: the VRRP process died during the warm-up"
    if command -v perf >/dev/null 2>&1; then
        perf stat --no-inherit -x, -e sched:sched_process_fork -p "$vp" -o "$RUN_DIR/perf.txt" -- sleep "$WINDOW" 2>/dev/null &
        perf_pid=$!
        proc_register "$perf_pid" perf
    fi
    l0=$(loadavg)
    t0=$EPOCHREALTIME
    a0=$(ticks "$vp")
    sleep "$WINDOW"
    a1=$(ticks "$vp")
    t1=$EPOCHREALTIME
    l1=$(loadavg)
    pss=$(awk '$1 == "Pss:" { print $2 }' "/proc/$vp/smaps_rollup")
    # Kept for the breakdown (which mappings, how much anonymous).
    cp "/proc/$vp/smaps_rollup" "$RUN_DIR/smaps_rollup" 2>/dev/null || true
    cp "/proc/$vp/smaps" "$RUN_DIR/smaps" 2>/dev/null || true
    grep -E '^(Threads|VmRSS|RssAnon|RssFile)' "/proc/$vp/status" >"$RUN_DIR/status" 2>/dev/null || true
    all=0
    for p in $(peer_pids A); do
        all=$((all + $(awk '$1 == "Pss:" { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null || echo 0)))
    done
    runs=-
    if [[ -n $perf_pid ]]; then
        wait "$perf_pid" 2>/dev/null || true
        runs=$(awk -F, '/sched_process_fork/ && $1 ~ /^[0-9]+$/ { print $1 }' "$RUN_DIR/perf.txt" 2>/dev/null)
        [[ -n $runs ]] || runs=-
    fi
    win=$(delta "$t1" "$t0")
    # shellcheck disable=SC2086
    own=$(awk -v a="${a0% *}" -v b="${a1% *}" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
    kids=$(awk -v a="${a0#* }" -v b="${a1#* }" -v hz="$HZ" 'BEGIN { printf "%.2f", (b - a) / hz }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$impl" "$round" "$win" "$own" "$kids" "$runs" "$pss" "$l0" "$l1" "$all" >>"$RES"
    log "$impl round $round: window ${win}s own ${own}s scripts ${kids}s runs $runs Pss ${pss}kB (daemon ${all}kB) load $l0 -> $l1"
    peer_crash A
}

for ((r = 1; r <= ROUNDS; r++)); do
    for impl in "${impls[@]}"; do run_case "$impl" "$r"; done
done

echo
echo "=== VRRP process over ${WINDOW}s, $INSTANCES instances x vrrp_script interval 1 ($SCRIPT)"
awk -F'\t' -v n="$INSTANCES" '
    NR == 1 { next }
    {
        runs = ($6 ~ /^[0-9]+$/) ? $6 : n * $3
        printf "%-3s round %s: own %6.2f CPU-s (%6.1f us/run)  scripts %6.2f CPU-s (%6.1f us/run)  runs %s  Pss %6d kB (daemon %6d kB)  load %s -> %s\n",
            $1, $2, $4, $4 / runs * 1e6, $5, $5 / runs * 1e6, $6, $7, $10, $8, $9
        own[$1] += $4 / runs; kid[$1] += $5 / runs; pss[$1] += $7; all[$1] += $10; k[$1]++
    }
    END {
        if (k["ka"] && k["rs"])
            printf "ours / keepalived (per run, mean over rounds): own CPU %.2f  scripts CPU %.2f  Pss VRRP process %.2f  Pss daemon %.2f\n",
                (own["rs"] / k["rs"]) / (own["ka"] / k["ka"]), (kid["rs"] / k["rs"]) / (kid["ka"] / k["ka"]),
                (pss["rs"] / k["rs"]) / (pss["ka"] / k["ka"]), (all["rs"] / k["rs"]) / (all["ka"] / k["ka"])
    }' "$RES"
echo "results: $RES"
