/* SPDX-License-Identifier: BSD-3-Clause
 *
 * pc_json_locate_line(): the line of a value by JSON path, and 0 for absent
 * paths, bad paths and anything that is not one well-formed JSON document.
 */
#include <stdlib.h>
#include <string.h>

#include "pc_test.h"
#include "policy/json_locate.h"
#include "util/pc_types.h"

static unsigned loc(const char *text, const char *path)
{
	return pc_json_locate_line(text, strlen(text), path);
}

static const char *doc =
	"{\n"                                         /* 1 */
	"  \"version\": 1,\n"                         /* 2 */
	"  \"identities\": [\n"                       /* 3 */
	"    {\"name\": \"a\", \"sources\": [\"198.18.1.0/24\"]},\n" /* 4 */
	"    {\n"                                     /* 5 */
	"      \"name\": \"b\",\n"                    /* 6 */
	"      \"api_keys_sha256\": [\n"              /* 7 */
	"        \"00\",\n"                           /* 8 */
	"        \"11\"\n"                            /* 9 */
	"      ]\n"                                   /* 10 */
	"    }\n"                                     /* 11 */
	"  ],\n"                                      /* 12 */
	"  \"rules\": [{\"id\": \"r\", \"headers\": {\"x.y\": [\"v\"], \"a\\\"b\": [\"w\"]},\n" /* 13 */
	"             \"action\":\n"                  /* 14 */
	"               \"allow\"}]\n"                /* 15 */
	"}\n";

static void test_paths(void)
{
	CU_ASSERT_EQUAL(loc(doc, "$"), 1);
	CU_ASSERT_EQUAL(loc(doc, "$.version"), 2);
	CU_ASSERT_EQUAL(loc(doc, "$.identities"), 3);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[0]"), 4);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[0].sources[0]"), 4);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[1]"), 5);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[1].name"), 6);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[1].api_keys_sha256"), 7);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[1].api_keys_sha256[0]"), 8);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[1].api_keys_sha256[1]"), 9);
	CU_ASSERT_EQUAL(loc(doc, "$.rules[0].id"), 13);
	/* the line of the value, not of its key */
	CU_ASSERT_EQUAL(loc(doc, "$.rules[0].action"), 15);
}

static void test_quoted_keys(void)
{
	CU_ASSERT_EQUAL(loc(doc, "$.rules[0].headers[\"x.y\"]"), 13);
	CU_ASSERT_EQUAL(loc(doc, "$.rules[0].headers[\"x.y\"][0]"), 13);
	CU_ASSERT_EQUAL(loc(doc, "$.rules[0].headers[\"a\\\"b\"]"), 13);
	/* a bare step stops at '.', so this asks for key "x" then "y" */
	CU_ASSERT_EQUAL(loc(doc, "$.rules[0].headers.x.y"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$[\"version\"]"), 2);
}

static void test_absent(void)
{
	CU_ASSERT_EQUAL(loc(doc, "$.nope"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[2]"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[1].api_keys_sha256[2]"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.version.x"), 0);    /* a scalar has no keys */
	CU_ASSERT_EQUAL(loc(doc, "$.version[0]"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities.name"), 0); /* key step on an array */
	CU_ASSERT_EQUAL(loc(doc, "$[0]"), 0);            /* index step on an object */
	/* "name" exists deeper, but not as a direct child of the root */
	CU_ASSERT_EQUAL(loc(doc, "$.name"), 0);
	CU_ASSERT_EQUAL(loc("[]", "$[0]"), 0);
	CU_ASSERT_EQUAL(loc("{}", "$.a"), 0);
}

static void test_bad_paths(void)
{
	CU_ASSERT_EQUAL(loc(doc, ""), 0);
	CU_ASSERT_EQUAL(loc(doc, "version"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$."), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.."), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities["), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[]"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[x]"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[1"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$.identities[99999999999999999999999]"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$[\"version]"), 0);
	CU_ASSERT_EQUAL(loc(doc, "$[\"version\""), 0);
	CU_ASSERT_EQUAL(loc(doc, "$x"), 0);
	CU_ASSERT_EQUAL(pc_json_locate_line(NULL, 0, "$"), 0);
	CU_ASSERT_EQUAL(pc_json_locate_line(doc, strlen(doc), NULL), 0);
}

static void test_escapes(void)
{
	/* keys are compared after unescaping, on both sides */
	const char *t = "{\"a\": 1,\n\"\\u0062\\u00e9\": 2,\n\"\\ud83d\\ude00\": 3,\n"
			"\"q\\\"\\\\\\/\\b\\f\\n\\r\\t\": 4}";

	CU_ASSERT_EQUAL(loc(t, "$.b\xc3\xa9"), 2);
	CU_ASSERT_EQUAL(loc(t, "$[\"b\\u00e9\"]"), 2);
	CU_ASSERT_EQUAL(loc(t, "$.\xf0\x9f\x98\x80"), 3);
	CU_ASSERT_EQUAL(loc(t, "$[\"q\\\"\\\\/\\b\\f\\n\\r\\t\"]"), 4);
	CU_ASSERT_EQUAL(loc(t, "$.b"), 0);
	/* a lone surrogate is not a character: the key cannot match */
	CU_ASSERT_EQUAL(loc("{\"\\ud83d\": 1}", "$.x"), 0);
	/* strings holding brackets and quotes do not confuse nesting */
	CU_ASSERT_EQUAL(loc("{\"a\": \"]}[{\\\"\",\n\"b\": 2}", "$.b"), 2);
}

static void test_scalars_and_whitespace(void)
{
	const char *t = "\r\n\t [1, -0.5e+3, true, false, null, \"s\",\r\n 2E-2, 0, -0, 1.25]\n\n";

	CU_ASSERT_EQUAL(loc(t, "$"), 2);
	CU_ASSERT_EQUAL(loc(t, "$[5]"), 2);
	CU_ASSERT_EQUAL(loc(t, "$[6]"), 3);
	CU_ASSERT_EQUAL(loc(t, "$[9]"), 3);
	CU_ASSERT_EQUAL(loc(t, "$[10]"), 0);
	CU_ASSERT_EQUAL(loc("\n\n42", "$"), 3);
	CU_ASSERT_EQUAL(loc("\"x\"", "$"), 1);
}

/* Texts that are not one JSON document: always 0, even when the value
 * itself was found before the damage. */
static void test_malformed(void)
{
	static const char *const bad[] = {
		"",
		"   ",
		"{",
		"{\"a\": 1",
		"{\"a\": 1,}",
		"[1,]",
		"[1 2]",
		"{\"a\" 1}",
		"{\"a\": 1 \"b\": 2}",
		"{a: 1}",
		"{\"a\": 1]",
		"[1}",
		"{\"a\": 01}",
		"{\"a\": 1.}",
		"{\"a\": .5}",
		"{\"a\": 1e}",
		"{\"a\": -}",
		"{\"a\": +1}",
		"{\"a\": tru}",
		"{\"a\": nul}",
		"{\"a\": True}",
		"{\"a\": \"x}",
		"{\"a\": \"\\x\"}",
		"{\"a\": \"\\u12g4\"}",
		"{\"a\": \"\\u12\"}",
		"{\"a\": \"tab\there\"}",
		"{\"a\": 1} x",
		"{\"a\": 1} {}",
		"{\"a\": 1}\x00",
		"{\"a\": \"x\\",
		"\xef\xbb\xbf{\"a\": 1}",
	};

	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		size_t len = strlen(bad[i]);
		if (strcmp(bad[i], "{\"a\": 1}") == 0)
			len++; /* the embedded NUL case */
		unsigned got = pc_json_locate_line(bad[i], len, "$.a");
		if (got != 0)
			fprintf(stderr, "\n  malformed text #%zu located at %u\n", i, got);
		CU_ASSERT_EQUAL(got, 0);
		CU_ASSERT_EQUAL(pc_json_locate_line(bad[i], len, "$"), 0);
	}
}

/* len bounds the text: nothing past it is read, and a cut document is bad. */
static void test_length_bound(void)
{
	const char *t = "{\"a\": [1, 2]}{\"garbage";

	CU_ASSERT_EQUAL(pc_json_locate_line(t, 13, "$.a[1]"), 1);
	CU_ASSERT_EQUAL(pc_json_locate_line(t, 12, "$.a[1]"), 0);
	CU_ASSERT_EQUAL(pc_json_locate_line(t, strlen(t), "$.a[1]"), 0);

	/* a heap copy with no terminator: ASan catches any read past len */
	char *h = malloc(13);
	if (h == NULL) {
		CU_FAIL("malloc");
		return;
	}
	memcpy(h, t, 13);
	CU_ASSERT_EQUAL(pc_json_locate_line(h, 13, "$.a[1]"), 1);
	CU_ASSERT_EQUAL(pc_json_locate_line(h, 5, "$.a"), 0);
	CU_ASSERT_EQUAL(pc_json_locate_line(h, 0, "$"), 0);
	free(h);
}

/* Nesting within the bound works; beyond it the answer is 0, not a crash. */
static void test_depth(void)
{
	size_t n = 100000;
	char *t = malloc(2 * n + 16);
	char path[2048];
	size_t o;

	if (t == NULL) {
		CU_FAIL("malloc");
		return;
	}
	/* 256 nested arrays, "$[0][0]...[0]" 255 deep reaches the innermost */
	memset(t, '[', 256);
	memset(t + 256, ']', 256);
	o = 0;
	path[o++] = '$';
	for (int i = 0; i < 255; i++) {
		memcpy(path + o, "[0]", 3);
		o += 3;
	}
	path[o] = '\0';
	CU_ASSERT_EQUAL(pc_json_locate_line(t, 512, "$"), 1);
	CU_ASSERT_EQUAL(pc_json_locate_line(t, 512, path), 1);
	/* 257 levels: refused */
	memset(t, '[', 257);
	memset(t + 257, ']', 257);
	CU_ASSERT_EQUAL(pc_json_locate_line(t, 514, "$"), 0);
	/* very deep input: no recursion, so no stack exhaustion */
	memset(t, '[', n);
	memset(t + n, ']', n);
	CU_ASSERT_EQUAL(pc_json_locate_line(t, 2 * n, "$"), 0);
	memset(t, '{', n);
	CU_ASSERT_EQUAL(pc_json_locate_line(t, n, "$"), 0);
	free(t);
}

/* Duplicate keys (which the loader rejects anyway): the first one wins. */
static void test_duplicate_keys(void)
{
	CU_ASSERT_EQUAL(loc("{\"a\":\n1, \"a\":\n\n2}", "$.a"), 2);
}

/* Other values of the selected container are skipped whole, even when
 * they are deep, so a step only matches the container's own children. */
static void test_siblings(void)
{
	const char *t = "{\"x\": {\"a\": {\"a\": 1}},\n \"a\": [[0], {\"b\": [1]},\n 7]}";

	CU_ASSERT_EQUAL(loc(t, "$.a"), 2);
	CU_ASSERT_EQUAL(loc(t, "$.a[2]"), 3);
	CU_ASSERT_EQUAL(loc(t, "$.a[1].b[0]"), 2);
	CU_ASSERT_EQUAL(loc(t, "$.x.a.a"), 1);
	CU_ASSERT_EQUAL(loc(t, "$.a[0][1]"), 0);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_paths),
	PC_TEST(test_quoted_keys),
	PC_TEST(test_absent),
	PC_TEST(test_bad_paths),
	PC_TEST(test_escapes),
	PC_TEST(test_scalars_and_whitespace),
	PC_TEST(test_malformed),
	PC_TEST(test_length_bound),
	PC_TEST(test_depth),
	PC_TEST(test_duplicate_keys),
	PC_TEST(test_siblings),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("json_locate", tests)
