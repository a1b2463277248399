/* SPDX-License-Identifier: BSD-3-Clause
 *
 * base64url codec. Decoding maps each character through a 256-entry table;
 * the values of every lookup are ORed together and checked once at the end
 * (an invalid character sets bits above the six a valid one has), so the
 * loop has no per-character branch.
 */
#include "jwt/b64url.h"

#include <errno.h>

#include "util/pc_types.h"

/* Character value plus one; 0 marks a character outside the alphabet, so
 * that after subtracting one it becomes all ones and fails the final check. */
static const uint8_t dec[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
	['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['-'] = 63,
	['_'] = 64,
};

static const char enc[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int pc_b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t tail = len % 4;
	size_t n = pc_b64url_decoded_len(len);
	uint32_t bad = 0, pad = 0;

	/* RFC 4648 §5 without padding: one leftover character carries only 6
	 * bits, less than a byte, so no encoder produces it. */
	if (unlikely(tail == 1))
		return -EINVAL;
	if (unlikely(n > cap))
		return -ENOSPC;
	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t a = dec[s[i]] - 1u, b = dec[s[i + 1]] - 1u;
		uint32_t c = dec[s[i + 2]] - 1u, d = dec[s[i + 3]] - 1u;
		bad |= a | b | c | d;
		uint32_t v = a << 18 | b << 12 | c << 6 | d;
		out[0] = (uint8_t)(v >> 16);
		out[1] = (uint8_t)(v >> 8);
		out[2] = (uint8_t)v;
		out += 3;
	}
	s += len - tail;
	if (tail == 2) {
		uint32_t a = dec[s[0]] - 1u, b = dec[s[1]] - 1u;
		bad |= a | b;
		pad = b & 0x0f; /* RFC 4648 §3.5: pad bits are zero */
		out[0] = (uint8_t)(a << 2 | b >> 4);
	} else if (tail == 3) {
		uint32_t a = dec[s[0]] - 1u, b = dec[s[1]] - 1u, c = dec[s[2]] - 1u;
		bad |= a | b | c;
		pad = c & 0x03;
		out[0] = (uint8_t)(a << 2 | b >> 4);
		out[1] = (uint8_t)(b << 4 | c >> 2);
	}
	if (unlikely((bad >> 6) | pad))
		return -EINVAL;
	*out_len = n;
	return 0;
}

size_t pc_b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t n = pc_b64url_encoded_len(len);
	size_t i = 0;
	char *o = out;

	if (n > cap)
		return 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = enc[v >> 18];
		*o++ = enc[v >> 12 & 63];
		*o++ = enc[v >> 6 & 63];
		*o++ = enc[v & 63];
	}
	if (len - i == 1) {
		*o++ = enc[in[i] >> 2];
		*o++ = enc[(in[i] & 3) << 4];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];
		*o++ = enc[v >> 10];
		*o++ = enc[v >> 4 & 63];
		*o++ = enc[(v & 15) << 2];
	}
	return n;
}
