/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Frame decoder: good frames of every shape the gateway sees, one crafted
 * frame (at least) per failure reason, every truncation of good frames, a
 * mutation sweep that checks the decoder's output invariants, and checksums
 * against values worked out by hand.
 *
 * Every frame is parsed from a heap copy of exactly its length, so under
 * AddressSanitizer (meson -Ddeveloper_mode=true) a read one byte past the
 * end fails the run. The suite records which reasons it produced and its
 * last test fails if any reason was never triggered.
 */
#include <stdlib.h>

#include "pc_test.h"
#include "pkt/pkt_parse.h"
#include "pkt_build.h"

#define BUF_CAP 4096

static bool seen[PC_PKT_REASON_COUNT];

/* Parse a heap copy of f[0..n): nothing after it is readable. */
static enum pc_pkt_reason parse_n(const uint8_t *f, uint32_t n, bool verify,
				  struct pc_pkt_meta *m)
{
	uint8_t *copy = malloc(n ? n : 1);
	enum pc_pkt_reason r;

	CU_ASSERT_FATAL(copy != NULL);
	memcpy(copy, f, n);
	r = pc_pkt_parse(copy, n, verify, m);
	free(copy);
	CU_ASSERT_FATAL((unsigned)r < PC_PKT_REASON_COUNT);
	seen[r] = true;
	return r;
}

static enum pc_pkt_reason parse(const uint8_t *f, uint32_t n, struct pc_pkt_meta *m)
{
	return parse_n(f, n, true, m);
}

static uint32_t build(const struct pc_pkt_spec *s, uint8_t *buf)
{
	uint32_t n = pc_pkt_build(s, buf, BUF_CAP);

	CU_ASSERT_FATAL(n != 0);
	return n;
}

#define A4_CLIENT 0xc612010au /* 198.18.1.10 */
#define A4_SERVER 0xc6120002u /* 198.18.0.2 */

static const uint8_t a6_client[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x0a };
static const uint8_t a6_server[16] = { 0x20, 0x01, 0x0d, 0xb8, [7] = 1, [15] = 0x02 };

static const char http_get[] = "GET /v1/models HTTP/1.1\r\nHost: api.example\r\n\r\n";

/* MSS 1460, SACK permitted, timestamps, NOP, window scale 7: a Linux SYN. */
static const uint8_t syn_opts[20] = {
	2, 4, 0x05, 0xb4,
	4, 2,
	8, 10, 0, 0, 0, 1, 0, 0, 0, 0,
	1,
	3, 3, 7,
};
/* NOP NOP timestamps, NOP NOP SACK with one block: a data segment after loss. */
static const uint8_t sack_opts[24] = {
	1, 1, 8, 10, 0, 0, 0, 2, 0, 0, 0, 1,
	1, 1, 5, 10, 0, 0, 0x10, 0, 0, 0, 0x20, 0,
};

static struct pc_pkt_spec spec_tcp4(void)
{
	struct pc_pkt_spec s = {
		.dst_mac = { 0x02, 0, 0, 0, 0, 0x02 },
		.src_mac = { 0x02, 0, 0, 0, 0, 0x01 },
		.l3 = 4,
		.src = { .family = 4, .v4 = A4_CLIENT },
		.dst = { .family = 4, .v4 = A4_SERVER },
		.ttl = 61,
		.ip_frag = 0x4000, /* DF */
		.l4_proto = PC_PROTO_TCP,
		.sport = 40000,
		.dport = 80,
		.tcp_flags = PC_TCP_ACK | PC_TCP_PSH,
		.seq = 0x01020304,
		.ack = 0xa0b0c0d0,
		.window = 502,
		.payload = http_get,
		.payload_len = sizeof(http_get) - 1,
	};
	return s;
}

static struct pc_pkt_spec spec_tcp6(void)
{
	struct pc_pkt_spec s = spec_tcp4();

	s.l3 = 6;
	s.src.family = 6;
	memcpy(s.src.v6, a6_client, 16);
	s.dst.family = 6;
	memcpy(s.dst.v6, a6_server, 16);
	return s;
}

static void check_tcp_fields(const struct pc_pkt_meta *m, const struct pc_pkt_spec *s,
			     uint32_t frame_len)
{
	CU_ASSERT_EQUAL(m->l4_proto, PC_PROTO_TCP);
	CU_ASSERT_EQUAL(m->sport, s->sport);
	CU_ASSERT_EQUAL(m->dport, s->dport);
	CU_ASSERT_EQUAL(m->tcp_seq, s->seq);
	CU_ASSERT_EQUAL(m->tcp_ack, s->ack);
	CU_ASSERT_EQUAL(m->tcp_flags, s->tcp_flags);
	CU_ASSERT_EQUAL(m->tcp_window, s->window);
	CU_ASSERT_EQUAL(m->tcp_hdr_len, 20 + ((s->tcp_opts_len + 3) & ~3));
	CU_ASSERT_EQUAL(m->payload_off, m->l4_off + m->tcp_hdr_len);
	CU_ASSERT_EQUAL(m->payload_len, s->payload_len);
	CU_ASSERT(m->payload_off + m->payload_len <= frame_len);
}

/* ---- good frames ---- */

static void test_tcp4_untagged(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	s.tcp_opts = sack_opts;
	s.tcp_opts_len = sizeof(sack_opts);
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.ethertype, 0x0800);
	CU_ASSERT_EQUAL(m.vlan_count, 0);
	CU_ASSERT_EQUAL(m.l3, PC_L3_IPV4);
	CU_ASSERT_EQUAL(m.l3_off, 14);
	CU_ASSERT_EQUAL(m.l3_len, n - 14);
	CU_ASSERT_EQUAL(m.l4_off, 34);
	CU_ASSERT_EQUAL(m.ttl, 61);
	CU_ASSERT_EQUAL(m.src.family, 4);
	CU_ASSERT_EQUAL(m.src.v4, A4_CLIENT);
	CU_ASSERT_EQUAL(m.dst.family, 4);
	CU_ASSERT_EQUAL(m.dst.v4, A4_SERVER);
	check_tcp_fields(&m, &s, n);
	CU_ASSERT_EQUAL(m.tcp_hdr_len, 44);
	CU_ASSERT_EQUAL(m.payload_off + m.payload_len, n);
	CU_ASSERT_EQUAL(memcmp(f + m.payload_off, http_get, m.payload_len), 0);
	CU_ASSERT_EQUAL(m.icmp_type, 0);

	/* A Linux SYN with MSS, SACK permitted, timestamps, window scale. */
	s = spec_tcp4();
	s.tcp_flags = PC_TCP_SYN;
	s.ack = 0;
	s.payload_len = 0;
	s.tcp_opts = syn_opts;
	s.tcp_opts_len = sizeof(syn_opts);
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	check_tcp_fields(&m, &s, n);
	CU_ASSERT_EQUAL(m.tcp_hdr_len, 40);
	CU_ASSERT_EQUAL(m.payload_len, 0);
	CU_ASSERT_EQUAL(m.payload_off, n);
}

static void test_vlan_8021q(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	s.vlan_count = 1;
	s.vlan_tci[0] = 0x2064; /* PCP 1, VID 100 */
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.vlan_count, 1);
	CU_ASSERT_EQUAL(m.vlan_tci[0], 0x2064);
	CU_ASSERT_EQUAL(m.ethertype, 0x0800);
	CU_ASSERT_EQUAL(m.l3_off, 18);
	CU_ASSERT_EQUAL(m.l4_off, 38);
	check_tcp_fields(&m, &s, n);
}

static void test_vlan_qinq(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp6();
	s.vlan_count = 2;
	s.vlan_tpid[0] = 0x88a8;
	s.vlan_tci[0] = 0x0c8; /* S-VID 200 */
	s.vlan_tpid[1] = 0x8100;
	s.vlan_tci[1] = 0xe00a; /* PCP 7, C-VID 10 */
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.vlan_count, 2);
	CU_ASSERT_EQUAL(m.vlan_tci[0], 0x0c8);
	CU_ASSERT_EQUAL(m.vlan_tci[1], 0xe00a);
	CU_ASSERT_EQUAL(m.ethertype, 0x86dd);
	CU_ASSERT_EQUAL(m.l3, PC_L3_IPV6);
	CU_ASSERT_EQUAL(m.l3_off, 22);
	CU_ASSERT_EQUAL(m.l4_off, 62);
	check_tcp_fields(&m, &s, n);

	/* Two stacked C-tags (0x8100 twice) are common too. */
	s.vlan_tpid[0] = 0;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.vlan_count, 2);
	CU_ASSERT_EQUAL(m.l3_off, 22);
}

static void test_ipv4_options(void)
{
	/* Router Alert (RFC 2113), NOP, Record Route with one slot (RFC 791
	 * 3.1, length 7), then EOL padding to 16 bytes. */
	static const uint8_t opts[] = { 0x94, 4, 0, 0, 1, 7, 7, 4, 0, 0, 0, 0 };
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	s.ip_opts = opts;
	s.ip_opts_len = sizeof(opts);
	s.tcp_opts = syn_opts;
	s.tcp_opts_len = sizeof(syn_opts);
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_off, 14 + 32);
	CU_ASSERT_EQUAL(m.l3_len, n - 14);
	check_tcp_fields(&m, &s, n);

	/* A full 40-byte option area of NOPs ending in EOL. */
	uint8_t nops[40];
	memset(nops, 1, sizeof(nops));
	nops[39] = 0;
	s.ip_opts = nops;
	s.ip_opts_len = sizeof(nops);
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_off, 14 + 60);
	check_tcp_fields(&m, &s, n);
}

static void test_ipv6_ext_headers(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp6();
	/* Hop-by-Hop (PadN), Destination Options of 16 bytes, atomic Fragment. */
	s.ext_count = 3;
	s.ext[0] = (struct pc_pkt_ext){ .type = 0, .len = 8 };
	s.ext[1] = (struct pc_pkt_ext){ .type = 60, .len = 16 };
	s.ext[2] = (struct pc_pkt_ext){ .type = 44, .len = 8 };
	s.ttl = 255;
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l3, PC_L3_IPV6);
	CU_ASSERT_EQUAL(m.ethertype, 0x86dd);
	CU_ASSERT_EQUAL(m.l3_off, 14);
	CU_ASSERT_EQUAL(m.l3_len, n - 14);
	CU_ASSERT_EQUAL(m.l4_off, 14 + 40 + 32);
	CU_ASSERT_EQUAL(m.ttl, 255);
	CU_ASSERT_EQUAL(m.src.family, 6);
	CU_ASSERT_EQUAL(memcmp(m.src.v6, a6_client, 16), 0);
	CU_ASSERT_EQUAL(m.dst.family, 6);
	CU_ASSERT_EQUAL(memcmp(m.dst.v6, a6_server, 16), 0);
	check_tcp_fields(&m, &s, n);

	/* Routing (type 0, segments left 0) and AH (12 bytes of ICV) before
	 * UDP. AH is sized in 4-octet units, the others in 8. */
	struct pc_pkt_spec u = spec_tcp6();
	u.l4_proto = PC_PROTO_UDP;
	u.sport = 5353;
	u.dport = 53;
	u.ext_count = 2;
	u.ext[0] = (struct pc_pkt_ext){ .type = 43, .len = 8 };
	u.ext[1] = (struct pc_pkt_ext){ .type = 51, .len = 24 };
	n = build(&u, f);
	CU_ASSERT_EQUAL(f[14 + 40 + 8 + 1], 4); /* (24 / 4) - 2 */
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, PC_PROTO_UDP);
	CU_ASSERT_EQUAL(m.l4_off, 14 + 40 + 32);
	CU_ASSERT_EQUAL(m.sport, 5353);
	CU_ASSERT_EQUAL(m.dport, 53);
	CU_ASSERT_EQUAL(m.payload_len, u.payload_len);

	/* Exactly PC_PKT_MAX_IPV6_EXT headers is still fine. */
	s = spec_tcp6();
	s.ext_count = PC_PKT_MAX_IPV6_EXT;
	for (unsigned i = 0; i < s.ext_count; i++)
		s.ext[i] = (struct pc_pkt_ext){ .type = 60, .len = 8 };
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_off, 14 + 40 + 8 * PC_PKT_MAX_IPV6_EXT);
	check_tcp_fields(&m, &s, n);
}

static void test_ipv6_no_next_header(void)
{
	static const uint8_t junk[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp6();
	s.l4_proto = 59;
	s.payload = junk;
	s.payload_len = sizeof(junk);
	uint32_t n = build(&s, f);

	/* RFC 8200 4.7: bytes after No Next Header are ignored. */
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, 59);
	CU_ASSERT_EQUAL(m.l4_off, 54);
	CU_ASSERT_EQUAL(m.sport, 0);
	CU_ASSERT_EQUAL(m.dport, 0);
	CU_ASSERT_EQUAL(m.payload_len, 0);

	/* And with nothing at all after the header (Payload Length 0). */
	s.payload_len = 0;
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l3_len, 40);
	CU_ASSERT_EQUAL(m.l4_proto, 59);
}

static void test_udp(void)
{
	static const uint8_t dns[12] = { 0x12, 0x34, 1, 0, 0, 1 };
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	s.l4_proto = PC_PROTO_UDP;
	s.sport = 33333;
	s.dport = 53;
	s.payload = dns;
	s.payload_len = sizeof(dns);
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, PC_PROTO_UDP);
	CU_ASSERT_EQUAL(m.l4_off, 34);
	CU_ASSERT_EQUAL(m.sport, 33333);
	CU_ASSERT_EQUAL(m.dport, 53);
	CU_ASSERT_EQUAL(m.payload_off, 42);
	CU_ASSERT_EQUAL(m.payload_len, sizeof(dns));
	CU_ASSERT_EQUAL(m.tcp_flags, 0);

	s = spec_tcp6();
	s.l4_proto = PC_PROTO_UDP;
	s.sport = 546;
	s.dport = 547;
	s.payload = dns;
	s.payload_len = 0; /* an empty datagram: UDP length 8 */
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.sport, 546);
	CU_ASSERT_EQUAL(m.dport, 547);
	CU_ASSERT_EQUAL(m.payload_off, 62);
	CU_ASSERT_EQUAL(m.payload_len, 0);
}

static void test_icmp(void)
{
	static const uint8_t echo_data[8] = "pingpng";
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	s.l4_proto = PC_PROTO_ICMP;
	s.icmp_type = 3; /* destination unreachable */
	s.icmp_code = 4; /* fragmentation needed */
	s.payload = echo_data;
	s.payload_len = sizeof(echo_data);
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, PC_PROTO_ICMP);
	CU_ASSERT_EQUAL(m.icmp_type, 3);
	CU_ASSERT_EQUAL(m.icmp_code, 4);
	CU_ASSERT_EQUAL(m.sport, 0);
	CU_ASSERT_EQUAL(m.dport, 0);
	CU_ASSERT_EQUAL(m.payload_off, m.l4_off + 4);
	CU_ASSERT_EQUAL(m.payload_off + m.payload_len, n);

	/* ICMPv6 neighbour solicitation (type 135). */
	s = spec_tcp6();
	s.l4_proto = PC_PROTO_ICMPV6;
	s.icmp_type = 135;
	s.ttl = 255;
	s.payload_len = 0;
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, PC_PROTO_ICMPV6);
	CU_ASSERT_EQUAL(m.icmp_type, 135);
	CU_ASSERT_EQUAL(m.icmp_code, 0);
	/* The builder's ICMPv6 checksum covers the pseudo header. */
	CU_ASSERT_EQUAL(pc_l4_csum(&m.src, &m.dst, PC_PROTO_ICMPV6, f + m.l4_off,
				   (uint16_t)(m.l3_len - 40)), 0);

	/* Protocol 58 inside IPv4 is not ICMPv6: no type is reported. */
	s = spec_tcp4();
	s.l4_proto = PC_PROTO_ICMPV6;
	s.icmp_type = 135;
	s.payload_len = 0;
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, PC_PROTO_ICMPV6);
	CU_ASSERT_EQUAL(m.icmp_type, 0);
}

static void test_non_ip(void)
{
	/* ARP request, RFC 826: Ethernet, IPv4, who has 198.18.0.2. */
	static const uint8_t arp[28] = {
		0, 1, 0x08, 0, 6, 4, 0, 1,
		2, 0, 0, 0, 0, 1, 198, 18, 1, 10,
		0, 0, 0, 0, 0, 0, 198, 18, 0, 2,
	};
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = { .l3 = 0, .ethertype = 0x0806, .payload = arp,
				 .payload_len = sizeof(arp), .min_len = 60 };
	memset(s.dst_mac, 0xff, 6);
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL(n, 60);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l3, PC_L3_NONE);
	CU_ASSERT_EQUAL(m.ethertype, 0x0806);
	CU_ASSERT_EQUAL(m.l3_off, 14);
	CU_ASSERT_EQUAL(m.l4_proto, 0);
	CU_ASSERT_EQUAL(m.src.family, 0);

	/* LLDP inside a VLAN keeps its tag and ethertype. */
	s.ethertype = 0x88cc;
	s.vlan_count = 1;
	s.vlan_tci[0] = 7;
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l3, PC_L3_NONE);
	CU_ASSERT_EQUAL(m.ethertype, 0x88cc);
	CU_ASSERT_EQUAL(m.vlan_count, 1);
	CU_ASSERT_EQUAL(m.vlan_tci[0], 7);
	CU_ASSERT_EQUAL(m.l3_off, 18);

	/* A bare Ethernet header with nothing after it. */
	s.vlan_count = 0;
	s.ethertype = 0x0806;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, 14, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.ethertype, 0x0806);
	CU_ASSERT_EQUAL(m.l3, PC_L3_NONE);
}

static void test_other_protocols(void)
{
	static const uint8_t gre[8] = { 0, 0, 0x08, 0x00 };
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	s.l4_proto = 47; /* GRE */
	s.payload = gre;
	s.payload_len = sizeof(gre);
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, 47);
	CU_ASSERT_EQUAL(m.sport, 0);
	CU_ASSERT_EQUAL(m.dport, 0);
	CU_ASSERT_EQUAL(m.payload_off, m.l4_off);
	CU_ASSERT_EQUAL(m.payload_len, sizeof(gre));

	s = spec_tcp6();
	s.l4_proto = 50; /* ESP: opaque, not walked as an extension header */
	s.payload = gre;
	s.payload_len = sizeof(gre);
	s.ext_count = 1;
	s.ext[0] = (struct pc_pkt_ext){ .type = 60, .len = 8 };
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l4_proto, 50);
	CU_ASSERT_EQUAL(m.l4_off, 14 + 48);
	CU_ASSERT_EQUAL(m.payload_len, sizeof(gre));
}

/* Link-layer padding after the IP datagram is ignored, whatever it holds. */
static void test_ethernet_padding(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	s.tcp_flags = PC_TCP_ACK;
	s.payload_len = 0;
	s.min_len = 60;
	uint32_t n = build(&s, f);

	CU_ASSERT_EQUAL(n, 60); /* 54 bytes of headers, 6 of padding */
	memset(f + 54, 0xa5, 6);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.l3_len, 40);
	CU_ASSERT_EQUAL(m.payload_off, 54);
	CU_ASSERT_EQUAL(m.payload_len, 0);
	/* Any cut inside the padding still parses. */
	for (uint32_t k = 54; k < n; k++)
		CU_ASSERT_EQUAL(parse(f, k, &m), PC_PKT_OK);

	/* UDP with 2 bytes of data: UDP length 10, padded frame of 60. */
	static const uint8_t two[2] = { 'h', 'i' };
	s = spec_tcp4();
	s.l4_proto = PC_PROTO_UDP;
	s.payload = two;
	s.payload_len = 2;
	s.min_len = 60;
	n = build(&s, f);
	CU_ASSERT_EQUAL(n, 60);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.payload_len, 2);

	/* IPv6 too: padding never becomes TCP payload. */
	s = spec_tcp6();
	s.payload_len = 1;
	s.min_len = 200;
	n = build(&s, f);
	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.payload_len, 1);
	CU_ASSERT_EQUAL(m.l3_len, 40 + 20 + 1);
}

static void test_tcp_flags(void)
{
	static const struct {
		uint8_t flags;
		enum pc_pkt_reason want;
	} cases[] = {
		{ PC_TCP_SYN, PC_PKT_OK },
		{ PC_TCP_SYN | PC_TCP_ACK, PC_PKT_OK },
		{ PC_TCP_SYN | PC_TCP_ACK | 0xc0, PC_PKT_OK }, /* ECN setup */
		{ PC_TCP_ACK, PC_PKT_OK },
		{ PC_TCP_RST, PC_PKT_OK },
		{ PC_TCP_RST | PC_TCP_ACK, PC_PKT_OK },
		{ PC_TCP_FIN | PC_TCP_ACK, PC_PKT_OK },
		{ PC_TCP_FIN | PC_TCP_PSH | PC_TCP_URG, PC_PKT_OK }, /* Xmas: odd but not refused here */
		{ 0, PC_PKT_TCP_BAD_FLAGS },
		{ 0xc0, PC_PKT_TCP_BAD_FLAGS }, /* only CWR/ECE: no control bit */
		{ PC_TCP_SYN | PC_TCP_FIN, PC_PKT_TCP_BAD_FLAGS },
		{ PC_TCP_SYN | PC_TCP_FIN | PC_TCP_ACK, PC_PKT_TCP_BAD_FLAGS },
		{ PC_TCP_SYN | PC_TCP_RST, PC_PKT_TCP_BAD_FLAGS },
		{ PC_TCP_SYN | PC_TCP_RST | PC_TCP_ACK, PC_PKT_TCP_BAD_FLAGS },
		{ 0x3f, PC_PKT_TCP_BAD_FLAGS },
	};
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;

	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		struct pc_pkt_spec s = i % 2 ? spec_tcp4() : spec_tcp6();
		s.tcp_flags = cases[i].flags;
		uint32_t n = build(&s, f);
		CU_ASSERT_EQUAL(parse(f, n, &m), cases[i].want);
		/* Even a refused segment reports its ports for the drop log. */
		CU_ASSERT_EQUAL(m.sport, 40000);
		CU_ASSERT_EQUAL(m.tcp_flags, cases[i].flags);
	}
}

/* ---- one crafted frame per failure ---- */

static void test_eth_vlan_errors(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	uint32_t n = build(&s, f);

	for (uint32_t k = 0; k < 14; k++)
		CU_ASSERT_EQUAL(parse(f, k, &m), PC_PKT_ETH_TRUNCATED);

	s.vlan_count = 2;
	s.vlan_tpid[0] = 0x88a8;
	n = build(&s, f);
	for (uint32_t k = 14; k < 22; k++)
		CU_ASSERT_EQUAL(parse(f, k, &m), PC_PKT_VLAN_TRUNCATED);
	CU_ASSERT_EQUAL(parse(f, 22, &m), PC_PKT_IPV4_TRUNCATED);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);

	s.vlan_count = 3;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_VLAN_TOO_MANY_TAGS);
	s.vlan_count = 4;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_VLAN_TOO_MANY_TAGS);
}

static void test_ipv4_header_errors(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();
	uint32_t n = build(&s, f);
	uint8_t *ip = f + 14;
	uint8_t good[BUF_CAP];
	memcpy(good, f, n);

	CU_ASSERT_EQUAL(parse(f, 14 + 19, &m), PC_PKT_IPV4_TRUNCATED);

	ip[0] = 0x65; /* version 6 in an IPv4 ethertype */
	pc_pkt_build_ipv4_csum(ip);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_VERSION);
	CU_ASSERT_EQUAL(m.l3, PC_L3_NONE);

	memcpy(f, good, n);
	ip[0] = 0x44; /* IHL 4: 16 bytes, shorter than the fixed header */
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_IHL);
	ip[0] = 0x40;
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_IHL);

	/* Total Length smaller than the header. */
	memcpy(f, good, n);
	pc_pkt_build_put16(ip + 2, 19);
	pc_pkt_build_ipv4_csum(ip);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_TOTAL_LENGTH);
	pc_pkt_build_put16(ip + 2, 0);
	pc_pkt_build_ipv4_csum(ip);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_TOTAL_LENGTH);

	/* Total Length larger than the frame holds. */
	memcpy(f, good, n);
	pc_pkt_build_put16(ip + 2, (uint16_t)(n - 14 + 1));
	pc_pkt_build_ipv4_csum(ip);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_TRUNCATED);
	pc_pkt_build_put16(ip + 2, 0xffff);
	pc_pkt_build_ipv4_csum(ip);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_TRUNCATED);

	/* IHL beyond Total Length (15 words, 60 bytes, in a 40-byte datagram). */
	memcpy(f, good, n);
	ip[0] = 0x4f;
	pc_pkt_build_put16(ip + 2, 40);
	CU_ASSERT_EQUAL(parse_n(f, n, false, &m), PC_PKT_IPV4_BAD_TOTAL_LENGTH);

	/* Header checksum: one bit off, and an all-zero field. */
	memcpy(f, good, n);
	ip[11] ^= 0x01;
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_CHECKSUM);
	/* A NIC that already checked it lets the decoder skip the sum. */
	CU_ASSERT_EQUAL(parse_n(f, n, false, &m), PC_PKT_OK);
	memcpy(f, good, n);
	ip[8]--; /* TTL decremented without a checksum update */
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_CHECKSUM);
	memcpy(f, good, n);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);
}

static void test_ipv4_option_errors(void)
{
	static const struct {
		uint8_t opts[8];
		uint8_t len;
	} bad[] = {
		{ { 7, 1, 0, 0 }, 4 },             /* length 1 */
		{ { 7, 0, 0, 0 }, 4 },             /* length 0 */
		{ { 0x94, 8, 0, 0 }, 4 },          /* past the header end */
		{ { 1, 1, 1, 0x94 }, 4 },          /* kind in the last byte, no length */
		{ { 1, 0x44, 5, 0, 0, 0, 7, 0 }, 8 }, /* a 5-byte option, then length 0 */
	};
	static const uint8_t ok_eol[4] = { 0, 0xff, 0xff, 0xff }; /* after EOL is padding */
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;

	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		struct pc_pkt_spec s = spec_tcp4();
		s.ip_opts = bad[i].opts;
		s.ip_opts_len = bad[i].len;
		uint32_t n = build(&s, f);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV4_BAD_OPTIONS);
	}
	struct pc_pkt_spec s = spec_tcp4();
	s.ip_opts = ok_eol;
	s.ip_opts_len = sizeof(ok_eol);
	uint32_t n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);
}

static void test_ip_fragments(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp4();

	/* First fragment: MF, offset 0. */
	s.ip_frag = 0x2000;
	uint32_t n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IP_FRAGMENT);
	CU_ASSERT_EQUAL(m.l3, PC_L3_IPV4);
	CU_ASSERT_EQUAL(m.src.v4, A4_CLIENT);
	CU_ASSERT_EQUAL(m.dst.v4, A4_SERVER);
	CU_ASSERT_EQUAL(m.l4_proto, PC_PROTO_TCP);
	CU_ASSERT_EQUAL(m.l3_len, n - 14);
	CU_ASSERT_EQUAL(m.sport, 0);
	/* Last fragment: offset only. */
	s.ip_frag = 0x0001;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IP_FRAGMENT);
	s.ip_frag = 0x1fff;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IP_FRAGMENT);
	/* DF alone, and the reserved bit, are not fragmentation. */
	s.ip_frag = 0x4000;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);

	/* IPv6: a Fragment header with M set, then one with an offset. */
	static const uint8_t frag_first[8] = { 0, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t frag_later[8] = { 0, 0, 0x05, 0x28, 0xde, 0xad, 0xbe, 0xef };
	static const uint8_t frag_reserved[8] = { 0, 0xff, 0x00, 0x06, 0xde, 0xad, 0xbe, 0xef };
	s = spec_tcp6();
	s.ext_count = 2;
	s.ext[0] = (struct pc_pkt_ext){ .type = 0, .len = 8 };
	s.ext[1] = (struct pc_pkt_ext){ .type = 44, .len = 8, .bytes = frag_first };
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IP_FRAGMENT);
	CU_ASSERT_EQUAL(m.l3, PC_L3_IPV6);
	CU_ASSERT_EQUAL(memcmp(m.src.v6, a6_client, 16), 0);
	CU_ASSERT_EQUAL(m.l4_proto, PC_PROTO_TCP);
	CU_ASSERT_EQUAL(m.l4_off, 14 + 40 + 16);
	s.ext[1].bytes = frag_later;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IP_FRAGMENT);
	/* Reserved bits set but offset 0 and M 0: still an atomic fragment. */
	s.ext[1].bytes = frag_reserved;
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.sport, 40000);
}

static void test_ipv6_errors(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	struct pc_pkt_spec s = spec_tcp6();
	uint32_t n = build(&s, f);
	uint8_t *ip = f + 14;

	CU_ASSERT_EQUAL(parse(f, 14 + 39, &m), PC_PKT_IPV6_TRUNCATED);
	ip[0] = 0x40;
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_BAD_VERSION);
	ip[0] = 0x60;

	/* Payload Length past the frame. */
	pc_pkt_build_put16(ip + 4, (uint16_t)(n - 54 + 1));
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_TRUNCATED);
	pc_pkt_build_put16(ip + 4, 0xffff);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_TRUNCATED);
	/* Payload Length 0 in front of TCP. */
	pc_pkt_build_put16(ip + 4, 0);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_BAD_PAYLOAD_LENGTH);

	/* A jumbogram (RFC 2675): Payload Length 0, Hop-by-Hop with a Jumbo
	 * Payload option (type 0xc2, length 4) carrying the real length. */
	static const uint8_t jumbo[8] = { 0, 0, 0xc2, 4, 0, 0, 0, 60 };
	s.ext_count = 1;
	s.ext[0] = (struct pc_pkt_ext){ .type = 0, .len = 8, .bytes = jumbo };
	n = build(&s, f);
	pc_pkt_build_put16(ip + 4, 0);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_BAD_PAYLOAD_LENGTH);
}

static void test_ipv6_ext_errors(void)
{
	/* Hop-by-Hop claiming 16 bytes where the payload has 8. */
	static const uint8_t hbh_long[8] = { 59, 1, 1, 4 };
	/* AH claiming (10 + 2) * 4 = 48 bytes. */
	static const uint8_t ah_long[8] = { 59, 10 };
	static const uint8_t one[1] = { 59 };
	static const uint8_t four[4] = { 59, 0, 0, 0 };
	static const struct {
		uint8_t type;
		const uint8_t *bytes;
		uint16_t len;
	} cases[] = {
		{ 0, hbh_long, 8 },
		{ 60, hbh_long, 8 },
		{ 43, hbh_long, 8 },
		{ 51, ah_long, 8 },
		{ 0, one, 1 },  /* no room for Hdr Ext Len */
		{ 51, one, 1 },
		{ 44, four, 4 }, /* Fragment header is 8 bytes */
		{ 60, four, 4 },
	};
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;

	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		struct pc_pkt_spec s = spec_tcp6();
		s.l4_proto = 59;
		s.payload_len = 0;
		s.ext_count = 1;
		s.ext[0] = (struct pc_pkt_ext){ .type = cases[i].type, .len = cases[i].len,
						.bytes = cases[i].bytes };
		uint32_t n = build(&s, f);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_EXT_TRUNCATED);
		/* Trailing frame bytes beyond Payload Length do not help. */
		s.min_len = 200;
		n = build(&s, f);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_EXT_TRUNCATED);
	}

	/* A chain ending in a header cut short behind good ones. */
	struct pc_pkt_spec s = spec_tcp6();
	s.l4_proto = 59;
	s.payload_len = 0;
	s.ext_count = 3;
	s.ext[0] = (struct pc_pkt_ext){ .type = 0, .len = 8 };
	s.ext[1] = (struct pc_pkt_ext){ .type = 60, .len = 8 };
	s.ext[2] = (struct pc_pkt_ext){ .type = 43, .len = 8, .bytes = hbh_long };
	uint32_t n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_EXT_TRUNCATED);

	/* One header more than PC_PKT_MAX_IPV6_EXT. */
	s = spec_tcp6();
	s.ext_count = PC_PKT_MAX_IPV6_EXT + 1;
	for (unsigned i = 0; i < s.ext_count; i++)
		s.ext[i] = (struct pc_pkt_ext){ .type = i ? 60 : 0, .len = 8 };
	n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_IPV6_TOO_MANY_EXT);
}

/* Shrink the IP datagram to hold only l4_len bytes of L4, keeping the frame
 * (the rest becomes trailing bytes the decoder must ignore). */
static void set_l4_len(uint8_t *f, const struct pc_pkt_spec *s, uint32_t l4_len)
{
	uint8_t *ip = f + PC_PKT_BUILD_L3_OFF(s);

	if (s->l3 == 4) {
		unsigned ihl = (ip[0] & 0x0f) * 4u;
		pc_pkt_build_put16(ip + 2, (uint16_t)(ihl + l4_len));
		pc_pkt_build_ipv4_csum(ip);
	} else {
		pc_pkt_build_put16(ip + 4, (uint16_t)l4_len);
	}
}

static void test_tcp_errors(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;

	for (int v6 = 0; v6 < 2; v6++) {
		struct pc_pkt_spec s = v6 ? spec_tcp6() : spec_tcp4();
		uint32_t n = build(&s, f), l4_off = PC_PKT_BUILD_L3_OFF(&s) + (v6 ? 40 : 20);
		uint8_t *tcp = f + l4_off;

		/* Fewer than 20 bytes of TCP inside the datagram (an IPv6
		 * Payload Length of 0 is its own error, tested above). */
		for (uint32_t k = (uint32_t)v6; k < 20; k++) {
			n = build(&s, f);
			set_l4_len(f, &s, k);
			CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_TCP_TRUNCATED);
		}
		/* Data offset under 5, or past the segment. */
		n = build(&s, f);
		tcp[12] = 0x40;
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_TCP_BAD_DATA_OFFSET);
		tcp[12] = 0x00;
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_TCP_BAD_DATA_OFFSET);
		tcp[12] = 0xf0; /* 60 bytes */
		set_l4_len(f, &s, 59);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_TCP_BAD_DATA_OFFSET);
		/* With room for it, the request line is read as options:
		 * kind 'G', length 'E' (69), past the 60-byte header. */
		set_l4_len(f, &s, 60);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_TCP_BAD_OPTIONS);
		/* 24 bytes of header in a 20-byte segment. */
		s.payload_len = 0;
		n = build(&s, f);
		tcp[12] = 0x60;
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_TCP_BAD_DATA_OFFSET);
	}
}

static void test_tcp_option_errors(void)
{
	static const struct {
		uint8_t opts[12];
		uint8_t len;
	} bad[] = {
		{ { 2, 1, 5, 0xb4 }, 4 },                 /* MSS with length 1 */
		{ { 2, 0, 5, 0xb4 }, 4 },                 /* length 0 */
		{ { 1, 1, 8, 11, 0, 0, 0, 1, 0, 0, 0, 0 }, 12 }, /* one byte past the end */
		{ { 1, 1, 1, 2 }, 4 },                    /* kind in the last byte */
		{ { 1, 1, 4, 2, 3, 3, 7, 30 }, 8 },       /* SACK-ok, WS, then junk length */
	};
	static const uint8_t after_eol[8] = { 1, 0, 0xff, 0x01, 0x02, 0x03, 0x04, 0x05 };
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;

	/* With and without payload: without, the options end the frame, so
	 * a walk that peeks one byte too far is caught by ASan. */
	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		for (int v = 0; v < 4; v++) {
			struct pc_pkt_spec s = v & 1 ? spec_tcp6() : spec_tcp4();
			s.tcp_opts = bad[i].opts;
			s.tcp_opts_len = bad[i].len;
			if (v & 2)
				s.payload_len = 0;
			uint32_t n = build(&s, f);
			CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_TCP_BAD_OPTIONS);
		}
	}
	/* Whatever follows EOL is padding, not options. */
	struct pc_pkt_spec s = spec_tcp4();
	s.tcp_opts = after_eol;
	s.tcp_opts_len = sizeof(after_eol);
	uint32_t n = build(&s, f);
	CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m.tcp_hdr_len, 28);
}

static void test_udp_icmp_errors(void)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;

	for (int v6 = 0; v6 < 2; v6++) {
		struct pc_pkt_spec s = v6 ? spec_tcp6() : spec_tcp4();
		s.l4_proto = PC_PROTO_UDP;
		uint32_t n, l4_off = PC_PKT_BUILD_L3_OFF(&s) + (v6 ? 40 : 20);

		for (uint32_t k = (uint32_t)v6; k < 8; k++) {
			n = build(&s, f);
			set_l4_len(f, &s, k);
			CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_UDP_TRUNCATED);
		}
		/* UDP Length under 8, or different from the IP payload either
		 * way. */
		uint16_t ulen = (uint16_t)(8 + s.payload_len);
		static const int delta[] = { -1, 1, -8, 100 };
		n = build(&s, f);
		pc_pkt_build_put16(f + l4_off + 4, 7);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_UDP_BAD_LENGTH);
		pc_pkt_build_put16(f + l4_off + 4, 0);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_UDP_BAD_LENGTH);
		for (size_t i = 0; i < PC_ARRAY_SIZE(delta); i++) {
			pc_pkt_build_put16(f + l4_off + 4, (uint16_t)(ulen + delta[i]));
			CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_UDP_BAD_LENGTH);
		}
		pc_pkt_build_put16(f + l4_off + 4, ulen);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);

		s.l4_proto = v6 ? PC_PROTO_ICMPV6 : PC_PROTO_ICMP;
		for (uint32_t k = (uint32_t)v6; k < 4; k++) {
			n = build(&s, f);
			set_l4_len(f, &s, k);
			CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_ICMP_TRUNCATED);
		}
		n = build(&s, f);
		set_l4_len(f, &s, 4);
		CU_ASSERT_EQUAL(parse(f, n, &m), PC_PKT_OK);
		CU_ASSERT_EQUAL(m.payload_len, 0);
	}
}

/* ---- truncation and mutation sweeps ---- */

/* Every prefix of a good frame fails with the reason of the layer it cuts,
 * and (under ASan) reads nothing past the cut. */
static void truncate_all(const struct pc_pkt_spec *s)
{
	uint8_t f[BUF_CAP];
	struct pc_pkt_meta m;
	uint32_t n = build(s, f), l3_off = PC_PKT_BUILD_L3_OFF(s);
	enum pc_pkt_reason ip_trunc = s->l3 == 4 ? PC_PKT_IPV4_TRUNCATED : PC_PKT_IPV6_TRUNCATED;

	CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
	for (uint32_t k = 0; k < n; k++) {
		enum pc_pkt_reason want = k < 14 ? PC_PKT_ETH_TRUNCATED :
					  k < l3_off ? PC_PKT_VLAN_TRUNCATED : ip_trunc;
		enum pc_pkt_reason got = parse(f, k, &m);
		CU_ASSERT_EQUAL(got, want);
		if (got != want)
			fprintf(stderr, "cut at %u of %u: %s\n", k, n, pc_pkt_reason_name(got));
	}
}

static void test_truncation(void)
{
	struct pc_pkt_spec s = spec_tcp4();
	static const uint8_t ipopt[4] = { 0x94, 4, 0, 0 };

	s.tcp_opts = sack_opts;
	s.tcp_opts_len = sizeof(sack_opts);
	truncate_all(&s);
	s.ip_opts = ipopt;
	s.ip_opts_len = sizeof(ipopt);
	s.vlan_count = 2;
	truncate_all(&s);

	s = spec_tcp6();
	s.tcp_opts = syn_opts;
	s.tcp_opts_len = sizeof(syn_opts);
	truncate_all(&s);
	s.vlan_count = 1;
	s.ext_count = 3;
	s.ext[0] = (struct pc_pkt_ext){ .type = 0, .len = 8 };
	s.ext[1] = (struct pc_pkt_ext){ .type = 60, .len = 24 };
	s.ext[2] = (struct pc_pkt_ext){ .type = 44, .len = 8 };
	truncate_all(&s);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dull) >> 32);
}

/* Whatever the decoder accepts, its offsets describe bytes inside the frame
 * and inside the IP datagram. */
static void check_invariants(enum pc_pkt_reason r, const struct pc_pkt_meta *m, uint32_t n)
{
	if (r != PC_PKT_OK && r != PC_PKT_IP_FRAGMENT)
		return;
	CU_ASSERT(m->vlan_count <= PC_PKT_MAX_VLANS);
	CU_ASSERT(m->l3_off == 14 + 4 * m->vlan_count);
	if (m->l3 == PC_L3_NONE) {
		CU_ASSERT(r == PC_PKT_OK);
		return;
	}
	uint32_t l3_end = (uint32_t)m->l3_off + m->l3_len;
	CU_ASSERT(l3_end <= n);
	CU_ASSERT(m->l4_off >= m->l3_off + (m->l3 == PC_L3_IPV4 ? 20 : 40));
	CU_ASSERT(m->l4_off <= l3_end);
	CU_ASSERT(m->payload_off >= m->l4_off);
	CU_ASSERT((uint32_t)m->payload_off + m->payload_len <= l3_end);
	CU_ASSERT(m->src.family == m->l3 && m->dst.family == m->l3);
	if (r == PC_PKT_OK && m->l4_proto == PC_PROTO_TCP) {
		CU_ASSERT(m->tcp_hdr_len >= 20 && m->tcp_hdr_len <= 60);
		CU_ASSERT(m->payload_off == m->l4_off + m->tcp_hdr_len);
		CU_ASSERT((uint32_t)m->payload_off + m->payload_len == l3_end);
	}
	if (r == PC_PKT_OK && m->l4_proto == PC_PROTO_UDP)
		CU_ASSERT((uint32_t)m->payload_off + m->payload_len == l3_end);
}

static void test_mutations(void)
{
	struct pc_pkt_spec specs[6];
	static const uint8_t ipopt[8] = { 0x94, 4, 0, 0, 1, 1, 1, 0 };
	uint8_t base[BUF_CAP], f[BUF_CAP];
	struct pc_pkt_meta m;
	unsigned ok = 0, bad = 0;

	specs[0] = spec_tcp4();
	specs[0].tcp_opts = sack_opts;
	specs[0].tcp_opts_len = sizeof(sack_opts);
	specs[1] = specs[0];
	specs[1].ip_opts = ipopt;
	specs[1].ip_opts_len = sizeof(ipopt);
	specs[1].vlan_count = 1;
	specs[2] = spec_tcp6();
	specs[2].tcp_opts = syn_opts;
	specs[2].tcp_opts_len = sizeof(syn_opts);
	specs[2].ext_count = 3;
	specs[2].ext[0] = (struct pc_pkt_ext){ .type = 0, .len = 8 };
	specs[2].ext[1] = (struct pc_pkt_ext){ .type = 43, .len = 16 };
	specs[2].ext[2] = (struct pc_pkt_ext){ .type = 51, .len = 16 };
	specs[3] = spec_tcp6();
	specs[3].l4_proto = PC_PROTO_UDP;
	specs[3].vlan_count = 2;
	specs[4] = spec_tcp4();
	specs[4].l4_proto = PC_PROTO_ICMP;
	specs[5] = specs[2];
	specs[5].ext[2] = (struct pc_pkt_ext){ .type = 44, .len = 8 };

	for (unsigned iter = 0; iter < 60000; iter++) {
		const struct pc_pkt_spec *s = &specs[iter % PC_ARRAY_SIZE(specs)];
		uint32_t n = build(s, base);
		uint32_t hdr = n - s->payload_len; /* mutate headers, where the decoder looks */

		memcpy(f, base, n);
		unsigned flips = 1 + rng() % 4;
		for (unsigned i = 0; i < flips; i++) {
			uint32_t at = rng() % hdr;
			if (rng() & 1)
				f[at] ^= (uint8_t)(1u << (rng() % 8));
			else
				f[at] = (uint8_t)rng();
		}
		if (rng() % 4 == 0)
			n = rng() % (n + 1);
		enum pc_pkt_reason r = parse_n(f, n, (iter & 1) != 0, &m);
		check_invariants(r, &m, n);
		if (r == PC_PKT_OK)
			ok++;
		else
			bad++;
	}
	/* The sweep must exercise both outcomes to mean anything. */
	CU_ASSERT(ok > 1000);
	CU_ASSERT(bad > 1000);
}

/* ---- checksums ---- */

static uint16_t stored(uint16_t c)
{
	/* The value as it reads on the wire: byte 0 high. */
	uint8_t b[2];

	memcpy(b, &c, 2);
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void test_csum_known_values(void)
{
	/* RFC 1071 section 3: these bytes sum to ddf2 (before complement). */
	static const uint8_t rfc1071[8] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	CU_ASSERT_EQUAL(stored(pc_csum_fold(pc_csum_partial(rfc1071, 8, 0))), 0xffff & ~0xddf2);

	/* The classic IPv4 header example: 4500 0073 0000 4000 4011 ____
	 * c0a8 0001 c0a8 00c7 sums to 2479c, folds to 479e, checksum b861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	uint16_t c = pc_csum_fold(pc_csum_partial(ip, 20, 0));
	CU_ASSERT_EQUAL(stored(c), 0xb861);
	memcpy(ip + 10, &c, 2);
	CU_ASSERT_EQUAL(ip[10], 0xb8);
	CU_ASSERT_EQUAL(ip[11], 0x61);
	CU_ASSERT_EQUAL(pc_csum_fold(pc_csum_partial(ip, 20, 0)), 0);

	/* TCP SYN 198.18.1.10:40000 -> 198.18.0.2:80, seq 1, window faf0:
	 *   pseudo c612 010a c612 0002 0006 0014
	 *   tcp    9c40 0050 0000 0001 0000 0000 5002 faf0 0000 0000
	 *   sum 374cd, fold 74d0, checksum 8b2f. */
	uint8_t tcp[20] = { 0x9c, 0x40, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0,
			    0x50, 0x02, 0xfa, 0xf0, 0, 0, 0, 0 };
	struct pc_addr s4 = { .family = 4, .v4 = A4_CLIENT }, d4 = { .family = 4, .v4 = A4_SERVER };
	c = pc_l4_csum(&s4, &d4, PC_PROTO_TCP, tcp, 20);
	CU_ASSERT_EQUAL(stored(c), 0x8b2f);
	memcpy(tcp + 16, &c, 2);
	CU_ASSERT_EQUAL(pc_l4_csum(&s4, &d4, PC_PROTO_TCP, tcp, 20), 0);

	/* UDP over IPv6 with an odd length, 2001:db8::1 -> 2001:db8::2,
	 * 12345 -> 53, payload "abc" (UDP length 11):
	 *   pseudo 2001 0db8 0 0 0 0 0 0001 2001 0db8 0 0 0 0 0 0002
	 *          0000 000b 0000 0011
	 *   udp    3039 0035 000b 0000 6162 6300 (odd byte padded)
	 *   sum 1506c, fold 506d, checksum af92. */
	uint8_t udp[11] = { 0x30, 0x39, 0x00, 0x35, 0x00, 0x0b, 0, 0, 'a', 'b', 'c' };
	struct pc_addr s6 = { .family = 6, .v6 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
	struct pc_addr d6 = { .family = 6, .v6 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 2 } };
	c = pc_l4_csum(&s6, &d6, PC_PROTO_UDP, udp, 11);
	CU_ASSERT_EQUAL(stored(c), 0xaf92);
	memcpy(udp + 6, &c, 2);
	CU_ASSERT_EQUAL(pc_l4_csum(&s6, &d6, PC_PROTO_UDP, udp, 11), 0);
	/* One bit off anywhere breaks it. */
	udp[10] ^= 0x10;
	CU_ASSERT_NOT_EQUAL(pc_l4_csum(&s6, &d6, PC_PROTO_UDP, udp, 11), 0);
}

/* Built frames carry checksums from the builder's own plain RFC 1071 loop;
 * the decoder's sum must verify them for every shape and length. */
static void test_csum_builder_frames(void)
{
	uint8_t f[BUF_CAP], payload[1500];
	struct pc_pkt_meta m;

	for (unsigned i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 7 + 3);
	for (unsigned len = 0; len < 300; len++) {
		for (int kind = 0; kind < 4; kind++) {
			struct pc_pkt_spec s = kind & 1 ? spec_tcp6() : spec_tcp4();
			s.l4_proto = kind & 2 ? PC_PROTO_UDP : PC_PROTO_TCP;
			s.payload = payload;
			s.payload_len = (uint16_t)(len < 290 ? len : 1200 + len);
			uint32_t n = build(&s, f);
			CU_ASSERT_EQUAL_FATAL(parse(f, n, &m), PC_PKT_OK);
			uint16_t l4_len = (uint16_t)(m.l3_off + m.l3_len - m.l4_off);
			CU_ASSERT_EQUAL(pc_l4_csum(&m.src, &m.dst, m.l4_proto, f + m.l4_off, l4_len), 0);
			/* Recompute from a zeroed field: the same bytes come back. */
			uint8_t *cf = f + m.l4_off + (m.l4_proto == PC_PROTO_TCP ? 16 : 6);
			uint8_t want[2] = { cf[0], cf[1] };
			cf[0] = cf[1] = 0;
			uint16_t c = pc_l4_csum(&m.src, &m.dst, m.l4_proto, f + m.l4_off, l4_len);
			if (m.l4_proto == PC_PROTO_UDP && c == 0)
				c = 0xffff;
			memcpy(cf, &c, 2);
			CU_ASSERT(cf[0] == want[0] && cf[1] == want[1]);
		}
	}
}

/* The word-at-a-time sum against the byte-pair loop at every alignment and
 * length, including odd ones, and chained at even split points. */
static void test_csum_partial_vs_reference(void)
{
	uint8_t buf[600];

	for (unsigned i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)rng();
	memset(buf + 100, 0xff, 64); /* carries galore */
	for (unsigned align = 0; align < 8; align++) {
		for (unsigned len = 0; len + align <= 560; len++) {
			uint16_t want = pc_pkt_build_fold(pc_pkt_build_sum(buf + align, len, 0));
			uint16_t got = stored(pc_csum_fold(pc_csum_partial(buf + align, len, 0)));
			CU_ASSERT_EQUAL(got, want);
			if (got != want) {
				fprintf(stderr, "align %u len %u: %04x != %04x\n", align, len, got, want);
				return;
			}
			unsigned split = (len / 2) & ~1u;
			uint32_t part = pc_csum_partial(buf + align, split, 0);
			part = pc_csum_partial(buf + align + split, len - split, part);
			CU_ASSERT_EQUAL(stored(pc_csum_fold(part)), want);
		}
	}
	/* A large seed (an already-summed pseudo header) is carried, not lost. */
	uint32_t seed = 0xffffffffu;
	uint16_t want = pc_pkt_build_fold(pc_pkt_build_sum(buf, 64, 0xffff + 0xffff));
	CU_ASSERT_EQUAL(stored(pc_csum_fold(pc_csum_partial(buf, 64, seed))), want);
}

/* ---- names and coverage ---- */

static void test_reason_names(void)
{
	CU_ASSERT_STRING_EQUAL(pc_pkt_reason_name(PC_PKT_OK), "ok");
	CU_ASSERT_STRING_EQUAL(pc_pkt_reason_name(PC_PKT_IPV4_TRUNCATED), "ipv4_truncated");
	CU_ASSERT_STRING_EQUAL(pc_pkt_reason_name(PC_PKT_ICMP_TRUNCATED), "icmp_truncated");
	CU_ASSERT_STRING_EQUAL(pc_pkt_reason_name(PC_PKT_REASON_COUNT), "unknown");
	CU_ASSERT_STRING_EQUAL(pc_pkt_reason_name((enum pc_pkt_reason)-1), "unknown");
	for (int i = 0; i < PC_PKT_REASON_COUNT; i++) {
		const char *a = pc_pkt_reason_name((enum pc_pkt_reason)i);
		CU_ASSERT_FATAL(a != NULL);
		CU_ASSERT(a[0] != '\0');
		for (int j = 0; j < i; j++)
			CU_ASSERT(strcmp(a, pc_pkt_reason_name((enum pc_pkt_reason)j)) != 0);
	}
}

/* Runs last: every reason the decoder can return was produced by a crafted
 * frame somewhere above. */
static void test_every_reason_triggered(void)
{
	for (int i = 0; i < PC_PKT_REASON_COUNT; i++) {
		if (!seen[i])
			fprintf(stderr, "reason never triggered: %s\n",
				pc_pkt_reason_name((enum pc_pkt_reason)i));
		CU_ASSERT(seen[i]);
	}
}

static CU_TestInfo tests[] = {
	PC_TEST(test_tcp4_untagged),
	PC_TEST(test_vlan_8021q),
	PC_TEST(test_vlan_qinq),
	PC_TEST(test_ipv4_options),
	PC_TEST(test_ipv6_ext_headers),
	PC_TEST(test_ipv6_no_next_header),
	PC_TEST(test_udp),
	PC_TEST(test_icmp),
	PC_TEST(test_non_ip),
	PC_TEST(test_other_protocols),
	PC_TEST(test_ethernet_padding),
	PC_TEST(test_tcp_flags),
	PC_TEST(test_eth_vlan_errors),
	PC_TEST(test_ipv4_header_errors),
	PC_TEST(test_ipv4_option_errors),
	PC_TEST(test_ip_fragments),
	PC_TEST(test_ipv6_errors),
	PC_TEST(test_ipv6_ext_errors),
	PC_TEST(test_tcp_errors),
	PC_TEST(test_tcp_option_errors),
	PC_TEST(test_udp_icmp_errors),
	PC_TEST(test_truncation),
	PC_TEST(test_mutations),
	PC_TEST(test_csum_known_values),
	PC_TEST(test_csum_builder_frames),
	PC_TEST(test_csum_partial_vs_reference),
	PC_TEST(test_reason_names),
	PC_TEST(test_every_reason_triggered),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("pkt_parse", tests)
