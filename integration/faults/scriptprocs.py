#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Watch the processes of a misbehaving script (the scripts row).

    scriptprocs.py [--until-none] TAG_REGEX SECONDS NETNS...

Every 0.1 s for SECONDS, finds the processes inside the named network
namespaces (by /proc/PID/ns/net against /run/netns/NAME) whose command
line matches TAG_REGEX, and prints one line at the end (with
--until-none, the end comes early once none is left):

    oldest=<age s of the oldest one ever seen> peak=<most at once> left=<now>

One process for the whole window: a shell loop forking ps/awk five times
a second would itself disturb the advert timing the row measures.
"""

import os
import re
import sys
import time


def netns_inodes(names):
    inodes = set()
    for name in names:
        try:
            inodes.add(os.stat(f"/run/netns/{name}").st_ino)
        except OSError:
            pass
    return inodes


def tagged(tag, inodes, hz, uptime):
    """Ages (s) of the tagged processes in the namespaces."""
    ages = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino not in inodes:
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            if not tag.search(cmd):
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is the state (field 3), fields[19] the start time.
        if fields[0] == "Z":
            continue
        ages.append(uptime - int(fields[19]) / hz)
    return ages


def main():
    args = sys.argv[1:]
    until_none = bool(args) and args[0] == "--until-none"
    if until_none:
        args = args[1:]
    if len(args) < 3:
        sys.exit(__doc__)
    tag = re.compile(args[0])
    seconds = float(args[1])
    inodes = netns_inodes(args[2:])
    if not inodes:
        sys.exit("scriptprocs.py: none of the namespaces exists")
    hz = os.sysconf("SC_CLK_TCK")
    oldest, peak, left = 0.0, 0, 0
    end = time.monotonic() + seconds
    while True:
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        ages = tagged(tag, inodes, hz, uptime)
        left = len(ages)
        peak = max(peak, left)
        oldest = max([oldest, *ages])
        if time.monotonic() >= end or (until_none and left == 0):
            break
        time.sleep(0.1)
    print(f"oldest={oldest:.2f} peak={peak} left={left}")


if __name__ == "__main__":
    main()
