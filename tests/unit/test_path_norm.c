/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Tests for request-path normalisation: a table of paths and what they
 * normalise to (or why they are rejected) under the default options, each
 * option switched off in turn, the length bounds at their edges, and
 * properties checked over random paths: output never longer than input,
 * "changed" exact, normalising twice changes nothing, and dot-segment
 * removal equal to a literal transcription of RFC 3986 §5.2.4.
 *
 * Every call copies its input into a heap buffer of exactly its length and
 * gives an output buffer of exactly that length, so a sanitizer build sees
 * any read or write past either.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/path_norm.h"
#include "pc_test.h"

static const struct pc_path_norm_opts defaults = PC_PATH_NORM_OPTS_DEFAULT;

struct norm_result {
	enum pc_path_reason r;
	size_t len;
	bool changed;
	char out[PC_PATH_MAX + 16];
};

static struct norm_result res;

/* Normalise in[0..n) with exact-size heap buffers; result in res. */
static enum pc_path_reason norm_opts(const char *in, size_t n, const struct pc_path_norm_opts *o)
{
	char *ib = malloc(n ? n : 1);
	char *ob = malloc(n ? n : 1);

	CU_ASSERT_PTR_NOT_NULL_FATAL(ib);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ob);
	memcpy(ib, in, n);
	res.len = 12345;
	res.changed = true;
	res.r = pc_path_norm_apply(ib, n, ob, n, o, &res.len, &res.changed);
	if (res.r == PC_PATH_OK) {
		CU_ASSERT_TRUE(res.len <= n);
		memcpy(res.out, ob, res.len);
		/* changed says exactly whether the bytes differ. */
		CU_ASSERT_EQUAL(res.changed, res.len != n || memcmp(ob, in, n) != 0);
	} else {
		CU_ASSERT_EQUAL(res.len, 0);
		CU_ASSERT_FALSE(res.changed);
	}
	res.out[res.r == PC_PATH_OK ? res.len : 0] = '\0';
	free(ib);
	free(ob);
	return res.r;
}

struct norm_case {
	const char *in;
	size_t in_len;
	const char *out; /* NULL when rejected */
	enum pc_path_reason r;
};

#define OK(i, o) { i, sizeof(i) - 1, o, PC_PATH_OK }
#define BAD(i, why) { i, sizeof(i) - 1, NULL, PC_PATH_##why }

static void run_cases(const struct norm_case *c, size_t n, const struct pc_path_norm_opts *o)
{
	for (size_t k = 0; k < n; k++) {
		enum pc_path_reason r = norm_opts(c[k].in, c[k].in_len, o);
		bool good = r == c[k].r &&
			    (c[k].out == NULL ||
			     (res.len == strlen(c[k].out) && memcmp(res.out, c[k].out, res.len) == 0));
		if (!good)
			fprintf(stderr, "\n  case %zu \"%s\": got %s \"%s\", want %s \"%s\"\n", k,
				c[k].in, pc_path_norm_reason_name(r), res.out,
				pc_path_norm_reason_name(c[k].r), c[k].out ? c[k].out : "");
		CU_ASSERT_TRUE(good);
	}
}

/* The default options: the behaviour policy relies on. */
static const struct norm_case default_cases[] = {
	/* plain paths pass unchanged */
	OK("/", "/"),
	OK("/a/b", "/a/b"),
	OK("/a/b/", "/a/b/"),
	OK("/v1/chat/completions", "/v1/chat/completions"),
	OK("/a;b/c", "/a;b/c"),
	OK("/a:b@c!$&'()*+,=", "/a:b@c!$&'()*+,="),
	/* dot-segments, RFC 3986 §5.2.4 */
	OK("/public/../admin", "/admin"),
	OK("/a/b/../../../c", "/c"),
	OK("/.", "/"),
	OK("/..", "/"),
	OK("/../../..", "/"),
	OK("/../a", "/a"),
	OK("/a/.", "/a/"),
	OK("/a/..", "/"),
	OK("/a/b/.", "/a/b/"),
	OK("/a/b/..", "/a/"),
	OK("/a/./b", "/a/b"),
	OK("/a/./", "/a/"),
	OK("/./../a/./b/../c/", "/a/c/"),
	OK("/a/b/c/./../../g", "/a/g"),       /* RFC 3986 §5.2.4 example */
	OK("/mid/content=5/../6", "/mid/6"),  /* RFC 3986 §5.2.4 example */
	OK("/a/.../b", "/a/.../b"),
	OK("/.a/a./..a/a..", "/.a/a./..a/a.."),
	/* merge_slashes */
	OK("//admin", "/admin"),
	OK("//", "/"),
	OK("///", "/"),
	OK("/a//b", "/a/b"),
	OK("/a//", "/a/"),
	OK("/a/.//b", "/a/b"),
	OK("/a//../b", "/b"),
	OK("//..//a", "/a"),
	/* percent-encoding, RFC 3986 §2.1, §6.2.2.1-2 */
	OK("/%41", "/A"),
	OK("/%7e", "/~"),
	OK("/%7E", "/~"),
	OK("/%61%62c", "/abc"),
	OK("/%2D%2e%5F%7E", "/-._~"),
	OK("/%30%39", "/09"),
	OK("/%3a", "/%3A"),
	OK("/%3A%3b%aB%Ff", "/%3A%3B%AB%FF"),
	OK("/%25", "/%25"),
	OK("/%252e%252e/", "/%252e%252e/"),   /* no double decoding */
	OK("/a%2ehtml", "/a.html"),
	OK("/%20%3F%23", "/%20%3F%23"),
	OK("/%c3%a9", "/%C3%A9"),
	/* rejects */
	BAD("/public/%2e%2e/admin", ENCODED_DOT_SEGMENT),
	BAD("/public/%2E%2E/admin", ENCODED_DOT_SEGMENT),
	BAD("/public/.%2e/admin", ENCODED_DOT_SEGMENT),
	BAD("/public/%2e./admin", ENCODED_DOT_SEGMENT),
	BAD("/public/%2e/admin", ENCODED_DOT_SEGMENT),
	BAD("/a/%2e%2e", ENCODED_DOT_SEGMENT),
	BAD("/a/%2E", ENCODED_DOT_SEGMENT),
	BAD("/public/..%2fadmin", ENCODED_SLASH),
	BAD("/public/..%2Fadmin", ENCODED_SLASH),
	BAD("/a%2fb", ENCODED_SLASH),
	BAD("/%2F", ENCODED_SLASH),
	BAD("/a%5cb", ENCODED_SLASH),
	BAD("/a%5Cb", ENCODED_SLASH),
	BAD("/%2e%2e%5c", ENCODED_SLASH),
	BAD("/a\\b", BACKSLASH),
	BAD("/..\\admin", BACKSLASH),
	BAD("/a%00b", ENCODED_NUL),
	BAD("/%00", ENCODED_NUL),
	BAD("/a%zz", INVALID_PERCENT_ENCODING),
	BAD("/%G1", INVALID_PERCENT_ENCODING),
	BAD("/%4G", INVALID_PERCENT_ENCODING),
	BAD("/a%", INVALID_PERCENT_ENCODING),
	BAD("/a%4", INVALID_PERCENT_ENCODING),
	BAD("/%%41", INVALID_PERCENT_ENCODING),
	BAD("/%-1", INVALID_PERCENT_ENCODING),
	BAD("/%+1", INVALID_PERCENT_ENCODING),
	/* overlong UTF-8 (RFC 3629 §3): dot, slash and backslash in disguise */
	BAD("/public/%c0%ae%c0%ae/admin", INVALID_PERCENT_ENCODING),
	BAD("/%C0%AF", INVALID_PERCENT_ENCODING),
	BAD("/%c1%9c", INVALID_PERCENT_ENCODING),
	BAD("/%e0%80%ae", INVALID_PERCENT_ENCODING),
	BAD("/%E0%9F%BF", INVALID_PERCENT_ENCODING),
	BAD("/%f0%80%80%ae", INVALID_PERCENT_ENCODING),
	BAD("/%F0%8F%BF%BF", INVALID_PERCENT_ENCODING),
	OK("/%e0%a0%80", "/%E0%A0%80"),       /* U+0800, the first 3-byte form */
	OK("/%f0%90%80%80", "/%F0%90%80%80"), /* U+10000 */
	OK("/%e0", "/%E0"),                   /* truncated, but not overlong */
	OK("/%e0%41", "/%E0A"),
	BAD("/a#frag", FRAGMENT),
	BAD("/#", FRAGMENT),
	BAD("/a\x01", CONTROL_CHAR),
	BAD("/a\0b", CONTROL_CHAR),
	BAD("/a\tb", CONTROL_CHAR),
	BAD("/a\r\nb", CONTROL_CHAR),
	BAD("/a\x7f", CONTROL_CHAR),
	BAD("/a b", INVALID_CHAR),
	BAD("/a\x80", INVALID_CHAR),
	BAD("/\xc3\xa9", INVALID_CHAR),
	BAD("/a?b=1", INVALID_CHAR),
	BAD("/..;/admin", DOT_SEGMENT_PARAMS),
	BAD("/public/..;jsessionid=1/admin", DOT_SEGMENT_PARAMS),
	BAD("/.;/admin", DOT_SEGMENT_PARAMS),
	BAD("/a/..;", DOT_SEGMENT_PARAMS),
	BAD("/%2e%2e;/admin", DOT_SEGMENT_PARAMS),
	BAD("", NOT_ABSOLUTE),
	BAD("*", NOT_ABSOLUTE),
	BAD("a/b", NOT_ABSOLUTE),
	BAD("../a", NOT_ABSOLUTE),
	BAD("%2Fa", NOT_ABSOLUTE),
	BAD("http://h/a", NOT_ABSOLUTE),
};

static void test_default_cases(void)
{
	CU_ASSERT_TRUE(PC_ARRAY_SIZE(default_cases) >= 40);
	run_cases(default_cases, PC_ARRAY_SIZE(default_cases), &defaults);
	/* NULL opts is the defaults. */
	run_cases(default_cases, PC_ARRAY_SIZE(default_cases), NULL);
}

static void test_changed_flag(void)
{
	static const struct {
		const char *in;
		bool changed;
	} c[] = {
		{ "/", false },        { "/a/b", false },   { "/a/", false },
		{ "/%3A", false },     { "/%3a", true },    { "/%41", true },
		{ "/a//b", true },     { "/a/./b", true },  { "/a/..", true },
		{ "/%25", false },     { "/%C3%a9", true }, { "/...", false },
	};

	for (size_t k = 0; k < PC_ARRAY_SIZE(c); k++) {
		CU_ASSERT_EQUAL_FATAL(norm_opts(c[k].in, strlen(c[k].in), NULL), PC_PATH_OK);
		CU_ASSERT_EQUAL(res.changed, c[k].changed);
	}
}

static void test_keep_slashes(void)
{
	struct pc_path_norm_opts o = defaults;
	static const struct norm_case c[] = {
		OK("//admin", "//admin"),
		OK("/a//b/", "/a//b/"),
		OK("//", "//"),
		OK("/a//../b", "/a/b"),       /* ".." pops the empty segment */
		OK("/a/.//b", "/a//b"),       /* RFC 3986 §5.2.4 */
		OK("//..", "/"),
		OK("/a//..", "/a/"),
	};

	o.merge_slashes = false;
	run_cases(c, PC_ARRAY_SIZE(c), &o);
}

static void test_keep_encoded_slash(void)
{
	struct pc_path_norm_opts o = defaults;
	static const struct norm_case c[] = {
		OK("/a%2fb", "/a%2Fb"),
		OK("/a%5cb", "/a%5Cb"),
		OK("/a%2F%5C", "/a%2F%5C"),
		/* Not a dot-segment once the slash stays encoded. */
		OK("/public/..%2fadmin", "/public/..%2Fadmin"),
		BAD("/a%00", ENCODED_NUL),
		BAD("/a\\b", BACKSLASH),
	};

	o.reject_encoded_slash = false;
	run_cases(c, PC_ARRAY_SIZE(c), &o);
}

static void test_keep_backslash(void)
{
	struct pc_path_norm_opts o = defaults;
	static const struct norm_case c[] = {
		OK("/a\\b", "/a\\b"),
		OK("/..\\admin", "/..\\admin"),
		BAD("/a%5c", ENCODED_SLASH),
	};

	o.reject_backslash = false;
	run_cases(c, PC_ARRAY_SIZE(c), &o);
}

static void test_resolve_encoded_dots(void)
{
	struct pc_path_norm_opts o = defaults;
	static const struct norm_case c[] = {
		OK("/public/%2e%2e/admin", "/admin"),
		OK("/public/%2E./admin", "/admin"),
		OK("/a/%2e/b", "/a/b"),
		OK("/a/%2e", "/a/"),
		OK("/a/b/%2e%2e", "/a/"),
		BAD("/public/..%2fadmin", ENCODED_SLASH),
	};

	o.reject_encoded_dot_segment = false;
	run_cases(c, PC_ARRAY_SIZE(c), &o);
}

static void test_keep_dot_params(void)
{
	struct pc_path_norm_opts o = defaults;
	static const struct norm_case c[] = {
		OK("/..;/admin", "/..;/admin"),
		OK("/a/.;x", "/a/.;x"),
	};

	o.reject_dot_segment_params = false;
	run_cases(c, PC_ARRAY_SIZE(c), &o);
}

/* A zeroed struct is the most permissive setting: nothing merged, nothing
 * optional rejected; the unconditional rules still hold. */
static void test_zero_opts(void)
{
	struct pc_path_norm_opts o;
	static const struct norm_case c[] = {
		/* "%2e%2e" resolves and pops "a%2F\\"; the empty first
		 * segment and "..;" stay. */
		OK("//a%2f\\/%2e%2e/..;/b", "//..;/b"),
		OK("//a%2f\\/x", "//a%2F\\/x"),
		BAD("/%00", ENCODED_NUL),
		BAD("/#", FRAGMENT),
		BAD("/%g0", INVALID_PERCENT_ENCODING),
	};

	memset(&o, 0, sizeof(o));
	run_cases(c, PC_ARRAY_SIZE(c), &o);
}

static void test_length_bounds(void)
{
	static char in[PC_PATH_MAX + 2];
	char out[8];
	size_t ol;
	bool ch;

	/* "/a" repeated up to exactly PC_PATH_MAX bytes passes unchanged. */
	for (size_t k = 0; k < PC_PATH_MAX; k += 2) {
		in[k] = '/';
		in[k + 1] = 'a';
	}
	CU_ASSERT_EQUAL(norm_opts(in, PC_PATH_MAX, NULL), PC_PATH_OK);
	CU_ASSERT_EQUAL(res.len, PC_PATH_MAX);
	CU_ASSERT_FALSE(res.changed);
	in[PC_PATH_MAX] = 'a';
	CU_ASSERT_EQUAL(norm_opts(in, PC_PATH_MAX + 1, NULL), PC_PATH_TOO_LONG);

	/* An output buffer shorter than the input is refused up front, even
	 * when the result would have fitted. */
	CU_ASSERT_EQUAL(pc_path_norm_apply("/a/../b", 7, out, 6, NULL, &ol, &ch), PC_PATH_TOO_LONG);
	CU_ASSERT_EQUAL(pc_path_norm_apply("/a/../b", 7, out, 7, NULL, &ol, &ch), PC_PATH_OK);
	CU_ASSERT_EQUAL(ol, 2);
	CU_ASSERT_EQUAL(memcmp(out, "/b", 2), 0);
}

static void test_very_long_paths(void)
{
	static char in[PC_PATH_MAX];
	size_t n = 0;

	/* 2730 "/.." climbing above the root. */
	while (n + 3 <= PC_PATH_MAX) {
		memcpy(in + n, "/..", 3);
		n += 3;
	}
	CU_ASSERT_EQUAL(norm_opts(in, n, NULL), PC_PATH_OK);
	CU_ASSERT_EQUAL(res.len, 1);
	CU_ASSERT_STRING_EQUAL(res.out, "/");

	/* A deep path, then as many ".." as it has segments, then one name:
	 * every segment pushed is popped again. */
	n = 0;
	while (n + 4 + 6 + 2 <= PC_PATH_MAX / 2) {
		memcpy(in + n, "/seg", 4);
		n += 4;
	}
	size_t segs = n / 4;
	for (size_t k = 0; k < segs; k++) {
		memcpy(in + n, "/..", 3);
		n += 3;
	}
	memcpy(in + n, "/x", 2);
	n += 2;
	CU_ASSERT_EQUAL(norm_opts(in, n, NULL), PC_PATH_OK);
	CU_ASSERT_STRING_EQUAL(res.out, "/x");

	/* Slashes only. */
	memset(in, '/', PC_PATH_MAX);
	CU_ASSERT_EQUAL(norm_opts(in, PC_PATH_MAX, NULL), PC_PATH_OK);
	CU_ASSERT_STRING_EQUAL(res.out, "/");

	/* Encoded unreserved characters all the way: a third of the length. */
	for (n = 0; n + 3 <= PC_PATH_MAX - 1; n += 3)
		memcpy(in + 1 + n, "%61", 3);
	in[0] = '/';
	CU_ASSERT_EQUAL(norm_opts(in, n + 1, NULL), PC_PATH_OK);
	CU_ASSERT_EQUAL(res.len, n / 3 + 1);
	CU_ASSERT_EQUAL(res.out[res.len - 1], 'a');

	/* A bad byte at the very end of a maximal path is still found. */
	memset(in, 'a', PC_PATH_MAX);
	in[0] = '/';
	in[PC_PATH_MAX - 1] = '%';
	CU_ASSERT_EQUAL(norm_opts(in, PC_PATH_MAX, NULL), PC_PATH_INVALID_PERCENT_ENCODING);
	in[PC_PATH_MAX - 1] = '#';
	CU_ASSERT_EQUAL(norm_opts(in, PC_PATH_MAX, NULL), PC_PATH_FRAGMENT);
}

/* RFC 3986 §5.2.4 transcribed step by step (rules A-E) on NUL-terminated
 * strings, as the reference the one-pass version must agree with. */
static void rfc3986_remove_dot_segments(const char *input, char *output)
{
	char in[64], *ip = in;
	size_t o = 0;

	strcpy(in, input);
	while (*ip) {
		if (strncmp(ip, "../", 3) == 0) {
			ip += 3;
		} else if (strncmp(ip, "./", 2) == 0) {
			ip += 2;
		} else if (strncmp(ip, "/./", 3) == 0) {
			ip += 2;
		} else if (strcmp(ip, "/.") == 0) {
			ip += 1;
			*ip = '/';
		} else if (strncmp(ip, "/../", 4) == 0 || strcmp(ip, "/..") == 0) {
			if (ip[3] == '\0') {
				ip += 2;
				*ip = '/';
			} else {
				ip += 3;
			}
			while (o > 0 && output[--o] != '/')
				;
		} else if (strcmp(ip, ".") == 0 || strcmp(ip, "..") == 0) {
			ip += strlen(ip);
		} else {
			do
				output[o++] = *ip++;
			while (*ip && *ip != '/');
		}
	}
	output[o] = '\0';
}

static uint32_t rng = 0x9e3779b9u;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void test_matches_rfc3986_reference(void)
{
	static const char alpha[] = "/./.a";
	struct pc_path_norm_opts o = defaults;
	char path[32], want[64];
	unsigned mismatches = 0;

	o.merge_slashes = false;
	/* Every 8-byte path ('/' then 7 of { '/', '.', 'a' }), then random
	 * ones up to 24 bytes. */
	for (int iter = 0; iter < 200000; iter++) {
		size_t n;
		if (iter < 3 * 3 * 3 * 3 * 3 * 3 * 3) {
			int v = iter;
			n = 8;
			path[0] = '/';
			for (size_t k = 1; k < n; k++, v /= 3)
				path[k] = "/.a"[v % 3];
		} else {
			n = 1 + next_rand() % 24;
			path[0] = '/';
			for (size_t k = 1; k < n; k++)
				path[k] = alpha[next_rand() % (sizeof(alpha) - 1)];
		}
		path[n] = '\0';
		rfc3986_remove_dot_segments(path, want);
		if (norm_opts(path, n, &o) != PC_PATH_OK || strcmp(res.out, want) != 0) {
			if (mismatches++ < 5)
				fprintf(stderr, "\n  \"%s\": got \"%s\", RFC 3986 \"%s\"\n", path,
					res.out, want);
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
}

/* Over random paths: the output is a normal form. Normalising it again
 * changes nothing, and it holds no dot-segment, no "//", no lowercase hex
 * and no encoded unreserved character. */
static void test_random_paths_normal_form(void)
{
	static const char *const atoms[] = {
		"/", "/", ".", "..", "a", "B", "%2e", "%2E", "%41", "%7e", "%3a", "%3A",
		"%2f", "%5c", "%00", "%", "%4", "%zz", ";", "\\", "#", "~", "-", "%25",
		"%c3", "?", " ", "\x01",
	};
	char path[128], again[128];
	unsigned ok = 0, bad = 0;

	for (int iter = 0; iter < 200000; iter++) {
		size_t n = 1, parts = 1 + next_rand() % 14;
		path[0] = '/';
		for (size_t k = 0; k < parts; k++) {
			const char *a = atoms[next_rand() % PC_ARRAY_SIZE(atoms)];
			size_t al = strlen(a);
			memcpy(path + n, a, al);
			n += al;
		}
		if (norm_opts(path, n, NULL) != PC_PATH_OK) {
			bad++;
			continue;
		}
		ok++;
		CU_ASSERT_EQUAL_FATAL(res.out[0], '/');
		CU_ASSERT_PTR_NULL(strstr(res.out, "//"));
		CU_ASSERT_PTR_NULL(strstr(res.out, "/./"));
		CU_ASSERT_PTR_NULL(strstr(res.out, "/../"));
		CU_ASSERT_FALSE(res.len >= 2 && strcmp(res.out + res.len - 2, "/.") == 0);
		CU_ASSERT_FALSE(res.len >= 3 && strcmp(res.out + res.len - 3, "/..") == 0);
		for (size_t k = 0; k < res.len; k++) {
			if (res.out[k] != '%')
				continue;
			CU_ASSERT_FATAL(k + 2 < res.len);
			CU_ASSERT_TRUE(strchr("0123456789ABCDEF", res.out[k + 1]) != NULL);
			CU_ASSERT_TRUE(strchr("0123456789ABCDEF", res.out[k + 2]) != NULL);
			CU_ASSERT_FALSE(strncmp(res.out + k, "%2E", 3) == 0 ||
					strncmp(res.out + k, "%41", 3) == 0 ||
					strncmp(res.out + k, "%7E", 3) == 0);
		}
		size_t l1 = res.len;
		memcpy(again, res.out, l1 + 1);
		CU_ASSERT_EQUAL_FATAL(norm_opts(again, l1, NULL), PC_PATH_OK);
		CU_ASSERT_EQUAL(res.len, l1);
		CU_ASSERT_FALSE(res.changed);
		CU_ASSERT_EQUAL(memcmp(res.out, again, l1), 0);
	}
	/* Both outcomes were exercised. */
	CU_ASSERT_TRUE(ok > 10000);
	CU_ASSERT_TRUE(bad > 10000);
}

static void test_reason_names(void)
{
	CU_ASSERT_STRING_EQUAL(pc_path_norm_reason_name(PC_PATH_OK), "ok");
	CU_ASSERT_STRING_EQUAL(pc_path_norm_reason_name(PC_PATH_ENCODED_SLASH), "path_encoded_slash");
	CU_ASSERT_STRING_EQUAL(pc_path_norm_reason_name(PC_PATH_INVALID_PERCENT_ENCODING),
			       "path_invalid_percent_encoding");
	for (int r = 0; r < PC_PATH_REASON_COUNT; r++) {
		const char *a = pc_path_norm_reason_name(r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		CU_ASSERT_TRUE(r == PC_PATH_OK || strncmp(a, "path_", 5) == 0);
		for (int s = r + 1; s < PC_PATH_REASON_COUNT; s++)
			CU_ASSERT_STRING_NOT_EQUAL(a, pc_path_norm_reason_name(s));
	}
	CU_ASSERT_PTR_NOT_NULL(pc_path_norm_reason_name(PC_PATH_REASON_COUNT));
}

static CU_TestInfo tests[] = {
	PC_TEST(test_default_cases),
	PC_TEST(test_changed_flag),
	PC_TEST(test_keep_slashes),
	PC_TEST(test_keep_encoded_slash),
	PC_TEST(test_keep_backslash),
	PC_TEST(test_resolve_encoded_dots),
	PC_TEST(test_keep_dot_params),
	PC_TEST(test_zero_opts),
	PC_TEST(test_length_bounds),
	PC_TEST(test_very_long_paths),
	PC_TEST(test_matches_rfc3986_reference),
	PC_TEST(test_random_paths_normal_form),
	PC_TEST(test_reason_names),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("path_norm", tests)
