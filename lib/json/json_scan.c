/* SPDX-License-Identifier: BSD-3-Clause
 *
 * JSON object scanner (RFC 8259). The design goal is a single forward pass
 * with no recursion and no allocation:
 *  - strings are skipped 16 bytes at a time with SSE2 until a quote,
 *    backslash, control character or non-ASCII byte shows up; only those
 *    bytes take the slow path (escape and UTF-8 checks);
 *  - nested containers are validated by one iterative state machine whose
 *    stack is a 64-bit word (one bit per level: object or array), which is
 *    why PC_JSON_MAX_DEPTH may not exceed 64;
 *  - duplicate detection compares a new name against the names recorded so
 *    far: cheap for the few dozen members of a claim set, and names without
 *    escapes (nearly all) compare with one length check and memcmp.
 * Every read is preceded by a bound check against end, and running out of
 * input anywhere is PC_JSON_TRUNCATED, never an error that depends on what
 * the missing bytes could have been.
 *
 * Fast paths. JWT headers and claim sets are nearly always short, flat,
 * compact objects of plain ASCII strings and integers, and a fresh token is
 * scanned twice per decision (header and claims), so pc_json_scan_object()
 * first tries scan_flat(): one vector pass marks every quote in a bitmap and
 * rejects the document outright if it holds a backslash, a control
 * character (whitespace included) or a non-ASCII byte; strings then end at
 * the next quote bit, with no per-byte work. It takes only what the general
 * scanner accepts with the same members (no whitespace, unescaped strings,
 * integers without fraction or exponent, literals, no nesting, no
 * duplicate, exactly the whole buffer) and gives up on anything else, in
 * which case the general scanner reads the document from the start: every
 * error, every reason and every unusual document is the general path's.
 * pc_json_int() likewise converts a plain integer of up to 18 digits
 * directly. json_scan_priv.h exports the general paths for the tests that
 * hold the two against each other.
 */
#include "json/json_scan.h"
#include "json/json_scan_priv.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

_Static_assert(PC_JSON_MAX_DEPTH <= 64, "the container stack is one 64-bit word");

static const char *const reason_names[] = {
#define PC_X(name, text) text,
	PC_JSON_REASONS(PC_X)
#undef PC_X
};

const char *pc_json_reason_name(enum pc_json_reason r)
{
	if ((unsigned)r >= PC_ARRAY_SIZE(reason_names))
		return "json_unknown_reason";
	return reason_names[r];
}

/* ---- lexical pieces ---- */

/* RFC 8259 §2: ws = *( %x20 / %x09 / %x0A / %x0D ) */
static inline const char *skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	return p;
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

/* The first byte at or after p that needs a closer look inside a string:
 * '"', '\\', a control character or a non-ASCII byte; end when none. */
static inline const char *skip_plain(const char *p, const char *end)
{
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	while (end - p >= 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* Signed compare: bytes >= 0x80 are negative, so "< 0x20"
		 * catches control characters and non-ASCII in one test. */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote),
						      _mm_cmpeq_epi8(v, bslash)),
					 _mm_cmplt_epi8(v, space));
		unsigned mask = (unsigned)_mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz(mask);
		p += 16;
	}
#endif
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
			return p;
		p++;
	}
	return p;
}

/* Read 4 hex digits at p (p < end). */
static enum pc_json_reason read_hex4(const char *p, const char *end, uint32_t *cp)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		if (unlikely(p + i >= end))
			return PC_JSON_TRUNCATED;
		int h = hexval((unsigned char)p[i]);
		if (unlikely(h < 0))
			return PC_JSON_BAD_ESCAPE;
		v = v << 4 | (uint32_t)h;
	}
	*cp = v;
	return PC_JSON_OK;
}

/* *pp at a backslash inside a string; on success *pp is past the escape
 * (past both halves of a surrogate pair). RFC 8259 §7. */
static enum pc_json_reason scan_escape(const char **pp, const char *end)
{
	const char *p = *pp + 1;
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	switch (*p) {
	case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
		*pp = p + 1;
		return PC_JSON_OK;
	case 'u':
		break;
	default:
		return PC_JSON_BAD_ESCAPE;
	}
	uint32_t cp;
	enum pc_json_reason r = read_hex4(p + 1, end, &cp);
	if (r != PC_JSON_OK)
		return r;
	p += 5;
	if (cp >= 0xdc00 && cp <= 0xdfff)
		return PC_JSON_LONE_SURROGATE;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* §8.2: only a following low surrogate escape makes this a
		 * character; anything else is a lone surrogate. */
		if (unlikely(p >= end))
			return PC_JSON_TRUNCATED;
		if (*p != '\\')
			return PC_JSON_LONE_SURROGATE;
		if (unlikely(p + 1 >= end))
			return PC_JSON_TRUNCATED;
		if (p[1] != 'u')
			return PC_JSON_LONE_SURROGATE;
		uint32_t lo;
		r = read_hex4(p + 2, end, &lo);
		if (r != PC_JSON_OK)
			return r;
		if (lo < 0xdc00 || lo > 0xdfff)
			return PC_JSON_LONE_SURROGATE;
		p += 6;
	}
	*pp = p;
	return PC_JSON_OK;
}

/* *pp at a byte >= 0x80 inside a string: check one UTF-8 sequence (RFC 3629
 * §4, the table that excludes overlongs, surrogates and > U+10FFFF). */
static enum pc_json_reason scan_utf8(const char **pp, const char *end)
{
	const unsigned char *p = (const unsigned char *)*pp;
	unsigned char c = p[0];
	unsigned need;
	unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */

	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return PC_JSON_BAD_UTF8;
	}
	for (unsigned i = 1; i <= need; i++) {
		if (unlikely((const char *)p + i >= end))
			return PC_JSON_TRUNCATED;
		unsigned char b = p[i];
		if (i == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xbf))
			return PC_JSON_BAD_UTF8;
	}
	*pp = (const char *)p + need + 1;
	return PC_JSON_OK;
}

/* *pp just past an opening quote. On success *pp is just past the closing
 * quote. RFC 8259 §7: no unescaped U+0000..U+001F, valid escapes only. */
static enum pc_json_reason scan_string(const char **pp, const char *end, uint8_t *escaped)
{
	const char *p = *pp;
	uint8_t esc = 0;
	enum pc_json_reason r;

	for (;;) {
		p = skip_plain(p, end);
		if (unlikely(p >= end))
			return PC_JSON_TRUNCATED;
		unsigned char c = (unsigned char)*p;
		if (c == '"') {
			*pp = p + 1;
			*escaped = esc;
			return PC_JSON_OK;
		}
		if (c == '\\') {
			esc = 1;
			r = scan_escape(&p, end);
		} else if (c < 0x20) {
			return PC_JSON_CONTROL_CHAR;
		} else {
			r = scan_utf8(&p, end);
		}
		if (unlikely(r != PC_JSON_OK))
			return r;
	}
}

/* RFC 8259 §6: number = [ minus ] int [ frac ] [ exp ], int = zero /
 * ( digit1-9 *DIGIT ). *pp at '-' or a digit. */
static enum pc_json_reason scan_number(const char **pp, const char *end)
{
	const char *p = *pp;

	if (*p == '-') {
		p++;
		if (unlikely(p >= end))
			return PC_JSON_TRUNCATED;
	}
	if (*p == '0') {
		p++;
		/* a leading zero may not be followed by more digits */
		if (p < end && *p >= '0' && *p <= '9')
			return PC_JSON_BAD_NUMBER;
	} else if (*p >= '1' && *p <= '9') {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	} else {
		return PC_JSON_BAD_NUMBER;
	}
	if (p < end && *p == '.') {
		p++;
		if (unlikely(p >= end))
			return PC_JSON_TRUNCATED;
		if (*p < '0' || *p > '9')
			return PC_JSON_BAD_NUMBER;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (unlikely(p >= end))
			return PC_JSON_TRUNCATED;
		if (*p == '+' || *p == '-') {
			p++;
			if (unlikely(p >= end))
				return PC_JSON_TRUNCATED;
		}
		if (*p < '0' || *p > '9')
			return PC_JSON_BAD_NUMBER;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	*pp = p;
	return PC_JSON_OK;
}

/* RFC 8259 §3: the literal names, lowercase only. */
static enum pc_json_reason scan_literal(const char **pp, const char *end, uint8_t *kind)
{
	const char *p = *pp;
	const char *lit;
	size_t n;

	switch (*p) {
	case 't': lit = "true"; n = 4; *kind = PC_JSON_TRUE; break;
	case 'f': lit = "false"; n = 5; *kind = PC_JSON_FALSE; break;
	default: lit = "null"; n = 4; *kind = PC_JSON_NULL; break;
	}
	for (size_t i = 1; i < n; i++) {
		if (unlikely(p + i >= end))
			return PC_JSON_TRUNCATED;
		if (p[i] != lit[i])
			return PC_JSON_UNEXPECTED_CHAR;
	}
	*pp = p + n;
	return PC_JSON_OK;
}

/* *pp at '{' or '[' of a value nested depth levels deep (the top object is
 * level 1). Validates the whole container iteratively. */
static enum pc_json_reason skip_container(const char **pp, const char *end, unsigned depth)
{
	const char *p = *pp;
	uint64_t is_obj = 0; /* bit 0 = innermost open container is an object */
	unsigned open = 0;
	enum pc_json_reason r;
	uint8_t dummy;

open_container:
	if (unlikely(depth + open + 1 > PC_JSON_MAX_DEPTH))
		return PC_JSON_TOO_DEEP;
	is_obj = is_obj << 1 | (*p == '{');
	open++;
	p = skip_ws(p + 1, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	if (*p == ((is_obj & 1) ? '}' : ']')) {
		p++;
		goto close_container;
	}
	if (!(is_obj & 1))
		goto value;
key:
	if (unlikely(*p != '"'))
		return PC_JSON_UNEXPECTED_CHAR;
	p++;
	r = scan_string(&p, end, &dummy);
	if (unlikely(r != PC_JSON_OK))
		return r;
	p = skip_ws(p, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	if (unlikely(*p != ':'))
		return PC_JSON_UNEXPECTED_CHAR;
	p = skip_ws(p + 1, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
value:
	switch (*p) {
	case '{': case '[':
		goto open_container;
	case '"':
		p++;
		r = scan_string(&p, end, &dummy);
		break;
	case 't': case 'f': case 'n':
		r = scan_literal(&p, end, &dummy);
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		r = scan_number(&p, end);
		break;
	case '+': case '.':
		return PC_JSON_BAD_NUMBER;
	default:
		return PC_JSON_UNEXPECTED_CHAR;
	}
	if (unlikely(r != PC_JSON_OK))
		return r;
after_value:
	p = skip_ws(p, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	if (*p == ',') {
		p = skip_ws(p + 1, end);
		if (unlikely(p >= end))
			return PC_JSON_TRUNCATED;
		if (is_obj & 1)
			goto key;
		goto value;
	}
	if (*p != ((is_obj & 1) ? '}' : ']'))
		return PC_JSON_UNEXPECTED_CHAR;
	p++;
close_container:
	is_obj >>= 1;
	if (--open == 0) {
		*pp = p;
		return PC_JSON_OK;
	}
	goto after_value;
}

/* *pp at the first byte of a member value (p < end). Strings first, then
 * numbers: what claim sets and request bodies are mostly made of. */
static enum pc_json_reason scan_value(const char **pp, const char *end, struct pc_json_value *v)
{
	const char *p = *pp;
	const char *start = p;
	unsigned char c = (unsigned char)*p;
	enum pc_json_reason r;

	v->escaped = 0;
	if (c == '"') {
		p++;
		r = scan_string(&p, end, &v->escaped);
		if (unlikely(r != PC_JSON_OK))
			return r;
		v->kind = PC_JSON_STRING;
		v->raw.p = start + 1;
		v->raw.len = (uint32_t)(p - start - 2);
		*pp = p;
		return PC_JSON_OK;
	}
	if ((c >= '0' && c <= '9') || c == '-') {
		v->kind = PC_JSON_NUMBER;
		r = scan_number(&p, end);
	} else if (c == '[' || c == '{') {
		v->kind = c == '{' ? PC_JSON_OBJECT : PC_JSON_ARRAY;
		r = skip_container(&p, end, 1);
	} else if (c == 't' || c == 'f' || c == 'n') {
		r = scan_literal(&p, end, &v->kind);
	} else if (c == '+' || c == '.') {
		return PC_JSON_BAD_NUMBER;
	} else {
		return PC_JSON_UNEXPECTED_CHAR;
	}
	if (unlikely(r != PC_JSON_OK))
		return r;
	v->raw.p = start;
	v->raw.len = (uint32_t)(p - start);
	*pp = p;
	return PC_JSON_OK;
}

/* ---- unescaping, one byte at a time, for comparisons without a copy ---- */

struct unesc {
	const char *p;
	const char *end;
	uint8_t buf[4];
	uint8_t n; /* bytes pending in buf */
	uint8_t i; /* next pending byte */
};

static inline void unesc_init(struct unesc *u, const struct pc_json_value *v)
{
	u->p = v->raw.p;
	u->end = v->raw.p + v->raw.len;
	u->n = u->i = 0;
}

static unsigned utf8_encode(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return 4;
}

static uint32_t hex4_trusted(const char *p)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 4 | (uint32_t)hexval((unsigned char)p[i]);
	return v;
}

/* The next unescaped byte, or -1 at the end. The input was validated by the
 * scanner; the bound checks only keep a misuse from reading past the view. */
static int unesc_next(struct unesc *u)
{
	if (u->i < u->n)
		return u->buf[u->i++];
	if (u->p >= u->end)
		return -1;
	unsigned char c = (unsigned char)*u->p;
	if (c != '\\') {
		u->p++;
		return c;
	}
	if (u->end - u->p < 2)
		return -1;
	char e = u->p[1];
	u->p += 2;
	switch (e) {
	case 'b': return '\b';
	case 'f': return '\f';
	case 'n': return '\n';
	case 'r': return '\r';
	case 't': return '\t';
	case 'u': break;
	default: return (unsigned char)e; /* '"', '\\', '/' */
	}
	if (u->end - u->p < 4)
		return -1;
	uint32_t cp = hex4_trusted(u->p);
	u->p += 4;
	if (cp >= 0xd800 && cp <= 0xdbff && u->end - u->p >= 6) {
		uint32_t lo = hex4_trusted(u->p + 2);
		u->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	}
	u->n = (uint8_t)utf8_encode(cp, u->buf);
	u->i = 1;
	return u->buf[0];
}

static bool escaped_eq(const struct pc_json_value *a, const struct pc_json_value *b)
{
	struct unesc ua, ub;
	unesc_init(&ua, a);
	unesc_init(&ub, b);
	for (;;) {
		int ca = unesc_next(&ua), cb = unesc_next(&ub);
		if (ca != cb)
			return false;
		if (ca < 0)
			return true;
	}
}

static inline bool key_eq(const struct pc_json_value *a, const struct pc_json_value *b)
{
	if (!(a->escaped | b->escaped))
		return a->raw.len == b->raw.len &&
		       (a->raw.len == 0 || (a->raw.p[0] == b->raw.p[0] &&
					    memcmp(a->raw.p, b->raw.p, a->raw.len) == 0));
	return escaped_eq(a, b);
}

bool pc_json_str_eq(const struct pc_json_value *v, const char *s, size_t len)
{
	if (v->kind != PC_JSON_STRING)
		return false;
	if (!v->escaped)
		return v->raw.len == len && memcmp(v->raw.p, s, len) == 0;
	struct unesc u;
	unesc_init(&u, v);
	for (size_t i = 0; i < len; i++)
		if (unesc_next(&u) != (unsigned char)s[i])
			return false;
	return unesc_next(&u) < 0;
}

bool pc_json_str_has_word(const struct pc_json_value *v, const char *word, size_t len)
{
	struct unesc u;
	size_t pos = 0;
	bool match = true;

	if (v->kind != PC_JSON_STRING || len == 0)
		return false;
	unesc_init(&u, v);
	for (;;) {
		int c = unesc_next(&u);
		if (c < 0 || c == ' ') {
			if (match && pos == len)
				return true;
			if (c < 0)
				return false;
			pos = 0;
			match = true;
		} else if (match && pos < len && (unsigned char)word[pos] == c) {
			pos++;
		} else {
			match = false;
		}
	}
}

enum pc_json_reason pc_json_unescape(const struct pc_json_value *v, char *buf, size_t cap,
				     size_t *out_len)
{
	if (v->kind != PC_JSON_STRING)
		return PC_JSON_WRONG_TYPE;
	if (!v->escaped) {
		if (unlikely(v->raw.len > cap))
			return PC_JSON_NO_SPACE;
		memcpy(buf, v->raw.p, v->raw.len);
		*out_len = v->raw.len;
		return PC_JSON_OK;
	}
	struct unesc u;
	size_t n = 0;
	int c;
	unesc_init(&u, v);
	while ((c = unesc_next(&u)) >= 0) {
		if (unlikely(n >= cap))
			return PC_JSON_NO_SPACE;
		buf[n++] = (char)c;
	}
	*out_len = n;
	return PC_JSON_OK;
}

/* ---- the scanner ---- */

/* The steps of a top-level object (RFC 8259 §4), shared by the two scanners
 * below; each moves *pp and returns PC_JSON_OK or the reason to reject. */

/* ws '{' ws: *empty says the object closes at once (*pp then past its '}'). */
static inline enum pc_json_reason object_open(const char **pp, const char *buf, size_t len,
					      bool *empty)
{
	const char *end = buf + len;
	/* views carry 32-bit lengths */
	if (unlikely(len > UINT32_MAX))
		return PC_JSON_TOO_LARGE;
	const char *p = skip_ws(buf, end);
	if (unlikely(p >= end))
		return PC_JSON_EMPTY;
	/* RFC 7519 §7.2 step 4 and our own use: the text must be an object */
	if (unlikely(*p != '{'))
		return PC_JSON_NOT_OBJECT;
	p = skip_ws(p + 1, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	*empty = *p == '}';
	*pp = *empty ? p + 1 : p;
	return PC_JSON_OK;
}

/* member = string name-separator value, into *m (filled in place: building
 * a member on the stack and copying it costs a store-forwarding stall). */
static inline enum pc_json_reason object_member(const char **pp, const char *end,
						struct pc_json_member *m)
{
	const char *p = *pp;
	enum pc_json_reason r;
	if (unlikely(*p != '"'))
		return PC_JSON_UNEXPECTED_CHAR;
	p++;
	m->key.raw.p = p;
	r = scan_string(&p, end, &m->key.escaped);
	if (unlikely(r != PC_JSON_OK))
		return r;
	m->key.kind = PC_JSON_STRING;
	m->key.raw.len = (uint32_t)(p - 1 - m->key.raw.p);
	p = skip_ws(p, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	if (unlikely(*p != ':'))
		return PC_JSON_UNEXPECTED_CHAR;
	p = skip_ws(p + 1, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	r = scan_value(&p, end, &m->value);
	*pp = p;
	return r;
}

/* After a member: ws '}' (*closed, *pp past it) or ws ',' ws. */
static inline enum pc_json_reason object_next(const char **pp, const char *end, bool *closed)
{
	const char *p = skip_ws(*pp, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	*closed = *p == '}';
	if (*closed) {
		*pp = p + 1;
		return PC_JSON_OK;
	}
	if (unlikely(*p != ','))
		return PC_JSON_UNEXPECTED_CHAR;
	p = skip_ws(p + 1, end);
	if (unlikely(p >= end))
		return PC_JSON_TRUNCATED;
	*pp = p;
	return PC_JSON_OK;
}

/* §2: JSON-text = ws value ws */
static inline enum pc_json_reason object_close(const char *p, const char *end)
{
	return unlikely(skip_ws(p, end) != end) ? PC_JSON_TRAILING_DATA : PC_JSON_OK;
}

/* ---- the flat-object fast path ---- */

/* Longest document scan_flat() takes: its quote bitmap lives on the stack. */
#define FLAT_MAX 512
#define FLAT_WORDS (FLAT_MAX / 64)

/* Quote bits of buf[0..len) (len <= FLAT_MAX) into q[0..FLAT_WORDS), which
 * must be zero. Returns false when a byte the fast path never takes occurs
 * anywhere: a backslash (escapes), a byte below 0x20 (control characters,
 * and the whitespace a compact document has none of) or above 0x7f
 * (UTF-8, which the general path validates). */
static inline bool flat_classify(const char *buf, size_t len, uint64_t *q)
{
	size_t i = 0;
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"');
	const __m128i bslash = _mm_set1_epi8('\\');
	const __m128i space = _mm_set1_epi8(0x20);
	__m128i bad = _mm_setzero_si128();
	for (; i + 16 <= len; i += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + i));
		/* signed: bytes >= 0x80 are negative, below 0x20 as well */
		bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, bslash),
						     _mm_cmplt_epi8(v, space)));
		q[i >> 6] |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote))
			     << (i & 63);
	}
	if (i < len && i >= 16) {
		/* the tail: the last 16 bytes again, their bits for the bytes
		 * already seen shifted out (a copy into a padded block would
		 * stall the load on the copy's stores); i is a multiple of 16,
		 * so the rest lands in word i / 64 */
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(buf + len - 16));
		bad = _mm_or_si128(bad, _mm_or_si128(_mm_cmpeq_epi8(v, bslash),
						     _mm_cmplt_epi8(v, space)));
		unsigned qm = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, quote));
		q[i >> 6] |= (uint64_t)(qm >> (16 - (len - i))) << (i & 63);
		i = len;
	}
	unsigned tail_bad = (unsigned)_mm_movemask_epi8(bad);
#else
	unsigned tail_bad = 0;
#endif
	for (; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		tail_bad |= c == '\\' || c < 0x20 || c >= 0x80;
		q[i >> 6] |= (uint64_t)(c == '"') << (i & 63);
	}
	return tail_bad == 0;
}

/* Position of the first quote at or after from (< len), or len. */
static inline size_t flat_next_quote(const uint64_t *q, size_t from, size_t len)
{
	if (unlikely(from >= len))
		return len;
	size_t w = from >> 6;
	uint64_t bits = q[w] & (~UINT64_C(0) << (from & 63));
	while (bits == 0) {
		if (++w >= FLAT_WORDS || w << 6 >= len)
			return len;
		bits = q[w];
	}
	return (w << 6) + (size_t)__builtin_ctzll(bits);
}

/* buf[0..len) as a compact flat object, into members[0..max_members):
 * true with *n_members set, or false when the document is anything else
 * (valid or not), and then the general scanner decides. What it accepts,
 * the general scanner accepts with the same members: strings here hold
 * only bytes 0x20..0x7f other than '"' and '\\' (RFC 8259 §7: unescaped
 * characters), numbers are §6's int with an optional minus and nothing
 * after it but ',' or '}', literals are §3's, and a duplicate name gives
 * up rather than answer. */
static bool scan_flat(const char *buf, size_t len, struct pc_json_member *members,
		      unsigned max_members, unsigned *n_members)
{
	uint64_t q[FLAT_WORDS] = { 0 };
	unsigned n = 0;
	size_t p = 1;

	if (len < 2 || len > FLAT_MAX || buf[0] != '{' || !flat_classify(buf, len, q))
		return false;
	if (buf[1] == '}') {
		*n_members = 0;
		return len == 2;
	}
	for (;;) {
		if (p >= len || buf[p] != '"' || n >= max_members)
			return false;
		struct pc_json_member *m = &members[n];
		size_t ke = flat_next_quote(q, p + 1, len);
		/* key, ':', and at least one byte of value */
		if (ke + 2 >= len || buf[ke + 1] != ':')
			return false;
		m->key.raw.p = buf + p + 1;
		m->key.raw.len = (uint32_t)(ke - p - 1);
		m->key.kind = PC_JSON_STRING;
		m->key.escaped = 0;
		p = ke + 2;
		size_t vs = p;
		unsigned char c = (unsigned char)buf[p];
		m->value.escaped = 0;
		if (c == '"') {
			size_t ve = flat_next_quote(q, p + 1, len);
			if (ve >= len)
				return false;
			m->value.kind = PC_JSON_STRING;
			m->value.raw.p = buf + p + 1;
			m->value.raw.len = (uint32_t)(ve - p - 1);
			p = ve + 1;
		} else {
			if (c == '-' || (c >= '0' && c <= '9')) {
				if (c == '-' && ++p >= len)
					return false;
				c = (unsigned char)buf[p];
				if (c == '0') {
					p++;
				} else if (c >= '1' && c <= '9') {
					do
						p++;
					while (p < len && buf[p] >= '0' && buf[p] <= '9');
				} else {
					return false;
				}
				m->value.kind = PC_JSON_NUMBER;
			} else if (c == 't' && len - p >= 4 && memcmp(buf + p, "true", 4) == 0) {
				m->value.kind = PC_JSON_TRUE;
				p += 4;
			} else if (c == 'f' && len - p >= 5 && memcmp(buf + p, "false", 5) == 0) {
				m->value.kind = PC_JSON_FALSE;
				p += 5;
			} else if (c == 'n' && len - p >= 4 && memcmp(buf + p, "null", 4) == 0) {
				m->value.kind = PC_JSON_NULL;
				p += 4;
			} else {
				return false; /* nested, or not a value */
			}
			m->value.raw.p = buf + vs;
			m->value.raw.len = (uint32_t)(p - vs);
		}
		/* claim names are short and often of one length ("iss", "exp",
		 * "sub"): the end bytes tell most apart without a call */
		const uint32_t kl = m->key.raw.len;
		const char *kp = m->key.raw.p;
		for (unsigned i = 0; i < n; i++) {
			const struct pc_json_value *o = &members[i].key;
			if (o->raw.len == kl &&
			    (kl == 0 || (o->raw.p[0] == kp[0] && o->raw.p[kl - 1] == kp[kl - 1] &&
					 memcmp(o->raw.p, kp, kl) == 0)))
				return false;
		}
		n++;
		/* a number that goes on ('.', 'e', a digit after a leading zero)
		 * meets neither and is the general path's */
		if (p >= len)
			return false;
		if (buf[p] == '}') {
			*n_members = n;
			return p + 1 == len;
		}
		if (buf[p] != ',')
			return false;
		p++;
	}
}

enum pc_json_reason pc_json_scan_object(const char *buf, size_t len,
					struct pc_json_member *members,
					unsigned max_members, unsigned *n_members)
{
	if (likely(scan_flat(buf, len, members, max_members, n_members)))
		return PC_JSON_OK;
	return pc__json_scan_object_general(buf, len, members, max_members, n_members);
}

enum pc_json_reason pc__json_scan_object_general(const char *buf, size_t len,
						 struct pc_json_member *members,
						 unsigned max_members, unsigned *n_members)
{
	const char *end = buf + len;
	const char *p;
	unsigned n = 0;
	bool closed;

	*n_members = 0;
	enum pc_json_reason r = object_open(&p, buf, len, &closed);
	while (r == PC_JSON_OK && !closed) {
		struct pc_json_member *m = &members[n];
		if (unlikely(n >= max_members))
			return PC_JSON_TOO_MANY_MEMBERS;
		r = object_member(&p, end, m);
		if (unlikely(r != PC_JSON_OK))
			return r;
		/* §4 says names SHOULD be unique; RFC 7519 §4 lets a JWT parser
		 * reject duplicates, and we do for every document. */
		for (unsigned i = 0; i < n; i++)
			if (unlikely(key_eq(&members[i].key, &m->key)))
				return PC_JSON_DUPLICATE_KEY;
		n++;
		r = object_next(&p, end, &closed);
	}
	if (r == PC_JSON_OK)
		r = object_close(p, end);
	if (r == PC_JSON_OK)
		*n_members = n;
	return r;
}

enum pc_json_reason pc_json_scan_pick(const char *buf, size_t len, const struct pc_str *keys,
				      unsigned n_keys, struct pc_json_value *values)
{
	const char *end = buf + len;
	const char *p;
	bool closed;

	for (unsigned k = 0; k < n_keys; k++)
		values[k] = (struct pc_json_value){ .kind = PC_JSON_NONE };
	enum pc_json_reason r = object_open(&p, buf, len, &closed);
	while (r == PC_JSON_OK && !closed) {
		struct pc_json_member m;
		r = object_member(&p, end, &m);
		if (unlikely(r != PC_JSON_OK))
			return r;
		for (unsigned k = 0; k < n_keys; k++) {
			if (!pc_json_str_eq(&m.key, keys[k].p, keys[k].len))
				continue;
			/* §4: names SHOULD be unique; a backend may take the first
			 * or the last of two, so a field we decide on must be
			 * unambiguous. */
			if (unlikely(values[k].kind != PC_JSON_NONE))
				return PC_JSON_DUPLICATE_KEY;
			values[k] = m.value;
			break;
		}
		r = object_next(&p, end, &closed);
	}
	return r == PC_JSON_OK ? object_close(p, end) : r;
}

const struct pc_json_member *pc_json_find(const struct pc_json_member *members, unsigned n,
					  const char *key, size_t key_len)
{
	for (unsigned i = 0; i < n; i++)
		if (pc_json_str_eq(&members[i].key, key, key_len))
			return &members[i];
	return NULL;
}

/* ---- numbers ---- */

/* Whether p[0..8) are eight decimal digits, and their value in *val: one
 * load and three multiplies rather than eight dependent multiply-adds. A
 * byte is a digit when its high nibble is 3 and adding 6 keeps it so
 * (0x30..0x39); a byte that carries into its neighbour fails its own test.
 * The digits are then paired (d0 * 10 + d1, ...), the pairs into fours, the
 * fours into eight, the most significant digit being the lowest byte. */
static inline bool digits8(const char *p, uint64_t *val)
{
	uint64_t v;
	memcpy(&v, p, 8);
	if (((v & UINT64_C(0xf0f0f0f0f0f0f0f0)) |
	     (((v + UINT64_C(0x0606060606060606)) & UINT64_C(0xf0f0f0f0f0f0f0f0)) >> 4)) !=
	    UINT64_C(0x3333333333333333))
		return false;
	v -= UINT64_C(0x3030303030303030);
	v = v * 10 + (v >> 8);
	v = ((v & UINT64_C(0x000000ff000000ff)) * (100 + (UINT64_C(1000000) << 32)) +
	     ((v >> 16) & UINT64_C(0x000000ff000000ff)) * (1 + (UINT64_C(10000) << 32))) >> 32;
	*val = (uint32_t)v;
	return true;
}

enum pc_json_reason pc_json_int(const struct pc_json_value *v, enum pc_json_round mode,
				int64_t *out)
{
	/* A NumericDate is nearly always a plain integer: [-] 1 to 18 digits
	 * fit int64_t whatever they are, with nothing to round. Anything else
	 * (fraction, exponent, 19 digits and more) is the general path's. */
	if (likely(v->kind == PC_JSON_NUMBER)) {
		const char *p = v->raw.p, *end = p + v->raw.len;
		bool neg = p < end && *p == '-';
		p += neg;
		if (end - p >= 1 && end - p <= 18) {
			uint64_t mag = 0, d8;
			while (end - p >= 8 && digits8(p, &d8)) {
				mag = mag * 100000000 + d8;
				p += 8;
			}
			while (p < end && (unsigned)(*p - '0') <= 9)
				mag = mag * 10 + (unsigned)(*p++ - '0');
			if (p == end) {
				*out = neg ? -(int64_t)mag : (int64_t)mag;
				return PC_JSON_OK;
			}
		}
	}
	return pc__json_int_general(v, mode, out);
}

enum pc_json_reason pc__json_int_general(const struct pc_json_value *v, enum pc_json_round mode,
					 int64_t *out)
{
	if (v->kind != PC_JSON_NUMBER)
		return PC_JSON_WRONG_TYPE;

	const char *p = v->raw.p, *end = p + v->raw.len;
	bool neg = false;
	if (p < end && *p == '-') {
		neg = true;
		p++;
	}
	const char *ip = p;
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	size_t ilen = (size_t)(p - ip);
	const char *fp = p;
	size_t flen = 0;
	if (p < end && *p == '.') {
		fp = ++p;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
		flen = (size_t)(p - fp);
	}
	int64_t e = 0;
	if (p < end && (*p == 'e' || *p == 'E')) {
		bool eneg = false;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = *p++ == '-';
		/* Saturate: past a few thousand the result is 0 or out of
		 * range whatever the digits are (they number < 2^32). */
		while (p < end && *p >= '0' && *p <= '9') {
			if (e < (int64_t)1 << 40)
				e = e * 10 + (*p - '0');
			p++;
		}
		if (eneg)
			e = -e;
	}
	if (ilen == 0 || p != end)
		return PC_JSON_WRONG_TYPE; /* not a validated number view */

	/* Digits d[0..total) with the decimal point after position point. */
	size_t total = ilen + flen;
	int64_t point = (int64_t)ilen + e;
#define DIGIT(i) ((size_t)(i) < ilen ? ip[(i)] - '0' : fp[(i) - ilen] - '0')
	bool all_zero = true;
	for (size_t i = 0; i < total && all_zero; i++)
		all_zero = DIGIT(i) == 0;
	if (all_zero) {
		*out = 0;
		return PC_JSON_OK;
	}
	uint64_t mag = 0;
	for (int64_t i = 0; i < point; i++) {
		unsigned d = (size_t)i < total ? (unsigned)DIGIT(i) : 0;
		if (mag > (UINT64_C(9223372036854775807) - d) / 10)
			return PC_JSON_OUT_OF_RANGE;
		mag = mag * 10 + d;
	}
	bool frac = false;
	for (size_t i = point > 0 ? (size_t)point : 0; i < total && !frac; i++)
		frac = DIGIT(i) != 0;
#undef DIGIT
	int64_t val = (int64_t)mag;
	if (neg) {
		val = -val;
		if (frac && mode == PC_JSON_ROUND_DOWN)
			val -= 1; /* >= -INT64_MAX - 1: no overflow */
	} else if (frac && mode == PC_JSON_ROUND_UP) {
		if (val == INT64_MAX)
			return PC_JSON_OUT_OF_RANGE;
		val += 1;
	}
	*out = val;
	return PC_JSON_OK;
}

/* ---- array iteration over validated text ---- */

enum pc_json_reason pc_json_array_begin(struct pc_json_iter *it, const struct pc_json_value *v)
{
	if (v->kind != PC_JSON_ARRAY || v->raw.len < 2)
		return PC_JSON_WRONG_TYPE;
	it->p = v->raw.p + 1;          /* past '[' */
	it->end = v->raw.p + v->raw.len - 1; /* at ']' */
	return PC_JSON_OK;
}

/* Skip a validated string; p just past the opening quote. */
static const char *skip_string_trusted(const char *p, const char *end, uint8_t *escaped)
{
	*escaped = 0;
	for (;;) {
		p = skip_plain(p, end);
		if (p >= end)
			return end;
		if (*p == '"')
			return p;
		if (*p == '\\') {
			*escaped = 1;
			p += end - p >= 2 ? 2 : 1;
		} else {
			p++;
		}
	}
}

bool pc_json_array_next(struct pc_json_iter *it, struct pc_json_value *elem)
{
	const char *p = skip_ws(it->p, it->end);
	const char *end = it->end;

	if (p < end && *p == ',')
		p = skip_ws(p + 1, end);
	if (p >= end)
		return false;

	const char *start = p;
	uint8_t esc = 0;
	elem->escaped = 0;
	switch (*p) {
	case '"':
		p = skip_string_trusted(p + 1, end, &esc);
		elem->kind = PC_JSON_STRING;
		elem->escaped = esc;
		elem->raw.p = start + 1;
		elem->raw.len = (uint32_t)(p - start - 1);
		it->p = p < end ? p + 1 : end;
		return true;
	case '{': case '[': {
		/* validated: only brackets outside strings count */
		unsigned depth = 0;
		elem->kind = *p == '{' ? PC_JSON_OBJECT : PC_JSON_ARRAY;
		while (p < end) {
			char c = *p;
			if (c == '"') {
				p = skip_string_trusted(p + 1, end, &esc);
				if (p < end)
					p++;
				continue;
			}
			p++;
			if (c == '{' || c == '[') {
				depth++;
			} else if (c == '}' || c == ']') {
				if (--depth == 0)
					break;
			}
		}
		break;
	}
	case 't': elem->kind = PC_JSON_TRUE; p += end - p < 4 ? end - p : 4; break;
	case 'f': elem->kind = PC_JSON_FALSE; p += end - p < 5 ? end - p : 5; break;
	case 'n': elem->kind = PC_JSON_NULL; p += end - p < 4 ? end - p : 4; break;
	default:
		elem->kind = PC_JSON_NUMBER;
		while (p < end && ((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' ||
				   *p == '.' || *p == 'e' || *p == 'E'))
			p++;
		break;
	}
	elem->raw.p = start;
	elem->raw.len = (uint32_t)(p - start);
	it->p = p;
	return true;
}

int pc_json_array_next_string(struct pc_json_iter *it, struct pc_json_value *elem)
{
	if (!pc_json_array_next(it, elem))
		return 0;
	return elem->kind == PC_JSON_STRING ? 1 : -1;
}
