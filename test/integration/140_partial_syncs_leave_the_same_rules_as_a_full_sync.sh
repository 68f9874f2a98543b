#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# After a series of changes applied by partial syncs (only the chains of
# changed services are rewritten), the kernel holds exactly the rules that a
# fresh kproxy's full sync of the final state writes: compared as
# iptables-save output without counters, with chains in name order. Done
# twice: with the flat layout, and with the dispatch buckets of large
# clusters (--iptables-dispatch-split 2), whose buckets a partial sync writes
# only when they change.
#
# A partial sync also rewrites the top-level chains: when someone else
# flushes KPROXY-SERVICES and KPROXY-NODEPORTS (nat) and
# KPROXY-EXTERNAL-SERVICES (filter), the next endpoint change repairs them.
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

IPT=iptables-$BACKEND

# run_series LAYOUT NAME [KPROXY FLAGS]: the changes, then the comparison.
run_series() {
	_layout=$1
	_name=$2
	shift 2
	set_state "$STATE" <<EOF
svc web 198.19.0.140 http:tcp:80:8080:30140
eps web a1 b1
svc api 198.19.0.141 lb=198.51.100.141 etp=Local http:tcp:80:8080:30141
eps api a1
svc dns 198.19.0.142 dns:udp:53:5353 dnstcp:tcp:53:5353:30142
eps dns b2
svc gone 198.19.0.143 http:tcp:80:8080
eps gone a2
svc idle 198.19.0.145 http:tcp:80:8080
EOF
	start_kproxy node-a "$STATE" "$@"
	apply_state "$STATE" <<EOF
svc web 198.19.0.140 http:tcp:80:8080:30140
eps web a1 a2 b1
svc api 198.19.0.141 lb=198.51.100.141 etp=Local http:tcp:80:8080:30141
eps api b1
svc dns 198.19.0.142 dns:udp:53:5353 dnstcp:tcp:53:5353:30142
eps dns b2
svc gone 198.19.0.143 http:tcp:80:8080
eps gone a2
svc idle 198.19.0.145 http:tcp:80:8080
EOF
	# Someone else empties three top-level chains; an endpoint change follows.
	in_ns node-a "$IPT" -t nat -F KPROXY-SERVICES
	in_ns node-a "$IPT" -t nat -F KPROXY-NODEPORTS
	in_ns node-a "$IPT" -t filter -F KPROXY-EXTERNAL-SERVICES
	apply_state "$STATE" <<EOF
svc web 198.19.0.140 http:tcp:80:8080:30140
eps web a1 b1
svc api 198.19.0.141 lb=198.51.100.141 etp=Local http:tcp:80:8080:30141
eps api b1
svc dns 198.19.0.142 dns:udp:53:5353 dnstcp:tcp:53:5353:30142
eps dns b2
svc gone 198.19.0.143 http:tcp:80:8080
eps gone a2
svc idle 198.19.0.145 http:tcp:80:8080
EOF
	_empty=""
	for _tc in nat:KPROXY-SERVICES nat:KPROXY-NODEPORTS filter:KPROXY-EXTERNAL-SERVICES; do
		in_ns node-a "$IPT" -t "${_tc%%:*}" -S "${_tc#*:}" | grep -q '^-A ' ||
			_empty="$_empty $_tc"
	done
	if [ -z "$_empty" ]; then
		pass "$_layout: the next partial sync rewrote the flushed top-level chains"
	else
		check_failed "$_layout: flushed chains still empty after a partial sync:$_empty"
	fi
	apply_state "$STATE" <<EOF
svc web 198.19.0.140 http:tcp:80:8080:30140
eps web a1 a2 b1
svc api 198.19.0.141 lb=198.51.100.141 etp=Local http:tcp:80:8080:30141
eps api b1
svc dns 198.19.0.142 dns:udp:53:5353 dnstcp:tcp:53:5353:30142
eps dns b2
svc fresh 198.19.0.144 affinity=ClientIP http:tcp:80:8080:30144
eps fresh a2 b2
svc idle 198.19.0.145 http:tcp:80:8080
EOF
	if grep -q 'applied a partial sync' "$TMP/kproxy-node-a.log"; then
		pass "$_layout: the changes were applied by partial syncs"
	else
		check_failed "$_layout: no partial sync in the log"
	fi
	stop_kproxy node-a
	normalized node-a >"$TMP/after-partial"

	in_ns node-a "$KPROXY" --cleanup --iptables-backend "$BACKEND" >>"$TMP/kproxy-node-a.log" 2>&1 ||
		fail "kproxy --cleanup failed"
	start_kproxy node-a "$STATE" "$@"
	stop_kproxy node-a
	normalized node-a >"$TMP/after-full"

	if cmp -s "$TMP/after-partial" "$TMP/after-full"; then
		pass "$_layout: partial syncs and one full sync leave the same $(wc -l <"$TMP/after-full") lines"
	else
		check_failed "$_layout: partial and full syncs differ: $(diff "$TMP/after-partial" "$TMP/after-full" | head -20)"
	fi
	in_ns node-a "$KPROXY" --cleanup --iptables-backend "$BACKEND" >>"$TMP/kproxy-node-a.log" 2>&1 ||
		fail "kproxy --cleanup failed"
	# The next series looks for its own partial syncs.
	mv "$TMP/kproxy-node-a.log" "$TMP/kproxy-node-a-$_name.log"
}

run_series "flat layout" flat
run_series "dispatch buckets" buckets --iptables-dispatch-split 2
if grep -q 'KPROXY-NPT-' "$TMP/after-full" && grep -q 'KPROXY-DSP-' "$TMP/after-full"; then
	pass "the second series used address and NodePort buckets"
else
	check_failed "the second series did not use the dispatch buckets"
fi

finish
