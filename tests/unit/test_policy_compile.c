/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Policy compiler: a builder filled in C compiles into an image that loads
 * back with the same content; the image layout is what policy_image.h says
 * (aligned sections, sorted keys, lowercase hosts, canonical prefixes, zero
 * padding, so the same policy always gives the same bytes); and every
 * builder the compiler must refuse is refused with a message naming the
 * JSON path, in particular a path regex Hyperscan rejects.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_test.h"
#include "http/http_parse.h"
#include "policy/policy.h"
#include "policy/policy_image.h"
#include "util/addr.h"

#include "policy_builder.h"

static int compile(struct tb *b, void **img, size_t *len, char *err, size_t err_len)
{
	*img = NULL;
	*len = 0;
	return pc_policy_compile(&b->src, img, len, err, err_len);
}

/* Compiles b, expecting failure with rc and a message starting with want
 * (and containing also, when given). */
static void expect_error(struct tb *b, int rc, const char *want, const char *also, int line)
{
	char err[512] = "";
	void *img;
	size_t len;
	int got = compile(b, &img, &len, err, sizeof(err));
	bool ok = got == rc && img == NULL && strncmp(err, want, strlen(want)) == 0 &&
		  (also == NULL || strstr(err, also) != NULL);
	if (!ok)
		fprintf(stderr, "\nline %d: rc %d, \"%s\"\n", line, got, err);
	CU_ASSERT(ok);
	free(img);
}

#define EXPECT_ERROR(b, rc, want, also) expect_error((b), (rc), (want), (also), __LINE__)

static struct tb *sample(void)
{
	struct tb *b = tb_new(PC_ACTION_DENY);
	tb_identity(b, "ticket-agent", L("198.18.1.0/24"), L("pc-demo-ticket-agent-key-1"), "x-api-key");
	tb_identity(b, "billing-bot", NONE, L("pc-demo-billing-bot-key-1"), NULL);
	tb_identity(b, "monitoring", L("198.18.1.200/32"), NONE, NULL);
	tb_dest(b, "tickets", PC_DEST_HTTP, L("tickets.internal", "*.tickets.internal"),
		L("198.18.0.2/32"), (uint16_t[]){ 80 }, 1);
	tb_dest(b, "ssh", PC_DEST_TCP, NONE, L("198.18.0.2/32"), (uint16_t[]){ 22 }, 1);
	tb_rule(b, "block-admin", PC_ACTION_DENY, NONE, L("tickets"), 0, L("^/admin(/.*)?$"));
	struct pc_src_rule *r = tb_rule(b, "tickets-triage", PC_ACTION_ALLOW, L("ticket-agent"),
					L("tickets"), PC_HTTP_POST,
					L("^/api/v2/tickets/[0-9]+/comments$", "^/x$"));
	tb_rule_header(b, r, "x-agent-purpose", L("triage", "summarize"));
	tb_rule(b, "ops-ssh", PC_ACTION_ALLOW, L("monitoring"), L("ssh"), 0, NONE);
	return b;
}

static const struct pc_img_header *hdr(const void *img)
{
	return img;
}

static const void *section(const void *img, unsigned sec)
{
	return (const uint8_t *)img + hdr(img)->sections[sec].off;
}

static void test_round_trip(void)
{
	struct tb *b = sample();
	char err[512];
	void *img;
	size_t len;
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);

	const struct pc_img_header *h = hdr(img);
	CU_ASSERT_EQUAL(h->magic, PC_POLICY_IMAGE_MAGIC);
	CU_ASSERT_EQUAL(h->abi, PC_POLICY_IMAGE_ABI);
	CU_ASSERT_EQUAL(h->total_len, len);
	CU_ASSERT_EQUAL(h->crc32, pc__img_crc(img, len));
	CU_ASSERT_EQUAL(h->n_identities, 3);
	CU_ASSERT_EQUAL(h->n_destinations, 2);
	CU_ASSERT_EQUAL(h->n_rules, 3);
	CU_ASSERT_EQUAL(h->n_api_keys, 2);
	CU_ASSERT_EQUAL(h->n_paths, 3);
	CU_ASSERT_EQUAL(h->sections[0].off, sizeof(*h));
	for (unsigned s = 0; s < PC_IMG_SEC_COUNT; s++) {
		CU_ASSERT_EQUAL(h->sections[s].off % PC_POLICY_IMAGE_ALIGN, 0);
		CU_ASSERT(h->sections[s].off + h->sections[s].len <= len);
	}
	CU_ASSERT(h->sections[PC_IMG_SEC_HSDB].len > 0);
	/* pattern ids are global: rule 1's second pattern is id 2 */
	const struct pc_img_path *paths = section(img, PC_IMG_SEC_PATHS);
	const char *strs = section(img, PC_IMG_SEC_STRINGS);
	CU_ASSERT_EQUAL(paths[2].rule, 1);
	CU_ASSERT_STRING_EQUAL(strs + paths[2].pattern, "^/x$");
	CU_ASSERT_STRING_EQUAL(strs, ""); /* offset 0 is the empty string */

	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	memset(img, 0xa5, len); /* the policy holds its own copy */
	free(img);
	CU_ASSERT_EQUAL(pc_policy_rule_count(p), 3);
	CU_ASSERT_EQUAL(pc_policy_identity_count(p), 3);
	CU_ASSERT_STRING_EQUAL(pc_policy_rule_id(p, 0), "block-admin");
	CU_ASSERT_STRING_EQUAL(pc_policy_rule_id(p, 2), "ops-ssh");
	CU_ASSERT_STRING_EQUAL(pc_policy_identity_name(p, 1), "billing-bot");
	struct pc_addr a;
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.2", &a) == 0);
	CU_ASSERT(pc_policy_inspects(p, &a, 80));
	CU_ASSERT(!pc_policy_inspects(p, &a, 22)); /* tcp destination: L4 only */
	CU_ASSERT(!pc_policy_inspects(p, &a, 443));
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.3", &a) == 0);
	CU_ASSERT(!pc_policy_inspects(p, &a, 80));
	pc_policy_free(p);
	tb_free(b);
}

/* Same builder, same bytes: padding and unused fields are zero. */
static void test_deterministic(void)
{
	struct tb *b = sample();
	char err[256];
	void *a, *c;
	size_t la, lc;
	CU_ASSERT_FATAL(compile(b, &a, &la, err, sizeof(err)) == 0);
	CU_ASSERT_FATAL(compile(b, &c, &lc, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(la, lc);
	CU_ASSERT(la == lc && memcmp(a, c, la) == 0);
	free(a);
	free(c);
	tb_free(b);
}

static void test_normalisation(void)
{
	struct tb *b = tb_new(PC_ACTION_ALLOW);
	/* keys in an order their digests are not */
	tb_identity(b, "a", L("10.1.0.0/16", "2001:db8::/32"), L("k1", "k2", "k3", "k4"), "X-Key");
	/* host bits the loader would refuse; the compiler clears them */
	b->src.identities[0].sources[0].addr.v4 |= 0x0203;
	b->src.identities[0].sources[1].addr.v6[15] = 0xff;
	tb_identity(b, "b", NONE, L("k5", "k6"), NULL);
	tb_dest(b, "d", PC_DEST_ANY, L("Tickets.Internal.", "*.EXAMPLE.com"), NONE, NULL, 0);
	struct pc_src_rule *r = tb_rule(b, "r", PC_ACTION_ALLOW, NONE, NONE, 0, NONE);
	tb_rule_header(b, r, "X-Purpose", L("Keep-Case"));
	char err[256];
	void *img;
	size_t len;
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);
	const char *strs = section(img, PC_IMG_SEC_STRINGS);

	const struct pc_img_key *k = section(img, PC_IMG_SEC_KEYS);
	CU_ASSERT_EQUAL(hdr(img)->n_api_keys, 6);
	for (unsigned i = 1; i < 6; i++)
		CU_ASSERT(memcmp(k[i - 1].digest, k[i].digest, 32) < 0);
	uint8_t d[32];
	sha256_of("k5", d);
	bool found = false;
	for (unsigned i = 0; i < 6; i++)
		if (memcmp(k[i].digest, d, 32) == 0)
			found = k[i].identity == 1;
	CU_ASSERT(found);

	const struct pc_img_identity *id = section(img, PC_IMG_SEC_IDENTITIES);
	CU_ASSERT_STRING_EQUAL(strs + id[0].key_header, "x-key");
	CU_ASSERT_STRING_EQUAL(strs + id[1].key_header, "x-api-key");
	CU_ASSERT_EQUAL(id[0].n_api_keys, 4);
	/* the builder's prefixes had host bits; the image's have none */
	const struct pc_img_prefix *pf = section(img, PC_IMG_SEC_SOURCES);
	CU_ASSERT_EQUAL(pf[0].family, 4);
	CU_ASSERT_EQUAL(pf[0].len, 16);
	CU_ASSERT_EQUAL(pf[0].v4, 0x0a010000u);
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	CU_ASSERT(memcmp(pf[1].v6, v6, 16) == 0);

	const uint32_t *hosts = section(img, PC_IMG_SEC_HOSTS);
	CU_ASSERT_STRING_EQUAL(strs + hosts[0], "tickets.internal");
	CU_ASSERT_STRING_EQUAL(strs + hosts[1], "*.example.com");
	const struct pc_img_hdr_cond *hc = section(img, PC_IMG_SEC_HDR_CONDS);
	const uint32_t *vals = section(img, PC_IMG_SEC_HDR_VALUES);
	CU_ASSERT_STRING_EQUAL(strs + hc[0].name, "x-purpose");
	CU_ASSERT_STRING_EQUAL(strs + vals[hc[0].values_start], "Keep-Case");
	CU_ASSERT_EQUAL(hdr(img)->sections[PC_IMG_SEC_HSDB].len, 0); /* no paths, no database */
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT(p != NULL);
	pc_policy_free(p);
	free(img);
	tb_free(b);
}

static void test_empty_policy(void)
{
	struct tb *b = tb_new(PC_ACTION_ALLOW);
	b->src.identities = NULL;
	b->src.destinations = NULL;
	b->src.rules = NULL;
	char err[256];
	void *img;
	size_t len;
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(pc_policy_rule_count(p), 0);
	CU_ASSERT_EQUAL(pc_policy_identity_count(p), 0);
	struct pc_addr a;
	CU_ASSERT_FATAL(pc_addr_parse("192.0.2.1", &a) == 0);
	CU_ASSERT(!pc_policy_inspects(p, &a, 80)); /* no http destination */
	pc_policy_free(p);
	free(img);
	tb_free(b);
}

static void test_bad_regex(void)
{
	struct tb *b = sample();
	tb_rule(b, "broken", PC_ACTION_ALLOW, NONE, NONE, 0, L("^/ok$", "^/bad("));
	EXPECT_ERROR(b, -EINVAL,
		     "test.json: $.rules[3].paths[1]: rule \"broken\": path pattern \"^/bad(\" rejected by Hyperscan: ",
		     "Missing close parenthesis");
	tb_free(b);

	/* valid PCRE Hyperscan does not support */
	b = sample();
	tb_rule(b, "lookbehind", PC_ACTION_ALLOW, NONE, NONE, 0, L("(?<=/a)b"));
	EXPECT_ERROR(b, -EINVAL,
		     "test.json: $.rules[3].paths[0]: rule \"lookbehind\": path pattern \"(?<=/a)b\" rejected by Hyperscan: ",
		     "not supported");
	tb_free(b);

	b = sample();
	tb_rule(b, "backref", PC_ACTION_ALLOW, NONE, NONE, 0, L("^/(a)\\1$"));
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[3].paths[0]: rule \"backref\"", "Hyperscan");
	tb_free(b);
}

/* A pattern that can match the empty string compiles (it gets
 * HS_FLAG_ALLOWEMPTY) and so does a set mixing both kinds. */
static void test_allowempty(void)
{
	struct tb *b = sample();
	tb_rule(b, "empty-ok", PC_ACTION_ALLOW, NONE, NONE, 0, L(".*", "^/a?$", "x*"));
	char err[512];
	void *img;
	size_t len;
	int rc = compile(b, &img, &len, err, sizeof(err));
	if (rc)
		fprintf(stderr, "%s\n", err);
	CU_ASSERT_FATAL(rc == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT(p != NULL);
	pc_policy_free(p);
	free(img);
	tb_free(b);
}

static void test_builder_errors(void)
{
	struct tb *b = sample();
	b->src.rules[2].identities[0] = 7;
	EXPECT_ERROR(b, -EINVAL,
		     "test.json: $.rules[2].identities[0]: identity index 7 out of range (3 identities)", NULL);
	tb_free(b);

	b = sample();
	b->src.rules[1].destinations[0] = 2;
	EXPECT_ERROR(b, -EINVAL,
		     "test.json: $.rules[1].destinations[0]: destination index 2 out of range (2 destinations)",
		     NULL);
	tb_free(b);

	b = sample();
	b->src.rules[0].action = 9;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[0].action: bad value 9", NULL);
	tb_free(b);

	b = sample();
	b->src.default_action = 2;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.default_action: bad value 2", NULL);
	tb_free(b);

	b = sample();
	b->src.destinations[1].proto = PC_DEST_PROTO_MAX + 1;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.destinations[1].protocol: bad value 5", NULL);
	tb_free(b);

	b = sample();
	b->src.identities[2].name[0] = '\0';
	EXPECT_ERROR(b, -EINVAL, "test.json: $.identities[2]: missing name", NULL);
	tb_free(b);

	b = sample();
	b->src.rules[1].id = NULL;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[1]: missing name", NULL);
	tb_free(b);

	b = sample();
	tb_identity(b, "copycat", NONE, L("pc-demo-billing-bot-key-1"), NULL);
	EXPECT_ERROR(b, -EINVAL,
		     "test.json: $.identities: the same API key digest is listed by ", "billing-bot");
	tb_free(b);

	static const char *const bad_hosts[] = { "a*b.example", "*", "*.", "", "exa mple.com", "*.*.x" };
	for (unsigned i = 0; i < PC_ARRAY_SIZE(bad_hosts); i++) {
		b = sample();
		tb_dest(b, "bad", PC_DEST_HTTP, L(bad_hosts[i]), NONE, NULL, 0);
		EXPECT_ERROR(b, -EINVAL, "test.json: $.destinations[2].hosts[0]: expected a host name", NULL);
		tb_free(b);
	}

	b = sample();
	tb_rule_header(b, &b->src.rules[0], "x bad", L("v"));
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[0].headers: bad header name \"x bad\"", NULL);
	tb_free(b);

	b = sample();
	tb_identity(b, "k", NONE, L("key"), "bad header:");
	EXPECT_ERROR(b, -EINVAL, "test.json: $.identities[3].api_key_header: \"bad header:\" is not a header name",
		     NULL);
	tb_free(b);

	b = sample();
	b->src.identities[0].sources[0].len = 33;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.identities[0]: bad prefix 0 (family 4, length 33)", NULL);
	tb_free(b);

	/* counts beyond PC_POLICY_MAX_ITEMS are refused before any array is read */
	b = sample();
	b->src.n_rules = PC_POLICY_MAX_ITEMS + 1;
	EXPECT_ERROR(b, -E2BIG, "test.json: more than 65535 identities, destinations or rules", NULL);
	b->src.n_rules = 3;
	tb_free(b);

	b = sample();
	b->src.origin = NULL; /* still owned by the builder's allocations */
	b->src.rules[0].action = 5;
	EXPECT_ERROR(b, -EINVAL, "policy: $.rules[0].action: bad value 5", NULL);
	tb_free(b);

	void *img = (void *)1;
	size_t len = 1;
	char err[64];
	CU_ASSERT_EQUAL(pc_policy_compile(NULL, &img, &len, err, sizeof(err)), -EINVAL);
	/* a tiny error buffer is truncated, never overrun */
	b = sample();
	b->src.rules[0].action = 5;
	char tiny[8];
	CU_ASSERT_EQUAL(pc_policy_compile(&b->src, &img, &len, tiny, sizeof(tiny)), -EINVAL);
	CU_ASSERT_EQUAL(strlen(tiny), sizeof(tiny) - 1);
	tb_free(b);
}

/* ---- JWT ---- */

static const char jwt_json[] =
	"{\"version\": 1,\n"
	" \"jwt_issuers\": [{\"issuer\": \"joe\", \"audiences\": [\"gw\", \"gw2\"],\n"
	"   \"algorithms\": [\"ES256\", \"RS256\"], \"leeway_s\": 7, \"max_lifetime_s\": 600,\n"
	"   \"token_header\": \"X-Jwt\",\n"
	"   \"jwks\": {\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\",\n"
	"     \"x\": \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\n"
	"     \"y\": \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}}],\n"
	" \"identities\": [{\"name\": \"k\", \"api_keys_sha256\": [\""
	"ce6e7185989b4c41510b8ba0d7351ecc4dcbb1bec7293bcf43705d46a7ea1f3b\"]},\n"
	"   {\"name\": \"svc\", \"jwt\": {\"issuer\": \"joe\", \"subject\": \"svc-*\"}},\n"
	"   {\"name\": \"cid\", \"jwt\": {\"issuer\": \"joe\", \"claim\": \"client_id\", \"value\": \"c1\"}}],\n"
	" \"rules\": [{\"id\": \"h\", \"headers\": {\"x-a\": [\"1\"]}, \"action\": \"deny\"},\n"
	"   {\"id\": \"w\", \"claims\": {\"scope\": [\"a\", \"b\"], \"env\": [\"prod\"]},\n"
	"   \"action\": \"allow\"}]}\n";

static struct pc_policy_src *jwt_src(void)
{
	char err[512];
	struct pc_policy_src *src =
		pc_policy_load_string(jwt_json, sizeof(jwt_json) - 1, "jwt.json", err, sizeof(err));
	if (src == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_FATAL(src != NULL);
	return src;
}

static void expect_src_error(struct pc_policy_src *src, const char *want, int line)
{
	char err[512] = "";
	void *img = NULL;
	size_t len = 0;
	int rc = pc_policy_compile(src, &img, &len, err, sizeof(err));
	bool ok = rc == -EINVAL && img == NULL && strcmp(err, want) == 0;
	if (!ok)
		fprintf(stderr, "\nline %d: rc %d, \"%s\"\n", line, rc, err);
	CU_ASSERT(ok);
	free(img);
	pc_policy_src_free(src);
}

#define EXPECT_SRC_ERROR(src, want) expect_src_error((src), (want), __LINE__)

static void test_jwt_sections(void)
{
	struct pc_policy_src *src = jwt_src();
	char err[512];
	void *img = NULL;
	size_t len = 0;
	CU_ASSERT_FATAL(pc_policy_compile(src, &img, &len, err, sizeof(err)) == 0);
	const char *strs = section(img, PC_IMG_SEC_STRINGS);
	CU_ASSERT_EQUAL(hdr(img)->n_issuers, 1);
	CU_ASSERT_EQUAL(hdr(img)->sections[PC_IMG_SEC_ISSUERS].len, sizeof(struct pc_img_issuer));
	const struct pc_img_issuer *is = section(img, PC_IMG_SEC_ISSUERS);
	CU_ASSERT_STRING_EQUAL(strs + is->issuer, "joe");
	CU_ASSERT_STRING_EQUAL(strs + is->token_header, "x-jwt");
	static const char ks_start[] = "{\"keys\":[{\"crv\":\"P-256\",\"kty\":\"EC\",";
	CU_ASSERT_EQUAL(strncmp(strs + is->jwks, ks_start, sizeof(ks_start) - 1), 0);
	CU_ASSERT_EQUAL(is->algs, PC_JWT_ALG_BIT(PC_JWT_ALG_ES256) | PC_JWT_ALG_BIT(PC_JWT_ALG_RS256));
	CU_ASSERT_EQUAL(is->leeway_s, 7);
	CU_ASSERT_EQUAL(is->max_lifetime_s, 600);
	CU_ASSERT_EQUAL(is->require_exp, 1);
	CU_ASSERT_EQUAL_FATAL(is->n_auds, 2);
	const uint32_t *auds = section(img, PC_IMG_SEC_AUDIENCES);
	CU_ASSERT_STRING_EQUAL(strs + auds[is->auds_start + 1], "gw2");

	const struct pc_img_identity *id = section(img, PC_IMG_SEC_IDENTITIES);
	CU_ASSERT_EQUAL(id[0].jwt_issuer, PC_IMG_NO_JWT);
	CU_ASSERT_EQUAL(id[0].jwt_claim, PC_IMG_NO_STRING);
	CU_ASSERT_EQUAL(id[0].jwt_value, PC_IMG_NO_STRING);
	CU_ASSERT_EQUAL(id[1].jwt_issuer, 0);
	CU_ASSERT_EQUAL(id[1].jwt_claim, PC_IMG_NO_STRING);
	CU_ASSERT_STRING_EQUAL(strs + id[1].jwt_value, "svc-*");
	CU_ASSERT_STRING_EQUAL(strs + id[2].jwt_claim, "client_id");
	CU_ASSERT_STRING_EQUAL(strs + id[2].jwt_value, "c1");

	const struct pc_img_rule *r = section(img, PC_IMG_SEC_RULES);
	CU_ASSERT_EQUAL(r[0].n_claims, 0);
	CU_ASSERT_EQUAL(r[1].claims_start, 0);
	CU_ASSERT_EQUAL_FATAL(r[1].n_claims, 2);
	const struct pc_img_claim_cond *cc = section(img, PC_IMG_SEC_CLAIM_CONDS);
	const uint32_t *cv = section(img, PC_IMG_SEC_CLAIM_VALUES);
	CU_ASSERT_STRING_EQUAL(strs + cc[0].name, "scope");
	CU_ASSERT_EQUAL(cc[0].n_values, 2);
	CU_ASSERT_STRING_EQUAL(strs + cv[cc[0].values_start + 1], "b");
	CU_ASSERT_STRING_EQUAL(strs + cc[1].name, "env");
	CU_ASSERT_STRING_EQUAL(strs + cv[cc[1].values_start], "prod");

	/* the same builder compiles to the same bytes */
	void *img2 = NULL;
	size_t len2 = 0;
	CU_ASSERT_FATAL(pc_policy_compile(src, &img2, &len2, err, sizeof(err)) == 0);
	CU_ASSERT(len == len2 && memcmp(img, img2, len) == 0);
	free(img2);
	free(img);
	pc_policy_src_free(src);

	/* the compiler re-checks what it relies on */
	src = jwt_src();
	src->identities[1].jwt_issuer = 1;
	EXPECT_SRC_ERROR(src, "jwt.json: $.identities[1].jwt: bad binding");
	src = jwt_src();
	src->jwt_issuers[0].algs = 0;
	EXPECT_SRC_ERROR(src, "jwt.json: $.jwt_issuers[0].algorithms: bad set 0x0");
	src = jwt_src();
	src->jwt_issuers[0].algs = 1u << 30;
	EXPECT_SRC_ERROR(src, "jwt.json: $.jwt_issuers[0].algorithms: bad set 0x40000000");
	src = jwt_src();
	free(src->jwt_issuers[0].jwks);
	src->jwt_issuers[0].jwks = NULL;
	EXPECT_SRC_ERROR(src, "jwt.json: $.jwt_issuers[0]: missing key set");
	src = jwt_src();
	src->jwt_issuers[0].token_header[0] = ' ';
	EXPECT_SRC_ERROR(src, "jwt.json: $.jwt_issuers[0].token_header: \" -jwt\" is not a header name");
	src = jwt_src();
	src->rules[1].claims[1].name[0] = '\0';
	EXPECT_SRC_ERROR(src, "jwt.json: $.rules[1].claims: empty claim name");
}

/* A rule's TLS posture compiles into the rule and the two string runs, and
 * every posture the image loader would refuse is refused here first. */
static void test_tls_posture(void)
{
	struct tb *b = sample();
	tb_identity(b, "agents", L("198.18.0.0/24"), NONE, NULL);
	tb_dest(b, "models", PC_DEST_TLS, L("*.Models.example"), NONE, (uint16_t[]){ 443 }, 1);
	struct pc_src_rule *r = tb_rule(b, "m", PC_ACTION_ALLOW, L("agents"), L("models"), 0, NONE);
	r->has_tls = true;
	r->tls_min_version = 0x0304;
	r->ja4 = tb_strs(b, L("t13d1516h2_8daaf6152771_e5627efa2ab1"), &r->n_ja4);
	r->alpn = tb_strs(b, L("h2", "http/1.1"), &r->n_alpn);
	char err[512];
	void *img;
	size_t len;
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);
	const struct pc_img_rule *ir = (const struct pc_img_rule *)section(img, PC_IMG_SEC_RULES) + 3;
	const char *strs = section(img, PC_IMG_SEC_STRINGS);
	const uint32_t *ja4 = section(img, PC_IMG_SEC_TLS_JA4), *alpn = section(img, PC_IMG_SEC_TLS_ALPN);
	CU_ASSERT_EQUAL(ir->has_tls, 1);
	CU_ASSERT_EQUAL(ir->tls_min_version, 0x0304);
	CU_ASSERT_EQUAL(ir->ja4_start, 0);
	CU_ASSERT_EQUAL_FATAL(ir->n_ja4, 1);
	CU_ASSERT_STRING_EQUAL(strs + ja4[0], "t13d1516h2_8daaf6152771_e5627efa2ab1");
	CU_ASSERT_EQUAL_FATAL(ir->n_alpn, 2);
	CU_ASSERT_STRING_EQUAL(strs + alpn[ir->alpn_start + 1], "http/1.1");
	CU_ASSERT_EQUAL(hdr(img)->sections[PC_IMG_SEC_TLS_ALPN].len, 8);
	/* the rules without posture carry none */
	const struct pc_img_rule *r0 = section(img, PC_IMG_SEC_RULES);
	CU_ASSERT(r0->has_tls == 0 && r0->tls_min_version == 0 && r0->n_ja4 == 0 && r0->n_alpn == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	struct pc_addr a;
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.2", &a) == 0);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 443), PC_INSPECT_TLS);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 80), PC_INSPECT_HTTP);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 22), PC_INSPECT_NONE);
	pc_policy_free(p);
	free(img);

	/* a tls destination on every port, beside an http one on 80 */
	b->src.destinations[2].n_ports = 0;
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);
	p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 80), PC_INSPECT_HTTP_OR_TLS);
	CU_ASSERT(pc_policy_inspects(p, &a, 80));
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 22), PC_INSPECT_TLS);
	CU_ASSERT(!pc_policy_inspects(p, &a, 22));
	pc_policy_free(p);
	free(img);
	b->src.destinations[2].n_ports = 1;

	r->tls_min_version = 0x0302;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[3].tls.min_version: bad value 0x0302", NULL);
	r->tls_min_version = 0x0304;
	r->ja4[0][0] = 'x';
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[3].tls.ja4[0]: \"x13d1516h2_8daaf6152771_e5627efa2ab1\" "
		     "is not a JA4 fingerprint", NULL);
	r->ja4[0][0] = 't';
	r->alpn[1][0] = '\0';
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[3].tls.alpn[1]: \"\" is not an ALPN protocol name", NULL);
	r->alpn[1][0] = 'h';
	r->methods = PC_HTTP_GET;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[3].tls: TLS posture with HTTP conditions never matches",
		     NULL);
	r->methods = 0;
	uint32_t n_ja4 = r->n_ja4, n_alpn = r->n_alpn;
	r->tls_min_version = 0;
	r->n_ja4 = 0;
	r->n_alpn = 0;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[3].tls: no condition", NULL);
	r->has_tls = false;
	r->n_alpn = n_alpn;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[3].tls: conditions without has_tls", NULL);
	r->has_tls = true;
	r->n_ja4 = n_ja4;
	b->src.destinations[2].proto = PC_DEST_PROTO_MAX + 1;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.destinations[2].protocol: bad value 5", NULL);
	b->src.destinations[2].proto = PC_DEST_TLS;
	CU_ASSERT(compile(b, &img, &len, err, sizeof(err)) == 0);
	free(img);
	tb_free(b);
}

/* Body conditions, deny responses, the window and DLP from a builder made
 * in C: what the compiler re-checks, and what a zeroed builder means. */
static char **strs(struct tb *b, const char *const *l)
{
	uint32_t n = list_len(l);
	char **a = tb_alloc(b, (n + 1) * sizeof(*a));
	for (uint32_t i = 0; i < n; i++)
		a[i] = tb_str(b, l[i]);
	return a;
}

static void test_ai_builder(void)
{
	char err[512];
	void *img;
	size_t len;

	/* zero is the default everywhere */
	struct tb *b = sample();
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);
	const struct pc_img_header *h = img;
	CU_ASSERT_EQUAL(h->body_window, 64u * 1024);
	CU_ASSERT_EQUAL(h->deny_response, PC_DENY_RESPONSE_UNSET);
	CU_ASSERT_EQUAL(h->path_flags, 0);
	CU_ASSERT_EQUAL(h->sections[PC_IMG_SEC_DLP].len, 0);
	free(img);

	/* set: they reach the image */
	b->src.rules[0].models = strs(b, L("small-*", "gpt-4o-mini"));
	b->src.rules[0].n_models = 2;
	b->src.rules[0].deny_response = PC_DENY_RESPONSE_HTTP_429;
	b->src.rules[1].mcp_tools = strs(b, L("kb_*"));
	b->src.rules[1].n_mcp_tools = 1;
	b->src.deny_response = PC_DENY_RESPONSE_RESET;
	b->src.body_window = 1000;
	b->src.path_keep_slashes = true;
	b->src.has_dlp = true;
	b->src.destinations[0].external = true;
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);
	h = img;
	CU_ASSERT_EQUAL(h->body_window, 1000);
	CU_ASSERT_EQUAL(h->deny_response, PC_DENY_RESPONSE_RESET);
	CU_ASSERT_EQUAL(h->path_flags, PC_IMG_PATH_KEEP_SLASHES);
	CU_ASSERT(h->sections[PC_IMG_SEC_DLP].len > 0);
	CU_ASSERT_EQUAL(h->flags & PC_IMG_POLICY_DLP_BLOCKS, PC_IMG_POLICY_DLP_BLOCKS);
	CU_ASSERT_EQUAL(h->sections[PC_IMG_SEC_MODELS].len, 8);
	CU_ASSERT_EQUAL(h->sections[PC_IMG_SEC_MCP_TOOLS].len, 4);
	const struct pc_img_rule *ir =
		(const struct pc_img_rule *)((const uint8_t *)img + h->sections[PC_IMG_SEC_RULES].off);
	CU_ASSERT_EQUAL(ir[0].n_models, 2);
	CU_ASSERT_EQUAL(ir[0].deny_response, PC_DENY_RESPONSE_HTTP_429);
	CU_ASSERT_EQUAL(ir[1].n_tools, 1);
	CU_ASSERT_EQUAL(ir[1].tools_start, 0);
	const struct pc_img_destination *id = (const struct pc_img_destination *)(
		(const uint8_t *)img + h->sections[PC_IMG_SEC_DESTINATIONS].off);
	CU_ASSERT_EQUAL(id[0].flags, PC_IMG_DEST_EXTERNAL);
	CU_ASSERT_EQUAL(id[1].flags, 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(p);
	pc_policy_free(p);
	free(img);

	/* log only */
	b->src.dlp_log_only = true;
	CU_ASSERT_FATAL(compile(b, &img, &len, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(((const struct pc_img_header *)img)->flags & PC_IMG_POLICY_DLP_BLOCKS, 0);
	free(img);

	/* what the compiler refuses */
	b->src.body_window = (1u << 20) + 1;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.body_window_bytes: 1048577 is more than 1048576",
		     NULL);
	b->src.body_window = 0;
	b->src.deny_response = 4;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.deny_response: bad value 4", NULL);
	b->src.deny_response = 0;
	b->src.rules[1].deny_response = 9;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[1].deny_response: bad value 9", NULL);
	b->src.rules[1].deny_response = 0;
	b->src.rules[1].models = strs(b, L("x"));
	b->src.rules[1].n_models = 1;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[1].mcp_tools: a rule has models or mcp_tools, "
		     "not both", NULL);
	b->src.rules[1].n_models = 0;
	b->src.rules[1].mcp_tools[0][0] = '\0';
	EXPECT_ERROR(b, -EINVAL, "test.json: $.rules[1].mcp_tools[0]: empty glob", NULL);
	b->src.rules[1].mcp_tools[0][0] = 'k';
	struct pc_src_dlp_pattern bad = { tb_str(b, "acme"), tb_str(b, "acme_[0-9") };
	b->src.dlp_patterns = &bad;
	b->src.n_dlp_patterns = 1;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.dlp.patterns: ", "\"acme\"");
	/* a bad pattern is reported even with no external destination */
	b->src.destinations[0].external = false;
	EXPECT_ERROR(b, -EINVAL, "test.json: $.dlp.patterns: ", "\"acme\"");
	tb_free(b);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_round_trip),
	PC_TEST(test_deterministic),
	PC_TEST(test_normalisation),
	PC_TEST(test_empty_policy),
	PC_TEST(test_bad_regex),
	PC_TEST(test_allowempty),
	PC_TEST(test_builder_errors),
	PC_TEST(test_jwt_sections),
	PC_TEST(test_tls_posture),
	PC_TEST(test_ai_builder),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("policy_compile", tests)
