/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Request-body framing tracker (see http_body.h).
 *
 * Design. A byte-at-a-time state machine for the framing (chunk-size lines,
 * the CRLF after chunk data, trailer lines) and a bulk skip for data (a
 * Content-Length body, chunk-data), which is where nearly all the bytes are.
 * Every decision depends only on the current state and the current byte, so
 * a span boundary can fall anywhere, even between CR and LF, without
 * buffering: that is what keeps the state to a few dozen bytes and makes the
 * result independent of segmentation, which the tests check at every split.
 *
 * The grammar is RFC 9112 §7.1:
 *   chunked-body   = *chunk last-chunk trailer-section CRLF
 *   chunk          = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size     = 1*HEXDIG
 *   last-chunk     = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext      = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-val  = token / quoted-string
 *   trailer-section = *( field-line CRLF )
 * read strictly: no whitespace before the size or after it unless an
 * extension follows (BWS belongs to chunk-ext), no "0x", no sign, no bare
 * CR or LF anywhere (§2.2), exactly CRLF after chunk-data. Sizes are bounded
 * to 16 digits and to INT64_MAX, because a backend that keeps sizes in a
 * signed 64-bit integer (or a narrower one) would otherwise wrap and find a
 * different end of chunk than ours: the classic chunk-size smuggling.
 *
 * Trailers get the head parser's field-line rules, obs-fold rejected
 * (§5.2), and may not carry the framing or routing fields (Content-Length,
 * Transfer-Encoding, Host; '_' read as '-' as in the head): RFC 9110 §6.5.1
 * forbids them there, and a backend that merged trailers into the header
 * section would reframe or reroute the request after we decided on it.
 */
#include "http/http_body.h"

#include <errno.h>

/* Steps of the state machine. S_DONE is 0 so that pc_http_body_done() can
 * test it from the header without knowing the rest. */
enum {
	S_DONE = 0,
	S_ERROR,
	S_CL_DATA,      /* Content-Length body: remain bytes left */
	S_SIZE_FIRST,   /* first chunk-size digit */
	S_SIZE,         /* more digits, or what follows them */
	S_EXT_PRE_SEMI, /* BWS after the size or a value; ';' must follow */
	S_EXT_PRE_NAME, /* after ';': BWS, then the chunk-ext-name */
	S_EXT_NAME,
	S_EXT_PRE_EQ,   /* BWS after a name; '=' or ';' must follow */
	S_EXT_PRE_VAL,  /* after '=': BWS, then token or quoted-string */
	S_EXT_TOKEN,
	S_EXT_QS,       /* inside a quoted-string */
	S_EXT_QS_ESC,   /* after '\' in a quoted-string */
	S_EXT_POST_QS,  /* after the closing DQUOTE */
	S_SIZE_LF,      /* CR of the chunk line seen */
	S_DATA,         /* chunk-data: remain bytes left */
	S_DATA_CR,      /* CRLF after chunk-data */
	S_DATA_LF,
	S_TR_START,     /* start of a trailer line, or of the final CRLF */
	S_TR_NAME,
	S_TR_VALUE,
	S_TR_LF,
	S_END_LF,       /* CR of the final CRLF seen */
};

_Static_assert(S_DONE == 0, "pc_http_body_done() tests for 0");
_Static_assert(PC_HTTP_BODY_REASON_COUNT <= 256, "reason is kept in a uint8_t");
_Static_assert(PC_HTTP_BODY_MAX_CHUNK_EXT < UINT16_MAX &&
		       PC_HTTP_BODY_MAX_TRAILER_BYTES < UINT16_MAX &&
		       PC_HTTP_BODY_MAX_TRAILERS < UINT8_MAX,
	       "bounds fit the counters of struct pc_http_body");

#define S_EXT_FIRST S_EXT_PRE_SEMI
#define S_EXT_LAST S_EXT_POST_QS

/* Trailer names that may not appear (see top of file), a bit each in
 * name_match, all lowercase. */
static const struct {
	const char *name;
	uint16_t len;
} pc_http_body_forbidden[] = {
	{ "content-length", 14 },
	{ "transfer-encoding", 17 },
	{ "host", 4 },
};

#define PC_HTTP_BODY_ALL_NAMES ((uint8_t)((1u << PC_ARRAY_SIZE(pc_http_body_forbidden)) - 1))

static inline bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* tchar (RFC 9110 §5.6.2). */
static inline bool is_tchar(unsigned char c)
{
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
		return true;
	if (c >= '0' && c <= '9')
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*':
	case '+': case '-': case '.': case '^': case '_': case '`': case '|': case '~':
		return true;
	default:
		return false;
	}
}

/* HTAB / SP / VCHAR / obs-text: a field-value byte (RFC 9110 §5.5), and the
 * second byte of a quoted-pair (§5.6.4). */
static inline bool is_fval(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

/* qdtext (RFC 9110 §5.6.4): a field-value byte other than DQUOTE and '\'. */
static inline bool is_qdtext(unsigned char c)
{
	return is_fval(c) && c != '"' && c != '\\';
}

/* Narrow the forbidden-name candidates by the name's k-th byte. */
static inline uint8_t name_narrow(uint8_t match, uint16_t k, unsigned char c)
{
	unsigned char f = c == '_' ? '-' : ((c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? c | 0x20 : c);

	for (unsigned j = 0; j < PC_ARRAY_SIZE(pc_http_body_forbidden); j++)
		if ((match & (1u << j)) &&
		    (k >= pc_http_body_forbidden[j].len ||
		     (unsigned char)pc_http_body_forbidden[j].name[k] != f))
			match &= (uint8_t)~(1u << j);
	return match;
}

static inline bool name_forbidden(uint8_t match, uint16_t len)
{
	for (unsigned j = 0; j < PC_ARRAY_SIZE(pc_http_body_forbidden); j++)
		if ((match & (1u << j)) && pc_http_body_forbidden[j].len == len)
			return true;
	return false;
}

/* After a chunk line's CRLF: data follows, or the trailer section after the
 * last chunk (size 0, however many zeros spelled it). */
static inline void chunk_line_end(struct pc_http_body *b)
{
	b->state = b->remain != 0 ? S_DATA : S_TR_START;
}

/* The byte after a chunk-ext-val (a token or a quoted-string): the next
 * extension, BWS before it, or the end of the line. */
static inline enum pc_http_body_reason ext_value_end(struct pc_http_body *b, unsigned char c)
{
	if (c == ';') {
		b->state = S_EXT_PRE_NAME;
		return PC_HTTP_BODY_INCOMPLETE;
	}
	if (is_ws(c)) {
		b->state = S_EXT_PRE_SEMI;
		return PC_HTTP_BODY_INCOMPLETE;
	}
	if (c == '\r') {
		b->state = S_SIZE_LF;
		return PC_HTTP_BODY_INCOMPLETE;
	}
	return PC_HTTP_BODY_BAD_CHUNK_EXT;
}

/* One framing byte. Returns INCOMPLETE to go on, OK when c ended the
 * message, or the error c causes. */
static enum pc_http_body_reason step(struct pc_http_body *b, unsigned char c)
{
	const uint8_t st = b->state;

	/* §2.2: a line ends in CRLF only. An LF is legal only right after
	 * the CR of a line, which the *_LF steps check themselves. */
	if (unlikely(c == '\n') && st != S_SIZE_LF && st != S_DATA_LF && st != S_TR_LF &&
	    st != S_END_LF)
		return PC_HTTP_BODY_BARE_LF;
	if (st >= S_EXT_FIRST && st <= S_EXT_LAST && c != '\r' &&
	    unlikely(++b->line_bytes > PC_HTTP_BODY_MAX_CHUNK_EXT))
		return PC_HTTP_BODY_CHUNK_EXT_TOO_LONG;
	if (st >= S_TR_START && unlikely(++b->trailer_bytes > PC_HTTP_BODY_MAX_TRAILER_BYTES))
		return PC_HTTP_BODY_TRAILERS_TOO_LARGE;

	switch (st) {
	case S_SIZE_FIRST: {
		/* No OWS, sign or "0x" before the digits: some parsers skip or
		 * accept them (strtol), so the size would read differently. */
		int h = hexval(c);

		if (unlikely(h < 0))
			return PC_HTTP_BODY_BAD_CHUNK_SIZE;
		b->remain = (uint64_t)h;
		b->digits = 1;
		b->line_bytes = 0;
		b->state = S_SIZE;
		return PC_HTTP_BODY_INCOMPLETE;
	}
	case S_SIZE: {
		int h = hexval(c);

		if (h >= 0) {
			if (unlikely(++b->digits > PC_HTTP_BODY_MAX_SIZE_DIGITS))
				return PC_HTTP_BODY_CHUNK_SIZE_TOO_LONG;
			/* Below 2^59, times 16 plus 15 stays below 2^63. */
			if (unlikely(b->remain >> 59))
				return PC_HTTP_BODY_CHUNK_SIZE_OVERFLOW;
			b->remain = b->remain << 4 | (uint64_t)h;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (c == '\r') {
			b->state = S_SIZE_LF;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		/* The extension's bytes count from here. */
		b->line_bytes = 1;
		if (c == ';') {
			b->state = S_EXT_PRE_NAME;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (is_ws(c)) {
			b->state = S_EXT_PRE_SEMI;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		return PC_HTTP_BODY_BAD_CHUNK_SIZE;
	}
	case S_EXT_PRE_SEMI:
		/* BWS that ends the line is not chunk-ext: "1 \r\n" is bad. */
		if (is_ws(c))
			return PC_HTTP_BODY_INCOMPLETE;
		if (c == ';') {
			b->state = S_EXT_PRE_NAME;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		return PC_HTTP_BODY_BAD_CHUNK_EXT;
	case S_EXT_PRE_NAME:
		if (is_ws(c))
			return PC_HTTP_BODY_INCOMPLETE;
		if (is_tchar(c)) {
			b->state = S_EXT_NAME;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		return PC_HTTP_BODY_BAD_CHUNK_EXT;
	case S_EXT_NAME:
		if (is_tchar(c))
			return PC_HTTP_BODY_INCOMPLETE;
		if (c == '=') {
			b->state = S_EXT_PRE_VAL;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (c == ';') {
			b->state = S_EXT_PRE_NAME;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (is_ws(c)) {
			b->state = S_EXT_PRE_EQ;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (c == '\r') {
			b->state = S_SIZE_LF;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		return PC_HTTP_BODY_BAD_CHUNK_EXT;
	case S_EXT_PRE_EQ:
		if (is_ws(c))
			return PC_HTTP_BODY_INCOMPLETE;
		if (c == '=') {
			b->state = S_EXT_PRE_VAL;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (c == ';') {
			b->state = S_EXT_PRE_NAME;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		return PC_HTTP_BODY_BAD_CHUNK_EXT;
	case S_EXT_PRE_VAL:
		if (is_ws(c))
			return PC_HTTP_BODY_INCOMPLETE;
		if (c == '"') {
			b->state = S_EXT_QS;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (is_tchar(c)) {
			b->state = S_EXT_TOKEN;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		return PC_HTTP_BODY_BAD_CHUNK_EXT;
	case S_EXT_QS:
		if (c == '"') {
			b->state = S_EXT_POST_QS;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (c == '\\') {
			b->state = S_EXT_QS_ESC;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		/* A CR inside quotes is a CTL, not the end of the line. */
		return is_qdtext(c) ? PC_HTTP_BODY_INCOMPLETE : PC_HTTP_BODY_BAD_CHUNK_EXT;
	case S_EXT_QS_ESC:
		if (!is_fval(c))
			return PC_HTTP_BODY_BAD_CHUNK_EXT;
		b->state = S_EXT_QS;
		return PC_HTTP_BODY_INCOMPLETE;
	case S_EXT_TOKEN:
		if (is_tchar(c))
			return PC_HTTP_BODY_INCOMPLETE;
		return ext_value_end(b, c);
	case S_EXT_POST_QS:
		return ext_value_end(b, c);
	case S_SIZE_LF:
		if (unlikely(c != '\n'))
			return PC_HTTP_BODY_BARE_CR;
		chunk_line_end(b);
		return PC_HTTP_BODY_INCOMPLETE;
	case S_DATA_CR:
		/* chunk-data is exactly chunk-size bytes (§7.1): a longer
		 * chunk is a framing disagreement, not extra data. */
		if (unlikely(c != '\r'))
			return PC_HTTP_BODY_MISSING_CHUNK_CRLF;
		b->state = S_DATA_LF;
		return PC_HTTP_BODY_INCOMPLETE;
	case S_DATA_LF:
		if (unlikely(c != '\n'))
			return PC_HTTP_BODY_BARE_CR;
		b->state = S_SIZE_FIRST;
		return PC_HTTP_BODY_INCOMPLETE;
	case S_TR_START:
		if (c == '\r') {
			b->state = S_END_LF;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		if (unlikely(is_ws(c)))
			/* §5.2 obs-fold after a field line; before the first
			 * one it is just not a field line. */
			return b->n_trailers ? PC_HTTP_BODY_TRAILER_OBS_FOLD : PC_HTTP_BODY_BAD_TRAILER;
		if (unlikely(!is_tchar(c)))
			return PC_HTTP_BODY_BAD_TRAILER;
		if (unlikely(++b->n_trailers > PC_HTTP_BODY_MAX_TRAILERS))
			return PC_HTTP_BODY_TOO_MANY_TRAILERS;
		b->name_match = name_narrow(PC_HTTP_BODY_ALL_NAMES, 0, c);
		b->line_bytes = 1;
		b->state = S_TR_NAME;
		return PC_HTTP_BODY_INCOMPLETE;
	case S_TR_NAME:
		if (is_tchar(c)) {
			b->name_match = name_narrow(b->name_match, b->line_bytes, c);
			b->line_bytes++;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		/* §5.1: no whitespace between name and colon. */
		if (unlikely(c != ':'))
			return PC_HTTP_BODY_BAD_TRAILER;
		if (unlikely(name_forbidden(b->name_match, b->line_bytes)))
			return PC_HTTP_BODY_FORBIDDEN_TRAILER;
		b->state = S_TR_VALUE;
		return PC_HTTP_BODY_INCOMPLETE;
	case S_TR_VALUE:
		if (is_fval(c))
			return PC_HTTP_BODY_INCOMPLETE;
		if (c == '\r') {
			b->state = S_TR_LF;
			return PC_HTTP_BODY_INCOMPLETE;
		}
		return PC_HTTP_BODY_BAD_TRAILER;
	case S_TR_LF:
		if (unlikely(c != '\n'))
			return PC_HTTP_BODY_BARE_CR;
		b->state = S_TR_START;
		return PC_HTTP_BODY_INCOMPLETE;
	case S_END_LF:
		if (unlikely(c != '\n'))
			return PC_HTTP_BODY_BARE_CR;
		b->state = S_DONE;
		return PC_HTTP_BODY_OK;
	default:
		/* Data, done and error states never reach step(); a corrupt
		 * tracker fails closed. */
		return PC_HTTP_BODY_BAD_FRAMING;
	}
}

int pc_http_body_init(struct pc_http_body *b, int64_t content_length, bool chunked)
{
	memset(b, 0, sizeof(*b));
	/* The head parser rejects both together (RFC 9112 §6.1); a caller
	 * that let them through gets no framing it could trust. */
	if (unlikely(content_length < -1 || (chunked && content_length >= 0))) {
		b->state = S_ERROR;
		b->reason = PC_HTTP_BODY_BAD_FRAMING;
		return -EINVAL;
	}
	if (chunked) {
		b->state = S_SIZE_FIRST;
	} else if (content_length > 0) {
		b->state = S_CL_DATA;
		b->remain = (uint64_t)content_length;
	} else {
		b->state = S_DONE;
	}
	return 0;
}

enum pc_http_body_reason pc_http_body_feed(struct pc_http_body *b, const void *data, size_t len,
					   size_t *used)
{
	const unsigned char *p = data;
	enum pc_http_body_reason r;
	size_t i = 0;

	if (b->state == S_DONE) {
		*used = 0;
		return PC_HTTP_BODY_OK;
	}
	if (unlikely(b->state == S_ERROR)) {
		*used = 0;
		return (enum pc_http_body_reason)b->reason;
	}

	while (i < len) {
		if (b->state == S_CL_DATA || b->state == S_DATA) {
			uint64_t n = b->remain < len - i ? b->remain : (uint64_t)(len - i);

			i += (size_t)n;
			b->remain -= n;
			b->data_bytes += n;
			if (b->remain != 0)
				break;
			if (b->state == S_CL_DATA) {
				b->state = S_DONE;
				*used = i;
				return PC_HTTP_BODY_OK;
			}
			b->state = S_DATA_CR;
			continue;
		}
		r = step(b, p[i]);
		if (likely(r == PC_HTTP_BODY_INCOMPLETE)) {
			i++;
			continue;
		}
		if (r == PC_HTTP_BODY_OK) {
			*used = i + 1;
			return r;
		}
		b->state = S_ERROR;
		b->reason = (uint8_t)r;
		*used = i;
		return r;
	}
	*used = len;
	return PC_HTTP_BODY_INCOMPLETE;
}

const char *pc_http_body_reason_name(enum pc_http_body_reason r)
{
	static const char *const names[PC_HTTP_BODY_REASON_COUNT] = {
#define PC_X(name, text) [PC_HTTP_BODY_##name] = text,
		PC_HTTP_BODY_REASONS(PC_X)
#undef PC_X
	};

	if ((unsigned)r >= PC_HTTP_BODY_REASON_COUNT)
		return "http_body_unknown_reason";
	return names[r];
}
