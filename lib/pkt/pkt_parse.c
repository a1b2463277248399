/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Frame decoder. One pass, front to back, over a flat buffer: each layer
 * checks that its fixed header is inside the bytes it was given, reads its
 * length fields, checks them against what the layer below vouched for, and
 * hands the next layer a (pointer, length) pair that is already in bounds.
 * From the IP layer on, "in bounds" means inside the IP datagram as its own
 * length fields describe it, never the frame: the bytes after that are
 * Ethernet padding and must not be read as TCP options or payload.
 *
 * The common case (untagged IPv4, TCP) is tested first and runs straight
 * through; VLAN tags, IPv4 options and IPv6 extension headers are loops that
 * only run when present, and every loop is bounded (two tags, a 60-byte
 * header, eight extension headers). Multi-byte fields are read with 2- and
 * 4-byte memcpy()s, which compile to plain (unaligned-safe) loads.
 *
 * Checksums follow RFC 1071: 32-bit words are added into a 64-bit
 * accumulator in host byte order and folded at the end. Because the one's
 * complement sum commutes with byte swapping (RFC 1071 section 2(B)), the
 * folded result is already in network byte order as it sits in memory: it
 * is stored into a header's checksum field as is, and a received header that
 * carries a correct checksum sums to zero.
 */
#include <arpa/inet.h>

#include "pkt/pkt_parse.h"

#define PC_ETH_HDR_LEN 14
#define PC_VLAN_HDR_LEN 4
#define PC_ETHERTYPE_IPV4 0x0800
#define PC_ETHERTYPE_IPV6 0x86dd
#define PC_ETHERTYPE_VLAN 0x8100 /* IEEE 802.1Q C-tag */
#define PC_ETHERTYPE_QINQ 0x88a8 /* IEEE 802.1ad S-tag */

#define PC_IPV4_HDR_LEN 20
#define PC_IPV4_MF 0x2000
#define PC_IPV4_FRAG_OFF_MASK 0x1fff

#define PC_IPV6_HDR_LEN 40
#define PC_IPV6_EXT_HOPOPTS 0
#define PC_IPV6_EXT_ROUTING 43
#define PC_IPV6_EXT_FRAGMENT 44
#define PC_IPV6_EXT_AH 51
#define PC_IPV6_NO_NEXT_HEADER 59
#define PC_IPV6_EXT_DSTOPTS 60
#define PC_IPV6_FRAG_HDR_LEN 8

#define PC_TCP_HDR_LEN 20
#define PC_UDP_HDR_LEN 8
#define PC_ICMP_MIN_LEN 4 /* type, code, checksum */

/* Option kinds common to IPv4 and TCP. */
#define PC_OPT_EOL 0
#define PC_OPT_NOP 1

static const char *const pc_pkt_reason_names[] = {
#define PC_X(name, text) [PC_PKT_##name] = text,
	PC_PKT_REASONS(PC_X)
#undef PC_X
};

const char *pc_pkt_reason_name(enum pc_pkt_reason r)
{
	if ((unsigned)r >= PC_PKT_REASON_COUNT)
		return "unknown";
	return pc_pkt_reason_names[r];
}

static inline uint16_t rd_be16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return ntohs(v);
}

static inline uint32_t rd_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return ntohl(v);
}

/* IPv4 options (RFC 791 section 3.1) and TCP options (RFC 9293 section
 * 3.1) share one layout: EOL (0) ends the list, NOP (1) is a single byte,
 * every other kind is kind, length, data with length counting both leading
 * bytes. A length under 2 would stall or rewind the walk, and one past the
 * header end would make the next layer start inside an option, so both are
 * malformed. opt[0..len) is already inside the header. */
static inline bool options_valid(const uint8_t *opt, unsigned len)
{
	unsigned i = 0;

	while (i < len) {
		uint8_t kind = opt[i];

		if (kind == PC_OPT_EOL)
			return true;
		if (kind == PC_OPT_NOP) {
			i++;
			continue;
		}
		if (unlikely(len - i < 2))
			return false;
		uint8_t olen = opt[i + 1];
		if (unlikely(olen < 2 || olen > len - i))
			return false;
		i += olen;
	}
	return true;
}

/* TCP, RFC 9293 section 3.1. l4[0..l4_len) lies inside the datagram. */
static inline enum pc_pkt_reason parse_tcp(const uint8_t *l4, uint32_t l4_len,
					   struct pc_pkt_meta *m)
{
	if (unlikely(l4_len < PC_TCP_HDR_LEN))
		return PC_PKT_TCP_TRUNCATED;
	/* Data Offset: header length in 32-bit words, at least 5. */
	unsigned doff = (unsigned)(l4[12] >> 4) * 4;
	if (unlikely(doff < PC_TCP_HDR_LEN || doff > l4_len))
		return PC_PKT_TCP_BAD_DATA_OFFSET;

	uint8_t flags = l4[13];
	m->sport = rd_be16(l4);
	m->dport = rd_be16(l4 + 2);
	m->tcp_seq = rd_be32(l4 + 4);
	m->tcp_ack = rd_be32(l4 + 8);
	m->tcp_flags = flags;
	m->tcp_window = rd_be16(l4 + 14);
	m->tcp_hdr_len = (uint8_t)doff;
	m->payload_off = (uint16_t)(m->l4_off + doff);
	m->payload_len = (uint16_t)(l4_len - doff);

	/* No segment legitimately opens and closes (SYN+FIN) or opens and
	 * aborts (SYN+RST) at once, and one with no control bits at all is
	 * not a segment of any state in the RFC 9293 section 3.10 state
	 * machine; all three are scanner and evasion signatures that
	 * endpoints disagree on, so the gateway refuses them. */
	uint8_t ctl = flags & (PC_TCP_FIN | PC_TCP_SYN | PC_TCP_RST | PC_TCP_PSH |
			       PC_TCP_ACK | PC_TCP_URG);
	if (unlikely(ctl == 0 ||
		     (flags & (PC_TCP_SYN | PC_TCP_FIN)) == (PC_TCP_SYN | PC_TCP_FIN) ||
		     (flags & (PC_TCP_SYN | PC_TCP_RST)) == (PC_TCP_SYN | PC_TCP_RST)))
		return PC_PKT_TCP_BAD_FLAGS;

	if (doff > PC_TCP_HDR_LEN &&
	    unlikely(!options_valid(l4 + PC_TCP_HDR_LEN, doff - PC_TCP_HDR_LEN)))
		return PC_PKT_TCP_BAD_OPTIONS;
	return PC_PKT_OK;
}

/* UDP, RFC 768: the Length field covers header and data and must agree
 * with the IP layer, or the two layers would disagree on where data ends. */
static inline enum pc_pkt_reason parse_udp(const uint8_t *l4, uint32_t l4_len,
					   struct pc_pkt_meta *m)
{
	if (unlikely(l4_len < PC_UDP_HDR_LEN))
		return PC_PKT_UDP_TRUNCATED;
	uint16_t ulen = rd_be16(l4 + 4);
	if (unlikely(ulen < PC_UDP_HDR_LEN || ulen != l4_len))
		return PC_PKT_UDP_BAD_LENGTH;
	m->sport = rd_be16(l4);
	m->dport = rd_be16(l4 + 2);
	m->payload_off = (uint16_t)(m->l4_off + PC_UDP_HDR_LEN);
	m->payload_len = (uint16_t)(ulen - PC_UDP_HDR_LEN);
	return PC_PKT_OK;
}

/* ICMP (RFC 792) and ICMPv6 (RFC 4443 section 2.1) share type, code,
 * checksum; what follows depends on the type and is left to the caller as
 * payload. */
static inline enum pc_pkt_reason parse_icmp(const uint8_t *l4, uint32_t l4_len,
					    struct pc_pkt_meta *m)
{
	if (unlikely(l4_len < PC_ICMP_MIN_LEN))
		return PC_PKT_ICMP_TRUNCATED;
	m->icmp_type = l4[0];
	m->icmp_code = l4[1];
	m->payload_off = (uint16_t)(m->l4_off + PC_ICMP_MIN_LEN);
	m->payload_len = (uint16_t)(l4_len - PC_ICMP_MIN_LEN);
	return PC_PKT_OK;
}

/* Dispatch on the upper-layer protocol. ICMP is only decoded in the family
 * it belongs to: protocol 58 inside IPv4 is not neighbour discovery, and
 * must not be mistaken for it by a policy that lets ND through. */
static inline enum pc_pkt_reason parse_l4(const uint8_t *l4, uint32_t l4_len,
					  struct pc_pkt_meta *m)
{
	switch (m->l4_proto) {
	case PC_PROTO_TCP:
		return parse_tcp(l4, l4_len, m);
	case PC_PROTO_UDP:
		return parse_udp(l4, l4_len, m);
	case PC_PROTO_ICMP:
		if (m->l3 == PC_L3_IPV4)
			return parse_icmp(l4, l4_len, m);
		break;
	case PC_PROTO_ICMPV6:
		if (m->l3 == PC_L3_IPV6)
			return parse_icmp(l4, l4_len, m);
		break;
	case PC_IPV6_NO_NEXT_HEADER:
		/* RFC 8200 section 4.7: bytes after it are ignored. */
		if (m->l3 == PC_L3_IPV6) {
			m->payload_off = m->l4_off;
			return PC_PKT_OK;
		}
		break;
	default:
		break;
	}
	/* A protocol this decoder does not look into: all of it is payload. */
	m->payload_off = m->l4_off;
	m->payload_len = (uint16_t)l4_len;
	return PC_PKT_OK;
}

/* IPv4, RFC 791 section 3.1. ip[0..avail) is the rest of the frame. */
static inline enum pc_pkt_reason parse_ipv4(const uint8_t *ip, uint32_t avail,
					    bool verify_csum, struct pc_pkt_meta *m)
{
	if (unlikely(avail < PC_IPV4_HDR_LEN))
		return PC_PKT_IPV4_TRUNCATED;
	if (unlikely((ip[0] >> 4) != 4))
		return PC_PKT_IPV4_BAD_VERSION;
	/* IHL counts 32-bit words; 5 is the header without options. */
	unsigned ihl = (unsigned)(ip[0] & 0x0f) * 4;
	if (unlikely(ihl < PC_IPV4_HDR_LEN))
		return PC_PKT_IPV4_BAD_IHL;
	/* Total Length covers header and data; anything past it in the
	 * frame is link-layer padding. */
	uint16_t tot_len = rd_be16(ip + 2);
	if (unlikely(tot_len < ihl))
		return PC_PKT_IPV4_BAD_TOTAL_LENGTH;
	if (unlikely(tot_len > avail))
		return PC_PKT_IPV4_TRUNCATED;
	if (verify_csum && unlikely(pc_csum_fold(pc_csum_partial(ip, ihl, 0)) != 0))
		return PC_PKT_IPV4_BAD_CHECKSUM;
	if (ihl > PC_IPV4_HDR_LEN &&
	    unlikely(!options_valid(ip + PC_IPV4_HDR_LEN, ihl - PC_IPV4_HDR_LEN)))
		return PC_PKT_IPV4_BAD_OPTIONS;

	m->l3 = PC_L3_IPV4;
	m->l3_len = tot_len;
	m->ttl = ip[8];
	m->l4_proto = ip[9];
	m->src.family = 4;
	m->src.v4 = rd_be32(ip + 12);
	m->dst.family = 4;
	m->dst.v4 = rd_be32(ip + 16);
	m->l4_off = (uint16_t)(m->l3_off + ihl);
	m->payload_off = m->l4_off;

	/* A first fragment (MF, offset 0) carries the ports but not the whole
	 * segment, later ones carry neither: the flow table cannot judge
	 * either, so all fragments stop here. */
	if (unlikely(rd_be16(ip + 6) & (PC_IPV4_MF | PC_IPV4_FRAG_OFF_MASK)))
		return PC_PKT_IP_FRAGMENT;
	return parse_l4(ip + ihl, tot_len - ihl, m);
}

/* IPv6, RFC 8200 sections 3 and 4. ip[0..avail) is the rest of the frame. */
static inline enum pc_pkt_reason parse_ipv6(const uint8_t *ip, uint32_t avail,
					    struct pc_pkt_meta *m)
{
	if (unlikely(avail < PC_IPV6_HDR_LEN))
		return PC_PKT_IPV6_TRUNCATED;
	if (unlikely((ip[0] >> 4) != 6))
		return PC_PKT_IPV6_BAD_VERSION;
	uint32_t plen = rd_be16(ip + 4);
	uint8_t nh = ip[6];
	/* Payload Length 0 with a header following is a jumbogram (RFC 2675,
	 * only valid on links with a 64 KiB+ MTU, which a gateway port never
	 * is) or garbage; a bare IPv6 header with No Next Header is fine. */
	if (unlikely(plen == 0 && nh != PC_IPV6_NO_NEXT_HEADER))
		return PC_PKT_IPV6_BAD_PAYLOAD_LENGTH;
	uint32_t end = PC_IPV6_HDR_LEN + plen;
	if (unlikely(end > avail))
		return PC_PKT_IPV6_TRUNCATED;
	/* l3_len must fit its 16 bits: only a flat buffer larger than any
	 * Ethernet frame can hold such a datagram. */
	if (unlikely(end > UINT16_MAX))
		return PC_PKT_IPV6_BAD_PAYLOAD_LENGTH;

	m->l3 = PC_L3_IPV6;
	m->l3_len = (uint16_t)end;
	m->ttl = ip[7];
	m->src.family = 6;
	memcpy(m->src.v6, ip + 8, 16);
	m->dst.family = 6;
	memcpy(m->dst.v6, ip + 24, 16);

	/* Extension headers (RFC 8200 section 4): walk the chain to the
	 * upper-layer header, at most PC_PKT_MAX_IPV6_EXT deep, each one
	 * inside Payload Length. Ordering rules (Hop-by-Hop first, each header
	 * once) are left to the receiving host: finding the upper layer only
	 * needs every header to be well-formed and in bounds. */
	uint32_t off = PC_IPV6_HDR_LEN;
	unsigned n_ext = 0;
	for (;;) {
		uint32_t hlen;

		switch (nh) {
		case PC_IPV6_EXT_HOPOPTS:
		case PC_IPV6_EXT_ROUTING:
		case PC_IPV6_EXT_DSTOPTS:
			/* Hdr Ext Len: 8-octet units, not counting the first 8. */
			if (unlikely(end - off < 2))
				return PC_PKT_IPV6_EXT_TRUNCATED;
			hlen = ((uint32_t)ip[off + 1] + 1) * 8;
			break;
		case PC_IPV6_EXT_AH:
			/* RFC 4302 section 2.2: Payload Len is in 4-octet
			 * units, minus 2. */
			if (unlikely(end - off < 2))
				return PC_PKT_IPV6_EXT_TRUNCATED;
			hlen = ((uint32_t)ip[off + 1] + 2) * 4;
			break;
		case PC_IPV6_EXT_FRAGMENT:
			hlen = PC_IPV6_FRAG_HDR_LEN;
			break;
		default:
			goto upper_layer;
		}
		if (unlikely(n_ext == PC_PKT_MAX_IPV6_EXT))
			return PC_PKT_IPV6_TOO_MANY_EXT;
		if (unlikely(hlen > end - off))
			return PC_PKT_IPV6_EXT_TRUNCATED;
		if (nh == PC_IPV6_EXT_FRAGMENT) {
			/* RFC 8200 section 4.5: offset in the top 13 bits, M in
			 * bit 0. An atomic fragment (RFC 6946: offset 0, M 0)
			 * is a whole datagram and is parsed on. */
			if (rd_be16(ip + off + 2) & 0xfff9) {
				m->l4_proto = ip[off];
				m->l4_off = (uint16_t)(m->l3_off + off + hlen);
				m->payload_off = m->l4_off;
				return PC_PKT_IP_FRAGMENT;
			}
		}
		nh = ip[off];
		off += hlen;
		n_ext++;
	}
upper_layer:
	m->l4_proto = nh;
	m->l4_off = (uint16_t)(m->l3_off + off);
	m->payload_off = m->l4_off;
	return parse_l4(ip + off, end - off, m);
}

enum pc_pkt_reason pc_pkt_parse(const uint8_t *frame, uint32_t len, bool verify_ip_csum,
				struct pc_pkt_meta *m)
{
	memset(m, 0, sizeof(*m));
	if (unlikely(len < PC_ETH_HDR_LEN))
		return PC_PKT_ETH_TRUNCATED;

	uint32_t off = PC_ETH_HDR_LEN;
	uint16_t type = rd_be16(frame + 12);
	/* IEEE 802.1Q: a tag is TPID (already read as the type), then TCI,
	 * then the next type. 802.1ad stacks an S-tag in front of a C-tag. */
	while (unlikely(type == PC_ETHERTYPE_VLAN || type == PC_ETHERTYPE_QINQ)) {
		if (unlikely(m->vlan_count == PC_PKT_MAX_VLANS))
			return PC_PKT_VLAN_TOO_MANY_TAGS;
		if (unlikely(len - off < PC_VLAN_HDR_LEN))
			return PC_PKT_VLAN_TRUNCATED;
		m->vlan_tci[m->vlan_count++] = rd_be16(frame + off);
		type = rd_be16(frame + off + 2);
		off += PC_VLAN_HDR_LEN;
	}
	m->ethertype = type;
	m->l3_off = (uint16_t)off;

	if (likely(type == PC_ETHERTYPE_IPV4))
		return parse_ipv4(frame + off, len - off, verify_ip_csum, m);
	if (type == PC_ETHERTYPE_IPV6)
		return parse_ipv6(frame + off, len - off, m);
	/* ARP, LLDP, anything else: the bridge decides, not the decoder. */
	m->l4_off = m->payload_off = (uint16_t)off;
	return PC_PKT_OK;
}

/* Fold a 64-bit accumulator to 32 bits, keeping end-around carries. */
static inline uint32_t csum_fold64(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	return (uint32_t)sum;
}

/* Returns the running sum (not yet folded or complemented) of data added to
 * sum. Sums chain across buffers only at even split points: an odd split
 * would shift every later byte to the other half of its word. */
uint32_t pc_csum_partial(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;
	uint64_t acc = sum;

	/* 2^32 additions of 32-bit words fit in 64 bits: no carry handling
	 * inside the loop, so the compiler can unroll and vectorise it. */
	while (len >= 16) {
		uint32_t w[4];

		memcpy(w, p, sizeof(w));
		acc += (uint64_t)w[0] + w[1] + w[2] + w[3];
		p += 16;
		len -= 16;
	}
	while (len >= 4) {
		uint32_t w;

		memcpy(&w, p, sizeof(w));
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;

		memcpy(&w, p, sizeof(w));
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len) {
		/* RFC 1071: an odd byte is the high-order half of a word
		 * padded with zero, i.e. the first byte in memory. */
		uint8_t last[2] = { p[0], 0 };
		uint16_t w;

		memcpy(&w, last, sizeof(w));
		acc += w;
	}
	return csum_fold64(acc);
}

/* Returns the checksum field value, in network order as stored: write it
 * with a 2-byte memcpy (or into an rte_be16_t) without byte swapping. */
uint16_t pc_csum_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Pseudo headers: RFC 9293 section 3.1 / RFC 768 for IPv4 (source,
 * destination, zero, protocol, TCP/UDP length), RFC 8200 section 8.1 for
 * IPv6 (source, destination, 32-bit length, three zero bytes, next header).
 * Each field is added as it would sit in memory in network order. Returns
 * the field value as pc_csum_fold() does: 0 when l4 already carries a
 * correct checksum. For UDP the caller sends a computed 0 as 0xffff
 * (RFC 768). l4_len is the TCP/UDP length (header and data). */
uint16_t pc_l4_csum(const struct pc_addr *src, const struct pc_addr *dst, uint8_t proto,
		    const void *l4, uint16_t l4_len)
{
	uint64_t acc;

	if (src->family == 4) {
		acc = (uint64_t)htonl(src->v4) + htonl(dst->v4) + htons(proto) + htons(l4_len);
	} else {
		acc = pc_csum_partial(src->v6, 16, 0);
		acc += pc_csum_partial(dst->v6, 16, 0);
		acc += (uint64_t)htonl(l4_len) + htonl(proto);
	}
	return pc_csum_fold(pc_csum_partial(l4, l4_len, csum_fold64(acc)));
}
