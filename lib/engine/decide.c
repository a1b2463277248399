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
 *    issuers at req->now_s and cached on success only. The cache is asked
 *    before the shape is checked (only verified tokens are in it), and an
 *    entry keeps the fingerprint and the identity the token names under
 *    this policy, so a hit costs one hash and one compare of the token. A token that fails
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
 *    Both source questions go to req->sources when the caller built an
 *    index for the policy (source_index.h: the dataplane's rte_lpm/rte_lpm6),
 *    else to the policy's prefix lists; the answers are the same.
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
 *    paths, headers, claims, models or MCP tools.
 *    Body conditions come last (decide.h, "Bodies"): a models rule also
 *    needs one of the OpenAI-compatible endpoints as its normalised path;
 *    then the body is read, once per decision (pc_json_scan_pick() over the
 *    top level, and over params for a tools/call), and the rule matches when
 *    the model or tool matches one of its globs ('*', '?', case-sensitive,
 *    compared unescaped). A body the rule cannot be decided on (absent, too
 *    large, malformed, ambiguous) denies at once, naming the rule: trying
 *    the next rule instead would let a malformed body pick its rule.
 *
 * 4. No rule: the policy's default action, reason UNKNOWN_CALLER when the
 *    caller is unknown, else DEFAULT; with a deny default, MODEL_NOT_ALLOWED
 *    or MCP_TOOL_NOT_ALLOWED instead when the first allow rule that failed
 *    only on its body's model or tool exists (like the TLS refinement
 *    below).
 *
 * 5. An allowed HTTP request (a shadow pass included) to a destination
 *    marked external, under a policy with DLP, gets the verdict's dlp bit:
 *    the dataplane scans its body.
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
 *    normalised form (the policy may turn off merging slashes and the
 *    refusal of encoded slashes: "path_normalization"); a path that
 *    backends may read in more than one way
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
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "http/path_norm.h"
#include "json/json_scan.h"
#include "engine/source_index.h"
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
/* Bytes of a model or tool name once unescaped; a longer one is refused as
 * malformed rather than cut (a cut name could match another glob). */
#define PC_ENGINE_AI_NAME_MAX 1024

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
	/* Body: read at most once per decision, when the walk first reaches a
	 * rule that needs it (body_read), with what it says kept here; the
	 * views point into the request body or into the buffers below. */
	bool body_read;
	uint8_t body_status;       /* enum pc_decision_reason: RULE (read), BODY_* */
	uint8_t model_status;      /* BODY_FIELD_* of "model" */
	uint8_t mcp_status;        /* BODY_FIELD_* of a tools/call's params.name */
	struct pc_str ai_model;
	struct pc_str ai_tool;
	char model_buf[PC_ENGINE_AI_NAME_MAX];
	char tool_buf[PC_ENGINE_AI_NAME_MAX];
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

/* A credential of identity ident presented from req->src: false when the
 * identity lists sources and none holds the address. */
static inline bool source_bound(const struct pc_policy *p, const struct pc_request *req,
				uint32_t ident)
{
	const struct pc_rt_identity *id = &p->identities[ident];
	if (id->n_sources == 0 || req->src.family == 0)
		return true;
	if (req->sources != NULL)
		return req->sources->bound(req->sources->ctx, ident, &req->src);
	return in_prefixes(id->sources, id->n_sources, &req->src);
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

#ifdef __SSE2__
/* One 16-byte step of looks_like_jws(): false when a byte is neither of
 * the base64url alphabet nor '.', else true with the '.' bits in *dots.
 * Letters by (c | 0x20) in 'a'..'z' (bytes >= 0x80 compare as negative and
 * fail every range), digits, '-', '_', '.'. */
static inline bool jws_block(const char *p, unsigned *dots)
{
	const __m128i a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1);
	const __m128i d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1);
	const __m128i x20 = _mm_set1_epi8(0x20), dash = _mm_set1_epi8('-');
	const __m128i under = _mm_set1_epi8('_'), dot = _mm_set1_epi8('.');
	__m128i c = _mm_loadu_si128((const __m128i *)(const void *)p);
	__m128i lc = _mm_or_si128(c, x20);
	__m128i ok = _mm_and_si128(_mm_cmpgt_epi8(lc, a1), _mm_cmplt_epi8(lc, z1));
	ok = _mm_or_si128(ok, _mm_and_si128(_mm_cmpgt_epi8(c, d0), _mm_cmplt_epi8(c, d9)));
	__m128i dots_here = _mm_cmpeq_epi8(c, dot);
	ok = _mm_or_si128(ok, _mm_or_si128(_mm_cmpeq_epi8(c, dash), _mm_cmpeq_epi8(c, under)));
	ok = _mm_or_si128(ok, dots_here);
	*dots = (unsigned)_mm_movemask_epi8(dots_here);
	return _mm_movemask_epi8(ok) == 0xffff;
}
#endif

/* RFC 7515 §7.1: BASE64URL(header) '.' BASE64URL(payload) '.'
 * BASE64URL(signature), base64url without padding (RFC 7515 §2). Only the
 * shape: anything else is an opaque key for the API-key path. */
static bool looks_like_jws(struct pc_str t)
{
	/* 1: the base64url alphabet, 2: '.'. For the tail: one table load per
	 * byte and no branch but the loop's; the OR of the classes says whether
	 * a byte outside both appeared, the sum of the dot bits counts dots. */
	static const uint8_t cls[256] = {
		['-'] = 1, ['_'] = 1, ['.'] = 2,
		['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
		['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
#define PC_AZ(c) [c] = 1, [c + 32] = 1
		PC_AZ('A'), PC_AZ('B'), PC_AZ('C'), PC_AZ('D'), PC_AZ('E'), PC_AZ('F'),
		PC_AZ('G'), PC_AZ('H'), PC_AZ('I'), PC_AZ('J'), PC_AZ('K'), PC_AZ('L'),
		PC_AZ('M'), PC_AZ('N'), PC_AZ('O'), PC_AZ('P'), PC_AZ('Q'), PC_AZ('R'),
		PC_AZ('S'), PC_AZ('T'), PC_AZ('U'), PC_AZ('V'), PC_AZ('W'), PC_AZ('X'),
		PC_AZ('Y'), PC_AZ('Z'),
#undef PC_AZ
	};
	uint32_t bad = 0, dots = 0, i = 0;
#ifdef __SSE2__
	unsigned m;
	for (; i + 16 <= t.len; i += 16) {
		if (!jws_block(t.p + i, &m))
			return false;
		dots += (uint32_t)__builtin_popcount(m);
	}
	if (i < t.len && t.len >= 16) {
		/* the tail as the last 16 bytes: the bytes seen twice pass the
		 * alphabet twice, and their dots are shifted out of the count */
		if (!jws_block(t.p + t.len - 16, &m))
			return false;
		dots += (uint32_t)__builtin_popcount(m >> (16 - (t.len - i)));
		i = t.len;
	}
#endif
	for (; i < t.len; i++) {
		uint8_t c = cls[(uint8_t)t.p[i]];
		bad |= (uint32_t)(c == 0);
		dots += c >> 1;
	}
	return !bad && dots == 2;
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

/* What a cache entry keeps besides the claims (PC_JWT_CACHE_EXTRA bytes):
 * the fingerprint and the identity the token names under the policy the
 * cache was filled under (the cache is flushed with every policy change),
 * so a hit neither hashes the signature nor walks the bindings again. */
struct jwt_extra {
	uint8_t fp[PC_CRED_FP_LEN];
	int32_t identity; /* -1: no binding matches (JWT_UNKNOWN_SUBJECT) */
};
static_assert(sizeof(struct jwt_extra) <= PC_JWT_CACHE_EXTRA, "kept in a cache entry");

enum { JWT_IDENTIFIED, JWT_DECIDED, JWT_NOT_A_JWS };

/* The identity a verified token names: the first in policy order bound to
 * its issuer whose binding matches, or -1. */
static int32_t jwt_identity(const struct pc_policy *p, struct pc_engine_scratch *s)
{
	for (uint32_t k = 0; k < p->n_jwt_identities; k++) {
		uint32_t ident = p->jwt_identities[k];
		const struct pc_rt_identity *id = &p->identities[ident];
		if (id->jwt_issuer == s->claims.issuer_index && jwt_binding_matches(s, id, &s->claims))
			return (int32_t)ident;
	}
	return -1;
}

/* Step 1a for the value t of a token header. The cache is asked first: a
 * token in it was verified, so it is a JWS, and its fingerprint and identity
 * come with it. On a miss the token is verified, its shape checked only
 * when that fails (JWT_NOT_A_JWS: the caller goes on to the API-key path),
 * and the signature hashed for the fingerprint; a verified token is cached
 * with what was derived from it, a failed one never is. Returns JWT_DECIDED
 * for a deny. */
static int identify_jwt(const struct pc_policy *p, struct pc_engine_scratch *s,
			const struct pc_request *req, struct pc_str t, struct pc_verdict *v)
{
	struct jwt_extra x;

	if (unlikely(s->jwt == NULL || s->jwt_cache == NULL)) {
		if (!looks_like_jws(t))
			return JWT_NOT_A_JWS;
		v->cred_kind = PC_CRED_JWT;
		v->reason = PC_REASON_ENGINE_ERROR;
		return JWT_DECIDED;
	}
	if (unlikely(s->jwt_policy != p)) {
		/* Handed a policy without a fit: never trust entries verified
		 * under another one. */
		pc_jwt_cache_flush(s->jwt_cache);
		s->jwt_policy = p;
	}
	uint8_t raw[PC_JWT_CACHE_EXTRA];
	if (pc_jwt_cache_lookup_x(s->jwt_cache, t.p, t.len, req->now_s, &s->claims, raw) &&
	    likely(s->claims.issuer_index < p->n_issuers)) {
		memcpy(&x, raw, sizeof(x));
	} else {
		enum pc_jwt_reason r = pc_jwt_verify_any(p->issuer_list, p->n_issuers, t.p, t.len,
							 req->now_s, s->jwt, &s->claims);
		/* The shape is asked only of a value that failed: a verify
		 * that succeeds has decoded three base64url segments around
		 * exactly two dots, which is looks_like_jws()'s shape, so a
		 * value of another shape always fails (jwt_malformed, or
		 * jwt_too_large before decoding) and goes to the API-key path
		 * as before, while a JWS keeps its own reason. */
		if (r != PC_JWT_OK && !looks_like_jws(t))
			return JWT_NOT_A_JWS;
		uint8_t digest[SHA256_DIGEST_LENGTH];
		/* a JWS: the last of its two dots starts the signature segment */
		const char *end = t.p + t.len;
		const char *sig = (const char *)memrchr(t.p, '.', t.len) + 1;
		sha256(sig, (size_t)(end - sig), digest);
		memcpy(x.fp, digest, PC_CRED_FP_LEN);
		if (r != PC_JWT_OK) {
			v->cred_kind = PC_CRED_JWT;
			memcpy(v->cred_fp, x.fp, PC_CRED_FP_LEN);
			v->reason = PC_REASON_JWT_INVALID;
			v->detail = (uint8_t)r;
			return JWT_DECIDED;
		}
		x.identity = jwt_identity(p, s);
		memset(raw, 0, sizeof(raw));
		memcpy(raw, &x, sizeof(x));
		(void)pc_jwt_cache_insert_x(s->jwt_cache, t.p, t.len, &s->claims, raw);
	}
	v->cred_kind = PC_CRED_JWT;
	memcpy(v->cred_fp, x.fp, PC_CRED_FP_LEN);
	s->have_claims = true;
	if (x.identity < 0) {
		v->reason = PC_REASON_JWT_UNKNOWN_SUBJECT;
		return JWT_DECIDED;
	}
	v->identity = x.identity;
	if (!source_bound(p, req, (uint32_t)x.identity)) {
		v->reason = PC_REASON_UNBOUND_SOURCE;
		return JWT_DECIDED;
	}
	return JWT_IDENTIFIED;
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
			int r = identify_jwt(p, s, req, t, v);
			if (r != JWT_NOT_A_JWS)
				return r == JWT_DECIDED;
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
			v->identity = (int32_t)ident;
			if (!source_bound(p, req, ident)) {
				v->reason = PC_REASON_UNBOUND_SOURCE;
				return true;
			}
			return false;
		}
	}
	if (req->src.family != 0 && p->n_source_only > 0) {
		int32_t ident = -1;
		if (req->sources != NULL) {
			ident = req->sources->source_only(req->sources->ctx, &req->src);
		} else {
			for (uint32_t i = 0; i < p->n_source_only; i++) {
				if (pc_prefix_contains(&p->source_only[i].prefix, &req->src)) {
					ident = (int32_t)p->source_only[i].identity;
					break;
				}
			}
		}
		if (ident >= 0) {
			v->identity = ident;
			v->cred_kind = PC_CRED_SOURCE;
			addr_fingerprint(&req->src, v->cred_fp);
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

/* ---- request bodies ---- */

/* The OpenAI-compatible endpoints whose JSON body names a "model". Exact
 * match on the normalised path. */
static bool model_endpoint(const struct pc_engine_scratch *s)
{
	static const struct pc_str endpoints[] = {
		{ "/v1/chat/completions", 20 },
		{ "/v1/completions", 15 },
		{ "/v1/embeddings", 14 },
		{ "/v1/responses", 13 },
	};
	struct pc_str path = { s->path, s->path_len };
	for (unsigned i = 0; i < PC_ARRAY_SIZE(endpoints); i++)
		if (pc_str_eq(path, endpoints[i].p, endpoints[i].len))
			return true;
	return false;
}

/* What the body says about one field a rule reads. */
enum {
	BODY_FIELD_ABSENT = 0, /* not there (MCP: not a tools/call) */
	BODY_FIELD_OK,         /* there, a string, unescaped into the view */
	BODY_FIELD_BAD,        /* there but unusable: the rule cannot be decided */
};

/* A string value as a view: itself when it has no escapes, else unescaped
 * into buf. */
static uint8_t body_string(const struct pc_json_value *v, char *buf, size_t cap,
			   struct pc_str *out)
{
	if (v->kind == PC_JSON_NONE)
		return BODY_FIELD_ABSENT;
	if (v->kind != PC_JSON_STRING)
		return BODY_FIELD_BAD;
	if (!v->escaped) {
		*out = v->raw;
		return BODY_FIELD_OK;
	}
	size_t n = 0;
	if (pc_json_unescape(v, buf, cap, &n) != PC_JSON_OK)
		return BODY_FIELD_BAD;
	*out = (struct pc_str){ buf, (uint32_t)n };
	return BODY_FIELD_OK;
}

/* Read the body once: its top level ("model"; "method" and "params" of a
 * JSON-RPC 2.0 call), and for a tools/call its params' "name". Only the
 * top level of each object is looked at, with the bounded scanner, and a
 * name read twice is refused (lib/json/json_scan.h). */
static void body_read(const struct pc_policy *p, struct pc_engine_scratch *s,
		      const struct pc_request *req)
{
	static const struct pc_str top[] = { { "model", 5 }, { "method", 6 }, { "params", 6 } };
	static const struct pc_str name_key[] = { { "name", 4 } };
	struct pc_json_value v[PC_ARRAY_SIZE(top)];

	s->body_read = true;
	s->model_status = BODY_FIELD_ABSENT;
	s->mcp_status = BODY_FIELD_ABSENT;
	if (req->body_state == PC_BODY_ABSENT) {
		s->body_status = PC_REASON_BODY_REQUIRED;
		return;
	}
	if (req->body_state != PC_BODY_WHOLE || req->body_len > p->body_window) {
		s->body_status = PC_REASON_BODY_TOO_LARGE;
		return;
	}
	if (req->body == NULL && req->body_len != 0) {
		s->body_status = PC_REASON_BODY_MALFORMED;
		return;
	}
	const char *body = req->body != NULL ? (const char *)req->body : "";
	if (pc_json_scan_pick(body, req->body_len, top, PC_ARRAY_SIZE(top), v) != PC_JSON_OK) {
		s->body_status = PC_REASON_BODY_MALFORMED;
		return;
	}
	s->body_status = PC_REASON_RULE;
	s->model_status = body_string(&v[0], s->model_buf, sizeof(s->model_buf), &s->ai_model);

	/* JSON-RPC 2.0 §4: "method" is a string; a body without one (a
	 * response to the server) is simply not a call. */
	struct pc_str method = { NULL, 0 };
	uint8_t m = body_string(&v[1], s->tool_buf, sizeof(s->tool_buf), &method);
	if (m == BODY_FIELD_BAD) {
		s->mcp_status = BODY_FIELD_BAD;
		return;
	}
	if (m != BODY_FIELD_OK || !pc_str_eq(method, "tools/call", 10))
		return;
	/* MCP tools/call: params is an object whose "name" is the tool. The
	 * params value was validated by the scan above; scanning its text
	 * again reads its own top level. */
	struct pc_json_value name;
	if (v[2].kind != PC_JSON_OBJECT ||
	    pc_json_scan_pick(v[2].raw.p, v[2].raw.len, name_key, 1, &name) != PC_JSON_OK) {
		s->mcp_status = BODY_FIELD_BAD;
		return;
	}
	s->mcp_status = body_string(&name, s->tool_buf, sizeof(s->tool_buf), &s->ai_tool);
	if (s->mcp_status == BODY_FIELD_ABSENT)
		s->mcp_status = BODY_FIELD_BAD;
}

static bool any_glob(const struct pc_str *globs, uint32_t n, struct pc_str v)
{
	for (uint32_t i = 0; i < n; i++)
		if (glob_match(globs[i], v.p, v.len))
			return true;
	return false;
}

/* A rule whose other conditions hold, against the body: PC_REASON_RULE
 * when it matches; MODEL_NOT_ALLOWED or MCP_TOOL_NOT_ALLOWED when the body
 * names a model or tool the rule does not list; PC_REASON_COUNT when it
 * does not apply (an MCP message other than tools/call); or the BODY_*
 * reason the request is denied for at once (no body yet, too large,
 * malformed for this rule). */
static unsigned body_fit(const struct pc_policy *p, struct pc_engine_scratch *s,
			 const struct pc_rt_rule *r, const struct pc_request *req)
{
	if (!s->body_read)
		body_read(p, s, req);
	if (s->body_status != PC_REASON_RULE)
		return s->body_status;
	if (r->n_models != 0) {
		if (s->model_status != BODY_FIELD_OK)
			return PC_REASON_BODY_MALFORMED;
		return any_glob(r->models, r->n_models, s->ai_model) ? PC_REASON_RULE
								     : PC_REASON_MODEL_NOT_ALLOWED;
	}
	if (s->mcp_status == BODY_FIELD_BAD)
		return PC_REASON_BODY_MALFORMED;
	if (s->mcp_status == BODY_FIELD_ABSENT)
		return PC_REASON_COUNT;
	return any_glob(r->tools, r->n_tools, s->ai_tool) ? PC_REASON_RULE
							  : PC_REASON_MCP_TOOL_NOT_ALLOWED;
}

void pc_engine_last_ai(const struct pc_engine_scratch *s, struct pc_str *model,
		       struct pc_str *tool)
{
	if (model != NULL)
		*model = s->ai_model;
	if (tool != NULL)
		*tool = s->ai_tool;
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
		if (r->n_models != 0 && !model_endpoint(s))
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
static bool normalise_path(const struct pc_policy *p, struct pc_engine_scratch *s,
			   const struct pc_str *path, struct pc_verdict *v)
{
	if (path->len == 1 && path->p[0] == '*') {
		s->path[0] = '*';
		s->path_len = 1;
		return true;
	}
	size_t out_len = 0;
	bool changed = false;
	enum pc_path_reason r = pc_path_norm_apply(path->p, path->len, s->path, sizeof(s->path),
						   &p->path_opts, &out_len, &changed);
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
	s->body_read = false;
	s->ai_model = (struct pc_str){ NULL, 0 };
	s->ai_tool = (struct pc_str){ NULL, 0 };
	if (identify(p, s, req, v))
		return PC_ACTION_DENY;
	if (req->http != NULL && !normalise_path(p, s, &req->http->path, v))
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
	/* Why the first allow rule missed only on the hello (TLS) or only on
	 * the model or tool its body names. */
	unsigned near = PC_REASON_COUNT;
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
			if (match && (p->rules[ri].flags & PC_RT_RULE_BODY)) {
				unsigned fit = body_fit(p, s, &p->rules[ri], req);
				match = fit == PC_REASON_RULE;
				if (fit == PC_REASON_MODEL_NOT_ALLOWED ||
				    fit == PC_REASON_MCP_TOOL_NOT_ALLOWED) {
					if (near == PC_REASON_COUNT &&
					    p->rules[ri].action == PC_ACTION_ALLOW)
						near = fit;
				} else if (!match && fit != PC_REASON_COUNT) {
					/* BODY_REQUIRED, _TOO_LARGE, _MALFORMED:
					 * this rule cannot be decided, and rules
					 * after it must not be tried in its place. */
					v->action = PC_ACTION_DENY;
					v->reason = (uint8_t)fit;
					v->rule = (int32_t)ri;
					return PC_ACTION_DENY;
				}
			}
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
	case PC_REASON_MODEL_NOT_ALLOWED:
	case PC_REASON_MCP_TOOL_NOT_ALLOWED:
		return true;
	default:
		return false;
	}
}

/* Whether req goes to an external destination (its body is DLP-scanned).
 * Runs after decide_enforced() reached the rule walk, so the destination
 * memo of this epoch is valid. */
static bool to_external(const struct pc_policy *p, struct pc_engine_scratch *s,
			const struct pc_request *req)
{
	for (uint32_t i = 0; i < p->n_external_dests; i++)
		if (dest_matches(p, s, p->external_dests[i], req) == DEST_YES)
			return true;
	return false;
}

enum pc_action pc_decide(const struct pc_policy *p, struct pc_engine_scratch *s,
			 const struct pc_request *req, struct pc_verdict *v)
{
	if (decide_enforced(p, s, req, v) != PC_ACTION_DENY) {
		/* An allow of an HTTP request: p, s and req were checked. */
		if (p->dlp != NULL && req->http != NULL && to_external(p, s, req))
			v->dlp = 1;
		return (enum pc_action)v->action;
	}
	/* p is not NULL past NO_POLICY, which is not shadowable */
	bool rule_shadow = v->reason == PC_REASON_RULE && v->rule >= 0 &&
			   (p->rules[v->rule].flags & PC_RT_RULE_SHADOW);
	if (rule_shadow || (p != NULL && p->shadow && shadowable(v->reason))) {
		v->action = PC_ACTION_ALLOW;
		v->shadow = 1;
		if (p->dlp != NULL && req->http != NULL && to_external(p, s, req))
			v->dlp = 1;
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
