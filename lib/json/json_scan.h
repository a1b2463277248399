/* SPDX-License-Identifier: BSD-3-Clause
 *
 * A bounded, allocation-free scanner for one small untrusted JSON object
 * (RFC 8259): JWT headers and claim sets, and the top level of HTTP request
 * bodies ("model" of an OpenAI request, "method" and "params" of an MCP
 * call: pc_json_scan_pick()).
 *
 * One pass validates the syntax of the whole document, nested values
 * included, and records each top-level member in a caller array as raw views
 * into the caller's buffer: nothing is copied or allocated. Duplicate
 * top-level names are an error (RFC 7519 §4 lets a JWT parser reject them,
 * and a gateway must never pick a different duplicate than the backend).
 * Helpers compare, unescape and convert the recorded values later, without
 * scanning the document again.
 *
 * Decisions where RFC 8259 leaves a choice (all in the direction of
 * rejecting what another parser could read differently):
 *  - strings must be well-formed UTF-8 (§8.1): overlong forms, encoded
 *    surrogates and code points above U+10FFFF are rejected;
 *  - a \u escape of a surrogate must form a high+low pair (§8.2 allows lone
 *    ones; we reject them: json_lone_surrogate);
 *  - nesting is limited to PC_JSON_MAX_DEPTH levels, the top object included
 *    (§9 allows the limit);
 *  - only the top level is checked for duplicate names.
 *
 * Every strict prefix of a valid document is reported as json_truncated, so
 * a caller collecting a body can tell "need more bytes" from "invalid".
 * Any thread; fast path (a 300-byte JWT claim set scans in a few hundred
 * cycles).
 */
#ifndef PC_JSON_SCAN_H
#define PC_JSON_SCAN_H

#include "util/pc_types.h"

/* X(name, "text"): every outcome of the scanner and its helpers. */
#define PC_JSON_REASONS(X)                                              \
	X(OK, "ok")                                                     \
	X(EMPTY, "json_empty")                                          \
	X(TOO_LARGE, "json_too_large")                                  \
	X(NOT_OBJECT, "json_not_object")                                \
	X(TRUNCATED, "json_truncated")                                  \
	X(UNEXPECTED_CHAR, "json_unexpected_char")                      \
	X(CONTROL_CHAR, "json_control_char_in_string")                  \
	X(BAD_ESCAPE, "json_bad_escape")                                \
	X(LONE_SURROGATE, "json_lone_surrogate")                        \
	X(BAD_UTF8, "json_bad_utf8")                                    \
	X(BAD_NUMBER, "json_bad_number")                                \
	X(TOO_DEEP, "json_too_deep")                                    \
	X(TOO_MANY_MEMBERS, "json_too_many_members")                    \
	X(DUPLICATE_KEY, "json_duplicate_key")                          \
	X(TRAILING_DATA, "json_trailing_data")                          \
	X(WRONG_TYPE, "json_wrong_type")                                \
	X(OUT_OF_RANGE, "json_out_of_range")                            \
	X(NO_SPACE, "json_no_space")

enum pc_json_reason {
#define PC_X(name, text) PC_JSON_##name,
	PC_JSON_REASONS(PC_X)
#undef PC_X
	PC_JSON_REASON_COUNT
};

enum pc_json_kind {
	PC_JSON_NONE = 0,
	PC_JSON_STRING,
	PC_JSON_NUMBER,
	PC_JSON_OBJECT,
	PC_JSON_ARRAY,
	PC_JSON_TRUE,
	PC_JSON_FALSE,
	PC_JSON_NULL,
};

/* Nesting bound, the top-level object counting as 1. */
#define PC_JSON_MAX_DEPTH 32

/* A value as it appears in the document. raw is the text of the value, except
 * for strings, where it is the text between the quotes (escapes as sent): a
 * string without escapes is then usable as is. */
struct pc_json_value {
	struct pc_str raw;
	uint8_t kind;    /* enum pc_json_kind */
	uint8_t escaped; /* STRING only: raw holds at least one backslash escape */
};

struct pc_json_member {
	struct pc_json_value key; /* kind STRING */
	struct pc_json_value value;
};

/* Validate buf[0..len) as exactly one JSON object (whitespace around it
 * allowed) and record its top-level members, in document order, in
 * members[0..max_members). Returns PC_JSON_OK with *n_members set, or the
 * first reason the document is rejected (json_scan.c cites the RFC 8259
 * clause at each check); members is then partly written and *n_members 0.
 * Nothing is read outside buf[0..len). Views point into buf. Any thread,
 * fast path. */
enum pc_json_reason pc_json_scan_object(const char *buf, size_t len,
					struct pc_json_member *members,
					unsigned max_members, unsigned *n_members);

/* Like pc_json_scan_object(), for documents with any number of members of
 * which the caller wants a few (the top level of an HTTP request body: a
 * chat request carries "messages", "tools", ... and "model"). Validates
 * buf[0..len) as exactly one JSON object and records in values[k] the value
 * of the member named keys[k] (compared unescaped), kind PC_JSON_NONE when
 * there is none. A name of keys[] that appears twice is
 * PC_JSON_DUPLICATE_KEY; other names may repeat (they are not read, so no
 * reader can pick a different one than the backend). Returns PC_JSON_OK or
 * the first reason the document is rejected, as pc_json_scan_object() does
 * (NOT_OBJECT for an array: a JSON-RPC batch). Views point into buf. Any
 * thread, fast path. */
enum pc_json_reason pc_json_scan_pick(const char *buf, size_t len, const struct pc_str *keys,
				      unsigned n_keys, struct pc_json_value *values);

/* The member whose name, unescaped, equals key[0..key_len), or NULL.
 * Any thread, fast path. */
const struct pc_json_member *pc_json_find(const struct pc_json_member *members,
					  unsigned n, const char *key, size_t key_len);

/* True when v is a string whose unescaped bytes equal s[0..len). Constant
 * memory, no copy. Any thread, fast path. */
bool pc_json_str_eq(const struct pc_json_value *v, const char *s, size_t len);

/* True when v is a string and one of its words, separated by single spaces
 * (the scope syntax of RFC 6749 §3.3), equals word[0..len) after
 * unescaping. No copy. Any thread, fast path. */
bool pc_json_str_has_word(const struct pc_json_value *v, const char *word, size_t len);

/* Unescape string value v into buf[0..cap) as UTF-8 (not NUL-terminated;
 * an escaped \u0000 yields a NUL byte, so use the length). The result is never
 * longer than v->raw.len. Returns PC_JSON_OK with *out_len set,
 * PC_JSON_WRONG_TYPE when v is not a string, or PC_JSON_NO_SPACE. Any thread,
 * fast path. */
enum pc_json_reason pc_json_unescape(const struct pc_json_value *v, char *buf,
				     size_t cap, size_t *out_len);

/* How pc_json_int() treats a fractional part. */
enum pc_json_round {
	PC_JSON_ROUND_DOWN, /* toward -infinity (floor) */
	PC_JSON_ROUND_UP,   /* toward +infinity (ceiling) */
};

/* The integer value of number v, rounded as asked when it has a fraction.
 * Every RFC 8259 number form is handled exactly, fractions and exponents
 * included ("1.3e9", "13000000000e-1"): the decimal digits are shifted, never
 * converted through a double. RFC 7519 §2 allows a NumericDate to carry a
 * fraction; callers round it toward the stricter side (exp down, nbf up).
 * Returns PC_JSON_OK, PC_JSON_WRONG_TYPE (not a number) or
 * PC_JSON_OUT_OF_RANGE (outside int64_t). Any thread, fast path. */
enum pc_json_reason pc_json_int(const struct pc_json_value *v, enum pc_json_round mode,
				int64_t *out);

/* Iterates the elements of an array value recorded by pc_json_scan_object()
 * (so already validated); it never reads outside the array's raw view. */
struct pc_json_iter {
	const char *p;
	const char *end;
};

/* Start iterating array value v. Returns PC_JSON_OK or PC_JSON_WRONG_TYPE.
 * Any thread, fast path. */
enum pc_json_reason pc_json_array_begin(struct pc_json_iter *it, const struct pc_json_value *v);

/* The next element in *elem (same conventions as a member value: strings
 * without quotes). Returns false after the last one. Fast path. */
bool pc_json_array_next(struct pc_json_iter *it, struct pc_json_value *elem);

/* The next element when it is a string: returns 1 with *elem set, 0 at the
 * end of the array, -1 when the next element is not a string (iteration may
 * continue past it). For arrays of strings such as "aud" (RFC 7519 §4.1.3). */
int pc_json_array_next_string(struct pc_json_iter *it, struct pc_json_value *elem);

/* Stable name of a reason ("json_duplicate_key"). Any thread, fast path. */
const char *pc_json_reason_name(enum pc_json_reason r);

#endif
