/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Dataplane counters, defined once. PC_DP_COUNTERS lists what the dataplane
 * itself counts; the frame decoder's reasons (PC_PKT_REASONS) are appended so
 * that every way a frame can be dropped has its own counter, named exactly as
 * the reason is named in logs. The stdout dump, the --stats-json file and,
 * later, the stats segment and Prometheus names all come from these lists.
 *
 * Each worker owns one cache-line-aligned struct pc_counters. Only that worker
 * writes it (relaxed atomic stores, every 16th burst and when it is idle,
 * from deltas it keeps in its own array); any thread may read it at any time
 * with relaxed loads and will see a value at most 16 bursts old. Nothing orders one counter against
 * another: a reader summing them must not expect them to balance exactly
 * while the workers run.
 */
#ifndef PC_DP_COUNTERS_H
#define PC_DP_COUNTERS_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <rte_common.h>

#include "dp_reason.h"
#include "engine/decide.h"
#include "pkt/pkt_parse.h"

/* X(name, "text"). Names ending in a reason are drop counts. */
#define PC_DP_COUNTERS(X)                                                   \
	X(RX, "rx")                               /* frames received, both ports */ \
	X(TX, "tx")                               /* frames the PMDs accepted */ \
	X(TX_FULL, "tx_full")                     /* tx queue full: freed */ \
	X(BRIDGED_NON_IP, "bridged_non_ip")       /* ARP, LLDP, ... */ \
	X(BRIDGED_ICMP, "bridged_icmp")           /* ICMP and ICMPv6 */ \
	X(FLOWS_CREATED, "flows_created")                                   \
	X(FLOWS_AGED, "flows_aged")                                         \
	X(FLOW_TABLE_FULL, "flow_table_full")     /* new flow refused: dropped */ \
	X(TCP_MIDSTREAM, "tcp_midstream")         /* inspected flow without SYN: dropped */ \
	X(TCP_SYN_WITH_DATA, "tcp_syn_with_data") /* SYN carrying payload to an inspected port */ \
	X(DECISIONS_ALLOWED, "decisions_allowed")                           \
	X(DECISIONS_DENIED, "decisions_denied")                             \
	X(DENIED_DROPPED, "denied_dropped")       /* frames of denied flows, the deciding one included */ \
	X(RESETS_SENT, "resets_sent")                                       \
	X(QUARANTINE_RESETS, "quarantine_resets") /* live flows of a revoked caller */ \
	X(QUARANTINE_IDLE_RESETS, "quarantine_idle_resets") /* inspected ones found idle: reset by the aging sweep */ \
	X(QUARANTINE_IDLE_CUT, "quarantine_idle_cut") /* forwarded TCP flows of a revoked caller, dropped from then on */ \
	X(MBUF_ALLOC_FAILED, "mbuf_alloc_failed") /* a reset could not be built */ \
	X(DECISION_LOG_LOST, "decision_log_lost") /* record ring full */ \
	X(HANDOFF_ENQUEUED, "handoff_enqueued")   /* sent to the owning worker */ \
	X(HANDOFF_DROPPED, "handoff_dropped")     /* owner's ring full: freed */ \
	X(HANDOFF_RECEIVED, "handoff_received")   /* taken from this worker's ring */ \
	X(HELD, "held")                           /* client segments put on hold */ \
	X(HOLD_RELEASED, "hold_released")         /* held segments sent on after an allow */ \
	X(TCP_OUT_OF_ORDER, "tcp_out_of_order")   /* held ahead of a gap */ \
	X(TCP_RETRANSMIT_DROPPED, "tcp_retransmit_dropped") /* exact copies of held bytes */ \
	X(TCP_RETRANSMIT_PASSED, "tcp_retransmit_passed") /* bytes already sent on: sent again */ \
	X(TCP_OUT_OF_WINDOW, "tcp_out_of_window") /* too far ahead to hold: dropped */ \
	X(TCP_OVERLAP_CONFLICT, "tcp_overlap_conflict") /* overlap with different bytes: denied */ \
	X(HOLD_LIMIT, "hold_limit")               /* a hold bound reached: denied (head) or dropped (body) */ \
	X(HOLD_TIMEOUT, "hold_timeout")           /* a head left incomplete too long: denied */ \
	X(HOLD_AGED, "hold_aged")                 /* held packets freed undecided: flow idle or reset, body hold timed out */ \
	X(REQUESTS_PIPELINED, "requests_pipelined") /* heads that followed a body in one segment */ \
	X(DENY_RESPONSES_SENT, "deny_responses_sent") /* 403 answers injected */ \
	X(FLOW_TABLE_FULL_SYN, "flow_table_full_syn") /* of flow_table_full: SYNs (no flow is evicted) */ \
	X(TLS_HELLOS_DECIDED, "tls_hellos_decided") /* ClientHellos decided, malformed included */ \
	X(TLS_HELLOS_MALFORMED, "tls_hellos_malformed") /* of those: refused by the parser */ \
	X(REQUESTS_BODY_HELD, "requests_body_held") /* requests held for their body before a decision */ \
	X(BODY_BYTES_INSPECTED, "body_bytes_inspected") /* body bytes given to such decisions */ \
	X(DLP_BYTES_SCANNED, "dlp_bytes_scanned") /* body bytes scanned for secrets */ \
	X(DLP_MATCHES, "dlp_matches")             /* bodies in which a secret pattern matched */ \
	X(DLP_BLOCKED, "dlp_blocked")             /* of those: denied (reset) */ \
	X(TCP_MIDSTREAM_PICKED_UP, "tcp_midstream_picked_up") /* inspected flows started mid-stream (--tcp-midstream pickup) */

enum pc_ctr {
#define PC_X(name, text) PC_CTR_##name,
	PC_DP_COUNTERS(PC_X)
#undef PC_X
#define PC_X(name, text) PC_CTR_PKT_##name,
	PC_PKT_REASONS(PC_X)
#undef PC_X
	/* Decisions by action and reason (engine/decide.h), indexed by the
	 * verdict's reason byte (pc_counters_decision_index()), named
	 * "decisions_denied_<reason>" and "decisions_allowed_<reason>".
	 * Counted where a decision's record is made
	 * (pc_counters_count_decision()). */
#define PC_X(name, text) PC_CTR_DENY_##name,
	PC_DECISION_REASONS(PC_X)
#undef PC_X
#define PC_X(name, text) PC_CTR_ALLOW_##name,
	PC_DECISION_REASONS(PC_X)
#undef PC_X
	/* The same for the dataplane's own reasons (dp_reason.h). */
#define PC_X(name, text) PC_CTR_DENY_DP_##name,
	PC_DP_REASONS(PC_X)
#undef PC_X
#define PC_X(name, text) PC_CTR_ALLOW_DP_##name,
	PC_DP_REASONS(PC_X)
#undef PC_X
	PC_CTR_COUNT
};

/* The first counter of each block of decisions by dataplane reason. */
#define PC_CTR_DENY_DP_BASE ((unsigned)PC_CTR_ALLOW_RULE + PC_REASON_COUNT)
#define PC_CTR_ALLOW_DP_BASE (PC_CTR_DENY_DP_BASE + PC_DP_REASON_COUNT)
static_assert(PC_CTR_ALLOW_DP_BASE + PC_DP_REASON_COUNT == PC_CTR_COUNT,
	      "the dataplane reasons' blocks end the counters");

/* Index of the decision counter for (action, reason): deny for any action
 * but allow; an engine reason or a dataplane reason in its own slot, and
 * any other byte in the last engine reason's slot, so a bad byte can never
 * index past the array. */
static inline unsigned pc_counters_decision_index(uint8_t action, uint8_t reason)
{
	const bool allow = action == PC_ACTION_ALLOW;
	if (reason >= PC_DP_REASON_BASE && reason < PC_DP_REASON_END)
		return (allow ? PC_CTR_ALLOW_DP_BASE : PC_CTR_DENY_DP_BASE) +
		       (unsigned)(reason - PC_DP_REASON_BASE);
	unsigned base = allow ? PC_CTR_ALLOW_RULE : PC_CTR_DENY_RULE;
	return base + (reason < PC_REASON_COUNT ? reason : PC_REASON_COUNT - 1);
}

/* True for the decision counters by reason (the last block). */
static inline bool pc_counters_is_by_reason(unsigned i)
{
	return i >= PC_CTR_DENY_RULE && i < PC_CTR_COUNT;
}

/* Count one decision in a worker's burst-local deltas (ctr, PC_CTR_COUNT
 * entries), where its record is made. The worker's own lcore; fast path. */
static inline void pc_counters_count_decision(uint64_t *ctr, uint8_t action, uint8_t reason)
{
	ctr[pc_counters_decision_index(action, reason)]++;
}

/* Index of the drop counter for decoder reason r (r != PC_PKT_OK). */
#define PC_CTR_PKT(r) (PC_CTR_PKT_OK + (unsigned)(r))

struct pc_counters {
	uint64_t v[PC_CTR_COUNT];
} __rte_cache_aligned;

/* Counter name for index i, or NULL for the slot of PC_PKT_OK (not a drop,
 * never counted). Any thread. */
const char *pc_counters_name(unsigned i);

/* dst += src, reading src with relaxed loads. Any thread; control path. */
void pc_counters_add(struct pc_counters *dst, const struct pc_counters *src);

/* Write "name value" lines. Returns 0 or -errno. Control path. */
int pc_counters_print(const struct pc_counters *c, FILE *out);

/* Write the counters as one JSON object to path (replacing it). Returns 0 or
 * -errno. Control path. */
int pc_counters_write_json(const struct pc_counters *c, const char *path);

/* Publish a worker's deltas: shared[i] += delta[i] for every non-zero
 * delta, then zero delta. Only the owning worker may call it; fast path
 * (every 16th burst, worker.c). */
static inline void pc_counters_publish(struct pc_counters *shared, uint64_t *delta)
{
	/* A burst moves a handful of the counters: look at 8 deltas at a time
	 * (one OR of a cache line) and step into a group only when one of
	 * them moved. */
	for (unsigned g = 0; g < PC_CTR_COUNT; g += 8) {
		const unsigned n = PC_CTR_COUNT - g < 8 ? PC_CTR_COUNT - g : 8;
		uint64_t any = 0;
		for (unsigned k = 0; k < n; k++)
			any |= delta[g + k];
		if (likely(any == 0))
			continue;
		for (unsigned i = g; i < g + n; i++) {
			if (delta[i] == 0)
				continue;
			/* Single writer: a relaxed load of our own value and a
			 * relaxed store are enough; readers only need untorn
			 * 64-bit values. */
			uint64_t cur = __atomic_load_n(&shared->v[i], __ATOMIC_RELAXED);
			__atomic_store_n(&shared->v[i], cur + delta[i], __ATOMIC_RELAXED);
			delta[i] = 0;
		}
	}
}

#endif
