#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""badinput - hostile and malformed objects and flags, one row each.

Usage: python3 test/badinput/run.py BUILD/san/kproxy [ID...]

The rows are data, in cases.py next to this file. Each one is run as
`kproxy --dry-run --from-file FILE --hostname-override node-a [flags]` (or
with the row's own command line), where FILE is a List of the known-good
Service shop/web and its EndpointSlice followed by the row's objects (or the
row's own raw file), and checked for:

  1. the exact error: every expected substring is on stderr (or stderr is
     exactly the row's text), and for object rows every stderr line is a
     one-line log message matching one of them (nothing else failed, and no
     newline from the input split a message);
  2. the rest still programmed: stdout holds every line the good pair gives
     on its own (its KPROXY-SVC/SEP chains, its cluster IP rule, the DNAT to
     198.18.1.2:8080); flag rows and unreadable files print nothing at all;
  3. no crash: the exit status is the expected one and stderr has no
     AddressSanitizer/UBSan report;
  4. no leak: ASAN_OPTIONS gets detect_leaks=1 (LSAN_OPTIONS is dropped, so
     no suppression applies), and a LeakSanitizer report fails the row;
  5. nothing injected: every stdout line is "*table", a chain declaration,
     a -A (or -I into a built-in chain) rule or COMMIT; a rule splits into
     arguments the way iptables-restore splits it, with quotes only around a
     --comment argument, exactly one -j to a declared chain or a known target,
     no line twice; and no line the good pair does not print on its own has
     an ACCEPT target or the word PWNED outside a comment.

Prints "PASS id description" or "FAIL id description" (with the reasons) per
row, then "badinput: N passed, M failed"; exits 1 on any failure.
Python standard library only.
"""
import concurrent.futures
import os
import re
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cases  # noqa: E402

HOSTNAME = "node-a"
TIMEOUT = 120  # seconds for one kproxy run; the slowest row takes about 2 s under ASan
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer",
                     "ERROR: UndefinedBehaviorSanitizer", "LeakSanitizer has encountered")
LOG_LINE = re.compile(r"^[EWID]\d{4} \d\d:\d\d:\d\d\.\d{6} kproxy\] \S")
FLAG_LINE = re.compile(r"^(kproxy: \S|Run 'kproxy --help' for the list of flags\.$|"
                       r"known gates:$|[A-Za-z]+=true\|false \([A-Z]+ - default=(true|false)\)$)")
CHAIN_DECL = re.compile(r"^:(KPROXY-[A-Z0-9-]+) - \[0:0\]$")
BUILTIN_CHAINS = {"filter": {"INPUT", "OUTPUT", "FORWARD"},
                  "nat": {"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}}
TARGETS = {"ACCEPT", "DROP", "REJECT", "RETURN", "DNAT", "SNAT", "MASQUERADE", "MARK"}
CHAIN_MAX = 28  # iptables' limit on a chain name


def sanitizer_env():
    env = dict(os.environ)
    env["ASAN_OPTIONS"] = ":".join(x for x in (env.get("ASAN_OPTIONS", ""), "detect_leaks=1") if x)
    env.pop("LSAN_OPTIONS", None)
    env["UBSAN_OPTIONS"] = ":".join(
        x for x in (env.get("UBSAN_OPTIONS", ""), "print_stacktrace=1:halt_on_error=1") if x)
    env.pop("NODE_NAME", None)
    return env


def split_args(line):
    """Splits a rule line as iptables-restore does: blanks separate, double
    quotes group, a backslash escapes the next character inside quotes.
    Returns [(text, quoted)] or raises ValueError."""
    out, cur, quoted, in_quote, i = [], "", False, False, 0
    started = False
    while i < len(line):
        ch = line[i]
        if in_quote and ch == "\\" and i + 1 < len(line):
            cur += line[i + 1]
            i += 2
            continue
        if ch == '"':
            in_quote = not in_quote
            quoted = started = True
        elif ch == " " and not in_quote:
            if started:
                out.append((cur, quoted))
            cur, quoted, started = "", False, False
        else:
            cur += ch
            started = True
        i += 1
    if in_quote:
        raise ValueError("unbalanced double quote")
    if started:
        out.append((cur, quoted))
    return out


def check_payload(text, baseline=frozenset(), new_ok=()):
    """Returns a list of problems with an iptables-restore payload (empty: fine)."""
    problems = []
    if text and not text.endswith("\n"):
        problems.append("payload does not end in a newline")
    bad = sorted({c for c in text if not (" " <= c <= "~" or c == "\n")})
    if bad:
        problems.append("payload has bytes outside printable ASCII: %r" % "".join(bad[:10]))
    table, seen_tables, chains, lines_seen = None, set(), set(), set()
    for n, line in enumerate(text.splitlines(), 1):
        where = "line %d %r" % (n, line[:160])
        if table is None:
            m = re.match(r"^\*(filter|nat)$", line)
            if not m or m.group(1) in seen_tables:
                problems.append("%s: expected *filter or *nat" % where)
                continue
            table = m.group(1)
            seen_tables.add(table)
            chains, lines_seen = set(), set()
            continue
        if line == "COMMIT":
            table = None
            continue
        if line in lines_seen:
            problems.append("%s: appears twice in *%s" % (where, table))
        lines_seen.add(line)
        m = CHAIN_DECL.match(line)
        if m:
            if len(m.group(1)) > CHAIN_MAX:
                problems.append("%s: chain name longer than %d" % (where, CHAIN_MAX))
            chains.add(m.group(1))
            continue
        if not (line.startswith("-A ") or line.startswith("-I ")):
            problems.append("%s: not a chain declaration, rule or COMMIT" % where)
            continue
        try:
            args = split_args(line)
        except ValueError as e:
            problems.append("%s: %s" % (where, e))
            continue
        if "\\" in line:
            problems.append("%s: backslash in a rule" % where)
        words = [a for a, _ in args]
        if line.startswith("-A ") and words[1] not in chains:
            problems.append("%s: -A to undeclared chain %s" % (where, words[1]))
        if line.startswith("-I ") and (words[1] not in BUILTIN_CHAINS[table] or words[2] != "1"):
            problems.append("%s: -I other than into a built-in chain at 1" % where)
        bare = []
        for k, (a, quoted) in enumerate(args):
            if quoted and (k == 0 or words[k - 1] != "--comment"):
                problems.append("%s: quoted argument %r outside a comment" % (where, a))
            if k > 0 and words[k - 1] == "--comment":
                if '"' in a:
                    problems.append("%s: double quote inside a comment" % where)
                continue
            bare.append(a)
        jumps = [k for k, a in enumerate(bare) if a in ("-j", "-g")]
        if len(jumps) != 1 or jumps[0] + 1 >= len(bare):
            problems.append("%s: %d jumps (want exactly one)" % (where, len(jumps)))
        else:
            target = bare[jumps[0] + 1]
            if target not in chains and target not in TARGETS:
                problems.append("%s: jump to unknown target %s" % (where, target))
        if line not in baseline:
            if "ACCEPT" in bare and "ACCEPT" not in new_ok:
                problems.append("%s: ACCEPT rule that the good objects alone do not have" % where)
            if any("PWNED" in a for a in bare):
                problems.append("%s: injected word outside a comment" % where)
    if table is not None:
        problems.append("*%s has no COMMIT" % table)
    return problems


def self_test():
    """The payload checker must catch what it is there to catch."""
    good = ("*nat\n:KPROXY-SERVICES - [0:0]\n"
            '-A KPROXY-SERVICES -m comment --comment "a -j ACCEPT b" -j RETURN\nCOMMIT\n')
    assert check_payload(good) == [], check_payload(good)
    for bad in (good.replace("RETURN\n", "RETURN\n-A KPROXY-SERVICES -j ACCEPT\n"),
                good.replace('"a -j ACCEPT b"', 'a -j ACCEPT'),
                good.replace('"a -j ACCEPT b"', '"a" -j ACCEPT "b"'),
                good.replace('"a -j ACCEPT b"', '"a -j \\" ACCEPT b"'),
                good.replace("RETURN", "RETURN -m comment --comment PWNED -j KPROXY-SERVICES"),
                good.replace("-A KPROXY-SERVICES", "-A KPROXY-OTHER"),
                good + "-A KPROXY-SERVICES -j RETURN\n",
                good.replace("COMMIT\n", "-j ACCEPT\nCOMMIT\n"),
                good.replace(":KPROXY-SERVICES - [0:0]\n", ":KPROXY-SERVICES - [0:0]\n" * 2)):
        assert check_payload(bad), bad


def strip_comment(line):
    """A rule without its comment: with more than 1,000 endpoints the rules
    of every service drop their comments, as kube-proxy's do."""
    return re.sub(r' -m comment --comment ("[^"]*"|\S+)', "", line)


def good_lines(payload):
    """The lines of the baseline payload that program shop/web: those that
    mention it, and the declarations of the chains they use."""
    lines = payload.splitlines()
    mine = [line for line in lines if "shop/web" in line]
    used = set()
    for line in mine:
        used.update(re.findall(r"KPROXY-(?:SVC|SEP|SVL|EXT|FW)-[A-Z0-9]{16}", line))
    return mine + [line for line in lines if CHAIN_DECL.match(line) and
                   CHAIN_DECL.match(line).group(1) in used]


def run_kproxy(kproxy, path, args, env, argv=None):
    if argv is None:
        argv = ["--dry-run", "--from-file", path, "--hostname-override", HOSTNAME] + args
    argv = [kproxy] + argv
    start = time.monotonic()
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                           timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return None, b"", b"timed out after %d s" % TIMEOUT, time.monotonic() - start
    return p.returncode, p.stdout, p.stderr, time.monotonic() - start


def check_row(row, kproxy, tmp, env, baseline, good):
    """Runs one row; returns (passed, reasons, seconds)."""
    reasons = []
    want_exit = row.get("exit", 0)
    path = os.path.join(tmp, row["id"] + ".json")
    data = row["raw"] if "raw" in row else cases.document(row.get("objs", []))
    with open(path, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    rc, out_b, err_b, secs = run_kproxy(kproxy, path, row.get("args", []), env, row.get("argv"))
    out = out_b.decode("utf-8", "replace")
    err = err_b.decode("utf-8", "replace")
    os.unlink(path)

    if rc != want_exit:
        reasons.append("exit status %s, want %d" % (rc, want_exit))
    for marker in SANITIZER_MARKERS:
        if marker in err:
            reasons.append("sanitizer report: %s" % marker)
            break
    for want in row.get("err", []):
        if want not in err:
            reasons.append("stderr lacks: %s" % want)
    if "stderr" in row and err != row["stderr"]:
        reasons.append("stderr is not exactly %r" % row["stderr"])
    err_lines = [line for line in err.splitlines() if line]
    is_flag_row = want_exit == 2
    for line in err_lines:
        if is_flag_row:
            if not FLAG_LINE.match(line):
                reasons.append("stderr line is not a message: %r" % line[:200])
        elif not LOG_LINE.match(line):
            reasons.append("stderr line is not one log message: %r" % line[:200])
        elif not any(want in line for want in row.get("err", [])):
            reasons.append("unexpected stderr line: %r" % line[:300])

    if want_exit != 0:
        if out:
            reasons.append("printed %d bytes on stdout, want nothing" % len(out))
    else:
        reasons += check_payload(out, baseline, row.get("new_ok", ()))
        if row.get("good", True):
            lines = {strip_comment(line) for line in out.splitlines()}
            lost = [line for line in good if strip_comment(line) not in lines]
            for line in lost[:3]:
                reasons.append("good service line missing: %s" % line)
    for want in row.get("out", []):
        if want not in out:
            reasons.append("stdout lacks: %s" % want)
    for unwanted in row.get("not_out", []):
        if unwanted in out:
            reasons.append("stdout has: %s" % unwanted)
    for want, count in row.get("out_count", {}).items():
        got = sum(1 for line in out.splitlines() if want in line)
        if got != count:
            reasons.append("%d stdout lines have %r, want %d" % (got, want, count))
    if reasons and err:
        reasons.append("stderr was: " + err[:600].replace("\n", "\n      "))
    return not reasons, reasons, secs


def main(argv):
    if len(argv) < 2 or argv[1].startswith("-"):
        print("usage: run.py KPROXY [ID...]", file=sys.stderr)
        return 2
    kproxy = os.path.abspath(argv[1])
    only = set(argv[2:])
    rows = [r for r in cases.ROWS if not only or r["id"] in only]
    if only - {r["id"] for r in rows}:
        print("badinput: no such row: %s" % " ".join(sorted(only - {r["id"] for r in rows})),
              file=sys.stderr)
        return 2
    self_test()
    env = sanitizer_env()

    # Leak checks mean nothing without LeakSanitizer in the binary.
    probe = subprocess.run([kproxy, "--version"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           env=dict(env, ASAN_OPTIONS="help=1"))
    if b"AddressSanitizer" not in probe.stderr:
        print("badinput: %s is not built with AddressSanitizer (use build/san/kproxy)" % kproxy,
              file=sys.stderr)
        return 2

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="kproxy-badinput-") as tmp:
        path = os.path.join(tmp, "baseline.json")
        with open(path, "w") as f:
            f.write(cases.document([]))
        rc, out_b, err_b, _ = run_kproxy(kproxy, path, [], env)
        base = out_b.decode("utf-8", "replace")
        good = good_lines(base)
        baseline = frozenset(base.splitlines())
        problems = check_payload(base, baseline)
        if rc != 0 or err_b or problems or not any(
                line.startswith(":KPROXY-SVC-") for line in good) or not any(
                "-j DNAT --to-destination 198.18.1.2:8080" in line for line in good) or not any(
                "-d 198.19.0.10" in line and "-j KPROXY-SVC-" in line for line in good):
            print("badinput: the good objects alone do not give a clean payload "
                  "(exit %s): %s %s" % (rc, problems, err_b.decode(errors="replace")[:600]))
            return 1

        workers = max(2, os.cpu_count() or 2)
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            results = pool.map(lambda r: check_row(r, kproxy, tmp, env, baseline, good), rows)
            passed = failed = 0
            slowest = (0.0, "")
            for row, (ok, reasons, secs) in zip(rows, results):
                print("%s %s %s" % ("PASS" if ok else "FAIL", row["id"], row["desc"]))
                for r in reasons:
                    print("    " + r)
                if ok:
                    passed += 1
                else:
                    failed += 1
                slowest = max(slowest, (secs, row["id"]))
                sys.stdout.flush()
    print("badinput: %d rows in %.1f s (slowest %s, %.1f s)" % (
        len(rows), time.monotonic() - start, slowest[1], slowest[0]))
    print("badinput: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
