/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Creation, teardown and incremental aging of the per-worker flow table
 * (design in flow_table.h). The lookups and inserts are inline in the header.
 */
#include <errno.h>
#include <stdalign.h>
#include <stdio.h>

#include <rte_errno.h>
#include <rte_hash_crc.h>
#include <rte_malloc.h>

#include "flow_table.h"

/* Fixed seed: every worker's tables must hash a key to the same value, since
 * that value also names the worker that owns the flow. */
#define PC_FLOW_HASH_SEED 0x5a17c0deu
#define PC_FLOW_MIN_HASH_ENTRIES 8u

static int pc_flow_family_init(struct pc_flow_family *f, const char *name, uint32_t key_len,
			       uint32_t capacity, int socket)
{
	/* rte_hash wants at least one full bucket (8 entries); the capacity
	 * check in pc_flow_table_add() keeps the real limit. */
	uint32_t entries = RTE_MAX(capacity, PC_FLOW_MIN_HASH_ENTRIES);
	struct rte_hash_parameters p = {
		.name = name,
		.entries = entries,
		.key_len = key_len,
		.hash_func = rte_hash_crc,
		.hash_func_init_val = PC_FLOW_HASH_SEED,
		.socket_id = socket,
		/* Extendable buckets: an insert below capacity never fails on
		 * a cuckoo path that happens to be too long. No concurrency
		 * flags: the owning worker is the only reader and writer. */
		.extra_flag = RTE_HASH_EXTRA_FLAGS_EXT_TABLE,
	};
	f->h = rte_hash_create(&p);
	if (f->h == NULL)
		return -(rte_errno ? rte_errno : ENOMEM);
	int32_t max_id = rte_hash_max_key_id(f->h);
	if (max_id < 0)
		return -EINVAL;
	f->n_slots = (uint32_t)max_id + 1;
	f->entries = rte_zmalloc_socket(name, (size_t)f->n_slots * sizeof(struct pc_flow),
					alignof(struct pc_flow), socket);
	if (f->entries == NULL)
		return -ENOMEM;
	f->aux = rte_zmalloc_socket(name, (size_t)f->n_slots * sizeof(struct pc_flow_aux),
				    RTE_CACHE_LINE_SIZE, socket);
	if (f->aux == NULL)
		return -ENOMEM;
	f->live = rte_zmalloc_socket(name, ((size_t)f->n_slots + 63) / 64 * sizeof(uint64_t),
				     RTE_CACHE_LINE_SIZE, socket);
	if (f->live == NULL)
		return -ENOMEM;
	f->capacity = capacity;
	f->count = 0;
	f->key_len = key_len;
	return 0;
}

struct pc_flow_table *pc_flow_table_create(const char *name, uint32_t capacity, int socket)
{
	if (capacity == 0) {
		errno = EINVAL;
		return NULL;
	}
	struct pc_flow_table *t = rte_zmalloc_socket(name, sizeof(*t), RTE_CACHE_LINE_SIZE, socket);
	if (t == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	char hname[RTE_HASH_NAMESIZE];
	int rc;
	snprintf(hname, sizeof(hname), "%s_v4", name);
	rc = pc_flow_family_init(&t->fam[PC_FLOW_V4], hname, sizeof(struct pc_flow_key4),
				 capacity, socket);
	if (rc < 0)
		goto fail;
	snprintf(hname, sizeof(hname), "%s_v6", name);
	rc = pc_flow_family_init(&t->fam[PC_FLOW_V6], hname, sizeof(struct pc_flow_key6),
				 capacity, socket);
	if (rc < 0)
		goto fail;
	return t;
fail:
	pc_flow_table_free(t);
	errno = -rc;
	return NULL;
}

void pc_flow_table_free(struct pc_flow_table *t)
{
	if (t == NULL)
		return;
	for (unsigned i = 0; i < PC_FLOW_FAMILIES; i++) {
		rte_hash_free(t->fam[i].h);
		rte_free(t->fam[i].entries);
		rte_free(t->fam[i].aux);
		rte_free(t->fam[i].live);
	}
	rte_free(t);
}

static void pc_flow_delete(struct pc_flow_family *f, int32_t pos)
{
	void *stored;
	union pc_flow_key key;
	/* Copy the key out first: deleting hands its storage back to the
	 * hash, and the key is still needed to find the bucket. */
	if (rte_hash_get_key_with_position(f->h, pos, &stored) == 0) {
		memcpy(&key, stored, f->key_len);
		rte_hash_del_key(f->h, &key);
	}
	f->entries[pos].state = PC_FLOW_FREE;
	f->live[(uint32_t)pos >> 6] &= ~(1ull << ((uint32_t)pos & 63));
	f->count--;
}

unsigned pc_flow_table_age(struct pc_flow_table *t, uint64_t now_tsc, uint64_t est_tsc,
			   uint64_t other_tsc, unsigned budget,
			   void (*visit)(void *arg, struct pc_flow *f, bool expired), void *arg)
{
	unsigned aged = 0;
	while (budget > 0) {
		struct pc_flow_family *f = &t->fam[t->age_fam];
		if (t->age_pos >= f->n_slots) {
			t->age_pos = 0;
			t->age_fam = (t->age_fam + 1) % PC_FLOW_FAMILIES;
			budget--;
			continue;
		}
		/* Free slots up to the next live one count against the budget
		 * as if examined, so the pace in slots stays what the caller
		 * asked for; they cost a bitmap load per 64. */
		uint64_t bits = f->live[t->age_pos >> 6] >> (t->age_pos & 63);
		if (bits == 0 || (bits & 1) == 0) {
			unsigned skip = bits == 0 ? 64 - (t->age_pos & 63)
						  : (unsigned)__builtin_ctzll(bits);
			skip = RTE_MIN(skip, budget);
			t->age_pos += skip;
			budget -= skip;
			continue;
		}
		budget--;
		int32_t pos = (int32_t)t->age_pos++;
		struct pc_flow *e = &f->entries[pos];
		if (e->state == PC_FLOW_FREE)
			continue;
		uint64_t limit = pc_flow_established(e) ? est_tsc : other_tsc;
		if (now_tsc - e->last_seen_tsc > limit) {
			if (visit != NULL)
				visit(arg, e, true);
			pc_flow_delete(f, pos);
			aged++;
		} else if (visit != NULL) {
			visit(arg, e, false);
		}
	}
	return aged;
}

int pc_flow_table_locate(const struct pc_flow_table *t, const struct pc_flow *e, unsigned *fam,
			 int32_t *pos)
{
	for (unsigned i = 0; i < PC_FLOW_FAMILIES; i++) {
		const struct pc_flow_family *f = &t->fam[i];
		if (e >= f->entries && e < f->entries + f->n_slots) {
			*fam = i;
			*pos = (int32_t)(e - f->entries);
			return 0;
		}
	}
	return -ENOENT;
}

int pc_flow_table_key(const struct pc_flow_table *t, unsigned fam, int32_t pos,
		      union pc_flow_key *k)
{
	const struct pc_flow_family *f = &t->fam[fam];
	void *stored;
	if (pos < 0 || (uint32_t)pos >= f->n_slots || f->entries[pos].state == PC_FLOW_FREE ||
	    rte_hash_get_key_with_position(f->h, pos, &stored) != 0)
		return -ENOENT;
	memset(k, 0, sizeof(*k));
	memcpy(k, stored, f->key_len);
	return 0;
}

void pc_flow_table_foreach(struct pc_flow_table *t, void (*fn)(void *arg, struct pc_flow *f),
			   void *arg)
{
	for (unsigned i = 0; i < PC_FLOW_FAMILIES; i++) {
		struct pc_flow_family *f = &t->fam[i];
		for (uint32_t pos = 0; pos < f->n_slots; pos++)
			if (f->entries[pos].state != PC_FLOW_FREE)
				fn(arg, &f->entries[pos]);
	}
}
