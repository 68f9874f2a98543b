#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Runs every kproxy test suite and prints one closing line, "N passed, N failed".
# Usage: test/run.sh BUILD_DIR. KPROXY_ONLY=unit|golden|badinput|deploy|restore|fuzz|integration|soak runs one group;
# KPROXY_BACKENDS="nft" (or "legacy") limits the integration runs to one backend.
# Each suite is an executable or script; it counts as passed when it exits 0.
# The groups that need root (restore, integration, soak) print "SKIP GROUP:
# needs root" for any other user and count neither as passed nor as failed.
set -u
build=${1:-build}
only=${KPROXY_ONLY:-}
passed=0
failed=0
failures=""
skipped=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT

run() {
	name=$1
	shift
	if "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		grep -E '^\[  PASSED  \]|^ok|passed' "$log" | tail -n 1 | sed "s|^|  $name: |"
		echo "PASS $name"
	else
		failed=$((failed + 1))
		failures="$failures $name"
		cat "$log"
		echo "FAIL $name"
	fi
}

want() {
	[ -z "$only" ] || [ "$only" = "$1" ]
}

# as_root GROUP: true as root; otherwise says that GROUP is left out, so that
# nobody takes its absence for a pass (it counts neither way).
as_root() {
	[ "$(id -u)" -eq 0 ] && return 0
	echo "SKIP $1: needs root"
	skipped="$skipped $1"
	return 1
}

if want unit; then
	for t in $(find "$build/san/test/unit" -type f -name '*_test' 2>/dev/null | sort); do
		# A cmocka skip() counts as a failure: every test of a suite must run.
		# shellcheck disable=SC2016 # $1 and $out are the inner shell's
		run "unit/${t#"$build"/san/test/unit/}" sh -c 'out=$("$1" 2>&1); rc=$?
			printf "%s\n" "$out"
			[ "$rc" -eq 0 ] && ! printf "%s\n" "$out" | grep -q "^\[  SKIPPED \]"' sh "$t"
	done
fi

if want golden; then
	run golden sh test/golden/run.sh "$build/san/kproxy"
fi

# Hostile and malformed objects and flags, one row each (test/badinput/cases.py).
if want badinput; then
	run badinput python3 test/badinput/run.py "$build/san/kproxy"
fi

if want deploy; then
	run deploy-check python3 test/deploy_check.py --kproxy "$build/san/kproxy"
fi

# Every fuzz target replays its committed corpus and crash reproducers once;
# needs clang with libFuzzer (scripts/deps.sh installs it).
if want fuzz && command -v clang >/dev/null 2>&1; then
	run fuzz-regress make --no-print-directory fuzz-regress BUILD="$build"
fi

if want restore && [ -f test/golden/restore_check.sh ] && as_root restore; then
	run restore-check sh test/golden/restore_check.sh "$build/san/kproxy"
fi

# Every integration scenario runs once per iptables backend
# (KPROXY_BACKENDS="nft legacy" unless told otherwise).
if want integration && [ -d test/integration ] && as_root integration; then
	for t in $(find test/integration -maxdepth 1 -name '[0-9]*.sh' | sort); do
		for backend in ${KPROXY_BACKENDS:-nft legacy}; do
			run "integration/$(basename "$t" .sh)[$backend]" \
				env KPROXY_BACKEND="$backend" sh "$t" "$build/san/kproxy"
		done
	done
fi

# The soak's 3-minute variant (make soak runs 30): the release build, as in
# production (built here when missing: `make test` builds only the sanitized
# one), beside the ASan build, which is the leak checker.
if want soak && [ -d test/soak ] && as_root soak; then
	# shellcheck disable=SC2016 # $1 is the inner shell's
	run soak sh -c 'make --no-print-directory -s BUILD="$1" "$1/kproxy" &&
		sh test/soak/soak.sh "$1/kproxy" 3' sh "$build"
fi

[ -z "$failures" ] || echo "failed:$failures"
[ -z "$skipped" ] || echo "skipped (needs root):$skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
