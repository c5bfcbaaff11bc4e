#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# Benchmark: VRRP failover after a crash of the master, keepalived and
# keepalived-rs in the same run (keepalived-rs is left out, with a note,
# when it cannot hold a VIP: see bench_begin in interop/lib/bench.sh).
#
#   integration/bench/vrrp-failover.sh
#   env: CASES="v2:1 v3:0.1 v3:0.01" (version:advert_int)  REPS=10
#        IMPLS="ka rs" (rs is dropped when it cannot hold a VIP)
#        KALRS_BIN (default <repo>/target/debug/keepalived-rs; build with
#        `cargo build --release -p keepalived-rs` and point KALRS_BIN at it
#        for figures worth publishing)
#
# Per case and implementation, both nodes run the same implementation in
# the interop lab (integration/interop/lib): lb1 priority 150, lb2 100, one
# instance, multicast. Each repetition: lb1 is a stable master; after a
# random fraction of an interval, lb1's process group is SIGKILLed (T0 is
# $EPOCHREALTIME right before the kill(2)); lb2 takes over; lb1's VIP is
# removed (as a reboot would) and lb1 restarts and preempts back. The client
# captures everything (nanosecond stamps, same clock as T0).
#
# Columns (seconds):
#   kill>garp  T0 -> lb2's first gratuitous ARP for the VIP (the headline:
#              when the network learns the new master)
#   kill>adv   T0 -> lb2's first advert
#   last>adv   lb1's last advert -> lb2's first: master_down as implemented
#   adv>garp   lb2's first advert -> its first GARP (GARP after takeover)
#   adv>ntfy   lb2's first advert -> its notify MASTER hook running
#              (includes the fork+exec of the hook)
# RFC bound: kill>garp <= master_down = 3 x interval + skew, skew =
# (256-100)/256 s (v2) or (256-100)/256 x interval (v3).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "$(readlink -f "$0")")/lib.sh"

CASES=${CASES:-"v2:1 v3:0.1 v3:0.01"}
REPS=${REPS:-10}
IMPLS=${IMPLS:-"ka rs"}
need_root
need_cmd ip tcpdump tshark awk ps setsid install keepalived
PRIO_A=150 PRIO_B=100 VRID=51 VIP=192.0.2.100
bench_begin failover
RES=$BASE/results.tsv
printf 'impl\tcase\trep\tkill_garp\tkill_adv\tlast_adv\tadv_garp\tadv_ntfy\n' >"$RES"

echo "# vrrp-failover: CASES='$CASES' REPS=$REPS impls: ${impls[*]}; kernel $(uname -r), $(nproc) CPUs; $BASE"
[[ " ${impls[*]} " != *" rs "* ]] || echo "# keepalived-rs: $KALRS_BIN"

run_case() { # impl version interval
    local impl=$1 ver=$2 adv=$3 tag="v$2@$3" eff md wait_s rep t0s=() stable=()
    IMPL_A=$impl IMPL_B=$impl
    eff=$(effective_interval "$ver" "$adv")
    md=$(master_down_of "$ver" "$eff" $PRIO_B)
    wait_s=$(calc "${START_ALLOW_S:-1} + 2 * $(master_down_of "$ver" "$eff" $PRIO_A) + 1")
    RUN_DIR=$BASE/$impl-v$ver-$adv
    mkdir -p "$RUN_DIR"
    conf_prepare_hook
    C_VERSION=$ver C_ADVERT=$adv
    { conf_global lb1; conf_instance lb1 VI_1 $VRID $PRIO_A "$VIP/$PLEN"; } >"$RUN_DIR/lb1.conf"
    { conf_global lb2; conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"
    log "$impl $tag: $REPS repetitions (master_down $md s)"
    cap_start
    peer_start B "$RUN_DIR/lb2.conf"
    peer_start A "$RUN_DIR/lb1.conf"
    for ((rep = 1; rep <= REPS; rep++)); do
        wait_for "$wait_s" eval "ns_has_addr $NS_LB1 $VIP && ! ns_has_addr $NS_LB2 $VIP" ||
            die "$impl $tag rep $rep: lb1 did not become the only master"
        stable+=("$(now)")
        sleep "$(calc "2 * $eff")"
        sleep_phase=$(awk -v a="$eff" -v r="$RANDOM" 'BEGIN { printf "%.4f", a * r / 32768 }')
        sleep "$sleep_phase"
        peer_crash A
        t0s+=("$T_EVENT")
        wait_for "$wait_s" ns_has_addr "$NS_LB2" "$VIP" || log "$impl $tag rep $rep: lb2 did not take the VIP"
        sleep "$(calc "$eff + 0.2")"
        ns_del_addrs "$NS_LB1" "$VIP/$PLEN"
        peer_start A "$RUN_DIR/lb1.conf"
    done
    wait_for "$wait_s" eval "ns_has_addr $NS_LB1 $VIP && ! ns_has_addr $NS_LB2 $VIP" || true
    peer_crash A
    peer_crash B
    ns_del_addrs "$NS_LB1" "$VIP/$PLEN"
    ns_del_addrs "$NS_LB2" "$VIP/$PLEN"
    cap_stop
    refresh_events
    local i t0 nxt fb la gb nb
    for ((i = 0; i < ${#t0s[@]}; i++)); do
        t0=${t0s[$i]}
        nxt=${stable[$((i + 1))]:-}
        fb=$(ev_first "$(adv_from "$IP_LB2")" "$t0" "$nxt" | ts_of)
        la=$(ev_last "$(adv_from "$IP_LB1")" "${stable[$i]}" "$t0" | ts_of)
        gb=$(ev_first "$(garp_from "$MAC_LB2" "$VIP")" "$t0" "$nxt" | ts_of)
        nb=$(awk -v a="$t0" '$1 + 0 > a + 0 && $2 == "lb2" && $3 == "notify_master" { print $1; exit }' "$RUN_DIR/notify.log")
        printf '%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n' "$impl" "$tag" $((i + 1)) \
            "$(delta "$gb" "$t0")" "$(delta "$fb" "$t0")" "$(delta "$fb" "$la")" \
            "$(delta "$gb" "$fb")" "$(delta "$nb" "$fb")" >>"$RES"
    done
    printf 'CASE\t%s\t%s\t%s\n' "$tag" "$md" "$eff" >>"$BASE/cases"
}

for impl in "${impls[@]}"; do
    for c in $CASES; do
        v=${c%%:*}
        run_case "$impl" "${v#v}" "${c#*:}"
    done
done

col_stats() { # impl case column -> "n min med max"
    awk -F'\t' -v i="$1" -v c="$2" -v k="$3" 'NR > 1 && $1 == i && $2 == c && $k != "-" { print $k }' "$RES" | stats
}
echo
echo "=== failover after SIGKILL of the master (seconds, min / median / max over REPS=$REPS)"
printf '%-10s %-4s %-3s %-26s %-8s %-26s %-26s %-26s %-26s\n' case impl n "kill>garp" "bound" "kill>adv" "last>adv" "adv>garp" "adv>ntfy"
awk -F'\t' '!seen[$2]++' "$BASE/cases" | while IFS=$'\t' read -r _ tag md _; do
    for impl in "${impls[@]}"; do
        line=$(printf '%-10s %-4s' "$tag" "$impl")
        k=0
        for col in 4 5 6 7 8; do
            read -r n mn med mx < <(col_stats "$impl" "$tag" "$col")
            ((k++ == 0)) && line+=$(printf ' %-3s' "$n")
            line+=$(printf ' %-26s' "$mn / $med / $mx")
            ((col == 4)) && line+=$(printf ' %-8s' "$md")
        done
        printf '%s\n' "$line"
    done
    if [[ " ${impls[*]} " == *" rs "* && " ${impls[*]} " == *" ka "* ]]; then
        read -r _ _ mk _ < <(col_stats ka "$tag" 4)
        read -r _ _ mr _ < <(col_stats rs "$tag" 4)
        printf '%-10s ratio rs/ka of the kill>garp medians: %s\n' "$tag" \
            "$(awk -v r="$mr" -v k="$mk" 'BEGIN { if (k + 0 > 0 && r != "-") printf "%.2f", r / k; else print "-" }')"
    fi
done
over=$(awk -F'\t' 'NR == FNR { if ($1 == "CASE") md[$2] = $3; next } FNR > 1 && ($4 == "-" || $4 + 0 > md[$2] + 0) { n++ } END { print n + 0 }' "$BASE/cases" "$RES")
echo "repetitions with no GARP or kill>garp above the RFC bound: $over"
echo "raw: $RES"
