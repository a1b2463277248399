/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Per-flow segment holds (design in reasm.h). A hold has at most a few
 * dozen segments, so every walk here is a plain linear pass over a sorted
 * array: cheaper than any tree at that size, and bounded by the per-flow
 * packet bound.
 */
#include <errno.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

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
	 * receiver keeps one copy, and which one is its choice, not ours.
	 * Nothing to compare for bytes past all held ones (in order, the
	 * usual case). */
	if (h->n > 0 && pc_seq_lt(start, h->hi_end)) {
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
	}

	if (unlikely(h->n >= h->limit || r->held >= r->max_pkts))
		return PC_REASM_FULL;
	uint32_t i = h->n;
	while (i > 0 && (pc_seq_lt(s->seq, h->seg[i - 1].seq) ||
			 (s->seq == h->seg[i - 1].seq && s->len < h->seg[i - 1].len))) {
		h->seg[i] = h->seg[i - 1];
		i--;
	}
	h->seg[i] = *s;
	if (h->n == 0 || pc_seq_lt(h->hi_end, end))
		h->hi_end = end;
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

/* Whether an LF whose two bytes before are b2 b1 ends an empty line: the
 * byte before it is LF, or the two before it are LF CR. */
static inline bool ends_empty_line(uint8_t b2, uint8_t b1, uint8_t b0)
{
	return b0 == '\n' && (b1 == '\n' || (b1 == '\r' && b2 == '\n'));
}

#ifdef __SSE2__
/* Whether one of the 16 bytes at q (q[-2] and q[-1] readable) is an LF
 * that ends an empty line. */
static inline bool block_ends_empty_line(const uint8_t *q)
{
	const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
	__m128i b0 = _mm_loadu_si128((const __m128i *)q);
	__m128i b1 = _mm_loadu_si128((const __m128i *)(q - 1));
	__m128i b2 = _mm_loadu_si128((const __m128i *)(q - 2));
	__m128i hit = _mm_and_si128(
		_mm_cmpeq_epi8(b0, lf),
		_mm_or_si128(_mm_cmpeq_epi8(b1, lf),
			     _mm_and_si128(_mm_cmpeq_epi8(b1, cr), _mm_cmpeq_epi8(b2, lf))));
	return _mm_movemask_epi8(hit) != 0;
}
#endif

/* Whether p[0..n) holds an LF that ends an empty line, tail being the 3
 * bytes before p (oldest first; 0 where there are none). On false, tail
 * becomes the 3 bytes before p + n. A head's segment has a few LFs in some
 * hundred bytes: 16 bytes a step look at every one at once. */
static bool empty_line_in(const uint8_t *p, uint32_t n, uint8_t tail[3])
{
	uint32_t i = 0;
	/* The first two bytes look back into tail. */
	for (; i < n && i < 2; i++) {
		uint8_t b1 = i == 0 ? tail[2] : p[0];
		uint8_t b2 = i == 0 ? tail[1] : tail[2];
		if (ends_empty_line(b2, b1, p[i]))
			return true;
	}
#ifdef __SSE2__
	for (; i + 16 <= n; i += 16)
		if (block_ends_empty_line(p + i))
			return true;
	/* The last few bytes: one more step ending at n (some bytes again). */
	if (i < n && n >= 18) {
		if (block_ends_empty_line(p + n - 16))
			return true;
		i = n;
	}
#endif
	for (; i < n; i++)
		if (ends_empty_line(p[i - 2], p[i - 1], p[i]))
			return true;
	/* Keep the last 3 bytes, some of them from the old tail when n < 3. */
	for (uint32_t k = 0; k < 3; k++)
		tail[k] = n + k >= 3 ? p[n + k - 3] : tail[n + k];
	return false;
}

bool pc_reasm_head_may_end(struct pc_reasm_hold *h, uint32_t seq, uint32_t contig)
{
	const uint32_t end = seq + contig;
	/* The segment held last in sequence, which in order brought the bytes
	 * not looked at yet. */
	const struct pc_reasm_seg *last = h->n > 0 ? &h->seg[h->n - 1] : NULL;
	/* The common cases first: a whole head, or the segment that ends one,
	 * ends with its empty line (unless a body follows in the same bytes). */
	if (contig >= 4) {
		uint32_t n;
		const uint8_t *t;
		if (last != NULL && seg_end(last) == end && last->len >= 4) {
			t = last->data + last->len - 4;
			n = 4;
		} else {
			t = pc_reasm_span(h, end - 4, &n);
		}
		if (t != NULL && n >= 4 && ends_empty_line(t[1], t[2], t[3]))
			return true;
	}
	/* Resume where the last look at this head stopped, with the bytes
	 * before that point that belong to this head. */
	uint32_t at = seq;
	uint8_t tail[3] = { 0, 0, 0 };
	if (pc_reasm_head_seen(h, seq, contig)) {
		at = h->scan_seq;
		uint32_t own = RTE_MIN(3u, at - seq);
		memcpy(tail + 3 - own, h->scan_tail + 3 - own, own);
	}
	/* In order, the usual case: the new bytes are the last segment's. */
	if (last != NULL && last->seq == at && seg_end(last) == end) {
		if (empty_line_in(last->data, last->len, tail))
			return true;
	} else {
		while (pc_seq_lt(at, end)) {
			uint32_t n;
			const uint8_t *p = pc_reasm_span(h, at, &n);
			if (unlikely(p == NULL)) /* cannot be: contig bytes are held */
				return true;
			n = RTE_MIN(n, end - at);
			if (empty_line_in(p, n, tail))
				return true;
			at += n;
		}
	}
	h->scan_seq = end;
	h->scan_valid = true;
	memcpy(h->scan_tail, tail, 3);
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
	/* One walk in sequence order: each segment gives the bytes past those
	 * copied so far (a shorter overlapping one gives none). */
	uint32_t off = 0;
	for (uint32_t i = 0; i < h->n && off < want; i++) {
		const struct pc_reasm_seg *g = &h->seg[i];
		uint32_t at = seq + off;
		if (pc_seq_lt(at, g->seq))
			break; /* cannot be: want bytes are contiguous */
		if (!pc_seq_lt(at, seg_end(g)))
			continue;
		uint32_t c = RTE_MIN(seg_end(g) - at, want - off);
		memcpy(r->buf + off, g->data + (at - g->seq), c);
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
