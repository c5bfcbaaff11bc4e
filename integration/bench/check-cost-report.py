#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Reads the RESULT lines of integration/vm/check-cost.sh (stdin) and
prints each implementation's cost and the ratios ours / keepalived's."""
import sys

r = {}
for line in sys.stdin:
    f = line.split()
    if len(f) == 4 and f[0] == "RESULT":
        r.setdefault(f[1], {})[f[2]] = float(f[3])
rows = {}
for impl, v in sorted(r.items()):
    cpu = v["cpu_ticks"] / v.get("clk_tck", 100)
    per_k = cpu / (v["checks"] / 1000) if v["checks"] else float("nan")
    added = (v["check_pss_kb"] - v["baseline_pss_kb"]) / 1024
    rows[impl] = (per_k, added)
    split = ""
    if "user_ticks" in v and v["checks"]:
        k = v["checks"] / 1000
        hz = v.get("clk_tck", 100)
        u, s = v["user_ticks"] / hz / k, v["sys_ticks"] / hz / k
        split = f" (user {u:.3f} + system {s:.3f})"
        rows[impl] = (per_k, added, u, s)
    print(
        f"{impl}: {v['checks']:.0f} checks seen in {v['window_s']:.1f} s "
        f"(the configuration calls for {v['expected_checks'] * v['window_s'] / v.get('window_cfg', v['window_s']):.0f}); "
        f"{cpu:.2f} CPU-s, {per_k:.3f} CPU-s per 1000 checks{split}; "
        f"Pss {v['baseline_pss_kb'] / 1024:.1f} -> {v['check_pss_kb'] / 1024:.1f} MB "
        f"(+{added:.1f} MB for the checkers); real servers in the table at the end: "
        f"{v['alive_at_end']:.0f}"
    )
if "ka" in rows and "rs" in rows:
    cpu_ratio = rows["rs"][0] / rows["ka"][0]
    pss = f"{rows['rs'][1]:.1f} MB vs {rows['ka'][1]:.1f} MB"
    print(f"ours / keepalived: CPU per check {cpu_ratio:.2f}x; Pss the checkers add {pss}")
    if len(rows["rs"]) == 4 and len(rows["ka"]) == 4:
        print(
            f"ours / keepalived: user CPU per check {rows['rs'][2] / rows['ka'][2]:.2f}x, "
            f"system CPU per check {rows['rs'][3] / rows['ka'][3]:.2f}x"
        )
