/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Request-path normalisation (see path_norm.h for the rules).
 *
 * Design. One forward pass, segment by segment. Each segment is decoded
 * straight into the output behind its '/', and judged when its end is
 * reached: an empty one may be merged away, "." and ".." are removed by
 * rewinding the output (RFC 3986 §5.2.4 steps B-D, with the output buffer as
 * the stack of kept segments). Because a segment is only ever written after
 * its own bytes were read, and decoding and removal only shrink it, the
 * output position never passes the input position: out_len <= in_len holds
 * by construction and is asserted.
 *
 * ".." rewinds over the segment it pops, so every output byte is rewound
 * over at most once: the pass stays linear on "/a/b/c/../../..".
 *
 * The choice of what to reject rather than normalise follows from what the
 * result is for. Policy matches the normalised path, while the backend gets
 * the original bytes; so anything two common backends resolve to different
 * resources (encoded separators, "..;", "%2e%2e") must not be decided on one
 * reading. Envoy rejects or keeps %2F/%5C by option for the same reason.
 */
#include "http/path_norm.h"

#include <assert.h>

static const struct pc_path_norm_opts pc_path_norm_defaults = PC_PATH_NORM_OPTS_DEFAULT;

static const char pc_path_hex_upper[16] = "0123456789ABCDEF";

/* -1 unless c is HEXDIG (RFC 5234 B.1, case-insensitive per RFC 3986 §2.1). */
static inline int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~" (RFC 3986 §2.3). */
static inline bool is_unreserved(unsigned char c)
{
	unsigned char l = c | 0x20;

	return (l >= 'a' && l <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
	       c == '_' || c == '~';
}

/* Whether the percent-encoded octets at p[0..n) (p[0] == '%', already
 * checked to be "%" HEXDIG HEXDIG) start an overlong UTF-8 form (RFC 3629
 * §3): C0 and C1 never start anything else, nor do E0 and F0 followed by a
 * continuation byte below A0 and 90. Lenient decoders read "%c0%ae" as '.'
 * and "%c0%af" as '/' (Tomcat CVE-2008-2938, IIS), so such a path names a
 * resource other than the one policy would match; nothing valid is lost. */
static bool overlong_utf8(const unsigned char *p, size_t n)
{
	unsigned char v = (unsigned char)(hexval(p[1]) << 4 | hexval(p[2]));
	int hi, lo;

	if (v == 0xC0 || v == 0xC1)
		return true;
	if ((v != 0xE0 && v != 0xF0) || n < 6 || p[3] != '%')
		return false;
	hi = hexval(p[4]);
	lo = hexval(p[5]);
	if (hi < 0 || lo < 0)
		return false; /* rejected anyway when its turn comes */
	return (hi << 4 | lo) >= 0x80 && (hi << 4 | lo) < (v == 0xE0 ? 0xA0 : 0x90);
}

/* 1 for ".", 2 for "..", 0 for any other segment s[0..n). */
static inline int dot_kind(const char *s, size_t n)
{
	if (n == 1 && s[0] == '.')
		return 1;
	if (n == 2 && s[0] == '.' && s[1] == '.')
		return 2;
	return 0;
}

enum pc_path_reason pc_path_norm_apply(const char *in, size_t in_len, char *out, size_t out_cap,
				       const struct pc_path_norm_opts *opts, size_t *out_len,
				       bool *changed)
{
	const unsigned char *b = (const unsigned char *)in;
	size_t i = 0, o = 0;
	bool chg = false;

	*out_len = 0;
	*changed = false;
	if (opts == NULL)
		opts = &pc_path_norm_defaults;
	if (unlikely(in_len > PC_PATH_MAX || in_len > out_cap))
		return PC_PATH_TOO_LONG;
	/* RFC 3986 §3.3 path-absolute; "*" (asterisk-form) and "" are not
	 * paths of a resource. */
	if (unlikely(in_len == 0 || b[0] != '/'))
		return PC_PATH_NOT_ABSOLUTE;

	while (i < in_len) {
		/* b[i] is the '/' that opens a segment. */
		const size_t slash_at = o;
		size_t seg, semi = SIZE_MAX;
		bool enc_dot = false, last;
		int dots;

		out[o++] = '/';
		i++;
		seg = o;
		while (i < in_len) {
			unsigned char c = b[i];

			/* Most bytes are plain pchar: one range test and a
			 * switch that falls through to the copy. */
			if (unlikely(c < 0x21 || c > 0x7e)) {
				if (c == ' ' || c >= 0x80)
					return PC_PATH_INVALID_CHAR;
				return PC_PATH_CONTROL_CHAR;
			}
			switch (c) {
			case '/':
				goto seg_end;
			case '#':
				return PC_PATH_FRAGMENT;
			case '?':
				/* The caller splits the query off first; a '?'
				 * here means it did not. */
				return PC_PATH_INVALID_CHAR;
			case '\\':
				if (opts->reject_backslash)
					return PC_PATH_BACKSLASH;
				break;
			case ';':
				if (semi == SIZE_MAX)
					semi = o;
				break;
			case '%': {
				int hi, lo;
				unsigned char v;

				if (unlikely(in_len - i < 3))
					return PC_PATH_INVALID_PERCENT_ENCODING;
				hi = hexval(b[i + 1]);
				lo = hexval(b[i + 2]);
				if (unlikely(hi < 0 || lo < 0))
					return PC_PATH_INVALID_PERCENT_ENCODING;
				v = (unsigned char)(hi << 4 | lo);
				/* A decoding backend would cut the path (C
				 * strings) or open another file. */
				if (unlikely(v == 0))
					return PC_PATH_ENCODED_NUL;
				if (unlikely(v == '/' || v == '\\') && opts->reject_encoded_slash)
					return PC_PATH_ENCODED_SLASH;
				if (unlikely(v >= 0xC0) && overlong_utf8(b + i, in_len - i))
					return PC_PATH_INVALID_PERCENT_ENCODING;
				if (is_unreserved(v)) {
					out[o++] = (char)v;
					enc_dot |= v == '.';
					chg = true;
				} else {
					out[o++] = '%';
					out[o++] = pc_path_hex_upper[hi];
					out[o++] = pc_path_hex_upper[lo];
					chg |= b[i + 1] != (unsigned char)out[o - 2] ||
					       b[i + 2] != (unsigned char)out[o - 1];
				}
				i += 3;
				continue;
			}
			default:
				break;
			}
			out[o++] = (char)c;
			i++;
		}
seg_end:
		last = i == in_len;
		if (o == seg) {
			/* Empty segment: "//" inside the path. The one that
			 * ends the path is the trailing '/' and always stays. */
			if (opts->merge_slashes && !last) {
				o = slash_at;
				chg = true;
			}
			continue;
		}
		dots = dot_kind(out + seg, o - seg);
		if (dots != 0 && enc_dot && opts->reject_encoded_dot_segment)
			return PC_PATH_ENCODED_DOT_SEGMENT;
		if (dots == 0 && semi != SIZE_MAX && opts->reject_dot_segment_params &&
		    dot_kind(out + seg, semi - seg) != 0)
			return PC_PATH_DOT_SEGMENT_PARAMS;
		if (dots == 0)
			continue;

		/* RFC 3986 §5.2.4 B ("/./" and "/.") and C ("/../" and "/.."):
		 * drop this segment, and for ".." the last kept one too; at
		 * the root there is none, so "/.." is "/". */
		chg = true;
		o = slash_at;
		if (dots == 2)
			while (o > 0 && out[--o] != '/')
				;
		/* A dot-segment at the end leaves its '/' behind ("/a/." is
		 * "/a/"), where one in the middle gives way to the next
		 * segment's own '/'. */
		if (last)
			out[o++] = '/';
	}

	assert(o <= in_len && o > 0);
	*out_len = o;
	*changed = chg;
	return PC_PATH_OK;
}

const char *pc_path_norm_reason_name(enum pc_path_reason r)
{
	static const char *const names[PC_PATH_REASON_COUNT] = {
#define PC_X(name, text) [PC_PATH_##name] = text,
		PC_PATH_REASONS(PC_X)
#undef PC_X
	};

	if ((unsigned)r >= PC_PATH_REASON_COUNT)
		return "path_unknown_reason";
	return names[r];
}
