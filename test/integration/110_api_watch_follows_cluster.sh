#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kproxy following an API server (--master; test/fakeapi.py, driven through
# apictl.py) keeps the kernel's rules equal to what --dry-run prints for the
# API's state, whatever the server does:
#
#  a. creates, updates and deletes of Services and EndpointSlices reach
#     /debug/rules and the kernel;
#  b. the first sync is byte for byte the --dry-run payload of the same
#     state, and after every change the full payload kproxy would write
#     (/debug/rules?pending=1) is too, less the jumps from the base chains
#     that are already in place; the kernel holds what --dry-run's payload
#     gives in a fresh namespace;
#  c. an API server that answers 429 with Retry-After, answers 410, closes a
#     watch mid-event, sends garbage, a bad object or an oversized event,
#     stalls, or restarts with objects deleted meanwhile costs no rule: the
#     last good rules stay until the server behaves, then the rules converge;
#     a kproxy restarted while the server is healthy changes nothing;
#  d. a restarted kproxy leaves the rules alone until the API server has
#     answered every list (a server refusing all requests, then only
#     EndpointSlices), then converges, dropping what was deleted meanwhile.
#
# Everything runs in one network namespace ("node-a": the fake API server on
# its 127.0.0.1, kproxy, its rules) plus "ref", where --dry-run payloads are
# loaded to compare kernels. No pods and no traffic: the other scenarios test
# what the rules do; this one tests that they follow the API. Waits poll
# kproxy's log, its /debug/rules, the kernel or the fake server's request
# log, each with a deadline.
#
# Usage: 110_api_watch_follows_cluster.sh KPROXY  (KPROXY_BACKEND=nft|legacy)
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"

api_node_up

# Pods only as names and addresses for state.py: nothing sends traffic here.
cat >"$TMP/pods" <<EOF
a1 node-a 198.18.1.2
a2 node-a 198.18.1.3
a3 node-a 198.18.1.4
b1 node-b 198.18.2.2
b2 node-b 198.18.2.3
EOF

start_api --port 0
echo '{"apiVersion": "v1", "kind": "List", "items": []}' >"$TMP/api.json"

# ---- helpers ----------------------------------------------------------------

# start_api_kproxy: starts $KPROXY --master in node-a, in the background
# (callers wait for what they expect).
start_api_kproxy() {
	launch_kproxy_flags node-a --master "$API" --iptables-sync-period 5s
}

debug_rules() {
	in_ns node-a curl -s -f -m 5 "http://127.0.0.1:10249/debug/rules${1:-}"
}

# pending_is_dry_run DESC: the full payload kproxy would write now is the
# --dry-run payload, less the "-I BASE 1 ... -j KPROXY-..." lines: kproxy
# inserts those jumps only where they are missing.
pending_is_dry_run() {
	dry_run "$TMP/api.json" node-a | grep -v '^-I ' >"$TMP/dry.full"
	debug_rules '?pending=1' | grep -v '^-I ' >"$TMP/pending.full"
	if cmp -s "$TMP/dry.full" "$TMP/pending.full"; then
		pass "$1: /debug/rules?pending=1 is the --dry-run payload ($(wc -l <"$TMP/dry.full") lines, jumps aside)"
	else
		check_failed "$1: /debug/rules?pending=1 differs from the --dry-run payload:"
		diff -u "$TMP/dry.full" "$TMP/pending.full" | head -n 40
	fi
}

# payload_has DESC PATTERN: the last applied payload (/debug/rules) matches
# the extended regex PATTERN.
payload_has() {
	if debug_rules | grep -q -E -- "$2"; then
		pass "$1: /debug/rules has /$2/"
	else
		check_failed "$1: /debug/rules lacks /$2/"
	fi
}

# payload_lacks DESC PATTERN: ... and does not match PATTERN.
payload_lacks() {
	if debug_rules | grep -q -E -- "$2"; then
		check_failed "$1: /debug/rules still has /$2/"
	else
		pass "$1: /debug/rules has no /$2/"
	fi
}

# step DESC [apictl options] < STATE: the API server changes to STATE; the
# rules must follow.
step() {
	_desc=$1
	shift
	_mark=$(applied_count node-a)
	api_state "$@"
	wait_applied node-a "$_mark" 15
	converge "$_desc" node-a "$TMP/api.json"
	pending_is_dry_run "$_desc"
}

# payload_unchanged: predicate: the kernel's rules are those of the last
# snapshot and /debug/rules is $TMP/snap.rules.
# shellcheck disable=SC2317 # called through holds
payload_unchanged() {
	kernel_unchanged node-a && debug_rules | cmp -s "$TMP/snap.rules" -
}

# watching_again DESC MARK [RESOURCE...]: each RESOURCE (default: every
# watched kind) has an open watch started by request MARK or later.
watching_again() {
	_wa_desc=$1
	_wa_mark=$2
	shift 2
	if wait_until $RECONNECT_WAIT api watching "$_wa_mark" "$@"; then
		pass "$_wa_desc: kproxy watches ${*:-every kind} again"
	else
		check_failed "$_wa_desc: kproxy does not watch ${*:-every kind} again: $(api watching "$_wa_mark")"
	fi
}

# ---- a, b: start, creates, updates, deletes ---------------------------------

api_state <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 b1
svc other 198.19.0.91 http:tcp:80:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF
start_api_kproxy
wait_applied node-a 0 20
if dry_run "$TMP/api.json" node-a >"$TMP/dry.txt" && debug_rules >"$TMP/first.txt" && cmp -s "$TMP/dry.txt" "$TMP/first.txt"; then
	pass "start: the first sync's payload is byte for byte --dry-run's ($(wc -l <"$TMP/dry.txt") lines)"
else
	check_failed "start: the first sync's payload differs from --dry-run's:"
	diff -u "$TMP/dry.txt" "$TMP/first.txt" | head -n 40
fi
converge "start" node-a "$TMP/api.json"

step "create a service" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 b1
svc other 198.19.0.91 http:tcp:80:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
svc new 198.19.0.93 http:tcp:80:8080
eps new a2
EOF
payload_has "create a service" '-d 198\.19\.0\.93 .*--dport 80'
payload_has "create a service" '--to-destination 198\.18\.1\.3:8080'
new_svc=$(service_chains node-a new | tr ' ' '\n' | grep SVC-)
new_sep=$(service_chains node-a new | tr ' ' '\n' | grep SEP-)
if [ -z "$new_svc" ] || [ -z "$new_sep" ]; then
	check_failed "create a service: no SVC and SEP chains for it/new in the kernel"
fi

step "update endpoints (b1 leaves web, a2 joins)" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a2
svc other 198.19.0.91 http:tcp:80:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
svc new 198.19.0.93 http:tcp:80:8080
eps new a2
EOF
payload_has "update endpoints" '--comment "?it/web:http -> 198\.18\.1\.3:8080'
kernel_lacks "update endpoints" node-a '"it/web:http -> 198\.18\.2\.2:8080"'

step "update a service (other: new cluster IP and port)" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a2
svc other 198.19.0.95 http:tcp:8081:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
svc new 198.19.0.93 http:tcp:80:8080
eps new a2
EOF
payload_has "update a service" '-d 198\.19\.0\.95 .*--dport 8081'
kernel_lacks "update a service" node-a '198\.19\.0\.91'

step "delete an EndpointSlice (new has no endpoints)" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a2
svc other 198.19.0.95 http:tcp:8081:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
svc new 198.19.0.93 http:tcp:80:8080
EOF
# Without endpoints a service keeps no SVC or SEP chain, only a REJECT.
payload_has "delete an EndpointSlice" "^-X $new_sep\$"
payload_has "delete an EndpointSlice" "^-X $new_svc\$"
if ipt_save node-a filter | grep -E -- '-d 198\.19\.0\.93/32 .*--dport 80 .*REJECT' >/dev/null; then
	pass "delete an EndpointSlice: the filter table rejects new's cluster IP"
else
	check_failed "delete an EndpointSlice: no REJECT for 198.19.0.93:80"
fi

step "delete a service (new)" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a2
svc other 198.19.0.95 http:tcp:8081:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF
payload_has "delete a service" '^:KPROXY-SERVICES '
payload_lacks "delete a service" '198\.19\.0\.93'
kernel_lacks "delete a service" node-a "198\\.19\\.0\\.93|$new_svc|$new_sep"

# A Service handed to another proxy (the service-proxy-name label) leaves
# kproxy's label selector: the API server sends DELETED, and its rules go;
# when the label goes, ADDED, and they come back.
step "a service gets another proxy's label (other)" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a2
svc other 198.19.0.95 proxy=someone-else http:tcp:8081:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF
kernel_lacks "another proxy's label" node-a '198\.19\.0\.95'
step "the label goes again (other is kproxy's)" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a2
svc other 198.19.0.95 http:tcp:8081:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF
payload_has "the label goes again" '-d 198\.19\.0\.95 .*--dport 8081'

# ---- c: the API server misbehaves --------------------------------------------
#
# kproxy backs off after each failure of a watcher (up to 0.8 s, then
# doubling; the count resets only after 2 minutes without one), and a 410
# ending a watch younger than 1 s counts as a failure. So each misbehaviour
# is aimed at one kind where it can be, and the 429 case, whose 410 must hit
# a watch older than 1 s, comes first.

# 1. 429 with Retry-After: the services watch gets 410 and the two lists that
# follow are refused with "Retry-After: 2". A refused list must not look like
# an empty one (that would drop every service) and the retries must wait as
# asked; the change made meanwhile arrives with the third list.
snapshot node-a
mark=$(api requests)
api_state --before '[{"op": "error_410", "resource": "services"}, {"op": "fail", "status": 429, "count": 2, "retry_after": 2, "match": "/api/v1/services"}]' <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a2
svc other 198.19.0.96 http:tcp:8081:8080
eps other b1
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF
api timeline "$mark" 3 15 /api/v1/services >"$TMP/timeline" &
timeline_pid=$!
# Only the Service changed, so until a services list succeeds the kernel
# must hold exactly the old rules.
# shellcheck disable=SC2016 # evaluated by wait_until
if wait_until 10 eval '[ "$(wc -l <"$TMP/timeline")" -ge 2 ]'; then
	rules_kept "429: two services lists refused" node-a
else
	check_failed "429: kproxy did not list services twice in 10 s: $(cat "$TMP/timeline")"
fi
if wait "$timeline_pid"; then
	gaps=$(awk 'NR > 1 { printf "%s%d", sep, $1 - prev; sep = " " } { prev = $1 }' "$TMP/timeline")
	if echo "$gaps" | awk '{ exit !($1 >= 1800 && $2 >= 1800) }'; then
		pass "429: the two retries waited for Retry-After (gaps $gaps ms)"
	else
		check_failed "429: the retries did not wait 2 s (gaps $gaps ms): $(cat "$TMP/timeline")"
	fi
else
	check_failed "429: kproxy did not list services a third time: $(cat "$TMP/timeline")"
fi
converge "429: after the refusals, the change made meanwhile arrives" node-a "$TMP/api.json" 15

# 2. 410 on the EndpointSlices and Node watches (as after etcd compaction):
# a relist that changes nothing in the kernel.
snapshot node-a
mark=$(api requests)
lines=$(log_lines node-a)
api cmd '[{"op": "error_410", "resource": "endpointslices"}, {"op": "error_410", "resource": "nodes"}]' >/dev/null
expect_log "410" node-a "$lines" 'watch endpointslices: too old resource version.*listing again'
expect_log "410" node-a "$lines" 'watch nodes: too old resource version.*listing again'
watching_again "410" "$mark" endpointslices nodes
rules_kept "410, relisted" node-a
step "410: the next change" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a3
svc other 198.19.0.96 http:tcp:8081:8080
eps other b1 b2
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF

# 3. The EndpointSlices watch closes in the middle of an event; the change
# made right after is replayed by the next watch from the last good
# resourceVersion.
snapshot node-a
mark=$(api requests)
lines=$(log_lines node-a)
api_state --before '[{"op": "raw", "resource": "endpointslices", "data": "{\"type\": \"MODIFIED\", \"object\": {\"kind\": \"EndpointSlice\", \"metadata\": {\"name\": \"web-1\", \"namespace\": \"it\", \"resourceVersion\": \"999999\"}, \"endpoints\": [{\"addre"}, {"op": "close_streams", "clean": false, "resource": "endpointslices"}]' <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a2 a3
svc other 198.19.0.96 http:tcp:8081:8080
eps other b1 b2
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF
expect_log "close mid-event" node-a "$lines" 'watch endpointslices: connection lost'
converge "close mid-event: the change made meanwhile arrives" node-a "$TMP/api.json" 20
watching_again "close mid-event" "$mark" endpointslices

# 4. Garbage on the EndpointSlices watch, followed by a good event: the
# stream is dropped at the garbage and the good event is replayed.
snapshot node-a
mark=$(api requests)
lines=$(log_lines node-a)
api_state --before '{"op": "raw", "resource": "endpointslices", "data": "this is not JSON\n"}' <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090 dns:udp:53:5353
eps web a1 a3
svc other 198.19.0.96 http:tcp:8081:8080
eps other b1 b2
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF
expect_log "garbage event" node-a "$lines" 'not a JSON object'
converge "garbage event: the change after it arrives" node-a "$TMP/api.json" 20
watching_again "garbage event" "$mark" endpointslices

# 5. Bad objects: a Service update with a port out of range and a slice
# update with an address that is not one keep their last good versions; a
# new bad Service gets no rules. Fixing them converges.
snapshot node-a
lines=$(log_lines node-a)
api_state <<EOF
svc web 198.19.0.90 http:tcp:70000:8080:30090 dns:udp:53:5353
eps web a1 a3
svc other 198.19.0.96 http:tcp:8081:8080
raw {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "metadata": {"namespace": "it", "name": "other-1", "labels": {"kubernetes.io/service-name": "other"}}, "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}], "endpoints": [{"addresses": ["198.18.2.300"], "nodeName": "node-b"}]}
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
svc bad 198.19.0.97 http:tcp:80:8080:99999
eps bad a1
EOF
expect_log "bad objects" node-a "$lines" 'it/web.*70000'
expect_log "bad objects" node-a "$lines" '198\.18\.2\.300'
expect_log "bad objects" node-a "$lines" 'it/bad.*99999'
rules_kept "bad objects" node-a 1
kernel_lacks "bad objects" node-a '198\.19\.0\.97'
step "bad objects fixed" <<EOF
svc web 198.19.0.90 http:tcp:8080:8080:30090 dns:udp:53:5353
eps web a1 a3
svc other 198.19.0.96 http:tcp:8081:8080
eps other b2
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
svc bad 198.19.0.97 http:tcp:80:8080:30097
eps bad a1
EOF

# 6. The services watch stalls: the connection stays open, nothing more is
# sent. kproxy has no flag for its idle timeout (a watch may be silent for
# 180 s), so a stall is tested only for keeping the rules: the change made
# meanwhile must not half-apply. Then the stalled connection dies, and the
# next watch brings the change.
snapshot node-a
debug_rules >"$TMP/snap.rules"
api cmd '{"op": "stall", "resource": "services"}' >/dev/null
api_state <<EOF
svc web 198.19.0.90 http:tcp:8080:8080:30090 dns:udp:53:5353
eps web a1 a3
svc other 198.19.0.98 http:tcp:8081:8080
eps other b2
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
svc bad 198.19.0.97 http:tcp:80:8080:30097
eps bad a1
EOF
if holds 2 payload_unchanged; then
	pass "stall: the kernel's rules and /debug/rules stay for 2 s while the services watch is silent"
else
	check_failed "stall: the rules changed while the services watch was stalled"
fi
mark=$(api requests)
api cmd '{"op": "close_streams", "clean": false, "resource": "services"}' >/dev/null
converge "stall, then the connection drops: the change made meanwhile arrives" node-a "$TMP/api.json" 20
watching_again "stall" "$mark" services

# 7. An event larger than kproxy's 16 MiB cap on the services watch: it is
# refused without being held, and kproxy lists again.
snapshot node-a
mark=$(api requests)
lines=$(log_lines node-a)
api cmd '{"op": "huge", "resource": "services", "bytes": 17825792}' >/dev/null
expect_log "huge event" node-a "$lines" 'larger than'
watching_again "huge event" "$mark" services
rules_kept "huge event" node-a
step "huge event: the next change" <<EOF
svc web 198.19.0.90 http:tcp:8080:8080:30090 dns:udp:53:5353
eps web a1 a2 a3
svc other 198.19.0.98 http:tcp:8081:8080
eps other b2
svc lb 198.19.0.92 lb=198.51.100.92 etp=Local http:tcp:80:8080:30092
eps lb a1 b1
EOF

# 8. kproxy restarts (a rolling update) while the API server is healthy: the
# kernel does not change, and the first sync writes the --dry-run payload
# less the jumps already in place. The new kproxy also starts with a fresh
# backoff for the API server restart that follows.
snapshot node-a
if stop_kproxy node-a; then
	pass "kproxy restart: exits 0 on SIGTERM"
else
	check_failed "kproxy restart: exit status $_rc on SIGTERM"
fi
applied=$(applied_count node-a)
start_api_kproxy
wait_applied node-a "$applied" 20
rules_kept "kproxy restart with a healthy API server" node-a
dry_run "$TMP/api.json" node-a | grep -v '^-I ' >"$TMP/dry.full"
if debug_rules | cmp -s "$TMP/dry.full" -; then
	pass "kproxy restart: its first sync is the --dry-run payload less the jumps in place"
else
	check_failed "kproxy restart: its first sync differs from the --dry-run payload:"
	debug_rules | diff -u "$TMP/dry.full" - | head -n 30
fi

# 9. The API server restarts (history gone, resourceVersion jumps): "lb"
# and its slice are deleted and web's slice changes meanwhile. The watches
# from the old resourceVersion get 410, and the relist must find the
# deletions that no watch reported.
snapshot node-a
mark=$(api requests)
lines=$(log_lines node-a)
api_state --before '{"op": "restart"}' <<EOF
svc web 198.19.0.90 http:tcp:8080:8080:30090 dns:udp:53:5353
eps web a1 a2 a3 b1
svc other 198.19.0.98 http:tcp:8081:8080
eps other b2
EOF
expect_log "API restart" node-a "$lines" 'services: 1 objects deleted while not watching' 20
expect_log "API restart" node-a "$lines" 'endpointslices: 1 objects deleted while not watching' 20
converge "API restart: lb deleted meanwhile, web changed" node-a "$TMP/api.json" 20
kernel_lacks "API restart" node-a '198\.19\.0\.92|198\.51\.100\.92'
watching_again "API restart" "$mark"

# ---- d: kproxy restarts while the API server refuses -------------------------

snapshot node-a
if stop_kproxy node-a; then
	pass "kproxy restart: exits 0 on SIGTERM"
else
	check_failed "kproxy restart: exit status $_rc on SIGTERM"
fi
# While kproxy is down, "other" is deleted; then the server refuses every
# request.
api_state --after '{"op": "fail", "status": 503, "count": 1000000}' <<EOF
svc web 198.19.0.90 http:tcp:8080:8080:30090 dns:udp:53:5353
eps web a1 a2 a3 b1
EOF
mark=$(api requests)
applied=$(applied_count node-a)
start_api_kproxy
if api timeline "$mark" 6 15 >"$TMP/timeline"; then
	pass "kproxy restart, API refusing: kproxy retries ($(wc -l <"$TMP/timeline") requests refused)"
else
	check_failed "kproxy restart, API refusing: kproxy sent only $(wc -l <"$TMP/timeline") requests"
fi
rules_kept "kproxy restart, API refusing everything" node-a 1
# Now only EndpointSlices are refused: services and the node are listed,
# but a sync now would reject every service as having no endpoints.
mark=$(api requests)
api cmd '{"op": "fail", "status": 503, "count": 1000000, "match": "/apis/discovery.k8s.io/v1/endpointslices"}' >/dev/null
if wait_until 15 api watching "$mark" services nodes; then
	pass "kproxy restart: services and the node are listed and watched"
else
	check_failed "kproxy restart: services and the node are not watched: $(api watching "$mark")"
fi
rules_kept "kproxy restart, EndpointSlices refused" node-a 1
if [ "$(applied_count node-a)" -eq "$applied" ]; then
	pass "kproxy restart: no sync before every kind is listed"
else
	check_failed "kproxy restart: kproxy synced before EndpointSlices were listed"
fi
api cmd '{"op": "fail", "status": 503, "count": 0}' >/dev/null
wait_applied node-a "$applied" 40
converge "kproxy restart: the API answers again; other, deleted meanwhile, is gone" node-a "$TMP/api.json" 15
kernel_lacks "kproxy restart" node-a '198\.19\.0\.98'

finish
