# SPDX-License-Identifier: Apache-2.0 OR MIT
# shellcheck shell=bash
# ROW_WHAT_* and the tables are read by ../run.
# shellcheck disable=SC2034
# Row "growth": the four daemon processes (lb1/lb2 x parent/VRRP child)
# read from /proc when the pair first settled and again after every row
# that leaves them running (storm, flap, partition, reload; the kill row
# comes after, since it replaces them). Must hold for ours: the same
# processes (nothing restarted), no more open fds, no more threads, and
# anonymous memory (RssAnon: heap and mmap'd allocations, what a leak
# grows) grown by at most GROWTH_RSS_KB. The whole resident set is shown,
# not judged: its file-backed part drops when a daemon hands back the
# pages of its start-up code after an apply, which would hide a leak.
#
# Mutation "growth" (--selftest): the runner plants a leak of twice the
# allowance in lb1's VRRP child right after the first reading
# (plant_leak), before the reload row's applies; this check must see it.

ROW_WHAT_growth="fd / thread / memory growth of the daemons across the rows"

row_growth() { # before-file after-file
    local before=$1 after=$2 label p0 f0 t0 a0 r0 p1 f1 t1 a1 r1 bad="" detail=""
    while read -r label p0 f0 t0 a0 r0; do
        read -r _ p1 f1 t1 a1 r1 < <(awk -v l="$label" '$1 == l' "$after")
        if [[ $p0 == - || $p1 == - || $f1 == - || $a1 == - ]]; then
            bad+=" $label: not running at the second reading (ended in an earlier row);"
            continue
        fi
        if [[ $p1 != "$p0" ]]; then
            bad+=" $label: replaced (pid $p0 -> $p1);"
            continue
        fi
        detail+=" $label fds $f0->$f1 thr $t0->$t1 anon ${a0}->${a1} kB (rss ${r0}->${r1});"
        ((f1 <= f0)) || bad+=" $label fds +$((f1 - f0));"
        ((t1 <= t0)) || bad+=" $label threads +$((t1 - t0));"
        ((a1 - a0 <= GROWTH_RSS_KB)) || bad+=" $label anon +$((a1 - a0)) kB;"
    done <"$before"
    if [[ -z $bad ]]; then
        result "no fd, thread or memory growth" PASS "${detail# } (anon allowance $GROWTH_RSS_KB kB)"
    else
        result "no fd, thread or memory growth" FAIL "${bad# }${detail}"
    fi
}
