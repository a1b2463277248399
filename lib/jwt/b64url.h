/* SPDX-License-Identifier: BSD-3-Clause
 *
 * base64url without padding (RFC 4648 §5, as JWS uses it: RFC 7515 §2 and
 * Appendix C). Decoding is strict, so one byte string has exactly one
 * encoding: only the 64 alphabet characters, no '=', no whitespace, no
 * length of 1 mod 4, and the unused low bits of the last character zero.
 * Any thread; fast path; no allocation.
 */
#ifndef PC_B64URL_H
#define PC_B64URL_H

#include <stddef.h>
#include <stdint.h>

/* Bytes that len encoded characters decode to (an upper bound when len is
 * invalid). */
static inline size_t pc_b64url_decoded_len(size_t len)
{
	return len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
}

/* Characters needed to encode len bytes. */
static inline size_t pc_b64url_encoded_len(size_t len)
{
	return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

/* Decode in[0..len) into out[0..cap). Returns 0 with *out_len set, -EINVAL
 * when the text is not strict base64url, -ENOSPC when cap is too small. */
int pc_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len);

/* Encode in[0..len) into out[0..cap) without padding or NUL. Returns the
 * number of characters written, or 0 with nothing written when cap is too
 * small (and len > 0). */
size_t pc_b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap);

#endif
