# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Pieces shared by tools/demo and the end-to-end tests: start the backend and
# the dataplane around a tools/topology, send one request from the client
# namespace, stop what was started. Sourced, not run. Every wait is bounded;
# every process started here is remembered by pid and stopped by pid. The
# pc_e2e_* functions at the end are the tests' common frame (preflight,
# names, cleanup, pass/fail accounting); tools/demo keeps its own.

PC_API_KEY=pc-demo-ticket-agent-key-1
PC_HOST=tickets.internal
PC_READY_RE='^portcullis-dataplane: ready: [0-9]+ workers?, ports 0 and 1'

# True while pid runs. A child that exited stays a zombie until reaped, and
# kill -0 still succeeds on a zombie, so look at its state instead.
pc_alive() {
	local st
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# pc_wait SECONDS CMD...: run CMD every 0.1 s until it succeeds (0) or
# SECONDS pass (1).
pc_wait() {
	local i n=$(($1 * 10))
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	"$@"
}

# pc_stop PID [SECONDS]: SIGTERM, wait up to SECONDS (default 10), then
# SIGKILL. Returns the exit status when PID is a child of this shell.
pc_stop() {
	local pid=$1 t=${2:-10} rc=0
	[ -n "$pid" ] || return 0
	if pc_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! pc_wait "$t" eval '! pc_alive '"$pid"; then
			echo "pc_stop: pid $pid ignored SIGTERM for ${t}s, killing it" >&2
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return $rc
}

# pc_start_backend NS ADDR WORKDIR LIFETIME [SCRIPT]: the HTTP backend on
# ADDR:80 in NS, logging requests to WORKDIR/backend.requests. SCRIPT
# (default tests/e2e/backend.py) takes the same options. Sets PC_BACKEND_PID.
pc_start_backend() {
	local ns=$1 addr=$2 work=$3 lifetime=$4 script=${5:-$PC_SRC/tests/e2e/backend.py}
	rm -f "$work/backend.ready"
	ip netns exec "$ns" python3 "$script" --bind "$addr" --port 80 \
		--log "$work/backend.requests" --ready "$work/backend.ready" \
		--lifetime "$lifetime" >"$work/backend.out" 2>&1 &
	PC_BACKEND_PID=$!
	if ! pc_wait 10 test -s "$work/backend.ready"; then
		echo "backend did not start within 10 s:" >&2
		cat "$work/backend.out" >&2
		return 1
	fi
}

pc_dp_ready() {
	grep -Eq "$PC_READY_RE" "$1" 2>/dev/null
}

# pc_start_dataplane BINARY POLICY GW_CLIENT_IF GW_SERVER_IF FILE_PREFIX WORKDIR
# [OPTION...]: portcullis-dataplane inline between the two gateway ends (port
# 0 faces the clients), decision log WORKDIR/decisions.jsonl, stdout
# WORKDIR/dataplane.out, and the OPTIONs after its own. Sets PC_DP_PID;
# returns once it printed "ready" (30 s at most).
# --no-pci: the two af_packet vdevs must be the only ports, whatever NICs the
# machine has. dataplane.out is emptied first: on a restart the previous
# run's ready line must not pass for the new one's.
pc_start_dataplane() {
	local bin=$1 policy=$2 gc=$3 gs=$4 prefix=$5 work=$6 i
	shift 6
	: >"$work/dataplane.out"
	"$bin" -l 0,1 --no-huge -m 512 --no-pci --file-prefix "$prefix" \
		--vdev "net_af_packet0,iface=$gc" --vdev "net_af_packet1,iface=$gs" \
		-- --policy "$policy" --decision-log "$work/decisions.jsonl" \
		--stats-json "$work/stats.json" "$@" \
		>"$work/dataplane.out" 2>"$work/dataplane.err" &
	PC_DP_PID=$!
	for ((i = 0; i < 300; i++)); do
		pc_dp_ready "$work/dataplane.out" && return 0
		pc_alive "$PC_DP_PID" || break
		sleep 0.1
	done
	pc_dp_ready "$work/dataplane.out" && return 0
	if pc_alive "$PC_DP_PID"; then
		echo "portcullis-dataplane printed no ready line within 30 s" >&2
	else
		echo "portcullis-dataplane exited before it was ready" >&2
	fi
	sed 's/^/  dataplane stdout: /' "$work/dataplane.out" >&2
	sed 's/^/  dataplane stderr: /' "$work/dataplane.err" | tail -n 30 >&2
	return 1
}

# pc_request NS OUT METHOD PATH [API_KEY]: one HTTP request from NS to
# http://tickets.internal PATH on a new connection. Leaves OUT.head (response
# head), OUT.body, OUT.err (curl's message), OUT.port (the client's source
# port, which names the request in the decision log) and OUT.rc (curl's exit
# status: 0 answered, 56 reset).
pc_request() {
	local ns=$1 out=$2 method=$3 path=$4 key=${5:-} rc=0
	local -a args=(-sS --connect-timeout 5 --max-time 10
		--resolve "$PC_HOST:80:$PC_TOPO_SERVER_IP"
		-D "$out.head" -o "$out.body" -w '%{local_port}')
	[ "$method" = GET ] || args+=(-X "$method")
	[ -n "$key" ] && args+=(-H "x-api-key: $key")
	: >"$out.head"
	: >"$out.body"
	ip netns exec "$ns" curl "${args[@]}" "http://$PC_HOST$path" \
		>"$out.port" 2>"$out.err" || rc=$?
	echo "$rc" >"$out.rc"
}

# What the client saw: the status line, or curl's error.
pc_client_saw() {
	local out=$1
	if [ "$(cat "$out.rc")" = 0 ]; then
		head -n 1 "$out.head" | tr -d '\r'
	else
		tr -d '\n' <"$out.err"
		echo " (curl exit $(cat "$out.rc"))"
	fi
}

# pc_counter FILE NAME: the value of "NAME VALUE" in the dataplane's final
# counters, or nothing.
pc_counter() {
	awk -v n="$2" '$1 == n && NF == 2 { print $2; exit }' "$1"
}

# Remove what EAL leaves under its runtime directory for FILE_PREFIX.
pc_eal_cleanup() {
	local d
	[ -n "$1" ] || return 0
	for d in "/var/run/dpdk/$1" "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk/$1"; do
		[ -d "$d" ] && rm -rf -- "$d"
	done
	return 0
}

# ---- the end-to-end test scripts ----
# Each test script checks its two arguments, sets DP and PC_SRC, sources this
# file, then calls pc_e2e_preflight and pc_e2e_begin before anything else.

# pc_e2e_preflight TOOL...: exit 77 (skipped) without root, 1 when a TOOL or
# the dataplane binary $DP is missing.
pc_e2e_preflight() {
	local tool
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: the end-to-end test needs root (network namespaces)"
		exit 77
	fi
	for tool in "$@"; do
		command -v "$tool" >/dev/null || { echo "FAIL: $tool is not installed"; exit 1; }
	done
	if [ ! -x "$DP" ]; then
		echo "FAIL: no dataplane binary at $DP"
		exit 1
	fi
}

# pc_e2e_begin TOPO_LETTERS NAME_SUFFIX: the run's names, all carrying this
# shell's pid so runs from several build trees can overlap: TOPO (topology),
# EAL_PREFIX, WORK (a new directory); zeroes the pass/fail counts and traps
# every exit path to pc_e2e_cleanup.
pc_e2e_begin() {
	TOPO=$1$$
	EAL_PREFIX=pc-e2e$2-$$
	WORK=$(mktemp -d "/tmp/portcullis-e2e$2.XXXXXX")
	PC_DP_PID=
	PC_BACKEND_PID=
	failures=0
	passes=0
	trap pc_e2e_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# For the tests that run the dataplane under portcullis-control (called as
# "TEST DATAPLANE CONTROL CTL SOURCE_DIR", with CP and CTL set from it):
# pc_e2e_begin, then INST and SOCK of this test's own daemon, which the EXIT
# trap stops, and its control segment, which a daemon leaves for a restart
# to attach to, removed with it.
pc_e2e_control_begin() {
	pc_e2e_begin "$1" "$2"
	INST=$1c$$
	SOCK=$WORK/control.sock
	PC_CP_PID=
	trap 'rc=$?; pc_stop "$PC_CP_PID" 5 || true; rm -f "/dev/shm/portcullis.$INST.ctl"; (exit $rc); pc_e2e_cleanup' EXIT
}

# pc_e2e_control_start POLICY: the dataplane attached to instance INST, and
# portcullis-control started with POLICY.
pc_e2e_control_start() {
	pc_e2e_dataplane "$1" --control "$INST"
	"$CP" --policy "$1" --instance "$INST" --socket "$SOCK" --foreground \
		--ack-timeout 30000 >"$WORK/cp.out" 2>"$WORK/cp.err" &
	PC_CP_PID=$!
}

# pc_e2e_generation N: true once the dataplane runs policy generation N
# (within 30 s); the daemon's first push is generation 2.
pc_e2e_generation() {
	pc_wait 30 eval "'$CTL' status --socket '$SOCK' 2>/dev/null | grep -Eq '^generation +$1\$'"
}

# portcullisctl against this test's daemon.
ctl() { "$CTL" "$@" --socket "$SOCK"; }

# The EXIT trap: stop what was started, take the topology down and remove
# WORK, keeping the exit status.
pc_e2e_cleanup() {
	local rc=$? f
	trap - EXIT INT TERM ERR
	pc_stop "$PC_DP_PID" 10 || true
	pc_stop "$PC_BACKEND_PID" 5 || true
	"$PC_SRC/tools/topology" down "$TOPO" || true
	pc_eal_cleanup "$EAL_PREFIX"
	if [ "$rc" -ne 0 ] || [ "$failures" -ne 0 ]; then
		# Leave the evidence in the test log before it goes.
		for f in dataplane.out dataplane.err decisions.jsonl backend.requests backend.out; do
			[ -s "$WORK/$f" ] || continue
			echo "---- $f"
			tail -n 40 "$WORK/$f"
		done
	fi
	rm -rf -- "$WORK"
	exit "$rc"
}

# pc_e2e_topology_up: tools/topology up TOPO, its PC_TOPO_* variables set here.
pc_e2e_topology_up() {
	local topo_env
	echo "# topology $TOPO, work dir $WORK"
	topo_env=$("$PC_SRC/tools/topology" up "$TOPO")
	eval "$topo_env"
}

# pc_e2e_dataplane POLICY [OPTION...]: (re)start the dataplane on the
# topology with POLICY, after removing what an earlier run left under
# EAL_PREFIX.
pc_e2e_dataplane() {
	local policy=$1
	shift
	pc_eal_cleanup "$EAL_PREFIX"
	pc_start_dataplane "$DP" "$policy" "$PC_TOPO_GW_CLIENT_IF" "$PC_TOPO_GW_SERVER_IF" \
		"$EAL_PREFIX" "$WORK" "$@"
}

# pc_e2e_start POLICY [BACKEND_SCRIPT]: the backend (170 s lifetime, within
# the tests' timeout) and the dataplane, then the dataplane's ready line.
pc_e2e_start() {
	pc_start_backend "$PC_TOPO_SERVER_NS" "$PC_TOPO_SERVER_IP" "$WORK" 170 ${2:+"$2"}
	pc_e2e_dataplane "$1"
	echo "# $(grep -E "$PC_READY_RE" "$WORK/dataplane.out")"
}

pass() {
	passes=$((passes + 1))
	echo "ok   $*"
}
fail() {
	failures=$((failures + 1))
	echo "FAIL $*"
}
check() { # check DESCRIPTION CMD...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# What a request NAME (files WORK/NAME.*, as pc_request leaves them) met:

# answered_with_body NAME METHOD PATH: a 200 carrying exactly the body the
# backend serves for METHOD PATH.
answered_with_body() {
	local out=$WORK/$1
	[ "$(cat "$out.rc")" = 0 ] || return 1
	head -n 1 "$out.head" | grep -q '^HTTP/1\.[01] 200 ' || return 1
	expected_body "$2" "$3" >"$out.want"
	cmp -s "$out.want" "$out.body"
}

# The exact body the backend serves for METHOD PATH.
expected_body() {
	python3 -B -c 'import sys; sys.path.insert(0, sys.argv[1]); import backend; sys.stdout.buffer.write(backend.body_for(sys.argv[2], sys.argv[3]))' \
		"$PC_SRC/tests/e2e" "$1" "$2"
}

# was_reset NAME: reset (curl exit 56).
was_reset() {
	[ "$(cat "$WORK/$1.rc")" = 56 ] && grep -qi 'reset' "$WORK/$1.err"
}

# decision NAME KEY=VALUE...: the decision log has the record of NAME's
# client port, with these fields.
decision() {
	local name=$1
	shift
	local port
	port=$(cat "$WORK/$name.port")
	[ -n "$port" ] && [ "$port" != 0 ] || return 1
	python3 "$PC_SRC/tests/e2e/decisions.py" find "$WORK/decisions.jsonl" \
		--sport "$port" --timeout 5 --expect "$@" | sed 's/^/     /'
	return "${PIPESTATUS[0]}"
}

# The last line of a test: the counts, and its exit status.
pc_e2e_summary() {
	echo "# $passes passed, $failures failed"
	[ "$failures" -eq 0 ]
}
