/* SPDX-License-Identifier: BSD-3-Clause
 *
 * CRC-32C (util/crc32c.h): the RFC 3720 check values, and the three-lane
 * path against a plain bitwise CRC written here, on lengths around every
 * boundary the implementation has (the 8-byte step, the 3 KiB block) and on
 * unaligned starts; the copying variant gives the same value and the same
 * bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_test.h"
#include "util/crc32c.h"

/* The definition, one bit at a time (reflected polynomial 0x82f63b78). */
static uint32_t reference(const uint8_t *p, size_t len)
{
	uint32_t c = ~0u;
	for (size_t i = 0; i < len; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

static void test_check_values(void)
{
	CU_ASSERT_EQUAL(pc_crc32c("123456789", 9), 0xe3069283u);
	uint8_t z[32], f[32], inc[32];
	memset(z, 0, sizeof(z));
	memset(f, 0xff, sizeof(f));
	for (unsigned i = 0; i < 32; i++)
		inc[i] = (uint8_t)i;
	CU_ASSERT_EQUAL(pc_crc32c(z, 32), 0x8a9136aau);
	CU_ASSERT_EQUAL(pc_crc32c(f, 32), 0x62a8ab43u);
	CU_ASSERT_EQUAL(pc_crc32c(inc, 32), 0x46dd794eu);
	CU_ASSERT_EQUAL(pc_crc32c(inc, 0), 0u);
	CU_ASSERT_NOT_EQUAL(pc_crc32c(inc, 31), pc_crc32c(inc, 32));
}

static void test_lanes_match_reference(void)
{
	const size_t max = 4 * 3072 + 64;
	uint8_t *buf = malloc(max + 8), *out = malloc(max + 8);
	CU_ASSERT_FATAL(buf != NULL && out != NULL);
	uint64_t x = 0x243f6a8885a308d3u;
	for (size_t i = 0; i < max + 8; i++) {
		x = x * 6364136223846793005u + 1442695040888963407u;
		buf[i] = (uint8_t)(x >> 56);
	}
	static const size_t lens[] = { 1, 7, 8, 9, 3071, 3072, 3073, 3080, 6143, 6144, 6151,
				       9216 + 5, 12288, 12288 + 63 };
	unsigned same = 0, copied = 0, n = 0;
	for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
		for (size_t off = 0; off < 8; off += 3) {
			const uint8_t *p = buf + off;
			uint32_t want = reference(p, lens[k]);
			memset(out, 0, max + 8);
			same += pc_crc32c(p, lens[k]) == want;
			copied += pc_crc32c_copy(out, p, lens[k]) == want &&
				  memcmp(out, p, lens[k]) == 0 && out[lens[k]] == 0;
			n++;
		}
	}
	CU_ASSERT_EQUAL(same, n);
	CU_ASSERT_EQUAL(copied, n);
	/* one flipped bit deep inside the second lane changes the value */
	uint32_t before = pc_crc32c(buf, 9216);
	buf[1024 + 517] ^= 0x10;
	CU_ASSERT_NOT_EQUAL(pc_crc32c(buf, 9216), before);
	CU_ASSERT_EQUAL(pc_crc32c(buf, 9216), reference(buf, 9216));
	free(buf);
	free(out);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_check_values),
	PC_TEST(test_lanes_match_reference),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("crc32c", tests)
