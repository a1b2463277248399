#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end, JWT identities: portcullis-dataplane inline between two network
# namespaces (tools/topology), a policy written here with a JWT issuer whose
# keys are generated now with the openssl command-line tool (through the
# helpers of tests/jwt/test_openssl_tokens.py), and an API-key identity bound
# to the client's /24. Real curl: a valid JWT is answered with the backend's
# exact body, an expired one is reset; the API key is answered from the bound
# address and reset when replayed from a second client address outside the
# binding. The decision log must name the reason, identity and credential
# kind of each.
#
#   test_jwt.sh DATAPLANE_BINARY SOURCE_DIR
#
# Needs root (namespaces, veth, AF_PACKET); exits 77 (skipped) without it.
set -Eeuo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 DATAPLANE_BINARY SOURCE_DIR" >&2
	exit 2
fi
DP=$1
PC_SRC=$(cd "$2" && pwd)
# shellcheck source=tests/e2e/common.sh
. "$PC_SRC/tests/e2e/common.sh"
pc_e2e_preflight ip ethtool curl python3 openssl
pc_e2e_begin pj "-jwt"
# Inside the API key's 198.18.1.0/24 binding (the topology's client address)
# and outside it; both in the topology's /15, so the server answers either
# straight through the gateway.
CLIENT_IN=198.18.1.10
CLIENT_OUT=198.18.2.10
ISSUER=https://idp.portcullis.test
AUDIENCE=tickets-gw
API_KEY=pc-e2e-jwt-api-key-1

# Keys, key set, tokens and policy, all in $WORK. Tokens are valid from now
# (the dataplane checks them against its wall clock), or expired a while ago.
python3 - "$PC_SRC" "$WORK" "$ISSUER" "$AUDIENCE" "$API_KEY" <<'PY'
import hashlib, json, os, sys, time
src, work, iss, aud, api_key = sys.argv[1:]
sys.path.insert(0, os.path.join(src, "tests", "jwt"))
import test_openssl_tokens as tok

m = tok.Minter(work)
with open(os.path.join(work, "jwks.json"), "w") as f:
    json.dump({"keys": [tok.jwk_rsa(m.rsa, "rsa1"), tok.jwk_ec(m.ec, "ec1")]}, f)
now = int(time.time())
def claims(**kw):
    c = {"iss": iss, "sub": "svc-tickets-1", "aud": aud, "iat": now - 5, "exp": now + 600}
    c.update(kw)
    return c
tokens = {
    "valid": m.token({"alg": "ES256", "kid": "ec1"}, claims(), "ES256"),
    "expired": m.token({"alg": "RS256", "kid": "rsa1"},
                       claims(iat=now - 1200, exp=now - 600), "RS256"),
}
for name, t in tokens.items():
    with open(os.path.join(work, name + ".jwt"), "w") as f:
        f.write(t)
    with open(os.path.join(work, name + ".fp"), "w") as f:
        f.write(hashlib.sha256(t.rsplit(".", 1)[1].encode()).hexdigest()[:16])
policy = {
    "version": 1,
    "default_action": "deny",
    "jwt_issuers": [{"issuer": iss, "audiences": [aud], "algorithms": ["RS256", "ES256"],
                     "jwks_file": "jwks.json"}],
    "identities": [
        {"name": "tickets-svc", "jwt": {"issuer": iss, "subject": "svc-tickets-*"}},
        {"name": "key-agent", "sources": ["198.18.1.0/24"],
         "api_keys_sha256": [hashlib.sha256(api_key.encode()).hexdigest()]},
    ],
    "destinations": [{"name": "tickets", "hosts": ["tickets.internal"],
                      "addresses": ["198.18.0.2/32"], "ports": [80]}],
    "rules": [{"id": "tickets-read", "identities": ["tickets-svc", "key-agent"],
               "destinations": ["tickets"], "methods": ["GET"],
               "paths": ["^/api/v2/tickets(/[0-9]+)?$"], "action": "allow"}],
}
with open(os.path.join(work, "policy.json"), "w") as f:
    json.dump(policy, f, indent=1)
PY

# request NAME FROM_ADDR PATH HEADER: GET http://tickets.internal PATH from
# FROM_ADDR in the client namespace with one extra header, on a new
# connection. Leaves NAME.head, .body, .err, .port and .rc as pc_request does.
request() {
	local name=$1 from=$2 path=$3 header=$4 rc=0 out=$WORK/$1
	: >"$out.head"
	: >"$out.body"
	ip netns exec "$PC_TOPO_CLIENT_NS" curl -sS --connect-timeout 5 --max-time 10 \
		--interface "$from" --resolve "$PC_HOST:80:$PC_TOPO_SERVER_IP" \
		-H "$header" -D "$out.head" -o "$out.body" -w '%{local_port}' \
		"http://$PC_HOST$path" >"$out.port" 2>"$out.err" || rc=$?
	echo "$rc" >"$out.rc"
	echo "     $name: GET $path from $from -> $(pc_client_saw "$out"), client port $(cat "$out.port")"
}

pc_e2e_topology_up
ip netns exec "$PC_TOPO_CLIENT_NS" ip addr add "$CLIENT_OUT/15" dev "$PC_TOPO_NS_IF"
pc_e2e_start "$WORK/policy.json"

request jwt_valid "$CLIENT_IN" /api/v2/tickets/42 "Authorization: Bearer $(cat "$WORK/valid.jwt")"
check "valid JWT answered 200 with the backend's exact body" \
	answered_with_body jwt_valid GET /api/v2/tickets/42

request jwt_expired "$CLIENT_IN" /api/v2/tickets/43 "Authorization: Bearer $(cat "$WORK/expired.jwt")"
check "expired JWT reset (curl exit 56)" was_reset jwt_expired

request key_bound "$CLIENT_IN" /api/v2/tickets/44 "X-Api-Key: $API_KEY"
check "API key from the bound source answered 200 with the exact body" \
	answered_with_body key_bound GET /api/v2/tickets/44

request key_replayed "$CLIENT_OUT" /api/v2/tickets/45 "X-Api-Key: $API_KEY"
check "API key replayed from $CLIENT_OUT, outside the binding, reset (curl exit 56)" \
	was_reset key_replayed

# The backend log is written before the response is sent.
check "backend saw exactly the two allowed requests" \
	test "$(wc -l <"$WORK/backend.requests")" = 2
check "backend never saw the denied paths" \
	eval '! grep -Eq "/api/v2/tickets/4[35]\"" "$WORK/backend.requests"'

check "decision: valid JWT" decision jwt_valid action=allow rule=tickets-read \
	reason=rule_match identity=tickets-svc src=$CLIENT_IN path=/api/v2/tickets/42 \
	credential.kind=jwt "credential.fingerprint=$(cat "$WORK/valid.fp")" \
	"jwt_issuer=$ISSUER" jwt_subject=svc-tickets-1
check "decision: expired JWT" decision jwt_expired action=deny rule=null reason=jwt_expired \
	identity=null credential.kind=jwt "credential.fingerprint=$(cat "$WORK/expired.fp")" \
	jwt_issuer=null jwt_subject=null
check "decision: API key, bound source" decision key_bound action=allow rule=tickets-read \
	reason=rule_match identity=key-agent src=$CLIENT_IN credential.kind=api_key \
	jwt_issuer=null jwt_subject=null
check "decision: API key, unbound source" decision key_replayed action=deny rule=null \
	reason=credential_from_unbound_source identity=key-agent src=$CLIENT_OUT \
	credential.kind=api_key
records=$(python3 "$PC_SRC/tests/e2e/decisions.py" count "$WORK/decisions.jsonl" || echo bad)
check "decision log holds exactly 4 records (has $records)" test "$records" = 4
check "no token text in the decision log" \
	eval '! grep -qF "$(cut -d. -f3 "$WORK/valid.jwt")" "$WORK/decisions.jsonl"'

dp_rc=0
pc_stop "$PC_DP_PID" 15 || dp_rc=$?
PC_DP_PID=
check "dataplane exits 0 on SIGTERM (exit $dp_rc)" test "$dp_rc" = 0
check "no sanitizer report on the dataplane's stderr" \
	eval '! grep -Eq "runtime error:|AddressSanitizer|LeakSanitizer" "$WORK/dataplane.err"'
allowed_n=$(pc_counter "$WORK/dataplane.out" decisions_allowed)
denied_n=$(pc_counter "$WORK/dataplane.out" decisions_denied)
check "counters: 2 allowed, 2 denied (are ${allowed_n:-missing}, ${denied_n:-missing})" \
	test "${allowed_n:-}/${denied_n:-}" = 2/2

pc_e2e_summary
