/* SPDX-License-Identifier: BSD-3-Clause
 *
 * lib/tls ClientHello parser and JA4. Fixtures in tests/data/tls: two
 * ClientHellos published with their JA4 (one is the FoxIO specification's own
 * example) and three captured from curl and openssl s_client on this
 * platform. Every other hello is built here field by field, so each refusal
 * reason is triggered by exactly the defect it names. Each parse reads from a
 * heap copy of exactly the bytes offered, so an over-read is an ASan error
 * in developer builds.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_test.h"
#include "tls/tls_hello.h"

#define DATA_DIR "../data/tls/"

static struct pc_tls_hello h, h2;
static bool covered[PC_TLS_REASON_COUNT];

/* ---- helpers ----------------------------------------------------------- */

struct buf {
	uint8_t b[1 << 16];
	size_t n;
};

static void put8(struct buf *b, unsigned v)
{
	b->b[b->n++] = (uint8_t)v;
}

static void put16(struct buf *b, unsigned v)
{
	put8(b, v >> 8);
	put8(b, v & 0xff);
}

static void put24(struct buf *b, unsigned v)
{
	put8(b, v >> 16);
	put16(b, v & 0xffff);
}

static void putn(struct buf *b, const void *p, size_t n)
{
	memcpy(b->b + b->n, p, n);
	b->n += n;
}

/* Parse exactly buf[0..n) from a heap block of that size, which lives until
 * the next call so that the views of the result stay readable. */
static enum pc_tls_reason parse_exact(const uint8_t *buf, size_t n, struct pc_tls_hello *out)
{
	static uint8_t *copy;

	free(copy);
	copy = malloc(n ? n : 1);
	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, buf, n);
	return pc_tls_hello_parse(copy, n, out);
}

static void expect_at(const uint8_t *buf, size_t n, enum pc_tls_reason want, int line)
{
	enum pc_tls_reason r = parse_exact(buf, n, &h);

	if (r != want)
		fprintf(stderr, "\n  line %d: got %s, want %s\n", line, pc_tls_reason_name(r),
			pc_tls_reason_name(want));
	CU_ASSERT_EQUAL(r, want);
	if (r == want)
		covered[r] = true;
}

#define EXPECT(buf, n, want) expect_at((buf), (n), (want), __LINE__)

/* Hex fixture: '#' starts a comment line, whitespace is ignored. */
static size_t load_hex(const char *name, uint8_t *out, size_t cap)
{
	char path[256];
	char line[512];
	size_t n = 0;

	snprintf(path, sizeof(path), DATA_DIR "%s", name);
	FILE *f = fopen(path, "r");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f)) {
		if (line[0] == '#')
			continue;
		for (char *p = line; p[0] && p[1]; p++) {
			if (!isxdigit((unsigned char)p[0]))
				continue;
			unsigned v;

			CU_ASSERT_FATAL(sscanf(p, "%2x", &v) == 1 && n < cap);
			out[n++] = (uint8_t)v;
			p++;
		}
	}
	fclose(f);
	return n;
}

/* Re-cut a handshake message into records of frag bytes. */
static size_t wrap(const uint8_t *msg, size_t len, size_t frag, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i += frag) {
		size_t n = len - i < frag ? len - i : frag;

		out[o++] = 22;
		out[o++] = 3;
		out[o++] = 1;
		out[o++] = (uint8_t)(n >> 8);
		out[o++] = (uint8_t)n;
		memcpy(out + o, msg + i, n);
		o += n;
	}
	return o;
}

static void ext_raw(struct buf *e, unsigned type, const void *data, size_t n)
{
	put16(e, type);
	put16(e, (unsigned)n);
	putn(e, data, n);
}

static void ext_sni_bytes(struct buf *e, const void *name, size_t n)
{
	put16(e, PC_TLS_EXT_SERVER_NAME);
	put16(e, (unsigned)(n + 5));
	put16(e, (unsigned)(n + 3));
	put8(e, 0);
	put16(e, (unsigned)n);
	putn(e, name, n);
}

static void ext_sni(struct buf *e, const char *name)
{
	ext_sni_bytes(e, name, strlen(name));
}

static void ext_alpn(struct buf *e, const char *const *names, size_t k)
{
	size_t total = 0;

	for (size_t i = 0; i < k; i++)
		total += 1 + strlen(names[i]);
	put16(e, PC_TLS_EXT_ALPN);
	put16(e, (unsigned)(total + 2));
	put16(e, (unsigned)total);
	for (size_t i = 0; i < k; i++) {
		put8(e, (unsigned)strlen(names[i]));
		putn(e, names[i], strlen(names[i]));
	}
}

static void ext_u16s(struct buf *e, unsigned type, const uint16_t *v, size_t k)
{
	put16(e, type);
	if (type == PC_TLS_EXT_SUPPORTED_VERSIONS) {
		put16(e, (unsigned)(1 + 2 * k));
		put8(e, (unsigned)(2 * k));
	} else {
		put16(e, (unsigned)(2 + 2 * k));
		put16(e, (unsigned)(2 * k));
	}
	for (size_t i = 0; i < k; i++)
		put16(e, v[i]);
}

/* A ClientHello to build; zero fields take the defaults. */
struct spec {
	uint8_t hs_type;               /* default client_hello(1) */
	uint16_t legacy_version;       /* default 0x0303 */
	int sid_len;                   /* default 32; -1 for none */
	const uint16_t *ciphers;       /* default four TLS 1.3/1.2 suites */
	size_t n_ciphers;
	const uint8_t *cs_raw;         /* cipher_suites vector body, as given */
	int cs_raw_len;                /* -1: use ciphers */
	const uint8_t *comp;           /* default { 0 } */
	int n_comp;
	bool no_extensions;            /* end the hello after compression */
	const struct buf *ext;         /* default: default_ext() */
	int ext_block_delta;           /* added to the declared block length */
};

static const uint16_t default_ciphers[] = { 0x1301, 0x1302, 0x1303, 0xc02b };

static void default_ext(struct buf *e)
{
	static const char *const alpn[] = { "h2", "http/1.1" };
	static const uint16_t versions[] = { 0x0304, 0x0303 };
	static const uint16_t sigs[] = { 0x0403, 0x0804, 0x0401 };
	static const uint16_t groups[] = { 0x001d, 0x0017 };

	e->n = 0;
	ext_sni(e, "api.example.com");
	ext_alpn(e, alpn, 2);
	ext_u16s(e, PC_TLS_EXT_SUPPORTED_VERSIONS, versions, 2);
	ext_u16s(e, PC_TLS_EXT_SIGNATURE_ALGORITHMS, sigs, 3);
	ext_u16s(e, 10, groups, 2); /* supported_groups */
	ext_raw(e, 51, "\x00\x00", 2); /* key_share, empty client_shares */
}

static size_t build_msg(const struct spec *s, struct buf *m)
{
	static struct buf e;
	const struct buf *ext = s->ext;

	if (ext == NULL) {
		default_ext(&e);
		ext = &e;
	}
	m->n = 0;
	put8(m, s->hs_type ? s->hs_type : 1);
	put24(m, 0);
	put16(m, s->legacy_version ? s->legacy_version : 0x0303);
	for (int i = 0; i < 32; i++)
		put8(m, 0x11);
	int sid = s->sid_len == 0 ? 32 : s->sid_len < 0 ? 0 : s->sid_len;

	put8(m, (unsigned)sid);
	for (int i = 0; i < sid; i++)
		put8(m, 0x22);
	if (s->cs_raw_len > 0 || s->cs_raw != NULL) {
		put16(m, (unsigned)s->cs_raw_len);
		putn(m, s->cs_raw, (size_t)s->cs_raw_len);
	} else {
		const uint16_t *c = s->ciphers ? s->ciphers : default_ciphers;
		size_t k = s->ciphers ? s->n_ciphers : PC_ARRAY_SIZE(default_ciphers);

		put16(m, (unsigned)(2 * k));
		for (size_t i = 0; i < k; i++)
			put16(m, c[i]);
	}
	if (s->comp) {
		put8(m, (unsigned)s->n_comp);
		putn(m, s->comp, (size_t)s->n_comp);
	} else {
		put8(m, 1);
		put8(m, 0);
	}
	if (!s->no_extensions) {
		put16(m, (unsigned)((int)ext->n + s->ext_block_delta));
		putn(m, ext->b, ext->n);
	}
	size_t body = m->n - 4;

	m->b[1] = (uint8_t)(body >> 16);
	m->b[2] = (uint8_t)(body >> 8);
	m->b[3] = (uint8_t)body;
	return m->n;
}

/* The hello of spec s as a stream of one record. */
static size_t build(const struct spec *s, uint8_t *out)
{
	static struct buf m;

	build_msg(s, &m);
	return wrap(m.b, m.n, PC_TLS_RECORD_MAX, out);
}

/* A hello with only the extensions in e. */
static size_t build_ext(const struct buf *e, uint8_t *out)
{
	struct spec s = { .ext = e };

	return build(&s, out);
}

static void ja4_of(const uint8_t *buf, size_t n, char *out)
{
	CU_ASSERT_EQUAL_FATAL(parse_exact(buf, n, &h), PC_TLS_OK);
	pc_tls_hello_ja4(&h, out);
}

/* ---- fixtures ---------------------------------------------------------- */

static uint8_t fx[PC_TLS_HELLO_MAX + 1024];
static uint8_t st[4 * PC_TLS_HELLO_MAX];

static void test_published_chrome(void)
{
	size_t n = load_hex("chrome_ja4_spec.hex", fx, sizeof(fx));
	char ja4[PC_TLS_JA4_LEN + 1];

	CU_ASSERT_EQUAL(n, 517);
	CU_ASSERT_EQUAL(parse_exact(fx, n, &h), PC_TLS_OK);
	pc_tls_hello_ja4(&h, ja4);
	/* The JA4.md example and CyberChef's expectation for these bytes. */
	CU_ASSERT_STRING_EQUAL(ja4, "t13d1516h2_8daaf6152771_e5627efa2ab1");
	CU_ASSERT_EQUAL(strlen(ja4), PC_TLS_JA4_LEN);
	CU_ASSERT_STRING_EQUAL(h.sni, "content-autofill.googleapis.com");
	CU_ASSERT_EQUAL(h.sni_len, strlen("content-autofill.googleapis.com"));
	CU_ASSERT_EQUAL(h.flags & (PC_TLS_F_SNI | PC_TLS_F_SNI_IP), PC_TLS_F_SNI);
	CU_ASSERT_EQUAL(h.n_alpn, 2);
	CU_ASSERT(pc_str_eq(h.alpn[0], "h2", 2));
	CU_ASSERT(pc_str_eq(h.alpn[1], "http/1.1", 8));
	/* GREASE is kept in the raw lists and skipped when interpreted. */
	CU_ASSERT_EQUAL(h.cipher_suites.n, 16);
	CU_ASSERT_EQUAL(pc_tls_u16v_at(h.cipher_suites, 0), 0x5a5a);
	CU_ASSERT_EQUAL(h.n_ext, 18);
	CU_ASSERT_EQUAL(h.ext_types[0], 0xfafa);
	CU_ASSERT_EQUAL(h.versions.n, 3);
	CU_ASSERT_EQUAL(pc_tls_u16v_at(h.versions, 0), 0x0a0a);
	CU_ASSERT_EQUAL(h.highest_version, PC_TLS_VERSION_1_3);
	CU_ASSERT_EQUAL(h.legacy_version, PC_TLS_VERSION_1_2);
	CU_ASSERT_EQUAL(h.sig_algs.n, 8);
	CU_ASSERT_EQUAL(pc_tls_u16v_at(h.sig_algs, 0), 0x0403);
	CU_ASSERT_EQUAL(h.session_id_len, 32);
	CU_ASSERT_EQUAL(h.random[0], 0xb2);
	CU_ASSERT_EQUAL(h.hello_len, 512);
	CU_ASSERT_EQUAL(h.stream_len, 517);
	CU_ASSERT_EQUAL(h.n_records, 1);
	CU_ASSERT_FALSE(h.flags & PC_TLS_F_REASSEMBLED);
	CU_ASSERT(pc_tls_hello_has_ext(&h, 0x4469));
	CU_ASSERT_FALSE(pc_tls_hello_has_ext(&h, PC_TLS_EXT_PRE_SHARED_KEY));
}

static void test_published_firefox(void)
{
	size_t n = load_hex("firefox_cyberchef.hex", fx, sizeof(fx));
	char ja4[PC_TLS_JA4_LEN + 1];

	ja4_of(fx, n, ja4);
	CU_ASSERT_STRING_EQUAL(ja4, "t13d1715h2_5b57614c22b0_3d5424432f57");
	CU_ASSERT_STRING_EQUAL(h.sni, "contile.services.mozilla.com");
	CU_ASSERT_EQUAL(h.highest_version, PC_TLS_VERSION_1_3);
	CU_ASSERT_EQUAL(h.versions.n, 2);
}

static void test_captured(void)
{
	static const struct {
		const char *file, *ja4, *sni, *alpn0;
		uint16_t version;
		uint8_t n_versions;
	} caps[] = {
		{ "curl_tls13.hex", "t13d0412h1_16476d049b0b_85302d7e289e",
		  "api.portcullis-test.example", "http/1.1", 0x0304, 1 },
		{ "openssl_tls12.hex", "t12d2808h1_d943125447b4_e7e480e5a997",
		  "api.portcullis-test.example", "http/1.1", 0x0303, 1 },
		{ "openssl_tls13_nosni.hex", "t13i0410h2_16476d049b0b_78f1d400d464",
		  "", "h2", 0x0304, 1 },
	};
	char ja4[PC_TLS_JA4_LEN + 1];

	for (size_t i = 0; i < PC_ARRAY_SIZE(caps); i++) {
		size_t n = load_hex(caps[i].file, fx, sizeof(fx));

		ja4_of(fx, n, ja4);
		CU_ASSERT_STRING_EQUAL(ja4, caps[i].ja4);
		CU_ASSERT_STRING_EQUAL(h.sni, caps[i].sni);
		CU_ASSERT_EQUAL(!!(h.flags & PC_TLS_F_SNI), caps[i].sni[0] != '\0');
		CU_ASSERT(pc_str_eq(h.alpn[0], caps[i].alpn0, strlen(caps[i].alpn0)));
		CU_ASSERT_EQUAL(h.highest_version, caps[i].version);
		CU_ASSERT_EQUAL(h.versions.n, caps[i].n_versions);
		CU_ASSERT_EQUAL(h.stream_len, n);
	}
	/* TLS 1.2 only: no supported_versions, so the offered version is
	 * legacy_version, as a one-value list. */
	size_t n = load_hex("openssl_tls12.hex", fx, sizeof(fx));

	CU_ASSERT_EQUAL(parse_exact(fx, n, &h), PC_TLS_OK);
	CU_ASSERT_FALSE(h.flags & PC_TLS_F_SUPPORTED_VERSIONS);
	CU_ASSERT_EQUAL(pc_tls_u16v_at(h.versions, 0), 0x0303);
}

/* ---- incremental input ------------------------------------------------- */

/* Every proper prefix of a valid stream asks for more, with a need past the
 * prefix and no further than the real end; with exact when the hello is one
 * record and its header has arrived. */
static void check_prefixes(const uint8_t *s, size_t full, bool exact)
{
	int bad = 0;

	for (size_t n = 0; n < full; n++) {
		enum pc_tls_reason r = parse_exact(s, n, &h);

		if (r != PC_TLS_INCOMPLETE || h.need <= n || h.need > full ||
		    (exact && n >= PC_TLS_RECORD_HDR && h.need != full)) {
			if (bad++ < 3)
				fprintf(stderr, "\n  prefix %zu/%zu: %s need %u\n", n, full,
					pc_tls_reason_name(r), h.need);
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(parse_exact(s, full, &h), PC_TLS_OK);
}

static void test_every_truncation(void)
{
	static const char *const files[] = {
		"chrome_ja4_spec.hex", "firefox_cyberchef.hex", "curl_tls13.hex",
		"openssl_tls12.hex", "openssl_tls13_nosni.hex",
	};
	static const size_t frags[] = { 1000, 200, 37, 9 };

	for (size_t f = 0; f < PC_ARRAY_SIZE(files); f++) {
		size_t n = load_hex(files[f], fx, sizeof(fx));

		check_prefixes(fx, n, true);
		/* The same hello fragmented over records of several sizes. */
		size_t msg_len = n - PC_TLS_RECORD_HDR;

		for (size_t i = 0; i < PC_ARRAY_SIZE(frags); i++) {
			size_t sn = wrap(fx + PC_TLS_RECORD_HDR, msg_len, frags[i], st);

			check_prefixes(st, sn, false);
		}
	}
	covered[PC_TLS_INCOMPLETE] = true;
}

static void test_need_values(void)
{
	size_t n = load_hex("curl_tls13.hex", fx, sizeof(fx));

	/* Nothing yet: one record header plus the handshake header. */
	CU_ASSERT_EQUAL(parse_exact(fx, 0, &h), PC_TLS_INCOMPLETE);
	CU_ASSERT_EQUAL(h.need, PC_TLS_RECORD_HDR + 4);
	/* Record header seen: the whole record. */
	CU_ASSERT_EQUAL(parse_exact(fx, 5, &h), PC_TLS_INCOMPLETE);
	CU_ASSERT_EQUAL(h.need, n);
	/* Split in two records of 100 + rest: inside the first, its end plus
	 * one more header and the rest of the message. */
	size_t msg_len = n - PC_TLS_RECORD_HDR;
	size_t sn = wrap(fx + PC_TLS_RECORD_HDR, msg_len, 100, st);

	CU_ASSERT_EQUAL(parse_exact(st, 50, &h), PC_TLS_INCOMPLETE);
	CU_ASSERT_EQUAL(h.need, PC_TLS_RECORD_HDR + 100 + PC_TLS_RECORD_HDR + (msg_len - 100));
	CU_ASSERT(h.need <= sn);
}

static void test_split_two_records(void)
{
	size_t n = load_hex("chrome_ja4_spec.hex", fx, sizeof(fx));
	const uint8_t *msg = fx + PC_TLS_RECORD_HDR;
	size_t msg_len = n - PC_TLS_RECORD_HDR;
	char want[PC_TLS_JA4_LEN + 1], got[PC_TLS_JA4_LEN + 1];
	int bad = 0;

	ja4_of(fx, n, want);
	/* Every cut point, including inside the handshake header and inside
	 * the server name. */
	for (size_t cut = 1; cut < msg_len; cut++) {
		size_t o = 0;

		st[o++] = 22, st[o++] = 3, st[o++] = 1;
		st[o++] = (uint8_t)(cut >> 8), st[o++] = (uint8_t)cut;
		memcpy(st + o, msg, cut), o += cut;
		st[o++] = 22, st[o++] = 3, st[o++] = 3;
		st[o++] = (uint8_t)((msg_len - cut) >> 8), st[o++] = (uint8_t)(msg_len - cut);
		memcpy(st + o, msg + cut, msg_len - cut), o += msg_len - cut;

		uint8_t *copy = malloc(o);

		memcpy(copy, st, o);
		enum pc_tls_reason r = pc_tls_hello_parse(copy, o, &h2);

		if (r == PC_TLS_OK)
			pc_tls_hello_ja4(&h2, got);
		if (r != PC_TLS_OK || strcmp(got, want) || h2.n_records != 2 ||
		    !(h2.flags & PC_TLS_F_REASSEMBLED) || h2.stream_len != o ||
		    strcmp(h2.sni, "content-autofill.googleapis.com") ||
		    !pc_str_eq(h2.alpn[1], "http/1.1", 8) ||
		    (const uint8_t *)h2.alpn[0].p < h2.reasm ||
		    (const uint8_t *)h2.alpn[0].p >= h2.reasm + sizeof(h2.reasm))
			bad++;
		free(copy);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_zero_copy(void)
{
	size_t n = load_hex("firefox_cyberchef.hex", fx, sizeof(fx));

	CU_ASSERT_EQUAL(pc_tls_hello_parse(fx, n, &h), PC_TLS_OK);
	CU_ASSERT(h.cipher_suites.p > fx && h.cipher_suites.p < fx + n);
	CU_ASSERT((const uint8_t *)h.alpn[0].p > fx && (const uint8_t *)h.alpn[0].p < fx + n);
}

/* A hello of exactly PC_TLS_HELLO_MAX bytes, padded (RFC 7685). */
static size_t build_max(struct buf *m, size_t extra)
{
	static struct buf e;
	static uint8_t zeros[PC_TLS_HELLO_MAX];
	struct spec s = { .ext = &e };

	default_ext(&e);
	build_msg(&s, m);
	size_t pad = PC_TLS_HELLO_MAX - m->n - 4 + extra;

	ext_raw(&e, 21, zeros, pad);
	return build_msg(&s, m);
}

static void test_size_limits(void)
{
	static struct buf m;

	CU_ASSERT_EQUAL(build_max(&m, 0), PC_TLS_HELLO_MAX);
	/* The largest hello fits one largest record... */
	size_t sn = wrap(m.b, m.n, PC_TLS_RECORD_MAX, st);

	EXPECT(st, sn, PC_TLS_OK);
	check_prefixes(st, sn, true);
	/* ...or any split, including one inside the handshake header. */
	for (size_t cut = 1; cut <= 4; cut++) {
		size_t o = 0;

		memcpy(st, "\x16\x03\x01", 3), o = 3;
		st[o++] = 0, st[o++] = (uint8_t)cut;
		memcpy(st + o, m.b, cut), o += cut;
		memcpy(st + o, "\x16\x03\x03", 3), o += 3;
		st[o++] = (uint8_t)((m.n - cut) >> 8), st[o++] = (uint8_t)(m.n - cut);
		memcpy(st + o, m.b + cut, m.n - cut), o += m.n - cut;
		EXPECT(st, o, PC_TLS_OK);
		CU_ASSERT_EQUAL(h.hello_len, PC_TLS_HELLO_MAX);
		/* A full-size second record after a split header must not be
		 * copied past the message (nor past the reassembly area). */
		st[3 + 2 + cut + 3] = PC_TLS_RECORD_MAX >> 8;
		st[3 + 2 + cut + 4] = 0;
		memset(st + o, 0, PC_TLS_RECORD_MAX);
		/* The struct's tail padding hides a small overrun from ASan,
		 * so fill it with a canary. */
		size_t end = offsetof(struct pc_tls_hello, reasm) + sizeof(h.reasm);

		memset((uint8_t *)&h + end, 0xa5, sizeof(h) - end);
		EXPECT(st, 5 + cut + 5 + PC_TLS_RECORD_MAX, PC_TLS_DATA_AFTER_HELLO);
		for (size_t i = end; i < sizeof(h); i++)
			CU_ASSERT_EQUAL(((uint8_t *)&h)[i], 0xa5);
	}
	/* One byte more is refused from the handshake header. */
	CU_ASSERT_EQUAL(build_max(&m, 1), PC_TLS_HELLO_MAX + 1);
	sn = wrap(m.b, m.n, PC_TLS_RECORD_MAX, st);
	EXPECT(st, sn, PC_TLS_HELLO_TOO_LARGE);
	EXPECT(st, 9, PC_TLS_HELLO_TOO_LARGE);
}

static void test_bytes_after_hello_records(void)
{
	size_t n = load_hex("curl_tls13.hex", fx, sizeof(fx));

	/* A change_cipher_spec record after the hello (middlebox
	 * compatibility mode) is not the parser's business. */
	memcpy(fx + n, "\x14\x03\x03\x00\x01\x01", 6);
	CU_ASSERT_EQUAL(parse_exact(fx, n + 6, &h), PC_TLS_OK);
	CU_ASSERT_EQUAL(h.stream_len, n);
}

/* ---- refusals ---------------------------------------------------------- */

static void test_record_reasons(void)
{
	struct spec s = { 0 };
	size_t n = build(&s, st);

	EXPECT(st, n, PC_TLS_OK);
	EXPECT((const uint8_t *)"G", 1, PC_TLS_NOT_HANDSHAKE); /* plaintext HTTP, at once */
	EXPECT((const uint8_t *)"GET / HTTP/1.1\r\n", 16, PC_TLS_NOT_HANDSHAKE);
	EXPECT((const uint8_t *)"\x17\x03\x03", 3, PC_TLS_NOT_HANDSHAKE);
	EXPECT((const uint8_t *)"\x80\x2e\x01", 3, PC_TLS_NOT_HANDSHAKE); /* SSLv2 hello */
	EXPECT((const uint8_t *)"\x16\x03\x04", 3, PC_TLS_BAD_RECORD_VERSION);
	EXPECT((const uint8_t *)"\x16\x03\x00", 3, PC_TLS_BAD_RECORD_VERSION);
	EXPECT((const uint8_t *)"\x16\x02\x01", 3, PC_TLS_BAD_RECORD_VERSION);
	EXPECT((const uint8_t *)"\x16\x03", 2, PC_TLS_INCOMPLETE);
	EXPECT((const uint8_t *)"\x16\x03\x01\x40\x01", 5, PC_TLS_RECORD_TOO_LARGE);
	EXPECT((const uint8_t *)"\x16\x03\x01\x40\x00", 5, PC_TLS_INCOMPLETE);
	EXPECT((const uint8_t *)"\x16\x03\x01\x00\x00", 5, PC_TLS_EMPTY_RECORD);

	/* A second record of another type before the hello is complete. */
	static struct buf m;

	build_msg(&s, &m);
	size_t sn = wrap(m.b, m.n, 60, st);

	st[5 + 60] = 23;
	EXPECT(st, sn, PC_TLS_NOT_HANDSHAKE);
	st[5 + 60] = 22;
	st[5 + 60 + 2] = 4;
	EXPECT(st, sn, PC_TLS_BAD_RECORD_VERSION);
	st[5 + 60 + 2] = 1;
	EXPECT(st, sn, PC_TLS_OK);
	/* An empty record in the middle. */
	memmove(st + 5 + 60 + 5, st + 5 + 60, sn - 65);
	memcpy(st + 5 + 60, "\x16\x03\x01\x00\x00", 5);
	EXPECT(st, sn + 5, PC_TLS_EMPTY_RECORD);

	/* Fragmentation is bounded: 64 records pass, 65 do not. */
	CU_ASSERT(m.n >= 2 * PC_TLS_MAX_RECORDS);
	size_t frag = (m.n + PC_TLS_MAX_RECORDS - 1) / PC_TLS_MAX_RECORDS;

	sn = wrap(m.b, m.n, frag, st);
	EXPECT(st, sn, PC_TLS_OK);
	CU_ASSERT_EQUAL(h.n_records, (m.n + frag - 1) / frag);
	frag = m.n / (PC_TLS_MAX_RECORDS + 1);
	sn = wrap(m.b, m.n, frag, st);
	EXPECT(st, sn, PC_TLS_TOO_MANY_RECORDS);
	/* Refused as soon as 64 records end short of the message, before a
	 * 65th byte arrives. */
	EXPECT(st, PC_TLS_MAX_RECORDS * (PC_TLS_RECORD_HDR + frag), PC_TLS_TOO_MANY_RECORDS);
	EXPECT(st, PC_TLS_MAX_RECORDS * (PC_TLS_RECORD_HDR + frag) - 1, PC_TLS_INCOMPLETE);
}

static void test_handshake_reasons(void)
{
	static struct buf m;
	struct spec s = { 0 };
	size_t sn;

	/* A ServerHello (or anything else) is refused at its first byte. */
	s.hs_type = 2;
	build_msg(&s, &m);
	sn = wrap(m.b, m.n, PC_TLS_RECORD_MAX, st);
	EXPECT(st, 6, PC_TLS_NOT_CLIENT_HELLO);
	EXPECT(st, sn, PC_TLS_NOT_CLIENT_HELLO);
	s.hs_type = 0;

	/* Declared length above the cap, seen from the header alone. */
	memcpy(st, "\x16\x03\x01\x00\x04\x01\x00\x3f\xfd", 9);
	EXPECT(st, 9, PC_TLS_HELLO_TOO_LARGE);
	memcpy(st, "\x16\x03\x01\x00\x04\x01\x00\x3f\xfc", 9); /* 16380 + 4: the cap */
	EXPECT(st, 9, PC_TLS_INCOMPLETE);
	CU_ASSERT_EQUAL(h.need, 9 + 5 + 16380);
	memcpy(st, "\x16\x03\x01\x00\x04\x01\xff\xff\xff", 9);
	EXPECT(st, 9, PC_TLS_HELLO_TOO_LARGE);
	/* Header split over records, too large. */
	memcpy(st, "\x16\x03\x01\x00\x02\x01\x00\x16\x03\x01\x00\x02\x40\x00", 14);
	EXPECT(st, 14, PC_TLS_HELLO_TOO_LARGE);

	/* Data after the hello inside its last record. */
	build_msg(&s, &m);
	sn = wrap(m.b, m.n, PC_TLS_RECORD_MAX, st);
	st[3] = (uint8_t)((m.n + 1) >> 8);
	st[4] = (uint8_t)(m.n + 1);
	st[sn] = 0x14;
	EXPECT(st, sn + 1, PC_TLS_DATA_AFTER_HELLO);
	EXPECT(st, 9, PC_TLS_DATA_AFTER_HELLO); /* known from the headers alone */
	/* ...and when the hello was fragmented. */
	sn = wrap(m.b, m.n, 100, st);
	size_t last = sn - (m.n % 100 ? m.n % 100 : 100) - PC_TLS_RECORD_HDR;
	unsigned rl = (unsigned)(st[last + 3] << 8 | st[last + 4]) + 3;

	st[last + 3] = (uint8_t)(rl >> 8);
	st[last + 4] = (uint8_t)rl;
	memcpy(st + sn, "\x01\x02\x03", 3);
	EXPECT(st, sn + 3, PC_TLS_DATA_AFTER_HELLO);
}

static void test_body_reasons(void)
{
	static struct buf m;
	struct spec s = { 0 };
	size_t n;

	s.legacy_version = 0x0203;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_BAD_LEGACY_VERSION);
	EXPECT(st, 11, PC_TLS_BAD_LEGACY_VERSION); /* from an 11-byte prefix */
	s.legacy_version = 0x0301;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_OK);
	s.legacy_version = 0;

	s.sid_len = 33;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_BAD_SESSION_ID);
	EXPECT(st, 5 + 4 + 2 + 32 + 1, PC_TLS_BAD_SESSION_ID);
	s.sid_len = -1;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_OK);
	CU_ASSERT_EQUAL(h.session_id_len, 0);
	s.sid_len = 0;

	s.cs_raw = (const uint8_t *)"";
	s.cs_raw_len = 0;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_BAD_CIPHER_SUITES);
	s.cs_raw = (const uint8_t *)"\x13\x01\x13";
	s.cs_raw_len = 3;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_BAD_CIPHER_SUITES);
	s.cs_raw = NULL;
	s.cs_raw_len = 0;

	static uint16_t many[PC_TLS_MAX_CIPHER_SUITES + 1];

	for (size_t i = 0; i < PC_ARRAY_SIZE(many); i++)
		many[i] = (uint16_t)(0x0100 + i);
	s.ciphers = many;
	s.n_ciphers = PC_TLS_MAX_CIPHER_SUITES;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_OK);
	s.n_ciphers = PC_TLS_MAX_CIPHER_SUITES + 1;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_TOO_MANY_CIPHER_SUITES);
	s.ciphers = NULL;

	s.comp = (const uint8_t *)"";
	s.n_comp = 0;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_BAD_COMPRESSION);
	s.comp = (const uint8_t *)"\x01";
	s.n_comp = 1;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_BAD_COMPRESSION);
	s.comp = (const uint8_t *)"\x01\x00";
	s.n_comp = 2;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_OK);
	s.comp = NULL;

	/* Extensions block longer / shorter than the rest of the message. */
	s.ext_block_delta = 1;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_TRUNCATED);
	s.ext_block_delta = -1;
	n = build(&s, st);
	EXPECT(st, n, PC_TLS_TRAILING_BYTES);
	s.ext_block_delta = 0;

	/* The message ends inside a field it declares. */
	build_msg(&s, &m);
	for (size_t cut = 4; cut < m.n; cut += 7) {
		static struct buf t;

		memcpy(t.b, m.b, cut);
		t.n = cut;
		t.b[1] = (uint8_t)((cut - 4) >> 16);
		t.b[2] = (uint8_t)((cut - 4) >> 8);
		t.b[3] = (uint8_t)(cut - 4);
		n = wrap(t.b, t.n, PC_TLS_RECORD_MAX, st);
		enum pc_tls_reason r = parse_exact(st, n, &h);

		/* Cut exactly after the compression methods is a valid
		 * extension-less hello; a cut inside the extensions makes the
		 * block length overrun the message. */
		CU_ASSERT(r == PC_TLS_TRUNCATED || (r == PC_TLS_OK && h.n_ext == 0));
		if (r == PC_TLS_TRUNCATED)
			covered[r] = true;
	}
}

static void test_no_extensions(void)
{
	struct spec s = { .legacy_version = 0x0301, .no_extensions = true };
	size_t n = build(&s, st);
	char ja4[PC_TLS_JA4_LEN + 1];

	ja4_of(st, n, ja4);
	CU_ASSERT_EQUAL(h.n_ext, 0);
	CU_ASSERT_EQUAL(h.n_alpn, 0);
	CU_ASSERT_EQUAL(h.highest_version, PC_TLS_VERSION_1_0);
	CU_ASSERT_EQUAL(h.sig_algs.n, 0);
	/* "i" (no SNI), "00" ALPN, and a zero JA4_c: no extensions at all. */
	CU_ASSERT_STRING_EQUAL(ja4 + 23, "_000000000000");
	CU_ASSERT_NSTRING_EQUAL(ja4, "t10i040000_", 11);
	check_prefixes(st, n, true);
}

static void test_extension_reasons(void)
{
	static struct buf e;
	size_t n;

	/* §4.2: one extension of a type per block. */
	default_ext(&e);
	ext_raw(&e, 10, "\x00\x02\x00\x17", 4);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_DUPLICATE_EXTENSION);
	default_ext(&e);
	ext_raw(&e, 0xff01, "\x00", 1);
	ext_raw(&e, 0xff01, "\x00", 1);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_DUPLICATE_EXTENSION);
	/* Two different GREASE types are two types. */
	default_ext(&e);
	ext_raw(&e, 0x0a0a, "", 0);
	ext_raw(&e, 0x1a1a, "\x00", 1);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_OK);

	/* §4.2.11 pre_shared_key last. */
	default_ext(&e);
	ext_raw(&e, PC_TLS_EXT_PRE_SHARED_KEY, "\x00\x00\x00\x00", 4);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_OK);
	ext_raw(&e, 23, "", 0);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_PSK_NOT_LAST);

	/* Count cap. */
	e.n = 0;
	for (unsigned i = 0; i < PC_TLS_MAX_EXTENSIONS; i++)
		ext_raw(&e, 0x1000 + i, "", 0);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_OK);
	CU_ASSERT_EQUAL(h.n_ext, PC_TLS_MAX_EXTENSIONS);
	ext_raw(&e, 0x2000, "", 0);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_TOO_MANY_EXTENSIONS);

	/* An extension whose length crosses the end of the block. */
	default_ext(&e);
	put16(&e, 23);
	put16(&e, 5);
	put8(&e, 0);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_TRUNCATED);
	/* Half an extension header. */
	default_ext(&e);
	put16(&e, 23);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_TRUNCATED);

	/* ALPN (RFC 7301 §3.1). */
	static const char *const seventeen[] = {
		"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q",
	};
	e.n = 0;
	ext_alpn(&e, seventeen, PC_TLS_MAX_ALPN);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_OK);
	CU_ASSERT_EQUAL(h.n_alpn, PC_TLS_MAX_ALPN);
	e.n = 0;
	ext_alpn(&e, seventeen, PC_TLS_MAX_ALPN + 1);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_TOO_MANY_ALPN);
	static const struct {
		const char *data;
		size_t len;
	} bad_alpn[] = {
		{ "", 0 },                       /* no list length */
		{ "\x00\x00", 2 },               /* empty list */
		{ "\x00\x01\x00", 3 },           /* empty protocol name */
		{ "\x00\x04\x02h2", 5 },         /* list length wrong */
		{ "\x00\x03\x03h2", 5 },         /* name runs past the list */
		{ "\x00\x04\x02h2\x00", 6 },     /* trailing empty name */
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(bad_alpn); i++) {
		e.n = 0;
		ext_raw(&e, PC_TLS_EXT_ALPN, bad_alpn[i].data, bad_alpn[i].len);
		n = build_ext(&e, st);
		EXPECT(st, n, PC_TLS_BAD_ALPN);
	}

	/* supported_versions (§4.2.1) and signature_algorithms (§4.2.3). */
	static const struct {
		unsigned type;
		const char *data;
		size_t len;
		enum pc_tls_reason want;
	} bad_lists[] = {
		{ 43, "", 0, PC_TLS_BAD_SUPPORTED_VERSIONS },
		{ 43, "\x00", 1, PC_TLS_BAD_SUPPORTED_VERSIONS },
		{ 43, "\x03\x03\x04\x03", 4, PC_TLS_BAD_SUPPORTED_VERSIONS },
		{ 43, "\x02\x03\x04\x03", 4, PC_TLS_BAD_SUPPORTED_VERSIONS },
		{ 43, "\x04\x03\x04", 3, PC_TLS_BAD_SUPPORTED_VERSIONS },
		{ 43, "\x02\x03\x04", 3, PC_TLS_OK },
		{ 13, "", 0, PC_TLS_BAD_SIGNATURE_ALGORITHMS },
		{ 13, "\x00\x00", 2, PC_TLS_BAD_SIGNATURE_ALGORITHMS },
		{ 13, "\x00\x03\x04\x03\x08", 5, PC_TLS_BAD_SIGNATURE_ALGORITHMS },
		{ 13, "\x00\x04\x04\x03", 4, PC_TLS_BAD_SIGNATURE_ALGORITHMS },
		{ 13, "\x00\x02\x04\x03\x08\x04", 6, PC_TLS_BAD_SIGNATURE_ALGORITHMS },
		{ 13, "\x00\x02\x04\x03", 4, PC_TLS_OK },
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(bad_lists); i++) {
		e.n = 0;
		ext_raw(&e, bad_lists[i].type, bad_lists[i].data, bad_lists[i].len);
		n = build_ext(&e, st);
		EXPECT(st, n, bad_lists[i].want);
	}
}

static void test_server_name(void)
{
	static struct buf e;
	size_t n;
	char ja4[PC_TLS_JA4_LEN + 1];

	e.n = 0;
	ext_sni(&e, "API.Example.COM");
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_OK);
	CU_ASSERT_STRING_EQUAL(h.sni, "api.example.com");
	CU_ASSERT_EQUAL(h.flags & PC_TLS_F_SNI_IP, 0);

	static const char *const good[] = {
		"a", "localhost", "xn--bcher-kva.example", "a-b.c-d.e", "0.example",
		"123", "a.b.c.d.e.f.g",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk.example", /* 63 */
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(good); i++) {
		e.n = 0;
		ext_sni(&e, good[i]);
		n = build_ext(&e, st);
		EXPECT(st, n, PC_TLS_OK);
		CU_ASSERT_STRING_EQUAL(h.sni, good[i]);
		CU_ASSERT_FALSE(h.flags & PC_TLS_F_SNI_IP);
	}
	static const char *const bad[] = {
		"example.com.", ".example.com", "a..b", "-a.example", "a-.example",
		"under_score.example", "sp ace.example", "a/b", "a:b.example", "::g",
		"[::1]", "\xc3\xa9.example", "a%2e.example",
		"abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijkl.example", /* 64 */
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		e.n = 0;
		ext_sni(&e, bad[i]);
		n = build_ext(&e, st);
		EXPECT(st, n, PC_TLS_BAD_SERVER_NAME);
	}
	/* Embedded and trailing NUL. */
	e.n = 0;
	ext_sni_bytes(&e, "example.com\0", 12);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_BAD_SERVER_NAME);
	e.n = 0;
	ext_sni_bytes(&e, "evil\0.example.com", 17);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_BAD_SERVER_NAME);
	/* Length: 255 passes, 256 does not, 0 does not. */
	static char name[300];

	for (int i = 0; i < 256; i++)
		name[i] = (i % 60 == 59) ? '.' : 'a';
	name[255] = '\0';
	e.n = 0;
	ext_sni(&e, name);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_OK);
	CU_ASSERT_EQUAL(h.sni_len, 255);
	name[255] = 'a';
	name[256] = '\0';
	e.n = 0;
	ext_sni(&e, name);
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_BAD_SERVER_NAME);
	e.n = 0;
	ext_sni(&e, "");
	n = build_ext(&e, st);
	EXPECT(st, n, PC_TLS_BAD_SERVER_NAME);

	/* The list: exactly one host_name entry, lengths consistent. */
	static const struct {
		const char *data;
		size_t len;
	} bad_lists[] = {
		{ "", 0 },
		{ "\x00\x00", 2 },
		{ "\x00\x04\x00\x00\x01", 5 },                         /* list length off */
		{ "\x00\x04\x01\x00\x01x", 6 },                        /* name_type 1 */
		{ "\x00\x04\x00\x00\x02x", 6 },                        /* name runs past */
		{ "\x00\x08\x00\x00\x01x\x00\x00\x01y", 10 },          /* two host_names */
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(bad_lists); i++) {
		e.n = 0;
		ext_raw(&e, PC_TLS_EXT_SERVER_NAME, bad_lists[i].data, bad_lists[i].len);
		n = build_ext(&e, st);
		EXPECT(st, n, PC_TLS_BAD_SERVER_NAME);
	}

	/* IP literals (RFC 6066 forbids them; clients send them anyway):
	 * accepted and flagged. JA4 keeps "d": the specification and both
	 * reference implementations decide on the extension's presence. */
	static const char *const ips[] = { "192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1", "2001:DB8::A" };

	for (size_t i = 0; i < PC_ARRAY_SIZE(ips); i++) {
		e.n = 0;
		ext_sni(&e, ips[i]);
		n = build_ext(&e, st);
		EXPECT(st, n, PC_TLS_OK);
		CU_ASSERT(h.flags & PC_TLS_F_SNI_IP);
		pc_tls_hello_ja4(&h, ja4);
		CU_ASSERT_EQUAL(ja4[3], 'd');
	}
	CU_ASSERT_STRING_EQUAL(h.sni, "2001:db8::a");
	/* No server_name: "i". */
	e.n = 0;
	ext_raw(&e, 23, "", 0);
	n = build_ext(&e, st);
	ja4_of(st, n, ja4);
	CU_ASSERT_EQUAL(ja4[3], 'i');
	CU_ASSERT_EQUAL(h.sni_len, 0);
	CU_ASSERT_STRING_EQUAL(h.sni, "");
	CU_ASSERT_FALSE(h.flags & (PC_TLS_F_SNI | PC_TLS_F_SNI_IP));
}

/* ---- JA4 rules --------------------------------------------------------- */

static void test_ja4_grease_ignored(void)
{
	static const uint16_t ciphers[] = { 0x1301, 0x1302, 0xc02f, 0x009c };
	static const uint16_t g_ciphers[] = { 0x3a3a, 0x1301, 0x1302, 0xc02f, 0x009c };
	static const uint16_t versions[] = { 0x0304, 0x0303 };
	static const uint16_t g_versions[] = { 0xdada, 0x0304, 0x0303 };
	static const uint16_t sigs[] = { 0x0804, 0x0403 };
	static const uint16_t g_sigs[] = { 0x0804, 0x6a6a, 0x0403 };
	static const char *const alpn[] = { "h2" };
	static struct buf e;
	char plain[PC_TLS_JA4_LEN + 1], greased[PC_TLS_JA4_LEN + 1];
	struct spec s = { .ciphers = ciphers, .n_ciphers = 4, .ext = &e };
	size_t n;

	e.n = 0;
	ext_sni(&e, "example.com");
	ext_alpn(&e, alpn, 1);
	ext_u16s(&e, PC_TLS_EXT_SUPPORTED_VERSIONS, versions, 2);
	ext_u16s(&e, PC_TLS_EXT_SIGNATURE_ALGORITHMS, sigs, 2);
	ext_raw(&e, 0x0017, "", 0);
	n = build(&s, st);
	ja4_of(st, n, plain);

	s.ciphers = g_ciphers;
	s.n_ciphers = 5;
	e.n = 0;
	ext_raw(&e, 0x2a2a, "", 0);
	ext_sni(&e, "example.com");
	ext_alpn(&e, alpn, 1);
	ext_u16s(&e, PC_TLS_EXT_SUPPORTED_VERSIONS, g_versions, 3);
	ext_u16s(&e, PC_TLS_EXT_SIGNATURE_ALGORITHMS, g_sigs, 3);
	ext_raw(&e, 0x0017, "", 0);
	ext_raw(&e, 0xbaba, "\x00", 1);
	n = build(&s, st);
	ja4_of(st, n, greased);

	CU_ASSERT_STRING_EQUAL(plain, greased);
	CU_ASSERT_NSTRING_EQUAL(plain, "t13d0405h2_", 11);
	CU_ASSERT_EQUAL(h.cipher_suites.n, 5);  /* raw lists keep GREASE */
	CU_ASSERT_EQUAL(h.n_ext, 7);
	CU_ASSERT_EQUAL(h.highest_version, PC_TLS_VERSION_1_3);
	CU_ASSERT_TRUE(pc_tls_is_grease(0x0a0a) && pc_tls_is_grease(0xfafa));
	CU_ASSERT_FALSE(pc_tls_is_grease(0x0a1a) || pc_tls_is_grease(0x0b0b) ||
			pc_tls_is_grease(0x1301));
}

static void test_ja4_spec_hashes(void)
{
	/* JA4.md, "Extension hash": these extensions with no signature
	 * algorithms hash to 6d807ffa2a79 ("the string ends without an
	 * underscore"). signature_algorithms (000d) is in the list, so the
	 * hello offers only a GREASE scheme, which JA4 drops. */
	static const uint16_t types[] = {
		0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
		0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015,
	};
	static const uint16_t grease_sig[] = { 0x0a0a };
	static const uint16_t v13[] = { 0x0304 };
	static const char *const alpn[] = { "h2" };
	/* JA4.md "Cipher hash" example: 15 suites hash to 8daaf6152771. */
	static const uint16_t ciphers[] = {
		0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9,
		0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035,
	};
	static struct buf e;
	struct spec s = { .ciphers = ciphers, .n_ciphers = 15, .ext = &e };
	char ja4[PC_TLS_JA4_LEN + 1];

	e.n = 0;
	for (size_t i = 0; i < PC_ARRAY_SIZE(types); i++) {
		switch (types[i]) {
		case 0x0000: ext_sni(&e, "example.com"); break;
		case 0x0010: ext_alpn(&e, alpn, 1); break;
		case 0x000d: ext_u16s(&e, 13, grease_sig, 1); break;
		case 0x002b: ext_u16s(&e, 43, v13, 1); break;
		default: ext_raw(&e, types[i], "", 0); break;
		}
	}
	size_t n = build(&s, st);

	ja4_of(st, n, ja4);
	CU_ASSERT_STRING_EQUAL(ja4, "t13d1516h2_8daaf6152771_6d807ffa2a79");
}

static void test_ja4_alpn_chars(void)
{
	/* JA4.md, "ALPN Extension Value", with its worked examples. */
	static const struct {
		const char *alpn;
		const char *want;
	} cases[] = {
		{ "h2", "h2" }, { "http/1.1", "h1" }, { "x", "xx" }, { "H3", "H3" },
		{ "\xab", "ab" }, { "\xab\xcd", "ad" }, { "0\xab", "3b" },
		{ "01\xab\xcd", "3d" }, { "0\xab\xcd" "1", "01" },
	};
	static struct buf e;
	char ja4[PC_TLS_JA4_LEN + 1];

	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		const char *names[] = { cases[i].alpn, "second" };

		e.n = 0;
		ext_alpn(&e, names, 2);
		size_t n = build_ext(&e, st);

		ja4_of(st, n, ja4);
		CU_ASSERT_NSTRING_EQUAL(ja4 + 8, cases[i].want, 2);
	}
	/* No ALPN: "00". */
	e.n = 0;
	ext_raw(&e, 23, "", 0);
	size_t n = build_ext(&e, st);

	ja4_of(st, n, ja4);
	CU_ASSERT_NSTRING_EQUAL(ja4 + 8, "00", 2);
}

static void test_ja4_versions_and_counts(void)
{
	static const uint16_t sv12[] = { 0x0303, 0x0302 };
	static const uint16_t sv13[] = { 0x0302, 0x0304, 0x0303 };
	static const uint16_t sv_grease[] = { 0x4a4a };
	static const struct {
		uint16_t legacy;
		const uint16_t *sv;
		size_t n_sv;
		const char *want;
	} cases[] = {
		{ 0x0303, NULL, 0, "12" },
		{ 0x0302, NULL, 0, "11" },
		{ 0x0301, NULL, 0, "10" },
		{ 0x0300, NULL, 0, "s3" },
		{ 0x0304, NULL, 0, "13" },  /* legacy_version 1.3: rare, but per the rule */
		{ 0x0303, sv12, 2, "12" },
		{ 0x0303, sv13, 3, "13" },
		{ 0x0303, sv_grease, 1, "00" }, /* only GREASE */
	};
	static struct buf e;
	char ja4[PC_TLS_JA4_LEN + 1];

	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		struct spec s = { .legacy_version = cases[i].legacy, .ext = &e };

		e.n = 0;
		ext_raw(&e, 23, "", 0);
		if (cases[i].sv)
			ext_u16s(&e, 43, cases[i].sv, cases[i].n_sv);
		size_t n = build(&s, st);

		ja4_of(st, n, ja4);
		CU_ASSERT_NSTRING_EQUAL(ja4 + 1, cases[i].want, 2);
	}
	/* Counts over 99 print "99". */
	static uint16_t many[120];

	for (size_t i = 0; i < PC_ARRAY_SIZE(many); i++)
		many[i] = (uint16_t)(0x0100 + i);
	e.n = 0;
	for (unsigned i = 0; i < 64; i++)
		ext_raw(&e, 0x1000 + i, "", 0);
	struct spec s = { .ciphers = many, .n_ciphers = 120, .ext = &e };
	size_t n = build(&s, st);

	ja4_of(st, n, ja4);
	CU_ASSERT_NSTRING_EQUAL(ja4, "t12i9964", 8);
	CU_ASSERT_EQUAL(strlen(ja4), PC_TLS_JA4_LEN);
	/* Only SNI and ALPN: an empty sorted list is "000000000000". */
	static const char *const alpn[] = { "h2" };

	e.n = 0;
	ext_sni(&e, "example.com");
	ext_alpn(&e, alpn, 1);
	n = build_ext(&e, st);
	ja4_of(st, n, ja4);
	CU_ASSERT_STRING_EQUAL(ja4 + 23, "_000000000000");
	CU_ASSERT_NSTRING_EQUAL(ja4, "t12d0402h2_", 11);
}

static void test_reason_names(void)
{
	CU_ASSERT_STRING_EQUAL(pc_tls_reason_name(PC_TLS_OK), "ok");
	CU_ASSERT_STRING_EQUAL(pc_tls_reason_name(PC_TLS_DUPLICATE_EXTENSION), "tls_duplicate_extension");
	CU_ASSERT_STRING_EQUAL(pc_tls_reason_name(PC_TLS_REASON_COUNT), "tls_unknown_reason");
	for (int r = 1; r < PC_TLS_REASON_COUNT; r++)
		CU_ASSERT_NSTRING_EQUAL(pc_tls_reason_name((enum pc_tls_reason)r), "tls_", 4);
}

/* Bytes flipped at random in a real hello: whatever comes back is a named
 * outcome, and nothing reads outside the buffer (ASan builds). */
static void test_mutations(void)
{
	size_t n = load_hex("chrome_ja4_spec.hex", fx, sizeof(fx));
	unsigned seed = 12345;
	int ok = 0, refused = 0;
	char ja4[PC_TLS_JA4_LEN + 1];

	for (int iter = 0; iter < 20000; iter++) {
		memcpy(st, fx, n);
		int flips = 1 + iter % 4;

		for (int k = 0; k < flips; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;

			seed = seed * 1103515245u + 12345u;
			st[at] = (uint8_t)(seed >> 16);
		}
		seed = seed * 1103515245u + 12345u;
		size_t len = iter % 3 ? n : (seed >> 8) % (n + 1);
		enum pc_tls_reason r = parse_exact(st, len, &h);

		CU_ASSERT((unsigned)r < PC_TLS_REASON_COUNT);
		if (r == PC_TLS_OK) {
			ok++;
			CU_ASSERT(h.n_ext <= PC_TLS_MAX_EXTENSIONS && h.n_alpn <= PC_TLS_MAX_ALPN);
			CU_ASSERT(h.sni_len <= PC_TLS_SNI_MAX && strlen(h.sni) == h.sni_len);
			pc_tls_hello_ja4(&h, ja4);
			CU_ASSERT_EQUAL(strlen(ja4), PC_TLS_JA4_LEN);
		} else if (r != PC_TLS_INCOMPLETE) {
			refused++;
		} else {
			CU_ASSERT(h.need > len);
		}
	}
	CU_ASSERT(ok > 0 && refused > 0);
}

static void test_all_reasons_covered(void)
{
	for (int r = 0; r < PC_TLS_REASON_COUNT; r++) {
		if (!covered[r])
			fprintf(stderr, "\n  never triggered: %s\n",
				pc_tls_reason_name((enum pc_tls_reason)r));
		CU_ASSERT(covered[r]);
	}
}

static CU_TestInfo tests[] = {
	PC_TEST(test_published_chrome),
	PC_TEST(test_published_firefox),
	PC_TEST(test_captured),
	PC_TEST(test_every_truncation),
	PC_TEST(test_need_values),
	PC_TEST(test_split_two_records),
	PC_TEST(test_zero_copy),
	PC_TEST(test_bytes_after_hello_records),
	PC_TEST(test_size_limits),
	PC_TEST(test_record_reasons),
	PC_TEST(test_handshake_reasons),
	PC_TEST(test_body_reasons),
	PC_TEST(test_no_extensions),
	PC_TEST(test_extension_reasons),
	PC_TEST(test_server_name),
	PC_TEST(test_ja4_grease_ignored),
	PC_TEST(test_ja4_spec_hashes),
	PC_TEST(test_ja4_alpn_chars),
	PC_TEST(test_ja4_versions_and_counts),
	PC_TEST(test_reason_names),
	PC_TEST(test_mutations),
	PC_TEST(test_all_reasons_covered),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("tls_hello", tests)
