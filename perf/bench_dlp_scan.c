/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-bench-dlp-scan: what lib/dlp's Hyperscan scan costs per body
 * byte, alone (no EAL, no worker; portcullis-bench-dlp measures the same
 * scan inside the worker).
 *
 *   portcullis-bench-dlp-scan [--rounds N] [--body BYTES] [--chunk BYTES]
 *
 * A JSON-like body (default 64 KiB: chat messages, ids, numbers, a base64
 * attachment; no secret, so every byte is scanned) is scanned as the
 * dataplane scans it: a stream taken from a pool, the body in --chunk byte
 * pieces (default 1448, one full-MSS segment each), the stream given back.
 * Sets: the default patterns, and the defaults plus 10 extra patterns. For
 * comparison the same bytes are scanned whole in block mode (hs_scan) with
 * the same patterns. Each body is timed as a whole with lfence + rdtsc; the
 * figure is the median over --rounds bodies divided by the body length
 * (TSC cycles per byte). Output: one JSON line (perf/median.py reads it).
 */
#include <getopt.h>
#include <hs/hs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <x86intrin.h>

#include "dlp/dlp.h"

static const struct pc_dlp_pattern extra10[] = {
	{ "acme-token", "acme_[A-Za-z0-9]{32}" },
	{ "gitlab-pat", "glpat-[0-9A-Za-z_-]{20}" },
	{ "npm-token", "npm_[A-Za-z0-9]{36}" },
	{ "pypi-token", "pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}" },
	{ "sendgrid-key", "SG\\.[0-9A-Za-z_-]{22}\\.[0-9A-Za-z_-]{43}" },
	{ "twilio-key", "SK[0-9a-f]{32}" },
	{ "mailgun-key", "key-[0-9a-f]{32}" },
	{ "azure-sas", "sig=[0-9A-Za-z%]{40,}" },
	{ "db-url", "(?:postgres|mysql|mongodb)://[^:\\s\"]+:[^@\\s\"]+@" },
	{ "internal-host", "(?i)db-[0-9]+\\.corp\\.example" },
};

static __attribute__((noreturn)) void die(const char *what)
{
	fprintf(stderr, "portcullis-bench-dlp-scan: %s\n", what);
	exit(1);
}

static inline uint64_t tsc(void)
{
	_mm_lfence();
	uint64_t t = __rdtsc();
	_mm_lfence();
	return t;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Deterministic body text, looking like what agents send. */
static char *make_body(size_t len)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char *msgs[] = {
		"{\"role\":\"user\",\"content\":\"Summarise ticket 4711: the login page times out "
		"after the SSO update; users in eu-west-1 are affected since 09:42 UTC.\"},",
		"{\"role\":\"assistant\",\"content\":\"The timeout follows the certificate "
		"rotation. Request id 3f2b9c1e-8d4a-4f6b-9a7e-2c1d0e5f6a7b shows a 504.\"},",
		"{\"role\":\"tool\",\"tool_call_id\":\"call_9fceb02d0ae5\",\"content\":"
		"\"{\\\"rows\\\":[{\\\"id\\\":1842,\\\"score\\\":0.9312},{\\\"id\\\":77,"
		"\\\"score\\\":0.5110}]}\"},",
	};
	char *b = malloc(len + 1);
	size_t w = 0;
	uint32_t x = 2463534242u;
	unsigned i = 0;

	if (b == NULL)
		die("out of memory");
	w += (size_t)snprintf(b, len + 1, "{\"model\":\"small-2\",\"messages\":[");
	while (w < len) {
		if (i % 8 == 7) {
			/* A base64 attachment chunk. */
			const char *pre = "{\"role\":\"user\",\"content\":\"data:image/png;base64,";
			for (const char *p = pre; *p != '\0' && w < len; p++)
				b[w++] = *p;
			for (unsigned k = 0; k < 1200 && w < len; k++) {
				x ^= x << 13;
				x ^= x >> 17;
				x ^= x << 5;
				b[w++] = b64[x & 63];
			}
			for (const char *p = "\"},"; *p != '\0' && w < len; p++)
				b[w++] = *p;
		} else {
			for (const char *p = msgs[i % 3]; *p != '\0' && w < len; p++)
				b[w++] = *p;
		}
		i++;
	}
	b[len] = '\0';
	return b;
}

static double stream_cpb(const struct pc_dlp_pattern *extra, uint32_t n_extra, const char *body,
			 size_t len, size_t chunk, unsigned rounds)
{
	void *blob = NULL;
	size_t blob_len = 0;
	char err[256];
	if (pc_dlp_compile(extra, n_extra, true, &blob, &blob_len, err, sizeof(err)) != 0)
		die(err);
	struct pc_dlp_db *db = pc_dlp_db_load(blob, blob_len, err, sizeof(err));
	free(blob);
	if (db == NULL)
		die(err);
	struct pc_dlp_scratch *s = pc_dlp_scratch_new(db);
	struct pc_dlp_pool *pool = pc_dlp_pool_new(db, 16);
	uint64_t *t = calloc(rounds, sizeof(*t));
	if (s == NULL || pool == NULL || t == NULL)
		die("out of memory");

	for (unsigned r = 0; r < rounds + 8; r++) { /* 8 untimed warm-up bodies */
		uint64_t t0 = tsc();
		uint32_t idx = pc_dlp_pool_acquire(pool);
		struct pc_dlp_stream *st = pc_dlp_pool_stream(pool, idx);
		int m = PC_DLP_NO_MATCH;
		for (size_t off = 0; off < len && m == PC_DLP_NO_MATCH; off += chunk)
			m = pc_dlp_stream_scan(st, s, body + off, len - off < chunk ? len - off : chunk);
		pc_dlp_pool_release(pool, idx);
		uint64_t t1 = tsc();
		if (m != PC_DLP_NO_MATCH)
			die("the benchmark body matched a pattern");
		if (r >= 8)
			t[r - 8] = t1 - t0;
	}
	qsort(t, rounds, sizeof(*t), cmp_u64);
	double cpb = (double)t[rounds / 2] / (double)len;
	free(t);
	pc_dlp_pool_free(pool);
	pc_dlp_scratch_free(s);
	pc_dlp_db_free(db);
	return cpb;
}

static int on_block_match(unsigned int id, unsigned long long from, unsigned long long to,
			  unsigned int flags, void *ctx)
{
	(void)id, (void)from, (void)to, (void)flags;
	*(int *)ctx = 1;
	return 1;
}

static double block_cpb(const struct pc_dlp_pattern *extra, uint32_t n_extra, const char *body,
			size_t len, unsigned rounds)
{
	uint32_t n_def = 0;
	const struct pc_dlp_pattern *def = pc_dlp_default_patterns(&n_def);
	uint32_t n = n_def + n_extra;
	const char *exprs[64];
	unsigned flags[64], ids[64];
	for (uint32_t i = 0; i < n; i++) {
		exprs[i] = i < n_def ? def[i].regex : extra[i - n_def].regex;
		flags[i] = HS_FLAG_SINGLEMATCH;
		ids[i] = i;
	}
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;
	hs_scratch_t *s = NULL;
	if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_BLOCK, NULL, &db, &cerr) != HS_SUCCESS)
		die(cerr != NULL ? cerr->message : "block compile");
	if (hs_alloc_scratch(db, &s) != HS_SUCCESS)
		die("block scratch");
	uint64_t *t = calloc(rounds, sizeof(*t));
	if (t == NULL)
		die("out of memory");
	for (unsigned r = 0; r < rounds + 8; r++) {
		int hit = 0;
		uint64_t t0 = tsc();
		hs_scan(db, body, (unsigned)len, 0, s, on_block_match, &hit);
		uint64_t t1 = tsc();
		if (hit)
			die("the benchmark body matched a pattern");
		if (r >= 8)
			t[r - 8] = t1 - t0;
	}
	qsort(t, rounds, sizeof(*t), cmp_u64);
	double cpb = (double)t[rounds / 2] / (double)len;
	free(t);
	hs_free_scratch(s);
	hs_free_database(db);
	return cpb;
}

int main(int argc, char **argv)
{
	unsigned rounds = 400;
	size_t body_len = 64 * 1024, chunk = 1448;
	static const struct option opts[] = {
		{ "rounds", required_argument, NULL, 'r' },
		{ "body", required_argument, NULL, 'b' },
		{ "chunk", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		long v = optarg != NULL ? strtol(optarg, NULL, 10) : 0;
		switch (c) {
		case 'r':
			if (v < 1 || v > 1000000)
				die("--rounds: 1..1000000");
			rounds = (unsigned)v;
			break;
		case 'b':
			if (v < 64 || v > (1 << 26))
				die("--body: 64..67108864");
			body_len = (size_t)v;
			break;
		case 'c':
			if (v < 1 || v > 65535)
				die("--chunk: 1..65535");
			chunk = (size_t)v;
			break;
		default:
			die("usage: portcullis-bench-dlp-scan [--rounds N] [--body BYTES] [--chunk BYTES]");
		}
	}
	char *body = make_body(body_len);
	uint32_t n_def = 0;
	pc_dlp_default_patterns(&n_def);
	uint32_t n_extra = (uint32_t)(sizeof(extra10) / sizeof(extra10[0]));

	double sd = stream_cpb(NULL, 0, body, body_len, chunk, rounds);
	double sx = stream_cpb(extra10, n_extra, body, body_len, chunk, rounds);
	double bd = block_cpb(NULL, 0, body, body_len, rounds);
	double bx = block_cpb(extra10, n_extra, body, body_len, rounds);
	printf("{\"bench\":\"dlp_scan\",\"body_bytes\":%zu,\"chunk_bytes\":%zu,\"rounds\":%u,"
	       "\"patterns_default\":%u,\"patterns_extra\":%u,"
	       "\"stream_default_cpb\":%.3f,\"stream_default_plus10_cpb\":%.3f,"
	       "\"block_default_cpb\":%.3f,\"block_default_plus10_cpb\":%.3f}\n",
	       body_len, chunk, rounds, n_def, n_extra, sd, sx, bd, bx);
	free(body);
	return 0;
}
