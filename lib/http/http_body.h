/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Request-body framing tracker: on a keep-alive connection, tells where the
 * current request's message body ends and so where the next request head
 * starts (RFC 9112 §6.3 message body length, §7.1 chunked transfer coding).
 *
 * It is incremental and holds no bytes: the caller feeds it the client
 * stream after the head, span by span as segments arrive, and it answers
 * how much of each span is still this message. The state is a few dozen
 * bytes, so it can live in a flow entry; the answer does not depend on how
 * the stream was cut into spans.
 *
 * Chunked framing is parsed strictly, with the same stance as the head
 * parser (http_parse.h): anything a backend could frame differently (bare
 * LF, bare CR, junk after chunk data, oversized or overflowing sizes,
 * obs-fold in trailers) is a named error, never a guess.
 *
 * No allocation; any thread; fast path. One tracker per request, owned by
 * the thread that owns the flow.
 */
#ifndef PC_HTTP_BODY_H
#define PC_HTTP_BODY_H

#include "util/pc_types.h"

/* X(name, "text"): every outcome of pc_http_body_feed(). */
#define PC_HTTP_BODY_REASONS(X)                                          \
	X(OK, "ok")                                                      \
	X(INCOMPLETE, "http_body_incomplete")                            \
	X(BAD_FRAMING, "http_body_bad_framing")                          \
	X(BAD_CHUNK_SIZE, "http_body_bad_chunk_size")                    \
	X(CHUNK_SIZE_TOO_LONG, "http_body_chunk_size_too_long")          \
	X(CHUNK_SIZE_OVERFLOW, "http_body_chunk_size_overflow")          \
	X(BAD_CHUNK_EXT, "http_body_bad_chunk_ext")                      \
	X(CHUNK_EXT_TOO_LONG, "http_body_chunk_ext_too_long")            \
	X(MISSING_CHUNK_CRLF, "http_body_missing_chunk_data_crlf")       \
	X(BARE_LF, "http_body_bare_lf")                                  \
	X(BARE_CR, "http_body_bare_cr")                                  \
	X(BAD_TRAILER, "http_body_bad_trailer")                          \
	X(TRAILER_OBS_FOLD, "http_body_trailer_obs_fold")                \
	X(FORBIDDEN_TRAILER, "http_body_forbidden_trailer")              \
	X(TOO_MANY_TRAILERS, "http_body_too_many_trailers")              \
	X(TRAILERS_TOO_LARGE, "http_body_trailers_too_large")

enum pc_http_body_reason {
#define PC_X(name, text) PC_HTTP_BODY_##name,
	PC_HTTP_BODY_REASONS(PC_X)
#undef PC_X
	PC_HTTP_BODY_REASON_COUNT
};

/* Bounds on what a chunked body may carry besides data. */
#define PC_HTTP_BODY_MAX_SIZE_DIGITS 16   /* chunk-size hex digits, leading zeros included */
#define PC_HTTP_BODY_MAX_CHUNK_EXT 1024   /* bytes of chunk-ext on one chunk line */
#define PC_HTTP_BODY_MAX_TRAILERS 32      /* trailer field lines */
#define PC_HTTP_BODY_MAX_TRAILER_BYTES 4096 /* trailer section incl. the final CRLF */

/* The tracker. Plain data so a flow entry can embed it; read it through the
 * accessors below, change it only through the functions. */
struct pc_http_body {
	uint64_t remain;     /* data bytes left in the Content-Length body or current chunk;
			      * the chunk-size being read on a size line */
	uint64_t data_bytes; /* body data seen so far, chunk framing and trailers excluded */
	uint16_t line_bytes; /* chunk-ext bytes on this size line / field-name bytes */
	uint16_t trailer_bytes;
	uint8_t state;       /* private state-machine step */
	uint8_t reason;      /* enum pc_http_body_reason once an error is final */
	uint8_t digits;      /* chunk-size digits read on this line */
	uint8_t n_trailers;
	uint8_t name_match;  /* trailer names still matching a forbidden name, a bit each */
};

/* Start tracking the body of a request whose head said Content-Length
 * content_length (-1 when absent) and Transfer-Encoding: chunked or not.
 * Neither means no body (RFC 9112 §6.3 rule 7: a request without either has
 * length zero), so the message is already complete. Returns 0, or -EINVAL
 * when the framing is contradictory (both, or a length below -1); the
 * tracker then fails every feed with BAD_FRAMING, so ignoring the return
 * still fails closed. Any thread, fast path. */
int pc_http_body_init(struct pc_http_body *b, int64_t content_length, bool chunked);

/* Feed the next len bytes of the client stream. Returns:
 *  - PC_HTTP_BODY_OK: the message is complete; data[0..*used) was its end
 *    and data[*used..len) belongs to the next request (pipelining);
 *  - PC_HTTP_BODY_INCOMPLETE: all len bytes belong to this message
 *    (*used == len) and more are needed;
 *  - an error: the framing is invalid at data[*used]; the error is sticky.
 * Feeding a complete message again returns OK with *used 0. The outcome and
 * the total bytes used do not depend on how the stream is split into spans.
 * Any thread (the flow's owner), fast path. */
enum pc_http_body_reason pc_http_body_feed(struct pc_http_body *b, const void *data, size_t len,
					   size_t *used);

/* Whether the message body has ended (after OK, or a no-body init). */
static inline bool pc_http_body_done(const struct pc_http_body *b)
{
	/* 0 is the "complete" step: a zeroed tracker is an empty body. */
	return b->state == 0;
}

/* Body data bytes seen so far, without chunk framing or trailers: the
 * offset in the decoded body of the next data byte, for body scanners. */
static inline uint64_t pc_http_body_data_len(const struct pc_http_body *b)
{
	return b->data_bytes;
}

/* The reason's text ("http_body_bare_lf"); never NULL. Any thread. */
const char *pc_http_body_reason_name(enum pc_http_body_reason r);

#endif
