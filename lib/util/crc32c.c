/* SPDX-License-Identifier: BSD-3-Clause
 *
 * CRC-32C in three lanes; the design is in crc32c.h.
 */
#include "util/crc32c.h"

#include <pthread.h>
#include <stdbool.h>
#include <string.h>

/* Reflected polynomial of CRC-32C. */
#define CRC32C_POLY 0x82f63b78u
/* Bytes of one lane: a block is three. Long enough that the two joins per
 * block (eight table look-ups) are lost in the 384 crc32 instructions. */
#define LANE 1024u
#define BLOCK (3u * LANE)

/* Every register bit advanced over LANE zero bytes, by byte of the
 * register: advance(x) = XOR of adv[k][byte k of x]. */
static uint32_t adv[4][256];
static pthread_once_t adv_once = PTHREAD_ONCE_INIT;

/* One bit at a time, on the raw register: only for CPUs without the
 * instruction. */
static uint32_t crc_soft(uint32_t crc, const uint8_t *b, size_t len)
{
	while (len-- > 0) {
		crc ^= *b++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (CRC32C_POLY & (0u - (crc & 1)));
	}
	return crc;
}

static uint32_t soft_copy(uint8_t *dst, const uint8_t *src, size_t len, uint32_t crc)
{
	if (dst != NULL)
		memcpy(dst, src, len);
	return crc_soft(crc, src, len);
}

static inline uint32_t advance_lane(uint32_t x)
{
	return adv[0][x & 0xff] ^ adv[1][(x >> 8) & 0xff] ^ adv[2][(x >> 16) & 0xff] ^
	       adv[3][x >> 24];
}

#if defined(__x86_64__)
#define HW __attribute__((target("sse4.2")))

HW static void adv_init(void)
{
	/* The advance is linear: the image of each single bit, then every
	 * byte value as the XOR of its bits' images. */
	uint32_t bit[32];
	for (unsigned i = 0; i < 32; i++) {
		uint64_t c = 1u << i;
		for (unsigned n = 0; n < LANE / 8; n++)
			c = __builtin_ia32_crc32di(c, 0);
		bit[i] = (uint32_t)c;
	}
	for (unsigned k = 0; k < 4; k++) {
		for (unsigned v = 0; v < 256; v++) {
			uint32_t x = 0;
			for (unsigned j = 0; j < 8; j++)
				if (v & (1u << j))
					x ^= bit[8 * k + j];
			adv[k][v] = x;
		}
	}
}

static inline uint64_t load8(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* The raw register over len bytes; with dst, also copies them. */
HW static uint32_t crc_hw(uint8_t *dst, const uint8_t *src, size_t len, uint32_t crc)
{
	uint64_t c0 = crc;
	if (len >= BLOCK) {
		pthread_once(&adv_once, adv_init);
		do {
			uint64_t c1 = 0, c2 = 0;
			for (unsigned o = 0; o < LANE; o += 8) {
				uint64_t a = load8(src + o), b = load8(src + LANE + o),
					 d = load8(src + 2 * LANE + o);
				c0 = __builtin_ia32_crc32di(c0, a);
				c1 = __builtin_ia32_crc32di(c1, b);
				c2 = __builtin_ia32_crc32di(c2, d);
				if (dst != NULL) {
					memcpy(dst + o, &a, 8);
					memcpy(dst + LANE + o, &b, 8);
					memcpy(dst + 2 * LANE + o, &d, 8);
				}
			}
			c0 = advance_lane(advance_lane((uint32_t)c0) ^ (uint32_t)c1) ^ (uint32_t)c2;
			src += BLOCK;
			if (dst != NULL)
				dst += BLOCK;
			len -= BLOCK;
		} while (len >= BLOCK);
	}
	while (len >= 8) {
		uint64_t a = load8(src);
		c0 = __builtin_ia32_crc32di(c0, a);
		if (dst != NULL) {
			memcpy(dst, &a, 8);
			dst += 8;
		}
		src += 8;
		len -= 8;
	}
	uint32_t c = (uint32_t)c0;
	while (len-- > 0) {
		if (dst != NULL)
			*dst++ = *src;
		c = __builtin_ia32_crc32qi(c, *src++);
	}
	return c;
}

static uint32_t crc_any(uint8_t *dst, const uint8_t *src, size_t len)
{
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_hw(dst, src, len, ~0u);
	return ~soft_copy(dst, src, len, ~0u);
}
#else
static uint32_t crc_any(uint8_t *dst, const uint8_t *src, size_t len)
{
	return ~soft_copy(dst, src, len, ~0u);
}
#endif

uint32_t pc_crc32c(const void *p, size_t len)
{
	return crc_any(NULL, p, len);
}

uint32_t pc_crc32c_copy(void *dst, const void *src, size_t len)
{
	return crc_any(dst, src, len);
}
