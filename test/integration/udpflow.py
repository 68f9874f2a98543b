#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A long-lived UDP client: one flow to an echo server, one datagram every 100 ms.

Usage: udpflow.py HOST PORT SPORT [--interval S]

Sends from one socket bound to source port SPORT, so every datagram belongs
to the same flow and the same conntrack entry, as a DNS resolver or a game
client would, until killed. Prints one line per datagram sent:

  TIME SEQ NAME      the echo server NAME answered it
  TIME SEQ -         no answer came before the next datagram was due
  TIME SEQ !REASON   the socket reported an error (refused: ICMP unreachable)

TIME is the wall clock (Unix seconds, the clock of kproxy's log) when the
datagram was sent. An answer is counted for the datagram most recently sent.
"""
import argparse
import errno
import select
import socket
import sys
import time


def reason(exc):
    if exc.errno == errno.ECONNREFUSED:
        return "refused"
    return errno.errorcode.get(exc.errno, str(exc))


def main():
    ap = argparse.ArgumentParser(description="long-lived UDP client")
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("sport", type=int)
    ap.add_argument("--interval", type=float, default=0.1)
    args = ap.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("0.0.0.0", args.sport))
    # Connected: ICMP errors come back as exceptions on this socket.
    sock.connect((args.host, args.port))
    due = time.monotonic()
    seq = 0
    while True:
        seq += 1
        sent = time.time()
        what = "-"
        try:
            sock.send(b"%d\n" % seq)
        except OSError as exc:
            what = "!" + reason(exc)
        due += args.interval
        while True:
            left = due - time.monotonic()
            if left <= 0:
                break
            ready, _, _ = select.select([sock], [], [], left)
            if not ready:
                break
            try:
                data = sock.recv(65535)
            except OSError as exc:
                if what == "-":
                    what = "!" + reason(exc)
                continue
            if what == "-" or what.startswith("!"):
                words = data.split()
                what = words[0].decode(errors="replace") if words else "?"
        print("%.3f %d %s" % (sent, seq, what), flush=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
