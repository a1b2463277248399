/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Address and prefix text parsing and matching. Control path for parsing,
 * fast path (inline, any thread) for matching.
 */
#ifndef PC_ADDR_H
#define PC_ADDR_H

#include "util/pc_types.h"

/* Parse "198.18.0.1" or "2001:db8::1". Returns 0 or -EINVAL. Any thread. */
int pc_addr_parse(const char *text, struct pc_addr *out);

/* Parse "198.18.1.0/24", "2001:db8::/32" or a bare address (a host prefix).
 * Host bits beyond the length must be zero. Returns 0 or -EINVAL. */
int pc_prefix_parse(const char *text, struct pc_prefix *out);

/* Format an address into buf (at least 46 bytes). Returns buf. */
char *pc_addr_format(const struct pc_addr *a, char *buf, size_t len);

/* True when addr lies inside prefix (families must agree). Fast path. */
static inline bool pc_prefix_contains(const struct pc_prefix *p, const struct pc_addr *a)
{
	if (p->addr.family != a->family)
		return false;
	if (a->family == 4) {
		if (p->len == 0)
			return true;
		uint32_t mask = p->len >= 32 ? 0xffffffffu : ~(0xffffffffu >> p->len);
		return (a->v4 & mask) == p->addr.v4;
	}
	unsigned full = p->len / 8, rest = p->len % 8;
	if (memcmp(p->addr.v6, a->v6, full) != 0)
		return false;
	if (rest == 0)
		return true;
	uint8_t mask = (uint8_t)(0xff << (8 - rest));
	return (a->v6[full] & mask) == p->addr.v6[full];
}

static inline bool pc_addr_eq(const struct pc_addr *a, const struct pc_addr *b)
{
	if (a->family != b->family)
		return false;
	return a->family == 4 ? a->v4 == b->v4 : memcmp(a->v6, b->v6, 16) == 0;
}

#endif
