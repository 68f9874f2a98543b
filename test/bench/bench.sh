#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# kproxy benchmark: `make bench` (full) and `make bench-quick` (CI smoke test).
#
#   1. generation: time and peak memory to build the full payload (gen_bench),
#      payload size; reference: the kube-proxy-shaped generator
#      (gen_kp_rules.py) for the same S x E
#   2. cold start: from kproxy's exec to its rules in the kernel; references:
#      iptables-restore of kproxy's own payload in flush mode into an empty
#      namespace (the floor) and a kube-proxy-shaped --noflush payload (capped)
#   3. one endpoint change and 4. one Service removed / added: from the rename
#      of the state file to the rule in the kernel, median and p99; references:
#      a minimal --noflush delta of the same chains (the floor) and the
#      kube-proxy-shaped partial-sync payload of the same change, measured the
#      same way and interleaved with kproxy's changes
#   5. memory: kproxy's RSS, and the iptables-restore child's peak
#   6. data path: new TCP connections per second from a pod to the first and
#      the last ClusterIP in nat dispatch order, and with 10 Services
#
# on each backend (nft, legacy). Nothing is asserted about times: the script
# prints a table, and exits 0 when every measurement ran, 1 when something
# broke (a tool or a restore failed, kproxy exited or did not get its rules
# into the kernel within --cold-cap, connections failed), 2 on bad usage. A
# reference that hits its cap is a result (">120 s"), not a failure.
#
# Everything runs in network namespaces named kpb<pid>-*, created here and
# removed by the exit trap; nothing touches the root namespace. Legacy
# iptables locks go to a private lock file per namespace (XTABLES_LOCKFILE).
#
# Usage: test/bench/bench.sh [--quick] [--build DIR] [--backends "nft legacy"]
#	[--services "1000 10000"] [--change-services N] [--changes N]
#	[--watch-changes N] [--conn-seconds S] [--conn-reps N] [--kube-cap S] [--cold-cap S]
#	[--kproxy-args "--iptables-restore-timeout 30m ..."] [--no-staged]
#	[--stage-step N] [--results FILE] [--keep]
# Defaults: full: --services "1000 10000" --changes 50 --watch-changes 100 --conn-seconds 4
#	--conn-reps 3 --kube-cap 120 --cold-cap 330 (kproxy's own restore timeout
#	is 5 min); --quick: --services 1000 --changes 10 --watch-changes 10 --conn-seconds 1
#	--conn-reps 1 --kube-cap 30 --cold-cap 120. Changes and the data path run
#	at the largest size (--change-services). When kproxy's cold start at that
#	size hits --cold-cap (nft at 10k), the run records that and then brings
#	a new kproxy there through partial syncs of --stage-step (1000) Services
#	each, so that the changes and the data path are still measured
#	(--no-staged: skip them instead).
# Needs: root, ip, iptables-{nft,legacy}-{restore,save}, python3, curl,
# pgrep, and in DIR: kproxy, bench/gen_bench, bench/kpbench (built by the
# Makefile; built here with cc when missing). The kube-proxy-shaped payloads
# come from $GEN_KP (default ../shared/reference/gen_kp_rules.py beside the
# repository) when it exists, else from benchutil.py kubeshape.
set -u

QUICK=0
BUILD=build
BACKENDS="nft legacy"
SIZES=""
SC=""
CHANGES=""
WATCH_CHANGES=""
CONN_SECS=""
CONN_REPS=""
KUBE_CAP=""
COLD_CAP=""
RESULTS_OUT=""
KPROXY_ARGS=""
STAGED=1
STAGE_STEP=1000
STAGE_CAP=600
KEEP=0
E=10
CHANGE_CAP=60
NODE=node-0
CIDR=172.16.0.0/12

usage() {
	sed -n '/^# Usage:/,/^# Needs:/p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 ;;
	--build) BUILD=${2:?}; shift ;;
	--backends) BACKENDS=${2:?}; shift ;;
	--services) SIZES=${2:?}; shift ;;
	--change-services) SC=${2:?}; shift ;;
	--changes) CHANGES=${2:?}; shift ;;
	--watch-changes) WATCH_CHANGES=${2:?}; shift ;;
	--conn-seconds) CONN_SECS=${2:?}; shift ;;
	--conn-reps) CONN_REPS=${2:?}; shift ;;
	--kube-cap) KUBE_CAP=${2:?}; shift ;;
	--kproxy-args) KPROXY_ARGS=${2:?}; shift ;;
	--no-staged) STAGED=0 ;;
	--stage-step) STAGE_STEP=${2:?}; shift ;;
	--cold-cap) COLD_CAP=${2:?}; shift ;;
	--results) RESULTS_OUT=${2:?}; shift ;;
	--keep) KEEP=1 ;;
	-h | --help) usage ;;
	*) echo "bench: unknown argument $1" >&2; usage ;;
	esac
	shift
done

if [ $QUICK -eq 1 ]; then
	: "${SIZES:=1000}" "${CHANGES:=10}" "${WATCH_CHANGES:=10}" "${CONN_SECS:=1}" "${CONN_REPS:=1}"
	: "${KUBE_CAP:=30}" "${COLD_CAP:=120}"
else
	: "${SIZES:=1000 10000}" "${CHANGES:=50}" "${WATCH_CHANGES:=100}" "${CONN_SECS:=4}" "${CONN_REPS:=3}"
	: "${KUBE_CAP:=120}" "${COLD_CAP:=330}"
fi
# Changes and the data path run at the largest size unless told otherwise.
if [ -z "$SC" ]; then
	for s in $SIZES; do
		{ [ -z "$SC" ] || [ "$s" -gt "$SC" ]; } && SC=$s
	done
fi
case " $SIZES " in
*" $SC "*) ;;
*) SIZES="$SIZES $SC" ;;
esac
for b in $BACKENDS; do
	case $b in
	nft | legacy) ;;
	*) echo "bench: backend must be nft or legacy, not $b" >&2; exit 2 ;;
	esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
case $BUILD in
/*) ;;
*) BUILD=$ROOT/$BUILD ;;
esac
# The kube-proxy-shaped reference payloads: the shared reference generator when
# it is there (its figures are those of performance-anchors.md), otherwise
# benchutil.py's own equivalent (same layout and sizes).
: "${GEN_KP:=$ROOT/../shared/reference/gen_kp_rules.py}"
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi
U="$PY $HERE/benchutil.py"

if [ "$(id -u)" -ne 0 ]; then
	echo "bench: needs root (network namespaces, iptables)" >&2
	exit 2
fi
for tool in ip curl pgrep cc "$PY"; do
	command -v "$tool" >/dev/null 2>&1 || { echo "bench: $tool not found" >&2; exit 2; }
done
for b in $BACKENDS; do
	for t in restore save; do
		command -v "iptables-$b-$t" >/dev/null 2>&1 ||
			{ echo "bench: iptables-$b-$t not found" >&2; exit 2; }
	done
done
# KUBE_GEN -s S -e E [--changed N --generation G] [--jumps]: a full payload.
if [ -f "$GEN_KP" ]; then
	KUBE_GEN=("$PY" "$GEN_KP")
	KUBE_GEN_NAME=gen_kp_rules.py
else
	KUBE_GEN=("$PY" "$HERE/benchutil.py" kubeshape)
	KUBE_GEN_NAME="benchutil.py kubeshape"
fi
[ -x "$BUILD/kproxy" ] || { echo "bench: $BUILD/kproxy missing (make $BUILD/kproxy)" >&2; exit 2; }

# Helpers of the bench, built here.
mkdir -p "$BUILD/bench"
if [ ! -x "$BUILD/bench/kpbench" ] || [ "$HERE/kpbench.c" -nt "$BUILD/bench/kpbench" ]; then
	cc -O2 -std=c11 -D_GNU_SOURCE -o "$BUILD/bench/kpbench" "$HERE/kpbench.c" || exit 1
fi
# gen_bench links the generator's objects: relinked every run, so it never
# measures an older generator than build/kproxy's.
# shellcheck disable=SC2046
(cd "$ROOT" && cc -O2 -std=c11 -D_GNU_SOURCE -I. $(pkg-config --cflags libcjson) \
	-o "$BUILD/bench/gen_bench" test/bench/gen_bench.c \
	$(find "$BUILD" -mindepth 2 -maxdepth 2 -name '*.o' ! -path '*/proxy/main.o' | sort) \
	$(pkg-config --libs libcurl libcjson libmnl libip4tc libmicrohttpd yaml-0.1 libcrypto)) ||
	exit 1

P=kpb$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/kproxy-bench.XXXXXX") || exit 1
RES=$TMP/results.tsv
STATUS=0
T_START=$(date +%s)

# ---- cleanup --------------------------------------------------------------

# ns_kill_all NAME: kills what runs in one of our namespaces.
ns_kill_all() {
	local _pid
	for _pid in $(ip netns pids "$P-$1" 2>/dev/null); do
		kill -KILL "$_pid" 2>/dev/null
	done
}

ns_del() {
	ns_kill_all "$1"
	ip netns del "$P-$1" 2>/dev/null
}

cleanup() {
	_st=$?
	set +e
	trap - EXIT INT TERM HUP
	for _f in "$TMP"/*.pid; do
		[ -f "$_f" ] && kill -TERM "$(cat "$_f")" 2>/dev/null
	done
	sleep 0.2
	for _n in $(ip netns list 2>/dev/null | awk -v p="$P-" 'index($1, p) == 1 { print $1 }'); do
		ns_del "${_n#"$P"-}"
	done
	if [ $KEEP -eq 1 ]; then
		echo "bench: kept $TMP"
	else
		rm -rf "$TMP"
	fi
	exit $_st
}
trap cleanup EXIT
trap 'echo "bench: interrupted"; exit 130' INT
trap 'echo "bench: terminated"; exit 143' TERM
trap 'exit 129' HUP

fail() {
	echo "bench: FAILED: $*" >&2
	STATUS=1
}

die() {
	echo "bench: FAILED: $*" >&2
	exit 1
}

say() {
	echo "bench: [$(($(date +%s) - T_START))s] $*" >&2
}

# ---- machine, versions, binaries --------------------------------------------

NPROC=$(nproc)
CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
[ -n "$CPU" ] || CPU=$(uname -m)
MACHINE="${NPROC}x $CPU"
KVER=$(uname -r)
ipt_version() {
	"iptables-$1" --version 2>/dev/null | sed -n 's/^iptables \(v[^ ]*\).*/\1/p'
}
mkdir -p "$TMP/bin" "$TMP/wrap" "$TMP/state" "$TMP/stage"
# Frozen copies: a rebuild during the run does not change what is measured.
cp "$BUILD/kproxy" "$BUILD/bench/kpbench" "$BUILD/bench/gen_bench" "$TMP/bin/" || exit 1
KPROXY=$TMP/bin/kproxy
KPB=$TMP/bin/kpbench
KPVER=$("$KPROXY" --version 2>/dev/null | head -n 1)
GITREV=$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)
STATE=$TMP/state/cluster.json
WRAPLOG=$TMP/wrap.log
: >"$WRAPLOG"

# Every iptables-*-restore and -save kproxy and the references run goes
# through a wrapper that records its peak RSS (kB) and wall time.
for b in nft legacy; do
	for t in restore save; do
		real=$(command -v "iptables-$b-$t" 2>/dev/null) || continue
		cat >"$TMP/wrap/iptables-$b-$t" <<EOF
#!/bin/sh
exec "$KPB" rusage "$WRAPLOG" "\${KPB_TAG:-none}" iptables-$b-$t "$real" "\$@"
EOF
		chmod +x "$TMP/wrap/iptables-$b-$t"
	done
done

# ---- namespaces ----------------------------------------------------------------

ns_add() {
	ip netns add "$P-$1" || die "ip netns add $P-$1"
	ip -n "$P-$1" link set lo up
}

# in_ns NAME CMD...: CMD in namespace NAME, with the wrappers first in PATH
# and the namespace's own xtables lock file.
in_ns() {
	local _n=$1
	shift
	ip netns exec "$P-$_n" env PATH="$TMP/wrap:$PATH" KPB_TAG="$_n" \
		XTABLES_LOCKFILE="$TMP/xtables-$_n.lock" "$@"
}

# Node namespace "node" between a pod "pod" and a server "srv". The pod
# (172.31.0.2, inside the cluster CIDR) routes everything through the node;
# the node routes the endpoint addresses (172.16.0.0/13: all of
# gen_cluster.py's) to srv, which answers on all of them (a local route).
topology_up() {
	ns_add node
	ns_add pod
	ns_add srv
	ip -n "$P-node" link add vpod type veth peer name eth0 netns "$P-pod" || die "veth"
	ip -n "$P-node" link add vsrv type veth peer name eth0 netns "$P-srv" || die "veth"
	ip -n "$P-node" addr add 172.31.0.1/24 dev vpod
	ip -n "$P-node" addr add 192.168.250.1/30 dev vsrv
	ip -n "$P-node" link set vpod up
	ip -n "$P-node" link set vsrv up
	ip -n "$P-node" route add 172.16.0.0/13 via 192.168.250.2
	ip netns exec "$P-node" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$P-pod" addr add 172.31.0.2/24 dev eth0
	ip -n "$P-pod" link set eth0 up
	ip -n "$P-pod" route add default via 172.31.0.1
	ip netns exec "$P-pod" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	ip -n "$P-srv" addr add 192.168.250.2/30 dev eth0
	ip -n "$P-srv" link set eth0 up
	ip -n "$P-srv" route add default via 192.168.250.1
	ip -n "$P-srv" route add local 172.16.0.0/13 dev lo
}

# ---- results ---------------------------------------------------------------------

printf 'sec\tmeasure\tS x E\tbackend\tiptables\tkproxy\treference\tref value\tratio\ttarget\tmachine\n' >"$RES"

# row SEC MEASURE SIZE BACKEND KPROXY REFNAME REFVALUE RATIO TARGET
row() {
	local _ipt=-
	[ "$4" = - ] || _ipt=$(ipt_version "$4")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$_ipt" "$5" "$6" \
		"$7" "$8" "$9" "$MACHINE" >>"$RES"
}

# ratio A B [A_CAPPED B_CAPPED]: A/B as "1.23x". A capped (only a lower
# bound): ">1.23x"; B capped: "<1.23x"; both: "?".
ratio() {
	awk -v a="$1" -v b="$2" -v ca="${3:-0}" -v cb="${4:-0}" 'BEGIN {
		if (a == "" || b == "" || a != a + 0 || b != b + 0 || b == 0) { print "-"; exit }
		if (ca && cb) { print "? (both capped)"; exit }
		printf "%s%.2fx\n", (ca ? ">" : (cb ? "<" : "")), a / b }'
}

# fmt_ms MS: "850 ms" or "12.3 s".
fmt_ms() {
	awk -v v="$1" 'BEGIN {
		if (v != v + 0) { print v; exit }
		if (v >= 10000) printf "%.1f s\n", v / 1000
		else if (v >= 1000) printf "%.2f s\n", v / 1000
		else printf "%.0f ms\n", v }'
}

mb() {
	awk -v v="$1" 'BEGIN { if (v != v + 0) print v; else printf "%.1f MB\n", v / 1024 }'
}

# ---- data --------------------------------------------------------------------------

# prepare_size S: state files, kproxy's payloads, kube-proxy-shaped payloads.
prepare_size() {
	local _s=$1 _d=$TMP/data/$1
	[ -d "$_d" ] && return 0
	mkdir -p "$_d"
	say "preparing $_s services x $E endpoints"
	$PY "$HERE/gen_cluster.py" "$_s" $E >"$_d/base.json" || die gen_cluster
	"$KPROXY" --dry-run --from-file "$_d/base.json" --hostname-override $NODE \
		--cluster-cidr $CIDR >"$_d/base.rules" 2>"$_d/dryrun.err" || die "kproxy --dry-run"
	# The kube-proxy-shaped generator, timed: the reference of section 1.
	"$KPB" rusage "$_d/kube-gen.rusage" gen kube_gen "${KUBE_GEN[@]}" -s "$_s" -e $E --jumps \
		>"$_d/kube-base.rules" || die "$KUBE_GEN_NAME"
	# Cold-start condition: the first and last nat chains of each payload.
	$U chains "$_d/base.rules" nat | sed -n '1p;$p' >"$_d/cold.exist"
	$U chains "$_d/kube-base.rules" nat | sed -n '1p;$p' >"$_d/kube-cold.exist"
}

# prepare_changes S: the states and payloads of the change series.
prepare_changes() {
	local _s=$1 _d=$TMP/data/$1 _skip=$(($1 / 2)) g st p1 p2
	[ -f "$_d/ready" ] && return 0
	say "preparing the change series at $_s services"
	# Endpoints of service 0 moved (generations 1 and 2), service S/2 removed;
	# kube-proxy shape: service 0 moved, the last Service removed. The
	# generators run side by side.
	for g in 1 2; do
		$PY "$HERE/gen_cluster.py" "$_s" $E --generation $g --changed 1 >"$_d/g$g.json" &
		p1=$!
		"${KUBE_GEN[@]}" -s "$_s" -e $E --changed 1 --generation $g >"$_d/kube-$g.rules" &
		p2=$!
		wait $p1 && wait $p2 || die "gen_cluster.py or $KUBE_GEN_NAME"
	done
	$PY "$HERE/gen_cluster.py" "$_s" $E --skip $_skip >"$_d/skip.json" &
	p1=$!
	"${KUBE_GEN[@]}" -s $((_s - 1)) -e $E >"$_d/kube-s.rules" &
	p2=$!
	wait $p1 && wait $p2 || die "gen_cluster.py or $KUBE_GEN_NAME"
	cp "$_d/kube-base.rules" "$_d/kube-0.rules"
	cp "$_d/base.rules" "$_d/kp-0.rules"
	for st in 1:g1 2:g2 s:skip; do
		"$KPROXY" --dry-run --from-file "$_d/${st#*:}.json" --hostname-override $NODE \
			--cluster-cidr $CIDR >"$_d/kp-${st%%:*}.rules" 2>/dev/null || die "kproxy --dry-run"
	done
	$U prepare "$_d" 0-1 1-2 2-1 1-0 2-0 0-s s-0 || die "benchutil prepare"
	touch "$_d/ready"
}

# ---- measuring --------------------------------------------------------------------

# wait_out: the last kpbench wait's output line ("ok MS T0" ...).
WAIT_OUT=""
WAIT_RC=0

# kwait NS BACKEND EXIST GONE TIMEOUT ACTION...: kpbench wait in NS. On
# nf_tables the kernel is polled (one cheap GETCHAIN per chain). On x_tables
# a read copies the whole table under its mutex (0.5 s at 10k Services), so
# polling would both blur the time and slow the restore it waits for: the
# time is taken when the namespace's iptables-restore exits (from its
# wrapper's log line) and the kernel is read once then to confirm.
kwait() {
	local _n=$1 _b=$2 _ex=$3 _go=$4 _to=$5
	shift 5
	if [ "$_b" = legacy ]; then
		set -- --legacy --exit-log "$WRAPLOG" "$_n" "$@"
	fi
	WAIT_OUT=$(in_ns "$_n" "$KPB" wait --exists-file "$_ex" --gone-file "$_go" \
		--timeout "$_to" "$@" 2>>"$TMP/kpbench.err")
	WAIT_RC=$?
}

wait_ms() {
	echo "$WAIT_OUT" | awk '$1 == "ok" || $1 == "timeout" { print $2; exit }'
}

wait_t0() {
	echo "$WAIT_OUT" | awk '$1 == "ok" || $1 == "timeout" { print $3; exit }'
}

# restore_peak TAG [N]: peak RSS (kB) of the last N (default 1) restores run in TAG.
restore_peak() {
	awk -v t="$1" '$1 == t && $2 ~ /-restore$/ { print $3 }' "$WRAPLOG" | tail -n "${2:-1}" |
		sort -n | tail -n 1
}

applied_count() {
	grep -c 'sync: applied' "$1" 2>/dev/null
}

# wait_applied LOG N [SECS]: until LOG has more than N "sync: applied" lines
# (at most SECS, default 60).
wait_applied() {
	local _i=0 _max=$((${3:-60} * 50))
	while [ "$(applied_count "$1")" -le "$2" ]; do
		_i=$((_i + 1))
		[ $_i -gt $_max ] && return 1
		sleep 0.02
	done
	return 0
}

# kp_tail: the end of kproxy's log (without the health-check port noise) and
# of the wrappers' log, after a failure.
kp_tail() {
	echo "---- $KP_LOG (last 25 lines) ----" >&2
	grep -v 'health check node port' "$KP_LOG" | tail -n 25 >&2
	echo "---- restores (last 10) ----" >&2
	tail -n 10 "$WRAPLOG" >&2
}

# kproxy_errors LOG: restores that failed (not merely killed by the timeout).
kproxy_errors() {
	grep -E 'iptables-restore failed|cannot run|payload around line' "$1" | head -n 5
}

# start_kproxy BACKEND STATEFILE COLD_EXIST CAP: starts kproxy in "node" and
# waits for the rules; sets KP_PID, KP_LOG, KP_MS (or ">CAP").
KP_N=0
start_kproxy() {
	local _b=$1 _err
	KP_N=$((KP_N + 1))
	KP_LOG=$TMP/kproxy-$_b-$KP_N.log
	KP_WRAP0=$(wc -l <"$WRAPLOG")
	cp "$2" "$STATE"
	kwait node "$_b" "$3" /dev/null "$4" --interval 5 --daemon "$KP_LOG" "$TMP/kproxy.pid" -- \
		"$KPROXY" --from-file "$STATE" --hostname-override $NODE --cluster-cidr $CIDR \
		--iptables-backend "$_b" --iptables-min-sync-period 0 -v 2 $KPROXY_ARGS # split on purpose
	KP_PID=$(cat "$TMP/kproxy.pid" 2>/dev/null)
	KP_T0=$(wait_t0)
	case $WAIT_RC in
	0)
		KP_MS=$(wait_ms)
		wait_applied "$KP_LOG" 0 || fail "kproxy: rules in the kernel but no 'applied' log line"
		;;
	3)
		KP_MS=">$4 s"
		fail "$_b: kproxy had not put its rules in the kernel after $4 s"
		kp_tail
		;;
	*)
		KP_MS=failed
		fail "kproxy did not start: $WAIT_OUT"
		kp_tail
		;;
	esac
	_err=$(kproxy_errors "$KP_LOG")
	if [ -n "$_err" ]; then
		fail "kproxy's restore failed:"
		echo "$_err" >&2
		kp_tail
	fi
}

stop_kproxy() {
	local _i
	[ -n "${KP_PID:-}" ] || return 0
	kill -TERM "$KP_PID" 2>/dev/null
	_i=0
	while kill -0 "$KP_PID" 2>/dev/null && [ $_i -lt 100 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
	kill -KILL "$KP_PID" 2>/dev/null
	rm -f "$TMP/kproxy.pid"
	KP_PID=""
}

# rss PID FIELD: VmRSS or VmHWM in kB.
rss() {
	awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null
}

# descendants PID: its children, grandchildren...
descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		descendants "$c"
	done
}

# ---- 1. generation -------------------------------------------------------------------

section_generation() {
	local s _d _runs rules chains bytes _gen _peak _krules _kchains _kbytes _kgen _kpeak
	for s in $SIZES; do
		prepare_size "$s"
		_d=$TMP/data/$s
		say "generation at $s x $E"
		_runs=5
		[ "$s" -le 1000 ] && _runs=9
		"$TMP/bin/gen_bench" "$_d/base.json" $NODE $_runs >"$_d/gen_bench.out" 2>&1 ||
			{ fail "gen_bench"; cat "$_d/gen_bench.out" >&2; continue; }
		read -r _ _ _ _ _ rules _ chains _ bytes < <(grep '^services' "$_d/gen_bench.out")
		_gen=$(awk '/^generation median/ { print $3 * 1000 }' "$_d/gen_bench.out")
		_peak=$(awk '/^rss model/ { print $(NF-1) }' "$_d/gen_bench.out")
		_krules=$(grep -c '^-A' "$_d/kube-base.rules")
		_kchains=$(grep -c '^:' "$_d/kube-base.rules")
		_kbytes=$(wc -c <"$_d/kube-base.rules")
		read -r _ _ _kpeak _kgen _ <"$_d/kube-gen.rusage"
		_kgen=$(awk -v v="$_kgen" 'BEGIN { print v * 1000 }')
		row 1 "generation time (median)" "${s}x$E" - "$(fmt_ms "$_gen")" \
			"$KUBE_GEN_NAME (Python), one run" "$(fmt_ms "$_kgen")" "$(ratio "$_gen" "$_kgen")" \
			"<0.25 s"
		row 1 "generation peak RSS (state + model + payload)" "${s}x$E" - "$(mb "$_peak")" \
			"$KUBE_GEN_NAME (Python)" "$(mb "$_kpeak")" "$(ratio "$_peak" "$_kpeak")" -
		row 1 "payload rules" "${s}x$E" - "$rules" "kube-proxy shape" "$_krules" \
			"$(ratio "$rules" "$_krules")" -
		row 1 "payload chains" "${s}x$E" - "$chains" "kube-proxy shape" "$_kchains" \
			"$(ratio "$chains" "$_kchains")" -
		row 1 "payload bytes" "${s}x$E" - "$(mb $((bytes / 1024)))" "kube-proxy shape" \
			"$(mb $((_kbytes / 1024)))" "$(ratio "$bytes" "$_kbytes")" -
	done
}

# ---- 2 and 5. cold start and memory ----------------------------------------------------

# cold_start BACKEND S: leaves "node" (kproxy running), "floor" and "kube"
# (loaded) when S is the change size; removes them otherwise.
cold_start() {
	local _b=$1 _s=$2 _d=$TMP/data/$2 _kpms _kpeak _ph _kpv _kv _when n p x
	say "$_b: cold start at $_s x $E"
	# The floor: kproxy's own payload, flush mode, empty namespace.
	ns_add floor
	kwait floor "$_b" "$_d/cold.exist" /dev/null "$COLD_CAP" --interval 5 --input "$_d/base.rules" \
		-- "iptables-$_b-restore" --counters -w 5 -W 100000
	[ $WAIT_RC -eq 0 ] || { fail "$_b: flush-mode restore of kproxy's payload: $WAIT_OUT"; return 1; }
	FLOOR_MS=$(wait_ms)
	FLOOR_PEAK=$(restore_peak floor)
	# kube-proxy shape, --noflush (capped).
	ns_add kube
	kwait kube "$_b" "$_d/kube-cold.exist" /dev/null "$KUBE_CAP" --interval 5 \
		--input "$_d/kube-base.rules" -- "iptables-$_b-restore" --noflush --counters -w 5 -W 100000
	case $WAIT_RC in
	0) KUBE_MS=$(wait_ms) KUBE_CAPPED=0 ;;
	3)
		KUBE_MS=$((KUBE_CAP * 1000)) KUBE_CAPPED=1
		ns_kill_all kube
		;;
	*) fail "$_b: kube-proxy-shaped restore: $WAIT_OUT"; return 1 ;;
	esac
	# kproxy itself.
	topology_up
	start_kproxy "$_b" "$_d/base.json" "$_d/cold.exist" "$COLD_CAP"
	_kpms=$KP_MS
	if [ "$WAIT_RC" -eq 0 ]; then
		sleep 1 # malloc_trim after the sync, health-check ports opened
		KP_RSS=$(rss "$KP_PID" VmRSS)
		KP_HWM=$(rss "$KP_PID" VmHWM)
		KP_SYNCED=1
	else
		KP_RSS=$(rss "$KP_PID" VmRSS)
		KP_HWM=$(rss "$KP_PID" VmHWM)
		KP_SYNCED=0
		_kpms=$((COLD_CAP * 1000))
	fi
	# Peak of kproxy's restore children so far (the wrapper logs each on exit);
	# one still running at the cap is read from /proc.
	_kpeak=$(tail -n +$((KP_WRAP0 + 1)) "$WRAPLOG" |
		awk '$1 == "node" && $2 ~ /-restore$/ { print $3 }' | sort -n | tail -n 1)
	if [ $KP_SYNCED -eq 0 ]; then
		for p in $(descendants "$KP_PID"); do
			x=$(rss "$p" VmHWM)
			[ -n "$x" ] && { [ -z "$_kpeak" ] || [ "$x" -gt "$_kpeak" ]; } && _kpeak=$x
		done
	fi
	$U coldphases "$KP_LOG" "$KP_T0" >"$_d/cold-$_b.phases"
	_ph=$(awk '{ printf "%s%s %s ms", (NR > 1 ? ", " : ""), $1, ($2 == "nan" ? "?" : int($2 + 0.5)) }' \
		"$_d/cold-$_b.phases")
	if [ $KP_SYNCED -eq 0 ]; then
		_ph="no sync finished; the first restore was still running at the cap"
		n=$(grep -c 'iptables-restore killed after' "$KP_LOG")
		[ "$n" -eq 0 ] || _ph="no sync finished: $n restore(s) killed by kproxy's timeout ($(grep -m 1 'iptables-restore killed after' "$KP_LOG" | sed 's/^.*kproxy\] sync: //')), then retried"
	fi
	_kpv=$(fmt_ms "$KP_MS")
	[ $KP_SYNCED -eq 1 ] || _kpv="$KP_MS"
	row 2 "cold start: exec to rules in kernel" "${_s}x$E" "$_b" "$_kpv" \
		"iptables-restore, flush mode, kproxy payload (floor)" "$(fmt_ms "$FLOOR_MS")" \
		"$(ratio "$_kpms" "$FLOOR_MS" $((1 - KP_SYNCED)) 0)" "<=1.3x"
	_kv=$(fmt_ms "$KUBE_MS")
	[ $KUBE_CAPPED -eq 1 ] && _kv=">$KUBE_CAP s"
	row 2 "cold start: exec to rules in kernel" "${_s}x$E" "$_b" "$_kpv" \
		"kube-proxy shape, --noflush" "$_kv" \
		"$(ratio "$_kpms" "$KUBE_MS" $((1 - KP_SYNCED)) "$KUBE_CAPPED")" -
	row 2 "  kproxy cold start phases" "${_s}x$E" "$_b" "$_ph" - - - -
	_when="after its first sync"
	[ $KP_SYNCED -eq 1 ] || _when="at the cap, first sync still running"
	row 5 "kproxy RSS $_when" "${_s}x$E" "$_b" "$(mb "$KP_RSS")" \
		"iptables-restore peak (floor)" "$(mb "$FLOOR_PEAK")" "$(ratio "$KP_RSS" "$FLOOR_PEAK")" \
		"<=64 MB at 10k"
	row 5 "kproxy peak RSS (VmHWM)" "${_s}x$E" "$_b" "$(mb "$KP_HWM")" \
		"iptables-restore peak (floor)" "$(mb "$FLOOR_PEAK")" "$(ratio "$KP_HWM" "$FLOOR_PEAK")" \
		"<=64 MB at 10k"
	_when="restore child peak RSS, kproxy cold start"
	[ $KP_SYNCED -eq 1 ] || _when="restore child peak RSS at the cap (a retry: the first was killed)"
	[ $KP_SYNCED -eq 1 ] || [ "$(grep -c 'iptables-restore killed after' "$KP_LOG")" -gt 0 ] ||
		_when="restore child peak RSS at the cap (still running)"
	row 5 "$_when" "${_s}x$E" "$_b" "$(mb "${_kpeak:-?}")" \
		"iptables-restore peak (floor)" "$(mb "$FLOOR_PEAK")" "$(ratio "${_kpeak:-x}" "$FLOOR_PEAK")" -
	if [ "$_s" -ne "$SC" ]; then
		stop_kproxy
		for n in node pod srv floor kube; do ns_del $n; done
		return 0
	fi
	if [ $KP_SYNCED -eq 0 ]; then
		[ $STAGED -eq 1 ] || return 1
		staged_start "$_b" "$_s" || return 1
	fi
	# The kube-proxy-shaped base for the change series must be loaded.
	if [ $KUBE_CAPPED -eq 1 ]; then
		ns_del kube
		ns_add kube
		say "$_b: loading the kube-proxy-shaped base in flush mode"
		kwait kube "$_b" "$_d/kube-cold.exist" /dev/null 600 --interval 20 \
			--input "$_d/kube-base.rules" -- "iptables-$_b-restore" --counters -w 5 -W 100000
		[ $WAIT_RC -eq 0 ] || { fail "$_b: loading the kube-proxy-shaped base: $WAIT_OUT"; return 1; }
	fi
	return 0
}

# staged_start BACKEND S: when kproxy cannot load S Services in one sync (nft
# --noflush at 10k), brings a new kproxy there through partial syncs of
# STAGE_STEP Services each, so that changes and the data path can still be
# measured at S. gen_cluster.py's states of fewer Services are prefixes of
# the larger ones.
staged_start() {
	local _b=$1 _s=$2 _d=$TMP/data/$2 k p _n0 _t0 _t1 _st _max=0 _steps=0 _pids="" _err
	say "$_b: kproxy's cold start at $_s services did not finish: staging it by $STAGE_STEP services"
	stop_kproxy
	printf '*nat\nCOMMIT\n*filter\nCOMMIT\n' >"$TMP/flush.rules"
	in_ns node "iptables-$_b-restore" -w 5 <"$TMP/flush.rules" || { fail "$_b: flushing node"; return 1; }
	for k in $(seq "$STAGE_STEP" "$STAGE_STEP" $((_s - 1))); do
		[ -f "$_d/stage-$k.json" ] && continue
		$PY "$HERE/gen_cluster.py" "$k" $E >"$_d/stage-$k.json" &
		_pids="$_pids $!"
	done
	for p in $_pids; do wait "$p" || die gen_cluster.py; done
	cp "$_d/base.json" "$_d/stage-$_s.json"
	$U chains "$_d/base.rules" nat | sed -n 1p >"$TMP/first.exist"
	_t0=$(date +%s%N)
	start_kproxy "$_b" "$_d/stage-$STAGE_STEP.json" "$TMP/first.exist" $STAGE_CAP
	[ "$WAIT_RC" -eq 0 ] || return 1
	for k in $(seq $((2 * STAGE_STEP)) "$STAGE_STEP" "$_s") $([ $((_s % STAGE_STEP)) -ne 0 ] && echo "$_s"); do
		_st=$(date +%s%N)
		_n0=$(applied_count "$KP_LOG")
		cp "$_d/stage-$k.json" "$TMP/stage/next.json"
		mv "$TMP/stage/next.json" "$STATE"
		wait_applied "$KP_LOG" "$_n0" $STAGE_CAP ||
			{ fail "$_b: staged start: no sync applied at $k services"; kp_tail; return 1; }
		_steps=$((_steps + 1))
		_st=$((($(date +%s%N) - _st) / 1000000))
		[ $_st -gt $_max ] && _max=$_st
	done
	_t1=$(date +%s%N)
	kwait node "$_b" "$_d/cold.exist" /dev/null 60
	[ "$WAIT_RC" -eq 0 ] || { fail "$_b: staged start: rules missing: $WAIT_OUT"; kp_tail; return 1; }
	_err=$(kproxy_errors "$KP_LOG")
	[ -z "$_err" ] || { fail "$_b: staged start: a restore failed:"; echo "$_err" >&2; kp_tail; return 1; }
	sleep 1
	KP_RSS=$(rss "$KP_PID" VmRSS)
	row 2 "  instead: staged start, +$STAGE_STEP services per sync" "${_s}x$E" "$_b" \
		"$(fmt_ms $(((_t1 - _t0) / 1000000))) ($((_steps + 1)) syncs, slowest $(fmt_ms $_max))" \
		"iptables-restore, flush mode, kproxy payload (floor)" "$(fmt_ms "$FLOOR_MS")" \
		"$(ratio $(((_t1 - _t0) / 1000000)) "$FLOOR_MS")" -
	row 5 "kproxy RSS after the staged start" "${_s}x$E" "$_b" "$(mb "$KP_RSS")" \
		"iptables-restore peak (floor)" "$(mb "$FLOOR_PEAK")" "$(ratio "$KP_RSS" "$FLOOR_PEAK")" \
		"<=64 MB at 10k"
	KP_SYNCED=1
	return 0
}

# ---- 6. data path ----------------------------------------------------------------------

# conn_rate IP PORT SECS: new connections per second from the pod; "failed"
# (and the reason in kpbench.err) when they do not get through.
conn_rate() {
	local o
	o=$(ip netns exec "$P-pod" "$KPB" connect "$1" "$2" "$3" 2>>"$TMP/kpbench.err")
	if [ $? -ne 0 ]; then
		echo "connect $1:$2: $o" >>"$TMP/kpbench.err"
		echo failed
		return 1
	fi
	echo "$o" | awk '{ printf "%d\n", $2 }'
}

# rates IP PORT: median of CONN_REPS runs, or "failed".
rates() {
	local all="" x
	for _ in $(seq "$CONN_REPS"); do
		x=$(conn_rate "$1" "$2" "$CONN_SECS") || { echo failed; return 1; }
		all="$all $x"
	done
	echo "$all" | $U stats | awk '{ printf "%d\n", $1 }'
}

# debug_rules FILE BACKEND: kproxy's rules for the dispatch order: /debug/rules
# (the last payload applied) when it holds nat KPROXY-SERVICES, that is after
# kproxy's first (full) sync; after partial syncs (the staged start), what the
# kernel holds (iptables-save -t filter, -t nat), as partial payloads, and
# even ?pending=1, leave out the shared chains that did not change.
debug_rules() {
	ip netns exec "$P-node" curl -sf http://127.0.0.1:10249/debug/rules >"$1" || return 1
	grep -q '^-A KPROXY-SERVICES ' "$1" && return 0
	{
		in_ns node "iptables-$2-save" -t filter
		in_ns node "iptables-$2-save" -t nat
	} >"$1"
}

datapath() {
	local _b=$1 _s=$2 _d=$TMP/data/$2 f_ip f_port f_cost l_ip l_port l_cost _fw
	say "$_b: data path at $_s services"
	F_RATE=""
	in_ns srv "$KPB" serve 8000 </dev/null >/dev/null 2>&1 &
	echo $! >"$TMP/server.pid"
	sleep 0.2
	debug_rules "$_d/debug-$_b.rules" "$_b" || { fail "$_b: GET /debug/rules"; return 1; }
	$U dispatch "$_d/debug-$_b.rules" >"$_d/dispatch-$_b" || { fail "$_b: dispatch order"; return 1; }
	read -r _ f_ip f_port f_cost < <(grep '^first' "$_d/dispatch-$_b")
	read -r _ l_ip l_port l_cost < <(grep '^last' "$_d/dispatch-$_b")
	# Interleave first and last so that background load hits both alike.
	local fr="" lr="" x
	for _ in $(seq "$CONN_REPS"); do
		x=$(conn_rate "$f_ip" "$f_port" "$CONN_SECS") ||
			{ fail "$_b: connections to the first service $f_ip:$f_port"; return 1; }
		fr="$fr $x"
		x=$(conn_rate "$l_ip" "$l_port" "$CONN_SECS") ||
			{ fail "$_b: connections to the last service $l_ip:$l_port"; return 1; }
		lr="$lr $x"
	done
	F_RATE=$(echo "$fr" | $U stats | awk '{ printf "%d\n", $1 }')
	L_RATE=$(echo "$lr" | $U stats | awk '{ printf "%d\n", $1 }')
	_fw=$(awk '$1 == "filter" { print $2 }' "$_d/dispatch-$_b")
	row 6 "new conn/s, first service in dispatch ($f_ip: nat $f_cost + filter $_fw rules)" \
		"${_s}x$E" "$_b" "$F_RATE" - - - -
	row 6 "new conn/s, last service in dispatch ($l_ip: nat $l_cost + filter $_fw rules)" \
		"${_s}x$E" "$_b" "$L_RATE" "first service" "$F_RATE" "$(ratio "$L_RATE" "$F_RATE")" ">=0.90x"
}

datapath_small() {
	local _b=$1 _d=$TMP/data/10 f_ip f_port f_cost l_ip l_port l_cost _r10 _fw
	mkdir -p "$_d"
	say "$_b: data path with 10 services"
	stop_kproxy
	printf '*nat\nCOMMIT\n*filter\nCOMMIT\n' >"$_d/flush.rules"
	in_ns node "iptables-$_b-restore" -w 5 <"$_d/flush.rules" || { fail "$_b: flushing node"; return 1; }
	$PY "$HERE/gen_cluster.py" 10 $E >"$_d/base.json"
	"$KPROXY" --dry-run --from-file "$_d/base.json" --hostname-override $NODE \
		--cluster-cidr $CIDR >"$_d/base.rules" 2>/dev/null || { fail "dry-run 10"; return 1; }
	$U chains "$_d/base.rules" nat | sed -n '1p;$p' >"$_d/cold.exist"
	start_kproxy "$_b" "$_d/base.json" "$_d/cold.exist" 60
	[ "$WAIT_RC" -eq 0 ] || return 1
	debug_rules "$_d/debug-$_b.rules" "$_b" || { fail "$_b: GET /debug/rules"; return 1; }
	$U dispatch "$_d/debug-$_b.rules" >"$_d/dispatch-$_b" || { fail "$_b: dispatch order"; return 1; }
	read -r _ f_ip f_port f_cost < <(grep '^first' "$_d/dispatch-$_b")
	read -r _ l_ip l_port l_cost < <(grep '^last' "$_d/dispatch-$_b")
	_r10=$(rates "$l_ip" "$l_port") || { fail "$_b: connections with 10 services"; return 1; }
	_fw=$(awk '$1 == "filter" { print $2 }' "$_d/dispatch-$_b")
	row 6 "new conn/s, 10 services ($l_ip: nat $l_cost + filter $_fw rules)" "10x$E" "$_b" "$_r10" \
		"first service at ${SC}x$E" "${F_RATE:-?}" "$(ratio "$_r10" "${F_RATE:-}")" -
	stop_kproxy
}

# ---- 3 and 4. changes ----------------------------------------------------------------

# one_change BACKEND S SERIES TRANSITION STATEJSON MEASURED(0|1)
one_change() {
	local _b=$1 _s=$2 _ser=$3 _tr=$4 _json=$5 _m=$6 _d=$TMP/data/$2 _n0
	# kproxy: rename a prepared copy over the watched file.
	cp "$_d/$_json" "$TMP/stage/next.json"
	_n0=$(applied_count "$KP_LOG")
	kwait node "$_b" "$_d/kp-$_tr.exist" "$_d/kp-$_tr.gone" $CHANGE_CAP --interval 1 \
		--rename "$TMP/stage/next.json" "$STATE"
	[ $WAIT_RC -eq 0 ] || { fail "$_b: kproxy change $_tr: $WAIT_OUT"; kp_tail; return 1; }
	[ "$_m" -eq 1 ] && {
		wait_ms >>"$TMP/kp-$_ser.ms"
		echo "$(wait_t0) $(wait_ms)" >>"$TMP/kp-$_ser.marks"
	}
	wait_applied "$KP_LOG" "$_n0" || { fail "$_b: kproxy never logged the sync"; kp_tail; return 1; }
	# The floor: minimal delta of kproxy's chains.
	kwait floor "$_b" "$_d/kp-$_tr.exist" "$_d/kp-$_tr.gone" $CHANGE_CAP --interval 1 \
		--input "$_d/floor-$_tr.rules" -- "iptables-$_b-restore" --noflush --counters -w 5 -W 100000
	[ $WAIT_RC -eq 0 ] || { fail "$_b: floor delta $_tr: $WAIT_OUT"; return 1; }
	[ "$_m" -eq 1 ] && wait_ms >>"$TMP/floor-$_ser.ms"
	# kube-proxy-shaped partial sync.
	kwait kube "$_b" "$_d/kube-$_tr.exist" "$_d/kube-$_tr.gone" $CHANGE_CAP --interval 1 \
		--input "$_d/kube-$_tr.partial" -- "iptables-$_b-restore" --noflush --counters -w 5 -W 100000
	[ $WAIT_RC -eq 0 ] || { fail "$_b: kube-proxy partial $_tr: $WAIT_OUT"; return 1; }
	[ "$_m" -eq 1 ] && wait_ms >>"$TMP/kube-$_ser.ms"
	return 0
}

# change_rows SECTION BACKEND S SERIES TITLE TRANSITION (whose payloads are shown)
change_rows() {
	local _sec=$1 _rep=$6 _b=$2 _s=$3 _ser=$4 _title=$5 _d=$TMP/data/$3 _tgt _ph _w
	local kmed kp99 kn fmed fp99 qmed qp99
	read -r kmed kp99 _ _ kn <"$TMP/kp-$_ser.stats"
	read -r fmed fp99 _ _ _ < <($U stats <"$TMP/floor-$_ser.ms")
	read -r qmed qp99 _ _ _ < <($U stats <"$TMP/kube-$_ser.ms")
	_tgt="<=1.3x (nft)"
	[ "$_b" = legacy ] && _tgt="<=1.1x (legacy)"
	row "$_sec" "$_title: median (n=$kn)" "${_s}x$E" "$_b" "$(fmt_ms "$kmed")" \
		"minimal --noflush delta (floor)" "$(fmt_ms "$fmed")" "$(ratio "$kmed" "$fmed")" "$_tgt"
	row "$_sec" "$_title: p99" "${_s}x$E" "$_b" "$(fmt_ms "$kp99")" \
		"minimal --noflush delta (floor)" "$(fmt_ms "$fp99")" "$(ratio "$kp99" "$fp99")" "$_tgt"
	row "$_sec" "$_title: median" "${_s}x$E" "$_b" "$(fmt_ms "$kmed")" \
		"kube-proxy partial sync payload" "$(fmt_ms "$qmed")" "$(ratio "$kmed" "$qmed")" -
	row "$_sec" "$_title: p99" "${_s}x$E" "$_b" "$(fmt_ms "$kp99")" \
		"kube-proxy partial sync payload" "$(fmt_ms "$qp99")" "$(ratio "$kp99" "$qp99")" -
	$U phases "$KP_LOG" "$TMP/kp-$_ser.marks" >"$TMP/kp-$_ser.phases"
	_ph=$(awk '$1 == "reload" { r = $2 } $1 == "wait" { w = $2 } $1 == "build" { b = $2 }
		$1 == "restore" { x = $2 } $1 == "logged" { l = $2 } $1 == "seen" { s = $2 }
		$1 == "full" { f = $2 } $1 == "n" { n = $2 }
		END { printf "file reload (20 ms debounce, re-read, decode, reconcile) %.0f, queue %.0f, " \
			"build %.0f, restore %.0f, logged at %.0f, seen at %.0f ms (medians; %d of %d syncs full)",
			r, (w < 0 ? 0 : w), b, x, l, s, f, n }' "$TMP/kp-$_ser.phases")
	row "$_sec" "  kproxy phases" "${_s}x$E" "$_b" "$_ph" - - - -
	# Without the file reload, an artifact of --from-file (the whole state
	# is re-read and decoded; from the API a change is one watch event).
	_own=$(awk '$1 == "own" { print $2 }' "$TMP/kp-$_ser.phases")
	row "$_sec" "  kproxy's own part, model changed to kernel: median" "${_s}x$E" "$_b" \
		"$(fmt_ms "$_own")" "minimal --noflush delta (floor)" "$(fmt_ms "$fmed")" \
		"$(ratio "$_own" "$fmed")" "$_tgt"
	_w=$(awk '$1 == "written" { w = $2 } $1 == "total" { t = $2 } END { printf "%d of %d", w, t }' \
		"$TMP/kp-$_ser.phases")
	row "$_sec" "  nat rules written per change" "${_s}x$E" "$_b" "$_w" \
		"floor / kube-proxy partial (rule lines)" \
		"$(grep -c -E '^-[AIDX] ' "$_d/floor-$_rep.rules") / $(grep -c -E '^-[AIDX] ' "$_d/kube-$_rep.partial")" \
		- -
}

changes() {
	local _b=$1 _s=$2 _d=$TMP/data/$2 _cur _ok i _g ser kmed fmed qmed _cpeak _fpeak _err
	prepare_changes "$_s"
	# The floor namespace holds kproxy's base payload; re-check it.
	rm -f "$TMP"/kp-*.ms "$TMP"/floor-*.ms "$TMP"/kube-*.ms "$TMP"/kp-*.marks
	say "$_b: $CHANGES endpoint changes at $_s services"
	_cur=0
	_ok=1
	for i in $(seq "$CHANGES"); do
		_g=$((1 + (i + 1) % 2))
		one_change "$_b" "$_s" ep "$_cur-$_g" "g$_g.json" 1 || { _ok=0; break; }
		_cur=$_g
	done
	if [ $_ok -eq 1 ]; then
		$U stats <"$TMP/kp-ep.ms" >"$TMP/kp-ep.stats"
		change_rows 3 "$_b" "$_s" ep "one endpoint change" 0-1
		# Back to the base state (not measured), then remove / add one Service.
		one_change "$_b" "$_s" back "$_cur-0" base.json 0 || _ok=0
	fi
	if [ $_ok -eq 1 ]; then
		say "$_b: $CHANGES service removals and additions at $_s services"
		for i in $(seq "$CHANGES"); do
			if [ $((i % 2)) -eq 1 ]; then
				one_change "$_b" "$_s" rm 0-s skip.json 1 || { _ok=0; break; }
			else
				one_change "$_b" "$_s" add s-0 base.json 1 || { _ok=0; break; }
			fi
		done
	fi
	if [ $_ok -eq 1 ]; then
		cat "$TMP/kp-rm.ms" "$TMP/kp-add.ms" | $U stats >"$TMP/kp-ar.stats"
		cat "$TMP/kp-rm.ms" "$TMP/kp-add.ms" >"$TMP/kp-ar.ms"
		cat "$TMP/kp-rm.marks" "$TMP/kp-add.marks" | sort -n >"$TMP/kp-ar.marks"
		cat "$TMP/floor-rm.ms" "$TMP/floor-add.ms" >"$TMP/floor-ar.ms"
		cat "$TMP/kube-rm.ms" "$TMP/kube-add.ms" >"$TMP/kube-ar.ms"
		change_rows 4 "$_b" "$_s" ar "one service removed or added" s-0
		for ser in rm add; do
			$U stats <"$TMP/kp-$ser.ms" >"$TMP/kp-$ser.stats"
			read -r kmed _ < "$TMP/kp-$ser.stats"
			read -r fmed _ < <($U stats <"$TMP/floor-$ser.ms")
			read -r qmed _ < <($U stats <"$TMP/kube-$ser.ms")
			row 4 "  $ser only: median (floor / kube-proxy partial)" "${_s}x$E" "$_b" \
				"$(fmt_ms "$kmed")" "floor / kube-proxy partial" \
				"$(fmt_ms "$fmed") / $(fmt_ms "$qmed")" \
				"$(ratio "$kmed" "$fmed") / $(ratio "$kmed" "$qmed")" -
		done
		_cpeak=$(awk '$1 == "node" && $2 ~ /-restore$/ { print $3 }' "$WRAPLOG" | tail -n "$((2 * CHANGES + 1))" |
			sort -n | tail -n 1)
		_fpeak=$(awk '$1 == "floor" && $2 ~ /-restore$/ { print $3 }' "$WRAPLOG" | tail -n "$((2 * CHANGES + 1))" |
			sort -n | tail -n 1)
		row 5 "restore child peak RSS, partial syncs (max)" "${_s}x$E" "$_b" "$(mb "$_cpeak")" \
			"floor deltas (max)" "$(mb "$_fpeak")" "$(ratio "$_cpeak" "$_fpeak")" -
		row 5 "kproxy RSS after $((2 * CHANGES + 1)) changes" "${_s}x$E" "$_b" \
			"$(mb "$(rss "$KP_PID" VmRSS)")" "after the first sync" "$(mb "$KP_RSS")" \
			"$(ratio "$(rss "$KP_PID" VmRSS)" "$KP_RSS")" "<=64 MB at 10k"
	fi
	_err=$(kproxy_errors "$KP_LOG")
	[ -z "$_err" ] || { fail "$_b: kproxy's restore failed during the changes:"; echo "$_err" >&2; }
}

# watch_changes BACKEND S: one endpoint change at a time through the API
# watch, as in production: test/fakeapi.py serves S Services of E endpoints
# (and the changed one) to a new kproxy in a namespace of its own
# (watch_latency.sh); the time runs from the change posted to the fake API
# server to kproxy's /debug/rules showing the new endpoint, which it does
# once the restore carrying it has exited 0. Compared with the floor deltas
# of the same run (the file-driven series above).
watch_changes() {
	local _b=$1 _s=$2 _out med p99 n fmed fp99 _behind _tgt="<=1.3x (nft)"
	[ "$_b" = legacy ] && _tgt="<=1.1x (legacy)"
	[ -s "$TMP/floor-ep.ms" ] || return 0
	say "$_b: $WATCH_CHANGES endpoint changes through the API watch at $_s services"
	_out=$(CHANGES=$WATCH_CHANGES SERVICES=$_s ENDPOINTS=$E KPROXY_BACKEND=$_b \
		sh "$HERE/watch_latency.sh" "$KPROXY" 2>&1)
	read -r med p99 n < <(echo "$_out" | awk '$1 == "applied" { print $3, $6, $NF }' | tr -d '(n=)')
	if [ -z "${med:-}" ]; then
		fail "$_b: watch_latency.sh: $(echo "$_out" | grep '^watch_latency:' ||
			echo "$_out" | tail -n 5)"
		return 1
	fi
	# Changes timed by polling the kernel (/debug/rules ran ahead of it).
	_behind=$(echo "$_out" | awk '$1 == "note:" { print "; " $2 " timed from the kernel" }')
	read -r fmed fp99 _ _ _ < <($U stats <"$TMP/floor-ep.ms")
	row 3 "one endpoint change via the API watch: median (n=$n$_behind)" "${_s}x$E" "$_b" \
		"$(fmt_ms "$med")" "minimal --noflush delta (floor)" "$(fmt_ms "$fmed")" \
		"$(ratio "$med" "$fmed")" "$_tgt"
	row 3 "one endpoint change via the API watch: p99" "${_s}x$E" "$_b" \
		"$(fmt_ms "$p99")" "minimal --noflush delta (floor)" "$(fmt_ms "$fp99")" \
		"$(ratio "$p99" "$fp99")" "$_tgt"
}

# ---- main -------------------------------------------------------------------------------

say "machine: $MACHINE, kernel $KVER; kproxy $KPVER ($GITREV); sizes $SIZES; changes at $SC"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
section_generation
for b in $BACKENDS; do
	for s in $SIZES; do
		prepare_size "$s"
		if [ "$s" -eq "$SC" ]; then
			prepare_changes "$s"
		fi
		if ! cold_start "$b" "$s"; then
			if [ "$s" -eq "$SC" ]; then
				say "$b: kproxy has no rules in the kernel at $s services: changes and data path skipped"
				row 3 "changes, data path" "${s}x$E" "$b" "not measured: kproxy did not sync" - - - -
				stop_kproxy
				for n in node pod srv floor kube; do ns_del $n; done
			fi
			continue
		fi
		[ "$s" -eq "$SC" ] || continue
		datapath "$b" "$s"
		changes "$b" "$s"
		datapath_small "$b"
		kill "$(cat "$TMP/server.pid" 2>/dev/null)" 2>/dev/null
		rm -f "$TMP/server.pid"
		stop_kproxy
		for n in node pod srv floor kube; do ns_del $n; done
		watch_changes "$b" "$s"
	done
done

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
T_END=$(date +%s)
{
	echo
	echo "kproxy bench ($([ $QUICK -eq 1 ] && echo quick || echo full)): $KPVER ($GITREV)"
	echo "machine: $NPROC CPUs, $CPU, kernel $KVER, $(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)"
	for b in $BACKENDS; do echo "iptables ($b): $(ipt_version "$b")"; done
	echo "load average at start: $LOAD0; at end: $LOAD1; run time $((T_END - T_START)) s"
	echo "E = $E endpoints per service; changes: $CHANGES per series; connections: $CONN_REPS x $CONN_SECS s"
	echo "kube-proxy-shaped references: $KUBE_GEN_NAME"
	echo
	$U table "$RES"
	echo
	echo "'In kernel' is timed from the action (exec of kproxy, rename of the state file, exec of"
	echo "iptables-restore) to: nft, the first poll (NFT_MSG_GETCHAIN every 1-5 ms) that finds the"
	echo "new chains (or the removed ones gone); legacy, the exit of the iptables-restore that"
	echo "carried the change, confirmed by one read of the nat table (a poll would copy the whole"
	echo "table under its mutex). Every restore runs through the same wrapper, which records its"
	echo "peak RSS. p99 is nearest-rank (the maximum when n < 100). 'phases' come from kproxy's"
	echo "log (-v 2): reloaded, restore took, applied in."
} | tee "$TMP/report.txt"
[ -z "$RESULTS_OUT" ] || cp "$RES" "$RESULTS_OUT"
if [ $STATUS -ne 0 ]; then
	echo "bench: something broke (see the FAILED lines above)" >&2
	[ -s "$TMP/kpbench.err" ] && tail -n 20 "$TMP/kpbench.err" >&2
fi
exit $STATUS
