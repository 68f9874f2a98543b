#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Watch latency: the time from an EndpointSlice change at the API server to
# the new endpoint's rule being in the kernel, for 100 changes made one at a
# time (see watch_latency.py for what exactly is measured). kproxy runs with
# --iptables-min-sync-period 0 against test/fakeapi.py, both in a private
# network namespace that is removed on exit, success or not.
#
# Usage: test/bench/watch_latency.sh KPROXY
#	KPROXY_BACKEND=nft|legacy (default nft), CHANGES (100), SERVICES (100
#	background Services), ENDPOINTS (2 per background Service), KEEP_LOG=FILE (where to
#	copy kproxy's log before the namespace goes).
# Measure with the release build (build/kproxy): the sanitized one is slower.
set -u
KPROXY=${1:-}
if [ -z "$KPROXY" ]; then
	echo "usage: $0 KPROXY" >&2
	exit 2
fi
case $KPROXY in
/*) ;;
*) KPROXY=$(pwd)/$KPROXY ;;
esac
BACKEND=${KPROXY_BACKEND:-nft}
case $BACKEND in
nft | legacy) ;;
*)
	echo "watch_latency: KPROXY_BACKEND must be nft or legacy" >&2
	exit 2
	;;
esac
HERE=$(cd "$(dirname "$0")" && pwd)
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ "$(id -u)" -ne 0 ]; then
	echo "watch_latency: needs root (network namespaces, iptables)" >&2
	exit 2
fi

NS=kpbench$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kproxy-bench.XXXXXX") || exit 1

cleanup() {
	_status=$?
	trap - EXIT INT TERM HUP
	for _f in "$TMP"/*.pid; do
		[ -f "$_f" ] && kill "$(cat "$_f")" 2>/dev/null
	done
	# Whatever is left in the namespace (an iptables-restore child...).
	for _pid in $(ip netns pids "$NS" 2>/dev/null); do
		kill -KILL "$_pid" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	[ "$_status" -ne 0 ] && [ -f "$TMP/kproxy.log" ] && tail -n 30 "$TMP/kproxy.log"
	[ -n "${KEEP_LOG:-}" ] && cp "$TMP/kproxy.log" "$KEEP_LOG"
	rm -rf "$TMP"
	exit "$_status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# wait_for DEADLINE_SECONDS CMD...: polls CMD every 0.1 s.
wait_for() {
	_n=$(($1 * 10))
	shift
	while ! "$@" >/dev/null 2>&1; do
		_n=$((_n - 1))
		[ "$_n" -le 0 ] && return 1
		sleep 0.1
	done
}

ip netns add "$NS" || exit 1
ip -n "$NS" link set lo up

ip netns exec "$NS" "$PY" "$HERE/../fakeapi.py" --port 0 >"$TMP/fakeapi.out" 2>&1 &
echo $! >"$TMP/fakeapi.pid"
wait_for 10 grep -q '^PORT ' "$TMP/fakeapi.out" || {
	echo "watch_latency: the fake API server did not start" >&2
	exit 1
}
API=http://127.0.0.1:$(awk '/^PORT / { print $2 }' "$TMP/fakeapi.out")

ip netns exec "$NS" "$KPROXY" --master "$API" --hostname-override node-a \
	--cluster-cidr 198.18.0.0/16 --iptables-backend "$BACKEND" \
	--iptables-min-sync-period 0 >"$TMP/kproxy.log" 2>&1 &
echo $! >"$TMP/kproxy.pid"
wait_for 20 grep -q 'sync: applied' "$TMP/kproxy.log" || {
	echo "watch_latency: kproxy did not sync" >&2
	exit 1
}

echo "watch_latency: $KPROXY, $BACKEND backend, ${SERVICES:-100}x${ENDPOINTS:-2} background services," \
	"${CHANGES:-100} changes, --iptables-min-sync-period 0"
ip netns exec "$NS" "$PY" "$HERE/watch_latency.py" --api "$API" \
	--metrics http://127.0.0.1:10249 --save "iptables-$BACKEND-save" \
	--changes "${CHANGES:-100}" --services "${SERVICES:-100}" --endpoints "${ENDPOINTS:-2}"
