/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Test frame builder: describe a frame in a struct pc_pkt_spec, and
 * pc_pkt_build() writes Ethernet [+ 802.1Q / 802.1ad tags] + IPv4 [+ options]
 * or IPv6 [+ extension headers] + TCP [+ options] / UDP / ICMP / raw bytes,
 * with every length and checksum filled in, into a caller buffer.
 *
 * It is deliberately independent of lib/pkt: its checksum is the plainest
 * RFC 1071 loop (16-bit big-endian words, one at a time), so a test that
 * builds with it and parses with pc_pkt_parse() checks one implementation
 * against another rather than against itself.
 *
 * To craft a malformed frame, build a good one and patch bytes: the layout
 * is fixed (Ethernet 14 bytes, 4 per tag, then L3), PC_PKT_BUILD_L3_OFF()
 * gives the L3 offset, and pc_pkt_build_ipv4_csum() re-seals an IPv4 header
 * after a patch when the test wants only one thing wrong.
 *
 * Header-only, for tests: everything is static inline.
 */
#ifndef PC_PKT_BUILD_H
#define PC_PKT_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "pkt/pkt_parse.h" /* protocol numbers only: nothing is linked */
#include "util/pc_types.h"

#define PC_PKT_BUILD_MAX_EXT 12

/* One IPv6 extension header. type is its protocol number (0, 43, 44, 51, 60
 * or anything else). With bytes == NULL the builder writes a well-formed
 * header of len bytes (len a multiple of 8; 4 is allowed for AH): a PadN
 * option filling Hop-by-Hop / Destination Options, a zero Routing header
 * (type 0, segments left 0), an atomic Fragment header (offset 0, M = 0),
 * a zero AH. With bytes set it copies them verbatim (lengths as given, so a
 * test can lie) and only overwrites byte 0, the Next Header, to keep the
 * chain linked. */
struct pc_pkt_ext {
	uint8_t type;
	uint16_t len;
	const uint8_t *bytes;
};

struct pc_pkt_spec {
	/* L2. vlan_tpid[i] == 0 means 0x8100; outer tag first. */
	uint8_t dst_mac[6], src_mac[6];
	uint8_t vlan_count; /* 0..4: the builder does not enforce the parser's limit */
	uint16_t vlan_tpid[4];
	uint16_t vlan_tci[4];
	/* l3 = 0: ethertype and payload are the whole frame after L2 (ARP...). */
	uint8_t l3; /* 0, 4 or 6 */
	uint16_t ethertype;
	/* L3. Addresses as in struct pc_addr (IPv4 in host order). */
	struct pc_addr src, dst;
	uint8_t ttl;                /* 0 means 64 */
	uint16_t ip_id;             /* IPv4 Identification */
	uint16_t ip_frag;           /* IPv4 flags + fragment offset field, e.g. 0x4000 DF */
	const uint8_t *ip_opts;     /* IPv4 options, zero-padded (EOL) to 4 bytes */
	uint8_t ip_opts_len;        /* 0..40 */
	struct pc_pkt_ext ext[PC_PKT_BUILD_MAX_EXT]; /* IPv6, in order */
	uint8_t ext_count;
	/* L4: PC_PROTO_TCP / UDP / ICMP / ICMPV6 are built; any other number
	 * (59 = No Next Header, 50 = ESP...) is followed by payload as is. */
	uint8_t l4_proto;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t window;            /* 0 means 65535 */
	const uint8_t *tcp_opts;    /* zero-padded (EOL) to 4 bytes */
	uint8_t tcp_opts_len;       /* 0..40 */
	uint8_t icmp_type, icmp_code; /* ICMP header is 8 bytes, rest zero */
	/* Data after the L4 header (after L2 when l3 == 0). */
	const void *payload;
	uint16_t payload_len;
	/* Pad the frame with zeros to at least this many bytes (60 for the
	 * Ethernet minimum without FCS); IP lengths do not include it. */
	uint16_t min_len;
};

#define PC_PKT_BUILD_L3_OFF(spec) (14u + 4u * (spec)->vlan_count)

static inline void pc_pkt_build_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pc_pkt_build_put32(uint8_t *p, uint32_t v)
{
	pc_pkt_build_put16(p, (uint16_t)(v >> 16));
	pc_pkt_build_put16(p + 2, (uint16_t)v);
}

/* RFC 1071 sum of p[0..len) as 16-bit big-endian words, unfolded. */
static inline uint32_t pc_pkt_build_sum(const uint8_t *p, uint32_t len, uint32_t sum)
{
	for (uint32_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

/* Fold and complement: the checksum as a host-order number. */
static inline uint16_t pc_pkt_build_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Recompute the header checksum of the IPv4 header at ip (after a test
 * patched it). */
static inline void pc_pkt_build_ipv4_csum(uint8_t *ip)
{
	unsigned ihl = (ip[0] & 0x0f) * 4u;

	pc_pkt_build_put16(ip + 10, 0);
	pc_pkt_build_put16(ip + 10, pc_pkt_build_fold(pc_pkt_build_sum(ip, ihl, 0)));
}

static inline uint32_t pc_pkt_build_addr_sum(const struct pc_addr *a, uint32_t sum)
{
	if (a->family == 4) {
		uint8_t b[4];

		pc_pkt_build_put32(b, a->v4);
		return pc_pkt_build_sum(b, 4, sum);
	}
	return pc_pkt_build_sum(a->v6, 16, sum);
}

/* The TCP/UDP/ICMPv6 checksum of l4[0..len) with its pseudo header, as a
 * host-order number (ICMPv4 has no pseudo header: pass pseudo = false). */
static inline uint16_t pc_pkt_build_l4_csum(const struct pc_pkt_spec *s, const uint8_t *l4,
					    uint32_t len, bool pseudo)
{
	uint32_t sum = 0;

	if (pseudo) {
		sum = pc_pkt_build_addr_sum(&s->src, sum);
		sum = pc_pkt_build_addr_sum(&s->dst, sum);
		sum += s->l4_proto;
		sum += len & 0xffff;
		sum += len >> 16;
	}
	return pc_pkt_build_fold(pc_pkt_build_sum(l4, len, sum));
}

/* Write the frame s describes into buf[0..cap). Returns the frame length,
 * or 0 when it does not fit in cap or s is inconsistent. */
static inline uint32_t pc_pkt_build(const struct pc_pkt_spec *s, uint8_t *buf, uint32_t cap)
{
	uint32_t off = 0, l3_off, l4_off, ip_hdr_len = 0, l4_hdr_len, len;
	uint8_t *ip, *l4;

	if (s->vlan_count > 4 || s->ip_opts_len > 40 || s->tcp_opts_len > 40 ||
	    s->ext_count > PC_PKT_BUILD_MAX_EXT || (s->l3 != 0 && s->l3 != 4 && s->l3 != 6))
		return 0;

	/* Size first, so nothing is written past cap. */
	uint32_t need = 14 + 4u * s->vlan_count;
	if (s->l3 == 4) {
		ip_hdr_len = 20 + ((s->ip_opts_len + 3u) & ~3u);
	} else if (s->l3 == 6) {
		ip_hdr_len = 40;
		for (unsigned i = 0; i < s->ext_count; i++)
			ip_hdr_len += s->ext[i].len;
	}
	if (s->l3 == 0)
		l4_hdr_len = 0;
	else if (s->l4_proto == PC_PROTO_TCP)
		l4_hdr_len = 20 + ((s->tcp_opts_len + 3u) & ~3u);
	else if (s->l4_proto == PC_PROTO_UDP || s->l4_proto == PC_PROTO_ICMP ||
		 s->l4_proto == PC_PROTO_ICMPV6)
		l4_hdr_len = 8;
	else
		l4_hdr_len = 0;
	need += ip_hdr_len + l4_hdr_len + s->payload_len;
	if (need > cap || (s->l3 && ip_hdr_len + l4_hdr_len + s->payload_len > 65535))
		return 0;
	len = need > s->min_len ? need : s->min_len;
	if (len > cap)
		return 0;
	memset(buf, 0, len);

	/* Ethernet and tags. */
	memcpy(buf, s->dst_mac, 6);
	memcpy(buf + 6, s->src_mac, 6);
	off = 12;
	for (unsigned i = 0; i < s->vlan_count; i++) {
		pc_pkt_build_put16(buf + off, s->vlan_tpid[i] ? s->vlan_tpid[i] : 0x8100);
		pc_pkt_build_put16(buf + off + 2, s->vlan_tci[i]);
		off += 4;
	}
	pc_pkt_build_put16(buf + off, s->l3 == 4 ? 0x0800 : s->l3 == 6 ? 0x86dd : s->ethertype);
	off += 2;
	l3_off = off;
	if (s->l3 == 0) {
		if (s->payload_len)
			memcpy(buf + off, s->payload, s->payload_len);
		return len;
	}

	ip = buf + l3_off;
	l4_off = l3_off + ip_hdr_len;
	l4 = buf + l4_off;
	uint32_t l4_len = l4_hdr_len + s->payload_len;

	/* L4 first (its checksum needs only the pseudo header fields). */
	if (s->payload_len)
		memcpy(l4 + l4_hdr_len, s->payload, s->payload_len);
	switch (s->l4_proto) {
	case PC_PROTO_TCP:
		pc_pkt_build_put16(l4, s->sport);
		pc_pkt_build_put16(l4 + 2, s->dport);
		pc_pkt_build_put32(l4 + 4, s->seq);
		pc_pkt_build_put32(l4 + 8, s->ack);
		l4[12] = (uint8_t)((l4_hdr_len / 4) << 4);
		l4[13] = s->tcp_flags;
		pc_pkt_build_put16(l4 + 14, s->window ? s->window : 65535);
		if (s->tcp_opts_len)
			memcpy(l4 + 20, s->tcp_opts, s->tcp_opts_len);
		pc_pkt_build_put16(l4 + 16, pc_pkt_build_l4_csum(s, l4, l4_len, true));
		break;
	case PC_PROTO_UDP: {
		pc_pkt_build_put16(l4, s->sport);
		pc_pkt_build_put16(l4 + 2, s->dport);
		pc_pkt_build_put16(l4 + 4, (uint16_t)l4_len);
		uint16_t c = pc_pkt_build_l4_csum(s, l4, l4_len, true);
		/* RFC 768: a computed zero is sent as all ones. */
		pc_pkt_build_put16(l4 + 6, c ? c : 0xffff);
		break;
	}
	case PC_PROTO_ICMP:
	case PC_PROTO_ICMPV6:
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		pc_pkt_build_put16(l4 + 2, pc_pkt_build_l4_csum(s, l4, l4_len, s->l3 == 6));
		break;
	default:
		break;
	}

	if (s->l3 == 4) {
		ip[0] = (uint8_t)(0x40 | ip_hdr_len / 4);
		pc_pkt_build_put16(ip + 2, (uint16_t)(ip_hdr_len + l4_len));
		pc_pkt_build_put16(ip + 4, s->ip_id);
		pc_pkt_build_put16(ip + 6, s->ip_frag);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->l4_proto;
		pc_pkt_build_put32(ip + 12, s->src.v4);
		pc_pkt_build_put32(ip + 16, s->dst.v4);
		if (s->ip_opts_len)
			memcpy(ip + 20, s->ip_opts, s->ip_opts_len);
		pc_pkt_build_ipv4_csum(ip);
		return len;
	}

	ip[0] = 0x60;
	pc_pkt_build_put16(ip + 4, (uint16_t)(ip_hdr_len - 40 + l4_len));
	ip[6] = s->ext_count ? s->ext[0].type : s->l4_proto;
	ip[7] = s->ttl ? s->ttl : 64;
	memcpy(ip + 8, s->src.v6, 16);
	memcpy(ip + 24, s->dst.v6, 16);
	uint8_t *e = ip + 40;
	for (unsigned i = 0; i < s->ext_count; i++) {
		const struct pc_pkt_ext *x = &s->ext[i];

		if (x->bytes) {
			memcpy(e, x->bytes, x->len);
		} else if (x->len >= 2) {
			if (x->type == 51)
				e[1] = (uint8_t)(x->len / 4 - 2);
			else if (x->type != 44)
				e[1] = (uint8_t)(x->len / 8 - 1);
			if ((x->type == 0 || x->type == 60) && x->len > 2) {
				/* RFC 8200 section 4.2: PadN, type 1, length n-2. */
				e[2] = 1;
				e[3] = (uint8_t)(x->len - 4);
			}
		}
		if (x->len)
			e[0] = i + 1 < s->ext_count ? s->ext[i + 1].type : s->l4_proto;
		e += x->len;
	}
	return len;
}

#endif
