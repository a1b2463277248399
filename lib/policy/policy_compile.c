/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Policy compiler: builder (struct pc_policy_src) in, image bytes out.
 *
 * The compiler re-checks what it relies on (indexes in range, names present,
 * enums in range) rather than trusting the loader, because the image loader
 * will reject whatever the compiler lets through and a message here, naming
 * the JSON path, is far more useful than one about an image offset.
 *
 * Each section is built in its own growable buffer, then the sections are
 * laid out after the header, each aligned to PC_POLICY_IMAGE_ALIGN, and the
 * crc is computed last. Every rule's path patterns go into one Hyperscan
 * block-mode database, pattern id = index into the PATHS section, so the
 * engine scans a request path once, whatever the number of rules. Each
 * pattern is first checked alone with hs_expression_info(), so a rejected
 * pattern is reported with its rule and position, and so HS_FLAG_ALLOWEMPTY is
 * set only on the patterns that can match an empty path.
 *
 * A rule's TLS posture goes in as its lowest version and two runs of
 * string offsets (JA4 fingerprints, ALPN names), re-checked here against the
 * same shape rules as the loader and the image loader use.
 *
 * Body conditions (models, MCP tools) go in as runs of glob strings like
 * the TLS lists. DLP patterns are compiled here, through lib/dlp, into a
 * stream-mode database serialized into the DLP section, so the dataplane
 * never compiles; it is left out when no destination is external (nothing
 * would be scanned), though the patterns are still compiled, so a bad one is
 * reported whatever the destinations.
 *
 * JWT issuers go in as data, key sets included, as the JSON text the loader
 * validated: the image stays self-contained (no file the dataplane would
 * have to read) and its loader parses the keys again, trusting nothing.
 */
#include <errno.h>
#include <hs/hs.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlp/dlp.h"
#include "policy/policy_image.h"

/* A growable byte buffer; a failed allocation sticks, so callers check once. */
struct pc_cbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	bool nomem;
};

struct pc_compile {
	const struct pc_policy_src *src;
	const char *origin;
	char *err;
	size_t err_len;
	struct pc_cbuf sec[PC_IMG_SEC_COUNT];
	/* Path patterns, for hs_compile_multi. */
	const char **patterns;
	unsigned *pattern_flags;
	unsigned *pattern_ids;
	uint32_t n_patterns;
};

static int compile_error(struct pc_compile *c, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int compile_error(struct pc_compile *c, int rc, const char *fmt, ...)
{
	if (c->err != NULL && c->err_len > 0) {
		int n = snprintf(c->err, c->err_len, "%s: ", c->origin);
		if (n < 0 || (size_t)n >= c->err_len)
			n = 0;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->err_len - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* Appends n zeroed bytes and returns them, or NULL (and marks the buffer)
 * when memory runs out. The pointer is valid until the next append. */
static void *cbuf_add(struct pc_cbuf *b, size_t n)
{
	if (b->nomem)
		return NULL;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n)
			cap *= 2;
		uint8_t *p = realloc(b->p, cap);
		if (p == NULL) {
			b->nomem = true;
			return NULL;
		}
		b->p = p;
		b->cap = cap;
	}
	void *at = b->p + b->len;
	memset(at, 0, n);
	b->len += n;
	return at;
}

/* Elements of a fixed-size section so far. */
static uint32_t sec_count(const struct pc_compile *c, unsigned sec)
{
	return (uint32_t)(c->sec[sec].len / pc__img_section_elem_size(sec));
}

static void *sec_add(struct pc_compile *c, unsigned sec)
{
	return cbuf_add(&c->sec[sec], pc__img_section_elem_size(sec));
}

static bool sec_add_u32(struct pc_compile *c, unsigned sec, uint32_t v)
{
	uint32_t *p = sec_add(c, sec);
	if (p != NULL)
		*p = v;
	return p != NULL;
}

/* Adds a string (optionally lowercased) and returns its offset; 0 (the empty
 * string every table starts with) when memory ran out, which the final
 * nomem check reports. */
static uint32_t str_add(struct pc_compile *c, const char *s, size_t len, bool lower)
{
	struct pc_cbuf *b = &c->sec[PC_IMG_SEC_STRINGS];
	size_t off = b->len;
	char *p = cbuf_add(b, len + 1);
	if (p == NULL)
		return 0;
	for (size_t i = 0; i < len; i++)
		p[i] = lower && s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] + 32) : s[i];
	return (uint32_t)off;
}

static int check_name(struct pc_compile *c, const char *name, const char *path, unsigned i)
{
	if (name == NULL || name[0] == '\0')
		return compile_error(c, -EINVAL, "%s[%u]: missing name", path, i);
	if (strlen(name) > PC_POLICY_MAX_NAME)
		return compile_error(c, -EINVAL, "%s[%u]: name longer than %d bytes", path, i,
				     PC_POLICY_MAX_NAME);
	return 0;
}

/* RFC 9110 §5.1: a field name is a token. */
static bool is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      strchr("!#$%&'*+-.^_`|~", ch) != NULL))
			return false;
	}
	return true;
}

static int add_prefix(struct pc_compile *c, unsigned sec, const struct pc_prefix *pf,
		      const char *path, unsigned i, unsigned j)
{
	unsigned max = pf->addr.family == 4 ? 32 : 128;
	if ((pf->addr.family != 4 && pf->addr.family != 6) || pf->len > max)
		return compile_error(c, -EINVAL, "%s[%u]: bad prefix %u (family %u, length %u)",
				     path, i, j, pf->addr.family, pf->len);
	struct pc_img_prefix *ip = sec_add(c, sec);
	if (ip == NULL)
		return -ENOMEM;
	ip->family = pf->addr.family;
	ip->len = pf->len;
	if (pf->addr.family == 4) {
		uint32_t mask = pf->len == 0 ? 0 : ~(0xffffffffu >> 1 >> (pf->len - 1));
		ip->v4 = pf->addr.v4 & mask;
	} else {
		memcpy(ip->v6, pf->addr.v6, 16);
		for (unsigned b = 0; b < 16; b++) {
			unsigned keep = pf->len > b * 8 ? pf->len - b * 8 : 0;
			if (keep < 8)
				ip->v6[b] &= (uint8_t)(keep == 0 ? 0 : 0xff << (8 - keep));
		}
	}
	return 0;
}

static int emit_identities(struct pc_compile *c)
{
	const struct pc_policy_src *src = c->src;
	for (uint32_t i = 0; i < src->n_identities; i++) {
		const struct pc_src_identity *id = &src->identities[i];
		int rc = check_name(c, id->name, "$.identities", i);
		if (rc)
			return rc;
		if (id->n_sources > PC_POLICY_IMAGE_MAX_ARRAY || id->n_api_keys > PC_POLICY_IMAGE_MAX_ARRAY)
			return compile_error(c, -E2BIG, "$.identities[%u]: too many sources or keys", i);
		if ((id->n_sources && id->sources == NULL) ||
		    (id->n_api_keys && id->api_key_digests == NULL))
			return compile_error(c, -EINVAL, "$.identities[%u]: missing list", i);
		uint32_t key_header = PC_IMG_NO_STRING;
		if (id->n_api_keys > 0) {
			const char *h = id->api_key_header ? id->api_key_header : "x-api-key";
			if (!is_token(h))
				return compile_error(c, -EINVAL,
						     "$.identities[%u].api_key_header: \"%s\" is not a header name",
						     i, h);
			key_header = str_add(c, h, strlen(h), true);
		}
		uint32_t jwt_issuer = PC_IMG_NO_JWT, jwt_claim = PC_IMG_NO_STRING;
		uint32_t jwt_value = PC_IMG_NO_STRING;
		if (id->has_jwt) {
			if (id->jwt_issuer >= src->n_jwt_issuers || id->jwt_value == NULL ||
			    id->jwt_value[0] == '\0' || strlen(id->jwt_value) > PC_POLICY_MAX_GLOB)
				return compile_error(c, -EINVAL, "$.identities[%u].jwt: bad binding", i);
			jwt_issuer = id->jwt_issuer;
			jwt_value = str_add(c, id->jwt_value, strlen(id->jwt_value), false);
			if (id->jwt_claim != NULL) {
				if (id->jwt_claim[0] == '\0')
					return compile_error(c, -EINVAL,
							     "$.identities[%u].jwt.claim: empty", i);
				jwt_claim = str_add(c, id->jwt_claim, strlen(id->jwt_claim), false);
			}
		}
		uint32_t name = str_add(c, id->name, strlen(id->name), false);
		uint32_t sources_start = sec_count(c, PC_IMG_SEC_SOURCES);
		for (uint32_t j = 0; j < id->n_sources; j++) {
			rc = add_prefix(c, PC_IMG_SEC_SOURCES, &id->sources[j], "$.identities", i, j);
			if (rc)
				return rc;
		}
		struct pc_img_identity *ii = sec_add(c, PC_IMG_SEC_IDENTITIES);
		if (ii == NULL)
			return -ENOMEM;
		ii->name = name;
		ii->key_header = key_header;
		ii->sources_start = sources_start;
		ii->n_sources = id->n_sources;
		ii->n_api_keys = id->n_api_keys;
		ii->jwt_issuer = jwt_issuer;
		ii->jwt_claim = jwt_claim;
		ii->jwt_value = jwt_value;
	}
	return 0;
}

static int key_cmp(const void *a, const void *b)
{
	return memcmp(((const struct pc_img_key *)a)->digest, ((const struct pc_img_key *)b)->digest,
		      PC_API_KEY_DIGEST_LEN);
}

/* All keys of all identities in one table sorted by digest: the engine finds
 * a presented key with one binary search. A digest listed twice would make the
 * caller ambiguous, so it is an error. */
static int emit_keys(struct pc_compile *c)
{
	const struct pc_policy_src *src = c->src;
	for (uint32_t i = 0; i < src->n_identities; i++) {
		const struct pc_src_identity *id = &src->identities[i];
		for (uint32_t j = 0; j < id->n_api_keys; j++) {
			struct pc_img_key *k = sec_add(c, PC_IMG_SEC_KEYS);
			if (k == NULL)
				return -ENOMEM;
			memcpy(k->digest, id->api_key_digests[j], PC_API_KEY_DIGEST_LEN);
			k->identity = i;
		}
	}
	uint32_t n = sec_count(c, PC_IMG_SEC_KEYS);
	if (n > PC_POLICY_IMAGE_MAX_ARRAY)
		return compile_error(c, -E2BIG, "$.identities: more than %u API keys",
				     PC_POLICY_IMAGE_MAX_ARRAY);
	struct pc_img_key *keys = (struct pc_img_key *)c->sec[PC_IMG_SEC_KEYS].p;
	if (n > 1)
		qsort(keys, n, sizeof(*keys), key_cmp);
	for (uint32_t k = 1; k < n; k++) {
		if (key_cmp(&keys[k - 1], &keys[k]) == 0)
			return compile_error(c, -EINVAL,
					     "$.identities: the same API key digest is listed by \"%s\" and \"%s\"",
					     src->identities[keys[k - 1].identity].name,
					     src->identities[keys[k].identity].name);
	}
	return 0;
}

/* Host patterns are stored lowercase without a trailing dot, the form the
 * engine compares a request's Host against. */
static int add_host(struct pc_compile *c, const char *h, uint32_t i, uint32_t j)
{
	if (h == NULL)
		return compile_error(c, -EINVAL, "$.destinations[%u].hosts[%u]: missing", i, j);
	size_t len = strlen(h);
	if (len > 0 && h[len - 1] == '.')
		len--;
	const char *name = h;
	size_t name_len = len;
	if (len >= 2 && h[0] == '*' && h[1] == '.') {
		name += 2;
		name_len -= 2;
	}
	bool ok = name_len > 0 && name_len < 254 && name[0] != '.';
	/* An IPv6 literal keeps its brackets, as the HTTP parser keeps them in
	 * the Host it reports; only inside them is ':' allowed. */
	bool v6 = ok && name == h && name[0] == '[' && name[name_len - 1] == ']';
	for (size_t k = 0; ok && k < name_len; k++) {
		unsigned char ch = (unsigned char)name[k];
		if (ch == '*' || ch <= ' ' || ch >= 0x7f || ch == '/' || (ch == ':' && !v6))
			ok = false;
	}
	if (!ok)
		return compile_error(c, -EINVAL,
				     "$.destinations[%u].hosts[%u]: expected a host name or \"*.\" and a domain, got \"%s\"",
				     i, j, h);
	uint32_t off = str_add(c, h, len, true);
	return sec_add_u32(c, PC_IMG_SEC_HOSTS, off) ? 0 : -ENOMEM;
}

static int emit_destinations(struct pc_compile *c)
{
	const struct pc_policy_src *src = c->src;
	for (uint32_t i = 0; i < src->n_destinations; i++) {
		const struct pc_src_destination *d = &src->destinations[i];
		int rc = check_name(c, d->name, "$.destinations", i);
		if (rc)
			return rc;
		if (d->proto > PC_DEST_PROTO_MAX)
			return compile_error(c, -EINVAL, "$.destinations[%u].protocol: bad value %u", i,
					     d->proto);
		if ((d->n_hosts && d->hosts == NULL) || (d->n_addresses && d->addresses == NULL) ||
		    (d->n_ports && d->ports == NULL))
			return compile_error(c, -EINVAL, "$.destinations[%u]: missing list", i);
		if (d->n_hosts > PC_POLICY_IMAGE_MAX_ARRAY || d->n_addresses > PC_POLICY_IMAGE_MAX_ARRAY ||
		    d->n_ports > PC_POLICY_IMAGE_MAX_ARRAY)
			return compile_error(c, -E2BIG, "$.destinations[%u]: list too long", i);
		uint32_t name = str_add(c, d->name, strlen(d->name), false);
		uint32_t hosts_start = sec_count(c, PC_IMG_SEC_HOSTS);
		for (uint32_t j = 0; j < d->n_hosts; j++) {
			rc = add_host(c, d->hosts[j], i, j);
			if (rc)
				return rc;
		}
		uint32_t addrs_start = sec_count(c, PC_IMG_SEC_DEST_PREFIXES);
		for (uint32_t j = 0; j < d->n_addresses; j++) {
			rc = add_prefix(c, PC_IMG_SEC_DEST_PREFIXES, &d->addresses[j], "$.destinations",
					i, j);
			if (rc)
				return rc;
		}
		uint32_t ports_start = sec_count(c, PC_IMG_SEC_PORTS);
		for (uint32_t j = 0; j < d->n_ports; j++) {
			uint16_t *p = sec_add(c, PC_IMG_SEC_PORTS);
			if (p == NULL)
				return -ENOMEM;
			*p = d->ports[j];
		}
		struct pc_img_destination *id = sec_add(c, PC_IMG_SEC_DESTINATIONS);
		if (id == NULL)
			return -ENOMEM;
		id->name = name;
		id->proto = d->proto;
		id->flags = d->external ? PC_IMG_DEST_EXTERNAL : 0;
		id->hosts_start = hosts_start;
		id->n_hosts = d->n_hosts;
		id->addrs_start = addrs_start;
		id->n_addrs = d->n_addresses;
		id->ports_start = ports_start;
		id->n_ports = d->n_ports;
	}
	return 0;
}

static int emit_rule_headers(struct pc_compile *c, const struct pc_src_rule *r, uint32_t i)
{
	for (uint32_t j = 0; j < r->n_headers; j++) {
		const struct pc_src_header_cond *h = &r->headers[j];
		if (h->name == NULL || !is_token(h->name))
			return compile_error(c, -EINVAL, "$.rules[%u].headers: bad header name \"%s\"", i,
					     h->name ? h->name : "");
		if (h->n_values == 0 || h->values == NULL || h->n_values > PC_POLICY_IMAGE_MAX_ARRAY)
			return compile_error(c, -EINVAL,
					     "$.rules[%u].headers.%s: expected a list of values", i,
					     h->name);
		uint32_t name = str_add(c, h->name, strlen(h->name), true);
		uint32_t values_start = sec_count(c, PC_IMG_SEC_HDR_VALUES);
		for (uint32_t k = 0; k < h->n_values; k++) {
			if (h->values[k] == NULL)
				return compile_error(c, -EINVAL, "$.rules[%u].headers.%s[%u]: missing",
						     i, h->name, k);
			uint32_t v = str_add(c, h->values[k], strlen(h->values[k]), false);
			if (!sec_add_u32(c, PC_IMG_SEC_HDR_VALUES, v))
				return -ENOMEM;
		}
		struct pc_img_hdr_cond *hc = sec_add(c, PC_IMG_SEC_HDR_CONDS);
		if (hc == NULL)
			return -ENOMEM;
		hc->name = name;
		hc->values_start = values_start;
		hc->n_values = h->n_values;
	}
	return 0;
}

static int emit_rule_claims(struct pc_compile *c, const struct pc_src_rule *r, uint32_t i)
{
	for (uint32_t j = 0; j < r->n_claims; j++) {
		const struct pc_src_claim_cond *cc = &r->claims[j];
		if (cc->name == NULL || cc->name[0] == '\0')
			return compile_error(c, -EINVAL, "$.rules[%u].claims: empty claim name", i);
		if (cc->n_values == 0 || cc->values == NULL || cc->n_values > PC_POLICY_IMAGE_MAX_ARRAY)
			return compile_error(c, -EINVAL,
					     "$.rules[%u].claims.%s: expected a list of values", i,
					     cc->name);
		uint32_t name = str_add(c, cc->name, strlen(cc->name), false);
		uint32_t values_start = sec_count(c, PC_IMG_SEC_CLAIM_VALUES);
		for (uint32_t k = 0; k < cc->n_values; k++) {
			if (cc->values[k] == NULL)
				return compile_error(c, -EINVAL, "$.rules[%u].claims.%s[%u]: missing",
						     i, cc->name, k);
			uint32_t v = str_add(c, cc->values[k], strlen(cc->values[k]), false);
			if (!sec_add_u32(c, PC_IMG_SEC_CLAIM_VALUES, v))
				return -ENOMEM;
		}
		struct pc_img_claim_cond *ic = sec_add(c, PC_IMG_SEC_CLAIM_CONDS);
		if (ic == NULL)
			return -ENOMEM;
		ic->name = name;
		ic->values_start = values_start;
		ic->n_values = cc->n_values;
	}
	return 0;
}

/* The rule's TLS posture: the version must be one the loader offers, every
 * fingerprint a JA4, every ALPN name one a policy may list. */
static int emit_rule_tls(struct pc_compile *c, const struct pc_src_rule *r, uint32_t i,
			 struct pc_img_rule *ir)
{
	if (!r->has_tls) {
		if (r->tls_min_version != 0 || r->n_ja4 != 0 || r->n_alpn != 0)
			return compile_error(c, -EINVAL, "$.rules[%u].tls: conditions without has_tls", i);
		return 0;
	}
	if (r->tls_min_version != 0 && r->tls_min_version != 0x0303 && r->tls_min_version != 0x0304)
		return compile_error(c, -EINVAL, "$.rules[%u].tls.min_version: bad value 0x%04x", i,
				     r->tls_min_version);
	if ((r->n_ja4 && r->ja4 == NULL) || (r->n_alpn && r->alpn == NULL) ||
	    r->n_ja4 > PC_POLICY_IMAGE_MAX_ARRAY || r->n_alpn > PC_POLICY_IMAGE_MAX_ARRAY)
		return compile_error(c, -EINVAL, "$.rules[%u].tls: bad list", i);
	if (r->tls_min_version == 0 && r->n_ja4 == 0 && r->n_alpn == 0)
		return compile_error(c, -EINVAL, "$.rules[%u].tls: no condition", i);
	if (r->methods || r->n_paths || r->n_headers || r->n_claims)
		return compile_error(c, -EINVAL,
				     "$.rules[%u].tls: TLS posture with HTTP conditions never matches", i);
	ir->has_tls = 1;
	ir->tls_min_version = r->tls_min_version;
	ir->ja4_start = sec_count(c, PC_IMG_SEC_TLS_JA4);
	ir->n_ja4 = r->n_ja4;
	for (uint32_t k = 0; k < r->n_ja4; k++) {
		const char *f = r->ja4[k];
		if (f == NULL || !pc__policy_ja4_valid(f, strlen(f)))
			return compile_error(c, -EINVAL, "$.rules[%u].tls.ja4[%u]: \"%s\" is not a JA4 "
					     "fingerprint", i, k, f ? f : "");
		if (!sec_add_u32(c, PC_IMG_SEC_TLS_JA4, str_add(c, f, strlen(f), false)))
			return -ENOMEM;
	}
	ir->alpn_start = sec_count(c, PC_IMG_SEC_TLS_ALPN);
	ir->n_alpn = r->n_alpn;
	for (uint32_t k = 0; k < r->n_alpn; k++) {
		const char *a = r->alpn[k];
		if (a == NULL || !pc__policy_alpn_valid(a, strlen(a)))
			return compile_error(c, -EINVAL, "$.rules[%u].tls.alpn[%u]: \"%s\" is not an "
					     "ALPN protocol name", i, k, a ? a : "");
		if (!sec_add_u32(c, PC_IMG_SEC_TLS_ALPN, str_add(c, a, strlen(a), false)))
			return -ENOMEM;
	}
	return 0;
}

/* A rule's body conditions: one run of glob strings in MODELS or
 * MCP_TOOLS. */
static int emit_rule_body(struct pc_compile *c, const struct pc_src_rule *r, uint32_t i,
			  struct pc_img_rule *ir)
{
	if ((r->n_models && r->models == NULL) || (r->n_mcp_tools && r->mcp_tools == NULL))
		return compile_error(c, -EINVAL, "$.rules[%u]: missing list", i);
	if (r->n_models > PC_POLICY_IMAGE_MAX_ARRAY || r->n_mcp_tools > PC_POLICY_IMAGE_MAX_ARRAY)
		return compile_error(c, -E2BIG, "$.rules[%u]: list too long", i);
	if (r->n_models && r->n_mcp_tools)
		return compile_error(c, -EINVAL, "$.rules[%u].mcp_tools: a rule has models or "
				     "mcp_tools, not both", i);
	if (r->has_tls && (r->n_models || r->n_mcp_tools))
		return compile_error(c, -EINVAL, "$.rules[%u]: body conditions with TLS posture",
				     i);
	static const char *const keys[] = { "models", "mcp_tools" };
	for (unsigned kind = 0; kind < 2; kind++) {
		char *const *list = kind == 0 ? r->models : r->mcp_tools;
		uint32_t n = kind == 0 ? r->n_models : r->n_mcp_tools;
		unsigned sec = kind == 0 ? PC_IMG_SEC_MODELS : PC_IMG_SEC_MCP_TOOLS;
		uint32_t start = sec_count(c, sec);
		for (uint32_t k = 0; k < n; k++) {
			if (list[k] == NULL || list[k][0] == '\0')
				return compile_error(c, -EINVAL, "$.rules[%u].%s[%u]: empty glob", i,
						     keys[kind], k);
			if (!sec_add_u32(c, sec, str_add(c, list[k], strlen(list[k]), false)))
				return -ENOMEM;
		}
		if (kind == 0) {
			ir->models_start = start;
			ir->n_models = n;
		} else {
			ir->tools_start = start;
			ir->n_tools = n;
		}
	}
	return 0;
}

/* The DLP database, when the policy has "dlp". Returns 0 or -errno with
 * the error at $.dlp.patterns (lib/dlp names the pattern). */
static int emit_dlp(struct pc_compile *c, bool *stored)
{
	const struct pc_policy_src *src = c->src;
	*stored = false;
	if (!src->has_dlp)
		return 0;
	if (src->n_dlp_patterns && src->dlp_patterns == NULL)
		return compile_error(c, -EINVAL, "$.dlp.patterns: missing list");
	struct pc_dlp_pattern *pats = calloc(src->n_dlp_patterns + 1, sizeof(*pats));
	if (pats == NULL)
		return -ENOMEM;
	for (uint32_t k = 0; k < src->n_dlp_patterns; k++) {
		pats[k].name = src->dlp_patterns[k].name;
		pats[k].regex = src->dlp_patterns[k].regex;
	}
	void *blob = NULL;
	size_t blob_len = 0;
	char derr[512];
	derr[0] = '\0';
	int rc = pc_dlp_compile(pats, src->n_dlp_patterns, !src->dlp_no_defaults, &blob, &blob_len,
				derr, sizeof(derr));
	free(pats);
	if (rc)
		return compile_error(c, rc, "%s: %s", src->n_dlp_patterns ? "$.dlp.patterns" : "$.dlp",
				     derr[0] ? derr : "DLP patterns rejected");
	bool external = false;
	for (uint32_t i = 0; i < src->n_destinations && !external; i++)
		external = src->destinations[i].external;
	if (external) {
		void *dst = cbuf_add(&c->sec[PC_IMG_SEC_DLP], blob_len);
		if (dst == NULL) {
			free(blob);
			return -ENOMEM;
		}
		memcpy(dst, blob, blob_len);
		*stored = true;
	}
	free(blob);
	return 0;
}

static int emit_issuers(struct pc_compile *c)
{
	const struct pc_policy_src *src = c->src;
	for (uint32_t i = 0; i < src->n_jwt_issuers; i++) {
		const struct pc_src_jwt_issuer *is = &src->jwt_issuers[i];
		if (is->issuer == NULL || is->issuer[0] == '\0')
			return compile_error(c, -EINVAL, "$.jwt_issuers[%u]: missing issuer", i);
		if (is->jwks == NULL || is->jwks[0] == '\0')
			return compile_error(c, -EINVAL, "$.jwt_issuers[%u]: missing key set", i);
		if (is->algs == 0 || (is->algs >> PC_JWT_ALG_COUNT) != 0)
			return compile_error(c, -EINVAL, "$.jwt_issuers[%u].algorithms: bad set 0x%x",
					     i, is->algs);
		if ((is->n_audiences && is->audiences == NULL) ||
		    is->n_audiences > PC_POLICY_IMAGE_MAX_ARRAY)
			return compile_error(c, -EINVAL, "$.jwt_issuers[%u].audiences: bad list", i);
		const char *th = is->token_header ? is->token_header : PC_POLICY_DEFAULT_TOKEN_HEADER;
		if (!is_token(th))
			return compile_error(c, -EINVAL,
					     "$.jwt_issuers[%u].token_header: \"%s\" is not a header name",
					     i, th);
		uint32_t auds_start = sec_count(c, PC_IMG_SEC_AUDIENCES);
		for (uint32_t k = 0; k < is->n_audiences; k++) {
			if (is->audiences[k] == NULL)
				return compile_error(c, -EINVAL, "$.jwt_issuers[%u].audiences[%u]: missing",
						     i, k);
			uint32_t a = str_add(c, is->audiences[k], strlen(is->audiences[k]), false);
			if (!sec_add_u32(c, PC_IMG_SEC_AUDIENCES, a))
				return -ENOMEM;
		}
		struct pc_img_issuer ii = {
			.issuer = str_add(c, is->issuer, strlen(is->issuer), false),
			.jwks = str_add(c, is->jwks, strlen(is->jwks), false),
			.token_header = str_add(c, th, strlen(th), true),
			.auds_start = auds_start,
			.n_auds = is->n_audiences,
			.algs = is->algs,
			.leeway_s = is->leeway_s,
			.max_lifetime_s = is->max_lifetime_s,
			.require_exp = is->require_exp ? 1 : 0,
		};
		struct pc_img_issuer *at = sec_add(c, PC_IMG_SEC_ISSUERS);
		if (at == NULL)
			return -ENOMEM;
		*at = ii;
	}
	return 0;
}

/* Checks one path pattern alone, so an error names exactly it, and picks its
 * flags: HS_FLAG_ALLOWEMPTY only where the pattern can match nothing at all,
 * since Hyperscan refuses such patterns otherwise. */
static int check_pattern(struct pc_compile *c, const char *pat, uint32_t i, uint32_t j,
			 unsigned *flags)
{
	hs_expr_info_t *info = NULL;
	hs_compile_error_t *cerr = NULL;
	*flags = HS_FLAG_SINGLEMATCH;
	if (hs_expression_info(pat, *flags, &info, &cerr) != HS_SUCCESS) {
		int rc = compile_error(c, -EINVAL,
				       "$.rules[%u].paths[%u]: rule \"%s\": path pattern \"%s\" rejected by Hyperscan: %s",
				       i, j, c->src->rules[i].id, pat,
				       cerr ? cerr->message : "unknown error");
		hs_free_compile_error(cerr);
		return rc;
	}
	if (info->min_width == 0)
		*flags |= HS_FLAG_ALLOWEMPTY;
	free(info); /* allocated with the misc allocator, malloc by default */
	return 0;
}

static int emit_rules(struct pc_compile *c)
{
	const struct pc_policy_src *src = c->src;
	uint32_t total_paths = 0;
	for (uint32_t i = 0; i < src->n_rules; i++) {
		const struct pc_src_rule *r = &src->rules[i];
		if (r->n_paths > PC_POLICY_IMAGE_MAX_ARRAY - total_paths)
			return compile_error(c, -E2BIG, "$.rules: more than %u path patterns",
					     PC_POLICY_IMAGE_MAX_ARRAY);
		total_paths += r->n_paths;
	}
	c->patterns = calloc(total_paths + 1, sizeof(*c->patterns));
	c->pattern_flags = calloc(total_paths + 1, sizeof(*c->pattern_flags));
	c->pattern_ids = calloc(total_paths + 1, sizeof(*c->pattern_ids));
	if (c->patterns == NULL || c->pattern_flags == NULL || c->pattern_ids == NULL)
		return -ENOMEM;

	for (uint32_t i = 0; i < src->n_rules; i++) {
		const struct pc_src_rule *r = &src->rules[i];
		int rc = check_name(c, r->id, "$.rules", i);
		if (rc)
			return rc;
		if (r->action >= PC_ACTION_COUNT)
			return compile_error(c, -EINVAL, "$.rules[%u].action: bad value %u", i,
					     r->action);
		if (r->mode > PC_MODE_SHADOW)
			return compile_error(c, -EINVAL, "$.rules[%u].mode: bad value %u", i,
					     r->mode);
		if ((r->n_identities && r->identities == NULL) ||
		    (r->n_destinations && r->destinations == NULL) || (r->n_paths && r->paths == NULL) ||
		    (r->n_headers && r->headers == NULL) || (r->n_claims && r->claims == NULL))
			return compile_error(c, -EINVAL, "$.rules[%u]: missing list", i);
		if (r->n_identities > PC_POLICY_IMAGE_MAX_ARRAY ||
		    r->n_destinations > PC_POLICY_IMAGE_MAX_ARRAY ||
		    r->n_headers > PC_POLICY_IMAGE_MAX_ARRAY || r->n_claims > PC_POLICY_IMAGE_MAX_ARRAY)
			return compile_error(c, -E2BIG, "$.rules[%u]: list too long", i);
		uint32_t id = str_add(c, r->id, strlen(r->id), false);

		uint32_t ids_start = sec_count(c, PC_IMG_SEC_RULE_REFS);
		for (uint32_t j = 0; j < r->n_identities; j++) {
			if (r->identities[j] >= src->n_identities)
				return compile_error(c, -EINVAL,
						     "$.rules[%u].identities[%u]: identity index %u out of range (%u identities)",
						     i, j, r->identities[j], src->n_identities);
			if (!sec_add_u32(c, PC_IMG_SEC_RULE_REFS, r->identities[j]))
				return -ENOMEM;
		}
		uint32_t dests_start = sec_count(c, PC_IMG_SEC_RULE_REFS);
		for (uint32_t j = 0; j < r->n_destinations; j++) {
			if (r->destinations[j] >= src->n_destinations)
				return compile_error(c, -EINVAL,
						     "$.rules[%u].destinations[%u]: destination index %u out of range (%u destinations)",
						     i, j, r->destinations[j], src->n_destinations);
			if (!sec_add_u32(c, PC_IMG_SEC_RULE_REFS, r->destinations[j]))
				return -ENOMEM;
		}
		uint32_t hdrs_start = sec_count(c, PC_IMG_SEC_HDR_CONDS);
		rc = emit_rule_headers(c, r, i);
		if (rc)
			return rc;
		uint32_t claims_start = sec_count(c, PC_IMG_SEC_CLAIM_CONDS);
		rc = emit_rule_claims(c, r, i);
		if (rc)
			return rc;

		uint32_t paths_start = sec_count(c, PC_IMG_SEC_PATHS);
		for (uint32_t j = 0; j < r->n_paths; j++) {
			const char *pat = r->paths[j];
			if (pat == NULL)
				return compile_error(c, -EINVAL, "$.rules[%u].paths[%u]: missing", i, j);
			uint32_t n = c->n_patterns;
			rc = check_pattern(c, pat, i, j, &c->pattern_flags[n]);
			if (rc)
				return rc;
			c->patterns[n] = pat;
			c->pattern_ids[n] = n;
			c->n_patterns++;
			struct pc_img_path *p = sec_add(c, PC_IMG_SEC_PATHS);
			if (p == NULL)
				return -ENOMEM;
			p->rule = i;
			p->pattern = str_add(c, pat, strlen(pat), false);
		}

		struct pc_img_rule tr = { 0 };
		rc = emit_rule_tls(c, r, i, &tr);
		if (rc == 0)
			rc = emit_rule_body(c, r, i, &tr);
		if (rc)
			return rc;
		if (r->deny_response > PC_DENY_RESPONSE_MAX)
			return compile_error(c, -EINVAL, "$.rules[%u].deny_response: bad value %u", i,
					     r->deny_response);
		struct pc_img_rule *ir = sec_add(c, PC_IMG_SEC_RULES);
		if (ir == NULL)
			return -ENOMEM;
		*ir = tr;
		ir->id = id;
		ir->action = r->action;
		ir->flags = r->mode == PC_MODE_SHADOW ? PC_IMG_RULE_SHADOW : 0;
		ir->methods = r->methods;
		ir->ids_start = ids_start;
		ir->n_ids = r->n_identities;
		ir->dests_start = dests_start;
		ir->n_dests = r->n_destinations;
		ir->hdrs_start = hdrs_start;
		ir->n_hdrs = r->n_headers;
		ir->paths_start = paths_start;
		ir->n_paths = r->n_paths;
		ir->claims_start = claims_start;
		ir->n_claims = r->n_claims;
		ir->deny_response = r->deny_response;
	}
	return 0;
}

/* The one database of every path pattern. A failure here, after every
 * pattern passed alone, is about the set (size, resources); when Hyperscan
 * names a pattern, the message does too. */
static int emit_hsdb(struct pc_compile *c)
{
	if (c->n_patterns == 0)
		return 0;
	hs_database_t *db = NULL;
	hs_compile_error_t *cerr = NULL;
	if (hs_compile_multi(c->patterns, c->pattern_flags, c->pattern_ids, c->n_patterns,
			     HS_MODE_BLOCK, NULL, &db, &cerr) != HS_SUCCESS) {
		int rc;
		if (cerr != NULL && cerr->expression >= 0 && (uint32_t)cerr->expression < c->n_patterns) {
			const struct pc_img_path *p =
				(const struct pc_img_path *)c->sec[PC_IMG_SEC_PATHS].p + cerr->expression;
			const struct pc_src_rule *r = &c->src->rules[p->rule];
			uint32_t j = (uint32_t)cerr->expression -
				     ((const struct pc_img_rule *)c->sec[PC_IMG_SEC_RULES].p)[p->rule]
					     .paths_start;
			rc = compile_error(c, -EINVAL,
					   "$.rules[%u].paths[%u]: rule \"%s\": path pattern \"%s\" rejected by Hyperscan: %s",
					   p->rule, j, r->id, c->patterns[cerr->expression],
					   cerr->message);
		} else {
			rc = compile_error(c, -EINVAL, "$.rules: Hyperscan cannot build the path database: %s",
					   cerr ? cerr->message : "unknown error");
		}
		hs_free_compile_error(cerr);
		return rc;
	}
	char *bytes = NULL;
	size_t len = 0;
	hs_error_t he = hs_serialize_database(db, &bytes, &len);
	hs_free_database(db);
	if (he != HS_SUCCESS)
		return compile_error(c, -ENOMEM, "cannot serialize the Hyperscan database (error %d)", he);
	void *dst = cbuf_add(&c->sec[PC_IMG_SEC_HSDB], len);
	if (dst != NULL)
		memcpy(dst, bytes, len);
	free(bytes);
	return dst != NULL ? 0 : -ENOMEM;
}

static int assemble(struct pc_compile *c, bool dlp_stored, void **image, size_t *image_len)
{
	uint64_t total = sizeof(struct pc_img_header);
	uint32_t off[PC_IMG_SEC_COUNT];
	for (unsigned s = 0; s < PC_IMG_SEC_COUNT; s++) {
		total = (total + PC_POLICY_IMAGE_ALIGN - 1) & ~(uint64_t)(PC_POLICY_IMAGE_ALIGN - 1);
		off[s] = (uint32_t)total;
		total += c->sec[s].len;
		if (total > UINT32_MAX)
			return compile_error(c, -E2BIG, "policy image larger than 4 GiB");
	}
	uint8_t *img = calloc(1, (size_t)total);
	if (img == NULL)
		return -ENOMEM;
	struct pc_img_header *h = (struct pc_img_header *)img;
	h->magic = PC_POLICY_IMAGE_MAGIC;
	h->abi = PC_POLICY_IMAGE_ABI;
	h->header_len = sizeof(*h);
	h->total_len = (uint32_t)total;
	h->policy_version = c->src->version;
	h->default_action = c->src->default_action;
	h->flags = c->src->mode == PC_MODE_SHADOW ? PC_IMG_POLICY_SHADOW : 0;
	if (dlp_stored && !c->src->dlp_log_only)
		h->flags |= PC_IMG_POLICY_DLP_BLOCKS;
	h->deny_response = c->src->deny_response;
	h->path_flags = (c->src->path_keep_slashes ? PC_IMG_PATH_KEEP_SLASHES : 0) |
			(c->src->path_keep_encoded_slash ? PC_IMG_PATH_KEEP_ENCODED_SLASH : 0);
	h->body_window = c->src->body_window ? c->src->body_window : PC_POLICY_DEFAULT_BODY_WINDOW;
	h->n_identities = c->src->n_identities;
	h->n_destinations = c->src->n_destinations;
	h->n_rules = c->src->n_rules;
	h->n_api_keys = sec_count(c, PC_IMG_SEC_KEYS);
	h->n_paths = sec_count(c, PC_IMG_SEC_PATHS);
	h->n_issuers = sec_count(c, PC_IMG_SEC_ISSUERS);
	h->n_sections = PC_IMG_SEC_COUNT;
	for (unsigned s = 0; s < PC_IMG_SEC_COUNT; s++) {
		h->sections[s].off = off[s];
		h->sections[s].len = (uint32_t)c->sec[s].len;
		if (c->sec[s].len)
			memcpy(img + off[s], c->sec[s].p, c->sec[s].len);
	}
	h->crc32 = pc__img_crc(img, (size_t)total);
	*image = img;
	*image_len = (size_t)total;
	return 0;
}

int pc_policy_compile(const struct pc_policy_src *src, void **image, size_t *image_len,
		      char *err, size_t err_len)
{
	struct pc_compile c = {
		.src = src,
		.origin = src != NULL && src->origin != NULL ? src->origin : "policy",
		.err = err,
		.err_len = err_len,
	};
	int rc;

	if (err != NULL && err_len > 0)
		err[0] = '\0';
	if (src == NULL || image == NULL || image_len == NULL) {
		rc = compile_error(&c, -EINVAL, "nothing to compile");
		goto out;
	}
	*image = NULL;
	*image_len = 0;
	if (src->default_action >= PC_ACTION_COUNT) {
		rc = compile_error(&c, -EINVAL, "$.default_action: bad value %u", src->default_action);
		goto out;
	}
	if (src->mode > PC_MODE_SHADOW) {
		rc = compile_error(&c, -EINVAL, "$.mode: bad value %u", src->mode);
		goto out;
	}
	if (src->n_jwt_issuers > PC_POLICY_MAX_ISSUERS) {
		rc = compile_error(&c, -E2BIG, "$.jwt_issuers: more than %u issuers (%u)",
				   PC_POLICY_MAX_ISSUERS, src->n_jwt_issuers);
		goto out;
	}
	if (src->n_identities > PC_POLICY_MAX_ITEMS || src->n_destinations > PC_POLICY_MAX_ITEMS ||
	    src->n_rules > PC_POLICY_MAX_ITEMS) {
		rc = compile_error(&c, -E2BIG,
				   "more than %u identities, destinations or rules (%u, %u, %u)",
				   PC_POLICY_MAX_ITEMS, src->n_identities, src->n_destinations,
				   src->n_rules);
		goto out;
	}
	if ((src->n_identities && src->identities == NULL) ||
	    (src->n_destinations && src->destinations == NULL) || (src->n_rules && src->rules == NULL) ||
	    (src->n_jwt_issuers && src->jwt_issuers == NULL)) {
		rc = compile_error(&c, -EINVAL, "builder lists are missing");
		goto out;
	}
	if (src->deny_response > PC_DENY_RESPONSE_MAX) {
		rc = compile_error(&c, -EINVAL, "$.deny_response: bad value %u", src->deny_response);
		goto out;
	}
	if (src->body_window > PC_POLICY_MAX_BODY_WINDOW) {
		rc = compile_error(&c, -EINVAL, "$.body_window_bytes: %u is more than %u",
				   src->body_window, PC_POLICY_MAX_BODY_WINDOW);
		goto out;
	}
	/* Offset 0 is the empty string, so a zeroed field is a valid string. */
	str_add(&c, "", 0, false);
	bool dlp_stored = false;
	if ((rc = emit_issuers(&c)) != 0 || (rc = emit_identities(&c)) != 0 || (rc = emit_keys(&c)) != 0 ||
	    (rc = emit_destinations(&c)) != 0 || (rc = emit_rules(&c)) != 0 ||
	    (rc = emit_hsdb(&c)) != 0 || (rc = emit_dlp(&c, &dlp_stored)) != 0)
		goto out;
	for (unsigned s = 0; s < PC_IMG_SEC_COUNT; s++) {
		if (c.sec[s].nomem || c.sec[s].len > UINT32_MAX) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = assemble(&c, dlp_stored, image, image_len);
out:
	if (rc == -ENOMEM && err != NULL && err_len > 0 && err[0] == '\0')
		compile_error(&c, rc, "out of memory");
	for (unsigned s = 0; s < PC_IMG_SEC_COUNT; s++)
		free(c.sec[s].p);
	free(c.patterns);
	free(c.pattern_flags);
	free(c.pattern_ids);
	return rc;
}
