#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# internalTrafficPolicy: Local keeps in-cluster traffic on the node it starts
# from: a pod (or the node itself) on node-a only ever reaches node-a's
# endpoints, a pod on node-b only node-b's. sessionAffinity: ClientIP keeps
# a client on one endpoint: 20 new connections from the same client all land
# on the same one of three endpoints (a random spread would do that with a
# chance of 1 in 3^19), for a ClusterIP and for a NodePort.
#
# Usage: 050_internal_policy_local_and_session_affinity.sh KPROXY
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
add_pod node-b b3 198.18.2.4

set_state "$STATE" <<EOF
svc itl 198.19.0.50 http:tcp:80:8080 dns:udp:53:5353 itp=Local
eps itl a1 a2 b1 b2
svc sticky 198.19.0.51 http:tcp:80:8080:30051 affinity=ClientIP
eps sticky a1 a2 b1
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"

expect_names "internal Local: pod a3 on node-a reaches only node-a endpoints" \
	"a1 a2" a3 tcp 198.19.0.50 80 40
expect_names "internal Local: pod b3 on node-b reaches only node-b endpoints" \
	"b1 b2" b3 tcp 198.19.0.50 80 40
expect_names "internal Local: UDP from pod a3 stays on node-a too" \
	"a1 a2" a3 udp 198.19.0.50 53 40
expect_names "internal Local: node-a itself reaches only node-a endpoints" \
	"a1 a2" node-a tcp 198.19.0.50 80 40

# one_endpoint FROM PROTO HOST PORT COUNT: every answer from one pod.
one_endpoint() {
	SEEN=$(probe_names "$@")
	case $SEEN in
	"" | *" "* | ERROR*) return 1 ;;
	esac
}

for from in a3 b3 node-b; do
	if one_endpoint "$from" tcp 198.19.0.51 80 20; then
		pass "ClientIP affinity: $from keeps its endpoint over 20 connections: $SEEN"
	else
		check_failed "ClientIP affinity: $from was answered by '$SEEN' over 20 connections"
	fi
done
if one_endpoint client tcp 192.0.2.10 30051 20; then
	pass "ClientIP affinity: the client keeps its endpoint through a NodePort: $SEEN"
else
	check_failed "ClientIP affinity through a NodePort: answered by '$SEEN'"
fi

finish
