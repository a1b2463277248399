/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Address and prefix text: what is accepted, what is refused (everything a
 * policy author could mistype), and prefix matching at the boundaries of
 * every interesting length.
 */
#include <errno.h>

#include "pc_test.h"
#include "util/addr.h"

static struct pc_addr a4(uint32_t v)
{
	struct pc_addr a = { .family = 4 };

	a.v4 = v;
	return a;
}

static struct pc_addr a6(const char *text)
{
	struct pc_addr a;

	CU_ASSERT_FATAL(pc_addr_parse(text, &a) == 0);
	CU_ASSERT_FATAL(a.family == 6);
	return a;
}

static struct pc_prefix pfx(const char *text)
{
	struct pc_prefix p;

	CU_ASSERT_FATAL(pc_prefix_parse(text, &p) == 0);
	return p;
}

static void test_addr_parse_v4(void)
{
	struct pc_addr a;

	CU_ASSERT_EQUAL(pc_addr_parse("198.18.0.1", &a), 0);
	CU_ASSERT_EQUAL(a.family, 4);
	CU_ASSERT_EQUAL(a.v4, 0xc6120001u); /* host order */
	CU_ASSERT_EQUAL(pc_addr_parse("0.0.0.0", &a), 0);
	CU_ASSERT_EQUAL(a.v4, 0);
	CU_ASSERT_EQUAL(pc_addr_parse("255.255.255.255", &a), 0);
	CU_ASSERT_EQUAL(a.v4, 0xffffffffu);
}

static void test_addr_parse_v6(void)
{
	struct pc_addr a;
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 198, 18, 0, 1 };

	CU_ASSERT_EQUAL(pc_addr_parse("2001:db8::1", &a), 0);
	CU_ASSERT_EQUAL(a.family, 6);
	CU_ASSERT_EQUAL(memcmp(a.v6, want, 16), 0);
	CU_ASSERT_EQUAL(pc_addr_parse("2001:0DB8:0:0:0:0:0:1", &a), 0);
	CU_ASSERT_EQUAL(memcmp(a.v6, want, 16), 0);
	/* A v4-mapped address is an IPv6 address, not an IPv4 one. */
	CU_ASSERT_EQUAL(pc_addr_parse("::ffff:198.18.0.1", &a), 0);
	CU_ASSERT_EQUAL(a.family, 6);
	CU_ASSERT_EQUAL(memcmp(a.v6, mapped, 16), 0);
}

static void test_addr_parse_invalid(void)
{
	static const char *const bad[] = {
		"", " ", "198.18.0", "198.18.0.1.2", "198.18.0.256", "198.18.0.-1",
		" 198.18.0.1", "198.18.0.1 ", "198.18.0.1x", "0x7f.0.0.1", "1.2.3.4/32",
		"2001:db8::g", "2001:db8:::1", "1:2:3:4:5:6:7:8:9", "fe80::1%eth0",
		"[::1]", "localhost",
	};
	struct pc_addr a;

	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		a.family = 99;
		CU_ASSERT_EQUAL(pc_addr_parse(bad[i], &a), -EINVAL);
		CU_ASSERT_EQUAL(a.family, 0);
	}
	CU_ASSERT_EQUAL(pc_addr_parse(NULL, &a), -EINVAL);
	CU_ASSERT_EQUAL(pc_addr_parse("1.2.3.4", NULL), -EINVAL);
}

static void test_addr_format(void)
{
	char buf[46];
	struct pc_addr a = a4(0xc6120a01u), none = { 0 };

	CU_ASSERT_STRING_EQUAL(pc_addr_format(&a, buf, sizeof(buf)), "198.18.10.1");
	a = a6("2001:0db8:0000:0000:0000:0000:0000:0001");
	CU_ASSERT_STRING_EQUAL(pc_addr_format(&a, buf, sizeof(buf)), "2001:db8::1");
	a = a6("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255");
	CU_ASSERT_STRING_EQUAL(pc_addr_format(&a, buf, sizeof(buf)),
			       "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
	CU_ASSERT_STRING_EQUAL(pc_addr_format(&none, buf, sizeof(buf)), "-");
	/* Too small a buffer yields an empty string, never an overflow. */
	a = a4(0xc6120a01u);
	CU_ASSERT_STRING_EQUAL(pc_addr_format(&a, buf, 8), "");

	/* Round trip. */
	static const char *const texts[] = { "0.0.0.0", "198.18.255.254", "::", "::1",
					     "2001:db8:1:2:3:4:5:6", "fe80::1:2" };
	for (size_t i = 0; i < PC_ARRAY_SIZE(texts); i++) {
		CU_ASSERT_EQUAL_FATAL(pc_addr_parse(texts[i], &a), 0);
		CU_ASSERT_STRING_EQUAL(pc_addr_format(&a, buf, sizeof(buf)), texts[i]);
	}
}

static void test_prefix_parse_valid(void)
{
	struct pc_prefix p;

	p = pfx("198.18.0.0/15");
	CU_ASSERT_EQUAL(p.addr.family, 4);
	CU_ASSERT_EQUAL(p.addr.v4, 0xc6120000u);
	CU_ASSERT_EQUAL(p.len, 15);
	p = pfx("0.0.0.0/0");
	CU_ASSERT_EQUAL(p.len, 0);
	p = pfx("198.18.1.1/32");
	CU_ASSERT_EQUAL(p.len, 32);
	/* A bare address is a host prefix. */
	p = pfx("198.18.1.1");
	CU_ASSERT_EQUAL(p.addr.v4, 0xc6120101u);
	CU_ASSERT_EQUAL(p.len, 32);
	p = pfx("2001:db8::1");
	CU_ASSERT_EQUAL(p.addr.family, 6);
	CU_ASSERT_EQUAL(p.len, 128);
	p = pfx("2001:db8::/32");
	CU_ASSERT_EQUAL(p.addr.v6[1], 0x01);
	CU_ASSERT_EQUAL(p.len, 32);
	p = pfx("::/0");
	CU_ASSERT_EQUAL(p.len, 0);
	p = pfx("2001:db8:8000::/33");
	CU_ASSERT_EQUAL(p.len, 33);
	p = pfx("2001:db8::/127");
	CU_ASSERT_EQUAL(p.len, 127);
	p = pfx("2001:db8::fe/127");
	CU_ASSERT_EQUAL(p.len, 127);
	p = pfx("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
	CU_ASSERT_EQUAL(p.len, 128);
}

static void test_prefix_parse_invalid(void)
{
	static const char *const bad[] = {
		/* missing or non-numeric length */
		"198.18.0.0/", "198.18.0.0/x", "198.18.0.0/2x", "198.18.0.0/ 24",
		"198.18.0.0/24 ", "198.18.0.0/0x18", "198.18.0.0/1.5",
		/* signs and leading zeros */
		"198.18.0.0/+24", "198.18.0.0/-0", "198.18.0.0/-24", "198.18.0.0/024",
		"::/+64", "::/00",
		/* out of range */
		"198.18.0.0/33", "198.18.0.0/100", "198.18.0.0/4294967320",
		"::/129", "::/1000",
		/* trailing junk, two slashes, no address */
		"198.18.0.0/24/8", "198.18.0.0/24x", "198.18.0.0 /24", "/24", "/", "",
		"2001:db8::/32 ", "2001:db8::/32/",
		/* host bits beyond the length */
		"198.18.1.1/24", "198.19.0.0/15", "1.0.0.0/0", "198.18.0.1/31",
		"2001:db8::1/64", "2001:db8::1/127", "::1/0", "2001:db8:4000::/33",
		"2001:db8::/24", "::1/127", "2001:db8::1:0/111",
		/* address longer than any valid text */
		"1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb/64",
	};
	struct pc_prefix p;

	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		p.len = 77;
		p.addr.family = 99;
		int rc = pc_prefix_parse(bad[i], &p);
		if (rc != -EINVAL)
			fprintf(stderr, "accepted bad prefix \"%s\"\n", bad[i]);
		CU_ASSERT_EQUAL(rc, -EINVAL);
		CU_ASSERT_EQUAL(p.addr.family, 0);
		CU_ASSERT_EQUAL(p.len, 0);
	}
	CU_ASSERT_EQUAL(pc_prefix_parse(NULL, &p), -EINVAL);
	CU_ASSERT_EQUAL(pc_prefix_parse("::/0", NULL), -EINVAL);
}

/* For each length: the first and last address of the prefix are inside,
 * the addresses just before and after it are not. */
static void test_prefix_contains_v4(void)
{
	static const struct {
		const char *prefix;
		uint32_t first, last;
	} cases[] = {
		{ "0.0.0.0/0", 0x00000000u, 0xffffffffu },
		{ "198.0.0.0/7", 0xc6000000u, 0xc7ffffffu },
		{ "198.0.0.0/8", 0xc6000000u, 0xc6ffffffu },
		{ "198.18.7.0/24", 0xc6120700u, 0xc61207ffu },
		{ "198.18.7.9/32", 0xc6120709u, 0xc6120709u },
	};

	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		struct pc_prefix p = pfx(cases[i].prefix);
		struct pc_addr a;

		a = a4(cases[i].first);
		CU_ASSERT_TRUE(pc_prefix_contains(&p, &a));
		a = a4(cases[i].last);
		CU_ASSERT_TRUE(pc_prefix_contains(&p, &a));
		a = a4(cases[i].first + (cases[i].last - cases[i].first) / 2);
		CU_ASSERT_TRUE(pc_prefix_contains(&p, &a));
		if (cases[i].first != 0) {
			a = a4(cases[i].first - 1);
			CU_ASSERT_FALSE(pc_prefix_contains(&p, &a));
		}
		if (cases[i].last != 0xffffffffu) {
			a = a4(cases[i].last + 1);
			CU_ASSERT_FALSE(pc_prefix_contains(&p, &a));
		}
	}
	/* Families must agree, even for ::/0 and 0.0.0.0/0. */
	struct pc_prefix any4 = pfx("0.0.0.0/0"), any6 = pfx("::/0");
	struct pc_addr v4 = a4(0), v6 = a6("::");
	CU_ASSERT_FALSE(pc_prefix_contains(&any4, &v6));
	CU_ASSERT_FALSE(pc_prefix_contains(&any6, &v4));
}

static void test_prefix_contains_v6(void)
{
	static const struct {
		const char *prefix, *first, *last, *before, *after;
	} cases[] = {
		{ "::/0", "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL, NULL },
		{ "fe00::/7", "fe00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", NULL },
		{ "2000::/7", "2000::", "21ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2200::" },
		{ "2000::/8", "2000::", "20ff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "2100::" },
		{ "2001:d00::/24", "2001:d00::", "2001:dff:ffff:ffff:ffff:ffff:ffff:ffff",
		  "2001:cff:ffff:ffff:ffff:ffff:ffff:ffff", "2001:e00::" },
		{ "2001:db8::/32", "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff",
		  "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", "2001:db9::" },
		{ "2001:db8:0:1::/64", "2001:db8:0:1::", "2001:db8:0:1:ffff:ffff:ffff:ffff",
		  "2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8:0:2::" },
		{ "2001:db8::a/127", "2001:db8::a", "2001:db8::b", "2001:db8::9", "2001:db8::c" },
		{ "2001:db8::7/128", "2001:db8::7", "2001:db8::7", "2001:db8::6", "2001:db8::8" },
	};

	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		struct pc_prefix p;
		struct pc_addr a;

		p = pfx(cases[i].prefix);
		a = a6(cases[i].first);
		CU_ASSERT_TRUE(pc_prefix_contains(&p, &a));
		a = a6(cases[i].last);
		CU_ASSERT_TRUE(pc_prefix_contains(&p, &a));
		if (cases[i].before) {
			a = a6(cases[i].before);
			CU_ASSERT_FALSE(pc_prefix_contains(&p, &a));
		}
		if (cases[i].after) {
			a = a6(cases[i].after);
			CU_ASSERT_FALSE(pc_prefix_contains(&p, &a));
		}
	}
}

static CU_TestInfo tests[] = {
	PC_TEST(test_addr_parse_v4),
	PC_TEST(test_addr_parse_v6),
	PC_TEST(test_addr_parse_invalid),
	PC_TEST(test_addr_format),
	PC_TEST(test_prefix_parse_valid),
	PC_TEST(test_prefix_parse_invalid),
	PC_TEST(test_prefix_contains_v4),
	PC_TEST(test_prefix_contains_v6),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("addr", tests)
