/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Frame decoder: Ethernet, 802.1Q / 802.1ad (QinQ), IPv4 with options, IPv6
 * with extension headers, TCP with options, UDP. It reads a flat byte buffer
 * (the first segment of an mbuf in the dataplane, a pcap record in tests) and
 * fills offsets and the fields the flow table and policy need. Every length
 * is checked before it is used; a failed check returns a named reason that
 * the dataplane counts as a drop.
 *
 * No allocation, no DPDK: callable from any thread, fast path.
 */
#ifndef PC_PKT_PARSE_H
#define PC_PKT_PARSE_H

#include "util/pc_types.h"

/* X(name, "text"): every outcome of pc_pkt_parse(). OK means "parsed as far
 * as this decoder goes", which includes non-IP frames (l3 == PC_L3_NONE). */
#define PC_PKT_REASONS(X)                                           \
	X(OK, "ok")                                                 \
	X(ETH_TRUNCATED, "eth_truncated")                           \
	X(VLAN_TRUNCATED, "vlan_truncated")                         \
	X(VLAN_TOO_MANY_TAGS, "vlan_too_many_tags")                 \
	X(IPV4_TRUNCATED, "ipv4_truncated")                         \
	X(IPV4_BAD_VERSION, "ipv4_bad_version")                     \
	X(IPV4_BAD_IHL, "ipv4_bad_ihl")                             \
	X(IPV4_BAD_TOTAL_LENGTH, "ipv4_bad_total_length")           \
	X(IPV4_BAD_OPTIONS, "ipv4_bad_options")                     \
	X(IPV4_BAD_CHECKSUM, "ipv4_bad_checksum")                   \
	X(IPV6_TRUNCATED, "ipv6_truncated")                         \
	X(IPV6_BAD_VERSION, "ipv6_bad_version")                     \
	X(IPV6_BAD_PAYLOAD_LENGTH, "ipv6_bad_payload_length")       \
	X(IPV6_EXT_TRUNCATED, "ipv6_ext_truncated")                 \
	X(IPV6_TOO_MANY_EXT, "ipv6_too_many_ext_headers")           \
	X(IP_FRAGMENT, "ip_fragment")                               \
	X(TCP_TRUNCATED, "tcp_truncated")                           \
	X(TCP_BAD_DATA_OFFSET, "tcp_bad_data_offset")               \
	X(TCP_BAD_OPTIONS, "tcp_bad_options")                       \
	X(TCP_BAD_FLAGS, "tcp_bad_flags")                           \
	X(UDP_TRUNCATED, "udp_truncated")                           \
	X(UDP_BAD_LENGTH, "udp_bad_length")                         \
	X(ICMP_TRUNCATED, "icmp_truncated")

enum pc_pkt_reason {
#define PC_X(name, text) PC_PKT_##name,
	PC_PKT_REASONS(PC_X)
#undef PC_X
	PC_PKT_REASON_COUNT
};

enum pc_l3 { PC_L3_NONE = 0, PC_L3_IPV4 = 4, PC_L3_IPV6 = 6 };

/* IP protocol numbers we act on (others are carried as l4_proto only). */
enum { PC_PROTO_ICMP = 1, PC_PROTO_TCP = 6, PC_PROTO_UDP = 17, PC_PROTO_ICMPV6 = 58 };

/* TCP flag bits as on the wire. */
enum {
	PC_TCP_FIN = 0x01, PC_TCP_SYN = 0x02, PC_TCP_RST = 0x04,
	PC_TCP_PSH = 0x08, PC_TCP_ACK = 0x10, PC_TCP_URG = 0x20,
};

#define PC_PKT_MAX_VLANS 2
#define PC_PKT_MAX_IPV6_EXT 8

/* What the decoder learned. Offsets are from the start of the frame. */
struct pc_pkt_meta {
	uint16_t ethertype;      /* innermost, host order */
	uint8_t vlan_count;      /* 0..2 */
	uint8_t l3;              /* enum pc_l3 */
	uint16_t vlan_tci[PC_PKT_MAX_VLANS]; /* host order, outer first */
	uint16_t l3_off;
	uint16_t l4_off;
	uint16_t payload_off;    /* first byte after the L4 header */
	uint16_t payload_len;    /* bytes of L4 payload, by the IP length fields */
	uint16_t l3_len;         /* IPv4 total length / IPv6 40 + payload length */
	uint8_t l4_proto;        /* IP protocol of the L4 header (after ext headers) */
	uint8_t ttl;             /* IPv4 TTL / IPv6 hop limit */
	struct pc_addr src, dst;
	uint16_t sport, dport;   /* host order; 0 for non TCP/UDP */
	uint8_t tcp_flags;
	uint8_t tcp_hdr_len;
	uint32_t tcp_seq, tcp_ack; /* host order */
	uint16_t tcp_window;     /* host order, unscaled */
	uint8_t icmp_type, icmp_code;
};

/* Decode frame[0..len). Returns PC_PKT_OK and fills *m, or the first failed
 * check. IPv4 header checksums are verified (a NIC that validated them already
 * can skip this by passing verify_ip_csum = false). Non-IP frames return OK
 * with m->l3 == PC_L3_NONE. IP fragments return PC_PKT_IP_FRAGMENT after
 * filling the L3 fields (the gateway does not reassemble fragments).
 * Trailing bytes beyond the IP length (Ethernet padding) are ignored.
 * Any thread, fast path, no allocation. */
enum pc_pkt_reason pc_pkt_parse(const uint8_t *frame, uint32_t len, bool verify_ip_csum,
				struct pc_pkt_meta *m);

/* "ipv4_truncated", ... for logs and counters. */
const char *pc_pkt_reason_name(enum pc_pkt_reason r);

/* RFC 1071 one's-complement sum helpers, used by the decoder and by the
 * dataplane when it builds RST segments and responses. The folded result is
 * already in network byte order as it sits in memory: store it with a 2-byte
 * memcpy, no htons. A header that carries a correct checksum sums to 0.
 * Fast path. */
uint32_t pc_csum_partial(const void *data, size_t len, uint32_t sum);
uint16_t pc_csum_fold(uint32_t sum);
/* TCP/UDP checksum over the pseudo header of m's addresses and l4 bytes. */
uint16_t pc_l4_csum(const struct pc_addr *src, const struct pc_addr *dst, uint8_t proto,
		    const void *l4, uint16_t l4_len);

#endif
