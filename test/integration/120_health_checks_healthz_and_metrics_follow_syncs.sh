#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Health checks follow the endpoints: a Local-policy LoadBalancer's
# health-check node port answers 200 on the node that has its endpoint and
# 503 on the other (on any path, as JSON with nosniff), swaps when the
# endpoint moves to the other node, moves when the Service's health-check
# node port changes, and stops listening when the policy becomes Cluster or
# the service goes. The count it gives is that of the rules in the kernel: a
# change that cannot be applied does not move it. /healthz turns 503 while
# syncs are stuck (iptables-restore made to fail) and 200 again once a sync
# succeeds; /livez the same; /healthz alone is 503 while the Node is tainted
# ToBeDeletedByClusterAutoscaler or being deleted. Their bodies carry Go's
# time format. /metrics shows a partial sync (its duration histogram and the
# endpoint changes grow, nat rules are counted), counts the failed restores
# and moves the last sync time forward after a sync. /debug/model is the
# model as JSON; --enable-debug-handlers=false removes /debug/rules and
# /debug/model but not /metrics.
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

# health_is NODE_IP PORT STATUS LOCAL [HEALTHY]: predicate on the
# health-check answer (HEALTHY: its serviceProxyHealthy; any when not given).
# shellcheck disable=SC2317 # called through eventually
health_is() {
	SEEN=$(probe client http "$1" "$2" --timeout 2)
	case $SEEN in
	"HTTP $3 "*'"localEndpoints": '"$4, "'"serviceProxyHealthy": '"${5:-}"*) return 0 ;;
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

# metric NS NAME: the value of a metric (NAME with its labels, if any).
metric() {
	in_ns "$1" curl -s --max-time 2 http://127.0.0.1:10249/metrics |
		awk -v n="$2" '$1 == n { print $2 }'
}

# check_grew DESC BEFORE AFTER: one check that a number went up.
check_grew() {
	if awk -v a="${2:-0}" -v b="${3:-0}" 'BEGIN { exit !(b > a) }'; then
		pass "$1 ($2 -> $3)"
	else
		check_failed "$1: did not grow ($2 -> $3)"
	fi
}

# last_applied NODE: "full" or "partial", from NODE's last "sync: applied" line.
last_applied() {
	grep 'sync: applied' "$TMP/kproxy-$1.log" | tail -n 1 |
		sed -n 's/.*sync: applied an* \([a-z]*\) sync.*/\1/p'
}

# count_lines NODE PATTERN: lines of NODE's log matching PATTERN.
count_lines() {
	grep -c -- "$2" "$TMP/kproxy-$1.log"
}

# get_i FROM URL: curl -i of URL from namespace FROM, without the CRs.
get_i() {
	in_ns "$1" curl -s -i --max-time 2 "$2" | tr -d '\r'
}

# body_of TEXT: what follows the headers of a curl -i answer.
body_of() {
	printf '%s\n' "$1" | sed '1,/^$/d'
}

# expect_json_headers DESC TEXT: TEXT (curl -i) has both of kube-proxy's headers.
expect_json_headers() {
	if printf '%s\n' "$2" | grep -q -i -x 'content-type: application/json' &&
		printf '%s\n' "$2" | grep -q -i -x 'x-content-type-options: nosniff'; then
		pass "$1: Content-Type: application/json, X-Content-Type-Options: nosniff"
	else
		check_failed "$1: a header is missing in: $2"
	fi
}

# Go's String() of a UTC time.Now(), as kube-proxy's bodies carry it: the
# fraction without trailing zeros (none on a whole second), the monotonic part.
go_time='[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,8}[1-9])? \+0000 UTC m=\+[0-9]+\.[0-9]{9}'

# proxy_body_is NS PATH [ELIGIBLE]: predicate: the body of /PATH on NS's
# healthz port is kube-proxy's, with nodeEligible ELIGIBLE (none: /livez).
# shellcheck disable=SC2317
proxy_body_is() {
	SEEN=$(in_ns "$1" curl -s --max-time 2 "http://127.0.0.1:10256/$2")
	_times='\{"lastUpdated": "'"$go_time"'","currentTime": "'"$go_time"'"'
	if [ -n "${3:-}" ]; then
		printf '%s\n' "$SEEN" | grep -q -x -E "$_times"', "nodeEligible": '"$3"'\}'
	else
		printf '%s\n' "$SEEN" | grep -q -x -E "$_times"'\}'
	fi
}

# model_is NS WANT: predicate: /debug/model, as "NODE ns/name...", is WANT.
# shellcheck disable=SC2317
model_is() {
	SEEN=$(in_ns "$1" curl -s --max-time 2 http://127.0.0.1:10249/debug/model |
		"$PY" -c 'import json, sys
m = json.load(sys.stdin)
print(m["node"], *sorted(s["namespace"] + "/" + s["name"] for s in m["services"]))' 2>&1)
	[ "$SEEN" = "$2" ]
}

eventually 10 "endpoint on node-a: node-a's health check says 200, 1 local endpoint" \
	health_is 192.0.2.10 32120 200 1
eventually 10 "endpoint on node-a: node-b's health check says 503" \
	health_is 192.0.2.11 32120 503 0

# Any path, any query: the same answer, as JSON not to be sniffed.
root=$(get_i client http://192.0.2.10:32120/)
other=$(get_i client 'http://192.0.2.10:32120/anything?x=1')
if [ "$(printf '%s\n' "$other" | sed -n 1p)" = "HTTP/1.1 200 OK" ] &&
	[ -n "$(body_of "$other")" ] && [ "$(body_of "$root")" = "$(body_of "$other")" ]; then
	pass "the health check on /anything?x=1 answers 200 as on /: $(body_of "$other" | xargs)"
else
	check_failed "the health check on /anything?x=1 differs from /: '$other' vs '$root'"
fi
expect_json_headers "health-check port headers" "$other"
expect_json_headers "/healthz headers" "$(get_i node-a http://127.0.0.1:10256/healthz)"
eventually 5 "/healthz body: Go's time format, nodeEligible true" \
	proxy_body_is node-a healthz true
eventually 5 "/livez body: Go's time format, no nodeEligible" proxy_body_is node-a livez

eventually 5 "/debug/model on node-a is JSON naming the service" model_is node-a "node-a it/lb"

partial_before=$(metric node-a kproxy_sync_partial_proxy_rules_duration_seconds_count)
changes_before=$(metric node-a kproxy_sync_proxy_rules_endpoint_changes_total)
apply_state "$STATE" <<EOF
$lb
eps lb b1
EOF
eventually 10 "endpoint moved to node-b: node-a's health check says 503" \
	health_is 192.0.2.10 32120 503 0
eventually 10 "endpoint moved to node-b: node-b's health check says 200" \
	health_is 192.0.2.11 32120 200 1

# The move was a partial sync, and /metrics shows it.
if [ "$(last_applied node-a)" = partial ]; then
	pass "the endpoint move was applied by a partial sync"
else
	check_failed "the endpoint move was applied by a '$(last_applied node-a)' sync, not a partial one"
fi
check_grew "partial sync: kproxy_sync_partial_proxy_rules_duration_seconds_count grew" \
	"$partial_before" "$(metric node-a kproxy_sync_partial_proxy_rules_duration_seconds_count)"
check_grew "partial sync: kproxy_sync_proxy_rules_endpoint_changes_total grew" \
	"$changes_before" "$(metric node-a kproxy_sync_proxy_rules_endpoint_changes_total)"
check_grew "partial sync: kproxy_sync_proxy_rules_iptables_total{table=\"nat\"} above 0" 0 \
	"$(metric node-a 'kproxy_sync_proxy_rules_iptables_total{table="nat"}')"

# A new health-check node port: the old one closes, the new one answers.
lb="svc lb 198.19.0.120 lb=198.51.100.120 etp=Local hc=32121 http:tcp:80:8080:30120"
apply_state "$STATE" <<EOF
$lb
eps lb b1
EOF
eventually 10 "health-check port 32120 -> 32121: node-b's old port is closed" \
	refused 192.0.2.11 32120
eventually 10 "health-check port 32120 -> 32121: node-a's old port is closed" \
	refused 192.0.2.10 32120
eventually 10 "health-check port 32120 -> 32121: node-b's new port says 200" \
	health_is 192.0.2.11 32121 200 1
eventually 10 "health-check port 32120 -> 32121: node-a's new port says 503" \
	health_is 192.0.2.10 32121 503 0

# Node-a's Node object is going away: /healthz is 503 (load balancers of
# every Service drain the node) while /livez stays 200 (kubelet must not
# restart kproxy) and the health-check port says the proxy is healthy.
set_state "$STATE" <<EOF
node node-a tainted
$lb
eps lb b1
EOF
eventually 10 "node-a tainted ToBeDeletedByClusterAutoscaler: /healthz is 503" \
	http_status node-a http://127.0.0.1:10256/healthz 503
eventually 5 "node-a tainted: /healthz says nodeEligible false" \
	proxy_body_is node-a healthz false
eventually 5 "node-a tainted: /livez is 200" \
	http_status node-a http://127.0.0.1:10256/livez 200
eventually 5 "node-a tainted: its health-check port says the proxy is healthy" \
	health_is 192.0.2.10 32121 503 0 true
set_state "$STATE" <<EOF
$lb
eps lb b1
EOF
eventually 10 "node-a's Node untainted: /healthz is 200 again" \
	http_status node-a http://127.0.0.1:10256/healthz 200
set_state "$STATE" <<EOF
node node-a deleting
$lb
eps lb b1
EOF
eventually 10 "node-a being deleted: /healthz is 503" \
	http_status node-a http://127.0.0.1:10256/healthz 503
eventually 5 "node-a being deleted: /livez is 200" \
	http_status node-a http://127.0.0.1:10256/livez 200
set_state "$STATE" <<EOF
$lb
eps lb b1
EOF
eventually 10 "node-a's Node back to normal: /healthz is 200" \
	http_status node-a http://127.0.0.1:10256/healthz 200

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

# Syncs now fail on node-a while a change waits: a1, on node-a, is back.
# Node-a's health-check port keeps answering with the rules in its kernel
# (no local endpoint), as kube-proxy's does. After twice the sync period
# (1 s here) kproxy reports itself unhealthy, and its health-check ports say
# so too, so load balancers move away.
touch "$TMP/fail-restore"
made_to_fail=$(count_lines node-a 'made to fail by the test')
reloaded=$(count_lines node-a 'reloaded ')
set_state "$STATE" <<EOF
$lb
eps lb a1 b1
EOF
# tried_new_state: predicate: node-a read the file and failed a restore since.
# shellcheck disable=SC2317
tried_new_state() {
	[ "$(count_lines node-a 'reloaded ')" -gt "$reloaded" ] &&
		[ "$(count_lines node-a 'made to fail by the test')" -gt "$made_to_fail" ]
}
wait_until 10 tried_new_state || fail "node-a did not try to apply the new state"
eventually 5 "restores failing: node-a's health check still counts the 0 local endpoints applied" \
	health_is 192.0.2.10 32121 503 0
eventually 15 "restores failing: /healthz on node-a turns 503" \
	http_status node-a http://127.0.0.1:10256/healthz 503
eventually 5 "restores failing: /livez on node-a turns 503" \
	http_status node-a http://127.0.0.1:10256/livez 503
eventually 5 "restores failing: node-a's health check reports the proxy unhealthy" \
	health_is 192.0.2.10 32121 503 0 false
after=$(metric node-a kproxy_sync_proxy_rules_iptables_restore_failures_total)
check_grew "restore failures counted in /metrics" "$failures" "$after"
if grep -q 'made to fail by the test' "$TMP/kproxy-node-a.log"; then
	pass "the failing restore's message is logged"
else
	check_failed "the failing restore's message is not in the log"
fi

rm -f "$TMP/fail-restore"
eventually 15 "restores work again: /healthz on node-a is back to 200" \
	http_status node-a http://127.0.0.1:10256/healthz 200
eventually 5 "restores work again: node-a's health check says 200, 1 local endpoint" \
	health_is 192.0.2.10 32121 200 1 true
check_grew "the last sync time in /metrics moved forward" "$last_sync" \
	"$(metric node-a kproxy_sync_proxy_rules_last_timestamp_seconds)"

# Policy Cluster: no health-check port; back to Local: it opens again.
apply_state "$STATE" <<EOF
svc lb 198.19.0.120 lb=198.51.100.120 etp=Cluster http:tcp:80:8080:30120
eps lb a1 b1
EOF
eventually 10 "policy Local -> Cluster: node-a's health-check port is closed" \
	refused 192.0.2.10 32121
eventually 10 "policy Local -> Cluster: node-b's health-check port is closed" \
	refused 192.0.2.11 32121
apply_state "$STATE" <<EOF
$lb
eps lb a1 b1
EOF
eventually 10 "policy Cluster -> Local: node-a's health-check port answers 200 again" \
	health_is 192.0.2.10 32121 200 1

apply_state "$STATE" <<EOF
EOF
eventually 10 "service deleted: node-a's health-check port is closed" refused 192.0.2.10 32121
eventually 10 "service deleted: node-b's health-check port is closed" refused 192.0.2.11 32121

finish
