#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""SMTP-ish listeners for the SMTP_CHECK tests.

usage: smtp.py MODE PORTFILE CAPTUREDIR
Listens on 127.0.0.1, writes the port to PORTFILE; everything connection n
(from 1) sends is stored as CAPTUREDIR/n.req when it closes. MODE:
  good        220 banner, 250 to HELO, 221 to QUIT
  multiline   220-first line / 220 second line, then as good
  bare220     "220\\r\\n" (no text: keepalived refuses it), then as good
  badbanner   554 banner
  helo5xx     220 banner, 502 to HELO
  silent      accepts and says nothing
  noquit      as good but closes without answering QUIT
  split       as good, the banner sent a byte at a time
"""
import os
import socket
import sys
import threading
import time

mode, portfile, capture = sys.argv[1], sys.argv[2], sys.argv[3]
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(16)
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(tmp, portfile)


def readline(c, got):
    line = b""
    while not line.endswith(b"\n"):
        b = c.recv(1)
        if not b:
            return None
        line += b
    got.append(line)
    return line


def serve(c, n):
    got = []
    try:
        if mode == "silent":
            time.sleep(30)
            return
        if mode == "badbanner":
            c.sendall(b"554 go away\r\n")
        elif mode == "multiline":
            c.sendall(b"220-mail.example.test first\r\n220 mail.example.test ESMTP\r\n")
        elif mode == "bare220":
            c.sendall(b"220\r\n")
        elif mode == "split":
            for b in b"220 mail.example.test ESMTP\r\n":
                c.sendall(bytes([b]))
                time.sleep(0.01)
        else:
            c.sendall(b"220 mail.example.test ESMTP\r\n")
        if readline(c, got) is None:
            return
        if mode == "helo5xx":
            c.sendall(b"502 no\r\n")
        else:
            c.sendall(b"250 mail.example.test\r\n")
        if readline(c, got) is None:
            return
        if mode == "noquit":
            return
        c.sendall(b"221 bye\r\n")
        c.recv(100)
    except OSError:
        pass
    finally:
        path = os.path.join(capture, "%d.req" % n)
        with open(path + ".tmp", "wb") as f:
            f.write(b"".join(got))
        os.rename(path + ".tmp", path)
        c.close()


n = 0
while True:
    c, _ = srv.accept()
    n += 1
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
