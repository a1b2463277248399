/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Verification of JWTs in JWS compact serialization (RFC 7515 §7.1,
 * RFC 7519 §7.2) for non-human callers, against one or more configured
 * issuers. A token is accepted only when, in this order:
 *   1. it is at most max_token_len bytes, three base64url segments (strict:
 *      no padding, nothing outside the alphabet);
 *   2. the header is a JSON object without duplicate names, its "alg" is
 *      one the issuer allows ("none" never is), a key of the issuer's set
 *      fits it (by "kid" when present) and has the right type for the
 *      algorithm family, and it has no "crit" (we understand no extension);
 *   3. the signature verifies with that key;
 *   4. only then is the claim set read: a JSON object without duplicate
 *      names whose iss, aud, exp, nbf, iat satisfy the issuer's rules.
 * Header parameters that carry or point at keys ("jwk", "jku", "x5u", "x5c")
 * are ignored: keys come from the configured set only.
 *
 * Decoding happens in a per-thread scratch area; a successful verify
 * allocates nothing itself (OpenSSL allocates its per-operation contexts).
 * The claims it returns are views into that scratch area (or, for a cache
 * hit, into the cache entry) and stay valid until the next verify with the
 * same scratch (or the next insert into the cache).
 */
#ifndef PC_JWT_H
#define PC_JWT_H

#include "util/pc_types.h"

struct pc_jwks;

/* X(name, "text"): every outcome of a verification. The texts are stable:
 * they appear in decision logs and metrics. */
#define PC_JWT_REASONS(X)                                               \
	X(OK, "ok")                                                     \
	X(TOO_LARGE, "jwt_too_large")                                   \
	X(MALFORMED, "jwt_malformed")                                   \
	X(ALG_NOT_ALLOWED, "jwt_alg_not_allowed")                       \
	X(UNKNOWN_KID, "jwt_unknown_kid")                               \
	X(KID_REQUIRED, "jwt_kid_required")                             \
	X(CRIT_UNSUPPORTED, "jwt_crit_unsupported")                     \
	X(BAD_SIGNATURE, "jwt_bad_signature")                           \
	X(BAD_ISSUER, "jwt_bad_issuer")                                 \
	X(BAD_AUDIENCE, "jwt_bad_audience")                             \
	X(MISSING_EXP, "jwt_missing_exp")                               \
	X(EXPIRED, "jwt_expired")                                       \
	X(NOT_YET_VALID, "jwt_not_yet_valid")                           \
	X(LIFETIME_TOO_LONG, "jwt_lifetime_too_long")                   \
	X(INTERNAL, "jwt_internal_error")

enum pc_jwt_reason {
#define PC_X(name, text) PC_JWT_##name,
	PC_JWT_REASONS(PC_X)
#undef PC_X
	PC_JWT_REASON_COUNT
};

/* X(name, "alg"): the JWS algorithms we verify (RFC 7518 §3.1, RFC 8037 §3.1
 * for EdDSA with Ed25519). */
#define PC_JWT_ALGS(X)                                                  \
	X(HS256, "HS256")                                               \
	X(HS384, "HS384")                                               \
	X(HS512, "HS512")                                               \
	X(RS256, "RS256")                                               \
	X(RS384, "RS384")                                               \
	X(RS512, "RS512")                                               \
	X(PS256, "PS256")                                               \
	X(PS384, "PS384")                                               \
	X(PS512, "PS512")                                               \
	X(ES256, "ES256")                                               \
	X(ES384, "ES384")                                               \
	X(EDDSA, "EdDSA")

enum pc_jwt_alg {
#define PC_X(name, text) PC_JWT_ALG_##name,
	PC_JWT_ALGS(PC_X)
#undef PC_X
	PC_JWT_ALG_COUNT
};

#define PC_JWT_ALG_BIT(a) (UINT32_C(1) << (a))

/* Hard bounds, compile-time because they size the scratch area. */
#define PC_JWT_MAX_TOKEN_LEN 16384   /* largest max_token_len an issuer may set */
#define PC_JWT_DEFAULT_TOKEN_LEN 8192
#define PC_JWT_MAX_HEADER_PARAMS 32  /* top-level header members */
#define PC_JWT_MAX_CLAIMS 64         /* top-level claim set members */
#define PC_JWT_MAX_ISSUERS 256

/* What a token must satisfy to be accepted as coming from one issuer. Built
 * on the control path; read-only once verification starts, and it (with the
 * strings and key set it points to) must outlive every verify and every
 * cache entry made with it. */
struct pc_jwt_issuer {
	struct pc_str issuer;             /* exact "iss" value (RFC 7519 §4.1.1) */
	const struct pc_str *audiences;   /* the token's "aud" must hold one */
	unsigned n_audiences;             /* 0: a token with "aud" is rejected */
	uint32_t algs;                    /* PC_JWT_ALG_BIT() set */
	const struct pc_jwks *keys;
	uint32_t leeway_s;                /* clock skew allowed on exp/nbf/iat */
	uint32_t max_lifetime_s;          /* cap on exp - (iat|nbf|now); 0 = none */
	uint32_t max_token_len;           /* bytes; <= PC_JWT_MAX_TOKEN_LEN */
	bool require_exp;
};

/* The verified token. Views point into the scratch area or cache entry that
 * produced them (see the top comment). */
struct pc_jwt_claims {
	struct pc_str sub;       /* unescaped; p == NULL when absent */
	struct pc_str iss;       /* the issuer's configured name */
	struct pc_str payload;   /* decoded claim set JSON, for pc_jwt_claim_has() */
	int64_t exp;             /* seconds; INT64_MAX when absent */
	int64_t nbf;             /* INT64_MIN when absent */
	int64_t iat;             /* INT64_MIN when absent */
	uint16_t issuer_index;   /* position in the issuer list */
	uint8_t alg;             /* enum pc_jwt_alg */
	uint8_t verified;        /* 1 only after PC_JWT_OK or a cache hit */
};

/* Per-thread working memory for verification (about 40 KiB and two OpenSSL
 * contexts). */
struct pc_jwt_scratch;

/* Fill *is with the defaults: leeway 30 s, max lifetime 3600 s, exp
 * required, 8 KiB token bound, no algorithm, no audience. Control path. */
void pc_jwt_issuer_init(struct pc_jwt_issuer *is);

/* A new scratch area, or NULL with errno set. One per thread; control path. */
struct pc_jwt_scratch *pc_jwt_scratch_new(void);
/* Free it (NULL is fine), wiping decoded token bytes. Control path. */
void pc_jwt_scratch_free(struct pc_jwt_scratch *s);

/* Verify token[0..len) for issuer is at time now_s (seconds since the
 * epoch). Returns PC_JWT_OK with *out filled (out->issuer_index = 0), or
 * the reason it is rejected, in which case out->verified is 0. The thread
 * that owns s; fast path. */
enum pc_jwt_reason pc_jwt_verify(const struct pc_jwt_issuer *is, const char *token, size_t len,
				 int64_t now_s, struct pc_jwt_scratch *s,
				 struct pc_jwt_claims *out);

/* Verify against the issuer among issuers[0..n) whose name equals the
 * token's "iss" (read before the signature is checked, but only to choose
 * the keys: nothing in the claim set is trusted until it verifies). No
 * matching issuer is PC_JWT_BAD_ISSUER; a claim set that does not parse is
 * PC_JWT_MALFORMED, even when the signature is also bad. Sets
 * out->issuer_index. The thread that owns s; fast path. */
enum pc_jwt_reason pc_jwt_verify_any(const struct pc_jwt_issuer *const *issuers, unsigned n,
				     const char *token, size_t len, int64_t now_s,
				     struct pc_jwt_scratch *s, struct pc_jwt_claims *out);

/* Check sig, the JWS signature of input (a signing input: the header and
 * payload segments as sent, with their dot), with key number key of ks (in
 * the set's order) for alg: exactly the check pc_jwt_verify() makes once a
 * token has passed its other checks (ECDSA signatures as JWS has them, R
 * then S). Returns PC_JWT_OK, PC_JWT_BAD_SIGNATURE, PC_JWT_ALG_NOT_ALLOWED
 * (no such key, or it does not fit alg), or PC_JWT_INTERNAL. The thread that
 * owns s; fast path. Benchmarks time the signature check alone with it. */
enum pc_jwt_reason pc_jwt_verify_signature(struct pc_jwt_scratch *s, const struct pc_jwks *ks,
					   unsigned key, int alg, const char *input,
					   size_t input_len, const uint8_t *sig, size_t sig_len);

/* True when claim name of a verified token matches value:
 *  - a string claim equals value (after unescaping), or, for "scope" and
 *    "scp", one of its space-separated words does (RFC 8693 §4.2);
 *  - an array claim holds a string element equal to value;
 *  - a number or boolean claim is written exactly as value ("42", "true").
 * Scans the claim set again (a few hundred cycles). Any thread, fast path. */
bool pc_jwt_claim_has(const struct pc_jwt_claims *c, struct pc_str name, struct pc_str value);

/* Algorithm name ("RS256", case-sensitive) to enum pc_jwt_alg, -1 when
 * unknown or "none". Any thread. */
int pc_jwt_alg_from_name(const char *name, size_t len);
/* Stable names for logs and metrics. Any thread, fast path. */
const char *pc_jwt_alg_name(enum pc_jwt_alg a);
const char *pc_jwt_reason_name(enum pc_jwt_reason r);

/* A struct pc_str for a string literal. */
#define PC_JWT_STR(lit) ((struct pc_str){ (lit), (uint32_t)(sizeof(lit) - 1) })

#endif
