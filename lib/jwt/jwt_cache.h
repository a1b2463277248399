/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Per-worker cache of verified JWTs. A caller presents the same bearer token
 * on every request for its lifetime, and a signature check costs tens of
 * microseconds (RSA) where a cache hit costs well under a microsecond.
 *
 * Layout: 4-way set-associative. Each set's four tags (64-bit token hash and
 * expiry) share one cache line, so a miss touches one line; a tag match is
 * confirmed by comparing the whole token against the copy in the entry, so a
 * hash collision can cost time but never return another token's claims. The
 * hash is a seeded folded-multiply hash (the construction of wyhash and
 * rapidhash, written here to avoid a dependency): 32 bytes per step in two
 * independent lanes, about 0.2 cycle per byte, and the per-cache random seed
 * keeps callers from aiming tokens at one set.
 *
 * An entry keeps what a decision needs later: the verified claims (sub,
 * issuer index, exp, nbf, iat, alg) and a copy of the decoded claim set, so
 * pc_jwt_claim_has() works on a hit as on a fresh verify. Only successful
 * verifications are inserted, and an entry dies at the token's exp: a lookup
 * at now >= exp misses and frees the way. Tokens longer than the cache's
 * token bound, or without exp, are not cached.
 *
 * One cache belongs to one worker thread (no locks, no atomics) and to one
 * issuer list: flush it whenever the issuers or their key sets change, since
 * entries were verified against the old ones.
 */
#ifndef PC_JWT_CACHE_H
#define PC_JWT_CACHE_H

#include "jwt/jwt.h"

#define PC_JWT_CACHE_WAYS 4
/* Bytes of the caller's own kept with each entry (pc_jwt_cache_insert_x):
 * what the caller derives from a verified token once and would otherwise
 * derive again on every hit (the engine keeps the credential fingerprint
 * and the identity the token names). */
#define PC_JWT_CACHE_EXTRA 16
#define PC_JWT_CACHE_DEFAULT_TOKEN_LEN 1024

struct pc_jwt_cache;

struct pc_jwt_cache_stats {
	uint64_t hits;
	uint64_t misses;
	uint64_t inserts;
	uint64_t expired;    /* entries dropped at their exp */
	uint64_t evictions;  /* live entries replaced by a newer token */
	uint64_t not_cached; /* verified tokens too large (or without exp) to keep */
};

/* A cache of n_entries (a power of two, at least PC_JWT_CACHE_WAYS) tokens of
 * at most max_token_len bytes each (0: PC_JWT_CACHE_DEFAULT_TOKEN_LEN; at most
 * PC_JWT_MAX_TOKEN_LEN). Memory is about n_entries * 2 * max_token_len.
 * Returns NULL with errno EINVAL or ENOMEM. Control path. */
struct pc_jwt_cache *pc_jwt_cache_new(unsigned n_entries, unsigned max_token_len);
/* Free a cache (NULL is fine). Control path. */
void pc_jwt_cache_free(struct pc_jwt_cache *c);

/* Drop every entry (issuer list or key set changed). The owning thread. */
void pc_jwt_cache_flush(struct pc_jwt_cache *c);

/* Look token[0..len) up at time now_s. On a hit returns true with *out
 * filled; its views point into the entry and stay valid until the next
 * insert or flush on this cache. An entry whose exp is <= now_s is removed
 * and reported as a miss. The owning thread; fast path. */
bool pc_jwt_cache_lookup(struct pc_jwt_cache *c, const char *token, size_t len, int64_t now_s,
			 struct pc_jwt_claims *out);

/* pc_jwt_cache_lookup(), and on a hit the entry's caller bytes copied to
 * extra (PC_JWT_CACHE_EXTRA bytes, what pc_jwt_cache_insert_x() gave; an
 * entry inserted without them is a miss here). A miss remembers the token's hash for an insert of the
 * same token (same pointer and length) right after it, so a miss followed
 * by a verify and an insert hashes the token once. The owning thread; fast
 * path. */
bool pc_jwt_cache_lookup_x(struct pc_jwt_cache *c, const char *token, size_t len, int64_t now_s,
			   struct pc_jwt_claims *out, uint8_t *extra);

/* pc_jwt_cache_insert() keeping extra[0..PC_JWT_CACHE_EXTRA) (NULL: zeros)
 * with the entry. Same results. The owning thread; fast path. */
int pc_jwt_cache_insert_x(struct pc_jwt_cache *c, const char *token, size_t len,
			  const struct pc_jwt_claims *claims, const uint8_t *extra);

/* Remember token[0..len) with the claims a verify just returned for it.
 * Returns 0, -EINVAL when claims are not from a successful verify
 * (claims->verified is 0: failures are never cached), or -E2BIG when the
 * token does not fit an entry or has no exp (not cached; not an error for
 * the caller). The owning thread; fast path. */
int pc_jwt_cache_insert(struct pc_jwt_cache *c, const char *token, size_t len,
			const struct pc_jwt_claims *claims);

/* Lookup, and on a miss pc_jwt_verify_any() followed, on success, by an
 * insert. Same result and claims as pc_jwt_verify_any(). The owning thread;
 * fast path. */
enum pc_jwt_reason pc_jwt_cache_verify(struct pc_jwt_cache *c,
				       const struct pc_jwt_issuer *const *issuers, unsigned n,
				       const char *token, size_t len, int64_t now_s,
				       struct pc_jwt_scratch *s, struct pc_jwt_claims *out);

/* Counters since creation. The owning thread (or a reader tolerating torn
 * values). */
void pc_jwt_cache_stats(const struct pc_jwt_cache *c, struct pc_jwt_cache_stats *out);

#endif
