/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The flow listing (flow_dump.h). The main lcore owns the request's life:
 * it copies the request out of the segment (bounded, as hostile input),
 * writes each worker's area and then its dump_req with release; a worker
 * that loads the new dump_req with acquire sees the area's request, copies
 * what matches, and stores dump_done with release; the main lcore, loading
 * every dump_done with acquire, sees each area's records complete and
 * gathers them, in worker order, up to the limit. Workers copy indexes only
 * (an identity filter is an index per generation, computed here); names
 * are looked up here, by the flow's generation: identity and rule indexes
 * belong to the policy that decided the flow, which may be retired (and
 * freed) by now, so the names of the last few retired generations are kept.
 * A flow older than those shows its indexes and generation, no names.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_malloc.h>

#include "dataplane.h"
#include "flow_dump.h"
#include "flow_table.h"
#include "policy/policy.h"
#include "shm/shm.h"
#include "worker.h"

/* The names of one retired generation: offsets into buf. */
struct pc_dump_names {
	uint32_t generation;  /* 0: unused */
	uint32_t n_id, n_rule;
	uint32_t *off;        /* n_id + n_rule offsets */
	char *buf;
};

struct pc_flow_dump {
	struct pc_dump_names names[PC_FLOW_DUMP_GENS];
	unsigned names_next;  /* the slot the next retired generation takes */
	struct pc_dp *dp;
	uint16_t n_workers;
	struct pc_flow_dump_area *area[PC_DP_MAX_WORKERS];
	uint32_t seq;       /* the workers' dump_req of the listing running */
	uint32_t req_seq;   /* the segment's req_seq it answers */
	bool running;
	uint64_t t0_ns;     /* CLOCK_MONOTONIC when it was seen */
};

struct pc_flow_dump *pc_flow_dump_create(struct pc_dp *dp)
{
	struct pc_flow_dump *d = calloc(1, sizeof(*d));
	if (d == NULL)
		return NULL;
	d->dp = dp;
	d->n_workers = dp->n_workers;
	for (uint16_t i = 0; i < dp->n_workers; i++) {
		d->area[i] = rte_zmalloc("pc_flow_dump", sizeof(*d->area[i]), RTE_CACHE_LINE_SIZE);
		if (d->area[i] == NULL) {
			pc_flow_dump_free(d);
			errno = ENOMEM;
			return NULL;
		}
	}
	for (uint16_t i = 0; i < dp->n_workers; i++) {
		struct pc_worker *w = dp->workers[i];
		d->seq = RTE_MAX(d->seq, __atomic_load_n(&w->dump_done, __ATOMIC_ACQUIRE));
		w->dump = d->area[i];
	}
	return d;
}

static void names_clear(struct pc_dump_names *n)
{
	free(n->off);
	free(n->buf);
	memset(n, 0, sizeof(*n));
}

void pc_flow_dump_retire(struct pc_flow_dump *d, uint32_t generation, const struct pc_policy *p)
{
	if (d == NULL || p == NULL)
		return;
	struct pc_dump_names *n = &d->names[d->names_next];
	d->names_next = (d->names_next + 1) % PC_FLOW_DUMP_GENS;
	names_clear(n);
	uint32_t n_id = pc_policy_identity_count(p), n_rule = pc_policy_rule_count(p);
	size_t bytes = 0;
	for (uint32_t i = 0; i < n_id; i++)
		bytes += strlen(pc_policy_identity_name(p, i)) + 1;
	for (uint32_t i = 0; i < n_rule; i++)
		bytes += strlen(pc_policy_rule_id(p, i)) + 1;
	n->off = malloc(((size_t)n_id + n_rule + 1) * sizeof(*n->off));
	n->buf = malloc(bytes + 1);
	if (n->off == NULL || n->buf == NULL || bytes > UINT32_MAX) {
		names_clear(n); /* listed without names: no harm */
		return;
	}
	size_t at = 0;
	for (uint32_t i = 0; i < n_id + n_rule; i++) {
		const char *t = i < n_id ? pc_policy_identity_name(p, i)
					 : pc_policy_rule_id(p, i - n_id);
		size_t l = strlen(t) + 1;
		n->off[i] = (uint32_t)at;
		memcpy(n->buf + at, t, l);
		at += l;
	}
	n->generation = generation;
	n->n_id = n_id;
	n->n_rule = n_rule;
}

static const struct pc_dump_names *names_of(const struct pc_flow_dump *d, uint32_t generation)
{
	for (unsigned i = 0; i < PC_FLOW_DUMP_GENS; i++)
		if (d->names[i].generation == generation && generation != 0)
			return &d->names[i];
	return NULL;
}

/* Identity index idx (rule: false) or rule index idx (rule: true) of
 * generation, or NULL when unknown. Main lcore. */
static const char *name_of(const struct pc_flow_dump *d, uint32_t generation, int32_t idx,
			   bool rule)
{
	const struct pc_dp_policy *a = d->dp->active; /* the main lcore writes it */
	if (idx < 0)
		return NULL;
	if (a->policy != NULL && generation == a->generation) {
		const struct pc_policy *p = a->policy;
		if (!rule && (uint32_t)idx < pc_policy_identity_count(p))
			return pc_policy_identity_name(p, (uint32_t)idx);
		if (rule && (uint32_t)idx < pc_policy_rule_count(p))
			return pc_policy_rule_id(p, (uint32_t)idx);
		return NULL;
	}
	const struct pc_dump_names *n = names_of(d, generation);
	if (n == NULL)
		return NULL;
	if (!rule && (uint32_t)idx < n->n_id)
		return n->buf + n->off[idx];
	if (rule && (uint32_t)idx < n->n_rule)
		return n->buf + n->off[n->n_id + (uint32_t)idx];
	return NULL;
}

/* The dataplane may be freed already (its workers are stopped): only the
 * areas are touched. */
void pc_flow_dump_free(struct pc_flow_dump *d)
{
	if (d == NULL)
		return;
	for (uint16_t i = 0; i < d->n_workers; i++)
		rte_free(d->area[i]);
	for (unsigned i = 0; i < PC_FLOW_DUMP_GENS; i++)
		names_clear(&d->names[i]);
	free(d);
}

/* The identity's index in every generation whose names are known, for the
 * workers to compare with each flow's (generation, identity). */
static void match_build(const struct pc_flow_dump *d, const char *ident,
			struct pc_flow_dump_area *a)
{
	a->filter = ident[0] != '\0';
	a->n_match = 0;
	if (!a->filter)
		return;
	const struct pc_dp_policy *act = d->dp->active;
	if (act->policy != NULL) {
		for (uint32_t i = 0; i < pc_policy_identity_count(act->policy); i++) {
			if (strcmp(pc_policy_identity_name(act->policy, i), ident) == 0) {
				a->match[a->n_match].generation = act->generation;
				a->match[a->n_match++].identity = (int32_t)i;
				break;
			}
		}
	}
	for (unsigned g = 0; g < PC_FLOW_DUMP_GENS; g++) {
		const struct pc_dump_names *n = &d->names[g];
		if (n->generation == 0 || n->generation == act->generation)
			continue;
		for (uint32_t i = 0; i < n->n_id; i++) {
			if (strcmp(n->buf + n->off[i], ident) == 0) {
				a->match[a->n_match].generation = n->generation;
				a->match[a->n_match++].identity = (int32_t)i;
				break;
			}
		}
	}
}

static void start(struct pc_flow_dump *d, const struct pc_shm_ctl *ctl, uint32_t req)
{
	const volatile struct pc_shm_flows *q = &ctl->flows;
	uint32_t limit = q->limit;
	char ident[PC_SHM_QUAR_NAME_MAX];
	for (size_t i = 0; i < sizeof(ident); i++)
		ident[i] = q->identity[i];
	ident[sizeof(ident) - 1] = '\0';
	if (limit == 0)
		limit = PC_SHM_FLOWS_DEFAULT;
	if (limit > PC_SHM_FLOWS_MAX)
		limit = PC_SHM_FLOWS_MAX;
	d->seq++;
	d->req_seq = req;
	d->running = true;
	d->t0_ns = pc_shm_now_ns(CLOCK_MONOTONIC);
	for (uint16_t i = 0; i < d->dp->n_workers; i++) {
		struct pc_flow_dump_area *a = d->area[i];
		a->limit = limit;
		match_build(d, ident, a);
		a->count = a->matched = 0;
		a->cur_fam = a->cur_pos = 0;
		/* Release: the worker sees the area above with the new number. */
		__atomic_store_n(&d->dp->workers[i]->dump_req, d->seq, __ATOMIC_RELEASE);
	}
}

static bool finish(struct pc_flow_dump *d, struct pc_shm_ctl *ctl)
{
	for (uint16_t i = 0; i < d->dp->n_workers; i++)
		if (__atomic_load_n(&d->dp->workers[i]->dump_done, __ATOMIC_ACQUIRE) != d->seq)
			return false;
	struct pc_shm_flows *r = &ctl->flows;
	uint32_t n = 0, matched = 0, limit = d->area[0] != NULL ? d->area[0]->limit : 0;
	for (uint16_t i = 0; i < d->dp->n_workers; i++) {
		const struct pc_flow_dump_area *a = d->area[i];
		matched += a->matched;
		for (uint32_t j = 0; j < a->count && n < limit; j++) {
			struct pc_shm_flow *f = &r->rec[n++];
			*f = a->rec[j];
			const char *id = name_of(d, f->generation, f->identity, false);
			const char *rule = name_of(d, f->generation, f->rule, true);
			if (id != NULL)
				snprintf(f->identity_name, sizeof(f->identity_name), "%s", id);
			if (rule != NULL)
				snprintf(f->rule_id, sizeof(f->rule_id), "%s", rule);
		}
	}
	r->count = n;
	r->matched = matched;
	r->result = 0;
	r->elapsed_ns = pc_shm_now_ns(CLOCK_MONOTONIC) - d->t0_ns;
	/* Release: control, loading done_seq with acquire, sees the records. */
	__atomic_store_n(&r->done_seq, d->req_seq, __ATOMIC_RELEASE);
	d->running = false;
	return true;
}

int pc_flow_dump_poll(struct pc_flow_dump *d, struct pc_shm_ctl *ctl)
{
	if (d->running)
		return finish(d, ctl) ? 1 : 0;
	/* Acquire: the request control wrote before this number. */
	uint32_t req = __atomic_load_n(&ctl->flows.req_seq, __ATOMIC_ACQUIRE);
	if (likely(req == __atomic_load_n(&ctl->flows.done_seq, __ATOMIC_RELAXED)))
		return 0;
	start(d, ctl, req);
	return 0;
}

static void copy_addr(uint8_t *out, unsigned fam, const union pc_flow_key *k, bool hi)
{
	memset(out, 0, 16);
	if (fam == PC_FLOW_V4) {
		uint32_t a = htonl(hi ? k->v4.addr_hi : k->v4.addr_lo);
		memcpy(out, &a, 4);
	} else {
		memcpy(out, hi ? k->v6.addr_hi : k->v6.addr_lo, 16);
	}
}

static void fill(const struct pc_worker *w, const struct pc_flow_table *t, unsigned fam,
		 int32_t pos, const union pc_flow_key *k, uint64_t now, uint64_t hz,
		 struct pc_shm_flow *r)
{
	const struct pc_flow *f = pc_flow_table_entry(t, fam, pos);
	const struct pc_flow_aux *x = &t->fam[fam].aux[pos];
	bool hi = f->client_dir != 0;
	memset(r, 0, sizeof(*r));
	r->family = fam == PC_FLOW_V4 ? 4 : 6;
	r->proto = f->proto;
	r->state = f->state;
	r->l7 = f->l7;
	r->tcp = f->tcp;
	r->action = f->verdict.action;
	r->reason = f->verdict.reason;
	r->cred_kind = f->verdict.cred_kind;
	r->worker = w->id;
	copy_addr(r->client_addr, fam, k, hi);
	copy_addr(r->server_addr, fam, k, !hi);
	if (fam == PC_FLOW_V4) {
		r->vlan = k->v4.vlan;
		r->client_port = hi ? k->v4.port_hi : k->v4.port_lo;
		r->server_port = hi ? k->v4.port_lo : k->v4.port_hi;
	} else {
		r->vlan = k->v6.vlan;
		r->client_port = hi ? k->v6.port_hi : k->v6.port_lo;
		r->server_port = hi ? k->v6.port_lo : k->v6.port_hi;
	}
	if (f->verdict.cred_kind != 0)
		memcpy(r->fp, f->verdict.cred_fp, PC_SHM_FP_LEN);
	r->identity = f->verdict.identity;
	r->rule = f->verdict.rule;
	r->generation = f->generation;
	r->requests = f->requests;
	r->pkts = f->pkts;
	r->bytes = f->bytes;
	r->idle_ms = now > f->last_seen_tsc ? (now - f->last_seen_tsc) * 1000 / hz : 0;
	r->age_ms = x->born_tsc != 0 && now > x->born_tsc ? (now - x->born_tsc) * 1000 / hz : 0;
	/* The birth stamp is read a little after the loop's clock that the
	 * first packet's last_seen_tsc comes from: a flow is never idle for
	 * longer than it has lived. */
	r->age_ms = RTE_MAX(r->age_ms, r->idle_ms);
}

static bool matches(const struct pc_flow_dump_area *a, const struct pc_flow *f)
{
	if (!a->filter)
		return true;
	for (uint32_t i = 0; i < a->n_match; i++)
		if (a->match[i].generation == f->generation &&
		    a->match[i].identity == f->verdict.identity)
			return true;
	return false;
}

void pc_flow_dump_work(struct pc_worker *w)
{
	struct pc_flow_dump_area *a = w->dump;
	uint32_t req = __atomic_load_n(&w->dump_req, __ATOMIC_ACQUIRE);
	if (a == NULL)
		return;
	const struct pc_flow_table *t = w->flows;
	uint64_t now = w->now_tsc, hz = rte_get_tsc_hz();
	for (unsigned budget = PC_FLOW_DUMP_SLICE; budget > 0 && a->cur_fam < PC_FLOW_FAMILIES;
	     budget--) {
		const struct pc_flow_family *fam = &t->fam[a->cur_fam];
		if (a->cur_pos >= fam->n_slots) {
			a->cur_fam++;
			a->cur_pos = 0;
			continue;
		}
		int32_t pos = (int32_t)a->cur_pos++;
		union pc_flow_key k;
		const struct pc_flow *f = &fam->entries[pos];
		if (f->state == PC_FLOW_FREE || !matches(a, f))
			continue;
		a->matched++;
		if (a->count < a->limit && pc_flow_table_key(t, a->cur_fam, pos, &k) == 0)
			fill(w, t, a->cur_fam, pos, &k, now, hz, &a->rec[a->count++]);
	}
	if (a->cur_fam >= PC_FLOW_FAMILIES)
		/* Release: the main lcore sees the records with the number. */
		__atomic_store_n(&w->dump_done, req, __ATOMIC_RELEASE);
}
