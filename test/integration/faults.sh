# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=sh
#
# Helpers of the scenarios that compare kernels or break things (110 and
# 150-210) and of test/soak/soak.sh, on top of lib.sh. Sourced after lib.sh
# and lib_init, not run (test/run.sh runs only test/integration/[0-9]*.sh):
#
#	. "$INTEGRATION_DIR/faults.sh"
#
# Comparing rules: norm, kernel_norm, ref_up, converge, snapshot,
# kernel_unchanged, rules_kept.
# Traffic: loop_start, loop_stop_all, loop_report.
# Endpoints: http_status, metric, holds.

# norm: iptables-save output in a canonical order (tables and chains sorted,
# rules in their order within each chain), without counters and comments:
# chains created by later syncs are listed later, which means nothing.
norm() {
	sed -e '/^#/d' -e 's/\[[0-9]*:[0-9]*\]$/[0:0]/' |
		awk -v OFS='\t' '
			/^\*/ { t = $1; next }
			/^:/ { print t, 0, $1, 0, $0; next }
			/^-A / { print t, 1, $2, sprintf("%08d", NR), $0; next }' |
		sort -t "$(printf '\t')" -k1,1 -k2,2 -k3,3 -k4,4 | cut -f 5-
}

# kernel_norm NODE: NODE's rules (every table the backend holds), normalized.
kernel_norm() {
	ipt_save "$1" | norm
}

# RECONNECT_WAIT: seconds to wait for kproxy to follow the fake API server
# again after it failed, restarted or cut kproxy's streams. Each watcher
# retries after client-go's backoff (full jitter, its ceiling doubling from
# 0.8 s with each failure in a row up to 30 s, forgotten after two healthy
# minutes), so after a run of failures one attempt may come 30 s later;
# twice that, and some slack, is never the reason a check fails.
# shellcheck disable=SC2034 # used by the scenarios that source this file
RECONNECT_WAIT=70

# api_node_up: for scenarios that follow the fake API server: node-a alone,
# its address 192.0.2.10 on a veth pair whose both ends stay in the
# namespace (nothing sends traffic), and the namespace "ref".
api_node_up() {
	ns_add node-a
	ref_up
	ip -n "$P-node-a" link add eth0 type veth peer name eth1 ||
		fail "cannot create node-a's eth0"
	ip -n "$P-node-a" addr add 192.0.2.10/24 dev eth0
	ip -n "$P-node-a" link set eth0 up
	ip -n "$P-node-a" link set eth1 up
}

# ref_up: the namespace "ref", where --dry-run payloads are loaded.
ref_up() {
	ns_add ref
}

# dry_run STATEFILE NODE [FLAG...]: kproxy --dry-run of STATEFILE as NODE.
dry_run() {
	_dr_state=$1
	_dr_node=$2
	shift 2
	"$KPROXY" --dry-run --from-file "$_dr_state" --hostname-override "$_dr_node" \
		--cluster-cidr "$CLUSTER_CIDR" "$@" 2>"$TMP/dry.err"
}

# ref_load STATEFILE NODE [FLAG...]: the rules --dry-run's payload of
# STATEFILE gives in a fresh namespace, normalized, in $TMP/ref.
ref_load() {
	dry_run "$@" >"$TMP/dry.txt" || fail "--dry-run failed: $(cat "$TMP/dry.err")"
	# Without --noflush, each table the payload names starts empty.
	in_ns ref "$IPT_RESTORE" <"$TMP/dry.txt" || fail "the --dry-run payload does not load"
	in_ns ref "$IPT_SAVE" | norm >"$TMP/ref"
}

# kernel_is_ref NODE: predicate: NODE's rules are exactly $TMP/ref; SEEN
# says by how many lines they differ.
# shellcheck disable=SC2317 # called through wait_until
kernel_is_ref() {
	kernel_norm "$1" >"$TMP/kernel"
	SEEN=$(diff "$TMP/ref" "$TMP/kernel" | grep -c '^[<>]')
	[ "$SEEN" -eq 0 ] && SEEN="identical"
	[ "$SEEN" = identical ]
}

# converge DESC NODE STATEFILE [DEADLINE [FLAG...]]: NODE's kernel comes to
# hold exactly the rules of the --dry-run payload of STATEFILE (FLAGs go to
# --dry-run).
converge() {
	_cv_desc=$1
	_cv_node=$2
	_cv_state=$3
	_cv_deadline=${4:-15}
	shift 3
	[ $# -gt 0 ] && shift
	ref_load "$_cv_state" "$_cv_node" "$@"
	if wait_until "$_cv_deadline" kernel_is_ref "$_cv_node"; then
		pass "$_cv_desc: the kernel holds exactly the --dry-run rules ($(wc -l <"$TMP/ref") lines)"
		return 0
	fi
	check_failed "$_cv_desc: after ${_cv_deadline}s the kernel differs from --dry-run's rules by $SEEN lines:"
	diff -u "$TMP/ref" "$TMP/kernel" | head -n 40
	return 1
}

# snapshot NODE: remembers NODE's rules for kernel_unchanged.
snapshot() {
	kernel_norm "$1" >"$TMP/snap.$1"
}

# kernel_unchanged NODE: predicate: NODE's rules are those of the last snapshot.
# shellcheck disable=SC2317 # called through holds and wait_until
kernel_unchanged() {
	kernel_norm "$1" >"$TMP/now.$1"
	if cmp -s "$TMP/snap.$1" "$TMP/now.$1"; then
		SEEN="unchanged ($(wc -l <"$TMP/now.$1") lines)"
		return 0
	fi
	SEEN="changed by $(diff "$TMP/snap.$1" "$TMP/now.$1" | grep -c '^[<>]') lines"
	return 1
}

# rules_kept DESC NODE [SECONDS]: NODE's rules are those of the last snapshot
# now and for SECONDS more (default 0: now only), and NODE's kproxy still
# runs. Only the kernel is compared: a sync that changes nothing is allowed.
rules_kept() {
	if ! kproxy_running "$2"; then
		check_failed "$1: kproxy exited"
	elif kernel_unchanged "$2" && holds "${3:-0}" kernel_unchanged "$2"; then
		pass "$1: the kernel's rules stay as they were${3:+ (watched for $3 s)}"
	else
		check_failed "$1: the rules changed:"
		diff -u "$TMP/snap.$2" "$TMP/now.$2" | head -n 30
	fi
}

# holds SECONDS CMD...: CMD keeps succeeding, polled every 0.2 s, for
# SECONDS (a bounded observation of something that must NOT happen).
holds() {
	_h_end=$(($(now_cs) + $1 * 100))
	shift
	while [ "$(now_cs)" -lt "$_h_end" ]; do
		"$@" >/dev/null 2>&1 || return 1
		sleep 0.2
	done
}

# http_status NS URL STATUS: predicate on a plain GET from inside NS.
# shellcheck disable=SC2317 # called through eventually
http_status() {
	SEEN=$(in_ns "$1" curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$2")
	[ "$SEEN" = "$3" ]
}

# healthz_is NODE STATUS: predicate on NODE's /healthz.
# shellcheck disable=SC2317 # called through eventually
healthz_is() {
	http_status "$1" http://127.0.0.1:10256/healthz "$2"
}

# metric NODE NAME: the value of a metric without labels (empty if absent).
metric() {
	in_ns "$1" curl -s --max-time 2 http://127.0.0.1:10249/metrics |
		awk -v n="$2" '$1 == n { print $2 }'
}

# metric_above NODE NAME N: predicate: the metric is above N.
# shellcheck disable=SC2317 # called through eventually
metric_above() {
	SEEN=$(metric "$1" "$2")
	[ "${SEEN:-0}" -gt "$3" ] 2>/dev/null
}

# restore_wrappers: $TMP/bin/iptables-{nft,legacy}-restore, in front of the
# real ones for a kproxy started with PATH="$TMP/bin:$PATH": while
# $TMP/fail-restore exists the restore fails at once (exit 1, reading
# nothing); while $TMP/hang-restore exists it hangs (exec sleep 300, so the
# process kproxy kills is the sleeper itself); while $TMP/corrupt-restore
# exists the payload's first "-A" line gets an option iptables does not know
# (its number and original text go to $TMP/corrupted-line) and the real one
# is fed the result; a restore that starts while $TMP/hold-restore exists
# waits until the file is gone, then runs the real one on the payload as it
# was. Otherwise the real one runs.
# shellcheck disable=SC2016 # the wrapper's own $0, $@ and $?
restore_wrappers() {
	mkdir -p "$TMP/bin"
	for _cmd in iptables-nft-restore iptables-legacy-restore; do
		_real=$(command -v "$_cmd") || fail "$_cmd not found"
		{
			echo '#!/bin/sh'
			echo "if [ -e '$TMP/fail-restore' ]; then"
			echo "	echo '$_cmd: line 1 failed (made to fail by the test)' >&2"
			echo '	exit 1'
			echo 'fi'
			echo "if [ -e '$TMP/hang-restore' ]; then"
			echo '	exec sleep 300'
			echo 'fi'
			echo "if [ -e '$TMP/corrupt-restore' ]; then"
			echo "	awk -v out='$TMP/corrupted-line' '!done && /^-A / {"
			echo '		print NR " " $0 >out; close(out)'
			echo '		print $0 " --kproxy-test-corruption"; done = 1; next'
			echo "	} { print }' | '$_real' \"\$@\""
			echo '	exit $?'
			echo 'fi'
			echo "while [ -e '$TMP/hold-restore' ]; do"
			echo '	sleep 0.05'
			echo 'done'
			echo "exec '$_real' \"\$@\""
		} >"$TMP/bin/$_cmd"
		chmod +x "$TMP/bin/$_cmd"
	done
}

# ---- request loops ----------------------------------------------------------

# loop_start NAME FROM PROTO HOST PORT [INTERVAL]: probe.py in namespace FROM
# sends a request every INTERVAL (0.05) s until $TMP/stop-loops exists;
# answers in $TMP/loop-NAME.out, one per line with a time stamp.
loop_start() {
	# Not through in_ns: $! must be probe.py's pid.
	ip netns exec "$P-$2" "$PY" "$INTEGRATION_DIR/probe.py" "$3" "$4" "$5" \
		--interval "${6:-0.05}" --timeout 2 --until "$TMP/stop-loops" --stamp \
		>"$TMP/loop-$1.out" 2>&1 &
	echo $! >"$TMP/loop-$1.pid"
}

# loop_answered NAME: how many answers loop NAME has printed so far.
loop_answered() {
	grep -c -v -e ' ERROR' -e '^probe:' "$TMP/loop-$1.out"
}

# loop_answers_more NAME N: predicate: loop NAME has more than N answers.
# shellcheck disable=SC2317 # called through wait_until
loop_answers_more() {
	SEEN=$(loop_answered "$1")
	[ "$SEEN" -gt "$2" ]
}

# loop_stop_all: stops every loop (they finish the request in flight).
loop_stop_all() {
	touch "$TMP/stop-loops"
	for _f in "$TMP"/loop-*.pid; do
		[ -f "$_f" ] || continue
		_lp=$(cat "$_f")
		wait_until 10 eval "! alive $_lp" || check_failed "request loop $(basename "$_f" .pid) did not stop"
		wait "$_lp" 2>/dev/null
		rm -f "$_f"
	done
}

# loop_report NAME DESC [MIN]: one check: loop NAME sent at least MIN (10)
# requests and none failed. Sets LOOP_SENT and LOOP_FAILED.
loop_report() {
	LOOP_SENT=$(grep -c -v '^probe:' "$TMP/loop-$1.out")
	LOOP_FAILED=$(grep -c ' ERROR' "$TMP/loop-$1.out")
	if [ "$LOOP_FAILED" -eq 0 ] && [ "$LOOP_SENT" -ge "${3:-10}" ]; then
		pass "$2: $LOOP_SENT requests, none failed"
	else
		check_failed "$2: $LOOP_FAILED of $LOOP_SENT requests failed (want >= ${3:-10}, none failed)"
		grep ' ERROR' "$TMP/loop-$1.out" | head -n 10
	fi
}
