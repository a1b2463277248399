/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Per-flow segment holds (design in reasm.h). A hold has at most a few
 * dozen segments, so every walk here is a plain linear pass over a sorted
 * array: cheaper than any tree at that size, and bounded by the per-flow
 * packet bound.
 */
#include <errno.h>
#include <string.h>

#include <rte_common.h>
#include <rte_malloc.h>

#include "reasm.h"

static inline uint32_t seg_end(const struct pc_reasm_seg *g)
{
	return g->seq + g->len;
}

int pc_reasm_init(struct pc_reasm *r, uint32_t flow_pkts, uint32_t max_pkts, uint32_t max_head,
		  int socket)
{
	return pc_reasm_init_body(r, flow_pkts, 0, max_pkts, max_head, socket);
}

int pc_reasm_init_body(struct pc_reasm *r, uint32_t flow_pkts, uint32_t body_pkts,
		       uint32_t max_pkts, uint32_t max_head, int socket)
{
	memset(r, 0, sizeof(*r));
	if (body_pkts == 0)
		body_pkts = flow_pkts;
	if (flow_pkts == 0 || flow_pkts > PC_REASM_MAX_FLOW_PKTS || max_pkts == 0 ||
	    max_head == 0 || body_pkts < flow_pkts || body_pkts > PC_REASM_MAX_FLOW_PKTS)
		return -EINVAL;
	r->flow_pkts = flow_pkts;
	r->body_pkts = body_pkts;
	r->max_pkts = max_pkts;
	r->max_head = max_head;
	/* Each holding flow holds at least one packet, so max_pkts holds can
	 * never run out before the packet bound does. */
	r->n_holds = max_pkts;
	r->hold_size = RTE_ALIGN_CEIL(sizeof(struct pc_reasm_hold) +
				      (size_t)body_pkts * sizeof(struct pc_reasm_seg),
				      RTE_CACHE_LINE_SIZE);
	r->holds = rte_zmalloc_socket("pc_reasm_holds", r->hold_size * r->n_holds,
				      RTE_CACHE_LINE_SIZE, socket);
	r->buf = rte_malloc_socket("pc_reasm_buf", max_head, RTE_CACHE_LINE_SIZE, socket);
	if (r->holds == NULL || r->buf == NULL) {
		pc_reasm_fini(r);
		return -ENOMEM;
	}
	for (uint32_t id = r->n_holds; id >= 1; id--) {
		pc_reasm_hold(r, id)->next_free = r->free_head;
		r->free_head = id;
	}
	return 0;
}

void pc_reasm_fini(struct pc_reasm *r)
{
	rte_free(r->holds);
	rte_free(r->buf);
	r->holds = NULL;
	r->buf = NULL;
	r->free_head = 0;
}

uint32_t pc_reasm_get(struct pc_reasm *r)
{
	uint32_t id = r->free_head;
	if (unlikely(id == 0))
		return 0;
	struct pc_reasm_hold *h = pc_reasm_hold(r, id);
	r->free_head = h->next_free;
	h->n = 0;
	h->next_free = 0;
	h->limit = r->flow_pkts;
	h->scan_valid = false;
	return id;
}

void pc_reasm_put(struct pc_reasm *r, uint32_t id)
{
	struct pc_reasm_hold *h = pc_reasm_hold(r, id);
	h->next_free = r->free_head;
	r->free_head = id;
}

enum pc_reasm_result pc_reasm_insert(struct pc_reasm *r, struct pc_reasm_hold *h,
				     const struct pc_reasm_seg *s, uint32_t floor)
{
	uint32_t start = pc_seq_lt(s->seq, floor) ? floor : s->seq;
	uint32_t end = seg_end(s);
	if (!pc_seq_lt(start, end))
		return PC_REASM_DUPLICATE; /* nothing past what is decided */

	/* Every byte shared with a held segment must be the same byte: a
	 * receiver keeps one copy, and which one is its choice, not ours. */
	uint32_t cur = start; /* coverage walk: held bytes reach cur */
	for (uint32_t i = 0; i < h->n; i++) {
		const struct pc_reasm_seg *g = &h->seg[i];
		uint32_t lo = pc_seq_lt(g->seq, start) ? start : g->seq;
		uint32_t hi = pc_seq_lt(seg_end(g), end) ? seg_end(g) : end;
		if (pc_seq_lt(lo, hi) &&
		    memcmp(s->data + (lo - s->seq), g->data + (lo - g->seq), hi - lo) != 0)
			return PC_REASM_CONFLICT;
		if (pc_seq_le(g->seq, cur) && pc_seq_lt(cur, seg_end(g)))
			cur = seg_end(g);
	}
	if (!pc_seq_lt(cur, end))
		return PC_REASM_DUPLICATE;

	if (unlikely(h->n >= h->limit || r->held >= r->max_pkts))
		return PC_REASM_FULL;
	uint32_t i = h->n;
	while (i > 0 && (pc_seq_lt(s->seq, h->seg[i - 1].seq) ||
			 (s->seq == h->seg[i - 1].seq && s->len < h->seg[i - 1].len))) {
		h->seg[i] = h->seg[i - 1];
		i--;
	}
	h->seg[i] = *s;
	h->n++;
	r->held++;
	return PC_REASM_HELD;
}

uint32_t pc_reasm_contig(const struct pc_reasm_hold *h, uint32_t seq)
{
	uint32_t cur = seq;
	for (uint32_t i = 0; i < h->n; i++) {
		const struct pc_reasm_seg *g = &h->seg[i];
		if (pc_seq_lt(cur, g->seq))
			break; /* sorted: a gap */
		if (pc_seq_lt(cur, seg_end(g)))
			cur = seg_end(g);
	}
	return cur - seq;
}

const uint8_t *pc_reasm_span(const struct pc_reasm_hold *h, uint32_t seq, uint32_t *len)
{
	const struct pc_reasm_seg *best = NULL;
	for (uint32_t i = 0; i < h->n; i++) {
		const struct pc_reasm_seg *g = &h->seg[i];
		if (pc_seq_lt(seq, g->seq))
			break;
		if (pc_seq_lt(seq, seg_end(g)) && (best == NULL || pc_seq_lt(seg_end(best), seg_end(g))))
			best = g;
	}
	if (best == NULL) {
		*len = 0;
		return NULL;
	}
	*len = seg_end(best) - seq;
	return best->data + (seq - best->seq);
}

bool pc_reasm_head_may_end(struct pc_reasm_hold *h, uint32_t seq, uint32_t contig)
{
	const uint32_t end = seq + contig;
	uint32_t at = seq;
	/* Resume where the last look at this head stopped, 3 bytes back so an
	 * end cut by that point is seen whole. */
	if (pc_reasm_head_seen(h, seq, contig))
		at = h->scan_seq - RTE_MIN(3u, h->scan_seq - seq);
	/* The common cases first: a whole head, or the segment that ends one,
	 * ends with its empty line (unless a body follows in the same bytes). */
	if (contig >= 4) {
		uint32_t n;
		const uint8_t *t = pc_reasm_span(h, end - 4, &n);
		if (t != NULL && n >= 4 && t[3] == '\n' &&
		    (t[2] == '\n' || (t[2] == '\r' && t[1] == '\n')))
			return true;
	}
	uint8_t tail[3] = { 0, 0, 0 }; /* the 3 bytes before the span, oldest first */
	while (pc_seq_lt(at, end)) {
		uint32_t n;
		const uint8_t *p = pc_reasm_span(h, at, &n);
		if (unlikely(p == NULL)) /* cannot be: contig bytes are held */
			return true;
		n = RTE_MIN(n, end - at);
		/* An LF ends an empty line when the byte before it is LF, or
		 * the two before it are LF CR; they may sit in the span before. */
		for (const uint8_t *q = p; (q = memchr(q, '\n', n - (uint32_t)(q - p))) != NULL;
		     q++) {
			uint32_t k = (uint32_t)(q - p);
			uint8_t b1 = k >= 1 ? q[-1] : tail[2];
			uint8_t b2 = k >= 2 ? q[-2] : tail[1 + k];
			if (b1 == '\n' || (b1 == '\r' && b2 == '\n'))
				return true;
		}
		for (uint32_t i = n > 3 ? n - 3 : 0; i < n; i++) { /* keep the last 3 */
			tail[0] = tail[1];
			tail[1] = tail[2];
			tail[2] = p[i];
		}
		at += n;
	}
	h->scan_seq = end;
	h->scan_valid = true;
	return false;
}

const uint8_t *pc_reasm_view(struct pc_reasm *r, const struct pc_reasm_hold *h, uint32_t seq,
			     uint32_t *len, uint32_t *total)
{
	uint32_t all = pc_reasm_contig(h, seq);
	uint32_t want = RTE_MIN(all, r->max_head);
	uint32_t n;
	const uint8_t *p = pc_reasm_span(h, seq, &n);
	*total = all;
	*len = want;
	if (n >= want)
		return p; /* one segment carries it: read in place */
	uint32_t off = 0;
	while (off < want) {
		p = pc_reasm_span(h, seq + off, &n);
		uint32_t c = RTE_MIN(n, want - off);
		memcpy(r->buf + off, p, c);
		off += c;
	}
	return r->buf;
}

uint32_t pc_reasm_release(struct pc_reasm *r, struct pc_reasm_hold *h, uint32_t upto,
			  void (*fn)(void *arg, void *pkt), void *arg)
{
	uint32_t k = 0;
	while (k < h->n && pc_seq_le(seg_end(&h->seg[k]), upto))
		fn(arg, h->seg[k++].pkt);
	if (k > 0) {
		memmove(&h->seg[0], &h->seg[k], (h->n - k) * sizeof(h->seg[0]));
		h->n -= k;
		r->held -= k;
	}
	return k;
}

uint32_t pc_reasm_clear(struct pc_reasm *r, struct pc_reasm_hold *h,
			void (*fn)(void *arg, void *pkt), void *arg)
{
	uint32_t n = h->n;
	for (uint32_t i = 0; i < n; i++)
		fn(arg, h->seg[i].pkt);
	h->n = 0;
	r->held -= n;
	return n;
}

bool pc_reasm_yield_last(struct pc_reasm *r, struct pc_reasm_hold *h,
			 const struct pc_reasm_seg *s, void (*fn)(void *arg, void *pkt),
			 void *arg)
{
	if (h->n == 0 || !pc_seq_lt(s->seq, h->seg[h->n - 1].seq))
		return false;
	fn(arg, h->seg[--h->n].pkt);
	r->held--;
	return true;
}
