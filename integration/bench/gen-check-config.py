#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Configurations for the checker cost benchmark (check-cost.sh).

SERVICES virtual servers (192.0.2.1, ports 10000..) x RS real servers
(198.51.100.1..RS), each real server with one checker of KIND (tcp:
TCP_CHECK, http: HTTP_GET, ssl: SSL_GET without certificate checks, as
keepalived does it when no SSL block is given). Distinct targets: virtual server i checks its
real servers on port 20000+i, so every probe goes to its own (address,
port). --shared: every virtual server checks port 20000, so the same RS
targets appear in every virtual server (what de-duplication saves).

Writes check.conf, nocheck.conf (the same table without checkers: the
baseline for the memory the checkers add) and bench.env.
"""
import argparse
import os

p = argparse.ArgumentParser()
p.add_argument("--services", type=int, default=1000)
p.add_argument("--real-servers", type=int, default=10)
p.add_argument("--kind", choices=["tcp", "http", "ssl"], default="tcp")
p.add_argument("--shared", action="store_true")
p.add_argument("--delay-loop", type=float, default=10)
p.add_argument("--out", required=True)
a = p.parse_args()


def checker(port):
    common = (
        f"            connect_port {port}\n"
        "            connect_timeout 3\n"
        f"            delay_loop {a.delay_loop:g}\n"
        "            retry 1\n"
        "            delay_before_retry 1\n"
        # The first checks spread over one delay_loop (keepalived's
        # default warmup) for both daemons, so the load is even.
        f"            warmup {a.delay_loop:g}\n"
    )
    if a.kind == "tcp":
        return "        TCP_CHECK {\n" + common + "        }\n"
    block = "HTTP_GET" if a.kind == "http" else "SSL_GET"
    return (
        f"        {block} {{\n" + common +
        "            url {\n                path /\n                status_code 200\n            }\n"
        "        }\n"
    )


def write(path, with_checks):
    with open(path, "w") as f:
        for i in range(a.services):
            port = 20000 if a.shared else 20000 + i
            f.write(f"virtual_server 192.0.2.1 {10000 + i} {{\n"
                    "    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n")
            for j in range(a.real_servers):
                f.write(f"    real_server 198.51.100.{j + 1} {port} {{\n        weight 1\n")
                if with_checks:
                    f.write(checker(port))
                f.write("    }\n")
            f.write("}\n")


os.makedirs(a.out, exist_ok=True)
write(os.path.join(a.out, "check.conf"), True)
write(os.path.join(a.out, "nocheck.conf"), False)
ports = 1 if a.shared else a.services
with open(os.path.join(a.out, "bench.env"), "w") as f:
    f.write(f"SERVICES={a.services}\nRS={a.real_servers}\nKIND={a.kind}\n"
            f"SINK_PORTS={ports}\nDELAY_LOOP={a.delay_loop:g}\n"
            f"CHECKS={a.services * a.real_servers}\n")
