/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lib/dlp: the default patterns against examples embedded in JSON bodies,
 * whole and split at every byte across two chunks (the reason for stream
 * mode); look-alikes and ordinary bodies that must not match; extra
 * patterns and their errors; the blob as hostile input; the stream pool.
 * dlp.c is included so the blob header and its checksum can be forged to
 * reach the checks that come after the checksum. Example secrets are
 * published examples or made of counting characters, and are spelled in
 * pieces so that no scanner mistakes this file for a leak.
 */
#include <errno.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_test.h"
#include "../../lib/dlp/dlp.c"

static char err[512];

/* ---- helpers ----------------------------------------------------------- */

static struct pc_dlp_db *load_set(const struct pc_dlp_pattern *extra, uint32_t n, bool defs)
{
	void *blob = NULL;
	size_t len = 0;
	err[0] = '\0';
	int rc = pc_dlp_compile(extra, n, defs, &blob, &len, err, sizeof(err));
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	if (rc != 0)
		fprintf(stderr, "compile: %s\n", err);
	struct pc_dlp_db *db = pc_dlp_db_load(blob, len, err, sizeof(err));
	if (db == NULL)
		fprintf(stderr, "load: %s\n", err);
	free(blob);
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	return db;
}

/* Scans buf as one body in two chunks split at cut; returns the result. */
static int scan_split(const struct pc_dlp_db *db, struct pc_dlp_scratch *s, const char *buf,
		      size_t len, size_t cut)
{
	struct pc_dlp_stream *st = pc_dlp_stream_open(db);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	int r = pc_dlp_stream_scan(st, s, buf, cut);
	if (r == PC_DLP_NO_MATCH)
		r = pc_dlp_stream_scan(st, s, buf + cut, len - cut);
	if (r == PC_DLP_NO_MATCH)
		r = pc_dlp_stream_finish(st, s);
	pc_dlp_stream_close(st);
	return r;
}

static int scan_whole(const struct pc_dlp_db *db, struct pc_dlp_scratch *s, const char *buf)
{
	return scan_split(db, s, buf, strlen(buf), 0);
}

static int id_of(const struct pc_dlp_db *db, const char *name)
{
	for (uint32_t i = 0; i < pc_dlp_db_count(db); i++)
		if (strcmp(pc_dlp_pattern_name(db, (int)i), name) == 0)
			return (int)i;
	return -100;
}

/* ---- default patterns -------------------------------------------------- */

struct example {
	const char *pattern;
	const char *secret;
};

static const struct example examples[] = {
	{ "aws-access-key-id", "AKIA" "IOSFODNN7EXAMPLE" },
	{ "aws-access-key-id", "ASIA" "Y34FZKBOKMUTVV7A" },
	{ "google-api-key", "AIza" "0123456789abcdefghijABCDEFGHIJ_-xyz" },
	{ "github-token", "ghp_" "0123456789abcdefghijABCDEFGHIJ012345" },
	{ "github-token", "gho_" "abcdefghijklmnopqrstuvwxyz0123456789" },
	{ "github-token", "ghs_" "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789" },
	{ "github-token", "ghu_" "0123456789ABCDEFGHIJabcdefghij012345" },
	{ "slack-token", "xoxb-" "123456789012-1234567890123-" "abcdefABCDEF0123456789ab" },
	{ "slack-token", "xoxp-" "1234567890-1234567890-1234567890-" "0123456789abcdef" },
	{ "stripe-live-key", "sk_" "live_" "0123456789abcdefABCDEFGH" },
	{ "private-key", "-----BEGIN " "PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC" },
	{ "private-key", "-----BEGIN RSA " "PRIVATE KEY-----\\nMIIEpAIBAAKCAQEA" },
	{ "private-key", "-----BEGIN EC " "PRIVATE KEY-----\\nMHcCAQEEIBkg" },
	{ "private-key", "-----BEGIN OPENSSH " "PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEA" },
	{ "private-key", "-----BEGIN ENCRYPTED " "PRIVATE KEY-----\\nMIIFHzBJBgkqhkiG" },
	/* jwt.io's example token. */
	{ "jwt", "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9" "."
		 "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ" "."
		 "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c" },
};

static void test_defaults_listed(void)
{
	uint32_t n = 0;
	const struct pc_dlp_pattern *d = pc_dlp_default_patterns(&n);
	CU_ASSERT_EQUAL(n, 7);
	for (uint32_t i = 0; i < n; i++) {
		CU_ASSERT(strlen(d[i].name) <= 23);
		CU_ASSERT(strlen(d[i].regex) > 0);
	}
	struct pc_dlp_db *db = load_set(NULL, 0, true);
	CU_ASSERT_EQUAL(pc_dlp_db_count(db), n);
	for (uint32_t i = 0; i < n; i++)
		CU_ASSERT_STRING_EQUAL(pc_dlp_pattern_name(db, (int)i), d[i].name);
	CU_ASSERT_STRING_EQUAL(pc_dlp_pattern_name(db, -1), "?");
	CU_ASSERT_STRING_EQUAL(pc_dlp_pattern_name(db, (int)n), "?");
	CU_ASSERT(pc_dlp_stream_size(db) > 0);
	pc_dlp_db_free(db);
}

/* Every example, in a JSON body, whole and cut at every byte: the secret is
 * found however the body is segmented, and is named by the right pattern. */
static void test_defaults_match_split(void)
{
	struct pc_dlp_db *db = load_set(NULL, 0, true);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	char body[512];

	for (size_t i = 0; i < PC_ARRAY_SIZE(examples); i++) {
		int want = id_of(db, examples[i].pattern);
		CU_ASSERT(want >= 0);
		int n = snprintf(body, sizeof(body),
				 "{\"model\":\"small-1\",\"messages\":[{\"role\":\"user\","
				 "\"content\":\"deploy with %s please\"}]}",
				 examples[i].secret);
		CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(body));
		/* The secret at the very end of the body too: no boundary
		 * after it is required. */
		int got = scan_whole(db, s, body);
		if (got != want)
			fprintf(stderr, "example %zu (%s): got %d want %d\n", i,
				examples[i].pattern, got, want);
		CU_ASSERT_EQUAL(got, want);
		CU_ASSERT_EQUAL(scan_whole(db, s, examples[i].secret), want);
		unsigned bad = 0;
		for (size_t cut = 0; cut <= (size_t)n; cut++)
			if (scan_split(db, s, body, (size_t)n, cut) != want)
				bad++;
		CU_ASSERT_EQUAL(bad, 0);
	}
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
}

/* A secret spread over many one-byte chunks, and the short-circuit after a
 * match: later scans return the same id. */
static void test_byte_at_a_time(void)
{
	struct pc_dlp_db *db = load_set(NULL, 0, true);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	struct pc_dlp_stream *st = pc_dlp_stream_open(db);
	CU_ASSERT_PTR_NOT_NULL_FATAL(st);
	const char *body = "{\"k\":\"" "AKIA" "IOSFODNN7EXAMPLE" "\"}";
	int r = PC_DLP_NO_MATCH;
	size_t at = 0;
	for (; body[at] != '\0' && r == PC_DLP_NO_MATCH; at++)
		r = pc_dlp_stream_scan(st, s, body + at, 1);
	CU_ASSERT_EQUAL(r, id_of(db, "aws-access-key-id"));
	CU_ASSERT_EQUAL(at, strlen("{\"k\":\"") + 20); /* reported at its last byte */
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(st, s, "more", 4), r);
	CU_ASSERT_EQUAL(pc_dlp_stream_result(st), r);
	CU_ASSERT_EQUAL(pc_dlp_stream_finish(st, s), r);
	pc_dlp_stream_close(st);
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
}

static const char *lookalikes[] = {
	"{\"id\":\"" "AKIA" "IOSFODNN7EXAMPL\"}",                 /* AKIA + 15 */
	"{\"id\":\"" "akia" "iosfodnn7example\"}",                /* lower case */
	"{\"id\":\"" "AKIA" "iosfodnn7example\"}",                /* lower tail */
	"{\"cert\":\"-----BEGIN CERTIFICATE-----\\nMIIDdzCCAl+gAwIBAgIE\\n-----END CERTIFICATE-----\"}",
	"{\"pub\":\"-----BEGIN PUBLIC KEY-----\\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\"}",
	"{\"pub\":\"-----BEGIN RSA PUBLIC KEY-----\\nMIIBCgKCAQEA\"}",
	/* Two segments only (no signature part). */
	"{\"t\":\"eyJhbGciOiJIUzI1NiJ9" "." "eyJzdWIiOiIxMjM0NTY3ODkwIn0\"}",
	/* Unsigned token: empty signature. */
	"{\"t\":\"eyJhbGciOiJub25lIn0" "." "eyJzdWIiOiIxMjM0NTY3ODkwIn0" ".\"}",
	"{\"k\":\"" "ghp_" "0123456789abcdefghijABCDEFGHIJ01234\"}",  /* 35 */
	"{\"k\":\"" "ghx_" "0123456789abcdefghijABCDEFGHIJ012345\"}", /* no such kind */
	"{\"k\":\"" "sk_" "test_" "0123456789abcdefABCDEFGH\"}",       /* test mode */
	"{\"k\":\"" "AIza" "0123456789abcdefghijABCDEFGHIJ_-xy\"}",    /* 34 */
	"{\"k\":\"" "xoxb-" "notatoken\"}",
};

static void test_lookalikes(void)
{
	struct pc_dlp_db *db = load_set(NULL, 0, true);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	for (size_t i = 0; i < PC_ARRAY_SIZE(lookalikes); i++) {
		int r = scan_whole(db, s, lookalikes[i]);
		if (r != PC_DLP_NO_MATCH)
			fprintf(stderr, "look-alike %zu matched %s\n", i, pc_dlp_pattern_name(db, r));
		CU_ASSERT_EQUAL(r, PC_DLP_NO_MATCH);
	}
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
}

/* Ordinary bodies an agent sends: none may match. The last is 48 KiB of
 * base64 (an attached image), from a fixed generator. */
static void test_realistic_bodies(void)
{
	static const char *bodies[] = {
		"{\"model\":\"gpt-4o-mini\",\"temperature\":0.2,\"messages\":[{\"role\":\"system\","
		"\"content\":\"You are a support assistant for ACME. Answer briefly.\"},"
		"{\"role\":\"user\",\"content\":\"My order 123-4567-ABCD arrived damaged; the "
		"tracking id is 1Z999AA10123456784. What now?\"}],\"stream\":false}",
		"{\"jsonrpc\":\"2.0\",\"id\":17,\"method\":\"tools/call\",\"params\":{\"name\":"
		"\"search_tickets\",\"arguments\":{\"query\":\"login fails after SSO update\","
		"\"assignee\":\"AKIRA.TANAKA\",\"limit\":25}}}",
		"{\"ref\":\"refs/heads/main\",\"sha\":\"9fceb02d0ae598e95dc970b74767f19372d61af8\","
		"\"tree\":\"b4eecafa9be2f2006ce1b709d6857b07069b4608\",\"request_id\":"
		"\"3f2b9c1e-8d4a-4f6b-9a7e-2c1d0e5f6a7b\",\"etag\":\"W/\\\"a1b2c3d4e5f6\\\"\"}",
		"{\"embedding_input\":[\"The quick brown fox jumps over the lazy dog.\","
		"\"SKU: ZX-ASIA-PACIFIC-2024-Q3\",\"path: /v1/eyJ/config.json\","
		"\"version 1.2.3.4-beta.eyJ\"]}",
		"{\"headers\":{\"Authorization\":\"Bearer <redacted>\",\"X-Request-Id\":"
		"\"ASIA-PAC-0042\"},\"note\":\"-----BEGIN CERTIFICATE REQUEST-----\"}",
	};
	struct pc_dlp_db *db = load_set(NULL, 0, true);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	for (size_t i = 0; i < PC_ARRAY_SIZE(bodies); i++) {
		int r = scan_whole(db, s, bodies[i]);
		if (r != PC_DLP_NO_MATCH)
			fprintf(stderr, "body %zu matched %s\n", i, pc_dlp_pattern_name(db, r));
		CU_ASSERT_EQUAL(r, PC_DLP_NO_MATCH);
	}
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = 48 * 1024;
	char *big = malloc(n + 64);
	CU_ASSERT_PTR_NOT_NULL_FATAL(big);
	size_t w = (size_t)sprintf(big, "{\"image\":\"data:image/png;base64,");
	uint32_t x = 2463534242u;
	while (w < n) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		big[w++] = b64[x & 63];
	}
	strcpy(big + w, "\"}");
	CU_ASSERT_EQUAL(scan_whole(db, s, big), PC_DLP_NO_MATCH);
	/* The same body with a key in the middle does match. */
	memcpy(big + n / 2, "\\n" "AKIA" "IOSFODNN7EXAMPLE\\n", 24);
	CU_ASSERT_EQUAL(scan_whole(db, s, big), id_of(db, "aws-access-key-id"));
	free(big);
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
}

/* ---- extra patterns ---------------------------------------------------- */

static void test_extra_patterns(void)
{
	const struct pc_dlp_pattern extra[] = {
		{ "acme-token", "acme_[A-Za-z0-9]{32}" },
		{ "internal.host", "(?i)db-[0-9]+\\.corp\\.example" },
	};
	uint32_t n_def = 0;
	pc_dlp_default_patterns(&n_def);
	struct pc_dlp_db *db = load_set(extra, 2, true);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	CU_ASSERT_EQUAL(pc_dlp_db_count(db), n_def + 2);
	CU_ASSERT_STRING_EQUAL(pc_dlp_pattern_name(db, (int)n_def), "acme-token");
	const char *body = "{\"t\":\"acme_0123456789abcdefghijABCDEFGHIJ01\"}";
	CU_ASSERT_EQUAL(scan_whole(db, s, body), (int)n_def);
	CU_ASSERT_EQUAL(scan_split(db, s, body, strlen(body), 20), (int)n_def);
	CU_ASSERT_EQUAL(scan_whole(db, s, "{\"h\":\"DB-12.CORP.example\"}"), (int)n_def + 1);
	CU_ASSERT_EQUAL(scan_whole(db, s, "{\"t\":\"acme_0123\"}"), PC_DLP_NO_MATCH);
	/* The defaults still work beside them. */
	CU_ASSERT_EQUAL(scan_whole(db, s, "AKIA" "IOSFODNN7EXAMPLE"), id_of(db, "aws-access-key-id"));
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);

	/* Without the defaults the extras are ids 0.. and AKIA is no match. */
	db = load_set(extra, 2, false);
	s = pc_dlp_scratch_new(db);
	CU_ASSERT_EQUAL(pc_dlp_db_count(db), 2);
	CU_ASSERT_EQUAL(scan_whole(db, s, body), 0);
	CU_ASSERT_EQUAL(scan_whole(db, s, "AKIA" "IOSFODNN7EXAMPLE"), PC_DLP_NO_MATCH);
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
}

/* An end-anchored extra pattern is only decided at the end of the body. */
static void test_end_anchored(void)
{
	const struct pc_dlp_pattern extra[] = { { "trailer", "SECRET-END$" } };
	struct pc_dlp_db *db = load_set(extra, 1, false);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	struct pc_dlp_stream *st = pc_dlp_stream_open(db);
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(st, s, "xx SECRET-", 10), PC_DLP_NO_MATCH);
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(st, s, "END", 3), PC_DLP_NO_MATCH);
	CU_ASSERT_EQUAL(pc_dlp_stream_finish(st, s), 0);
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(st, s, "x", 1), 0);
	pc_dlp_stream_close(st);
	st = pc_dlp_stream_open(db);
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(st, s, "SECRET-END and more", 19), PC_DLP_NO_MATCH);
	CU_ASSERT_EQUAL(pc_dlp_stream_finish(st, s), PC_DLP_NO_MATCH);
	pc_dlp_stream_close(st);
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
}

static void expect_compile_error(const struct pc_dlp_pattern *extra, uint32_t n, bool defs,
				 const char *needle1, const char *needle2)
{
	void *blob = (void *)1;
	size_t len = 1;
	err[0] = '\0';
	CU_ASSERT_EQUAL(pc_dlp_compile(extra, n, defs, &blob, &len, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(blob);
	CU_ASSERT_EQUAL(len, 0);
	if (strstr(err, needle1) == NULL || (needle2 != NULL && strstr(err, needle2) == NULL))
		fprintf(stderr, "unexpected message: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, needle1));
	if (needle2 != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(err, needle2));
}

static void test_compile_errors(void)
{
	const struct pc_dlp_pattern bad_regex[] = {
		{ "fine", "fine_[0-9]{8}" },
		{ "acme-bad", "acme_[A-Z" },
	};
	expect_compile_error(bad_regex, 2, true, "\"acme-bad\"", "Unterminated character class");
	const struct pc_dlp_pattern empty_match[] = { { "empty", "x*" } };
	expect_compile_error(empty_match, 1, false, "\"empty\"", "empty");
	const struct pc_dlp_pattern bad_name[] = { { "no spaces", "abc" } };
	expect_compile_error(bad_name, 1, false, "no spaces", "name");
	const struct pc_dlp_pattern long_name[] = {
		{ "n123456789012345678901234567890123456789012345678901234567890123", "abc" },
	};
	expect_compile_error(long_name, 1, false, "name", NULL);
	const struct pc_dlp_pattern dup[] = { { "a", "abc" }, { "a", "def" } };
	expect_compile_error(dup, 2, false, "\"a\"", "duplicate");
	const struct pc_dlp_pattern dup_def[] = { { "jwt", "abc" } };
	expect_compile_error(dup_def, 1, true, "\"jwt\"", "default");
	const struct pc_dlp_pattern no_regex[] = { { "nore", "" } };
	expect_compile_error(no_regex, 1, false, "\"nore\"", "regex");
	expect_compile_error(NULL, 0, false, "no patterns", NULL);
	static struct pc_dlp_pattern many[PC_DLP_MAX_PATTERNS];
	expect_compile_error(many, PC_DLP_MAX_PATTERNS, true, "at most", NULL);
	/* err may be NULL. */
	void *blob;
	size_t len;
	CU_ASSERT_EQUAL(pc_dlp_compile(bad_regex, 2, false, &blob, &len, NULL, 0), -EINVAL);
}

/* ---- the blob ---------------------------------------------------------- */

static void *compile_defaults(size_t *len)
{
	void *blob = NULL;
	CU_ASSERT_EQUAL_FATAL(pc_dlp_compile(NULL, 0, true, &blob, len, err, sizeof(err)), 0);
	return blob;
}

static void test_blob_roundtrip(void)
{
	size_t len = 0, len2 = 0;
	void *blob = compile_defaults(&len);
	void *blob2 = compile_defaults(&len2);
	/* Deterministic: the same set gives the same bytes (images diff). */
	CU_ASSERT_EQUAL(len, len2);
	CU_ASSERT(len == len2 && memcmp(blob, blob2, len) == 0);
	/* Loaded from an exact-size heap copy at an odd address: an over-read
	 * is an ASan error, misalignment must not matter. */
	uint8_t *odd = malloc(len + 1);
	memcpy(odd + 1, blob, len);
	struct pc_dlp_db *db = pc_dlp_db_load(odd + 1, len, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(db);
	free(odd);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	CU_ASSERT_EQUAL(scan_whole(db, s, "-----BEGIN " "PRIVATE KEY-----"), id_of(db, "private-key"));
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
	free(blob);
	free(blob2);
}

static void expect_refused(const void *blob, size_t len, const char *needle)
{
	err[0] = '\0';
	errno = 0;
	struct pc_dlp_db *db = pc_dlp_db_load(blob, len, err, sizeof(err));
	CU_ASSERT_PTR_NULL(db);
	CU_ASSERT_EQUAL(errno, EINVAL);
	if (needle != NULL && strstr(err, needle) == NULL)
		fprintf(stderr, "len %zu: message \"%s\" lacks \"%s\"\n", len, err, needle);
	CU_ASSERT(err[0] != '\0');
	if (needle != NULL)
		CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
	pc_dlp_db_free(db);
}

/* Rewrites the header of a copy and fixes its checksum, so the check after
 * the checksum is the one that must refuse it. */
static uint8_t *forge(const void *blob, size_t len, size_t new_len,
		      void (*edit)(struct pc_dlp_blob_hdr *h, uint8_t *body))
{
	uint8_t *c = calloc(1, new_len > len ? new_len : len);
	memcpy(c, blob, len < new_len ? len : new_len);
	struct pc_dlp_blob_hdr h;
	memcpy(&h, c, sizeof(h));
	if (edit != NULL)
		edit(&h, c + sizeof(h));
	memcpy(c, &h, sizeof(h));
	h.crc = blob_crc(c, new_len);
	memcpy(c, &h, sizeof(h));
	return c;
}

static void ed_count0(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)b; h->count = 0; }
static void ed_count_big(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)b; h->count = 100000; }
static void ed_count_less(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)b; h->count -= 1; }
static void ed_names_len(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)b; h->names_len += 1; }
static void ed_hs_len(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)b; h->hs_len += 8; }
static void ed_hs_len_huge(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)b; h->hs_len = ~0ull - 10; }
static void ed_version(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)b; h->version = 2; }
static void ed_bad_name(struct pc_dlp_blob_hdr *h, uint8_t *b) { (void)h; b[0] = ' '; }
static void ed_unterminated(struct pc_dlp_blob_hdr *h, uint8_t *b)
{
	/* Every NUL of the names area becomes a letter. */
	for (uint32_t i = 0; i < h->names_len; i++)
		if (b[i] == '\0')
			b[i] = 'x';
}
static void ed_hs_magic(struct pc_dlp_blob_hdr *h, uint8_t *b) { b[h->names_len] ^= 0x55; }

static void test_blob_hostile(void)
{
	size_t len = 0;
	uint8_t *blob = compile_defaults(&len);
	CU_ASSERT_FATAL(len > 200);

	/* Truncated: every length near the start, then a stride. */
	for (size_t l = 0; l < len; l += l < 128 ? 1 : 509) {
		uint8_t *c = malloc(l ? l : 1);
		memcpy(c, blob, l);
		expect_refused(c, l, NULL);
		free(c);
	}
	expect_refused(NULL, 0, "shorter");
	expect_refused(blob, len - 1, "lengths");
	expect_refused(blob, 10, "shorter");

	/* One bit flipped, anywhere: header, names, database. */
	uint8_t *c = malloc(len);
	unsigned refused = 0, tried = 0;
	for (size_t i = 0; i < len; i += i < 256 ? 1 : 131) {
		memcpy(c, blob, len);
		c[i] ^= (uint8_t)(1u << (i % 8));
		struct pc_dlp_db *db = pc_dlp_db_load(c, len, err, sizeof(err));
		tried++;
		if (db == NULL && err[0] != '\0')
			refused++;
		pc_dlp_db_free(db);
	}
	CU_ASSERT_EQUAL(refused, tried);
	memcpy(c, blob, len);
	c[len - 1] ^= 1;
	expect_refused(c, len, "checksum");
	memcpy(c, blob, len);
	c[0] ^= 1;
	expect_refused(c, len, "magic");
	free(c);

	/* Forged headers with a valid checksum. */
	struct {
		void (*edit)(struct pc_dlp_blob_hdr *, uint8_t *);
		const char *needle;
	} forged[] = {
		{ ed_count0, "patterns" },
		{ ed_count_big, "patterns" },
		{ ed_count_less, "stray" },
		{ ed_names_len, "lengths" },
		{ ed_hs_len, "lengths" },
		{ ed_hs_len_huge, "lengths" },
		{ ed_version, "version" },
		{ ed_bad_name, "name #0" },
		{ ed_unterminated, "name #" },
		{ ed_hs_magic, "Hyperscan" },
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(forged); i++) {
		uint8_t *f = forge(blob, len, len, forged[i].edit);
		expect_refused(f, len, forged[i].needle);
		free(f);
	}

	/* Duplicate names, forged from a set of two equal-length names. */
	const struct pc_dlp_pattern two[] = { { "aaa", "abc" }, { "bbb", "def" } };
	void *b2 = NULL;
	size_t l2 = 0;
	CU_ASSERT_EQUAL_FATAL(pc_dlp_compile(two, 2, false, &b2, &l2, err, sizeof(err)), 0);
	uint8_t *f = forge(b2, l2, l2, NULL);
	memcpy(f + sizeof(struct pc_dlp_blob_hdr) + 4, "aaa", 3);
	struct pc_dlp_blob_hdr h;
	memcpy(&h, f, sizeof(h));
	h.crc = blob_crc(f, l2);
	memcpy(f, &h, sizeof(h));
	expect_refused(f, l2, "duplicate");
	free(f);
	free(b2);
	free(blob);
}

/* A valid block-mode database wrapped in a valid header: refused for its
 * mode, not for its bytes. */
static void test_blob_block_mode(void)
{
	const char *expr = "AKIA[0-9A-Z]{16}";
	unsigned flags = HS_FLAG_SINGLEMATCH, id = 0;
	hs_database_t *hdb = NULL;
	hs_compile_error_t *cerr = NULL;
	CU_ASSERT_EQUAL_FATAL(hs_compile_multi(&expr, &flags, &id, 1, HS_MODE_BLOCK, NULL, &hdb,
					       &cerr), HS_SUCCESS);
	char *bytes = NULL;
	size_t n = 0;
	CU_ASSERT_EQUAL_FATAL(hs_serialize_database(hdb, &bytes, &n), HS_SUCCESS);
	hs_free_database(hdb);

	size_t len = sizeof(struct pc_dlp_blob_hdr) + 4 + n;
	uint8_t *b = calloc(1, len);
	struct pc_dlp_blob_hdr h = { .version = PC_DLP_BLOB_VERSION, .count = 1, .names_len = 4,
				     .hs_len = n };
	memcpy(h.magic, PC_DLP_MAGIC, sizeof(h.magic));
	memcpy(b, &h, sizeof(h));
	memcpy(b + sizeof(h), "aws", 4);
	memcpy(b + sizeof(h) + 4, bytes, n);
	h.crc = blob_crc(b, len);
	memcpy(b, &h, sizeof(h));
	expect_refused(b, len, "not a stream-mode");
	free(b);
	free(bytes);
}

/* ---- scratch and pool -------------------------------------------------- */

static void test_scratch_fit(void)
{
	const struct pc_dlp_pattern big[] = {
		{ "p1", "alpha[0-9]{40}beta" }, { "p2", "(?:gamma|delta){3,}[a-z]{20}" },
	};
	struct pc_dlp_db *a = load_set(NULL, 0, true);
	struct pc_dlp_db *b = load_set(big, 2, false);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(pc_dlp_scratch_fit(s, b), 0);
	CU_ASSERT_EQUAL(scan_whole(a, s, "AKIA" "IOSFODNN7EXAMPLE"), 0);
	CU_ASSERT_EQUAL(scan_whole(b, s, "gammadeltagammaabcdefghijabcdefghij"), 1);
	CU_ASSERT_EQUAL(pc_dlp_scratch_fit(s, NULL), -EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_dlp_scratch_new(NULL));
	CU_ASSERT_EQUAL(errno, EINVAL);
	pc_dlp_scratch_free(s);
	pc_dlp_scratch_free(NULL);
	pc_dlp_db_free(a);
	pc_dlp_db_free(b);
}

/* Counts Hyperscan's stream-state allocations, to show the pool makes
 * none per body. */
static unsigned stream_allocs;

static void *counting_alloc(size_t n)
{
	stream_allocs++;
	return malloc(n);
}

static void test_pool(void)
{
	struct pc_dlp_db *db = load_set(NULL, 0, true);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	CU_ASSERT_EQUAL_FATAL(hs_set_stream_allocator(counting_alloc, free), HS_SUCCESS);
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_dlp_pool_new(db, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_PTR_NULL(pc_dlp_pool_new(db, PC_DLP_POOL_MAX + 1));
	CU_ASSERT_PTR_NULL(pc_dlp_pool_new(NULL, 4));

	struct pc_dlp_pool *pool = pc_dlp_pool_new(db, 4);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
	CU_ASSERT_EQUAL(pc_dlp_pool_size(pool), 4);
	CU_ASSERT_PTR_EQUAL(pc_dlp_pool_db(pool), db);
	uint32_t idx[5];
	for (int i = 0; i < 4; i++) {
		idx[i] = pc_dlp_pool_acquire(pool);
		CU_ASSERT(idx[i] < 4);
	}
	CU_ASSERT(idx[0] != idx[1] && idx[1] != idx[2] && idx[2] != idx[3] && idx[0] != idx[3]);
	CU_ASSERT_EQUAL(pc_dlp_pool_in_use(pool), 4);
	idx[4] = pc_dlp_pool_acquire(pool);
	CU_ASSERT_EQUAL(idx[4], PC_DLP_NO_STREAM); /* full: the caller fails closed */

	/* Interleaved bodies keep separate state: a secret split across two
	 * streams' chunks is found in neither. */
	struct pc_dlp_stream *s0 = pc_dlp_pool_stream(pool, idx[0]);
	struct pc_dlp_stream *s1 = pc_dlp_pool_stream(pool, idx[1]);
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(s0, s, "{\"k\":\"" "AKIA" "IOSF", 14), PC_DLP_NO_MATCH);
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(s1, s, "ODNN7EXAMPLE\"}", 14), PC_DLP_NO_MATCH);
	CU_ASSERT_EQUAL(pc_dlp_stream_scan(s0, s, "ODNN7EXAMPLE\"}", 14), 0);
	CU_ASSERT_EQUAL(pc_dlp_stream_result(s1), PC_DLP_NO_MATCH);

	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(pc_dlp_pool_release(pool, idx[i]), 0);
	CU_ASSERT_EQUAL(pc_dlp_pool_in_use(pool), 0);
	CU_ASSERT_EQUAL(pc_dlp_pool_release(pool, idx[0]), -EINVAL); /* double release */
	CU_ASSERT_EQUAL(pc_dlp_pool_release(pool, 4), -EINVAL);
	CU_ASSERT_EQUAL(pc_dlp_pool_release(pool, PC_DLP_NO_STREAM), -EINVAL);
	CU_ASSERT_EQUAL(pc_dlp_pool_in_use(pool), 0);

	/* Reuse: a stream that matched (and was terminated) starts clean, and
	 * a half-seen secret does not carry over to the next body. Many
	 * rounds, so that a per-body allocation would show under ASan. */
	unsigned wrong = 0;
	for (int round = 0; round < 2000; round++) {
		uint32_t a = pc_dlp_pool_acquire(pool);
		struct pc_dlp_stream *st = pc_dlp_pool_stream(pool, a);
		int r;
		/* The free list is LIFO, so each round reuses the stream the
		 * round before released. */
		switch (round % 5) {
		case 0:
		case 1: /* a stream terminated by its match must match again */
			r = pc_dlp_stream_scan(st, s, "x " "AKIA" "IOSFODNN7EXAMPLE", 22);
			wrong += r != 0;
			break;
		case 2:
			r = pc_dlp_stream_scan(st, s, "{\"k\":\"" "AKIA" "IOSF", 14);
			wrong += r != PC_DLP_NO_MATCH;
			break;
		case 3: /* the half key of round 2 is gone */
			r = pc_dlp_stream_scan(st, s, "ODNN7EXAMPLE\"}", 14);
			wrong += r != PC_DLP_NO_MATCH;
			break;
		default:
			r = pc_dlp_stream_scan(st, s, "{}", 2);
			wrong += r != PC_DLP_NO_MATCH;
			wrong += pc_dlp_stream_finish(st, s) != PC_DLP_NO_MATCH;
			break;
		}
		wrong += pc_dlp_pool_release(pool, a) != 0;
	}
	CU_ASSERT_EQUAL(wrong, 0);
	CU_ASSERT_EQUAL(pc_dlp_pool_in_use(pool), 0);
	CU_ASSERT_EQUAL(stream_allocs, 4); /* the pool's own four, nothing per body */
	struct pc_dlp_stream *one = pc_dlp_stream_open(db);
	CU_ASSERT_EQUAL(stream_allocs, 5); /* whereas open allocates */
	pc_dlp_stream_close(one);

	/* Freeing a pool with streams still in use closes them too. */
	pc_dlp_pool_acquire(pool);
	pc_dlp_pool_acquire(pool);
	CU_ASSERT_EQUAL(pc_dlp_pool_in_use(pool), 2);
	pc_dlp_pool_free(pool);
	pc_dlp_pool_free(NULL);
	hs_set_stream_allocator(NULL, NULL);
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_defaults_listed),
	PC_TEST(test_defaults_match_split),
	PC_TEST(test_byte_at_a_time),
	PC_TEST(test_lookalikes),
	PC_TEST(test_realistic_bodies),
	PC_TEST(test_extra_patterns),
	PC_TEST(test_end_anchored),
	PC_TEST(test_compile_errors),
	PC_TEST(test_blob_roundtrip),
	PC_TEST(test_blob_hostile),
	PC_TEST(test_blob_block_mode),
	PC_TEST(test_scratch_fit),
	PC_TEST(test_pool),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("dlp", tests)
