/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Setup and teardown of the shared dataplane state and the workers (see
 * dataplane.h). Worker i runs on the i-th EAL worker lcore and allocates its
 * table and rings on that lcore's socket.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>

#include "dataplane.h"
#include "dlp/dlp.h"
#include "handoff.h"
#include "port.h"
#include "worker.h"

static int worker_create(struct pc_dp *dp, uint16_t id, unsigned lcore,
			 const struct pc_dp_config *cfg, const struct pc_policy *policy, char *err,
			 size_t err_len)
{
	int socket = (int)rte_lcore_to_socket_id(lcore);
	char name[RTE_RING_NAMESIZE];

	struct pc_worker *w = rte_zmalloc_socket("pc_worker", sizeof(*w), RTE_CACHE_LINE_SIZE,
						 socket);
	if (w == NULL) {
		snprintf(err, err_len, "worker %u: out of memory", id);
		return -ENOMEM;
	}
	dp->workers[id] = w;
	w->dp = dp;
	w->id = id;
	w->n_workers = dp->n_workers;
	w->lcore = lcore;
	w->pool = dp->pool;

	int rc = pc_reasm_init_body(&w->reasm, cfg->hold_flow_pkts, cfg->hold_body_pkts,
				    cfg->hold_worker_pkts, cfg->max_head, socket);
	if (rc < 0) {
		snprintf(err, err_len, "worker %u: hold of %u packets: %s", id,
			 cfg->hold_worker_pkts, strerror(-rc));
		return rc;
	}

	/* A held body is copied here, de-chunked, to be decided on. */
	w->body = rte_malloc_socket("pc_body", PC_WORKER_BODY_MAX, RTE_CACHE_LINE_SIZE, socket);
	if (w->body == NULL) {
		snprintf(err, err_len, "worker %u: body buffer: out of memory", id);
		return -ENOMEM;
	}

	snprintf(name, sizeof(name), "pc_flows_%u", id);
	w->flows = pc_flow_table_create(name, cfg->flows, socket);
	if (w->flows == NULL) {
		snprintf(err, err_len, "worker %u: flow table of %u flows: %s", id, cfg->flows,
			 strerror(errno));
		return -errno;
	}
	w->scratch = pc_engine_scratch_new(policy);
	if (w->scratch == NULL) {
		snprintf(err, err_len, "worker %u: decision engine scratch: %s", id,
			 strerror(errno));
		return -errno;
	}
	if (dp->n_workers > 1) {
		snprintf(name, sizeof(name), "pc_handoff_%u", id);
		w->handoff = pc_handoff_ring_create(name, PC_DP_HANDOFF_RING, socket);
		if (w->handoff == NULL) {
			snprintf(err, err_len, "worker %u: hand-off ring: %s", id,
				 rte_strerror(rte_errno));
			return -rte_errno;
		}
	}
	snprintf(name, sizeof(name), "pc_dlog_%u", id);
	w->dlog = pc_dlog_ring_create(name, PC_DP_DLOG_RING, socket);
	if (w->dlog == NULL) {
		snprintf(err, err_len, "worker %u: decision log ring: %s", id,
			 rte_strerror(rte_errno));
		return -rte_errno;
	}
	dp->dlog_rings[id] = w->dlog;
	return 0;
}

struct pc_dp *pc_dp_create(const struct pc_dp_config *cfg_in, const struct pc_policy *policy,
			   char *err, size_t err_len)
{
	/* A zero hold setting means its default, so a caller that predates
	 * the settings gets the documented behaviour. */
	struct pc_dp_config c = *cfg_in;
	const struct pc_dp_config *cfg = &c;
	if (c.max_head == 0)
		c.max_head = PC_HTTP_MAX_HEAD;
	if (c.hold_flow_pkts == 0)
		c.hold_flow_pkts = PC_REASM_DEFAULT_FLOW_PKTS;
	if (c.hold_worker_pkts == 0)
		c.hold_worker_pkts = PC_REASM_DEFAULT_WORKER_PKTS;
	if (c.hold_timeout_s == 0)
		c.hold_timeout_s = PC_DP_DEFAULT_HOLD_TIMEOUT_S;
	/* A held body is bounded apart from heads but never below them, and
	 * never past what the worker may hold in all. */
	if (c.hold_body_pkts == 0) {
		/* Sized for the starting policy's window at a 536-byte MSS
		 * (RFC 9293 section 3.7.1), the head's segment included. */
		uint32_t win = policy != NULL ? pc_policy_body_window(policy)
					      : PC_POLICY_DEFAULT_BODY_WINDOW;
		c.hold_body_pkts = RTE_MAX((uint32_t)PC_REASM_DEFAULT_BODY_PKTS,
					   (win + 535) / 536 + 2);
		c.hold_body_pkts = RTE_MIN(c.hold_body_pkts, (uint32_t)PC_REASM_MAX_FLOW_PKTS);
	}
	c.hold_body_pkts = RTE_MAX(c.hold_body_pkts, c.hold_flow_pkts);
	c.hold_body_pkts = RTE_MIN(c.hold_body_pkts, c.hold_worker_pkts);

	unsigned n_workers = rte_lcore_count() - 1;
	if (n_workers < 1) {
		snprintf(err, err_len,
			 "no worker lcore: give the EAL at least two lcores (e.g. -l 0,1); the "
			 "main lcore only supervises");
		return NULL;
	}
	if (n_workers > PC_DP_MAX_WORKERS) {
		snprintf(err, err_len, "%u worker lcores, at most %u are supported", n_workers,
			 PC_DP_MAX_WORKERS);
		return NULL;
	}
	int socket = (int)rte_socket_id();
	struct pc_dp *dp = rte_zmalloc("pc_dp", sizeof(*dp), RTE_CACHE_LINE_SIZE);
	if (dp == NULL) {
		snprintf(err, err_len, "out of memory");
		return NULL;
	}
	dp->n_workers = (uint16_t)n_workers;
	dp->idle_busy = cfg->idle_busy;
	dp->idle_est_tsc = (uint64_t)cfg->idle_est_s * rte_get_tsc_hz();
	dp->idle_other_tsc = (uint64_t)cfg->idle_other_s * rte_get_tsc_hz();
	dp->hold_timeout_tsc = (uint64_t)cfg->hold_timeout_s * rte_get_tsc_hz();
	dp->deny_403 = cfg->deny_403;
	dp->midstream_pickup = cfg->midstream_pickup;

	/* Between queues, mbufs wait in hand-off rings and burst arrays, and
	 * in the workers' holds. */
	unsigned extra = n_workers * (PC_DP_HANDOFF_RING + 4 * PC_WORKER_TX_MAX +
				      cfg->hold_worker_pkts);
	dp->pool = pc_port_pool_create(dp->n_workers, extra, socket);
	if (dp->pool == NULL) {
		snprintf(err, err_len, "mbuf pool: %s", rte_strerror(rte_errno));
		goto fail;
	}

	size_t rcu_sz = rte_rcu_qsbr_get_memsize(n_workers);
	dp->rcu = rte_zmalloc("pc_rcu", rcu_sz, RTE_CACHE_LINE_SIZE);
	if (dp->rcu == NULL || rte_rcu_qsbr_init(dp->rcu, n_workers) != 0) {
		snprintf(err, err_len, "RCU variable for %u workers: out of memory", n_workers);
		goto fail;
	}

	struct pc_dp_policy *active = rte_zmalloc("pc_policy_ref", sizeof(*active), 0);
	if (active == NULL) {
		snprintf(err, err_len, "out of memory");
		goto fail;
	}
	active->policy = policy;
	active->generation = 1;
	active->sources = pc_source_lpm_for_policy(policy, NULL);
	dp->active = active;

	uint16_t id = 0;
	unsigned lcore;
	RTE_LCORE_FOREACH_WORKER(lcore) {
		if (worker_create(dp, id, lcore, cfg, policy, err, err_len) < 0)
			goto fail;
		active->scratch[id] = dp->workers[id]->scratch;
		id++;
	}
	int rc = pc_dp_dlp_new(policy, 1, dp->n_workers, &active->dlp);
	if (rc < 0) {
		snprintf(err, err_len, "DLP scratch and streams: %s", strerror(-rc));
		goto fail;
	}
	return dp;
fail:
	pc_dp_free(dp);
	return NULL;
}

int pc_dp_dlp_new(const struct pc_policy *policy, uint32_t gen, uint16_t n_workers,
		  struct pc_dp_dlp **out)
{
	struct pc_dlp_db *db = policy != NULL ? pc_policy_dlp_ref(policy) : NULL;
	*out = NULL;
	if (db == NULL)
		return 0;
	struct pc_dp_dlp *d = rte_zmalloc("pc_dp_dlp", sizeof(*d), 0);
	if (d == NULL) {
		pc_dlp_db_free(db);
		return -ENOMEM;
	}
	d->db = db;
	d->gen = gen;
	for (uint16_t i = 0; i < n_workers; i++) {
		d->scratch[i] = pc_dlp_scratch_new(db);
		d->pool[i] = pc_dlp_pool_new(db, PC_DP_DLP_STREAMS);
		if (d->scratch[i] == NULL || d->pool[i] == NULL) {
			int rc = errno > 0 ? -errno : -ENOMEM;
			pc_dp_dlp_free(d, n_workers);
			return rc;
		}
	}
	*out = d;
	return 0;
}

void pc_dp_dlp_free(struct pc_dp_dlp *d, uint16_t n_workers)
{
	if (d == NULL)
		return;
	for (uint16_t i = 0; i < n_workers; i++) {
		pc_dlp_scratch_free(d->scratch[i]);
		pc_dlp_pool_free(d->pool[i]);
	}
	pc_dlp_db_free(d->db); /* after the pools: their streams run on it */
	rte_free(d);
}

static uint32_t dlp_set_in_use(const struct pc_dp_dlp *d, uint16_t n_workers)
{
	uint32_t n = 0;
	for (uint16_t i = 0; d != NULL && i < n_workers; i++)
		n += pc_dlp_pool_in_use(d->pool[i]);
	return n;
}

uint32_t pc_dp_dlp_in_use(const struct pc_dp *dp)
{
	if (dp->active == NULL)
		return 0;
	return dlp_set_in_use(dp->active->dlp, dp->n_workers) +
	       dlp_set_in_use(dp->active->dlp_prev, dp->n_workers);
}

int pc_dp_launch(struct pc_dp *dp)
{
	for (uint16_t i = 0; i < dp->n_workers; i++) {
		struct pc_worker *w = dp->workers[i];
		int rc = rte_eal_remote_launch(pc_worker_run, w, w->lcore);
		if (rc != 0) {
			pc_dp_stop(dp);
			return rc;
		}
	}
	return 0;
}

void pc_dp_stop(struct pc_dp *dp)
{
	/* Release: whatever the main lcore did before asking (e.g. publishing
	 * a final policy) is visible to a worker that sees the flag. */
	__atomic_store_n(&dp->stop, 1, __ATOMIC_RELEASE);
	rte_eal_mp_wait_lcore();
}

void pc_dp_counters(const struct pc_dp *dp, struct pc_counters *sum)
{
	memset(sum, 0, sizeof(*sum));
	for (uint16_t i = 0; i < dp->n_workers; i++)
		if (dp->workers[i] != NULL)
			pc_counters_add(sum, &dp->workers[i]->counters);
}

void pc_dp_flush(struct pc_dp *dp)
{
	struct rte_mbuf *pkts[PC_WORKER_BURST];
	for (uint16_t i = 0; i < dp->n_workers; i++) {
		struct pc_worker *w = dp->workers[i];
		if (w == NULL || w->handoff == NULL)
			continue;
		unsigned n;
		while ((n = rte_ring_dequeue_burst(w->handoff, (void **)pkts, PC_WORKER_BURST,
						   NULL)) > 0)
			rte_pktmbuf_free_bulk(pkts, n);
	}
}

void pc_dp_free(struct pc_dp *dp)
{
	if (dp == NULL)
		return;
	pc_dp_flush(dp);
	for (uint16_t i = 0; i < dp->n_workers; i++) {
		struct pc_worker *w = dp->workers[i];
		if (w == NULL)
			continue;
		pc_worker_drop_holds(w);
		pc_reasm_fini(&w->reasm);
		rte_free(w->body);
		pc_flow_table_free(w->flows);
		if (w->scratch != NULL)
			pc_engine_scratch_free(w->scratch);
		rte_ring_free(w->handoff);
		rte_ring_free(w->dlog);
		rte_free(w);
	}
	if (dp->active != NULL) {
		pc_dp_dlp_free(dp->active->dlp, dp->n_workers);
		pc_dp_dlp_free(dp->active->dlp_prev, dp->n_workers);
		pc_source_lpm_free(dp->active->sources);
	}
	rte_free(dp->active);
	rte_free(dp->rcu);
	rte_mempool_free(dp->pool);
	rte_free(dp);
}
