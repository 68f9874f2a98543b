#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A UDP client keeps one source port, so one conntrack entry, and that entry
# keeps sending it to the endpoint it first reached. When that endpoint is
# removed from the Service, kproxy deletes the stale entry after the sync and
# the flow moves to a current endpoint at once. With the cleanup turned off
# (--feature-gates UDPConntrackCleanup=false) the same flow stays stuck on
# the removed endpoint, which is what the cleanup exists for.
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

# still_on NAME: predicate: the flow from a2 port 40130 is answered by NAME.
# shellcheck disable=SC2317 # called through eventually and wait_until
still_on() {
	names_are "$1" a2 udp 198.19.0.130 53 1 2 --sport 40130
}

# 1. Without the cleanup: the flow stays on b1 after b1 is removed.
set_state "$STATE" <<EOF
$flow
eps flow b1
EOF
start_kproxy node-a "$STATE" --feature-gates UDPConntrackCleanup=false
eventually 10 "cleanup off: the UDP flow from a2 port 40130 reaches b1" still_on b1
apply_state "$STATE" <<EOF
$flow
eps flow a1
EOF
stuck=0
for _ in 1 2 3 4 5 6 7 8 9 10; do
	still_on b1 && stuck=$((stuck + 1))
	sleep 0.2
done
if [ "$stuck" -eq 10 ]; then
	pass "cleanup off: after b1 was removed the flow still reached b1 10 times out of 10"
else
	check_failed "cleanup off: the flow left b1 by itself ($stuck of 10 still on b1)"
fi
eventually 5 "cleanup off: a new source port reaches a1" \
	names_are "a1" a2 udp 198.19.0.130 53 3 2

# 2. With the cleanup (the default): the flow moves with the next sync.
stop_kproxy node-a
set_state "$STATE" <<EOF
$flow
eps flow b1
EOF
start_kproxy node-a "$STATE"
# Until the old entry times out the flow is still on b1; send to it so the
# entry is fresh, as a client sending every 100 ms would.
eventually 10 "cleanup on: the UDP flow from a2 port 40130 reaches b1" still_on b1
apply_state "$STATE" <<EOF
$flow
eps flow a1
EOF
eventually 3 "cleanup on: after b1 was removed the same flow reaches a1" still_on a1
if grep -q 'conntrack: deleted [1-9]' "$TMP/kproxy-node-a.log"; then
	pass "cleanup on: kproxy logged the deleted entries"
else
	check_failed "cleanup on: no 'conntrack: deleted' line in the log"
fi
deleted=$(in_ns node-a curl -s --max-time 2 http://127.0.0.1:10249/metrics |
	awk '$1 == "kproxy_conntrack_deleted_entries_total" { print $2 }')
if [ "${deleted:-0}" -ge 1 ]; then
	pass "cleanup on: /metrics counts $deleted deleted entries"
else
	check_failed "cleanup on: /metrics counts no deleted entries"
fi

finish
