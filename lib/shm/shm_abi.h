/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The control segment: the one shared-memory object through which
 * portcullis-control (the writer of policy images and revocations) and
 * portcullis-dataplane (the reader, and the writer of acknowledgements) talk.
 * This header is the ABI between the two processes: every layout change bumps
 * PC_SHM_ABI_VERSION, and a process refuses a segment of another version.
 *
 * Layout: struct pc_shm_ctl at offset 0, then two image slots of slot_max
 * bytes each at page-aligned offsets slot_off[0] and slot_off[1].
 *
 * Policy push protocol (generation g into slot s):
 *   1. control picks s = the slot NOT named by the current publish word, and
 *      only once ack.acked_generation >= the generation that last used s
 *      (the dataplane may still be copying an older publish out of s until
 *      it acknowledges it). It writes the image into s, then slot[s].len,
 *      slot[s].crc32 and slot[s].generation (plain stores).
 *   2. control stores publish = g << 32 | s with release: everything of step
 *      1 is visible to a reader that loads the new word with acquire.
 *   3. the dataplane's main lcore loads publish (acquire) once per loop; on a
 *      word it has not handled it reads slot[s], checks len <= slot_max,
 *      copies len bytes out, and loads publish again: a changed word means
 *      control moved on (or misbehaved) during the copy, so the copy is
 *      dropped and the newer word handled instead. Only then is the copy
 *      checked (crc32, then pc_policy_from_image validates the image as
 *      hostile input), so nothing control writes later can change what was
 *      validated.
 *   4. the dataplane writes the ack fields, then stores ack.acked_generation
 *      = g with release. Control loads acked_generation (acquire) until it
 *      is g, then reads the fields: they stay as they are until control
 *      publishes again, since the dataplane writes them only when it handles
 *      a new publish word, and control is the only publisher.
 *   5. the next push goes to the other slot, after step 4 for g (bounded
 *      wait): until then the dataplane may still be copying out of the slot
 *      named by the word before g, which is the slot the next push fills. A
 *      dataplane that is not attached (no heartbeat) reads no slot; one that
 *      attaches later reads only the newest word, and step 3's re-check
 *      catches a push that lands during its copy.
 * Generation 0 means "nothing published"; the dataplane runs its startup
 * policy as generation 1, so control's first push is generation 2. A
 * restarted control continues from max(published, acked) + 1, never
 * backwards.
 *
 * Quarantine protocol: control increments quar_seq to an odd value (release),
 * rewrites the table, then increments it to the next even value (release).
 * The dataplane copies the table when quar_seq is even and different from
 * the last it applied, and keeps the copy only when quar_seq is the same
 * after the copy (an acquire fence between the copy and the re-check). Each
 * entry is checked again on the dataplane side (count bounded, kind known,
 * strings cut at their last byte). Identity entries name policy identities;
 * the dataplane maps names to the running policy's indexes every time the
 * table or the policy changes, and drops entries whose expires_s has passed
 * even when control is gone.
 *
 * Flows protocol (portcullisctl flows): control fills flows.limit and
 * flows.identity, then stores flows.req_seq = the last value + 1 (release).
 * The dataplane's main lcore loads req_seq (acquire) once per loop; on a
 * value it has not answered it copies the request out (limit bounded to
 * PC_SHM_FLOWS_MAX, the name cut at its last byte), has every worker copy
 * its matching flows at its next housekeeping (the flow tables are
 * single-writer: no other thread walks them), writes flows.rec[], count,
 * matched and result, then stores flows.done_seq = req_seq (release).
 * Control loads done_seq (acquire) until it equals its req_seq, within a
 * timeout, and only then reads the records; the dataplane writes them again
 * only for a newer req_seq, and control posts one only after its previous
 * request was answered or timed out (a late answer to an abandoned request
 * carries the older done_seq and is ignored).
 *
 * Doorbell: after each of the three stores that hand the dataplane work (a
 * publish word, an even quar_seq, a flows req_seq) control increments
 * doorbell (release) and wakes whoever waits on it (futex(2) FUTEX_WAKE on
 * the shared word, not private: the waiter is another process). The
 * dataplane's main lcore loads doorbell (acquire) before it polls the
 * segment, and between its turns sleeps in FUTEX_WAIT on the value it
 * loaded, for at most one turn: work that came after the load either
 * changed the word (the wait returns at once) or wakes the wait. So a push
 * or a revocation is handled within the wake-up latency rather than at the
 * next turn, and nothing is lost if a wake is missed (the turn's timeout).
 *
 * Which process writes what is said field by field below; a field written by
 * the other process is never trusted beyond its type.
 */
#ifndef PC_SHM_ABI_H
#define PC_SHM_ABI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define PC_SHM_MAGIC 0x31544e4343504350ull /* "PCPCCNT1" in little-endian bytes */
#define PC_SHM_ABI_VERSION 3u

#define PC_SHM_DEFAULT_SLOT_MAX (64u << 20) /* bytes of one image slot */
#define PC_SHM_MIN_SLOT_MAX (64u << 10)
#define PC_SHM_MAX_SLOT_MAX (1u << 30)
#define PC_SHM_ERR_MAX 256      /* bytes of ack.error, NUL included */
#define PC_SHM_QUAR_MAX 1024    /* revocation entries */
#define PC_SHM_QUAR_NAME_MAX 128 /* bytes of an identity name, NUL included */
#define PC_SHM_QUAR_REASON_MAX 128
#define PC_SHM_FP_LEN 8         /* bytes of a credential fingerprint */
#define PC_SHM_FLOWS_MAX 4096   /* flow records one flows answer carries */
#define PC_SHM_FLOWS_DEFAULT 100
#define PC_SHM_RULE_ID_MAX 96   /* bytes of a rule id in a flow record, NUL included */

#define PC_SHM_PUBLISH(gen, slot) (((uint64_t)(gen) << 32) | (uint64_t)(slot))
#define PC_SHM_PUBLISH_GEN(word) ((uint32_t)((word) >> 32))
#define PC_SHM_PUBLISH_SLOT(word) ((uint32_t)((word) & 0xffffffffu))

/* One image slot's description. Control writes it before the publish store
 * that names the slot; the dataplane reads it after loading that word. */
struct pc_shm_slot {
	uint64_t len;        /* bytes of image at slot_off[i]; must be <= slot_max */
	uint32_t crc32;      /* CRC-32C of those bytes (util/crc32c.h; ABI 1 had zlib's CRC-32) */
	uint32_t generation; /* the generation the slot was filled for */
};

enum pc_shm_quar_kind {
	PC_SHM_QUAR_IDENTITY = 1,   /* name is a policy identity name */
	PC_SHM_QUAR_CREDENTIAL = 2, /* fp is a credential fingerprint */
};

/* One revocation. Control writes; the dataplane copies (see the protocol). */
struct pc_shm_quar_entry {
	uint32_t kind;                   /* enum pc_shm_quar_kind */
	uint32_t pad;
	int64_t added_s;                 /* CLOCK_REALTIME seconds */
	int64_t expires_s;               /* CLOCK_REALTIME seconds; 0: never */
	uint8_t fp[PC_SHM_FP_LEN];
	char name[PC_SHM_QUAR_NAME_MAX];
	char reason[PC_SHM_QUAR_REASON_MAX];
};

/* Written by the dataplane's main lcore only. */
struct pc_shm_ack {
	/* Written with release last, after every other field of this struct
	 * that describes the generation (see the protocol). */
	uint32_t acked_generation; /* last generation handled, applied or not */
	int32_t result;            /* 0, or -errno of the failure */
	char error[PC_SHM_ERR_MAX]; /* "" or why the generation was refused */
	uint32_t applied_generation; /* the generation workers run now */
	uint32_t applied_rules;      /* its rule count */
	uint64_t apply_ns;      /* seen -> acknowledged, ns */
	uint64_t seen_ns;       /* CLOCK_REALTIME when the publish was seen */
	uint64_t quiescent_ns;  /* CLOCK_REALTIME when the last worker went quiescent */
	uint64_t applied_ns;    /* CLOCK_REALTIME when applied_generation was applied */

	/* Relaxed stores, every ~100 ms while the main lcore runs: a reader
	 * calls the dataplane attached while heartbeat_ns is recent. */
	uint64_t heartbeat_ns;  /* CLOCK_MONOTONIC */
	uint64_t started_ns;    /* CLOCK_REALTIME when the dataplane attached */
	uint32_t pid;
	uint16_t workers;
	uint16_t pad;
	uint32_t quar_seq_applied; /* quar_seq of the table workers use now */
	uint32_t quar_entries;     /* entries in it */
};

/* One live flow, as a worker saw it at its housekeeping. Written by the
 * dataplane's main lcore (from the workers' copies) before done_seq. */
struct pc_shm_flow {
	uint8_t family;        /* 4 or 6 */
	uint8_t proto;         /* IP protocol */
	uint8_t state;         /* 1 inspect, 2 forward, 3 denied (dataplane/flow_table.h) */
	uint8_t l7;            /* enum pc_flow_l7 of an inspected flow */
	uint8_t tcp;           /* PC_FLOW_TCP_* events seen */
	uint8_t action;        /* the last verdict: enum pc_action */
	uint8_t reason;        /* its enum pc_decision_reason (or dataplane reason) */
	uint8_t cred_kind;     /* enum pc_cred_kind */
	uint16_t worker;
	uint16_t vlan;         /* outer VLAN id, 0 when untagged */
	uint16_t client_port;  /* TCP/UDP port of the end that opened the flow */
	uint16_t server_port;
	uint8_t client_addr[16]; /* network order; IPv4 in the first 4 bytes */
	uint8_t server_addr[16];
	uint8_t fp[PC_SHM_FP_LEN]; /* credential fingerprint, zero when none */
	int32_t identity;      /* identity index in generation, -1 when unknown */
	int32_t rule;          /* rule index in generation, -1 when none */
	uint32_t generation;   /* policy generation the verdict was reached under */
	uint32_t requests;     /* requests decided on the connection */
	uint64_t pkts;         /* both directions */
	uint64_t bytes;        /* both directions, whole frames */
	uint64_t age_ms;       /* since the flow's entry was made */
	uint64_t idle_ms;      /* since its last packet */
	char identity_name[PC_SHM_QUAR_NAME_MAX]; /* "" when unknown or of a retired generation */
	char rule_id[PC_SHM_RULE_ID_MAX];         /* likewise */
};

/* The flows request and its answer (see the protocol). */
struct pc_shm_flows {
	/* Control. */
	uint32_t req_seq;      /* stored with release after limit and identity */
	uint32_t limit;        /* records wanted; the dataplane bounds it */
	char identity[PC_SHM_QUAR_NAME_MAX]; /* only flows of this identity; "" all */

	/* Dataplane main lcore. */
	uint32_t done_seq __attribute__((aligned(64))); /* release, after everything below */
	int32_t result;        /* 0 or -errno */
	uint32_t count;        /* records in rec[] */
	uint32_t matched;      /* matching flows seen, count or more */
	uint64_t elapsed_ns;   /* request seen -> answered */
	struct pc_shm_flow rec[PC_SHM_FLOWS_MAX];
};

struct pc_shm_ctl {
	/* Control, once, when it creates the segment; never changed after. */
	uint64_t magic;        /* PC_SHM_MAGIC */
	uint32_t abi;          /* PC_SHM_ABI_VERSION */
	uint32_t header_size;  /* sizeof(struct pc_shm_ctl) */
	uint64_t seg_size;     /* bytes of the whole segment */
	uint64_t slot_max;     /* bytes of each image slot */
	uint64_t slot_off[2];  /* offsets of the slots from the segment start */

	/* Control: publish with release after the slot is filled. */
	uint64_t publish __attribute__((aligned(64))); /* PC_SHM_PUBLISH(generation, slot) */
	struct pc_shm_slot slot[2];
	uint32_t cp_pid;       /* informational */
	uint32_t doorbell;     /* incremented after each hand-over (see the protocol) */

	/* Control: the quarantine table (seqlock, see the protocol). */
	uint32_t quar_seq __attribute__((aligned(64)));
	uint32_t quar_count;   /* entries in use; <= PC_SHM_QUAR_MAX */
	struct pc_shm_quar_entry quar[PC_SHM_QUAR_MAX];

	/* Dataplane. */
	struct pc_shm_ack ack __attribute__((aligned(64)));

	/* Both: the flows request (control) and answer (dataplane). */
	struct pc_shm_flows flows __attribute__((aligned(64)));
};

static_assert(sizeof(struct pc_shm_slot) == 16, "slot descriptor is 16 bytes");
static_assert(offsetof(struct pc_shm_ctl, publish) == 64, "publish word on its own line");
static_assert(sizeof(struct pc_shm_quar_entry) == 288, "quarantine entry is 288 bytes");
static_assert(sizeof(struct pc_shm_flow) == 328, "flow record is 328 bytes");

#endif
