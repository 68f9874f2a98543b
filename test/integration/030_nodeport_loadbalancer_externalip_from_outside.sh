#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Traffic from outside the cluster: the client (203.0.113.2) reaches a
# NodePort on either node (TCP and UDP), a LoadBalancer ingress IP and an
# external IP (both routed by the client to node-a), and every one of them
# spreads over the endpoints on both nodes. Pods reach the same external
# destinations from inside the cluster. With --nodeport-addresses, a node
# serves NodePorts only on the addresses inside those CIDRs; with
# --iptables-localhost-nodeports, also on 127.0.0.1 for its own processes;
# kproxy then sets net.ipv4.conf.all.route_localnet to 1 and logs it, and
# leaves it at 0 without the flag.
#
# Usage: 030_nodeport_loadbalancer_externalip_from_outside.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-b b1 198.18.2.2
add_pod node-b b2 198.18.2.3

set_state "$STATE" <<EOF
svc np 198.19.0.30 http:tcp:80:8080:30080 dns:udp:53:5353:30053
eps np a1 b1
svc lb 198.19.0.31 http:tcp:80:8080:30081 lb=198.51.100.31
eps lb a1 b1
svc ext 198.19.0.32 http:tcp:8000:8080 extip=198.51.100.32
eps ext a1 b1
EOF
# node-a also serves NodePorts on 127.0.0.1 (off by default); node-b serves
# them on its switch address only. route_localnet starts at 0 in both (a new
# namespace may inherit the host's value).
route_localnet() {
	in_ns "$1" sysctl -n net.ipv4.conf.all.route_localnet
}
for node in node-a node-b; do
	in_ns "$node" sysctl -q -w net.ipv4.conf.all.route_localnet=0 ||
		fail "cannot reset route_localnet in $node"
done
start_kproxy node-a "$STATE" --iptables-localhost-nodeports=true
start_kproxy node-b "$STATE" --nodeport-addresses 192.0.2.0/24
if [ "$(route_localnet node-a)" = 1 ] &&
	grep -q 'set net.ipv4.conf.all.route_localnet=1' "$TMP/kproxy-node-a.log"; then
	pass "node-a (--iptables-localhost-nodeports): route_localnet is 1 and the log says so: $(grep -o 'set net.ipv4.conf.all.route_localnet=1.*' "$TMP/kproxy-node-a.log" | head -n 1)"
else
	check_failed "node-a (--iptables-localhost-nodeports): route_localnet is $(route_localnet node-a), log: '$(grep route_localnet "$TMP/kproxy-node-a.log" | head -n 1)'"
fi
if [ "$(route_localnet node-b)" = 0 ] && ! grep -q route_localnet "$TMP/kproxy-node-b.log"; then
	pass "node-b (flag off): route_localnet stays 0, and the log never mentions it"
else
	check_failed "node-b (flag off): route_localnet is $(route_localnet node-b), log: '$(grep route_localnet "$TMP/kproxy-node-b.log" | head -n 1)'"
fi

expect_names "client -> NodePort on node-a (tcp)" "a1 b1" client tcp 192.0.2.10 30080 20
expect_names "client -> NodePort on node-b (tcp)" "a1 b1" client tcp 192.0.2.11 30080 20
expect_names "client -> NodePort on node-a (udp)" "a1 b1" client udp 192.0.2.10 30053 20
expect_names "client -> NodePort on node-b (udp)" "a1 b1" client udp 192.0.2.11 30053 20
expect_names "client -> NodePort of the LoadBalancer service" "a1 b1" \
	client tcp 192.0.2.11 30081 20
expect_names "client -> LoadBalancer ingress IP 198.51.100.31:80" "a1 b1" \
	client tcp 198.51.100.31 80 20
expect_names "client -> external IP 198.51.100.32:8000" "a1 b1" \
	client tcp 198.51.100.32 8000 20

# With the Cluster policy, traffic to an external destination is
# masqueraded whoever sends it, pods included.
expect_answers "pod b2 -> NodePort of node-a (masqueraded by node-a)" \
	"a1@198.18.1.1 b1@192.0.2.10" b2 tcp 192.0.2.10 30080 20
expect_names "pod b2 -> LoadBalancer IP" "a1 b1" b2 tcp 198.51.100.31 80 20
expect_names "pod b2 -> external IP" "a1 b1" b2 tcp 198.51.100.32 8000 20
expect_names "node-b itself -> its own NodePort" "a1 b1" node-b tcp 192.0.2.11 30080 20

# --nodeport-addresses: node-a serves NodePorts on every local address, its
# pod bridge's 198.18.1.1 included; node-b only on 192.0.2.11, so its
# 198.18.2.1 is an address where nothing listens on 30080.
expect_names "NodePort on node-a's pod bridge address (no --nodeport-addresses)" \
	"a1 b1" b2 tcp 198.18.1.1 30080 20
expect_names "NodePort on node-b's pod bridge address, outside --nodeport-addresses" \
	"ERROR-refused" b2 tcp 198.18.2.1 30080 1 1
expect_names "node-a itself -> 127.0.0.1:NodePort (--iptables-localhost-nodeports)" \
	"a1 b1" node-a tcp 127.0.0.1 30080 20
expect_names "node-a itself -> 127.0.0.1:NodePort over UDP" \
	"a1 b1" node-a udp 127.0.0.1 30053 20
expect_names "node-b itself -> 127.0.0.1:NodePort is not served (flag off)" \
	"ERROR-refused" node-b tcp 127.0.0.1 30080 1 1

finish
