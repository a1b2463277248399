#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# control suite: `portcullisctl flows` against a running dataplane.
#
#   test_flows.sh DATAPLANE CONTROL CTL SRCDIR
#
# The dataplane reads a pcap of a few connections on net_pcap port 0 (three
# SSH connections of the monitoring identity, allowed at L4; two of another
# source, denied; one UDP flow) and keeps them in its flow table (decided
# under generation 1, the startup policy, before the daemon's push: their
# names come from the retired generation's kept names). Checks:
# with no dataplane attached, flows says so; with one, flows lists the six
# flows with their state, identity and rule; --identity filters; --limit
# caps (and the matching total stays); --json is one JSON object; a
# dataplane that does not answer (stopped) gives a timeout error. Needs root
# (exit 77 without).
set -u
DP=$1 CP=$2 CTL=$3 SRC=$4
if [ "$(id -u)" != 0 ]; then
	echo "needs root"
	exit 77
fi
source "$SRC/tests/control/common.sh"

WORK=$(mktemp -d /tmp/quarantine_ops-flows.XXXXXX)
INST=quarantine_ops_flows$$
SOCK=$WORK/cp.sock
DP_PID= CP_PID=

cleanup() {
	[ -n "$DP_PID" ] && kill -CONT "$DP_PID" 2>/dev/null
	[ -n "$CP_PID" ] && pc_stop "$CP_PID" 5 >/dev/null 2>&1
	[ -n "$DP_PID" ] && pc_stop "$DP_PID" 10 >/dev/null 2>&1
	rm -f "/dev/shm/portcullis.$INST.ctl"
	pc_eal_cleanup "quarantine_ops_flows_$$"
	rm -rf "$WORK"
}
trap cleanup EXIT


python3 "$SRC/tests/control/l4_capture.py" "$WORK/in0.pcap" "$WORK/empty.pcap" udp || exit 1

"$CP" --policy "$SRC/config/policy.sample.json" --instance "$INST" --socket "$SOCK" \
	--foreground --ack-timeout 30000 >"$WORK/cp.out" 2>"$WORK/cp.err" &
CP_PID=$!
pc_wait 20 eval '"$CTL" status --socket "$SOCK" >/dev/null 2>&1' || { cat "$WORK/cp.err"; exit 1; }

out=$(ctl flows 2>&1)
rc=$?
echo "    $out"
check "flows without a dataplane: exit 1 and says none is attached" \
	test "$rc" = 1 -a -n "$(grep 'no dataplane is attached' <<<"$out")"

"$DP" -l 0,1 --no-huge -m 512 --no-pci --file-prefix "quarantine_ops_flows_$$" \
	--vdev "net_pcap0,rx_pcap=$WORK/in0.pcap,tx_pcap=$WORK/out0.pcap" \
	--vdev "net_pcap1,rx_pcap=$WORK/empty.pcap,tx_pcap=$WORK/out1.pcap" \
	-- --policy "$SRC/config/policy.sample.json" --control "$INST" \
	>"$WORK/dp.out" 2>"$WORK/dp.err" &
DP_PID=$!
if ! pc_wait 30 grep -q 'ready:' "$WORK/dp.out"; then
	cat "$WORK/dp.out" "$WORK/dp.err"
	exit 1
fi
pc_wait 20 eval "'$CTL' status --socket '$SOCK' 2>/dev/null | grep -q '^dataplane attached'" ||
	{ cat "$WORK/dp.out" "$WORK/cp.err"; exit 1; }

# The pcap is read once at start: wait until the table holds all six.
pc_wait 10 eval "'$CTL' flows --socket '$SOCK' 2>/dev/null | grep -q '^6 flows shown, 6 matching'"
out=$(ctl flows)
echo "$out" | sed 's/^/    /'
check "flows lists the six live flows" grep -q '^6 flows shown, 6 matching$' <<<"$out"
check "...the monitoring connections forwarded, with identity and rule" \
	test "$(grep -cE '^tcp +198\.18\.1\.200:4000[123] +198\.18\.0\.2:22 +forward +monitoring +[-0-9a-f]+ +ops-ssh ' <<<"$out")" = 3
check "...the other source's connections denied" \
	test "$(grep -cE '^tcp +198\.18\.1\.5:4100[12] +198\.18\.0\.2:22 +denied ' <<<"$out")" = 2
check "...and the UDP flow" grep -qE '^udp +198\.18\.1\.7:5353 +198\.18\.0\.9:53 +denied ' <<<"$out"

out=$(ctl flows --identity monitoring)
check "--identity monitoring: its three flows only" \
	test "$(grep -c ' monitoring ' <<<"$out")/$(tail -1 <<<"$out")" = "3/3 flows shown, 3 matching"
out=$(ctl flows --identity nobody)
check "--identity of no flow: none" grep -q '^0 flows shown, 0 matching$' <<<"$out"
out=$(ctl flows --limit 2)
check "--limit 2: two shown of six matching" \
	test "$(grep -c '^tcp\|^udp' <<<"$out")/$(tail -1 <<<"$out")" = "2/2 flows shown, 6 matching"
out=$(ctl flows --limit 0 2>&1)
check "--limit 0 is a usage error (exit 2)" test "$?" = 2
ctl flows --json --identity monitoring >"$WORK/flows.json"
check "--json: one object with every field" python3 - "$WORK/flows.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["count"] == 3 and d["matched"] == 3 and len(d["flows"]) == 3, d
for f in d["flows"]:
    assert f["proto"] == "tcp" and f["client"] == "198.18.1.200" and f["server_port"] == 22, f
    assert f["state"] == "forward" and f["identity"] == "monitoring" and f["rule"] == "ops-ssh", f
    assert f["packets"] == 1 and f["bytes"] > 0 and f["generation"] in (1, 2), f
    assert f["age_ms"] >= f["idle_ms"] >= 0 and f["worker"] == 0, f
    for k in ("vlan", "l7", "action", "credential", "identity_index", "rule_index",
              "requests"):
        assert k in f, k
PY

# A dataplane that stops answering (still within its heartbeat window).
kill -STOP "$DP_PID"
out=$(ctl flows 2>&1)
rc=$?
kill -CONT "$DP_PID"
echo "    $out"
check "a stopped dataplane: exit 1 with a timeout error" \
	test "$rc" = 1 -a -n "$(grep 'did not answer the flows request within' <<<"$out")"
pc_wait 10 eval "'$CTL' flows --socket '$SOCK' 2>/dev/null | grep -q '^6 flows shown'"
check "...and answers again once running" grep -q '^6 flows shown' <<<"$(ctl flows)"

pc_ctl_summary
