/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Find the line of a JSON value by path, over the raw text.
 *
 * jansson keeps no source positions, so a policy error found after parsing
 * would otherwise have no line to point at. This module re-reads the text
 * with a small iterative tokenizer (RFC 8259 grammar: strings with every
 * escape, numbers, literals, objects, arrays) and follows the path step by
 * step while it walks. The walk is a single forward pass: the steps matched
 * so far select one chain of nested values, and the next step is only
 * compared against the direct children of the last selected container. When
 * that container closes without a match, the path is absent.
 *
 * The whole text is validated even after the value is found, so that the
 * answer is 0 for anything that is not one well-formed JSON document. There is
 * no recursion and no allocation: nesting is tracked in a fixed stack of
 * PC_JSON_LOCATE_MAX_DEPTH bytes, and deeper documents are refused. UTF-8 is
 * not validated here (jansson has done that by the time a policy error is
 * reported); bytes >= 0x80 are passed through inside strings.
 *
 * Path syntax: "$", then steps ".key" (the key runs to the next '.' or '['),
 * "[index]" (decimal), or ["key"] (a JSON string literal, for keys holding
 * '.', '[', '"' or other bytes a bare key cannot carry). Keys are compared
 * after JSON unescaping on both sides, so "\u0061" in the text matches "a".
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "policy/json_locate.h"
#include "util/pc_types.h"

#define PC_JSON_LOCATE_MAX_DEPTH 256

enum step_kind { STEP_END, STEP_KEY, STEP_QKEY, STEP_INDEX, STEP_BAD };

/* One step of the path. For STEP_KEY, [s, e) is the raw key; for STEP_QKEY,
 * [s, e) is the body of the JSON string literal (escapes still in). */
struct step {
	enum step_kind kind;
	const char *s, *e;
	unsigned long index;
	const char *next; /* the rest of the path */
};

/* Decodes the body of a JSON string literal one byte at a time; \uXXXX and
 * surrogate pairs come out as UTF-8. */
struct jdec {
	const char *p, *end;
	uint8_t buf[4];
	unsigned n, i;
};

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

static bool hex4(const char *p, const char *end, uint32_t *out)
{
	uint32_t v = 0;

	if (unlikely(end - p < 4))
		return false;
	for (int k = 0; k < 4; k++) {
		int h = hexval((unsigned char)p[k]);
		if (h < 0)
			return false;
		v = v << 4 | (uint32_t)h;
	}
	*out = v;
	return true;
}

/* The next decoded byte, -1 at the end, -2 for a malformed escape. */
static int jdec_next(struct jdec *d)
{
	uint32_t cp, lo;

	if (d->i < d->n)
		return d->buf[d->i++];
	if (d->p >= d->end)
		return -1;
	unsigned char ch = (unsigned char)*d->p++;
	if (ch != '\\')
		return ch;
	if (unlikely(d->p >= d->end))
		return -2;
	ch = (unsigned char)*d->p++;
	switch (ch) {
	case '"':
	case '\\':
	case '/':
		return ch;
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'u':
		break;
	default:
		return -2;
	}
	if (!hex4(d->p, d->end, &cp))
		return -2;
	d->p += 4;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		/* RFC 8259 §7: a character outside the BMP is a surrogate pair. */
		if (d->end - d->p < 6 || d->p[0] != '\\' || d->p[1] != 'u' ||
		    !hex4(d->p + 2, d->end, &lo) || lo < 0xdc00 || lo > 0xdfff)
			return -2;
		d->p += 6;
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return -2;
	}
	if (cp < 0x80) {
		d->buf[0] = (uint8_t)cp;
		d->n = 1;
	} else if (cp < 0x800) {
		d->buf[0] = (uint8_t)(0xc0 | cp >> 6);
		d->buf[1] = (uint8_t)(0x80 | (cp & 0x3f));
		d->n = 2;
	} else if (cp < 0x10000) {
		d->buf[0] = (uint8_t)(0xe0 | cp >> 12);
		d->buf[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		d->buf[2] = (uint8_t)(0x80 | (cp & 0x3f));
		d->n = 3;
	} else {
		d->buf[0] = (uint8_t)(0xf0 | cp >> 18);
		d->buf[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		d->buf[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		d->buf[3] = (uint8_t)(0x80 | (cp & 0x3f));
		d->n = 4;
	}
	d->i = 1;
	return d->buf[0];
}

/* Parse the step at path (just after "$" or the previous step). */
static struct step step_parse(const char *path)
{
	struct step st = { .kind = STEP_BAD };
	const char *p = path;

	if (*p == '\0') {
		st.kind = STEP_END;
		st.next = p;
		return st;
	}
	if (*p == '.') {
		st.s = ++p;
		while (*p != '\0' && *p != '.' && *p != '[')
			p++;
		if (p == st.s)
			return st;
		st.e = p;
		st.kind = STEP_KEY;
		st.next = p;
		return st;
	}
	if (*p != '[')
		return st;
	p++;
	if (*p == '"') {
		st.s = ++p;
		while (*p != '"') {
			if (*p == '\0')
				return st;
			if (*p == '\\') {
				p++;
				if (*p == '\0')
					return st;
			}
			p++;
		}
		st.e = p++;
		if (*p != ']')
			return st;
		st.kind = STEP_QKEY;
		st.next = p + 1;
		return st;
	}
	if (*p < '0' || *p > '9')
		return st;
	unsigned long v = 0;
	while (*p >= '0' && *p <= '9') {
		unsigned d = (unsigned)(*p - '0');
		if (v > (~0ul - d) / 10)
			return st;
		v = v * 10 + d;
		p++;
	}
	if (*p != ']')
		return st;
	st.kind = STEP_INDEX;
	st.index = v;
	st.next = p + 1;
	return st;
}

/* True when the JSON key body [s, e) decodes to the key of step st. */
static bool key_matches(const char *s, const char *e, const struct step *st)
{
	struct jdec a = { .p = s, .end = e };
	struct jdec b = { .p = st->s, .end = st->e };
	const char *raw = st->s;

	for (;;) {
		int x = jdec_next(&a), y;
		if (x == -2)
			return false;
		if (st->kind == STEP_KEY)
			y = raw < st->e ? (unsigned char)*raw++ : -1;
		else
			y = jdec_next(&b);
		if (y == -2 || x != y)
			return false;
		if (x == -1)
			return true;
	}
}

struct cursor {
	const char *p, *end;
	unsigned line;
};

static void skip_ws(struct cursor *c)
{
	while (c->p < c->end) {
		char ch = *c->p;
		if (ch == '\n')
			c->line++;
		else if (ch != ' ' && ch != '\t' && ch != '\r')
			return;
		c->p++;
	}
}

/* A string literal at c->p (on its opening quote). Sets [*s, *e) to the
 * body. RFC 8259 §7: no unescaped control characters, known escapes only. */
static bool scan_string(struct cursor *c, const char **s, const char **e)
{
	const char *p = c->p + 1;
	uint32_t cp;

	*s = p;
	for (;;) {
		if (unlikely(p >= c->end))
			return false;
		unsigned char ch = (unsigned char)*p;
		if (ch == '"')
			break;
		if (unlikely(ch < 0x20))
			return false;
		if (ch == '\\') {
			if (unlikely(++p >= c->end))
				return false;
			switch (*p) {
			case '"': case '\\': case '/': case 'b':
			case 'f': case 'n': case 'r': case 't':
				break;
			case 'u':
				if (!hex4(p + 1, c->end, &cp))
					return false;
				p += 4;
				break;
			default:
				return false;
			}
		}
		p++;
	}
	*e = p;
	c->p = p + 1;
	return true;
}

static bool scan_digits(struct cursor *c)
{
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
		c->p++;
	return c->p > start;
}

/* RFC 8259 §6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static bool scan_number(struct cursor *c)
{
	if (*c->p == '-')
		c->p++;
	if (unlikely(c->p >= c->end))
		return false;
	if (*c->p == '0')
		c->p++;
	else if (!scan_digits(c))
		return false;
	if (c->p < c->end && *c->p == '.') {
		c->p++;
		if (!scan_digits(c))
			return false;
	}
	if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
		c->p++;
		if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
			c->p++;
		if (!scan_digits(c))
			return false;
	}
	return true;
}

static bool scan_literal(struct cursor *c, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
		return false;
	c->p += n;
	return true;
}

enum state { S_VALUE, S_AFTER, S_KEY };

unsigned pc_json_locate_line(const char *text, size_t len, const char *path)
{
	uint8_t stack[PC_JSON_LOCATE_MAX_DEPTH];
	unsigned depth = 0;
	struct cursor c = { .p = text, .end = text + len, .line = 1 };
	struct step st;
	/* Steps matched so far; the selected value lies at nesting depth
	 * matched, so its children are compared when depth == matched + 1. */
	unsigned matched = 0;
	unsigned long elem = 0;  /* element index inside the selected array */
	bool searching = true;
	bool selected = true;    /* the value about to be parsed is selected */
	unsigned found = 0;
	enum state s = S_VALUE;

	if (text == NULL || path == NULL || path[0] != '$')
		return 0;
	st = step_parse(path + 1);
	if (st.kind == STEP_BAD)
		return 0;

	for (;;) {
		const char *ks, *ke;
		bool active;

		skip_ws(&c);
		if (s == S_VALUE) {
			if (unlikely(c.p >= c.end))
				return 0;
			if (selected) {
				selected = false;
				if (st.kind == STEP_END) {
					found = c.line;
					searching = false;
				} else if (*c.p != '{' && *c.p != '[') {
					return 0; /* a scalar has no children */
				} else {
					elem = 0;
				}
			}
			switch (*c.p) {
			case '{':
			case '[':
				if (unlikely(depth == PC_JSON_LOCATE_MAX_DEPTH))
					return 0;
				stack[depth++] = (uint8_t)*c.p++;
				skip_ws(&c);
				if (c.p < c.end && (*c.p == '}' || *c.p == ']')) {
					s = S_AFTER; /* let S_AFTER close it */
					continue;
				}
				if (stack[depth - 1] == '{') {
					s = S_KEY;
					continue;
				}
				break; /* first element: fall to the element check below */
			case '"':
				if (!scan_string(&c, &ks, &ke))
					return 0;
				s = S_AFTER;
				continue;
			case 't':
			case 'f':
			case 'n':
				if (!scan_literal(&c, *c.p == 't' ? "true" : *c.p == 'f' ? "false" : "null"))
					return 0;
				s = S_AFTER;
				continue;
			default:
				if (*c.p != '-' && (*c.p < '0' || *c.p > '9'))
					return 0;
				if (!scan_number(&c))
					return 0;
				s = S_AFTER;
				continue;
			}
		} else if (s == S_AFTER) {
			if (depth == 0) {
				/* RFC 8259 §2: one value, nothing after it. */
				return c.p == c.end ? found : 0;
			}
			if (unlikely(c.p >= c.end))
				return 0;
			char ch = *c.p++;
			uint8_t top = stack[depth - 1];
			if ((ch == '}' && top == '{') || (ch == ']' && top == '[')) {
				if (searching && depth == matched + 1)
					return 0; /* the selected container ended: no such path */
				depth--;
				continue;
			}
			if (ch != ',')
				return 0;
			if (top == '{') {
				s = S_KEY;
				continue;
			}
			/* next array element: fall to the element check below */
		} else { /* S_KEY */
			if (unlikely(c.p >= c.end || *c.p != '"'))
				return 0;
			if (!scan_string(&c, &ks, &ke))
				return 0;
			skip_ws(&c);
			if (unlikely(c.p >= c.end || *c.p != ':'))
				return 0;
			c.p++;
			active = searching && depth == matched + 1 &&
				 (st.kind == STEP_KEY || st.kind == STEP_QKEY);
			if (active && key_matches(ks, ke, &st)) {
				matched++;
				st = step_parse(st.next);
				if (st.kind == STEP_BAD)
					return 0;
				selected = true;
			}
			s = S_VALUE;
			continue;
		}

		/* An array element starts here. */
		active = searching && depth == matched + 1 && st.kind == STEP_INDEX;
		if (active && elem++ == st.index) {
			matched++;
			st = step_parse(st.next);
			if (st.kind == STEP_BAD)
				return 0;
			selected = true;
		}
		s = S_VALUE;
	}
}
