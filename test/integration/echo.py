#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP and UDP echo server that says who answered and whom it saw.

Usage: echo.py NAME PORT [PORT...]

Listens on 0.0.0.0 for TCP and UDP on every PORT. Each request (one line on a
TCP connection, or one UDP datagram) is answered with "NAME CLIENT_IP\\n",
where CLIENT_IP is the source address the server saw: that is what tells a
test whether a packet was masqueraded on its way. Prints "ready" on stdout
once every socket is bound, so a caller can poll for it.
"""
import selectors
import socket
import sys


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: echo.py NAME PORT [PORT...]\n")
        return 2
    name = sys.argv[1]
    ports = [int(p) for p in sys.argv[2:]]
    sel = selectors.DefaultSelector()
    for port in ports:
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        tcp.bind(("0.0.0.0", port))
        tcp.listen(128)
        tcp.setblocking(False)
        sel.register(tcp, selectors.EVENT_READ, ("accept", None))
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("0.0.0.0", port))
        udp.setblocking(False)
        sel.register(udp, selectors.EVENT_READ, ("udp", None))
    print("ready", flush=True)

    while True:
        for key, _ in sel.select():
            kind, state = key.data
            sock = key.fileobj
            if kind == "accept":
                try:
                    conn, peer = sock.accept()
                except OSError:
                    continue
                conn.setblocking(False)
                sel.register(conn, selectors.EVENT_READ, ("conn", [peer[0], b""]))
            elif kind == "udp":
                try:
                    _, peer = sock.recvfrom(65535)
                    sock.sendto(("%s %s\n" % (name, peer[0])).encode(), peer)
                except OSError:
                    pass
            else:
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(sock)
                    sock.close()
                    continue
                state[1] += data
                # One answer per complete line; the reply is tiny, so a
                # blocking send cannot stall the loop.
                while b"\n" in state[1]:
                    _, state[1] = state[1].split(b"\n", 1)
                    try:
                        sock.sendall(("%s %s\n" % (name, state[0])).encode())
                    except OSError:
                        break


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
