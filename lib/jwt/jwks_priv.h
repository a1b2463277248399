/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The loaded form of a JWK Set, shared by jwks.c (which builds it) and jwt.c
 * (which selects keys and verifies with them). Nothing else should include
 * this header.
 */
#ifndef PC_JWKS_PRIV_H
#define PC_JWKS_PRIV_H

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "jwt/jwks.h"
#include "jwt/jwt.h"

enum pc_jwk_kty {
	PC_JWK_KTY_RSA = 1,
	PC_JWK_KTY_EC,
	PC_JWK_KTY_OKP,
	PC_JWK_KTY_OCT,
};

enum pc_jwk_crv {
	PC_JWK_CRV_NONE = 0,
	PC_JWK_CRV_P256,
	PC_JWK_CRV_P384,
	PC_JWK_CRV_ED25519,
};

#define PC_JWK_KID_MAX 256

/* An oct key's HMAC (RFC 2104) with its padded key blocks already hashed:
 * the hash states after (K ^ ipad) and after (K ^ opad), for SHA-256,
 * SHA-384 and SHA-512 (a key may serve any HS* its length allows). A verify
 * copies a state and hashes the signing input and the inner digest only:
 * no key schedule, no provider dispatch, no allocation per token. The
 * states are as secret as the key and are wiped with it. Built by the
 * loader (pc__jwk_hmac_prepare), read by verifiers on any thread. */
struct pc_jwk_hmac {
	SHA256_CTX in256, out256;
	SHA512_CTX in384, out384;
	SHA512_CTX in512, out512;
};

struct pc_jwk {
	uint8_t kty;          /* enum pc_jwk_kty */
	uint8_t crv;          /* enum pc_jwk_crv */
	int8_t alg;           /* enum pc_jwt_alg, -1 when the JWK names none */
	uint8_t has_kid;
	uint16_t kid_len;
	uint16_t bits;        /* RSA modulus bits, EC field bits, HMAC key bits */
	char kid[PC_JWK_KID_MAX];
	EVP_PKEY *pkey;       /* RSA, EC, OKP */
	uint8_t *secret;      /* oct */
	size_t secret_len;
	struct pc_jwk_hmac *hmac; /* oct: prepared HMAC states */
};

/* Does algorithm alg fit a key of type kty and curve crv (RFC 7518 §3.1:
 * HS* oct, RS* and PS* RSA, ES256 P-256, ES384 P-384; RFC 8037 §3.1: EdDSA
 * Ed25519)? This is what keeps a token from choosing how a key is used. */
static inline bool pc__jwk_alg_fits(int alg, unsigned kty, unsigned crv)
{
	switch (alg) {
	case PC_JWT_ALG_HS256: case PC_JWT_ALG_HS384: case PC_JWT_ALG_HS512:
		return kty == PC_JWK_KTY_OCT;
	case PC_JWT_ALG_RS256: case PC_JWT_ALG_RS384: case PC_JWT_ALG_RS512:
	case PC_JWT_ALG_PS256: case PC_JWT_ALG_PS384: case PC_JWT_ALG_PS512:
		return kty == PC_JWK_KTY_RSA;
	case PC_JWT_ALG_ES256:
		return kty == PC_JWK_KTY_EC && crv == PC_JWK_CRV_P256;
	case PC_JWT_ALG_ES384:
		return kty == PC_JWK_KTY_EC && crv == PC_JWK_CRV_P384;
	case PC_JWT_ALG_EDDSA:
		return kty == PC_JWK_KTY_OKP && crv == PC_JWK_CRV_ED25519;
	}
	return false;
}

struct pc_jwks {
	unsigned n;
	unsigned skipped;
	EVP_MD *md_sha256;    /* fetched once: no name lookup per verify */
	EVP_MD *md_sha384;
	EVP_MD *md_sha512;
	struct pc_jwk keys[];
};

#endif
