/* SPDX-License-Identifier: BSD-3-Clause
 *
 * jwt_cache: hits return the claims of the token verified, a token one byte
 * away misses, entries die at exp, a full set evicts the entry that expires
 * soonest, failures are never inserted, and oversize tokens are not kept.
 * Tokens are HS256, minted here with OpenSSL's HMAC.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/hmac.h>

#include "jwt/b64url.h"
#include "jwt/jwks.h"
#include "jwt/jwt.h"
#include "jwt/jwt_cache.h"
#include "pc_test.h"

/* GCC 12's -fsanitize=nonnull-attribute (in the developer build's
 * -fsanitize=undefined) tests sprintf's destination for NULL, then warns
 * about the NULL path its own check created ("null destination pointer").
 * Allocations here abort on failure; the warning is noise. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-overflow"
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* Allocation for test fixtures: a failure ends the run. */
static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

#define NOW INT64_C(1700000000)
#define ISS "https://issuer.example"

static const uint8_t key[32] = "0123456789abcdef0123456789abcdef";
static const char jwks_json[] =
	"{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k\","
	"\"k\":\"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY\"}]}";

static struct pc_jwks *jwks;
static struct pc_jwt_scratch *scratch;
static struct pc_jwt_issuer other, issuer;
static const struct pc_jwt_issuer *issuers[2];
static const struct pc_str aud = PC_JWT_STR("portcullis");

static void setup(void)
{
	if (jwks)
		return;
	char err[256];
	jwks = pc_jwks_load(jwks_json, strlen(jwks_json), err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(jwks);
	scratch = pc_jwt_scratch_new();
	CU_ASSERT_PTR_NOT_NULL_FATAL(scratch);
	pc_jwt_issuer_init(&issuer);
	issuer.issuer = PC_JWT_STR(ISS);
	issuer.audiences = &aud;
	issuer.n_audiences = 1;
	issuer.algs = PC_JWT_ALG_BIT(PC_JWT_ALG_HS256);
	issuer.keys = jwks;
	other = issuer;
	other.issuer = PC_JWT_STR("https://other.example");
	issuers[0] = &other;
	issuers[1] = &issuer;
}

/* An HS256 token for sub, expiring at exp, with pad extra bytes of claim. */
static char *mint(const char *sub, int64_t exp, size_t pad)
{
	char *payload = xmalloc(512 + pad);
	int n = sprintf(payload, "{\"iss\":\"" ISS "\",\"aud\":\"portcullis\",\"sub\":\"%s\","
			"\"iat\":%lld,\"exp\":%lld,\"scope\":\"read write\",\"pad\":\"",
			sub, (long long)(NOW - 5), (long long)exp);
	memset(payload + n, 'p', pad);
	strcpy(payload + n + pad, "\"}");
	const char *header = "{\"alg\":\"HS256\",\"kid\":\"k\"}";
	size_t hl = pc_b64url_encoded_len(strlen(header));
	size_t pl = pc_b64url_encoded_len(strlen(payload));
	char *tok = xmalloc(hl + pl + 64);
	pc_b64url_encode((const uint8_t *)header, strlen(header), tok, hl);
	tok[hl] = '.';
	pc_b64url_encode((const uint8_t *)payload, strlen(payload), tok + hl + 1, pl);
	size_t in = hl + 1 + pl;
	unsigned char mac[32];
	unsigned int ml;
	HMAC(EVP_sha256(), key, sizeof(key), (const unsigned char *)tok, in, mac, &ml);
	tok[in] = '.';
	size_t sl = pc_b64url_encode(mac, ml, tok + in + 1, 64);
	tok[in + 1 + sl] = '\0';
	free(payload);
	return tok;
}

static enum pc_jwt_reason cverify(struct pc_jwt_cache *c, const char *tok, int64_t now,
				  struct pc_jwt_claims *out)
{
	return pc_jwt_cache_verify(c, issuers, 2, tok, strlen(tok), now, scratch, out);
}

static void test_hit_and_miss(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(64, 0);
	struct pc_jwt_cache_stats st;
	struct pc_jwt_claims a, b;
	char *tok = mint("svc-a", NOW + 600, 100);

	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW, &a));
	CU_ASSERT_EQUAL(cverify(c, tok, NOW, &a), PC_JWT_OK);
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.misses, 2);
	CU_ASSERT_EQUAL(st.inserts, 1);
	CU_ASSERT_EQUAL(st.hits, 0);

	CU_ASSERT(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW + 1, &b));
	CU_ASSERT(b.verified);
	CU_ASSERT(pc_str_eq(b.sub, "svc-a", 5));
	CU_ASSERT(pc_str_eq(b.iss, ISS, strlen(ISS)));
	CU_ASSERT_EQUAL(b.exp, NOW + 600);
	CU_ASSERT_EQUAL(b.iat, NOW - 5);
	CU_ASSERT_EQUAL(b.nbf, INT64_MIN);
	CU_ASSERT_EQUAL(b.issuer_index, 1);
	CU_ASSERT_EQUAL(b.alg, PC_JWT_ALG_HS256);
	CU_ASSERT_EQUAL(b.payload.len, a.payload.len);
	CU_ASSERT(memcmp(b.payload.p, a.payload.p, a.payload.len) == 0);
	/* the views are the entry's, not the scratch's */
	CU_ASSERT(b.payload.p != a.payload.p);
	CU_ASSERT(pc_jwt_claim_has(&b, PC_JWT_STR("scope"), PC_JWT_STR("write")));
	CU_ASSERT_FALSE(pc_jwt_claim_has(&b, PC_JWT_STR("scope"), PC_JWT_STR("admin")));

	/* through the combined call */
	CU_ASSERT_EQUAL(cverify(c, tok, NOW + 2, &b), PC_JWT_OK);
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.hits, 2);
	CU_ASSERT_EQUAL(st.inserts, 1);

	/* a different token misses */
	char *tok2 = mint("svc-b", NOW + 600, 100);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok2, strlen(tok2), NOW, &b));
	/* a prefix of a cached token misses */
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok) - 1, NOW, &b));
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, 0, NOW, &b));

	/* flush forgets everything */
	pc_jwt_cache_flush(c);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW, &b));
	free(tok);
	free(tok2);
	pc_jwt_cache_free(c);
}

static void test_one_byte_differs(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(64, 0);
	struct pc_jwt_claims cl;
	char *tok = mint("svc-a", NOW + 600, 300);
	size_t len = strlen(tok);
	CU_ASSERT(len > 500 && len < 1024);

	CU_ASSERT_EQUAL(cverify(c, tok, NOW, &cl), PC_JWT_OK);
	char *t = xmalloc(len + 1);
	unsigned hits = 0, accepted = 0;
	for (size_t i = 0; i < len; i++) {
		memcpy(t, tok, len + 1);
		t[i] = t[i] == 'A' ? 'B' : 'A';
		hits += pc_jwt_cache_lookup(c, t, len, NOW, &cl);
		/* and verifying it through the cache fails and inserts nothing */
		accepted += cverify(c, t, NOW, &cl) == PC_JWT_OK;
	}
	CU_ASSERT_EQUAL(hits, 0);
	CU_ASSERT_EQUAL(accepted, 0);
	struct pc_jwt_cache_stats st;
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.inserts, 1);
	CU_ASSERT(pc_jwt_cache_lookup(c, tok, len, NOW, &cl));
	free(t);
	free(tok);
	pc_jwt_cache_free(c);
}

static void test_expiry_at_exp(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(16, 0);
	struct pc_jwt_claims cl;
	struct pc_jwt_cache_stats st;
	const int64_t exp = NOW + 100;
	char *tok = mint("svc-a", exp, 10);

	CU_ASSERT_EQUAL(cverify(c, tok, NOW, &cl), PC_JWT_OK);
	CU_ASSERT(pc_jwt_cache_lookup(c, tok, strlen(tok), exp - 1, &cl));
	/* at exp: a miss, and the entry is gone */
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), exp, &cl));
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.expired, 1);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), exp - 1, &cl));
	/* the verifier's leeway still accepts it just after exp; the cache
	 * then stores it again, but a lookup at or after exp never hits */
	CU_ASSERT_EQUAL(cverify(c, tok, exp + 10, &cl), PC_JWT_OK);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), exp + 10, &cl));
	/* past the leeway: refused, and not inserted */
	CU_ASSERT_EQUAL(cverify(c, tok, exp + 30, &cl), PC_JWT_EXPIRED);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), exp - 1, &cl));
	free(tok);
	pc_jwt_cache_free(c);
}

static void test_eviction_when_full(void)
{
	setup();
	/* four entries: one set of four ways, so every token competes */
	struct pc_jwt_cache *c = pc_jwt_cache_new(4, 0);
	struct pc_jwt_claims cl;
	struct pc_jwt_cache_stats st;
	char *tok[6];
	char sub[16];
	const int64_t exps[6] = { NOW + 500, NOW + 200, NOW + 400, NOW + 300, NOW + 600, NOW + 700 };

	for (int i = 0; i < 6; i++) {
		snprintf(sub, sizeof(sub), "svc-%d", i);
		tok[i] = mint(sub, exps[i], 20);
	}
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(cverify(c, tok[i], NOW, &cl), PC_JWT_OK);
	for (int i = 0; i < 4; i++)
		CU_ASSERT(pc_jwt_cache_lookup(c, tok[i], strlen(tok[i]), NOW, &cl));
	/* a fifth evicts the one expiring soonest (tok[1], NOW + 200) */
	CU_ASSERT_EQUAL(cverify(c, tok[4], NOW, &cl), PC_JWT_OK);
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.evictions, 1);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok[1], strlen(tok[1]), NOW, &cl));
	CU_ASSERT(pc_jwt_cache_lookup(c, tok[0], strlen(tok[0]), NOW, &cl));
	CU_ASSERT(pc_jwt_cache_lookup(c, tok[2], strlen(tok[2]), NOW, &cl));
	CU_ASSERT(pc_jwt_cache_lookup(c, tok[3], strlen(tok[3]), NOW, &cl));
	CU_ASSERT(pc_jwt_cache_lookup(c, tok[4], strlen(tok[4]), NOW, &cl));
	/* a sixth evicts the next soonest (tok[3], NOW + 300) */
	CU_ASSERT_EQUAL(cverify(c, tok[5], NOW, &cl), PC_JWT_OK);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok[3], strlen(tok[3]), NOW, &cl));
	CU_ASSERT(pc_jwt_cache_lookup(c, tok[5], strlen(tok[5]), NOW, &cl));
	CU_ASSERT(pc_str_eq(cl.sub, "svc-5", 5));
	/* re-inserting a cached token refreshes it in place, evicting nothing */
	pc_jwt_cache_stats(c, &st);
	uint64_t ev = st.evictions;
	CU_ASSERT_EQUAL(pc_jwt_verify_any(issuers, 2, tok[5], strlen(tok[5]), NOW, scratch, &cl),
			PC_JWT_OK);
	CU_ASSERT_EQUAL(pc_jwt_cache_insert(c, tok[5], strlen(tok[5]), &cl), 0);
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.evictions, ev);
	CU_ASSERT(pc_jwt_cache_lookup(c, tok[0], strlen(tok[0]), NOW, &cl));
	for (int i = 0; i < 6; i++)
		free(tok[i]);
	pc_jwt_cache_free(c);
}

static void test_failures_not_inserted(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(16, 0);
	struct pc_jwt_claims cl;
	struct pc_jwt_cache_stats st;

	/* expired */
	char *tok = mint("svc-a", NOW - 100, 10);
	CU_ASSERT_EQUAL(cverify(c, tok, NOW, &cl), PC_JWT_EXPIRED);
	CU_ASSERT_FALSE(cl.verified);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW - 200, &cl));
	/* claims from a failed verify are refused by insert */
	CU_ASSERT_EQUAL(pc_jwt_cache_insert(c, tok, strlen(tok), &cl), -EINVAL);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW - 200, &cl));
	free(tok);
	/* bad signature */
	tok = mint("svc-a", NOW + 100, 10);
	tok[strlen(tok) - 3] ^= 1;
	CU_ASSERT_NOT_EQUAL(cverify(c, tok, NOW, &cl), PC_JWT_OK);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW, &cl));
	/* a zeroed claims struct is not a verification */
	struct pc_jwt_claims zero;
	memset(&zero, 0, sizeof(zero));
	zero.exp = NOW + 100;
	CU_ASSERT_EQUAL(pc_jwt_cache_insert(c, tok, strlen(tok), &zero), -EINVAL);
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.inserts, 0);
	free(tok);
	pc_jwt_cache_free(c);
}

static void test_not_cached(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(16, 256);
	struct pc_jwt_claims cl;
	struct pc_jwt_cache_stats st;

	/* longer than the cache's token bound: verified, not kept */
	char *tok = mint("svc-a", NOW + 100, 300);
	CU_ASSERT(strlen(tok) > 256);
	CU_ASSERT_EQUAL(cverify(c, tok, NOW, &cl), PC_JWT_OK);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW, &cl));
	pc_jwt_cache_stats(c, &st);
	CU_ASSERT_EQUAL(st.not_cached, 1);
	free(tok);

	/* no exp (an issuer that does not require it): nothing to expire at */
	struct pc_jwt_issuer lax = issuer;
	lax.require_exp = false;
	CU_ASSERT_EQUAL(pc_jwt_verify(&issuer, "x", 1, NOW, scratch, &cl), PC_JWT_MALFORMED);
	tok = mint("svc-a", NOW + 100, 0);
	CU_ASSERT_EQUAL(pc_jwt_verify(&lax, tok, strlen(tok), NOW, scratch, &cl), PC_JWT_OK);
	cl.exp = INT64_MAX; /* as verify reports a token without exp */
	CU_ASSERT_EQUAL(pc_jwt_cache_insert(c, tok, strlen(tok), &cl), -E2BIG);
	free(tok);

	/* bad parameters */
	CU_ASSERT_PTR_NULL(pc_jwt_cache_new(3, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_PTR_NULL(pc_jwt_cache_new(12, 0));
	CU_ASSERT_PTR_NULL(pc_jwt_cache_new(16, PC_JWT_MAX_TOKEN_LEN + 1));
	pc_jwt_cache_free(c);
}

static void test_escaped_sub_survives(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(16, 0);
	struct pc_jwt_claims cl;
	char *tok = mint("svc\\u002d\\u00e9", NOW + 100, 10);
	CU_ASSERT_EQUAL(cverify(c, tok, NOW, &cl), PC_JWT_OK);
	CU_ASSERT(pc_str_eq(cl.sub, "svc-\xc3\xa9", 6));
	/* overwrite the scratch with another verify */
	char *other_tok = mint("zzzzzzzzzzzzzzzzzzzz", NOW + 100, 10);
	CU_ASSERT_EQUAL(pc_jwt_verify(&issuer, other_tok, strlen(other_tok), NOW, scratch, &cl),
			PC_JWT_OK);
	CU_ASSERT(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW, &cl));
	CU_ASSERT(pc_str_eq(cl.sub, "svc-\xc3\xa9", 6));
	free(tok);
	free(other_tok);
	pc_jwt_cache_free(c);
}

/* Many tokens through a small cache: every hit must return the claims of
 * the very token looked up. */
static void test_hits_are_always_right(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(32, 0);
	struct pc_jwt_claims cl;
	enum { N = 300 };
	char *tok[N];
	char sub[16];
	unsigned hits = 0;

	for (int i = 0; i < N; i++) {
		snprintf(sub, sizeof(sub), "svc-%03d", i);
		tok[i] = mint(sub, NOW + 1000 + i, (size_t)(i % 7) * 13);
		CU_ASSERT_EQUAL(cverify(c, tok[i], NOW, &cl), PC_JWT_OK);
	}
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			if (!pc_jwt_cache_lookup(c, tok[i], strlen(tok[i]), NOW, &cl))
				continue;
			hits++;
			snprintf(sub, sizeof(sub), "svc-%03d", i);
			CU_ASSERT(pc_str_eq(cl.sub, sub, 7));
			CU_ASSERT_EQUAL(cl.exp, NOW + 1000 + i);
		}
	}
	/* 32 entries hold at most 32 tokens, and hold some */
	CU_ASSERT(hits > 0 && hits <= 3 * 32);
	for (int i = 0; i < N; i++)
		free(tok[i]);
	pc_jwt_cache_free(c);
}

/* The caller's bytes kept with an entry: returned on a hit; an entry made
 * without them is a miss for a caller that wants them, and the insert that
 * follows a miss of the same token (its hash reused) is found again. */
static void test_extra_bytes(void)
{
	setup();
	struct pc_jwt_cache *c = pc_jwt_cache_new(64, 0);
	struct pc_jwt_claims a, b;
	uint8_t x[PC_JWT_CACHE_EXTRA], y[PC_JWT_CACHE_EXTRA];
	char *tok = mint("svc-x", NOW + 600, 10), *plain = mint("svc-y", NOW + 600, 10);

	for (unsigned i = 0; i < sizeof(x); i++)
		x[i] = (uint8_t)(0xa0 + i);
	CU_ASSERT_FALSE(pc_jwt_cache_lookup_x(c, tok, strlen(tok), NOW, &a, y));
	CU_ASSERT_EQUAL_FATAL(pc_jwt_verify_any(issuers, 2, tok, strlen(tok), NOW, scratch, &a),
			      PC_JWT_OK);
	CU_ASSERT_EQUAL(pc_jwt_cache_insert_x(c, tok, strlen(tok), &a, x), 0);
	memset(y, 0, sizeof(y));
	CU_ASSERT(pc_jwt_cache_lookup_x(c, tok, strlen(tok), NOW + 1, &b, y));
	CU_ASSERT(memcmp(x, y, sizeof(x)) == 0);
	CU_ASSERT(pc_str_eq(b.sub, "svc-x", 5));
	/* the plain lookup still hits it */
	CU_ASSERT(pc_jwt_cache_lookup(c, tok, strlen(tok), NOW + 1, &b));
	/* an entry inserted without bytes: a hit for the plain lookup, a miss
	 * for the one that wants bytes, until an insert_x replaces it */
	CU_ASSERT_EQUAL(cverify(c, plain, NOW, &a), PC_JWT_OK);
	CU_ASSERT(pc_jwt_cache_lookup(c, plain, strlen(plain), NOW, &b));
	CU_ASSERT_FALSE(pc_jwt_cache_lookup_x(c, plain, strlen(plain), NOW, &b, y));
	CU_ASSERT_EQUAL_FATAL(pc_jwt_verify_any(issuers, 2, plain, strlen(plain), NOW, scratch, &a),
			      PC_JWT_OK);
	CU_ASSERT_EQUAL(pc_jwt_cache_insert_x(c, plain, strlen(plain), &a, x), 0);
	CU_ASSERT(pc_jwt_cache_lookup_x(c, plain, strlen(plain), NOW, &b, y));
	CU_ASSERT(memcmp(x, y, sizeof(x)) == 0);
	/* a failed verify is never inserted, bytes or not */
	a.verified = 0;
	CU_ASSERT_EQUAL(pc_jwt_cache_insert_x(c, tok, strlen(tok), &a, x), -EINVAL);
	/* still dies at exp */
	CU_ASSERT_FALSE(pc_jwt_cache_lookup_x(c, tok, strlen(tok), NOW + 600, &b, y));
	pc_jwt_cache_free(c);
	free(tok);
	free(plain);
}

static void test_cleanup(void)
{
	pc_jwks_free(jwks);
	pc_jwt_scratch_free(scratch);
	jwks = NULL;
	scratch = NULL;
}

static CU_TestInfo tests[] = {
	PC_TEST(test_hit_and_miss),
	PC_TEST(test_one_byte_differs),
	PC_TEST(test_expiry_at_exp),
	PC_TEST(test_eviction_when_full),
	PC_TEST(test_failures_not_inserted),
	PC_TEST(test_not_cached),
	PC_TEST(test_escaped_sub_survives),
	PC_TEST(test_hits_are_always_right),
	PC_TEST(test_extra_bytes),
	PC_TEST(test_cleanup),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("jwt_cache", tests)
