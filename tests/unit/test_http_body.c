/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Tests for the request-body framing tracker. Every message, valid or not,
 * goes through check(): fed whole, split in two at every position, split in
 * three at every pair of positions (short messages), in 1-byte pieces and
 * in random pieces, the outcome (reason, absolute offset where the message
 * ended or the error sits, body data count) must be the same and equal to
 * the expected one. Each piece is copied into a heap buffer of exactly its
 * size, so a sanitizer build catches any read past a span.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_body.h"
#include "pc_test.h"

struct outcome {
	enum pc_http_body_reason r;
	size_t pos;        /* OK: bytes of the message; error: offset of the bad byte */
	uint64_t data;     /* pc_http_body_data_len() at the end */
};

struct framing {
	int64_t cl;
	bool chunked;
};

#define CHUNKED ((struct framing){ -1, true })
#define CL(n) ((struct framing){ (n), false })

/* Feed m[0..n) cut at cuts[0..ncuts) (increasing), stopping at the first
 * answer other than INCOMPLETE. */
static struct outcome feed_cuts(const char *m, size_t n, struct framing f, const size_t *cuts,
				size_t ncuts)
{
	struct pc_http_body b;
	struct outcome out = { PC_HTTP_BODY_INCOMPLETE, 0, 0 };
	size_t start = 0;

	pc_http_body_init(&b, f.cl, f.chunked);
	if (pc_http_body_done(&b)) {
		out.r = PC_HTTP_BODY_OK;
		return out;
	}
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : n, used = 999999;
		size_t len = end - start;
		char *span = malloc(len ? len : 1);

		CU_ASSERT_PTR_NOT_NULL_FATAL(span);
		memcpy(span, m + start, len);
		out.r = pc_http_body_feed(&b, span, len, &used);
		free(span);
		CU_ASSERT_TRUE(used <= len);
		out.data = pc_http_body_data_len(&b);
		if (out.r == PC_HTTP_BODY_INCOMPLETE) {
			CU_ASSERT_EQUAL(used, len);
			CU_ASSERT_FALSE(pc_http_body_done(&b));
			start = end;
			continue;
		}
		out.pos = start + used;
		CU_ASSERT_EQUAL(pc_http_body_done(&b), out.r == PC_HTTP_BODY_OK);
		return out;
	}
	out.pos = n;
	return out;
}

static uint32_t rng = 0x2545f491u;

static uint32_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static unsigned n_checked;

static bool same(struct outcome a, struct outcome b)
{
	return a.r == b.r && a.pos == b.pos && a.data == b.data;
}

static void report(const char *what, const char *m, struct outcome got, struct outcome want)
{
	fprintf(stderr, "\n  %s \"%.60s\": got %s at %zu data %llu, want %s at %zu data %llu\n",
		what, m, pc_http_body_reason_name(got.r), got.pos, (unsigned long long)got.data,
		pc_http_body_reason_name(want.r), want.pos, (unsigned long long)want.data);
}

/* The outcome of m[0..n) must be want however the stream is cut. */
static void check_n(const char *m, size_t n, struct framing f, struct outcome want)
{
	struct outcome whole = feed_cuts(m, n, f, NULL, 0);
	size_t *cuts = malloc((n + 1) * sizeof(*cuts));
	bool good = true;

	CU_ASSERT_PTR_NOT_NULL_FATAL(cuts);
	n_checked++;
	if (!same(whole, want)) {
		report("whole", m, whole, want);
		good = false;
	}
	for (size_t c = 0; c <= n && good; c++) {
		struct outcome o = feed_cuts(m, n, f, &c, 1);
		if (!same(o, want)) {
			report("split", m, o, want);
			fprintf(stderr, "  at %zu\n", c);
			good = false;
		}
	}
	/* Every split in three, where that stays cheap. */
	for (size_t c1 = 1; c1 < n && n <= 96 && good; c1++) {
		for (size_t c2 = c1; c2 < n && good; c2++) {
			size_t c[2] = { c1, c2 };
			struct outcome o = feed_cuts(m, n, f, c, 2);
			if (!same(o, want)) {
				report("3-split", m, o, want);
				good = false;
			}
		}
	}
	for (size_t k = 0; k < n; k++)
		cuts[k] = k + 1;
	if (good && n > 0) {
		struct outcome o = feed_cuts(m, n, f, cuts, n - 1);
		if (!same(o, want)) {
			report("bytewise", m, o, want);
			good = false;
		}
	}
	for (int iter = 0; iter < 20 && good; iter++) {
		size_t nc = 0, at = 0;
		while (n > 0) {
			at += 1 + next_rand() % 9;
			if (at >= n)
				break;
			cuts[nc++] = at;
		}
		struct outcome o = feed_cuts(m, n, f, cuts, nc);
		if (!same(o, want)) {
			report("random", m, o, want);
			good = false;
		}
	}
	free(cuts);
	CU_ASSERT_TRUE(good);
}

#define CHECK(lit, f, reason, pos, data)                                         \
	check_n((lit), sizeof(lit) - 1, (f),                                     \
		(struct outcome){ PC_HTTP_BODY_##reason, (pos), (data) })

/* A message and what follows it on the connection: OK at the join. */
#define CHECK_MSG(msg, next, f, data)                                            \
	CHECK(msg next, (f), OK, sizeof(msg) - 1, (data))

static const char next_req[] = "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";

static void test_content_length(void)
{
	CHECK_MSG("hello", "GET /next HTTP/1.1\r\n", CL(5), 5);
	CHECK_MSG("{\"model\":\"gpt-x\"}", "", CL(17), 17);
	/* Body bytes that look like framing are just data. */
	CHECK_MSG("0\r\n\r\n\n\r", "POST", CL(7), 7);
	/* Short of the length: all of it is body, more is needed. */
	CHECK("hel", CL(5), INCOMPLETE, 3, 3);
	CHECK("", CL(5), INCOMPLETE, 0, 0);
}

static void test_no_body(void)
{
	struct pc_http_body b;
	size_t used = 7;

	/* No framing at all and Content-Length: 0 are both empty bodies:
	 * whatever follows is the next request. */
	CU_ASSERT_EQUAL(pc_http_body_init(&b, -1, false), 0);
	CU_ASSERT_TRUE(pc_http_body_done(&b));
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, next_req, sizeof(next_req) - 1, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 0);

	CU_ASSERT_EQUAL(pc_http_body_init(&b, 0, false), 0);
	CU_ASSERT_TRUE(pc_http_body_done(&b));
	used = 7;
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "x", 1, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, 0);

	CHECK("GET / HTTP/1.1\r\n", CL(0), OK, 0, 0);
	CHECK("GET / HTTP/1.1\r\n", CL(-1), OK, 0, 0);
}

static void test_large_content_length(void)
{
	struct pc_http_body b;
	static char span[65536];
	size_t used;
	const int64_t cl = (int64_t)1 << 40;
	uint64_t fed = 0;

	CU_ASSERT_EQUAL(pc_http_body_init(&b, cl, false), 0);
	for (int k = 0; k < 1000; k++) {
		CU_ASSERT_EQUAL_FATAL(pc_http_body_feed(&b, span, sizeof(span), &used),
				      PC_HTTP_BODY_INCOMPLETE);
		fed += used;
	}
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), fed);
	CU_ASSERT_EQUAL(fed, 1000u * sizeof(span));

	/* INT64_MAX is a valid length; the tracker counts it down exactly. */
	CU_ASSERT_EQUAL(pc_http_body_init(&b, INT64_MAX, false), 0);
	b.remain = 3; /* as if all but 3 bytes had passed */
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "abcdef", 6, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, 3);
}

static void test_chunked_basic(void)
{
	CHECK_MSG("5\r\nhello\r\n0\r\n\r\n", "GET /next HTTP/1.1\r\n", CHUNKED, 5);
	CHECK_MSG("0\r\n\r\n", "", CHUNKED, 0);
	CHECK_MSG("000\r\n\r\n", "G", CHUNKED, 0);
	/* Multiple chunks, hex sizes in both cases, leading zeros. */
	CHECK_MSG("3\r\nabc\r\n0A\r\n0123456789\r\na\r\nABCDEFGHIJ\r\n"
		  "00001\r\nz\r\n0\r\n\r\n",
		  "POST / HTTP/1.1\r\n", CHUNKED, 24);
	/* Chunk data may hold CR, LF and anything else. */
	CHECK_MSG("7\r\n\r\n0\r\n\r\n\r\n0\r\n\r\n", "", CHUNKED, 7);
	/* Data bytes that spell a whole chunked body are still data. */
	CHECK_MSG("10\r\n0\r\n\r\nGET / HTTP/\r\n0\r\n\r\n", "X", CHUNKED, 16);
	/* The empty line some clients send after a body belongs to the next
	 * request (the head parser skips one), not to this message. */
	CHECK_MSG("1\r\nx\r\n0\r\n\r\n", "\r\nGET / HTTP/1.1\r\n", CHUNKED, 1);
	/* Incomplete at every framing step. */
	CHECK("5", CHUNKED, INCOMPLETE, 1, 0);
	CHECK("5\r", CHUNKED, INCOMPLETE, 2, 0);
	CHECK("5\r\nhel", CHUNKED, INCOMPLETE, 6, 3);
	CHECK("5\r\nhello", CHUNKED, INCOMPLETE, 8, 5);
	CHECK("5\r\nhello\r", CHUNKED, INCOMPLETE, 9, 5);
	CHECK("5\r\nhello\r\n0\r\n", CHUNKED, INCOMPLETE, 13, 5);
	CHECK("5\r\nhello\r\n0\r\n\r", CHUNKED, INCOMPLETE, 14, 5);
	CHECK("0\r\nX-A: b", CHUNKED, INCOMPLETE, 9, 0);
	CHECK("1;a=\"b", CHUNKED, INCOMPLETE, 6, 0);
	/* A 16-digit size below 2^63 is fine (and takes a while to send). */
	CHECK("7fffffffffffffff\r\nabc", CHUNKED, INCOMPLETE, 21, 3);
	CHECK("0000000000000001\r\nx\r\n0\r\n\r\n", CHUNKED, OK, 26, 1);
}

static void test_chunk_extensions(void)
{
	CHECK_MSG("5;name=value\r\nhello\r\n0\r\n\r\n", "G", CHUNKED, 5);
	CHECK_MSG("5;flag\r\nhello\r\n0;last\r\n\r\n", "G", CHUNKED, 5);
	CHECK_MSG("5;a;b=c;d=\"\";e=\"x\"\r\nhello\r\n0\r\n\r\n", "", CHUNKED, 5);
	/* BWS around ';' and '=' (RFC 9112 §7.1.1), as ICAP's "0; ieof". */
	CHECK_MSG("5 ;\tname = value ; other\t=\t\"v\"\r\nhello\r\n0; ieof\r\n\r\n", "",
		  CHUNKED, 5);
	/* quoted-string with quoted-pairs, separators and obs-text inside. */
	CHECK_MSG("5;q=\"a \\\"quoted\\\" \\\\ str; x=y \\\x80\xff\"\r\nhello\r\n0\r\n\r\n",
		  "G", CHUNKED, 5);
	/* A SigV4 streaming-upload style signature. */
	CHECK_MSG("3;chunk-signature=0123456789abcdef0123456789abcdef0123456789abcdef"
		  "0123456789abcdef\r\nabc\r\n0;chunk-signature=00\r\n\r\n",
		  "", CHUNKED, 3);
}

static void test_trailers(void)
{
	CHECK_MSG("5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", "GET", CHUNKED, 5);
	CHECK_MSG("0\r\nA: 1\r\nB:\r\nC-d:  spaced value \t\r\nE: \x80\xff\r\n\r\n", "", CHUNKED,
		  0);
	/* Names that only start like a forbidden one are fine. */
	CHECK_MSG("0\r\nContent-Lengthx: 1\r\nHos: x\r\nHostname: y\r\n"
		  "Content-Type: a\r\nTransfer: b\r\n\r\n",
		  "", CHUNKED, 0);
}

static void test_trailer_bounds(void)
{
	static char m[PC_HTTP_BODY_MAX_TRAILER_BYTES + 64];
	size_t n;

	/* Exactly PC_HTTP_BODY_MAX_TRAILERS field lines pass; one more fails
	 * at the first byte of its name. */
	n = (size_t)snprintf(m, sizeof(m), "0\r\n");
	for (int k = 0; k < PC_HTTP_BODY_MAX_TRAILERS; k++)
		n += (size_t)snprintf(m + n, sizeof(m) - n, "T%d: v\r\n", k);
	size_t extra = n;
	strcpy(m + n, "\r\n");
	check_n(m, n + 2, CHUNKED, (struct outcome){ PC_HTTP_BODY_OK, n + 2, 0 });
	strcpy(m + extra, "X: y\r\n\r\n");
	check_n(m, extra + 8, CHUNKED, (struct outcome){ PC_HTTP_BODY_TOO_MANY_TRAILERS, extra, 0 });

	/* The trailer section, final CRLF included, may be exactly
	 * PC_HTTP_BODY_MAX_TRAILER_BYTES long. */
	n = (size_t)snprintf(m, sizeof(m), "0\r\nX: ");
	size_t fill = PC_HTTP_BODY_MAX_TRAILER_BYTES - (3 + 2 + 2); /* "X: " CRLF CRLF */
	memset(m + n, 'v', fill);
	n += fill;
	memcpy(m + n, "\r\n\r\n", 4);
	n += 4;
	CU_ASSERT_EQUAL(n - 3, PC_HTTP_BODY_MAX_TRAILER_BYTES);
	check_n(m, n, CHUNKED, (struct outcome){ PC_HTTP_BODY_OK, n, 0 });
	/* One byte more and the byte past the bound is the error. */
	memmove(m + 7, m + 6, n - 6);
	n++;
	check_n(m, n, CHUNKED,
		(struct outcome){ PC_HTTP_BODY_TRAILERS_TOO_LARGE, 3 + PC_HTTP_BODY_MAX_TRAILER_BYTES, 0 });
}

static void test_extension_bounds(void)
{
	static char m[PC_HTTP_BODY_MAX_CHUNK_EXT + 64];
	size_t n;

	/* The extension (from the byte after the size to the CR) may be
	 * exactly PC_HTTP_BODY_MAX_CHUNK_EXT bytes. */
	m[0] = '1';
	m[1] = ';';
	memset(m + 2, 'e', PC_HTTP_BODY_MAX_CHUNK_EXT - 1);
	n = 1 + PC_HTTP_BODY_MAX_CHUNK_EXT;
	memcpy(m + n, "\r\nx\r\n0\r\n\r\n", 10);
	check_n(m, n + 10, CHUNKED, (struct outcome){ PC_HTTP_BODY_OK, n + 10, 1 });
	/* One more byte of extension fails at that byte. */
	memmove(m + 3, m + 2, n + 10 - 2);
	check_n(m, n + 11, CHUNKED,
		(struct outcome){ PC_HTTP_BODY_CHUNK_EXT_TOO_LONG, 1 + PC_HTTP_BODY_MAX_CHUNK_EXT, 0 });
}

/* The extension bound is per chunk line: many lines of maximal extensions
 * are fine. */
static void test_extension_bound_per_line(void)
{
	struct pc_http_body b;
	char line[PC_HTTP_BODY_MAX_CHUNK_EXT + 16];
	size_t used, ll = 1 + PC_HTTP_BODY_MAX_CHUNK_EXT + 5;

	line[0] = '1';
	line[1] = ';';
	memset(line + 2, 'e', PC_HTTP_BODY_MAX_CHUNK_EXT - 1);
	memcpy(line + 1 + PC_HTTP_BODY_MAX_CHUNK_EXT, "\r\nx\r\n", 5);
	CU_ASSERT_EQUAL(pc_http_body_init(&b, -1, true), 0);
	for (int k = 0; k < 50; k++) {
		CU_ASSERT_EQUAL_FATAL(pc_http_body_feed(&b, line, ll, &used), PC_HTTP_BODY_INCOMPLETE);
		CU_ASSERT_EQUAL(used, ll);
	}
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "0\r\n\r\n", 5, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 50);
}

static void test_bad_chunk_size(void)
{
	CHECK("g\r\n", CHUNKED, BAD_CHUNK_SIZE, 0, 0);
	CHECK("5g\r\n", CHUNKED, BAD_CHUNK_SIZE, 1, 0);
	CHECK("\r\n", CHUNKED, BAD_CHUNK_SIZE, 0, 0);
	CHECK("-1\r\n", CHUNKED, BAD_CHUNK_SIZE, 0, 0);
	CHECK("+1\r\n", CHUNKED, BAD_CHUNK_SIZE, 0, 0);
	CHECK("0x5\r\nhello\r\n0\r\n\r\n", CHUNKED, BAD_CHUNK_SIZE, 1, 0);
	CHECK(" 5\r\nhello\r\n", CHUNKED, BAD_CHUNK_SIZE, 0, 0);
	CHECK("\t5\r\nhello\r\n", CHUNKED, BAD_CHUNK_SIZE, 0, 0);
	CHECK(";a\r\n", CHUNKED, BAD_CHUNK_SIZE, 0, 0);
	CHECK("5,3\r\n", CHUNKED, BAD_CHUNK_SIZE, 1, 0);
	/* The next chunk's size is checked as strictly as the first. */
	CHECK("1\r\nx\r\n 0\r\n\r\n", CHUNKED, BAD_CHUNK_SIZE, 6, 1);
	CHECK("1\r\nx\r\n\r\n", CHUNKED, BAD_CHUNK_SIZE, 6, 1);
	/* 17 digits, even of leading zeros, are too many. */
	CHECK("00000000000000001\r\nx\r\n", CHUNKED, CHUNK_SIZE_TOO_LONG, 16, 0);
	CHECK("fffffffffffffffff\r\n", CHUNKED, CHUNK_SIZE_OVERFLOW, 15, 0);
	/* 2^63 and above would wrap a signed 64-bit size. */
	CHECK("8000000000000000\r\n", CHUNKED, CHUNK_SIZE_OVERFLOW, 15, 0);
	CHECK("ffffffffffffffff\r\n", CHUNKED, CHUNK_SIZE_OVERFLOW, 15, 0);
	CHECK("10000000000000000\r\n", CHUNKED, CHUNK_SIZE_TOO_LONG, 16, 0);
}

static void test_bad_chunk_ext(void)
{
	/* Whitespace after the size is BWS of an extension: it needs one. */
	CHECK("5 \r\nhello\r\n", CHUNKED, BAD_CHUNK_EXT, 2, 0);
	CHECK("5;\r\nhello\r\n", CHUNKED, BAD_CHUNK_EXT, 2, 0);
	CHECK("5;=v\r\n", CHUNKED, BAD_CHUNK_EXT, 2, 0);
	CHECK("5;a=\r\n", CHUNKED, BAD_CHUNK_EXT, 4, 0);
	CHECK("5;a \r\n", CHUNKED, BAD_CHUNK_EXT, 4, 0);
	CHECK("5;a b\r\n", CHUNKED, BAD_CHUNK_EXT, 4, 0);
	CHECK("5;a=b c\r\n", CHUNKED, BAD_CHUNK_EXT, 6, 0);
	CHECK("5;a=b \r\n", CHUNKED, BAD_CHUNK_EXT, 6, 0);
	CHECK("5;a=\"v\" \r\n", CHUNKED, BAD_CHUNK_EXT, 8, 0);
	CHECK("5;a=\"x\"y\r\n", CHUNKED, BAD_CHUNK_EXT, 7, 0);
	CHECK("5;a=\"x\r\n", CHUNKED, BAD_CHUNK_EXT, 6, 0);
	CHECK("5;a=\"\x01\"\r\n", CHUNKED, BAD_CHUNK_EXT, 5, 0);
	CHECK("5;a=\"\\\x7f\"\r\n", CHUNKED, BAD_CHUNK_EXT, 6, 0);
	CHECK("5;a=\"\\\r\"\r\n", CHUNKED, BAD_CHUNK_EXT, 6, 0);
	CHECK("5;a=b=c\r\n", CHUNKED, BAD_CHUNK_EXT, 5, 0);
	CHECK("5;a,b\r\n", CHUNKED, BAD_CHUNK_EXT, 3, 0);
	CHECK("5;a=\x80\r\n", CHUNKED, BAD_CHUNK_EXT, 4, 0);
	CHECK("5;a\x01\r\n", CHUNKED, BAD_CHUNK_EXT, 3, 0);
}

static void test_bad_line_endings(void)
{
	/* Bare LF wherever a line ends (RFC 9112 §2.2, §7.1). */
	CHECK("5\nhello\r\n0\r\n\r\n", CHUNKED, BARE_LF, 1, 0);
	CHECK("5;a=b\nhello\r\n", CHUNKED, BARE_LF, 5, 0);
	CHECK("5;a=\"\n\"\r\n", CHUNKED, BARE_LF, 5, 0);
	CHECK("5\r\nhello\n0\r\n\r\n", CHUNKED, BARE_LF, 8, 5);
	CHECK("5\r\nhello\r\n0\n\r\n", CHUNKED, BARE_LF, 11, 5);
	CHECK("0\r\n\n", CHUNKED, BARE_LF, 3, 0);
	CHECK("0\r\nA: b\n\r\n", CHUNKED, BARE_LF, 7, 0);
	CHECK("0\r\nA\n", CHUNKED, BARE_LF, 4, 0);
	CHECK("\n", CHUNKED, BARE_LF, 0, 0);
	/* Bare CR: a CR not followed by LF. */
	CHECK("5\rhello\r\n", CHUNKED, BARE_CR, 2, 0);
	CHECK("5\r\r\n", CHUNKED, BARE_CR, 2, 0);
	CHECK("5\r\nhello\r\r\n", CHUNKED, BARE_CR, 9, 5);
	CHECK("5\r\nhello\rX", CHUNKED, BARE_CR, 9, 5);
	CHECK("0\r\nA: b\rC: d\r\n\r\n", CHUNKED, BARE_CR, 8, 0);
	CHECK("0\r\n\r\r\n", CHUNKED, BARE_CR, 4, 0);
	CHECK("0\r\n\rX", CHUNKED, BARE_CR, 4, 0);
	/* chunk-data must be followed by CRLF exactly: more data than the
	 * size says (or nothing) is a framing disagreement. */
	CHECK("5\r\nhelloX\r\n0\r\n\r\n", CHUNKED, MISSING_CHUNK_CRLF, 8, 5);
	CHECK("5\r\nhello world\r\n", CHUNKED, MISSING_CHUNK_CRLF, 8, 5);
	CHECK("5\r\nhello0\r\n\r\n", CHUNKED, MISSING_CHUNK_CRLF, 8, 5);
	CHECK("1\r\nx \r\n", CHUNKED, MISSING_CHUNK_CRLF, 4, 1);
}

static void test_bad_trailers(void)
{
	CHECK("0\r\nA: b\r\n c\r\n\r\n", CHUNKED, TRAILER_OBS_FOLD, 9, 0);
	CHECK("0\r\nA: b\r\n\tc\r\n\r\n", CHUNKED, TRAILER_OBS_FOLD, 9, 0);
	CHECK("0\r\n A: b\r\n\r\n", CHUNKED, BAD_TRAILER, 3, 0);
	CHECK("0\r\nA : b\r\n\r\n", CHUNKED, BAD_TRAILER, 4, 0);
	CHECK("0\r\n: b\r\n\r\n", CHUNKED, BAD_TRAILER, 3, 0);
	CHECK("0\r\nBad Name: b\r\n\r\n", CHUNKED, BAD_TRAILER, 6, 0);
	CHECK("0\r\nA: \x01\r\n\r\n", CHUNKED, BAD_TRAILER, 6, 0);
	CHECK("0\r\nA: \x7f\r\n\r\n", CHUNKED, BAD_TRAILER, 6, 0);
	CHECK("0\r\nA\r\n\r\n", CHUNKED, BAD_TRAILER, 4, 0);
	CHECK("0\r\n(A): b\r\n\r\n", CHUNKED, BAD_TRAILER, 3, 0);
	CHECK("0\r\nA: b\r\nX\x80: y\r\n\r\n", CHUNKED, BAD_TRAILER, 10, 0);
	/* Framing and routing fields may not arrive late. */
	CHECK("0\r\nContent-Length: 5\r\n\r\n", CHUNKED, FORBIDDEN_TRAILER, 17, 0);
	CHECK("0\r\ncontent-length:5\r\n\r\n", CHUNKED, FORBIDDEN_TRAILER, 17, 0);
	CHECK("0\r\nContent_Length: 5\r\n\r\n", CHUNKED, FORBIDDEN_TRAILER, 17, 0);
	CHECK("0\r\nTransfer-Encoding: chunked\r\n\r\n", CHUNKED, FORBIDDEN_TRAILER, 20, 0);
	CHECK("0\r\nA: b\r\nHOST: evil\r\n\r\n", CHUNKED, FORBIDDEN_TRAILER, 13, 0);
}

static void test_pipelined_next_request(void)
{
	/* Two chunked requests back to back: the first ends where the second
	 * head starts, and a fresh tracker takes the second body. */
	static const char m[] = "4\r\nwiki\r\n0\r\n\r\n"
				"POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
				"3\r\nabc\r\n0\r\n\r\n";
	struct pc_http_body b;
	size_t used;
	const char *second = strstr(m, "3\r\nabc");

	CU_ASSERT_EQUAL(pc_http_body_init(&b, -1, true), 0);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, m, sizeof(m) - 1, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, 14);
	CU_ASSERT_EQUAL(memcmp(m + used, "POST", 4), 0);
	/* Done is sticky: nothing more is taken. */
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, m + used, sizeof(m) - 1 - used, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, 0);

	CU_ASSERT_EQUAL(pc_http_body_init(&b, -1, true), 0);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, second, strlen(second), &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, strlen(second));
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 3);

	/* A Content-Length body followed by the next head in the same span. */
	CU_ASSERT_EQUAL(pc_http_body_init(&b, 4, false), 0);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "wikiGET / HTTP/1.1\r\n", 20, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, 4);
}

static void test_data_count_running(void)
{
	struct pc_http_body b;
	size_t used;

	/* The data count advances with the data only, never the framing. */
	CU_ASSERT_EQUAL(pc_http_body_init(&b, -1, true), 0);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "5;x=\"y\"\r\nhe", 11, &used), PC_HTTP_BODY_INCOMPLETE);
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 2);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "llo\r\n", 5, &used), PC_HTTP_BODY_INCOMPLETE);
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 5);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "a\r\n0123", 7, &used), PC_HTTP_BODY_INCOMPLETE);
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 9);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "456789\r\n0\r\nT: 1\r\n", 17, &used),
			PC_HTTP_BODY_INCOMPLETE);
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 15);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "\r\n", 2, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(pc_http_body_data_len(&b), 15);
	CU_ASSERT_TRUE(pc_http_body_done(&b));
}

static void test_errors_are_sticky(void)
{
	struct pc_http_body b;
	size_t used;

	CU_ASSERT_EQUAL(pc_http_body_init(&b, -1, true), 0);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "5\r\nhelloXX", 10, &used), PC_HTTP_BODY_MISSING_CHUNK_CRLF);
	CU_ASSERT_EQUAL(used, 8);
	CU_ASSERT_FALSE(pc_http_body_done(&b));
	/* Valid-looking bytes afterwards do not revive it. */
	used = 99;
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "\r\n0\r\n\r\n", 7, &used), PC_HTTP_BODY_MISSING_CHUNK_CRLF);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "", 0, &used), PC_HTTP_BODY_MISSING_CHUNK_CRLF);
}

static void test_init_rejects_bad_framing(void)
{
	struct pc_http_body b;
	size_t used = 99;

	/* Both Content-Length and chunked: the head parser rejects it; a
	 * caller that did not still gets no framing to trust. */
	CU_ASSERT_EQUAL(pc_http_body_init(&b, 5, true), -EINVAL);
	CU_ASSERT_FALSE(pc_http_body_done(&b));
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "5\r\nhello\r\n0\r\n\r\n", 15, &used),
			PC_HTTP_BODY_BAD_FRAMING);
	CU_ASSERT_EQUAL(used, 0);
	CU_ASSERT_EQUAL(pc_http_body_init(&b, 0, true), -EINVAL);
	CU_ASSERT_EQUAL(pc_http_body_init(&b, -2, false), -EINVAL);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "x", 1, &used), PC_HTTP_BODY_BAD_FRAMING);
	CU_ASSERT_EQUAL(pc_http_body_init(&b, INT64_MIN, false), -EINVAL);
	/* Re-init clears the error. */
	CU_ASSERT_EQUAL(pc_http_body_init(&b, 1, false), 0);
	CU_ASSERT_EQUAL(pc_http_body_feed(&b, "xy", 2, &used), PC_HTTP_BODY_OK);
	CU_ASSERT_EQUAL(used, 1);
}

/* Random bytes from a framing-heavy alphabet: whatever the outcome, it is
 * the same for every cut, and an error sits inside the input. */
static void test_random_streams_split_invariant(void)
{
	static const char alpha[] = "0123456789aAfFgx;= \t\"\\\r\n\r\n\r\n:;-Tt";
	char m[48];
	unsigned by_reason[PC_HTTP_BODY_REASON_COUNT] = { 0 };

	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 1 + next_rand() % (sizeof(m) - 1);
		for (size_t k = 0; k < n; k++)
			m[k] = alpha[next_rand() % (sizeof(alpha) - 1)];
		/* Start most streams with a valid size line so the later states
		 * get exercised too. */
		if (iter % 2 == 0 && n > 4)
			memcpy(m, iter % 4 ? "2\r\n" : "0\r\n", 3);
		struct outcome whole = feed_cuts(m, n, CHUNKED, NULL, 0);
		CU_ASSERT_TRUE(whole.pos <= n);
		CU_ASSERT_TRUE(whole.r != PC_HTTP_BODY_INCOMPLETE || whole.pos == n);
		by_reason[whole.r]++;
		check_n(m, n, CHUNKED, whole);
	}
	/* The corpus reached a completed message and several errors. */
	CU_ASSERT_TRUE(by_reason[PC_HTTP_BODY_OK] > 0);
	CU_ASSERT_TRUE(by_reason[PC_HTTP_BODY_BARE_LF] > 0);
	CU_ASSERT_TRUE(by_reason[PC_HTTP_BODY_BAD_CHUNK_SIZE] > 0);
	CU_ASSERT_TRUE(by_reason[PC_HTTP_BODY_BAD_TRAILER] > 0);
}

static void test_state_is_small(void)
{
	CU_ASSERT_TRUE(sizeof(struct pc_http_body) <= 32);
}

static void test_reason_names(void)
{
	CU_ASSERT_STRING_EQUAL(pc_http_body_reason_name(PC_HTTP_BODY_OK), "ok");
	CU_ASSERT_STRING_EQUAL(pc_http_body_reason_name(PC_HTTP_BODY_BARE_LF), "http_body_bare_lf");
	for (int r = 0; r < PC_HTTP_BODY_REASON_COUNT; r++) {
		const char *a = pc_http_body_reason_name(r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		CU_ASSERT_TRUE(r == PC_HTTP_BODY_OK || strncmp(a, "http_body_", 10) == 0);
		for (int s = r + 1; s < PC_HTTP_BODY_REASON_COUNT; s++)
			CU_ASSERT_STRING_NOT_EQUAL(a, pc_http_body_reason_name(s));
	}
	CU_ASSERT_PTR_NOT_NULL(pc_http_body_reason_name(PC_HTTP_BODY_REASON_COUNT));
}

static void test_split_count(void)
{
	/* The split checks above really ran (guards against a table that
	 * silently shrank). */
	CU_ASSERT_TRUE(n_checked > 100);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_content_length),
	PC_TEST(test_no_body),
	PC_TEST(test_large_content_length),
	PC_TEST(test_chunked_basic),
	PC_TEST(test_chunk_extensions),
	PC_TEST(test_trailers),
	PC_TEST(test_trailer_bounds),
	PC_TEST(test_extension_bounds),
	PC_TEST(test_extension_bound_per_line),
	PC_TEST(test_bad_chunk_size),
	PC_TEST(test_bad_chunk_ext),
	PC_TEST(test_bad_line_endings),
	PC_TEST(test_bad_trailers),
	PC_TEST(test_pipelined_next_request),
	PC_TEST(test_data_count_running),
	PC_TEST(test_errors_are_sticky),
	PC_TEST(test_init_rejects_bad_framing),
	PC_TEST(test_random_streams_split_invariant),
	PC_TEST(test_state_is_small),
	PC_TEST(test_reason_names),
	PC_TEST(test_split_count),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("http_body", tests)
