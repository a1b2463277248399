/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The workers' view of the quarantine (revoked identities and credential
 * fingerprints): built by the dataplane's main lcore from the control
 * segment's table for one policy generation (identities are policy indexes),
 * immutable once published, and reached through the struct pc_dp_policy the
 * worker loaded for its loop, so it is freed under the same RCU grace period
 * as everything else there.
 *
 * Workers compare the table's epoch with the one a flow last checked on
 * every packet of an inspected flow (a 4-byte compare); only when it
 * changed do they call pc_quarantine_check() for the flow's caller. Fast
 * path; worker threads; no locks, no writes.
 */
#ifndef PC_SHM_QUARANTINE_H
#define PC_SHM_QUARANTINE_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define PC_QUARANTINE_FP_LEN 8 /* == PC_CRED_FP_LEN and PC_SHM_FP_LEN */

struct pc_quarantine {
	uint32_t epoch;        /* changes with every new table; never 0 */
	uint32_t n_identities; /* identity indexes the bitmap covers */
	uint32_t n_fp;         /* fingerprints, sorted (memcmp order) */
	uint32_t pad;
	const uint64_t *identity_bits; /* bit i: identity index i is revoked */
	const uint8_t (*fp)[PC_QUARANTINE_FP_LEN];
};

/* True when the caller (identity index, -1 when unknown; fp its credential
 * fingerprint, NULL or all-zero when none) is revoked. q may be NULL (no
 * table). Worker threads; fast path. */
static inline bool pc_quarantine_check(const struct pc_quarantine *q, int32_t identity,
				       const uint8_t *fp)
{
	if (q == NULL)
		return false;
	if (identity >= 0 && (uint32_t)identity < q->n_identities &&
	    (q->identity_bits[(uint32_t)identity >> 6] >> ((uint32_t)identity & 63)) & 1)
		return true;
	if (fp == NULL || q->n_fp == 0)
		return false;
	uint32_t lo = 0, hi = q->n_fp;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		int c = memcmp(q->fp[mid], fp, PC_QUARANTINE_FP_LEN);
		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* The epoch a flow compares with; 0 for no table. Fast path. */
static inline uint32_t pc_quarantine_epoch(const struct pc_quarantine *q)
{
	return q != NULL ? q->epoch : 0;
}

#endif
