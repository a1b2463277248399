/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Tests for the strict HTTP/1.1 request-head parser: what valid heads parse
 * to, that every reason in PC_HTTP_REASONS is reachable, the request
 * smuggling corpus, INCOMPLETE for every strict prefix of a valid head, the
 * line and head size bounds at their exact edges, and that every string the
 * parser returns lies inside the head it was given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/http_parse.h"
#include "pc_test.h"

static struct pc_http_req req;

/* Parse a string literal, embedded NULs included. */
#define PARSE(lit) pc_http_parse_head((lit), sizeof(lit) - 1, &req)

#define STR_EQ(s, lit) CU_ASSERT_TRUE(pc_str_eq((s), (lit), sizeof(lit) - 1))

/* Every string in req points into buf[0..head_len): zero-copy, in bounds. */
static int strs_inside(const char *buf, const struct pc_http_req *r)
{
	const char *lo = buf, *hi = buf + r->head_len;
#define IN(s) ((s).p >= lo && (s).p + (s).len <= hi)
	if (!IN(r->method_str) || !IN(r->target) || !IN(r->path) || !IN(r->query) || !IN(r->host))
		return 0;
	for (unsigned k = 0; k < r->n_headers; k++)
		if (!IN(r->headers[k].name) || !IN(r->headers[k].value))
			return 0;
#undef IN
	return 1;
}

static void test_get_origin_form(void)
{
	static const char h[] = "GET /v1/models?limit=5&x=%20y HTTP/1.1\r\n"
				"Host: API.example.com:8443\r\n"
				"User-Agent:   curl/8.0  \t\r\n"
				"Accept: */*\r\n"
				"\r\n";
	CU_ASSERT_EQUAL_FATAL(PARSE(h), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_GET);
	STR_EQ(req.method_str, "GET");
	STR_EQ(req.target, "/v1/models?limit=5&x=%20y");
	STR_EQ(req.path, "/v1/models");
	STR_EQ(req.query, "limit=5&x=%20y");
	STR_EQ(req.host, "API.example.com");
	CU_ASSERT_EQUAL(req.host_port, 8443);
	CU_ASSERT_EQUAL(req.version_minor, 1);
	CU_ASSERT_EQUAL(req.chunked, 0);
	CU_ASSERT_EQUAL(req.content_length, -1);
	CU_ASSERT_EQUAL(req.head_len, sizeof(h) - 1);
	CU_ASSERT_EQUAL_FATAL(req.n_headers, 3);
	STR_EQ(req.headers[0].name, "Host");
	STR_EQ(req.headers[1].value, "curl/8.0");
	STR_EQ(req.headers[2].value, "*/*");
	/* Zero-copy: the strings are the caller's bytes, not copies. */
	CU_ASSERT_PTR_EQUAL(req.method_str.p, h);
	CU_ASSERT_PTR_EQUAL(req.path.p, h + 4);
	CU_ASSERT_TRUE(strs_inside(h, &req));
}

static void test_post_with_body_after_head(void)
{
	static const char h[] = "POST /v1/chat/completions HTTP/1.1\r\n"
				"Host: llm.internal\r\n"
				"Content-Length: 17\r\n"
				"\r\n"
				"{\"model\":\"gpt-x\"}"
				"GET / HTTP/1.1\r\n";
	CU_ASSERT_EQUAL_FATAL(PARSE(h), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_POST);
	CU_ASSERT_EQUAL(req.content_length, 17);
	CU_ASSERT_EQUAL(req.head_len, strstr(h, "{") - h);
	STR_EQ(req.query, "");
	CU_ASSERT_PTR_NOT_NULL(req.query.p);
	CU_ASSERT_EQUAL(req.host_port, 0);
	CU_ASSERT_TRUE(strs_inside(h, &req));
}

static void test_head_options_other(void)
{
	CU_ASSERT_EQUAL_FATAL(PARSE("HEAD /health HTTP/1.1\r\nHost: a\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_HEAD);
	STR_EQ(req.path, "/health");

	CU_ASSERT_EQUAL_FATAL(PARSE("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_OPTIONS);
	STR_EQ(req.path, "*");
	CU_ASSERT_EQUAL(req.query.len, 0);

	/* A valid token that is no standard method: OTHER; methods are
	 * case-sensitive, so "get" is one too. */
	CU_ASSERT_EQUAL_FATAL(PARSE("PURGE /c HTTP/1.1\r\nHost: a\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_OTHER);
	STR_EQ(req.method_str, "PURGE");
	CU_ASSERT_EQUAL_FATAL(PARSE("get / HTTP/1.1\r\nHost: a\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_OTHER);

	CU_ASSERT_EQUAL_FATAL(PARSE("DELETE /k/1 HTTP/1.1\r\nHost: a\r\n"
				    "Transfer-Encoding: chunked\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_DELETE);
	CU_ASSERT_EQUAL(req.chunked, 1);
	CU_ASSERT_EQUAL(req.content_length, -1);
}

static void test_absolute_form(void)
{
	static const char h[] = "GET hTTp://Api.Example.com/a/b?c=d HTTP/1.1\r\n"
				"Host: api.example.COM\r\n\r\n";
	CU_ASSERT_EQUAL_FATAL(PARSE(h), PC_HTTP_OK);
	STR_EQ(req.path, "/a/b");
	STR_EQ(req.query, "c=d");
	STR_EQ(req.host, "api.example.COM"); /* as sent in Host */
	CU_ASSERT_TRUE(strs_inside(h, &req));

	/* Empty path is "/", still pointing into the buffer. */
	static const char h2[] = "GET http://a.com HTTP/1.1\r\nHost: a.com\r\n\r\n";
	CU_ASSERT_EQUAL_FATAL(PARSE(h2), PC_HTTP_OK);
	STR_EQ(req.path, "/");
	CU_ASSERT_EQUAL(req.query.len, 0);
	CU_ASSERT_TRUE(strs_inside(h2, &req));

	static const char h3[] = "GET http://a.com?q=1 HTTP/1.1\r\nHost: a.com\r\n\r\n";
	CU_ASSERT_EQUAL_FATAL(PARSE(h3), PC_HTTP_OK);
	STR_EQ(req.path, "/");
	STR_EQ(req.query, "q=1");

	/* The default port of http is 80 on either side. */
	CU_ASSERT_EQUAL(PARSE("GET http://a.com:80/ HTTP/1.1\r\nHost: a.com\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(PARSE("GET http://a.com/ HTTP/1.1\r\nHost: a.com:80\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(PARSE("GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n"), PC_HTTP_OK);

	CU_ASSERT_EQUAL(PARSE("GET http://a.com/ HTTP/1.1\r\nHost: b.com\r\n\r\n"), PC_HTTP_HOST_MISMATCH);
	CU_ASSERT_EQUAL(PARSE("GET http://a.com:8080/ HTTP/1.1\r\nHost: a.com\r\n\r\n"),
			PC_HTTP_HOST_MISMATCH);
	CU_ASSERT_EQUAL(PARSE("GET http://a.com/ HTTP/1.1\r\nHost: a.com:81\r\n\r\n"),
			PC_HTTP_HOST_MISMATCH);
	CU_ASSERT_EQUAL(PARSE("GET http://a.com/ HTTP/1.1\r\nHost: a.co\r\n\r\n"), PC_HTTP_HOST_MISMATCH);
	CU_ASSERT_EQUAL(PARSE("GET http://a.com/ HTTP/1.1\r\n\r\n"), PC_HTTP_MISSING_HOST);

	/* HTTP/1.0 without Host: the authority is the host. */
	CU_ASSERT_EQUAL_FATAL(PARSE("GET http://b.org:8080/x HTTP/1.0\r\n\r\n"), PC_HTTP_OK);
	STR_EQ(req.host, "b.org");
	CU_ASSERT_EQUAL(req.host_port, 8080);
	CU_ASSERT_EQUAL(req.version_minor, 0);
}

static void test_http10(void)
{
	CU_ASSERT_EQUAL_FATAL(PARSE("GET / HTTP/1.0\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.version_minor, 0);
	CU_ASSERT_EQUAL(req.host.len, 0);
	CU_ASSERT_PTR_NOT_NULL(req.host.p);
	CU_ASSERT_EQUAL(req.n_headers, 0);
	CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n"), PC_HTTP_DUPLICATE_HOST);
	CU_ASSERT_EQUAL(PARSE("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
			PC_HTTP_BAD_TRANSFER_ENCODING);
}

struct http_case {
	const char *in;
	size_t len;
	enum pc_http_reason want;
};

#define C(lit, want) { (lit), sizeof(lit) - 1, PC_HTTP_##want }
#define RL "GET / HTTP/1.1\r\n"
#define H RL "Host: a\r\n"

/* One input per line; together with the generated inputs in
 * test_every_reason_reached they reach every reason. */
static const struct http_case cases[] = {
	/* accepted */
	C(H "\r\n", OK),
	C("\r\n" H "\r\n", OK), /* one empty line before the request-line */
	C(H "X: caf\xc3\xa9\r\n\r\n", OK), /* obs-text in a value */
	C(H "X:\r\n\r\n", OK),
	C(H "X: a\tb\r\n\r\n", OK),
	C(H "Content-Length: 0\r\n\r\n", OK),
	C(H "Content-Length: 9223372036854775807\r\n\r\n", OK),
	C(H "Content-Length: 0005\r\n\r\n", OK),
	C(H "Transfer-Encoding: CHUNKED\r\n\r\n", OK),
	C(H "Connection: keep-alive, Upgrade\r\n\r\n", OK),
	C(H "Connection: close,,\r\n\r\n", OK),
	C(RL "Host: [2001:db8::1]:8443\r\n\r\n", OK),
	C(RL "Host: 198.18.0.1\r\n\r\n", OK),
	C(RL "Host: 0.0.0.0:65535\r\n\r\n", OK),
	C(RL "Host: my_svc.internal~1\r\n\r\n", OK),
	C(RL "Host: a.b.c.example\r\n\r\n", OK),
	C(RL "Host: 1a.example\r\n\r\n", OK),
	C("GET /p?a=/b?c HTTP/1.1\r\nHost: a\r\n\r\n", OK),
	C("GET /!$&'()*+,;=:@-._~%41[]{}|\\^` HTTP/1.1\r\nHost: a\r\n\r\n", OK),

	/* incomplete */
	C("", INCOMPLETE),
	C("G", INCOMPLETE),
	C(H, INCOMPLETE),
	C(H "\r", INCOMPLETE),
	C("GET http:/", INCOMPLETE),

	C(" / HTTP/1.1\r\nHost: a\r\n\r\n", BAD_METHOD),
	C("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", BAD_METHOD),
	C("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", BAD_METHOD),
	C("G\x01T / HTTP/1.1\r\n", BAD_METHOD),
	C("GE\xc3\x89T / HTTP/1.1\r\n", BAD_METHOD),

	C("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET a/b HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET /a\x00 HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET * HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("OPTIONS */ HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("CONNECT a.com:443 HTTP/1.1\r\nHost: a.com:443\r\n\r\n", BAD_TARGET),
	C("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET a.com:443 HTTP/1.1\r\nHost: a.com\r\n\r\n", BAD_TARGET),
	C("GET https://a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", BAD_TARGET),
	C("GET ftp://a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", BAD_TARGET),
	C("GET http://u:p@a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", BAD_TARGET),
	C("GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n", BAD_TARGET),
	C("GET http://a.com:0/ HTTP/1.1\r\nHost: a.com\r\n\r\n", BAD_TARGET),
	C("GET http:a.com/ HTTP/1.1\r\nHost: a.com\r\n\r\n", BAD_TARGET),
	/* rejected before the line ends */
	C("GET x", BAD_TARGET),
	C("GET #", BAD_TARGET),
	C("GET htp", BAD_TARGET),
	C("CONNECT ", BAD_TARGET),

	C("GET / http/1.1\r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / HTTP/11\r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / HTTP/1.10\r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / HTTP/1.1x\r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / HTTP/1\r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / HTTP/a.1\r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / \r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / /1.1\r\nHost: a\r\n\r\n", BAD_VERSION),
	C("GET / HTX", BAD_VERSION),

	C("GET / HTTP/2.0\r\nHost: a\r\n\r\n", UNSUPPORTED_VERSION),
	C("GET / HTTP/1.2\r\nHost: a\r\n\r\n", UNSUPPORTED_VERSION),
	C("GET / HTTP/0.9\r\n\r\n", UNSUPPORTED_VERSION),
	C("GET / HTTP/3.0", UNSUPPORTED_VERSION),

	C("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", BAD_REQUEST_LINE),
	C("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", BAD_REQUEST_LINE),
	C("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", BAD_REQUEST_LINE),
	C("GET /\r\n\r\n", BAD_REQUEST_LINE), /* HTTP/0.9 */
	C("GET\r\n\r\n", BAD_REQUEST_LINE),
	C("\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", BAD_REQUEST_LINE),
	C("GET /\r", BAD_REQUEST_LINE),

	C("GET / HTTP/1.1\nHost: a\r\n\r\n", BARE_LF),
	C(H "X: a\n\r\n", BARE_LF),
	C(H "\n", BARE_LF),
	C(H "X: a\r\n\n", BARE_LF),
	C(H "X\n", BARE_LF),
	C("\nGET / HTTP/1.1\r\n", BARE_LF),
	C("GET /\n", BARE_LF),
	C("GET\n", BARE_LF),
	C("GET / HTTP/1\n", BARE_LF),

	C("GET / HTTP/1.1\rHost: a\r\n\r\n", BARE_CR),
	C(H "X: a\rb\r\n\r\n", BARE_CR),
	C(H "X: a\r\r\n\r\n", BARE_CR),
	C(H "\rX", BARE_CR),
	C("\rGET / HTTP/1.1\r\n", BARE_CR),
	C("GET /a\rb HTTP/1.1\r\n", BARE_CR),
	C("GET\rx", BARE_CR),
	C(H "X\rY: a\r\n\r\n", BARE_CR),

	C(H "X: a\x00z\r\n\r\n", CONTROL_CHAR),
	C(H "X: \x00\r\n\r\n", CONTROL_CHAR),
	C(H "X: a\x7f\r\n\r\n", CONTROL_CHAR),
	C(H "X: \x1b[31m\r\n\r\n", CONTROL_CHAR),
	C(H "X: a\x0b\r\n\r\n", CONTROL_CHAR),

	C(H ": v\r\n\r\n", BAD_HEADER_NAME),
	C(H "Foo Bar: v\r\n\r\n", BAD_HEADER_NAME),
	C(H "Fo@o: v\r\n\r\n", BAD_HEADER_NAME),
	C(H "Fo\x80o: v\r\n\r\n", BAD_HEADER_NAME),
	C(H "Fo\x00o: v\r\n\r\n", BAD_HEADER_NAME),
	C(H "NoColon\r\n\r\n", BAD_HEADER_NAME),
	C(H "Content_Length: 5\r\n\r\n", BAD_HEADER_NAME),
	C(H "Transfer_Encoding: chunked\r\n\r\n", BAD_HEADER_NAME),
	C(H "X(Y): 1\r\n", BAD_HEADER_NAME),

	C(H "Transfer-Encoding : chunked\r\n\r\n", WS_BEFORE_COLON),
	C(H "Content-Length\t: 5\r\n\r\n", WS_BEFORE_COLON),
	C(RL "Host : a\r\n\r\n", WS_BEFORE_COLON),
	C(H "X  ", WS_BEFORE_COLON),

	C(H "X: a\r\n b\r\n\r\n", OBS_FOLD),
	C(H "X: a\r\n\tb\r\n\r\n", OBS_FOLD),
	C(RL " Host: a\r\n\r\n", OBS_FOLD), /* whitespace after the start-line */

	C(H "Connection: Content-Length\r\n\r\n", BAD_HEADER_VALUE),
	C(H "Connection: close, transfer-encoding\r\n\r\n", BAD_HEADER_VALUE),
	C(H "Connection: HOST\r\n\r\n", BAD_HEADER_VALUE),
	C(H "Connection: close;x\r\n\r\n", BAD_HEADER_VALUE),
	C(H "Connection: a b\r\n\r\n", BAD_HEADER_VALUE),

	C(RL "\r\n", MISSING_HOST),
	C(RL "X-Host: a\r\n\r\n", MISSING_HOST),

	C(H "Host: a\r\n\r\n", DUPLICATE_HOST),
	C(H "hOST: b\r\n\r\n", DUPLICATE_HOST),

	C(RL "Host:\r\n\r\n", BAD_HOST),
	C(RL "Host: \t \r\n\r\n", BAD_HOST),
	C(RL "Host: a:0\r\n\r\n", BAD_HOST),
	C(RL "Host: a:65536\r\n\r\n", BAD_HOST),
	C(RL "Host: a:123456\r\n\r\n", BAD_HOST),
	C(RL "Host: a:\r\n\r\n", BAD_HOST),
	C(RL "Host: a:8o\r\n\r\n", BAD_HOST),
	C(RL "Host: a:-1\r\n\r\n", BAD_HOST),
	C(RL "Host: a b\r\n\r\n", BAD_HOST),
	C(RL "Host: a,b\r\n\r\n", BAD_HOST),
	C(RL "Host: a@b\r\n\r\n", BAD_HOST),
	C(RL "Host: a%2eb\r\n\r\n", BAD_HOST),
	C(RL "Host: a.com.\r\n\r\n", BAD_HOST),
	C(RL "Host: a..com\r\n\r\n", BAD_HOST),
	C(RL "Host: .a.com\r\n\r\n", BAD_HOST),
	C(RL "Host: 127.1\r\n\r\n", BAD_HOST),
	C(RL "Host: 2130706433\r\n\r\n", BAD_HOST),
	C(RL "Host: 0x7f.0.0.1\r\n\r\n", BAD_HOST),
	C(RL "Host: a.0x7f\r\n\r\n", BAD_HOST),
	C(RL "Host: 01.2.3.4\r\n\r\n", BAD_HOST),
	C(RL "Host: 256.1.1.1\r\n\r\n", BAD_HOST),
	C(RL "Host: 1.2.3.4.5\r\n\r\n", BAD_HOST),
	C(RL "Host: ::1\r\n\r\n", BAD_HOST),
	C(RL "Host: [::1\r\n\r\n", BAD_HOST),
	C(RL "Host: [::g]\r\n\r\n", BAD_HOST),
	C(RL "Host: [1:2:3]\r\n\r\n", BAD_HOST),
	C(RL "Host: [fe80::1%25eth0]\r\n\r\n", BAD_HOST),
	C(RL "Host: [v1.x]\r\n\r\n", BAD_HOST),
	C(RL "Host: [::1]x\r\n\r\n", BAD_HOST),
	C(RL "Host: caf\xc3\xa9.com\r\n\r\n", BAD_HOST),
	C(RL "Host: a\r\nHost: a\r\n\r\n", DUPLICATE_HOST),

	C("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n", HOST_MISMATCH),

	C(H "Content-Length: +5\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: -1\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 5, 5\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 5,5\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 5 5\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length:\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 0x10\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 1e3\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 9223372036854775808\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 18446744073709551626\r\n\r\n", BAD_CONTENT_LENGTH),
	C(H "Content-Length: 00000000000000000001\r\n\r\n", BAD_CONTENT_LENGTH),

	C(H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n", DUPLICATE_CONTENT_LENGTH),
	C(H "Content-Length: 5\r\ncontent-length: 6\r\n\r\n", DUPLICATE_CONTENT_LENGTH),

	C(H "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", CL_AND_TE),
	C(H "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", CL_AND_TE),

	C(H "Transfer-Encoding: xchunked\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: chunkedx\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: gzip, chunked\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: chunked, chunked\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: identity\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding:\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: chunked;q=1\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: \"chunked\"\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", BAD_TRANSFER_ENCODING),
	C(H "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", BAD_TRANSFER_ENCODING),
	C("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n", BAD_TRANSFER_ENCODING),
};

/* Expected and got, by name, so a failure says which input broke. */
static int check_case(const struct http_case *c)
{
	enum pc_http_reason got = pc_http_parse_head(c->in, c->len, &req);
	if (got != c->want) {
		fprintf(stderr, "\n  case \"");
		for (size_t k = 0; k < c->len; k++) {
			unsigned char ch = (unsigned char)c->in[k];
			if (ch >= 0x20 && ch < 0x7f)
				fputc(ch, stderr);
			else
				fprintf(stderr, "\\x%02x", ch);
		}
		fprintf(stderr, "\": want %s, got %s\n", pc_http_reason_name(c->want),
			pc_http_reason_name(got));
		return 0;
	}
	if (got == PC_HTTP_OK && !strs_inside(c->in, &req)) {
		fprintf(stderr, "\n  case %zu bytes: a string points outside the head\n", c->len);
		return 0;
	}
	return 1;
}

static void test_case_table(void)
{
	for (size_t k = 0; k < PC_ARRAY_SIZE(cases); k++)
		CU_ASSERT_TRUE(check_case(&cases[k]));
}

/* Build "GET / HTTP/1.1\r\nHost: a\r\n" plus filler fields so that the whole
 * head, final CRLF included, is exactly total bytes (total >= 40), or with
 * "Y:" in place of the final CRLF. Returns a malloc'd buffer. Fields are about
 * 1000 bytes: far from the line limit, and few enough that the field count
 * limit is not reached before the head size limit. */
static char *make_head(size_t total, int final_crlf)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: a\r\n";
	char *b = malloc(total + 1);
	size_t at = sizeof(start) - 1, room;

	memcpy(b, start, at);
	room = total - 2;
	while (at < room) {
		size_t left = room - at;
		/* Never leave a remainder shorter than one minimal field. */
		size_t line = left > 2000 ? 1000 : (left > 1000 ? left / 2 : left);
		memcpy(b + at, "X:", 2);
		memset(b + at + 2, 'v', line - 4);
		memcpy(b + at + line - 2, "\r\n", 2);
		at += line;
	}
	if (final_crlf)
		memcpy(b + at, "\r\n", 2);
	else
		memcpy(b + at, "Y:", 2);
	b[total] = '\0';
	return b;
}

static void test_head_size_bounds(void)
{
	char *b;

	/* Exactly PC_HTTP_MAX_HEAD is accepted... */
	b = make_head(PC_HTTP_MAX_HEAD, 1);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, PC_HTTP_MAX_HEAD, &req), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.head_len, PC_HTTP_MAX_HEAD);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, PC_HTTP_MAX_HEAD - 1, &req), PC_HTTP_INCOMPLETE);
	free(b);

	/* ...one byte more is not, whether or not its end has arrived. */
	b = make_head(PC_HTTP_MAX_HEAD + 1, 1);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, PC_HTTP_MAX_HEAD + 1, &req), PC_HTTP_HEAD_TOO_LARGE);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, PC_HTTP_MAX_HEAD, &req), PC_HTTP_HEAD_TOO_LARGE);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, PC_HTTP_MAX_HEAD - 1, &req), PC_HTTP_INCOMPLETE);
	free(b);

	/* A head that never ends is cut at the bound, not read to the end. */
	b = make_head(3 * PC_HTTP_MAX_HEAD, 0);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, 3 * PC_HTTP_MAX_HEAD, &req), PC_HTTP_HEAD_TOO_LARGE);
	free(b);
}

/* A head whose one field line has exactly content bytes before its CRLF. */
static char *make_long_line(size_t content, size_t *len)
{
	static const char start[] = "GET / HTTP/1.1\r\nHost: a\r\n";
	size_t at = sizeof(start) - 1;
	char *b = malloc(at + content + 4);

	memcpy(b, start, at);
	memcpy(b + at, "X: ", 3);
	memset(b + at + 3, 'v', content - 3);
	memcpy(b + at + content, "\r\n\r\n", 4);
	*len = at + content + 4;
	return b;
}

static void test_line_bounds(void)
{
	size_t len;
	char *b;

	b = make_long_line(PC_HTTP_MAX_LINE, &len);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, len, &req), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.headers[1].value.len, PC_HTTP_MAX_LINE - 3);
	/* Cut right after the last content byte and after the CR. */
	CU_ASSERT_EQUAL(pc_http_parse_head(b, len - 4, &req), PC_HTTP_INCOMPLETE);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, len - 3, &req), PC_HTTP_INCOMPLETE);
	free(b);

	b = make_long_line(PC_HTTP_MAX_LINE + 1, &len);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, len, &req), PC_HTTP_LINE_TOO_LONG);
	/* Also while the line has not ended yet. */
	CU_ASSERT_EQUAL(pc_http_parse_head(b, len - 4, &req), PC_HTTP_LINE_TOO_LONG);
	CU_ASSERT_EQUAL(pc_http_parse_head(b, len - 5, &req), PC_HTTP_INCOMPLETE);
	free(b);

	/* A request line: "GET /aaa... HTTP/1.1" of MAX_LINE and MAX_LINE + 1. */
	for (size_t extra = 0; extra < 2; extra++) {
		size_t line = PC_HTTP_MAX_LINE + extra;
		b = malloc(line + 32);
		memcpy(b, "GET /", 5);
		memset(b + 5, 'a', line - 5 - 9);
		memcpy(b + line - 9, " HTTP/1.1\r\nHost: a\r\n\r\n", 22);
		len = line + 13;
		CU_ASSERT_EQUAL(pc_http_parse_head(b, len, &req),
				extra ? PC_HTTP_LINE_TOO_LONG : PC_HTTP_OK);
		if (!extra)
			CU_ASSERT_EQUAL(req.target.len, PC_HTTP_MAX_LINE - 13);
		free(b);
	}
}

/* A head of n fields (Host first) into buf; returns its length. */
static size_t make_fields(char *buf, size_t size, int n)
{
	int at = snprintf(buf, size, "GET / HTTP/1.1\r\nHost: a\r\n");

	for (int k = 1; k < n; k++)
		at += snprintf(buf + at, size - (size_t)at, "X-%d: %d\r\n", k, k);
	at += snprintf(buf + at, size - (size_t)at, "\r\n");
	return (size_t)at;
}

static void test_too_many_headers(void)
{
	char buf[4096];
	size_t len = make_fields(buf, sizeof(buf), PC_HTTP_MAX_HEADERS);

	CU_ASSERT_EQUAL(pc_http_parse_head(buf, len, &req), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.n_headers, PC_HTTP_MAX_HEADERS);
	STR_EQ(req.headers[PC_HTTP_MAX_HEADERS - 1].name, "X-63");

	len = make_fields(buf, sizeof(buf), PC_HTTP_MAX_HEADERS + 1);
	CU_ASSERT_EQUAL(pc_http_parse_head(buf, len, &req), PC_HTTP_TOO_MANY_HEADERS);
	/* Known as soon as the extra field starts. */
	CU_ASSERT_EQUAL(pc_http_parse_head(buf, len - 10, &req), PC_HTTP_TOO_MANY_HEADERS);
}

/* Coverage of the reason list itself: every reason is produced by some input
 * in this file. The generated inputs are rebuilt here, small. */
static void test_every_reason_reached(void)
{
	bool seen[PC_HTTP_REASON_COUNT] = { false };
	size_t len;
	char *b;

	for (size_t k = 0; k < PC_ARRAY_SIZE(cases); k++)
		seen[pc_http_parse_head(cases[k].in, cases[k].len, &req)] = true;
	b = make_head(PC_HTTP_MAX_HEAD + 1, 1);
	seen[pc_http_parse_head(b, PC_HTTP_MAX_HEAD + 1, &req)] = true;
	free(b);
	char fields[4096];
	len = make_fields(fields, sizeof(fields), PC_HTTP_MAX_HEADERS + 1);
	seen[pc_http_parse_head(fields, len, &req)] = true;
	b = make_long_line(PC_HTTP_MAX_LINE + 1, &len);
	seen[pc_http_parse_head(b, len, &req)] = true;
	free(b);

	for (int r = 0; r < PC_HTTP_REASON_COUNT; r++) {
		if (!seen[r])
			fprintf(stderr, "\n  no input reaches %s\n", pc_http_reason_name(r));
		CU_ASSERT_TRUE(seen[r]);
	}
}

/* The classic request-smuggling corpus, each with the reason it must get. */
static void test_smuggling_corpus(void)
{
	CU_ASSERT_EQUAL(PARSE(H "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"),
			PC_HTTP_CL_AND_TE);
	CU_ASSERT_EQUAL(PARSE(H "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
			PC_HTTP_CL_AND_TE);
	CU_ASSERT_EQUAL(PARSE(H "Transfer-Encoding: xchunked\r\n\r\n"), PC_HTTP_BAD_TRANSFER_ENCODING);
	CU_ASSERT_EQUAL(PARSE(H "Transfer-Encoding : chunked\r\n\r\n"), PC_HTTP_WS_BEFORE_COLON);
	CU_ASSERT_EQUAL(PARSE(H "Transfer-Encoding: chunked \r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(PARSE(H "Transfer-Encoding:\tchunked\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.chunked, 1);
	CU_ASSERT_EQUAL(PARSE(H "Transfer-Encoding:\r\n chunked\r\n\r\n"), PC_HTTP_OBS_FOLD);
	CU_ASSERT_EQUAL(PARSE(H "X: y\r\n Transfer-Encoding: chunked\r\n\r\n"), PC_HTTP_OBS_FOLD);
	CU_ASSERT_EQUAL(PARSE(H "Transfer-Encoding: \x0b" "chunked\r\n\r\n"), PC_HTTP_CONTROL_CHAR);
	CU_ASSERT_EQUAL(PARSE(H "Content-Length: +5\r\n\r\n"), PC_HTTP_BAD_CONTENT_LENGTH);
	CU_ASSERT_EQUAL(PARSE(H "Content-Length: 5, 5\r\n\r\n"), PC_HTTP_BAD_CONTENT_LENGTH);
	CU_ASSERT_EQUAL(PARSE(H "Content-Length: 5\r\nContent-Length: 5\r\n\r\n"),
			PC_HTTP_DUPLICATE_CONTENT_LENGTH);
	CU_ASSERT_EQUAL(PARSE(H "Content-Length: 5\r\nContent-Length: 50\r\n\r\n"),
			PC_HTTP_DUPLICATE_CONTENT_LENGTH);
	CU_ASSERT_EQUAL(PARSE("GET / HTTP/1.1\nHost: a\n\n"), PC_HTTP_BARE_LF);
	CU_ASSERT_EQUAL(PARSE(H "Content-Length: 5\n\r\n"), PC_HTTP_BARE_LF);
	CU_ASSERT_EQUAL(PARSE(H "X: a\rContent-Length: 5\r\n\r\n"), PC_HTTP_BARE_CR);
	CU_ASSERT_EQUAL(PARSE(H "X: a\x00\r\nContent-Length: 5\r\n\r\n"), PC_HTTP_CONTROL_CHAR);
	CU_ASSERT_EQUAL(PARSE(H "Content Length: 5\r\n\r\n"), PC_HTTP_BAD_HEADER_NAME);
	CU_ASSERT_EQUAL(PARSE(H "Transfer_Encoding: chunked\r\n\r\n"), PC_HTTP_BAD_HEADER_NAME);
	CU_ASSERT_EQUAL(PARSE(H "Connection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n"),
			PC_HTTP_BAD_HEADER_VALUE);
	CU_ASSERT_EQUAL(PARSE(RL "Host: a\r\nHost: b\r\n\r\n"), PC_HTTP_DUPLICATE_HOST);
	CU_ASSERT_EQUAL(PARSE("GET http://a/ HTTP/1.1\r\nHost: b\r\n\r\n"), PC_HTTP_HOST_MISMATCH);
}

/* Every strict prefix of a valid head is INCOMPLETE, and the whole is OK. */
static void test_every_prefix_incomplete(void)
{
	static const char *const heads[] = {
		"GET /v1/models?x=1 HTTP/1.1\r\nHost: api.example.com:8443\r\n"
		"Authorization: Bearer abc.def.ghi\r\nAccept:  */* \r\n\r\n",
		"\r\nPOST http://[2001:db8::1]:8080/mcp HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n"
		"Content-Length: 42\r\nConnection: keep-alive\r\nX:\r\n\r\n",
		"OPTIONS * HTTP/1.0\r\n\r\n",
		"PATCH http://a.b HTTP/1.1\r\nHOST: A.B\r\ntransfer-encoding: Chunked\r\n\r\n",
	};

	for (size_t h = 0; h < PC_ARRAY_SIZE(heads); h++) {
		size_t len = strlen(heads[h]);
		size_t bad = 0;
		for (size_t k = 0; k < len; k++)
			if (pc_http_parse_head(heads[h], k, &req) != PC_HTTP_INCOMPLETE)
				bad++;
		CU_ASSERT_EQUAL(bad, 0);
		CU_ASSERT_EQUAL(pc_http_parse_head(heads[h], len, &req), PC_HTTP_OK);
		CU_ASSERT_EQUAL(req.head_len, len);
	}
}

/* Mutate one or two bytes of a valid head many times: the parser must never
 * read past len (ASan builds check), and whatever it accepts must still have
 * every string inside the head. */
static void test_mutations_stay_in_bounds(void)
{
	static const char base[] = "POST http://api.example.com/v1/x?y=1 HTTP/1.1\r\n"
				   "Host: api.example.com\r\nContent-Length: 12\r\n"
				   "Connection: keep-alive\r\nX-Key: k\r\n\r\n";
	static const unsigned char alphabet[] = { '\r', '\n', ' ', '\t', ':', '\0', '#', '?',
						  '/', ',', 0x80, 0xff, '0', 'a', '_', '[' };
	size_t n = sizeof(base) - 1, bad = 0, ok = 0;
	unsigned seed = 12345;

	for (int it = 0; it < 20000; it++) {
		char *b = malloc(n);
		memcpy(b, base, n);
		for (int m = 0; m < 2; m++) {
			seed = seed * 1103515245u + 12345u;
			size_t at = (seed >> 8) % n;
			seed = seed * 1103515245u + 12345u;
			b[at] = (char)alphabet[(seed >> 8) % sizeof(alphabet)];
		}
		size_t len = (it & 1) ? n : (seed >> 4) % (n + 1);
		enum pc_http_reason r = pc_http_parse_head(b, len, &req);
		if ((unsigned)r >= PC_HTTP_REASON_COUNT)
			bad++;
		if (r == PC_HTTP_OK) {
			ok++;
			if (req.head_len > len || !strs_inside(b, &req))
				bad++;
		}
		free(b);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_TRUE(ok > 0);
}

/* Host of exactly host_len bytes made of labels of label_len 'a's. */
static enum pc_http_reason parse_host_of(size_t host_len, size_t label_len)
{
	char buf[512];
	int at = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: ");

	for (size_t k = 0; k < host_len; k++)
		buf[at++] = (k % (label_len + 1)) == label_len ? '.' : 'a';
	at += snprintf(buf + at, sizeof(buf) - (size_t)at, "\r\n\r\n");
	return pc_http_parse_head(buf, (size_t)at, &req);
}

static void test_host_length_bounds(void)
{
	CU_ASSERT_EQUAL(parse_host_of(63, 63), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.host.len, 63);
	CU_ASSERT_EQUAL(parse_host_of(64, 64), PC_HTTP_BAD_HOST);
	CU_ASSERT_EQUAL(parse_host_of(130, 64), PC_HTTP_BAD_HOST); /* a long first label */
	CU_ASSERT_EQUAL(parse_host_of(253, 63), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.host.len, 253);
	CU_ASSERT_EQUAL(parse_host_of(254, 62), PC_HTTP_BAD_HOST);
}

/* The byte classes, checked for all 256 values against the grammar written
 * out independently here, in every position of a 40-byte run (so both the
 * 16-byte block scan and the byte-at-a-time tail see each value), and once
 * more with the input cut right after the byte. */
static int is_tchar(int c)
{
	return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static enum pc_http_reason parse_with(const char *pre, int at, int c, const char *post, int cut)
{
	char buf[256];
	size_t n = strlen(pre);

	memcpy(buf, pre, n);
	memset(buf + n, 'v', 40);
	buf[n + (size_t)at] = (char)c;
	memcpy(buf + n + 40, post, strlen(post));
	return pc_http_parse_head(buf, cut ? n + (size_t)at + 1 : n + 40 + strlen(post), &req);
}

static void test_every_byte_in_every_position(void)
{
	size_t bad = 0;

	for (int c = 0; c < 256; c++) {
		int vchar = c > 0x20 && c < 0x7f;
		enum pc_http_reason crlf = c == '\r' ? PC_HTTP_BARE_CR : PC_HTTP_BARE_LF;
		int is_crlf = c == '\r' || c == '\n';
		enum pc_http_reason want, got;

		/* field-value: HTAB, SP, VCHAR and obs-text; CTLs rejected. */
		for (int at = 0; at < 40; at++) {
			int ok = c == '\t' || c == ' ' || vchar || c >= 0x80;
			/* Leading OWS, then a byte: position 0 is still valid. */
			want = ok ? PC_HTTP_OK : is_crlf ? crlf : PC_HTTP_CONTROL_CHAR;
			got = parse_with(H "X: ", at, c, "\r\n\r\n", 0);
			bad += got != want;
			want = ok || c == '\r' ? PC_HTTP_INCOMPLETE : want;
			got = parse_with(H "X: ", at, c, "", 1);
			bad += got != want;
		}
		/* request-target: VCHAR except '#'. SP ends the target early,
		 * which is a different test. */
		if (c != ' ') {
			for (int at = 0; at < 40; at++) {
				int ok = vchar && c != '#';
				want = ok ? PC_HTTP_OK : is_crlf ? crlf : PC_HTTP_BAD_TARGET;
				got = parse_with("GET /", at, c, " HTTP/1.1\r\nHost: a\r\n\r\n", 0);
				bad += got != want;
				/* Cut after the byte: a lone CR there can never
				 * be valid. */
				if (c == '\r')
					want = PC_HTTP_BAD_REQUEST_LINE;
				else if (ok)
					want = PC_HTTP_INCOMPLETE;
				got = parse_with("GET /", at, c, "", 1);
				bad += got != want;
			}
		}
		/* field-name: a token; ':' ends it. */
		if (c != ':' && c != ' ' && c != '\t') {
			for (int at = 1; at < 40; at++) {
				want = is_tchar(c) ? PC_HTTP_OK
				       : is_crlf   ? crlf
						   : PC_HTTP_BAD_HEADER_NAME;
				got = parse_with(H, at, c, ": v\r\n\r\n", 0);
				bad += got != want;
			}
		}
		/* method: a token. */
		if (c != ' ') {
			want = is_tchar(c) ? PC_HTTP_OK : is_crlf ? crlf : PC_HTTP_BAD_METHOD;
			char m[] = "G?T / HTTP/1.1\r\nHost: a\r\n\r\n";
			m[1] = (char)c;
			got = pc_http_parse_head(m, sizeof(m) - 1, &req);
			bad += got != want;
		}
		if (bad) {
			fprintf(stderr, "\n  byte 0x%02x misclassified\n", c);
			break;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_header_find(void)
{
	CU_ASSERT_EQUAL_FATAL(PARSE(RL "Host: a\r\nX-Api-Key: k1\r\nx-api-key: k2\r\nAccept: */*\r\n\r\n"),
			      PC_HTTP_OK);
	const struct pc_http_header *h = pc_http_header_find(&req, "x-API-key", 9);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	STR_EQ(h->value, "k1"); /* the first one */
	CU_ASSERT_PTR_EQUAL(h, &req.headers[1]);
	CU_ASSERT_PTR_NOT_NULL(pc_http_header_find(&req, "ACCEPT", 6));
	CU_ASSERT_PTR_NOT_NULL(pc_http_header_find(&req, "host", 4));
	CU_ASSERT_PTR_NULL(pc_http_header_find(&req, "X-Api-Ke", 8));
	CU_ASSERT_PTR_NULL(pc_http_header_find(&req, "X-Api-Key2", 10));
	CU_ASSERT_PTR_NULL(pc_http_header_find(&req, "X_Api_Key", 9));
	CU_ASSERT_PTR_NULL(pc_http_header_find(&req, "Authorization", 13));
}

static void test_method_from_name(void)
{
	static const struct {
		const char *name;
		uint16_t bit;
	} m[] = {
		{ "GET", PC_HTTP_GET },         { "HEAD", PC_HTTP_HEAD },
		{ "POST", PC_HTTP_POST },       { "PUT", PC_HTTP_PUT },
		{ "DELETE", PC_HTTP_DELETE },   { "CONNECT", PC_HTTP_CONNECT },
		{ "OPTIONS", PC_HTTP_OPTIONS }, { "TRACE", PC_HTTP_TRACE },
		{ "PATCH", PC_HTTP_PATCH },
	};
	for (size_t k = 0; k < PC_ARRAY_SIZE(m); k++)
		CU_ASSERT_EQUAL(pc_http_method_from_name(m[k].name, strlen(m[k].name)), m[k].bit);
	CU_ASSERT_EQUAL(pc_http_method_from_name("get", 3), 0);
	CU_ASSERT_EQUAL(pc_http_method_from_name("GETS", 4), 0);
	CU_ASSERT_EQUAL(pc_http_method_from_name("GE", 2), 0);
	CU_ASSERT_EQUAL(pc_http_method_from_name("", 0), 0);
	/* Length, not NUL, ends the name. */
	CU_ASSERT_EQUAL(pc_http_method_from_name("POSTX", 4), PC_HTTP_POST);

	CU_ASSERT_EQUAL(PARSE("TRACE / HTTP/1.1\r\nHost: a\r\n\r\n"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_TRACE);
	CU_ASSERT_EQUAL(PARSE("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"), PC_HTTP_OK);
	CU_ASSERT_EQUAL(req.method, PC_HTTP_PUT);
	CU_ASSERT_EQUAL(req.content_length, 3);
}

static void test_reason_names(void)
{
	CU_ASSERT_STRING_EQUAL(pc_http_reason_name(PC_HTTP_OK), "ok");
	CU_ASSERT_STRING_EQUAL(pc_http_reason_name(PC_HTTP_CL_AND_TE),
			       "http_content_length_and_transfer_encoding");
	CU_ASSERT_STRING_EQUAL(pc_http_reason_name(PC_HTTP_BARE_LF), "http_bare_lf");
	for (int r = 0; r < PC_HTTP_REASON_COUNT; r++) {
		const char *a = pc_http_reason_name(r);
		CU_ASSERT_PTR_NOT_NULL_FATAL(a);
		for (int s = r + 1; s < PC_HTTP_REASON_COUNT; s++)
			CU_ASSERT_STRING_NOT_EQUAL(a, pc_http_reason_name(s));
	}
	CU_ASSERT_PTR_NOT_NULL(pc_http_reason_name(PC_HTTP_REASON_COUNT));
}

/* The cheap look at a split head's first bytes: a method token then SP, or
 * a token so far; anything else is parsed at once. Every prefix of a valid
 * request passes it. */
static void test_may_start_request(void)
{
	static const char *const yes[] = { "", "G", "GET", "GET ", "GET /x HTTP/1.1\r\n",
					   "\r\nPOST /v1 HTTP/1.1", "M-SEARCH * HTTP/1.1" };
	static const char *const no[] = { " GET /", "lo\":\"x", "\x16\x03\x01\x02", "GET\t/",
					  "HELLO\r\n", "\r\n\r\nGET / HTTP/1.1",
					  "AVERYLONGMETHODNAMETHATGOESONANDONFOREVER /" };
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		CU_ASSERT_TRUE(pc_http_may_start_request(yes[i], strlen(yes[i])));
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		CU_ASSERT_FALSE(pc_http_may_start_request(no[i], strlen(no[i])));
	static const char req[] = "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\n\r\n";
	for (size_t n = 0; n <= strlen(req); n++)
		CU_ASSERT_TRUE(pc_http_may_start_request(req, n));
}

static CU_TestInfo tests[] = {
	PC_TEST(test_may_start_request),
	PC_TEST(test_get_origin_form),
	PC_TEST(test_post_with_body_after_head),
	PC_TEST(test_head_options_other),
	PC_TEST(test_absolute_form),
	PC_TEST(test_http10),
	PC_TEST(test_case_table),
	PC_TEST(test_smuggling_corpus),
	PC_TEST(test_every_prefix_incomplete),
	PC_TEST(test_head_size_bounds),
	PC_TEST(test_line_bounds),
	PC_TEST(test_too_many_headers),
	PC_TEST(test_every_reason_reached),
	PC_TEST(test_mutations_stay_in_bounds),
	PC_TEST(test_host_length_bounds),
	PC_TEST(test_every_byte_in_every_position),
	PC_TEST(test_header_find),
	PC_TEST(test_method_from_name),
	PC_TEST(test_reason_names),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("http_parse", tests)
