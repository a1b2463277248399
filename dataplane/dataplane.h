/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The dataplane as a whole: the state the main lcore sets up and the workers
 * share, and the calls that build it, start the workers and stop them. Ports
 * are set up separately (port.h), so a benchmark can drive workers with no
 * ports at all, or with ports of its own.
 *
 * Sharing rules, field by field, are in the struct. In short: everything is
 * written by the main lcore before the workers launch and only read after,
 * except the active policy (swapped by the main lcore, read by workers under
 * RCU) and the stop flag.
 */
#ifndef PC_DP_DATAPLANE_H
#define PC_DP_DATAPLANE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"
#include "source_lpm.h"

struct pc_dlp_pool;
struct pc_dlp_scratch;
struct pc_engine_scratch;
struct pc_policy;
struct pc_quarantine;
struct pc_worker;
struct rte_mempool;
struct rte_rcu_qsbr;
struct rte_ring;

#define PC_DP_MAX_WORKERS 64
#define PC_DP_HANDOFF_RING 1024 /* packets; per worker */
#define PC_DP_DLOG_RING 1024    /* decision records; per worker */

#define PC_DP_DEFAULT_FLOWS 65536
#define PC_DP_DEFAULT_IDLE_EST_S 300  /* established TCP */
#define PC_DP_DEFAULT_IDLE_OTHER_S 30 /* unestablished TCP, UDP, other */

struct pc_dp_config {
	uint32_t flows;        /* flow capacity per worker and address family */
	uint32_t idle_est_s;
	uint32_t idle_other_s;
	bool idle_busy;        /* never sleep when idle (production) */
	bool deny_403;         /* answer a denied request with a 403 before the reset */
	uint32_t max_head;     /* bytes of request head held for a decision */
	uint32_t hold_flow_pkts;   /* packets one flow may hold */
	uint32_t hold_worker_pkts; /* packets one worker may hold */
	uint32_t hold_timeout_s;   /* a head must be complete this long after its first byte */
	uint32_t hold_body_pkts;   /* packets one flow may hold while its body is held
				    * (0: PC_REASM_DEFAULT_BODY_PKTS; capped by the above) */
	bool midstream_pickup;     /* inspect TCP flows first seen without their SYN */
};

#define PC_DP_DEFAULT_HOLD_TIMEOUT_S 10

/* Each worker's DLP scratch and stream pool for one database: what bodies
 * are scanned with. A flow's stream is in these pools when the generation
 * that allowed its request is gen or later (and, for a set that is a
 * policy's dlp_prev, earlier than its dlp's gen). Holds a reference to the
 * database, so it may outlive the policy it was made for. */
struct pc_dp_dlp {
	struct pc_dlp_db *db;
	uint32_t gen;
	struct pc_dlp_scratch *scratch[PC_DP_MAX_WORKERS];
	struct pc_dlp_pool *pool[PC_DP_MAX_WORKERS];
};

/* What workers read through pc_dp.active: a policy, its generation, and
 * each worker's engine scratch made for it, published together by one
 * pointer store (a worker decides with pol->scratch[w->id]: scratch made for
 * an older policy may be too small for this one). */
struct pc_dp_policy {
	const struct pc_policy *policy;
	uint32_t generation;
	struct pc_engine_scratch *scratch[PC_DP_MAX_WORKERS];
	/* Revoked callers for this policy's identity indexes, or NULL
	 * (lib/shm/quarantine.h: pc_quarantine_epoch/pc_quarantine_check). */
	const struct pc_quarantine *quarantine;
	/* The DLP set new bodies are scanned with, made for this policy's
	 * database (pc_policy_dlp()); NULL when it has none. A later policy
	 * with the same DLP shares it (and the database, see
	 * pc_policy_dlp_share()). A policy whose DLP differs gets a set of its
	 * own and keeps the one before as dlp_prev: the bodies being scanned
	 * when it came finish with the patterns they started with. A body
	 * older than that (two DLP changes back) fails closed. */
	struct pc_dp_dlp *dlp;
	struct pc_dp_dlp *dlp_prev;
	/* This policy's source prefixes on rte_lpm/rte_lpm6 (source_lpm.h),
	 * handed to pc_decide() in each request; built and freed with the
	 * policy. NULL only if it could not be built: the engine then walks
	 * the policy's prefix lists, with the same answers. */
	struct pc_source_lpm *sources;
};

#define PC_DP_DLP_STREAMS 1024 /* bodies one worker scans at once; more are denied */

struct pc_dp {
	/* Main lcore, before launch; read-only afterwards. */
	uint16_t n_workers;
	bool idle_busy;
	bool deny_403;
	bool midstream_pickup;
	uint64_t idle_est_tsc, idle_other_tsc;
	uint64_t hold_timeout_tsc;
	struct rte_mempool *pool;
	struct rte_rcu_qsbr *rcu;   /* one reader thread id per worker */
	struct pc_worker *workers[PC_DP_MAX_WORKERS];
	struct rte_ring *dlog_rings[PC_DP_MAX_WORKERS];

	/* Main lcore stores with release after building the policy; workers
	 * load with acquire once per loop, so everything the policy points
	 * to is visible before the pointer is. The old one may be freed only
	 * after an RCU grace period on rcu (each worker reports quiescent
	 * every few loops, outside any use of the pointer). */
	struct pc_dp_policy *active;

	/* Main lcore stores 1 (release) to stop; workers load it (acquire)
	 * once per loop. */
	uint32_t stop;
};

/* Build the shared state and one worker per EAL worker lcore, running
 * policy as generation 1 (policy must outlive the dataplane). Needs the EAL.
 * Returns NULL with err filled. Main lcore; control path. */
struct pc_dp *pc_dp_create(const struct pc_dp_config *cfg, const struct pc_policy *policy,
			   char *err, size_t err_len);

/* Launch every worker on its lcore. Returns 0 or -errno. Main lcore. */
int pc_dp_launch(struct pc_dp *dp);

/* Tell the workers to stop and wait until they have. Main lcore. */
void pc_dp_stop(struct pc_dp *dp);

/* Sum of every worker's counters into *sum (zeroed first). Any thread. */
void pc_dp_counters(const struct pc_dp *dp, struct pc_counters *sum);

/* A DLP set for each of n_workers workers, for the database of policy,
 * made under generation gen. Sets *out to it, or to NULL when the policy has
 * no DLP. Returns 0 or -errno (then nothing is left made). Main lcore;
 * control path. */
int pc_dp_dlp_new(const struct pc_policy *policy, uint32_t gen, uint16_t n_workers,
		  struct pc_dp_dlp **out);

/* Free a set (NULL is fine) once no worker can use it. Main lcore. */
void pc_dp_dlp_free(struct pc_dp_dlp *d, uint16_t n_workers);

/* DLP streams in use now in the active policy's sets (0 when no body is
 * being scanned: a leak check). Main lcore, workers stopped. */
uint32_t pc_dp_dlp_in_use(const struct pc_dp *dp);

/* Free packets still queued in hand-off rings. Main lcore, workers stopped. */
void pc_dp_flush(struct pc_dp *dp);

/* Free everything pc_dp_create made, the mbuf pool included: close the
 * ports first. Main lcore, workers stopped. */
void pc_dp_free(struct pc_dp *dp);

#endif
