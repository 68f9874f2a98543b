#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Somebody else flushes kproxy's rules away (a firewall script running
# `iptables -t nat -F PREROUTING`, or flushing and deleting every chain of a
# table): kproxy notices within a sync period (its canary chains and its
# jumps from the built-in chains are checked) and writes everything again,
# so services come back without anyone touching the state. The firewall
# script puts its own rules back after each flush, appended to the built-in
# chains as before kproxy started; kproxy's jumps go back to the top, ahead
# of them, in every built-in chain kproxy uses.
#
# Usage: 100_rules_flushed_by_others_are_restored.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2

ipt() {
	in_ns node-a "iptables-$BACKEND" -w 5 "$@"
}
# other_rules TABLE: the firewall script's own rules of TABLE, appended to
# each built-in chain kproxy uses (its chains made first when missing).
other_rules() {
	case $1 in
	filter)
		ipt -t filter -N OTHER-FW 2>/dev/null
		ipt -t filter -A INPUT -p tcp --dport 22 -j ACCEPT
		ipt -t filter -A FORWARD -j OTHER-FW
		ipt -t filter -A OUTPUT -p udp --dport 53 -j ACCEPT
		;;
	nat)
		ipt -t nat -N OTHER-NAT 2>/dev/null
		ipt -t nat -A PREROUTING -j OTHER-NAT
		ipt -t nat -A OUTPUT -d 10.99.0.1/32 -j OTHER-NAT
		ipt -t nat -A POSTROUTING -s 10.99.0.0/16 -j MASQUERADE
		;;
	esac
}
other_rules filter || fail "cannot add the firewall's filter rules"
other_rules nat || fail "cannot add the firewall's nat rules"

set_state "$STATE" <<EOF
svc web 198.19.0.100 http:tcp:80:8080:30100
eps web a1 b1
svc empty 198.19.0.101 http:tcp:80:8080
EOF
start_kproxy node-a "$STATE"
start_kproxy node-b "$STATE"
expect_names "before: client -> node-a NodePort" "a1 b1" client tcp 192.0.2.10 30100 20
expect_names "before: a service without endpoints is refused" \
	"ERROR-refused" a2 tcp 198.19.0.101 80 1 1
eventually 1 "before: kproxy's jumps come before the firewall's rules" jumps_first node-a

warnings() {
	grep -c '^W[0-9].*full sync' "$TMP/kproxy-node-a.log"
}
# shellcheck disable=SC2317 # called through wait_until
warnings_after() {
	[ "$(warnings)" -gt "$1" ]
}
# jumps_once: kproxy's jumps from the built-in chains each exist exactly once.
jumps_once() {
	SEEN=$(ipt_save node-a | grep -E -- '^-A (INPUT|FORWARD|OUTPUT|PREROUTING|POSTROUTING) .*-j KPROXY-' |
		sort | uniq -d)
	[ -z "$SEEN" ]
}

# 1. nat PREROUTING flushed: the jump to KPROXY-SERVICES is gone; the
# firewall's own rule comes back at once.
w=$(warnings)
ipt -t nat -F PREROUTING
ipt -t nat -A PREROUTING -j OTHER-NAT
eventually 10 "nat PREROUTING flushed: the client reaches node-a's NodePort again" \
	names_are "a1 b1" client tcp 192.0.2.10 30100 10
if wait_until 5 warnings_after "$w"; then
	pass "nat PREROUTING flushed: kproxy says why it resyncs: $(grep '^W[0-9].*full sync' "$TMP/kproxy-node-a.log" | tail -n 1 | sed 's/^.*kproxy\] //')"
else
	check_failed "nat PREROUTING flushed: kproxy logged no warning"
fi
eventually 10 "nat PREROUTING flushed: kproxy's jump is back at the top" jumps_first node-a

# 2. Every chain of the nat table flushed and deleted.
w=$(warnings)
ipt -t nat -F
ipt -t nat -X
other_rules nat
eventually 10 "nat table emptied: the client reaches node-a's NodePort again" \
	names_are "a1 b1" client tcp 192.0.2.10 30100 10
eventually 10 "nat table emptied: pod a2 reaches the ClusterIP again" \
	names_are "a1 b1" a2 tcp 198.19.0.100 80 10
if wait_until 5 warnings_after "$w"; then
	pass "nat table emptied: kproxy noticed: $(grep '^W[0-9].*full sync' "$TMP/kproxy-node-a.log" | tail -n 1 | sed 's/^.*kproxy\] //')"
else
	check_failed "nat table emptied: kproxy logged no warning"
fi
eventually 10 "nat table emptied: kproxy's jumps are back at the top" jumps_first node-a

# 3. Every chain of the filter table flushed and deleted: the REJECT for the
# service without endpoints goes with it until kproxy puts it back.
w=$(warnings)
ipt -t filter -F
ipt -t filter -X
other_rules filter
eventually 10 "filter table emptied: the service without endpoints is refused again" \
	names_are "ERROR-refused" a2 tcp 198.19.0.101 80 1 1
if wait_until 5 warnings_after "$w"; then
	pass "filter table emptied: kproxy noticed: $(grep '^W[0-9].*full sync' "$TMP/kproxy-node-a.log" | tail -n 1 | sed 's/^.*kproxy\] //')"
else
	check_failed "filter table emptied: kproxy logged no warning"
fi
eventually 10 "filter table emptied: kproxy's jumps are back at the top" jumps_first node-a

if jumps_once; then
	pass "after the repairs each jump into KPROXY- chains exists once"
else
	check_failed "after the repairs, duplicated jumps: $SEEN"
fi
expect_names "after the repairs: client -> node-a NodePort" "a1 b1" client tcp 192.0.2.10 30100 20

finish
