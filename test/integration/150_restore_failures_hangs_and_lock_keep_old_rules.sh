#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A sync that cannot be applied costs nothing that was already applied. Four
# faults, each while a change waits to be applied and while a pod and the
# external client send a request every 50 ms to a service that has
# endpoints throughout:
#
#  1. iptables-restore fails (a wrapper first in kproxy's PATH exits 1
#     while $TMP/fail-restore exists);
#  1b. the real iptables-restore refuses a line (the wrapper adds an unknown
#     option to the payload's first rule while $TMP/corrupt-restore exists):
#     the log shows that line of kproxy's payload, marked, with its
#     neighbours;
#  2. iptables-restore hangs (the wrapper sleeps) past
#     --iptables-restore-timeout 2s, and kproxy kills it;
#  3. (legacy only: nft takes no lock) another process holds the xtables
#     lock for 10 s (flock on $XTABLES_LOCKFILE inside node-a), so the
#     restore gives up after its 5 s wait.
#
# In each case the kernel's rules stay exactly as they were (iptables-save
# unchanged, the old rules keep serving, a service deleted meanwhile still
# answers), /healthz turns 503 once the change waited more than twice the
# sync period (1 s here), kproxy_sync_proxy_rules_iptables_restore_failures_total
# counts the failure and the log says what happened; once the fault is gone
# the next sync converges: the kernel holds exactly the --dry-run rules of the
# new state, the new service answers, /healthz is 200 again, and no
# iptables-restore child is left behind.
#
# 4. Start-up never flushes: kproxy is restarted after a change, with its
# first restore held by the wrapper (it waits while $TMP/hold-restore
# exists). As long as it is held the kernel keeps the previous kproxy's rules
# exactly (iptables-save), they serve, and the new service is not there yet;
# once released, that first sync converges on the new state.
#
# Not one request to the steady service fails from start to end.
#
# Every legacy iptables command of this test (kproxy's included) takes its
# lock on $TMP/xtables.lock (XTABLES_LOCKFILE), never on /run/xtables.lock,
# so nothing outside the test ever waits for it.
#
# Usage: 150_restore_failures_hangs_and_lock_keep_old_rules.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"
XTABLES_LOCKFILE=$TMP/xtables.lock
export XTABLES_LOCKFILE

topology_up
ref_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2
restore_wrappers

web="svc web 198.19.0.150 http:tcp:80:8080:30150"
set_state "$STATE" <<EOF
$web
eps web a1 b1
svc old 198.19.0.159 http:tcp:80:8080
eps old b1
EOF
PATH="$TMP/bin:$PATH" start_kproxy node-a "$STATE" --iptables-restore-timeout 2s
expect_names "before the faults: pod a2 -> web's ClusterIP" "a1 b1" a2 tcp 198.19.0.150 80 20
expect_names "before the faults: client -> node-a's NodePort" "a1 b1" client tcp 192.0.2.10 30150 20
converge "before the faults" node-a "$STATE"

loop_start pod a2 tcp 198.19.0.150 80
loop_start client client tcp 192.0.2.10 30150

# restore_children: kproxy's children that are (or pretend to be)
# iptables-restore, and zombies among its children.
restore_children() {
	_kp=$(kproxy_pid node-a)
	ps -o pid=,stat=,args= --ppid "$_kp" 2>/dev/null | awk '$2 ~ /Z/ || /restore|sleep/'
}

# fault_begins DESC: the checks common to all faults once the fault is in
# place and a change waits: /healthz turns 503, the failure is counted, the
# kernel keeps the snapshot's rules for 3 s more, and the old rules serve.
# FAILURES0 is the failure count before the fault.
fault_begins() {
	eventually 15 "$1: /healthz turns 503 once the change waited more than 2 s" \
		healthz_is node-a 503
	eventually 15 "$1: kproxy_sync_proxy_rules_iptables_restore_failures_total counts it (was $FAILURES0)" \
		metric_above node-a kproxy_sync_proxy_rules_iptables_restore_failures_total "$FAILURES0"
	if kernel_unchanged node-a && holds 3 kernel_unchanged node-a; then
		pass "$1: iptables-save stays exactly as before the change (watched 3 s)"
	else
		check_failed "$1: the kernel's rules changed while the fault lasted:"
		diff -u "$TMP/snap.node-a" "$TMP/now.node-a" | head -n 30
	fi
	expect_names "$1: the old rules serve web's ClusterIP" "a1 b1" a2 tcp 198.19.0.150 80 20
	if kproxy_running node-a; then
		pass "$1: kproxy keeps running"
	else
		fail "$1: kproxy exited"
	fi
}

# fault_ends DESC NEWSVC IP WANT: the next good sync converges on the new
# state: /healthz 200, the kernel is the --dry-run of the state, the new
# service NEWSVC at IP answers with WANT, no restore child is left.
fault_ends() {
	eventually 15 "$1, fault gone: /healthz is 200 again" healthz_is node-a 200
	converge "$1, fault gone" node-a "$STATE"
	eventually 5 "$1, fault gone: the new service $2 answers" \
		names_are "$4" a2 tcp "$3" 80 10
	# shellcheck disable=SC2016 # evaluated by wait_until
	if wait_until 5 eval '[ -z "$(restore_children)" ]'; then
		pass "$1, fault gone: no restore child or zombie left behind"
	else
		check_failed "$1, fault gone: children left: $(restore_children | xargs)"
	fi
}

# ---- 1. iptables-restore fails ----------------------------------------------

snapshot node-a
FAILURES0=$(metric node-a kproxy_sync_proxy_rules_iptables_restore_failures_total)
eventually 5 "before fault 1: /healthz is 200" healthz_is node-a 200
lines=$(log_lines node-a)
touch "$TMP/fail-restore"
set_state "$STATE" <<EOF
$web
eps web a1 b1
svc new1 198.19.0.151 http:tcp:80:8080
eps new1 a1
EOF
fault_begins "1. restore fails"
expect_names "1. restore fails: service old, deleted meanwhile, still answers" "b1" \
	a2 tcp 198.19.0.159 80 5
if logged_since node-a "$lines" 'made to fail by the test'; then
	pass "1. restore fails: the restore's error is logged"
else
	check_failed "1. restore fails: the restore's error is not in the log"
fi
rm -f "$TMP/fail-restore"
fault_ends "1. restore fails" new1 198.19.0.151 a1
expect_names "1. restore fails, fault gone: service old is gone" "ERROR-timeout" \
	a2 tcp 198.19.0.159 80 1 1

# ---- 1b. the real iptables-restore refuses one line --------------------------

snapshot node-a
FAILURES0=$(metric node-a kproxy_sync_proxy_rules_iptables_restore_failures_total)
lines=$(log_lines node-a)
rm -f "$TMP/corrupted-line"
touch "$TMP/corrupt-restore"
set_state "$STATE" <<EOF
$web
eps web a1 b1
svc new1 198.19.0.151 http:tcp:80:8080
eps new1 a1
svc new1b 198.19.0.154 http:tcp:80:8080
eps new1b b1
EOF
fault_begins "1b. a payload line refused"
# context_logged N TEXT: the log (since $lines) shows payload line N marked
# with TEXT, and lines N-1 and N+1 numbered around it.
# shellcheck disable=SC2317 # called through wait_until
context_logged() {
	tail -n +"$((lines + 1))" "$TMP/kproxy-node-a.log" >"$TMP/since.log"
	grep -q -F "payload around line $1:" "$TMP/since.log" &&
		grep -q -F "$(printf '=>%6u  %s' "$1" "$2")" "$TMP/since.log" &&
		grep -q -E "^ +$(($1 - 1))  " "$TMP/since.log" &&
		grep -q -E "^ +$(($1 + 1))  " "$TMP/since.log"
}
if [ -s "$TMP/corrupted-line" ]; then
	bad=$(cut -d ' ' -f 1 "$TMP/corrupted-line")
	text=$(cut -d ' ' -f 2- "$TMP/corrupted-line" | cut -c 1-200)
	if wait_until 5 context_logged "$bad" "$text"; then
		pass "1b. a payload line refused: the log shows line $bad marked, with its neighbours:"
		awk -v hdr="payload around line $bad:" 'index($0, hdr) { n = 6 } n-- > 0' \
			"$TMP/since.log" | head -n 6 | sed 's/^/    /'
	else
		check_failed "1b. a payload line refused: line $bad ($text) is not shown in the log:"
		grep -A 6 'iptables-restore failed' "$TMP/since.log" | head -n 14
	fi
else
	check_failed "1b. a payload line refused: the wrapper corrupted no line"
fi
rm -f "$TMP/corrupt-restore"
fault_ends "1b. a payload line refused" new1b 198.19.0.154 b1

# ---- 2. iptables-restore hangs past --iptables-restore-timeout ---------------

snapshot node-a
FAILURES0=$(metric node-a kproxy_sync_proxy_rules_iptables_restore_failures_total)
lines=$(log_lines node-a)
touch "$TMP/hang-restore"
set_state "$STATE" <<EOF
$web
eps web a1 b1
svc new2 198.19.0.152 http:tcp:80:8080
eps new2 b1
EOF
fault_begins "2. restore hangs"
if logged_since node-a "$lines" 'iptables-restore killed after [0-9]+ ms'; then
	pass "2. restore hangs: kproxy logs: $(tail -n +"$((lines + 1))" "$TMP/kproxy-node-a.log" |
		grep -E -o 'iptables-restore killed after [0-9]+ ms' | head -n 1)"
else
	check_failed "2. restore hangs: no 'iptables-restore killed' in the log"
fi
expect_names "2. restore hangs: service new1, deleted meanwhile, still answers" "a1" \
	a2 tcp 198.19.0.151 80 5
# A hung restore is killed at the timeout: one appears, and is gone (not a
# zombie either) within the 2 s timeout and a little more.
# shellcheck disable=SC2016 # evaluated by wait_until
if wait_until 5 eval '[ -n "$(restore_children | grep sleep)" ]'; then
	hung=$(restore_children | awk '/sleep/ { print $1; exit }')
	started=$(now_cs)
	if wait_until 4 eval "! restore_children | grep -q '^ *$hung '"; then
		pass "2. restore hangs: the hung restore (pid $hung) is killed and reaped in $((($(now_cs) - started) * 10)) ms"
	else
		check_failed "2. restore hangs: the hung restore (pid $hung) is still there after 4 s: $(restore_children | xargs)"
	fi
else
	check_failed "2. restore hangs: no hung restore seen among kproxy's children"
fi
n_hung=$(restore_children | grep -c sleep)
if [ "$n_hung" -le 1 ]; then
	pass "2. restore hangs: at most one hung restore at a time ($n_hung now)"
else
	check_failed "2. restore hangs: $n_hung hung restores at once: $(restore_children | xargs)"
fi
rm -f "$TMP/hang-restore"
fault_ends "2. restore hangs" new2 198.19.0.152 b1

# ---- 3. the xtables lock held by another process (legacy) --------------------

if [ "$BACKEND" = nft ]; then
	pass "3. xtables lock: skipped on nft (iptables-nft takes no lock)"
else
	# A restore waits 5 s for the lock (-w 5); a longer timeout lets that
	# wait, not the kill, end the attempt. A restart keeps the rules.
	if stop_kproxy node-a; then
		pass "3. xtables lock: kproxy exits 0 on SIGTERM before the restart"
	else
		check_failed "3. xtables lock: kproxy exited $_rc on SIGTERM"
	fi
	PATH="$TMP/bin:$PATH" start_kproxy node-a "$STATE" --iptables-restore-timeout 30s
	snapshot node-a
	FAILURES0=$(metric node-a kproxy_sync_proxy_rules_iptables_restore_failures_total)
	eventually 5 "before fault 3: /healthz is 200" healthz_is node-a 200
	lines=$(log_lines node-a)
	# Not through in_ns: $! must be flock's pid.
	ip netns exec "$P-node-a" flock -x "$XTABLES_LOCKFILE" \
		sh -c "touch '$TMP/locked'; sleep 10" >"$TMP/flock.log" 2>&1 &
	echo $! >"$TMP/flock.pid"
	wait_until 5 test -e "$TMP/locked" || fail "flock did not take $XTABLES_LOCKFILE"
	locked_at=$(now_cs)
	set_state "$STATE" <<EOF
$web
eps web a1 b1
svc new3 198.19.0.153 http:tcp:80:8080
eps new3 a1 b1
EOF
	fault_begins "3. xtables lock held for 10 s"
	if wait_until 10 logged_since node-a "$lines" 'holding the xtables lock'; then
		pass "3. xtables lock: kproxy logs the restore's error: $(tail -n +"$((lines + 1))" \
			"$TMP/kproxy-node-a.log" | grep -o 'Another app.*lock' | head -n 1)"
	else
		check_failed "3. xtables lock: no 'holding the xtables lock' in the log"
	fi
	expect_names "3. xtables lock: service new2, deleted meanwhile, still answers" "b1" \
		a2 tcp 198.19.0.152 80 5
	if kernel_unchanged node-a; then
		pass "3. xtables lock: rules still unchanged $((($(now_cs) - locked_at) / 100)) s into the lock"
	else
		check_failed "3. xtables lock: the rules changed while the lock was held"
	fi
	pid=$(cat "$TMP/flock.pid")
	wait_until 15 eval "! alive $pid" || fail "flock did not end after 10 s"
	wait "$pid"
	rm -f "$TMP/flock.pid"
	fault_ends "3. xtables lock" new3 198.19.0.153 "a1 b1"
fi

# ---- 4. a restart whose first restore is held ------------------------------

if stop_kproxy node-a; then
	pass "4. restart: kproxy exits 0 on SIGTERM"
else
	check_failed "4. restart: kproxy exited $_rc on SIGTERM"
fi
snapshot node-a
set_state "$STATE" <<EOF
$web
eps web a1 b1
svc new4 198.19.0.155 http:tcp:80:8080
eps new4 a1
EOF
applied=$(applied_count node-a)
touch "$TMP/hold-restore"
# A long timeout: the held restore must not be killed while it is watched.
PATH="$TMP/bin:$PATH" launch_kproxy node-a "$STATE" --iptables-restore-timeout 60s
# shellcheck disable=SC2016 # evaluated by wait_until
if wait_until 10 eval '[ -n "$(restore_children | grep restore)" ]'; then
	pass "4. restart: the first restore is held ($(restore_children | awk '{ print "pid " $1; exit }'))"
else
	check_failed "4. restart: no held restore among kproxy's children"
fi
if kernel_unchanged node-a && holds 3 kernel_unchanged node-a; then
	pass "4. restart: while the first sync is held the kernel keeps the old rules exactly (watched 3 s, $SEEN)"
else
	check_failed "4. restart: the kernel's rules changed before the first sync was applied:"
	diff -u "$TMP/snap.node-a" "$TMP/now.node-a" | head -n 30
fi
expect_names "4. restart, first sync held: the old rules serve web" "a1 b1" a2 tcp 198.19.0.150 80 20
expect_names "4. restart, first sync held: new4 is not there yet" "ERROR-timeout" \
	a2 tcp 198.19.0.155 80 1 1
if [ "$(applied_count node-a)" -eq "$applied" ] && kproxy_running node-a; then
	pass "4. restart, first sync held: kproxy runs and has applied nothing"
else
	check_failed "4. restart, first sync held: kproxy exited or applied a sync"
fi
rm -f "$TMP/hold-restore"
wait_applied node-a "$applied" 15
converge "4. restart, first sync released" node-a "$STATE"
eventually 5 "4. restart, first sync released: new4 answers" names_are a1 a2 tcp 198.19.0.155 80 5

loop_stop_all
loop_report pod "pod a2 -> web's ClusterIP every 50 ms through every fault" 100
loop_report client "client -> node-a's NodePort every 50 ms through every fault" 100

finish
