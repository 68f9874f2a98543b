#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Churns Services and EndpointSlices on test/fakeapi.py for the soak test.

Usage: churn.py URL BASE.json --services N --rate OPS --seconds S
                [--seed N] [--final FINAL.json] [--start FILE] [--stop FILE]
                [--put-base]

BASE is a kproxy --from-file state: the Nodes and the services that keep
their endpoints throughout, which the server already holds (or which
--put-base puts first). churn.py puts N more services with their slices,
prints "churn: initial state: ...", waits until the --start FILE exists
(when given: the caller starts kproxy on the full state meanwhile), then,
for S seconds (or until the --stop FILE exists), changes the churned ones at
a steady OPS changes a second, in batches every 100 ms, each batch one
atomic control request:

  65%  an endpoint change: the slice gets 0 to 4 random endpoints (node-a's
       198.18.1.100-199 or node-b's 198.18.2.100-199, one in ten not ready)
  10%  the slice is deleted (the service stays, without endpoints), or put
       back when it was
   8%  a service is deleted with its slice
   8%  a service is added with its slice (more often below N, less above)
   9%  a service changes: its port, its type (ClusterIP, NodePort,
       LoadBalancer with externalTrafficPolicy Local and a health-check node
       port) or its session affinity

Objects BASE holds are never touched. Every churned object lives in namespace
"churn". Prints a line of counts every 10 s and at the end, and writes the
objects the server holds at the end to FINAL.json (a JSON List, so that
kproxy --dry-run --from-file FINAL.json gives the rules kproxy must hold).
Exit 0, or 1 when the server refuses or cannot be reached.
"""
import argparse
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

NS = "churn"


class Churn:
    def __init__(self, url, rng, target):
        self.url = url
        self.rng = rng
        self.target = target
        self.services = {}  # name -> Service
        self.slices = {}  # service name -> EndpointSlice (absent: deleted)
        self.next_id = 0
        self.free_ips = ["198.19.%d.%d" % (16 + i // 250, 1 + i % 250) for i in range(4000)]
        self.free_nodeports = list(range(30100, 31999))
        self.free_hcports = list(range(32100, 32700))
        self.free_lbips = ["198.51.100.%d" % i for i in range(10, 250)]
        rng.shuffle(self.free_ips)
        rng.shuffle(self.free_nodeports)
        rng.shuffle(self.free_hcports)
        rng.shuffle(self.free_lbips)
        self.counts = {"endpoints": 0, "slice": 0, "delete": 0, "add": 0, "change": 0}
        self.requests = 0

    def post(self, cmds):
        req = urllib.request.Request(
            self.url + "/_control",
            data=json.dumps(cmds).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                resp.read()
        except (urllib.error.URLError, OSError) as e:
            raise SystemExit("churn: %s/_control: %s" % (self.url, e))
        self.requests += 1

    # ---- objects -----------------------------------------------------------

    def endpoints(self):
        eps = []
        for ip in self.rng.sample(range(100), self.rng.randint(0, 4)):
            node = self.rng.choice(("node-a", "node-b"))
            addr = "198.18.%d.%d" % (1 if node == "node-a" else 2, 100 + ip)
            eps.append(
                {
                    "addresses": [addr],
                    "conditions": {"ready": self.rng.random() >= 0.1},
                    "nodeName": node,
                }
            )
        return eps

    def make_slice(self, svc):
        name = svc["metadata"]["name"]
        return {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "namespace": NS,
                "name": name + "-1",
                "labels": {"kubernetes.io/service-name": name},
            },
            "addressType": "IPv4",
            "ports": [
                {"name": p["name"], "port": p["targetPort"], "protocol": p["protocol"]}
                for p in svc["spec"]["ports"]
            ],
            "endpoints": self.endpoints(),
        }

    def set_type(self, svc, kind):
        """Gives svc the type kind, taking and returning ports and IPs."""
        spec, port = svc["spec"], svc["spec"]["ports"][0]
        if "nodePort" in port and kind == "ClusterIP":
            self.free_nodeports.append(port.pop("nodePort"))
        if kind != "ClusterIP" and "nodePort" not in port:
            port["nodePort"] = self.free_nodeports.pop()
        if spec["type"] == "LoadBalancer" and kind != "LoadBalancer":
            self.free_hcports.append(spec.pop("healthCheckNodePort"))
            spec.pop("externalTrafficPolicy")
            self.free_lbips.append(svc.pop("status")["loadBalancer"]["ingress"][0]["ip"])
        if kind == "LoadBalancer" and spec["type"] != "LoadBalancer":
            spec["externalTrafficPolicy"] = "Local"
            spec["healthCheckNodePort"] = self.free_hcports.pop()
            svc["status"] = {"loadBalancer": {"ingress": [{"ip": self.free_lbips.pop()}]}}
        spec["type"] = kind

    def make_service(self):
        name = "c%d" % self.next_id
        self.next_id += 1
        ip = self.free_ips.pop()
        svc = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"namespace": NS, "name": name},
            "spec": {
                "type": "ClusterIP",
                "clusterIP": ip,
                "clusterIPs": [ip],
                "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080}],
            },
        }
        r = self.rng.random()
        if r < 0.05:
            self.set_type(svc, "LoadBalancer")
        elif r < 0.15:
            self.set_type(svc, "NodePort")
        return svc

    def forget(self, svc):
        self.set_type(svc, "ClusterIP")
        self.free_ips.append(svc["spec"]["clusterIP"])

    # ---- operations, each returning control commands ----------------------

    def add(self):
        svc = self.make_service()
        name = svc["metadata"]["name"]
        self.services[name] = svc
        self.slices[name] = self.make_slice(svc)
        self.counts["add"] += 1
        return [{"op": "put", "object": svc}, {"op": "put", "object": self.slices[name]}]

    def delete(self, name):
        svc = self.services.pop(name)
        cmds = [{"op": "delete", "kind": "Service", "namespace": NS, "name": name}]
        if self.slices.pop(name, None) is not None:
            cmds.append(
                {"op": "delete", "kind": "EndpointSlice", "namespace": NS, "name": name + "-1"}
            )
        self.forget(svc)
        self.counts["delete"] += 1
        return cmds

    def new_endpoints(self, name):
        sl = self.slices.get(name)
        if sl is None:
            sl = self.slices[name] = self.make_slice(self.services[name])
        else:
            sl = self.slices[name] = dict(sl, endpoints=self.endpoints())
        self.counts["endpoints"] += 1
        return [{"op": "put", "object": sl}]

    def toggle_slice(self, name):
        self.counts["slice"] += 1
        if name in self.slices:
            del self.slices[name]
            return [
                {"op": "delete", "kind": "EndpointSlice", "namespace": NS, "name": name + "-1"}
            ]
        self.slices[name] = self.make_slice(self.services[name])
        return [{"op": "put", "object": self.slices[name]}]

    def change(self, name):
        svc = json.loads(json.dumps(self.services[name]))
        r = self.rng.random()
        if r < 0.4:
            port = svc["spec"]["ports"][0]
            port["port"] = 80 if port["port"] != 80 else 8000 + self.rng.randint(0, 99)
        elif r < 0.8:
            kinds = ["ClusterIP", "NodePort", "LoadBalancer"]
            kinds.remove(svc["spec"]["type"])
            self.set_type(svc, self.rng.choice(kinds))
        elif svc["spec"].get("sessionAffinity") == "ClientIP":
            del svc["spec"]["sessionAffinity"]
            del svc["spec"]["sessionAffinityConfig"]
        else:
            svc["spec"]["sessionAffinity"] = "ClientIP"
            svc["spec"]["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
        self.services[name] = svc
        self.counts["change"] += 1
        return [{"op": "put", "object": svc}]

    def step(self):
        names = list(self.services)
        r = self.rng.random()
        excess = len(names) - self.target
        if not names or r < 0.08 - excess / 500:
            return self.add()
        name = self.rng.choice(names)
        if r < 0.16:
            return self.delete(name)
        if r < 0.26:
            return self.toggle_slice(name)
        if r < 0.35:
            return self.change(name)
        return self.new_endpoints(name)

    def objects(self):
        out = list(self.services.values()) + list(self.slices.values())
        return sorted(out, key=lambda o: (o["kind"], o["metadata"]["name"]))

    def summary(self):
        c = self.counts
        return (
            "%d services, %d slices; %d changes: %d endpoint sets, %d slice deletes/returns, "
            "%d service deletes, %d adds, %d service changes; %d requests"
            % (
                len(self.services),
                len(self.slices),
                sum(c.values()),
                c["endpoints"],
                c["slice"],
                c["delete"],
                c["add"],
                c["change"],
                self.requests,
            )
        )


def main():
    ap = argparse.ArgumentParser(description="churn services on fakeapi.py")
    ap.add_argument("url")
    ap.add_argument("base")
    ap.add_argument("--services", type=int, default=1000)
    ap.add_argument("--rate", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--final")
    ap.add_argument("--start")
    ap.add_argument("--stop")
    ap.add_argument("--put-base", action="store_true")
    args = ap.parse_args()

    url = args.url.rstrip("/")
    rng = random.Random(args.seed)
    with open(args.base) as f:
        base = json.load(f).get("items") or []
    ch = Churn(url, rng, args.services)
    if args.put_base:
        ch.post([{"op": "put", "object": o} for o in base])
    batch = []
    for _ in range(args.services):
        batch.extend(ch.add())
        if len(batch) >= 400:
            ch.post(batch)
            batch = []
    if batch:
        ch.post(batch)
    ch.counts["add"] = 0
    print("churn: initial state: " + ch.summary(), flush=True)
    # The caller may start kproxy only now, so that its first sync sees the
    # full state (see soak.sh); the churn's seconds count from the go.
    while args.start and not os.path.exists(args.start):
        if args.stop and os.path.exists(args.stop):
            break
        time.sleep(0.1)

    start = time.monotonic()
    tick, done, last_report = 0.1, 0, start
    while True:
        now = time.monotonic()
        if now - start >= args.seconds or (args.stop and os.path.exists(args.stop)):
            break
        # Steady rate: as many changes as are due by now.
        due = int((now - start) * args.rate)
        cmds = []
        while done < due:
            cmds.extend(ch.step())
            done += 1
        if cmds:
            ch.post(cmds)
        if now - last_report >= 10:
            print("churn: %4.0f s: %s" % (now - start, ch.summary()), flush=True)
            last_report = now
        time.sleep(max(0.0, tick - (time.monotonic() - now)))
    print("churn: done after %.0f s: %s" % (time.monotonic() - start, ch.summary()), flush=True)
    if args.final:
        items = list(base) + ch.objects()
        with open(args.final + ".next", "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)
        os.rename(args.final + ".next", args.final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
