/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Decision engine: every reason it produces, identity by API key (x-api-key
 * and Authorization: Bearer), source binding, source-only identities by
 * longest prefix, first-match order, omitted fields, hosts, methods,
 * headers, paths, L4 decisions, fingerprints, scratch fitting and the epoch
 * wrap; JWT identities (HS256 tokens minted here with OpenSSL's HMAC, and the
 * RFC 7515 A.3 ES256 example): subject and claim globs, every JWT reason, the
 * per-scratch cache and its flush on fit, claim conditions, source binding
 * and the fallback of opaque Bearer values to API keys; TLS decisions on
 * ClientHellos made here: SNI exact, wildcard and absent, identity by source
 * only, rules with HTTP conditions skipped, each posture condition and the
 * reason that names the one that failed; shadow rules and shadow policies
 * (which denies pass as would_deny, which stay enforced). Policies are built in C (policy_builder.h), compiled to an image
 * and loaded back, exactly as the dataplane gets them. The decide.c source is
 * included so the epoch test can reach the scratch's private counter.
 */
/* First, so that its OpenSSL settings are the ones in force. */
#include "../../lib/engine/decide.c"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pc_test.h"
#include "util/addr.h"

#include "policy_builder.h"

static struct pc_policy *tb_build(struct tb *b)
{
	char err[512];
	void *img = NULL;
	size_t len = 0;
	int rc = pc_policy_compile(&b->src, &img, &len, err, sizeof(err));
	if (rc != 0)
		fprintf(stderr, "compile: %s\n", err);
	CU_ASSERT_FATAL(rc == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	if (p == NULL)
		fprintf(stderr, "from_image: %s\n", err);
	free(img);
	CU_ASSERT_FATAL(p != NULL);
	return p;
}

/* ---- requests ---- */

struct treq {
	char buf[4096];
	struct pc_http_req http;
	struct pc_request req;
};

static void addr_of(const char *text, struct pc_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (text != NULL)
		CU_ASSERT_FATAL(pc_addr_parse(text, a) == 0);
}

/* An HTTP request: head_fmt is the request line and headers, one per line,
 * without line ends; "\r\n" is added after each and at the end. */
static struct treq *http_req(struct treq *t, const char *src, const char *dst, uint16_t dport,
			     const char *head)
{
	memset(t, 0, sizeof(*t));
	size_t n = 0;
	for (const char *p = head; *p; p++) {
		if (*p == '\n') {
			t->buf[n++] = '\r';
			t->buf[n++] = '\n';
		} else {
			t->buf[n++] = *p;
		}
	}
	memcpy(t->buf + n, "\r\n\r\n", 4);
	n += 4;
	enum pc_http_reason r = pc_http_parse_head(t->buf, n, &t->http);
	if (r != PC_HTTP_OK)
		fprintf(stderr, "parse: %s for \"%s\"\n", pc_http_reason_name(r), head);
	CU_ASSERT_FATAL(r == PC_HTTP_OK);
	addr_of(src, &t->req.src);
	addr_of(dst, &t->req.dst);
	t->req.sport = 40000;
	t->req.dport = dport;
	t->req.l4_proto = PC_PROTO_TCP;
	t->req.http = &t->http;
	return t;
}

static struct treq *l4_req(struct treq *t, const char *src, const char *dst, uint16_t dport,
			   uint8_t proto)
{
	memset(t, 0, sizeof(*t));
	addr_of(src, &t->req.src);
	addr_of(dst, &t->req.dst);
	t->req.sport = 40000;
	t->req.dport = dport;
	t->req.l4_proto = proto;
	return t;
}

struct expect {
	uint8_t action;
	uint8_t reason;
	const char *rule;     /* NULL: none */
	const char *identity; /* NULL: none */
	uint8_t cred_kind;
};

static void check(const struct pc_policy *p, struct pc_engine_scratch *s, const struct treq *t,
		  struct expect e, int line)
{
	struct pc_verdict v;
	enum pc_action a = pc_decide(p, s, &t->req, &v);
	bool ok = a == e.action && v.action == e.action && v.reason == e.reason &&
		  v.cred_kind == e.cred_kind &&
		  (e.rule ? v.rule >= 0 && strcmp(pc_policy_rule_id(p, (uint32_t)v.rule), e.rule) == 0
			  : v.rule == -1) &&
		  (e.identity ? v.identity >= 0 &&
					strcmp(pc_policy_identity_name(p, (uint32_t)v.identity), e.identity) == 0
			      : v.identity == -1);
	if (!ok)
		fprintf(stderr, "\nline %d: got %s/%s rule %s identity %s cred %u\n", line,
			pc_action_name((enum pc_action)v.action), pc_verdict_reason_name(&v),
			v.rule >= 0 ? pc_policy_rule_id(p, (uint32_t)v.rule) : "-",
			v.identity >= 0 ? pc_policy_identity_name(p, (uint32_t)v.identity) : "-",
			v.cred_kind);
	CU_ASSERT(ok);
}

#define CHECK(p, s, t, ...) check((p), (s), (t), (struct expect){ __VA_ARGS__ }, __LINE__)
#define ALLOW PC_ACTION_ALLOW
#define DENY PC_ACTION_DENY

#define KEY_TA "pc-demo-ticket-agent-key-1"
#define KEY_BB "pc-demo-billing-bot-key-1"

/* The sample policy of config/policy.sample.json, plus a bearer identity. */
static struct tb *sample(void)
{
	struct tb *b = tb_new(DENY);
	tb_identity(b, "ticket-agent", L("198.18.1.0/24"), L(KEY_TA), "x-api-key");
	tb_identity(b, "billing-bot", NONE, L(KEY_BB), NULL);
	tb_identity(b, "monitoring", L("198.18.1.200/32"), NONE, NULL);
	tb_identity(b, "bearer-bot", NONE, L("bearer-secret-1"), "authorization");
	tb_dest(b, "tickets", PC_DEST_HTTP, L("tickets.internal", "*.tickets.internal"),
		L("198.18.0.2/32"), (uint16_t[]){ 80 }, 1);
	tb_dest(b, "ssh", PC_DEST_TCP, NONE, L("198.18.0.2/32"), (uint16_t[]){ 22 }, 1);
	tb_rule(b, "block-admin", DENY, NONE, L("tickets"), 0, L("^/admin(/.*)?$"));
	tb_rule(b, "tickets-read", ALLOW, L("ticket-agent", "bearer-bot"), L("tickets"),
		PC_HTTP_GET | PC_HTTP_HEAD, L("^/api/v2/tickets(/[0-9]+)?$"));
	struct pc_src_rule *r = tb_rule(b, "tickets-triage", ALLOW, L("ticket-agent"), L("tickets"),
					PC_HTTP_POST, L("^/api/v2/tickets/[0-9]+/comments$"));
	tb_rule_header(b, r, "x-agent-purpose", L("triage", "summarize"));
	tb_rule(b, "billing-read", ALLOW, L("billing-bot"), L("tickets"), PC_HTTP_GET,
		L("^/api/v2/invoices(/[0-9]+)?$"));
	tb_rule(b, "monitoring-health", ALLOW, L("monitoring"), L("tickets"), PC_HTTP_GET,
		L("^/healthz$"));
	tb_rule(b, "ops-ssh", ALLOW, L("monitoring"), L("ssh"), 0, NONE);
	return b;
}

struct env {
	struct tb *b;
	struct pc_policy *p;
	struct pc_engine_scratch *s;
	struct treq t;
};

static struct env *env_new(struct tb *b)
{
	struct env *e = calloc(1, sizeof(*e));
	CU_ASSERT_FATAL(e != NULL);
	e->b = b;
	e->p = tb_build(b);
	e->s = pc_engine_scratch_new(e->p);
	CU_ASSERT_FATAL(e->s != NULL);
	return e;
}

static void env_free(struct env *e)
{
	pc_engine_scratch_free(e->s);
	pc_policy_free(e->p);
	tb_free(e->b);
	free(e);
}

#define CLIENT "198.18.1.10"
#define SERVER "198.18.0.2"

/* ---- tests ---- */

static void test_api_key_allow_and_fingerprint(void)
{
	struct env *e = env_new(sample());
	struct pc_verdict v;
	http_req(&e->t, CLIENT, SERVER, 80,
		 "GET /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal\nX-API-Key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-read", "ticket-agent", PC_CRED_API_KEY);
	pc_decide(e->p, e->s, &e->t.req, &v);
	uint8_t d[32];
	sha256_of(KEY_TA, d);
	CU_ASSERT(memcmp(v.cred_fp, d, PC_CRED_FP_LEN) == 0);
	char hex[17];
	CU_ASSERT_STRING_EQUAL(pc_verdict_fp_hex(&v, hex, sizeof(hex)), "ce6e7185989b4c41");
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "rule_match");
	CU_ASSERT_STRING_EQUAL(pc_action_name(PC_ACTION_ALLOW), "allow");
	/* too small a buffer gets an empty string, not a overflow */
	CU_ASSERT_STRING_EQUAL(pc_verdict_fp_hex(&v, hex, 16), "");

	/* HEAD is in the method set too; POST is not */
	http_req(&e->t, CLIENT, SERVER, 80,
		 "HEAD /api/v2/tickets HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-read", "ticket-agent", PC_CRED_API_KEY);
	http_req(&e->t, CLIENT, SERVER, 80,
		 "POST /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_TA
		 "\nContent-Length: 0");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	/* DELETE: no rule, the default */
	http_req(&e->t, CLIENT, SERVER, 80,
		 "DELETE /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&(struct pc_verdict){ .reason = PC_REASON_DEFAULT }),
			       "default_action");
	/* The other identity's key: its own rule, not ticket-agent's. */
	http_req(&e->t, "203.0.113.9", SERVER, 80,
		 "GET /api/v2/invoices/7 HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_BB);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "billing-read", "billing-bot", PC_CRED_API_KEY);
	http_req(&e->t, "203.0.113.9", SERVER, 80,
		 "GET /api/v2/tickets/7 HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_BB);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "billing-bot", PC_CRED_API_KEY);
	env_free(e);
}

static void test_first_match_order(void)
{
	struct env *e = env_new(sample());
	/* block-admin (anyone) comes first and wins even for a known caller */
	http_req(&e->t, CLIENT, SERVER, 80, "GET /admin HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "block-admin", "ticket-agent", PC_CRED_API_KEY);
	http_req(&e->t, CLIENT, SERVER, 80, "GET /admin/users HTTP/1.1\nHost: tickets.internal");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "block-admin", NULL, PC_CRED_NONE);
	/* "/administrator" is not "/admin(/.*)?" */
	http_req(&e->t, CLIENT, SERVER, 80, "GET /administrator HTTP/1.1\nHost: tickets.internal");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	env_free(e);

	/* Two rules that both match: the earlier decides, whichever list it
	 * is on (identity-specific or anyone). */
	struct tb *b = tb_new(DENY);
	tb_identity(b, "a", NONE, L("key-a"), NULL);
	tb_rule(b, "a-allow", ALLOW, L("a"), NONE, 0, L("^/x"));
	tb_rule(b, "all-deny", DENY, NONE, NONE, 0, L("^/x"));
	tb_rule(b, "a-deny-y", DENY, L("a"), NONE, 0, L("^/y"));
	tb_rule(b, "all-allow-y", ALLOW, NONE, NONE, 0, L("^/y"));
	tb_rule(b, "all-deny-z", DENY, NONE, NONE, 0, L("^/z"));
	tb_rule(b, "a-allow-z", ALLOW, L("a"), NONE, 0, L("^/z"));
	e = env_new(b);
	http_req(&e->t, NULL, NULL, 0, "GET /x HTTP/1.1\nHost: h\nx-api-key: key-a");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "a-allow", "a", PC_CRED_API_KEY);
	http_req(&e->t, NULL, NULL, 0, "GET /x HTTP/1.1\nHost: h");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "all-deny", NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, "GET /y HTTP/1.1\nHost: h\nx-api-key: key-a");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "a-deny-y", "a", PC_CRED_API_KEY);
	http_req(&e->t, NULL, NULL, 0, "GET /y HTTP/1.1\nHost: h");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "all-allow-y", NULL, PC_CRED_NONE);
	/* an anyone-rule placed before the identity's own rule comes first */
	http_req(&e->t, NULL, NULL, 0, "GET /z HTTP/1.1\nHost: h\nx-api-key: key-a");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "all-deny-z", "a", PC_CRED_API_KEY);
	env_free(e);
}

static void test_omitted_fields_and_default_allow(void)
{
	struct tb *b = tb_new(ALLOW);
	tb_identity(b, "a", NONE, L("key-a"), NULL);
	tb_identity(b, "b", NONE, L("key-b"), NULL);
	tb_dest(b, "svc", PC_DEST_HTTP, L("svc.test"), NONE, NULL, 0);
	/* only an identity: any method, path, host, address */
	tb_rule(b, "a-anything", DENY, L("a"), NONE, 0, NONE);
	/* only a destination */
	tb_rule(b, "svc-anyone", DENY, NONE, L("svc"), 0, NONE);
	struct env *e = env_new(b);
	http_req(&e->t, "192.0.2.1", "192.0.2.2", 8080,
		 "PATCH /whatever?q=1 HTTP/1.1\nHost: other.test\nx-api-key: key-a");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "a-anything", "a", PC_CRED_API_KEY);
	http_req(&e->t, "192.0.2.1", "192.0.2.2", 8080,
		 "PATCH /whatever HTTP/1.1\nHost: other.test\nx-api-key: key-b");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_DEFAULT, NULL, "b", PC_CRED_API_KEY);
	http_req(&e->t, "192.0.2.1", "192.0.2.2", 8080, "OPTIONS * HTTP/1.1\nHost: svc.test\nx-api-key: key-b");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "svc-anyone", "b", PC_CRED_API_KEY);
	/* default allow for an unknown caller too, reason unknown_caller */
	http_req(&e->t, "192.0.2.1", "192.0.2.2", 8080, "GET / HTTP/1.1\nHost: other.test");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	/* a rule with identity only also applies at L4 */
	env_free(e);
}

static void test_hosts(void)
{
	struct tb *b = tb_new(DENY);
	tb_dest(b, "exact", PC_DEST_HTTP, L("api.example.com"), NONE, NULL, 0);
	tb_dest(b, "wild", PC_DEST_HTTP, L("*.tickets.internal"), NONE, NULL, 0);
	tb_dest(b, "upper", PC_DEST_HTTP, L("Mixed.Example.ORG"), NONE, NULL, 0);
	tb_rule(b, "to-exact", ALLOW, NONE, L("exact"), 0, NONE);
	tb_rule(b, "to-wild", ALLOW, NONE, L("wild"), 0, NONE);
	tb_rule(b, "to-upper", ALLOW, NONE, L("upper"), 0, NONE);
	struct env *e = env_new(b);
	static const struct {
		const char *host;
		const char *rule;
	} cases[] = {
		{ "api.example.com", "to-exact" },
		{ "API.Example.COM", "to-exact" },
		{ "api.example.com.evil", NULL },
		{ "xapi.example.com", NULL },
		{ "a.tickets.internal", "to-wild" },
		{ "A.B.Tickets.Internal", "to-wild" },
		{ "tickets.internal", NULL },       /* "*.x.y" needs a label before x.y */
		{ "xtickets.internal", NULL },      /* label boundary */
		{ "mixed.example.org", "to-upper" }, /* patterns are lowercased at compile */
	};
	for (unsigned i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		char head[256];
		snprintf(head, sizeof(head), "GET / HTTP/1.1\nHost: %s", cases[i].host);
		http_req(&e->t, NULL, NULL, 0, head);
		if (cases[i].rule)
			CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, cases[i].rule, NULL, PC_CRED_NONE);
		else
			CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	}
	/* The parser refuses a trailing dot, but the engine ignores one
	 * should a Host ever reach it with it (an absolute FQDN). */
	http_req(&e->t, NULL, NULL, 0, "GET / HTTP/1.1\nHost: api.example.com");
	static const char dotted[] = "API.example.com.";
	e->t.http.host = (struct pc_str){ dotted, sizeof(dotted) - 1 };
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "to-exact", NULL, PC_CRED_NONE);
	/* port in Host is not part of the name */
	http_req(&e->t, NULL, NULL, 0, "GET / HTTP/1.1\nHost: api.example.com:8443");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "to-exact", NULL, PC_CRED_NONE);
	env_free(e);
}

static void test_addresses_ports_and_unknown_dst(void)
{
	struct env *e = env_new(sample());
	const char *h = "GET /api/v2/tickets/1 HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_TA;
	http_req(&e->t, CLIENT, "198.18.0.3", 80, h); /* wrong address */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	http_req(&e->t, CLIENT, SERVER, 8080, h); /* wrong port */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	http_req(&e->t, CLIENT, "2001:db8::2", 80, h); /* other family */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	http_req(&e->t, CLIENT, NULL, 0, h); /* unknown dst: address and port skipped */
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-read", "ticket-agent", PC_CRED_API_KEY);
	/* host still applies when the address is unknown */
	http_req(&e->t, CLIENT, NULL, 0,
		 "GET /api/v2/tickets/1 HTTP/1.1\nHost: other.internal\nx-api-key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	env_free(e);
}

static void test_header_conditions(void)
{
	struct env *e = env_new(sample());
	const char *base = "POST /api/v2/tickets/9/comments HTTP/1.1\nHost: tickets.internal\n"
			   "Content-Length: 0\nx-api-key: " KEY_TA;
	char head[512];
	snprintf(head, sizeof(head), "%s\nX-Agent-Purpose: triage", base);
	http_req(&e->t, CLIENT, SERVER, 80, head);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-triage", "ticket-agent", PC_CRED_API_KEY);
	snprintf(head, sizeof(head), "%s\nx-agent-purpose: summarize", base);
	http_req(&e->t, CLIENT, SERVER, 80, head);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-triage", "ticket-agent", PC_CRED_API_KEY);
	/* values are exact and case-sensitive */
	snprintf(head, sizeof(head), "%s\nx-agent-purpose: Triage", base);
	http_req(&e->t, CLIENT, SERVER, 80, head);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	snprintf(head, sizeof(head), "%s\nx-agent-purpose: triage-all", base);
	http_req(&e->t, CLIENT, SERVER, 80, head);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	http_req(&e->t, CLIENT, SERVER, 80, base); /* header missing */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "ticket-agent", PC_CRED_API_KEY);
	env_free(e);

	/* every condition must hold */
	struct tb *b = tb_new(DENY);
	struct pc_src_rule *r = tb_rule(b, "two", ALLOW, NONE, NONE, 0, NONE);
	tb_rule_header(b, r, "x-a", L("1"));
	tb_rule_header(b, r, "x-b", L("2", "3"));
	e = env_new(b);
	http_req(&e->t, NULL, NULL, 0, "GET / HTTP/1.1\nHost: h\nX-A: 1\nX-B: 3");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "two", NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, "GET / HTTP/1.1\nHost: h\nX-A: 1");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, "GET / HTTP/1.1\nHost: h\nX-B: 2");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	env_free(e);
}

static void test_unknown_caller_and_unknown_key(void)
{
	struct env *e = env_new(sample());
	struct pc_verdict v;
	http_req(&e->t, CLIENT, SERVER, 80, "GET /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	pc_decide(e->p, e->s, &e->t.req, &v);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "unknown_caller");
	static const uint8_t zero[PC_CRED_FP_LEN];
	CU_ASSERT(memcmp(v.cred_fp, zero, sizeof(zero)) == 0);

	http_req(&e->t, CLIENT, SERVER, 80,
		 "GET /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal\nx-api-key: not-a-key");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_API_KEY_UNKNOWN, NULL, NULL, PC_CRED_API_KEY);
	pc_decide(e->p, e->s, &e->t.req, &v);
	uint8_t d[32];
	sha256_of("not-a-key", d);
	CU_ASSERT(memcmp(v.cred_fp, d, PC_CRED_FP_LEN) == 0);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "api_key_unknown");
	/* an unknown key is denied even where an anyone-rule would allow */
	http_req(&e->t, CLIENT, SERVER, 80, "GET /admin HTTP/1.1\nHost: tickets.internal\nx-api-key: nope");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_API_KEY_UNKNOWN, NULL, NULL, PC_CRED_API_KEY);
	/* an empty key counts as no key */
	http_req(&e->t, CLIENT, SERVER, 80, "GET / HTTP/1.1\nHost: tickets.internal\nx-api-key: ");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	env_free(e);
}

static void test_bearer(void)
{
	struct env *e = env_new(sample());
	static const char *const ok[] = {
		"Authorization: Bearer bearer-secret-1",
		"authorization: bearer bearer-secret-1",
		"AUTHORIZATION: BEARER    bearer-secret-1",
	};
	for (unsigned i = 0; i < PC_ARRAY_SIZE(ok); i++) {
		char head[256];
		snprintf(head, sizeof(head), "GET /api/v2/tickets HTTP/1.1\nHost: tickets.internal\n%s", ok[i]);
		http_req(&e->t, "203.0.113.5", SERVER, 80, head);
		CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-read", "bearer-bot", PC_CRED_API_KEY);
	}
	struct pc_verdict v;
	pc_decide(e->p, e->s, &e->t.req, &v);
	uint8_t d[32];
	sha256_of("bearer-secret-1", d);
	CU_ASSERT(memcmp(v.cred_fp, d, PC_CRED_FP_LEN) == 0);

	/* not Bearer, or no token: the header is ignored, caller unknown */
	static const char *const ignored[] = {
		"Authorization: Basic YmVhcmVyLXNlY3JldC0x",
		"Authorization: Bearer",
		"Authorization: Bearerbearer-secret-1",
		"Authorization: bearer-secret-1",
	};
	for (unsigned i = 0; i < PC_ARRAY_SIZE(ignored); i++) {
		char head[256];
		snprintf(head, sizeof(head), "GET /api/v2/tickets HTTP/1.1\nHost: tickets.internal\n%s",
			 ignored[i]);
		http_req(&e->t, "203.0.113.5", SERVER, 80, head);
		CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	}
	/* a Bearer token that is no key is an unknown key */
	http_req(&e->t, "203.0.113.5", SERVER, 80,
		 "GET /api/v2/tickets HTTP/1.1\nHost: tickets.internal\nAuthorization: Bearer wrong");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_API_KEY_UNKNOWN, NULL, NULL, PC_CRED_API_KEY);
	/* header names in policy order: x-api-key (first identity) decides
	 * before authorization when both are present */
	http_req(&e->t, CLIENT, SERVER, 80,
		 "GET /api/v2/tickets HTTP/1.1\nHost: tickets.internal\nAuthorization: Bearer bearer-secret-1\n"
		 "x-api-key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-read", "ticket-agent", PC_CRED_API_KEY);
	env_free(e);
}

static void test_unbound_source(void)
{
	struct env *e = env_new(sample());
	const char *h = "GET /api/v2/tickets/42 HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_TA;
	http_req(&e->t, "198.18.2.10", SERVER, 80, h);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNBOUND_SOURCE, NULL, "ticket-agent", PC_CRED_API_KEY);
	struct pc_verdict v;
	pc_decide(e->p, e->s, &e->t.req, &v);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "credential_from_unbound_source");
	uint8_t d[32];
	sha256_of(KEY_TA, d);
	CU_ASSERT(memcmp(v.cred_fp, d, PC_CRED_FP_LEN) == 0);
	/* even a rule for anyone does not rescue a key from the wrong place */
	http_req(&e->t, "198.18.2.10", SERVER, 80,
		 "GET /admin HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNBOUND_SOURCE, NULL, "ticket-agent", PC_CRED_API_KEY);
	/* IPv6 source against an IPv4 binding */
	http_req(&e->t, "2001:db8::1", SERVER, 80, h);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNBOUND_SOURCE, NULL, "ticket-agent", PC_CRED_API_KEY);
	/* unknown source (explain without --src): binding not checked */
	http_req(&e->t, NULL, SERVER, 80, h);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "tickets-read", "ticket-agent", PC_CRED_API_KEY);
	/* billing-bot lists no sources: any source is fine */
	http_req(&e->t, "2001:db8::1", SERVER, 80,
		 "GET /api/v2/invoices HTTP/1.1\nHost: tickets.internal\nx-api-key: " KEY_BB);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "billing-read", "billing-bot", PC_CRED_API_KEY);
	env_free(e);
}

static void test_source_only_longest_prefix(void)
{
	struct tb *b = tb_new(DENY);
	tb_identity(b, "wide", L("10.0.0.0/8", "2001:db8::/32"), NONE, NULL);
	tb_identity(b, "keyed", L("10.1.2.0/24"), L("k"), NULL); /* has keys: not source-only */
	tb_identity(b, "narrow", L("10.1.0.0/16"), NONE, NULL);
	tb_identity(b, "host", L("10.1.2.3/32", "2001:db8:1::/48"), NONE, NULL);
	tb_rule(b, "r-wide", ALLOW, L("wide"), NONE, 0, NONE);
	tb_rule(b, "r-narrow", ALLOW, L("narrow"), NONE, 0, NONE);
	tb_rule(b, "r-host", ALLOW, L("host"), NONE, 0, NONE);
	struct env *e = env_new(b);
	const char *h = "GET / HTTP/1.1\nHost: h";
	http_req(&e->t, "10.9.9.9", NULL, 0, h);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-wide", "wide", PC_CRED_SOURCE);
	http_req(&e->t, "10.1.9.9", NULL, 0, h);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-narrow", "narrow", PC_CRED_SOURCE);
	http_req(&e->t, "10.1.2.4", NULL, 0, h); /* inside keyed's /24, but keyed needs a key */
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-narrow", "narrow", PC_CRED_SOURCE);
	http_req(&e->t, "10.1.2.3", NULL, 0, h);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-host", "host", PC_CRED_SOURCE);
	http_req(&e->t, "2001:db8:1::7", NULL, 0, h);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-host", "host", PC_CRED_SOURCE);
	http_req(&e->t, "2001:db8:2::7", NULL, 0, h);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-wide", "wide", PC_CRED_SOURCE);
	http_req(&e->t, "192.0.2.1", NULL, 0, h);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, h); /* unknown source: no source identity */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);

	/* fingerprint: SHA-256 of the address bytes, network order */
	struct pc_verdict v;
	http_req(&e->t, "10.1.2.3", NULL, 0, h);
	pc_decide(e->p, e->s, &e->t.req, &v);
	uint8_t d[32];
	unsigned len;
	static const uint8_t addr[4] = { 10, 1, 2, 3 };
	CU_ASSERT_FATAL(EVP_Digest(addr, 4, d, &len, EVP_sha256(), NULL) == 1);
	CU_ASSERT(memcmp(v.cred_fp, d, PC_CRED_FP_LEN) == 0);
	/* a key always wins over the source */
	http_req(&e->t, "10.1.2.3", NULL, 0, "GET / HTTP/1.1\nHost: h\nx-api-key: k");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "keyed", PC_CRED_API_KEY);
	http_req(&e->t, "10.1.9.9", NULL, 0, "GET / HTTP/1.1\nHost: h\nx-api-key: k");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNBOUND_SOURCE, NULL, "keyed", PC_CRED_API_KEY);
	env_free(e);
}

static void test_l4(void)
{
	struct tb *b = tb_new(DENY);
	tb_identity(b, "mon", L("198.18.1.200/32"), NONE, NULL);
	tb_dest(b, "web", PC_DEST_HTTP, NONE, L("198.18.0.2/32"), (uint16_t[]){ 80 }, 1);
	tb_dest(b, "ssh", PC_DEST_TCP, NONE, L("198.18.0.2/32"), (uint16_t[]){ 22 }, 1);
	tb_dest(b, "dns", PC_DEST_UDP, NONE, L("198.18.0.53/32"), (uint16_t[]){ 53 }, 1);
	tb_dest(b, "any53", PC_DEST_ANY, NONE, L("198.18.0.54/32"), (uint16_t[]){ 53 }, 1);
	tb_dest(b, "named", PC_DEST_ANY, L("h.test"), NONE, NULL, 0);
	tb_rule(b, "ssh-get", ALLOW, L("mon"), L("ssh"), PC_HTTP_GET, NONE); /* L7 condition */
	tb_rule_header(b, tb_rule(b, "ssh-hdr", ALLOW, L("mon"), L("ssh"), 0, NONE), "x-a", L("1"));
	tb_rule(b, "ssh-path", ALLOW, L("mon"), L("ssh"), 0, L("^/"));
	tb_rule(b, "to-named", ALLOW, NONE, L("named"), 0, NONE);
	tb_rule(b, "to-web", ALLOW, NONE, L("web"), 0, NONE);
	tb_rule(b, "ssh", ALLOW, L("mon"), L("ssh"), 0, NONE);
	tb_rule(b, "dns", ALLOW, NONE, L("dns"), 0, NONE);
	tb_rule(b, "any53", ALLOW, NONE, L("any53"), 0, NONE);
	struct env *e = env_new(b);
	l4_req(&e->t, "198.18.1.200", "198.18.0.2", 22, PC_PROTO_TCP);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "ssh", "mon", PC_CRED_SOURCE);
	l4_req(&e->t, "198.18.1.200", "198.18.0.2", 22, PC_PROTO_UDP); /* tcp destination */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "mon", PC_CRED_SOURCE);
	l4_req(&e->t, "198.18.1.201", "198.18.0.2", 22, PC_PROTO_TCP); /* not mon */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	l4_req(&e->t, "198.18.1.201", "198.18.0.2", 80, PC_PROTO_TCP); /* http dest: not at L4 */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	l4_req(&e->t, "198.18.1.201", "198.18.0.53", 53, PC_PROTO_UDP);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "dns", NULL, PC_CRED_NONE);
	l4_req(&e->t, "198.18.1.201", "198.18.0.53", 53, PC_PROTO_TCP); /* udp destination */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	l4_req(&e->t, "198.18.1.201", "198.18.0.54", 53, PC_PROTO_TCP); /* any: both */
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "any53", NULL, PC_CRED_NONE);
	l4_req(&e->t, "198.18.1.201", "198.18.0.54", 53, PC_PROTO_UDP);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "any53", NULL, PC_CRED_NONE);
	/* HTTP to an ANY destination with hosts matches; to a TCP one not */
	http_req(&e->t, "198.18.1.201", "198.18.0.9", 80, "GET / HTTP/1.1\nHost: h.test");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "to-named", NULL, PC_CRED_NONE);
	/* HTTP never matches a tcp destination, even where every L7
	 * condition of ssh-get/ssh-path holds */
	http_req(&e->t, "198.18.1.200", "198.18.0.2", 22, "GET /x HTTP/1.1\nHost: x.test\nX-A: 1");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "mon", PC_CRED_SOURCE);
	http_req(&e->t, "198.18.1.200", "198.18.0.2", 80, "GET /x HTTP/1.1\nHost: x.test");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "to-web", "mon", PC_CRED_SOURCE);

	/* pc_policy_inspects: only http destinations, by address and port */
	struct pc_addr a;
	addr_of("198.18.0.2", &a);
	CU_ASSERT(pc_policy_inspects(e->p, &a, 80));
	CU_ASSERT(!pc_policy_inspects(e->p, &a, 22));
	addr_of("198.18.0.3", &a);
	CU_ASSERT(!pc_policy_inspects(e->p, &a, 80));
	env_free(e);
}

/* HTTP rules on a tcp destination never match an HTTP request. */
static void test_http_request_on_tcp_destination(void)
{
	struct tb *b = tb_new(DENY);
	tb_dest(b, "ssh", PC_DEST_TCP, NONE, L("198.18.0.2/32"), (uint16_t[]){ 22 }, 1);
	tb_dest(b, "anywhere", PC_DEST_HTTP, NONE, NONE, NULL, 0);
	tb_rule(b, "ssh", ALLOW, NONE, L("ssh"), 0, NONE);
	struct env *e = env_new(b);
	http_req(&e->t, "198.18.1.2", "198.18.0.2", 22, "GET / HTTP/1.1\nHost: x.test");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	/* an http destination with no lists inspects everything */
	struct pc_addr a;
	addr_of("192.0.2.1", &a);
	CU_ASSERT(pc_policy_inspects(e->p, &a, 1234));
	env_free(e);
}

static void test_paths_and_allowempty(void)
{
	struct tb *b = tb_new(DENY);
	tb_rule(b, "anything", ALLOW, NONE, NONE, PC_HTTP_PUT, L(".*"));
	tb_rule(b, "two", ALLOW, NONE, NONE, 0, L("^/one$", "^/two$"));
	tb_rule(b, "star", ALLOW, NONE, NONE, PC_HTTP_OPTIONS, L("^\\*$"));
	struct env *e = env_new(b);
	http_req(&e->t, NULL, NULL, 0, "PUT /x/y/z HTTP/1.1\nHost: h\nContent-Length: 0");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "anything", NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, "GET /two HTTP/1.1\nHost: h");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "two", NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, "GET /one?x=/two HTTP/1.1\nHost: h"); /* query not scanned */
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "two", NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, "GET /three?/two HTTP/1.1\nHost: h");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	http_req(&e->t, NULL, NULL, 0, "OPTIONS * HTTP/1.1\nHost: h");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "star", NULL, PC_CRED_NONE);
	env_free(e);
}

static void test_malformed_no_policy_engine_error(void)
{
	struct pc_verdict v;
	pc_verdict_malformed(&v, PC_HTTP_BARE_LF);
	CU_ASSERT_EQUAL(v.action, PC_ACTION_DENY);
	CU_ASSERT_EQUAL(v.reason, PC_REASON_HTTP_MALFORMED);
	CU_ASSERT_EQUAL(v.rule, -1);
	CU_ASSERT_EQUAL(v.identity, -1);
	CU_ASSERT_EQUAL(v.cred_kind, PC_CRED_NONE);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "http_bare_lf");
	pc_verdict_malformed(&v, PC_HTTP_CL_AND_TE);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "http_content_length_and_transfer_encoding");

	struct env *e = env_new(sample());
	http_req(&e->t, CLIENT, SERVER, 80, "GET /admin HTTP/1.1\nHost: tickets.internal");
	CU_ASSERT_EQUAL(pc_decide(NULL, e->s, &e->t.req, &v), PC_ACTION_DENY);
	CU_ASSERT_EQUAL(v.reason, PC_REASON_NO_POLICY);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "no_policy");
	CU_ASSERT_EQUAL(pc_decide(e->p, NULL, &e->t.req, &v), PC_ACTION_DENY);
	CU_ASSERT_EQUAL(v.reason, PC_REASON_ENGINE_ERROR);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "engine_error");

	/* A scratch made for a smaller policy fails closed, then works once fitted. */
	struct tb *small = tb_new(ALLOW);
	struct pc_policy *sp = tb_build(small);
	struct pc_engine_scratch *s = pc_engine_scratch_new(sp);
	CU_ASSERT_FATAL(s != NULL);
	CU_ASSERT_EQUAL(pc_decide(sp, s, &e->t.req, &v), PC_ACTION_ALLOW);
	CU_ASSERT_EQUAL(v.reason, PC_REASON_UNKNOWN_CALLER);
	CU_ASSERT_EQUAL(pc_decide(e->p, s, &e->t.req, &v), PC_ACTION_DENY);
	CU_ASSERT_EQUAL(v.reason, PC_REASON_ENGINE_ERROR);
	CU_ASSERT_EQUAL(pc_engine_scratch_fit(s, e->p), 0);
	CHECK(e->p, s, &e->t, DENY, PC_REASON_RULE, "block-admin", NULL, PC_CRED_NONE);
	CU_ASSERT_EQUAL(pc_decide(sp, s, &e->t.req, &v), PC_ACTION_ALLOW); /* still fits the old one */
	pc_engine_scratch_free(s);
	pc_policy_free(sp);
	tb_free(small);

	/* names of every reason */
	static const char *const names[] = {
		"rule_match", "default_action", "unknown_caller", "api_key_unknown",
		"credential_from_unbound_source", "http_malformed", "path_rejected",
		"no_policy", "engine_error", "jwt_invalid", "jwt_unknown_subject",
		"tls_malformed", "tls_sni_missing", "tls_version_too_low",
		"tls_fingerprint_not_allowed", "tls_alpn_not_allowed", "quarantined",
		"body_required", "body_malformed", "body_too_large", "model_not_allowed",
		"mcp_tool_not_allowed",
	};
	CU_ASSERT_EQUAL(PC_ARRAY_SIZE(names), PC_REASON_COUNT);
	for (unsigned r = 0; r < PC_REASON_COUNT; r++) {
		if (r == PC_REASON_HTTP_MALFORMED || r == PC_REASON_PATH_REJECTED ||
		    r == PC_REASON_JWT_INVALID || r == PC_REASON_TLS_MALFORMED)
			continue; /* named by their detail */
		struct pc_verdict x = { .reason = (uint8_t)r };
		CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&x), names[r]);
	}
	CU_ASSERT_STRING_EQUAL(pc_action_name(PC_ACTION_DENY), "deny");
	env_free(e);
}

/* Path matches are stamped with the request's epoch: a match must not leak
 * into the next request on the same scratch, including across the wrap of
 * the 32-bit counter. */
static void test_epoch(void)
{
	struct env *e = env_new(sample());
	http_req(&e->t, CLIENT, SERVER, 80, "GET /admin HTTP/1.1\nHost: tickets.internal");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "block-admin", NULL, PC_CRED_NONE);
	http_req(&e->t, CLIENT, SERVER, 80, "GET /other HTTP/1.1\nHost: tickets.internal");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);

	/* Fresh scratch: epoch 1 stamps block-admin's match. Jump to the last
	 * epoch: the next request wraps to 0, clears, and restarts at 1 - the
	 * stamp of the first request must be gone. */
	struct pc_engine_scratch *s = pc_engine_scratch_new(e->p);
	CU_ASSERT_FATAL(s != NULL);
	http_req(&e->t, CLIENT, SERVER, 80, "GET /admin HTTP/1.1\nHost: tickets.internal");
	CHECK(e->p, s, &e->t, DENY, PC_REASON_RULE, "block-admin", NULL, PC_CRED_NONE);
	CU_ASSERT_EQUAL(s->epoch, 1);
	s->epoch = UINT32_MAX;
	http_req(&e->t, CLIENT, SERVER, 80, "GET /other HTTP/1.1\nHost: tickets.internal");
	CHECK(e->p, s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	CU_ASSERT_EQUAL(s->epoch, 1);
	pc_engine_scratch_free(s);
	env_free(e);
}

/* The shape of perf/gen_policy.py: 1000 rules over 100 identities, each
 * allowing GET on its own path. The request of agent 7's last rule walks all
 * ten of its candidates, past the 990 rules of the other identities. Speed
 * is measured by perf/, not here. */
static void test_large_policy(void)
{
	enum { N_IDS = 100, N_RULES = 1000 };
	struct tb *b = tb_new(DENY);
	for (int i = 0; i < N_IDS; i++) {
		char name[32], key[32];
		snprintf(name, sizeof(name), "agent-%d", i);
		snprintf(key, sizeof(key), "bench-key-%d", i);
		tb_identity(b, name, L("198.18.0.0/15"), L(key), NULL);
	}
	tb_dest(b, "svc", PC_DEST_HTTP, L("svc.bench"), L("198.18.0.2/32"), (uint16_t[]){ 80 }, 1);
	for (int r = 0; r < N_RULES; r++) {
		char id[32], name[32], path[64];
		snprintf(id, sizeof(id), "rule-%d", r);
		snprintf(name, sizeof(name), "agent-%d", r % N_IDS);
		snprintf(path, sizeof(path), "^/api/v1/res%d(/[0-9]+)?$", r);
		tb_rule(b, id, ALLOW, L(name), L("svc"), PC_HTTP_GET, L(path));
	}
	struct env *e = env_new(b);
	http_req(&e->t, "198.18.1.10", "198.18.0.2", 80,
		 "GET /api/v1/res907/12 HTTP/1.1\nHost: svc.bench\nUser-Agent: bench/1\n"
		 "Accept: */*\nX-Api-Key: bench-key-7\nX-Request-Id: 0123456789abcdef0123456789abcdef");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "rule-907", "agent-7", PC_CRED_API_KEY);
	/* Another identity's rule for the same path does not apply to agent 7. */
	http_req(&e->t, "198.18.1.10", "198.18.0.2", 80,
		 "GET /api/v1/res906 HTTP/1.1\nHost: svc.bench\nX-Api-Key: bench-key-7");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agent-7", PC_CRED_API_KEY);
	env_free(e);
}

/* ---- JWT ---- */

#define JWT_NOW 1800000000 /* 2027-01-15 */
#define JWT_ISS "https://idp.example"
/* 32 bytes: "0123456789abcdef0123456789abcdef" */
#define JWT_SECRET "0123456789abcdef0123456789abcdef"
#define JWT_K "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"
#define JWT_K2 "ZmVkY2JhOTg3NjU0MzIxMGZlZGNiYTk4NzY1NDMyMTA" /* another secret */
/* RFC 7515 A.3: an ES256 token of issuer "joe", and its key */
#define A3_TOKEN "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
#define A3_KEYS "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\", " \
		"\"x\": \"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\", " \
		"\"y\": \"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}]}"
#define OPAQUE_KEY "opaque-bearer-key"

static const char *jwt_policy_fmt =
	"{\"version\": 1,\n"
	" \"jwt_issuers\": [\n"
	"  {\"issuer\": \"" JWT_ISS "\", \"audiences\": [\"payments-gw\"], \"algorithms\": [\"HS256\"],\n"
	"   \"jwks\": {\"keys\": [{\"kty\": \"oct\", \"kid\": \"k1\", \"k\": \"%s\"}]}},\n"
	"  {\"issuer\": \"joe\", \"algorithms\": [\"ES256\"], \"max_lifetime_s\": 0, \"jwks\": " A3_KEYS "}],\n"
	" \"identities\": [\n"
	"  {\"name\": \"pay\", \"jwt\": {\"issuer\": \"" JWT_ISS "\", \"subject\": \"svc-pay-*\"},\n"
	"   \"sources\": [\"198.18.1.0/24\"]},\n"
	"  {\"name\": \"two-chars\", \"jwt\": {\"issuer\": \"" JWT_ISS "\", \"subject\": \"svc-??\"}},\n"
	"  {\"name\": \"by-client\", \"jwt\": {\"issuer\": \"" JWT_ISS "\", \"claim\": \"client_id\",\n"
	"   \"value\": \"cli-*\"}},\n"
	"  {\"name\": \"exact-client\", \"jwt\": {\"issuer\": \"" JWT_ISS "\", \"claim\": \"azp\",\n"
	"   \"value\": \"portal\"}},\n"
	"  {\"name\": \"root\", \"jwt\": {\"issuer\": \"joe\", \"claim\": \"http://example.com/is_root\",\n"
	"   \"value\": \"true\"}},\n"
	"  {\"name\": \"opaque\", \"api_keys_sha256\": [\"%s\"], \"api_key_header\": \"Authorization\"}],\n"
	" \"rules\": [\n"
	"  {\"id\": \"pay-write\", \"identities\": [\"pay\"],\n"
	"   \"claims\": {\"scope\": [\"payments:write\"], \"env\": [\"prod\", \"staging\"]},\n"
	"   \"action\": \"allow\"},\n"
	"  {\"id\": \"pay-read\", \"identities\": [\"pay\"], \"methods\": [\"GET\"], \"action\": \"allow\"},\n"
	"  {\"id\": \"admins\", \"claims\": {\"roles\": [\"admin\"]}, \"action\": \"allow\"},\n"
	"  {\"id\": \"opaque-all\", \"identities\": [\"opaque\"], \"action\": \"allow\"},\n"
	"  {\"id\": \"others\", \"identities\": [\"two-chars\", \"by-client\", \"exact-client\", \"root\"],\n"
	"   \"action\": \"allow\"}]}\n";

static struct pc_policy *jwt_policy(const char *k)
{
	char text[8192], err[1024], hex[65];
	uint8_t d[32];
	sha256_of(OPAQUE_KEY, d);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	int n = snprintf(text, sizeof(text), jwt_policy_fmt, k, hex);
	CU_ASSERT_FATAL(n > 0 && (size_t)n < sizeof(text));
	struct pc_policy_src *src = pc_policy_load_string(text, (size_t)n, "jwt.json", err, sizeof(err));
	if (src == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_FATAL(src != NULL);
	void *img = NULL;
	size_t len = 0;
	int rc = pc_policy_compile(src, &img, &len, err, sizeof(err));
	pc_policy_src_free(src);
	CU_ASSERT_FATAL(rc == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	free(img);
	if (p == NULL)
		fprintf(stderr, "\n%s\n", err);
	CU_ASSERT_FATAL(p != NULL);
	return p;
}

static size_t b64u(const void *in, size_t len, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	const uint8_t *p = in;
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
		out[o++] = a[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		out[o++] = a[v >> 18];
		out[o++] = a[(v >> 12) & 63];
		out[o++] = a[(v >> 6) & 63];
	}
	out[o] = '\0';
	return o;
}

/* An HS256 token (RFC 7515 §A.1's construction) over header and claims,
 * signed with secret; "" for no signature at all. */
static void mint(char *out, size_t cap, const char *header, const char *claims, const char *secret)
{
	char si[4096];
	size_t n = b64u(header, strlen(header), si);
	si[n++] = '.';
	n += b64u(claims, strlen(claims), si + n);
	CU_ASSERT_FATAL(n + 100 < cap);
	memcpy(out, si, n);
	out[n++] = '.';
	out[n] = '\0';
	if (secret[0] == '\0')
		return;
	uint8_t mac[32];
	unsigned mac_len = 0;
	CU_ASSERT_FATAL(HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)si, n - 1,
			     mac, &mac_len) != NULL);
	b64u(mac, mac_len, out + n);
}

#define HS_HDR "{\"alg\":\"HS256\",\"kid\":\"k1\",\"typ\":\"JWT\"}"

/* Claims of a token valid at JWT_NOW, with extra members appended. */
static void std_claims(char *out, size_t cap, const char *sub, const char *extra)
{
	snprintf(out, cap, "{\"iss\":\"" JWT_ISS "\",\"aud\":\"payments-gw\",\"iat\":%d,\"exp\":%d%s%s%s%s}",
		 JWT_NOW - 10, JWT_NOW + 300, sub ? ",\"sub\":\"" : "", sub ? sub : "", sub ? "\"" : "",
		 extra);
}

static struct treq *jwt_req(struct treq *t, const char *src, const char *method, const char *token)
{
	char head[3000];
	snprintf(head, sizeof(head), "%s /pay HTTP/1.1\nHost: pay.internal\nAuthorization: Bearer %s",
		 method, token);
	http_req(t, src, SERVER, 80, head);
	t->req.now_s = JWT_NOW;
	return t;
}

static void expect_jwt_reason(const struct pc_policy *p, struct pc_engine_scratch *s,
			      const char *token, enum pc_jwt_reason want, const char *name, int line)
{
	struct treq t;
	struct pc_verdict v;
	jwt_req(&t, CLIENT, "GET", token);
	pc_decide(p, s, &t.req, &v);
	bool ok = v.action == PC_ACTION_DENY && v.reason == PC_REASON_JWT_INVALID &&
		  v.detail == want && strcmp(pc_verdict_reason_name(&v), name) == 0 &&
		  v.cred_kind == PC_CRED_JWT && v.identity == -1 && v.rule == -1;
	if (!ok)
		fprintf(stderr, "\nline %d: got %s, want %s\n", line, pc_verdict_reason_name(&v), name);
	CU_ASSERT(ok);
}

#define EXPECT_JWT(p, s, tok, r, name) expect_jwt_reason((p), (s), (tok), (r), (name), __LINE__)

static void test_jwt_identity_cache_and_claims(void)
{
	struct pc_policy *p = jwt_policy(JWT_K);
	struct pc_engine_scratch *s = pc_engine_scratch_new(p);
	CU_ASSERT_FATAL(s != NULL);
	char claims[1024], tok[2048];
	struct treq t;

	std_claims(claims, sizeof(claims), "svc-pay-1",
		   ",\"scope\":\"payments:read payments:write\",\"env\":\"prod\"");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	jwt_req(&t, CLIENT, "POST", tok);
	CHECK(p, s, &t, ALLOW, PC_REASON_RULE, "pay-write", "pay", PC_CRED_JWT);
	struct pc_str iss = { 0 }, sub = { 0 };
	CU_ASSERT_FATAL(pc_engine_last_jwt(s, &iss, &sub));
	CU_ASSERT(pc_str_eq(iss, JWT_ISS, strlen(JWT_ISS)));
	CU_ASSERT(pc_str_eq(sub, "svc-pay-1", 9));

	/* the fingerprint is of the signature segment, never the token */
	struct pc_verdict v;
	pc_decide(p, s, &t.req, &v);
	uint8_t d[32];
	sha256_of(strrchr(tok, '.') + 1, d);
	CU_ASSERT_EQUAL(memcmp(v.cred_fp, d, PC_CRED_FP_LEN), 0);
	CU_ASSERT_EQUAL(v.action, PC_ACTION_ALLOW);
	struct pc_jwt_cache_stats st;
	pc_jwt_cache_stats(s->jwt_cache, &st);
	CU_ASSERT_EQUAL(st.inserts, 1);
	CU_ASSERT_EQUAL(st.hits, 1); /* the second decision: the same verdict, from the cache */
	CHECK(p, s, &t, ALLOW, PC_REASON_RULE, "pay-write", "pay", PC_CRED_JWT);
	pc_jwt_cache_stats(s->jwt_cache, &st);
	CU_ASSERT_EQUAL(st.hits, 2);
	CU_ASSERT_EQUAL(st.inserts, 1);

	/* claims not all held: the next rule decides */
	std_claims(claims, sizeof(claims), "svc-pay-1", ",\"scope\":\"payments:read\",\"env\":\"prod\"");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	CHECK(p, s, jwt_req(&t, CLIENT, "POST", tok), DENY, PC_REASON_DEFAULT, NULL, "pay", PC_CRED_JWT);
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", tok), ALLOW, PC_REASON_RULE, "pay-read", "pay",
	      PC_CRED_JWT);
	std_claims(claims, sizeof(claims), "svc-pay-1",
		   ",\"scope\":\"payments:write\",\"env\":[\"dev\",\"staging\"]");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	CHECK(p, s, jwt_req(&t, CLIENT, "POST", tok), ALLOW, PC_REASON_RULE, "pay-write", "pay",
	      PC_CRED_JWT);

	/* an anyone-rule with claims: JWT callers only */
	std_claims(claims, sizeof(claims), "svc-ab", ",\"roles\":[\"reader\",\"admin\"]");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", tok), ALLOW, PC_REASON_RULE, "admins", "two-chars",
	      PC_CRED_JWT);
	/* ... an API key caller never matches it: opaque-all, after it, decides */
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", OPAQUE_KEY), ALLOW, PC_REASON_RULE, "opaque-all",
	      "opaque", PC_CRED_API_KEY);
	CU_ASSERT_FALSE(pc_engine_last_jwt(s, NULL, NULL));

	/* source binding, as for API keys */
	std_claims(claims, sizeof(claims), "svc-pay-1", "");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	CHECK(p, s, jwt_req(&t, "198.18.2.10", "GET", tok), DENY, PC_REASON_UNBOUND_SOURCE, NULL,
	      "pay", PC_CRED_JWT);
	CHECK(p, s, jwt_req(&t, "198.18.1.99", "GET", tok), ALLOW, PC_REASON_RULE, "pay-read", "pay",
	      PC_CRED_JWT);

	pc_engine_scratch_free(s);
	pc_policy_free(p);
}

static void test_jwt_globs_and_claim_identities(void)
{
	struct pc_policy *p = jwt_policy(JWT_K);
	struct pc_engine_scratch *s = pc_engine_scratch_new(p);
	CU_ASSERT_FATAL(s != NULL);
	char claims[1024], tok[2048];
	struct treq t;

	static const struct {
		const char *sub, *extra, *identity;
	} cases[] = {
		{ "svc-pay-", "", "pay" },            /* '*' matches nothing too */
		{ "svc-pay-a/b.c", "", "pay" },
		{ "svc-ab", "", "two-chars" },
		{ "svc-a", "", NULL },                /* '?' is exactly one */
		{ "svc-abc", "", NULL },
		{ "SVC-PAY-1", "", NULL },            /* case-sensitive */
		{ "x", ",\"client_id\":\"cli-7\"", "by-client" },
		{ "x", ",\"client_id\":\"cli\\u002d9\"", "by-client" }, /* unescaped first */
		{ "x", ",\"client_id\":[\"other\",\"cli-9\"]", "by-client" },
		{ "x", ",\"client_id\":\"clx-7\"", NULL },
		{ NULL, ",\"azp\":\"portal\"", "exact-client" },
		{ NULL, ",\"azp\":\"portal2\"", NULL },
		{ "svc-pay-1", ",\"client_id\":\"cli-1\"", "pay" }, /* first in policy order */
	};
	for (size_t i = 0; i < PC_ARRAY_SIZE(cases); i++) {
		std_claims(claims, sizeof(claims), cases[i].sub, cases[i].extra);
		mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
		jwt_req(&t, CLIENT, "GET", tok);
		if (cases[i].identity == NULL)
			CHECK(p, s, &t, DENY, PC_REASON_JWT_UNKNOWN_SUBJECT, NULL, NULL, PC_CRED_JWT);
		else if (strcmp(cases[i].identity, "pay") == 0)
			CHECK(p, s, &t, ALLOW, PC_REASON_RULE, "pay-read", "pay", PC_CRED_JWT);
		else
			CHECK(p, s, &t, ALLOW, PC_REASON_RULE, "others", cases[i].identity, PC_CRED_JWT);
	}
	struct pc_verdict v;
	std_claims(claims, sizeof(claims), "nobody", "");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	pc_decide(p, s, &jwt_req(&t, CLIENT, "GET", tok)->req, &v);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "jwt_unknown_subject");

	/* an ES256 token (RFC 7515 A.3) of the second issuer, named by a
	 * boolean claim */
	jwt_req(&t, CLIENT, "GET", A3_TOKEN);
	t.req.now_s = 1300819000;
	CHECK(p, s, &t, ALLOW, PC_REASON_RULE, "others", "root", PC_CRED_JWT);
	t.req.now_s = 1300819380 + 31; /* past exp and the 30 s leeway */
	CHECK(p, s, &t, DENY, PC_REASON_JWT_INVALID, NULL, NULL, PC_CRED_JWT);

	pc_engine_scratch_free(s);
	pc_policy_free(p);
}

static void test_jwt_reasons(void)
{
	struct pc_policy *p = jwt_policy(JWT_K);
	struct pc_engine_scratch *s = pc_engine_scratch_new(p);
	CU_ASSERT_FATAL(s != NULL);
	char claims[1024], tok[2048];

	snprintf(claims, sizeof(claims), "{\"iss\":\"" JWT_ISS "\",\"aud\":\"payments-gw\",\"sub\":\"svc-pay-1\",\"iat\":%d,\"exp\":%d}",
		 JWT_NOW - 400, JWT_NOW - 100);
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_EXPIRED, "jwt_expired");

	snprintf(claims, sizeof(claims), "{\"iss\":\"" JWT_ISS "\",\"aud\":\"payments-gw\",\"sub\":\"svc-pay-1\",\"nbf\":%d,\"exp\":%d}",
		 JWT_NOW + 120, JWT_NOW + 300);
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_NOT_YET_VALID, "jwt_not_yet_valid");

	snprintf(claims, sizeof(claims), "{\"iss\":\"" JWT_ISS "\",\"aud\":\"elsewhere\",\"sub\":\"svc-pay-1\",\"exp\":%d}",
		 JWT_NOW + 300);
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_BAD_AUDIENCE, "jwt_bad_audience");

	snprintf(claims, sizeof(claims), "{\"iss\":\"https://evil\",\"aud\":\"payments-gw\",\"exp\":%d}",
		 JWT_NOW + 300);
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_BAD_ISSUER, "jwt_bad_issuer");

	snprintf(claims, sizeof(claims), "{\"iss\":\"" JWT_ISS "\",\"aud\":\"payments-gw\",\"iat\":%d,\"exp\":%d}",
		 JWT_NOW, JWT_NOW + 7200);
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_LIFETIME_TOO_LONG, "jwt_lifetime_too_long");

	snprintf(claims, sizeof(claims), "{\"iss\":\"" JWT_ISS "\",\"aud\":\"payments-gw\",\"sub\":\"svc-pay-1\"}");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_MISSING_EXP, "jwt_missing_exp");

	std_claims(claims, sizeof(claims), "svc-pay-1", "");
	mint(tok, sizeof(tok), HS_HDR, claims, "another secret of thirty-two bytes");
	EXPECT_JWT(p, s, tok, PC_JWT_BAD_SIGNATURE, "jwt_bad_signature");

	mint(tok, sizeof(tok), "{\"alg\":\"none\"}", claims, "");
	EXPECT_JWT(p, s, tok, PC_JWT_ALG_NOT_ALLOWED, "jwt_alg_not_allowed");
	mint(tok, sizeof(tok), "{\"alg\":\"RS256\",\"kid\":\"k1\"}", claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_ALG_NOT_ALLOWED, "jwt_alg_not_allowed");

	mint(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"k9\"}", claims, JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_UNKNOWN_KID, "jwt_unknown_kid");

	mint(tok, sizeof(tok), "{\"alg\":\"HS256\",\"kid\":\"k1\",\"crit\":[\"exp\"]}", claims,
	     JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_CRIT_UNSUPPORTED, "jwt_crit_unsupported");

	mint(tok, sizeof(tok), HS_HDR, "{\"iss\":", JWT_SECRET);
	EXPECT_JWT(p, s, tok, PC_JWT_MALFORMED, "jwt_malformed");
	EXPECT_JWT(p, s, "e30.e30.", PC_JWT_BAD_ISSUER, "jwt_bad_issuer"); /* no "iss" at all */

	/* the same token accepted, then a failure is never cached */
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	struct treq t;
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", tok), ALLOW, PC_REASON_RULE, "pay-read", "pay",
	      PC_CRED_JWT);
	struct pc_jwt_cache_stats st;
	pc_jwt_cache_stats(s->jwt_cache, &st);
	CU_ASSERT_EQUAL(st.inserts, 1);

	/* Bearer values that are not JWS-shaped go to the API-key path */
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", OPAQUE_KEY), ALLOW, PC_REASON_RULE, "opaque-all",
	      "opaque", PC_CRED_API_KEY);
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", "a.b"), DENY, PC_REASON_API_KEY_UNKNOWN, NULL, NULL,
	      PC_CRED_API_KEY);
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", "a.b.c.d"), DENY, PC_REASON_API_KEY_UNKNOWN, NULL,
	      NULL, PC_CRED_API_KEY);
	CHECK(p, s, jwt_req(&t, CLIENT, "GET", "a+b.c.d"), DENY, PC_REASON_API_KEY_UNKNOWN, NULL,
	      NULL, PC_CRED_API_KEY);
	/* L4: claims rules never match, the token plays no part */
	struct treq l4;
	l4_req(&l4, CLIENT, SERVER, 80, PC_PROTO_TCP);
	CHECK(p, s, &l4, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);

	pc_engine_scratch_free(s);
	pc_policy_free(p);
}

/* A new key set must stop tokens verified under the old one at once. */
static void test_jwt_cache_flushed_on_fit(void)
{
	struct pc_policy *p1 = jwt_policy(JWT_K);
	struct pc_policy *p2 = jwt_policy(JWT_K2);
	struct pc_engine_scratch *s = pc_engine_scratch_new(p1);
	CU_ASSERT_FATAL(s != NULL);
	char claims[1024], tok[2048];
	struct treq t;

	std_claims(claims, sizeof(claims), "svc-pay-1", "");
	mint(tok, sizeof(tok), HS_HDR, claims, JWT_SECRET);
	jwt_req(&t, CLIENT, "GET", tok);
	CHECK(p1, s, &t, ALLOW, PC_REASON_RULE, "pay-read", "pay", PC_CRED_JWT);
	CHECK(p1, s, &t, ALLOW, PC_REASON_RULE, "pay-read", "pay", PC_CRED_JWT); /* a hit */

	CU_ASSERT_EQUAL(pc_engine_scratch_fit(s, p2), 0);
	CHECK(p2, s, &t, DENY, PC_REASON_JWT_INVALID, NULL, NULL, PC_CRED_JWT);
	struct pc_jwt_cache_stats st;
	pc_jwt_cache_stats(s->jwt_cache, &st);
	CU_ASSERT_EQUAL(st.hits, 1);

	/* and back: verified again, not served from a stale entry */
	CU_ASSERT_EQUAL(pc_engine_scratch_fit(s, p1), 0);
	CHECK(p1, s, &t, ALLOW, PC_REASON_RULE, "pay-read", "pay", PC_CRED_JWT);
	pc_jwt_cache_stats(s->jwt_cache, &st);
	CU_ASSERT_EQUAL(st.hits, 1);
	CU_ASSERT_EQUAL(st.inserts, 2);

	/* handed a policy without a fit, the scratch still refuses to trust
	 * entries verified under another one */
	CHECK(p1, s, &t, ALLOW, PC_REASON_RULE, "pay-read", "pay", PC_CRED_JWT);
	CHECK(p2, s, &t, DENY, PC_REASON_JWT_INVALID, NULL, NULL, PC_CRED_JWT);

	/* a scratch fitted to a policy without issuers cannot decide tokens:
	 * it fails closed */
	struct tb *b = sample();
	struct pc_policy *plain = tb_build(b);
	struct pc_engine_scratch *s2 = pc_engine_scratch_new(plain);
	CU_ASSERT_FATAL(s2 != NULL);
	CHECK(p1, s2, &t, DENY, PC_REASON_ENGINE_ERROR, NULL, NULL, PC_CRED_JWT);
	pc_engine_scratch_free(s2);
	pc_policy_free(plain);
	tb_free(b);

	pc_engine_scratch_free(s);
	pc_policy_free(p1);
	pc_policy_free(p2);
}

/* ---- TLS decisions ---- */

/* A minimal ClientHello as one record (RFC 8446 §4.1.2): one cipher suite,
 * then server_name when sni is given, ALPN when alpn is (a NULL-ended
 * list), supported_versions {1.3} when tls13. */
static size_t make_hello(uint8_t *out, const char *sni, const char *const *alpn, bool tls13)
{
	uint8_t ext[512], body[1024];
	size_t e = 0, b = 0;
#define PUT16(buf, at, v) do { (buf)[(at)++] = (uint8_t)((v) >> 8); (buf)[(at)++] = (uint8_t)(v); } while (0)
	if (sni != NULL) {
		size_t n = strlen(sni);
		PUT16(ext, e, 0);
		PUT16(ext, e, n + 5);
		PUT16(ext, e, n + 3);
		ext[e++] = 0; /* host_name */
		PUT16(ext, e, n);
		memcpy(ext + e, sni, n);
		e += n;
	}
	if (alpn != NULL) {
		size_t list = 0;
		for (const char *const *a = alpn; *a; a++)
			list += 1 + strlen(*a);
		PUT16(ext, e, 16);
		PUT16(ext, e, list + 2);
		PUT16(ext, e, list);
		for (const char *const *a = alpn; *a; a++) {
			ext[e++] = (uint8_t)strlen(*a);
			memcpy(ext + e, *a, strlen(*a));
			e += strlen(*a);
		}
	}
	if (tls13) {
		PUT16(ext, e, 43);
		PUT16(ext, e, 3);
		ext[e++] = 2;
		PUT16(ext, e, 0x0304);
	}
	PUT16(body, b, 0x0303);
	memset(body + b, 0x5a, 32);
	b += 32;
	body[b++] = 0;                       /* session id */
	PUT16(body, b, 2);
	PUT16(body, b, tls13 ? 0x1301 : 0xc02f);
	body[b++] = 1;                       /* compression: null */
	body[b++] = 0;
	PUT16(body, b, e);
	memcpy(body + b, ext, e);
	b += e;
	size_t o = 0;
	out[o++] = 22;
	PUT16(out, o, 0x0301);
	PUT16(out, o, b + 4);
	out[o++] = 1;                        /* client_hello */
	out[o++] = 0;
	PUT16(out, o, b);
	memcpy(out + o, body, b);
#undef PUT16
	return o + b;
}

struct thello {
	uint8_t wire[1024];
	struct pc_tls_hello h;
};

/* A TLS decision on a hello made by make_hello(). */
static struct treq *tls_req(struct treq *t, struct thello *th, const char *src, const char *dst,
			    uint16_t dport, const char *sni, const char *const *alpn, bool tls13)
{
	l4_req(t, src, dst, dport, PC_PROTO_TCP);
	size_t n = make_hello(th->wire, sni, alpn, tls13);
	enum pc_tls_reason r = pc_tls_hello_parse(th->wire, n, &th->h);
	if (r != PC_TLS_OK)
		fprintf(stderr, "tls parse: %s\n", pc_tls_reason_name(r));
	CU_ASSERT_FATAL(r == PC_TLS_OK);
	t->req.tls = &th->h;
	return t;
}

#define TLS_SERVER "198.18.2.1"

static void test_tls_sni_and_identity(void)
{
	struct tb *b = tb_new(DENY);
	tb_identity(b, "agents", L("198.18.1.0/24"), NONE, NULL);
	tb_identity(b, "keyed", NONE, L(KEY_TA), NULL);
	tb_dest(b, "exact", PC_DEST_TLS, L("api.example"), L("198.18.2.0/24"), (uint16_t[]){ 443 }, 1);
	tb_dest(b, "wild", PC_DEST_TLS, L("*.wild.example"), NONE, NULL, 0);
	tb_dest(b, "web", PC_DEST_HTTP, L("api.example"), NONE, (uint16_t[]){ 443 }, 1);
	tb_dest(b, "tcp443", PC_DEST_TCP, NONE, NONE, (uint16_t[]){ 443 }, 1);
	tb_dest(b, "bare", PC_DEST_TLS, NONE, NONE, (uint16_t[]){ 8443 }, 1);
	/* rules an HTTP or L4 decision would take, placed first */
	tb_rule(b, "r-get", ALLOW, NONE, NONE, PC_HTTP_GET, NONE);
	tb_rule(b, "r-keyed", ALLOW, L("keyed"), NONE, 0, NONE);
	tb_rule(b, "r-tcp", ALLOW, NONE, L("tcp443"), 0, NONE);
	tb_rule(b, "r-exact", ALLOW, L("agents"), L("exact"), 0, NONE);
	tb_rule(b, "r-wild", ALLOW, L("agents"), L("wild"), 0, NONE);
	tb_rule(b, "r-bare", DENY, NONE, L("bare"), 0, NONE);
	struct env *e = env_new(b);
	struct thello *th = calloc(1, sizeof(*th));
	CU_ASSERT_FATAL(th != NULL);

	/* exact SNI, by source identity; the HTTP, keyed and TCP rules before it
	 * are skipped */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "api.example", NONE, true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-exact", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "API.Example", NONE, false);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-exact", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "x.api.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	/* the destination's address and port still apply */
	tls_req(&e->t, th, CLIENT, "198.18.3.1", 443, "api.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 4443, "api.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	/* wildcard: one or more labels before the suffix, never the bare domain */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "a.wild.example", NONE, true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-wild", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "a.b.wild.example", NONE, true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-wild", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "wild.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "xwild.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	/* no SNI: a destination with hosts cannot match, and the allow rule it
	 * stopped is named */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, NULL, NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_SNI_MISSING, NULL, "agents", PC_CRED_SOURCE);
	/* ... while one without hosts does */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 8443, NULL, NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "r-bare", "agents", PC_CRED_SOURCE);
	/* an unknown source: the identity rules are not candidates */
	tls_req(&e->t, th, "198.18.9.9", TLS_SERVER, 443, "api.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	/* no addresses known (explain without --src, --dst): ports are not
	 * checked either, so the anyone-rule on port 8443 applies */
	tls_req(&e->t, th, NULL, NULL, 443, "api.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "r-bare", NULL, PC_CRED_NONE);

	/* the same rules still decide HTTP and L4 */
	http_req(&e->t, CLIENT, TLS_SERVER, 443, "GET / HTTP/1.1\nHost: api.example");
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-get", "agents", PC_CRED_SOURCE);
	http_req(&e->t, CLIENT, TLS_SERVER, 443, "POST / HTTP/1.1\nHost: api.example\nX-API-Key: " KEY_TA);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-keyed", "keyed", PC_CRED_API_KEY);
	l4_req(&e->t, CLIENT, TLS_SERVER, 443, PC_PROTO_TCP);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r-tcp", "agents", PC_CRED_SOURCE);
	/* an HTTP request never matches a tls destination, whatever its Host */
	http_req(&e->t, CLIENT, TLS_SERVER, 443, "POST / HTTP/1.1\nHost: a.wild.example");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);

	/* what the dataplane inspects */
	struct pc_addr a;
	addr_of(TLS_SERVER, &a);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(e->p, &a, 443), PC_INSPECT_HTTP_OR_TLS);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(e->p, &a, 8443), PC_INSPECT_TLS);
	CU_ASSERT_EQUAL(pc_policy_inspect_kind(e->p, &a, 22), PC_INSPECT_TLS); /* "wild": any port */
	free(th);
	env_free(e);
}

static void tls_rule(struct tb *b, const char *id, uint8_t action, const char *const *ids,
		     const char *const *dests, uint16_t min_version, const char *const *ja4,
		     const char *const *alpn)
{
	struct pc_src_rule *r = tb_rule(b, id, action, ids, dests, 0, NONE);
	r->has_tls = true;
	r->tls_min_version = min_version;
	r->ja4 = tb_strs(b, ja4, &r->n_ja4);
	r->alpn = tb_strs(b, alpn, &r->n_alpn);
}

static void test_tls_posture(void)
{
	struct thello *th = calloc(1, sizeof(*th));
	CU_ASSERT_FATAL(th != NULL);
	/* the JA4 of the client the policy pins: SNI, ALPN h2, TLS 1.3 */
	char pinned[PC_TLS_JA4_LEN + 1], other[PC_TLS_JA4_LEN + 1];
	size_t n = make_hello(th->wire, "j.example", L("h2"), true);
	CU_ASSERT_FATAL(pc_tls_hello_parse(th->wire, n, &th->h) == PC_TLS_OK);
	pc_tls_hello_ja4(&th->h, pinned);
	n = make_hello(th->wire, "j.example", L("http/1.1"), true);
	CU_ASSERT_FATAL(pc_tls_hello_parse(th->wire, n, &th->h) == PC_TLS_OK);
	pc_tls_hello_ja4(&th->h, other);
	CU_ASSERT_FATAL(strcmp(pinned, other) != 0);

	struct tb *b = tb_new(DENY);
	tb_identity(b, "agents", L("198.18.1.0/24"), NONE, NULL);
	tb_dest(b, "v", PC_DEST_TLS, L("v.example"), NONE, NULL, 0);
	tb_dest(b, "j", PC_DEST_TLS, L("j.example"), NONE, NULL, 0);
	tb_dest(b, "a", PC_DEST_TLS, L("a.example"), NONE, NULL, 0);
	tb_dest(b, "all", PC_DEST_TLS, L("all.example"), NONE, NULL, 0);
	tb_dest(b, "d", PC_DEST_TLS, L("d.example"), NONE, NULL, 0);
	tb_dest(b, "u", PC_DEST_TLS, L("u.example"), NONE, NULL, 0);
	tls_rule(b, "rv", ALLOW, L("agents"), L("v"), PC_TLS_VERSION_1_3, NONE, NONE);
	tls_rule(b, "rj", ALLOW, L("agents"), L("j"), 0, L("t13d1516h2_8daaf6152771_e5627efa2ab1", pinned), NONE);
	tls_rule(b, "ra", ALLOW, L("agents"), L("a"), 0, NONE, L("h2", "acme-tls/1"));
	tls_rule(b, "rall", ALLOW, L("agents"), L("all"), PC_TLS_VERSION_1_3, L(pinned), L("h2"));
	tls_rule(b, "rdeny", DENY, L("agents"), L("d"), PC_TLS_VERSION_1_3, NONE, NONE);
	tls_rule(b, "ru", ALLOW, NONE, L("u"), 0, NONE, L("h2"));
	tls_rule(b, "r12", ALLOW, NONE, NONE, PC_TLS_VERSION_1_2, NONE, NONE);
	struct env *e = env_new(b);

	/* min_version: the highest version offered counts */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "v.example", NONE, true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "rv", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "v.example", NONE, false);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r12", "agents", PC_CRED_SOURCE);
	/* JA4 allowlist, exact */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "j.example", L("h2"), true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "rj", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "j.example", L("http/1.1"), true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r12", "agents", PC_CRED_SOURCE);
	/* ALPN: one offered protocol must be listed */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "a.example", L("spdy/3", "acme-tls/1"), false);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "ra", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "a.example", L("h2c"), true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "r12", "agents", PC_CRED_SOURCE);
	env_free(e);

	/* the same without the catch-all, so the posture reasons show */
	b = tb_new(DENY);
	tb_identity(b, "agents", L("198.18.1.0/24"), NONE, NULL);
	tb_dest(b, "v", PC_DEST_TLS, L("v.example"), NONE, NULL, 0);
	tb_dest(b, "j", PC_DEST_TLS, L("j.example"), NONE, NULL, 0);
	tb_dest(b, "a", PC_DEST_TLS, L("a.example"), NONE, NULL, 0);
	tb_dest(b, "all", PC_DEST_TLS, L("all.example"), NONE, NULL, 0);
	tb_dest(b, "d", PC_DEST_TLS, L("d.example"), NONE, NULL, 0);
	tb_dest(b, "u", PC_DEST_TLS, L("u.example"), NONE, NULL, 0);
	tls_rule(b, "rv", ALLOW, L("agents"), L("v"), PC_TLS_VERSION_1_3, NONE, NONE);
	tls_rule(b, "rj", ALLOW, L("agents"), L("j"), 0, L("t13d1516h2_8daaf6152771_e5627efa2ab1", pinned), NONE);
	tls_rule(b, "ra", ALLOW, L("agents"), L("a"), 0, NONE, L("h2", "acme-tls/1"));
	tls_rule(b, "rall", ALLOW, L("agents"), L("all"), PC_TLS_VERSION_1_3, L(pinned), L("h2"));
	tls_rule(b, "rdeny", DENY, L("agents"), L("d"), PC_TLS_VERSION_1_3, NONE, NONE);
	tls_rule(b, "ru", ALLOW, NONE, L("u"), 0, NONE, L("h2"));
	e = env_new(b);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "v.example", NONE, false);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_VERSION_TOO_LOW, NULL, "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "j.example", L("http/1.1"), true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_FINGERPRINT_NOT_ALLOWED, NULL, "agents",
	      PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "a.example", L("h2c"), true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_ALPN_NOT_ALLOWED, NULL, "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "a.example", NONE, true); /* no ALPN at all */
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_ALPN_NOT_ALLOWED, NULL, "agents", PC_CRED_SOURCE);
	/* every condition must hold; the first failing one is named: version,
	 * then JA4, then ALPN */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "all.example", L("h2"), true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "rall", "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "all.example", L("http/1.1"), false);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_VERSION_TOO_LOW, NULL, "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "all.example", L("http/1.1"), true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_FINGERPRINT_NOT_ALLOWED, NULL, "agents",
	      PC_CRED_SOURCE);
	/* a deny rule missed on posture explains nothing */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "d.example", NONE, false);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "d.example", NONE, true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "rdeny", "agents", PC_CRED_SOURCE);
	/* an anyone-rule's posture reason replaces unknown_caller */
	tls_req(&e->t, th, "198.18.9.9", TLS_SERVER, 443, "u.example", L("http/1.1"), true);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_TLS_ALPN_NOT_ALLOWED, NULL, NULL, PC_CRED_NONE);
	tls_req(&e->t, th, "198.18.9.9", TLS_SERVER, 443, "u.example", L("h2"), true);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_RULE, "ru", NULL, PC_CRED_NONE);
	/* an SNI that names another server is a plain miss */
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "w.example", NONE, false);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	/* rules with TLS posture never match HTTP or L4 decisions */
	http_req(&e->t, "198.18.9.9", TLS_SERVER, 443, "GET / HTTP/1.1\nHost: u.example");
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_UNKNOWN_CALLER, NULL, NULL, PC_CRED_NONE);
	env_free(e);

	/* with a default allow, a posture miss is just the default */
	b = tb_new(ALLOW);
	tb_identity(b, "agents", L("198.18.1.0/24"), NONE, NULL);
	tb_dest(b, "v", PC_DEST_TLS, L("v.example"), NONE, NULL, 0);
	tls_rule(b, "rv", ALLOW, L("agents"), L("v"), PC_TLS_VERSION_1_3, NONE, NONE);
	tls_rule(b, "any-old", DENY, NONE, NONE, PC_TLS_VERSION_1_2, NONE, L("http/1.0"));
	e = env_new(b);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "v.example", NONE, false);
	CHECK(e->p, e->s, &e->t, ALLOW, PC_REASON_DEFAULT, NULL, "agents", PC_CRED_SOURCE);
	tls_req(&e->t, th, CLIENT, TLS_SERVER, 443, "v.example", L("http/1.0"), false);
	CHECK(e->p, e->s, &e->t, DENY, PC_REASON_RULE, "any-old", "agents", PC_CRED_SOURCE);
	env_free(e);
	free(th);
}

static void test_tls_malformed(void)
{
	struct pc_verdict v;
	memset(&v, 0xff, sizeof(v));
	pc_verdict_tls_malformed(&v, PC_TLS_TRUNCATED);
	CU_ASSERT_EQUAL(v.action, PC_ACTION_DENY);
	CU_ASSERT_EQUAL(v.reason, PC_REASON_TLS_MALFORMED);
	CU_ASSERT_EQUAL(v.detail, PC_TLS_TRUNCATED);
	CU_ASSERT_EQUAL(v.rule, -1);
	CU_ASSERT_EQUAL(v.identity, -1);
	CU_ASSERT_EQUAL(v.cred_kind, PC_CRED_NONE);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "tls_hello_truncated");
	pc_verdict_tls_malformed(&v, PC_TLS_INCOMPLETE);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "tls_hello_incomplete");
	pc_verdict_tls_malformed(&v, 250);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "tls_unknown_reason");
	v.reason = PC_REASON_TLS_VERSION_TOO_LOW;
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "tls_version_too_low");
	v.reason = PC_REASON_TLS_SNI_MISSING;
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "tls_sni_missing");
	v.reason = PC_REASON_TLS_FINGERPRINT_NOT_ALLOWED;
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "tls_fingerprint_not_allowed");
	v.reason = PC_REASON_TLS_ALPN_NOT_ALLOWED;
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&v), "tls_alpn_not_allowed");
}

/* Shadow mode: a shadow rule's deny passes marked shadow with its rule and
 * reason, a shadow allow rule is a plain allow, an enforced rule after it
 * still denies; a shadow policy lets every policy deny pass (rule, default,
 * unknown caller, unknown key) but never an ambiguous path. */
static void shadow_check(const struct pc_policy *p, struct pc_engine_scratch *s,
			 const struct treq *t, uint8_t action, unsigned shadow, uint8_t reason,
			 const char *rule, int line)
{
	struct pc_verdict v;
	enum pc_action a = pc_decide(p, s, &t->req, &v);
	bool ok = a == action && v.action == action && v.shadow == shadow && v.reason == reason &&
		  (rule ? v.rule >= 0 && strcmp(pc_policy_rule_id(p, (uint32_t)v.rule), rule) == 0
			: v.rule == -1);
	if (!ok)
		fprintf(stderr, "\nline %d: got %s shadow %u %s rule %s\n", line,
			pc_action_name((enum pc_action)v.action), v.shadow,
			pc_verdict_reason_name(&v),
			v.rule >= 0 ? pc_policy_rule_id(p, (uint32_t)v.rule) : "-");
	CU_ASSERT(ok);
}
#define SHADOW_CHECK(p, s, t, a, sh, r, rule) shadow_check((p), (s), (t), (a), (sh), (r), (rule), __LINE__)

static void test_shadow(void)
{
	CU_ASSERT_EQUAL(sizeof(struct pc_verdict), 20);

	struct tb *b = tb_new(DENY);
	tb_identity(b, "a", NONE, L("key-a"), NULL);
	tb_rule(b, "try-deny-x", DENY, NONE, NONE, 0, L("^/x"))->mode = PC_MODE_SHADOW;
	tb_rule(b, "try-allow-y", ALLOW, NONE, NONE, 0, L("^/y"))->mode = PC_MODE_SHADOW;
	tb_rule(b, "deny-x", DENY, NONE, NONE, 0, L("^/x/hard"));
	tb_rule(b, "deny-z", DENY, NONE, NONE, 0, L("^/z"));
	struct env *e = env_new(b);
	http_req(&e->t, NULL, NULL, 0, "GET /x/hard HTTP/1.1\nHost: h");
	SHADOW_CHECK(e->p, e->s, &e->t, ALLOW, 1, PC_REASON_RULE, "try-deny-x");
	http_req(&e->t, NULL, NULL, 0, "GET /y HTTP/1.1\nHost: h");
	SHADOW_CHECK(e->p, e->s, &e->t, ALLOW, 0, PC_REASON_RULE, "try-allow-y");
	http_req(&e->t, NULL, NULL, 0, "GET /z HTTP/1.1\nHost: h");
	SHADOW_CHECK(e->p, e->s, &e->t, DENY, 0, PC_REASON_RULE, "deny-z");
	/* the default deny of an enforcing policy stays */
	http_req(&e->t, NULL, NULL, 0, "GET /w HTTP/1.1\nHost: h\nx-api-key: key-a");
	SHADOW_CHECK(e->p, e->s, &e->t, DENY, 0, PC_REASON_DEFAULT, NULL);
	http_req(&e->t, NULL, NULL, 0, "GET /w HTTP/1.1\nHost: h\nx-api-key: nope");
	SHADOW_CHECK(e->p, e->s, &e->t, DENY, 0, PC_REASON_API_KEY_UNKNOWN, NULL);
	env_free(e);

	b = tb_new(DENY);
	b->src.mode = PC_MODE_SHADOW;
	tb_identity(b, "a", NONE, L("key-a"), NULL);
	tb_rule(b, "deny-z", DENY, NONE, NONE, 0, L("^/z"));
	tb_rule(b, "allow-a", ALLOW, L("a"), NONE, 0, L("^/ok"));
	e = env_new(b);
	http_req(&e->t, NULL, NULL, 0, "GET /z HTTP/1.1\nHost: h");
	SHADOW_CHECK(e->p, e->s, &e->t, ALLOW, 1, PC_REASON_RULE, "deny-z");
	http_req(&e->t, NULL, NULL, 0, "GET /w HTTP/1.1\nHost: h\nx-api-key: key-a");
	SHADOW_CHECK(e->p, e->s, &e->t, ALLOW, 1, PC_REASON_DEFAULT, NULL);
	http_req(&e->t, NULL, NULL, 0, "GET /w HTTP/1.1\nHost: h");
	SHADOW_CHECK(e->p, e->s, &e->t, ALLOW, 1, PC_REASON_UNKNOWN_CALLER, NULL);
	http_req(&e->t, NULL, NULL, 0, "GET /w HTTP/1.1\nHost: h\nx-api-key: nope");
	SHADOW_CHECK(e->p, e->s, &e->t, ALLOW, 1, PC_REASON_API_KEY_UNKNOWN, NULL);
	http_req(&e->t, NULL, NULL, 0, "GET /ok HTTP/1.1\nHost: h\nx-api-key: key-a");
	SHADOW_CHECK(e->p, e->s, &e->t, ALLOW, 0, PC_REASON_RULE, "allow-a");
	/* an ambiguous path is denied whatever the mode: no smuggling */
	http_req(&e->t, NULL, NULL, 0, "GET /z%2fy HTTP/1.1\nHost: h");
	SHADOW_CHECK(e->p, e->s, &e->t, DENY, 0, PC_REASON_PATH_REJECTED, NULL);
	env_free(e);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_api_key_allow_and_fingerprint),
	PC_TEST(test_shadow),
	PC_TEST(test_first_match_order),
	PC_TEST(test_omitted_fields_and_default_allow),
	PC_TEST(test_hosts),
	PC_TEST(test_addresses_ports_and_unknown_dst),
	PC_TEST(test_header_conditions),
	PC_TEST(test_unknown_caller_and_unknown_key),
	PC_TEST(test_bearer),
	PC_TEST(test_unbound_source),
	PC_TEST(test_source_only_longest_prefix),
	PC_TEST(test_l4),
	PC_TEST(test_http_request_on_tcp_destination),
	PC_TEST(test_paths_and_allowempty),
	PC_TEST(test_malformed_no_policy_engine_error),
	PC_TEST(test_epoch),
	PC_TEST(test_large_policy),
	PC_TEST(test_jwt_identity_cache_and_claims),
	PC_TEST(test_jwt_globs_and_claim_identities),
	PC_TEST(test_jwt_reasons),
	PC_TEST(test_jwt_cache_flushed_on_fit),
	PC_TEST(test_tls_sni_and_identity),
	PC_TEST(test_tls_posture),
	PC_TEST(test_tls_malformed),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("decide", tests)
