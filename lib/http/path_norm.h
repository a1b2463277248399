/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Request-path normalisation: turn the path a client sent into the path of
 * the resource the backend will serve, so that policy rules written against
 * "/admin" also see "/public/../admin", "/%61dmin" and "//admin".
 *
 * The model is Envoy's HTTP connection manager with normalize_path (RFC 3986
 * §6.2.2 syntax-based normalisation: decode percent-encoded unreserved
 * characters, uppercase the hex of the rest, remove dot-segments per §5.2.4),
 * merge_slashes, and path_with_escaped_slashes_action = REJECT_REQUEST.
 * Where a path is ambiguous (a backend could read it as another resource
 * than the one we would decide on) it is rejected with a named reason
 * rather than guessed at.
 *
 * No allocation; the output is never longer than the input. Any thread,
 * fast path.
 */
#ifndef PC_PATH_NORM_H
#define PC_PATH_NORM_H

#include "util/pc_types.h"

/* X(name, "text"): every outcome of pc_path_norm_apply(). */
#define PC_PATH_REASONS(X)                                              \
	X(OK, "ok")                                                     \
	X(INVALID_PERCENT_ENCODING, "path_invalid_percent_encoding")    \
	X(ENCODED_SLASH, "path_encoded_slash")                          \
	X(BACKSLASH, "path_backslash")                                  \
	X(ENCODED_NUL, "path_encoded_nul")                              \
	X(ENCODED_DOT_SEGMENT, "path_encoded_dot_segment")              \
	X(DOT_SEGMENT_PARAMS, "path_dot_segment_with_params")           \
	X(FRAGMENT, "path_fragment")                                    \
	X(CONTROL_CHAR, "path_control_char")                            \
	X(INVALID_CHAR, "path_invalid_char")                            \
	X(TOO_LONG, "path_too_long")                                    \
	X(NOT_ABSOLUTE, "path_not_absolute")

enum pc_path_reason {
#define PC_X(name, text) PC_PATH_##name,
	PC_PATH_REASONS(PC_X)
#undef PC_X
	PC_PATH_REASON_COUNT
};

/* Longest path accepted: a path cannot outgrow the request line that
 * carries it (PC_HTTP_MAX_LINE). */
#define PC_PATH_MAX 8192

/* What to do with the constructs a backend may read in more than one way.
 * Start from PC_PATH_NORM_OPTS_DEFAULT (or pass NULL): a zeroed struct is
 * the most permissive setting, not the default. */
struct pc_path_norm_opts {
	/* "//" collapses to "/" (Envoy merge_slashes), as nginx and Apache do
	 * by default. */
	bool merge_slashes;
	/* %2F and %5C anywhere reject the path (Envoy REJECT_REQUEST). When
	 * false they are kept encoded, uppercased (Envoy KEEP_UNCHANGED). */
	bool reject_encoded_slash;
	/* A raw '\' rejects the path: IIS and some frameworks treat it as a
	 * separator, most servers as a plain byte. When false it is kept. */
	bool reject_backslash;
	/* A segment that decodes to "." or ".." but was written with %2E is
	 * rejected. When false it is resolved like a plain dot-segment, as
	 * RFC 3986 §6.2.2.2 and §6.2.2.3 say a normaliser should. */
	bool reject_encoded_dot_segment;
	/* A segment that is "." or ".." up to a ';' ("/..;/admin") is rejected:
	 * Servlet containers strip path parameters before resolving dot
	 * segments, so they serve "/admin" where we would see "/..;". */
	bool reject_dot_segment_params;
};

#define PC_PATH_NORM_OPTS_DEFAULT                                        \
	{                                                                \
		.merge_slashes = true, .reject_encoded_slash = true,     \
		.reject_backslash = true, .reject_encoded_dot_segment = true, \
		.reject_dot_segment_params = true,                       \
	}

/* Normalise the absolute path in[0..in_len) (origin-form path, query
 * already split off) into out[0..out_cap). out must not overlap in;
 * out_cap >= in_len always suffices. opts NULL means the defaults.
 *
 * Returns PC_PATH_OK with *out_len set (<= in_len) and *changed telling
 * whether out differs from in byte for byte; otherwise the reason the path
 * is rejected, with *out_len 0 and out's contents unspecified. TOO_LONG
 * covers in_len > PC_PATH_MAX and in_len > out_cap. Steps, all in one
 * forward pass:
 *  - in must start with '/' (RFC 9112 §3.2.1 origin-form, RFC 3986 §3.3);
 *  - raw CTL bytes, '#' (RFC 9112 §3.2: a fragment is never sent) and bytes
 *    no request-target may hold (SP, '?', non-ASCII) are rejected;
 *  - "%" HEXDIG HEXDIG is required for every '%' (RFC 3986 §2.1); %00 is
 *    rejected; unreserved characters (ALPHA DIGIT - . _ ~, §2.3) are
 *    decoded (§6.2.2.2); the rest stay encoded with uppercase hex (§6.2.2.1);
 *  - dot-segments are removed as RFC 3986 §5.2.4 does ("/.." at the root
 *    stays "/"); empty segments are dropped first when merging slashes, so
 *    "/a//../b" is "/b" (nginx) where Envoy, merging afterwards, has "/a/b".
 * Any thread, fast path. */
enum pc_path_reason pc_path_norm_apply(const char *in, size_t in_len, char *out, size_t out_cap,
				       const struct pc_path_norm_opts *opts, size_t *out_len,
				       bool *changed);

/* The reason's text ("path_encoded_slash"); never NULL. Any thread. */
const char *pc_path_norm_reason_name(enum pc_path_reason r);

#endif
