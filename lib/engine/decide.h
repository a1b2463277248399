/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The decision engine: one request (or one new L4 flow) in, one verdict out.
 * The same code runs in the dataplane workers and offline in portcullisctl.
 *
 * Order of work for an HTTP request:
 *   0. the path is normalised (dot-segments, unreserved percent-encodings,
 *      merged slashes) or the request is denied when it is ambiguous;
 *   1. identity: a JWT in a token header (verified, or found in the
 *      per-worker cache of verified tokens) names the first identity whose
 *      binding matches its issuer and subject or claim; else API key headers
 *      (SHA-256 digest lookup); either bound to the identity's sources when
 *      it lists any; else source-only identities by longest prefix;
 *   2. destinations that match address, port and Host;
 *   3. the rules that apply to this identity, in policy order: the first whose
 *      every given condition holds decides; path regexes are matched in one
 *      Hyperscan scan of the path before the walk; a rule on the body
 *      (models, mcp_tools) is checked against it last, the body being read
 *      once, at the first such rule whose other conditions hold (see
 *      "Bodies" below);
 *   4. no rule: the policy's default action (refined to model_not_allowed or
 *      mcp_tool_not_allowed when the first allow rule that failed only on
 *      the model or tool is found on the way, as TLS posture misses are).
 *
 * A TLS flow is decided once, on its parsed ClientHello (req->tls): the
 * identity by source only (credentials travel encrypted), destinations of
 * protocol tls (or any) by address, port and SNI, and rules without HTTP
 * conditions, whose TLS posture (lowest version, JA4 allowlist, ALPN) must
 * hold. When that ends in a default deny, the reason says what stopped the
 * first allow rule that failed only on the hello (see decide.c).
 */
#ifndef PC_DECIDE_H
#define PC_DECIDE_H

#include <assert.h>

#include "http/http_parse.h"
#include "policy/policy.h"
#include "tls/tls_hello.h"

struct pc_source_index;

/* Shadow mode ("mode": "shadow", policy.h): a dry run. After the decision
 * above, a deny is turned into an allow with the verdict's shadow bit set,
 * keeping its reason and rule, when
 *   - the rule that matched is a shadow rule (reason rule_match); a shadow
 *     allow rule is an ordinary allow; or
 *   - the whole policy is in shadow mode and the deny is one the policy
 *     chose: a rule, the default action, an unknown caller, a bad or
 *     unbound credential, a TLS posture miss.
 * Malformed or ambiguous requests (http_malformed, path_rejected,
 * tls_malformed), engine failures and no_policy stay denied even in a
 * shadow policy: forwarding a request this gateway cannot read the same way
 * as the server would let request smuggling through, whatever the policy
 * says. The same holds for the dataplane's stream-safety denies, which never
 * pass through pc_decide(). A shadow pass counts as an allowed decision. */

/* Bodies. A rule with "models" applies only to requests (of any method) to the
 * OpenAI-compatible endpoints /v1/chat/completions, /v1/completions,
 * /v1/embeddings and /v1/responses (the normalised path, exactly) and reads
 * the top-level "model" string of the JSON body; a rule with "mcp_tools"
 * reads a JSON-RPC 2.0 body, and applies when its top-level "method" is
 * "tools/call", to the top-level "name" of its "params" object. Only those
 * members are read (lib/json/json_scan.h, pc_json_scan_pick()), and one of
 * them given twice makes the body ambiguous. When the walk reaches such a
 * rule with its other conditions holding, the request is denied at once,
 * naming the rule, when its body is
 *   - not given (body_state ABSENT): BODY_REQUIRED. Not a final verdict: the
 *     caller holds the body (up to pc_policy_body_window()) and decides
 *     again with it. Offline callers pass WHOLE with length 0 for "no body";
 *   - TRUNCATED, or WHOLE but longer than the policy's window:
 *     BODY_TOO_LARGE;
 *   - not one JSON object, or without a string "model" (models rules), or a
 *     tools/call without a string params.name, or ambiguous: BODY_MALFORMED
 *     (a JSON-RPC batch, an array, included).
 * None of these is shadowable. A model or tool the rule does not list is a
 * plain miss (the walk goes on). */

/* X(name, "text"): why a verdict was reached. Stable names: they are what the
 * decision log, explain and metrics print. */
#define PC_DECISION_REASONS(X)                                             \
	X(RULE, "rule_match")                                              \
	X(DEFAULT, "default_action")                                       \
	X(UNKNOWN_CALLER, "unknown_caller")                                \
	X(API_KEY_UNKNOWN, "api_key_unknown")                              \
	X(UNBOUND_SOURCE, "credential_from_unbound_source")                \
	X(HTTP_MALFORMED, "http_malformed") /* detail: enum pc_http_reason */ \
	X(PATH_REJECTED, "path_rejected")   /* detail: enum pc_path_reason */ \
	X(NO_POLICY, "no_policy")                                          \
	X(ENGINE_ERROR, "engine_error")                                    \
	X(JWT_INVALID, "jwt_invalid")       /* detail: enum pc_jwt_reason */  \
	X(JWT_UNKNOWN_SUBJECT, "jwt_unknown_subject")                     \
	X(TLS_MALFORMED, "tls_malformed")   /* detail: enum pc_tls_reason */  \
	X(TLS_SNI_MISSING, "tls_sni_missing")                              \
	X(TLS_VERSION_TOO_LOW, "tls_version_too_low")                      \
	X(TLS_FINGERPRINT_NOT_ALLOWED, "tls_fingerprint_not_allowed")      \
	X(TLS_ALPN_NOT_ALLOWED, "tls_alpn_not_allowed")                      \
	X(QUARANTINED, "quarantined") /* caller revoked: lib/shm/quarantine.h */ \
	/* Internal: a rule that reads the body (models, mcp_tools) would   \
	 * match but the body was not given (body_state ABSENT); the caller \
	 * holds the body and decides again. Never logged as a final deny. */ \
	X(BODY_REQUIRED, "body_required")                                  \
	X(BODY_MALFORMED, "body_malformed")                                \
	X(BODY_TOO_LARGE, "body_too_large")                                \
	X(MODEL_NOT_ALLOWED, "model_not_allowed")                          \
	X(MCP_TOOL_NOT_ALLOWED, "mcp_tool_not_allowed")

enum pc_decision_reason {
#define PC_X(name, text) PC_REASON_##name,
	PC_DECISION_REASONS(PC_X)
#undef PC_X
	PC_REASON_COUNT
};

enum pc_cred_kind { PC_CRED_NONE = 0, PC_CRED_SOURCE = 1, PC_CRED_API_KEY = 2, PC_CRED_JWT = 3 };

#define PC_CRED_FP_LEN 8 /* bytes of the credential fingerprint (hex: 16 chars) */

struct pc_verdict {
	uint8_t action;        /* enum pc_action */
	uint8_t reason;        /* enum pc_decision_reason */
	uint8_t detail;        /* enum pc_http_reason (HTTP_MALFORMED),
				* enum pc_path_reason (PATH_REJECTED),
				* enum pc_jwt_reason (JWT_INVALID) or
				* enum pc_tls_reason (TLS_MALFORMED) */
	/* Bit-fields so the flag fits the byte cred_kind always had to
	 * itself: the verdict is copied into fixed-size records (the
	 * dataplane's 768-byte decision record, the flow table) and must not
	 * grow. */
	uint8_t cred_kind : 2; /* enum pc_cred_kind */
	/* A dry-run pass (see "Shadow mode" above): action is ALLOW, reason
	 * and rule say which deny it would have been. Whoever turns the
	 * verdict into a deny afterwards (quarantine) leaves the bit; readers
	 * look at it only with action ALLOW. */
	uint8_t shadow : 1;
	/* The destination that matched is external ("external": true) and
	 * the policy has DLP (pc_policy_dlp()): the dataplane scans this
	 * request's body. */
	uint8_t dlp : 1;
	int32_t rule;          /* rule index, -1 when none decided */
	int32_t identity;      /* identity index, -1 when unknown */
	/* First bytes of SHA-256(credential): enough to correlate and to
	 * quarantine, never enough to replay. Zero when cred_kind has none. */
	uint8_t cred_fp[PC_CRED_FP_LEN];
};

static_assert(sizeof(struct pc_verdict) == 20, "pc_verdict is copied into fixed-size records");

/* Bytes of a request body the engine reads for rules that need it, unless
 * the policy says otherwise (pc_policy_body_window()). */
#define PC_BODY_WINDOW_DEFAULT (64u * 1024)
static_assert(PC_BODY_WINDOW_DEFAULT == PC_POLICY_DEFAULT_BODY_WINDOW, "one default window");

/* What the request's body is, for rules that read it (models, mcp_tools). */
enum pc_body_state {
	PC_BODY_ABSENT = 0,   /* not given to the engine (yet) */
	PC_BODY_WHOLE,        /* body[0..body_len) is the whole body, de-chunked;
			       * body_len 0: the request has no body */
	PC_BODY_TRUNCATED,    /* the body is longer than the window; body holds
			       * its first bytes */
};

struct pc_request {
	struct pc_addr src, dst;
	uint16_t sport, dport;
	uint8_t l4_proto;                  /* PC_PROTO_TCP, PC_PROTO_UDP, ... */
	const struct pc_http_req *http;    /* NULL: an L4 or TLS decision */
	const struct pc_tls_hello *tls;    /* a parsed ClientHello (PC_TLS_OK): a TLS
					    * decision; NULL otherwise. Read only when
					    * http is NULL. */
	int64_t now_s;                     /* wall-clock seconds since the epoch, for
					    * token exp/nbf/iat; set once per burst */
	const struct pc_source_index *sources; /* built for this policy (source_index.h);
						* NULL: the policy's prefix lists */
	const uint8_t *body;               /* with body_state WHOLE or TRUNCATED */
	uint32_t body_len;
	uint8_t body_state;                /* enum pc_body_state */
};

/* Per-thread working memory (Hyperscan scratch, match lists, the JWT
 * verification scratch and the cache of verified tokens). One per worker;
 * never shared. */
struct pc_engine_scratch;

/* Allocate scratch able to run p. NULL with errno on failure. Control path. */
struct pc_engine_scratch *pc_engine_scratch_new(const struct pc_policy *p);

/* Make s able to run p as well (grows Hyperscan scratch when needed, creates
 * the JWT scratch and cache when p has issuers), so a worker can be handed a
 * new policy. Empties the verified-token cache: its entries were verified
 * against the old issuers and key sets. Returns 0 or -errno. Control path:
 * call before the new policy is published to the scratch's owner, while the
 * owner is not inside pc_decide() with s. */
int pc_engine_scratch_fit(struct pc_engine_scratch *s, const struct pc_policy *p);

void pc_engine_scratch_free(struct pc_engine_scratch *s);

/* Decide req under p. Always fills *v (an internal error is a deny with
 * reason ENGINE_ERROR: fail closed). Returns v->action.
 * Worker threads and offline tools; fast path. */
enum pc_action pc_decide(const struct pc_policy *p, struct pc_engine_scratch *s,
			 const struct pc_request *req, struct pc_verdict *v);

/* The path the rules were matched against in the last HTTP decision made
 * with s: the request path after normalisation (lib/http/path_norm.h), and in
 * *changed whether it differs from the path as received. Empty when the last
 * decision had no HTTP path or rejected it. Valid until the next pc_decide()
 * with s. The scratch's owner thread. */
struct pc_str pc_engine_last_path(const struct pc_engine_scratch *s, bool *changed);

/* When the last decision made with s verified a JWT (or found it in the
 * cache): true, with the issuer's name and the token's subject ("sub",
 * unescaped; empty when absent). Views valid until the next pc_decide() with
 * s. The scratch's owner thread. */
bool pc_engine_last_jwt(const struct pc_engine_scratch *s, struct pc_str *issuer,
			struct pc_str *subject);

/* The model ("model" of an OpenAI-style body) and the MCP tool (params.name
 * of a JSON-RPC tools/call) read by the last decision made with s; empty when
 * that decision read none. Views into the request body: valid while it is and
 * until the next pc_decide() with s. The scratch's owner thread. */
void pc_engine_last_ai(const struct pc_engine_scratch *s, struct pc_str *model,
		       struct pc_str *tool);

/* Fill *v for a request that could not be parsed (deny, HTTP_MALFORMED). */
void pc_verdict_malformed(struct pc_verdict *v, uint8_t http_reason);

/* Fill *v for a TLS flow whose ClientHello was refused by
 * pc_tls_hello_parse() (deny, TLS_MALFORMED, detail the parser's reason;
 * also for a hello still incomplete when the hold bound is reached). Any
 * thread, fast path. */
void pc_verdict_tls_malformed(struct pc_verdict *v, uint8_t tls_reason);

/* "rule_match", or the HTTP, path, JWT or TLS parser reason name for
 * requests denied for one of those ("http_bare_lf", "path_encoded_slash",
 * "jwt_expired", "tls_hello_truncated"). */
const char *pc_verdict_reason_name(const struct pc_verdict *v);
const char *pc_action_name(enum pc_action a);

/* Lowercase hex of the fingerprint into buf (>= 2*PC_CRED_FP_LEN+1). */
char *pc_verdict_fp_hex(const struct pc_verdict *v, char *buf, size_t len);

#endif
