#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Benchmark (issue 12 part 2): real servers named by DNS at scale.
Run by hand as root, not in CI:

    integration/bench/resolvers-cost.py [--dur 30] [--reps 10] [--bin PATH]

1 000 real servers by name over 50 names (10 virtual servers x 5 names x
20 A records each), `timeout resolve 1`, no health checker (resolution
does not depend on checks). A real dnsmasq in a network namespace
(resolvers-bench) answers; keepalived-rs -C runs with
KEEPALIVED_RS_IPVS_DRY=1 (this host has no IPVS: every op is planned and
counted but the kernel is not touched, so "table" below is the checker's
programmed table as its status shows it, not the kernel's).

Measures
  fill:     start -> all 1 000 real servers in the table;
  CPU:      the checker child's utime+stime over --dur s of steady state,
            as % of one core (and dnsmasq's, for scale);
  queries:  DNS queries per second the child sent (its status counters),
            expected 50/s: one per name per period;
  latency:  a record changed in dnsmasq (hosts file + SIGHUP) -> the new
            address in the table and the old one gone (status polled every
            20 ms, outside the CPU window), --reps times;
  apply:    of that, the checker's own time to apply each change (from its
            log's "addresses changed; ... in X ms" lines).
keepalived has no such feature: there is nothing to compare with.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

NS = "resolvers-bench"
NS_ADDR = "198.51.100.53"
VSS, NAMES, ADDRS = 10, 5, 20


def sh(*args, check=True, **kw):
    return subprocess.run(args, check=check, **kw)


def ns(*args, **kw):
    return sh("ip", "netns", "exec", NS, *args, **kw)


def name(v, k):
    return f"n{v}-{k}.example.internal"


def addr(k, i):
    return f"198.51.100.{k * ADDRS + i + 1}"


def write_hosts(path, override=None):
    lines = []
    for v in range(VSS):
        for k in range(NAMES):
            for i in range(ADDRS):
                a = addr(k, i)
                if override and (v, k, i) in override:
                    a = override[(v, k, i)]
                lines.append(f"{a} {name(v, k)}\n")
    with open(path + ".tmp", "w") as f:
        f.writelines(lines)
    os.replace(path + ".tmp", path)


def config():
    out = ["global_defs {\n router_id bench\n}\n",
           "resolvers dns {\n", f" nameserver ns1 {NS_ADDR}:53\n",
           " timeout resolve 1\n timeout retry 0.5\n hold obsolete 0\n}\n"]
    for v in range(VSS):
        out.append(f"virtual_server 192.0.2.{v + 1} 80 {{\n lvs_sched rr\n lvs_method NAT\n protocol TCP\n")
        for k in range(NAMES):
            out.append(f" real_server_name {name(v, k)} 80 {{\n  resolvers dns\n }}\n")
        out.append("}\n")
    return "".join(out)


def status(kbin, ctl):
    r = ns(kbin, "status", "--detail", "--json", f"--control-socket={ctl}", capture_output=True, text=True, check=False)
    try:
        return json.loads(r.stdout)
    except ValueError:
        return None


def real_servers(st):
    out = set()
    for vs in ((st or {}).get("checker") or {}).get("virtual_servers", []):
        for rs in vs.get("real_servers", []):
            out.add((vs["name"], rs["name"]))
    return out


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def queries(st):
    return sum(n["status"]["counters"]["queries"] for n in st["checker"].get("resolved_names", []))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dur", type=float, default=30)
    p.add_argument("--reps", type=int, default=10)
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--bin", default=os.path.join(repo, "target/release/keepalived-rs"))
    a = p.parse_args()
    kbin = os.path.abspath(a.bin)
    work = tempfile.mkdtemp(prefix="kalrs-resolvers-bench.")
    hosts, conf, ctl = f"{work}/hosts", f"{work}/k.conf", f"{work}/ctl"
    with open(conf, "w") as f:
        f.write(config())
    write_hosts(hosts)
    sh("ip", "netns", "add", NS)
    procs = []
    try:
        ns("ip", "link", "set", "lo", "up")
        ns("ip", "addr", "add", f"{NS_ADDR}/32", "dev", "lo")
        dns = subprocess.Popen(["ip", "netns", "exec", NS, "dnsmasq", "-k", "--conf-file=/dev/null",
                                f"--listen-address={NS_ADDR}", "--bind-interfaces", "--no-resolv",
                                "--no-hosts", f"--addn-hosts={hosts}", "--local=/example.internal/",
                                "--local-ttl=1", "--user=root", f"--pid-file={work}/dnsmasq.pid",
                                "--dns-forward-max=1000", "--cache-size=10000"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(dns)
        time.sleep(0.5)
        env = dict(os.environ, KEEPALIVED_RS_IPVS_DRY="1")
        t0 = time.monotonic()
        ka = subprocess.Popen(["ip", "netns", "exec", NS, kbin, "-C", "-n", "-l", "-f", conf,
                               f"--control-socket={ctl}", "-p", f"{work}/k.pid", "-c", f"{work}/c.pid"],
                              env=env, stdout=subprocess.DEVNULL, stderr=open(f"{work}/daemon.log", "w"))
        procs.append(ka)
        want = VSS * NAMES * ADDRS
        st = None
        while time.monotonic() - t0 < 60:
            st = status(kbin, ctl)
            if len(real_servers(st)) == want:
                break
            time.sleep(0.05)
        fill = time.monotonic() - t0
        if len(real_servers(st)) != want:
            sys.exit(f"only {len(real_servers(st))} of {want} real servers after 60 s")
        child = next(c["pid"] for c in st["daemon"]["children"] if c["kind"] == "checker")
        dns_pid = int(open(f"{work}/dnsmasq.pid").read())
        time.sleep(2)
        hz = os.sysconf("SC_CLK_TCK")
        q0, c0, d0, w0 = queries(status(kbin, ctl)), cpu_ticks(child), cpu_ticks(dns_pid), time.monotonic()
        time.sleep(a.dur)
        q1, c1, d1, w1 = queries(status(kbin, ctl)), cpu_ticks(child), cpu_ticks(dns_pid), time.monotonic()
        el = w1 - w0
        lat = []
        log_mark = os.path.getsize(f"{work}/daemon.log")
        for r in range(a.reps):
            v, k, i = r % VSS, r % NAMES, r % ADDRS
            old, new = addr(k, i), f"198.51.100.{201 + r}"
            vs = f"[192.0.2.{v + 1}]:tcp:80"
            write_hosts(hosts, {(v, k, i): new})
            os.kill(dns_pid, signal.SIGHUP)
            t = time.monotonic()
            while time.monotonic() - t < 10:
                rs = real_servers(status(kbin, ctl))
                if (vs, f"[{new}]:tcp:80") in rs and (vs, f"[{old}]:tcp:80") not in rs:
                    lat.append(time.monotonic() - t)
                    break
                time.sleep(0.02)
            else:
                sys.exit(f"change {r}: not in the table after 10 s")
            write_hosts(hosts)
            os.kill(dns_pid, signal.SIGHUP)
            time.sleep(1.5)
        print(f"fill (start -> {want} real servers): {fill:.2f} s")
        print(f"checker child CPU: {100 * (c1 - c0) / hz / el:.2f} % of a core over {el:.0f} s "
              f"(dnsmasq: {100 * (d1 - d0) / hz / el:.2f} %)")
        print(f"queries sent: {(q1 - q0) / el:.1f}/s for {VSS * NAMES} names, timeout resolve 1 s")
        ms = sorted(x * 1000 for x in lat)
        print(f"record change -> table: n={len(ms)} min {ms[0]:.0f} ms, median "
              f"{statistics.median(ms):.0f} ms, max {ms[-1]:.0f} ms")
        # The checker's own time to apply each change (its log line ends
        # "in X ms"), the part of the latency that is not the wait for
        # the next lookup.
        applied = []
        with open(f"{work}/daemon.log", errors="replace") as f:
            f.seek(log_mark)
            for line in f:
                m = re.search(r"addresses changed; .* in ([0-9.]+) ms", line)
                if m:
                    applied.append(float(m.group(1)))
        changes = sorted(applied)  # each change and each change back
        if changes:
            print(f"apply in the checker: n={len(changes)} min {changes[0]:.1f} ms, median "
                  f"{statistics.median(changes):.1f} ms, max {changes[-1]:.1f} ms")
    finally:
        for pr in reversed(procs):
            pr.send_signal(signal.SIGTERM)
            try:
                pr.wait(10)
            except subprocess.TimeoutExpired:
                pr.kill()
        sh("ip", "netns", "del", NS, check=False)


if __name__ == "__main__":
    main()
