/* SPDX-License-Identifier: BSD-3-Clause
 *
 * A faster answer to the two source questions of identity resolution
 * (decide.h, step 1), for callers that can build one per policy.
 *
 * Without it (pc_request.sources NULL) the engine walks the policy's lists:
 * the source-only identities longest prefix first, and an identity's own
 * prefixes for a credential's binding. That is linear in the prefixes, and
 * the engine library has no DPDK, since it also runs offline. The
 * dataplane builds an rte_lpm/rte_lpm6 pair per policy (dataplane/
 * source_lpm.h) and hands it in here. An index must give exactly the lists'
 * answers for every address of the policy it was built from.
 */
#ifndef PC_SOURCE_INDEX_H
#define PC_SOURCE_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "util/pc_types.h"

struct pc_source_index {
	/* The source-only identity whose prefix holds a by longest match (ties:
	 * the lowest identity index), or -1. a has family 4 or 6. */
	int32_t (*source_only)(const void *ctx, const struct pc_addr *a);
	/* True when one of identity ident's source prefixes holds a. a has
	 * family 4 or 6; ident has sources. */
	bool (*bound)(const void *ctx, uint32_t ident, const struct pc_addr *a);
	const void *ctx;
};

#endif
