/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Source index on rte_lpm/rte_lpm6; the design is in source_lpm.h.
 *
 * Build, per family: every (prefix, identity) pair of the policy's sources
 * is sorted by address, then length, then identity. In that order a prefix
 * comes after every prefix containing it and before everything that is not
 * inside it, so one pass with a stack of the enclosing prefixes gives each
 * distinct prefix its parent: its entry is the parent's answer with its own
 * pairs added (the source-only identity replaced by its own lowest one, its
 * identities merged into the parent's sorted list). That is O(n log n) in
 * the pairs plus the size of the lists, so a policy of many prefixes builds
 * in milliseconds.
 */
#include "source_lpm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_errno.h>
#include <rte_lpm.h>
#include <rte_lpm6.h>
#include <rte_memory.h>

#include "policy/policy_image.h"
#include "util/addr.h"

#define NO_ENTRY (-1)

struct pair {
	struct pc_prefix pf;
	uint32_t identity;
	bool source_only;
};

struct entry {
	int32_t source_only; /* identity, or -1 */
	uint32_t off;        /* into lists */
	uint32_t n;
};

struct pc_source_lpm {
	struct pc_source_index index; /* ctx is this */
	struct rte_lpm *v4;
	struct rte_lpm6 *v6;
	int32_t root[2];              /* entry of 0.0.0.0/0 and ::/0, or NO_ENTRY */
	struct entry *entries;
	uint32_t n_entries, cap_entries;
	uint32_t *lists;              /* sorted identity indexes */
	uint32_t n_lists, cap_lists;
	unsigned n_prefixes[2];
	/* What the tables were built from, per family, sorted: a later
	 * policy with the same pairs shares them (pc_source_lpm_build). */
	struct pair *pairs[2];
	uint32_t n_pairs[2];
	unsigned refs;                /* policies sharing this index; main lcore */
};

/* ---- lookups (worker threads, fast path) ---- */

static inline int32_t entry_of(const struct pc_source_lpm *l, const struct pc_addr *a)
{
	uint32_t nh;
	if (a->family == 4) {
		if (l->v4 != NULL && rte_lpm_lookup(l->v4, a->v4, &nh) == 0)
			return (int32_t)nh;
		return l->root[0];
	}
	if (a->family == 6) {
		if (l->v6 != NULL && rte_lpm6_lookup(l->v6, a->v6, &nh) == 0)
			return (int32_t)nh;
		return l->root[1];
	}
	return NO_ENTRY;
}

static int32_t lpm_source_only(const void *ctx, const struct pc_addr *a)
{
	const struct pc_source_lpm *l = ctx;
	int32_t e = entry_of(l, a);
	return e == NO_ENTRY ? -1 : l->entries[e].source_only;
}

static bool lpm_bound(const void *ctx, uint32_t ident, const struct pc_addr *a)
{
	const struct pc_source_lpm *l = ctx;
	int32_t e = entry_of(l, a);
	if (e == NO_ENTRY)
		return false;
	const uint32_t *v = l->lists + l->entries[e].off;
	uint32_t lo = 0, hi = l->entries[e].n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (v[mid] == ident)
			return true;
		if (v[mid] < ident)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

const struct pc_source_index *pc_source_lpm_index(const struct pc_source_lpm *l)
{
	return l != NULL ? &l->index : NULL;
}

void pc_source_lpm_stats(const struct pc_source_lpm *l, unsigned *n_v4, unsigned *n_v6,
			 size_t *list_bytes)
{
	if (n_v4 != NULL)
		*n_v4 = l->n_prefixes[0];
	if (n_v6 != NULL)
		*n_v6 = l->n_prefixes[1];
	if (list_bytes != NULL)
		*list_bytes = (size_t)l->n_entries * sizeof(*l->entries) +
			      (size_t)l->n_lists * sizeof(*l->lists);
}

/* ---- build (main lcore) ---- */

static int addr_cmp(const struct pc_addr *x, const struct pc_addr *y)
{
	if (x->family == 4)
		return x->v4 < y->v4 ? -1 : x->v4 > y->v4;
	return memcmp(x->v6, y->v6, 16);
}

static int pair_cmp(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = addr_cmp(&x->pf.addr, &y->pf.addr);
	if (c != 0)
		return c;
	if (x->pf.len != y->pf.len)
		return x->pf.len < y->pf.len ? -1 : 1;
	return x->identity < y->identity ? -1 : x->identity > y->identity;
}

static bool same_prefix(const struct pc_prefix *x, const struct pc_prefix *y)
{
	return x->len == y->len && addr_cmp(&x->addr, &y->addr) == 0;
}

/* x holds the whole of y */
static bool holds(const struct pc_prefix *x, const struct pc_prefix *y)
{
	return x->len <= y->len && pc_prefix_contains(x, &y->addr);
}

static int grow(void **a, uint32_t *cap, uint32_t need, size_t size)
{
	if (need <= *cap)
		return 0;
	uint32_t n = *cap ? *cap : 64;
	while (n < need)
		n *= 2;
	void *p = realloc(*a, (size_t)n * size);
	if (p == NULL)
		return -ENOMEM;
	*a = p;
	*cap = n;
	return 0;
}

/* The entry for the pairs pr[0..n) of one prefix, under parent entry par
 * (NO_ENTRY at the top). Returns its index or -ENOMEM. */
static int32_t add_entry(struct pc_source_lpm *l, const struct pair *pr, uint32_t n, int32_t par)
{
	if (grow((void **)&l->entries, &l->cap_entries, l->n_entries + 1, sizeof(*l->entries)))
		return -ENOMEM;
	uint32_t pn = par == NO_ENTRY ? 0 : l->entries[par].n;
	if (grow((void **)&l->lists, &l->cap_lists, l->n_lists + pn + n, sizeof(*l->lists)))
		return -ENOMEM;
	/* after the realloc: the parent's list may have moved */
	const uint32_t *pl = par == NO_ENTRY ? NULL : l->lists + l->entries[par].off;
	struct entry *e = &l->entries[l->n_entries];
	e->source_only = par == NO_ENTRY ? -1 : l->entries[par].source_only;
	for (uint32_t k = 0; k < n; k++) {
		if (pr[k].source_only) { /* pairs are by identity: the first is the lowest */
			e->source_only = (int32_t)pr[k].identity;
			break;
		}
	}
	/* merge two sorted lists, dropping duplicates */
	uint32_t *out = l->lists + l->n_lists, m = 0, i = 0, k = 0;
	while (i < pn || k < n) {
		uint32_t v;
		if (k >= n || (i < pn && pl[i] <= pr[k].identity))
			v = pl[i++];
		else
			v = pr[k++].identity;
		if (m == 0 || out[m - 1] != v)
			out[m++] = v;
	}
	e->off = l->n_lists;
	e->n = m;
	l->n_lists += m;
	return (int32_t)l->n_entries++;
}

static unsigned lpm_serial;

/* The sorted (prefix, identity) pairs of family fam (4 or 6) of p into
 * *out (NULL when there are none). Returns their count or -ENOMEM. */
static int64_t family_pairs(const struct pc_policy *p, uint8_t fam, const bool *is_source_only,
			    struct pair **out)
{
	uint32_t n = 0;
	*out = NULL;
	for (uint32_t i = 0; i < p->n_identities; i++)
		for (uint32_t j = 0; j < p->identities[i].n_sources; j++)
			n += p->identities[i].sources[j].addr.family == fam;
	if (n == 0)
		return 0;
	/* zeroed: pairs_equal() reads whole structs, padding included */
	struct pair *pr = calloc(n, sizeof(*pr));
	if (pr == NULL)
		return -ENOMEM;
	uint32_t k = 0;
	for (uint32_t i = 0; i < p->n_identities; i++) {
		for (uint32_t j = 0; j < p->identities[i].n_sources; j++) {
			const struct pc_prefix *pf = &p->identities[i].sources[j];
			/* the loader refuses host bits; a prefix that has them
			 * never holds an address for the lists either */
			if (pf->addr.family != fam || !pc_prefix_contains(pf, &pf->addr))
				continue;
			struct pair *x = &pr[k++];
			x->pf.len = pf->len;
			x->pf.addr.family = fam;
			if (fam == 4)
				x->pf.addr.v4 = pf->addr.v4;
			else
				memcpy(x->pf.addr.v6, pf->addr.v6, 16);
			x->identity = i;
			x->source_only = is_source_only[i];
		}
	}
	qsort(pr, k, sizeof(*pr), pair_cmp);
	*out = pr;
	return k;
}

/* Every pair of pr[0..n) (sorted, of family fam) into its table. */
static int build_family(struct pc_source_lpm *l, const struct pair *pr, uint32_t n, uint8_t fam)
{
	const int fi = fam == 4 ? 0 : 1;
	/* the stack of enclosing entries: at most one per prefix length */
	int32_t stack[129];
	struct pc_prefix stack_pf[129];
	if (n == 0)
		return 0;

	unsigned distinct = 0;
	for (uint32_t i = 0; i < n; i++)
		if (i == 0 || !same_prefix(&pr[i].pf, &pr[i - 1].pf))
			distinct++;
	l->n_prefixes[fi] = distinct;

	char name[RTE_LPM_NAMESIZE];
	snprintf(name, sizeof(name), "pc_src%u_%u", fam, __atomic_fetch_add(&lpm_serial, 1, __ATOMIC_RELAXED));
	int rc = 0;
	if (fam == 4) {
		/* a tbl8 group per /24 that holds a longer prefix: at most one
		 * per prefix */
		struct rte_lpm_config cfg = { .max_rules = distinct, .number_tbl8s = distinct };
		l->v4 = rte_lpm_create(name, SOCKET_ID_ANY, &cfg);
		if (l->v4 == NULL)
			rc = -(rte_errno ? rte_errno : ENOMEM);
	} else {
		/* a /len needs up to (len - 24) / 8 rounded up tbl8 groups
		 * below the 24-bit first level */
		uint32_t tbl8 = 1;
		for (uint32_t i = 0; i < n; i++)
			if ((i == 0 || !same_prefix(&pr[i].pf, &pr[i - 1].pf)) && pr[i].pf.len > 24)
				tbl8 += (pr[i].pf.len - 24 + 7) / 8;
		struct rte_lpm6_config cfg = { .max_rules = distinct, .number_tbl8s = tbl8 };
		l->v6 = rte_lpm6_create(name, SOCKET_ID_ANY, &cfg);
		if (l->v6 == NULL)
			rc = -(rte_errno ? rte_errno : ENOMEM);
	}

	int depth = 0;
	for (uint32_t i = 0; rc == 0 && i < n;) {
		uint32_t e = i + 1;
		while (e < n && same_prefix(&pr[e].pf, &pr[i].pf))
			e++;
		while (depth > 0 && !holds(&stack_pf[depth - 1], &pr[i].pf))
			depth--;
		int32_t at = add_entry(l, &pr[i], e - i, depth > 0 ? stack[depth - 1] : NO_ENTRY);
		if (at < 0) {
			rc = at;
			break;
		}
		stack[depth] = at;
		stack_pf[depth] = pr[i].pf;
		depth++;
		if (pr[i].pf.len == 0)
			l->root[fi] = at;
		else if (fam == 4)
			rc = rte_lpm_add(l->v4, pr[i].pf.addr.v4, pr[i].pf.len, (uint32_t)at);
		else
			rc = rte_lpm6_add(l->v6, pr[i].pf.addr.v6, pr[i].pf.len, (uint32_t)at);
		i = e;
	}
	return rc;
}

static bool pairs_equal(const struct pair *a, uint32_t na, const struct pair *b, uint32_t nb)
{
	return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(*a)) == 0);
}

bool pc_source_lpm_wanted(const struct pc_policy *p)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < p->n_identities && n < PC_SOURCE_LPM_MIN_PREFIXES; i++)
		n += p->identities[i].n_sources;
	return n >= PC_SOURCE_LPM_MIN_PREFIXES;
}

struct pc_source_lpm *pc_source_lpm_build(const struct pc_policy *p, struct pc_source_lpm *prev)
{
	struct pc_source_lpm *l = calloc(1, sizeof(*l));
	bool *so = calloc((size_t)p->n_identities + 1, sizeof(*so));
	int rc = l == NULL || so == NULL ? -ENOMEM : 0;
	if (rc == 0) {
		l->index = (struct pc_source_index){ lpm_source_only, lpm_bound, l };
		l->root[0] = l->root[1] = NO_ENTRY;
		l->refs = 1;
		for (uint32_t i = 0; i < p->n_source_only; i++)
			so[p->source_only[i].identity] = true;
	}
	for (int fi = 0; rc == 0 && fi < 2; fi++) {
		int64_t n = family_pairs(p, fi == 0 ? 4 : 6, so, &l->pairs[fi]);
		if (n < 0)
			rc = (int)n;
		else
			l->n_pairs[fi] = (uint32_t)n;
	}
	free(so);
	/* The same pairs give the same tables: share them rather than fill
	 * (and later clear) another 64 MiB first level. */
	if (rc == 0 && prev != NULL &&
	    pairs_equal(l->pairs[0], l->n_pairs[0], prev->pairs[0], prev->n_pairs[0]) &&
	    pairs_equal(l->pairs[1], l->n_pairs[1], prev->pairs[1], prev->n_pairs[1])) {
		pc_source_lpm_free(l);
		prev->refs++;
		return prev;
	}
	if (rc == 0)
		rc = build_family(l, l->pairs[0], l->n_pairs[0], 4);
	if (rc == 0)
		rc = build_family(l, l->pairs[1], l->n_pairs[1], 6);
	if (rc != 0) {
		pc_source_lpm_free(l);
		errno = -rc;
		rte_errno = -rc;
		return NULL;
	}
	return l;
}

struct pc_source_lpm *pc_source_lpm_for_policy(const struct pc_policy *p,
					       struct pc_source_lpm *prev)
{
	if (p == NULL || !pc_source_lpm_wanted(p))
		return NULL;
	struct pc_source_lpm *l = pc_source_lpm_build(p, prev);
	if (l == NULL)
		fprintf(stderr, "portcullis-dataplane: source prefix LPM: %s; walking the "
			"policy's lists instead\n", strerror(errno));
	return l;
}

void pc_source_lpm_free(struct pc_source_lpm *l)
{
	if (l == NULL)
		return;
	if (l->refs > 1) {
		l->refs--;
		return;
	}
	rte_lpm_free(l->v4);
	rte_lpm6_free(l->v6);
	free(l->pairs[0]);
	free(l->pairs[1]);
	free(l->entries);
	free(l->lists);
	free(l);
}
