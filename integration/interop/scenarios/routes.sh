#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck source-path=SCRIPTDIR
# virtual_routes / virtual_rules follow MASTER; static_routes /
# static_rules stay for the daemon's life; a deleted VIP. Both sides carry
# the same blocks (an IPv6 route and an excluded VIP among them); A also
# tracks trk0 (weight -60) so that it can be made BACKUP while it keeps
# running. VRRPv3, advert_int 0.1.
# 1. From start, both sides have the static route and rule (B never was
#    MASTER); after the election only lb1 has the virtual routes (table
#    100, protocol 18 "keepalived") and rules (preferences 200, 201).
# 2. trk0 down: lb2 takes over; the virtual routes and rules are on lb2
#    and gone from lb1; the static ones stay on both. trk0 up: back on lb1.
# 3. lb1 has a static address on trk1 with `track_group TG` (VI_1) and a
#    static route through trk1: trk1 down: lb1 FAULT, lb2 takes over, the
#    kernel drops the route; trk1 up: lb1 preempts, the route is back.
#    The static route and the static address deleted on lb2 by hand: put
#    back (both implementations do).
# 4. The VIP deleted on lb1 (MASTER) by hand. keepalived-rs: put back,
#    lb1 stays MASTER (no notify from lb1), with the virtual
#    route that used it as its source (the kernel drops that one with the
#    VIP), and so is a deleted virtual route. keepalived 2.2.7 (known behaviour, docs/compatibility.md):
#    lb1 goes BACKUP (notify BACKUP), then MASTER again, the VIP back on lb1.
# 5. SIGHUP of lb1 with one virtual route and one rule replaced and a
#    static route added: the new ones appear, the removed ones go, the
#    unchanged route is never deleted (`ip monitor`); ours does not touch
#    it at all (keepalived replaces it, which the monitor shows as an
#    update).
# 6. SIGTERM of lb2: its static address, route and rule are gone.
# shellcheck source=../lib/scenario.sh
source "$(dirname "$0")/../lib/scenario.sh"
scenario_begin routes "virtual_routes/rules follow MASTER, static ones stay, a deleted VIP"
C_VERSION=3 C_ADVERT=0.1
WEIGHT=-60
for l in trk0 trk1; do
    ip -n "$NS_LB1" link add "$l" type veth peer name "${l}p"
    ip -n "$NS_LB1" link set "$l" up
    ip -n "$NS_LB1" link set "${l}p" up
done

STATIC_ROUTE=198.51.100.64/26
STATIC_ADDR=203.0.113.250
STATIC_ADDR2=203.0.113.251
TRK1_ROUTE=198.51.100.32/28
STATIC="static_ipaddress {
    $STATIC_ADDR/32 dev $IFACE
}
static_routes {
    $STATIC_ROUTE via 192.0.2.254 dev $IFACE
}
static_rules {
    from $STATIC_ROUTE table 101 preference 301
}"
VROUTE1=203.0.113.0/25
VROUTE2=203.0.113.128/25
# In table main with the VIP as its source: the kernel drops it, silently,
# with the VIP (it keeps such a route in another table).
VROUTE4=198.51.100.192/26
VROUTE6=2001:db8:2::/48
EVIP=192.0.2.150
VIRTUAL="    virtual_routes {
        $VROUTE1 via 192.0.2.254 dev $IFACE table 100
        blackhole $VROUTE2 table 100 no_track
        $VROUTE4 src $VIP via 192.0.2.254 dev $IFACE
        $VROUTE6 via 2001:db8:0:1::fe dev $IFACE table 100
    }
    virtual_ipaddress_excluded {
        $EVIP/$PLEN dev $IFACE
    }
    virtual_rules {
        from $VIP table 100 preference 200
        to 203.0.113.0/24 table 100 preference 201
    }"
TRACK="    track_interface {
        trk0 weight $WEIGHT
    }"
VIP_ADDRS=("$VIP")
# lb1 only: a static address on trk1 in track group TG of VI_1.
TRACK_GROUP="track_group TG {
    group {
        VI_1
    }
}
static_ipaddress {
    $STATIC_ADDR2/32 dev trk1 track_group TG
}
static_routes {
    $TRK1_ROUTE dev trk1
}"
{ C_ROOT="$TRACK_GROUP
$STATIC" conf_global lb1; C_EXTRA="$VIRTUAL
$TRACK" conf_instance lb1 VI_1 $VRID $PRIO_A "$VIP/$PLEN"; } >"$RUN_DIR/lb1.conf"
{ C_ROOT=$STATIC conf_global lb2; C_EXTRA=$VIRTUAL conf_instance lb2 VI_1 $VRID $PRIO_B "$VIP/$PLEN"; } >"$RUN_DIR/lb2.conf"

# Protocol 18 is how keepalived (and we) mark its routes. No `grep -q` after
# a pipe: it may close the pipe early, and with pipefail ip's SIGPIPE
# turns a match into a failure.
vroute() { ip -n "$1" route show table 100 proto 18 2>/dev/null | grep -- "$2" >/dev/null; }
src_route() { ip -n "$1" route show "$VROUTE4" proto 18 2>/dev/null | grep "src $VIP" >/dev/null; }
v6route() { ip -n "$1" -6 route show table 100 proto 18 2>/dev/null | grep "^$VROUTE6 via" >/dev/null; }
rule_pref() { [[ -n $(ip -n "$1" rule show pref "$2" 2>/dev/null) ]]; }
virtual_on() { vroute "$1" "^$VROUTE1 via" && vroute "$1" "blackhole $VROUTE2" && src_route "$1" && v6route "$1" && ns_has_addr "$1" "$EVIP" && rule_pref "$1" 200 && rule_pref "$1" 201; }
virtual_off() { ! vroute "$1" "$VROUTE1" && ! vroute "$1" "$VROUTE2" && ! src_route "$1" && ! v6route "$1" && ! ns_has_addr "$1" "$EVIP" && ! rule_pref "$1" 200 && ! rule_pref "$1" 201; }
static_on() { ip -n "$1" route show "$STATIC_ROUTE" proto 18 | grep via >/dev/null && rule_pref "$1" 301 && ns_has_addr "$1" "$STATIC_ADDR"; }
static_off() { [[ -z $(ip -n "$1" route show "$STATIC_ROUTE") ]] && ! rule_pref "$1" 301 && ! ns_has_addr "$1" "$STATIC_ADDR"; }
on_a_only() { virtual_on "$NS_LB1" && virtual_off "$NS_LB2"; }
on_b_only() { virtual_on "$NS_LB2" && virtual_off "$NS_LB1"; }
show_routing() {
    local ns n
    for ns in "$NS_LB1" "$NS_LB2"; do
        n=${ns##*-}
        printf '%s[table100: %s | %s | rules: %s | static: %s] ' "$n" \
            "$(ip -n "$ns" route show table 100 2>/dev/null | paste -sd, -)" \
            "$(ip -n "$ns" route show "$VROUTE4" | paste -sd, -)" \
            "$(ip -n "$ns" rule show | awk '$1 ~ /^(200|201|301):/' | paste -sd, -)" \
            "$(ip -n "$ns" route show "$STATIC_ROUTE" | paste -sd, -)"
    done
}
check_routing() { # name cmd...
    local name=$1 rc=0
    shift
    "$@" || rc=$?
    if ((rc == 0)); then pass "$name" "$(show_routing)"; else fail "$name" "$(show_routing)"; fi
}

pair_timers
T0=$(now)
peer_start A "$RUN_DIR/lb1.conf"
peer_start B "$RUN_DIR/lb2.conf"
# B is still BACKUP here and stays so: its static entries come from start.
check_routing "static route and rule on lb2 from start" wait_for 3 static_on "$NS_LB2"
pair_wait_a_master "election: VIP on lb1 only" "$T0"
check_routing "virtual routes and rules on lb1 only (proto 18)" wait_for 1.5 on_a_only
check_routing "static route and rule on lb1 too" static_on "$NS_LB1"
if [[ $IMPL_A == rs ]]; then
    st=$("$KALRS_BIN" status --detail --json --control-socket "$RUN_DIR/lb1.sock" 2>&1 || true)
    r=$(grep -o "\"$VROUTE1 via [^\"]*\"" <<<"$st" | head -1)
    check "ours: status shows the virtual routes" "${r:-none in: ${st:0:200}}" test -n "$r"
fi

LINK_SLACK=0.25
T=$(now)
ip -n "$NS_LB1" link set trk0 down
limit=$(calc "$ADV + $MD_B + $(slack_for "$ADV") + $LINK_SLACK")
expect_b_takes_over "trk0 down: lb2 takes over" "$T" 0 "$limit"
check_routing "virtual routes and rules moved to lb2, gone from lb1" wait_for 1.5 on_b_only
check_routing "static ones stay on both" eval 'static_on "$NS_LB1" && static_on "$NS_LB2"'
T=$(now)
ip -n "$NS_LB1" link set trk0 up
limit=$(calc "$MD_A + $(slack_for "$ADV") + $LINK_SLACK")
expect_a_takes_back "trk0 up: lb1 preempts" "$T" 0 "$limit"
check_routing "virtual routes and rules back on lb1 only" wait_for 1.5 on_a_only

trk1_route() { ip -n "$NS_LB1" route show "$TRK1_ROUTE" proto 18 | grep "dev trk1" >/dev/null; }
check "lb1's static route on trk1" "$(ip -n "$NS_LB1" route show "$TRK1_ROUTE")" trk1_route
T=$(now)
ip -n "$NS_LB1" link set trk1 down
limit=$(calc "$MD_B + $(slack_for "$ADV") + $LINK_SLACK")
expect_b_takes_over "trk1 (track_group of a static address) down: lb1 FAULT, lb2 takes over" "$T" 0 "$limit"
f=$(notify_first "$T" lb1 FAULT)
check "notify: lb1 FAULT" "${f:+at +$(delta "$f" "$T") s}" test -n "$f"
on_trk1() { ip -n "$NS_LB1" -o addr show dev trk1 | grep -F "$STATIC_ADDR2/32" >/dev/null; }
check "the static address stays on trk1" "$(ip -n "$NS_LB1" -br addr show dev trk1)" on_trk1
gone=$(ip -n "$NS_LB1" route show "$TRK1_ROUTE")
check "the kernel dropped the static route on trk1" "${gone:-gone}" test -z "$gone"
T=$(now)
ip -n "$NS_LB1" link set trk1 up
limit=$(calc "$MD_A + $(slack_for "$ADV") + $LINK_SLACK")
expect_a_takes_back "trk1 up: lb1 leaves FAULT and preempts" "$T" 0 "$limit"
check "trk1 up: its static route installed again" "$(ip -n "$NS_LB1" route show "$TRK1_ROUTE")" wait_for 1 trk1_route
check_routing "virtual routes and rules on lb1 only again" wait_for 1.5 on_a_only

ip -n "$NS_LB2" route del "$STATIC_ROUTE" via 192.0.2.254 dev "$IFACE"
check_routing "static route deleted on lb2: put back" wait_for 2 static_on "$NS_LB2"
ip -n "$NS_LB2" addr del "$STATIC_ADDR/32" dev "$IFACE"
check_routing "static address deleted on lb2: put back" wait_for 2 static_on "$NS_LB2"

T=$(now)
ip -n "$NS_LB1" addr del "$VIP/$PLEN" dev "$IFACE"
case $IMPL_A in
    rs)
        check_state "VIP deleted on lb1: put back, lb1 stays master" wait_for 1.5 a_master "$VIP"
        check_routing "the route with the VIP as source is back too" wait_for 1.5 on_a_only
        # lb1's own notifies: a flap shows there (BACKUP, then MASTER); a
        # takeover by lb2 because a loaded machine delayed lb1's adverts
        # would not, and is no concern of this check.
        sleep 0.3
        n=$(awk -v a="$T" '$1 + 0 > a + 0 && $2 == "lb1"' "$RUN_DIR/notify.log" | paste -sd';' -)
        check "no state change: no notify from lb1 after the deletion" "${n:-none}" test -z "$n"
        if grep -q "was deleted while MASTER; putting it back" "$RUN_DIR/lb1.out"; then
            pass "lb1 logged the deletion" "$(grep -m1 'was deleted while MASTER' "$RUN_DIR/lb1.out")"
        else
            fail "lb1 logged the deletion" "no 'was deleted while MASTER' line in lb1.out"
        fi
        ip -n "$NS_LB1" route del "$VROUTE1" table 100
        check_routing "virtual route deleted on lb1: put back" wait_for 1.5 on_a_only
        ;;
    ka)
        # keepalived 2.2.7's known answer: BACKUP (priority 0), then MASTER
        # again; not ours (docs/compatibility.md).
        check_state "VIP deleted on lb1: back on lb1 after keepalived's flap" wait_for 3 a_master "$VIP"
        b=$(notify_first "$T" lb1 BACKUP)
        check "keepalived: lb1 notify BACKUP after the deletion (the flap)" "${b:+at +$(delta "$b" "$T") s}" test -n "$b"
        check_routing "virtual routes and rules back on lb1 only" wait_for 2 on_a_only
        ;;
    *) note "VIP deletion: no expectation for IMPL_A=$IMPL_A; skipped" ;;
esac

VROUTE3=198.51.100.0/26
STATIC_ROUTE2=198.51.100.128/26
sed -e "s|blackhole $VROUTE2 table 100 no_track|$VROUTE3 dev $IFACE table 100|" \
    -e "s|to 203.0.113.0/24 table 100 preference 201|to $VROUTE3 table 100 preference 202|" \
    -e "s|^    $STATIC_ROUTE via 192.0.2.254 dev $IFACE\$|&\\n    $STATIC_ROUTE2 via 192.0.2.254 dev $IFACE|" \
    "$RUN_DIR/lb1.conf" >"$RUN_DIR/lb1-reload.conf"
cp "$RUN_DIR/lb1-reload.conf" "$RUN_DIR/lb1.conf"
reloaded() {
    vroute "$NS_LB1" "^$VROUTE1 via" && ! vroute "$NS_LB1" "$VROUTE2" && vroute "$NS_LB1" "^$VROUTE3 dev" &&
        rule_pref "$NS_LB1" 200 && ! rule_pref "$NS_LB1" 201 && rule_pref "$NS_LB1" 202 &&
        ip -n "$NS_LB1" route show "$STATIC_ROUTE2" proto 18 | grep via >/dev/null
}
ip -n "$NS_LB1" monitor route rule >"$RUN_DIR/monitor.txt" 2>&1 &
MON=$!
sleep 0.2
kill -HUP "${PEER_PID[A]}"
check_routing "SIGHUP of lb1: new route, rule and static route in, removed ones out" wait_for 3 reloaded
sleep 0.3
kill "$MON" 2>/dev/null || true
wait "$MON" 2>/dev/null || true
# The monitor saw the removed route go: it would see the kept one too.
g=$(grep -E "^Deleted blackhole $VROUTE2 " "$RUN_DIR/monitor.txt" || true)
check "ip monitor saw the removed route deleted" "${g:-nothing}" test -n "$g"
d=$(grep -E "^Deleted $VROUTE1 " "$RUN_DIR/monitor.txt" || true)
check "the unchanged virtual route was never deleted" "${d:-no deletion}" test -z "$d"
if [[ $IMPL_A == rs ]]; then
    t=$(grep -F "$VROUTE1" "$RUN_DIR/monitor.txt" | paste -sd';' - || true)
    check "ours did not touch the unchanged virtual route" "${t:-untouched}" test -z "$t"
fi
check_state "the reload kept the VIP on lb1" a_master "$VIP"

peer_term B 5
check_routing "lb2 stopped: its static address, route and rule are gone" static_off "$NS_LB2"
scenario_end
