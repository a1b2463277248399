/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Unit suite for the dataplane's building blocks that can run without ports:
 * TCP reset frames and segments with payload (parsed back with the real
 * decoder), canonical flow keys, the flow table (capacity, bulk lookup,
 * aging, slot reuse, no eviction when full), the hand-off owner function,
 * decision-record formatting and escaping, the counter list, and the segment
 * holds (in order, out of order, duplicates, conflicting overlaps, bounds,
 * giving way to the gap). The flow table needs rte_hash memory, so main() starts a minimal EAL
 * (no hugepages, no PCI, nothing shared on disk) before the tests.
 * Whole-dataplane behaviour is covered by the pcap suite (tests/pcap); the
 * TLS branch of the worker is driven here through pc_worker_process() on a
 * dataplane with no ports (what it would send is read from its burst arrays,
 * never flushed), which is why the EAL gets a second lcore: pc_dp_create()
 * wants one worker lcore.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_hash.h>
#include <rte_mbuf.h>
#include <rte_ring_elem.h>
#include <sys/mman.h>

#include "../tests/unit/pc_test.h"
#include "control_push.h"
#include "counters.h"
#include "decision_log.h"
#include "flow_table.h"
#include "handoff.h"
#include "policy_swap.h"
#include "reasm.h"
#include "tcp_reset.h"
#include "util/addr.h"
#include "worker.h"

/* ---- frames ---- */

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

static const uint8_t mac_client[6] = { 2, 0, 0, 0, 1, 10 };
static const uint8_t mac_server[6] = { 2, 0, 0, 0, 0, 2 };

/* Ethernet [VLAN] IPv4 TCP segment client 198.18.1.10:sport -> 198.18.0.2:80
 * with payload. Returns the frame length. */
static uint16_t make_tcp4(uint8_t *f, uint16_t vlan, uint16_t sport, uint32_t seq, uint32_t ack,
			  uint8_t flags, const char *payload)
{
	uint16_t plen = (uint16_t)strlen(payload);
	uint16_t off = 12;
	memcpy(f, mac_server, 6);
	memcpy(f + 6, mac_client, 6);
	if (vlan) {
		put16(f + off, 0x8100);
		put16(f + off + 2, vlan);
		off += 4;
	}
	put16(f + off, 0x0800);
	off += 2;
	uint8_t *ip = f + off, *tcp = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + plen));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, 0xc612010a);
	put32(ip + 16, 0xc6120002);
	uint16_t c = pc_csum_fold(pc_csum_partial(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
	put16(tcp, sport);
	put16(tcp + 2, 80);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 1000);
	memcpy(tcp + 20, payload, plen);
	struct pc_addr s = { .family = 4, .v4 = 0xc612010a }, d = { .family = 4, .v4 = 0xc6120002 };
	c = pc_l4_csum(&s, &d, 6, tcp, (uint16_t)(20 + plen));
	memcpy(tcp + 16, &c, 2);
	return (uint16_t)(off + 40 + plen);
}

/* Parse a reset back and check what every reset must be. */
static void parse_rst(const uint8_t *f, uint16_t len, struct pc_pkt_meta *m)
{
	CU_ASSERT_EQUAL_FATAL(pc_pkt_parse(f, len, true, m), PC_PKT_OK);
	CU_ASSERT_EQUAL(m->l4_proto, PC_PROTO_TCP);
	CU_ASSERT_EQUAL(m->payload_len, 0);
	CU_ASSERT_EQUAL(m->ttl, 64);
	/* A valid checksum sums, with itself, to all ones. */
	CU_ASSERT_EQUAL(pc_l4_csum(&m->src, &m->dst, PC_PROTO_TCP, f + m->l4_off, 20), 0);
}

static void test_reset_reply_and_onward(void)
{
	uint8_t in[256], out[PC_TCP_RESET_MAX_FRAME];
	struct pc_pkt_meta m, r;
	const char *req = "GET /admin HTTP/1.1\r\nHost: x\r\n\r\n";
	uint16_t len = make_tcp4(in, 100, 40002, 5000, 9000, PC_TCP_ACK | PC_TCP_PSH, req);
	CU_ASSERT_EQUAL_FATAL(pc_pkt_parse(in, len, true, &m), PC_PKT_OK);

	/* To the client: swapped, seq = its ACK, ack = its seq + payload. */
	uint16_t n = pc_tcp_reset_frame(out, in, &m, true);
	CU_ASSERT_EQUAL(n, 14 + 4 + 20 + 20);
	parse_rst(out, n, &r);
	CU_ASSERT_EQUAL(memcmp(out, mac_client, 6), 0);
	CU_ASSERT_EQUAL(memcmp(out + 6, mac_server, 6), 0);
	CU_ASSERT_EQUAL(r.vlan_count, 1);
	CU_ASSERT_EQUAL(r.vlan_tci[0], 100);
	CU_ASSERT_TRUE(pc_addr_eq(&r.src, &m.dst) && pc_addr_eq(&r.dst, &m.src));
	CU_ASSERT_EQUAL(r.sport, 80);
	CU_ASSERT_EQUAL(r.dport, 40002);
	CU_ASSERT_EQUAL(r.tcp_seq, 9000);
	CU_ASSERT_EQUAL(r.tcp_ack, 5000 + strlen(req));
	CU_ASSERT_EQUAL(r.tcp_flags, PC_TCP_RST | PC_TCP_ACK);

	/* To the server, in the client's name: its own seq and ack. */
	n = pc_tcp_reset_frame(out, in, &m, false);
	parse_rst(out, n, &r);
	CU_ASSERT_EQUAL(memcmp(out, mac_server, 6), 0);
	CU_ASSERT_EQUAL(memcmp(out + 6, mac_client, 6), 0);
	CU_ASSERT_TRUE(pc_addr_eq(&r.src, &m.src) && pc_addr_eq(&r.dst, &m.dst));
	CU_ASSERT_EQUAL(r.sport, 40002);
	CU_ASSERT_EQUAL(r.dport, 80);
	CU_ASSERT_EQUAL(r.tcp_seq, 5000);
	CU_ASSERT_EQUAL(r.tcp_ack, 9000);
	CU_ASSERT_EQUAL(r.tcp_flags, PC_TCP_RST | PC_TCP_ACK);
}

static void test_reset_answers_syn(void)
{
	uint8_t in[128], out[PC_TCP_RESET_MAX_FRAME];
	struct pc_pkt_meta m, r;
	uint16_t len = make_tcp4(in, 0, 40006, 0xfffffffe, 0, PC_TCP_SYN, "");
	CU_ASSERT_EQUAL_FATAL(pc_pkt_parse(in, len, true, &m), PC_PKT_OK);
	uint16_t n = pc_tcp_reset_frame(out, in, &m, true);
	CU_ASSERT_EQUAL(n, 54);
	parse_rst(out, n, &r);
	/* RFC 9293 3.10.7.1: no ACK in the segment, so seq 0; the SYN counts
	 * one, and the sequence space wraps. */
	CU_ASSERT_EQUAL(r.tcp_seq, 0);
	CU_ASSERT_EQUAL(r.tcp_ack, 0xffffffff);
	CU_ASSERT_EQUAL(r.vlan_count, 0);
	/* Onward without an ACK to echo: a bare RST. */
	n = pc_tcp_reset_frame(out, in, &m, false);
	parse_rst(out, n, &r);
	CU_ASSERT_EQUAL(r.tcp_flags, PC_TCP_RST);
	CU_ASSERT_EQUAL(r.tcp_ack, 0);
}

static void test_reset_ipv6(void)
{
	uint8_t f[128], out[PC_TCP_RESET_MAX_FRAME];
	memset(f, 0, sizeof(f));
	memcpy(f, mac_server, 6);
	memcpy(f + 6, mac_client, 6);
	put16(f + 12, 0x86dd);
	uint8_t *ip = f + 14, *tcp = ip + 40;
	ip[0] = 0x60;
	put16(ip + 4, 20);
	ip[6] = 6;
	ip[7] = 64;
	struct pc_addr s, d;
	CU_ASSERT_EQUAL_FATAL(pc_addr_parse("2001:db8::10", &s), 0);
	CU_ASSERT_EQUAL_FATAL(pc_addr_parse("2001:db8::2", &d), 0);
	memcpy(ip + 8, s.v6, 16);
	memcpy(ip + 24, d.v6, 16);
	put16(tcp, 50000);
	put16(tcp + 2, 80);
	put32(tcp + 4, 77);
	tcp[12] = 5 << 4;
	tcp[13] = PC_TCP_SYN;
	uint16_t c = pc_l4_csum(&s, &d, 6, tcp, 20);
	memcpy(tcp + 16, &c, 2);
	struct pc_pkt_meta m, r;
	CU_ASSERT_EQUAL_FATAL(pc_pkt_parse(f, 74, true, &m), PC_PKT_OK);
	uint16_t n = pc_tcp_reset_frame(out, f, &m, true);
	CU_ASSERT_EQUAL(n, 74);
	parse_rst(out, n, &r);
	CU_ASSERT_EQUAL(r.l3, PC_L3_IPV6);
	CU_ASSERT_TRUE(pc_addr_eq(&r.src, &d) && pc_addr_eq(&r.dst, &s));
	CU_ASSERT_EQUAL(r.tcp_ack, 78);
}

/* ---- flow keys and table ---- */

static struct pc_pkt_meta meta4(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport)
{
	struct pc_pkt_meta m;
	memset(&m, 0, sizeof(m));
	m.l3 = PC_L3_IPV4;
	m.l4_proto = PC_PROTO_TCP;
	m.src.family = m.dst.family = 4;
	m.src.v4 = src;
	m.dst.v4 = dst;
	m.sport = sport;
	m.dport = dport;
	return m;
}

static void test_flow_key_symmetric(void)
{
	union pc_flow_key a, b, c;
	uint8_t da, db, dc;
	struct pc_pkt_meta fwd = meta4(0xc612010a, 40000, 0xc6120002, 80);
	struct pc_pkt_meta rev = meta4(0xc6120002, 80, 0xc612010a, 40000);
	memset(&a, 0xaa, sizeof(a));
	memset(&b, 0x55, sizeof(b));
	CU_ASSERT_EQUAL(pc_flow_key_make(&fwd, 7, &a, &da), PC_FLOW_V4);
	CU_ASSERT_EQUAL(pc_flow_key_make(&rev, 7, &b, &db), PC_FLOW_V4);
	CU_ASSERT_EQUAL(memcmp(&a.v4, &b.v4, sizeof(a.v4)), 0);
	CU_ASSERT_NOT_EQUAL(da, db);
	/* Another VLAN is another flow. */
	pc_flow_key_make(&fwd, 8, &c, &dc);
	CU_ASSERT_NOT_EQUAL(memcmp(&a.v4, &c.v4, sizeof(a.v4)), 0);
	/* Same address both ends: the ports decide the order. */
	struct pc_pkt_meta self1 = meta4(1, 5, 1, 9), self2 = meta4(1, 9, 1, 5);
	pc_flow_key_make(&self1, 0, &a, &da);
	pc_flow_key_make(&self2, 0, &b, &db);
	CU_ASSERT_EQUAL(memcmp(&a.v4, &b.v4, sizeof(a.v4)), 0);
	CU_ASSERT_NOT_EQUAL(da, db);

	struct pc_pkt_meta v6a, v6b;
	memset(&v6a, 0, sizeof(v6a));
	v6a.l3 = PC_L3_IPV6;
	v6a.l4_proto = PC_PROTO_UDP;
	pc_addr_parse("2001:db8::10", &v6a.src);
	pc_addr_parse("2001:db8::2", &v6a.dst);
	v6a.sport = 5353;
	v6a.dport = 53;
	v6b = v6a;
	v6b.src = v6a.dst;
	v6b.dst = v6a.src;
	v6b.sport = 53;
	v6b.dport = 5353;
	memset(&a, 0xaa, sizeof(a));
	memset(&b, 0x55, sizeof(b));
	CU_ASSERT_EQUAL(pc_flow_key_make(&v6a, 0, &a, &da), PC_FLOW_V6);
	CU_ASSERT_EQUAL(pc_flow_key_make(&v6b, 0, &b, &db), PC_FLOW_V6);
	CU_ASSERT_EQUAL(memcmp(&a.v6, &b.v6, sizeof(a.v6)), 0);
	CU_ASSERT_NOT_EQUAL(da, db);
}

static int32_t add4(struct pc_flow_table *t, uint32_t src, uint16_t sport, union pc_flow_key *k)
{
	struct pc_pkt_meta m = meta4(src, sport, 0xc6120002, 80);
	uint8_t dir;
	pc_flow_key_make(&m, 0, k, &dir);
	return pc_flow_table_add(t, PC_FLOW_V4, k, pc_flow_table_hash(t, PC_FLOW_V4, k));
}

static void test_flow_table_capacity_and_lookup(void)
{
	struct pc_flow_table *t = pc_flow_table_create("ut_cap", 4, SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	union pc_flow_key k[6];
	int32_t pos[6];
	for (int i = 0; i < 4; i++) {
		pos[i] = add4(t, 0xc612010a, (uint16_t)(1000 + i), &k[i]);
		CU_ASSERT_TRUE(pos[i] >= 0);
	}
	CU_ASSERT_EQUAL(pc_flow_table_count(t), 4);
	/* Full at exactly the capacity, although rte_hash has room for 8. */
	CU_ASSERT_EQUAL(add4(t, 0xc612010a, 2000, &k[4]), -ENOSPC);
	/* The IPv6 family has its own capacity. */
	CU_ASSERT_EQUAL(t->fam[PC_FLOW_V6].count, 0);

	const void *keys[5];
	hash_sig_t sigs[5];
	int32_t got[5];
	for (int i = 0; i < 5; i++) {
		keys[i] = &k[i];
		sigs[i] = pc_flow_table_hash(t, PC_FLOW_V4, &k[i]);
	}
	pc_flow_table_lookup_bulk(t, PC_FLOW_V4, keys, sigs, 5, got);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(got[i], pos[i]);
	CU_ASSERT_TRUE(got[4] < 0);
	CU_ASSERT_EQUAL(pc_flow_table_lookup(t, PC_FLOW_V4, &k[2], sigs[2]), pos[2]);
	pc_flow_table_free(t);
}

static void test_flow_table_aging(void)
{
	struct pc_flow_table *t = pc_flow_table_create("ut_age", 16, SOCKET_ID_ANY);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	union pc_flow_key k[3];
	const uint64_t est = 300, other = 30;
	for (int i = 0; i < 3; i++) {
		int32_t p = add4(t, 0x0a000001, (uint16_t)(100 + i), &k[i]);
		CU_ASSERT_TRUE_FATAL(p >= 0);
		struct pc_flow *f = pc_flow_table_entry(t, PC_FLOW_V4, p);
		f->state = PC_FLOW_FORWARD;
		f->proto = PC_PROTO_TCP;
		f->last_seen_tsc = 1000;
		/* 0: established; 1: established but closing; 2: half open */
		if (i < 2)
			f->tcp = PC_FLOW_TCP_ACK_CLIENT | PC_FLOW_TCP_ACK_SERVER;
		if (i == 1)
			f->tcp |= PC_FLOW_TCP_FIN;
	}
	/* Not idle long enough for anyone. */
	CU_ASSERT_EQUAL(pc_flow_table_age(t, 1000 + other, est, other, 1000, NULL, NULL), 0);
	/* Past the short timeout: the closing and the half-open flow go. */
	CU_ASSERT_EQUAL(pc_flow_table_age(t, 1000 + other + 1, est, other, 1000, NULL, NULL), 2);
	CU_ASSERT_EQUAL(pc_flow_table_count(t), 1);
	hash_sig_t s0 = pc_flow_table_hash(t, PC_FLOW_V4, &k[0]);
	hash_sig_t s1 = pc_flow_table_hash(t, PC_FLOW_V4, &k[1]);
	CU_ASSERT_TRUE(pc_flow_table_lookup(t, PC_FLOW_V4, &k[0], s0) >= 0);
	CU_ASSERT_TRUE(pc_flow_table_lookup(t, PC_FLOW_V4, &k[1], s1) < 0);
	/* The sweep is bounded: one slot per call finds the last flow only
	 * after walking the slots before it, never more than asked. */
	unsigned aged = 0, calls = 0;
	while (aged == 0 && calls < 1000) {
		aged += pc_flow_table_age(t, 1000 + est + 1, est, other, 1, NULL, NULL);
		calls++;
	}
	CU_ASSERT_EQUAL(aged, 1);
	CU_ASSERT_TRUE(calls > 1);
	CU_ASSERT_EQUAL(pc_flow_table_count(t), 0);
	/* Freed slots are reusable, and a new entry starts zeroed. */
	int32_t p = add4(t, 0x0a000001, 100, &k[0]);
	CU_ASSERT_TRUE_FATAL(p >= 0);
	CU_ASSERT_EQUAL(pc_flow_table_entry(t, PC_FLOW_V4, p)->state, PC_FLOW_FREE);
	CU_ASSERT_EQUAL(pc_flow_table_entry(t, PC_FLOW_V4, p)->tcp, 0);
	pc_flow_table_free(t);
}

/* A flood of new keys against a full table: every insert is refused, and
 * every flow that was there is still found (nothing is evicted). */
static void test_flow_table_full_never_evicts(void)
{
	struct pc_flow_table *t = pc_flow_table_create("ut_flood", 8, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t);
	union pc_flow_key k[8], x;
	for (int i = 0; i < 8; i++)
		CU_ASSERT_TRUE(add4(t, 0xc6120100u + (uint32_t)i, 1000, &k[i]) >= 0);
	for (int i = 0; i < 1000; i++)
		CU_ASSERT_EQUAL(add4(t, 0xc6130000u + (uint32_t)i, 2000, &x), -ENOSPC);
	for (int i = 0; i < 8; i++)
		CU_ASSERT_TRUE(pc_flow_table_lookup(t, PC_FLOW_V4, &k[i],
						    pc_flow_table_hash(t, PC_FLOW_V4, &k[i])) >= 0);
	CU_ASSERT_EQUAL(pc_flow_table_count(t), 8);
	pc_flow_table_free(t);
}

static void test_handoff_owner(void)
{
	unsigned hits[3] = { 0, 0, 0 };
	uint32_t x = 12345;
	for (unsigned i = 0; i < 30000; i++) {
		x = x * 1103515245u + 12345u;
		uint16_t o = pc_handoff_owner(x, 3);
		CU_ASSERT_FATAL(o < 3);
		hits[o]++;
	}
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_TRUE(hits[i] > 9000 && hits[i] < 11000);
	/* Hashes that differ only in high bits (same rte_hash bucket) must
	 * still spread over workers. */
	unsigned w1 = 0;
	for (uint32_t hi = 0; hi < 1024; hi++)
		w1 += pc_handoff_owner((hi << 20) | 0x5, 2);
	CU_ASSERT_TRUE(w1 > 400 && w1 < 624);
	CU_ASSERT_EQUAL(pc_handoff_owner(0xdeadbeef, 1), 0);
}

/* ---- decision records ---- */

static struct pc_dlog_rec sample_rec(void)
{
	struct pc_dlog_rec r;
	memset(&r, 0, sizeof(r));
	r.time_ns = 1795629845123456789ull; /* 2026-11-25T18:04:05.123456Z */
	r.generation = 3;
	r.worker = 1;
	r.l4_proto = PC_PROTO_TCP;
	pc_addr_parse("198.18.1.10", &r.src);
	pc_addr_parse("198.18.0.2", &r.dst);
	r.sport = 40312;
	r.dport = 80;
	r.verdict.action = PC_ACTION_DENY;
	r.verdict.reason = PC_REASON_UNKNOWN_CALLER;
	r.verdict.rule = -1;
	r.verdict.identity = -1;
	return r;
}

static void test_dlog_l4_record(void)
{
	struct pc_dlog_rec r = sample_rec();
	char buf[PC_DLOG_LINE_MAX];
	int n = pc_dlog_format(&r, NULL, buf, sizeof(buf));
	CU_ASSERT_TRUE_FATAL(n > 0);
	CU_ASSERT_EQUAL((size_t)n, strlen(buf));
	CU_ASSERT_STRING_EQUAL(buf,
		"{\"time\":\"2026-11-25T18:04:05.123456Z\",\"worker\":1,\"src\":\"198.18.1.10\","
		"\"sport\":40312,\"dst\":\"198.18.0.2\",\"dport\":80,\"proto\":\"tcp\","
		"\"identity\":null,\"credential\":null,\"rule\":null,\"action\":\"deny\","
		"\"reason\":\"unknown_caller\",\"generation\":3}\n");
	/* Too small a buffer is an error, not a cut line. */
	CU_ASSERT_EQUAL(pc_dlog_format(&r, NULL, buf, 40), -ENOSPC);
}

static void test_dlog_escapes_and_truncation(void)
{
	struct pc_dlog_rec r = sample_rec();
	struct pc_pkt_meta m = meta4(0xc612010a, 40312, 0xc6120002, 80);
	struct pc_http_req http;
	char path[600];
	memset(&http, 0, sizeof(http));
	memset(path, 'a', sizeof(path));
	memcpy(path, "/q\"\\\x01\xc3\xa9", 7);
	http.method_str = (struct pc_str){ "GET", 3 };
	http.host = (struct pc_str){ "tickets.internal", 16 };
	http.path = (struct pc_str){ path, sizeof(path) };
	pc_dlog_rec_fill(&r, 0, 1, &m, &r.verdict, &http, (struct pc_str){ 0 });
	CU_ASSERT_EQUAL(r.path_len, PC_DLOG_PATH_MAX);
	CU_ASSERT_TRUE(r.flags & PC_DLOG_F_PATH_TRUNC);
	CU_ASSERT_FALSE(r.flags & PC_DLOG_F_HOST_TRUNC);
	r.verdict.cred_kind = PC_CRED_API_KEY;
	memcpy(r.verdict.cred_fp, "\xce\x6e\x71\x85\x98\x9b\x4c\x41", 8);

	char buf[PC_DLOG_LINE_MAX];
	int n = pc_dlog_format(&r, NULL, buf, sizeof(buf));
	CU_ASSERT_TRUE_FATAL(n > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"method\":\"GET\",\"host\":\"tickets.internal\","));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"path\":\"/q\\\"\\\\\\u0001\\u00c3\\u00a9aaa"));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "aaa\",\"path_truncated\":true,\"rule\":null"));
	CU_ASSERT_PTR_NOT_NULL(
		strstr(buf, "\"credential\":{\"kind\":\"api_key\",\"fingerprint\":\"ce6e7185989b4c41\"}"));
	/* Plain ASCII out whatever came in, and one line. */
	for (int i = 0; i < n - 1; i++)
		CU_ASSERT_FATAL(buf[i] >= 0x20 && buf[i] < 0x7f);
	CU_ASSERT_EQUAL(buf[n - 1], '\n');
}

static void test_dlog_names_from_policy(void)
{
	char err[512];
	struct pc_policy *p = pc_policy_build_file("config/policy.sample.json", err, sizeof(err));
	if (p == NULL)
		p = pc_policy_build_file("../config/policy.sample.json", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct pc_dlog_rec r = sample_rec();
	r.verdict.action = PC_ACTION_ALLOW;
	r.verdict.reason = PC_REASON_RULE;
	r.verdict.identity = 0;
	r.verdict.rule = 1;
	char buf[PC_DLOG_LINE_MAX];
	CU_ASSERT_TRUE_FATAL(pc_dlog_format(&r, p, buf, sizeof(buf)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"identity\":\"ticket-agent\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"rule\":\"tickets-read\",\"action\":\"allow\","
					   "\"reason\":\"rule_match\""));
	/* An index the policy does not have prints null, never garbage. */
	r.verdict.rule = 9999;
	CU_ASSERT_TRUE_FATAL(pc_dlog_format(&r, p, buf, sizeof(buf)) > 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "\"rule\":null"));
	pc_policy_free(p);
}

/* ---- segment holds ---- */

/* Packets are plain tags here: the hold only passes them back. */
static int tags_out[64], n_tags_out;

static void collect(void *arg, void *pkt)
{
	(void)arg;
	tags_out[n_tags_out++] = (int)(intptr_t)pkt;
}

static struct pc_reasm_seg seg(uint32_t seq, const char *bytes, int tag)
{
	struct pc_reasm_seg g = { .seq = seq, .len = (uint32_t)strlen(bytes),
				  .data = (const uint8_t *)bytes, .pkt = (void *)(intptr_t)tag };
	return g;
}

static void test_reasm_in_order_and_view(void)
{
	struct pc_reasm r;
	CU_ASSERT_EQUAL_FATAL(pc_reasm_init(&r, 4, 8, 64, 0), 0);
	uint32_t id = pc_reasm_get(&r);
	CU_ASSERT_NOT_EQUAL_FATAL(id, 0);
	struct pc_reasm_hold *h = pc_reasm_hold(&r, id);
	/* Near the wrap of the sequence space, on purpose. */
	uint32_t base = 0xfffffff0u;
	struct pc_reasm_seg a = seg(base, "GET / HTTP/1.1\r\n", 1);
	struct pc_reasm_seg b = seg(base + 16, "Host: x\r\n\r\n", 2);
	uint32_t len, total;
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &a, base), PC_REASM_HELD);
	/* One segment: read in place, not copied. */
	const uint8_t *v = pc_reasm_view(&r, h, base, &len, &total);
	CU_ASSERT_PTR_EQUAL(v, a.data);
	CU_ASSERT_EQUAL(len, 16);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &b, base), PC_REASM_HELD);
	v = pc_reasm_view(&r, h, base, &len, &total);
	CU_ASSERT_PTR_EQUAL(v, r.buf);
	CU_ASSERT_EQUAL(len, 27);
	CU_ASSERT_EQUAL(total, 27);
	CU_ASSERT_EQUAL(memcmp(v, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27), 0);
	CU_ASSERT_EQUAL(r.held, 2);
	/* Only segments whose every byte is decided leave, in order. */
	n_tags_out = 0;
	CU_ASSERT_EQUAL(pc_reasm_release(&r, h, base + 20, collect, NULL), 1);
	CU_ASSERT_EQUAL(tags_out[0], 1);
	CU_ASSERT_EQUAL(pc_reasm_release(&r, h, base + 27, collect, NULL), 1);
	CU_ASSERT_EQUAL(tags_out[1], 2);
	CU_ASSERT_EQUAL(h->n, 0);
	CU_ASSERT_EQUAL(r.held, 0);
	pc_reasm_put(&r, id);
	pc_reasm_fini(&r);
}

static void drop_tag(void *arg, void *pkt)
{
	(void)arg;
	(void)pkt;
}

/* Every cut of text into three segments (see below). */
static void head_may_end_cuts(const char *text, uint32_t head_off, unsigned *asked,
			      unsigned *right, unsigned *ended)
{
	const uint32_t n = (uint32_t)strlen(text), head_len = n - head_off;
	const uint32_t base = 0xffffffe0u, head = base + head_off;
	struct pc_reasm r;
	CU_ASSERT_EQUAL_FATAL(pc_reasm_init(&r, 4, 8, 64, 0), 0);
	for (uint32_t i = 1; i < n; i++) {
		for (uint32_t j = i + 1; j < n; j++) {
			uint32_t id = pc_reasm_get(&r);
			CU_ASSERT_NOT_EQUAL_FATAL(id, 0);
			struct pc_reasm_hold *h = pc_reasm_hold(&r, id);
			const uint32_t cut[4] = { 0, i, j, n };
			for (unsigned k = 0; k < 3; k++) {
				struct pc_reasm_seg g = { .seq = base + cut[k],
							  .len = cut[k + 1] - cut[k],
							  .data = (const uint8_t *)text + cut[k] };
				CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &g, base), PC_REASM_HELD);
				uint32_t contig = pc_reasm_contig(h, head);
				if (contig == 0)
					continue; /* the head has not started yet */
				bool want = contig >= head_len;
				bool got = pc_reasm_head_may_end(h, head, contig);
				(*asked)++;
				*right += got == want;
				*ended += got;
			}
			pc_reasm_clear(&r, h, drop_tag, NULL);
			pc_reasm_put(&r, id);
		}
	}
	pc_reasm_fini(&r);
}

/* The end-of-head look-out against the plain answer: a head (after the end
 * of the one before it, whose empty line must not count) cut into three
 * segments at every pair of points, held in order near the sequence wrap:
 * after each segment it says "may have ended" exactly when the whole head
 * is held, however its empty line falls across the cuts; the same for
 * heads that end lines with bare LFs (which the parser must see at once to
 * refuse them). */
static void test_reasm_head_may_end(void)
{
	static const char *const texts[] = {
		"XX\r\n\r\n" "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"XX\r\n\r\n" "GET / HTTP/1.1\nHost: x\r\n\n",
		"XX\r\n\r\n" "GET / HTTP/1.1\r\nHost: x\n\r\n",
		"XX\r\n\r\n" "GET / HTTP/1.1\r\r\nHost: x\r\n\n",
	};
	unsigned asked = 0, right = 0, ended = 0;
	for (unsigned t = 0; t < PC_ARRAY_SIZE(texts); t++)
		head_may_end_cuts(texts[t], 6, &asked, &right, &ended);
	CU_ASSERT_EQUAL(right, asked);
	CU_ASSERT(asked > 4000 && ended > 1200);
}


/* The plain answer: whether b[0..n) has an LF after an LF or after LF CR. */
static bool empty_line_plain(const uint8_t *b, uint32_t n)
{
	for (uint32_t i = 1; i < n; i++)
		if (b[i] == '\n' && (b[i - 1] == '\n' || (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n')))
			return true;
	return false;
}

/* The look-out against the plain answer on 20,000 random byte strings of
 * CR, LF and letters, up to 160 bytes (so the 16-byte steps, their edges and
 * the carried tail are all crossed), cut into three segments held in a
 * random order: after each segment, for the bytes held contiguously. */
static void test_reasm_head_may_end_random(void)
{
	struct pc_reasm r;
	CU_ASSERT_EQUAL_FATAL(pc_reasm_init(&r, 4, 8, 256, 0), 0);
	uint32_t rnd = 12345;
	unsigned asked = 0, right = 0, ended = 0;
	for (unsigned t = 0; t < 20000; t++) {
		uint8_t b[160];
		rnd = rnd * 1103515245u + 12345u;
		uint32_t n = 3 + (rnd >> 8) % 158;
		for (uint32_t i = 0; i < n; i++) {
			rnd = rnd * 1103515245u + 12345u;
			uint32_t x = (rnd >> 16) % 16;
			b[i] = x < 2 ? '\n' : x < 4 ? '\r' : (uint8_t)('a' + x);
		}
		rnd = rnd * 1103515245u + 12345u;
		uint32_t i = 1 + (rnd >> 8) % (n - 2);
		uint32_t j = i + 1 + (rnd >> 20) % (n - i - 1);
		const uint32_t cut[4] = { 0, i, j, n };
		const uint32_t base = 0xffffff80u;
		unsigned order = (rnd >> 4) % 3; /* 0: in order; 1: 2nd last; 2: 3rd first */
		static const unsigned orders[3][3] = { { 0, 1, 2 }, { 0, 2, 1 }, { 2, 0, 1 } };
		uint32_t id = pc_reasm_get(&r);
		struct pc_reasm_hold *h = pc_reasm_hold(&r, id);
		for (unsigned k = 0; k < 3; k++) {
			unsigned c = orders[order][k];
			struct pc_reasm_seg g = { .seq = base + cut[c], .len = cut[c + 1] - cut[c],
						  .data = b + cut[c] };
			CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &g, base), PC_REASM_HELD);
			uint32_t contig = pc_reasm_contig(h, base);
			if (contig == 0)
				continue;
			bool got = pc_reasm_head_may_end(h, base, contig);
			asked++;
			right += got == empty_line_plain(b, contig);
			ended += got;
		}
		pc_reasm_clear(&r, h, drop_tag, NULL);
		pc_reasm_put(&r, id);
	}
	pc_reasm_fini(&r);
	CU_ASSERT_EQUAL(right, asked);
	CU_ASSERT(asked > 40000 && ended > 10000 && ended < asked - 10000);
}


static void test_reasm_out_of_order(void)
{
	struct pc_reasm r;
	CU_ASSERT_EQUAL_FATAL(pc_reasm_init(&r, 4, 8, 64, 0), 0);
	uint32_t id = pc_reasm_get(&r);
	struct pc_reasm_hold *h = pc_reasm_hold(&r, id);
	struct pc_reasm_seg c = seg(120, "CCCC", 3), a = seg(100, "AAAAAAAAAA", 1),
			    b = seg(110, "BBBBBBBBBB", 2);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &c, 100), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_contig(h, 100), 0);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &a, 100), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_contig(h, 100), 10); /* a gap at 110 */
	uint32_t n;
	CU_ASSERT_PTR_NULL(pc_reasm_span(h, 110, &n));
	CU_ASSERT_EQUAL(n, 0);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &b, 100), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_contig(h, 100), 24);
	uint32_t len, total;
	const uint8_t *v = pc_reasm_view(&r, h, 100, &len, &total);
	CU_ASSERT_EQUAL(len, 24);
	CU_ASSERT_EQUAL(memcmp(v, "AAAAAAAAAABBBBBBBBBBCCCC", 24), 0);
	/* Released in sequence order, not arrival order. */
	n_tags_out = 0;
	CU_ASSERT_EQUAL(pc_reasm_release(&r, h, 124, collect, NULL), 3);
	CU_ASSERT_EQUAL(tags_out[0], 1);
	CU_ASSERT_EQUAL(tags_out[1], 2);
	CU_ASSERT_EQUAL(tags_out[2], 3);
	pc_reasm_put(&r, id);
	pc_reasm_fini(&r);
}

static void test_reasm_duplicates_and_overlaps(void)
{
	struct pc_reasm r;
	CU_ASSERT_EQUAL_FATAL(pc_reasm_init(&r, 8, 8, 64, 0), 0);
	uint32_t id = pc_reasm_get(&r);
	struct pc_reasm_hold *h = pc_reasm_hold(&r, id);
	struct pc_reasm_seg a = seg(100, "GET /api/v2/tickets", 1);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &a, 100), PC_REASM_HELD);
	/* An exact retransmission, and a sub-range of it. */
	struct pc_reasm_seg dup = seg(100, "GET /api/v2/tickets", 9);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &dup, 100), PC_REASM_DUPLICATE);
	struct pc_reasm_seg sub = seg(104, "/api", 9);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &sub, 100), PC_REASM_DUPLICATE);
	/* Same bytes again plus new ones: held (the new bytes count). */
	struct pc_reasm_seg more = seg(113, "ickets/42", 2);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &more, 100), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_contig(h, 100), 22);
	/* Different bytes where bytes are held: the evasion. */
	struct pc_reasm_seg evil = seg(104, "/adm", 9);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &evil, 100), PC_REASM_CONFLICT);
	struct pc_reasm_seg evil2 = seg(118, "s/43xx", 9); /* overlaps the tail only */
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &evil2, 100), PC_REASM_CONFLICT);
	CU_ASSERT_EQUAL(h->n, 2);
	/* Bytes before the floor (already decided) are not compared. */
	struct pc_reasm_seg old = seg(96, "XXXXGET ", 9);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &old, 100), PC_REASM_DUPLICATE);
	struct pc_reasm_seg gone = seg(90, "0123456789", 9);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h, &gone, 100), PC_REASM_DUPLICATE);
	n_tags_out = 0;
	CU_ASSERT_EQUAL(pc_reasm_clear(&r, h, collect, NULL), 2);
	CU_ASSERT_EQUAL(r.held, 0);
	pc_reasm_put(&r, id);
	pc_reasm_fini(&r);
}

static void test_reasm_bounds(void)
{
	struct pc_reasm r;
	CU_ASSERT_EQUAL(pc_reasm_init(&r, 0, 8, 64, 0), -EINVAL);
	CU_ASSERT_EQUAL(pc_reasm_init(&r, PC_REASM_MAX_FLOW_PKTS + 1, 8, 64, 0), -EINVAL);
	/* 2 per flow, 3 per worker, heads of 8 bytes. */
	CU_ASSERT_EQUAL_FATAL(pc_reasm_init(&r, 2, 3, 8, 0), 0);
	uint32_t id1 = pc_reasm_get(&r), id2 = pc_reasm_get(&r), id3 = pc_reasm_get(&r);
	CU_ASSERT_TRUE(id1 && id2 && id3 && id1 != id2 && id2 != id3);
	CU_ASSERT_EQUAL(pc_reasm_get(&r), 0); /* one hold per packet the worker may hold */
	struct pc_reasm_hold *h1 = pc_reasm_hold(&r, id1), *h2 = pc_reasm_hold(&r, id2);
	struct pc_reasm_seg s1 = seg(0, "abcd", 1), s2 = seg(10, "efgh", 2), s3 = seg(20, "ijkl", 3);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h1, &s1, 0), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h1, &s2, 0), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h1, &s3, 0), PC_REASM_FULL); /* per flow */
	CU_ASSERT_EQUAL(h1->n, 2);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h2, &s1, 0), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h2, &s2, 0), PC_REASM_FULL); /* per worker */
	CU_ASSERT_EQUAL(r.held, 3);
	/* A head longer than the buffer: the view stops at max_head, the
	 * total says how much there is. */
	struct pc_reasm_seg t1 = seg(4, "efghij", 4);
	n_tags_out = 0;
	pc_reasm_clear(&r, h1, collect, NULL);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h1, &s1, 0), PC_REASM_HELD);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h1, &t1, 0), PC_REASM_HELD);
	uint32_t len, total;
	const uint8_t *v = pc_reasm_view(&r, h1, 0, &len, &total);
	CU_ASSERT_EQUAL(len, 8);
	CU_ASSERT_EQUAL(total, 10);
	CU_ASSERT_EQUAL(memcmp(v, "abcdefgh", 8), 0);
	/* A full hold gives way to a segment nearer the gap, never to one
	 * further on. */
	struct pc_reasm_seg near = seg(2, "cdef", 6), far = seg(30, "zz", 7);
	n_tags_out = 0;
	CU_ASSERT_FALSE(pc_reasm_yield_last(&r, h1, &far, collect, NULL));
	CU_ASSERT_EQUAL(n_tags_out, 0);
	CU_ASSERT_TRUE(pc_reasm_yield_last(&r, h1, &near, collect, NULL));
	CU_ASSERT_EQUAL(n_tags_out, 1);
	CU_ASSERT_EQUAL(tags_out[0], 4);
	CU_ASSERT_EQUAL(h1->n, 1);
	CU_ASSERT_EQUAL(r.held, 2);
	CU_ASSERT_EQUAL(pc_reasm_insert(&r, h1, &near, 0), PC_REASM_HELD);
	pc_reasm_clear(&r, h1, collect, NULL);
	pc_reasm_clear(&r, h2, collect, NULL);
	CU_ASSERT_EQUAL(n_tags_out, 4); /* the one given up, s1, near, and h2's */
	CU_ASSERT_EQUAL(r.held, 0);
	pc_reasm_put(&r, id1);
	pc_reasm_put(&r, id2);
	pc_reasm_put(&r, id3);
	pc_reasm_fini(&r);
}

static void test_segment_with_payload(void)
{
	uint8_t in[256], out[PC_TCP_RESET_MAX_FRAME + 64];
	struct pc_pkt_meta m, r;
	uint16_t len = make_tcp4(in, 0, 40010, 5000, 9000, PC_TCP_ACK | PC_TCP_PSH, "GET / HTTP/1.1\r\n");
	CU_ASSERT_EQUAL_FATAL(pc_pkt_parse(in, len, true, &m), PC_PKT_OK);
	const char *body = "HTTP/1.1 403 Forbidden\r\n\r\n";
	uint16_t n = pc_tcp_segment_frame(out, in, &m, true, 9000, 5016,
					  PC_TCP_PSH | PC_TCP_ACK | PC_TCP_FIN, body,
					  (uint16_t)strlen(body));
	CU_ASSERT_EQUAL_FATAL(pc_pkt_parse(out, n, true, &r), PC_PKT_OK);
	CU_ASSERT_EQUAL(r.payload_len, strlen(body));
	CU_ASSERT_EQUAL(memcmp(out + r.payload_off, body, strlen(body)), 0);
	CU_ASSERT_EQUAL(r.tcp_seq, 9000);
	CU_ASSERT_EQUAL(r.tcp_ack, 5016);
	CU_ASSERT_EQUAL(r.tcp_flags, PC_TCP_PSH | PC_TCP_ACK | PC_TCP_FIN);
	CU_ASSERT_TRUE(pc_addr_eq(&r.src, &m.dst) && r.dport == 40010);
	CU_ASSERT_EQUAL(pc_l4_csum(&r.src, &r.dst, PC_PROTO_TCP, out + r.l4_off,
				   (uint16_t)(20 + r.payload_len)), 0);
	/* Reset to the server at a sequence number of our choosing. */
	n = pc_tcp_segment_frame(out, in, &m, false, 4000, 9000, PC_TCP_RST | PC_TCP_ACK, NULL, 0);
	parse_rst(out, n, &r);
	CU_ASSERT_EQUAL(r.tcp_seq, 4000);
	CU_ASSERT_EQUAL(r.dport, 80);
}


/* ---- the worker's TLS branch ---- */

/* Ethernet IPv4 TCP 198.18.1.10:sport -> 198.18.0.2:443 with a binary
 * payload. Returns the frame length. */
static uint16_t make_tls4(uint8_t *f, uint16_t sport, uint32_t seq, uint8_t flags,
			  const uint8_t *payload, uint16_t plen)
{
	memcpy(f, mac_server, 6);
	memcpy(f + 6, mac_client, 6);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + plen));
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, 0xc612010a);
	put32(ip + 16, 0xc6120002);
	uint16_t c = pc_csum_fold(pc_csum_partial(ip, 20, 0));
	memcpy(ip + 10, &c, 2);
	put16(tcp, sport);
	put16(tcp + 2, 443);
	put32(tcp + 4, seq);
	put32(tcp + 8, (flags & PC_TCP_ACK) ? 7001 : 0);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 1000);
	if (plen > 0)
		memcpy(tcp + 20, payload, plen);
	struct pc_addr s = { .family = 4, .v4 = 0xc612010a }, d = { .family = 4, .v4 = 0xc6120002 };
	c = pc_l4_csum(&s, &d, 6, tcp, (uint16_t)(20 + plen));
	memcpy(tcp + 16, &c, 2);
	return (uint16_t)(54 + plen);
}

/* A minimal TLS 1.3 ClientHello record for sni: one suite, server_name and
 * supported_versions {version}. Returns its length. */
static uint16_t make_hello(uint8_t *b, const char *sni, uint16_t version)
{
	uint16_t n = (uint16_t)strlen(sni), k = 0;
	uint8_t *rec = b, *hs;
	rec[k++] = 22;
	put16(rec + k, 0x0301);
	k += 4; /* length later */
	hs = rec + k;
	hs[0] = 1;
	k += 4; /* type and length, later */
	put16(b + k, 0x0303);
	k += 2;
	memset(b + k, 0x5a, 32);
	k += 32;
	b[k++] = 0; /* legacy_session_id */
	put16(b + k, 2);
	put16(b + k + 2, 0x1301);
	k += 4;
	b[k++] = 1;
	b[k++] = 0; /* compression: null */
	uint16_t ext_at = k;
	k += 2;
	put16(b + k, 0); /* server_name */
	put16(b + k + 2, (uint16_t)(n + 5));
	put16(b + k + 4, (uint16_t)(n + 3));
	b[k + 6] = 0;
	put16(b + k + 7, n);
	memcpy(b + k + 9, sni, n);
	k += 9 + n;
	put16(b + k, 43); /* supported_versions */
	put16(b + k + 2, 3);
	b[k + 4] = 2;
	put16(b + k + 5, version);
	k += 7;
	put16(b + ext_at, (uint16_t)(k - ext_at - 2));
	uint32_t hl = (uint32_t)(k - 9);
	hs[1] = (uint8_t)(hl >> 16);
	put16(hs + 2, (uint16_t)hl);
	put16(rec + 3, (uint16_t)(k - 5));
	return k;
}

static struct rte_mbuf *frame_mbuf(struct rte_mempool *mp, const uint8_t *f, uint16_t len)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(mp);
	CU_ASSERT_PTR_NOT_NULL_FATAL(m);
	memcpy(rte_pktmbuf_append(m, len), f, len);
	return m;
}

/* Feed one client frame; return what the worker queued for each port (and
 * free it). */
static void feed(struct pc_worker *w, const uint8_t *f, uint16_t len, uint16_t out[2],
		 uint16_t rst[2])
{
	struct rte_mbuf *m = frame_mbuf(w->pool, f, len);
	pc_worker_process(w, &m, 1, 0);
	for (int port = 0; port < 2; port++) {
		out[port] = w->n_tx[port];
		rst[port] = 0;
		for (uint16_t i = 0; i < w->n_tx[port]; i++) {
			struct pc_pkt_meta mt;
			struct rte_mbuf *o = w->tx[port][i];
			if (pc_pkt_parse(rte_pktmbuf_mtod(o, const uint8_t *),
					 rte_pktmbuf_data_len(o), true, &mt) == PC_PKT_OK &&
			    (mt.tcp_flags & PC_TCP_RST))
				rst[port]++;
			rte_pktmbuf_free(o);
		}
		w->n_tx[port] = 0;
	}
}

static bool next_record(struct pc_worker *w, struct pc_dlog_rec *r)
{
	return rte_ring_dequeue_elem(w->dlog, r, sizeof(*r)) == 0;
}

/* A policy from JSON text and a portless dataplane running it. */
static struct pc_dp *dp_with_policy_opts(const char *json, struct pc_policy **pp, bool pickup)
{
	char err[512];
	struct pc_policy *p = pc_policy_build_string(json, strlen(json), "test.json", err,
						     sizeof(err));
	if (p == NULL)
		fprintf(stderr, "policy: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct pc_dp_config cfg = { .flows = 64, .idle_est_s = 300, .idle_other_s = 30,
				    .midstream_pickup = pickup };
	struct pc_dp *dp = pc_dp_create(&cfg, p, err, sizeof(err));
	if (dp == NULL)
		fprintf(stderr, "dataplane: %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(dp);
	*pp = p;
	return dp;
}

static struct pc_dp *dp_with_policy(const char *json, struct pc_policy **pp)
{
	return dp_with_policy_opts(json, pp, false);
}

static void dp_done(struct pc_dp *dp, struct pc_policy *p)
{
	pc_worker_drop_holds(dp->workers[0]);
	pc_dp_flush(dp);
	pc_dp_free(dp);
	pc_policy_free(p);
}

static void test_worker_tls_hello(void)
{
	static const char pol[] =
		"{\"version\":1,\"default_action\":\"deny\","
		"\"identities\":[{\"name\":\"clients\",\"sources\":[\"198.18.1.0/24\"]}],"
		"\"destinations\":[{\"name\":\"t\",\"protocol\":\"tls\","
		"\"addresses\":[\"198.18.0.2/32\"],\"ports\":[443],"
		"\"hosts\":[\"tickets.internal\"]}],"
		"\"rules\":[{\"id\":\"t13\",\"identities\":[\"clients\"],\"destinations\":[\"t\"],"
		"\"tls\":{\"min_version\":\"1.3\"},\"action\":\"allow\"}]}";
	struct pc_policy *p;
	struct pc_dp *dp = dp_with_policy(pol, &p);
	struct pc_worker *w = dp->workers[0];
	uint8_t f[2048], hello[512];
	uint16_t out[2], rst[2], len;
	struct pc_dlog_rec r;

	/* Allowed: the SYN passes, the hello is held while it is incomplete,
	 * then both of its segments go to the server at once. */
	len = make_tls4(f, 40001, 1000, PC_TCP_SYN, NULL, 0);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1);
	uint16_t hl = make_hello(hello, "tickets.internal", 0x0304);
	len = make_tls4(f, 40001, 1001, PC_TCP_ACK | PC_TCP_PSH, hello, 20);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 0);
	CU_ASSERT_FALSE(next_record(w, &r));
	len = make_tls4(f, 40001, 1021, PC_TCP_ACK | PC_TCP_PSH, hello + 20, (uint16_t)(hl - 20));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 2 && rst[1] == 0);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_ALLOW);
	CU_ASSERT_TRUE((r.flags & PC_DLOG_F_HTTP) != 0);
	CU_ASSERT(r.host_len == 16 && memcmp(r.host, "tickets.internal", 16) == 0);
	CU_ASSERT(r.method_len == 0 && r.path_len == 0);
	/* Decided once: what follows is encrypted and passes unread. */
	len = make_tls4(f, 40001, 1001 + hl, PC_TCP_ACK | PC_TCP_PSH,
			(const uint8_t *)"\x17\x03\x03\x00\x01x", 6);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1);
	CU_ASSERT_FALSE(next_record(w, &r));

	/* TLS 1.2 at most: reset at both ends, nothing of it reaches the server. */
	len = make_tls4(f, 40002, 5000, PC_TCP_SYN, NULL, 0);
	feed(w, f, len, out, rst);
	hl = make_hello(hello, "tickets.internal", 0x0303);
	len = make_tls4(f, 40002, 5001, PC_TCP_ACK | PC_TCP_PSH, hello, hl);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_DENY);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&r.verdict), "tls_version_too_low");
	CU_ASSERT(r.host_len == 16 && memcmp(r.host, "tickets.internal", 16) == 0);
	len = make_tls4(f, 40002, 5001 + hl, PC_TCP_ACK, NULL, 0);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 0); /* the flow drops everything now */

	/* Plaintext on the TLS port: refused by the parser at its first byte. */
	len = make_tls4(f, 40003, 9000, PC_TCP_SYN, NULL, 0);
	feed(w, f, len, out, rst);
	len = make_tls4(f, 40003, 9001, PC_TCP_ACK | PC_TCP_PSH,
			(const uint8_t *)"GET / HTTP/1.1\r\n", 16);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&r.verdict), "tls_not_handshake");
	CU_ASSERT_EQUAL(r.host_len, 0);

	CU_ASSERT_EQUAL(w->ctr[PC_CTR_TLS_HELLOS_DECIDED], 3);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_TLS_HELLOS_MALFORMED], 1);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_DECISIONS_ALLOWED], 1);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_DECISIONS_DENIED], 2);
	/* and by reason, each in its own slot */
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_ALLOW_RULE], 1);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_DENY_TLS_VERSION_TOO_LOW], 1);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_DENY_TLS_MALFORMED], 1); /* detail: tls_not_handshake */
	dp_done(dp, p);
}

/* An HTTP and a TLS destination on one address and port: the first client
 * byte picks the parser. */
static void test_worker_http_or_tls(void)
{
	static const char pol[] =
		"{\"version\":1,\"default_action\":\"deny\","
		"\"identities\":[{\"name\":\"clients\",\"sources\":[\"198.18.1.0/24\"]}],"
		"\"destinations\":[{\"name\":\"t\",\"protocol\":\"tls\","
		"\"addresses\":[\"198.18.0.2/32\"],\"ports\":[443],"
		"\"hosts\":[\"tickets.internal\"]},"
		"{\"name\":\"h\",\"protocol\":\"http\",\"addresses\":[\"198.18.0.2/32\"],"
		"\"ports\":[443],\"hosts\":[\"tickets.internal\"]}],"
		"\"rules\":[{\"id\":\"t\",\"identities\":[\"clients\"],\"destinations\":[\"t\"],"
		"\"action\":\"allow\"},{\"id\":\"h\",\"identities\":[\"clients\"],"
		"\"destinations\":[\"h\"],\"action\":\"allow\"}]}";
	struct pc_policy *p;
	struct pc_dp *dp = dp_with_policy(pol, &p);
	struct pc_worker *w = dp->workers[0];
	uint8_t f[2048], hello[512];
	uint16_t out[2], rst[2], len;
	struct pc_dlog_rec r;
	static const char get[] = "GET /x HTTP/1.1\r\nHost: tickets.internal\r\n\r\n";

	len = make_tls4(f, 41001, 100, PC_TCP_SYN, NULL, 0);
	feed(w, f, len, out, rst);
	len = make_tls4(f, 41001, 101, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)get,
			(uint16_t)strlen(get));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_ALLOW);
	CU_ASSERT(r.method_len == 3 && memcmp(r.method, "GET", 3) == 0);

	len = make_tls4(f, 41002, 200, PC_TCP_SYN, NULL, 0);
	feed(w, f, len, out, rst);
	uint16_t hl = make_hello(hello, "tickets.internal", 0x0304);
	len = make_tls4(f, 41002, 201, PC_TCP_ACK | PC_TCP_PSH, hello, hl);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_ALLOW);
	CU_ASSERT(r.method_len == 0 && r.host_len == 16);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_TLS_HELLOS_DECIDED], 1);
	dp_done(dp, p);
}

/* A connection first seen without its SYN: dropped by default; with
 * --tcp-midstream pickup, inspected from the client segment that brought it
 * (a request there is decided, the middle of a body is denied), and a bare
 * ACK starts the flow for the next segment's request. */
static void test_worker_midstream_pickup(void)
{
	static const char pol[] =
		"{\"version\":1,\"default_action\":\"deny\","
		"\"identities\":[{\"name\":\"clients\",\"sources\":[\"198.18.1.0/24\"]}],"
		"\"destinations\":[{\"name\":\"h\",\"protocol\":\"http\","
		"\"addresses\":[\"198.18.0.2/32\"],\"ports\":[443],"
		"\"hosts\":[\"tickets.internal\"]}],"
		"\"rules\":[{\"id\":\"h\",\"identities\":[\"clients\"],\"destinations\":[\"h\"],"
		"\"methods\":[\"GET\"],\"action\":\"allow\"}]}";
	static const char get[] = "GET /x HTTP/1.1\r\nHost: tickets.internal\r\n\r\n";
	static const char body[] = "lo\":\"the middle of a JSON body\"}";
	uint8_t f[2048];
	uint16_t out[2], rst[2], len;
	struct pc_dlog_rec r;
	struct pc_policy *p;

	/* The default: dropped and counted, nothing recorded. */
	struct pc_dp *dp = dp_with_policy(pol, &p);
	struct pc_worker *w = dp->workers[0];
	len = make_tls4(f, 42001, 5000, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)get,
			(uint16_t)strlen(get));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 0);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_TCP_MIDSTREAM], 1);
	CU_ASSERT_FALSE(next_record(w, &r));
	dp_done(dp, p);

	dp = dp_with_policy_opts(pol, &p, true);
	w = dp->workers[0];
	/* A request at the segment's first byte: decided, allowed, sent on. */
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1 && rst[1] == 0);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_ALLOW);
	CU_ASSERT(r.method_len == 3 && memcmp(r.method, "GET", 3) == 0);

	/* The middle of a body: not a request head, denied, reset both ways. */
	len = make_tls4(f, 42002, 9000, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)body,
			(uint16_t)strlen(body));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_DENY);
	CU_ASSERT_EQUAL(r.verdict.reason, PC_REASON_HTTP_MALFORMED);

	/* A bare ACK starts the flow; the next segment's request is decided. */
	len = make_tls4(f, 42003, 7000, PC_TCP_ACK, NULL, 0);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1 && rst[1] == 0);
	CU_ASSERT_FALSE(next_record(w, &r));
	len = make_tls4(f, 42003, 7000, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)get,
			(uint16_t)strlen(get));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_ALLOW);

	/* A FIN or a RST never starts a flow. */
	len = make_tls4(f, 42004, 100, PC_TCP_ACK | PC_TCP_FIN, NULL, 0);
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 0);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_TCP_MIDSTREAM_PICKED_UP], 3);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_TCP_MIDSTREAM], 1);
	dp_done(dp, p);

	/* A TLS connection picked up past its ClientHello: its next record
	 * (application data) is nothing to decide on, so it is reset. */
	static const char tls_pol[] =
		"{\"version\":1,\"default_action\":\"deny\","
		"\"identities\":[{\"name\":\"clients\",\"sources\":[\"198.18.1.0/24\"]}],"
		"\"destinations\":[{\"name\":\"t\",\"protocol\":\"tls\","
		"\"addresses\":[\"198.18.0.2/32\"],\"ports\":[443],"
		"\"hosts\":[\"tickets.internal\"]}],"
		"\"rules\":[{\"id\":\"t\",\"identities\":[\"clients\"],\"destinations\":[\"t\"],"
		"\"action\":\"allow\"}]}";
	static const uint8_t app_data[] = { 0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5 };
	dp = dp_with_policy_opts(tls_pol, &p, true);
	w = dp->workers[0];
	len = make_tls4(f, 42005, 3000, PC_TCP_ACK | PC_TCP_PSH, app_data, sizeof(app_data));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_DENY);
	CU_ASSERT_EQUAL(r.verdict.reason, PC_REASON_TLS_MALFORMED);
	dp_done(dp, p);
}

/* Compile JSON policy text and publish it through the segment; then let
 * the swap handle it. Returns the acknowledged result (0: applied). */
static int push_text(struct pc_shm_map *m, struct pc_swap *swap, const char *json)
{
	char err[512];
	void *img = NULL;
	size_t len = 0;
	uint32_t gen = 0;
	struct pc_policy_src *src = pc_policy_load_string(json, strlen(json), "test", err,
							   sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(src);
	CU_ASSERT_EQUAL_FATAL(pc_policy_compile(src, &img, &len, err, sizeof(err)), 0);
	pc_policy_src_free(src);
	CU_ASSERT_EQUAL_FATAL(pc_cp_publish(m, img, len, &gen, 1000, err, sizeof(err)), 0);
	free(img);
	CU_ASSERT_EQUAL(pc_swap_poll(swap), 1);
	CU_ASSERT_EQUAL(__atomic_load_n(&m->ctl->ack.acked_generation, __ATOMIC_ACQUIRE), gen);
	return m->ctl->ack.result;
}

/* Open a connection from client port sport (make_tls4's addresses) and
 * send first, its first client bytes, in one segment: whether they went
 * on to the server, with no reset either way. */
static bool open_with(struct pc_worker *w, uint16_t sport, const char *first)
{
	uint8_t f[2048];
	uint16_t out[2], rst[2];
	uint16_t len = make_tls4(f, sport, 100, PC_TCP_SYN, NULL, 0);
	feed(w, f, len, out, rst);
	len = make_tls4(f, sport, 101, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)first,
			(uint16_t)strlen(first));
	feed(w, f, len, out, rst);
	return out[1] == 1 && rst[0] == 0 && rst[1] == 0;
}

/* DLP across pushes, through the real segment and swap, mid-upload. A push
 * that keeps the DLP keeps the streams (a secret after it is still found);
 * one that changes the patterns scans new bodies with the new set while the
 * bodies under way finish with the set they started with; a body from two
 * changes back fails closed (dlp_unavailable: its set is gone). */
static void test_worker_dlp_across_swaps(void)
{
#define DLP_POLICY(extra_rule, dlp)                                                        \
	"{\"version\":1,\"default_action\":\"deny\","                                      \
	"\"identities\":[{\"name\":\"clients\",\"sources\":[\"198.18.1.0/24\"]}],"          \
	"\"destinations\":[{\"name\":\"llm\",\"protocol\":\"http\",\"external\":true,"       \
	"\"addresses\":[\"198.18.0.2/32\"],\"ports\":[443],\"hosts\":[\"llm.example\"]}],"    \
	"\"rules\":[{\"id\":\"up\",\"identities\":[\"clients\"],\"destinations\":[\"llm\"],"    \
	"\"methods\":[\"POST\"],\"action\":\"allow\"}" extra_rule "],\"dlp\":" dlp "}"
	static const char a[] = DLP_POLICY("", "{\"action\":\"deny\"}");
	static const char a2[] = DLP_POLICY(",{\"id\":\"get\",\"identities\":[\"clients\"],"
					    "\"destinations\":[\"llm\"],\"methods\":[\"GET\"],"
					    "\"action\":\"allow\"}",
					    "{\"action\":\"deny\"}");
	static const char b[] = DLP_POLICY("", "{\"action\":\"deny\",\"patterns\":[{\"name\":"
					       "\"acme-token\",\"regex\":\"acme_[a-z0-9]{32}\"}]}");
	static const char c[] = DLP_POLICY("", "{\"action\":\"deny\",\"patterns\":[{\"name\":"
					       "\"zeta-token\",\"regex\":\"zeta_[a-z0-9]{32}\"}]}");
#undef DLP_POLICY
	static const char head[] = "POST /v1/files HTTP/1.1\r\nHost: llm.example\r\n"
				   "Content-Length: 200\r\n\r\n{\"text\":\"clean so far";
	static const char secret[] = " aws_access_key_id = AKIAIOSFODNN7EXAMPLE ";
	static const char acme[] = " acme_0123456789abcdef0123456789abcdef ";
	static const char clean[] = " nothing to see here at all ";
	char inst[64], name[PC_SHM_NAME_MAX], err[256];
	uint8_t f[2048];
	uint16_t out[2], rst[2], len;
	struct pc_dlog_rec r;
	struct pc_shm_map m;
	bool created;
	struct pc_policy *p;

	snprintf(inst, sizeof(inst), "pcut-swap-%d", (int)getpid());
	CU_ASSERT_EQUAL_FATAL(pc_shm_create(inst, 1u << 20, &m, &created, err, sizeof(err)), 0);
	struct pc_dp *dp = dp_with_policy(a, &p);
	struct pc_worker *w = dp->workers[0];
	struct pc_swap *swap = pc_swap_create(dp, inst, p);
	CU_ASSERT_PTR_NOT_NULL_FATAL(swap);
	pc_swap_poll(swap); /* attach */

	/* Three uploads under way, each head allowed with its first body bytes. */
	for (uint16_t port = 43001; port <= 43003; port++)
		CU_ASSERT(open_with(w, port, head));
	uint32_t seq2 = 101 + (uint32_t)strlen(head);
	const uint32_t seq3 = seq2;

	/* The same DLP, another rule: the first upload's stream goes on. */
	CU_ASSERT_EQUAL(push_text(&m, swap, a2), 0);
	len = make_tls4(f, 43001, seq2, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)secret,
			(uint16_t)strlen(secret));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_STRING_EQUAL(pc_dp_reason_text(r.verdict.reason), "dlp_match");
	CU_ASSERT_EQUAL(r.generation, 2);

	/* Other patterns (the defaults and acme-token). The second upload
	 * goes on with the set it started with: an acme token passes it, the
	 * AWS key is still caught. */
	CU_ASSERT_EQUAL(push_text(&m, swap, b), 0);
	len = make_tls4(f, 43002, seq2, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)acme,
			(uint16_t)strlen(acme));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1 && rst[1] == 0);
	CU_ASSERT_FALSE(next_record(w, &r));
	seq2 += (uint32_t)strlen(acme);
	len = make_tls4(f, 43002, seq2, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)secret,
			(uint16_t)strlen(secret));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_STRING_EQUAL(pc_dp_reason_text(r.verdict.reason), "dlp_match");
	/* A body that starts now is scanned with the new set. */
	CU_ASSERT(open_with(w, 43004, head));
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_ALLOW);
	CU_ASSERT_EQUAL(r.generation, 3);
	len = make_tls4(f, 43004, seq3, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)acme,
			(uint16_t)strlen(acme));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_STRING_EQUAL(pc_dp_reason_text(r.verdict.reason), "dlp_match");

	/* Other patterns again: the third upload started two changes back,
	 * its set is gone, fail closed. */
	CU_ASSERT_EQUAL(push_text(&m, swap, c), 0);
	len = make_tls4(f, 43003, seq3, PC_TCP_ACK | PC_TCP_PSH, (const uint8_t *)clean,
			(uint16_t)strlen(clean));
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 1 && rst[0] == 1 && out[1] == 1 && rst[1] == 1);
	CU_ASSERT_TRUE_FATAL(next_record(w, &r));
	CU_ASSERT_STRING_EQUAL(pc_dp_reason_text(r.verdict.reason), "dlp_unavailable");
	CU_ASSERT_FALSE(next_record(w, &r));
	CU_ASSERT_EQUAL(pc_dp_dlp_in_use(dp), 0);

	pc_worker_drop_holds(w);
	pc_dp_flush(dp);
	pc_dp_free(dp);
	pc_swap_free(swap);
	pc_policy_free(p);
	pc_shm_close(&m);
	CU_ASSERT_EQUAL(pc_shm_name(inst, name, sizeof(name)), 0);
	shm_unlink(name);
}

/* GET and POST from 198.18.1.0/24 to 198.18.0.2:80 allowed, any host. */
static const char allow_http_policy[] =
	"{\"version\":1,\"default_action\":\"deny\","
	"\"identities\":[{\"name\":\"clients\",\"sources\":[\"198.18.1.0/24\"]}],"
	"\"destinations\":[{\"name\":\"h\",\"protocol\":\"http\","
	"\"addresses\":[\"198.18.0.2/32\"],\"ports\":[80]}],"
	"\"rules\":[{\"id\":\"h\",\"identities\":[\"clients\"],\"destinations\":[\"h\"],"
	"\"methods\":[\"GET\",\"POST\"],\"action\":\"allow\"}]}";

/* Two allowed requests, one after the other on one connection, each head
 * whole in one segment: each goes to the server as the very mbuf that came
 * in, bytes, offsets and lengths unchanged, and nothing of either head is
 * copied into the worker's head or body buffer (a head is parsed in place
 * when one segment carries it, and no rule here needs a body). */
static void test_worker_keepalive_no_copy(void)
{
	static const char *const reqs[2] = {
		"GET /tickets/1 HTTP/1.1\r\nHost: tickets.internal\r\n\r\n",
		"POST /tickets HTTP/1.1\r\nHost: tickets.internal\r\nContent-Length: 0\r\n\r\n",
	};
	enum { SENTINEL = 256 };
	struct pc_policy *p;
	struct pc_dp *dp = dp_with_policy(allow_http_policy, &p);
	struct pc_worker *w = dp->workers[0];
	uint8_t f[512], pattern[SENTINEL];
	uint16_t out[2], rst[2], len;
	struct pc_dlog_rec r;
	uint32_t seq = 7001;

	CU_ASSERT_FATAL(w->reasm.max_head >= SENTINEL);
	for (unsigned i = 0; i < SENTINEL; i++)
		pattern[i] = (uint8_t)(0x5a ^ (i * 13u));
	memcpy(w->reasm.buf, pattern, SENTINEL);
	memcpy(w->body, pattern, SENTINEL);

	len = make_tcp4(f, 0, 43001, seq - 1, 0, PC_TCP_SYN, "");
	feed(w, f, len, out, rst);
	CU_ASSERT(out[0] == 0 && out[1] == 1);
	for (int i = 0; i < 2; i++) {
		len = make_tcp4(f, 0, 43001, seq, 9001, PC_TCP_ACK | PC_TCP_PSH, reqs[i]);
		struct rte_mbuf *m = frame_mbuf(w->pool, f, len);
		const uint16_t off = m->data_off, dlen = m->data_len;
		const uint32_t plen = m->pkt_len;
		pc_worker_process(w, &m, 1, 0);
		CU_ASSERT_EQUAL(w->n_tx[0], 0);
		CU_ASSERT_EQUAL_FATAL(w->n_tx[1], 1);
		struct rte_mbuf *o = w->tx[1][0];
		w->n_tx[1] = 0;
		CU_ASSERT_PTR_EQUAL(o, m);
		CU_ASSERT(o->data_off == off && o->data_len == dlen && o->pkt_len == plen &&
			  o->nb_segs == 1);
		CU_ASSERT_EQUAL(memcmp(rte_pktmbuf_mtod(o, const uint8_t *), f, len), 0);
		CU_ASSERT_EQUAL(memcmp(w->reasm.buf, pattern, SENTINEL), 0);
		CU_ASSERT_EQUAL(memcmp(w->body, pattern, SENTINEL), 0);
		rte_pktmbuf_free(o);
		CU_ASSERT_TRUE_FATAL(next_record(w, &r));
		CU_ASSERT_EQUAL(r.verdict.action, PC_ACTION_ALLOW);
		seq += (uint32_t)strlen(reqs[i]);
	}
	CU_ASSERT(r.method_len == 4 && memcmp(r.method, "POST", 4) == 0);
	CU_ASSERT_FALSE(next_record(w, &r));
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_DECISIONS_ALLOWED], 2);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_REQUESTS_PIPELINED], 0);
	dp_done(dp, p);
}

/* The counters a worker counts become visible to other threads on the
 * PC_WORKER_PUBLISH_BURSTS-th flush, or at once on pc_worker_publish(), and
 * not before: readers see them at most that many bursts late. */
static void test_worker_counters_published(void)
{
	struct pc_policy *p;
	struct pc_dp *dp = dp_with_policy(allow_http_policy, &p);
	struct pc_worker *w = dp->workers[0];
	uint8_t f[128];
	uint16_t out[2], rst[2];
	const uint64_t rx0 = w->counters.v[PC_CTR_RX];

	uint16_t len = make_tcp4(f, 0, 43002, 5000, 0, PC_TCP_SYN, "");
	feed(w, f, len, out, rst); /* processed; nothing flushed yet */
	CU_ASSERT_EQUAL(out[1], 1);
	for (unsigned i = 1; i < PC_WORKER_PUBLISH_BURSTS; i++) {
		pc_worker_flush(w);
		CU_ASSERT_EQUAL(w->counters.v[PC_CTR_RX], rx0);
	}
	pc_worker_flush(w);
	CU_ASSERT_EQUAL(w->counters.v[PC_CTR_RX], rx0 + 1);
	CU_ASSERT_EQUAL(w->counters.v[PC_CTR_FLOWS_CREATED], 1);

	feed(w, f, len, out, rst); /* the SYN again: a retransmission */
	pc_worker_flush(w);
	CU_ASSERT_EQUAL(w->counters.v[PC_CTR_RX], rx0 + 1);
	pc_worker_publish(w);
	CU_ASSERT_EQUAL(w->counters.v[PC_CTR_RX], rx0 + 2);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_RX], 0);
	dp_done(dp, p);
}

/* Decision records are written in place into the ring: with the main
 * lcore not draining, the ring takes what it holds, each later decision is
 * counted lost (and still made), and the records read back are whole and
 * in order. */
static void test_worker_dlog_full(void)
{
	enum { EXTRA = 77 };
	struct pc_policy *p;
	struct pc_dp *dp = dp_with_policy(allow_http_policy, &p);
	struct pc_worker *w = dp->workers[0];
	const unsigned cap = rte_ring_get_capacity(w->dlog), n = cap + EXTRA;
	uint8_t f[256];
	char req[96];
	uint16_t out[2], rst[2];
	uint32_t seq = 9001;

	uint16_t len = make_tcp4(f, 0, 43003, seq - 1, 0, PC_TCP_SYN, "");
	feed(w, f, len, out, rst);
	for (unsigned i = 0; i < n; i++) {
		snprintf(req, sizeof(req), "GET /r/%u HTTP/1.1\r\nHost: h\r\n\r\n", i);
		len = make_tcp4(f, 0, 43003, seq, 1, PC_TCP_ACK | PC_TCP_PSH, req);
		feed(w, f, len, out, rst);
		CU_ASSERT_EQUAL(out[1], 1);
		seq += (uint32_t)strlen(req);
	}
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_DECISIONS_ALLOWED], n);
	CU_ASSERT_EQUAL(w->ctr[PC_CTR_DECISION_LOG_LOST], EXTRA);
	struct pc_dlog_rec r;
	unsigned got = 0, right = 0;
	while (next_record(w, &r)) {
		char want[32];
		int wl = snprintf(want, sizeof(want), "/r/%u", got);
		right += r.verdict.action == PC_ACTION_ALLOW && r.path_len == (uint16_t)wl &&
			 memcmp(r.path, want, (size_t)wl) == 0 && r.method_len == 3 &&
			 r.host_len == 1 && r.host[0] == 'h' && r.sport == 43003;
		got++;
	}
	CU_ASSERT_EQUAL(got, cap);
	CU_ASSERT_EQUAL(right, cap);
	dp_done(dp, p);
}

/* ---- counters ---- */

static void test_counter_names(void)
{
	unsigned named = 0;
	for (unsigned i = 0; i < PC_CTR_COUNT; i++) {
		const char *a = pc_counters_name(i);
		if (i == PC_CTR_PKT_OK) {
			CU_ASSERT_PTR_NULL(a);
			continue;
		}
		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		named++;
		for (unsigned j = i + 1; j < PC_CTR_COUNT; j++)
			if (pc_counters_name(j) != NULL)
				CU_ASSERT(strcmp(a, pc_counters_name(j)) != 0);
	}
	CU_ASSERT_EQUAL(named, PC_CTR_COUNT - 1);
	CU_ASSERT_STRING_EQUAL(pc_counters_name(PC_CTR_PKT(PC_PKT_IP_FRAGMENT)),
			       pc_pkt_reason_name(PC_PKT_IP_FRAGMENT));
	CU_ASSERT_STRING_EQUAL(pc_counters_name(PC_CTR_FLOW_TABLE_FULL), "flow_table_full");

	struct pc_counters shared;
	uint64_t delta[PC_CTR_COUNT];
	memset(&shared, 0, sizeof(shared));
	memset(delta, 0, sizeof(delta));
	delta[PC_CTR_RX] = 5;
	pc_counters_publish(&shared, delta);
	delta[PC_CTR_RX] = 2;
	pc_counters_publish(&shared, delta);
	CU_ASSERT_EQUAL(shared.v[PC_CTR_RX], 7);
	CU_ASSERT_EQUAL(delta[PC_CTR_RX], 0);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_reset_reply_and_onward),
	PC_TEST(test_reset_answers_syn),
	PC_TEST(test_reset_ipv6),
	PC_TEST(test_flow_key_symmetric),
	PC_TEST(test_flow_table_capacity_and_lookup),
	PC_TEST(test_flow_table_aging),
	PC_TEST(test_handoff_owner),
	PC_TEST(test_dlog_l4_record),
	PC_TEST(test_dlog_escapes_and_truncation),
	PC_TEST(test_dlog_names_from_policy),
	PC_TEST(test_counter_names),
	PC_TEST(test_reasm_in_order_and_view),
	PC_TEST(test_reasm_head_may_end),
	PC_TEST(test_reasm_head_may_end_random),
	PC_TEST(test_reasm_out_of_order),
	PC_TEST(test_reasm_duplicates_and_overlaps),
	PC_TEST(test_reasm_bounds),
	PC_TEST(test_segment_with_payload),
	PC_TEST(test_flow_table_full_never_evicts),
	PC_TEST(test_worker_tls_hello),
	PC_TEST(test_worker_http_or_tls),
	PC_TEST(test_worker_midstream_pickup),
	PC_TEST(test_worker_dlp_across_swaps),
	PC_TEST(test_worker_keepalive_no_copy),
	PC_TEST(test_worker_counters_published),
	PC_TEST(test_worker_dlog_full),
	CU_TEST_INFO_NULL,
};

int main(void)
{
	/* No shared config files, and a prefix of our own: nothing to collide
	 * with a dataplane running beside the tests. The EAL still makes an
	 * (empty) runtime directory, removed at the end. */
	char prefix[64], rundir[PATH_MAX];
	snprintf(prefix, sizeof(prefix), "--file-prefix=pc-ut-dp-%d", (int)getpid());
	char *eal_argv[] = { "test_dataplane", "-l", "0,1", "--no-huge", "-m", "256", "--no-pci",
			     "--no-shconf", "--no-telemetry", "--log-level=error", prefix, NULL };
	if (rte_eal_init((int)PC_ARRAY_SIZE(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "test_dataplane: cannot start the EAL\n");
		return 1;
	}
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	int rc = pc_test_main("dataplane", tests);
	rte_eal_cleanup();
	if (rmdir(rundir) != 0)
		perror(rundir);
	return rc;
}
