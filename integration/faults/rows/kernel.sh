# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "kernel": the kernel says no.
#   enobufs  ADDR_CHANGES address changes on lb1's box (ADDR_PAR `ip -batch`
#            at once, adding and deleting 198.51.100.0/24 host addresses on
#            lo; this kernel has no dummy links), with VI_1's VIP deleted behind the daemon's
#            back half-way through: the notifications overrun the daemon's
#            rtnetlink sockets (the kernel drops them: ENOBUFS on the next
#            read), the deletion's notice maybe among them; the VRRP child
#            is stopped for STALL_S (0.2 s) as the storm starts, a loaded
#            machine's stall, else it reads as fast as `ip` writes
#   noipvs   this kernel has no IPVS: lb1's daemon restarts with both
#            children (no -P) and a virtual server added to its config
# Must hold (noipvs): the daemon says clearly that IPVS is missing, keeps
# running and keeps VRRP running (lb1 master again, pair whole), and does
# not flood the log (at most NOIPVS_LOG_MAX IPVS lines in NOIPVS_S s).
# Must hold (enobufs): the daemon notices the overrun and resyncs (master lb1 puts
# its VIP back, as it does for a deletion it hears of), the pair is whole
# afterwards, the same processes run, and the overrun is logged, once per
# burst and not once per lost message (at most ENOBUFS_LOG_MAX lines).

ROW_WHAT_kernel="rtnetlink ENOBUFS under an address-event storm"

ADDR_CHANGES=${ADDR_CHANGES:-10000}
ADDR_PAR=${ADDR_PAR:-4}
STALL_S=${STALL_S:-0.2}
ENOBUFS_LOG_MAX=${ENOBUFS_LOG_MAX:-5}
ENOBUFS_RE='ENOBUFS|overrun|notifications lost|No buffer space'
NOIPVS_S=${NOIPVS_S:-6}
NOIPVS_LOG_MAX=${NOIPVS_LOG_MAX:-10}

# Notifications the kernel dropped at the full netlink sockets of a
# namespace (/proc/net/netlink's Drops column, summed).
netlink_drops() { # ns
    ip netns exec "$1" cat /proc/net/netlink 2>/dev/null |
        awk 'NR > 1 { d += $(NF - 1) } END { print d + 0 }'
}

kern_noipvs() {
    local saved=$IMPL_A conf=$RUN_DIR/lb1-ipvs.conf l0 t0 ok=1 detail first n
    {
        pair_conf lb1 $PRIO_A
        cat <<EOF

virtual_server 192.0.2.200 80 {
    delay_loop 1
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.201 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
EOF
    } >"$conf"
    peer_term A 10
    l0=$(wc -l <"$RUN_DIR/lb1.out")
    IMPL_A="${saved/ -P / } -c {run}/{name}.chk.pid"
    t0=$EPOCHREALTIME
    node_start_conf A "$conf"
    sleep "$NOIPVS_S"
    # (Not the lines that only echo the command line, which names lb1-ipvs.conf.)
    first=$(tail -n +"$((l0 + 1))" "$RUN_DIR/lb1.out" | grep -v -e '^===' -e 'lb1-ipvs.conf' | grep -m1 -iE 'ipvs|ip_vs' | cut -c1-180)
    n=$(tail -n +"$((l0 + 1))" "$RUN_DIR/lb1.out" | grep -v -e '^===' -e 'lb1-ipvs.conf' | grep -ciE 'ipvs|ip_vs' || true)
    detail="$n IPVS lines in $NOIPVS_S s (allowed 1-$NOIPVS_LOG_MAX), first: ${first:-none}"
    ((n >= 1 && n <= NOIPVS_LOG_MAX)) || ok=0
    peer_alive A || { ok=0; detail+="; the daemon exited"; }
    settle "$(calc "$START_ALLOW_S + $MD_A + $(slack_for "$ADV")")" || { ok=0; detail+="; $SETTLE_MSG"; }
    [[ $(wire_masters 51 "$(calc "2 * $ADV")") == lb1 ]] || { ok=0; detail+="; lb1 not master: $(pair_state)"; }
    if ((ok)); then result "noipvs: said clearly, VRRP runs" PASS "$detail"
    else result "noipvs: said clearly, VRRP runs" FAIL "$detail"; fi
    peer_term A 10
    IMPL_A=$saved
    rm -f "$RUN_DIR/lb1.pid" "$RUN_DIR/lb1.vrrp.pid" "$RUN_DIR/lb1.chk.pid"
    node_start A
}

# node_start with another configuration file, through peer_launch
# (interop lib/peer.sh): peer_start without its end-of-session on a
# daemon that exits at once, which is a result here (keepalived stops
# itself when IPVS cannot start).
node_start_conf() { # side conf
    mkdir -p "$RUN_DIR/$(side_name "$1").tmp"
    peer_launch "$1" "$2"
}

row_kernel() {
    kern_enobufs
    # A daemon that lost the deletion leaves the master without its VIP
    # for ever: an operator would restart it.
    if ! ns_has_addr "$NS_LB1" "$VIP1"; then
        note "lb1 restarted after the enobufs check: $VIP1 was still missing"
        peer_term A 10
        node_start A
    fi
    precondition || return
    kern_noipvs
}

kern_enobufs() {
    local batch=$RUN_DIR/addr-storm.batch child ids0 l0 d0 d1 ts te lines first detail ok=1 restored
    # ADDR_PAR batches at once (one per 198.51.100.0/24 quarter), the
    # VIP deleted half-way through the first: one `ip` alone is slower
    # than the daemon's reader on this machine and overran nothing.
    local k pids=()
    for ((k = 0; k < ADDR_PAR; k++)); do
        awk -v n="$((ADDR_CHANGES / ADDR_PAR))" -v k="$k" -v vip="$VIP1" -v dev="$IFACE" 'BEGIN {
            for (i = 0; i < n / 2; i++) {
                a = sprintf("198.51.100.%d/32", 1 + k * 60 + i % 60)
                printf "address add %s dev lo\naddress del %s dev lo\n", a, a
                if (k == 0 && i == int(n / 4)) printf "address del %s/24 dev %s\n", vip, dev
            }
        }' >"$batch.$k"
    done
    ids0=$(peer_pids A | sort -n | paste -sd' ')
    l0=$(wc -l <"$RUN_DIR/lb1.out")
    d0=$(netlink_drops "$NS_LB1")
    ts=$EPOCHREALTIME
    child=$(node_child A)
    for ((k = 0; k < ADDR_PAR; k++)); do
        ip -n "$NS_LB1" -force -batch "$batch.$k" >/dev/null 2>"$batch.$k.err" &
        pids+=($!)
    done
    # The VRRP child off the CPU for STALL_S (less than lb2's master-down),
    # as a loaded machine does now and then: even the debug build reads
    # faster than 4 `ip` write here, so without it nothing overflows.
    kill -STOP "$child" 2>/dev/null || true
    sleep "$STALL_S"
    kill -CONT "$child" 2>/dev/null || true
    wait "${pids[@]}"
    te=$EPOCHREALTIME
    if grep -q . "$batch".*.err; then
        result "enobufs: address storm ran" FAIL "ip -batch: $(cat "$batch".*.err | sort | uniq -c | sort -rn | head -n 2 | tr '\n' ' ')"
    fi
    d1=$(netlink_drops "$NS_LB1")
    # A master puts a deleted VIP back at once; give the resync a bound.
    if wait_for 3 ns_has_addr "$NS_LB1" "$VIP1"; then restored="back $(calc "$EPOCHREALTIME - $te") s after the storm"
    else restored="NOT back 3 s after the storm"; ok=0; fi
    detail="$ADDR_CHANGES changes in $(calc "$te - $ts") s, kernel dropped $((d1 - d0)) notifications at lb1's netlink sockets; VIP $VIP1 $restored"
    [[ $(peer_pids A | sort -n | paste -sd' ') == "$ids0" ]] || { ok=0; detail+="; processes changed"; }
    settle "$(calc "$MD_A + $(slack_for "$ADV")")" || { ok=0; detail+="; $SETTLE_MSG"; }
    if ((ok)); then result "enobufs: resynced, VIPs right" PASS "$detail"
    else result "enobufs: resynced, VIPs right" FAIL "$detail"; fi
    lines=$(tail -n +"$((l0 + 1))" "$RUN_DIR/lb1.out" | grep -ciE "$ENOBUFS_RE" || true)
    first=$(tail -n +"$((l0 + 1))" "$RUN_DIR/lb1.out" | grep -m1 -iE "$ENOBUFS_RE" | cut -c1-160)
    detail="$lines lines (allowed 1-$ENOBUFS_LOG_MAX, $((d1 - d0)) dropped): ${first:-none}"
    if ((d1 - d0 == 0)); then
        result "enobufs: overrun logged once" FAIL "the storm overran no socket ($detail): nothing was tested"
    elif ((lines >= 1 && lines <= ENOBUFS_LOG_MAX)); then result "enobufs: overrun logged once" PASS "$detail"
    else result "enobufs: overrun logged once" FAIL "$detail"; fi
}
