/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The rte_lpm/rte_lpm6 source index (source_lpm.h) against the policy's
 * own prefix lists, which the engine walks without it: on random policies of
 * nested IPv4 and IPv6 prefixes (hosts, /0, chains of prefixes inside
 * prefixes, one prefix shared by several identities), every address asked
 * must get the same source-only identity and the same binding answer for
 * every identity. Then pc_decide() itself, with and without the index, must
 * give the same verdicts for source-only callers and for API keys presented
 * from inside and outside their bindings.
 *
 * The LPM tables need the EAL: main() starts one without hugepages, PCI or
 * shared files, under a file prefix of its own, and removes its runtime
 * directory at the end. Its memory is for one policy's pair of tables at a
 * time: 64 MiB each, the first level (2^24 entries) of DIR-24-8.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <rte_eal.h>

#include "../tests/unit/pc_test.h"
#include "engine/decide.h"
#include "http/http_parse.h"
#include "pkt/pkt_parse.h"
#include "policy/policy.h"
#include "policy/policy_image.h"
#include "source_lpm.h"
#include "util/addr.h"

#define N_POOL 96     /* distinct prefixes per family and policy */
#define N_ADDRS 4000  /* addresses asked per family and policy */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void)
{
	/* xorshift64*: reproducible, so a failure can be replayed */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1du;
}

static void mask_to(struct pc_prefix *pf)
{
	if (pf->addr.family == 4) {
		if (pf->len == 0)
			pf->addr.v4 = 0;
		else if (pf->len < 32)
			pf->addr.v4 &= ~(0xffffffffu >> pf->len);
		return;
	}
	for (unsigned b = 0; b < 16; b++) {
		unsigned keep = pf->len > b * 8 ? pf->len - b * 8 : 0;
		if (keep < 8)
			pf->addr.v6[b] &= (uint8_t)(0xff00u >> keep);
	}
}

static void random_addr(struct pc_addr *a, uint8_t fam)
{
	a->family = fam;
	if (fam == 4) {
		a->v4 = (uint32_t)rnd();
	} else {
		uint64_t x = rnd(), y = rnd();
		memcpy(a->v6, &x, 8);
		memcpy(a->v6 + 8, &y, 8);
	}
}

/* An address inside pf: its bits, random host bits. */
static void addr_in(const struct pc_prefix *pf, struct pc_addr *a)
{
	random_addr(a, pf->addr.family);
	struct pc_prefix host = { *a, pf->addr.family == 4 ? 32 : 128 };
	unsigned bits = host.len;
	for (unsigned i = 0; i < pf->len && i < bits; i++) {
		bool bit;
		if (pf->addr.family == 4) {
			bit = (pf->addr.v4 >> (31 - i)) & 1;
			host.addr.v4 = (host.addr.v4 & ~(1u << (31 - i))) | ((uint32_t)bit << (31 - i));
		} else {
			bit = (pf->addr.v6[i / 8] >> (7 - i % 8)) & 1;
			host.addr.v6[i / 8] = (uint8_t)((host.addr.v6[i / 8] & ~(1u << (7 - i % 8))) |
							 ((unsigned)bit << (7 - i % 8)));
		}
	}
	*a = host.addr;
}

/* A pool of prefixes of one family, built so that many nest: each is new
 * (few bits of a random address, so siblings share high bits), or a longer
 * prefix inside an earlier one. Lengths cover both ends. */
static void make_pool(struct pc_prefix *pool, unsigned n, uint8_t fam)
{
	const unsigned maxlen = fam == 4 ? 32 : 128;
	for (unsigned i = 0; i < n; i++) {
		struct pc_prefix *pf = &pool[i];
		if (i > 0 && rnd() % 3 != 0) {
			const struct pc_prefix *up = &pool[rnd() % i];
			addr_in(up, &pf->addr);
			unsigned room = maxlen - up->len;
			pf->len = (uint8_t)(up->len + (room ? rnd() % (room + 1) : 0));
		} else {
			random_addr(&pf->addr, fam);
			/* a small top so that unrelated prefixes still overlap */
			if (fam == 4)
				pf->addr.v4 = (pf->addr.v4 & 0x00ffffffu) | 0xc6000000u;
			else
				pf->addr.v6[0] = 0x20, pf->addr.v6[1] = 0x01;
			static const uint8_t lens4[] = { 0, 1, 8, 12, 16, 20, 24, 25, 28, 31, 32 };
			static const uint8_t lens6[] = { 0, 3, 16, 24, 32, 48, 56, 64, 100, 127, 128 };
			pf->len = fam == 4 ? lens4[rnd() % sizeof(lens4)] : lens6[rnd() % sizeof(lens6)];
		}
		mask_to(pf);
	}
}

struct built {
	struct pc_policy_src src;
	struct pc_policy *p;
	char keys[1024][24];
};

/* n identities; each gets 1..4 prefixes of the pools (either family); every
 * other one also an API key, so about half are source-only. */
static struct pc_policy *compile_src(const struct pc_policy_src *src)
{
	char err[256];
	void *img = NULL;
	size_t len = 0;
	int rc = pc_policy_compile(src, &img, &len, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "compile: %s\n", err);
	CU_ASSERT_FATAL(rc == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	free(img);
	if (p == NULL)
		fprintf(stderr, "from_image: %s\n", err);
	CU_ASSERT_FATAL(p != NULL);
	return p;
}

static struct built *make_policy(unsigned n, const struct pc_prefix *pool4,
				 const struct pc_prefix *pool6)
{
	struct built *b = calloc(1, sizeof(*b));
	CU_ASSERT_FATAL(b != NULL && n <= 1024);
	b->src.origin = "test_source_lpm";
	b->src.version = 1;
	b->src.default_action = PC_ACTION_DENY;
	b->src.identities = calloc(n, sizeof(*b->src.identities));
	CU_ASSERT_FATAL(b->src.identities != NULL);
	b->src.n_identities = n;
	for (unsigned i = 0; i < n; i++) {
		struct pc_src_identity *id = &b->src.identities[i];
		id->name = malloc(16);
		CU_ASSERT_FATAL(id->name != NULL);
		snprintf(id->name, 16, "id%u", i);
		id->n_sources = 1 + (uint32_t)(rnd() % 4);
		id->sources = calloc(id->n_sources, sizeof(*id->sources));
		CU_ASSERT_FATAL(id->sources != NULL);
		for (uint32_t j = 0; j < id->n_sources; j++)
			id->sources[j] = rnd() % 2 ? pool4[rnd() % N_POOL] : pool6[rnd() % N_POOL];
		if (i % 2) {
			snprintf(b->keys[i], sizeof(b->keys[i]), "key-%u", i);
			id->n_api_keys = 1;
			id->api_key_digests = calloc(1, PC_API_KEY_DIGEST_LEN);
			unsigned len = 0;
			CU_ASSERT_FATAL(EVP_Digest(b->keys[i], strlen(b->keys[i]), id->api_key_digests[0],
						   &len, EVP_sha256(), NULL) == 1);
		}
	}
	b->p = compile_src(&b->src);
	return b;
}

static void free_policy(struct built *b)
{
	pc_policy_free(b->p);
	for (unsigned i = 0; i < b->src.n_identities; i++) {
		free(b->src.identities[i].name);
		free(b->src.identities[i].sources);
		free(b->src.identities[i].api_key_digests);
	}
	free(b->src.identities);
	free(b);
}

/* The lists, exactly as lib/engine/decide.c walks them. */
static int32_t list_source_only(const struct pc_policy *p, const struct pc_addr *a)
{
	for (uint32_t i = 0; i < p->n_source_only; i++)
		if (pc_prefix_contains(&p->source_only[i].prefix, a))
			return (int32_t)p->source_only[i].identity;
	return -1;
}

static bool list_bound(const struct pc_policy *p, uint32_t ident, const struct pc_addr *a)
{
	const struct pc_rt_identity *id = &p->identities[ident];
	for (uint32_t i = 0; i < id->n_sources; i++)
		if (pc_prefix_contains(&id->sources[i], a))
			return true;
	return false;
}

static unsigned mismatches, asked, held, named;

static void compare_at(const struct pc_policy *p, const struct pc_source_index *x,
		       const struct pc_addr *a)
{
	asked++;
	int32_t want = list_source_only(p, a), got = x->source_only(x->ctx, a);
	if (want != got && mismatches++ < 5) {
		char t[64];
		fprintf(stderr, "\nsource-only %s: lists %d, lpm %d\n", pc_addr_format(a, t, sizeof(t)),
			want, got);
	}
	named += want >= 0;
	for (uint32_t i = 0; i < p->n_identities; i++) {
		if (p->identities[i].n_sources == 0)
			continue;
		bool w = list_bound(p, i, a), g = x->bound(x->ctx, i, a);
		held += w;
		if (w != g && mismatches++ < 5) {
			char t[64];
			fprintf(stderr, "\nbound id%u %s: lists %d, lpm %d\n", i,
				pc_addr_format(a, t, sizeof(t)), w, g);
		}
	}
}

static void test_lpm_equals_lists(void)
{
	static struct pc_prefix pool4[N_POOL], pool6[N_POOL];
	static const unsigned sizes[] = { 1, 10, 200, 1000 };
	mismatches = asked = held = named = 0;
	for (unsigned round = 0; round < PC_ARRAY_SIZE(sizes); round++) {
		make_pool(pool4, N_POOL, 4);
		make_pool(pool6, N_POOL, 6);
		struct built *b = make_policy(sizes[round], pool4, pool6);
		struct pc_source_lpm *l = pc_source_lpm_build(b->p, NULL);
		CU_ASSERT_FATAL(l != NULL);
		const struct pc_source_index *x = pc_source_lpm_index(l);
		CU_ASSERT_FATAL(x != NULL && x->ctx == l);
		unsigned n4, n6;
		pc_source_lpm_stats(l, &n4, &n6, NULL);
		CU_ASSERT(n4 <= N_POOL && n6 <= N_POOL);
		CU_ASSERT(sizes[round] < 10 || (n4 > 0 && n6 > 0));
		/* the big policy is asked fewer addresses: each asks every identity */
		unsigned n_addrs = sizes[round] >= 1000 ? N_ADDRS / 8 : N_ADDRS;
		for (unsigned k = 0; k < n_addrs; k++) {
			struct pc_addr a;
			uint8_t fam = k % 2 ? 6 : 4;
			const struct pc_prefix *pool = fam == 4 ? pool4 : pool6;
			switch (k % 5) {
			case 0: /* anywhere */
				random_addr(&a, fam);
				break;
			case 1: /* the first or last address of a prefix */
				a = pool[rnd() % N_POOL].addr;
				if (k % 3 == 0) {
					struct pc_prefix pf = pool[rnd() % N_POOL];
					unsigned max = fam == 4 ? 32 : 128;
					for (unsigned i = pf.len; i < max; i++) {
						if (fam == 4)
							pf.addr.v4 |= 1u << (31 - i);
						else
							pf.addr.v6[i / 8] |= (uint8_t)(1u << (7 - i % 8));
					}
					a = pf.addr;
				}
				break;
			default: /* inside a prefix, so nesting is exercised */
				addr_in(&pool[rnd() % N_POOL], &a);
				break;
			}
			compare_at(b->p, x, &a);
		}
		pc_source_lpm_free(l);
		free_policy(b);
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	/* the comparison meant something: addresses were named and held */
	CU_ASSERT(asked > 10000 && named > asked / 4 && held > asked);
}

/* A policy without prefixes, and the NULL index: "none" and the lists. */
static void test_empty_and_null(void)
{
	struct pc_policy_src src = { .origin = "empty", .version = 1,
				     .default_action = PC_ACTION_DENY };
	char err[256];
	void *img = NULL;
	size_t len = 0;
	CU_ASSERT_FATAL(pc_policy_compile(&src, &img, &len, err, sizeof(err)) == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	free(img);
	CU_ASSERT_FATAL(p != NULL);
	struct pc_source_lpm *l = pc_source_lpm_build(p, NULL);
	CU_ASSERT_FATAL(l != NULL);
	struct pc_addr a;
	CU_ASSERT_FATAL(pc_addr_parse("198.18.1.1", &a) == 0);
	const struct pc_source_index *x = pc_source_lpm_index(l);
	CU_ASSERT_EQUAL(x->source_only(x->ctx, &a), -1);
	CU_ASSERT_FATAL(pc_addr_parse("2001:db8::1", &a) == 0);
	CU_ASSERT_EQUAL(x->source_only(x->ctx, &a), -1);
	CU_ASSERT_PTR_NULL(pc_source_lpm_index(NULL));
	pc_source_lpm_free(l);
	pc_source_lpm_free(NULL);
	pc_policy_free(p);
}

/* pc_decide() with the index gives the lists' verdicts: source-only callers
 * and keys from random addresses, bound and not. */
static void test_decide_same_verdicts(void)
{
	static struct pc_prefix pool4[N_POOL], pool6[N_POOL];
	make_pool(pool4, N_POOL, 4);
	make_pool(pool6, N_POOL, 6);
	struct built *b = make_policy(300, pool4, pool6);
	struct pc_source_lpm *l = pc_source_lpm_build(b->p, NULL);
	CU_ASSERT_FATAL(l != NULL);
	struct pc_engine_scratch *s = pc_engine_scratch_new(b->p);
	CU_ASSERT_FATAL(s != NULL);
	unsigned same = 0, unbound = 0, bound = 0, total = 2000;
	for (unsigned k = 0; k < total; k++) {
		char head[256];
		unsigned who = (unsigned)(rnd() % 300);
		if (who % 2)
			snprintf(head, sizeof(head),
				 "GET / HTTP/1.1\r\nHost: svc\r\nX-Api-Key: %s\r\n\r\n", b->keys[who]);
		else
			snprintf(head, sizeof(head), "GET / HTTP/1.1\r\nHost: svc\r\n\r\n");
		struct pc_http_req http;
		CU_ASSERT_FATAL(pc_http_parse_head(head, strlen(head), &http) == PC_HTTP_OK);
		struct pc_request rq = { .sport = 40000, .dport = 80, .l4_proto = PC_PROTO_TCP,
					 .http = &http, .now_s = 1 };
		const struct pc_prefix *pool = k % 2 ? pool6 : pool4;
		if (k % 3)
			addr_in(&pool[rnd() % N_POOL], &rq.src);
		else
			random_addr(&rq.src, k % 2 ? 6 : 4);
		CU_ASSERT_FATAL(pc_addr_parse("198.18.0.2", &rq.dst) == 0);
		struct pc_verdict v1, v2;
		pc_decide(b->p, s, &rq, &v1);
		rq.sources = pc_source_lpm_index(l);
		pc_decide(b->p, s, &rq, &v2);
		same += memcmp(&v1, &v2, sizeof(v1)) == 0;
		unbound += v2.reason == PC_REASON_UNBOUND_SOURCE;
		bound += v2.cred_kind == PC_CRED_API_KEY && v2.reason != PC_REASON_UNBOUND_SOURCE;
	}
	CU_ASSERT_EQUAL(same, total);
	CU_ASSERT(unbound > 50 && bound > 50);
	pc_engine_scratch_free(s);
	pc_source_lpm_free(l);
	free_policy(b);
}

/* A later policy with the same prefixes of the same identities shares the
 * index (one more reference, nothing built); one prefix changed gets its
 * own, with its own answers. Below PC_SOURCE_LPM_MIN_PREFIXES prefixes no
 * index is wanted. */
static void test_shared_when_unchanged(void)
{
	static struct pc_prefix pool4[N_POOL], pool6[N_POOL];
	make_pool(pool4, N_POOL, 4);
	make_pool(pool6, N_POOL, 6);
	struct built *b = make_policy(PC_SOURCE_LPM_MIN_PREFIXES, pool4, pool6);
	CU_ASSERT_TRUE(pc_source_lpm_wanted(b->p));
	struct pc_source_lpm *l1 = pc_source_lpm_build(b->p, NULL);
	CU_ASSERT_FATAL(l1 != NULL);

	struct pc_policy *same = compile_src(&b->src); /* e.g. only rules changed */
	CU_ASSERT_PTR_EQUAL(pc_source_lpm_for_policy(same, l1), l1);

	/* identity 0's first prefix moves to a host address no pool prefix is */
	struct pc_prefix moved = { .len = 32 };
	CU_ASSERT_FATAL(pc_addr_parse("198.19.255.254", &moved.addr) == 0);
	b->src.identities[0].sources[0] = moved;
	struct pc_policy *other = compile_src(&b->src);
	struct pc_source_lpm *l3 = pc_source_lpm_build(other, l1);
	CU_ASSERT_FATAL(l3 != NULL);
	CU_ASSERT_PTR_NOT_EQUAL(l3, l1);
	const struct pc_source_index *x1 = pc_source_lpm_index(l1), *x3 = pc_source_lpm_index(l3);
	CU_ASSERT_TRUE(x3->bound(x3->ctx, 0, &moved.addr));
	CU_ASSERT_FALSE(x1->bound(x1->ctx, 0, &moved.addr));

	/* two references to l1: it must answer after the first is dropped */
	pc_source_lpm_free(l1);
	CU_ASSERT_FALSE(x1->bound(x1->ctx, 0, &moved.addr));
	pc_source_lpm_free(l1);
	pc_source_lpm_free(l3);
	pc_policy_free(same);
	pc_policy_free(other);
	free_policy(b);

	b = make_policy(4, pool4, pool6); /* at most 16 prefixes */
	CU_ASSERT_FALSE(pc_source_lpm_wanted(b->p));
	CU_ASSERT_PTR_NULL(pc_source_lpm_for_policy(b->p, NULL));
	free_policy(b);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_shared_when_unchanged),
	PC_TEST(test_lpm_equals_lists),
	PC_TEST(test_empty_and_null),
	PC_TEST(test_decide_same_verdicts),
	CU_TEST_INFO_NULL,
};

int main(void)
{
	char prefix[64], rundir[PATH_MAX];
	snprintf(prefix, sizeof(prefix), "--file-prefix=identity-lpm-%d", (int)getpid());
	char *eal_argv[] = { "test_source_lpm", "-l", "0", "--no-huge", "-m", "320", "--no-pci",
			     "--no-shconf", "--no-telemetry", "--log-level=error", prefix, NULL };
	if (rte_eal_init((int)PC_ARRAY_SIZE(eal_argv) - 1, eal_argv) < 0) {
		fprintf(stderr, "test_source_lpm: cannot start the EAL\n");
		return 1;
	}
	snprintf(rundir, sizeof(rundir), "%s", rte_eal_get_runtime_dir());
	int rc = pc_test_main("source_lpm", tests);
	rte_eal_cleanup();
	if (rmdir(rundir) != 0)
		perror(rundir);
	return rc;
}
