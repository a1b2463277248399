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

CTL=${1:?usage: $0 PORTCULLISCTL SOURCE_ROOT}
ROOT=${2:?usage: $0 PORTCULLISCTL SOURCE_ROOT}
POLICY="$ROOT/config/policy.sample.json"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

failures=0
checks=0

fail() {
	echo "FAIL: $*"
	failures=$((failures + 1))
}

# explain NAME EXPECTED_JSON [explain options...]; the request is on stdin.
explain() {
	local name=$1 want=$2
	shift 2
	checks=$((checks + 1))
	local got rc
	got=$("$CTL" explain --policy "$POLICY" "$@" 2>"$TMP/stderr")
	rc=$?
	if [ "$rc" -ne 0 ]; then
		fail "$name: exit $rc: $(cat "$TMP/stderr")"
	elif [ "$got" != "$want" ]; then
		fail "$name"$'\n'"  got:  $got"$'\n'"  want: $want"
	else
		echo "ok: $name"
	fi
}

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

echo "$((checks - failures)) of $checks checks passed"
[ "$failures" -eq 0 ]
