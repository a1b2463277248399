/* SPDX-License-Identifier: BSD-3-Clause
 *
 * A policy built in C, for the suites that compile policies without going
 * through JSON (decide, policy_compile). struct tb owns a struct
 * pc_policy_src with room for TB_MAX identities, destinations and rules, and
 * every string or array the builder hands out, so one tb_free() releases it
 * all. Lists are NULL-terminated string arrays written with L(...), or NONE
 * for an empty list; identity and destination names given to tb_rule() must
 * already have been added. Every failure is a fatal CUnit assertion, so a
 * test never goes on with a half-built policy.
 *
 * Everything here is static, so each suite that includes it gets its own
 * copy and the builder needs no library of its own; sha256_of() is shared
 * too because tests compare the digests the builder stores.
 */
#ifndef PC_POLICY_BUILDER_H
#define PC_POLICY_BUILDER_H

#include <openssl/evp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pc_test.h"
#include "policy/policy.h"
#include "util/addr.h"
#include "util/pc_types.h"

#define L(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NONE ((const char *const *)NULL)
#define TB_MAX 2048

struct tb {
	struct pc_policy_src src;
	void *allocs[16 * TB_MAX];
	unsigned n_allocs;
};

static void *tb_alloc(struct tb *b, size_t n)
{
	void *p = calloc(1, n ? n : 1);
	CU_ASSERT_FATAL(p != NULL && b->n_allocs < PC_ARRAY_SIZE(b->allocs));
	b->allocs[b->n_allocs++] = p;
	return p;
}

static char *tb_str(struct tb *b, const char *s)
{
	char *p = tb_alloc(b, strlen(s) + 1);
	strcpy(p, s);
	return p;
}

static uint32_t list_len(const char *const *l)
{
	uint32_t n = 0;
	while (l != NULL && l[n] != NULL)
		n++;
	return n;
}

static char **tb_strs(struct tb *b, const char *const *l, uint32_t *n)
{
	*n = list_len(l);
	char **out = tb_alloc(b, (*n + 1) * sizeof(*out));
	for (uint32_t i = 0; i < *n; i++)
		out[i] = tb_str(b, l[i]);
	return out;
}

static struct tb *tb_new(uint8_t default_action)
{
	struct tb *b = calloc(1, sizeof(*b));
	CU_ASSERT_FATAL(b != NULL);
	b->src.origin = tb_str(b, "test.json");
	b->src.version = 1;
	b->src.default_action = default_action;
	b->src.identities = tb_alloc(b, TB_MAX * sizeof(*b->src.identities));
	b->src.destinations = tb_alloc(b, TB_MAX * sizeof(*b->src.destinations));
	b->src.rules = tb_alloc(b, TB_MAX * sizeof(*b->src.rules));
	return b;
}

static void tb_free(struct tb *b)
{
	for (unsigned i = 0; i < b->n_allocs; i++)
		free(b->allocs[i]);
	free(b);
}

static void sha256_of(const char *s, uint8_t out[32])
{
	unsigned len = 0;
	CU_ASSERT_FATAL(EVP_Digest(s, strlen(s), out, &len, EVP_sha256(), NULL) == 1 && len == 32);
}

static struct pc_prefix *tb_prefixes(struct tb *b, const char *const *l, uint32_t *n)
{
	*n = list_len(l);
	struct pc_prefix *out = tb_alloc(b, (*n + 1) * sizeof(*out));
	for (uint32_t i = 0; i < *n; i++)
		CU_ASSERT_FATAL(pc_prefix_parse(l[i], &out[i]) == 0);
	return out;
}

/* keys are the raw API keys; the builder stores their SHA-256. */
static uint32_t tb_identity(struct tb *b, const char *name, const char *const *sources,
			    const char *const *keys, const char *key_header)
{
	CU_ASSERT_FATAL(b->src.n_identities < TB_MAX);
	struct pc_src_identity *id = &b->src.identities[b->src.n_identities];
	id->name = tb_str(b, name);
	id->sources = tb_prefixes(b, sources, &id->n_sources);
	id->n_api_keys = list_len(keys);
	id->api_key_digests = tb_alloc(b, (id->n_api_keys + 1) * PC_API_KEY_DIGEST_LEN);
	for (uint32_t i = 0; i < id->n_api_keys; i++)
		sha256_of(keys[i], id->api_key_digests[i]);
	id->api_key_header = key_header ? tb_str(b, key_header) : NULL;
	return b->src.n_identities++;
}

static uint32_t tb_dest(struct tb *b, const char *name, uint8_t proto, const char *const *hosts,
			const char *const *addrs, const uint16_t *ports, uint32_t n_ports)
{
	CU_ASSERT_FATAL(b->src.n_destinations < TB_MAX);
	struct pc_src_destination *d = &b->src.destinations[b->src.n_destinations];
	d->name = tb_str(b, name);
	d->proto = proto;
	d->hosts = tb_strs(b, hosts, &d->n_hosts);
	d->addresses = tb_prefixes(b, addrs, &d->n_addresses);
	d->ports = tb_alloc(b, (n_ports + 1) * sizeof(*d->ports));
	if (n_ports > 0)
		memcpy(d->ports, ports, n_ports * sizeof(*ports));
	d->n_ports = n_ports;
	return b->src.n_destinations++;
}

static uint32_t find_name(const char *name, const char *(*get)(struct tb *, uint32_t), struct tb *b,
			  uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (strcmp(get(b, i), name) == 0)
			return i;
	CU_FAIL_FATAL("builder: unknown name");
	return 0;
}

static const char *id_name(struct tb *b, uint32_t i)
{
	return b->src.identities[i].name;
}

static const char *dest_name(struct tb *b, uint32_t i)
{
	return b->src.destinations[i].name;
}

static struct pc_src_rule *tb_rule(struct tb *b, const char *id, uint8_t action,
				   const char *const *identities, const char *const *dests,
				   uint16_t methods, const char *const *paths)
{
	CU_ASSERT_FATAL(b->src.n_rules < TB_MAX);
	struct pc_src_rule *r = &b->src.rules[b->src.n_rules++];
	r->id = tb_str(b, id);
	r->action = action;
	r->methods = methods;
	r->n_identities = list_len(identities);
	r->identities = tb_alloc(b, (r->n_identities + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < r->n_identities; i++)
		r->identities[i] = find_name(identities[i], id_name, b, b->src.n_identities);
	r->n_destinations = list_len(dests);
	r->destinations = tb_alloc(b, (r->n_destinations + 1) * sizeof(uint32_t));
	for (uint32_t i = 0; i < r->n_destinations; i++)
		r->destinations[i] = find_name(dests[i], dest_name, b, b->src.n_destinations);
	r->paths = tb_strs(b, paths, &r->n_paths);
	r->headers = tb_alloc(b, 8 * sizeof(*r->headers));
	return r;
}

static void tb_rule_header(struct tb *b, struct pc_src_rule *r, const char *name,
			   const char *const *values)
{
	CU_ASSERT_FATAL(r->n_headers < 8);
	struct pc_src_header_cond *h = &r->headers[r->n_headers++];
	h->name = tb_str(b, name);
	h->values = tb_strs(b, values, &h->n_values);
}

#endif /* PC_POLICY_BUILDER_H */
