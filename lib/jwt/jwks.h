/* SPDX-License-Identifier: BSD-3-Clause
 *
 * A JWK Set (RFC 7517 §5) of verification keys, loaded on the control path
 * with jansson and turned into OpenSSL 3 EVP_PKEYs once, so verification
 * never parses key material. Supported: kty "RSA" (n, e; at least 2048
 * bits), "EC" (crv P-256 or P-384; x, y), "OKP" (crv Ed25519; x; RFC 8037)
 * and "oct" (k, an HMAC secret of at least 32 bytes). Keys marked for
 * encryption ("use": "enc", or "key_ops" without "verify") are skipped, not
 * rejected, so a provider's published set can be used as is. Private key
 * members ("d", "p", ...) are rejected: a verification key set must not
 * carry them.
 *
 * A loaded set is immutable and may be shared by every worker thread.
 */
#ifndef PC_JWKS_H
#define PC_JWKS_H

#include <stddef.h>

struct pc_jwks;

#define PC_JWKS_MAX_KEYS 64
#define PC_JWKS_MIN_RSA_BITS 2048
#define PC_JWKS_MIN_HMAC_BYTES 32

/* Load a JWK Set from json[0..len). Returns the set, or NULL with errno set
 * (EINVAL for bad content, ENOMEM) and err filled with a message naming the
 * key and what is wrong, e.g.
 *   jwks: keys[2].crv: expected P-256, P-384 or Ed25519, got "P-521"
 * Control path. */
struct pc_jwks *pc_jwks_load(const char *json, size_t len, char *err, size_t err_len);

/* Same, from a file; messages start with the file name. Control path. */
struct pc_jwks *pc_jwks_load_file(const char *path, char *err, size_t err_len);

/* Free a set (NULL is fine). Control path, once no thread verifies with it
 * any more (after the RCU grace period that retired it). */
void pc_jwks_free(struct pc_jwks *ks);

/* Keys loaded (skipped ones not counted). Any thread. */
unsigned pc_jwks_count(const struct pc_jwks *ks);

#endif
