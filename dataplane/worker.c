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
 * existing flows forward, drop or inspect; new flows are decided at L4, or
 * opened for inspection when policy says the destination is HTTP or TLS.
 *
 * Inspection follows the client's TCP byte stream (the stream section below
 * says how): every request head of a keep-alive connection is held, in
 * sequence, until it is complete, then decided; an allowed head's segments
 * go on unchanged and its body is forwarded as it comes while its framing is
 * tracked to find the next head; a denied request is never forwarded, its
 * held segments are freed and both ends are reset (after a 403 answer with
 * --deny-response 403), and the flow then drops everything. Held packets are
 * bounded per flow and per worker (reasm.h); past a bound a head is denied.
 *
 * A head that a rule can only decide with the body (models, MCP tools) is
 * not decided at first: the flow keeps holding, past the head, the body's
 * segments (a larger per-flow bound, --hold-body-packets) until the body is
 * whole or fills the policy's window, then the body is copied, de-chunked,
 * into one per-worker buffer and the head decided again with it. Allowed,
 * head and body go on in order and the body's framing is tracked as for any
 * allowed request. A request allowed towards an external destination has
 * its body scanned for secrets (Hyperscan stream mode, lib/dlp) as it goes
 * on, each segment before it leaves: a match resets both ends, or, when the
 * policy's DLP only logs, is recorded and passes (the DLP section says how
 * streams are kept). Per-rule deny responses (reset, 403 or 429) take
 * precedence over --deny-response.
 *
 * A TLS destination is held the same way, but its first client bytes are a
 * ClientHello (tls_hello.h), parsed again each time more of it arrives and
 * decided once (source identity, SNI, version, JA4, ALPN): everything after
 * it is encrypted, so an allowed hello releases the hold and the connection
 * passes unread from then on; a denied one is reset at both ends, never
 * answered with a 403 (the client speaks TLS, not HTTP). Where both an HTTP
 * and a TLS destination share an address and port, the first client byte
 * picks: 22 opens a TLS handshake record and never an HTTP request line.
 *
 * Counters are kept in the worker's private array and published once per
 * burst; decision records go to a ring the main lcore drains, and a full ring
 * loses the record, never the packet. Every loop ends with an RCU quiescent
 * report, and every 64 loops the worker ages a bounded slice of its flow
 * table; when polls come back empty it pauses, then sleeps (RCU offline) in
 * growing steps of up to 200 us (unless run busy), and is back to
 * full-speed polling on the first packet.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_rcu_qsbr.h>

#include "flow_dump.h"
#include "dlp/dlp.h"
#include "handoff.h"
#include "shm/quarantine.h"
#include "tcp_reset.h"
#include "worker.h"

#define PC_WORKER_PREFETCH 3            /* frames decoded ahead of their data */
#define PC_WORKER_HOUSEKEEP_LOOPS 64    /* aging slice, flow dumps */
#define PC_WORKER_AGE_SLICE 256         /* flow slots examined per aging slice, at least */
#define PC_WORKER_SWEEP_MS 80           /* a whole aging sweep, both families (see housekeeping()) */
#define PC_WORKER_IDLE_SPIN_POLLS 1024  /* empty polls before the first sleep */
#define PC_WORKER_IDLE_MAX_SLEEP_US 200u

/* The flow's L7 step while a decision waits for the request body: the head
 * and the body bytes after it are held (the flow table's steps end at
 * TLS_PASS; this one is the worker's own). */
#define PC_FLOW_L7_BODY_HOLD (PC_FLOW_L7_TLS_PASS + 1)

/* What deciding a request head came to. */
enum pc_head_outcome {
	PC_HEAD_DENIED = 0,
	PC_HEAD_ALLOWED,
	PC_HEAD_NEEDS_BODY, /* a rule needs the body: hold it, then decide again */
};

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

/* The engine scratch made for the policy this loop runs: a new policy comes
 * with new scratch (Hyperscan scratch and token cache sized for it) in the
 * same pointer, so a swap never resizes memory a worker is using, and a
 * scratch is only ever used with the policy it was made for. */
static inline struct pc_engine_scratch *engine_scratch(const struct pc_worker *w)
{
	return w->pol->scratch[w->id];
}

/* A verdict that allows a caller the quarantine has revoked becomes a deny:
 * a revocation acts at once, without a policy recompile. */
static inline void apply_quarantine(const struct pc_worker *w, struct pc_verdict *v)
{
	if (v->action == PC_ACTION_ALLOW &&
	    unlikely(pc_quarantine_check(w->pol->quarantine, v->identity,
					 v->cred_kind != PC_CRED_NONE ? v->cred_fp : NULL))) {
		v->action = PC_ACTION_DENY;
		v->reason = PC_REASON_QUARANTINED;
		v->rule = -1;
	}
}

/* Every decision is counted where its record is made: by action, and by
 * action and reason. */
static inline void count_decision(struct pc_worker *w, const struct pc_verdict *v)
{
	w->ctr[v->action == PC_ACTION_ALLOW ? PC_CTR_DECISIONS_ALLOWED : PC_CTR_DECISIONS_DENIED]++;
	pc_counters_count_decision(w->ctr, v->action, v->reason);
}

static void record(struct pc_worker *w, const struct pc_pkt_meta *m, const struct pc_verdict *v,
		   const struct pc_http_req *http)
{
	count_decision(w, v);
	struct pc_dlog_rec *rec = pc_dlog_reserve(w->dlog);
	if (unlikely(rec == NULL)) {
		w->ctr[PC_CTR_DECISION_LOG_LOST]++;
		return;
	}
	struct pc_str norm_path = { 0 };
	if (http != NULL) { /* the verdict came from pc_decide() on this head */
		bool changed = false;
		struct pc_str seen = pc_engine_last_path(engine_scratch(w), &changed);
		if (changed)
			norm_path = seen;
	}
	pc_dlog_rec_fill(rec, w->id, w->pol->generation, m, v, http, norm_path);
	struct pc_str iss, sub;
	/* no policy: pc_decide() did not run, the scratch holds an older
	 * decision's token */
	if (http != NULL && w->pol->policy != NULL &&
	    pc_engine_last_jwt(engine_scratch(w), &iss, &sub))
		pc_dlog_rec_jwt(rec, iss, sub);
	struct pc_str model = { 0 }, tool = { 0 };
	if (http != NULL)
		pc_engine_last_ai(engine_scratch(w), &model, &tool);
	if (model.len > 0 || tool.len > 0 || unlikely(w->dlp_hit != NULL))
		pc_dlog_rec_ai(rec, model, tool, w->dlp_hit);
	pc_dlog_commit(w->dlog);
}

/* The record of a decision on a ClientHello: the SNI goes in the host field,
 * method and path stay empty, so the log line reads like an HTTP one keyed
 * by host; the highest offered version and the JA4 go beside it. The JA4 is
 * computed here (two SHA-256 of short lists), once per TLS flow, so the log
 * names the client's fingerprint whether or not a rule asked for it. hello
 * is NULL when the parser refused it: nothing of it is known then. */
static void record_tls(struct pc_worker *w, const struct pc_pkt_meta *m,
		       const struct pc_verdict *v, const struct pc_tls_hello *hello)
{
	count_decision(w, v);
	struct pc_dlog_rec *rec = pc_dlog_reserve(w->dlog);
	if (unlikely(rec == NULL)) {
		w->ctr[PC_CTR_DECISION_LOG_LOST]++;
		return;
	}
	pc_dlog_rec_fill(rec, w->id, w->pol->generation, m, v, NULL, (struct pc_str){ 0 });
	if (hello != NULL) {
		rec->flags |= PC_DLOG_F_HTTP;
		struct pc_str sni = { .p = hello->sni, .len = hello->sni_len };
		rec->host_len = (uint8_t)pc_dlog_copy(rec->host, sizeof(rec->host), sni,
						      &rec->flags, PC_DLOG_F_HOST_TRUNC);
		char ja4[PC_TLS_JA4_LEN + 1];
		pc_tls_hello_ja4(hello, ja4);
		pc_dlog_rec_tls(rec, hello->highest_version, ja4, PC_TLS_JA4_LEN);
	}
	pc_dlog_commit(w->dlog);
}

/* True while the client bytes at f->l7_seq are held undecided (a request
 * head, a ClientHello, or a first byte not yet seen). */
static inline bool holds_undecided(const struct pc_flow *f)
{
	return f->l7 != PC_FLOW_L7_BODY && f->l7 != PC_FLOW_L7_TLS_PASS;
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

/* ---- the client's byte stream on an inspected flow ----
 *
 * f->l7_seq splits the client's stream: every byte before it is decided
 * (part of an allowed head or of its body), every byte from it on is not. In
 * HEAD the bytes from l7_seq on are a request head, held until it is complete
 * and decided; in BODY they are the allowed request's body, forwarded as they
 * come while pc_http_body finds where it ends. A segment leaves the hold when
 * all its bytes are decided, so a segment carrying the end of one body and the
 * start of the next head waits for that head's decision: if it is denied, the
 * whole segment is dropped and the server never sees the first request's last
 * bytes either (it gets a reset instead).
 */

static void hold_send(void *arg, void *pkt)
{
	struct pc_worker *w = arg;
	struct rte_mbuf *m = pkt;
	w->ctr[PC_CTR_HOLD_RELEASED]++;
	tx_push(w, m->port ^ 1, m);
}

static void hold_free(void *arg, void *pkt)
{
	struct pc_worker *w = arg;
	w->ctr[PC_CTR_DENIED_DROPPED]++;
	rte_pktmbuf_free(pkt);
}

static void hold_free_aged(void *arg, void *pkt)
{
	struct pc_worker *w = arg;
	w->ctr[PC_CTR_HOLD_AGED]++;
	rte_pktmbuf_free(pkt);
}

static void hold_free_full(void *arg, void *pkt)
{
	struct pc_worker *w = arg;
	w->ctr[PC_CTR_HOLD_LIMIT]++;
	rte_pktmbuf_free(pkt);
}

/* Free what f holds (fn counts each packet) and give the hold back. */
static void hold_drop(struct pc_worker *w, struct pc_flow *f, void (*fn)(void *, void *))
{
	if (f->hold == 0)
		return;
	pc_reasm_clear(&w->reasm, pc_reasm_hold(&w->reasm, f->hold), fn, w);
	pc_reasm_put(&w->reasm, f->hold);
	f->hold = 0;
}

/* Send on every held segment whose bytes are all decided. */
static void hold_release(struct pc_worker *w, struct pc_flow *f)
{
	if (f->hold == 0)
		return;
	struct pc_reasm_hold *h = pc_reasm_hold(&w->reasm, f->hold);
	pc_reasm_release(&w->reasm, h, f->l7_seq, hold_send, w);
	/* The server now has every decided byte up to the first segment
	 * still held, or all of them. */
	uint32_t sent = (h->n > 0 && pc_seq_lt(h->seg[0].seq, f->l7_seq)) ? h->seg[0].seq
									 : f->l7_seq;
	if (pc_seq_lt(f->fwd_seq, sent))
		f->fwd_seq = sent;
	if (h->n == 0) {
		pc_reasm_put(&w->reasm, f->hold);
		f->hold = 0;
	}
}

static void verdict_dp(struct pc_verdict *v, enum pc_dp_reason reason, uint8_t detail)
{
	verdict_deny(v, PC_REASON_DEFAULT);
	v->reason = (uint8_t)reason;
	v->detail = detail;
}

static const char *verdict_text(const struct pc_verdict *v)
{
	const char *t = pc_dp_reason_text(v->reason);
	return t != NULL ? t : pc_verdict_reason_name(v);
}

/* The deny answer's payload (status 403 or 429): a short head and a JSON
 * body naming why. */
static uint16_t deny_payload(const struct pc_worker *w, const struct pc_verdict *v,
			     unsigned status, char *out, size_t cap)
{
	const bool limit = status == 429;
	char body[256], rule[160];
	const char *id = NULL;
	if (w->pol->policy != NULL && v->rule >= 0 &&
	    (uint32_t)v->rule < pc_policy_rule_count(w->pol->policy))
		id = pc_policy_rule_id(w->pol->policy, (uint32_t)v->rule);
	if (id != NULL) {
		/* Rule ids are the policy author's: keep the body valid JSON
		 * whatever they hold. */
		size_t k = 0;
		rule[k++] = '"';
		for (const char *p = id; *p != '\0' && k < sizeof(rule) - 2; p++)
			rule[k++] = (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) ? '_' : *p;
		rule[k++] = '"';
		rule[k] = '\0';
	} else {
		strcpy(rule, "null");
	}
	const char *err = limit ? "too_many_requests" : "forbidden";
	int bl = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"reason\":\"%s\",\"rule\":%s}\n",
			  err, verdict_text(v), rule);
	if (bl < 0 || (size_t)bl >= sizeof(body))
		bl = snprintf(body, sizeof(body), "{\"error\":\"%s\"}\n", err);
	/* RFC 9110 section 15.5.4; RFC 6585 section 4. */
	int n = snprintf(out, cap,
			 "HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
			 "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
			 limit ? "429 Too Many Requests" : "403 Forbidden", bl, body);
	return (uint16_t)RTE_MIN((size_t)n, cap - 1);
}

/* The HTTP status a denied request is answered with before the reset (0:
 * the reset alone): the deciding rule's own choice, else --deny-response. */
static unsigned deny_status(const struct pc_worker *w, const struct pc_verdict *v)
{
	const struct pc_policy *p = w->pol->policy;
	if (p != NULL && v->rule < (int32_t)pc_policy_rule_count(p)) {
		switch (pc_policy_deny_response(p, v->rule < 0 ? -1 : v->rule)) {
		case PC_DENY_RESPONSE_RESET:
			return 0;
		case PC_DENY_RESPONSE_HTTP_403:
			return 403;
		case PC_DENY_RESPONSE_HTTP_429:
			return 429;
		default: /* UNSET */
			break;
		}
	}
	return w->dp->deny_403 ? 403 : 0;
}

static void send_segment(struct pc_worker *w, const uint8_t *frame, const struct pc_pkt_meta *mt,
			 bool reply, uint16_t out_port, uint32_t seq, uint32_t ack, uint8_t flags,
			 const void *payload, uint16_t len)
{
	struct rte_mbuf *r = pc_tcp_segment_mbuf(w->pool, frame, mt, reply, seq, ack, flags,
						 payload, len);
	if (unlikely(r == NULL)) {
		w->ctr[PC_CTR_MBUF_ALLOC_FAILED]++;
		return;
	}
	r->port = out_port;
	w->ctr[len > 0 ? PC_CTR_DENY_RESPONSES_SENT : PC_CTR_RESETS_SENT]++;
	tx_push(w, out_port, r);
}

/* End an inspected connection on a denied request. m is the client segment
 * that brought the decision (held or not: held is true when the hold owns
 * it). The server gets a reset at exactly the sequence number it expects
 * next (what it has been sent), so its stack takes it at once (RFC 5961
 * section 3.2); the client gets, with --deny-response 403, a 403 at the
 * sequence number it acknowledged, then a reset after it. Everything held is
 * dropped: no byte of a denied request reaches the server. (The client's
 * acknowledgement is the only sure measure of where it is: were the server
 * still sending an earlier answer when the deny comes, the 403 would sit
 * where the client expects that answer's bytes, and the client sees the
 * reset rather than the 403.) A flow not known to carry HTTP (a TLS one, or one
 * whose first byte is still unseen) gets no 403: only the reset. */
static void dlp_close(struct pc_worker *w, struct pc_flow *f);

static void deny_stream(struct pc_worker *w, struct pc_flow *f, struct rte_mbuf *m,
			const struct pc_pkt_meta *mt, bool held)
{
	const uint8_t *frame = rte_pktmbuf_mtod(m, const uint8_t *);
	uint16_t cport = m->port, sport = m->port ^ 1;
	uint32_t srv_seq = mt->tcp_ack;
	uint32_t cli_ack = mt->tcp_seq + mt->payload_len;

	send_segment(w, frame, mt, false, sport, f->fwd_seq, mt->tcp_ack, PC_TCP_RST | PC_TCP_ACK,
		     NULL, 0);
	unsigned status = deny_status(w, &f->verdict);
	if (status != 0 && (f->l7 == PC_FLOW_L7_HEAD || f->l7 == PC_FLOW_L7_BODY ||
			    f->l7 == PC_FLOW_L7_BODY_HOLD)) {
		char resp[512];
		uint16_t n = deny_payload(w, &f->verdict, status, resp, sizeof(resp));
		send_segment(w, frame, mt, true, cport, srv_seq, cli_ack,
			     PC_TCP_PSH | PC_TCP_ACK | PC_TCP_FIN, resp, n);
		srv_seq += n + 1; /* the FIN takes one */
	}
	send_segment(w, frame, mt, true, cport, srv_seq, cli_ack, PC_TCP_RST | PC_TCP_ACK, NULL, 0);

	hold_drop(w, f, hold_free);
	dlp_close(w, f);
	if (!held)
		drop(w, m, PC_CTR_DENIED_DROPPED);
	f->state = PC_FLOW_DENIED;
}

/* Deny for a reason of the dataplane's own (no head was decided). */
static void deny_stream_dp(struct pc_worker *w, struct pc_flow *f, struct rte_mbuf *m,
			   const struct pc_pkt_meta *mt, bool held, enum pc_dp_reason reason,
			   uint8_t detail)
{
	dlp_close(w, f); /* before the generation changes */
	verdict_dp(&f->verdict, reason, detail);
	f->generation = w->pol->generation;
	record(w, mt, &f->verdict, NULL);
	deny_stream(w, f, m, mt, held);
}

/* ---- DLP on request bodies ----
 *
 * A request allowed with the verdict's dlp bit (its destination is
 * external) has its body scanned, every byte, as it goes on: at the
 * in-order fast path and where held segments are released, always before
 * the bytes leave. The stream state comes from the worker's pool of the
 * DLP set the running policy scanned new bodies with when the request was
 * allowed (struct pc_dp_dlp), its index + 1 kept in the flow's two spare
 * bytes (0: none). A stream is acquired when the body starts and released
 * when it ends, or when the flow is denied, reset, reused or aged out. A
 * push that changes the patterns keeps the set before it (dlp_prev), so a
 * body being scanned finishes with the patterns it started with; one older
 * than that (two changes back) cannot go on being scanned: it is denied
 * (dlp_unavailable), like a body that finds the pool empty. */

static inline uint16_t flow_dlp(const struct pc_flow *f)
{
	uint16_t v;
	memcpy(&v, f->pad0, sizeof(v));
	return v;
}

static inline void flow_dlp_set(struct pc_flow *f, uint16_t v)
{
	memcpy(f->pad0, &v, sizeof(v));
}

/* The DLP set f's stream (f has one) is in: the running policy's, when
 * the generation that allowed f's request is the set's or later, else the
 * one before it, likewise; NULL when the set was freed with an older
 * policy. */
static inline const struct pc_dp_dlp *dlp_set_of(const struct pc_worker *w,
						 const struct pc_flow *f)
{
	const struct pc_dp_dlp *d = w->pol->dlp;
	if (d != NULL && f->generation >= d->gen)
		return d;
	d = w->pol->dlp_prev;
	return d != NULL && f->generation >= d->gen ? d : NULL;
}

/* Give f's stream back, if it has one; one from a set an older generation
 * made and took with it is simply forgotten. Call before f->generation
 * changes. */
static void dlp_close(struct pc_worker *w, struct pc_flow *f)
{
	uint16_t s = flow_dlp(f);
	if (likely(s == 0))
		return;
	flow_dlp_set(f, 0);
	const struct pc_dp_dlp *d = w->pol != NULL ? dlp_set_of(w, f) : NULL;
	if (d != NULL)
		pc_dlp_pool_release(d->pool[w->id], (uint32_t)s - 1);
}

/* Give f a stream for the body of the request v allows, when v says the
 * body must be scanned and the policy has DLP. Returns 0, or -ENOSPC when
 * every stream is in use. */
static int dlp_open(struct pc_worker *w, struct pc_flow *f, const struct pc_verdict *v)
{
	dlp_close(w, f);
	const struct pc_dp_dlp *d = w->pol->dlp;
	if (!v->dlp || d == NULL)
		return 0;
	struct pc_dlp_pool *pool = d->pool[w->id];
	uint32_t idx = pc_dlp_pool_acquire(pool);
	if (unlikely(idx == PC_DLP_NO_STREAM))
		return -ENOSPC;
	flow_dlp_set(f, (uint16_t)(idx + 1));
	return 0;
}

/* Scan the next n body bytes p of f's request (f has a stream), carried by
 * m (held: the hold owns m). A match either denies the request (the
 * policy's DLP blocks: m and whatever is held are dropped, both ends reset)
 * or is logged and passes. Returns 0 when the bytes may go on, -1 when the
 * request was denied. */
static int dlp_scan(struct pc_worker *w, struct pc_flow *f, struct rte_mbuf *m,
		    const struct pc_pkt_meta *mt, const uint8_t *p, uint32_t n, bool held)
{
	const struct pc_dp_dlp *d = dlp_set_of(w, f);
	int id = PC_DLP_ERROR;
	if (likely(d != NULL)) {
		struct pc_dlp_stream *st =
			pc_dlp_pool_stream(d->pool[w->id], (uint32_t)flow_dlp(f) - 1);
		id = pc_dlp_stream_scan(st, d->scratch[w->id], p, n);
		w->ctr[PC_CTR_DLP_BYTES_SCANNED] += n;
		if (likely(id == PC_DLP_NO_MATCH))
			return 0;
	}
	if (unlikely(id < 0)) { /* could not scan: fail closed */
		int32_t who = f->verdict.identity;
		dlp_close(w, f);
		verdict_dp(&f->verdict, PC_DP_REASON_DLP_UNAVAILABLE, 0);
		f->verdict.identity = who;
		f->generation = w->pol->generation;
		record(w, mt, &f->verdict, NULL);
		deny_stream(w, f, m, mt, held);
		return -1;
	}
	w->ctr[PC_CTR_DLP_MATCHES]++;
	w->dlp_hit = pc_dlp_pattern_name(d->db, id);
	dlp_close(w, f); /* one record per body */
	struct pc_verdict v = f->verdict;
	v.reason = PC_DP_REASON_DLP_MATCH;
	v.detail = 0;
	if (pc_policy_dlp_blocks(w->pol->policy)) {
		w->ctr[PC_CTR_DLP_BLOCKED]++;
		v.action = PC_ACTION_DENY;
		v.shadow = 0;
		v.rule = -1;
		f->verdict = v;
		record(w, mt, &v, NULL);
		w->dlp_hit = NULL;
		deny_stream(w, f, m, mt, held);
		return -1;
	}
	record(w, mt, &v, NULL);
	w->dlp_hit = NULL;
	return 0;
}

/* Feed span p[0..n) of f's allowed body to its framing tracker, as
 * pc_http_body_feed() does (same outcome, same *used), and when the body
 * has a DLP stream, scan its data bytes: the chunk framing is left out, so
 * a secret cut by a chunk boundary still matches, and the stream is closed
 * where the body ends. One byte tells framing from data; after a data byte
 * the tracker's remain says how many more follow in one run. Sets *denied
 * (and returns INCOMPLETE) when a match or a failed scan denied the
 * request: m and what is held are gone then. */
static enum pc_http_body_reason body_feed(struct pc_worker *w, struct pc_flow *f,
					  struct rte_mbuf *m, const struct pc_pkt_meta *mt,
					  const uint8_t *p, uint32_t n, bool held, size_t *used,
					  bool *denied)
{
	*denied = false;
	if (likely(flow_dlp(f) == 0))
		return pc_http_body_feed(&f->body, p, n, used);
	struct pc_http_body *b = &f->body;
	enum pc_http_body_reason br = PC_HTTP_BODY_INCOMPLETE;
	uint32_t off = 0;
	while (off < n && !pc_http_body_done(b)) {
		if (flow_dlp(f) == 0) { /* a logged match ended the scan: the rest as is */
			size_t u;
			br = pc_http_body_feed(b, p + off, n - off, &u);
			off += (uint32_t)u;
			break;
		}
		uint64_t before = pc_http_body_data_len(b);
		uint32_t start = off;
		size_t u;
		br = pc_http_body_feed(b, p + off, 1, &u);
		off += (uint32_t)u;
		if (unlikely(br != PC_HTTP_BODY_OK && br != PC_HTTP_BODY_INCOMPLETE))
			break;
		if (pc_http_body_data_len(b) == before)
			continue; /* framing */
		uint32_t k = (uint32_t)RTE_MIN(b->remain, (uint64_t)(n - off));
		if (k > 0) {
			br = pc_http_body_feed(b, p + off, k, &u);
			off += (uint32_t)u;
			if (unlikely(br != PC_HTTP_BODY_OK && br != PC_HTTP_BODY_INCOMPLETE))
				break;
		}
		if (dlp_scan(w, f, m, mt, p + start, off - start, held) < 0) {
			*denied = true;
			*used = off;
			return PC_HTTP_BODY_INCOMPLETE;
		}
	}
	if (br == PC_HTTP_BODY_OK)
		dlp_close(w, f);
	*used = off;
	return br;
}

/* True when the quarantine changed since the flow's caller was last decided
 * and now revokes it. A 4-byte compare per packet while nothing changes.
 * Identity indexes belong to one policy generation: a flow decided under an
 * older one is re-decided, quarantine included, at its next request. */
static inline bool quarantined_since_decided(struct pc_worker *w, struct pc_flow *f)
{
	uint32_t e = pc_quarantine_epoch(w->pol->quarantine);
	if (likely(e == f->quar_epoch))
		return false;
	f->quar_epoch = e;
	if (f->generation != w->pol->generation || f->verdict.action != PC_ACTION_ALLOW)
		return false;
	struct pc_verdict v = f->verdict;
	apply_quarantine(w, &v);
	return v.action != PC_ACTION_ALLOW;
}

/* A live connection of a caller quarantined after its last decision ends at
 * its next client packet: logged with reason quarantined, reset both ends. */
static void deny_quarantined(struct pc_worker *w, struct pc_flow *f, struct rte_mbuf *m,
			     const struct pc_pkt_meta *mt)
{
	apply_quarantine(w, &f->verdict);
	w->ctr[PC_CTR_QUARANTINE_RESETS]++;
	record(w, mt, &f->verdict, NULL);
	deny_stream(w, f, m, mt, false);
}

/* Decide the head that starts at f->l7_seq, parsed into w->req with
 * outcome hr, with the request body when it has been held (body_state
 * PC_BODY_ABSENT: not yet). Allowed, f->l7_seq moves past the head. A rule
 * needing the body, while it is absent, is no decision yet: nothing is
 * recorded and the caller holds the body. */
static enum pc_head_outcome decide_head(struct pc_worker *w, struct pc_flow *f,
					const struct pc_pkt_meta *mt, enum pc_http_reason hr,
					const uint8_t *body, uint32_t body_len,
					enum pc_body_state body_state)
{
	const struct pc_http_req *http = NULL;
	struct pc_verdict v;

	dlp_close(w, f); /* the previous body's, should it not have ended */
	if (likely(hr == PC_HTTP_OK)) {
		http = &w->req;
		struct pc_request rq = {
			.src = mt->src, .dst = mt->dst, .sport = mt->sport, .dport = mt->dport,
			.l4_proto = mt->l4_proto, .http = http, .now_s = w->now_s,
			.body = body, .body_len = body_len, .body_state = body_state,
			.sources = pc_source_lpm_index(w->pol->sources),
		};
		if (unlikely(w->pol->policy == NULL))
			verdict_deny(&v, PC_REASON_NO_POLICY);
		else
			pc_decide(w->pol->policy, engine_scratch(w), &rq, &v);
		if (v.action != PC_ACTION_ALLOW && v.reason == PC_REASON_BODY_REQUIRED &&
		    body_state == PC_BODY_ABSENT)
			return PC_HEAD_NEEDS_BODY;
		apply_quarantine(w, &v);
		/* After an Upgrade the stream is no longer HTTP/1.1 requests
		 * this gateway can frame: fail closed. */
		if (v.action == PC_ACTION_ALLOW &&
		    pc_http_header_find(http, "upgrade", 7) != NULL) {
			verdict_dp(&v, PC_DP_REASON_HTTP_UPGRADE, 0);
			v.identity = -1;
		}
		/* A body that must be scanned and cannot be is not let
		 * through: fail closed. */
		if (v.action == PC_ACTION_ALLOW && (w->req.chunked || w->req.content_length > 0) &&
		    unlikely(dlp_open(w, f, &v) < 0)) {
			int32_t id = v.identity;
			verdict_dp(&v, PC_DP_REASON_DLP_UNAVAILABLE, 0);
			v.identity = id;
		}
	} else {
		pc_verdict_malformed(&v, (uint8_t)hr);
	}
	f->verdict = v;
	f->generation = w->pol->generation;
	f->quar_epoch = pc_quarantine_epoch(w->pol->quarantine);
	f->requests++;
	record(w, mt, &v, http);
	if (v.action != PC_ACTION_ALLOW)
		return PC_HEAD_DENIED;
	f->l7_seq += w->req.head_len;
	pc_http_body_init(&f->body, w->req.content_length, w->req.chunked != 0);
	f->l7 = pc_http_body_done(&f->body) ? PC_FLOW_L7_HEAD : PC_FLOW_L7_BODY;
	return PC_HEAD_ALLOWED;
}

/* Feed span d[0..n) of a request body to tracker b, and copy its data bytes
 * (never the chunk framing) to out[*got..cap). Stops at the end of the body
 * or when out is full; *used says how much of d was read. Returns the
 * tracker's outcome for the bytes read. One byte tells framing from data;
 * after a data byte the tracker's remain says how many more data bytes
 * follow in one run, so a body costs two feeds per span and chunk. */
static enum pc_http_body_reason body_copy(struct pc_http_body *b, const uint8_t *d, uint32_t n,
					  uint8_t *out, uint32_t cap, uint32_t *got,
					  uint32_t *used)
{
	enum pc_http_body_reason br = PC_HTTP_BODY_INCOMPLETE;
	uint32_t off = 0;
	while (off < n && *got < cap && !pc_http_body_done(b)) {
		uint64_t before = pc_http_body_data_len(b);
		size_t u;
		br = pc_http_body_feed(b, d + off, 1, &u);
		if (unlikely(br != PC_HTTP_BODY_OK && br != PC_HTTP_BODY_INCOMPLETE))
			break;
		off += (uint32_t)u;
		if (pc_http_body_data_len(b) == before)
			continue; /* framing */
		out[(*got)++] = d[off - 1];
		uint32_t k = (uint32_t)RTE_MIN(b->remain, (uint64_t)RTE_MIN(n - off, cap - *got));
		if (k == 0)
			continue;
		br = pc_http_body_feed(b, d + off, k, &u);
		if (unlikely(br != PC_HTTP_BODY_OK && br != PC_HTTP_BODY_INCOMPLETE))
			break;
		memcpy(out + *got, d + off, u);
		*got += (uint32_t)u;
		off += (uint32_t)u;
	}
	*used = off;
	return br;
}

/* The body window of the running policy, bounded by the worker's buffer. */
static inline uint32_t body_window(const struct pc_worker *w)
{
	uint32_t win = w->pol->policy != NULL ? pc_policy_body_window(w->pol->policy)
					       : PC_WORKER_BODY_MAX;
	return RTE_MIN(win, (uint32_t)PC_WORKER_BODY_MAX);
}

/* BODY_HOLD: the head at f->l7_seq waits for its body. Once the body is
 * whole or fills the window, its data (de-chunked) goes to w->body and the
 * head is decided again with it. Returns PC_HEAD_NEEDS_BODY while more is
 * to come. */
static enum pc_head_outcome body_hold_try(struct pc_worker *w, struct pc_flow *f,
					  const struct pc_pkt_meta *mt)
{
	struct pc_reasm *r = &w->reasm;
	struct pc_reasm_hold *h = pc_reasm_hold(r, f->hold);
	uint32_t len, total;
	/* The head was parsed whole before from the same held bytes (the
	 * hold refuses a conflicting copy): it parses the same again. */
	const char *p = (const char *)pc_reasm_view(r, h, f->l7_seq, &len, &total);
	enum pc_http_reason hr = pc_http_parse_head(p, len, &w->req);
	if (unlikely(hr != PC_HTTP_OK))
		return decide_head(w, f, mt,
				   hr == PC_HTTP_INCOMPLETE ? PC_HTTP_HEAD_TOO_LARGE : hr, NULL, 0,
				   PC_BODY_WHOLE);

	struct pc_http_body b;
	pc_http_body_init(&b, w->req.content_length, w->req.chunked != 0);
	uint32_t cap = body_window(w), got = 0;
	uint32_t seq = f->l7_seq + w->req.head_len;
	while (!pc_http_body_done(&b) && got < cap) {
		uint32_t n, used;
		const uint8_t *d = pc_reasm_span(h, seq, &n);
		if (d == NULL)
			return PC_HEAD_NEEDS_BODY; /* wait for more */
		enum pc_http_body_reason br = body_copy(&b, d, n, w->body, cap, &got, &used);
		if (unlikely(br != PC_HTTP_BODY_OK && br != PC_HTTP_BODY_INCOMPLETE)) {
			verdict_dp(&f->verdict, PC_DP_REASON_HTTP_BODY_MALFORMED, (uint8_t)br);
			f->generation = w->pol->generation;
			f->requests++;
			record(w, mt, &f->verdict, NULL);
			return PC_HEAD_DENIED;
		}
		seq += used;
	}
	w->ctr[PC_CTR_BODY_BYTES_INSPECTED] += got;
	return decide_head(w, f, mt, PC_HTTP_OK, w->body, got,
			   pc_http_body_done(&b) ? PC_BODY_WHOLE : PC_BODY_TRUNCATED);
}

/* Decide the ClientHello that starts at f->l7_seq, parsed into w->tls with
 * outcome tr. Returns true when allowed. */
static bool decide_hello(struct pc_worker *w, struct pc_flow *f, const struct pc_pkt_meta *mt,
			 enum pc_tls_reason tr)
{
	const struct pc_tls_hello *hello = NULL;
	struct pc_verdict v;

	w->ctr[PC_CTR_TLS_HELLOS_DECIDED]++;
	if (likely(tr == PC_TLS_OK)) {
		hello = &w->tls;
		struct pc_request rq = {
			.src = mt->src, .dst = mt->dst, .sport = mt->sport, .dport = mt->dport,
			.l4_proto = mt->l4_proto, .http = NULL, .tls = hello, .now_s = w->now_s,
			.sources = pc_source_lpm_index(w->pol->sources),
		};
		if (unlikely(w->pol->policy == NULL))
			verdict_deny(&v, PC_REASON_NO_POLICY);
		else
			pc_decide(w->pol->policy, engine_scratch(w), &rq, &v);
		apply_quarantine(w, &v);
	} else {
		w->ctr[PC_CTR_TLS_HELLOS_MALFORMED]++;
		pc_verdict_tls_malformed(&v, (uint8_t)tr);
	}
	f->verdict = v;
	f->generation = w->pol->generation;
	f->quar_epoch = pc_quarantine_epoch(w->pol->quarantine);
	f->requests++;
	record_tls(w, mt, &v, hello);
	return v.action == PC_ACTION_ALLOW;
}

/* The held bytes from f->l7_seq on are (the start of) a ClientHello: parse
 * what is contiguous and decide once the hello is whole. Allowed, every held
 * segment goes on (later ones included: what follows the hello is
 * encrypted and passes unread) and the flow passes from then on. m (held)
 * brought us here. */
static void advance_tls(struct pc_worker *w, struct pc_flow *f, struct rte_mbuf *m,
			const struct pc_pkt_meta *mt)
{
	struct pc_reasm *r = &w->reasm;
	struct pc_reasm_hold *h = pc_reasm_hold(r, f->hold);
	uint32_t len, total;

	if (pc_reasm_contig(h, f->l7_seq) == 0)
		return; /* a gap at the start: wait for it */
	const uint8_t *p = pc_reasm_view(r, h, f->l7_seq, &len, &total);
	enum pc_tls_reason tr = pc_tls_hello_parse(p, len, &w->tls);
	if (tr == PC_TLS_INCOMPLETE) {
		/* The hold shows at most max_head bytes: a hello needing more
		 * can never be decided here, and is refused (decide.h: a hello
		 * still incomplete at the hold bound). */
		if (likely(len == total && w->tls.need <= r->max_head))
			return; /* wait for more */
		tr = PC_TLS_HELLO_TOO_LARGE;
	}
	if (!decide_hello(w, f, mt, tr)) {
		deny_stream(w, f, m, mt, true);
		return;
	}
	f->l7 = PC_FLOW_L7_TLS_PASS;
	f->l7_seq += w->tls.stream_len;
	hold_release(w, f);
	if (f->hold != 0) {
		/* Segments past the hello (sorted by seq): on with the rest. */
		h = pc_reasm_hold(r, f->hold);
		for (uint32_t i = 0; i < h->n; i++)
			if (pc_seq_lt(f->fwd_seq, h->seg[i].seq + h->seg[i].len))
				f->fwd_seq = h->seg[i].seq + h->seg[i].len;
		hold_drop(w, f, hold_send);
	}
}

/* Whether the held bytes at f->l7_seq (one segment's worth) can begin a
 * request (http_parse.h). */
static inline bool may_start(const struct pc_reasm_hold *h, const struct pc_flow *f)
{
	uint32_t n;
	const char *p = (const char *)pc_reasm_span(h, f->l7_seq, &n);
	return p != NULL && pc_http_may_start_request(p, n);
}

/* Walk the held bytes from f->l7_seq: decide every head that is complete,
 * track every body, then send on what is decided. m (held) brought us here. */
static void advance(struct pc_worker *w, struct pc_flow *f, struct rte_mbuf *m,
		    const struct pc_pkt_meta *mt)
{
	struct pc_reasm *r = &w->reasm;
	struct pc_reasm_hold *h = pc_reasm_hold(r, f->hold);

	if (f->l7 == PC_FLOW_L7_SNIFF) {
		uint32_t n;
		const uint8_t *p = pc_reasm_span(h, f->l7_seq, &n);
		if (p == NULL)
			return; /* the first byte is not here yet */
		/* RFC 8446 §5.1: ContentType handshake(22) opens a TLS stream;
		 * no HTTP method (RFC 9110 §9, a token) starts with it. */
		f->l7 = p[0] == 22 ? PC_FLOW_L7_TLS_HELLO : PC_FLOW_L7_HEAD;
	}
	if (f->l7 == PC_FLOW_L7_TLS_HELLO) {
		advance_tls(w, f, m, mt);
		return;
	}

	for (;;) {
		if (f->l7 == PC_FLOW_L7_BODY_HOLD) {
			enum pc_head_outcome o = body_hold_try(w, f, mt);
			if (o == PC_HEAD_NEEDS_BODY)
				break;
			if (o == PC_HEAD_DENIED) {
				deny_stream(w, f, m, mt, true);
				return;
			}
			continue;
		}
		if (f->l7 == PC_FLOW_L7_BODY) {
			uint32_t n;
			size_t used;
			const uint8_t *p = pc_reasm_span(h, f->l7_seq, &n);
			if (p == NULL)
				break;
			bool denied;
			enum pc_http_body_reason br = body_feed(w, f, m, mt, p, n, true, &used,
								&denied);
			if (unlikely(denied))
				return;
			if (unlikely(br != PC_HTTP_BODY_OK && br != PC_HTTP_BODY_INCOMPLETE)) {
				deny_stream_dp(w, f, m, mt, true, PC_DP_REASON_HTTP_BODY_MALFORMED,
					       (uint8_t)br);
				return;
			}
			if (br == PC_HTTP_BODY_INCOMPLETE) {
				f->l7_seq += n;
				continue;
			}
			f->l7_seq += (uint32_t)used;
			f->l7 = PC_FLOW_L7_HEAD;
			continue;
		}
		uint32_t len, total, all = pc_reasm_contig(h, f->l7_seq);
		if (all == 0)
			break;
		/* Parse only once the head can have ended: before, the parser
		 * could only say INCOMPLETE or name an error that is still there
		 * at the end, and nothing held is sent either way. Except on the
		 * first look at a head that does not start like a request (it is
		 * refused at once, with the parser's reason), and past a line's
		 * bound, where the parser reads on every segment so an over-long
		 * line is refused as such, not later as a head too large. */
		bool first = !pc_reasm_head_seen(h, f->l7_seq, all);
		if (all < PC_HTTP_MAX_LINE && all < r->max_head &&
		    !pc_reasm_head_may_end(h, f->l7_seq, all) && !(first && !may_start(h, f)))
			break;
		const char *p = (const char *)pc_reasm_view(r, h, f->l7_seq, &len, &total);
		enum pc_http_reason hr = pc_http_parse_head(p, len, &w->req);
		if (hr == PC_HTTP_INCOMPLETE) {
			if (likely(total < r->max_head))
				break; /* wait for more */
			hr = PC_HTTP_HEAD_TOO_LARGE;
		}
		/* A head that starts inside a segment shared with the previous
		 * request. */
		if (pc_seq_lt(h->seg[0].seq, f->l7_seq))
			w->ctr[PC_CTR_REQUESTS_PIPELINED]++;
		enum pc_head_outcome o = decide_head(w, f, mt, hr, NULL, 0, PC_BODY_ABSENT);
		if (o == PC_HEAD_NEEDS_BODY) {
			/* Hold on, past the head: the body is bounded apart. */
			pc_reasm_widen(r, f->hold);
			f->l7 = PC_FLOW_L7_BODY_HOLD;
			w->ctr[PC_CTR_REQUESTS_BODY_HELD]++;
			continue;
		}
		if (o == PC_HEAD_DENIED) {
			deny_stream(w, f, m, mt, true);
			return;
		}
	}
	hold_release(w, f);
}

/* A client segment with payload on an inspected flow. */
static void inspect_client(struct pc_worker *w, struct rte_mbuf *m, const struct pc_pkt_ctx *c,
			   struct pc_flow *f)
{
	const struct pc_pkt_meta *mt = &c->meta;
	uint32_t seq = mt->tcp_seq, len = mt->payload_len, end = seq + len;
	const uint8_t *data = rte_pktmbuf_mtod_offset(m, const uint8_t *, mt->payload_off);

	/* Only decided bytes: a retransmission. Where they are still held
	 * (the end of a body in a segment that waits for the next head's
	 * decision) they must match, or the server, which keeps the first copy
	 * it gets, could be sent framing other than the one tracked. */
	if (pc_seq_le(end, f->l7_seq)) {
		if (f->hold != 0) {
			struct pc_reasm_seg sg = { .seq = seq, .len = len, .data = data, .pkt = m };
			switch (pc_reasm_insert(&w->reasm, pc_reasm_hold(&w->reasm, f->hold), &sg,
						seq)) {
			case PC_REASM_CONFLICT:
				w->ctr[PC_CTR_TCP_OVERLAP_CONFLICT]++;
				deny_stream_dp(w, f, m, mt, false,
					       PC_DP_REASON_TCP_OVERLAP_CONFLICT, 0);
				return;
			case PC_REASM_HELD: /* goes out in order with what it overlaps */
				w->ctr[PC_CTR_HELD]++;
				hold_release(w, f);
				return;
			case PC_REASM_DUPLICATE:
				drop(w, m, PC_CTR_TCP_RETRANSMIT_DROPPED);
				return;
			default:
				break; /* no room: it passes like one of bytes sent */
			}
		}
		/* Bytes the server has been sent already: on again; the
		 * server's TCP keeps the copy it has. */
		w->ctr[PC_CTR_TCP_RETRANSMIT_PASSED]++;
		tx_push(w, m->port ^ 1, m);
		return;
	}
	if (unlikely((uint32_t)(end - f->l7_seq) > PC_REASM_WINDOW)) {
		drop(w, m, PC_CTR_TCP_OUT_OF_WINDOW);
		return;
	}
	if (f->hold != 0 && unlikely(w->now_tsc - f->hold_tsc > w->dp->hold_timeout_tsc) &&
	    holds_undecided(f)) {
		w->ctr[PC_CTR_HOLD_TIMEOUT]++;
		deny_stream_dp(w, f, m, mt, false, PC_DP_REASON_HOLD_TIMEOUT, 0);
		return;
	}

	/* The common case of a body: in order, nothing held, so the segment
	 * goes on at once once the framing tracker has read it. */
	if (f->l7 == PC_FLOW_L7_BODY && f->hold == 0 && pc_seq_le(seq, f->l7_seq)) {
		uint32_t skip = f->l7_seq - seq;
		size_t used;
		bool denied;
		/* Scanned, when it must be, before it leaves. */
		enum pc_http_body_reason br = body_feed(w, f, m, mt, data + skip, len - skip, false,
							&used, &denied);
		if (unlikely(denied))
			return;
		if (br == PC_HTTP_BODY_INCOMPLETE || (br == PC_HTTP_BODY_OK && used == len - skip)) {
			f->l7_seq = end;
			if (br == PC_HTTP_BODY_OK)
				f->l7 = PC_FLOW_L7_HEAD;
			if (pc_seq_lt(f->fwd_seq, end))
				f->fwd_seq = end;
			tx_push(w, m->port ^ 1, m);
			return;
		}
		if (unlikely(br != PC_HTTP_BODY_OK)) {
			deny_stream_dp(w, f, m, mt, false, PC_DP_REASON_HTTP_BODY_MALFORMED,
				       (uint8_t)br);
			return;
		}
		/* The next request's head starts inside this segment: hold it
		 * whole until that head is decided. */
		f->l7_seq += (uint32_t)used;
		f->l7 = PC_FLOW_L7_HEAD;
	}

	struct pc_reasm *r = &w->reasm;
	uint32_t contig_end = f->l7_seq;
	if (f->hold == 0) {
		f->hold = pc_reasm_get(r);
		if (unlikely(f->hold == 0)) { /* only when max_pkts are held */
			if (f->l7 == PC_FLOW_L7_BODY)
				drop(w, m, PC_CTR_HOLD_LIMIT);
			else
				deny_stream_dp(w, f, m, mt, false, PC_DP_REASON_HOLD_LIMIT, 0);
			if (f->l7 != PC_FLOW_L7_BODY)
				w->ctr[PC_CTR_HOLD_LIMIT]++;
			return;
		}
		f->hold_tsc = w->now_tsc;
	} else {
		contig_end += pc_reasm_contig(pc_reasm_hold(r, f->hold), f->l7_seq);
	}
	struct pc_reasm_hold *h = pc_reasm_hold(r, f->hold);
	struct pc_reasm_seg sg = { .seq = seq, .len = len, .data = data, .pkt = m };
	enum pc_reasm_result res = pc_reasm_insert(r, h, &sg, f->l7_seq);
	/* A full hold of body bytes ahead of a gap must still take the
	 * segment that fills the gap, or the stream could never move again:
	 * the furthest segment makes room (the client sends it again). */
	if (res == PC_REASM_FULL && f->l7 == PC_FLOW_L7_BODY &&
	    pc_reasm_yield_last(r, h, &sg, hold_free_full, w))
		res = pc_reasm_insert(r, h, &sg, f->l7_seq);
	switch (res) {
	case PC_REASM_HELD:
		w->ctr[PC_CTR_HELD]++;
		if (pc_seq_lt(contig_end, seq))
			w->ctr[PC_CTR_TCP_OUT_OF_ORDER]++;
		break;
	case PC_REASM_DUPLICATE:
		drop(w, m, PC_CTR_TCP_RETRANSMIT_DROPPED);
		if (h->n == 0) {
			pc_reasm_put(r, f->hold);
			f->hold = 0;
		}
		return;
	case PC_REASM_CONFLICT:
		w->ctr[PC_CTR_TCP_OVERLAP_CONFLICT]++;
		deny_stream_dp(w, f, m, mt, false, PC_DP_REASON_TCP_OVERLAP_CONFLICT, 0);
		return;
	default: /* PC_REASM_FULL */
		if (f->l7 == PC_FLOW_L7_BODY) {
			/* Body bytes ahead of a gap: dropping is safe, the
			 * client sends them again. */
			drop(w, m, PC_CTR_HOLD_LIMIT);
			if (h->n == 0) {
				pc_reasm_put(r, f->hold);
				f->hold = 0;
			}
		} else {
			w->ctr[PC_CTR_HOLD_LIMIT]++;
			deny_stream_dp(w, f, m, mt, false, PC_DP_REASON_HOLD_LIMIT, 0);
		}
		return;
	}
	advance(w, f, m, mt);
}

static void track_server(struct pc_worker *w, const struct pc_pkt_ctx *c, const struct pc_flow *f,
			 const struct rte_mbuf *m);

/* Any packet of an inspected flow. */
static void inspect_packet(struct pc_worker *w, struct rte_mbuf *m, const struct pc_pkt_ctx *c,
			   struct pc_flow *f, bool from_client)
{
	const struct pc_pkt_meta *mt = &c->meta;
	if (!from_client)
		track_server(w, c, f, m); /* for a reset with no packet in hand */
	if (f->l7 == PC_FLOW_L7_TLS_PASS) {
		/* Encrypted from here: on both ways. The server's next
		 * expected byte is tracked so that a quarantine reset lands
		 * in its window. */
		if (from_client) {
			uint32_t end = mt->tcp_seq + mt->payload_len;
			if (pc_seq_lt(f->fwd_seq, end))
				f->fwd_seq = end;
		}
		tx_push(w, m->port ^ 1, m);
		return;
	}
	if (from_client && mt->payload_len > 0) {
		inspect_client(w, m, c, f);
		return;
	}
	if (!from_client && (mt->tcp_flags & (PC_TCP_SYN | PC_TCP_ACK)) == (PC_TCP_SYN | PC_TCP_ACK))
		f->server_isn = mt->tcp_seq;
	/* Either end resetting ends the connection: nothing held will ever
	 * be wanted. */
	if (mt->tcp_flags & PC_TCP_RST) {
		hold_drop(w, f, hold_free_aged);
		dlp_close(w, f);
	}
	/* Handshake, ACKs, FINs, the server's side: on as they are. */
	tx_push(w, m->port ^ 1, m);
}

/* A packet with no flow (pos < 0), or a client SYN opening a new connection
 * on the tuple of an old flow (pos >= 0: the slot is reused). */
static void new_flow(struct pc_worker *w, struct rte_mbuf *m, struct pc_pkt_ctx *c, int32_t pos)
{
	const struct pc_pkt_meta *mt = &c->meta;
	const struct pc_policy *p = w->pol->policy;
	bool tcp = mt->l4_proto == PC_PROTO_TCP;
	enum pc_inspect kind = (tcp && p != NULL) ? pc_policy_inspect_kind(p, &mt->dst, mt->dport)
						  : PC_INSPECT_NONE;
	bool inspect = kind != PC_INSPECT_NONE;

	/* An inspected flow must be seen from its first byte, or the request
	 * head could already be past us. With --tcp-midstream pickup (after
	 * a restart, or a migration from another gateway) a plain ACK segment
	 * of the client starts a flow too, read from that segment's first
	 * byte: a request that starts there is decided like any other, and
	 * bytes that are not a request head (the middle of a body) are denied
	 * as such, so nothing passes uninspected. */
	bool pickup = false;
	if (inspect && (mt->tcp_flags & (PC_TCP_SYN | PC_TCP_ACK)) != PC_TCP_SYN) {
		pickup = w->dp->midstream_pickup &&
			 (mt->tcp_flags & (PC_TCP_SYN | PC_TCP_ACK | PC_TCP_FIN | PC_TCP_RST)) ==
				 PC_TCP_ACK;
		if (!pickup) {
			drop(w, m, PC_CTR_TCP_MIDSTREAM);
			return;
		}
	} else if (inspect && unlikely(mt->payload_len > 0)) {
		/* Data on a SYN (TCP Fast Open) would reach the server before
		 * any inspection; a client retries without it. */
		drop(w, m, PC_CTR_TCP_SYN_WITH_DATA);
		return;
	}

	struct pc_flow_table *t = w->flows;
	if (pos < 0) {
		pos = pc_flow_table_add(t, c->fam, &c->key, c->sig);
		if (unlikely(pos < 0)) {
			/* Fail closed: no entry, no forwarding. Nothing is
			 * evicted for it, so a SYN flood cannot push out
			 * established flows: only aging frees slots. */
			if (tcp && (mt->tcp_flags & PC_TCP_SYN))
				w->ctr[PC_CTR_FLOW_TABLE_FULL_SYN]++;
			drop(w, m, PC_CTR_FLOW_TABLE_FULL);
			return;
		}
		w->ctr[PC_CTR_FLOWS_CREATED]++;
		w->batch_created++;
	}
	struct pc_flow *f = pc_flow_table_entry(t, c->fam, pos);
	hold_drop(w, f, hold_free_aged); /* a reused slot: the old connection's */
	dlp_close(w, f);
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
		f->l7 = kind == PC_INSPECT_TLS		? PC_FLOW_L7_TLS_HELLO
			: kind == PC_INSPECT_HTTP_OR_TLS ? PC_FLOW_L7_SNIFF
							 : PC_FLOW_L7_HEAD;
		verdict_deny(&f->verdict, PC_REASON_DEFAULT); /* nothing decided yet */
		if (pickup) {
			w->ctr[PC_CTR_TCP_MIDSTREAM_PICKED_UP]++;
			f->l7_seq = f->fwd_seq = mt->tcp_seq;
			if (mt->payload_len > 0) {
				inspect_client(w, m, c, f);
				return;
			}
		} else {
			f->l7_seq = f->fwd_seq = mt->tcp_seq + 1; /* the SYN takes one */
		}
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
			.sources = pc_source_lpm_index(w->pol->sources),
		};
		pc_decide(p, engine_scratch(w), &rq, &f->verdict);
		apply_quarantine(w, &f->verdict);
	}
	f->quar_epoch = pc_quarantine_epoch(w->pol->quarantine);
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
		if (from_client && unlikely(quarantined_since_decided(w, f))) {
			deny_quarantined(w, f, m, mt);
			break;
		}
		inspect_packet(w, m, c, f, from_client);
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
			if (pos[fam][j] >= 0) {
				/* Both lines: the stream state of an inspected flow
				 * is on the second. */
				const char *e = (const char *)pc_flow_table_entry(w->flows, fam,
										   pos[fam][j]);
				rte_prefetch0(e);
				rte_prefetch0(e + RTE_CACHE_LINE_MIN_SIZE);
			}
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
	w->now_s = (int64_t)time(NULL); /* vDSO, no syscall: token exp/nbf */
}

static inline void send_queued(struct pc_worker *w)
{
	tx_flush_port(w, 0);
	tx_flush_port(w, 1);
}

void pc_worker_publish(struct pc_worker *w)
{
	pc_counters_publish(&w->counters, w->ctr);
	w->unpublished = 0;
}

void pc_worker_flush(struct pc_worker *w)
{
	send_queued(w);
	/* Publishing looks at every counter (some 170, about 100 cycles):
	 * once every few bursts, and whenever the worker finds nothing to do
	 * (pc_worker_poll) or does its housekeeping, not after every burst. */
	if (++w->unpublished >= PC_WORKER_PUBLISH_BURSTS)
		pc_worker_publish(w);
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
	if (total == 0 && w->unpublished > 0)
		pc_worker_publish(w); /* idle: what the last bursts counted */
	if (total > 0) {
		pc_worker_flush(w);
		if (unlikely(w->pol != w->pol_stamped)) { /* once per swap */
			w->pol_stamped = w->pol;
			__atomic_store_n(&w->pol_first_tsc, w->now_tsc, __ATOMIC_RELAXED);
		}
	}
	return total;
}

static void flow_drop_hold(void *arg, struct pc_flow *f)
{
	hold_drop(arg, f, hold_free_aged);
}

static void quarantine_idle(struct pc_worker *w, struct pc_flow *f);

/* The aging sweep's visit: a live TCP connection whose caller the quarantine
 * has revoked since its last decision ends here, idle or not (within one
 * sweep period of the revocation); an idle flow takes its held packets with
 * it; a head still incomplete hold_timeout after its first byte is denied
 * (a client that trickles a head must not pin packets for the flow's whole
 * idle timeout), and body segments held ahead of a gap that long are
 * dropped (the client sends them again). */
static void flow_visit(void *arg, struct pc_flow *f, bool expired)
{
	struct pc_worker *w = arg;
	if (!expired && f->proto == PC_PROTO_TCP &&
	    (f->state == PC_FLOW_INSPECT || f->state == PC_FLOW_FORWARD) &&
	    unlikely(quarantined_since_decided(w, f))) {
		quarantine_idle(w, f);
		return;
	}
	if (expired)
		dlp_close(w, f); /* a body never finished */
	if (f->hold == 0)
		return;
	if (expired) {
		hold_drop(w, f, hold_free_aged);
		return;
	}
	if (w->now_tsc - f->hold_tsc <= w->dp->hold_timeout_tsc)
		return;
	if (!holds_undecided(f) || f->state != PC_FLOW_INSPECT) {
		hold_drop(w, f, hold_free_aged);
		return;
	}
	/* The resets are built from the first held segment, which the deny
	 * frees with the rest. */
	struct rte_mbuf *m = pc_reasm_hold(&w->reasm, f->hold)->seg[0].pkt;
	struct pc_pkt_meta mt;
	if (pc_pkt_parse(rte_pktmbuf_mtod(m, const uint8_t *), rte_pktmbuf_data_len(m), false,
			 &mt) != PC_PKT_OK) {
		hold_drop(w, f, hold_free_aged); /* parsed once already: cannot happen */
		return;
	}
	w->ctr[PC_CTR_HOLD_TIMEOUT]++;
	deny_stream_dp(w, f, m, &mt, true, PC_DP_REASON_HOLD_TIMEOUT, 0);
}

void pc_worker_drop_holds(struct pc_worker *w)
{
	if (w->flows != NULL && w->reasm.holds != NULL)
		pc_flow_table_foreach(w->flows, flow_drop_hold, w);
}

/* The aging sweep is paced by time, not by loops: each slice examines the
 * share of the table (both families' slots) due since the last slice, so a
 * whole sweep takes PC_WORKER_SWEEP_MS however fast or slow the loop runs.
 * Rounding up per slice only makes it quicker, so the bound on a whole sweep
 * is PC_WORKER_SWEEP_MS plus the gap between two housekeepings (64 loops:
 * microseconds under load, at most 64 idle sleeps of 200 us, ~13 ms, when
 * the queues are empty): under 100 ms at any table size. The cost moves the
 * other way: at the default 65536 flows per family (~131072 slots), a
 * housekeeping every ~200 us of a busy worker examines ~330 slots; an idle
 * one, 13 ms apart, ~21000 (nothing waits for it then). */
static unsigned sweep_budget(struct pc_worker *w)
{
	if (unlikely(w->sweep_tsc == 0)) {
		w->sweep_tsc = rte_get_tsc_hz() * PC_WORKER_SWEEP_MS / 1000;
		w->sweep_last_tsc = w->now_tsc;
	}
	/* slots < 2^33 and dt <= sweep_tsc < 2^30: the product fits. */
	uint64_t dt = RTE_MIN(w->now_tsc - w->sweep_last_tsc, w->sweep_tsc);
	w->sweep_last_tsc = w->now_tsc;
	uint64_t due = (uint64_t)pc_flow_table_slots(w->flows) * dt / w->sweep_tsc + 1;
	return (unsigned)RTE_MAX(due, (uint64_t)PC_WORKER_AGE_SLICE);
}

static void housekeeping(struct pc_worker *w)
{
	struct pc_dp *dp = w->dp;
	/* The sweep may deny a timed-out head or reset a quarantined caller,
	 * which reads the policy this loop loaded: it runs before the
	 * quiescent report. */
	w->now_tsc = rte_rdtsc();
	unsigned aged = pc_flow_table_age(w->flows, w->now_tsc, dp->idle_est_tsc,
					  dp->idle_other_tsc, sweep_budget(w), flow_visit, w);
	w->ctr[PC_CTR_FLOWS_AGED] += aged;
	/* Acquire: the request the main lcore wrote before dump_req. */
	if (unlikely(__atomic_load_n(&w->dump_req, __ATOMIC_ACQUIRE) != w->dump_done))
		pc_flow_dump_work(w);
	send_queued(w); /* resets of timed-out heads */
	pc_worker_publish(w);
}

static void idle(struct pc_worker *w)
{
	if (++w->empty_polls < PC_WORKER_IDLE_SPIN_POLLS) {
		rte_pause();
		return;
	}
	/* Sleep a little longer each time the queues are still empty: latency
	 * on the first packet after a lull stays within the last sleep. Offline
	 * while asleep, so a swap's grace period does not wait for the sleep to
	 * end; online again before the next loop loads the policy. */
	w->sleep_us = w->sleep_us == 0 ? 1 : RTE_MIN(w->sleep_us * 2, PC_WORKER_IDLE_MAX_SLEEP_US);
	rte_rcu_qsbr_thread_offline(w->dp->rcu, w->id);
	rte_delay_us_sleep(w->sleep_us);
	rte_rcu_qsbr_thread_online(w->dp->rcu, w->id);
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
		/* No reference to the policy survives between loops, so here the
		 * worker holds none. Every loop, so that a swap's grace period is
		 * one loop long: the report is a load and a store to this
		 * worker's own line of the RCU variable. */
		rte_rcu_qsbr_quiescent(dp->rcu, w->id);
		if (got > 0) {
			w->empty_polls = 0;
			w->sleep_us = 0;
		} else if (!busy) {
			idle(w);
		}
	}

	pc_worker_drop_holds(w);
	send_queued(w);
	pc_worker_publish(w);
	rte_rcu_qsbr_thread_offline(dp->rcu, w->id);
	rte_rcu_qsbr_thread_unregister(dp->rcu, w->id);
	return 0;
}

/* ---- resets with no packet in hand ---- */

/* Keep what a reset of this inspected flow needs that the flow key does not
 * have: the L2 header of the server's SYN-ACK (MACs and VLAN tags as the
 * wire has them) and the server's next sequence number. In the parallel aux
 * array (flow_table.h: the entry's 128 bytes are full), touched only by the
 * server's packets of inspected flows. */
static void track_server(struct pc_worker *w, const struct pc_pkt_ctx *c, const struct pc_flow *f,
			 const struct rte_mbuf *m)
{
	const struct pc_pkt_meta *mt = &c->meta;
	struct pc_flow_aux *a = pc_flow_table_aux(w->flows, c->fam, f);
	uint32_t end = mt->tcp_seq + mt->payload_len + ((mt->tcp_flags & PC_TCP_SYN) != 0) +
		       ((mt->tcp_flags & PC_TCP_FIN) != 0);
	if (mt->tcp_flags & PC_TCP_RST)
		return;
	if (mt->tcp_flags & PC_TCP_SYN) {
		a->srv_nxt = end;
		if (mt->l3_off <= sizeof(a->l2)) {
			memcpy(a->l2, rte_pktmbuf_mtod(m, const uint8_t *), mt->l3_off);
			a->l2_len = (uint8_t)mt->l3_off;
		}
	} else if (pc_seq_lt(a->srv_nxt, end)) {
		a->srv_nxt = end;
	}
}

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* A client-to-server segment of flow f (key k of family fam) with no
 * payload, for pc_tcp_segment_frame() to take its addressing from: the
 * server's recorded L2 header with the MACs swapped, or, when none was
 * recorded, zero MACs and the key's VLAN id (good for the decision record
 * only). Returns its length. */
static uint16_t flow_frame(uint8_t *out, const struct pc_flow *f, const struct pc_flow_aux *a,
			   unsigned fam, const union pc_flow_key *k)
{
	uint16_t n;
	uint16_t et = fam == PC_FLOW_V4 ? 0x0800 : 0x86dd;
	if (a->l2_len >= 14) {
		memcpy(out, a->l2, a->l2_len);
		memcpy(out, a->l2 + 6, 6);
		memcpy(out + 6, a->l2, 6);
		n = a->l2_len;
		put16(out + n - 2, et);
	} else {
		memset(out, 0, 12);
		n = 12;
		uint16_t vlan = fam == PC_FLOW_V4 ? k->v4.vlan : k->v6.vlan;
		if (vlan != 0) {
			put16(out + n, 0x8100);
			put16(out + n + 2, vlan);
			n += 4;
		}
		put16(out + n, et);
		n += 2;
	}
	bool hi = f->client_dir != 0;
	uint8_t *ip = out + n, *tcp;
	uint16_t cport, sport;
	if (fam == PC_FLOW_V4) {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		put16(ip + 2, 40);
		put16(ip + 6, 0x4000);
		ip[8] = 64;
		ip[9] = PC_PROTO_TCP;
		put32(ip + 12, hi ? k->v4.addr_hi : k->v4.addr_lo);
		put32(ip + 16, hi ? k->v4.addr_lo : k->v4.addr_hi);
		cport = hi ? k->v4.port_hi : k->v4.port_lo;
		sport = hi ? k->v4.port_lo : k->v4.port_hi;
		tcp = ip + 20;
	} else {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		put16(ip + 4, 20);
		ip[6] = PC_PROTO_TCP;
		ip[7] = 64;
		memcpy(ip + 8, hi ? k->v6.addr_hi : k->v6.addr_lo, 16);
		memcpy(ip + 24, hi ? k->v6.addr_lo : k->v6.addr_hi, 16);
		cport = hi ? k->v6.port_hi : k->v6.port_lo;
		sport = hi ? k->v6.port_lo : k->v6.port_hi;
		tcp = ip + 40;
	}
	memset(tcp, 0, 20);
	put16(tcp, cport);
	put16(tcp + 2, sport);
	put32(tcp + 4, f->fwd_seq);
	put32(tcp + 8, a->srv_nxt);
	tcp[12] = 5 << 4;
	tcp[13] = PC_TCP_ACK;
	return (uint16_t)(tcp + 20 - out);
}

/* The aging sweep found f's caller revoked since its last decision: end the
 * connection now rather than at its next client packet, which an idle
 * keep-alive connection may never send. An inspected flow knows both ends'
 * next sequence numbers (fwd_seq for the server, the tracked srv_nxt for the
 * client), so both get a reset they accept at once (RFC 5961 section 3.2),
 * built from the key and the recorded L2 header. A forwarded flow was
 * decided at L4 and its stream is not followed, so no sequence number is
 * known: it is denied, and its packets are dropped from then on. Either
 * way the decision is logged with reason quarantined. */
static void quarantine_idle(struct pc_worker *w, struct pc_flow *f)
{
	struct pc_flow_table *t = w->flows;
	unsigned fam;
	int32_t pos;
	union pc_flow_key k;
	uint8_t frame[PC_TCP_RESET_MAX_FRAME];
	struct pc_pkt_meta mt;

	if (pc_flow_table_locate(t, f, &fam, &pos) < 0 || pc_flow_table_key(t, fam, pos, &k) < 0)
		return; /* a live entry of this table: cannot happen */
	const struct pc_flow_aux *a = &t->fam[fam].aux[pos];
	uint16_t n = flow_frame(frame, f, a, fam, &k);
	if (pc_pkt_parse(frame, n, false, &mt) != PC_PKT_OK)
		return; /* built above: cannot happen */
	apply_quarantine(w, &f->verdict);
	record(w, &mt, &f->verdict, NULL);
	if (f->state == PC_FLOW_INSPECT && a->l2_len != 0) {
		uint16_t cport = f->client_port, sport = f->client_port ^ 1;
		send_segment(w, frame, &mt, false, sport, f->fwd_seq, a->srv_nxt,
			     PC_TCP_RST | PC_TCP_ACK, NULL, 0);
		send_segment(w, frame, &mt, true, cport, a->srv_nxt, f->fwd_seq,
			     PC_TCP_RST | PC_TCP_ACK, NULL, 0);
		w->ctr[PC_CTR_QUARANTINE_IDLE_RESETS]++;
	} else {
		w->ctr[PC_CTR_QUARANTINE_IDLE_CUT]++;
	}
	hold_drop(w, f, hold_free);
	f->state = PC_FLOW_DENIED;
}
