#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# --iptables-backend auto follows the node, as kubelet's iptables wrapper
# does, and says why; --cleanup with auto removes kproxy's rules from both
# backends and nothing else.
#
#  1. node-a holds somebody else's rules in the $KPROXY_BACKEND backend only:
#     kproxy picks that backend, logs the rule counts it went by, its chains
#     land there and nowhere else, and the NodePort serves.
#  2. node-b holds more rules in legacy than in nft, but kubelet's chain is
#     in nft's mangle table (KUBE-IPTABLES-HINT on the nft run,
#     KUBE-KUBELET-CANARY on the legacy run): kproxy picks nft and says it
#     is for kubelet's chain; its chains are in nft only, and the NodePort
#     serves.
#  3. node-b then runs kproxy once with --iptables-backend legacy (a backend
#     switch), so both backends hold kproxy's rules. `kproxy --cleanup
#     --iptables-backend auto` removes them from both: each backend's
#     iptables-save is what it was before kproxy ran (comments, counters
#     and tables that hold nothing at all left out: iptables-restore cannot
#     delete a table, and an empty one filters nothing), no KPROXY- chain is
#     left, and a second --cleanup changes nothing. The same on node-a.
#
# Usage: 200_backend_auto_detection_and_cleanup_of_both.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"

if [ "$BACKEND" = nft ]; then
	OTHER=legacy
	KUBELET_CHAIN=KUBE-IPTABLES-HINT
else
	OTHER=nft
	KUBELET_CHAIN=KUBE-KUBELET-CANARY
fi

topology_up
add_pod node-a a1 198.18.1.2
add_pod node-b b1 198.18.2.2

# somebody_elses_rules NODE B: a few rules in both tables of backend B.
somebody_elses_rules() {
	in_ns "$1" "iptables-$2-restore" <<EOF || fail "cannot load the foreign rules in $2 on $1"
*filter
:OTHER-FW - [0:0]
-A INPUT -p tcp --dport 22 -j ACCEPT
-A FORWARD -j OTHER-FW
-A OTHER-FW -s 203.0.113.99/32 -j DROP
COMMIT
*nat
:OTHER-NAT - [0:0]
-A PREROUTING -j OTHER-NAT
-A OTHER-NAT -d 10.99.0.1/32 -p tcp -j DNAT --to-destination 10.99.0.2
COMMIT
EOF
}

# save_of NODE B: backend B's iptables-save on NODE without comments and
# counters, and without tables that hold no rule, no chain of their own and
# only ACCEPT policies. (stderr: iptables-nft-save's warning that legacy
# tables exist too.)
save_of() {
	in_ns "$1" "iptables-$2-save" 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]/[0:0]/g' |
		awk '
			/^\*/ { table = $0; body = ""; keep = 0; next }
			/^COMMIT/ { if (keep) printf "%s\n%s%s\n", table, body, $0; next }
			{ body = body $0 "\n" }
			/^-/ { keep = 1 }
			/^:/ && !($1 ~ /^:(PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING)$/ && $2 == "ACCEPT") { keep = 1 }'
}

# kproxy_chains NODE B: how many KPROXY- chains backend B holds on NODE.
kproxy_chains() {
	in_ns "$1" "iptables-$2-save" 2>/dev/null | grep -c '^:KPROXY-'
}

# logged NODE ERE: the last line of NODE's kproxy log that matches ERE.
logged() {
	grep -E -- "$2" "$TMP/kproxy-$1.log" | tail -n 1 | sed 's/^.*kproxy\] //'
}

# chains_only_in DESC NODE B: one check: kproxy's chains are in backend B on
# NODE, and none in the other.
chains_only_in() {
	_in=$(kproxy_chains "$2" "$3")
	if [ "$3" = nft ]; then _out_b=legacy; else _out_b=nft; fi
	_out=$(kproxy_chains "$2" "$_out_b")
	if [ "$_in" -gt 0 ] && [ "$_out" -eq 0 ]; then
		pass "$1: kproxy's chains are in $3 ($_in) and not in $_out_b"
	else
		check_failed "$1: kproxy's chains: $_in in $3, $_out in $_out_b"
	fi
}

set_state "$STATE" <<EOF
svc web 198.19.0.200 http:tcp:80:8080:30200
eps web a1 b1
EOF

# ---- 1. rules in one backend only --------------------------------------------

somebody_elses_rules node-a "$BACKEND"
for b in nft legacy; do
	save_of node-a $b >"$TMP/before.node-a.$b"
done
BACKEND_FLAG=auto
start_kproxy node-a "$STATE"
why=$(logged node-a 'using the .* backend')
case $why in
"using the $BACKEND backend ($BACKEND holds "[0-9]*" rules, $OTHER 0)")
	pass "1. only $BACKEND holds rules: kproxy says: $why"
	;;
*)
	check_failed "1. only $BACKEND holds rules: kproxy says: '$why'"
	;;
esac
chains_only_in "1. only $BACKEND holds rules" node-a "$BACKEND"
expect_names "1. only $BACKEND holds rules: client -> node-a's NodePort" "a1 b1" \
	client tcp 192.0.2.10 30200 10

# ---- 2. kubelet's chain in nft's mangle table ---------------------------------

somebody_elses_rules node-b legacy
in_ns node-b iptables-nft -t mangle -N "$KUBELET_CHAIN" || fail "cannot make $KUBELET_CHAIN"
for b in nft legacy; do
	save_of node-b $b >"$TMP/before.node-b.$b"
done
start_kproxy node-b "$STATE"
why=$(logged node-b 'using the .* backend')
if [ "$why" = "using the nft backend (kubelet's $KUBELET_CHAIN chain is in the nft mangle table)" ]; then
	pass "2. legacy holds more rules, $KUBELET_CHAIN in nft's mangle: kproxy says: $why"
else
	check_failed "2. legacy holds more rules, $KUBELET_CHAIN in nft's mangle: kproxy says: '$why'"
fi
chains_only_in "2. $KUBELET_CHAIN in nft's mangle" node-b nft
expect_names "2. $KUBELET_CHAIN in nft's mangle: client -> node-b's NodePort" "a1 b1" \
	client tcp 192.0.2.11 30200 10

# ---- 3. --cleanup with auto, rules in both backends ---------------------------

stop_kproxy node-b || check_failed "kproxy on node-b exited $_rc on SIGTERM"
BACKEND_FLAG=legacy
start_kproxy node-b "$STATE"
BACKEND_FLAG=auto
stop_kproxy node-b || check_failed "kproxy on node-b (legacy) exited $_rc on SIGTERM"
n_nft=$(kproxy_chains node-b nft)
n_legacy=$(kproxy_chains node-b legacy)
if [ "$n_nft" -gt 0 ] && [ "$n_legacy" -gt 0 ]; then
	pass "3. after a run on each backend node-b holds kproxy's chains in both ($n_nft in nft, $n_legacy in legacy)"
else
	check_failed "3. want kproxy's chains in both backends on node-b: $n_nft in nft, $n_legacy in legacy"
fi

# cleanup NODE DESC: one --cleanup with auto on NODE, then checks that each
# backend is as before kproxy ran.
cleanup() {
	echo "==== $(date +%T) --cleanup --iptables-backend auto" >>"$TMP/kproxy-$1.log"
	in_ns "$1" "$KPROXY" --cleanup --iptables-backend auto >>"$TMP/kproxy-$1.log" 2>&1
	_rc=$?
	if [ "$_rc" -eq 0 ]; then
		pass "$2: exits 0"
	else
		check_failed "$2: exit $_rc"
	fi
	for _b in nft legacy; do
		save_of "$1" $_b >"$TMP/after.$1.$_b"
		if cmp -s "$TMP/before.$1.$_b" "$TMP/after.$1.$_b" &&
			[ "$(kproxy_chains "$1" $_b)" -eq 0 ]; then
			pass "$2: $_b is as before kproxy ran ($(wc -l <"$TMP/after.$1.$_b") lines), no KPROXY- chain"
		else
			check_failed "$2: $_b differs from before kproxy ran:"
			diff -u "$TMP/before.$1.$_b" "$TMP/after.$1.$_b" | head -n 40
		fi
	done
}

cleanup node-b "3. node-b: --cleanup with auto"
for b in nft legacy; do
	case $(logged node-b "cleanup: removed .* from the $b backend") in
	*"nat chains and "*) pass "3. node-b: --cleanup says: $(logged node-b "cleanup: removed .* from the $b backend")" ;;
	*) check_failed "3. node-b: --cleanup did not say what it removed from $b" ;;
	esac
done
cleanup node-b "3. node-b: a second --cleanup"
expect_names "3. node-b after --cleanup: its NodePort is closed" "ERROR-refused" \
	client tcp 192.0.2.11 30200 1 1

stop_kproxy node-a || check_failed "kproxy on node-a exited $_rc on SIGTERM"
cleanup node-a "3. node-a: --cleanup with auto"

# 4. On a host that never used legacy iptables, --cleanup with auto reads
# legacy without creating its tables (iptables-legacy-save -t nat would).
ns_add bare
if in_ns bare "$KPROXY" --cleanup --iptables-backend auto >>"$TMP/kproxy-bare.log" 2>&1 &&
	[ -z "$(in_ns bare cat /proc/net/ip_tables_names)" ]; then
	pass "4. --cleanup on a namespace without legacy tables exits 0 and creates none"
else
	check_failed "4. --cleanup created legacy tables or failed: $(in_ns bare cat /proc/net/ip_tables_names | tr '\n' ' ')"
fi

finish
