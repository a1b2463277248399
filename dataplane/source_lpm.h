/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The source index of one policy (lib/engine/source_index.h) on DPDK's
 * longest-prefix-match tables: one rte_lpm and one rte_lpm6.
 *
 * Every distinct source prefix of the policy (of any identity) is one rule
 * of its family's table, and its next hop the index of a precomputed entry
 * that answers both questions the engine asks about an address whose
 * longest matching prefix it is:
 *   - the source-only identity of the longest source-only prefix that holds
 *     it (ties: the lowest identity index, as the policy's sorted list);
 *   - the identities bound to that prefix or to any prefix containing it, as
 *     a sorted list: the prefixes holding one address form a chain, and the
 *     longest of them is inside every other, so "some prefix of identity i
 *     holds the address" is "i is in the list of its longest prefix".
 * So a decision costs one LPM lookup (and, for a bound credential, a binary
 * search in a short list) whatever the number of identities and prefixes.
 * A /0 cannot be an LPM rule (depth 1..32 or 1..128): its entry is the
 * answer when the lookup misses.
 *
 * Built on the main lcore with each policy, read by every worker, freed with
 * the policy after the RCU grace period (dataplane/policy_swap.c). Nothing
 * in it is written after the build.
 */
#ifndef PC_DP_SOURCE_LPM_H
#define PC_DP_SOURCE_LPM_H

#include <stdbool.h>
#include <stddef.h>

#include "engine/source_index.h"

struct pc_policy;
struct pc_source_lpm;

/* Below this many source prefixes (all identities, both families) the
 * engine's walk of the lists costs about what one lookup does, and an index
 * is not worth its 64 MiB IPv4 first level and the time to fill it on every
 * swap. */
#define PC_SOURCE_LPM_MIN_PREFIXES 32

/* Whether p has enough source prefixes to be given an index (see above).
 * Any thread; control path. */
bool pc_source_lpm_wanted(const struct pc_policy *p);

/* The index of p's source prefixes. When prev (an index built for an
 * earlier policy, or NULL) was built from the same prefixes of the same
 * identity indexes, that is the common push of changed rules, prev itself
 * is returned with one more reference, and nothing is built. NULL with
 * rte_errno/errno set (ENOMEM, or what rte_lpm*_create/add said). A policy
 * without source prefixes still gets an index (it answers "none" at once).
 * Needs the EAL; main lcore; control path. */
struct pc_source_lpm *pc_source_lpm_build(const struct pc_policy *p, struct pc_source_lpm *prev);

/* What the start-up and every swap give the workers: pc_source_lpm_build(p,
 * prev) when pc_source_lpm_wanted(p), else NULL. A failed build is said on
 * stderr and gives NULL too: the engine then walks the policy's lists
 * (slower, the same answers). Main lcore; control path. */
struct pc_source_lpm *pc_source_lpm_for_policy(const struct pc_policy *p,
					       struct pc_source_lpm *prev);

/* Drop one reference to l (NULL is fine), freeing it with the last. Main
 * lcore, once no worker can hold it (after the grace period of the policy it
 * was built or shared for). */
void pc_source_lpm_free(struct pc_source_lpm *l);

/* What pc_request.sources takes: the index, or NULL when l is NULL (the
 * engine then walks the policy's lists). Any thread. */
const struct pc_source_index *pc_source_lpm_index(const struct pc_source_lpm *l);

/* Distinct prefixes (IPv4, IPv6) and bytes of entries and lists, for the
 * start-up line and tests. Any thread. */
void pc_source_lpm_stats(const struct pc_source_lpm *l, unsigned *n_v4, unsigned *n_v6,
			 size_t *list_bytes);

#endif
