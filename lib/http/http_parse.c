/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Strict HTTP/1.1 request-head parser (RFC 9112, RFC 9110).
 *
 * Design. One forward pass over the bytes, driven by a 256-entry class table
 * (field values and targets, most of a head, go 16 bytes at a time with
 * SSE2 where the compiler targets it), with no state kept between calls: the
 * caller hands in everything it has buffered and calls again when more has
 * arrived. Because the pass is strictly forward and every scanner checks its
 * input end, running out of bytes is just another exit of the same code,
 * so a broken request line is rejected from its first bad byte and does not
 * wait for CRLFCRLF. Syntax is judged byte by byte; the meaning of a field
 * (Host, Content-Length, Transfer-Encoding, Connection) and the target's form
 * when its line or token ends. So INCOMPLETE means "nothing seen so far is
 * wrong", and every strict prefix of a valid head is INCOMPLETE.
 *
 * Each line is bounded twice: by PC_HTTP_MAX_LINE from its own start and by
 * PC_HTTP_MAX_HEAD from the buffer start. The scanners run against the nearer
 * of the two ("lim"); when they hit it, ran_out() tells which bound it was.
 *
 * Every rule exists to keep the gateway's view of request boundaries, target
 * and Host identical to the backend's (RFC 9112 §11.2, request smuggling), so
 * the parser rejects where the RFCs allow a recipient to be lenient: no
 * obs-fold, no bare CR/LF, no Content-Length lists, Transfer-Encoding only as
 * a single "chunked", one Host, and no Connection option that would make a
 * later hop delete Host, Content-Length or Transfer-Encoding. Where a lenient
 * parser and a strict one could disagree, the byte-exact spelling wins and
 * anything else is a named reject.
 *
 * Host values (RFC 9110 §7.2, RFC 3986 §3.2.2) are narrowed further so that
 * policy can compare hosts byte for byte: a reg-name is ALPHA / DIGIT / "-" /
 * "." / "_" / "~" only (no pct-encoding, no sub-delims), with no empty label
 * (so no trailing dot) and at most 253 bytes; a name whose last label is
 * numeric (or 0x-hex) must be a canonical dotted-quad IPv4 address, since
 * resolvers and URL parsers (WHATWG URL "ends in a number") would read
 * "127.1" or "0x7f.1" as an address; IPv6 literals are kept with their
 * brackets in req->host, and IPvFuture is rejected.
 *
 * Other choices where the RFCs leave room: one empty line before the
 * request-line is skipped (RFC 9112 §2.2 SHOULD) and counted in head_len,
 * a second is BAD_REQUEST_LINE; absolute-form is "http://" only ("https://"
 * is BAD_TARGET) and its userinfo is rejected; CONNECT is BAD_TARGET
 * whatever its target; "Content_Length" and "Transfer_Encoding" are
 * BAD_HEADER_NAME, since CGI-style backends read '_' as '-'; Content-Length
 * takes at most 19 digits, leading zeros included.
 *
 * Strings that are absent (query, host) are empty but never NULL, so callers
 * may memcmp() them without a check. After a reject, *req holds whatever was
 * parsed so far and must not be used.
 */
#include "http/http_parse.h"

#include <arpa/inet.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

/* Byte classes, one bit each, so a scanner tests a single mask. */
#define C_TCHAR 0x01  /* token char, RFC 9110 §5.6.2 */
#define C_TARGET 0x02 /* request-target byte: VCHAR except '#' (RFC 9112 §3.2) */
#define C_FVAL 0x04   /* field-value byte incl. OWS: HTAB, SP, VCHAR, obs-text (RFC 9110 §5.5) */
#define C_HOST 0x08   /* reg-name byte we accept: unreserved (RFC 3986 §2.3) */
#define C_DIGIT 0x10
#define C_IP6 0x20 /* may appear inside an IPv6 literal: HEXDIG ":" "." */

static const uint8_t pc_http_cls[256] = {
	/* 0x00 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 0x08 */ 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 0x10 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 0x18 */ 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	/* 0x20 */ 0x04, 0x07, 0x06, 0x05, 0x07, 0x07, 0x07, 0x07,
	/* 0x28 */ 0x06, 0x06, 0x07, 0x07, 0x06, 0x0f, 0x2f, 0x06,
	/* 0x30 */ 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f,
	/* 0x38 */ 0x3f, 0x3f, 0x26, 0x06, 0x06, 0x06, 0x06, 0x06,
	/* 0x40 */ 0x06, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x0f,
	/* 0x48 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 0x50 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 0x58 */ 0x0f, 0x0f, 0x0f, 0x06, 0x06, 0x06, 0x07, 0x0f,
	/* 0x60 */ 0x07, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x2f, 0x0f,
	/* 0x68 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 0x70 */ 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f, 0x0f,
	/* 0x78 */ 0x0f, 0x0f, 0x0f, 0x06, 0x07, 0x06, 0x0f, 0x00,
	/* 0x80 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0x88 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0x90 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0x98 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xa0 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xa8 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xb0 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xb8 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xc0 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xc8 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xd0 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xd8 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xe0 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xe8 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xf0 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
	/* 0xf8 */ 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04,
};

#define PC_HTTP_HOST_MAX 253 /* longest DNS name in text form (RFC 1035 §2.3.4) */
#define PC_HTTP_LABEL_MAX 63

static inline bool is_ows(unsigned char c)
{
	return c == ' ' || c == '\t';
}

static inline unsigned char lower(unsigned char c)
{
	return (unsigned char)(c - 'A') < 26u ? (unsigned char)(c | 0x20) : c;
}

static bool ci_eq(const unsigned char *a, const unsigned char *b, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (lower(a[k]) != lower(b[k]))
			return false;
	return true;
}

/* Length of the run of field-value bytes (C_FVAL) at p[0..n). Values carry
 * most of a head's bytes (tokens, cookies, JWTs), so they are checked 16 at
 * a time where SSE2 exists; the table loop finishes the tail. */
static inline size_t scan_fval(const unsigned char *p, size_t n)
{
	size_t k = 0;
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(0x20), ht = _mm_set1_epi8('\t');
	const __m128i del = _mm_set1_epi8(0x7f), neg1 = _mm_set1_epi8(-1);

	for (; k + 16 <= n; k += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
		/* Signed compares: obs-text 0x80-0xff is negative and allowed,
		 * so a CTL is 0 <= c < 0x20 (HTAB excepted) or c == 0x7f. */
		__m128i bad = _mm_and_si128(_mm_cmplt_epi8(v, sp), _mm_cmpgt_epi8(v, neg1));
		bad = _mm_andnot_si128(_mm_cmpeq_epi8(v, ht), bad);
		bad = _mm_or_si128(bad, _mm_cmpeq_epi8(v, del));
		unsigned m = (unsigned)_mm_movemask_epi8(bad);
		if (m != 0)
			return k + (size_t)__builtin_ctz(m);
	}
#endif
	while (k < n && (pc_http_cls[p[k]] & C_FVAL))
		k++;
	return k;
}

/* Length of the run of request-target bytes (C_TARGET) at p[0..n). */
static inline size_t scan_target(const unsigned char *p, size_t n)
{
	size_t k = 0;
#ifdef __SSE2__
	const __m128i sp = _mm_set1_epi8(0x20), del = _mm_set1_epi8(0x7f);
	const __m128i hash = _mm_set1_epi8('#');

	for (; k + 16 <= n; k += 16) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + k));
		/* 0x21..0x7e is "greater than SP and less than DEL" in signed
		 * bytes too, since 0x80-0xff compare below SP. */
		__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(v, sp), _mm_cmplt_epi8(v, del));
		ok = _mm_andnot_si128(_mm_cmpeq_epi8(v, hash), ok);
		unsigned m = (unsigned)_mm_movemask_epi8(ok) ^ 0xffffu;
		if (m != 0)
			return k + (size_t)__builtin_ctz(m);
	}
#endif
	while (k < n && (pc_http_cls[p[k]] & C_TARGET))
		k++;
	return k;
}

/* Where the input ran out at offset i of a line that may not pass lmax:
 * the line bound, the head bound, or simply the end of what has arrived. */
static inline enum pc_http_reason ran_out(size_t i, size_t lmax, size_t len)
{
	if (i >= lmax)
		return PC_HTTP_LINE_TOO_LONG;
	return len >= PC_HTTP_MAX_HEAD ? PC_HTTP_HEAD_TOO_LARGE : PC_HTTP_INCOMPLETE;
}

/* A request-line field (method, target, version) stopped on byte b[i], which
 * is not its separator. CR/LF get their own reasons (RFC 9112 §2.2), even
 * when the line could not have been valid anyway; a CRLF that ends the line
 * too early is crlf_reason; anything else is other. A CR at the very end of
 * the input cannot start a valid continuation either, so it is crlf_reason
 * rather than INCOMPLETE. */
static enum pc_http_reason rl_stop(const unsigned char *b, size_t i, size_t n,
				   enum pc_http_reason crlf_reason, enum pc_http_reason other)
{
	if (b[i] == '\n')
		return PC_HTTP_BARE_LF;
	if (b[i] == '\r') {
		if (i + 1 < n && b[i + 1] != '\n')
			return PC_HTTP_BARE_CR;
		return crlf_reason;
	}
	return other;
}

/* Compare a field name with a lowercase literal made of letters and '-'.
 * Returns 1 on a case-insensitive match, 2 when the name matches only once
 * '_' is read as '-' ("Content_Length": some CGI-style backends fold the two,
 * so such a name would frame the body for them but not for us), 0 otherwise. */
static int name_is(const unsigned char *name, const char *lit, size_t n)
{
	int under = 0;

	for (size_t k = 0; k < n; k++) {
		unsigned char c = name[k];
		if (c == '_') {
			c = '-';
			under = 1;
		}
		/* lit holds only lowercase letters and '-', for which OR 0x20 is an
		 * exact case fold: no other tchar lands on them. */
		if ((unsigned char)(c | 0x20) != (unsigned char)lit[k])
			return 0;
	}
	return 1 + under;
}

/* WHATWG URL "ends in a number": a last label that is all digits or "0x"
 * followed by hex digits makes URL parsers and resolvers treat the whole
 * name as an IPv4 address. */
static bool label_is_number(const unsigned char *l, size_t n)
{
	size_t k = 0;

	if (n >= 2 && l[0] == '0' && (l[1] | 0x20) == 'x') {
		for (k = 2; k < n; k++)
			if (!(pc_http_cls[l[k]] & C_IP6) || l[k] == ':' || l[k] == '.')
				return false;
		return true;
	}
	for (; k < n; k++)
		if (!(pc_http_cls[l[k]] & C_DIGIT))
			return false;
	return true;
}

/* Canonical dotted-quad only: four decimal octets 0..255, no leading zeros
 * (a leading zero means octal to inet_aton()). */
static bool ipv4_canonical(const unsigned char *h, size_t n)
{
	size_t k = 0;

	for (int part = 0; part < 4; part++) {
		size_t s = k;
		unsigned v = 0;
		while (k < n && (pc_http_cls[h[k]] & C_DIGIT) && k - s < 3)
			v = v * 10 + (unsigned)(h[k++] - '0');
		if (k == s || v > 255 || (h[s] == '0' && k - s > 1))
			return false;
		if (part < 3) {
			if (k >= n || h[k] != '.')
				return false;
			k++;
		}
	}
	return k == n;
}

/* uri-host [ ":" port ] (RFC 9110 §7.2, RFC 3986 §3.2.2-3.2.3), narrowed as
 * the top-of-file comment says. On success fills *host (brackets kept for
 * IPv6) and *port (0 when absent) and returns 0; -1 when malformed. */
static int host_parse(const unsigned char *h, size_t hl, struct pc_str *host, uint16_t *port)
{
	size_t hend;

	if (unlikely(hl == 0))
		return -1;
	if (h[0] == '[') {
		const unsigned char *rb = memchr(h, ']', hl);
		char tmp[INET6_ADDRSTRLEN];
		unsigned char a6[16];

		if (rb == NULL)
			return -1;
		hend = (size_t)(rb - h) + 1;
		size_t al = hend - 2;
		/* IPvFuture ("v1.x") and zone ids fail the class test. */
		if (unlikely(al < 2 || al >= sizeof(tmp)))
			return -1;
		for (size_t k = 0; k < al; k++)
			if (!(pc_http_cls[h[1 + k]] & C_IP6))
				return -1;
		memcpy(tmp, h + 1, al);
		tmp[al] = '\0';
		if (inet_pton(AF_INET6, tmp, a6) != 1)
			return -1;
	} else {
		size_t lab = 0; /* start of the current label */

		for (hend = 0; hend < hl && (pc_http_cls[h[hend]] & C_HOST); hend++) {
			if (h[hend] != '.')
				continue;
			if (hend == lab || hend - lab > PC_HTTP_LABEL_MAX)
				return -1;
			lab = hend + 1;
		}
		/* Last label empty (trailing dot, or nothing at all) or too long. */
		if (hend == lab || hend - lab > PC_HTTP_LABEL_MAX || hend > PC_HTTP_HOST_MAX)
			return -1;
		if (label_is_number(h + lab, hend - lab) && !ipv4_canonical(h, hend))
			return -1;
	}

	*port = 0;
	if (hend < hl) {
		unsigned v = 0;
		size_t k = hend + 1;

		if (h[hend] != ':')
			return -1;
		/* port = 1*5DIGIT, 1..65535; an empty port is legal in RFC 3986
		 * but says nothing a policy could use. */
		if (hl - k < 1 || hl - k > 5)
			return -1;
		for (; k < hl; k++) {
			if (!(pc_http_cls[h[k]] & C_DIGIT))
				return -1;
			v = v * 10 + (unsigned)(h[k] - '0');
		}
		if (v == 0 || v > 65535)
			return -1;
		*port = (uint16_t)v;
	}
	host->p = (const char *)h;
	host->len = (uint32_t)hend;
	return 0;
}

/* True when t[0..tl) can still grow into an acceptable request-target; lets
 * a truncated request line be rejected before its SP arrives. */
static bool target_prefix_ok(const unsigned char *t, size_t tl, uint16_t method)
{
	static const char scheme[] = "http://";

	if (tl == 0)
		return method != PC_HTTP_CONNECT;
	if (t[0] == '/')
		return method != PC_HTTP_CONNECT;
	if (t[0] == '*')
		return tl == 1 && method == PC_HTTP_OPTIONS;
	for (size_t k = 0; k < tl && k < sizeof(scheme) - 1; k++)
		if (lower(t[k]) != (unsigned char)scheme[k])
			return false;
	return method != PC_HTTP_CONNECT;
}

/* Split a complete request-target into path and query by its form
 * (RFC 9112 §3.2). For absolute-form, *auth gets the authority's host and
 * *auth_port its port (0 when absent). */
static enum pc_http_reason target_split(const unsigned char *t, size_t tl, struct pc_http_req *req,
					struct pc_str *auth, uint16_t *auth_port)
{
	const unsigned char *q, *te = t + tl;
	const unsigned char *ps;

	/* CONNECT takes only authority-form (RFC 9110 §9.3.6), which a
	 * request-inspecting gateway cannot police: reject every CONNECT. */
	if (unlikely(req->method == PC_HTTP_CONNECT))
		return PC_HTTP_BAD_TARGET;

	if (likely(t[0] == '/')) {
		ps = t; /* origin-form, §3.2.1 */
	} else if (t[0] == '*') {
		/* asterisk-form, §3.2.4: OPTIONS only, and nothing but "*". */
		if (tl != 1 || req->method != PC_HTTP_OPTIONS)
			return PC_HTTP_BAD_TARGET;
		req->path.p = (const char *)t;
		req->path.len = 1;
		req->query.p = (const char *)te;
		req->query.len = 0;
		return PC_HTTP_OK;
	} else {
		/* absolute-form, §3.2.2, "http" URIs only (RFC 9110 §4.2.1). */
		const unsigned char *as = t + 7, *ae;

		if (tl < 7 || !ci_eq(t, (const unsigned char *)"http://", 7))
			return PC_HTTP_BAD_TARGET;
		for (ae = as; ae < te && *ae != '/' && *ae != '?'; ae++)
			;
		/* userinfo ("user@host", RFC 9110 §4.2.4) and every other odd
		 * byte fail the host syntax. */
		if (host_parse(as, (size_t)(ae - as), auth, auth_port) != 0)
			return PC_HTTP_BAD_TARGET;
		if (ae == te || *ae == '?') {
			/* Empty path means "/" (RFC 9110 §4.2.3); the second '/' of
			 * "http://" is one, in the caller's buffer. */
			req->path.p = (const char *)t + 6;
			req->path.len = 1;
			req->query.p = (const char *)(ae == te ? te : ae + 1);
			req->query.len = (uint32_t)(te - (const unsigned char *)req->query.p);
			return PC_HTTP_OK;
		}
		ps = ae;
	}
	q = memchr(ps, '?', (size_t)(te - ps));
	req->path.p = (const char *)ps;
	req->path.len = (uint32_t)((q ? q : te) - ps);
	req->query.p = (const char *)(q ? q + 1 : te);
	req->query.len = (uint32_t)(q ? te - q - 1 : 0);
	return PC_HTTP_OK;
}

/* Content-Length = 1*DIGIT (RFC 9110 §8.6), as an int64. */
static int content_length_parse(const unsigned char *v, size_t vl, int64_t *out)
{
	uint64_t x = 0;

	/* 19 digits hold every int64; the overflow test below catches the
	 * 19-digit values above INT64_MAX. */
	if (unlikely(vl == 0 || vl > 19))
		return -1;
	for (size_t k = 0; k < vl; k++) {
		if (unlikely(!(pc_http_cls[v[k]] & C_DIGIT)))
			return -1;
		x = x * 10 + (uint64_t)(v[k] - '0');
	}
	if (unlikely(x > (uint64_t)INT64_MAX))
		return -1;
	*out = (int64_t)x;
	return 0;
}

/* Connection = #connection-option, each a token (RFC 9110 §7.6.1). A hop
 * that honours the list deletes the fields it names before forwarding, so
 * "Connection: Content-Length" makes the next proxy strip the framing the
 * gateway decided on, and naming Host strips the routing: both are
 * rejected, as is any element that is not a token. */
static enum pc_http_reason connection_check(const unsigned char *v, size_t vl)
{
	size_t k = 0;

	while (k < vl) {
		size_t s, e;

		while (k < vl && (is_ows(v[k]) || v[k] == ','))
			k++;
		s = k;
		while (k < vl && (pc_http_cls[v[k]] & C_TCHAR))
			k++;
		e = k;
		while (k < vl && is_ows(v[k]))
			k++;
		if (k < vl && v[k] != ',')
			return PC_HTTP_BAD_HEADER_VALUE;
		if ((e - s == 4 && name_is(v + s, "host", 4)) ||
		    (e - s == 14 && name_is(v + s, "content-length", 14)) ||
		    (e - s == 17 && name_is(v + s, "transfer-encoding", 17)))
			return PC_HTTP_BAD_HEADER_VALUE;
	}
	return PC_HTTP_OK;
}

/* Everything the field-line loop tracks besides req itself. */
struct pc_http_seen {
	struct pc_str auth; /* absolute-form authority host, len 0 otherwise */
	uint16_t auth_port;
	uint8_t absolute;
	uint8_t host;
	uint8_t cl;
	uint8_t te;
};

/* The semantics of the framing and routing fields, checked as soon as their
 * line is complete so a bad one is rejected before the head ends. */
static enum pc_http_reason field_check(struct pc_http_req *req, struct pc_http_seen *s,
				       const unsigned char *name, size_t nl,
				       const unsigned char *v, size_t vl)
{
	int m;

	switch (nl) {
	case 4:
		if (name_is(name, "host", 4) != 1)
			return PC_HTTP_OK;
		/* RFC 9112 §3.2: more than one Host, or a bad value, is a 400. */
		if (s->host)
			return PC_HTTP_DUPLICATE_HOST;
		s->host = 1;
		if (host_parse(v, vl, &req->host, &req->host_port) != 0)
			return PC_HTTP_BAD_HOST;
		if (s->absolute) {
			/* RFC 9112 §3.2.2 tells the server to ignore Host here;
			 * a backend that does not would route elsewhere, so the two
			 * must agree (scheme default port 80, RFC 9110 §4.2.3). */
			uint16_t hp = req->host_port ? req->host_port : 80;
			uint16_t ap = s->auth_port ? s->auth_port : 80;
			if (hp != ap || req->host.len != s->auth.len ||
			    !ci_eq((const unsigned char *)req->host.p,
				   (const unsigned char *)s->auth.p, s->auth.len))
				return PC_HTTP_HOST_MISMATCH;
		}
		return PC_HTTP_OK;
	case 10:
		if (name_is(name, "connection", 10) != 1)
			return PC_HTTP_OK;
		return connection_check(v, vl);
	case 14:
		m = name_is(name, "content-length", 14);
		if (m == 0)
			return PC_HTTP_OK;
		if (m == 2)
			return PC_HTTP_BAD_HEADER_NAME;
		/* RFC 9112 §6.3 allows merging identical repeats; we do not. */
		if (s->cl)
			return PC_HTTP_DUPLICATE_CONTENT_LENGTH;
		s->cl = 1;
		if (content_length_parse(v, vl, &req->content_length) != 0)
			return PC_HTTP_BAD_CONTENT_LENGTH;
		/* §6.1: a message with both is a smuggling attempt. */
		if (s->te)
			return PC_HTTP_CL_AND_TE;
		return PC_HTTP_OK;
	case 17:
		m = name_is(name, "transfer-encoding", 17);
		if (m == 0)
			return PC_HTTP_OK;
		if (m == 2)
			return PC_HTTP_BAD_HEADER_NAME;
		/* §6.1: HTTP/1.0 has no chunked framing; a second field would be
		 * a list, and anything but exactly "chunked" leaves the body
		 * length to a coding we do not decode. */
		if (s->te || req->version_minor == 0)
			return PC_HTTP_BAD_TRANSFER_ENCODING;
		s->te = 1;
		if (vl != 7 || name_is(v, "chunked", 7) != 1)
			return PC_HTTP_BAD_TRANSFER_ENCODING;
		req->chunked = 1;
		if (s->cl)
			return PC_HTTP_CL_AND_TE;
		return PC_HTTP_OK;
	default:
		return PC_HTTP_OK;
	}
}

bool pc_http_may_start_request(const char *buf, size_t len)
{
	const unsigned char *b = (const unsigned char *)buf;
	size_t i = 0;
	if (len >= 2 && b[0] == '\r' && b[1] == '\n')
		i = 2;
	const size_t start = i, lim = i + 32 < len ? i + 32 : len;
	while (i < lim && (pc_http_cls[b[i]] & C_TCHAR))
		i++;
	if (i == len)
		return true; /* a token so far: the method may go on */
	return i > start && b[i] == ' ';
}

enum pc_http_reason pc_http_parse_head(const char *buf, size_t len, struct pc_http_req *req)
{
	const unsigned char *b = (const unsigned char *)buf;
	/* Nothing past PC_HTTP_MAX_HEAD can belong to an acceptable head. */
	const size_t n = len < PC_HTTP_MAX_HEAD ? len : PC_HTTP_MAX_HEAD;
	struct pc_http_seen seen = { 0 };
	enum pc_http_reason r;
	size_t i = 0, lmax, lim, s;

	req->method = 0;
	req->version_minor = 0;
	req->chunked = 0;
	req->method_str.p = req->target.p = req->path.p = req->query.p = buf;
	req->method_str.len = req->target.len = req->path.len = req->query.len = 0;
	req->host.p = buf;
	req->host.len = 0;
	req->host_port = 0;
	req->content_length = -1;
	req->head_len = 0;
	req->n_headers = 0;

/* Start a line at i: the content may be PC_HTTP_MAX_LINE bytes, so the CR
 * ending it may sit at lmax - 1; a scanner that reaches lmax has seen one
 * content byte too many. */
#define PC_HTTP_LINE_BEGIN()                                 \
	do {                                                 \
		lmax = i + PC_HTTP_MAX_LINE + 1;             \
		lim = lmax < n ? lmax : n;                   \
	} while (0)

	PC_HTTP_LINE_BEGIN();

	/* RFC 9112 §2.2: a server SHOULD ignore at least one empty line before
	 * the request-line (clients that end a body with a stray CRLF). One,
	 * not any number: the rest is noise we have no reason to accept. */
	if (i < n && b[i] == '\r') {
		if (i + 1 >= n)
			return ran_out(i, lmax, len);
		if (b[i + 1] != '\n')
			return PC_HTTP_BARE_CR;
		i += 2;
		PC_HTTP_LINE_BEGIN();
	}

	/* method = token (RFC 9110 §9.1), then exactly one SP (RFC 9112 §3). */
	s = i;
	while (i < lim && (pc_http_cls[b[i]] & C_TCHAR))
		i++;
	if (unlikely(i == lim))
		return ran_out(i, lmax, len);
	if (unlikely(b[i] != ' '))
		return rl_stop(b, i, n, PC_HTTP_BAD_REQUEST_LINE, PC_HTTP_BAD_METHOD);
	if (unlikely(i == s))
		return PC_HTTP_BAD_METHOD;
	req->method_str.p = buf + s;
	req->method_str.len = (uint32_t)(i - s);
	req->method = pc_http_method_from_name(buf + s, i - s);
	if (req->method == 0)
		req->method = PC_HTTP_OTHER;
	i++;

	/* request-target: visible ASCII but '#' (RFC 9112 §3.2: a fragment is
	 * never sent), then one SP. Not decoded here. */
	s = i;
	i += scan_target(b + i, lim - i);
	if (unlikely(i == lim)) {
		if (!target_prefix_ok(b + s, i - s, req->method))
			return PC_HTTP_BAD_TARGET;
		return ran_out(i, lmax, len);
	}
	if (unlikely(b[i] != ' '))
		return rl_stop(b, i, n, PC_HTTP_BAD_REQUEST_LINE, PC_HTTP_BAD_TARGET);
	if (unlikely(i == s))
		return PC_HTTP_BAD_REQUEST_LINE; /* two SPs */
	req->target.p = buf + s;
	req->target.len = (uint32_t)(i - s);
	r = target_split(b + s, i - s, req, &seen.auth, &seen.auth_port);
	if (unlikely(r != PC_HTTP_OK))
		return r;
	seen.absolute = b[s] != '/' && b[s] != '*';
	i++;

	/* HTTP-version = "HTTP" "/" DIGIT "." DIGIT, case-sensitive (§2.3). */
	{
		static const char pat[8] = "HTTP/1.1";
		size_t avail = lim - i;
		size_t k, vn = avail < 8 ? avail : 8;
		bool supported;

		for (k = 0; k < vn; k++) {
			unsigned char c = b[i + k];
			bool ok = (k == 5 || k == 7) ? (pc_http_cls[c] & C_DIGIT) != 0
						     : c == (unsigned char)pat[k];
			if (unlikely(!ok)) {
				if (k == 0 && c == ' ')
					return PC_HTTP_BAD_REQUEST_LINE; /* two SPs */
				return rl_stop(b, i + k, n, PC_HTTP_BAD_VERSION, PC_HTTP_BAD_VERSION);
			}
		}
		if (vn < 8)
			return ran_out(i + vn, lmax, len);
		/* A well-formed version we do not speak is only known to be
		 * final once nothing can follow it but the CR. */
		supported = b[i + 5] == '1' && (b[i + 7] == '1' || b[i + 7] == '0');
		i += 8;
		if (unlikely(i == lim))
			return supported ? ran_out(i, lmax, len) : PC_HTTP_UNSUPPORTED_VERSION;
		if (unlikely(b[i] != '\r')) {
			if (b[i] == '\n')
				return PC_HTTP_BARE_LF;
			return b[i] == ' ' ? PC_HTTP_BAD_REQUEST_LINE : PC_HTTP_BAD_VERSION;
		}
		if (unlikely(i + 1 >= n))
			return supported ? ran_out(i, lmax, len) : PC_HTTP_UNSUPPORTED_VERSION;
		if (unlikely(b[i + 1] != '\n'))
			return PC_HTTP_BARE_CR;
		if (unlikely(!supported))
			return PC_HTTP_UNSUPPORTED_VERSION;
		req->version_minor = (uint8_t)(b[i - 1] - '0');
		i += 2;
	}

	/* field-line = field-name ":" OWS field-value OWS CRLF (§5). */
	for (;;) {
		size_t ns, nl, vs, ve;
		unsigned char c;

		PC_HTTP_LINE_BEGIN();
		if (unlikely(i >= n))
			return ran_out(i, lmax, len);
		c = b[i];
		if (c == '\r') {
			if (unlikely(i + 1 >= n))
				return ran_out(i, lmax, len);
			if (unlikely(b[i + 1] != '\n'))
				return PC_HTTP_BARE_CR;
			i += 2;
			break;
		}
		if (unlikely(c == '\n'))
			return PC_HTTP_BARE_LF;
		/* §5.2 obs-fold, and §2.2 whitespace right after the start-line:
		 * both must be rejected or replaced, and replacing changes what
		 * the backend would see. */
		if (unlikely(is_ows(c)))
			return PC_HTTP_OBS_FOLD;
		if (unlikely(req->n_headers == PC_HTTP_MAX_HEADERS))
			return PC_HTTP_TOO_MANY_HEADERS;

		ns = i;
		while (i < lim && (pc_http_cls[b[i]] & C_TCHAR))
			i++;
		if (unlikely(i == lim))
			return ran_out(i, lmax, len);
		c = b[i];
		if (unlikely(c != ':')) {
			/* §5.1: no whitespace between field-name and colon; a
			 * name with whitespace inside it is just a bad name. */
			if (is_ows(c)) {
				while (i < lim && is_ows(b[i]))
					i++;
				if (i < lim && b[i] != ':')
					return PC_HTTP_BAD_HEADER_NAME;
				return PC_HTTP_WS_BEFORE_COLON;
			}
			return rl_stop(b, i, n, PC_HTTP_BAD_HEADER_NAME, PC_HTTP_BAD_HEADER_NAME);
		}
		if (unlikely(i == ns))
			return PC_HTTP_BAD_HEADER_NAME;
		nl = i - ns;
		i++;

		while (i < lim && is_ows(b[i]))
			i++;
		vs = i;
		i += scan_fval(b + i, lim - i);
		if (unlikely(i == lim))
			return ran_out(i, lmax, len);
		c = b[i];
		if (unlikely(c != '\r'))
			return c == '\n' ? PC_HTTP_BARE_LF : PC_HTTP_CONTROL_CHAR;
		if (unlikely(i + 1 >= n))
			return ran_out(i, lmax, len);
		if (unlikely(b[i + 1] != '\n'))
			return PC_HTTP_BARE_CR;
		for (ve = i; ve > vs && is_ows(b[ve - 1]); ve--)
			;
		i += 2;

		struct pc_http_header *h = &req->headers[req->n_headers++];
		h->name.p = buf + ns;
		h->name.len = (uint32_t)nl;
		h->value.p = buf + vs;
		h->value.len = (uint32_t)(ve - vs);
		r = field_check(req, &seen, b + ns, nl, b + vs, ve - vs);
		if (unlikely(r != PC_HTTP_OK)) {
			/* A value that continues on a folded line was judged on
			 * its first part only: the fold is the real fault. */
			if (i < n && is_ows(b[i]))
				return PC_HTTP_OBS_FOLD;
			return r;
		}
	}
#undef PC_HTTP_LINE_BEGIN

	if (!seen.host) {
		if (req->version_minor == 1)
			return PC_HTTP_MISSING_HOST;
		/* HTTP/1.0 absolute-form: the authority is the host (§3.2.2). */
		if (seen.absolute) {
			req->host = seen.auth;
			req->host_port = seen.auth_port;
		}
	}
	req->head_len = (uint32_t)i;
	return PC_HTTP_OK;
}

const struct pc_http_header *pc_http_header_find(const struct pc_http_req *req,
						 const char *name, size_t name_len)
{
	for (unsigned k = 0; k < req->n_headers; k++) {
		const struct pc_http_header *h = &req->headers[k];
		if (h->name.len == name_len &&
		    ci_eq((const unsigned char *)h->name.p, (const unsigned char *)name, name_len))
			return h;
	}
	return NULL;
}

uint16_t pc_http_method_from_name(const char *name, size_t len)
{
	/* RFC 9110 §9.1: method names are case-sensitive. */
#define PC_HTTP_M(lit, bit)                                              \
	if (len == sizeof(lit) - 1 && memcmp(name, lit, sizeof(lit) - 1) == 0) \
		return bit
	switch (len) {
	case 3:
		PC_HTTP_M("GET", PC_HTTP_GET);
		PC_HTTP_M("PUT", PC_HTTP_PUT);
		break;
	case 4:
		PC_HTTP_M("POST", PC_HTTP_POST);
		PC_HTTP_M("HEAD", PC_HTTP_HEAD);
		break;
	case 5:
		PC_HTTP_M("PATCH", PC_HTTP_PATCH);
		PC_HTTP_M("TRACE", PC_HTTP_TRACE);
		break;
	case 6:
		PC_HTTP_M("DELETE", PC_HTTP_DELETE);
		break;
	case 7:
		PC_HTTP_M("OPTIONS", PC_HTTP_OPTIONS);
		PC_HTTP_M("CONNECT", PC_HTTP_CONNECT);
		break;
	default:
		break;
	}
#undef PC_HTTP_M
	return 0;
}

const char *pc_http_reason_name(enum pc_http_reason r)
{
	static const char *const names[PC_HTTP_REASON_COUNT] = {
#define PC_X(name, text) [PC_HTTP_##name] = text,
		PC_HTTP_REASONS(PC_X)
#undef PC_X
	};

	if ((unsigned)r >= PC_HTTP_REASON_COUNT)
		return "http_unknown_reason";
	return names[r];
}
