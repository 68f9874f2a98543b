#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# loadBalancerSourceRanges: a client inside a listed range reaches the
# LoadBalancer IP, a client outside every range is dropped (203.0.113.3 when
# only 203.0.113.2/32 is listed). A service without usable endpoints (none at
# all, or only a not-ready one) rejects new connections at once, on its
# ClusterIP and its NodePort, TCP and UDP: the caller gets "refused" within
# a second instead of waiting for a timeout.
#
# Usage: 060_source_ranges_and_reject_without_endpoints.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-b b1 198.18.2.2
add_pod node-b b2 198.18.2.3

set_state "$STATE" <<EOF
svc wide 198.19.0.60 http:tcp:80:8080:30060 lb=198.51.100.60 ranges=203.0.113.0/24
eps wide a1 b1
svc narrow 198.19.0.61 http:tcp:80:8080:30061 lb=198.51.100.61 ranges=203.0.113.2/32
eps narrow a1 b1
svc empty 198.19.0.62 http:tcp:80:8080:30062 dns:udp:53:5353:30062
svc unready 198.19.0.63 http:tcp:80:8080
eps unready b2!
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"

expect_names "source range 203.0.113.0/24: client 203.0.113.2 allowed" \
	"a1 b1" client tcp 198.51.100.60 80 20
expect_names "source range 203.0.113.0/24: client2 203.0.113.3 allowed" \
	"a1 b1" client2 tcp 198.51.100.60 80 20
expect_names "source range 203.0.113.2/32: client 203.0.113.2 allowed" \
	"a1 b1" client tcp 198.51.100.61 80 20
before=$(rule_packets node-a filter 'KPROXY-FIREWALL .*-j DROP')
expect_names "source range 203.0.113.2/32: client2 203.0.113.3 dropped" \
	"ERROR-timeout" client2 tcp 198.51.100.61 80 2 1
after=$(rule_packets node-a filter 'KPROXY-FIREWALL .*-j DROP')
if [ "$after" -ge $((before + 2)) ]; then
	pass "node-a's load balancer firewall DROP counted client2's packets ($before -> $after)"
else
	check_failed "node-a's load balancer firewall DROP saw nothing ($before -> $after)"
fi
expect_names "source ranges do not apply to the ClusterIP (pod b2)" \
	"a1 b1" b2 tcp 198.19.0.61 80 20

# The timeout is 1 s: a reject answers in milliseconds, a drop never does.
# Each REJECT answers with an ICMP error, and the kernel sends a host at most
# 6 of those at once (then 1 a second), so no source asks more than 6 times.
expect_names "no endpoints: pod -> ClusterIP (tcp) is refused" \
	"ERROR-refused" b2 tcp 198.19.0.62 80 2 1
expect_names "no endpoints: pod -> ClusterIP (udp) is refused" \
	"ERROR-refused" b2 udp 198.19.0.62 53 2 1
expect_names "no endpoints: node-a itself -> ClusterIP is refused" \
	"ERROR-refused" node-a tcp 198.19.0.62 80 2 1
expect_names "no endpoints: client -> NodePort on node-a is refused" \
	"ERROR-refused" client tcp 192.0.2.10 30062 2 1
expect_names "no endpoints: client -> NodePort on node-b (udp) is refused" \
	"ERROR-refused" client udp 192.0.2.11 30062 2 1
expect_names "only a not-ready endpoint: pod -> ClusterIP is refused" \
	"ERROR-refused" a1 tcp 198.19.0.63 80 2 1

finish
