#!/usr/bin/env bash
# configs-oracle.sh — record real keepalived's verdict on every corpus file.
#
# For every top-level corpus entry integration/configs/{valid,invalid}/*.conf
# it runs, inside a throw-away namespace built by netns/config-ns.sh (eth0,
# eth1, eth2, bond0; see that script):
#
#     cd <dir of file> && keepalived -t -i lb1 -f <absolute file>
#
# and writes integration/configs/expected.tsv, sorted, one line per file:
#
#     <path relative to integration/configs>  TAB  <exit code>  TAB  <first line>
#
# <first line> is the first non-empty line keepalived printed (stderr and
# stdout merged), tabs turned into spaces, with the absolute path of
# integration/configs/ removed so that "(/abs/.../configs/invalid/x.conf: Line 3)"
# reads "(invalid/x.conf: Line 3)"; empty when keepalived printed nothing.
#
# It then checks that every valid/ file exits 0 and every invalid/ file exits
# with the code named in its header line "# VERDICT: ... -> exit N"; it exits 1
# (after writing the TSV) if any file disagrees.
#
# Env: KEEPALIVED (default /usr/sbin/keepalived), CONFIG_ID (default lb1),
#      NS_NAME (default kacfg-oracle-$$), OUT (default configs/expected.tsv).
# Needs root and working `ip netns`. The namespace is always torn down (trap).
set -euo pipefail

HERE=$(cd "$(dirname "$(readlink -f "$0")")" && pwd)
CONFIGS=$HERE/configs
NSH=$HERE/netns/config-ns.sh
KEEPALIVED=${KEEPALIVED:-/usr/sbin/keepalived}
CONFIG_ID=${CONFIG_ID:-lb1}
NS_NAME=${NS_NAME:-kacfg-oracle-$$}
OUT=${OUT:-$CONFIGS/expected.tsv}

die() { printf 'configs-oracle.sh: FATAL: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) == 0 ]] || die "must run as root (network namespaces)"
[[ -x $KEEPALIVED ]] || die "keepalived not found at $KEEPALIVED"
[[ -x $NSH ]] || die "namespace helper $NSH missing or not executable"
command -v timeout >/dev/null 2>&1 || die "coreutils timeout missing"

TMP=$(mktemp -d /tmp/configs-oracle.XXXXXX)
cleanup() {
    "$NSH" down "$NS_NAME" || printf 'configs-oracle.sh: warning: teardown of %s failed\n' "$NS_NAME" >&2
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$NSH" up "$NS_NAME"

shopt -s nullglob
files=("$CONFIGS"/valid/*.conf "$CONFIGS"/invalid/*.conf)
[[ ${#files[@]} -gt 0 ]] || die "no corpus files under $CONFIGS/{valid,invalid}"

: >"$TMP/rows"
bad=0
for f in "${files[@]}"; do
    rel=${f#"$CONFIGS"/}
    rc=0
    # -t runs the parent, VRRP, checker and BFD parse passes in one process.
    (cd "$(dirname "$f")" &&
        exec timeout 60 "$NSH" exec "$NS_NAME" "$KEEPALIVED" -t -i "$CONFIG_ID" -f "$f") \
        >"$TMP/out" 2>&1 || rc=$?
    first=$(grep -m1 -v '^[[:space:]]*$' "$TMP/out" || true)
    first=${first//$'\t'/ }
    first=${first//$'\r'/}
    first=${first//"$CONFIGS/"/}
    printf '%s\t%s\t%s\n' "$rel" "$rc" "$first" >>"$TMP/rows"

    case $rel in
        valid/*) want=0 ;;
        invalid/*)
            want=$(sed -n 's/^# VERDICT:.*-> exit \([0-9][0-9]*\).*/\1/p' "$f" | head -n1)
            [[ -n $want ]] || { printf 'NO-VERDICT %s (header lacks "-> exit N")\n' "$rel"; bad=1; continue; } ;;
    esac
    if [[ $rc != "$want" ]]; then
        printf 'MISMATCH %s: keepalived exit %s, expected %s\n' "$rel" "$rc" "$want"
        sed 's/^/    | /' "$TMP/out" | head -n 20
        bad=1
    fi
done

LC_ALL=C sort "$TMP/rows" >"$OUT"
total=$(wc -l <"$OUT")
printf 'wrote %s (%s files)\n' "$OUT" "$total"
awk -F'\t' '{split($1,p,"/"); n[p[1]" exit "$2]++} END {for (k in n) printf "  %-16s %d\n", k, n[k]}' "$OUT" | LC_ALL=C sort
if [[ $bad != 0 ]]; then
    echo "some files do not match their intended verdict" >&2
    exit 1
fi
echo "all verdicts as intended"
