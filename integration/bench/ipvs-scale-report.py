#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Reads what integration/vm/lvs-scale.sh left in a payload directory
(results-IMPL.txt, reload-IMPL.pcap) and prints the IPVS scale benchmark's
table with the ratios keepalived / keepalived-rs.

The reload captures come from an nlmon device: every netlink message of
every protocol. An IPVS request is a generic netlink message whose type
is the IPVS family's id, with NLM_F_REQUEST set and one of the commands
that change the kernel's table (GET commands, which `ipvsadm -Ln` polls
send too, are not counted). The family id is learnt from the controller's
reply to CTRL_CMD_GETFAMILY "IPVS" when the capture holds one, else taken
as the type most such requests use.
"""

import collections
import os
import struct
import sys

NETLINK_GENERIC = 16
GENL_ID_CTRL = 16
NLM_F_REQUEST = 1
CHANGES = {
    1: "NEW_SERVICE",
    2: "SET_SERVICE",
    3: "DEL_SERVICE",
    5: "NEW_DEST",
    6: "SET_DEST",
    7: "DEL_DEST",
    9: "NEW_DAEMON",
    10: "DEL_DAEMON",
    12: "SET_CONFIG",
    16: "ZERO",
    17: "FLUSH",
}


def timed_records(path):
    """(timestamp, protocol or None, bytes) per captured packet."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off : off + 16])
        pkt = data[off + 16 : off + 16 + incl]
        off += 16 + incl
        ts = sec + frac / (1e9 if nano else 1e6)
        # LINKTYPE_NETLINK (253) and LINUX_SLL (113): a 16-byte header
        # ending with the protocol.
        if linktype in (253, 113) and len(pkt) >= 16:
            yield ts, struct.unpack(">H", pkt[14:16])[0], pkt[16:]
        else:
            yield ts, None, pkt


def records(path):
    """(protocol or None, bytes) per captured packet."""
    for _, proto, pkt in timed_records(path):
        yield proto, pkt


def messages(buf):
    """(type, flags, genl cmd, payload) for each netlink message in buf."""
    off = 0
    while off + 16 <= len(buf):
        length, mtype, flags, _, _ = struct.unpack("<IHHII", buf[off : off + 16])
        if length < 16:
            break
        cmd = buf[off + 16] if off + 16 < len(buf) else None
        yield mtype, flags, cmd, buf[off + 20 : off + length]
        off += (length + 3) & ~3


def ipvs_family_id(msgs):
    for mtype, flags, cmd, payload in msgs:
        # CTRL_CMD_NEWFAMILY (1) reply: attrs FAMILY_ID (1, u16), FAMILY_NAME (2)
        if mtype != GENL_ID_CTRL or cmd != 1:
            continue
        attrs, fid, name = payload, None, None
        off = 0
        while off + 4 <= len(attrs):
            alen, atype = struct.unpack("<HH", attrs[off : off + 4])
            if alen < 4:
                break
            val = attrs[off + 4 : off + alen]
            if atype == 1 and len(val) >= 2:
                fid = struct.unpack("<H", val[:2])[0]
            elif atype == 2:
                name = val.rstrip(b"\0").decode(errors="replace")
            off += (alen + 3) & ~3
        if name == "IPVS" and fid is not None:
            return fid
    return None


def count_changes(path):
    msgs = []
    for proto, pkt in records(path):
        if proto not in (None, NETLINK_GENERIC):
            continue
        msgs.extend(messages(pkt))
    fid = ipvs_family_id(msgs)
    requests = [(t, c) for t, f, c, _ in msgs if t > GENL_ID_CTRL and f & NLM_F_REQUEST]
    if fid is None and requests:
        fid = collections.Counter(t for t, _ in requests).most_common(1)[0][0]
    by_cmd = collections.Counter(CHANGES[c] for t, c in requests if t == fid and c in CHANGES)
    return sum(by_cmd.values()), dict(by_cmd)


def main():
    work = sys.argv[1]
    res = collections.defaultdict(dict)
    for name in sorted(os.listdir(work)):
        if not (name.startswith("results") and name.endswith(".txt")):
            continue
        with open(os.path.join(work, name)) as f:
            for line in f:
                impl, key, value = line.split()
                res[impl][key] = value
    for impl in res:
        pcap = os.path.join(work, f"reload-{impl}.pcap")
        if os.path.exists(pcap):
            n, by = count_changes(pcap)
            res[impl]["reload_ops"] = str(n)
            res[impl]["reload_ops_by_cmd"] = ",".join(f"{k}={v}" for k, v in sorted(by.items())) or "-"
    rows = [
        ("start -> full table (s)", "start_s"),
        ("services / real servers in", None),
        ("Pss after start, all processes (kB)", "pss_kb"),
        ("reload: change visible (s)", "reload_visible_s"),
        ("reload: daemon idle again (s)", "reload_idle_s"),
        ("reload: IPVS change requests", "reload_ops"),
        ("reload: requests by command", "reload_ops_by_cmd"),
        ("stop: parent exited (s)", "stop_s"),
        ("stop: services left in the kernel", "stop_left_services"),
    ]
    impls = [i for i in ("ka", "rs") if i in res]
    names = {"ka": "keepalived", "rs": "keepalived-rs"}
    print("| what | " + " | ".join(names[i] for i in impls) + (" | keepalived / ours |" if len(impls) == 2 else " |"))
    print("| --- " * (len(impls) + 1 + (len(impls) == 2)) + "|")
    for label, key in rows:
        if key is None:
            vals = [f"{res[i].get('start_services', '?')} / {res[i].get('start_dests', '?')}" for i in impls]
        else:
            vals = [res[i].get(key, "?") for i in impls]
        ratio = ""
        if len(impls) == 2 and key and key.endswith("_s"):
            try:
                a, b = float(vals[0]), float(vals[1])
                ratio = f"{a / b:.1f}x" if b > 0 else ""
            except ValueError:
                pass
        line = f"| {label} | " + " | ".join(vals)
        print(line + (f" | {ratio} |" if len(impls) == 2 else " |"))


if __name__ == "__main__":
    main()
