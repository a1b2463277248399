/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The policy loader: builder contents for valid policies (the repository's
 * sample and the fixtures under tests/data/policies), and for every invalid
 * fixture the exact message, with file, line and JSON path. Run under the
 * sanitizer build, every error path is also checked for leaks.
 *
 * Paths are relative to tests/unit, the directory meson runs the suite in.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http_parse.h"
#include "jwt/jwt.h"
#include "pc_test.h"
#include "policy/policy.h"
#include "util/addr.h"

#define FIXTURES "../data/policies/"
#define SAMPLE "../../config/policy.sample.json"

static char err[4096];

static struct pc_policy_src *load_text(const char *text)
{
	return pc_policy_load_string(text, strlen(text), "t.json", err, sizeof(err));
}

static bool prefix_is(const struct pc_prefix *p, const char *text)
{
	struct pc_prefix want;

	if (pc_prefix_parse(text, &want) != 0)
		return false;
	return p->len == want.len && pc_addr_eq(&p->addr, &want.addr);
}

static void hex_to_bytes(const char *hex, uint8_t *out)
{
	for (int i = 0; i < PC_API_KEY_DIGEST_LEN; i++) {
		unsigned v;
		sscanf(hex + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static bool digest_is(const uint8_t *d, const char *hex)
{
	uint8_t want[PC_API_KEY_DIGEST_LEN];

	hex_to_bytes(hex, want);
	return memcmp(d, want, sizeof(want)) == 0;
}

/* ---- valid policies ---- */

static void test_sample(void)
{
	struct pc_policy_src *s = pc_policy_load_file(SAMPLE, err, sizeof(err));

	if (s == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->origin, SAMPLE);
	CU_ASSERT_EQUAL(s->version, 1);
	CU_ASSERT_EQUAL(s->default_action, PC_ACTION_DENY);
	CU_ASSERT_EQUAL_FATAL(s->n_identities, 4);
	CU_ASSERT_EQUAL_FATAL(s->n_destinations, 4);
	CU_ASSERT_EQUAL_FATAL(s->n_rules, 8);
	/* the AI part: a key in "authorization: Bearer", models and tools */
	CU_ASSERT_STRING_EQUAL(s->identities[3].name, "research-agent");
	CU_ASSERT_STRING_EQUAL(s->identities[3].api_key_header, "authorization");
	CU_ASSERT(digest_is(s->identities[3].api_key_digests[0],
			    "bec56a54893285a3b3f1cca859487587f4291f853169aa5f980aa2810aecf964"));
	CU_ASSERT_STRING_EQUAL(s->destinations[2].name, "llm-gateway");
	CU_ASSERT_STRING_EQUAL(s->destinations[3].name, "mcp-tools");
	CU_ASSERT_EQUAL_FATAL(s->rules[6].n_models, 1);
	CU_ASSERT_STRING_EQUAL(s->rules[6].models[0], "small-*");
	CU_ASSERT_EQUAL_FATAL(s->rules[7].n_mcp_tools, 1);
	CU_ASSERT_STRING_EQUAL(s->rules[7].mcp_tools[0], "search_tickets");

	const struct pc_src_identity *ta = &s->identities[0];
	CU_ASSERT_STRING_EQUAL(ta->name, "ticket-agent");
	CU_ASSERT_EQUAL_FATAL(ta->n_sources, 1);
	CU_ASSERT_EQUAL(ta->sources[0].addr.family, 4);
	CU_ASSERT_EQUAL(ta->sources[0].addr.v4, 0xc6120100u); /* host order */
	CU_ASSERT_EQUAL(ta->sources[0].len, 24);
	CU_ASSERT_EQUAL_FATAL(ta->n_api_keys, 1);
	CU_ASSERT_EQUAL(ta->api_key_digests[0][0], 0xce);
	CU_ASSERT_EQUAL(ta->api_key_digests[0][31], 0x3b);
	CU_ASSERT(digest_is(ta->api_key_digests[0],
			    "ce6e7185989b4c41510b8ba0d7351ecc4dcbb1bec7293bcf43705d46a7ea1f3b"));
	CU_ASSERT_STRING_EQUAL(ta->api_key_header, "x-api-key");

	CU_ASSERT_STRING_EQUAL(s->identities[1].name, "billing-bot");
	CU_ASSERT_EQUAL(s->identities[1].n_sources, 0);
	CU_ASSERT_EQUAL(s->identities[1].n_api_keys, 1);
	CU_ASSERT_STRING_EQUAL(s->identities[2].name, "monitoring");
	CU_ASSERT_EQUAL(s->identities[2].n_api_keys, 0);
	CU_ASSERT_EQUAL_FATAL(s->identities[2].n_sources, 1);
	CU_ASSERT(prefix_is(&s->identities[2].sources[0], "198.18.1.200/32"));
	/* the default header even when no key is given */
	CU_ASSERT_STRING_EQUAL(s->identities[2].api_key_header, "x-api-key");

	const struct pc_src_destination *t = &s->destinations[0];
	CU_ASSERT_STRING_EQUAL(t->name, "tickets");
	CU_ASSERT_EQUAL(t->proto, PC_DEST_HTTP);
	CU_ASSERT_EQUAL_FATAL(t->n_hosts, 2);
	CU_ASSERT_STRING_EQUAL(t->hosts[0], "tickets.internal");
	CU_ASSERT_STRING_EQUAL(t->hosts[1], "*.tickets.internal");
	CU_ASSERT_EQUAL_FATAL(t->n_addresses, 1);
	CU_ASSERT(prefix_is(&t->addresses[0], "198.18.0.2/32"));
	CU_ASSERT_EQUAL_FATAL(t->n_ports, 1);
	CU_ASSERT_EQUAL(t->ports[0], 80);
	CU_ASSERT_EQUAL(s->destinations[1].proto, PC_DEST_TCP);
	CU_ASSERT_EQUAL(s->destinations[1].n_hosts, 0);
	CU_ASSERT_EQUAL(s->destinations[1].ports[0], 22);

	const struct pc_src_rule *r = &s->rules[0];
	CU_ASSERT_STRING_EQUAL(r->id, "block-admin");
	CU_ASSERT_EQUAL(r->n_identities, 0); /* any caller */
	CU_ASSERT_EQUAL_FATAL(r->n_destinations, 1);
	CU_ASSERT_EQUAL(r->destinations[0], 0);
	CU_ASSERT_EQUAL(r->methods, 0);
	CU_ASSERT_EQUAL_FATAL(r->n_paths, 1);
	CU_ASSERT_STRING_EQUAL(r->paths[0], "^/admin(/.*)?$");
	CU_ASSERT_EQUAL(r->action, PC_ACTION_DENY);

	r = &s->rules[1];
	CU_ASSERT_STRING_EQUAL(r->id, "tickets-read");
	CU_ASSERT_EQUAL_FATAL(r->n_identities, 1);
	CU_ASSERT_EQUAL(r->identities[0], 0);
	CU_ASSERT_EQUAL(r->methods, PC_HTTP_GET | PC_HTTP_HEAD);
	CU_ASSERT_EQUAL(r->action, PC_ACTION_ALLOW);

	r = &s->rules[2];
	CU_ASSERT_EQUAL(r->methods, PC_HTTP_POST);
	CU_ASSERT_EQUAL_FATAL(r->n_headers, 1);
	CU_ASSERT_STRING_EQUAL(r->headers[0].name, "x-agent-purpose");
	CU_ASSERT_EQUAL_FATAL(r->headers[0].n_values, 2);
	CU_ASSERT_STRING_EQUAL(r->headers[0].values[0], "triage");
	CU_ASSERT_STRING_EQUAL(r->headers[0].values[1], "summarize");

	CU_ASSERT_EQUAL(s->rules[3].identities[0], 1);
	CU_ASSERT_EQUAL(s->rules[4].identities[0], 2);
	r = &s->rules[5];
	CU_ASSERT_STRING_EQUAL(r->id, "ops-ssh");
	CU_ASSERT_EQUAL(r->identities[0], 2);
	CU_ASSERT_EQUAL(r->destinations[0], 1);
	CU_ASSERT_EQUAL(r->n_paths, 0);
	CU_ASSERT_EQUAL(r->n_headers, 0);
	pc_policy_src_free(s);
}

/* Every JWT key: issuers (inline key set and a file relative to the policy),
 * subject and claim bindings, rule claim conditions. */
static void test_valid_jwt(void)
{
	struct pc_policy_src *s = pc_policy_load_file(FIXTURES "valid-jwt.json", err, sizeof(err));

	if (s == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(s->n_jwt_issuers, 2);
	const struct pc_src_jwt_issuer *is = &s->jwt_issuers[0];
	CU_ASSERT_STRING_EQUAL(is->issuer, "https://idp.example");
	CU_ASSERT_EQUAL_FATAL(is->n_audiences, 2);
	CU_ASSERT_STRING_EQUAL(is->audiences[0], "payments-gw");
	CU_ASSERT_STRING_EQUAL(is->audiences[1], "other-gw");
	CU_ASSERT_EQUAL(is->algs, PC_JWT_ALG_BIT(PC_JWT_ALG_RS256) | PC_JWT_ALG_BIT(PC_JWT_ALG_ES256));
	CU_ASSERT_EQUAL(is->leeway_s, 10);
	CU_ASSERT_EQUAL(is->max_lifetime_s, 7200);
	CU_ASSERT_FALSE(is->require_exp);
	CU_ASSERT_STRING_EQUAL(is->token_header, "x-token"); /* lowercased */
	/* the file's key set, kept as canonical JSON: sorted keys, compact */
	CU_ASSERT_PTR_NOT_NULL_FATAL(is->jwks);
	CU_ASSERT_EQUAL(strncmp(is->jwks, "{\"keys\":[{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":", 33), 0);
	CU_ASSERT_PTR_NULL(strchr(is->jwks, ' '));

	is = &s->jwt_issuers[1];
	CU_ASSERT_STRING_EQUAL(is->issuer, "joe");
	CU_ASSERT_EQUAL(is->n_audiences, 0);
	CU_ASSERT_EQUAL(is->algs, PC_JWT_ALG_BIT(PC_JWT_ALG_ES256));
	/* defaults */
	CU_ASSERT_EQUAL(is->leeway_s, 30);
	CU_ASSERT_EQUAL(is->max_lifetime_s, 3600);
	CU_ASSERT_TRUE(is->require_exp);
	CU_ASSERT_STRING_EQUAL(is->token_header, "authorization");
	CU_ASSERT_STRING_EQUAL(is->jwks, "{\"keys\":[{\"crv\":\"P-256\",\"kty\":\"EC\","
			       "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
			       "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}");

	CU_ASSERT_EQUAL_FATAL(s->n_identities, 3);
	const struct pc_src_identity *id = &s->identities[0];
	CU_ASSERT_TRUE(id->has_jwt);
	CU_ASSERT_EQUAL(id->jwt_issuer, 0);
	CU_ASSERT_PTR_NULL(id->jwt_claim);
	CU_ASSERT_STRING_EQUAL(id->jwt_value, "svc-pay-*");
	CU_ASSERT_EQUAL(id->n_sources, 1);
	CU_ASSERT_EQUAL(id->n_api_keys, 0);
	id = &s->identities[1];
	CU_ASSERT_TRUE(id->has_jwt);
	CU_ASSERT_EQUAL(id->jwt_issuer, 1);
	CU_ASSERT_STRING_EQUAL(id->jwt_claim, "client_id");
	CU_ASSERT_STRING_EQUAL(id->jwt_value, "c?-root");
	id = &s->identities[2];
	CU_ASSERT_TRUE(id->has_jwt);
	CU_ASSERT_EQUAL(id->n_api_keys, 1);

	CU_ASSERT_EQUAL_FATAL(s->n_rules, 1);
	const struct pc_src_rule *r = &s->rules[0];
	CU_ASSERT_EQUAL_FATAL(r->n_claims, 2);
	CU_ASSERT_STRING_EQUAL(r->claims[0].name, "scope");
	CU_ASSERT_EQUAL_FATAL(r->claims[0].n_values, 1);
	CU_ASSERT_STRING_EQUAL(r->claims[0].values[0], "payments:write");
	CU_ASSERT_STRING_EQUAL(r->claims[1].name, "env");
	CU_ASSERT_EQUAL_FATAL(r->claims[1].n_values, 2);
	CU_ASSERT_STRING_EQUAL(r->claims[1].values[1], "staging");

	/* no issuers: an empty list, not an error */
	pc_policy_src_free(s);
	s = pc_policy_load_string("{\"version\": 1, \"jwt_issuers\": []}", 33, "t.json", err,
				  sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->n_jwt_issuers, 0);
	CU_ASSERT_PTR_NULL(s->jwt_issuers);
	pc_policy_src_free(s);
}

static void test_valid_tls(void)
{
	struct pc_policy_src *s = pc_policy_load_file(FIXTURES "valid-tls.json", err, sizeof(err));

	if (s == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL_FATAL(s->n_destinations, 3);
	const struct pc_src_destination *d = &s->destinations[0];
	CU_ASSERT_EQUAL(d->proto, PC_DEST_TLS);
	CU_ASSERT_EQUAL_FATAL(d->n_hosts, 2);
	CU_ASSERT_STRING_EQUAL(d->hosts[1], "*.models.example"); /* lowercased, as for HTTP */
	CU_ASSERT_EQUAL(d->n_addresses, 1);
	CU_ASSERT_EQUAL(d->n_ports, 1);
	CU_ASSERT_EQUAL(s->destinations[1].proto, PC_DEST_TLS);
	CU_ASSERT_EQUAL(s->destinations[2].proto, PC_DEST_HTTP);

	CU_ASSERT_EQUAL_FATAL(s->n_rules, 4);
	const struct pc_src_rule *r = &s->rules[0];
	CU_ASSERT(r->has_tls);
	CU_ASSERT_EQUAL(r->tls_min_version, 0x0304);
	CU_ASSERT_EQUAL_FATAL(r->n_ja4, 2);
	CU_ASSERT_STRING_EQUAL(r->ja4[0], "t13d1516h2_8daaf6152771_e5627efa2ab1");
	CU_ASSERT_STRING_EQUAL(r->ja4[1], "t13d0412h1_16476d049b0b_85302d7e289e");
	CU_ASSERT_EQUAL_FATAL(r->n_alpn, 2);
	CU_ASSERT_STRING_EQUAL(r->alpn[0], "h2");
	CU_ASSERT_STRING_EQUAL(r->alpn[1], "http/1.1");
	r = &s->rules[1];
	CU_ASSERT(r->has_tls);
	CU_ASSERT_EQUAL(r->tls_min_version, 0x0303);
	CU_ASSERT_EQUAL(r->n_ja4, 0);
	CU_ASSERT_EQUAL(r->n_alpn, 0);
	/* no "tls": no posture, and a rule over tls and http destinations may
	 * name a keyed identity (it can match its HTTP requests) */
	CU_ASSERT(!s->rules[2].has_tls);
	CU_ASSERT(!s->rules[3].has_tls);
	CU_ASSERT_EQUAL(s->rules[3].n_destinations, 2);
	pc_policy_src_free(s);

	/* a JWT identity is refused like a keyed one */
	static const char jwt_text[] =
		"{\"version\": 1, \"jwt_issuers\": [{\"issuer\": \"https://i\", \"algorithms\": "
		"[\"HS256\"], \"jwks\": {\"keys\": [{\"kty\": \"oct\", \"k\": "
		"\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA\"}]}}],\n"
		"\"identities\": [{\"name\": \"j\", \"jwt\": {\"issuer\": \"https://i\", "
		"\"subject\": \"x\"}}],\n"
		"\"rules\": [{\"id\": \"r\", \"identities\": [\"j\"], \"tls\": {\"min_version\": "
		"\"1.3\"}, \"action\": \"allow\"}]}";
	CU_ASSERT_PTR_NULL(load_text(jwt_text));
	CU_ASSERT_STRING_EQUAL(err, "t.json:3: $.rules[0].identities[0]: identity \"j\" is "
			       "recognised by a JWT, which a TLS flow never shows (credentials "
			       "travel encrypted); a rule for TLS flows can name only identities "
			       "known by \"sources\" alone");
}

static void test_valid_full(void)
{
	struct pc_policy_src *s = pc_policy_load_file(FIXTURES "valid-full.json", err, sizeof(err));

	if (s == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->default_action, PC_ACTION_ALLOW);
	CU_ASSERT_EQUAL_FATAL(s->n_identities, 3);
	CU_ASSERT_EQUAL_FATAL(s->n_destinations, 5);
	CU_ASSERT_EQUAL_FATAL(s->n_rules, 3);

	const struct pc_src_identity *a = &s->identities[0];
	CU_ASSERT_STRING_EQUAL(a->name, "agent.one@team/a:b_c-d");
	CU_ASSERT_EQUAL_FATAL(a->n_sources, 3);
	CU_ASSERT(prefix_is(&a->sources[0], "198.18.1.0/24"));
	CU_ASSERT_EQUAL(a->sources[1].addr.family, 6);
	CU_ASSERT_EQUAL(a->sources[1].len, 48);
	CU_ASSERT(prefix_is(&a->sources[1], "2001:db8:1::/48"));
	CU_ASSERT_EQUAL(a->sources[2].len, 32); /* a bare address is a host prefix */
	CU_ASSERT_EQUAL_FATAL(a->n_api_keys, 1);
	/* upper-case hex decodes to the same bytes */
	CU_ASSERT(digest_is(a->api_key_digests[0],
			    "ce6e7185989b4c41510b8ba0d7351ecc4dcbb1bec7293bcf43705d46a7ea1f3b"));
	CU_ASSERT_STRING_EQUAL(a->api_key_header, "authorization");

	const struct pc_src_identity *b = &s->identities[1];
	CU_ASSERT_EQUAL(b->n_sources, 0);
	CU_ASSERT_PTR_NULL(b->sources);
	CU_ASSERT_EQUAL_FATAL(b->n_api_keys, 2);
	CU_ASSERT_EQUAL(b->api_key_digests[1][31], 0x01);
	for (int i = 0; i < 31; i++)
		CU_ASSERT_EQUAL(b->api_key_digests[1][i], 0);
	CU_ASSERT_STRING_EQUAL(b->api_key_header, "x-api-key");
	CU_ASSERT(prefix_is(&s->identities[2].sources[0], "0.0.0.0/0"));

	const struct pc_src_destination *d = &s->destinations[0];
	CU_ASSERT_EQUAL(d->proto, PC_DEST_HTTP);
	CU_ASSERT_EQUAL_FATAL(d->n_hosts, 5);
	CU_ASSERT_STRING_EQUAL(d->hosts[0], "api.example.com");
	CU_ASSERT_STRING_EQUAL(d->hosts[1], "*.svc.internal");
	CU_ASSERT_STRING_EQUAL(d->hosts[2], "198.18.0.2");
	CU_ASSERT_STRING_EQUAL(d->hosts[3], "[2001:db8::2]");
	CU_ASSERT_STRING_EQUAL(d->hosts[4], "under_score.internal");
	CU_ASSERT_EQUAL_FATAL(d->n_addresses, 2);
	CU_ASSERT(prefix_is(&d->addresses[1], "2001:db8::2"));
	CU_ASSERT_EQUAL_FATAL(d->n_ports, 3);
	CU_ASSERT_EQUAL(d->ports[0], 80);
	CU_ASSERT_EQUAL(d->ports[1], 8080);
	CU_ASSERT_EQUAL(d->ports[2], 65535);
	CU_ASSERT_EQUAL(s->destinations[1].proto, PC_DEST_TCP);
	CU_ASSERT_EQUAL(s->destinations[2].proto, PC_DEST_UDP);
	CU_ASSERT_EQUAL(s->destinations[2].n_addresses, 0);
	CU_ASSERT_EQUAL(s->destinations[3].proto, PC_DEST_ANY);
	d = &s->destinations[4];
	CU_ASSERT_STRING_EQUAL(d->name, "anywhere-http");
	CU_ASSERT_EQUAL(d->proto, PC_DEST_HTTP);
	CU_ASSERT_EQUAL(d->n_hosts + d->n_addresses + d->n_ports, 0);

	const struct pc_src_rule *r = &s->rules[0];
	CU_ASSERT_EQUAL_FATAL(r->n_identities, 2);
	CU_ASSERT_EQUAL(r->identities[0], 2);
	CU_ASSERT_EQUAL(r->identities[1], 0);
	CU_ASSERT_EQUAL_FATAL(r->n_destinations, 2);
	CU_ASSERT_EQUAL(r->destinations[0], 0);
	CU_ASSERT_EQUAL(r->destinations[1], 4);
	CU_ASSERT_EQUAL(r->methods, PC_HTTP_GET | PC_HTTP_HEAD | PC_HTTP_POST | PC_HTTP_PUT |
				    PC_HTTP_DELETE | PC_HTTP_CONNECT | PC_HTTP_OPTIONS |
				    PC_HTTP_TRACE | PC_HTTP_PATCH);
	CU_ASSERT_EQUAL_FATAL(r->n_paths, 2);
	CU_ASSERT_STRING_EQUAL(r->paths[1], "^/b/[0-9]+$");
	CU_ASSERT_EQUAL_FATAL(r->n_headers, 2);
	CU_ASSERT_STRING_EQUAL(r->headers[0].name, "x-agent-purpose");
	/* values keep their case: they are compared exactly */
	CU_ASSERT_STRING_EQUAL(r->headers[0].values[1], "Summarize now");
	CU_ASSERT_STRING_EQUAL(r->headers[1].name, "x.trace");
	CU_ASSERT_EQUAL_FATAL(r->headers[1].n_values, 2);
	CU_ASSERT_STRING_EQUAL(r->headers[1].values[0], "a\tb");
	CU_ASSERT_STRING_EQUAL(r->headers[1].values[1], "");
	CU_ASSERT_EQUAL(r->action, PC_ACTION_ALLOW);

	r = &s->rules[1];
	CU_ASSERT_EQUAL(r->n_identities, 0);
	CU_ASSERT_PTR_NULL(r->identities);
	CU_ASSERT_EQUAL_FATAL(r->n_destinations, 3);
	CU_ASSERT_EQUAL(r->destinations[2], 3);
	CU_ASSERT_EQUAL(r->methods, 0);
	CU_ASSERT_EQUAL(r->action, PC_ACTION_DENY);
	r = &s->rules[2];
	CU_ASSERT_EQUAL(r->n_identities + r->n_destinations + r->n_paths + r->n_headers, 0);
	pc_policy_src_free(s);
}

static void test_valid_minimal(void)
{
	static const char *const files[] = {
		FIXTURES "valid-minimal.json",
		FIXTURES "valid-empty-lists.json",
	};

	for (size_t i = 0; i < PC_ARRAY_SIZE(files); i++) {
		struct pc_policy_src *s = pc_policy_load_file(files[i], err, sizeof(err));
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_STRING_EQUAL(s->origin, files[i]);
		CU_ASSERT_EQUAL(s->version, 1);
		CU_ASSERT_EQUAL(s->default_action, PC_ACTION_DENY);
		CU_ASSERT_EQUAL(s->n_identities + s->n_destinations + s->n_rules, 0);
		CU_ASSERT_PTR_NULL(s->identities);
		CU_ASSERT_PTR_NULL(s->destinations);
		CU_ASSERT_PTR_NULL(s->rules);
		pc_policy_src_free(s);
	}
	pc_policy_src_free(NULL);
}

static void test_valid_ai(void)
{
	struct pc_policy_src *s = pc_policy_load_file(FIXTURES "valid-ai.json", err, sizeof(err));

	if (s == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->deny_response, PC_DENY_RESPONSE_HTTP_429);
	CU_ASSERT_EQUAL(s->body_window, 131072);
	CU_ASSERT(s->path_keep_slashes);
	CU_ASSERT(s->path_keep_encoded_slash);
	CU_ASSERT(s->has_dlp);
	CU_ASSERT(s->dlp_log_only);
	CU_ASSERT(s->dlp_no_defaults);
	CU_ASSERT_EQUAL_FATAL(s->n_dlp_patterns, 2);
	CU_ASSERT_STRING_EQUAL(s->dlp_patterns[0].name, "acme-token");
	CU_ASSERT_STRING_EQUAL(s->dlp_patterns[0].regex, "acme_[A-Za-z0-9]{32}");
	CU_ASSERT_STRING_EQUAL(s->dlp_patterns[1].name, "acme.v2_key");
	CU_ASSERT_EQUAL_FATAL(s->n_destinations, 3);
	CU_ASSERT(s->destinations[0].external);
	CU_ASSERT_FALSE(s->destinations[1].external);
	CU_ASSERT(s->destinations[2].external);
	CU_ASSERT_EQUAL_FATAL(s->n_rules, 3);
	const struct pc_src_rule *r = &s->rules[0];
	CU_ASSERT_EQUAL_FATAL(r->n_models, 2);
	CU_ASSERT_STRING_EQUAL(r->models[0], "small-*");
	CU_ASSERT_STRING_EQUAL(r->models[1], "gpt-4o-mini");
	CU_ASSERT_EQUAL(r->n_mcp_tools, 0);
	CU_ASSERT_EQUAL(r->deny_response, PC_DENY_RESPONSE_UNSET);
	r = &s->rules[1];
	CU_ASSERT_EQUAL(r->n_models, 0);
	CU_ASSERT_EQUAL_FATAL(r->n_mcp_tools, 2);
	CU_ASSERT_STRING_EQUAL(r->mcp_tools[1], "kb_*");
	CU_ASSERT_EQUAL(r->deny_response, PC_DENY_RESPONSE_RESET);
	CU_ASSERT_EQUAL(s->rules[2].deny_response, PC_DENY_RESPONSE_HTTP_403);
	pc_policy_src_free(s);

	/* Without the keys: every setting reads as its default (zero). */
	s = pc_policy_load_file(FIXTURES "valid-minimal.json", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->deny_response, PC_DENY_RESPONSE_UNSET);
	CU_ASSERT_EQUAL(s->body_window, 0);
	CU_ASSERT_FALSE(s->path_keep_slashes || s->path_keep_encoded_slash || s->has_dlp);
	pc_policy_src_free(s);

	/* The whole fixture compiles and builds; "dlp": {} is the defaults. */
	struct pc_policy *p = pc_policy_build_file(FIXTURES "valid-ai.json", err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL(p);
	pc_policy_free(p);
	static const char defaults[] = "{\"version\": 1, \"dlp\": {}}";
	s = pc_policy_load_string(defaults, sizeof(defaults) - 1, "d.json", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT(s->has_dlp && !s->dlp_log_only && !s->dlp_no_defaults);
	CU_ASSERT_EQUAL(s->n_dlp_patterns, 0);
	pc_policy_src_free(s);
}

/* A DLP regex is checked when the policy is compiled (lib/dlp): the message
 * names the place in the file and the pattern. */
static void test_dlp_bad_regex(void)
{
	static const char text[] =
		"{\n  \"version\": 1,\n  \"dlp\": {\"patterns\": [\n"
		"    {\"name\": \"acme\", \"regex\": \"acme_[0-9\"}]}\n}\n";
	char path[] = "/tmp/pc-ai_policy-dlp-XXXXXX";
	int fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, sizeof(text) - 1) == (ssize_t)(sizeof(text) - 1));
	close(fd);
	struct pc_policy *p = pc_policy_build_file(path, err, sizeof(err));
	CU_ASSERT_PTR_NULL(p);
	char want[256];
	snprintf(want, sizeof(want), "%s:3: $.dlp.patterns: ", path);
	if (strncmp(err, want, strlen(want)) != 0 || strstr(err, "acme") == NULL)
		fprintf(stderr, "\n  want %s...acme...\n  got  %s\n", want, err);
	CU_ASSERT(strncmp(err, want, strlen(want)) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err + strlen(want), "acme"));
	pc_policy_free(p);
	unlink(path);

	/* The same text from memory: the same message, under its name. */
	p = pc_policy_build_string(text, sizeof(text) - 1, "mem.json", err, sizeof(err));
	CU_ASSERT_PTR_NULL(p);
	CU_ASSERT(strncmp(err, "mem.json:3: $.dlp.patterns: ", 28) == 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "acme"));
}

/* ---- invalid fixtures: the exact message ---- */

struct bad_case {
	const char *file;
	const char *msg; /* after the file name */
};

#define HOST_EXP "expected a host name (e.g. \"api.example.com\", \"*.example.com\") or an IP address, got "
#define PREFIX_EXP "expected an IPv4 or IPv6 address or CIDR prefix with no host bits set " \
		   "(e.g. \"198.18.1.0/24\", \"2001:db8::/32\"), got "
#define METHOD_EXP "expected an HTTP method (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH), got "
#define NAME_EXP "expected a name of 1..128 characters from [A-Za-z0-9_.:@/-], got "
#define HDR_EXP "expected a header name (an HTTP token, RFC 9110 §5.6.2, of at most 256 characters), got "
#define VALUE_EXP "expected a header value (visible characters, spaces and tabs, none at either end, RFC 9110 §5.5), got "
#define L4_TAIL ", which only HTTP requests carry (an L4 flow has no method, path or headers)"

static const struct bad_case bad_cases[] = {
	{ "invalid-syntax.json", ":5:3: invalid JSON: unexpected token near ']'" },
	{ "invalid-duplicate-key.json", ":7:14: invalid JSON: duplicate object key near '\"action\"'" },
	{ "invalid-bad-utf8.json", ":3:21: invalid JSON: unable to decode byte 0xe9 near '\"caf'" },
	{ "invalid-not-object.json", ":1: $: expected a policy object, got an array" },
	{ "invalid-version-missing.json",
	  ":1: $: missing required key \"version\" (the policy format version, 1)" },
	{ "invalid-version-2.json",
	  ":2: $.version: expected 1 (the only policy format version this build reads), got 2" },
	{ "invalid-version-string.json",
	  ":2: $.version: expected the integer 1 (the policy format version), got \"1\"" },
	{ "invalid-unknown-top-key.json",
	  ":3: $.rule: unknown key \"rule\"; did you mean \"rules\"? (allowed keys: version, "
	  "default_action, mode, jwt_issuers, identities, destinations, rules, description, "
	  "deny_response, body_window_bytes, path_normalization, dlp, tests)" },
	{ "invalid-default-action.json",
	  ":3: $.default_action: expected \"allow\" or \"deny\", got \"permit\"" },
	{ "invalid-description-not-string.json",
	  ":6: $.destinations[0].description: expected a string, got an object" },
	{ "invalid-identities-not-array.json",
	  ":3: $.identities: expected an array of identity objects, got an object" },
	{ "invalid-identity-not-object.json",
	  ":4: $.identities[0]: expected an identity object, got \"ticket-agent\"" },
	{ "invalid-identity-no-name.json",
	  ":5: $.identities[1]: missing required key \"name\" (the identity's name)" },
	{ "invalid-identity-bad-name.json", ":5: $.identities[0].name: " NAME_EXP "\"ticket agent\"" },
	{ "invalid-identity-long-name.json",
	  ":5: $.identities[0].name: " NAME_EXP
	  "\"nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn\"... (129 bytes)" },
	{ "invalid-identity-duplicate-name.json",
	  ":6: $.identities[1].name: duplicate name \"ticket-agent\" (first at $.identities[0])" },
	{ "invalid-identity-no-credentials.json",
	  ":4: $.identities[0]: expected \"sources\", \"api_keys_sha256\" or \"jwt\" (an identity "
	  "needs a way to recognise its caller), got none" },
	{ "invalid-identity-sources-empty.json",
	  ":6: $.identities[0].sources: expected a non-empty array of CIDR prefixes, got an empty "
	  "array" },
	{ "invalid-identity-bad-cidr.json",
	  ":8: $.identities[0].sources[1]: " PREFIX_EXP "\"198.18.1.1/24\"" },
	{ "invalid-identity-source-not-string.json",
	  ":5: $.identities[0].sources[0]: " PREFIX_EXP "an integer" },
	{ "invalid-identity-digest-short.json",
	  ":6: $.identities[0].api_keys_sha256[0]: expected a SHA-256 digest of the API key (64 "
	  "hex digits), got \"ce6e7185989b4c41\"" },
	{ "invalid-identity-digest-nonhex.json",
	  ":7: $.identities[0].api_keys_sha256[0]: expected a SHA-256 digest of the API key (64 "
	  "hex digits), got \"ge6e7185989b4c41510b8ba0d7351ecc4dcbb1bec7293bcf\"... (64 bytes)" },
	{ "invalid-identity-duplicate-digest.json",
	  ":8: $.identities[1].api_keys_sha256[0]: duplicate API key digest (first at "
	  "$.identities[0].api_keys_sha256[1]); an API key must name one identity" },
	{ "invalid-identity-key-header-without-keys.json",
	  ":7: $.identities[0].api_key_header: \"api_key_header\" given without "
	  "\"api_keys_sha256\" (there is no key to look for)" },
	{ "invalid-identity-key-header-not-token.json",
	  ":7: $.identities[0].api_key_header: " HDR_EXP "\"x api key\"" },
	{ "invalid-identity-unknown-key.json",
	  ":6: $.identities[0].source: unknown key \"source\"; did you mean \"sources\"? (allowed "
	  "keys: name, sources, api_keys_sha256, api_key_header, jwt, description)" },
	{ "invalid-destination-no-name.json",
	  ":4: $.destinations[0]: missing required key \"name\" (the destination's name)" },
	{ "invalid-destination-duplicate-name.json",
	  ":7: $.destinations[2].name: duplicate name \"api\" (first at $.destinations[0])" },
	{ "invalid-destination-bad-protocol.json",
	  ":6: $.destinations[0].protocol: expected \"http\", \"tls\", \"tcp\", \"udp\" or \"any\", "
	  "got "
	  "\"icmp\"" },
	{ "invalid-destination-hosts-on-tcp.json",
	  ":6: $.destinations[0].hosts: host names apply only to \"http\" destinations (the Host "
	  "header) and \"tls\" ones (the SNI); an L4 flow carries no name, and this one has "
	  "protocol \"tcp\"" },
	{ "invalid-destination-hosts-empty.json",
	  ":6: $.destinations[0].hosts: expected a non-empty array of host names, got an empty "
	  "array" },
	{ "invalid-destination-host-port.json",
	  ":8: $.destinations[0].hosts[1]: " HOST_EXP "\"api.example.com:8080\" (ports go in "
	  "\"ports\")" },
	{ "invalid-destination-host-wildcard-middle.json",
	  ":6: $.destinations[0].hosts[0]: " HOST_EXP "\"api.*.example.com\" (a wildcard is only "
	  "allowed as a leading \"*.\")" },
	{ "invalid-destination-host-too-long.json",
	  ":6: $.destinations[0].hosts[0]: " HOST_EXP
	  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... (254 bytes); at most 253 "
	  "characters are allowed" },
	{ "invalid-destination-host-bad-ipv4.json",
	  ":6: $.destinations[0].hosts[0]: " HOST_EXP "\"198.18.0.256\" (not a valid IPv4 address)" },
	{ "invalid-destination-host-bare-ipv6.json",
	  ":6: $.destinations[0].hosts[0]: " HOST_EXP "\"2001:db8::1\" (write an IPv6 address in "
	  "brackets, as in a Host header)" },
	{ "invalid-destination-host-trailing-dot.json",
	  ":6: $.destinations[0].hosts[0]: " HOST_EXP "\"api.example.com.\" (empty label)" },
	{ "invalid-destination-port-range.json",
	  ":7: $.destinations[0].ports[1]: expected a port number (an integer 1..65535), got 70000" },
	{ "invalid-destination-port-string.json",
	  ":6: $.destinations[0].ports[0]: expected a port number (an integer 1..65535), got \"80\"" },
	{ "invalid-destination-address-bad.json",
	  ":6: $.destinations[0].addresses[0]: " PREFIX_EXP "\"198.18.0.0/33\"" },
	{ "invalid-rule-not-object.json", ":4: $.rules[0]: expected a rule object, got null" },
	{ "invalid-rule-no-id.json", ":4: $.rules[0]: missing required key \"id\" (the rule's id)" },
	{ "invalid-rule-duplicate-id.json",
	  ":6: $.rules[1].id: duplicate rule id \"r\" (first at $.rules[0])" },
	{ "invalid-rule-no-action.json",
	  ":4: $.rules[0]: missing required key \"action\" (\"allow\" or \"deny\")" },
	{ "invalid-rule-bad-action.json",
	  ":6: $.rules[0].action: expected \"allow\" or \"deny\", got \"permit\"" },
	{ "invalid-rule-unknown-key.json",
	  ":6: $.rules[0].acton: unknown key \"acton\"; did you mean \"action\"? (allowed keys: id, "
	  "identities, destinations, methods, paths, headers, claims, tls, models, mcp_tools, "
	  "action, mode, deny_response, description)" },
	{ "invalid-rule-unknown-identity.json",
	  ":11: $.rules[0].identities[0]: unknown identity \"tiket-agent\" (defined: ticket-agent, "
	  "billing-bot)" },
	{ "invalid-rule-unknown-destination.json",
	  ":6: $.rules[0].destinations[0]: unknown destination \"api\" (no destinations are "
	  "defined)" },
	{ "invalid-rule-identity-not-string.json",
	  ":7: $.rules[0].identities[0]: expected the name of an identity, got an object" },
	{ "invalid-rule-identity-twice.json",
	  ":8: $.rules[0].identities[1]: identity \"a\" is listed twice" },
	{ "invalid-rule-identities-empty.json",
	  ":6: $.rules[0].identities: expected a non-empty array of identity names, got an empty "
	  "array" },
	{ "invalid-rule-method-unknown.json", ":14: $.rules[2].methods[1]: " METHOD_EXP "\"FETCH\"" },
	{ "invalid-rule-method-lowercase.json",
	  ":6: $.rules[0].methods[0]: " METHOD_EXP "\"get\" (methods are case-sensitive, RFC 9110 "
	  "§9.1)" },
	{ "invalid-rule-methods-empty.json",
	  ":6: $.rules[0].methods: expected a non-empty array of HTTP methods, got an empty array" },
	{ "invalid-rule-path-empty.json",
	  ":6: $.rules[0].paths[1]: expected a path regex (a non-empty string of at most 4096 "
	  "bytes), got \"\"" },
	{ "invalid-rule-path-too-long.json",
	  ":6: $.rules[0].paths[0]: expected a path regex (a non-empty string of at most 4096 "
	  "bytes), got \"^aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"... (4097 bytes)" },
	{ "invalid-rule-headers-empty.json",
	  ":6: $.rules[0].headers: expected a non-empty object of header name to array of values, "
	  "got an empty object" },
	{ "invalid-rule-header-values-empty.json",
	  ":7: $.rules[0].headers.x-purpose: expected a non-empty array of header values, got an "
	  "empty array" },
	{ "invalid-rule-header-bad-name.json",
	  ":8: $.rules[0].headers[\"x.b c\"]: " HDR_EXP "\"x.b c\"" },
	{ "invalid-rule-header-duplicate-case.json",
	  ":8: $.rules[0].headers.x-purpose: header \"x-purpose\" is given twice (header names are "
	  "case-insensitive, RFC 9110 §5.1)" },
	{ "invalid-rule-header-value-not-string.json",
	  ":7: $.rules[0].headers.x-n[0]: " VALUE_EXP "an integer" },
	{ "invalid-rule-header-value-whitespace.json",
	  ":6: $.rules[0].headers.x-purpose[1]: " VALUE_EXP "\" summarize\"" },
	{ "invalid-rule-l4-methods.json",
	  ":11: $.rules[0].destinations[1]: destination \"ssh\" has protocol \"tcp\", but the rule "
	  "has methods" L4_TAIL },
	{ "invalid-jwt-alg-none.json",
	  ":5: $.jwt_issuers[0].algorithms[0]: \"none\" is never allowed: an unsigned token "
	  "proves nothing (RFC 8725 §3.1)" },
	{ "invalid-jwt-bad-algorithm.json",
	  ":4: $.jwt_issuers[0].algorithms[1]: expected a JWS algorithm (HS256, HS384, HS512, "
	  "RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA), got \"RS257\"" },
	{ "invalid-jwt-bad-glob.json",
	  ":6: $.identities[0].jwt.subject: expected an exact value or a glob ('*' any "
	  "characters, '?' one) of 1..256 printable characters, no backslash, got \"svc-\\\\*\"" },
	{ "invalid-jwt-both-jwks.json",
	  ":5: $.jwt_issuers[0].jwks_file: give \"jwks\" or \"jwks_file\", not both" },
	{ "invalid-jwt-broken-jwks.json",
	  ":6: $.jwt_issuers[1].jwks: key set: jwks: keys[0].crv: expected P-256, P-384 or "
	  "Ed25519, got \"P-521\"" },
	{ "invalid-jwt-claims-empty.json",
	  ":4: $.rules[0].claims: expected a non-empty object of claim name to array of values, "
	  "got an empty object" },
	{ "invalid-jwt-claims-without-issuers.json",
	  ":4: $.rules[0].claims: a rule with claims needs $.jwt_issuers (only a verified JWT "
	  "carries claims), and there are none" },
	{ "invalid-jwt-duplicate-issuer.json",
	  ":5: $.jwt_issuers[1].issuer: duplicate issuer \"https://idp.example\" (first at "
	  "$.jwt_issuers[0])" },
	{ "invalid-jwt-jwks-file-missing.json",
	  ":5: $.jwt_issuers[0].jwks_file: key set file " FIXTURES "no-such-keys.json: unable to "
	  "open " FIXTURES "no-such-keys.json: No such file or directory" },
	{ "invalid-jwt-leeway-negative.json",
	  ":5: $.jwt_issuers[0].leeway_s: expected an integer 0..3600 (seconds of clock skew), "
	  "got -5" },
	{ "invalid-jwt-no-algorithms.json",
	  ":4: $.jwt_issuers[0]: missing required key \"algorithms\" (the JWS algorithms its "
	  "tokens may use, e.g. [\"RS256\"])" },
	{ "invalid-jwt-no-jwks.json",
	  ":4: $.jwt_issuers[0]: missing required key \"jwks\" (the issuer's key set, inline, or "
	  "\"jwks_file\")" },
	{ "invalid-jwt-subject-and-claim.json",
	  ":6: $.identities[0].jwt.claim: give \"subject\", or \"claim\" with \"value\", not both" },
	{ "invalid-jwt-unknown-issuer.json",
	  ":5: $.identities[0].jwt.issuer: expected an issuer of $.jwt_issuers, got "
	  "\"https://idp.example.org\"" },
	{ "invalid-tls-alpn-bad.json",
	  ":4: $.rules[0].tls.alpn[1]: expected an ALPN protocol name (RFC 7301 §3.1: 1..255 "
	  "bytes; e.g. \"h2\", \"http/1.1\"; printable, no spaces), got \"http 1.1\"" },
	{ "invalid-tls-alpn-empty.json",
	  ":4: $.rules[0].tls.alpn: expected a non-empty array of ALPN protocol names, got an "
	  "empty array" },
	{ "invalid-tls-api-key-identity.json",
	  ":9: $.rules[0].identities[1]: identity \"keyed\" is recognised by an API key, which "
	  "a TLS flow never shows (credentials travel encrypted); a rule for TLS flows can "
	  "name only identities known by \"sources\" alone" },
	{ "invalid-tls-destination-rule-paths.json",
	  ":5: $.rules[0].destinations[0]: destination \"t\" has protocol \"tls\", but the "
	  "rule has paths, which only HTTP requests carry (a TLS flow is decided at its "
	  "ClientHello)" },
	{ "invalid-tls-empty.json",
	  ":4: $.rules[0].tls: expected at least one of \"min_version\", \"ja4\" or \"alpn\", "
	  "got none" },
	{ "invalid-tls-http-destination.json",
	  ":5: $.rules[0].destinations[1]: destination \"web\" has protocol \"http\", but the "
	  "rule has \"tls\" conditions, which only \"tls\" destinations are decided on" },
	{ "invalid-tls-ja4-bad.json",
	  ":5: $.rules[0].tls.ja4[1]: expected a JA4 fingerprint (e.g. "
	  "\"t13d1516h2_8daaf6152771_e5627efa2ab1\": 10 characters, '_', 12 lowercase hex "
	  "digits, '_', 12 lowercase hex digits), got \"t13d1516h2_8DAAF6152771_e5627efa2ab1\"" },
	{ "invalid-tls-ja4-duplicate.json",
	  ":5: $.rules[0].tls.ja4[1]: \"t13d1516h2_8daaf6152771_e5627efa2ab1\" is listed twice" },
	{ "invalid-tls-min-version-old.json",
	  ":4: $.rules[0].tls.min_version: expected \"1.2\" or \"1.3\" (the lowest TLS version "
	  "the client must offer), got \"1.1\"" },
	{ "invalid-tls-min-version.json",
	  ":5: $.rules[0].tls.min_version: expected \"1.2\" or \"1.3\" (the lowest TLS version "
	  "the client must offer), got a real number" },
	{ "invalid-tls-not-object.json",
	  ":4: $.rules[0].tls: expected an object of TLS conditions (\"min_version\", \"ja4\", "
	  "\"alpn\"), got \"1.3\"" },
	{ "invalid-tls-only-destinations-key-identity.json",
	  ":8: $.rules[0].identities[0]: identity \"keyed\" is recognised by an API key, which "
	  "a TLS flow never shows (credentials travel encrypted); a rule for TLS flows can "
	  "name only identities known by \"sources\" alone" },
	{ "invalid-tls-unknown-key.json",
	  ":4: $.rules[0].tls.min_versoin: unknown key \"min_versoin\"; did you mean "
	  "\"min_version\"? (allowed keys: min_version, ja4, alpn, description)" },
	{ "invalid-tls-with-methods.json",
	  ":5: $.rules[0].tls: a rule with \"tls\" conditions is decided at the ClientHello, "
	  "which carries no method, path, header or claim, but this rule also has methods" },
	{ "invalid-rule-l4-paths.json",
	  ":7: $.rules[0].destinations[0]: destination \"dns\" has protocol \"udp\", but the rule "
	  "has paths" L4_TAIL },
	/* body rules, DLP, deny responses, body window, path options */
	{ "invalid-ai-body-window-big.json",
	  ":3: $.body_window_bytes: expected an integer 1..1048576 (bytes of a request "
	  "body read for \"models\" and \"mcp_tools\" rules), got 2097152" },
	{ "invalid-ai-body-window-string.json",
	  ":3: $.body_window_bytes: expected an integer 1..1048576 (bytes of a request "
	  "body read for \"models\" and \"mcp_tools\" rules), got \"64k\"" },
	{ "invalid-ai-body-window-zero.json",
	  ":3: $.body_window_bytes: expected an integer 1..1048576 (bytes of a request "
	  "body read for \"models\" and \"mcp_tools\" rules), got 0" },
	{ "invalid-ai-deny-response-number.json",
	  ":3: $.deny_response: expected \"reset\", \"403\" or \"429\" (how a deny is answered), "
	  "got an integer" },
	{ "invalid-ai-dlp-action.json",
	  ":4: $.dlp.action: expected \"deny\" or \"log\" (what a DLP match does), got \"block\"" },
	{ "invalid-ai-dlp-default-patterns.json",
	  ":4: $.dlp.default_patterns: expected true or false, got \"yes\"" },
	{ "invalid-ai-dlp-no-patterns.json",
	  ":3: $.dlp: expected \"patterns\" when \"default_patterns\" is false (DLP with no "
	  "pattern would scan for nothing)" },
	{ "invalid-ai-dlp-not-object.json",
	  ":3: $.dlp: expected a DLP object (\"action\", \"default_patterns\", \"patterns\"), "
	  "got true" },
	{ "invalid-ai-dlp-pattern-bad-name.json",
	  ":4: $.dlp.patterns[0].name: expected a pattern name of 1..63 characters from "
	  "[A-Za-z0-9._-], got \"acme token\"" },
	{ "invalid-ai-dlp-pattern-duplicate-name.json",
	  ":5: $.dlp.patterns[1].name: duplicate pattern name \"acme\" (first at "
	  "$.dlp.patterns[0])" },
	{ "invalid-ai-dlp-pattern-no-regex.json",
	  ":4: $.dlp.patterns[0]: missing required key \"regex\" (a Hyperscan regex, e.g. "
	  "\"acme_[A-Za-z0-9]{32}\")" },
	{ "invalid-ai-dlp-pattern-not-object.json",
	  ":4: $.dlp.patterns[0]: expected a DLP pattern object (\"name\", \"regex\"), got "
	  "\"acme_[0-9]{8}\"" },
	{ "invalid-ai-dlp-pattern-regex-empty.json",
	  ":5: $.dlp.patterns[0].regex: expected a regex (a non-empty string of at most "
	  "1024 bytes), got \"\"" },
	{ "invalid-ai-dlp-patterns-empty.json",
	  ":4: $.dlp.patterns: expected a non-empty array of DLP pattern objects, got an "
	  "empty array" },
	{ "invalid-ai-dlp-unknown-key.json",
	  ":4: $.dlp.pattern: unknown key \"pattern\"; did you mean \"patterns\"? (allowed "
	  "keys: action, default_patterns, patterns, description)" },
	{ "invalid-ai-external-not-bool.json",
	  ":4: $.destinations[0].external: expected true or false, got an integer" },
	{ "invalid-ai-external-tcp.json",
	  ":5: $.destinations[0].external: \"external\" applies only to \"http\" and \"any\" "
	  "destinations (DLP scans HTTP request bodies), and this one has protocol \"tcp\"" },
	{ "invalid-ai-mcp-tool-duplicate.json",
	  ":5: $.rules[0].mcp_tools[1]: \"kb_*\" is listed twice" },
	{ "invalid-ai-model-bad-glob.json",
	  ":5: $.rules[0].models[1]: expected an exact value or a glob ('*' any "
	  "characters, '?' one) of 1..256 printable characters, no backslash, got "
	  "\"small-\\\\*\"" },
	{ "invalid-ai-models-and-tools.json",
	  ":5: $.rules[0].mcp_tools: give \"models\" or \"mcp_tools\", not both (a request "
	  "body is an OpenAI-style request or an MCP call)" },
	{ "invalid-ai-models-empty.json",
	  ":4: $.rules[0].models: expected a non-empty array of model names or globs, got "
	  "an empty array" },
	{ "invalid-ai-models-on-tcp.json",
	  ":5: $.rules[0].destinations[0]: destination \"db\" has protocol \"tcp\", but the "
	  "rule has models, which only HTTP requests carry (an L4 flow has no method, path "
	  "or headers)" },
	{ "invalid-ai-models-tls.json",
	  ":5: $.rules[0].tls: a rule with \"tls\" conditions is decided at the ClientHello, "
	  "which carries no method, path, header or claim, but this rule also has models" },
	{ "invalid-ai-path-norm-not-bool.json",
	  ":4: $.path_normalization.reject_encoded_slash: expected true or false, got \"no\"" },
	{ "invalid-ai-path-norm-not-object.json",
	  ":3: $.path_normalization: expected an object of path normalisation switches "
	  "(\"merge_slashes\", \"reject_encoded_slash\"), got true" },
	{ "invalid-ai-path-norm-unknown-key.json",
	  ":4: $.path_normalization.merge_slash: unknown key \"merge_slash\"; did you mean "
	  "\"merge_slashes\"? (allowed keys: merge_slashes, reject_encoded_slash, "
	  "description)" },
	{ "invalid-ai-rule-deny-response.json",
	  ":5: $.rules[0].deny_response: expected \"reset\", \"403\" or \"429\" (how a deny is "
	  "answered), got \"404\"" },
};

static void test_invalid_fixtures(void)
{
	char path[256], want[1024];

	for (size_t i = 0; i < PC_ARRAY_SIZE(bad_cases); i++) {
		snprintf(path, sizeof(path), FIXTURES "%s", bad_cases[i].file);
		snprintf(want, sizeof(want), "%s%s", path, bad_cases[i].msg);
		memset(err, 'x', sizeof(err));
		errno = 0;
		struct pc_policy_src *s = pc_policy_load_file(path, err, sizeof(err));
		CU_ASSERT_PTR_NULL(s);
		CU_ASSERT_EQUAL(errno, EINVAL);
		if (s != NULL || strcmp(err, want) != 0)
			fprintf(stderr, "\n  %s\n  want: %s\n  got:  %s\n", bad_cases[i].file, want,
				s ? "(loaded)" : err);
		CU_ASSERT_STRING_EQUAL(err, want);
		pc_policy_src_free(s);
	}
}

/* Every invalid-*.json in the directory is in the table above. */
static void test_every_fixture_listed(void)
{
	FILE *ls = popen("ls " FIXTURES, "r");
	char line[256];
	unsigned n_invalid = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(ls);
	while (fgets(line, sizeof(line), ls) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (strncmp(line, "invalid-", 8) != 0)
			continue;
		n_invalid++;
		bool found = false;
		for (size_t i = 0; i < PC_ARRAY_SIZE(bad_cases); i++)
			found |= strcmp(bad_cases[i].file, line) == 0;
		if (!found)
			fprintf(stderr, "\n  %s has no expected message\n", line);
		CU_ASSERT(found);
	}
	pclose(ls);
	CU_ASSERT_EQUAL(n_invalid, PC_ARRAY_SIZE(bad_cases));
	CU_ASSERT(n_invalid >= 30);
}

/* ---- files ---- */

static void test_file_errors(void)
{
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_file(FIXTURES "no-such-file.json", err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_STRING_EQUAL(err, FIXTURES "no-such-file.json: cannot open: No such file or directory");

	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_file(FIXTURES, err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EISDIR);
	CU_ASSERT_STRING_EQUAL(err, FIXTURES ": cannot read: Is a directory");

	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_file(NULL, err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EINVAL);
}

/* 64 MiB is the limit, checked before reading a byte: a sparse file costs
 * no disk. */
static void test_too_large(void)
{
	char name[] = "/tmp/pc-policy-big-XXXXXX";
	int fd = mkstemp(name);
	char want[256];

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(ftruncate(fd, (64 << 20) + 1), 0);
	close(fd);
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_file(name, err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EFBIG);
	snprintf(want, sizeof(want), "%s: too large: 67108865 bytes (the limit is 67108864)", name);
	CU_ASSERT_STRING_EQUAL(err, want);

	/* exactly at the limit the file is read (and is not JSON: all zeros) */
	fd = open(name, O_WRONLY);
	CU_ASSERT_EQUAL(ftruncate(fd, 64 << 20), 0);
	close(fd);
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_file(name, err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid JSON"));
	unlink(name);

	/* the same limit for text in memory */
	size_t big = (64u << 20) + 1;
	char *text = malloc(big);
	if (text == NULL) {
		CU_FAIL("malloc");
		return;
	}
	memset(text, ' ', big);
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_string(text, big, "mem", err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EFBIG);
	CU_ASSERT_STRING_EQUAL(err, "mem: too large: 67108865 bytes (the limit is 67108864)");
	free(text);
}

/* ---- in-memory policies ---- */

static void test_string_origin_and_buffers(void)
{
	const char *bad = "{\"version\": 1,\n\"rules\": 5}";
	struct pc_policy_src *s;

	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_string(bad, strlen(bad), NULL, err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "<policy>:2: $.rules: expected an array of rule objects, got an integer");

	/* no buffer, or a tiny one: still NULL and errno, and no overrun */
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_string(bad, strlen(bad), "x", NULL, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	errno = 0;
	CU_ASSERT_PTR_NULL(pc_policy_load_file(FIXTURES "invalid-version-2.json", NULL, 0));
	CU_ASSERT_EQUAL(errno, EINVAL);
	char small[12];
	memset(small, 'x', sizeof(small));
	CU_ASSERT_PTR_NULL(pc_policy_load_string(bad, strlen(bad), "origin", small, 8));
	CU_ASSERT_STRING_EQUAL(small, "origin:");
	CU_ASSERT_EQUAL(small[8], 'x');

	/* len bounds the text; what follows it is never read */
	const char *t = "{\"version\": 1}garbage";
	s = pc_policy_load_string(t, 14, "t", err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(s);
	pc_policy_src_free(s);
	CU_ASSERT_PTR_NULL(pc_policy_load_string(t, strlen(t), "t", err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t:1:"));

	CU_ASSERT_PTR_NULL(pc_policy_load_string("", 0, "e", err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EINVAL);
	CU_ASSERT_STRING_EQUAL(err, "e:1:0: invalid JSON: '[' or '{' expected near end of file");
	CU_ASSERT_PTR_NULL(pc_policy_load_string(NULL, 5, "n", err, sizeof(err)));
	CU_ASSERT_EQUAL(errno, EINVAL);

	/* \u0000 would cut a name or regex short: jansson refuses it */
	t = "{\"version\": 1, \"rules\": [{\"id\": \"a\\u0000b\", \"action\": \"allow\"}]}";
	CU_ASSERT_PTR_NULL(load_text(t));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid JSON"));
}

/* Keys a bare path step cannot carry are shown (and located) in brackets;
 * keys too long for any path are reported on their object. */
static void test_odd_keys(void)
{
	const char *t = "{\"version\": 1,\n\"ru.les\": []}";
	char text[1024], want[1024];

	CU_ASSERT_PTR_NULL(load_text(t));
	CU_ASSERT_STRING_EQUAL(err, "t.json:2: $[\"ru.les\"]: unknown key \"ru.les\"; did you mean "
			       "\"rules\"? (allowed keys: "
			       "version, default_action, mode, jwt_issuers, identities, destinations, rules, description, "
			       "deny_response, body_window_bytes, path_normalization, dlp, tests)");

	t = "{\"version\": 1,\n\"x\\\"y\\n\": 1}";
	CU_ASSERT_PTR_NULL(load_text(t));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.json:2: $[\"x\\\"y\\n\"]: unknown key \"x\\\"y\\n\""));

	char key[301];
	memset(key, 'k', 300);
	key[300] = '\0';
	snprintf(text, sizeof(text), "{\n\"version\": 1,\n\"%s\": 1}", key);
	CU_ASSERT_PTR_NULL(load_text(text));
	snprintf(want, sizeof(want), "t.json:1: $: unknown key \"%.48s\"... (300 bytes) (allowed "
		 "keys: version, default_action, mode, jwt_issuers, identities, destinations, rules, "
		 "description, deny_response, body_window_bytes, path_normalization, dlp, tests)", key);
	CU_ASSERT_STRING_EQUAL(err, want);

	/* a long key inside an item keeps the item's path */
	snprintf(text, sizeof(text), "{\"version\": 1, \"rules\": [\n{\"%s\": 1}]}", key);
	CU_ASSERT_PTR_NULL(load_text(text));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "t.json:2: $.rules[0]: unknown key \"kkk"));

	/* "description" is an ordinary header name inside "headers" */
	t = "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"headers\": {\"Description\": [\"x\"]},"
	    " \"action\": \"deny\"}]}";
	struct pc_policy_src *s = load_text(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_STRING_EQUAL(s->rules[0].headers[0].name, "description");
	pc_policy_src_free(s);
}

/* A policy with one host, loaded or not. */
static bool host_ok(const char *host, char *stored, size_t n)
{
	char text[1024];
	struct pc_policy_src *s;

	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"destinations\": [{\"name\": \"d\", \"hosts\": [\"%s\"]}]}", host);
	s = load_text(text);
	if (s == NULL)
		return false;
	snprintf(stored, n, "%s", s->destinations[0].hosts[0]);
	pc_policy_src_free(s);
	return true;
}

static void test_hosts(void)
{
	static const struct { const char *in, *out; } good[] = {
		{ "localhost", "localhost" },
		{ "A.B.C", "a.b.c" },
		{ "*.Example.Com", "*.example.com" },
		{ "x-1.example", "x-1.example" },
		{ "_svc.internal", "_svc.internal" },
		{ "0.0.0.0", "0.0.0.0" },
		{ "1.2.3.4.example", "1.2.3.4.example" },
		{ "123abc", "123abc" },
		{ "[::1]", "[::1]" },
		{ "[2001:DB8::A]", "[2001:db8::a]" },
	};
	static const char *const bad[] = {
		"", "*", "*.", "**.a", "*a.b", "a*.b", "a.*", ".a", "a..b", "a.", "-a.b", "a-.b",
		"a b", "a/b", "a_b:80", "a:b", "[::1]:80", "[1.2.3.4]", "[::1", "::1",
		"1.2.3", "1.2.3.4.5", "01.2.3.4", "256.1.1.1", "*.1.2.3.4", "caf\\u00e9.example",
		"a\\tb", "http://a.b",
	};
	char stored[300], label64[128], long_ok[300];

	for (size_t i = 0; i < PC_ARRAY_SIZE(good); i++) {
		bool ok = host_ok(good[i].in, stored, sizeof(stored));
		if (!ok)
			fprintf(stderr, "\n  %s: %s\n", good[i].in, err);
		CU_ASSERT(ok);
		if (ok)
			CU_ASSERT_STRING_EQUAL(stored, good[i].out);
	}
	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		bool ok = host_ok(bad[i], stored, sizeof(stored));
		if (ok)
			fprintf(stderr, "\n  host \"%s\" was accepted\n", bad[i]);
		CU_ASSERT(!ok);
	}
	/* labels of 63 pass, 64 do not; 253 characters in all pass */
	memset(label64, 'a', 64);
	label64[64] = '\0';
	CU_ASSERT(!host_ok(label64, stored, sizeof(stored)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "(a label has at most 63 characters)"));
	label64[63] = '\0';
	CU_ASSERT(host_ok(label64, stored, sizeof(stored)));
	memset(long_ok, 'a', 253);
	long_ok[63] = long_ok[127] = long_ok[191] = '.';
	long_ok[253] = '\0';
	CU_ASSERT_EQUAL(strlen(long_ok), 253);
	CU_ASSERT(host_ok(long_ok, stored, sizeof(stored)));
}

static bool name_ok(const char *name)
{
	char text[1024];
	struct pc_policy_src *s;

	snprintf(text, sizeof(text),
		 "{\"version\": 1, \"identities\": [{\"name\": \"%s\", \"sources\": [\"::/0\"]}]}",
		 name);
	s = load_text(text);
	pc_policy_src_free(s);
	return s != NULL;
}

static void test_names(void)
{
	char n128[130];

	CU_ASSERT(name_ok("a"));
	CU_ASSERT(name_ok("A-z_0.9:@/x"));
	CU_ASSERT(!name_ok(""));
	CU_ASSERT(!name_ok("a b"));
	CU_ASSERT(!name_ok("a,b"));
	CU_ASSERT(!name_ok("a*"));
	CU_ASSERT(!name_ok("caf\\u00e9"));
	CU_ASSERT(!name_ok("a\\\"b"));
	memset(n128, 'n', 128);
	n128[128] = '\0';
	CU_ASSERT(name_ok(n128));
	n128[128] = 'n';
	n128[129] = '\0';
	CU_ASSERT(!name_ok(n128));
}

static void test_methods(void)
{
	static const struct { const char *name; uint16_t bit; } m[] = {
		{ "GET", PC_HTTP_GET }, { "HEAD", PC_HTTP_HEAD }, { "POST", PC_HTTP_POST },
		{ "PUT", PC_HTTP_PUT }, { "DELETE", PC_HTTP_DELETE }, { "CONNECT", PC_HTTP_CONNECT },
		{ "OPTIONS", PC_HTTP_OPTIONS }, { "TRACE", PC_HTTP_TRACE }, { "PATCH", PC_HTTP_PATCH },
	};
	static const char *const bad[] = { "Get", "GETS", "", "PROPFIND", " GET", "GET " };
	char text[256];

	for (size_t i = 0; i < PC_ARRAY_SIZE(m); i++) {
		snprintf(text, sizeof(text), "{\"version\": 1, \"rules\": [{\"id\": \"r\", "
			 "\"methods\": [\"%s\"], \"action\": \"allow\"}]}", m[i].name);
		struct pc_policy_src *s = load_text(text);
		CU_ASSERT_PTR_NOT_NULL_FATAL(s);
		CU_ASSERT_EQUAL(s->rules[0].methods, m[i].bit);
		pc_policy_src_free(s);
	}
	for (size_t i = 0; i < PC_ARRAY_SIZE(bad); i++) {
		snprintf(text, sizeof(text), "{\"version\": 1, \"rules\": [{\"id\": \"r\", "
			 "\"methods\": [\"%s\"], \"action\": \"allow\"}]}", bad[i]);
		CU_ASSERT_PTR_NULL(load_text(text));
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.rules[0].methods[0]: expected an HTTP method"));
	}
}

/* Header conditions: at most what a request can carry; values checked. */
static void test_header_conditions(void)
{
	char text[8192];
	size_t o;

	o = (size_t)snprintf(text, sizeof(text), "{\"version\": 1, \"rules\": [{\"id\": \"r\", "
			     "\"headers\": {");
	for (int i = 0; i <= PC_HTTP_MAX_HEADERS; i++)
		o += (size_t)snprintf(text + o, sizeof(text) - o, "%s\"h%d\": [\"v\"]", i ? "," : "", i);
	snprintf(text + o, sizeof(text) - o, "}, \"action\": \"allow\"}]}");
	CU_ASSERT_PTR_NULL(load_text(text));
	CU_ASSERT_STRING_EQUAL(err, "t.json:1: $.rules[0].headers: expected at most 64 header "
			       "conditions, got 65");

	CU_ASSERT_PTR_NULL(load_text("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"headers\": "
				     "{\"x\": [\"a\\u0001\"]}, \"action\": \"allow\"}]}"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "$.rules[0].headers.x[0]: expected a header value"));
	CU_ASSERT_PTR_NULL(load_text("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"headers\": "
				     "{\"x\": \"a\"}, \"action\": \"allow\"}]}"));
	CU_ASSERT_STRING_EQUAL(err, "t.json:1: $.rules[0].headers.x: expected an array of header "
			       "values, got \"a\"");
	CU_ASSERT_PTR_NULL(load_text("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"headers\": "
				     "[\"x\"], \"action\": \"allow\"}]}"));
	CU_ASSERT_STRING_EQUAL(err, "t.json:1: $.rules[0].headers: expected an object of header "
			       "name to array of values, got an array");
}

/* Append to a generated policy text; the buffers are sized for the text. */
__attribute__((format(printf, 4, 5)))
static size_t put(char *buf, size_t cap, size_t o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + o, cap - o, fmt, ap);
	va_end(ap);
	CU_ASSERT(n >= 0 && (size_t)n < cap - o);
	return n > 0 ? o + (size_t)n : o;
}

/* The item limit, and a large policy loading in linear time with names
 * resolved (the uniqueness checks are hashed, not quadratic). */
static void test_scale(void)
{
	size_t n = PC_POLICY_MAX_ITEMS + 1, o;
	size_t cap = 32u << 20; /* ~150 bytes a rule below */
	char *text = malloc(cap);

	if (text == NULL) {
		CU_FAIL("malloc");
		return;
	}
	o = put(text, cap, 0, "{\"version\": 1, \"rules\": [");
	for (size_t i = 0; i < n; i++)
		o = put(text, cap, o, "%s0", i ? "," : "");
	o = put(text, cap, o, "]}");
	CU_ASSERT_PTR_NULL(pc_policy_load_string(text, o, "big", err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "big:1: $.rules: expected at most 65535 rule objects, got 65536");

	/* PC_POLICY_MAX_ITEMS rules over 1000 identities, gen_policy.py style */
	unsigned n_ids = 1000, n_rules = PC_POLICY_MAX_ITEMS;
	o = put(text, cap, 0, "{\"version\": 1, \"identities\": [");
	for (unsigned i = 0; i < n_ids; i++)
		o = put(text, cap, o, "%s{\"name\": \"agent-%u\", \"api_keys_sha256\": "
				     "[\"%064x\"]}", i ? "," : "", i, i);
	o = put(text, cap, o, "], \"destinations\": [{\"name\": \"svc\"}], \"rules\": [");
	for (unsigned r = 0; r < n_rules; r++)
		o = put(text, cap, o, "%s{\"id\": \"rule-%u\", \"identities\": "
				     "[\"agent-%u\"], \"destinations\": [\"svc\"], \"methods\": "
				     "[\"GET\"], \"paths\": [\"^/r%u$\"], \"action\": \"allow\"}",
				     r ? "," : "", r, r % n_ids, r);
	o = put(text, cap, o, "]}");
	struct pc_policy_src *s = pc_policy_load_string(text, o, "big", err, sizeof(err));
	if (s == NULL)
		fprintf(stderr, "\n  %s\n", err);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->n_identities, n_ids);
	CU_ASSERT_EQUAL_FATAL(s->n_rules, n_rules);
	CU_ASSERT_EQUAL(s->rules[n_rules - 1].identities[0], (n_rules - 1) % n_ids);
	CU_ASSERT_STRING_EQUAL(s->rules[n_rules - 1].id, "rule-65534");
	CU_ASSERT_EQUAL(s->identities[999].api_key_digests[0][31], 0xe7); /* 999 = 0x3e7 */
	CU_ASSERT_EQUAL(s->identities[999].api_key_digests[0][30], 0x03);
	pc_policy_src_free(s);

	/* a duplicate far from its first occurrence is still found:
	 * "rule-65000" becomes "rule-6500" followed by a space */
	char *dup = strstr(text, "\"id\": \"rule-65000\"");
	CU_ASSERT_PTR_NOT_NULL_FATAL(dup);
	memcpy(dup + 16, "\" ", 2);
	CU_ASSERT_PTR_NULL(pc_policy_load_string(text, o, "big", err, sizeof(err)));
	CU_ASSERT_STRING_EQUAL(err, "big:1: $.rules[65000].id: duplicate rule id \"rule-6500\" "
			       "(first at $.rules[6500])");
	free(text);
}

/* "mode": enforce by default, shadow on a rule or the whole policy, and
 * anything else refused with the path of the bad value. */
static void test_mode(void)
{
	const char *t = "{\"version\": 1, \"rules\": [{\"id\": \"r\", \"action\": \"deny\"}]}";
	struct pc_policy_src *s = load_text(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->mode, PC_MODE_ENFORCE);
	CU_ASSERT_EQUAL(s->rules[0].mode, PC_MODE_ENFORCE);
	pc_policy_src_free(s);

	t = "{\"version\": 1, \"mode\": \"shadow\", \"rules\": [\n"
	    "{\"id\": \"a\", \"action\": \"deny\", \"mode\": \"shadow\"},\n"
	    "{\"id\": \"b\", \"action\": \"deny\", \"mode\": \"enforce\"}]}";
	s = load_text(t);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	CU_ASSERT_EQUAL(s->mode, PC_MODE_SHADOW);
	CU_ASSERT_EQUAL(s->rules[0].mode, PC_MODE_SHADOW);
	CU_ASSERT_EQUAL(s->rules[1].mode, PC_MODE_ENFORCE);
	pc_policy_src_free(s);

	t = "{\"version\": 1,\n\"mode\": \"dry-run\"}";
	CU_ASSERT_PTR_NULL(load_text(t));
	CU_ASSERT_STRING_EQUAL(err, "t.json:2: $.mode: expected \"enforce\" or \"shadow\", "
			       "got \"dry-run\"");

	t = "{\"version\": 1, \"rules\": [\n{\"id\": \"r\", \"action\": \"deny\",\n"
	    "\"mode\": true}]}";
	CU_ASSERT_PTR_NULL(load_text(t));
	CU_ASSERT_STRING_EQUAL(err, "t.json:3: $.rules[0].mode: expected \"enforce\" or "
			       "\"shadow\", got true");
}

static CU_TestInfo tests[] = {
	PC_TEST(test_sample),
	PC_TEST(test_valid_full),
	PC_TEST(test_valid_jwt),
	PC_TEST(test_valid_tls),
	PC_TEST(test_valid_minimal),
	PC_TEST(test_invalid_fixtures),
	PC_TEST(test_every_fixture_listed),
	PC_TEST(test_file_errors),
	PC_TEST(test_too_large),
	PC_TEST(test_string_origin_and_buffers),
	PC_TEST(test_odd_keys),
	PC_TEST(test_hosts),
	PC_TEST(test_names),
	PC_TEST(test_methods),
	PC_TEST(test_header_conditions),
	PC_TEST(test_scale),
	PC_TEST(test_mode),
	PC_TEST(test_valid_ai),
	PC_TEST(test_dlp_bad_regex),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("policy_load", tests)
