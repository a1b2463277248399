#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
#
# End-to-end, keep-alive: every request on a connection is decided, not just
# the first. portcullis-dataplane inline between two network namespaces
# (tools/topology), a policy of this test's own (the sample's rules plus a
# POST /upload rule), a backend that reads every body byte and logs its
# length and SHA-256, real curl and Python's http.client. Asserts:
#
#   * curl --next on one kept-alive connection: the first request (allowed)
#     is answered, the second (denied) is reset; the backend saw only the
#     first, and both decisions name the same client port;
#   * two requests pipelined back to back on one socket (http.client): both
#     allowed and both answered, in order; then allowed + denied pipelined:
#     the client is reset and the backend never sees the denied one;
#   * a 10 MiB POST with Content-Length to an allowed path: the backend
#     receives all of it, byte for byte (length and SHA-256);
#   * --deny-response 403 (the dataplane restarted with it): a denied
#     request is answered 403 with the JSON body naming the reason and rule.
#
#   test_keepalive.sh DATAPLANE_BINARY SOURCE_DIR
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
pc_e2e_begin pk "-ka"

# The backend: HTTP/1.1 with keep-alive, reads every body byte, logs one JSON
# line per request (method, path, body length and SHA-256) before answering.
cat >"$WORK/backend.py" <<'PY'
import argparse, hashlib, http.server, json, threading

ap = argparse.ArgumentParser()
ap.add_argument("--bind", required=True)
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--ready", required=True)
ap.add_argument("--lifetime", type=float, required=True)
a = ap.parse_args()
lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        digest, got = hashlib.sha256(), 0
        while got < n:
            chunk = self.rfile.read(min(1 << 16, n - got))
            if not chunk:
                break
            digest.update(chunk)
            got += len(chunk)
        with lock, open(a.log, "a") as f:
            f.write(json.dumps({"client": "%s:%d" % self.client_address[:2],
                                "method": self.command, "path": self.path,
                                "body_bytes": got, "body_sha256": digest.hexdigest()}) + "\n")
        body = (json.dumps({"method": self.command, "path": self.path,
                            "body_bytes": got}, separators=(",", ":")) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, fmt, *args):
        pass


srv = http.server.ThreadingHTTPServer((a.bind, a.port), Handler)
threading.Timer(a.lifetime, srv.shutdown).start()
open(a.ready, "w").write("ready\n")
srv.serve_forever()
PY

# The sample policy plus a rule allowing the agent's uploads.
python3 - "$PC_SRC/config/policy.sample.json" "$WORK/policy.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["rules"].insert(1, {"id": "uploads", "identities": ["ticket-agent"],
                      "destinations": ["tickets"], "methods": ["POST"],
                      "paths": ["^/upload$"], "action": "allow"})
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY

stop_dp() {
	local rc=0
	pc_stop "$PC_DP_PID" 15 || rc=$?
	PC_DP_PID=
	return $rc
}

# Requests the backend logged for METHOD PATH.
backend_saw() {
	python3 - "$WORK/backend.requests" "$1" "$2" <<'PY'
import json, sys
n = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            n += r["method"] == sys.argv[2] and r["path"] == sys.argv[3]
except FileNotFoundError:
    pass
print(n)
PY
}

no_sanitizer_report() {
	! grep -Eq 'runtime error:|AddressSanitizer|LeakSanitizer' "$WORK/dataplane.err"
}

# decisions_for PORT: "action path" per decision of that client port, in order.
decisions_for() {
	python3 - "$WORK/decisions.jsonl" "$1" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if str(r.get("sport")) == sys.argv[2]:
        print(r["action"], r.get("path"), r["reason"])
PY
}

in_client() {
	ip netns exec "$PC_TOPO_CLIENT_NS" "$@"
}

pc_e2e_topology_up
URL=http://$PC_HOST
RESOLVE=(--resolve "$PC_HOST:80:$PC_TOPO_SERVER_IP")
KEY=(-H "x-api-key: $PC_API_KEY")
pc_e2e_start "$WORK/policy.json" "$WORK/backend.py"

# 1. curl keep-alive with --next: one connection, first allowed, second denied.
# When its kept-alive connection is reset under a request, curl retries that
# request once on a new connection, which is denied as well: the deny that
# matters is the one recorded on the first connection's port.
rc=0
in_client curl -sS --connect-timeout 5 --max-time 10 "${RESOLVE[@]}" "${KEY[@]}" \
	-w '\nport=%{local_port} reused=%{num_connects}\n' "$URL/api/v2/tickets/42" \
	--next -sS --connect-timeout 5 --max-time 10 "${RESOLVE[@]}" "${KEY[@]}" \
	-w '\nport=%{local_port} reused=%{num_connects}\n' "$URL/admin/users" \
	>"$WORK/next.out" 2>"$WORK/next.err" || rc=$?
echo "     curl --next: exit $rc, $(tr '\n' ' ' <"$WORK/next.out") $(tr '\n' ' ' <"$WORK/next.err")"
check "curl --next: the first request answered with its body" \
	grep -q '"path":"/api/v2/tickets/42"' "$WORK/next.out"
check "curl --next: the second request reset (curl exit 56)" test "$rc" = 56
port=$(sed -n 's/^port=\([0-9]*\) .*/\1/p' "$WORK/next.out" | head -n 1)
sleep 0.3
check "curl --next: both decisions on one connection (port $port): allow, then deny" \
	test "$(decisions_for "$port" | awk '{print $1 " " $2}' | tr '\n' ',')" = \
	"allow /api/v2/tickets/42,deny /admin/users,"
check "backend saw the first request once" test "$(backend_saw GET /api/v2/tickets/42)" = 1
check "backend never saw GET /admin/users" test "$(backend_saw GET /admin/users)" = 0

# 2. Pipelining with http.client: both requests written before any answer.
cat >"$WORK/pipeline.py" <<'PY'
import http.client, socket, sys


class OneReader:
    """http.client reads each response through sock.makefile(); pipelined
    responses must all come from one buffered reader, or the first one's
    buffer swallows the start of the next."""

    def __init__(self, sock):
        self.fp = sock.makefile("rb")

    def makefile(self, *args, **kwargs):
        return self

    def readline(self, *args):
        return self.fp.readline(*args)

    def read(self, *args):
        return self.fp.read(*args)

    def readinto(self, b):
        return self.fp.readinto(b)

    def flush(self):
        pass

    def close(self):
        pass  # http.client closes its reader after each response


host, key, paths = sys.argv[1], sys.argv[2], sys.argv[3:]
sock = socket.create_connection((host, 80), timeout=5)
data = b"".join(b"GET %s HTTP/1.1\r\nHost: tickets.internal\r\nx-api-key: %s\r\n\r\n"
                % (p.encode(), key.encode()) for p in paths)
sock.sendall(data)  # back to back, before reading anything
print("port", sock.getsockname()[1])
reader = OneReader(sock)
try:
    for p in paths:
        r = http.client.HTTPResponse(reader)
        r.begin()
        print(r.status, r.read().decode().strip())
except (ConnectionResetError, http.client.RemoteDisconnected) as e:
    print("reset", type(e).__name__)
PY
in_client python3 "$WORK/pipeline.py" "$PC_TOPO_SERVER_IP" "$PC_API_KEY" \
	/api/v2/tickets/1 /api/v2/tickets/2 >"$WORK/pipe1.out" 2>&1 || true
echo "     pipelined allowed+allowed: $(tr '\n' ' ' <"$WORK/pipe1.out")"
check "pipelined: both answered, in order" python3 - "$WORK/pipe1.out" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
ok = len(lines) == 3 and lines[1].startswith("200 ") and '"/api/v2/tickets/1"' in lines[1] \
    and lines[2].startswith("200 ") and '"/api/v2/tickets/2"' in lines[2]
sys.exit(0 if ok else 1)
PY
check "backend saw each pipelined request once" \
	test "$(backend_saw GET /api/v2/tickets/1)$(backend_saw GET /api/v2/tickets/2)" = 11

in_client python3 "$WORK/pipeline.py" "$PC_TOPO_SERVER_IP" "$PC_API_KEY" \
	/api/v2/tickets/3 /admin/pipelined >"$WORK/pipe2.out" 2>&1 || true
echo "     pipelined allowed+denied: $(tr '\n' ' ' <"$WORK/pipe2.out")"
check "pipelined allowed+denied: the client is reset" grep -q '^reset' "$WORK/pipe2.out"
check "backend never saw the denied pipelined request" \
	test "$(backend_saw GET /admin/pipelined)" = 0

# 3. A 10 MiB upload with Content-Length to an allowed path.
head -c $((10 * 1024 * 1024)) /dev/urandom >"$WORK/upload.bin"
want_sha=$(sha256sum "$WORK/upload.bin" | awk '{print $1}')
rc=0
in_client curl -sS --connect-timeout 5 --max-time 60 "${RESOLVE[@]}" "${KEY[@]}" \
	-H 'Content-Type: application/octet-stream' --data-binary "@$WORK/upload.bin" \
	"$URL/upload" >"$WORK/upload.out" 2>"$WORK/upload.err" || rc=$?
echo "     upload: exit $rc, $(cat "$WORK/upload.out" "$WORK/upload.err" | tr '\n' ' ')"
check "10 MiB upload answered 200 (curl exit $rc)" \
	grep -q '"body_bytes":10485760' "$WORK/upload.out"
check "backend received all 10 MiB, byte for byte" python3 - "$WORK/backend.requests" \
	"$want_sha" <<'PY'
import json, sys
ups = [json.loads(l) for l in open(sys.argv[1]) if '"/upload"' in l]
sys.exit(0 if len(ups) == 1 and ups[0]["body_bytes"] == 10485760
         and ups[0]["body_sha256"] == sys.argv[2] else 1)
PY

dp_rc=0
stop_dp || dp_rc=$?
check "dataplane exits 0 on SIGTERM (exit $dp_rc)" test "$dp_rc" = 0
check "no sanitizer report on the dataplane's stderr" no_sanitizer_report
check "no mbuf left in use" test "$(pc_counter "$WORK/dataplane.out" mbufs_in_use)" = 0
echo "     counters (non-zero): $(grep -E '^[a-z0-9_]+ [0-9]+$' "$WORK/dataplane.out" | grep -v ' 0$' | tr ' \n' '= ')"

# 4. --deny-response 403: the client reads why.
pc_e2e_dataplane "$WORK/policy.json" --deny-response 403
rc=0
in_client curl -sS --connect-timeout 5 --max-time 10 "${RESOLVE[@]}" "${KEY[@]}" \
	-D "$WORK/403.head" -o "$WORK/403.body" "$URL/admin/users" 2>"$WORK/403.err" || rc=$?
echo "     403: exit $rc, $(head -n 1 "$WORK/403.head" | tr -d '\r'), body $(cat "$WORK/403.body")"
check "--deny-response 403: status 403" grep -q '^HTTP/1.1 403 ' "$WORK/403.head"
check "--deny-response 403: Connection: close, JSON" \
	grep -qi '^content-type: application/json' "$WORK/403.head"
check "--deny-response 403: the JSON body names reason and rule" test \
	"$(cat "$WORK/403.body")" = '{"error":"forbidden","reason":"rule_match","rule":"block-admin"}'
check "backend never saw the 403'd request" test "$(backend_saw GET /admin/users)" = 0
dp_rc=0
stop_dp || dp_rc=$?
check "dataplane (403) exits 0 on SIGTERM (exit $dp_rc)" test "$dp_rc" = 0
check "no sanitizer report (403 run)" no_sanitizer_report
check "deny_responses_sent = 1" test "$(pc_counter "$WORK/dataplane.out" deny_responses_sent)" = 1

pc_e2e_summary
