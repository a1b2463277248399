/* SPDX-License-Identifier: BSD-3-Clause
 *
 * JWS compact verification (RFC 7515 §5.2) and JWT claim validation
 * (RFC 7519 §7.2). The three segments are decoded into the caller's
 * per-thread scratch arena (header, then payload, then signature, then an
 * unescaped "sub" when it has escapes: at most 1.5 times the token, hence the
 * arena of twice the largest token; a header short enough for the header
 * memo goes to the memo instead), the header is scanned with json_scan
 * into a fixed member array, and the key is chosen from the configured set
 * only. The token's "alg" never decides how a key is used: the key's type
 * must fit the algorithm family and a key's own "alg", when it has one, must
 * match, which shuts out algorithm confusion (an RSA public key used as an
 * HMAC secret, RFC 8725 §2.1 and §3.1). The claim set is scanned only after
 * the signature verifies, except in pc_jwt_verify_any(), which reads "iss"
 * first to pick the issuer (and so the keys), trusting nothing else.
 *
 * A fresh HS256 token costs little more than its HMAC, so the fixed work
 * around it is kept small: the last few headers are remembered by their
 * text (issuers put the same header on every token, see the memo in
 * struct pc_jwt_scratch), the six registered claims are found in one pass
 * over the members, and the MAC is compared eight bytes a step in constant
 * time.
 */
/* SHA256_/SHA512_ on the key's prepared HMAC states (jwks_priv.h): deprecated
 * in OpenSSL 3, but the only interface whose state can be copied without an
 * allocation or a provider lookup. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "jwt/jwt.h"

#include <errno.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "json/json_scan.h"
#include "jwt/b64url.h"
#include "jwt/jwks_priv.h"

/* Longest header segment (base64url characters) the header memo keeps, and
 * how many headers it keeps. */
#define HDR_MEMO_B64 256
#define HDR_MEMO_WAYS 8

/* What a header says whatever the issuer (read_header()). */
struct hdr_view {
	enum pc_jwt_reason r;      /* OK, or the reason before any issuer is asked */
	int alg;                   /* enum pc_jwt_alg, -1 when unknown */
	bool has_kid;
	bool kid_bad;              /* "kid" is not a string */
	bool crit;
	struct pc_json_value kid;  /* views into the decoded header */
};

/* One header kept by the memo: its base64url text, the decoded JSON and
 * what read_header() found in it (kid's view points into json). */
struct hdr_memo {
	uint32_t b64_len;          /* 0: empty */
	uint32_t json_len;
	char b64[HDR_MEMO_B64];
	uint8_t json[HDR_MEMO_B64 / 4 * 3];
	struct hdr_view hv;
};

#define PK_WAYS 8 /* prepared public-key contexts per scratch */

struct pc_jwt_scratch {
	EVP_MD_CTX *md_ctx;   /* reused across verifies */
	EVP_MAC *hmac;        /* fetched once */
	/* One HMAC context per hash, its digest set once: setting the digest
	 * parameter costs a fetch (about 2,000 cycles) on every init. */
	EVP_MAC_CTX *mac_ctx[3];
	unsigned n_hdr;
	unsigned n_claims;
	/* The registered claims the checks read, found once per claim set:
	 * names are unique (the scanner rejects duplicates), so each is the
	 * one FIND() would return. */
	struct {
		const struct pc_json_member *iss, *sub, *aud, *exp, *nbf, *iat;
	} ci;
	struct pc_json_member hdr[PC_JWT_MAX_HEADER_PARAMS];
	struct pc_json_member claims[PC_JWT_MAX_CLAIMS];
	uint8_t der[8 + 2 * (3 + 48)]; /* ECDSA-Sig-Value for P-384 at most */
	/* The header memo. An issuer signs every token with the same header
	 * ({"alg","kid","typ"} of its key), so the last HDR_MEMO_WAYS
	 * headers that decoded and scanned are kept, replaced in turn. A
	 * token whose header segment is the same text as one kept has the
	 * same decoded bytes and so the same hdr_view, and skips decoding,
	 * scanning and reading it; every check against the issuer (its
	 * algorithms, its keys, the kid's key, crit) still runs on each
	 * token. A way is emptied before a header is decoded into it and
	 * filled only once that header has scanned. */
	struct hdr_memo memo[HDR_MEMO_WAYS];
	unsigned memo_next;     /* the way the next new header takes */
	/* Public-key verify contexts made ready once per key and algorithm
	 * (verify_init, digest, padding), direct-mapped by the key: setting one
	 * up costs several thousand cycles, about a tenth of an RSA verify.
	 * Each context holds a reference to its key, so a key it names is
	 * never freed and its address never reused while it is here. */
	struct {
		const EVP_PKEY *pkey;
		int alg;
		EVP_PKEY_CTX *ctx;
	} pk[PK_WAYS];
	alignas(64) uint8_t arena[2 * PC_JWT_MAX_TOKEN_LEN];
};

static const char *const reason_names[] = {
#define PC_X(name, text) text,
	PC_JWT_REASONS(PC_X)
#undef PC_X
};

static const char *const alg_names[] = {
#define PC_X(name, text) text,
	PC_JWT_ALGS(PC_X)
#undef PC_X
};

const char *pc_jwt_reason_name(enum pc_jwt_reason r)
{
	if ((unsigned)r >= PC_ARRAY_SIZE(reason_names))
		return "jwt_unknown_reason";
	return reason_names[r];
}

const char *pc_jwt_alg_name(enum pc_jwt_alg a)
{
	if ((unsigned)a >= PC_ARRAY_SIZE(alg_names))
		return "unknown";
	return alg_names[a];
}

/* Every name we know is five bytes long, so a name is one length test and
 * fixed-size compares, no strlen() per entry. */
#define PC_X(name, text) _Static_assert(sizeof(text) == 6, "JWS algorithm names are 5 bytes");
PC_JWT_ALGS(PC_X)
#undef PC_X

int pc_jwt_alg_from_name(const char *name, size_t len)
{
	/* Case-sensitive (RFC 7515 §4.1.1): "none", "None" or "hs256" are
	 * simply unknown, hence never allowed. */
	if (len != 5)
		return -1;
	for (unsigned i = 0; i < PC_ARRAY_SIZE(alg_names); i++)
		if (memcmp(alg_names[i], name, 5) == 0)
			return (int)i;
	return -1;
}

void pc_jwt_issuer_init(struct pc_jwt_issuer *is)
{
	memset(is, 0, sizeof(*is));
	is->leeway_s = 30;
	is->max_lifetime_s = 3600;
	is->max_token_len = PC_JWT_DEFAULT_TOKEN_LEN;
	is->require_exp = true;
}

struct pc_jwt_scratch *pc_jwt_scratch_new(void)
{
	struct pc_jwt_scratch *s = aligned_alloc(64, sizeof(*s));

	if (!s)
		return NULL;
	memset(s, 0, offsetof(struct pc_jwt_scratch, arena));
	_Static_assert(PC_JWT_ALG_HS384 == PC_JWT_ALG_HS256 + 1 &&
		       PC_JWT_ALG_HS512 == PC_JWT_ALG_HS256 + 2, "mac_ctx is indexed by alg");
	s->md_ctx = EVP_MD_CTX_new();
	s->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!s->md_ctx || !s->hmac)
		goto fail;
	static const char *const digests[3] = { "SHA256", "SHA384", "SHA512" };
	for (int i = 0; i < 3; i++) {
		OSSL_PARAM params[] = {
			OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digests[i], 0),
			OSSL_PARAM_construct_end(),
		};
		s->mac_ctx[i] = EVP_MAC_CTX_new(s->hmac);
		if (!s->mac_ctx[i] || EVP_MAC_CTX_set_params(s->mac_ctx[i], params) != 1)
			goto fail;
	}
	return s;
fail:
	ERR_clear_error();
	pc_jwt_scratch_free(s);
	errno = ENOMEM;
	return NULL;
}

void pc_jwt_scratch_free(struct pc_jwt_scratch *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->md_ctx);
	for (int i = 0; i < 3; i++)
		EVP_MAC_CTX_free(s->mac_ctx[i]);
	for (int i = 0; i < PK_WAYS; i++)
		EVP_PKEY_CTX_free(s->pk[i].ctx);
	EVP_MAC_free(s->hmac);
	OPENSSL_cleanse(s->arena, sizeof(s->arena));
	free(s);
}

/* ---- algorithms ---- */

enum family { FAM_HMAC, FAM_RSA, FAM_PSS, FAM_ECDSA, FAM_EDDSA };

static const struct {
	uint8_t family;
	uint16_t hash_bits; /* 0 for EdDSA: the scheme hashes internally */
	uint8_t coord;      /* ECDSA: bytes per coordinate in r||s */
} alg_info[PC_JWT_ALG_COUNT] = {
	[PC_JWT_ALG_HS256] = { FAM_HMAC, 256, 0 },
	[PC_JWT_ALG_HS384] = { FAM_HMAC, 384, 0 },
	[PC_JWT_ALG_HS512] = { FAM_HMAC, 512, 0 },
	[PC_JWT_ALG_RS256] = { FAM_RSA, 256, 0 },
	[PC_JWT_ALG_RS384] = { FAM_RSA, 384, 0 },
	[PC_JWT_ALG_RS512] = { FAM_RSA, 512, 0 },
	[PC_JWT_ALG_PS256] = { FAM_PSS, 256, 0 },
	[PC_JWT_ALG_PS384] = { FAM_PSS, 384, 0 },
	[PC_JWT_ALG_PS512] = { FAM_PSS, 512, 0 },
	[PC_JWT_ALG_ES256] = { FAM_ECDSA, 256, 32 },
	[PC_JWT_ALG_ES384] = { FAM_ECDSA, 384, 48 },
	[PC_JWT_ALG_EDDSA] = { FAM_EDDSA, 0, 0 },
};

static bool key_fits(const struct pc_jwk *k, int alg)
{
	if (!pc__jwk_alg_fits(alg, k->kty, k->crv))
		return false;
	/* RFC 7518 §3.2: an HMAC key shorter than the hash output MUST NOT be
	 * used with that algorithm. */
	if (k->kty == PC_JWK_KTY_OCT && k->secret_len * 8 < alg_info[alg].hash_bits)
		return false;
	return k->alg < 0 || k->alg == alg;
}

/* RFC 7515 §4.1.4: a "kid" picks the key; without one, the key must be the
 * only one of the set that fits the algorithm. */
static enum pc_jwt_reason select_key(const struct pc_jwks *ks, int alg,
				     const struct pc_json_value *kid, const struct pc_jwk **out)
{
	const struct pc_jwk *found = NULL;
	unsigned fits = 0;
	bool kid_seen = false;

	for (unsigned i = 0; i < ks->n; i++) {
		const struct pc_jwk *k = &ks->keys[i];
		if (kid) {
			if (!k->has_kid || !pc_json_str_eq(kid, k->kid, k->kid_len))
				continue;
			kid_seen = true;
		}
		if (key_fits(k, alg)) {
			found = k;
			fits++;
		}
	}
	if (kid && !kid_seen)
		return PC_JWT_UNKNOWN_KID;
	if (fits == 0)
		return PC_JWT_ALG_NOT_ALLOWED;
	if (fits > 1)
		return PC_JWT_KID_REQUIRED; /* only possible without a kid */
	*out = found;
	return PC_JWT_OK;
}

static const EVP_MD *md_of(const struct pc_jwks *ks, unsigned bits)
{
	switch (bits) {
	case 256: return ks->md_sha256;
	case 384: return ks->md_sha384;
	case 512: return ks->md_sha512;
	default: return NULL;
	}
}

/* One DER INTEGER (X.690 §8.3) from an unsigned big-endian value: minimal
 * length, a 0x00 prefix when the top bit is set. */
static size_t der_uint(uint8_t *o, const uint8_t *v, size_t n)
{
	while (n > 1 && v[0] == 0)
		v++, n--;
	size_t pad = v[0] & 0x80 ? 1 : 0;
	o[0] = 0x02;
	o[1] = (uint8_t)(n + pad);
	o[2] = 0;
	memcpy(o + 2 + pad, v, n);
	return 2 + pad + n;
}

/* JWS carries ECDSA signatures as raw r||s (RFC 7518 §3.4); OpenSSL wants
 * the DER Ecdsa-Sig-Value SEQUENCE { r INTEGER, s INTEGER }. */
static size_t ecdsa_raw_to_der(uint8_t *der, const uint8_t *sig, size_t coord)
{
	size_t n = 2;
	n += der_uint(der + n, sig, coord);
	n += der_uint(der + n, sig + coord, coord);
	der[0] = 0x30;
	der[1] = (uint8_t)(n - 2); /* at most 102 for P-384: short form */
	return n;
}

static enum pc_jwt_reason verify_hmac(struct pc_jwt_scratch *s, const struct pc_jwk *k, int alg,
				      const char *input, size_t input_len, const uint8_t *sig,
				      size_t sig_len)
{
	/* Everything derived from the key, wiped at once at the end:
	 * explicit_bzero() has OPENSSL_cleanse()'s guarantee (never optimised
	 * away) at memset()'s speed, and one call instead of three. */
	struct {
		union {
			SHA256_CTX c256;
			SHA512_CTX c512;
		} u;
		uint8_t inner[SHA512_DIGEST_LENGTH];
		uint8_t mac[EVP_MAX_MD_SIZE];
	} w;
	uint8_t *mac = w.mac;
	size_t mac_len = 0;

	if (likely(k->hmac != NULL)) {
		/* RFC 2104: H(K ^ opad, H(K ^ ipad, text)), from the states
		 * after the first block of each */
		const struct pc_jwk_hmac *h = k->hmac;
		if (alg == PC_JWT_ALG_HS256) {
			w.u.c256 = h->in256;
			SHA256_Update(&w.u.c256, input, input_len);
			SHA256_Final(w.inner, &w.u.c256);
			w.u.c256 = h->out256;
			SHA256_Update(&w.u.c256, w.inner, SHA256_DIGEST_LENGTH);
			SHA256_Final(mac, &w.u.c256);
			mac_len = SHA256_DIGEST_LENGTH;
		} else {
			SHA512_CTX *c = &w.u.c512;
			size_t dl = alg == PC_JWT_ALG_HS384 ? SHA384_DIGEST_LENGTH : SHA512_DIGEST_LENGTH;
			/* SHA384_Update/Final are SHA512's on a SHA-384 state;
			 * Final writes md_len (48 or 64) bytes */
			*c = alg == PC_JWT_ALG_HS384 ? h->in384 : h->in512;
			SHA512_Update(c, input, input_len);
			SHA512_Final(w.inner, c);
			*c = alg == PC_JWT_ALG_HS384 ? h->out384 : h->out512;
			SHA512_Update(c, w.inner, dl);
			SHA512_Final(mac, c);
			mac_len = dl;
		}
	} else {
		EVP_MAC_CTX *ctx = s->mac_ctx[alg - PC_JWT_ALG_HS256];
		if (EVP_MAC_init(ctx, k->secret, k->secret_len, NULL) != 1 ||
		    EVP_MAC_update(ctx, (const unsigned char *)input, input_len) != 1 ||
		    EVP_MAC_final(ctx, mac, &mac_len, sizeof(w.mac)) != 1) {
			ERR_clear_error();
			explicit_bzero(&w, sizeof(w));
			return PC_JWT_INTERNAL;
		}
	}
	/* The length is public; the bytes are compared in constant time so
	 * the time taken says nothing about how much of a forgery matched. */
	/* OpenSSL's constant-time compare: a MAC check must not stop at the
	 * first differing byte. */
	bool ok = sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
	explicit_bzero(&w, sizeof(w));
	return ok ? PC_JWT_OK : PC_JWT_BAD_SIGNATURE;
}

/* The verify context of key pkey for alg (RSA, PSS or ECDSA), ready for
 * EVP_PKEY_verify() on a digest: made on the first use and kept. NULL when
 * OpenSSL refuses (errors left queued for the caller to clear). */
static EVP_PKEY_CTX *pk_ctx(struct pc_jwt_scratch *s, EVP_PKEY *pkey, const EVP_MD *md, int alg)
{
	unsigned way = (unsigned)(((uintptr_t)pkey >> 4) ^ (unsigned)alg) % PK_WAYS;
	if (s->pk[way].pkey == pkey && s->pk[way].alg == alg)
		return s->pk[way].ctx;
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new(pkey, NULL);
	if (c == NULL || EVP_PKEY_verify_init(c) != 1 || EVP_PKEY_CTX_set_signature_md(c, md) != 1 ||
	    /* RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash */
	    (alg_info[alg].family == FAM_PSS &&
	     (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PSS_PADDING) != 1 ||
	      EVP_PKEY_CTX_set_rsa_pss_saltlen(c, RSA_PSS_SALTLEN_DIGEST) != 1))) {
		EVP_PKEY_CTX_free(c);
		return NULL;
	}
	EVP_PKEY_CTX_free(s->pk[way].ctx);
	s->pk[way].pkey = pkey;
	s->pk[way].alg = alg;
	s->pk[way].ctx = c;
	return c;
}

static enum pc_jwt_reason verify_sig(struct pc_jwt_scratch *s, const struct pc_jwks *ks,
				     const struct pc_jwk *k, int alg, const char *input,
				     size_t input_len, const uint8_t *sig, size_t sig_len)
{
	EVP_PKEY_CTX *pctx = NULL;
	const EVP_MD *md = NULL;
	int fam = alg_info[alg].family;

	if (fam == FAM_HMAC)
		return verify_hmac(s, k, alg, input, input_len, sig, sig_len);
	if (fam == FAM_ECDSA) {
		size_t coord = alg_info[alg].coord;
		if (sig_len != 2 * coord)
			return PC_JWT_BAD_SIGNATURE;
		sig_len = ecdsa_raw_to_der(s->der, sig, coord);
		sig = s->der;
	}

	enum pc_jwt_reason r = PC_JWT_BAD_SIGNATURE;
	if (fam != FAM_EDDSA) {
		/* Hash the signing input, then verify the digest with the
		 * key's prepared context: what EVP_DigestVerify() does, less
		 * setting the context up for every token. */
		md = md_of(ks, alg_info[alg].hash_bits);
		unsigned char dgst[EVP_MAX_MD_SIZE];
		unsigned int dlen = 0;
		EVP_PKEY_CTX *c = pk_ctx(s, k->pkey, md, alg);
		if (c == NULL || EVP_DigestInit_ex(s->md_ctx, md, NULL) != 1 ||
		    EVP_DigestUpdate(s->md_ctx, input, input_len) != 1 ||
		    EVP_DigestFinal_ex(s->md_ctx, dgst, &dlen) != 1)
			r = PC_JWT_INTERNAL;
		else if (EVP_PKEY_verify(c, sig, sig_len, dgst, dlen) == 1)
			r = PC_JWT_OK;
		goto out;
	}
	/* EdDSA (RFC 8037) signs the message itself: one-shot verify. */
	if (EVP_DigestVerifyInit(s->md_ctx, &pctx, NULL, NULL, k->pkey) != 1) {
		r = PC_JWT_INTERNAL;
		goto out;
	}
	if (EVP_DigestVerify(s->md_ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1)
		r = PC_JWT_OK;
out:
	/* A failed verification leaves errors queued; a worker must not
	 * accumulate them. */
	ERR_clear_error();
	EVP_MD_CTX_reset(s->md_ctx);
	return r;
}

enum pc_jwt_reason pc_jwt_verify_signature(struct pc_jwt_scratch *s, const struct pc_jwks *ks,
					   unsigned key, int alg, const char *input,
					   size_t input_len, const uint8_t *sig, size_t sig_len)
{
	if (ks == NULL || key >= ks->n || alg < 0 || alg >= PC_JWT_ALG_COUNT ||
	    !key_fits(&ks->keys[key], alg))
		return PC_JWT_ALG_NOT_ALLOWED;
	return verify_sig(s, ks, &ks->keys[key], alg, input, input_len, sig, sig_len);
}

/* ---- token structure ---- */

struct token {
	const char *input;      /* header.payload: what was signed */
	size_t input_len;
	const char *header_b64; /* the header segment as sent */
	size_t header_b64_len;
	const char *header;     /* decoded, in the arena or a memo way */
	size_t header_len;
	const struct hdr_memo *memo_hit; /* the way that holds this header */
	struct hdr_memo *memo_fill;      /* the way it was decoded into */
	const char *payload;
	size_t payload_len;
	const uint8_t *sig;
	size_t sig_len;
	size_t used;            /* arena bytes in use */
};

static int decode_into(struct pc_jwt_scratch *s, struct token *t, const char *in, size_t len,
		       const uint8_t **out, size_t *out_len)
{
	uint8_t *dst = s->arena + t->used;
	int r = pc_b64url_decode(in, len, dst, sizeof(s->arena) - t->used, out_len);
	if (r < 0)
		return r;
	*out = dst;
	t->used += *out_len;
	return 0;
}

/* RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.'
 * BASE64URL(signature), each strict base64url (§2, Appendix C). */
static enum pc_jwt_reason split_decode(struct pc_jwt_scratch *s, const char *tok, size_t len,
				       struct token *t)
{
	const char *end = tok + len;
	const char *d1 = memchr(tok, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) : NULL;
	const uint8_t *h, *p;

	/* A third '.' needs no search of its own: '.' is outside the
	 * base64url alphabet, so the signature segment would not decode. */
	if (unlikely(!d2))
		return PC_JWT_MALFORMED;
	t->used = 0;
	t->input = tok;
	t->input_len = (size_t)(d2 - tok);
	t->header_b64 = tok;
	t->header_b64_len = (size_t)(d1 - tok);
	t->memo_hit = NULL;
	t->memo_fill = NULL;
	for (unsigned w = 0; w < HDR_MEMO_WAYS; w++) {
		const struct hdr_memo *m = &s->memo[w];
		if (m->b64_len == t->header_b64_len && m->b64_len != 0 &&
		    memcmp(m->b64, tok, t->header_b64_len) == 0) {
			t->memo_hit = m;
			break;
		}
	}
	if (t->memo_hit) {
		t->header = (const char *)t->memo_hit->json;
		t->header_len = t->memo_hit->json_len;
	} else if (t->header_b64_len <= HDR_MEMO_B64) {
		/* decoded where the memo will keep it, should it scan */
		struct hdr_memo *m = &s->memo[s->memo_next];
		m->b64_len = 0;
		if (pc_b64url_decode(tok, t->header_b64_len, m->json, sizeof(m->json),
				     &t->header_len) < 0)
			return PC_JWT_MALFORMED;
		t->header = (const char *)m->json;
		t->memo_fill = m;
	} else {
		if (decode_into(s, t, tok, t->header_b64_len, &h, &t->header_len) < 0)
			return PC_JWT_MALFORMED;
		t->header = (const char *)h;
	}
	if (decode_into(s, t, d1 + 1, (size_t)(d2 - d1 - 1), &p, &t->payload_len) < 0 ||
	    decode_into(s, t, d2 + 1, (size_t)(end - d2 - 1), &t->sig, &t->sig_len) < 0)
		return PC_JWT_MALFORMED;
	t->payload = (const char *)p;
	return PC_JWT_OK;
}

#define NAME3(a, b, c) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16)

static enum pc_jwt_reason scan_claims(struct pc_jwt_scratch *s, const struct token *t)
{
	if (pc_json_scan_object(t->payload, t->payload_len, s->claims, PC_JWT_MAX_CLAIMS,
				&s->n_claims) != PC_JSON_OK)
		return PC_JWT_MALFORMED;
	memset(&s->ci, 0, sizeof(s->ci));
	for (unsigned i = 0; i < s->n_claims; i++) {
		const struct pc_json_member *m = &s->claims[i];
		const struct pc_json_value *k = &m->key;
		const struct pc_json_member **slot;
		if (likely(!k->escaped)) {
			/* the six names are three bytes each: one compare */
			if (k->raw.len != 3)
				continue;
			const uint8_t *n = (const uint8_t *)k->raw.p;
			switch (NAME3(n[0], n[1], n[2])) {
			case NAME3('i', 's', 's'): slot = &s->ci.iss; break;
			case NAME3('s', 'u', 'b'): slot = &s->ci.sub; break;
			case NAME3('a', 'u', 'd'): slot = &s->ci.aud; break;
			case NAME3('e', 'x', 'p'): slot = &s->ci.exp; break;
			case NAME3('n', 'b', 'f'): slot = &s->ci.nbf; break;
			case NAME3('i', 'a', 't'): slot = &s->ci.iat; break;
			default: continue;
			}
		} else {
			slot = pc_json_str_eq(k, "iss", 3) ? &s->ci.iss :
			       pc_json_str_eq(k, "sub", 3) ? &s->ci.sub :
			       pc_json_str_eq(k, "aud", 3) ? &s->ci.aud :
			       pc_json_str_eq(k, "exp", 3) ? &s->ci.exp :
			       pc_json_str_eq(k, "nbf", 3) ? &s->ci.nbf :
			       pc_json_str_eq(k, "iat", 3) ? &s->ci.iat : NULL;
			if (slot == NULL)
				continue;
		}
		if (*slot == NULL)
			*slot = m;
	}
	return PC_JWT_OK;
}

/* pc_json_find() for a literal name: the same first match, but inline,
 * so that with the length known the compare of an unescaped key is a
 * length test and one or two loads instead of two calls per member. */
static inline const struct pc_json_member *find_name(const struct pc_json_member *m, unsigned n,
						     const char *lit, size_t len)
{
	for (unsigned i = 0; i < n; i++) {
		const struct pc_json_value *k = &m[i].key;
		if (likely(!k->escaped)) {
			if (k->raw.len == len && memcmp(k->raw.p, lit, len) == 0)
				return &m[i];
		} else if (pc_json_str_eq(k, lit, len)) {
			return &m[i];
		}
	}
	return NULL;
}

#define FIND(members, n, lit) find_name((members), (n), (lit), sizeof(lit) - 1)

/* What the header hdr[0..n_hdr) says whatever the issuer, read once per
 * scanned header (and kept with it by the memo): the reason it is refused
 * before any issuer is asked (MALFORMED: no string "alg"; ALG_NOT_ALLOWED:
 * an "alg" that does not unescape into a short name), else its algorithm
 * (-1 when unknown: "none" (RFC 7518 §3.6) is not in our table, so it is
 * never allowed, whatever the issuer's set says), its "kid" (kid_bad: not
 * a string) and whether it has "crit". */
static void read_header(const struct pc_jwt_scratch *s, struct hdr_view *hv)
{
	const struct pc_json_member *m = FIND(s->hdr, s->n_hdr, "alg");
	const struct pc_json_member *kid = FIND(s->hdr, s->n_hdr, "kid");
	char name[8];
	size_t name_len;

	memset(hv, 0, sizeof(*hv));
	hv->alg = -1;
	if (kid) {
		hv->has_kid = true;
		hv->kid = kid->value;
		hv->kid_bad = kid->value.kind != PC_JSON_STRING;
	}
	hv->crit = FIND(s->hdr, s->n_hdr, "crit") != NULL;
	if (!m || m->value.kind != PC_JSON_STRING) {
		hv->r = PC_JWT_MALFORMED;
		return;
	}
	if (pc_json_unescape(&m->value, name, sizeof(name), &name_len) != PC_JSON_OK) {
		hv->r = PC_JWT_ALG_NOT_ALLOWED;
		return;
	}
	hv->r = PC_JWT_OK;
	hv->alg = pc_jwt_alg_from_name(name, name_len);
}

/* Header: RFC 7515 §4.1 and §5.2 steps 3 to 5. */
static enum pc_jwt_reason check_header(struct pc_jwt_scratch *s, const struct pc_jwt_issuer *is,
				       const struct token *t, int *alg_out,
				       const struct pc_jwk **key)
{
	struct hdr_view read;
	const struct hdr_view *hv;
	enum pc_jwt_reason r;

	if (t->memo_hit) {
		hv = &t->memo_hit->hv;
	} else {
		if (pc_json_scan_object(t->header, t->header_len, s->hdr, PC_JWT_MAX_HEADER_PARAMS,
					&s->n_hdr) != PC_JSON_OK)
			return PC_JWT_MALFORMED;
		read_header(s, &read);
		hv = &read;
		if (t->memo_fill) {
			struct hdr_memo *m = t->memo_fill;
			m->hv = read;
			m->json_len = (uint32_t)t->header_len;
			memcpy(m->b64, t->header_b64, t->header_b64_len);
			m->b64_len = (uint32_t)t->header_b64_len;
			s->memo_next = (s->memo_next + 1) % HDR_MEMO_WAYS;
		}
	}
	if (hv->r != PC_JWT_OK)
		return hv->r;
	int alg = hv->alg;
	if (alg < 0 || !(is->algs & PC_JWT_ALG_BIT(alg)))
		return PC_JWT_ALG_NOT_ALLOWED;
	if (hv->kid_bad)
		return PC_JWT_MALFORMED;
	if (unlikely(!is->keys))
		return PC_JWT_ALG_NOT_ALLOWED;
	r = select_key(is->keys, alg, hv->has_kid ? &hv->kid : NULL, key);
	if (r != PC_JWT_OK)
		return r;
	/* §4.1.11: a recipient that does not understand every listed
	 * extension MUST reject; we understand none, so any "crit" is out. */
	if (hv->crit)
		return PC_JWT_CRIT_UNSUPPORTED;
	*alg_out = alg;
	return PC_JWT_OK;
}

static enum pc_jwt_reason numeric_date(const struct pc_json_member *m, enum pc_json_round mode,
				       int64_t *out)
{
	/* RFC 7519 §2: NumericDate is a JSON number, fractions allowed */
	if (m->value.kind != PC_JSON_NUMBER || pc_json_int(&m->value, mode, out) != PC_JSON_OK)
		return PC_JWT_MALFORMED;
	return PC_JWT_OK;
}

static bool audience_ok(const struct pc_jwt_issuer *is, const struct pc_json_value *v)
{
	if (v->kind == PC_JSON_STRING) {
		for (unsigned i = 0; i < is->n_audiences; i++)
			if (pc_json_str_eq(v, is->audiences[i].p, is->audiences[i].len))
				return true;
		return false;
	}
	struct pc_json_iter it;
	struct pc_json_value e;
	int k;
	if (pc_json_array_begin(&it, v) != PC_JSON_OK)
		return false;
	while ((k = pc_json_array_next_string(&it, &e)) != 0) {
		if (k < 0)
			return false; /* §4.1.3: an array of strings, nothing else */
		for (unsigned i = 0; i < is->n_audiences; i++)
			if (pc_json_str_eq(&e, is->audiences[i].p, is->audiences[i].len))
				return true;
	}
	return false;
}

static inline int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

/* Claims: RFC 7519 §4.1 and §7.2 step 10. */
static enum pc_jwt_reason check_claims(struct pc_jwt_scratch *s, const struct pc_jwt_issuer *is,
				       struct token *t, bool iss_matched, int64_t now,
				       struct pc_jwt_claims *out)
{
	const struct pc_json_member *m;
	const int64_t leeway = is->leeway_s;
	enum pc_jwt_reason r;

	/* iss_matched: pc_jwt_verify_any() chose the issuer by this very
	 * compare of the same "iss" */
	m = s->ci.iss;
	if (!iss_matched && (!m || !pc_json_str_eq(&m->value, is->issuer.p, is->issuer.len)))
		return PC_JWT_BAD_ISSUER;

	/* §4.1.3: with "aud" present we must find ourselves in it; when the
	 * issuer names audiences, a token without "aud" is not for us. */
	m = s->ci.aud;
	if (m ? !audience_ok(is, &m->value) : is->n_audiences > 0)
		return PC_JWT_BAD_AUDIENCE;

	out->exp = INT64_MAX;
	out->nbf = INT64_MIN;
	out->iat = INT64_MIN;
	/* Fractions round toward the stricter side: exp down, nbf up, iat down
	 * (which lengthens the measured lifetime). */
	if ((m = s->ci.exp) && (r = numeric_date(m, PC_JSON_ROUND_DOWN, &out->exp)))
		return r;
	if ((m = s->ci.nbf) && (r = numeric_date(m, PC_JSON_ROUND_UP, &out->nbf)))
		return r;
	if ((m = s->ci.iat) && (r = numeric_date(m, PC_JSON_ROUND_DOWN, &out->iat)))
		return r;

	bool has_exp = s->ci.exp != NULL;
	if (!has_exp && is->require_exp)
		return PC_JWT_MISSING_EXP;
	/* §4.1.4: now must be before exp (plus the leeway) */
	if (has_exp && sat_add(now, -leeway) >= out->exp)
		return PC_JWT_EXPIRED;
	/* §4.1.5: now must be at or after nbf (less the leeway) */
	if (out->nbf != INT64_MIN && out->nbf > sat_add(now, leeway))
		return PC_JWT_NOT_YET_VALID;
	/* A token issued in the future is not valid yet either; otherwise
	 * the lifetime cap could be dodged by a far-away iat. */
	if (out->iat != INT64_MIN && out->iat > sat_add(now, leeway))
		return PC_JWT_NOT_YET_VALID;
	if (has_exp && is->max_lifetime_s) {
		int64_t start = out->iat != INT64_MIN ? out->iat :
				out->nbf != INT64_MIN ? out->nbf : now;
		int64_t life;
		if (__builtin_sub_overflow(out->exp, start, &life) || life > (int64_t)is->max_lifetime_s)
			return PC_JWT_LIFETIME_TOO_LONG;
	}

	out->sub.p = NULL;
	out->sub.len = 0;
	m = s->ci.sub;
	if (m) {
		if (m->value.kind != PC_JSON_STRING)
			return PC_JWT_MALFORMED;
		if (!m->value.escaped) {
			out->sub = m->value.raw;
		} else {
			char *dst = (char *)s->arena + t->used;
			size_t sub_len;
			if (pc_json_unescape(&m->value, dst, sizeof(s->arena) - t->used, &sub_len) !=
			    PC_JSON_OK)
				return PC_JWT_INTERNAL;
			t->used += sub_len;
			out->sub.p = dst;
			out->sub.len = (uint32_t)sub_len;
		}
	}
	out->iss = is->issuer;
	out->payload.p = t->payload;
	out->payload.len = (uint32_t)t->payload_len;
	return PC_JWT_OK;
}

/* claims_scanned: pc_jwt_verify_any() scanned the claim set and chose is by
 * its "iss". */
static enum pc_jwt_reason verify_parsed(const struct pc_jwt_issuer *is, struct token *t,
					bool claims_scanned, int64_t now,
					struct pc_jwt_scratch *s, struct pc_jwt_claims *out)
{
	const struct pc_jwk *key = NULL;
	int alg = -1;
	enum pc_jwt_reason r;

	r = check_header(s, is, t, &alg, &key);
	if (r != PC_JWT_OK)
		return r;
	r = verify_sig(s, is->keys, key, alg, t->input, t->input_len, t->sig, t->sig_len);
	if (r != PC_JWT_OK)
		return r;
	/* RFC 7519 §7.2 step 10: only now is the claim set looked at */
	if (!claims_scanned && (r = scan_claims(s, t)) != PC_JWT_OK)
		return r;
	r = check_claims(s, is, t, claims_scanned, now, out);
	if (r != PC_JWT_OK)
		return r;
	out->alg = (uint8_t)alg;
	out->verified = 1;
	return PC_JWT_OK;
}

enum pc_jwt_reason pc_jwt_verify(const struct pc_jwt_issuer *is, const char *token, size_t len,
				 int64_t now_s, struct pc_jwt_scratch *s,
				 struct pc_jwt_claims *out)
{
	struct token t;
	enum pc_jwt_reason r;

	out->verified = 0;
	out->issuer_index = 0;
	if (unlikely(len > is->max_token_len || len > PC_JWT_MAX_TOKEN_LEN))
		return PC_JWT_TOO_LARGE;
	r = split_decode(s, token, len, &t);
	if (r != PC_JWT_OK)
		return r;
	return verify_parsed(is, &t, false, now_s, s, out);
}

enum pc_jwt_reason pc_jwt_verify_any(const struct pc_jwt_issuer *const *issuers, unsigned n,
				     const char *token, size_t len, int64_t now_s,
				     struct pc_jwt_scratch *s, struct pc_jwt_claims *out)
{
	const struct pc_json_member *iss;
	struct token t;
	enum pc_jwt_reason r;

	out->verified = 0;
	out->issuer_index = 0;
	if (unlikely(len > PC_JWT_MAX_TOKEN_LEN))
		return PC_JWT_TOO_LARGE;
	r = split_decode(s, token, len, &t);
	if (r != PC_JWT_OK)
		return r;
	r = scan_claims(s, &t);
	if (r != PC_JWT_OK)
		return r;
	iss = s->ci.iss;
	if (!iss || iss->value.kind != PC_JSON_STRING)
		return PC_JWT_BAD_ISSUER;
	for (unsigned i = 0; i < n && i < PC_JWT_MAX_ISSUERS; i++) {
		const struct pc_jwt_issuer *is = issuers[i];
		if (!pc_json_str_eq(&iss->value, is->issuer.p, is->issuer.len))
			continue;
		if (unlikely(len > is->max_token_len))
			return PC_JWT_TOO_LARGE;
		r = verify_parsed(is, &t, true, now_s, s, out);
		if (r == PC_JWT_OK)
			out->issuer_index = (uint16_t)i;
		return r;
	}
	return PC_JWT_BAD_ISSUER;
}

bool pc_jwt_claim_has(const struct pc_jwt_claims *c, struct pc_str name, struct pc_str value)
{
	struct pc_json_member m[PC_JWT_MAX_CLAIMS];
	unsigned n;

	if (!c->verified || !c->payload.p)
		return false;
	if (pc_json_scan_object(c->payload.p, c->payload.len, m, PC_JWT_MAX_CLAIMS, &n) !=
	    PC_JSON_OK)
		return false;
	const struct pc_json_member *cl = pc_json_find(m, n, name.p, name.len);
	if (!cl)
		return false;
	const struct pc_json_value *v = &cl->value;
	struct pc_json_iter it;
	struct pc_json_value e;

	switch (v->kind) {
	case PC_JSON_STRING:
		if (pc_json_str_eq(v, value.p, value.len))
			return true;
		if (pc_str_eq(name, "scope", 5) || pc_str_eq(name, "scp", 3))
			return pc_json_str_has_word(v, value.p, value.len);
		return false;
	case PC_JSON_ARRAY:
		if (pc_json_array_begin(&it, v) != PC_JSON_OK)
			return false;
		while (pc_json_array_next(&it, &e))
			if (e.kind == PC_JSON_STRING && pc_json_str_eq(&e, value.p, value.len))
				return true;
		return false;
	case PC_JSON_NUMBER:
	case PC_JSON_TRUE:
	case PC_JSON_FALSE:
		return v->raw.len == value.len && memcmp(v->raw.p, value.p, value.len) == 0;
	default:
		return false;
	}
}
