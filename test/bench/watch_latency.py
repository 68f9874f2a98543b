#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Measures how long an EndpointSlice change takes from the API server to the kernel.

Run by watch_latency.sh inside the bench's network namespace, next to
test/fakeapi.py and a kproxy watching it:

  watch_latency.py --api URL --metrics URL --save CMD [--changes N] [--services N]
                   [--endpoints N]

It gives the fake API server this node, SERVICES background Services with
ENDPOINTS endpoints each (default 2) and one Service "bench", waits for
kproxy to program them (the kernel is read every second), then makes CHANGES changes one at a time. Each change replaces bench's
EndpointSlice with one whose only endpoint has a new address. For each it
measures, from just before the control POST:

  applied  the address is in /debug/rules (polled every 5 ms over one
           keep-alive connection). kproxy publishes a payload there only once
           iptables-restore has exited 0, so the rule is in the kernel.
  kernel   CMD (the backend's iptables-save -t nat), run once the payload is
           published, shows the DNAT to the address: a check, and an upper
           bound that includes one iptables-save run.

The fake server's answer to the change is read only after both: it comes in
two TCP segments (headers, body) without TCP_NODELAY, so Nagle's algorithm
and the driver's delayed ACK can hold its body back 40 ms, which is not
kproxy's latency. The watch stream to kproxy is not held back that way (one
write per event): with TCP_NODELAY set on the fake server's sockets the
figures stay the same.
"""
import argparse
import http.client
import json
import math
import statistics
import subprocess
import sys
import time
import urllib.parse

NAMESPACE = "bench"
POLL_S = 0.005
DEADLINE_S = 10.0


def node():
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-a"},
        "status": {"addresses": [{"type": "InternalIP", "address": "192.0.2.10"}]},
    }


def service(name, ip):
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": NAMESPACE, "name": name},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": ip,
            "clusterIPs": [ip],
            "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
        },
    }


def endpoint_slice(service_name, addresses):
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "namespace": NAMESPACE,
            "name": service_name + "-1",
            "labels": {"kubernetes.io/service-name": service_name},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [a], "conditions": {"ready": True}, "nodeName": "node-b"}
            for a in addresses
        ],
    }


class Client:
    """One keep-alive HTTP/1.1 connection, reopened when the server closes it."""

    def __init__(self, url):
        u = urllib.parse.urlsplit(url)
        self.host, self.port = u.hostname, u.port
        self.conn = None

    def request(self, method, path, body=None):
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
            try:
                headers = {"Content-Type": "application/json"} if body is not None else {}
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return resp.status, data
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def put(api, objects):
    put_send(api, objects)
    put_finish(api)


# The change is sent now and its answer read later (see the module's text).
def put_send(api, objects):
    body = json.dumps([{"op": "put", "object": o} for o in objects]).encode()
    if api.conn is None:
        api.conn = http.client.HTTPConnection(api.host, api.port, timeout=10)
    api.conn.request("POST", "/_control", body=body, headers={"Content-Type": "application/json"})


def put_finish(api):
    resp = api.conn.getresponse()
    data = resp.read()
    if resp.status != 200:
        raise SystemExit("watch_latency: control request failed: %d %s" % (resp.status, data[:200]))


def wait_rules(metrics, needle, deadline_s):
    """Polls /debug/rules until it contains needle; returns the time it did, or None."""
    end = time.monotonic() + deadline_s
    while True:
        status, data = metrics.request("GET", "/debug/rules")
        now = time.monotonic()
        if status == 200 and needle in data:
            return now
        if now > end:
            return None
        time.sleep(POLL_S)


def summary(name, samples):
    s = sorted(samples)
    p99 = s[max(0, math.ceil(0.99 * len(s)) - 1)]
    return "%-8s median %6.1f ms  p99 %6.1f ms  min %6.1f ms  max %6.1f ms  (n=%d)" % (
        name,
        statistics.median(s),
        p99,
        s[0],
        s[-1],
        len(s),
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--api", required=True, help="fake API server URL")
    ap.add_argument("--metrics", required=True, help="kproxy's metrics server URL")
    ap.add_argument("--save", required=True, help="the backend's iptables-save command")
    ap.add_argument("--changes", type=int, default=100)
    ap.add_argument("--services", type=int, default=100)
    ap.add_argument("--endpoints", type=int, default=2)
    args = ap.parse_args()

    api, metrics = Client(args.api), Client(args.metrics)
    objects = [node()]
    for i in range(args.services):
        name = "svc-%d" % i
        objects.append(service(name, "198.19.%d.%d" % (1 + i // 250, 1 + i % 250)))
        objects.append(
            endpoint_slice(
                name,
                ["198.%d.%d.%d" % (20 + k // 250, k % 250, 2 + i % 250) for k in range(args.endpoints)],
            )
        )
    objects.append(service("bench", "198.19.0.10"))
    objects.append(endpoint_slice("bench", ["198.18.1.2"]))
    put(api, objects)
    # The kernel, not /debug/rules: at scale the first sync's chains come in
    # batches, and its last payload is tens of MB.
    deadline = time.monotonic() + max(30, args.services / 10)
    last_svc = "198.19.%d.%d" % (1 + (args.services - 1) // 250, 1 + (args.services - 1) % 250)
    while True:
        out = subprocess.run(args.save.split() + ["-t", "nat"], capture_output=True, text=True)
        if "--to-destination 198.18.1.2:8080" in out.stdout and (
            args.services == 0 or last_svc + "/32" in out.stdout
        ):
            break
        if time.monotonic() > deadline:
            raise SystemExit("watch_latency: kproxy did not program the initial state in time")
        time.sleep(1)

    applied, kernel = [], []
    behind = 0
    for i in range(args.changes):
        addr = "198.18.%d.%d" % (10 + i // 250, 2 + i % 250)
        needle = "--to-destination %s:8080" % addr
        t0 = time.monotonic()
        put_send(api, [endpoint_slice("bench", [addr])])
        t1 = wait_rules(metrics, needle.encode(), DEADLINE_S)
        if t1 is None:
            raise SystemExit("watch_latency: change %d (%s) not applied in %.0f s" % (i, addr, DEADLINE_S))
        out = subprocess.run(args.save.split() + ["-t", "nat"], capture_output=True, text=True)
        t2 = time.monotonic()
        if needle not in out.stdout:
            # /debug/rules ran ahead of the kernel: when the last payload
            # was too large to keep, it is rebuilt from the model, which
            # already holds the change. Then the kernel is the clock.
            behind += 1
            while needle not in out.stdout:
                if time.monotonic() - t0 > DEADLINE_S:
                    raise SystemExit(
                        "watch_latency: change %d: /debug/rules has %s but the kernel does not"
                        % (i, addr)
                    )
                out = subprocess.run(args.save.split() + ["-t", "nat"], capture_output=True, text=True)
                t2 = time.monotonic()
            t1 = t2
        put_finish(api)
        applied.append((t1 - t0) * 1000)
        kernel.append((t2 - t0) * 1000)
    print(summary("applied", applied))
    print(summary("kernel", kernel))
    if behind:
        print("note: %d of %d changes were timed by polling the kernel (/debug/rules ran ahead)"
              % (behind, args.changes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
