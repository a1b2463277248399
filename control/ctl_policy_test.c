/* SPDX-License-Identifier: BSD-3-Clause
 *
 * portcullisctl policy test and policy diff.
 *
 * policy test: a policy file may carry its own test cases under the
 * top-level key "tests" (the loader accepts and ignores the key). Each case
 * is a request and an expected verdict; the cases are decided by the same
 * offline engine as explain (load -> compile -> image -> runtime, then
 * pc_ctl_decide_http()), so a policy is checked against the behaviour the
 * dataplane would have. Every case is validated before any is run, and a
 * malformed one is reported as "file:line: $.tests[i].field: why" like the
 * loader's own messages, so an editor can jump to it.
 *
 * policy diff: compares two policy files by meaning, not by text. Both must
 * load; then identities and destinations are matched by name, issuers by
 * issuer, rules by id, and each entry's fields are compared with list order
 * ignored (a list of methods or sources is a set). Rule order does matter
 * (the first matching rule decides), so a moved rule is a difference. The
 * descriptions and the test cases are not the policy and are ignored.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control_proto.h"
#include "ctl_policy_test.h"
#include "pkt/pkt_parse.h"
#include "policy/json_locate.h"
#include "shm/shm.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define PC_CTL_ERR_LEN 1024
#define PC_CTL_PATH_LEN 96
#define PC_CTL_SHOW_TIMEOUT_MS 10000

static const char test_usage[] = "policy test FILE [--now UNIX_SECONDS]";
static const char diff_usage[] =
	"policy diff FILE [--against FILE2 | --socket PATH | --instance NAME]";

static int bad(const char *usage, const char *msg, const char *what)
{
	fprintf(stderr, "portcullisctl: ");
	fprintf(stderr, msg, what);
	fprintf(stderr, "\nusage: portcullisctl %s\n", usage);
	return EXIT_USAGE;
}

/* The option getopt_long just refused, for the message. */
static const char *refused(char **argv, char *buf, size_t len)
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

/* ---- policy test ---- */

/* One validated case; the strings point into the JSON tree. */
struct test_case {
	const char *name;
	char *request;      /* raw head, owned */
	size_t request_len;
	struct pc_request req;
	const char *want_action; /* NULL: not checked */
	bool check_rule;
	const char *want_rule;   /* NULL with check_rule: no rule */
	const char *want_reason; /* NULL: not checked */
};

struct test_file {
	const char *path;
	char *text;
	size_t len;
};

/* Prints "file:line: path: why" (line when it can be found). Returns -EINVAL. */
static int case_fail(const struct test_file *f, const char *jpath, const char *fmt,
		     const char *what)
{
	unsigned line = pc_json_locate_line(f->text, f->len, jpath);
	char msg[512];
	snprintf(msg, sizeof(msg), fmt, what);
	if (line != 0)
		fprintf(stderr, "%s:%u: %s: %s\n", f->path, line, jpath, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", f->path, jpath, msg);
	return -EINVAL;
}

/* base + suffix into out; a path cut short only loses its line number. */
static void join_path(char *out, size_t len, const char *base, const char *suffix)
{
	if ((size_t)snprintf(out, len, "%s%s", base, suffix) >= len)
		out[len - 1] = '\0';
}

static bool key_in(const char *key, const char *const *keys)
{
	for (; *keys; keys++)
		if (strcmp(key, *keys) == 0)
			return true;
	return false;
}

/* Every key of o must be in keys. */
static int check_case_keys(const struct test_file *f, const char *base, json_t *o,
			   const char *const *keys)
{
	const char *key;
	json_t *v;
	char jpath[PC_CTL_PATH_LEN + 64];
	json_object_foreach(o, key, v) {
		if (!key_in(key, keys)) {
			char suffix[PC_CTL_PATH_LEN];
			join_path(suffix, sizeof(suffix), ".", key);
			join_path(jpath, sizeof(jpath), base, suffix);
			return case_fail(f, jpath, "unknown key \"%s\"", key);
		}
	}
	return 0;
}

/* Appends text[0..n) to a growing buffer, NUL-terminated; false when out
 * of memory. */
static bool append_n(char **buf, size_t *len, size_t *cap, const char *text, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*cap ? *cap * 2 : 256);
		while (ncap < *len + n + 1)
			ncap *= 2;
		char *nb = realloc(*buf, ncap);
		if (nb == NULL)
			return false;
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, text, n);
	*len += n;
	(*buf)[*len] = '\0';
	return true;
}

static bool append(char **buf, size_t *len, size_t *cap, const char *text)
{
	return append_n(buf, len, cap, text, strlen(text));
}

/* Builds the raw request of {"method", "path", "host", "headers"}, and
 * of the case's body when it has one (body_len bytes; then a
 * Content-Length header is added). Header values may not hold CR or LF:
 * the case would then test the parser's framing rather than the policy,
 * which a raw "request" string does better. */
static int build_request(const struct test_file *f, const char *base, json_t *o,
			 const char *body, size_t body_len, struct test_case *tc)
{
	static const char *const keys[] = { "method", "path", "host", "headers", NULL };
	char jpath[PC_CTL_PATH_LEN + 64];
	int rc = check_case_keys(f, base, o, keys);
	if (rc != 0)
		return rc;
	json_t *method = json_object_get(o, "method"), *path = json_object_get(o, "path");
	json_t *host = json_object_get(o, "host"), *headers = json_object_get(o, "headers");
	if (method != NULL && !json_is_string(method)) {
		join_path(jpath, sizeof(jpath), base, ".method");
		return case_fail(f, jpath, "expected a method string%s", "");
	}
	if (!json_is_string(path)) {
		join_path(jpath, sizeof(jpath), base, path ? ".path" : "");
		return case_fail(f, jpath, "%s", path ? "expected a path string"
						       : "a request object needs \"path\"");
	}
	if (host != NULL && !json_is_string(host)) {
		join_path(jpath, sizeof(jpath), base, ".host");
		return case_fail(f, jpath, "expected a host string%s", "");
	}
	if (headers != NULL && !json_is_object(headers)) {
		join_path(jpath, sizeof(jpath), base, ".headers");
		return case_fail(f, jpath, "expected an object of header names to values%s", "");
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	bool ok = append(&buf, &len, &cap, method ? json_string_value(method) : "GET") &&
		  append(&buf, &len, &cap, " ") &&
		  append(&buf, &len, &cap, json_string_value(path)) &&
		  append(&buf, &len, &cap, " HTTP/1.1\r\n");
	if (ok && host != NULL)
		ok = append(&buf, &len, &cap, "Host: ") &&
		     append(&buf, &len, &cap, json_string_value(host)) &&
		     append(&buf, &len, &cap, "\r\n");
	const char *name;
	json_t *value;
	if (headers != NULL) {
		json_object_foreach(headers, name, value) {
			const char *s = json_string_value(value);
			if (s == NULL || strpbrk(s, "\r\n") != NULL) {
				free(buf);
				char suffix[PC_CTL_PATH_LEN];
				join_path(suffix, sizeof(suffix), ".headers.", name);
				join_path(jpath, sizeof(jpath), base, suffix);
				return case_fail(f, jpath, "%s",
						 "expected a header value string without CR or LF");
			}
			ok = ok && append(&buf, &len, &cap, name) && append(&buf, &len, &cap, ": ") &&
			     append(&buf, &len, &cap, s) && append(&buf, &len, &cap, "\r\n");
		}
	}
	if (body != NULL) {
		char cl[64];
		snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n", body_len);
		ok = ok && append(&buf, &len, &cap, cl);
	}
	ok = ok && append(&buf, &len, &cap, "\r\n");
	if (body != NULL)
		ok = ok && append_n(&buf, &len, &cap, body, body_len);
	if (!ok) {
		free(buf);
		fprintf(stderr, "portcullisctl: out of memory\n");
		return -ENOMEM;
	}
	tc->request = buf;
	tc->request_len = len;
	return 0;
}

static int parse_expect(const struct test_file *f, const char *base, json_t *e,
			struct test_case *tc)
{
	static const char *const keys[] = { "action", "rule", "reason", NULL };
	char jpath[PC_CTL_PATH_LEN + 64];
	if (!json_is_object(e))
		return case_fail(f, base, "expected an object with \"action\", \"rule\" or "
					  "\"reason\"%s", "");
	int rc = check_case_keys(f, base, e, keys);
	if (rc != 0)
		return rc;
	json_t *action = json_object_get(e, "action"), *rule = json_object_get(e, "rule");
	json_t *reason = json_object_get(e, "reason");
	if (action == NULL && rule == NULL && reason == NULL)
		return case_fail(f, base, "expect needs at least one of \"action\", \"rule\", "
					  "\"reason\"%s", "");
	if (action != NULL) {
		const char *a = json_string_value(action);
		if (a == NULL || (strcmp(a, "allow") != 0 && strcmp(a, "deny") != 0)) {
			join_path(jpath, sizeof(jpath), base, ".action");
			return case_fail(f, jpath, "expected \"allow\" or \"deny\"%s", "");
		}
		tc->want_action = a;
	}
	if (rule != NULL) {
		if (!json_is_string(rule) && !json_is_null(rule)) {
			join_path(jpath, sizeof(jpath), base, ".rule");
			return case_fail(f, jpath, "expected a rule id or null%s", "");
		}
		tc->check_rule = true;
		tc->want_rule = json_string_value(rule);
	}
	if (reason != NULL) {
		if (!json_is_string(reason)) {
			join_path(jpath, sizeof(jpath), base, ".reason");
			return case_fail(f, jpath, "expected a reason name such as \"rule_match\"%s",
					 "");
		}
		tc->want_reason = json_string_value(reason);
	}
	return 0;
}

/* Validates case i into tc. Returns 0 or -errno (already reported). */
static int parse_case(const struct test_file *f, json_t *o, size_t i, struct test_case *tc)
{
	static const char *const keys[] = { "name", "description", "request", "body", "src",
					    "dst", "expect", NULL };
	char base[PC_CTL_PATH_LEN], jpath[PC_CTL_PATH_LEN + 64];
	bool has_port;
	snprintf(base, sizeof(base), "$.tests[%zu]", i);
	if (!json_is_object(o))
		return case_fail(f, base, "expected a test case object%s", "");
	int rc = check_case_keys(f, base, o, keys);
	if (rc != 0)
		return rc;
	json_t *name = json_object_get(o, "name"), *request = json_object_get(o, "request");
	json_t *src = json_object_get(o, "src"), *dst = json_object_get(o, "dst");
	json_t *expect = json_object_get(o, "expect"), *body = json_object_get(o, "body");
	if (!json_is_string(name) || json_string_length(name) == 0) {
		join_path(jpath, sizeof(jpath), base, name ? ".name" : "");
		return case_fail(f, jpath, "%s", name ? "expected a non-empty name string"
						       : "a test case needs \"name\"");
	}
	tc->name = json_string_value(name);
	if (request == NULL)
		return case_fail(f, base, "test case \"%s\" needs \"request\"", tc->name);
	/* "body": a string is sent as it is; any other JSON value is sent
	 * serialised (compact), so AI request bodies read naturally. */
	char *body_text = NULL;
	size_t body_len = 0;
	if (body != NULL) {
		if (json_is_string(body)) {
			body_len = json_string_length(body);
			body_text = malloc(body_len + 1);
			if (body_text != NULL)
				memcpy(body_text, json_string_value(body), body_len + 1);
		} else {
			body_text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY |
							     JSON_PRESERVE_ORDER);
			body_len = body_text != NULL ? strlen(body_text) : 0;
		}
		if (body_text == NULL)
			return -ENOMEM;
	}
	join_path(jpath, sizeof(jpath), base, ".request");
	if (json_is_string(request)) {
		/* A raw request carries its own framing: the body follows it
		 * as is, and the request's Content-Length or chunked coding
		 * says how much of it the engine reads. */
		size_t head_len = json_string_length(request);
		tc->request_len = head_len + body_len;
		tc->request = malloc(tc->request_len + 1);
		if (tc->request == NULL) {
			free(body_text);
			return -ENOMEM;
		}
		memcpy(tc->request, json_string_value(request), head_len);
		if (body_len > 0)
			memcpy(tc->request + head_len, body_text, body_len);
		tc->request[tc->request_len] = '\0';
		free(body_text);
	} else if (json_is_object(request)) {
		rc = build_request(f, jpath, request, body_text, body_len, tc);
		free(body_text);
		if (rc != 0)
			return rc;
	} else {
		free(body_text);
		return case_fail(f, jpath, "expected a raw request string or an object with "
					   "\"method\", \"path\", \"host\", \"headers\"%s", "");
	}
	if (src != NULL && (!json_is_string(src) ||
			    pc_ctl_parse_endpoint(json_string_value(src), &tc->req.src,
						  &tc->req.sport, &has_port) != 0)) {
		join_path(jpath, sizeof(jpath), base, ".src");
		return case_fail(f, jpath, "expected \"IP[:PORT]\" or \"[IPv6]:PORT\"%s", "");
	}
	if (dst != NULL && (!json_is_string(dst) ||
			    pc_ctl_parse_endpoint(json_string_value(dst), &tc->req.dst,
						  &tc->req.dport, &has_port) != 0 ||
			    !has_port)) {
		join_path(jpath, sizeof(jpath), base, ".dst");
		return case_fail(f, jpath, "expected \"IP:PORT\" or \"[IPv6]:PORT\"%s", "");
	}
	join_path(jpath, sizeof(jpath), base, ".expect");
	if (expect == NULL)
		return case_fail(f, base, "test case \"%s\" needs \"expect\"", tc->name);
	return parse_expect(f, jpath, expect, tc);
}

static bool str_eq_null(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Runs one case; prints its line. Returns true when it passed. */
static bool run_case(const struct pc_policy *p, struct pc_engine_scratch *s,
		     struct pc_http_req *http, uint8_t *body, struct test_case *tc)
{
	struct pc_verdict v;
	pc_ctl_decide_http(p, s, &tc->req, tc->request, tc->request_len, http, body, &v);
	const char *action = pc_action_name((enum pc_action)v.action);
	const char *rule = v.rule >= 0 ? pc_policy_rule_id(p, (uint32_t)v.rule) : NULL;
	const char *reason = pc_verdict_reason_name(&v);
	bool pass = (tc->want_action == NULL || strcmp(tc->want_action, action) == 0) &&
		    (!tc->check_rule || str_eq_null(tc->want_rule, rule)) &&
		    (tc->want_reason == NULL || strcmp(tc->want_reason, reason) == 0);
	/* An expectation left out is shown as "*": it matches anything. */
	printf("%s  %s: expected action=%s rule=%s reason=%s, got action=%s rule=%s reason=%s\n",
	       pass ? "PASS" : "FAIL", tc->name, tc->want_action ? tc->want_action : "*",
	       tc->check_rule ? (tc->want_rule ? tc->want_rule : "null") : "*",
	       tc->want_reason ? tc->want_reason : "*", action, rule ? rule : "null", reason);
	return pass;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return NULL;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (nb == NULL) {
				free(buf);
				fclose(fp);
				errno = ENOMEM;
				return NULL;
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, 4096, fp);
		n += r;
		if (r < 4096)
			break;
	}
	int err = ferror(fp) ? EIO : 0;
	fclose(fp);
	if (err) {
		free(buf);
		errno = err;
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* The command. Exit 0 every case passed, 1 a case failed or the policy or
 * a case is malformed, 2 a wrong command line. Main thread. */
int pc_ctl_policy_test(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	enum { O_NOW = 256 };
	static const struct option opts[] = {
		{ "now", required_argument, NULL, O_NOW },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int64_t now = (int64_t)time(NULL);
	char optbuf[64];
	int c;

	(void)cmd;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_NOW: {
			char *end;
			errno = 0;
			long long t = strtoll(optarg, &end, 10);
			if (errno || end == optarg || *end != '\0' || t < 0)
				return bad(test_usage, "--now: expected seconds since the epoch, got \"%s\"",
					   optarg);
			now = (int64_t)t;
			break;
		}
		case 'h':
			printf("usage: portcullisctl %s\n", test_usage);
			return EXIT_OK;
		case ':':
			return bad(test_usage, "option %s needs a value", refused(argv, optbuf, sizeof(optbuf)));
		default:
			return bad(test_usage, "unknown option %s", refused(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (argc - optind != 1)
		return bad(test_usage, "%s", argc - optind < 1 ? "policy test needs a FILE"
							      : "policy test takes one FILE");
	struct test_file f = { .path = argv[optind] };
	char err[PC_CTL_ERR_LEN];
	/* The policy first: its own errors are the loader's, and a case
	 * cannot be judged against a policy that does not load. */
	struct pc_policy *p = pc_policy_build_file(f.path, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "%s\n", err);
		return EXIT_FAIL;
	}
	int rc = EXIT_FAIL;
	json_t *root = NULL;
	struct test_case *cases = NULL;
	size_t n_cases = 0;
	struct pc_engine_scratch *s = NULL;
	struct pc_http_req *http = NULL;
	uint8_t *body = NULL;

	f.text = read_file(f.path, &f.len);
	if (f.text == NULL) {
		fprintf(stderr, "%s: %s\n", f.path, strerror(errno));
		goto out;
	}
	json_error_t jerr;
	root = json_loadb(f.text, f.len, 0, &jerr);
	if (root == NULL) {
		fprintf(stderr, "%s:%d: %s\n", f.path, jerr.line, jerr.text);
		goto out;
	}
	json_t *tests = json_object_get(root, "tests");
	if (tests == NULL) {
		fprintf(stderr, "%s: $: no \"tests\" to run\n", f.path);
		goto out;
	}
	if (!json_is_array(tests) || json_array_size(tests) == 0) {
		case_fail(&f, "$.tests", "expected a non-empty array of test cases%s", "");
		goto out;
	}
	n_cases = json_array_size(tests);
	cases = calloc(n_cases, sizeof(*cases));
	http = calloc(1, sizeof(*http));
	body = malloc(PC_POLICY_MAX_BODY_WINDOW);
	s = pc_engine_scratch_new(p);
	if (cases == NULL || http == NULL || body == NULL || s == NULL) {
		fprintf(stderr, "portcullisctl: %s\n", strerror(errno ? errno : ENOMEM));
		goto out;
	}
	/* All cases are checked before any runs: a table with a malformed
	 * case in its middle would read as a partial pass. */
	for (size_t i = 0; i < n_cases; i++) {
		cases[i].req.l4_proto = PC_PROTO_TCP;
		cases[i].req.now_s = now;
		if (parse_case(&f, json_array_get(tests, i), i, &cases[i]) != 0)
			goto out;
		for (size_t j = 0; j < i; j++) {
			if (strcmp(cases[j].name, cases[i].name) == 0) {
				char jpath[PC_CTL_PATH_LEN];
				snprintf(jpath, sizeof(jpath), "$.tests[%zu].name", i);
				case_fail(&f, jpath, "test case name \"%s\" is used twice", cases[i].name);
				goto out;
			}
		}
	}
	size_t passed = 0;
	for (size_t i = 0; i < n_cases; i++)
		passed += run_case(p, s, http, body, &cases[i]);
	printf("%zu passed, %zu failed\n", passed, n_cases - passed);
	rc = passed == n_cases ? EXIT_OK : EXIT_FAIL;
out:
	if (cases != NULL)
		for (size_t i = 0; i < n_cases; i++)
			free(cases[i].request);
	free(cases);
	free(http);
	free(body);
	pc_engine_scratch_free(s);
	json_decref(root);
	free(f.text);
	pc_policy_free(p);
	return rc;
}

/* ---- policy diff ---- */

/* A list compared as a set: its items' JSON texts sorted. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fields that mean nothing to the dataplane. */
static bool ignored_field(const char *key)
{
	return strcmp(key, "description") == 0 || strcmp(key, "tests") == 0;
}

static bool value_equal(json_t *a, json_t *b);

/* Two arrays with the same items in any order. */
static bool set_equal(json_t *a, json_t *b)
{
	size_t n = json_array_size(a);
	if (n != json_array_size(b))
		return false;
	char **sa = calloc(n ? n : 1, sizeof(char *)), **sb = calloc(n ? n : 1, sizeof(char *));
	bool eq = sa != NULL && sb != NULL;
	for (size_t i = 0; eq && i < n; i++) {
		sa[i] = json_dumps(json_array_get(a, i), JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
		sb[i] = json_dumps(json_array_get(b, i), JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
		eq = sa[i] != NULL && sb[i] != NULL;
	}
	if (eq) {
		qsort(sa, n, sizeof(char *), cmp_str);
		qsort(sb, n, sizeof(char *), cmp_str);
		for (size_t i = 0; eq && i < n; i++)
			eq = strcmp(sa[i], sb[i]) == 0;
	}
	for (size_t i = 0; i < n && sa != NULL && sb != NULL; i++) {
		free(sa[i]);
		free(sb[i]);
	}
	free(sa);
	free(sb);
	return eq;
}

/* Equal by meaning: objects key by key (descriptions aside), arrays as
 * sets, numbers by value. */
static bool value_equal(json_t *a, json_t *b)
{
	if (json_is_number(a) && json_is_number(b))
		return json_number_value(a) == json_number_value(b);
	if (json_typeof(a) != json_typeof(b))
		return false;
	if (json_is_array(a))
		return set_equal(a, b);
	if (!json_is_object(a))
		return json_equal(a, b);
	const char *key;
	json_t *v;
	json_object_foreach(a, key, v) {
		if (ignored_field(key))
			continue;
		json_t *w = json_object_get(b, key);
		if (w == NULL || !value_equal(v, w))
			return false;
	}
	json_object_foreach(b, key, v) {
		if (!ignored_field(key) && json_object_get(a, key) == NULL)
			return false;
	}
	return true;
}

/* The entry of list named key == name, and its index. */
static json_t *find_named(json_t *list, const char *key, const char *name, size_t *index)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *n = json_string_value(json_object_get(e, key));
		if (n != NULL && strcmp(n, name) == 0) {
			*index = i;
			return e;
		}
	}
	return NULL;
}

/* Appends ", key" to the list in buf; a list too long for buf is cut. */
static void add_field(char *buf, size_t len, size_t *used, const char *key)
{
	if (*used >= len - 1)
		return;
	int n = snprintf(buf + *used, len - *used, "%s%s", *used ? ", " : "", key);
	if (n > 0)
		*used = *used + (size_t)n < len - 1 ? *used + (size_t)n : len - 1;
}

/* Prints "changed kind \"NAME\": a, b" when entries differ. Returns the number
 * of differences printed (0 or 1). */
static unsigned diff_entry(const char *kind, const char *name, json_t *a, json_t *b)
{
	char fields[512] = "";
	size_t used = 0;
	const char *key;
	json_t *v;
	/* Fields in a (changed or removed), then fields only in b (added). */
	json_object_foreach(a, key, v) {
		json_t *w = json_object_get(b, key);
		if (ignored_field(key) || (w != NULL && value_equal(v, w)))
			continue;
		add_field(fields, sizeof(fields), &used, key);
	}
	json_object_foreach(b, key, v) {
		if (ignored_field(key) || json_object_get(a, key) != NULL)
			continue;
		add_field(fields, sizeof(fields), &used, key);
	}
	if (used == 0)
		return 0;
	printf("changed %s \"%s\": %s\n", kind, name, fields);
	return 1;
}

/* Compares the named lists under top-level key list_key. */
static unsigned diff_list(json_t *ra, json_t *rb, const char *list_key, const char *name_key,
			  const char *kind, bool ordered)
{
	json_t *la = json_object_get(ra, list_key), *lb = json_object_get(rb, list_key);
	unsigned n = 0;
	size_t i, j;
	json_t *e;
	json_array_foreach(la, i, e) {
		const char *name = json_string_value(json_object_get(e, name_key));
		json_t *other = find_named(lb, name_key, name, &j);
		if (other == NULL) {
			printf("removed %s \"%s\"\n", kind, name);
			n++;
			continue;
		}
		n += diff_entry(kind, name, e, other);
	}
	json_array_foreach(lb, i, e) {
		const char *name = json_string_value(json_object_get(e, name_key));
		if (find_named(la, name_key, name, &j) == NULL) {
			printf("added %s \"%s\"\n", kind, name);
			n++;
		}
	}
	if (!ordered)
		return n;
	/* First match decides: the relative order of the rules both files
	 * have is part of the policy. */
	size_t prev = 0;
	bool first = true;
	json_array_foreach(la, i, e) {
		const char *name = json_string_value(json_object_get(e, name_key));
		if (find_named(lb, name_key, name, &j) == NULL)
			continue;
		if (!first && j < prev) {
			printf("moved %s \"%s\": now before a %s it followed\n", kind, name, kind);
			n++;
		}
		first = false;
		prev = j;
	}
	return n;
}

static unsigned diff_policies(json_t *a, json_t *b)
{
	static const char *const scalars[] = { "version", "default_action", "deny_response",
					       "body_window_bytes", "path_normalization", "dlp",
					       NULL };
	unsigned n = 0;
	for (const char *const *k = scalars; *k; k++) {
		json_t *va = json_object_get(a, *k), *vb = json_object_get(b, *k);
		if ((va == NULL) != (vb == NULL) || (va != NULL && !value_equal(va, vb))) {
			char *ta = va ? json_dumps(va, JSON_ENCODE_ANY) : NULL;
			char *tb = vb ? json_dumps(vb, JSON_ENCODE_ANY) : NULL;
			printf("changed %s: %s -> %s\n", *k, ta ? ta : "(absent)", tb ? tb : "(absent)");
			free(ta);
			free(tb);
			n++;
		}
	}
	n += diff_list(a, b, "jwt_issuers", "issuer", "jwt_issuer", false);
	n += diff_list(a, b, "identities", "name", "identity", false);
	n += diff_list(a, b, "destinations", "name", "destination", false);
	n += diff_list(a, b, "rules", "id", "rule", true);
	return n;
}

/* Builds path as a policy (so that a file the loader or the compiler
 * refuses is an error, not a difference) and returns its JSON tree, or
 * NULL (reported). */
static json_t *load_for_diff(const char *path)
{
	char err[PC_CTL_ERR_LEN];
	struct pc_policy *p = pc_policy_build_file(path, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	pc_policy_free(p);
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	if (root == NULL)
		fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
	return root;
}

/* The file of the policy the daemon runs, into buf. Returns 0 or -1
 * (reported). */
static int daemon_policy_file(const char *socket, char *buf, size_t len)
{
	char err[PC_CTL_ERR_LEN];
	json_t *resp = pc_cp_request(socket, json_pack("{s:s}", "cmd", "policy.show"),
				     PC_CTL_SHOW_TIMEOUT_MS, err, sizeof(err));
	if (resp == NULL) {
		fprintf(stderr, "portcullisctl: %s\n", err);
		return -1;
	}
	const char *file = json_string_value(json_object_get(resp, "file"));
	int rc = 0;
	if (!json_is_true(json_object_get(resp, "ok"))) {
		const char *e = json_string_value(json_object_get(resp, "error"));
		fprintf(stderr, "portcullisctl: %s\n", e ? e : "the daemon refused the request");
		rc = -1;
	} else if (file == NULL || file[0] == '\0') {
		fprintf(stderr, "portcullisctl: the daemon runs no policy file\n");
		rc = -1;
	} else if ((size_t)snprintf(buf, len, "%s", file) >= len) {
		fprintf(stderr, "portcullisctl: the daemon's policy path is too long\n");
		rc = -1;
	}
	json_decref(resp);
	return rc;
}

/* The command. Exit 0 equal, 1 different or a file does not load, 2 a
 * wrong command line. Main thread. */
int pc_ctl_policy_diff(const struct pc_ctl_cmd *cmd, int argc, char **argv)
{
	enum { O_AGAINST = 256, O_SOCKET, O_INSTANCE };
	static const struct option opts[] = {
		{ "against", required_argument, NULL, O_AGAINST },
		{ "socket", required_argument, NULL, O_SOCKET },
		{ "instance", required_argument, NULL, O_INSTANCE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *against = NULL;
	char socket[108], daemon_file[4096], optbuf[64], shm_name[PC_SHM_NAME_MAX];
	int c;

	(void)cmd;
	pc_cp_socket_path(PC_SHM_DEFAULT_INSTANCE, socket, sizeof(socket));
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case O_AGAINST:
			against = optarg;
			break;
		case O_SOCKET:
			if ((size_t)snprintf(socket, sizeof(socket), "%s", optarg) >= sizeof(socket))
				return bad(diff_usage, "--socket %s: path too long", optarg);
			break;
		case O_INSTANCE:
			if (pc_shm_name(optarg, shm_name, sizeof(shm_name)) < 0 ||
			    pc_cp_socket_path(optarg, socket, sizeof(socket)) != 0)
				return bad(diff_usage, "--instance '%s': not an instance name", optarg);
			break;
		case 'h':
			printf("usage: portcullisctl %s\n", diff_usage);
			return EXIT_OK;
		case ':':
			return bad(diff_usage, "option %s needs a value", refused(argv, optbuf, sizeof(optbuf)));
		default:
			return bad(diff_usage, "unknown option %s", refused(argv, optbuf, sizeof(optbuf)));
		}
	}
	if (argc - optind != 1)
		return bad(diff_usage, "%s", argc - optind < 1 ? "policy diff needs a FILE"
							      : "policy diff takes one FILE");
	if (against == NULL) {
		if (daemon_policy_file(socket, daemon_file, sizeof(daemon_file)) != 0)
			return EXIT_FAIL;
		against = daemon_file;
	}
	/* Read as "what changes going from the reference to FILE". */
	json_t *a = load_for_diff(against);
	json_t *b = a ? load_for_diff(argv[optind]) : NULL;
	if (b == NULL) {
		json_decref(a);
		return EXIT_FAIL;
	}
	unsigned n = diff_policies(a, b);
	json_decref(a);
	json_decref(b);
	if (n == 0)
		printf("no differences\n");
	return n == 0 ? EXIT_OK : EXIT_FAIL;
}
