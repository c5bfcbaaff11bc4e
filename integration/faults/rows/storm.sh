# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "storm": a third host floods the master, then the backup, with junk
# adverts (each one defect away from valid, claiming priority 254) and
# with replays of the pair's own adverts (equal or lower priority than
# the master's: a higher one would legitimately win), STORM_S seconds
# each, as fast as storm.py sends. Must hold: no state change (no notify
# and no advert from the backup during the storm or one master-down after
# it), the pair whole afterwards, the junk counted by the target, the
# master's p99 advert interval no later than the idle p99 + P99_TOL_MS,
# no more adverts from the master than its interval calls for, and no
# more than LOG_PER_S log lines a second from the target.

ROW_WHAT_storm="junk and replayed adverts at the master, then the backup"

JUNK=cksum,ttl,version,type,count,short,vrid,auth
REPLAY=replay-master,replay-backup

# Which counter of each implementation's dump must rise for each junk
# class ("-": the dump has none for it). keepalived-rs: keepalived.json
# (instance VI_1 unless said); keepalived: keepalived.stats (USR2).
declare -A COUNTER_rs=([cksum]=checksum_err [ttl]=ip_ttl_err [version]=version_err
    [type]=invalid_type_rcvd [count]=packet_len_err [short]=- [vrid]=- [auth]=VI_3:auth_failure)
declare -A COUNTER_ka=([cksum]=- [ttl]=Packet_Errors.TTL [version]=- [type]=Packet_Errors.Invalid_Type
    [count]=Packet_Errors.Length [short]=- [vrid]=- [auth]=VI_3:Authentication_Errors.Failure)

# node_counters SIDE OUT: the side's receive counters ("inst key value").
node_counters() {
    local side=$1 out=$2 name dir sig file
    name=$(side_name "$side")
    dir=$RUN_DIR/$name.tmp
    if [[ $IMPL == rs ]]; then sig=RTMIN+2 file=keepalived.json; else sig=USR2 file=keepalived.stats; fi
    rm -f "$dir/$file"
    kill -s "$sig" "${PEER_PID[$side]}" 2>/dev/null || true
    if ! wait_for 3 test -s "$dir/$file"; then : >"$out"; return 1; fi
    sleep 0.05
    python3 "$FAULTS_DIR/counters.py" "$dir/$file" >"$out"
}
counter_delta() { # before after inst:key|key -> after - before (VI_1 by default)
    local inst=VI_1 key=$3
    [[ $key == *:* ]] && { inst=${key%%:*}; key=${key#*:}; }
    awk -v i="$inst" -v k="$key" 'FNR == NR { if ($1 == i && $2 == k) b = $3; next }
        $1 == i && $2 == k { a = $3; f = 1 } END { if (f) print a - b; else print "-" }' "$1" "$2"
}

# Datagrams the kernel dropped at a side's VRRP raw sockets (receive
# buffer full): /proc/net/raw's last column, for protocol 112 (0x70).
raw_drops() { # side
    ip netns exec "$(side_ns "$1")" cat /proc/net/raw 2>/dev/null |
        awk 'NR > 1 && $2 ~ /:0070$/ { d += $NF } END { print d + 0 }'
}

# The same per socket, as "inode drops" lines, and the drops between two
# such readings as "fd:drops" per socket that dropped any (fd of the
# daemon process holding it: ours opens a receiver's adverts socket just
# before its rejects socket, so the lower fd of a pair is the adverts').
raw_drops_each() { # side
    ip netns exec "$(side_ns "$1")" cat /proc/net/raw 2>/dev/null |
        awk 'NR > 1 && $2 ~ /:0070$/ { print $10, $NF }'
}
raw_drops_delta() { # before-lines after-lines
    local inode d fd
    while read -r inode d; do
        d=$((d - $(awk -v i="$inode" '$1 == i { print $2; f = 1 } END { if (!f) print 0 }' <<<"$1")))
        ((d > 0)) || continue
        fd=$(find /proc/[0-9]*/fd -lname "socket:\[$inode\]" 2>/dev/null | head -1)
        printf ' fd%s:%s' "${fd##*/}" "$d"
    done <<<"$2"
}

notify_lines_between() { # after before
    awk -v a="$1" -v b="$2" '$1 + 0 > a + 0 && $1 + 0 < b + 0' "$RUN_DIR/notify.log" | wc -l
}

row_storm() {
    local t0 t1 base target side mac kind classes before after out ts te n p99 nb \
        pps kd0 kdeach0 state_ok drops detail c cnt d missing ref want log0 logn lmax sample
    # The idle baseline: the master's advert intervals with nothing else on.
    t0=$EPOCHREALTIME
    sleep "$STORM_S"
    t1=$EPOCHREALTIME
    base=$(advert_intervals "$IP_LB1" 51 "$t0" "$t1" | percentile "$PCT")
    info "idle p$PCT advert interval of lb1 (vrid 51): $base s over $STORM_S s"
    for target in master backup; do
        if [[ $target == master ]]; then side=A; else side=B; fi
        mac=$(side_mac "$side")
        for kind in junk replay; do
            if [[ $kind == junk ]]; then classes=$JUNK; else classes=$REPLAY; fi
            before=$RUN_DIR/storm-$target-$kind.before
            after=$RUN_DIR/storm-$target-$kind.after
            node_counters "$side" "$before" || true
            log0=$(wc -l <"$RUN_DIR/$(side_name "$side").out")
            kd0=$(raw_drops "$side")
            kdeach0=$(raw_drops_each "$side")
            ts=$EPOCHREALTIME
            out=$(ip netns exec "$NS_ATK" python3 "$FAULTS_DIR/storm.py" "$IFACE" "$mac" "$STORM_S" "$classes" "$STORM_RATE" 2>&1) || true
            te=$EPOCHREALTIME
            printf '%s %s %s\n' "$target" "$kind" "$out" >>"$RUN_DIR/storm.log"
            pps=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["pps"])' "$out" 2>/dev/null || echo 0)
            if ((pps == 0)); then
                # No storm, no evidence: every check of this storm fails.
                result "$target $kind: storm sent" FAIL "storm.py: ${out:0:200}"
                continue
            fi
            # A state change shows within one master-down of the storm's end.
            sleep "$(calc "$MD_B + $(slack_for "$ADV")")"
            n=$(notify_lines_between "$ts" "$EPOCHREALTIME")
            nb=$(wire_adverts "$ts" | awk -v s="$IP_LB2" '$2 == s && $4 > 0' | wc -l)
            state_ok=1
            [[ $n == 0 && $nb == 0 ]] || state_ok=0
            local smsg=""
            settle "$(calc "$MD_B + $(slack_for "$ADV")")" || { state_ok=0; smsg="; $SETTLE_MSG"; }
            detail="$pps frames/s for $(calc "$te - $ts") s; $n notify, $nb adverts from lb2; kernel dropped $(($(raw_drops "$side") - kd0)) at $(side_name "$side")'s full VRRP sockets (by socket:$(raw_drops_delta "$kdeach0" "$(raw_drops_each "$side")")); $(pair_state)$smsg"
            if ((state_ok)); then result "$target $kind: no state change" PASS "$detail"
            else result "$target $kind: no state change" FAIL "$detail"; fi
            p99=$(advert_intervals "$IP_LB1" 51 "$ts" "$te" | percentile "$PCT")
            cnt=$(wire_adverts "$ts" "$te" | awk -v s="$IP_LB1" '$2 == s && $3 == 51' | wc -l)
            detail="p$PCT $p99 s (idle $base s, allowed +$P99_TOL_MS ms)"
            if le "$p99" "$(calc "$base + $P99_TOL_MS / 1000")"; then result "$target $kind: master advert interval not later" PASS "$detail"
            else result "$target $kind: master advert interval not later" FAIL "$detail"; fi
            # Extra adverts are a disturbance too: one storm frame must not
            # make the master send one advert (a reflection to the group).
            want=$(calc "($te - $ts) / $ADV")
            detail="$cnt adverts from lb1 in $(calc "$te - $ts") s (periodic: $(printf '%.0f' "$want")); p01 interval $(advert_intervals "$IP_LB1" 51 "$ts" "$te" | percentile 1) s"
            if le "$cnt" "$(calc "$want * 1.1 + 2")"; then result "$target $kind: no extra adverts" PASS "$detail"
            else result "$target $kind: no extra adverts" FAIL "$detail"; fi
            [[ $kind == junk ]] || continue
            # A flood must not flood the log: lines the target wrote during
            # the storm and the master-down after it (LOG_PER_S a second).
            logn=$(($(wc -l <"$RUN_DIR/$(side_name "$side").out") - log0))
            lmax=$(awk -v d="$(calc "$EPOCHREALTIME - $ts")" -v r="$LOG_PER_S" 'BEGIN { printf "%d", d * r + 5 }')
            sample=$(tail -n +"$((log0 + 1))" "$RUN_DIR/$(side_name "$side").out" | grep -m1 -iE 'drop|invalid|wrong|error|ttl|checksum|passwd|length' | cut -c1-100)
            detail="$logn lines (allowed $lmax); first: ${sample:-none}"
            if ((logn <= lmax)); then result "$target junk: log not flooded" PASS "$detail"
            else result "$target junk: log not flooded" FAIL "$detail"; fi
            node_counters "$side" "$after" || true
            drops="" missing=""
            for c in ${JUNK//,/ }; do
                ref="COUNTER_${IMPL}[$c]"
                # Mutation "counter" (--selftest): a counter that never rises.
                mutated counter && [[ $c == cksum ]] && ref=MUTANT_COUNTER
                if [[ ${!ref} == - ]]; then drops+=" $c:n/a"; continue; fi
                d=$(counter_delta "$before" "$after" "${!ref}")
                drops+=" $c:+$d"
                [[ $d != - ]] && ((d > 0)) || missing+=" $c"
            done
            detail="rose:${drops} (n/a: no counter in the dump)"
            if [[ -z $missing ]]; then result "$target junk: drops counted" PASS "$detail"
            else result "$target junk: drops counted" FAIL "not counted:$missing;$detail"; fi
        done
    done
}
