#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shows kproxy at work on a small cluster made of network namespaces: an
# external client, two nodes running kproxy, four pods running echo servers
# that answer with their name and the address they saw. Sends real requests
# to a ClusterIP, a NodePort, a LoadBalancer IP and a Local-policy Service,
# scales a Service from one endpoint to two, and cleans everything up (also
# on Ctrl-C). Nothing touches the host's own network: see
# test/integration/lib.sh, which builds the same scene for the tests.
#
# Usage: scripts/demo.sh KPROXY   (as root; `make demo` runs it)
# KPROXY_BACKEND=nft|legacy picks the iptables backend (default nft).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
INTEGRATION_DIR=$top/test/integration
# shellcheck source=test/integration/lib.sh
. "$INTEGRATION_DIR/lib.sh"
lib_init "$@"
# lib.sh reports a signal as a failed test; here it only ends the show. Its
# EXIT trap still removes everything the demo made.
trap 'echo; echo "demo interrupted, cleaning up"; exit 130' INT
trap 'echo; echo "demo terminated, cleaning up"; exit 143' TERM
trap 'echo; echo "demo hung up, cleaning up"; exit 129' HUP

# ask FROM PROTO HOST PORT COUNT: sends COUNT requests (a new connection
# each) and prints how many each pod answered and which client address that
# pod saw.
ask() {
	_what="$5 requests"
	[ "$5" -eq 1 ] && _what="1 request"
	echo "    $1 -> $3:$4/$2, $_what:"
	probe "$1" "$2" "$3" "$4" --count "$5" --timeout 1 | sort | uniq -c |
		awk '$2 == "ERROR" { printf "      %2d  no answer (%s)\n", $1, $3; next }
			{ printf "      %2d  answered by %s, which saw the client as %s\n", $1, $2, $3 }'
}

# say LINE...: a blank line, then each LINE as it is.
say() {
	echo
	for _line in "$@"; do
		echo "$_line"
	done
}

# last_sync NODE: kproxy's last "sync: applied" message on NODE.
last_sync() {
	grep 'sync: applied' "$TMP/kproxy-$1.log" | tail -n 1 | sed 's/^.*kproxy\] //'
}

echo "kproxy demo: a small cluster made of network namespaces ($P-*)"
topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2
add_pod node-b b2 198.18.2.3
cat <<EOF

  client  203.0.113.2  outside the cluster; its router sends 198.51.100.0/24 to node-a
  node-a  192.0.2.10   pods a1 198.18.1.2, a2 198.18.1.3
  node-b  192.0.2.11   pods b1 198.18.2.2, b2 198.18.2.3
  Each pod runs an echo server that answers with its name and the client address it saw.

  Service   Type          Address                     Endpoints
  web       ClusterIP     198.19.0.10:80              a1
  shop      NodePort      port 30080 on any node      a2, b1
  front     LoadBalancer  198.51.100.20:80            a1, b2
  checkout  LoadBalancer  port 30090 on any node      b2 (externalTrafficPolicy: Local)
EOF

services() {
	cat <<EOF
svc shop 198.19.0.20 http:tcp:80:8080:30080
eps shop a2 b1
svc front 198.19.0.30 http:tcp:80:8080:30443 lb=198.51.100.20
eps front a1 b2
svc checkout 198.19.0.40 http:tcp:80:8080:30090 lb=198.51.100.40 etp=Local hc=32090
eps checkout b2
EOF
}
{
	echo "svc web 198.19.0.10 http:tcp:80:8080"
	echo "eps web a1"
	services
} | set_state "$STATE"

start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"
say "kproxy runs on both nodes, from the same state file:" \
	"    node-a: $(last_sync node-a)" \
	"    node-b: $(last_sync node-b)"

say "1. ClusterIP. Pod a2 calls web; its one endpoint is a1. Traffic between pods is not" \
	"   masqueraded, so a1 sees a2's own address:"
ask a2 tcp 198.19.0.10 80 4

say "2. NodePort. The client calls port 30080 on each node. Both endpoints answer; under the" \
	"   default Cluster policy the node masquerades, so that replies come back through it:" \
	"   the pod sees one of that node's addresses (192.0.2.x, or 198.18.x.1 on its pod" \
	"   bridge), never the client's:"
ask client tcp 192.0.2.10 30080 8
ask client tcp 192.0.2.11 30080 8

say "3. LoadBalancer. The client calls 198.51.100.20, which its router sends to node-a;" \
	"   node-a balances it over a1 and b2:"
ask client tcp 198.51.100.20 80 8

say "4. externalTrafficPolicy: Local. node-b holds checkout's only endpoint, b2, and hands it" \
	"   the request unmasqueraded: b2 sees the client's real address, 203.0.113.2. node-a has" \
	"   no local endpoint, so it drops external requests rather than forwarding them:"
ask client tcp 192.0.2.11 30090 4
ask client tcp 192.0.2.10 30090 1
echo "   The health-check node port tells the load balancer which nodes to use:"
health() {
	SEEN=$(probe client http "$1" 32090 --timeout 2)
	case $SEEN in
	HTTP*) return 0 ;;
	esac
	return 1
}
for n in node-a:192.0.2.10 node-b:192.0.2.11; do
	wait_until 10 health "${n#*:}"
	echo "    GET http://${n#*:}:32090/ (${n%%:*}) -> $(echo "$SEEN" |
		sed 's/^HTTP \([0-9]*\) .*"localEndpoints": *\([0-9]*\).*/\1, "localEndpoints": \2/')"
done
echo "   Inside the cluster it works from any node: pod a1 calls node-a's port 30090:"
ask a1 tcp 192.0.2.10 30090 1

say "5. Scaling web from one endpoint to two. The state file is replaced (write, then rename)" \
	"   and kproxy applies the change at once:"
before=$(applied_count node-a)
{
	echo "svc web 198.19.0.10 http:tcp:80:8080"
	echo "eps web a1 b1"
	services
} | set_state "$STATE"
wait_applied node-a "$before"
echo "    node-a: $(last_sync node-a)"
wait_until 10 names_are "a1 b1" a2 tcp 198.19.0.10 80 20 ||
	echo "    (web did not reach both endpoints within 10 s)"
ask a2 tcp 198.19.0.10 80 8
echo "   The rules that spread web's connections, in node-a's nat table:"
ipt_save node-a nat | grep -E -- '^-A KPROXY-SVC-.*--comment "?it/web:' |
	sed -e 's/ -m comment --comment "[^"]*"//' -e 's/^/      /'

say "6. Cleaning up. kproxy exits on SIGTERM and leaves its rules in place (a restart never" \
	"   drops traffic); kproxy --cleanup removes every KPROXY- chain; then the namespaces go."
stop_kproxy node-a
stop_kproxy node-b
for n in node-a node-b; do
	printf '    %s: ' "$n"
	in_ns "$n" "$KPROXY" --cleanup --iptables-backend "$BACKEND" 2>&1 | sed 's/^.*kproxy\] //'
done
