/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Frame templates for the benchmark (design in bench_pkt.h).
 */
#include <errno.h>
#include <stdio.h>

#include "bench_pkt.h"
#include "pkt/pkt_parse.h"

static const uint8_t client_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t server_mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x02 };

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

int pc_bench_tmpl_init(struct pc_bench_tmpl *t, enum pc_bench_dir dir, uint8_t flags,
		       uint32_t seq, uint32_t ack, const void *payload, uint16_t payload_len)
{
	const bool syn = flags & PC_TCP_SYN;
	const bool to_server = dir == PC_BENCH_TO_SERVER;
	const uint16_t tcp_hdr = syn ? 24 : 20; /* a SYN carries MSS */
	const uint32_t len = PC_BENCH_OFF_TCP + tcp_hdr + (uint32_t)payload_len;
	if (len > PC_BENCH_FRAME_MAX)
		return -EINVAL;

	memset(t, 0, sizeof(*t));
	t->addr_off = to_server ? PC_BENCH_OFF_IP_SRC : PC_BENCH_OFF_IP_DST;
	t->port_off = to_server ? PC_BENCH_OFF_TCP_SPORT : PC_BENCH_OFF_TCP_DPORT;
	uint8_t *f = t->frame;
	memcpy(f, to_server ? server_mac : client_mac, 6);
	memcpy(f + 6, to_server ? client_mac : server_mac, 6);
	put16(f + 12, 0x0800);

	/* The client's address and port, and both checksums, stay zero:
	 * they are stamped per flow. */
	uint8_t *ip = f + PC_BENCH_OFF_IP;
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + tcp_hdr + payload_len));
	put16(ip + 4, 1);      /* identification */
	put16(ip + 6, 0x4000); /* DF, not a fragment */
	ip[8] = 64;
	ip[9] = PC_PROTO_TCP;
	put32(ip + (to_server ? 16 : 12), PC_BENCH_SERVER_ADDR);

	uint8_t *tcp = f + PC_BENCH_OFF_TCP;
	put16(tcp + (to_server ? 2 : 0), PC_BENCH_SERVER_PORT);
	put32(tcp + 4, seq);
	put32(tcp + 8, (flags & PC_TCP_ACK) ? ack : 0);
	tcp[12] = (uint8_t)((tcp_hdr / 4) << 4);
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	if (syn) {
		tcp[20] = 2; /* MSS, RFC 9293 section 3.2 */
		tcp[21] = 4;
		put16(tcp + 22, 1460);
	}
	if (payload_len > 0)
		memcpy(tcp + tcp_hdr, payload, payload_len);
	t->len = (uint16_t)len;

	t->ip_sum = pc_csum_partial(ip, 20, 0);
	/* Pseudo header (RFC 9293 section 3.1): source, destination (the
	 * client's is zero here), zero, protocol, TCP length, as stored. */
	uint8_t pseudo[12] = { 0 };
	put32(pseudo + (to_server ? 4 : 0), PC_BENCH_SERVER_ADDR);
	pseudo[9] = PC_PROTO_TCP;
	put16(pseudo + 10, (uint16_t)(tcp_hdr + payload_len));
	t->tcp_sum = pc_csum_partial(tcp, tcp_hdr + payload_len, pc_csum_partial(pseudo, 12, 0));
	return 0;
}

int pc_bench_request(char *buf, size_t cap, uint32_t identity, uint32_t rule)
{
	return pc_bench_request_body(buf, cap, identity, rule, PC_BENCH_BODY_LEN);
}

int pc_bench_request_body(char *buf, size_t cap, uint32_t identity, uint32_t rule,
			  uint64_t body_len)
{
	int n = snprintf(buf, cap,
			 "POST /api/v1/res%u/%u HTTP/1.1\r\n"
			 "Host: svc.bench\r\n"
			 "User-Agent: portcullis-bench-agent/1.0 (python-httpx/0.27)\r\n"
			 "Accept: application/json\r\n"
			 "Accept-Encoding: gzip, deflate\r\n"
			 "Connection: keep-alive\r\n"
			 "Content-Type: application/octet-stream\r\n"
			 "Content-Length: %llu\r\n"
			 "X-Request-Id: 6f1c2a9e-4b7d-4e0a-9c53-%012u\r\n"
			 "X-Api-Key: bench-key-%u\r\n"
			 "\r\n",
			 rule, 1000 + identity, (unsigned long long)body_len, identity, identity);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}
