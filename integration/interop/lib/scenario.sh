# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
# Sourced first by every scenario: loads the other modules and provides the
# begin/end frame and the helpers most scenarios share.
set -euo pipefail

INTEROP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=common.sh
source "$INTEROP_DIR/lib/common.sh"
# shellcheck source=lab.sh
source "$INTEROP_DIR/lib/lab.sh"
# shellcheck source=peer.sh
source "$INTEROP_DIR/lib/peer.sh"
# shellcheck source=conf.sh
source "$INTEROP_DIR/lib/conf.sh"
# shellcheck source=wire.sh
source "$INTEROP_DIR/lib/wire.sh"

RUN_BASE=${RUN_BASE:-/tmp/kalrs-interop}
PRIO_A=150
PRIO_B=100
VRID=51
VIP=192.0.2.100
VIP2=192.0.2.101
VIP6=2001:db8:0:1::100
# Scheduling slack on top of a protocol bound: a busy 2-core CI machine
# wakes a daemon late now and then. SLACK_S absolute + SLACK_FRAC of the
# advert interval.
SLACK_S=${SLACK_S:-0.1}
SLACK_FRAC=${SLACK_FRAC:-0.25}
slack_for() { calc "$SLACK_S + $SLACK_FRAC * $1"; }

scenario_begin() { # name "what it checks"
    SCENARIO=$1
    need_root
    need_cmd ip tcpdump tshark awk ps setsid install
    impl_check "$IMPL_A"
    impl_check "$IMPL_B"
    RUN_DIR=${RUN_DIR:-$RUN_BASE/$LAB-$SCENARIO}
    mkdir -p "$RUN_DIR"
    chmod 0755 "$RUN_BASE" "$RUN_DIR"
    trap scenario_cleanup EXIT
    trap 'exit 130' INT TERM
    say "== $SCENARIO: $2"
    say "   A=lb1 $(impl_label "$IMPL_A") prio $PRIO_A | B=lb2 $(impl_label "$IMPL_B") prio $PRIO_B | lab $LAB | $RUN_DIR"
    lab_up
    conf_prepare_hook
    cap_start
    T_BEGIN=$(now)
}

scenario_cleanup() {
    local rc=$?
    set +e
    cap_stop
    lab_down
    exit "$rc"
}

# Every scenario ends with the wire check of requirement 8: each advert side
# A sent (IPv4 source or IPv6 link-local source) decodes as valid VRRP with
# a correct checksum. Done on the closed capture so the counts match.
scenario_end() {
    local src n any=0
    cap_stop
    refresh_events
    for src in "$IP_LB1" "$(linklocal_of "$NS_LB1")"; do
        n=$(ev_count "\$2 == \"V\" && \$4 == \"$src\"")
        if ((n > 0)); then any=1; check_adverts_valid "wire (lb1)" "$src"; fi
    done
    ((any)) || fail "wire (lb1): tshark: adverts valid, checksum ok" "no VRRP advert from lb1 in the capture"
    say "   $SCENARIO: $N_PASS passed, $N_FAIL failed"
    ((N_FAIL == 0)) || exit 1
    exit 0
}

# -------------------------------------------------------------- helpers -----
# The first notify line of NODE after AFTER for STATE (MASTER, BACKUP, FAULT,
# STOP), from either the notify_<state> hook or the generic notify.
notify_first() { # after node state
    awk -v a="$1" -v n="$2" -v s="$3" '
        $1 + 0 > a + 0 && $2 == n && ($3 == "notify_" tolower(s) || ($3 == "notify" && $6 == s)) { print $1; exit }' \
        "$RUN_DIR/notify.log"
}
notify_seen() { [[ -n $(notify_first "$@") ]]; }

# A holds the addresses and B none of them (and the reverse).
a_master() { ns_has_all "$NS_LB1" "$@" && ns_has_none "$NS_LB2" "$@"; }
b_master() { ns_has_all "$NS_LB2" "$@" && ns_has_none "$NS_LB1" "$@"; }
both_hold() { ns_has_all "$NS_LB1" "$@" && ns_has_all "$NS_LB2" "$@"; }

# check_state NAME CMD...: like check, with the VIP placement after CMD as
# the detail (CMD is usually a wait_for / holds_for on the placement).
check_state() {
    local name=$1 rc=0
    shift
    "$@" || rc=$?
    if ((rc == 0)); then pass "$name" "$(show_addrs)"; else fail "$name" "$(show_addrs)"; fi
}

# What a keepalived-rs side's control socket says of the scenario's
# instance: "STATE EFFECTIVE_PRIORITY" (or why it cannot say).
status_of() { # lb1|lb2
    "$KALRS_BIN" status --detail --json --control-socket "$RUN_DIR/$1.sock" 2>&1 | python3 -c '
import json, sys
try:
    i = json.load(sys.stdin)["vrrp"]["instances"][0]
    print(i["state"], i["effective_priority"])
except Exception as e:
    print("unreadable status:", e)'
}
status_is() { [[ $(status_of "$1") == "$2" ]]; }

# check_status A|B STATE PRIO NAME: `keepalived-rs status` of that side
# agrees with what the VIPs and the wire just showed (within 1 s: the
# status is read from the running engine, not guessed). keepalived has no
# status to ask: for a keepalived side nothing is checked or counted.
check_status() {
    local side=$1 want="$2 $3" name=$4 impl node
    if [[ $side == A ]]; then impl=$IMPL_A node=lb1; else impl=$IMPL_B node=lb2; fi
    [[ $impl == rs ]] || return 0
    if wait_for 1 status_is "$node" "$want"; then
        pass "status of $node: $name" "$want"
    else
        fail "status of $node: $name" "$(status_of "$node"), not $want"
    fi
}

# The addresses a node holds beyond its own (i.e. VIPs), for reports.
extra_addrs() { # ns own4 own6
    ns_addrs "$1" | tr ' ' '\n' | awk -v a="$2/$PLEN" -v b="$3/64" '$0 != "" && $0 != a && $0 != b && $0 !~ /^fe80:/' | paste -sd, -
}
show_addrs() { printf 'VIPs lb1[%s] lb2[%s]' "$(extra_addrs "$NS_LB1" "$IP_LB1" "$IP6_LB1")" "$(extra_addrs "$NS_LB2" "$IP_LB2" "$IP6_LB2")"; }

# Random phase inside one interval, so a kill does not always land right
# after an advert.
sleep_random_phase() { # interval
    sleep "$(awk -v a="$1" -v r="$RANDOM" 'BEGIN { printf "%.3f", a * r / 32768 }')"
}

# A side's adverts as master look right: version, vrid, priority, interval,
# TTL 255, destination, source MAC; prints a summary.
check_adverts_fields() { # label side version interval_cs dst after [before]
    local label=$1 side=$2 ver=$3 ivcs=$4 dst=$5 after=$6 before=${7:-} src prio line bad=""
    src=$(side_ip "$side")
    [[ $ver == 3 && $dst == ff02::12 ]] && src=$(linklocal_of "$(side_ns "$side")")
    if [[ $side == A ]]; then prio=$PRIO_A; else prio=$PRIO_B; fi
    line=$(ev_first "$(adv_from "$src") && \$9 == \"$prio\"" "$after" "$before")
    if [[ -z $line ]]; then
        fail "$label" "no advert from $src with priority $prio"
        return
    fi
    # shellcheck disable=SC2034
    read -r _ts _k mac _src pdst ttl pver vrid _prio piv _cnt _ck _type _addrs _auth <<<"$line"
    [[ $pver == "$ver" ]] || bad+=" version=$pver"
    [[ $vrid == "$VRID" ]] || bad+=" vrid=$vrid"
    [[ $piv == "$ivcs" ]] || bad+=" interval=${piv}cs"
    [[ $ttl == 255 ]] || bad+=" ttl=$ttl"
    [[ $pdst == "$dst" ]] || bad+=" dst=$pdst"
    [[ $mac == "$(side_mac "$side")" ]] || bad+=" srcmac=$mac"
    if [[ -z $bad ]]; then
        pass "$label" "v$pver vrid $vrid prio $prio ${piv}cs ttl $ttl $src > $pdst"
    else
        fail "$label" "wrong:$bad"
    fi
}

# ------------------------------------------------------------ the pair ------
# Writes both configs from the C_* settings in effect (one instance VI_1,
# vrid $VRID, A priority 150, B 100, the given VIPs), starts A then B, and
# checks that A becomes the only holder. Sets T0 (start), T_ELECT, ADV (the
# effective interval), MD_A / MD_B (master-down intervals), SKEW_B.
pair_up() { # vip/plen...
    local v limit
    VIP_ADDRS=()
    for v in "$@"; do VIP_ADDRS+=("${v%/*}"); done
    { conf_global lb1; conf_instance lb1 VI_1 $VRID $PRIO_A "$@"; } >"$RUN_DIR/lb1.conf"
    { conf_global lb2; conf_instance lb2 VI_1 $VRID $PRIO_B "$@"; } >"$RUN_DIR/lb2.conf"
    pair_timers
    T0=$(now)
    peer_start A "$RUN_DIR/lb1.conf"
    peer_start B "$RUN_DIR/lb2.conf"
    pair_wait_a_master "election: VIP on lb1 only" "$T0"
}
pair_timers() {
    local ver=${C_VERSION:-3}
    [[ -z ${C_INST_VERSION:-} ]] || ver=$C_INST_VERSION
    ADV=$(effective_interval "$ver" "${C_ADVERT:-0.1}")
    MD_A=$(master_down_of "$ver" "$ADV" $PRIO_A)
    MD_B=$(master_down_of "$ver" "$ADV" $PRIO_B)
    SKEW_B=$(skew_of "$ver" "$ADV" $PRIO_B)
    ADV_CS=$(awk -v a="$ADV" 'BEGIN { printf "%d", a * 100 + 0.5 }')
}
# Both daemons start BACKUP; A's master-down timer runs out first. Allows
# START_ALLOW_S (default 1 s) for a daemon to start and open its sockets.
pair_wait_a_master() { # check-name since
    local limit
    limit=$(calc "${START_ALLOW_S:-1} + $MD_A + $(slack_for "$ADV")")
    if wait_for "$limit" a_master "${VIP_ADDRS[@]}"; then
        T_ELECT=$(now)
        pass "$1" "after $(delta "$T_ELECT" "$2") s (lb1 master_down $MD_A s); $(show_addrs)"
    else
        T_ELECT=$(now)
        fail "$1" "not within $limit s: $(show_addrs)"
    fi
}

# For the scenarios where B runs first: writes nothing, starts B alone from
# lb2.conf (A not running) and checks it becomes the only holder of
# VIP_ADDRS. Sets T0 and the pair_timers values.
pair_b_alone_master() {
    local limit
    pair_timers
    T0=$(now)
    peer_start B "$RUN_DIR/lb2.conf"
    limit=$(calc "${START_ALLOW_S:-1} + $MD_B + $(slack_for "$ADV")")
    check_state "lb2 alone becomes master" wait_for "$limit" b_master "${VIP_ADDRS[@]}"
}

# SIGKILL of A after pair_up: its VIPs go as a reboot would take them, B
# must hold them within master_down, and B's first advert must follow A's
# last within master_down + slack. Sets T_KILL.
pair_crash_a_checks() { # what ("the VIP") vip/plen...
    local what=$1 limit last_a first_b gap
    shift
    peer_crash A
    T_KILL=$T_EVENT
    ns_del_addrs "$NS_LB1" "$@"
    limit=$(calc "$MD_B + $(slack_for "$ADV")")
    check_state "lb2 holds $what after SIGKILL of lb1" wait_for "$(calc "$limit + 1")" b_master "${VIP_ADDRS[@]}"
    sleep "$(calc "2 * $ADV + 0.1")"
    refresh_events
    last_a=$(ev_last "$(adv_from "$(adv_src A)")" "$T0" "$T_KILL" | ts_of)
    first_b=$(ev_first "$(adv_from "$(adv_src B)")" "$T_KILL" | ts_of)
    gap=$(delta "$first_b" "$last_a")
    check "lb2's first advert within master_down of lb1's last" "${gap} s (master_down $MD_B, allowed $limit)" le "$gap" "$limit"
}

# The steady state after pair_up: nothing moves, the client resolves the VIP
# to lb1, adverts and GARP (or NA for IPv6) are right, lb2 is silent, the
# notify hooks ran. dst: 224.0.0.18, ff02::12 or a unicast peer.
pair_steady_checks() { # dst
    local dst=$1 ver=${C_VERSION:-3} hold m b nb g v addr6=""
    [[ -z ${C_INST_VERSION:-} ]] || ver=$C_INST_VERSION
    hold=$(calc "2.5 * $ADV")
    check "VIP stays on lb1 only for 2.5 intervals" "$(show_addrs)" holds_for "$hold" a_master "${VIP_ADDRS[@]}"
    refresh_events
    check_adverts_fields "lb1 adverts (v$ver fields)" A "$ver" "$ADV_CS" "$dst" "$T0"
    for v in "${VIP_ADDRS[@]}"; do
        if [[ $v == *:* ]]; then
            addr6=$v
            g=$(ev_first "$(na_from "$MAC_LB1" "$v")" "$T0" | ts_of)
            check "client saw lb1's unsolicited NA for $v" "at +$(delta "$g" "$T0") s" test -n "$g"
        else
            g=$(ev_first "$(garp_from "$MAC_LB1" "$v")" "$T0" | ts_of)
            check "client saw lb1's gratuitous ARP for $v" "at +$(delta "$g" "$T0") s" test -n "$g"
        fi
    done
    if [[ -z $addr6 ]]; then
        client_resolve "${VIP_ADDRS[0]}"
        m=$(client_neigh_mac "${VIP_ADDRS[0]}")
        check "client resolves the VIP to lb1's MAC" "lladdr ${m:-none}" test "$m" = "$MAC_LB1"
    fi
    nb=$(ev_count "\$2 == \"V\" && \$3 == \"$MAC_LB2\"" "$(calc "$T_ELECT + $ADV")")
    check "lb2 silent while backup" "$nb adverts from lb2 after election" test "$nb" = 0
    m=$(notify_first "$T0" lb1 MASTER)
    b=$(notify_first "$T0" lb2 BACKUP)
    check "notify: lb1 MASTER, lb2 BACKUP" "lb1 MASTER +$(delta "$m" "$T0") s, lb2 BACKUP +$(delta "$b" "$T0") s" test -n "$m" -a -n "$b"
}

# The advert source of a side for the address family of the VIPs.
adv_src() { # side
    if [[ ${VIP_ADDRS[0]} == *:* ]]; then linklocal_of "$(side_ns "$1")"; else side_ip "$1"; fi
}

# ------------------------------------------------------------ tracking ------
# As pair_up, with $A_ROOT (top-level lines: vrrp_script, track_file ...)
# and $A_EXTRA (lines inside the instance: track_*) in lb1's config only:
# the tracking scenarios make side A react to the world, B stays plain.
pair_up_tracked() { # vip/plen...
    local v
    VIP_ADDRS=()
    for v in "$@"; do VIP_ADDRS+=("${v%/*}"); done
    { C_ROOT=${A_ROOT:-} conf_global lb1; C_EXTRA=${A_EXTRA:-} conf_instance lb1 VI_1 $VRID $PRIO_A "$@"; } >"$RUN_DIR/lb1.conf"
    { C_ROOT='' conf_global lb2; C_EXTRA='' conf_instance lb2 VI_1 $VRID $PRIO_B "$@"; } >"$RUN_DIR/lb2.conf"
    pair_timers
    T0=$(now)
    peer_start A "$RUN_DIR/lb1.conf"
    peer_start B "$RUN_DIR/lb2.conf"
    pair_wait_a_master "election: VIP on lb1 only" "$T0"
}

# After something made A lose its role at T: B must hold the VIPs within
# LIMIT s, not before LOW s (so a rise/fall count really counted). Sets
# T_MOVED.
expect_b_takes_over() { # label since low limit
    local label=$1 since=$2 low=$3 limit=$4 d
    if wait_for "$(calc "$limit + 1")" b_master "${VIP_ADDRS[@]}"; then
        T_MOVED=$(now)
        d=$(delta "$T_MOVED" "$since")
        check "$label" "after $d s (allowed [$low, $limit]); $(show_addrs)" eval "ge '$d' '$low' && le '$d' '$limit'"
    else
        T_MOVED=$(now)
        fail "$label" "not within $(calc "$limit + 1") s: $(show_addrs)"
    fi
}
# The same for A taking the VIPs back (preempting).
expect_a_takes_back() { # label since low limit
    local label=$1 since=$2 low=$3 limit=$4 d
    if wait_for "$(calc "$limit + 1")" a_master "${VIP_ADDRS[@]}"; then
        T_MOVED=$(now)
        d=$(delta "$T_MOVED" "$since")
        check "$label" "after $d s (allowed [$low, $limit]); $(show_addrs)" eval "ge '$d' '$low' && le '$d' '$limit'"
    else
        T_MOVED=$(now)
        fail "$label" "not within $(calc "$limit + 1") s: $(show_addrs)"
    fi
}
# Processes in a namespace whose command line matches an extended regex
# (zombies included, shown with their state).
ns_procs_matching() { # ns regex
    local p
    for p in $(ip netns pids "$1" 2>/dev/null); do
        ps -o pid=,stat=,args= -p "$p" 2>/dev/null || true
    done | grep -E -- "$2" || true
}
ns_zombies() { # ns -> zombie processes in it
    local p
    for p in $(ip netns pids "$1" 2>/dev/null); do
        ps -o pid=,stat=,args= -p "$p" 2>/dev/null || true
    done | awk '$2 ~ /^Z/' || true
}
