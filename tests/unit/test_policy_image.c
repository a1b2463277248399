/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Policy image loader: the image is hostile. Each corruption is rejected with
 * its own message: a flipped byte by the checksum; truncation, extra bytes,
 * magic and ABI by the header checks; and, with the checksum recomputed after
 * the damage so that the range checks themselves are what stands in the way,
 * sections outside the image or misaligned, counts that disagree, indexes and
 * string offsets out of range, unsorted keys, bad prefixes, a damaged
 * Hyperscan database, and in the JWT sections issuer offsets, ranges,
 * algorithm sets and a key set that no longer validates; in the TLS parts
 * the posture flag, version, ranges and the shape of every JA4 and ALPN
 * string. Finally random
 * damage, resealed, must never crash the loader or the engine running what it
 * accepted.
 *
 * The images come from a JSON policy through the ordinary loader and
 * compiler, as in production.
 */
#include <errno.h>
#include <hs/hs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "pc_test.h"
#include "policy/policy.h"
#include "policy/policy_image.h"
#include "util/addr.h"

/* config/policy.sample.json, so the offsets below do not move when the
 * sample does. */
static const char sample_json[] =
	"{\"version\": 1, \"default_action\": \"deny\",\n"
	" \"identities\": [\n"
	"  {\"name\": \"ticket-agent\", \"sources\": [\"198.18.1.0/24\"],\n"
	"   \"api_keys_sha256\": [\"ce6e7185989b4c41510b8ba0d7351ecc4dcbb1bec7293bcf43705d46a7ea1f3b\"]},\n"
	"  {\"name\": \"billing-bot\",\n"
	"   \"api_keys_sha256\": [\"fa33d4b79c8f6e955ccff7a0b5f728152690730d7ece7f3bea21f3c8e9494f4e\"]},\n"
	"  {\"name\": \"monitoring\", \"sources\": [\"198.18.1.200/32\"]}],\n"
	" \"destinations\": [\n"
	"  {\"name\": \"tickets\", \"hosts\": [\"tickets.internal\", \"*.tickets.internal\"],\n"
	"   \"addresses\": [\"198.18.0.2/32\"], \"ports\": [80]},\n"
	"  {\"name\": \"ssh\", \"addresses\": [\"198.18.0.2/32\"], \"ports\": [22], \"protocol\": \"tcp\"}],\n"
	" \"rules\": [\n"
	"  {\"id\": \"block-admin\", \"destinations\": [\"tickets\"], \"paths\": [\"^/admin(/.*)?$\"],\n"
	"   \"action\": \"deny\"},\n"
	"  {\"id\": \"tickets-read\", \"identities\": [\"ticket-agent\"], \"destinations\": [\"tickets\"],\n"
	"   \"methods\": [\"GET\", \"HEAD\"], \"paths\": [\"^/api/v2/tickets(/[0-9]+)?$\"], \"action\": \"allow\"},\n"
	"  {\"id\": \"tickets-triage\", \"identities\": [\"ticket-agent\"], \"destinations\": [\"tickets\"],\n"
	"   \"methods\": [\"POST\"], \"paths\": [\"^/api/v2/tickets/[0-9]+/comments$\"],\n"
	"   \"headers\": {\"x-agent-purpose\": [\"triage\", \"summarize\"]}, \"action\": \"allow\"},\n"
	"  {\"id\": \"billing-read\", \"identities\": [\"billing-bot\"], \"destinations\": [\"tickets\"],\n"
	"   \"methods\": [\"GET\"], \"paths\": [\"^/api/v2/invoices(/[0-9]+)?$\"], \"action\": \"allow\"},\n"
	"  {\"id\": \"monitoring-health\", \"identities\": [\"monitoring\"], \"destinations\": [\"tickets\"],\n"
	"   \"methods\": [\"GET\"], \"paths\": [\"^/healthz$\"], \"action\": \"allow\"},\n"
	"  {\"id\": \"ops-ssh\", \"identities\": [\"monitoring\"], \"destinations\": [\"ssh\"],\n"
	"   \"action\": \"allow\"}]}\n";

/* The image of policy text (named name in messages), which must load and
 * compile; the caller frees it. */
static uint8_t *compile_text(const char *text, size_t text_len, const char *name, size_t *len)
{
	char err[512];
	struct pc_policy_src *src = pc_policy_load_string(text, text_len, name, err, sizeof(err));
	if (src == NULL)
		fprintf(stderr, "load: %s\n", err);
	CU_ASSERT_FATAL(src != NULL);
	void *img = NULL;
	int rc = pc_policy_compile(src, &img, len, err, sizeof(err));
	pc_policy_src_free(src);
	if (rc)
		fprintf(stderr, "compile: %s\n", err);
	CU_ASSERT_FATAL(rc == 0);
	return img;
}

/* A fresh image of the sample; the caller frees it. */
static uint8_t *fresh(size_t *len)
{
	return compile_text(sample_json, sizeof(sample_json) - 1, "sample.json", len);
}

static struct pc_img_header *H(uint8_t *img)
{
	return (struct pc_img_header *)img;
}

static void *sec(uint8_t *img, unsigned s)
{
	return img + H(img)->sections[s].off;
}

/* Recompute the checksum, so only the damage itself is left to find. */
static void reseal(uint8_t *img, size_t len)
{
	H(img)->crc32 = pc__img_crc(img, len);
}

/* img = orig with 1..max_flips bytes changed (a random byte or one bit
 * flipped), three in four of them before focus_end and the rest anywhere,
 * then resealed so the damage gets past the checksum. */
static void scramble(uint8_t *img, const uint8_t *orig, size_t len, uint32_t *seed, int max_flips,
		   uint32_t focus_end)
{
	memcpy(img, orig, len);
	int flips = 1 + (int)(*seed % (uint32_t)max_flips);
	for (int f = 0; f < flips; f++) {
		*seed = *seed * 1103515245u + 12345u;
		uint32_t span = (*seed >> 8) % 4 == 0 ? (uint32_t)len : focus_end;
		uint32_t at = PC_POLICY_IMAGE_CRC_START + 4 + (*seed >> 12) % (span - 20);
		*seed = *seed * 1103515245u + 12345u;
		img[at] = (*seed >> 16) % 3 == 0 ? (uint8_t)(*seed >> 8)
						 : img[at] ^ (uint8_t)(1u << (*seed >> 24) % 8);
	}
	reseal(img, len);
}

/* rounds of scramble() over copies of orig: every damaged image is refused
 * with a "policy image: " message, or gives a policy the engine runs safely
 * (run(p, s, arg) decides with it and checks what it can). Both outcomes
 * must occur: the damage is neither all fatal nor all ignored. */
static void damage_rounds(const uint8_t *orig, size_t len, int rounds, uint32_t seed,
			  int max_flips, uint32_t focus_end,
			  void (*run)(const struct pc_policy *p, struct pc_engine_scratch *s,
				      const void *arg),
			  const void *arg)
{
	uint8_t *img = malloc(len);
	CU_ASSERT_FATAL(img != NULL);
	uint32_t accepted = 0, rejected = 0;
	for (int round = 0; round < rounds; round++) {
		scramble(img, orig, len, &seed, max_flips, focus_end);
		char err[512] = "";
		struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
		if (p == NULL) {
			rejected++;
			CU_ASSERT(strncmp(err, "policy image: ", 14) == 0);
			continue;
		}
		accepted++;
		struct pc_engine_scratch *s = pc_engine_scratch_new(p);
		CU_ASSERT_FATAL(s != NULL);
		run(p, s, arg);
		pc_engine_scratch_free(s);
		pc_policy_free(p);
	}
	CU_ASSERT(accepted > 0);
	CU_ASSERT(rejected > 0);
	free(img);
}


static void expect_reject(const uint8_t *img, size_t len, const char *want, int line)
{
	char err[512] = "";
	errno = 0;
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	bool ok = p == NULL && errno == EINVAL && strcmp(err, want) == 0;
	if (!ok)
		fprintf(stderr, "\nline %d: %s errno %d\n  got  \"%s\"\n  want \"%s\"\n", line,
			p ? "accepted" : "rejected", errno, err, want);
	CU_ASSERT(ok);
	pc_policy_free(p);
}

#define EXPECT_REJECT(img, len, ...)                                    \
	do {                                                            \
		char want_[512];                                        \
		snprintf(want_, sizeof(want_), __VA_ARGS__);            \
		expect_reject((img), (len), want_, __LINE__);           \
	} while (0)

/* A damage function edits a fresh image and returns the message it expects
 * (formatted into want); the image is resealed afterwards. */
typedef void (*damage_fn)(uint8_t *img, size_t len, char *want, size_t want_len);

/* Damage a fresh image from make (one of the fresh*() policies) with fn and
 * expect exactly its message. */
static void run_damage(uint8_t *(*make)(size_t *len), damage_fn fn, int line)
{
	size_t len;
	uint8_t *img = make(&len);
	char want[512];
	fn(img, len, want, sizeof(want));
	reseal(img, len);
	expect_reject(img, len, want, line);
	free(img);
}

#define DAMAGE(fn) run_damage(fresh, (fn), __LINE__)

static void test_accepts_sample(void)
{
	size_t len;
	uint8_t *img = fresh(&len);
	char err[256];
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(pc_policy_rule_count(p), 6);
	CU_ASSERT_STRING_EQUAL(pc_policy_rule_id(p, 5), "ops-ssh");
	CU_ASSERT_STRING_EQUAL(pc_policy_identity_name(p, 2), "monitoring");
	pc_policy_free(p);
	/* an unaligned source buffer is fine: the loader copies first */
	uint8_t *odd = malloc(len + 1);
	CU_ASSERT_FATAL(odd != NULL);
	memcpy(odd + 1, img, len);
	p = pc_policy_from_image(odd + 1, len, err, sizeof(err));
	CU_ASSERT(p != NULL);
	pc_policy_free(p);
	free(odd);
	free(img);
}

static void test_checksum(void)
{
	size_t len;
	uint8_t *img = fresh(&len);
	uint32_t stored = H(img)->crc32;
	img[len / 2] ^= 0x10;
	uint32_t computed = pc__img_crc(img, len);
	EXPECT_REJECT(img, len, "policy image: checksum mismatch (stored 0x%08x, computed 0x%08x)", stored,
		      computed);
	img[len / 2] ^= 0x10;
	/* a flip in the header's counted part is caught the same way */
	H(img)->n_rules ^= 1;
	EXPECT_REJECT(img, len, "policy image: checksum mismatch (stored 0x%08x, computed 0x%08x)", stored,
		      pc__img_crc(img, len));
	H(img)->n_rules ^= 1;
	/* and in the last byte */
	img[len - 1] ^= 0x80;
	EXPECT_REJECT(img, len, "policy image: checksum mismatch (stored 0x%08x, computed 0x%08x)", stored,
		      pc__img_crc(img, len));
	free(img);
}

/* pc_policy_from_checked_image(): the caller vouches for a CRC-32C of the
 * same bytes, so the image's own is not computed again; every other check
 * still runs. */
static void test_checked_image(void)
{
	char err[256];
	size_t len;
	uint8_t *img = fresh(&len);
	struct pc_policy *p = pc_policy_from_checked_image(img, len, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(p);
	pc_policy_free(p);
	H(img)->crc32 ^= 1; /* not computed: accepted as the caller said */
	p = pc_policy_from_checked_image(img, len, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(p);
	pc_policy_free(p);
	CU_ASSERT_PTR_NULL(pc_policy_from_image(img, len, err, sizeof(err)));
	/* a section beyond the image is refused all the same */
	H(img)->sections[0].off = (uint32_t)len + 4096;
	CU_ASSERT_PTR_NULL(pc_policy_from_checked_image(img, len, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "outside the image"));
	free(img);
}

static void test_length_magic_abi(void)
{
	size_t len;
	uint8_t *img = fresh(&len);
	EXPECT_REJECT(img, len - 1, "policy image: truncated (%zu of %zu bytes)", len - 1, len);
	EXPECT_REJECT(img, sizeof(struct pc_img_header) + 16, "policy image: truncated (%zu of %zu bytes)",
		      sizeof(struct pc_img_header) + 16, len);
	EXPECT_REJECT(img, 100, "policy image: truncated (100 bytes; the header alone is %zu)",
		      sizeof(struct pc_img_header));
	EXPECT_REJECT(img, 20, "policy image: truncated (20 bytes; the header alone is %zu)",
		      sizeof(struct pc_img_header));
	EXPECT_REJECT(img, 0, "policy image: truncated (0 bytes; the header alone is %zu)",
		      sizeof(struct pc_img_header));
	uint8_t *longer = calloc(1, len + 8);
	CU_ASSERT_FATAL(longer != NULL);
	memcpy(longer, img, len);
	EXPECT_REJECT(longer, len + 8, "policy image: length mismatch (%zu bytes, header says %zu)", len + 8,
		      len);
	free(longer);

	H(img)->magic ^= 0x01000000;
	EXPECT_REJECT(img, len, "policy image: bad magic 0x48504350 (expected 0x49504350)");
	H(img)->magic ^= 0x01000000;
	H(img)->abi = PC_POLICY_IMAGE_ABI + 1;
	EXPECT_REJECT(img, len, "policy image: ABI version %u, this build reads version %u",
		      PC_POLICY_IMAGE_ABI + 1, PC_POLICY_IMAGE_ABI);
	H(img)->abi = PC_POLICY_IMAGE_ABI;
	H(img)->header_len = 8;
	reseal(img, len);
	EXPECT_REJECT(img, len, "policy image: header length 8, expected %zu", sizeof(struct pc_img_header));

	char err[64];
	errno = 0;
	CU_ASSERT(pc_policy_from_image(NULL, 10, err, sizeof(err)) == NULL);
	CU_ASSERT_EQUAL(errno, EINVAL);
	free(img);
}

/* ---- header and section table, resealed ---- */

static void dmg_n_sections(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->n_sections = 3;
	snprintf(want, n, "policy image: 3 sections, expected %u", PC_IMG_SEC_COUNT);
}

static void dmg_default_action(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->default_action = 5;
	snprintf(want, n, "policy image: default action 5 out of range");
}

static void dmg_section_outside(uint8_t *img, size_t len, char *want, size_t n)
{
	struct pc_img_section *s = &H(img)->sections[PC_IMG_SEC_RULES];
	s->len += (uint32_t)len;
	snprintf(want, n, "policy image: rules section [%u, +%u) outside the image (%zu bytes)", s->off, s->len,
		 len);
}

static void dmg_section_wraps(uint8_t *img, size_t len, char *want, size_t n)
{
	struct pc_img_section *s = &H(img)->sections[PC_IMG_SEC_KEYS];
	s->off = 0xfffffff8u;
	s->len = 40;
	snprintf(want, n, "policy image: api key digests section [%u, +%u) outside the image (%zu bytes)",
		 s->off, s->len, len);
}

static void dmg_section_in_header(uint8_t *img, size_t len, char *want, size_t n)
{
	struct pc_img_section *s = &H(img)->sections[PC_IMG_SEC_STRINGS];
	s->off = 8;
	snprintf(want, n, "policy image: string table section [8, +%u) outside the image (%zu bytes)", s->len,
		 len);
}

static void dmg_section_misaligned(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_section *s = &H(img)->sections[PC_IMG_SEC_RULES];
	s->off += 4;
	snprintf(want, n, "policy image: rules section at offset %u is not 8-byte aligned", s->off);
}

static void dmg_section_partial(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_section *s = &H(img)->sections[PC_IMG_SEC_RULES];
	s->len -= 8;
	snprintf(want, n, "policy image: rules section length %u is not a multiple of %zu", s->len,
		 sizeof(struct pc_img_rule));
}

static void dmg_count_mismatch(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->n_destinations = 3;
	snprintf(want, n, "policy image: header says 3 destinations, the section holds 2");
}

static void dmg_count_too_big(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->n_rules = 70000;
	snprintf(want, n, "policy image: 70000 rules (at most %u)", PC_POLICY_MAX_ITEMS);
}

static void dmg_strtab_unterminated(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	char *s = sec(img, PC_IMG_SEC_STRINGS);
	s[H(img)->sections[PC_IMG_SEC_STRINGS].len - 1] = 'x';
	snprintf(want, n, "policy image: string table is empty or not NUL-terminated");
}

static void test_header_and_sections(void)
{
	DAMAGE(dmg_n_sections);
	DAMAGE(dmg_default_action);
	DAMAGE(dmg_section_outside);
	DAMAGE(dmg_section_wraps);
	DAMAGE(dmg_section_in_header);
	DAMAGE(dmg_section_misaligned);
	DAMAGE(dmg_section_partial);
	DAMAGE(dmg_count_mismatch);
	DAMAGE(dmg_count_too_big);
	DAMAGE(dmg_strtab_unterminated);
}

/* ---- records, resealed ---- */

static struct pc_img_rule *rule(uint8_t *img, unsigned i)
{
	return (struct pc_img_rule *)sec(img, PC_IMG_SEC_RULES) + i;
}

static uint32_t *refs(uint8_t *img)
{
	return sec(img, PC_IMG_SEC_RULE_REFS);
}

static uint32_t count(uint8_t *img, unsigned s)
{
	return (uint32_t)(H(img)->sections[s].len / pc__img_section_elem_size(s));
}

static void dmg_policy_flags(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->flags = 0x82;
	snprintf(want, n, "policy image: policy flags 0x82 hold unknown bits");
}

static void dmg_rule_flags(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 2)->flags = PC_IMG_RULE_SHADOW | 0x4;
	snprintf(want, n, "policy image: rule 2 flags 0x05 hold unknown bits");
}

/* "mode": "shadow" travels through the image as one bit in the header and
 * one in each rule record, and comes out in the runtime policy. */
static void test_shadow_flags(void)
{
	static const char text[] =
		"{\"version\": 1, \"mode\": \"shadow\", \"rules\": ["
		"{\"id\": \"a\", \"action\": \"deny\", \"mode\": \"shadow\"},"
		"{\"id\": \"b\", \"action\": \"deny\"}]}";
	char err[512];
	size_t len = 0;
	uint8_t *img = compile_text(text, sizeof(text) - 1, "t.json", &len);
	CU_ASSERT_EQUAL(H(img)->flags, PC_IMG_POLICY_SHADOW);
	CU_ASSERT_EQUAL(rule(img, 0)->flags, PC_IMG_RULE_SHADOW);
	CU_ASSERT_EQUAL(rule(img, 1)->flags, 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT(p->shadow);
	CU_ASSERT(p->rules[0].flags & PC_RT_RULE_SHADOW);
	CU_ASSERT_FALSE(p->rules[1].flags & PC_RT_RULE_SHADOW);
	pc_policy_free(p);
	free(img);

	/* the sample enforces: no bit set anywhere */
	uint8_t *s = fresh(&len);
	CU_ASSERT_EQUAL(H(s)->flags, 0);
	for (uint32_t i = 0; i < count(s, PC_IMG_SEC_RULES); i++)
		CU_ASSERT_EQUAL(rule(s, i)->flags, 0);
	p = pc_policy_from_image(s, len, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_FALSE(p->shadow);
	pc_policy_free(p);
	free(s);

	DAMAGE(dmg_policy_flags);
	DAMAGE(dmg_rule_flags);
}

static void dmg_rule_dest_index(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	refs(img)[rule(img, 3)->dests_start] = 9;
	snprintf(want, n, "policy image: rule 3 destination index 9 out of range (2 destinations)");
}

static void dmg_rule_identity_index(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	refs(img)[rule(img, 1)->ids_start] = 3;
	snprintf(want, n, "policy image: rule 1 identity index 3 out of range (3 identities)");
}

static void dmg_rule_dest_range(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 5)->dests_start = 1000;
	snprintf(want, n, "policy image: rule 5 destinations [1000, +1) outside the rule references (%u entries)",
		 count(img, PC_IMG_SEC_RULE_REFS));
}

static void dmg_rule_range_overflow(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 2)->hdrs_start = 1;
	rule(img, 2)->n_hdrs = UINT32_MAX;
	snprintf(want, n, "policy image: rule 2 headers [1, +%u) outside the header conditions (1 entries)",
		 UINT32_MAX);
}

static void dmg_rule_id_offset(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	uint32_t tab = H(img)->sections[PC_IMG_SEC_STRINGS].len;
	rule(img, 0)->id = tab;
	snprintf(want, n, "policy image: rule 0 id offset %u outside the string table (%u bytes)", tab, tab);
}

static void dmg_rule_action(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 4)->action = 2;
	snprintf(want, n, "policy image: rule 4 action 2 out of range");
}

static void dmg_identity_sources(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_identity *id = sec(img, PC_IMG_SEC_IDENTITIES);
	id[2].n_sources = 2; /* monitoring's one prefix is the table's last */
	snprintf(want, n, "policy image: identity 2 sources [1, +2) outside the source prefixes (2 entries)");
}

static void dmg_identity_name(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_identity *id = sec(img, PC_IMG_SEC_IDENTITIES);
	id[1].name = 0xffffff00u;
	snprintf(want, n, "policy image: identity 1 name offset %u outside the string table (%u bytes)",
		 0xffffff00u, H(img)->sections[PC_IMG_SEC_STRINGS].len);
}

static void dmg_identity_key_count(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_identity *id = sec(img, PC_IMG_SEC_IDENTITIES);
	id[0].n_api_keys = 2;
	snprintf(want, n, "policy image: identity 0 states 2 api keys, the key table holds 1");
}

static void dmg_identity_header_without_keys(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_identity *id = sec(img, PC_IMG_SEC_IDENTITIES);
	id[2].key_header = 0;
	snprintf(want, n, "policy image: identity 2 has a key header but no keys");
}

static void dmg_key_identity(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_key *k = sec(img, PC_IMG_SEC_KEYS);
	k[1].identity = 3;
	snprintf(want, n, "policy image: api key 1 identity index 3 out of range (3 identities)");
}

static void dmg_keys_unsorted(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_key *k = sec(img, PC_IMG_SEC_KEYS), t = k[0];
	k[0] = k[1];
	k[1] = t;
	snprintf(want, n, "policy image: api key digests not strictly sorted at entry 1");
}

static void dmg_prefix_len(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_prefix *p = sec(img, PC_IMG_SEC_SOURCES);
	p[0].len = 33;
	snprintf(want, n, "policy image: source prefixes entry 0 is not a valid prefix (family 4, length 33)");
}

static void dmg_prefix_host_bits(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_prefix *p = sec(img, PC_IMG_SEC_DEST_PREFIXES);
	p[1].v4 |= 1; /* 198.18.0.2/32 is fine; make it /31 with the host bit set */
	p[1].len = 31;
	snprintf(want, n,
		 "policy image: destination prefixes entry 1 is not a valid prefix (family 4, length 31)");
}

static void dmg_prefix_family(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_prefix *p = sec(img, PC_IMG_SEC_DEST_PREFIXES);
	p[0].family = 5;
	snprintf(want, n, "policy image: destination prefixes entry 0 is not a valid prefix (family 5, length 32)");
}

static void dmg_dest_proto(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_destination *d = sec(img, PC_IMG_SEC_DESTINATIONS);
	d[1].proto = 7;
	snprintf(want, n, "policy image: destination 1 protocol 7 out of range");
}

static void dmg_dest_ports(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_destination *d = sec(img, PC_IMG_SEC_DESTINATIONS);
	d[1].ports_start = 2;
	snprintf(want, n, "policy image: destination 1 ports [2, +1) outside the ports (2 entries)");
}

static void dmg_host_uppercase(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	const uint32_t *hosts = sec(img, PC_IMG_SEC_HOSTS);
	char *s = (char *)sec(img, PC_IMG_SEC_STRINGS) + hosts[0];
	s[0] = 'T';
	snprintf(want, n, "policy image: host pattern 0 \"Tickets.internal\" is not a lowercase host or *.domain");
}

static void dmg_host_star(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	const uint32_t *hosts = sec(img, PC_IMG_SEC_HOSTS);
	char *s = (char *)sec(img, PC_IMG_SEC_STRINGS) + hosts[1];
	s[2] = '*'; /* "*.*ickets.internal" */
	snprintf(want, n, "policy image: host pattern 1 \"*.*ickets.internal\" is not a lowercase host or *.domain");
}

static void dmg_hdr_values_range(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_hdr_cond *hc = sec(img, PC_IMG_SEC_HDR_CONDS);
	hc[0].n_values = 3;
	snprintf(want, n, "policy image: header condition 0 values [0, +3) outside the header values (2 entries)");
}

static void dmg_hdr_value_offset(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	uint32_t *v = sec(img, PC_IMG_SEC_HDR_VALUES);
	v[1] = 1u << 31;
	snprintf(want, n, "policy image: header value 1 offset %u outside the string table (%u bytes)", 1u << 31,
		 H(img)->sections[PC_IMG_SEC_STRINGS].len);
}

static void dmg_path_rule_range(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_path *p = sec(img, PC_IMG_SEC_PATHS);
	p[0].rule = 99;
	snprintf(want, n, "policy image: path pattern 0 rule index 99 out of range (6 rules)");
}

static void dmg_path_rule_owner(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_path *p = sec(img, PC_IMG_SEC_PATHS);
	p[2].rule = 1;
	snprintf(want, n, "policy image: path pattern 2 names rule 1, which does not list it");
}

static void dmg_hsdb_missing(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->sections[PC_IMG_SEC_HSDB].len = 0;
	snprintf(want, n, "policy image: 5 path patterns but a 0-byte Hyperscan database");
}

static void dmg_hsdb_bytes(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	uint8_t *db = sec(img, PC_IMG_SEC_HSDB);
	uint32_t db_len = H(img)->sections[PC_IMG_SEC_HSDB].len;
	for (uint32_t i = db_len / 2; i < db_len / 2 + 16; i++)
		db[i] ^= 0x5a;
	snprintf(want, n, "policy image: Hyperscan database rejected: corrupt or truncated (error %d)",
		 HS_INVALID);
}

static void dmg_hsdb_truncated(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->sections[PC_IMG_SEC_HSDB].len -= 64;
	snprintf(want, n, "policy image: Hyperscan database rejected: corrupt or truncated (error %d)",
		 HS_INVALID);
}

static void test_records(void)
{
	DAMAGE(dmg_rule_dest_index);
	DAMAGE(dmg_rule_identity_index);
	DAMAGE(dmg_rule_dest_range);
	DAMAGE(dmg_rule_range_overflow);
	DAMAGE(dmg_rule_id_offset);
	DAMAGE(dmg_rule_action);
	DAMAGE(dmg_identity_sources);
	DAMAGE(dmg_identity_name);
	DAMAGE(dmg_identity_key_count);
	DAMAGE(dmg_identity_header_without_keys);
	DAMAGE(dmg_key_identity);
	DAMAGE(dmg_keys_unsorted);
	DAMAGE(dmg_prefix_len);
	DAMAGE(dmg_prefix_host_bits);
	DAMAGE(dmg_prefix_family);
	DAMAGE(dmg_dest_proto);
	DAMAGE(dmg_dest_ports);
	DAMAGE(dmg_host_uppercase);
	DAMAGE(dmg_host_star);
	DAMAGE(dmg_hdr_values_range);
	DAMAGE(dmg_hdr_value_offset);
	DAMAGE(dmg_path_rule_range);
	DAMAGE(dmg_path_rule_owner);
	DAMAGE(dmg_hsdb_missing);
	DAMAGE(dmg_hsdb_bytes);
	DAMAGE(dmg_hsdb_truncated);
}

/* Whatever the damage, resealed: the loader either refuses with a message or
 * builds a policy the engine can run. Under AddressSanitizer this is where an
 * unchecked offset would show. A fixed seed keeps failures reproducible. */
/* ---- JWT sections ---- */

static const char jwt_json[] =
	"{\"version\": 1,\n"
	" \"jwt_issuers\": [{\"issuer\": \"joe\", \"audiences\": [\"gw\"], \"algorithms\": [\"ES256\"],\n"
	"   \"leeway_s\": 5, \"max_lifetime_s\": 0, \"require_exp\": false,\n"
	"   \"jwks\": {\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\",\n"
	"     \"x\": \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\",\n"
	"     \"y\": \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}}],\n"
	" \"identities\": [{\"name\": \"svc\", \"jwt\": {\"issuer\": \"joe\", \"subject\": \"svc-*\"}},\n"
	"   {\"name\": \"cid\", \"jwt\": {\"issuer\": \"joe\", \"claim\": \"client_id\", \"value\": \"c1\"}}],\n"
	" \"rules\": [{\"id\": \"w\", \"claims\": {\"scope\": [\"a\", \"b\"], \"env\": [\"prod\"]},\n"
	"   \"action\": \"allow\"}]}\n";

static uint8_t *fresh_jwt(size_t *len)
{
	return compile_text(jwt_json, sizeof(jwt_json) - 1, "jwt.json", len);
}

#define JWT_DAMAGE(fn) run_damage(fresh_jwt, (fn), __LINE__)

static struct pc_img_issuer *issuer0(uint8_t *img)
{
	return sec(img, PC_IMG_SEC_ISSUERS);
}

static void d_issuer_section_outside(uint8_t *img, size_t len, char *want, size_t n)
{
	H(img)->sections[PC_IMG_SEC_ISSUERS].off = (uint32_t)len;
	snprintf(want, n, "policy image: jwt issuers section [%zu, +40) outside the image (%zu bytes)",
		 len, len);
}

static void d_issuer_count(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->n_issuers = 2;
	snprintf(want, n, "policy image: header says 2 jwt issuers, the section holds 1");
}

static void d_issuer_name(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	uint32_t tab = H(img)->sections[PC_IMG_SEC_STRINGS].len;
	issuer0(img)->issuer = tab;
	snprintf(want, n, "policy image: jwt issuer 0 name offset %u outside the string table (%u bytes)",
		 tab, tab);
}

static void d_issuer_jwks(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	issuer0(img)->jwks = UINT32_MAX - 1;
	snprintf(want, n, "policy image: jwt issuer 0 key set offset %u outside the string table (%u bytes)",
		 UINT32_MAX - 1, H(img)->sections[PC_IMG_SEC_STRINGS].len);
}

static void d_issuer_auds(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	issuer0(img)->auds_start = 1;
	snprintf(want, n, "policy image: jwt issuer 0 audiences [1, +1) outside the jwt audiences (1 entries)");
}

static void d_issuer_algs(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	issuer0(img)->algs = 1u << 31;
	snprintf(want, n, "policy image: jwt issuer 0 algorithm set 0x80000000 is empty or unknown");
}

static void d_issuer_keys(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	/* well-formed JSON, bad key: the key set is validated again here */
	char *ks = (char *)sec(img, PC_IMG_SEC_STRINGS) + issuer0(img)->jwks;
	char *crv = strstr(ks, "P-256");
	CU_ASSERT_FATAL(crv != NULL);
	crv[4] = '7';
	snprintf(want, n, "policy image: jwt issuer 0 (\"joe\") key set rejected: jwks: keys[0].crv: "
		 "expected P-256, P-384 or Ed25519, got \"P-257\"");
}

static void d_identity_issuer(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_identity *id = sec(img, PC_IMG_SEC_IDENTITIES);
	id[1].jwt_issuer = 1;
	snprintf(want, n, "policy image: identity 1 jwt issuer index 1 out of range (1 issuers)");
}

static void d_identity_claim(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_identity *id = sec(img, PC_IMG_SEC_IDENTITIES);
	id[0].jwt_issuer = PC_IMG_NO_JWT;
	snprintf(want, n, "policy image: identity 0 has a JWT claim or value but no issuer");
}

static void d_rule_claims(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_rule *r = sec(img, PC_IMG_SEC_RULES);
	r[0].claims_start = 1;
	snprintf(want, n, "policy image: rule 0 claims [1, +2) outside the claim conditions (2 entries)");
}

static void d_claim_values(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_claim_cond *cc = sec(img, PC_IMG_SEC_CLAIM_CONDS);
	cc[1].n_values = 3;
	snprintf(want, n, "policy image: claim condition 1 values [2, +3) outside the claim values (3 entries)");
}

static void test_jwt_sections(void)
{
	size_t len;
	uint8_t *img = fresh_jwt(&len);
	char err[512];
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL_FATAL(p->n_issuers, 1);
	const struct pc_jwt_issuer *is = p->issuer_list[0];
	CU_ASSERT(pc_str_eq(is->issuer, "joe", 3));
	CU_ASSERT_EQUAL_FATAL(is->n_audiences, 1);
	CU_ASSERT(pc_str_eq(is->audiences[0], "gw", 2));
	CU_ASSERT_EQUAL(is->algs, PC_JWT_ALG_BIT(PC_JWT_ALG_ES256));
	CU_ASSERT_EQUAL(is->leeway_s, 5);
	CU_ASSERT_EQUAL(is->max_lifetime_s, 0);
	CU_ASSERT_FALSE(is->require_exp);
	CU_ASSERT_PTR_NOT_NULL(is->keys);
	CU_ASSERT_EQUAL_FATAL(p->n_token_headers, 1);
	CU_ASSERT(p->token_headers[0].bearer);
	CU_ASSERT_EQUAL_FATAL(p->n_jwt_identities, 2);
	CU_ASSERT(p->identities[0].jwt_glob);
	CU_ASSERT_EQUAL(p->identities[0].jwt_claim.len, 0);
	CU_ASSERT(pc_str_eq(p->identities[1].jwt_claim, "client_id", 9));
	CU_ASSERT_FALSE(p->identities[1].jwt_glob);
	CU_ASSERT_EQUAL(p->n_source_only, 0);
	CU_ASSERT_EQUAL_FATAL(p->rules[0].n_claims, 2);
	CU_ASSERT(p->rules[0].flags & PC_RT_RULE_CLAIMS);
	CU_ASSERT(p->rules[0].flags & PC_RT_RULE_L7);
	pc_policy_free(p);
	free(img);

	JWT_DAMAGE(d_issuer_section_outside);
	JWT_DAMAGE(d_issuer_count);
	JWT_DAMAGE(d_issuer_name);
	JWT_DAMAGE(d_issuer_jwks);
	JWT_DAMAGE(d_issuer_auds);
	JWT_DAMAGE(d_issuer_algs);
	JWT_DAMAGE(d_issuer_keys);
	JWT_DAMAGE(d_identity_issuer);
	JWT_DAMAGE(d_identity_claim);
	JWT_DAMAGE(d_rule_claims);
	JWT_DAMAGE(d_claim_values);
}

/* The two requests the sample's damaged policies decide. */
struct sample_reqs {
	struct pc_request http, l4;
};

static void run_sample(const struct pc_policy *p, struct pc_engine_scratch *s, const void *arg)
{
	const struct sample_reqs *r = arg;
	struct pc_verdict v;
	pc_decide(p, s, &r->http, &v);
	CU_ASSERT(v.action < PC_ACTION_COUNT && v.reason < PC_REASON_COUNT);
	CU_ASSERT(v.rule < (int32_t)pc_policy_rule_count(p));
	CU_ASSERT(v.identity < (int32_t)pc_policy_identity_count(p));
	pc_decide(p, s, &r->l4, &v);
	CU_ASSERT(v.action < PC_ACTION_COUNT);
	if (v.rule >= 0)
		CU_ASSERT(pc_policy_rule_id(p, (uint32_t)v.rule) != NULL);
	pc_policy_inspects(p, &r->http.dst, 80);
}

static void test_random_damage(void)
{
	size_t len;
	uint8_t *orig = fresh(&len);
	static const char head[] = "GET /api/v2/tickets/1 HTTP/1.1\r\nHost: tickets.internal\r\n"
				   "x-api-key: pc-demo-ticket-agent-key-1\r\nAuthorization: Bearer x\r\n\r\n";
	struct pc_http_req http;
	CU_ASSERT_FATAL(pc_http_parse_head(head, sizeof(head) - 1, &http) == PC_HTTP_OK);
	struct sample_reqs r = { .http = { .l4_proto = 6, .dport = 80, .http = &http } };
	CU_ASSERT_FATAL(pc_addr_parse("198.18.1.10", &r.http.src) == 0);
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.2", &r.http.dst) == 0);
	r.l4 = r.http;
	r.l4.http = NULL;
	r.l4.dport = 22;
	/* mostly our own tables: the database has its own crc */
	damage_rounds(orig, len, 3000, 12345, 4, H(orig)->sections[PC_IMG_SEC_HSDB].off,
		      run_sample, &r);
	free(orig);
}

static void run_jwt(const struct pc_policy *p, struct pc_engine_scratch *s, const void *arg)
{
	const struct pc_request *req = arg;
	struct pc_verdict v;
	pc_decide(p, s, req, &v);
	CU_ASSERT(v.action < PC_ACTION_COUNT && v.reason < PC_REASON_COUNT);
	CU_ASSERT(v.identity < (int32_t)pc_policy_identity_count(p));
	pc_decide(p, s, req, &v); /* and from the cache, when it was accepted */
	CU_ASSERT(v.action < PC_ACTION_COUNT && v.reason < PC_REASON_COUNT);
}

/* The same for the JWT sections: damage that survives the checks must leave
 * a policy the engine runs safely with a token in hand. */
static void test_random_damage_jwt(void)
{
	size_t len;
	uint8_t *orig = fresh_jwt(&len);
	/* RFC 7515 A.3: ES256, iss "joe", valid before 1300819380 */
	static const char head[] =
		"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer "
		"eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ."
		"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q\r\n\r\n";
	struct pc_http_req http;
	CU_ASSERT_FATAL(pc_http_parse_head(head, sizeof(head) - 1, &http) == PC_HTTP_OK);
	struct pc_request req = { .l4_proto = 6, .dport = 80, .http = &http, .now_s = 1300819000 };

	/* anywhere in the image */
	damage_rounds(orig, len, 600, 777, 3, (uint32_t)len, run_jwt, &req);
	free(orig);
}

/* ---- TLS: tls destinations and the rules' posture ---- */

static const char tls_json[] =
	"{\"version\": 1,\n"
	" \"identities\": [{\"name\": \"agents\", \"sources\": [\"198.18.0.0/24\"]}],\n"
	" \"destinations\": [{\"name\": \"models\", \"protocol\": \"tls\", \"hosts\": [\"*.models.example\"],\n"
	"   \"ports\": [443]}, {\"name\": \"web\", \"ports\": [80]}],\n"
	" \"rules\": [{\"id\": \"t\", \"identities\": [\"agents\"], \"destinations\": [\"models\"],\n"
	"   \"tls\": {\"min_version\": \"1.3\", \"ja4\": [\"t13d1516h2_8daaf6152771_e5627efa2ab1\",\n"
	"     \"t13d0412h1_16476d049b0b_85302d7e289e\"], \"alpn\": [\"h2\", \"http/1.1\"]},\n"
	"   \"action\": \"allow\"},\n"
	"  {\"id\": \"w\", \"destinations\": [\"web\"], \"methods\": [\"GET\"], \"action\": \"allow\"}]}\n";

static uint8_t *fresh_tls(size_t *len)
{
	return compile_text(tls_json, sizeof(tls_json) - 1, "tls.json", len);
}

#define TLS_DAMAGE(fn) run_damage(fresh_tls, (fn), __LINE__)

static char *tls_str(uint8_t *img, unsigned sec_id, unsigned i)
{
	return (char *)sec(img, PC_IMG_SEC_STRINGS) + ((uint32_t *)sec(img, sec_id))[i];
}

static void d_tls_flag(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 0)->has_tls = 2;
	snprintf(want, n, "policy image: rule 0 TLS flag 2 is not 0 or 1");
}

static void d_tls_flag_cleared(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 0)->has_tls = 0;
	snprintf(want, n, "policy image: rule 0 has TLS conditions but no TLS flag");
}

static void d_tls_flag_on_http_rule(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 1)->has_tls = 1;
	rule(img, 1)->tls_min_version = 0x0303;
	snprintf(want, n, "policy image: rule 1 has both TLS and HTTP conditions");
}

static void d_tls_version(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 0)->tls_min_version = 0x0302;
	snprintf(want, n, "policy image: rule 0 TLS minimum version 0x0302 is not 1.2 or 1.3");
}

static void d_tls_no_condition(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 0)->tls_min_version = 0;
	rule(img, 0)->n_ja4 = 0;
	rule(img, 0)->n_alpn = 0;
	snprintf(want, n, "policy image: rule 0 has a TLS flag but no TLS condition");
}

static void d_tls_ja4_range(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 0)->ja4_start = 1;
	snprintf(want, n, "policy image: rule 0 ja4 fingerprints [1, +2) outside the tls ja4 "
		 "fingerprints (2 entries)");
}

static void d_tls_alpn_range(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 0)->n_alpn = UINT32_MAX;
	snprintf(want, n, "policy image: rule 0 alpn names [0, +%u) outside the tls alpn names "
		 "(2 entries)", UINT32_MAX);
}

static void d_tls_ja4_offset(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	uint32_t tab = H(img)->sections[PC_IMG_SEC_STRINGS].len;
	((uint32_t *)sec(img, PC_IMG_SEC_TLS_JA4))[1] = tab + 7;
	snprintf(want, n, "policy image: tls ja4 fingerprint 1 offset %u outside the string table "
		 "(%u bytes)", tab + 7, tab);
}

static void d_tls_ja4_shape(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	tls_str(img, PC_IMG_SEC_TLS_JA4, 1)[12] = 'G';
	snprintf(want, n, "policy image: tls ja4 fingerprint 1 is not a JA4 fingerprint");
}

static void d_tls_ja4_short(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	tls_str(img, PC_IMG_SEC_TLS_JA4, 0)[35] = '\0';
	snprintf(want, n, "policy image: tls ja4 fingerprint 0 is not a JA4 fingerprint");
}

static void d_tls_alpn_shape(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	tls_str(img, PC_IMG_SEC_TLS_ALPN, 1)[4] = ' ';
	snprintf(want, n, "policy image: tls alpn name 1 is not 1..255 printable bytes");
}

static void d_tls_alpn_empty(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	((uint32_t *)sec(img, PC_IMG_SEC_TLS_ALPN))[0] = 0; /* the empty string */
	snprintf(want, n, "policy image: tls alpn name 0 is not 1..255 printable bytes");
}

static void d_tls_section_partial(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->sections[PC_IMG_SEC_TLS_ALPN].len = 6;
	snprintf(want, n, "policy image: tls alpn names section length 6 is not a multiple of 4");
}

static void d_tls_dest_proto(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	struct pc_img_destination *d = sec(img, PC_IMG_SEC_DESTINATIONS);
	d[0].proto = PC_DEST_PROTO_MAX + 1;
	snprintf(want, n, "policy image: destination 0 protocol %u out of range", PC_DEST_PROTO_MAX + 1);
}

static void test_tls_sections(void)
{
	size_t len;
	uint8_t *img = fresh_tls(&len);
	char err[512];
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_FATAL(p != NULL);
	const struct pc_rt_rule *r = &p->rules[0];
	CU_ASSERT(r->flags & PC_RT_RULE_TLS);
	CU_ASSERT(!(r->flags & PC_RT_RULE_L7));
	CU_ASSERT_EQUAL(r->tls_min_version, 0x0304);
	CU_ASSERT_EQUAL_FATAL(r->n_ja4, 2);
	CU_ASSERT(pc_str_eq(r->ja4[1], "t13d0412h1_16476d049b0b_85302d7e289e", 36));
	CU_ASSERT_EQUAL_FATAL(r->n_alpn, 2);
	CU_ASSERT(pc_str_eq(r->alpn[0], "h2", 2));
	CU_ASSERT(pc_str_eq(r->alpn[1], "http/1.1", 8));
	CU_ASSERT(!(p->rules[1].flags & PC_RT_RULE_TLS));
	CU_ASSERT_EQUAL(p->destinations[0].proto, PC_DEST_TLS);

	/* what the dataplane inspects, by port */
	struct pc_addr a;
	CU_ASSERT_FATAL(pc_addr_parse("198.18.5.5", &a) == 0);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 443), PC_INSPECT_TLS);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 80), PC_INSPECT_HTTP);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(p, &a, 22), PC_INSPECT_NONE);
	CU_ASSERT(pc_policy_inspects(p, &a, 80));
	CU_ASSERT(!pc_policy_inspects(p, &a, 443)); /* TLS is not HTTP */
	pc_policy_free(p);
	free(img);

	TLS_DAMAGE(d_tls_flag);
	TLS_DAMAGE(d_tls_flag_cleared);
	TLS_DAMAGE(d_tls_flag_on_http_rule);
	TLS_DAMAGE(d_tls_version);
	TLS_DAMAGE(d_tls_no_condition);
	TLS_DAMAGE(d_tls_ja4_range);
	TLS_DAMAGE(d_tls_alpn_range);
	TLS_DAMAGE(d_tls_ja4_offset);
	TLS_DAMAGE(d_tls_ja4_shape);
	TLS_DAMAGE(d_tls_ja4_short);
	TLS_DAMAGE(d_tls_alpn_shape);
	TLS_DAMAGE(d_tls_alpn_empty);
	TLS_DAMAGE(d_tls_section_partial);
	TLS_DAMAGE(d_tls_dest_proto);
}

/* A captured ClientHello (tests/data/tls, hex with '#' comments). */
static size_t read_hello_hex(const char *path, uint8_t *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	size_t n = 0;
	CU_ASSERT_FATAL(f != NULL);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] == '#')
			continue;
		for (char *c = line; c[0] && c[1] && n < cap;) {
			unsigned v;
			if (sscanf(c, "%2x", &v) == 1 && c[0] != ' ' && c[0] != '\n') {
				out[n++] = (uint8_t)v;
				c += 2;
			} else {
				c++;
			}
		}
	}
	fclose(f);
	return n;
}

static void run_tls(const struct pc_policy *p, struct pc_engine_scratch *s, const void *arg)
{
	const struct pc_request *req = arg;
	struct pc_verdict v;
	pc_decide(p, s, req, &v);
	CU_ASSERT(v.action < PC_ACTION_COUNT && v.reason < PC_REASON_COUNT);
	CU_ASSERT(v.rule < (int32_t)pc_policy_rule_count(p));
	struct pc_addr a = req->dst;
	CU_ASSERT(pc_policy_inspect_kind(p, &a, 443) <= PC_INSPECT_HTTP_OR_TLS);
}

static void test_random_damage_tls(void)
{
	size_t len;
	uint8_t *orig = fresh_tls(&len);
	struct pc_tls_hello *h = malloc(sizeof(*h));
	static uint8_t stream[4096];
	CU_ASSERT_FATAL(h != NULL);
	size_t n = read_hello_hex("../data/tls/curl_tls13.hex", stream, sizeof(stream));
	CU_ASSERT_FATAL(pc_tls_hello_parse(stream, n, h) == PC_TLS_OK);
	struct pc_request req = { .l4_proto = 6, .dport = 443, .tls = h };
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.9", &req.src) == 0);
	CU_ASSERT_FATAL(pc_addr_parse("198.18.9.9", &req.dst) == 0);

	/* anywhere in the image */
	damage_rounds(orig, len, 600, 4242, 3, (uint32_t)len, run_tls, &req);
	free(h);
	free(orig);
}

/* ---- body conditions, DLP, deny responses, body window, path options ---- */

static const char ai_json[] =
	"{\"version\": 1, \"deny_response\": \"429\", \"body_window_bytes\": 4096,\n"
	" \"path_normalization\": {\"merge_slashes\": false, \"reject_encoded_slash\": false},\n"
	" \"dlp\": {\"action\": \"deny\", \"patterns\": [{\"name\": \"acme-token\",\n"
	"   \"regex\": \"acme_[A-Za-z0-9]{32}\"}]},\n"
	" \"identities\": [{\"name\": \"agent\", \"sources\": [\"198.18.1.0/24\"]}],\n"
	" \"destinations\": [{\"name\": \"llm\", \"hosts\": [\"llm.internal\"], \"external\": true},\n"
	"   {\"name\": \"mcp\", \"ports\": [8081]}],\n"
	" \"rules\": [{\"id\": \"models\", \"identities\": [\"agent\"], \"destinations\": [\"llm\"],\n"
	"   \"models\": [\"small-*\", \"gpt-4o-mini\"], \"action\": \"allow\", \"deny_response\": \"403\"},\n"
	"  {\"id\": \"tools\", \"destinations\": [\"mcp\"], \"mcp_tools\": [\"search_tickets\"],\n"
	"   \"action\": \"allow\"}]}\n";

static uint8_t *fresh_ai(size_t *len)
{
	return compile_text(ai_json, sizeof(ai_json) - 1, "ai.json", len);
}

#define AI_DAMAGE(fn) run_damage(fresh_ai, (fn), __LINE__)

static void test_ai_round_trip(void)
{
	size_t len;
	uint8_t *img = fresh_ai(&len);
	CU_ASSERT_EQUAL(H(img)->abi, PC_POLICY_IMAGE_ABI);
	CU_ASSERT_EQUAL(count(img, PC_IMG_SEC_MODELS), 2);
	CU_ASSERT_EQUAL(count(img, PC_IMG_SEC_MCP_TOOLS), 1);
	CU_ASSERT(H(img)->sections[PC_IMG_SEC_DLP].len > 0);
	CU_ASSERT_EQUAL(H(img)->flags & PC_IMG_POLICY_DLP_BLOCKS, PC_IMG_POLICY_DLP_BLOCKS);
	char err[512] = "";
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "from_image: %s\n", err);
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(pc_policy_body_window(p), 4096);
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, -1), PC_DENY_RESPONSE_HTTP_429);
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, 0), PC_DENY_RESPONSE_HTTP_403);
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, 1), PC_DENY_RESPONSE_HTTP_429);
	CU_ASSERT_PTR_NOT_NULL(pc_policy_dlp(p));
	CU_ASSERT(pc_policy_dlp_blocks(p));
	CU_ASSERT_FALSE(p->path_opts.merge_slashes);
	CU_ASSERT_FALSE(p->path_opts.reject_encoded_slash);
	CU_ASSERT(p->path_opts.reject_backslash);
	CU_ASSERT_EQUAL(p->rules[0].n_models, 2);
	CU_ASSERT(pc_str_eq(p->rules[0].models[1], "gpt-4o-mini", 11));
	CU_ASSERT_EQUAL(p->rules[1].n_tools, 1);
	CU_ASSERT(pc_str_eq(p->rules[1].tools[0], "search_tickets", 14));
	CU_ASSERT(p->destinations[0].external);
	CU_ASSERT_FALSE(p->destinations[1].external);
	pc_policy_free(p);

	/* The same policy without an external destination: no DLP section. */
	char *text = strdup(ai_json);
	CU_ASSERT_FATAL(text != NULL);
	char *ext = strstr(text, "\"external\": true");
	CU_ASSERT_FATAL(ext != NULL);
	memcpy(ext, "\"external\":false", 16);
	struct pc_policy_src *src = pc_policy_load_string(text, strlen(text), "ai.json", err,
							  sizeof(err));
	CU_ASSERT_FATAL(src != NULL);
	void *img2 = NULL;
	size_t len2 = 0;
	CU_ASSERT_FATAL(pc_policy_compile(src, &img2, &len2, err, sizeof(err)) == 0);
	CU_ASSERT_EQUAL(H(img2)->sections[PC_IMG_SEC_DLP].len, 0);
	CU_ASSERT_EQUAL(H(img2)->flags & PC_IMG_POLICY_DLP_BLOCKS, 0);
	p = pc_policy_from_image(img2, len2, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_PTR_NULL(pc_policy_dlp(p));
	CU_ASSERT_FALSE(pc_policy_dlp_blocks(p));
	pc_policy_free(p);
	free(img2);
	pc_policy_src_free(src);
	free(text);

	/* Defaults: no deny response, a 64 KiB window, both path switches on. */
	size_t len3;
	uint8_t *img3 = fresh(&len3);
	p = pc_policy_from_image(img3, len3, err, sizeof(err));
	CU_ASSERT_FATAL(p != NULL);
	CU_ASSERT_EQUAL(pc_policy_body_window(p), PC_BODY_WINDOW_DEFAULT);
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, -1), PC_DENY_RESPONSE_UNSET);
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, 0), PC_DENY_RESPONSE_UNSET);
	CU_ASSERT_PTR_NULL(pc_policy_dlp(p));
	CU_ASSERT(p->path_opts.merge_slashes && p->path_opts.reject_encoded_slash);
	pc_policy_free(p);
	free(img3);
	free(img);
}

static void d_ai_deny_response(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->deny_response = 9;
	snprintf(want, n, "policy image: deny response 9 out of range");
}

static void d_ai_path_flags(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->path_flags = 0x83;
	snprintf(want, n, "policy image: path flags 0x83 hold unknown bits");
}

static void d_ai_window_zero(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->body_window = 0;
	snprintf(want, n, "policy image: body window 0 bytes out of range (1..1048576)");
}

static void d_ai_window_big(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->body_window = (1u << 20) + 1;
	snprintf(want, n, "policy image: body window 1048577 bytes out of range (1..1048576)");
}

static void d_ai_dest_flags(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	((struct pc_img_destination *)sec(img, PC_IMG_SEC_DESTINATIONS))[1].flags = 0x4;
	snprintf(want, n, "policy image: destination 1 flags 0x04 hold unknown bits");
}

static void d_ai_rule_deny_response(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 1)->deny_response = 4;
	snprintf(want, n, "policy image: rule 1 deny response 4 out of range");
}

static void d_ai_models_range(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 0)->n_models = 3;
	snprintf(want, n, "policy image: rule 0 models [0, +3) outside the model globs (2 entries)");
}

static void d_ai_tools_range(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 1)->tools_start = 0xffffffffu;
	snprintf(want, n, "policy image: rule 1 mcp tools [4294967295, +1) outside the mcp tool "
		 "globs (1 entries)");
}

static void d_ai_both(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 1)->models_start = 0;
	rule(img, 1)->n_models = 1;
	snprintf(want, n, "policy image: rule 1 has both models and mcp tools");
}

static void d_ai_tls_and_body(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	rule(img, 1)->has_tls = 1;
	rule(img, 1)->tls_min_version = 0x0304;
	snprintf(want, n, "policy image: rule 1 has both TLS and body conditions");
}

static void d_ai_model_offset(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	uint32_t tab = H(img)->sections[PC_IMG_SEC_STRINGS].len;
	((uint32_t *)sec(img, PC_IMG_SEC_MODELS))[1] = tab + 7;
	snprintf(want, n, "policy image: model globs entry 1 offset %u outside the string table "
		 "(%u bytes)", tab + 7, tab);
}

static void d_ai_tool_empty(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	((uint32_t *)sec(img, PC_IMG_SEC_MCP_TOOLS))[0] = 0;
	snprintf(want, n, "policy image: mcp tool globs entry 0 is empty");
}

static void d_ai_dlp_without_external(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	((struct pc_img_destination *)sec(img, PC_IMG_SEC_DESTINATIONS))[0].flags = 0;
	snprintf(want, n, "policy image: a %u-byte DLP database but no external destination",
		 H(img)->sections[PC_IMG_SEC_DLP].len);
}

static void d_ai_blocks_without_dlp(uint8_t *img, size_t len, char *want, size_t n)
{
	(void)len;
	H(img)->sections[PC_IMG_SEC_DLP].len = 0;
	snprintf(want, n, "policy image: DLP action deny without a DLP database");
}

static void d_ai_dlp_outside(uint8_t *img, size_t len, char *want, size_t n)
{
	uint32_t dl = H(img)->sections[PC_IMG_SEC_DLP].len;
	H(img)->sections[PC_IMG_SEC_DLP].len = dl + 8;
	snprintf(want, n, "policy image: dlp database section [%u, +%u) outside the image (%zu bytes)",
		 H(img)->sections[PC_IMG_SEC_DLP].off, dl + 8, len);
}

/* lib/dlp's own message follows the prefix; only the prefix is ours. */
static void expect_dlp_reject(uint8_t *img, size_t len, int line)
{
	char err[512] = "";
	reseal(img, len);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	bool ok = p == NULL &&
		  strncmp(err, "policy image: DLP database rejected: ", 37) == 0 && err[37] != '\0';
	if (!ok)
		fprintf(stderr, "\nline %d: %s: \"%s\"\n", line, p ? "accepted" : "rejected", err);
	CU_ASSERT(ok);
	pc_policy_free(p);
}

static void test_ai_sections(void)
{
	AI_DAMAGE(d_ai_deny_response);
	AI_DAMAGE(d_ai_path_flags);
	AI_DAMAGE(d_ai_window_zero);
	AI_DAMAGE(d_ai_window_big);
	AI_DAMAGE(d_ai_dest_flags);
	AI_DAMAGE(d_ai_rule_deny_response);
	AI_DAMAGE(d_ai_models_range);
	AI_DAMAGE(d_ai_tools_range);
	AI_DAMAGE(d_ai_both);
	AI_DAMAGE(d_ai_tls_and_body);
	AI_DAMAGE(d_ai_model_offset);
	AI_DAMAGE(d_ai_tool_empty);
	AI_DAMAGE(d_ai_dlp_without_external);
	AI_DAMAGE(d_ai_blocks_without_dlp);
	AI_DAMAGE(d_ai_dlp_outside);

	/* The DLP blob itself: truncated (the section shrunk by 8 bytes, the
	 * image keeps its length), its first bytes, and bytes in its middle. */
	size_t len;
	uint8_t *orig = fresh_ai(&len);
	uint8_t *img = malloc(len);
	CU_ASSERT_FATAL(img != NULL);
	uint32_t off = H(orig)->sections[PC_IMG_SEC_DLP].off;
	uint32_t dl = H(orig)->sections[PC_IMG_SEC_DLP].len;
	CU_ASSERT_FATAL(dl > 64);
	memcpy(img, orig, len);
	H(img)->sections[PC_IMG_SEC_DLP].len = dl - 8;
	expect_dlp_reject(img, len, __LINE__);
	const uint32_t spots[] = { 0, 4, 8, dl / 2, dl - 1 };
	for (unsigned i = 0; i < PC_ARRAY_SIZE(spots); i++) {
		memcpy(img, orig, len);
		img[off + spots[i]] ^= 0x5a;
		expect_dlp_reject(img, len, __LINE__);
	}
	free(img);
	free(orig);
}

/* Random damage over the AI image: refused with a message, or run. */
static void run_ai(const struct pc_policy *p, struct pc_engine_scratch *s, const void *arg)
{
	struct pc_verdict v;
	pc_decide(p, s, arg, &v);
	CU_ASSERT(v.action < PC_ACTION_COUNT && v.reason < PC_REASON_COUNT);
	CU_ASSERT(v.rule < (int32_t)pc_policy_rule_count(p));
	CU_ASSERT(pc_policy_deny_response(p, v.rule) <= PC_DENY_RESPONSE_MAX);
	CU_ASSERT(pc_policy_body_window(p) >= 1);
}

static void test_random_damage_ai(void)
{
	size_t len;
	uint8_t *orig = fresh_ai(&len);
	static const char head[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: llm.internal\r\n"
				   "Content-Length: 27\r\n\r\n";
	static const char body[] = "{\"model\": \"small-1\", \"n\": 1}";
	struct pc_http_req http;
	CU_ASSERT_FATAL(pc_http_parse_head(head, sizeof(head) - 1, &http) == PC_HTTP_OK);
	struct pc_request req = { .l4_proto = 6, .dport = 80, .http = &http,
				  .body = (const uint8_t *)body, .body_len = sizeof(body) - 1,
				  .body_state = PC_BODY_WHOLE };
	CU_ASSERT_FATAL(pc_addr_parse("198.18.1.10", &req.src) == 0);
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.2", &req.dst) == 0);
	/* mostly the tables; now and then the DLP blob */
	damage_rounds(orig, len, 1500, 777, 3, H(orig)->sections[PC_IMG_SEC_DLP].off, run_ai,
		      &req);
	free(orig);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_accepts_sample),
	PC_TEST(test_checksum),
	PC_TEST(test_checked_image),
	PC_TEST(test_length_magic_abi),
	PC_TEST(test_header_and_sections),
	PC_TEST(test_shadow_flags),
	PC_TEST(test_records),
	PC_TEST(test_random_damage),
	PC_TEST(test_jwt_sections),
	PC_TEST(test_random_damage_jwt),
	PC_TEST(test_tls_sections),
	PC_TEST(test_random_damage_tls),
	PC_TEST(test_ai_round_trip),
	PC_TEST(test_ai_sections),
	PC_TEST(test_random_damage_ai),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("policy_image", tests)
