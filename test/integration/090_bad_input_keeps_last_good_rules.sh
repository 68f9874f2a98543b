#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Bad input never costs traffic. A state file that is not JSON at all is
# reported and ignored: the rules stay exactly as they were and keep
# serving, and kproxy keeps running. A valid file with one bad object (a
# service port 70000) loses only that object: every other change in the same
# file is applied, and the log names the bad object.
#
# Usage: 090_bad_input_keeps_last_good_rules.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2

set_state "$STATE" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090
eps web a1 b1
svc other 198.19.0.91 http:tcp:80:8080
eps other b1
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"
expect_names "before: web has a1 and b1" "a1 b1" a2 tcp 198.19.0.90 80 20

error_count() {
	grep -c '^E[0-9]' "$TMP/kproxy-$1.log"
}
# shellcheck disable=SC2317 # called through wait_until
errors_after() {
	[ "$(error_count "$1")" -gt "$2" ]
}
rules() {
	ipt_save "$1" | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]/[0:0]/g'
}
rules node-a >"$TMP/rules-before"
ea=$(error_count node-a)
eb=$(error_count node-b)

# 1. Not JSON at all (a write cut short).
set_state_raw "$STATE" <<'EOF'
{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Serv
EOF
for n in node-a:$ea node-b:$eb; do
	if wait_until 10 errors_after "${n%%:*}" "${n#*:}"; then
		pass "invalid JSON: kproxy on ${n%%:*} logs an error: $(grep '^E[0-9]' "$TMP/kproxy-${n%%:*}.log" | tail -n 1 | cut -c 1-160)"
	else
		check_failed "invalid JSON: kproxy on ${n%%:*} logged no error"
	fi
	if kproxy_running "${n%%:*}"; then
		pass "invalid JSON: kproxy on ${n%%:*} keeps running"
	else
		check_failed "invalid JSON: kproxy on ${n%%:*} exited"
	fi
done
rules node-a >"$TMP/rules-after"
if cmp -s "$TMP/rules-before" "$TMP/rules-after"; then
	pass "invalid JSON: node-a's rules are unchanged"
else
	check_failed "invalid JSON: node-a's rules changed:"
	diff -u "$TMP/rules-before" "$TMP/rules-after" | head -n 40
fi
expect_names "invalid JSON: pod -> web still reaches a1 and b1" "a1 b1" a2 tcp 198.19.0.90 80 20
expect_names "invalid JSON: pod -> other still reaches b1" "b1" a2 tcp 198.19.0.91 80 5
expect_names "invalid JSON: client -> NodePort still works" "a1 b1" client tcp 192.0.2.10 30090 20

# 2. Valid, with one bad service among good changes: web loses b1, a
# service is added, and "bad" has a port out of range.
apply_state "$STATE" <<EOF
svc web 198.19.0.90 http:tcp:80:8080:30090
eps web a1
svc other 198.19.0.91 http:tcp:80:8080
eps other b1
svc bad 198.19.0.92 http:tcp:70000:8080
eps bad b1
svc added 198.19.0.93 http:tcp:80:8080
eps added a1
EOF
for n in node-a node-b; do
	if grep '^E[0-9]' "$TMP/kproxy-$n.log" | grep -q 'bad.*70000'; then
		pass "one bad object: kproxy on $n names it: $(grep '^E[0-9].*70000' "$TMP/kproxy-$n.log" | tail -n 1 | cut -c 1-160)"
	else
		check_failed "one bad object: kproxy on $n logged no error naming service bad and 70000"
	fi
done
eventually 10 "one bad object: the change to web is applied" \
	names_are "a1" a2 tcp 198.19.0.90 80 20
eventually 10 "one bad object: the added service works" \
	names_are "a1" a2 tcp 198.19.0.93 80 5
expect_names "one bad object: the unchanged service still works" "b1" a2 tcp 198.19.0.91 80 5
expect_names "one bad object: client -> NodePort follows the change" "a1" \
	client tcp 192.0.2.11 30090 10
bad=$(ipt_save node-a | grep -c -E -- '--comment "?it/bad:|198\.19\.0\.92')
if [ "$bad" -eq 0 ]; then
	pass "one bad object: it has no rules"
else
	check_failed "one bad object: it has $bad rules in node-a"
fi

finish
