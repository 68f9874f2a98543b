#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kproxy follows an API server over HTTPS with what a kubeconfig gives it
# (--kubeconfig, no --master): a certificate-authority file and a tokenFile.
# test/fakeapi.py serves TLS with a certificate of a CA this test makes with
# openssl, and is driven through apictl.py --ca.
#
#  a. A Local LoadBalancer's health-check node port is taken (another
#     process listens on it in node-a before kproxy starts): kproxy posts a
#     Warning Event FailedToStartServiceHealthcheck, action Listen, about
#     the Service, in its namespace, with the bearer token; once, not at
#     every retry. The rules are programmed all the same.
#  b. Creates, updates and deletes reach the kernel: after each, it holds
#     exactly the rules of `--dry-run --from-file` on the API's state.
#  c. A watch answered with HTTP 410 (the server restarted, its history
#     gone) relists, and finds a Service deleted meanwhile.
#  d. A continue token that expires while a list of more than 500 Services
#     (kproxy's page size) is paged: the list starts over and converges.
#  e. A kubeconfig whose CA did not sign the server's certificate: kproxy
#     says so in its log, sends no request, and changes no rule.
#  f. A kubeconfig with insecure-skip-tls-verify: true and no CA works.
#  g. The server demands a new token (401 until it is sent): while kproxy
#     has only the old one, the rules stay as they are; once the token file
#     holds the new one, kproxy logs the retry with it and converges.
#
# Everything runs in node-a (the fake API server on its 127.0.0.1, kproxy,
# its rules) plus "ref", where --dry-run payloads are loaded to compare.
# Waits poll kproxy's log, the kernel or the fake server, with deadlines.
#
# Usage: 210_api_over_tls_with_kubeconfig_and_token_rotation.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"

HC_PORT=32200
BULK=520

command -v openssl >/dev/null 2>&1 || fail "openssl not found"
api_node_up

# Pods only as names and addresses for state.py: nothing sends traffic here.
cat >"$TMP/pods" <<EOF
a1 node-a 198.18.1.2
a2 node-a 198.18.1.3
b1 node-b 198.18.2.2
b2 node-b 198.18.2.3
EOF

# ---- the CA, the server's certificate, a stranger CA ----------------------------

PKI=$TMP/pki
mkdir "$PKI"
(
	set -e
	cd "$PKI"
	key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"; }
	key ca.key
	key server.key
	key other.key
	openssl req -x509 -new -key ca.key -subj /CN=kproxy-it-ca -days 1 -out ca.crt
	openssl req -x509 -new -key other.key -subj /CN=stranger -days 1 -out other.crt
	printf 'subjectAltName=IP:127.0.0.1\n' >server.ext
	openssl req -new -key server.key -subj /CN=127.0.0.1 -out server.csr
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 \
		-extfile server.ext -out server.crt
) >"$TMP/openssl.log" 2>&1 || fail "openssl failed: $(tail -n 5 "$TMP/openssl.log")"

start_api --port 0 --tls-cert "$PKI/server.crt" --tls-key "$PKI/server.key"
# apictl.py checks the server's certificate too.
API_CA=$PKI/ca.crt
echo '{"apiVersion": "v1", "kind": "List", "items": []}' >"$TMP/api.json"

# ---- helpers ----------------------------------------------------------------

# write_token TOKEN: the token file kubelet would rotate, replaced atomically.
write_token() {
	printf '%s\n' "$1" >"$TMP/token.next"
	mv -f "$TMP/token.next" "$TMP/token"
}

# kubeconfig FILE CLUSTER_LINE: a kubeconfig for the fake server with the
# token file, CLUSTER_LINE being its certificate setting.
kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
current-context: it
contexts:
- name: it
  context:
    cluster: it
    user: kproxy
clusters:
- name: it
  cluster:
    server: $API
    $2
users:
- name: kproxy
  user:
    tokenFile: $TMP/token
EOF
}

# start_kc_kproxy KUBECONFIG: starts $KPROXY --kubeconfig in node-a, in the
# background (callers wait for what they expect).
start_kc_kproxy() {
	launch_kproxy_flags node-a --kubeconfig "$1"
}

restart_kproxy() {
	if stop_kproxy node-a; then
		pass "$2: the previous kproxy exits 0 on SIGTERM"
	else
		check_failed "$2: the previous kproxy exited $_rc on SIGTERM"
	fi
	start_kc_kproxy "$1"
}

# step DESC < STATE: the API server changes to STATE; the rules must follow.
step() {
	api_state
	converge "$1" node-a "$TMP/api.json" 20
}

# events: the Events the fake server accepted with reason
# FailedToStartServiceHealthcheck, one line each: type, action, namespace,
# involvedObject and message; then one line per request that posted an
# Event: its path and Authorization header.
events() {
	# shellcheck disable=SC2016 # a Python program
	api state | "$PY" -c '
import json, sys
st = json.load(sys.stdin)
for e in st["events"]:
    if e.get("reason") != "FailedToStartServiceHealthcheck":
        continue
    o = e.get("involvedObject") or {}
    print("event type=%s action=%s namespace=%s about=%s/%s/%s/%s message=%s" % (
        e.get("type"), e.get("action"), (e.get("metadata") or {}).get("namespace"),
        o.get("apiVersion"), o.get("kind"), o.get("namespace"), o.get("name"),
        e.get("message")))
for r in st["requests"]:
    if r["path"].endswith("/events"):
        print("post %s %s %s" % (r["method"], r["path"], r["auth"]))
'
}

# shellcheck disable=SC2317 # called through wait_until
has_event() {
	events | grep -q '^event '
}

# ---- a. start; a health-check port that is taken ----------------------------

write_token t1
api cmd '{"op": "require_token", "token": "t1"}' >/dev/null
kubeconfig "$TMP/kubeconfig" "certificate-authority: $PKI/ca.crt"
kubeconfig "$TMP/kubeconfig-other-ca" "certificate-authority: $PKI/other.crt"
kubeconfig "$TMP/kubeconfig-insecure" "insecure-skip-tls-verify: true"

mkdir "$TMP/empty"
# Not through in_ns: $! must be python's pid.
ip netns exec "$P-node-a" "$PY" -m http.server --bind 0.0.0.0 --directory "$TMP/empty" \
	"$HC_PORT" >"$TMP/taken.log" 2>&1 &
echo $! >"$TMP/taken.pid"
# shellcheck disable=SC2016 # evaluated by wait_until
wait_until 10 eval 'in_ns node-a ss -Htln "sport = :$HC_PORT" | grep -q LISTEN' ||
	fail "python did not listen on $HC_PORT: $(cat "$TMP/taken.log")"

api_state <<EOF
svc web 198.19.0.200 http:tcp:80:8080:30200 dns:udp:53:5353
eps web a1 b1
svc lb 198.19.0.201 lb=198.51.100.201 etp=Local hc=$HC_PORT http:tcp:80:8080:30201
eps lb a1 b1
svc other 198.19.0.202 http:tcp:80:8080
eps other b2
EOF
start_kc_kproxy "$TMP/kubeconfig"
wait_applied node-a 0 20
converge "a. start over HTTPS (CA file, token file)" node-a "$TMP/api.json"
if wait_until 10 has_event; then
	want="event type=Warning action=Listen namespace=it about=v1/Service/it/lb"
	got=$(events | grep '^event ' | head -n 1)
	case $got in
	"$want message="*"cannot listen on 0.0.0.0:$HC_PORT"*)
		pass "a. port taken: the fake server has the Event: $(echo "$got" | cut -c 1-220)" ;;
	*) check_failed "a. port taken: the Event is not '$want ... $HC_PORT ...': $got" ;;
	esac
	got=$(events | grep '^post ' | head -n 1)
	if [ "$got" = "post POST /api/v1/namespaces/it/events Bearer t1" ]; then
		pass "a. port taken: the Event was posted in the Service's namespace with the token: $got"
	else
		check_failed "a. port taken: the Event's request: $got"
	fi
else
	check_failed "a. port taken: the fake server got no FailedToStartServiceHealthcheck Event: $(events)"
fi
if grep -q -E "service it/lb: health check node port: .*$HC_PORT" "$TMP/kproxy-node-a.log"; then
	pass "a. port taken: kproxy logs it"
else
	check_failed "a. port taken: no log line about it/lb's health-check port"
fi
# kproxy retries the port every sync period (1 s); the Event is not repeated.
eventually 10 "a. port taken: kproxy retries the port" \
	metric_above node-a kproxy_healthcheck_bind_failures_total 2
n=$(events | grep -c '^event ')
if [ "$n" -eq 1 ]; then
	pass "a. port taken: one Event for $(metric node-a kproxy_healthcheck_bind_failures_total) failed attempts"
else
	check_failed "a. port taken: $n Events"
fi

# ---- b. creates, updates, deletes -------------------------------------------

step "b. create a service" <<EOF
svc web 198.19.0.200 http:tcp:80:8080:30200 dns:udp:53:5353
eps web a1 b1
svc lb 198.19.0.201 lb=198.51.100.201 etp=Local hc=$HC_PORT http:tcp:80:8080:30201
eps lb a1 b1
svc other 198.19.0.202 http:tcp:80:8080
eps other b2
svc new 198.19.0.203 http:tcp:80:8080
eps new a2
EOF
step "b. update endpoints and a service (web: b1 -> a2; other: new port)" <<EOF
svc web 198.19.0.200 http:tcp:80:8080:30200 dns:udp:53:5353
eps web a1 a2
svc lb 198.19.0.201 lb=198.51.100.201 etp=Local hc=$HC_PORT http:tcp:80:8080:30201
eps lb a1 b1
svc other 198.19.0.202 http:tcp:8081:8080
eps other b2
svc new 198.19.0.203 http:tcp:80:8080
eps new a2
EOF
step "b. delete a service and its slice (new)" <<EOF
svc web 198.19.0.200 http:tcp:80:8080:30200 dns:udp:53:5353
eps web a1 a2
svc lb 198.19.0.201 lb=198.51.100.201 etp=Local hc=$HC_PORT http:tcp:80:8080:30201
eps lb a1 b1
svc other 198.19.0.202 http:tcp:8081:8080
eps other b2
EOF
if ipt_save node-a | grep -q '198\.19\.0\.203'; then
	check_failed "b. delete: the kernel still has rules for 198.19.0.203"
else
	pass "b. delete: no rule for 198.19.0.203 is left"
fi

# ---- c. a watch answered with HTTP 410 --------------------------------------
#
# The server restarts (history gone, every watch cut), and answers watches
# from an older resourceVersion with HTTP 410 instead of an ERROR event;
# "other" is deleted meanwhile, which no watch reports.

mark=$(api requests)
lines=$(log_lines node-a)
api_state --before '[{"op": "watch_410_http", "value": true}, {"op": "restart"}]' <<EOF
svc web 198.19.0.200 http:tcp:80:8080:30200 dns:udp:53:5353
eps web a1 a2 b2
svc lb 198.19.0.201 lb=198.51.100.201 etp=Local hc=$HC_PORT http:tcp:80:8080:30201
eps lb a1 b1
EOF
expect_log "c. HTTP 410" node-a "$lines" 'watch services: resource version expired; listing again' $RECONNECT_WAIT
expect_log "c. HTTP 410" node-a "$lines" 'services: 1 objects deleted while not watching' $RECONNECT_WAIT
converge "c. HTTP 410: relisted, other deleted meanwhile is gone" node-a "$TMP/api.json" $RECONNECT_WAIT
if wait_until $RECONNECT_WAIT api watching "$mark"; then
	pass "c. HTTP 410: kproxy watches every kind again"
else
	check_failed "c. HTTP 410: kproxy does not watch every kind again: $(api watching "$mark")"
fi
api cmd '{"op": "watch_410_http", "value": false}' >/dev/null

# ---- d. an expired continue token while paging ------------------------------
#
# More Services than kproxy's page (500), so a list of them takes two
# pages; a 410 on the services watch makes kproxy list them again, and the
# continue token of that list expires once.

bulk() {
	_i=0
	while [ $_i -lt $BULK ]; do
		echo "svc bulk$_i 198.19.$((10 + _i / 250)).$((_i % 250 + 1)) http:tcp:80:8080"
		_i=$((_i + 1))
	done
}
base="svc web 198.19.0.200 http:tcp:80:8080:30200 dns:udp:53:5353
eps web a1 a2 b2
svc lb 198.19.0.201 lb=198.51.100.201 etp=Local hc=$HC_PORT http:tcp:80:8080:30201
eps lb a1 b1"
# Not piped: a function at the end of a pipeline runs in a subshell, and
# its checks would not count.
{
	echo "$base"
	bulk
} >"$TMP/desc"
step "d. $BULK more services" <"$TMP/desc"
mark=$(api requests)
lines=$(log_lines node-a)
{
	echo "$base"
	bulk
	echo "svc late 198.19.0.204 http:tcp:80:8080"
	echo "eps late b1"
} >"$TMP/desc"
api_state --before '[{"op": "expire_continue", "count": 1}, {"op": "error_410", "resource": "services"}]' \
	<"$TMP/desc"
expect_log "d. expired continue token" node-a "$lines" \
	'list services: continue token expired; listing from the start' 20
converge "d. expired continue token: the list started over and completed" node-a \
	"$TMP/api.json" 30
continued=$(api state | "$PY" -c '
import json, sys
reqs = json.load(sys.stdin)["requests"][int(sys.argv[1]):]
print(sum(1 for r in reqs if r["path"] == "/api/v1/services" and "continue" in r["query"]))
' "$mark")
if [ "$continued" -ge 2 ]; then
	pass "d. expired continue token: $continued continued pages asked for (one expired)"
else
	check_failed "d. expired continue token: $continued continued pages asked for, want 2 or more"
fi

# ---- e. a CA that did not sign the server ----------------------------------

snapshot node-a
applied=$(applied_count node-a)
lines=$(log_lines node-a)
restart_kproxy "$TMP/kubeconfig-other-ca" "e. stranger CA"
mark=$(api requests)
api_state <<EOF
$base
svc late 198.19.0.204 http:tcp:80:8080
eps late b1 b2
EOF
expect_log "e. stranger CA" node-a "$lines" 'api: (list|probe) [a-z/.0-9]*: SSL certificate problem' 15
rules_kept "e. stranger CA" node-a 3
if [ "$(applied_count node-a)" -eq "$applied" ]; then
	pass "e. stranger CA: kproxy applied no sync"
else
	check_failed "e. stranger CA: kproxy applied a sync"
fi
if [ "$(api requests)" -eq "$mark" ]; then
	pass "e. stranger CA: the server got no request (the TLS handshake was refused)"
else
	check_failed "e. stranger CA: the server got $(($(api requests) - mark)) requests"
fi

# ---- f. insecure-skip-tls-verify, no CA ------------------------------------

restart_kproxy "$TMP/kubeconfig-insecure" "f. insecure-skip-tls-verify"
wait_applied node-a "$applied" 20
converge "f. insecure-skip-tls-verify: the change made meanwhile arrives" node-a "$TMP/api.json" 20

# ---- g. the server demands a new token ---------------------------------------
#
# kproxy re-reads its token file every 60 s and on a 401. A kproxy freshly
# started re-reads it next a minute later, so the new token written here
# reaches it through a 401, which it answers by re-reading the file and
# retrying at once.

started=$(now_cs)
applied=$(applied_count node-a)
restart_kproxy "$TMP/kubeconfig" "g. token rotation"
wait_applied node-a "$applied" 20
snapshot node-a
lines=$(log_lines node-a)
api_state --before '[{"op": "require_token", "token": "t2"}, {"op": "close_streams", "clean": false}]' <<EOF
$base
svc late 198.19.0.205 http:tcp:80:8080
eps late b1 b2
EOF
expect_log "g. new token required" node-a "$lines" 'api: watch [a-z/.0-9]*: HTTP 401: Unauthorized$' 10
rules_kept "g. new token required, kproxy has the old one" node-a 3
write_token t2
converge "g. token file rotated" node-a "$TMP/api.json" $RECONNECT_WAIT
expect_log "g. token file rotated" node-a "$lines" 'HTTP 401: Unauthorized; retrying with the new token' 5
secs=$((($(now_cs) - started) / 100))
if [ "$secs" -lt 55 ]; then
	echo "(the token file was re-read through the 401, ${secs}s after kproxy started)"
else
	check_failed "g. the step took ${secs}s (a slow reconnect?): past 55 s kproxy's periodic re-read may have found the token, so the 401 path is not shown"
fi
mark=$(api requests)
api cmd '{"op": "close_streams", "clean": false}' >/dev/null
if wait_until $RECONNECT_WAIT api watching "$mark"; then
	pass "g. watches opened after the rotation are authorized"
else
	check_failed "g. kproxy does not watch every kind again: $(api watching "$mark")"
fi

finish
