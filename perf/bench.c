/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-bench: the cost of the real worker loop, measured on one core.
 *
 *   portcullis-bench [EAL args] -- --policy FILE [--flows N] [--capacity N]
 *       [--decisions N] [--packets N] [--rounds N] [--gen-mbufs N]
 *       [--scenarios LIST] [--segments LIST] [--keepalive-requests N] [--seed N]
 *
 * One worker is built by the dataplane's own pc_dp_create() and bound, by the
 * dataplane's own pc_port_setup(), to two net_ring ports whose rings this
 * program holds the other ends of: it enqueues frames on port 0's RX ring as
 * a NIC would deliver them, and takes what the worker transmitted off port
 * 1's TX ring. Nothing of the worker is copied or mocked: the figures are
 * pc_worker_poll() and pc_worker_process() + pc_worker_flush() as they run
 * in production, minus only the NIC (and its checksum offload: net_ring
 * marks nothing, so the decoder verifies every IPv4 header in software).
 *
 * Scenarios, in the order they run (each selectable with --scenarios):
 *
 *   decide       the engine alone, no DPDK: pc_http_parse_head + pc_decide
 *                on the same requests as l7, so the dataplane's share of an
 *                L7 decision can be told apart from the engine's.
 *   l7           --decisions new flows, one at a time: a client SYN, the
 *                server's SYN-ACK, then one data segment holding the whole
 *                request head, each sent through a 1-packet
 *                pc_worker_process + pc_worker_flush timed with rdtsc (the
 *                SYN-ACK, forwarded on an existing flow, shows what any
 *                1-packet call costs before a decision adds to it). The
 *                request carries identity k's API key and asks for the path
 *                of k's last rule, so the engine hashes a key and walks every
 *                candidate rule of k before it allows.
 *   established  fills the table up to --flows through the same real path
 *                (SYN, SYN-ACK, an allowed request: there is no cheaper way
 *                in that is also the dataplane's), then drives bursts of 32
 *                client data segments of uniformly random flows through
 *                pc_worker_poll. The request announced a large body, and each
 *                segment is the next 128 bytes of it on its flow, in sequence,
 *                so the gateway sees well-formed streams and not garbage
 *                heads. A fixed set of --gen-mbufs mbufs circulates: what the
 *                worker sent on port 1 is stamped with the next flow and
 *                sequence number (bench_pkt.h) and put back on port 0's RX
 *                ring, so nothing is allocated. The worker's poll and the
 *                generator's step are timed separately in the same loop, and
 *                the same traffic then runs through three floors of plain
 *                DPDK code on the same table (ring forward; + bulk rte_hash
 *                lookup; + flow entry update), so the worker's figure can be
 *                read against what DPDK itself costs here.
 *   split        (not in the default set; runs after l7, before
 *                established) like l7, but the request head of each new
 *                flow arrives cut into 1, 2 and 4 (--segments) TCP segments
 *                of near-equal size, interleaved flow by flow so drift and
 *                noise fall on every count alike. The figure per decision is
 *                the sum of the 1-packet pc_worker_process + pc_worker_flush
 *                calls of the head's segments, each timed with rdtsc (the
 *                worker holds the first ones, reassembles, and releases all
 *                of them in order with the last): what a split head costs
 *                beyond a whole one, as ratios to the 1-segment figure.
 *                Beside it, to say where the difference goes: the last
 *                segment's call alone, a call with no packet (the per-call
 *                part a burst shares; the ratio is also given with it
 *                counted once per burst) and the SYN-ACK (a forward-only
 *                packet).
 *   keepalive    (not in the default set; runs last, after established)
 *                --decisions new connections, each a SYN, a SYN-ACK, then
 *                --keepalive-requests allowed requests one after the other
 *                on the same connection, each head whole in one segment and
 *                announcing no body (Content-Length: 0), so the next head
 *                follows it in the stream. Each request is a timed 1-packet
 *                pc_worker_process + pc_worker_flush; the first request of a
 *                connection and the later ones are reported apart. Every
 *                request is also checked to have gone out without a copy of
 *                its payload: the one frame out of port 1 is the very mbuf
 *                that came in, with the same offsets, lengths and bytes, and
 *                the worker's head buffer (reasm.buf) and body buffer still
 *                hold the pattern written over them before the scenario.
 *
 * The whole measurement runs on the worker's lcore (the main lcore sleeps),
 * and every phase checks the worker's counters afterwards: a benchmark that
 * silently measured a deny path or a drop would be worse than none.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_ring.h>

#include "bench_pkt.h"
#include "dataplane.h"
#include "decision_log.h"
#include "engine/decide.h"
#include "flow_table.h"
#include "http/http_parse.h"
#include "pkt/pkt_parse.h"
#include "policy/policy.h"
#include "port.h"
#include "reasm.h"
#include "worker.h"

#define PROG "portcullis-bench"

#define BENCH_RING_SIZE 4096      /* each port's RX and TX ring */
#define BENCH_MAX_GEN_MBUFS 2048
#define BENCH_CLIENT_ISN 1000u    /* every client's initial sequence number */
#define BENCH_SERVER_ISN 5000u    /* and every server's */
#define BENCH_EST_PAYLOAD 128     /* bytes of an established data segment */
#define BENCH_DRAIN_EVERY 256     /* decisions between decision-log drains (ring: 1024) */
#define BENCH_TIMER_SAMPLES 10000
#define BENCH_GEN_AHEAD 64        /* flows drawn ahead of use (a power of two) */

enum {
	SC_DECIDE = 1u << 0,
	SC_L7 = 1u << 1,
	SC_ESTABLISHED = 1u << 2,
	SC_SPLIT = 1u << 3,
	SC_KEEPALIVE = 1u << 4,
	SC_DEFAULT = SC_DECIDE | SC_L7 | SC_ESTABLISHED,
	SC_ALL = SC_DEFAULT | SC_SPLIT | SC_KEEPALIVE,
};

#define BENCH_MAX_SPLITS 4        /* segment counts in one --segments list */
#define BENCH_MAX_SEGMENTS 8      /* segments one head may be cut into */
#define BENCH_KA_MIN_REQUESTS 2   /* keepalive: requests per connection, bounds */
#define BENCH_KA_MAX_REQUESTS 64
#define BENCH_KA_SENTINEL 256     /* bytes of each worker buffer a copy would write first */

/* What the established loop runs in place of the worker, for the floors. */
enum est_mode { EST_WORKER, EST_FWD, EST_HASH, EST_ENTRY, EST_MODES };

static const char *const est_mode_key[EST_MODES] = {
	"worker", "floor_ring_forward", "floor_forward_hash_lookup", "floor_forward_hash_entry",
};

struct bench_opts {
	const char *policy;
	uint32_t flows;
	uint32_t capacity;   /* 0: same as flows */
	uint32_t decisions;
	uint64_t packets;
	uint32_t rounds;
	uint32_t gen_mbufs;
	uint64_t seed;
	unsigned scenarios;
	unsigned n_splits;                   /* split: how many segment counts */
	unsigned splits[BENCH_MAX_SPLITS];   /* split: the counts, e.g. 1, 2, 4 */
	uint32_t ka_requests;                /* keepalive: requests per connection */
};

/* A distribution of per-operation cycle counts. */
struct dist {
	uint64_t n;
	double mean;
	double mean_trim;  /* without the slowest 0.1 %: preemptions, interrupts */
	uint64_t p50, p90, p99, p999, max;
};

struct est_result {
	double cpp[EST_MODES];      /* median over rounds of cycles/packet */
	double cpp_min[EST_MODES];
	double gen_cpp;             /* the generator's step, worker rounds */
	double loop_cpp;            /* whole loop, worker rounds */
	uint64_t packets;
};

struct bench {
	struct bench_opts o;
	char *cmdline;
	struct pc_policy *policy;
	uint32_t n_ids, n_rules;
	uint32_t *last_rule;         /* [n_ids] index of identity k's last rule */
	char (*req_text)[512];       /* [n_ids] request head of identity k */
	uint16_t *req_len;

	struct pc_dp *dp;
	struct pc_worker *w;
	struct rte_ring *rx_ring[2], *tx_ring[2];
	struct rte_mbuf **gen;       /* [gen_mbufs] the generator's mbufs */
	struct pc_bench_tmpl syn_tmpl, synack_tmpl, est_tmpl;
	struct pc_bench_tmpl *req_tmpl; /* [n_ids] */
	uint32_t *seq_next;          /* [flows] the client's next body sequence number */
	uint32_t ahead[BENCH_GEN_AHEAD]; /* the generator's next flows */
	uint32_t ahead_pos;
	uint64_t rng;
	uint32_t populated;          /* flows 0..populated-1 are in the table */

	double tsc_hz;
	uint64_t timer_overhead;     /* median cycles of an empty timed region */
	double table_bytes_per_flow;

	bool ran_decide, ran_l7, ran_est;
	struct dist d_parse, d_decide, d_engine;
	struct dist d_l7, d_syn, d_synack;
	bool ran_split;
	struct dist d_split[BENCH_MAX_SPLITS]; /* head cycles per decision, per count */
	struct dist d_split_last[BENCH_MAX_SPLITS]; /* of which the segment that ends the head */
	struct dist d_split_synack;  /* a forward-only 1-packet call, in the same loop */
	struct dist d_split_empty;   /* a call with no packet: the per-call part */
	bool ran_ka;
	struct dist d_ka_first;      /* keepalive: the first request of a connection */
	struct dist d_ka_next;       /* and its requests 2..R */
	uint64_t ka_copies;          /* requests whose payload the worker copied (must be 0) */
	struct est_result est;
	double fill_cycles_per_flow; /* SYN, SYN-ACK, request; 0 when no fill ran */

	/* The runner (worker lcore) writes status, then stores done = 1 with
	 * release; the main lcore loads done with acquire before it reads
	 * status or any result. */
	int status;
	int done;
};

static _Noreturn void __attribute__((format(printf, 1, 2))) usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n(try '" PROG " -- --help')\n");
	va_end(ap);
	exit(2);
}

static void __attribute__((format(printf, 1, 2))) progress(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, PROG ": ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [EAL args] -- --policy FILE [options]\n"
		"  --policy FILE       policy from perf/gen_policy.py (required)\n"
		"  --flows N           flows in the table for 'established' (default 524288)\n"
		"  --capacity N        flow table capacity (default: enough for every flow the scenarios\n"
		"                      create)\n"
		"  --decisions N       new flows decided one by one in 'l7' (and 'split', 'keepalive')\n"
		"                      and requests in 'decide' (default 200000)\n"
		"  --packets N         established packets measured through the worker (default "
		"16777216)\n"
		"  --rounds N          the packets are measured in N rounds; the median is reported "
		"(default 8)\n"
		"  --gen-mbufs N       mbufs circulating between generator and worker (default 1024)\n"
		"  --scenarios LIST    comma-separated: decide,l7,split,established,keepalive, or all\n"
		"                      (default decide,l7,established)\n"
		"  --segments LIST     split: the segment counts a head is cut into (default 1,2,4;\n"
		"                      each 1..8); --decisions new flows for each\n"
		"  --keepalive-requests N  keepalive: allowed requests on each of --decisions\n"
		"                      connections (default 8, 2..64)\n"
		"  --seed N            random flow sequence seed (default 1)\n"
		"Without EAL args: -l 0,1 --no-huge -m 1024 --no-pci --log-level=notice; a unique\n"
		"--file-prefix is added (and its runtime directory removed at exit) unless one is\n"
		"given. Exactly two lcores: the main one and the worker's.\n");
}

static uint64_t parse_u64(const char *opt, const char *text, uint64_t min, uint64_t max)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end != '\0' || errno != 0 || v < min || v > max)
		usage_error("option '%s': '%s' is not a number from %llu to %llu", opt, text,
			    (unsigned long long)min, (unsigned long long)max);
	return v;
}

static unsigned parse_scenarios(const char *text)
{
	unsigned set = 0;
	char buf[128];
	if (strlen(text) >= sizeof(buf))
		usage_error("option '--scenarios': '%s' is too long", text);
	strcpy(buf, text);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (strcmp(t, "decide") == 0)
			set |= SC_DECIDE;
		else if (strcmp(t, "l7") == 0)
			set |= SC_L7;
		else if (strcmp(t, "established") == 0)
			set |= SC_ESTABLISHED;
		else if (strcmp(t, "split") == 0)
			set |= SC_SPLIT;
		else if (strcmp(t, "keepalive") == 0)
			set |= SC_KEEPALIVE;
		else if (strcmp(t, "all") == 0)
			set |= SC_ALL;
		else
			usage_error("option '--scenarios': unknown scenario '%s' (decide, l7, "
				    "split, established, keepalive)", t);
	}
	if (set == 0)
		usage_error("option '--scenarios': no scenario given");
	return set;
}

static void parse_segments(const char *text, struct bench_opts *o)
{
	char buf[128];
	if (strlen(text) >= sizeof(buf))
		usage_error("option '--segments': '%s' is too long", text);
	strcpy(buf, text);
	o->n_splits = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t != NULL;
	     t = strtok_r(NULL, ",", &save)) {
		if (o->n_splits == BENCH_MAX_SPLITS)
			usage_error("option '--segments': at most %d counts", BENCH_MAX_SPLITS);
		unsigned v = (unsigned)parse_u64("--segments", t, 1, BENCH_MAX_SEGMENTS);
		for (unsigned i = 0; i < o->n_splits; i++)
			if (o->splits[i] == v)
				usage_error("option '--segments': %u given twice", v);
		o->splits[o->n_splits++] = v;
	}
	if (o->n_splits == 0)
		usage_error("option '--segments': no count given");
}

static void parse_opts(int argc, char **argv, struct bench_opts *o)
{
	enum { O_POLICY = 256, O_FLOWS, O_CAPACITY, O_DECISIONS, O_PACKETS, O_ROUNDS, O_GEN,
	       O_SCENARIOS, O_SEED, O_SEGMENTS, O_KA_REQUESTS, O_HELP };
	static const struct option longopts[] = {
		{ "policy", required_argument, NULL, O_POLICY },
		{ "flows", required_argument, NULL, O_FLOWS },
		{ "capacity", required_argument, NULL, O_CAPACITY },
		{ "decisions", required_argument, NULL, O_DECISIONS },
		{ "packets", required_argument, NULL, O_PACKETS },
		{ "rounds", required_argument, NULL, O_ROUNDS },
		{ "gen-mbufs", required_argument, NULL, O_GEN },
		{ "scenarios", required_argument, NULL, O_SCENARIOS },
		{ "seed", required_argument, NULL, O_SEED },
		{ "segments", required_argument, NULL, O_SEGMENTS },
		{ "keepalive-requests", required_argument, NULL, O_KA_REQUESTS },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 },
	};

	memset(o, 0, sizeof(*o));
	o->flows = 524288;
	o->decisions = 200000;
	o->packets = 1u << 24;
	o->rounds = 8;
	o->gen_mbufs = 1024;
	o->seed = 1;
	o->scenarios = SC_DEFAULT;
	o->n_splits = 3;
	o->splits[0] = 1;
	o->splits[1] = 2;
	o->splits[2] = 4;
	o->ka_requests = 8;

	opterr = 0;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case O_POLICY:
			o->policy = optarg;
			break;
		case O_FLOWS:
			o->flows = (uint32_t)parse_u64("--flows", optarg, 1, PC_BENCH_MAX_FLOWS);
			break;
		case O_CAPACITY:
			o->capacity = (uint32_t)parse_u64("--capacity", optarg, 1, PC_BENCH_MAX_FLOWS);
			break;
		case O_DECISIONS:
			o->decisions = (uint32_t)parse_u64("--decisions", optarg, 1,
							   PC_BENCH_MAX_FLOWS);
			break;
		case O_PACKETS:
			o->packets = parse_u64("--packets", optarg, 1024, 1ull << 40);
			break;
		case O_ROUNDS:
			o->rounds = (uint32_t)parse_u64("--rounds", optarg, 1, 1000);
			break;
		case O_GEN:
			o->gen_mbufs = (uint32_t)parse_u64("--gen-mbufs", optarg, 2 * PC_WORKER_BURST,
							   BENCH_MAX_GEN_MBUFS);
			break;
		case O_SCENARIOS:
			o->scenarios = parse_scenarios(optarg);
			break;
		case O_SEED:
			o->seed = parse_u64("--seed", optarg, 0, UINT64_MAX);
			break;
		case O_SEGMENTS:
			parse_segments(optarg, o);
			break;
		case O_KA_REQUESTS:
			o->ka_requests = (uint32_t)parse_u64("--keepalive-requests", optarg,
							     BENCH_KA_MIN_REQUESTS,
							     BENCH_KA_MAX_REQUESTS);
			break;
		case 'h':
		case O_HELP:
			usage(stdout);
			exit(0);
		case ':':
			usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (o->policy == NULL)
		usage_error("--policy FILE is required (make one with perf/gen_policy.py 1000 100 "
			    "FILE; options go after '--')");
	/* l7's flows, then split's, stay in the table: established starts
	 * its fill where they end. */
	uint64_t made = 0;
	if (o->scenarios & SC_L7)
		made += o->decisions;
	if (o->scenarios & SC_SPLIT)
		made += (uint64_t)o->decisions * o->n_splits;
	/* keepalive leaves its connections between two heads, not in a body
	 * as established assumes of every flow it draws (0..--flows-1), so
	 * it runs last and on flows past all of those: from where l7 and
	 * split end, or from --flows when established ran. */
	if (o->scenarios & SC_KEEPALIVE) {
		if ((o->scenarios & SC_ESTABLISHED) && made < o->flows)
			made = o->flows;
		made += o->decisions;
	}
	if (made > PC_BENCH_MAX_FLOWS)
		usage_error("--decisions %u: the scenarios would create %llu flows, more than %u",
			    o->decisions, (unsigned long long)made, PC_BENCH_MAX_FLOWS);
	uint32_t need = o->flows;
	if (made > need)
		need = (uint32_t)made;
	if (o->capacity == 0)
		o->capacity = need;
	if (o->capacity < need)
		usage_error("--capacity %u is below the %u flows the scenarios create", o->capacity,
			    need);
	optind = 1; /* the EAL parses with getopt too */
}

/* ---- small helpers ---- */

static char *join_cmdline(int argc, char **argv)
{
	size_t len = 1;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 3;
	char *s = malloc(len);
	if (s == NULL)
		return NULL;
	s[0] = '\0';
	for (int i = 0; i < argc; i++) {
		if (i > 0)
			strcat(s, " ");
		bool quote = strpbrk(argv[i], " \t\"'") != NULL;
		if (quote)
			strcat(s, "'");
		strcat(s, argv[i]);
		if (quote)
			strcat(s, "'");
	}
	return s;
}

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(out, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(out, "\\u%04x", ch);
		else
			fputc(ch, out);
	}
	fputc('"', out);
}

/* xorshift64*: a cheap, well-spread sequence, so drawing a flow costs the
 * generator a multiply rather than a load from a precomputed list. */
static inline uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Uniform in [0, n) by multiply-shift (Lemire), no division. */
static inline uint32_t rng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts v. Each sample loses the timer's own overhead (never below 0). */
static void dist_compute(uint64_t *v, size_t n, uint64_t overhead, struct dist *d)
{
	memset(d, 0, sizeof(*d));
	if (n == 0)
		return;
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		v[i] = v[i] > overhead ? v[i] - overhead : 0;
		sum += (double)v[i];
	}
	qsort(v, n, sizeof(*v), cmp_u64);
	d->n = n;
	d->mean = sum / (double)n;
	size_t keep = n - n / 1000;
	double kept = 0;
	for (size_t i = 0; i < keep; i++)
		kept += (double)v[i];
	d->mean_trim = kept / (double)keep;
	d->p50 = v[n / 2];
	d->p90 = v[(size_t)((double)n * 0.90)];
	d->p99 = v[(size_t)((double)n * 0.99)];
	d->p999 = v[(size_t)((double)n * 0.999)];
	d->max = v[n - 1];
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* rte_rdtsc_precise: a full fence, then rdtsc, so the region measured is
 * the region written and not whatever the core reordered into it. */
static uint64_t measure_timer_overhead(void)
{
	static uint64_t s[BENCH_TIMER_SAMPLES];
	for (unsigned i = 0; i < BENCH_TIMER_SAMPLES; i++) {
		uint64_t t0 = rte_rdtsc_precise();
		uint64_t t1 = rte_rdtsc_precise();
		s[i] = t1 - t0;
	}
	qsort(s, BENCH_TIMER_SAMPLES, sizeof(s[0]), cmp_u64);
	return s[BENCH_TIMER_SAMPLES / 2];
}

static uint64_t ctr(const struct bench *b, enum pc_ctr c)
{
	pc_worker_publish(b->w); /* what the last calls counted */
	return __atomic_load_n(&b->w->counters.v[c], __ATOMIC_RELAXED);
}

static void snap_counters(const struct bench *b, uint64_t *v)
{
	for (unsigned i = 0; i < PC_CTR_COUNT; i++)
		v[i] = ctr(b, (enum pc_ctr)i);
}

/* Print every counter that moved since before[] and return -1: the worker
 * did something the scenario did not intend. */
static int counters_mismatch(const struct bench *b, const uint64_t *before, const char *what)
{
	fprintf(stderr, PROG ": %s: the worker's counters are not what the scenario expects:\n",
		what);
	for (unsigned i = 0; i < PC_CTR_COUNT; i++) {
		uint64_t d = ctr(b, (enum pc_ctr)i) - before[i];
		const char *name = pc_counters_name(i);
		if (d != 0 && name != NULL)
			fprintf(stderr, "  %-28s +%llu\n", name, (unsigned long long)d);
	}
	return -1;
}

static inline uint64_t delta(const struct bench *b, const uint64_t *before, enum pc_ctr c)
{
	return ctr(b, c) - before[c];
}

/* 0 when, since before, the worker created `created` flows and allowed
 * `allowed` decisions, denied none and lost no record, and (unless tx is
 * UINT64_MAX) sent tx frames; else -1, the counters that moved printed. */
static int decided_as(const struct bench *b, const uint64_t *before, uint64_t created,
		      uint64_t allowed, uint64_t tx, const char *what)
{
	if (delta(b, before, PC_CTR_FLOWS_CREATED) != created ||
	    delta(b, before, PC_CTR_DECISIONS_ALLOWED) != allowed ||
	    delta(b, before, PC_CTR_DECISIONS_DENIED) != 0 ||
	    delta(b, before, PC_CTR_DECISION_LOG_LOST) != 0 ||
	    (tx != UINT64_MAX && delta(b, before, PC_CTR_TX) != tx))
		return counters_mismatch(b, before, what);
	return 0;
}

static void drain_dlog(struct bench *b)
{
	pc_dlog_drain(b->dp->dlog_rings, b->dp->n_workers, b->policy, NULL);
}

/* Copy t into m as a fresh frame of flow. */
static inline void mbuf_load(struct rte_mbuf *m, const struct pc_bench_tmpl *t, uint32_t flow)
{
	m->data_off = RTE_PKTMBUF_HEADROOM;
	m->nb_segs = 1;
	m->next = NULL;
	m->ol_flags = 0;
	m->data_len = t->len;
	m->pkt_len = t->len;
	uint8_t *d = rte_pktmbuf_mtod(m, uint8_t *);
	memcpy(d, t->frame, t->len);
	pc_bench_stamp(d, t, flow);
}

/* ---- policy shape ---- */

/* The scenarios need to know which request each identity's last rule
 * allows: check that the policy is the one perf/gen_policy.py writes
 * (identity k is "agent-k", rule r is "rule-r" and belongs to agent-(r mod
 * identities)), and find each identity's last rule. */
static int policy_shape(struct bench *b)
{
	char name[64];
	b->n_ids = pc_policy_identity_count(b->policy);
	b->n_rules = pc_policy_rule_count(b->policy);
	if (b->n_ids == 0 || b->n_rules < b->n_ids) {
		fprintf(stderr, PROG ": %s: %u rules for %u identities; perf/gen_policy.py gives "
			"each identity at least one rule\n", b->o.policy, b->n_rules, b->n_ids);
		return -1;
	}
	for (uint32_t k = 0; k < b->n_ids; k++) {
		snprintf(name, sizeof(name), "agent-%u", k);
		if (strcmp(pc_policy_identity_name(b->policy, k), name) != 0)
			goto foreign;
	}
	for (uint32_t r = 0; r < b->n_rules; r++) {
		snprintf(name, sizeof(name), "rule-%u", r);
		if (strcmp(pc_policy_rule_id(b->policy, r), name) != 0)
			goto foreign;
	}
	b->last_rule = calloc(b->n_ids, sizeof(*b->last_rule));
	b->req_text = calloc(b->n_ids, sizeof(*b->req_text));
	b->req_len = calloc(b->n_ids, sizeof(*b->req_len));
	b->req_tmpl = calloc(b->n_ids, sizeof(*b->req_tmpl));
	if (!b->last_rule || !b->req_text || !b->req_len || !b->req_tmpl) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	for (uint32_t r = 0; r < b->n_rules; r++)
		b->last_rule[r % b->n_ids] = r;
	return 0;
foreign:
	fprintf(stderr, PROG ": %s is not a policy written by perf/gen_policy.py (identity k "
		"must be agent-k, rule r must be rule-r)\n", b->o.policy);
	return -1;
}

/* A stamped frame must be one the decoder accepts and one a receiving TCP
 * would too (right checksums), or the figures would be of a drop path. */
static int check_tmpl(const struct pc_bench_tmpl *t, uint32_t flow, bool seq)
{
	uint8_t f[PC_BENCH_FRAME_MAX];
	struct pc_pkt_meta m;
	memcpy(f, t->frame, t->len);
	if (seq)
		pc_bench_stamp_seq(f, t, flow, 0xfedcba98u - flow);
	else
		pc_bench_stamp(f, t, flow);
	enum pc_pkt_reason r = pc_pkt_parse(f, t->len, true, &m);
	if (r != PC_PKT_OK || m.l4_proto != PC_PROTO_TCP ||
	    pc_l4_csum(&m.src, &m.dst, PC_PROTO_TCP, f + m.l4_off,
		       (uint16_t)(m.l3_len - (m.l4_off - m.l3_off))) != 0) {
		fprintf(stderr, PROG ": internal error: frame template for flow %u does not "
			"decode (%s) or has a bad TCP checksum\n", flow, pc_pkt_reason_name(r));
		return -1;
	}
	return 0;
}

static int build_templates(struct bench *b)
{
	uint8_t body[BENCH_EST_PAYLOAD];
	memset(body, 'x', sizeof(body));
	if (pc_bench_tmpl_init(&b->syn_tmpl, PC_BENCH_TO_SERVER, PC_TCP_SYN, BENCH_CLIENT_ISN, 0,
			       NULL, 0) < 0 ||
	    pc_bench_tmpl_init(&b->synack_tmpl, PC_BENCH_TO_CLIENT, PC_TCP_SYN | PC_TCP_ACK,
			       BENCH_SERVER_ISN, BENCH_CLIENT_ISN + 1, NULL, 0) < 0)
		return -1;
	for (uint32_t k = 0; k < b->n_ids; k++) {
		int n = pc_bench_request(b->req_text[k], sizeof(b->req_text[k]), k, b->last_rule[k]);
		if (n < 0)
			return -1;
		b->req_len[k] = (uint16_t)n;
		if (pc_bench_tmpl_init(&b->req_tmpl[k], PC_BENCH_TO_SERVER, PC_TCP_ACK | PC_TCP_PSH,
				       BENCH_CLIENT_ISN + 1, BENCH_SERVER_ISN + 1, b->req_text[k],
				       (uint16_t)n) < 0)
			return -1;
	}
	/* Later data on an allowed connection: the request's body, at the
	 * sequence number each flow has reached (stamped per packet). */
	if (pc_bench_tmpl_init(&b->est_tmpl, PC_BENCH_TO_SERVER, PC_TCP_ACK | PC_TCP_PSH, 0,
			       BENCH_SERVER_ISN + 1, body, sizeof(body)) < 0)
		return -1;
	const uint32_t probe[] = { 0, 1, 16383, 16384, 524287, PC_BENCH_MAX_FLOWS - 1 };
	for (size_t i = 0; i < RTE_DIM(probe); i++)
		if (check_tmpl(&b->syn_tmpl, probe[i], false) < 0 ||
		    check_tmpl(&b->synack_tmpl, probe[i], false) < 0 ||
		    check_tmpl(&b->req_tmpl[i % b->n_ids], probe[i], false) < 0 ||
		    check_tmpl(&b->est_tmpl, probe[i], true) < 0)
			return -1;
	return 0;
}

/* ---- scenario: decide (engine only) ---- */

static int run_decide(struct bench *b)
{
	uint32_t n = b->o.decisions;
	uint64_t *tp = malloc(n * sizeof(uint64_t));
	uint64_t *td = malloc(n * sizeof(uint64_t));
	uint64_t *tt = malloc(n * sizeof(uint64_t));
	struct pc_engine_scratch *s = pc_engine_scratch_new(b->policy);
	static struct pc_http_req req;
	int rc = -1;

	if (tp == NULL || td == NULL || tt == NULL || s == NULL) {
		fprintf(stderr, PROG ": decide: out of memory\n");
		goto out;
	}
	progress("decide: %u requests through pc_http_parse_head + pc_decide", n);
	for (uint32_t i = 0; i < n; i++) {
		uint32_t k = i % b->n_ids;
		uint32_t addr;
		uint16_t port;
		pc_bench_flow_client(i, &addr, &port);
		struct pc_request rq = {
			.src = { .family = 4, .v4 = addr },
			.dst = { .family = 4, .v4 = PC_BENCH_SERVER_ADDR },
			.sport = port,
			.dport = PC_BENCH_SERVER_PORT,
			.l4_proto = PC_PROTO_TCP,
			.http = &req,
		};
		struct pc_verdict v;
		uint64_t t0 = rte_rdtsc_precise();
		enum pc_http_reason hr = pc_http_parse_head(b->req_text[k], b->req_len[k], &req);
		uint64_t t1 = rte_rdtsc_precise();
		pc_decide(b->policy, s, &rq, &v);
		uint64_t t2 = rte_rdtsc_precise();
		if (hr != PC_HTTP_OK || v.action != PC_ACTION_ALLOW ||
		    v.rule != (int32_t)b->last_rule[k] || v.identity != (int32_t)k) {
			fprintf(stderr, PROG ": decide: request %u (identity %u) gave %s, %s, rule %d, "
				"identity %d; expected allow by rule %u\n", i, k,
				pc_http_reason_name(hr), pc_action_name((enum pc_action)v.action),
				v.rule, v.identity, b->last_rule[k]);
			goto out;
		}
		tp[i] = t1 - t0;
		td[i] = t2 - t1;
		/* One timed region would have paid one timer, not two. */
		tt[i] = t2 - t0 > b->timer_overhead ? t2 - t0 - b->timer_overhead : 0;
	}
	dist_compute(tp, n, b->timer_overhead, &b->d_parse);
	dist_compute(td, n, b->timer_overhead, &b->d_decide);
	dist_compute(tt, n, b->timer_overhead, &b->d_engine);
	b->ran_decide = true;
	rc = 0;
out:
	pc_engine_scratch_free(s);
	free(tp);
	free(td);
	free(tt);
	return rc;
}

/* ---- scenario: l7 (one new flow at a time through the worker) ---- */

/* Send m, received on in_port, through a 1-packet pc_worker_process +
 * pc_worker_flush; returns the cycles it took (timer overhead included). */
static inline uint64_t process_one(struct bench *b, struct rte_mbuf *m, uint16_t in_port)
{
	uint64_t t0 = rte_rdtsc_precise();
	pc_worker_process(b->w, &m, 1, in_port);
	pc_worker_flush(b->w);
	return rte_rdtsc_precise() - t0;
}

/* Take back the one frame the worker was expected to forward out of the
 * other port. */
static int take_back(struct bench *b, struct rte_mbuf *m, uint16_t in_port,
		     const uint64_t *before, const char *what)
{
	struct rte_mbuf *out[4];
	unsigned n = rte_ring_sc_dequeue_burst(b->tx_ring[in_port ^ 1], (void **)out, 4, NULL);
	if (n == 1 && out[0] == m && rte_ring_count(b->tx_ring[in_port]) == 0)
		return 0;
	return counters_mismatch(b, before, what);
}

static int run_l7(struct bench *b)
{
	uint32_t n = b->o.decisions;
	uint64_t *tl = malloc(n * sizeof(uint64_t));
	uint64_t *ts = malloc(n * sizeof(uint64_t));
	uint64_t *ta = malloc(n * sizeof(uint64_t));
	uint64_t before[PC_CTR_COUNT];
	struct rte_mbuf *m = b->gen[0];
	int rc = -1;

	if (tl == NULL || ts == NULL || ta == NULL) {
		fprintf(stderr, PROG ": l7: out of memory\n");
		goto out;
	}
	progress("l7: %u new flows, SYN, SYN-ACK, then the request head, each a 1-packet "
		 "pc_worker_process + pc_worker_flush", n);
	snap_counters(b, before);
	for (uint32_t i = 0; i < n; i++) {
		mbuf_load(m, &b->syn_tmpl, i);
		ts[i] = process_one(b, m, 0);
		if (take_back(b, m, 0, before, "l7 (SYN)") < 0)
			goto out;
		mbuf_load(m, &b->synack_tmpl, i);
		ta[i] = process_one(b, m, 1);
		if (take_back(b, m, 1, before, "l7 (SYN-ACK)") < 0)
			goto out;
		mbuf_load(m, &b->req_tmpl[i % b->n_ids], i);
		tl[i] = process_one(b, m, 0);
		if (take_back(b, m, 0, before, "l7 (request)") < 0)
			goto out;
		if (i % BENCH_DRAIN_EVERY == BENCH_DRAIN_EVERY - 1)
			drain_dlog(b);
	}
	drain_dlog(b);
	if (decided_as(b, before, n, n, 3ull * n, "l7") < 0)
		goto out;
	b->populated = n;
	dist_compute(tl, n, b->timer_overhead, &b->d_l7);
	dist_compute(ts, n, b->timer_overhead, &b->d_syn);
	dist_compute(ta, n, b->timer_overhead, &b->d_synack);
	b->ran_l7 = true;
	rc = 0;
out:
	free(tl);
	free(ts);
	free(ta);
	return rc;
}

/* ---- scenario: split (a head over 1, 2, 4 segments) ---- */

/* Cut identity k's head into parts near-equal segments: part j is bytes
 * [len*j/parts, len*(j+1)/parts) at its own sequence number. */
static int split_templates(const struct bench *b, unsigned parts, struct pc_bench_tmpl *t)
{
	for (uint32_t k = 0; k < b->n_ids; k++) {
		uint32_t len = b->req_len[k];
		for (unsigned j = 0; j < parts; j++) {
			uint32_t from = len * j / parts, to = len * (j + 1) / parts;
			if (pc_bench_tmpl_init(&t[k * parts + j], PC_BENCH_TO_SERVER,
					       PC_TCP_ACK | PC_TCP_PSH, BENCH_CLIENT_ISN + 1 + from,
					       BENCH_SERVER_ISN + 1, b->req_text[k] + from,
					       (uint16_t)(to - from)) < 0 ||
			    check_tmpl(&t[k * parts + j], k, false) < 0)
				return -1;
		}
	}
	return 0;
}

/* The segments of a held head come out, all of them, in order, with the
 * last; none before it. */
static int take_back_head(struct bench *b, struct rte_mbuf **m, unsigned j, unsigned parts,
			  const uint64_t *before)
{
	struct rte_mbuf *out[BENCH_MAX_SEGMENTS + 1];
	unsigned want = j + 1 == parts ? parts : 0;
	unsigned n = rte_ring_sc_dequeue_burst(b->tx_ring[1], (void **)out, RTE_DIM(out), NULL);
	bool ok = n == want && rte_ring_count(b->tx_ring[0]) == 0;
	for (unsigned i = 0; ok && i < n; i++)
		ok = out[i] == m[i];
	return ok ? 0 : counters_mismatch(b, before, "split (request segments)");
}

static int run_split(struct bench *b)
{
	const unsigned ns = b->o.n_splits;
	const uint32_t per = b->o.decisions, n = per * ns;
	const uint32_t base = b->populated;
	struct pc_bench_tmpl *tmpl[BENCH_MAX_SPLITS] = { NULL };
	uint64_t *tv[BENCH_MAX_SPLITS] = { NULL }, *tl[BENCH_MAX_SPLITS] = { NULL };
	uint64_t *ta = malloc(n * sizeof(uint64_t)), *te = malloc(n * sizeof(uint64_t));
	uint64_t before[PC_CTR_COUNT], tx_want = 0;
	struct rte_mbuf **m = b->gen;
	int rc = -1;

	for (unsigned c = 0; c < ns; c++) {
		tmpl[c] = calloc((size_t)b->n_ids * b->o.splits[c], sizeof(*tmpl[c]));
		tv[c] = malloc(per * sizeof(uint64_t));
		tl[c] = malloc(per * sizeof(uint64_t));
		if (tmpl[c] == NULL || tv[c] == NULL || tl[c] == NULL ||
		    ta == NULL || te == NULL) {
			fprintf(stderr, PROG ": split: out of memory\n");
			goto out;
		}
		if (split_templates(b, b->o.splits[c], tmpl[c]) < 0)
			goto out;
		tx_want += (2ull + b->o.splits[c]) * per;
	}
	progress("split: %u new flows for each of %u segment counts, the head's segments each a "
		 "1-packet pc_worker_process + pc_worker_flush", per, ns);
	snap_counters(b, before);
	for (uint32_t i = 0; i < n; i++) {
		/* Flow by flow the counts take turns, and with them the
		 * identities (flow mod identities), so no count gets the
		 * cheaper identities or the quieter moments. */
		const uint32_t flow = base + i;
		const unsigned c = i % ns, parts = b->o.splits[c];
		const struct pc_bench_tmpl *t = &tmpl[c][(flow % b->n_ids) * parts];
		uint64_t sum = 0;

		mbuf_load(m[0], &b->syn_tmpl, flow);
		process_one(b, m[0], 0);
		if (take_back(b, m[0], 0, before, "split (SYN)") < 0)
			goto out;
		mbuf_load(m[0], &b->synack_tmpl, flow);
		ta[i] = process_one(b, m[0], 1);
		if (take_back(b, m[0], 1, before, "split (SYN-ACK)") < 0)
			goto out;
		for (unsigned j = 0; j < parts; j++) {
			mbuf_load(m[j], &t[j], flow);
			uint64_t d = process_one(b, m[j], 0);
			/* Each call paid the timer once: take it off each. */
			d = d > b->timer_overhead ? d - b->timer_overhead : 0;
			sum += d;
			if (j + 1 == parts)
				tl[c][i / ns] = d;
			if (take_back_head(b, m, j, parts, before) < 0)
				goto out;
		}
		tv[c][i / ns] = sum;
		/* The part of every 1-packet call that is per call, not per
		 * packet (the loop's clock reads, the TX flushes, publishing
		 * the counters): production pays it once per burst. */
		uint64_t t0 = rte_rdtsc_precise();
		pc_worker_process(b->w, m, 0, 0);
		pc_worker_flush(b->w);
		te[i] = rte_rdtsc_precise() - t0;
		if (i % BENCH_DRAIN_EVERY == BENCH_DRAIN_EVERY - 1)
			drain_dlog(b);
	}
	drain_dlog(b);
	if (decided_as(b, before, n, n, tx_want, "split") < 0)
		goto out;
	/* Every flow now stands where fill_table would leave it (its head
	 * allowed, its body to come), so established can use them. */
	b->populated = base + n;
	for (unsigned c = 0; c < ns; c++) {
		dist_compute(tv[c], per, 0, &b->d_split[c]);
		dist_compute(tl[c], per, 0, &b->d_split_last[c]);
	}
	dist_compute(ta, n, b->timer_overhead, &b->d_split_synack);
	dist_compute(te, n, b->timer_overhead, &b->d_split_empty);
	b->ran_split = true;
	rc = 0;
out:
	for (unsigned c = 0; c < ns; c++) {
		free(tmpl[c]);
		free(tv[c]);
		free(tl[c]);
	}
	free(ta);
	free(te);
	return rc;
}

/* ---- scenario: established ---- */

/* Send the frames of mb[0..n) (already loaded) in on in_port through
 * pc_worker_poll and take the n forwarded frames back from the other port
 * into mb[]. */
static int poll_through(struct bench *b, struct rte_mbuf **mb, unsigned n, uint16_t in_port,
			const uint64_t *before)
{
	if (rte_ring_sp_enqueue_burst(b->rx_ring[in_port], (void **)mb, n, NULL) != n)
		return counters_mismatch(b, before, "fill (rx ring full)");
	unsigned got = pc_worker_poll(b->w);
	unsigned back = rte_ring_sc_dequeue_burst(b->tx_ring[in_port ^ 1], (void **)mb, n, NULL);
	if (got != n || back != n || rte_ring_count(b->tx_ring[in_port]) != 0)
		return counters_mismatch(b, before, "fill");
	return 0;
}

/* Flows populated..flows-1 through the real path: a burst of SYNs, a burst
 * of their SYN-ACKs, then a burst of their requests. */
static int fill_table(struct bench *b)
{
	uint32_t from = b->populated, to = b->o.flows;
	uint64_t before[PC_CTR_COUNT];
	if (from >= to)
		return 0;
	progress("established: filling the flow table with flows %u..%u (SYN, SYN-ACK, then an "
		 "allowed request, through pc_worker_poll)", from, to - 1);
	snap_counters(b, before);
	uint64_t t0 = rte_rdtsc();
	unsigned bursts = 0;
	for (uint32_t base = from; base < to; base += PC_WORKER_BURST) {
		unsigned n = RTE_MIN((uint32_t)PC_WORKER_BURST, to - base);
		struct rte_mbuf **mb = b->gen;
		for (unsigned j = 0; j < n; j++)
			mbuf_load(mb[j], &b->syn_tmpl, base + j);
		if (poll_through(b, mb, n, 0, before) < 0)
			return -1;
		for (unsigned j = 0; j < n; j++)
			mbuf_load(mb[j], &b->synack_tmpl, base + j);
		if (poll_through(b, mb, n, 1, before) < 0)
			return -1;
		for (unsigned j = 0; j < n; j++)
			mbuf_load(mb[j], &b->req_tmpl[(base + j) % b->n_ids], base + j);
		if (poll_through(b, mb, n, 0, before) < 0)
			return -1;
		if (++bursts % (BENCH_DRAIN_EVERY / PC_WORKER_BURST) == 0)
			drain_dlog(b);
	}
	drain_dlog(b);
	uint64_t cycles = rte_rdtsc() - t0;
	uint64_t added = to - from;
	if (decided_as(b, before, added, added, UINT64_MAX, "fill") < 0)
		return -1;
	if (pc_flow_table_count(b->w->flows) != to)
		return counters_mismatch(b, before, "fill");
	b->fill_cycles_per_flow = (double)cycles / (double)added;
	progress("established: %llu flows added in %.2f s (%.0f cycles per flow, SYN, SYN-ACK "
		 "and request, bursts of 32)", (unsigned long long)added, (double)cycles / b->tsc_hz,
		 b->fill_cycles_per_flow);
	b->populated = to;
	return 0;
}

/* Make m the next body segment of a random flow. Flows are drawn
 * BENCH_GEN_AHEAD packets before they are used, and their sequence numbers
 * prefetched then, so the generator's own misses on seq_next overlap
 * instead of stalling the loop. */
static inline void gen_stamp(struct bench *b, struct rte_mbuf *m)
{
	uint32_t slot = b->ahead_pos++ % BENCH_GEN_AHEAD;
	uint32_t flow = b->ahead[slot];
	uint32_t next = rng_below(&b->rng, b->o.flows);
	b->ahead[slot] = next;
	rte_prefetch0(&b->seq_next[next]);

	uint32_t seq = b->seq_next[flow];
	b->seq_next[flow] = seq + BENCH_EST_PAYLOAD;
	pc_bench_stamp_seq(rte_pktmbuf_mtod(m, uint8_t *), &b->est_tmpl, flow, seq);
}

/* The generator's step: what the worker sent on port 1 becomes the next
 * segment of a random flow and goes back on port 0's RX ring. */
static inline void gen_step(struct bench *b)
{
	struct rte_mbuf *mb[PC_WORKER_TX_MAX];
	unsigned n = rte_ring_sc_dequeue_burst(b->tx_ring[1], (void **)mb, PC_WORKER_TX_MAX, NULL);
	for (unsigned i = 0; i < n; i++)
		gen_stamp(b, mb[i]);
	rte_ring_sp_enqueue_burst(b->rx_ring[0], (void **)mb, n, NULL);
}

/* The floors: the least a DPDK application must do per packet here. FWD
 * moves the burst from port 0 to port 1; HASH also builds each frame's
 * canonical flow key (fixed offsets, no validation), hashes it and looks the
 * burst up in the worker's own IPv4 table with one bulk call; ENTRY also
 * prefetches and updates the flow entry found, as any stateful forwarder
 * must. */
static inline unsigned floor_poll(struct bench *b, enum est_mode mode)
{
	struct rte_mbuf *pk[PC_WORKER_BURST];
	union pc_flow_key keys[PC_WORKER_BURST];
	const void *kp[PC_WORKER_BURST];
	hash_sig_t sig[PC_WORKER_BURST];
	int32_t pos[PC_WORKER_BURST];
	struct pc_flow_table *t = b->w->flows;

	uint16_t n = rte_eth_rx_burst(0, 0, pk, PC_WORKER_BURST);
	if (n == 0)
		return 0;
	if (mode != EST_FWD) {
		for (uint16_t i = 0; i < n && i < 3; i++)
			rte_prefetch0(rte_pktmbuf_mtod(pk[i], void *));
		for (uint16_t i = 0; i < n; i++) {
			if (i + 3 < n)
				rte_prefetch0(rte_pktmbuf_mtod(pk[i + 3], void *));
			const uint8_t *f = rte_pktmbuf_mtod(pk[i], const uint8_t *);
			struct pc_pkt_meta m;
			uint32_t a;
			uint16_t p;
			m.l3 = PC_L3_IPV4;
			m.l4_proto = f[PC_BENCH_OFF_IP + 9];
			memcpy(&a, f + PC_BENCH_OFF_IP + 12, 4);
			m.src.v4 = ntohl(a);
			memcpy(&a, f + PC_BENCH_OFF_IP + 16, 4);
			m.dst.v4 = ntohl(a);
			memcpy(&p, f + PC_BENCH_OFF_TCP, 2);
			m.sport = ntohs(p);
			memcpy(&p, f + PC_BENCH_OFF_TCP + 2, 2);
			m.dport = ntohs(p);
			uint8_t dir;
			pc_flow_key_make(&m, 0, &keys[i], &dir);
			sig[i] = pc_flow_table_hash(t, PC_FLOW_V4, &keys[i]);
			kp[i] = &keys[i];
		}
		pc_flow_table_lookup_bulk(t, PC_FLOW_V4, kp, sig, n, pos);
		if (mode == EST_ENTRY) {
			for (uint16_t i = 0; i < n; i++)
				if (pos[i] >= 0)
					rte_prefetch0(pc_flow_table_entry(t, PC_FLOW_V4, pos[i]));
			uint64_t now = rte_rdtsc();
			for (uint16_t i = 0; i < n; i++) {
				if (pos[i] < 0)
					continue;
				struct pc_flow *e = pc_flow_table_entry(t, PC_FLOW_V4, pos[i]);
				e->last_seen_tsc = now;
				e->pkts++;
				e->bytes += rte_pktmbuf_pkt_len(pk[i]);
			}
		}
	}
	uint16_t sent = rte_eth_tx_burst(1, 0, pk, n);
	if (unlikely(sent < n))
		rte_pktmbuf_free_bulk(&pk[sent], n - sent);
	return n;
}

struct est_acc {
	uint64_t pkts, poll_tsc, gen_tsc, loop_tsc;
};

static void est_loop(struct bench *b, enum est_mode mode, uint64_t pkts, struct est_acc *acc)
{
	memset(acc, 0, sizeof(*acc));
	uint64_t start = rte_rdtsc();
	while (acc->pkts < pkts) {
		uint64_t t0 = rte_rdtsc();
		unsigned got = mode == EST_WORKER ? pc_worker_poll(b->w) : floor_poll(b, mode);
		uint64_t t1 = rte_rdtsc();
		gen_step(b);
		uint64_t t2 = rte_rdtsc();
		acc->pkts += got;
		acc->poll_tsc += t1 - t0;
		acc->gen_tsc += t2 - t1;
	}
	acc->loop_tsc = rte_rdtsc() - start;
}

static int run_established(struct bench *b)
{
	const uint32_t g = b->o.gen_mbufs, rounds = b->o.rounds;
	const uint64_t per_round = (b->o.packets + rounds - 1) / rounds;
	uint64_t before[PC_CTR_COUNT];
	double *v = malloc(rounds * sizeof(double));
	double *gv = malloc(rounds * sizeof(double));
	double *lv = malloc(rounds * sizeof(double));
	int rc = -1;

	if (v == NULL || gv == NULL || lv == NULL) {
		fprintf(stderr, PROG ": established: out of memory\n");
		goto out;
	}
	if (fill_table(b) < 0)
		goto out;

	/* Every flow is now in the body of its request, right after the
	 * head: the generator keeps each flow's byte stream in order, as a
	 * receiving TCP (and the gateway) expects. */
	b->seq_next = malloc((size_t)b->o.flows * sizeof(*b->seq_next));
	if (b->seq_next == NULL) {
		fprintf(stderr, PROG ": established: out of memory\n");
		goto out;
	}
	for (uint32_t f = 0; f < b->o.flows; f++)
		b->seq_next[f] = BENCH_CLIENT_ISN + 1 + b->req_len[f % b->n_ids];
	for (uint32_t i = 0; i < BENCH_GEN_AHEAD; i++)
		b->ahead[i] = rng_below(&b->rng, b->o.flows);
	for (uint32_t i = 0; i < g; i++) {
		mbuf_load(b->gen[i], &b->est_tmpl, 0);
		gen_stamp(b, b->gen[i]);
	}
	if (rte_ring_sp_enqueue_burst(b->rx_ring[0], (void **)b->gen, g, NULL) != g) {
		fprintf(stderr, PROG ": established: RX ring too small for %u mbufs\n", g);
		goto out;
	}
	progress("established: %llu packets of %u random flows through pc_worker_poll, "
		 "%u rounds, %u mbufs circulating", (unsigned long long)per_round * rounds,
		 b->o.flows, rounds, g);

	snap_counters(b, before);
	struct est_acc acc;
	/* Warm up: a full pass of the flows is not needed for a random
	 * sample, but the caches and branch predictors must settle. */
	est_loop(b, EST_WORKER, RTE_MAX(per_round / 4, (uint64_t)65536), &acc);
	uint64_t worker_pkts = acc.pkts;
	for (uint32_t r = 0; r < rounds; r++) {
		est_loop(b, EST_WORKER, per_round, &acc);
		worker_pkts += acc.pkts;
		v[r] = (double)acc.poll_tsc / (double)acc.pkts;
		gv[r] = (double)acc.gen_tsc / (double)acc.pkts;
		lv[r] = (double)acc.loop_tsc / (double)acc.pkts;
		b->est.packets += acc.pkts;
	}
	/* Every packet was an established flow's: forwarded, nothing created,
	 * decided, dropped or handed off. */
	if (delta(b, before, PC_CTR_RX) != worker_pkts || delta(b, before, PC_CTR_TX) != worker_pkts ||
	    delta(b, before, PC_CTR_FLOWS_CREATED) != 0 ||
	    delta(b, before, PC_CTR_DENIED_DROPPED) != 0 ||
	    delta(b, before, PC_CTR_DECISIONS_ALLOWED) != 0) {
		counters_mismatch(b, before, "established");
		goto out;
	}
	double vmin = v[0];
	for (uint32_t r = 1; r < rounds; r++)
		vmin = RTE_MIN(vmin, v[r]);
	b->est.cpp[EST_WORKER] = median(v, rounds);
	b->est.cpp_min[EST_WORKER] = vmin;
	b->est.gen_cpp = median(gv, rounds);
	b->est.loop_cpp = median(lv, rounds);

	for (int mode = EST_FWD; mode < EST_MODES; mode++) {
		est_loop(b, (enum est_mode)mode, RTE_MAX(per_round / 4, (uint64_t)65536), &acc);
		for (uint32_t r = 0; r < rounds; r++) {
			est_loop(b, (enum est_mode)mode, per_round, &acc);
			v[r] = (double)acc.poll_tsc / (double)acc.pkts;
		}
		vmin = v[0];
		for (uint32_t r = 1; r < rounds; r++)
			vmin = RTE_MIN(vmin, v[r]);
		b->est.cpp[mode] = median(v, rounds);
		b->est.cpp_min[mode] = vmin;
	}

	/* Every circulating mbuf is on port 0's RX ring again. */
	unsigned back = rte_ring_sc_dequeue_burst(b->rx_ring[0], (void **)b->gen, g, NULL);
	back += rte_ring_sc_dequeue_burst(b->tx_ring[1], (void **)b->gen + back, g - back, NULL);
	if (back != g) {
		fprintf(stderr, PROG ": established: %u of %u mbufs came back\n", back, g);
		goto out;
	}
	b->ran_est = true;
	rc = 0;
out:
	free(v);
	free(gv);
	free(lv);
	free(b->seq_next);
	b->seq_next = NULL;
	return rc;
}

/* ---- scenario: keepalive (requests one after another on a connection) ---- */

/* A pattern no head or body of this benchmark contains, so a copy of any
 * of their bytes over it shows. */
static inline uint8_t ka_sentinel(unsigned i)
{
	return (uint8_t)(0xa5 ^ (i * 37u));
}

static void ka_sentinel_write(uint8_t *p)
{
	for (unsigned i = 0; i < BENCH_KA_SENTINEL; i++)
		p[i] = ka_sentinel(i);
}

static bool ka_sentinel_kept(const uint8_t *p)
{
	for (unsigned i = 0; i < BENCH_KA_SENTINEL; i++)
		if (p[i] != ka_sentinel(i))
			return false;
	return true;
}

/* Copy t (built with sequence number 0) into m as a fresh frame of flow
 * at sequence number seq. */
static inline void mbuf_load_seq(struct rte_mbuf *m, const struct pc_bench_tmpl *t, uint32_t flow,
				 uint32_t seq)
{
	mbuf_load(m, t, flow);
	pc_bench_stamp_seq(rte_pktmbuf_mtod(m, uint8_t *), t, flow, seq);
}

/* What an allowed request must come to: m itself, alone, out of port 1,
 * nothing on port 0. Anything else (held, dropped, answered, or another
 * mbuf in its place) ends the run: m may now be the worker's. */
static int ka_take_back(struct bench *b, struct rte_mbuf *m, const uint64_t *before,
			uint32_t flow, uint32_t req)
{
	struct rte_mbuf *out[4];
	unsigned n = rte_ring_sc_dequeue_burst(b->tx_ring[1], (void **)out, RTE_DIM(out), NULL);
	if (n == 1 && out[0] == m && rte_ring_count(b->tx_ring[0]) == 0)
		return 0;
	fprintf(stderr, PROG ": keepalive: flow %u, request %u: %u frames out of port 1%s, %u "
		"out of port 0; expected the mbuf that went in, alone\n", flow, req + 1, n,
		n >= 1 && out[0] != m ? " (another mbuf)" : "", rte_ring_count(b->tx_ring[0]));
	b->ka_copies++;
	return counters_mismatch(b, before, "keepalive (request)");
}

static int run_keepalive(struct bench *b)
{
	const uint32_t n = b->o.decisions, reqs = b->o.ka_requests;
	/* Past every flow established draws from (it has run; see
	 * parse_opts), so its streams stay as it expects them. */
	const uint32_t base = b->populated;
	const uint64_t n_next = (uint64_t)n * (reqs - 1);
	struct pc_bench_tmpl *tmpl = calloc(b->n_ids, sizeof(*tmpl));
	uint16_t *len = calloc(b->n_ids, sizeof(*len));
	uint64_t *tf = malloc(n * sizeof(uint64_t));
	uint64_t *tn = malloc(n_next * sizeof(uint64_t));
	uint64_t before[PC_CTR_COUNT];
	uint8_t sent[PC_BENCH_FRAME_MAX];
	struct rte_mbuf *m = b->gen[0];
	uint8_t *sentinel[2] = { b->w->reasm.buf, b->w->body };
	uint32_t undrained = 0;
	int rc = -1;

	if (tmpl == NULL || len == NULL || tf == NULL || tn == NULL) {
		fprintf(stderr, PROG ": keepalive: out of memory\n");
		goto out;
	}
	if (b->w->reasm.max_head < BENCH_KA_SENTINEL) {
		fprintf(stderr, PROG ": keepalive: the head buffer has %u bytes, fewer than the "
			"%d the check writes\n", b->w->reasm.max_head, BENCH_KA_SENTINEL);
		goto out;
	}
	/* Identity k's head for its last rule, as in l7, but with no body,
	 * so the next head follows at once; sequence numbers are stamped per
	 * request. */
	for (uint32_t k = 0; k < b->n_ids; k++) {
		char text[512];
		int tl = pc_bench_request_body(text, sizeof(text), k, b->last_rule[k], 0);
		if (tl < 0 ||
		    pc_bench_tmpl_init(&tmpl[k], PC_BENCH_TO_SERVER, PC_TCP_ACK | PC_TCP_PSH, 0,
				       BENCH_SERVER_ISN + 1, text, (uint16_t)tl) < 0 ||
		    check_tmpl(&tmpl[k], k, true) < 0)
			goto out;
		len[k] = (uint16_t)tl;
	}
	progress("keepalive: %u new connections of %u allowed requests each, every head in one "
		 "segment, each a 1-packet pc_worker_process + pc_worker_flush", n, reqs);
	/* A copy of a head (pc_reasm_view) or of a body (body_hold_try)
	 * would start at the front of these buffers. */
	for (unsigned s = 0; s < 2; s++)
		ka_sentinel_write(sentinel[s]);
	b->ka_copies = 0;
	snap_counters(b, before);
	for (uint32_t i = 0; i < n; i++) {
		const uint32_t flow = base + i, k = flow % b->n_ids;
		uint32_t seq = BENCH_CLIENT_ISN + 1;

		mbuf_load(m, &b->syn_tmpl, flow);
		process_one(b, m, 0);
		if (take_back(b, m, 0, before, "keepalive (SYN)") < 0)
			goto out;
		mbuf_load(m, &b->synack_tmpl, flow);
		process_one(b, m, 1);
		if (take_back(b, m, 1, before, "keepalive (SYN-ACK)") < 0)
			goto out;
		for (uint32_t j = 0; j < reqs; j++) {
			mbuf_load_seq(m, &tmpl[k], flow, seq);
			const uint16_t off = m->data_off, dlen = m->data_len;
			const uint32_t plen = m->pkt_len;
			memcpy(sent, rte_pktmbuf_mtod(m, const uint8_t *), dlen);
			uint64_t d = process_one(b, m, 0);
			if (ka_take_back(b, m, before, flow, j) < 0)
				goto out;
			bool same = m->data_off == off && m->data_len == dlen && m->pkt_len == plen &&
				    m->nb_segs == 1 &&
				    memcmp(rte_pktmbuf_mtod(m, const uint8_t *), sent, dlen) == 0;
			bool kept[2] = { ka_sentinel_kept(sentinel[0]), ka_sentinel_kept(sentinel[1]) };
			if (!same || !kept[0] || !kept[1]) {
				/* Counted, not fatal at once: the run fails at the
				 * end and says how many there were. */
				if (b->ka_copies++ < 8)
					fprintf(stderr, PROG ": keepalive: flow %u, request %u: %s%s%s\n",
						flow, j + 1,
						same ? "" : "the frame out is not the frame in; ",
						kept[0] ? "" : "the head buffer was written; ",
						kept[1] ? "" : "the body buffer was written");
				for (unsigned s = 0; s < 2; s++)
					if (!kept[s])
						ka_sentinel_write(sentinel[s]);
			}
			if (j == 0)
				tf[i] = d;
			else
				tn[(uint64_t)i * (reqs - 1) + j - 1] = d;
			seq += len[k];
			if (++undrained == BENCH_DRAIN_EVERY) {
				drain_dlog(b);
				undrained = 0;
			}
		}
	}
	drain_dlog(b);
	if (b->ka_copies != 0) {
		fprintf(stderr, PROG ": keepalive: keepalive_payload_copies %llu: of %llu "
			"requests, so many did not go out untouched in the mbuf they came in, or "
			"left bytes in the worker's head or body buffer\n",
			(unsigned long long)b->ka_copies, (unsigned long long)n * reqs);
		counters_mismatch(b, before, "keepalive");
		goto out;
	}
	if (decided_as(b, before, n, (uint64_t)n * reqs, (2ull + reqs) * n, "keepalive") < 0)
		goto out;
	/* In the table, but between two heads: no scenario after this one
	 * may take them for fill_table's flows. */
	b->populated = base + n;
	dist_compute(tf, n, b->timer_overhead, &b->d_ka_first);
	dist_compute(tn, n_next, b->timer_overhead, &b->d_ka_next);
	b->ran_ka = true;
	rc = 0;
out:
	free(tmpl);
	free(len);
	free(tf);
	free(tn);
	return rc;
}

/* ---- the run, on the worker's lcore ---- */

static int runner(void *arg)
{
	struct bench *b = arg;
	int rc = 0;

	b->timer_overhead = measure_timer_overhead();
	b->rng = b->o.seed ? b->o.seed : 0x9e3779b97f4a7c15ull;
	if (b->o.scenarios & SC_DECIDE)
		rc = run_decide(b);
	if (rc == 0 && (b->o.scenarios & SC_L7))
		rc = run_l7(b);
	if (rc == 0 && (b->o.scenarios & SC_SPLIT))
		rc = run_split(b);
	if (rc == 0 && (b->o.scenarios & SC_ESTABLISHED))
		rc = run_established(b);
	if (rc == 0 && (b->o.scenarios & SC_KEEPALIVE))
		rc = run_keepalive(b);
	b->status = rc;
	__atomic_store_n(&b->done, 1, __ATOMIC_RELEASE);
	return rc;
}

/* ---- setup ---- */

/* Bytes of DPDK heap that a flow table of capacity flows takes, per flow. */
static double flow_table_footprint(uint32_t capacity)
{
	struct rte_malloc_socket_stats s0, s1;
	int socket = (int)rte_socket_id();
	rte_malloc_get_socket_stats(socket, &s0);
	struct pc_flow_table *t = pc_flow_table_create("pcb_size", capacity, socket);
	if (t == NULL)
		return -1;
	rte_malloc_get_socket_stats(socket, &s1);
	pc_flow_table_free(t);
	return (double)(s1.heap_allocsz_bytes - s0.heap_allocsz_bytes) / capacity;
}

static int ports_create(struct bench *b)
{
	char name[32], err[512];
	for (unsigned p = 0; p < 2; p++) {
		snprintf(name, sizeof(name), "pcb_rx%u", p);
		b->rx_ring[p] = rte_ring_create(name, BENCH_RING_SIZE, (int)rte_socket_id(),
						RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "pcb_tx%u", p);
		b->tx_ring[p] = rte_ring_create(name, BENCH_RING_SIZE, (int)rte_socket_id(),
						RING_F_SP_ENQ | RING_F_SC_DEQ);
		if (b->rx_ring[p] == NULL || b->tx_ring[p] == NULL) {
			fprintf(stderr, PROG ": ring: %s\n", rte_strerror(rte_errno));
			return -1;
		}
		snprintf(name, sizeof(name), "net_ring_pcb%u", p);
		int id = rte_eth_from_rings(name, &b->rx_ring[p], 1, &b->tx_ring[p], 1,
					    rte_socket_id());
		if (id != (int)p) {
			fprintf(stderr, PROG ": net_ring port %u: %s (the EAL must probe no other "
				"device: keep --no-pci and add no --vdev)\n", p,
				id < 0 ? rte_strerror(rte_errno) : "got another port id");
			return -1;
		}
		if (pc_port_setup((uint16_t)p, 1, b->dp->pool, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": %s\n", err);
			return -1;
		}
	}
	return 0;
}

/* ---- report ---- */

static void print_dist(const char *label, const struct dist *d)
{
	printf("  %-26s p50 %6llu  p90 %6llu  p99 %6llu  p99.9 %6llu  mean %7.0f  max %7llu\n",
	       label, (unsigned long long)d->p50, (unsigned long long)d->p90,
	       (unsigned long long)d->p99, (unsigned long long)d->p999, d->mean,
	       (unsigned long long)d->max);
}

static void json_dist(FILE *out, const char *key, const struct dist *d)
{
	fprintf(out, "\"%s\":{\"n\":%llu,\"mean\":%.1f,\"mean_trim\":%.1f,\"p50\":%llu,"
		"\"p90\":%llu,\"p99\":%llu,\"p99_9\":%llu,\"max\":%llu}", key,
		(unsigned long long)d->n, d->mean, d->mean_trim,
		(unsigned long long)d->p50, (unsigned long long)d->p90, (unsigned long long)d->p99,
		(unsigned long long)d->p999, (unsigned long long)d->max);
}

/* The 1-segment distribution of split, the base of its ratios; NULL when
 * --segments has no 1. */
static const struct dist *split_one(const struct bench *b)
{
	for (unsigned c = 0; c < b->o.n_splits; c++)
		if (b->o.splits[c] == 1)
			return &b->d_split[c];
	return NULL;
}

static double ratio(uint64_t a, uint64_t base)
{
	return base ? (double)a / (double)base : 0;
}

/* The N-segment head over the 1-segment head at p50, with the per-call part
 * (the empty call: clock reads, TX flushes, counter publication) counted
 * once per segment's burst share rather than once per segment: each
 * segment here is its own 1-packet call, while a loaded worker's poll pays
 * that part once per burst of up to 32 packets. */
static double split_per_burst_ratio(const struct bench *b, unsigned c)
{
	const struct dist *one = split_one(b);
	double empty = (double)b->d_split_empty.p50;
	double n = (double)b->o.splits[c] * empty, d = one != NULL ? one->p50 - empty : 0;
	return d > 0 ? ((double)b->d_split[c].p50 - n) / d : 0;
}

static void report(const struct bench *b)
{
	const double mhz = b->tsc_hz / 1e6;
	const struct est_result *e = &b->est;

	printf("\n%s\n", b->cmdline);
	printf("policy: %u rules, %u identities; TSC %.1f MHz; cycles are TSC cycles\n", b->n_rules,
	       b->n_ids, mhz);
	printf("flow entry: %zu bytes (sizeof struct pc_flow); flow table: %.1f bytes per flow "
	       "of capacity (IPv4 and IPv6 tables, hashes and entries)\n", sizeof(struct pc_flow),
	       b->table_bytes_per_flow);
	if (b->ran_est) {
		printf("\nestablished: %u flows in a table of %u (%.0f%% full), %llu packets, bursts "
		       "of 32, median of %u rounds (cycles per packet)\n", b->o.flows,
		       b->o.capacity, 100.0 * b->o.flows / b->o.capacity,
		       (unsigned long long)e->packets, b->o.rounds);
		printf("  %-40s %7.1f  (min %.1f)  %6.2f Mpps per core\n",
		       "worker: pc_worker_poll", e->cpp[EST_WORKER], e->cpp_min[EST_WORKER],
		       b->tsc_hz / e->cpp[EST_WORKER] / 1e6);
		printf("  %-40s %7.1f\n", "generator: ring dequeue, stamp, enqueue", e->gen_cpp);
		printf("  %-40s %7.1f  worker share %.0f%%  %6.2f Mpps with both on one core\n",
		       "whole loop", e->loop_cpp, 100.0 * e->cpp[EST_WORKER] / e->loop_cpp,
		       b->tsc_hz / e->loop_cpp / 1e6);
		printf("  %-40s %7.1f\n", "floor: ring forward", e->cpp[EST_FWD]);
		printf("  %-40s %7.1f\n", "floor: + key, bulk rte_hash lookup", e->cpp[EST_HASH]);
		printf("  %-40s %7.1f\n", "floor: + flow entry update", e->cpp[EST_ENTRY]);
		if (b->fill_cycles_per_flow > 0)
			printf("  table fill: %.0f cycles per flow (SYN, SYN-ACK and allowed request, "
			       "bursts of 32, whole loop)\n", b->fill_cycles_per_flow);
	}
	if (b->ran_l7) {
		printf("\nl7: %u new flows, 1-packet pc_worker_process + pc_worker_flush "
		       "(cycles; timer overhead %llu subtracted)\n", b->o.decisions,
		       (unsigned long long)b->timer_overhead);
		print_dist("request head (decision)", &b->d_l7);
		print_dist("SYN (new flow)", &b->d_syn);
		print_dist("SYN-ACK (forward only)", &b->d_synack);
		printf("  %.2f M decisions/s per core (request segments); %.2f M new flows/s with "
		       "their SYNs and SYN-ACKs (from means without the slowest 0.1%%)\n",
		       b->tsc_hz / b->d_l7.mean_trim / 1e6,
		       b->tsc_hz / (b->d_l7.mean_trim + b->d_syn.mean_trim + b->d_synack.mean_trim) /
			       1e6);
	}
	if (b->ran_split) {
		printf("\nsplit: %u new flows per segment count; cycles per decision = the sum of "
		       "the head's 1-packet calls (timer overhead subtracted from each)\n",
		       b->o.decisions);
		for (unsigned c = 0; c < b->o.n_splits; c++) {
			char label[32];
			snprintf(label, sizeof(label), "head in %u segment%s", b->o.splits[c],
				 b->o.splits[c] == 1 ? "" : "s");
			print_dist(label, &b->d_split[c]);
			if (b->o.splits[c] > 1) {
				snprintf(label, sizeof(label), "  of which the last");
				print_dist(label, &b->d_split_last[c]);
			}
		}
		print_dist("SYN-ACK (forward only)", &b->d_split_synack);
		print_dist("call with no packet", &b->d_split_empty);
		const struct dist *one = split_one(b);
		for (unsigned c = 0; one != NULL && c < b->o.n_splits; c++)
			if (b->o.splits[c] != 1)
				printf("  %u/1: %.2fx at p50, %.2fx at p99, %.2fx in mean; %.2fx at p50 "
				       "with the per-call part counted once per burst\n",
				       b->o.splits[c], ratio(b->d_split[c].p50, one->p50),
				       ratio(b->d_split[c].p99, one->p99),
				       b->d_split[c].mean_trim / one->mean_trim,
				       split_per_burst_ratio(b, c));
	}
	if (b->ran_ka) {
		printf("\nkeepalive: %u new connections of %u allowed requests each, every head in "
		       "one segment, 1-packet pc_worker_process + pc_worker_flush (cycles; timer "
		       "overhead subtracted)\n", b->o.decisions, b->o.ka_requests);
		print_dist("first request", &b->d_ka_first);
		char label[32];
		snprintf(label, sizeof(label), "requests 2..%u", b->o.ka_requests);
		print_dist(label, &b->d_ka_next);
		printf("  next/first: %.2fx at p50, %.2fx at p99, %.2fx in mean\n",
		       ratio(b->d_ka_next.p50, b->d_ka_first.p50),
		       ratio(b->d_ka_next.p99, b->d_ka_first.p99),
		       b->d_ka_next.mean_trim / b->d_ka_first.mean_trim);
		printf("  payload copies: %llu of %llu requests (each went out as the mbuf it came "
		       "in, bytes unchanged; head and body buffers untouched)\n",
		       (unsigned long long)b->ka_copies,
		       (unsigned long long)b->o.decisions * b->o.ka_requests);
	}
	if (b->ran_decide) {
		printf("\ndecide: engine only, the same %u requests (cycles)\n", b->o.decisions);
		print_dist("pc_http_parse_head", &b->d_parse);
		print_dist("pc_decide", &b->d_decide);
		print_dist("both", &b->d_engine);
		if (b->ran_l7)
			printf("  dataplane around the engine: %.0f cycles at p50 (l7 minus decide)\n",
			       (double)b->d_l7.p50 - (double)b->d_engine.p50);
	}
	printf("\n");

	/* One line of JSON with every figure, for scripts (perf/run keeps it). */
	FILE *o = stdout;
	fprintf(o, "{\"bench\":\"portcullis-bench\",\"cmdline\":");
	json_str(o, b->cmdline);
	fprintf(o, ",\"tsc_hz\":%.0f,\"rules\":%u,\"identities\":%u,\"flow_entry_bytes\":%zu,"
		"\"flow_table_bytes_per_flow\":%.1f,\"timer_overhead_cycles\":%llu",
		b->tsc_hz, b->n_rules, b->n_ids, sizeof(struct pc_flow), b->table_bytes_per_flow,
		(unsigned long long)b->timer_overhead);
	if (b->ran_est) {
		fprintf(o, ",\"established\":{\"flows\":%u,\"capacity\":%u,\"packets\":%llu,"
			"\"rounds\":%u,\"gen_mbufs\":%u", b->o.flows, b->o.capacity,
			(unsigned long long)e->packets, b->o.rounds, b->o.gen_mbufs);
		for (int m = 0; m < EST_MODES; m++)
			fprintf(o, ",\"%s_cycles_per_pkt\":%.1f,\"%s_cycles_per_pkt_min\":%.1f",
				est_mode_key[m], e->cpp[m], est_mode_key[m], e->cpp_min[m]);
		fprintf(o, ",\"generator_cycles_per_pkt\":%.1f,\"loop_cycles_per_pkt\":%.1f,"
			"\"worker_share\":%.3f,\"worker_mpps_per_core\":%.2f,"
			"\"loop_mpps_per_core\":%.2f,\"fill_cycles_per_flow\":%.0f}", e->gen_cpp,
			e->loop_cpp, e->cpp[EST_WORKER] / e->loop_cpp,
			b->tsc_hz / e->cpp[EST_WORKER] / 1e6, b->tsc_hz / e->loop_cpp / 1e6,
			b->fill_cycles_per_flow);
	}
	if (b->ran_l7) {
		fprintf(o, ",\"l7\":{");
		json_dist(o, "decision_cycles", &b->d_l7);
		fputc(',', o);
		json_dist(o, "syn_cycles", &b->d_syn);
		fputc(',', o);
		json_dist(o, "synack_cycles", &b->d_synack);
		fprintf(o, ",\"decisions_per_sec_per_core\":%.0f,\"new_flows_per_sec_per_core\":%.0f}",
			b->tsc_hz / b->d_l7.mean_trim,
			b->tsc_hz / (b->d_l7.mean_trim + b->d_syn.mean_trim + b->d_synack.mean_trim));
	}
	if (b->ran_split) {
		const struct dist *one = split_one(b);
		fprintf(o, ",\"split\":{\"flows_per_count\":%u,\"segments\":[", b->o.decisions);
		for (unsigned c = 0; c < b->o.n_splits; c++)
			fprintf(o, "%s%u", c ? "," : "", b->o.splits[c]);
		fputc(']', o);
		for (unsigned c = 0; c < b->o.n_splits; c++) {
			char key[32];
			snprintf(key, sizeof(key), "segments_%u_cycles", b->o.splits[c]);
			fputc(',', o);
			json_dist(o, key, &b->d_split[c]);
			if (b->o.splits[c] == 1)
				continue;
			snprintf(key, sizeof(key), "segments_%u_last_cycles", b->o.splits[c]);
			fputc(',', o);
			json_dist(o, key, &b->d_split_last[c]);
		}
		fputc(',', o);
		json_dist(o, "synack_cycles", &b->d_split_synack);
		fputc(',', o);
		json_dist(o, "empty_call_cycles", &b->d_split_empty);
		for (unsigned c = 0; one != NULL && c < b->o.n_splits; c++)
			if (b->o.splits[c] != 1)
				fprintf(o, ",\"ratio_%u_1_p50\":%.3f,\"ratio_%u_1_p99\":%.3f,"
					"\"ratio_%u_1_mean\":%.3f,\"ratio_%u_1_per_burst_p50\":%.3f",
					b->o.splits[c], ratio(b->d_split[c].p50, one->p50),
					b->o.splits[c], ratio(b->d_split[c].p99, one->p99),
					b->o.splits[c], b->d_split[c].mean_trim / one->mean_trim,
					b->o.splits[c], split_per_burst_ratio(b, c));
		fputc('}', o);
	}
	if (b->ran_ka) {
		fprintf(o, ",\"keepalive\":{\"flows\":%u,\"requests_per_flow\":%u,",
			b->o.decisions, b->o.ka_requests);
		json_dist(o, "keepalive_first_cycles", &b->d_ka_first);
		fputc(',', o);
		json_dist(o, "keepalive_next_cycles", &b->d_ka_next);
		fprintf(o, ",\"ratio_next_first_p50\":%.3f,\"keepalive_payload_copies\":%llu}",
			ratio(b->d_ka_next.p50, b->d_ka_first.p50),
			(unsigned long long)b->ka_copies);
	}
	if (b->ran_decide) {
		fprintf(o, ",\"decide\":{");
		json_dist(o, "parse_cycles", &b->d_parse);
		fputc(',', o);
		json_dist(o, "decide_cycles", &b->d_decide);
		fputc(',', o);
		json_dist(o, "engine_cycles", &b->d_engine);
		fputc('}', o);
	}
	fprintf(o, "}\n");
	fflush(o);
}

/* ---- main ---- */

/* The EAL leaves its runtime directory (config, multi-process socket) behind
 * after rte_eal_cleanup(); with a file prefix of our own per run, nobody
 * else can be using it. */
static void remove_runtime_dir(const char *dir)
{
	if (dir[0] == '\0')
		return;
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	char path[PATH_MAX + 256];
	for (struct dirent *e = readdir(d); e != NULL; e = readdir(d)) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int find_separator(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			return i;
	return argc;
}

int main(int argc, char **argv)
{
	static struct bench bench;
	struct bench *b = &bench;
	char err[1024];
	int status = 1;

	b->cmdline = join_cmdline(argc, argv);
	int sep = find_separator(argc, argv);
	char *none[] = { argv[0], NULL };
	int app_argc = argc - sep;
	char **app_argv = argv + sep;
	if (app_argc <= 0) {
		app_argc = 1;
		app_argv = none;
	} else {
		app_argv[0] = argv[0];
	}
	parse_opts(app_argc, app_argv, &b->o);

	/* EAL arguments: the caller's, or the defaults; a unique file
	 * prefix either way, so runs never share (or clean up) each other's
	 * runtime directory, and one we chose is removed at exit. */
	static const char *const defaults[] = { "-l", "0,1", "--no-huge", "-m", "1024", "--no-pci",
						"--log-level=notice" };
	char prefix[64];
	static char runtime_dir[PATH_MAX]; /* ours to remove; empty when not */
	char *eal_argv[64];
	int eal_argc = 0;
	bool has_prefix = false;
	eal_argv[eal_argc++] = argv[0];
	if (sep == 1) {
		for (size_t i = 0; i < RTE_DIM(defaults); i++)
			eal_argv[eal_argc++] = (char *)(uintptr_t)defaults[i];
	} else {
		if (sep - 1 > (int)RTE_DIM(eal_argv) - 2)
			usage_error("too many EAL arguments");
		for (int i = 1; i < sep; i++) {
			if (strncmp(argv[i], "--file-prefix", 13) == 0)
				has_prefix = true;
			eal_argv[eal_argc++] = argv[i];
		}
	}
	if (!has_prefix) {
		snprintf(prefix, sizeof(prefix), "--file-prefix=pcbench_%d", (int)getpid());
		eal_argv[eal_argc++] = prefix;
	}
	eal_argv[eal_argc] = NULL;

	progress("building %s", b->o.policy);
	b->policy = pc_policy_build_file(b->o.policy, err, sizeof(err));
	if (b->policy == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		return 1;
	}
	if (policy_shape(b) < 0 || build_templates(b) < 0)
		goto out_policy;

	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, PROG ": cannot initialise the EAL: %s\n", rte_strerror(rte_errno));
		goto out_policy;
	}
	if (!has_prefix)
		snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	b->tsc_hz = (double)rte_get_tsc_hz();
	if (rte_lcore_count() != 2) {
		fprintf(stderr, PROG ": %u lcores: give the EAL exactly two (e.g. -l 0,1), the main "
			"lcore and one worker's\n", rte_lcore_count());
		goto out_eal;
	}

	b->table_bytes_per_flow = flow_table_footprint(b->o.capacity);
	if (b->table_bytes_per_flow < 0) {
		fprintf(stderr, PROG ": flow table of %u flows: %s (give the EAL more memory, -m)\n",
			b->o.capacity, strerror(errno));
		goto out_eal;
	}

	/* portcullis-dataplane's defaults (main.c), but never sleeping. */
	struct pc_dp_config cfg = {
		.flows = b->o.capacity,
		.idle_est_s = PC_DP_DEFAULT_IDLE_EST_S,
		.idle_other_s = PC_DP_DEFAULT_IDLE_OTHER_S,
		.idle_busy = true,
		.deny_403 = false,
		.max_head = PC_HTTP_MAX_HEAD,
		.hold_flow_pkts = PC_REASM_DEFAULT_FLOW_PKTS,
		.hold_worker_pkts = PC_REASM_DEFAULT_WORKER_PKTS,
		.hold_timeout_s = PC_DP_DEFAULT_HOLD_TIMEOUT_S,
	};
	progress("creating one worker with a table of %u flows per address family",
		 b->o.capacity);
	b->dp = pc_dp_create(&cfg, b->policy, err, sizeof(err));
	if (b->dp == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out_eal;
	}
	b->w = b->dp->workers[0];
	if (ports_create(b) < 0)
		goto out_ports;

	b->gen = calloc(b->o.gen_mbufs, sizeof(*b->gen));
	if (b->gen == NULL ||
	    rte_pktmbuf_alloc_bulk(b->dp->pool, b->gen, b->o.gen_mbufs) != 0) {
		fprintf(stderr, PROG ": cannot take %u mbufs from the pool\n", b->o.gen_mbufs);
		free(b->gen);
		b->gen = NULL;
		goto out_ports;
	}

	/* The worker's own lcore runs everything; the main lcore sleeps
	 * rather than spin, so it takes nothing from a 2-core machine. */
	if (rte_eal_remote_launch(runner, b, b->w->lcore) != 0) {
		fprintf(stderr, PROG ": cannot launch on lcore %u\n", b->w->lcore);
		goto out_mbufs;
	}
	while (!__atomic_load_n(&b->done, __ATOMIC_ACQUIRE))
		usleep(2000);
	rte_eal_wait_lcore(b->w->lcore);
	if (b->status == 0) {
		report(b);
		status = 0;
	}

out_mbufs:
	if (b->gen != NULL) {
		rte_pktmbuf_free_bulk(b->gen, b->o.gen_mbufs);
		free(b->gen);
	}
out_ports:
	for (uint16_t p = 0; p < 2; p++)
		if (rte_eth_dev_is_valid_port(p))
			pc_port_close(p);
	pc_dp_free(b->dp);
	for (unsigned p = 0; p < 2; p++) {
		rte_ring_free(b->rx_ring[p]);
		rte_ring_free(b->tx_ring[p]);
	}
out_eal:
	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
out_policy:
	pc_policy_free(b->policy);
	free(b->last_rule);
	free(b->req_text);
	free(b->req_len);
	free(b->req_tmpl);
	free(b->cmdline);
	return status;
}
