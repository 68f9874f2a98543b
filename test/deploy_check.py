#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""deploy_check - checks scripts/deploy/kproxy.yaml and its Containerfile.

Usage: test/deploy_check.py [--kproxy BUILD/kproxy] [--manifest PATH]
                            [--containerfile PATH] [-v]

Python standard library only. The manifest is read with a small, strict
parser for the block-YAML subset it is written in (block maps and lists,
"- key: value" items, plain, single- and double-quoted scalars, "---",
comments). Anything outside the subset is an error, and so is anything YAML
1.1 and 1.2 read differently (yes/no/on/off, 0755, 1:30, dates, floats):
kubectl's YAML library is a 1.1 one, so such values must be quoted.

The checks, each printed as "ok - ..." or "FAIL - ...":
  * the five objects (ServiceAccount, ClusterRole, ClusterRoleBinding,
    ConfigMap kproxy-flags, DaemonSet kproxy), in kube-system where namespaced;
  * RBAC: exactly list/watch on services, endpoints and discovery.k8s.io
    endpointslices, get/list/watch on nodes and create/patch on core
    events (kproxy posts core/v1 Events), and nothing else; no wildcard;
    the binding ties the role to the ServiceAccount the DaemonSet runs as;
  * the DaemonSet's pod: host network, ClusterFirstWithHostNet, priority
    system-node-critical, tolerates everything, RollingUpdate with
    maxUnavailable 1, the xtables lock (FileOrCreate) and /lib/modules
    (read-only) mounts, resource requests;
  * the container: image kproxy:<kproxy --version>, command = the Containerfile's
    ENTRYPOINT, --hostname-override=$(NODE_NAME) with NODE_NAME from
    spec.nodeName, every $(VAR) defined, every ConfigMap key present, every
    flag known to `kproxy --help`, and kproxy accepting the flags as the pod
    would pass them (it is run with them and --dry-run);
  * security: privileged false, no privilege escalation, capabilities: drop
    ALL, add NET_ADMIN and nothing but NET_RAW besides;
  * probes: liveness /livez and readiness /healthz over HTTP on the port
    kproxy's healthz server listens on (its default from `kproxy --help`,
    unless the flags change it), not bound to loopback;
  * the Containerfile: debian:12 build stage with scripts/deps.sh and make,
    debian:12-slim runtime stage with the runtime packages, kproxy copied to
    the ENTRYPOINT path; with readelf and dpkg at hand, every library kproxy
    links comes from a package the runtime stage installs.

Then self-tests: the parser on good and bad snippets, and the checks on
broken copies of the manifest (privileged: true, an extra capability, a
missing verb, a probe on another port, another command path...), each of
which must be caught. The last line is "deploy-check: N passed, M failed";
the exit status is 1 when anything failed, 2 for bad usage.
"""
import argparse
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

NAMESPACE = "kube-system"
FLAGS_CONFIGMAP = "kproxy-flags"
ALLOWED_CAPS = {"NET_ADMIN", "NET_RAW"}
REQUIRED_CAPS = {"NET_ADMIN"}
RUNTIME_PACKAGES = [
    "iptables",
    "libcurl4",
    "libcjson1",
    "libmnl0",
    "libip4tc2",
    "libmicrohttpd12",
    "libyaml-0-2",
    "libssl3",
    "ca-certificates",
]
# Packages every debian:12-slim image already holds.
BASE_PACKAGES = {"libc6"}
# What the ClusterRole grants, exactly: {(apiGroup, resource): verbs}. kproxy
# lists and watches the first four and reads its Node; it POSTs core/v1
# Events, and patch is kept as kube-proxy's role has it.
RBAC = {
    ("", "services"): {"list", "watch"},
    ("", "endpoints"): {"list", "watch"},
    ("discovery.k8s.io", "endpointslices"): {"list", "watch"},
    ("", "nodes"): {"get", "list", "watch"},
    ("", "events"): {"create", "patch"},
}
KINDS = {
    # kind: (apiVersion, namespaced)
    "ServiceAccount": ("v1", True),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", False),
    "ConfigMap": ("v1", True),
    "DaemonSet": ("apps/v1", True),
}

# ---- the YAML subset ----------------------------------------------------------


class YamlError(Exception):
    def __init__(self, lineno, msg):
        super().__init__("line %d: %s" % (lineno, msg))


class Line:
    __slots__ = ("lineno", "indent", "text")

    def __init__(self, lineno, indent, text):
        self.lineno, self.indent, self.text = lineno, indent, text


KEY_RE = re.compile(r"^([A-Za-z0-9_.][A-Za-z0-9_./-]*):(?: +|$)")
INT_RE = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
# Plain scalars that a YAML 1.1 reader (kubectl's) and a 1.2 reader see as
# different types, or as something else than the string they look like.
AMBIGUOUS = [
    (r"^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$", "a YAML 1.1 boolean"),
    (r"^[-+]?(?:0[0-9_]+|0[xXoObB][0-9a-fA-F_]+)$", "an octal, hex or binary number"),
    (r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$", "a YAML 1.1 sexagesimal number"),
    (r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt ].*)?$", "a YAML 1.1 timestamp"),
    (r"^[-+]?(?:[0-9][0-9_]*)?\.[0-9_]*(?:[eE][-+]?[0-9]+)?$", "a float"),
    (r"^[-+]?[0-9][0-9_]*[eE][-+]?[0-9]+$", "a float"),
    (r"^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$", "a float"),
    (r"^\+[0-9]+$", "a signed number"),
    (r"^[0-9][0-9_]*_[0-9_]*$", "a YAML 1.1 number with underscores"),
]
AMBIGUOUS = [(re.compile(regex), what) for regex, what in AMBIGUOUS]


def strip_comment(raw, lineno):
    """Returns raw without its comment: "#" first or after a blank, outside quotes."""
    quote = None
    i = 0
    while i < len(raw):
        c = raw[i]
        if quote == '"':
            if c == "\\":
                i += 1
            elif c == '"':
                quote = None
        elif quote == "'":
            if c == "'":
                quote = None
        elif c in "\"'" and (i == 0 or raw[i - 1] in " -:[{,"):
            quote = c
        elif c == "#" and (i == 0 or raw[i - 1] == " "):
            return raw[:i].rstrip()
        i += 1
    if quote:
        raise YamlError(lineno, "unterminated %s-quoted scalar (scalars must fit on one line)" % (
            "double" if quote == '"' else "single"))
    return raw.rstrip()


def parse_scalar(text, lineno):
    c = text[0]
    if c == '"':
        try:
            value = json.loads(text)
        except ValueError:
            raise YamlError(lineno, "bad double-quoted scalar %s (JSON escapes only)" % text)
        if not isinstance(value, str):
            raise YamlError(lineno, "bad double-quoted scalar %s" % text)
        return value
    if c == "'":
        inner = text[1:-1]
        if len(text) < 2 or text[-1] != "'" or "'" in inner.replace("''", ""):
            raise YamlError(lineno, "bad single-quoted scalar %s" % text)
        return inner.replace("''", "'")
    if text in ("[]", "{}"):
        return [] if text == "[]" else {}
    if c in "[{":
        raise YamlError(lineno, "flow collections are not supported: %s" % text)
    if c in "&*!|>%@`?,":
        raise YamlError(lineno, "%r is not supported at the start of a scalar: %s" % (c, text))
    if ": " in text or text.endswith(":") or " #" in text:
        raise YamlError(lineno, "plain scalar %r looks like a key or a comment: quote it" % text)
    if text in ("null", "Null", "NULL", "~"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if INT_RE.match(text):
        return int(text)
    for regex, what in AMBIGUOUS:
        if regex.match(text):
            raise YamlError(lineno, "plain scalar %r may be read as %s: quote it" % (text, what))
    return text


def is_item(text):
    return text == "-" or text.startswith("- ")


def parse_node(lines, i, indent):
    if is_item(lines[i].text):
        return parse_seq(lines, i, indent)
    return parse_map(lines, i, indent)


def check_no_deeper(lines, i, indent):
    if i < len(lines) and lines[i].indent > indent:
        raise YamlError(
            lines[i].lineno, "unexpected indentation (multi-line scalars are not supported)"
        )


def parse_map(lines, i, indent):
    result = {}
    while i < len(lines) and lines[i].indent == indent:
        line = lines[i]
        if is_item(line.text):
            raise YamlError(line.lineno, "a list item where a key was expected")
        m = KEY_RE.match(line.text)
        if not m:
            raise YamlError(line.lineno, "expected 'key: value', got %r" % line.text)
        key = m.group(1)
        for regex, what in AMBIGUOUS[:1]:
            if regex.match(key):
                raise YamlError(line.lineno, "key %r may be read as %s" % (key, what))
        if key in result:
            raise YamlError(line.lineno, "duplicate key %r" % key)
        rest = line.text[m.end():]
        if rest == "":
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if nxt and nxt.indent > indent:
                value, i = parse_node(lines, i + 1, nxt.indent)
            elif nxt and nxt.indent == indent and is_item(nxt.text):
                value, i = parse_seq(lines, i + 1, indent)
            else:
                raise YamlError(line.lineno, "key %r has no value (write \"\" or null)" % key)
        else:
            value = parse_scalar(rest, line.lineno)
            i += 1
            check_no_deeper(lines, i, indent)
        result[key] = value
    check_no_deeper(lines, i, indent)
    return result, i


def parse_seq(lines, i, indent):
    items = []
    while i < len(lines) and lines[i].indent == indent and is_item(lines[i].text):
        line = lines[i]
        rest = line.text[1:].lstrip(" ")
        if rest == "":
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if not nxt or nxt.indent <= indent:
                raise YamlError(line.lineno, "empty list item (write \"\" or null)")
            value, i = parse_node(lines, i + 1, nxt.indent)
        elif is_item(rest) or KEY_RE.match(rest):
            # "- key: value" or "- - x": the item is a block whose first line
            # starts where rest does.
            col = indent + len(line.text) - len(rest)
            lines[i] = Line(line.lineno, col, rest)
            value, i = parse_node(lines, i, col)
        else:
            value = parse_scalar(rest, line.lineno)
            i += 1
            check_no_deeper(lines, i, indent)
        items.append(value)
    return items, i


def parse_yaml(text):
    """Returns the list of documents in text; raises YamlError."""
    docs, current = [], []

    def flush():
        if current:
            if current[0].indent != 0:
                raise YamlError(current[0].lineno, "a document must start at column 0")
            value, end = parse_node(current, 0, 0)
            if end != len(current):
                raise YamlError(current[end].lineno, "%r does not continue the %s above it" % (
                    current[end].text, "list" if isinstance(value, list) else "map"))
            docs.append(value)
            del current[:]

    for lineno, raw in enumerate(text.split("\n"), 1):
        if "\r" in raw:
            raise YamlError(lineno, "carriage return")
        body = raw.lstrip(" ")
        if body.startswith("\t") or ("\t" in raw and not body.lstrip().startswith("#")):
            raise YamlError(lineno, "tab character")
        if raw.rstrip() == "---":
            flush()
            continue
        if raw.startswith("...") or raw.startswith("%") or raw.startswith("--- "):
            raise YamlError(lineno, "directives and markers with content are not supported")
        content = strip_comment(raw, lineno)
        if not content.strip():
            continue
        current.append(Line(lineno, len(content) - len(content.lstrip(" ")), content.strip()))
    flush()
    return docs


# ---- reading the inputs ---------------------------------------------------------


def help_text(kproxy):
    try:
        out = subprocess.run([kproxy, "--help"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise RuntimeError("cannot run %s --help (build it first, or pass --kproxy): %s"
                           % (kproxy, e.strerror))
    if out.returncode != 0:
        raise RuntimeError("%s --help exited %d: %s" % (kproxy, out.returncode, out.stderr.strip()))
    return out.stdout


def kproxy_version(kproxy):
    """The version KPROXY prints for --version ("kproxy 0.1.0" -> "0.1.0")."""
    try:
        out = subprocess.run([kproxy, "--version"], capture_output=True, text=True, timeout=30)
    except OSError as e:
        raise RuntimeError("cannot run %s --version: %s" % (kproxy, e.strerror))
    words = out.stdout.split()
    if out.returncode != 0 or len(words) != 2 or words[0] != "kproxy":
        raise RuntimeError("%s --version printed %r (exit %d), not 'kproxy VERSION'"
                           % (kproxy, out.stdout, out.returncode))
    return words[1]


def help_flags(text):
    """Returns {flag: its help text} from kproxy --help."""
    flags, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^ {2}(?:-\w, )?--([a-z0-9-]+)", line)
        if m:
            cur = m.group(1)
            flags[cur] = line
        elif cur and line.startswith("      "):
            flags[cur] += " " + line.strip()
        else:
            cur = None
    return flags


def help_default(flags, name):
    m = re.search(r"\(default ([^)]+)\)", flags.get(name, ""))
    return m.group(1) if m else None


def parse_containerfile(text):
    """Returns the stages: [{"from": image, "as": name, "instructions": [(VERB, args)]}]."""
    stages = []
    kept = [line for line in text.split("\n") if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(kept))
    for line in joined.split("\n"):
        line = line.strip()
        if not line:
            continue
        verb, _, args = line.partition(" ")
        verb = verb.upper()
        if verb == "FROM":
            m = re.match(r"^(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?$", args.strip(), re.I)
            if not m:
                raise ValueError("bad FROM line: %s" % line)
            stages.append({"from": m.group(1), "as": m.group(2), "instructions": []})
        elif not stages:
            if verb != "ARG":
                raise ValueError("%s before the first FROM" % verb)
        else:
            stages[-1]["instructions"].append((verb, args.strip()))
    return stages


def exec_form(args):
    try:
        v = json.loads(args)
    except ValueError:
        return None
    return v if isinstance(v, list) and all(isinstance(x, str) for x in v) else None


# ---- the checks -------------------------------------------------------------------


class Results:
    def __init__(self):
        self.items = []  # (ok, name, message)

    def check(self, name, ok, message=""):
        self.items.append((bool(ok), name, message))
        return bool(ok)

    def failures(self):
        return [(n, m) for ok, n, m in self.items if not ok]


def get(obj, *path):
    for p in path:
        if isinstance(obj, dict):
            obj = obj.get(p)
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return None
    return obj


def as_list(v):
    return v if isinstance(v, list) else []


def find_doc(docs, kind, name):
    for d in docs:
        if isinstance(d, dict) and d.get("kind") == kind and get(d, "metadata", "name") == name:
            return d
    return None


def check_objects(r, docs):
    for i, d in enumerate(docs):
        if not isinstance(d, dict):
            r.check("document %d is a map" % (i + 1), False, "it is a %s" % type(d).__name__)
            continue
        kind, name = d.get("kind"), get(d, "metadata", "name")
        if kind not in KINDS:
            r.check("document %d is one of %s" % (i + 1, ", ".join(sorted(KINDS))), False,
                    "kind %r" % kind)
            continue
        api, namespaced = KINDS[kind]
        r.check("%s %s: apiVersion %s" % (kind, name, api), d.get("apiVersion") == api,
                "apiVersion is %r" % d.get("apiVersion"))
        ns = get(d, "metadata", "namespace")
        if namespaced:
            r.check("%s %s: in namespace %s" % (kind, name, NAMESPACE), ns == NAMESPACE,
                    "namespace is %r" % ns)
        else:
            r.check("%s %s: cluster-scoped, no namespace" % (kind, name), ns is None,
                    "namespace is %r" % ns)
    seen = {}
    for d in docs:
        if isinstance(d, dict):
            key = (d.get("kind"), get(d, "metadata", "name"))
            seen[key] = seen.get(key, 0) + 1
    for key, n in sorted(seen.items(), key=str):
        if n > 1:
            r.check("%s %s defined once" % key, False, "defined %d times" % n)


def check_rbac(r, docs, sa_name):
    role = find_doc(docs, "ClusterRole", "kproxy")
    if not r.check("ClusterRole kproxy exists", role is not None, "missing"):
        return
    rules = [rule for rule in as_list(role.get("rules")) if isinstance(rule, dict)]
    granted = {}
    for rule in rules:
        for g in as_list(rule.get("apiGroups")):
            for res in as_list(rule.get("resources")):
                granted.setdefault((g, res), set()).update(as_list(rule.get("verbs")))
    for (g, res), verbs in sorted(RBAC.items()):
        have = granted.get((g, res), set())
        r.check("ClusterRole kproxy grants exactly %s on %s%s" % (
                    ", ".join(sorted(verbs)), res, " (%s)" % g if g else ""),
                have == verbs, "it grants %s" % (", ".join(sorted(have)) or "nothing"))
    extra = sorted("%s on %s%s" % (", ".join(sorted(v)), res, " (%s)" % g if g else "")
                   for (g, res), v in granted.items() if (g, res) not in RBAC)
    r.check("ClusterRole kproxy grants nothing else", not extra, "; ".join(extra))
    wild = [
        rule for rule in rules
        if any("*" in as_list(rule.get(k)) for k in ("apiGroups", "resources", "verbs"))
    ]
    r.check("ClusterRole kproxy has no wildcard", not wild, "wildcard in %s" % wild)
    binding = find_doc(docs, "ClusterRoleBinding", "kproxy")
    if not r.check("ClusterRoleBinding kproxy exists", binding is not None, "missing"):
        return
    ref = binding.get("roleRef") or {}
    r.check(
        "ClusterRoleBinding kproxy binds ClusterRole kproxy",
        ref.get("kind") == "ClusterRole" and ref.get("name") == "kproxy"
        and ref.get("apiGroup") == "rbac.authorization.k8s.io",
        "roleRef is %r" % ref,
    )
    want = {"kind": "ServiceAccount", "name": sa_name, "namespace": NAMESPACE}
    subj_ok = any(
        isinstance(s, dict) and all(s.get(k) == v for k, v in want.items())
        for s in as_list(binding.get("subjects"))
    )
    r.check("ClusterRoleBinding kproxy's subject is ServiceAccount %s/%s" % (NAMESPACE, sa_name),
            subj_ok, "subjects are %r" % binding.get("subjects"))


def expand(text, env):
    """Kubernetes' $(VAR) expansion: defined names are replaced, $$ is a literal $."""
    def repl(m):
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", repl, text)


def container_env(r, c, configmap):
    """Returns (env names defined, values as the pod would see them for node-a)."""
    names, values = [], {}
    data = (configmap or {}).get("data") or {}
    for e in as_list(c.get("env")):
        name = e.get("name")
        names.append(name)
        if "value" in e:
            values[name] = str(e["value"])
            continue
        ref = get(e, "valueFrom", "configMapKeyRef")
        field = get(e, "valueFrom", "fieldRef", "fieldPath")
        if ref:
            optional = ref.get("optional") is True
            r.check("env %s: from ConfigMap %s" % (name, FLAGS_CONFIGMAP),
                    ref.get("name") == FLAGS_CONFIGMAP, "from ConfigMap %r" % ref.get("name"))
            key = ref.get("key")
            if key in data:
                values[name] = data[key]
            elif not optional:
                r.check("env %s: ConfigMap %s has key %r" % (name, FLAGS_CONFIGMAP, key), False,
                        "no such key (and the reference is not optional: the pod would not start)")
        elif field == "spec.nodeName":
            values[name] = "node-a"
        elif field:
            values[name] = "x"
        else:
            r.check("env %s has a value" % name, False, "neither value nor valueFrom")
    dup = sorted({n for n in names if names.count(n) > 1})
    r.check("container env names are unique", not dup, "duplicates: %s" % dup)
    return names, values


def check_daemonset(r, docs, ctx):
    ds = find_doc(docs, "DaemonSet", "kproxy")
    if not r.check("DaemonSet kproxy exists", ds is not None, "missing"):
        return
    spec = ds.get("spec") or {}
    pod = get(spec, "template", "spec") or {}
    sel = get(spec, "selector", "matchLabels") or {}
    labels = get(spec, "template", "metadata", "labels") or {}
    r.check("DaemonSet: the selector matches the pod's labels",
            sel and all(labels.get(k) == v for k, v in sel.items()),
            "selector %r, labels %r" % (sel, labels))
    r.check("DaemonSet: updateStrategy RollingUpdate",
            get(spec, "updateStrategy", "type") == "RollingUpdate",
            "type is %r" % get(spec, "updateStrategy", "type"))
    r.check("DaemonSet: rollingUpdate.maxUnavailable 1",
            get(spec, "updateStrategy", "rollingUpdate", "maxUnavailable") == 1,
            "is %r" % get(spec, "updateStrategy", "rollingUpdate", "maxUnavailable"))
    for key, want in (
        ("hostNetwork", True),
        ("dnsPolicy", "ClusterFirstWithHostNet"),
        ("priorityClassName", "system-node-critical"),
    ):
        r.check("pod: %s %s" % (key, json.dumps(want)), pod.get(key) == want,
                "is %r" % pod.get(key))
    for key in ("hostPID", "hostIPC"):
        r.check("pod: no %s" % key, not pod.get(key), "%s is %r" % (key, pod.get(key)))
    sa = find_doc(docs, "ServiceAccount", pod.get("serviceAccountName"))
    r.check("pod: serviceAccountName kproxy, defined here",
            pod.get("serviceAccountName") == "kproxy" and sa,
            "serviceAccountName is %r" % pod.get("serviceAccountName"))
    check_rbac(r, docs, pod.get("serviceAccountName"))
    tol = [t for t in as_list(pod.get("tolerations")) if isinstance(t, dict)]
    r.check(
        "pod: tolerates every taint (operator Exists, no key, no effect)",
        any(t.get("operator") == "Exists" and not t.get("key") and not t.get("effect")
            for t in tol),
        "tolerations are %r" % tol,
    )
    psc = pod.get("securityContext") or {}
    r.check("pod: no pod-level privilege settings",
            not psc.get("privileged") and not psc.get("sysctls"), "securityContext is %r" % psc)

    containers = as_list(pod.get("containers"))
    r.check("pod: one container, kproxy",
            len(containers) == 1 and get(containers, 0, "name") == "kproxy",
            "containers: %r" % [get(c, "name") for c in containers])
    if not containers:
        return
    c = containers[0]
    check_container(r, c, pod, docs, ctx)


def check_container(r, c, pod, docs, ctx):
    want_image = "kproxy:%s" % ctx["version"]
    r.check("container: image %s" % want_image, c.get("image") == want_image,
            "image is %r" % c.get("image"))
    entry = ctx["entrypoint"]
    command = as_list(c.get("command"))
    r.check("container: command %s is the Containerfile's ENTRYPOINT" % json.dumps(command),
            entry is not None and command == entry,
            "ENTRYPOINT is %s" % json.dumps(entry))
    args = [str(a) for a in as_list(c.get("args"))]
    argv = command[1:] + args
    r.check("container: --hostname-override=$(NODE_NAME)",
            "--hostname-override=$(NODE_NAME)" in argv, "args are %r" % argv)
    node_env = [e for e in as_list(c.get("env"))
                if isinstance(e, dict) and e.get("name") == "NODE_NAME"]
    r.check("container: NODE_NAME from the downward API spec.nodeName",
            len(node_env) == 1
            and get(node_env[0], "valueFrom", "fieldRef", "fieldPath") == "spec.nodeName",
            "NODE_NAME is %r" % node_env)

    configmap = find_doc(docs, "ConfigMap", FLAGS_CONFIGMAP)
    r.check("ConfigMap %s exists" % FLAGS_CONFIGMAP, configmap is not None, "missing")
    data = (configmap or {}).get("data") or {}
    r.check("ConfigMap %s: every value is a string" % FLAGS_CONFIGMAP,
            all(isinstance(v, str) for v in data.values()),
            "non-strings: %s" % sorted(k for k, v in data.items() if not isinstance(v, str)))
    names, env = container_env(r, c, configmap)
    used = sorted({m for a in argv for m in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", a)})
    undefined = [u for u in used if u not in names]
    r.check("container: every $(VAR) in the arguments is an env variable", not undefined,
            "undefined: %s" % undefined)

    # Flags: known to kproxy, given once, accepted as the pod passes them.
    flags = ctx["flags"]
    given = [m.group(1) for m in (re.match(r"^--?([a-z0-9-]+)", a) for a in argv) if m]
    unknown = sorted({f for f in given if f not in flags})
    r.check("container: every flag is one `kproxy --help` lists", not unknown,
            "unknown: %s" % unknown)
    dup = sorted({f for f in given if given.count(f) > 1})
    r.check("container: no flag is given twice", not dup, "twice: %s" % dup)
    for mode in ("dry-run", "cleanup", "from-file"):
        r.check("container: no --%s" % mode, mode not in given,
                "--%s in the arguments" % mode)
    expanded = [expand(a, env) for a in argv]
    ok, msg = run_kproxy_flags(ctx, expanded, env)
    r.check("container: kproxy accepts its flags (%s)" % " ".join(expanded), ok, msg)

    # Security.
    sc = c.get("securityContext") or {}
    for key in ("privileged", "allowPrivilegeEscalation"):
        r.check("container: %s false" % key, sc.get(key) is False,
                "%s is %r" % (key, sc.get(key)))
    caps = sc.get("capabilities") or {}
    add = {str(x) for x in as_list(caps.get("add"))}
    r.check("container: capabilities added are among %s" % sorted(ALLOWED_CAPS),
            add <= ALLOWED_CAPS, "also %s" % sorted(add - ALLOWED_CAPS))
    r.check("container: capabilities add %s" % sorted(REQUIRED_CAPS), REQUIRED_CAPS <= add,
            "add is %s" % sorted(add))
    r.check("container: capabilities drop ALL", "ALL" in as_list(caps.get("drop")),
            "drop is %r" % caps.get("drop"))

    # Probes on the healthz server's port.
    bind = help_default(flags, "healthz-bind-address")
    for a in expanded:
        if a.startswith("--healthz-bind-address="):
            bind = a.split("=", 1)[1]
    port = None
    if bind and re.match(r"^.*:[0-9]+$", bind):
        host, port = bind.rsplit(":", 1)
        port = int(port)
        r.check("kproxy's healthz server (%s) is reachable from the kubelet" % bind,
                not host.startswith("127.") and host not in ("localhost", "[::1]"),
                "bound to loopback: the kubelet probes the node's address")
    r.check("kproxy's healthz port is known (%s)" % bind, port is not None,
            "from --help: %r" % bind)
    named = {p.get("name"): p.get("containerPort")
             for p in as_list(c.get("ports")) if isinstance(p, dict)}
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/healthz")):
        hg = get(c, probe, "httpGet") or {}
        p = hg.get("port")
        p = named.get(p, p) if isinstance(p, str) else p
        r.check("container: %s GET %s on port %s" % (probe, path, port),
                hg.get("path") == path and p == port and port is not None,
                "httpGet is %r" % hg)
        r.check("container: %s over HTTP to the pod's (node's) address" % probe,
                hg.get("scheme", "HTTP") == "HTTP" and "host" not in hg, "httpGet is %r" % hg)
    for pname, pnum in named.items():
        if pname == "healthz":
            r.check("container: port healthz is %s" % port, pnum == port,
                    "containerPort is %r" % pnum)
    req = get(c, "resources", "requests") or {}
    r.check("container: cpu and memory requests", "cpu" in req and "memory" in req,
            "requests are %r" % req)

    # Volumes.
    vols = {v.get("name"): v for v in as_list(pod.get("volumes")) if isinstance(v, dict)}
    mounts = {m.get("mountPath"): m for m in as_list(c.get("volumeMounts")) if isinstance(m, dict)}
    wanted = (("/run/xtables.lock", "FileOrCreate", False), ("/lib/modules", None, True))
    for path, vtype, readonly in wanted:
        m = mounts.get(path)
        v = vols.get(m.get("name")) if m else None
        hp = (v or {}).get("hostPath") or {}
        ok = m is not None and hp.get("path") == path and (vtype is None or hp.get("type") == vtype)
        typed = " (type %s)" % vtype if vtype else ""
        r.check("container: hostPath %s mounted at %s%s" % (path, path, typed), ok,
                "mount %r, volume %r" % (m, v))
        r.check("container: %s mounted %s" % (path, "read-only" if readonly else "read-write"),
                m is not None and bool(m.get("readOnly")) == readonly, "mount %r" % m)
    dangling = sorted(m.get("name") for m in mounts.values() if m.get("name") not in vols)
    r.check("container: every mount has a volume", not dangling, "no volume for %s" % dangling)
    unused = sorted(n for n in vols if n not in {m.get("name") for m in mounts.values()})
    r.check("pod: every volume is mounted", not unused, "unused: %s" % unused)


def run_kproxy_flags(ctx, argv, env):
    """Runs kproxy with argv plus --dry-run on an empty state, as a check of the flags."""
    state = os.path.join(ctx["tmp"], "empty.json")
    if not os.path.exists(state):
        with open(state, "w") as f:
            f.write('{"apiVersion": "v1", "kind": "List", "items": []}\n')
    penv = dict(os.environ)
    penv.update(env)
    try:
        out = subprocess.run([ctx["kproxy"]] + argv + ["--dry-run", "--from-file", state],
                             capture_output=True, text=True, env=penv, timeout=60)
    except OSError as e:
        return False, str(e)
    return out.returncode == 0, "exit %d: %s" % (out.returncode, out.stderr.strip()[:300])


def check_containerfile(r, ctx):
    stages = ctx["stages"]
    if not r.check("Containerfile: has a build and a runtime stage", len(stages) >= 2,
                   "%d stages" % len(stages)):
        return
    build, final = stages[0], stages[-1]
    r.check("Containerfile: build stage FROM debian:12", build["from"] == "debian:12",
            "FROM %s" % build["from"])
    runs = " ".join(a for v, a in build["instructions"] if v == "RUN")
    r.check("Containerfile: build stage runs scripts/deps.sh", "scripts/deps.sh" in runs,
            "RUN %s" % runs)
    r.check("Containerfile: build stage runs make", re.search(r"\bmake\b", runs), "RUN %s" % runs)
    r.check("Containerfile: runtime stage FROM debian:12-slim", final["from"] == "debian:12-slim",
            "FROM %s" % final["from"])
    installs = " ".join(
        a for v, a in final["instructions"] if v == "RUN" and "apt-get install" in a
    )
    words = set(re.split(r"[\s;&|]+", installs))
    missing = [p for p in RUNTIME_PACKAGES if p not in words]
    r.check("Containerfile: runtime stage installs %s" % " ".join(RUNTIME_PACKAGES), not missing,
            "missing: %s" % missing)
    ctx["installed"] = words
    entries = [a for v, a in final["instructions"] if v == "ENTRYPOINT"]
    entry = exec_form(entries[-1]) if entries else None
    r.check("Containerfile: ENTRYPOINT in exec form", entry,
            "ENTRYPOINT %s" % (entries[-1] if entries else "missing"))
    copies = [a for v, a in final["instructions"] if v == "COPY" and "--from=" in a]
    dest = None
    for a in copies:
        parts = [p for p in a.split() if not p.startswith("--")]
        if len(parts) == 2 and parts[0].endswith("/kproxy"):
            dest = parts[1]
    r.check("Containerfile: kproxy is copied to the ENTRYPOINT's path",
            entry and dest == entry[0], "COPY to %r, ENTRYPOINT %r" % (dest, entry))


def check_libraries(r, ctx):
    """Every library kproxy links (DT_NEEDED) comes from a package the runtime stage installs."""
    if not (shutil.which("readelf") and shutil.which("dpkg")):
        print("skip - libraries: readelf or dpkg not found")
        return
    out = subprocess.run(["readelf", "-d", ctx["kproxy"]], capture_output=True, text=True)
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out.stdout)
    have = ctx.get("installed", set()) | BASE_PACKAGES
    for lib in needed:
        if re.match(r"^lib(asan|ubsan|lsan|tsan)\.", lib):
            print("skip - library %s: a sanitizer's runtime (the image is built without)" % lib)
            continue
        q = subprocess.run(["dpkg", "-S", "*/" + lib], capture_output=True, text=True)
        pkgs = sorted({l.split(":")[0] for l in q.stdout.splitlines() if ":" in l})
        if not pkgs:
            print("skip - library %s: no package owns it here" % lib)
            continue
        r.check("Containerfile: %s comes from an installed package (%s)" % (lib, ", ".join(pkgs)),
                any(p in have for p in pkgs), "none of %s is installed by the runtime stage" % pkgs)


def check_all(docs, ctx, results=None):
    r = results or Results()
    check_objects(r, docs)
    check_containerfile(r, ctx)
    check_daemonset(r, docs, ctx)
    return r


# ---- self-tests --------------------------------------------------------------------

PARSER_CASES = [
    # (text, expected documents, or an error substring)
    ("a: 1\nb: x\n", [{"a": 1, "b": "x"}]),
    ("a:\n  - 1\n  - b: 2\n    c: 3\n", [{"a": [1, {"b": 2, "c": 3}]}]),
    ("a:\n- x\n- z\nb: true\n", [{"a": ["x", "z"], "b": True}]),
    ("---\na: 1 # note\n---\n# only a comment\n---\nb: '#x'\n", [{"a": 1}, {"b": "#x"}]),
    ('a: "x: y"\nb: \'it\'\'s\'\nc: ""\nd: null\ne: []\n',
     [{"a": "x: y", "b": "it's", "c": "", "d": None, "e": []}]),
    ("a:\n  - - 1\n    - 2\n", [{"a": [[1, 2]]}]),
    ("a: --f=$(X)\nb: kproxy:0.1.0\nc: 100m\n",
     [{"a": "--f=$(X)", "b": "kproxy:0.1.0", "c": "100m"}]),
    ("a: 1\na: 2\n", "duplicate key"),
    ("a: yes\n", "YAML 1.1 boolean"),
    ("a: 0755\n", "octal"),
    ("a: 1:30\n", "sexagesimal"),
    ("a: 1.5\n", "float"),
    ("a: 2024-01-02\n", "timestamp"),
    ("a: &x 1\n", "not supported"),
    ("a: [1, 2]\n", "flow collections"),
    ("a: |\n  text\n", "not supported"),
    ("a:\n", "has no value"),
    ("a: b\n  c: d\n", "unexpected indentation"),
    ("a: x: y\n", "looks like a key"),
    ("a:\n\t- x\n", "tab"),
    ("a: \"open\n", "unterminated"),
    ("- a\nb: c\n", "does not continue the list"),
    ("a: 1\n- b\n", "key was expected"),
    ("on: 1\n", "may be read as"),
]


def self_test_parser(r):
    for text, want in PARSER_CASES:
        try:
            got = parse_yaml(text)
            err = None
        except YamlError as e:
            got, err = None, str(e)
        if isinstance(want, str):
            r.check("parser rejects %r (%s)" % (text, want), err and want in err,
                    "got %r" % (err or got))
        else:
            r.check("parser reads %r" % text, err is None and got == want, "got %r" % (err or got))


def pod_of(docs):
    return get(find_doc(docs, "DaemonSet", "kproxy"), "spec", "template", "spec")


def container_of(docs):
    return get(pod_of(docs), "containers", 0)


def caps_of(docs):
    return container_of(docs)["securityContext"]["capabilities"]


def rule_for(docs, resource):
    role = find_doc(docs, "ClusterRole", "kproxy")
    return next(r for r in role["rules"] if resource in r.get("resources", []))


def split_rule(docs, resource, verbs):
    """Moves resource out of its rule into a rule of its own granting verbs."""
    rule = rule_for(docs, resource)
    rule["resources"] = [res for res in rule["resources"] if res != resource]
    find_doc(docs, "ClusterRole", "kproxy")["rules"].append(
        {"apiGroups": list(rule["apiGroups"]), "resources": [resource], "verbs": verbs})


def env_of(docs, name):
    return next(e for e in container_of(docs)["env"] if e["name"] == name)


def mount_of(docs, path):
    return next(m for m in container_of(docs)["volumeMounts"] if m["mountPath"] == path)


def volume_of(docs, name):
    return next(v for v in pod_of(docs)["volumes"] if v["name"] == name)


def set_arg(docs, prefix, value):
    c = container_of(docs)
    c["args"] = [a for a in c["args"] if not a.startswith(prefix)] + [value]


def drop_args(docs, word):
    c = container_of(docs)
    c["args"] = [a for a in c["args"] if word not in a]


def flags_data(docs):
    return find_doc(docs, "ConfigMap", FLAGS_CONFIGMAP)["data"]


def probe_of(docs, probe):
    return container_of(docs)[probe]["httpGet"]


def ds_spec(docs):
    return find_doc(docs, "DaemonSet", "kproxy")["spec"]


# Broken copies of the manifest the checks must catch: (description, change
# to the documents, change to the context, a substring of the failed check).
MUTATIONS = [
    ("privileged: true",
     lambda d: container_of(d)["securityContext"].update(privileged=True), None,
     "privileged false"),
    ("privileged missing",
     lambda d: container_of(d)["securityContext"].pop("privileged"), None,
     "privileged false"),
    ("capability SYS_ADMIN added",
     lambda d: caps_of(d)["add"].append("SYS_ADMIN"), None,
     "capabilities added are among"),
    ("NET_ADMIN not added",
     lambda d: caps_of(d).update(add=["NET_RAW"]), None,
     "capabilities add ['NET_ADMIN']"),
    ("watch on endpointslices missing",
     lambda d: rule_for(d, "endpointslices")["verbs"].remove("watch"), None,
     "grants exactly list, watch on endpointslices (discovery.k8s.io)"),
    ("endpointslices in the core group",
     lambda d: rule_for(d, "endpointslices").update(apiGroups=[""]), None,
     "grants exactly list, watch on endpointslices (discovery.k8s.io)"),
    ("get on nodes missing",
     lambda d: rule_for(d, "nodes")["verbs"].remove("get"), None,
     "grants exactly get, list, watch on nodes"),
    ("get on services",
     lambda d: rule_for(d, "services")["verbs"].append("get"), None,
     "grants exactly list, watch on services"),
    ("endpoints in a rule of their own, list only",
     lambda d: split_rule(d, "endpoints", ["list"]), None,
     "grants exactly list, watch on endpoints"),
    ("patch on events missing",
     lambda d: rule_for(d, "events")["verbs"].remove("patch"), None,
     "grants exactly create, patch on events"),
    ("update on events",
     lambda d: rule_for(d, "events")["verbs"].append("update"), None,
     "grants exactly create, patch on events"),
    ("events.k8s.io events",
     lambda d: rule_for(d, "events")["apiGroups"].append("events.k8s.io"), None,
     "grants nothing else"),
    ("delete on pods",
     lambda d: find_doc(d, "ClusterRole", "kproxy")["rules"].append(
         {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}), None,
     "grants nothing else"),
    ("wildcard verb",
     lambda d: rule_for(d, "nodes")["verbs"].append("*"), None,
     "no wildcard"),
    ("liveness probe on 10257",
     lambda d: probe_of(d, "livenessProbe").update(port=10257), None,
     "livenessProbe GET /livez"),
    ("readiness probe on /livez",
     lambda d: probe_of(d, "readinessProbe").update(path="/livez"), None,
     "readinessProbe GET /healthz"),
    ("healthz moved by a flag, probes not",
     lambda d: set_arg(d, "--healthz-bind-address", "--healthz-bind-address=0.0.0.0:10266"),
     None, "livenessProbe GET /livez on port 10266"),
    ("healthz bound to loopback",
     lambda d: set_arg(d, "--healthz-bind-address", "--healthz-bind-address=127.0.0.1:10256"),
     None, "reachable from the kubelet"),
    ("kproxy's default healthz port differs", None,
     lambda c: c["flags"].update(
         {"healthz-bind-address": "--healthz-bind-address A:P (default 0.0.0.0:10257)"}),
     "livenessProbe GET /livez on port 10257"),
    ("command /usr/bin/kproxy",
     lambda d: container_of(d).update(command=["/usr/bin/kproxy"]), None,
     "is the Containerfile's ENTRYPOINT"),
    ("ENTRYPOINT elsewhere", None,
     lambda c: c.update(entrypoint=["/kproxy"]),
     "is the Containerfile's ENTRYPOINT"),
    ("image tag latest",
     lambda d: container_of(d).update(image="kproxy:latest"), None,
     "container: image"),
    ("no --hostname-override",
     lambda d: drop_args(d, "hostname"), None,
     "--hostname-override=$(NODE_NAME)"),
    ("NODE_NAME from metadata.name",
     lambda d: env_of(d, "NODE_NAME")["valueFrom"]["fieldRef"].update(fieldPath="metadata.name"),
     None, "NODE_NAME from the downward API"),
    ("hostNetwork missing",
     lambda d: pod_of(d).pop("hostNetwork"), None,
     "hostNetwork true"),
    ("dnsPolicy ClusterFirst",
     lambda d: pod_of(d).update(dnsPolicy="ClusterFirst"), None,
     "dnsPolicy"),
    ("no priorityClassName",
     lambda d: pod_of(d).pop("priorityClassName"), None,
     "priorityClassName"),
    ("tolerations with a key only",
     lambda d: pod_of(d).update(tolerations=[{"key": "example.com/gpu", "operator": "Exists"}]),
     None, "tolerates every taint"),
    ("maxUnavailable 2",
     lambda d: ds_spec(d)["updateStrategy"]["rollingUpdate"].update(maxUnavailable=2), None,
     "maxUnavailable 1"),
    ("xtables lock without a type",
     lambda d: volume_of(d, "xtables-lock")["hostPath"].pop("type"), None,
     "/run/xtables.lock mounted"),
    ("/lib/modules writable",
     lambda d: mount_of(d, "/lib/modules").update(readOnly=False), None,
     "/lib/modules mounted read-only"),
    ("ConfigMap key missing",
     lambda d: flags_data(d).pop("iptables-backend"), None,
     "has key 'iptables-backend'"),
    ("an unknown flag",
     lambda d: container_of(d)["args"].append("--proxy-mode=ipvs"), None,
     "every flag is one"),
    ("a value kproxy rejects",
     lambda d: flags_data(d).update({"iptables-backend": "iptables"}), None,
     "kproxy accepts its flags"),
    ("an undefined $(VAR)",
     lambda d: container_of(d)["args"].append("--cluster-cidr=$(POD_CIDR)"), None,
     "every $(VAR)"),
    ("wrong serviceAccountName",
     lambda d: pod_of(d).update(serviceAccountName="kube-proxy"), None,
     "serviceAccountName kproxy"),
    ("binding to another account",
     lambda d: find_doc(d, "ClusterRoleBinding", "kproxy")["subjects"][0].update(name="x"),
     None, "subject is ServiceAccount"),
    ("DaemonSet in default",
     lambda d: find_doc(d, "DaemonSet", "kproxy")["metadata"].update(namespace="default"),
     None, "in namespace kube-system"),
    ("runtime package missing", None,
     lambda c: c["stages"][-1]["instructions"].__setitem__(
         0, ("RUN", "apt-get install -y iptables libcurl4")),
     "runtime stage installs"),
    ("no requests",
     lambda d: container_of(d).pop("resources"), None,
     "cpu and memory requests"),
]


def self_test_mutations(r, docs, ctx):
    baseline = check_all(docs, ctx)
    if baseline.failures():
        r.check("mutation self-tests need a manifest that passes", False,
                "; ".join(n for n, _ in baseline.failures()))
        return
    for desc, mutate_docs, mutate_ctx, want in MUTATIONS:
        d, c = copy.deepcopy(docs), copy.deepcopy(ctx)
        try:
            if mutate_docs:
                mutate_docs(d)
            if mutate_ctx:
                mutate_ctx(c)
        except (KeyError, StopIteration, ValueError, TypeError, AttributeError) as e:
            r.check("self-test %s: the mutation applies" % desc, False,
                    "%s: %s" % (type(e).__name__, e))
            continue
        failed = check_all(d, c).failures()
        caught = [n for n, _ in failed if want in n]
        r.check("self-test: a manifest with %s fails (%s)" % (desc, want), caught,
                "failed checks: %s" % ([n for n, _ in failed] or "none"))


# ---- main ----------------------------------------------------------------------------


def main():
    top = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    ap = argparse.ArgumentParser(description="checks kproxy's deployment manifests")
    ap.add_argument("--kproxy", default=os.path.join(top, "build", "kproxy"))
    ap.add_argument("--manifest", default=os.path.join(top, "scripts", "deploy", "kproxy.yaml"))
    deploy = os.path.join(top, "scripts", "deploy")
    ap.add_argument("--containerfile", default=os.path.join(deploy, "Containerfile"))
    ap.add_argument("-v", "--verbose", action="store_true", help="print passing checks too")
    args = ap.parse_args()

    def fatal(msg):
        print("FAIL - %s" % msg)
        print("deploy-check: 0 passed, 1 failed")
        return 1

    try:
        with open(args.manifest) as f:
            docs = parse_yaml(f.read())
    except YamlError as e:
        return fatal("%s: %s" % (args.manifest, e))
    except OSError as e:
        return fatal(str(e))
    try:
        with open(args.containerfile) as f:
            stages = parse_containerfile(f.read())
        version = kproxy_version(args.kproxy)
        flags = help_flags(help_text(args.kproxy))
    except (OSError, ValueError, RuntimeError, subprocess.SubprocessError) as e:
        return fatal(str(e))
    if "healthz-bind-address" not in flags:
        return fatal("%s --help does not list --healthz-bind-address" % args.kproxy)

    with tempfile.TemporaryDirectory(prefix="deploy-check.") as tmp:
        ctx = {"kproxy": os.path.abspath(args.kproxy), "flags": flags, "version": version,
               "stages": stages, "tmp": tmp, "entrypoint": None}
        final = stages[-1] if stages else {"instructions": []}
        entries = [a for v, a in final["instructions"] if v == "ENTRYPOINT"]
        ctx["entrypoint"] = exec_form(entries[-1]) if entries else None

        r = Results()
        check_all(docs, ctx, r)
        check_libraries(r, ctx)
        n_manifest = len(r.items)
        self_test_parser(r)
        self_test_mutations(r, docs, ctx)

    for i, (ok, name, msg) in enumerate(r.items):
        if i == n_manifest and args.verbose:
            print("# self-tests")
        if not ok:
            print("FAIL - %s: %s" % (name, msg))
        elif args.verbose:
            print("ok - %s" % name)
    failed = len(r.failures())
    passed = len(r.items) - failed
    n_self = len(r.items) - n_manifest
    print("deploy-check: %d manifest checks, %d self-tests" % (n_manifest, n_self))
    print("deploy-check: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
