/* SPDX-License-Identifier: BSD-3-Clause
 *
 * JWT verification and JWK Set loading.
 *  - The RFC 7515 Appendix A examples and the RFC 7519 §3.1 token, with
 *    their published keys (tests/data/jwt), verified at a time before their
 *    exp.
 *  - Tokens minted here with freshly generated keys (OpenSSL EVP API) for
 *    every supported algorithm, then forged in every way the verifier must
 *    refuse: alg none, HMAC keyed with the RSA public key, stripped or
 *    tampered signatures, bad base64url, duplicate header names, crit,
 *    oversize tokens, and each claim rule.
 *  - Every prefix and every one-byte mutation of a valid token is refused,
 *    each checked in an exact-size heap block (ASan build catches over-reads).
 * Tokens minted with the openssl command-line tool, independent of this
 * code, are checked by tests/jwt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "jwt/b64url.h"
#include "jwt/jwks.h"
#include "jwt/jwt.h"
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

static char *xstrdup(const char *s)
{
	return strcpy(xmalloc(strlen(s) + 1), s);
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

#define DATA "../data/jwt/"
#define NOW INT64_C(1700000000)
#define RFC_EXP INT64_C(1300819380)
#define ISS "https://issuer.example"

static struct pc_jwt_scratch *scratch;
static struct pc_jwt_claims claims;

/* ---- helpers ---- */

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	static char buf[65536];
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Verify a copy of tok in an exact-size block, so ASan sees any over-read. */
static enum pc_jwt_reason verify_at(const struct pc_jwt_issuer *is, const char *tok, size_t len,
				    int64_t now)
{
	char *copy = xmalloc(len ? len : 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(copy);
	memcpy(copy, tok, len);
	enum pc_jwt_reason r = pc_jwt_verify(is, copy, len, now, scratch, &claims);
	free(copy);
	/* claims views point into the scratch, not the copy: still valid */
	return r;
}

static enum pc_jwt_reason V(const struct pc_jwt_issuer *is, const char *tok)
{
	return verify_at(is, tok, strlen(tok), NOW);
}

#define EXPECT(is, tok, want)                                                           \
	do {                                                                            \
		enum pc_jwt_reason r_ = V((is), (tok));                                 \
		if (r_ != (want))                                                       \
			fprintf(stderr, "\n  line %d: got %s, want %s\n", __LINE__,     \
				pc_jwt_reason_name(r_), pc_jwt_reason_name(want));      \
		CU_ASSERT_EQUAL(r_, (want));                                            \
	} while (0)

static char *b64(const void *data, size_t len)
{
	size_t n = pc_b64url_encoded_len(len);
	char *s = xmalloc(n + 1);
	/* also runs in the suite setup, outside any test: no CU_ASSERT */
	if (!s || pc_b64url_encode(data, len, s, n) != n)
		abort();
	s[n] = '\0';
	return s;
}

static char *bn_b64(const BIGNUM *bn)
{
	int n = BN_num_bytes(bn);
	unsigned char buf[1024];
	BN_bn2bin(bn, buf);
	return b64(buf, (size_t)n);
}

/* ---- keys ---- */

static struct keys {
	EVP_PKEY *rsa, *rsa_b, *ec256, *ec384, *ed;
	uint8_t hs[32], hs64[64];
	char *jwks_json;     /* every public key, one kid each */
	struct pc_jwks *jwks;
	char *rsa_pem;       /* the RSA public key as PEM: the alg confusion secret */
} K;

static char *jwk_rsa(EVP_PKEY *pk, const char *kid, const char *extra)
{
	BIGNUM *n = NULL, *e = NULL;
	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n);
	EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e);
	char *nb = bn_b64(n), *eb = bn_b64(e);
	char *out = xmalloc(strlen(nb) + 256);
	sprintf(out, "{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}", kid, nb, eb,
		extra);
	free(nb);
	free(eb);
	BN_free(n);
	BN_free(e);
	return out;
}

static char *jwk_ec(EVP_PKEY *pk, const char *kid, const char *crv, size_t size)
{
	unsigned char pub[1 + 2 * 48];
	size_t len = 0;
	EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len);
	if (len != 1 + 2 * size)
		abort();
	char *x = b64(pub + 1, size), *y = b64(pub + 1 + size, size);
	char *out = xmalloc(512);
	sprintf(out, "{\"kty\":\"EC\",\"kid\":\"%s\",\"crv\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", kid,
		crv, x, y);
	free(x);
	free(y);
	return out;
}

static char *jwk_ed(EVP_PKEY *pk, const char *kid)
{
	unsigned char pub[32];
	size_t len = sizeof(pub);
	EVP_PKEY_get_raw_public_key(pk, pub, &len);
	char *x = b64(pub, 32);
	char *out = xmalloc(256);
	sprintf(out, "{\"kty\":\"OKP\",\"kid\":\"%s\",\"crv\":\"Ed25519\",\"x\":\"%s\"}", kid, x);
	free(x);
	return out;
}

static char *jwk_oct(const uint8_t *k, size_t len, const char *kid)
{
	char *kb = b64(k, len);
	char *out = xmalloc(256);
	sprintf(out, "{\"kty\":\"oct\",\"kid\":\"%s\",\"k\":\"%s\"}", kid, kb);
	free(kb);
	return out;
}

static struct pc_jwks *load_or_die(const char *json)
{
	char err[256];
	struct pc_jwks *ks = pc_jwks_load(json, strlen(json), err, sizeof(err));
	if (!ks)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
	return ks;
}

static int suite_init(void)
{
	scratch = pc_jwt_scratch_new();
	K.rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	K.rsa_b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	K.ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	K.ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	K.ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (!scratch || !K.rsa || !K.rsa_b || !K.ec256 || !K.ec384 || !K.ed)
		return 1;
	RAND_bytes(K.hs, sizeof(K.hs));
	RAND_bytes(K.hs64, sizeof(K.hs64));

	char *parts[6] = {
		jwk_rsa(K.rsa, "rsa1", ""), jwk_ec(K.ec256, "ec256", "P-256", 32),
		jwk_ec(K.ec384, "ec384", "P-384", 48), jwk_ed(K.ed, "ed1"),
		jwk_oct(K.hs, sizeof(K.hs), "hs1"), jwk_oct(K.hs64, sizeof(K.hs64), "hs64"),
	};
	size_t total = 32;
	for (int i = 0; i < 6; i++)
		total += strlen(parts[i]) + 1;
	K.jwks_json = xmalloc(total);
	strcpy(K.jwks_json, "{\"keys\":[");
	for (int i = 0; i < 6; i++) {
		strcat(K.jwks_json, parts[i]);
		strcat(K.jwks_json, i < 5 ? "," : "]}");
		free(parts[i]);
	}
	char err[256];
	K.jwks = pc_jwks_load(K.jwks_json, strlen(K.jwks_json), err, sizeof(err));
	if (!K.jwks) {
		fprintf(stderr, "jwks: %s\n", err);
		return 1;
	}

	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, K.rsa);
	char *pem;
	long n = BIO_get_mem_data(bio, &pem);
	K.rsa_pem = xstrndup(pem, (size_t)n);
	BIO_free(bio);
	return 0;
}

static int suite_clean(void)
{
	pc_jwks_free(K.jwks);
	EVP_PKEY_free(K.rsa);
	EVP_PKEY_free(K.rsa_b);
	EVP_PKEY_free(K.ec256);
	EVP_PKEY_free(K.ec384);
	EVP_PKEY_free(K.ed);
	free(K.jwks_json);
	free(K.rsa_pem);
	pc_jwt_scratch_free(scratch);
	return 0;
}

/* ---- minting ---- */

static size_t sign_pkey(EVP_PKEY *pk, const char *md, bool pss, const char *in, size_t len,
			unsigned char *sig, size_t cap)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	size_t sig_len = cap;
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSignInit_ex(ctx, &pctx, md, NULL, NULL, pk, NULL), 1);
	if (pss) {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	}
	CU_ASSERT_EQUAL_FATAL(EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)in, len), 1);
	EVP_MD_CTX_free(ctx);
	return sig_len;
}

/* DER Ecdsa-Sig-Value to the JOSE raw form r||s (RFC 7518 §3.4). */
static size_t der_to_raw(const unsigned char *der, size_t len, unsigned char *raw, size_t coord)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	CU_ASSERT_PTR_NOT_NULL_FATAL(es);
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(es, &r, &s);
	BN_bn2binpad(r, raw, (int)coord);
	BN_bn2binpad(s, raw + coord, (int)coord);
	ECDSA_SIG_free(es);
	return 2 * coord;
}

/* The signature of input under alg, with the suite's key for it (or
 * secret when given, for HMAC). */
static size_t sign_alg(int alg, const uint8_t *secret, size_t secret_len, const char *in,
		       size_t len, unsigned char *sig)
{
	unsigned char der[512];
	unsigned int hl = 0;
	size_t n;

	switch (alg) {
	case PC_JWT_ALG_HS256:
		HMAC(EVP_sha256(), secret ? secret : K.hs, (int)(secret ? secret_len : sizeof(K.hs)),
		     (const unsigned char *)in, len, sig, &hl);
		return hl;
	case PC_JWT_ALG_HS384:
		HMAC(EVP_sha384(), secret ? secret : K.hs64,
		     (int)(secret ? secret_len : sizeof(K.hs64)), (const unsigned char *)in, len,
		     sig, &hl);
		return hl;
	case PC_JWT_ALG_HS512:
		HMAC(EVP_sha512(), secret ? secret : K.hs64,
		     (int)(secret ? secret_len : sizeof(K.hs64)), (const unsigned char *)in, len,
		     sig, &hl);
		return hl;
	case PC_JWT_ALG_RS256: return sign_pkey(K.rsa, "SHA256", false, in, len, sig, 1024);
	case PC_JWT_ALG_RS384: return sign_pkey(K.rsa, "SHA384", false, in, len, sig, 1024);
	case PC_JWT_ALG_RS512: return sign_pkey(K.rsa, "SHA512", false, in, len, sig, 1024);
	case PC_JWT_ALG_PS256: return sign_pkey(K.rsa, "SHA256", true, in, len, sig, 1024);
	case PC_JWT_ALG_PS384: return sign_pkey(K.rsa, "SHA384", true, in, len, sig, 1024);
	case PC_JWT_ALG_PS512: return sign_pkey(K.rsa, "SHA512", true, in, len, sig, 1024);
	case PC_JWT_ALG_ES256:
		n = sign_pkey(K.ec256, "SHA256", false, in, len, der, sizeof(der));
		return der_to_raw(der, n, sig, 32);
	case PC_JWT_ALG_ES384:
		n = sign_pkey(K.ec384, "SHA384", false, in, len, der, sizeof(der));
		return der_to_raw(der, n, sig, 48);
	case PC_JWT_ALG_EDDSA:
		return sign_pkey(K.ed, NULL, false, in, len, sig, 1024);
	}
	return 0;
}

/* header.payload.signature with raw JSON texts; alg < 0 leaves the
 * signature empty. The caller frees. */
static char *mint_with(const char *header, const char *payload, int alg, const uint8_t *secret,
		       size_t secret_len)
{
	char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
	size_t in_len = strlen(h) + 1 + strlen(p);
	char *tok = xmalloc(in_len + 2048);
	sprintf(tok, "%s.%s", h, p);
	unsigned char sig[1024];
	size_t sig_len = alg >= 0 ? sign_alg(alg, secret, secret_len, tok, in_len, sig) : 0;
	char *s = b64(sig, sig_len);
	sprintf(tok + in_len, ".%s", s);
	free(h);
	free(p);
	free(s);
	return tok;
}

static char *mint(const char *header, const char *payload, int alg)
{
	return mint_with(header, payload, alg, NULL, 0);
}

static char *payload_std(void)
{
	static char buf[512];
	snprintf(buf, sizeof(buf),
		 "{\"iss\":\"" ISS "\",\"sub\":\"svc-payments\",\"aud\":\"portcullis\","
		 "\"iat\":%lld,\"exp\":%lld,\"scope\":\"read:ledger write:ledger\","
		 "\"roles\":[\"payer\",\"auditor\"],\"tier\":3,\"internal\":true}",
		 (long long)(NOW - 10), (long long)(NOW + 600));
	return buf;
}

static const struct pc_str audiences[] = { PC_JWT_STR("portcullis"), PC_JWT_STR("other") };

static void issuer_std(struct pc_jwt_issuer *is, uint32_t algs)
{
	pc_jwt_issuer_init(is);
	is->issuer = PC_JWT_STR(ISS);
	is->audiences = audiences;
	is->n_audiences = 2;
	is->algs = algs;
	is->keys = K.jwks;
}

#define ALL_ALGS ((UINT32_C(1) << PC_JWT_ALG_COUNT) - 1)

/* ---- RFC examples ---- */

static void rfc_issuer(struct pc_jwt_issuer *is, struct pc_jwks *ks, uint32_t algs)
{
	pc_jwt_issuer_init(is);
	is->issuer = PC_JWT_STR("joe");
	is->algs = algs;
	is->keys = ks;
}

static struct pc_jwks *load_data(const char *name)
{
	char err[256];
	struct pc_jwks *ks = pc_jwks_load_file(name, err, sizeof(err));
	if (!ks)
		fprintf(stderr, "\n  %s\n", err);
	return ks;
}

static void test_rfc7515_a1_hs256(void)
{
	struct pc_jwks *ks = load_data(DATA "rfc7515_a1.jwks.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
	char *tok = read_text(DATA "rfc7515_a1.jwt");
	struct pc_jwt_issuer is;
	rfc_issuer(&is, ks, PC_JWT_ALG_BIT(PC_JWT_ALG_HS256));

	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_OK);
	CU_ASSERT(claims.verified);
	CU_ASSERT_EQUAL(claims.exp, RFC_EXP);
	CU_ASSERT_EQUAL(claims.alg, PC_JWT_ALG_HS256);
	CU_ASSERT(pc_str_eq(claims.iss, "joe", 3));
	CU_ASSERT_PTR_NULL(claims.sub.p);
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("http://example.com/is_root"),
				   PC_JWT_STR("true")));
	CU_ASSERT_FALSE(pc_jwt_claim_has(&claims, PC_JWT_STR("http://example.com/is_root"),
					 PC_JWT_STR("false")));
	/* RFC 7519 §4.1.4 with the 30 s leeway */
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP + 29), PC_JWT_OK);
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP + 30), PC_JWT_EXPIRED);
	CU_ASSERT_FALSE(claims.verified);
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), NOW), PC_JWT_EXPIRED);
	/* the lifetime cap, measured from now when there is no iat or nbf */
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 3601), PC_JWT_LIFETIME_TOO_LONG);
	/* an issuer that does not allow HS256 */
	is.algs = PC_JWT_ALG_BIT(PC_JWT_ALG_RS256);
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_ALG_NOT_ALLOWED);
	/* another issuer name */
	rfc_issuer(&is, ks, ALL_ALGS);
	is.issuer = PC_JWT_STR("jo");
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_BAD_ISSUER);
	/* an issuer that names audiences: the token has no aud */
	rfc_issuer(&is, ks, ALL_ALGS);
	is.audiences = audiences;
	is.n_audiences = 1;
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_BAD_AUDIENCE);
	free(tok);
	pc_jwks_free(ks);
}

static void test_rfc7519_3_1(void)
{
	struct pc_jwks *ks = load_data(DATA "rfc7515_a1.jwks.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
	char *tok = read_text(DATA "rfc7519_3_1.jwt");
	struct pc_jwt_issuer is;
	rfc_issuer(&is, ks, ALL_ALGS);
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 1), PC_JWT_OK);
	CU_ASSERT_EQUAL(claims.exp, RFC_EXP);
	free(tok);
	pc_jwks_free(ks);
}

static void test_rfc7515_a2_rs256(void)
{
	struct pc_jwks *ks = load_data(DATA "rfc7515_a2.jwks.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
	char *tok = read_text(DATA "rfc7515_a2.jwt");
	struct pc_jwt_issuer is;
	rfc_issuer(&is, ks, PC_JWT_ALG_BIT(PC_JWT_ALG_RS256));
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_OK);
	CU_ASSERT_EQUAL(claims.alg, PC_JWT_ALG_RS256);
	/* the same payload and signature under another header: PS256 is the
	 * same key type but another padding; HS256 has no key in this set */
	is.algs = ALL_ALGS;
	const char *rest = strchr(tok, '.');
	char *relabeled = xmalloc(strlen(tok) + 32);
	sprintf(relabeled, "%s%s", "eyJhbGciOiJQUzI1NiJ9", rest); /* {"alg":"PS256"} */
	CU_ASSERT_EQUAL(verify_at(&is, relabeled, strlen(relabeled), RFC_EXP - 60),
			PC_JWT_BAD_SIGNATURE);
	sprintf(relabeled, "%s%s", "eyJhbGciOiJIUzI1NiJ9", rest); /* {"alg":"HS256"} */
	CU_ASSERT_EQUAL(verify_at(&is, relabeled, strlen(relabeled), RFC_EXP - 60),
			PC_JWT_ALG_NOT_ALLOWED);
	free(relabeled);
	free(tok);
	pc_jwks_free(ks);
}

static void test_rfc7515_a3_es256(void)
{
	struct pc_jwks *ks = load_data(DATA "rfc7515_a3.jwks.json");
	CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
	char *tok = read_text(DATA "rfc7515_a3.jwt");
	struct pc_jwt_issuer is;
	rfc_issuer(&is, ks, PC_JWT_ALG_BIT(PC_JWT_ALG_ES256));
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_OK);
	CU_ASSERT_EQUAL(claims.alg, PC_JWT_ALG_ES256);
	/* flip one bit of s: ECDSA must refuse */
	size_t last = strlen(tok) - 2;
	tok[last] = tok[last] == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_BAD_SIGNATURE);
	free(tok);
	pc_jwks_free(ks);
}

/* The signature check alone, on the RFC 7515 examples: their signatures
 * verify over their signing inputs with their keys; one flipped bit, another
 * algorithm of the same key, an algorithm the key does not fit and a key
 * number past the set are refused. */
static void test_verify_signature(void)
{
	static const struct {
		const char *jwks, *jwt;
		int alg, same_kind_alg, other_alg;
	} ex[] = {
		{ DATA "rfc7515_a1.jwks.json", DATA "rfc7515_a1.jwt", PC_JWT_ALG_HS256,
		  PC_JWT_ALG_HS384, PC_JWT_ALG_RS256 },
		{ DATA "rfc7515_a2.jwks.json", DATA "rfc7515_a2.jwt", PC_JWT_ALG_RS256,
		  PC_JWT_ALG_PS256, PC_JWT_ALG_HS256 },
		{ DATA "rfc7515_a3.jwks.json", DATA "rfc7515_a3.jwt", PC_JWT_ALG_ES256,
		  PC_JWT_ALG_ES384, PC_JWT_ALG_EDDSA },
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(ex); i++) {
		struct pc_jwks *ks = load_data(ex[i].jwks);
		CU_ASSERT_PTR_NOT_NULL_FATAL(ks);
		char *tok = read_text(ex[i].jwt);
		const char *dot = strrchr(tok, '.');
		CU_ASSERT_PTR_NOT_NULL_FATAL(dot);
		size_t input_len = (size_t)(dot - tok), sig_len = 0;
		uint8_t sig[512];
		CU_ASSERT_EQUAL_FATAL(pc_b64url_decode(dot + 1, strlen(dot + 1), sig, sizeof(sig),
						       &sig_len), 0);
		CU_ASSERT_EQUAL(pc_jwt_verify_signature(scratch, ks, 0, ex[i].alg, tok, input_len,
							sig, sig_len), PC_JWT_OK);
		/* the same twice: prepared contexts are reused, not spent */
		CU_ASSERT_EQUAL(pc_jwt_verify_signature(scratch, ks, 0, ex[i].alg, tok, input_len,
							sig, sig_len), PC_JWT_OK);
		CU_ASSERT_EQUAL(pc_jwt_verify_signature(scratch, ks, 0, ex[i].alg, tok,
							input_len - 1, sig, sig_len),
				PC_JWT_BAD_SIGNATURE);
		sig[sig_len / 2] ^= 0x10;
		CU_ASSERT_EQUAL(pc_jwt_verify_signature(scratch, ks, 0, ex[i].alg, tok, input_len,
							sig, sig_len), PC_JWT_BAD_SIGNATURE);
		sig[sig_len / 2] ^= 0x10;
		CU_ASSERT_NOT_EQUAL(pc_jwt_verify_signature(scratch, ks, 0, ex[i].same_kind_alg, tok,
							    input_len, sig, sig_len), PC_JWT_OK);
		CU_ASSERT_EQUAL(pc_jwt_verify_signature(scratch, ks, 0, ex[i].other_alg, tok,
							input_len, sig, sig_len),
				PC_JWT_ALG_NOT_ALLOWED);
		CU_ASSERT_EQUAL(pc_jwt_verify_signature(scratch, ks, pc_jwks_count(ks), ex[i].alg,
							tok, input_len, sig, sig_len),
				PC_JWT_ALG_NOT_ALLOWED);
		free(tok);
		pc_jwks_free(ks);
	}
}

static void test_rfc7515_a4_es512_unsupported(void)
{
	char err[256];
	/* P-521 keys are refused at load, with the key and value named */
	struct pc_jwks *ks = pc_jwks_load_file(DATA "rfc7515_a4.jwks.json", err, sizeof(err));
	CU_ASSERT_PTR_NULL(ks);
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(err, DATA "rfc7515_a4.jwks.json: keys[0].crv: expected P-256, "
				    "P-384 or Ed25519, got \"P-521\"");
	char *json = read_text(DATA "rfc7515_a4.jwks.json");
	ks = pc_jwks_load(json, strlen(json), err, sizeof(err));
	CU_ASSERT_PTR_NULL(ks);
	CU_ASSERT_STRING_EQUAL(err, "jwks: keys[0].crv: expected P-256, P-384 or Ed25519, got \"P-521\"");
	free(json);

	/* and ES512 tokens are refused whatever keys and allowlist */
	ks = load_data(DATA "rfc7515_a3.jwks.json");
	char *tok = read_text(DATA "rfc7515_a4.jwt");
	struct pc_jwt_issuer is;
	rfc_issuer(&is, ks, ALL_ALGS);
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_ALG_NOT_ALLOWED);
	free(tok);
	pc_jwks_free(ks);
}

static void test_rfc7515_a5_none(void)
{
	struct pc_jwks *ks = load_data(DATA "rfc7515_a1.jwks.json");
	char *tok = read_text(DATA "rfc7515_a5.jwt");
	struct pc_jwt_issuer is;
	rfc_issuer(&is, ks, ALL_ALGS);
	CU_ASSERT_EQUAL(verify_at(&is, tok, strlen(tok), RFC_EXP - 60), PC_JWT_ALG_NOT_ALLOWED);
	CU_ASSERT_FALSE(claims.verified);
	free(tok);
	pc_jwks_free(ks);
}

/* ---- minted tokens ---- */

static void test_every_algorithm(void)
{
	static const struct { int alg; const char *kid; } cases[] = {
		{ PC_JWT_ALG_HS256, "hs1" }, { PC_JWT_ALG_HS384, "hs64" }, { PC_JWT_ALG_HS512, "hs64" },
		{ PC_JWT_ALG_RS256, "rsa1" }, { PC_JWT_ALG_RS384, "rsa1" }, { PC_JWT_ALG_RS512, "rsa1" },
		{ PC_JWT_ALG_PS256, "rsa1" }, { PC_JWT_ALG_PS384, "rsa1" }, { PC_JWT_ALG_PS512, "rsa1" },
		{ PC_JWT_ALG_ES256, "ec256" }, { PC_JWT_ALG_ES384, "ec384" }, { PC_JWT_ALG_EDDSA, "ed1" },
	};
	struct pc_jwt_issuer is;
	char hdr[128];

	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		int a = cases[i].alg;
		issuer_std(&is, PC_JWT_ALG_BIT(a));
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"%s\"}",
			 pc_jwt_alg_name(a), cases[i].kid);
		char *tok = mint(hdr, payload_std(), a);
		enum pc_jwt_reason r = V(&is, tok);
		if (r != PC_JWT_OK)
			fprintf(stderr, "\n  %s: %s\n", pc_jwt_alg_name(a), pc_jwt_reason_name(r));
		CU_ASSERT_EQUAL(r, PC_JWT_OK);
		CU_ASSERT_EQUAL(claims.alg, a);
		CU_ASSERT(pc_str_eq(claims.sub, "svc-payments", 12));
		CU_ASSERT(pc_str_eq(claims.iss, ISS, strlen(ISS)));
		CU_ASSERT_EQUAL(claims.exp, NOW + 600);
		CU_ASSERT_EQUAL(claims.iat, NOW - 10);
		CU_ASSERT_EQUAL(claims.nbf, INT64_MIN);
		/* not allowed for this issuer: every other algorithm */
		is.algs = ALL_ALGS & ~PC_JWT_ALG_BIT(a);
		EXPECT(&is, tok, PC_JWT_ALG_NOT_ALLOWED);
		free(tok);

		/* without a kid the only key of the fitting type is used;
		 * RSA and P-256 etc. have one key each in the set, HMAC two */
		issuer_std(&is, PC_JWT_ALG_BIT(a));
		snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\"}", pc_jwt_alg_name(a));
		tok = mint(hdr, payload_std(), a);
		if (a == PC_JWT_ALG_HS256)
			EXPECT(&is, tok, PC_JWT_KID_REQUIRED); /* hs1 and hs64 both fit */
		else
			EXPECT(&is, tok, PC_JWT_OK); /* HS384/512 fit only the 64-byte key */
		free(tok);
	}
}

static void test_claim_has(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	char *tok = mint("{\"alg\":\"ES256\",\"kid\":\"ec256\"}", payload_std(), PC_JWT_ALG_ES256);
	CU_ASSERT_EQUAL_FATAL(V(&is, tok), PC_JWT_OK);
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("sub"), PC_JWT_STR("svc-payments")));
	CU_ASSERT_FALSE(pc_jwt_claim_has(&claims, PC_JWT_STR("sub"), PC_JWT_STR("svc")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("scope"), PC_JWT_STR("read:ledger")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("scope"), PC_JWT_STR("write:ledger")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("scope"),
				   PC_JWT_STR("read:ledger write:ledger")));
	CU_ASSERT_FALSE(pc_jwt_claim_has(&claims, PC_JWT_STR("scope"), PC_JWT_STR("read")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("roles"), PC_JWT_STR("auditor")));
	CU_ASSERT_FALSE(pc_jwt_claim_has(&claims, PC_JWT_STR("roles"), PC_JWT_STR("admin")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("tier"), PC_JWT_STR("3")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("internal"), PC_JWT_STR("true")));
	CU_ASSERT_FALSE(pc_jwt_claim_has(&claims, PC_JWT_STR("missing"), PC_JWT_STR("x")));
	/* words split only for scope and scp */
	CU_ASSERT_FALSE(pc_jwt_claim_has(&claims, PC_JWT_STR("sub"), PC_JWT_STR("payments")));
	free(tok);

	/* scp as an array, escaped values, and an unescaped sub copy */
	char payload[512];
	snprintf(payload, sizeof(payload),
		 "{\"iss\":\"https:\\/\\/issuer.example\",\"sub\":\"svc\\u002dpay\\u00e9\","
		 "\"aud\":[\"x\",\"portcullis\"],\"exp\":%lld,\"scp\":[\"tools\\/call\",\"read\"],"
		 "\"scope\":\"a b\\u0020c\"}", (long long)(NOW + 60));
	tok = mint("{\"alg\":\"EdDSA\"}", payload, PC_JWT_ALG_EDDSA);
	CU_ASSERT_EQUAL_FATAL(V(&is, tok), PC_JWT_OK);
	CU_ASSERT(pc_str_eq(claims.sub, "svc-pay\xc3\xa9", 9));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("scp"), PC_JWT_STR("tools/call")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("scope"), PC_JWT_STR("c")));
	CU_ASSERT(pc_jwt_claim_has(&claims, PC_JWT_STR("sub"), PC_JWT_STR("svc-pay\xc3\xa9")));
	/* a claims struct that did not come from a successful verify */
	struct pc_jwt_claims bogus = claims;
	bogus.verified = 0;
	CU_ASSERT_FALSE(pc_jwt_claim_has(&bogus, PC_JWT_STR("scp"), PC_JWT_STR("read")));
	free(tok);
}

/* The verify contexts kept per key and algorithm (more keys than the
 * scratch keeps, in turn, so they are replaced): every token verifies with
 * its own key, a token under another key's kid is refused, and one RSA key
 * used for RS256 and PS256 in alternation keeps two contexts apart. */
static void test_prepared_key_contexts(void)
{
	enum { N = 11 };
	EVP_PKEY *ec[N];
	char *parts[N], *tok[N], *wrong[N], kid[16];
	size_t total = 16;
	for (int i = 0; i < N; i++) {
		ec[i] = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		CU_ASSERT_PTR_NOT_NULL_FATAL(ec[i]);
		snprintf(kid, sizeof(kid), "e%d", i);
		parts[i] = jwk_ec(ec[i], kid, "P-256", 32);
		total += strlen(parts[i]) + 1;
	}
	char *json = xmalloc(total);
	strcpy(json, "{\"keys\":[");
	for (int i = 0; i < N; i++) {
		strcat(json, parts[i]);
		strcat(json, i < N - 1 ? "," : "]}");
		free(parts[i]);
	}
	struct pc_jwks *ks = load_or_die(json);
	free(json);
	char *p = b64(payload_std(), strlen(payload_std()));
	for (int i = 0; i < N; i++) {
		/* token i signed by key i; wrong[i] says kid i+1 */
		for (int w = 0; w < 2; w++) {
			char hdr[64];
			snprintf(hdr, sizeof(hdr), "{\"alg\":\"ES256\",\"kid\":\"e%d\"}", (i + w) % N);
			char *h = b64(hdr, strlen(hdr));
			char *t = xmalloc(strlen(h) + strlen(p) + 200);
			sprintf(t, "%s.%s", h, p);
			unsigned char der[128], raw[64];
			size_t dl = sign_pkey(ec[i], "SHA256", false, t, strlen(t), der, sizeof(der));
			char *sg = b64(raw, der_to_raw(der, dl, raw, 32));
			strcat(t, ".");
			strcat(t, sg);
			free(sg);
			free(h);
			if (w == 0)
				tok[i] = t;
			else
				wrong[i] = t;
		}
	}
	free(p);
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	is.keys = ks;
	unsigned ok = 0, refused = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			ok += V(&is, tok[i]) == PC_JWT_OK;
			refused += V(&is, wrong[i]) == PC_JWT_BAD_SIGNATURE;
		}
	}
	CU_ASSERT_EQUAL(ok, 3 * N);
	CU_ASSERT_EQUAL(refused, 3 * N);
	/* one RSA key, two algorithms, in turn */
	issuer_std(&is, ALL_ALGS);
	char *rs = mint("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", payload_std(), PC_JWT_ALG_RS256);
	char *ps = mint("{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", payload_std(), PC_JWT_ALG_PS256);
	for (int round = 0; round < 3; round++) {
		EXPECT(&is, rs, PC_JWT_OK);
		EXPECT(&is, ps, PC_JWT_OK);
	}
	free(rs);
	free(ps);
	for (int i = 0; i < N; i++) {
		free(tok[i]);
		free(wrong[i]);
		EVP_PKEY_free(ec[i]);
	}
	pc_jwks_free(ks);
}

static void test_forged_alg_none(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	static const char *const headers[] = {
		"{\"alg\":\"none\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
		"{\"alg\":\"none\",\"kid\":\"rsa1\"}", "{\"alg\":\"\\u006eone\"}",
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(headers); i++) {
		char *tok = mint(headers[i], payload_std(), -1);
		EXPECT(&is, tok, PC_JWT_ALG_NOT_ALLOWED);
		free(tok);
	}
	/* alg missing, or not a string */
	char *tok = mint("{\"typ\":\"JWT\"}", payload_std(), -1);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	tok = mint("{\"alg\":256}", payload_std(), -1);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
}

static void test_forged_hmac_with_rsa_public_key(void)
{
	struct pc_jwt_issuer is;
	const uint8_t *pem = (const uint8_t *)K.rsa_pem;
	size_t pem_len = strlen(K.rsa_pem);

	/* RFC 8725 §2.1: the attacker signs HS256 with the public key text */
	char *with_kid = mint_with("{\"alg\":\"HS256\",\"kid\":\"rsa1\"}", payload_std(),
				   PC_JWT_ALG_HS256, pem, pem_len);
	char *no_kid = mint_with("{\"alg\":\"HS256\"}", payload_std(), PC_JWT_ALG_HS256, pem,
				 pem_len);

	issuer_std(&is, PC_JWT_ALG_BIT(PC_JWT_ALG_RS256));
	EXPECT(&is, with_kid, PC_JWT_ALG_NOT_ALLOWED);
	EXPECT(&is, no_kid, PC_JWT_ALG_NOT_ALLOWED);

	/* even an issuer that allows both: the RSA key never serves HS256 */
	issuer_std(&is, PC_JWT_ALG_BIT(PC_JWT_ALG_RS256) | PC_JWT_ALG_BIT(PC_JWT_ALG_HS256));
	EXPECT(&is, with_kid, PC_JWT_ALG_NOT_ALLOWED);
	/* with an RSA-only key set, nothing fits HS256 */
	char *rsa_only = jwk_rsa(K.rsa, "rsa1", "");
	char json[2048];
	snprintf(json, sizeof(json), "{\"keys\":[%s]}", rsa_only);
	struct pc_jwks *ks = load_or_die(json);
	is.keys = ks;
	EXPECT(&is, with_kid, PC_JWT_ALG_NOT_ALLOWED);
	EXPECT(&is, no_kid, PC_JWT_ALG_NOT_ALLOWED);
	/* the same bytes under RS256 are not an RSA signature either */
	free(with_kid);
	with_kid = mint_with("{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", payload_std(),
			     PC_JWT_ALG_HS256, pem, pem_len);
	EXPECT(&is, with_kid, PC_JWT_BAD_SIGNATURE);
	pc_jwks_free(ks);
	free(rsa_only);
	free(with_kid);
	free(no_kid);
}

static void test_forged_signatures(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	static const struct { int alg; const char *hdr; } cases[] = {
		{ PC_JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}" },
		{ PC_JWT_ALG_RS256, "{\"alg\":\"RS256\"}" },
		{ PC_JWT_ALG_PS256, "{\"alg\":\"PS256\"}" },
		{ PC_JWT_ALG_ES256, "{\"alg\":\"ES256\"}" },
		{ PC_JWT_ALG_EDDSA, "{\"alg\":\"EdDSA\"}" },
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		char *tok = mint(cases[i].hdr, payload_std(), cases[i].alg);
		EXPECT(&is, tok, PC_JWT_OK);
		char *dot2 = strrchr(tok, '.');

		/* stripped signature: "h.p." */
		char *stripped = xstrndup(tok, (size_t)(dot2 - tok + 1));
		EXPECT(&is, stripped, PC_JWT_BAD_SIGNATURE);
		/* no third segment at all */
		stripped[strlen(stripped) - 1] = '\0';
		EXPECT(&is, stripped, PC_JWT_MALFORMED);
		free(stripped);

		/* tampered payload: re-encode with another sub, keep the signature */
		char *dot1 = strchr(tok, '.');
		char *forged_payload = xstrdup(payload_std());
		memcpy(strstr(forged_payload, "svc-payments"), "svc-admin!!!", 12);
		char *pb = b64(forged_payload, strlen(forged_payload));
		size_t hl = (size_t)(dot1 - tok);
		char *forged = xmalloc(strlen(tok) + strlen(pb) + 8);
		sprintf(forged, "%.*s.%s%s", (int)hl, tok, pb, dot2);
		EXPECT(&is, forged, PC_JWT_BAD_SIGNATURE);
		free(forged);
		free(pb);
		free(forged_payload);

		/* signature from another token with the same key */
		char *other = mint(cases[i].hdr, "{\"iss\":\"" ISS "\",\"aud\":\"portcullis\","
					"\"exp\":1700000100}", cases[i].alg);
		char *swapped = xmalloc(strlen(tok) + strlen(other));
		sprintf(swapped, "%.*s%s", (int)(dot2 - tok), tok, strrchr(other, '.'));
		EXPECT(&is, swapped, PC_JWT_BAD_SIGNATURE);
		free(swapped);
		free(other);
		free(tok);
	}

	/* ES256 with a DER signature (what OpenSSL emits) is not JOSE */
	char *tok = mint("{\"alg\":\"ES256\"}", payload_std(), -1);
	unsigned char der[128];
	size_t in_len = strlen(tok) - 1;
	size_t n = sign_pkey(K.ec256, "SHA256", false, tok, in_len, der, sizeof(der));
	char *sb = b64(der, n);
	char *der_tok = xmalloc(in_len + strlen(sb) + 2);
	sprintf(der_tok, "%.*s.%s", (int)in_len, tok, sb);
	EXPECT(&is, der_tok, PC_JWT_BAD_SIGNATURE);
	free(der_tok);
	free(sb);
	free(tok);

	/* a PS256 signature presented as RS256 and the reverse */
	tok = mint("{\"alg\":\"RS256\"}", payload_std(), PC_JWT_ALG_PS256);
	EXPECT(&is, tok, PC_JWT_BAD_SIGNATURE);
	free(tok);
	tok = mint("{\"alg\":\"PS256\"}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_BAD_SIGNATURE);
	free(tok);
	/* HMAC under the wrong key */
	uint8_t wrong[32] = { 1 };
	tok = mint_with("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", payload_std(), PC_JWT_ALG_HS256,
			wrong, sizeof(wrong));
	EXPECT(&is, tok, PC_JWT_BAD_SIGNATURE);
	free(tok);
}

static void test_key_selection(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);

	char *tok = mint("{\"alg\":\"RS256\",\"kid\":\"nope\"}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_UNKNOWN_KID);
	free(tok);
	/* a kid of another key type */
	tok = mint("{\"alg\":\"RS256\",\"kid\":\"ec256\"}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_ALG_NOT_ALLOWED);
	free(tok);
	/* ES384 on the P-256 key */
	tok = mint("{\"alg\":\"ES384\",\"kid\":\"ec256\"}", payload_std(), PC_JWT_ALG_ES384);
	EXPECT(&is, tok, PC_JWT_ALG_NOT_ALLOWED);
	free(tok);
	/* kid must be a string */
	tok = mint("{\"alg\":\"RS256\",\"kid\":7}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	/* HS384 needs 48 bytes: the 32-byte key does not fit it */
	tok = mint_with("{\"alg\":\"HS384\",\"kid\":\"hs1\"}", payload_std(), PC_JWT_ALG_HS384,
			K.hs, sizeof(K.hs));
	EXPECT(&is, tok, PC_JWT_ALG_NOT_ALLOWED);
	free(tok);

	/* two RSA keys: a kid is needed and picks the right one; a key's own
	 * "alg" must match the token's */
	char *a = jwk_rsa(K.rsa, "a", ",\"alg\":\"RS256\",\"use\":\"sig\"");
	char *b = jwk_rsa(K.rsa_b, "b", "");
	char json[4096];
	snprintf(json, sizeof(json), "{\"keys\":[%s,%s]}", a, b);
	struct pc_jwks *ks = load_or_die(json);
	CU_ASSERT_EQUAL(pc_jwks_count(ks), 2);
	is.keys = ks;
	tok = mint("{\"alg\":\"RS256\",\"kid\":\"a\"}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_OK);
	free(tok);
	tok = mint("{\"alg\":\"PS256\",\"kid\":\"a\"}", payload_std(), PC_JWT_ALG_PS256);
	EXPECT(&is, tok, PC_JWT_ALG_NOT_ALLOWED);
	free(tok);
	tok = mint("{\"alg\":\"RS256\",\"kid\":\"b\"}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_BAD_SIGNATURE); /* signed with key a */
	free(tok);
	tok = mint("{\"alg\":\"RS256\"}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_KID_REQUIRED);
	free(tok);
	/* PS256 without kid: key a is RS256-only, so b is the only fit */
	tok = mint("{\"alg\":\"PS256\"}", payload_std(), PC_JWT_ALG_PS256);
	EXPECT(&is, tok, PC_JWT_BAD_SIGNATURE);
	free(tok);
	/* no key set at all */
	is.keys = NULL;
	tok = mint("{\"alg\":\"RS256\",\"kid\":\"a\"}", payload_std(), PC_JWT_ALG_RS256);
	EXPECT(&is, tok, PC_JWT_ALG_NOT_ALLOWED);
	free(tok);
	pc_jwks_free(ks);
	free(a);
	free(b);
}

static void test_header_rules(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	char *tok;

	/* RFC 7515 §4.1.11 */
	tok = mint("{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}", payload_std(),
		   PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_CRIT_UNSUPPORTED);
	free(tok);
	tok = mint("{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}", payload_std(),
		   PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_CRIT_UNSUPPORTED);
	free(tok);
	tok = mint("{\"alg\":\"ES256\",\"crit\":[]}", payload_std(), PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_CRIT_UNSUPPORTED);
	free(tok);
	/* duplicate alg: the first says what the issuer allows, the second
	 * what a lax parser would use */
	tok = mint("{\"alg\":\"ES256\",\"alg\":\"none\"}", payload_std(), PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	tok = mint("{\"alg\":\"ES256\",\"\\u0061lg\":\"HS256\"}", payload_std(), PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	/* header not JSON, not an object, trailing data */
	tok = mint("{\"alg\":\"ES256\"", payload_std(), PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	tok = mint("[\"ES256\"]", payload_std(), PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	tok = mint("{\"alg\":\"ES256\"}x", payload_std(), PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	/* keys embedded in the header are ignored, not trusted */
	tok = mint("{\"alg\":\"ES256\",\"jku\":\"https://evil.example/jwks\","
		   "\"jwk\":{\"kty\":\"oct\",\"k\":\"AAAA\"}}", payload_std(), PC_JWT_ALG_ES256);
	EXPECT(&is, tok, PC_JWT_OK);
	free(tok);
}

/* The codec against a byte-at-a-time reference (RFC 4648 §5 alphabet, no
 * padding, zero pad bits): every length up to 200 (so the 16-character
 * vector steps, the quads after them and each tail), round trips of random
 * bytes, every one of the 256 byte values at positions across the vector
 * and scalar parts, and nonzero pad bits. */
static int ref_val(unsigned char c)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const char *p = c ? memchr(alpha, c, 64) : NULL;
	return p ? (int)(p - alpha) : -1;
}

static void test_b64url_codec(void)
{
	uint8_t raw[160] = { 0 }, back[160];
	char txt[220], mut[220];
	uint32_t x = 12345;
	for (size_t len = 0; len <= 150; len++) {
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			raw[i] = (uint8_t)(x >> 16);
		}
		size_t n = pc_b64url_encode(raw, len, txt, sizeof(txt));
		CU_ASSERT_EQUAL_FATAL(n, pc_b64url_encoded_len(len));
		size_t got = 0;
		CU_ASSERT_EQUAL_FATAL(pc_b64url_decode(txt, n, back, sizeof(back), &got), 0);
		CU_ASSERT_EQUAL_FATAL(got, len);
		CU_ASSERT_FATAL(memcmp(raw, back, len) == 0);
		/* one byte changed: decodes iff the reference says it is in the
		 * alphabet (and the last character's pad bits stay zero) */
		size_t step = n > 40 ? 7 : 1;
		for (size_t at = 0; at < n; at += step) {
			for (unsigned c = 0; c < 256; c += (at % 3) + 1) {
				memcpy(mut, txt, n);
				mut[at] = (char)c;
				int v = ref_val((unsigned char)c);
				bool want = v >= 0;
				if (want && at == n - 1 && n % 4 == 2)
					want = (v & 0x0f) == 0;
				if (want && at == n - 1 && n % 4 == 3)
					want = (v & 0x03) == 0;
				int rc = pc_b64url_decode(mut, n, back, sizeof(back), &got);
				if ((rc == 0) != want) {
					fprintf(stderr, "\nlen %zu at %zu byte 0x%02x: rc %d\n", n, at, c, rc);
					CU_FAIL_FATAL("decode disagrees with the reference");
				}
				if (rc == 0) {
					/* the changed character's 6 bits land where the
					 * reference puts them */
					size_t bit = at * 6;
					unsigned have = 0;
					for (unsigned b = 0; b < 6 && (bit + b) / 8 < got; b++)
						have |= (unsigned)((back[(bit + b) / 8] >> (7 - (bit + b) % 8)) & 1)
							<< (5 - b);
					unsigned mask = 0;
					for (unsigned b = 0; b < 6 && (bit + b) / 8 < got; b++)
						mask |= 1u << (5 - b);
					CU_ASSERT_EQUAL_FATAL(have & mask, (unsigned)v & mask);
				}
			}
		}
	}
	/* input and output in exact-size blocks: the vector steps (32, 16 and
	 * the overlapping last 16 characters) read and write nothing outside
	 * them (ASan) */
	for (size_t len = 0; len <= 150; len++) {
		size_t n = pc_b64url_encoded_len(len), got = 0;
		for (size_t i = 0; i < len; i++)
			raw[i] = (uint8_t)(i * 37 + len);
		CU_ASSERT_EQUAL_FATAL(pc_b64url_encode(raw, len, txt, sizeof(txt)), n);
		char *in = xmalloc(n);
		uint8_t *o = xmalloc(len);
		memcpy(in, txt, n);
		CU_ASSERT_EQUAL(pc_b64url_decode(in, n, o, len, &got), 0);
		CU_ASSERT(got == len && memcmp(o, raw, len) == 0);
		free(in);
		free(o);
	}
	/* one leftover character is never valid; too small an output is */
	CU_ASSERT_EQUAL(pc_b64url_decode("QUJDR", 5, back, sizeof(back), &(size_t){ 0 }), -EINVAL);
	CU_ASSERT_EQUAL(pc_b64url_decode("QUJDRA", 6, back, 3, &(size_t){ 0 }), -ENOSPC);
}

static void test_malformed_base64url(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	char *tok = mint("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", payload_std(), PC_JWT_ALG_HS256);
	size_t len = strlen(tok);
	char *dot1 = strchr(tok, '.'), *dot2 = strrchr(tok, '.');
	size_t d1 = (size_t)(dot1 - tok), d2 = (size_t)(dot2 - tok);
	char *t = xmalloc(len + 8);

	EXPECT(&is, tok, PC_JWT_OK);
	/* '=' padding appended to each segment */
	size_t at[] = { d1, d2, len };
	for (int i = 0; i < 3; i++) {
		sprintf(t, "%.*s=%s", (int)at[i], tok, tok + at[i]);
		EXPECT(&is, t, PC_JWT_MALFORMED);
	}
	/* the standard alphabet's '+' and '/', and other characters, in each segment */
	const char bad[] = { '+', '/', '*', ' ', '\n', '\0', (char)0xc3, '=' };
	size_t pos[] = { 2, d1 + 3, d2 + 3 };
	for (size_t b = 0; b < sizeof(bad); b++) {
		for (int i = 0; i < 3; i++) {
			memcpy(t, tok, len + 1);
			t[pos[i]] = bad[b];
			enum pc_jwt_reason r = verify_at(&is, t, len, NOW);
			CU_ASSERT_EQUAL(r, PC_JWT_MALFORMED);
		}
	}
	/* four segments, two segments, empty token, dots only */
	sprintf(t, "%s.", tok);
	EXPECT(&is, t, PC_JWT_MALFORMED);
	sprintf(t, "%s.%s", tok, "AAAA");
	EXPECT(&is, t, PC_JWT_MALFORMED);
	EXPECT(&is, "", PC_JWT_MALFORMED);
	EXPECT(&is, "..", PC_JWT_MALFORMED);
	EXPECT(&is, "...", PC_JWT_MALFORMED);
	/* a segment length of 1 mod 4 cannot be base64url */
	size_t pad = (4 + 1 - (d2 - d1 - 1) % 4) % 4;
	sprintf(t, "%.*s%.*s%s", (int)d2, tok, (int)pad, "AAAA", tok + d2);
	CU_ASSERT_EQUAL((strrchr(t, '.') - strchr(t, '.') - 1) % 4, 1);
	EXPECT(&is, t, PC_JWT_MALFORMED);
	/* nonzero unused bits in the last character: the same bytes spelled
	 * differently is refused (HS256 signatures are 43 characters: 1 byte
	 * and 2 pad bits in the last) */
	memcpy(t, tok, len + 1);
	const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	int v = (int)(strchr(alpha, t[len - 1]) - alpha);
	t[len - 1] = alpha[v | 1];
	EXPECT(&is, t, PC_JWT_MALFORMED);
	free(t);
	free(tok);
}

static void test_size_bounds(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);

	/* 64 KiB of valid-looking base64url: refused before any decoding, and
	 * from an exact-size block (ASan checks nothing is read) */
	size_t big = 64 * 1024;
	char *t = xmalloc(big);
	memset(t, 'A', big);
	t[100] = '.';
	t[200] = '.';
	CU_ASSERT_EQUAL(verify_at(&is, t, big, NOW), PC_JWT_TOO_LARGE);
	free(t);

	/* a real token just over the default 8 KiB bound, then accepted when
	 * the issuer raises it */
	char *payload = xmalloc(9000);
	int n = snprintf(payload, 9000, "{\"iss\":\"" ISS "\",\"aud\":\"portcullis\",\"exp\":%lld,"
			 "\"pad\":\"", (long long)(NOW + 60));
	memset(payload + n, 'x', 6200);
	strcpy(payload + n + 6200, "\"}");
	char *tok = mint("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", payload, PC_JWT_ALG_HS256);
	CU_ASSERT(strlen(tok) > PC_JWT_DEFAULT_TOKEN_LEN);
	EXPECT(&is, tok, PC_JWT_TOO_LARGE);
	is.max_token_len = PC_JWT_MAX_TOKEN_LEN;
	EXPECT(&is, tok, PC_JWT_OK);
	free(tok);
	free(payload);

	/* more claims than the scratch area records */
	char *many = xmalloc(8192);
	n = sprintf(many, "{\"iss\":\"" ISS "\",\"aud\":\"portcullis\",\"exp\":%lld",
		    (long long)(NOW + 60));
	for (int i = 0; i < PC_JWT_MAX_CLAIMS; i++)
		n += sprintf(many + n, ",\"c%d\":%d", i, i);
	strcpy(many + n, "}");
	tok = mint("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", many, PC_JWT_ALG_HS256);
	EXPECT(&is, tok, PC_JWT_MALFORMED);
	free(tok);
	free(many);
}

/* Mint the standard header with payload text built from fmt. */
static enum pc_jwt_reason claims_case(const struct pc_jwt_issuer *is, const char *payload)
{
	char *tok = mint("{\"alg\":\"HS256\",\"kid\":\"hs1\"}", payload, PC_JWT_ALG_HS256);
	enum pc_jwt_reason r = V(is, tok);
	free(tok);
	return r;
}

#define CLAIMS(is, want, ...)                                                         \
	do {                                                                          \
		char p_[1024];                                                        \
		snprintf(p_, sizeof(p_), __VA_ARGS__);                                \
		enum pc_jwt_reason r_ = claims_case((is), p_);                        \
		if (r_ != (want))                                                     \
			fprintf(stderr, "\n  line %d: %s: got %s\n", __LINE__, p_,    \
				pc_jwt_reason_name(r_));                              \
		CU_ASSERT_EQUAL(r_, (want));                                          \
	} while (0)

#define HEAD "{\"iss\":\"" ISS "\",\"aud\":\"portcullis\","

static void test_claim_rules(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	const long long now = NOW;

	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld}", now + 60);
	/* exp: RFC 7519 §4.1.4, leeway 30 */
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld}", now - 29);
	CLAIMS(&is, PC_JWT_EXPIRED, HEAD "\"exp\":%lld}", now - 30);
	CLAIMS(&is, PC_JWT_EXPIRED, HEAD "\"exp\":%lld}", now - 86400);
	CLAIMS(&is, PC_JWT_EXPIRED, HEAD "\"exp\":-9223372036854775807}");
	CLAIMS(&is, PC_JWT_MISSING_EXP, HEAD "\"sub\":\"x\"}");
	CLAIMS(&is, PC_JWT_MALFORMED, HEAD "\"exp\":\"%lld\"}", now + 60);
	CLAIMS(&is, PC_JWT_MALFORMED, HEAD "\"exp\":1e30}");
	/* fractions: exp rounds down, so now - 30 + 0.9 is still expired */
	CLAIMS(&is, PC_JWT_EXPIRED, HEAD "\"exp\":%lld.9}", now - 30);
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld.5}", now + 60);
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld5e-1}", now + 60); /* (now+60)*10+5 e-1 */
	/* nbf: §4.1.5; rounds up */
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld,\"nbf\":%lld}", now + 60, now + 30);
	CLAIMS(&is, PC_JWT_NOT_YET_VALID, HEAD "\"exp\":%lld,\"nbf\":%lld}", now + 600, now + 31);
	CLAIMS(&is, PC_JWT_NOT_YET_VALID, HEAD "\"exp\":%lld,\"nbf\":%lld.1}", now + 600, now + 30);
	CLAIMS(&is, PC_JWT_MALFORMED, HEAD "\"exp\":%lld,\"nbf\":null}", now + 60);
	/* iat in the future is not valid yet */
	CLAIMS(&is, PC_JWT_NOT_YET_VALID, HEAD "\"exp\":%lld,\"iat\":%lld}", now + 600, now + 300);
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld,\"iat\":%lld}", now + 600, now + 20);
	/* lifetime: exp - (iat | nbf | now) <= 3600 */
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld,\"iat\":%lld}", now + 3000, now - 600);
	CLAIMS(&is, PC_JWT_LIFETIME_TOO_LONG, HEAD "\"exp\":%lld,\"iat\":%lld}", now + 3001, now - 600);
	CLAIMS(&is, PC_JWT_LIFETIME_TOO_LONG, HEAD "\"exp\":%lld,\"nbf\":%lld}", now + 3601, now);
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld}", now + 3600);
	CLAIMS(&is, PC_JWT_LIFETIME_TOO_LONG, HEAD "\"exp\":%lld}", now + 3601);
	CLAIMS(&is, PC_JWT_LIFETIME_TOO_LONG, HEAD "\"exp\":9223372036854775807,\"iat\":-9223372036854775807}");
	is.max_lifetime_s = 0;
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld}", now + 86400 * 365);
	is.max_lifetime_s = 3600;
	is.require_exp = false;
	CLAIMS(&is, PC_JWT_OK, HEAD "\"sub\":\"x\"}");
	CU_ASSERT_EQUAL(claims.exp, INT64_MAX);
	is.require_exp = true;
	is.leeway_s = 0;
	CLAIMS(&is, PC_JWT_EXPIRED, HEAD "\"exp\":%lld}", now);
	CLAIMS(&is, PC_JWT_OK, HEAD "\"exp\":%lld}", now + 1);
	is.leeway_s = 30;

	/* iss: §4.1.1, exact and case-sensitive, compared after unescaping */
	CLAIMS(&is, PC_JWT_BAD_ISSUER, "{\"iss\":\"https://issuer.example/\",\"aud\":\"portcullis\",\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_ISSUER, "{\"iss\":\"HTTPS://issuer.example\",\"aud\":\"portcullis\",\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_ISSUER, "{\"aud\":\"portcullis\",\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_ISSUER, "{\"iss\":[\"" ISS "\"],\"aud\":\"portcullis\",\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_OK, "{\"iss\":\"https:\\/\\/issuer.example\",\"aud\":\"portcullis\",\"exp\":%lld}", now + 60);
	/* aud: §4.1.3 */
	CLAIMS(&is, PC_JWT_OK, "{\"iss\":\"" ISS "\",\"aud\":\"other\",\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_OK, "{\"iss\":\"" ISS "\",\"aud\":[\"a\",\"other\"],\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_AUDIENCE, "{\"iss\":\"" ISS "\",\"aud\":\"portcullis2\",\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_AUDIENCE, "{\"iss\":\"" ISS "\",\"aud\":[],\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_AUDIENCE, "{\"iss\":\"" ISS "\",\"aud\":[1,\"portcullis\"],\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_AUDIENCE, "{\"iss\":\"" ISS "\",\"aud\":{\"a\":\"portcullis\"},\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_AUDIENCE, "{\"iss\":\"" ISS "\",\"exp\":%lld}", now + 60);
	is.n_audiences = 0;
	CLAIMS(&is, PC_JWT_OK, "{\"iss\":\"" ISS "\",\"exp\":%lld}", now + 60);
	CLAIMS(&is, PC_JWT_BAD_AUDIENCE, "{\"iss\":\"" ISS "\",\"aud\":\"portcullis\",\"exp\":%lld}", now + 60);
	is.n_audiences = 2;
	/* the claim set itself */
	CLAIMS(&is, PC_JWT_MALFORMED, HEAD "\"exp\":%lld,\"sub\":\"a\",\"sub\":\"b\"}", now + 60);
	CLAIMS(&is, PC_JWT_MALFORMED, HEAD "\"exp\":%lld,\"sub\":7}", now + 60);
	CLAIMS(&is, PC_JWT_MALFORMED, HEAD "\"exp\":%lld", now + 60);
	CLAIMS(&is, PC_JWT_MALFORMED, "[1,2]");
	CU_ASSERT_EQUAL(claims_case(&is, ""), PC_JWT_MALFORMED);
	CLAIMS(&is, PC_JWT_MALFORMED, HEAD "\"exp\":%lld,\"x\":\"\xc0\xaf\"}", now + 60);
}

static void test_verify_any(void)
{
	struct pc_jwt_issuer a, b;
	issuer_std(&a, ALL_ALGS);
	issuer_std(&b, ALL_ALGS);
	a.issuer = PC_JWT_STR("https://a.example");
	const struct pc_jwt_issuer *list[] = { &a, &b };
	char *tok = mint("{\"alg\":\"ES256\"}", payload_std(), PC_JWT_ALG_ES256);

	CU_ASSERT_EQUAL(pc_jwt_verify_any(list, 2, tok, strlen(tok), NOW, scratch, &claims),
			PC_JWT_OK);
	CU_ASSERT_EQUAL(claims.issuer_index, 1);
	CU_ASSERT(pc_str_eq(claims.iss, ISS, strlen(ISS)));
	CU_ASSERT_EQUAL(pc_jwt_verify_any(list, 1, tok, strlen(tok), NOW, scratch, &claims),
			PC_JWT_BAD_ISSUER);
	CU_ASSERT_EQUAL(pc_jwt_verify_any(list, 0, tok, strlen(tok), NOW, scratch, &claims),
			PC_JWT_BAD_ISSUER);
	/* routing picks the issuer, its own rules then apply */
	b.algs = PC_JWT_ALG_BIT(PC_JWT_ALG_RS256);
	CU_ASSERT_EQUAL(pc_jwt_verify_any(list, 2, tok, strlen(tok), NOW, scratch, &claims),
			PC_JWT_ALG_NOT_ALLOWED);
	b.algs = ALL_ALGS;
	b.max_token_len = 100;
	CU_ASSERT_EQUAL(pc_jwt_verify_any(list, 2, tok, strlen(tok), NOW, scratch, &claims),
			PC_JWT_TOO_LARGE);
	free(tok);
	/* an unverified claim set that does not parse */
	tok = mint("{\"alg\":\"ES256\"}", "{\"iss\":", PC_JWT_ALG_ES256);
	CU_ASSERT_EQUAL(pc_jwt_verify_any(list, 2, tok, strlen(tok), NOW, scratch, &claims),
			PC_JWT_MALFORMED);
	free(tok);
}

/* The HMAC compare looks at every byte: each bit of each signature byte
 * flipped is refused, as are a signature one byte short or long, for the
 * three HMAC lengths (32, 48, 64 bytes). */
static void test_hmac_every_bit(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	static const struct { int alg; const char *hdr; size_t mac; } cases[] = {
		{ PC_JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", 32 },
		{ PC_JWT_ALG_HS384, "{\"alg\":\"HS384\",\"kid\":\"hs64\"}", 48 },
		{ PC_JWT_ALG_HS512, "{\"alg\":\"HS512\",\"kid\":\"hs64\"}", 64 },
	};
	for (size_t c = 0; c < PC_ARRAY_SIZE(cases); c++) {
		const uint8_t *key = cases[c].alg == PC_JWT_ALG_HS256 ? K.hs : K.hs64;
		size_t key_len = cases[c].alg == PC_JWT_ALG_HS256 ? sizeof(K.hs) : sizeof(K.hs64);
		char *tok = mint_with(cases[c].hdr, payload_std(), cases[c].alg, key, key_len);
		EXPECT(&is, tok, PC_JWT_OK);
		char *dot2 = strrchr(tok, '.');
		size_t in_len = (size_t)(dot2 - tok);
		uint8_t sig[80], mut[81];
		size_t sig_len = 0;
		CU_ASSERT_EQUAL_FATAL(pc_b64url_decode(dot2 + 1, strlen(dot2 + 1), sig, sizeof(sig),
						       &sig_len), 0);
		CU_ASSERT_EQUAL_FATAL(sig_len, cases[c].mac);
		unsigned accepted = 0;
		for (size_t len = sig_len - 1; len <= sig_len + 1; len++) {
			for (size_t bit = 0; bit < (len == sig_len ? 8 * sig_len : 1); bit++) {
				memcpy(mut, sig, sig_len);
				mut[sig_len] = 0;
				if (len == sig_len)
					mut[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				char *sb = b64(mut, len);
				char *t = xmalloc(in_len + strlen(sb) + 2);
				sprintf(t, "%.*s.%s", (int)in_len, tok, sb);
				enum pc_jwt_reason r = V(&is, t);
				CU_ASSERT_EQUAL(r, PC_JWT_BAD_SIGNATURE);
				accepted += r == PC_JWT_OK;
				free(t);
				free(sb);
			}
		}
		CU_ASSERT_EQUAL(accepted, 0);
		EXPECT(&is, tok, PC_JWT_OK);
		free(tok);
	}
}

/* The header memo: a scratch that has just seen a header answers every
 * token exactly as a fresh scratch does. Tokens of many headers (valid for
 * several keys, crit, unknown or non-string kid, alg none, an escaped alg,
 * duplicate names, not JSON, longer than the memo keeps) go through one
 * warm scratch in a pseudo-random order and against issuers that differ in
 * algorithms and keys, each answer held against a new scratch's; then the
 * same header twice in a row under issuers that must refuse it the second
 * time. */
static void test_header_memo(void)
{
	char long_hdr[600];
	snprintf(long_hdr, sizeof(long_hdr), "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"x5u\":\"%0300d\"}", 7);
	const struct { const char *hdr; int alg; } hs[] = {
		{ "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"typ\":\"JWT\"}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"HS256\",\"kid\":\"hs1\"}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"ES256\"}", PC_JWT_ALG_ES256 },
		{ "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", PC_JWT_ALG_RS256 },
		{ "{\"alg\":\"HS256\",\"kid\":\"nope\"}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"HS256\",\"kid\":7}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"HS256\",\"kid\":\"hs1\",\"crit\":[\"x\"]}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"none\"}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"\\u0048S256\",\"kid\":\"hs1\"}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"HS256\",\"alg\":\"none\"}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"HS256\"", PC_JWT_ALG_HS256 },
		{ "{\"kid\":\"hs1\"}", PC_JWT_ALG_HS256 },
		{ "{\"alg\":\"HS256\", \"kid\" : \"hs1\"}", PC_JWT_ALG_HS256 },
		{ long_hdr, PC_JWT_ALG_HS256 },
	};
	enum { NT = PC_ARRAY_SIZE(hs) };
	char *tok[NT];
	for (size_t i = 0; i < NT; i++)
		tok[i] = mint(hs[i].hdr, payload_std(), hs[i].alg);

	struct pc_jwt_issuer iss[4];
	issuer_std(&iss[0], ALL_ALGS);
	issuer_std(&iss[1], PC_JWT_ALG_BIT(PC_JWT_ALG_RS256) | PC_JWT_ALG_BIT(PC_JWT_ALG_ES256));
	issuer_std(&iss[2], ALL_ALGS);
	iss[2].keys = NULL;
	char *only = jwk_oct(K.hs64, sizeof(K.hs64), "hs1");
	char json[1024];
	snprintf(json, sizeof(json), "{\"keys\":[%s]}", only);
	struct pc_jwks *other = load_or_die(json);
	issuer_std(&iss[3], ALL_ALGS);
	iss[3].keys = other; /* a key named hs1, but not the one that signed */

	/* every token is accepted or refused for its own reason at least once */
	unsigned seen_ok = 0, seen_refused = 0;
	uint32_t x = 99;
	for (unsigned n = 0; n < 3000; n++) {
		x = x * 1103515245u + 12345u;
		size_t t = (x >> 8) % NT, i = (x >> 20) % 4;
		struct pc_jwt_claims warm, cold;
		enum pc_jwt_reason rw = pc_jwt_verify(&iss[i], tok[t], strlen(tok[t]), NOW, scratch, &warm);
		struct pc_jwt_scratch *fresh = pc_jwt_scratch_new();
		CU_ASSERT_PTR_NOT_NULL_FATAL(fresh);
		enum pc_jwt_reason rc = pc_jwt_verify(&iss[i], tok[t], strlen(tok[t]), NOW, fresh, &cold);
		if (rw != rc)
			fprintf(stderr, "\n  header %zu issuer %zu: warm %s, fresh %s\n", t, i,
				pc_jwt_reason_name(rw), pc_jwt_reason_name(rc));
		CU_ASSERT_EQUAL(rw, rc);
		if (rw == PC_JWT_OK && rc == PC_JWT_OK) {
			seen_ok++;
			CU_ASSERT_EQUAL(warm.alg, cold.alg);
			CU_ASSERT_EQUAL(warm.exp, cold.exp);
			CU_ASSERT(warm.sub.len == cold.sub.len &&
				  memcmp(warm.sub.p, cold.sub.p, warm.sub.len) == 0);
		} else {
			seen_refused++;
		}
		pc_jwt_scratch_free(fresh);
	}
	CU_ASSERT(seen_ok > 300);
	CU_ASSERT(seen_refused > 300);

	/* the memo keeps what the header says, never what an issuer decided */
	EXPECT(&iss[0], tok[1], PC_JWT_OK);
	EXPECT(&iss[1], tok[1], PC_JWT_ALG_NOT_ALLOWED);
	EXPECT(&iss[2], tok[1], PC_JWT_ALG_NOT_ALLOWED);
	EXPECT(&iss[3], tok[1], PC_JWT_BAD_SIGNATURE);
	EXPECT(&iss[0], tok[1], PC_JWT_OK);
	/* a refused header stays refused, for the same reason, on a repeat */
	for (int k = 0; k < 2; k++) {
		EXPECT(&iss[0], tok[4], PC_JWT_UNKNOWN_KID);
		EXPECT(&iss[0], tok[5], PC_JWT_MALFORMED);
		EXPECT(&iss[0], tok[5], PC_JWT_MALFORMED);
		EXPECT(&iss[0], tok[6], PC_JWT_CRIT_UNSUPPORTED);
		EXPECT(&iss[0], tok[6], PC_JWT_CRIT_UNSUPPORTED);
		EXPECT(&iss[0], tok[7], PC_JWT_ALG_NOT_ALLOWED);
		EXPECT(&iss[0], tok[7], PC_JWT_ALG_NOT_ALLOWED);
		EXPECT(&iss[0], tok[8], PC_JWT_OK);
		EXPECT(&iss[0], tok[9], PC_JWT_MALFORMED);
		EXPECT(&iss[0], tok[9], PC_JWT_MALFORMED);
		EXPECT(&iss[0], tok[10], PC_JWT_MALFORMED);
		EXPECT(&iss[0], tok[10], PC_JWT_MALFORMED);
		EXPECT(&iss[0], tok[11], PC_JWT_MALFORMED);
		EXPECT(&iss[0], tok[13], PC_JWT_OK);
		EXPECT(&iss[0], tok[13], PC_JWT_OK);
	}
	/* same header text, a payload or signature changed: the memo answers
	 * for the header only */
	char *bad = xstrdup(tok[0]);
	bad[strlen(bad) - 2] = bad[strlen(bad) - 2] == 'A' ? 'B' : 'A';
	EXPECT(&iss[0], tok[0], PC_JWT_OK);
	EXPECT(&iss[0], bad, PC_JWT_BAD_SIGNATURE);
	free(bad);

	pc_jwks_free(other);
	free(only);
	for (size_t i = 0; i < NT; i++)
		free(tok[i]);
}

/* Every strict prefix and every one-byte change of a valid token must be
 * refused, and never read outside the token. */
static void test_prefixes_and_mutations(void)
{
	struct pc_jwt_issuer is;
	issuer_std(&is, ALL_ALGS);
	static const struct { int alg; const char *hdr; } cases[] = {
		{ PC_JWT_ALG_HS256, "{\"alg\":\"HS256\",\"kid\":\"hs1\"}" },
		{ PC_JWT_ALG_ES256, "{\"alg\":\"ES256\"}" },
	};
	for (size_t c = 0; c < PC_ARRAY_SIZE(cases); c++) {
		char *tok = mint(cases[c].hdr, payload_std(), cases[c].alg);
		size_t len = strlen(tok);
		CU_ASSERT_EQUAL(V(&is, tok), PC_JWT_OK);
		unsigned accepted = 0;
		for (size_t cut = 0; cut < len; cut++)
			accepted += verify_at(&is, tok, cut, NOW) == PC_JWT_OK;
		CU_ASSERT_EQUAL(accepted, 0);
		char *t = xmalloc(len);
		const char subst[] = { 'A', 'B', 'Q', 'g', '_', '-', '.', '=' };
		for (size_t i = 0; i < len; i++) {
			for (size_t s = 0; s < sizeof(subst); s++) {
				if (tok[i] == subst[s])
					continue;
				memcpy(t, tok, len);
				t[i] = subst[s];
				enum pc_jwt_reason r = verify_at(&is, t, len, NOW);
				if (r == PC_JWT_OK)
					fprintf(stderr, "\n  accepted with [%zu]='%c'\n", i, subst[s]);
				accepted += r == PC_JWT_OK;
			}
		}
		CU_ASSERT_EQUAL(accepted, 0);
		free(t);
		free(tok);
	}
}

static void expect_load_error(const char *json, const char *want)
{
	char err[256] = "";
	struct pc_jwks *ks = pc_jwks_load(json, strlen(json), err, sizeof(err));
	CU_ASSERT_PTR_NULL(ks);
	if (strcmp(err, want) != 0)
		fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
	CU_ASSERT_STRING_EQUAL(err, want);
	pc_jwks_free(ks);
}

static void test_jwks_errors(void)
{
	char json[4096];
	char *rsa = jwk_rsa(K.rsa, "r", "");

	/* jansson's own words follow the line number */
	char err0[256];
	CU_ASSERT_PTR_NULL(pc_jwks_load("{\"keys\":[", 9, err0, sizeof(err0)));
	CU_ASSERT(strncmp(err0, "jwks: line 1: ", 14) == 0);
	CU_ASSERT_PTR_NULL(pc_jwks_load("{\"keys\":[],\"keys\":[]}", 21, err0, sizeof(err0)));
	CU_ASSERT(strncmp(err0, "jwks: line 1: ", 14) == 0 && strstr(err0, "duplicate"));
	expect_load_error("[]", "jwks: expected an object with a \"keys\" array (RFC 7517 §5)");
	expect_load_error("{\"keys\":{}}", "jwks: expected an object with a \"keys\" array (RFC 7517 §5)");
	expect_load_error("{\"keys\":[]}", "jwks: keys: expected 1 to 64 keys, got 0");
	expect_load_error("{\"keys\":[{\"kty\":\"oct\",\"k\":\"AAAA\"},7]}",
			  "jwks: keys[0].k: HMAC key of 3 bytes, at least 32 required");
	expect_load_error("{\"keys\":[7]}", "jwks: keys[0]: expected a JWK object, got a number");
	expect_load_error("{\"keys\":[{}]}",
			  "jwks: keys[0].kty: expected \"RSA\", \"EC\", \"OKP\" or \"oct\", got nothing");
	expect_load_error("{\"keys\":[{\"kty\":\"DSA\"}]}",
			  "jwks: keys[0].kty: expected \"RSA\", \"EC\", \"OKP\" or \"oct\", got \"DSA\"");
	expect_load_error("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"AA\"}]}",
			  "jwks: keys[0].crv: expected P-256, P-384 or Ed25519, got \"X25519\"");
	expect_load_error("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"Ed25519\",\"x\":\"AA\"}]}",
			  "jwks: keys[0].crv: \"Ed25519\" is not a curve for kty \"EC\"");
	expect_load_error("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AAAA\"}]}",
			  "jwks: keys[0].x: expected 32 bytes for Ed25519, got 3");
	expect_load_error("{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA==\"}]}",
			  "jwks: keys[0].x: not base64url without padding (RFC 7515 §2)");
	expect_load_error("{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AAAA\",\"y\":\"AAAA\"}]}",
			  "jwks: keys[0].x: expected 32 bytes for P-256, got 3");
	/* a point that is not on the curve: x = y = 1 */
	char one[64];
	uint8_t c1[32] = { 0 };
	c1[31] = 1;
	char *c1b = b64(c1, 32);
	snprintf(one, sizeof(one), "%s", c1b);
	free(c1b);
	snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
		 one, one);
	expect_load_error(json, "jwks: keys[0]: (x, y) is not a point on P-256");
	/* private material */
	snprintf(json, sizeof(json), "{\"keys\":[%.*s,\"d\":\"AAAA\"}]}", (int)strlen(rsa) - 1, rsa);
	expect_load_error(json, "jwks: keys[0].d: private key member in a verification key set; "
				"publish only the public key");
	/* alg that does not fit, unknown alg, bad use */
	snprintf(json, sizeof(json), "{\"keys\":[%.*s,\"alg\":\"ES256\"}]}", (int)strlen(rsa) - 1, rsa);
	expect_load_error(json, "jwks: keys[0].alg: \"ES256\" does not fit a kty \"RSA\" key");
	snprintf(json, sizeof(json), "{\"keys\":[%.*s,\"alg\":\"none\"}]}", (int)strlen(rsa) - 1, rsa);
	expect_load_error(json, "jwks: keys[0].alg: unsupported signature algorithm \"none\"");
	snprintf(json, sizeof(json), "{\"keys\":[%.*s,\"use\":\"tls\"}]}", (int)strlen(rsa) - 1, rsa);
	expect_load_error(json, "jwks: keys[0].use: expected \"sig\" or \"enc\", got \"tls\"");
	/* duplicate kid and kty */
	snprintf(json, sizeof(json), "{\"keys\":[%s,%s]}", rsa, rsa);
	expect_load_error(json, "jwks: keys[1].kid: same kid and kty as an earlier key");
	/* HS512 key too short for its alg */
	char *k48 = jwk_oct(K.hs64, 48, "k");
	snprintf(json, sizeof(json), "{\"keys\":[%.*s,\"alg\":\"HS512\"}]}", (int)strlen(k48) - 1, k48);
	expect_load_error(json, "jwks: keys[0].k: HMAC key of 48 bytes, at least 64 required");
	free(k48);
	/* RSA under 2048 bits */
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	char *s = jwk_rsa(small, "small", "");
	snprintf(json, sizeof(json), "{\"keys\":[%s,%s]}", rsa, s);
	expect_load_error(json, "jwks: keys[1].n: RSA modulus of 1024 bits, at least 2048 required");
	free(s);
	EVP_PKEY_free(small);
	/* only encryption keys: nothing to verify with */
	snprintf(json, sizeof(json), "{\"keys\":[%.*s,\"use\":\"enc\"}]}", (int)strlen(rsa) - 1, rsa);
	expect_load_error(json, "jwks: no signature verification key (1 skipped for encryption)");
	/* a missing file */
	char err[256];
	CU_ASSERT_PTR_NULL(pc_jwks_load_file(DATA "no-such-file.json", err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_STRING_EQUAL(err, DATA "no-such-file.json: No such file or directory");
	free(rsa);
}

static void test_jwks_skips_and_accepts(void)
{
	char json[8192];
	char *rsa = jwk_rsa(K.rsa, "r", ",\"use\":\"sig\",\"key_ops\":[\"verify\"],"
				  "\"x5t\":\"ignored\",\"alg\":\"PS256\"");
	char *enc = jwk_rsa(K.rsa_b, "e", ",\"use\":\"enc\",\"alg\":\"RSA-OAEP\"");
	char *ops = jwk_rsa(K.rsa_b, "o", ",\"key_ops\":[\"encrypt\"]");
	snprintf(json, sizeof(json), "{\"keys\":[%s,%s,%s]}", rsa, enc, ops);
	struct pc_jwks *ks = load_or_die(json);
	CU_ASSERT_EQUAL(pc_jwks_count(ks), 1);
	pc_jwks_free(ks);
	free(rsa);
	free(enc);
	free(ops);
	CU_ASSERT_EQUAL(pc_jwks_count(K.jwks), 6);
}

static void test_names(void)
{
	CU_ASSERT_STRING_EQUAL(pc_jwt_reason_name(PC_JWT_TOO_LARGE), "jwt_too_large");
	CU_ASSERT_STRING_EQUAL(pc_jwt_reason_name(PC_JWT_ALG_NOT_ALLOWED), "jwt_alg_not_allowed");
	CU_ASSERT_STRING_EQUAL(pc_jwt_reason_name(PC_JWT_LIFETIME_TOO_LONG), "jwt_lifetime_too_long");
	for (int i = 0; i < PC_JWT_REASON_COUNT; i++)
		for (int j = i + 1; j < PC_JWT_REASON_COUNT; j++)
			CU_ASSERT(strcmp(pc_jwt_reason_name(i), pc_jwt_reason_name(j)) != 0);
	CU_ASSERT_EQUAL(pc_jwt_alg_from_name("EdDSA", 5), PC_JWT_ALG_EDDSA);
	CU_ASSERT_EQUAL(pc_jwt_alg_from_name("none", 4), -1);
	CU_ASSERT_EQUAL(pc_jwt_alg_from_name("ES512", 5), -1);
	CU_ASSERT_EQUAL(pc_jwt_alg_from_name("RS25", 4), -1);
	/* every name maps back to itself; one byte more, less or changed (a
	 * case flip included) is unknown */
	for (int a = 0; a < PC_JWT_ALG_COUNT; a++) {
		const char *nm = pc_jwt_alg_name(a);
		size_t l = strlen(nm);
		char buf[16];
		CU_ASSERT_EQUAL(pc_jwt_alg_from_name(nm, l), a);
		CU_ASSERT_EQUAL(pc_jwt_alg_from_name(nm, l - 1), -1);
		snprintf(buf, sizeof(buf), "%s6", nm);
		CU_ASSERT_EQUAL(pc_jwt_alg_from_name(buf, l + 1), -1);
		for (size_t i = 0; i < l; i++) {
			memcpy(buf, nm, l);
			buf[i] ^= 0x20;
			CU_ASSERT_EQUAL(pc_jwt_alg_from_name(buf, l), -1);
		}
	}

	/* base64url, both ways */
	char out[16];
	uint8_t bin[16];
	size_t n;
	CU_ASSERT_EQUAL(pc_b64url_encode((const uint8_t *)"abcd", 4, out, sizeof(out)), 6);
	CU_ASSERT(memcmp(out, "YWJjZA", 6) == 0);
	CU_ASSERT_EQUAL(pc_b64url_decode("YWJjZA", 6, bin, sizeof(bin), &n), 0);
	CU_ASSERT(n == 4 && memcmp(bin, "abcd", 4) == 0);
	CU_ASSERT_EQUAL(pc_b64url_decode("YWJjZB", 6, bin, sizeof(bin), &n), -EINVAL);
	CU_ASSERT_EQUAL(pc_b64url_decode("YWJjZA==", 8, bin, sizeof(bin), &n), -EINVAL);
	CU_ASSERT_EQUAL(pc_b64url_decode("YWJjZA", 6, bin, 3, &n), -ENOSPC);
	CU_ASSERT_EQUAL(pc_b64url_encode((const uint8_t *)"abcd", 4, out, 5), 0);
	CU_ASSERT_EQUAL(pc_b64url_decode("_-8", 3, bin, sizeof(bin), &n), 0);
	CU_ASSERT(n == 2 && bin[0] == 0xff && bin[1] == 0xef);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_rfc7515_a1_hs256),
	PC_TEST(test_rfc7519_3_1),
	PC_TEST(test_rfc7515_a2_rs256),
	PC_TEST(test_rfc7515_a3_es256),
	PC_TEST(test_verify_signature),
	PC_TEST(test_rfc7515_a4_es512_unsupported),
	PC_TEST(test_rfc7515_a5_none),
	PC_TEST(test_every_algorithm),
	PC_TEST(test_prepared_key_contexts),
	PC_TEST(test_claim_has),
	PC_TEST(test_forged_alg_none),
	PC_TEST(test_forged_hmac_with_rsa_public_key),
	PC_TEST(test_forged_signatures),
	PC_TEST(test_key_selection),
	PC_TEST(test_header_rules),
	PC_TEST(test_b64url_codec),
	PC_TEST(test_malformed_base64url),
	PC_TEST(test_size_bounds),
	PC_TEST(test_claim_rules),
	PC_TEST(test_verify_any),
	PC_TEST(test_hmac_every_bit),
	PC_TEST(test_header_memo),
	PC_TEST(test_prefixes_and_mutations),
	PC_TEST(test_jwks_errors),
	PC_TEST(test_jwks_skips_and_accepts),
	PC_TEST(test_names),
	CU_TEST_INFO_NULL,
};

int main(void)
{
	CU_SuiteInfo suites[] = {
		{ "jwt", suite_init, suite_clean, NULL, NULL, tests },
		CU_SUITE_INFO_NULL,
	};
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	if (CU_register_suites(suites) != CUE_SUCCESS) {
		CU_cleanup_registry();
		return 2;
	}
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
			  CU_get_number_of_suites_failed();
	CU_cleanup_registry();
	return failed ? 1 : 0;
}
