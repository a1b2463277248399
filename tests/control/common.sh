# SPDX-License-Identifier: BSD-3-Clause
# shellcheck shell=bash
#
# Sourced by the control-plane tests (TEST DATAPLANE CONTROL CTL SOURCE_DIR,
# with SRC, CTL, SOCK and WORK set by the test): the helpers of
# tests/e2e/common.sh (check, pass, fail, ctl, pc_stop, pc_wait, ...) and
# the test's ending.

# shellcheck source=tests/e2e/common.sh
. "$SRC/tests/e2e/common.sh"
failures=0
passes=0

# The last line of a test: on a failure the tails of the dataplane's and
# the daemon's stderr (WORK/dp.err, WORK/cp.err), then the counts and the
# exit status.
pc_ctl_summary() {
	if [ "$failures" -ne 0 ]; then
		echo "--- dataplane stderr"
		grep -v '^EAL\|^TELEMETRY' "$WORK/dp.err" 2>/dev/null | tail -20
		echo "--- control stderr"
		tail -30 "$WORK/cp.err" 2>/dev/null
	fi
	pc_e2e_summary
}
