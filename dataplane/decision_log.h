/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Decision records: one fixed-size record per decision, made by a worker and
 * written out as one JSON object per line by the main lcore.
 *
 * Each worker has its own single-producer/single-consumer ring of records
 * (rte_ring_create_elem: the records are copied into the ring's slots, so
 * there is no allocation and nothing to free). The worker never waits: when
 * its ring is full the record is dropped and counted (decision_log_lost).
 * The main lcore drains every ring about once a millisecond, formats each
 * record and flushes the file after each drain, so a reader of the log sees a
 * decision within a few milliseconds of the packet.
 *
 * A record holds indexes (rule, identity), not names: names are resolved by
 * the main lcore from the policy of the record's generation, which keeps the
 * worker's cost to a few copies. Strings from the packet (method, Host, path)
 * are copied up to a bound and flagged when cut.
 */
#ifndef PC_DP_DECISION_LOG_H
#define PC_DP_DECISION_LOG_H

#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <rte_ring_peek_zc.h>

#include "engine/decide.h"
#include "pkt/pkt_parse.h"

#define PC_DLOG_METHOD_MAX 16
#define PC_DLOG_HOST_MAX 128
#define PC_DLOG_PATH_MAX 280
#define PC_DLOG_NORM_PATH_MAX 254

enum {
	PC_DLOG_F_HTTP = 1u << 0,        /* method, host and path are set */
	PC_DLOG_F_METHOD_TRUNC = 1u << 1,
	PC_DLOG_F_HOST_TRUNC = 1u << 2,
	PC_DLOG_F_PATH_TRUNC = 1u << 3,
	PC_DLOG_F_NORM_PATH_TRUNC = 1u << 4,
};

#define PC_DLOG_JA4_MAX 36      /* PC_TLS_JA4_LEN */
#define PC_DLOG_JWT_ISS_MAX 64
#define PC_DLOG_JWT_SUB_MAX 64
#define PC_DLOG_MODEL_MAX 32    /* "model" of an LLM API request body */
#define PC_DLOG_TOOL_MAX 24     /* "mcp_tool": params.name of an MCP tools/call */
#define PC_DLOG_DLP_MAX 24      /* "dlp_pattern": the secret pattern that matched */

enum {
	PC_DLOG_AI_F_MODEL = 1u << 0,    /* model is set */
	PC_DLOG_AI_F_TOOL = 1u << 1,     /* mcp_tool is set */
	PC_DLOG_AI_F_DLP = 1u << 2,      /* dlp_pattern is set */
	PC_DLOG_AI_F_TRUNC = 1u << 3,    /* one of them was cut */
};

enum {
	PC_DLOG_ID_F_JWT = 1u << 0,      /* jwt_iss and jwt_sub are set */
	PC_DLOG_ID_F_ISS_TRUNC = 1u << 1,
	PC_DLOG_ID_F_SUB_TRUNC = 1u << 2,
};

struct pc_dlog_rec {
	uint64_t time_ns;          /* CLOCK_REALTIME, ns since the epoch */
	uint32_t generation;       /* policy generation of the verdict */
	uint16_t worker;
	uint8_t l4_proto;
	uint8_t flags;             /* PC_DLOG_F_* */
	struct pc_addr src, dst;   /* the caller is src */
	uint16_t sport, dport;     /* host order */
	struct pc_verdict verdict;
	uint8_t method_len, host_len;
	uint16_t path_len;
	char method[PC_DLOG_METHOD_MAX]; /* raw bytes, not NUL-terminated */
	char host[PC_DLOG_HOST_MAX];
	char path[PC_DLOG_PATH_MAX];       /* as received */
	uint16_t norm_path_len;            /* 0: the rules saw path as received */
	char norm_path[PC_DLOG_NORM_PATH_MAX];
	/* Who the credential and the hello said the caller is. Set by
	 * pc_dlog_rec_jwt() and pc_dlog_rec_tls(); the fill resets them.
	 * Issuer and subject are copied from the verified claims (never the
	 * token) up to a bound, flagged when cut. */
	uint16_t tls_version;              /* highest offered (0x0304: 1.3); 0: not TLS */
	uint8_t id_flags;                  /* PC_DLOG_ID_F_* */
	uint8_t ja4_len;
	uint8_t jwt_iss_len, jwt_sub_len;
	char ja4[PC_DLOG_JA4_MAX];
	char jwt_iss[PC_DLOG_JWT_ISS_MAX];
	char jwt_sub[PC_DLOG_JWT_SUB_MAX];
	/* The record grew from 768 to 1,024 bytes for the fields above and
	 * below; spare is what is left for further fields. */
	/* What the body said (model, MCP tool) and what DLP found in it:
	 * copied up to a bound, flagged when cut. The fill resets them. */
	uint8_t ai_flags;                  /* PC_DLOG_AI_F_* */
	uint8_t model_len, tool_len, dlp_len;
	char model[PC_DLOG_MODEL_MAX];
	char tool[PC_DLOG_TOOL_MAX];
	char dlp_pattern[PC_DLOG_DLP_MAX];
	char spare[1024 - 768 - 6 - PC_DLOG_JA4_MAX - PC_DLOG_JWT_ISS_MAX - PC_DLOG_JWT_SUB_MAX -
		   4 - PC_DLOG_MODEL_MAX - PC_DLOG_TOOL_MAX - PC_DLOG_DLP_MAX];
};
static_assert(sizeof(struct pc_dlog_rec) == 1024, "decision record is 1,024 bytes");

/* Longest line pc_dlog_format() can produce (every string byte escaped to
 * six characters), so a buffer this size never truncates. */
#define PC_DLOG_LINE_MAX 8192

/* A ring of count records (a power of two) for one producer and one
 * consumer. NULL with rte_errno set. Control path. */
struct rte_ring *pc_dlog_ring_create(const char *name, unsigned count, int socket);

static inline uint32_t pc_dlog_copy(char *dst, size_t cap, struct pc_str s, uint8_t *flags,
				    uint8_t trunc_flag)
{
	uint32_t n = s.len;
	if (unlikely(n > cap)) {
		n = (uint32_t)cap;
		*flags |= trunc_flag;
	}
	if (n > 0) /* an empty view may have no pointer at all */
		memcpy(dst, s.p, n);
	return n;
}

/* Fill rec for a decision on the flow of m (m's source is the caller).
 * http is the parsed head, or NULL for an L4 decision or a head that did not
 * parse; norm_path is the path the rules saw when it differs from the one
 * received (len 0 otherwise). Worker threads; fast path (once per decision). */
static inline void pc_dlog_rec_fill(struct pc_dlog_rec *rec, uint16_t worker, uint32_t generation,
				    const struct pc_pkt_meta *m, const struct pc_verdict *v,
				    const struct pc_http_req *http, struct pc_str norm_path)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	rec->time_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	rec->generation = generation;
	rec->worker = worker;
	rec->l4_proto = m->l4_proto;
	rec->flags = 0;
	rec->src = m->src;
	rec->dst = m->dst;
	rec->sport = m->sport;
	rec->dport = m->dport;
	rec->verdict = *v;
	rec->method_len = rec->host_len = 0;
	rec->path_len = 0;
	rec->norm_path_len = 0;
	rec->tls_version = 0;
	rec->id_flags = 0;
	rec->ja4_len = rec->jwt_iss_len = rec->jwt_sub_len = 0;
	rec->ai_flags = 0;
	rec->model_len = rec->tool_len = rec->dlp_len = 0;
	if (http != NULL) {
		rec->flags |= PC_DLOG_F_HTTP;
		rec->method_len = (uint8_t)pc_dlog_copy(rec->method, sizeof(rec->method),
							http->method_str, &rec->flags,
							PC_DLOG_F_METHOD_TRUNC);
		rec->host_len = (uint8_t)pc_dlog_copy(rec->host, sizeof(rec->host), http->host,
						      &rec->flags, PC_DLOG_F_HOST_TRUNC);
		rec->path_len = (uint16_t)pc_dlog_copy(rec->path, sizeof(rec->path), http->path,
						       &rec->flags, PC_DLOG_F_PATH_TRUNC);
		rec->norm_path_len = (uint16_t)pc_dlog_copy(rec->norm_path, sizeof(rec->norm_path),
							    norm_path, &rec->flags,
							    PC_DLOG_F_NORM_PATH_TRUNC);
	}
}

/* Add the verified JWT's issuer and subject to rec (after the fill).
 * Worker threads; fast path. */
static inline void pc_dlog_rec_jwt(struct pc_dlog_rec *rec, struct pc_str issuer,
				   struct pc_str subject)
{
	rec->id_flags |= PC_DLOG_ID_F_JWT;
	rec->jwt_iss_len = (uint8_t)pc_dlog_copy(rec->jwt_iss, sizeof(rec->jwt_iss), issuer,
						 &rec->id_flags, PC_DLOG_ID_F_ISS_TRUNC);
	rec->jwt_sub_len = (uint8_t)pc_dlog_copy(rec->jwt_sub, sizeof(rec->jwt_sub), subject,
						 &rec->id_flags, PC_DLOG_ID_F_SUB_TRUNC);
}

/* Add a ClientHello's version (the highest offered, on the wire form) and
 * JA4 (ja4_len 0: not computed) to rec (after the fill). Worker threads;
 * fast path. */
static inline void pc_dlog_rec_tls(struct pc_dlog_rec *rec, uint16_t version, const char *ja4,
				   uint32_t ja4_len)
{
	rec->tls_version = version;
	rec->ja4_len = (uint8_t)(ja4_len < sizeof(rec->ja4) ? ja4_len : sizeof(rec->ja4));
	if (rec->ja4_len > 0)
		memcpy(rec->ja4, ja4, rec->ja4_len);
}

/* Add the model and MCP tool the decision engine read from the body (an
 * empty view: not there), and the DLP pattern that matched it (NULL: none),
 * to rec (after the fill). Worker threads; fast path. */
static inline void pc_dlog_rec_ai(struct pc_dlog_rec *rec, struct pc_str model,
				  struct pc_str tool, const char *dlp_pattern)
{
	uint8_t trunc = 0;
	if (model.len > 0) {
		rec->ai_flags |= PC_DLOG_AI_F_MODEL;
		rec->model_len = (uint8_t)pc_dlog_copy(rec->model, sizeof(rec->model), model,
						       &trunc, PC_DLOG_AI_F_TRUNC);
	}
	if (tool.len > 0) {
		rec->ai_flags |= PC_DLOG_AI_F_TOOL;
		rec->tool_len = (uint8_t)pc_dlog_copy(rec->tool, sizeof(rec->tool), tool, &trunc,
						      PC_DLOG_AI_F_TRUNC);
	}
	if (dlp_pattern != NULL) {
		struct pc_str d = { .p = dlp_pattern, .len = (uint32_t)strlen(dlp_pattern) };
		rec->ai_flags |= PC_DLOG_AI_F_DLP;
		rec->dlp_len = (uint8_t)pc_dlog_copy(rec->dlp_pattern, sizeof(rec->dlp_pattern), d,
						     &trunc, PC_DLOG_AI_F_TRUNC);
	}
	rec->ai_flags |= trunc;
}

/* The next record slot of r, to fill in place (pc_dlog_rec_fill() first),
 * then queue with pc_dlog_commit(); NULL when the ring is full (the caller
 * counts a lost record). Filled where it is read, a record is not copied
 * again into the ring (1 KiB a decision). The ring's only producer; fast
 * path; never blocks. */
static inline struct pc_dlog_rec *pc_dlog_reserve(struct rte_ring *r)
{
	struct rte_ring_zc_data zcd;
	if (rte_ring_enqueue_zc_bulk_elem_start(r, sizeof(struct pc_dlog_rec), 1, &zcd, NULL) != 1)
		return NULL;
	return zcd.ptr1; /* a whole element never wraps */
}

/* Queue the slot pc_dlog_reserve() gave. The ring's only producer. */
static inline void pc_dlog_commit(struct rte_ring *r)
{
	rte_ring_enqueue_zc_elem_finish(r, 1);
}

/* Format rec as one JSON object and a newline into buf. Names of rules and
 * identities come from p, the policy of rec->generation. Returns the length
 * written (without the NUL), or -ENOSPC when len is too small. Any thread;
 * control path. */
int pc_dlog_format(const struct pc_dlog_rec *rec, const struct pc_policy *p, char *buf,
		   size_t len);

/* Take every record now in rings[0..n) and append them to out (when out is
 * not NULL; otherwise discard them), then flush out. Returns the number of
 * records taken, or -errno when writing failed (the records are lost).
 * The rings' only consumer (the main lcore); control path. */
int pc_dlog_drain(struct rte_ring *const *rings, unsigned n, const struct pc_policy *p,
		  FILE *out);

#endif
