#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# portcullisctl end to end: explain on the sample policy prints exactly the
# expected verdict for each case, and policy validate and the command line
# give the documented exit codes.
#   test_portcullisctl.sh PORTCULLISCTL SOURCE_ROOT
#
# The sample's API keys: ticket-agent's is "pc-demo-ticket-agent-key-1"
# (SHA-256 ce6e7185...), billing-bot's "pc-demo-billing-bot-key-1"
# (fa33d4b7...). A fingerprint is the first 8 bytes of the key's SHA-256, or
# for a source identity of the SHA-256 of the source address bytes.
set -u
# explain runs at the end of a pipe: in this shell, so its counts stick.
shopt -s lastpipe

CTL=${1:?usage: $0 PORTCULLISCTL SOURCE_ROOT}
ROOT=${2:?usage: $0 PORTCULLISCTL SOURCE_ROOT}
. "$(dirname "$0")/explain_lib.sh"

# expect_exit NAME CODE STDOUT_PATTERN STDERR_PATTERN command...; patterns
# are grep -E expressions, empty for "anything".
expect_exit() {
	local name=$1 code=$2 out_pat=$3 err_pat=$4
	shift 4
	checks=$((checks + 1))
	"$@" >"$TMP/stdout" 2>"$TMP/stderr" </dev/null
	local rc=$?
	if [ "$rc" -ne "$code" ]; then
		fail "$name: exit $rc, want $code (stderr: $(cat "$TMP/stderr"))"
	elif [ -n "$out_pat" ] && ! grep -Eq -- "$out_pat" "$TMP/stdout"; then
		fail "$name: stdout does not match /$out_pat/: $(cat "$TMP/stdout")"
	elif [ -n "$err_pat" ] && ! grep -Eq -- "$err_pat" "$TMP/stderr"; then
		fail "$name: stderr does not match /$err_pat/: $(cat "$TMP/stderr")"
	else
		echo "ok: $name"
	fi
}

# req METHOD PATH [HEADER...]: an HTTP/1.1 request with CRLF line ends.
req() {
	local method=$1 path=$2
	shift 2
	printf '%s %s HTTP/1.1\r\nHost: tickets.internal\r\n' "$method" "$path"
	local h
	for h in "$@"; do
		printf '%s\r\n' "$h"
	done
	printf '\r\n'
}

TA_KEY="X-Api-Key: pc-demo-ticket-agent-key-1"
BB_KEY="x-api-key: pc-demo-billing-bot-key-1"
TA_CRED='"credential": {"kind": "api_key", "fingerprint": "ce6e7185989b4c41"}'
BB_CRED='"credential": {"kind": "api_key", "fingerprint": "fa33d4b79c8f6e95"}'
CLIENT=(--src 198.18.1.10:40000 --dst 198.18.0.2:80)

req GET /api/v2/tickets/42 "$TA_KEY" | explain "allowed GET /api/v2/tickets/42" \
	"{\"action\": \"allow\", \"rule\": \"tickets-read\", \"identity\": \"ticket-agent\", \"reason\": \"rule_match\", $TA_CRED}" \
	"${CLIENT[@]}"

req GET /admin/users "$TA_KEY" | explain "path denied by block-admin" \
	"{\"action\": \"deny\", \"rule\": \"block-admin\", \"identity\": \"ticket-agent\", \"reason\": \"rule_match\", $TA_CRED}" \
	"${CLIENT[@]}"

req DELETE /api/v2/tickets/42 "$TA_KEY" | explain "DELETE denied by default" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"default_action\", $TA_CRED}" \
	"${CLIENT[@]}"

req GET /api/v2/tickets/42 | explain "unknown caller" \
	'{"action": "deny", "rule": null, "identity": null, "reason": "unknown_caller"}' \
	"${CLIENT[@]}"

# SHA-256("nope") starts ca3704aa0b06f595
req GET /api/v2/tickets/42 "X-Api-Key: nope" | explain "unknown key" \
	'{"action": "deny", "rule": null, "identity": null, "reason": "api_key_unknown", "credential": {"kind": "api_key", "fingerprint": "ca3704aa0b06f595"}}' \
	"${CLIENT[@]}"

req GET /api/v2/tickets/42 "$TA_KEY" | explain "key from an unbound source" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"credential_from_unbound_source\", $TA_CRED}" \
	--src 198.18.2.10:40000 --dst 198.18.0.2:80

req GET /api/v2/tickets/42 "$TA_KEY" | explain "key from an unbound IPv6 source" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"credential_from_unbound_source\", $TA_CRED}" \
	--src '[2001:db8::10]:40000' --dst 198.18.0.2:80

printf 'GET /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal\r\n\r\n' | explain "malformed request (bare LF)" \
	'{"action": "deny", "rule": null, "identity": null, "reason": "http_bare_lf"}' \
	"${CLIENT[@]}"

printf 'GET /api/v2/tickets/42 HTTP/1.1\r\nHost: tickets.internal\r\n' | explain "incomplete request head" \
	'{"action": "deny", "rule": null, "identity": null, "reason": "http_head_incomplete"}' \
	"${CLIENT[@]}"

req GET /api/v2/invoices/7 "$BB_KEY" | explain "billing-bot reads invoices from anywhere" \
	"{\"action\": \"allow\", \"rule\": \"billing-read\", \"identity\": \"billing-bot\", \"reason\": \"rule_match\", $BB_CRED}" \
	--src 203.0.113.7 --dst 198.18.0.2:80

# SHA-256 of the bytes c6 12 01 c8 (198.18.1.200) starts 65e001fae956da7c
req GET /healthz | explain "source-only identity" \
	'{"action": "allow", "rule": "monitoring-health", "identity": "monitoring", "reason": "rule_match", "credential": {"kind": "source", "fingerprint": "65e001fae956da7c"}}' \
	--src 198.18.1.200 --dst 198.18.0.2:80

req GET /api/v2/tickets/42 "$TA_KEY" | explain "no --src/--dst: binding and addresses not checked" \
	"{\"action\": \"allow\", \"rule\": \"tickets-read\", \"identity\": \"ticket-agent\", \"reason\": \"rule_match\", $TA_CRED}"

# Paths are normalised before rules see them; ambiguous ones are denied.
req GET /admin/../api/v2/tickets/7 "$TA_KEY" | explain "dot-segments removed before matching" \
	"{\"action\": \"allow\", \"rule\": \"tickets-read\", \"identity\": \"ticket-agent\", \"reason\": \"rule_match\", $TA_CRED, \"normalized_path\": \"/api/v2/tickets/7\"}" \
	"${CLIENT[@]}"

req GET /api/v2/../../%61dmin/users "$TA_KEY" | explain "escape to /admin is caught by block-admin" \
	"{\"action\": \"deny\", \"rule\": \"block-admin\", \"identity\": \"ticket-agent\", \"reason\": \"rule_match\", $TA_CRED, \"normalized_path\": \"/admin/users\"}" \
	"${CLIENT[@]}"

req GET /api/v2/tickets/%2e%2e/%2e%2e/admin "$TA_KEY" | explain "encoded dot-segment denied" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"path_encoded_dot_segment\", $TA_CRED}" \
	"${CLIENT[@]}"

req GET /api/v2/tickets/..%2fadmin "$TA_KEY" | explain "encoded slash denied" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"path_encoded_slash\", $TA_CRED}" \
	"${CLIENT[@]}"

req GET /api/v2/tickets/42 "$TA_KEY" | explain "wrong destination port" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"default_action\", $TA_CRED}" \
	--src 198.18.1.10 --dst 198.18.0.2:8080

# policy validate
expect_exit "policy validate: sample is ok" 0 '^ok$' '' "$CTL" policy validate "$POLICY"
sed 's#"\^/healthz\$"#"^/healthz($"#' "$POLICY" >"$TMP/bad-regex.json"
line=$(grep -n '"\^/healthz(\$"' "$TMP/bad-regex.json" | cut -d: -f1)
expect_exit "policy validate: bad regex names file, line, JSON path, rule, pattern" 1 '' \
	"bad-regex.json:$line: \\\$\\.rules\\[4\\]\\.paths\\[0\\]: rule \"monitoring-health\": path pattern \"\\^/healthz\\(\\\$\" rejected by Hyperscan: Missing close parenthesis" \
	"$CTL" policy validate "$TMP/bad-regex.json"
printf '{"version": 1, "default_action": "maybe"}\n' >"$TMP/bad-action.json"
expect_exit "policy validate: bad JSON value" 1 '' 'bad-action.json' "$CTL" policy validate "$TMP/bad-action.json"
expect_exit "policy validate: missing file" 1 '' 'nonexistent' "$CTL" policy validate "$TMP/nonexistent.json"
expect_exit "policy validate: no file given" 2 '' 'needs a FILE' "$CTL" policy validate

# policy test: the sample's own test cases, then a copy with one wrong
# expectation, then malformed cases.
expect_exit "policy test: sample passes" 0 '^8 passed, 0 failed$' '' "$CTL" policy test "$POLICY"
expect_exit "policy test: one PASS line per case" 0 '^PASS  unknown caller is denied: ' '' \
	"$CTL" policy test "$POLICY"
sed 's#"rule": "block-admin", "reason"#"rule": "tickets-read", "reason"#' "$POLICY" >"$TMP/wrong.json"
expect_exit "policy test: wrong expectation fails, FAIL line names the case" 1 \
	'^FAIL  admin path is denied: expected action=deny rule=tickets-read reason=rule_match, got action=deny rule=block-admin reason=rule_match$' \
	'' "$CTL" policy test "$TMP/wrong.json"
expect_exit "policy test: summary counts the failure" 1 '^7 passed, 1 failed$' '' \
	"$CTL" policy test "$TMP/wrong.json"
python3 - "$POLICY" "$TMP/bad-src.json" <<'PY'
import sys
text = open(sys.argv[1]).read()
# the third case's source only, so the reported line must be its own
parts = text.split('"src": "198.18.1.10:40000"')
assert len(parts) == 5
out = parts[0]
for i, rest in enumerate(parts[1:]):
    out += ('"src": "198.18.1.300"' if i == 2 else '"src": "198.18.1.10:40000"') + rest
open(sys.argv[2], "w").write(out)
PY
line=$(grep -n '"src": "198.18.1.300"' "$TMP/bad-src.json" | cut -d: -f1)
expect_exit "policy test: bad src names file, line, JSON path" 1 '' \
	"bad-src.json:$line: \\\$\\.tests\\[2\\]\\.src: expected" "$CTL" policy test "$TMP/bad-src.json"
sed 's#"expect": {"action": "deny", "rule": null, "reason": "unknown_caller"}#"expect": {}#' \
	"$POLICY" >"$TMP/empty-expect.json"
line=$(grep -n '"expect": {}' "$TMP/empty-expect.json" | cut -d: -f1)
expect_exit "policy test: empty expect is an error" 1 '' \
	"empty-expect.json:$line: \\\$\\.tests\\[3\\]\\.expect: expect needs at least one" \
	"$CTL" policy test "$TMP/empty-expect.json"
python3 - "$POLICY" "$TMP/no-tests.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
del p["tests"]
json.dump(p, open(sys.argv[2], "w"), indent=2)
PY
expect_exit "policy test: no tests" 1 '' 'no "tests"' "$CTL" policy test "$TMP/no-tests.json"
expect_exit "policy test: policy fails to load" 1 '' 'bad-regex.json' \
	"$CTL" policy test "$TMP/bad-regex.json"
expect_exit "policy test: no file given" 2 '' 'needs a FILE' "$CTL" policy test
expect_exit "policy test: bad --now" 2 '' '--now' "$CTL" policy test "$POLICY" --now soon

# policy diff
expect_exit "policy diff: a file against itself" 0 '^no differences$' '' \
	"$CTL" policy diff "$POLICY" --against "$POLICY"
python3 - "$POLICY" "$TMP/reordered.json" "$TMP/changed.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
# same meaning: lists are sets, descriptions and tests are not the policy
q = json.loads(json.dumps(p))
q["rules"][1]["methods"].reverse()
q["identities"].reverse()
q["identities"][0]["description"] = "only a comment"
del q["tests"]
json.dump(q, open(sys.argv[2], "w"), indent=4)
r = json.loads(json.dumps(p))
r["default_action"] = "allow"
r["rules"][1]["methods"].append("POST")
r["rules"][1]["action"] = "deny"
r["rules"] = [x for x in r["rules"] if x["id"] != "ops-ssh"]
r["rules"].append({"id": "billing-write", "identities": ["billing-bot"],
                   "destinations": ["tickets"], "methods": ["PUT"], "action": "allow"})
r["rules"][0], r["rules"][1] = r["rules"][1], r["rules"][0]
r["destinations"][0]["ports"] = [80, 8080]
r["identities"][2]["api_keys_sha256"] = ["00" * 32]
json.dump(r, open(sys.argv[3], "w"), indent=2)
PY
expect_exit "policy diff: order of lists, descriptions and tests do not matter" 0 \
	'^no differences$' '' "$CTL" policy diff "$TMP/reordered.json" --against "$POLICY"
"$CTL" policy diff "$TMP/changed.json" --against "$POLICY" >"$TMP/diff.out" 2>"$TMP/diff.err"
rc=$?
checks=$((checks + 1))
want='changed default_action: "deny" -> "allow"
changed identity "monitoring": api_keys_sha256
changed destination "tickets": ports
changed rule "tickets-read": methods, action
removed rule "ops-ssh"
added rule "billing-write"
moved rule "tickets-read": now before a rule it followed'
if [ "$rc" -ne 1 ]; then
	fail "policy diff: changes: exit $rc, want 1 (stderr: $(cat "$TMP/diff.err"))"
elif [ "$(cat "$TMP/diff.out")" != "$want" ]; then
	fail "policy diff: changes"$'\n'"  got:  $(cat "$TMP/diff.out")"$'\n'"  want: $want"
else
	echo "ok: policy diff: changes, one line each, fields named"
fi
expect_exit "policy diff: a file that does not load" 1 '' 'bad-regex.json' \
	"$CTL" policy diff "$TMP/bad-regex.json" --against "$POLICY"
expect_exit "policy diff: no daemon to compare with" 1 '' '' \
	"$CTL" policy diff "$POLICY" --socket "$TMP/nonexistent.sock"
expect_exit "policy diff: no file given" 2 '' 'needs a FILE' "$CTL" policy diff --against "$POLICY"

# command line
expect_exit "--help" 0 'explain' '' "$CTL" --help
expect_exit "-h" 0 'policy validate' '' "$CTL" -h
expect_exit "explain --help" 0 'explain --policy' '' "$CTL" explain --help
expect_exit "no command" 2 '' 'usage' "$CTL"
expect_exit "unknown command" 2 '' 'unknown command "frobnicate"' "$CTL" frobnicate
expect_exit "unknown subcommand" 2 '' 'unknown command "policy frob"' "$CTL" policy frob
expect_exit "unknown option" 2 '' 'unknown option --frob' "$CTL" explain --policy "$POLICY" --frob
expect_exit "unknown short option" 2 '' 'unknown option -x' "$CTL" explain -x
expect_exit "option without its value" 2 '' 'option --policy needs a value' "$CTL" explain --policy
expect_exit "bad --src" 2 '' '--src' "$CTL" explain --policy "$POLICY" --src 300.1.1.1
expect_exit "--dst without port" 2 '' '--dst' "$CTL" explain --policy "$POLICY" --dst 198.18.0.2
expect_exit "explain without --policy" 2 '' 'needs --policy' "$CTL" explain
expect_exit "explain, policy fails to load" 1 '' 'bad-regex.json' \
	"$CTL" explain --policy "$TMP/bad-regex.json"

# Shadow mode. explain keeps "action" what the traffic gets and adds
# "shadow": "would_deny" when an enforced policy would have denied.
SAMPLE_POLICY=$POLICY
sed 's/"id": "block-admin",/"id": "block-admin", "mode": "shadow",/' "$SAMPLE_POLICY" \
	>"$TMP/shadow-rule.json"
sed '0,/"version": 1,/s//"version": 1, "mode": "shadow",/' "$SAMPLE_POLICY" \
	>"$TMP/shadow-policy.json"
POLICY=$TMP/shadow-rule.json
req GET /admin/users "$TA_KEY" | explain "shadow rule: deny passes as would_deny" \
	"{\"action\": \"allow\", \"shadow\": \"would_deny\", \"rule\": \"block-admin\", \"identity\": \"ticket-agent\", \"reason\": \"rule_match\", $TA_CRED}" \
	"${CLIENT[@]}"
req DELETE /api/v2/tickets/42 "$TA_KEY" | explain "shadow rule: default deny still enforced" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"default_action\", $TA_CRED}" \
	"${CLIENT[@]}"
POLICY=$TMP/shadow-policy.json
req DELETE /api/v2/tickets/42 "$TA_KEY" | explain "shadow policy: default deny passes" \
	"{\"action\": \"allow\", \"shadow\": \"would_deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"default_action\", $TA_CRED}" \
	"${CLIENT[@]}"
req GET /api/v2/tickets/42 | explain "shadow policy: unknown caller passes" \
	'{"action": "allow", "shadow": "would_deny", "rule": null, "identity": null, "reason": "unknown_caller"}' \
	"${CLIENT[@]}"
req GET /api/v2/tickets/42 "$TA_KEY" | explain "shadow policy: allow is a plain allow" \
	"{\"action\": \"allow\", \"rule\": \"tickets-read\", \"identity\": \"ticket-agent\", \"reason\": \"rule_match\", $TA_CRED}" \
	"${CLIENT[@]}"
req GET /api/v2/tickets/..%2fadmin "$TA_KEY" | explain "shadow policy: ambiguous path still denied" \
	"{\"action\": \"deny\", \"rule\": null, \"identity\": \"ticket-agent\", \"reason\": \"path_encoded_slash\", $TA_CRED}" \
	"${CLIENT[@]}"
printf 'GET /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal\r\n\r\n' | explain "shadow policy: malformed request still denied" \
	'{"action": "deny", "rule": null, "identity": null, "reason": "http_bare_lf"}'
POLICY=$SAMPLE_POLICY

end_checks
