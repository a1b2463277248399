# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash disable=SC2034
#
# Pieces shared by tools/demo and the end-to-end test: start the backend and
# the dataplane around a tools/topology, send one request from the client
# namespace, stop what was started. Sourced, not run. Every wait is bounded;
# every process started here is remembered by pid and stopped by pid.

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

# pc_start_backend NS ADDR WORKDIR LIFETIME: the HTTP backend on ADDR:80 in
# NS, logging requests to WORKDIR/backend.requests. Sets PC_BACKEND_PID.
pc_start_backend() {
	local ns=$1 addr=$2 work=$3 lifetime=$4
	rm -f "$work/backend.ready"
	ip netns exec "$ns" python3 "$PC_SRC/tests/e2e/backend.py" --bind "$addr" --port 80 \
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

# pc_start_dataplane BINARY POLICY GW_CLIENT_IF GW_SERVER_IF FILE_PREFIX WORKDIR:
# portcullis-dataplane inline between the two gateway ends (port 0 faces the
# clients), decision log WORKDIR/decisions.jsonl, stdout WORKDIR/dataplane.out.
# Sets PC_DP_PID; returns once it printed "ready" (30 s at most).
# --no-pci: the two af_packet vdevs must be the only ports, whatever NICs the
# machine has.
pc_start_dataplane() {
	local bin=$1 policy=$2 gc=$3 gs=$4 prefix=$5 work=$6 i
	"$bin" -l 0,1 --no-huge -m 512 --no-pci --file-prefix "$prefix" \
		--vdev "net_af_packet0,iface=$gc" --vdev "net_af_packet1,iface=$gs" \
		-- --policy "$policy" --decision-log "$work/decisions.jsonl" \
		--stats-json "$work/stats.json" \
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
