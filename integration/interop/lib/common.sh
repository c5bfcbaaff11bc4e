# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
# Logging, PASS/FAIL bookkeeping, time and float helpers. Sourced.

say()  { printf '%s\n' "$*"; }
note() { printf '  NOTE  %s\n' "$*"; }
info() { printf '  INFO  %s\n' "$*"; }
log()  { printf '%s %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
die()  { log "FATAL: $*"; exit 2; }

need_root() { [[ $(id -u) == 0 ]] || die "must run as root (network namespaces, raw sockets)"; }
need_cmd() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null 2>&1 || die "missing command '$c' (integration/install-deps installs it)"
    done
}

# ------------------------------------------------------------ checks --------
# Every check prints one line and appends "PASS|FAIL <scenario> <name>" to
# $RESULTS_FILE when the runner gave one, so that the runner can total them.
N_PASS=0
N_FAIL=0
record() { # PASS|FAIL name detail
    local verdict=$1 name=$2 detail=${3:-}
    if [[ $verdict == PASS ]]; then N_PASS=$((N_PASS + 1)); else N_FAIL=$((N_FAIL + 1)); fi
    printf '  %-4s  %-58s %s\n' "$verdict" "$name" "$detail"
    [[ -z ${RESULTS_FILE:-} ]] || printf '%s %s %s\n' "$verdict" "${SCENARIO:-?}" "$name" >>"$RESULTS_FILE"
}
pass() { record PASS "$@"; }
fail() { record FAIL "$@"; }
# check NAME DETAIL CMD...: PASS when CMD succeeds.
check() {
    local name=$1 detail=$2
    shift 2
    if "$@"; then pass "$name" "$detail"; else fail "$name" "$detail"; fi
}

# ------------------------------------------------------------ time ----------
now() { printf '%s\n' "$EPOCHREALTIME"; }

now_us() { local t=$EPOCHREALTIME; printf '%s\n' "${t/./}"; }
secs_to_us() { awk -v s="$1" 'BEGIN { printf "%d", s * 1000000 }'; }

# wait_for SECONDS CMD...: poll CMD every 10 ms until it succeeds; the last
# try happens at the deadline, so a slow condition still gets one chance.
wait_for() {
    local end t
    end=$(( $(now_us) + $(secs_to_us "$1") ))
    shift
    while t=$EPOCHREALTIME; (( ${t/./} < end )); do
        "$@" && return 0
        sleep 0.01
    done
    "$@"
}

# holds_for SECONDS CMD...: CMD stays true for the whole period (polled).
holds_for() {
    local end t
    end=$(( $(now_us) + $(secs_to_us "$1") ))
    shift
    while t=$EPOCHREALTIME; (( ${t/./} < end )); do
        "$@" || return 1
        sleep 0.02
    done
    "$@"
}

# ------------------------------------------------------------ numbers -------
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }
# a - b, or "-" when either is missing
delta() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || a == "-" || b == "-") print "-"; else printf "%.4f", a - b }'; }
# le A B: true when A is a number and A <= B
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a != "-" && a + 0 <= b + 0) }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a != "" && a != "-" && a + 0 >= b + 0) }'; }

# VRRP timers as keepalived 2.2 computes them (RFC 3768 / 5798): skew is
# (256-prio)/256 s for v2 and (256-prio)*interval/256 for v3.
skew_of() { # version interval prio
    if [[ $1 == 2 ]]; then calc "(256 - $3) / 256"; else calc "(256 - $3) * $2 / 256"; fi
}
master_down_of() { # version interval prio
    calc "3 * $2 + $(skew_of "$1" "$2" "$3")"
}
# keepalived rounds a v2 interval to whole seconds (half up, at least 1);
# v3 is carried in centiseconds.
effective_interval() { # version interval
    if [[ $1 == 2 ]]; then
        awk -v a="$2" 'BEGIN { r = int(a + 0.5); if (r < 1) r = 1; print r }'
    else
        awk -v a="$2" 'BEGIN { printf "%g", int(a * 100 + 0.5) / 100 }'
    fi
}

# Statistics of a column of numbers on stdin: "n min median max".
stats() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "0 - - -"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%d %.4f %.4f %.4f\n", NR, v[1], m, v[NR] }'
}
