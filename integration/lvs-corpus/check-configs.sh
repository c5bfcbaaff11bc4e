#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Every corpus config must be accepted (exit 0) by real keepalived -t and by
# keepalived-rs -t. Usage: check-configs.sh [path/to/keepalived-rs]
# None of the configs names an interface, so no namespace is needed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ours=${1:-${CARGO_TARGET_DIR:-$here/../../target}/debug/keepalived-rs}
command -v keepalived >/dev/null || { echo "FAIL: keepalived not installed" >&2; exit 1; }
[ -x "$ours" ] || { echo "FAIL: $ours not built (cargo build -p keepalived-rs)" >&2; exit 1; }
fail=0
n=0
for f in "$here"/*.conf; do
    n=$((n + 1))
    for bin in keepalived "$ours"; do
        out=$("$bin" -t -f "$f" 2>&1)
        rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "FAIL: $(basename "$bin") -t $(basename "$f") exited $rc"
            echo "$out" | sed 's/^/    /'
            fail=1
        fi
    done
    [ -f "${f%.conf}.expected" ] || { echo "FAIL: no ${f%.conf}.expected"; fail=1; }
done
[ "$n" -ge 15 ] || { echo "FAIL: only $n configs"; fail=1; }
[ "$fail" -eq 0 ] && echo "ok: $n configs accepted by keepalived and keepalived-rs"
exit "$fail"
