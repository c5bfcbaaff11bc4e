#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# vrrp_announce reaction and publishing rate (issue 15), in namespaces:
#
#   <P>-rt  router: BIRD 2, BGP AS 65000, kernel protocol
#     r1 198.51.100.1/24 -- lan 198.51.100.2/24  <P>-d1: keepalived-rs + BIRD 2
#                                                (packaging/routing/bird-announce.conf)
#
# 1. ROUNDS times: a tracked failure (track_file written non-zero, seen by
#    inotify) until the router's kernel loses the VIP's route; then the
#    recovery until the router has it again. BGP: hold 3 s, keepalive 1 s
#    (a withdrawal is an UPDATE sent at once; timers only matter for a dead
#    peer).
# 2. FLAPS times: 1 000 IPv6 VIPs (2001:db8:1::1-3e8) in one announce
#    withdrawn and announced again, timed from the file write until the
#    director's table 100 holds 0, then 1 000, routes (our publishing rate;
#    BIRD's export of IPv6 is not involved). Meanwhile a vrrp_instance in
#    the same VRRP child advertises every 0.1 s; the largest gap between
#    its adverts (captured at the router) says whether publishing stalls
#    VRRP.
# keepalived has no equivalent, so there is no ratio.
#
# Usage: integration/bench/announce.sh [ROUNDS] [FLAPS]   (root; bird2;
# KALRS_BIN defaults to the release build)
set -uo pipefail
cd "$(dirname "$0")/../.."
REPO=$PWD
# shellcheck source=../interop/lib/common.sh
source integration/interop/lib/common.sh
need_root
need_cmd bird ip tcpdump
ROUNDS=${1:-10}
FLAPS=${2:-5}
KALRS_BIN=${KALRS_BIN:-$REPO/target/release/keepalived-rs}
[[ -x $KALRS_BIN ]] || die "KALRS_BIN=$KALRS_BIN is not executable (cargo build --release -p keepalived-rs)"
P=annb$$
RUN=/tmp/kalrs-announce/$P
mkdir -p "$RUN"
VIP=192.0.2.10

teardown() {
    local f ns
    for f in "$RUN"/*.pid; do
        [[ -e $f ]] && kill -KILL "$(cat "$f")" 2>/dev/null
    done
    for ns in "$P-rt" "$P-d1"; do
        ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$ns" 2>/dev/null
    done
    return 0
}
trap teardown EXIT

for ns in "$P-rt" "$P-d1"; do
    ip netns add "$ns" || die "namespace $ns"
    ip -n "$ns" link set lo up
done
ip link add r1 netns "$P-rt" type veth peer name lan netns "$P-d1" || die veth
ip -n "$P-rt" addr add 198.51.100.1/24 dev r1
ip -n "$P-d1" addr add 198.51.100.2/24 dev lan
ip -n "$P-rt" link set r1 up
ip -n "$P-d1" link set lan up

cat >"$RUN/rt.bird.conf" <<EOF
router id 198.51.100.1;
protocol device {
}
protocol kernel {
	ipv4 { import none; export all; };
}
protocol bgp d1 {
	local as 65000;
	neighbor 198.51.100.2 as 65001;
	hold time 3;
	keepalive time 1;
	connect retry time 1;
	ipv4 { import all; export none; };
}
EOF
cat >"$RUN/d1.bird.conf" <<EOF
router id 198.51.100.2;
include "$REPO/packaging/routing/bird-announce.conf";
protocol bgp upstream {
	local as 65001;
	neighbor 198.51.100.1 as 65000;
	hold time 3;
	keepalive time 1;
	connect retry time 1;
	ipv4 { import none; export where proto = "kalrs_announce"; };
}
EOF
ip netns exec "$P-rt" bird -c "$RUN/rt.bird.conf" -s "$RUN/rt.ctl" -P "$RUN/rt.bird.pid" || die "bird rt"
ip netns exec "$P-d1" bird -c "$RUN/d1.bird.conf" -s "$RUN/d1.ctl" -P "$RUN/d1.bird.pid" || die "bird d1"

echo 0 >"$RUN/web.state"
echo 0 >"$RUN/bulk.state"
{
    cat <<EOF
track_file web {
  file "$RUN/web.state"
}
track_file bulk {
  file "$RUN/bulk.state"
}
vrrp_instance VI_1 {
  interface lan
  virtual_router_id 51
  priority 200
  advert_int 0.1
  version 3
  virtual_ipaddress {
    198.51.100.100/24
  }
}
vrrp_announce WEB {
  address $VIP
  track_file {
    web weight 0
  }
}
vrrp_announce BULK {
EOF
    for i in $(seq 1 1000); do printf '  address 2001:db8:1::%x\n' "$i"; done
    cat <<EOF
  track_file {
    bulk weight 0
  }
}
EOF
} >"$RUN/d1.conf"
ip netns exec "$P-d1" "$KALRS_BIN" -P -n -l -G -f "$RUN/d1.conf" -p "$RUN/d1.pid" \
    -r "$RUN/d1.vrrp.pid" >"$RUN/d1.out" 2>&1 &
disown

router_has() { ip -n "$P-rt" route show "$VIP/32" 2>/dev/null | grep via >/dev/null; }
router_lacks() { ! router_has; }
bulk_count() { ip -n "$P-d1" -6 route show table 100 proto 249 2>/dev/null | grep -c '^2001:db8:1::'; }
bulk_is() { [[ $(bulk_count) == "$1" ]]; }

wait_for 30 router_has || die "the router never learned $VIP (see $RUN)"
wait_for 10 bulk_is 1000 || die "the director never announced the 1 000 IPv6 VIPs ($(bulk_count))"

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
stats() { # label values...: median (min-max)
    local label=$1
    shift
    printf '%s\n' "$@" | sort -n | awk -v l="$label" '{ v[NR] = $1 }
        END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
              printf "%-44s median %8.1f ms  (min %.1f, max %.1f, n=%d)\n", l, m, v[1], v[NR], NR }'
}

down=() up=()
for _ in $(seq 1 "$ROUNDS"); do
    t0=$(now); echo 1 >"$RUN/web.state"
    wait_for 10 router_lacks || die "no withdrawal at the router"
    down+=("$(ms "$t0" "$(now)")")
    sleep 0.5
    t0=$(now); echo 0 >"$RUN/web.state"
    wait_for 10 router_has || die "no re-announcement at the router"
    up+=("$(ms "$t0" "$(now)")")
    sleep 0.5
done
ip netns exec "$P-rt" tcpdump -i r1 -n -tt -U -w "$RUN/vrrp.pcap" 'ip proto 112' 2>/dev/null &
dump=$!
sleep 1
bdown=() bup=()
for _ in $(seq 1 "$FLAPS"); do
    t0=$(now); echo 1 >"$RUN/bulk.state"
    wait_for 30 bulk_is 0 || die "1 000 routes not withdrawn ($(bulk_count) left)"
    bdown+=("$(ms "$t0" "$(now)")")
    t0=$(now); echo 0 >"$RUN/bulk.state"
    wait_for 30 bulk_is 1000 || die "1 000 routes not announced ($(bulk_count))"
    bup+=("$(ms "$t0" "$(now)")")
done

sleep 0.5
kill "$dump"; wait "$dump" 2>/dev/null
gap=$(tcpdump -r "$RUN/vrrp.pcap" -n -tt 2>/dev/null |
    awk '{ t = $1 + 0; if (p) { g = (t - p) * 1000; if (g > m) m = g } p = t; n++ }
         END { printf "%.1f ms over %d adverts", m, n }')

echo "vrrp_announce, $(basename "$KALRS_BIN") $( [[ $KALRS_BIN == */release/* ]] && echo release || echo debug ), BGP hold 3 s keepalive 1 s"
stats "failure -> router withdrew (track_file)" "${down[@]}"
stats "recovery -> router re-learned" "${up[@]}"
stats "1 000 IPv6 routes withdrawn (director)" "${bdown[@]}"
stats "1 000 IPv6 routes announced (director)" "${bup[@]}"
echo "largest gap between VRRP adverts (advert_int 0.1 s) during the flaps: $gap"
