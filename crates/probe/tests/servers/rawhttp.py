#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A test HTTP(S) server that answers every connection with one chosen raw
answer, and records what each client sent.

    rawhttp.py MODE PORTFILE CAPTUREDIR [--v6] [--tls CERT KEY]

Listens on 127.0.0.1 (or ::1) on a free port, writes the port to PORTFILE,
and for connection N writes the request bytes (up to the blank line) to
CAPTUREDIR/N.req and, with --tls, the SNI the client sent (empty when none)
to CAPTUREDIR/N.sni. With --client-ca CAFILE the server asks for a client
certificate (optional) and writes its subject CN (empty when none) to
CAPTUREDIR/N.peer. Runs until killed.
"""
import os
import socket
import ssl
import struct
import sys
import threading
import time

BODY = b"hello world\n"


def answer(mode, conn):
    if mode == "ok":
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\nServer: raw\r\n\r\n" % len(BODY) + BODY)
    elif mode == "split":
        # Head and body in separate writes, a pause between them.
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(BODY))
        time.sleep(0.2)
        conn.sendall(BODY)
    elif mode == "s500":
        conn.sendall(b"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops\n")
    elif mode == "nospace":
        conn.sendall(b"HTTP/1.1 200\r\nContent-Length: 5\r\n\r\nhello")
    elif mode == "bighead":
        conn.sendall(b"HTTP/1.0 200 OK\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\nhello")
    elif mode == "lowercl":
        # The digest ignores a lowercase length and hashes every byte.
        conn.sendall(b"HTTP/1.0 200 OK\r\ncontent-length: 5\r\n\r\nhello world")
    elif mode == "cl5":
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello world")
    elif mode == "chunked":
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    elif mode == "endless":
        conn.sendall(b"HTTP/1.0 200 OK\r\n\r\n")
        block = b"x" * 65536
        while True:
            conn.sendall(block)
    elif mode == "trickle":
        for b in b"HTTP/1.0 200 OK\r\n\r\nslow body":
            conn.sendall(bytes([b]))
            time.sleep(1)
    elif mode == "rst":
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\npartial")
        time.sleep(0.2)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif mode == "nostatus":
        conn.sendall(b"just some bytes, no head at all")
    elif mode == "keepopen":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
        time.sleep(3600)
    elif mode == "silent":
        time.sleep(3600)
    elif mode == "regex":
        conn.sendall(b"HTTP/1.0 200 OK\r\nX-App: alpha\r\n\r\n" + b"." * 6000 + b"NEEDLE" + b"." * 100)
    else:
        raise SystemExit("unknown mode " + mode)


def read_request(conn):
    data = b""
    conn.settimeout(10)
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def serve(mode, conn, n, capdir, sni):
    try:
        if mode == "garbage":
            # Not TLS: random-looking bytes at once, then close.
            conn.sendall(b"\x16\x03\x03\x00\x05garbage-that-is-not-a-handshake" * 4)
            time.sleep(0.2)
            return
        req = read_request(conn)
        with open(os.path.join(capdir, "%d.req" % n), "wb") as f:
            f.write(req)
        if sni is not None:
            with open(os.path.join(capdir, "%d.sni" % n), "w") as f:
                f.write(sni[0] or "")
            peer = conn.getpeercert() or {}
            cn = ""
            for rdn in peer.get("subject", ()):
                for k, v in rdn:
                    if k == "commonName":
                        cn = v
            with open(os.path.join(capdir, "%d.peer" % n), "w") as f:
                f.write(cn)
        answer(mode, conn)
    except (OSError, ssl.SSLError):
        pass
    finally:
        try:
            conn.close()
        except OSError:
            pass


def main():
    mode, portfile, capdir = sys.argv[1:4]
    rest = sys.argv[4:]
    family = socket.AF_INET6 if "--v6" in rest else socket.AF_INET
    host = "::1" if family == socket.AF_INET6 else "127.0.0.1"
    ctx = None
    if "--tls" in rest:
        i = rest.index("--tls")
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(rest[i + 1], rest[i + 2])
        if "--client-ca" in rest:
            ctx.verify_mode = ssl.CERT_OPTIONAL
            ctx.load_verify_locations(rest[rest.index("--client-ca") + 1])
    srv = socket.socket(family, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((host, 0))
    srv.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write(str(srv.getsockname()[1]))
    os.rename(portfile + ".tmp", portfile)
    n = 0
    while True:
        conn, _ = srv.accept()
        n += 1
        sni = None
        if ctx is not None:
            sni = [None]

            def cb(sock, name, _ctx, box=sni):
                box[0] = name

            ctx.sni_callback = cb
            try:
                conn.settimeout(10)
                conn = ctx.wrap_socket(conn, server_side=True)
            except (OSError, ssl.SSLError):
                conn.close()
                continue
        threading.Thread(target=serve, args=(mode, conn, n, capdir, sni), daemon=True).start()


if __name__ == "__main__":
    main()
