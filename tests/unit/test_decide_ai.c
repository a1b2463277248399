/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The engine on rules that read the request body: models of OpenAI-style
 * requests (globs, each endpoint, nothing elsewhere), MCP tools/call tool
 * names (a batch refused), malformed, truncated, oversized and absent
 * bodies, duplicate names, the reason refined to model_not_allowed /
 * mcp_tool_not_allowed on a default deny, shadow mode, the per-rule and
 * default deny responses, the verdict's dlp bit on an external
 * destination, and the policy's path normalisation switches.
 *
 * Policies are JSON, through the loader, the compiler and the image loader,
 * as in production.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/decide.h"
#include "pc_test.h"
#include "policy/policy.h"
#include "util/addr.h"

static const char ai_policy[] =
	"{\"version\": 1, \"default_action\": \"deny\", \"deny_response\": \"429\",\n"
	" \"body_window_bytes\": 256,\n"
	" \"dlp\": {\"action\": \"log\"},\n"
	" \"identities\": [{\"name\": \"agent\", \"sources\": [\"198.18.1.0/24\"]}],\n"
	" \"destinations\": [\n"
	"  {\"name\": \"llm\", \"hosts\": [\"llm.internal\"], \"ports\": [8080], \"external\": true},\n"
	"  {\"name\": \"mcp\", \"ports\": [8081]},\n"
	"  {\"name\": \"web\", \"ports\": [80]},\n"
	"  {\"name\": \"ssh\", \"ports\": [22], \"protocol\": \"tcp\"}],\n"
	" \"rules\": [\n"
	"  {\"id\": \"no-big\", \"identities\": [\"agent\"], \"destinations\": [\"llm\"],\n"
	"   \"models\": [\"big-*\"], \"action\": \"deny\", \"deny_response\": \"403\"},\n"
	"  {\"id\": \"models\", \"identities\": [\"agent\"], \"destinations\": [\"llm\"],\n"
	"   \"models\": [\"small-*\", \"gpt-4o-mini\"], \"action\": \"allow\"},\n"
	"  {\"id\": \"tools\", \"identities\": [\"agent\"], \"destinations\": [\"mcp\"],\n"
	"   \"mcp_tools\": [\"search_tickets\", \"kb_*\"], \"action\": \"allow\",\n"
	"   \"deny_response\": \"reset\"},\n"
	"  {\"id\": \"web\", \"destinations\": [\"web\"], \"paths\": [\"^/a(/.*)?$\"],\n"
	"   \"action\": \"allow\"},\n"
	"  {\"id\": \"ssh\", \"destinations\": [\"ssh\"], \"action\": \"allow\"}]}\n";

struct env {
	struct pc_policy *p;
	struct pc_engine_scratch *s;
	struct pc_http_req http;
	char head[1024];
	struct pc_request req;
	struct pc_verdict v;
};

static struct pc_policy *build(const char *json)
{
	char err[512] = "";
	struct pc_policy_src *src = pc_policy_load_string(json, strlen(json), "ai.json", err,
							  sizeof(err));
	if (src == NULL)
		fprintf(stderr, "load: %s\n", err);
	CU_ASSERT_FATAL(src != NULL);
	void *img = NULL;
	size_t len = 0;
	int rc = pc_policy_compile(src, &img, &len, err, sizeof(err));
	pc_policy_src_free(src);
	if (rc)
		fprintf(stderr, "compile: %s\n", err);
	CU_ASSERT_FATAL(rc == 0);
	struct pc_policy *p = pc_policy_from_image(img, len, err, sizeof(err));
	free(img);
	if (p == NULL)
		fprintf(stderr, "image: %s\n", err);
	CU_ASSERT_FATAL(p != NULL);
	return p;
}

static struct env *env_new(const char *json)
{
	struct env *e = calloc(1, sizeof(*e));
	CU_ASSERT_FATAL(e != NULL);
	e->p = build(json);
	e->s = pc_engine_scratch_new(e->p);
	CU_ASSERT_FATAL(e->s != NULL);
	return e;
}

static void env_free(struct env *e)
{
	pc_engine_scratch_free(e->s);
	pc_policy_free(e->p);
	free(e);
}

/* Decide "METHOD path" to host:port from 198.18.1.10 with the body given
 * (NULL: body_state ABSENT). */
static enum pc_action ask(struct env *e, const char *method, const char *path, uint16_t port,
			  const char *body, uint8_t state)
{
	snprintf(e->head, sizeof(e->head), "%s %s HTTP/1.1\r\nHost: llm.internal\r\n\r\n", method,
		 path);
	CU_ASSERT_FATAL(pc_http_parse_head(e->head, strlen(e->head), &e->http) == PC_HTTP_OK);
	memset(&e->req, 0, sizeof(e->req));
	e->req.l4_proto = 6;
	e->req.dport = port;
	e->req.http = &e->http;
	CU_ASSERT_FATAL(pc_addr_parse("198.18.1.10", &e->req.src) == 0);
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.2", &e->req.dst) == 0);
	if (body != NULL) {
		e->req.body = (const uint8_t *)body;
		e->req.body_len = (uint32_t)strlen(body);
		e->req.body_state = state;
	}
	return pc_decide(e->p, e->s, &e->req, &e->v);
}

static void check(struct env *e, enum pc_action action, unsigned reason, const char *rule,
		  int line)
{
	const char *got_rule = e->v.rule >= 0 ? pc_policy_rule_id(e->p, (uint32_t)e->v.rule) : NULL;
	bool ok = e->v.action == action && e->v.reason == reason &&
		  ((rule == NULL && got_rule == NULL) ||
		   (rule != NULL && got_rule != NULL && strcmp(rule, got_rule) == 0));
	if (!ok)
		fprintf(stderr, "\nline %d: got %s %s rule %s, want %s %s rule %s\n", line,
			pc_action_name(e->v.action), pc_verdict_reason_name(&e->v),
			got_rule ? got_rule : "-", pc_action_name(action),
			pc_verdict_reason_name(&(struct pc_verdict){ .reason = (uint8_t)reason }),
			rule ? rule : "-");
	CU_ASSERT(ok);
}

#define ASK(e, m, path, port, body, action, reason, rule)                   \
	do {                                                                \
		ask((e), (m), (path), (port), (body), PC_BODY_WHOLE);       \
		check((e), PC_ACTION_##action, PC_REASON_##reason, (rule), __LINE__); \
	} while (0)

static bool last_model_is(struct env *e, const char *want)
{
	struct pc_str m, t;
	pc_engine_last_ai(e->s, &m, &t);
	return pc_str_eq(m, want, strlen(want)) && t.len == 0;
}

static bool last_tool_is(struct env *e, const char *want)
{
	struct pc_str m, t;
	pc_engine_last_ai(e->s, &m, &t);
	return pc_str_eq(t, want, strlen(want));
}

static void test_models(void)
{
	struct env *e = env_new(ai_policy);
	ASK(e, "POST", "/v1/chat/completions", 8080,
	    "{\"messages\": [{\"role\": \"user\", \"model\": \"x\"}], \"model\": \"small-1\"}",
	    ALLOW, RULE, "models");
	CU_ASSERT(last_model_is(e, "small-1"));
	CU_ASSERT_EQUAL(e->v.dlp, 1); /* external, and the policy has DLP */
	/* exact name and glob */
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"gpt-4o-mini\"}", ALLOW, RULE,
	    "models");
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"gpt-4o\"}", DENY,
	    MODEL_NOT_ALLOWED, NULL);
	CU_ASSERT(last_model_is(e, "gpt-4o"));
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"gpt-4o-mini-2\"}", DENY,
	    MODEL_NOT_ALLOWED, NULL);
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"Small-1\"}", DENY,
	    MODEL_NOT_ALLOWED, NULL);
	/* a deny rule on models decides first */
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"big-7b\"}", DENY, RULE,
	    "no-big");
	CU_ASSERT_EQUAL(pc_policy_deny_response(e->p, e->v.rule), PC_DENY_RESPONSE_HTTP_403);
	/* each endpoint */
	static const char *const endpoints[] = {
		"/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses",
	};
	for (unsigned i = 0; i < PC_ARRAY_SIZE(endpoints); i++) {
		ASK(e, "POST", endpoints[i], 8080, "{\"model\": \"small-2\"}", ALLOW, RULE, "models");
		ASK(e, "POST", endpoints[i], 8080, "{\"model\": \"tiny\"}", DENY, MODEL_NOT_ALLOWED,
		    NULL);
	}
	/* the endpoint after normalisation, and nothing else: another path
	 * never matches a models rule, nor is it a model refusal */
	ASK(e, "POST", "/v1/./chat/completions", 8080, "{\"model\": \"small-2\"}", ALLOW, RULE,
	    "models");
	ASK(e, "POST", "/v1/chat/completions/", 8080, "{\"model\": \"small-2\"}", DENY, DEFAULT,
	    NULL);
	ASK(e, "GET", "/v1/models", 8080, "", DENY, DEFAULT, NULL);
	CU_ASSERT(last_model_is(e, "")); /* the body was never read */
	ASK(e, "POST", "/v2/chat/completions", 8080, "{\"model\": \"small-2\"}", DENY, DEFAULT,
	    NULL);
	/* an escaped name is compared unescaped */
	ASK(e, "POST", "/v1/embeddings", 8080, "{\"model\": \"sm\\u0061ll-3\"}", ALLOW, RULE,
	    "models");
	CU_ASSERT(last_model_is(e, "small-3"));
	/* an L4 flow never matches a body rule */
	memset(&e->req, 0, sizeof(e->req));
	e->req.l4_proto = 6;
	e->req.dport = 8080;
	CU_ASSERT_FATAL(pc_addr_parse("198.18.1.10", &e->req.src) == 0);
	CU_ASSERT_FATAL(pc_addr_parse("198.18.0.2", &e->req.dst) == 0);
	CU_ASSERT_EQUAL(pc_decide(e->p, e->s, &e->req, &e->v), PC_ACTION_DENY);
	CU_ASSERT_EQUAL(e->v.reason, PC_REASON_DEFAULT);
	env_free(e);
}

static void test_bad_bodies(void)
{
	struct env *e = env_new(ai_policy);
	const char *cc = "/v1/chat/completions";
	/* malformed, for the first rule that needs the body */
	ASK(e, "POST", cc, 8080, "{\"model\": ", DENY, BODY_MALFORMED, "no-big");
	ASK(e, "POST", cc, 8080, "{\"model\": \"small-1\"} x", DENY, BODY_MALFORMED, "no-big");
	ASK(e, "POST", cc, 8080, "[{\"model\": \"small-1\"}]", DENY, BODY_MALFORMED, "no-big");
	ASK(e, "POST", cc, 8080, "{\"model\": 7}", DENY, BODY_MALFORMED, "no-big");
	ASK(e, "POST", cc, 8080, "{\"messages\": []}", DENY, BODY_MALFORMED, "no-big");
	ASK(e, "POST", cc, 8080, "{\"model\": \"sm\xc3\x28ll\"}", DENY, BODY_MALFORMED, "no-big");
	/* no body at all (offline: WHOLE, length 0) */
	ASK(e, "POST", cc, 8080, "", DENY, BODY_MALFORMED, "no-big");
	/* duplicate "model": a backend could read either */
	ASK(e, "POST", cc, 8080, "{\"model\": \"small-1\", \"model\": \"big-1\"}", DENY,
	    BODY_MALFORMED, "no-big");
	ASK(e, "POST", cc, 8080, "{\"model\": \"small-1\", \"mod\\u0065l\": \"big-1\"}", DENY,
	    BODY_MALFORMED, "no-big");
	/* duplicates of names the engine does not read are the backend's business */
	ASK(e, "POST", cc, 8080, "{\"n\": 1, \"model\": \"small-1\", \"n\": 2}", ALLOW, RULE,
	    "models");

	/* truncated: past the window */
	ask(e, "POST", cc, 8080, "{\"model\": \"small-1\", \"messages\": [", PC_BODY_TRUNCATED);
	check(e, PC_ACTION_DENY, PC_REASON_BODY_TOO_LARGE, "no-big", __LINE__);
	/* whole, but longer than the policy's window (256 bytes) */
	char big[400];
	int n = snprintf(big, sizeof(big), "{\"model\": \"small-1\", \"pad\": \"%0300d\"}", 0);
	CU_ASSERT_FATAL(n > 256 && n < (int)sizeof(big));
	ASK(e, "POST", cc, 8080, big, DENY, BODY_TOO_LARGE, "no-big");
	big[200] = '\0';
	snprintf(big, sizeof(big), "{\"model\": \"small-1\", \"pad\": \"%0200d\"}", 0);
	ASK(e, "POST", cc, 8080, big, ALLOW, RULE, "models");

	/* absent: the caller must hold the body and ask again */
	ask(e, "POST", cc, 8080, NULL, PC_BODY_ABSENT);
	check(e, PC_ACTION_DENY, PC_REASON_BODY_REQUIRED, "no-big", __LINE__);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&e->v), "body_required");
	/* but not for a request no body rule could match */
	ask(e, "GET", "/a/b", 80, NULL, PC_BODY_ABSENT);
	check(e, PC_ACTION_ALLOW, PC_REASON_RULE, "web", __LINE__);
	ask(e, "POST", "/v1/other", 8080, NULL, PC_BODY_ABSENT);
	check(e, PC_ACTION_DENY, PC_REASON_DEFAULT, NULL, __LINE__);
	env_free(e);
}

static void test_mcp(void)
{
	struct env *e = env_new(ai_policy);
	ASK(e, "POST", "/mcp", 8081,
	    "{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"tools/call\",\n"
	    " \"params\": {\"name\": \"search_tickets\", \"arguments\": {\"name\": \"x\"}}}",
	    ALLOW, RULE, "tools");
	CU_ASSERT(last_tool_is(e, "search_tickets"));
	ASK(e, "POST", "/mcp", 8081,
	    "{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/call\", \"params\": {\"name\": "
	    "\"kb_lookup\"}}",
	    ALLOW, RULE, "tools");
	ASK(e, "POST", "/mcp", 8081,
	    "{\"jsonrpc\": \"2.0\", \"id\": 3, \"method\": \"tools/call\", \"params\": {\"name\": "
	    "\"delete_ticket\"}}",
	    DENY, MCP_TOOL_NOT_ALLOWED, NULL);
	CU_ASSERT(last_tool_is(e, "delete_ticket"));
	/* another method is not a tool call: the rule does not apply */
	ASK(e, "POST", "/mcp", 8081, "{\"jsonrpc\": \"2.0\", \"id\": 4, \"method\": \"tools/list\"}",
	    DENY, DEFAULT, NULL);
	/* a response (no method) neither */
	ASK(e, "POST", "/mcp", 8081, "{\"jsonrpc\": \"2.0\", \"id\": 4, \"result\": {}}", DENY,
	    DEFAULT, NULL);
	/* a batch is refused */
	ASK(e, "POST", "/mcp", 8081,
	    "[{\"jsonrpc\": \"2.0\", \"id\": 5, \"method\": \"tools/call\", \"params\": {\"name\": "
	    "\"search_tickets\"}}]",
	    DENY, BODY_MALFORMED, "tools");
	/* tools/call without a usable params.name */
	ASK(e, "POST", "/mcp", 8081, "{\"method\": \"tools/call\"}", DENY, BODY_MALFORMED, "tools");
	ASK(e, "POST", "/mcp", 8081, "{\"method\": \"tools/call\", \"params\": [\"search_tickets\"]}",
	    DENY, BODY_MALFORMED, "tools");
	ASK(e, "POST", "/mcp", 8081, "{\"method\": \"tools/call\", \"params\": {\"name\": 1}}", DENY,
	    BODY_MALFORMED, "tools");
	ASK(e, "POST", "/mcp", 8081, "{\"method\": 1, \"params\": {\"name\": \"search_tickets\"}}",
	    DENY, BODY_MALFORMED, "tools");
	/* duplicates of what is read, at either level */
	ASK(e, "POST", "/mcp", 8081,
	    "{\"method\": \"tools/call\", \"params\": {\"name\": \"search_tickets\", \"name\": "
	    "\"delete_ticket\"}}",
	    DENY, BODY_MALFORMED, "tools");
	ASK(e, "POST", "/mcp", 8081,
	    "{\"method\": \"tools/call\", \"method\": \"tools/list\", \"params\": {\"name\": "
	    "\"search_tickets\"}}",
	    DENY, BODY_MALFORMED, "tools");
	/* the tool name is the params' own "name", not a nested one */
	ASK(e, "POST", "/mcp", 8081,
	    "{\"method\": \"tools/call\", \"params\": {\"arguments\": {\"name\": \"search_tickets\"}}}",
	    DENY, BODY_MALFORMED, "tools");
	env_free(e);
}

static void test_shadow(void)
{
	char *json = malloc(sizeof(ai_policy) + 32);
	CU_ASSERT_FATAL(json != NULL);
	strcpy(json, "{\"mode\": \"shadow\", ");
	strcat(json, ai_policy + 1);
	struct env *e = env_new(json);
	const char *cc = "/v1/chat/completions";
	/* a model refusal is the policy's choice: a dry run lets it pass */
	ask(e, "POST", cc, 8080, "{\"model\": \"gpt-4o\"}", PC_BODY_WHOLE);
	check(e, PC_ACTION_ALLOW, PC_REASON_MODEL_NOT_ALLOWED, NULL, __LINE__);
	CU_ASSERT_EQUAL(e->v.shadow, 1);
	/* an unreadable body is not */
	ask(e, "POST", cc, 8080, "{\"model\": ", PC_BODY_WHOLE);
	check(e, PC_ACTION_DENY, PC_REASON_BODY_MALFORMED, "no-big", __LINE__);
	ask(e, "POST", cc, 8080, "{\"model\": \"small-1\"", PC_BODY_TRUNCATED);
	check(e, PC_ACTION_DENY, PC_REASON_BODY_TOO_LARGE, "no-big", __LINE__);
	/* and the body is still asked for */
	ask(e, "POST", cc, 8080, NULL, PC_BODY_ABSENT);
	check(e, PC_ACTION_DENY, PC_REASON_BODY_REQUIRED, "no-big", __LINE__);
	env_free(e);
	free(json);
}

static void test_deny_responses(void)
{
	struct env *e = env_new(ai_policy);
	/* the default deny: the policy's */
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"gpt-4o\"}", DENY,
	    MODEL_NOT_ALLOWED, NULL);
	CU_ASSERT_EQUAL(pc_policy_deny_response(e->p, e->v.rule), PC_DENY_RESPONSE_HTTP_429);
	/* a rule's own */
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"big-1\"}", DENY, RULE, "no-big");
	CU_ASSERT_EQUAL(pc_policy_deny_response(e->p, e->v.rule), PC_DENY_RESPONSE_HTTP_403);
	/* a rule without one: the policy's; a rule with "reset" */
	CU_ASSERT_EQUAL(pc_policy_deny_response(e->p, 1), PC_DENY_RESPONSE_HTTP_429);
	CU_ASSERT_EQUAL(pc_policy_deny_response(e->p, 2), PC_DENY_RESPONSE_RESET);
	CU_ASSERT_EQUAL(pc_policy_deny_response(e->p, 99), PC_DENY_RESPONSE_HTTP_429);
	env_free(e);

	/* neither says: UNSET, the dataplane's option */
	struct pc_policy *p = build("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"action\": "
				    "\"deny\"}]}");
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, -1), PC_DENY_RESPONSE_UNSET);
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, 0), PC_DENY_RESPONSE_UNSET);
	pc_policy_free(p);
	p = build("{\"version\": 1, \"rules\": [{\"id\": \"r\", \"action\": \"deny\", "
		  "\"deny_response\": \"429\"}]}");
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, -1), PC_DENY_RESPONSE_UNSET);
	CU_ASSERT_EQUAL(pc_policy_deny_response(p, 0), PC_DENY_RESPONSE_HTTP_429);
	pc_policy_free(p);
}

static void test_dlp_bit(void)
{
	struct env *e = env_new(ai_policy);
	CU_ASSERT_PTR_NOT_NULL(pc_policy_dlp(e->p));
	CU_ASSERT_FALSE(pc_policy_dlp_blocks(e->p));
	ASK(e, "POST", "/v1/chat/completions", 8080, "{\"model\": \"small-1\"}", ALLOW, RULE,
	    "models");
	CU_ASSERT_EQUAL(e->v.dlp, 1);
	/* not external */
	ASK(e, "POST", "/mcp", 8081,
	    "{\"method\": \"tools/call\", \"params\": {\"name\": \"search_tickets\"}}", ALLOW, RULE,
	    "tools");
	CU_ASSERT_EQUAL(e->v.dlp, 0);
	ASK(e, "GET", "/a", 80, "", ALLOW, RULE, "web");
	CU_ASSERT_EQUAL(e->v.dlp, 0);
	env_free(e);

	/* external, but the policy has no DLP */
	static const char no_dlp[] =
		"{\"version\": 1, \"destinations\": [{\"name\": \"llm\", \"ports\": [8080], "
		"\"external\": true}], \"rules\": [{\"id\": \"r\", \"destinations\": [\"llm\"], "
		"\"action\": \"allow\"}]}";
	e = env_new(no_dlp);
	CU_ASSERT_PTR_NULL(pc_policy_dlp(e->p));
	ASK(e, "POST", "/upload", 8080, "", ALLOW, RULE, "r");
	CU_ASSERT_EQUAL(e->v.dlp, 0);
	env_free(e);

	/* "deny" DLP, and a shadow pass to an external destination is scanned too */
	static const char shadow_dlp[] =
		"{\"version\": 1, \"mode\": \"shadow\", \"dlp\": {}, \"destinations\": [{\"name\": "
		"\"llm\", \"ports\": [8080], \"external\": true}], \"rules\": [{\"id\": \"r\", "
		"\"destinations\": [\"llm\"], \"action\": \"deny\"}]}";
	e = env_new(shadow_dlp);
	CU_ASSERT(pc_policy_dlp_blocks(e->p));
	ASK(e, "POST", "/upload", 8080, "", ALLOW, RULE, "r");
	CU_ASSERT_EQUAL(e->v.shadow, 1);
	CU_ASSERT_EQUAL(e->v.dlp, 1);
	env_free(e);
}

static void test_path_options(void)
{
	static const char base[] =
		"{\"version\": 1, %s \"destinations\": [{\"name\": \"web\", \"ports\": [80]}],"
		" \"rules\": [{\"id\": \"a\", \"destinations\": [\"web\"], \"paths\": [\"^/a/b$\"],"
		" \"action\": \"allow\"}]}";
	char json[512];

	snprintf(json, sizeof(json), base, "");
	struct env *e = env_new(json);
	ASK(e, "GET", "/a//b", 80, "", ALLOW, RULE, "a");
	ASK(e, "GET", "/a%2Fb", 80, "", DENY, PATH_REJECTED, NULL);
	CU_ASSERT_STRING_EQUAL(pc_verdict_reason_name(&e->v), "path_encoded_slash");
	env_free(e);

	snprintf(json, sizeof(json), base,
		 "\"path_normalization\": {\"merge_slashes\": false},");
	e = env_new(json);
	ASK(e, "GET", "/a//b", 80, "", DENY, UNKNOWN_CALLER, NULL);
	bool changed = true;
	struct pc_str path = pc_engine_last_path(e->s, &changed);
	CU_ASSERT(pc_str_eq(path, "/a//b", 5));
	CU_ASSERT_FALSE(changed);
	ASK(e, "GET", "/a/./b", 80, "", ALLOW, RULE, "a");
	ASK(e, "GET", "/a%2Fb", 80, "", DENY, PATH_REJECTED, NULL);
	env_free(e);

	snprintf(json, sizeof(json), base,
		 "\"path_normalization\": {\"reject_encoded_slash\": false},");
	e = env_new(json);
	ASK(e, "GET", "/a%2fb", 80, "", DENY, UNKNOWN_CALLER, NULL);
	path = pc_engine_last_path(e->s, &changed);
	CU_ASSERT(pc_str_eq(path, "/a%2Fb", 6));
	ASK(e, "GET", "/a//b", 80, "", ALLOW, RULE, "a");
	/* the other rejections stay */
	ASK(e, "GET", "/a\\b", 80, "", DENY, PATH_REJECTED, NULL);
	env_free(e);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_models),
	PC_TEST(test_bad_bodies),
	PC_TEST(test_mcp),
	PC_TEST(test_shadow),
	PC_TEST(test_deny_responses),
	PC_TEST(test_dlp_bit),
	PC_TEST(test_path_options),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("decide_ai", tests)
