/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The policy image: the compiled policy as one flat, position-independent
 * block of bytes. The control plane writes it (pc_policy_compile), and later
 * copies it through shared memory to the dataplane, which trusts none of it
 * until pc_policy_from_image() has checked every byte that it will follow.
 *
 * Layout: a fixed header, then sections, each 8-byte aligned and described in
 * the header's section table by offset and length (bytes from the start of the
 * image). Objects refer to each other only by index or by string-table offset,
 * never by pointer, so the image means the same at any address. Integers are
 * fixed-width in the byte order of the machine that compiled the image (the
 * image never leaves the host: a foreign byte order fails the magic check).
 * Every struct has explicit padding, which the compiler writes as zero, and a
 * static_assert on its size: changing a layout without bumping
 * PC_POLICY_IMAGE_ABI breaks the build.
 *
 *   header   magic, ABI, total length, crc32 of everything after the crc
 *            field, default action, counts, section table
 *   STRINGS  NUL-terminated strings; offset 0 is the empty string
 *   IDENTITIES .. PATHS   fixed-size records, see below
 *   HSDB     hs_serialize_database() of one block-mode database holding every
 *            rule's path patterns; pattern id = index into PATHS
 *   ISSUERS .. CLAIM_VALUES   JWT issuers (each key set as its JSON text,
 *            which the loader parses again with pc_jwks_load(): key material
 *            is validated the same way whatever wrote the image), and the
 *            rules' claim conditions
 *   TLS_JA4, TLS_ALPN   the rules' JA4 allowlists and ALPN lists, as
 *            string offsets (each rule says where its own run starts)
 *   MODELS, MCP_TOOLS   the rules' body conditions: model and tool globs, as
 *            string offsets, a run per rule like the TLS lists
 *   DLP      pc_dlp_compile()'s blob (a serialized stream-mode Hyperscan
 *            database with its pattern names), loaded with pc_dlp_db_load(),
 *            which validates it as hostile input too; empty without DLP or
 *            without an external destination
 *
 * Private to lib/policy: the compiler and the image loader share it; nothing
 * else should need it.
 */
#ifndef PC_POLICY_IMAGE_H
#define PC_POLICY_IMAGE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "http/path_norm.h"
#include "jwt/jwt.h"
#include "policy/policy.h"

struct hs_database;

#define PC_POLICY_IMAGE_MAGIC 0x49504350u /* "PCPI" as bytes on little-endian */
#define PC_POLICY_IMAGE_ABI 5 /* 2: JWT issuers, identity bindings, claim conditions;
				* 3: tls destinations, rules' TLS posture;
				* 4: body conditions (models, MCP tools), DLP,
				*    deny responses, body window, path options;
				* 5: the checksum is CRC-32C (it was zlib's CRC-32) */
#define PC_POLICY_IMAGE_ALIGN 8 /* every section starts on this boundary */
/* Flat arrays (keys, prefixes, references, path patterns) hold at most this
 * many entries: far beyond any real policy, small enough that index sums
 * never overflow 32 bits. */
#define PC_POLICY_IMAGE_MAX_ARRAY (1u << 24)
/* Bytes the crc does not cover: magic, abi, header_len, total_len, crc32. */
#define PC_POLICY_IMAGE_CRC_START 16u
/* "No string" in an optional string field. */
#define PC_IMG_NO_STRING UINT32_MAX

/* X(name, "text for messages", element size in bytes). The order is the ABI. */
#define PC_IMG_SECTIONS(X)                                                   \
	X(STRINGS, "string table", 1)                                        \
	X(IDENTITIES, "identities", sizeof(struct pc_img_identity))          \
	X(SOURCES, "source prefixes", sizeof(struct pc_img_prefix))          \
	X(KEYS, "api key digests", sizeof(struct pc_img_key))                \
	X(DESTINATIONS, "destinations", sizeof(struct pc_img_destination))   \
	X(HOSTS, "host patterns", sizeof(uint32_t))                          \
	X(DEST_PREFIXES, "destination prefixes", sizeof(struct pc_img_prefix)) \
	X(PORTS, "ports", sizeof(uint16_t))                                  \
	X(RULES, "rules", sizeof(struct pc_img_rule))                        \
	X(RULE_REFS, "rule references", sizeof(uint32_t))                    \
	X(HDR_CONDS, "header conditions", sizeof(struct pc_img_hdr_cond))    \
	X(HDR_VALUES, "header values", sizeof(uint32_t))                     \
	X(PATHS, "path patterns", sizeof(struct pc_img_path))                \
	X(HSDB, "hyperscan database", 1)                                     \
	X(ISSUERS, "jwt issuers", sizeof(struct pc_img_issuer))              \
	X(AUDIENCES, "jwt audiences", sizeof(uint32_t))                      \
	X(CLAIM_CONDS, "claim conditions", sizeof(struct pc_img_claim_cond)) \
	X(CLAIM_VALUES, "claim values", sizeof(uint32_t))                    \
	X(TLS_JA4, "tls ja4 fingerprints", sizeof(uint32_t))                 \
	X(TLS_ALPN, "tls alpn names", sizeof(uint32_t))                      \
	X(MODELS, "model globs", sizeof(uint32_t))                           \
	X(MCP_TOOLS, "mcp tool globs", sizeof(uint32_t))                     \
	X(DLP, "dlp database", 1)

enum pc_img_section_id {
#define PC_X(name, text, size) PC_IMG_SEC_##name,
	PC_IMG_SECTIONS(PC_X)
#undef PC_X
	PC_IMG_SEC_COUNT
};

struct pc_img_section {
	uint32_t off; /* from the start of the image, PC_POLICY_IMAGE_ALIGN aligned */
	uint32_t len; /* bytes; a multiple of the section's element size */
};

struct pc_img_header {
	uint32_t magic;          /* PC_POLICY_IMAGE_MAGIC */
	uint16_t abi;            /* PC_POLICY_IMAGE_ABI */
	uint16_t header_len;     /* sizeof(struct pc_img_header) */
	uint32_t total_len;      /* bytes of the whole image */
	uint32_t crc32;          /* CRC-32C (util/crc32c.h) of bytes [PC_POLICY_IMAGE_CRC_START, total_len) */
	uint32_t policy_version; /* "version" of the policy file */
	uint8_t default_action;  /* enum pc_action */
	uint8_t flags;           /* PC_IMG_POLICY_*; other bits zero */
	uint8_t deny_response;   /* enum pc_deny_response of the policy */
	uint8_t path_flags;      /* PC_IMG_PATH_*; other bits zero */
	/* Element counts of the main sections; each must agree with its
	 * section's length (a second, independent statement of the same fact). */
	uint32_t n_identities;
	uint32_t n_destinations;
	uint32_t n_rules;
	uint32_t n_api_keys;
	uint32_t n_paths;
	uint32_t n_issuers;
	uint32_t body_window;    /* 1..PC_POLICY_MAX_BODY_WINDOW bytes */
	uint32_t n_sections;     /* PC_IMG_SEC_COUNT */
	struct pc_img_section sections[PC_IMG_SEC_COUNT];
};
static_assert(offsetof(struct pc_img_header, crc32) + 4 == PC_POLICY_IMAGE_CRC_START,
	      "crc covers everything after its own field");
static_assert(sizeof(struct pc_img_header) == 56 + 8 * PC_IMG_SEC_COUNT,
	      "policy image header layout changed: bump PC_POLICY_IMAGE_ABI");
static_assert(sizeof(struct pc_img_header) % PC_POLICY_IMAGE_ALIGN == 0,
	      "first section starts aligned right after the header");

/* An address prefix. v4 in host order as in struct pc_addr; v6 in network
 * order. Host bits beyond len are zero. */
struct pc_img_prefix {
	uint8_t family; /* 4 or 6 */
	uint8_t len;    /* 0..32 or 0..128 */
	uint8_t pad[2];
	uint32_t v4;
	uint8_t v6[16];
};
static_assert(sizeof(struct pc_img_prefix) == 24, "pc_img_prefix layout");

struct pc_img_identity {
	uint32_t name;          /* string */
	uint32_t key_header;    /* string (lowercase header name), PC_IMG_NO_STRING without keys */
	uint32_t sources_start; /* into SOURCES */
	uint32_t n_sources;
	uint32_t n_api_keys;    /* how many KEYS entries name this identity */
	uint32_t jwt_issuer;    /* into ISSUERS; PC_IMG_NO_JWT without a JWT binding */
	uint32_t jwt_claim;     /* string: claim name; PC_IMG_NO_STRING for the subject */
	uint32_t jwt_value;     /* string: exact value or glob; PC_IMG_NO_STRING without binding */
	uint32_t pad;
};
static_assert(sizeof(struct pc_img_identity) == 36, "pc_img_identity layout");
#define PC_IMG_NO_JWT UINT32_MAX

/* Sorted by digest (memcmp order, strictly increasing) for binary search. */
struct pc_img_key {
	uint8_t digest[PC_API_KEY_DIGEST_LEN]; /* SHA-256 of the key */
	uint32_t identity;
	uint32_t pad;
};
static_assert(sizeof(struct pc_img_key) == 40, "pc_img_key layout");

struct pc_img_destination {
	uint32_t name;        /* string */
	uint8_t proto;        /* enum pc_dest_proto */
	uint8_t flags;        /* PC_IMG_DEST_*; other bits zero */
	uint8_t pad[2];
	uint32_t hosts_start; /* into HOSTS: string offsets of lowercase host patterns */
	uint32_t n_hosts;
	uint32_t addrs_start; /* into DEST_PREFIXES */
	uint32_t n_addrs;
	uint32_t ports_start; /* into PORTS */
	uint32_t n_ports;
};
static_assert(sizeof(struct pc_img_destination) == 32, "pc_img_destination layout");

/* Policy and rule flags. They took bytes that were padding (always zero)
 * in ABI 3, so the ABI stays 3: an image without a shadow mode reads the
 * same as before, and a loader that predates the flags ignores them and
 * enforces every deny, which fails closed. A bit outside the defined set is
 * an error (policy_image.c). */
#define PC_IMG_POLICY_SHADOW 0x1 /* "mode": "shadow" at top level */
#define PC_IMG_POLICY_DLP_BLOCKS 0x2 /* "dlp": {"action": "deny"}; only with a DLP section */
#define PC_IMG_POLICY_FLAGS (PC_IMG_POLICY_SHADOW | PC_IMG_POLICY_DLP_BLOCKS)
/* Path normalisation switches, set when the policy turns a default off, so
 * zero is lib/http/path_norm.h's PC_PATH_NORM_OPTS_DEFAULT. */
#define PC_IMG_PATH_KEEP_SLASHES 0x1       /* "merge_slashes": false */
#define PC_IMG_PATH_KEEP_ENCODED_SLASH 0x2 /* "reject_encoded_slash": false */
#define PC_IMG_PATH_FLAGS (PC_IMG_PATH_KEEP_SLASHES | PC_IMG_PATH_KEEP_ENCODED_SLASH)
#define PC_IMG_DEST_EXTERNAL 0x1 /* "external": request bodies are DLP-scanned */
#define PC_IMG_DEST_FLAGS PC_IMG_DEST_EXTERNAL
#define PC_IMG_RULE_SHADOW 0x1   /* the rule's "mode": "shadow" */
#define PC_IMG_RULE_FLAGS PC_IMG_RULE_SHADOW

struct pc_img_rule {
	uint32_t id;            /* string */
	uint8_t action;         /* enum pc_action */
	uint8_t flags;          /* PC_IMG_RULE_*; other bits zero */
	uint16_t methods;       /* enum pc_http_method bits, 0 = any */
	uint32_t ids_start;     /* into RULE_REFS: identity indexes */
	uint32_t n_ids;
	uint32_t dests_start;   /* into RULE_REFS: destination indexes */
	uint32_t n_dests;
	uint32_t hdrs_start;    /* into HDR_CONDS */
	uint32_t n_hdrs;
	uint32_t paths_start;   /* into PATHS; a rule's patterns are contiguous */
	uint32_t n_paths;
	uint32_t claims_start;  /* into CLAIM_CONDS */
	uint32_t n_claims;
	/* TLS posture; a rule has some exactly when has_tls is 1. */
	uint8_t has_tls;        /* 0 or 1 */
	uint8_t deny_response;  /* enum pc_deny_response; 0: the policy's */
	uint16_t tls_min_version; /* 0, 0x0303 (1.2) or 0x0304 (1.3) */
	uint32_t ja4_start;     /* into TLS_JA4: string offsets of JA4 fingerprints */
	uint32_t n_ja4;
	uint32_t alpn_start;    /* into TLS_ALPN: string offsets of protocol names */
	uint32_t n_alpn;
	/* Body conditions: at most one of the two runs is non-empty. */
	uint32_t models_start;  /* into MODELS: string offsets of model globs */
	uint32_t n_models;
	uint32_t tools_start;   /* into MCP_TOOLS: string offsets of tool globs */
	uint32_t n_tools;
};
static_assert(sizeof(struct pc_img_rule) == 84, "pc_img_rule layout");

struct pc_img_hdr_cond {
	uint32_t name;         /* string, lowercase */
	uint32_t values_start; /* into HDR_VALUES: string offsets, exact values */
	uint32_t n_values;
	uint32_t pad;
};
static_assert(sizeof(struct pc_img_hdr_cond) == 16, "pc_img_hdr_cond layout");

struct pc_img_issuer {
	uint32_t issuer;         /* string: exact "iss" */
	uint32_t jwks;           /* string: the JWK Set as JSON text */
	uint32_t token_header;   /* string: lowercase header name */
	uint32_t auds_start;     /* into AUDIENCES: string offsets */
	uint32_t n_auds;
	uint32_t algs;           /* PC_JWT_ALG_BIT() set, non-empty */
	uint32_t leeway_s;
	uint32_t max_lifetime_s;
	uint8_t require_exp;     /* 0 or 1 */
	uint8_t pad[7];
};
static_assert(sizeof(struct pc_img_issuer) == 40, "pc_img_issuer layout");

struct pc_img_claim_cond {
	uint32_t name;           /* string */
	uint32_t values_start;   /* into CLAIM_VALUES: string offsets */
	uint32_t n_values;
	uint32_t pad;
};
static_assert(sizeof(struct pc_img_claim_cond) == 16, "pc_img_claim_cond layout");

struct pc_img_path {
	uint32_t pattern; /* string: the regex as written */
	uint32_t rule;    /* the rule whose paths_start..+n_paths holds this entry */
};
static_assert(sizeof(struct pc_img_path) == 8, "pc_img_path layout");

/* ---- runtime form ----
 *
 * What pc_policy_from_image() builds from a validated image, laid out for
 * the decision engine (lib/engine/decide.c), the only other reader. Strings
 * and index arrays point into the policy's own copy of the image; everything
 * is read-only once built, so workers share one policy without locks.
 */

struct pc_rt_host {
	const char *s;    /* lowercase; for "*.x.y" the suffix ".x.y" */
	uint32_t len;
	uint32_t wildcard;
};

struct pc_rt_destination {
	const struct pc_prefix *addrs;
	const uint16_t *ports;
	const struct pc_rt_host *hosts;
	uint32_t n_addrs;
	uint32_t n_ports;
	uint32_t n_hosts;
	uint8_t proto;    /* enum pc_dest_proto */
	bool external;    /* "external": true */
};

struct pc_rt_hdr_cond {
	struct pc_str name;          /* lowercase */
	const struct pc_str *values;
	uint32_t n_values;
};

/* Rule flags. A rule with an L7 condition never matches an L4 or TLS
 * decision; a rule with TLS posture matches TLS decisions only. */
#define PC_RT_RULE_L7 0x1
#define PC_RT_RULE_PATHS 0x2
#define PC_RT_RULE_CLAIMS 0x4 /* only callers identified by a verified JWT */
#define PC_RT_RULE_TLS 0x8    /* has TLS posture conditions */
#define PC_RT_RULE_SHADOW 0x10 /* "mode": "shadow": its deny passes, marked */
#define PC_RT_RULE_BODY 0x20   /* models or tools: reads the request body */

struct pc_rt_claim_cond {
	struct pc_str name;
	const struct pc_str *values;
	uint32_t n_values;
};

struct pc_rt_rule {
	uint16_t methods;             /* 0 = any */
	uint8_t action;
	uint8_t flags;                /* PC_RT_RULE_* */
	uint32_t n_dests;             /* 0 = anywhere */
	const uint32_t *dests;
	const struct pc_rt_hdr_cond *hdrs;
	uint32_t n_hdrs;
	const struct pc_rt_claim_cond *claims;
	uint32_t n_claims;
	uint16_t tls_min_version;     /* 0 = any */
	uint32_t n_ja4;               /* 0 = any fingerprint */
	const struct pc_str *ja4;     /* PC_POLICY_JA4_LEN each */
	uint32_t n_alpn;              /* 0 = ALPN not looked at */
	const struct pc_str *alpn;
	const char *id;
	/* Body conditions (PC_RT_RULE_BODY): model globs, or MCP tool globs. */
	const struct pc_str *models;
	uint32_t n_models;
	const struct pc_str *tools;
	uint32_t n_tools;
	uint8_t deny_response;        /* enum pc_deny_response; UNSET: the policy's */
};

struct pc_rt_identity {
	const char *name;
	const struct pc_prefix *sources;
	uint32_t n_sources;
	uint32_t n_api_keys;
	/* Rules that name this identity, ascending. The engine merges them
	 * with the policy's anyone-rules, which keeps memory linear in the
	 * policy size rather than identities x anyone-rules. */
	uint32_t *rules;
	uint32_t n_rules;
	bool has_paths;               /* some candidate (own or anyone) has paths */
	/* JWT binding: jwt_issuer < n_issuers when the identity has one. */
	uint32_t jwt_issuer;
	struct pc_str jwt_claim;      /* len 0: the subject */
	struct pc_str jwt_value;
	bool jwt_glob;                /* jwt_value holds '*' or '?' */
};

/* A distinct JWT token header, in issuer order. */
struct pc_rt_token_header {
	struct pc_str name;           /* lowercase */
	bool bearer;                  /* "authorization": the token follows "Bearer " */
};

/* A distinct API-key header name, in policy order. */
struct pc_rt_key_header {
	struct pc_str name;           /* lowercase */
	bool bearer;                  /* "authorization": the key follows "Bearer " */
};

/* A prefix of a source-only identity (sources, no keys). */
struct pc_rt_source {
	struct pc_prefix prefix;
	uint32_t identity;
};

struct pc_policy {
	void *image;                  /* own aligned copy; everything below points into it */
	size_t image_len;
	uint32_t version;
	uint8_t default_action;
	bool shadow;                  /* "mode": "shadow" for the whole policy */
	uint8_t deny_response;        /* enum pc_deny_response of the policy */
	bool dlp_blocks;              /* "dlp": {"action": "deny"} */
	uint32_t body_window;         /* bytes; never 0 */
	struct pc_dlp_db *dlp;        /* NULL: no DLP, or no external destination */
	struct pc_path_norm_opts path_opts;
	uint32_t *external_dests;     /* destinations marked external */
	uint32_t n_external_dests;
	uint32_t n_identities;
	uint32_t n_destinations;
	uint32_t n_rules;
	uint32_t n_keys;
	uint32_t n_paths;
	const struct pc_img_key *keys; /* sorted by digest */
	struct pc_rt_identity *identities;
	struct pc_rt_destination *destinations;
	struct pc_rt_rule *rules;
	struct pc_rt_key_header *key_headers;
	uint32_t n_key_headers;
	struct pc_rt_source *source_only; /* longest prefix first */
	uint32_t n_source_only;
	uint32_t *anyone_rules;       /* rules naming no identity, ascending */
	uint32_t n_anyone_rules;
	bool anyone_has_paths;
	const struct pc_img_path *paths; /* pattern id -> rule */
	struct hs_database *db;       /* NULL when no rule has paths */
	uint32_t *inspect_dests;      /* destinations with proto HTTP or TLS */
	uint32_t n_inspect_dests;
	/* JWT: issuers as lib/jwt wants them (a pointer array for
	 * pc_jwt_verify_any), each with its key set built from the image. */
	struct pc_jwt_issuer *issuers;
	const struct pc_jwt_issuer **issuer_list;
	uint32_t n_issuers;
	struct pc_rt_token_header *token_headers;
	uint32_t n_token_headers;
	uint32_t *jwt_identities;     /* identities with a JWT binding, policy order */
	uint32_t n_jwt_identities;
	/* backing storage of the arrays above */
	struct pc_prefix *prefixes;
	struct pc_rt_host *hosts;
	struct pc_rt_hdr_cond *hdr_conds;
	struct pc_str *hdr_values;
	uint32_t *rule_lists;
	struct pc_str *audiences;
	struct pc_rt_claim_cond *claim_conds;
	struct pc_str *claim_values;
	struct pc_str *tls_ja4;
	struct pc_str *tls_alpn;
	struct pc_str *models;
	struct pc_str *tools;
};

/* Name of a section for messages ("destinations"). */
const char *pc__img_section_name(unsigned sec);

/* Element size of a section in bytes. */
size_t pc__img_section_elem_size(unsigned sec);

/* A JA4 fingerprint's shape (FoxIO JA4 §"JA4 a_b_c"): [tqd], two
 * version characters, [di], four digits, two ALPN characters, '_', 12
 * lowercase hex, '_', 12 lowercase hex. The loader, the compiler and the
 * image loader all hold a fingerprint to this. */
bool pc__policy_ja4_valid(const char *s, size_t len);

/* An ALPN protocol name as a policy may list it: 1..255 printable
 * non-space ASCII bytes (RFC 7301 §3.1 allows any bytes; policies name
 * registered protocols). */
bool pc__policy_alpn_valid(const char *s, size_t len);

/* crc32 of image[PC_POLICY_IMAGE_CRC_START, len): what the header's crc32
 * field must hold. len >= PC_POLICY_IMAGE_CRC_START. */
uint32_t pc__img_crc(const void *image, size_t len);

#endif
