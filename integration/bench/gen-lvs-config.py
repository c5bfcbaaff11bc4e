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

--check-delay D gives every real server a TCP_CHECK (delay_loop D, its
first run spread over one delay_loop), for the start with 100 000
checkers. Every checker has a target of its own (connect_port 20000 + the
service's index, on the real server's address), so no probe is shared:
backends are tcp_sink on ports 20000.. of 198.51.100.1-RS.
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


def checker(delay, port):
    return (
        f"    TCP_CHECK {{\n      connect_port {port}\n      connect_timeout 5\n"
        f"      delay_loop {delay:g}\n      warmup {delay:g}\n"
        "      retry 1\n      delay_before_retry 1\n    }\n"
    )


def write(path, svcs, rs, changed=None, check_delay=None):
    with open(path, "w") as f:
        f.write("global_defs {\n  router_id ipvs_scale\n}\n")
        for i, (vip, port) in enumerate(svcs):
            f.write(f"virtual_server {vip} {port} {{\n")
            f.write("  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n")
            for r in range(1, rs + 1):
                weight = 1
                if changed == (vip, port, r):
                    weight = 7
                f.write(f"  real_server 198.51.100.{r} {port} {{\n    weight {weight}\n")
                if check_delay:
                    f.write(checker(check_delay, 20000 + i))
                f.write("  }\n")
            f.write("}\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--real-servers", type=int, default=10)
    ap.add_argument("--out", required=True)
    ap.add_argument("--check-delay", type=float)
    a = ap.parse_args()
    if a.check_delay and a.services > 45535:
        raise SystemExit("--check-delay: at most 45 535 services (connect ports 20000..65534)")
    if not 1 <= a.real_servers <= 254:
        raise SystemExit("--real-servers: 1..254")
    svcs = list(services(a.services))
    mid = svcs[len(svcs) // 2]
    changed = (mid[0], mid[1], 1)
    write(os.path.join(a.out, "big.conf"), svcs, a.real_servers, None, a.check_delay)
    write(os.path.join(a.out, "big-reload.conf"), svcs, a.real_servers, changed, a.check_delay)
    last = svcs[-1]
    with open(os.path.join(a.out, "probe.env"), "w") as f:
        f.write(f"LAST_VS={last[0]}:{last[1]}\n")
        f.write(f"LAST_RS=198.51.100.{a.real_servers}:{last[1]}\n")
        f.write(f"CHANGED_VS={mid[0]}:{mid[1]}\n")
        f.write(f"CHANGED_RS=198.51.100.1:{mid[1]}\n")
        f.write("NEW_WEIGHT=7\n")
        f.write(f"SERVICES={len(svcs)}\n")
        f.write(f"DESTS={len(svcs) * a.real_servers}\n")
        f.write(f"CHECK_DELAY={f'{a.check_delay:g}' if a.check_delay else ''}\n")
        f.write(f"REAL_SERVERS={a.real_servers}\n")


if __name__ == "__main__":
    main()
