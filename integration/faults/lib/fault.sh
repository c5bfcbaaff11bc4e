# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the row files and the runner.
# shellcheck disable=SC2034
# What every fault row shares: the interop lab (integration/interop/lib,
# reused as is), the pair's configuration, a light wire monitor, the
# invariants checked after each fault, process and resource readings,
# seeded randomness and the result bookkeeping. Sourced by ../run.

FAULTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
INTEROP_DIR=$(cd "$FAULTS_DIR/../interop" && pwd)
# shellcheck source=../../interop/lib/common.sh
source "$INTEROP_DIR/lib/common.sh"
# shellcheck source=../../interop/lib/lab.sh
source "$INTEROP_DIR/lib/lab.sh"
# shellcheck source=../../interop/lib/peer.sh
source "$INTEROP_DIR/lib/peer.sh"
# shellcheck source=../../interop/lib/conf.sh
source "$INTEROP_DIR/lib/conf.sh"

# Scheduling slack on a protocol bound, as in the interop scenarios
# (lib/scenario.sh, which also starts a capture we do not want here).
SLACK_S=${SLACK_S:-0.1}
SLACK_FRAC=${SLACK_FRAC:-0.25}
slack_for() { calc "$SLACK_S + $SLACK_FRAC * $1"; }

# ------------------------------------------------------------ the pair ------
# Three instances on eth0, lb1 priority 150, lb2 100, preempt:
#   VI_1  vrid 51  VRRPv3 advert_int $ADV       VIP 192.0.2.100
#   VI_2  vrid 52  VRRPv3 advert_int $ADV       VIP 192.0.2.101 (the reload
#                  row's third config adds 192.0.2.102)
#   VI_3  vrid 53  VRRPv2 advert_int 1, auth PASS  VIP 192.0.2.103 (the
#                  target of the storm's wrong-password adverts; v3 has no
#                  authentication)
# The fast instances (VI_1, VI_2) are checked after every fault; VI_3,
# with its 3.4 s master-down interval, at the end of each row.
PRIO_A=150
PRIO_B=100
VIP1=192.0.2.100
VIP2=192.0.2.101
VIP2B=192.0.2.102
VIP3=192.0.2.103
IP_ATK=192.0.2.20
MAC_ATK=02:6b:69:00:00:14
IP6_ATK=2001:db8:0:1::14
AUTH_PASS=faultpw

# pair_conf NODE PRIO [extra-vip]: the configuration of one node.
pair_conf() {
    local node=$1 prio=$2 extra=${3:-}
    conf_global "$node"
    C_VERSION=3 C_ADVERT=$ADV conf_instance "$node" VI_1 51 "$prio" "$VIP1/24"
    # shellcheck disable=SC2086
    C_VERSION=3 C_ADVERT=$ADV conf_instance "$node" VI_2 52 "$prio" "$VIP2/24" ${extra:+"$extra/24"}
    C_INST_VERSION=2 C_ADVERT=1 C_AUTH_PASS=$AUTH_PASS conf_instance "$node" VI_3 53 "$prio" "$VIP3/24"
}
write_confs() { # [extra-vip]
    pair_conf lb1 $PRIO_A "${1:-}" >"$RUN_DIR/lb1.conf"
    pair_conf lb2 $PRIO_B "${1:-}" >"$RUN_DIR/lb2.conf"
}

# Both implementations get their own dump directory per node (TMPDIR is
# honoured by keepalived and by us), so a USR2 on lb1 never overwrites
# lb2's file, nor a file of another test on this machine.
impl_cmd() { # impl
    local bin
    case $1 in
        rs) bin=$KALRS_BIN ;;
        ka) bin=$(command -v "$KEEPALIVED") ;;
        *) die "unknown implementation '$1'" ;;
    esac
    printf 'env TMPDIR={run}/{name}.tmp %s %s\n' "$bin" "$DAEMON_FLAGS"
}

# Start (or restart, as systemd would) a side's daemon.
node_start() { # A|B
    local name
    name=$(side_name "$1")
    mkdir -p "$RUN_DIR/$name.tmp"
    peer_start "$1" "$RUN_DIR/$name.conf"
}

# ------------------------------------------------------------ randomness ----
# One seeded stream for the whole run (bash's RANDOM, reseeded per row so
# a row's schedule does not depend on the rows before it).
seed_row() { RANDOM=$((SEED + $1)); }
rand_between() { # lo hi (seconds, float) -> uniform
    awk -v lo="$1" -v hi="$2" -v r="$RANDOM" 'BEGIN { printf "%.3f", lo + (hi - lo) * r / 32767 }'
}
rand_pick() { # word... -> one of them
    local a=("$@")
    printf '%s\n' "${a[RANDOM % ${#a[@]}]}"
}

# ------------------------------------------------------------ the wire ------
# One tcpdump in the client namespace, text mode, line-buffered, printing
# the adverts lb1 and lb2 send (selected by their MAC, so frames forged by
# the attacker with their IP addresses are not counted). A line:
#   1733338000.123456789 IP 192.0.2.1 > 224.0.0.18: VRRPv3, Advertisement, vrid 51, prio 150, intvl 10cs, length 12
WIRE=
WIRE_PID=
wire_start() {
    WIRE=$RUN_DIR/wire.txt
    : >"$WIRE"
    ip netns exec "$NS_CLI" tcpdump -i "$IFACE" -n -l --immediate-mode -tt --time-stamp-precision=nano \
        -Q in "ip proto 112 and (ether src $MAC_LB1 or ether src $MAC_LB2)" \
        >"$WIRE" 2>"$RUN_DIR/wire.err" &
    WIRE_PID=$!
    proc_register "$WIRE_PID" tcpdump-wire
    wait_for 5 grep -q 'listening on' "$RUN_DIR/wire.err" || die "tcpdump did not start: $(cat "$RUN_DIR/wire.err")"
}
wire_stop() {
    [[ -n $WIRE_PID ]] || return 0
    if proc_is_ours "$WIRE_PID"; then kill -INT "$WIRE_PID" 2>/dev/null || true; fi
    wait "$WIRE_PID" 2>/dev/null || true
    WIRE_PID=
}
# Adverts as "ts src vrid prio", from AFTER (epoch seconds; default: all).
wire_adverts() { # [after] [before]
    awk -v a="${1:-0}" -v b="${2:-}" '
        {
            vrid = prio = ""
            for (i = 1; i <= NF; i++) {
                if ($i == "vrid") vrid = $(i + 1)
                if ($i == "prio") prio = $(i + 1)
            }
            sub(/,$/, "", vrid); sub(/,$/, "", prio)
            if (vrid != "" && $1 + 0 > a + 0 && (b == "" || $1 + 0 < b + 0)) print $1, $3, vrid, prio
        }' "$WIRE"
}
# The nodes that sent a non-zero-priority advert for VRID within the last
# WINDOW seconds and after WIRE_SINCE (the end of the last fault, set by
# settle: an advert sent before the fault ended proves nothing about
# after), as "lb1", "lb2" or "lb1 lb2".
WIRE_SINCE=0
wire_masters() { # vrid window
    local since
    since=$(awk -v a="$EPOCHREALTIME" -v w="$2" -v s="$WIRE_SINCE" 'BEGIN { t = a - w; if (s > t) t = s; printf "%.6f", t }')
    tail -n 400 "$WIRE" | awk -v a="$since" -v v="$1" -v ip1="$IP_LB1" -v ip2="$IP_LB2" '
        {
            vrid = prio = ""
            for (i = 1; i <= NF; i++) { if ($i == "vrid") vrid = $(i + 1); if ($i == "prio") prio = $(i + 1) }
            sub(/,$/, "", vrid); sub(/,$/, "", prio)
            if ($1 + 0 > a + 0 && vrid == v && prio + 0 > 0) { if ($3 == ip1) m1 = 1; if ($3 == ip2) m2 = 1 }
        }
        END { s = ""; if (m1) s = "lb1"; if (m2) s = s (s == "" ? "" : " ") "lb2"; print s }'
}

# ------------------------------------------------------------ invariants ----
# One instance is whole when exactly one node advertises it, that node
# holds every one of its VIPs and the other node holds none of them: at
# most one master, and no VIP on a node that is not master.
inst_whole() { # vrid interval vip...
    local vrid=$1 iv=$2 m
    shift 2
    m=$(wire_masters "$vrid" "$(calc "2 * $iv")")
    case $m in
        lb1) ns_has_all "$NS_LB1" "$@" && ns_has_none "$NS_LB2" "$@" ;;
        lb2) ns_has_all "$NS_LB2" "$@" && ns_has_none "$NS_LB1" "$@" ;;
        *) return 1 ;;
    esac
}
slow_whole() { inst_whole 53 1 "$VIP3"; }
VIP2_SET=("$VIP2")

# fast_whole: inst_whole for VI_1 and VI_2, as settle polls it every 10 ms.
# One pass over the wire for both VRIDs and one address listing per node
# (7 processes where the two inst_whole calls fork about 25): under load
# each fork costs milliseconds, and the time one poll takes is added to
# every settle time measured, eating the slack a bound grants the daemons.
fast_whole() {
    local m51 m52 a1 a2
    read -r m51 m52 <<<"$(wire_masters_of "$ADV" 51 52)"
    a1=" $(ip -n "$NS_LB1" -br addr show dev "$IFACE" 2>/dev/null) "
    a2=" $(ip -n "$NS_LB2" -br addr show dev "$IFACE" 2>/dev/null) "
    held_by_master "$m51" "$VIP1" && held_by_master "$m52" "${VIP2_SET[@]}"
}
# wire_masters for several VRIDs in one pass, with the window given as the
# advert interval (two of them are looked at): one word per VRID, "lb1",
# "lb2", "lb1+lb2" or "none".
wire_masters_of() { # interval vrid...
    local iv=$1
    shift
    tail -n 400 "$WIRE" | awk -v now="$EPOCHREALTIME" -v iv="$iv" -v s="$WIRE_SINCE" -v vrids="$*" \
        -v ip1="$IP_LB1" -v ip2="$IP_LB2" '
        BEGIN { a = now - 2 * iv; if (s + 0 > a) a = s + 0; n = split(vrids, want, " ") }
        {
            vrid = prio = ""
            for (i = 1; i <= NF; i++) { if ($i == "vrid") vrid = $(i + 1); if ($i == "prio") prio = $(i + 1) }
            sub(/,$/, "", vrid); sub(/,$/, "", prio)
            if ($1 + 0 > a && prio + 0 > 0) { if ($3 == ip1) m1[vrid] = 1; if ($3 == ip2) m2[vrid] = 1 }
        }
        END {
            for (i = 1; i <= n; i++) {
                v = want[i]; w = ""
                if (v in m1) w = "lb1"
                if (v in m2) w = w (w == "" ? "" : "+") "lb2"
                printf "%s%s", (w == "" ? "none" : w), (i < n ? " " : "\n")
            }
        }'
}
# With $a1/$a2 the `ip -br addr` lines of lb1/lb2 (space-padded): the
# master named holds every VIP and the other node none.
held_by_master() { # who vip...
    local who=$1 v on off
    shift
    case $who in
        lb1) on=$a1 off=$a2 ;;
        lb2) on=$a2 off=$a1 ;;
        *) return 1 ;;
    esac
    for v in "$@"; do
        [[ $on == *" $v/"* && $off != *" $v/"* ]] || return 1
    done
}

# The pair's state in one word per instance, for reports:
# "51:lb1 52:lb1 53:lb2" (advertiser) + VIP holders when they differ.
pair_state() {
    local out="" v m h
    for v in 51 52 53; do
        if [[ $v == 53 ]]; then m=$(wire_masters 53 2); else m=$(wire_masters $v "$(calc "2 * $ADV")"); fi
        out+=" $v:${m// /+}"
        [[ -n $m ]] || out+="none"
    done
    h=$(printf 'lb1[%s] lb2[%s]' "$(vips_of "$NS_LB1")" "$(vips_of "$NS_LB2")")
    printf '%s %s\n' "${out# }" "$h"
}
vips_of() { # ns -> the VIPs it holds, comma-separated
    local v out=""
    for v in "$VIP1" "$VIP2" "$VIP2B" "$VIP3"; do
        ns_has_addr "$1" "$v" && out+="${v##*.},"
    done
    printf '%s\n' "${out%,}"
}

# settle BOUND: the fast instances are whole from at most BOUND seconds on
# and then stay whole for 3 advert intervals without a break (a legitimate
# hand-over inside the bound, such as a preempting lb1, is allowed). Sets
# SETTLE_S (when the lasting whole state began, or "-") and SETTLE_MSG.
SETTLE_S=-
SETTLE_MSG=
settle() { # bound
    local t0 end hold since="" t
    t0=$(now_us)
    WIRE_SINCE=$EPOCHREALTIME
    end=$((t0 + $(secs_to_us "$1")))
    hold=$(secs_to_us "$(calc "3 * $ADV")")
    SETTLE_S=-
    while :; do
        t=$EPOCHREALTIME
        t=${t/./}
        if fast_whole; then
            [[ -n $since ]] || since=$t
            if ((since > end)); then
                SETTLE_MSG="whole only $(awk -v a="$since" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }') s after, bound $1 s: $(pair_state)"
                return 1
            fi
            if ((t - since >= hold)); then
                SETTLE_S=$(awk -v a="$since" -v b="$t0" 'BEGIN { printf "%.3f", (a - b) / 1e6 }')
                return 0
            fi
        else
            since=""
            if ((t > end)); then
                SETTLE_MSG="not whole for 3 intervals from within $1 s: $(pair_state)"
                return 1
            fi
        fi
        sleep 0.01
    done
}
# The slow instance too (end of a row): its bound is its own master-down.
settle_slow() { wait_for "$(calc "$MD3 + $(slack_for 1) + ${1:-0}")" slow_whole; }

# ------------------------------------------------------------ processes -----
# The processes of a node: the daemon (PEER_PID) and its VRRP child. A
# leaked process is one inside the node's namespace that is neither the
# current daemon nor one of its descendants (an orphaned child of an
# earlier incarnation, a stray notify script).
node_child() { # side -> pid of the daemon's VRRP child (empty if none)
    local p=${PEER_PID[$1]:-}
    [[ -n $p ]] || return 0
    ps -o pid= --ppid "$p" 2>/dev/null | awk 'NR == 1 { print $1 }'
}
node_leaked() { # side -> pids in the namespace not belonging to the daemon
    local side=$1 ns ours p
    ns=$(side_ns "$side")
    ours=" $(peer_pids "$side" | tr '\n' ' ') "
    for p in $(ip netns pids "$ns" 2>/dev/null); do
        [[ $ours == *" $p "* ]] && continue
        # A zombie waiting for its parent to reap it is not running.
        proc_alive "$p" || continue
        printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"
    done
}
no_leaks() { [[ -z $(node_leaked A)$(node_leaked B) ]]; }

# Resource reading of one process: "fds threads anon_kB rss_kB". A leak
# grows anonymous memory (heap, mmap'd allocations): RssAnon. The whole
# resident set is only shown: it also counts the executable's pages,
# which a daemon hands back after an apply and faults in again as its
# code runs (mem::release_startup_code), so it moves by megabytes with
# no leak at all, either way.
proc_res() {
    local fds thr anon rss
    fds=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    read -r thr anon rss < <(awk '/^Threads:/ { t = $2 } /^RssAnon:/ { a = $2 } /^VmRSS:/ { r = $2 }
        END { print (t == "" ? "-" : t), (a == "" ? "-" : a), (r == "" ? "-" : r) }' "/proc/$1/status" 2>/dev/null)
    printf '%s %s %s %s\n' "$fds" "${thr:--}" "${anon:--}" "${rss:--}"
}
# Selftest mutation "growth": KB kB of anonymous memory, touched, mapped
# into a running process as a leak would leave it: gdb calls the
# process's own libc mmap (MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE).
# The address is computed from its maps and libc's symbol table, and gdb
# is given no symbol file of the process: reading our executable's
# symbols kept it stopped over a second under load, and the supervisor
# kills a VRRP child silent that long (seen); this way the stop lasts
# ~15 ms. gdb's "Couldn't write extended state status" after the call is
# harmless: the process sits in a libc call (epoll_wait), across which
# the vector registers are not preserved anyway. Prints "before -> after"
# of the process's RssAnon; fails when it did not grow by KB.
plant_leak() { # pid kB
    local pid=$1 kb=$2 libc base off a0 a1
    read -r base libc < <(awk '$6 ~ /\/libc\.so\.6$/ && $3 == "00000000" { split($1, r, "-"); print r[1], $6; exit }' "/proc/$pid/maps")
    off=$(readelf -Ws --dyn-syms "$libc" 2>/dev/null | awk '$8 ~ /^mmap(@|$)/ { print $2; exit }')
    if [[ -z $base || -z $off ]]; then
        echo "plant_leak: no libc mmap found in $pid (libc ${libc:-none})" >&2
        return 1
    fi
    a0=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status")
    gdb -batch -nx --readnever -iex 'set auto-solib-add off' -iex 'set exec-file-mismatch off' \
        -iex 'set auto-load off' -ex "attach $pid" \
        -ex "call ((long (*)(long, long, long, long, long, long)) 0x$(printf '%x' $((0x$base + 0x$off))))(0, $((kb * 1024)), 3, 0x8022, -1, 0)" \
        -ex detach /bin/true >"$RUN_DIR/plant_leak.$pid.log" 2>&1
    a1=$(awk '/^RssAnon:/ { print $2 }' "/proc/$pid/status" 2>/dev/null)
    echo "RssAnon $a0 -> ${a1:-gone} kB"
    if [[ -z $a1 ]] || ((a1 - a0 < kb)); then
        echo "plant_leak: $pid did not grow by $kb kB: $(tail -n 3 "$RUN_DIR/plant_leak.$pid.log" | tr '\n' ' ')" >&2
        return 1
    fi
}
# All four (lb1/lb2 x parent/child) as "label pid fds threads anon rss"
# lines; each process's fd table is kept beside (FILE.<label>.fd) to show
# what grew. The fd count is the lowest of three readings 0.1 s apart, so a
# pipe open for the moment of a notify script is not taken for a leak.
res_snapshot() { # file
    local s p c label pid r a b m f best
    for s in A B; do
        p=${PEER_PID[$s]:-}
        peer_alive "$s" || p=
        c=$(node_child "$s")
        for label in parent child; do
            if [[ $label == parent ]]; then pid=$p; else pid=$c; fi
            label=$(side_name "$s")-$label
            if [[ -z $pid ]]; then printf '%s - - - - -\n' "$label"; continue; fi
            best=
            for r in 1 2 3; do
                read -r f a b m < <(proc_res "$pid")
                [[ -z $best ]] || ((f >= best)) || best=$f
                [[ -n $best ]] || best=$f
                sleep 0.1
            done
            find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 -printf '%f -> %l\n' 2>/dev/null | sort -n >"$1.$label.fd"
            printf '%s %s %s %s %s %s\n' "$label" "$pid" "$best" "$a" "$b" "$m"
        done
    done >"$1"
}

# Both daemons running (a fault may have ended one, as keepalived ends on
# a broken reload): restart what is gone, as a service manager would.
# Sets RESTARTED to the nodes restarted (not printed: PEER_PID must be set
# in this shell, not in a command substitution).
RESTARTED=
ensure_running() {
    local s
    RESTARTED=
    for s in A B; do
        if ! peer_alive "$s"; then
            # A dead daemon's stale pid files would stop keepalived from
            # starting (it sees its own pid file).
            rm -f "$RUN_DIR/$(side_name "$s").pid" "$RUN_DIR/$(side_name "$s").vrrp.pid"
            node_start "$s"
            RESTARTED+="$(side_name "$s") "
        fi
    done
    RESTARTED=${RESTARTED% }
}

# ------------------------------------------------------------ self-test -----
# run --selftest sets MUTATE to a list of deliberate faults in the harness
# (or in the lab) that named checks must catch; see ../run.
MUTATE=${MUTATE:-}
mutated() { [[ " $MUTATE " == *" $1 "* ]]; }
MUTANT_COUNTER=no_such_counter

# ------------------------------------------------------------ results -------
# A row's checks: result CHECK VERDICT DETAIL, appended to $RESULTS as
# "impl<TAB>row<TAB>check<TAB>PASS|FAIL<TAB>detail" and printed.
result() { # check PASS|FAIL detail
    printf '%s\t%s\t%s\t%s\t%s\n' "$IMPL" "$ROW" "$1" "$2" "$3" >>"$RESULTS"
    printf '  %-4s  %-3s %-10s %-44s %s\n' "$2" "$IMPL" "$ROW" "$1" "$3"
}

# Percentile of a column of numbers on stdin (nearest rank).
percentile() { # p (0..100)
    sort -g | awk -v p="$1" '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1; if (k > NR) k = NR
        printf "%.6f\n", v[k] }'
}
# Intervals between consecutive adverts of SRC for VRID in [after, before].
advert_intervals() { # src vrid after before
    wire_adverts "$3" "$4" | awk -v s="$1" -v v="$2" '$2 == s && $3 == v { if (n++) printf "%.6f\n", $1 - last; last = $1 }'
}
