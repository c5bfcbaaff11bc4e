#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Writes the IPVS scale benchmark's configs into --out:

big.conf         SERVICES virtual servers (TCP, rr, NAT) with RS real
                 servers each, no checkers; addresses and ports ascend in
                 config order, so the last one in the file is also the
                 last one either daemon adds.
big-reload.conf  the same with one real server's weight changed (in the
                 middle of the file).
probe.env        shell variables naming the last service and real server
                 and the changed one, for integration/vm/lvs-scale.sh.
"""

import argparse
import os

PORTS_PER_VIP = 250


def services(n):
    """(vip, port) for n services: 192.0.2.1.. with 250 ports each."""
    for i in range(n):
        vip = i // PORTS_PER_VIP + 1
        if vip > 254:
            raise SystemExit("at most 63 500 services (192.0.2.1-254 x 250 ports)")
        yield f"192.0.2.{vip}", 1000 + i % PORTS_PER_VIP


def write(path, svcs, rs, changed=None):
    with open(path, "w") as f:
        f.write("global_defs {\n  router_id ipvs_scale\n}\n")
        for vip, port in svcs:
            f.write(f"virtual_server {vip} {port} {{\n")
            f.write("  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n")
            for r in range(1, rs + 1):
                weight = 1
                if changed == (vip, port, r):
                    weight = 7
                f.write(f"  real_server 198.51.100.{r} {port} {{\n    weight {weight}\n  }}\n")
            f.write("}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--real-servers", type=int, default=10)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not 1 <= a.real_servers <= 254:
        raise SystemExit("--real-servers: 1..254")
    svcs = list(services(a.services))
    mid = svcs[len(svcs) // 2]
    changed = (mid[0], mid[1], 1)
    write(os.path.join(a.out, "big.conf"), svcs, a.real_servers)
    write(os.path.join(a.out, "big-reload.conf"), svcs, a.real_servers, changed)
    last = svcs[-1]
    with open(os.path.join(a.out, "probe.env"), "w") as f:
        f.write(f"LAST_VS={last[0]}:{last[1]}\n")
        f.write(f"LAST_RS=198.51.100.{a.real_servers}:{last[1]}\n")
        f.write(f"CHANGED_VS={mid[0]}:{mid[1]}\n")
        f.write(f"CHANGED_RS=198.51.100.1:{mid[1]}\n")
        f.write("NEW_WEIGHT=7\n")
        f.write(f"SERVICES={len(svcs)}\n")
        f.write(f"DESTS={len(svcs) * a.real_servers}\n")


if __name__ == "__main__":
    main()
