#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Payload and result helpers of test/bench/bench.sh (Python 3 standard library only).

  benchutil.py cond OLD NEW EXISTS_OUT GONE_OUT
      nat chains NEW declares and OLD does not (written to EXISTS_OUT); when
      there are none, the nat chains OLD declares and NEW does not (GONE_OUT).
      A change is in the kernel when its new chains exist (they arrive in the
      same commit as everything else of the table), or, for a pure removal,
      when the removed chains are gone.
  benchutil.py prepare DIR A-B...          for each transition A-B, from
      DIR/kp-A.rules to DIR/kp-B.rules and DIR/kube-A.rules to
      DIR/kube-B.rules: kp-A-B.exist/.gone (cond), floor-A-B.rules (delta of
      kproxy's payloads), kube-A-B.exist/.gone and kube-A-B.partial (partial of
      the kube-proxy-shaped ones); every payload is parsed once.
  benchutil.py chains PAYLOAD [TABLE]      chains a payload declares
  benchutil.py delta OLD NEW               minimal --noflush payload from full
      payload OLD to full payload NEW: changed chains only; a long chain with a
      few changed rules is edited with -D/-I by position, a short one is
      flushed and refilled; vanished chains are flushed and deleted (-X).
  benchutil.py partial OLD NEW             what a kube-proxy partial sync
      (KEP-3453, MinimizeIPTablesRestore) writes for the same change: every
      chain that is not per-Service rewritten in full, per-Service chains
      (SVC/SVL/EXT/FW/SEP) only when new or changed, vanished ones deleted.
  benchutil.py dispatch PAYLOAD            first and last TCP ClusterIP in
      nat dispatch order: walks nat KPROXY-SERVICES (and any chain it jumps to
      that is not per-Service) and counts the rules a packet to each address
      is matched against. Prints "first IP PORT COST", "last IP PORT COST",
      "count N", and "filter N": the rules of the filter chains FORWARD jumps
      to, which every new forwarded connection walks as well.
  benchutil.py phases LOG MARKS            splits each timed change (MARKS:
      "t0_realtime_ns elapsed_ms" per line) into the phases kproxy logs.
  benchutil.py coldphases LOG T0_NS        the same for the first sync.
  benchutil.py kubeshape -s S -e E [--changed N --generation G] [--jumps]
      a kube-proxy-shaped full payload (iptables mode, KEP-3453 era layout:
      KUBE-SERVICES -> KUBE-SVC-* -> KUBE-SEP-*, NodePorts on every fifth
      Service through KUBE-EXT-*), used when gen_kp_rules.py is not at hand.
      --generation moves the endpoints of the first --changed Services.
  benchutil.py stats [SCALE]               median, p99 (nearest rank), min,
      max, n of the numbers on stdin (multiplied by SCALE).
  benchutil.py table RESULTS               prints the results table.
"""
import base64
import calendar
import difflib
import hashlib
import math
import re
import sys
import time

PER_SERVICE = re.compile(r"^(KUBE|KPROXY)-(SVC|SVL|EXT|FW|SEP|XLB)-")
BUILTIN = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}
SMALL_CHAIN = 32


def parse(path):
    """{table: (declared chain names in order, {chain: [rule spec]}, [other lines])}."""
    tables = {}
    cur = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            if line[0] == "*":
                cur = (line[1:], [], {}, [])
                tables[line[1:]] = cur
            elif line == "COMMIT":
                cur = None
            elif cur is None:
                continue
            elif line[0] == ":":
                name = line[1:].split(" ", 1)[0]
                if name not in cur[2]:
                    cur[1].append(name)
                    cur[2][name] = []
            elif line.startswith("-A "):
                chain, _, spec = line[3:].partition(" ")
                if chain in BUILTIN:
                    cur[3].append(line)
                else:
                    cur[2].setdefault(chain, []).append(spec)
            else:
                cur[3].append(line)
    return {t: (v[1], v[2], v[3]) for t, v in tables.items()}


def cmd_chains(a):
    tables = parse(a[0])
    for t, (decl, _, _) in tables.items():
        if len(a) < 2 or a[1] == t:
            for c in decl:
                print(c)


def write_cond(old, new, exists_out, gone_out):
    od = set(old.get("nat", ([], {}, []))[0])
    nd = new.get("nat", ([], {}, []))[0]
    exists = [c for c in nd if c not in od]
    gone = [] if exists else sorted(od - set(nd))
    with open(exists_out, "w") as f:
        f.write("".join(c + "\n" for c in exists))
    with open(gone_out, "w") as f:
        f.write("".join(c + "\n" for c in gone))
    if not exists and not gone:
        sys.exit("benchutil cond: the two payloads declare the same nat chains")


def cmd_cond(a):
    write_cond(parse(a[0]), parse(a[1]), a[2], a[3])


def edit_ops(chain, old, new):
    """-D by position (descending), then -I by position (ascending)."""
    sm = difflib.SequenceMatcher(None, old, new, autojunk=False)
    dels, ins = [], []
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag in ("delete", "replace"):
            dels.extend(range(i1, i2))
        if tag in ("insert", "replace"):
            ins.extend(range(j1, j2))
    out = ["-D %s %d" % (chain, i + 1) for i in sorted(dels, reverse=True)]
    out += ["-I %s %d %s" % (chain, j + 1, new[j]) for j in sorted(ins)]
    return out


def diff_payload(old, new, partial):
    out = []
    for t, (ndecl, nrules, _) in new.items():
        odecl, orules, _ = old.get(t, ([], {}, []))
        decl, body, stale = [], [], []
        for c in ndecl:
            nr = nrules.get(c, [])
            per_service = PER_SERVICE.match(c) is not None
            if c in orules and orules[c] == nr and (per_service or not partial):
                continue
            if partial or c not in orules or max(len(nr), len(orules[c])) <= SMALL_CHAIN:
                decl.append(":%s - [0:0]" % c)
                body.extend("-A %s %s" % (c, r) for r in nr)
            else:
                body.extend(edit_ops(c, orules[c], nr))
        nset = set(ndecl)
        for c in odecl:
            if c not in nset:
                decl.append(":%s - [0:0]" % c)
                stale.append("-X %s" % c)
        if decl or body or stale:
            out.append("*" + t)
            out.extend(decl)
            out.extend(body)
            out.extend(stale)
            out.append("COMMIT")
    return "\n".join(out) + "\n"


def cmd_delta(a):
    sys.stdout.write(diff_payload(parse(a[0]), parse(a[1]), False))


def cmd_partial(a):
    sys.stdout.write(diff_payload(parse(a[0]), parse(a[1]), True))


def cmd_prepare(a):
    d = a[0]
    cache = {}

    def load(name):
        if name not in cache:
            cache[name] = parse("%s/%s.rules" % (d, name))
        return cache[name]

    for tr in a[1:]:
        x, y = tr.split("-")
        for kind in ("kp", "kube"):
            old, new = load("%s-%s" % (kind, x)), load("%s-%s" % (kind, y))
            write_cond(old, new, "%s/%s-%s.exist" % (d, kind, tr), "%s/%s-%s.gone" % (d, kind, tr))
            out = ("%s/floor-%s.rules" if kind == "kp" else "%s/kube-%s.partial") % (d, tr)
            with open(out, "w") as f:
                f.write(diff_payload(old, new, kind == "kube"))


OPT = re.compile(r'(?:"[^"]*"|\S)+')


def rule_fields(spec):
    toks = OPT.findall(spec)
    f = {}
    neg = False
    for i, tok in enumerate(toks):
        if tok == "!":
            neg = True
            continue
        if tok in ("-d", "--dport", "-p", "-j", "-s") and i + 1 < len(toks):
            f[tok] = (neg, toks[i + 1])
        neg = False
    return f


def cmd_dispatch(a):
    tables = parse(a[0])
    if "nat" not in tables:
        sys.exit("benchutil dispatch: no nat table in " + a[0])
    _, rules, _ = tables["nat"]
    found = []

    def walk(chain, base, depth):
        for i, spec in enumerate(rules.get(chain, [])):
            f = rule_fields(spec)
            target = f.get("-j", (False, ""))[1]
            cost = base + i + 1
            if PER_SERVICE.match(target):
                d, port, proto = f.get("-d"), f.get("--dport"), f.get("-p")
                if (target.startswith(("KPROXY-SVC-", "KPROXY-SVL-", "KUBE-SVC-", "KUBE-SVL-"))
                        and d and not d[0] and "/" not in d[1].replace("/32", "")
                        and port and proto and proto[1] == "tcp"):
                    found.append((cost, len(found), d[1].replace("/32", ""), port[1]))
            elif (target.startswith(("KPROXY-", "KUBE-")) and depth < 8
                  and target not in ("KPROXY-NODEPORTS", "KUBE-NODEPORTS", "KPROXY-MARK-MASQ",
                                     "KUBE-MARK-MASQ") and target in rules):
                walk(target, cost, depth + 1)

    start = "KPROXY-SERVICES" if "KPROXY-SERVICES" in rules else "KUBE-SERVICES"
    walk(start, 0, 0)
    if not found:
        sys.exit("benchutil dispatch: no TCP ClusterIP rule under nat " + start)
    first = min(found)
    last = max(found, key=lambda x: (x[0], x[1]))
    print("first %s %s %d" % (first[2], first[3], first[0]))
    print("last %s %s %d" % (last[2], last[3], last[0]))
    print("count %d" % len(found))
    # Every new forwarded connection also walks the filter chains FORWARD
    # jumps to (none of their rules match a ClusterIP connection that has
    # endpoints): count them.
    _, frules, fother = tables.get("filter", ([], {}, []))
    seen = set()

    def count(chain):
        if chain in seen:
            return 0
        seen.add(chain)
        n = 0
        for spec in frules.get(chain, []):
            n += 1
            t = rule_fields(spec).get("-j", (False, ""))[1]
            if t in frules:
                n += count(t)
        return n

    total = 0
    for line in fother:
        p = line.split(" ", 2)
        if len(p) > 1 and p[1] == "FORWARD":
            t = rule_fields(line).get("-j", (False, ""))[1]
            if t in frules:
                total += count(t)
    print("filter %d" % total)


LOGLINE = re.compile(r"^[IWED](\d\d)(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{6}) kproxy\] (.*)$")


def log_events(path):
    now = time.gmtime()
    ev = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LOGLINE.match(line.rstrip("\n"))
            if not m:
                continue
            mo, d, hh, mi, ss, us, msg = m.groups()
            year = now.tm_year - (1 if int(mo) > now.tm_mon else 0)
            t = calendar.timegm((year, int(mo), int(d), int(hh), int(mi), int(ss), 0, 0, 0))
            ev.append((t * 1000.0 + int(us) / 1000.0, msg))
    return ev


APPLIED = re.compile(r"sync: applied (a full|a partial) sync .*?nat (\d+) of (\d+) rules written"
                     r".* in (\d+) ms")
RESTORE = re.compile(r"sync: restore took (\d+) ms")


def med(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2


def cmd_phases(a):
    ev = log_events(a[0])
    marks = []
    with open(a[1]) as f:
        for line in f:
            p = line.split()
            if len(p) >= 2:
                marks.append((int(p[0]) / 1e6, float(p[1])))
    rows = []
    for t0, elapsed in marks:
        reload_t = applied = None
        restore = None
        for t, msg in ev:
            if t < t0 - 1:
                continue
            if reload_t is None:
                if msg.startswith("reloaded "):
                    reload_t = t
                continue
            m = RESTORE.match(msg)
            if m:
                restore = float(m.group(1))
                continue
            m = APPLIED.match(msg)
            if m:
                applied = (t, m.group(1), int(m.group(2)), int(m.group(3)), float(m.group(4)))
                break
        if reload_t is None or applied is None:
            continue
        t_app, kind, written, total, sync_ms = applied
        rows.append({
            "reload": reload_t - t0,
            "wait": (t_app - sync_ms) - reload_t,
            "build": sync_ms - (restore if restore is not None else 0),
            "restore": restore if restore is not None else float("nan"),
            "logged": t_app - t0,
            "seen": elapsed,
            "own": elapsed - (reload_t - t0),
            "written": written,
            "total": total,
            "full": kind == "a full",
        })
    if not rows:
        print("n 0")
        return
    print("n %d" % len(rows))
    print("full %d" % sum(r["full"] for r in rows))
    for k in ("reload", "wait", "build", "restore", "logged", "seen", "own", "written", "total"):
        print("%s %.1f" % (k, med([r[k] for r in rows])))


def cmd_coldphases(a):
    ev = log_events(a[0])
    t0 = int(a[1]) / 1e6
    loaded = None
    restore = None
    for t, msg in ev:
        if loaded is None and msg.startswith("kproxy ") and " services from " in msg:
            loaded = t
            continue
        m = RESTORE.match(msg)
        if m:
            restore = float(m.group(1))
            continue
        m = APPLIED.match(msg)
        if m and loaded is not None:
            sync_ms = float(m.group(4))
            print("load %.1f" % (loaded - t0))
            print("save %.1f" % ((t - sync_ms) - loaded))
            print("build %.1f" % (sync_ms - (restore or 0)))
            print("restore %.1f" % (restore if restore is not None else float("nan")))
            print("logged %.1f" % (t - t0))
            return
    print("load nan")


def kube_chain(kind, *parts):
    """kube-proxy's per-Service chain name: KUBE-<kind>- + 16 base32 chars of sha256."""
    digest = hashlib.sha256("".join(parts).encode()).digest()
    return "KUBE-%s-%s" % (kind, base64.b32encode(digest).decode()[:16])


def cmd_kubeshape(a):
    def opt(name, default):
        return int(a[a.index(name) + 1]) if name in a else default

    services, eps = opt("-s", 0), opt("-e", 10)
    changed, gen, jumps = opt("--changed", 0), opt("--generation", 0), "--jumps" in a
    cidr = "10.0.0.0/8"
    out = ["*filter"]
    for c in ("KUBE-EXTERNAL-SERVICES", "KUBE-FORWARD", "KUBE-NODEPORTS", "KUBE-PROXY-FIREWALL",
              "KUBE-SERVICES", "KUBE-PROXY-CANARY"):
        out.append(":%s - [0:0]" % c)
    if jumps:
        out += ['-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer '
                'firewall" -j KUBE-PROXY-FIREWALL',
                '-A INPUT -m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS',
                '-A INPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible '
                'service portals" -j KUBE-EXTERNAL-SERVICES',
                '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer '
                'firewall" -j KUBE-PROXY-FIREWALL',
                '-A FORWARD -m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD',
                '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" '
                '-j KUBE-SERVICES',
                '-A FORWARD -m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible '
                'service portals" -j KUBE-EXTERNAL-SERVICES',
                '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer '
                'firewall" -j KUBE-PROXY-FIREWALL',
                '-A OUTPUT -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" '
                '-j KUBE-SERVICES']
    out += ["-A KUBE-FORWARD -m conntrack --ctstate INVALID -j DROP",
            '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding rules" -m mark --mark '
            '0x4000/0x4000 -j ACCEPT',
            '-A KUBE-FORWARD -m comment --comment "kubernetes forwarding conntrack rule" -m conntrack '
            '--ctstate RELATED,ESTABLISHED -j ACCEPT',
            "COMMIT", "*nat"]
    decl = [":%s - [0:0]" % c for c in ("KUBE-SERVICES", "KUBE-NODEPORTS", "KUBE-POSTROUTING",
                                         "KUBE-MARK-MASQ", "KUBE-PROXY-CANARY")]
    rules = []
    if jumps:
        rules += ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
                  '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
                  '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j '
                  'KUBE-POSTROUTING']
    rules += ["-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN",
              "-A KUBE-POSTROUTING -j MARK --xor-mark 0x4000",
              '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
              "-j MASQUERADE --random-fully",
              "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000"]
    top, nodeports, per = [], [], []
    for i in range(services):
        name = "bench%d/svc-%d:http" % (i % 40, i)
        ip = "172.%d.%d.%d" % (20 + (i >> 16), (i >> 8) & 255, i & 255)
        svc = kube_chain("SVC", name, "tcp")
        decl.append(":%s - [0:0]" % svc)
        top.append('-A KUBE-SERVICES -d %s/32 -p tcp -m comment --comment "%s cluster IP" -m tcp '
                   "--dport 80 -j %s" % (ip, name, svc))
        per.append('-A %s ! -s %s -d %s/32 -p tcp -m comment --comment "%s cluster IP" -m tcp '
                   "--dport 80 -j KUBE-MARK-MASQ" % (svc, cidr, ip, name))
        g = gen if i < changed else 0
        seps = []
        for j in range(eps):
            n = (i * eps + j + g * 7919) % (1 << 24)
            pod = "10.%d.%d.%d" % (n >> 16, (n >> 8) & 255, n & 255)
            sep = kube_chain("SEP", name, "tcp", pod + ":8080")
            decl.append(":%s - [0:0]" % sep)
            left = eps - j
            prob = "-m statistic --mode random --probability %.11f " % (1.0 / left) if left > 1 else ""
            per.append('-A %s -m comment --comment "%s -> %s:8080" %s-j %s' % (svc, name, pod, prob, sep))
            seps.append('-A %s -s %s/32 -m comment --comment "%s" -j KUBE-MARK-MASQ' % (sep, pod, name))
            seps.append('-A %s -p tcp -m comment --comment "%s" -m tcp -j DNAT --to-destination %s:8080'
                        % (sep, name, pod))
        per.extend(seps)
        if i % 5 == 4:
            ext = kube_chain("EXT", name, "tcp")
            decl.append(":%s - [0:0]" % ext)
            nodeports.append('-A KUBE-NODEPORTS -p tcp -m comment --comment "%s" -m tcp --dport %d -j %s'
                             % (name, 30000 + i % 2768, ext))
            per.append('-A %s -m comment --comment "masquerade traffic for %s external destinations" '
                       "-j KUBE-MARK-MASQ" % (ext, name))
            per.append("-A %s -j %s" % (ext, svc))
    top.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must '
               'be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    out += decl + rules + top + nodeports + per + ["COMMIT", ""]
    sys.stdout.write("\n".join(out))


def cmd_stats(a):
    scale = float(a[0]) if a else 1.0
    xs = sorted(float(x) * scale for x in sys.stdin.read().split())
    if not xs:
        print("nan nan nan nan 0")
        return
    p99 = xs[max(0, math.ceil(0.99 * len(xs)) - 1)]
    print("%.1f %.1f %.1f %.1f %d" % (med(xs), p99, xs[0], xs[-1], len(xs)))


def cmd_table(a):
    rows = []
    with open(a[0], encoding="utf-8") as f:
        for line in f:
            if line.strip():
                rows.append(line.rstrip("\n").split("\t"))
    if not rows:
        return
    head, body = rows[0], rows[1:]
    width = [max(len(r[i]) if i < len(r) else 0 for r in rows) for i in range(len(head))]

    def fmt(r):
        return "| " + " | ".join((r[i] if i < len(r) else "").ljust(width[i])
                                 for i in range(len(head))) + " |"

    print(fmt(head))
    print("|" + "|".join("-" * (w + 2) for w in width) + "|")
    for r in body:
        print(fmt(r))


def main():
    cmds = {"prepare": cmd_prepare, "cond": cmd_cond, "chains": cmd_chains, "delta": cmd_delta, "partial": cmd_partial,
            "dispatch": cmd_dispatch, "kubeshape": cmd_kubeshape, "phases": cmd_phases, "coldphases": cmd_coldphases,
            "stats": cmd_stats, "table": cmd_table}
    if len(sys.argv) < 2 or sys.argv[1] not in cmds:
        sys.exit(__doc__)
    cmds[sys.argv[1]](sys.argv[2:])


if __name__ == "__main__":
    main()
