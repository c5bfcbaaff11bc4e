#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Benchmark: `-t` on a generated ~100 000-line configuration (1 000
# vrrp_instances, 2 000 virtual servers with real servers and checkers),
# keepalived-rs against keepalived in the same run, in one namespace that
# holds the interfaces the config names. Prints both medians and the ratio.
#
#   integration/bench/config-test.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${1:-20}
[[ $(id -u) == 0 ]] || { echo "config-test bench: needs root (network namespace)" >&2; exit 1; }
command -v keepalived >/dev/null || { echo "config-test bench: keepalived is not installed" >&2; exit 1; }
command -v hyperfine >/dev/null || { echo "config-test bench: hyperfine is not installed" >&2; exit 1; }

cargo build --release -q -p keepalived-rs
BIN=${CARGO_TARGET_DIR:-$PWD/target}/release/keepalived-rs
WORK=$(mktemp -d)
NS=kbench$$
cleanup() { ip netns del "$NS" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
ip netns add "$NS"
for i in 0 1 2 3; do
  ip -n "$NS" link add "eth$i" type veth peer name "eth${i}p"
  ip -n "$NS" link set "eth$i" up
done
python3 integration/bench/gen-big-config.py > "$WORK/big.conf"
LINES=$(wc -l < "$WORK/big.conf")

# Both must agree that the config is clean, or the timing means nothing.
for cmd in keepalived "$BIN"; do
  rc=0; ip netns exec "$NS" "$cmd" -t -f "$WORK/big.conf" -i bench 2>"$WORK/err" || rc=$?
  if [[ $rc != 0 ]]; then
    echo "config-test bench: $cmd -t exited $rc:" >&2; head -5 "$WORK/err" >&2; exit 1
  fi
done

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$WORK/h.json" \
  -n keepalived "ip netns exec $NS keepalived -t -i bench -f $WORK/big.conf" \
  -n keepalived-rs "ip netns exec $NS $BIN -t -i bench -f $WORK/big.conf" >/dev/null
python3 - "$WORK/h.json" "$LINES" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
k, o = r["keepalived"], r["keepalived-rs"]
print(f"config: {sys.argv[2]} lines")
for name, x in (("keepalived", k), ("keepalived-rs", o)):
    print(f"{name:14s} median {x['median']*1000:8.1f} ms  min {x['min']*1000:8.1f} ms  max {x['max']*1000:8.1f} ms  (n={len(x['times'])})")
print(f"ratio keepalived / keepalived-rs (median): {k['median']/o['median']:.2f}x")
PY
