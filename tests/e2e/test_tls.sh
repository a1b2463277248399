#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: TLS flows are decided at their ClientHello. The dataplane runs
# inline (tools/topology) with a policy written here: the client prefix is a
# source-only identity, 198.18.0.2:443 is a tls destination for
# tickets.internal that a rule allows at TLS 1.3 or above, and
# other.internal is a tls destination a rule denies. The server namespace
# runs `openssl s_server -www` with a certificate made for the run. From the
# client namespace, curl to tickets.internal gets s_server's page through
# the gateway; the same name offered at TLS 1.2 at most, and the other name,
# are reset before the server answers; every connection leaves exactly one
# decision record, with the SNI as its host.
#
#   test_tls.sh DATAPLANE SOURCE_DIR
set -Eeuo pipefail

if [ $# -ne 2 ]; then
	echo "usage: $0 DATAPLANE SOURCE_DIR" >&2
	exit 2
fi
DP=$1
PC_SRC=$(cd "$2" && pwd)
# shellcheck source=tests/e2e/common.sh
. "$PC_SRC/tests/e2e/common.sh"
pc_e2e_preflight ip ethtool curl openssl python3
pc_e2e_begin pt "-t"
TLS_PID=

stop_tls() { pc_stop "$TLS_PID" 5 || true; }
trap 'rc=$?; stop_tls; (exit $rc); pc_e2e_cleanup' EXIT

cat >"$WORK/policy.json" <<'JSON'
{
  "version": 1,
  "default_action": "deny",
  "identities": [{"name": "clients", "sources": ["198.18.1.0/24"]}],
  "destinations": [
    {"name": "tickets-tls", "protocol": "tls", "addresses": ["198.18.0.2/32"],
     "ports": [443], "hosts": ["tickets.internal"]},
    {"name": "other-tls", "protocol": "tls", "addresses": ["198.18.0.2/32"],
     "ports": [443], "hosts": ["other.internal"]}
  ],
  "rules": [
    {"id": "tickets-tls13", "identities": ["clients"], "destinations": ["tickets-tls"],
     "tls": {"min_version": "1.3"}, "action": "allow"},
    {"id": "block-other", "destinations": ["other-tls"], "action": "deny"}
  ]
}
JSON

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=tickets.internal" \
	-keyout "$WORK/key.pem" -out "$WORK/cert.pem" >"$WORK/openssl-req.out" 2>&1

pc_e2e_topology_up
# -www answers every request with a status page; -naccept is left out: each
# test connection may or may not reach the server.
ip netns exec "$PC_TOPO_SERVER_NS" timeout 170 openssl s_server -accept 443 \
	-cert "$WORK/cert.pem" -key "$WORK/key.pem" -www \
	>"$WORK/s_server.out" 2>"$WORK/s_server.err" </dev/null &
TLS_PID=$!
check "openssl s_server listens on 198.18.0.2:443" \
	pc_wait 10 eval "ip netns exec '$PC_TOPO_SERVER_NS' ss -ltn | grep -q ':443 '"
pc_e2e_dataplane "$WORK/policy.json"
echo "# $(grep -E "$PC_READY_RE" "$WORK/dataplane.out")"

# tls NAME SNI [CURL_OPTION...]: one HTTPS GET to SNI on a new connection,
# leaving WORK/NAME.{body,err,port,rc} like pc_request.
tls() {
	local name=$1 sni=$2 rc=0
	shift 2
	: >"$WORK/$name.body"
	ip netns exec "$PC_TOPO_CLIENT_NS" curl -sSk --connect-timeout 5 --max-time 10 \
		--resolve "$sni:443:$PC_TOPO_SERVER_IP" -o "$WORK/$name.body" \
		-w '%{local_port}' "$@" "https://$sni/" \
		>"$WORK/$name.port" 2>"$WORK/$name.err" || rc=$?
	echo "$rc" >"$WORK/$name.rc"
}

# The connection failed the way a reset handshake fails (35: TLS
# connect error, 56: receive failure).
tls_reset() {
	local rc
	rc=$(cat "$WORK/$1.rc")
	[ "$rc" = 35 ] || [ "$rc" = 56 ]
}

tls allowed tickets.internal
check "tickets.internal at TLS 1.3: curl exits 0" \
	bash -c "[ \$(cat '$WORK/allowed.rc') = 0 ]"
# The -www page opens with the server's own command line.
check "...and gets s_server's -www page" \
	grep -q "^s_server -accept 443 " "$WORK/allowed.body"
check "...one decision record: allow, rule_match, host tickets.internal" \
	decision allowed action=allow reason=rule_match rule=tickets-tls13 \
	host=tickets.internal method= path= identity=clients tls_version=1.3
# JA4 (FoxIO): t<version><d|i><ciphers><extensions><alpn>_<12 hex>_<12 hex>;
# curl's exact hello varies with its build, its shape and version do not.
ja4_shape() {
	python3 - "$WORK/decisions.jsonl" "$(cat "$WORK/$1.port")" "$2" <<'PY'
import json, re, sys
log, port, want = sys.argv[1], int(sys.argv[2]), sys.argv[3]
recs = [json.loads(l) for l in open(log) if l.endswith("\n")]
hits = [r for r in recs if r.get("proto") == "tcp" and r.get("sport") == port]
ja4 = hits[0].get("ja4", "") if len(hits) == 1 else ""
print("     ja4=%s" % ja4)
sys.exit(0 if re.fullmatch(want + r"[di][0-9]{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}", ja4) else 1)
PY
}
check "...with the hello's JA4 (t13...)" ja4_shape allowed t13

tls old tickets.internal --tls-max 1.2
echo "# curl --tls-max 1.2: exit $(cat "$WORK/old.rc"): $(cat "$WORK/old.err")"
check "tickets.internal at TLS 1.2 at most: reset (curl exit 35 or 56)" tls_reset old
check "...one decision record: deny, tls_version_too_low, host tickets.internal" \
	decision old action=deny reason=tls_version_too_low host=tickets.internal tls_version=1.2

tls other other.internal
check "other.internal: reset (curl exit 35 or 56)" tls_reset other
check "...one decision record: deny by rule block-other, host other.internal" \
	decision other action=deny reason=rule_match rule=block-other host=other.internal

tls unknown unknown.internal
check "an SNI no destination names: reset (curl exit 35 or 56)" tls_reset unknown
check "...one decision record: deny by default, host unknown.internal" \
	decision unknown action=deny reason=default_action rule=null host=unknown.internal

tls again tickets.internal
check "tickets.internal again after the denials: curl exits 0" \
	bash -c "[ \$(cat '$WORK/again.rc') = 0 ]"
check "...and gets the page again" grep -q "^s_server -accept 443 " "$WORK/again.body"

check "the dataplane is still running" pc_alive "$PC_DP_PID"
pc_stop "$PC_DP_PID" 10 || true
PC_DP_PID=
decided_n=$(pc_counter "$WORK/dataplane.out" tls_hellos_decided)
malformed_n=$(pc_counter "$WORK/dataplane.out" tls_hellos_malformed)
echo "# tls_hellos_decided=$decided_n tls_hellos_malformed=$malformed_n"
check "the counters show five hellos decided, none malformed" \
	test "$decided_n" = 5 -a "$malformed_n" = 0
pc_e2e_summary
