#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes a synthetic cluster state (a JSON List) for benchmarks.

S services x E endpoints, a realistic mix: 70% ClusterIP, 20% NodePort, 10%
LoadBalancer with a quarter of those Local policy; every 10th service has two
ports; endpoints spread over 20 nodes (node-0 is "this" node).
Usage: gen_cluster.py SERVICES ENDPOINTS [--generation G] [--changed N] > state.json
  --generation G moves the endpoints of services 0..N-1 (--changed) to new
  addresses, so that a state change touches exactly those services.
  --skip K leaves out service K (to measure adding or removing one service).
"""
import argparse
import json
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("services", type=int)
    ap.add_argument("endpoints", type=int)
    ap.add_argument("--generation", type=int, default=0)
    ap.add_argument("--changed", type=int, default=1)
    ap.add_argument("--skip", type=int, default=-1)
    a = ap.parse_args()
    items = []
    for n in range(20):
        items.append({"kind": "Node", "metadata": {"name": f"node-{n}"},
                      "status": {"addresses": [{"type": "InternalIP",
                                                "address": f"192.0.2.{n + 10}"}]}})
    for i in range(a.services):
        if i == a.skip:
            continue
        kind = i % 10
        ports = [{"name": "http", "port": 80, "protocol": "TCP"}]
        if i % 10 == 3:
            ports.append({"name": "dns", "port": 53, "protocol": "UDP"})
        spec = {"clusterIP": f"10.{96 + i // 65536}.{(i // 256) % 256}.{i % 256}",
                "ports": ports, "type": "ClusterIP"}
        status = None
        if kind in (7, 8):
            spec["type"] = "NodePort"
            for k, p in enumerate(ports):
                p["nodePort"] = 30000 + (i * 2 + k) % 2700
        elif kind == 9:
            spec["type"] = "LoadBalancer"
            for k, p in enumerate(ports):
                p["nodePort"] = 30000 + (i * 2 + k) % 2700
            if (i // 10) % 4 == 0:
                spec["externalTrafficPolicy"] = "Local"
                spec["healthCheckNodePort"] = 32700 + (i // 10) % 60
            status = {"loadBalancer": {"ingress": [
                {"ip": f"198.51.{100 + i // 65536}.{(i // 256) % 256}"}]}}
        svc = {"kind": "Service", "metadata": {"namespace": f"ns{i % 50}", "name": f"svc{i}"},
               "spec": spec}
        if status:
            svc["status"] = status
        items.append(svc)
        gen = a.generation if i < a.changed else 0
        eps = []
        for e in range(a.endpoints):
            n = (i * a.endpoints + e + gen * 7) % 20
            host = (i * a.endpoints + e) % 65536
            eps.append({"addresses": [f"172.{16 + gen % 8}.{host // 256}.{host % 256}"],
                        "conditions": {"ready": True}, "nodeName": f"node-{n}"})
        items.append({"kind": "EndpointSlice", "addressType": "IPv4",
                      "metadata": {"namespace": f"ns{i % 50}", "name": f"svc{i}-abc",
                                   "labels": {"kubernetes.io/service-name": f"svc{i}"}},
                      "ports": [{"name": p["name"], "port": 8000 + k, "protocol": p["protocol"]}
                                for k, p in enumerate(ports)],
                      "endpoints": eps})
    json.dump({"kind": "List", "apiVersion": "v1", "items": items}, sys.stdout,
              separators=(",", ":"))


if __name__ == "__main__":
    main()
