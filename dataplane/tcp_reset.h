/* SPDX-License-Identifier: BSD-3-Clause
 *
 * TCP reset segments (RFC 9293 section 3.10.7.1), built from the segment
 * that triggered them. A denied connection gets two: one back to the sender,
 * which its stack accepts because the sequence number is exactly what it has
 * acknowledged, and one on to the receiver, in the sender's name, with the
 * sender's own sequence number, so neither end keeps a half-open connection.
 * The Ethernet header and VLAN tags are copied from the triggering frame
 * (MACs swapped for the reply), so the reset travels the same L2 path.
 *
 * pc_tcp_reset_frame() is plain C over byte buffers (testable without an
 * EAL); pc_tcp_reset_mbuf() wraps it in an mbuf. Any thread; fast path.
 */
#ifndef PC_DP_TCP_RESET_H
#define PC_DP_TCP_RESET_H

#include <stdbool.h>
#include <stdint.h>

#include "pkt/pkt_parse.h"

struct rte_mbuf;
struct rte_mempool;

/* Ethernet, two VLAN tags, IPv6, TCP without options. */
#define PC_TCP_RESET_MAX_FRAME (14 + 4 * PC_PKT_MAX_VLANS + 40 + 20)

/* Write into out (at least PC_TCP_RESET_MAX_FRAME bytes) a RST for the TCP
 * segment frame/m (as decoded by pc_pkt_parse).
 *  reply: to the segment's sender: addresses, ports and MACs swapped,
 *         seq = its ACK number (0 when it carries no ACK), ack = its seq plus
 *         its length (payload, SYN and FIN each count), flags RST|ACK.
 *  !reply: on to the segment's receiver, in the sender's name: seq = its seq,
 *         ack = its ACK number with flags RST|ACK (just RST when it carries
 *         no ACK).
 * IPv4 gets TTL 64, DF and a valid header checksum; IPv6 hop limit 64 and no
 * extension headers. The TCP checksum is valid. Returns the frame length. */
uint16_t pc_tcp_reset_frame(uint8_t *out, const uint8_t *frame, const struct pc_pkt_meta *m,
			    bool reply);

/* The same in a new mbuf from pool, or NULL when the pool is empty. */
struct rte_mbuf *pc_tcp_reset_mbuf(struct rte_mempool *pool, const uint8_t *frame,
				   const struct pc_pkt_meta *m, bool reply);

/* Any segment of the connection frame/m belongs to, with the numbers given:
 * the addressing of pc_tcp_reset_frame() (reply: towards the segment's
 * sender), then seq, ack and flags as given, and payload[0..len). out must
 * have PC_TCP_RESET_MAX_FRAME + len bytes. Used for a reset whose sequence
 * number the flow knows better than the triggering segment (what the server
 * has really been sent), and for the 403 answer of --deny-response 403.
 * Returns the frame length. */
uint16_t pc_tcp_segment_frame(uint8_t *out, const uint8_t *frame, const struct pc_pkt_meta *m,
			      bool reply, uint32_t seq, uint32_t ack, uint8_t flags,
			      const void *payload, uint16_t len);

/* The same in a new mbuf from pool (len must fit its data room), or NULL. */
struct rte_mbuf *pc_tcp_segment_mbuf(struct rte_mempool *pool, const uint8_t *frame,
				     const struct pc_pkt_meta *m, bool reply, uint32_t seq,
				     uint32_t ack, uint8_t flags, const void *payload,
				     uint16_t len);

#endif
