/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The main lcore's side of live policy: it watches the control segment
 * (lib/shm/shm_abi.h) for a new publish word, copies the image out, validates
 * and builds it, hands the workers the new policy together with fresh engine
 * scratch (one per worker, made for the new policy before anyone sees it),
 * waits for an RCU grace period, frees what the old generation used, and
 * acknowledges. It also writes the decision log, because a record names
 * rules and identities through the policy of its own generation, and an old
 * policy may be freed only once no record can refer to it.
 *
 * The dataplane creates nothing: without a segment it runs its startup
 * policy as generation 1 and looks for one about once a second.
 */
#ifndef PC_DP_POLICY_SWAP_H
#define PC_DP_POLICY_SWAP_H

#include <stdint.h>
#include <stdio.h>

struct pc_dp;
struct pc_policy;
struct pc_swap;

#define PC_SWAP_HEARTBEAT_NS 100000000ull /* ack.heartbeat_ns period */
#define PC_SWAP_REATTACH_NS 1000000000ull /* look for (another) segment */

/* The watcher for instance, starting from startup (generation 1, owned by the
 * caller, who frees it after pc_swap_free()). Does not need the segment to
 * exist. Returns NULL with errno set. Main lcore; control path. */
struct pc_swap *pc_swap_create(struct pc_dp *dp, const char *instance,
			       const struct pc_policy *startup);

/* Keep the process's freed heap memory mapped: every swap allocates a
 * policy (and a private copy of its image) of up to megabytes and frees the
 * previous one, and glibc would hand each such block back to the kernel,
 * so that the next swap paid a page fault per 4 KiB it writes (about half
 * of a 1,000-rule swap). Call once, at the start of main(), before any
 * thread; process-wide. */
void pc_swap_tune_heap(void);

/* Run once per main-loop iteration: a relaxed look at the publish word
 * (and the heartbeat every PC_SWAP_HEARTBEAT_NS); on a new generation, the
 * whole swap, which blocks until every worker has passed a quiescent state.
 * Returns 1 when a generation was handled (applied or refused), else 0.
 * Main lcore only; never on a worker. */
int pc_swap_poll(struct pc_swap *s);

/* Between two main-loop iterations: sleep up to max_us, and less when
 * control rings the segment's doorbell (shm_abi.h) after the last
 * pc_swap_poll(), so a push, a revocation or a flows request is handled at
 * once. A plain sleep while no segment is attached. Main lcore only. */
void pc_swap_wait(struct pc_swap *s, unsigned max_us);

/* Like pc_dlog_drain(), naming every record's rules and identities through
 * the policy of the record's generation. Returns the number of records taken
 * or -errno when writing failed. Main lcore only. */
int pc_swap_drain(struct pc_swap *s, FILE *out);

/* Set the decision log the swap drains into before it frees a policy
 * (NULL: discard). Main lcore. */
void pc_swap_set_log(struct pc_swap *s, FILE *out);

/* The generation workers run now. Main lcore. */
uint32_t pc_swap_generation(const struct pc_swap *s);

/* Free the swap and the policies it built. Main lcore, workers stopped and
 * the decision rings drained. */
void pc_swap_free(struct pc_swap *s);

#endif
