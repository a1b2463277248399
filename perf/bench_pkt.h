/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Frames for the benchmark: a template per kind of segment (client SYN, the
 * server's SYN-ACK, a request head for each identity, an established data
 * segment), built once with every checksum right for a placeholder client,
 * then stamped with a flow's client address and port (and, for the data
 * segment, its sequence number) by patching a few bytes and two checksums.
 *
 * Stamping is what lets a handful of recycled mbufs carry packets of half a
 * million flows: the generator rewrites each mbuf the worker has just
 * transmitted into the next segment of another flow and sends it round
 * again, so the traffic is uniformly spread over every flow without a
 * precomputed packet per flow (a list of 512k frames would not fit in any
 * cache, unlike a NIC's receive buffers, and would bill the worker for cold
 * packet memory it never sees in production). The checksums are updated
 * from partial sums taken with the stamped fields zeroed (RFC 1071 sums are
 * associative), so a stamp is a few additions, not a pass over the frame.
 *
 * Flow i is client 198.19.0.1 + (i >> 14), port 1024 + (i & 0x3fff), talking
 * to the service at PC_BENCH_SERVER_ADDR:PC_BENCH_SERVER_PORT: inside the
 * 198.18.0.0/15 the identities of perf/gen_policy.py are bound to, and
 * distinct for up to 2^26 flows. No DPDK here; any thread.
 */
#ifndef PC_BENCH_PKT_H
#define PC_BENCH_PKT_H

#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>

#include "util/pc_types.h"

#define PC_BENCH_FRAME_MAX 1024
#define PC_BENCH_MAX_FLOWS (1u << 26)
#define PC_BENCH_SERVER_ADDR 0xc6120002u /* 198.18.0.2 */
#define PC_BENCH_SERVER_PORT 80
#define PC_BENCH_CLIENT_BASE 0xc6130001u /* 198.19.0.1 */
#define PC_BENCH_BODY_LEN 1000000000ull  /* bytes: no run sends that much on one flow */

/* Where the fields sit in an untagged Ethernet + IPv4 (no options) + TCP
 * frame. */
#define PC_BENCH_OFF_IP 14
#define PC_BENCH_OFF_IP_CSUM (PC_BENCH_OFF_IP + 10)
#define PC_BENCH_OFF_IP_SRC (PC_BENCH_OFF_IP + 12)
#define PC_BENCH_OFF_IP_DST (PC_BENCH_OFF_IP + 16)
#define PC_BENCH_OFF_TCP (PC_BENCH_OFF_IP + 20)
#define PC_BENCH_OFF_TCP_SPORT PC_BENCH_OFF_TCP
#define PC_BENCH_OFF_TCP_DPORT (PC_BENCH_OFF_TCP + 2)
#define PC_BENCH_OFF_TCP_SEQ (PC_BENCH_OFF_TCP + 4)
#define PC_BENCH_OFF_TCP_CSUM (PC_BENCH_OFF_TCP + 16)

/* Which way a segment goes: the client endpoint is its source or its
 * destination. */
enum pc_bench_dir { PC_BENCH_TO_SERVER = 0, PC_BENCH_TO_CLIENT = 1 };

struct pc_bench_tmpl {
	uint8_t frame[PC_BENCH_FRAME_MAX];
	uint16_t len;
	uint16_t addr_off;  /* the client address in the frame */
	uint16_t port_off;  /* the client port in the frame */
	/* RFC 1071 running sums (pc_csum_partial) of the IPv4 header and of
	 * the TCP pseudo header + segment, taken with the client address,
	 * the client port and both checksum fields zero. */
	uint32_t ip_sum;
	uint32_t tcp_sum;
};

/* Build t: a TCP segment going dir with flags (PC_TCP_*), sequence number
 * seq, acknowledgment number ack (sent only with PC_TCP_ACK) and
 * payload[0..payload_len). A SYN carries an MSS option, as every real one
 * does. Returns 0, or -EINVAL when the frame would not fit in
 * PC_BENCH_FRAME_MAX. Any thread. */
int pc_bench_tmpl_init(struct pc_bench_tmpl *t, enum pc_bench_dir dir, uint8_t flags,
		       uint32_t seq, uint32_t ack, const void *payload, uint16_t payload_len);

/* The client endpoint of flow i (host order). */
static inline void pc_bench_flow_client(uint32_t flow, uint32_t *addr, uint16_t *port)
{
	*addr = PC_BENCH_CLIENT_BASE + (flow >> 14);
	*port = (uint16_t)(1024 + (flow & 0x3fff));
}

static inline uint16_t pc_bench_csum_finish(uint64_t sum)
{
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffffffffu) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Shared by the two stamps below: extra is the running sum of any other
 * field the caller has already stamped (0 for none). */
static inline void pc_bench__stamp(uint8_t *frame, const struct pc_bench_tmpl *t, uint32_t flow,
				   uint32_t extra)
{
	uint32_t addr;
	uint16_t port;
	pc_bench_flow_client(flow, &addr, &port);
	/* Sums are of 16-bit words as they sit in memory, so the new fields
	 * are added in network order, as stored. */
	uint32_t addr_be = htonl(addr);
	uint16_t port_be = htons(port);
	uint64_t a = (addr_be & 0xffff) + (addr_be >> 16);
	uint16_t ip_csum = pc_bench_csum_finish(t->ip_sum + a);
	uint16_t tcp_csum = pc_bench_csum_finish((uint64_t)t->tcp_sum + a + port_be + extra);
	memcpy(frame + t->addr_off, &addr_be, 4);
	memcpy(frame + PC_BENCH_OFF_IP_CSUM, &ip_csum, 2);
	memcpy(frame + t->port_off, &port_be, 2);
	memcpy(frame + PC_BENCH_OFF_TCP_CSUM, &tcp_csum, 2);
}

/* Write flow's client endpoint into frame (a copy of t's frame, at least
 * the headers) and fix both checksums. Fast path: a few loads and stores. */
static inline void pc_bench_stamp(uint8_t *frame, const struct pc_bench_tmpl *t, uint32_t flow)
{
	pc_bench__stamp(frame, t, flow, 0);
}

/* The same, and the sequence number: t must have been built with seq 0. */
static inline void pc_bench_stamp_seq(uint8_t *frame, const struct pc_bench_tmpl *t,
				      uint32_t flow, uint32_t seq)
{
	uint32_t seq_be = htonl(seq);
	memcpy(frame + PC_BENCH_OFF_TCP_SEQ, &seq_be, 4);
	pc_bench__stamp(frame, t, flow, (seq_be & 0xffff) + (seq_be >> 16));
}

/* The request head an agent of identity k sends to its last rule: POST
 * /api/v1/res<rule>/<n> with Host svc.bench, the API key "bench-key-<k>"
 * in X-Api-Key, the headers a typical HTTP client adds, and a body of
 * PC_BENCH_BODY_LEN bytes to come, so the client's later data on the
 * connection is body, not another request head. Writes at most cap bytes to
 * buf; returns the length, or -ENOSPC. Any thread. */
int pc_bench_request(char *buf, size_t cap, uint32_t identity, uint32_t rule);

/* The same head announcing a body of body_len bytes instead: with 0, the
 * request ends with its head, and the client's next bytes on a keep-alive
 * connection are the next request's head. Returns the length, or -ENOSPC.
 * Any thread. */
int pc_bench_request_body(char *buf, size_t cap, uint32_t identity, uint32_t rule,
			  uint64_t body_len);

#endif
