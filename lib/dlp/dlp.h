/* SPDX-License-Identifier: BSD-3-Clause
 *
 * DLP: find secrets (cloud access keys, private key blocks, JWTs, and the
 * policy's own patterns) in request bodies on their way to external
 * destinations, with Hyperscan in stream mode, so that a secret split across
 * two TCP segments is still found without reassembling the body.
 *
 * Split like the rest of the engine: the control plane compiles the pattern
 * set once (pc_dlp_compile) into a serialized blob that travels inside the
 * policy image; whoever loads the image validates the blob as hostile input
 * and deserializes it (pc_dlp_db_load) into an immutable database shared by
 * every worker. Each worker has its own scratch (like the engine scratch) and
 * its own stream state.
 *
 * Stream state and allocation. hs_open_stream() allocates through
 * Hyperscan's stream allocator on every call; hs_set_stream_allocator() is
 * process-wide, so swapping it for a pool would change every other Hyperscan
 * user in the process. Instead a worker keeps a pool (struct pc_dlp_pool) of
 * N streams opened once, when the pool is made for a database: acquiring one
 * is popping an index off a free stack, releasing one is hs_reset_stream()
 * (resets the state in place, no allocation) and pushing it back. A request
 * body therefore costs no malloc and no free on the fast path. Stream state
 * is a fixed size per database (pc_dlp_stream_size), so the pool's memory is
 * known when it is made. Indexes fit in 16 bits (a flow can keep one in two
 * spare bytes; PC_DLP_NO_STREAM marks "none"). A stream belongs to the
 * database it was opened for: when the policy changes, a worker makes a new
 * pool for the new database and keeps the old pool (and the old database)
 * until the bodies it holds have ended. For callers that do not mind an
 * allocation (tests, offline tools) pc_dlp_stream_open/close do the same
 * with malloc.
 *
 * Matching. Every pattern is compiled with HS_FLAG_SINGLEMATCH and without
 * start-of-match tracking (SOM makes stream state larger and scans slower):
 * DLP only needs "which secret was seen", not where. The first match stops
 * the stream (the callback terminates the scan) and is remembered in the
 * stream, so later scans of the same body return at once. Pattern ids are
 * indexes: the defaults first (when compiled with them), then the extras in
 * the order given.
 *
 * Threads: compile, load, free, scratch and pool construction are control
 * path (any thread, not the fast path). A database is immutable and may be
 * shared by every thread. A scratch, a pool and a stream belong to one thread
 * at a time; scanning is fast path.
 */
#ifndef PC_DLP_H
#define PC_DLP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Limits on a pattern set; a blob that claims more is refused. */
#define PC_DLP_MAX_PATTERNS 256u
#define PC_DLP_NAME_MAX 63u     /* bytes of a pattern name, without the NUL */
#define PC_DLP_REGEX_MAX 1024u  /* bytes of one regex */
#define PC_DLP_POOL_MAX 65535u  /* streams per pool: indexes 0..65534 */
#define PC_DLP_NO_STREAM 0xffffu /* an index no pool hands out */

/* Scan results that are not a pattern id. */
#define PC_DLP_NO_MATCH (-1) /* nothing matched so far */
#define PC_DLP_ERROR (-2)    /* Hyperscan refused the scan (scratch not fit
			      * for this database, or in use by another
			      * thread); treat as "could not inspect" */

struct pc_dlp_pattern {
	const char *name;  /* 1..PC_DLP_NAME_MAX bytes of [A-Za-z0-9._-] */
	const char *regex; /* Hyperscan (PCRE subset) syntax */
};

struct pc_dlp_db;      /* opaque, immutable once loaded */
struct pc_dlp_scratch; /* opaque, one per worker */
struct pc_dlp_stream;  /* opaque, one body being scanned */
struct pc_dlp_pool;    /* opaque, one per worker per database */

/* The built-in set: cloud access keys (AWS access key ids AKIA/ASIA + 16,
 * Google API keys AIza + 35, GitHub tokens ghp_/gho_/ghs_/ghu_/ghr_ + 36,
 * Slack xox[abpr]- tokens, Stripe sk_live_ keys), PEM private key blocks
 * ("-----BEGIN [RSA |EC |DSA |OPENSSH |ENCRYPTED ]PRIVATE KEY-----") and JWTs
 * (three base64url segments, the header starting eyJ). Names are at most 23
 * bytes. Returns a static array and its length in *n. Any thread. */
const struct pc_dlp_pattern *pc_dlp_default_patterns(uint32_t *n);

/* Compiles the defaults (when with_defaults) followed by the n_extra extra
 * patterns into a serialized stream-mode database that also carries the
 * pattern names. On success returns 0 and a malloc'ed blob (free() it) in
 * *blob / *blob_len. Returns -EINVAL with err naming the pattern and saying
 * what is wrong (bad name, duplicate name, too long, Hyperscan's message for
 * a bad regex, no patterns at all), -ENOMEM, or -EIO for other Hyperscan
 * failures. err may be NULL. Control path, any thread. */
int pc_dlp_compile(const struct pc_dlp_pattern *extra, uint32_t n_extra, bool with_defaults,
		   void **blob, size_t *blob_len, char *err, size_t err_len);

/* Validates a blob as hostile input (magic, version, checksum, every length,
 * every name, hs_deserialize_database(), that it is a stream-mode database
 * this machine can run) and builds the runtime database. Keeps a copy of blob, not a reference. Returns NULL with
 * errno (EINVAL: bad blob, ENOMEM) and err filled. Control path. */
struct pc_dlp_db *pc_dlp_db_load(const void *blob, size_t len, char *err, size_t err_len);

/* Drops one reference to a database (NULL is fine), freeing it with the
 * last: every scratch, pool and stream made for it must be gone, or no
 * longer used, by then. Control path; callers serialise the references. */
void pc_dlp_db_free(struct pc_dlp_db *db);

/* One more reference to db (released by pc_dlp_db_free()); returns db. A
 * later policy whose DLP is the same as the running one's takes the running
 * database, so that the bodies being scanned keep their streams across the
 * push. Control path. */
struct pc_dlp_db *pc_dlp_db_ref(struct pc_dlp_db *db);

/* True when a and b (both non-NULL) were loaded from the same bytes: the
 * same patterns, compiled the same way. Control path. */
bool pc_dlp_db_same(const struct pc_dlp_db *a, const struct pc_dlp_db *b);

/* Number of patterns in db. Any thread. */
uint32_t pc_dlp_db_count(const struct pc_dlp_db *db);

/* The name of pattern id (a scan result >= 0), NUL-terminated and valid while
 * db lives; "?" for an id out of range. Any thread, fast path. */
const char *pc_dlp_pattern_name(const struct pc_dlp_db *db, int id);

/* Bytes of Hyperscan state per stream for db (for sizing pools). 0 when
 * db is NULL. Any thread. */
size_t pc_dlp_stream_size(const struct pc_dlp_db *db);

/* A per-thread scratch able to run db. Returns NULL with errno on failure.
 * Control path. */
struct pc_dlp_scratch *pc_dlp_scratch_new(const struct pc_dlp_db *db);

/* Grows s so that it can also run db (a scratch may serve several
 * databases, e.g. the old and the new policy's during a swap). Growing may
 * replace the scratch's memory: call it only while no scan uses s. Returns 0
 * or -ENOMEM / -EIO. Control path (the owning thread, or while it is
 * quiescent). */
int pc_dlp_scratch_fit(struct pc_dlp_scratch *s, const struct pc_dlp_db *db);

/* NULL is fine. Control path. */
void pc_dlp_scratch_free(struct pc_dlp_scratch *s);

/* ---- streams with malloc (tests, offline tools) ---- */

/* Opens a stream on db (allocates). Returns NULL with errno. Any thread. */
struct pc_dlp_stream *pc_dlp_stream_open(const struct pc_dlp_db *db);

/* Frees a stream from pc_dlp_stream_open without reporting matches; NULL is
 * fine. Never pass a pool's stream here. */
void pc_dlp_stream_close(struct pc_dlp_stream *st);

/* ---- the same state, scanned (both kinds of streams) ---- */

/* Scans the next len bytes of the body, in order. Returns the id of the
 * first pattern that matched in this body so far (the match may span
 * earlier chunks), PC_DLP_NO_MATCH, or PC_DLP_ERROR. Once a stream has
 * matched, it returns the same id without scanning. s must have been made
 * or fitted for the stream's database. Fast path, the stream's thread. */
int pc_dlp_stream_scan(struct pc_dlp_stream *st, struct pc_dlp_scratch *s,
		       const void *data, size_t len);

/* End of body: reports patterns that can only match at the end of data
 * (an extra pattern ending in '$'); none of the defaults does. Returns the
 * same as pc_dlp_stream_scan. After it, the stream accepts no more data
 * (scans return the last result) until it is released or closed. Fast
 * path; optional when the caller does not care about end-anchored
 * patterns. */
int pc_dlp_stream_finish(struct pc_dlp_stream *st, struct pc_dlp_scratch *s);

/* The id matched so far (PC_DLP_NO_MATCH when none), without scanning. */
int pc_dlp_stream_result(const struct pc_dlp_stream *st);

/* ---- a per-worker pool of reusable streams (no allocation per body) ---- */

/* Opens n (1..PC_DLP_POOL_MAX) streams on db up front. Keeps a pointer to db,
 * which must outlive the pool. Returns NULL with errno (EINVAL, ENOMEM).
 * Control path. */
struct pc_dlp_pool *pc_dlp_pool_new(const struct pc_dlp_db *db, uint32_t n);

/* Closes every stream (in use or not, without reporting matches) and frees
 * the pool; NULL is fine. Control path, or the owning thread. */
void pc_dlp_pool_free(struct pc_dlp_pool *pool);

/* Takes a fresh stream: returns its index (< the pool's size, so it fits in
 * 16 bits) or PC_DLP_NO_STREAM when every stream is in use (callers fail
 * closed). No allocation. Fast path, owning thread. */
uint32_t pc_dlp_pool_acquire(struct pc_dlp_pool *pool);

/* The stream at idx, for pc_dlp_stream_scan/finish/result. idx must come
 * from pc_dlp_pool_acquire and not yet be released. Fast path. */
struct pc_dlp_stream *pc_dlp_pool_stream(struct pc_dlp_pool *pool, uint32_t idx);

/* Gives stream idx back: resets it in place (no matches reported, no
 * allocation) for the next body. Returns 0, or -EINVAL for an index out of
 * range or not in use (a double release is refused, not corrupting). Fast
 * path, owning thread. */
int pc_dlp_pool_release(struct pc_dlp_pool *pool, uint32_t idx);

/* Streams in use (acquired, not released); a test of "no leaks" checks it
 * returns to 0. Any thread of the owner. */
uint32_t pc_dlp_pool_in_use(const struct pc_dlp_pool *pool);

/* Size of the pool (n given to pc_dlp_pool_new). */
uint32_t pc_dlp_pool_size(const struct pc_dlp_pool *pool);

/* The database the pool's streams run. */
const struct pc_dlp_db *pc_dlp_pool_db(const struct pc_dlp_pool *pool);

#endif
