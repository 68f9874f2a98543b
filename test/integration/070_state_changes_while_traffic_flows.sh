#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The state file changes while traffic flows: an endpoint is added, one is
# removed, a service is added and then deleted. After each change new
# connections go where the new state says, and the deleted service leaves no
# KPROXY-SVC/SEP/EXT chain in either node's kernel. Meanwhile a pod and the
# external client keep sending requests to a service every 50 ms, and none
# of them fails: kproxy's rewrites are atomic. A long-lived UDP flow (one
# source port, so one conntrack entry) leaves an endpoint that was removed:
# kproxy deletes the stale conntrack entry, which would otherwise keep
# sending the flow to the old endpoint for minutes. Then a service changes
# in place: its port, its type, an endpoint's readiness, and its external
# traffic policy to Local and back; each time the traffic follows. Last, a
# burst of rewrites ends on the last state.
#
# Usage: 070_state_changes_while_traffic_flows.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-a a3 198.18.1.4
add_pod node-b b1 198.18.2.2
add_pod node-b b2 198.18.2.3

web="svc web 198.19.0.70 http:tcp:80:8080:30070"
flow="svc flow 198.19.0.72 dns:udp:53:5353"
set_state "$STATE" <<EOF
$web
eps web a1 b1
$flow
eps flow b1
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"
expect_names "before any change: web has a1 and b1" "a1 b1" a3 tcp 198.19.0.70 80 20
expect_names "before any change: a UDP flow from a3 port 40053 reaches b1" \
	"b1" a3 udp 198.19.0.72 53 3 2 --sport 40053

# Steady traffic through every change, from a pod to the ClusterIP and from
# the client to node-b's NodePort. Each loop stops when $TMP/stop exists.
ip netns exec "$P-a3" "$PY" "$INTEGRATION_DIR/probe.py" tcp 198.19.0.70 80 \
	--interval 0.05 --until "$TMP/stop" --stamp >"$TMP/loop-pod.out" 2>&1 &
echo $! >"$TMP/loop-pod.pid"
ip netns exec "$P-client" "$PY" "$INTEGRATION_DIR/probe.py" tcp 192.0.2.11 30070 \
	--interval 0.05 --until "$TMP/stop" --stamp >"$TMP/loop-client.out" 2>&1 &
echo $! >"$TMP/loop-client.pid"

# 1. Add an endpoint.
apply_state "$STATE" <<EOF
$web
eps web a1 a2 b1
$flow
eps flow b1
EOF
eventually 10 "endpoint a2 added: pod a3 reaches a1 a2 b1" \
	names_are "a1 a2 b1" a3 tcp 198.19.0.70 80 40
eventually 10 "endpoint a2 added: client via node-b's NodePort reaches a1 a2 b1" \
	names_are "a1 a2 b1" client tcp 192.0.2.11 30070 40

# 2. Remove one (from web; flow's b1 is replaced by a1).
apply_state "$STATE" <<EOF
$web
eps web a1 a2
$flow
eps flow a1
EOF
eventually 10 "endpoint b1 removed: pod a3 reaches a1 a2 only" \
	names_are "a1 a2" a3 tcp 198.19.0.70 80 40
eventually 10 "endpoint b1 removed: client via node-b's NodePort reaches a1 a2 only" \
	names_are "a1 a2" client tcp 192.0.2.11 30070 40
# b1 still runs here (a real removed pod would be gone), so a flow still
# pinned to it by a stale conntrack entry would keep getting answers.
eventually 10 "endpoint b1 removed: the UDP flow from a3 port 40053 moves to a1" \
	names_are "a1" a3 udp 198.19.0.72 53 3 2 --sport 40053

# 3. Add a service.
apply_state "$STATE" <<EOF
$web
eps web a1 a2
$flow
eps flow a1
svc fresh 198.19.0.71 http:tcp:80:8080:30071 dns:udp:53:5353
eps fresh b2
EOF
eventually 10 "service fresh added: pod a3 reaches b2 through its ClusterIP" \
	names_are "b2" a3 tcp 198.19.0.71 80 10
eventually 10 "service fresh added: UDP reaches b2 too" \
	names_are "b2" a3 udp 198.19.0.71 53 10
eventually 10 "service fresh added: client reaches b2 through node-b's NodePort" \
	names_are "b2" client tcp 192.0.2.11 30071 10
chains_a=$(service_chains node-a fresh)
chains_b=$(service_chains node-b fresh)
case $chains_a in
*KPROXY-SVC-*KPROXY-SEP-* | *KPROXY-SEP-*KPROXY-SVC-*)
	pass "service fresh has chains in node-a's kernel: $chains_a"
	;;
*)
	check_failed "service fresh: no SVC and SEP chains found in node-a's kernel: '$chains_a'"
	;;
esac

# 4. Delete it again.
apply_state "$STATE" <<EOF
$web
eps web a1 a2
$flow
eps flow a1
EOF
# shellcheck disable=SC2086
eventually 5 "service fresh deleted: its chains are gone from node-a's kernel" \
	chains_gone node-a $chains_a
# shellcheck disable=SC2086
eventually 5 "service fresh deleted: its chains are gone from node-b's kernel" \
	chains_gone node-b $chains_b
for n in node-a node-b; do
	left=$(ipt_save "$n" | grep -c -E -- '--comment "?it/fresh:')
	if [ "$left" -eq 0 ]; then
		pass "service fresh deleted: no rule of it is left in $n"
	else
		check_failed "service fresh deleted: $left rules of it are left in $n"
		ipt_save "$n" | grep -E -- '--comment "?it/fresh:'
	fi
done
# Without rules, the ClusterIP is an address nobody owns and the NodePort a
# port nobody listens on.
eventually 10 "service fresh deleted: its ClusterIP no longer answers" \
	names_are "ERROR-timeout" a3 tcp 198.19.0.71 80 1 1
eventually 10 "service fresh deleted: its NodePort is closed" \
	names_are "ERROR-refused" client tcp 192.0.2.11 30071 1 1
expect_names "web is untouched by the add and delete" "a1 a2" a3 tcp 198.19.0.70 80 40

# The steady traffic: stop it and look at every answer.
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
	pods=$(awk '$2 != "ERROR" && $1 != "probe:" { print $2 }' "$TMP/loop-$loop.out" | sort -u | xargs)
	if [ "$rc" -eq 0 ] && [ "$errors" -eq 0 ] && [ "$total" -ge 20 ]; then
		pass "steady $loop traffic during the changes: $total requests, none failed, answered by $pods"
	else
		check_failed "steady $loop traffic: $errors of $total requests failed (exit $rc)"
		grep ' ERROR ' "$TMP/loop-$loop.out" | head -n 10
	fi
done

# 5. Changes to a service itself (no traffic loop: they break it on purpose):
# its port moves from 80 to 8000, its NodePort goes (type ClusterIP) and a2
# stops being ready.
apply_state "$STATE" <<EOF
svc web 198.19.0.70 http:tcp:8000:8080
eps web a1 a2!
$flow
eps flow a1
EOF
eventually 10 "web's port moved to 8000 and a2 not ready: only a1 answers there" \
	names_are "a1" a3 tcp 198.19.0.70 8000 20
eventually 10 "web's port moved to 8000: port 80 no longer answers" \
	names_are "ERROR-timeout" a3 tcp 198.19.0.70 80 1 1
eventually 10 "web became a ClusterIP: its NodePort is closed" \
	names_are "ERROR-refused" client tcp 192.0.2.11 30070 1 1

# 6. Back to a LoadBalancer, now with externalTrafficPolicy Local.
C=203.0.113.2
apply_state "$STATE" <<EOF
svc web 198.19.0.70 http:tcp:80:8080:30070 lb=198.51.100.70 etp=Local
eps web a1 b1
$flow
eps flow a1
EOF
eventually 10 "web switched to Local: node-b's NodePort reaches only b1, which sees $C" \
	answers_are "b1@$C" client tcp 192.0.2.11 30070 20
eventually 10 "web switched to Local: the LB IP (via node-a) reaches only a1, which sees $C" \
	answers_are "a1@$C" client tcp 198.51.100.70 80 20
svl=$(service_chains node-b web | xargs -n 1 | grep KPROXY-SVL- | xargs)

# 7. And back to Cluster.
apply_state "$STATE" <<EOF
svc web 198.19.0.70 http:tcp:80:8080:30070 lb=198.51.100.70
eps web a1 b1
$flow
eps flow a1
EOF
eventually 10 "web switched back to Cluster: node-b's NodePort spreads and masquerades" \
	answers_are "a1@192.0.2.11 b1@198.18.2.1" client tcp 192.0.2.11 30070 20
if [ -n "$svl" ]; then
	# shellcheck disable=SC2086
	eventually 5 "web switched back to Cluster: its local-endpoints chain is gone from node-b" \
		chains_gone node-b $svl
else
	check_failed "web with the Local policy had no KPROXY-SVL- chain in node-b"
fi

# 8. A burst: ten rewrites of the file within about half a second (each
# one a complete, valid state). kproxy may fold them into fewer syncs, but
# it ends on the last one, with no chain of the intermediate ones left.
for eps in "a1 b1" "a2" "a1 a2 b1" "b1" "a1" "a2 b1" "a1 a2" "b1 b2" "a1" "b2"; do
	set_state "$STATE" <<EOF
svc web 198.19.0.70 http:tcp:80:8080:30070
eps web $eps
$flow
eps flow a1
EOF
done
eventually 10 "after a burst of 10 rewrites: web reaches the last state's b2 only" \
	names_are "b2" a3 tcp 198.19.0.70 80 10
# sep_chains_are NODE N: NODE's nat table declares exactly N endpoint
# chains (empty leftovers included).
# shellcheck disable=SC2317 # called through eventually
sep_chains_are() {
	SEEN="$(ipt_save "$1" nat | grep -c '^:KPROXY-SEP-') endpoint chains"
	[ "$SEEN" = "$2 endpoint chains" ]
}
eventually 5 "after the burst: node-a holds only web's b2 and flow's a1 endpoint chains" \
	sep_chains_are node-a 2
eventually 5 "after the burst: node-b holds only web's b2 and flow's a1 endpoint chains" \
	sep_chains_are node-b 2

finish
