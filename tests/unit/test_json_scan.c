/* SPDX-License-Identifier: BSD-3-Clause
 *
 * json_scan: valid documents, one test per rejection reason, duplicates,
 * escapes and surrogates, the depth bound, number conversion, and the
 * truncation property (every strict prefix is json_truncated) checked with
 * each prefix in its own exact-size heap block, so an ASan build catches any
 * read past the end. The fast paths (flat compact objects, plain integers)
 * are held against the general ones (json_scan_priv.h) on 200,000
 * generated documents, valid and damaged.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json/json_scan.h"
#include "json/json_scan_priv.h"
#include "pc_test.h"

/* GCC 12's -fsanitize=nonnull-attribute (in the developer build's
 * -fsanitize=undefined) tests sprintf's destination for NULL, then warns
 * about the NULL path its own check created ("null destination pointer").
 * Allocations here abort on failure; the warning is noise. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wformat-overflow"
#pragma GCC diagnostic ignored "-Wformat-truncation"
#endif

/* Allocation for test fixtures: a failure ends the run. */
static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

#define MAXM 64

static struct pc_json_member m[MAXM];
static unsigned n;

/* Scan a copy of s[0..len) in an exact-size block (ASan sees over-reads). */
static enum pc_json_reason scan_n(const char *s, size_t len)
{
	char *copy = xmalloc(len ? len : 1);
	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, s, len);
	enum pc_json_reason r = pc_json_scan_object(copy, len, m, MAXM, &n);
	free(copy);
	return r;
}

static enum pc_json_reason scan(const char *s)
{
	return scan_n(s, strlen(s));
}

/* Scan without copying, so the views stay valid for the test to inspect. */
static enum pc_json_reason scan_keep(const char *s)
{
	return pc_json_scan_object(s, strlen(s), m, MAXM, &n);
}

static void test_valid_members(void)
{
	static const char doc[] =
		" {\"s\":\"abc\", \"n\":-12.5e+3,\"o\":{\"x\":[1,{}]},\"a\":[\"p\",\"q\"],"
		"\"t\":true,\"f\":false,\"z\":null, \"e\":\"\" }\r\n";
	CU_ASSERT_EQUAL(scan_keep(doc), PC_JSON_OK);
	CU_ASSERT_EQUAL(n, 8);
	CU_ASSERT(pc_str_eq(m[0].key.raw, "s", 1));
	CU_ASSERT_EQUAL(m[0].value.kind, PC_JSON_STRING);
	CU_ASSERT(pc_str_eq(m[0].value.raw, "abc", 3));
	CU_ASSERT_EQUAL(m[1].value.kind, PC_JSON_NUMBER);
	CU_ASSERT(pc_str_eq(m[1].value.raw, "-12.5e+3", 8));
	CU_ASSERT_EQUAL(m[2].value.kind, PC_JSON_OBJECT);
	CU_ASSERT(pc_str_eq(m[2].value.raw, "{\"x\":[1,{}]}", 12));
	CU_ASSERT_EQUAL(m[3].value.kind, PC_JSON_ARRAY);
	CU_ASSERT(pc_str_eq(m[3].value.raw, "[\"p\",\"q\"]", 9));
	CU_ASSERT_EQUAL(m[4].value.kind, PC_JSON_TRUE);
	CU_ASSERT_EQUAL(m[5].value.kind, PC_JSON_FALSE);
	CU_ASSERT_EQUAL(m[6].value.kind, PC_JSON_NULL);
	CU_ASSERT(pc_str_eq(m[6].value.raw, "null", 4));
	CU_ASSERT_EQUAL(m[7].value.kind, PC_JSON_STRING);
	CU_ASSERT_EQUAL(m[7].value.raw.len, 0);

	CU_ASSERT_EQUAL(scan("{}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(scan(" \t{ \n}\n"), PC_JSON_OK);
	/* a long string crosses the 16-byte SIMD path and its scalar tail */
	CU_ASSERT_EQUAL(scan("{\"k\":\"0123456789abcdef0123456789abcdefXYZ\",\"\":0}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(scan("{\"u\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"}"), PC_JSON_OK);
}

static void test_escapes_and_surrogates(void)
{
	char buf[64];
	size_t len;

	CU_ASSERT_EQUAL(scan_keep("{\"k\\n\":\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\\u00e9\\uD83D\\uDE00\"}"),
			PC_JSON_OK);
	CU_ASSERT_EQUAL(m[0].key.escaped, 1);
	CU_ASSERT_EQUAL(m[0].value.escaped, 1);
	CU_ASSERT_EQUAL(pc_json_unescape(&m[0].value, buf, sizeof(buf), &len), PC_JSON_OK);
	static const char want[] = "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80";
	CU_ASSERT_EQUAL(len, sizeof(want) - 1);
	CU_ASSERT(memcmp(buf, want, len) == 0);
	CU_ASSERT(pc_json_str_eq(&m[0].value, want, sizeof(want) - 1));
	CU_ASSERT_FALSE(pc_json_str_eq(&m[0].value, want, sizeof(want) - 2));
	CU_ASSERT(pc_json_find(m, n, "k\n", 2) == &m[0]);
	CU_ASSERT(pc_json_find(m, n, "k", 1) == NULL);
	/* the output never exceeds the raw length, and a short buffer says so */
	CU_ASSERT(len <= m[0].value.raw.len);
	CU_ASSERT_EQUAL(pc_json_unescape(&m[0].value, buf, 3, &len), PC_JSON_NO_SPACE);
	CU_ASSERT_EQUAL(pc_json_unescape(&m[0].key, buf, 1, &len), PC_JSON_NO_SPACE);

	/* \u0000 unescapes to a NUL byte inside the length */
	CU_ASSERT_EQUAL(scan_keep("{\"z\":\"a\\u0000b\"}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(pc_json_unescape(&m[0].value, buf, sizeof(buf), &len), PC_JSON_OK);
	CU_ASSERT_EQUAL(len, 3);
	CU_ASSERT(memcmp(buf, "a\0b", 3) == 0);
	/* unescape of a non-string */
	CU_ASSERT_EQUAL(scan_keep("{\"n\":1}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(pc_json_unescape(&m[0].value, buf, sizeof(buf), &len), PC_JSON_WRONG_TYPE);
	CU_ASSERT_FALSE(pc_json_str_eq(&m[0].value, "1", 1));
}

static void test_duplicates(void)
{
	CU_ASSERT_EQUAL(scan("{\"a\":1,\"a\":2}"), PC_JSON_DUPLICATE_KEY);
	CU_ASSERT_EQUAL(scan("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"alg\":\"none\"}"),
			PC_JSON_DUPLICATE_KEY);
	/* equal after unescaping, either side or both */
	CU_ASSERT_EQUAL(scan("{\"a\":1,\"\\u0061\":2}"), PC_JSON_DUPLICATE_KEY);
	CU_ASSERT_EQUAL(scan("{\"\\u0061lg\":1,\"alg\":2}"), PC_JSON_DUPLICATE_KEY);
	CU_ASSERT_EQUAL(scan("{\"\\u00e9\":1,\"\xc3\xa9\":2}"), PC_JSON_DUPLICATE_KEY);
	CU_ASSERT_EQUAL(scan("{\"\\/\":1,\"/\":2}"), PC_JSON_DUPLICATE_KEY);
	/* different, though related */
	CU_ASSERT_EQUAL(scan("{\"a\":1,\"A\":2,\"ab\":3,\"\\u0062\":4,\"\":5}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(n, 5);
	/* nested duplicates are not a top-level concern */
	CU_ASSERT_EQUAL(scan("{\"o\":{\"a\":1,\"a\":2}}"), PC_JSON_OK);
}

struct bad_case {
	const char *doc;
	enum pc_json_reason want;
};

static void check_cases(const struct bad_case *c, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		enum pc_json_reason r = scan(c[i].doc);
		if (r != c[i].want)
			fprintf(stderr, "\n  %s: got %s, want %s\n", c[i].doc, pc_json_reason_name(r),
				pc_json_reason_name(c[i].want));
		CU_ASSERT_EQUAL(r, c[i].want);
	}
}

static void test_every_reason(void)
{
	static const struct bad_case cases[] = {
		{ "", PC_JSON_EMPTY },
		{ " \r\n\t", PC_JSON_EMPTY },
		{ "[1]", PC_JSON_NOT_OBJECT },
		{ "\"s\"", PC_JSON_NOT_OBJECT },
		{ "1", PC_JSON_NOT_OBJECT },
		{ "{", PC_JSON_TRUNCATED },
		{ "{\"a\":1", PC_JSON_TRUNCATED },
		{ "{\"a\":[1,2", PC_JSON_TRUNCATED },
		{ "{\"a", PC_JSON_TRUNCATED },
		{ "{a:1}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\" 1}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":1,}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":1 \"b\":2}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":tru}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":True}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":nul1}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":[1,]}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":[1}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":{\"b\"]}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":{1:2}}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":'x'}", PC_JSON_UNEXPECTED_CHAR },
		{ "{\"a\":1\x0b}", PC_JSON_UNEXPECTED_CHAR },          /* VT is not ws */
		{ "{\"a\":\"x\ny\"}", PC_JSON_CONTROL_CHAR },
		{ "{\"a\":\"x\ty\"}", PC_JSON_CONTROL_CHAR },
		{ "{\"a\x01\":1}", PC_JSON_CONTROL_CHAR },
		{ "{\"a\":\"\\x\"}", PC_JSON_BAD_ESCAPE },
		{ "{\"a\":\"\\U0041\"}", PC_JSON_BAD_ESCAPE },
		{ "{\"a\":\"\\u00G1\"}", PC_JSON_BAD_ESCAPE },
		{ "{\"a\":\"\\'\"}", PC_JSON_BAD_ESCAPE },
		{ "{\"a\":\"\\uD800\"}", PC_JSON_LONE_SURROGATE },
		{ "{\"a\":\"\\uDC00\\uD800\"}", PC_JSON_LONE_SURROGATE },
		{ "{\"a\":\"\\uD800\\u0041\"}", PC_JSON_LONE_SURROGATE },
		{ "{\"a\":\"\\uD800\\n\"}", PC_JSON_LONE_SURROGATE },
		{ "{\"a\":\"\\uD800x\"}", PC_JSON_LONE_SURROGATE },
		{ "{\"a\":\"\\uD800\\uD800\"}", PC_JSON_LONE_SURROGATE },
		{ "{\"a\":\"\xc0\x80\"}", PC_JSON_BAD_UTF8 },           /* overlong NUL */
		{ "{\"a\":\"\xc1\xbf\"}", PC_JSON_BAD_UTF8 },           /* overlong */
		{ "{\"a\":\"\xe0\x80\xaf\"}", PC_JSON_BAD_UTF8 },       /* overlong '/' */
		{ "{\"a\":\"\xed\xa0\x80\"}", PC_JSON_BAD_UTF8 },       /* encoded surrogate */
		{ "{\"a\":\"\xf4\x90\x80\x80\"}", PC_JSON_BAD_UTF8 },   /* > U+10FFFF */
		{ "{\"a\":\"\xf5\x80\x80\x80\"}", PC_JSON_BAD_UTF8 },
		{ "{\"a\":\"\x80\"}", PC_JSON_BAD_UTF8 },               /* stray continuation */
		{ "{\"a\":\"\xc3x\"}", PC_JSON_BAD_UTF8 },
		{ "{\"a\":\"\xff\"}", PC_JSON_BAD_UTF8 },
		{ "{\"a\":01}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":-01}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":1.}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":.5}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":+1}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":-}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":1e}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":1e+}", PC_JSON_BAD_NUMBER },
		{ "{\"a\":[01]}", PC_JSON_BAD_NUMBER },
		{ "{} x", PC_JSON_TRAILING_DATA },
		{ "{}{}", PC_JSON_TRAILING_DATA },
		{ "{\"a\":1}}", PC_JSON_TRAILING_DATA },
	};
	check_cases(cases, PC_ARRAY_SIZE(cases));

	/* too many members for the caller's array */
	struct pc_json_member two[2];
	unsigned k;
	CU_ASSERT_EQUAL(pc_json_scan_object("{\"a\":1,\"b\":2}", 13, two, 2, &k), PC_JSON_OK);
	CU_ASSERT_EQUAL(pc_json_scan_object("{\"a\":1,\"b\":2,\"c\":3}", 19, two, 2, &k),
			PC_JSON_TOO_MANY_MEMBERS);

	/* a length the 32-bit views cannot carry is refused before any read */
	static const char tiny[] = "{}";
	CU_ASSERT_EQUAL(pc_json_scan_object(tiny, (size_t)UINT32_MAX + 1, two, 2, &k),
			PC_JSON_TOO_LARGE);

	/* every reason has a distinct, stable name */
	for (int i = 0; i < PC_JSON_REASON_COUNT; i++)
		for (int j = i + 1; j < PC_JSON_REASON_COUNT; j++)
			CU_ASSERT(strcmp(pc_json_reason_name(i), pc_json_reason_name(j)) != 0);
	CU_ASSERT_STRING_EQUAL(pc_json_reason_name(PC_JSON_DUPLICATE_KEY), "json_duplicate_key");
}

/* {"a": + depth-1 nested containers around 1 + closers + }: depth levels */
static char *nest(unsigned depth, bool objects)
{
	char *s = xmalloc(8 * (size_t)depth + 16);
	size_t o = (size_t)sprintf(s, "{\"a\":");
	for (unsigned i = 1; i < depth; i++)
		o += (size_t)sprintf(s + o, objects ? "{\"k\":" : "[");
	s[o++] = '1';
	for (unsigned i = 1; i < depth; i++)
		s[o++] = objects ? '}' : ']';
	s[o++] = '}';
	s[o] = '\0';
	return s;
}

static void test_depth_bound(void)
{
	char *s;

	s = nest(PC_JSON_MAX_DEPTH, false);
	CU_ASSERT_EQUAL(scan(s), PC_JSON_OK);
	free(s);
	s = nest(PC_JSON_MAX_DEPTH + 1, false);
	CU_ASSERT_EQUAL(scan(s), PC_JSON_TOO_DEEP);
	free(s);
	s = nest(PC_JSON_MAX_DEPTH, true);
	CU_ASSERT_EQUAL(scan(s), PC_JSON_OK);
	free(s);
	s = nest(PC_JSON_MAX_DEPTH + 1, true);
	CU_ASSERT_EQUAL(scan(s), PC_JSON_TOO_DEEP);
	free(s);
	/* far deeper than the bit stack: still a clean refusal */
	s = nest(5000, false);
	CU_ASSERT_EQUAL(scan(s), PC_JSON_TOO_DEEP);
	free(s);
	/* the bound counts open containers, not containers seen */
	CU_ASSERT_EQUAL(scan("{\"a\":[[1],[2],[3],{\"b\":[[],[]]}],\"c\":{}}"), PC_JSON_OK);
}

static const char *const valid_docs[] = {
	"{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}",
	("{\"s\":\"a\\\"\\u00e9\\uD83D\\uDE00\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\",\"n\":-0.5e-10,"
	 "\"o\":{\"x\":[1,{\"y\":null}],\"z\":false},\"t\":true, \"e\":[] }"),
	"{\"long\":\"0123456789abcdef0123456789abcdef0123456789\",\"num\":12345678901234567890}",
	/* compact and flat, as JWTs are: the fast path's shape */
	("{\"iss\":\"https://issuer.example/a\",\"sub\":\"svc-1\",\"aud\":\"api\",\"iat\":1764100000,"
	 "\"exp\":-1764103600,\"n\":0,\"t\":true,\"f\":false,\"z\":null,\"e\":\"\"}"),
	"{\"alg\":\"HS256\",\"kid\":\"k-1\",\"typ\":\"JWT\"}",
};

static void test_truncation_every_byte(void)
{
	for (size_t d = 0; d < PC_ARRAY_SIZE(valid_docs); d++) {
		const char *doc = valid_docs[d];
		size_t len = strlen(doc);
		CU_ASSERT_EQUAL(scan_n(doc, len), PC_JSON_OK);
		for (size_t cut = 1; cut < len; cut++) {
			enum pc_json_reason r = scan_n(doc, cut);
			if (r != PC_JSON_TRUNCATED)
				fprintf(stderr, "\n  doc %zu cut at %zu: %s\n", d, cut,
					pc_json_reason_name(r));
			CU_ASSERT_EQUAL(r, PC_JSON_TRUNCATED);
		}
		CU_ASSERT_EQUAL(scan_n(doc, 0), PC_JSON_EMPTY);
	}
}

/* Flip every byte of the valid documents to a set of troublesome values:
 * whatever the reason, the scanner must stay inside the block (ASan) and a
 * success must still describe members inside it. */
static void test_mutations_stay_in_bounds(void)
{
	static const unsigned char subst[] = { 0, '"', '\\', '{', '}', '[', ']', ',', ':',
					       'u', '0', 0x80, 0xc3, 0xed, 0xf4, 0xff, ' ' };
	for (size_t d = 0; d < PC_ARRAY_SIZE(valid_docs); d++) {
		size_t len = strlen(valid_docs[d]);
		char *buf = xmalloc(len);
		for (size_t i = 0; i < len; i++) {
			for (size_t j = 0; j < sizeof(subst); j++) {
				memcpy(buf, valid_docs[d], len);
				buf[i] = (char)subst[j];
				enum pc_json_reason r = pc_json_scan_object(buf, len, m, MAXM, &n);
				CU_ASSERT((unsigned)r < PC_JSON_REASON_COUNT);
				for (unsigned k = 0; r == PC_JSON_OK && k < n; k++) {
					CU_ASSERT(m[k].value.raw.p >= buf);
					CU_ASSERT(m[k].value.raw.p + m[k].value.raw.len <= buf + len);
				}
			}
		}
		free(buf);
	}
}

static void check_int(const char *num, enum pc_json_round mode, enum pc_json_reason want_r,
		      int64_t want)
{
	char doc[128];
	int64_t v = 12345;
	snprintf(doc, sizeof(doc), "{\"n\":%s}", num);
	CU_ASSERT_EQUAL_FATAL(scan_keep(doc), PC_JSON_OK);
	enum pc_json_reason r = pc_json_int(&m[0].value, mode, &v);
	if (r != want_r || (r == PC_JSON_OK && v != want))
		fprintf(stderr, "\n  %s: got %s %lld\n", num, pc_json_reason_name(r), (long long)v);
	CU_ASSERT_EQUAL(r, want_r);
	if (want_r == PC_JSON_OK)
		CU_ASSERT_EQUAL(v, want);
}

static void test_integers(void)
{
	const enum pc_json_round D = PC_JSON_ROUND_DOWN, U = PC_JSON_ROUND_UP;
	check_int("1300819380", D, PC_JSON_OK, 1300819380);
	check_int("0", D, PC_JSON_OK, 0);
	check_int("-0", U, PC_JSON_OK, 0);
	check_int("1.5", D, PC_JSON_OK, 1);
	check_int("1.5", U, PC_JSON_OK, 2);
	check_int("-1.5", D, PC_JSON_OK, -2);
	check_int("-1.5", U, PC_JSON_OK, -1);
	check_int("1300819380.000", U, PC_JSON_OK, 1300819380); /* zero fraction is exact */
	check_int("1.3e9", D, PC_JSON_OK, 1300000000);
	check_int("1.3E+9", U, PC_JSON_OK, 1300000000);
	check_int("13000000000e-1", D, PC_JSON_OK, 1300000000);
	check_int("13000000001e-1", D, PC_JSON_OK, 1300000000);
	check_int("13000000001e-1", U, PC_JSON_OK, 1300000001);
	check_int("1e-1", D, PC_JSON_OK, 0);
	check_int("1e-1", U, PC_JSON_OK, 1);
	check_int("1e-999999999999", U, PC_JSON_OK, 1);
	check_int("0e999999999999", D, PC_JSON_OK, 0);
	check_int("0.0000e5", D, PC_JSON_OK, 0);
	check_int("1E2", D, PC_JSON_OK, 100);
	check_int("0.00123e4", D, PC_JSON_OK, 12);
	check_int("9223372036854775807", D, PC_JSON_OK, INT64_MAX);
	check_int("-9223372036854775807", D, PC_JSON_OK, -INT64_MAX);
	check_int("9223372036854775807.5", D, PC_JSON_OK, INT64_MAX);
	check_int("9223372036854775807.5", U, PC_JSON_OUT_OF_RANGE, 0);
	check_int("9223372036854775808", D, PC_JSON_OUT_OF_RANGE, 0);
	check_int("1e19", D, PC_JSON_OUT_OF_RANGE, 0);
	check_int("1e999999999999", D, PC_JSON_OUT_OF_RANGE, 0);
	check_int("\"1\"", D, PC_JSON_WRONG_TYPE, 0);
	check_int("true", D, PC_JSON_WRONG_TYPE, 0);
}

static void test_arrays(void)
{
	struct pc_json_iter it;
	struct pc_json_value e;

	CU_ASSERT_EQUAL(scan_keep("{\"a\":[ \"x\" , 1.5e3,{\"k\":[1,\"]\"]}, \"b\\\"c\",true,null,"
				  "false,[[]],\"\"], \"s\":\"x\"}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(pc_json_array_begin(&it, &m[0].value), PC_JSON_OK);
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT(e.kind == PC_JSON_STRING && pc_str_eq(e.raw, "x", 1));
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT(e.kind == PC_JSON_NUMBER && pc_str_eq(e.raw, "1.5e3", 5));
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT(e.kind == PC_JSON_OBJECT && pc_str_eq(e.raw, "{\"k\":[1,\"]\"]}", 13));
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT(e.kind == PC_JSON_STRING && e.escaped && pc_json_str_eq(&e, "b\"c", 3));
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT_EQUAL(e.kind, PC_JSON_TRUE);
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT_EQUAL(e.kind, PC_JSON_NULL);
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT_EQUAL(e.kind, PC_JSON_FALSE);
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT(e.kind == PC_JSON_ARRAY && pc_str_eq(e.raw, "[[]]", 4));
	CU_ASSERT_FATAL(pc_json_array_next(&it, &e));
	CU_ASSERT(e.kind == PC_JSON_STRING && e.raw.len == 0);
	CU_ASSERT_FALSE(pc_json_array_next(&it, &e));
	CU_ASSERT_FALSE(pc_json_array_next(&it, &e));

	/* strings only */
	CU_ASSERT_EQUAL(scan_keep("{\"aud\":[\"api\",\"web\",7]}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(pc_json_array_begin(&it, &m[0].value), PC_JSON_OK);
	CU_ASSERT_EQUAL(pc_json_array_next_string(&it, &e), 1);
	CU_ASSERT(pc_json_str_eq(&e, "api", 3));
	CU_ASSERT_EQUAL(pc_json_array_next_string(&it, &e), 1);
	CU_ASSERT(pc_json_str_eq(&e, "web", 3));
	CU_ASSERT_EQUAL(pc_json_array_next_string(&it, &e), -1);
	CU_ASSERT_EQUAL(pc_json_array_next_string(&it, &e), 0);

	CU_ASSERT_EQUAL(scan_keep("{\"e\":[],\"s\":\"x\"}"), PC_JSON_OK);
	CU_ASSERT_EQUAL(pc_json_array_begin(&it, &m[0].value), PC_JSON_OK);
	CU_ASSERT_FALSE(pc_json_array_next(&it, &e));
	CU_ASSERT_EQUAL(pc_json_array_begin(&it, &m[1].value), PC_JSON_WRONG_TYPE);
}

static void test_words(void)
{
	CU_ASSERT_EQUAL(scan_keep("{\"scope\":\"read:a write:b  admin\",\"esc\":\"x\\u0020y\"}"),
			PC_JSON_OK);
	CU_ASSERT(pc_json_str_has_word(&m[0].value, "read:a", 6));
	CU_ASSERT(pc_json_str_has_word(&m[0].value, "write:b", 7));
	CU_ASSERT(pc_json_str_has_word(&m[0].value, "admin", 5));
	CU_ASSERT_FALSE(pc_json_str_has_word(&m[0].value, "read", 4));
	CU_ASSERT_FALSE(pc_json_str_has_word(&m[0].value, "adm", 3));
	CU_ASSERT_FALSE(pc_json_str_has_word(&m[0].value, "", 0));
	CU_ASSERT_FALSE(pc_json_str_has_word(&m[0].value, "read:a write:b", 14));
	/* words are split after unescaping */
	CU_ASSERT(pc_json_str_has_word(&m[1].value, "y", 1));
}

/* ---- picking a few top-level members out of a large body ---- */

static const struct pc_str pick_keys[] = { { "model", 5 }, { "method", 6 }, { "params", 6 } };

static enum pc_json_reason pick(const char *doc, struct pc_json_value *v)
{
	return pc_json_scan_pick(doc, strlen(doc), pick_keys, 3, v);
}

static void test_pick(void)
{
	struct pc_json_value v[3];

	/* any number of other members, nested ones with the same names ignored */
	CU_ASSERT_EQUAL(pick("{\"messages\": [{\"model\": \"a\"}], \"n\": 1, \"model\": \"small-1\","
			     " \"tools\": {\"params\": 1}}", v),
			PC_JSON_OK);
	CU_ASSERT_EQUAL(v[0].kind, PC_JSON_STRING);
	CU_ASSERT(pc_str_eq(v[0].raw, "small-1", 7));
	CU_ASSERT_EQUAL(v[1].kind, PC_JSON_NONE);
	CU_ASSERT_EQUAL(v[2].kind, PC_JSON_NONE);

	/* an object value is its whole text, braces included: it can be picked from again */
	CU_ASSERT_EQUAL(pick("{\"method\": \"tools/call\", \"params\": {\"name\": \"kb\", \"x\": [1]}}",
			     v),
			PC_JSON_OK);
	CU_ASSERT(pc_json_str_eq(&v[1], "tools/call", 10));
	CU_ASSERT_EQUAL(v[2].kind, PC_JSON_OBJECT);
	CU_ASSERT(pc_str_eq(v[2].raw, "{\"name\": \"kb\", \"x\": [1]}", 24));
	struct pc_str name_key = { "name", 4 };
	struct pc_json_value name;
	CU_ASSERT_EQUAL(pc_json_scan_pick(v[2].raw.p, v[2].raw.len, &name_key, 1, &name), PC_JSON_OK);
	CU_ASSERT(pc_json_str_eq(&name, "kb", 2));

	/* many members: no bound but the document's */
	char big[8192];
	size_t n = 0;
	n += (size_t)snprintf(big + n, sizeof(big) - n, "{");
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "\"k%d\": %d, ", i, i);
	snprintf(big + n, sizeof(big) - n, "\"model\": \"m\"}");
	CU_ASSERT_EQUAL(pick(big, v), PC_JSON_OK);
	CU_ASSERT(pc_json_str_eq(&v[0], "m", 1));

	/* duplicates: of a picked name (escaped or not) refused, of others not */
	CU_ASSERT_EQUAL(pick("{\"model\": \"a\", \"model\": \"b\"}", v), PC_JSON_DUPLICATE_KEY);
	CU_ASSERT_EQUAL(pick("{\"model\": \"a\", \"m\\u006fdel\": \"b\"}", v), PC_JSON_DUPLICATE_KEY);
	CU_ASSERT_EQUAL(pick("{\"n\": 1, \"model\": \"a\", \"n\": 2}", v), PC_JSON_OK);

	/* what pc_json_scan_object() refuses, this refuses too */
	CU_ASSERT_EQUAL(pick("", v), PC_JSON_EMPTY);
	CU_ASSERT_EQUAL(pick("  ", v), PC_JSON_EMPTY);
	CU_ASSERT_EQUAL(pick("[{\"method\": \"tools/call\"}]", v), PC_JSON_NOT_OBJECT);
	CU_ASSERT_EQUAL(pick("{\"model\": \"a\"", v), PC_JSON_TRUNCATED);
	CU_ASSERT_EQUAL(pick("{\"model\": \"a\"} {}", v), PC_JSON_TRAILING_DATA);
	CU_ASSERT_EQUAL(pick("{\"model\": \"a\",}", v), PC_JSON_UNEXPECTED_CHAR);
	CU_ASSERT_EQUAL(pick("{\"x\": [1, 2,], \"model\": \"a\"}", v), PC_JSON_UNEXPECTED_CHAR);
	CU_ASSERT_EQUAL(pick("{\"model\": \"\\ud800\"}", v), PC_JSON_LONE_SURROGATE);
	CU_ASSERT_EQUAL(pick("{\"model\": \"\xc0\xaf\"}", v), PC_JSON_BAD_UTF8);
	CU_ASSERT_EQUAL(pick("{}", v), PC_JSON_OK);
	CU_ASSERT_EQUAL(v[0].kind, PC_JSON_NONE);

	/* every strict prefix of a valid body is truncated, never OK */
	static const char doc[] = "{\"model\": \"small-1\", \"messages\": [{\"role\": \"user\"}]}";
	for (size_t len = 1; len < sizeof(doc) - 1; len++)
		CU_ASSERT_EQUAL(pc_json_scan_pick(doc, len, pick_keys, 3, v), PC_JSON_TRUNCATED);
	CU_ASSERT_EQUAL(pc_json_scan_pick(doc, sizeof(doc) - 1, pick_keys, 3, v), PC_JSON_OK);
}

/* ---- the fast paths against the general ones ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static unsigned rnd(unsigned n)
{
	/* xorshift64*: deterministic, so a failure reproduces */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (unsigned)((rng_state * 0x2545f4914f6cdd1du) >> 33) % n;
}

struct gen {
	char buf[1024];
	size_t len;
};

static void put(struct gen *g, const char *s)
{
	size_t l = strlen(s);
	if (g->len + l < sizeof(g->buf)) {
		memcpy(g->buf + g->len, s, l);
		g->len += l;
	}
}

static void put_ws(struct gen *g)
{
	static const char *const ws[] = { " ", "\n", "\t", "\r\n", "  " };
	if (rnd(12) == 0)
		put(g, ws[rnd(PC_ARRAY_SIZE(ws))]);
}

static void put_string_body(struct gen *g)
{
	static const char *const pieces[] = {
		"abc", "https://issuer.example/x", "svc-", "HS256", "JWT", " ", "{}[],:", "~\x7f",
		"\\n", "\\\"", "\\u00e9", "\\uD83D\\uDE00", "\xc3\xa9", "\xe2\x82\xac",
		"\\x", "\\ud800", "\x01", "\xc0\xaf", "\xff", "0123456789abcdef0123",
	};
	unsigned k = rnd(4);
	for (unsigned i = 0; i < k; i++) {
		/* mostly the first eight (plain), sometimes any */
		unsigned pick = rnd(PC_ARRAY_SIZE(pieces));
		unsigned span = rnd(4) ? 8 : PC_ARRAY_SIZE(pieces);
		put(g, pieces[pick % span]);
	}
}

static void put_value(struct gen *g)
{
	static const char *const other[] = {
		"0", "-0", "7", "-45", "1300819380", "1764100000", "999999999999999999",
		"-999999999999999999", "1000000000000000000", "9223372036854775807",
		"-9223372036854775808", "12345678901234567890", "1.5", "-1.5", "1e9", "1E+2",
		"0.5e-3", "01", "-", "1.", "00", "-a", "+1", ".5", "true", "false", "null", "tru",
		"nul", "falsey", "[]", "[1,2]", "[\"a\",\"b\"]", "{}", "{\"a\":1}", "{\"a\":[{}]}",
		"[", "x",
	};
	if (rnd(2) == 0) {
		put(g, "\"");
		put_string_body(g);
		put(g, "\"");
	} else {
		put(g, other[rnd(PC_ARRAY_SIZE(other))]);
	}
}

static void gen_doc(struct gen *g)
{
	static const char *const keys[] = { "iss", "sub", "aud", "exp", "nbf", "iat", "jti",
					    "alg", "kid", "typ", "a", "", "\\u0061", "scope" };
	g->len = 0;
	put_ws(g);
	put(g, rnd(40) ? "{" : "[");
	unsigned members = rnd(10);
	for (unsigned i = 0; i < members; i++) {
		if (i)
			put(g, rnd(60) ? "," : ",,");
		put_ws(g);
		put(g, "\"");
		put(g, keys[rnd(PC_ARRAY_SIZE(keys))]);
		if (rnd(6) == 0)
			put_string_body(g);
		put(g, "\"");
		put_ws(g);
		put(g, rnd(80) ? ":" : "");
		put_ws(g);
		put_value(g);
		put_ws(g);
	}
	put(g, rnd(60) ? "}" : "},");
	put_ws(g);
	/* then sometimes damage it: cut it short or change one byte */
	static const unsigned char subst[] = { 0, '"', '\\', '{', '}', '[', ']', ',', ':', ' ',
					       '0', '-', 'e', '.', 0x80, 0xff };
	if (g->len > 0 && rnd(4) == 0)
		g->len = rnd((unsigned)g->len);
	else if (g->len > 0 && rnd(4) == 0) {
		unsigned at = rnd((unsigned)g->len);
		g->buf[at] = (char)subst[rnd(sizeof(subst))];
	}
}

static bool same_value(const struct pc_json_value *a, const struct pc_json_value *b)
{
	return a->raw.p == b->raw.p && a->raw.len == b->raw.len && a->kind == b->kind &&
	       a->escaped == b->escaped;
}

/* pc_json_scan_object() (flat fast path first) and the general scanner give
 * the same reason, the same members and, for every number, the same
 * pc_json_int() in both roundings, on many generated documents: valid and
 * compact, with whitespace, escapes, UTF-8, nesting, every number form,
 * duplicates, and cut short or damaged. */
static void test_fast_path_differential(void)
{
	static struct pc_json_member m1[MAXM], m2[MAXM];
	unsigned n1, n2, ok = 0, compact_ok = 0, numbers = 0;
	struct gen g;

	for (unsigned iter = 0; iter < 200000; iter++) {
		gen_doc(&g);
		char *doc = xmalloc(g.len);
		memcpy(doc, g.buf, g.len);
		unsigned max = rnd(8) ? MAXM : rnd(6);
		enum pc_json_reason r1 = pc_json_scan_object(doc, g.len, m1, max, &n1);
		enum pc_json_reason r2 = pc__json_scan_object_general(doc, g.len, m2, max, &n2);
		if (r1 != r2 || n1 != n2)
			fprintf(stderr, "\n  differ on \"%.*s\" (max %u): %s/%u against %s/%u\n",
				(int)g.len, doc, max, pc_json_reason_name(r1), n1,
				pc_json_reason_name(r2), n2);
		CU_ASSERT_EQUAL(r1, r2);
		CU_ASSERT_EQUAL(n1, n2);
		if (r1 == PC_JSON_OK && r2 == PC_JSON_OK && n1 == n2) {
			ok++;
			if (memchr(doc, ' ', g.len) == NULL && memchr(doc, '\\', g.len) == NULL)
				compact_ok++;
			for (unsigned k = 0; k < n1; k++) {
				CU_ASSERT(same_value(&m1[k].key, &m2[k].key));
				CU_ASSERT(same_value(&m1[k].value, &m2[k].value));
				if (m1[k].value.kind != PC_JSON_NUMBER)
					continue;
				numbers++;
				for (int mode = 0; mode < 2; mode++) {
					int64_t a = 11, b = 22;
					enum pc_json_reason ra = pc_json_int(&m1[k].value, mode, &a);
					enum pc_json_reason rb = pc__json_int_general(&m1[k].value, mode, &b);
					CU_ASSERT_EQUAL(ra, rb);
					if (ra == PC_JSON_OK && rb == PC_JSON_OK)
						CU_ASSERT_EQUAL(a, b);
				}
			}
		}
		free(doc);
	}
	/* the generator must reach the fast path's shape, not only refusals */
	CU_ASSERT(ok > 20000);
	CU_ASSERT(compact_ok > 5000);
	CU_ASSERT(numbers > 10000);
}

/* Plain integers of every length around the fast path's bound of 18 digits,
 * against the general conversion and against their known value. */
static void test_int_fast_path(void)
{
	char doc[64];
	for (int digits = 1; digits <= 20; digits++) {
		for (int neg = 0; neg < 2; neg++) {
			for (int fill = 0; fill < 10; fill++) {
				char num[32];
				size_t l = 0;
				if (neg)
					num[l++] = '-';
				num[l++] = (char)('1' + (fill + digits) % 9);
				for (int d = 1; d < digits; d++)
					num[l++] = (char)('0' + (fill * 7 + d * 3) % 10);
				num[l] = '\0';
				snprintf(doc, sizeof(doc), "{\"n\":%s}", num);
				CU_ASSERT_EQUAL_FATAL(scan_keep(doc), PC_JSON_OK);
				int64_t a = 1, b = 2;
				enum pc_json_reason ra = pc_json_int(&m[0].value, PC_JSON_ROUND_DOWN, &a);
				enum pc_json_reason rb =
					pc__json_int_general(&m[0].value, PC_JSON_ROUND_UP, &b);
				CU_ASSERT_EQUAL(ra, rb);
				if (digits <= 18) {
					CU_ASSERT_EQUAL(ra, PC_JSON_OK);
					CU_ASSERT_EQUAL(a, strtoll(num, NULL, 10));
					CU_ASSERT_EQUAL(a, b);
				}
			}
		}
	}
}

static CU_TestInfo tests[] = {
	PC_TEST(test_valid_members),
	PC_TEST(test_escapes_and_surrogates),
	PC_TEST(test_duplicates),
	PC_TEST(test_every_reason),
	PC_TEST(test_depth_bound),
	PC_TEST(test_truncation_every_byte),
	PC_TEST(test_mutations_stay_in_bounds),
	PC_TEST(test_integers),
	PC_TEST(test_arrays),
	PC_TEST(test_words),
	PC_TEST(test_pick),
	PC_TEST(test_fast_path_differential),
	PC_TEST(test_int_fast_path),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("json_scan", tests)
