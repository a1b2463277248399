/* SPDX-License-Identifier: BSD-3-Clause
 *
 * DLP pattern sets: compile, serialize, validate, and scan in stream mode.
 * The design (why streams, why a pool reset in place) is in dlp.h.
 *
 * The blob is a fixed header, the pattern names (count NUL-terminated
 * strings), then the bytes of hs_serialize_database(). It is made and read
 * on the same machine architecture (the Hyperscan bytes are not portable
 * anyway), so header fields are in host byte order. A crc32 over the whole
 * blob (the crc field read as zero) catches corruption anywhere, names
 * included, before Hyperscan is handed a single byte; Hyperscan then checks
 * its own version, platform and bytecode.
 *
 * The default patterns favour precision over recall: each starts with a
 * prefix that ordinary JSON does not contain (AKIA, AIza, ghp_, xoxb-,
 * sk_live_, -----BEGIN, eyJ...). None carries a word-boundary assertion: in a
 * JSON string a secret often follows an escape such as "\n", whose 'n' is a
 * word character, so a leading \b would miss it; a trailing one would defer
 * the match to the next byte, or to the end of the body.
 */
#include <errno.h>
#include <hs/hs.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "dlp/dlp.h"
#include "util/pc_types.h"

#define PC_DLP_MAGIC "PCDLPDB"  /* 7 bytes + NUL */
#define PC_DLP_BLOB_VERSION 1u

struct pc_dlp_blob_hdr {
	char magic[8];
	uint32_t version;
	uint32_t count;     /* patterns == names */
	uint32_t names_len; /* bytes of the names area, NULs included */
	uint32_t crc;       /* crc32 of the whole blob with this field zero */
	uint64_t hs_len;    /* bytes of the serialized Hyperscan database */
};
_Static_assert(sizeof(struct pc_dlp_blob_hdr) == 32, "blob header layout");

struct pc_dlp_db {
	hs_database_t *hs;
	size_t stream_size;
	uint32_t count;
	unsigned refs;      /* pc_dlp_db_ref(); the last pc_dlp_db_free() frees */
	size_t blob_len;    /* the blob it was loaded from, for pc_dlp_db_same() */
	uint8_t *blob;
	const char **names; /* count pointers into the names area below */
};

struct pc_dlp_scratch {
	hs_scratch_t *hs;
};

struct pc_dlp_stream {
	hs_stream_t *hs;
	int32_t result;   /* PC_DLP_NO_MATCH or the first pattern id */
	uint8_t finished; /* end of body seen: no more data */
	uint8_t in_use;   /* pool streams: acquired and not released */
};

struct pc_dlp_pool {
	const struct pc_dlp_db *db;
	uint32_t n;
	uint32_t n_free;
	uint16_t *free_stack; /* indexes of free streams; top at n_free - 1 */
	struct pc_dlp_stream *streams;
};

/* Names stay short enough for the decision log's dlp_pattern field. */
static const struct pc_dlp_pattern default_patterns[] = {
	/* Access key ids: long-term (AKIA) and temporary (ASIA) credentials. */
	{ "aws-access-key-id", "(?:AKIA|ASIA)[0-9A-Z]{16}" },
	{ "google-api-key", "AIza[0-9A-Za-z_-]{35}" },
	/* Personal, OAuth, server-to-server, user-to-server, refresh. */
	{ "github-token", "gh[pousr]_[0-9A-Za-z]{36}" },
	/* Bot, app, user, refresh tokens: xoxb-<team digits>-<more>. */
	{ "slack-token", "xox[abpr]-[0-9]{8,}-[0-9A-Za-z-]{8,}" },
	{ "stripe-live-key", "[sr]k_live_[0-9A-Za-z]{24,}" },
	/* PKCS#1 (RSA), SEC1 (EC), DSA, OpenSSH, PKCS#8 plain and encrypted;
	 * RFC 7468 section 2 labels. Certificates and public keys differ. */
	{ "private-key", "-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED )?PRIVATE KEY-----" },
	/* RFC 7519 compact JWS: a JSON header ({" is eyJ in base64url), a
	 * payload and a signature, separated by dots (RFC 7515 section 7.1).
	 * The minimum lengths skip unsigned ("alg": "none") tokens and short
	 * dotted identifiers. */
	{ "jwt", "eyJ[0-9A-Za-z_-]{10,}\\.[0-9A-Za-z_-]{10,}\\.[0-9A-Za-z_-]{16,}" },
};

const struct pc_dlp_pattern *pc_dlp_default_patterns(uint32_t *n)
{
	if (n != NULL)
		*n = (uint32_t)PC_ARRAY_SIZE(default_patterns);
	return default_patterns;
}

static void set_err(char *err, size_t err_len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t err_len, const char *fmt, ...)
{
	if (err == NULL || err_len == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, err_len, fmt, ap);
	va_end(ap);
}

static bool name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.';
}

/* Returns the name's length, or 0 when it is not a valid pattern name. */
static size_t name_check(const char *name, size_t max)
{
	size_t i;

	for (i = 0; i < max && name[i] != '\0'; i++)
		if (!name_char_ok(name[i]))
			return 0;
	if (i > PC_DLP_NAME_MAX || (i < max && name[i] != '\0') || i == max)
		return 0;
	return i;
}

static uint32_t blob_crc(const uint8_t *p, size_t len)
{
	struct pc_dlp_blob_hdr h;
	uLong crc;

	memcpy(&h, p, sizeof(h));
	h.crc = 0;
	crc = crc32(0L, (const Bytef *)&h, sizeof(h));
	p += sizeof(h);
	len -= sizeof(h);
	/* zlib takes uInt lengths; a blob may in principle exceed 4 GiB. */
	while (len > 0) {
		uInt chunk = len > UINT_MAX ? UINT_MAX : (uInt)len;
		crc = crc32(crc, p, chunk);
		p += chunk;
		len -= chunk;
	}
	return (uint32_t)crc;
}

int pc_dlp_compile(const struct pc_dlp_pattern *extra, uint32_t n_extra, bool with_defaults,
		   void **blob, size_t *blob_len, char *err, size_t err_len)
{
	uint32_t n_def = with_defaults ? (uint32_t)PC_ARRAY_SIZE(default_patterns) : 0;
	const struct pc_dlp_pattern *pats[PC_DLP_MAX_PATTERNS];
	const char *exprs[PC_DLP_MAX_PATTERNS];
	unsigned flags[PC_DLP_MAX_PATTERNS], ids[PC_DLP_MAX_PATTERNS];
	size_t names_len = 0;
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;
	char *hs_bytes = NULL;
	size_t hs_len = 0;
	uint8_t *out = NULL;
	int rc;

	if (blob == NULL || blob_len == NULL || (extra == NULL && n_extra > 0)) {
		set_err(err, err_len, "dlp: invalid arguments");
		return -EINVAL;
	}
	*blob = NULL;
	*blob_len = 0;
	if (n_def + (uint64_t)n_extra == 0) {
		set_err(err, err_len, "dlp: no patterns (no defaults and no extra patterns)");
		return -EINVAL;
	}
	if (n_def + (uint64_t)n_extra > PC_DLP_MAX_PATTERNS) {
		set_err(err, err_len, "dlp: %u patterns, at most %u (with the %u defaults)",
			n_def + n_extra, PC_DLP_MAX_PATTERNS, n_def);
		return -EINVAL;
	}
	uint32_t n = n_def + n_extra;
	for (uint32_t i = 0; i < n; i++) {
		const struct pc_dlp_pattern *pp = i < n_def ? &default_patterns[i] : &extra[i - n_def];
		size_t nl = pp->name != NULL ? name_check(pp->name, PC_DLP_NAME_MAX + 1) : 0;

		if (nl == 0) {
			set_err(err, err_len,
				"dlp: pattern #%u: name \"%.*s\" must be 1..%u characters of A-Z a-z 0-9 . _ -",
				i - n_def, pp->name != NULL ? (int)PC_DLP_NAME_MAX + 1 : 0,
				pp->name != NULL ? pp->name : "", PC_DLP_NAME_MAX);
			return -EINVAL;
		}
		if (pp->regex == NULL || pp->regex[0] == '\0' ||
		    strnlen(pp->regex, PC_DLP_REGEX_MAX + 1) > PC_DLP_REGEX_MAX) {
			set_err(err, err_len, "dlp: pattern \"%s\": regex must be 1..%u bytes",
				pp->name, PC_DLP_REGEX_MAX);
			return -EINVAL;
		}
		for (uint32_t j = 0; j < i; j++) {
			if (strcmp(pats[j]->name, pp->name) == 0) {
				set_err(err, err_len, "dlp: pattern \"%s\": duplicate name%s", pp->name,
					j < n_def ? " (a default pattern has it)" : "");
				return -EINVAL;
			}
		}
		pats[i] = pp;
		exprs[i] = pp->regex;
		/* SINGLEMATCH: one report per pattern is all DLP needs, and
		 * it lets Hyperscan drop a pattern's state once it fired. */
		flags[i] = HS_FLAG_SINGLEMATCH;
		ids[i] = i;
		names_len += nl + 1;
	}

	if (hs_compile_multi(exprs, flags, ids, n, HS_MODE_STREAM, NULL, &db, &cerr) != HS_SUCCESS) {
		if (cerr != NULL && cerr->expression >= 0 && (uint32_t)cerr->expression < n)
			set_err(err, err_len, "dlp: pattern \"%s\": %s", pats[cerr->expression]->name,
				cerr->message);
		else
			set_err(err, err_len, "dlp: compiling the pattern set: %s",
				cerr != NULL ? cerr->message : "unknown error");
		hs_free_compile_error(cerr);
		return -EINVAL;
	}
	if (hs_serialize_database(db, &hs_bytes, &hs_len) != HS_SUCCESS) {
		set_err(err, err_len, "dlp: serializing the database failed");
		rc = -EIO;
		goto out;
	}

	size_t total = sizeof(struct pc_dlp_blob_hdr) + names_len + hs_len;
	out = malloc(total);
	if (out == NULL) {
		set_err(err, err_len, "dlp: out of memory (%zu bytes)", total);
		rc = -ENOMEM;
		goto out;
	}
	struct pc_dlp_blob_hdr h;
	memset(&h, 0, sizeof(h));
	memcpy(h.magic, PC_DLP_MAGIC, sizeof(h.magic));
	h.version = PC_DLP_BLOB_VERSION;
	h.count = n;
	h.names_len = (uint32_t)names_len;
	h.hs_len = hs_len;
	memcpy(out, &h, sizeof(h));
	uint8_t *w = out + sizeof(h);
	for (uint32_t i = 0; i < n; i++) {
		size_t nl = strlen(pats[i]->name) + 1;
		memcpy(w, pats[i]->name, nl);
		w += nl;
	}
	memcpy(w, hs_bytes, hs_len);
	h.crc = blob_crc(out, total);
	memcpy(out + offsetof(struct pc_dlp_blob_hdr, crc), &h.crc, sizeof(h.crc));
	*blob = out;
	*blob_len = total;
	rc = 0;
out:
	free(hs_bytes); /* allocated by Hyperscan's misc allocator: malloc */
	hs_free_database(db);
	return rc;
}

static const char *hs_load_error(hs_error_t e)
{
	switch (e) {
	case HS_DB_VERSION_ERROR:
		return "built by another Hyperscan version";
	case HS_DB_PLATFORM_ERROR:
		return "built for another platform (CPU features)";
	case HS_NOMEM:
		return "out of memory";
	case HS_BAD_ALIGN:
		return "misaligned";
	case HS_INVALID:
		return "not a valid Hyperscan database";
	default:
		return "refused by Hyperscan";
	}
}

struct pc_dlp_db *pc_dlp_db_load(const void *blob, size_t len, char *err, size_t err_len)
{
	const uint8_t *p = blob;
	struct pc_dlp_blob_hdr h;
	struct pc_dlp_db *db = NULL;
	int e = EINVAL;

	if (unlikely(blob == NULL || len < sizeof(h))) {
		set_err(err, err_len, "dlp blob: %zu bytes, shorter than its %zu-byte header", len,
			sizeof(h));
		goto fail;
	}
	memcpy(&h, p, sizeof(h));
	if (unlikely(memcmp(h.magic, PC_DLP_MAGIC, sizeof(h.magic)) != 0)) {
		set_err(err, err_len, "dlp blob: bad magic (not a DLP database)");
		goto fail;
	}
	if (unlikely(h.version != PC_DLP_BLOB_VERSION)) {
		set_err(err, err_len, "dlp blob: version %u, expected %u", h.version,
			PC_DLP_BLOB_VERSION);
		goto fail;
	}
	if (unlikely(h.count == 0 || h.count > PC_DLP_MAX_PATTERNS)) {
		set_err(err, err_len, "dlp blob: %u patterns, expected 1..%u", h.count,
			PC_DLP_MAX_PATTERNS);
		goto fail;
	}
	if (unlikely(h.names_len < 2u * h.count || h.names_len > h.count * (PC_DLP_NAME_MAX + 1))) {
		set_err(err, err_len, "dlp blob: names area of %u bytes impossible for %u names",
			h.names_len, h.count);
		goto fail;
	}
	/* Lengths are compared by subtraction so that no sum can wrap. */
	if (unlikely(h.hs_len == 0 || len - sizeof(h) < h.names_len ||
		     h.hs_len != len - sizeof(h) - h.names_len)) {
		set_err(err, err_len,
			"dlp blob: lengths do not add up (header %zu + names %u + database %llu != %zu)",
			sizeof(h), h.names_len, (unsigned long long)h.hs_len, len);
		goto fail;
	}
	if (unlikely(blob_crc(p, len) != h.crc)) {
		set_err(err, err_len, "dlp blob: checksum mismatch (corrupt)");
		goto fail;
	}

	db = calloc(1, sizeof(*db) + h.count * sizeof(char *) + h.names_len);
	if (db == NULL) {
		e = ENOMEM;
		set_err(err, err_len, "dlp blob: out of memory");
		goto fail;
	}
	db->count = h.count;
	db->refs = 1;
	db->blob = malloc(len);
	if (db->blob == NULL) {
		e = ENOMEM;
		set_err(err, err_len, "dlp blob: out of memory");
		goto fail;
	}
	memcpy(db->blob, blob, len);
	db->blob_len = len;
	db->names = (const char **)(db + 1);
	char *names = (char *)(db->names + h.count);
	memcpy(names, p + sizeof(h), h.names_len);
	size_t off = 0;
	for (uint32_t i = 0; i < h.count; i++) {
		size_t nl = off < h.names_len ? name_check(names + off, h.names_len - off) : 0;
		if (unlikely(nl == 0)) {
			set_err(err, err_len, "dlp blob: name #%u missing, unterminated or not of A-Z a-z 0-9 . _ -",
				i);
			goto fail;
		}
		db->names[i] = names + off;
		off += nl + 1;
	}
	if (unlikely(off != h.names_len)) {
		set_err(err, err_len, "dlp blob: %zu stray bytes after the %u names",
			h.names_len - off, h.count);
		goto fail;
	}
	for (uint32_t i = 0; i < h.count; i++)
		for (uint32_t j = 0; j < i; j++)
			if (unlikely(strcmp(db->names[i], db->names[j]) == 0)) {
				set_err(err, err_len, "dlp blob: duplicate name \"%s\"", db->names[i]);
				goto fail;
			}

	const char *hs_bytes = (const char *)p + sizeof(h) + h.names_len;
	hs_error_t he = hs_deserialize_database(hs_bytes, (size_t)h.hs_len, &db->hs);
	if (unlikely(he != HS_SUCCESS)) {
		db->hs = NULL;
		e = he == HS_NOMEM ? ENOMEM : EINVAL;
		set_err(err, err_len, "dlp blob: Hyperscan database %s (error %d)", hs_load_error(he),
			(int)he);
		goto fail;
	}
	/* hs_stream_size() answers HS_DB_MODE_ERROR for block and vectored
	 * databases: the cheapest exact test of the mode. */
	he = hs_stream_size(db->hs, &db->stream_size);
	if (unlikely(he != HS_SUCCESS)) {
		set_err(err, err_len, "dlp blob: %s", he == HS_DB_MODE_ERROR ?
			"not a stream-mode Hyperscan database" : "Hyperscan database refused");
		goto fail;
	}
	return db;
fail:
	pc_dlp_db_free(db);
	errno = e;
	return NULL;
}

void pc_dlp_db_free(struct pc_dlp_db *db)
{
	if (db == NULL || --db->refs > 0)
		return;
	hs_free_database(db->hs);
	free(db->blob);
	free(db);
}

struct pc_dlp_db *pc_dlp_db_ref(struct pc_dlp_db *db)
{
	db->refs++;
	return db;
}

bool pc_dlp_db_same(const struct pc_dlp_db *a, const struct pc_dlp_db *b)
{
	return a != NULL && b != NULL && a->blob_len == b->blob_len &&
	       memcmp(a->blob, b->blob, a->blob_len) == 0;
}

uint32_t pc_dlp_db_count(const struct pc_dlp_db *db)
{
	return db != NULL ? db->count : 0;
}

const char *pc_dlp_pattern_name(const struct pc_dlp_db *db, int id)
{
	if (db == NULL || id < 0 || (uint32_t)id >= db->count)
		return "?";
	return db->names[id];
}

size_t pc_dlp_stream_size(const struct pc_dlp_db *db)
{
	return db != NULL ? db->stream_size : 0;
}

/* ---- scratch ---- */

int pc_dlp_scratch_fit(struct pc_dlp_scratch *s, const struct pc_dlp_db *db)
{
	if (s == NULL || db == NULL)
		return -EINVAL;
	hs_error_t he = hs_alloc_scratch(db->hs, &s->hs);
	if (he == HS_SUCCESS)
		return 0;
	return he == HS_NOMEM ? -ENOMEM : -EIO;
}

struct pc_dlp_scratch *pc_dlp_scratch_new(const struct pc_dlp_db *db)
{
	struct pc_dlp_scratch *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	int rc = pc_dlp_scratch_fit(s, db);
	if (rc != 0) {
		pc_dlp_scratch_free(s);
		errno = -rc;
		return NULL;
	}
	return s;
}

void pc_dlp_scratch_free(struct pc_dlp_scratch *s)
{
	if (s == NULL)
		return;
	hs_free_scratch(s->hs);
	free(s);
}

/* ---- streams ---- */

struct pc_dlp_stream *pc_dlp_stream_open(const struct pc_dlp_db *db)
{
	if (db == NULL) {
		errno = EINVAL;
		return NULL;
	}
	struct pc_dlp_stream *st = calloc(1, sizeof(*st));
	if (st == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (hs_open_stream(db->hs, 0, &st->hs) != HS_SUCCESS) {
		free(st);
		errno = ENOMEM;
		return NULL;
	}
	st->result = PC_DLP_NO_MATCH;
	return st;
}

void pc_dlp_stream_close(struct pc_dlp_stream *st)
{
	if (st == NULL)
		return;
	hs_close_stream(st->hs, NULL, NULL, NULL);
	free(st);
}

/* The first match ends the stream's work: returning non-zero terminates the
 * scan, and the result short-circuits every later call. */
static int on_match(unsigned int id, unsigned long long from, unsigned long long to,
		    unsigned int flags, void *ctx)
{
	struct pc_dlp_stream *st = ctx;

	(void)from;
	(void)to;
	(void)flags;
	if (st->result < 0)
		st->result = (int32_t)(id > INT32_MAX ? INT32_MAX : id);
	return 1;
}

int pc_dlp_stream_scan(struct pc_dlp_stream *st, struct pc_dlp_scratch *s,
		       const void *data, size_t len)
{
	const char *p = data;

	if (st->result >= 0 || st->finished)
		return st->result;
	/* hs_scan_stream takes an unsigned int length. */
	while (len > 0) {
		unsigned int chunk = len > UINT_MAX ? UINT_MAX : (unsigned int)len;
		hs_error_t he = hs_scan_stream(st->hs, p, chunk, 0, s->hs, on_match, st);

		if (he == HS_SCAN_TERMINATED)
			return st->result;
		if (unlikely(he != HS_SUCCESS))
			return PC_DLP_ERROR;
		p += chunk;
		len -= chunk;
	}
	return st->result;
}

int pc_dlp_stream_finish(struct pc_dlp_stream *st, struct pc_dlp_scratch *s)
{
	if (st->result >= 0 || st->finished)
		return st->result;
	/* Reset with a callback reports the end-of-data matches, as a close
	 * would, but keeps the state's memory for reuse. */
	hs_error_t he = hs_reset_stream(st->hs, 0, s->hs, on_match, st);
	st->finished = 1;
	if (unlikely(he != HS_SUCCESS && he != HS_SCAN_TERMINATED))
		return PC_DLP_ERROR;
	return st->result;
}

int pc_dlp_stream_result(const struct pc_dlp_stream *st)
{
	return st->result;
}

/* ---- pool ---- */

struct pc_dlp_pool *pc_dlp_pool_new(const struct pc_dlp_db *db, uint32_t n)
{
	struct pc_dlp_pool *pool;

	if (db == NULL || n == 0 || n > PC_DLP_POOL_MAX) {
		errno = EINVAL;
		return NULL;
	}
	pool = calloc(1, sizeof(*pool));
	if (pool == NULL)
		goto nomem;
	pool->db = db;
	pool->streams = calloc(n, sizeof(*pool->streams));
	pool->free_stack = calloc(n, sizeof(*pool->free_stack));
	if (pool->streams == NULL || pool->free_stack == NULL)
		goto nomem;
	for (uint32_t i = 0; i < n; i++) {
		if (hs_open_stream(db->hs, 0, &pool->streams[i].hs) != HS_SUCCESS)
			goto nomem;
		pool->streams[i].result = PC_DLP_NO_MATCH;
		pool->n = i + 1;
	}
	/* Lowest index on top, so a lightly used pool touches few streams. */
	for (uint32_t i = 0; i < n; i++)
		pool->free_stack[i] = (uint16_t)(n - 1 - i);
	pool->n_free = n;
	return pool;
nomem:
	pc_dlp_pool_free(pool);
	errno = ENOMEM;
	return NULL;
}

void pc_dlp_pool_free(struct pc_dlp_pool *pool)
{
	if (pool == NULL)
		return;
	for (uint32_t i = 0; i < pool->n; i++)
		hs_close_stream(pool->streams[i].hs, NULL, NULL, NULL);
	free(pool->streams);
	free(pool->free_stack);
	free(pool);
}

uint32_t pc_dlp_pool_acquire(struct pc_dlp_pool *pool)
{
	if (unlikely(pool->n_free == 0))
		return PC_DLP_NO_STREAM;
	uint32_t idx = pool->free_stack[--pool->n_free];
	pool->streams[idx].in_use = 1;
	return idx;
}

struct pc_dlp_stream *pc_dlp_pool_stream(struct pc_dlp_pool *pool, uint32_t idx)
{
	if (unlikely(idx >= pool->n))
		return NULL;
	return &pool->streams[idx];
}

int pc_dlp_pool_release(struct pc_dlp_pool *pool, uint32_t idx)
{
	if (unlikely(idx >= pool->n || !pool->streams[idx].in_use))
		return -EINVAL;
	struct pc_dlp_stream *st = &pool->streams[idx];
	/* No callback, so no scratch and no end-of-data reports: the body is
	 * abandoned or its verdict was already taken. */
	if (unlikely(hs_reset_stream(st->hs, 0, NULL, NULL, NULL) != HS_SUCCESS))
		return -EIO;
	st->result = PC_DLP_NO_MATCH;
	st->finished = 0;
	st->in_use = 0;
	pool->free_stack[pool->n_free++] = (uint16_t)idx;
	return 0;
}

uint32_t pc_dlp_pool_in_use(const struct pc_dlp_pool *pool)
{
	return pool != NULL ? pool->n - pool->n_free : 0;
}

uint32_t pc_dlp_pool_size(const struct pc_dlp_pool *pool)
{
	return pool != NULL ? pool->n : 0;
}

const struct pc_dlp_db *pc_dlp_pool_db(const struct pc_dlp_pool *pool)
{
	return pool != NULL ? pool->db : NULL;
}
