#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Reads what integration/vm/check-timing.sh left in a payload directory
and prints, per implementation:

* detection: for each kill of the backend, the last refused probe (a SYN
  to the real server answered by a RST, from the lo capture) before the
  DEL_DEST request the daemon sent (nlmon capture), the gap between the
  two, and kill -> DEL_DEST against the retry bound
  (delay_loop + retry x delay_before_retry, plus the probes' own time);
* schedule: the intervals between successive probe starts at each
  healthy target (accept log), minus delay_loop, in the steady window and
  in the window after half of the targets were black-holed: p50, p99, max.

Usage: check-timing-report.py WORK DELAY_LOOP RETRY DELAY_BEFORE_RETRY
"""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from importlib import import_module  # noqa: E402

scale = import_module("ipvs-scale-report")

BH_DELAY_LOOP = 5.0


def dest_changes(path):
    """[(timestamp, 'DEL_DEST' | 'NEW_DEST' | ...)] requests of the IPVS family."""
    recs = []
    for ts, proto, pkt in scale.timed_records(path):
        if proto != scale.NETLINK_GENERIC:
            continue
        for m in scale.messages(pkt):
            recs.append((ts, m))
    fid = scale.ipvs_family_id([m for _, m in recs])
    reqs = [(ts, t, c) for ts, (t, f, c, _) in recs if t > scale.GENL_ID_CTRL and f & scale.NLM_F_REQUEST]
    if fid is None and reqs:
        fid = collections.Counter(t for _, t, _ in reqs).most_common(1)[0][0]
    return [(ts, scale.CHANGES[c]) for ts, t, c in reqs if t == fid and c in scale.CHANGES]


def refused_probes(path):
    """Timestamps of SYNs to port 30000 that a RST answered."""
    syns, refused = [], []
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) < 6 or p[1] != "IP":
                continue
            ts, src, dst = float(p[0]), p[2], p[4].rstrip(":")
            flags = line.split("Flags [", 1)[1].split("]", 1)[0] if "Flags [" in line else ""
            if dst.endswith(".30000") and flags == "S":
                syns.append((ts, src))
            elif src.endswith(".30000") and "R" in flags:
                # The RST goes back to the SYN's source port.
                for s_ts, s_src in reversed(syns):
                    if s_src == dst:
                        refused.append(s_ts)
                        break
    return sorted(set(refused))


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def detection(work, impl, bound):
    kills = []
    with open(os.path.join(work, f"kills-{impl}.txt")) as f:
        for line in f:
            kills.append(float(line.split()[3]))
    dels = [ts for ts, c in dest_changes(os.path.join(work, f"nl-{impl}.pcap")) if c == "DEL_DEST"]
    refused = refused_probes(os.path.join(work, f"lo-{impl}.txt"))
    gaps, totals, fails = [], [], []
    for k in kills:
        d = next((ts for ts in dels if ts >= k), None)
        if d is None:
            print(f"{impl}: no DEL_DEST after the kill at {k:.3f}")
            continue
        before = [r for r in refused if k <= r <= d]
        if not before:
            print(f"{impl}: no refused probe between the kill at {k:.3f} and its DEL_DEST")
            continue
        gaps.append((d - before[-1]) * 1000)
        totals.append(d - k)
        fails.append(len(before))
    return gaps, totals, fails


def schedule(work, impl, res):
    steady, bh, end = (float(res[impl][k]) for k in ("steady_from", "blackhole_at", "end_at"))
    starts = collections.defaultdict(list)
    with open(os.path.join(work, f"accept-{impl}.log")) as f:
        for line in f:
            p = line.split()
            if len(p) == 2:
                starts[p[1]].append(float(p[0]))
    before, after = [], []
    for target, ts in starts.items():
        # Only the half that stays reachable (198.51.100.1-10).
        host = target.rsplit(":", 1)[0]
        if int(host.rsplit(".", 1)[1]) > 100:
            continue
        ts.sort()
        for a, b in zip(ts, ts[1:]):
            late = (b - a - BH_DELAY_LOOP) * 1000
            if steady <= b < bh:
                before.append(late)
            elif bh <= b < end:
                after.append(late)
    return before, after


def main():
    work, dl, r, dbr = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    bound = dl + r * dbr
    res = collections.defaultdict(dict)
    for name in os.listdir(work):
        if name.startswith("vm-") and name.endswith(".log"):
            with open(os.path.join(work, name)) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 4 and p[0] == "RESULT":
                        res[p[1]][p[2]] = p[3]
    names = {"ka": "keepalived 2.2.7", "rs": "keepalived-rs"}
    det, sch = {}, {}
    for impl in ("ka", "rs"):
        if impl not in res:
            continue
        gaps, totals, fails = detection(work, impl, bound)
        det[impl] = (gaps, totals, fails)
        print(
            f"{names[impl]} detection ({len(gaps)} kills): last refused probe -> DEL_DEST "
            f"median {pct(gaps, 0.5):.1f} ms, max {max(gaps, default=float('nan')):.1f} ms; "
            f"kill -> DEL_DEST median {pct(totals, 0.5):.3f} s, max {max(totals, default=float('nan')):.3f} s "
            f"(bound delay_loop + retry x delay_before_retry = {bound:g} s plus the probes); "
            f"refused probes per kill: {sorted(set(fails))}"
        )
        before, after = schedule(work, impl, res)
        sch[impl] = (before, after)
        print(
            f"{names[impl]} schedule of the 500 healthy targets, probe interval - delay_loop: "
            f"steady ({len(before)} intervals) p50 {pct(before, 0.5):.1f} ms p99 {pct(before, 0.99):.1f} ms "
            f"max {max(before, default=float('nan')):.1f} ms; half black-holed ({len(after)}) "
            f"p50 {pct(after, 0.5):.1f} ms p99 {pct(after, 0.99):.1f} ms max {max(after, default=float('nan')):.1f} ms; "
            f"real servers left in the table: {res[impl].get('left_in_table', '?')} of 1000"
        )
    if "ka" in det and "rs" in det:
        ka, rs = det["ka"], det["rs"]
        print(
            f"ours / keepalived: detection gap median {pct(rs[0], 0.5):.1f} / {pct(ka[0], 0.5):.1f} ms; "
            f"kill -> DEL_DEST median {pct(rs[1], 0.5):.3f} / {pct(ka[1], 0.5):.3f} s; "
            f"p99 lateness with half black-holed {pct(sch['rs'][1], 0.99):.1f} / {pct(sch['ka'][1], 0.99):.1f} ms"
        )


if __name__ == "__main__":
    main()
