#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The client side of status-cost.sh.

  status-cost.py wait SOCK vrrp-masters N    until N instances are MASTER
  status-cost.py wait SOCK virtual-servers N until the checker reports N
  status-cost.py status SOCK N [VIEW [PID...]]
                                             N status requests, one after the
                                             other, each on a fresh connection
                                             (as `keepalived-rs status` does);
                                             VIEW: detail (the default, the
                                             whole table) or summary; with
                                             PIDs (the supervisor, then the
                                             child), the CPU time each spent
                                             per request, less its idle CPU
  status-cost.py scrape PORT N PID...        N scrapes of /metrics one after
                                             the other, and the CPU time the
                                             daemon's processes (PIDs, all
                                             threads) spent meanwhile, less
                                             what they spend idle for as long

Prints one "RESULT key=value ..." line.
"""
import json
import os
import socket
import sys
import time
import urllib.request


def ask(sock_path, view="detail"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(sock_path)
    s.sendall(json.dumps({"version": 1, "cmd": "status", "view": view}).encode() + b"\n")
    chunks = []
    while True:
        b = s.recv(1 << 20)
        if not b:
            break
        chunks.append(b)
        if b.endswith(b"\n"):
            break
    s.close()
    return b"".join(chunks)


def pct(sorted_ms, p):
    i = max(1, min(len(sorted_ms), int(-(-len(sorted_ms) * p // 1)))) - 1
    return sorted_ms[i]


def wait(sock_path, what, n):
    until = time.time() + 600
    while time.time() < until:
        try:
            v = json.loads(ask(sock_path))["result"]
        except (OSError, ValueError, KeyError):
            time.sleep(0.5)
            continue
        if what == "vrrp-masters":
            got = sum(1 for i in (v.get("vrrp") or {}).get("instances", []) if i.get("state") == "MASTER")
        else:
            got = len((v.get("checker") or {}).get("virtual_servers", []))
        if got >= n:
            print(f"INFO {what}: {got}")
            return
        time.sleep(0.5)
    sys.exit(f"status-cost: {what} never reached {n}")


def status(sock_path, n, view, pids):
    ms, size = [], 0
    c0, t0 = [cpu_s([p]) for p in pids], time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        answer = ask(sock_path, view)
        ms.append((time.perf_counter() - t) * 1e3)
        if not answer.startswith(b'{"version":1,"ok":true'):
            sys.exit(f"status-cost: bad answer {answer[:200]!r}")
        size = len(answer)
    busy = [cpu_s([p]) - c for p, c in zip(pids, c0)]
    wall = time.perf_counter() - t0
    cpu = ""
    if pids:
        # Idle CPU over at most 5 s, scaled to the run's length.
        quiet = min(wall, 5.0)
        c1 = [cpu_s([p]) for p in pids]
        time.sleep(quiet)
        idle = [(cpu_s([p]) - c) * wall / quiet for p, c in zip(pids, c1)]
        cpu = " cpu_ms_per_request=" + "+".join(
            f"{(b - i) * 1e3 / n:.2f}" for b, i in zip(busy, idle))
    ms.sort()
    print(f"RESULT view={view} requests={n} bytes={size} p50_ms={pct(ms, 0.5):.2f} "
          f"p99_ms={pct(ms, 0.99):.2f} max_ms={ms[-1]:.2f}{cpu}")


def cpu_s(pids):
    """utime + stime of every thread of PIDS, in seconds."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / tick


def scrape(port, n, pids):
    url = f"http://127.0.0.1:{port}/metrics"
    ms, size, series = [], 0, 0
    c0, t0 = cpu_s(pids), time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        with urllib.request.urlopen(url, timeout=60) as r:
            body = r.read()
        ms.append((time.perf_counter() - t) * 1e3)
        size = len(body)
    busy_cpu, wall = cpu_s(pids) - c0, time.perf_counter() - t0
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    c1 = cpu_s(pids)
    time.sleep(wall)
    idle_cpu = cpu_s(pids) - c1
    ms.sort()
    print(f"RESULT scrapes={n} bytes={size} series={series} p50_ms={pct(ms, 0.5):.1f} "
          f"p99_ms={pct(ms, 0.99):.1f} cpu_ms_per_scrape={(busy_cpu - idle_cpu) * 1e3 / n:.1f} "
          f"idle_cpu_ms={idle_cpu * 1e3:.0f} over {wall:.1f}s")


def main():
    cmd = sys.argv[1]
    if cmd == "wait":
        wait(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "status":
        status(sys.argv[2], int(sys.argv[3]), sys.argv[4] if len(sys.argv) > 4 else "detail",
               sys.argv[5:])
    elif cmd == "scrape":
        scrape(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4:])
    else:
        sys.exit(__doc__)


main()
