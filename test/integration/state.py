#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Writes a kproxy --from-file state (a JSON List) from a short description.

Usage: state.py PODS_FILE < DESCRIPTION > STATE.json

PODS_FILE has one "NAME NODE IP" line per pod (lib.sh keeps it). The
description has one object per line; blank lines and "#" comments are
skipped:

  svc NAME CLUSTER_IP [KEY=VALUE...] PORT...
      PORT is NAME:PROTO:PORT:TARGET_PORT[:NODE_PORT], e.g. http:tcp:80:8080:30080
      KEY is one of
        type=ClusterIP|NodePort|LoadBalancer   (default: LoadBalancer with lb=,
                                                NodePort with a node port, else ClusterIP)
        etp=Local|Cluster      spec.externalTrafficPolicy (Local on a
                               LoadBalancer also sets healthCheckNodePort)
        itp=Local|Cluster      spec.internalTrafficPolicy
        affinity=ClientIP      spec.sessionAffinity
        lb=IP[,IP]             status.loadBalancer.ingress
        extip=IP[,IP]          spec.externalIPs
        ranges=CIDR[,CIDR]     spec.loadBalancerSourceRanges
        hc=PORT                spec.healthCheckNodePort (default 32000 + index)
        proxy=NAME             label service.kubernetes.io/service-proxy-name
                               (another proxy's Service: kproxy ignores it)
  eps NAME [POD...]            one ready EndpointSlice for service NAME with
                               the pods' addresses and node names; "POD!" marks
                               a pod not ready, "POD@ZONE" gives it the zone
                               hint ZONE (hints.forZones; "POD@ZONE!" both)
  node NAME [tainted] [deleting]
                               node-a's or node-b's Node object with the taint
                               ToBeDeletedByClusterAutoscaler and/or a
                               metadata.deletionTimestamp
  raw JSON                     one object copied as it is

Every object lives in Kubernetes namespace "it". Node objects for node-a
(192.0.2.10, zone-a) and node-b (192.0.2.11, zone-b) are always written
first.
"""
import json
import sys

NAMESPACE = "it"
NODES = (("node-a", "192.0.2.10"), ("node-b", "192.0.2.11"))


def node(name, ip):
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": {
                "kubernetes.io/hostname": name,
                "topology.kubernetes.io/zone": "zone-" + name[-1],
            },
        },
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": name},
            ]
        },
    }


def mark_node(words, items):
    """Marks one of the Node objects at the head of items as going away."""
    names = [n for n, _ in NODES]
    if not words or words[0] not in names:
        raise ValueError("node: want one of %s" % ", ".join(names))
    obj = items[names.index(words[0])]
    for w in words[1:]:
        if w == "tainted":
            obj["spec"] = {
                "taints": [{"key": "ToBeDeletedByClusterAutoscaler", "effect": "NoSchedule"}]
            }
        elif w == "deleting":
            obj["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
        else:
            raise ValueError("node %s: unknown mark %r" % (words[0], w))


def parse_port(text):
    f = text.split(":")
    if len(f) not in (4, 5):
        raise ValueError("port %r: want NAME:PROTO:PORT:TARGET[:NODEPORT]" % text)
    p = {
        "name": f[0],
        "protocol": f[1].upper(),
        "port": int(f[2]),
        "targetPort": int(f[3]),
    }
    if len(f) == 5:
        p["nodePort"] = int(f[4])
    return p


def service(words, index, ports_of):
    name, ip = words[0], words[1]
    keys, ports = {}, []
    for w in words[2:]:
        if "=" in w:
            k, v = w.split("=", 1)
            keys[k] = v
        else:
            ports.append(parse_port(w))
    ports_of[name] = ports
    if "type" in keys:
        kind = keys["type"]
    elif "lb" in keys:
        kind = "LoadBalancer"
    elif any("nodePort" in p for p in ports):
        kind = "NodePort"
    else:
        kind = "ClusterIP"
    spec = {"type": kind, "clusterIP": ip, "clusterIPs": [ip], "ports": ports}
    status = {}
    if "etp" in keys:
        spec["externalTrafficPolicy"] = keys["etp"]
        # As the API server: only a LoadBalancer gets a health-check port.
        if keys["etp"] == "Local" and kind == "LoadBalancer":
            spec["healthCheckNodePort"] = int(keys.get("hc", 32000 + index))
    if "itp" in keys:
        spec["internalTrafficPolicy"] = keys["itp"]
    if "affinity" in keys:
        spec["sessionAffinity"] = keys["affinity"]
        spec["sessionAffinityConfig"] = {"clientIP": {"timeoutSeconds": 10800}}
    if "extip" in keys:
        spec["externalIPs"] = keys["extip"].split(",")
    if "ranges" in keys:
        spec["loadBalancerSourceRanges"] = keys["ranges"].split(",")
    if "lb" in keys:
        status["loadBalancer"] = {"ingress": [{"ip": a} for a in keys["lb"].split(",")]}
    obj = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"namespace": NAMESPACE, "name": name, "resourceVersion": "1"},
        "spec": spec,
    }
    if "proxy" in keys:
        obj["metadata"]["labels"] = {"service.kubernetes.io/service-proxy-name": keys["proxy"]}
    if status:
        obj["status"] = status
    return obj


def slice_(words, pods, ports_of):
    name = words[0]
    if name not in ports_of:
        raise ValueError("eps %s: no such service above" % name)
    endpoints = []
    for w in words[1:]:
        ready = not w.endswith("!")
        w, _, zone = w.rstrip("!").partition("@")
        pod = w.rstrip("!")
        ready = ready and not w.endswith("!")
        if pod not in pods:
            raise ValueError("eps %s: no such pod %s" % (name, pod))
        node_name, ip = pods[pod]
        ep = {"addresses": [ip], "conditions": {"ready": ready}, "nodeName": node_name}
        if zone:
            ep["hints"] = {"forZones": [{"name": zone}]}
        endpoints.append(ep)
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "namespace": NAMESPACE,
            "name": name + "-1",
            "resourceVersion": "1",
            "labels": {"kubernetes.io/service-name": name},
        },
        "addressType": "IPv4",
        "ports": [
            {"name": p["name"], "port": p["targetPort"], "protocol": p["protocol"]}
            for p in ports_of[name]
        ],
        "endpoints": endpoints,
    }


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: state.py PODS_FILE < DESCRIPTION\n")
        return 2
    pods = {}
    with open(sys.argv[1]) as f:
        for line in f:
            w = line.split()
            if len(w) == 3:
                pods[w[0]] = (w[1], w[2])
    items = [node(n, ip) for n, ip in NODES]
    ports_of = {}
    for lineno, line in enumerate(sys.stdin, 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        verb, _, rest = line.partition(" ")
        try:
            if verb == "svc":
                items.append(service(rest.split(), len(ports_of), ports_of))
            elif verb == "eps":
                items.append(slice_(rest.split(), pods, ports_of))
            elif verb == "node":
                mark_node(rest.split(), items)
            elif verb == "raw":
                items.append(json.loads(rest))
            else:
                raise ValueError("unknown verb %r" % verb)
        except (ValueError, IndexError) as exc:
            sys.stderr.write("state.py: line %d: %s\n" % (lineno, exc))
            return 2
    json.dump({"apiVersion": "v1", "kind": "List", "items": items}, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
