#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Receive counters of a VRRP daemon's dump, one "INSTANCE COUNTER VALUE"
line each, from either

  keepalived.json   (JSON signal; keepalived-rs writes every counter it
                     keeps there, with its extra drop reasons), or
  keepalived.stats  (SIGUSR2; keepalived's text layout: sections such as
                     "Packet Errors:" with "Length: N" lines below, named
                     here Packet_Errors.Length).

    counters.py FILE
"""

import json
import re
import sys


def from_json(text):
    for inst in json.loads(text):
        name = inst.get("data", {}).get("iname", "?")
        for k, v in sorted(inst.get("stats", {}).items()):
            if isinstance(v, int):
                yield name, k, v


def from_stats(text):
    inst, section = "?", ""
    for line in text.splitlines():
        m = re.match(r"^VRRP Instance: (\S+)", line)
        if m:
            inst, section = m.group(1), ""
            continue
        m = re.match(r"^\s+([A-Za-z ]+):\s*(\d+)\s*$", line)
        if m:
            key = m.group(1).strip().replace(" ", "_")
            yield inst, f"{section}.{key}" if section else key, int(m.group(2))
            continue
        m = re.match(r"^\s+([A-Za-z ]+):\s*$", line)
        if m:
            section = m.group(1).strip().replace(" ", "_")


def main():
    text = open(sys.argv[1], encoding="utf-8", errors="replace").read()
    rows = from_json(text) if text.lstrip().startswith("[") else from_stats(text)
    for inst, key, value in rows:
        print(inst, key, value)


if __name__ == "__main__":
    main()
