#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A UDP client sending every 100 ms from one source port (udpflow.py: one
# flow, one conntrack entry) keeps reaching the endpoint it first reached.
# When that endpoint is removed from the Service, kproxy deletes the stale
# entry right after the sync that applies the removal, and the flow moves to
# a current endpoint within that sync: its first answer from the new
# endpoint comes less than half a second after kproxy logs "sync: applied",
# at most one datagram goes unanswered, and it never goes back. With the
# cleanup turned off (--feature-gates UDPConntrackCleanup=false) the same
# flow still reaches the removed endpoint 3 s after the sync, which is what
# the cleanup exists for.
#
# A restart of kproxy deletes nothing (it must not break live flows): two
# flows, one to an endpoint still in the Service and one to an endpoint
# removed while kproxy was down, go on through SIGTERM, start and first sync
# without losing more than one answer or changing endpoint, and no deletion
# is counted. The next change of the second Service's endpoints moves its
# flow.
#
# Usage: 130_udp_flow_leaves_removed_endpoint_only_with_conntrack_cleanup.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2

flow="svc flow 198.19.0.130 dns:udp:53:5353"
# The sync bound below: --iptables-min-sync-period, as kube-proxy's default.
MIN_SYNC=1

# ---- flows ------------------------------------------------------------------

# flow_start NAME FROM IP SPORT: udpflow.py in namespace FROM to IP port 53
# from SPORT, logging to $TMP/flow-NAME.log.
flow_start() {
	ip netns exec "$P-$2" "$PY" "$INTEGRATION_DIR/udpflow.py" "$3" 53 "$4" \
		>"$TMP/flow-$1.log" 2>&1 &
	echo $! >"$TMP/flow-$1.pid"
}

flow_stop() {
	kill "$(cat "$TMP/flow-$1.pid")" 2>/dev/null
	rm -f "$TMP/flow-$1.pid"
}

# flow_on NAME WANT: predicate: flow NAME's last answer came from WANT.
# shellcheck disable=SC2317 # called through eventually
flow_on() {
	SEEN=$(awk '$3 != "-" && $3 !~ /^!/ { n = $3 } END { print n }' "$TMP/flow-$1.log")
	[ "$SEEN" = "$2" ]
}

# flow_left NAME OLD: predicate: flow NAME's last answer came from another than OLD.
# shellcheck disable=SC2317
flow_left() {
	! flow_on "$1" "$2" && [ -n "$SEEN" ]
}

# flow_past NAME T: predicate: flow NAME has sent a datagram at or after T.
# shellcheck disable=SC2317
flow_past() {
	awk -v t="$2" '$1 >= t { found = 1 } END { exit !found }' "$TMP/flow-$1.log"
}

# flow_names NAME FROM TO: the set of endpoints that answered in [FROM, TO).
flow_names() {
	awk -v a="$2" -v b="$3" '$1 >= a && $1 < b && $3 != "-" && $3 !~ /^!/ { print $3 }' \
		"$TMP/flow-$1.log" | sort -u | xargs
}

# flow_answers NAME FROM TO: how many datagrams in [FROM, TO) were answered.
flow_answers() {
	awk -v a="$2" -v b="$3" '$1 >= a && $1 < b && $3 != "-" && $3 !~ /^!/ { n++ }
		END { print n + 0 }' "$TMP/flow-$1.log"
}

# flow_misses NAME FROM TO: how many datagrams in [FROM, TO) were not answered.
flow_misses() {
	awk -v a="$2" -v b="$3" '$1 >= a && $1 < b && ($3 == "-" || $3 ~ /^!/) { n++ }
		END { print n + 0 }' "$TMP/flow-$1.log"
}

# flow_first NAME WANT FROM: when WANT first answered at or after FROM (empty: never).
flow_first() {
	awk -v w="$2" -v a="$3" '$1 >= a && $3 == w { print $1; exit }' "$TMP/flow-$1.log"
}

# flow_last NAME WANT: when WANT last answered (empty: never).
flow_last() {
	awk -v w="$2" '$3 == w { t = $1 } END { print t }' "$TMP/flow-$1.log"
}

# ---- times ------------------------------------------------------------------

now_s() {
	date +%s.%N
}

# le A B: A <= B, as numbers (false when either is empty).
le() {
	[ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'
}

# plus A B: A + B.
plus() {
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", a + b }'
}

# applied_line N: the Nth "sync: applied" line of node-a's log.
applied_line() {
	grep 'sync: applied' "$TMP/kproxy-node-a.log" | sed -n "$1p"
}

# applied_at N: when node-a logged its Nth "sync: applied" (Unix seconds;
# the log says "I1126 10:07:36.669850 kproxy] ..." in UTC).
applied_at() {
	_line=$(applied_line "$1")
	_md=$(printf '%s\n' "$_line" | cut -c2-5)
	_hms=$(printf '%s\n' "$_line" | cut -d' ' -f2)
	date -u -d "$(date -u +%Y)-$(printf '%s' "$_md" | cut -c1-2)-$(printf '%s' "$_md" | cut -c3-4) $_hms" +%s.%6N
}

# applied_secs N: how long node-a's Nth applied sync took, in seconds.
applied_secs() {
	applied_line "$1" | sed -n 's/.* in \([0-9]*\) ms$/\1/p' | awk '{ printf "%.3f\n", $1 / 1000 }'
}

# expect DESC CMD...: one check that CMD succeeds.
expect() {
	_desc=$1
	shift
	if "$@"; then
		pass "$_desc"
	else
		check_failed "$_desc"
	fi
}

# deleted_metric: kproxy_conntrack_deleted_entries_total on node-a.
deleted_metric() {
	in_ns node-a curl -s --max-time 2 http://127.0.0.1:10249/metrics |
		awk '$1 == "kproxy_conntrack_deleted_entries_total" { print $2 }'
}

# remove_b1: the Service "flow" loses b1 for a1; sets
# T0 (just before the change), N (the applied sync that carries it), T_SYNC
# (when it was logged) and SYNC_SECS (its duration).
remove_b1() {
	N=$(($(applied_count node-a) + 1))
	T0=$(now_s)
	apply_state "$STATE" <<EOF
$flow
eps flow a1
EOF
	T_SYNC=$(applied_at "$N")
	SYNC_SECS=$(applied_secs "$N")
	if [ -z "$T_SYNC" ] || [ -z "$SYNC_SECS" ]; then
		fail "cannot read the time of sync $N: $(applied_line "$N")"
	fi
}

# 1. Without the cleanup: the flow stays on b1 after b1 is removed.
set_state "$STATE" <<EOF
$flow
eps flow b1
EOF
start_kproxy node-a "$STATE" --iptables-min-sync-period ${MIN_SYNC}s \
	--feature-gates UDPConntrackCleanup=false
flow_start off a2 198.19.0.130 40130
eventually 10 "cleanup off: the UDP flow from a2 port 40130 reaches b1" flow_on off b1
remove_b1
end=$(plus "$T_SYNC" 3)
wait_until 10 flow_past off "$end" || fail "the flow stopped logging"
seen=$(flow_names off "$T0" "$end")
answered=$(flow_answers off "$T_SYNC" "$end")
if [ "$seen" = b1 ] && [ "$answered" -ge 20 ]; then
	pass "cleanup off: from b1's removal to 3 s after the sync, only b1 answered ($answered answers after the sync)"
else
	check_failed "cleanup off: from b1's removal to 3 s after the sync: answers from '$seen', $answered after the sync"
fi
flow_stop off
eventually 5 "cleanup off: a new source port reaches a1" \
	names_are "a1" a2 udp 198.19.0.130 53 3 2

# 2. With the cleanup (the default): the flow moves within the sync.
stop_kproxy node-a
set_state "$STATE" <<EOF
$flow
eps flow b1
EOF
start_kproxy node-a "$STATE" --iptables-min-sync-period ${MIN_SYNC}s
flow_start on a2 198.19.0.130 40131
eventually 10 "cleanup on: the UDP flow from a2 port 40131 reaches b1" flow_on on b1
remove_b1
eventually 3 "cleanup on: the flow's answers now come from a1" flow_on on a1
first_a1=$(flow_first on a1 "$T0")
last_b1=$(flow_last on b1)
bound=$(plus "$MIN_SYNC" "$(plus "$SYNC_SECS" 0.6)")
if le "$first_a1" "$(plus "$T_SYNC" 0.5)" && le "$last_b1" "$first_a1"; then
	pass "cleanup on: the flow left b1 for a1 within 0.5 s of 'sync: applied' (b1 last at $last_b1, sync at $T_SYNC, a1 first at $first_a1)"
else
	check_failed "cleanup on: the flow did not switch within 0.5 s of the sync (b1 last at $last_b1, sync at $T_SYNC, a1 first at $first_a1)"
fi
if le "$first_a1" "$(plus "$T0" "$bound")"; then
	pass "cleanup on: switched $(plus "$first_a1" "-$T0") s after the change, within min-sync-period + the sync's ${SYNC_SECS} s + 0.6 s"
else
	check_failed "cleanup on: a1 first at $first_a1, more than ${bound}s after the change at $T0"
fi
misses=$(flow_misses on "$T0" "$(plus "$first_a1" 0.001)")
expect "cleanup on: $misses datagram(s) unanswered during the switch (at most 1)" \
	[ "$misses" -le 1 ]
wait_until 10 flow_past on "$(plus "$first_a1" 2)" || fail "the flow stopped logging"
expect "cleanup on: only a1 answered in the 2 s after the switch" \
	[ "$(flow_names on "$first_a1" "$(plus "$first_a1" 2)")" = a1 ]
flow_stop on
if grep -q 'conntrack: deleted [1-9]' "$TMP/kproxy-node-a.log"; then
	pass "cleanup on: kproxy logged the deleted entries"
else
	check_failed "cleanup on: no 'conntrack: deleted' line in the log"
fi
deleted=$(deleted_metric)
expect "cleanup on: /metrics counts ${deleted:-no} deleted entries" [ "${deleted:-0}" -ge 1 ]

# 3. A restart deletes nothing. "keep" keeps a1 throughout; "gone" loses b1
# while kproxy is down.
apply_state "$STATE" <<EOF
svc keep 198.19.0.131 dns:udp:53:5353
eps keep a1
svc gone 198.19.0.132 dns:udp:53:5353
eps gone b1
EOF
flow_start keep a2 198.19.0.131 40132
flow_start gone a2 198.19.0.132 40133
eventually 10 "restart: the flow to keep reaches a1" flow_on keep a1
eventually 10 "restart: the flow to gone reaches b1" flow_on gone b1
T_STOP=$(now_s)
stop_kproxy node-a
set_state "$STATE" <<EOF
svc keep 198.19.0.131 dns:udp:53:5353
eps keep a1
svc gone 198.19.0.132 dns:udp:53:5353
eps gone a2
EOF
log_lines=$(wc -l <"$TMP/kproxy-node-a.log")
N=$(($(applied_count node-a) + 1))
start_kproxy node-a "$STATE"
T_FIRST=$(applied_at "$N")
end=$(plus "$T_FIRST" 2)
wait_until 10 flow_past keep "$end" || fail "the flow to keep stopped logging"
wait_until 10 flow_past gone "$end" || fail "the flow to gone stopped logging"
for f in keep gone; do
	want=a1
	[ $f = gone ] && want=b1
	seen=$(flow_names $f "$T_STOP" "$end")
	misses=$(flow_misses $f "$T_STOP" "$end")
	answered=$(flow_answers $f "$T_STOP" "$end")
	if [ "$seen" = "$want" ] && [ "$misses" -le 1 ] && [ "$answered" -ge 10 ]; then
		pass "restart: the flow to $f stayed on $want through the restart and first sync ($answered answered, $misses missed)"
	else
		check_failed "restart: the flow to $f: answers from '$seen' ($answered answered, $misses missed), want only $want"
	fi
done
if tail -n +"$((log_lines + 1))" "$TMP/kproxy-node-a.log" | grep -q 'conntrack: deleted'; then
	check_failed "restart: kproxy deleted conntrack entries after starting"
else
	pass "restart: no 'conntrack: deleted' in the restarted kproxy's log"
fi
deleted=$(deleted_metric)
expect "restart: /metrics counts ${deleted:-no} deleted entries (0)" [ "${deleted:-x}" = 0 ]

# The next change of gone's endpoints is not a restart: its flow moves.
apply_state "$STATE" <<EOF
svc keep 198.19.0.131 dns:udp:53:5353
eps keep a1
svc gone 198.19.0.132 dns:udp:53:5353
eps gone a2 a1
EOF
eventually 3 "after a change of gone's endpoints its flow leaves b1" flow_left gone b1
expect "the flow to keep still on a1" flow_on keep a1
flow_stop keep
flow_stop gone

finish
