#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Does `keepalived-rs status --detail --json` say what the kernel's IPVS table
shows? Reads one checkpoint directory of a keepalived-rs run of
check-compare (status.json and ipvs, taken one right after the other once
the checkpoint had settled) and prints one line: "ok N real servers ..."
or "FAIL ..." with every disagreement; exits 1 on any.

For every virtual server of the status and each of its real servers:
  quorum up (or no sorry server in use): alive -> in the table with the
    status's effective weight; down with inhibit_on_failure -> in the
    table with weight 0; down otherwise -> not in the table;
  sorry server in use: no real server in the table, the sorry server is.
A virtual server is found in the table by its name ([ADDR]:PROTO:PORT,
FWM N); a virtual_server group (any other name) owns the table's services
no other virtual server claims.
"""
import json
import re
import sys

PROTO = {"tcp": "-t", "udp": "-u", "sctp": "--sctp-service", "none": "-f"}


def table(path):
    """{service: {real: weight}} from `ipvsadm -Sn` lines."""
    services = {}
    for line in open(path):
        m = re.match(r"-A (-t|-u|-f|--sctp-service) (\S+)", line)
        if m:
            services.setdefault(f"{m[1]} {m[2]}", {})
            continue
        m = re.match(r"-a (-t|-u|-f|--sctp-service) (\S+) -r (\S+) .*-w (\d+)", line)
        if m:
            services.setdefault(f"{m[1]} {m[2]}", {})[m[3]] = int(m[4])
    return services


def endpoint(name):
    """[ADDR]:PROTO:PORT -> (ipvsadm's PROTO flag, ADDR:PORT as it prints
    it); None for another shape."""
    # A fwmark service's real servers have no protocol ("none").
    m = re.fullmatch(r"\[([^\]]+)\]:(tcp|udp|sctp|none):(\d+)", name)
    if not m:
        return None
    addr = f"[{m[1]}]" if ":" in m[1] else m[1]
    return PROTO[m[2]], f"{addr}:{m[3]}"


def service_of(vs_name):
    e = endpoint(vs_name)
    if e:
        return f"{e[0]} {e[1]}"
    m = re.fullmatch(r"FWM (\d+)", vs_name)
    return f"-f {m[1]}" if m else None


def real_key(rs_name, fwmark):
    e = endpoint(rs_name)
    if not e:
        return None
    # A fwmark service's real servers carry port 0 in the table.
    return re.sub(r":\d+$", ":0", e[1]) if fwmark else e[1]


def main(cp):
    try:
        status = json.load(open(f"{cp}/status.json"))
        vss = status["checker"]["virtual_servers"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"FAIL no checker status in status.json ({type(e).__name__}: {e})")
        return 1
    tab = table(f"{cp}/ipvs")
    claimed = {service_of(v["name"]) for v in vss} - {None}
    problems, compared = [], 0
    for vs in vss:
        svc = service_of(vs["name"])
        owned = [svc] if svc else [s for s in tab if s not in claimed]
        reals = {}
        for s in owned:
            if s not in tab:
                problems.append(f"{vs['name']}: service {s} not in the table")
            reals.update(tab.get(s, {}))
        fwmark = bool(svc and svc.startswith("-f"))
        sorry = vs.get("sorry_active")
        for rs in vs["real_servers"]:
            key = real_key(rs["name"], fwmark)
            if key is None:
                problems.append(f"{vs['name']}: real server name {rs['name']!r} not understood")
                continue
            compared += 1
            if sorry:
                want = None
            elif rs["alive"]:
                want = rs["effective_weight"]
            elif rs["inhibit_on_failure"]:
                want = 0
            else:
                want = None
            got = reals.get(key)
            if got != want:
                state = "alive" if rs["alive"] else "down"
                problems.append(
                    f"{vs['name']} {rs['name']}: status {state} weight {rs['effective_weight']}"
                    f"{' (sorry server in use)' if sorry else ''} -> want {want}, table has {got}")
        if sorry:
            key = real_key(vs.get("sorry_server") or "", fwmark)
            if key not in reals:
                problems.append(f"{vs['name']}: sorry server {vs.get('sorry_server')} in use but not in the table")
    if compared == 0:
        problems.append("no real server compared")
    if problems:
        print("FAIL " + "; ".join(problems))
        return 1
    print(f"ok {compared} real servers as the table shows them")
    return 0


sys.exit(main(sys.argv[1]))
