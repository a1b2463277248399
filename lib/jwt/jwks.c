/* SPDX-License-Identifier: BSD-3-Clause
 *
 * JWK Set loader (RFC 7517, key types from RFC 7518 §6 and RFC 8037 §2).
 * Control path: jansson parses the document (duplicate names rejected), each
 * key is checked member by member, and public keys are built with
 * EVP_PKEY_fromdata() from OSSL_PARAM arrays, the OpenSSL 3 way that needs
 * none of the deprecated RSA_/EC_KEY structures. The first problem found
 * ends the load with a message naming the key index and member, because an
 * operator fixing a key set wants to know exactly which value to change.
 */
/* The low-level SHA256_/SHA512_ calls are deprecated in OpenSSL 3, but they
 * are the interface that lets a hash state be prepared once and copied:
 * what the per-key HMAC states below are (see jwks_priv.h). */
#define OPENSSL_SUPPRESS_DEPRECATED
#include "jwt/jwks.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/param_build.h>

#include "jwt/b64url.h"
#include "jwt/jwks_priv.h"

#define RSA_MAX_BYTES 1024 /* 8192-bit modulus */

struct load_ctx {
	char *err;
	size_t err_len;
	const char *prefix; /* "jwks" or the file name */
	unsigned index;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct load_ctx *c, const char *member, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err && c->err_len) {
		if (member)
			snprintf(c->err, c->err_len, "%s: keys[%u]%s%s: %s", c->prefix, c->index,
				 *member ? "." : "", member, msg);
		else
			snprintf(c->err, c->err_len, "%s: %s", c->prefix, msg);
	}
	return -EINVAL;
}

/* A value from the document, quoted and made printable for a message. */
static const char *show(const json_t *v, char *buf, size_t len)
{
	if (!json_is_string(v)) {
		const char *t = json_is_object(v) ? "an object" : json_is_array(v) ? "an array" :
				json_is_number(v) ? "a number" : json_is_boolean(v) ? "a boolean" :
				json_is_null(v) ? "null" : "nothing";
		snprintf(buf, len, "%s", t);
		return buf;
	}
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), o = 0;
	if (len < 8)
		return "";
	buf[o++] = '"';
	for (size_t i = 0; i < n && o + 5 < len; i++)
		buf[o++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (o + 5 >= len && n > 0)
		buf[o++] = '.', buf[o++] = '.', buf[o++] = '.';
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static bool str_is(const json_t *v, const char *s)
{
	return json_is_string(v) && json_string_length(v) == strlen(s) &&
	       memcmp(json_string_value(v), s, strlen(s)) == 0;
}

/* Decode base64url member name of key obj into buf[0..cap). */
static int get_b64(struct load_ctx *c, const json_t *obj, const char *name, uint8_t *buf,
		   size_t cap, size_t *out_len)
{
	const json_t *v = json_object_get(obj, name);
	char shown[64];

	if (!v)
		return fail(c, name, "missing");
	if (!json_is_string(v))
		return fail(c, name, "expected a base64url string, got %s", show(v, shown, sizeof(shown)));
	int r = pc_b64url_decode(json_string_value(v), json_string_length(v), buf, cap, out_len);
	if (r == -ENOSPC)
		return fail(c, name, "too long (%zu characters)", json_string_length(v));
	if (r < 0)
		return fail(c, name, "not base64url without padding (RFC 7515 §2)");
	return 0;
}

static unsigned bits_of(const uint8_t *b, size_t len)
{
	while (len && *b == 0)
		b++, len--;
	if (!len)
		return 0;
	return (unsigned)(len - 1) * 8 + (unsigned)(32 - __builtin_clz(b[0]));
}

static int from_params(struct load_ctx *c, const char *type, OSSL_PARAM_BLD *bld,
		       EVP_PKEY **out)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	int r = -ENOMEM;

	*out = NULL;
	if (!params || !pctx)
		goto out;
	r = -EINVAL;
	if (EVP_PKEY_fromdata_init(pctx) != 1 ||
	    EVP_PKEY_fromdata(pctx, out, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		fail(c, "", "OpenSSL rejects the %s public key", type);
		goto out;
	}
	r = 0;
out:
	ERR_clear_error();
	EVP_PKEY_CTX_free(pctx);
	OSSL_PARAM_free(params);
	return r;
}

static int load_rsa(struct load_ctx *c, const json_t *obj, struct pc_jwk *k)
{
	uint8_t n[RSA_MAX_BYTES], e[16];
	size_t n_len, e_len;
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	int r;

	if ((r = get_b64(c, obj, "n", n, sizeof(n), &n_len)) < 0 ||
	    (r = get_b64(c, obj, "e", e, sizeof(e), &e_len)) < 0)
		return r;
	unsigned bits = bits_of(n, n_len);
	/* RFC 7518 §3.3: a key of 2048 bits or larger MUST be used */
	if (bits < PC_JWKS_MIN_RSA_BITS)
		return fail(c, "n", "RSA modulus of %u bits, at least %u required", bits,
			    PC_JWKS_MIN_RSA_BITS);
	if (bits_of(e, e_len) < 2 || !(e[e_len - 1] & 1))
		return fail(c, "e", "not a valid RSA public exponent (odd, at least 3)");
	r = -ENOMEM;
	bn_n = BN_bin2bn(n, (int)n_len, NULL);
	bn_e = BN_bin2bn(e, (int)e_len, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn_n || !bn_e || !bld ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	r = from_params(c, "RSA", bld, &k->pkey);
	k->bits = (uint16_t)bits;
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return r;
}

static int load_ec(struct load_ctx *c, const json_t *obj, struct pc_jwk *k)
{
	/* RFC 7518 §6.2.1.2/3: x and y are the full coordinate size */
	size_t size = k->crv == PC_JWK_CRV_P256 ? 32 : 48;
	const char *group = k->crv == PC_JWK_CRV_P256 ? "prime256v1" : "secp384r1";
	uint8_t pub[1 + 2 * 48];
	size_t x_len, y_len;
	OSSL_PARAM_BLD *bld;
	int r;

	pub[0] = 0x04; /* SEC 1 §2.3.3 uncompressed point */
	if ((r = get_b64(c, obj, "x", pub + 1, 48, &x_len)) < 0)
		return r;
	if (x_len != size)
		return fail(c, "x", "expected %zu bytes for %s, got %zu", size,
			    size == 32 ? "P-256" : "P-384", x_len);
	if ((r = get_b64(c, obj, "y", pub + 1 + size, 48, &y_len)) < 0)
		return r;
	if (y_len != size)
		return fail(c, "y", "expected %zu bytes for %s, got %zu", size,
			    size == 32 ? "P-256" : "P-384", y_len);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 1 + 2 * size)) {
		OSSL_PARAM_BLD_free(bld);
		return -ENOMEM;
	}
	r = from_params(c, "EC", bld, &k->pkey);
	OSSL_PARAM_BLD_free(bld);
	if (r < 0)
		return fail(c, "", "(x, y) is not a point on %s", size == 32 ? "P-256" : "P-384");
	/* An off-curve point must never reach ECDSA verification. */
	EVP_PKEY_CTX *pctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	int ok = pctx && EVP_PKEY_public_check(pctx) == 1;
	EVP_PKEY_CTX_free(pctx);
	ERR_clear_error();
	if (!ok)
		return fail(c, "", "(x, y) is not a point on %s", size == 32 ? "P-256" : "P-384");
	k->bits = (uint16_t)(size * 8);
	return 0;
}

static int load_okp(struct load_ctx *c, const json_t *obj, struct pc_jwk *k)
{
	uint8_t x[32];
	size_t x_len;
	OSSL_PARAM_BLD *bld;
	int r;

	if ((r = get_b64(c, obj, "x", x, sizeof(x), &x_len)) < 0)
		return r;
	if (x_len != 32)
		return fail(c, "x", "expected 32 bytes for Ed25519, got %zu", x_len);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, x, 32)) {
		OSSL_PARAM_BLD_free(bld);
		return -ENOMEM;
	}
	r = from_params(c, "ED25519", bld, &k->pkey);
	OSSL_PARAM_BLD_free(bld);
	k->bits = 256;
	return r;
}

/* RFC 2104 §2: k's secret, hashed first (into kh) when longer than the
 * block, padded with zeros to the block and xored into ipad and opad; the
 * hash states after one block of each are all a verify needs. */
static void key_pads(const struct pc_jwk *k, size_t block,
		     unsigned char *(*digest)(const unsigned char *, size_t, unsigned char *),
		     size_t digest_len, uint8_t *kh, uint8_t *ipad, uint8_t *opad)
{
	const uint8_t *key = k->secret;
	size_t len = k->secret_len;
	if (len > block) {
		digest(key, len, kh);
		key = kh, len = digest_len;
	}
	memset(ipad, 0x36, block);
	memset(opad, 0x5c, block);
	for (size_t i = 0; i < len; i++) {
		ipad[i] ^= key[i];
		opad[i] ^= key[i];
	}
}

static int hmac_prepare(struct pc_jwk *k)
{
	uint8_t kh[SHA512_DIGEST_LENGTH], ip[128], op[128];
	struct pc_jwk_hmac *h = OPENSSL_zalloc(sizeof(*h));
	if (!h)
		return -ENOMEM;

	key_pads(k, 64, SHA256, SHA256_DIGEST_LENGTH, kh, ip, op);
	SHA256_Init(&h->in256);
	SHA256_Update(&h->in256, ip, 64);
	SHA256_Init(&h->out256);
	SHA256_Update(&h->out256, op, 64);

	key_pads(k, 128, SHA384, SHA384_DIGEST_LENGTH, kh, ip, op);
	SHA384_Init(&h->in384);
	SHA384_Update(&h->in384, ip, 128);
	SHA384_Init(&h->out384);
	SHA384_Update(&h->out384, op, 128);

	key_pads(k, 128, SHA512, SHA512_DIGEST_LENGTH, kh, ip, op);
	SHA512_Init(&h->in512);
	SHA512_Update(&h->in512, ip, 128);
	SHA512_Init(&h->out512);
	SHA512_Update(&h->out512, op, 128);

	OPENSSL_cleanse(kh, sizeof(kh));
	OPENSSL_cleanse(ip, sizeof(ip));
	OPENSSL_cleanse(op, sizeof(op));
	k->hmac = h;
	return 0;
}

static int load_oct(struct load_ctx *c, const json_t *obj, struct pc_jwk *k)
{
	const json_t *v = json_object_get(obj, "k");
	size_t cap = v && json_is_string(v) ? pc_b64url_decoded_len(json_string_length(v)) : 0;
	size_t need = PC_JWKS_MIN_HMAC_BYTES;
	int r;

	k->secret = OPENSSL_malloc(cap ? cap : 1);
	if (!k->secret)
		return -ENOMEM;
	if ((r = get_b64(c, obj, "k", k->secret, cap, &k->secret_len)) < 0)
		return r;
	/* RFC 7518 §3.2: a key at least as long as the hash output */
	if (k->alg == PC_JWT_ALG_HS384)
		need = 48;
	else if (k->alg == PC_JWT_ALG_HS512)
		need = 64;
	if (k->secret_len < need)
		return fail(c, "k", "HMAC key of %zu bytes, at least %zu required", k->secret_len,
			    need);
	k->bits = (uint16_t)(k->secret_len > 8191 ? 65535 : k->secret_len * 8);
	return hmac_prepare(k);
}

static const char *kty_name(unsigned kty)
{
	switch (kty) {
	case PC_JWK_KTY_RSA: return "RSA";
	case PC_JWK_KTY_EC: return "EC";
	case PC_JWK_KTY_OKP: return "OKP";
	default: return "oct";
	}
}

/* Returns 0 (loaded), 1 (skipped: not a verification key) or -errno. */
static int load_key(struct load_ctx *c, const json_t *obj, struct pc_jwk *k)
{
	static const char *const private_members[] = { "d", "p", "q", "dp", "dq", "qi", "oth" };
	char shown[80];
	const json_t *v;

	k->alg = -1;
	if (!json_is_object(obj))
		return fail(c, "", "expected a JWK object, got %s", show(obj, shown, sizeof(shown)));

	/* RFC 7517 §4.2/4.3: keys meant for encryption are not ours to use */
	v = json_object_get(obj, "use");
	if (v) {
		if (str_is(v, "enc"))
			return 1;
		if (!str_is(v, "sig"))
			return fail(c, "use", "expected \"sig\" or \"enc\", got %s",
				    show(v, shown, sizeof(shown)));
	}
	v = json_object_get(obj, "key_ops");
	if (v) {
		size_t i;
		json_t *op;
		bool verify = false;
		if (!json_is_array(v))
			return fail(c, "key_ops", "expected an array of strings");
		json_array_foreach(v, i, op) {
			if (!json_is_string(op))
				return fail(c, "key_ops", "expected an array of strings");
			verify |= str_is(op, "verify");
		}
		if (!verify)
			return 1;
	}

	v = json_object_get(obj, "kty");
	if (str_is(v, "RSA"))
		k->kty = PC_JWK_KTY_RSA;
	else if (str_is(v, "EC"))
		k->kty = PC_JWK_KTY_EC;
	else if (str_is(v, "OKP"))
		k->kty = PC_JWK_KTY_OKP;
	else if (str_is(v, "oct"))
		k->kty = PC_JWK_KTY_OCT;
	else
		return fail(c, "kty", "expected \"RSA\", \"EC\", \"OKP\" or \"oct\", got %s",
			    show(v, shown, sizeof(shown)));

	if (k->kty != PC_JWK_KTY_OCT)
		for (size_t i = 0; i < PC_ARRAY_SIZE(private_members); i++)
			if (json_object_get(obj, private_members[i]))
				return fail(c, private_members[i],
					    "private key member in a verification key set; publish only the public key");

	if (k->kty == PC_JWK_KTY_EC || k->kty == PC_JWK_KTY_OKP) {
		v = json_object_get(obj, "crv");
		if (str_is(v, "P-256"))
			k->crv = PC_JWK_CRV_P256;
		else if (str_is(v, "P-384"))
			k->crv = PC_JWK_CRV_P384;
		else if (str_is(v, "Ed25519"))
			k->crv = PC_JWK_CRV_ED25519;
		else
			return fail(c, "crv", "expected P-256, P-384 or Ed25519, got %s",
				    show(v, shown, sizeof(shown)));
		if ((k->kty == PC_JWK_KTY_EC) != (k->crv != PC_JWK_CRV_ED25519))
			return fail(c, "crv", "%s is not a curve for kty \"%s\"",
				    show(v, shown, sizeof(shown)), kty_name(k->kty));
	}

	v = json_object_get(obj, "kid");
	if (v) {
		if (!json_is_string(v))
			return fail(c, "kid", "expected a string, got %s", show(v, shown, sizeof(shown)));
		if (json_string_length(v) > PC_JWK_KID_MAX)
			return fail(c, "kid", "longer than %u bytes", PC_JWK_KID_MAX);
		k->has_kid = 1;
		k->kid_len = (uint16_t)json_string_length(v);
		memcpy(k->kid, json_string_value(v), k->kid_len);
	}

	v = json_object_get(obj, "alg");
	if (v) {
		int a = json_is_string(v) ? pc_jwt_alg_from_name(json_string_value(v),
								json_string_length(v)) : -1;
		if (a < 0)
			return fail(c, "alg", "unsupported signature algorithm %s",
				    show(v, shown, sizeof(shown)));
		if (!pc__jwk_alg_fits(a, k->kty, k->crv))
			return fail(c, "alg", "%s does not fit a kty \"%s\" key",
				    show(v, shown, sizeof(shown)), kty_name(k->kty));
		k->alg = (int8_t)a;
	}

	switch (k->kty) {
	case PC_JWK_KTY_RSA: return load_rsa(c, obj, k);
	case PC_JWK_KTY_EC: return load_ec(c, obj, k);
	case PC_JWK_KTY_OKP: return load_okp(c, obj, k);
	default: return load_oct(c, obj, k);
	}
}

static void key_clear(struct pc_jwk *k)
{
	EVP_PKEY_free(k->pkey);
	OPENSSL_clear_free(k->secret, k->secret_len);
	OPENSSL_clear_free(k->hmac, sizeof(*k->hmac));
	memset(k, 0, sizeof(*k));
}

void pc_jwks_free(struct pc_jwks *ks)
{
	if (!ks)
		return;
	for (unsigned i = 0; i < ks->n; i++)
		key_clear(&ks->keys[i]);
	EVP_MD_free(ks->md_sha256);
	EVP_MD_free(ks->md_sha384);
	EVP_MD_free(ks->md_sha512);
	free(ks);
}

unsigned pc_jwks_count(const struct pc_jwks *ks)
{
	return ks->n;
}

static struct pc_jwks *load(const char *json, size_t len, const char *prefix, char *err,
			    size_t err_len)
{
	struct load_ctx c = { .err = err, .err_len = err_len, .prefix = prefix };
	struct pc_jwks *ks = NULL;
	json_error_t jerr;
	json_t *root, *keys;
	size_t n;
	int r = -EINVAL;

	if (err && err_len)
		err[0] = '\0';
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		fail(&c, NULL, "line %d: %s", jerr.line, jerr.text);
		goto out;
	}
	keys = json_object_get(root, "keys");
	if (!json_is_object(root) || !json_is_array(keys)) {
		fail(&c, NULL, "expected an object with a \"keys\" array (RFC 7517 §5)");
		goto out;
	}
	n = json_array_size(keys);
	if (n == 0 || n > PC_JWKS_MAX_KEYS) {
		fail(&c, NULL, "keys: expected 1 to %u keys, got %zu", PC_JWKS_MAX_KEYS, n);
		goto out;
	}
	r = -ENOMEM;
	ks = calloc(1, sizeof(*ks) + n * sizeof(ks->keys[0]));
	if (!ks)
		goto out;
	ks->md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	ks->md_sha384 = EVP_MD_fetch(NULL, "SHA384", NULL);
	ks->md_sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	if (!ks->md_sha256 || !ks->md_sha384 || !ks->md_sha512) {
		fail(&c, NULL, "OpenSSL has no SHA-2 digests");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct pc_jwk *k = &ks->keys[ks->n];
		c.index = (unsigned)i;
		r = load_key(&c, json_array_get(keys, i), k);
		if (r < 0) {
			if (r == -ENOMEM)
				fail(&c, NULL, "out of memory");
			key_clear(k);
			goto out;
		}
		if (r == 1) {
			key_clear(k);
			ks->skipped++;
			continue;
		}
		/* RFC 7517 §4.5: kids SHOULD be distinct; the same kid on two
		 * keys of one type would make key selection ambiguous. */
		for (unsigned j = 0; j < ks->n && k->has_kid; j++) {
			const struct pc_jwk *o = &ks->keys[j];
			if (o->has_kid && o->kty == k->kty && o->kid_len == k->kid_len &&
			    memcmp(o->kid, k->kid, k->kid_len) == 0) {
				r = fail(&c, "kid", "same kid and kty as an earlier key");
				key_clear(k);
				goto out;
			}
		}
		ks->n++;
	}
	if (ks->n == 0) {
		r = fail(&c, NULL, "no signature verification key (%u skipped for encryption)",
			 ks->skipped);
		goto out;
	}
	json_decref(root);
	return ks;
out:
	json_decref(root);
	pc_jwks_free(ks);
	errno = -r;
	return NULL;
}

struct pc_jwks *pc_jwks_load(const char *json, size_t len, char *err, size_t err_len)
{
	return load(json, len, "jwks", err, err_len);
}

struct pc_jwks *pc_jwks_load_file(const char *path, char *err, size_t err_len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;
	struct pc_jwks *ks = NULL;
	int e;

	if (!f) {
		e = errno;
		if (err && err_len)
			snprintf(err, err_len, "%s: %s", path, strerror(e));
		errno = e;
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    size > (1 << 20)) {
		if (err && err_len)
			snprintf(err, err_len, "%s: unreadable or larger than 1 MiB", path);
		e = EINVAL;
		goto out;
	}
	buf = malloc((size_t)size + 1);
	if (!buf) {
		e = ENOMEM;
		goto out;
	}
	if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
		if (err && err_len)
			snprintf(err, err_len, "%s: read error", path);
		e = EIO;
		goto out;
	}
	ks = load(buf, (size_t)size, path, err, err_len);
	e = ks ? 0 : errno;
out:
	free(buf);
	fclose(f);
	errno = e;
	return ks;
}
