#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# control suite: the dataplane's DPDK telemetry commands and the daemon's
# Prometheus endpoint.
#
#   test_telemetry.sh DATAPLANE CONTROL CTL SRCDIR
#
# The dataplane reads a pcap of a few connections on net_pcap port 0 (read
# once: the counters then stay put, so figures read at different times must
# agree exactly). Checks: /portcullis/stats, /workers, /reasons and /policy
# answer over the telemetry socket (SOCK_SEQPACKET) with rx > 0, the flows
# counted and generation 1 from the startup file; portcullis-control with
# --metrics pushes generation 2, which /portcullis/policy then reports with
# its rule count and apply time; a quarantine entry shows in
# /portcullis/quarantine and in the metrics; GET /metrics parses as text
# format 0.0.4 (every sample line well formed, every family with HELP and
# TYPE, nothing repeated) and its counters equal the telemetry figures;
# GET /other is 404, another method 405, an oversized request head 431, and
# the endpoint still answers after them; with the dataplane stopped,
# portcullis_dataplane_up is 0. Needs root (exit 77 without).
set -u
DP=$1 CP=$2 CTL=$3 SRC=$4
if [ "$(id -u)" != 0 ]; then
	echo "needs root"
	exit 77
fi
source "$SRC/tests/control/common.sh"

WORK=$(mktemp -d /tmp/telemetry-test.XXXXXX)
INST=telemetry$$
PREFIX=telemetry_$$
TEL=/var/run/dpdk/$PREFIX/dpdk_telemetry.v2
SOCK=$WORK/cp.sock
DP_PID= CP_PID=

cleanup() {
	[ -n "$CP_PID" ] && pc_stop "$CP_PID" 5 >/dev/null 2>&1
	[ -n "$DP_PID" ] && pc_stop "$DP_PID" 10 >/dev/null 2>&1
	rm -f "/dev/shm/portcullis.$INST.ctl"
	rm -rf "/var/run/dpdk/$PREFIX"
	rm -rf "$WORK"
}
trap cleanup EXIT


# tel CMD[,PARAM] KEY: one value of a telemetry answer ("" when absent).
cat >"$WORK/tel.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(2)
s.connect(sys.argv[1])
json.loads(s.recv(65536))  # the greeting: version, pid, max_output_len
s.send(sys.argv[2].encode())
ans = json.loads(s.recv(65536))[sys.argv[2].split(",")[0]]
if len(sys.argv) > 3:
    v = ans.get(sys.argv[3], "") if ans else ""
    print(json.dumps(v) if isinstance(v, (list, dict)) else v)
else:
    print(json.dumps(ans))
PY
tel() { python3 "$WORK/tel.py" "$TEL" "$@" 2>/dev/null; }

cp "$SRC/config/policy.sample.json" "$WORK/startup.json"
counts=$(python3 -c 'import json, sys; p = json.load(open(sys.argv[1])); print("%d/%d" % (len(p["rules"]), len(p["identities"])))' "$WORK/startup.json")

python3 "$SRC/tests/control/l4_capture.py" "$WORK/in0.pcap" "$WORK/empty.pcap" arp || exit 1

"$DP" -l 0,1 --no-huge -m 512 --no-pci --file-prefix "$PREFIX" \
	--vdev "net_pcap0,rx_pcap=$WORK/in0.pcap,tx_pcap=$WORK/out0.pcap" \
	--vdev "net_pcap1,rx_pcap=$WORK/empty.pcap,tx_pcap=$WORK/out1.pcap" \
	-- --policy "$WORK/startup.json" --control "$INST" \
	>"$WORK/dp.out" 2>"$WORK/dp.err" &
DP_PID=$!
if ! pc_wait 30 grep -q 'ready:' "$WORK/dp.out"; then
	cat "$WORK/dp.out" "$WORK/dp.err"
	exit 1
fi
pc_wait 10 test -S "$TEL"
pc_wait 10 eval 'test "$(tel /portcullis/stats rx)" = 6'
check "telemetry /portcullis/stats: rx 6 (the pcap)" test "$(tel /portcullis/stats rx)" = 6
check "...flows_created 5, bridged_non_ip 1" \
	test "$(tel /portcullis/stats flows_created)/$(tel /portcullis/stats bridged_non_ip)" = 5/1
check "...worker 0's counters alone are the same" test "$(tel /portcullis/stats,0 rx)" = 6
check "...a worker that does not exist is refused" test "$(tel /portcullis/stats,9)" = null
check "/portcullis/workers: one worker, on lcore 1, 5 flows" \
	test "$(tel /portcullis/workers workers)/$(tel /portcullis/workers lcore)/$(tel /portcullis/workers flows)" = "1/[1]/[5]"
alw=$(tel /portcullis/stats decisions_allowed)
den=$(tel /portcullis/stats decisions_denied)
check "/portcullis/reasons: allowed and denied as counted ($alw/$den)" \
	test "$(tel /portcullis/reasons allowed)/$(tel /portcullis/reasons denied)" = "$alw/$den"
by_reason=$(tel /portcullis/reasons | python3 -c 'import json, sys
d = json.load(sys.stdin)
print("%d/%d" % (sum(v for k, v in d.items() if k.startswith("allow/")),
                 sum(v for k, v in d.items() if k.startswith("deny/"))))')
check "...decisions by reason add up to them, and there were some ($by_reason)" \
	test "$by_reason" = "$alw/$den" -a $((alw + den)) -gt 0
check "...with a counter per action and reason, the dataplane's own reasons too" \
	test "$(tel /portcullis/reasons | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(k.startswith(("allow/","deny/")) for k in d) > 20 and "deny/rule_match" in d and "deny/hold_limit" in d and "deny/dlp_match" in d)')" = True
check "/portcullis/policy: generation 1, the startup file, its rules and identities ($counts)" \
	test "$(tel /portcullis/policy generation)/$(tel /portcullis/policy origin)/$(tel /portcullis/policy rules)/$(tel /portcullis/policy identities)" = \
	"1/$WORK/startup.json/$counts"
tel /portcullis/policy | sed 's/^/    /'

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 "$SRC/perf/gen_policy.py" 10 2 "$WORK/p10.json" || exit 1
"$CP" --policy "$WORK/p10.json" --instance "$INST" --socket "$SOCK" --foreground \
	--ack-timeout 30000 --metrics "127.0.0.1:$PORT" --dpdk-prefix "$PREFIX" \
	>"$WORK/cp.out" 2>"$WORK/cp.err" &
CP_PID=$!
pc_wait 20 eval '"$CTL" status --socket "$SOCK" >/dev/null 2>&1' || { cat "$WORK/cp.err"; exit 1; }
pc_wait 10 eval 'test "$(tel /portcullis/policy generation)" = 2'
check "/portcullis/policy after the push: generation 2, 10 rules, from control" \
	test "$(tel /portcullis/policy generation)/$(tel /portcullis/policy rules)/$(tel /portcullis/policy origin)" = "2/10/control"
check "...with its apply time and no error" \
	test "$(tel /portcullis/policy apply_ns)" -gt 0 -a "$(tel /portcullis/policy last_error)" = ""

"$CTL" quarantine add identity agent-7 --reason "telemetry test" --ttl 1h --socket "$SOCK" >/dev/null
pc_wait 10 eval 'test "$(tel /portcullis/quarantine entries_applied)" = 1'
check "/portcullis/quarantine: the entry, its reason and expiry" \
	test "$(tel /portcullis/quarantine entries)/$(tel /portcullis/quarantine caller)/$(tel /portcullis/quarantine reason)" = \
	'1/["agent-7"]/["telemetry test"]'

URL=http://127.0.0.1:$PORT
curl -sS -m 5 -D "$WORK/m.hdr" -o "$WORK/m.txt" "$URL/metrics"
check "GET /metrics: 200, text format 0.0.4, Connection: close" \
	test -n "$(grep -i '^HTTP/1.1 200' "$WORK/m.hdr")" -a \
	-n "$(grep -i '^content-type: text/plain; version=0.0.4' "$WORK/m.hdr")" -a \
	-n "$(grep -i '^connection: close' "$WORK/m.hdr")"

# The exposition format, line by line: comments are HELP or TYPE of a name,
# each family's HELP and TYPE come before its samples and only once, and
# every sample is name{labels} value with the name of a declared family.
cat >"$WORK/parse.py" <<'PY'
import re, sys
name = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
label = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
sample = re.compile(r"^(%s)(\{(%s(,%s)*)?\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)$" % (name, label, label))
helps, types, seen, errors, values = set(), {}, set(), [], {}
current = None
for n, line in enumerate(open(sys.argv[1]).read().split("\n")[:-1], 1):
    m = re.match(r"^# (HELP|TYPE) (%s) (.*)$" % name, line)
    if m:
        kind, fam, rest = m.groups()
        if fam in seen:
            errors.append("%d: %s of %s after its samples" % (n, kind, fam))
        (helps.add(fam) if kind == "HELP" else types.__setitem__(fam, rest))
        if kind == "TYPE" and rest not in ("counter", "gauge", "untyped", "summary", "histogram"):
            errors.append("%d: type %s" % (n, rest))
        current = fam
        continue
    m = sample.match(line)
    if not m:
        errors.append("%d: not a sample: %r" % (n, line))
        continue
    fam = m.group(1)
    if fam != current or fam not in helps or fam not in types:
        errors.append("%d: %s without its HELP/TYPE just before" % (n, fam))
    if fam != current and fam in seen:
        errors.append("%d: %s samples not together" % (n, fam))
    seen.add(fam)
    key = fam + (m.group(2) or "")
    if key in values:
        errors.append("%d: %s twice" % (n, key))
    values[key] = float(m.group(5))
for e in errors[:10]:
    print("    " + e)
for k in sys.argv[2:]:
    print("%s=%s" % (k, int(values[k]) if k in values else ""))
sys.exit(1 if errors or not values else 0)
PY
check "the exposition parses (every line a sample, HELP or TYPE)" python3 "$WORK/parse.py" "$WORK/m.txt"
m() { python3 "$WORK/parse.py" "$WORK/m.txt" "$1" | sed -n "s/^.*=//p"; }
check "portcullis_dataplane_up 1" test "$(m portcullis_dataplane_up)" = 1
rx_tel=$(tel /portcullis/stats rx)
check "rx_total matches telemetry ($rx_tel)" test "$(m 'portcullis_rx_total{worker="0"}')" = "$rx_tel"
check "tx_total and flows_created_total match telemetry" \
	test "$(m 'portcullis_tx_total{worker="0"}')/$(m 'portcullis_flows_created_total{worker="0"}')" = \
	"$(tel /portcullis/stats tx)/$(tel /portcullis/stats flows_created)"
check "decisions_allowed_total matches ($alw)" \
	test "$(m 'portcullis_decisions_allowed_total{worker="0"}')" = "$alw"
check "portcullis_decisions_total has an action and reason per sample" \
	test "$(grep -c '^portcullis_decisions_total{action="\(allow\|deny\)",reason="[a-z_]*"} [0-9]*$' "$WORK/m.txt")" -gt 20
check "portcullis_policy_generation 2, 10 rules" \
	test "$(m portcullis_policy_generation)/$(m portcullis_policy_rules)" = 2/10
check "portcullis_policy_apply_seconds present" grep -qE '^portcullis_policy_apply_seconds [0-9]+\.[0-9]+$' "$WORK/m.txt"
check "portcullis_flows{worker=0} 5" test "$(m 'portcullis_flows{worker="0"}')" = 5
check "portcullis_quarantine_entries 1" test "$(m portcullis_quarantine_entries)" = 1
sed -n '1,3p;/^portcullis_policy/p' "$WORK/m.txt" | sed 's/^/    /'

code() { curl -s -m 5 -o /dev/null -w '%{http_code}' "$@"; }
check "GET /other: 404" test "$(code "$URL/other")" = 404
check "GET /metrics/x: 404" test "$(code "$URL/metrics/x")" = 404
check "POST /metrics: 405" test "$(code -X POST "$URL/metrics")" = 405
out=$(python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 8000 + b"\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
PY
)
check "an oversized request head is refused (431): '$out'" test "$out" = "HTTP/1.1 431 Request Header Fields Too Large"
out=$(python3 - "$PORT" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(b"nonsense\r\n\r\n")
print(s.recv(100).split(b"\r\n")[0].decode())
PY
)
check "a malformed request line: 400" test "$out" = "HTTP/1.1 400 Bad Request"
# A client that connects and says nothing does not stop the others.
exec 7<>"/dev/tcp/127.0.0.1/$PORT"
check "the endpoint keeps serving (GET /metrics 200)" test "$(code "$URL/metrics")" = 200
exec 7<&-
check "the daemon still answers its socket" eval '"$CTL" status --socket "$SOCK" >/dev/null'

pc_stop "$DP_PID" 20
rc=$?
DP_PID=
check "dataplane exits 0 on SIGTERM" test "$rc" = 0
curl -sS -m 5 -o "$WORK/m.txt" "$URL/metrics"
check "with the dataplane stopped: portcullis_dataplane_up 0, and still well formed" \
	test "$(m portcullis_dataplane_up)" = 0
check "the final counters the dataplane printed agree (rx $rx_tel)" \
	test "$(awk '$1 == "rx" { print $2 }' "$WORK/dp.out")" = "$rx_tel"

pc_stop "$CP_PID" 10
rc=$?
CP_PID=
check "daemon exits 0 on SIGTERM" test "$rc" = 0

pc_ctl_summary
