# SPDX-License-Identifier: BSD-3-Clause
#
# What the shell explain tests share; sourced after CTL and ROOT are set.
# POLICY (the sample policy unless a test points it elsewhere) is what
# explain reads; TMP is removed on exit; end_checks prints the tally and
# gives the script's status.

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

end_checks() {
	echo "$((checks - failures)) of $checks checks passed"
	[ "$failures" -eq 0 ]
}
