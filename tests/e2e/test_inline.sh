#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: portcullis-dataplane inline between two network namespaces
# (tools/topology), config/policy.sample.json, a real HTTP backend and real
# curl. Asserts what the client received, what the backend saw (denied
# requests must never reach it), the decision log, and the final counters.
#
#   test_inline.sh DATAPLANE_BINARY SOURCE_DIR
#
# Needs root (namespaces, veth, AF_PACKET); exits 77 (skipped) without it.
# Every name carries this shell's pid, so runs from several build trees can
# overlap. Cleans up on every exit path.
set -Eeuo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 DATAPLANE_BINARY SOURCE_DIR" >&2
	exit 2
fi
DP=$1
PC_SRC=$(cd "$2" && pwd)
# shellcheck source=tests/e2e/common.sh
. "$PC_SRC/tests/e2e/common.sh"
pc_e2e_preflight ip ethtool curl python3
pc_e2e_begin pe ""

# Number of requests the backend logged for METHOD PATH.
backend_saw() {
	python3 - "$WORK/backend.requests" "$1" "$2" <<'PY'
import json, sys
n = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        n += r["method"] == sys.argv[2] and r["path"] == sys.argv[3]
print(n)
PY
}

no_sanitizer_report() {
	! grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer' "$WORK/dataplane.err"
}

# request NAME METHOD PATH KEY: send it; remember its client port and the
# decision it must produce (filled in by expect_decision).
request() {
	pc_request "$PC_TOPO_CLIENT_NS" "$WORK/$1" "$2" "$3" "${4:-}"
	echo "     $1: $2 $3 -> $(pc_client_saw "$WORK/$1"), client port $(cat "$WORK/$1.port")"
}

pc_e2e_topology_up
pc_e2e_start "$PC_SRC/config/policy.sample.json"

# ICMP and ARP are bridged: the client reaches the server at L3 through the
# gateway, which has no address of its own.
if command -v ping >/dev/null; then
	check "ping 198.18.1.10 -> $PC_TOPO_SERVER_IP through the gateway" \
		ip netns exec "$PC_TOPO_CLIENT_NS" ping -c 3 -i 0.2 -W 2 -q "$PC_TOPO_SERVER_IP"
else
	check "ICMP echo 198.18.1.10 -> $PC_TOPO_SERVER_IP through the gateway" \
		ip netns exec "$PC_TOPO_CLIENT_NS" python3 "$PC_SRC/tests/e2e/icmp_echo.py" \
		"$PC_TOPO_SERVER_IP" --count 3
fi

request allowed GET /api/v2/tickets/42 "$PC_API_KEY"
check "allowed request answered 200 with the backend's exact body" \
	answered_with_body allowed GET /api/v2/tickets/42
check "backend saw the allowed request once" \
	test "$(backend_saw GET /api/v2/tickets/42)" = 1

request admin GET /admin/users "$PC_API_KEY"
check "denied path reset (curl exit 56)" was_reset admin

request delete DELETE /api/v2/tickets/42 "$PC_API_KEY"
check "denied method reset (curl exit 56)" was_reset delete

request nokey GET /api/v2/tickets/42
check "unknown caller (no key) reset (curl exit 56)" was_reset nokey

request badkey GET /api/v2/tickets/42 pc-not-a-known-key
check "unknown API key reset (curl exit 56)" was_reset badkey

request second GET /api/v2/tickets "$PC_API_KEY"
check "second allowed request, new connection, answered with the exact body" \
	answered_with_body second GET /api/v2/tickets

# The backend log is written before the response is sent, so by now it holds
# every request that reached the backend.
check "backend never saw GET /admin/users" test "$(backend_saw GET /admin/users)" = 0
check "backend never saw DELETE /api/v2/tickets/42" \
	test "$(backend_saw DELETE /api/v2/tickets/42)" = 0
check "backend saw GET /api/v2/tickets/42 only from the allowed request" \
	test "$(backend_saw GET /api/v2/tickets/42)" = 1
check "backend saw exactly the two allowed requests" \
	test "$(wc -l <"$WORK/backend.requests")" = 2

FP_AGENT=ce6e7185989b4c41
check "decision: allowed" decision allowed action=allow rule=tickets-read reason=rule_match \
	identity=ticket-agent method=GET host=$PC_HOST path=/api/v2/tickets/42 \
	src=198.18.1.10 "dst=$PC_TOPO_SERVER_IP" dport=80 \
	credential.kind=api_key credential.fingerprint=$FP_AGENT
check "decision: denied path" decision admin action=deny rule=block-admin reason=rule_match \
	identity=ticket-agent method=GET path=/admin/users
check "decision: denied method" decision delete action=deny rule=null reason=default_action \
	identity=ticket-agent method=DELETE path=/api/v2/tickets/42
check "decision: unknown caller" decision nokey action=deny rule=null reason=unknown_caller \
	identity=null method=GET path=/api/v2/tickets/42
check "decision: unknown key" decision badkey action=deny rule=null reason=api_key_unknown \
	identity=null credential.kind=api_key
check "decision: second allowed" decision second action=allow rule=tickets-read \
	reason=rule_match identity=ticket-agent path=/api/v2/tickets
records=$(python3 "$PC_SRC/tests/e2e/decisions.py" count "$WORK/decisions.jsonl" || echo bad)
check "decision log holds exactly 6 records, one per request (has $records)" test "$records" = 6

# SIGTERM: a clean stop that prints the totals.
dp_rc=0
pc_stop "$PC_DP_PID" 15 || dp_rc=$?
PC_DP_PID=
check "dataplane exits 0 on SIGTERM (exit $dp_rc)" test "$dp_rc" = 0
# Sanitizer builds (developer_mode) report on stderr; UBSan does not change
# the exit status, so look.
check "no sanitizer report on the dataplane's stderr" no_sanitizer_report
echo "     final counters (non-zero): $(grep -E '^[a-z0-9_]+ [0-9]+$' "$WORK/dataplane.out" | grep -v ' 0$' | tr ' \n' '= ')"
allowed_n=$(pc_counter "$WORK/dataplane.out" decisions_allowed)
denied_n=$(pc_counter "$WORK/dataplane.out" decisions_denied)
check "counter decisions_denied = 4 (is ${denied_n:-missing})" test "${denied_n:-}" = 4
check "counter decisions_allowed = 2 (is ${allowed_n:-missing})" test "${allowed_n:-}" = 2
# Each denied request resets both ends: the client and the server.
resets_n=$(pc_counter "$WORK/dataplane.out" resets_sent)
check "counter resets_sent = 8, two per denied request (is ${resets_n:-missing})" \
	test "${resets_n:-}" = 8
dropped_n=$(pc_counter "$WORK/dataplane.out" denied_dropped)
check "counter denied_dropped >= 4 (is ${dropped_n:-missing})" test "${dropped_n:-0}" -ge 4
icmp_n=$(pc_counter "$WORK/dataplane.out" bridged_icmp)
check "counter bridged_icmp >= 6, the echoes and their replies (is ${icmp_n:-missing})" \
	test "${icmp_n:-0}" -ge 6
check "--stats-json holds the same decision counters" python3 -c '
import json, sys
s = json.load(open(sys.argv[1]))
sys.exit(not (s.get("decisions_denied") == 4 and s.get("decisions_allowed") == 2))' \
	"$WORK/stats.json"

pc_e2e_summary
