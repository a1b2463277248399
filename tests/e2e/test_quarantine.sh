#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: quarantine acts on a live keep-alive connection that stays
# idle. The dataplane runs inline (tools/topology) under portcullis-control;
# a Python client in the client namespace sends an allowed request, keeps
# the connection open and sends nothing more, only waits in recv(). After
# `portcullisctl quarantine add identity` the aging sweep must reset both
# ends within one sweep period (the client's recv() sees ECONNRESET or EOF
# within a second, the server's socket is gone), the decision log must say
# "quarantined", and the dataplane must count quarantine_idle_resets 1. A
# new connection is then denied with the same reason, and after `quarantine
# remove` allowed again.
#
#   test_quarantine.sh DATAPLANE CONTROL CTL SOURCE_DIR
set -Eeuo pipefail

if [ $# -ne 4 ]; then
	echo "usage: $0 DATAPLANE CONTROL CTL SOURCE_DIR" >&2
	exit 2
fi
DP=$1
CP=$2
CTL=$3
PC_SRC=$(cd "$4" && pwd)
# shellcheck source=tests/e2e/common.sh
. "$PC_SRC/tests/e2e/common.sh"
pc_e2e_preflight ip ethtool curl python3
pc_e2e_control_begin pq "-q"
POLICY=$PC_SRC/config/policy.sample.json
KEY=pc-demo-ticket-agent-key-1

pc_e2e_topology_up
pc_start_backend "$PC_TOPO_SERVER_NS" "$PC_TOPO_SERVER_IP" "$WORK" 170
pc_e2e_control_start "$POLICY"
check "portcullis-control attached and the dataplane applied its push" pc_e2e_generation 2

# The client: request 1, then wait on the idle connection. Prints "STATUS
# PORT", then "reset" or "eof" (or "data"/"timeout") with the wall-clock
# time it was seen.
ip netns exec "$PC_TOPO_CLIENT_NS" python3 - "$PC_TOPO_SERVER_IP" "$KEY" "$WORK" \
	>"$WORK/client.out" 2>"$WORK/client.err" <<'PY' &
import os, socket, sys, time
server, key, work = sys.argv[1:4]
req = (f"GET /api/v2/tickets/42 HTTP/1.1\r\nHost: tickets.internal\r\n"
       f"x-api-key: {key}\r\n\r\n").encode()

def exchange(s):
    try:
        s.sendall(req)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = s.recv(4096)
            if not chunk:
                return "closed"
            head += chunk
        status = head.split(b" ", 2)[1].decode()
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        body = head.split(b"\r\n\r\n", 1)[1]
        while len(body) < length:
            chunk = s.recv(4096)
            if not chunk:
                break
            body += chunk
        return status
    except ConnectionResetError:
        return "reset"
    except socket.timeout:
        return "timeout"

s = socket.create_connection((server, 80), timeout=10)
print(exchange(s), s.getsockname()[1], flush=True)
open(os.path.join(work, "first.done"), "w").close()
s.settimeout(60)
try:
    seen = "eof" if s.recv(4096) == b"" else "data"
except ConnectionResetError:
    seen = "reset"
except socket.timeout:
    seen = "timeout"
print(seen, repr(time.time()), flush=True)
PY
CLIENT_PID=$!
pc_wait 30 test -e "$WORK/first.done" || true
check "first request on the connection answered 200" \
	grep -Eq '^200 ' "$WORK/client.out"
PORT=$(awk 'NR == 1 { print $2 }' "$WORK/client.out")

check "the server holds the idle connection open" \
	bash -c "ip netns exec '$PC_TOPO_SERVER_NS' ss -Htn state established '( dport = :$PORT )' | grep -q ."
T_QUAR=$(date +%s.%N)
check "quarantine add identity ticket-agent" \
	ctl quarantine add identity ticket-agent --reason "key leaked in a build log"
check "quarantine list shows it with its reason" \
	bash -c "'$CTL' quarantine list --socket '$SOCK' | grep -q 'key leaked in a build log'"
check "status shows the dataplane applied the table" \
	pc_wait 10 eval "'$CTL' status --socket '$SOCK' | grep -Eq '^quarantine_entries +1\$'"
pc_wait 20 eval "[ \$(wc -l <'$WORK/client.out') -ge 2 ]" || true
wait "$CLIENT_PID" || true
echo "# idle connection: $(sed -n 2p "$WORK/client.out" | awk -v t0="$T_QUAR" \
	'{ printf "%s %.0f ms after the quarantine command", $1, ($2 - t0) * 1000 }')"
check "the idle connection's client sees a reset (ECONNRESET or EOF)" \
	bash -c "sed -n 2p '$WORK/client.out' | grep -Eq '^(reset|eof) '"
check "...within a second of the quarantine command (one sweep: 80 ms)" \
	bash -c "sed -n 2p '$WORK/client.out' | awk -v t0='$T_QUAR' '{ exit !((\$2 - t0) < 1.0) }'"
check "the server's end of it is gone too" \
	bash -c "! ip netns exec '$PC_TOPO_SERVER_NS' ss -Htn state established '( dport = :$PORT )' | grep -q ."
check "the backend saw exactly one request" \
	bash -c "[ \$(wc -l <'$WORK/backend.requests') -eq 1 ]"
check "the decision log says quarantined for the idle connection" \
	pc_wait 5 eval "grep -F '\"sport\":$PORT,' '$WORK/decisions.jsonl' | grep -q '\"reason\":\"quarantined\"'"

pc_request "$PC_TOPO_CLIENT_NS" "$WORK/new" GET /api/v2/tickets/42 "$KEY"
check "a new connection of the quarantined caller is reset" \
	bash -c "[ \$(cat '$WORK/new.rc') = 56 ]"
check "...with reason quarantined" \
	pc_wait 5 eval "grep -F '\"sport\":$(cat "$WORK/new.port"),' '$WORK/decisions.jsonl' | grep -q '\"reason\":\"quarantined\"'"

check "quarantine remove identity ticket-agent" ctl quarantine remove identity ticket-agent
pc_wait 10 eval "'$CTL' status --socket '$SOCK' | grep -Eq '^quarantine_entries +0\$'" || true
pc_request "$PC_TOPO_CLIENT_NS" "$WORK/again" GET /api/v2/tickets/42 "$KEY"
check "after remove the caller is allowed again" \
	bash -c "[ \$(cat '$WORK/again.rc') = 0 ]"
check "the daemon logged the change with its reason" \
	grep -q "key leaked in a build log" "$WORK/cp.err" "$WORK/cp.out"
pc_stop "$PC_DP_PID" 10 || true
PC_DP_PID=
check "the dataplane counted one idle quarantine reset" \
	test "$(pc_counter "$WORK/dataplane.out" quarantine_idle_resets)" = 1
pc_e2e_summary
