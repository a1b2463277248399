/* SPDX-License-Identifier: BSD-3-Clause
 *
 * TLS ClientHello parser and JA4 fingerprint. It reads the client-to-server
 * byte stream of a TCP connection from its first byte, walks the record layer
 * (RFC 8446 §5.1), reassembles a ClientHello that the client fragmented over
 * several records (bounded), checks every length of the message (§4.1.2,
 * §4.2) and extracts what policy decides on: the server name, the ALPN
 * protocols, the offered versions, the cipher suites, the extension types and
 * the signature algorithms.
 *
 * The parser is stateless: the dataplane appends segments in sequence and
 * calls again with the longer stream until it returns something other than
 * PC_TLS_INCOMPLETE. A prefix is rejected as soon as it cannot start a valid
 * ClientHello (a plaintext HTTP request on port 443 is refused at its first
 * byte), so a flow is not held for data that can never become valid.
 *
 * Zero copy when the hello sits in one record (the common case): the views in
 * struct pc_tls_hello point into the caller's buffer. When it spans records,
 * the message is copied into the struct's own reassembly area and the views
 * point there, so the struct must neither move nor be copied while its views
 * are in use, and it is large (about 17 KiB): keep one per worker, not one
 * per flow. No allocation; any thread; fast path.
 */
#ifndef PC_TLS_HELLO_H
#define PC_TLS_HELLO_H

#include "util/pc_types.h"

/* X(name, "text"): every outcome of pc_tls_hello_parse(). */
#define PC_TLS_REASONS(X)                                               \
	X(OK, "ok")                                                     \
	X(INCOMPLETE, "tls_hello_incomplete")                           \
	X(NOT_HANDSHAKE, "tls_not_handshake")                           \
	X(BAD_RECORD_VERSION, "tls_bad_record_version")                 \
	X(RECORD_TOO_LARGE, "tls_record_too_large")                     \
	X(EMPTY_RECORD, "tls_empty_record")                             \
	X(TOO_MANY_RECORDS, "tls_too_many_records")                     \
	X(NOT_CLIENT_HELLO, "tls_not_client_hello")                     \
	X(HELLO_TOO_LARGE, "tls_hello_too_large")                       \
	X(DATA_AFTER_HELLO, "tls_data_after_hello")                     \
	X(TRUNCATED, "tls_hello_truncated")                             \
	X(TRAILING_BYTES, "tls_hello_trailing_bytes")                   \
	X(BAD_LEGACY_VERSION, "tls_bad_legacy_version")                 \
	X(BAD_SESSION_ID, "tls_bad_session_id")                         \
	X(BAD_CIPHER_SUITES, "tls_bad_cipher_suites")                   \
	X(TOO_MANY_CIPHER_SUITES, "tls_too_many_cipher_suites")         \
	X(BAD_COMPRESSION, "tls_bad_compression_methods")               \
	X(TOO_MANY_EXTENSIONS, "tls_too_many_extensions")               \
	X(DUPLICATE_EXTENSION, "tls_duplicate_extension")               \
	X(PSK_NOT_LAST, "tls_pre_shared_key_not_last")                  \
	X(BAD_SERVER_NAME, "tls_bad_server_name")                       \
	X(BAD_ALPN, "tls_bad_alpn")                                     \
	X(TOO_MANY_ALPN, "tls_too_many_alpn_protocols")                 \
	X(BAD_SUPPORTED_VERSIONS, "tls_bad_supported_versions")         \
	X(BAD_SIGNATURE_ALGORITHMS, "tls_bad_signature_algorithms")

enum pc_tls_reason {
#define PC_X(name, text) PC_TLS_##name,
	PC_TLS_REASONS(PC_X)
#undef PC_X
	PC_TLS_REASON_COUNT
};

#define PC_TLS_RECORD_HDR 5          /* type(1) legacy_version(2) length(2) */
#define PC_TLS_RECORD_MAX 16384      /* TLSPlaintext.length <= 2^14, RFC 8446 §5.1 */
#define PC_TLS_HELLO_MAX 16384       /* whole handshake message, 4-byte header included */
#define PC_TLS_MAX_RECORDS 64        /* records one hello may be fragmented over */
#define PC_TLS_MAX_CIPHER_SUITES 256 /* real clients offer 2..~170 */
#define PC_TLS_MAX_EXTENSIONS 64     /* real clients send ~10..25 */
#define PC_TLS_MAX_ALPN 16           /* protocols kept from the ALPN list */
#define PC_TLS_SNI_MAX 255           /* RFC 6066 §3 host names; DNS limit */
#define PC_TLS_JA4_LEN 36            /* "t13d1516h2_8daaf6152771_e5627efa2ab1" */

/* Extension types this module interprets (IANA TLS ExtensionType values). */
enum {
	PC_TLS_EXT_SERVER_NAME = 0,
	PC_TLS_EXT_SIGNATURE_ALGORITHMS = 13,
	PC_TLS_EXT_ALPN = 16,
	PC_TLS_EXT_PRE_SHARED_KEY = 41,
	PC_TLS_EXT_SUPPORTED_VERSIONS = 43,
};

/* Protocol versions as on the wire. */
enum {
	PC_TLS_VERSION_SSL3 = 0x0300,
	PC_TLS_VERSION_1_0 = 0x0301,
	PC_TLS_VERSION_1_1 = 0x0302,
	PC_TLS_VERSION_1_2 = 0x0303,
	PC_TLS_VERSION_1_3 = 0x0304,
};

/* struct pc_tls_hello.flags */
enum {
	PC_TLS_F_SNI = 1u << 0,        /* a server_name extension was sent */
	PC_TLS_F_SNI_IP = 1u << 1,     /* ...and its host_name is an IP literal */
	PC_TLS_F_ALPN = 1u << 2,       /* an ALPN extension was sent */
	PC_TLS_F_SUPPORTED_VERSIONS = 1u << 3, /* versions come from that extension */
	PC_TLS_F_REASSEMBLED = 1u << 4, /* the hello spanned records; views point into h */
};

/* A view of n big-endian 16-bit values (cipher suites, versions, signature
 * schemes) exactly as sent, GREASE values included. */
struct pc_tls_u16v {
	const uint8_t *p;
	uint16_t n;
};

/* The i-th value of v (i < v.n). Fast path. */
static inline uint16_t pc_tls_u16v_at(struct pc_tls_u16v v, uint32_t i)
{
	return (uint16_t)(v.p[2 * i] << 8 | v.p[2 * i + 1]);
}

/* True for the reserved GREASE values 0x0a0a, 0x1a1a, ... 0xfafa (RFC 8701
 * §2), which clients sprinkle into every list to keep servers tolerant. They
 * carry no meaning and are skipped wherever a value is interpreted. */
static inline bool pc_tls_is_grease(uint16_t v)
{
	return (v & 0x0f0f) == 0x0a0a && (v >> 8) == (v & 0xff);
}

/* What the parser learned. After PC_TLS_OK every field is set; after
 * PC_TLS_INCOMPLETE only need is; after a reason, nothing is. */
struct pc_tls_hello {
	uint32_t need;            /* INCOMPLETE: stream bytes to have before calling
				   * again (a lower bound: more may follow) */
	uint32_t stream_len;      /* stream bytes of the records carrying the hello */
	uint32_t hello_len;       /* handshake message bytes, 4-byte header included */
	uint16_t n_records;       /* records the hello was carried in */
	uint16_t legacy_version;  /* ClientHello.legacy_version */
	uint16_t highest_version; /* highest non-GREASE offered version, 0 if none */
	uint8_t flags;            /* PC_TLS_F_* */
	uint8_t session_id_len;   /* 0..32 */
	const uint8_t *random;    /* 32 bytes */
	const uint8_t *session_id;
	struct pc_tls_u16v cipher_suites;
	struct pc_tls_u16v versions;  /* supported_versions, else legacy_version alone */
	struct pc_tls_u16v sig_algs;  /* signature_algorithms; n = 0 when absent */
	uint8_t n_alpn;
	struct pc_str alpn[PC_TLS_MAX_ALPN]; /* protocol names, in the client's order */
	uint16_t sni_len;         /* 0 when no host_name was sent */
	char sni[PC_TLS_SNI_MAX + 1]; /* host_name lowercased, NUL-terminated */
	uint16_t n_ext;
	uint16_t ext_types[PC_TLS_MAX_EXTENSIONS]; /* in wire order, GREASE included */
	/* private: the message, when the client fragmented it over records */
	uint8_t reasm[PC_TLS_HELLO_MAX];
};

/* Parse the start of a client-to-server TLS stream at buf[0..len). Returns
 * PC_TLS_OK with *h filled; PC_TLS_INCOMPLETE with h->need > len when buf
 * holds a valid prefix of a ClientHello; otherwise the reason it is refused.
 * Bytes after the records carrying the hello (h->stream_len) are not read.
 * Rules implemented (RFC 8446 unless noted):
 *  - records (§5.1): content type handshake(22) only, legacy_record_version
 *    0x0301..0x0303, 1..2^14 bytes (no zero-length handshake fragments), at
 *    most PC_TLS_MAX_RECORDS of them; the hello ends with its last record.
 *  - handshake (§4): msg_type client_hello(1), at most PC_TLS_HELLO_MAX bytes.
 *  - ClientHello (§4.1.2): legacy_version 3.x, 32-byte random,
 *    legacy_session_id<0..32>, cipher_suites<2..2^16-2> (even),
 *    legacy_compression_methods<1..2^8-1> including null(0) (RFC 5246
 *    §7.4.1.2), then either nothing (pre-1.2 clients) or an extensions block
 *    that exactly fills the message.
 *  - extensions (§4.2): each within the block, no type twice, pre_shared_key
 *    last (§4.2.11); server_name holds exactly one host_name (RFC 6066 §3) that
 *    is a DNS name (letters, digits, '-', '.'; labels 1..63; no trailing dot)
 *    or an IP literal (flagged PC_TLS_F_SNI_IP); ALPN names are 1..255 bytes
 *    in a non-empty list (RFC 7301 §3.1); supported_versions<2..254> (§4.2.1)
 *    and signature_algorithms<2..2^16-2> (§4.2.3) are even-length lists.
 * Any thread, fast path. */
enum pc_tls_reason pc_tls_hello_parse(const uint8_t *buf, size_t len, struct pc_tls_hello *h);

/* Write the JA4 fingerprint of a parsed hello (FoxIO JA4 specification,
 * technical_details/JA4.md) to out as a NUL-terminated string of
 * PC_TLS_JA4_LEN characters, e.g. "t13d1516h2_8daaf6152771_e5627efa2ab1".
 * h must come from a pc_tls_hello_parse() that returned PC_TLS_OK. Costs two
 * SHA-256 over a few hundred bytes, so it is separate from the parse. Any
 * thread, fast path. */
void pc_tls_hello_ja4(const struct pc_tls_hello *h, char out[PC_TLS_JA4_LEN + 1]);

/* True when the hello carried an extension of this type. Fast path. */
static inline bool pc_tls_hello_has_ext(const struct pc_tls_hello *h, uint16_t type)
{
	for (uint32_t i = 0; i < h->n_ext; i++)
		if (h->ext_types[i] == type)
			return true;
	return false;
}

const char *pc_tls_reason_name(enum pc_tls_reason r);

#endif
