/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Small value types shared by every module: a non-owning string view and an
 * IP address. They carry no pointers into shared memory and no allocation,
 * so they can live in mbuf-sized scratch areas and on the fast path.
 */
#ifndef PC_TYPES_H
#define PC_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef likely
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#endif

#define PC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* A view into bytes owned by someone else (a packet, a policy image). */
struct pc_str {
	const char *p;
	uint32_t len;
};

static inline bool pc_str_eq(struct pc_str s, const char *lit, size_t lit_len)
{
	return s.len == lit_len && memcmp(s.p, lit, lit_len) == 0;
}

/* An IPv4 or IPv6 address. IPv4 is kept in host byte order in v4 so that
 * prefix tests are a shift and a compare; IPv6 stays in network order. */
struct pc_addr {
	uint8_t family; /* 4 or 6; 0 = none */
	union {
		uint32_t v4;
		uint8_t v6[16];
	};
};

/* An address prefix (CIDR). len is 0..32 for IPv4, 0..128 for IPv6. */
struct pc_prefix {
	struct pc_addr addr;
	uint8_t len;
};

#endif
