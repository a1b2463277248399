/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-bench-identity: what identity resolution costs in the engine.
 * No EAL, no DPDK: the engine is libportcullis alone.
 *
 * A policy with one identity and one rule per caller kind is written as JSON
 * text and built the way the control plane builds it (pc_policy_load_string,
 * pc_policy_compile, pc_policy_from_image), so rule matching costs the same
 * for every caller and the differences are identity resolution:
 *   baseline     no credential: the source-only identity (longest prefix)
 *   api_key      X-Api-Key (SHA-256 of the key, digest lookup)
 *   jwt_cached   the same token again: the scratch's verified-token cache
 *   jwt_uncached a token never seen before, per algorithm: HS256, RS256,
 *                PS256, ES256, ES384, EdDSA
 * Keys are made here with OpenSSL 3 EVP, the JWK Sets are written from their
 * public parts, and every token is signed here. The cache evicts the way
 * with the earliest exp, so a cycled set of tokens larger than the cache
 * still hits on the tokens with the latest exp: the uncached figures
 * therefore use a fresh token (distinct jti) for every call and reuse none.
 *
 * The reference is the bare OpenSSL verify on the same signing inputs and
 * signatures, prepared the way lib/jwt/jwt.c keeps them: for RSA, PSS and
 * ECDSA a verify context set up once per key (EVP_PKEY_verify_init, the
 * digest, PSS padding) and per token the digest of the signing input on a
 * reused EVP_MD_CTX and EVP_PKEY_verify (DER signatures for ECDSA,
 * converted before timing); for EdDSA EVP_DigestVerifyInit +
 * EVP_DigestVerify; for HS256 a reused EVP_MAC_CTX (init, update, final)
 * plus a constant-time compare.
 *
 * Source prefixes, lists against the LPM: the engine without an index walks
 * the policy's lists (the source-only identities longest prefix first; a
 * credential's binding through its identity's own prefixes); the dataplane
 * hands it an rte_lpm/rte_lpm6 index (dataplane/source_lpm.h). Policies of
 * 10 and 1,000 source-only identities (one /24 each) and as many API-key
 * identities bound to two IPv4 /24s and an IPv6 /48 each are decided both
 * ways, call by call, callers cycling over every identity: the source-only
 * caller, and the key from its second prefix. Only this part needs the EAL
 * (started last, without hugepages; the process's CPU affinity is put back
 * after rte_eal_init), and --no-sources leaves it out.
 *
 * Engine and reference calls alternate token by token, so that load from
 * other processes on the machine weighs on both sides of each ratio alike.
 * Each call is timed alone with lfence + rdtsc on both sides; the median of
 * an empty timed region is subtracted from every sample. The request head
 * is parsed before each timed pc_decide() (untimed), so the request is in
 * the cache as it is in the dataplane right after its own parse.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <unistd.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <x86intrin.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>

#include <rte_eal.h>

#include "engine/decide.h"
#include "source_lpm.h"
#include "http/http_parse.h"
#include "jwt/jwks.h"
#include "jwt/jwt.h"
#include "pkt/pkt_parse.h"
#include "util/addr.h"
#include "policy/policy.h"

#define ISS_PREFIX "https://issuer.bench/"
#define API_KEY "bench-api-key-0123456789"
#define WARMUP 64 /* fresh tokens verified before the uncached samples */

enum fam { F_HMAC, F_RSA, F_PSS, F_EC, F_ED };

struct alg {
	const char *name; /* JWS "alg" */
	enum fam fam;
	const char *curve; /* EC curve */
	unsigned coord;    /* bytes of r, s, x, y for EC */
	unsigned samples;  /* default uncached samples: ES384 verifies slowly; 0: skipped */
	const EVP_MD *md;
	EVP_PKEY *pkey;           /* NULL for HMAC */
	uint8_t secret[32];       /* HMAC key */
	EVP_MAC_CTX *mac;         /* HMAC key set once (reference) */
	int identity;             /* index in the policy */
	EVP_PKEY_CTX *vctx;       /* RSA, PSS, EC: verify context set up once (reference) */
	struct pc_jwks *jwks;     /* the issuer's key set, loaded by lib/jwt (verify step) */
	int jwt_alg;              /* enum pc_jwt_alg */
};

static struct alg algs[] = {
	{ "HS256", F_HMAC, NULL, 0, 4000, NULL, NULL, { 0 }, NULL, -1, NULL, NULL, -1 },
	{ "RS256", F_RSA, NULL, 0, 3000, NULL, NULL, { 0 }, NULL, -1, NULL, NULL, -1 },
	{ "PS256", F_PSS, NULL, 0, 3000, NULL, NULL, { 0 }, NULL, -1, NULL, NULL, -1 },
	{ "ES256", F_EC, "P-256", 32, 3000, NULL, NULL, { 0 }, NULL, -1, NULL, NULL, -1 },
	{ "ES384", F_EC, "P-384", 48, 1000, NULL, NULL, { 0 }, NULL, -1, NULL, NULL, -1 },
	{ "EdDSA", F_ED, NULL, 0, 3000, NULL, NULL, { 0 }, NULL, -1, NULL, NULL, -1 },
};
#define N_ALGS (sizeof(algs) / sizeof(algs[0]))

/* One request: its head, and where the token's signing input and the
 * signature for the reference verify are. */
struct treq {
	char *head;
	size_t head_len;
	const char *si; /* into head: "header.payload" */
	size_t si_len;
	uint8_t sig[512]; /* raw (HMAC, RSA, EdDSA) or DER (ECDSA) */
	size_t sig_len;
	uint8_t jws_sig[512]; /* the signature as the token carries it (ECDSA: R then S) */
	size_t jws_sig_len;
};

static int64_t now_s;
static struct pc_request base_req;

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "portcullis-bench-identity: %s\n", what);
	exit(1);
}

static inline uint64_t tsc(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

struct stat2 {
	double p50, p99;
};

/* Percentiles of n samples (sorted in place), timer overhead removed. */
static struct stat2 pct(uint64_t *s, size_t n, uint64_t ovh)
{
	qsort(s, n, sizeof(*s), cmp_u64);
	double p50 = (double)s[n / 2], p99 = (double)s[(n * 99) / 100];
	return (struct stat2){ p50 > ovh ? p50 - (double)ovh : 0, p99 > ovh ? p99 - (double)ovh : 0 };
}

static double tsc_hz(void)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	uint64_t t0 = tsc();
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 200000000L);
	uint64_t t1 = tsc();
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	return (double)(t1 - t0) * 1e9 / ns;
}

static size_t b64u(const void *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *p = in;
	size_t o = 0;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;
		size_t left = len - i;
		if (left > 1)
			v |= (uint32_t)p[i + 1] << 8;
		if (left > 2)
			v |= p[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		if (left > 1)
			out[o++] = a[(v >> 6) & 63];
		if (left > 2)
			out[o++] = a[v & 63];
	}
	out[o] = '\0';
	return o;
}

/* A big number as exactly width bytes (width 0: its natural length), in
 * base64url: JWK members are unsigned big-endian (RFC 7518 §6.2.1, §6.3.1). */
static void bn_b64u(const EVP_PKEY *k, const char *param, int width, char *out)
{
	BIGNUM *bn = NULL;
	uint8_t buf[600];
	if (EVP_PKEY_get_bn_param(k, param, &bn) != 1)
		die("EVP_PKEY_get_bn_param");
	int n = width ? BN_bn2binpad(bn, buf, width) : BN_bn2bin(bn, buf);
	BN_free(bn);
	if (n <= 0)
		die("BN_bn2bin");
	b64u(buf, (size_t)n, out);
}

static void make_keys(void)
{
	for (size_t i = 0; i < N_ALGS; i++) {
		struct alg *a = &algs[i];
		a->md = a->fam == F_ED ? NULL : a->coord == 48 ? EVP_sha384() : EVP_sha256();
		switch (a->fam) {
		case F_HMAC:
			for (unsigned j = 0; j < sizeof(a->secret); j++)
				a->secret[j] = (uint8_t)(0x5a ^ (j * 37));
			break;
		case F_RSA:
		case F_PSS:
			a->pkey = EVP_RSA_gen(2048);
			break;
		case F_EC:
			a->pkey = EVP_EC_gen(a->curve);
			break;
		case F_ED:
			a->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
			break;
		}
		if (a->fam != F_HMAC && a->pkey == NULL)
			die("key generation failed");
		if (a->fam == F_RSA || a->fam == F_PSS || a->fam == F_EC) {
			a->vctx = EVP_PKEY_CTX_new(a->pkey, NULL);
			if (a->vctx == NULL || EVP_PKEY_verify_init(a->vctx) != 1 ||
			    EVP_PKEY_CTX_set_signature_md(a->vctx, a->md) != 1 ||
			    (a->fam == F_PSS &&
			     (EVP_PKEY_CTX_set_rsa_padding(a->vctx, RSA_PKCS1_PSS_PADDING) != 1 ||
			      EVP_PKEY_CTX_set_rsa_pss_saltlen(a->vctx, RSA_PSS_SALTLEN_DIGEST) != 1)))
				die("verify context");
		}
	}
}

/* The public JWK Set of one algorithm's key, with kid "k-ALG". */
static int jwks_json(const struct alg *a, char *out, size_t cap)
{
	char x[800], y[200];
	switch (a->fam) {
	case F_HMAC:
		b64u(a->secret, sizeof(a->secret), x);
		return snprintf(out, cap, "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k-%s\",\"k\":\"%s\"}]}",
				a->name, x);
	case F_RSA:
	case F_PSS:
		bn_b64u(a->pkey, OSSL_PKEY_PARAM_RSA_N, 0, x);
		bn_b64u(a->pkey, OSSL_PKEY_PARAM_RSA_E, 0, y);
		return snprintf(out, cap,
				"{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k-%s\",\"n\":\"%s\",\"e\":\"%s\"}]}",
				a->name, x, y);
	case F_EC:
		bn_b64u(a->pkey, OSSL_PKEY_PARAM_EC_PUB_X, (int)a->coord, x);
		bn_b64u(a->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, (int)a->coord, y);
		return snprintf(out, cap,
				"{\"keys\":[{\"kty\":\"EC\",\"kid\":\"k-%s\",\"crv\":\"%s\",\"x\":\"%s\","
				"\"y\":\"%s\"}]}",
				a->name, a->curve, x, y);
	case F_ED: {
		uint8_t raw[32];
		size_t len = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(a->pkey, raw, &len) != 1)
			die("EVP_PKEY_get_raw_public_key");
		b64u(raw, len, x);
		return snprintf(out, cap,
				"{\"keys\":[{\"kty\":\"OKP\",\"kid\":\"k-%s\",\"crv\":\"Ed25519\","
				"\"x\":\"%s\"}]}",
				a->name, x);
	}
	}
	return -1;
}

static void cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Append to a growing string. */
static void cat(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if (n < 0)
			die("vsnprintf");
		if ((size_t)n < *cap - *len) {
			*len += (size_t)n;
			return;
		}
		*cap = (*cap + (size_t)n) * 2;
		if ((*buf = realloc(*buf, *cap)) == NULL)
			die("out of memory");
	}
}

/* Identities, in this order: by-source, by-key, jwt-ALG...; one rule each. */
static struct pc_policy *build_policy(void)
{
	size_t len = 0, cap = 4096;
	char *t = malloc(cap), hex[65], err[1024];
	uint8_t d[32];
	if (t == NULL || EVP_Digest(API_KEY, strlen(API_KEY), d, NULL, EVP_sha256(), NULL) != 1)
		die("sha256");
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	t[0] = '\0';
	cat(&t, &len, &cap, "{\"version\":1,\"default_action\":\"deny\",\"jwt_issuers\":[");
	for (size_t i = 0; i < N_ALGS; i++) {
		char ks[2048];
		if (jwks_json(&algs[i], ks, sizeof(ks)) >= (int)sizeof(ks))
			die("jwks too long");
		cat(&t, &len, &cap,
		    "%s{\"issuer\":\"" ISS_PREFIX "%s\",\"audiences\":[\"bench\"],"
		    "\"algorithms\":[\"%s\"],\"jwks\":%s}",
		    i ? "," : "", algs[i].name, algs[i].name, ks);
	}
	cat(&t, &len, &cap,
	    "],\"identities\":[{\"name\":\"by-source\",\"sources\":[\"198.19.0.0/16\"]},"
	    "{\"name\":\"by-key\",\"api_keys_sha256\":[\"%s\"],\"api_key_header\":\"x-api-key\"}",
	    hex);
	for (size_t i = 0; i < N_ALGS; i++) {
		cat(&t, &len, &cap,
		    ",{\"name\":\"jwt-%s\",\"jwt\":{\"issuer\":\"" ISS_PREFIX "%s\",\"subject\":\"bench-*\"}}",
		    algs[i].name, algs[i].name);
		algs[i].identity = 2 + (int)i;
	}
	cat(&t, &len, &cap,
	    "],\"rules\":[{\"id\":\"r-by-source\",\"identities\":[\"by-source\"],\"action\":\"allow\"},"
	    "{\"id\":\"r-by-key\",\"identities\":[\"by-key\"],\"action\":\"allow\"}");
	for (size_t i = 0; i < N_ALGS; i++)
		cat(&t, &len, &cap,
		    ",{\"id\":\"r-jwt-%s\",\"identities\":[\"jwt-%s\"],\"action\":\"allow\"}",
		    algs[i].name, algs[i].name);
	cat(&t, &len, &cap, "]}");

	struct pc_policy *p = pc_policy_build_string(t, len, "bench-identity.json", err, sizeof(err));
	free(t);
	if (p == NULL)
		die(err);
	return p;
}

/* An HTTP head with an optional credential line. */
static char *make_head(const char *cred_line, size_t *len)
{
	static const char fmt[] = "GET /api/v1/items/42 HTTP/1.1\r\nHost: svc.bench\r\n"
				  "User-Agent: bench-agent/1.0\r\nAccept: application/json\r\n%s\r\n";
	size_t cap = sizeof(fmt) + strlen(cred_line);
	char *h = malloc(cap);
	int n = h ? snprintf(h, cap, fmt, cred_line) : -1;
	if (n < 0 || (size_t)n >= cap)
		die("request head");
	*len = (size_t)n;
	return h;
}

/* ECDSA: DER (what EVP produces and verifies) to JWS r || s (RFC 7518 §3.4). */
static void der_to_raw(const uint8_t *der, size_t der_len, unsigned coord, uint8_t *raw)
{
	const uint8_t *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (es == NULL)
		die("d2i_ECDSA_SIG");
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, (int)coord) != (int)coord ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + coord, (int)coord) != (int)coord)
		die("BN_bn2binpad");
	ECDSA_SIG_free(es);
}

/* A token of alg a with jti j, in a request head. */
static void mint(const struct alg *a, unsigned j, EVP_MD_CTX *ctx, struct treq *r)
{
	char hdr[128], cl[256], si[1024], sig64[700];
	uint8_t raw[512];
	size_t raw_len = 0;
	snprintf(hdr, sizeof(hdr), "{\"alg\":\"%s\",\"kid\":\"k-%s\",\"typ\":\"JWT\"}", a->name, a->name);
	snprintf(cl, sizeof(cl),
		 "{\"iss\":\"" ISS_PREFIX "%s\",\"sub\":\"bench-%s\",\"aud\":\"bench\",\"iat\":%" PRId64
		 ",\"exp\":%" PRId64 ",\"jti\":\"%s-%08u\"}",
		 a->name, a->name, now_s - 10, now_s + 3000, a->name, j);
	size_t n = b64u(hdr, strlen(hdr), si);
	si[n++] = '.';
	n += b64u(cl, strlen(cl), si + n);

	if (a->fam == F_HMAC) {
		unsigned l = 0;
		if (HMAC(EVP_sha256(), a->secret, sizeof(a->secret), (const uint8_t *)si, n, raw, &l) == NULL)
			die("HMAC");
		raw_len = l;
		memcpy(r->sig, raw, raw_len);
		r->sig_len = raw_len;
	} else {
		EVP_PKEY_CTX *pctx = NULL;
		size_t sl = sizeof(r->sig);
		if (EVP_DigestSignInit(ctx, &pctx, a->md, NULL, a->pkey) != 1)
			die("EVP_DigestSignInit");
		if (a->fam == F_PSS &&
		    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
			die("PSS parameters");
		if (EVP_DigestSign(ctx, r->sig, &sl, (const uint8_t *)si, n) != 1)
			die("EVP_DigestSign");
		EVP_MD_CTX_reset(ctx);
		r->sig_len = sl;
		if (a->fam == F_EC) {
			der_to_raw(r->sig, sl, a->coord, raw);
			raw_len = 2 * a->coord;
		} else {
			memcpy(raw, r->sig, sl);
			raw_len = sl;
		}
	}
	memcpy(r->jws_sig, raw, raw_len);
	r->jws_sig_len = raw_len;
	b64u(raw, raw_len, sig64);
	char line[2048];
	snprintf(line, sizeof(line), "Authorization: Bearer %s.%s\r\n", si, sig64);
	r->head = make_head(line, &r->head_len);
	r->si = strstr(r->head, "Bearer ") + 7;
	r->si_len = n;
}

static uint64_t timer_overhead(void)
{
	enum { N = 100001 };
	static uint64_t s[N];
	for (unsigned i = 0; i < N; i++) {
		uint64_t t0 = tsc();
		s[i] = tsc() - t0;
	}
	qsort(s, N, sizeof(*s), cmp_u64);
	return s[N / 2];
}

/* Parse head (untimed), then time pc_decide; the verdict must be the
 * expected identity's allow. */
static uint64_t time_decide(const struct pc_policy *p, struct pc_engine_scratch *s,
			    const struct treq *r, int identity)
{
	static struct pc_http_req hreq;
	struct pc_request req = base_req;
	struct pc_verdict v;
	if (pc_http_parse_head(r->head, r->head_len, &hreq) != PC_HTTP_OK)
		die("request head does not parse");
	req.http = &hreq;
	uint64_t t0 = tsc();
	pc_decide(p, s, &req, &v);
	uint64_t t1 = tsc();
	if (v.action != PC_ACTION_ALLOW || v.identity != identity) {
		fprintf(stderr, "portcullis-bench-identity: expected allow for identity %d, got %s/%s identity %d\n",
			identity, pc_action_name((enum pc_action)v.action), pc_verdict_reason_name(&v),
			v.identity);
		exit(1);
	}
	return t1 - t0;
}

/* The reference: bare OpenSSL verify of r's signature, as lib/jwt does it. */
static uint64_t time_raw(const struct alg *a, EVP_MD_CTX *ctx, const struct treq *r)
{
	int ok;
	uint64_t t0 = tsc();
	if (a->fam == F_HMAC) {
		uint8_t mac[EVP_MAX_MD_SIZE];
		size_t ml = 0;
		ok = EVP_MAC_init(a->mac, a->secret, sizeof(a->secret), NULL) == 1 &&
		     EVP_MAC_update(a->mac, (const uint8_t *)r->si, r->si_len) == 1 &&
		     EVP_MAC_final(a->mac, mac, &ml, sizeof(mac)) == 1 && ml == r->sig_len &&
		     CRYPTO_memcmp(mac, r->sig, ml) == 0;
	} else if (a->vctx != NULL) {
		uint8_t dgst[EVP_MAX_MD_SIZE];
		unsigned dl = 0;
		ok = EVP_DigestInit_ex(ctx, a->md, NULL) == 1 &&
		     EVP_DigestUpdate(ctx, r->si, r->si_len) == 1 &&
		     EVP_DigestFinal_ex(ctx, dgst, &dl) == 1 &&
		     EVP_PKEY_verify(a->vctx, r->sig, r->sig_len, dgst, dl) == 1;
	} else { /* EdDSA signs the message itself */
		EVP_PKEY_CTX *pctx = NULL;
		ok = EVP_DigestVerifyInit(ctx, &pctx, NULL, NULL, a->pkey) == 1 &&
		     EVP_DigestVerify(ctx, r->sig, r->sig_len, (const uint8_t *)r->si, r->si_len) == 1;
		EVP_MD_CTX_reset(ctx);
	}
	uint64_t t1 = tsc();
	if (!ok)
		die("reference verify failed");
	return t1 - t0;
}

/* The engine's own signature check alone (pc_jwt_verify_signature: the
 * code and prepared keys pc_decide uses, without decoding, claims, cache or
 * rules): what an uncached token pays for its verification proper. */
static uint64_t time_verify(const struct alg *a, struct pc_jwt_scratch *vs, const struct treq *r)
{
	uint64_t t0 = tsc();
	enum pc_jwt_reason v = pc_jwt_verify_signature(vs, a->jwks, 0, a->jwt_alg, r->si, r->si_len,
							r->jws_sig, r->jws_sig_len);
	uint64_t t1 = tsc();
	if (v != PC_JWT_OK)
		die("the engine's signature check failed");
	return t1 - t0;
}

struct fig {
	struct stat2 eng, net;
};

static struct fig fig_of(uint64_t *s, size_t n, uint64_t ovh, double base_p50)
{
	struct fig f;
	f.eng = pct(s, n, ovh);
	f.net.p50 = f.eng.p50 - base_p50;
	f.net.p99 = f.eng.p99 - base_p50;
	return f;
}

/* ---- source prefixes: lists against the LPM ---- */

struct src_fig {
	struct stat2 so_lists, so_lpm, key_lists, key_lpm;
	unsigned n4, n6;
};

/* n source-only identities src-I (10.I/24 as 10.hi.lo.0/24) and n key
 * identities key-I bound to 11.hi.lo.0/24, 12.hi.lo.0/24 and
 * 2001:db8:I::/48; default allow, no rules: the verdict names the caller. */
static struct pc_policy *build_sources_policy(unsigned n)
{
	size_t len = 0, cap = 4096;
	char *t = malloc(cap), err[1024];
	if (t == NULL)
		die("out of memory");
	t[0] = '\0';
	cat(&t, &len, &cap, "{\"version\":1,\"default_action\":\"allow\",\"identities\":[");
	for (unsigned i = 0; i < n; i++)
		cat(&t, &len, &cap, "%s{\"name\":\"src-%u\",\"sources\":[\"10.%u.%u.0/24\"]}", i ? "," : "", i,
		    i >> 8, i & 255);
	for (unsigned i = 0; i < n; i++) {
		char key[32], hex[65];
		uint8_t d[32];
		snprintf(key, sizeof(key), "bench-src-key-%u", i);
		if (EVP_Digest(key, strlen(key), d, NULL, EVP_sha256(), NULL) != 1)
			die("sha256");
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", d[k]);
		cat(&t, &len, &cap,
		    ",{\"name\":\"key-%u\",\"api_keys_sha256\":[\"%s\"],\"api_key_header\":\"x-api-key\","
		    "\"sources\":[\"11.%u.%u.0/24\",\"12.%u.%u.0/24\",\"2001:db8:%x::/48\"]}",
		    i, hex, i >> 8, i & 255, i >> 8, i & 255, i);
	}
	cat(&t, &len, &cap, "],\"rules\":[]}");
	struct pc_policy *p = pc_policy_build_string(t, len, "bench-sources.json", err, sizeof(err));
	free(t);
	if (p == NULL)
		die(err);
	return p;
}

static uint64_t time_src(const struct pc_policy *p, struct pc_engine_scratch *s,
			 struct pc_request *req, const struct treq *r, int identity)
{
	static struct pc_http_req hreq;
	struct pc_verdict v;
	if (pc_http_parse_head(r->head, r->head_len, &hreq) != PC_HTTP_OK)
		die("request head does not parse");
	req->http = &hreq;
	uint64_t t0 = tsc();
	pc_decide(p, s, req, &v);
	uint64_t t1 = tsc();
	if (v.action != PC_ACTION_ALLOW || v.identity != identity) {
		fprintf(stderr, "portcullis-bench-identity: sources: expected identity %d, got %s/%s identity %d\n",
			identity, pc_action_name((enum pc_action)v.action), pc_verdict_reason_name(&v),
			v.identity);
		exit(1);
	}
	return t1 - t0;
}

static struct src_fig bench_sources(unsigned n, size_t samples, uint64_t ovh, uint64_t *b1,
				    uint64_t *b2)
{
	struct src_fig f;
	struct pc_policy *p = build_sources_policy(n);
	struct pc_engine_scratch *s = pc_engine_scratch_new(p);
	struct pc_source_lpm *l = pc_source_lpm_build(p, NULL);
	if (s == NULL || l == NULL)
		die("sources: scratch or LPM");
	pc_source_lpm_stats(l, &f.n4, &f.n6, NULL);
	const struct pc_source_index *x = pc_source_lpm_index(l);
	struct treq plain = { 0 }, *keyed = calloc(n, sizeof(*keyed));
	struct pc_addr *so_src = calloc(n, sizeof(*so_src)), *key_src = calloc(n, sizeof(*key_src));
	if (keyed == NULL || so_src == NULL || key_src == NULL)
		die("out of memory");
	plain.head = make_head("", &plain.head_len);
	for (unsigned i = 0; i < n; i++) {
		char line[64], a[32];
		snprintf(line, sizeof(line), "X-Api-Key: bench-src-key-%u\r\n", i);
		keyed[i].head = make_head(line, &keyed[i].head_len);
		snprintf(a, sizeof(a), "10.%u.%u.7", i >> 8, i & 255);
		if (pc_addr_parse(a, &so_src[i]) != 0)
			die("address");
		snprintf(a, sizeof(a), "12.%u.%u.9", i >> 8, i & 255);
		if (pc_addr_parse(a, &key_src[i]) != 0)
			die("address");
	}
	/* the policy's identity indexes: src-I is I, key-I is n + I */
	struct pc_request req = base_req;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t *a = b1, *b = b2;
		for (size_t j = 0; j < samples + 1000; j++) {
			unsigned i = (unsigned)(j % n);
			const struct treq *r = pass == 0 ? &plain : &keyed[i];
			int want = pass == 0 ? (int)i : (int)(n + i);
			req.src = pass == 0 ? so_src[i] : key_src[i];
			req.sources = NULL;
			uint64_t c1 = time_src(p, s, &req, r, want);
			req.sources = x;
			uint64_t c2 = time_src(p, s, &req, r, want);
			if (j >= 1000) {
				a[j - 1000] = c1;
				b[j - 1000] = c2;
			}
		}
		if (pass == 0) {
			f.so_lists = pct(a, samples, ovh);
			f.so_lpm = pct(b, samples, ovh);
		} else {
			f.key_lists = pct(a, samples, ovh);
			f.key_lpm = pct(b, samples, ovh);
		}
	}
	free(plain.head);
	for (unsigned i = 0; i < n; i++)
		free(keyed[i].head);
	free(keyed);
	free(so_src);
	free(key_src);
	pc_source_lpm_free(l);
	pc_engine_scratch_free(s);
	pc_policy_free(p);
	return f;
}

/* The EAL for the LPM tables only: no hugepages, PCI or shared files, a
 * file prefix of our own; the CPU affinity rte_eal_init() sets for its
 * lcore is put back, so the rest of the run is scheduled as before. */
static char eal_rundir[PATH_MAX];

static void eal_start(void)
{
	cpu_set_t cpus;
	char prefix[64];
	if (sched_getaffinity(0, sizeof(cpus), &cpus) != 0)
		die("sched_getaffinity");
	snprintf(prefix, sizeof(prefix), "--file-prefix=pc-bench-identity-%d", (int)getpid());
	char *eal_argv[] = { "portcullis-bench-identity", "-l", "0", "--no-huge", "-m", "300",
			     "--no-pci", "--no-shconf", "--no-telemetry", "--log-level=error",
			     prefix, NULL };
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0)
		die("cannot start the EAL (for the LPM tables; --no-sources runs without it)");
	snprintf(eal_rundir, sizeof(eal_rundir), "%s", rte_eal_get_runtime_dir());
	if (sched_setaffinity(0, sizeof(cpus), &cpus) != 0)
		die("sched_setaffinity");
}

static void eal_stop(void)
{
	rte_eal_cleanup();
	if (eal_rundir[0] != '\0')
		rmdir(eal_rundir);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: portcullis-bench-identity [--samples N] [--jwt-samples N] [--algs LIST]\n"
		"  --samples N      samples of baseline, API key and each cached JWT (default 100000)\n"
		"  --jwt-samples N  fresh tokens per algorithm for the uncached figures\n"
		"                   (default 4000 HS256, 3000 RS256/PS256/ES256/EdDSA, 1000 ES384)\n"
		"  --algs LIST      only these JWT algorithms, e.g. HS256,RS256 (default all)\n"
		"  --no-sources     leave out source prefixes, lists against the LPM (no EAL)\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long samples = 100000, jwt_samples = 0;
	const char *only = NULL;
	bool sources = true;
	static const struct option opts[] = {
		{ "samples", required_argument, NULL, 's' },
		{ "jwt-samples", required_argument, NULL, 'j' },
		{ "algs", required_argument, NULL, 'a' },
		{ "no-sources", no_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	char *end;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			samples = strtoul(optarg, &end, 10);
			if (*end || samples < 100 || samples > 10000000)
				usage();
			break;
		case 'j':
			jwt_samples = strtoul(optarg, &end, 10);
			if (*end || jwt_samples < 100 || jwt_samples > 1000000)
				usage();
			break;
		case 'a':
			only = optarg;
			break;
		case 'n':
			sources = false;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	for (size_t i = 0; i < N_ALGS && jwt_samples; i++)
		algs[i].samples = (unsigned)jwt_samples;
	if (only != NULL) {
		/* names must all be known; the others are skipped (samples 0) */
		bool want[N_ALGS] = { false };
		char *list = strdup(only), *save = NULL;
		for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			size_t i = 0;
			while (i < N_ALGS && strcmp(algs[i].name, tok) != 0)
				i++;
			if (i == N_ALGS)
				usage();
			want[i] = true;
		}
		free(list);
		for (size_t i = 0; i < N_ALGS; i++)
			if (!want[i])
				algs[i].samples = 0;
	}

	uint64_t t_start = tsc();
	now_s = (int64_t)time(NULL);
	make_keys();
	struct pc_policy *p = build_policy();
	struct pc_engine_scratch *s = pc_engine_scratch_new(p);
	if (s == NULL)
		die("pc_engine_scratch_new");
	EVP_MAC *hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	OSSL_PARAM mp[] = { OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
			    OSSL_PARAM_construct_end() };
	if (hmac == NULL || (algs[0].mac = EVP_MAC_CTX_new(hmac)) == NULL ||
	    EVP_MAC_CTX_set_params(algs[0].mac, mp) != 1)
		die("EVP_MAC");
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		die("EVP_MD_CTX_new");
	struct pc_jwt_scratch *vs = pc_jwt_scratch_new();
	if (vs == NULL)
		die("pc_jwt_scratch_new");
	for (size_t i = 0; i < N_ALGS; i++) {
		char ks[4096], err[256];
		int n = jwks_json(&algs[i], ks, sizeof(ks));
		if (n < 0 || n >= (int)sizeof(ks))
			die("jwks too long");
		algs[i].jwks = pc_jwks_load(ks, (size_t)n, err, sizeof(err));
		algs[i].jwt_alg = pc_jwt_alg_from_name(algs[i].name, strlen(algs[i].name));
		if (algs[i].jwks == NULL || algs[i].jwt_alg < 0)
			die(err);
	}

	if (pc_addr_parse("198.19.0.1", &base_req.src) != 0 ||
	    pc_addr_parse("198.18.0.2", &base_req.dst) != 0)
		die("pc_addr_parse");
	base_req.sport = 40000;
	base_req.dport = 80;
	base_req.l4_proto = PC_PROTO_TCP;
	base_req.now_s = now_s;

	/* Every token first, so minting is not interleaved with timing. */
	struct treq *toks[N_ALGS];
	for (size_t i = 0; i < N_ALGS; i++) {
		unsigned n = algs[i].samples ? algs[i].samples + WARMUP : 0;
		if ((toks[i] = calloc(n + 1, sizeof(struct treq))) == NULL)
			die("out of memory");
		for (unsigned j = 0; j < n; j++)
			mint(&algs[i], j, ctx, &toks[i][j]);
	}
	uint64_t t_minted = tsc();

	uint64_t ovh = timer_overhead();
	size_t smax = samples > 1000000 ? samples : 1000000;
	uint64_t *buf = malloc(smax * sizeof(uint64_t)), *buf2 = malloc(smax * sizeof(uint64_t));
	uint64_t *buf3 = malloc(smax * sizeof(uint64_t));
	if (buf == NULL || buf2 == NULL || buf3 == NULL)
		die("out of memory");

	/* baseline and API key */
	struct treq rb = { 0 }, rk = { 0 };
	rb.head = make_head("", &rb.head_len);
	rk.head = make_head("X-Api-Key: " API_KEY "\r\n", &rk.head_len);
	for (unsigned i = 0; i < 1000; i++)
		time_decide(p, s, &rb, 0);
	for (size_t i = 0; i < samples; i++)
		buf[i] = time_decide(p, s, &rb, 0);
	struct stat2 base = pct(buf, samples, ovh);
	for (unsigned i = 0; i < 1000; i++)
		time_decide(p, s, &rk, 1);
	for (size_t i = 0; i < samples; i++)
		buf[i] = time_decide(p, s, &rk, 1);
	struct fig key = fig_of(buf, samples, ovh, base.p50);

	struct fig cached[N_ALGS], uncached[N_ALGS];
	struct stat2 raw[N_ALGS], verify[N_ALGS];
	for (size_t i = 0; i < N_ALGS; i++) {
		const struct alg *a = &algs[i];
		struct treq *t = toks[i];
		unsigned n = a->samples;
		if (n == 0)
			continue;
		/* cached: token 0 again and again */
		for (unsigned j = 0; j < 1000; j++)
			time_decide(p, s, &t[0], a->identity);
		for (size_t j = 0; j < samples; j++)
			buf[j] = time_decide(p, s, &t[0], a->identity);
		cached[i] = fig_of(buf, samples, ovh, base.p50);
		/* uncached: every other token once (token 0 is in the cache) */
		for (unsigned j = 1; j < WARMUP; j++)
			time_decide(p, s, &t[j], a->identity);
		for (unsigned j = 0; j < WARMUP; j++) {
			time_raw(a, ctx, &t[j]);
			time_verify(a, vs, &t[j]);
		}
		/* The reference over the same signatures, interleaved call by
		 * call, so that whatever else runs on the machine weighs on
		 * both sides of the ratio alike. */
		for (unsigned j = 0; j < n; j++) {
			buf[j] = time_decide(p, s, &t[WARMUP + j], a->identity);
			buf2[j] = time_raw(a, ctx, &t[WARMUP + j]);
			buf3[j] = time_verify(a, vs, &t[WARMUP + j]);
		}
		uncached[i] = fig_of(buf, n, ovh, base.p50);
		raw[i] = pct(buf2, n, ovh);
		verify[i] = pct(buf3, n, ovh);
	}
	static const unsigned src_n[] = { 10, 1000 };
	struct src_fig srcf[2];
	if (sources) {
		eal_start();
		for (size_t i = 0; i < 2; i++)
			srcf[i] = bench_sources(src_n[i], samples, ovh, buf, buf2);
		eal_stop();
	}
	uint64_t t_end = tsc();
	double hz = tsc_hz();

	printf("identity resolution through pc_decide (TSC cycles; TSC %.3f GHz; timer overhead %" PRIu64
	       " subtracted)\n",
	       hz / 1e9, ovh);
	printf("net = figure - baseline p50 (the engine without identity work)\n\n");
	printf("  %-22s %10s %10s %10s %10s\n", "", "p50", "p99", "net p50", "net p99");
	printf("  %-22s %10.0f %10.0f %10s %10s   (%lu samples)\n", "baseline (source only)", base.p50,
	       base.p99, "-", "-", samples);
	printf("  %-22s %10.0f %10.0f %10.0f %10.0f   (%lu samples)\n", "api key", key.eng.p50,
	       key.eng.p99, key.net.p50, key.net.p99, samples);
	for (size_t i = 0; i < N_ALGS; i++) {
		char label[40];
		if (algs[i].samples == 0)
			continue;
		snprintf(label, sizeof(label), "jwt cached %s", algs[i].name);
		printf("  %-22s %10.0f %10.0f %10.0f %10.0f   (%lu samples)\n", label, cached[i].eng.p50,
		       cached[i].eng.p99, cached[i].net.p50, cached[i].net.p99, samples);
	}
	printf("\n  %-8s %12s %12s %12s %12s %12s %10s %10s %8s\n", "uncached", "engine p50",
	       "engine p99", "verify p50", "raw p50", "raw p99", "eng/raw", "net/raw", "samples");
	for (size_t i = 0; i < N_ALGS; i++)
		if (algs[i].samples > 0)
			printf("  %-8s %12.0f %12.0f %12.0f %12.0f %12.0f %9.2fx %9.2fx %8u\n",
			       algs[i].name, uncached[i].eng.p50, uncached[i].eng.p99, verify[i].p50,
			       raw[i].p50, raw[i].p99, uncached[i].eng.p50 / raw[i].p50,
			       uncached[i].net.p50 / raw[i].p50, algs[i].samples);
	printf("\n  (verify: the engine's signature check alone, pc_jwt_verify_signature; eng/raw and\n"
	       "  net/raw are ratios of p50s; setup and minting %.1f s, measuring %.1f s)\n\n",
	       (double)(t_minted - t_start) / hz, (double)(t_end - t_minted) / hz);
	if (sources) {
		printf("  source prefixes: pc_decide p50 / p99, the policy's lists against the LPM index\n");
		printf("  %-12s %-28s %15s %15s\n", "identities", "caller", "lists", "lpm");
		for (size_t i = 0; i < 2; i++) {
			char who[40];
			snprintf(who, sizeof(who), "%u + %u", src_n[i], src_n[i]);
			printf("  %-12s %-28s %7.0f / %-5.0f %7.0f / %-5.0f\n", who, "source-only (one /24 each)",
			       srcf[i].so_lists.p50, srcf[i].so_lists.p99, srcf[i].so_lpm.p50,
			       srcf[i].so_lpm.p99);
			printf("  %-12s %-28s %7.0f / %-5.0f %7.0f / %-5.0f\n", "", "API key, bound (3 prefixes)",
			       srcf[i].key_lists.p50, srcf[i].key_lists.p99, srcf[i].key_lpm.p50,
			       srcf[i].key_lpm.p99);
		}
		printf("\n");
	}

	char cmdline[512] = "portcullis-bench-identity";
	for (int i = 1; i < argc; i++) {
		size_t l = strlen(cmdline);
		snprintf(cmdline + l, sizeof(cmdline) - l, " %s", argv[i]);
	}
	printf("{\"bench\":\"portcullis-bench-identity\",\"cmdline\":\"%s\",\"tsc_hz\":%.0f,\"timer_overhead_cycles\":%" PRIu64
	       ",\"samples\":%lu,",
	       cmdline, hz, ovh, samples);
	printf("\"baseline\":{\"p50\":%.0f,\"p99\":%.0f},", base.p50, base.p99);
	printf("\"api_key\":{\"p50\":%.0f,\"p99\":%.0f,\"net_p50\":%.0f,\"net_p99\":%.0f},", key.eng.p50,
	       key.eng.p99, key.net.p50, key.net.p99);
	printf("\"jwt_cached\":{");
	const char *sep = "";
	for (size_t i = 0; i < N_ALGS; i++, sep = algs[i - 1].samples ? "," : sep)
		if (algs[i].samples > 0)
			printf("%s\"%s\":{\"p50\":%.0f,\"p99\":%.0f,\"net_p50\":%.0f,\"net_p99\":%.0f}", sep,
		       algs[i].name, cached[i].eng.p50, cached[i].eng.p99, cached[i].net.p50,
		       cached[i].net.p99);
	printf("},\"jwt_uncached\":{");
	sep = "";
	for (size_t i = 0; i < N_ALGS; i++, sep = algs[i - 1].samples ? "," : sep)
		if (algs[i].samples > 0)
			printf("%s\"%s\":{\"p50\":%.0f,\"p99\":%.0f,\"net_p50\":%.0f,\"net_p99\":%.0f,"
		       "\"verify_p50\":%.0f,\"verify_p99\":%.0f,"
		       "\"raw_p50\":%.0f,\"raw_p99\":%.0f,\"ratio_p50\":%.3f,\"net_ratio_p50\":%.3f,"
		       "\"samples\":%u}",
		       sep, algs[i].name, uncached[i].eng.p50, uncached[i].eng.p99,
		       uncached[i].net.p50, uncached[i].net.p99, verify[i].p50, verify[i].p99,
		       raw[i].p50, raw[i].p99,
		       uncached[i].eng.p50 / raw[i].p50, uncached[i].net.p50 / raw[i].p50,
		       algs[i].samples);
	printf("}");
	if (sources) {
		printf(",\"sources\":{");
		for (size_t i = 0; i < 2; i++)
			printf("%s\"n%u\":{\"source_only\":{\"lists\":{\"p50\":%.0f,\"p99\":%.0f},"
			       "\"lpm\":{\"p50\":%.0f,\"p99\":%.0f}},\"api_key_bound\":{\"lists\":{\"p50\":%.0f,"
			       "\"p99\":%.0f},\"lpm\":{\"p50\":%.0f,\"p99\":%.0f}},\"prefixes_v4\":%u,"
			       "\"prefixes_v6\":%u}",
			       i ? "," : "", src_n[i], srcf[i].so_lists.p50, srcf[i].so_lists.p99,
			       srcf[i].so_lpm.p50, srcf[i].so_lpm.p99, srcf[i].key_lists.p50,
			       srcf[i].key_lists.p99, srcf[i].key_lpm.p50, srcf[i].key_lpm.p99, srcf[i].n4,
			       srcf[i].n6);
		printf("}");
	}
	printf(",\"seconds\":%.1f}\n", (double)(t_end - t_start) / hz);

	for (size_t i = 0; i < N_ALGS; i++) {
		unsigned n = algs[i].samples ? algs[i].samples + WARMUP : 0;
		for (unsigned j = 0; j < n; j++)
			free(toks[i][j].head);
		free(toks[i]);
		EVP_PKEY_free(algs[i].pkey);
	}
	free(rb.head);
	free(rk.head);
	free(buf);
	free(buf2);
	free(buf3);
	EVP_MAC_CTX_free(algs[0].mac);
	for (size_t i = 0; i < N_ALGS; i++) {
		EVP_PKEY_CTX_free(algs[i].vctx);
		pc_jwks_free(algs[i].jwks);
	}
	pc_jwt_scratch_free(vs);
	EVP_MAC_free(hmac);
	EVP_MD_CTX_free(ctx);
	pc_engine_scratch_free(s);
	pc_policy_free(p);
	return 0;
}
