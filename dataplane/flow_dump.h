/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The flow listing behind `portcullisctl flows`. The flow tables are
 * per-worker and single-writer (flow_table.h), so no other thread may walk
 * them: the main lcore, on a request in the control segment (shm_abi.h,
 * "Flows protocol"), hands each worker the request through its own area and
 * a sequence number; each worker copies its matching flows into that area at
 * its housekeeping, PC_FLOW_DUMP_SLICE slots at a time so that a listing
 * never stalls a burst, and says when it is done; the main lcore then
 * gathers the copies into the segment, names identities and rules through
 * the policy of each flow's generation (the running one, or the names kept
 * of a retired one), and marks the answer complete. A listing of the
 * default table (~131072 slots per worker) takes 16 slices.
 */
#ifndef PC_DP_FLOW_DUMP_H
#define PC_DP_FLOW_DUMP_H

#include <stdbool.h>
#include <stdint.h>

#include "shm/shm_abi.h"

struct pc_dp;
struct pc_flow_dump;
struct pc_policy;
struct pc_worker;

#define PC_FLOW_DUMP_SLICE 8192 /* flow slots a worker examines per housekeeping */
#define PC_FLOW_DUMP_GENS 8     /* retired generations whose names are kept */

/* One worker's part of a listing. */
struct pc_flow_dump_area {
	/* Main lcore, before it stores the worker's dump_req. */
	uint32_t limit;                      /* records wanted, <= PC_SHM_FLOWS_MAX */
	bool filter;                         /* only flows of one identity: */
	uint32_t n_match;                    /* its index in each generation that has it */
	struct {
		uint32_t generation;
		int32_t identity;
	} match[PC_FLOW_DUMP_GENS + 1];
	/* The worker, until it stores dump_done; then the main lcore. */
	uint32_t count;                      /* records in rec[] */
	uint32_t matched;                    /* matching flows seen */
	uint32_t cur_fam, cur_pos;           /* where the copy resumes */
	struct pc_shm_flow rec[PC_SHM_FLOWS_MAX];
};

/* The main lcore's side for dp's workers: gives each worker its area.
 * Returns NULL with errno set. Main lcore, before or after launch (the
 * workers look at their area only once dump_req changes). */
struct pc_flow_dump *pc_flow_dump_create(struct pc_dp *dp);

/* Answer the segment's flows request, a step per call: start one when
 * ctl holds a new one, finish it when every worker is done. Returns 1 when
 * an answer was written, else 0. Main lcore; once per main-loop iteration. */
int pc_flow_dump_poll(struct pc_flow_dump *d, struct pc_shm_ctl *ctl);

/* Keep the identity names and rule ids of policy p, generation
 * generation, which is being retired: flows decided under it stay in the
 * tables with its indexes, and a listing names them through this copy (the
 * last PC_FLOW_DUMP_GENS generations are kept). One copy of the names'
 * bytes, microseconds for thousands of rules. Main lcore, before p is
 * freed; control path. */
void pc_flow_dump_retire(struct pc_flow_dump *d, uint32_t generation, const struct pc_policy *p);

/* Forget the workers' areas and free. Main lcore, workers stopped. */
void pc_flow_dump_free(struct pc_flow_dump *d);

/* Copy the next slice of w's flows into w->dump; store dump_done when the
 * whole table has been passed. The worker's own lcore, from housekeeping,
 * when dump_req != dump_done; bounded work. */
void pc_flow_dump_work(struct pc_worker *w);

#endif
