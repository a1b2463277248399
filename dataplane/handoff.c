/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Hand-off rings between workers (design in handoff.h).
 */
#include "handoff.h"

struct rte_ring *pc_handoff_ring_create(const char *name, unsigned count, int socket)
{
	/* Default flags: multi-producer enqueue; the owner dequeues with the
	 * explicit single-consumer call. */
	return rte_ring_create(name, count, socket, RING_F_SC_DEQ);
}
