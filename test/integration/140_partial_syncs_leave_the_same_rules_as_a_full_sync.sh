#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# After a series of changes applied by partial syncs (only the chains of
# changed services are rewritten), the kernel holds exactly the rules that a
# fresh kproxy's full sync of the final state writes: compared as
# iptables-save output without counters, with chains in name order.
#
# Usage: 140_partial_syncs_leave_the_same_rules_as_a_full_sync.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2
add_pod node-b b2 198.18.2.3

# normalized NODE: iptables-save of kproxy's tables: no comments or counters,
# chain lines sorted, rules grouped by chain in their order.
normalized() {
	ipt_save "$1" | grep -v '^#' | sed 's/ \[[0-9]*:[0-9]*\]$//' |
		awk '/^\*/ { t = $0 } /^:/ { print t, "1", $0; next }
		     /^-A/ { print t, "2", $2, sprintf("%08d", NR), $0; next }
		     { print t, "0", $0 }' | sort | sed 's/^[^ ]* [0-9] //'
}

set_state "$STATE" <<EOF
svc web 198.19.0.140 http:tcp:80:8080:30140
eps web a1 b1
svc api 198.19.0.141 lb=198.51.100.141 etp=Local http:tcp:80:8080:30141
eps api a1
svc dns 198.19.0.142 dns:udp:53:5353 dnstcp:tcp:53:5353
eps dns b2
svc gone 198.19.0.143 http:tcp:80:8080
eps gone a2
EOF
start_kproxy node-a "$STATE"
apply_state "$STATE" <<EOF
svc web 198.19.0.140 http:tcp:80:8080:30140
eps web a1 a2 b1
svc api 198.19.0.141 lb=198.51.100.141 etp=Local http:tcp:80:8080:30141
eps api b1
svc dns 198.19.0.142 dns:udp:53:5353 dnstcp:tcp:53:5353
eps dns b2
svc gone 198.19.0.143 http:tcp:80:8080
eps gone a2
EOF
apply_state "$STATE" <<EOF
svc web 198.19.0.140 http:tcp:80:8080:30140
eps web a1 a2 b1
svc api 198.19.0.141 lb=198.51.100.141 etp=Local http:tcp:80:8080:30141
eps api b1
svc dns 198.19.0.142 dns:udp:53:5353 dnstcp:tcp:53:5353
eps dns b2
svc fresh 198.19.0.144 affinity=ClientIP http:tcp:80:8080
eps fresh a2 b2
EOF
if grep -q 'applied a partial sync' "$TMP/kproxy-node-a.log"; then
	pass "the changes were applied by partial syncs"
else
	check_failed "no partial sync in the log"
fi
stop_kproxy node-a
normalized node-a >"$TMP/after-partial"

in_ns node-a "$KPROXY" --cleanup --iptables-backend "$BACKEND" >>"$TMP/kproxy-node-a.log" 2>&1 ||
	fail "kproxy --cleanup failed"
start_kproxy node-a "$STATE"
stop_kproxy node-a
normalized node-a >"$TMP/after-full"

if cmp -s "$TMP/after-partial" "$TMP/after-full"; then
	pass "partial syncs and one full sync leave the same $(wc -l <"$TMP/after-full") lines"
else
	check_failed "partial and full syncs differ: $(diff "$TMP/after-partial" "$TMP/after-full" | head -20)"
fi

finish
