#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A ClusterIP answers from a pod on the same node, a pod on the other node,
# both nodes themselves, and from a pod that is itself the endpoint
# (hairpin: the pod reaches itself through the service, which only works
# because kproxy masquerades that connection to the node's bridge address).
# Pod-to-ClusterIP traffic keeps the pod's own source address.
#
# Usage: 010_clusterip_from_pod_node_and_hairpin.sh KPROXY
# (KPROXY_BACKEND=nft|legacy selects the iptables backend, default nft.)
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
svc web 198.19.0.10 http:tcp:80:8080
eps web a1 b1
# Only endpoint: a1 itself, so a1 -> self is always the hairpin path.
svc self 198.19.0.11 http:tcp:80:8080
eps self a1
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"

# Pod traffic is not masqueraded: the endpoint sees the pod's own address.
expect_answers "pod a2 (node-a) -> ClusterIP reaches both endpoints as itself" \
	"a1@198.18.1.3 b1@198.18.1.3" a2 tcp 198.19.0.10 80 20
expect_answers "pod b2 (node-b) -> ClusterIP reaches both endpoints as itself" \
	"a1@198.18.2.3 b1@198.18.2.3" b2 tcp 198.19.0.10 80 20

# The node's own traffic comes from outside the cluster CIDR, so it is
# masqueraded to the address of the interface it leaves by.
expect_answers "node-a itself -> ClusterIP (masqueraded)" \
	"a1@198.18.1.1 b1@192.0.2.10" node-a tcp 198.19.0.10 80 20
expect_answers "node-b itself -> ClusterIP (masqueraded)" \
	"a1@192.0.2.11 b1@198.18.2.1" node-b tcp 198.19.0.10 80 20

# Hairpin: a1 -> ClusterIP -> a1. Without the SEP chain's masquerade the
# answer would go straight from a1 to a1 and the connection would hang.
expect_answers "pod a1 -> its own ClusterIP (hairpin, masqueraded to node-a's bridge)" \
	"a1@198.18.1.1" a1 tcp 198.19.0.11 80 5
expect_answers "pod a1 -> a ClusterIP it backs with b1 (hairpin or remote)" \
	"a1@198.18.1.1 b1@198.18.1.2" a1 tcp 198.19.0.10 80 20

finish
