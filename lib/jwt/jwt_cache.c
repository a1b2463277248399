/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Verified-token cache; the design is in jwt_cache.h. Entries live in one
 * array of fixed-size slots (header, then token bytes, then the claim set
 * copy, then an unescaped "sub" when it is not a plain slice of the claim
 * set), sets' tags in a separate cache-line-aligned array, so that scanning a
 * set reads one line and only a probable hit touches an entry. Replacement
 * takes a free way first, else the way whose token expires soonest: it
 * would be the next to go anyway, and the choice needs no extra state.
 */
#include "jwt/jwt_cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define EMPTY INT64_MIN   /* tag exp of a free way: no verified token has it */
#define NO_SUB UINT32_MAX

struct tag {
	uint64_t hash;
	int64_t exp; /* seconds; EMPTY when the way is free */
};

struct set {
	struct tag way[PC_JWT_CACHE_WAYS];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct set) == 64, "a set's tags fill one cache line");

struct entry {
	uint32_t token_len;
	uint32_t payload_len;
	uint32_t sub_off; /* into data; NO_SUB when the token had no "sub" */
	uint32_t sub_len;
	int64_t nbf;
	int64_t iat;
	struct pc_str iss;
	uint16_t issuer_index;
	uint8_t alg;
	uint8_t has_extra; /* inserted with caller bytes */
	uint8_t extra[PC_JWT_CACHE_EXTRA]; /* the caller's */
	char data[]; /* token, claim set, maybe sub */
};

struct pc_jwt_cache {
	struct set *sets;
	uint8_t *slots;
	size_t slot_size;  /* bytes per entry, header included */
	size_t data_size;  /* bytes of entry data */
	uint32_t set_mask;
	uint32_t max_token_len;
	uint64_t seed[3];
	/* the last miss: its hash is reused by an insert of the same token */
	const char *miss_token;
	size_t miss_len;
	uint64_t miss_hash;
	struct pc_jwt_cache_stats stats;
};

static inline struct entry *entry_at(const struct pc_jwt_cache *c, size_t set, unsigned way)
{
	return (struct entry *)(void *)(c->slots + (set * PC_JWT_CACHE_WAYS + way) * c->slot_size);
}

/* ---- hash ---- */

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

static inline uint64_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

/* Folded multiply: the 128-bit product's halves XORed. Every input bit
 * reaches most output bits in one multiply. */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;
	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static uint64_t token_hash(const struct pc_jwt_cache *c, const void *data, size_t len)
{
	const uint8_t *p = data;
	size_t n = len;
	uint64_t a = c->seed[0], b = c->seed[1];

	/* two independent lanes hide the multiply latency */
	while (n >= 32) {
		a = fold_mul(rd64(p) ^ c->seed[1], rd64(p + 8) ^ a);
		b = fold_mul(rd64(p + 16) ^ c->seed[2], rd64(p + 24) ^ b);
		p += 32;
		n -= 32;
	}
	if (n >= 16) {
		a = fold_mul(rd64(p) ^ c->seed[1], rd64(p + 8) ^ a);
		p += 16;
		n -= 16;
	}
	uint64_t x = 0, y = 0;
	if (n >= 8) {
		x = rd64(p);
		y = rd64(p + n - 8);
	} else if (n >= 4) {
		x = rd32(p);
		y = rd32(p + n - 4);
	} else if (n > 0) {
		x = (uint64_t)p[0] << 16 | (uint64_t)p[n >> 1] << 8 | p[n - 1];
	}
	b = fold_mul(x ^ c->seed[2], y ^ b ^ len);
	return fold_mul(a ^ c->seed[0], b ^ c->seed[1] ^ len);
}

/* ---- life cycle ---- */

struct pc_jwt_cache *pc_jwt_cache_new(unsigned n_entries, unsigned max_token_len)
{
	struct pc_jwt_cache *c;

	if (max_token_len == 0)
		max_token_len = PC_JWT_CACHE_DEFAULT_TOKEN_LEN;
	if (n_entries < PC_JWT_CACHE_WAYS || (n_entries & (n_entries - 1)) ||
	    n_entries > (1u << 24) || max_token_len > PC_JWT_MAX_TOKEN_LEN) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		goto nomem;
	size_t n_sets = n_entries / PC_JWT_CACHE_WAYS;
	/* the claim set decodes from at most 3/4 of the token and an escaped
	 * sub is shorter than the claim set: twice the token always fits
	 * the token, and nearly always the rest (insert checks) */
	c->data_size = 2 * (size_t)max_token_len;
	c->slot_size = (sizeof(struct entry) + c->data_size + 63) & ~(size_t)63;
	c->max_token_len = max_token_len;
	c->set_mask = (uint32_t)(n_sets - 1);
	c->sets = aligned_alloc(64, n_sets * sizeof(struct set));
	c->slots = aligned_alloc(64, n_entries * c->slot_size);
	if (!c->sets || !c->slots)
		goto nomem;
	/* Touch every slot now, on the control path: otherwise each of the
	 * first inserts into a fresh slot takes a page fault on the worker
	 * (a slot of a 2 KiB-token cache is a page). */
	memset(c->slots, 0, n_entries * c->slot_size);
	if (getrandom(c->seed, sizeof(c->seed), 0) != (ssize_t)sizeof(c->seed)) {
		/* still distinct per cache and run; the full compare keeps
		 * results correct whatever the seed */
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		c->seed[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^ (uintptr_t)c;
		c->seed[1] = (uint64_t)ts.tv_sec * 0xc2b2ae3d27d4eb4fu ^ (uintptr_t)c->sets;
		c->seed[2] = c->seed[0] ^ c->seed[1] ^ 0x165667b19e3779f9u;
	}
	/* an all-zero multiplier would drop a lane's state */
	for (int i = 0; i < 3; i++)
		c->seed[i] |= 1;
	pc_jwt_cache_flush(c);
	return c;
nomem:
	pc_jwt_cache_free(c);
	errno = ENOMEM;
	return NULL;
}

void pc_jwt_cache_free(struct pc_jwt_cache *c)
{
	if (!c)
		return;
	free(c->sets);
	free(c->slots);
	free(c);
}

void pc_jwt_cache_flush(struct pc_jwt_cache *c)
{
	c->miss_token = NULL;
	for (size_t s = 0; s <= c->set_mask; s++)
		for (unsigned w = 0; w < PC_JWT_CACHE_WAYS; w++)
			c->sets[s].way[w] = (struct tag){ 0, EMPTY };
}

void pc_jwt_cache_stats(const struct pc_jwt_cache *c, struct pc_jwt_cache_stats *out)
{
	*out = c->stats;
}

/* ---- fast path ---- */

static inline bool same_token(const struct entry *e, const char *token, size_t len)
{
	return e->token_len == len && memcmp(e->data, token, len) == 0;
}

bool pc_jwt_cache_lookup(struct pc_jwt_cache *c, const char *token, size_t len, int64_t now_s,
			 struct pc_jwt_claims *out)
{
	return pc_jwt_cache_lookup_x(c, token, len, now_s, out, NULL);
}

bool pc_jwt_cache_lookup_x(struct pc_jwt_cache *c, const char *token, size_t len, int64_t now_s,
			   struct pc_jwt_claims *out, uint8_t *extra)
{
	if (unlikely(len == 0 || len > c->max_token_len)) {
		c->stats.misses++;
		return false;
	}
	uint64_t h = token_hash(c, token, len);
	size_t si = h & c->set_mask;
	struct set *set = &c->sets[si];

	for (unsigned w = 0; w < PC_JWT_CACHE_WAYS; w++) {
		struct tag *t = &set->way[w];
		if (t->hash != h || t->exp == EMPTY)
			continue;
		const struct entry *e = entry_at(c, si, w);
		if (!same_token(e, token, len))
			continue;
		/* a caller that wants its bytes never takes an entry made
		 * without them: that is a miss, and its insert replaces it */
		if (extra != NULL && !e->has_extra)
			break;
		if (now_s >= t->exp) {
			/* RFC 7519 §4.1.4: on or after exp the token is dead;
			 * no leeway for a cached answer */
			t->exp = EMPTY;
			c->stats.expired++;
			break;
		}
		out->payload.p = e->data + e->token_len;
		out->payload.len = e->payload_len;
		if (e->sub_off == NO_SUB) {
			out->sub.p = NULL;
			out->sub.len = 0;
		} else {
			out->sub.p = e->data + e->sub_off;
			out->sub.len = e->sub_len;
		}
		out->iss = e->iss;
		out->exp = t->exp;
		out->nbf = e->nbf;
		out->iat = e->iat;
		out->issuer_index = e->issuer_index;
		out->alg = e->alg;
		out->verified = 1;
		if (extra != NULL)
			memcpy(extra, e->extra, PC_JWT_CACHE_EXTRA);
		c->stats.hits++;
		return true;
	}
	c->miss_token = token;
	c->miss_len = len;
	c->miss_hash = h;
	c->stats.misses++;
	/* A miss is usually followed, a verification later, by an insert
	 * into this set: start fetching the way it will most likely take
	 * (a free one, else the earliest exp, as the insert chooses), so
	 * the copy of the token and claims finds its lines in the cache. */
	unsigned victim = 0;
	for (unsigned w = 1; w < PC_JWT_CACHE_WAYS; w++)
		if (set->way[w].exp < set->way[victim].exp)
			victim = w;
	const char *e = (const char *)entry_at(c, si, victim);
	size_t span = sizeof(struct entry) + len + len / 4 * 3 + 3; /* token, claim set */
	for (size_t off = 0; off < span && off < c->slot_size; off += 64)
		__builtin_prefetch(e + off, 1, 3);
	return false;
}

int pc_jwt_cache_insert(struct pc_jwt_cache *c, const char *token, size_t len,
			const struct pc_jwt_claims *cl)
{
	return pc_jwt_cache_insert_x(c, token, len, cl, NULL);
}

int pc_jwt_cache_insert_x(struct pc_jwt_cache *c, const char *token, size_t len,
			  const struct pc_jwt_claims *cl, const uint8_t *extra)
{
	if (unlikely(!cl->verified))
		return -EINVAL;

	uintptr_t pay = (uintptr_t)cl->payload.p, sub = (uintptr_t)cl->sub.p;
	bool sub_in_payload = cl->sub.p && sub >= pay && sub + cl->sub.len <= pay + cl->payload.len;
	size_t need = len + cl->payload.len + (cl->sub.p && !sub_in_payload ? cl->sub.len : 0);

	if (unlikely(len == 0 || len > c->max_token_len || need > c->data_size ||
		     cl->exp == INT64_MAX || cl->exp == EMPTY)) {
		c->stats.not_cached++;
		return -E2BIG;
	}

	/* the same token as the miss just before: its hash is known. Were
	 * the caller to change the bytes in between, the entry would only be
	 * filed under a hash its bytes do not have and never be found (a hit
	 * needs the hash and the whole token to match), never be returned for
	 * other bytes. */
	uint64_t h = token == c->miss_token && len == c->miss_len ? c->miss_hash
								    : token_hash(c, token, len);
	c->miss_token = NULL;
	size_t si = h & c->set_mask;
	struct set *set = &c->sets[si];
	unsigned victim = PC_JWT_CACHE_WAYS;

	for (unsigned w = 0; w < PC_JWT_CACHE_WAYS; w++) {
		const struct tag *t = &set->way[w];
		if (t->exp != EMPTY && t->hash == h && same_token(entry_at(c, si, w), token, len)) {
			victim = w; /* refresh the same token in place */
			break;
		}
		if (t->exp == EMPTY && (victim == PC_JWT_CACHE_WAYS || set->way[victim].exp != EMPTY))
			victim = w;
	}
	if (victim == PC_JWT_CACHE_WAYS) {
		victim = 0;
		for (unsigned w = 1; w < PC_JWT_CACHE_WAYS; w++)
			if (set->way[w].exp < set->way[victim].exp)
				victim = w;
		c->stats.evictions++;
	}

	struct entry *e = entry_at(c, si, victim);
	e->token_len = (uint32_t)len;
	e->payload_len = cl->payload.len;
	memcpy(e->data, token, len);
	memcpy(e->data + len, cl->payload.p, cl->payload.len);
	if (!cl->sub.p) {
		e->sub_off = NO_SUB;
		e->sub_len = 0;
	} else if (sub_in_payload) {
		e->sub_off = (uint32_t)(len + (sub - pay));
		e->sub_len = cl->sub.len;
	} else {
		e->sub_off = (uint32_t)(len + cl->payload.len);
		e->sub_len = cl->sub.len;
		memcpy(e->data + e->sub_off, cl->sub.p, cl->sub.len);
	}
	e->nbf = cl->nbf;
	e->iat = cl->iat;
	e->iss = cl->iss;
	e->issuer_index = cl->issuer_index;
	e->alg = cl->alg;
	e->has_extra = extra != NULL;
	if (extra != NULL)
		memcpy(e->extra, extra, PC_JWT_CACHE_EXTRA);
	else
		memset(e->extra, 0, PC_JWT_CACHE_EXTRA);
	set->way[victim] = (struct tag){ h, cl->exp };
	c->stats.inserts++;
	return 0;
}

enum pc_jwt_reason pc_jwt_cache_verify(struct pc_jwt_cache *c,
				       const struct pc_jwt_issuer *const *issuers, unsigned n,
				       const char *token, size_t len, int64_t now_s,
				       struct pc_jwt_scratch *s, struct pc_jwt_claims *out)
{
	if (pc_jwt_cache_lookup(c, token, len, now_s, out) && out->issuer_index < n)
		return PC_JWT_OK;
	enum pc_jwt_reason r = pc_jwt_verify_any(issuers, n, token, len, now_s, s, out);
	if (r == PC_JWT_OK)
		(void)pc_jwt_cache_insert(c, token, len, out);
	return r;
}
