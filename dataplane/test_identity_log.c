/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The identity fields of a decision record (decision_log.h): the verified
 * JWT's issuer and subject, a ClientHello's version and JA4. Formatting
 * only, so no EAL: each record is built by hand, formatted, and the line
 * compared byte for byte (escaping, bounds and the truncation flag
 * included).
 */
#include <stdio.h>
#include <string.h>

#include "../tests/unit/pc_test.h"
#include "decision_log.h"
#include "pkt/pkt_parse.h"
#include "util/addr.h"

static struct pc_dlog_rec base(void)
{
	struct pc_dlog_rec r;
	memset(&r, 0xee, sizeof(r)); /* the fill must reset what it owns */
	struct pc_pkt_meta m;
	memset(&m, 0, sizeof(m));
	pc_addr_parse("198.18.1.10", &m.src);
	pc_addr_parse("198.18.0.2", &m.dst);
	m.sport = 40312;
	m.dport = 443;
	m.l4_proto = PC_PROTO_TCP;
	struct pc_verdict v = { .action = PC_ACTION_ALLOW, .reason = PC_REASON_DEFAULT,
				.rule = -1, .identity = -1 };
	pc_dlog_rec_fill(&r, 0, 2, &m, &v, NULL, (struct pc_str){ 0 });
	r.time_ns = 1795629845123456789ull; /* 2026-11-25T18:04:05.123456Z */
	return r;
}

#define HEAD "{\"time\":\"2026-11-25T18:04:05.123456Z\",\"worker\":0,\"src\":\"198.18.1.10\"," \
	     "\"sport\":40312,\"dst\":\"198.18.0.2\",\"dport\":443,\"proto\":\"tcp\"," \
	     "\"identity\":null,\"credential\":null"
#define TAIL ",\"rule\":null,\"action\":\"allow\",\"reason\":\"default_action\",\"generation\":2}\n"

static void expect(const struct pc_dlog_rec *r, const char *want)
{
	char buf[PC_DLOG_LINE_MAX];
	int n = pc_dlog_format(r, NULL, buf, sizeof(buf));
	CU_ASSERT_FATAL(n > 0);
	if (strcmp(buf, want) != 0)
		fprintf(stderr, "\ngot  %swant %s", buf, want);
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void test_none_after_fill(void)
{
	struct pc_dlog_rec r = base();
	expect(&r, HEAD TAIL);
}

static void test_jwt_fields(void)
{
	struct pc_dlog_rec r = base();
	pc_dlog_rec_jwt(&r, (struct pc_str){ "https://idp.example", 19 },
			(struct pc_str){ "svc-\"tickets\"\\1", 15 });
	expect(&r, HEAD ",\"jwt_issuer\":\"https://idp.example\","
		   "\"jwt_subject\":\"svc-\\\"tickets\\\"\\\\1\"" TAIL);
	/* no "sub": an empty subject, not a missing field */
	r = base();
	pc_dlog_rec_jwt(&r, (struct pc_str){ "i", 1 }, (struct pc_str){ "", 0 });
	expect(&r, HEAD ",\"jwt_issuer\":\"i\",\"jwt_subject\":\"\"" TAIL);
	/* bounded: cut at PC_DLOG_JWT_SUB_MAX and flagged */
	char sub[200], want[1024];
	memset(sub, 's', sizeof(sub));
	r = base();
	pc_dlog_rec_jwt(&r, (struct pc_str){ "i", 1 }, (struct pc_str){ sub, sizeof(sub) });
	CU_ASSERT_EQUAL(r.jwt_sub_len, PC_DLOG_JWT_SUB_MAX);
	snprintf(want, sizeof(want), HEAD ",\"jwt_issuer\":\"i\",\"jwt_subject\":\"%.*s\","
		 "\"jwt_truncated\":true" TAIL, PC_DLOG_JWT_SUB_MAX, sub);
	expect(&r, want);
	/* a new fill forgets them */
	r = base();
	expect(&r, HEAD TAIL);
}

static void test_tls_fields(void)
{
	struct pc_dlog_rec r = base();
	static const char ja4[] = "t13d1516h2_8daaf6152771_e5627efa2ab1";
	pc_dlog_rec_tls(&r, 0x0304, ja4, 36);
	expect(&r, HEAD ",\"tls_version\":\"1.3\",\"ja4\":\"t13d1516h2_8daaf6152771_e5627efa2ab1\"" TAIL);
	r = base();
	pc_dlog_rec_tls(&r, 0x0303, ja4, 0);
	expect(&r, HEAD ",\"tls_version\":\"1.2\"" TAIL);
	r = base();
	pc_dlog_rec_tls(&r, 0x0301, ja4, 36);
	CU_ASSERT_EQUAL(r.ja4_len, 36);
	r.ja4[0] = 's';
	expect(&r, HEAD ",\"tls_version\":\"1.0\",\"ja4\":\"s13d1516h2_8daaf6152771_e5627efa2ab1\"" TAIL);
	/* SSL 3.0 and nonsense are shown as numbers; 0 is "not TLS" */
	r = base();
	pc_dlog_rec_tls(&r, 0x0300, NULL, 0);
	expect(&r, HEAD ",\"tls_version\":\"0x0300\"" TAIL);
	r = base();
	pc_dlog_rec_tls(&r, 0, NULL, 0);
	expect(&r, HEAD TAIL);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_none_after_fill),
	PC_TEST(test_jwt_fields),
	PC_TEST(test_tls_fields),
	CU_TEST_INFO_NULL,
};

PC_TEST_MAIN("identity_log", tests)
