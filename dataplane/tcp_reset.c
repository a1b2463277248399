/* SPDX-License-Identifier: BSD-3-Clause
 *
 * TCP reset builder; see tcp_reset.h for what the two resets carry and why.
 */
#include <string.h>

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "tcp_reset.h"

#define PC_RST_TTL 64
#define PC_IPV4_DF 0x4000
#define PC_TCP_HDR_LEN 20

static inline void wr_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wr_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void write_addr(uint8_t *p, const struct pc_addr *a)
{
	if (a->family == 4)
		wr_be32(p, a->v4);
	else
		memcpy(p, a->v6, 16);
}

uint16_t pc_tcp_reset_frame(uint8_t *out, const uint8_t *frame, const struct pc_pkt_meta *m,
			    bool reply)
{
	uint32_t seq, ack;
	uint8_t flags = PC_TCP_RST | PC_TCP_ACK;

	if (reply) {
		/* RFC 9293 3.10.7.1: without an ACK in the segment, the reset
		 * has seq 0; either way it acknowledges all of the segment. */
		uint32_t seg_len = m->payload_len + !!(m->tcp_flags & PC_TCP_SYN) +
				   !!(m->tcp_flags & PC_TCP_FIN);
		seq = (m->tcp_flags & PC_TCP_ACK) ? m->tcp_ack : 0;
		ack = m->tcp_seq + seg_len;
	} else {
		seq = m->tcp_seq;
		ack = m->tcp_ack;
		if (!(m->tcp_flags & PC_TCP_ACK)) {
			flags = PC_TCP_RST;
			ack = 0;
		}
	}
	return pc_tcp_segment_frame(out, frame, m, reply, seq, ack, flags, NULL, 0);
}

uint16_t pc_tcp_segment_frame(uint8_t *out, const uint8_t *frame, const struct pc_pkt_meta *m,
			      bool reply, uint32_t seq, uint32_t ack, uint8_t flags,
			      const void *payload, uint16_t len)
{
	const struct pc_addr *src = reply ? &m->dst : &m->src;
	const struct pc_addr *dst = reply ? &m->src : &m->dst;
	uint16_t sport = reply ? m->dport : m->sport;
	uint16_t dport = reply ? m->sport : m->dport;

	/* L2: the triggering frame's header with its VLAN tags verbatim;
	 * the innermost ethertype already names the IP version. */
	uint16_t l2 = m->l3_off;
	memcpy(out, frame, l2);
	if (reply) {
		memcpy(out, frame + 6, 6);
		memcpy(out + 6, frame, 6);
	}

	uint8_t *ip = out + l2;
	uint16_t ip_hdr;
	if (m->l3 == PC_L3_IPV4) {
		ip_hdr = 20;
		memset(ip, 0, ip_hdr);
		ip[0] = 0x45;
		wr_be16(ip + 2, (uint16_t)(ip_hdr + PC_TCP_HDR_LEN + len));
		wr_be16(ip + 6, PC_IPV4_DF);
		ip[8] = PC_RST_TTL;
		ip[9] = PC_PROTO_TCP;
		write_addr(ip + 12, src);
		write_addr(ip + 16, dst);
		uint16_t csum = pc_csum_fold(pc_csum_partial(ip, ip_hdr, 0));
		memcpy(ip + 10, &csum, 2); /* already in memory order */
	} else {
		ip_hdr = 40;
		memset(ip, 0, ip_hdr);
		ip[0] = 0x60;
		wr_be16(ip + 4, (uint16_t)(PC_TCP_HDR_LEN + len));
		ip[6] = PC_PROTO_TCP;
		ip[7] = PC_RST_TTL;
		write_addr(ip + 8, src);
		write_addr(ip + 24, dst);
	}

	uint8_t *tcp = ip + ip_hdr;
	memset(tcp, 0, PC_TCP_HDR_LEN);
	wr_be16(tcp, sport);
	wr_be16(tcp + 2, dport);
	wr_be32(tcp + 4, seq);
	wr_be32(tcp + 8, ack);
	tcp[12] = (PC_TCP_HDR_LEN / 4) << 4;
	tcp[13] = flags;
	/* A window the receiver can live with until the reset that follows. */
	if (!(flags & PC_TCP_RST))
		wr_be16(tcp + 14, 0xffff);
	if (len > 0)
		memcpy(tcp + PC_TCP_HDR_LEN, payload, len);
	uint16_t csum = pc_l4_csum(src, dst, PC_PROTO_TCP, tcp, (uint16_t)(PC_TCP_HDR_LEN + len));
	memcpy(tcp + 16, &csum, 2);

	return (uint16_t)(l2 + ip_hdr + PC_TCP_HDR_LEN + len);
}

struct rte_mbuf *pc_tcp_reset_mbuf(struct rte_mempool *pool, const uint8_t *frame,
				   const struct pc_pkt_meta *m, bool reply)
{
	struct rte_mbuf *mb = rte_pktmbuf_alloc(pool);
	if (unlikely(mb == NULL))
		return NULL;
	uint8_t *out = rte_pktmbuf_mtod(mb, uint8_t *);
	uint16_t len = pc_tcp_reset_frame(out, frame, m, reply);
	mb->data_len = len;
	mb->pkt_len = len;
	return mb;
}

struct rte_mbuf *pc_tcp_segment_mbuf(struct rte_mempool *pool, const uint8_t *frame,
				     const struct pc_pkt_meta *m, bool reply, uint32_t seq,
				     uint32_t ack, uint8_t flags, const void *payload,
				     uint16_t len)
{
	struct rte_mbuf *mb = rte_pktmbuf_alloc(pool);
	if (unlikely(mb == NULL))
		return NULL;
	if (unlikely((uint32_t)PC_TCP_RESET_MAX_FRAME + len > rte_pktmbuf_tailroom(mb))) {
		rte_pktmbuf_free(mb);
		return NULL;
	}
	uint8_t *out = rte_pktmbuf_mtod(mb, uint8_t *);
	uint16_t n = pc_tcp_segment_frame(out, frame, m, reply, seq, ack, flags, payload, len);
	mb->data_len = n;
	mb->pkt_len = n;
	return mb;
}
