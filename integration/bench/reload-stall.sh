#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Does a reload stall the adverts? (docs/reliability.md, finding 6)
#
# One node alone on a veth (namespaces <P>-n and <P>-w, the wire side
# watched by tcpdump) with INSTANCES VRRPv3 instances on eth0 (VRIDs
# 1..INSTANCES, advert_int 1 s, one VIP each) and one fast instance
# (VRID 255, advert_int 0.1 s). Once it is master of all, RELOADS SIGHUPs,
# each changing the VIP of the last instance and waiting for the reload's
# end in the log. Printed per implementation: the reload time (SIGHUP to
# the VRRP child's "applied generation" line, median and max; keepalived
# 2.2.7 logs no end of reload, so its column has none and each reload
# gets 2 s) and the largest gap between
# two of the fast instance's adverts over the whole reload phase (it
# should stay near 0.1 s; the backup's master-down is 0.3 s + skew).
#
# Usage: integration/bench/reload-stall.sh [INSTANCES] [RELOADS]
#   (root; KALRS_BIN defaults to the release build; IMPLS="rs ka")
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
# shellcheck source=../interop/lib/common.sh
source integration/interop/lib/common.sh
need_root
need_cmd ip tcpdump keepalived awk
INSTANCES=${1:-200}
RELOADS=${2:-10}
IMPLS=${IMPLS:-rs ka}
KALRS_BIN=${KALRS_BIN:-$REPO/target/release/keepalived-rs}
[[ -x $KALRS_BIN ]] || die "KALRS_BIN=$KALRS_BIN is not executable (cargo build --release -p keepalived-rs)"
P=rlst$$
RUN=/tmp/kalrs-reload-stall/$P
mkdir -p "$RUN"

cleanup() {
    local p
    for p in "$RUN"/*.pidof; do [[ -f $p ]] && kill -TERM "$(cat "$p")" 2>/dev/null; done
    sleep 0.5
    ip netns del "$P-n" 2>/dev/null
    ip netns del "$P-w" 2>/dev/null
}
trap cleanup EXIT

ip netns add "$P-n"
ip netns add "$P-w"
ip -n "$P-n" link add eth0 type veth peer name wire netns "$P-w"
ip -n "$P-n" addr add 192.0.2.1/24 dev eth0
ip -n "$P-n" link set eth0 up
ip -n "$P-n" link set lo up
ip -n "$P-w" link set wire up

conf() { # variant -> config
    local i
    printf 'global_defs {\n    router_id %s\n    vrrp_version 3\n}\n' "$P"
    for ((i = 1; i <= INSTANCES; i++)); do
        local vip="10.$((i / 250)).$((i % 250)).1/32"
        ((i == INSTANCES && $1 % 2)) && vip="10.200.0.$((1 + $1 % 200))/32"
        printf 'vrrp_instance V%d {\n    state BACKUP\n    interface eth0\n    virtual_router_id %d\n    priority 100\n    advert_int 1\n    virtual_ipaddress {\n        %s\n    }\n}\n' "$i" "$i" "$vip"
    done
    printf 'vrrp_instance FAST {\n    state BACKUP\n    interface eth0\n    virtual_router_id 255\n    priority 100\n    advert_int 0.1\n    virtual_ipaddress {\n        192.0.2.255/24\n    }\n}\n'
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }

run_impl() { # impl
    local impl=$1 bin out cfg pid wire t0 t1 k n0 i times=() tmax tmed gap
    case $impl in
        rs) bin=$KALRS_BIN ;;
        ka) bin=$(command -v keepalived) ;;
    esac
    out=$RUN/$impl.out
    cfg=$RUN/$impl.conf
    wire=$RUN/$impl.wire
    conf 0 >"$cfg"
    ip netns exec "$P-w" tcpdump -i wire -nn -tt -l 'ip proto 112 and ip[21] = 255' >"$wire" 2>/dev/null &
    echo $! >"$RUN/$impl-tcpdump.pidof"
    ip netns exec "$P-n" "$bin" -P -n -l -D -f "$cfg" -p "$RUN/$impl.pid" -r "$RUN/$impl.vrrp.pid" >"$out" 2>&1 &
    pid=$!
    echo "$pid" >"$RUN/$impl.pidof"
    # Master of all: each instance's VIP is on eth0.
    wait_for 40 eval "(( \$(ip -n $P-n -4 addr show dev eth0 | grep -c 'inet ') >= $INSTANCES + 2 ))" ||
        die "$impl: not master of every instance within 40 s ($(ip -n "$P-n" -4 addr show dev eth0 | grep -c 'inet ') addresses)"
    sleep 1
    t0=$EPOCHREALTIME
    for ((k = 1; k <= RELOADS; k++)); do
        conf "$k" >"$cfg"
        i=$EPOCHREALTIME
        kill -HUP "$pid"
        if [[ $impl == rs ]]; then
            wait_for 30 eval "(( \$(grep -c 'VRRP child applied generation' $out) > $k ))" || die "$impl: reload $k did not end within 30 s"
            times+=("$(calc "$EPOCHREALTIME - $i")")
        else
            # keepalived 2.2.7 logs nothing at the end of a reload here:
            # its reload time is not measured, only the adverts' gaps.
            sleep 2
        fi
        sleep 0.3
    done
    t1=$EPOCHREALTIME
    sleep 0.3
    kill -TERM "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    kill -TERM "$(cat "$RUN/$impl-tcpdump.pidof")" 2>/dev/null
    rm -f "$RUN/$impl.pidof" "$RUN/$impl-tcpdump.pidof"
    tmed=$(printf '%s\n' "${times[@]:-}" | grep . | median)
    tmax=$(printf '%s\n' "${times[@]:-}" | grep . | sort -n | tail -n 1)
    [[ -n $tmax ]] || tmax=-
    gap=$(awk -v a="$t0" -v b="$t1" '$1 + 0 >= a + 0 && $1 + 0 <= b + 0 { if (n++) { g = $1 - l; if (g > m) m = g } l = $1 } END { printf "%.3f", m }' "$wire")
    printf '%s %s %s %s\n' "$impl" "$tmed" "$tmax" "$gap" >>"$RUN/results"
    printf '%-3s %d instances, %d reloads: reload time median %s s, max %s s; largest gap between FAST adverts %s s\n' \
        "$impl" "$INSTANCES" "$RELOADS" "$tmed" "$tmax" "$gap"
}

for impl in $IMPLS; do run_impl "$impl"; done
if [[ $IMPLS == *rs* && $IMPLS == *ka* ]]; then
    awk '{ g[$1] = $4 } END { printf "ratio rs/ka: largest advert gap %.2f\n", g["rs"] / g["ka"] }' "$RUN/results"
fi
