#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""VRRP advert storm from a third host, for integration/faults (row "storm").

    storm.py IFACE DST_MAC SECONDS CLASS[,CLASS...] [RATE]

Sends whole Ethernet frames on an AF_PACKET socket bound to IFACE: the
destination MAC is the target node's own (so only that node takes the
frame, although the IP destination is the VRRP group 224.0.0.18, which
the node has joined), the source MAC is IFACE's. Frames of the given
classes go out round-robin, as fast as one Python loop can send them,
for SECONDS. Prints one JSON line: frames sent per class, the time
taken and the rate reached. With RATE (frames per second, 0 = no
limit, the default) the frames are paced in batches of 64.

Classes. Every junk frame differs from an advert the target would accept
by one defect, and claims priority 254 (above both nodes): a daemon that
let one through would change state, so the run can fail.

    cksum    VRRPv3 vrid 51, checksum off by one
    ttl      VRRPv3 vrid 51, IP TTL 64 (must be 255)
    version  VRRPv2 header (valid v2 checksum) sent to the v3 vrid 51
    type     VRRPv3 vrid 51, type 2 (only 1, ADVERTISEMENT, exists)
    count    VRRPv3 vrid 51, address count 2 with one address
    short    VRRPv3 vrid 51 cut to its first 4 bytes
    vrid     VRRPv3 vrid 99, valid (no instance has it)
    auth     VRRPv2 vrid 53, auth PASS with the wrong password
    replay-master   lb1's own advert (vrid 51, priority 150, 10 cs,
                    source 192.0.2.1): equal to the master's priority
    replay-backup   lb2's advert (vrid 51, priority 100, source
                    192.0.2.2): lower than the master's
"""

import json
import socket
import struct
import sys
import time

GROUP = "224.0.0.18"
LB1, LB2 = "192.0.2.1", "192.0.2.2"
ATTACKER = "192.0.2.20"
VIP1 = "192.0.2.100"
VIP3 = "192.0.2.103"


def csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src: str, payload: bytes, ttl: int = 255) -> bytes:
    hdr = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0xC0, 20 + len(payload), 0, 0, ttl, 112, 0,
        socket.inet_aton(src), socket.inet_aton(GROUP))
    return hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:] + payload


def v3(src: str, vrid: int, prio: int, addrs, vtype: int = 1, count=None,
       interval_cs: int = 10) -> bytes:
    """A VRRPv3 advert with the checksum over the IPv4 pseudo-header."""
    n = len(addrs) if count is None else count
    body = struct.pack("!BBBBHH", 0x30 | vtype, vrid, prio, n, interval_cs & 0x0FFF, 0)
    body += b"".join(socket.inet_aton(a) for a in addrs)
    pseudo = socket.inet_aton(src) + socket.inet_aton(GROUP) + struct.pack("!BBH", 0, 112, len(body))
    c = csum(pseudo + body)
    return body[:6] + struct.pack("!H", c) + body[8:]


def v2(vrid: int, prio: int, addrs, auth_type: int = 0, password: bytes = b"",
       interval_s: int = 1) -> bytes:
    body = struct.pack("!BBBBBBH", 0x21, vrid, prio, len(addrs), auth_type, interval_s, 0)
    body += b"".join(socket.inet_aton(a) for a in addrs)
    body += password.ljust(8, b"\0")[:8]
    c = csum(body)
    return body[:6] + struct.pack("!H", c) + body[8:]


def packets():
    good = v3(ATTACKER, 51, 254, [VIP1])
    bad_ck = bytearray(good)
    bad_ck[7] ^= 0x01
    return {
        "cksum": ipv4(ATTACKER, bytes(bad_ck)),
        "ttl": ipv4(ATTACKER, good, ttl=64),
        "version": ipv4(ATTACKER, v2(51, 254, [VIP1])),
        "type": ipv4(ATTACKER, v3(ATTACKER, 51, 254, [VIP1], vtype=2)),
        "count": ipv4(ATTACKER, v3(ATTACKER, 51, 254, [VIP1], count=2)),
        "short": ipv4(ATTACKER, good[:4]),
        "vrid": ipv4(ATTACKER, v3(ATTACKER, 99, 254, [VIP1])),
        "auth": ipv4(ATTACKER, v2(53, 254, [VIP3], auth_type=1, password=b"wrongpw")),
        "replay-master": ipv4(LB1, v3(LB1, 51, 150, [VIP1])),
        "replay-backup": ipv4(LB2, v3(LB2, 51, 100, [VIP1])),
    }


def main() -> int:
    if len(sys.argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    iface, dst_mac, seconds, classes = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4].split(",")
    rate = float(sys.argv[5]) if len(sys.argv) == 6 else 0.0
    batch = 64 if rate > 0 else 256
    table = packets()
    unknown = [c for c in classes if c not in table]
    if unknown:
        print(f"storm.py: unknown class(es) {unknown}; known: {sorted(table)}", file=sys.stderr)
        return 2
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src_mac = s.getsockname()[4]
    eth = bytes.fromhex(dst_mac.replace(":", "")) + src_mac + b"\x08\x00"
    frames = [eth + table[c] for c in classes]
    sent = [0] * len(frames)
    n = len(frames)
    send = s.send
    t0 = time.monotonic()
    end = t0 + seconds
    i = 0
    errors = 0
    while True:
        # The clock is read once per batch, so the loop is mostly sends.
        for _ in range(batch):
            k = i % n
            try:
                send(frames[k])
                sent[k] += 1
            except OSError:
                # ENOBUFS when the qdisc is full: the rate is the limit.
                errors += 1
            i += 1
        now = time.monotonic()
        if now >= end:
            break
        if rate > 0:
            ahead = t0 + i / rate - now
            if ahead > 0:
                time.sleep(ahead)
    dt = time.monotonic() - t0
    total = sum(sent)
    print(json.dumps({
        "classes": dict(zip(classes, sent)),
        "sent": total,
        "send_errors": errors,
        "seconds": round(dt, 3),
        "pps": int(total / dt) if dt > 0 else 0,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
