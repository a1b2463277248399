/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The dataplane's own reasons for a verdict: what the decision engine never
 * sees (the TCP stream under a request, the body's framing, DLP). They share
 * struct pc_verdict's reason byte with the engine's reasons
 * (engine/decide.h), from PC_DP_REASON_BASE up, so a log line, a counter and
 * a flow record name either kind from the one byte.
 */
#ifndef PC_DP_REASON_H
#define PC_DP_REASON_H

#include <stddef.h>
#include <stdint.h>

/* X(name, "text"), in the order of their bytes from PC_DP_REASON_BASE. */
#define PC_DP_REASONS(X)                                                    \
	X(TCP_OVERLAP_CONFLICT, "tcp_overlap_conflict")                     \
	X(HOLD_LIMIT, "hold_limit")                                         \
	X(HOLD_TIMEOUT, "hold_timeout")                                     \
	X(HTTP_BODY_MALFORMED, "http_body_malformed")                       \
	X(HTTP_UPGRADE, "http_upgrade_not_inspectable")                     \
	X(DLP_MATCH, "dlp_match")                                           \
	X(DLP_UNAVAILABLE, "dlp_unavailable")

#define PC_DP_REASON_BASE 0x80

enum pc_dp_reason {
	PC_DP_REASON_FIRST_ = PC_DP_REASON_BASE - 1,
#define PC_X(name, text) PC_DP_REASON_##name,
	PC_DP_REASONS(PC_X)
#undef PC_X
	PC_DP_REASON_END
};

#define PC_DP_REASON_COUNT (PC_DP_REASON_END - PC_DP_REASON_BASE)

/* The text of a dataplane reason byte, or NULL when the byte is one of the
 * engine's (pc_verdict_reason_name() names those). Any thread. */
static inline const char *pc_dp_reason_text(uint8_t reason)
{
	static const char *const names[] = {
#define PC_X(name, text) text,
		PC_DP_REASONS(PC_X)
#undef PC_X
	};
	if (reason >= PC_DP_REASON_BASE && reason < PC_DP_REASON_END)
		return names[reason - PC_DP_REASON_BASE];
	return NULL;
}

#endif
