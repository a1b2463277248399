/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Per-worker flow table. Each worker owns one table and is its only reader
 * and writer, so there are no locks and no concurrency flags on the hashes:
 * a flow's both directions are steered to one worker (hand-off ring), and
 * the table never needs to be seen by another thread.
 *
 * Two rte_hash tables, one per address family, each with an entry array
 * indexed by the position rte_hash returns. The key is the flow's 5-tuple in
 * canonical order (the lower address/port endpoint first) plus the outer VLAN
 * id, so both directions of a flow find the same entry. IPv4 keys are 16
 * bytes, which rte_hash compares with one vector instruction and hashes in
 * two CRC steps; folding IPv4 into a 40-byte IPv6-sized key would cost every
 * IPv4 lookup 2.5x the hashing and a memcmp, for the sake of one table.
 *
 * An entry is two cache lines: the first is all a forwarded packet touches
 * after the hash bucket; the second holds the TCP sequence and HTTP framing
 * state that only flows under inspection use. Capacity is counted here, not left to
 * rte_hash (whose extendable buckets make any capacity reachable), so "table
 * full" means exactly capacity live flows and nothing else.
 *
 * Aging is incremental (pc_flow_table_age): the worker sweeps a bounded slice
 * of slots every few loops, so deleting idle flows never stalls a burst. A
 * bitmap of live slots (16 KiB per family at the default capacity, so it
 * stays in cache) lets the sweep pass 64 free slots with one load instead
 * of a cache miss each: a whole sweep costs in proportion to the live
 * flows, not to the table's size.
 *
 * The entry is full, so what only a few readers want lives in a parallel
 * array of struct pc_flow_aux, one per slot, in its own memory: the entry's
 * birth time (written once when the entry is made, read by the flow
 * listing) and, for inspected flows only, the server's L2 header and next
 * sequence number (written from the server's packets, read when the aging
 * sweep resets an idle connection of a quarantined caller, which has no
 * packet in hand to copy addresses from). A forwarded packet never touches
 * it.
 */
#ifndef PC_DP_FLOW_TABLE_H
#define PC_DP_FLOW_TABLE_H

#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_hash.h>

#include "engine/decide.h"
#include "http/http_body.h"
#include "pkt/pkt_parse.h"

enum pc_flow_state {
	PC_FLOW_FREE = 0,    /* slot unused */
	PC_FLOW_INSPECT,     /* TCP to an inspected destination, no request decided yet */
	PC_FLOW_FORWARD,     /* allowed: forward both ways */
	PC_FLOW_DENIED,      /* denied: drop both ways */
};

enum { PC_FLOW_V4 = 0, PC_FLOW_V6 = 1, PC_FLOW_FAMILIES = 2 };

/* TCP events seen on a flow, for the idle timeout: a flow is "established"
 * once both ends have acknowledged something and neither has closed. */
enum {
	PC_FLOW_TCP_ACK_CLIENT = 1u << 0,
	PC_FLOW_TCP_ACK_SERVER = 1u << 1,
	PC_FLOW_TCP_FIN = 1u << 2,
	PC_FLOW_TCP_RST = 1u << 3,
};

/* Keys are built with every byte written (padding included): rte_hash
 * compares and hashes raw bytes. */
struct pc_flow_key4 {
	uint32_t addr_lo, addr_hi; /* host order */
	uint16_t port_lo, port_hi; /* host order; 0 for protocols without ports */
	uint8_t proto;
	uint8_t zero;
	uint16_t vlan;             /* outer VLAN id, 0 when untagged */
};
static_assert(sizeof(struct pc_flow_key4) == 16, "IPv4 flow key must stay 16 bytes");

struct pc_flow_key6 {
	uint8_t addr_lo[16], addr_hi[16]; /* network order */
	uint16_t port_lo, port_hi;
	uint8_t proto;
	uint8_t zero;
	uint16_t vlan;
};
static_assert(sizeof(struct pc_flow_key6) == 40, "IPv6 flow key must stay 40 bytes");

/* 8-byte aligned: rte_hash_crc reads keys eight bytes at a time. */
union pc_flow_key {
	struct pc_flow_key4 v4;
	struct pc_flow_key6 v6;
	uint64_t u64[5];
};

/* Where an inspected flow is in its client's byte stream. */
enum pc_flow_l7 {
	PC_FLOW_L7_HEAD = 0, /* the next client bytes are a request head: held until decided */
	PC_FLOW_L7_BODY,     /* an allowed request's body: forwarded, framing tracked */
	PC_FLOW_L7_SNIFF,    /* HTTP or TLS: the first client byte tells (held until seen) */
	PC_FLOW_L7_TLS_HELLO, /* the client bytes are a TLS ClientHello: held until decided */
	PC_FLOW_L7_TLS_PASS, /* the hello was allowed: the rest is encrypted, passed unread
			      * (the flow stays INSPECT so quarantine still reaches it) */
};

/* Two cache lines: the first holds what every packet touches, the second
 * the TCP and HTTP stream state only inspected flows use. */
struct pc_flow {
	uint8_t state;             /* enum pc_flow_state */
	uint8_t proto;             /* IP protocol */
	uint8_t client_dir;        /* the key endpoint that opened the flow: 0 lo, 1 hi */
	uint8_t client_port;       /* ethdev port the client's frames arrive on */
	uint8_t tcp;               /* PC_FLOW_TCP_* */
	uint8_t l7;                /* enum pc_flow_l7 (INSPECT) */
	uint8_t pad0[2];
	uint32_t generation;       /* policy generation the verdict was reached under */
	uint32_t client_isn;       /* TCP: sequence number of the client's SYN */
	uint64_t last_seen_tsc;
	struct pc_verdict verdict; /* the last decision (FORWARD, DENIED, INSPECT after one) */
	uint32_t hold;             /* INSPECT: id of the reasm hold, 0 when nothing is held */
	uint64_t pkts;             /* both directions */
	uint64_t bytes;            /* both directions, whole frames */

	/* INSPECT only. Client sequence numbers, modulo 2^32. */
	uint32_t server_isn;       /* from the SYN-ACK */
	uint32_t l7_seq;           /* client bytes before this are decided: the start of the
				    * head being held (HEAD) or the next body byte (BODY) */
	uint32_t fwd_seq;          /* client bytes before this have been sent to the server */
	uint32_t requests;         /* requests decided on this connection */
	uint64_t hold_tsc;         /* when the current hold took its first packet */
	uint32_t quar_epoch;       /* quarantine epoch the verdict was last checked at */
	struct pc_http_body body;  /* BODY: the allowed request's body framing */
} __rte_aligned(128); /* exactly two cache lines, never straddling a third */
static_assert(sizeof(struct pc_flow) == 128, "flow entry must stay within 128 bytes");
static_assert(sizeof(struct pc_flow) > RTE_CACHE_LINE_MIN_SIZE,
	      "stream state must stay off the first cache line");

/* Beside each entry, by the same position (see the top of this file). */
struct pc_flow_aux {
	uint64_t born_tsc;         /* when pc_flow_table_add() made the entry */
	uint32_t srv_nxt;          /* INSPECT: the server's sequence number after its
				    * furthest segment (SYN and FIN count one) */
	uint8_t l2_len;            /* INSPECT: bytes of l2; 0 until the SYN-ACK is seen */
	uint8_t pad[3];
	uint8_t l2[24];            /* the SYN-ACK's Ethernet header and VLAN tags */
};
static_assert(sizeof(struct pc_flow_aux) == 40, "flow aux entry is 40 bytes");

struct pc_flow_family {
	struct rte_hash *h;
	struct pc_flow *entries;   /* by rte_hash position */
	struct pc_flow_aux *aux;   /* by rte_hash position */
	uint64_t *live;            /* bit per position: set while the slot holds a flow */
	uint32_t n_slots;          /* length of entries */
	uint32_t capacity;         /* live flows allowed */
	uint32_t count;            /* live flows */
	uint32_t key_len;
};

/* Owned by one worker; the fields are visible for the inline fast path only. */
struct pc_flow_table {
	struct pc_flow_family fam[PC_FLOW_FAMILIES];
	uint32_t age_fam, age_pos; /* where the aging sweep resumes */
};

/* Create a table holding up to capacity flows of each family, in memory of
 * socket. name must be unique among live tables (it names the rte_hash
 * objects). Returns NULL with errno set. Control path. */
struct pc_flow_table *pc_flow_table_create(const char *name, uint32_t capacity, int socket);

void pc_flow_table_free(struct pc_flow_table *t);

/* Live flows, both families. Owner thread (or any thread once the owner has
 * stopped). */
static inline uint32_t pc_flow_table_count(const struct pc_flow_table *t)
{
	return t->fam[PC_FLOW_V4].count + t->fam[PC_FLOW_V6].count;
}

/* Build the canonical key of m's flow, with vlan the outer VLAN id. Sets
 * *dir to 0 when m's source is the key's lo endpoint, 1 otherwise. Returns
 * the family index. m must be an IP packet. Any thread; fast path. */
static inline unsigned pc_flow_key_make(const struct pc_pkt_meta *m, uint16_t vlan,
					union pc_flow_key *k, uint8_t *dir)
{
	if (m->l3 == PC_L3_IPV4) {
		uint32_t s = m->src.v4, d = m->dst.v4;
		bool src_lo = s < d || (s == d && m->sport <= m->dport);
		k->v4.addr_lo = src_lo ? s : d;
		k->v4.addr_hi = src_lo ? d : s;
		k->v4.port_lo = src_lo ? m->sport : m->dport;
		k->v4.port_hi = src_lo ? m->dport : m->sport;
		k->v4.proto = m->l4_proto;
		k->v4.zero = 0;
		k->v4.vlan = vlan;
		*dir = src_lo ? 0 : 1;
		return PC_FLOW_V4;
	}
	int c = memcmp(m->src.v6, m->dst.v6, 16);
	bool src_lo = c < 0 || (c == 0 && m->sport <= m->dport);
	memcpy(k->v6.addr_lo, src_lo ? m->src.v6 : m->dst.v6, 16);
	memcpy(k->v6.addr_hi, src_lo ? m->dst.v6 : m->src.v6, 16);
	k->v6.port_lo = src_lo ? m->sport : m->dport;
	k->v6.port_hi = src_lo ? m->dport : m->sport;
	k->v6.proto = m->l4_proto;
	k->v6.zero = 0;
	k->v6.vlan = vlan;
	*dir = src_lo ? 0 : 1;
	return PC_FLOW_V6;
}

/* Hash of a key. Every table uses the same function and seed, so the value
 * also picks the owning worker (handoff.h). Any thread; fast path. */
static inline hash_sig_t pc_flow_table_hash(const struct pc_flow_table *t, unsigned fam,
					    const union pc_flow_key *k)
{
	return rte_hash_hash(t->fam[fam].h, k);
}

/* Look up n (<= RTE_HASH_LOOKUP_BULK_MAX) keys with their hashes; pos[i] is
 * the slot or -ENOENT. Owner thread; fast path. */
static inline void pc_flow_table_lookup_bulk(const struct pc_flow_table *t, unsigned fam,
					     const void **keys, hash_sig_t *sigs, uint32_t n,
					     int32_t *pos)
{
	/* A lone key (a burst of one, common under light load) skips the bulk
	 * path's staging over a whole burst. */
	if (n == 1)
		pos[0] = rte_hash_lookup_with_hash(t->fam[fam].h, keys[0], sigs[0]);
	else
		rte_hash_lookup_with_hash_bulk(t->fam[fam].h, keys, sigs, n, pos);
}

/* One key: slot or -ENOENT. Owner thread; fast path. */
static inline int32_t pc_flow_table_lookup(const struct pc_flow_table *t, unsigned fam,
					   const union pc_flow_key *k, hash_sig_t sig)
{
	return rte_hash_lookup_with_hash(t->fam[fam].h, k, sig);
}

static inline struct pc_flow *pc_flow_table_entry(const struct pc_flow_table *t, unsigned fam,
						  int32_t pos)
{
	return &t->fam[fam].entries[pos];
}

/* Insert a key known to be absent. Returns its slot with the entry zeroed
 * (state FREE: the caller fills it), or -ENOSPC when the family holds
 * capacity flows. Owner thread; fast path (once per new flow). */
static inline int32_t pc_flow_table_add(struct pc_flow_table *t, unsigned fam,
					const union pc_flow_key *k, hash_sig_t sig)
{
	struct pc_flow_family *f = &t->fam[fam];
	if (unlikely(f->count >= f->capacity))
		return -ENOSPC;
	int32_t pos = rte_hash_add_key_with_hash(f->h, k, sig);
	if (unlikely(pos < 0))
		return -ENOSPC;
	f->count++;
	f->live[(uint32_t)pos >> 6] |= 1ull << ((uint32_t)pos & 63);
	memset(&f->entries[pos], 0, sizeof(f->entries[pos]));
	/* The birth stamp is a store to the aux line, once per new flow; a
	 * tuple reused by a new SYN keeps its slot and so its first birth. */
	f->aux[pos].born_tsc = rte_rdtsc();
	f->aux[pos].l2_len = 0;
	return pos;
}

/* The aux record beside entry e of family fam. Owner thread; fast path. */
static inline struct pc_flow_aux *pc_flow_table_aux(const struct pc_flow_table *t, unsigned fam,
						    const struct pc_flow *e)
{
	const struct pc_flow_family *f = &t->fam[fam];
	return &f->aux[e - f->entries];
}

/* Find which family and slot entry e is. Returns 0, or -ENOENT when e is
 * not an entry of t. Owner thread; control path (aging, listing). */
int pc_flow_table_locate(const struct pc_flow_table *t, const struct pc_flow *e, unsigned *fam,
			 int32_t *pos);

/* Copy the key of the live flow at (fam, pos) into *k. Returns 0 or
 * -ENOENT. Owner thread; control path. */
int pc_flow_table_key(const struct pc_flow_table *t, unsigned fam, int32_t pos,
		      union pc_flow_key *k);

/* Slots of both families: a whole aging sweep examines this many. */
static inline uint32_t pc_flow_table_slots(const struct pc_flow_table *t)
{
	return t->fam[PC_FLOW_V4].n_slots + t->fam[PC_FLOW_V6].n_slots;
}

/* Sweep at most budget slots, deleting flows idle longer than est_tsc
 * (established TCP) or other_tsc (everything else). visit (may be NULL) sees
 * every live flow the sweep passes, with expired true just before an idle
 * flow's slot is freed (so that what the flow owns, held packets, goes with
 * it) and false otherwise (so that the owner can expire what the flow holds
 * on its own clock). Returns flows deleted. Owner thread; called every few
 * loops, bounded work. */
unsigned pc_flow_table_age(struct pc_flow_table *t, uint64_t now_tsc, uint64_t est_tsc,
			   uint64_t other_tsc, unsigned budget,
			   void (*visit)(void *arg, struct pc_flow *f, bool expired), void *arg);

/* Call fn on every live flow (teardown). Owner thread; control path. */
void pc_flow_table_foreach(struct pc_flow_table *t, void (*fn)(void *arg, struct pc_flow *f),
			   void *arg);

/* True when f counts as established TCP for the idle timeout. */
static inline bool pc_flow_established(const struct pc_flow *f)
{
	const uint8_t both = PC_FLOW_TCP_ACK_CLIENT | PC_FLOW_TCP_ACK_SERVER;
	return f->proto == PC_PROTO_TCP && (f->tcp & both) == both &&
	       (f->tcp & (PC_FLOW_TCP_FIN | PC_FLOW_TCP_RST)) == 0;
}

#endif
