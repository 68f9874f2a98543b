# SPDX-License-Identifier: GPL-2.0-or-later
"""The rows of the bad-input suite (test/badinput/run.py), as data.

Each row is a dict:
  id      short unique name, printed with PASS/FAIL
  desc    what the row feeds kproxy
  objs    objects put in a List after the known-good Service and EndpointSlice
          (GOOD: shop/web, 198.19.0.10:80 -> 198.18.1.2:8080)
  raw     instead of objs: the whole state file (str or bytes)
  args    extra command-line flags (after --dry-run --from-file F --hostname-override node-a)
  argv    instead of that: the whole command line after the program name
  exit    expected exit status, 0 unless given: a bad object is skipped, not fatal;
          2 for bad flags and for files that are not a List at all
  err     exact substrings stderr must contain, each naming the object and the
          field (the log prefix and the file name come before them); with exit 0
          every stderr line must contain one of them: nothing else may fail
  stderr  the whole of stderr, exactly (for messages that do not depend on the
          sanitizers or the log's time stamps: flags and unreadable files)
  good    whether the good pair must still be programmed (default: exit is 0)
  out     substrings stdout must contain; out_count: {substring: lines having it}
  not_out substrings stdout must not contain
  new_ok  targets that lines the good pair alone does not print may jump to
          among the ones run.py otherwise forbids (ACCEPT); default none

Objects are plain Python values, turned into the file's text by document().
RAW("1e400") puts text into the JSON as it is (a number Python cannot print),
and DEL removes a key from the defaults of svc(), slice_(), node() and
endpoints(). A row that shows a bug fixed in the decoder says so in a comment.
"""

import json

DEL = object()


class RAW:
    """JSON text inserted verbatim where the value would go."""

    def __init__(self, text):
        self.text = text


INJECT = "-A KPROXY-SERVICES -j ACCEPT"
KB10 = 10 * 1024


def _merge(base, over):
    for k, v in over.items():
        if v is DEL:
            base.pop(k, None)
        else:
            base[k] = v
    return base


def svc(name="bad", ns="shop", meta=None, status=None, **spec):
    """A ClusterIP Service shop/bad on 198.19.0.20:80, with spec fields overridden."""
    m = _merge({"namespace": ns, "name": name}, meta or {})
    s = _merge({"type": "ClusterIP", "clusterIP": "198.19.0.20",
                "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}, spec)
    o = {"apiVersion": "v1", "kind": "Service", "metadata": m, "spec": s}
    if status is not None:
        o["status"] = status
    return o


def slice_(name="bad-1", service="bad", ns="shop", meta=None, **body):
    """An IPv4 EndpointSlice of shop/bad with one ready endpoint 198.18.1.3:8080."""
    m = _merge({"namespace": ns, "name": name,
                "labels": {"kubernetes.io/service-name": service}}, meta or {})
    o = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": m,
         "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
         "endpoints": [{"addresses": ["198.18.1.3"], "conditions": {"ready": True},
                        "nodeName": "node-a"}]}
    return _merge(o, body)


def ep(addr, **kw):
    """One endpoints[] entry of a slice."""
    return _merge({"addresses": [addr], "conditions": {"ready": True}}, kw)


def endpoints(name="bad", subsets=None, **body):
    """A core/v1 Endpoints shop/bad."""
    o = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"namespace": "shop", "name": name},
         "subsets": subsets if subsets is not None else
         [{"addresses": [{"ip": "198.18.1.3"}], "ports": [{"port": 8080}]}]}
    return _merge(o, body)


def node(name="node-a", addrs=None, meta=None, **body):
    """This node's Node object, with InternalIP 192.0.2.10."""
    m = _merge({"name": name}, meta or {})
    o = {"apiVersion": "v1", "kind": "Node", "metadata": m,
         "status": {"addresses": addrs if addrs is not None else
                    [{"type": "InternalIP", "address": "192.0.2.10"}]}}
    return _merge(o, body)


def S(path_and_problem, kind="service", ident="shop/bad"):
    """The message of a skipped object: 'skipped service shop/bad: spec.x: problem'."""
    return "skipped %s %s: %s" % (kind, ident, path_and_problem)


def SL(path_and_problem, ident="shop/bad-1"):
    return S(path_and_problem, "endpointslice", ident)


# The known-good pair every object row is listed after (as golden case 0001).
GOOD = [
    {"apiVersion": "v1", "kind": "Service", "metadata": {"namespace": "shop", "name": "web"},
     "spec": {"type": "ClusterIP", "clusterIP": "198.19.0.10", "clusterIPs": ["198.19.0.10"],
              "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}]}},
    {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
     "metadata": {"namespace": "shop", "name": "web-1",
                  "labels": {"kubernetes.io/service-name": "web"}},
     "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
     "endpoints": [{"addresses": ["198.18.1.2"], "conditions": {"ready": True},
                    "nodeName": "node-a"}]},
]


def document(objs):
    """The state file text: a List of the good pair followed by objs."""
    raws = []

    def strip(v):
        if isinstance(v, RAW):
            raws.append(v.text)
            return "@@RAW%d@@" % (len(raws) - 1)
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items()}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    text = json.dumps({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""},
                       "items": strip(GOOD + list(objs))}, separators=(",", ":"))
    for i, r in enumerate(raws):
        text = text.replace('"@@RAW%d@@"' % i, r)
    return text


def flag_err(value, flag, problem):
    return 'kproxy: invalid value "%s" for --%s: %s' % (value, flag, problem)


HELP_HINT = "Run 'kproxy --help' for the list of flags.\n"
KNOWN_GATES = ("known gates:\n"
               "AllAlpha=true|false (ALPHA - default=false)\n"
               "AllBeta=true|false (BETA - default=false)\n"
               "AllowExtTrafficLocalEndpoints=true|false (ALPHA - default=false)\n"
               "LoadBalancerIPMode=true|false (BETA - default=true)\n"
               "ProxyTerminatingEndpoints=true|false (GA - default=true)\n"
               "ServiceInternalTrafficPolicy=true|false (GA - default=true)\n"
               "UDPConntrackCleanup=true|false (BETA - default=true)\n")


def gate_stderr(value, problem):
    """All kproxy prints for a rejected --feature-gates value: every rejection
    lists the known gates."""
    return flag_err(value, "feature-gates", problem) + "\n" + KNOWN_GATES + HELP_HINT


def _ports(n):
    return [{"name": "p%d" % i, "port": i + 1, "protocol": "TCP"} for i in range(n)]


def _endpoints(n):
    return [{"addresses": ["198.18.%d.%d" % (1 + i // 250, 1 + i % 250)]} for i in range(n)]


_GOOD_TEXT = document([])
_NUL_TEXT = document([svc(name="web@@evil")]).replace("@@", "\0")

NOT_LABEL = "is not a DNS-1123 label"
NOT_SUBDOMAIN = "is not a DNS-1123 subdomain"
NOT_IP = "is not a valid IP address"

ROWS = [
    # ---- names: newlines, quotes, rule text, unicode, NUL, length ----
    dict(id="name-newline-rule", desc="Service name with a newline and a whole rule",
         objs=[svc(name="web\n" + INJECT)],
         err=[S('metadata.name: "web?%s" %s' % (INJECT, NOT_LABEL), ident="shop/?")]),
    dict(id="name-quotes", desc="Service name with double quotes around rule text",
         objs=[svc(name='web" -j ACCEPT "')],
         err=[S('metadata.name: "web? -j ACCEPT ?" ' + NOT_LABEL, ident="shop/?")]),
    dict(id="name-rule-words", desc="Service name that is rule words separated by blanks",
         objs=[svc(name="web -j ACCEPT -m comment --comment PWNED")],
         err=[S('metadata.name: "web -j ACCEPT -m comment --comment PWNED" ' + NOT_LABEL,
                ident="shop/?")]),
    dict(id="namespace-newline-rule", desc="namespace with a newline and a rule",
         objs=[svc(ns="shop\n" + INJECT)],
         err=[S('metadata.namespace: "shop?%s" %s' % (INJECT, NOT_LABEL), ident="?")]),
    dict(id="port-name-rule", desc="Service port name with a newline and -j ACCEPT",
         objs=[svc(ports=[{"name": "http\n-j ACCEPT", "port": 80}])],
         err=[S('spec.ports[0].name: "http?-j ACCEPT" ' + NOT_LABEL)]),
    dict(id="name-unicode", desc="Service name with non-ASCII letters",
         objs=[svc(name="w\u00e9b")],
         err=[S('metadata.name: "w??b" ' + NOT_LABEL, ident="shop/?")]),
    dict(id="name-bidi-override", desc="Service name ending in U+202E (right-to-left override)",
         objs=[svc(name="bad\u202e")],
         err=[S('metadata.name: "bad???" ' + NOT_LABEL, ident="shop/?")]),
    # Fixed in apiwatch/decode.c: cJSON ended strings at an escaped NUL, so
    # "web\u0000evil" was read as shop/web and replaced the real Service (and
    # "web-1\u0000x" replaced its slice). The escape is now U+FFFD.
    dict(id="name-nul-escape", desc="Service \"web\\u0000evil\": must not become shop/web",
         objs=[svc(name="web\u0000evil")],
         err=[S('metadata.name: "web???evil" ' + NOT_LABEL, ident="shop/?")],
         not_out=["198.19.0.20"]),
    dict(id="slice-name-nul-escape",
         desc="slice \"web-1\\u0000x\" of shop/web: must not replace slice web-1",
         objs=[slice_(name="web-1\u0000x", service="web", endpoints=[ep("198.18.1.66")])],
         err=[SL('metadata.name: "web-1???x" ' + NOT_SUBDOMAIN, ident="shop/?")],
         not_out=["198.18.1.66"]),
    dict(id="port-name-nul-escape", desc="port name \"a\\u0000b\"",
         objs=[svc(ports=[{"name": "a\u0000b", "port": 80}])],
         err=[S('spec.ports[0].name: "a???b" ' + NOT_LABEL)]),
    dict(id="name-10kb", desc="Service name of 10 kB",
         objs=[svc(name="a" * KB10)],
         err=[S("metadata.name: too long (max 253)", ident="shop/?")]),
    dict(id="name-64-chars", desc="Service name one byte over the DNS-1123 label limit",
         objs=[svc(name="a" * 64)],
         err=[S('metadata.name: "%s" %s' % ("a" * 64, NOT_LABEL), ident="shop/?")]),
    dict(id="labels-annotations-10kb", desc="10 kB label and annotation values and keys (ignored)",
         objs=[svc(name="big", meta={"labels": {"app": "x" * KB10, "k" * KB10: "v"},
                                     "annotations": {"note": "y" * KB10 + INJECT,
                                                     "n" * KB10: INJECT}}),
               slice_(name="big-1", service="big")],
         out=['"shop/big:http cluster IP"']),
    dict(id="proxy-name-label-10kb",
         desc="service-proxy-name label of 10 kB: the Service is not ours",
         objs=[svc(meta={"labels": {"service.kubernetes.io/service-proxy-name": "x" * KB10}})],
         not_out=["shop/bad"]),
    dict(id="slice-service-label-10kb", desc="kubernetes.io/service-name label of 10 kB",
         objs=[slice_(service="a" * KB10)],
         err=[SL("metadata.labels[kubernetes.io/service-name]: too long (max 253)")]),
    dict(id="slice-service-label-rule", desc="kubernetes.io/service-name label with rule text",
         objs=[slice_(service="web -j ACCEPT")],
         err=[SL('metadata.labels[kubernetes.io/service-name]: "web -j ACCEPT" ' + NOT_LABEL)]),
    dict(id="annotation-traffic-rule",
         desc="OnlyLocal annotation with rule text, gate on (ignored)",
         args=["--feature-gates=AllowExtTrafficLocalEndpoints=true"],
         objs=[svc(name="anno", type="NodePort",
                   ports=[{"name": "http", "port": 80, "nodePort": 30080}],
                   meta={"annotations": {
                       "service.alpha.kubernetes.io/external-traffic": "OnlyLocal\n" + INJECT,
                       "service.alpha.kubernetes.io/healthcheck-nodeport": "1" * KB10}}),
               slice_(name="anno-1", service="anno")],
         err=['service shop/anno: annotation service.alpha.kubernetes.io/external-traffic: '
              '"OnlyLocal?-A KPROXY-SERVICES -j ACCEPT" is neither OnlyLocal nor Global; '
              'ignored'],
         out=['"shop/anno:http cluster IP"'], not_out=["KPROXY-SVL-"]),
    dict(id="resource-version-10kb", desc="resourceVersion of 10 kB",
         objs=[svc(meta={"resourceVersion": "9" * KB10})],
         err=[S("metadata.resourceVersion: too long (max 64)")]),
    dict(id="endpoint-nodename-rule", desc="endpoint nodeName with a newline and a rule",
         objs=[slice_(endpoints=[ep("198.18.1.3", nodeName="node-a\n" + INJECT)])],
         err=[SL('endpoints[0].nodeName: "node-a?%s" %s' % (INJECT, NOT_SUBDOMAIN))]),
    dict(id="endpoint-zone-10kb", desc="endpoint zone of 10 kB",
         objs=[slice_(endpoints=[ep("198.18.1.3", zone="z" * KB10)])],
         err=[SL("endpoints[0].zone: too long (max 253)")]),
    dict(id="node-name-rule", desc="Node name with a newline and a rule",
         objs=[node(name="node-a\n-j ACCEPT")],
         err=['skipped node ?: metadata.name: "node-a?-j ACCEPT" ' + NOT_SUBDOMAIN]),
    dict(id="slice-port-name-quote", desc="slice port name with a double quote",
         objs=[slice_(ports=[{"name": 'http"', "port": 8080}])],
         err=[SL('ports[0].name: "http?" ' + NOT_LABEL)]),

    # ---- addresses ----
    dict(id="cluster-ip-octet-256", desc="clusterIP 1.2.3.256",
         objs=[svc(clusterIP="1.2.3.256")],
         err=[S('spec.clusterIP: "1.2.3.256" ' + NOT_IP)]),
    # Fixed in apiwatch/decode.c: these parsed with inet_pton and were programmed
    # (DNAT to 0.0.0.0, a cluster IP of 127.0.0.1, a rule for 169.254.169.254...).
    dict(id="cluster-ip-v4-mapped", desc="clusterIP ::ffff:1.2.3.4",
         objs=[svc(clusterIP="::ffff:1.2.3.4")],
         err=[S('spec.clusterIP: "::ffff:1.2.3.4" is an IPv4-mapped IPv6 address')]),
    dict(id="cluster-ip-unspecified", desc="clusterIP 0.0.0.0",
         objs=[svc(clusterIP="0.0.0.0")],
         err=[S('spec.clusterIP: "0.0.0.0" is the unspecified address')]),
    dict(id="cluster-ip-multicast", desc="clusterIP 224.0.0.1",
         objs=[svc(clusterIP="224.0.0.1")],
         err=[S('spec.clusterIP: "224.0.0.1" is a multicast address')]),
    dict(id="cluster-ip-broadcast", desc="clusterIP 255.255.255.255",
         objs=[svc(clusterIP="255.255.255.255")],
         err=[S('spec.clusterIP: "255.255.255.255" is the broadcast address')]),
    dict(id="cluster-ip-loopback", desc="clusterIP 127.0.0.1 (would catch local traffic)",
         objs=[svc(clusterIP="127.0.0.1")],
         err=[S('spec.clusterIP: "127.0.0.1" is a loopback address')]),
    dict(id="cluster-ips-v6-unspecified", desc="clusterIPs [198.19.0.20, ::]",
         objs=[svc(clusterIPs=["198.19.0.20", "::"])],
         err=[S('spec.clusterIPs[1]: "::" is the unspecified address')]),
    dict(id="cluster-ip-empty", desc="clusterIP \"\" (headless: no rules, no error)",
         objs=[svc(clusterIP="")], not_out=["shop/bad"]),
    dict(id="cluster-ip-with-rule", desc="clusterIP with rule text after it",
         objs=[svc(clusterIP="198.19.0.20 -j ACCEPT")],
         err=[S('spec.clusterIP: "198.19.0.20 -j ACCEPT" ' + NOT_IP)]),
    dict(id="external-ip-link-local", desc="externalIPs [169.254.169.254] (cloud metadata)",
         objs=[svc(externalIPs=["169.254.169.254"])],
         err=[S('spec.externalIPs[0]: "169.254.169.254" is a link-local address')]),
    dict(id="external-ip-rule", desc="externalIPs entry with rule text",
         objs=[svc(externalIPs=["198.51.100.7", "10.0.0.1\n" + INJECT])],
         err=[S('spec.externalIPs[1]: "10.0.0.1?%s" %s' % (INJECT, NOT_IP))]),
    dict(id="external-ip-empty", desc="externalIPs [\"\"]",
         objs=[svc(externalIPs=[""])],
         err=[S('spec.externalIPs[0]: "" ' + NOT_IP)]),
    dict(id="lb-ingress-multicast", desc="status.loadBalancer.ingress ip 239.1.2.3",
         objs=[svc(type="LoadBalancer",
                   status={"loadBalancer": {"ingress": [{"ip": "239.1.2.3"}]}})],
         err=[S('status.loadBalancer.ingress[0].ip: "239.1.2.3" is a multicast address')]),
    dict(id="lb-ingress-ip-empty",
         desc="ingress entry with ip \"\" (read as hostname-only: ignored)",
         objs=[svc(name="lb", type="LoadBalancer",
                   status={"loadBalancer": {"ingress": [{"ip": ""}]}}),
               slice_(name="lb-1", service="lb")],
         out=['"shop/lb:http cluster IP"']),
    dict(id="source-range-rule", desc="loadBalancerSourceRanges entry with rule text",
         objs=[svc(type="LoadBalancer", loadBalancerSourceRanges=["0.0.0.0/0 -j ACCEPT"])],
         err=[S('spec.loadBalancerSourceRanges[0]: "0.0.0.0/0 -j ACCEPT" is not a valid CIDR')]),
    dict(id="endpoint-ip-unspecified", desc="endpoint address 0.0.0.0",
         objs=[slice_(endpoints=[ep("0.0.0.0")])],
         err=[SL('endpoints[0].addresses[0]: "0.0.0.0" is the unspecified address')]),
    dict(id="endpoint-ip-v4-mapped", desc="endpoint address ::ffff:198.18.1.3 in an IPv4 slice",
         objs=[slice_(endpoints=[ep("::ffff:198.18.1.3")])],
         err=[SL('endpoints[0].addresses[0]: "::ffff:198.18.1.3" is an IPv4-mapped IPv6 address')]),
    dict(id="endpoint-ip-broadcast", desc="endpoint address 255.255.255.255",
         objs=[slice_(endpoints=[ep("198.18.1.3"), ep("255.255.255.255")])],
         err=[SL('endpoints[1].addresses[0]: "255.255.255.255" is the broadcast address')]),
    dict(id="endpoint-ip-multicast", desc="endpoint address 224.0.0.251",
         objs=[slice_(endpoints=[ep("224.0.0.251")])],
         err=[SL('endpoints[0].addresses[0]: "224.0.0.251" is a multicast address')]),
    dict(id="endpoint-ip-loopback", desc="endpoint address 127.0.0.1",
         objs=[slice_(endpoints=[ep("127.0.0.1")])],
         err=[SL('endpoints[0].addresses[0]: "127.0.0.1" is a loopback address')]),
    dict(id="endpoint-ip-empty", desc="endpoint address \"\"",
         objs=[slice_(endpoints=[ep("")])],
         err=[SL('endpoints[0].addresses[0]: "" ' + NOT_IP)]),
    dict(id="endpoint-ip-octet-256", desc="endpoint address 1.2.3.256",
         objs=[slice_(endpoints=[ep("1.2.3.256")])],
         err=[SL('endpoints[0].addresses[0]: "1.2.3.256" ' + NOT_IP)]),
    dict(id="endpoints-v1-ip-unspecified", desc="core/v1 Endpoints address 0.0.0.0",
         objs=[endpoints(subsets=[{"addresses": [{"ip": "0.0.0.0"}], "ports": [{"port": 8080}]}])],
         err=[S('subsets[0].addresses[0].ip: "0.0.0.0" is the unspecified address', "endpoints")]),
    dict(id="node-address-rule", desc="Node InternalIP with rule text",
         objs=[node(addrs=[{"type": "InternalIP", "address": "192.0.2.10 -j ACCEPT"}])],
         err=['skipped node node-a: status.addresses[0].address: "192.0.2.10 -j ACCEPT" ' +
              NOT_IP]),
    dict(id="node-address-unspecified", desc="Node InternalIP 0.0.0.0",
         objs=[node(addrs=[{"type": "InternalIP", "address": "0.0.0.0"}])],
         err=['skipped node node-a: status.addresses[0].address: "0.0.0.0" is the unspecified '
              'address']),

    # ---- ports and counts ----
    dict(id="port-0", desc="port 0", objs=[svc(ports=[{"port": 0}])],
         err=[S("spec.ports[0].port: 0 out of range")]),
    dict(id="port-minus-1", desc="port -1", objs=[svc(ports=[{"port": -1}])],
         err=[S("spec.ports[0].port: -1 out of range")]),
    dict(id="port-65536", desc="port 65536", objs=[svc(ports=[{"port": 65536}])],
         err=[S("spec.ports[0].port: 65536 out of range")]),
    dict(id="port-1e400", desc="port 1e400 (infinite as a double)",
         objs=[svc(ports=[{"port": RAW("1e400")}])],
         err=[S("spec.ports[0].port: inf out of range")]),
    dict(id="port-fraction", desc="port 80.5", objs=[svc(ports=[{"port": 80.5}])],
         err=[S("spec.ports[0].port: 80.5 is not an integer")]),
    dict(id="slice-port-65536", desc="slice port 65536",
         objs=[slice_(ports=[{"name": "http", "port": 65536}])],
         err=[SL("ports[0].port: 65536 out of range")]),
    dict(id="node-port-huge", desc="nodePort 1e300",
         objs=[svc(type="NodePort", ports=[{"port": 80, "nodePort": 1e300}])],
         err=[S("spec.ports[0].nodePort: 1e+300 out of range")]),
    dict(id="node-port-negative", desc="nodePort -5",
         objs=[svc(type="NodePort", ports=[{"port": 80, "nodePort": -5}])],
         err=[S("spec.ports[0].nodePort: -5 out of range")]),
    dict(id="hc-node-port-huge", desc="healthCheckNodePort 99999999999",
         objs=[svc(type="LoadBalancer", externalTrafficPolicy="Local",
                   healthCheckNodePort=99999999999)],
         err=[S("spec.healthCheckNodePort: 99999999999 out of range")]),
    dict(id="hc-node-port-negative", desc="healthCheckNodePort -1",
         objs=[svc(healthCheckNodePort=-1)],
         err=[S("spec.healthCheckNodePort: -1 out of range")]),
    dict(id="affinity-timeout-huge", desc="sessionAffinity timeoutSeconds 1e20",
         objs=[svc(sessionAffinity="ClientIP",
                   sessionAffinityConfig={"clientIP": {"timeoutSeconds": 1e20}})],
         err=[S("spec.sessionAffinityConfig.clientIP.timeoutSeconds: 1e+20 out of range")]),
    dict(id="affinity-timeout-negative", desc="sessionAffinity timeoutSeconds -1",
         objs=[svc(sessionAffinity="ClientIP",
                   sessionAffinityConfig={"clientIP": {"timeoutSeconds": -1}})],
         err=[S("spec.sessionAffinityConfig.clientIP.timeoutSeconds: -1 out of range")]),
    # Fixed in apiwatch/decode.c: repeated port names or numbers were accepted
    # and the same chain and rules were written twice.
    dict(id="dup-port-names", desc="two Service ports both named \"http\"",
         objs=[svc(ports=[{"name": "http", "port": 80}, {"name": "http", "port": 81}])],
         err=[S('spec.ports[1].name: "http" is already used by ports[0]')]),
    dict(id="dup-port-numbers", desc="ports a and b both 80/TCP",
         objs=[svc(ports=[{"name": "a", "port": 80}, {"name": "b", "port": 80,
                                                       "protocol": "TCP"}])],
         err=[S("spec.ports[1].port: 80/TCP is already used by ports[0]")]),
    dict(id="dup-ports-unnamed", desc="two unnamed ports 80 and 80",
         objs=[svc(ports=[{"port": 80}, {"port": 80}])],
         err=[S("spec.ports[0].name: missing (required when there is more than one port)")]),
    dict(id="dup-node-ports", desc="two ports with nodePort 30080/TCP",
         objs=[svc(type="NodePort", ports=[{"name": "a", "port": 80, "nodePort": 30080},
                                           {"name": "b", "port": 81, "nodePort": 30080}])],
         err=[S("spec.ports[1].nodePort: 30080/TCP is already used by ports[0]")]),
    dict(id="same-port-tcp-udp", desc="80/TCP and 80/UDP (allowed: both programmed)",
         objs=[svc(name="dns", ports=[{"name": "t", "port": 80}, {"name": "u", "port": 80,
                                                                  "protocol": "UDP"}]),
               slice_(name="dns-1", service="dns",
                      ports=[{"name": "t", "port": 53}, {"name": "u", "port": 53,
                                                        "protocol": "UDP"}])],
         out=['"shop/dns:t cluster IP"', '"shop/dns:u cluster IP"']),
    dict(id="slice-dup-port-names", desc="slice with two ports named \"http\"",
         objs=[slice_(ports=[{"name": "http", "port": 8080}, {"name": "http", "port": 8081}])],
         err=[SL('ports[1].name: "http" is already used by ports[0]')]),
    dict(id="endpoints-v1-dup-port-names", desc="Endpoints subset with two ports named \"a\"",
         objs=[endpoints(subsets=[{"addresses": [{"ip": "198.18.1.3"}],
                                   "ports": [{"name": "a", "port": 8080},
                                             {"name": "a", "port": 8081}]}])],
         err=[S('subsets[0].ports[1].name: "a" is already used by ports[0]', "endpoints")]),
    dict(id="slice-dup-endpoints", desc="slice listing 198.18.1.3 twice (one endpoint kept)",
         objs=[svc(), slice_(endpoints=[ep("198.18.1.3"), ep("198.18.1.3")])],
         out_count={"-j DNAT --to-destination 198.18.1.3:8080": 1}),
    dict(id="svc-10000-ports", desc="a Service with 10,000 ports",
         objs=[svc(ports=_ports(10000))],
         err=[S("spec.ports: too many entries (max 1024)")]),
    dict(id="svc-1024-ports", desc="a Service with 1,024 ports (the cap: all programmed)",
         objs=[svc(ports=_ports(1024))],
         out_count={"--comment \"shop/bad:p": 1024}),
    dict(id="slice-100000-endpoints", desc="an EndpointSlice with 100,000 endpoints",
         objs=[slice_(endpoints=_endpoints(100000))],
         err=[SL("endpoints: too many entries (max 1000)")]),
    dict(id="slice-1000-endpoints", desc="an EndpointSlice with 1,000 endpoints (the cap)",
         objs=[svc(), slice_(endpoints=_endpoints(1000))],
         out_count={"-j DNAT --to-destination 198.18.": 1001}),
    dict(id="node-65-addresses", desc="a Node with 65 addresses",
         objs=[node(addrs=[{"type": "InternalIP", "address": "192.0.2.%d" % i}
                           for i in range(1, 66)])],
         err=["skipped node node-a: status.addresses: too many entries (max 64)"]),

    # ---- enums ----
    dict(id="protocol-icmp", desc="protocol ICMP",
         objs=[svc(ports=[{"port": 80, "protocol": "ICMP"}])],
         err=[S('spec.ports[0].protocol: "ICMP" is not a valid protocol')]),
    dict(id="protocol-lower-case", desc="protocol tcp (lower case)",
         objs=[svc(ports=[{"port": 80, "protocol": "tcp"}])],
         err=[S('spec.ports[0].protocol: "tcp" is not a valid protocol')]),
    dict(id="slice-protocol-rule", desc="slice port protocol with rule text",
         objs=[slice_(ports=[{"name": "http", "port": 8080, "protocol": "TCP -j ACCEPT"}])],
         err=[SL('ports[0].protocol: "TCP -j ACCEPT" is not a valid protocol')]),
    dict(id="service-type-unknown", desc="type Foo", objs=[svc(type="Foo")],
         err=[S('spec.type: "Foo" is not a valid service type')]),
    dict(id="address-type-unknown", desc="addressType IPv5", objs=[slice_(addressType="IPv5")],
         err=[SL('addressType: "IPv5" is not a valid address type')]),
    dict(id="traffic-policy-unknown", desc="externalTrafficPolicy Global",
         objs=[svc(externalTrafficPolicy="Global")],
         err=[S('spec.externalTrafficPolicy: "Global" is not a valid traffic policy')]),
    dict(id="affinity-unknown", desc="sessionAffinity Sticky", objs=[svc(sessionAffinity="Sticky")],
         err=[S('spec.sessionAffinity: "Sticky" is not a valid session affinity')]),
    dict(id="ip-mode-unknown", desc="ingress ipMode Direct",
         objs=[svc(type="LoadBalancer",
                   status={"loadBalancer": {"ingress": [{"ip": "198.51.100.9",
                                                         "ipMode": "Direct"}]}})],
         err=[S('status.loadBalancer.ingress[0].ipMode: "Direct" is not a valid IP mode')]),
    dict(id="kind-unknown", desc="an item of kind Pod",
         objs=[{"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "shop", "name": "p"}}],
         err=['skipped object: kind: "Pod" is not a supported kind']),
    dict(id="api-version-unknown", desc="a Service of apiVersion v2",
         objs=[dict(svc(), apiVersion="v2")],
         err=[S('apiVersion: "v2" is not a supported version')]),

    # ---- missing fields ----
    dict(id="no-metadata", desc="a Service without metadata",
         objs=[{"apiVersion": "v1", "kind": "Service", "spec": svc()["spec"]}],
         err=[S("metadata.namespace: missing", ident="?")]),
    dict(id="no-name", desc="a Service without a name", objs=[svc(meta={"name": DEL})],
         err=[S("metadata.name: missing", ident="shop/?")]),
    dict(id="no-namespace", desc="a Service without a namespace",
         objs=[svc(meta={"namespace": DEL})],
         err=[S("metadata.namespace: missing", ident="?")]),
    dict(id="no-spec", desc="a Service without spec (headless: no rules, no error)",
         objs=[{"apiVersion": "v1", "kind": "Service",
                "metadata": {"namespace": "shop", "name": "bad"}}],
         not_out=["shop/bad"]),
    dict(id="no-cluster-ip", desc="a Service without clusterIP (headless: no rules, no error)",
         objs=[svc(clusterIP=DEL)], not_out=["shop/bad"]),
    dict(id="no-ports", desc="a Service without ports (nothing to program, no error)",
         objs=[svc(ports=DEL)], not_out=["shop/bad"]),
    dict(id="no-port-number", desc="a Service port without its number",
         objs=[svc(ports=[{"name": "http", "protocol": "TCP"}])],
         err=[S("spec.ports[0].port: missing")]),
    dict(id="no-addresses", desc="an endpoint without addresses", objs=[slice_(endpoints=[{}])],
         err=[SL("endpoints[0].addresses: missing")]),
    dict(id="empty-addresses", desc="an endpoint with addresses []",
         objs=[slice_(endpoints=[{"addresses": []}])],
         err=[SL("endpoints[0].addresses: empty")]),
    dict(id="no-service-label", desc="a slice without the kubernetes.io/service-name label",
         objs=[slice_(meta={"labels": DEL})],
         err=[SL("metadata.labels[kubernetes.io/service-name]: missing")]),
    dict(id="no-address-type", desc="a slice without addressType", objs=[slice_(addressType=DEL)],
         err=[SL("addressType: missing")]),
    dict(id="endpoints-v1-no-ip", desc="an Endpoints address without ip",
         objs=[endpoints(subsets=[{"addresses": [{"nodeName": "node-a"}]}])],
         err=[S("subsets[0].addresses[0].ip: missing", "endpoints")]),
    dict(id="node-no-address", desc="a Node InternalIP entry without address",
         objs=[node(addrs=[{"type": "InternalIP"}])],
         err=["skipped node node-a: status.addresses[0].address: missing"]),
    dict(id="item-no-kind", desc="a List item without kind", objs=[{"metadata": {"name": "x"}}],
         err=["skipped list: items[2].kind: missing"]),

    # ---- wrong JSON types at every level ----
    dict(id="metadata-string", desc="metadata is a string",
         objs=[{"apiVersion": "v1", "kind": "Service", "metadata": "shop/bad"}],
         err=[S("metadata: not an object", ident="?")]),
    dict(id="name-number", desc="metadata.name is a number", objs=[svc(meta={"name": 7})],
         err=[S("metadata.name: not a string", ident="shop/?")]),
    dict(id="labels-string", desc="metadata.labels is a string", objs=[svc(meta={"labels": "a=b"})],
         err=[S("metadata.labels: not an object")]),
    dict(id="annotations-array", desc="metadata.annotations is an array",
         objs=[svc(meta={"annotations": ["x"]})],
         err=[S("metadata.annotations: not an object")]),
    dict(id="spec-array", desc="spec is an array", objs=[dict(svc(), spec=[])],
         err=[S("spec: not an object")]),
    dict(id="ports-object", desc="spec.ports is an object", objs=[svc(ports={"port": 80})],
         err=[S("spec.ports: not an array")]),
    dict(id="port-entry-number", desc="spec.ports[0] is a number", objs=[svc(ports=[80])],
         err=[S("spec.ports[0]: not an object")]),
    dict(id="port-string", desc="port is a string", objs=[svc(ports=[{"port": "80"}])],
         err=[S("spec.ports[0].port: not a number")]),
    dict(id="port-bool", desc="port is true", objs=[svc(ports=[{"port": True}])],
         err=[S("spec.ports[0].port: not a number")]),
    dict(id="cluster-ip-number", desc="clusterIP is a number", objs=[svc(clusterIP=3232235521)],
         err=[S("spec.clusterIP: not a string")]),
    dict(id="cluster-ips-string", desc="clusterIPs is a string",
         objs=[svc(clusterIP=DEL, clusterIPs="198.19.0.20")],
         err=[S("spec.clusterIPs: not an array")]),
    dict(id="external-ips-string", desc="externalIPs is a string",
         objs=[svc(externalIPs="198.51.100.7")],
         err=[S("spec.externalIPs: not an array")]),
    dict(id="status-number", desc="status is a number", objs=[svc(status=1)],
         err=[S("status: not an object")]),
    dict(id="ingress-entry-string", desc="an ingress entry is a string",
         objs=[svc(type="LoadBalancer", status={"loadBalancer": {"ingress": ["198.51.100.9"]}})],
         err=[S("status.loadBalancer.ingress[0]: not an object")]),
    dict(id="affinity-config-array", desc="sessionAffinityConfig.clientIP is an array",
         objs=[svc(sessionAffinityConfig={"clientIP": []})],
         err=[S("spec.sessionAffinityConfig.clientIP: not an object")]),
    dict(id="endpoints-string", desc="slice endpoints is a string", objs=[slice_(endpoints="x")],
         err=[SL("endpoints: not an array")]),
    dict(id="endpoint-entry-number", desc="slice endpoints[0] is a number",
         objs=[slice_(endpoints=[1])], err=[SL("endpoints[0]: not an object")]),
    dict(id="addresses-number", desc="endpoint addresses is a number",
         objs=[slice_(endpoints=[{"addresses": 5}])],
         err=[SL("endpoints[0].addresses: not an array")]),
    dict(id="address-entry-number", desc="endpoint addresses[0] is a number",
         objs=[slice_(endpoints=[{"addresses": [3232235521]}])],
         err=[SL("endpoints[0].addresses[0]: not a string")]),
    dict(id="ready-string", desc="conditions.ready is \"true\"",
         objs=[slice_(endpoints=[ep("198.18.1.3", conditions={"ready": "true"})])],
         err=[SL("endpoints[0].conditions.ready: not a boolean")]),
    dict(id="conditions-string", desc="conditions is a string",
         objs=[slice_(endpoints=[ep("198.18.1.3", conditions="ready")])],
         err=[SL("endpoints[0].conditions: not an object")]),
    dict(id="slice-ports-string", desc="slice ports is a string", objs=[slice_(ports="8080")],
         err=[SL("ports: not an array")]),
    dict(id="subsets-string", desc="Endpoints subsets is a string", objs=[endpoints(subsets="x")],
         err=[S("subsets: not an array", "endpoints")]),
    dict(id="node-status-string", desc="Node status is a string", objs=[node(status="Ready")],
         err=["skipped node node-a: status: not an object"]),
    dict(id="node-taints-object", desc="Node spec.taints is an object",
         objs=[node(spec={"taints": {"key": "x"}})],
         err=["skipped node node-a: spec.taints: not an array"]),
    dict(id="item-string", desc="a List item is a string", objs=["Service"],
         err=["skipped list: items[2]: not an object"]),
    dict(id="item-null", desc="a List item is null", objs=[None],
         err=["skipped list: items[2]: not an object"]),
    dict(id="kind-number", desc="kind is a number", objs=[dict(svc(), kind=5)],
         err=["skipped object: kind: not a string"]),

    # ---- whole files ----
    dict(id="file-empty", desc="an empty file", raw="", exit=2,
         err=["list: not valid JSON (at byte 0)"]),
    dict(id="file-not-json", desc="a file of plain text", raw="hello -j ACCEPT\n", exit=2,
         err=["list: not valid JSON (at byte 0)"]),
    dict(id="file-truncated", desc="a good List without its closing ]} (error at its last byte)",
         raw=_GOOD_TEXT[:-2], exit=2,
         err=["list: not valid JSON (at byte %d)" % (len(_GOOD_TEXT) - 3)]),
    dict(id="file-trailing-data", desc="a good List followed by more text",
         raw=_GOOD_TEXT + " " + INJECT, exit=2,
         err=["list: not valid JSON (trailing data at byte %d)" % (len(_GOOD_TEXT) + 1)]),
    # Fixed in apiwatch/decode.c: a raw NUL ended the name early (read as "web").
    dict(id="file-nul-byte", desc="a raw NUL byte inside a Service name", raw=_NUL_TEXT, exit=2,
         err=["list: not valid JSON (NUL byte at byte %d)" % _NUL_TEXT.index("\0")]),
    dict(id="file-items-not-array", desc="items is an object",
         raw='{"apiVersion":"v1","kind":"List","items":{"a":1}}', exit=2,
         err=["list: items: not an array"]),
    dict(id="file-items-missing", desc="a List without items", raw='{"kind":"List"}', exit=2,
         err=["list: items: missing"]),
    dict(id="file-top-level-array", desc="the document is an array", raw="[]", exit=2,
         err=["list: not an object"]),
    dict(id="file-kind-not-list", desc="the document's kind is Foo",
         raw='{"kind":"Foo","items":[]}', exit=2, err=['list: kind: "Foo" is not a list kind']),
    dict(id="file-deep-nesting", desc="items nested 100,000 arrays deep (cJSON stops at 1,000)",
         raw='{"kind":"List","items":' + "[" * 100000 + "]" * 100000 + "}", exit=2,
         err=["list: not valid JSON (at byte 1022)"]),
    dict(id="file-invalid-utf8", desc="a Service name of invalid UTF-8 bytes",
         raw=document([svc(name="w@@b")]).encode().replace(b"@@", b"\xff\xfe"),
         err=[S('metadata.name: "w??b" ' + NOT_LABEL, ident="shop/?")]),
    dict(id="file-bom", desc="a good List after a UTF-8 byte order mark (accepted)",
         raw=b"\xef\xbb\xbf" + _GOOD_TEXT.encode(), good=True),

    # ---- command-line flags ----
    dict(id="flag-masq-bit-32", desc="--iptables-masquerade-bit=32",
         args=["--iptables-masquerade-bit=32"], exit=2,
         err=[flag_err("32", "iptables-masquerade-bit", "must be between 0 and 31")]),
    dict(id="flag-masq-bit-negative", desc="--iptables-masquerade-bit=-1",
         args=["--iptables-masquerade-bit=-1"], exit=2,
         err=[flag_err("-1", "iptables-masquerade-bit", "must be between 0 and 31")]),
    dict(id="flag-duration-unit", desc="--iptables-sync-period=10x",
         args=["--iptables-sync-period=10x"], exit=2,
         err=[flag_err("10x", "iptables-sync-period",
                       "not a duration (examples: 1s, 500ms, 1m30s)")]),
    dict(id="flag-duration-negative", desc="--iptables-sync-period=-1s",
         args=["--iptables-sync-period=-1s"], exit=2,
         err=[flag_err("-1s", "iptables-sync-period", "must not be negative")]),
    dict(id="flag-duration-overflow", desc="--iptables-sync-period=99999999999h",
         args=["--iptables-sync-period=99999999999h"], exit=2,
         err=[flag_err("99999999999h", "iptables-sync-period", "too long")]),
    dict(id="flag-min-sync-longer", desc="--iptables-min-sync-period=1h (longer than the period)",
         args=["--iptables-min-sync-period=1h"], exit=2,
         err=["kproxy: --iptables-min-sync-period (3600000ms) is longer than "
              "--iptables-sync-period (30000ms)"]),
    dict(id="flag-cidr-prefix-33", desc="--cluster-cidr=10.0.0.0/33",
         args=["--cluster-cidr=10.0.0.0/33"], exit=2,
         err=[flag_err("10.0.0.0/33", "cluster-cidr", "not a CIDR")]),
    dict(id="flag-cidr-two-ipv4", desc="--cluster-cidr with two IPv4 CIDRs",
         args=["--cluster-cidr=10.244.0.0/16,10.0.0.0/8"], exit=2,
         err=[flag_err("10.244.0.0/16,10.0.0.0/8", "cluster-cidr",
                       "one CIDR, or one of each family (10.244.0.0/16,fd00:10:244::/56), "
                       "not two IPv4 CIDRs")]),
    dict(id="flag-cidr-list", desc="--cluster-cidr=10.0.0.0/8,bogus",
         args=["--cluster-cidr=10.0.0.0/8,bogus"], exit=2,
         err=[flag_err("10.0.0.0/8,bogus", "cluster-cidr", '"bogus" is not a CIDR')]),
    dict(id="flag-nodeport-addresses", desc="--nodeport-addresses=1.2.3.256/24",
         args=["--nodeport-addresses=1.2.3.256/24"], exit=2,
         err=[flag_err("1.2.3.256/24", "nodeport-addresses", "not a CIDR")]),
    dict(id="flag-healthz-port", desc="--healthz-bind-address=0.0.0.0:65536",
         args=["--healthz-bind-address=0.0.0.0:65536"], exit=2,
         err=[flag_err("0.0.0.0:65536", "healthz-bind-address",
                       "port must be a number between 0 and 65535")]),
    dict(id="flag-metrics-ipv6", desc="--metrics-bind-address=::1:10249 (no brackets)",
         args=["--metrics-bind-address=::1:10249"], exit=2,
         err=[flag_err("::1:10249", "metrics-bind-address",
                       "an IPv6 address needs brackets, as in [::1]:10256")]),
    dict(id="flag-gate-unknown", desc="--feature-gates=NoSuchGate=true",
         args=["--feature-gates=NoSuchGate=true"], exit=2,
         err=[flag_err("NoSuchGate=true", "feature-gates", "unrecognized feature gate: NoSuchGate"),
              "AllowExtTrafficLocalEndpoints=true|false (ALPHA - default=false)"]),
    dict(id="flag-gate-no-value", desc="--feature-gates=AllowExtTrafficLocalEndpoints",
         args=["--feature-gates=AllowExtTrafficLocalEndpoints"], exit=2,
         stderr=gate_stderr("AllowExtTrafficLocalEndpoints",
                            "missing bool value for AllowExtTrafficLocalEndpoints")),
    dict(id="flag-gate-blank-item", desc="--feature-gates with a blank item after a comma",
         args=["--feature-gates=AllowExtTrafficLocalEndpoints=true, "], exit=2,
         stderr=gate_stderr("AllowExtTrafficLocalEndpoints=true, ", "missing bool value for ")),
    dict(id="flag-gate-bad-value", desc="--feature-gates=LoadBalancerIPMode=yes",
         args=["--feature-gates=LoadBalancerIPMode=yes"], exit=2,
         stderr=gate_stderr("LoadBalancerIPMode=yes",
                            "invalid value of LoadBalancerIPMode=yes, want true or false")),
    dict(id="flag-gate-locked", desc="--feature-gates=ProxyTerminatingEndpoints=false (GA)",
         args=["--feature-gates=ProxyTerminatingEndpoints=false"], exit=2,
         stderr=gate_stderr("ProxyTerminatingEndpoints=false",
                            "cannot set feature gate ProxyTerminatingEndpoints to false, "
                            "feature is locked to true")),
    dict(id="flag-gate-later-error", desc="a second --feature-gates with a bad value",
         args=["--feature-gates=AllAlpha=true", "--feature-gates=AllBeta=1"], exit=2,
         stderr=gate_stderr("AllBeta=1", "invalid value of AllBeta=1, want true or false")),
    # Fixed in proxy/config.c and featuregate/: values were repeated as they
    # were, newlines included, and a 5 kB value pushed the reason out of the message.
    dict(id="flag-gate-newline", desc="--feature-gates with a newline and rule text",
         args=["--feature-gates=LoadBalancerIPMode=true\n" + INJECT], exit=2,
         err=[flag_err("LoadBalancerIPMode=true?" + INJECT, "feature-gates",
                       "invalid value of LoadBalancerIPMode=true?" + INJECT +
                       ", want true or false")]),
    dict(id="flag-gate-5kb-name", desc="--feature-gates with a 5 kB gate name",
         args=["--feature-gates=" + "G" * 5000 + "=true"], exit=2,
         err=['kproxy: invalid value "' + "G" * 100 + '..." for --feature-gates: '
              "unrecognized feature gate: " + "G" * 64 + "...",
              "UDPConntrackCleanup=true|false (BETA - default=true)"]),
    dict(id="flag-unknown", desc="--no-such-flag", args=["--no-such-flag"], exit=2,
         err=["kproxy: unknown flag: --no-such-flag"]),
    dict(id="flag-prefix", desc="--hostname (a prefix of --hostname-override)",
         args=["--hostname=node-a"], exit=2, err=["kproxy: unknown flag: --hostname"]),
    dict(id="flag-missing-value", desc="--iptables-sync-period at the end, without a value",
         args=["--iptables-sync-period"], exit=2,
         err=["kproxy: flag --iptables-sync-period needs a value"]),
    dict(id="flag-value-not-taken", desc="--dry-run=true", args=["--dry-run=true"], exit=2,
         err=["kproxy: flag --dry-run does not take a value"]),
    dict(id="flag-short-rule", desc="rule words as flags: -j ACCEPT", args=["-j", "ACCEPT"],
         exit=2, err=["kproxy: unknown flag: -j"]),
    dict(id="flag-positional", desc="a stray positional argument", args=["ACCEPT"], exit=2,
         err=['kproxy: unexpected argument "ACCEPT"']),
    dict(id="flag-backend", desc="--iptables-backend=iptables",
         args=["--iptables-backend=iptables"],
         exit=2, err=[flag_err("iptables", "iptables-backend", "want auto, nft or legacy")]),
    dict(id="flag-verbosity", desc="-v=11", args=["-v=11"], exit=2,
         err=[flag_err("11", "v", "must be between 0 and 10")]),
    dict(id="flag-bool", desc="--masquerade-all=maybe", args=["--masquerade-all=maybe"], exit=2,
         err=[flag_err("maybe", "masquerade-all", "want true or false")]),
    # Fixed in proxy/config.c, as above.
    dict(id="flag-hostname-newline", desc="--hostname-override with a newline and rule text",
         args=["--hostname-override=node-a\n" + INJECT], exit=2,
         err=[flag_err("node-a?" + INJECT, "hostname-override",
                       "not a valid node name (a DNS-1123 subdomain: lower-case letters, "
                       "digits, '-' and '.')")]),
    dict(id="flag-dry-run-cleanup", desc="--cleanup with --dry-run", args=["--cleanup"], exit=2,
         err=["kproxy: --dry-run and --cleanup cannot be used together"]),
    dict(id="flag-master-and-file", desc="--master with --from-file", args=["--master=http://x"],
         exit=2, err=["kproxy: --from-file cannot be used with --master or --kubeconfig"]),
    dict(id="flag-from-file-missing", desc="--from-file of a file that does not exist",
         args=["--from-file=/nonexistent/kproxy-badinput.json"], exit=2,
         stderr="kproxy: /nonexistent/kproxy-badinput.json: No such file or directory\n"),
    dict(id="flag-from-file-directory", desc="--from-file of a directory (read fails)",
         args=["--from-file=/"], exit=2, stderr="kproxy: /: Is a directory\n"),
    dict(id="flag-from-file-empty", desc="--from-file= (an empty path)",
         args=["--from-file="], exit=2,
         stderr=flag_err("", "from-file", "must not be empty") + "\n" + HELP_HINT),
    dict(id="flag-dry-run-no-file", desc="--dry-run without --from-file",
         argv=["--dry-run", "--hostname-override", "node-a"], exit=2,
         stderr="kproxy: --dry-run needs --from-file\n"),
]
