# SPDX-License-Identifier: GPL-2.0-or-later
#
# Shared helpers of the integration scenarios (and of scripts/demo.sh).
# Sourced, not run:
#
#	INTEGRATION_DIR=...   # optional; defaults to the directory of $0
#	. "$INTEGRATION_DIR/lib.sh"
#	lib_init "$@"         # $1: the kproxy binary; sets the cleanup trap
#	topology_up
#	add_pod node-a a1 198.18.1.2
#	set_state "$STATE" <<EOF ... EOF   (see state.py for the description)
#	start_kproxy node-a "$STATE"; start_kproxy node-b "$STATE"
#	expect_names "ClusterIP from a pod" "a1 b1" a1 tcp 198.19.0.10 80 20
#	finish
#
# The scene (DESIGN.md, "Test topology"), every piece a network namespace
# named "$P-<name>" with P=kp<pid>, so parallel runs never meet:
#
#	client 203.0.113.2 --+                   +-- node-a 192.0.2.10 -- cbr0 198.18.1.1/24 -- pods 198.18.1.x
#	client2 203.0.113.3 -+-- net (bridge) ---+
#	                                         +-- node-b 192.0.2.11 -- cbr0 198.18.2.1/24 -- pods 198.18.2.x
#
# The clients reach 192.0.2.0/24 on-link and 198.51.100.0/24 (LoadBalancer
# and external IPs) through node-a. Nothing is connected to the root
# namespace, and nothing here reads or writes the root namespace's iptables,
# routes or sysctls: every ip/sysctl/iptables command carries "-n NS" or runs
# under "ip netns exec NS". Everything is removed by the trap lib_init sets,
# on success, failure or Ctrl-C.
#
# Checks print "PASS: ..." or "FAIL: ..." and go on; finish prints the tally
# and exits non-zero when any check failed. fail aborts at once (for a broken
# setup). Every wait polls with a deadline.
#
# Besides the state file, kproxy can follow the fake API server (start_api,
# api_state; see "the fake API server" below). What kproxy logs is checked
# from a mark on: lines=$(log_lines node-a); ...; expect_log DESC node-a
# "$lines" PATTERN.

# Pod CIDR of the whole cluster, given to kproxy as --cluster-cidr.
CLUSTER_CIDR=198.18.0.0/16
# Ports every pod's echo server listens on, TCP and UDP.
POD_PORTS="8080 8081 5353"

# lib_init KPROXY: checks the environment, makes the temp dir, sets the trap.
lib_init() {
	KPROXY=${1:-}
	if [ -z "$KPROXY" ]; then
		echo "usage: $0 KPROXY" >&2
		exit 2
	fi
	case $KPROXY in
	/*) ;;
	*) KPROXY=$(pwd)/$KPROXY ;;
	esac
	INTEGRATION_DIR=${INTEGRATION_DIR:-$(cd "$(dirname "$0")" && pwd)}
	BACKEND=${KPROXY_BACKEND:-nft}
	case $BACKEND in
	nft | legacy) ;;
	*)
		echo "FAIL: KPROXY_BACKEND must be nft or legacy, not '$BACKEND'"
		exit 2
		;;
	esac
	IPT_SAVE=iptables-$BACKEND-save
	IPT_RESTORE=iptables-$BACKEND-restore
	# The distribution's interpreter starts in 20 ms; a pyenv shim takes 100.
	if [ -x /usr/bin/python3 ]; then
		PY=/usr/bin/python3
	else
		PY=python3
	fi
	if [ "$(id -u)" -ne 0 ]; then
		echo "FAIL: integration tests need root"
		exit 2
	fi
	if [ ! -x "$KPROXY" ]; then
		echo "FAIL: $KPROXY is not an executable"
		exit 2
	fi
	for tool in ip "$IPT_SAVE" "$IPT_RESTORE" "$PY"; do
		if ! command -v "$tool" >/dev/null 2>&1; then
			echo "FAIL: $tool not found"
			exit 2
		fi
	done
	P=kp$$
	CHECKS_PASSED=0
	CHECKS_FAILED=0
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/kproxy-it.XXXXXX") || exit 1
	# The state file lives alone in its directory: kproxy watches the
	# directory, and the logs next to it would wake it up for nothing.
	mkdir "$TMP/state"
	# shellcheck disable=SC2034 # used by the scenarios
	STATE=$TMP/state/cluster.json
	: >"$TMP/pods"
	trap lib_cleanup EXIT
	trap 'echo "FAIL: interrupted (SIGINT)"; exit 130' INT
	trap 'echo "FAIL: terminated (SIGTERM)"; exit 143' TERM
	trap 'echo "FAIL: hung up (SIGHUP)"; exit 129' HUP
	SECONDS0=$(date +%s)
}

# alive PID: the process exists and is not a zombie (kill -0 says yes to
# zombies, and a shell does not always reap its children promptly).
alive() {
	_st=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null)
	[ -n "$_st" ] && [ "$_st" != Z ]
}

# in_ns NAME CMD...: runs CMD inside the namespace NAME.
in_ns() {
	_ns=$1
	shift
	ip netns exec "$P-$_ns" "$@"
}

# Kills what this run started (by the ids it recorded, then whatever is left
# inside its own namespaces) and removes the namespaces and the temp dir.
lib_cleanup() {
	_status=$?
	set +e
	trap - EXIT INT TERM HUP
	for _f in "$TMP"/*.pid; do
		[ -f "$_f" ] || continue
		kill -TERM "$(cat "$_f")" 2>/dev/null
	done
	_i=0
	while [ $_i -lt 50 ]; do
		_alive=0
		for _f in "$TMP"/*.pid; do
			[ -f "$_f" ] || continue
			alive "$(cat "$_f")" && _alive=1
		done
		[ $_alive -eq 0 ] && break
		sleep 0.1
		_i=$((_i + 1))
	done
	for _n in $(ip netns list 2>/dev/null | awk -v p="$P-" 'index($1, p) == 1 { print $1 }'); do
		# Children such as an iptables-restore of a killed kproxy.
		for _pid in $(ip netns pids "$_n" 2>/dev/null); do
			kill -KILL "$_pid" 2>/dev/null
		done
	done
	for _n in $(ip netns list 2>/dev/null | awk -v p="$P-" 'index($1, p) == 1 { print $1 }'); do
		ip netns del "$_n" 2>/dev/null
	done
	rm -rf "$TMP"
	exit $_status
}

# ---- results ----------------------------------------------------------------

pass() {
	CHECKS_PASSED=$((CHECKS_PASSED + 1))
	echo "PASS: $*"
}

check_failed() {
	CHECKS_FAILED=$((CHECKS_FAILED + 1))
	echo "FAIL: $*"
}

# dump_logs: prints every kproxy log of this run.
dump_logs() {
	for _f in "$TMP"/kproxy-*.log; do
		[ -f "$_f" ] || continue
		echo "---- $(basename "$_f") (last 150 lines) ----"
		tail -n 150 "$_f"
	done
}

# fail MSG: a fatal error; prints the kproxy logs and exits (the trap cleans up).
fail() {
	echo "FAIL: $*"
	dump_logs
	exit 1
}

# finish: stops every kproxy (SIGTERM), checks their logs for sanitizer
# reports, prints the tally and exits 0 only when every check passed.
finish() {
	for _f in "$TMP"/kproxy-*.pid; do
		[ -f "$_f" ] || continue
		_node=$(basename "$_f" .pid)
		_node=${_node#kproxy-}
		if stop_kproxy "$_node"; then
			pass "kproxy on $_node exits 0 on SIGTERM"
		else
			check_failed "kproxy on $_node exited with status $_rc on SIGTERM"
		fi
	done
	for _f in "$TMP"/kproxy-*.log; do
		[ -f "$_f" ] || continue
		if grep -q -E 'AddressSanitizer|LeakSanitizer|runtime error:' "$_f"; then
			check_failed "sanitizer report in $(basename "$_f")"
		fi
	done
	_secs=$(($(date +%s) - SECONDS0))
	echo "$(basename "$0" .sh) [$BACKEND]: $CHECKS_PASSED passed, $CHECKS_FAILED failed in ${_secs}s"
	if [ "$CHECKS_FAILED" -ne 0 ]; then
		dump_logs
		exit 1
	fi
	exit 0
}

# ---- waiting ----------------------------------------------------------------

# wait_until DEADLINE_SECONDS CMD...: runs CMD every 0.1 s until it succeeds
# (return 0) or DEADLINE_SECONDS have passed (return 1). CMD's output is
# discarded; predicates leave what they saw in $SEEN for messages.
wait_until() {
	_wu_end=$(($(now_cs) + $1 * 100))
	shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(now_cs)" -ge "$_wu_end" ] && return 1
		sleep 0.1
	done
}

# now_cs: a monotonic clock in hundredths of a second (the system's uptime).
now_cs() {
	read -r _up _ </proc/uptime
	echo "${_up%.*}${_up#*.}"
}

# ---- topology ---------------------------------------------------------------

# ns_add NAME: a new namespace with its loopback up.
ns_add() {
	ip netns add "$P-$1" || fail "cannot create namespace $P-$1"
	ip -n "$P-$1" link set lo up
}

# switch_port NAME ADDR/LEN: connects namespace NAME (eth0) to the switch.
switch_port() {
	ip -n "$P-$1" link add eth0 type veth peer name "$1" netns "$P-net" ||
		fail "cannot create the veth of $1"
	ip -n "$P-net" link set "$1" master sw0 up
	ip -n "$P-$1" addr add "$2" dev eth0
	ip -n "$P-$1" link set eth0 up
}

# node_up NAME ADDR POD_GATEWAY: a node on the switch with a pod bridge.
node_up() {
	ns_add "$1"
	switch_port "$1" "$2/24"
	in_ns "$1" sysctl -q -w net.ipv4.ip_forward=1 || fail "cannot enable forwarding in $1"
	# A node forwards a client's packets to the other node out of the
	# interface they came in by, and would answer with ICMP redirects.
	# Those would teach the client a shortcut (so a test could no longer
	# say which node handled a request), and they use up the per-host ICMP
	# budget (6 at once, then 1 a second) that REJECT needs to answer
	# "refused".
	in_ns "$1" sysctl -q -w net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.default.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
	ip -n "$P-$1" link add cbr0 type bridge
	ip -n "$P-$1" addr add "$3/24" dev cbr0
	ip -n "$P-$1" link set cbr0 up
	# The clients, on-link on the same switch.
	ip -n "$P-$1" route add 203.0.113.0/24 dev eth0
	# The node's own traffic to a ClusterIP needs a route before kproxy's
	# DNAT picks the real destination; LoadBalancer and external IPs go
	# where a real node's default route would send them. Neither ever
	# leaves the node unless kproxy lets it.
	ip -n "$P-$1" route add 198.19.0.0/16 dev eth0
	ip -n "$P-$1" route add 198.51.100.0/24 dev eth0
}

# topology_up: the switch, both clients and both nodes (no pods yet).
topology_up() {
	ns_add net
	ip -n "$P-net" link add sw0 type bridge || fail "cannot create the switch"
	ip -n "$P-net" link set sw0 up
	for _c in client:203.0.113.2 client2:203.0.113.3; do
		ns_add "${_c%%:*}"
		switch_port "${_c%%:*}" "${_c#*:}/24"
		ip -n "$P-${_c%%:*}" route add 192.0.2.0/24 dev eth0
		ip -n "$P-${_c%%:*}" route add 198.51.100.0/24 via 192.0.2.10 dev eth0
	done
	node_up node-a 192.0.2.10 198.18.1.1
	node_up node-b 192.0.2.11 198.18.2.1
	ip -n "$P-node-a" route add 198.18.2.0/24 via 192.0.2.11 dev eth0
	ip -n "$P-node-b" route add 198.18.1.0/24 via 192.0.2.10 dev eth0
}

# add_pod NODE NAME IP [PORT...]: a pod namespace behind NODE's bridge,
# running echo.py NAME on PORTs (default $POD_PORTS), ready when this returns.
add_pod() {
	_node=$1
	_pod=$2
	_ip=$3
	shift 3
	_gw=${_ip%.*}.1
	ns_add "$_pod"
	ip -n "$P-$_pod" link add eth0 type veth peer name "v-$_pod" netns "$P-$_node" ||
		fail "cannot create the veth of pod $_pod"
	ip -n "$P-$_node" link set "v-$_pod" master cbr0 up
	# As the CNI bridge plugin's hairpinMode: with bridge netfilter, a
	# connection from a pod to a ClusterIP that DNATs back to the same pod
	# is bridged out of the port it came in by, which a bridge refuses
	# unless the port is in hairpin mode.
	ip -n "$P-$_node" link set "v-$_pod" type bridge_slave hairpin on
	ip -n "$P-$_pod" addr add "$_ip/24" dev eth0
	ip -n "$P-$_pod" link set eth0 up
	ip -n "$P-$_pod" route add default via "$_gw"
	echo "$_pod $_node $_ip" >>"$TMP/pods"
	# shellcheck disable=SC2048,SC2086 # the default is a list of ports
	add_echo "$_pod" "$_pod" ${*:-$POD_PORTS}
}

# add_echo POD NAME PORT...: one more echo server in POD, answering as NAME
# (so a test can tell which target port a connection reached).
add_echo() {
	_pod=$1
	_name=$2
	shift 2
	# Not through in_ns: a function put in the background is a subshell,
	# and $! would be the subshell's pid instead of the server's.
	ip netns exec "$P-$_pod" "$PY" "$INTEGRATION_DIR/echo.py" "$_name" "$@" \
		>"$TMP/echo-$_name.log" 2>&1 &
	echo $! >"$TMP/echo-$_name.pid"
	wait_until 10 grep -q '^ready' "$TMP/echo-$_name.log" ||
		fail "echo server $_name in pod $_pod did not start: $(cat "$TMP/echo-$_name.log")"
}

# ---- cluster state ----------------------------------------------------------

# set_state FILE: writes the state described on stdin (state.py's language)
# to FILE atomically: a temp file in the same directory, renamed over FILE.
set_state() {
	"$PY" "$INTEGRATION_DIR/state.py" "$TMP/pods" >"$1.next" || fail "state.py failed"
	mv -f "$1.next" "$1"
}

# set_state_raw FILE: the same with stdin copied as it is (for broken files).
set_state_raw() {
	cat >"$1.next"
	mv -f "$1.next" "$1"
}

# ---- kproxy -----------------------------------------------------------------

applied_count() {
	if [ -f "$TMP/kproxy-$1.log" ]; then
		grep -c 'sync: applied' "$TMP/kproxy-$1.log"
	else
		echo 0
	fi
}

kproxy_pid() {
	cat "$TMP/kproxy-$1.pid" 2>/dev/null
}

kproxy_running() {
	[ -f "$TMP/kproxy-$1.pid" ] && alive "$(kproxy_pid "$1")"
}

# wait_applied NODE N [DEADLINE]: waits until NODE's log has more than N
# "sync: applied" lines; fails at once when that kproxy has exited.
wait_applied() {
	_wa_end=$(($(now_cs) + ${3:-15} * 100))
	while [ "$(applied_count "$1")" -le "$2" ]; do
		kproxy_running "$1" || fail "kproxy on $1 exited"
		[ "$(now_cs)" -ge "$_wa_end" ] && fail "kproxy on $1 applied nothing new in ${3:-15}s"
		sleep 0.05
	done
}

# launch_kproxy NODE STATEFILE [FLAG...]: runs $KPROXY --from-file STATEFILE
# inside NODE in the background (log: $TMP/kproxy-NODE.log, appended to
# across restarts) and returns at once. --iptables-backend is $BACKEND_FLAG
# when set (e.g. auto), else $BACKEND.
launch_kproxy() {
	_lk_node=$1
	_lk_state=$2
	shift 2
	launch_kproxy_flags "$_lk_node" --from-file "$_lk_state" "$@"
}

# launch_kproxy_flags NODE FLAG...: the same with the source of the cluster
# state among FLAGs (--from-file FILE, --master "$API", --kubeconfig FILE).
# FLAGs come last, so they override the defaults (--iptables-sync-period 1s).
launch_kproxy_flags() {
	_node=$1
	shift
	echo "==== $(date +%T) start: $KPROXY $*" >>"$TMP/kproxy-$_node.log"
	ip netns exec "$P-$_node" "$KPROXY" --hostname-override "$_node" \
		--cluster-cidr "$CLUSTER_CIDR" --iptables-backend "${BACKEND_FLAG:-$BACKEND}" \
		--iptables-min-sync-period 0 --iptables-sync-period 1s "$@" \
		>>"$TMP/kproxy-$_node.log" 2>&1 &
	echo $! >"$TMP/kproxy-$_node.pid"
}

# start_kproxy NODE STATEFILE [FLAG...]: launch_kproxy, then returns once
# kproxy has logged a new "sync: applied".
start_kproxy() {
	_sk_before=$(applied_count "$1")
	launch_kproxy "$@"
	wait_applied "$1" "$_sk_before" 20
}

# stop_kproxy NODE [SIGNAL]: sends SIGNAL (default TERM) and waits for the
# exit. Returns kproxy's exit status.
stop_kproxy() {
	_pid=$(kproxy_pid "$1")
	[ -n "$_pid" ] || return 0
	kill "-${2:-TERM}" "$_pid" 2>/dev/null
	wait_until 10 eval "! alive $_pid" || fail "kproxy on $1 did not exit on SIG${2:-TERM}"
	wait "$_pid"
	_rc=$?
	rm -f "$TMP/kproxy-$1.pid"
	echo "==== $(date +%T) stopped by SIG${2:-TERM}: exit $_rc" >>"$TMP/kproxy-$1.log"
	return $_rc
}

# apply_state FILE: set_state, then waits until every running kproxy has
# applied a sync after the change.
apply_state() {
	_marks=""
	for _n in node-a node-b; do
		kproxy_running "$_n" && _marks="$_marks $_n:$(applied_count "$_n")"
	done
	set_state "$1"
	for _m in $_marks; do
		wait_applied "${_m%%:*}" "${_m#*:}"
	done
}

# log_lines NODE: how many lines NODE's kproxy log has now: the MARK of
# logged_since and expect_log, which look only at the lines after it.
log_lines() {
	wc -l <"$TMP/kproxy-$1.log"
}

# logged_since NODE MARK PATTERN: predicate: a line of NODE's kproxy log after
# line MARK matches the extended regex PATTERN.
# shellcheck disable=SC2317 # called through wait_until
logged_since() {
	tail -n +"$(($2 + 1))" "$TMP/kproxy-$1.log" | grep -q -E -- "$3"
}

# expect_log DESC NODE MARK PATTERN [DEADLINE]: NODE's kproxy logs a line
# matching PATTERN after line MARK within DEADLINE seconds (default 10); the
# check shows the first such line.
expect_log() {
	if wait_until "${5:-10}" logged_since "$2" "$3" "$4"; then
		pass "$1: kproxy logs: $(tail -n +"$(($3 + 1))" "$TMP/kproxy-$2.log" |
			grep -E -- "$4" | head -n 1 | cut -c 1-170)"
	else
		check_failed "$1: kproxy logged nothing matching /$4/"
	fi
}

# ipt_save NODE [TABLE]: the backend's iptables-save inside NODE.
ipt_save() {
	if [ -n "${2:-}" ]; then
		in_ns "$1" "$IPT_SAVE" -t "$2"
	else
		in_ns "$1" "$IPT_SAVE"
	fi
}

# kernel_lacks DESC NODE PATTERN: no rule in NODE's kernel matches the
# extended regex PATTERN.
kernel_lacks() {
	if ipt_save "$2" | grep -q -E -- "$3"; then
		check_failed "$1: the kernel still has /$3/: $(ipt_save "$2" | grep -E -- "$3" | head -n 2)"
	else
		pass "$1: no rule matches /$3/"
	fi
}

# rule_packets NODE TABLE PATTERN: the sum of the packet counters of the
# rules in TABLE whose iptables-save line matches the extended regex PATTERN.
rule_packets() {
	in_ns "$1" "$IPT_SAVE" -c -t "$2" | grep -E -- "$3" |
		sed -n 's/^\[\([0-9]*\):.*/\1/p' | awk '{ n += $1 } END { print n + 0 }'
}

# service_chains NODE SERVICE: the per-service chains (SVC, SVL, EXT, FW, SEP)
# that NODE's kernel holds for it/SERVICE, found through the rules' comments.
service_chains() {
	ipt_save "$1" | grep -E -- "--comment \"?it/$2:" |
		grep -o -E 'KPROXY-(SVC|SVL|EXT|FW|SEP)-[A-Z0-9]+' | sort -u | xargs
}

# chains_gone NODE CHAIN...: predicate: none of CHAINs exists in NODE (as a
# chain or a jump target); SEEN lists those that still do.
chains_gone() {
	_cg_node=$1
	shift
	_cg_save=$(ipt_save "$_cg_node")
	SEEN=
	for _c in "$@"; do
		if printf '%s\n' "$_cg_save" | grep -q -w -F -- "$_c"; then
			SEEN="$SEEN $_c"
		fi
	done
	SEEN=${SEEN# }
	[ -n "$SEEN" ] && return 1
	SEEN="none of the $# left"
}

# jumps_first NODE: predicate: in each built-in chain kproxy jumps from (nat
# PREROUTING, OUTPUT, POSTROUTING; filter INPUT, FORWARD, OUTPUT) its jumps
# come before every other rule, whoever's rules were there first. SEEN names
# the chains where they do not, or have no jump at all.
jumps_first() {
	SEEN=$(ipt_save "$1" | awk '
		/^\*/ { t = substr($1, 2); next }
		$1 != "-A" { next }
		t == "nat" && $2 !~ /^(PREROUTING|OUTPUT|POSTROUTING)$/ { next }
		t == "filter" && $2 !~ /^(INPUT|FORWARD|OUTPUT)$/ { next }
		t != "nat" && t != "filter" { next }
		{ c = t "/" $2 }
		/ -j KPROXY-[A-Z-]*( |$)/ { ours[c]++; if (others[c]) late[c] = 1; next }
		{ others[c]++ }
		END {
			n = split("nat/PREROUTING nat/OUTPUT nat/POSTROUTING filter/INPUT filter/FORWARD filter/OUTPUT", all, " ")
			for (i = 1; i <= n; i++) {
				c = all[i]
				if (!ours[c])
					print c ": no kproxy jump"
				else if (late[c])
					print c ": another rule before a kproxy jump"
			}
		}' | xargs)
	if [ -z "$SEEN" ]; then
		SEEN="kproxy's jumps come first in all 6 built-in chains"
		return 0
	fi
	return 1
}

# ---- the fake API server ----------------------------------------------------
#
# test/fakeapi.py runs in node-a, on its 127.0.0.1, and is driven through
# apictl.py; a kproxy in node-a follows it with --master "$API" (or a
# kubeconfig naming it).

# start_api [FLAG...]: starts fakeapi.py with FLAGs (--port 0: any free port;
# --tls-cert FILE --tls-key FILE: HTTPS), waits until it listens and sets API
# to its URL. $TMP/fakeapi.pid is its pid (the cleanup kills it).
start_api() {
	case " $* " in
	*" --tls-cert "*) _sa_scheme=https ;;
	*) _sa_scheme=http ;;
	esac
	: >"$TMP/fakeapi.out"
	# Not through in_ns: $! must be the server's pid.
	ip netns exec "$P-node-a" "$PY" "$INTEGRATION_DIR/../fakeapi.py" "$@" \
		>"$TMP/fakeapi.out" 2>>"$TMP/fakeapi.err" &
	echo $! >"$TMP/fakeapi.pid"
	wait_until 10 grep -q '^PORT ' "$TMP/fakeapi.out" ||
		fail "the fake API server did not start: $(cat "$TMP/fakeapi.err")"
	API=$_sa_scheme://127.0.0.1:$(awk '/^PORT / { print $2 }' "$TMP/fakeapi.out")
}

# api CMD [ARG...]: apictl.py CMD against the fake API server (see apictl.py
# for the commands), with "--ca $API_CA" when API_CA is set (HTTPS).
api() {
	in_ns node-a "$PY" "$INTEGRATION_DIR/apictl.py" ${API_CA:+--ca "$API_CA"} "$API" "$@"
}

# api_state [--before CMD] [--after CMD]: makes the API server hold the state
# described on stdin (state.py's language), in one atomic control request
# with the CMDs; $TMP/api.json is what it holds (the caller starts it as an
# empty List, or as what the server was started with).
api_state() {
	set_state "$TMP/want.json"
	api sync "$TMP/want.json" "$TMP/api.json" "$@" >"$TMP/apictl.out" ||
		fail "apictl sync: $(cat "$TMP/apictl.out")"
	mv "$TMP/want.json" "$TMP/api.json"
}

# ---- probes -----------------------------------------------------------------

# probe FROM PROTO HOST PORT [probe.py options]: runs probe.py in namespace
# FROM and prints its answers ("NAME CLIENT_IP" or "ERROR reason").
probe() {
	_from=$1
	shift
	in_ns "$_from" "$PY" "$INTEGRATION_DIR/probe.py" "$@"
}

# probe_set AWK FROM PROTO HOST PORT [COUNT [TIMEOUT [OPTION...]]]: sends
# COUNT requests (default 1, TIMEOUT default 2 s, OPTIONs passed to
# probe.py) and prints the sorted set of what AWK makes of each answer, on
# one line; a failure shows as ERROR-<reason>.
probe_set() {
	_ps_awk=$1
	_ps_from=$2
	_ps_proto=$3
	_ps_host=$4
	_ps_port=$5
	_ps_count=${6:-1}
	_ps_timeout=${7:-2}
	shift 5
	[ $# -gt 0 ] && shift
	[ $# -gt 0 ] && shift
	probe "$_ps_from" "$_ps_proto" "$_ps_host" "$_ps_port" --count "$_ps_count" \
		--timeout "$_ps_timeout" "$@" |
		awk '$1 == "ERROR" { print "ERROR-" $2; next } '"$_ps_awk" | sort -u | xargs
}

# probe_names FROM PROTO HOST PORT [COUNT [TIMEOUT [OPTION...]]]: the set of
# answering pods.
# shellcheck disable=SC2016 # an awk program
probe_names() {
	probe_set '{ print $1 }' "$@"
}

# probe_sources ...: the set of client addresses the pods saw.
# shellcheck disable=SC2016 # an awk program
probe_sources() {
	probe_set '{ print $2 }' "$@"
}

# probe_answers ...: the set of whole answers, as pod@client-address.
# shellcheck disable=SC2016 # an awk program
probe_answers() {
	probe_set '{ print $1 "@" $2 }' "$@"
}

# names_are WANT FROM PROTO HOST PORT [COUNT [TIMEOUT [OPTION...]]]:
# predicate; SEEN keeps the last answer set.
names_are() {
	_want=$1
	shift
	SEEN=$(probe_names "$@")
	[ "$SEEN" = "$_want" ]
}

sources_are() {
	_want=$1
	shift
	SEEN=$(probe_sources "$@")
	[ "$SEEN" = "$_want" ]
}

answers_are() {
	_want=$1
	shift
	SEEN=$(probe_answers "$@")
	[ "$SEEN" = "$_want" ]
}

# expect_names DESC WANT FROM PROTO HOST PORT [COUNT [TIMEOUT [OPTION...]]]:
# one check: COUNT requests from FROM are answered by exactly the pods in
# WANT (sorted, space-separated; "ERROR-timeout" etc. for failures).
expect_names() {
	_desc=$1
	shift
	if names_are "$@"; then
		pass "$_desc: $SEEN"
	else
		check_failed "$_desc: want '$1', got '$SEEN'"
	fi
}

# expect_sources DESC WANT FROM PROTO HOST PORT [...]: the pods
# saw exactly the client addresses in WANT.
expect_sources() {
	_desc=$1
	shift
	if sources_are "$@"; then
		pass "$_desc: $SEEN"
	else
		check_failed "$_desc: want '$1', got '$SEEN'"
	fi
}

# expect_answers DESC WANT FROM PROTO HOST PORT [...]: exactly
# the answers pod@client in WANT.
expect_answers() {
	_desc=$1
	shift
	if answers_are "$@"; then
		pass "$_desc: $SEEN"
	else
		check_failed "$_desc: want '$1', got '$SEEN'"
	fi
}

# eventually DEADLINE DESC PREDICATE ARGS...: polls PREDICATE (names_are,
# sources_are, answers_are or any command setting SEEN) until it holds.
eventually() {
	_deadline=$1
	_desc=$2
	shift 2
	SEEN=
	if wait_until "$_deadline" "$@"; then
		pass "$_desc: $SEEN"
		return 0
	fi
	case $1 in
	names_are | sources_are | answers_are)
		check_failed "$_desc: want '$2', still '$SEEN' after ${_deadline}s"
		;;
	*)
		check_failed "$_desc: still '$SEEN' after ${_deadline}s"
		;;
	esac
}
