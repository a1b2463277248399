/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Decision record rings and their JSON-lines writer (design in
 * decision_log.h). Formatting happens on the main lcore only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include <rte_errno.h>

#include "decision_log.h"
#include "reasm.h"
#include "util/addr.h"

struct rte_ring *pc_dlog_ring_create(const char *name, unsigned count, int socket)
{
	return rte_ring_create_elem(name, sizeof(struct pc_dlog_rec), count, socket,
				    RING_F_SP_ENQ | RING_F_SC_DEQ);
}

/* A bounded output buffer that remembers overflow instead of failing each
 * call, so the formatter reads as a straight sequence of appends. */
struct pc_sbuf {
	char *p;
	size_t len, cap;
	bool overflow;
};

static void sb_putn(struct pc_sbuf *b, const char *s, size_t n)
{
	if (b->overflow || n > b->cap - b->len) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void sb_puts(struct pc_sbuf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

static void __rte_format_printf(2, 3) sb_printf(struct pc_sbuf *b, const char *fmt, ...)
{
	if (b->overflow)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= b->cap - b->len)
		b->overflow = true;
	else
		b->len += (size_t)n;
}

/* A JSON string (RFC 8259 section 7) from untrusted bytes: quote and
 * backslash escaped, every control byte and every byte outside ASCII as
 * \u00XX, so the output is plain ASCII whatever the packet held. */
static void sb_json_str(struct pc_sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	sb_putn(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			sb_putn(b, e, 2);
		} else if (c < 0x20 || c >= 0x7f) {
			char e[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf] };
			sb_putn(b, e, 6);
		} else {
			sb_putn(b, (const char *)&c, 1);
		}
	}
	sb_putn(b, "\"", 1);
}

static void sb_json_cstr_or_null(struct pc_sbuf *b, const char *s)
{
	if (s == NULL)
		sb_puts(b, "null");
	else
		sb_json_str(b, s, strlen(s));
}

static const char *proto_name(uint8_t proto, char *buf, size_t len)
{
	switch (proto) {
	case PC_PROTO_TCP:
		return "tcp";
	case PC_PROTO_UDP:
		return "udp";
	case PC_PROTO_ICMP:
		return "icmp";
	case PC_PROTO_ICMPV6:
		return "icmpv6";
	default:
		snprintf(buf, len, "%u", proto);
		return buf;
	}
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
		return NULL;
	}
}

int pc_dlog_format(const struct pc_dlog_rec *rec, const struct pc_policy *p, char *buf,
		   size_t len)
{
	struct pc_sbuf b = { .p = buf, .len = 0, .cap = len, .overflow = false };
	const struct pc_verdict *v = &rec->verdict;
	char a[64], pbuf[8];

	time_t sec = (time_t)(rec->time_ns / 1000000000u);
	unsigned usec = (unsigned)(rec->time_ns % 1000000000u / 1000u);
	struct tm tm;
	gmtime_r(&sec, &tm);
	sb_printf(&b, "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06uZ\",\"worker\":%u",
		  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		  usec, rec->worker);
	sb_printf(&b, ",\"src\":\"%s\",\"sport\":%u", pc_addr_format(&rec->src, a, sizeof(a)),
		  rec->sport);
	sb_printf(&b, ",\"dst\":\"%s\",\"dport\":%u", pc_addr_format(&rec->dst, a, sizeof(a)),
		  rec->dport);
	sb_printf(&b, ",\"proto\":\"%s\"", proto_name(rec->l4_proto, pbuf, sizeof(pbuf)));

	sb_puts(&b, ",\"identity\":");
	bool have_id = p != NULL && v->identity >= 0 &&
		       (uint32_t)v->identity < pc_policy_identity_count(p);
	sb_json_cstr_or_null(&b, have_id ? pc_policy_identity_name(p, (uint32_t)v->identity) : NULL);

	sb_puts(&b, ",\"credential\":");
	const char *kind = cred_kind_name(v->cred_kind);
	if (kind == NULL) {
		sb_puts(&b, "null");
	} else {
		char fp[2 * PC_CRED_FP_LEN + 1];
		static const uint8_t zero[PC_CRED_FP_LEN];
		sb_printf(&b, "{\"kind\":\"%s\",\"fingerprint\":", kind);
		if (memcmp(v->cred_fp, zero, sizeof(zero)) == 0)
			sb_puts(&b, "null");
		else
			sb_printf(&b, "\"%s\"", pc_verdict_fp_hex(v, fp, sizeof(fp)));
		sb_puts(&b, "}");
	}

	if (rec->flags & PC_DLOG_F_HTTP) {
		sb_puts(&b, ",\"method\":");
		sb_json_str(&b, rec->method, rec->method_len);
		sb_puts(&b, ",\"host\":");
		sb_json_str(&b, rec->host, rec->host_len);
		sb_puts(&b, ",\"path\":");
		sb_json_str(&b, rec->path, rec->path_len);
		if (rec->flags & PC_DLOG_F_PATH_TRUNC)
			sb_puts(&b, ",\"path_truncated\":true");
		if (rec->norm_path_len > 0) {
			sb_puts(&b, ",\"normalized_path\":");
			sb_json_str(&b, rec->norm_path, rec->norm_path_len);
		}
		if (rec->flags & PC_DLOG_F_HOST_TRUNC)
			sb_puts(&b, ",\"host_truncated\":true");
		if (rec->flags & PC_DLOG_F_METHOD_TRUNC)
			sb_puts(&b, ",\"method_truncated\":true");
	}

	if (rec->id_flags & PC_DLOG_ID_F_JWT) {
		sb_puts(&b, ",\"jwt_issuer\":");
		sb_json_str(&b, rec->jwt_iss, rec->jwt_iss_len);
		sb_puts(&b, ",\"jwt_subject\":");
		sb_json_str(&b, rec->jwt_sub, rec->jwt_sub_len);
		if (rec->id_flags & (PC_DLOG_ID_F_ISS_TRUNC | PC_DLOG_ID_F_SUB_TRUNC))
			sb_puts(&b, ",\"jwt_truncated\":true");
	}
	if (rec->tls_version != 0) {
		/* RFC 8446 §4.2.1: 0x0304 is 1.3, 0x0303 1.2, ...; 0x0300 SSL 3 */
		if (rec->tls_version >= 0x0301 && rec->tls_version <= 0x03ff)
			sb_printf(&b, ",\"tls_version\":\"1.%u\"", (rec->tls_version & 0xff) - 1u);
		else
			sb_printf(&b, ",\"tls_version\":\"0x%04x\"", rec->tls_version);
		if (rec->ja4_len > 0) {
			sb_puts(&b, ",\"ja4\":");
			sb_json_str(&b, rec->ja4, rec->ja4_len);
		}
	}

	if (rec->ai_flags & PC_DLOG_AI_F_MODEL) {
		sb_puts(&b, ",\"model\":");
		sb_json_str(&b, rec->model, rec->model_len);
	}
	if (rec->ai_flags & PC_DLOG_AI_F_TOOL) {
		sb_puts(&b, ",\"mcp_tool\":");
		sb_json_str(&b, rec->tool, rec->tool_len);
	}
	if (rec->ai_flags & PC_DLOG_AI_F_DLP) {
		sb_puts(&b, ",\"dlp_pattern\":");
		sb_json_str(&b, rec->dlp_pattern, rec->dlp_len);
	}
	if (rec->ai_flags & PC_DLOG_AI_F_TRUNC)
		sb_puts(&b, ",\"ai_truncated\":true");

	sb_puts(&b, ",\"rule\":");
	bool have_rule = p != NULL && v->rule >= 0 && (uint32_t)v->rule < pc_policy_rule_count(p);
	sb_json_cstr_or_null(&b, have_rule ? pc_policy_rule_id(p, (uint32_t)v->rule) : NULL);
	sb_printf(&b, ",\"action\":\"%s\",\"reason\":\"%s\",\"generation\":%" PRIu32 "}\n",
		  v->shadow && v->action == PC_ACTION_ALLOW ? "would_deny"
							    : pc_action_name((enum pc_action)v->action),
		  pc_dp_reason_text(v->reason) ? pc_dp_reason_text(v->reason) : pc_verdict_reason_name(v),
		  rec->generation);

	if (b.overflow || b.len >= len)
		return -ENOSPC;
	buf[b.len] = '\0';
	return (int)b.len;
}

#define PC_DLOG_DRAIN_BATCH 32

int pc_dlog_drain(struct rte_ring *const *rings, unsigned n, const struct pc_policy *p,
		  FILE *out)
{
	struct pc_dlog_rec recs[PC_DLOG_DRAIN_BATCH];
	char line[PC_DLOG_LINE_MAX];
	int taken = 0, err = 0;

	for (unsigned r = 0; r < n; r++) {
		/* Bounded: at most what the ring held when we started, so a
		 * worker that logs faster than we write cannot keep us here. */
		unsigned left = rte_ring_count(rings[r]);
		while (left > 0) {
			unsigned got = rte_ring_sc_dequeue_burst_elem(
				rings[r], recs, sizeof(recs[0]),
				RTE_MIN(left, (unsigned)PC_DLOG_DRAIN_BATCH), NULL);
			if (got == 0)
				break;
			left -= got;
			taken += (int)got;
			for (unsigned i = 0; out != NULL && i < got; i++) {
				int len = pc_dlog_format(&recs[i], p, line, sizeof(line));
				if (len > 0 && fwrite(line, 1, (size_t)len, out) != (size_t)len)
					err = -EIO;
			}
		}
	}
	if (out != NULL && taken > 0 && fflush(out) != 0)
		err = -errno;
	return err ? err : taken;
}
