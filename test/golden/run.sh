#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Golden tests: each case is cases/NAME.json (a cluster state List) with the
# flags in cases/NAME.args (one line, default "--hostname-override node-a").
# `kproxy --dry-run` must print cases/NAME.rules byte for byte on stdout and
# cases/NAME.err on stderr (log time stamps removed), ending in "exit N".
# Usage: run.sh [--update] KPROXY    (--update rewrites the expected files)
set -u
update=0
if [ "${1:-}" = "--update" ]; then
	update=1
	shift
fi
kproxy=$(realpath "${1:?usage: run.sh [--update] KPROXY}")
# Messages name the state file by its path from the top of the tree.
cd "$(dirname "$0")/../.." || exit 1
cases=test/golden/cases
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

for json in "$cases"/*.json; do
	name=$(basename "$json" .json)
	args="--hostname-override node-a"
	[ -f "$cases/$name.args" ] && args=$(cat "$cases/$name.args")
	eval "set -- $args"
	"$kproxy" --dry-run --from-file "$json" "$@" >"$tmp/out" 2>"$tmp/raw"
	rc=$?
	sed -E 's/^([EWID])[0-9]{4} [0-9:.]+ kproxy\] /\1 /' "$tmp/raw" >"$tmp/err"
	echo "exit $rc" >>"$tmp/err"
	if [ "$update" -eq 1 ]; then
		cp "$tmp/out" "$cases/$name.rules"
		cp "$tmp/err" "$cases/$name.err"
		continue
	fi
	if cmp -s "$tmp/out" "$cases/$name.rules" && cmp -s "$tmp/err" "$cases/$name.err"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		echo "FAIL golden/$name"
		diff -u "$cases/$name.rules" "$tmp/out" | head -40
		diff -u "$cases/$name.err" "$tmp/err" | head -20
	fi
	# The same input must give the same bytes twice.
	"$kproxy" --dry-run --from-file "$json" "$@" >"$tmp/again" 2>/dev/null
	if ! cmp -s "$tmp/out" "$tmp/again"; then
		failed=$((failed + 1))
		echo "FAIL golden/$name: second run printed different bytes"
	fi
done
[ "$update" -eq 1 ] && exit 0
echo "golden: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
