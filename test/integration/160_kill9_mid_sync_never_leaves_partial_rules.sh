#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kproxy killed with SIGKILL in the middle of a sync never leaves a partial
# ruleset. The state has 300 services (and a NodePort each) with three
# endpoints apiece, so a sync rewrites thousands of rules and takes a
# while; one "steady" service keeps its endpoints (a1, b1) throughout.
# Twenty times the state changes (every service's endpoints rotate, one
# service in twenty comes or goes) and kproxy is killed right after: in odd
# rounds 0 to 24 ms after its iptables-restore child appears (a busy loop on
# /proc/PID/task/PID/children sees it at once), in even rounds after a
# delay from the change that varies from round to round (catching it while
# it reads the file, builds, or restores). Every fourth round the killed
# kproxy's orphaned iptables-restore is left to finish (or fail on its
# truncated input) and the kernel is checked before kproxy is started
# again; the other rounds restart at once, racing the orphan.
#
# Throughout, a pod and the external client send a request every 50 ms to
# the steady service (ClusterIP and node-a's NodePort), and not one fails. A
# sampler reads the kernel's rules every 0.2 s from start to end (twice in
# a row until both reads agree: see steady_save), and it,
# after each kill and after each restart, finds the ruleset whole: every
# per-service chain (SVC, SVL, EXT, FW, SEP) a rule jumps to exists and has
# rules, every SEP chain has its DNAT, the base chains jump to
# KPROXY-SERVICES, and the steady service's rules are all there (cluster IP
# and NodePort to its SVC chain, two SEP chains to a1 and b1, no REJECT).
# After each restart the kernel holds exactly the --dry-run rules of the
# state, and at the end too.
#
# Usage: 160_kill9_mid_sync_never_leaves_partial_rules.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"
XTABLES_LOCKFILE=$TMP/xtables.lock
export XTABLES_LOCKFILE

ROUNDS=${ROUNDS:-20}
SERVICES=300

topology_up
ref_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2
# Twenty more endpoints, only as names and addresses: no traffic goes there.
k=0
while [ $k -lt 20 ]; do
	if [ $((k % 2)) -eq 0 ]; then
		echo "f$k node-a 198.18.1.$((100 + k))"
	else
		echo "f$k node-b 198.18.2.$((100 + k))"
	fi
	k=$((k + 1))
done >>"$TMP/pods"

# state ROUND: the description of round ROUND's state (state.py's language).
state() {
	echo "svc steady 198.19.0.160 http:tcp:80:8080:30160"
	echo "eps steady a1 b1"
	_i=0
	while [ $_i -lt $SERVICES ]; do
		if [ $((_i % 20)) -ne $(($1 % 20)) ]; then
			echo "svc s$_i 198.19.$((1 + _i / 250)).$((_i % 250 + 1)) http:tcp:80:8080:$((31000 + _i))"
			echo "eps s$_i f$(((_i + $1) % 20)) f$(((_i + $1 + 7) % 20)) f$(((_i + $1 + 13) % 20))"
		fi
		_i=$((_i + 1))
	done
}

# steady_save NODE FILE [TRIES]: writes to FILE NODE's rules as two
# iptables-save runs in a row read them alike (comments and counters left
# out), trying TRIES times (default 5) 20 ms apart; fails if no two agreed.
#
# One read is not enough on nft: while a transaction commits, the kernel
# bumps the generation id a dump checks before it switches to the new
# generation, so a save that starts in between can list the chains of the
# old generation and the rules of the new one (seen once in CI: a rule
# jumping to a chain the same save did not list, which the nft kernel
# cannot hold). Such a torn read is not what the kernel held, and a second
# read right after it differs; two equal reads are one generation.
# shellcheck disable=SC2317 # called through ruleset_whole
steady_save() {
	_tries=${3:-5}
	while [ "$_tries" -gt 0 ]; do
		ipt_save "$1" | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//' >"$2.a"
		ipt_save "$1" | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//' >"$2"
		cmp -s "$2.a" "$2" && return 0
		_tries=$((_tries - 1))
		sleep 0.02
	done
	return 1
}

# ruleset_whole NODE [TRIES]: 0 if NODE's rules are whole (see the top), 1
# if not (or the check itself failed), 3 if steady_save could not read them
# in TRIES tries; SEEN lists the first problems.
# shellcheck disable=SC2317 # called through wait_until and the sampler
ruleset_whole() {
	if ! steady_save "$1" "$TMP/whole-${WHOLE_TAG:-main}.save" "${2:-5}"; then
		SEEN="no two reads in a row agreed"
		return 3
	fi
	SEEN=$(awk '
		/^\*/ { t = substr($1, 2); next }
		/^:/ { declared[t, substr($1, 2)] = 1; next }
		!/^-A / { next }
		{
			c = $2
			n[t, c]++
			target = ""
			for (i = 3; i < NF; i++)
				if ($i == "-j" || $i == "-g")
					target = $(i + 1)
		}
		t == "nat" && target ~ /^KPROXY-(SVC|SVL|EXT|FW|SEP)-/ { ref[target] = c }
		t == "nat" && target == "DNAT" { dnat[c] = 1 }
		t == "nat" && target == "KPROXY-SERVICES" { base[c] = 1 }
		t == "nat" && c == "KPROXY-SERVICES" && target == "KPROXY-NODEPORTS" { tail = 1 }
		t == "nat" && c == "KPROXY-SERVICES" && /-d 198\.19\.0\.160\/32/ && /--dport 80 / {
			steady_svc = target
		}
		t == "nat" && c == "KPROXY-NODEPORTS" && /--dport 30160 / { steady_ext = target }
		t == "nat" && /--to-destination/ {
			for (i = 3; i < NF; i++)
				if ($i == "--to-destination")
					dest[c] = $(i + 1)
		}
		t == "nat" && target ~ /^KPROXY-SEP-/ { seps[c] = seps[c] " " target }
		t == "nat" && target ~ /^KPROXY-SVC-/ { ext_to[c] = target }
		t == "filter" && /198\.19\.0\.160/ && /REJECT|DROP/ { rejected = 1 }
		function bad(m) { if (nbad++ < 5) printf "%s; ", m }
		END {
			for (x in ref) {
				if (!declared["nat", x])
					bad("missing " x " (from " ref[x] ")")
				else if (!n["nat", x])
					bad("empty " x " (from " ref[x] ")")
				else if (x ~ /^KPROXY-SEP-/ && !dnat[x])
					bad("no DNAT in " x)
			}
			if (!base["PREROUTING"] || !base["OUTPUT"])
				bad("a base chain lost its jump to KPROXY-SERVICES")
			if (!tail)
				bad("no NodePort tail rule in KPROXY-SERVICES")
			if (steady_svc == "")
				bad("no cluster IP rule of steady")
			else {
				k = split(seps[steady_svc], s, " ")
				got = ""
				for (i = 1; i <= k; i++)
					got = got " " dest[s[i]]
				if (k != 2 || (got != " 198.18.1.2:8080 198.18.2.2:8080" &&
					       got != " 198.18.2.2:8080 198.18.1.2:8080"))
					bad("steady " steady_svc " goes to" got)
			}
			if (steady_ext == "" || ext_to[steady_ext] != steady_svc)
				bad("steady NodePort: " steady_ext " -> " ext_to[steady_ext])
			if (rejected)
				bad("steady rejected in filter")
			if (nbad)
				exit 1
			printf "whole (%d nat chains referenced)", length(ref)
		}' "$TMP/whole-${WHOLE_TAG:-main}.save") || { [ -n "$SEEN" ] || SEEN="awk failed"; return 1; }
}

# A long sync period: no periodic check runs, so kproxy's only child after
# a change is its iptables-restore.
kproxy_flags="--iptables-sync-period 60s"
state 0 | set_state "$STATE"
# shellcheck disable=SC2086 # a list of flags
start_kproxy node-a "$STATE" $kproxy_flags
expect_names "start: pod a2 -> steady's ClusterIP" "a1 b1" a2 tcp 198.19.0.160 80 20
expect_names "start: client -> node-a's NodePort" "a1 b1" client tcp 192.0.2.10 30160 20
if ruleset_whole node-a 50; then
	pass "start: the ruleset is $SEEN"
else
	check_failed "start: the ruleset is not whole: $SEEN"
fi
converge "start ($SERVICES services)" node-a "$STATE" 20
sync_ms=$(grep -o 'sync: applied.* in [0-9]* ms' "$TMP/kproxy-node-a.log" | tail -n 1 |
	sed 's/.* in //')
echo "a full sync of this state takes $sync_ms"

loop_start pod a2 tcp 198.19.0.160 80
loop_start client client tcp 192.0.2.10 30160

# The sampler: whole, broken or unsettled (no two reads in a row agreed),
# every 0.2 s, until $TMP/stop-sampler exists.
(
	WHOLE_TAG=sampler
	while [ ! -e "$TMP/stop-sampler" ]; do
		ruleset_whole node-a
		case $? in
		0) echo "ok" ;;
		3) echo "unsettled" ;;
		*) echo "$(date +%T.%N) BROKEN: $SEEN" ;;
		esac
		sleep 0.2
	done
) >"$TMP/sampler.out" 2>&1 &
echo $! >"$TMP/sampler.pid"

# first_child PID: prints PID's first child, if any. Builtins only (no
# fork), so a loop of it catches a child within microseconds of its birth.
first_child() {
	_fc=""
	read -r _fc _ <"/proc/$1/task/$1/children" || true
	echo "$_fc"
}

# await_child PID NOT CS: sets _fc to PID's first child other than NOT as
# soon as there is one, or to "" once the sync is applied or CS centiseconds
# have passed. Polls without forking but for the applied check.
await_child() {
	_since=$(now_cs)
	while :; do
		_fc=""
		read -r _fc _ <"/proc/$1/task/$1/children" || true
		[ -n "$_fc" ] && [ "$_fc" != "$2" ] && return 0
		_fc=""
		if [ "$(applied_count node-a)" -gt "$applied" ] ||
			[ $(($(now_cs) - _since)) -gt "$3" ]; then
			return 1
		fi
	done
}

caught=0
whole_after_kill=0
checked_after_kill=0
broken_rounds=""
unconverged_rounds=""
r=1
while [ $r -le "$ROUNDS" ]; do
	applied=$(applied_count node-a)
	state $r | set_state "$STATE"
	kp=$(kproxy_pid node-a)
	child=""
	if [ $((r % 2)) -eq 1 ]; then
		# Its only child after a change is the restore (with a 60 s sync
		# period, no periodic check runs). Then a few ms more, varying,
		# to land at different points of the restore.
		extra=$(((r * 7) % 25))
		how="${extra} ms after its restore started"
		await_child "$kp" "" 1000 || how="after its sync (no restore seen)"
		child=$_fc
		[ -n "$child" ] && [ "$extra" -gt 0 ] && sleep "$(printf '0.%03d' "$extra")"
		# A sync is several short restores (chains in batches, then
		# the switch): when the one seen has ended, kill at the start
		# of the next one, if the sync is not over.
		if [ -n "$child" ] && ! alive "$child" && await_child "$kp" "$child" 100; then
			child=$_fc
			how="$how (the next restore of the sync)"
		fi
	else
		delay=$((50 + (r * 97) % 450))
		how="${delay} ms after the change"
		sleep "$(printf '0.%03d' "$delay")"
		child=$(first_child "$kp")
	fi
	kill -KILL "$kp"
	running="no"
	if [ -n "$child" ] && alive "$child"; then
		caught=$((caught + 1))
		running="yes (pid $child)"
	else
		child=""
	fi
	orphan=$child
	stop_kproxy node-a KILL
	msg="round $r: killed $how, iptables-restore running: $running"
	if [ $((r % 4)) -eq 0 ]; then
		[ -n "$orphan" ] && { wait_until 30 eval "! alive $orphan" ||
			check_failed "round $r: the orphaned restore $orphan did not end"; }
		checked_after_kill=$((checked_after_kill + 1))
		if ruleset_whole node-a 50; then
			whole_after_kill=$((whole_after_kill + 1))
			msg="$msg; with kproxy dead and no restore running, the ruleset is $SEEN"
		else
			check_failed "round $r: with kproxy dead, the ruleset is not whole: $SEEN"
			broken_rounds="$broken_rounds $r"
		fi
	fi
	# shellcheck disable=SC2086 # a list of flags
	start_kproxy node-a "$STATE" $kproxy_flags
	[ -n "$orphan" ] && { wait_until 30 eval "! alive $orphan" ||
		check_failed "round $r: the orphaned restore $orphan did not end"; }
	if ! ruleset_whole node-a 50; then
		check_failed "round $r: after the restart, the ruleset is not whole: $SEEN"
		broken_rounds="$broken_rounds $r"
	fi
	ref_load "$STATE" node-a
	if wait_until 20 kernel_is_ref node-a; then
		msg="$msg; restarted: the kernel is --dry-run's"
	else
		check_failed "round $r: after the restart the kernel differs from --dry-run's by $SEEN lines:"
		diff -u "$TMP/ref" "$TMP/kernel" | head -n 20
		unconverged_rounds="$unconverged_rounds $r"
	fi
	echo "$msg"
	r=$((r + 1))
done

if [ -z "$broken_rounds" ]; then
	pass "$ROUNDS kills: the ruleset was whole after every restart and after $whole_after_kill of $checked_after_kill kills checked with kproxy dead"
fi
if [ -z "$unconverged_rounds" ]; then
	pass "$ROUNDS kills: after every restart the kernel held exactly the --dry-run rules"
fi
# Without a kill during a restore the scenario would test little.
if [ "$caught" -ge $((ROUNDS / 4)) ]; then
	pass "$caught of $ROUNDS kills caught kproxy with its iptables-restore running"
else
	check_failed "only $caught of $ROUNDS kills caught an iptables-restore running"
fi

touch "$TMP/stop-sampler"
pid=$(cat "$TMP/sampler.pid")
wait_until 20 eval "! alive $pid" || check_failed "the sampler did not stop"
wait "$pid"
rm -f "$TMP/sampler.pid"
samples=$(grep -c -v unsettled "$TMP/sampler.out")
unsettled=$(grep -c unsettled "$TMP/sampler.out")
broken=$(grep -c BROKEN "$TMP/sampler.out")
if [ "$broken" -eq 0 ] && [ "$samples" -ge 20 ]; then
	pass "sampler: the ruleset was whole in all $samples samples taken through the kills ($unsettled times no two reads in a row agreed)"
else
	check_failed "sampler: $broken of $samples samples saw a partial ruleset ($unsettled times no two reads agreed):"
	grep BROKEN "$TMP/sampler.out" | head -n 10
fi

loop_stop_all
loop_report pod "pod a2 -> steady's ClusterIP every 50 ms through $ROUNDS kills" 100
loop_report client "client -> node-a's NodePort every 50 ms through $ROUNDS kills" 100

converge "end" node-a "$STATE"
finish
