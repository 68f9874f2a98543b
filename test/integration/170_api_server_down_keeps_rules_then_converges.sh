#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The API server goes away for a minute and comes back with a different
# state: kproxy (--master, against test/fakeapi.py in node-a) keeps the
# rules it has while the server is gone and converges once it is back.
#
#  1. Four services, their rules applied: steady (a1, b1; ClusterIP and a
#     NodePort), moving (a1), doomed (b1), emptied (a1).
#  2. The fake API server is killed (SIGKILL: its watches die without an
#     end) and stays down for 60 s. Meanwhile the kernel's rules do not
#     change, /healthz stays 200 (nothing waits to be applied), kproxy keeps
#     running, and the old rules serve every service as before.
#  3. It comes back on the same port with the state changed while it was
#     down: moving now goes to b1, doomed and its slice are deleted,
#     emptied's slice is deleted, and fresh (a1, b1) is new. Its
#     resourceVersion history starts far above the old one (--rv), so the
#     old watches' resourceVersion is too old (410) and kproxy lists again.
#     The kernel comes to hold exactly the --dry-run rules of the new
#     state; moving answers from b1, emptied is rejected, fresh answers,
#     doomed's rules are gone; kproxy reports the deletions it found.
#
# A pod and the external client send a request every 50 ms to steady from
# start to end, and not one fails.
#
# Usage: 170_api_server_down_keeps_rules_then_converges.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"
XTABLES_LOCKFILE=$TMP/xtables.lock
export XTABLES_LOCKFILE

OUTAGE=${OUTAGE:-60}

topology_up
ref_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2

# during_outage: predicate: the rules are the snapshot's, /healthz is 200
# and kproxy runs; SEEN says what broke.
# shellcheck disable=SC2317 # called through holds
during_outage() {
	if ! kproxy_running node-a; then
		SEEN="kproxy exited"
		return 1
	fi
	if ! kernel_unchanged node-a; then
		return 1
	fi
	if ! healthz_is node-a 200; then
		SEEN="/healthz $SEEN"
		return 1
	fi
	SEEN="rules unchanged, /healthz 200"
}

# ---- 1. the rules of the first state ------------------------------------------

start_api --port 0
port=${API##*:}
set_state "$TMP/api.json" <<EOF
svc steady 198.19.0.170 http:tcp:80:8080:30170
eps steady a1 b1
svc moving 198.19.0.171 http:tcp:80:8080
eps moving a1
svc doomed 198.19.0.172 http:tcp:80:8080
eps doomed b1
svc emptied 198.19.0.173 http:tcp:80:8080
eps emptied a1
EOF
api sync "$TMP/api.json" >"$TMP/apictl.out" || fail "apictl sync: $(cat "$TMP/apictl.out")"

launch_kproxy_flags node-a --master "$API"
wait_applied node-a 0 20
converge "start" node-a "$TMP/api.json"
expect_names "start: steady's ClusterIP" "a1 b1" a2 tcp 198.19.0.170 80 20
expect_names "start: moving" "a1" a2 tcp 198.19.0.171 80 5
expect_names "start: doomed" "b1" a2 tcp 198.19.0.172 80 5
expect_names "start: emptied" "a1" a2 tcp 198.19.0.173 80 5

loop_start pod a2 tcp 198.19.0.170 80
loop_start client client tcp 192.0.2.10 30170

# ---- 2. the API server is gone ----------------------------------------------

snapshot node-a
lines=$(log_lines node-a)
applied=$(applied_count node-a)
down_at=$(now_cs)
pid=$(cat "$TMP/fakeapi.pid")
kill -KILL "$pid"
wait "$pid" 2>/dev/null
rm -f "$TMP/fakeapi.pid"
expect_log "API server killed" node-a "$lines" 'api: .*(connection lost|refused|Couldn.t connect|failed)' 15

# The state the server will come back with.
set_state "$TMP/api2.json" <<EOF
svc steady 198.19.0.170 http:tcp:80:8080:30170
eps steady a1 b1
svc moving 198.19.0.171 http:tcp:80:8080
eps moving b1
svc emptied 198.19.0.173 http:tcp:80:8080
svc fresh 198.19.0.174 http:tcp:80:8080
eps fresh a1 b1
EOF

half=$((OUTAGE / 2 - ($(now_cs) - down_at) / 100))
if holds "$half" during_outage; then
	pass "API down for $((($(now_cs) - down_at) / 100)) s: kproxy runs, /healthz is 200, the kernel's rules are unchanged"
else
	check_failed "API down: $SEEN"
	diff -u "$TMP/snap.node-a" "$TMP/now.node-a" | head -n 30
fi
expect_names "API down: moving still answers from a1" "a1" a2 tcp 198.19.0.171 80 5
expect_names "API down: doomed still answers from b1" "b1" a2 tcp 198.19.0.172 80 5
expect_names "API down: emptied still answers from a1" "a1" a2 tcp 198.19.0.173 80 5
rest=$((OUTAGE - ($(now_cs) - down_at) / 100))
if holds "$rest" during_outage; then
	pass "API down for $((($(now_cs) - down_at) / 100)) s: still unchanged, /healthz 200"
else
	check_failed "API down, second half: $SEEN"
	diff -u "$TMP/snap.node-a" "$TMP/now.node-a" | head -n 30
fi
if [ "$(applied_count node-a)" -eq "$applied" ]; then
	pass "API down: no sync was applied while the server was gone"
else
	check_failed "API down: $(($(applied_count node-a) - applied)) syncs applied while the server was gone"
fi

# ---- 3. the API server is back, with a new history ----------------------------

lines=$(log_lines node-a)
start_api --port "$port" --rv 100000 --load "$TMP/api2.json"
up_at=$(now_cs)
echo "$(date +%T.%N | cut -c 1-12): the API server is back"
[ "${API##*:}" = "$port" ] || fail "the fake API server came back on port ${API##*:}, not $port"
# kproxy's backoff after a minute of failures is up to 30 s (with jitter),
# and a 410 on the first new watch costs one more.
if converge "API back after ${OUTAGE} s with changes" node-a "$TMP/api2.json" 70; then
	echo "kproxy converged $((($(now_cs) - up_at) * 10)) ms after the API server came back" \
		"at $(date +%T.%N | cut -c 1-12):"
fi
# How it got there.
tail -n +"$((lines + 1))" "$TMP/kproxy-node-a.log" | grep -E 'api|sync: applied' | cut -c 1-160 |
	head -n 20
expect_log "API back" node-a "$lines" 'services: 1 objects deleted while not watching' 5
expect_log "API back" node-a "$lines" 'endpointslices: 2 objects deleted while not watching' 5
expect_names "API back: moving answers from b1 now" "b1" a2 tcp 198.19.0.171 80 10
expect_names "API back: emptied (slice deleted) is rejected" "ERROR-refused" a2 tcp 198.19.0.173 80 3
expect_names "API back: fresh answers" "a1 b1" a2 tcp 198.19.0.174 80 20
kernel_lacks "API back: doomed is gone" node-a '198\.19\.0\.172|it/doomed'
eventually 5 "API back: /healthz is 200" healthz_is node-a 200

loop_stop_all
loop_report pod "pod a2 -> steady's ClusterIP every 50 ms through the outage" 300
loop_report client "client -> node-a's NodePort every 50 ms through the outage" 300

finish
