# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
# The two VRRP daemons. Side A runs in lb1, side B in lb2. Which program
# runs on a side is $IMPL_A / $IMPL_B:
#
#   ka      real keepalived:  $KEEPALIVED (default: keepalived on PATH)
#   rs      keepalived-rs:    $KALRS_BIN (default <repo>/target/debug/keepalived-rs)
#   sleep   a dead peer that never sends anything (to prove checks can fail)
#   other   taken as a command template; {conf} {pid} {vrrp_pid} {name}
#           {ns} {run} are substituted
#
# Both daemons get the same flags:
#   -P -n -l -D -G -f {conf} -p {pid} -r {vrrp_pid}
# VRRP only, no fork (the pid we hold is the daemon's), log to the console
# (captured in $RUN_DIR/<name>.out) with detail, no syslog. Each side's
# TMPDIR is $RUN_DIR/<name>.tmp: both implementations write their signal
# dumps (keepalived.stats, .data, .json) there instead of the shared /tmp,
# where runs going at once would overwrite each other's.

REPO_ROOT=${REPO_ROOT:-$(cd "$INTEROP_DIR/../.." && pwd)}
KEEPALIVED=${KEEPALIVED:-keepalived}
KALRS_BIN=${KALRS_BIN:-$REPO_ROOT/target/debug/keepalived-rs}
IMPL_A=${IMPL_A:-ka}
IMPL_B=${IMPL_B:-ka}
DAEMON_FLAGS='-P -n -l -D -G -f {conf} -p {pid} -r {vrrp_pid}'

impl_of()   { if [[ $1 == A ]]; then printf '%s\n' "$IMPL_A"; else printf '%s\n' "$IMPL_B"; fi; }
side_ns()   { if [[ $1 == A ]]; then printf '%s\n' "$NS_LB1"; else printf '%s\n' "$NS_LB2"; fi; }
side_name() { if [[ $1 == A ]]; then printf 'lb1\n'; else printf 'lb2\n'; fi; }
side_ip()   { if [[ $1 == A ]]; then printf '%s\n' "$IP_LB1"; else printf '%s\n' "$IP_LB2"; fi; }
side_mac()  { if [[ $1 == A ]]; then printf '%s\n' "$MAC_LB1"; else printf '%s\n' "$MAC_LB2"; fi; }

impl_template() { # impl -> command template
    case $1 in
        ka) printf '%s %s\n' "$(command -v "$KEEPALIVED" || printf '%s' "$KEEPALIVED")" "$DAEMON_FLAGS" ;;
        rs) printf '%s %s\n' "$KALRS_BIN" "$DAEMON_FLAGS" ;;
        sleep) printf 'sleep 86400\n' ;;
        *) printf '%s\n' "$1" ;;
    esac
}
impl_label() { # impl -> short name for reports
    case $1 in ka | rs | sleep) printf '%s\n' "$1" ;; *) printf 'custom\n' ;; esac
}
impl_check() { # impl: fail early with a clear message when it cannot run
    case $1 in
        ka) command -v "$KEEPALIVED" >/dev/null 2>&1 || die "IMPL=ka but '$KEEPALIVED' not found" ;;
        rs) [[ -x $KALRS_BIN ]] || die "IMPL=rs but KALRS_BIN=$KALRS_BIN is not executable (cargo build -p keepalived-rs)" ;;
    esac
}

declare -A PEER_PID=()

# peer_launch A|B conf: starts the side's daemon in the background, as
# PEER_PID[side]; whether it stays up is the caller's business.
peer_launch() { # A|B conf
    local side=$1 conf=$2 ns name cmd pid
    ns=$(side_ns "$side")
    name=$(side_name "$side")
    cmd=$(impl_template "$(impl_of "$side")")
    cmd=${cmd//\{conf\}/$conf}
    cmd=${cmd//\{pid\}/$RUN_DIR/$name.pid}
    cmd=${cmd//\{vrrp_pid\}/$RUN_DIR/$name.vrrp.pid}
    cmd=${cmd//\{name\}/$name}
    cmd=${cmd//\{ns\}/$ns}
    cmd=${cmd//\{run\}/$RUN_DIR}
    printf '=== %s start %s\n' "$EPOCHREALTIME" "$cmd" >>"$RUN_DIR/$name.out"
    mkdir -p "$RUN_DIR/$name.tmp"
    # This shell has no job control, so setsid(1) does not fork: $! is the
    # daemon itself (after the execs), leading its own process group.
    TMPDIR=$RUN_DIR/$name.tmp setsid ip netns exec "$ns" bash -c "exec $cmd" </dev/null >>"$RUN_DIR/$name.out" 2>&1 &
    pid=$!
    disown "$pid"
    proc_register "$pid" "daemon-$name"
    PEER_PID[$side]=$pid
}

peer_start() { # A|B conf
    local side=$1 name pid
    name=$(side_name "$side")
    peer_launch "$side" "$2"
    pid=${PEER_PID[$side]}
    sleep 0.05
    if ! proc_alive "$pid"; then
        tail -n 20 "$RUN_DIR/$name.out" >&2
        die "$name ($(impl_of "$side")) exited at start"
    fi
}

peer_alive() { local p=${PEER_PID[$1]:-}; [[ -n $p ]] && proc_alive "$p"; }

peer_pids() { # A|B -> the daemon and all its descendants
    local p=${PEER_PID[$1]:-}
    [[ -n $p ]] && proc_alive "$p" || return 0
    printf '%s\n' "$p"
    proc_descendants "$p"
}

# A crash: one kill(2) on the process group (and any descendant that left
# it), so no shutdown path runs. T_EVENT is $EPOCHREALTIME right before the
# kill(2); the bookkeeping is done first so it does not widen the gap.
T_EVENT=
peer_crash() { # A|B
    local side=$1 p=${PEER_PID[$1]:-} desc d name
    name=$(side_name "$side")
    if [[ -z $p ]] || ! proc_is_ours "$p"; then PEER_PID[$side]=; return 0; fi
    desc=$(proc_descendants "$p")
    T_EVENT=$EPOCHREALTIME
    kill -KILL -- "-$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null || true
    for d in $desc; do kill -KILL "$d" 2>/dev/null || true; done
    for d in $p $desc; do proc_wait_gone "$d" 3 || true; done
    PEER_PID[$side]=
    # A crashed host comes back with an empty /run: without this, a zombie
    # child not yet reaped by init makes keepalived refuse to start.
    rm -f "$RUN_DIR/$name.pid" "$RUN_DIR/$name.vrrp.pid"
}

# A graceful stop: SIGTERM to the daemon; T_EVENT as for peer_crash. Falls
# back to the crash path after $2 seconds (default 10).
peer_term() { # A|B [timeout]
    local side=$1 p=${PEER_PID[$1]:-}
    local t
    if [[ -z $p ]] || ! proc_is_ours "$p"; then PEER_PID[$side]=; return 0; fi
    t=$EPOCHREALTIME
    kill -TERM "$p" 2>/dev/null || true
    if ! proc_wait_gone "$p" "${2:-10}"; then
        log "$(side_name "$side") ignored SIGTERM for ${2:-10}s: SIGKILL"
        peer_crash "$side"
    fi
    T_EVENT=$t
    PEER_PID[$side]=
}

peer_stop_all() {
    local s
    for s in A B; do
        if peer_alive "$s"; then peer_term "$s" 5; fi
    done
}

# Does keepalived-rs speak VRRP yet? Started alone on lb1 with one v3
# instance (advert_int 0.1, priority 150), it must hold the VIP within
# START_ALLOW_S + 1 s. Needs a lab and RUN_DIR; leaves nothing running.
# Prints the reason when it does not.
rs_speaks_vrrp() {
    local conf=$RUN_DIR/probe-lb1.conf ok=0 saved=$IMPL_A
    [[ -x $KALRS_BIN ]] || { printf 'KALRS_BIN=%s is not executable\n' "$KALRS_BIN"; return 1; }
    { C_VERSION=3 conf_global lb1; C_ADVERT=0.1 C_NOTIFY=0 conf_instance lb1 VI_1 51 150 192.0.2.100/24; } >"$conf"
    IMPL_A=rs
    peer_start A "$conf" 2>/dev/null || { IMPL_A=$saved; printf 'keepalived-rs exited at start\n'; return 1; }
    wait_for "$(calc "${START_ALLOW_S:-1} + 1")" ns_has_addr "$NS_LB1" 192.0.2.100 && ok=1
    peer_crash A
    IMPL_A=$saved
    ns_del_addrs "$NS_LB1" 192.0.2.100/24
    ((ok)) || { printf 'keepalived-rs, alone on a link, did not take the VIP of a v3 instance within %s s\n' "$(calc "${START_ALLOW_S:-1} + 1")"; return 1; }
}
