# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "resources": lb1's daemon runs short of something, then gets it back.
#   tmpfull  its dump directory (TMPDIR) is a full 64 kB tmpfs, mounted in
#            the daemon's own mount namespace; then USR1 and USR2 (and, for
#            ours, the JSON signal) ask for dumps
#   fdlimit  prlimit lowers the fd limit of the parent and the VRRP child
#            to their lowest free fd number (nothing more can be opened,
#            everything held stays); then a SIGHUP with a changed VIP list
#            (the parent must open the config) and a USR1
#   memcg    the daemon's processes move to a memory cgroup (v1 here:
#            memory.limit_in_bytes) limited to twice their resident set;
#            then RELOADS_MEM reloads alternating the VIP list and a USR1
#            after each
#   pidro    the pid directory read-only. At start: a daemon started (in
#            the attacker's namespace, where it can do no harm) with its
#            pid files on a read-only tmpfs must stop at once with an
#            error naming the file and a non-zero exit (keepalived's
#            code is shown). While running: lb1's run directory (pid
#            files and dump directory) is bind-mounted read-only in the
#            daemon's mount namespace, its VRRP child is SIGKILLed and a
#            USR1 asks for a dump: the child is respawned, the pid file
#            and the dump that cannot be written are logged (EROFS
#            named), the parent runs on, and lb1 is master again; once
#            the directory is writable again the VRRP pid file names the
#            live child within PIDFILE_HEAL_S
# Must hold for each: the same processes run (no exit, no respawn, no OOM
# kill), the pair is whole afterwards, each refused operation is logged
# clearly (ENOSPC / EMFILE named), and once the resource is back the
# daemon works again (a dump is written; a reload applies).

ROW_WHAT_resources="pid directory read-only, dump directory full, fd limit at need, memory cgroup at 2x"

RELOADS_MEM=${RELOADS_MEM:-10}
PIDFILE_HEAL_S=${PIDFILE_HEAL_S:-3}

node_proc_ids() { peer_pids A | sort -n | paste -sd' '; }
log_lines() { wc -l <"$RUN_DIR/lb1.out"; }
new_log() { # from-line -> the log lines after it
    tail -n +"$(($1 + 1))" "$RUN_DIR/lb1.out"
}
dump_signals() { # signals the implementation answers with a dump
    if [[ $IMPL == rs ]]; then echo "USR1 USR2 RTMIN+2"; else echo "USR1 USR2"; fi
}

res_tmpfull() {
    local pid=${PEER_PID[A]} dir=$RUN_DIR/lb1.tmp ids0 l0 sig n lines ok=1 detail
    ids0=$(node_proc_ids)
    if ! nsenter -t "$pid" -m -- mount -t tmpfs -o size=64k,mode=0755 "flt-$LAB-tmp" "$dir"; then
        result "tmpfull: dumps refused, daemon fine" FAIL "could not mount a tmpfs over $dir"
        return
    fi
    nsenter -t "$pid" -m -- dd if=/dev/zero of="$dir/fill" bs=4k 2>/dev/null || true
    l0=$(log_lines)
    n=0
    for sig in $(dump_signals); do
        kill -s "$sig" "$pid" 2>/dev/null || true
        n=$((n + 1))
        sleep 0.5
    done
    lines=$(new_log "$l0" | grep -ciE 'no space left|ENOSPC' || true)
    detail="$lines of $n dumps logged as refused ($(new_log "$l0" | grep -m1 -iE 'no space left|ENOSPC' | cut -c1-140))"
    ((lines >= n)) || ok=0
    [[ $(node_proc_ids) == "$ids0" ]] || { ok=0; detail+="; processes changed: $ids0 -> $(node_proc_ids)"; }
    settle "$(calc "$MD_A + $(slack_for "$ADV")")" || { ok=0; detail+="; $SETTLE_MSG"; }
    if ((ok)); then result "tmpfull: dumps refused, daemon fine" PASS "$detail"
    else result "tmpfull: dumps refused, daemon fine" FAIL "$detail"; fi
    nsenter -t "$pid" -m -- umount "$dir" || true
    rm -f "$dir/keepalived.data"
    kill -USR1 "$pid" 2>/dev/null || true
    if wait_for 3 test -s "$dir/keepalived.data"; then result "tmpfull: dumps work once there is room" PASS "keepalived.data written"
    else result "tmpfull: dumps work once there is room" FAIL "no keepalived.data within 3 s of a USR1"; fi
}

res_fdlimit() {
    local pid=${PEER_PID[A]} child ids0 l0 p free detail ok=1 lines reason
    child=$(node_child A)
    ids0=$(node_proc_ids)
    declare -A old=()
    for p in $pid $child; do
        old[$p]=$(prlimit --pid "$p" --nofile --noheadings --raw -o SOFT,HARD | tr ' ' ':')
        # The lowest free fd number: the kernel hands out the lowest free
        # one and refuses it when it is at or above the limit, so with the
        # limit there no open() can succeed while every fd held stays.
        free=$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -n |
            awk 'BEGIN { n = 0 } $1 == n { n++ } END { print n }')
        prlimit --pid "$p" --nofile="$free:${old[$p]#*:}"
    done
    l0=$(log_lines)
    write_confs "$VIP2B"
    kill -HUP "$pid" 2>/dev/null || true
    sleep 1
    kill -USR1 "$pid" 2>/dev/null || true
    sleep 0.5
    # The refused reload must say why (the config could not be opened for
    # lack of an fd), not only that it was refused.
    lines=$(new_log "$l0" | grep -ciE 'too many open files|EMFILE' || true)
    reason=$(new_log "$l0" | grep -m1 -iE 'configuration.*(too many open files|EMFILE)' | cut -c1-160)
    detail="$lines lines name the fd limit; the reload: ${reason:-no line names the cause}"
    [[ -n $reason ]] || ok=0
    [[ $(node_proc_ids) == "$ids0" ]] || { ok=0; detail+="; processes changed: $ids0 -> $(node_proc_ids)"; }
    settle "$(calc "$MD_A + $(slack_for "$ADV")")" || { ok=0; detail+="; $SETTLE_MSG"; }
    if ((ok)); then result "fdlimit: refused clearly, daemon fine" PASS "$detail"
    else result "fdlimit: refused clearly, daemon fine" FAIL "$detail"; fi
    for p in "${!old[@]}"; do prlimit --pid "$p" --nofile="${old[$p]}" 2>/dev/null || true; done
    # With the limit back, a reload applies (the VIP list changes).
    kill -HUP "$pid" 2>/dev/null || true
    if wait_for 5 ns_has_addr "$NS_LB1" "$VIP2B"; then result "fdlimit: reload applies once the limit is back" PASS "$VIP2B added"
    else result "fdlimit: reload applies once the limit is back" FAIL "$VIP2B not on lb1 within 5 s"; fi
    write_confs
    kill -HUP "$pid" 2>/dev/null || true
    wait_for 5 eval "! ns_has_addr $NS_LB1 $VIP2B" || true
}

res_memcg() {
    local pid=${PEER_PID[A]} cg ids0 p usage limit i ooms fail detail ok=1
    cg=/sys/fs/cgroup/memory/faults14-$LAB
    ids0=$(node_proc_ids)
    if ! mkdir -p "$cg" 2>/dev/null; then
        result "memcg: 2x steady state, daemon fine" FAIL "no memory cgroup: cannot create $cg"
        return
    fi
    # cgroup v1 without charge moving (this kernel refuses
    # move_charge_at_immigrate): the pages they hold stay charged where
    # they were, so the steady state is their resident set, and the limit
    # bounds what they allocate from now on to twice that.
    usage=0
    for p in $ids0; do
        usage=$((usage + 1024 * $(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)))
    done
    limit=$((2 * usage))
    if ((limit < 1048576)); then
        result "memcg: 2x steady state, daemon fine" FAIL "no resident set read for $ids0"
        rmdir "$cg" 2>/dev/null
        return
    fi
    for p in $ids0; do echo "$p" >"$cg/cgroup.procs"; done
    echo "$limit" >"$cg/memory.limit_in_bytes"
    for ((i = 1; i <= RELOADS_MEM; i++)); do
        if ((i % 2)); then write_confs "$VIP2B"; else write_confs; fi
        kill -HUP "$pid" 2>/dev/null || true
        sleep 0.4
        kill -USR1 "$pid" 2>/dev/null || true
        sleep 0.1
    done
    write_confs
    kill -HUP "$pid" 2>/dev/null || true
    sleep 1
    ooms=$(awk '$1 == "oom_kill" { print $2 }' "$cg/memory.oom_control")
    fail=$(cat "$cg/memory.failcnt")
    detail="limit $((limit / 1024)) kB (2 x VmRSS $((usage / 1024)) kB; charged peak $(($(cat "$cg/memory.max_usage_in_bytes") / 1024)) kB, limit hit $fail times); ${ooms:-?} OOM kills"
    [[ $ooms == 0 ]] || ok=0
    [[ $(node_proc_ids) == "$ids0" ]] || { ok=0; detail+="; processes changed: $ids0 -> $(node_proc_ids)"; }
    settle "$(calc "$MD_A + $(slack_for "$ADV")")" || { ok=0; detail+="; $SETTLE_MSG"; }
    if ((ok)); then result "memcg: 2x steady state, daemon fine" PASS "$detail"
    else result "memcg: 2x steady state, daemon fine" FAIL "$detail"; fi
    for p in $(cat "$cg/cgroup.procs"); do echo "$p" >/sys/fs/cgroup/memory/cgroup.procs 2>/dev/null || true; done
    rmdir "$cg" 2>/dev/null || true
}

# Whether lb1's VRRP pid file names its running VRRP child.
pidfile_names_child() {
    local c
    c=$(node_child A)
    [[ -n $c && $(cat "$RUN_DIR/lb1.vrrp.pid" 2>/dev/null) == "$c" ]]
}

res_pidro() {
    local pid=${PEER_PID[A]} dir=$RUN_DIR/pidro child child2 l0 rc t0 out detail ok=1 lines first cmd
    # At start.
    mkdir -p "$dir"
    cmd=$(impl_cmd "$IMPL")
    cmd=${cmd//\{run\}/$RUN_DIR}
    cmd=${cmd//\{name\}/pidro}
    cmd=${cmd//\{conf\}/$RUN_DIR/lb1.conf}
    cmd=${cmd//\{pid\}/$dir/ro/k.pid}
    cmd=${cmd//\{vrrp_pid\}/$dir/ro/v.pid}
    mkdir -p "$dir/ro" "$RUN_DIR/pidro.tmp"
    out=$dir/start.out
    t0=$EPOCHREALTIME
    rc=0
    timeout 10 ip netns exec "$NS_ATK" bash -c "mount -t tmpfs -o ro,size=64k flt-$LAB-pidro '$dir/ro' && exec $cmd" >"$out" 2>&1 || rc=$?
    first=$(grep -m1 -iE 'pid ?file|read-only' "$out" | cut -c1-160)
    detail="exit $rc after $(calc "$EPOCHREALTIME - $t0") s: ${first:-no line names the pid file}"
    ((rc != 0 && rc != 124)) || ok=0
    [[ $first == *k.pid* ]] || ok=0
    if ((ok)); then result "pidro: at start, stops with a clear error" PASS "$detail"
    else result "pidro: at start, stops with a clear error" FAIL "$detail"; fi
    # While running.
    ok=1
    child=$(node_child A)
    if ! nsenter -t "$pid" -m -- sh -c "mount --bind '$RUN_DIR' '$RUN_DIR' && mount -o remount,bind,ro '$RUN_DIR'"; then
        result "pidro: while running, daemon fine" FAIL "could not make $RUN_DIR read-only in the daemon's mount namespace"
        return
    fi
    l0=$(log_lines)
    kill -KILL "$child" 2>/dev/null || true
    wait_for "$RESPAWN_S" eval '[[ -n $(node_child A) && $(node_child A) != '"$child"' ]]' || true
    child2=$(node_child A)
    kill -USR1 "$pid" 2>/dev/null || true
    sleep 0.5
    lines=$(new_log "$l0" | grep -iE 'read-only|EROFS' || true)
    detail="child $child -> ${child2:-none}; $(grep -c . <<<"$lines") lines name EROFS: $(grep -m1 -iE 'pid' <<<"$lines" | cut -c1-130) | $(grep -m1 -viE 'pid' <<<"$lines" | cut -c1-130)"
    [[ -n $child2 && $child2 != "$child" ]] || ok=0
    grep -qiE 'pid' <<<"$lines" || ok=0
    grep -qviE 'pid' <<<"$lines" || ok=0
    peer_alive A || { ok=0; detail+="; the parent exited"; }
    settle "$(calc "$START_ALLOW_S + $MD_A + $(slack_for "$ADV")")" || { ok=0; detail+="; $SETTLE_MSG"; }
    [[ $(wire_masters 51 "$(calc "2 * $ADV")") == lb1 ]] || { ok=0; detail+="; lb1 not master: $(pair_state)"; }
    if ((ok)); then result "pidro: while running, daemon fine, failures logged" PASS "$detail"
    else result "pidro: while running, daemon fine, failures logged" FAIL "$detail"; fi
    nsenter -t "$pid" -m -- umount "$RUN_DIR" || true
    # The directory writable again: the VRRP pid file must name the live
    # child within PIDFILE_HEAL_S (ours retries the write every second),
    # not the killed one until some later respawn.
    local healed="" named live
    t0=$EPOCHREALTIME
    wait_for "$PIDFILE_HEAL_S" pidfile_names_child && healed=$(calc "$EPOCHREALTIME - $t0")
    named=$(cat "$RUN_DIR/lb1.vrrp.pid" 2>/dev/null || true)
    live=$(node_child A)
    detail="the file names ${named:-nothing} after ${healed:-$PIDFILE_HEAL_S} s; live child ${live:-none}, killed $child"
    if [[ -n $healed ]]; then result "pidro: writable again, pid file names the live child" PASS "$detail"
    else result "pidro: writable again, pid file names the live child" FAIL "$detail"; fi
    # keepalived's VRRP child exits when it cannot write its pid file and
    # is respawned with a growing delay: an operator would restart it.
    if ! settle "$(calc "$START_ALLOW_S + $MD_A + $(slack_for "$ADV")")"; then
        note "lb1 restarted after the pidro check: $(pair_state)"
        peer_term A 10
        rm -f "$RUN_DIR/lb1.pid" "$RUN_DIR/lb1.vrrp.pid"
        node_start A
    fi
}

row_resources() {
    res_pidro
    precondition || return
    res_tmpfull
    precondition || return
    res_fdlimit
    precondition || return
    res_memcg
}
