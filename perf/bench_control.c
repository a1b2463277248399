/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-bench-control: the control plane's latencies while traffic
 * flows through the dataplane.
 *
 *   portcullis-bench-control [EAL args] -- --policy FILE [--policy FILE...]
 *       [--pushes N] [--swaps N] [--quarantines N] [--main-sleep-us US]
 *
 * One process holds both sides, built from the real pieces: the dataplane
 * (pc_dp_create, one worker per EAL worker lcore running pc_worker_run, two
 * net_ring ports, pc_swap on the main lcore) and the control plane (the
 * segment made by pc_shm_create, images compiled by pc_policy_compile and
 * published by pc_cp_publish, revocations written by pc_cp_quarantine_cmd).
 * The main lcore runs the loop portcullis-dataplane runs (pc_swap_poll,
 * the decision-log drain, --main-sleep-us of sleep; the daemon's loop
 * sleeps 1000 us) and, between its turns, acts as control and as the
 * traffic generator: it keeps the port 0 receive ring fed with client body
 * segments of 64 allowed keep-alive connections and drains what the worker
 * sends, so every figure is taken with the worker busy.
 *
 * Figures (JSON line at the end; perf/median.py takes medians over runs):
 *   push        per policy FILE (its rule count): compile_us (load +
 *               pc_policy_compile, what portcullis-control does before
 *               publishing), then push_us: from before pc_cp_publish (the
 *               slot write) to the acknowledgement, which the dataplane
 *               writes only after every worker passed a grace period under
 *               the new policy; split into write_us (slot write and
 *               publish), seen_us (publish -> main lcore saw it),
 *               quiescent_us (seen -> copy, crc, build, pointer store and
 *               grace period done) and ack_us (the rest: drain, free, ack).
 *   visibility  the pointer swap: TSC from the main lcore's store of the
 *               new pointer to each worker's first loop that processed
 *               packets under it (worker.h: pol_pub_tsc, pol_first_tsc), over
 *               --swaps pushes of the first FILE and the quarantine rounds'
 *               table swaps, ns.
 *   quarantine  from just before the revocation is written into the
 *               segment (pc_cp_quarantine_cmd) to the first RST of the
 *               revoked caller's live connection leaving the worker (seen
 *               in the port rings by the generator), ns; --quarantines
 *               rounds, each on a new connection.
 *   lost        packets the generator sent that neither came back nor were
 *               counted as dropped by the dataplane (target 0).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "bench_pkt.h"
#include "control_push.h"
#include "control_quarantine.h"
#include "counters.h"
#include "dataplane.h"
#include "policy/policy.h"
#include "policy_swap.h"
#include "port.h"
#include "shm/shm.h"
#include "worker.h"

#define PROG "portcullis-bench-control"
#define BC_MAX_POLICIES 8
#define BC_CONNS 64           /* live connections of the background traffic */
#define BC_RING 16384        /* port rings */
#define BC_GEN_MBUFS 32767   /* the generator's own pool: the dataplane's stays for its resets */
#define BC_FEED 128           /* segments fed per main-loop turn at most */
#define BC_PREFILL 8192       /* segments queued before a swap: ~2.5 ms of the worker's work,
			       * more than the swap takes to build a small policy before its store */
#define BC_CLIENT_ISN 1000u
#define BC_SERVER_ISN 5000u
#define BC_SEG 128            /* body bytes per segment */
#define BC_SLOT (64u << 20)
#define BC_TIMEOUT_NS 10000000000ull

struct opts {
	const char *policy[BC_MAX_POLICIES];
	unsigned n_policies;
	unsigned pushes, swaps, quarantines, main_sleep_us;
};

struct bench {
	struct opts o;
	struct pc_dp *dp;
	struct pc_swap *swap;
	struct pc_shm_map map;
	char instance[64];
	struct rte_ring *rx[2], *tx[2];
	struct rte_mempool *gen_pool;
	struct pc_bench_tmpl syn, synack, req, body;
	char req_text[512];
	uint32_t req_len;
	uint32_t seq[BC_CONNS + 1];   /* next client sequence number per connection */
	uint32_t conn_flow[BC_CONNS + 1]; /* flow index of each connection */
	uint32_t next_flow;
	uint64_t sent, received, injected_seen;
	uint32_t watch_flow;          /* RSTs of this flow stop the quarantine clock */
	uint64_t watch_rst_tsc;       /* 0 until seen */
	double tsc_per_ns;
};

static void usage_error(const char *fmt, const char *what)
{
	fprintf(stderr, PROG ": ");
	fprintf(stderr, fmt, what);
	fprintf(stderr, "\nusage: " PROG " [EAL args] -- --policy FILE [--policy FILE...] "
			"[--pushes N] [--swaps N] [--quarantines N] [--main-sleep-us US]\n");
	exit(2);
}

static unsigned parse_n(const char *opt, const char *t, unsigned max)
{
	char *end;
	unsigned long v = strtoul(t, &end, 10);
	if (t[0] < '0' || t[0] > '9' || *end != '\0' || v > max)
		usage_error("bad number for %s", opt);
	return (unsigned)v;
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	enum { O_POLICY = 256, O_PUSHES, O_SWAPS, O_QUAR, O_SLEEP };
	static const struct option lo[] = {
		{ "policy", required_argument, NULL, O_POLICY },
		{ "pushes", required_argument, NULL, O_PUSHES },
		{ "swaps", required_argument, NULL, O_SWAPS },
		{ "quarantines", required_argument, NULL, O_QUAR },
		{ "main-sleep-us", required_argument, NULL, O_SLEEP },
		{ NULL, 0, NULL, 0 },
	};
	o->pushes = 5;
	o->swaps = 200;
	o->quarantines = 50;
	o->main_sleep_us = 0;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_POLICY:
			if (o->n_policies == BC_MAX_POLICIES)
				usage_error("%s", "too many --policy");
			o->policy[o->n_policies++] = optarg;
			break;
		case O_PUSHES:
			o->pushes = parse_n("--pushes", optarg, 10000);
			break;
		case O_SWAPS:
			o->swaps = parse_n("--swaps", optarg, 100000);
			break;
		case O_QUAR:
			o->quarantines = parse_n("--quarantines", optarg, 100000);
			break;
		case O_SLEEP:
			o->main_sleep_us = parse_n("--main-sleep-us", optarg, 100000);
			break;
		default:
			usage_error("%s", "unknown option");
		}
	}
	if (o->n_policies == 0)
		usage_error("%s", "--policy FILE is required");
}

static uint64_t mono_ns(void)
{
	return pc_shm_now_ns(CLOCK_MONOTONIC);
}

/* control_quarantine.c logs through the daemon's logger: here, quietly. */
void pc_cp_log(const char *fmt, ...)
{
	(void)fmt;
}

/* ---- traffic ---- */

static struct rte_mbuf *frame_of(struct bench *b, const struct pc_bench_tmpl *t, uint32_t flow,
				 bool seq, uint32_t seqno)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(b->gen_pool);
	if (m == NULL)
		return NULL;
	uint8_t *d = (uint8_t *)rte_pktmbuf_append(m, t->len);
	memcpy(d, t->frame, t->len);
	if (seq)
		pc_bench_stamp_seq(d, t, flow, seqno);
	else
		pc_bench_stamp(d, t, flow);
	return m;
}

static void send1(struct bench *b, unsigned port, struct rte_mbuf *m)
{
	if (m == NULL)
		return;
	if (rte_ring_sp_enqueue(b->rx[port], m) != 0)
		rte_pktmbuf_free(m); /* never sent: not counted */
	else
		b->sent++;
}

static void drain(struct bench *b);

/* A segment that must arrive (a handshake, a request): wait for room. */
static void send_sure(struct bench *b, unsigned port, struct rte_mbuf *m)
{
	if (m == NULL)
		return;
	while (rte_ring_sp_enqueue(b->rx[port], m) != 0)
		drain(b);
	b->sent++;
}

/* Take back what the worker sent; note an RST of the watched flow. */
static void drain(struct bench *b)
{
	struct rte_mbuf *m[64];
	for (unsigned p = 0; p < 2; p++) {
		unsigned n;
		while ((n = rte_ring_sc_dequeue_burst(b->tx[p], (void **)m, 64, NULL)) > 0) {
			uint64_t now = rte_rdtsc();
			for (unsigned i = 0; i < n; i++) {
				const uint8_t *d = rte_pktmbuf_mtod(m[i], const uint8_t *);
				uint8_t flags = d[PC_BENCH_OFF_TCP + 13];
				if (flags & PC_TCP_RST) {
					b->injected_seen++;
					uint32_t addr;
					uint16_t port;
					pc_bench_flow_client(b->watch_flow, &addr, &port);
					uint16_t sp = (uint16_t)(d[PC_BENCH_OFF_TCP] << 8 | d[PC_BENCH_OFF_TCP + 1]);
					uint16_t dp = (uint16_t)(d[PC_BENCH_OFF_TCP + 2] << 8 |
								 d[PC_BENCH_OFF_TCP + 3]);
					if ((sp == port || dp == port) && b->watch_rst_tsc == 0)
						b->watch_rst_tsc = now;
				} else {
					b->received++;
				}
			}
			rte_pktmbuf_free_bulk(m, n);
		}
	}
}

/* Open connection c as a new flow: SYN, SYN-ACK, the allowed request (its
 * body follows as the connection's traffic). */
static void conn_open(struct bench *b, unsigned c)
{
	uint32_t f = b->next_flow++;
	b->conn_flow[c] = f;
	send_sure(b, 0, frame_of(b, &b->syn, f, false, 0));
	/* The worker polls port 0 then port 1: a SYN-ACK put in port 1's
	 * ring before the worker took the SYN could be seen first. */
	while (rte_ring_count(b->rx[0]) > 0)
		drain(b);
	send_sure(b, 1, frame_of(b, &b->synack, f, false, 0));
	send_sure(b, 0, frame_of(b, &b->req, f, false, 0));
	b->seq[c] = BC_CLIENT_ISN + 1 + b->req_len;
}

/* One segment of body on each live connection, as ring room allows; the
 * last connection (the one a quarantine round watches) first. */
static void feed(struct bench *b, unsigned n_conns)
{
	unsigned room = RTE_MIN(rte_ring_free_count(b->rx[0]), (unsigned)BC_FEED);
	for (unsigned k = 0; k < n_conns && k < room; k++) {
		unsigned c = n_conns - 1 - k;
		send1(b, 0, frame_of(b, &b->body, b->conn_flow[c], true, b->seq[c]));
		b->seq[c] += BC_SEG;
	}
}

/* Queue BC_PREFILL segments on port 0 before a swap: the main lcore feeds
 * nothing while it waits for the grace period, and the worker must have
 * packets to decide under the new pointer the moment it loads it. */
static void prefill(struct bench *b, unsigned n_conns)
{
	for (unsigned i = 0; i < 100000 && rte_ring_count(b->rx[0]) < BC_PREFILL; i++) {
		drain(b);
		feed(b, n_conns);
	}
}

/* One turn of the main lcore: what portcullis-dataplane's main loop does,
 * then the generator's part. */
static void turn(struct bench *b, unsigned n_conns)
{
	pc_swap_poll(b->swap);
	pc_swap_drain(b->swap, NULL);
	drain(b);
	feed(b, n_conns);
	if (b->o.main_sleep_us)
		pc_swap_wait(b->swap, b->o.main_sleep_us);
}

/* ---- figures ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static uint64_t pct(uint64_t *v, unsigned n, unsigned p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	unsigned i = (unsigned)(((uint64_t)n * p + 99) / 100);
	return v[i == 0 ? 0 : i - 1];
}

static uint64_t median(uint64_t *v, unsigned n)
{
	return pct(v, n, 50);
}

/* Every worker's publish-to-first-loop time of the last swap, ns. */
static unsigned take_visibility(struct bench *b, uint64_t *out, unsigned cap, unsigned n)
{
	for (uint16_t i = 0; i < b->dp->n_workers && n < cap; i++) {
		const struct pc_worker *w = b->dp->workers[i];
		uint64_t pub = __atomic_load_n(&w->pol_pub_tsc, __ATOMIC_RELAXED);
		uint64_t first = __atomic_load_n(&w->pol_first_tsc, __ATOMIC_RELAXED);
		if (first >= pub)
			out[n++] = (uint64_t)((double)(first - pub) / b->tsc_per_ns);
	}
	return n;
}

static int compile(const char *path, void **img, size_t *len, uint32_t *rules, uint64_t *ns)
{
	char err[1024];
	uint64_t t0 = mono_ns();
	struct pc_policy_src *src = pc_policy_load_file(path, err, sizeof(err));
	if (src == NULL || pc_policy_compile(src, img, len, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s: %s\n", path, err);
		pc_policy_src_free(src);
		return -1;
	}
	pc_policy_src_free(src);
	*ns = mono_ns() - t0;
	struct pc_policy *p = pc_policy_from_image(*img, *len, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, PROG ": %s: %s\n", path, err);
		return -1;
	}
	*rules = pc_policy_rule_count(p);
	pc_policy_free(p);
	return 0;
}

/* Publish img and turn until it is acknowledged. Fills the split (ns). */
static int push_one(struct bench *b, const void *img, size_t len, uint64_t split[5])
{
	char err[512];
	uint32_t gen;
	prefill(b, BC_CONNS);
	uint64_t t0 = mono_ns(), t0_rt = pc_shm_now_ns(CLOCK_REALTIME);
	if (pc_cp_publish(&b->map, img, len, &gen, 10000, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": publish: %s\n", err);
		return -1;
	}
	uint64_t t_pub = mono_ns();
	const struct pc_shm_ack *a = &b->map.ctl->ack;
	while (__atomic_load_n(&a->acked_generation, __ATOMIC_ACQUIRE) < gen) {
		if (mono_ns() - t0 > BC_TIMEOUT_NS) {
			fprintf(stderr, PROG ": generation %u not acknowledged\n", gen);
			return -1;
		}
		turn(b, BC_CONNS);
	}
	if (a->result != 0) {
		fprintf(stderr, PROG ": generation %u refused: %s\n", gen, a->error);
		return -1;
	}
	/* The dataplane's own stamps (CLOCK_REALTIME, as the ack has them):
	 * the acknowledgement time is seen + apply. */
	uint64_t seen = a->seen_ns, quiescent = a->quiescent_ns, ack = a->seen_ns + a->apply_ns;
	split[0] = ack - t0_rt;                  /* push: slot write -> ack */
	split[1] = t_pub - t0;                   /* slot write and publish */
	split[2] = seen > t0_rt + split[1] ? seen - t0_rt - split[1] : 0; /* publish -> seen */
	split[3] = quiescent - seen;             /* copy, crc, build, store, grace */
	split[4] = ack - quiescent;              /* drain, free, ack */
	return 0;
}

static int quarantine(struct bench *b, const char *sub, const char *ident)
{
	json_t *req = json_pack("{s:s, s:s, s:s, s:I}", "kind", "identity", "value", ident,
				"reason", "bench", "ttl_s", (json_int_t)0);
	json_t *resp = pc_cp_quarantine_cmd(&b->map, sub, req);
	int ok = json_is_true(json_object_get(resp, "ok"));
	if (!ok)
		fprintf(stderr, PROG ": quarantine %s: %s\n", sub,
			json_string_value(json_object_get(resp, "error")));
	json_decref(req);
	json_decref(resp);
	return ok ? 0 : -1;
}

/* Turn until the dataplane applied the table control wrote last. */
static int wait_quar_applied(struct bench *b)
{
	uint64_t t0 = mono_ns();
	uint32_t want = __atomic_load_n(&b->map.ctl->quar_seq, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&b->map.ctl->ack.quar_seq_applied, __ATOMIC_ACQUIRE) != want) {
		if (mono_ns() - t0 > BC_TIMEOUT_NS)
			return -1;
		turn(b, BC_CONNS + 1);
	}
	return 0;
}

static uint64_t drops(const struct pc_counters *c)
{
	static const enum pc_ctr d[] = {
		PC_CTR_TX_FULL, PC_CTR_FLOW_TABLE_FULL, PC_CTR_TCP_MIDSTREAM,
		PC_CTR_TCP_SYN_WITH_DATA, PC_CTR_DENIED_DROPPED, PC_CTR_HANDOFF_DROPPED,
		PC_CTR_TCP_RETRANSMIT_DROPPED, PC_CTR_TCP_OUT_OF_WINDOW, PC_CTR_HOLD_LIMIT,
		PC_CTR_HOLD_AGED,
	};
	uint64_t n = 0;
	for (unsigned i = 0; i < RTE_DIM(d); i++)
		n += c->v[d[i]];
	for (unsigned i = PC_CTR_PKT_OK + 1; i < PC_CTR_PKT_OK + PC_PKT_REASON_COUNT; i++)
		n += c->v[i];
	return n;
}

/* ---- setup ---- */

static int ports_create(struct bench *b)
{
	char name[32], err[256];
	for (unsigned p = 0; p < 2; p++) {
		snprintf(name, sizeof(name), "pcbc_rx%u", p);
		b->rx[p] = rte_ring_create(name, BC_RING, (int)rte_socket_id(),
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "pcbc_tx%u", p);
		b->tx[p] = rte_ring_create(name, BC_RING, (int)rte_socket_id(),
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (b->rx[p] == NULL || b->tx[p] == NULL)
			return -1;
		snprintf(name, sizeof(name), "net_ring_pcbc%u", p);
		if (rte_eth_from_rings(name, &b->rx[p], 1, &b->tx[p], 1, rte_socket_id()) !=
		    (int)p) {
			fprintf(stderr, PROG ": net_ring port %u (keep --no-pci, no --vdev)\n", p);
			return -1;
		}
		if (pc_port_setup((uint16_t)p, b->dp->n_workers, b->dp->pool, err, sizeof(err)) <
		    0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
	}
	return 0;
}

static int templates(struct bench *b)
{
	int n = pc_bench_request(b->req_text, sizeof(b->req_text), 0, 0);
	if (n < 0)
		return -1;
	b->req_len = (uint32_t)n;
	static const uint8_t body[BC_SEG];
	if (pc_bench_tmpl_init(&b->syn, PC_BENCH_TO_SERVER, PC_TCP_SYN, BC_CLIENT_ISN, 0, NULL,
			       0) < 0 ||
	    pc_bench_tmpl_init(&b->synack, PC_BENCH_TO_CLIENT, PC_TCP_SYN | PC_TCP_ACK,
			       BC_SERVER_ISN, BC_CLIENT_ISN + 1, NULL, 0) < 0 ||
	    pc_bench_tmpl_init(&b->req, PC_BENCH_TO_SERVER, PC_TCP_ACK | PC_TCP_PSH,
			       BC_CLIENT_ISN + 1, BC_SERVER_ISN + 1, b->req_text,
			       (uint16_t)b->req_len) < 0 ||
	    pc_bench_tmpl_init(&b->body, PC_BENCH_TO_SERVER, PC_TCP_ACK | PC_TCP_PSH, 0,
			       BC_SERVER_ISN + 1, body, sizeof(body)) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct bench bs;
	struct bench *b = &bs;
	char err[1024];
	int rc = 1;

	/* The figures alone on stdout: what the dataplane's swap logs goes to
	 * stderr with the EAL's messages. */
	pc_swap_tune_heap(); /* as portcullis-dataplane */
	FILE *fig = fdopen(dup(STDOUT_FILENO), "w");
	if (fig == NULL || dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		return 1;
	int eal = rte_eal_init(argc, argv);
	if (eal < 0) {
		fprintf(stderr, PROG ": EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	parse_opts(argc - eal, argv + eal, &b->o);
	if (rte_lcore_count() < 2) {
		fprintf(stderr, PROG ": needs a worker lcore (-l 0,1)\n");
		return 1;
	}
	b->tsc_per_ns = (double)rte_get_tsc_hz() / 1e9;

	/* Compile every policy first: the first is the startup one. */
	void *img[BC_MAX_POLICIES];
	size_t len[BC_MAX_POLICIES];
	uint32_t rules[BC_MAX_POLICIES];
	uint64_t compile_ns[BC_MAX_POLICIES];
	for (unsigned i = 0; i < b->o.n_policies; i++)
		if (compile(b->o.policy[i], &img[i], &len[i], &rules[i], &compile_ns[i]) < 0)
			return 1;
	struct pc_policy *startup = pc_policy_from_image(img[0], len[0], err, sizeof(err));
	if (startup == NULL)
		return 1;

	struct pc_dp_config cfg = {
		.flows = PC_DP_DEFAULT_FLOWS,
		.idle_est_s = PC_DP_DEFAULT_IDLE_EST_S,
		.idle_other_s = PC_DP_DEFAULT_IDLE_OTHER_S,
		.idle_busy = true,
		.max_head = PC_HTTP_MAX_HEAD,
		.hold_flow_pkts = PC_REASM_DEFAULT_FLOW_PKTS,
		.hold_worker_pkts = PC_REASM_DEFAULT_WORKER_PKTS,
		.hold_timeout_s = PC_DP_DEFAULT_HOLD_TIMEOUT_S,
	};
	b->dp = pc_dp_create(&cfg, startup, err, sizeof(err));
	if (b->dp == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	b->gen_pool = rte_pktmbuf_pool_create("pcbc_gen", BC_GEN_MBUFS, 256, 0,
					      RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (b->gen_pool == NULL || ports_create(b) < 0 || templates(b) < 0)
		return 1;

	snprintf(b->instance, sizeof(b->instance), "pcbench-control-%d", (int)getpid());
	bool created;
	if (pc_shm_create(b->instance, BC_SLOT, &b->map, &created, err, sizeof(err)) < 0) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	b->swap = pc_swap_create(b->dp, b->instance, startup);
	if (b->swap == NULL || pc_dp_launch(b->dp) != 0) {
		fprintf(stderr, PROG ": cannot start the dataplane\n");
		goto out;
	}
	/* Attach (the swap's first poll), then the background connections. */
	uint64_t t_start = mono_ns();
	while (!pc_cp_dp_attached(b->map.ctl) && mono_ns() - t_start < BC_TIMEOUT_NS)
		turn(b, 0);
	for (unsigned c = 0; c < BC_CONNS; c++)
		conn_open(b, c);
	for (unsigned i = 0; i < 1000; i++)
		turn(b, BC_CONNS);

	unsigned n_vis_cap = (b->o.pushes * b->o.n_policies + b->o.swaps + 2 * b->o.quarantines) *
				     b->dp->n_workers + 16;
	uint64_t *vis = calloc(n_vis_cap, sizeof(*vis));
	uint64_t *push[BC_MAX_POLICIES][5];
	uint64_t *quar = calloc(b->o.quarantines + 1, sizeof(*quar));
	unsigned n_vis = 0, n_quar = 0;
	if (vis == NULL || quar == NULL)
		goto out;

	/* Pushes, a few of each size, in turn. */
	for (unsigned i = 0; i < b->o.n_policies; i++)
		for (unsigned k = 0; k < 5; k++)
			push[i][k] = calloc(b->o.pushes + 1, sizeof(uint64_t));
	for (unsigned r = 0; r < b->o.pushes; r++) {
		for (unsigned i = 0; i < b->o.n_policies; i++) {
			uint64_t split[5];
			if (push_one(b, img[i], len[i], split) < 0)
				goto out;
			for (unsigned k = 0; k < 5; k++)
				push[i][k][r] = split[k];
		}
	}
	/* Swaps of the first (small) policy: visibility samples. Not the sized
	 * pushes: building a large policy before its store takes longer than
	 * the queued packets last (the generator is the main lcore, blocked
	 * meanwhile), so the worker's first packet would wait for the
	 * generator, not for the pointer. */
	for (unsigned r = 0; r < b->o.swaps; r++) {
		uint64_t split[5];
		if (push_one(b, img[0], len[0], split) < 0)
			goto out;
		n_vis = take_visibility(b, vis, n_vis_cap, n_vis);
	}
	const unsigned n_vis_push = n_vis; /* the policy swaps' samples come first */
	/* Quarantine of a live connection's caller (identity agent-0, whose
	 * key the connections use), then lift it and open a new one. */
	for (unsigned r = 0; r < b->o.quarantines; r++) {
		conn_open(b, BC_CONNS);
		b->watch_flow = b->conn_flow[BC_CONNS];
		for (unsigned i = 0; i < 50; i++)
			turn(b, BC_CONNS + 1);
		b->watch_rst_tsc = 0;
		prefill(b, BC_CONNS + 1);
		uint64_t t0 = rte_rdtsc();
		if (quarantine(b, "add", "agent-0") < 0)
			goto out;
		uint64_t tw = mono_ns();
		while (b->watch_rst_tsc == 0 && mono_ns() - tw < BC_TIMEOUT_NS)
			turn(b, BC_CONNS + 1);
		if (b->watch_rst_tsc == 0) {
			struct pc_counters c;
			pc_dp_counters(b->dp, &c);
			fprintf(stderr, PROG ": round %u: no reset of the quarantined connection "
				"(quarantine_resets %" PRIu64 ", idle %" PRIu64 ", decisions allowed %"
				PRIu64 " denied %" PRIu64 ")\n", r, c.v[PC_CTR_QUARANTINE_RESETS],
				c.v[PC_CTR_QUARANTINE_IDLE_RESETS], c.v[PC_CTR_DECISIONS_ALLOWED],
				c.v[PC_CTR_DECISIONS_DENIED]);
			goto out;
		}
		quar[n_quar++] = (uint64_t)((double)(b->watch_rst_tsc - t0) / b->tsc_per_ns);
		n_vis = take_visibility(b, vis, n_vis_cap, n_vis);
		/* Every connection is agent-0's: all were reset. Reopen them
		 * once the revocation is lifted. Segments are queued first, as
		 * before every swap: the table swap's visibility is measured on
		 * a worker with packets to process (those of the reset
		 * connections, dropped as denied). */
		prefill(b, BC_CONNS + 1);
		if (quarantine(b, "remove", "agent-0") < 0 || wait_quar_applied(b) < 0)
			goto out;
		n_vis = take_visibility(b, vis, n_vis_cap, n_vis);
		for (unsigned c = 0; c < BC_CONNS; c++)
			conn_open(b, c);
	}

	/* Quiet: let the worker finish what is in its rings, then count. */
	for (unsigned i = 0; i < 2000; i++) {
		pc_swap_poll(b->swap);
		drain(b);
	}
	struct pc_counters tot;
	pc_dp_counters(b->dp, &tot);
	uint64_t injected = tot.v[PC_CTR_RESETS_SENT] + tot.v[PC_CTR_DENY_RESPONSES_SENT];
	int64_t lost = (int64_t)b->sent - (int64_t)(b->received + b->injected_seen - injected) -
		       (int64_t)drops(&tot);

	fprintf(fig, "{\"bench\":\"control\",\"workers\":%u,\"main_sleep_us\":%u,\"pushes\":%u,"
	       "\"push\":{", b->dp->n_workers, b->o.main_sleep_us, b->o.pushes);
	for (unsigned i = 0; i < b->o.n_policies; i++) {
		uint64_t s[5];
		for (unsigned k = 0; k < 5; k++)
			s[k] = median(push[i][k], b->o.pushes);
		fprintf(fig, "%s\"rules_%u\":{\"compile_us\":%.1f,\"image_bytes\":%zu,\"push_us\":%.1f,"
		       "\"push_us_max\":%.1f,\"write_us\":%.1f,\"seen_us\":%.1f,\"quiescent_us\":%.1f,"
		       "\"ack_us\":%.1f}", i ? "," : "", rules[i], compile_ns[i] / 1e3, len[i],
		       s[0] / 1e3, pct(push[i][0], b->o.pushes, 100) / 1e3, s[1] / 1e3, s[2] / 1e3,
		       s[3] / 1e3, s[4] / 1e3);
	}
	/* By kind, then all together (pct() sorts what it is given: the
	 * parts first, while they are still apart). */
	const unsigned n_vis_quar = n_vis - n_vis_push;
	fprintf(fig, "},\"visibility_push_ns\":{\"n\":%u,\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
	       ",\"max\":%" PRIu64 "},", n_vis_push, pct(vis, n_vis_push, 50),
	       pct(vis, n_vis_push, 99), pct(vis, n_vis_push, 100));
	fprintf(fig, "\"visibility_quarantine_ns\":{\"n\":%u,\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
	       ",\"max\":%" PRIu64 "},", n_vis_quar, pct(vis + n_vis_push, n_vis_quar, 50),
	       pct(vis + n_vis_push, n_vis_quar, 99), pct(vis + n_vis_push, n_vis_quar, 100));
	fprintf(fig, "\"visibility_ns\":{\"n\":%u,\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
	       ",\"max\":%" PRIu64 "},", n_vis, pct(vis, n_vis, 50), pct(vis, n_vis, 99),
	       pct(vis, n_vis, 100));
	fprintf(fig, "\"quarantine_reset_ns\":{\"n\":%u,\"p50\":%" PRIu64 ",\"p99\":%" PRIu64
	       ",\"max\":%" PRIu64 "},", n_quar, pct(quar, n_quar, 50), pct(quar, n_quar, 99),
	       pct(quar, n_quar, 100));
	fprintf(fig, "\"packets\":{\"sent\":%" PRIu64 ",\"rx\":%" PRIu64 ",\"tx\":%" PRIu64
	       ",\"dropped_counted\":%" PRIu64 ",\"lost\":%" PRId64 "}}\n", b->sent,
	       tot.v[PC_CTR_RX], tot.v[PC_CTR_TX], drops(&tot), lost);
	fflush(fig);
	rc = 0;
out:
	if (b->dp != NULL) {
		pc_dp_stop(b->dp);
		drain(b);
		pc_swap_drain(b->swap, NULL);
		pc_dp_flush(b->dp);
		for (uint16_t p = 0; p < 2; p++)
			pc_port_close(p);
		pc_dp_free(b->dp);
	}
	pc_swap_free(b->swap);
	char name[PC_SHM_NAME_MAX];
	pc_shm_close(&b->map);
	if (pc_shm_name(b->instance, name, sizeof(name)) == 0)
		shm_unlink(name);
	pc_policy_free(startup);
	rte_eal_cleanup();
	return rc;
}
