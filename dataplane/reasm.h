/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Per-flow hold of client→server TCP segments, so that a request head is
 * decided whole before any byte of it reaches the server.
 *
 * A hold keeps the packets themselves (an opaque pointer per segment, with
 * the sequence number, length and payload pointer of the segment), sorted by
 * sequence number; nothing is copied on the way in, and an allowed segment
 * goes out as it came. Segments may overlap each other as long as the bytes
 * they share are equal: a new segment whose shared bytes differ from a held
 * one is a conflicting overlap (pc_reasm_insert() says so and the caller
 * denies, since a server could reassemble either version), and one whose
 * every byte is already held equally is a plain retransmission (dropped).
 * A head is read in place when one held segment carries all of its
 * contiguous bytes; only a head split over segments is copied, into one
 * bounded per-worker buffer, and only while it is being parsed.
 *
 * Holds come from a per-worker pool with two bounds: packets held by one
 * flow, and packets held by the worker as a whole. A flow holds nothing, and
 * owns no hold, when its bytes pass in order and whole.
 *
 * Sequence numbers compare modulo 2^32 (RFC 9293 section 3.4): a before b
 * when (int32_t)(a - b) < 0. Every function here runs on the owning worker
 * only and is fast path unless said otherwise. The module uses no DPDK
 * call besides allocation, so its logic is tested on plain buffers.
 */
#ifndef PC_DP_REASM_H
#define PC_DP_REASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dp_reason.h" /* the reasons a hold can deny with */

#define PC_REASM_DEFAULT_FLOW_PKTS 32
#define PC_REASM_DEFAULT_WORKER_PKTS 4096
#define PC_REASM_MAX_FLOW_PKTS 1024
/* A held body (a decision that needs it) is bounded apart from heads: a
 * 64 KiB body at a 536-byte MSS is 123 segments. */
#define PC_REASM_DEFAULT_BODY_PKTS 128
/* Out-of-order bytes are held only this far past the flow's decided
 * frontier; further is dropped, and the sender retransmits. */
#define PC_REASM_WINDOW (1u << 20)

struct pc_reasm_seg {
	uint32_t seq;        /* first byte's sequence number */
	uint32_t len;        /* payload bytes */
	const uint8_t *data; /* the payload, inside pkt */
	void *pkt;           /* the caller's packet */
};

/* One flow's held segments, sorted by seq (then by length). */
struct pc_reasm_hold {
	uint32_t n;
	uint32_t next_free;  /* pool free list, while unused */
	uint32_t limit;      /* packets this hold may take: flow_pkts, or body_pkts once widened */
	uint32_t hi_end;     /* while n > 0: no held segment ends after it */
	/* pc_reasm_head_may_end(): the held bytes before scan_seq, from the
	 * head it looked at, hold no empty line (while scan_valid), and
	 * scan_tail has the 3 bytes before scan_seq, oldest first. */
	uint32_t scan_seq;
	bool scan_valid;
	uint8_t scan_tail[3];
	struct pc_reasm_seg seg[];
};

/* A worker's pool of holds and its head buffer. */
struct pc_reasm {
	uint32_t flow_pkts;   /* bound: packets one flow may hold */
	uint32_t body_pkts;   /* bound: packets one flow may hold while its body is held */
	uint32_t max_pkts;    /* bound: packets the worker may hold */
	uint32_t held;        /* packets held now, all flows */
	uint32_t n_holds;
	uint32_t free_head;   /* index + 1 of the first free hold; 0: none */
	uint32_t max_head;    /* bytes of head the buffer takes */
	size_t hold_size;
	uint8_t *holds;
	uint8_t *buf;         /* max_head bytes */
};

enum pc_reasm_result {
	PC_REASM_HELD = 0,   /* kept: the hold owns the packet now */
	PC_REASM_DUPLICATE,  /* every byte already held, equal: the caller drops it */
	PC_REASM_CONFLICT,   /* overlaps held bytes with different bytes */
	PC_REASM_FULL,       /* a packet bound is reached; nothing kept */
};

/* A pool of holds for a worker: flow_pkts packets per flow (1 ..
 * PC_REASM_MAX_FLOW_PKTS), max_pkts in all (>= 1), heads of up to max_head
 * bytes. Returns 0 or -errno. Control path. */
int pc_reasm_init(struct pc_reasm *r, uint32_t flow_pkts, uint32_t max_pkts, uint32_t max_head,
		  int socket);

/* The same with a separate, larger bound for holds that keep a request
 * body (pc_reasm_widen()): body_pkts (flow_pkts .. PC_REASM_MAX_FLOW_PKTS;
 * 0 means flow_pkts). Every hold is sized for the larger bound, so widening
 * never moves a hold. Returns 0 or -errno. Control path. */
int pc_reasm_init_body(struct pc_reasm *r, uint32_t flow_pkts, uint32_t body_pkts,
		       uint32_t max_pkts, uint32_t max_head, int socket);

/* Free the pool's memory (every hold must have been emptied). Control path. */
void pc_reasm_fini(struct pc_reasm *r);

/* A hold by its id (>= 1). */
static inline struct pc_reasm_hold *pc_reasm_hold(const struct pc_reasm *r, uint32_t id)
{
	return (struct pc_reasm_hold *)(r->holds + (size_t)(id - 1) * r->hold_size);
}

/* Let hold id take up to body_pkts packets (until it is given back). */
static inline void pc_reasm_widen(struct pc_reasm *r, uint32_t id)
{
	pc_reasm_hold(r, id)->limit = r->body_pkts;
}

/* Take an empty hold: its id (>= 1), or 0 when the pool is exhausted (it
 * cannot be while fewer than max_pkts packets are held). */
uint32_t pc_reasm_get(struct pc_reasm *r);

/* Give back an empty hold. */
void pc_reasm_put(struct pc_reasm *r, uint32_t id);

/* Hold segment s in h, comparing it with what h already holds. Bytes
 * before floor (already decided and forwarded) are neither compared nor
 * counted as new. Returns what became of it (see the enum). */
enum pc_reasm_result pc_reasm_insert(struct pc_reasm *r, struct pc_reasm_hold *h,
				     const struct pc_reasm_seg *s, uint32_t floor);

/* Bytes held contiguously from seq on (0 when no held segment covers seq). */
uint32_t pc_reasm_contig(const struct pc_reasm_hold *h, uint32_t seq);

/* The longest run of bytes that one held segment carries from seq on:
 * returns a pointer to the byte at seq and sets *len, or NULL (*len 0) when
 * no segment covers seq. */
const uint8_t *pc_reasm_span(const struct pc_reasm_hold *h, uint32_t seq, uint32_t *len);

/* Whether the contig contiguous bytes held from seq on (the start of a
 * request head) contain an empty line: an LF followed by LF or by CR LF.
 * CRLF CRLF is the only end a valid head has (RFC 9112 §2.1); the others
 * are where a lenient reader would end it, so its sender is waiting now and
 * the parser must refuse it now. Until then, parsing could only say
 * INCOMPLETE or name an error that will still be there at the end (nothing
 * held is sent). Each look reads only the bytes the last one did not (and
 * the 3 before them), so a head in N segments is read once, not N times. */
bool pc_reasm_head_may_end(struct pc_reasm_hold *h, uint32_t seq, uint32_t contig);

/* The contiguous bytes from seq on, at most r->max_head of them, as one
 * buffer: in place when one segment carries them all, else copied into
 * r->buf. Sets *len to the bytes readable there and *total to all the
 * contiguous bytes held (which may exceed max_head). */
const uint8_t *pc_reasm_view(struct pc_reasm *r, const struct pc_reasm_hold *h, uint32_t seq,
			     uint32_t *len, uint32_t *total);

/* Hand out, in sequence order, every segment ending at or before upto
 * (all its bytes are decided): each packet goes to fn(arg, pkt) and leaves
 * the hold. Returns the packets released. */
uint32_t pc_reasm_release(struct pc_reasm *r, struct pc_reasm_hold *h, uint32_t upto,
			  void (*fn)(void *arg, void *pkt), void *arg);

/* Give up the highest-sequence segment of h, if s comes before it: its
 * packet goes to fn. Makes room for bytes nearer the gap, which the stream
 * needs first (the sender retransmits what was given up). Returns whether a
 * segment was given up. */
bool pc_reasm_yield_last(struct pc_reasm *r, struct pc_reasm_hold *h,
			 const struct pc_reasm_seg *s, void (*fn)(void *arg, void *pkt),
			 void *arg);

/* Hand every held packet to fn (to free them) and empty h. Returns how
 * many there were. */
uint32_t pc_reasm_clear(struct pc_reasm *r, struct pc_reasm_hold *h,
			void (*fn)(void *arg, void *pkt), void *arg);

/* Whether sequence number a comes before b. */
static inline bool pc_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool pc_seq_le(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/* Whether pc_reasm_head_may_end() has looked at the head starting at seq
 * before (false on the first look at each head). */
static inline bool pc_reasm_head_seen(const struct pc_reasm_hold *h, uint32_t seq,
				      uint32_t contig)
{
	return h->scan_valid && pc_seq_le(seq, h->scan_seq) && pc_seq_le(h->scan_seq, seq + contig);
}

#endif
