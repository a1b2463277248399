/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullis-bench-dlp: what scanning request bodies for secrets costs the
 * worker, per body byte.
 *
 *   portcullis-bench-dlp [EAL args] -- [--flows N] [--body BYTES] [--mss BYTES]
 *       [--rounds N]
 *
 * One worker of the real dataplane (pc_dp_create, pc_port_setup on two
 * net_ring ports, as portcullis-bench) runs a policy this program writes:
 * POST /v1/files allowed to two destinations, one external (its bodies are
 * DLP-scanned with the default pattern set) and one not, nothing else
 * different. Each flow opens (SYN, SYN-ACK, ACK), sends its request head in
 * one segment and then a --body byte body (default 64 KiB) in --mss byte
 * segments (default 1448); only the body segments are timed, each as a
 * 1-packet pc_worker_process + pc_worker_flush (the packets are built and
 * the transmitted ones freed outside the timed region). The body is
 * printable text with no secret in it, so every byte is scanned and every
 * segment passes.
 *
 * The report gives cycles per body byte to each destination (the median
 * over --rounds rounds of --flows flows each) and the difference, which is
 * the DLP scan as the worker runs it; the counters are checked (every body
 * byte to the external destination scanned, none to the other, nothing
 * denied). The main lcore runs it; the worker lcore stays idle.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_eth_ring.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>

#include "dataplane.h"
#include "policy/policy.h"
#include "port.h"
#include "worker.h"

#define PROG "portcullis-bench-dlp"
#define RING_SIZE 1024
#define FRAME_MAX 2048
#define SERVER_ISN 700000000u
#define CLIENT_BASE 0xc6130001u /* 198.19.0.1 */
#define DST_INTERNAL 0xc6120002u /* 198.18.0.2 */
#define DST_EXTERNAL 0xc6120003u /* 198.18.0.3 */

static const char policy_json[] =
	"{\"version\":1,\"default_action\":\"deny\","
	"\"identities\":[{\"name\":\"bench\",\"sources\":[\"198.19.0.0/16\"]}],"
	"\"destinations\":["
	"{\"name\":\"external\",\"hosts\":[\"api.llm.example\"],\"addresses\":[\"198.18.0.3/32\"],"
	"\"ports\":[80],\"external\":true},"
	"{\"name\":\"internal\",\"hosts\":[\"llm.internal\"],\"addresses\":[\"198.18.0.2/32\"],"
	"\"ports\":[80]}],"
	"\"rules\":[{\"id\":\"uploads\",\"identities\":[\"bench\"],"
	"\"destinations\":[\"external\",\"internal\"],\"methods\":[\"POST\"],"
	"\"paths\":[\"^/v1/files$\"],\"action\":\"allow\"}],"
	"\"dlp\":{\"action\":\"deny\",\"default_patterns\":true}}\n";

struct opts {
	uint32_t flows, body, mss, rounds;
};

struct bench {
	struct opts o;
	struct pc_dp *dp;
	struct pc_worker *w;
	struct rte_ring *rx[2], *tx[2];
	uint8_t *body;
	uint32_t next_flow;
};

static uint16_t csum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint32_t csum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)p[i] << 8 | p[i + 1];
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

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

/* An untagged Ethernet + IPv4 + TCP frame, every checksum right. */
static uint16_t build(uint8_t *f, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
		      uint32_t seq, uint32_t ack, uint8_t flags, const void *payload, uint16_t len)
{
	static const uint8_t macs[12] = { 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 1, 10 };
	memcpy(f, macs, 12);
	put16(f + 12, 0x0800);
	uint8_t *ip = f + 14, *tcp = ip + 20;
	memset(ip, 0, 40);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(40 + len));
	ip[6] = 0x40; /* DF */
	ip[8] = 64;
	ip[9] = 6;
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(tcp, sport);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	put32(tcp + 8, ack);
	tcp[12] = 5 << 4;
	tcp[13] = flags;
	put16(tcp + 14, 64240);
	memcpy(tcp + 20, payload, len);
	uint8_t pseudo[12];
	memcpy(pseudo, ip + 12, 8);
	pseudo[8] = 0;
	pseudo[9] = 6;
	put16(pseudo + 10, (uint16_t)(20 + len));
	put16(tcp + 16, csum_fold(csum_add(csum_add(0, pseudo, 12), tcp, 20u + len)));
	return (uint16_t)(54 + len);
}

static void drain(struct bench *b)
{
	void *pk[64];
	for (unsigned p = 0; p < 2; p++) {
		unsigned n;
		while ((n = rte_ring_dequeue_burst(b->tx[p], pk, RTE_DIM(pk), NULL)) > 0)
			rte_pktmbuf_free_bulk((struct rte_mbuf **)pk, n);
	}
}

/* One frame through the worker as if received on in_port; returns the
 * cycles of pc_worker_process + pc_worker_flush. */
static uint64_t push(struct bench *b, const uint8_t *frame, uint16_t len, uint16_t in_port)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(b->dp->pool);
	if (m == NULL) {
		fprintf(stderr, PROG ": mbuf pool empty\n");
		exit(1);
	}
	memcpy(rte_pktmbuf_append(m, len), frame, len);
	uint64_t t0 = rte_rdtsc_precise();
	pc_worker_process(b->w, &m, 1, in_port);
	pc_worker_flush(b->w);
	uint64_t t1 = rte_rdtsc_precise();
	drain(b);
	return t1 - t0;
}

/* One flow to dst: handshake and head untimed, body segments timed. */
static uint64_t one_flow(struct bench *b, uint32_t dst, const char *host)
{
	static uint8_t f[FRAME_MAX];
	uint32_t flow = b->next_flow++;
	uint32_t cli = CLIENT_BASE + (flow >> 14);
	uint16_t cport = (uint16_t)(1024 + (flow & 0x3fff));
	uint32_t seq = 1000u * flow;
	uint16_t n;

	n = build(f, cli, dst, cport, 80, seq, 0, 0x02, NULL, 0);
	push(b, f, n, 0);
	n = build(f, dst, cli, 80, cport, SERVER_ISN, seq + 1, 0x12, NULL, 0);
	push(b, f, n, 1);
	seq++;
	n = build(f, cli, dst, cport, 80, seq, SERVER_ISN + 1, 0x10, NULL, 0);
	push(b, f, n, 0);
	char head[256];
	int hl = snprintf(head, sizeof(head),
			  "POST /v1/files HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\n"
			  "Content-Length: %u\r\n\r\n", host, b->o.body);
	n = build(f, cli, dst, cport, 80, seq, SERVER_ISN + 1, 0x18, head, (uint16_t)hl);
	push(b, f, n, 0);
	seq += (uint32_t)hl;

	uint64_t cycles = 0;
	for (uint32_t off = 0; off < b->o.body; off += b->o.mss) {
		uint16_t len = (uint16_t)RTE_MIN(b->o.mss, b->o.body - off);
		n = build(f, cli, dst, cport, 80, seq, SERVER_ISN + 1, 0x18, b->body + off, len);
		cycles += push(b, f, n, 0);
		seq += len;
	}
	/* The server closes: the flow's state goes with the reset. */
	n = build(f, dst, cli, 80, cport, SERVER_ISN + 1, seq, 0x14, NULL, 0);
	push(b, f, n, 1);
	return cycles;
}

/* The EAL leaves its runtime directory behind; ours (a unique prefix) goes. */
static void remove_runtime_dir(const char *dir)
{
	DIR *d = dir[0] != '\0' ? opendir(dir) : NULL;
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

static int cmp_double(const void *a, const void *c)
{
	double x = *(const double *)a, y = *(const double *)c;
	return x < y ? -1 : x > y;
}

static uint64_t ctr(const struct bench *b, enum pc_ctr c)
{
	pc_worker_publish(b->w); /* what the last calls counted */
	return __atomic_load_n(&b->w->counters.v[c], __ATOMIC_RELAXED);
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: " PROG " [EAL args] -- [options]\n"
		"  --flows N      flows per round and destination (default 64)\n"
		"  --body BYTES   body length (default 65536)\n"
		"  --mss BYTES    body bytes per segment (default 1448)\n"
		"  --rounds N     rounds; the median is reported (default 5)\n"
		"Without EAL args: -l 0,1 --no-huge -m 512 --no-pci --log-level=notice and a\n"
		"unique --file-prefix.\n");
}

static uint32_t parse_u32(const char *opt, const char *s, uint32_t lo, uint32_t hi)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, PROG ": %s: '%s' is not a number from %u to %u\n", opt, s, lo, hi);
		exit(2);
	}
	return (uint32_t)v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "flows", required_argument, NULL, 'f' },
		{ "body", required_argument, NULL, 'b' },
		{ "mss", required_argument, NULL, 'm' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	*o = (struct opts){ .flows = 64, .body = 65536, .mss = 1448, .rounds = 5 };
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			o->flows = parse_u32("--flows", optarg, 1, 16384);
			break;
		case 'b':
			o->body = parse_u32("--body", optarg, 1, 1u << 24);
			break;
		case 'm':
			o->mss = parse_u32("--mss", optarg, 64, 1460);
			break;
		case 'r':
			o->rounds = parse_u32("--rounds", optarg, 1, 101);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			exit(2);
		}
	}
}

int main(int argc, char **argv)
{
	struct bench bb = { 0 }, *b = &bb;
	int sep = argc;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			sep = i;
			break;
		}
	char *app_argv[64] = { argv[0] };
	int app_argc = 1;
	for (int i = sep + 1; i < argc && app_argc < 63; i++)
		app_argv[app_argc++] = argv[i];
	parse(app_argc, app_argv, &b->o);

	char prefix[64];
	snprintf(prefix, sizeof(prefix), "--file-prefix=pcbench_dlp_%d", (int)getpid());
	char *defaults[] = { argv[0], "-l", "0,1", "--no-huge", "-m", "512", "--no-pci",
			     "--log-level=notice", prefix, NULL };
	char *eal_argv[64];
	int eal_argc = 0;
	if (sep <= 1) {
		for (; defaults[eal_argc] != NULL; eal_argc++)
			eal_argv[eal_argc] = defaults[eal_argc];
	} else {
		for (int i = 0; i < sep && i < 62; i++)
			eal_argv[eal_argc++] = argv[i];
	}
	eal_argv[eal_argc] = NULL;

	char path[] = "/tmp/pcbench-dlp-policy.XXXXXX", err[512];
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, policy_json, sizeof(policy_json) - 1) < 0) {
		perror(PROG ": policy file");
		return 1;
	}
	close(fd);
	struct pc_policy *policy = pc_policy_build_file(path, err, sizeof(err));
	unlink(path);
	if (policy == NULL) {
		fprintf(stderr, PROG ": policy: %s\n", err);
		return 1;
	}
	b->body = malloc(b->o.body);
	uint64_t rng = 88172645463325252ull;
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 ,.:\"{}";
	for (uint32_t i = 0; i < b->o.body; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		b->body[i] = (uint8_t)alphabet[rng % (sizeof(alphabet) - 1)];
	}

	if (rte_eal_init(eal_argc, eal_argv) < 0) {
		fprintf(stderr, PROG ": EAL: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	static char runtime_dir[PATH_MAX];
	if (sep <= 1)
		snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	int status = 1;
	struct pc_dp_config cfg = {
		.flows = 2 * b->o.flows * b->o.rounds + 16,
		.idle_est_s = PC_DP_DEFAULT_IDLE_EST_S,
		.idle_other_s = PC_DP_DEFAULT_IDLE_OTHER_S,
		.idle_busy = true,
	};
	b->dp = pc_dp_create(&cfg, policy, err, sizeof(err));
	if (b->dp == NULL) {
		fprintf(stderr, PROG ": %s\n", err);
		goto out_eal;
	}
	b->w = b->dp->workers[0];
	for (unsigned p = 0; p < 2; p++) {
		char name[32];
		snprintf(name, sizeof(name), "pcbd_rx%u", p);
		b->rx[p] = rte_ring_create(name, RING_SIZE, (int)rte_socket_id(),
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "pcbd_tx%u", p);
		b->tx[p] = rte_ring_create(name, RING_SIZE, (int)rte_socket_id(),
					   RING_F_SP_ENQ | RING_F_SC_DEQ);
		snprintf(name, sizeof(name), "net_ring_pcbd%u", p);
		if (b->rx[p] == NULL || b->tx[p] == NULL ||
		    rte_eth_from_rings(name, &b->rx[p], 1, &b->tx[p], 1, rte_socket_id()) !=
			    (int)p ||
		    pc_port_setup((uint16_t)p, 1, b->dp->pool, err, sizeof(err)) < 0) {
			fprintf(stderr, PROG ": port %u: %s\n", p, err);
			goto out_ports;
		}
	}
	/* The worker's loop state the benchmark drives by hand. */
	if (b->dp->active->dlp == NULL) {
		fprintf(stderr, PROG ": the policy has no DLP database\n");
		goto out_ports;
	}

	double *cpb[2];
	cpb[0] = calloc(b->o.rounds, sizeof(double));
	cpb[1] = calloc(b->o.rounds, sizeof(double));
	uint64_t scanned0 = ctr(b, PC_CTR_DLP_BYTES_SCANNED);
	uint64_t bytes_total = (uint64_t)b->o.flows * b->o.body;
	for (uint32_t r = 0; r < b->o.rounds; r++) {
		for (int ext = 0; ext < 2; ext++) {
			uint64_t cyc = 0;
			for (uint32_t i = 0; i < b->o.flows; i++)
				cyc += one_flow(b, ext ? DST_EXTERNAL : DST_INTERNAL,
						ext ? "api.llm.example" : "llm.internal");
			cpb[ext][r] = (double)cyc / (double)bytes_total;
		}
	}
	uint64_t scanned = ctr(b, PC_CTR_DLP_BYTES_SCANNED) - scanned0;
	uint64_t want = bytes_total * b->o.rounds;
	int bad = 0;
	if (scanned != want) {
		fprintf(stderr, PROG ": dlp_bytes_scanned %llu, expected %llu\n",
			(unsigned long long)scanned, (unsigned long long)want);
		bad = 1;
	}
	if (ctr(b, PC_CTR_DECISIONS_DENIED) != 0 || ctr(b, PC_CTR_DLP_MATCHES) != 0 ||
	    ctr(b, PC_CTR_DECISIONS_ALLOWED) != 2ull * b->o.flows * b->o.rounds) {
		fprintf(stderr, PROG ": unexpected decisions (allowed %llu, denied %llu, dlp "
			"matches %llu)\n", (unsigned long long)ctr(b, PC_CTR_DECISIONS_ALLOWED),
			(unsigned long long)ctr(b, PC_CTR_DECISIONS_DENIED),
			(unsigned long long)ctr(b, PC_CTR_DLP_MATCHES));
		bad = 1;
	}
	qsort(cpb[0], b->o.rounds, sizeof(double), cmp_double);
	qsort(cpb[1], b->o.rounds, sizeof(double), cmp_double);
	double in = cpb[0][b->o.rounds / 2], ex = cpb[1][b->o.rounds / 2];
	printf("dlp: %u flows x %u rounds, %u-byte bodies in %u-byte segments, TSC %.2f GHz\n",
	       b->o.flows, b->o.rounds, b->o.body, b->o.mss, (double)rte_get_tsc_hz() / 1e9);
	printf("  body to a non-external destination (not scanned): %6.3f cycles/byte\n", in);
	printf("  body to an external destination (DLP scanned):    %6.3f cycles/byte\n", ex);
	printf("  DLP scanning in the worker:                       %6.3f cycles/byte\n", ex - in);
	printf("{\"bench\":\"dlp\",\"flows\":%u,\"rounds\":%u,\"body\":%u,\"mss\":%u,"
	       "\"cycles_per_byte_internal\":%.4f,\"cycles_per_byte_external\":%.4f,"
	       "\"dlp_cycles_per_byte\":%.4f}\n",
	       b->o.flows, b->o.rounds, b->o.body, b->o.mss, in, ex, ex - in);
	free(cpb[0]);
	free(cpb[1]);
	status = bad;

out_ports:
	for (uint16_t p = 0; p < 2; p++)
		if (rte_eth_dev_is_valid_port(p))
			pc_port_close(p);
	pc_dp_free(b->dp);
	for (unsigned p = 0; p < 2; p++) {
		rte_ring_free(b->rx[p]);
		rte_ring_free(b->tx[p]);
	}
out_eal:
	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	pc_policy_free(policy);
	free(b->body);
	return status;
}
