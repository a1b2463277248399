/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The worker loop.
 *
 * Each worker owns queue i of both ports, a flow table, a hand-off ring, a
 * decision-record ring and a counter block, and shares nothing else that it
 * writes; the only shared inputs are the policy (one pointer, read once per
 * loop, under RCU) and the stop flag. A loop takes a burst from port 0, from
 * port 1 and from its hand-off ring, and processes each burst in three
 * stages, so that memory latency overlaps instead of adding up: stage 1
 * decodes every frame (prefetching a few frames ahead), bridges what has no
 * flow (non-IP, ICMP), builds the canonical flow key, hashes it and passes
 * packets of flows owned by another worker to that worker's ring; stage 2
 * looks up all remaining keys with one bulk call per address family and
 * prefetches the entries found; stage 3 acts on each packet in arrival order:
 * existing flows forward, drop or (first client data of an inspected HTTP
 * flow) parse the request head and decide; new flows are decided at L4, or
 * opened for inspection when policy says the destination is HTTP. A denied
 * request is dropped and reset at both ends, and the flow then drops
 * everything. Nothing is held yet: the first client segment must carry the
 * whole request head or the request is denied, so every mbuf is either
 * transmitted or freed within the burst it arrived in. Counters are kept in
 * the worker's private array and published once per burst; decision records
 * go to a ring the main lcore drains, and a full ring loses the record, never
 * the packet. Every 64 loops the worker reports an RCU quiescent state and
 * ages a bounded slice of its flow table; when polls come back empty it
 * pauses, then sleeps in growing steps of up to 200 us (unless run busy),
 * and is back to full-speed polling on the first packet.
 */
#include <errno.h>
#include <string.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "handoff.h"
#include "tcp_reset.h"
#include "worker.h"

#define PC_WORKER_PREFETCH 3            /* frames decoded ahead of their data */
#define PC_WORKER_HOUSEKEEP_LOOPS 64    /* RCU report and aging slice */
#define PC_WORKER_AGE_SLICE 256         /* flow slots examined per aging slice */
#define PC_WORKER_IDLE_SPIN_POLLS 1024  /* empty polls before the first sleep */
#define PC_WORKER_IDLE_MAX_SLEEP_US 200u

enum pc_pkt_kind {
	PC_PKT_KIND_DONE = 0, /* consumed in stage 1 (freed or handed off) */
	PC_PKT_KIND_BRIDGE,   /* forward as is, no flow */
	PC_PKT_KIND_FLOW,     /* IP with a flow entry (or about to get one) */
};

static inline void tx_flush_port(struct pc_worker *w, uint16_t port)
{
	uint16_t n = w->n_tx[port];
	if (n == 0)
		return;
	uint16_t sent = rte_eth_tx_burst(port, w->id, w->tx[port], n);
	w->ctr[PC_CTR_TX] += sent;
	if (unlikely(sent < n)) {
		w->ctr[PC_CTR_TX_FULL] += n - sent;
		rte_pktmbuf_free_bulk(&w->tx[port][sent], n - sent);
	}
	w->n_tx[port] = 0;
}

static inline void tx_push(struct pc_worker *w, uint16_t port, struct rte_mbuf *m)
{
	if (unlikely(w->n_tx[port] == PC_WORKER_TX_MAX))
		tx_flush_port(w, port);
	w->tx[port][w->n_tx[port]++] = m;
}

static inline void drop(struct pc_worker *w, struct rte_mbuf *m, enum pc_ctr why)
{
	w->ctr[why]++;
	rte_pktmbuf_free(m);
}

static void handoff_flush(struct pc_worker *w)
{
	for (uint16_t o = 0; o < w->n_workers; o++) {
		unsigned n = w->n_ho[o];
		if (n == 0)
			continue;
		unsigned sent = pc_handoff_send(w->dp->workers[o]->handoff, w->ho[o], n);
		w->ctr[PC_CTR_HANDOFF_ENQUEUED] += sent;
		if (unlikely(sent < n)) {
			w->ctr[PC_CTR_HANDOFF_DROPPED] += n - sent;
			rte_pktmbuf_free_bulk(&w->ho[o][sent], n - sent);
		}
		w->n_ho[o] = 0;
	}
}

static void send_reset(struct pc_worker *w, const uint8_t *frame, const struct pc_pkt_meta *m,
		       bool reply, uint16_t out_port)
{
	struct rte_mbuf *r = pc_tcp_reset_mbuf(w->pool, frame, m, reply);
	if (unlikely(r == NULL)) {
		w->ctr[PC_CTR_MBUF_ALLOC_FAILED]++;
		return;
	}
	r->port = out_port;
	w->ctr[PC_CTR_RESETS_SENT]++;
	tx_push(w, out_port, r);
}

static void record(struct pc_worker *w, const struct pc_pkt_meta *m, const struct pc_verdict *v,
		   const struct pc_http_req *http)
{
	w->ctr[v->action == PC_ACTION_ALLOW ? PC_CTR_DECISIONS_ALLOWED : PC_CTR_DECISIONS_DENIED]++;
	struct pc_str norm_path = { 0 };
	if (http != NULL) { /* the verdict came from pc_decide() on this head */
		bool changed = false;
		struct pc_str seen = pc_engine_last_path(w->scratch, &changed);
		if (changed)
			norm_path = seen;
	}
	pc_dlog_rec_fill(&w->rec, w->id, w->pol->generation, m, v, http, norm_path);
	if (unlikely(!pc_dlog_push(w->dlog, &w->rec)))
		w->ctr[PC_CTR_DECISION_LOG_LOST]++;
}

static void verdict_deny(struct pc_verdict *v, enum pc_decision_reason reason)
{
	memset(v, 0, sizeof(*v));
	v->action = PC_ACTION_DENY;
	v->reason = (uint8_t)reason;
	v->rule = -1;
	v->identity = -1;
}

static inline void track_tcp(struct pc_flow *f, uint8_t flags, bool from_client)
{
	uint8_t bits = 0;
	if (flags & PC_TCP_ACK)
		bits |= from_client ? PC_FLOW_TCP_ACK_CLIENT : PC_FLOW_TCP_ACK_SERVER;
	if (flags & PC_TCP_FIN)
		bits |= PC_FLOW_TCP_FIN;
	if (flags & PC_TCP_RST)
		bits |= PC_FLOW_TCP_RST;
	f->tcp |= bits;
}

/* Deny the packet that reached a deny verdict: drop it and, for TCP, reset
 * the ends. client_only: the flow has only just been seen (L4 decision on its
 * first packet), so only the sender has anything to tear down. */
static void deny_packet(struct pc_worker *w, struct rte_mbuf *m, const struct pc_pkt_meta *mt,
			bool client_only)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	if (mt->l4_proto == PC_PROTO_TCP && !(mt->tcp_flags & PC_TCP_RST)) {
		send_reset(w, frame, mt, true, m->port);
		if (!client_only)
			send_reset(w, frame, mt, false, m->port ^ 1);
	}
	drop(w, m, PC_CTR_DENIED_DROPPED);
}

/* The first client segment with payload on an inspected flow: it must hold
 * the whole request head (nothing is held across segments yet). */
static void inspect_request(struct pc_worker *w, struct rte_mbuf *m, const struct pc_pkt_ctx *c,
			    struct pc_flow *f)
{
	const struct pc_pkt_meta *mt = &c->meta;
	const char *payload = rte_pktmbuf_mtod_offset(m, const char *, mt->payload_off);
	const struct pc_http_req *http = NULL;
	struct pc_verdict v;

	enum pc_http_reason hr = pc_http_parse_head(payload, mt->payload_len, &w->req);
	if (likely(hr == PC_HTTP_OK)) {
		http = &w->req;
		struct pc_request rq = {
			.src = mt->src, .dst = mt->dst, .sport = mt->sport, .dport = mt->dport,
			.l4_proto = mt->l4_proto, .http = http,
		};
		pc_decide(w->pol->policy, w->scratch, &rq, &v);
	} else if (hr == PC_HTTP_INCOMPLETE) {
		/* Never forward a head that was not inspected whole. */
		verdict_deny(&v, PC_REASON_HEAD_NOT_IN_SEGMENT);
	} else {
		pc_verdict_malformed(&v, (uint8_t)hr);
	}
	f->verdict = v;
	f->generation = w->pol->generation;
	record(w, mt, &v, http);
	if (v.action == PC_ACTION_ALLOW) {
		f->state = PC_FLOW_FORWARD;
		tx_push(w, m->port ^ 1, m);
	} else {
		f->state = PC_FLOW_DENIED;
		deny_packet(w, m, mt, false);
	}
}

/* A packet with no flow (pos < 0), or a client SYN opening a new connection
 * on the tuple of an old flow (pos >= 0: the slot is reused). */
static void new_flow(struct pc_worker *w, struct rte_mbuf *m, struct pc_pkt_ctx *c, int32_t pos)
{
	const struct pc_pkt_meta *mt = &c->meta;
	const struct pc_policy *p = w->pol->policy;
	bool tcp = mt->l4_proto == PC_PROTO_TCP;
	bool inspect = tcp && p != NULL && pc_policy_inspects(p, &mt->dst, mt->dport);

	if (inspect) {
		/* An inspected flow must be seen from its first byte, or the
		 * request head could already be past us. */
		if ((mt->tcp_flags & (PC_TCP_SYN | PC_TCP_ACK)) != PC_TCP_SYN) {
			drop(w, m, PC_CTR_TCP_MIDSTREAM);
			return;
		}
		/* Data on a SYN (TCP Fast Open) would reach the server before
		 * any inspection; a client retries without it. */
		if (unlikely(mt->payload_len > 0)) {
			drop(w, m, PC_CTR_TCP_SYN_WITH_DATA);
			return;
		}
	}

	struct pc_flow_table *t = w->flows;
	if (pos < 0) {
		pos = pc_flow_table_add(t, c->fam, &c->key, c->sig);
		if (unlikely(pos < 0)) {
			/* Fail closed: no entry, no forwarding. */
			drop(w, m, PC_CTR_FLOW_TABLE_FULL);
			return;
		}
		w->ctr[PC_CTR_FLOWS_CREATED]++;
		w->batch_created++;
	}
	struct pc_flow *f = pc_flow_table_entry(t, c->fam, pos);
	memset(f, 0, sizeof(*f));
	f->proto = mt->l4_proto;
	f->client_dir = c->dir;
	f->client_port = (uint8_t)m->port;
	f->generation = w->pol->generation;
	f->client_isn = tcp ? mt->tcp_seq : 0;
	f->last_seen_tsc = w->now_tsc;
	f->pkts = 1;
	f->bytes = rte_pktmbuf_pkt_len(m);
	if (tcp)
		track_tcp(f, mt->tcp_flags, true);

	if (inspect) {
		f->state = PC_FLOW_INSPECT;
		verdict_deny(&f->verdict, PC_REASON_DEFAULT); /* nothing decided yet */
		tx_push(w, m->port ^ 1, m);
		return;
	}

	/* Everything else is decided once, at L4, on its first packet. */
	if (unlikely(p == NULL)) {
		verdict_deny(&f->verdict, PC_REASON_NO_POLICY);
	} else {
		struct pc_request rq = {
			.src = mt->src, .dst = mt->dst, .sport = mt->sport, .dport = mt->dport,
			.l4_proto = mt->l4_proto, .http = NULL,
		};
		pc_decide(p, w->scratch, &rq, &f->verdict);
	}
	record(w, mt, &f->verdict, NULL);
	if (f->verdict.action == PC_ACTION_ALLOW) {
		f->state = PC_FLOW_FORWARD;
		tx_push(w, m->port ^ 1, m);
	} else {
		f->state = PC_FLOW_DENIED;
		deny_packet(w, m, mt, true);
	}
}

/* Stage 3 for one packet of a flow. */
static inline void act(struct pc_worker *w, struct rte_mbuf *m, struct pc_pkt_ctx *c)
{
	const struct pc_pkt_meta *mt = &c->meta;
	int32_t pos = c->pos;

	/* Stage 2 ran before this burst's new flows existed: a miss may be a
	 * flow an earlier packet of the same burst has just created. */
	if (pos < 0 && w->batch_created > 0)
		pos = pc_flow_table_lookup(w->flows, c->fam, &c->key, c->sig);
	if (pos < 0) {
		new_flow(w, m, c, -1);
		return;
	}

	struct pc_flow *f = pc_flow_table_entry(w->flows, c->fam, pos);
	bool from_client = c->dir == f->client_dir;
	bool tcp = f->proto == PC_PROTO_TCP;

	/* A client SYN with a new initial sequence number is a new connection
	 * reusing the tuple: decide it afresh rather than inherit a verdict
	 * (a retransmitted SYN carries the same ISN). */
	if (tcp && from_client && (mt->tcp_flags & (PC_TCP_SYN | PC_TCP_ACK)) == PC_TCP_SYN &&
	    mt->tcp_seq != f->client_isn) {
		new_flow(w, m, c, pos);
		return;
	}

	f->last_seen_tsc = w->now_tsc;
	f->pkts++;
	f->bytes += rte_pktmbuf_pkt_len(m);
	if (tcp)
		track_tcp(f, mt->tcp_flags, from_client);

	switch (f->state) {
	case PC_FLOW_FORWARD:
		tx_push(w, m->port ^ 1, m);
		break;
	case PC_FLOW_INSPECT:
		if (from_client && mt->payload_len > 0)
			inspect_request(w, m, c, f);
		else
			tx_push(w, m->port ^ 1, m); /* handshake, ACKs, server side */
		break;
	default:
		drop(w, m, PC_CTR_DENIED_DROPPED);
		break;
	}
}

static inline void process_burst(struct pc_worker *w, struct rte_mbuf **pkts, uint16_t n,
				 uint16_t in_port, const bool handed_off)
{
	struct pc_pkt_ctx *cx = w->ctx;
	const void *keys[PC_FLOW_FAMILIES][PC_WORKER_BURST];
	hash_sig_t sigs[PC_FLOW_FAMILIES][PC_WORKER_BURST];
	int32_t pos[PC_FLOW_FAMILIES][PC_WORKER_BURST];
	uint16_t idx[PC_FLOW_FAMILIES][PC_WORKER_BURST];
	uint32_t nk[PC_FLOW_FAMILIES] = { 0, 0 };
	const bool may_hand_off = !handed_off && w->n_workers > 1;

	w->ctr[handed_off ? PC_CTR_HANDOFF_RECEIVED : PC_CTR_RX] += n;

	/* Stage 1: decode, classify, key and hash. */
	for (uint16_t i = 0; i < n && i < PC_WORKER_PREFETCH; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (uint16_t i = 0; i < n; i++) {
		if (i + PC_WORKER_PREFETCH < n)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PC_WORKER_PREFETCH], void *));
		struct rte_mbuf *m = pkts[i];
		struct pc_pkt_ctx *c = &cx[i];
		c->kind = PC_PKT_KIND_DONE;
		if (!handed_off)
			m->port = in_port; /* a hand-off keeps the port it came in on */
		/* Software checks the IPv4 header unless the NIC did. */
		bool csum_ok = (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) ==
			       RTE_MBUF_F_RX_IP_CKSUM_GOOD;
		enum pc_pkt_reason r = pc_pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *),
						    rte_pktmbuf_data_len(m), !csum_ok, &c->meta);
		if (unlikely(r != PC_PKT_OK)) {
			drop(w, m, (enum pc_ctr)PC_CTR_PKT(r));
			continue;
		}
		const struct pc_pkt_meta *mt = &c->meta;
		if (mt->l3 == PC_L3_NONE) {
			w->ctr[PC_CTR_BRIDGED_NON_IP]++;
			c->kind = PC_PKT_KIND_BRIDGE;
			continue;
		}
		if (mt->l4_proto == PC_PROTO_ICMP || mt->l4_proto == PC_PROTO_ICMPV6) {
			w->ctr[PC_CTR_BRIDGED_ICMP]++;
			c->kind = PC_PKT_KIND_BRIDGE;
			continue;
		}
		uint16_t vlan = mt->vlan_count ? (mt->vlan_tci[0] & 0x0fff) : 0;
		unsigned fam = pc_flow_key_make(mt, vlan, &c->key, &c->dir);
		c->sig = pc_flow_table_hash(w->flows, fam, &c->key);
		if (may_hand_off) {
			uint16_t owner = pc_handoff_owner(c->sig, w->n_workers);
			if (owner != w->id) {
				w->ho[owner][w->n_ho[owner]++] = m;
				continue;
			}
		}
		c->kind = PC_PKT_KIND_FLOW;
		c->fam = (uint8_t)fam;
		uint32_t j = nk[fam]++;
		keys[fam][j] = &c->key;
		sigs[fam][j] = c->sig;
		idx[fam][j] = i;
	}

	/* Stage 2: one bulk lookup per family, then pull in the entries. */
	for (unsigned fam = 0; fam < PC_FLOW_FAMILIES; fam++) {
		if (nk[fam] == 0)
			continue;
		pc_flow_table_lookup_bulk(w->flows, fam, keys[fam], sigs[fam], nk[fam], pos[fam]);
		for (uint32_t j = 0; j < nk[fam]; j++) {
			cx[idx[fam][j]].pos = pos[fam][j];
			if (pos[fam][j] >= 0)
				rte_prefetch0(pc_flow_table_entry(w->flows, fam, pos[fam][j]));
		}
	}

	/* Stage 3: act, in arrival order. */
	w->batch_created = 0;
	for (uint16_t i = 0; i < n; i++) {
		switch (cx[i].kind) {
		case PC_PKT_KIND_BRIDGE:
			tx_push(w, pkts[i]->port ^ 1, pkts[i]);
			break;
		case PC_PKT_KIND_FLOW:
			act(w, pkts[i], &cx[i]);
			break;
		default:
			break;
		}
	}

	/* The staging arrays hold one burst: pass them on now. */
	if (may_hand_off)
		handoff_flush(w);
}

static inline void loop_begin(struct pc_worker *w)
{
	w->pol = __atomic_load_n(&w->dp->active, __ATOMIC_ACQUIRE);
	w->now_tsc = rte_rdtsc();
}

void pc_worker_flush(struct pc_worker *w)
{
	tx_flush_port(w, 0);
	tx_flush_port(w, 1);
	pc_counters_publish(&w->counters, w->ctr);
}

void pc_worker_process(struct pc_worker *w, struct rte_mbuf **pkts, uint16_t n, uint16_t in_port)
{
	loop_begin(w);
	process_burst(w, pkts, n, in_port, false);
}

unsigned pc_worker_poll(struct pc_worker *w)
{
	struct rte_mbuf *pkts[PC_WORKER_BURST];
	unsigned total = 0;

	loop_begin(w);
	for (uint16_t port = 0; port < 2; port++) {
		uint16_t n = rte_eth_rx_burst(port, w->id, pkts, PC_WORKER_BURST);
		if (n > 0) {
			process_burst(w, pkts, n, port, false);
			total += n;
		}
	}
	if (w->n_workers > 1) {
		unsigned n = pc_handoff_recv(w->handoff, pkts, PC_WORKER_BURST);
		if (n > 0) {
			process_burst(w, pkts, (uint16_t)n, 0, true);
			total += n;
		}
	}
	if (total > 0)
		pc_worker_flush(w);
	return total;
}

static void housekeeping(struct pc_worker *w)
{
	struct pc_dp *dp = w->dp;
	/* No reference to the policy survives between loops, so here the
	 * worker holds none. */
	rte_rcu_qsbr_quiescent(dp->rcu, w->id);
	unsigned aged = pc_flow_table_age(w->flows, rte_rdtsc(), dp->idle_est_tsc,
					  dp->idle_other_tsc, PC_WORKER_AGE_SLICE);
	if (aged > 0) {
		w->ctr[PC_CTR_FLOWS_AGED] += aged;
		pc_counters_publish(&w->counters, w->ctr);
	}
}

static void idle(struct pc_worker *w)
{
	if (++w->empty_polls < PC_WORKER_IDLE_SPIN_POLLS) {
		rte_pause();
		return;
	}
	/* Sleep a little longer each time the queues are still empty: latency
	 * on the first packet after a lull stays within the last sleep. */
	w->sleep_us = w->sleep_us == 0 ? 1 : RTE_MIN(w->sleep_us * 2, PC_WORKER_IDLE_MAX_SLEEP_US);
	rte_rcu_qsbr_quiescent(w->dp->rcu, w->id);
	rte_delay_us_sleep(w->sleep_us);
}

int pc_worker_run(void *arg)
{
	struct pc_worker *w = arg;
	struct pc_dp *dp = w->dp;
	const bool busy = dp->idle_busy;

	rte_rcu_qsbr_thread_register(dp->rcu, w->id);
	rte_rcu_qsbr_thread_online(dp->rcu, w->id);

	while (!__atomic_load_n(&dp->stop, __ATOMIC_ACQUIRE)) {
		unsigned got = pc_worker_poll(w);
		if (++w->loops % PC_WORKER_HOUSEKEEP_LOOPS == 0)
			housekeeping(w);
		if (got > 0) {
			w->empty_polls = 0;
			w->sleep_us = 0;
		} else if (!busy) {
			idle(w);
		}
	}

	pc_worker_flush(w);
	rte_rcu_qsbr_thread_offline(dp->rcu, w->id);
	rte_rcu_qsbr_thread_unregister(dp->rcu, w->id);
	return 0;
}
