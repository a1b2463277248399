/* SPDX-License-Identifier: BSD-3-Clause
 *
 * tls_hello_dump FILE [--selfcheck]: parse the client-to-server stream
 * captured in FILE with pc_tls_hello_parse() and print what it found as
 * key=value lines, which tls_capture.py compares with its own reading of the
 * same bytes. With --selfcheck it also replays the capture the ways the
 * dataplane will see it: every prefix (each must ask for more, with a "need"
 * beyond the prefix and within the real length) and the same hello re-cut
 * into records of several sizes (each must parse to the same fields and
 * JA4). Exit 0 when everything held, 1 otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tls/tls_hello.h"

static struct pc_tls_hello hello, other;

static void print_u16v(const char *key, struct pc_tls_u16v v)
{
	printf("%s=", key);
	for (uint32_t i = 0; i < v.n; i++)
		printf("%s%04x", i ? "," : "", pc_tls_u16v_at(v, i));
	printf("\n");
}

static void print_hello(const struct pc_tls_hello *h)
{
	char ja4[PC_TLS_JA4_LEN + 1];

	pc_tls_hello_ja4(h, ja4);
	printf("ja4=%s\n", ja4);
	printf("sni=%s\n", h->sni);
	printf("sni_ext=%d\n", !!(h->flags & PC_TLS_F_SNI));
	printf("sni_ip=%d\n", !!(h->flags & PC_TLS_F_SNI_IP));
	printf("alpn=");
	for (uint32_t i = 0; i < h->n_alpn; i++)
		printf("%s%.*s", i ? "," : "", (int)h->alpn[i].len, h->alpn[i].p);
	printf("\n");
	printf("legacy_version=%04x\n", h->legacy_version);
	printf("highest_version=%04x\n", h->highest_version);
	print_u16v("versions", h->versions);
	print_u16v("ciphers", h->cipher_suites);
	print_u16v("sig_algs", h->sig_algs);
	printf("extensions=");
	for (uint32_t i = 0; i < h->n_ext; i++)
		printf("%s%04x", i ? "," : "", h->ext_types[i]);
	printf("\n");
	printf("hello_len=%u\n", h->hello_len);
	printf("stream_len=%u\n", h->stream_len);
	printf("records=%u\n", h->n_records);
}

static int same(const struct pc_tls_hello *a, const struct pc_tls_hello *b)
{
	char ja[PC_TLS_JA4_LEN + 1], jb[PC_TLS_JA4_LEN + 1];

	pc_tls_hello_ja4(a, ja);
	pc_tls_hello_ja4(b, jb);
	if (strcmp(ja, jb) || strcmp(a->sni, b->sni) || a->n_alpn != b->n_alpn ||
	    a->n_ext != b->n_ext || a->highest_version != b->highest_version ||
	    a->hello_len != b->hello_len || a->cipher_suites.n != b->cipher_suites.n ||
	    memcmp(a->ext_types, b->ext_types, a->n_ext * sizeof(a->ext_types[0])) ||
	    memcmp(a->cipher_suites.p, b->cipher_suites.p, 2u * a->cipher_suites.n))
		return 0;
	for (uint32_t i = 0; i < a->n_alpn; i++)
		if (a->alpn[i].len != b->alpn[i].len ||
		    memcmp(a->alpn[i].p, b->alpn[i].p, a->alpn[i].len))
			return 0;
	return 1;
}

/* The hello message of a one-record capture, re-cut into records of frag
 * bytes; returns the stream length. */
static size_t refragment(const uint8_t *msg, size_t msg_len, size_t frag, uint8_t *out)
{
	size_t o = 0;

	for (size_t i = 0; i < msg_len; i += frag) {
		size_t n = msg_len - i < frag ? msg_len - i : frag;

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

static int selfcheck(const uint8_t *buf)
{
	static uint8_t cut[2 * PC_TLS_HELLO_MAX];
	static const size_t frags[] = { 300, 100, 37, 5 };
	size_t full = hello.stream_len;
	int bad = 0;

	for (size_t n = 0; n < full; n++) {
		enum pc_tls_reason r = pc_tls_hello_parse(buf, n, &other);

		if (r != PC_TLS_INCOMPLETE || other.need <= n || other.need > full) {
			fprintf(stderr, "prefix %zu: %s need=%u (full %zu)\n", n,
				pc_tls_reason_name(r), other.need, full);
			bad = 1;
		}
	}
	if (hello.n_records != 1) {
		printf("selfcheck_prefixes=%s\n", bad ? "fail" : "ok");
		return bad;
	}
	for (size_t f = 0; f < PC_ARRAY_SIZE(frags); f++) {
		const uint8_t *msg = buf + PC_TLS_RECORD_HDR;
		size_t n = refragment(msg, hello.hello_len, frags[f], cut);
		size_t records = (hello.hello_len + frags[f] - 1) / frags[f];
		enum pc_tls_reason r = pc_tls_hello_parse(cut, n, &other);
		enum pc_tls_reason want = records > PC_TLS_MAX_RECORDS ?
			PC_TLS_TOO_MANY_RECORDS : PC_TLS_OK;

		if (r != want || (r == PC_TLS_OK && (!same(&hello, &other) ||
						     other.n_records != records ||
						     other.stream_len != n))) {
			fprintf(stderr, "records of %zu bytes: %s\n", frags[f], pc_tls_reason_name(r));
			bad = 1;
		}
		/* Every prefix of the fragmented stream asks for more too. */
		for (size_t p = 0; r == PC_TLS_OK && p < n; p++) {
			enum pc_tls_reason rp = pc_tls_hello_parse(cut, p, &other);

			if (rp != PC_TLS_INCOMPLETE || other.need <= p || other.need > n) {
				fprintf(stderr, "records of %zu, prefix %zu: %s need=%u\n",
					frags[f], p, pc_tls_reason_name(rp), other.need);
				bad = 1;
				break;
			}
		}
	}
	printf("selfcheck=%s\n", bad ? "fail" : "ok");
	return bad;
}

int main(int argc, char **argv)
{
	static uint8_t buf[1 << 17];

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [--selfcheck]\n", argv[0]);
		return 2;
	}
	FILE *f = fopen(argv[1], "rb");

	if (f == NULL) {
		perror(argv[1]);
		return 2;
	}
	size_t len = fread(buf, 1, sizeof(buf), f);

	fclose(f);
	enum pc_tls_reason r = pc_tls_hello_parse(buf, len, &hello);

	printf("result=%s\n", pc_tls_reason_name(r));
	if (r == PC_TLS_INCOMPLETE)
		printf("need=%u\n", hello.need);
	if (r != PC_TLS_OK)
		return 1;
	print_hello(&hello);
	if (argc > 2 && strcmp(argv[2], "--selfcheck") == 0)
		return selfcheck(buf);
	return 0;
}
