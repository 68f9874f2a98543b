#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Soak: kproxy follows an API server (test/fakeapi.py) whose 1,000 Services
# and EndpointSlices churn at a steady rate (test/soak/churn.py: endpoint
# sets change, slices and services come and go, services change port, type
# and affinity) for MINUTES minutes, while traffic flows to three services
# that keep their endpoints throughout. The 1,000 services are put before
# kproxy starts, so that its first sync is already in large-cluster mode
# (over 1,000 endpoint chains: endpoint rules without comments) and the
# churn, which stays well above that, never crosses it: crossing it does
# not force a full sync (as in kube-proxy), so the comments of rules no
# partial sync rewrote would differ from --dry-run's for up to an hour.
# Two nodes run kproxy:
#
#   node-a: the leak-checked kproxy: under valgrind (memcheck,
#           --leak-check=full --errors-for-leak-kinds=definite) when the
#           installed valgrind can run it, else the ASan+LSan build
#           ($KPROXY_SAN, default: san/kproxy next to KPROXY). Debian 12's
#           valgrind (3.19) has no pidfd_open (syscall 434), without which
#           kproxy cannot watch its iptables-restore children: every sync
#           fails with "Function not implemented". Whether the installed
#           one has it is tried first (a pidfd_open under valgrind
#           --tool=none). SOAK_TOOL=valgrind|asan forces one.
#   node-b: KPROXY itself, as in production, for a representative RSS.
#
# Passes when:
#   - neither kproxy exits before it is told to (SIGTERM at the end, exit 0);
#   - no leak: valgrind's "definitely lost" is 0 and it reports no error,
#     or LeakSanitizer reports nothing and ASan/UBSan nothing else;
#   - RSS is flat after warm-up. VmRSS is sampled every second, and the
#     lowest of each 10 s is kept: the baseline between syncs, which a leak
#     raises, without the transient peak (up to 1 MB) of a sample taken
#     during a sync. The slope of those minima over the second half of the
#     churn (Theil-Sen: the median of the slopes between every two of them)
#     is at most SOAK_RSS_SLOPE_MAX kB/min (default 64) on node-b, which runs
#     kproxy as in production. The checked node's RSS is reported and only
#     held to SOAK_RSS_SLOPE_MAX_CHECKED (default 2048): ASan's quarantine,
#     stack depot and allocator caches, or valgrind's bookkeeping, grow for
#     many minutes on their own (about 800 kB/min over a 3-minute run), and
#     leaks are what the leak checker is there for;
#   - not one request to the steady services fails (a pod and an external
#     client on each node, a request every 50 ms each);
#   - no iptables-restore fails, and /healthz is 200 at the end;
#   - after the churn, each node's kernel holds exactly (iptables-save
#     without counters, in a canonical order) the rules that
#     kproxy --dry-run prints for the API's final state.
# Prints the figures and closes with "soak: N passed, M failed (figures)";
# exit 0 only when all passed.
#
# Usage: test/soak/soak.sh KPROXY [MINUTES]   (as root; MINUTES default 30)
#   KPROXY_BACKEND=nft|legacy (nft), SOAK_RATE changes/s (10),
#   SOAK_SERVICES (1000; about 1.7 endpoint chains each, so below some 700
#   the churn may cross the 1,000 of large-cluster mode, see above),
#   SOAK_SEED (1), SOAK_TOOL=auto|valgrind|asan,
#   SOAK_KEEP=DIR keeps the logs, RSS samples and final state there.
set -u
MINUTES=${2:-30}
RATE=${SOAK_RATE:-10}
SERVICES=${SOAK_SERVICES:-1000}
SEED=${SOAK_SEED:-1}
SLOPE_MAX=${SOAK_RSS_SLOPE_MAX:-64}
SLOPE_MAX_CHECKED=${SOAK_RSS_SLOPE_MAX_CHECKED:-2048}
SOAK_DIR=$(cd "$(dirname "$0")" && pwd)
INTEGRATION_DIR=$SOAK_DIR/../integration
# shellcheck source=test/integration/lib.sh
. "$INTEGRATION_DIR/lib.sh"
lib_init "${1:-}"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"
XTABLES_LOCKFILE=$TMP/xtables.lock
export XTABLES_LOCKFILE
case $MINUTES in
'' | *[!0-9]*) fail "MINUTES must be a whole number, not '$MINUTES'" ;;
esac

# ---- the leak checker ---------------------------------------------------------

is_asan() {
	grep -a -q __asan_init "$1"
}

# valgrind_runs_kproxy: the installed valgrind implements pidfd_open.
valgrind_runs_kproxy() {
	command -v valgrind >/dev/null 2>&1 &&
		valgrind --tool=none -q "$PY" -c 'import os; os.close(os.pidfd_open(os.getpid()))' \
			>/dev/null 2>&1
}

KPROXY_SAN=${KPROXY_SAN:-$(dirname "$KPROXY")/san/kproxy}
TOOL=${SOAK_TOOL:-auto}
why=""
if [ "$TOOL" = auto ]; then
	if is_asan "$KPROXY"; then
		TOOL=asan
		KPROXY_SAN=$KPROXY
		why="KPROXY is an ASan build"
	elif valgrind_runs_kproxy; then
		TOOL=valgrind
		why="$(valgrind --version) implements pidfd_open"
	else
		TOOL=asan
		why="$(valgrind --version 2>/dev/null || echo "no valgrind"): no pidfd_open (syscall 434), so kproxy could not run iptables-restore under it"
	fi
fi
case $TOOL in
valgrind)
	command -v valgrind >/dev/null 2>&1 || fail "SOAK_TOOL=valgrind, but there is no valgrind"
	is_asan "$KPROXY" && fail "valgrind needs a build without sanitizers, not $KPROXY"
	CHECKED=$KPROXY
	;;
asan)
	case $KPROXY_SAN in /*) ;; *) KPROXY_SAN=$(pwd)/$KPROXY_SAN ;; esac
	[ -x "$KPROXY_SAN" ] || fail "no ASan build at $KPROXY_SAN (make build/san/kproxy)"
	is_asan "$KPROXY_SAN" || fail "$KPROXY_SAN is not an ASan build"
	CHECKED=$KPROXY_SAN
	;;
*) fail "SOAK_TOOL must be auto, valgrind or asan, not '$TOOL'" ;;
esac
echo "soak: $MINUTES min, $SERVICES services churning at $RATE changes/s, backend $BACKEND"
echo "soak: node-a runs $CHECKED under $TOOL${why:+ ($why)}; node-b runs $KPROXY"

# ---- the scene ------------------------------------------------------------------

topology_up
ref_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2
add_pod node-b b2 198.18.2.3

# Not through in_ns: $! must be the server's pid.
ip netns exec "$P-node-a" "$PY" "$SOAK_DIR/../fakeapi.py" --port 0 \
	>"$TMP/fakeapi.out" 2>"$TMP/fakeapi.err" &
echo $! >"$TMP/fakeapi.pid"
wait_until 10 grep -q '^PORT ' "$TMP/fakeapi.out" ||
	fail "the fake API server did not start: $(cat "$TMP/fakeapi.err")"
PORT=$(awk '/^PORT / { print $2 }' "$TMP/fakeapi.out")
API=http://127.0.0.1:$PORT
ip netns exec "$P-node-a" "$PY" -c '
import socket, sys, threading
# A TCP relay 192.0.2.10:PORT -> 127.0.0.1:PORT, so node-b can reach the
# fake API server, which listens on 127.0.0.1 only.
port = int(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("192.0.2.10", port))
srv.listen(16)
print("ready", flush=True)
def pipe(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
while True:
    c, _ = srv.accept()
    u = socket.create_connection(("127.0.0.1", port))
    threading.Thread(target=pipe, args=(c, u), daemon=True).start()
    threading.Thread(target=pipe, args=(u, c), daemon=True).start()
' "$PORT" >"$TMP/relay.out" 2>&1 &
echo $! >"$TMP/relay.pid"
wait_until 10 grep -q '^ready' "$TMP/relay.out" || fail "the relay did not start: $(cat "$TMP/relay.out")"

set_state "$TMP/base.json" <<EOF
svc steady1 198.19.0.201 http:tcp:80:8080:32701
eps steady1 a1 b1
svc steady2 198.19.0.202 http:tcp:80:8080:32702
eps steady2 a1
svc steady3 198.19.0.203 http:tcp:80:8080:32703
eps steady3 b1
EOF
in_ns node-a "$PY" "$INTEGRATION_DIR/apictl.py" "$API" sync "$TMP/base.json" >"$TMP/apictl.out" ||
	fail "apictl sync: $(cat "$TMP/apictl.out")"

# The churned services go in first; churn.py then waits for $TMP/go.
SECONDS_CHURN=$((MINUTES * 60))
ip netns exec "$P-node-a" "$PY" "$SOAK_DIR/churn.py" "$API" "$TMP/base.json" \
	--services "$SERVICES" --rate "$RATE" --seconds "$SECONDS_CHURN" --seed "$SEED" \
	--final "$TMP/final.json" --start "$TMP/go" >"$TMP/churn.out" 2>&1 &
echo $! >"$TMP/churn.pid"
churn_pid=$(cat "$TMP/churn.pid")
wait_until 60 grep -q '^churn: initial state' "$TMP/churn.out" ||
	fail "churn.py did not put the initial services: $(tail -n 5 "$TMP/churn.out")"
head -n 1 "$TMP/churn.out"

# start_node NODE API_URL: kproxy on NODE, the checked one on node-a.
start_node() {
	_node=$1
	_args="--master $2 --hostname-override $_node --cluster-cidr $CLUSTER_CIDR
		--iptables-backend $BACKEND --iptables-sync-period 10s"
	echo "==== $(date +%T) start" >>"$TMP/kproxy-$_node.log"
	# shellcheck disable=SC2086 # a list of arguments
	if [ "$_node" = node-b ]; then
		ip netns exec "$P-$_node" "$KPROXY" $_args >>"$TMP/kproxy-$_node.log" 2>&1 &
	elif [ "$TOOL" = valgrind ]; then
		ip netns exec "$P-$_node" valgrind --tool=memcheck --leak-check=full \
			--errors-for-leak-kinds=definite --error-exitcode=99 \
			--log-file="$TMP/valgrind.log" "$CHECKED" $_args >>"$TMP/kproxy-$_node.log" 2>&1 &
	else
		ip netns exec "$P-$_node" env \
			ASAN_OPTIONS=detect_leaks=1:quarantine_size_mb=16:malloc_context_size=20 \
			"$CHECKED" $_args >>"$TMP/kproxy-$_node.log" 2>&1 &
	fi
	echo $! >"$TMP/kproxy-$_node.pid"
}
start_node node-a "$API"
start_node node-b "http://192.0.2.10:$PORT"
wait_applied node-a 0 120
wait_applied node-b 0 30
eventually 60 "start: node-a serves steady1" names_are "a1 b1" a2 tcp 198.19.0.201 80 20
eventually 30 "start: node-b serves steady2" names_are "a1" b2 tcp 198.19.0.202 80 5

loop_start a2 a2 tcp 198.19.0.201 80
loop_start b2 b2 tcp 198.19.0.202 80
loop_start client client tcp 192.0.2.10 32703
loop_start client2 client2 tcp 192.0.2.11 32701

# RSS every second: seconds since the churn began, node-a's and node-b's
# VmRSS in kB.
rss() {
	awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0
}
pid_a=$(kproxy_pid node-a)
pid_b=$(kproxy_pid node-b)
(
	t0=$(now_cs)
	while [ ! -e "$TMP/stop-rss" ]; do
		echo "$((($(now_cs) - t0) / 100)) $(rss "$pid_a") $(rss "$pid_b")"
		_i=0
		while [ $_i -lt 10 ] && [ ! -e "$TMP/stop-rss" ]; do
			sleep 0.1
			_i=$((_i + 1))
		done
	done
) >"$TMP/rss" &
echo $! >"$TMP/rss.pid"

# ---- the churn --------------------------------------------------------------------

churn_start=$(now_cs)
touch "$TMP/go"
last=""
while alive "$churn_pid"; do
	for n in node-a node-b; do
		kproxy_running "$n" && continue
		# A SIGTERM from elsewhere (a stale pid file of another test
		# whose pid was reused, say) is not a crash; tell them apart.
		grep -a -q 'signal 15: exiting' "$TMP/kproxy-$n.log" &&
			fail "kproxy on $n was sent SIGTERM by something outside the soak"
		fail "kproxy on $n exited during the churn"
	done
	now=$(tail -n 1 "$TMP/churn.out")
	[ "$now" != "$last" ] && case $now in *" s: "*) echo "$now" | cut -c 1-110 ;; esac
	last=$now
	sleep 1
	[ $(($(now_cs) - churn_start)) -gt $(((SECONDS_CHURN + 300) * 100)) ] &&
		fail "churn.py did not end"
done
wait "$churn_pid" || fail "churn.py failed: $(tail -n 5 "$TMP/churn.out")"
rm -f "$TMP/churn.pid"
churn_secs=$((($(now_cs) - churn_start) / 100))
tail -n 1 "$TMP/churn.out"
touch "$TMP/stop-rss"
rss_pid=$(cat "$TMP/rss.pid")
wait_until 15 eval "! alive $rss_pid"
rm -f "$TMP/rss.pid"

for n in node-a node-b; do
	if kproxy_running "$n"; then
		pass "kproxy on $n ran through $churn_secs s of churn"
	else
		check_failed "kproxy on $n exited during the churn"
	fi
done

# ---- the end state --------------------------------------------------------------

# uncomment: rules without their "-m comment --comment ..." matches.
uncomment() {
	sed -E 's/ -m comment --comment ("[^"]*"|[^ ]*)//g'
}
for n in node-a node-b; do
	if ! converge "final state on $n" "$n" "$TMP/final.json" 60; then
		# Tell a difference in what the rules do from one in comments only.
		uncomment <"$TMP/kernel" >"$TMP/kernel.uncommented"
		if uncomment <"$TMP/ref" | cmp -s - "$TMP/kernel.uncommented"; then
			echo "  (on $n the kernel differs from --dry-run's rules in comments only)"
		else
			echo "  (on $n the kernel differs from --dry-run's rules beyond comments:)"
			uncomment <"$TMP/ref" | diff -u - "$TMP/kernel.uncommented" | head -n 20
		fi
	fi
done

loop_stop_all
sent=0
failed=0
for l in a2 b2 client client2; do
	loop_report "$l" "requests from $l to a steady service through the churn" 100
	sent=$((sent + LOOP_SENT))
	failed=$((failed + LOOP_FAILED))
done

for n in node-a node-b; do
	f=$(metric "$n" kproxy_sync_proxy_rules_iptables_restore_failures_total)
	if [ "${f:-x}" = 0 ]; then
		pass "$n: no iptables-restore failed"
	else
		check_failed "$n: ${f:-?} iptables-restore runs failed:"
		grep -a -E 'sync: (iptables-restore|cannot)' "$TMP/kproxy-$n.log" | head -n 5 | cut -c 1-200
	fi
	eventually 10 "$n: /healthz is 200 at the end" healthz_is "$n" 200
done
syncs_a=$(applied_count node-a)
syncs_b=$(applied_count node-b)

# rss_windows: the RSS samples as "SECONDS NODE_A NODE_B" per 10 s, each
# the lowest of its window (SECONDS: the window's first sample).
rss_windows() {
	awk '{ w = int($1 / 10) }
		NR == 1 || w != cur { if (NR > 1) print t, a, b; cur = w; t = $1; a = $2; b = $3; next }
		{ if ($2 < a) a = $2; if ($3 < b) b = $3 }
		END { if (NR) print t, a, b }' "$TMP/rss"
}

# slope COLUMN: the RSS trend (kB/min) over the second half of the 10 s
# minima: "THEIL_SEN LEAST_SQUARES MEAN MIN MAX WINDOWS". The Theil-Sen
# estimate (the median of the slopes between every two of them) is the one
# judged: it is not tilted by a window or two that stand out, as a least
# squares line over a short run is.
slope() {
	rss_windows | awk -v c="$1" '{ t[NR] = $1 / 60; r[NR] = $c }
		END {
			first = int(NR / 2) + 1
			for (i = first; i <= NR; i++) {
				n++; sx += t[i]; sy += r[i]; sxx += t[i] * t[i]; sxy += t[i] * r[i]
				if (min == "" || r[i] < min) min = r[i]
				if (r[i] > max) max = r[i]
				for (j = first; j < i; j++)
					if (t[i] > t[j])
						s[++k] = (r[i] - r[j]) / (t[i] - t[j])
			}
			# Insertion sort: a few thousand values at most.
			for (i = 2; i <= k; i++) {
				v = s[i]
				for (j = i - 1; j >= 1 && s[j] > v; j--)
					s[j + 1] = s[j]
				s[j + 1] = v
			}
			ts = k ? (k % 2 ? s[(k + 1) / 2] : (s[k / 2] + s[k / 2 + 1]) / 2) : 0
			d = n * sxx - sx * sx
			printf "%.1f %.1f %d %d %d %d\n", ts, d ? (n * sxy - sx * sy) / d : 0,
				n ? sy / n : 0, min, max, n
		}'
}
for n in node-a node-b; do
	if [ "$n" = node-a ]; then
		# shellcheck disable=SC2046 # five numbers
		set -- $(slope 2)
		max=$SLOPE_MAX_CHECKED
	else
		# shellcheck disable=SC2046 # five numbers
		set -- $(slope 3)
		max=$SLOPE_MAX
	fi
	figures="$1 kB/min (least squares $2; mean $3 kB, $4..$5 kB, $6 10-s minima)"
	eval "slope_$(echo $n | tr - _)='$figures'"
	eval "ts_$(echo $n | tr - _)='$1'"
	if [ "${6:-0}" -ge 3 ] && awk -v s="$1" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
		pass "$n: RSS flat after warm-up: $figures over the second half, at most $max"
	else
		check_failed "$n: RSS grows $figures over the second half, more than $max"
	fi
done

# ---- stop, and the leak report ------------------------------------------------------

for n in node-a node-b; do
	_pid=$(kproxy_pid "$n")
	kill -TERM "$_pid"
	# valgrind's leak check of a large heap takes a while.
	wait_until 300 eval "! alive $_pid" || fail "kproxy on $n did not exit on SIGTERM"
	wait "$_pid"
	rc=$?
	rm -f "$TMP/kproxy-$n.pid"
	if [ "$rc" -eq 0 ]; then
		pass "kproxy on $n exits 0 on SIGTERM"
	else
		check_failed "kproxy on $n exited $rc on SIGTERM"
	fi
done
if [ "$TOOL" = valgrind ]; then
	definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 bytes in \2 blocks/p' \
		"$TMP/valgrind.log" | tail -n 1)
	errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$TMP/valgrind.log" | tail -n 1)
	leak_summary="valgrind: definitely lost ${definite:-0 bytes (no leak found)}, ${errors:-?} errors; $(grep -E 'in use at exit|total heap usage' "$TMP/valgrind.log" | sed 's/^==[0-9]*== *//' | xargs)"
	if grep -q 'All heap blocks were freed' "$TMP/valgrind.log" ||
		[ "${definite%% *}" = 0 ]; then
		pass "valgrind: nothing definitely lost"
		leak_short="definitely lost 0 (valgrind)"
	else
		check_failed "valgrind: definitely lost $definite:"
		leak_short="definitely lost $definite (valgrind)"
		grep -A 12 'definitely lost in loss record' "$TMP/valgrind.log" | head -n 60
	fi
	if [ "${errors:-x}" = 0 ]; then
		pass "valgrind: no memory errors"
	else
		check_failed "valgrind: ${errors:-?} errors:"
		grep -B 2 -A 12 'Invalid\|uninitialised' "$TMP/valgrind.log" | head -n 60
	fi
else
	if grep -a -q -E 'LeakSanitizer|AddressSanitizer|runtime error:' "$TMP/kproxy-node-a.log"; then
		leak_summary="ASan/LSan: $(grep -a -E '^SUMMARY: ' "$TMP/kproxy-node-a.log" | head -n 3 | xargs)"
		leak_short="sanitizer report"
		check_failed "node-a: sanitizer report:"
		grep -a -A 20 -E 'ERROR: (Leak|Address)Sanitizer|runtime error:' "$TMP/kproxy-node-a.log" |
			head -n 80
	else
		leak_summary="ASan/LSan: no leak, no error (LeakSanitizer ran at exit)"
		leak_short="no leak (LSan)"
		pass "node-a: LeakSanitizer found no leak, ASan and UBSan nothing else"
	fi
fi

secs=$(($(date +%s) - SECONDS0))
echo "---- soak figures ($MINUTES min, backend $BACKEND, $secs s in all) ----"
echo "churn:     $(tail -n 1 "$TMP/churn.out" | sed 's/^churn: //')"
echo "requests:  $sent sent to steady services, $failed failed"
echo "syncs:     node-a $syncs_a, node-b $syncs_b"
# shellcheck disable=SC2154 # set by eval above
echo "RSS slope: node-a ($TOOL) $slope_node_a"
# shellcheck disable=SC2154
echo "RSS slope: node-b (plain) $slope_node_b"
echo "leaks:     $leak_summary"
echo "RSS, lowest of each 10 s (s: node-a kB / node-b kB):"
rss_windows | awk '{ printf "%s%s: %s / %s", (NR % 6 == 1 ? "  " : ", "), $1, $2, $3 }
	NR % 6 == 0 { print "" } END { if (NR % 6) print "" }'
# The closing line carries the main figures (test/run.sh shows only it).
changes=$(tail -n 1 "$TMP/churn.out" | sed -n 's/.*; \([0-9]*\) changes:.*/\1/p')
# shellcheck disable=SC2154 # ts_* set by eval above
echo "soak: $CHECKS_PASSED passed, $CHECKS_FAILED failed ($MINUTES min, $SERVICES services," \
	"${changes:-?} changes; syncs $syncs_a/$syncs_b; $sent requests, $failed failed;" \
	"RSS slope $ts_node_a/$ts_node_b kB/min; $leak_short; ${secs}s)"
if [ -n "${SOAK_KEEP:-}" ]; then
	mkdir -p "$SOAK_KEEP" && cp "$TMP"/*.log "$TMP"/*.out "$TMP/rss" "$TMP/final.json" "$SOAK_KEEP"/ &&
		echo "soak: logs, RSS samples and the final state kept in $SOAK_KEEP"
fi
if [ "$CHECKS_FAILED" -ne 0 ]; then
	dump_logs
	exit 1
fi
exit 0
