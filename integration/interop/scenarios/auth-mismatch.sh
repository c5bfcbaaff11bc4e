#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# VRRPv2 simple-text authentication with different passwords: neither side
# may accept the other's adverts, so both become master (dual master is
# the correct, visible outcome of a misconfiguration; silently accepting
# would be a security bug). The drop must be visible on the receiving side
# B: AUTH_DROP_CHECK_<impl of B> selects how
#   stats  SIGUSR2 -> keepalived.stats in B's TMPDIR ($RUN_DIR/lb2.tmp)
#          "Authentication failure" > 0
#   log    the daemon's console log has a line matching $AUTH_DROP_LOG_RE
#          (default: keepalived's "invalid passwd" or "authentication
#          fail|error|mismatch")
#   none   not checked (printed as a NOTE, counts neither way)
# Defaults: ka=stats+log, rs=stats (our keepalived.stats has keepalived's
# layout and counters; our drop log line is not keepalived's words).
# advert_int 1 (v2 needs seconds).
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin auth-mismatch "VRRPv2 auth PASS mismatch: adverts rejected, both become master"
C_VERSION=2 C_ADVERT=1
VIP_ADDRS=("$VIP")
C_AUTH_PASS=ki-pw-A
{ conf_global lb1; conf_instance lb1 VI_1 $VRID $PRIO_A "$VIP/$PLEN"; } >"$RUN_DIR/lb1.conf"
C_AUTH_PASS=ki-pw-B
{ conf_global lb2; conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"
pair_timers
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
limit=$(calc "${START_ALLOW_S:-1} + $MD_B + $(slack_for "$ADV")")
check_state "both hold the VIP (dual master)" wait_for "$limit" both_hold "$VIP"
HOLD=${AUTH_HOLD:-2.5}
check_state "dual master persists for $HOLD s" holds_for "$HOLD" both_hold "$VIP"
refresh_events
na=$(ev_count "$(adv_from "$IP_LB1")" "$T0")
nb=$(ev_count "$(adv_from "$IP_LB2")" "$T0")
check "lb2 advertised as master (it ignored lb1)" "$nb adverts from lb2, $na from lb1" eval "((nb >= 1))"
# keepalived 2.2.7 as master restarts its advert timer on every packet it
# receives, valid or not, so with equal intervals each master's rejected
# adverts can keep the other one silent for long stretches (seen both
# ways). Recorded, not judged: the VIP placement above is the outcome.
info "adverts on the wire over $(delta "$(now)" "$T0") s: lb1 $na, lb2 $nb (advert_int 1)"
line=$(ev_first "$(adv_from "$IP_LB1")" "$T0")
auth=$(awk '{ print $15 }' <<<"$line")
check "lb1's adverts carry simple-text auth (type 1)" "auth type ${auth:--}" test "$auth" = 1

drop_checks() { # impl of B
    local how var="AUTH_DROP_CHECK_$1" stats n
    how=${!var:-}
    [[ -n $how ]] || case $1 in ka) how="stats log" ;; rs) how=stats ;; *) how=none ;; esac
    if [[ $how == none ]]; then
        note "drop evidence on lb2 ($1) not checked (set $var=stats|log)"
        return 0
    fi
    if [[ " $how " == *" stats "* ]]; then
        # Both implementations write the stats into $TMPDIR, which
        # peer_launch makes B's own directory: no other daemon writes there.
        local file=$RUN_DIR/lb2.tmp/keepalived.stats
        rm -f "$file"
        kill -USR2 "${PEER_PID[B]}" 2>/dev/null || true
        wait_for 2 test -s "$file" || true
        sleep 0.1
        stats=$(cat "$file" 2>/dev/null || true)
        n=$(awk -F: '/Authentication Errors:/ { a = 1 } a && $1 ~ /Failure/ { gsub(/ /, "", $2); print $2; exit }' <<<"$stats")
        check "lb2 stats count the authentication failures" "Authentication Errors / Failure: ${n:-missing}" eval "[[ '${n:-0}' =~ ^[0-9]+$ ]] && (( ${n:-0} > 0 ))"
    fi
    if [[ " $how " == *" log "* ]]; then
        local l
        l=$(grep -v '^===' "$RUN_DIR/lb2.out" | grep -i -m1 -E "${AUTH_DROP_LOG_RE:-invalid passwd|authentication (fail|error|mismatch)}" || true)
        check "lb2 log mentions the bad authentication" "${l:-no such line}" test -n "$l"
    fi
}
drop_checks "$(impl_label "$IMPL_B")"
scenario_end
