/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Control's side of the policy push protocol (lib/shm/shm_abi.h): pick the
 * idle slot, fill it, publish, and read the dataplane's acknowledgement.
 * Shared by portcullis-control and the tests' segment helper.
 */
#ifndef PC_CONTROL_PUSH_H
#define PC_CONTROL_PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shm/shm.h"

#define PC_CP_ATTACHED_NS 3000000000ull /* heartbeat younger than this: attached (a busy host may delay the main lcore) */
#define PC_CP_DEFAULT_ACK_TIMEOUT_MS 5000

/* What the dataplane said about one generation. */
struct pc_cp_ack {
	bool acked;          /* false: no answer within the timeout */
	uint32_t generation;
	int32_t result;      /* 0 or -errno */
	char error[PC_SHM_ERR_MAX];
	uint32_t applied_generation;
	uint32_t applied_rules;
	uint64_t apply_ns, seen_ns, quiescent_ns;
};

/* True when the dataplane's main lcore has beaten its heart recently. Any
 * thread. */
bool pc_cp_dp_attached(const struct pc_shm_ctl *c);

/* The generation a new push gets: one past anything published or
 * acknowledged, never below 2 (the dataplane's startup policy is 1). */
uint32_t pc_cp_next_generation(const struct pc_shm_ctl *c);

/* Write len bytes of image into the idle slot and publish it as the next
 * generation (*generation). Waits up to wait_ms for the dataplane to finish
 * with the idle slot when it may still be reading it. Returns 0 or -errno
 * with err filled (-EMSGSIZE: the image is larger than a slot). Control
 * path; one publisher per segment (the instance lock). */
int pc_cp_publish(struct pc_shm_map *m, const void *image, size_t len, uint32_t *generation,
		  uint64_t wait_ms, char *err, size_t err_len);

/* Wait up to timeout_ms for the acknowledgement of generation and fill *out.
 * Returns 0 when acknowledged (out->result says how it went), -ETIMEDOUT
 * otherwise. Control path. */
int pc_cp_wait_ack(const struct pc_shm_map *m, uint32_t generation, uint64_t timeout_ms,
		   struct pc_cp_ack *out);

#endif
