#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Slow clients cannot starve the health checks. Twelve addresses of an
# attacker (on the client's segment) each try to hold 9 connections to
# node-a's /healthz port (10256) and to a Local-policy LoadBalancer's
# health-check node port, sending one header byte a second and never
# finishing: kproxy lets each address have 8 (96 per port, which
# libmicrohttpd's idle timeout alone would never close, since every byte
# restarts it) and refuses the ninth. For 16 s, while the attack runs, a
# load balancer's checker on another address asks both ports every 0.25 s
# with a 2 s timeout, and every one of its checks is answered 200. kproxy
# cuts the slow connections at its header deadline (counted in
# kproxy_http_header_timeouts_total), keeps its rules and exits cleanly.
#
# Usage: 190_slowloris_clients_cannot_starve_health_checks.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"

ATTACK_S=16
N_SRC=12

topology_up
ref_up
add_pod node-a a1 198.18.1.2
add_pod node-b b1 198.18.2.2

set_state "$STATE" <<STATE_END
svc web 198.19.0.190 http:tcp:80:8080:30190
eps web a1 b1
svc lb 198.19.0.191 lb=198.51.100.191 etp=Local hc=32191 http:tcp:80:8080:30191
eps lb a1
STATE_END
start_kproxy node-a "$STATE"
converge "start" node-a "$STATE"

# The attacker's addresses, on the client's segment (the nodes reach
# 203.0.113.0/24 on-link).
srcs=""
i=0
while [ $i -lt $N_SRC ]; do
	ip -n "$P-client" addr add "203.0.113.$((100 + i))/24" dev eth0 ||
		fail "cannot add an attacker address"
	srcs="$srcs${srcs:+,}203.0.113.$((100 + i))"
	i=$((i + 1))
done

# check_loop NAME URL: every 0.25 s until $TMP/stop, one line per check:
# the HTTP status, 000 when unanswered within 2 s.
check_loop() {
	while [ ! -e "$TMP/stop" ]; do
		in_ns client curl -s -o /dev/null -w '%{http_code}\n' --max-time 2 \
			--interface 203.0.113.2 "$2"
		sleep 0.25
	done >"$TMP/checks-$1" 2>/dev/null
}

before=$(metric node-a kproxy_http_header_timeouts_total)
in_ns client "$PY" "$INTEGRATION_DIR/slowloris.py" --sources "$srcs" \
	--target 192.0.2.10:10256 --target 192.0.2.10:32191 --per-source 9 \
	--until "$TMP/stop" >"$TMP/attack.out" 2>&1 &
attack=$!
sleep 1
check_loop healthz http://192.0.2.10:10256/healthz &
c1=$!
check_loop hc http://192.0.2.10:32191/ &
c2=$!
sleep "$ATTACK_S"
touch "$TMP/stop"
wait "$attack" "$c1" "$c2"
echo "attacker: $(cat "$TMP/attack.out")"

for c in healthz hc; do
	n=$(wc -l <"$TMP/checks-$c")
	bad=$(grep -c -v '^200$' "$TMP/checks-$c")
	if [ "$n" -ge 20 ] && [ "$bad" -eq 0 ]; then
		pass "$c: all $n checks during the attack answered 200"
	else
		check_failed "$c: $bad of $n checks during the attack were not answered 200: $(sort "$TMP/checks-$c" | uniq -c | tr '\n' ' ')"
	fi
done

# "opened N cut N refused N max_open N"
# shellcheck disable=SC2046 # four figures
set -- $(cat "$TMP/attack.out")
if [ "${8:-0}" -ge $((N_SRC * 8 * 2)) ]; then
	pass "the attack was real: $2 connections opened, up to $8 open at once"
else
	check_failed "the attacker did not get its connections open: $(cat "$TMP/attack.out")"
fi
if [ "${6:-0}" -gt 0 ]; then
	pass "kproxy refused $6 connections over 8 from one address"
else
	check_failed "kproxy refused no connection over 8 from one address"
fi
if [ "${4:-0}" -ge $((N_SRC * 8 * 2)) ]; then
	pass "kproxy cut $4 slow connections at the header deadline"
else
	check_failed "kproxy cut only ${4:-0} slow connections (want >= $((N_SRC * 16)))"
fi
eventually 5 "kproxy_http_header_timeouts_total counts the cuts" \
	metric_above node-a kproxy_http_header_timeouts_total $((${before:-0} + N_SRC * 16 - 1))

if kproxy_running node-a; then
	pass "kproxy keeps running"
else
	fail "kproxy exited during the attack"
fi
converge "after the attack" node-a "$STATE"
expect_names "after the attack: web's NodePort serves" "a1 b1" client tcp 192.0.2.10 30190 20
if stop_kproxy node-a; then
	pass "kproxy exits 0 on SIGTERM"
else
	check_failed "kproxy exited $_rc on SIGTERM"
fi
finish
