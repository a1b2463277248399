/* SPDX-License-Identifier: BSD-3-Clause
 *
 * base64url codec. Decoding maps each character through a 256-entry table;
 * the values of every lookup are ORed together and checked once at the end
 * (an invalid character sets bits above the six a valid one has), so the
 * loop has no per-character branch. With SSSE3, 16 characters at a time
 * first: each byte's class (A-Z, a-z, 0-9, '-', '_') by compares, its value
 * as the byte plus its class's offset, then the 6-bit values packed four
 * into three bytes by two multiply-adds and a shuffle; a byte of no class
 * marks the input bad just as the table's zero does. With AVX2, the same
 * 32 characters at a time before that. The whole quads left after the
 * 16-character steps (up to three) are not looked up one at a time: the 16
 * characters that end with them are decoded again, the bytes already
 * written rewritten to the same values.
 */
#include "jwt/b64url.h"

#include <errno.h>
#include <string.h>
#ifdef __SSSE3__
#include <tmmintrin.h>
#endif
#ifdef __AVX2__
#include <immintrin.h>
#endif

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

#ifdef __SSSE3__
/* Decode the 16 characters at s into the 12 bytes at out; returns the mask
 * of characters outside the alphabet (0 when all are in it). */
static inline uint32_t dec16(const unsigned char *s, uint8_t *out)
{
	const __m128i A1 = _mm_set1_epi8('A' - 1), Z1 = _mm_set1_epi8('Z' + 1);
	const __m128i a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1);
	const __m128i d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
	const __m128i dash = _mm_set1_epi8('-'), under = _mm_set1_epi8('_');
	/* value = byte + offset: 'A' -> 0, 'a' -> 26, '0' -> 52, '-' -> 62, '_' -> 63 */
	const __m128i oA = _mm_set1_epi8(-65), oa = _mm_set1_epi8(-71), o0 = _mm_set1_epi8(4);
	const __m128i odash = _mm_set1_epi8(62 - '-'), ounder = _mm_set1_epi8(63 - '_');
	/* pairs to 12 bits (v0 * 64 + v1), pairs of those to 24 (w0 * 4096 + w1) */
	const __m128i m1 = _mm_set1_epi32(0x01400140), m2 = _mm_set1_epi32(0x00011000);
	/* each 32-bit lane holds the 24 bits little-endian: bytes 2, 1, 0 */
	const __m128i order = _mm_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	__m128i c = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i up = _mm_and_si128(_mm_cmpgt_epi8(c, A1), _mm_cmplt_epi8(c, Z1));
	__m128i lo = _mm_and_si128(_mm_cmpgt_epi8(c, a1), _mm_cmplt_epi8(c, z1));
	__m128i dg = _mm_and_si128(_mm_cmpgt_epi8(c, d0), _mm_cmplt_epi8(c, d9));
	__m128i da = _mm_cmpeq_epi8(c, dash), un = _mm_cmpeq_epi8(c, under);
	__m128i off = _mm_or_si128(_mm_or_si128(_mm_and_si128(up, oA), _mm_and_si128(lo, oa)),
				   _mm_or_si128(_mm_and_si128(dg, o0),
						_mm_or_si128(_mm_and_si128(da, odash),
							     _mm_and_si128(un, ounder))));
	__m128i ok = _mm_or_si128(_mm_or_si128(up, lo), _mm_or_si128(dg, _mm_or_si128(da, un)));
	__m128i v = _mm_add_epi8(c, off);
	__m128i w = _mm_madd_epi16(_mm_maddubs_epi16(v, m1), m2);
	__m128i o = _mm_shuffle_epi8(w, order);
	uint32_t last = (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(o, 8));
	_mm_storel_epi64((__m128i *)(void *)out, o);
	memcpy(out + 8, &last, 4);
	return (uint32_t)_mm_movemask_epi8(ok) ^ 0xffffu;
}
#endif

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
	size_t i = 0;
#ifdef __SSSE3__
	uint32_t vbad = 0;
#ifdef __AVX2__
	/* The same steps on 32 characters: the byte shuffle works within each
	 * 128-bit lane, so each lane yields its own 12 bytes. The first
	 * lane's are stored with 16 (its last 4 are garbage, overwritten at
	 * once by the second lane's 12, all inside the output). */
	{
		const __m256i A1y = _mm256_set1_epi8('A' - 1), Z1y = _mm256_set1_epi8('Z' + 1);
		const __m256i a1y = _mm256_set1_epi8('a' - 1), z1y = _mm256_set1_epi8('z' + 1);
		const __m256i d0y = _mm256_set1_epi8('0' - 1), d9y = _mm256_set1_epi8('9' + 1);
		const __m256i dashy = _mm256_set1_epi8('-'), undery = _mm256_set1_epi8('_');
		const __m256i oAy = _mm256_set1_epi8(-65), oay = _mm256_set1_epi8(-71);
		const __m256i o0y = _mm256_set1_epi8(4);
		const __m256i odashy = _mm256_set1_epi8(62 - '-'), oundery = _mm256_set1_epi8(63 - '_');
		const __m256i m1y = _mm256_set1_epi32(0x01400140), m2y = _mm256_set1_epi32(0x00011000);
		const __m256i ordery = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
							2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
		for (; i + 32 <= len - tail; i += 32) {
			__m256i c = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
			__m256i up = _mm256_and_si256(_mm256_cmpgt_epi8(c, A1y), _mm256_cmpgt_epi8(Z1y, c));
			__m256i lo = _mm256_and_si256(_mm256_cmpgt_epi8(c, a1y), _mm256_cmpgt_epi8(z1y, c));
			__m256i dg = _mm256_and_si256(_mm256_cmpgt_epi8(c, d0y), _mm256_cmpgt_epi8(d9y, c));
			__m256i da = _mm256_cmpeq_epi8(c, dashy), un = _mm256_cmpeq_epi8(c, undery);
			__m256i off = _mm256_or_si256(
				_mm256_or_si256(_mm256_and_si256(up, oAy), _mm256_and_si256(lo, oay)),
				_mm256_or_si256(_mm256_and_si256(dg, o0y),
						_mm256_or_si256(_mm256_and_si256(da, odashy),
								_mm256_and_si256(un, oundery))));
			__m256i ok = _mm256_or_si256(_mm256_or_si256(up, lo),
						     _mm256_or_si256(dg, _mm256_or_si256(da, un)));
			vbad |= ~(uint32_t)_mm256_movemask_epi8(ok);
			__m256i v = _mm256_add_epi8(c, off);
			__m256i w = _mm256_madd_epi16(_mm256_maddubs_epi16(v, m1y), m2y);
			__m256i o = _mm256_shuffle_epi8(w, ordery);
			__m128i hi = _mm256_extracti128_si256(o, 1);
			uint32_t last = (uint32_t)_mm_cvtsi128_si32(_mm_srli_si128(hi, 8));
			_mm_storeu_si128((__m128i *)(void *)out, _mm256_castsi256_si128(o));
			_mm_storel_epi64((__m128i *)(void *)(out + 12), hi);
			memcpy(out + 20, &last, 4);
			out += 24;
		}
	}
#endif
	for (; i + 16 <= len - tail; i += 16) {
		vbad |= dec16(s + i, out);
		out += 12;
	}
	if (i < len - tail && len - tail >= 16) {
		/* the last whole quads: the 16 characters that end with them
		 * (quads start at multiples of 4, as len - tail and i do), so
		 * the quads already decoded are decoded again to the same bytes
		 * rather than one at a time through the table */
		size_t j = len - tail - 16;
		vbad |= dec16(s + j, out - (i - j) / 4 * 3);
		out += (len - tail - i) / 4 * 3;
		i = len - tail;
	}
	bad |= vbad ? 0x40u : 0;
#endif
	for (; i + 4 <= len; i += 4) {
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
