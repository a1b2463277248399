/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The revocation table in the control segment, control's side: add, remove
 * and list entries under the segment's quarantine seqlock (shm_abi.h), and
 * drop entries whose TTL ran out. Every change is logged with its reason.
 */
#ifndef PC_CONTROL_QUARANTINE_H
#define PC_CONTROL_QUARANTINE_H

#include <jansson.h>

#include "shm/shm.h"

/* Handle the operator request "quarantine.<sub>" (sub: add, remove, list).
 * Returns the response object. Control path. */
json_t *pc_cp_quarantine_cmd(struct pc_shm_map *m, const char *sub, json_t *req);

/* Remove entries that expired by now (CLOCK_REALTIME seconds). Returns how
 * many went. Control path. */
unsigned pc_cp_quarantine_expire(struct pc_shm_map *m, int64_t now_s);

/* Log one line (the daemon's log). */
void pc_cp_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
