# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash source-path=SCRIPTDIR
# Variables set here are read by the scripts that source this file.
# shellcheck disable=SC2034
# The lab: three hosts in network namespaces on one bridge, veth only.
#
#   <P>-lb1  eth0 192.0.2.1/24   2001:db8:0:1::1/64   02:6b:69:00:00:01
#   <P>-lb2  eth0 192.0.2.2/24   2001:db8:0:1::2/64   02:6b:69:00:00:02
#   <P>-cli  eth0 192.0.2.10/24  2001:db8:0:1::a/64   02:6b:69:00:00:0a
#   <P>-br   br0 with the peer ends p-lb1 p-lb2 p-cli
#
# The bridge does no MAC learning (every port floods), so the client sees
# unicast adverts between lb1 and lb2 as well as multicast and broadcast.
# <P> is $LAB, unique per scenario run (the runner passes one; default
# "ki<pid>"), so runs never share or reuse a namespace.
#
# Ownership: every namespace created is listed in $LAB_STATE/namespaces and
# every process started in $LAB_STATE/pids as "pid starttime label"; teardown
# signals only those (pid and kernel start time must both match, so a
# recycled pid is never hit) and whatever still runs inside our namespaces,
# then deletes only our namespaces. It is idempotent and safe to call twice.

LAB=${LAB:-ki$$}
LAB_STATE=${LAB_STATE:-/run/kalrs-interop/$LAB}
IFACE=eth0
NS_BR=$LAB-br
NS_LB1=$LAB-lb1
NS_LB2=$LAB-lb2
NS_CLI=$LAB-cli
PLEN=24
IP_LB1=192.0.2.1
IP_LB2=192.0.2.2
IP_CLI=192.0.2.10
MAC_LB1=02:6b:69:00:00:01
MAC_LB2=02:6b:69:00:00:02
MAC_CLI=02:6b:69:00:00:0a
IP6_LB1=2001:db8:0:1::1
IP6_LB2=2001:db8:0:1::2
IP6_CLI=2001:db8:0:1::a

ns_exists() { [[ -e /run/netns/$1 ]]; }

proc_start_time() { # pid -> kernel start time (stat field 22), empty when gone
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    printf '%s\n' "${20}"
}
proc_register() { # pid label
    mkdir -p "$LAB_STATE"
    printf '%s %s %s\n' "$1" "$(proc_start_time "$1")" "$2" >>"$LAB_STATE/pids"
}
proc_is_ours() { # pid: registered, alive, same start time
    local st
    st=$(proc_start_time "$1")
    [[ -n $st && -f $LAB_STATE/pids ]] || return 1
    awk -v p="$1" -v s="$st" '$1 == p && $2 == s { f = 1 } END { exit !f }' "$LAB_STATE/pids"
}
proc_alive() { # pid: exists and is not a zombie
    [[ -d /proc/$1 ]] && [[ $(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) != Z ]]
}
proc_descendants() { # pid -> every live descendant, depth first
    local k
    for k in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        printf '%s\n' "$k"
        proc_descendants "$k"
    done
}
proc_wait_gone() { # pid seconds
    local pid=$1
    wait_for "$2" eval "! proc_alive $pid" || return 1
    wait "$pid" 2>/dev/null || true
    return 0
}

lab_ns_add() {
    local ns=$1
    ns_exists "$ns" && die "namespace $ns already exists (not ours): choose another LAB prefix"
    mkdir -p "$LAB_STATE"
    ip netns add "$ns"
    printf '%s\n' "$ns" >>"$LAB_STATE/namespaces"
    ip -n "$ns" link set lo up
}

lab_host_add() { # ns port mac ipv4 ipv6
    local ns=$1 port=$2 mac=$3 ip4=$4 ip6=$5
    lab_ns_add "$ns"
    ip -n "$NS_BR" link add "$port" type veth peer name "$IFACE" netns "$ns"
    # No DAD (addresses usable at once), no router solicitations (quiet
    # captures), and addresses survive an admin down of eth0.
    ip netns exec "$ns" sysctl -qw \
        net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 \
        "net.ipv6.conf.$IFACE.accept_dad=0" "net.ipv6.conf.$IFACE.accept_ra=0" \
        "net.ipv6.conf.$IFACE.router_solicitations=0" \
        net.ipv6.conf.all.keep_addr_on_down=1 "net.ipv6.conf.$IFACE.keep_addr_on_down=1" >/dev/null
    # The MAC is set before the link comes up, so the link-local address
    # (the source of IPv6 adverts) is derived from it.
    ip -n "$ns" link set "$IFACE" address "$mac"
    ip -n "$ns" addr add "$ip4/$PLEN" dev "$IFACE"
    ip -n "$ns" addr add "$ip6/64" dev "$IFACE" nodad
    ip -n "$ns" link set "$IFACE" up
    ip -n "$NS_BR" link set "$port" master br0
    ip -n "$NS_BR" link set "$port" type bridge_slave learning off flood on mcast_flood on
    ip -n "$NS_BR" link set "$port" up
}

lab_up() {
    need_cmd ip ps awk setsid
    lab_ns_add "$NS_BR"
    ip -n "$NS_BR" link add br0 type bridge stp_state 0 mcast_snooping 0 forward_delay 0
    ip netns exec "$NS_BR" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 >/dev/null
    ip -n "$NS_BR" link set br0 up
    lab_host_add "$NS_LB1" p-lb1 "$MAC_LB1" "$IP_LB1" "$IP6_LB1"
    lab_host_add "$NS_LB2" p-lb2 "$MAC_LB2" "$IP_LB2" "$IP6_LB2"
    lab_host_add "$NS_CLI" p-cli "$MAC_CLI" "$IP_CLI" "$IP6_CLI"
    # IPv6 link-local addresses need the link up; wait until lb1/lb2 have one.
    local ns
    for ns in "$NS_LB1" "$NS_LB2"; do
        wait_for 3 lab_has_linklocal "$ns" || die "$ns: no IPv6 link-local address on $IFACE"
    done
}
# A second link for the scenarios that need two (sync groups): br1 in the
# bridge namespace with eth1 of lb1 (198.51.100.1/24) and lb2
# (198.51.100.2/24), built like br0 (no MAC learning, IPv4 only). The
# client is not on it, so nothing on it is captured.
IFACE2=eth1
IP2_LB1=198.51.100.1
IP2_LB2=198.51.100.2
lab_second_link() {
    local ns port ip
    ip -n "$NS_BR" link add br1 type bridge stp_state 0 mcast_snooping 0 forward_delay 0
    ip -n "$NS_BR" link set br1 up
    for ns in "$NS_LB1" "$NS_LB2"; do
        if [[ $ns == "$NS_LB1" ]]; then port=p2-lb1 ip=$IP2_LB1; else port=p2-lb2 ip=$IP2_LB2; fi
        ip -n "$NS_BR" link add "$port" type veth peer name "$IFACE2" netns "$ns"
        ip netns exec "$ns" sysctl -qw "net.ipv6.conf.$IFACE2.disable_ipv6=1" >/dev/null
        ip -n "$ns" addr add "$ip/$PLEN" dev "$IFACE2"
        ip -n "$ns" link set "$IFACE2" up
        ip -n "$NS_BR" link set "$port" master br1
        ip -n "$NS_BR" link set "$port" type bridge_slave learning off flood on mcast_flood on
        ip -n "$NS_BR" link set "$port" up
    done
}
lab_has_linklocal() { ip -n "$1" -6 -o addr show dev "$IFACE" scope link 2>/dev/null | grep -q fe80; }
linklocal_of() { ip -n "$1" -6 -o addr show dev "$IFACE" scope link | awk '{ sub(/\/.*/, "", $4); print $4; exit }'; }

lab_down() {
    local pid st label ns p i
    if [[ -f $LAB_STATE/pids ]]; then
        while read -r pid st _label; do
            [[ -n $st && $(proc_start_time "$pid") == "$st" ]] || continue
            kill -KILL -- "-$pid" 2>/dev/null || true
            kill -KILL "$pid" 2>/dev/null || true
        done <"$LAB_STATE/pids"
    fi
    if [[ -f $LAB_STATE/namespaces ]]; then
        while read -r ns; do
            ns_exists "$ns" || continue
            # Anything still inside a namespace we made is ours (a daemon's
            # child that left its process group, a notify hook).
            for ((i = 0; i < 50; i++)); do
                p=$(ip netns pids "$ns" 2>/dev/null || true)
                [[ -n $p ]] || break
                # shellcheck disable=SC2086
                kill -KILL $p 2>/dev/null || true
                sleep 0.02
            done
            ip netns del "$ns" 2>/dev/null || true
        done <"$LAB_STATE/namespaces"
    fi
    rm -f "$LAB_STATE/pids" "$LAB_STATE/namespaces"
    rmdir "$LAB_STATE" 2>/dev/null || true
}

# ------------------------------------------------------------ addresses -----
# These run in the 10 ms polls of wait_for and holds_for: one `ip` a call
# and the matching in bash, as every process forked is a wait for the CPU
# on a loaded machine, and the poll's lag adds to every time measured.
ns_read_addrs() { # ns: NS_WORDS=" name state addr/plen addr/plen ... " (ip -br)
    NS_WORDS=" $(ip -n "$1" -br addr show dev "$IFACE" 2>/dev/null) "
}
ns_has_addr() { # ns addr (v4 or v6, without prefix length)
    ns_read_addrs "$1"
    [[ $NS_WORDS == *" $2/"* ]]
}
ns_has_all() { # ns addr...
    local a
    ns_read_addrs "$1"
    shift
    for a in "$@"; do [[ $NS_WORDS == *" $a/"* ]] || return 1; done
}
ns_has_none() { # ns addr...
    local a
    ns_read_addrs "$1"
    shift
    for a in "$@"; do [[ $NS_WORDS != *" $a/"* ]] || return 1; done
}
ns_del_addrs() { # ns addr/plen...: what a reboot does to a crashed node's VIPs
    local ns=$1 a
    shift
    for a in "$@"; do ip -n "$ns" addr del "$a" dev "$IFACE" 2>/dev/null || true; done
}
ns_addrs() { ip -n "$1" -br addr show dev "$IFACE" 2>/dev/null | awk '{ $1 = $2 = ""; sub(/^ +/, ""); print }'; }
# Make the client resolve an address (one UDP datagram to the discard port
# needs a neighbour entry first); no ping/arping needed.
client_resolve() { # addr
    ip netns exec "$NS_CLI" bash -c "echo x >/dev/udp/$1/9" 2>/dev/null || true
    wait_for 1 eval "[[ -n \$(client_neigh_mac $1) ]]" || true
}
client_neigh_mac() { # addr -> lladdr the client has for it
    ip -n "$NS_CLI" neigh show "$1" dev "$IFACE" 2>/dev/null | awk '{ for (i = 1; i <= NF; i++) if ($i == "lladdr") print $(i + 1) }'
}
