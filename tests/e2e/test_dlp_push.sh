#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end: a policy push that changes the DLP patterns while an upload to
# an external host is being scanned. The dataplane runs inline
# (tools/topology) under portcullis-control with default DLP patterns. A
# Python client sends the head of a POST and the first half of its body,
# then waits while `portcullisctl policy push` adds a pattern (acme-token);
# then it sends the second half, which carries an acme token. Asserts:
#
#   * the upload under way finishes with the patterns it started with: the
#     acme token passes it, the backend answers 200, and the decision log
#     has no deny for it;
#   * a new upload carrying an acme token, sent after the push, is reset
#     and logged dlp_match with "dlp_pattern":"acme-token";
#   * the dataplane exits 0 with no DLP stream left in use.
#
#   test_dlp_push.sh DATAPLANE CONTROL CTL SOURCE_DIR
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
pc_e2e_control_begin pdp "-dlp_push"
EXT_HOST=api.llm.example
TOKEN=acme_0123456789abcdef0123456789abcdef

pc_e2e_topology_up

# policy.json: uploads to the external host, default DLP patterns;
# policy2.json: the same with one more pattern.
python3 - "$WORK" "$PC_TOPO_SERVER_IP" "$EXT_HOST" <<'PY'
import json, sys
work, ip, ext = sys.argv[1:]
p = {
    "version": 1,
    "default_action": "deny",
    "identities": [{"name": "agent", "sources": ["0.0.0.0/0"]}],
    "destinations": [{"name": "llm", "hosts": [ext], "addresses": [ip + "/32"],
                      "ports": [80], "external": True}],
    "rules": [{"id": "uploads", "identities": ["agent"], "destinations": ["llm"],
               "methods": ["POST"], "paths": ["^/v1/files$"], "action": "allow"}],
    "dlp": {"action": "deny", "default_patterns": True},
}
json.dump(p, open(work + "/policy.json", "w"), indent=1)
p["dlp"]["patterns"] = [{"name": "acme-token", "regex": "acme_[a-z0-9]{32}"}]
json.dump(p, open(work + "/policy2.json", "w"), indent=1)
PY

pc_start_backend "$PC_TOPO_SERVER_NS" "$PC_TOPO_SERVER_IP" "$WORK" 170
pc_e2e_control_start "$WORK/policy.json"
check "portcullis-control attached and the dataplane applied its push" pc_e2e_generation 2

# The client: head and first half, "half.sent", wait for "go", second half
# (with the token), then the answer. Prints "PORT STATUS" (or "reset").
ip netns exec "$PC_TOPO_CLIENT_NS" python3 - "$PC_TOPO_SERVER_IP" "$EXT_HOST" "$WORK" \
	"$TOKEN" >"$WORK/client.out" 2>"$WORK/client.err" <<'PY' &
import os, socket, sys, time
server, host, work, token = sys.argv[1:5]
first = b'{"purpose":"assistants","text":"' + b"plain words " * 200
second = b" and then " + token.encode() + b" " + b"more words " * 200 + b'"}'
head = (f"POST /v1/files HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(first) + len(second)}\r\n\r\n").encode()
s = socket.create_connection((server, 80), timeout=20)
port = s.getsockname()[1]
status = "reset"
try:
    s.sendall(head + first)
    open(os.path.join(work, "half.sent"), "w").close()
    for _ in range(300):
        if os.path.exists(os.path.join(work, "go")):
            break
        time.sleep(0.1)
    s.sendall(second)
    answer = b""
    while b"\r\n" not in answer:
        chunk = s.recv(4096)
        if not chunk:
            break
        answer += chunk
    status = answer.split(b" ", 2)[1].decode() if answer.startswith(b"HTTP/") else "closed"
except (ConnectionResetError, BrokenPipeError):
    status = "reset"
except socket.timeout:
    status = "timeout"
print(port, status, flush=True)
PY
CLIENT_PID=$!
check "the client sent the head and the first half of the body" \
	pc_wait 20 test -e "$WORK/half.sent"
check "policy push with the acme-token pattern applied" \
	ctl policy push "$WORK/policy2.json"
check "the dataplane runs generation 3" pc_e2e_generation 3
touch "$WORK/go"
wait "$CLIENT_PID" || true
PORT=$(awk '{ print $1 }' "$WORK/client.out")
echo "     upload under way: $(cat "$WORK/client.out")"
check "the upload under way finished with its patterns: answered 200" \
	grep -Eq '^[0-9]+ 200$' "$WORK/client.out"
check "...allowed in the decision log, and never denied" \
	bash -c "pc() { grep -F '\"sport\":$PORT,' '$WORK/decisions.jsonl'; };
		 pc | grep -q '\"action\":\"allow\"' && ! pc | grep -q '\"action\":\"deny\"'"

BODY="{\"purpose\":\"assistants\",\"text\":\"here it is: $TOKEN\"}"
ip netns exec "$PC_TOPO_CLIENT_NS" curl -sS --connect-timeout 5 --max-time 10 \
	--resolve "$EXT_HOST:80:$PC_TOPO_SERVER_IP" -o /dev/null -w '%{local_port}' \
	-H 'Content-Type: application/json' --data-binary "$BODY" \
	"http://$EXT_HOST/v1/files" >"$WORK/new.port" 2>"$WORK/new.err" || echo $? >"$WORK/new.rc"
check "a new upload with an acme token is reset (curl exit 56)" \
	test "$(cat "$WORK/new.rc" 2>/dev/null)" = 56
check "...logged dlp_match with the new pattern" \
	pc_wait 5 eval "grep -F '\"sport\":$(cat "$WORK/new.port"),' '$WORK/decisions.jsonl' |
		grep -q '\"dlp_pattern\":\"acme-token\"'"

dp_rc=0
pc_stop "$PC_DP_PID" 15 || dp_rc=$?
PC_DP_PID=
check "dataplane exits 0 on SIGTERM (exit $dp_rc)" test "$dp_rc" = 0
check "no sanitizer report on the dataplane's stderr" \
	eval '! grep -Eq "runtime error:|AddressSanitizer|LeakSanitizer" "$WORK/dataplane.err"'
check "no DLP stream left in use" test "$(pc_counter "$WORK/dataplane.out" dlp_streams_in_use)" = 0
pc_e2e_summary
