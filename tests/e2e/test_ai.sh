#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end, decisions on request bodies and DLP: portcullis-dataplane
# inline between two network namespaces (tools/topology), a policy of this
# test's own, the small Python backend, real curl. Asserts:
#
#   * an OpenAI-style POST /v1/chat/completions whose model a rule allows is
#     answered 200 by the backend; one with a model no rule allows is reset,
#     never reaches the backend, and is logged model_not_allowed with "model";
#   * an MCP tools/call of an allowed tool is answered; one of a tool no rule
#     allows is answered 403 (that rule's deny_response) and logged
#     mcp_tool_not_allowed with "mcp_tool";
#   * a body carrying an AWS access key id bound for the external host is
#     reset and never reaches the backend (logged dlp_match with
#     "dlp_pattern"); the same body to an internal host is answered;
#   * the dataplane exits 0, with no mbuf and no DLP stream left in use.
#
#   test_ai.sh DATAPLANE_BINARY SOURCE_DIR
#
# Needs root (namespaces, veth, AF_PACKET); exits 77 (skipped) without it.
# Every name carries this shell's pid. Cleans up on every exit path.
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
pc_e2e_begin pai "-ai_dataplane"

EXT_HOST=api.llm.example
INT_HOST=llm.internal

pc_e2e_topology_up

# Both hosts live on the one server address; the policy tells them apart by
# Host, and only the first is external (its bodies are DLP-scanned).
python3 - "$WORK/policy.json" "$PC_TOPO_SERVER_IP" "$EXT_HOST" "$INT_HOST" <<'PY'
import json, sys
out, ip, ext, internal = sys.argv[1:]
p = {
    "version": 1,
    "default_action": "deny",
    "identities": [{"name": "agent", "sources": ["0.0.0.0/0"]}],
    "destinations": [
        {"name": "llm-external", "hosts": [ext], "addresses": [ip + "/32"], "ports": [80],
         "external": True},
        {"name": "llm-internal", "hosts": [internal], "addresses": [ip + "/32"],
         "ports": [80]},
    ],
    "rules": [
        {"id": "chat-models", "identities": ["agent"], "destinations": ["llm-external"],
         "methods": ["POST"], "paths": ["^/v1/chat/completions$"],
         "models": ["gpt-4o-mini", "claude-*"], "action": "allow"},
        {"id": "mcp-tools", "identities": ["agent"], "destinations": ["llm-external"],
         "methods": ["POST"], "paths": ["^/mcp$"], "mcp_tools": ["get_weather", "search_*"],
         "action": "allow"},
        {"id": "mcp-forbidden", "identities": ["agent"], "destinations": ["llm-external"],
         "methods": ["POST"], "paths": ["^/mcp$"], "mcp_tools": ["delete_*"],
         "action": "deny", "deny_response": "403"},
        {"id": "uploads", "identities": ["agent"],
         "destinations": ["llm-external", "llm-internal"], "methods": ["POST"],
         "paths": ["^/v1/files$"], "action": "allow"},
    ],
    "dlp": {"action": "deny", "default_patterns": True},
}
json.dump(p, open(out, "w"), indent=1)
PY

pc_e2e_start "$WORK/policy.json"

# post NAME HOST PATH BODY: one POST on a new connection (files WORK/NAME.*,
# as pc_request leaves them).
post() {
	local out=$WORK/$1 host=$2 path=$3 body=$4 rc=0
	: >"$out.head"
	: >"$out.body"
	ip netns exec "$PC_TOPO_CLIENT_NS" curl -sS --connect-timeout 5 --max-time 10 \
		--resolve "$host:80:$PC_TOPO_SERVER_IP" -D "$out.head" -o "$out.body" \
		-w '%{local_port}' -H 'Content-Type: application/json' --data-binary "$body" \
		"http://$host$path" >"$out.port" 2>"$out.err" || rc=$?
	echo "$rc" >"$out.rc"
	echo "     $1: $(pc_client_saw "$out")"
}

status_is() { # status_is NAME CODE
	[ "$(cat "$WORK/$1.rc")" = 0 ] && head -n 1 "$WORK/$1.head" | grep -q "^HTTP/1\.[01] $2 "
}

# backend_saw PATH NEEDLE: requests for PATH the backend logged (bodies are
# not logged; the path and the client port tell them apart).
backend_saw_port() {
	local port
	port=$(cat "$WORK/$1.port")
	grep -c "\"client\": \"[0-9.]*:$port\"" "$WORK/backend.requests" 2>/dev/null || true
}

# records NAME KEY=VALUE...: some record of NAME's client port has these fields.
records() {
	local name=$1
	shift
	python3 - "$WORK/decisions.jsonl" "$(cat "$WORK/$name.port")" "$@" <<'PY'
import json, sys, time
path, port, want = sys.argv[1], sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:])
for _ in range(50):
    recs = []
    for line in open(path):
        r = json.loads(line)
        if str(r.get("sport")) == port:
            recs.append(r)
    for r in recs:
        if all(str(r.get(k)) == v for k, v in want.items()):
            print("     " + json.dumps(r, sort_keys=True)[:400])
            sys.exit(0)
    time.sleep(0.1)
print("     records of port %s: %s" % (port, recs))
sys.exit(1)
PY
}

# 1. OpenAI-style chat completions: an allowed model, then one not allowed.
post chat_ok "$EXT_HOST" /v1/chat/completions \
	'{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}]}'
check "allowed model: answered 200" status_is chat_ok 200
check "allowed model: logged allow with the model" \
	records chat_ok action=allow rule=chat-models model=gpt-4o-mini
post chat_bad "$EXT_HOST" /v1/chat/completions \
	'{"model":"gpt-4-turbo","messages":[{"role":"user","content":"hello"}]}'
check "model not allowed: reset (curl exit 56)" was_reset chat_bad
check "model not allowed: logged model_not_allowed with the model" \
	records chat_bad action=deny reason=model_not_allowed model=gpt-4-turbo
check "model not allowed: the backend never saw it" test "$(backend_saw_port chat_bad)" = 0

# 2. MCP tools/call: an allowed tool, then a forbidden one (answered 403).
post mcp_ok "$EXT_HOST" /mcp \
	'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_weather","arguments":{"city":"Oslo"}}}'
check "allowed MCP tool: answered 200" status_is mcp_ok 200
check "allowed MCP tool: logged with the tool" records mcp_ok action=allow mcp_tool=get_weather
post mcp_bad "$EXT_HOST" /mcp \
	'{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_repository","arguments":{}}}'
check "forbidden MCP tool: answered 403 (the rule's deny_response)" status_is mcp_bad 403
check "forbidden MCP tool: the 403 names the rule" grep -q '"rule":"mcp-forbidden"' \
	"$WORK/mcp_bad.body"
check "forbidden MCP tool: logged with the tool" \
	records mcp_bad action=deny rule=mcp-forbidden mcp_tool=delete_repository
check "forbidden MCP tool: the backend never saw it" test "$(backend_saw_port mcp_bad)" = 0

# 3. DLP: a secret bound for the external host is blocked; internal passes.
SECRET_BODY='{"purpose":"assistants","text":"aws_access_key_id = AKIAIOSFODNN7EXAMPLE"}'
post dlp_ext "$EXT_HOST" /v1/files "$SECRET_BODY"
check "secret to the external host: reset (curl exit 56)" was_reset dlp_ext
check "secret to the external host: logged dlp_match with the pattern" \
	records dlp_ext action=deny reason=dlp_match dlp_pattern=aws-access-key-id
check "secret to the external host: the backend never saw the request" \
	test "$(backend_saw_port dlp_ext)" = 0
post dlp_int "$INT_HOST" /v1/files "$SECRET_BODY"
check "the same body to the internal host: answered 200" status_is dlp_int 200

dp_rc=0
pc_stop "$PC_DP_PID" 15 || dp_rc=$?
PC_DP_PID=
check "dataplane exits 0 on SIGTERM (exit $dp_rc)" test "$dp_rc" = 0
check "no sanitizer report on the dataplane's stderr" \
	eval '! grep -Eq "runtime error:|AddressSanitizer|LeakSanitizer" "$WORK/dataplane.err"'
check "no mbuf left in use" test "$(pc_counter "$WORK/dataplane.out" mbufs_in_use)" = 0
check "no DLP stream left in use" test "$(pc_counter "$WORK/dataplane.out" dlp_streams_in_use)" = 0
check "DLP scanned and blocked (dlp_blocked 1)" \
	test "$(pc_counter "$WORK/dataplane.out" dlp_blocked)" = 1
echo "     counters (non-zero): $(grep -E '^[a-z0-9_]+ [0-9]+$' "$WORK/dataplane.out" | grep -v ' 0$' | tr ' \n' '= ')"
pc_e2e_summary
