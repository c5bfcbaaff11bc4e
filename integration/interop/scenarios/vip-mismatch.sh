#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# The VIP lists differ (keepalived issue #1603, a rolling config change):
# A advertises two VIPs, B is configured with one. keepalived drops an
# advert whose address list differs from its own, so B also becomes master
# (dual master). keepalived-rs logs a warning and still uses the advert for
# the election, so B stays backup (one master).
#
# The outcome is decided by the receiver, B. VIP_MISMATCH_EXPECT_<impl of
# B> = dual | single sets what is expected (defaults: ka=dual, rs=single,
# anything else=single). VRRPv3, advert_int 0.1.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin vip-mismatch "VIP lists differ (#1603): dual master (keepalived) or one master (ours)"
impl_b=$(impl_label "$IMPL_B")
var=VIP_MISMATCH_EXPECT_$impl_b
expect=${!var:-}
[[ -n $expect ]] || case $impl_b in ka) expect=dual ;; *) expect=single ;; esac
[[ $expect == dual || $expect == single ]] || die "$var must be dual or single, not '$expect'"
say "   expected with B=$impl_b: $expect ($var)"

C_VERSION=3 C_ADVERT=0.1
{ conf_global lb1; conf_instance lb1 VI_1 $VRID $PRIO_A "$VIP/$PLEN" "$VIP2/$PLEN"; } >"$RUN_DIR/lb1.conf"
{ conf_global lb2; conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"
VIP_ADDRS=("$VIP")
pair_timers
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
limit=$(calc "${START_ALLOW_S:-1} + $MD_B + $(slack_for "$ADV")")
check_state "lb1 master with both VIPs" wait_for "$limit" ns_has_all "$NS_LB1" "$VIP" "$VIP2"
hold=$(calc "3 * $MD_B")
if [[ $expect == dual ]]; then
    wait_for "$limit" both_hold "$VIP" || true
    check_state "dual master: lb2 also holds $VIP for $hold s" holds_for "$hold" both_hold "$VIP"
else
    check_state "one master: lb2 stays backup for $hold s" holds_for "$hold" a_master "$VIP"
fi
refresh_events
nb=$(ev_count "$(adv_from "$IP_LB2")" "$T0")
if [[ $expect == dual ]]; then
    check "lb2 advertises (it rejected lb1's adverts)" "$nb adverts from lb2" eval "((nb > 0))"
else
    check "lb2 silent (it accepted lb1's adverts)" "$nb adverts from lb2" test "$nb" = 0
    # A dead lb2 is silent too: it must have taken part (notify BACKUP).
    b=$(notify_first "$T0" lb2 BACKUP)
    check "notify: lb2 BACKUP" "+$(delta "$b" "$T0") s" test -n "$b"
fi
cnt=$(ev_first "$(adv_from "$IP_LB1")" "$T0" | awk '{ print $11 " (" $14 ")" }')
info "lb1's advert address count: ${cnt:-none}"
l=$(grep -v '^===' "$RUN_DIR/lb2.out" | grep -i -m1 -E "${VIP_MISMATCH_LOG_RE:-unexpected ip number count|not present|address list}" || true)
info "lb2 log: ${l:-no line about the address list}"
scenario_end
