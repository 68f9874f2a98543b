#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One ClusterIP with several ports: each service port reaches its own target
# port, TCP and UDP on the same port number go to their own protocol's
# target, and new connections spread over every endpoint (40 connections
# reach each of three endpoints at least once; the chance that a fair random
# choice misses one is about 1e-7). With zone hints on every endpoint
# (topology-aware routing) each node sends only to its own zone's endpoints;
# with a hint missing, to all of them.
#
# Every endpoint pod runs one echo server per target port, named so the
# answer tells the port: "a1" on 8080 and 5353/tcp, "a1-alt" on 8081,
# "a1-u" on 5354 (UDP is mapped there, TCP is not).
#
# Usage: 020_clusterip_multiport_tcp_udp_and_spread.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
for p in node-a:a1:198.18.1.2 node-a:a2:198.18.1.3 node-b:b1:198.18.2.2; do
	node=${p%%:*}
	pod=${p#*:}
	pod=${pod%%:*}
	add_pod "$node" "$pod" "${p##*:}" 8080 5353
	add_echo "$pod" "$pod-alt" 8081
	add_echo "$pod" "$pod-u" 5354
done
add_pod node-b b2 198.18.2.3

set_state "$STATE" <<EOF
svc multi 198.19.0.20 http:tcp:80:8080 alt:tcp:8000:8081 dns:tcp:53:5353 dnsu:udp:53:5354
eps multi a1 a2 b1
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"

expect_names "port 80/tcp -> target 8080 on every endpoint" \
	"a1 a2 b1" b2 tcp 198.19.0.20 80 40
expect_names "port 8000/tcp -> target 8081 on every endpoint" \
	"a1-alt a2-alt b1-alt" b2 tcp 198.19.0.20 8000 40
expect_names "port 53/tcp -> target 5353/tcp on every endpoint" \
	"a1 a2 b1" b2 tcp 198.19.0.20 53 40
expect_names "port 53/udp -> target 5354/udp on every endpoint" \
	"a1-u a2-u b1-u" b2 udp 198.19.0.20 53 40
expect_names "port 53/udp from node-a itself spreads too" \
	"a1-u a2-u b1-u" node-a udp 198.19.0.20 53 40
expect_sources "UDP from a pod keeps the pod's address" \
	"198.18.2.3" b2 udp 198.19.0.20 53 10
# 8081 is a target port, not a service port: nothing may answer there.
expect_names "a port the service does not have gets no answer" \
	"ERROR-timeout" b2 tcp 198.19.0.20 8081 1 1

# Topology-aware routing: every endpoint has a zone hint, so each node sends
# to the endpoints of its own zone (node-a is in zone-a, node-b in zone-b).
set_state "$STATE" <<EOF
svc multi 198.19.0.20 http:tcp:80:8080 alt:tcp:8000:8081 dns:tcp:53:5353 dnsu:udp:53:5354
eps multi a1@zone-a a2@zone-a b1@zone-b
EOF
eventually 10 "zone hints: node-b's pod reaches zone-b's endpoint only" \
	names_are "b1" b2 tcp 198.19.0.20 80 20
eventually 10 "zone hints: node-a's pod reaches zone-a's endpoints only" \
	names_are "a1 a2" a2 tcp 198.19.0.20 80 20
# One endpoint without a hint: the hints are ignored, all three are used.
set_state "$STATE" <<EOF
svc multi 198.19.0.20 http:tcp:80:8080 alt:tcp:8000:8081 dns:tcp:53:5353 dnsu:udp:53:5354
eps multi a1@zone-a a2 b1@zone-b
EOF
eventually 10 "zone hints on some endpoints only: all are used" \
	names_are "a1 a2 b1" b2 tcp 198.19.0.20 80 40

finish
