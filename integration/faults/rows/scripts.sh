# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "scripts": a vrrp_script (tracked by lb1's VI_1, weight -10, so a
# failure leaves lb1 at 140, still above lb2) and, for keepalived-rs, a
# MISC_CHECK misbehave in three ways, SCRIPT_S seconds each:
#   hang   ignores SIGTERM and sleeps for ever
#   fork   ignores SIGTERM and starts FORKS sleeping children (bounded)
#   print  writes to stdout as fast as it can, for ever
# Both run every second with a 1 s timeout, next to a well-behaved twin
# (same interval and timeout) whose runs are logged. Must hold:
# * killed at its timeout with its whole process group: no process of the
#   bad script (the script, its children, their sleeps) ever older than
#   timeout + the SIGTERM-to-SIGKILL grace (2 s, as keepalived) + slack;
#   none left once the script behaves again;
# * no fd growth in the process that runs the scripts;
# * the advert timing holds: no state change, lb1's p$PCT advert interval
#   within P99_TOL_MS of the idle one;
# * the schedule holds: the twin still starts every interval.
# The MISC_CHECK runs in a checker-only keepalived-rs (-C) in the client
# namespace with KEEPALIVED_RS_IPVS_DRY=1 (this kernel has no IPVS; every
# IPVS op succeeds without one): the checker child's scheduling and
# script handling are what is tested. keepalived's checker needs IPVS, so
# its column has the vrrp_script checks only.

ROW_WHAT_scripts="vrrp_script and MISC_CHECK that hang, fork or print endlessly"

SCRIPT_TIMEOUT=1
SCRIPT_INTERVAL=1
SCRIPT_GRACE=2
FORKS=20
# What marks a process of the bad script: its own name, its sleeps, its
# output. Matched against /proc/PID/cmdline (NULs read as spaces).
BAD_TAG='bad-script|sleep 7777|kalrs-flt-print'

# The two scripts, root-owned in RUN_DIR (script security). Each logs
# "epoch pid mode" per run to the file named by its argument; the bad
# one takes its behaviour from RUN_DIR/bad.mode (ok when absent).
scripts_install() {
    cat >"$RUN_DIR/bad-script" <<EOF
#!/bin/bash
# A script that misbehaves as RUN_DIR/bad.mode says (integration/faults).
FORKS=$FORKS
ESCAPE=$(mutated escape && echo 1)
EOF
    cat >>"$RUN_DIR/bad-script" <<'EOF'
mode=$(cat "${0%/*}/bad.mode" 2>/dev/null)
printf '%s %s %s\n' "$EPOCHREALTIME" "$$" "${mode:-ok}" >>"$1"
case $mode in
    hang) trap '' TERM; sleep 7777; sleep 7777 ;;
    fork)
        trap '' TERM
        for ((i = 0; i < FORKS; i++)); do sleep 7777 & done
        # --selftest's "escape": a child that leaves the process group.
        [[ -z $ESCAPE ]] || setsid sleep 7777 &
        wait ;;
    print) yes kalrs-flt-print ;;
    *) exit 0 ;;
esac
EOF
    cat >"$RUN_DIR/good-script" <<'EOF'
#!/bin/bash
# A well-behaved script that logs each run (integration/faults).
printf '%s %s ok\n' "$EPOCHREALTIME" "$$" >>"$1"
exit 0
EOF
    chmod 0755 "$RUN_DIR/bad-script" "$RUN_DIR/good-script"
    echo ok >"$RUN_DIR/bad.mode"
}

scripts_conf_lb1() {
    local root extra
    root=$(cat <<EOF

vrrp_script flt_bad {
    script "$RUN_DIR/bad-script $RUN_DIR/bad-vrrp.log"
    interval $SCRIPT_INTERVAL
    timeout $SCRIPT_TIMEOUT
    weight -10
}
vrrp_script flt_good {
    script "$RUN_DIR/good-script $RUN_DIR/good-vrrp.log"
    interval $SCRIPT_INTERVAL
    timeout $SCRIPT_TIMEOUT
}
EOF
)
    extra=$'    track_script {\n        flt_bad\n        flt_good\n    }'
    C_ROOT=$root conf_global lb1
    C_VERSION=3 C_ADVERT=$ADV C_EXTRA=$extra conf_instance lb1 VI_1 51 $PRIO_A "$VIP1/24"
    C_VERSION=3 C_ADVERT=$ADV conf_instance lb1 VI_2 52 $PRIO_A "$VIP2/24"
    C_INST_VERSION=2 C_ADVERT=1 C_AUTH_PASS=$AUTH_PASS conf_instance lb1 VI_3 53 $PRIO_A "$VIP3/24"
}

checker_conf() {
    cat <<EOF
global_defs {
    router_id chk
    script_user root
    enable_script_security
}
virtual_server 192.0.2.200 80 {
    delay_loop $SCRIPT_INTERVAL
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 192.0.2.201 80 {
        MISC_CHECK {
            misc_path "$RUN_DIR/bad-script $RUN_DIR/bad-misc.log"
            misc_timeout $SCRIPT_TIMEOUT
        }
    }
    real_server 192.0.2.202 80 {
        MISC_CHECK {
            misc_path "$RUN_DIR/good-script $RUN_DIR/good-misc.log"
            misc_timeout $SCRIPT_TIMEOUT
        }
    }
}
EOF
}

# The checker-only daemon (ours) in the client namespace.
CHK_PID=
checker_start() {
    checker_conf >"$RUN_DIR/chk.conf"
    rm -f "$RUN_DIR/chk.pid" "$RUN_DIR/chk.cpid"
    setsid ip netns exec "$NS_CLI" env KEEPALIVED_RS_IPVS_DRY=1 TMPDIR="$RUN_DIR" \
        "$KALRS_BIN" -C -n -l -D -f "$RUN_DIR/chk.conf" -p "$RUN_DIR/chk.pid" -c "$RUN_DIR/chk.cpid" \
        </dev/null >>"$RUN_DIR/chk.out" 2>&1 &
    CHK_PID=$!
    disown "$CHK_PID"
    proc_register "$CHK_PID" daemon-chk
}
checker_stop() {
    [[ -n $CHK_PID ]] || return 0
    if proc_is_ours "$CHK_PID"; then
        kill -TERM "$CHK_PID" 2>/dev/null || true
        proc_wait_gone "$CHK_PID" 10 || kill -KILL -- "-$CHK_PID" 2>/dev/null || true
    fi
    CHK_PID=
}
checker_child() { [[ -n $CHK_PID ]] && ps -o pid= --ppid "$CHK_PID" 2>/dev/null | awk 'NR == 1 { print $1 }'; }

# SIGKILL to every process of the bad script in lb1's and the client's
# namespaces (the harness's cleanup, not part of any check).
bad_kill() {
    local ns p ino cmd
    for ns in $NS_LB1 $NS_CLI; do
        ino=$(stat -L -c %i "/run/netns/$ns" 2>/dev/null) || continue
        for p in $(pgrep -f "$BAD_TAG"); do
            [[ $(stat -L -c %i "/proc/$p/ns/net" 2>/dev/null) == "$ino" ]] || continue
            kill -KILL "$p" 2>/dev/null || true
        done
    done
}
# Lowest fd count of 5 readings 0.25 s apart: a script being started holds
# a pipe or two for that moment, and a start can take 0.5 s on this
# machine (see known-failures), longer than 3 readings 0.1 s apart.
fds_low() { # pid
    local r f best=
    for r in 1 2 3 4 5; do
        f=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
        [[ -n $best ]] && ((f >= best)) || best=$f
        sleep 0.25
    done
    printf '%s\n' "$best"
}
# Largest gap between consecutive runs logged in FILE within [after, before].
run_gap() { # file after before -> "max_gap runs"
    awk -v a="$2" -v b="$3" '$1 + 0 > a + 0 && $1 + 0 < b + 0 {
            if (n++) { g = $1 - last; if (g > m) m = g } last = $1 }
        END { printf "%.2f %d\n", m, n }' "$1" 2>/dev/null
}
hup_and_wait() { # side: SIGHUP, then wait for the reload's end in its log
    local before
    before=$(grep -cE 'Reload (finished|aborted)|Reloading' "$RUN_DIR/$(side_name "$1").out" 2>/dev/null || true)
    kill -HUP "${PEER_PID[$1]}" 2>/dev/null || return 1
    wait_for 10 eval "(( \$(grep -cE 'Reload (finished|aborted)|Reloading' \"$RUN_DIR/$(side_name "$1").out\") > $before ))"
}

row_scripts() {
    local ns_list mode t0 t1 w1 w2 base ok detail vchild cchild f0v f0c f1v f1c \
        left n nb p gap runs bound misc=0 ts oldest
    scripts_install
    : >"$RUN_DIR/bad-vrrp.log"
    : >"$RUN_DIR/good-vrrp.log"
    : >"$RUN_DIR/bad-misc.log"
    : >"$RUN_DIR/good-misc.log"
    scripts_conf_lb1 >"$RUN_DIR/lb1.conf"
    if ! hup_and_wait A || ! wait_for 5 test -s "$RUN_DIR/good-vrrp.log"; then
        result "scripts configured" FAIL "lb1 did not start the track scripts after a reload: $(tail -n 3 "$RUN_DIR/lb1.out" | cut -c1-200)"
        write_confs; hup_and_wait A || true
        return
    fi
    if [[ $IMPL == rs ]]; then
        checker_start
        if wait_for 5 test -s "$RUN_DIR/good-misc.log"; then misc=1
        else result "MISC_CHECK running" FAIL "no MISC_CHECK run within 5 s: $(tail -n 3 "$RUN_DIR/chk.out" | cut -c1-200)"; fi
    fi
    bound=$(calc "$SCRIPT_TIMEOUT + $SCRIPT_GRACE + 0.6")
    # The idle baseline, scripts behaving.
    sleep 1
    t0=$EPOCHREALTIME
    # Under the same watcher as the modes, so the harness's own load is in
    # the baseline too.
    # shellcheck disable=SC2086
    python3 "$FAULTS_DIR/scriptprocs.py" "$BAD_TAG" "$SCRIPT_S" $NS_LB1 >/dev/null
    base=$(advert_intervals "$IP_LB1" 51 "$t0" "$EPOCHREALTIME" | percentile "$PCT")
    info "idle p$PCT advert interval of lb1 with the scripts behaving: $base s"
    for mode in hang fork print; do
        vchild=$(node_child A)
        cchild=$(checker_child)
        f0v=$(fds_low "$vchild")
        ((misc)) && f0c=$(fds_low "$cchild")
        ns_list=$NS_LB1
        ((misc)) && ns_list+=" $NS_CLI"
        echo "$mode" >"$RUN_DIR/bad.mode"
        ts=$EPOCHREALTIME
        # The oldest process of the bad script seen while it misbehaves and
        # while what it left drains says whether the timeout killed the
        # whole group in time.
        # shellcheck disable=SC2086
        w1=$(python3 "$FAULTS_DIR/scriptprocs.py" "$BAD_TAG" "$SCRIPT_S" $ns_list)
        echo ok >"$RUN_DIR/bad.mode"
        t1=$EPOCHREALTIME
        # shellcheck disable=SC2086
        w2=$(python3 "$FAULTS_DIR/scriptprocs.py" --until-none "$BAD_TAG" "$(calc "$bound + 1")" $ns_list)
        oldest=$(printf '%s\n%s\n' "$w1" "$w2" | sed -n 's/.*oldest=\([0-9.]*\).*/\1/p' | sort -g | tail -n 1)
        left=$(printf '%s\n' "$w2" | sed -n 's/.*left=\([0-9]*\).*/\1/p')
        runs=$(awk -v a="$ts" -v b="$t1" -v m="$mode" '$1 + 0 > a + 0 && $1 + 0 < b + 0 && $3 == m' "$RUN_DIR/bad-vrrp.log" | wc -l)
        detail="oldest process of the bad script $oldest s (bound $bound s: timeout $SCRIPT_TIMEOUT + grace $SCRIPT_GRACE + 0.6); $runs vrrp_script runs"
        ((misc)) && detail+=", $(awk -v a="$ts" -v b="$t1" -v m="$mode" '$1 + 0 > a + 0 && $1 + 0 < b + 0 && $3 == m' "$RUN_DIR/bad-misc.log" | wc -l) MISC_CHECK runs"
        if ((runs > 0)) && le "$oldest" "$bound"; then result "$mode: killed at timeout with its group" PASS "$detail"
        else result "$mode: killed at timeout with its group" FAIL "$detail"; fi
        detail="$left left $(calc "$EPOCHREALTIME - $t1") s after the script behaves again (waited until none, at most $(calc "$bound + 1") s)"
        if [[ $left == 0 ]]; then result "$mode: no leaked process" PASS "$detail"
        else result "$mode: no leaked process" FAIL "$detail: $(node_leaked A)"; fi
        # What a failed check left running must not confuse the next mode
        # (nor outlive the row).
        bad_kill
        f1v=$(fds_low "$vchild")
        detail="VRRP child fds $f0v -> $f1v"
        ok=1
        [[ -n $f1v ]] && ((f1v <= f0v)) || ok=0
        if ((misc)); then
            f1c=$(fds_low "$cchild")
            detail+=", checker child $f0c -> $f1c"
            [[ -n $f1c ]] && ((f1c <= f0c)) || ok=0
        fi
        if ((ok)); then result "$mode: no fd growth" PASS "$detail"
        else result "$mode: no fd growth" FAIL "$detail"; fi
        n=$(notify_lines_between "$ts" "$EPOCHREALTIME")
        nb=$(wire_adverts "$ts" | awk -v s="$IP_LB2" '$2 == s && $4 > 0' | wc -l)
        p=$(advert_intervals "$IP_LB1" 51 "$ts" "$t1" | percentile "$PCT")
        detail="$n notify, $nb adverts from lb2; lb1 p$PCT $p s (idle $base s, allowed +$P99_TOL_MS ms)"
        if [[ $n == 0 && $nb == 0 ]] && le "$p" "$(calc "$base + $P99_TOL_MS / 1000")"; then
            result "$mode: advert timing holds" PASS "$detail"
        else result "$mode: advert timing holds" FAIL "$detail"; fi
        read -r gap runs < <(run_gap "$RUN_DIR/good-vrrp.log" "$ts" "$t1")
        detail="well-behaved vrrp_script: $runs runs, largest gap $gap s (interval $SCRIPT_INTERVAL s, allowed +$(slack_for 1) s)"
        ok=1
        le "$gap" "$(calc "$SCRIPT_INTERVAL + $(slack_for 1)")" && ((runs >= 2)) || ok=0
        if ((misc)); then
            read -r gap runs < <(run_gap "$RUN_DIR/good-misc.log" "$ts" "$t1")
            detail+="; well-behaved MISC_CHECK: $runs runs, largest gap $gap s (delay_loop $SCRIPT_INTERVAL s)"
            le "$gap" "$(calc "$SCRIPT_INTERVAL + $(slack_for 1)")" && ((runs >= 2)) || ok=0
        fi
        if ((ok)); then result "$mode: schedule holds" PASS "$detail"
        else result "$mode: schedule holds" FAIL "$detail"; fi
    done
    checker_stop
    write_confs
    hup_and_wait A || result "scripts removed" FAIL "lb1 did not reload the plain configuration"
    sleep "$(calc "$SCRIPT_TIMEOUT + $SCRIPT_GRACE")"
}
