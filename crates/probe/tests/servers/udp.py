#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""UDP servers for the DNS_CHECK and UDP_CHECK tests.

usage: udp.py MODE PORTFILE CAPTUREDIR [ARG]
Binds 127.0.0.1 (or ::1 for MODEs ending in 6) on a free port, writes the
port to PORTFILE, stores datagram n (from 1) as CAPTUREDIR/n.req and
answers according to MODE:
  dns-header-only  our ID, QR+RD+RA, RCODE 0, QDCOUNT 1 but no question
                   and trailing garbage: a strict parser refuses it
  dns-wrong-id     first an answer with another ID, then a query (QR=0)
                   with our ID, then, after 0.2 s, the right answer
  dns-rcode        our ID, QR, RCODE = ARG
  silent           never answers
  echo             sends the datagram back
  reply            sends bytes.fromhex(ARG)
  dns-short        our ID and QR but only 11 bytes, then nothing
"""
import os
import socket
import struct
import sys
import time

mode, portfile, capture = sys.argv[1], sys.argv[2], sys.argv[3]
arg = sys.argv[4] if len(sys.argv) > 4 else ""
family = socket.AF_INET6 if mode.endswith("6") else socket.AF_INET
mode = mode.rstrip("6")
s = socket.socket(family, socket.SOCK_DGRAM)
s.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write(str(s.getsockname()[1]))
os.rename(tmp, portfile)

n = 0
while True:
    data, peer = s.recvfrom(65535)
    n += 1
    with open(os.path.join(capture, "%d.req.tmp" % n), "wb") as f:
        f.write(data)
    os.rename(os.path.join(capture, "%d.req.tmp" % n), os.path.join(capture, "%d.req" % n))
    qid = data[:2]
    if mode == "dns-header-only":
        s.sendto(qid + struct.pack("!HHHHH", 0x8180, 1, 0, 0, 0) + b"\xc0\xff\xff", peer)
    elif mode == "dns-wrong-id":
        other = struct.pack("!H", (struct.unpack("!H", qid)[0] + 1) & 0xFFFF)
        s.sendto(other + struct.pack("!HHHHH", 0x8180, 1, 0, 0, 0), peer)
        s.sendto(qid + struct.pack("!HHHHH", 0x0100, 1, 0, 0, 0), peer)
        time.sleep(0.2)
        s.sendto(qid + struct.pack("!HHHHH", 0x8180, 1, 0, 0, 0), peer)
    elif mode == "dns-rcode":
        s.sendto(qid + struct.pack("!HHHHH", 0x8180 | int(arg), 1, 0, 0, 0), peer)
    elif mode == "dns-short":
        s.sendto(qid + struct.pack("!HHHH", 0x8180, 1, 0, 0) + b"\x00", peer)
    elif mode == "echo":
        s.sendto(data, peer)
    elif mode == "reply":
        s.sendto(bytes.fromhex(arg), peer)
    elif mode == "silent":
        pass
    else:
        sys.exit("unknown mode " + mode)
