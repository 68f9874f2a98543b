#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Loads every golden payload (and the example cluster's) with
# `iptables-restore --test` on both backends inside a private network
# namespace, so every rule kproxy emits is one the real tools accept.
# Needs root; touches nothing outside the namespace it creates.
set -u
kproxy=${1:?usage: restore_check.sh KPROXY}
top=$(cd "$(dirname "$0")/../.." && pwd)
ns=kpgold$$
tmp=$(mktemp -d)
cleanup() {
	ip netns del "$ns" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM
ip netns add "$ns" || exit 1
passed=0
failed=0

check() {
	label=$1
	file=$2
	for backend in nft legacy; do
		if ip netns exec "$ns" "iptables-$backend-restore" --test <"$file" 2>"$tmp/err"; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
			echo "FAIL $label ($backend): $(cat "$tmp/err")"
		fi
	done
}

for rules in "$top"/test/golden/cases/*.rules; do
	[ -s "$rules" ] || continue
	check "golden/$(basename "$rules" .rules)" "$rules"
done
"$kproxy" --dry-run --from-file "$top/scripts/examples/cluster.json" \
	--hostname-override node-a --cluster-cidr 198.18.0.0/16 >"$tmp/example" 2>/dev/null
check "scripts/examples/cluster.json" "$tmp/example"
echo "restore-check: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
