#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Restarting kproxy does not drop traffic: while a pod and the external
# client send a request every 50 ms to a ClusterIP and to node-a's NodePort,
# kproxy on node-a is killed with SIGKILL and started again, three times,
# and not one request fails. The rules left in the kernel keep serving while
# kproxy is down, and a restarted kproxy converges on exactly the same rules
# (no duplicated jumps), and removes the chains of a service deleted while
# it was down. kproxy's jumps are the first rules of each built-in chain it
# uses, ahead of somebody else's rules that were there first. SIGINT and
# SIGTERM exit 0 and leave the rules in place. Then `kproxy --cleanup` leaves
# node-a's iptables exactly as they were before kproxy ever ran, including
# somebody else's chains and rules that were there first, even with other
# rules jumping into kproxy's chains (hand-made jumps from INPUT and
# PREROUTING, an older kproxy's jump with another comment, a goto from
# somebody else's chain); a second --cleanup changes nothing (iptables-save
# compared without comments and counters).
#
# Usage: 080_restart_keeps_traffic_and_cleanup_restores_iptables.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2

# Somebody else's rules, in both tables kproxy uses, before kproxy runs.
in_ns node-a "$IPT_RESTORE" <<EOF || fail "cannot load the foreign rules"
*filter
:OTHER-FW - [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A FORWARD -j OTHER-FW
-A OUTPUT -p udp --dport 53 -j ACCEPT
-A OTHER-FW -s 203.0.113.99/32 -j DROP
COMMIT
*nat
:OTHER-NAT - [0:0]
-A PREROUTING -j OTHER-NAT
-A OUTPUT -d 10.99.0.1/32 -j OTHER-NAT
-A OTHER-NAT -d 10.99.0.1/32 -p tcp -j DNAT --to-destination 10.99.0.2
-A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE
COMMIT
EOF

# normalized_save NODE: iptables-save without comment lines and counters.
normalized_save() {
	ipt_save "$1" | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]/[0:0]/g'
}
normalized_save node-a >"$TMP/before-kproxy"

set_state "$STATE" <<EOF
svc web 198.19.0.80 http:tcp:80:8080:30080
eps web a1 b1
svc gone 198.19.0.81 http:tcp:80:8080
eps gone b1
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"
expect_names "pod a2 -> ClusterIP" "a1 b1" a2 tcp 198.19.0.80 80 20
expect_names "client -> node-a NodePort" "a1 b1" client tcp 192.0.2.10 30080 20
normalized_save node-a >"$TMP/first-run"
eventually 1 "first start: kproxy's jumps come before the rules that were there first" \
	jumps_first node-a

# no_duplicate_jumps NODE: every jump from a built-in chain into kproxy's
# chains is there exactly once.
no_duplicate_jumps() {
	SEEN=$(normalized_save "$1" |
		grep -E -- '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*-j KPROXY-' |
		sort | uniq -d)
	[ -z "$SEEN" ]
}

ip netns exec "$P-a2" "$PY" "$INTEGRATION_DIR/probe.py" tcp 198.19.0.80 80 \
	--interval 0.05 --until "$TMP/stop" --stamp >"$TMP/loop-pod.out" 2>&1 &
echo $! >"$TMP/loop-pod.pid"
ip netns exec "$P-client" "$PY" "$INTEGRATION_DIR/probe.py" tcp 192.0.2.10 30080 \
	--interval 0.05 --until "$TMP/stop" --stamp >"$TMP/loop-client.out" 2>&1 &
echo $! >"$TMP/loop-client.pid"

# answered LOOP: how many answers the loop has printed so far.
answered() {
	grep -c -v ERROR "$TMP/loop-$1.out"
}
# fewest_answered: the smaller count of the two loops.
fewest_answered() {
	_p=$(answered pod)
	_c=$(answered client)
	[ "$_c" -lt "$_p" ] && _p=$_c
	echo "$_p"
}
# both_answered_more N: both loops have printed more than N answers.
# shellcheck disable=SC2317 # called through wait_until
both_answered_more() {
	[ "$(answered pod)" -gt "$1" ] && [ "$(answered client)" -gt "$1" ]
}

for round in 1 2 3; do
	stop_kproxy node-a KILL
	# While kproxy is down, the rules it left keep serving (10 more
	# answers each, half a second of traffic).
	if wait_until 10 both_answered_more $(($(fewest_answered) + 10)); then
		pass "round $round: kproxy killed, traffic still answered"
	else
		check_failed "round $round: with kproxy killed, the loops stalled"
	fi
	start_kproxy node-a "$STATE"
	if wait_until 10 both_answered_more $(($(fewest_answered) + 10)); then
		pass "round $round: kproxy restarted, traffic still answered"
	else
		check_failed "round $round: after the restart, the loops stalled"
	fi
done

if no_duplicate_jumps node-a; then
	pass "after 3 restarts, each jump into KPROXY- chains exists once"
else
	check_failed "after 3 restarts, duplicated jumps: $SEEN"
fi
eventually 1 "after 3 restarts: kproxy's jumps still come first" jumps_first node-a
normalized_save node-a >"$TMP/after-restarts"
if cmp -s "$TMP/first-run" "$TMP/after-restarts"; then
	pass "after 3 restarts, node-a's rules are the same as after the first start"
else
	check_failed "after 3 restarts, node-a's rules differ from the first start:"
	diff -u "$TMP/first-run" "$TMP/after-restarts" | head -n 40
fi

# A service deleted while kproxy is down: the restarted kproxy finds its
# chains in the kernel and removes them.
gone=$(service_chains node-a gone)
stop_kproxy node-a KILL
set_state "$STATE" <<EOF
svc web 198.19.0.80 http:tcp:80:8080:30080
eps web a1 b1
EOF
start_kproxy node-a "$STATE"
case $gone in
*KPROXY-SVC-*) ;;
*) check_failed "service gone had no SVC chain in node-a before the restart: '$gone'" ;;
esac
# shellcheck disable=SC2086
eventually 5 "service deleted while kproxy was down: the restarted kproxy removed its chains" \
	chains_gone node-a $gone

touch "$TMP/stop"
for loop in pod client; do
	pid=$(cat "$TMP/loop-$loop.pid")
	if ! wait_until 10 eval "! alive $pid"; then
		check_failed "the $loop request loop did not stop"
		continue
	fi
	wait "$pid"
	rc=$?
	rm -f "$TMP/loop-$loop.pid"
	total=$(grep -c -v '^probe:' "$TMP/loop-$loop.out")
	errors=$(grep -c ' ERROR ' "$TMP/loop-$loop.out")
	if [ "$rc" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$total" -ge 30 ]; then
		pass "$loop requests every 50 ms across 3 kills and restarts: $total sent, none failed"
	else
		check_failed "$loop requests across restarts: $errors of $total failed (exit $rc)"
		grep ' ERROR ' "$TMP/loop-$loop.out" | head -n 10
	fi
done

# SIGINT (Ctrl-C in a terminal) ends kproxy as SIGTERM does: exit 0, rules
# left exactly as they were.
normalized_save node-a >"$TMP/before-sigint"
if stop_kproxy node-a INT; then
	pass "kproxy on node-a exits 0 on SIGINT"
else
	check_failed "kproxy on node-a exited with status $_rc on SIGINT"
fi
normalized_save node-a >"$TMP/after-sigint"
if cmp -s "$TMP/before-sigint" "$TMP/after-sigint"; then
	pass "after SIGINT node-a's rules are exactly as they were ($(wc -l <"$TMP/after-sigint") lines)"
else
	check_failed "SIGINT changed node-a's rules:"
	diff -u "$TMP/before-sigint" "$TMP/after-sigint" | head -n 40
fi
expect_names "after SIGINT the rules stay: client -> node-a NodePort" \
	"a1 b1" client tcp 192.0.2.10 30080 10
start_kproxy node-a "$STATE"

if stop_kproxy node-a TERM; then
	pass "kproxy on node-a exits 0 on SIGTERM"
else
	check_failed "kproxy on node-a exited with status $_rc on SIGTERM"
fi
expect_names "after SIGTERM the rules stay: client -> node-a NodePort" \
	"a1 b1" client tcp 192.0.2.10 30080 10

# Other rules that jump into kproxy's chains: hand-made ones in INPUT and
# PREROUTING, an older kproxy's jump (another comment) in FORWARD, and a goto
# from somebody else's chain. --cleanup deletes each by its own text.
in_ns node-a "$IPT_RESTORE" --noflush <<EOF || fail "cannot add the extra jumps"
*filter
-A INPUT -s 10.0.0.0/8 -j KPROXY-FIREWALL
-I FORWARD 1 -m comment --comment "kproxy v0 forwarding rules" -j KPROXY-FORWARD
-A OTHER-FW -p udp -g KPROXY-SERVICES
COMMIT
*nat
-A PREROUTING -s 10.0.0.0/8 -j KPROXY-SERVICES
COMMIT
EOF
n_extra=$(normalized_save node-a |
	grep -c -E -e '-s 10.0.0.0/8 -j KPROXY-' -e 'kproxy v0' -e '-g KPROXY-SERVICES')
if [ "$n_extra" -eq 4 ]; then
	pass "4 extra rules jump into kproxy's chains before --cleanup"
else
	check_failed "want 4 extra jumps into kproxy's chains, found $n_extra"
fi

in_ns node-a "$KPROXY" --cleanup --iptables-backend "$BACKEND" >>"$TMP/kproxy-cleanup.log" 2>&1
rc=$?
if [ "$rc" -eq 0 ]; then
	pass "kproxy --cleanup exits 0"
else
	check_failed "kproxy --cleanup exited with status $rc"
fi
normalized_save node-a >"$TMP/after-cleanup"
if cmp -s "$TMP/before-kproxy" "$TMP/after-cleanup"; then
	pass "--cleanup leaves node-a's iptables exactly as before kproxy ran ($(wc -l <"$TMP/after-cleanup") lines)"
else
	check_failed "--cleanup left node-a's iptables different from before kproxy ran:"
	diff -u "$TMP/before-kproxy" "$TMP/after-cleanup" | head -n 60
fi
expect_names "after --cleanup node-a's NodePort is closed" \
	"ERROR-refused" client tcp 192.0.2.10 30080 1 1
in_ns node-a "$KPROXY" --cleanup --iptables-backend "$BACKEND" >>"$TMP/kproxy-cleanup.log" 2>&1
rc=$?
normalized_save node-a >"$TMP/after-cleanup2"
if [ "$rc" -eq 0 ] && cmp -s "$TMP/before-kproxy" "$TMP/after-cleanup2"; then
	pass "a second --cleanup exits 0 and changes nothing"
else
	check_failed "a second --cleanup: exit $rc, or the rules changed"
fi

finish
