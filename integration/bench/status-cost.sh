#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Benchmark: what watching the daemon costs at scale (issue 13).
#
#   integration/bench/status-cost.sh
#   env: KALRS_BIN (default: a release build, built here)
#        INSTANCES=255 REQUESTS=500   the VRRP part
#        SERVICES=10000 RS=10 BIG_REQUESTS=50 SUMMARY_REQUESTS=500 SCRAPES=30   the checker part
#
# 1. VRRP: INSTANCES VRRPv3 instances (advert_int 1, one /32 VIP each),
#    MASTER alone on a veth in a namespace; once all are MASTER,
#    REQUESTS status requests one after the other, each on a fresh
#    connection: p50/p99 latency as the client sees it and the CPU time
#    of the supervisor and of the child per request, for the whole
#    table (detail) and the summary (`keepalived-rs status`'s default; a
#    daemon without views answers it with the whole table).
# 2. Checker: SERVICES virtual servers x RS real servers (no checkers;
#    integration/bench/gen-lvs-config.py, the IPVS scale profile) in the
#    checker child alone, on the host's kernel with KEEPALIVED_RS_IPVS_DRY=1
#    (every IPVS op succeeds without a kernel: the IPVS table is not what
#    is measured), in a namespace; BIG_REQUESTS status requests as above,
#    then SCRAPES scrapes of the metrics endpoint one after the other: the
#    CPU time of all the daemon's processes per scrape (less their idle
#    CPU over as long), the scrape's size and series.
# keepalived has no status socket and no metrics endpoint: nothing to
# compare with in the same run.
set -euo pipefail
REPO=$(cd "$(dirname "$(readlink -f "$0")")/../.." && pwd)
[[ $(id -u) == 0 ]] || { echo "status-cost bench: needs root (namespaces)" >&2; exit 1; }
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
if [[ -z ${KALRS_BIN:-} ]]; then
	(cd "$REPO" && cargo build --release -q -p keepalived-rs)
	KALRS_BIN=$TARGET/release/keepalived-rs
fi
INSTANCES=${INSTANCES:-255}
CLIENT=$REPO/integration/bench/status-cost.py
WORK=$(mktemp -d /var/tmp/kalrs-status-cost.XXXXXX)
# Branch-prefixed names: other namespace tests may run at the same time.
NSP=${NSP:-observe}
NS_V=$NSP-scv$$ NS_W=$NSP-scw$$ NS_C=$NSP-scc$$
cleanup() {
	for ns in $NS_V $NS_W $NS_C; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
		ip netns del "$ns" 2>/dev/null || true
	done
	[[ -n ${KEEP:-} ]] || rm -rf "$WORK"
}
trap cleanup EXIT

echo "# status-cost: $KALRS_BIN; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $WORK"

# --- 1. VRRP instances
for ns in $NS_V $NS_W; do ip netns add "$ns"; ip -n "$ns" link set lo up; done
ip link add veth0 netns "$NS_V" type veth peer name veth0 netns "$NS_W"
ip -n "$NS_V" addr add 192.0.2.1/24 dev veth0
ip -n "$NS_V" link set veth0 up
ip -n "$NS_W" link set veth0 up
{
	for i in $(seq 1 "$INSTANCES"); do
		if ((i <= 254)); then vip=198.51.100.$i/32; else vip=192.0.2.$((i - 100))/32; fi
		printf 'vrrp_instance VI_%d {\n  interface veth0\n  virtual_router_id %d\n  priority 150\n  version 3\n  advert_int 1\n  virtual_ipaddress {\n    %s\n  }\n}\n' "$i" "$i" "$vip"
	done
} >"$WORK/vrrp.conf"
ip netns exec "$NS_V" "$KALRS_BIN" -P -n -l -D -f "$WORK/vrrp.conf" -p "$WORK/v.pid" -r "$WORK/vr.pid" \
	--control-socket "$WORK/v.sock" >"$WORK/v.log" 2>&1 &
python3 "$CLIENT" wait "$WORK/v.sock" vrrp-masters "$INSTANCES"
echo "-- $INSTANCES VRRP instances, status over the control socket (CPU: supervisor+child)"
PIDS=("$(cat "$WORK/v.pid")" "$(cat "$WORK/vr.pid")")
python3 "$CLIENT" status "$WORK/v.sock" "${REQUESTS:-500}" detail "${PIDS[@]}"
python3 "$CLIENT" status "$WORK/v.sock" "${REQUESTS:-500}" summary "${PIDS[@]}"
for pid in $(ip netns pids "$NS_V"); do kill "$pid" 2>/dev/null || true; done

# --- 2. Checker table
python3 "$REPO/integration/bench/gen-lvs-config.py" --services "${SERVICES:-10000}" \
	--real-servers "${RS:-10}" --out "$WORK" >/dev/null
ip netns add "$NS_C"
ip -n "$NS_C" link set lo up
KEEPALIVED_RS_IPVS_DRY=1 ip netns exec "$NS_C" "$KALRS_BIN" -C -n -l -D -f "$WORK/big.conf" \
	-p "$WORK/c.pid" -c "$WORK/cc.pid" --control-socket "$WORK/c.sock" --metrics 127.0.0.1:9653 \
	>"$WORK/c.log" 2>&1 &
python3 "$CLIENT" wait "$WORK/c.sock" virtual-servers "${SERVICES:-10000}"
echo "-- ${SERVICES:-10000} virtual servers x ${RS:-10} real servers, status over the control socket (CPU: supervisor+child)"
PIDS=("$(cat "$WORK/c.pid")" "$(cat "$WORK/cc.pid")")
python3 "$CLIENT" status "$WORK/c.sock" "${BIG_REQUESTS:-50}" detail "${PIDS[@]}"
python3 "$CLIENT" status "$WORK/c.sock" "${SUMMARY_REQUESTS:-500}" summary "${PIDS[@]}"
echo "-- the same, Prometheus scrapes (CPU of every process of the daemon)"
# shellcheck disable=SC2046 # one argument per pid
ip netns exec "$NS_C" python3 "$CLIENT" scrape 9653 "${SCRAPES:-30}" $(ip netns pids "$NS_C")
echo "DONE"
