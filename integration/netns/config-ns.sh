#!/usr/bin/env bash
# config-ns.sh up NAME | down NAME | exec NAME cmd... | status NAME
#
# A throw-away network namespace for configuration tests (keepalived -t and
# keepalived-rs -t). It provides exactly the interfaces the corpus under
# integration/configs/ names:
#
#   ns NAME:        lo (up)
#                   eth0  veth  192.0.2.1/24, 2001:db8::1/64 (nodad)
#                   eth1  veth  198.51.100.1/24
#                   eth2  veth  (no address)
#                   bond0 veth  (no address; a veth named bond0, this kernel
#                                has no dummy/bond links to rely on)
#   ns NAME-peer:   the other end of every veth (p-eth0 p-eth1 p-eth2 p-bond0),
#                   all up, so the test interfaces have carrier.
#
# The hostname is not changed (ip netns exec shares the UTS namespace): tests
# pass `-i lb1` so @id conditionals never depend on the hostname.
#
# Ownership: every namespace this script creates is recorded under
# $CONFIG_NS_STATE (default /run/keepalived-rs-config-ns). `up` refuses to
# reuse a same-named namespace it did not create; `down` deletes only recorded
# namespaces and is a no-op when nothing is up. `up` tears down what it built
# if it fails half-way (trap). `exec` runs the command inside NAME and returns
# its exit status.
set -euo pipefail

STATE_DIR=${CONFIG_NS_STATE:-/run/keepalived-rs-config-ns}

die() { printf 'config-ns.sh: FATAL: %s\n' "$*" >&2; exit 1; }
usage() { printf 'usage: %s up|down|status NAME | exec NAME cmd...\n' "$0" >&2; exit 2; }

need_root() { [[ $(id -u) == 0 ]] || die "must run as root (network namespaces)"; }
need_netns() {
    command -v ip >/dev/null 2>&1 || die "iproute2 'ip' not found"
    ip netns list >/dev/null 2>&1 || die "'ip netns' does not work on this system"
}
check_name() {
    [[ $1 =~ ^[A-Za-z0-9_.-]{1,40}$ ]] || die "bad namespace name '$1' (use [A-Za-z0-9_.-], <= 40 chars)"
}
ns_exists() { [[ -e /run/netns/$1 ]]; }
created()   { [[ -f $STATE_DIR/$1 ]]; }

ns_del() { # delete a namespace we recorded; kill nothing we did not start
    local ns=$1 pids p
    if ns_exists "$ns"; then
        # Processes left inside (e.g. a keepalived started by `exec`): only
        # those whose net namespace is this one, by PID.
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
        if [[ -n $pids ]]; then
            sleep 0.5
            pids=$(ip netns pids "$ns" 2>/dev/null || true)
            for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
        fi
        ip netns del "$ns" 2>/dev/null || true
    fi
    rm -f "$STATE_DIR/$ns"
}

down() {
    local name=$1 ns
    for ns in "$name" "$name-peer"; do
        if created "$ns"; then
            ns_del "$ns"
        elif ns_exists "$ns"; then
            printf 'config-ns.sh: warning: namespace %s exists but was not created here; left alone\n' "$ns" >&2
        fi
    done
}

ns_add() {
    local ns=$1
    if ns_exists "$ns"; then
        created "$ns" || die "namespace $ns exists but was not created by config-ns.sh; refusing to touch it"
        return 0
    fi
    mkdir -p "$STATE_DIR"
    ip netns add "$ns" || die "ip netns add $ns failed"
    : >"$STATE_DIR/$ns"
}

veth() { # name peer-name
    local ns=$1 peer=$2 ifn=$3 pifn=$4
    if ! ip -n "$ns" link show "$ifn" >/dev/null 2>&1; then
        ip -n "$ns" link add "$ifn" type veth peer name "$pifn" netns "$peer" \
            || die "cannot create veth $ifn (is the veth module available?)"
    fi
    ip -n "$peer" link set "$pifn" up
    ip -n "$ns" link set "$ifn" up
}

up() {
    local name=$1 peer="$1-peer" ok=0
    # Tear down whatever we built if anything below fails.
    # shellcheck disable=SC2064
    trap "if [[ \$ok != 1 ]]; then down '$name'; fi" EXIT
    ns_add "$name"
    ns_add "$peer"
    ip -n "$name" link set lo up
    ip -n "$peer" link set lo up
    ip netns exec "$name" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
        net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 \
        net.ipv6.conf.default.accept_ra=0 >/dev/null
    veth "$name" "$peer" eth0 p-eth0
    veth "$name" "$peer" eth1 p-eth1
    veth "$name" "$peer" eth2 p-eth2
    veth "$name" "$peer" bond0 p-bond0
    ip -n "$name" addr replace 192.0.2.1/24 dev eth0
    ip -n "$name" addr replace 198.51.100.1/24 dev eth1
    ip -n "$name" -6 addr replace 2001:db8::1/64 dev eth0 nodad
    ip -n "$name" -o link show eth0 | grep -q 'state UP\|LOWER_UP' \
        || die "eth0 in $name is not up"
    ok=1
    trap - EXIT
}

status() {
    local name=$1
    ns_exists "$name" || { echo "$name: down"; return 1; }
    ip -n "$name" -br addr
}

[[ $# -ge 2 ]] || usage
cmd=$1 name=$2
shift 2
check_name "$name"
need_root
need_netns
case $cmd in
    up)     [[ $# -eq 0 ]] || usage; up "$name" ;;
    down)   [[ $# -eq 0 ]] || usage; down "$name" ;;
    status) [[ $# -eq 0 ]] || usage; status "$name" ;;
    exec)   [[ $# -ge 1 ]] || usage
            ns_exists "$name" || die "namespace $name is not up (run: $0 up $name)"
            exec ip netns exec "$name" "$@" ;;
    *)      usage ;;
esac
