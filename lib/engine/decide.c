/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The decision engine. One request, or one new L4 flow, in; one verdict out.
 * The dataplane workers and portcullisctl run exactly this code on exactly
 * the runtime policy built from an image, so an offline explain is what the
 * wire would have done.
 *
 * Semantics, in order:
 *
 * 1a. JWT. When the policy has JWT issuers, each distinct token header of
 *    theirs is looked at, in issuer order (for "authorization": "Bearer",
 *    spaces, then the token). A value that looks like a JWS compact token
 *    (exactly two '.', nothing outside the base64url alphabet) is one; any
 *    other value falls through to 1b, so an opaque Bearer API key still
 *    works. The token is looked up in the scratch's cache of verified tokens
 *    (one per worker, flushed whenever the scratch is fitted to a policy);
 *    on a miss it is verified with pc_jwt_verify_any() over the policy's
 *    issuers at req->now_s and cached on success only. A token that fails
 *    is denied, reason JWT_INVALID with the JWT reason as detail (its name,
 *    "jwt_expired" etc., is the verdict's reason name). A valid one names
 *    the first identity, in policy order, bound to its issuer whose subject
 *    glob matches "sub", or whose claim glob matches that claim; none:
 *    deny, JWT_UNKNOWN_SUBJECT. A named identity that lists sources must
 *    see the request come from one of them, else deny UNBOUND_SOURCE, as
 *    for keys. Credential kind JWT; the fingerprint is the first bytes of
 *    SHA-256 of the token's signature segment, never the token.
 *
 * 1b. API keys. For each distinct API-key header name of the policy, in policy
 *    order, the request's first header of that name is looked at; for
 *    "authorization" the value must be "Bearer" (any case), one or more
 *    spaces, and the key, or the header is ignored; an empty key is ignored
 *    too. The first key found decides: its SHA-256 is searched in the sorted
 *    digest table. Unknown digest: deny, API_KEY_UNKNOWN. Known, but the
 *    identity lists sources and the request's source is in none of them:
 *    deny, UNBOUND_SOURCE, identity reported. Otherwise that identity, with
 *    credential kind API_KEY. The credential fingerprint is the first
 *    PC_CRED_FP_LEN bytes of the key's digest in all three cases, never the
 *    key. Without a key, the source-only identities (sources, no keys) are
 *    tried, longest prefix first: credential kind SOURCE, fingerprint the
 *    first bytes of SHA-256 of the source address (4 or 16 bytes, network
 *    order), so one host of a prefix can be quarantined. Else the caller is
 *    unknown (identity -1). An unknown source address (family 0, as explain
 *    sends without --src) skips the binding check and source-only matching.
 *
 * 2. Destinations. One matches when each of its non-empty lists does:
 *    addresses contain dst, ports contain dport, hosts match the request's
 *    Host (case-insensitive; the parser stripped the port; a trailing '.' is
 *    ignored; "*.x.y" matches "a.x.y" and "a.b.x.y", not "x.y"). An HTTP
 *    request matches HTTP and ANY destinations; an L4 decision (no HTTP)
 *    matches TCP or UDP by its l4_proto, or ANY, and never a destination with
 *    hosts. An unknown dst (family 0) skips the address and port conditions.
 *
 * 3. Rules. The identity's candidates (rules naming it, and rules naming no
 *    identity), in policy order; the first whose every given condition holds
 *    decides, reason RULE. Conditions: any listed destination matches; the
 *    method's bit is in the method set; one of the rule's path patterns
 *    matches the path; every header condition's header is present (first
 *    occurrence) with one of its values, exactly; every claim condition's
 *    claim holds one of its values (pc_jwt_claim_has(): arrays contain,
 *    "scope"/"scp" words, strings equal), which only a caller identified by
 *    a verified JWT can satisfy. An L4 decision skips rules with methods,
 *    paths, headers or claims.
 *
 * 4. No rule: the policy's default action, reason UNKNOWN_CALLER when the
 *    caller is unknown, else DEFAULT.
 *
 * TLS. A TLS flow is decided once, at its ClientHello (req->tls set, http
 *    NULL; the caller parsed the hello, and denies a refused one itself with
 *    pc_verdict_tls_malformed()). Identity is step 1b's source-only part
 *    alone: keys and tokens travel encrypted, so an identity known by them
 *    is never named, and rules naming only such identities never match.
 *    Destinations of protocol tls or any match by address and port as
 *    above, and their hosts match the SNI with the Host rules; a
 *    destination with hosts never matches a hello without SNI. Rules with
 *    methods, paths, headers or claims are skipped; a rule's TLS posture
 *    must hold in full: the highest version the client offers (GREASE
 *    ignored) at least min_version, its JA4 (computed once per decision,
 *    only when a candidate rule has a JA4 list) exactly one of the list, one
 *    of the ALPN protocols it offers in the rule's list. Conversely, HTTP
 *    and L4 decisions skip every rule with TLS posture.
 *    When no rule matches and the default action is deny, the reason is
 *    refined from the first allow rule, in candidate order, whose
 *    destinations match except for a missing SNI, or match but whose
 *    posture fails: the first failing of, in this order, no SNI
 *    (TLS_SNI_MISSING), version (TLS_VERSION_TOO_LOW), JA4
 *    (TLS_FINGERPRINT_NOT_ALLOWED), ALPN (TLS_ALPN_NOT_ALLOWED). This
 *    replaces DEFAULT and UNKNOWN_CALLER (the rule would have admitted the
 *    caller but for the hello); with no such rule they stay. An SNI that is
 *    present but matches no hosts is a plain miss.
 *
 * 0. Before any of this, an HTTP request's path is normalised the way a
 *    backend will read it (RFC 3986 dot-segments, unreserved
 *    percent-encodings decoded, slashes merged) and the rules see only the
 *    normalised form; a path that backends may read in more than one way
 *    (encoded slashes or dots, backslashes, bad escapes) is denied with
 *    reason PATH_REJECTED after the identity is known, so the log names the
 *    caller. The asterisk-form target "*" is left alone.
 *
 * Cost. pc_decide never allocates, except inside OpenSSL when a token is
 * not in the cache and its signature must be verified (a cache hit is one
 * hash and one compare of the token). The path is scanned once, with one
 * Hyperscan block scan over the database of every rule's patterns, and only
 * when some candidate rule has paths; a match stamps its rule with the
 * request's epoch, and destination results are memoised the same way, so no
 * per-request array is ever cleared. The rule walk is then a few compares per
 * candidate, and the candidates are only the identity's own rules.
 */
/* SHA256_Init/Update/Final are deprecated in OpenSSL 3, but they are the one
 * digest interface that neither allocates nor fetches per call: SHA256() now
 * goes through EVP_Q_digest (about 800 cycles and three allocations per key
 * here) and a reused EVP_MD_CTX still allocates its provider context on every
 * init. The low-level calls run the same assembly in about 130 cycles. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <errno.h>
#include <hs/hs.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "http/path_norm.h"
#include "json/json_scan.h"
#include "jwt/jwt_cache.h"
#include "pkt/pkt_parse.h"
#include "policy/policy_image.h"
#include "util/addr.h"

/* Tokens the per-worker cache keeps: enough for the callers of a busy
 * gateway (a miss costs one signature check), small enough (about 4 MiB with
 * 2 KiB tokens) to have one per worker. */
#define PC_ENGINE_JWT_CACHE_ENTRIES 1024
#define PC_ENGINE_JWT_CACHE_TOKEN_LEN 2048
/* A claim value longer than this never matches a glob binding. */
#define PC_ENGINE_CLAIM_BUF 1024

struct pc_engine_scratch {
	hs_scratch_t *hs;
	uint32_t epoch;            /* this request's stamp; never 0 */
	uint32_t cap_rules;
	uint32_t cap_dests;
	uint32_t *rule_path_epoch; /* [cap_rules] epoch at which a path pattern of the rule matched */
	uint32_t *dest_epoch;      /* [cap_dests] epoch at which dest_match was computed */
	uint8_t *dest_match;       /* [cap_dests] DEST_NO, DEST_YES or DEST_NEED_SNI */
	uint32_t path_len;         /* normalised path of the last decision */
	bool path_changed;
	char path[PC_HTTP_MAX_LINE];
	/* JWT: created by pc_engine_scratch_fit() for a policy with issuers. */
	struct pc_jwt_scratch *jwt;
	struct pc_jwt_cache *jwt_cache;
	const struct pc_policy *jwt_policy; /* the policy the cache was filled under */
	struct pc_jwt_claims claims;        /* of the last decision's token */
	bool have_claims;
	char claim_buf[PC_ENGINE_CLAIM_BUF]; /* one unescaped claim value, for globs */
	/* TLS: the hello's JA4, computed at most once per decision. */
	bool ja4_done;
	char ja4[PC_TLS_JA4_LEN + 1];
};

static const char *const reason_names[] = {
#define PC_X(name, text) text,
	PC_DECISION_REASONS(PC_X)
#undef PC_X
};

static const char *const action_names[] = {
#define PC_X(name, text) text,
	PC_ACTIONS(PC_X)
#undef PC_X
};

/* ---- scratch ---- */

static int grow_u32(uint32_t **a, uint32_t old_n, uint32_t n)
{
	uint32_t *p = realloc(*a, (size_t)n * sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	memset(p + old_n, 0, (size_t)(n - old_n) * sizeof(*p));
	*a = p;
	return 0;
}

/* Growing replaces memory: hs_alloc_scratch() frees a scratch that is too
 * small and allocates a bigger one, and the arrays are realloc'ed. So while
 * the owner may be inside pc_decide() with s, fit it only if p needs no
 * growth (the call then changes nothing); otherwise fit it while the owner is
 * quiescent, or give the owner a new scratch from pc_engine_scratch_new(p)
 * with the new policy and free the old one after the grace period. */
int pc_engine_scratch_fit(struct pc_engine_scratch *s, const struct pc_policy *p)
{
	if (s == NULL)
		return -EINVAL;
	if (p == NULL)
		return 0;
	if (p->db != NULL && hs_alloc_scratch(p->db, &s->hs) != HS_SUCCESS)
		return -ENOMEM;
	if (p->n_rules > s->cap_rules) {
		if (grow_u32(&s->rule_path_epoch, s->cap_rules, p->n_rules))
			return -ENOMEM;
		s->cap_rules = p->n_rules;
	}
	if (p->n_destinations > s->cap_dests) {
		uint8_t *m = realloc(s->dest_match, p->n_destinations);
		if (m == NULL)
			return -ENOMEM;
		s->dest_match = m;
		if (grow_u32(&s->dest_epoch, s->cap_dests, p->n_destinations))
			return -ENOMEM;
		s->cap_dests = p->n_destinations;
	}
	if (p->n_issuers > 0 && s->jwt == NULL) {
		s->jwt = pc_jwt_scratch_new();
		if (s->jwt == NULL)
			return -ENOMEM;
	}
	if (p->n_issuers > 0 && s->jwt_cache == NULL) {
		s->jwt_cache = pc_jwt_cache_new(PC_ENGINE_JWT_CACHE_ENTRIES,
						PC_ENGINE_JWT_CACHE_TOKEN_LEN);
		if (s->jwt_cache == NULL)
			return -ENOMEM;
	}
	/* Entries were verified against the previous issuers and key sets: a
	 * key removed from the set must stop its tokens at once. */
	if (s->jwt_cache != NULL)
		pc_jwt_cache_flush(s->jwt_cache);
	s->jwt_policy = p;
	return 0;
}

struct pc_engine_scratch *pc_engine_scratch_new(const struct pc_policy *p)
{
	struct pc_engine_scratch *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	int rc = pc_engine_scratch_fit(s, p);
	if (rc) {
		pc_engine_scratch_free(s);
		errno = -rc;
		return NULL;
	}
	return s;
}

void pc_engine_scratch_free(struct pc_engine_scratch *s)
{
	if (s == NULL)
		return;
	hs_free_scratch(s->hs);
	pc_jwt_cache_free(s->jwt_cache);
	pc_jwt_scratch_free(s->jwt);
	free(s->rule_path_epoch);
	free(s->dest_epoch);
	free(s->dest_match);
	free(s);
}

/* ---- identity ---- */

static void sha256(const void *data, size_t len, uint8_t out[SHA256_DIGEST_LENGTH])
{
	SHA256_CTX ctx;
	SHA256_Init(&ctx);
	SHA256_Update(&ctx, data, len);
	SHA256_Final(out, &ctx);
}

static inline uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* RFC 9110 §11.6.2 / RFC 6750 §2.1: credentials = auth-scheme 1*SP token68;
 * the scheme is case-insensitive. On success *key is the token. */
static bool bearer_token(struct pc_str *key)
{
	static const char scheme[] = "bearer";
	const uint32_t n = sizeof(scheme) - 1;
	if (key->len <= n || key->p[n] != ' ')
		return false;
	for (uint32_t i = 0; i < n; i++)
		if (ascii_lower((uint8_t)key->p[i]) != (uint8_t)scheme[i])
			return false;
	uint32_t i = n;
	while (i < key->len && key->p[i] == ' ')
		i++;
	key->p += i;
	key->len -= i;
	return true;
}

/* Index of digest in the sorted key table, or -1. */
static int32_t key_lookup(const struct pc_policy *p, const uint8_t *digest)
{
	uint32_t lo = 0, hi = p->n_keys;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int c = memcmp(p->keys[mid].digest, digest, PC_API_KEY_DIGEST_LEN);
		if (c == 0)
			return (int32_t)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

static bool in_prefixes(const struct pc_prefix *pf, uint32_t n, const struct pc_addr *a)
{
	for (uint32_t i = 0; i < n; i++)
		if (pc_prefix_contains(&pf[i], a))
			return true;
	return false;
}

static void addr_fingerprint(const struct pc_addr *a, uint8_t *fp)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	if (a->family == 4) {
		uint8_t b[4] = { (uint8_t)(a->v4 >> 24), (uint8_t)(a->v4 >> 16), (uint8_t)(a->v4 >> 8),
				 (uint8_t)a->v4 };
		sha256(b, sizeof(b), digest);
	} else {
		sha256(a->v6, 16, digest);
	}
	memcpy(fp, digest, PC_CRED_FP_LEN);
}

/* ---- JWT ---- */

/* RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.'
 * BASE64URL(signature), base64url without padding (RFC 7515 §2). Only the
 * shape: anything else is an opaque key for the API-key path. */
static bool looks_like_jws(struct pc_str t)
{
	uint32_t dots = 0;
	for (uint32_t i = 0; i < t.len; i++) {
		uint8_t ch = (uint8_t)t.p[i];
		if (ch == '.') {
			dots++;
			continue;
		}
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || ch == '_'))
			return false;
	}
	return dots == 2;
}

/* '*' matches any run of bytes, '?' one byte; everything else itself. The
 * classic two-pointer walk: on a mismatch, retry from just after the last
 * '*' with one more byte swallowed by it, so it is O(len * pattern) at worst
 * and never recursive. */
static bool glob_match(struct pc_str pat, const char *s, uint32_t len)
{
	uint32_t pi = 0, si = 0, star = UINT32_MAX, mark = 0;
	while (si < len) {
		if (pi < pat.len && (pat.p[pi] == '?' || pat.p[pi] == s[si])) {
			pi++;
			si++;
		} else if (pi < pat.len && pat.p[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (star != UINT32_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pat.len && pat.p[pi] == '*')
		pi++;
	return pi == pat.len;
}

static bool value_matches(const struct pc_rt_identity *id, const char *s, uint32_t len)
{
	if (id->jwt_glob)
		return glob_match(id->jwt_value, s, len);
	return id->jwt_value.len == len && memcmp(id->jwt_value.p, s, len) == 0;
}

/* A glob over a JSON value: strings are unescaped first; numbers and
 * booleans are matched as written. */
static bool json_value_glob(struct pc_engine_scratch *s, const struct pc_rt_identity *id,
			    const struct pc_json_value *v)
{
	size_t n;
	switch (v->kind) {
	case PC_JSON_STRING:
		if (pc_json_unescape(v, s->claim_buf, sizeof(s->claim_buf), &n) != PC_JSON_OK)
			return false;
		return value_matches(id, s->claim_buf, (uint32_t)n);
	case PC_JSON_NUMBER:
	case PC_JSON_TRUE:
	case PC_JSON_FALSE:
		return value_matches(id, v->raw.p, v->raw.len);
	default:
		return false;
	}
}

static bool jwt_binding_matches(struct pc_engine_scratch *s, const struct pc_rt_identity *id,
				const struct pc_jwt_claims *cl)
{
	if (id->jwt_claim.len == 0)
		return cl->sub.p != NULL && value_matches(id, cl->sub.p, cl->sub.len);
	if (!id->jwt_glob)
		return pc_jwt_claim_has(cl, id->jwt_claim, id->jwt_value);
	struct pc_json_member m[PC_JWT_MAX_CLAIMS];
	unsigned n;
	if (pc_json_scan_object(cl->payload.p, cl->payload.len, m, PC_JWT_MAX_CLAIMS, &n) !=
	    PC_JSON_OK)
		return false;
	const struct pc_json_member *c = pc_json_find(m, n, id->jwt_claim.p, id->jwt_claim.len);
	if (c == NULL)
		return false;
	if (c->value.kind != PC_JSON_ARRAY)
		return json_value_glob(s, id, &c->value);
	struct pc_json_iter it;
	struct pc_json_value e;
	if (pc_json_array_begin(&it, &c->value) != PC_JSON_OK)
		return false;
	while (pc_json_array_next(&it, &e))
		if (json_value_glob(s, id, &e))
			return true;
	return false;
}

/* Step 1a for token t. Returns true when it decided (a deny). */
static bool identify_jwt(const struct pc_policy *p, struct pc_engine_scratch *s,
			 const struct pc_request *req, struct pc_str t, struct pc_verdict *v)
{
	uint8_t digest[SHA256_DIGEST_LENGTH];
	/* looks_like_jws() saw exactly two dots */
	const char *end = t.p + t.len;
	const char *d1 = memchr(t.p, '.', t.len);
	const char *sig = (const char *)memchr(d1 + 1, '.', (size_t)(end - d1 - 1)) + 1;
	sha256(sig, (size_t)(end - sig), digest);
	v->cred_kind = PC_CRED_JWT;
	memcpy(v->cred_fp, digest, PC_CRED_FP_LEN);

	if (unlikely(s->jwt == NULL || s->jwt_cache == NULL)) {
		v->reason = PC_REASON_ENGINE_ERROR;
		return true;
	}
	if (unlikely(s->jwt_policy != p)) {
		/* Handed a policy without a fit: never trust entries verified
		 * under another one. */
		pc_jwt_cache_flush(s->jwt_cache);
		s->jwt_policy = p;
	}
	enum pc_jwt_reason r = pc_jwt_cache_verify(s->jwt_cache, p->issuer_list, p->n_issuers, t.p,
						   t.len, req->now_s, s->jwt, &s->claims);
	if (r != PC_JWT_OK) {
		v->reason = PC_REASON_JWT_INVALID;
		v->detail = (uint8_t)r;
		return true;
	}
	s->have_claims = true;
	for (uint32_t k = 0; k < p->n_jwt_identities; k++) {
		uint32_t ident = p->jwt_identities[k];
		const struct pc_rt_identity *id = &p->identities[ident];
		if (id->jwt_issuer != s->claims.issuer_index || !jwt_binding_matches(s, id, &s->claims))
			continue;
		v->identity = (int32_t)ident;
		if (id->n_sources > 0 && req->src.family != 0 &&
		    !in_prefixes(id->sources, id->n_sources, &req->src)) {
			v->reason = PC_REASON_UNBOUND_SOURCE;
			return true;
		}
		return false;
	}
	v->reason = PC_REASON_JWT_UNKNOWN_SUBJECT;
	return true;
}

bool pc_engine_last_jwt(const struct pc_engine_scratch *s, struct pc_str *issuer,
			struct pc_str *subject)
{
	if (!s->have_claims)
		return false;
	if (issuer != NULL)
		*issuer = s->claims.iss;
	if (subject != NULL)
		*subject = s->claims.sub.p != NULL ? s->claims.sub : (struct pc_str){ "", 0 };
	return true;
}

/* Step 1. Returns true when the identity step already decided (a deny). */
static bool identify(const struct pc_policy *p, struct pc_engine_scratch *s,
		     const struct pc_request *req, struct pc_verdict *v)
{
	const struct pc_http_req *http = req->http;
	if (http != NULL && p->n_issuers > 0) {
		for (uint32_t k = 0; k < p->n_token_headers; k++) {
			const struct pc_rt_token_header *th = &p->token_headers[k];
			const struct pc_http_header *h = pc_http_header_find(http, th->name.p, th->name.len);
			if (h == NULL)
				continue;
			struct pc_str t = h->value;
			if (th->bearer && !bearer_token(&t))
				continue;
			if (looks_like_jws(t))
				return identify_jwt(p, s, req, t, v);
		}
	}
	if (http != NULL) {
		for (uint32_t k = 0; k < p->n_key_headers; k++) {
			const struct pc_rt_key_header *kh = &p->key_headers[k];
			const struct pc_http_header *h = pc_http_header_find(http, kh->name.p, kh->name.len);
			if (h == NULL)
				continue;
			struct pc_str key = h->value;
			if (kh->bearer && !bearer_token(&key))
				continue;
			if (key.len == 0)
				continue;
			uint8_t digest[SHA256_DIGEST_LENGTH];
			sha256(key.p, key.len, digest);
			v->cred_kind = PC_CRED_API_KEY;
			memcpy(v->cred_fp, digest, PC_CRED_FP_LEN);
			int32_t at = key_lookup(p, digest);
			if (at < 0) {
				v->reason = PC_REASON_API_KEY_UNKNOWN;
				return true;
			}
			uint32_t ident = p->keys[at].identity;
			const struct pc_rt_identity *id = &p->identities[ident];
			v->identity = (int32_t)ident;
			if (id->n_sources > 0 && req->src.family != 0 &&
			    !in_prefixes(id->sources, id->n_sources, &req->src)) {
				v->reason = PC_REASON_UNBOUND_SOURCE;
				return true;
			}
			return false;
		}
	}
	if (req->src.family != 0) {
		for (uint32_t i = 0; i < p->n_source_only; i++) {
			if (pc_prefix_contains(&p->source_only[i].prefix, &req->src)) {
				v->identity = (int32_t)p->source_only[i].identity;
				v->cred_kind = PC_CRED_SOURCE;
				addr_fingerprint(&req->src, v->cred_fp);
				return false;
			}
		}
	}
	return false;
}

/* ---- destinations ---- */

static bool ci_eq_lower(const char *a, const char *lower, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		if (ascii_lower((uint8_t)a[i]) != (uint8_t)lower[i])
			return false;
	return true;
}

static bool host_matches(const struct pc_rt_destination *d, struct pc_str host)
{
	if (host.len > 0 && host.p[host.len - 1] == '.')
		host.len--;
	for (uint32_t i = 0; i < d->n_hosts; i++) {
		const struct pc_rt_host *h = &d->hosts[i];
		if (h->wildcard) {
			/* h->s is ".x.y": at least one byte of label before it */
			if (host.len > h->len && ci_eq_lower(host.p + host.len - h->len, h->s, h->len))
				return true;
		} else if (host.len == h->len && ci_eq_lower(host.p, h->s, h->len)) {
			return true;
		}
	}
	return false;
}

/* dest_eval() results; NEED_SNI only for TLS decisions: all but the hosts
 * match, and the hello named no server. */
enum { DEST_NO = 0, DEST_YES = 1, DEST_NEED_SNI = 2 };

static inline const struct pc_tls_hello *tls_of(const struct pc_request *req)
{
	return req->http == NULL ? req->tls : NULL;
}

static uint8_t dest_eval(const struct pc_rt_destination *d, const struct pc_request *req)
{
	const struct pc_tls_hello *tls = tls_of(req);
	if (req->http != NULL) {
		if (d->proto != PC_DEST_HTTP && d->proto != PC_DEST_ANY)
			return DEST_NO;
	} else if (tls != NULL) {
		if (d->proto != PC_DEST_TLS && d->proto != PC_DEST_ANY)
			return DEST_NO;
	} else {
		if (d->n_hosts > 0)
			return DEST_NO;
		if (d->proto != PC_DEST_ANY &&
		    !(d->proto == PC_DEST_TCP && req->l4_proto == PC_PROTO_TCP) &&
		    !(d->proto == PC_DEST_UDP && req->l4_proto == PC_PROTO_UDP))
			return DEST_NO;
	}
	if (req->dst.family != 0) {
		if (d->n_addrs > 0 && !in_prefixes(d->addrs, d->n_addrs, &req->dst))
			return DEST_NO;
		if (d->n_ports > 0) {
			bool ok = false;
			for (uint32_t i = 0; i < d->n_ports && !ok; i++)
				ok = d->ports[i] == req->dport;
			if (!ok)
				return DEST_NO;
		}
	}
	if (d->n_hosts == 0)
		return DEST_YES;
	if (req->http != NULL)
		return host_matches(d, req->http->host) ? DEST_YES : DEST_NO;
	if (tls->sni_len == 0)
		return DEST_NEED_SNI;
	return host_matches(d, (struct pc_str){ tls->sni, tls->sni_len }) ? DEST_YES : DEST_NO;
}

static inline uint8_t dest_matches(const struct pc_policy *p, struct pc_engine_scratch *s,
				   uint32_t d, const struct pc_request *req)
{
	if (s->dest_epoch[d] != s->epoch) {
		s->dest_match[d] = dest_eval(&p->destinations[d], req);
		s->dest_epoch[d] = s->epoch;
	}
	return s->dest_match[d];
}

/* ---- rules ---- */

struct scan_ctx {
	const struct pc_img_path *paths;
	uint32_t n_paths;
	uint32_t *marks;
	uint32_t epoch;
};

static int on_path_match(unsigned int id, unsigned long long from, unsigned long long to,
			 unsigned int flags, void *arg)
{
	(void)from;
	(void)to;
	(void)flags;
	struct scan_ctx *c = arg;
	/* The image loader checked every path's rule, not the ids inside the
	 * Hyperscan database: an id past the table is ignored. */
	if (likely(id < c->n_paths))
		c->marks[c->paths[id].rule] = c->epoch;
	return 0;
}

static bool headers_match(const struct pc_rt_rule *r, const struct pc_http_req *http)
{
	for (uint32_t i = 0; i < r->n_hdrs; i++) {
		const struct pc_rt_hdr_cond *hc = &r->hdrs[i];
		const struct pc_http_header *h = pc_http_header_find(http, hc->name.p, hc->name.len);
		if (h == NULL)
			return false;
		bool ok = false;
		for (uint32_t j = 0; j < hc->n_values && !ok; j++)
			ok = h->value.len == hc->values[j].len &&
			     memcmp(h->value.p, hc->values[j].p, h->value.len) == 0;
		if (!ok)
			return false;
	}
	return true;
}

/* Every claim condition holds on the verified token; no token, no match. */
static bool claims_match(const struct pc_rt_rule *r, const struct pc_engine_scratch *s)
{
	if (!s->have_claims)
		return false;
	for (uint32_t i = 0; i < r->n_claims; i++) {
		const struct pc_rt_claim_cond *cc = &r->claims[i];
		bool ok = false;
		for (uint32_t j = 0; j < cc->n_values && !ok; j++)
			ok = pc_jwt_claim_has(&s->claims, cc->name, cc->values[j]);
		if (!ok)
			return false;
	}
	return true;
}

static bool rule_matches(const struct pc_policy *p, struct pc_engine_scratch *s, uint32_t ri,
			 const struct pc_request *req)
{
	const struct pc_rt_rule *r = &p->rules[ri];
	const struct pc_http_req *http = req->http;
	if (r->flags & PC_RT_RULE_TLS)
		return false;
	if (http == NULL) {
		if (r->flags & PC_RT_RULE_L7)
			return false;
	} else {
		if (r->methods != 0 && (r->methods & http->method) == 0)
			return false;
		if ((r->flags & PC_RT_RULE_PATHS) && s->rule_path_epoch[ri] != s->epoch)
			return false;
	}
	if (r->n_dests > 0) {
		bool ok = false;
		for (uint32_t i = 0; i < r->n_dests && !ok; i++)
			ok = dest_matches(p, s, r->dests[i], req) == DEST_YES;
		if (!ok)
			return false;
	}
	if (http != NULL && r->n_hdrs != 0 && !headers_match(r, http))
		return false;
	return r->n_claims == 0 || claims_match(r, s);
}

static bool alpn_offered(const struct pc_rt_rule *r, const struct pc_tls_hello *h)
{
	for (uint32_t i = 0; i < h->n_alpn; i++)
		for (uint32_t j = 0; j < r->n_alpn; j++)
			if (h->alpn[i].len == r->alpn[j].len &&
			    memcmp(h->alpn[i].p, r->alpn[j].p, h->alpn[i].len) == 0)
				return true;
	return false;
}

/* Rule ri against a TLS decision: PC_REASON_RULE when it matches; the
 * TLS_* reason when its destinations match but for a missing SNI, or match
 * and its posture fails (the first failing condition); PC_REASON_COUNT when
 * it does not apply at all. */
static unsigned tls_rule_fit(const struct pc_policy *p, struct pc_engine_scratch *s, uint32_t ri,
			     const struct pc_request *req)
{
	const struct pc_rt_rule *r = &p->rules[ri];
	const struct pc_tls_hello *h = req->tls;
	if (r->flags & PC_RT_RULE_L7)
		return PC_REASON_COUNT;
	uint8_t dm = r->n_dests == 0 ? DEST_YES : DEST_NO;
	for (uint32_t i = 0; i < r->n_dests && dm != DEST_YES; i++) {
		uint8_t m = dest_matches(p, s, r->dests[i], req);
		if (m != DEST_NO)
			dm = m;
	}
	if (dm == DEST_NO)
		return PC_REASON_COUNT;
	if (dm == DEST_NEED_SNI)
		return PC_REASON_TLS_SNI_MISSING;
	if (!(r->flags & PC_RT_RULE_TLS))
		return PC_REASON_RULE;
	if (r->tls_min_version != 0 && h->highest_version < r->tls_min_version)
		return PC_REASON_TLS_VERSION_TOO_LOW;
	if (r->n_ja4 != 0) {
		if (!s->ja4_done) {
			pc_tls_hello_ja4(h, s->ja4);
			s->ja4_done = true;
		}
		bool ok = false;
		for (uint32_t i = 0; i < r->n_ja4 && !ok; i++)
			ok = r->ja4[i].len == PC_TLS_JA4_LEN &&
			     memcmp(r->ja4[i].p, s->ja4, PC_TLS_JA4_LEN) == 0;
		if (!ok)
			return PC_REASON_TLS_FINGERPRINT_NOT_ALLOWED;
	}
	if (r->n_alpn != 0 && !alpn_offered(r, h))
		return PC_REASON_TLS_ALPN_NOT_ALLOWED;
	return PC_REASON_RULE;
}

/* Normalise the request path into s->path. False (v filled: deny,
 * PATH_REJECTED) when the path is ambiguous. */
static bool normalise_path(struct pc_engine_scratch *s, const struct pc_str *path,
			   struct pc_verdict *v)
{
	if (path->len == 1 && path->p[0] == '*') {
		s->path[0] = '*';
		s->path_len = 1;
		return true;
	}
	size_t out_len = 0;
	bool changed = false;
	enum pc_path_reason r = pc_path_norm_apply(path->p, path->len, s->path, sizeof(s->path),
						   NULL, &out_len, &changed);
	if (unlikely(r != PC_PATH_OK)) {
		v->action = PC_ACTION_DENY;
		v->reason = PC_REASON_PATH_REJECTED;
		v->detail = (uint8_t)r;
		return false;
	}
	s->path_len = (uint32_t)out_len;
	s->path_changed = changed;
	return true;
}

struct pc_str pc_engine_last_path(const struct pc_engine_scratch *s, bool *changed)
{
	if (changed != NULL)
		*changed = s->path_changed;
	return (struct pc_str){ .p = s->path, .len = s->path_len };
}

static enum pc_action decide_enforced(const struct pc_policy *p, struct pc_engine_scratch *s,
				      const struct pc_request *req, struct pc_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = PC_ACTION_DENY;
	v->reason = PC_REASON_ENGINE_ERROR;
	v->rule = -1;
	v->identity = -1;

	if (unlikely(p == NULL)) {
		v->reason = PC_REASON_NO_POLICY;
		return PC_ACTION_DENY;
	}
	/* A scratch not fitted to this policy would index past its arrays. */
	if (unlikely(s == NULL || req == NULL || s->cap_rules < p->n_rules ||
		     s->cap_dests < p->n_destinations || (p->db != NULL && s->hs == NULL)))
		return PC_ACTION_DENY;
	if (unlikely(++s->epoch == 0)) {
		/* once per 2^32 decisions: old stamps could alias the new ones */
		memset(s->rule_path_epoch, 0, (size_t)s->cap_rules * sizeof(uint32_t));
		memset(s->dest_epoch, 0, (size_t)s->cap_dests * sizeof(uint32_t));
		s->epoch = 1;
	}

	s->path_len = 0;
	s->path_changed = false;
	s->have_claims = false;
	s->ja4_done = false;
	if (identify(p, s, req, v))
		return PC_ACTION_DENY;
	if (req->http != NULL && !normalise_path(s, &req->http->path, v))
		return PC_ACTION_DENY;

	const uint32_t *own = NULL;
	uint32_t n_own = 0;
	bool has_paths = p->anyone_has_paths;
	if (v->identity >= 0) {
		const struct pc_rt_identity *id = &p->identities[v->identity];
		own = id->rules;
		n_own = id->n_rules;
		has_paths = id->has_paths;
	}

	if (req->http != NULL && has_paths && p->db != NULL) {
		struct scan_ctx ctx = {
			.paths = p->paths,
			.n_paths = p->n_paths,
			.marks = s->rule_path_epoch,
			.epoch = s->epoch,
		};
		if (unlikely(hs_scan(p->db, s->path, s->path_len, 0, s->hs, on_path_match, &ctx) !=
			     HS_SUCCESS)) {
			v->reason = PC_REASON_ENGINE_ERROR;
			return PC_ACTION_DENY;
		}
	}

	/* Merge the identity's rules with the anyone-rules, both ascending:
	 * policy order without a per-identity copy of the anyone-rules. */
	const uint32_t *any = p->anyone_rules;
	uint32_t n_any = p->n_anyone_rules, a = 0, b = 0;
	const bool tls = tls_of(req) != NULL;
	unsigned near = PC_REASON_COUNT; /* TLS: why the first allow rule missed */
	while (a < n_own || b < n_any) {
		uint32_t ri = (b >= n_any || (a < n_own && own[a] < any[b])) ? own[a++] : any[b++];
		bool match;
		if (tls) {
			unsigned fit = tls_rule_fit(p, s, ri, req);
			match = fit == PC_REASON_RULE;
			if (!match && fit != PC_REASON_COUNT && near == PC_REASON_COUNT &&
			    p->rules[ri].action == PC_ACTION_ALLOW)
				near = fit;
		} else {
			match = rule_matches(p, s, ri, req);
		}
		if (match) {
			v->action = p->rules[ri].action;
			v->reason = PC_REASON_RULE;
			v->rule = (int32_t)ri;
			return (enum pc_action)v->action;
		}
	}
	v->action = p->default_action;
	v->reason = v->identity < 0 ? PC_REASON_UNKNOWN_CALLER : PC_REASON_DEFAULT;
	if (near != PC_REASON_COUNT && p->default_action == PC_ACTION_DENY)
		v->reason = (uint8_t)near;
	return (enum pc_action)v->action;
}

/* Denies a shadow policy lets pass: the ones the policy chose. The others
 * say the request could not be read unambiguously (or the engine failed),
 * and stay enforced whatever the mode (decide.h, "Shadow mode"). */
static bool shadowable(uint8_t reason)
{
	switch (reason) {
	case PC_REASON_RULE:
	case PC_REASON_DEFAULT:
	case PC_REASON_UNKNOWN_CALLER:
	case PC_REASON_API_KEY_UNKNOWN:
	case PC_REASON_UNBOUND_SOURCE:
	case PC_REASON_JWT_INVALID:
	case PC_REASON_JWT_UNKNOWN_SUBJECT:
	case PC_REASON_TLS_SNI_MISSING:
	case PC_REASON_TLS_VERSION_TOO_LOW:
	case PC_REASON_TLS_FINGERPRINT_NOT_ALLOWED:
	case PC_REASON_TLS_ALPN_NOT_ALLOWED:
		return true;
	default:
		return false;
	}
}

enum pc_action pc_decide(const struct pc_policy *p, struct pc_engine_scratch *s,
			 const struct pc_request *req, struct pc_verdict *v)
{
	if (decide_enforced(p, s, req, v) != PC_ACTION_DENY)
		return (enum pc_action)v->action;
	/* p is not NULL past NO_POLICY, which is not shadowable */
	bool rule_shadow = v->reason == PC_REASON_RULE && v->rule >= 0 &&
			   (p->rules[v->rule].flags & PC_RT_RULE_SHADOW);
	if (rule_shadow || (p != NULL && p->shadow && shadowable(v->reason))) {
		v->action = PC_ACTION_ALLOW;
		v->shadow = 1;
	}
	return (enum pc_action)v->action;
}

void pc_verdict_malformed(struct pc_verdict *v, uint8_t http_reason)
{
	memset(v, 0, sizeof(*v));
	v->action = PC_ACTION_DENY;
	v->reason = PC_REASON_HTTP_MALFORMED;
	v->detail = http_reason;
	v->rule = -1;
	v->identity = -1;
}

void pc_verdict_tls_malformed(struct pc_verdict *v, uint8_t tls_reason)
{
	memset(v, 0, sizeof(*v));
	v->action = PC_ACTION_DENY;
	v->reason = PC_REASON_TLS_MALFORMED;
	v->detail = tls_reason;
	v->rule = -1;
	v->identity = -1;
}

const char *pc_verdict_reason_name(const struct pc_verdict *v)
{
	if (v->reason == PC_REASON_HTTP_MALFORMED)
		return pc_http_reason_name((enum pc_http_reason)v->detail);
	if (v->reason == PC_REASON_PATH_REJECTED)
		return pc_path_norm_reason_name((enum pc_path_reason)v->detail);
	if (v->reason == PC_REASON_JWT_INVALID)
		return pc_jwt_reason_name((enum pc_jwt_reason)v->detail);
	if (v->reason == PC_REASON_TLS_MALFORMED)
		return pc_tls_reason_name((enum pc_tls_reason)v->detail);
	return v->reason < PC_REASON_COUNT ? reason_names[v->reason] : "invalid_reason";
}

const char *pc_action_name(enum pc_action a)
{
	return (unsigned)a < PC_ACTION_COUNT ? action_names[a] : "invalid_action";
}

char *pc_verdict_fp_hex(const struct pc_verdict *v, char *buf, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	if (len < 2 * PC_CRED_FP_LEN + 1) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	for (unsigned i = 0; i < PC_CRED_FP_LEN; i++) {
		buf[2 * i] = hex[v->cred_fp[i] >> 4];
		buf[2 * i + 1] = hex[v->cred_fp[i] & 0xf];
	}
	buf[2 * PC_CRED_FP_LEN] = '\0';
	return buf;
}
