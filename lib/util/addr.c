/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Address and prefix text. Parsing is delegated to inet_pton(), which only
 * accepts the canonical dotted-quad and RFC 4291 section 2.2 forms (no
 * "1.2.3", no octal, no zone index), so policy files cannot smuggle in an
 * address that other tools would read differently. The prefix length is
 * parsed by hand for the same reason: strtoul() would accept "+24", " 24"
 * and "0x18". A prefix with host bits set is refused instead of silently
 * masked, because "198.18.1.1/24" is almost always a typo for a host or for
 * a different network, and a policy error is cheaper than a wrong match.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/addr.h"

/* Longest address text we accept before the '/', plus its NUL. */
#define PC_ADDR_TEXT_MAX INET6_ADDRSTRLEN

int pc_addr_parse(const char *text, struct pc_addr *out)
{
	struct in_addr a4;

	if (text == NULL || out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, text, &a4) == 1) {
		out->family = 4;
		out->v4 = ntohl(a4.s_addr);
		return 0;
	}
	if (inet_pton(AF_INET6, text, out->v6) == 1) {
		out->family = 6;
		return 0;
	}
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

/* Decimal prefix length: one to three digits, no sign, no spaces, and no
 * leading zero (some tools read "010" as octal). Returns the value or -1. */
static int prefix_len_parse(const char *s)
{
	int v = 0, n = 0;

	if (s[0] == '0' && s[1] != '\0')
		return -1;
	for (; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '9' || n == 3)
			return -1;
		v = v * 10 + (s[n] - '0');
	}
	return n == 0 ? -1 : v;
}

/* True when any bit of a beyond the first len bits is set. */
static bool host_bits_set(const struct pc_addr *a, unsigned len)
{
	if (a->family == 4)
		return len < 32 && (a->v4 & (0xffffffffu >> len)) != 0;
	for (unsigned bit = len; bit < 128; bit++)
		if (a->v6[bit / 8] & (0x80u >> (bit % 8)))
			return true;
	return false;
}

int pc_prefix_parse(const char *text, struct pc_prefix *out)
{
	char addr_text[PC_ADDR_TEXT_MAX];
	const char *slash;
	size_t addr_len;
	int len, max;

	if (text == NULL || out == NULL)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	slash = strchr(text, '/');
	addr_len = slash ? (size_t)(slash - text) : strlen(text);
	if (addr_len == 0 || addr_len >= sizeof(addr_text))
		return -EINVAL;
	memcpy(addr_text, text, addr_len);
	addr_text[addr_len] = '\0';
	if (pc_addr_parse(addr_text, &out->addr) != 0)
		goto fail;
	max = out->addr.family == 4 ? 32 : 128;
	if (slash == NULL) {
		len = max;
	} else {
		len = prefix_len_parse(slash + 1);
		if (len < 0 || len > max)
			goto fail;
	}
	if (host_bits_set(&out->addr, (unsigned)len))
		goto fail;
	out->len = (uint8_t)len;
	return 0;
fail:
	memset(out, 0, sizeof(*out));
	return -EINVAL;
}

/* An address with no family (a flow without L3, an unset field) prints as
 * "-", the usual placeholder in access logs, so a log line keeps its shape. */
char *pc_addr_format(const struct pc_addr *a, char *buf, size_t len)
{
	struct in_addr a4;
	const char *r = NULL;

	if (buf == NULL || len == 0)
		return buf;
	if (a != NULL && a->family == 4) {
		a4.s_addr = htonl(a->v4);
		r = inet_ntop(AF_INET, &a4, buf, (socklen_t)len);
	} else if (a != NULL && a->family == 6) {
		r = inet_ntop(AF_INET6, a->v6, buf, (socklen_t)len);
	} else {
		snprintf(buf, len, "-");
		return buf;
	}
	if (r == NULL)
		buf[0] = '\0';
	return buf;
}
