#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A health-check node port kproxy cannot open is reported, never fatal, and
# never costs the rules:
#
#  a. kproxy raises its soft open-file limit to the hard one at start.
#     Port taken: another process (python) listens on a Local-policy
#     LoadBalancer's health-check port in node-a before kproxy starts.
#     kproxy logs it, counts it in kproxy_healthcheck_bind_failures_total,
#     retries every sync period (the counter keeps rising), keeps running
#     and programs every rule (the kernel holds the --dry-run rules, the
#     LoadBalancer serves). Once the other process is gone, kproxy binds the
#     port on a later retry: it answers 200 with one local endpoint, and
#     the counter stops.
#  b. Out of file descriptors: kproxy runs under `ulimit -n 40` (soft and
#     hard, so it cannot raise it) with 30 Local-policy LoadBalancers, whose
#     health-check listeners (three fds each) cannot all fit. kproxy opens
#     listeners only while a reserve of descriptors stays free for its own
#     work, logs the ports it does not open ("not opened: N of 40 file
#     descriptors in use"), does not crash or spin (not even with a
#     connection waiting that it could not accept), and its rules are
#     applied: at start, and for a change made while the listeners hold all
#     they may (web loses an endpoint, a service is added). Then 27 of the
#     LoadBalancers are deleted: kproxy converges, counts the failures in
#     /metrics, /healthz is 200, and the three left answer their health
#     checks.
#
# Usage: 180_fd_exhaustion_and_taken_port_are_reported_not_fatal.sh KPROXY
set -u
# shellcheck source=test/integration/lib.sh
. "$(dirname "$0")/lib.sh"
lib_init "$@"
# shellcheck source=test/integration/faults.sh
. "$INTEGRATION_DIR/faults.sh"
XTABLES_LOCKFILE=$TMP/xtables.lock
export XTABLES_LOCKFILE

NOFILE=40
N_LB=30

topology_up
ref_up
add_pod node-a a1 198.18.1.2
add_pod node-a a2 198.18.1.3
add_pod node-b b1 198.18.2.2

# health_is NODE_IP PORT STATUS LOCAL: predicate on a health-check answer.
# shellcheck disable=SC2317 # called through eventually
health_is() {
	SEEN=$(probe client http "$1" "$2" --timeout 2)
	case $SEEN in
	"HTTP $3 "*'"localEndpoints": '"$4,"*) return 0 ;;
	esac
	return 1
}

# shellcheck disable=SC2317 # called through wait_until
log_has() {
	grep -q -E -- "$1" "$TMP/kproxy-node-a.log"
}

bind_failures() {
	metric node-a kproxy_healthcheck_bind_failures_total
}

# ---- a. a health-check port taken by another process ------------------------

web="svc web 198.19.0.180 http:tcp:80:8080:30180"
lbt="svc lbt 198.19.0.181 lb=198.51.100.181 etp=Local hc=32181 http:tcp:80:8080:30181"
mkdir "$TMP/empty"
# Not through in_ns: $! must be python's pid.
ip netns exec "$P-node-a" "$PY" -m http.server --bind 0.0.0.0 --directory "$TMP/empty" 32181 \
	>"$TMP/taken.log" 2>&1 &
echo $! >"$TMP/taken.pid"
# shellcheck disable=SC2016 # evaluated by wait_until
wait_until 10 eval 'in_ns node-a ss -Htln "sport = :32181" | grep -q LISTEN' ||
	fail "python did not listen on 32181: $(cat "$TMP/taken.log")"

set_state "$STATE" <<EOF
$web
eps web a1 b1
$lbt
eps lbt a1
EOF
# kproxy raises its soft open-file limit to the hard one, as kube-proxy
# does: started with a soft limit of 256 (the test's own is put back after),
# it must run with the hard one.
soft=$(ulimit -S -n)
ulimit -S -n 256
start_kproxy node-a "$STATE"
ulimit -S -n "$soft"
lim=$(grep 'Max open files' "/proc/$(kproxy_pid node-a)/limits")
# shellcheck disable=SC2086 # "Max open files SOFT HARD files"
set -- $lim
if [ "$4" = "$5" ] && [ "$4" != 256 ] && log_has "open file limit: $4 descriptors"; then
	pass "a. kproxy, started with a soft open-file limit of 256, raised it to the hard one: $4"
else
	check_failed "a. kproxy's open-file limits: $lim"
fi
if wait_until 5 log_has 'lbt: health check node port: .*32181.*(in use|Address)'; then
	pass "a. port taken: kproxy logs: $(grep -E -o 'service it/lbt: health check node port: .*' \
		"$TMP/kproxy-node-a.log" | head -n 1)"
else
	check_failed "a. port taken: no log line about it/lbt's health-check port"
fi
eventually 5 "a. port taken: kproxy_healthcheck_bind_failures_total counts it" \
	metric_above node-a kproxy_healthcheck_bind_failures_total 0
first=$(bind_failures)
converge "a. port taken" node-a "$STATE"
expect_names "a. port taken: the LoadBalancer serves (Local: a1)" "a1" \
	client tcp 198.51.100.181 80 10
expect_names "a. port taken: web's ClusterIP serves" "a1 b1" a2 tcp 198.19.0.180 80 20
# shellcheck disable=SC2016 # evaluated by eventually
eventually 5 "a. port taken: kproxy retries every sync period (1 s): the counter rises past $first" \
	metric_above node-a kproxy_healthcheck_bind_failures_total $((first + 1))
case $(probe client http 192.0.2.10 32181 --timeout 2) in
*localEndpoints*) check_failed "a. port taken: kproxy answers on the taken port?" ;;
"HTTP "*) pass "a. port taken: the other process still answers on 32181" ;;
*) check_failed "a. port taken: nothing answers on 32181" ;;
esac
if kproxy_running node-a; then
	pass "a. port taken: kproxy keeps running"
else
	fail "a. port taken: kproxy exited"
fi

pid=$(cat "$TMP/taken.pid")
kill -TERM "$pid"
wait_until 10 eval "! alive $pid" || fail "python did not exit"
wait "$pid"
rm -f "$TMP/taken.pid"
eventually 5 "a. port free again: kproxy binds it on a retry and answers 200, 1 local endpoint" \
	health_is 192.0.2.10 32181 200 1
m1=$(bind_failures)
sleep 2.5
m2=$(bind_failures)
if [ "$m1" = "$m2" ]; then
	pass "a. port free again: no more bind failures ($m2 in all)"
else
	check_failed "a. port free again: bind failures still rise ($m1 -> $m2)"
fi
if stop_kproxy node-a; then
	pass "a. kproxy exits 0 on SIGTERM"
else
	check_failed "a. kproxy exited $_rc on SIGTERM"
fi

# ---- b. out of file descriptors ---------------------------------------------

# lbs N: N Local-policy LoadBalancers, all with their endpoint on node-a.
lbs() {
	_i=0
	while [ $_i -lt "$1" ]; do
		echo "svc lb$_i 198.19.1.$((_i + 1)) lb=198.51.100.$((_i + 1)) etp=Local hc=$((32200 + _i)) http:tcp:80:8080:$((30200 + _i))"
		echo "eps lb$_i a1"
		_i=$((_i + 1))
	done
}

# start_limited: kproxy in node-a under `ulimit -n $NOFILE`; returns once it
# has applied a sync.
start_limited() {
	_before=$(applied_count node-a)
	echo "==== $(date +%T) start (ulimit -n $NOFILE): $KPROXY --from-file $STATE" \
		>>"$TMP/kproxy-node-a.log"
	# shellcheck disable=SC2016 # expanded by that sh
	ip netns exec "$P-node-a" sh -c 'ulimit -n "$1" && shift && exec "$@"' sh "$NOFILE" \
		"$KPROXY" --from-file "$STATE" --hostname-override node-a \
		--cluster-cidr "$CLUSTER_CIDR" --iptables-backend "$BACKEND" \
		--iptables-min-sync-period 0 --iptables-sync-period 1s \
		>>"$TMP/kproxy-node-a.log" 2>&1 &
	echo $! >"$TMP/kproxy-node-a.pid"
	wait_applied node-a "$_before" 20
}

# cpu_ticks PID: user + system clock ticks PID has used.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

lines=$(wc -l <"$TMP/kproxy-node-a.log")
{
	echo "$web"
	echo "eps web a1 b1"
	lbs $N_LB
} | set_state "$STATE"
start_limited
kp=$(kproxy_pid node-a)
echo "kproxy runs with: $(grep 'Max open files' "/proc/$kp/limits")"
sleep 2
if kproxy_running node-a; then
	pass "b. $N_LB health-check ports, ulimit -n $NOFILE: kproxy keeps running ($(find "/proc/$kp/fd" -mindepth 1 | wc -l) fds open)"
else
	fail "b. kproxy exited under ulimit -n $NOFILE"
fi
emfile=$(tail -n +"$((lines + 1))" "$TMP/kproxy-node-a.log" |
	grep -c 'health check node port: not opened: [0-9]* of 40 file descriptors in use')
if [ "$emfile" -gt $N_LB ]; then
	check_failed "b. kproxy logs the same failure of a port again at every retry: $emfile lines for $N_LB ports"
elif [ "$emfile" -gt 0 ]; then
	pass "b. kproxy logs the ports it cannot open, once each ($emfile lines): $(tail -n +"$((lines + 1))" \
		"$TMP/kproxy-node-a.log" | grep -E -o 'service it/lb[0-9]+: health check node port: not opened.*' |
		head -n 1)"
else
	check_failed "b. no 'not opened: ... file descriptors in use' for a health-check port in the log"
fi
converge "b. start with the fds used up" node-a "$STATE" 10
expect_names "b. start: web's ClusterIP serves" "a1 b1" a2 tcp 198.19.0.180 80 20
expect_names "b. start: the first LoadBalancer serves" "a1" client tcp 198.51.100.1 80 5
expect_names "b. start: the last LoadBalancer serves" "a1" client tcp 198.51.100.$N_LB 80 5
eventually 5 "b. start: the first LoadBalancer's health check (opened before the fds ran out) says 200" \
	health_is 192.0.2.10 32200 200 1

# A connection kproxy cannot accept (no fd for it) must not make it spin.
in_ns node-a curl -s -o /dev/null --max-time 3 http://127.0.0.1:10256/healthz &
curl_pid=$!
t0=$(cpu_ticks "$kp")
sleep 3
t1=$(cpu_ticks "$kp")
wait "$curl_pid"
hz=$(getconf CLK_TCK)
if [ $((t1 - t0)) -lt $((hz * 3 / 2)) ]; then
	pass "b. kproxy does not spin with the fds used up: $((t1 - t0)) ticks of CPU in 3 s (${hz}/s)"
else
	check_failed "b. kproxy spins with the fds used up: $((t1 - t0)) ticks of CPU in 3 s (${hz}/s)"
fi

# A change while the health-check listeners hold every descriptor.
lines=$(wc -l <"$TMP/kproxy-node-a.log")
{
	echo "$web"
	echo "eps web a1"
	echo "svc late 198.19.0.182 http:tcp:80:8080"
	echo "eps late b1"
	lbs $N_LB
} | set_state "$STATE"
if ! converge "b. a change with the fds used up is applied" node-a "$STATE" 15; then
	echo "kproxy's log since the change:"
	tail -n +"$((lines + 1))" "$TMP/kproxy-node-a.log" | grep -a -v 'health check node port' |
		head -n 8 | cut -c 1-160
	echo "... and $(tail -n +"$((lines + 1))" "$TMP/kproxy-node-a.log" |
		grep -c 'health check node port') 'health check node port' lines"
fi
if kproxy_running node-a; then
	pass "b. after the change: kproxy keeps running"
else
	fail "b. after the change: kproxy exited"
fi

# Relief: 27 LoadBalancers go, their listeners close.
{
	echo "$web"
	echo "eps web a1"
	echo "svc late 198.19.0.182 http:tcp:80:8080"
	echo "eps late b1"
	lbs 3
} | set_state "$STATE"
converge "b. 27 LoadBalancers deleted: the fds are back" node-a "$STATE" 15
expect_names "b. fds back: web's ClusterIP serves from a1 only" "a1" a2 tcp 198.19.0.180 80 20
expect_names "b. fds back: late serves" "b1" a2 tcp 198.19.0.182 80 5
eventually 5 "b. fds back: the failures are counted in /metrics" \
	metric_above node-a kproxy_healthcheck_bind_failures_total 0
eventually 5 "b. fds back: /healthz is 200" healthz_is node-a 200
for i in 0 1 2; do
	eventually 5 "b. fds back: lb$i's health check says 200, 1 local endpoint" \
		health_is 192.0.2.10 $((32200 + i)) 200 1
done

finish
