#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Sends requests to an echo server and prints each answer.

Usage: probe.py tcp|udp|http HOST PORT [--count N] [--timeout S]
                [--interval S] [--until FILE] [--stamp] [--sport PORT]

Each request is a new TCP connection (or a new UDP socket, hence a new source
port and a new conntrack entry) carrying one line; the answer line is printed
as it came ("NAME CLIENT_IP"), or "ERROR <reason>" with reason one of
refused, timeout, unreachable, reset, closed or an errno name. "http" sends
GET / and prints "HTTP <status> <body on one line>" (for health-check node
ports).

  --count N     send N requests (default 1)
  --timeout S   give each request S seconds (default 2)
  --interval S  wait S seconds between requests (default 0)
  --until FILE  keep sending until FILE exists (overrides --count)
  --stamp       prefix each line with the seconds since the start
  --sport PORT  send from this source port; for UDP every request is then
                the same flow (one conntrack entry), as a long-lived client

Exit status: 0 when every request was answered, 1 otherwise.
"""
import argparse
import errno
import http.client
import os
import socket
import sys
import time

REASONS = {
    errno.ECONNREFUSED: "refused",
    errno.EHOSTUNREACH: "unreachable",
    errno.ENETUNREACH: "unreachable",
    errno.ECONNRESET: "reset",
    errno.ETIMEDOUT: "timeout",
}


def reason(exc):
    if isinstance(exc, socket.timeout):
        return "timeout"
    if isinstance(exc, http.client.HTTPException):
        return "http-" + type(exc).__name__
    if exc.errno in REASONS:
        return REASONS[exc.errno]
    return errno.errorcode.get(exc.errno, str(exc))


def source(sport):
    return ("0.0.0.0", sport) if sport else None


def ask_tcp(host, port, timeout, sport):
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout,
                                  source_address=source(sport)) as s:
        s.sendall(b"hello\n")
        buf = b""
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout()
            s.settimeout(left)
            data = s.recv(4096)
            if not data:
                return "ERROR closed"
            buf += data
        return buf.split(b"\n", 1)[0].decode(errors="replace")


def ask_udp(host, port, timeout, sport):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        if sport:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(source(sport))
        # A connected socket reports ICMP port unreachable as ECONNREFUSED.
        s.connect((host, port))
        s.send(b"hello\n")
        data = s.recv(65535)
        return data.decode(errors="replace").rstrip("\n")


def ask_http(host, port, timeout, sport):
    conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                      source_address=source(sport))
    try:
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read().decode(errors="replace")
        return "HTTP %d %s" % (resp.status, " ".join(body.split()))
    finally:
        conn.close()


def main():
    ap = argparse.ArgumentParser(description="echo.py client")
    ap.add_argument("proto", choices=["tcp", "udp", "http"])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=2.0)
    ap.add_argument("--interval", type=float, default=0.0)
    ap.add_argument("--until")
    ap.add_argument("--stamp", action="store_true")
    ap.add_argument("--sport", type=int, default=0)
    args = ap.parse_args()

    ask = {"tcp": ask_tcp, "udp": ask_udp, "http": ask_http}[args.proto]
    start = time.monotonic()
    sent = failed = 0
    while True:
        if args.until:
            if os.path.exists(args.until):
                break
        elif sent >= args.count:
            break
        if sent and args.interval > 0:
            time.sleep(args.interval)
        try:
            line = ask(args.host, args.port, args.timeout, args.sport)
        except (OSError, http.client.HTTPException) as exc:
            line = "ERROR " + reason(exc)
        sent += 1
        if line.startswith("ERROR"):
            failed += 1
        if args.stamp:
            line = "%.3f %s" % (time.monotonic() - start, line)
        print(line, flush=True)
    if args.until:
        sys.stderr.write("probe: %d requests, %d failed\n" % (sent, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
