#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# externalTrafficPolicy: Local. External traffic reaches only the endpoints
# on the node it arrives at, unmasqueraded, so the pod sees the client's own
# address 203.0.113.2. A node without local endpoints drops external traffic
# (the client times out; it gets neither a reply nor a reset), while pods on
# that node still reach the service through its NodePort and LoadBalancer
# IP. With the Cluster policy the same requests are masqueraded: the pod
# sees a node's address, never the client's. The service's health-check
# node port tells an outside load balancer which nodes to use: 200 with the
# local endpoint count where there are local endpoints, 503 where not.
#
# Usage: 040_external_policy_local_keeps_client_ip.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2
add_pod node-b b2 198.18.2.3

set_state "$STATE" <<EOF
# Endpoints on node-b only: node-a has none.
svc remote 198.19.0.40 http:tcp:80:8080:30040 lb=198.51.100.40 etp=Local hc=32040
eps remote b1 b2
# One endpoint on each node.
svc both 198.19.0.41 http:tcp:80:8080:30041 dns:udp:53:5353:30041 lb=198.51.100.41 etp=Local hc=32041
eps both a1 b1
svc cluster 198.19.0.42 http:tcp:80:8080:30042 lb=198.51.100.42
eps cluster a1 b1
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"

C=203.0.113.2
expect_answers "Local: client -> node-b NodePort reaches node-b's endpoints, sees $C" \
	"b1@$C b2@$C" client tcp 192.0.2.11 30040 20
expect_answers "Local: client -> node-a NodePort reaches only a1, sees $C" \
	"a1@$C" client tcp 192.0.2.10 30041 20
expect_answers "Local: client -> node-b NodePort reaches only b1, sees $C" \
	"b1@$C" client tcp 192.0.2.11 30041 20
expect_answers "Local: client -> node-a NodePort over UDP reaches only a1, sees $C" \
	"a1@$C" client udp 192.0.2.10 30041 20
expect_answers "Local: client -> LB IP (via node-a) reaches only a1, sees $C" \
	"a1@$C" client tcp 198.51.100.41 80 20

# A timeout rather than "refused" shows that node-a dropped the packet
# instead of answering with a reset; the counter shows it was kproxy's rule.
drops() {
	rule_packets node-a filter 'has no local endpoints.*-j DROP'
}
before=$(drops)
expect_names "Local: client -> NodePort of node-a without local endpoints is dropped" \
	"ERROR-timeout" client tcp 192.0.2.10 30040 1 1
expect_names "Local: client -> LB IP routed to node-a without local endpoints is dropped" \
	"ERROR-timeout" client tcp 198.51.100.40 80 1 1
after=$(drops)
if [ "$after" -ge $((before + 2)) ]; then
	pass "node-a's 'no local endpoints' DROP rules counted the dropped packets ($before -> $after)"
else
	check_failed "node-a's 'no local endpoints' DROP rules saw nothing ($before -> $after)"
fi

expect_names "Local: pod a2 on node-a -> node-a's NodePort still reaches the service" \
	"b1 b2" a2 tcp 192.0.2.10 30040 20
expect_names "Local: pod a2 on node-a -> LB IP still reaches the service" \
	"b1 b2" a2 tcp 198.51.100.40 80 20
expect_names "Local: node-a itself -> its NodePort still reaches the service" \
	"b1 b2" node-a tcp 192.0.2.10 30040 20

expect_answers "Cluster: client -> node-a NodePort is masqueraded to node-a" \
	"a1@198.18.1.1 b1@192.0.2.10" client tcp 192.0.2.10 30042 20
expect_answers "Cluster: client -> node-b NodePort is masqueraded to node-b" \
	"a1@192.0.2.11 b1@198.18.2.1" client tcp 192.0.2.11 30042 20
expect_answers "Cluster: client -> LB IP (via node-a) is masqueraded to node-a" \
	"a1@198.18.1.1 b1@192.0.2.10" client tcp 198.51.100.42 80 20

# health_is NODE_IP PORT STATUS LOCAL: predicate on the health-check answer.
# shellcheck disable=SC2317 # called through eventually
health_is() {
	SEEN=$(probe client http "$1" "$2" --timeout 2)
	case $SEEN in
	"HTTP $3 "*'"localEndpoints": '"$4,"*) return 0 ;;
	esac
	return 1
}
eventually 10 "health check of remote on node-b: 200, 2 local endpoints" \
	health_is 192.0.2.11 32040 200 2
eventually 10 "health check of remote on node-a: 503, no local endpoint" \
	health_is 192.0.2.10 32040 503 0
eventually 10 "health check of both on node-a: 200, 1 local endpoint" \
	health_is 192.0.2.10 32041 200 1
case $SEEN in
*'"namespace": "it"'*'"name": "both"'*)
	pass "health check answer names the service"
	;;
*)
	check_failed "health check answer does not name it/both: $SEEN"
	;;
esac

finish
