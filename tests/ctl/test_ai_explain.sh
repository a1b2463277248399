#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# explain and policy test on rules that read the request body: the sample
# policy's research-agent (API key "pc-demo-research-agent-key-1", sent as
# "authorization: Bearer ...", fingerprint bec56a54893285a3) may ask the
# llm-gateway (198.18.0.2:8080) for "small-*" models and call the MCP tool
# "search_tickets" on mcp-tools (198.18.0.2:8081). explain reads the body
# after the head (Content-Length or chunked) and prints the model or tool it
# saw, the policy's deny response, and "dlp": true when the body would be
# scanned.
#   test_ai_explain.sh PORTCULLISCTL SOURCE_ROOT
set -u
shopt -s lastpipe

CTL=${1:?usage: $0 PORTCULLISCTL SOURCE_ROOT}
ROOT=${2:?usage: $0 PORTCULLISCTL SOURCE_ROOT}
SAMPLE="$ROOT/config/policy.sample.json"
. "$(dirname "$0")/explain_lib.sh"

# post PATH BODY: a POST with a Content-Length body from research-agent.
post() {
	printf 'POST %s HTTP/1.1\r\nHost: llm.internal\r\nAuthorization: Bearer pc-demo-research-agent-key-1\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s' \
		"$1" "${#2}" "$2"
}

# chunked PATH CHUNK...: the same with the body sent in chunks.
chunked() {
	local path=$1
	shift
	printf 'POST %s HTTP/1.1\r\nHost: llm.internal\r\nAuthorization: Bearer pc-demo-research-agent-key-1\r\nTransfer-Encoding: chunked\r\n\r\n' "$path"
	local c
	for c in "$@"; do
		printf '%x\r\n%s\r\n' "${#c}" "$c"
	done
	printf '0\r\n\r\n'
}

LLM=(--src 198.18.1.20:40000 --dst 198.18.0.2:8080)
MCP=(--src 198.18.1.20:40000 --dst 198.18.0.2:8081)
RA='"identity": "research-agent"'
CRED='"credential": {"kind": "api_key", "fingerprint": "bec56a54893285a3"}'

# models
post /v1/chat/completions '{"model": "small-chat-1", "messages": []}' |
	explain "model allowed" \
	"{\"action\": \"allow\", \"rule\": \"research-small-models\", $RA, \"reason\": \"rule_match\", $CRED, \"model\": \"small-chat-1\"}" \
	"${LLM[@]}"
post /v1/embeddings '{"input": "x", "model": "large-embed"}' |
	explain "model not allowed" \
	"{\"action\": \"deny\", \"rule\": null, $RA, \"reason\": \"model_not_allowed\", $CRED, \"model\": \"large-embed\"}" \
	"${LLM[@]}"
chunked /v1/responses '{"model": "sma' 'll-resp-2", "input": "hi"}' |
	explain "model in a chunked body" \
	"{\"action\": \"allow\", \"rule\": \"research-small-models\", $RA, \"reason\": \"rule_match\", $CRED, \"model\": \"small-resp-2\"}" \
	"${LLM[@]}"
printf 'POST /v1/chat/completions HTTP/1.1\r\nHost: llm.internal\r\nAuthorization: Bearer pc-demo-research-agent-key-1\r\n\r\n' |
	explain "no body for a models rule" \
	"{\"action\": \"deny\", \"rule\": \"research-small-models\", $RA, \"reason\": \"body_malformed\", $CRED}" \
	"${LLM[@]}"
post /v1/chat/completions '{"model": "small-1", "model": "large-1"}' |
	explain "duplicate model" \
	"{\"action\": \"deny\", \"rule\": \"research-small-models\", $RA, \"reason\": \"body_malformed\", $CRED}" \
	"${LLM[@]}"

# MCP tools
post /mcp '{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "search_tickets", "arguments": {}}}' |
	explain "tool allowed" \
	"{\"action\": \"allow\", \"rule\": \"research-search-tickets\", $RA, \"reason\": \"rule_match\", $CRED, \"mcp_tool\": \"search_tickets\"}" \
	"${MCP[@]}"
post /mcp '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "delete_ticket"}}' |
	explain "tool not allowed" \
	"{\"action\": \"deny\", \"rule\": null, $RA, \"reason\": \"mcp_tool_not_allowed\", $CRED, \"mcp_tool\": \"delete_ticket\"}" \
	"${MCP[@]}"
post /mcp '[{"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "search_tickets"}}]' |
	explain "batch refused" \
	"{\"action\": \"deny\", \"rule\": \"research-search-tickets\", $RA, \"reason\": \"body_malformed\", $CRED}" \
	"${MCP[@]}"
post /mcp '{"jsonrpc": "2.0", "id": 4, "method": "tools/list"}' |
	explain "another method is not a tool call" \
	"{\"action\": \"deny\", \"rule\": null, $RA, \"reason\": \"default_action\", $CRED}" \
	"${MCP[@]}"

# Deny responses, DLP and the body window, on a copy of the sample.
python3 - "$SAMPLE" "$TMP/ai.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["deny_response"] = "429"
p["body_window_bytes"] = 128
p["dlp"] = {"action": "deny"}
for d in p["destinations"]:
    if d["name"] == "llm-gateway":
        d["external"] = True
for r in p["rules"]:
    if r["id"] == "block-admin":
        r["deny_response"] = "403"
del p["tests"]
json.dump(p, open(sys.argv[2], "w"), indent=2)
PY
POLICY=$TMP/ai.json
post /v1/chat/completions '{"model": "small-chat-1"}' |
	explain "dlp: an allowed body to an external destination is scanned" \
	"{\"action\": \"allow\", \"rule\": \"research-small-models\", $RA, \"reason\": \"rule_match\", $CRED, \"model\": \"small-chat-1\", \"dlp\": true}" \
	"${LLM[@]}"
post /mcp '{"method": "tools/call", "params": {"name": "search_tickets"}}' |
	explain "dlp: not to an internal one" \
	"{\"action\": \"allow\", \"rule\": \"research-search-tickets\", $RA, \"reason\": \"rule_match\", $CRED, \"mcp_tool\": \"search_tickets\"}" \
	"${MCP[@]}"
post /v1/chat/completions '{"model": "large-chat-1"}' |
	explain "deny response: the policy's default" \
	"{\"action\": \"deny\", \"rule\": null, $RA, \"reason\": \"model_not_allowed\", $CRED, \"model\": \"large-chat-1\", \"deny_response\": \"429\"}" \
	"${LLM[@]}"
printf 'GET /admin HTTP/1.1\r\nHost: tickets.internal\r\n\r\n' |
	explain "deny response: the rule's own" \
	'{"action": "deny", "rule": "block-admin", "identity": null, "reason": "rule_match", "deny_response": "403"}' \
	--dst 198.18.0.2:80
pad=$(printf '%0200d' 0)
post /v1/chat/completions "{\"model\": \"small-chat-1\", \"pad\": \"$pad\"}" |
	explain "body past the window" \
	"{\"action\": \"deny\", \"rule\": \"research-small-models\", $RA, \"reason\": \"body_too_large\", $CRED, \"deny_response\": \"429\"}" \
	"${LLM[@]}"
chunked /v1/chat/completions "{\"model\": \"small-chat-1\", " "\"pad\": \"$pad\"}" |
	explain "chunked body past the window" \
	"{\"action\": \"deny\", \"rule\": \"research-small-models\", $RA, \"reason\": \"body_too_large\", $CRED, \"deny_response\": \"429\"}" \
	"${LLM[@]}"

# policy test: "body" as a JSON value (serialised) and as a string after
# a raw request that frames it.
python3 - "$SAMPLE" "$TMP/cases.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
auth = "Bearer pc-demo-research-agent-key-1"
mcp_body = '{"method": "tools/call", "params": {"name": "kb_delete"}}'
p["tests"] = [
    {"name": "json body", "request": {"method": "POST", "path": "/v1/completions",
     "host": "llm.internal", "headers": {"authorization": auth}},
     "body": {"model": "small-x", "prompt": "hi"},
     "src": "198.18.1.20:1", "dst": "198.18.0.2:8080",
     "expect": {"action": "allow", "rule": "research-small-models"}},
    {"name": "string body after a raw head",
     "request": "POST /mcp HTTP/1.1\r\nHost: mcp.internal\r\nAuthorization: " + auth +
                "\r\nContent-Length: %d\r\n\r\n" % len(mcp_body),
     "body": mcp_body,
     "src": "198.18.1.20:1", "dst": "198.18.0.2:8081",
     "expect": {"action": "deny", "reason": "mcp_tool_not_allowed"}},
    {"name": "malformed string body", "request": {"method": "POST", "path": "/v1/completions",
     "host": "llm.internal", "headers": {"authorization": auth}},
     "body": '{"model": ',
     "src": "198.18.1.20:1", "dst": "198.18.0.2:8080",
     "expect": {"action": "deny", "reason": "body_malformed"}},
]
json.dump(p, open(sys.argv[2], "w"), indent=2)
PY
checks=$((checks + 1))
if "$CTL" policy test "$TMP/cases.json" >"$TMP/out" 2>"$TMP/err" &&
	grep -q '^3 passed, 0 failed$' "$TMP/out"; then
	echo "ok: policy test: cases with bodies"
else
	fail "policy test: cases with bodies: $(cat "$TMP/out" "$TMP/err")"
fi

end_checks
