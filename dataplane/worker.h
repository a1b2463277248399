/* SPDX-License-Identifier: BSD-3-Clause
 *
 * A worker: one lcore running rx → decode → flow → decide → tx to
 * completion on its own queues and its own flow table. The design note is at
 * the top of worker.c.
 */
#ifndef PC_DP_WORKER_H
#define PC_DP_WORKER_H

#include <stdbool.h>
#include <stdint.h>

#include <rte_common.h>
#include <rte_hash.h>

#include "counters.h"
#include "dataplane.h"
#include "decision_log.h"
#include "engine/decide.h"
#include "flow_table.h"
#include "http/http_parse.h"
#include "pkt/pkt_parse.h"
#include "reasm.h"
#include "tls/tls_hello.h"

struct pc_flow_dump_area;
struct rte_mbuf;

#define PC_WORKER_BURST 32
/* A packet of a burst may release a flow's whole hold and add a 403 and
 * resets; tx_push() sends early when the array fills, so this is a batch
 * size, not a bound on what a burst may send. */
#define PC_WORKER_TX_MAX (2 * PC_WORKER_BURST)
/* The largest body a decision reads: the most a policy's window may be. */
#define PC_WORKER_BODY_MAX PC_POLICY_MAX_BODY_WINDOW

/* What stage 1 learned about one packet of a burst. */
struct pc_pkt_ctx {
	struct pc_pkt_meta meta;
	union pc_flow_key key;
	hash_sig_t sig;
	int32_t pos;     /* flow slot from stage 2, or -ENOENT */
	uint8_t kind;    /* enum pc_pkt_kind (worker.c) */
	uint8_t fam;     /* PC_FLOW_V4 / PC_FLOW_V6 */
	uint8_t dir;     /* 0: the source is the key's lo endpoint */
};

struct pc_worker {
	/* Main lcore, before launch; read-only afterwards. */
	struct pc_dp *dp;
	uint16_t id;                 /* 0..n_workers-1; also its queue on both ports */
	uint16_t n_workers;
	unsigned lcore;
	struct rte_mempool *pool;
	struct pc_flow_table *flows;
	struct pc_engine_scratch *scratch; /* the current policy's (freed with the worker);
					    * decisions use pol->scratch[id] */
	struct rte_ring *handoff;    /* this worker's hand-off ring (it is the consumer) */
	struct rte_ring *dlog;       /* decision records (the main lcore consumes) */

	/* This worker only. */
	const struct pc_dp_policy *pol; /* loaded once per loop */
	uint64_t now_tsc;               /* taken once per loop */
	int64_t now_s;                  /* wall-clock seconds, taken once per loop */
	uint64_t loops;
	uint32_t empty_polls;
	uint32_t sleep_us;
	uint32_t batch_created;         /* flows created in the current burst */
	uint16_t n_tx[2];
	uint16_t n_ho[PC_DP_MAX_WORKERS];
	struct rte_mbuf *tx[2][PC_WORKER_TX_MAX];
	struct rte_mbuf *ho[PC_DP_MAX_WORKERS][PC_WORKER_BURST];
	struct pc_pkt_ctx ctx[PC_WORKER_BURST];
	struct pc_reasm reasm;          /* held client segments of this worker's flows */
	struct pc_http_req req;
	struct pc_tls_hello tls;        /* ~17 KiB (its reassembly area): one per worker */
	uint8_t *body;                  /* PC_WORKER_BODY_MAX bytes: a held body, de-chunked */
	const char *dlp_hit;            /* DLP pattern the next record names, or NULL */
	uint64_t ctr[PC_CTR_COUNT];     /* counts since the last publish */
	uint32_t unpublished;           /* bursts flushed since the last publish */

	/* This worker only: the aging sweep's pace (housekeeping()). */
	uint64_t sweep_tsc;             /* a whole sweep's period; 0 until the first */
	uint64_t sweep_last_tsc;        /* when the last slice ran */

	/* The flow listing (flow_dump.h). The main lcore fills *dump, then
	 * stores dump_req (release); this worker loads it (acquire) at its
	 * housekeeping, copies its matching flows into *dump a slice at a
	 * time, and stores dump_done = dump_req (release) when done. */
	struct pc_flow_dump_area *dump;
	uint32_t dump_req;
	uint32_t dump_done;

	/* Swap visibility, for benchmarks (perf/bench_control.c): the main
	 * lcore stores pol_pub_tsc (relaxed) just before it publishes a new
	 * active pointer; this worker stores pol_first_tsc (relaxed), the TSC
	 * at the start of the first loop that processed packets under a
	 * pointer it had not run before. Readers compare them after the swap's
	 * grace period. */
	uint64_t pol_pub_tsc;
	uint64_t pol_first_tsc;
	const struct pc_dp_policy *pol_stamped; /* this worker only */

	/* Written by this worker every few bursts and when it goes idle; read
	 * by anyone (counters.h). */
	struct pc_counters counters;
} __rte_cache_aligned;

/* The lcore function: poll until dp->stop, then flush and return 0.
 * arg is the struct pc_worker. Launched by pc_dp_launch(). */
int pc_worker_run(void *arg);

/* One loop iteration without the housekeeping and idle handling: receive a
 * burst from each port and from the hand-off ring, process, transmit
 * (pc_worker_flush), and publish the counters when nothing came in.
 * Returns the packets taken in. The worker's own lcore
 * only (benchmarks may call it in place of pc_worker_run); fast path. */
unsigned pc_worker_poll(struct pc_worker *w);

/* Process n (<= PC_WORKER_BURST) packets received on in_port (0 or 1) as if
 * they came from the NIC, queueing what must go out; pc_worker_flush() sends
 * it. Every packet is consumed (queued, handed off or freed). The worker's
 * own lcore; fast path. */
void pc_worker_process(struct pc_worker *w, struct rte_mbuf **pkts, uint16_t n, uint16_t in_port);

/* Counters are published at least every this many bursts (and whenever a
 * poll finds nothing to do). */
#define PC_WORKER_PUBLISH_BURSTS 16

/* The end of a burst: send the queued packets, and publish the counters
 * if this is the PC_WORKER_PUBLISH_BURSTS-th burst since they last were. The worker's own lcore;
 * fast path. */
void pc_worker_flush(struct pc_worker *w);

/* Publish the counters now: everything counted so far becomes visible in
 * w->counters. The worker's own lcore. */
void pc_worker_publish(struct pc_worker *w);

/* Free every packet the worker's flows hold (teardown). The worker's own
 * lcore, or any thread once the worker has stopped; control path. */
void pc_worker_drop_holds(struct pc_worker *w);

#endif
