#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Health checks follow the endpoints: a Local-policy LoadBalancer's
# health-check node port answers 200 on the node that has its endpoint and
# 503 on the other, swaps when the endpoint moves to the other node, and
# stops listening when the service goes. /healthz turns 503 while syncs are
# stuck (iptables-restore made to fail) and 200 again once a sync succeeds;
# /livez the same. /metrics counts the failed restores and moves the last
# sync time forward after a sync. --enable-debug-handlers=false removes
# /debug/rules and /debug/model but not /metrics.
#
# Usage: 120_health_checks_healthz_and_metrics_follow_syncs.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-b b1 198.18.2.2

lb="svc lb 198.19.0.120 lb=198.51.100.120 etp=Local hc=32120 http:tcp:80:8080:30120"

# A wrapper in front of the real iptables-restore that fails while
# $TMP/fail-restore exists: kproxy finds it first in PATH.
mkdir -p "$TMP/bin"
for cmd in iptables-nft-restore iptables-legacy-restore; do
	real=$(command -v "$cmd")
	{
		echo '#!/bin/sh'
		echo "if [ -e '$TMP/fail-restore' ]; then"
		echo "	echo '$cmd: line 1 failed (made to fail by the test)' >&2"
		echo '	exit 1'
		echo 'fi'
		echo "exec '$real' \"\$@\""
	} >"$TMP/bin/$cmd"
	chmod +x "$TMP/bin/$cmd"
done

set_state "$STATE" <<EOF
$lb
eps lb a1
EOF
PATH="$TMP/bin:$PATH" start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE" --enable-debug-handlers=false

# health_is NODE_IP PORT STATUS LOCAL: predicate on the health-check answer.
# shellcheck disable=SC2317 # called through eventually
health_is() {
	SEEN=$(probe client http "$1" "$2" --timeout 2)
	case $SEEN in
	"HTTP $3 "*'"localEndpoints": '"$4,"*) return 0 ;;
	esac
	return 1
}

# refused NODE_IP PORT: predicate: nothing listens there any more.
# shellcheck disable=SC2317
refused() {
	SEEN=$(probe client http "$1" "$2" --timeout 2)
	case $SEEN in
	*refused*) return 0 ;;
	esac
	return 1
}

# http_status NS URL STATUS: predicate on a plain GET from inside NS.
# shellcheck disable=SC2317
http_status() {
	SEEN=$(in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$2")
	[ "$SEEN" = "$3" ]
}

# metric NS NAME: the value of a metric without labels.
metric() {
	in_ns "$1" curl -s --max-time 2 http://127.0.0.1:10249/metrics |
		awk -v n="$2" '$1 == n { print $2 }'
}

eventually 10 "endpoint on node-a: node-a's health check says 200, 1 local endpoint" \
	health_is 192.0.2.10 32120 200 1
eventually 10 "endpoint on node-a: node-b's health check says 503" \
	health_is 192.0.2.11 32120 503 0

apply_state "$STATE" <<EOF
$lb
eps lb b1
EOF
eventually 10 "endpoint moved to node-b: node-a's health check says 503" \
	health_is 192.0.2.10 32120 503 0
eventually 10 "endpoint moved to node-b: node-b's health check says 200" \
	health_is 192.0.2.11 32120 200 1

eventually 5 "node-a serves /debug/rules" \
	http_status node-a http://127.0.0.1:10249/debug/rules 200
eventually 5 "node-b runs with --enable-debug-handlers=false: no /debug/rules" \
	http_status node-b http://127.0.0.1:10249/debug/rules 404
eventually 5 "node-b runs with --enable-debug-handlers=false: no /debug/model" \
	http_status node-b http://127.0.0.1:10249/debug/model 404
eventually 5 "node-b still serves /metrics" \
	http_status node-b http://127.0.0.1:10249/metrics 200

eventually 10 "/healthz on node-a is 200 while syncs succeed" \
	http_status node-a http://127.0.0.1:10256/healthz 200
last_sync=$(metric node-a kproxy_sync_proxy_rules_last_timestamp_seconds)
failures=$(metric node-a kproxy_sync_proxy_rules_iptables_restore_failures_total)

# Syncs now fail on node-a while a change waits. After twice the sync period
# (1 s here) kproxy reports itself unhealthy, and its health-check ports
# answer 503 too, so load balancers move away.
touch "$TMP/fail-restore"
set_state "$STATE" <<EOF
$lb
eps lb a1 b1
EOF
eventually 15 "restores failing: /healthz on node-a turns 503" \
	http_status node-a http://127.0.0.1:10256/healthz 503
eventually 5 "restores failing: /livez on node-a turns 503" \
	http_status node-a http://127.0.0.1:10256/livez 503
eventually 5 "restores failing: node-a's health check reports the proxy unhealthy" \
	health_is 192.0.2.10 32120 503 1
after=$(metric node-a kproxy_sync_proxy_rules_iptables_restore_failures_total)
if [ "${after:-0}" -gt "${failures:-0}" ]; then
	pass "restore failures counted in /metrics ($failures -> $after)"
else
	check_failed "restore failures not counted in /metrics ($failures -> $after)"
fi
if grep -q 'made to fail by the test' "$TMP/kproxy-node-a.log"; then
	pass "the failing restore's message is logged"
else
	check_failed "the failing restore's message is not in the log"
fi

rm -f "$TMP/fail-restore"
eventually 15 "restores work again: /healthz on node-a is back to 200" \
	http_status node-a http://127.0.0.1:10256/healthz 200
eventually 5 "restores work again: node-a's health check says 200, 1 local endpoint" \
	health_is 192.0.2.10 32120 200 1
now_sync=$(metric node-a kproxy_sync_proxy_rules_last_timestamp_seconds)
if awk -v a="$last_sync" -v b="$now_sync" 'BEGIN { exit !(b > a) }'; then
	pass "the last sync time in /metrics moved forward ($last_sync -> $now_sync)"
else
	check_failed "the last sync time in /metrics did not move ($last_sync -> $now_sync)"
fi

apply_state "$STATE" <<EOF
EOF
eventually 10 "service deleted: node-a's health-check port is closed" refused 192.0.2.10 32120
eventually 10 "service deleted: node-b's health-check port is closed" refused 192.0.2.11 32120

finish
