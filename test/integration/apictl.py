#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Drives test/fakeapi.py's control endpoint for the watch scenarios and benches.

Usage: apictl.py [--ca FILE] URL VERB ARGS..., where VERB ARGS is one of
  apictl.py URL sync NEW.json [OLD.json] [--before CMD] [--after CMD]
      Makes the fake API server hold NEW's objects, in one atomic control
      list: objects in NEW that are new or differ from OLD (resourceVersion
      aside) are put, objects in OLD that are not in NEW are deleted. NEW and
      OLD are kproxy --from-file states (JSON Lists, as state.py writes them);
      without OLD every object of NEW is put. CMD is one control command (or
      a list of them) as JSON, sent in the same list before or after the
      changes (e.g. --before '{"op": "restart"}'). Prints the puts, deletes
      and the API's resourceVersion afterwards.
  apictl.py URL cmd JSON       sends one control command (or a list); prints the answer
  apictl.py URL state          prints GET /_state
  apictl.py URL requests       prints the number of API requests the server has seen
  apictl.py URL watching MARK [RESOURCE...]
      exit 0 when every RESOURCE (default: services, endpointslices and
      nodes) has an open watch opened by request number MARK or later
  apictl.py URL timeline MARK COUNT TIMEOUT [PATH_PREFIX]
      polls the server every 10 ms until COUNT requests whose path starts
      with PATH_PREFIX have arrived since request number MARK (or TIMEOUT
      seconds pass), and prints a line for each as soon as it is seen: the
      milliseconds since polling began, the method, the path and "watch" or
      "list". Exit 1 on timeout.

URL is the fake API server's address, e.g. http://127.0.0.1:43210; an
https:// one is verified with the CA certificates of FILE (--ca). Exit
status 0, or 1 with a message when the server refuses or cannot be reached.
"""
import json
import ssl
import sys
import time
import urllib.error
import urllib.request


# The TLS context for https:// URLs (--ca), None for the system's.
CONTEXT = None


def call(url, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        url + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10, context=CONTEXT) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise SystemExit("apictl: %s %s: HTTP %d: %s" % (url, path, e.code, e.read()[:200]))
    except OSError as e:
        raise SystemExit("apictl: %s %s: %s" % (url, path, e))


def identity(obj):
    meta = obj.get("metadata") or {}
    return (obj.get("kind"), meta.get("namespace"), meta.get("name"))


def comparable(obj):
    obj = json.loads(json.dumps(obj))
    (obj.get("metadata") or {}).pop("resourceVersion", None)
    return obj


def load(path):
    with open(path) as f:
        items = json.load(f).get("items") or []
    return {identity(o): o for o in items}


def as_list(text):
    cmd = json.loads(text)
    return cmd if isinstance(cmd, list) else [cmd]


def sync(url, args):
    before, after, files = [], [], []
    i = 0
    while i < len(args):
        if args[i] in ("--before", "--after") and i + 1 < len(args):
            (before if args[i] == "--before" else after).extend(as_list(args[i + 1]))
            i += 2
        else:
            files.append(args[i])
            i += 1
    if len(files) not in (1, 2):
        raise SystemExit("apictl: sync needs NEW.json [OLD.json]")
    new = load(files[0])
    old = load(files[1]) if len(files) == 2 else {}
    cmds = list(before)
    puts = deletes = 0
    for key in sorted(new, key=str):
        if key not in old or comparable(old[key]) != comparable(new[key]):
            cmds.append({"op": "put", "object": new[key]})
            puts += 1
    for key in sorted(old, key=str):
        if key not in new:
            kind, ns, name = key
            cmds.append({"op": "delete", "kind": kind, "namespace": ns, "name": name})
            deletes += 1
    cmds.extend(after)
    rv = call(url, "/_control", cmds)["rv"]
    print("put %d deleted %d rv %s" % (puts, deletes, rv))


def watching(url, mark, resources):
    st = call(url, "/_state")
    want = set(resources or ("services", "endpointslices", "nodes"))
    have = {s["resource"] for s in st["streams"] if s["request"] >= mark}
    print("watching: " + " ".join(sorted(have)))
    return 0 if want <= have else 1


def timeline(url, mark, count, timeout, prefix):
    start = time.monotonic()
    seen = 0
    hits = 0
    while hits < count:
        now = time.monotonic() - start
        reqs = call(url, "/_state")["requests"][mark:]
        for r in reqs[seen:]:
            if r["path"].startswith(prefix) and hits < count:
                kind = "watch" if r["query"].get("watch") in ("1", "true") else "list"
                print("%d %s %s %s" % (now * 1000, r["method"], r["path"], kind), flush=True)
                hits += 1
        seen = len(reqs)
        if hits >= count or now > timeout:
            break
        time.sleep(0.01)
    return 0 if hits >= count else 1


def main():
    global CONTEXT
    argv = sys.argv[1:]
    if len(argv) >= 2 and argv[0] == "--ca":
        CONTEXT = ssl.create_default_context(cafile=argv[1])
        argv = argv[2:]
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    url, verb, args = argv[0].rstrip("/"), argv[1], argv[2:]
    if verb == "sync":
        sync(url, args)
    elif verb == "cmd" and len(args) == 1:
        print(json.dumps(call(url, "/_control", as_list(args[0]))))
    elif verb == "state" and not args:
        print(json.dumps(call(url, "/_state"), indent=1))
    elif verb == "requests" and not args:
        print(len(call(url, "/_state")["requests"]))
    elif verb == "watching" and args:
        return watching(url, int(args[0]), args[1:])
    elif verb == "timeline" and len(args) in (3, 4):
        return timeline(
            url, int(args[0]), int(args[1]), float(args[2]), args[3] if len(args) == 4 else "/"
        )
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
