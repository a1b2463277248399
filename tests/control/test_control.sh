#!/bin/bash
# SPDX-License-Identifier: BSD-3-Clause
#
# control suite: portcullis-dataplane on two net_null ports (endless traffic)
# with portcullis-control and portcullisctl around it.
#
#   test_control.sh DATAPLANE CONTROL CTL SHM_POKE SRCDIR
#
# Checks: the first push is acknowledged as generation 2 and the dataplane
# reports its rule count; 100 pushes while traffic flows are all applied with
# zero loss; damaged images written straight into the segment are refused
# with their exact error and the running generation stays; a bad policy file
# is refused by the daemon; a kill -9 of the daemon leaves the dataplane
# running, and a restarted daemon attaches and pushes; a second daemon for
# the instance is refused; an unprivileged user gets a permission error;
# SIGHUP and an editor's rename-over reload the file; quarantine entries are
# added, listed and removed. Needs root (exit 77 without).
set -u
DP=$1 CP=$2 CTL=$3 POKE=$4 SRC=$5
if [ "$(id -u)" != 0 ]; then
	echo "needs root"
	exit 77
fi
source "$SRC/tests/control/common.sh"

WORK=$(mktemp -d /tmp/pc-control-test.XXXXXX)
INST=pcctl$$
SOCK=$WORK/cp.sock
DP_PID= CP_PID=

cleanup() {
	[ -n "$CP_PID" ] && kill -KILL "$CP_PID" 2>/dev/null
	[ -n "$DP_PID" ] && pc_stop "$DP_PID" 10 >/dev/null 2>&1
	rm -f "/dev/shm/portcullis.$INST.ctl"
	rm -rf "$WORK"
}
trap cleanup EXIT

field() { ctl status | awk -v k="$1" '$1 == k { print $2 }'; }

python3 "$SRC/perf/gen_policy.py" 10 2 "$WORK/p10.json" || exit 1
python3 "$SRC/perf/gen_policy.py" 1000 10 "$WORK/p1000.json" || exit 1
python3 "$SRC/perf/gen_policy.py" 12 3 "$WORK/p12.json" || exit 1
echo '{ "version": 1, "identities": [ { "name": 42 } ] }' >"$WORK/bad.json"
cp "$WORK/p10.json" "$WORK/current.json"

start_cp() {
	"$CP" --policy "$WORK/current.json" --instance "$INST" --socket "$SOCK" --foreground \
		--ack-timeout 30000 >>"$WORK/cp.out" 2>>"$WORK/cp.err" &
	CP_PID=$!
	pc_wait 20 eval '"$CTL" status --socket "$SOCK" >/dev/null 2>&1'
}

# The dataplane first: it runs on its startup policy with no control plane.
"$DP" -l 0,1 --no-huge -m 512 --no-pci --file-prefix "pc_ctl_$$" \
	--vdev net_null0 --vdev net_null1 -- --policy "$SRC/config/policy.sample.json" \
	--control "$INST" >"$WORK/dp.out" 2>"$WORK/dp.err" &
DP_PID=$!
if ! pc_wait 30 grep -q 'ready:' "$WORK/dp.out"; then
	cat "$WORK/dp.out" "$WORK/dp.err"
	exit 1
fi
pass "dataplane runs without a control plane"

start_cp || { cat "$WORK/cp.err"; exit 1; }
pc_wait 10 grep -q 'generation 2 applied (10 rules)' "$WORK/dp.out"
check "startup push applied as generation 2" grep -q 'policy generation 2 applied (10 rules)' "$WORK/dp.out"
check "status: dataplane attached" test "$(ctl status | grep -c '^dataplane attached')" = 1
check "status: generation 2, 10 rules" test "$(field generation)/$(field rules)" = "2/10"

out=$(ctl policy push "$WORK/p1000.json")
echo "$out"
check "push of 1000 rules acknowledged as generation 3" \
	grep -Eq '^generation 3 applied in [0-9]+ us \(1000 rules\)$' <<<"$out"
check "status: generation 3, 1000 rules" test "$(field generation)/$(field rules)" = "3/1000"
check "policy show names the file" grep -q "^file $WORK/p1000.json$" <<<"$(ctl policy show)"

# Push→ack times from the ack area, as the CLI reports them.
for f in p10 p1000; do
	for i in 1 2 3; do
		ctl policy push "$WORK/$f.json" | sed -n "s/.* applied in \([0-9]*\) us.*/$f \1/p"
	done
done >"$WORK/times"
echo "push->ack us (10 and 1000 rules):"
awk '{ t[$1] = t[$1] " " $2 } END { for (k in t) print "  " k ":" t[k] }' "$WORK/times"

gen_before=$(field generation)
applied=0
for i in $(seq 1 100); do
	# Small policies: the loop is about the swap, not about compile time
	# (1000 rules take seconds to compile; they were pushed above).
	if [ $((i % 2)) = 0 ]; then f=p10; else f=p12; fi
	out=$(ctl policy push "$WORK/$f.json" 2>&1)
	if grep -q ' applied in ' <<<"$out"; then
		applied=$((applied + 1))
	else
		echo "    push $i: $out"
	fi
done
check "100 pushes under traffic all applied" test "$applied" = 100
check "generation advanced by 100" test "$(field generation)" = $((gen_before + 100))

# A control plane that writes garbage: each refused with its own error, and
# the running generation stays.
gen=$(field generation)
rules=$(field rules)
poke() { # poke MODE EXPECTED-ERROR-REGEX
	local out
	out=$("$POKE" "$INST" "$1" "$WORK/p10.json")
	echo "$out" | sed 's/^/    /'
	if grep -q '^acked [0-9]* result -[0-9]* applied '"$gen"'$' <<<"$out" &&
		grep -Eq "$2" <<<"$out"; then
		pass "damaged image ($1) refused, generation $gen kept"
	else
		fail "damaged image ($1)"
	fi
}
poke crc 'error generation [0-9]+: slot checksum mismatch: slot says crc32 0x[0-9a-f]{8}, its [0-9]+ bytes give 0x[0-9a-f]{8}'
poke trunc 'error generation [0-9]+: .*'
poke abi 'error generation [0-9]+: .*(ABI|abi).*'
poke offset 'error generation [0-9]+: .*section \[[0-9]+, \+[0-9]+\) outside the image'
poke oversize 'error generation [0-9]+: slot [01] length [0-9]+ out of bounds'
poke slotgen 'error generation [0-9]+: slot [01] was filled for generation [0-9]+'
check "status after garbage: generation $gen, $rules rules" \
	test "$(field generation)/$(field rules)" = "$gen/$rules"
check "the dataplane still runs" pc_alive "$DP_PID"
out=$("$POKE" "$INST" good "$WORK/p10.json")
check "a good image after garbage is applied" grep -q 'result 0 applied' <<<"$out"

# A policy file that does not load: refused by the daemon, nothing published.
gen=$(field generation)
out=$(ctl policy push "$WORK/bad.json" 2>&1)
rc=$?
echo "    $out"
check "a bad policy file is refused (exit 1, message)" test "$rc" = 1 -a -n "$out"
check "generation unchanged after a bad file" test "$(field generation)" = "$gen"

# kill -9 the daemon: the dataplane keeps its policy.
kill -KILL "$CP_PID"
wait "$CP_PID" 2>/dev/null
CP_PID=
sleep 0.5
check "dataplane alive after kill -9 of the daemon" pc_alive "$DP_PID"
check "ctl reports an unreachable daemon" bash -c "! '$CTL' status --socket '$SOCK' 2>/dev/null"
start_cp || fail "restarted daemon did not come up"
check "restarted daemon attached to the existing segment" \
	grep -q 'attached to the existing control segment' "$WORK/cp.err"
check "restarted daemon did not reset the generation" test "$(field generation)" -ge "$gen"
out=$(ctl policy push "$WORK/p1000.json")
check "push after restart" grep -Eq "^generation $((gen + 1)) applied" <<<"$out"

# One daemon per instance.
out=$("$CP" --policy "$WORK/p10.json" --instance "$INST" --socket "$SOCK" --foreground 2>&1)
rc=$?
echo "    $out"
check "second daemon refused" test "$rc" = 1
check "second daemon says why" grep -q "already served by another portcullis-control" <<<"$out"
check "first daemon still answers" test "$(field generation)" = $((gen + 1))

# An unprivileged user: the socket's mode stops it; with the mode opened,
# the daemon's credential check does.
chmod 755 "$WORK"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" status --socket "$SOCK" 2>&1)
rc=$?
echo "    $out"
check "nobody: permission error (socket mode)" test "$rc" = 1 -a -n "$(grep 'permission denied' <<<"$out")"
chmod 666 "$SOCK"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$CTL" status --socket "$SOCK" 2>&1)
rc=$?
echo "    $out"
check "nobody: permission error (peer credentials)" \
	test "$rc" = 1 -a -n "$(grep 'permission denied: uid 65534' <<<"$out")"
chmod 600 "$SOCK"
chmod 700 "$WORK"

# Reloads: an editor's write-and-rename over the watched file, then SIGHUP.
ctl policy push "$WORK/current.json" >/dev/null
cp "$WORK/p1000.json" "$WORK/.current.json.tmp"
mv "$WORK/.current.json.tmp" "$WORK/current.json"
pc_wait 10 test "$(field rules)" = 1000
check "rename-over of the policy file reloads it" test "$(field rules)" = 1000
cp "$WORK/p10.json" "$WORK/.current.json.tmp"
mv "$WORK/.current.json.tmp" "$WORK/current.json"
pc_wait 10 test "$(field rules)" = 10
gen=$(field generation)
kill -HUP "$CP_PID"
pc_wait 10 test "$(field generation)" = $((gen + 1))
check "SIGHUP reloads" test "$(field generation)" = $((gen + 1))

# Quarantine table (control's side).
check "quarantine add identity" ctl quarantine add identity agent-1 --reason "leaked key" --ttl 1h
check "quarantine add credential" ctl quarantine add credential 0011223344556677
out=$(ctl quarantine list)
echo "$out" | sed 's/^/    /'
check "quarantine list shows both" test "$(grep -c -E '^(identity agent-1 expires 2|credential 0011223344556677 expires never)' <<<"$out")" = 2
pc_wait 10 test "$(field quarantine_entries)" = 2
check "the dataplane applied the table (2 entries)" test "$(field quarantine_entries)" = 2
check "quarantine remove" ctl quarantine remove identity agent-1 --reason "rotated"
check "quarantine list after remove" test "$(ctl quarantine list | grep -c .)" = 1
pc_wait 10 test "$(field quarantine_entries)" = 1
check "the dataplane applied the removal (1 entry)" test "$(field quarantine_entries)" = 1
check "the dataplane logged its tables" grep -q 'quarantine table applied: 1 entries' "$WORK/dp.out"
check "a bad fingerprint is refused" bash -c "! '$CTL' quarantine add credential xyz --socket '$SOCK' 2>/dev/null"
check "the daemon logged the changes with reasons" \
	grep -q 'quarantine: identity agent-1 added (reason: leaked key' "$WORK/cp.err"

# Stop: zero loss over everything above, clean exits (and, in sanitizer
# builds, no leak reports, which make the exit status non-zero).
pc_stop "$CP_PID" 20
rc=$?
CP_PID=
check "daemon exits 0 on SIGTERM" test "$rc" = 0
pc_stop "$DP_PID" 20
rc=$?
DP_PID=
check "dataplane exits 0 on SIGTERM" test "$rc" = 0
c() { awk -v k="$1" '$1 == k { print $2 }' "$WORK/dp.out"; }
rx=$(c rx) tx=$(c tx)
drops=$(($(c tx_full) + $(c handoff_dropped) + $(c denied_dropped) + $(c flow_table_full)))
echo "    rx $rx tx $tx counted drops $drops mbufs_in_use $(c mbufs_in_use)"
check "rx == tx + counted drops" test -n "$rx" -a "$rx" = $((tx + drops))
check "traffic flowed" test "${rx:-0}" -gt 0
check "no mbuf leaked" test "$(c mbufs_in_use)" = 0
check "dataplane refused the six damaged generations and no good one" \
	test "$(grep -c 'refused' "$WORK/dp.err")" = 6

pc_ctl_summary
