/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Flow ownership and the hand-off between workers. Both directions of a
 * flow must be handled by the one worker that holds its flow entry. Where
 * the NIC spreads packets so that a flow's two directions land on different
 * workers (no RSS, or RSS that is not symmetric), the worker that received a
 * packet it does not own passes it to the owner through the owner's hand-off
 * ring: multi-producer (any worker may send), single-consumer (the owner
 * polls it as a third receive queue). The owner is a function of the flow
 * key's hash, and the key is canonical (flow_table.h), so both directions
 * agree on it without any shared state.
 *
 * With one worker nothing is ever handed off and no ring is polled.
 */
#ifndef PC_DP_HANDOFF_H
#define PC_DP_HANDOFF_H

#include <stdint.h>

#include <rte_hash.h>
#include <rte_ring.h>

struct rte_mbuf;

/* The worker (0..n_workers-1) that owns the flow whose key hashed to sig.
 * The hash is remixed before it is reduced: rte_hash picks buckets from the
 * low bits of the same value, and reducing those bits directly would leave
 * each worker's table using only 1/n of its buckets. Any thread; fast path. */
static inline uint16_t pc_handoff_owner(hash_sig_t sig, uint16_t n_workers)
{
	uint32_t x = sig * 0x9e3779b1u; /* Fibonacci hashing spreads all bits upwards */
	x ^= x >> 16;
	return (uint16_t)(((uint64_t)x * n_workers) >> 32);
}

/* The hand-off ring of one worker: count slots (a power of two), any number
 * of producers, one consumer. NULL with rte_errno set. Control path. */
struct rte_ring *pc_handoff_ring_create(const char *name, unsigned count, int socket);

/* Pass n packets to the owner's ring. Returns how many were queued; the
 * caller frees the rest (and counts them). Any worker; fast path. */
static inline unsigned pc_handoff_send(struct rte_ring *owner_ring, struct rte_mbuf **pkts,
				       unsigned n)
{
	return rte_ring_mp_enqueue_burst(owner_ring, (void **)pkts, n, NULL);
}

/* Take up to n packets handed to this worker. The ring's owner only; fast
 * path. */
static inline unsigned pc_handoff_recv(struct rte_ring *own_ring, struct rte_mbuf **pkts,
				       unsigned n)
{
	return rte_ring_sc_dequeue_burst(own_ring, (void **)pkts, n, NULL);
}

#endif
