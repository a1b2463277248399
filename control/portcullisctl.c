/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullisctl: the operator's command line.
 *
 * Commands live in one table of (word, sub-word, handler, usage): a new
 * command (policy push, quarantine add, stats, ...) is a handler and a row.
 * Each handler gets its own argv starting at its last command word and
 * parses its options with getopt_long. Exit codes are shared by all
 * commands: 0 done, 1 the command failed (a policy that does not load, a
 * daemon that does not answer), 2 the command line was wrong.
 *
 * explain reads a whole request: the head, and the body after it (by
 * Content-Length, or chunked, which it de-chunks), which rules on models or
 * MCP tools read; the verdict then also names the model or tool seen, the
 * deny response the policy sets, and whether the body would be DLP-scanned.
 *
 * explain --tls reads the client's side of a TLS connection instead of an
 * HTTP request: the ClientHello, possibly fragmented over records, parsed
 * by lib/tls; the verdict JSON then also says what the hello offered.
 *
 * The offline commands (explain, policy validate, policy test) run the
 * library's own load -> compile -> image -> runtime path and the same
 * pc_decide() as the dataplane workers, with no dataplane and no DPDK.
 * policy test and policy diff live in ctl_policy_test.c.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl_control.h"
#include "ctl_policy_test.h"
#include "engine/decide.h"
#include "http/http_body.h"
#include "http/http_parse.h"
#include "pkt/pkt_parse.h"
#include "policy/policy.h"
#include "tls/tls_hello.h"
#include "util/addr.h"

#define PC_CTL_EXIT_OK 0
#define PC_CTL_EXIT_FAIL 1
#define PC_CTL_EXIT_USAGE 2
#define PC_CTL_MAX_STDIN (2u << 20) /* explain reads at most this much of a request: a
				     * head and a body of the largest window */
#define PC_CTL_ERR_LEN 1024

static const char *prog = "portcullisctl";

struct pc_ctl_cmd {
	const char *word;  /* "explain", "policy" */
	const char *sub;   /* "validate", or NULL for a one-word command */
	int (*run)(const struct pc_ctl_cmd *cmd, int argc, char **argv);
	const char *args;  /* usage after the command words */
	const char *help;  /* one line */
};

static int cmd_explain(const struct pc_ctl_cmd *cmd, int argc, char **argv);
static int cmd_policy_validate(const struct pc_ctl_cmd *cmd, int argc, char **argv);

static const struct pc_ctl_cmd commands[] = {
	{ "explain", NULL, cmd_explain,
	  "--policy FILE [--tls] [--src IP[:PORT]] [--dst IP:PORT] [--now UNIX_SECONDS] < REQUEST",
	  "decide one raw HTTP request (with --tls: the client's first bytes of a TLS connection, "
	  "its ClientHello) read from stdin and print the verdict as JSON" },
	{ "policy", "validate", cmd_policy_validate, "FILE",
	  "load and compile a policy file; print \"ok\" or the error" },
	{ "policy", "test", pc_ctl_policy_test, "FILE [--now UNIX_SECONDS]",
	  "run the test cases under the policy file's \"tests\" key; print PASS/FAIL per case and "
	  "a summary; exit 1 when any case fails" },
	{ "policy", "diff", pc_ctl_policy_diff,
	  "FILE [--against FILE2 | --socket PATH | --instance NAME]",
	  "compare FILE with FILE2 (or the policy the daemon runs) by meaning; one line per "
	  "difference; exit 1 when they differ" },
	{ "policy", "push", pc_ctl_policy_push, "FILE [--socket PATH | --instance NAME]",
	  "push a policy through portcullis-control; print the generation and the dataplane's "
	  "apply time, or the exact error" },
	{ "policy", "show", pc_ctl_policy_show, "[--socket PATH | --instance NAME]",
	  "the generation the dataplane runs, its file, rule count and when it was applied" },
	{ "status", NULL, pc_ctl_status, "[--socket PATH | --instance NAME]",
	  "dataplane attached or not, generation applied, workers, uptimes" },
	{ "quarantine", "add", pc_ctl_quarantine_add,
	  "identity NAME|credential FINGERPRINT [--reason TEXT] [--ttl DURATION] [--socket PATH]",
	  "revoke an identity or a credential: its requests are denied, its connections reset" },
	{ "quarantine", "remove", pc_ctl_quarantine_remove,
	  "identity NAME|credential FINGERPRINT [--reason TEXT] [--socket PATH]",
	  "lift a revocation" },
	{ "quarantine", "list", pc_ctl_quarantine_list, "[--socket PATH | --instance NAME]",
	  "the revocations in force" },
	{ "flows", NULL, pc_ctl_flows,
	  "[--identity NAME] [--limit N] [--json] [--socket PATH | --instance NAME]",
	  "the live flows the dataplane holds (default 100; --json for one JSON object)" },
};

static void usage(FILE *out)
{
	fprintf(out, "usage: %s COMMAND [OPTIONS]\n\ncommands:\n", prog);
	for (size_t i = 0; i < PC_ARRAY_SIZE(commands); i++) {
		const struct pc_ctl_cmd *c = &commands[i];
		fprintf(out, "  %s%s%s %s\n      %s\n", c->word, c->sub ? " " : "", c->sub ? c->sub : "",
			c->args, c->help);
	}
	fprintf(out, "\n  -h, --help  show this help (also after a command)\n");
}

static void cmd_usage(const struct pc_ctl_cmd *c, FILE *out)
{
	fprintf(out, "usage: %s %s%s%s %s\n", prog, c->word, c->sub ? " " : "", c->sub ? c->sub : "",
		c->args);
}

/* Reports a command-line error in a command and returns the usage exit code. */
static int cmd_bad_usage(const struct pc_ctl_cmd *c, const char *fmt, const char *what)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, what);
	fputc('\n', stderr);
	cmd_usage(c, stderr);
	return PC_CTL_EXIT_USAGE;
}

/* Long options return values past any character, so that optopt tells a
 * short option (its character) from a long one (whose text is the argument
 * getopt_long just stepped over). */
enum { PC_CTL_OPT_POLICY = 256, PC_CTL_OPT_SRC, PC_CTL_OPT_DST, PC_CTL_OPT_NOW, PC_CTL_OPT_TLS };

/* The option getopt_long just refused, for the message. */
static const char *refused_option(char **argv, char *buf, size_t len)
{
	if (optopt > 0 && optopt < 256) {
		snprintf(buf, len, "-%c", optopt);
		return buf;
	}
	const char *arg = argv[optind - 1];
	const char *eq = strchr(arg, '=');
	snprintf(buf, len, "%.*s", eq ? (int)(eq - arg) : (int)strlen(arg), arg);
	return buf;
}

/* "198.18.1.10", "198.18.1.10:40000", "[2001:db8::1]:443", "[2001:db8::1]",
 * "2001:db8::1". *port is left alone when the text has none. */
static int parse_endpoint(const char *text, struct pc_addr *addr, uint16_t *port, bool *has_port)
{
	char host[64];
	const char *port_text = NULL;
	*has_port = false;
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || (size_t)(end - text - 1) >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		if (end[1] == ':')
			port_text = end + 2;
		else if (end[1] != '\0')
			return -EINVAL;
	} else {
		const char *colon = strchr(text, ':');
		bool v6 = colon != NULL && strchr(colon + 1, ':') != NULL;
		size_t n = v6 || colon == NULL ? strlen(text) : (size_t)(colon - text);
		if (n >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, n);
		host[n] = '\0';
		if (!v6 && colon != NULL)
			port_text = colon + 1;
	}
	if (pc_addr_parse(host, addr) != 0)
		return -EINVAL;
	if (port_text != NULL) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(port_text, &end, 10);
		if (errno || end == port_text || *end != '\0' || v == 0 || v > 65535 ||
		    port_text[0] == '-' || port_text[0] == '+')
			return -EINVAL;
		*port = (uint16_t)v;
		*has_port = true;
	}
	return 0;
}

int pc_ctl_parse_endpoint(const char *text, struct pc_addr *addr, uint16_t *port, bool *has_port)
{
	return parse_endpoint(text, addr, port, has_port);
}

/* The body after the head, as the dataplane would hand it to the engine:
 * the Content-Length bytes (those the input holds), or the chunked body's
 * data (the framing tracker of lib/http/http_body, fed a byte at a time,
 * says which bytes are data), cut at the policy's window. A chunked body
 * whose framing is refused gives an empty body: nothing a rule could read. */
static void take_body(const struct pc_policy *p, const struct pc_http_req *http,
		      const char *rest, size_t rest_len, uint8_t *out, struct pc_request *req)
{
	uint32_t window = pc_policy_body_window(p);
	if (window > PC_POLICY_MAX_BODY_WINDOW)
		window = PC_POLICY_MAX_BODY_WINDOW;
	req->body = out;
	req->body_len = 0;
	req->body_state = PC_BODY_WHOLE;
	if (!http->chunked) {
		uint64_t cl = http->content_length < 0 ? 0 : (uint64_t)http->content_length;
		if (cl > rest_len)
			cl = rest_len;
		if (cl > window) {
			cl = window;
			req->body_state = PC_BODY_TRUNCATED;
		}
		memcpy(out, rest, (size_t)cl);
		req->body_len = (uint32_t)cl;
		return;
	}
	struct pc_http_body b;
	pc_http_body_init(&b, -1, true);
	uint32_t len = 0;
	for (size_t i = 0; i < rest_len; i++) {
		uint64_t before = pc_http_body_data_len(&b);
		size_t used = 0;
		enum pc_http_body_reason r = pc_http_body_feed(&b, rest + i, 1, &used);
		if (r != PC_HTTP_BODY_OK && r != PC_HTTP_BODY_INCOMPLETE)
			return;
		if (pc_http_body_data_len(&b) > before) {
			if (len == window) {
				req->body_state = PC_BODY_TRUNCATED;
				break;
			}
			out[len++] = (uint8_t)rest[i];
		}
		if (r == PC_HTTP_BODY_OK)
			break;
	}
	req->body_len = len;
}

/* One decision path for explain and policy test, so a test case passes
 * exactly when explain would print the expected verdict. */
bool pc_ctl_decide_http(const struct pc_policy *p, struct pc_engine_scratch *s,
			struct pc_request *req, const char *buf, size_t n, struct pc_http_req *http,
			uint8_t *body_buf, struct pc_verdict *v)
{
	enum pc_http_reason hr = pc_http_parse_head(buf, n, http);
	if (hr != PC_HTTP_OK) {
		pc_verdict_malformed(v, (uint8_t)hr);
		return false;
	}
	req->http = http;
	take_body(p, http, buf + http->head_len, n - http->head_len, body_buf, req);
	pc_decide(p, s, req, v);
	return true;
}

const char *pc_ctl_deny_response_name(enum pc_deny_response r)
{
	switch (r) {
	case PC_DENY_RESPONSE_RESET:
		return "reset";
	case PC_DENY_RESPONSE_HTTP_403:
		return "403";
	case PC_DENY_RESPONSE_HTTP_429:
		return "429";
	default:
		return NULL;
	}
}

/* Reads stdin up to max bytes. Returns the byte count, or -1 on a read error. */
static ssize_t read_stdin(char *buf, size_t max)
{
	size_t n = 0;
	while (n < max) {
		ssize_t r = read(STDIN_FILENO, buf + n, max - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static const char *cred_kind_name(uint8_t kind)
{
	switch (kind) {
	case PC_CRED_SOURCE:
		return "source";
	case PC_CRED_API_KEY:
		return "api_key";
	case PC_CRED_JWT:
		return "jwt";
	default:
		return "none";
	}
}

/* "1.3" for a TLS version as on the wire; NULL for none. */
static json_t *tls_version_json(uint16_t v)
{
	char buf[16];
	switch (v) {
	case 0:
		return json_null();
	case PC_TLS_VERSION_SSL3:
		return json_string("ssl3");
	case PC_TLS_VERSION_1_0:
	case PC_TLS_VERSION_1_1:
	case PC_TLS_VERSION_1_2:
	case PC_TLS_VERSION_1_3:
		snprintf(buf, sizeof(buf), "1.%u", (unsigned)(v - PC_TLS_VERSION_1_0));
		return json_string(buf);
	default:
		snprintf(buf, sizeof(buf), "0x%04x", v);
		return json_string(buf);
	}
}

/* What the hello offered, as the engine saw it: "sni" (null without one),
 * "alpn" (in the client's order), "tls_version" (the highest offered),
 * "ja4". */
static void add_tls_fields(json_t *o, const struct pc_tls_hello *h)
{
	char ja4[PC_TLS_JA4_LEN + 1];
	json_t *alpn = json_array();
	for (unsigned i = 0; i < h->n_alpn; i++)
		json_array_append_new(alpn, json_stringn(h->alpn[i].p, h->alpn[i].len));
	json_object_set_new(o, "sni", h->sni_len ? json_stringn(h->sni, h->sni_len) : json_null());
	json_object_set_new(o, "alpn", alpn);
	json_object_set_new(o, "tls_version", tls_version_json(h->highest_version));
	pc_tls_hello_ja4(h, ja4);
	json_object_set_new(o, "ja4", json_string(ja4));
}

/* path: what the rules saw, printed when it differs from what was sent.
 * iss, sub: of the verified token that named the identity, or NULL.
 * model, tool: what a body rule read from the body (printed when not
 * empty), or NULL.
 * tls: the parsed hello of a TLS decision, or NULL. */
static int print_verdict(const struct pc_policy *p, const struct pc_verdict *v,
			 const struct pc_str *norm_path, const struct pc_str *iss,
			 const struct pc_str *sub, const struct pc_str *model,
			 const struct pc_str *tool, const struct pc_tls_hello *tls)
{
	json_t *o = json_object();
	if (o == NULL)
		return -ENOMEM;
	json_object_set_new(o, "action", json_string(pc_action_name((enum pc_action)v->action)));
	/* A dry-run pass: "action" stays what the traffic gets (allow), and
	 * "shadow" says the enforced verdict would have been a deny, with the
	 * rule and reason below naming it. The decision log folds both into
	 * "action": "would_deny"; explain keeps them apart so a script testing
	 * "action" sees what happens on the wire. */
	if (v->shadow && v->action == PC_ACTION_ALLOW)
		json_object_set_new(o, "shadow", json_string("would_deny"));
	json_object_set_new(o, "rule", v->rule >= 0 ? json_string(pc_policy_rule_id(p, (uint32_t)v->rule))
						   : json_null());
	json_object_set_new(o, "identity",
			    v->identity >= 0 ? json_string(pc_policy_identity_name(p, (uint32_t)v->identity))
					     : json_null());
	json_object_set_new(o, "reason", json_string(pc_verdict_reason_name(v)));
	if (v->cred_kind != PC_CRED_NONE) {
		char fp[2 * PC_CRED_FP_LEN + 1];
		json_t *cred = json_object();
		json_object_set_new(cred, "kind", json_string(cred_kind_name(v->cred_kind)));
		json_object_set_new(cred, "fingerprint", json_string(pc_verdict_fp_hex(v, fp, sizeof(fp))));
		json_object_set_new(o, "credential", cred);
	}
	if (iss != NULL && sub != NULL) {
		json_object_set_new(o, "subject", json_stringn(sub->p, sub->len));
		json_object_set_new(o, "issuer", json_stringn(iss->p, iss->len));
	}
	if (norm_path != NULL)
		json_object_set_new(o, "normalized_path", json_stringn(norm_path->p, norm_path->len));
	if (model != NULL && model->len > 0)
		json_object_set_new(o, "model", json_stringn(model->p, model->len));
	if (tool != NULL && tool->len > 0)
		json_object_set_new(o, "mcp_tool", json_stringn(tool->p, tool->len));
	/* What the dataplane answers a deny with, when the policy says; else
	 * its --deny-response option decides, and explain cannot know it. */
	const char *dr = v->action == PC_ACTION_DENY
				 ? pc_ctl_deny_response_name(pc_policy_deny_response(p, v->rule))
				 : NULL;
	if (dr != NULL)
		json_object_set_new(o, "deny_response", json_string(dr));
	/* The dataplane scans this allowed request's body for secrets. */
	if (v->dlp && v->action == PC_ACTION_ALLOW)
		json_object_set_new(o, "dlp", json_true());
	if (tls != NULL)
		add_tls_fields(o, tls);
	char *text = json_dumps(o, JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL)
		return -ENOMEM;
	printf("%s\n", text);
	free(text);
	return fflush(stdout) == 0 ? 0 : -EIO;
}

static int cmd_explain(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "policy", required_argument, NULL, PC_CTL_OPT_POLICY },
		{ "src", required_argument, NULL, PC_CTL_OPT_SRC },
		{ "dst", required_argument, NULL, PC_CTL_OPT_DST },
		{ "now", required_argument, NULL, PC_CTL_OPT_NOW },
		{ "tls", no_argument, NULL, PC_CTL_OPT_TLS },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *policy_path = NULL;
	struct pc_request req = { .l4_proto = PC_PROTO_TCP, .now_s = (int64_t)time(NULL) };
	char optbuf[64];
	bool has_port, tls = false;
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case PC_CTL_OPT_POLICY:
			policy_path = optarg;
			break;
		case PC_CTL_OPT_SRC:
			if (parse_endpoint(optarg, &req.src, &req.sport, &has_port) != 0)
				return cmd_bad_usage(cmd, "--src: expected IP[:PORT] or [IPv6]:PORT, got \"%s\"",
						     optarg);
			break;
		case PC_CTL_OPT_DST:
			if (parse_endpoint(optarg, &req.dst, &req.dport, &has_port) != 0 || !has_port)
				return cmd_bad_usage(cmd, "--dst: expected IP:PORT or [IPv6]:PORT, got \"%s\"",
						     optarg);
			break;
		case PC_CTL_OPT_NOW: {
			/* Token times are checked against this, so a test can
			 * explain a token minted for any moment. */
			char *end;
			errno = 0;
			long long t = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || t < 0)
				return cmd_bad_usage(cmd, "--now: expected seconds since the epoch, got \"%s\"",
						     optarg);
			req.now_s = (int64_t)t;
			break;
		}
		case PC_CTL_OPT_TLS:
			tls = true;
			break;
		case 'h':
			cmd_usage(cmd, stdout);
			return PC_CTL_EXIT_OK;
		case ':':
			return cmd_bad_usage(cmd, "option %s needs a value",
					     refused_option(argv, optbuf, sizeof(optbuf)));
		default:
			return cmd_bad_usage(cmd, "unknown option %s",
					     refused_option(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (optind < argc)
		return cmd_bad_usage(cmd, "unexpected argument \"%s\"", argv[optind]);
	if (policy_path == NULL)
		return cmd_bad_usage(cmd, "%s", "explain needs --policy FILE");

	char err[PC_CTL_ERR_LEN];
	struct pc_policy *p = pc_policy_build_file(policy_path, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "%s\n", err);
		return PC_CTL_EXIT_FAIL;
	}
	int rc = PC_CTL_EXIT_FAIL;
	struct pc_engine_scratch *s = NULL;
	char *buf = malloc(PC_CTL_MAX_STDIN);
	struct pc_http_req *http = calloc(1, sizeof(*http));
	struct pc_tls_hello *hello = tls ? calloc(1, sizeof(*hello)) : NULL;
	uint8_t *body = tls ? NULL : malloc(PC_POLICY_MAX_BODY_WINDOW);
	if (buf == NULL || http == NULL || (tls && hello == NULL) || (!tls && body == NULL)) {
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	ssize_t n = read_stdin(buf, PC_CTL_MAX_STDIN);
	if (n < 0) {
		fprintf(stderr, "%s: reading the request from stdin: %s\n", prog, strerror(errno));
		goto out;
	}
	s = pc_engine_scratch_new(p);
	if (s == NULL) {
		fprintf(stderr, "%s: cannot allocate engine scratch: %s\n", prog, strerror(errno));
		goto out;
	}
	struct pc_verdict v;
	struct pc_str norm_path = { 0 }, iss = { 0 }, sub = { 0 }, model = { 0 }, tool = { 0 };
	bool path_changed = false, named_by_jwt = false;
	if (tls) {
		/* Everything the client will ever send is here: a hello still
		 * incomplete at the end of input is refused as the dataplane
		 * refuses one past its hold bound. */
		enum pc_tls_reason tr = pc_tls_hello_parse((const uint8_t *)buf, (size_t)n, hello);
		if (tr != PC_TLS_OK) {
			pc_verdict_tls_malformed(&v, (uint8_t)tr);
		} else {
			req.tls = hello;
			pc_decide(p, s, &req, &v);
		}
		if (print_verdict(p, &v, NULL, NULL, NULL, NULL, NULL,
				  tr == PC_TLS_OK ? hello : NULL) != 0) {
			fprintf(stderr, "%s: cannot write the verdict\n", prog);
			goto out;
		}
		rc = PC_CTL_EXIT_OK;
		goto out;
	}
	if (pc_ctl_decide_http(p, s, &req, buf, (size_t)n, http, body, &v)) {
		norm_path = pc_engine_last_path(s, &path_changed);
		pc_engine_last_ai(s, &model, &tool);
		named_by_jwt = v.cred_kind == PC_CRED_JWT && v.identity >= 0 &&
			       pc_engine_last_jwt(s, &iss, &sub);
	}
	if (print_verdict(p, &v, path_changed ? &norm_path : NULL, named_by_jwt ? &iss : NULL,
			  named_by_jwt ? &sub : NULL, &model, &tool, NULL) != 0) {
		fprintf(stderr, "%s: cannot write the verdict\n", prog);
		goto out;
	}
	rc = PC_CTL_EXIT_OK;
out:
	pc_engine_scratch_free(s);
	free(body);
	free(hello);
	free(http);
	free(buf);
	pc_policy_free(p);
	return rc;
}

static int cmd_policy_validate(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char optbuf[64];
	int c;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (c == 'h') {
			cmd_usage(cmd, stdout);
			return PC_CTL_EXIT_OK;
		}
		return cmd_bad_usage(cmd, "unknown option %s", refused_option(argv, optbuf, sizeof(optbuf)));
	}
	if (argc - optind != 1)
		return cmd_bad_usage(cmd, "%s", argc - optind < 1 ? "policy validate needs a FILE"
								  : "policy validate takes one FILE");
	char err[PC_CTL_ERR_LEN];
	struct pc_policy *p = pc_policy_build_file(argv[optind], err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "%s\n", err);
		return PC_CTL_EXIT_FAIL;
	}
	pc_policy_free(p);
	printf("ok\n");
	return PC_CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return PC_CTL_EXIT_USAGE;
	}
	const char *word = argv[1];
	if (strcmp(word, "-h") == 0 || strcmp(word, "--help") == 0) {
		usage(stdout);
		return PC_CTL_EXIT_OK;
	}
	if (word[0] == '-') {
		fprintf(stderr, "%s: unknown option %s\n", prog, word);
		usage(stderr);
		return PC_CTL_EXIT_USAGE;
	}
	bool word_known = false;
	for (size_t i = 0; i < PC_ARRAY_SIZE(commands); i++) {
		const struct pc_ctl_cmd *c = &commands[i];
		if (strcmp(c->word, word) != 0)
			continue;
		word_known = true;
		if (c->sub == NULL)
			return c->run(c, argc - 1, argv + 1);
		if (argc >= 3 && strcmp(c->sub, argv[2]) == 0)
			return c->run(c, argc - 2, argv + 2);
	}
	if (word_known && argc >= 3 && (strcmp(argv[2], "-h") == 0 || strcmp(argv[2], "--help") == 0)) {
		usage(stdout);
		return PC_CTL_EXIT_OK;
	}
	if (word_known && argc >= 3)
		fprintf(stderr, "%s: unknown command \"%s %s\"\n", prog, word, argv[2]);
	else if (word_known)
		fprintf(stderr, "%s: \"%s\" needs a subcommand\n", prog, word);
	else
		fprintf(stderr, "%s: unknown command \"%s\"\n", prog, word);
	usage(stderr);
	return PC_CTL_EXIT_USAGE;
}
