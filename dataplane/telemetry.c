/* SPDX-License-Identifier: BSD-3-Clause
 *
 * DPDK telemetry commands of the dataplane (telemetry.h).
 *
 * rte_telemetry answers each client connection on a thread of its own, so
 * two callbacks may run at once, and one may still run while the main lcore
 * tears the dataplane down. Hence a small guard: a callback counts itself
 * in (tl_users) and then checks tl_alive; pc_telemetry_unregister() clears
 * tl_alive and then waits for tl_users to drain. Both sides use sequentially
 * consistent atomics, so either the callback sees tl_alive cleared or the
 * teardown sees the callback counted: never neither.
 *
 * Nested dicts are not allowed by rte_telemetry (a dict may hold arrays
 * only), so per-worker figures are columns indexed by worker, and decisions
 * by reason are keyed "allow/<reason>" and "deny/<reason>".
 *
 * What the policy commands report comes from the control segment's
 * acknowledgement area when this process is the dataplane attached to it
 * (ack.pid), else from the startup policy (generation 1): the running
 * policy itself (dp->active) is reclaimed under RCU, and these threads are
 * not RCU readers.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_pause.h>
#include <rte_telemetry.h>

#include "counters.h"
#include "dataplane.h"
#include "engine/decide.h"
#include "policy/policy.h"
#include "policy_swap.h"
#include "shm/shm.h"
#include "telemetry.h"
#include "worker.h"

/* Entries listed by /portcullis/quarantine: one answer is at most 16 KiB
 * of JSON (the library's max_output_len), so the table is summarised past
 * this. */
#define PC_TEL_QUAR_LIST 32
/* A dataplane whose heartbeat is older than this is not the one attached. */
#define PC_TEL_HEARTBEAT_STALE_NS (5 * PC_SWAP_HEARTBEAT_NS)

static struct {
	struct pc_dp *dp;
	const char *instance;
	const char *policy_path;
	const struct pc_policy *startup;
	bool registered;
} tl;

static uint32_t tl_alive, tl_users;

/* The segment, mapped on first use by whichever callback gets there; the
 * lock also orders the copies out of it. */
static pthread_mutex_t tl_shm_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pc_shm_map tl_map = { .fd = -1 };

static const char *const tl_reason_names[PC_REASON_COUNT] = {
#define PC_X(name, text) [PC_REASON_##name] = text,
	PC_DECISION_REASONS(PC_X)
#undef PC_X
};

static bool enter(void)
{
	__atomic_add_fetch(&tl_users, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&tl_alive, __ATOMIC_SEQ_CST))
		return true;
	__atomic_sub_fetch(&tl_users, 1, __ATOMIC_SEQ_CST);
	return false;
}

static void leave(void)
{
	__atomic_sub_fetch(&tl_users, 1, __ATOMIC_SEQ_CST);
}

/* Worker index from the command's parameter: -1 for none, -2 for a bad one. */
static int worker_param(const char *params, uint16_t n_workers)
{
	if (params == NULL || params[0] == '\0')
		return -1;
	char *end;
	errno = 0;
	unsigned long v = strtoul(params, &end, 10);
	if (params[0] < '0' || params[0] > '9' || *end != '\0' || errno != 0 || v >= n_workers)
		return -2;
	return (int)v;
}

/* Counters of worker w, or of all workers (w < 0). */
static void counters_of(int w, struct pc_counters *c)
{
	if (w < 0) {
		pc_dp_counters(tl.dp, c);
		return;
	}
	memset(c, 0, sizeof(*c));
	if (tl.dp->workers[w] != NULL)
		pc_counters_add(c, &tl.dp->workers[w]->counters);
}

/* Flows in the worker's table, from counters alone (the table is the
 * worker's): a flow leaves it only by ageing. Created and aged are published
 * together once per burst, but summed over workers at different instants,
 * so clamp at 0. */
static uint64_t flows_of(const struct pc_counters *c)
{
	uint64_t in = c->v[PC_CTR_FLOWS_CREATED], out = c->v[PC_CTR_FLOWS_AGED];
	return in > out ? in - out : 0;
}

static uint64_t decisions_of(const struct pc_counters *c)
{
	return c->v[PC_CTR_DECISIONS_ALLOWED] + c->v[PC_CTR_DECISIONS_DENIED];
}

/* The counters /portcullis/stats and /portcullis/reasons answer with: one
 * worker's when params names one, else the sum. 0, or -errno for the reply. */
static int read_counters(const char *params, struct pc_counters *c)
{
	if (!enter())
		return -ENODEV;
	int w = worker_param(params, tl.dp->n_workers);
	if (w != -2)
		counters_of(w, c);
	leave();
	return w == -2 ? -EINVAL : 0;
}

static int cmd_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	struct pc_counters c;
	int rc = read_counters(params, &c);
	if (rc != 0)
		return rc;
	rte_tel_data_start_dict(d);
	for (unsigned i = 0; i < PC_CTR_COUNT; i++) {
		/* By reason: /portcullis/reasons. */
		const char *name = pc_counters_name(i);
		if (name != NULL && !pc_counters_is_by_reason(i))
			rte_tel_data_add_dict_u64(d, name, c.v[i]);
	}
	return 0;
}

/* n empty arrays of type, the columns of a table reply (index k of every
 * column is row k). 0, or -ENOMEM with none left allocated. */
static int columns_alloc(struct rte_tel_data **col, unsigned n, enum rte_tel_value_type type)
{
	for (unsigned made = 0; made < n; made++) {
		col[made] = rte_tel_data_alloc();
		if (col[made] == NULL) {
			while (made > 0)
				rte_tel_data_free(col[--made]);
			return -ENOMEM;
		}
		rte_tel_data_start_array(col[made], type);
	}
	return 0;
}

/* What /portcullis/workers says of each worker, in this order. */
static const char *const worker_cols[] = { "lcore", "queue", "rx", "tx", "decisions",
					   "flows", "held", "hold_released", "hold_aged" };

/* Worker i's values for worker_cols. Between enter() and leave(). */
static void worker_row(uint16_t i, uint64_t v[RTE_DIM(worker_cols)])
{
	const struct pc_worker *wk = tl.dp->workers[i];
	struct pc_counters c;
	counters_of(i, &c);
	const uint64_t row[] = { wk->lcore, wk->id, c.v[PC_CTR_RX], c.v[PC_CTR_TX],
				 decisions_of(&c), flows_of(&c), c.v[PC_CTR_HELD],
				 c.v[PC_CTR_HOLD_RELEASED], c.v[PC_CTR_HOLD_AGED] };
	static_assert(RTE_DIM(row) == RTE_DIM(worker_cols), "one value per column");
	memcpy(v, row, sizeof(row));
}

static int cmd_workers(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	if (!enter())
		return -ENODEV;
	uint16_t n = tl.dp->n_workers;
	int only = worker_param(params, n);
	if (only == -2) {
		leave();
		return -EINVAL;
	}
	rte_tel_data_start_dict(d);
	if (only >= 0) {
		uint64_t v[RTE_DIM(worker_cols)];
		worker_row((uint16_t)only, v);
		leave();
		rte_tel_data_add_dict_u64(d, "worker", (uint64_t)only);
		for (unsigned k = 0; k < RTE_DIM(worker_cols); k++)
			rte_tel_data_add_dict_u64(d, worker_cols[k], v[k]);
		return 0;
	}
	/* Columns: index k of every array is worker k. */
	struct rte_tel_data *col[RTE_DIM(worker_cols)];
	if (columns_alloc(col, RTE_DIM(worker_cols), RTE_TEL_U64_VAL) != 0) {
		leave();
		return -ENOMEM;
	}
	for (uint16_t i = 0; i < n; i++) {
		uint64_t v[RTE_DIM(worker_cols)];
		worker_row(i, v);
		for (unsigned k = 0; k < RTE_DIM(worker_cols); k++)
			rte_tel_data_add_array_u64(col[k], v[k]);
	}
	leave();
	rte_tel_data_add_dict_u64(d, "workers", n);
	for (unsigned k = 0; k < RTE_DIM(worker_cols); k++)
		rte_tel_data_add_dict_container(d, worker_cols[k], col[k], 0);
	return 0;
}

static int cmd_reasons(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	struct pc_counters c;
	int rc = read_counters(params, &c);
	if (rc != 0)
		return rc;
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "allowed", c.v[PC_CTR_DECISIONS_ALLOWED]);
	rte_tel_data_add_dict_u64(d, "denied", c.v[PC_CTR_DECISIONS_DENIED]);
	char key[RTE_TEL_MAX_STRING_LEN];
	for (unsigned a = 0; a < 2; a++) {
		uint8_t action = a ? PC_ACTION_ALLOW : PC_ACTION_DENY;
		/* the engine's reasons, then the dataplane's own */
		for (unsigned r = 0; r < PC_REASON_COUNT + PC_DP_REASON_COUNT; r++) {
			uint8_t byte = (uint8_t)(r < PC_REASON_COUNT ? r : PC_DP_REASON_BASE +
									 (r - PC_REASON_COUNT));
			snprintf(key, sizeof(key), "%s/%s", a ? "allow" : "deny",
				 r < PC_REASON_COUNT ? tl_reason_names[r] : pc_dp_reason_text(byte));
			rte_tel_data_add_dict_u64(d, key, c.v[pc_counters_decision_index(action, byte)]);
		}
	}
	return 0;
}

/* Map the instance's segment if it is not mapped, or no longer the one the
 * name points to. Returns true when tl_map is usable. tl_shm_lock held. */
static bool shm_attach(void)
{
	if (tl_map.ctl != NULL && pc_shm_still_current(tl.instance, &tl_map))
		return true;
	pc_shm_close(&tl_map);
	char err[256];
	return pc_shm_open(tl.instance, &tl_map, err, sizeof(err)) == 0;
}

/* True when the segment's acknowledgement area is ours: written by this
 * process, with a recent heartbeat. tl_shm_lock held. */
static bool shm_is_ours(const struct pc_shm_ack *a)
{
	uint32_t pid = __atomic_load_n(&a->pid, __ATOMIC_RELAXED);
	uint64_t hb = __atomic_load_n(&a->heartbeat_ns, __ATOMIC_RELAXED);
	uint64_t now = pc_shm_now_ns(CLOCK_MONOTONIC);
	return pid == (uint32_t)getpid() && hb != 0 && now - hb < PC_TEL_HEARTBEAT_STALE_NS;
}

static void add_time(struct rte_tel_data *d, const char *name, uint64_t rt_ns)
{
	char buf[40] = "";
	if (rt_ns != 0) {
		time_t t = (time_t)(rt_ns / 1000000000u);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	rte_tel_data_add_dict_string(d, name, buf);
}

static int cmd_policy(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	if (!enter())
		return -ENODEV;
	rte_tel_data_start_dict(d);
	struct pc_shm_ack ack;
	bool attached = false;
	pthread_mutex_lock(&tl_shm_lock);
	if (shm_attach() && shm_is_ours(&tl_map.ctl->ack)) {
		/* The fields describing a generation are stable from the
		 * acquire load of acked_generation until the next publish;
		 * a change of it across the copy means one landed: retry. */
		const struct pc_shm_ack *a = &tl_map.ctl->ack;
		for (int tries = 0; tries < 4 && !attached; tries++) {
			uint32_t g = __atomic_load_n(&a->acked_generation, __ATOMIC_ACQUIRE);
			memcpy(&ack, (const void *)a, sizeof(ack));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			attached = __atomic_load_n(&a->acked_generation, __ATOMIC_RELAXED) == g;
		}
		ack.error[sizeof(ack.error) - 1] = '\0';
	}
	pthread_mutex_unlock(&tl_shm_lock);

	rte_tel_data_add_dict_string(d, "instance", tl.instance);
	rte_tel_data_add_dict_u64(d, "control_attached", attached);
	if (attached && ack.applied_generation > 1) {
		/* Pushed by the control plane: only the acknowledgement
		 * describes it (the policy itself is the workers'). */
		rte_tel_data_add_dict_u64(d, "generation", ack.applied_generation);
		rte_tel_data_add_dict_string(d, "origin", "control");
		rte_tel_data_add_dict_u64(d, "rules", ack.applied_rules);
	} else {
		rte_tel_data_add_dict_u64(d, "generation", 1);
		rte_tel_data_add_dict_string(d, "origin", tl.policy_path);
		rte_tel_data_add_dict_u64(d, "rules", pc_policy_rule_count(tl.startup));
		rte_tel_data_add_dict_u64(d, "identities", pc_policy_identity_count(tl.startup));
	}
	if (attached) {
		rte_tel_data_add_dict_u64(d, "acked_generation", ack.acked_generation);
		rte_tel_data_add_dict_u64(d, "apply_ns", ack.apply_ns);
		add_time(d, "applied_at", ack.applied_ns);
		add_time(d, "started_at", ack.started_ns);
		rte_tel_data_add_dict_int(d, "last_result", ack.result);
		rte_tel_data_add_dict_string(d, "last_error", ack.error);
	} else {
		rte_tel_data_add_dict_u64(d, "apply_ns", 0);
		rte_tel_data_add_dict_int(d, "last_result", 0);
		rte_tel_data_add_dict_string(d, "last_error", "");
	}
	leave();
	return 0;
}

static int cmd_quarantine(const char *cmd, const char *params, struct rte_tel_data *d)
{
	RTE_SET_USED(cmd);
	RTE_SET_USED(params);
	if (!enter())
		return -ENODEV;
	static const char *const cols[] = { "kind", "caller", "reason", "expires" };
	struct rte_tel_data *col[RTE_DIM(cols)];
	if (columns_alloc(col, RTE_DIM(cols), RTE_TEL_STRING_VAL) != 0) {
		leave();
		return -ENOMEM;
	}
	static struct pc_shm_quar_entry copy[PC_SHM_QUAR_MAX]; /* under tl_shm_lock */
	uint32_t n = 0, applied = 0;
	bool ok = false, ours = false;
	rte_tel_data_start_dict(d);
	pthread_mutex_lock(&tl_shm_lock);
	if (shm_attach()) {
		const struct pc_shm_ctl *c = tl_map.ctl;
		ours = shm_is_ours(&c->ack);
		applied = __atomic_load_n(&c->ack.quar_entries, __ATOMIC_RELAXED);
		/* The seqlock of shm_abi.h, as the dataplane reads it. */
		for (int tries = 0; tries < 8 && !ok; tries++) {
			uint32_t seq = __atomic_load_n(&c->quar_seq, __ATOMIC_ACQUIRE);
			if (seq & 1) {
				rte_pause();
				continue;
			}
			n = __atomic_load_n(&c->quar_count, __ATOMIC_RELAXED);
			if (n > PC_SHM_QUAR_MAX)
				n = PC_SHM_QUAR_MAX;
			memcpy(copy, c->quar, (size_t)n * sizeof(copy[0]));
			__atomic_thread_fence(__ATOMIC_ACQUIRE);
			ok = __atomic_load_n(&c->quar_seq, __ATOMIC_RELAXED) == seq;
		}
	}
	int64_t now = (int64_t)time(NULL);
	uint32_t live = 0, listed = 0;
	for (uint32_t i = 0; ok && i < n; i++) {
		const struct pc_shm_quar_entry *e = &copy[i];
		if (e->kind != PC_SHM_QUAR_IDENTITY && e->kind != PC_SHM_QUAR_CREDENTIAL)
			continue;
		if (e->expires_s != 0 && e->expires_s <= now)
			continue;
		live++;
		if (listed == PC_TEL_QUAR_LIST)
			continue;
		listed++;
		char who[2 * PC_SHM_FP_LEN + 1], buf[40];
		const char *caller = who;
		if (e->kind == PC_SHM_QUAR_CREDENTIAL) {
			for (unsigned k = 0; k < PC_SHM_FP_LEN; k++)
				snprintf(who + 2 * k, 3, "%02x", e->fp[k]);
		} else {
			caller = e->name;
		}
		char name[PC_SHM_QUAR_NAME_MAX], reason[PC_SHM_QUAR_REASON_MAX];
		snprintf(name, sizeof(name), "%.*s", (int)sizeof(name) - 1, caller);
		snprintf(reason, sizeof(reason), "%.*s", (int)sizeof(e->reason) - 1, e->reason);
		if (e->expires_s == 0) {
			snprintf(buf, sizeof(buf), "never");
		} else {
			time_t t = (time_t)e->expires_s;
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		}
		rte_tel_data_add_array_string(col[0], e->kind == PC_SHM_QUAR_CREDENTIAL ?
						      "credential" : "identity");
		rte_tel_data_add_array_string(col[1], name);
		rte_tel_data_add_array_string(col[2], reason);
		rte_tel_data_add_array_string(col[3], buf);
	}
	pthread_mutex_unlock(&tl_shm_lock);
	leave();
	rte_tel_data_add_dict_u64(d, "control_attached", ours);
	rte_tel_data_add_dict_u64(d, "entries", live);
	rte_tel_data_add_dict_u64(d, "entries_applied", ours ? applied : 0);
	rte_tel_data_add_dict_u64(d, "listed", listed);
	for (unsigned k = 0; k < RTE_DIM(cols); k++)
		rte_tel_data_add_dict_container(d, cols[k], col[k], 0);
	return 0;
}

int pc_telemetry_register(struct pc_dp *dp, const char *instance, const char *policy_path,
			  const struct pc_policy *startup)
{
	static const struct {
		const char *cmd;
		telemetry_cb fn;
		const char *help;
	} cmds[] = {
		{ "/portcullis/stats", cmd_stats,
		  "Every dataplane counter, summed over workers. Parameter: worker index." },
		{ "/portcullis/workers", cmd_workers,
		  "Per worker: lcore, queue, rx, tx, decisions, flows, holds. Parameter: worker "
		  "index." },
		{ "/portcullis/policy", cmd_policy,
		  "Running policy generation, rules, origin, last swap and its error." },
		{ "/portcullis/quarantine", cmd_quarantine,
		  "Revoked callers: kind, identity or fingerprint, reason, expiry." },
		{ "/portcullis/reasons", cmd_reasons,
		  "Decisions by action and reason. Parameter: worker index." },
	};
	if (dp == NULL || instance == NULL || policy_path == NULL || startup == NULL)
		return -EINVAL;
	pc_telemetry_unregister();
	tl.dp = dp;
	tl.instance = instance;
	tl.policy_path = policy_path;
	tl.startup = startup;
	if (!tl.registered) {
		for (unsigned i = 0; i < RTE_DIM(cmds); i++) {
			int rc = rte_telemetry_register_cmd(cmds[i].cmd, cmds[i].fn, cmds[i].help);
			if (rc < 0)
				return rc;
		}
		tl.registered = true;
	}
	__atomic_store_n(&tl_alive, 1, __ATOMIC_SEQ_CST);
	return 0;
}

void pc_telemetry_unregister(void)
{
	__atomic_store_n(&tl_alive, 0, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&tl_users, __ATOMIC_SEQ_CST) != 0)
		rte_pause();
	pthread_mutex_lock(&tl_shm_lock);
	pc_shm_close(&tl_map);
	pthread_mutex_unlock(&tl_shm_lock);
}
