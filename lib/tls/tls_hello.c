/* SPDX-License-Identifier: BSD-3-Clause
 *
 * TLS ClientHello parser and JA4 fingerprint.
 *
 * Two passes over one call. The record pass walks TLSPlaintext headers from
 * the first byte of the stream, checks each as soon as its bytes are there,
 * and gathers the handshake message: in place when the first record holds all
 * of it, else copied fragment by fragment into h->reasm. The message pass
 * then reads the ClientHello with two limits per field: the length the
 * enclosing vector declares (crossing it is a malformed hello, named) and the
 * bytes that have arrived (crossing that is PC_TLS_INCOMPLETE). So a prefix
 * is refused the moment it stops being a possible ClientHello, and a valid
 * prefix asks for more with a lower bound on the stream length it needs.
 *
 * The parser keeps no state between calls: the dataplane reassembles the TCP
 * stream, which it must do anyway to hold the packets, and calls again with
 * more bytes. A hello is at most PC_TLS_HELLO_MAX bytes in at most
 * PC_TLS_MAX_RECORDS records, so a call is bounded work however the client
 * slices it.
 *
 * JA4 follows the FoxIO specification (github.com/FoxIO-LLC/ja4,
 * technical_details/JA4.md) and its reference implementations (python/ja4.py,
 * rust/ja4/src/tls.rs); the rules are quoted where they are applied.
 */
/* SHA256_Init/Update/Final are deprecated in OpenSSL 3 in favour of EVP, but
 * EVP frees and re-allocates the provider context on every EVP_DigestInit
 * even with a reused EVP_MD_CTX and a pre-fetched EVP_MD (one malloc per
 * digest, measured on OpenSSL 3.0), while this module promises no allocation
 * on the fast path. The low-level calls hash from a stack context, with the
 * same assembly, in about 60% of the cycles. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include <arpa/inet.h>

#include "tls/tls_hello.h"

enum {
	TLS_CONTENT_HANDSHAKE = 22,
	TLS_HS_CLIENT_HELLO = 1,
	TLS_HS_HDR = 4,          /* msg_type(1) length(3), RFC 8446 §4 */
	TLS_RANDOM_LEN = 32,
	TLS_SESSION_ID_MAX = 32, /* legacy_session_id<0..32>, §4.1.2 */
	TLS_SNI_HOST_NAME = 0,   /* NameType host_name, RFC 6066 §3 */
};

static const char *const reason_names[] = {
#define PC_X(name, text) text,
	PC_TLS_REASONS(PC_X)
#undef PC_X
};

const char *pc_tls_reason_name(enum pc_tls_reason r)
{
	if ((unsigned)r >= PC_TLS_REASON_COUNT)
		return "tls_unknown_reason";
	return reason_names[r];
}

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* ---- message pass ------------------------------------------------------ */

/* A cursor over the message body (after the 4-byte handshake header). */
struct rd {
	const uint8_t *p;
	uint32_t pos;
	uint32_t avail; /* body bytes that have arrived */
};

/* The next n bytes must end by lim, the end the enclosing vector declares
 * (else the field is malformed: why), and must have arrived. */
static inline enum pc_tls_reason rd_need(const struct rd *r, uint32_t n, uint32_t lim,
					 enum pc_tls_reason why)
{
	if (unlikely(r->pos + n > lim))
		return why;
	if (unlikely(r->pos + n > r->avail))
		return PC_TLS_INCOMPLETE;
	return PC_TLS_OK;
}

static inline bool is_ldh(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-';
}

static inline bool is_ip6_char(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

/* Copy the host name lowercased into h->sni and check it is a DNS name
 * (RFC 1123 §2.1: letters, digits and hyphens, labels of 1..63 that neither
 * start nor end with '-'; RFC 6066 §3: no trailing dot) or an IP literal.
 * RFC 6066 forbids literals, but clients do send them; they are accepted and
 * flagged so policy can refuse them by name rather than by parse failure. A
 * NUL or any other byte is refused: the gateway must never match a name the
 * backend reads differently. */
static enum pc_tls_reason sni_copy(struct pc_tls_hello *h, const uint8_t *s, uint32_t n)
{
	uint32_t label = 0;
	bool dns = true;

	if (unlikely(n == 0 || n > PC_TLS_SNI_MAX))
		return PC_TLS_BAD_SERVER_NAME;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = s[i];

		h->sni[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
		if (!dns) {
			if (unlikely(!is_ip6_char(c)))
				return PC_TLS_BAD_SERVER_NAME;
			continue;
		}
		if (c == '.') {
			if (unlikely(label == 0 || s[i - 1] == '-'))
				dns = false;
			label = 0;
		} else if (likely(is_ldh(c))) {
			if (unlikely(++label > 63 || (label == 1 && c == '-')))
				dns = false;
		} else if (is_ip6_char(c)) {
			dns = false; /* ':' can only be an IPv6 literal */
		} else {
			return PC_TLS_BAD_SERVER_NAME;
		}
	}
	h->sni[n] = '\0';
	h->sni_len = (uint16_t)n;
	if (dns && likely(label != 0 && s[n - 1] != '-')) {
		uint8_t a4[4];

		if (unlikely(inet_pton(AF_INET, h->sni, a4) == 1))
			h->flags |= PC_TLS_F_SNI_IP;
		return PC_TLS_OK;
	}
	uint8_t a6[16];

	if (n < 46 && inet_pton(AF_INET6, h->sni, a6) == 1) {
		h->flags |= PC_TLS_F_SNI_IP;
		return PC_TLS_OK;
	}
	return PC_TLS_BAD_SERVER_NAME;
}

/* server_name (RFC 6066 §3): ServerNameList server_name_list<1..2^16-1>,
 * each entry NameType(1) HostName<1..2^16-1>. Exactly one host_name entry is
 * accepted, which is also all OpenSSL servers accept: a list that a backend
 * could resolve to another name than ours is refused. */
static enum pc_tls_reason ext_server_name(struct pc_tls_hello *h, const uint8_t *d, uint32_t n)
{
	if (unlikely(n < 2 + 3 || be16(d) != n - 2))
		return PC_TLS_BAD_SERVER_NAME;
	if (unlikely(d[2] != TLS_SNI_HOST_NAME || be16(d + 3) != n - 5))
		return PC_TLS_BAD_SERVER_NAME;
	h->flags |= PC_TLS_F_SNI;
	return sni_copy(h, d + 5, n - 5);
}

/* application_layer_protocol_negotiation (RFC 7301 §3.1):
 * ProtocolName protocol_name_list<2..2^16-1>, ProtocolName<1..2^8-1>. */
static enum pc_tls_reason ext_alpn(struct pc_tls_hello *h, const uint8_t *d, uint32_t n)
{
	if (unlikely(n < 2 + 2 || be16(d) != n - 2))
		return PC_TLS_BAD_ALPN;
	h->flags |= PC_TLS_F_ALPN;
	for (uint32_t i = 2; i < n;) {
		uint32_t l = d[i++];

		if (unlikely(l == 0 || i + l > n))
			return PC_TLS_BAD_ALPN;
		if (unlikely(h->n_alpn == PC_TLS_MAX_ALPN))
			return PC_TLS_TOO_MANY_ALPN;
		h->alpn[h->n_alpn].p = (const char *)d + i;
		h->alpn[h->n_alpn].len = l;
		h->n_alpn++;
		i += l;
	}
	return PC_TLS_OK;
}

/* supported_versions in a ClientHello (RFC 8446 §4.2.1):
 * ProtocolVersion versions<2..254>, a one-byte length. */
static enum pc_tls_reason ext_supported_versions(struct pc_tls_hello *h, const uint8_t *d,
						 uint32_t n)
{
	if (unlikely(n < 1 + 2 || d[0] != n - 1 || (d[0] & 1)))
		return PC_TLS_BAD_SUPPORTED_VERSIONS;
	h->versions.p = d + 1;
	h->versions.n = (uint16_t)(d[0] / 2);
	h->flags |= PC_TLS_F_SUPPORTED_VERSIONS;
	return PC_TLS_OK;
}

/* signature_algorithms (RFC 8446 §4.2.3):
 * SignatureScheme supported_signature_algorithms<2..2^16-2>. */
static enum pc_tls_reason ext_sig_algs(struct pc_tls_hello *h, const uint8_t *d, uint32_t n)
{
	if (unlikely(n < 2 + 2 || be16(d) != n - 2 || (n & 1)))
		return PC_TLS_BAD_SIGNATURE_ALGORITHMS;
	h->sig_algs.p = d + 2;
	h->sig_algs.n = (uint16_t)((n - 2) / 2);
	return PC_TLS_OK;
}

static enum pc_tls_reason parse_extensions(struct pc_tls_hello *h, struct rd *r, uint32_t end)
{
	enum pc_tls_reason e;

	while (r->pos < end) {
		if ((e = rd_need(r, 4, end, PC_TLS_TRUNCATED)) != PC_TLS_OK)
			return e;
		const uint8_t *x = r->p + r->pos;
		uint16_t type = be16(x);
		uint32_t n = be16(x + 2);

		if (unlikely(r->pos + 4 + n > end))
			return PC_TLS_TRUNCATED;
		/* §4.2.11: pre_shared_key MUST be the last extension, because
		 * its binders hash the hello up to that point. */
		if (unlikely(h->n_ext && h->ext_types[h->n_ext - 1] == PC_TLS_EXT_PRE_SHARED_KEY))
			return PC_TLS_PSK_NOT_LAST;
		if (unlikely(h->n_ext == PC_TLS_MAX_EXTENSIONS))
			return PC_TLS_TOO_MANY_EXTENSIONS;
		/* §4.2: "There MUST NOT be more than one extension of the
		 * same type in a given extension block." At most 64, so a
		 * scan costs less than a set would. */
		for (uint32_t i = 0; i < h->n_ext; i++)
			if (unlikely(h->ext_types[i] == type))
				return PC_TLS_DUPLICATE_EXTENSION;
		h->ext_types[h->n_ext++] = type;
		if (unlikely(r->pos + 4 + n > r->avail))
			return PC_TLS_INCOMPLETE;

		const uint8_t *d = x + 4;

		switch (type) {
		case PC_TLS_EXT_SERVER_NAME:
			e = ext_server_name(h, d, n);
			break;
		case PC_TLS_EXT_ALPN:
			e = ext_alpn(h, d, n);
			break;
		case PC_TLS_EXT_SUPPORTED_VERSIONS:
			e = ext_supported_versions(h, d, n);
			break;
		case PC_TLS_EXT_SIGNATURE_ALGORITHMS:
			e = ext_sig_algs(h, d, n);
			break;
		default:
			e = PC_TLS_OK;
			break;
		}
		if (unlikely(e != PC_TLS_OK))
			return e;
		r->pos += 4 + n;
	}
	return PC_TLS_OK;
}

/* The ClientHello body m[0..len) of which avail bytes have arrived
 * (RFC 8446 §4.1.2). */
static enum pc_tls_reason parse_body(struct pc_tls_hello *h, const uint8_t *m, uint32_t len,
				     uint32_t avail)
{
	struct rd r = { .p = m, .pos = 0, .avail = avail };
	enum pc_tls_reason e;
	uint32_t n;

	/* legacy_version: 0x0303 from TLS 1.2+ clients, lower from older ones,
	 * higher from a few that servers must tolerate (§D.1). Anything but
	 * major 3 is not TLS. */
	if ((e = rd_need(&r, 2, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	if (unlikely(m[0] != 3))
		return PC_TLS_BAD_LEGACY_VERSION;
	h->legacy_version = be16(m);
	r.pos += 2;

	if ((e = rd_need(&r, TLS_RANDOM_LEN, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	h->random = m + r.pos;
	r.pos += TLS_RANDOM_LEN;

	if ((e = rd_need(&r, 1, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	n = m[r.pos];
	if (unlikely(n > TLS_SESSION_ID_MAX))
		return PC_TLS_BAD_SESSION_ID;
	if ((e = rd_need(&r, 1 + n, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	h->session_id = m + r.pos + 1;
	h->session_id_len = (uint8_t)n;
	r.pos += 1 + n;

	/* cipher_suites<2..2^16-2>: whole 2-byte values, at least one. */
	if ((e = rd_need(&r, 2, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	n = be16(m + r.pos);
	if (unlikely(n < 2 || (n & 1)))
		return PC_TLS_BAD_CIPHER_SUITES;
	if (unlikely(n / 2 > PC_TLS_MAX_CIPHER_SUITES))
		return PC_TLS_TOO_MANY_CIPHER_SUITES;
	if ((e = rd_need(&r, 2 + n, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	h->cipher_suites.p = m + r.pos + 2;
	h->cipher_suites.n = (uint16_t)(n / 2);
	r.pos += 2 + n;

	/* legacy_compression_methods<1..2^8-1> must offer null(0): RFC 5246
	 * §7.4.1.2, and §4.1.2 here requires exactly that one byte for 1.3. */
	if ((e = rd_need(&r, 1, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	n = m[r.pos];
	if (unlikely(n == 0))
		return PC_TLS_BAD_COMPRESSION;
	if ((e = rd_need(&r, 1 + n, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
		return e;
	if (unlikely(memchr(m + r.pos + 1, 0, n) == NULL))
		return PC_TLS_BAD_COMPRESSION;
	r.pos += 1 + n;

	/* Extensions are optional before TLS 1.2 (RFC 5246 §7.4.1.2: "the
	 * presence of extensions can be detected by determining whether there
	 * are bytes following the compression_methods"); when present, the
	 * block must fill the message exactly. */
	if (r.pos < len) {
		if ((e = rd_need(&r, 2, len, PC_TLS_TRUNCATED)) != PC_TLS_OK)
			return e;
		n = be16(m + r.pos);
		if (unlikely(r.pos + 2 + n > len))
			return PC_TLS_TRUNCATED;
		if (unlikely(r.pos + 2 + n < len))
			return PC_TLS_TRAILING_BYTES;
		r.pos += 2;
		if ((e = parse_extensions(h, &r, len)) != PC_TLS_OK)
			return e;
	}

	if (!(h->flags & PC_TLS_F_SUPPORTED_VERSIONS)) {
		h->versions.p = m; /* legacy_version, as a one-value list */
		h->versions.n = 1;
	}
	/* "If extension 0x002b exists (supported_versions), then the version
	 * is the highest value in the extension. Remember to ignore GREASE
	 * values." (JA4.md, TLS and DTLS Version) */
	h->highest_version = 0;
	for (uint32_t i = 0; i < h->versions.n; i++) {
		uint16_t v = pc_tls_u16v_at(h->versions, i);

		if (!pc_tls_is_grease(v) && v > h->highest_version)
			h->highest_version = v;
	}
	return PC_TLS_OK;
}

/* ---- record pass ------------------------------------------------------- */

static enum pc_tls_reason hs_header(const uint8_t *m, uint32_t got, uint32_t *msg_len)
{
	if (got >= 1 && unlikely(m[0] != TLS_HS_CLIENT_HELLO))
		return PC_TLS_NOT_CLIENT_HELLO;
	if (got < TLS_HS_HDR)
		return PC_TLS_INCOMPLETE;
	uint32_t body = be24(m + 1);

	if (unlikely(body > PC_TLS_HELLO_MAX - TLS_HS_HDR))
		return PC_TLS_HELLO_TOO_LARGE;
	*msg_len = TLS_HS_HDR + body;
	return PC_TLS_OK;
}

enum pc_tls_reason pc_tls_hello_parse(const uint8_t *buf, size_t len, struct pc_tls_hello *h)
{
	const uint8_t *msg = NULL; /* the message gathered so far */
	uint32_t got = 0;          /* its bytes that have arrived */
	uint32_t msg_len = 0;      /* its declared length with header; 0 = not known yet */
	size_t off = 0;            /* stream offset of the next record header */
	size_t need = 0;
	enum pc_tls_reason e;

	/* Only the small fields: the struct is 17 KiB and clearing it all
	 * would cost more than the parse. */
	h->need = 0;
	h->flags = 0;
	h->n_records = 0;
	h->n_ext = 0;
	h->n_alpn = 0;
	h->sni_len = 0;
	h->sni[0] = '\0';
	h->sig_algs.p = NULL;
	h->sig_algs.n = 0;

	for (;;) {
		size_t left = len - off;

		/* The message is incomplete, so another record is due. */
		if (unlikely(h->n_records == PC_TLS_MAX_RECORDS))
			return PC_TLS_TOO_MANY_RECORDS;

		/* RFC 8446 §5.1: handshake messages are not interleaved with
		 * other record types, and before the hello is complete there
		 * is nothing else the client may send. legacy_record_version
		 * is 0x0303, or 0x0301 in an initial ClientHello "for
		 * compatibility"; 0x0302 is what TLS 1.1 stacks write. */
		if (left >= 1 && unlikely(buf[off] != TLS_CONTENT_HANDSHAKE))
			return PC_TLS_NOT_HANDSHAKE;
		if (left >= 3 && unlikely(buf[off + 1] != 3 || buf[off + 2] < 1 || buf[off + 2] > 3))
			return PC_TLS_BAD_RECORD_VERSION;
		if (left < PC_TLS_RECORD_HDR) {
			/* At least the rest of the handshake header (or of the
			 * message) in one more record. */
			need = off + PC_TLS_RECORD_HDR + (msg_len ? msg_len - got : TLS_HS_HDR - got);
			break;
		}
		uint32_t rlen = be16(buf + off + 3);

		/* "The length MUST NOT exceed 2^14 bytes." "Implementations
		 * MUST NOT send zero-length fragments of Handshake types."
		 * (§5.1) */
		if (unlikely(rlen == 0))
			return PC_TLS_EMPTY_RECORD;
		if (unlikely(rlen > PC_TLS_RECORD_MAX))
			return PC_TLS_RECORD_TOO_LARGE;
		h->n_records++;

		const uint8_t *frag = buf + off + PC_TLS_RECORD_HDR;
		uint32_t present = (uint32_t)(left - PC_TLS_RECORD_HDR < rlen ?
					      left - PC_TLS_RECORD_HDR : rlen);
		uint32_t before = got; /* message bytes in earlier records */

		if (h->n_records == 1) {
			msg = frag;
			got = present;
			e = hs_header(msg, got, &msg_len);
			if (e != PC_TLS_OK && e != PC_TLS_INCOMPLETE)
				return e;
		} else {
			if (msg != h->reasm) {
				memcpy(h->reasm, msg, got);
				msg = h->reasm;
			}
			/* Take the header first, then no more than the
			 * message, so a record can never overrun reasm. */
			for (uint32_t i = 0; i < present;) {
				uint32_t want = (msg_len ? msg_len : TLS_HS_HDR) - got;
				uint32_t take = present - i < want ? present - i : want;

				if (take == 0)
					break;
				memcpy(h->reasm + got, frag + i, take);
				got += take;
				i += take;
				if (msg_len == 0) {
					e = hs_header(msg, got, &msg_len);
					if (e != PC_TLS_OK && e != PC_TLS_INCOMPLETE)
						return e;
				}
			}
		}
		/* The record that ends the hello must end with it: nothing else
		 * is due from the client until the server answers (§2), and
		 * bytes the gateway passed uninspected would be a way past it. */
		if (msg_len && unlikely(before + rlen > msg_len))
			return PC_TLS_DATA_AFTER_HELLO;
		if (present < rlen) {
			need = off + PC_TLS_RECORD_HDR + rlen;
			uint32_t want = msg_len ? msg_len : TLS_HS_HDR;

			if (before + rlen < want)
				need += PC_TLS_RECORD_HDR + (want - before - rlen);
			break;
		}
		off += PC_TLS_RECORD_HDR + rlen;
		if (msg_len && got == msg_len)
			break;
	}

	if (msg_len && got == msg_len) {
		h->stream_len = (uint32_t)off;
		h->hello_len = msg_len;
		if (h->n_records > 1)
			h->flags |= PC_TLS_F_REASSEMBLED;
		return parse_body(h, msg + TLS_HS_HDR, msg_len - TLS_HS_HDR, msg_len - TLS_HS_HDR);
	}
	/* A valid prefix so far at the record level: read what the message
	 * holds, to refuse a bad hello now rather than after holding it. */
	if (msg_len && got > TLS_HS_HDR) {
		e = parse_body(h, msg + TLS_HS_HDR, msg_len - TLS_HS_HDR, got - TLS_HS_HDR);
		if (e != PC_TLS_OK && e != PC_TLS_INCOMPLETE)
			return e;
	}
	h->need = (uint32_t)need;
	return PC_TLS_INCOMPLETE;
}

/* ---- JA4 --------------------------------------------------------------- */

/* Shell sort: the lists are short (at most 256 ciphers, 64 extensions), and
 * unlike insertion sort a hostile order cannot make it quadratic. qsort is
 * out: glibc's may allocate. */
static void sort_u16(uint16_t *a, uint32_t n)
{
	static const uint32_t gaps[] = { 57, 23, 10, 4, 1 };

	for (uint32_t g = 0; g < PC_ARRAY_SIZE(gaps); g++) {
		uint32_t gap = gaps[g];

		for (uint32_t i = gap; i < n; i++) {
			uint16_t v = a[i];
			uint32_t j = i;

			for (; j >= gap && a[j - gap] > v; j -= gap)
				a[j] = a[j - gap];
			a[j] = v;
		}
	}
}

static const char hex_digits[] = "0123456789abcdef";

/* Hashes "xxxx,xxxx,..." lists through a small buffer, so a hello with
 * thousands of signature algorithms needs no large stack. */
struct ja4_sink {
	SHA256_CTX sha;
	uint32_t n;
	char buf[256];
};

static void sink_flush(struct ja4_sink *s)
{
	SHA256_Update(&s->sha, s->buf, s->n);
	s->n = 0;
}

static void sink_char(struct ja4_sink *s, char c)
{
	if (s->n == sizeof(s->buf))
		sink_flush(s);
	s->buf[s->n++] = c;
}

static void sink_list(struct ja4_sink *s, const uint16_t *v, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		if (s->n + 5 > sizeof(s->buf))
			sink_flush(s);
		if (i)
			s->buf[s->n++] = ',';
		s->buf[s->n++] = hex_digits[v[i] >> 12];
		s->buf[s->n++] = hex_digits[(v[i] >> 8) & 0xf];
		s->buf[s->n++] = hex_digits[(v[i] >> 4) & 0xf];
		s->buf[s->n++] = hex_digits[v[i] & 0xf];
	}
}

/* The first 12 hex digits of the digest, lower case ("All sha256 functions
 * must output in lower case"). */
static void sink_hash12(struct ja4_sink *s, char *out)
{
	uint8_t md[SHA256_DIGEST_LENGTH];

	sink_flush(s);
	SHA256_Final(md, &s->sha);
	for (int i = 0; i < 6; i++) {
		out[2 * i] = hex_digits[md[i] >> 4];
		out[2 * i + 1] = hex_digits[md[i] & 0xf];
	}
}

/* "0x0304 = TLS 1.3 = "13" ... Unknown = "00"" (JA4.md, TLS and DTLS
 * Version). */
static const char *ja4_version(uint16_t v)
{
	switch (v) {
	case 0x0304: return "13";
	case 0x0303: return "12";
	case 0x0302: return "11";
	case 0x0301: return "10";
	case 0x0300: return "s3";
	case 0x0002: return "s2";
	case 0xfeff: return "d1";
	case 0xfefd: return "d2";
	case 0xfefc: return "d3";
	default: return "00";
	}
}

static inline bool is_alnum(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void two_digits(char *out, uint32_t n)
{
	if (n > 99) /* "If there's > 99, which there should never be, then output "99"." */
		n = 99;
	out[0] = (char)('0' + n / 10);
	out[1] = (char)('0' + n % 10);
}

void pc_tls_hello_ja4(const struct pc_tls_hello *h, char out[PC_TLS_JA4_LEN + 1])
{
	uint16_t v[PC_TLS_MAX_CIPHER_SUITES];
	uint32_t n_ciphers = 0, n_ext = 0, n_sorted = 0;
	struct ja4_sink s;

	/* JA4_a: "t" (TCP: this parser reads a TCP stream, never QUIC or
	 * DTLS), version, "d" when the SNI extension exists else "i" (the
	 * specification and both reference implementations test for the
	 * extension, not for what it names), cipher and extension counts
	 * without GREASE ("Include SNI and ALPN"), ALPN first/last. */
	out[0] = 't';
	memcpy(out + 1, ja4_version(h->highest_version), 2);
	out[3] = (h->flags & PC_TLS_F_SNI) ? 'd' : 'i';
	for (uint32_t i = 0; i < h->cipher_suites.n; i++) {
		uint16_t c = pc_tls_u16v_at(h->cipher_suites, i);

		if (!pc_tls_is_grease(c))
			v[n_ciphers++] = c;
	}
	for (uint32_t i = 0; i < h->n_ext; i++)
		n_ext += !pc_tls_is_grease(h->ext_types[i]);
	two_digits(out + 4, n_ciphers);
	two_digits(out + 6, n_ext);

	/* "The first and last alphanumeric characters of the ALPN first value"
	 * ("00" when there is none); if either byte is not [0-9A-Za-z], the
	 * first and last characters of the value's hex representation. */
	if (h->n_alpn == 0 || h->alpn[0].len == 0) {
		out[8] = '0';
		out[9] = '0';
	} else {
		uint8_t first = (uint8_t)h->alpn[0].p[0];
		uint8_t last = (uint8_t)h->alpn[0].p[h->alpn[0].len - 1];

		if (is_alnum(first) && is_alnum(last)) {
			out[8] = (char)first;
			out[9] = (char)last;
		} else {
			out[8] = hex_digits[first >> 4];
			out[9] = hex_digits[last & 0xf];
		}
	}
	out[10] = '_';

	/* JA4_b: the cipher list without GREASE, sorted, "000000000000" when
	 * empty. */
	if (n_ciphers == 0) {
		memset(out + 11, '0', 12);
	} else {
		sort_u16(v, n_ciphers);
		SHA256_Init(&s.sha);
		s.n = 0;
		sink_list(&s, v, n_ciphers);
		sink_hash12(&s, out + 11);
	}
	out[23] = '_';

	/* JA4_c: extensions without GREASE, SNI (0000) and ALPN (0010),
	 * sorted; then "_" and the signature algorithms in their original
	 * order, GREASE removed (the reference implementations drop GREASE
	 * there too), with no "_" when there are none. "000000000000" when the
	 * sorted extension list is empty. */
	for (uint32_t i = 0; i < h->n_ext; i++) {
		uint16_t t = h->ext_types[i];

		if (!pc_tls_is_grease(t) && t != PC_TLS_EXT_SERVER_NAME && t != PC_TLS_EXT_ALPN)
			v[n_sorted++] = t;
	}
	if (n_sorted == 0) {
		memset(out + 24, '0', 12);
	} else {
		sort_u16(v, n_sorted);
		SHA256_Init(&s.sha);
		s.n = 0;
		sink_list(&s, v, n_sorted);
		bool first = true;

		for (uint32_t i = 0; i < h->sig_algs.n; i++) {
			uint16_t a = pc_tls_u16v_at(h->sig_algs, i);

			if (pc_tls_is_grease(a))
				continue;
			sink_char(&s, first ? '_' : ',');
			first = false;
			sink_list(&s, &a, 1);
		}
		sink_hash12(&s, out + 24);
	}
	out[PC_TLS_JA4_LEN] = '\0';
}
