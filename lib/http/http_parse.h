/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Strict HTTP/1.1 request-head parser (RFC 9112, RFC 9110). It decides
 * where a request head ends and what it says, and rejects anything a backend
 * could read differently from the gateway: the gateway must never see request
 * boundaries or targets other than the server does (request smuggling).
 *
 * The parser is zero-copy: every string in struct pc_http_req points into the
 * caller's buffer, which must outlive the request. No allocation; any thread;
 * fast path.
 */
#ifndef PC_HTTP_PARSE_H
#define PC_HTTP_PARSE_H

#include "util/pc_types.h"

/* X(name, "text"): every outcome of pc_http_parse_head(). */
#define PC_HTTP_REASONS(X)                                              \
	X(OK, "ok")                                                     \
	X(INCOMPLETE, "http_head_incomplete")                           \
	X(HEAD_TOO_LARGE, "http_head_too_large")                        \
	X(BAD_METHOD, "http_bad_method")                                \
	X(BAD_TARGET, "http_bad_target")                                \
	X(BAD_VERSION, "http_bad_version")                              \
	X(UNSUPPORTED_VERSION, "http_unsupported_version")              \
	X(BAD_REQUEST_LINE, "http_bad_request_line")                    \
	X(BARE_LF, "http_bare_lf")                                      \
	X(BARE_CR, "http_bare_cr")                                      \
	X(CONTROL_CHAR, "http_control_char")                            \
	X(LINE_TOO_LONG, "http_line_too_long")                          \
	X(BAD_HEADER_NAME, "http_bad_header_name")                      \
	X(WS_BEFORE_COLON, "http_whitespace_before_colon")              \
	X(OBS_FOLD, "http_obs_fold")                                    \
	X(BAD_HEADER_VALUE, "http_bad_header_value")                    \
	X(TOO_MANY_HEADERS, "http_too_many_headers")                    \
	X(MISSING_HOST, "http_missing_host")                            \
	X(DUPLICATE_HOST, "http_duplicate_host")                        \
	X(BAD_HOST, "http_bad_host")                                    \
	X(HOST_MISMATCH, "http_absolute_target_host_mismatch")          \
	X(BAD_CONTENT_LENGTH, "http_bad_content_length")                \
	X(DUPLICATE_CONTENT_LENGTH, "http_duplicate_content_length")    \
	X(CL_AND_TE, "http_content_length_and_transfer_encoding")       \
	X(BAD_TRANSFER_ENCODING, "http_bad_transfer_encoding")

enum pc_http_reason {
#define PC_X(name, text) PC_HTTP_##name,
	PC_HTTP_REASONS(PC_X)
#undef PC_X
	PC_HTTP_REASON_COUNT
};

/* Methods as a bit each, so policy can hold a method set in one word. */
enum pc_http_method {
	PC_HTTP_GET = 1u << 0,
	PC_HTTP_HEAD = 1u << 1,
	PC_HTTP_POST = 1u << 2,
	PC_HTTP_PUT = 1u << 3,
	PC_HTTP_DELETE = 1u << 4,
	PC_HTTP_CONNECT = 1u << 5,
	PC_HTTP_OPTIONS = 1u << 6,
	PC_HTTP_TRACE = 1u << 7,
	PC_HTTP_PATCH = 1u << 8,
	PC_HTTP_OTHER = 1u << 15, /* a valid token that is none of the above */
};

#define PC_HTTP_MAX_HEADERS 64
#define PC_HTTP_MAX_LINE 8192       /* one request line or field line */
#define PC_HTTP_MAX_HEAD 16384      /* the whole head, CRLFCRLF included */

struct pc_http_header {
	struct pc_str name;  /* as sent (case preserved) */
	struct pc_str value; /* leading/trailing OWS removed */
};

struct pc_http_req {
	uint16_t method;          /* enum pc_http_method bit */
	uint8_t version_minor;    /* 0 or 1 (HTTP/1.0, HTTP/1.1) */
	uint8_t chunked;          /* Transfer-Encoding: chunked */
	struct pc_str method_str;
	struct pc_str target;     /* the request-target as sent */
	struct pc_str path;       /* path part of the target, no query; "*" for asterisk-form */
	struct pc_str query;      /* after '?', without it; len 0 when absent */
	struct pc_str host;       /* Host value without port, as sent (not lowercased) */
	uint16_t host_port;       /* port in Host, 0 when absent */
	int64_t content_length;   /* -1 when absent */
	uint32_t head_len;        /* bytes of the head including the final CRLF CRLF */
	uint16_t n_headers;
	struct pc_http_header headers[PC_HTTP_MAX_HEADERS];
};

/* Parse the request head at buf[0..len). Returns PC_HTTP_OK with *req filled
 * and req->head_len set; PC_HTTP_INCOMPLETE when buf holds a valid prefix of a
 * head but not its end (and len < PC_HTTP_MAX_HEAD); otherwise the reason the
 * head is rejected. Rules implemented (RFC 9112 unless noted):
 *  - request-line = method SP request-target SP HTTP-version CRLF (§3), single
 *    SP separators, method a token (RFC 9110 §9.1), version "HTTP/1.1" or
 *    "HTTP/1.0"; origin-form, absolute-form ("http://" only) or asterisk-form
 *    (OPTIONS only); authority-form (CONNECT) is rejected.
 *  - every line ends in CRLF; bare LF and bare CR are rejected (§2.2).
 *  - field-name is a token with no whitespace before ':' (§5.1); obs-fold is
 *    rejected (§5.2); values contain no CTL other than HTAB (RFC 9110 §5.5).
 *  - exactly one Host (§3.2); absolute-form authority must equal Host (§3.2.2).
 *  - Content-Length: one field, 1*DIGIT, no list (§6.3); Transfer-Encoding
 *    only "chunked" (case-insensitive), once; both together are rejected
 *    (§6.1 and §11.2: treated as smuggling).
 * Any thread, fast path. */
enum pc_http_reason pc_http_parse_head(const char *buf, size_t len, struct pc_http_req *req);

/* Whether buf[0..len) can be the start of a request: an optional empty line
 * (§2.2) and then a method token (RFC 9110 §9.1) of at most 32 bytes, ending
 * in SP or at the end of the bytes. A cheap look for a caller holding the
 * first bytes of a head split over segments: a start that passes is parsed
 * once the head can have ended; one that does not is parsed at once, so a
 * connection that opens with something else is refused with the parser's
 * reason. True does not mean valid. Any thread, fast path. */
bool pc_http_may_start_request(const char *buf, size_t len);

/* The first header whose name equals name[0..name_len) case-insensitively,
 * or NULL. Fast path. */
const struct pc_http_header *pc_http_header_find(const struct pc_http_req *req,
						 const char *name, size_t name_len);

/* Method text ("GET") to its bit, 0 when not a standard method. */
uint16_t pc_http_method_from_name(const char *name, size_t len);

const char *pc_http_reason_name(enum pc_http_reason r);

#endif
