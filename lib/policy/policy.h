/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The policy, in its three forms:
 *
 *   JSON file ──pc_policy_load_file()──► struct pc_policy_src   (builder)
 *   builder   ──pc_policy_compile()────► image bytes            (versioned,
 *                                         checksummed, position independent,
 *                                         Hyperscan database serialized in)
 *   image     ──pc_policy_from_image()─► const struct pc_policy (runtime)
 *
 * The runtime policy is only ever built from an image, even when compile and
 * load run in one process (portcullisctl explain), so the offline engine, the
 * dataplane and a later shared-memory transport all run the same bytes.
 * A runtime policy is immutable once built; workers read it without locks.
 */
#ifndef PC_POLICY_H
#define PC_POLICY_H

#include "util/pc_types.h"

/* X(name, "text"). The order is the ABI: values are stored in images. */
#define PC_ACTIONS(X)      \
	X(DENY, "deny")    \
	X(ALLOW, "allow")

enum pc_action {
#define PC_X(name, text) PC_ACTION_##name,
	PC_ACTIONS(PC_X)
#undef PC_X
	PC_ACTION_COUNT
};

/* "mode" of a rule or of a whole policy. A shadow deny is a dry run: the
 * engine computes it, the traffic passes, and the verdict is marked shadow
 * so the decision log prints "would_deny" (lib/engine/decide.h says which
 * denies a shadow policy lets through). The values are stored in images. */
enum pc_mode {
	PC_MODE_ENFORCE = 0,
	PC_MODE_SHADOW = 1,
};

/* Which traffic a destination describes. HTTP destinations are inspected at
 * L7 (each request); TLS destinations are TCP flows decided once, at the
 * ClientHello (their hosts match the SNI); the others are decided at L4 on
 * the flow's first packet. The values are stored in images. */
enum pc_dest_proto {
	PC_DEST_HTTP = 0,
	PC_DEST_TCP = 1,
	PC_DEST_UDP = 2,
	PC_DEST_ANY = 3,
	PC_DEST_TLS = 4,
};
#define PC_DEST_PROTO_MAX PC_DEST_TLS

/* What the dataplane must do with a new TCP flow (pc_policy_inspect_kind). */
enum pc_inspect {
	PC_INSPECT_NONE = 0, /* decide at L4 on the first packet */
	PC_INSPECT_HTTP = 1, /* hold and parse HTTP/1.1 request heads */
	PC_INSPECT_TLS = 2,  /* hold and parse the TLS ClientHello */
	/* Both an HTTP and a TLS destination cover dst:dport: the first
	 * client byte tells them apart (22, a TLS handshake record, RFC 8446
	 * §5.1, can never start an HTTP request line). */
	PC_INSPECT_HTTP_OR_TLS = PC_INSPECT_HTTP | PC_INSPECT_TLS,
};

#define PC_API_KEY_DIGEST_LEN 32 /* SHA-256 */
#define PC_POLICY_MAX_NAME 128
#define PC_POLICY_MAX_ITEMS 65535 /* identities, destinations or rules */
#define PC_POLICY_MAX_ISSUERS 256  /* JWT issuers (PC_JWT_MAX_ISSUERS) */
#define PC_POLICY_MAX_GLOB 256     /* bytes of a subject or claim-value glob */
#define PC_POLICY_DEFAULT_TOKEN_HEADER "authorization"
#define PC_POLICY_JA4_LEN 36       /* "t13d1516h2_8daaf6152771_e5627efa2ab1" */
#define PC_POLICY_MAX_ALPN_LEN 255 /* RFC 7301 §3.1: ProtocolName<1..2^8-1> */
#define PC_POLICY_DEFAULT_BODY_WINDOW (64u * 1024) /* PC_BODY_WINDOW_DEFAULT */
#define PC_POLICY_MAX_BODY_WINDOW (1024u * 1024)

/* ---- builder: what the JSON says, validated, with names resolved ---- */

struct pc_src_identity {
	char *name;
	struct pc_prefix *sources;
	uint32_t n_sources;
	uint8_t (*api_key_digests)[PC_API_KEY_DIGEST_LEN];
	uint32_t n_api_keys;
	char *api_key_header; /* lowercased; "x-api-key" when not given */
	/* JWT binding: a verified token of issuer jwt_issuer whose claim
	 * (jwt_claim, or "sub" when NULL) matches the glob jwt_value ('*' any
	 * bytes, '?' one byte) names this identity. */
	bool has_jwt;
	uint32_t jwt_issuer;   /* index into src->jwt_issuers */
	char *jwt_claim;       /* NULL: the subject ("sub") */
	char *jwt_value;
};

/* A trusted JWT issuer (RFC 7519 §4.1.1) and what its tokens must satisfy. */
struct pc_src_jwt_issuer {
	char *issuer;          /* exact "iss" */
	char **audiences;      /* a token's "aud" must hold one; none: no "aud" allowed */
	uint32_t n_audiences;
	uint32_t algs;         /* PC_JWT_ALG_BIT() set (jwt/jwt.h), never empty */
	char *jwks;            /* the key set as canonical JSON text (RFC 7517 §5) */
	uint32_t leeway_s;
	uint32_t max_lifetime_s; /* 0: no cap */
	bool require_exp;
	char *token_header;    /* lowercased; "authorization" means "Bearer <jwt>" */
};

/* A rule condition on a verified token's claim (pc_jwt_claim_has()
 * semantics): the claim holds one of values. */
struct pc_src_claim_cond {
	char *name;
	char **values;
	uint32_t n_values;
};

struct pc_src_destination {
	char *name;
	char **hosts;          /* lowercased; "*.example.com" wildcards allowed */
	uint32_t n_hosts;
	struct pc_prefix *addresses;
	uint32_t n_addresses;
	uint16_t *ports;
	uint32_t n_ports;
	uint8_t proto;         /* enum pc_dest_proto; default HTTP */
	bool external;         /* "external": bodies sent here are DLP-scanned */
};

struct pc_src_header_cond {
	char *name;            /* lowercased */
	char **values;         /* exact, case-sensitive */
	uint32_t n_values;
};

struct pc_src_rule {
	char *id;
	uint32_t *identities;  /* indexes into src->identities; none = any caller */
	uint32_t n_identities;
	uint32_t *destinations; /* indexes into src->destinations; none = anywhere */
	uint32_t n_destinations;
	uint16_t methods;      /* enum pc_http_method bits; 0 = any */
	char **paths;          /* Hyperscan regexes over the normalised path */
	uint32_t n_paths;
	struct pc_src_header_cond *headers;
	uint32_t n_headers;
	struct pc_src_claim_cond *claims; /* every one must hold; JWT callers only */
	uint32_t n_claims;
	/* TLS posture: a rule with any of these (has_tls) applies only to
	 * decisions at a ClientHello, and every one given must hold. */
	bool has_tls;
	uint16_t tls_min_version; /* PC_TLS_VERSION_1_2 or _1_3 wire value; 0 = any */
	char **ja4;            /* allowlist of exact JA4 fingerprints */
	uint32_t n_ja4;
	char **alpn;           /* the client must offer one of these protocols */
	uint32_t n_alpn;
	/* Body conditions (at most one kind per rule): the request's
	 * "model" (OpenAI-style endpoints only) or MCP tools/call tool name
	 * must match one of these globs ('*' any bytes, '?' one byte). */
	char **models;
	uint32_t n_models;
	char **mcp_tools;
	uint32_t n_mcp_tools;
	uint8_t action;        /* enum pc_action */
	uint8_t mode;          /* enum pc_mode; default ENFORCE */
	uint8_t deny_response; /* enum pc_deny_response; UNSET: the policy's */
};

/* An extra DLP pattern of the policy ("dlp": {"patterns": [...]}). */
struct pc_src_dlp_pattern {
	char *name;
	char *regex;           /* Hyperscan syntax */
};

struct pc_policy_src {
	char *origin;          /* file name, for messages */
	uint32_t version;
	uint8_t default_action;
	uint8_t mode;          /* enum pc_mode of the whole policy; default ENFORCE */
	struct pc_src_identity *identities;
	uint32_t n_identities;
	struct pc_src_destination *destinations;
	uint32_t n_destinations;
	struct pc_src_rule *rules;
	uint32_t n_rules;
	struct pc_src_jwt_issuer *jwt_issuers;
	uint32_t n_jwt_issuers;
	/* Every field below reads as the default when zero, so a builder made
	 * by hand with calloc() means what a file without the keys means. */
	uint8_t deny_response; /* enum pc_deny_response for every deny; UNSET */
	uint32_t body_window;  /* "body_window_bytes"; 0: PC_POLICY_DEFAULT_BODY_WINDOW */
	/* "path_normalization": the two switches a policy may turn off. */
	bool path_keep_slashes;        /* "merge_slashes": false */
	bool path_keep_encoded_slash;  /* "reject_encoded_slash": false */
	/* "dlp" */
	bool has_dlp;
	bool dlp_log_only;             /* "action": "log" (default "deny") */
	bool dlp_no_defaults;          /* "default_patterns": false */
	struct pc_src_dlp_pattern *dlp_patterns;
	uint32_t n_dlp_patterns;
};

/* Read and validate a policy file. Returns the builder, or NULL with errno set
 * and err filled: "FILE:LINE: JSON_PATH: what was expected", for example
 * "policy.json:14: $.rules[2].methods[1]: expected an HTTP method (GET, HEAD,
 * POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH), got \"FETCH\"".
 * Control path, any thread. */
struct pc_policy_src *pc_policy_load_file(const char *path, char *err, size_t err_len);

/* The same from text in memory; origin names it in messages. */
struct pc_policy_src *pc_policy_load_string(const char *text, size_t len, const char *origin,
					    char *err, size_t err_len);

void pc_policy_src_free(struct pc_policy_src *src);

/* Compile a builder into an image: *image is malloc'ed, caller frees.
 * Returns 0 or -errno with err filled (a path regex Hyperscan rejects names
 * the rule and the pattern). Control path. */
int pc_policy_compile(const struct pc_policy_src *src, void **image, size_t *image_len,
		      char *err, size_t err_len);

/* ---- runtime ---- */

struct pc_policy; /* opaque, immutable */
struct pc_dlp_db; /* lib/dlp/dlp.h */

/* Validate an image completely (magic, ABI version, length, checksum, every
 * offset and count) and build the runtime policy from it. The image is copied;
 * the caller may free it afterwards. Returns NULL with errno set and err filled
 * on any failure. Control path (the dataplane's main lcore). */
struct pc_policy *pc_policy_from_image(const void *image, size_t image_len, char *err,
				       size_t err_len);

/* The same for a caller that has just checked a CRC-32C of exactly these
 * image_len bytes (the control segment's slot checksum, shm_abi.h): the
 * image's own checksum, the same function over the same bytes, is not
 * computed a second time. Everything else is validated as above. */
struct pc_policy *pc_policy_from_checked_image(const void *image, size_t image_len, char *err,
					       size_t err_len);

void pc_policy_free(struct pc_policy *p);

/* Convenience for tools and tests: load, compile, and build from the image. */
struct pc_policy *pc_policy_build_file(const char *path, char *err, size_t err_len);
/* The same from JSON text held in memory; name stands for its origin in
 * error messages. */
struct pc_policy *pc_policy_build_string(const char *text, size_t len, const char *name,
					 char *err, size_t err_len);

uint32_t pc_policy_rule_count(const struct pc_policy *p);
uint32_t pc_policy_identity_count(const struct pc_policy *p);
/* Names for logs. idx must be valid. Any thread. */
const char *pc_policy_rule_id(const struct pc_policy *p, uint32_t rule_idx);
const char *pc_policy_identity_name(const struct pc_policy *p, uint32_t identity_idx);

/* How TCP traffic to dst:dport is inspected: HTTP when it matches the
 * address and port of a destination whose protocol is http, TLS when of
 * one whose protocol is tls, HTTP_OR_TLS when of both, else NONE (decided
 * at L4). Fast path (called once per new flow), any thread. */
enum pc_inspect pc_policy_inspect_kind(const struct pc_policy *p, const struct pc_addr *dst,
				       uint16_t dport);

/* How a deny is answered ("deny_response" of a rule or of the policy).
 * The values are stored in images. */
enum pc_deny_response {
	PC_DENY_RESPONSE_UNSET = 0, /* the policy does not say: the dataplane's option */
	PC_DENY_RESPONSE_RESET = 1, /* TCP reset both ways */
	PC_DENY_RESPONSE_HTTP_403 = 2,
	PC_DENY_RESPONSE_HTTP_429 = 3,
};
#define PC_DENY_RESPONSE_MAX PC_DENY_RESPONSE_HTTP_429

/* The response to a deny decided by rule (a verdict's rule), or by the policy
 * itself when rule is -1 (default action, identity failures): the rule's own
 * deny_response, else the policy's, else UNSET. Fast path, any thread. */
enum pc_deny_response pc_policy_deny_response(const struct pc_policy *p, int32_t rule);

/* The compiled DLP database ("dlp"), or NULL when the policy has no DLP or
 * no external destination. Lives as long as p. Any thread. */
const struct pc_dlp_db *pc_policy_dlp(const struct pc_policy *p);

/* One more reference to p's DLP database (released with pc_dlp_db_free()),
 * or NULL when it has none: for state that may outlive p (the dataplane's
 * DLP sets, which bodies being scanned use after a push). Control path. */
struct pc_dlp_db *pc_policy_dlp_ref(const struct pc_policy *p);

/* true: a DLP match denies the request ("action": "deny"); false: it is
 * only logged ("log"). Any thread. */
bool pc_policy_dlp_blocks(const struct pc_policy *p);

/* When next's DLP database was built from the same bytes as prev's, next
 * drops its own and shares prev's (each policy frees its reference), and
 * true is returned: the streams of bodies prev's generation is scanning
 * stay valid under next. False (nothing changed) otherwise. Control path;
 * before next is published. */
bool pc_policy_dlp_share(struct pc_policy *next, const struct pc_policy *prev);

/* Bytes of a body the dataplane holds for rules that read it
 * ("body_window_bytes"; PC_BODY_WINDOW_DEFAULT when not given, at most
 * PC_POLICY_MAX_BODY_WINDOW). Any thread. */
uint32_t pc_policy_body_window(const struct pc_policy *p);

/* pc_policy_inspect_kind() has the HTTP bit: kept for callers that know
 * only HTTP inspection. Fast path, any thread. */
bool pc_policy_inspects(const struct pc_policy *p, const struct pc_addr *dst, uint16_t dport);

#endif
