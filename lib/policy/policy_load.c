/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Policy loader: JSON text to the builder (struct pc_policy_src).
 *
 * jansson turns the text into a tree (rejecting duplicate keys, so that two
 * "action" keys cannot disagree silently); a hand-written validator then
 * walks the tree object by object, each with a fixed list of allowed keys.
 * Unknown keys are errors everywhere, because a misspelt "methods" that is
 * ignored widens a rule without anyone noticing; "description" is accepted
 * on every schema object for the operator's notes.
 *
 * The validator stops at the first error and reports it as
 * "FILE:LINE: JSON_PATH: message". It keeps the JSON path of the value it is
 * looking at in a buffer as it descends, and only when something is wrong
 * asks pc_json_locate_line() for the line, so a valid policy pays nothing
 * for error positions.
 *
 * Names are resolved here, not in the compiler: rules carry indexes into the
 * identity and destination arrays, hosts and header names are lowercased,
 * API key digests are decoded to bytes. Uniqueness (names, rule ids, API key
 * digests across the whole policy) is checked with small open-addressing
 * hash sets so that a policy with 65535 rules loads in linear time.
 *
 * TLS: a "tls" destination is a TCP flow decided once at its ClientHello,
 * its hosts matched against the SNI; a rule's "tls" object holds posture
 * conditions (lowest version, JA4 allowlist, ALPN) and makes the rule apply
 * to TLS decisions only. Rules that could never match are refused here: TLS
 * posture with HTTP conditions, with a non-tls destination, or with an
 * identity known by key or token (a ClientHello shows only its source).
 *
 * JWT issuers are loaded first, so identities can name them. Each issuer's
 * key set (inline "jwks", or "jwks_file" relative to the policy file's
 * directory) is parsed here with pc_jwks_load(), the loader the runtime uses
 * too, so a key set problem is reported against the issuer's JSON path
 * rather than at the dataplane; the builder keeps it as canonical JSON text.
 *
 * Ownership: every array and string in the builder is malloc'ed and owned by
 * it. An array is allocated zeroed at its full size and its count is set as
 * soon as the allocation succeeds, before any element is filled in, so
 * pc_policy_src_free() can free a half-built builder on any error path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "dlp/dlp.h"
#include "http/http_parse.h"
#include "jwt/jwks.h"
#include "jwt/jwt.h"
#include "policy/json_locate.h"
#include "policy/policy.h"
#include "policy/policy_image.h"
#include "util/addr.h"

#define PC_POLICY_MAX_FILE_BYTES (64u << 20)
#define PC_POLICY_MAX_HOST 253          /* RFC 1035 §2.3.4, without the root dot */
#define PC_POLICY_MAX_LABEL 63          /* RFC 1035 §2.3.4 */
#define PC_POLICY_MAX_REGEX 4096
#define PC_POLICY_MAX_HEADER_NAME 256
#define PC_POLICY_DEFAULT_KEY_HEADER "x-api-key"

/* The longest JSON path we build. Schema keys and indexes are short; header
 * names are capped at PC_POLICY_MAX_HEADER_NAME; only an unknown key can be
 * longer, and then the error names the object holding it instead. */
#define LOAD_PATH_MAX 1024
/* How much of a string value an error message quotes. */
#define LOAD_QUOTE_MAX 48

struct name_slot {
	const void *key; /* NULL: free slot */
	uint32_t len;
	uint32_t hash;
	uint32_t idx;    /* the item that holds the key */
	uint32_t sub;    /* and the position inside it (API key digests) */
};

/* Open addressing, linear probing, at most half full. */
struct name_set {
	struct name_slot *slots;
	uint32_t mask;
	uint32_t used;
};

struct load_ctx {
	const char *text;
	size_t len;
	const char *origin;
	char *err;
	size_t err_len;
	char path[LOAD_PATH_MAX];
	size_t plen;
	struct pc_policy_src *src;
	struct name_set identities;
	struct name_set destinations;
	struct name_set rules;
	struct name_set digests;
	struct name_set issuers;
	/* Rule index + 1 of the last rule that named each identity or
	 * destination, to find a name listed twice in one rule in O(1). */
	uint32_t *id_stamp;
	uint32_t *dst_stamp;
};

static const char *const top_keys[] = {
	"version", "default_action", "mode", "jwt_issuers", "identities", "destinations", "rules",
	"description", "deny_response", "body_window_bytes", "path_normalization", "dlp",
	/* Test cases run by portcullisctl policy test; the CLI checks them,
	 * the dataplane has no use for them. */
	"tests", NULL,
};
static const char *const issuer_keys[] = {
	"issuer", "audiences", "algorithms", "jwks", "jwks_file", "leeway_s", "max_lifetime_s",
	"require_exp", "token_header", "description", NULL,
};
static const char *const identity_keys[] = {
	"name", "sources", "api_keys_sha256", "api_key_header", "jwt", "description", NULL,
};
static const char *const jwt_binding_keys[] = {
	"issuer", "subject", "claim", "value", "description", NULL,
};
static const char *const destination_keys[] = {
	"name", "hosts", "addresses", "ports", "protocol", "external", "description", NULL,
};
static const char *const rule_keys[] = {
	"id", "identities", "destinations", "methods", "paths", "headers", "claims", "tls",
	"models", "mcp_tools", "action", "mode", "deny_response", "description", NULL,
};
static const char *const path_norm_keys[] = {
	"merge_slashes", "reject_encoded_slash", "description", NULL,
};
static const char *const dlp_keys[] = {
	"action", "default_patterns", "patterns", "description", NULL,
};
static const char *const dlp_pattern_keys[] = {
	"name", "regex", "description", NULL,
};
static const char *const tls_keys[] = {
	"min_version", "ja4", "alpn", "description", NULL,
};

static const char *const proto_names[] = {
	[PC_DEST_HTTP] = "http", [PC_DEST_TCP] = "tcp", [PC_DEST_UDP] = "udp", [PC_DEST_ANY] = "any",
	[PC_DEST_TLS] = "tls",
};

static const char *const action_names[] = {
#define PC_X(name, text) [PC_ACTION_##name] = text,
	PC_ACTIONS(PC_X)
#undef PC_X
};

static const char *const method_names[] = {
	"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
};

#define METHOD_LIST "GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH"
#define NAME_CHARS "[A-Za-z0-9_.:@/-]"

/* ---- hash sets ---- */

static uint32_t hash_bytes(const void *key, size_t len)
{
	const uint8_t *p = key;
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static int nset_grow(struct name_set *s)
{
	uint32_t cap = s->slots ? (s->mask + 1) * 2 : 16;
	struct name_slot *slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -ENOMEM;
	for (uint32_t i = 0; s->slots && i <= s->mask; i++) {
		if (s->slots[i].key == NULL)
			continue;
		uint32_t j = s->slots[i].hash & (cap - 1);
		while (slots[j].key != NULL)
			j = (j + 1) & (cap - 1);
		slots[j] = s->slots[i];
	}
	free(s->slots);
	s->slots = slots;
	s->mask = cap - 1;
	return 0;
}

static struct name_slot *nset_find(const struct name_set *s, const void *key, size_t len)
{
	if (s->slots == NULL)
		return NULL;
	uint32_t h = hash_bytes(key, len);
	for (uint32_t j = h & s->mask;; j = (j + 1) & s->mask) {
		struct name_slot *e = &s->slots[j];
		if (e->key == NULL)
			return NULL;
		if (e->hash == h && e->len == len && memcmp(e->key, key, len) == 0)
			return e;
	}
}

/* Add key (which must outlive the set). Returns 0, -EEXIST with *prev set to
 * the slot already holding it, or -ENOMEM. */
static int nset_add(struct name_set *s, const void *key, size_t len, uint32_t idx, uint32_t sub,
		    const struct name_slot **prev)
{
	struct name_slot *e = nset_find(s, key, len);

	if (e != NULL) {
		*prev = e;
		return -EEXIST;
	}
	if (s->slots == NULL || (s->used + 1) * 2 > s->mask + 1) {
		if (nset_grow(s) != 0)
			return -ENOMEM;
	}
	uint32_t h = hash_bytes(key, len);
	uint32_t j = h & s->mask;
	while (s->slots[j].key != NULL)
		j = (j + 1) & s->mask;
	s->slots[j] = (struct name_slot){ key, (uint32_t)len, h, idx, sub };
	s->used++;
	return 0;
}

static void nset_free(struct name_set *s)
{
	free(s->slots);
	s->slots = NULL;
}

/* ---- messages ---- */

/* JSON-style quoting of s[0..len) into buf, cut at max bytes (on a UTF-8
 * character boundary) with the full length said, so a message stays one
 * readable line whatever the policy holds. */
static void quote(const char *s, size_t len, size_t max, char *buf, size_t n)
{
	size_t o = 0, shown = len;

	if (n == 0)
		return;
	if (len > max) {
		shown = max;
		while (shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
			shown--;
	}
#define PUT(ch) do { if (o + 1 < n) buf[o++] = (char)(ch); } while (0)
	PUT('"');
	for (size_t i = 0; i < shown; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '"' || ch == '\\') {
			PUT('\\');
			PUT(ch);
		} else if (ch == '\n') {
			PUT('\\');
			PUT('n');
		} else if (ch == '\t') {
			PUT('\\');
			PUT('t');
		} else if (ch < 0x20 || ch == 0x7f) {
			char esc[8];
			snprintf(esc, sizeof(esc), "\\u%04x", ch);
			for (const char *e = esc; *e; e++)
				PUT(*e);
		} else {
			PUT(ch);
		}
	}
	PUT('"');
#undef PUT
	buf[o] = '\0';
	if (shown < len)
		snprintf(buf + o, n - o, "... (%zu bytes)", len);
}

static const char *type_phrase(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
		return "an integer";
	case JSON_REAL:
		return "a real number";
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_NULL:
		return "null";
	}
	return "a value";
}

/* What a message says was found: a string is quoted, anything else is named
 * by its JSON type. */
static void describe(const json_t *v, char *buf, size_t n)
{
	if (json_is_string(v))
		quote(json_string_value(v), json_string_length(v), LOAD_QUOTE_MAX, buf, n);
	else
		snprintf(buf, n, "%s", type_phrase(v));
}

/* Fill the caller's buffer with "ORIGIN:LINE: PATH: message" for the value at
 * the current path. Returns -EINVAL, for "return load_fail(...)". */
__attribute__((format(printf, 2, 3)))
static int load_fail(struct load_ctx *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (c->err == NULL || c->err_len == 0)
		return -EINVAL;
	unsigned line = pc_json_locate_line(c->text, c->len, c->path);
	if (line != 0)
		snprintf(c->err, c->err_len, "%s:%u: %s: %s", c->origin, line, c->path, msg);
	else
		snprintf(c->err, c->err_len, "%s: %s: %s", c->origin, c->path, msg);
	return -EINVAL;
}

/* "expected WHAT, got <v>WHY" at the current path; why is a hint in
 * parentheses, or "". */
static int fail_expected_why(struct load_ctx *c, const json_t *v, const char *what,
			     const char *why)
{
	char got[LOAD_QUOTE_MAX + 32];

	describe(v, got, sizeof(got));
	return load_fail(c, "expected %s, got %s%s", what, got, why);
}

static int fail_expected(struct load_ctx *c, const json_t *v, const char *what)
{
	return fail_expected_why(c, v, what, "");
}

static int fail_nomem(struct load_ctx *c)
{
	if (c->err != NULL && c->err_len != 0)
		snprintf(c->err, c->err_len, "%s: out of memory", c->origin);
	return -ENOMEM;
}

/* ---- JSON path of the value being checked ---- */

static bool bare_key(const char *k, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = k[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '_' || ch == '-'))
			return false;
	}
	return true;
}

/* Append ".key", or ["key"] for keys a bare step cannot carry (the syntax
 * pc_json_locate_line() reads). Returns false, path unchanged, when the key
 * does not fit. */
static bool path_push_key(struct load_ctx *c, const char *key, size_t *saved)
{
	size_t len = strlen(key), room = sizeof(c->path) - c->plen;
	int n;

	*saved = c->plen;
	/* A path is for reading: a key longer than this is quoted (cut short)
	 * in the message instead, and the error names its object. */
	if (len > LOAD_PATH_MAX / 8)
		return false;
	if (bare_key(key, len)) {
		n = snprintf(c->path + c->plen, room, ".%s", key);
	} else {
		char q[LOAD_PATH_MAX];
		quote(key, len, len, q, sizeof(q));
		n = snprintf(c->path + c->plen, room, "[%s]", q);
	}
	if (n < 0 || (size_t)n >= room) {
		c->path[c->plen] = '\0';
		return false;
	}
	c->plen += (size_t)n;
	return true;
}

static size_t path_push_index(struct load_ctx *c, size_t i)
{
	size_t saved = c->plen;
	int n = snprintf(c->path + c->plen, sizeof(c->path) - c->plen, "[%zu]", i);

	if (n > 0 && (size_t)n < sizeof(c->path) - c->plen)
		c->plen += (size_t)n;
	else
		c->path[c->plen] = '\0';
	return saved;
}

static void path_pop(struct load_ctx *c, size_t saved)
{
	c->plen = saved;
	c->path[saved] = '\0';
}

/* ---- keys ---- */

/* Edit distance, for "did you mean": keys are short, so the O(n*m) table
 * with one row is fine. Longer strings are never close to a schema key. */
static unsigned edit_distance(const char *a, const char *b)
{
	unsigned row[33];
	size_t la = strlen(a), lb = strlen(b);

	if (la > 32 || lb > 32)
		return ~0u;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		unsigned diag = row[0];
		row[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned up = row[j];
			unsigned best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int fail_unknown_key(struct load_ctx *c, const char *key, const char *const *allowed)
{
	char list[256] = "", hint[64] = "", q[LOAD_QUOTE_MAX + 32];
	const char *best = NULL;
	unsigned best_d = 3; /* only suggest within two edits */
	size_t o = 0, saved;

	for (const char *const *k = allowed; *k; k++) {
		int n = snprintf(list + o, sizeof(list) - o, "%s%s", o ? ", " : "", *k);
		if (n > 0 && (size_t)n < sizeof(list) - o)
			o += (size_t)n;
		unsigned d = edit_distance(key, *k);
		if (d < best_d) {
			best_d = d;
			best = *k;
		}
	}
	if (best != NULL)
		snprintf(hint, sizeof(hint), "; did you mean \"%s\"?", best);
	quote(key, strlen(key), LOAD_QUOTE_MAX, q, sizeof(q));
	/* Point at the key itself when its path fits, else at its object. */
	path_push_key(c, key, &saved);
	return load_fail(c, "unknown key %s%s (allowed keys: %s)", q, hint, list);
}

/* Every key of obj must be in allowed; "description" must be a string. */
static int check_keys(struct load_ctx *c, json_t *obj, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v) {
		const char *const *k;
		for (k = allowed; *k; k++)
			if (strcmp(*k, key) == 0)
				break;
		if (*k == NULL)
			return fail_unknown_key(c, key, allowed);
		if (strcmp(key, "description") == 0 && !json_is_string(v)) {
			size_t saved;
			path_push_key(c, key, &saved);
			return fail_expected(c, v, "a string");
		}
	}
	return 0;
}

static int fail_missing(struct load_ctx *c, const char *key, const char *what)
{
	return load_fail(c, "missing required key \"%s\" (%s)", key, what);
}

/* The value of the optional key in obj with the current path moved onto it
 * (path_pop(c, *saved) moves back), or NULL, path unchanged, when obj has
 * no such key. */
static json_t *opt_key(struct load_ctx *c, json_t *obj, const char *key, size_t *saved)
{
	json_t *v = json_object_get(obj, key);

	if (v != NULL)
		path_push_key(c, key, saved);
	return v;
}

/* ---- scalar values ---- */

static char *dup_lower(const char *s, size_t len)
{
	char *d = malloc(len + 1);

	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++)
		d[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
	d[len] = '\0';
	return d;
}

/* Identity and destination names, rule ids: they appear in logs, metrics
 * labels and CLI arguments, so a conservative character set. */
static bool valid_name(const char *s, size_t len)
{
	if (len == 0 || len > PC_POLICY_MAX_NAME)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch != '\0' && strchr("_.:@/-", ch) != NULL)))
			return false;
	}
	return true;
}

/* what: "name" or "rule id", said with "a". */
static int load_name(struct load_ctx *c, const json_t *v, const char *what, char **out)
{
	char exp[160];

	if (!json_is_string(v) || !valid_name(json_string_value(v), json_string_length(v))) {
		snprintf(exp, sizeof(exp), "a %s of 1..%u characters from %s", what,
			 PC_POLICY_MAX_NAME, NAME_CHARS);
		return fail_expected(c, v, exp);
	}
	*out = strndup(json_string_value(v), json_string_length(v));
	return *out ? 0 : fail_nomem(c);
}

/* Record name as item i's in set, or fail with "duplicate WHAT "name"
 * (first at $.ARRAY[j])" at the current path. */
static int add_unique(struct load_ctx *c, struct name_set *set, const char *name, uint32_t i,
		      const char *what, const char *array)
{
	const struct name_slot *prev;
	int rc = nset_add(set, name, strlen(name), i, 0, &prev);

	if (rc == -ENOMEM)
		return fail_nomem(c);
	if (rc == -EEXIST)
		return load_fail(c, "duplicate %s \"%s\" (first at $.%s[%u])", what, name, array,
				 prev->idx);
	return 0;
}

/* The required key of item i of $.ARRAY that names it (an identity's or
 * destination's "name", a rule's "id"), unique among the array's items;
 * what ("name", "rule id") is how messages call it. */
static int load_unique_name(struct load_ctx *c, json_t *o, const char *key, const char *missing,
			    const char *what, struct name_set *set, uint32_t i, const char *array,
			    char **out)
{
	json_t *v = json_object_get(o, key);
	size_t saved;
	int rc;

	if (v == NULL)
		return fail_missing(c, key, missing);
	path_push_key(c, key, &saved);
	if ((rc = load_name(c, v, what, out)) != 0 ||
	    (rc = add_unique(c, set, *out, i, what, array)) != 0)
		return rc;
	path_pop(c, saved);
	return 0;
}

static int load_action(struct load_ctx *c, const json_t *v, uint8_t *out)
{
	if (json_is_string(v)) {
		for (unsigned a = 0; a < PC_ACTION_COUNT; a++) {
			if (strcmp(json_string_value(v), action_names[a]) == 0) {
				*out = (uint8_t)a;
				return 0;
			}
		}
	}
	return fail_expected(c, v, "\"allow\" or \"deny\"");
}

/* "mode": "enforce" (the default) or "shadow" (a dry run: denies are
 * logged as would_deny and the traffic passes). */
static int load_mode(struct load_ctx *c, const json_t *v, uint8_t *out)
{
	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "enforce") == 0) {
			*out = PC_MODE_ENFORCE;
			return 0;
		}
		if (strcmp(json_string_value(v), "shadow") == 0) {
			*out = PC_MODE_SHADOW;
			return 0;
		}
	}
	return fail_expected(c, v, "\"enforce\" or \"shadow\"");
}

static int load_bool(struct load_ctx *c, const json_t *v, bool *out)
{
	if (!json_is_boolean(v))
		return fail_expected(c, v, "true or false");
	*out = json_is_true(v);
	return 0;
}

/* "deny_response": how a deny is answered on the wire. */
static int load_deny_response(struct load_ctx *c, const json_t *v, uint8_t *out)
{
	static const struct {
		const char *name;
		uint8_t value;
	} names[] = {
		{ "reset", PC_DENY_RESPONSE_RESET },
		{ "403", PC_DENY_RESPONSE_HTTP_403 },
		{ "429", PC_DENY_RESPONSE_HTTP_429 },
	};
	for (unsigned k = 0; json_is_string(v) && k < PC_ARRAY_SIZE(names); k++) {
		if (strcmp(json_string_value(v), names[k].name) == 0) {
			*out = names[k].value;
			return 0;
		}
	}
	return fail_expected(c, v, "\"reset\", \"403\" or \"429\" (how a deny is answered)");
}

/* RFC 9110 §5.6.2: tchar. */
static bool is_tchar(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

static bool valid_token(const char *s, size_t len, size_t max)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_tchar((unsigned char)s[i]))
			return false;
	return true;
}

#define HEADER_NAME_WHAT "a header name (an HTTP token, RFC 9110 §5.6.2, of at most 256 characters)"

/* ---- arrays ---- */

/* v must be an array of 1..PC_POLICY_MAX_ITEMS elements (0.. when
 * allow_empty: a top-level list may be empty, but an empty list inside an
 * item would make it match nothing, or read as "any" when it is not). */
static int check_array(struct load_ctx *c, const json_t *v, const char *what, bool allow_empty)
{
	char exp[160];

	if (!json_is_array(v)) {
		snprintf(exp, sizeof(exp), "an array of %s", what);
		return fail_expected(c, v, exp);
	}
	size_t n = json_array_size(v);
	if (n == 0 && !allow_empty)
		return load_fail(c, "expected a non-empty array of %s, got an empty array", what);
	if (n > PC_POLICY_MAX_ITEMS)
		return load_fail(c, "expected at most %u %s, got %zu", PC_POLICY_MAX_ITEMS, what, n);
	return 0;
}

/* check_array() for a non-empty array of what, then one zeroed element of
 * size bytes per item. Returns the array, with its count already in *n, for
 * the caller to store in the builder at once (see Ownership at the top); or
 * NULL with the error in *rc. */
static void *alloc_items(struct load_ctx *c, const json_t *v, const char *what, size_t size,
			 uint32_t *n, int *rc)
{
	void *a;

	if ((*rc = check_array(c, v, what, false)) != 0)
		return NULL;
	a = calloc(json_array_size(v), size);
	if (a == NULL) {
		*rc = fail_nomem(c);
		return NULL;
	}
	*n = (uint32_t)json_array_size(v);
	return a;
}

/* The same for an object of 1..max members, kind names to arrays of values
 * ("claims", "headers"): one zeroed element per member. */
static void *alloc_members(struct load_ctx *c, const json_t *v, const char *kind, unsigned max,
			   size_t size, uint32_t *n, int *rc)
{
	char obj[96];
	void *a;

	snprintf(obj, sizeof(obj), "object of %s name to array of values", kind);
	if (!json_is_object(v)) {
		char exp[128];
		snprintf(exp, sizeof(exp), "an %s", obj);
		*rc = fail_expected(c, v, exp);
		return NULL;
	}
	size_t m = json_object_size(v);
	if (m == 0) {
		*rc = load_fail(c, "expected a non-empty %s, got an empty object", obj);
		return NULL;
	}
	if (m > max) {
		*rc = load_fail(c, "expected at most %u %s conditions, got %zu", max, kind, m);
		return NULL;
	}
	a = calloc(m, size);
	if (a == NULL) {
		*rc = fail_nomem(c);
		return NULL;
	}
	*n = (uint32_t)m;
	return a;
}

#define PREFIX_WHAT "an IPv4 or IPv6 address or CIDR prefix with no host bits set " \
		    "(e.g. \"198.18.1.0/24\", \"2001:db8::/32\")"

/* A non-empty array of CIDR strings at the current path. */
static int load_prefixes(struct load_ctx *c, const json_t *v, struct pc_prefix **out, uint32_t *n)
{
	int rc;

	*out = alloc_items(c, v, "CIDR prefixes", sizeof(**out), n, &rc);
	if (*out == NULL)
		return rc;
	for (uint32_t i = 0; i < *n; i++) {
		const json_t *e = json_array_get(v, i);
		size_t saved = path_push_index(c, i);
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e) ||
		    pc_prefix_parse(json_string_value(e), &(*out)[i]) != 0)
			return fail_expected(c, e, PREFIX_WHAT);
		path_pop(c, saved);
	}
	return 0;
}

/* ---- JWT issuers ---- */

#define PC_POLICY_MAX_ISSUER_LEN 1024
#define PC_POLICY_MAX_LEEWAY_S 3600
#define PC_POLICY_MAX_LIFETIME_S (366u * 86400u)
#define ALG_LIST "HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, " \
		 "ES384, EdDSA"
#define GLOB_WHAT "an exact value or a glob ('*' any characters, '?' one) of 1..256 " \
		  "printable characters, no backslash"

/* A printable string without NUL of 1..max bytes. */
static bool valid_text(const json_t *v, size_t max)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len > max || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* Globs have no escape character, so a backslash would read as one to a
 * person and as a literal to the engine: refused. */
static bool valid_glob(const json_t *v)
{
	return valid_text(v, PC_POLICY_MAX_GLOB) && strchr(json_string_value(v), '\\') == NULL;
}

/* Keep the string e as list[k], unless list[0..k) has it already: lists
 * of values are sets, and a repeat is most likely a typo for another. */
static int keep_distinct(struct load_ctx *c, const json_t *e, char **list, uint32_t k)
{
	for (uint32_t j = 0; j < k; j++)
		if (strcmp(list[j], json_string_value(e)) == 0)
			return load_fail(c, "\"%s\" is listed twice", json_string_value(e));
	list[k] = strdup(json_string_value(e));
	return list[k] != NULL ? 0 : fail_nomem(c);
}

static int load_string_list(struct load_ctx *c, const json_t *v, const char *what, size_t max,
			    char ***out, uint32_t *n)
{
	char exp[160];
	int rc;

	*out = alloc_items(c, v, what, sizeof(**out), n, &rc);
	if (*out == NULL)
		return rc;
	for (uint32_t k = 0; k < *n; k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		if (!valid_text(e, max)) {
			snprintf(exp, sizeof(exp), "a string of 1..%zu printable characters", max);
			return fail_expected(c, e, exp);
		}
		if ((rc = keep_distinct(c, e, *out, k)) != 0)
			return rc;
		path_pop(c, saved);
	}
	return 0;
}

/* A non-empty set of globs (models, MCP tool names). */
static int load_glob_list(struct load_ctx *c, const json_t *v, const char *what, char ***out,
			  uint32_t *n)
{
	int rc;

	*out = alloc_items(c, v, what, sizeof(**out), n, &rc);
	if (*out == NULL)
		return rc;
	for (uint32_t k = 0; k < *n; k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		if (!valid_glob(e))
			return fail_expected(c, e, GLOB_WHAT);
		if ((rc = keep_distinct(c, e, *out, k)) != 0)
			return rc;
		path_pop(c, saved);
	}
	return 0;
}

static int load_algorithms(struct load_ctx *c, const json_t *v, uint32_t *algs)
{
	int rc = check_array(c, v, "JWS algorithm names", false);

	if (rc)
		return rc;
	*algs = 0;
	for (size_t k = 0; k < json_array_size(v); k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		if (json_is_string(e) && strcasecmp(json_string_value(e), "none") == 0)
			return load_fail(c, "\"none\" is never allowed: an unsigned token proves "
					 "nothing (RFC 8725 §3.1)");
		int a = json_is_string(e) ? pc_jwt_alg_from_name(json_string_value(e),
								  json_string_length(e)) : -1;
		if (a < 0)
			return fail_expected(c, e, "a JWS algorithm (" ALG_LIST ")");
		*algs |= PC_JWT_ALG_BIT(a);
		path_pop(c, saved);
	}
	return 0;
}

static int load_uint(struct load_ctx *c, const json_t *v, uint32_t max, const char *unit,
		     uint32_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > (json_int_t)max) {
		char exp[96];
		snprintf(exp, sizeof(exp), "an integer 0..%u (%s)", max, unit);
		if (json_is_integer(v))
			return load_fail(c, "expected %s, got %lld", exp,
					 (long long)json_integer_value(v));
		return fail_expected(c, v, exp);
	}
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

/* The key set is checked now, with the same loader the runtime will use on
 * the image's copy, so a policy that validates never fails at the dataplane
 * for its keys. The builder keeps it as canonical JSON text (sorted keys,
 * compact): the same set always compiles to the same image bytes. */
static int keep_jwks(struct load_ctx *c, json_t *ks, struct pc_src_jwt_issuer *is,
		     const char *what)
{
	char kerr[512];

	if (!json_is_object(ks))
		return fail_expected(c, ks, "a JWK Set object (RFC 7517 §5: {\"keys\": [...]})");
	is->jwks = json_dumps(ks, JSON_COMPACT | JSON_SORT_KEYS);
	if (is->jwks == NULL)
		return fail_nomem(c);
	struct pc_jwks *set = pc_jwks_load(is->jwks, strlen(is->jwks), kerr, sizeof(kerr));
	if (set == NULL) {
		if (errno == ENOMEM)
			return fail_nomem(c);
		return load_fail(c, "%s: %s", what, kerr);
	}
	unsigned n = pc_jwks_count(set);
	pc_jwks_free(set);
	if (n == 0)
		return load_fail(c, "%s holds no verification key", what);
	return 0;
}

/* jwks_file: relative names are relative to the policy file's directory,
 * so a policy and its keys move together. */
static int load_jwks_file(struct load_ctx *c, const json_t *v, struct pc_src_jwt_issuer *is)
{
	char path[4096], what[4200];
	json_error_t jerr;

	if (!valid_text(v, 4000))
		return fail_expected(c, v, "a file name");
	const char *name = json_string_value(v);
	const char *slash = strrchr(c->origin, '/');
	if (name[0] != '/' && slash != NULL)
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - c->origin), c->origin, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	json_t *ks = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (ks == NULL) {
		if (jerr.line > 0)
			return load_fail(c, "key set file %s:%d:%d: invalid JSON: %s", path,
					 jerr.line, jerr.column, jerr.text);
		return load_fail(c, "key set file %s: %s", path, jerr.text);
	}
	snprintf(what, sizeof(what), "key set file %s", path);
	int rc = keep_jwks(c, ks, is, what);
	json_decref(ks);
	return rc;
}

static int load_issuer(struct load_ctx *c, json_t *o, uint32_t i)
{
	struct pc_src_jwt_issuer *is = &c->src->jwt_issuers[i];
	json_t *v;
	size_t saved;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "a JWT issuer object");
	if ((rc = check_keys(c, o, issuer_keys)) != 0)
		return rc;

	v = json_object_get(o, "issuer");
	if (v == NULL)
		return fail_missing(c, "issuer", "the exact \"iss\" of its tokens");
	path_push_key(c, "issuer", &saved);
	if (!valid_text(v, PC_POLICY_MAX_ISSUER_LEN))
		return fail_expected(c, v, "an issuer identifier (1..1024 printable characters, "
				     "e.g. \"https://idp.example\")");
	is->issuer = strdup(json_string_value(v));
	if (is->issuer == NULL)
		return fail_nomem(c);
	if ((rc = add_unique(c, &c->issuers, is->issuer, i, "issuer", "jwt_issuers")) != 0)
		return rc;
	path_pop(c, saved);

	if ((v = opt_key(c, o, "audiences", &saved)) != NULL) {
		if ((rc = load_string_list(c, v, "audience names", PC_POLICY_MAX_ISSUER_LEN,
					   &is->audiences, &is->n_audiences)) != 0)
			return rc;
		path_pop(c, saved);
	}

	v = json_object_get(o, "algorithms");
	if (v == NULL)
		return fail_missing(c, "algorithms", "the JWS algorithms its tokens may use, "
				    "e.g. [\"RS256\"]");
	path_push_key(c, "algorithms", &saved);
	if ((rc = load_algorithms(c, v, &is->algs)) != 0)
		return rc;
	path_pop(c, saved);

	json_t *ks = json_object_get(o, "jwks"), *kf = json_object_get(o, "jwks_file");
	if (ks != NULL && kf != NULL) {
		path_push_key(c, "jwks_file", &saved);
		return load_fail(c, "give \"jwks\" or \"jwks_file\", not both");
	}
	if (ks == NULL && kf == NULL)
		return fail_missing(c, "jwks", "the issuer's key set, inline, or \"jwks_file\"");
	if (ks != NULL) {
		path_push_key(c, "jwks", &saved);
		rc = keep_jwks(c, ks, is, "key set");
	} else {
		path_push_key(c, "jwks_file", &saved);
		rc = load_jwks_file(c, kf, is);
	}
	if (rc)
		return rc;
	path_pop(c, saved);

	struct pc_jwt_issuer def;
	pc_jwt_issuer_init(&def);
	is->leeway_s = def.leeway_s;
	is->max_lifetime_s = def.max_lifetime_s;
	is->require_exp = def.require_exp;
	if ((v = opt_key(c, o, "leeway_s", &saved)) != NULL) {
		if ((rc = load_uint(c, v, PC_POLICY_MAX_LEEWAY_S, "seconds of clock skew",
				    &is->leeway_s)) != 0)
			return rc;
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "max_lifetime_s", &saved)) != NULL) {
		if ((rc = load_uint(c, v, PC_POLICY_MAX_LIFETIME_S, "seconds; 0 for no cap",
				    &is->max_lifetime_s)) != 0)
			return rc;
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "require_exp", &saved)) != NULL) {
		if (!json_is_boolean(v))
			return fail_expected(c, v, "true or false");
		is->require_exp = json_is_true(v);
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "token_header", &saved)) != NULL) {
		if (!json_is_string(v) || !valid_token(json_string_value(v), json_string_length(v),
						       PC_POLICY_MAX_HEADER_NAME))
			return fail_expected(c, v, HEADER_NAME_WHAT);
		is->token_header = dup_lower(json_string_value(v), json_string_length(v));
		path_pop(c, saved);
	} else {
		is->token_header = strdup(PC_POLICY_DEFAULT_TOKEN_HEADER);
	}
	if (is->token_header == NULL)
		return fail_nomem(c);
	return 0;
}

/* "jwt": {"issuer": ..., "subject": GLOB} or {"issuer": ..., "claim": NAME,
 * "value": GLOB}. */
static int load_jwt_binding(struct load_ctx *c, json_t *o, struct pc_src_identity *id)
{
	json_t *v, *sub, *claim, *val;
	size_t saved;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "an object {\"issuer\", \"subject\"} or {\"issuer\", "
				     "\"claim\", \"value\"}");
	if ((rc = check_keys(c, o, jwt_binding_keys)) != 0)
		return rc;
	v = json_object_get(o, "issuer");
	if (v == NULL)
		return fail_missing(c, "issuer", "one of $.jwt_issuers[*].issuer");
	path_push_key(c, "issuer", &saved);
	const struct name_slot *slot = json_is_string(v)
		? nset_find(&c->issuers, json_string_value(v), json_string_length(v)) : NULL;
	if (slot == NULL) {
		if (c->src->n_jwt_issuers == 0)
			return fail_expected_why(c, v, "an issuer of $.jwt_issuers",
						 " (no issuers are defined)");
		return fail_expected_why(c, v, "an issuer of $.jwt_issuers", "");
	}
	id->jwt_issuer = slot->idx;
	path_pop(c, saved);

	sub = json_object_get(o, "subject");
	claim = json_object_get(o, "claim");
	val = json_object_get(o, "value");
	if (sub != NULL && (claim != NULL || val != NULL)) {
		path_push_key(c, claim ? "claim" : "value", &saved);
		return load_fail(c, "give \"subject\", or \"claim\" with \"value\", not both");
	}
	if (sub != NULL) {
		path_push_key(c, "subject", &saved);
		if (!valid_glob(sub))
			return fail_expected(c, sub, GLOB_WHAT);
		id->jwt_value = strdup(json_string_value(sub));
	} else {
		if (claim == NULL)
			return fail_missing(c, "subject", "a subject glob, or \"claim\" and \"value\"");
		if (val == NULL)
			return fail_missing(c, "value", "the claim value or glob to match");
		path_push_key(c, "claim", &saved);
		if (!valid_text(claim, PC_POLICY_MAX_NAME))
			return fail_expected(c, claim, "a claim name (1..128 printable characters)");
		id->jwt_claim = strdup(json_string_value(claim));
		if (id->jwt_claim == NULL)
			return fail_nomem(c);
		path_pop(c, saved);
		path_push_key(c, "value", &saved);
		if (!valid_glob(val))
			return fail_expected(c, val, GLOB_WHAT);
		id->jwt_value = strdup(json_string_value(val));
	}
	if (id->jwt_value == NULL)
		return fail_nomem(c);
	path_pop(c, saved);
	id->has_jwt = true;
	return 0;
}

/* "claims": {"scope": ["payments:write"], "env": ["prod"]}. */
static int load_claims(struct load_ctx *c, json_t *v, struct pc_src_rule *r)
{
	const char *key;
	json_t *cv;
	uint32_t k = 0;
	int rc;

	r->claims = alloc_members(c, v, "claim", PC_JWT_MAX_CLAIMS, sizeof(*r->claims),
				  &r->n_claims, &rc);
	if (r->claims == NULL)
		return rc;
	json_object_foreach(v, key, cv) {
		struct pc_src_claim_cond *cc = &r->claims[k++];
		size_t saved;
		if (!path_push_key(c, key, &saved) || key[0] == '\0' ||
		    strlen(key) > PC_POLICY_MAX_NAME) {
			char q[LOAD_QUOTE_MAX + 32];
			quote(key, strlen(key), LOAD_QUOTE_MAX, q, sizeof(q));
			return load_fail(c, "expected a claim name of 1..128 characters, got %s", q);
		}
		cc->name = strdup(key);
		if (cc->name == NULL)
			return fail_nomem(c);
		if ((rc = load_string_list(c, cv, "claim values", PC_POLICY_MAX_GLOB, &cc->values,
					   &cc->n_values)) != 0)
			return rc;
		path_pop(c, saved);
	}
	return 0;
}

/* ---- identities ---- */

static bool decode_hex(const char *s, size_t len, uint8_t *out, size_t out_len)
{
	if (len != out_len * 2)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		int v;
		if (ch >= '0' && ch <= '9')
			v = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			v = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			v = ch - 'A' + 10;
		else
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return true;
}

static int load_digests(struct load_ctx *c, const json_t *v, struct pc_src_identity *id,
			uint32_t id_idx)
{
	int rc;

	id->api_key_digests = alloc_items(c, v, "SHA-256 digests", sizeof(*id->api_key_digests),
					  &id->n_api_keys, &rc);
	if (id->api_key_digests == NULL)
		return rc;
	for (uint32_t k = 0; k < id->n_api_keys; k++) {
		const json_t *e = json_array_get(v, k);
		const struct name_slot *prev;
		size_t saved = path_push_index(c, k);
		if (!json_is_string(e) || !decode_hex(json_string_value(e), json_string_length(e),
						      id->api_key_digests[k], PC_API_KEY_DIGEST_LEN))
			return fail_expected(c, e, "a SHA-256 digest of the API key (64 hex digits)");
		rc = nset_add(&c->digests, id->api_key_digests[k], PC_API_KEY_DIGEST_LEN, id_idx, k,
			      &prev);
		if (rc == -ENOMEM)
			return fail_nomem(c);
		if (rc == -EEXIST)
			return load_fail(c, "duplicate API key digest (first at "
					 "$.identities[%u].api_keys_sha256[%u]); an API key must "
					 "name one identity", prev->idx, prev->sub);
		path_pop(c, saved);
	}
	return 0;
}

static int load_identity(struct load_ctx *c, json_t *o, uint32_t i)
{
	struct pc_src_identity *id = &c->src->identities[i];
	json_t *v, *keys, *hdr;
	size_t saved;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "an identity object");
	if ((rc = check_keys(c, o, identity_keys)) != 0)
		return rc;

	if ((rc = load_unique_name(c, o, "name", "the identity's name", "name", &c->identities, i,
				   "identities", &id->name)) != 0)
		return rc;

	if ((v = opt_key(c, o, "sources", &saved)) != NULL) {
		if ((rc = load_prefixes(c, v, &id->sources, &id->n_sources)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((keys = opt_key(c, o, "api_keys_sha256", &saved)) != NULL) {
		if ((rc = load_digests(c, keys, id, i)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((hdr = opt_key(c, o, "api_key_header", &saved)) != NULL) {
		const char *s;
		size_t len;
		if (keys == NULL)
			return load_fail(c, "\"api_key_header\" given without \"api_keys_sha256\" "
					 "(there is no key to look for)");
		if (!json_is_string(hdr) ||
		    !valid_token(json_string_value(hdr), json_string_length(hdr),
				 PC_POLICY_MAX_HEADER_NAME))
			return fail_expected(c, hdr, HEADER_NAME_WHAT);
		s = json_string_value(hdr);
		len = json_string_length(hdr);
		id->api_key_header = dup_lower(s, len);
		path_pop(c, saved);
	} else {
		id->api_key_header = strdup(PC_POLICY_DEFAULT_KEY_HEADER);
	}
	if (id->api_key_header == NULL)
		return fail_nomem(c);

	if ((v = opt_key(c, o, "jwt", &saved)) != NULL) {
		if ((rc = load_jwt_binding(c, v, id)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if (id->n_sources == 0 && id->n_api_keys == 0 && !id->has_jwt)
		return load_fail(c, "expected \"sources\", \"api_keys_sha256\" or \"jwt\" (an "
				 "identity needs a way to recognise its caller), got none");
	return 0;
}

/* ---- destinations ---- */

#define HOST_WHAT "a host name (e.g. \"api.example.com\", \"*.example.com\") or an IP address"

/* A DNS name with an optional leading "*." (RFC 1035 §2.3.1 labels, '_'
 * allowed as real internal names use it), a dotted-quad IPv4 address, or an
 * IPv6 address in brackets, as a Host header carries them (RFC 9110 §7.2,
 * RFC 3986 §3.2.2). Returns NULL when valid, else what is wrong. */
static const char *check_host(const char *s, size_t len)
{
	struct pc_addr a;
	char tmp[PC_POLICY_MAX_HOST + 1];
	bool wild = false, numeric_last = true;
	size_t label = 0;

	if (len > PC_POLICY_MAX_HOST)
		return "; at most 253 characters are allowed";
	if (len == 0 || strlen(s) != len)
		return "";
	if (s[0] == '[') {
		if (s[len - 1] != ']' || len < 3)
			return "";
		memcpy(tmp, s + 1, len - 2);
		tmp[len - 2] = '\0';
		if (pc_addr_parse(tmp, &a) != 0 || a.family != 6)
			return " (brackets hold an IPv6 address)";
		return NULL;
	}
	if (strchr(s, ':') != NULL) {
		if (pc_addr_parse(s, &a) == 0)
			return " (write an IPv6 address in brackets, as in a Host header)";
		return " (ports go in \"ports\")";
	}
	if (len >= 2 && s[0] == '*' && s[1] == '.') {
		wild = true;
		s += 2;
		len -= 2;
	}
	if (len == 0)
		return "";
	if (memchr(s, '*', len) != NULL)
		return " (a wildcard is only allowed as a leading \"*.\")";
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? s[i] : '.';
		if (ch == '.') {
			if (label == 0)
				return " (empty label)";
			if (s[i - 1] == '-')
				return " (a label cannot end with '-')";
			if (i < len)
				numeric_last = true;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_'))
			return "";
		if (label == 0 && ch == '-')
			return " (a label cannot start with '-')";
		if (++label > PC_POLICY_MAX_LABEL)
			return " (a label has at most 63 characters)";
		if (ch < '0' || ch > '9')
			numeric_last = false;
	}
	/* A name whose last label is numeric can only be an IPv4 address
	 * (RFC 3696 §2); anything else ("1.2.3", "1.2.3.256") is a typo. */
	if (numeric_last) {
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		if (pc_addr_parse(tmp, &a) != 0 || a.family != 4)
			return " (not a valid IPv4 address)";
		if (wild)
			return " (a wildcard cannot apply to an IP address)";
	}
	return NULL;
}

static int load_hosts(struct load_ctx *c, const json_t *v, struct pc_src_destination *d)
{
	int rc;

	d->hosts = alloc_items(c, v, "host names", sizeof(*d->hosts), &d->n_hosts, &rc);
	if (d->hosts == NULL)
		return rc;
	for (uint32_t k = 0; k < d->n_hosts; k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		const char *why = "";

		if (json_is_string(e))
			why = check_host(json_string_value(e), json_string_length(e));
		if (why != NULL)
			return fail_expected_why(c, e, HOST_WHAT, why);
		d->hosts[k] = dup_lower(json_string_value(e), json_string_length(e));
		if (d->hosts[k] == NULL)
			return fail_nomem(c);
		path_pop(c, saved);
	}
	return 0;
}

static int load_ports(struct load_ctx *c, const json_t *v, struct pc_src_destination *d)
{
	int rc;

	d->ports = alloc_items(c, v, "port numbers", sizeof(*d->ports), &d->n_ports, &rc);
	if (d->ports == NULL)
		return rc;
	for (uint32_t k = 0; k < d->n_ports; k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		if (!json_is_integer(e))
			return fail_expected(c, e, "a port number (an integer 1..65535)");
		json_int_t port = json_integer_value(e);
		if (port < 1 || port > 65535)
			return load_fail(c, "expected a port number (an integer 1..65535), got %lld",
					 (long long)port);
		d->ports[k] = (uint16_t)port;
		path_pop(c, saved);
	}
	return 0;
}

static int load_destination(struct load_ctx *c, json_t *o, uint32_t i)
{
	struct pc_src_destination *d = &c->src->destinations[i];
	json_t *v;
	size_t saved;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "a destination object");
	if ((rc = check_keys(c, o, destination_keys)) != 0)
		return rc;

	if ((rc = load_unique_name(c, o, "name", "the destination's name", "name",
				   &c->destinations, i, "destinations", &d->name)) != 0)
		return rc;

	d->proto = PC_DEST_HTTP;
	if ((v = opt_key(c, o, "protocol", &saved)) != NULL) {
		unsigned p;
		for (p = 0; p < PC_ARRAY_SIZE(proto_names); p++)
			if (json_is_string(v) && strcmp(json_string_value(v), proto_names[p]) == 0)
				break;
		if (p == PC_ARRAY_SIZE(proto_names))
			return fail_expected(c, v, "\"http\", \"tls\", \"tcp\", \"udp\" or \"any\"");
		d->proto = (uint8_t)p;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "hosts", &saved)) != NULL) {
		if (d->proto != PC_DEST_HTTP && d->proto != PC_DEST_TLS)
			return load_fail(c, "host names apply only to \"http\" destinations (the "
					 "Host header) and \"tls\" ones (the SNI); an L4 flow "
					 "carries no name, and this one has protocol \"%s\"",
					 proto_names[d->proto]);
		if ((rc = load_hosts(c, v, d)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "addresses", &saved)) != NULL) {
		if ((rc = load_prefixes(c, v, &d->addresses, &d->n_addresses)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "ports", &saved)) != NULL) {
		if ((rc = load_ports(c, v, d)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "external", &saved)) != NULL) {
		if ((rc = load_bool(c, v, &d->external)) != 0)
			return rc;
		/* DLP reads request bodies, which only HTTP carries in the clear. */
		if (d->external && d->proto != PC_DEST_HTTP && d->proto != PC_DEST_ANY)
			return load_fail(c, "\"external\" applies only to \"http\" and \"any\" "
					 "destinations (DLP scans HTTP request bodies), and this one "
					 "has protocol \"%s\"", proto_names[d->proto]);
		path_pop(c, saved);
	}
	return 0;
}

/* ---- rules ---- */

/* "(defined: a, b, c)" for an unknown-name message, cut short when long. */
static void defined_list(const struct load_ctx *c, bool identities, char *buf, size_t n)
{
	uint32_t count = identities ? c->src->n_identities : c->src->n_destinations;
	size_t o;
	int w;

	if (count == 0) {
		snprintf(buf, n, "(no %s are defined)", identities ? "identities" : "destinations");
		return;
	}
	o = (size_t)snprintf(buf, n, "(defined: ");
	for (uint32_t k = 0; k < count; k++) {
		const char *name = identities ? c->src->identities[k].name
					      : c->src->destinations[k].name;
		if (o + strlen(name) + 2 > 200) {
			w = snprintf(buf + o, n - o, ", ... %u more", count - k);
			if (w > 0)
				o += (size_t)w;
			break;
		}
		w = snprintf(buf + o, n - o, "%s%s", k ? ", " : "", name);
		if (w > 0)
			o += (size_t)w;
	}
	snprintf(buf + o, n - o, ")");
}

/* A non-empty array of identity or destination names, resolved to indexes. */
static int load_refs(struct load_ctx *c, const json_t *v, bool identities, uint32_t rule_idx,
		     uint32_t **out, uint32_t *n)
{
	const struct name_set *set = identities ? &c->identities : &c->destinations;
	uint32_t *stamp = identities ? c->id_stamp : c->dst_stamp;
	const char *kind = identities ? "identity" : "destination";
	char exp[64];
	int rc;

	snprintf(exp, sizeof(exp), "%s names", kind);
	*out = alloc_items(c, v, exp, sizeof(**out), n, &rc);
	if (*out == NULL)
		return rc;
	for (uint32_t k = 0; k < *n; k++) {
		const json_t *e = json_array_get(v, k);
		const struct name_slot *slot;
		char q[LOAD_QUOTE_MAX + 32], list[256];
		size_t saved = path_push_index(c, k);

		if (!json_is_string(e)) {
			snprintf(exp, sizeof(exp), "the name of %s %s", identities ? "an" : "a", kind);
			return fail_expected(c, e, exp);
		}
		slot = nset_find(set, json_string_value(e), json_string_length(e));
		if (slot == NULL) {
			quote(json_string_value(e), json_string_length(e), LOAD_QUOTE_MAX, q,
			      sizeof(q));
			defined_list(c, identities, list, sizeof(list));
			return load_fail(c, "unknown %s %s %s", kind, q, list);
		}
		if (stamp[slot->idx] == rule_idx + 1)
			return load_fail(c, "%s \"%s\" is listed twice", kind,
					 json_string_value(e));
		stamp[slot->idx] = rule_idx + 1;
		(*out)[k] = slot->idx;
		path_pop(c, saved);
	}
	return 0;
}

static int load_methods(struct load_ctx *c, const json_t *v, uint16_t *out)
{
	int rc = check_array(c, v, "HTTP methods", false);

	if (rc)
		return rc;
	*out = 0;
	for (size_t k = 0; k < json_array_size(v); k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		uint16_t bit = 0;
		const char *s = json_is_string(e) ? json_string_value(e) : NULL;
		size_t len = s ? json_string_length(e) : 0;

		/* Methods are case-sensitive (RFC 9110 §9.1): "get" is a different
		 * method from GET, so only the exact standard spellings pass,
		 * whatever pc_http_method_from_name() would make of others. */
		for (unsigned m = 0; s && m < PC_ARRAY_SIZE(method_names); m++) {
			if (strlen(method_names[m]) == len && memcmp(method_names[m], s, len) == 0) {
				bit = pc_http_method_from_name(s, len);
				break;
			}
		}
		if (bit == 0 || (bit & PC_HTTP_OTHER) != 0) {
			bool other_case = false;
			for (unsigned m = 0; s && m < PC_ARRAY_SIZE(method_names); m++)
				if (strlen(method_names[m]) == len && strcasecmp(method_names[m], s) == 0)
					other_case = true;
			return fail_expected_why(c, e, "an HTTP method (" METHOD_LIST ")",
						 other_case ? " (methods are case-sensitive, RFC "
							      "9110 §9.1)" : "");
		}
		*out |= bit;
		path_pop(c, saved);
	}
	return 0;
}

static int load_paths(struct load_ctx *c, const json_t *v, struct pc_src_rule *r)
{
	int rc;

	r->paths = alloc_items(c, v, "path regexes", sizeof(*r->paths), &r->n_paths, &rc);
	if (r->paths == NULL)
		return rc;
	for (uint32_t k = 0; k < r->n_paths; k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		/* Hyperscan takes NUL-terminated patterns: an embedded NUL
		 * would cut the regex short. jansson refuses \u0000 already. */
		if (!json_is_string(e) || json_string_length(e) == 0 ||
		    json_string_length(e) > PC_POLICY_MAX_REGEX ||
		    strlen(json_string_value(e)) != json_string_length(e))
			return fail_expected(c, e, "a path regex (a non-empty string of at most "
					     "4096 bytes)");
		r->paths[k] = strdup(json_string_value(e));
		if (r->paths[k] == NULL)
			return fail_nomem(c);
		path_pop(c, saved);
	}
	return 0;
}

/* RFC 9110 §5.5: field-value is VCHAR, obs-text, SP and HTAB, with no
 * leading or trailing whitespace; the HTTP parser strips that whitespace, so
 * a value holding it could never match. */
static bool valid_field_value(const char *s, size_t len)
{
	if (len > PC_HTTP_MAX_LINE)
		return false;
	if (len > 0 && (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return false;
	}
	return true;
}

static int load_header_cond(struct load_ctx *c, const char *key, const json_t *v,
			    struct pc_src_rule *r, uint32_t h)
{
	struct pc_src_header_cond *hc = &r->headers[h];
	size_t klen = strlen(key);
	int rc;

	if (!valid_token(key, klen, PC_POLICY_MAX_HEADER_NAME)) {
		char q[LOAD_QUOTE_MAX + 32];
		quote(key, klen, LOAD_QUOTE_MAX, q, sizeof(q));
		return load_fail(c, "expected %s, got %s", HEADER_NAME_WHAT, q);
	}
	hc->name = dup_lower(key, klen);
	if (hc->name == NULL)
		return fail_nomem(c);
	for (uint32_t k = 0; k < h; k++)
		if (strcmp(r->headers[k].name, hc->name) == 0)
			return load_fail(c, "header \"%s\" is given twice (header names are "
					 "case-insensitive, RFC 9110 §5.1)", hc->name);
	hc->values = alloc_items(c, v, "header values", sizeof(*hc->values), &hc->n_values, &rc);
	if (hc->values == NULL)
		return rc;
	for (uint32_t k = 0; k < hc->n_values; k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		if (!json_is_string(e) ||
		    strlen(json_string_value(e)) != json_string_length(e) ||
		    !valid_field_value(json_string_value(e), json_string_length(e)))
			return fail_expected(c, e, "a header value (visible characters, spaces "
					     "and tabs, none at either end, RFC 9110 §5.5)");
		hc->values[k] = strdup(json_string_value(e));
		if (hc->values[k] == NULL)
			return fail_nomem(c);
		path_pop(c, saved);
	}
	return 0;
}

static int load_headers(struct load_ctx *c, json_t *v, struct pc_src_rule *r)
{
	const char *key;
	json_t *hv;
	uint32_t h = 0;
	int rc;

	/* A request carries at most PC_HTTP_MAX_HEADERS fields, so a rule
	 * that needs more distinct ones could never match. */
	r->headers = alloc_members(c, v, "header", PC_HTTP_MAX_HEADERS, sizeof(*r->headers),
				   &r->n_headers, &rc);
	if (r->headers == NULL)
		return rc;
	json_object_foreach(v, key, hv) {
		size_t saved;
		path_push_key(c, key, &saved); /* tokens of <= 256 bytes always fit */
		if ((rc = load_header_cond(c, key, hv, r, h)) != 0)
			return rc;
		path_pop(c, saved);
		h++;
	}
	return 0;
}

/* ---- TLS posture ---- */

#define JA4_WHAT "a JA4 fingerprint (e.g. \"t13d1516h2_8daaf6152771_e5627efa2ab1\": 10 " \
		 "characters, '_', 12 lowercase hex digits, '_', 12 lowercase hex digits)"
#define ALPN_WHAT "an ALPN protocol name (RFC 7301 §3.1: 1..255 bytes; e.g. \"h2\", " \
		  "\"http/1.1\"; printable, no spaces)"

/* A non-empty list of distinct strings, each checked by ok(). */
static int load_checked_list(struct load_ctx *c, const json_t *v, const char *what,
			     const char *elem_what, bool (*ok)(const char *, size_t), char ***out,
			     uint32_t *n)
{
	int rc;

	*out = alloc_items(c, v, what, sizeof(**out), n, &rc);
	if (*out == NULL)
		return rc;
	for (uint32_t k = 0; k < *n; k++) {
		const json_t *e = json_array_get(v, k);
		size_t saved = path_push_index(c, k);
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e) ||
		    !ok(json_string_value(e), json_string_length(e)))
			return fail_expected(c, e, elem_what);
		if ((rc = keep_distinct(c, e, *out, k)) != 0)
			return rc;
		path_pop(c, saved);
	}
	return 0;
}

/* "tls": {"min_version": "1.3", "ja4": [...], "alpn": [...]}. */
static int load_tls(struct load_ctx *c, json_t *o, struct pc_src_rule *r)
{
	json_t *v;
	size_t saved;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "an object of TLS conditions (\"min_version\", \"ja4\", "
				     "\"alpn\")");
	if ((rc = check_keys(c, o, tls_keys)) != 0)
		return rc;
	if ((v = opt_key(c, o, "min_version", &saved)) != NULL) {
		if (json_is_string(v) && strcmp(json_string_value(v), "1.2") == 0)
			r->tls_min_version = 0x0303; /* RFC 5246 */
		else if (json_is_string(v) && strcmp(json_string_value(v), "1.3") == 0)
			r->tls_min_version = 0x0304; /* RFC 8446 */
		else
			return fail_expected(c, v, "\"1.2\" or \"1.3\" (the lowest TLS version the "
					     "client must offer)");
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "ja4", &saved)) != NULL) {
		if ((rc = load_checked_list(c, v, "JA4 fingerprints", JA4_WHAT, pc__policy_ja4_valid,
					    &r->ja4, &r->n_ja4)) != 0)
			return rc;
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "alpn", &saved)) != NULL) {
		if ((rc = load_checked_list(c, v, "ALPN protocol names", ALPN_WHAT,
					    pc__policy_alpn_valid, &r->alpn, &r->n_alpn)) != 0)
			return rc;
		path_pop(c, saved);
	}
	if (r->tls_min_version == 0 && r->n_ja4 == 0 && r->n_alpn == 0)
		return load_fail(c, "expected at least one of \"min_version\", \"ja4\" or \"alpn\", "
				 "got none");
	r->has_tls = true;
	return 0;
}

/* The first HTTP-only condition kind the rule has ("methods", "paths",
 * "headers", "claims"), or NULL: such conditions need a request, which
 * neither a ClientHello nor an L4 flow's first packet is. */
static const char *http_condition(const struct pc_src_rule *r)
{
	return r->methods ? "methods" : r->n_paths ? "paths" : r->n_headers ? "headers" :
	       r->n_claims ? "claims" : r->n_models ? "models" : r->n_mcp_tools ? "mcp_tools" :
	       NULL;
}

/* A TLS flow shows only its source address: API keys and tokens travel
 * inside the encrypted stream. */
static bool source_only(const struct pc_src_identity *id)
{
	return id->n_sources > 0 && id->n_api_keys == 0 && !id->has_jwt;
}

static int load_rule(struct load_ctx *c, json_t *o, uint32_t i)
{
	struct pc_src_rule *r = &c->src->rules[i];
	json_t *v, *dests;
	size_t saved;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "a rule object");
	if ((rc = check_keys(c, o, rule_keys)) != 0)
		return rc;

	if ((rc = load_unique_name(c, o, "id", "the rule's id", "rule id", &c->rules, i, "rules",
				   &r->id)) != 0)
		return rc;

	if ((v = opt_key(c, o, "identities", &saved)) != NULL) {
		if ((rc = load_refs(c, v, true, i, &r->identities, &r->n_identities)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((dests = opt_key(c, o, "destinations", &saved)) != NULL) {
		if ((rc = load_refs(c, dests, false, i, &r->destinations, &r->n_destinations)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "methods", &saved)) != NULL) {
		if ((rc = load_methods(c, v, &r->methods)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "paths", &saved)) != NULL) {
		if ((rc = load_paths(c, v, r)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "headers", &saved)) != NULL) {
		if ((rc = load_headers(c, v, r)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "claims", &saved)) != NULL) {
		if ((rc = load_claims(c, v, r)) != 0)
			return rc;
		/* Claims come only from a verified token: without an issuer
		 * the rule could never match, which is surely not meant. */
		if (c->src->n_jwt_issuers == 0)
			return load_fail(c, "a rule with claims needs $.jwt_issuers (only a verified "
					 "JWT carries claims), and there are none");
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "models", &saved)) != NULL) {
		if ((rc = load_glob_list(c, v, "model names or globs", &r->models,
					 &r->n_models)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "mcp_tools", &saved)) != NULL) {
		/* One body, one protocol: an OpenAI request has no tools/call
		 * and an MCP call no model. */
		if (r->n_models > 0)
			return load_fail(c, "give \"models\" or \"mcp_tools\", not both (a request "
					 "body is an OpenAI-style request or an MCP call)");
		if ((rc = load_glob_list(c, v, "MCP tool names or globs", &r->mcp_tools,
					 &r->n_mcp_tools)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "tls", &saved)) != NULL) {
		if ((rc = load_tls(c, v, r)) != 0)
			return rc;
		if (http_condition(r) != NULL)
			return load_fail(c, "a rule with \"tls\" conditions is decided at the "
					 "ClientHello, which carries no method, path, header or "
					 "claim, but this rule also has %s", http_condition(r));
		path_pop(c, saved);
	}

	v = json_object_get(o, "action");
	if (v == NULL)
		return fail_missing(c, "action", "\"allow\" or \"deny\"");
	path_push_key(c, "action", &saved);
	if ((rc = load_action(c, v, &r->action)) != 0)
		return rc;
	path_pop(c, saved);

	r->mode = PC_MODE_ENFORCE;
	if ((v = opt_key(c, o, "mode", &saved)) != NULL) {
		if ((rc = load_mode(c, v, &r->mode)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, o, "deny_response", &saved)) != NULL) {
		if ((rc = load_deny_response(c, v, &r->deny_response)) != 0)
			return rc;
		path_pop(c, saved);
	}

	/* A rule for TLS flows only (posture conditions, or only tls
	 * destinations) could never match a caller known by key or token. */
	bool all_tls = r->n_destinations > 0;
	for (uint32_t k = 0; k < r->n_destinations && all_tls; k++)
		all_tls = c->src->destinations[r->destinations[k]].proto == PC_DEST_TLS;
	bool tls_only = r->has_tls || all_tls;
	for (uint32_t k = 0; tls_only && k < r->n_identities; k++) {
		const struct pc_src_identity *id = &c->src->identities[r->identities[k]];
		if (source_only(id))
			continue;
		path_push_key(c, "identities", &saved);
		path_push_index(c, k);
		return load_fail(c, "identity \"%s\" is recognised by %s, which a TLS flow never "
				 "shows (credentials travel encrypted); a rule for TLS flows can "
				 "name only identities known by \"sources\" alone", id->name,
				 id->has_jwt ? "a JWT" : id->n_api_keys ? "an API key" : "no source");
	}
	if (r->has_tls) {
		for (uint32_t k = 0; k < r->n_destinations; k++) {
			const struct pc_src_destination *d = &c->src->destinations[r->destinations[k]];
			if (d->proto == PC_DEST_TLS)
				continue;
			path_push_key(c, "destinations", &saved);
			path_push_index(c, k);
			return load_fail(c, "destination \"%s\" has protocol \"%s\", but the rule has "
					 "\"tls\" conditions, which only \"tls\" destinations are "
					 "decided on", d->name, proto_names[d->proto]);
		}
	}

	/* An L4 flow is decided on its first packet, before any request: a
	 * method, path or header condition could never be evaluated there. */
	const char *what = http_condition(r);
	if (what != NULL) {
		for (uint32_t k = 0; k < r->n_destinations; k++) {
			const struct pc_src_destination *d = &c->src->destinations[r->destinations[k]];
			if (d->proto == PC_DEST_HTTP)
				continue;
			path_push_key(c, "destinations", &saved);
			path_push_index(c, k);
			return load_fail(c, "destination \"%s\" has protocol \"%s\", but the rule "
					 "has %s, which only HTTP requests carry (%s)", d->name,
					 proto_names[d->proto], what,
					 d->proto == PC_DEST_TLS
						 ? "a TLS flow is decided at its ClientHello"
						 : "an L4 flow has no method, path or headers");
		}
	}
	return 0;
}

/* ---- top-level settings ---- */

/* "path_normalization": {"merge_slashes": true, "reject_encoded_slash": true}.
 * The two switches Envoy offers (merge_slashes,
 * path_with_escaped_slashes_action); the other rejections of
 * lib/http/path_norm.h guard against ambiguity and stay on. */
static int load_path_norm(struct load_ctx *c, json_t *o, struct pc_policy_src *src)
{
	json_t *v;
	size_t saved;
	bool on = true;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "an object of path normalisation switches "
				     "(\"merge_slashes\", \"reject_encoded_slash\")");
	if ((rc = check_keys(c, o, path_norm_keys)) != 0)
		return rc;
	if ((v = opt_key(c, o, "merge_slashes", &saved)) != NULL) {
		if ((rc = load_bool(c, v, &on)) != 0)
			return rc;
		src->path_keep_slashes = !on;
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "reject_encoded_slash", &saved)) != NULL) {
		if ((rc = load_bool(c, v, &on)) != 0)
			return rc;
		src->path_keep_encoded_slash = !on;
		path_pop(c, saved);
	}
	return 0;
}

/* lib/dlp's name rule: the name is logged and labels metrics. */
static bool valid_dlp_name(const json_t *v)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t len = json_string_length(v);
	if (len == 0 || len > PC_DLP_NAME_MAX || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return false;
	return true;
}

static int load_dlp_pattern(struct load_ctx *c, json_t *o, struct pc_src_dlp_pattern *pat,
			    struct name_set *names, uint32_t k)
{
	json_t *v;
	size_t saved;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "a DLP pattern object (\"name\", \"regex\")");
	if ((rc = check_keys(c, o, dlp_pattern_keys)) != 0)
		return rc;
	v = json_object_get(o, "name");
	if (v == NULL)
		return fail_missing(c, "name", "the pattern's name, logged when it matches");
	path_push_key(c, "name", &saved);
	if (!valid_dlp_name(v))
		return fail_expected(c, v, "a pattern name of 1..63 characters from [A-Za-z0-9._-]");
	pat->name = strdup(json_string_value(v));
	if (pat->name == NULL)
		return fail_nomem(c);
	if ((rc = add_unique(c, names, pat->name, k, "pattern name", "dlp.patterns")) != 0)
		return rc;
	path_pop(c, saved);
	v = json_object_get(o, "regex");
	if (v == NULL)
		return fail_missing(c, "regex", "a Hyperscan regex, e.g. \"acme_[A-Za-z0-9]{32}\"");
	path_push_key(c, "regex", &saved);
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > PC_DLP_REGEX_MAX ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail_expected(c, v, "a regex (a non-empty string of at most 1024 bytes)");
	pat->regex = strdup(json_string_value(v));
	if (pat->regex == NULL)
		return fail_nomem(c);
	path_pop(c, saved);
	return 0;
}

/* "dlp": {"action": "deny" | "log", "default_patterns": true,
 * "patterns": [{"name", "regex"}]}. The regexes are compiled (and so
 * checked) by pc_policy_compile(). */
static int load_dlp(struct load_ctx *c, json_t *o, struct pc_policy_src *src)
{
	struct name_set names = { 0 };
	json_t *v;
	size_t saved;
	bool defaults = true;
	int rc;

	if (!json_is_object(o))
		return fail_expected(c, o, "a DLP object (\"action\", \"default_patterns\", "
				     "\"patterns\")");
	if ((rc = check_keys(c, o, dlp_keys)) != 0)
		return rc;
	src->has_dlp = true;
	if ((v = opt_key(c, o, "action", &saved)) != NULL) {
		if (json_is_string(v) && strcmp(json_string_value(v), "deny") == 0)
			src->dlp_log_only = false;
		else if (json_is_string(v) && strcmp(json_string_value(v), "log") == 0)
			src->dlp_log_only = true;
		else
			return fail_expected(c, v, "\"deny\" or \"log\" (what a DLP match does)");
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "default_patterns", &saved)) != NULL) {
		if ((rc = load_bool(c, v, &defaults)) != 0)
			return rc;
		src->dlp_no_defaults = !defaults;
		path_pop(c, saved);
	}
	if ((v = opt_key(c, o, "patterns", &saved)) != NULL) {
		if (json_is_array(v) && json_array_size(v) > PC_DLP_MAX_PATTERNS)
			return load_fail(c, "expected at most %u DLP patterns, got %zu",
					 PC_DLP_MAX_PATTERNS, json_array_size(v));
		src->dlp_patterns = alloc_items(c, v, "DLP pattern objects", sizeof(*src->dlp_patterns),
						&src->n_dlp_patterns, &rc);
		if (src->dlp_patterns == NULL)
			return rc;
		for (uint32_t k = 0; k < src->n_dlp_patterns; k++) {
			size_t s2 = path_push_index(c, k);
			rc = load_dlp_pattern(c, json_array_get(v, k), &src->dlp_patterns[k], &names,
					      k);
			if (rc != 0) {
				nset_free(&names);
				return rc;
			}
			path_pop(c, s2);
		}
		nset_free(&names);
		path_pop(c, saved);
	}
	if (!defaults && src->n_dlp_patterns == 0)
		return load_fail(c, "expected \"patterns\" when \"default_patterns\" is false "
				 "(DLP with no pattern would scan for nothing)");
	return 0;
}

/* ---- top level ---- */

typedef int (*item_loader)(struct load_ctx *c, json_t *o, uint32_t i);

/* The optional top-level array under key: NULL when absent, else checked
 * (an empty list is fine here: a policy may have no rules). */
static int top_array(struct load_ctx *c, json_t *root, const char *key, const char *what,
		     json_t **arr)
{
	size_t saved;
	int rc;

	*arr = json_object_get(root, key);
	if (*arr == NULL)
		return 0;
	path_push_key(c, key, &saved);
	if ((rc = check_array(c, *arr, what, true)) != 0)
		return rc;
	path_pop(c, saved);
	return 0;
}

/* Load each of the n items of arr (into builder slots already allocated). */
static int load_each(struct load_ctx *c, const char *key, json_t *arr, uint32_t n,
		     item_loader fn)
{
	size_t saved;
	int rc;

	path_push_key(c, key, &saved);
	for (uint32_t i = 0; i < n; i++) {
		size_t s2 = path_push_index(c, i);
		if ((rc = fn(c, json_array_get(arr, i), i)) != 0)
			return rc;
		path_pop(c, s2);
	}
	path_pop(c, saved);
	return 0;
}

/* calloc that never asks for 0 bytes, so NULL always means no memory. */
static void *calloc_items(size_t n, size_t size)
{
	return calloc(n ? n : 1, size);
}

static int load_root(struct load_ctx *c, json_t *root)
{
	struct pc_policy_src *src = c->src;
	json_t *v;
	size_t saved;
	int rc;

	if (!json_is_object(root))
		return fail_expected(c, root, "a policy object");
	if ((rc = check_keys(c, root, top_keys)) != 0)
		return rc;

	v = json_object_get(root, "version");
	if (v == NULL)
		return fail_missing(c, "version", "the policy format version, 1");
	path_push_key(c, "version", &saved);
	if (!json_is_integer(v))
		return fail_expected(c, v, "the integer 1 (the policy format version)");
	if (json_integer_value(v) != 1)
		return load_fail(c, "expected 1 (the only policy format version this build reads), "
				 "got %lld", (long long)json_integer_value(v));
	src->version = 1;
	path_pop(c, saved);

	src->default_action = PC_ACTION_DENY;
	if ((v = opt_key(c, root, "default_action", &saved)) != NULL) {
		if ((rc = load_action(c, v, &src->default_action)) != 0)
			return rc;
		path_pop(c, saved);
	}

	src->mode = PC_MODE_ENFORCE;
	if ((v = opt_key(c, root, "mode", &saved)) != NULL) {
		if ((rc = load_mode(c, v, &src->mode)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, root, "deny_response", &saved)) != NULL) {
		if ((rc = load_deny_response(c, v, &src->deny_response)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, root, "body_window_bytes", &saved)) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (json_int_t)PC_POLICY_MAX_BODY_WINDOW) {
			const char *exp = "an integer 1..1048576 (bytes of a request body read "
					  "for \"models\" and \"mcp_tools\" rules)";
			if (json_is_integer(v))
				return load_fail(c, "expected %s, got %lld", exp,
						 (long long)json_integer_value(v));
			return fail_expected(c, v, exp);
		}
		src->body_window = (uint32_t)json_integer_value(v);
		path_pop(c, saved);
	}

	if ((v = opt_key(c, root, "path_normalization", &saved)) != NULL) {
		if ((rc = load_path_norm(c, v, src)) != 0)
			return rc;
		path_pop(c, saved);
	}

	if ((v = opt_key(c, root, "dlp", &saved)) != NULL) {
		if ((rc = load_dlp(c, v, src)) != 0)
			return rc;
		path_pop(c, saved);
	}

	json_t *iss, *ids, *dsts, *rules;
	if ((rc = top_array(c, root, "jwt_issuers", "JWT issuer objects", &iss)) != 0 ||
	    (rc = top_array(c, root, "identities", "identity objects", &ids)) != 0 ||
	    (rc = top_array(c, root, "destinations", "destination objects", &dsts)) != 0 ||
	    (rc = top_array(c, root, "rules", "rule objects", &rules)) != 0)
		return rc;

	/* Every array is allocated before any item is loaded, with its count
	 * set, so a failure anywhere leaves a builder pc_policy_src_free()
	 * can walk. The stamps are sized by what the rules can name. */
	src->identities = calloc_items(json_array_size(ids), sizeof(*src->identities));
	src->destinations = calloc_items(json_array_size(dsts), sizeof(*src->destinations));
	src->rules = calloc_items(json_array_size(rules), sizeof(*src->rules));
	src->jwt_issuers = calloc_items(json_array_size(iss), sizeof(*src->jwt_issuers));
	c->id_stamp = calloc_items(json_array_size(ids), sizeof(*c->id_stamp));
	c->dst_stamp = calloc_items(json_array_size(dsts), sizeof(*c->dst_stamp));
	if (src->identities == NULL || src->destinations == NULL || src->rules == NULL ||
	    src->jwt_issuers == NULL || c->id_stamp == NULL || c->dst_stamp == NULL)
		return fail_nomem(c);
	if (json_array_size(iss) > PC_POLICY_MAX_ISSUERS) {
		path_push_key(c, "jwt_issuers", &saved);
		return load_fail(c, "expected at most %u issuers, got %zu", PC_POLICY_MAX_ISSUERS,
				 json_array_size(iss));
	}
	/* An empty list is a NULL array, as in a builder made by hand. */
	if (json_array_size(ids) == 0) {
		free(src->identities);
		src->identities = NULL;
	}
	if (json_array_size(dsts) == 0) {
		free(src->destinations);
		src->destinations = NULL;
	}
	if (json_array_size(rules) == 0) {
		free(src->rules);
		src->rules = NULL;
	}
	if (json_array_size(iss) == 0) {
		free(src->jwt_issuers);
		src->jwt_issuers = NULL;
	}
	src->n_jwt_issuers = (uint32_t)json_array_size(iss);
	src->n_identities = (uint32_t)json_array_size(ids);
	src->n_destinations = (uint32_t)json_array_size(dsts);
	src->n_rules = (uint32_t)json_array_size(rules);

	if ((rc = load_each(c, "jwt_issuers", iss, src->n_jwt_issuers, load_issuer)) != 0 ||
	    (rc = load_each(c, "identities", ids, src->n_identities, load_identity)) != 0 ||
	    (rc = load_each(c, "destinations", dsts, src->n_destinations, load_destination)) != 0)
		return rc;
	return load_each(c, "rules", rules, src->n_rules, load_rule);
}

/* ---- API ---- */

/* See policy.h. Returns the builder or NULL with errno (EINVAL for any
 * policy or syntax error, EFBIG, ENOMEM) and err filled. Control path. */
struct pc_policy_src *pc_policy_load_string(const char *text, size_t len, const char *origin,
					    char *err, size_t err_len)
{
	struct load_ctx c = {
		.text = text, .len = len, .origin = origin ? origin : "<policy>",
		.err = err, .err_len = err_len, .path = "$", .plen = 1,
	};
	json_error_t jerr;
	json_t *root = NULL;
	int rc;

	if (err != NULL && err_len != 0)
		err[0] = '\0';
	if (text == NULL && len != 0) {
		if (err != NULL && err_len != 0)
			snprintf(err, err_len, "%s: no text", c.origin);
		errno = EINVAL;
		return NULL;
	}
	if (len > PC_POLICY_MAX_FILE_BYTES) {
		if (err != NULL && err_len != 0)
			snprintf(err, err_len, "%s: too large: %zu bytes (the limit is %u)", c.origin,
				 len, PC_POLICY_MAX_FILE_BYTES);
		errno = EFBIG;
		return NULL;
	}
	c.src = calloc(1, sizeof(*c.src));
	if (c.src == NULL || (c.src->origin = strdup(c.origin)) == NULL) {
		rc = fail_nomem(&c);
		goto out;
	}
	root = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		if (err != NULL && err_len != 0) {
			if (jerr.line > 0)
				snprintf(err, err_len, "%s:%d:%d: invalid JSON: %s", c.origin, jerr.line,
					 jerr.column, jerr.text);
			else
				snprintf(err, err_len, "%s: invalid JSON: %s", c.origin, jerr.text);
		}
		rc = -EINVAL;
		goto out;
	}
	rc = load_root(&c, root);
out:
	json_decref(root);
	nset_free(&c.identities);
	nset_free(&c.destinations);
	nset_free(&c.rules);
	nset_free(&c.digests);
	nset_free(&c.issuers);
	free(c.id_stamp);
	free(c.dst_stamp);
	if (rc != 0) {
		pc_policy_src_free(c.src);
		errno = -rc;
		return NULL;
	}
	return c.src;
}

/* Read the whole file, refusing more than the size limit. Works on pipes
 * and other files with no size too, so "-" style inputs (/dev/stdin) load. */
static int read_all(const char *path, char **out, size_t *out_len, char *err, size_t err_len)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: cannot open: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		snprintf(err, err_len, "%s: cannot read: %s", path, strerror(-rc));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
		snprintf(err, err_len, "%s: cannot read: %s", path, strerror(EISDIR));
		goto out;
	}
	/* Refuse a regular file that is too large before reading any of it;
	 * others (pipes) are caught by the read loop's bound. */
	if (S_ISREG(st.st_mode) && st.st_size > PC_POLICY_MAX_FILE_BYTES) {
		rc = -EFBIG;
		snprintf(err, err_len, "%s: too large: %lld bytes (the limit is %u)", path,
			 (long long)st.st_size, PC_POLICY_MAX_FILE_BYTES);
		goto out;
	}
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 64 * 1024;
			if (ncap > (size_t)PC_POLICY_MAX_FILE_BYTES + 1)
				ncap = (size_t)PC_POLICY_MAX_FILE_BYTES + 1;
			if (ncap == cap) { /* one byte past the limit was read */
				rc = -EFBIG;
				snprintf(err, err_len, "%s: too large: more than %u bytes", path,
					 PC_POLICY_MAX_FILE_BYTES);
				goto out;
			}
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				rc = -ENOMEM;
				snprintf(err, err_len, "%s: out of memory", path);
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			snprintf(err, err_len, "%s: cannot read: %s", path, strerror(-rc));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > PC_POLICY_MAX_FILE_BYTES) {
		rc = -EFBIG;
		snprintf(err, err_len, "%s: too large: more than %u bytes", path,
			 PC_POLICY_MAX_FILE_BYTES);
		goto out;
	}
out:
	close(fd);
	if (rc != 0) {
		free(buf);
		return rc;
	}
	*out = buf;
	*out_len = len;
	return 0;
}

/* See policy.h. Adds the file's own errors ("cannot open: ...", errno from
 * open or read). Control path. */
struct pc_policy_src *pc_policy_load_file(const char *path, char *err, size_t err_len)
{
	char dummy[1];
	char *text = NULL;
	size_t len = 0;
	struct pc_policy_src *src;
	int rc, saved_errno;

	if (err == NULL || err_len == 0) {
		err = dummy;
		err_len = sizeof(dummy);
	}
	err[0] = '\0';
	if (path == NULL) {
		snprintf(err, err_len, "no policy file given");
		errno = EINVAL;
		return NULL;
	}
	rc = read_all(path, &text, &len, err, err_len);
	if (rc != 0) {
		errno = -rc;
		return NULL;
	}
	src = pc_policy_load_string(text, len, path, err, err_len);
	saved_errno = errno;
	free(text);
	errno = saved_errno;
	return src;
}

static void free_strings(char **a, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++)
		free(a[k]);
	free(a);
}

static void free_identity(struct pc_src_identity *id)
{
	free(id->name);
	free(id->sources);
	free(id->api_key_digests);
	free(id->api_key_header);
	free(id->jwt_claim);
	free(id->jwt_value);
}

static void free_issuer(struct pc_src_jwt_issuer *is)
{
	free(is->issuer);
	free_strings(is->audiences, is->n_audiences);
	free(is->jwks); /* json_dumps uses the default allocator: malloc */
	free(is->token_header);
}

static void free_destination(struct pc_src_destination *d)
{
	free(d->name);
	free_strings(d->hosts, d->n_hosts);
	free(d->addresses);
	free(d->ports);
}

static void free_rule(struct pc_src_rule *r)
{
	free(r->id);
	free(r->identities);
	free(r->destinations);
	free_strings(r->paths, r->n_paths);
	for (uint32_t h = 0; h < r->n_headers; h++) {
		free(r->headers[h].name);
		free_strings(r->headers[h].values, r->headers[h].n_values);
	}
	free(r->headers);
	for (uint32_t h = 0; h < r->n_claims; h++) {
		free(r->claims[h].name);
		free_strings(r->claims[h].values, r->claims[h].n_values);
	}
	free(r->claims);
	free_strings(r->ja4, r->n_ja4);
	free_strings(r->alpn, r->n_alpn);
	free_strings(r->models, r->n_models);
	free_strings(r->mcp_tools, r->n_mcp_tools);
}

/* Free a builder, complete or left half-built by an error; NULL is fine.
 * Control path. */
void pc_policy_src_free(struct pc_policy_src *src)
{
	if (src == NULL)
		return;
	for (uint32_t i = 0; i < src->n_identities; i++)
		free_identity(&src->identities[i]);
	free(src->identities);
	for (uint32_t i = 0; i < src->n_destinations; i++)
		free_destination(&src->destinations[i]);
	free(src->destinations);
	for (uint32_t i = 0; i < src->n_rules; i++)
		free_rule(&src->rules[i]);
	free(src->rules);
	for (uint32_t i = 0; i < src->n_jwt_issuers; i++)
		free_issuer(&src->jwt_issuers[i]);
	free(src->jwt_issuers);
	for (uint32_t i = 0; i < src->n_dlp_patterns; i++) {
		free(src->dlp_patterns[i].name);
		free(src->dlp_patterns[i].regex);
	}
	free(src->dlp_patterns);
	free(src->origin);
	free(src);
}
