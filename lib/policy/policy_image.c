/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Policy image loader: bytes in, immutable runtime policy out.
 *
 * The image is hostile until proven otherwise: it will arrive through shared
 * memory written by another process, so it is first copied into memory the
 * writer cannot touch (no check-then-use race), then checked in layers, each
 * relying only on the ones before it: the fixed header (magic, ABI, length,
 * crc), the section table (inside the image, aligned, whole elements), the
 * counts, and finally every record: each string offset inside the string
 * table (which ends in NUL, so every string is terminated), each index below
 * its count, each range inside its section. Only then is the Hyperscan
 * database deserialized and the runtime indexes built (struct pc_policy in
 * policy_image.h): per-identity rule lists, the distinct API-key header
 * names, the source-only prefixes longest first, and each JWT issuer with its
 * key set, parsed from the image's JSON text by pc_jwks_load() exactly as
 * the policy loader did (so bad key material is refused here too, whoever
 * wrote the image). Each failure names what was wrong and where, for the
 * operator reading the dataplane's acknowledgement.
 */
#include <errno.h>
#include <hs/hs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlp/dlp.h"
#include "jwt/jwks.h"
#include "policy/json_locate.h"
#include "policy/policy_image.h"
#include "util/addr.h"
#include "util/crc32c.h"

static const char *const section_names[] = {
#define PC_X(name, text, size) text,
	PC_IMG_SECTIONS(PC_X)
#undef PC_X
};

static const size_t section_sizes[] = {
#define PC_X(name, text, size) size,
	PC_IMG_SECTIONS(PC_X)
#undef PC_X
};

const char *pc__img_section_name(unsigned sec)
{
	return sec < PC_IMG_SEC_COUNT ? section_names[sec] : "?";
}

size_t pc__img_section_elem_size(unsigned sec)
{
	return sec < PC_IMG_SEC_COUNT ? section_sizes[sec] : 1;
}

static bool is_lower_hex(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
}

static bool is_alnum(char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

bool pc__policy_ja4_valid(const char *s, size_t len)
{
	if (len != PC_POLICY_JA4_LEN || s[10] != '_' || s[23] != '_')
		return false;
	if (s[0] != 't' && s[0] != 'q' && s[0] != 'd')
		return false;
	for (unsigned i = 1; i < 3; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'z')))
			return false;
	if (s[3] != 'd' && s[3] != 'i')
		return false;
	for (unsigned i = 4; i < 8; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	if (!is_alnum(s[8]) || !is_alnum(s[9]))
		return false;
	for (unsigned i = 11; i < PC_POLICY_JA4_LEN; i++)
		if (i != 23 && !is_lower_hex(s[i]))
			return false;
	return true;
}

bool pc__policy_alpn_valid(const char *s, size_t len)
{
	if (len == 0 || len > PC_POLICY_MAX_ALPN_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return false;
	return true;
}

uint32_t pc__img_crc(const void *image, size_t len)
{
	return pc_crc32c((const uint8_t *)image + PC_POLICY_IMAGE_CRC_START,
			 len - PC_POLICY_IMAGE_CRC_START);
}

/* State of one validation: the private copy and what is known so far. */
struct pc_img_chk {
	const uint8_t *img;
	size_t len;
	const struct pc_img_header *h;
	uint32_t count[PC_IMG_SEC_COUNT]; /* elements per section */
	const char *strtab;
	uint32_t strtab_len;
	char *err;
	size_t err_len;
	bool crc_known; /* the caller checked a CRC-32C of these very bytes */
};

static int img_error(struct pc_img_chk *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int img_error(struct pc_img_chk *c, const char *fmt, ...)
{
	if (c->err != NULL && c->err_len > 0) {
		int n = snprintf(c->err, c->err_len, "policy image: ");
		if (n < 0 || (size_t)n >= c->err_len)
			n = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static const void *sec_base(const struct pc_img_chk *c, unsigned sec)
{
	return c->img + c->h->sections[sec].off;
}

/* start..start+n inside a section of count elements, without overflow. */
static bool range_ok(uint32_t start, uint32_t n, uint32_t count)
{
	return start <= count && n <= count - start;
}

static bool str_ok(const struct pc_img_chk *c, uint32_t off)
{
	return off < c->strtab_len;
}

static const char *str_at(const struct pc_img_chk *c, uint32_t off)
{
	return c->strtab + off;
}

#define CHECK_STR(c, off, fmt, ...)                                                          \
	do {                                                                                 \
		if (unlikely(!str_ok((c), (off))))                                           \
			return img_error((c), fmt " offset %u outside the string table (%u bytes)", \
					 __VA_ARGS__, (off), (c)->strtab_len);               \
	} while (0)

#define CHECK_RANGE(c, start, n, sec, fmt, ...)                                              \
	do {                                                                                 \
		if (unlikely(!range_ok((start), (n), (c)->count[sec])))                     \
			return img_error((c), fmt " [%u, +%u) outside the %s (%u entries)",  \
					 __VA_ARGS__, (start), (n), section_names[sec],      \
					 (c)->count[sec]);                                   \
	} while (0)

static int check_header(struct pc_img_chk *c)
{
	const struct pc_img_header *h = c->h;

	if (unlikely(c->len < sizeof(*h)))
		return img_error(c, "truncated (%zu bytes; the header alone is %zu)", c->len,
				 sizeof(*h));
	if (unlikely(h->magic != PC_POLICY_IMAGE_MAGIC))
		return img_error(c, "bad magic 0x%08x (expected 0x%08x)", h->magic,
				 PC_POLICY_IMAGE_MAGIC);
	if (unlikely(h->abi != PC_POLICY_IMAGE_ABI))
		return img_error(c, "ABI version %u, this build reads version %u", h->abi,
				 PC_POLICY_IMAGE_ABI);
	if (unlikely(h->header_len != sizeof(*h)))
		return img_error(c, "header length %u, expected %zu", h->header_len, sizeof(*h));
	if (unlikely(c->len < h->total_len))
		return img_error(c, "truncated (%zu of %u bytes)", c->len, h->total_len);
	if (unlikely(c->len != h->total_len))
		return img_error(c, "length mismatch (%zu bytes, header says %u)", c->len,
				 h->total_len);
	uint32_t crc = c->crc_known ? h->crc32 : pc__img_crc(c->img, c->len);
	if (unlikely(crc != h->crc32))
		return img_error(c, "checksum mismatch (stored 0x%08x, computed 0x%08x)", h->crc32,
				 crc);
	if (unlikely(h->n_sections != PC_IMG_SEC_COUNT))
		return img_error(c, "%u sections, expected %u", h->n_sections, PC_IMG_SEC_COUNT);
	if (unlikely(h->default_action >= PC_ACTION_COUNT))
		return img_error(c, "default action %u out of range", h->default_action);
	if (unlikely(h->flags & ~PC_IMG_POLICY_FLAGS))
		return img_error(c, "policy flags 0x%02x hold unknown bits", h->flags);
	if (unlikely(h->deny_response > PC_DENY_RESPONSE_MAX))
		return img_error(c, "deny response %u out of range", h->deny_response);
	if (unlikely(h->path_flags & ~PC_IMG_PATH_FLAGS))
		return img_error(c, "path flags 0x%02x hold unknown bits", h->path_flags);
	if (unlikely(h->body_window == 0 || h->body_window > PC_POLICY_MAX_BODY_WINDOW))
		return img_error(c, "body window %u bytes out of range (1..%u)", h->body_window,
				 PC_POLICY_MAX_BODY_WINDOW);

	for (unsigned s = 0; s < PC_IMG_SEC_COUNT; s++) {
		const struct pc_img_section *sec = &h->sections[s];
		if (unlikely(sec->off < sizeof(*h) || (uint64_t)sec->off + sec->len > c->len))
			return img_error(c, "%s section [%u, +%u) outside the image (%zu bytes)",
					 section_names[s], sec->off, sec->len, c->len);
		if (unlikely(sec->off % PC_POLICY_IMAGE_ALIGN != 0))
			return img_error(c, "%s section at offset %u is not %u-byte aligned",
					 section_names[s], sec->off, PC_POLICY_IMAGE_ALIGN);
		if (unlikely(sec->len % section_sizes[s] != 0))
			return img_error(c, "%s section length %u is not a multiple of %zu",
					 section_names[s], sec->len, section_sizes[s]);
		c->count[s] = (uint32_t)(sec->len / section_sizes[s]);
		if (unlikely(section_sizes[s] > 1 && c->count[s] > PC_POLICY_IMAGE_MAX_ARRAY))
			return img_error(c, "%s section holds %u entries (at most %u)",
					 section_names[s], c->count[s], PC_POLICY_IMAGE_MAX_ARRAY);
	}

	static const struct {
		unsigned sec;
		const char *what;
		uint32_t max;
	} counts[] = {
		{ PC_IMG_SEC_IDENTITIES, "identities", PC_POLICY_MAX_ITEMS },
		{ PC_IMG_SEC_DESTINATIONS, "destinations", PC_POLICY_MAX_ITEMS },
		{ PC_IMG_SEC_RULES, "rules", PC_POLICY_MAX_ITEMS },
		{ PC_IMG_SEC_KEYS, "api keys", PC_POLICY_IMAGE_MAX_ARRAY },
		{ PC_IMG_SEC_PATHS, "path patterns", PC_POLICY_IMAGE_MAX_ARRAY },
		{ PC_IMG_SEC_ISSUERS, "jwt issuers", PC_POLICY_MAX_ISSUERS },
	};
	const uint32_t stated[] = { h->n_identities, h->n_destinations, h->n_rules, h->n_api_keys,
				    h->n_paths, h->n_issuers };
	for (unsigned i = 0; i < PC_ARRAY_SIZE(counts); i++) {
		if (unlikely(stated[i] > counts[i].max))
			return img_error(c, "%u %s (at most %u)", stated[i], counts[i].what,
					 counts[i].max);
		if (unlikely(stated[i] != c->count[counts[i].sec]))
			return img_error(c, "header says %u %s, the section holds %u", stated[i],
					 counts[i].what, c->count[counts[i].sec]);
	}

	/* A final NUL makes every in-range offset a terminated string. */
	c->strtab = sec_base(c, PC_IMG_SEC_STRINGS);
	c->strtab_len = h->sections[PC_IMG_SEC_STRINGS].len;
	if (unlikely(c->strtab_len == 0 || c->strtab[c->strtab_len - 1] != '\0'))
		return img_error(c, "string table is empty or not NUL-terminated");
	return 0;
}

static int check_prefixes(struct pc_img_chk *c, unsigned sec)
{
	const struct pc_img_prefix *pf = sec_base(c, sec);
	for (uint32_t i = 0; i < c->count[sec]; i++, pf++) {
		bool ok;
		if (pf->family == 4) {
			ok = pf->len <= 32 &&
			     (pf->len == 32 || (pf->v4 & (0xffffffffu >> pf->len)) == 0);
		} else if (pf->family == 6) {
			ok = pf->len <= 128;
			for (unsigned b = 0; ok && b < 16; b++) {
				unsigned keep = pf->len > b * 8 ? pf->len - b * 8 : 0;
				if (keep < 8 && (pf->v6[b] & (0xffu >> keep)) != 0)
					ok = false;
			}
		} else {
			ok = false;
		}
		if (unlikely(!ok))
			return img_error(c, "%s entry %u is not a valid prefix (family %u, length %u)",
					 section_names[sec], i, pf->family, pf->len);
	}
	return 0;
}

static int check_identities(struct pc_img_chk *c)
{
	const struct pc_img_identity *id = sec_base(c, PC_IMG_SEC_IDENTITIES);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_IDENTITIES]; i++, id++) {
		CHECK_STR(c, id->name, "identity %u name", i);
		if (unlikely(str_at(c, id->name)[0] == '\0'))
			return img_error(c, "identity %u has an empty name", i);
		if (id->n_api_keys > 0) {
			CHECK_STR(c, id->key_header, "identity %u key header", i);
			if (unlikely(str_at(c, id->key_header)[0] == '\0'))
				return img_error(c, "identity %u has an empty key header", i);
		} else if (unlikely(id->key_header != PC_IMG_NO_STRING)) {
			return img_error(c, "identity %u has a key header but no keys", i);
		}
		CHECK_RANGE(c, id->sources_start, id->n_sources, PC_IMG_SEC_SOURCES,
			    "identity %u sources", i);
		if (id->jwt_issuer == PC_IMG_NO_JWT) {
			if (unlikely(id->jwt_claim != PC_IMG_NO_STRING ||
				     id->jwt_value != PC_IMG_NO_STRING))
				return img_error(c, "identity %u has a JWT claim or value but no issuer", i);
			continue;
		}
		if (unlikely(id->jwt_issuer >= c->count[PC_IMG_SEC_ISSUERS]))
			return img_error(c, "identity %u jwt issuer index %u out of range (%u issuers)",
					 i, id->jwt_issuer, c->count[PC_IMG_SEC_ISSUERS]);
		CHECK_STR(c, id->jwt_value, "identity %u jwt value", i);
		if (unlikely(str_at(c, id->jwt_value)[0] == '\0'))
			return img_error(c, "identity %u has an empty jwt value", i);
		if (id->jwt_claim != PC_IMG_NO_STRING) {
			CHECK_STR(c, id->jwt_claim, "identity %u jwt claim", i);
			if (unlikely(str_at(c, id->jwt_claim)[0] == '\0'))
				return img_error(c, "identity %u has an empty jwt claim name", i);
		}
	}
	return 0;
}

static int check_issuers(struct pc_img_chk *c)
{
	const struct pc_img_issuer *is = sec_base(c, PC_IMG_SEC_ISSUERS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_ISSUERS]; i++, is++) {
		CHECK_STR(c, is->issuer, "jwt issuer %u name", i);
		CHECK_STR(c, is->jwks, "jwt issuer %u key set", i);
		CHECK_STR(c, is->token_header, "jwt issuer %u token header", i);
		if (unlikely(str_at(c, is->issuer)[0] == '\0' || str_at(c, is->jwks)[0] == '\0' ||
			     str_at(c, is->token_header)[0] == '\0'))
			return img_error(c, "jwt issuer %u has an empty name, key set or header", i);
		CHECK_RANGE(c, is->auds_start, is->n_auds, PC_IMG_SEC_AUDIENCES,
			    "jwt issuer %u audiences", i);
		if (unlikely(is->algs == 0 || (is->algs >> PC_JWT_ALG_COUNT) != 0))
			return img_error(c, "jwt issuer %u algorithm set 0x%x is empty or unknown", i,
					 is->algs);
		if (unlikely(is->require_exp > 1))
			return img_error(c, "jwt issuer %u require_exp %u is not 0 or 1", i,
					 is->require_exp);
		for (uint32_t j = 0; j < i; j++)
			if (unlikely(strcmp(str_at(c, is->issuer),
					    str_at(c, ((const struct pc_img_issuer *)sec_base(
							  c, PC_IMG_SEC_ISSUERS))[j].issuer)) == 0))
				return img_error(c, "jwt issuer %u repeats issuer %u", i, j);
	}
	const uint32_t *auds = sec_base(c, PC_IMG_SEC_AUDIENCES);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_AUDIENCES]; i++)
		CHECK_STR(c, auds[i], "jwt audience %u", i);
	return 0;
}

/* Keys must be strictly sorted (binary search relies on it) and each
 * identity's stated key count must be what the table holds. */
static int check_keys(struct pc_img_chk *c)
{
	const struct pc_img_key *k = sec_base(c, PC_IMG_SEC_KEYS);
	const struct pc_img_identity *ids = sec_base(c, PC_IMG_SEC_IDENTITIES);
	uint32_t n_ids = c->count[PC_IMG_SEC_IDENTITIES];
	uint32_t *seen = calloc(n_ids + 1, sizeof(*seen));
	if (seen == NULL)
		return -ENOMEM;
	int rc = 0;
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_KEYS]; i++) {
		if (unlikely(k[i].identity >= n_ids)) {
			rc = img_error(c, "api key %u identity index %u out of range (%u identities)",
				       i, k[i].identity, n_ids);
			goto out;
		}
		if (unlikely(i > 0 && memcmp(k[i - 1].digest, k[i].digest, PC_API_KEY_DIGEST_LEN) >= 0)) {
			rc = img_error(c, "api key digests not strictly sorted at entry %u", i);
			goto out;
		}
		seen[k[i].identity]++;
	}
	for (uint32_t i = 0; i < n_ids; i++) {
		if (unlikely(seen[i] != ids[i].n_api_keys)) {
			rc = img_error(c, "identity %u states %u api keys, the key table holds %u", i,
				       ids[i].n_api_keys, seen[i]);
			goto out;
		}
	}
out:
	free(seen);
	return rc;
}

static int check_destinations(struct pc_img_chk *c)
{
	const struct pc_img_destination *d = sec_base(c, PC_IMG_SEC_DESTINATIONS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_DESTINATIONS]; i++, d++) {
		CHECK_STR(c, d->name, "destination %u name", i);
		if (unlikely(d->proto > PC_DEST_PROTO_MAX))
			return img_error(c, "destination %u protocol %u out of range", i, d->proto);
		if (unlikely(d->flags & ~PC_IMG_DEST_FLAGS))
			return img_error(c, "destination %u flags 0x%02x hold unknown bits", i,
					 d->flags);
		CHECK_RANGE(c, d->hosts_start, d->n_hosts, PC_IMG_SEC_HOSTS, "destination %u hosts", i);
		CHECK_RANGE(c, d->addrs_start, d->n_addrs, PC_IMG_SEC_DEST_PREFIXES,
			    "destination %u addresses", i);
		CHECK_RANGE(c, d->ports_start, d->n_ports, PC_IMG_SEC_PORTS, "destination %u ports", i);
	}
	/* The engine compares Host case-insensitively against lowercase
	 * patterns and treats only a leading "*." as a wildcard. */
	const uint32_t *host = sec_base(c, PC_IMG_SEC_HOSTS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_HOSTS]; i++) {
		CHECK_STR(c, host[i], "host pattern %u", i);
		const char *s = str_at(c, host[i]);
		if (s[0] == '*' && s[1] == '.')
			s += 2;
		bool ok = s[0] != '\0';
		for (; *s; s++)
			if (*s == '*' || (*s >= 'A' && *s <= 'Z'))
				ok = false;
		if (unlikely(!ok))
			return img_error(c, "host pattern %u \"%s\" is not a lowercase host or *.domain",
					 i, str_at(c, host[i]));
	}
	return 0;
}

static int check_rules(struct pc_img_chk *c)
{
	const struct pc_img_rule *r = sec_base(c, PC_IMG_SEC_RULES);
	const uint32_t *refs = sec_base(c, PC_IMG_SEC_RULE_REFS);
	uint32_t n_ids = c->count[PC_IMG_SEC_IDENTITIES];
	uint32_t n_dests = c->count[PC_IMG_SEC_DESTINATIONS];
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_RULES]; i++, r++) {
		CHECK_STR(c, r->id, "rule %u id", i);
		if (unlikely(r->action >= PC_ACTION_COUNT))
			return img_error(c, "rule %u action %u out of range", i, r->action);
		if (unlikely(r->flags & ~PC_IMG_RULE_FLAGS))
			return img_error(c, "rule %u flags 0x%02x hold unknown bits", i, r->flags);
		CHECK_RANGE(c, r->ids_start, r->n_ids, PC_IMG_SEC_RULE_REFS, "rule %u identities", i);
		CHECK_RANGE(c, r->dests_start, r->n_dests, PC_IMG_SEC_RULE_REFS,
			    "rule %u destinations", i);
		CHECK_RANGE(c, r->hdrs_start, r->n_hdrs, PC_IMG_SEC_HDR_CONDS, "rule %u headers", i);
		CHECK_RANGE(c, r->paths_start, r->n_paths, PC_IMG_SEC_PATHS, "rule %u paths", i);
		CHECK_RANGE(c, r->claims_start, r->n_claims, PC_IMG_SEC_CLAIM_CONDS,
			    "rule %u claims", i);
		if (unlikely(r->deny_response > PC_DENY_RESPONSE_MAX))
			return img_error(c, "rule %u deny response %u out of range", i,
					 r->deny_response);
		CHECK_RANGE(c, r->models_start, r->n_models, PC_IMG_SEC_MODELS, "rule %u models", i);
		CHECK_RANGE(c, r->tools_start, r->n_tools, PC_IMG_SEC_MCP_TOOLS,
			    "rule %u mcp tools", i);
		if (unlikely(r->n_models != 0 && r->n_tools != 0))
			return img_error(c, "rule %u has both models and mcp tools", i);
		if (unlikely(r->has_tls && (r->n_models != 0 || r->n_tools != 0)))
			return img_error(c, "rule %u has both TLS and body conditions", i);
		if (r->has_tls == 0) {
			if (unlikely(r->tls_min_version != 0 || r->n_ja4 != 0 || r->n_alpn != 0))
				return img_error(c, "rule %u has TLS conditions but no TLS flag", i);
		} else {
			if (unlikely(r->has_tls != 1))
				return img_error(c, "rule %u TLS flag %u is not 0 or 1", i, r->has_tls);
			if (unlikely(r->tls_min_version != 0 && r->tls_min_version != 0x0303 &&
				     r->tls_min_version != 0x0304))
				return img_error(c, "rule %u TLS minimum version 0x%04x is not 1.2 or 1.3",
						 i, r->tls_min_version);
			if (unlikely(r->tls_min_version == 0 && r->n_ja4 == 0 && r->n_alpn == 0))
				return img_error(c, "rule %u has a TLS flag but no TLS condition", i);
			if (unlikely(r->methods != 0 || r->n_hdrs != 0 || r->n_paths != 0 ||
				     r->n_claims != 0))
				return img_error(c, "rule %u has both TLS and HTTP conditions", i);
			CHECK_RANGE(c, r->ja4_start, r->n_ja4, PC_IMG_SEC_TLS_JA4,
				    "rule %u ja4 fingerprints", i);
			CHECK_RANGE(c, r->alpn_start, r->n_alpn, PC_IMG_SEC_TLS_ALPN,
				    "rule %u alpn names", i);
		}
		for (uint32_t j = 0; j < r->n_ids; j++)
			if (unlikely(refs[r->ids_start + j] >= n_ids))
				return img_error(c, "rule %u identity index %u out of range (%u identities)",
						 i, refs[r->ids_start + j], n_ids);
		for (uint32_t j = 0; j < r->n_dests; j++)
			if (unlikely(refs[r->dests_start + j] >= n_dests))
				return img_error(c, "rule %u destination index %u out of range (%u destinations)",
						 i, refs[r->dests_start + j], n_dests);
	}

	const struct pc_img_hdr_cond *hc = sec_base(c, PC_IMG_SEC_HDR_CONDS);
	const uint32_t *values = sec_base(c, PC_IMG_SEC_HDR_VALUES);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_HDR_CONDS]; i++, hc++) {
		CHECK_STR(c, hc->name, "header condition %u name", i);
		if (unlikely(str_at(c, hc->name)[0] == '\0'))
			return img_error(c, "header condition %u has an empty name", i);
		CHECK_RANGE(c, hc->values_start, hc->n_values, PC_IMG_SEC_HDR_VALUES,
			    "header condition %u values", i);
	}
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_HDR_VALUES]; i++)
		CHECK_STR(c, values[i], "header value %u", i);

	const struct pc_img_claim_cond *cc = sec_base(c, PC_IMG_SEC_CLAIM_CONDS);
	const uint32_t *cvals = sec_base(c, PC_IMG_SEC_CLAIM_VALUES);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_CLAIM_CONDS]; i++, cc++) {
		CHECK_STR(c, cc->name, "claim condition %u name", i);
		if (unlikely(str_at(c, cc->name)[0] == '\0'))
			return img_error(c, "claim condition %u has an empty name", i);
		CHECK_RANGE(c, cc->values_start, cc->n_values, PC_IMG_SEC_CLAIM_VALUES,
			    "claim condition %u values", i);
	}
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_CLAIM_VALUES]; i++)
		CHECK_STR(c, cvals[i], "claim value %u", i);

	/* The engine compares these byte for byte against what the client
	 * sent, so a malformed entry would silently never match: refused. */
	const uint32_t *ja4 = sec_base(c, PC_IMG_SEC_TLS_JA4);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_TLS_JA4]; i++) {
		CHECK_STR(c, ja4[i], "tls ja4 fingerprint %u", i);
		const char *f = str_at(c, ja4[i]);
		if (unlikely(!pc__policy_ja4_valid(f, strnlen(f, PC_POLICY_JA4_LEN + 1))))
			return img_error(c, "tls ja4 fingerprint %u is not a JA4 fingerprint", i);
	}
	const uint32_t *alpn = sec_base(c, PC_IMG_SEC_TLS_ALPN);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_TLS_ALPN]; i++) {
		CHECK_STR(c, alpn[i], "tls alpn name %u", i);
		const char *a = str_at(c, alpn[i]);
		if (unlikely(!pc__policy_alpn_valid(a, strnlen(a, PC_POLICY_MAX_ALPN_LEN + 1))))
			return img_error(c, "tls alpn name %u is not 1..255 printable bytes", i);
	}

	/* Globs: the engine matches them against the body's unescaped value,
	 * so an empty one could only match an empty name. */
	static const unsigned glob_secs[] = { PC_IMG_SEC_MODELS, PC_IMG_SEC_MCP_TOOLS };
	for (unsigned g = 0; g < PC_ARRAY_SIZE(glob_secs); g++) {
		const uint32_t *globs = sec_base(c, glob_secs[g]);
		for (uint32_t i = 0; i < c->count[glob_secs[g]]; i++) {
			CHECK_STR(c, globs[i], "%s entry %u", section_names[glob_secs[g]], i);
			if (unlikely(str_at(c, globs[i])[0] == '\0'))
				return img_error(c, "%s entry %u is empty", section_names[glob_secs[g]],
						 i);
		}
	}

	/* Pattern id k reports rule paths[k].rule: that rule must own k. */
	const struct pc_img_path *p = sec_base(c, PC_IMG_SEC_PATHS);
	const struct pc_img_rule *rules = sec_base(c, PC_IMG_SEC_RULES);
	for (uint32_t k = 0; k < c->count[PC_IMG_SEC_PATHS]; k++, p++) {
		CHECK_STR(c, p->pattern, "path pattern %u", k);
		if (unlikely(p->rule >= c->count[PC_IMG_SEC_RULES]))
			return img_error(c, "path pattern %u rule index %u out of range (%u rules)", k,
					 p->rule, c->count[PC_IMG_SEC_RULES]);
		const struct pc_img_rule *owner = &rules[p->rule];
		if (unlikely(k < owner->paths_start || k - owner->paths_start >= owner->n_paths))
			return img_error(c, "path pattern %u names rule %u, which does not list it",
					 k, p->rule);
	}
	return 0;
}

static int prefix_len_cmp(const void *a, const void *b)
{
	const struct pc_rt_source *x = a, *y = b;
	if (x->prefix.len != y->prefix.len)
		return x->prefix.len > y->prefix.len ? -1 : 1;
	/* Equal lengths keep policy order: identity, then position. */
	if (x->identity != y->identity)
		return x->identity < y->identity ? -1 : 1;
	return 0;
}

static void to_prefix(const struct pc_img_prefix *ip, struct pc_prefix *pf)
{
	memset(pf, 0, sizeof(*pf));
	pf->addr.family = ip->family;
	pf->len = ip->len;
	if (ip->family == 4)
		pf->addr.v4 = ip->v4;
	else
		memcpy(pf->addr.v6, ip->v6, 16);
}

/* Builds the runtime form from a fully checked image. Returns 0 or -ENOMEM. */
static int build_runtime(struct pc_policy *p, struct pc_img_chk *c)
{
	const struct pc_img_header *h = c->h;
	uint32_t n_src = c->count[PC_IMG_SEC_SOURCES];
	uint32_t n_dpf = c->count[PC_IMG_SEC_DEST_PREFIXES];

	p->version = h->policy_version;
	p->default_action = h->default_action;
	p->shadow = (h->flags & PC_IMG_POLICY_SHADOW) != 0;
	p->dlp_blocks = (h->flags & PC_IMG_POLICY_DLP_BLOCKS) != 0;
	p->deny_response = h->deny_response;
	p->body_window = h->body_window;
	p->path_opts = (struct pc_path_norm_opts)PC_PATH_NORM_OPTS_DEFAULT;
	p->path_opts.merge_slashes = !(h->path_flags & PC_IMG_PATH_KEEP_SLASHES);
	p->path_opts.reject_encoded_slash = !(h->path_flags & PC_IMG_PATH_KEEP_ENCODED_SLASH);
	p->n_identities = h->n_identities;
	p->n_destinations = h->n_destinations;
	p->n_rules = h->n_rules;
	p->n_keys = h->n_api_keys;
	p->n_paths = h->n_paths;
	p->keys = sec_base(c, PC_IMG_SEC_KEYS);
	p->paths = sec_base(c, PC_IMG_SEC_PATHS);

	p->prefixes = calloc((size_t)n_src + n_dpf + 1, sizeof(*p->prefixes));
	p->identities = calloc((size_t)p->n_identities + 1, sizeof(*p->identities));
	p->destinations = calloc((size_t)p->n_destinations + 1, sizeof(*p->destinations));
	p->rules = calloc((size_t)p->n_rules + 1, sizeof(*p->rules));
	p->key_headers = calloc((size_t)p->n_identities + 1, sizeof(*p->key_headers));
	p->source_only = calloc((size_t)n_src + 1, sizeof(*p->source_only));
	p->hosts = calloc((size_t)c->count[PC_IMG_SEC_HOSTS] + 1, sizeof(*p->hosts));
	p->hdr_conds = calloc((size_t)c->count[PC_IMG_SEC_HDR_CONDS] + 1, sizeof(*p->hdr_conds));
	p->hdr_values = calloc((size_t)c->count[PC_IMG_SEC_HDR_VALUES] + 1, sizeof(*p->hdr_values));
	p->inspect_dests = calloc((size_t)p->n_destinations + 1, sizeof(*p->inspect_dests));
	p->tls_ja4 = calloc((size_t)c->count[PC_IMG_SEC_TLS_JA4] + 1, sizeof(*p->tls_ja4));
	p->tls_alpn = calloc((size_t)c->count[PC_IMG_SEC_TLS_ALPN] + 1, sizeof(*p->tls_alpn));
	p->claim_conds = calloc((size_t)c->count[PC_IMG_SEC_CLAIM_CONDS] + 1, sizeof(*p->claim_conds));
	p->claim_values = calloc((size_t)c->count[PC_IMG_SEC_CLAIM_VALUES] + 1,
				 sizeof(*p->claim_values));
	p->jwt_identities = calloc((size_t)p->n_identities + 1, sizeof(*p->jwt_identities));
	p->external_dests = calloc((size_t)p->n_destinations + 1, sizeof(*p->external_dests));
	p->models = calloc((size_t)c->count[PC_IMG_SEC_MODELS] + 1, sizeof(*p->models));
	p->tools = calloc((size_t)c->count[PC_IMG_SEC_MCP_TOOLS] + 1, sizeof(*p->tools));
	if (!p->external_dests || !p->models || !p->tools)
		return -ENOMEM;
	if (!p->prefixes || !p->identities || !p->destinations || !p->rules || !p->key_headers ||
	    !p->source_only || !p->hosts || !p->hdr_conds || !p->hdr_values || !p->inspect_dests ||
	    !p->claim_conds || !p->claim_values || !p->jwt_identities || !p->tls_ja4 ||
	    !p->tls_alpn)
		return -ENOMEM;

	const struct pc_img_prefix *ip = sec_base(c, PC_IMG_SEC_SOURCES);
	for (uint32_t i = 0; i < n_src; i++)
		to_prefix(&ip[i], &p->prefixes[i]);
	ip = sec_base(c, PC_IMG_SEC_DEST_PREFIXES);
	for (uint32_t i = 0; i < n_dpf; i++)
		to_prefix(&ip[i], &p->prefixes[n_src + i]);

	const struct pc_img_identity *iid = sec_base(c, PC_IMG_SEC_IDENTITIES);
	for (uint32_t i = 0; i < p->n_identities; i++) {
		struct pc_rt_identity *id = &p->identities[i];
		id->name = str_at(c, iid[i].name);
		id->sources = &p->prefixes[iid[i].sources_start];
		id->n_sources = iid[i].n_sources;
		id->n_api_keys = iid[i].n_api_keys;
		id->jwt_issuer = iid[i].jwt_issuer;
		if (iid[i].jwt_issuer != PC_IMG_NO_JWT) {
			const char *jv = str_at(c, iid[i].jwt_value);
			id->jwt_value = (struct pc_str){ jv, (uint32_t)strlen(jv) };
			id->jwt_glob = strpbrk(jv, "*?") != NULL;
			if (iid[i].jwt_claim != PC_IMG_NO_STRING) {
				const char *jc = str_at(c, iid[i].jwt_claim);
				id->jwt_claim = (struct pc_str){ jc, (uint32_t)strlen(jc) };
			}
			p->jwt_identities[p->n_jwt_identities++] = i;
		}
		if (id->n_api_keys > 0) {
			const char *hn = str_at(c, iid[i].key_header);
			size_t len = strlen(hn);
			bool known = false;
			for (uint32_t k = 0; k < p->n_key_headers && !known; k++)
				known = pc_str_eq(p->key_headers[k].name, hn, len);
			if (!known) {
				struct pc_rt_key_header *kh = &p->key_headers[p->n_key_headers++];
				kh->name = (struct pc_str){ hn, (uint32_t)len };
				kh->bearer = strcmp(hn, "authorization") == 0;
			}
		} else if (id->n_sources > 0 && iid[i].jwt_issuer == PC_IMG_NO_JWT) {
			/* Sources of a key or token identity bind its credential;
			 * only an identity with nothing else is named by them. */
			for (uint32_t j = 0; j < id->n_sources; j++) {
				struct pc_rt_source *s = &p->source_only[p->n_source_only++];
				s->prefix = id->sources[j];
				s->identity = i;
			}
		}
	}
	/* qsort is not stable; the comparator breaks ties by identity, and
	 * within one identity the order of equal-length prefixes is moot. */
	if (p->n_source_only > 1)
		qsort(p->source_only, p->n_source_only, sizeof(*p->source_only), prefix_len_cmp);

	const uint32_t *host_offs = sec_base(c, PC_IMG_SEC_HOSTS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_HOSTS]; i++) {
		const char *s = str_at(c, host_offs[i]);
		struct pc_rt_host *hh = &p->hosts[i];
		hh->wildcard = s[0] == '*';
		hh->s = hh->wildcard ? s + 1 : s; /* keep the '.' of "*.": a label boundary */
		hh->len = (uint32_t)strlen(hh->s);
	}
	const uint16_t *ports = sec_base(c, PC_IMG_SEC_PORTS);
	const struct pc_img_destination *idst = sec_base(c, PC_IMG_SEC_DESTINATIONS);
	for (uint32_t i = 0; i < p->n_destinations; i++) {
		struct pc_rt_destination *d = &p->destinations[i];
		d->addrs = &p->prefixes[n_src + idst[i].addrs_start];
		d->n_addrs = idst[i].n_addrs;
		d->ports = &ports[idst[i].ports_start];
		d->n_ports = idst[i].n_ports;
		d->hosts = &p->hosts[idst[i].hosts_start];
		d->n_hosts = idst[i].n_hosts;
		d->proto = idst[i].proto;
		d->external = (idst[i].flags & PC_IMG_DEST_EXTERNAL) != 0;
		if (d->proto == PC_DEST_HTTP || d->proto == PC_DEST_TLS)
			p->inspect_dests[p->n_inspect_dests++] = i;
		if (d->external)
			p->external_dests[p->n_external_dests++] = i;
	}

	const uint32_t *val_offs = sec_base(c, PC_IMG_SEC_HDR_VALUES);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_HDR_VALUES]; i++) {
		const char *s = str_at(c, val_offs[i]);
		p->hdr_values[i] = (struct pc_str){ s, (uint32_t)strlen(s) };
	}
	const uint32_t *cv_offs = sec_base(c, PC_IMG_SEC_CLAIM_VALUES);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_CLAIM_VALUES]; i++) {
		const char *s = str_at(c, cv_offs[i]);
		p->claim_values[i] = (struct pc_str){ s, (uint32_t)strlen(s) };
	}
	const uint32_t *ja4_offs = sec_base(c, PC_IMG_SEC_TLS_JA4);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_TLS_JA4]; i++) {
		const char *s = str_at(c, ja4_offs[i]);
		p->tls_ja4[i] = (struct pc_str){ s, (uint32_t)strlen(s) };
	}
	const uint32_t *alpn_offs = sec_base(c, PC_IMG_SEC_TLS_ALPN);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_TLS_ALPN]; i++) {
		const char *s = str_at(c, alpn_offs[i]);
		p->tls_alpn[i] = (struct pc_str){ s, (uint32_t)strlen(s) };
	}
	const uint32_t *model_offs = sec_base(c, PC_IMG_SEC_MODELS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_MODELS]; i++) {
		const char *s = str_at(c, model_offs[i]);
		p->models[i] = (struct pc_str){ s, (uint32_t)strlen(s) };
	}
	const uint32_t *tool_offs = sec_base(c, PC_IMG_SEC_MCP_TOOLS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_MCP_TOOLS]; i++) {
		const char *s = str_at(c, tool_offs[i]);
		p->tools[i] = (struct pc_str){ s, (uint32_t)strlen(s) };
	}
	const struct pc_img_claim_cond *icc = sec_base(c, PC_IMG_SEC_CLAIM_CONDS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_CLAIM_CONDS]; i++) {
		const char *s = str_at(c, icc[i].name);
		p->claim_conds[i].name = (struct pc_str){ s, (uint32_t)strlen(s) };
		p->claim_conds[i].values = &p->claim_values[icc[i].values_start];
		p->claim_conds[i].n_values = icc[i].n_values;
	}
	const struct pc_img_hdr_cond *ihc = sec_base(c, PC_IMG_SEC_HDR_CONDS);
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_HDR_CONDS]; i++) {
		const char *s = str_at(c, ihc[i].name);
		p->hdr_conds[i].name = (struct pc_str){ s, (uint32_t)strlen(s) };
		p->hdr_conds[i].values = &p->hdr_values[ihc[i].values_start];
		p->hdr_conds[i].n_values = ihc[i].n_values;
	}

	/* Candidate lists: each identity's own rules, plus one list of the
	 * rules naming nobody, all in policy order. */
	const struct pc_img_rule *ir = sec_base(c, PC_IMG_SEC_RULES);
	const uint32_t *refs = sec_base(c, PC_IMG_SEC_RULE_REFS);
	uint64_t n_refs = 0;
	for (uint32_t i = 0; i < p->n_rules; i++)
		n_refs += ir[i].n_ids ? ir[i].n_ids : 1;
	p->rule_lists = calloc((size_t)n_refs + 1, sizeof(*p->rule_lists));
	if (p->rule_lists == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; i < p->n_rules; i++) {
		for (uint32_t j = 0; j < ir[i].n_ids; j++)
			p->identities[refs[ir[i].ids_start + j]].n_rules++;
		if (ir[i].n_ids == 0)
			p->n_anyone_rules++;
	}
	uint32_t *at = p->rule_lists;
	p->anyone_rules = at;
	at += p->n_anyone_rules;
	for (uint32_t i = 0; i < p->n_identities; i++) {
		p->identities[i].rules = at;
		at += p->identities[i].n_rules;
		p->identities[i].n_rules = 0; /* refilled below */
	}
	p->n_anyone_rules = 0;
	for (uint32_t i = 0; i < p->n_rules; i++) {
		struct pc_rt_rule *r = &p->rules[i];
		r->id = str_at(c, ir[i].id);
		r->action = ir[i].action;
		if (ir[i].flags & PC_IMG_RULE_SHADOW)
			r->flags |= PC_RT_RULE_SHADOW;
		r->methods = ir[i].methods;
		r->dests = &refs[ir[i].dests_start];
		r->n_dests = ir[i].n_dests;
		r->hdrs = &p->hdr_conds[ir[i].hdrs_start];
		r->n_hdrs = ir[i].n_hdrs;
		r->claims = &p->claim_conds[ir[i].claims_start];
		r->n_claims = ir[i].n_claims;
		if (ir[i].has_tls) {
			r->flags |= PC_RT_RULE_TLS;
			r->tls_min_version = ir[i].tls_min_version;
			r->ja4 = &p->tls_ja4[ir[i].ja4_start];
			r->n_ja4 = ir[i].n_ja4;
			r->alpn = &p->tls_alpn[ir[i].alpn_start];
			r->n_alpn = ir[i].n_alpn;
		}
		r->deny_response = ir[i].deny_response;
		r->models = &p->models[ir[i].models_start];
		r->n_models = ir[i].n_models;
		r->tools = &p->tools[ir[i].tools_start];
		r->n_tools = ir[i].n_tools;
		if (r->n_models || r->n_tools)
			r->flags |= PC_RT_RULE_BODY | PC_RT_RULE_L7;
		if (ir[i].n_paths)
			r->flags |= PC_RT_RULE_PATHS;
		if (r->n_claims)
			r->flags |= PC_RT_RULE_CLAIMS;
		if (r->methods || ir[i].n_paths || r->n_hdrs || r->n_claims)
			r->flags |= PC_RT_RULE_L7;
		bool paths = ir[i].n_paths > 0;
		if (ir[i].n_ids == 0) {
			p->anyone_rules[p->n_anyone_rules++] = i;
			p->anyone_has_paths |= paths;
		}
		for (uint32_t j = 0; j < ir[i].n_ids; j++) {
			struct pc_rt_identity *id = &p->identities[refs[ir[i].ids_start + j]];
			/* A rule naming an identity twice is listed once. */
			if (id->n_rules > 0 && id->rules[id->n_rules - 1] == i)
				continue;
			id->rules[id->n_rules++] = i;
			id->has_paths |= paths;
		}
	}
	for (uint32_t i = 0; i < p->n_identities; i++)
		p->identities[i].has_paths |= p->anyone_has_paths;
	return 0;
}

/* The issuers, their key sets parsed from the image's text, and the
 * distinct token headers. Returns 0, -ENOMEM, or -EINVAL with the error
 * naming the issuer. */
static int build_issuers(struct pc_policy *p, struct pc_img_chk *c)
{
	uint32_t n = c->count[PC_IMG_SEC_ISSUERS];
	const struct pc_img_issuer *ii = sec_base(c, PC_IMG_SEC_ISSUERS);
	const uint32_t *aud_offs = sec_base(c, PC_IMG_SEC_AUDIENCES);

	p->audiences = calloc((size_t)c->count[PC_IMG_SEC_AUDIENCES] + 1, sizeof(*p->audiences));
	p->issuers = calloc((size_t)n + 1, sizeof(*p->issuers));
	p->issuer_list = calloc((size_t)n + 1, sizeof(*p->issuer_list));
	p->token_headers = calloc((size_t)n + 1, sizeof(*p->token_headers));
	if (!p->audiences || !p->issuers || !p->issuer_list || !p->token_headers)
		return -ENOMEM;
	for (uint32_t i = 0; i < c->count[PC_IMG_SEC_AUDIENCES]; i++) {
		const char *s = str_at(c, aud_offs[i]);
		p->audiences[i] = (struct pc_str){ s, (uint32_t)strlen(s) };
	}
	for (uint32_t i = 0; i < n; i++) {
		struct pc_jwt_issuer *is = &p->issuers[i];
		char kerr[256];
		const char *name = str_at(c, ii[i].issuer);
		const char *jwks = str_at(c, ii[i].jwks);

		pc_jwt_issuer_init(is);
		is->issuer = (struct pc_str){ name, (uint32_t)strlen(name) };
		is->audiences = &p->audiences[ii[i].auds_start];
		is->n_audiences = ii[i].n_auds;
		is->algs = ii[i].algs;
		is->leeway_s = ii[i].leeway_s;
		is->max_lifetime_s = ii[i].max_lifetime_s;
		is->require_exp = ii[i].require_exp != 0;
		is->keys = pc_jwks_load(jwks, strlen(jwks), kerr, sizeof(kerr));
		if (is->keys == NULL) {
			if (errno == ENOMEM)
				return -ENOMEM;
			return img_error(c, "jwt issuer %u (\"%s\") key set rejected: %s", i, name,
					 kerr);
		}
		p->issuer_list[i] = is;
		p->n_issuers = i + 1; /* from here on pc_policy_free() frees its keys */

		const char *hn = str_at(c, ii[i].token_header);
		size_t len = strlen(hn);
		bool known = false;
		for (uint32_t k = 0; k < p->n_token_headers && !known; k++)
			known = pc_str_eq(p->token_headers[k].name, hn, len);
		if (!known) {
			struct pc_rt_token_header *th = &p->token_headers[p->n_token_headers++];
			th->name = (struct pc_str){ hn, (uint32_t)len };
			th->bearer = strcmp(hn, "authorization") == 0;
		}
	}
	return 0;
}

static const char *hs_error_text(hs_error_t he)
{
	switch (he) {
	case HS_DB_VERSION_ERROR:
		return "built by another Hyperscan version";
	case HS_DB_PLATFORM_ERROR:
		return "built for another CPU";
	case HS_DB_MODE_ERROR:
		return "not a block-mode database";
	case HS_BAD_ALIGN:
		return "misaligned";
	default:
		return "corrupt or truncated";
	}
}

static struct pc_policy *from_image(const void *image, size_t image_len, bool crc_known,
				    char *err, size_t err_len);

struct pc_policy *pc_policy_from_image(const void *image, size_t image_len, char *err,
				       size_t err_len)
{
	return from_image(image, image_len, false, err, err_len);
}

struct pc_policy *pc_policy_from_checked_image(const void *image, size_t image_len, char *err,
					       size_t err_len)
{
	return from_image(image, image_len, true, err, err_len);
}

static struct pc_policy *from_image(const void *image, size_t image_len, bool crc_known,
				    char *err, size_t err_len)
{
	struct pc_img_chk c = { .err = err, .err_len = err_len, .crc_known = crc_known };
	struct pc_policy *p = NULL;
	int rc;

	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (image == NULL) {
		rc = img_error(&c, "no image");
		goto fail;
	}
	if (image_len > UINT32_MAX) {
		rc = img_error(&c, "%zu bytes, more than an image can hold", image_len);
		goto fail;
	}
	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	/* Own copy first: the writer may still be scribbling on its buffer,
	 * and nothing checked in theirs would stay checked. The allocation is
	 * at least header sized so the header can be read before its length
	 * field is known to be right. */
	size_t alloc = image_len < sizeof(struct pc_img_header) ? sizeof(struct pc_img_header)
								: image_len;
	alloc = (alloc + 63) & ~(size_t)63;
	p->image = aligned_alloc(64, alloc);
	if (p->image == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	memset(p->image, 0, alloc);
	memcpy(p->image, image, image_len);
	p->image_len = image_len;
	c.img = p->image;
	c.len = image_len;
	c.h = p->image;

	if ((rc = check_header(&c)) != 0 || (rc = check_prefixes(&c, PC_IMG_SEC_SOURCES)) != 0 ||
	    (rc = check_prefixes(&c, PC_IMG_SEC_DEST_PREFIXES)) != 0 ||
	    (rc = check_identities(&c)) != 0 || (rc = check_keys(&c)) != 0 ||
	    (rc = check_destinations(&c)) != 0 || (rc = check_rules(&c)) != 0 ||
	    (rc = check_issuers(&c)) != 0)
		goto fail;

	uint32_t db_len = c.h->sections[PC_IMG_SEC_HSDB].len;
	if (unlikely((c.h->n_paths > 0) != (db_len > 0))) {
		rc = img_error(&c, "%u path patterns but a %u-byte Hyperscan database", c.h->n_paths,
			       db_len);
		goto fail;
	}
	if (db_len > 0) {
		hs_database_t *db = NULL;
		hs_error_t he = hs_deserialize_database(sec_base(&c, PC_IMG_SEC_HSDB), db_len, &db);
		if (he != HS_SUCCESS) {
			rc = he == HS_NOMEM ? -ENOMEM
					    : img_error(&c, "Hyperscan database rejected: %s (error %d)",
							hs_error_text(he), he);
			goto fail;
		}
		p->db = db;
	}
	rc = build_runtime(p, &c);
	if (rc == 0)
		rc = build_issuers(p, &c);
	if (rc)
		goto fail;
	uint32_t dlp_len = c.h->sections[PC_IMG_SEC_DLP].len;
	if (unlikely((c.h->flags & PC_IMG_POLICY_DLP_BLOCKS) && dlp_len == 0)) {
		rc = img_error(&c, "DLP action deny without a DLP database");
		goto fail;
	}
	if (unlikely(dlp_len > 0 && p->n_external_dests == 0)) {
		rc = img_error(&c, "a %u-byte DLP database but no external destination", dlp_len);
		goto fail;
	}
	if (dlp_len > 0) {
		char derr[256];
		p->dlp = pc_dlp_db_load(sec_base(&c, PC_IMG_SEC_DLP), dlp_len, derr, sizeof(derr));
		if (p->dlp == NULL) {
			rc = errno == ENOMEM ? -ENOMEM
					     : img_error(&c, "DLP database rejected: %s", derr);
			goto fail;
		}
	}
	return p;

fail:
	if (rc == -ENOMEM && err != NULL && err_len > 0)
		snprintf(err, err_len, "policy image: out of memory");
	pc_policy_free(p);
	errno = -rc;
	return NULL;
}

void pc_policy_free(struct pc_policy *p)
{
	if (p == NULL)
		return;
	hs_free_database(p->db);
	pc_dlp_db_free(p->dlp);
	free(p->external_dests);
	free(p->models);
	free(p->tools);
	free(p->prefixes);
	free(p->identities);
	free(p->destinations);
	free(p->rules);
	free(p->key_headers);
	free(p->source_only);
	free(p->hosts);
	free(p->hdr_conds);
	free(p->hdr_values);
	free(p->inspect_dests);
	free(p->tls_ja4);
	free(p->tls_alpn);
	free(p->rule_lists);
	free(p->claim_conds);
	free(p->claim_values);
	free(p->jwt_identities);
	for (uint32_t i = 0; i < p->n_issuers; i++)
		pc_jwks_free((struct pc_jwks *)p->issuers[i].keys);
	free(p->issuers);
	free(p->issuer_list);
	free(p->token_headers);
	free(p->audiences);
	free(p->image);
	free(p);
}

/* The compiler sees a builder, not text, so its messages say
 * "NAME: $.json.path: ..."; where the text is at hand, add the line the
 * loader's own messages carry: "NAME:LINE: $.json.path: ...". Best effort:
 * any failure leaves the message as it was. */
static void add_error_line(const char *name, const char *text, size_t len, char *err,
			   size_t err_len)
{
	size_t nlen = strlen(name);
	if (err == NULL || text == NULL || strncmp(err, name, nlen) != 0 ||
	    strncmp(err + nlen, ": $", 3) != 0)
		return;
	const char *jpath = err + nlen + 2;
	const char *end = strstr(jpath, ": ");
	char jp[512];
	if (end == NULL || (size_t)(end - jpath) >= sizeof(jp))
		return;
	memcpy(jp, jpath, (size_t)(end - jpath));
	jp[end - jpath] = '\0';
	unsigned line = pc_json_locate_line(text, len, jp);
	char *msg = line ? strdup(jpath) : NULL;
	if (msg == NULL)
		return;
	snprintf(err, err_len, "%s:%u: %s", name, line, msg);
	free(msg);
}

/* The whole of file path (up to 64 MiB), or NULL. */
static char *read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	size_t cap = 1 << 16;
	char *text = malloc(cap);
	*len = 0;
	while (text != NULL) {
		*len += fread(text + *len, 1, cap - *len, f);
		if (*len < cap || cap >= (64u << 20))
			break;
		char *bigger = realloc(text, cap * 2);
		if (bigger == NULL) {
			free(text);
			text = NULL;
			break;
		}
		text = bigger;
		cap *= 2;
	}
	fclose(f);
	return text;
}

/* Compile src (freed here) and build the policy from the image. A compile
 * error gets the line in text (or, when text is NULL, in the file name). */
static struct pc_policy *build(struct pc_policy_src *src, const char *name, const char *text,
			       size_t len, char *err, size_t err_len)
{
	if (src == NULL)
		return NULL;
	void *image = NULL;
	size_t image_len = 0;
	int rc = pc_policy_compile(src, &image, &image_len, err, err_len);
	pc_policy_src_free(src);
	if (rc) {
		char *file = text == NULL ? read_text(name, &len) : NULL;
		add_error_line(name, text != NULL ? text : file, len, err, err_len);
		free(file);
		errno = -rc;
		return NULL;
	}
	struct pc_policy *p = pc_policy_from_image(image, image_len, err, err_len);
	int saved = errno;
	free(image);
	errno = saved;
	return p;
}

struct pc_policy *pc_policy_build_file(const char *path, char *err, size_t err_len)
{
	return build(pc_policy_load_file(path, err, err_len), path, NULL, 0, err, err_len);
}

struct pc_policy *pc_policy_build_string(const char *text, size_t len, const char *name,
					 char *err, size_t err_len)
{
	return build(pc_policy_load_string(text, len, name, err, err_len), name, text, len, err,
		     err_len);
}

uint32_t pc_policy_rule_count(const struct pc_policy *p)
{
	return p->n_rules;
}

uint32_t pc_policy_identity_count(const struct pc_policy *p)
{
	return p->n_identities;
}

const char *pc_policy_rule_id(const struct pc_policy *p, uint32_t rule_idx)
{
	return p->rules[rule_idx].id;
}

const char *pc_policy_identity_name(const struct pc_policy *p, uint32_t identity_idx)
{
	return p->identities[identity_idx].name;
}

enum pc_inspect pc_policy_inspect_kind(const struct pc_policy *p, const struct pc_addr *dst,
				       uint16_t dport)
{
	unsigned kind = PC_INSPECT_NONE;
	for (uint32_t i = 0; i < p->n_inspect_dests && kind != PC_INSPECT_HTTP_OR_TLS; i++) {
		const struct pc_rt_destination *d = &p->destinations[p->inspect_dests[i]];
		unsigned bit = d->proto == PC_DEST_TLS ? PC_INSPECT_TLS : PC_INSPECT_HTTP;
		if (kind & bit)
			continue;
		bool ok = d->n_addrs == 0;
		for (uint32_t j = 0; j < d->n_addrs && !ok; j++)
			ok = pc_prefix_contains(&d->addrs[j], dst);
		if (!ok)
			continue;
		ok = d->n_ports == 0;
		for (uint32_t j = 0; j < d->n_ports && !ok; j++)
			ok = d->ports[j] == dport;
		if (ok)
			kind |= bit;
	}
	return (enum pc_inspect)kind;
}

bool pc_policy_inspects(const struct pc_policy *p, const struct pc_addr *dst, uint16_t dport)
{
	return (pc_policy_inspect_kind(p, dst, dport) & PC_INSPECT_HTTP) != 0;
}

enum pc_deny_response pc_policy_deny_response(const struct pc_policy *p, int32_t rule)
{
	if (rule >= 0 && (uint32_t)rule < p->n_rules && p->rules[rule].deny_response != 0)
		return (enum pc_deny_response)p->rules[rule].deny_response;
	return (enum pc_deny_response)p->deny_response;
}

const struct pc_dlp_db *pc_policy_dlp(const struct pc_policy *p)
{
	return p->dlp;
}

struct pc_dlp_db *pc_policy_dlp_ref(const struct pc_policy *p)
{
	return p->dlp != NULL ? pc_dlp_db_ref(p->dlp) : NULL;
}

bool pc_policy_dlp_share(struct pc_policy *next, const struct pc_policy *prev)
{
	if (!pc_dlp_db_same(next->dlp, prev->dlp))
		return false;
	pc_dlp_db_free(next->dlp);
	next->dlp = pc_dlp_db_ref(prev->dlp);
	return true;
}

bool pc_policy_dlp_blocks(const struct pc_policy *p)
{
	return p->dlp_blocks;
}

uint32_t pc_policy_body_window(const struct pc_policy *p)
{
	return p->body_window;
}
