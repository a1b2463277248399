/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Control's side of a push (control_push.h). Control is the only writer of
 * the slots and the publish word (one process per instance, by flock), so
 * the only thing to wait for is the dataplane: it may still be copying the
 * slot named by the previous publish, which is the idle slot of the next
 * push, until it has acknowledged that generation. Control waits for that
 * acknowledgement (bounded); when the dataplane is not attached nobody reads
 * the slot, and a dataplane that attaches later reads only the latest word
 * and re-checks it after its copy.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control_push.h"
#include "util/crc32c.h"

#define PC_CP_POLL_NS 100000 /* 100 us between looks at the ack */

static void nap(void)
{
	struct timespec ts = { 0, PC_CP_POLL_NS };
	nanosleep(&ts, NULL);
}

bool pc_cp_dp_attached(const struct pc_shm_ctl *c)
{
	uint64_t hb = __atomic_load_n(&c->ack.heartbeat_ns, __ATOMIC_RELAXED);
	uint64_t now = pc_shm_now_ns(CLOCK_MONOTONIC);
	return hb != 0 && hb <= now + PC_CP_ATTACHED_NS && now - hb < PC_CP_ATTACHED_NS;
}

uint32_t pc_cp_next_generation(const struct pc_shm_ctl *c)
{
	uint32_t g = PC_SHM_PUBLISH_GEN(__atomic_load_n(&c->publish, __ATOMIC_ACQUIRE));
	uint32_t a = __atomic_load_n(&c->ack.acked_generation, __ATOMIC_ACQUIRE);
	uint32_t p = c->ack.applied_generation;
	if (a > g)
		g = a;
	if (p > g)
		g = p;
	return g < 1 ? 2 : g + 1;
}

int pc_cp_publish(struct pc_shm_map *m, const void *image, size_t len, uint32_t *generation,
		  uint64_t wait_ms, char *err, size_t err_len)
{
	struct pc_shm_ctl *c = m->ctl;
	if (len == 0 || len > c->slot_max) {
		snprintf(err, err_len,
			 "policy image of %zu bytes does not fit a %llu-byte slot (portcullis-control "
			 "--slot-size; the segment keeps the size it was created with)",
			 len, (unsigned long long)c->slot_max);
		return -EMSGSIZE;
	}
	uint64_t word = __atomic_load_n(&c->publish, __ATOMIC_ACQUIRE);
	unsigned idle = word == 0 ? 0 : (PC_SHM_PUBLISH_SLOT(word) ^ 1) & 1;
	/* The idle slot was last named by an older word; the dataplane is done
	 * with it once it has acknowledged the current word. */
	uint32_t cur = PC_SHM_PUBLISH_GEN(word);
	uint64_t deadline = pc_shm_now_ns(CLOCK_MONOTONIC) + wait_ms * 1000000ull;
	while (word != 0 && pc_cp_dp_attached(c) &&
	       __atomic_load_n(&c->ack.acked_generation, __ATOMIC_ACQUIRE) < cur) {
		if (pc_shm_now_ns(CLOCK_MONOTONIC) > deadline) {
			snprintf(err, err_len,
				 "the dataplane has not acknowledged generation %u yet; not "
				 "overwriting the slot it may be reading", cur);
			return -EBUSY;
		}
		nap();
	}
	uint32_t gen = pc_cp_next_generation(c);
	uint32_t crc = pc_crc32c_copy(pc_shm_slot_data(m, idle), image, len);
	c->slot[idle].len = len;
	c->slot[idle].crc32 = crc;
	c->slot[idle].generation = gen;
	/* Release: the slot and its description are visible to a reader that
	 * loads this word with acquire. */
	__atomic_store_n(&c->publish, PC_SHM_PUBLISH(gen, idle), __ATOMIC_RELEASE);
	pc_shm_ring(c);
	*generation = gen;
	return 0;
}

int pc_cp_wait_ack(const struct pc_shm_map *m, uint32_t generation, uint64_t timeout_ms,
		   struct pc_cp_ack *out)
{
	const struct pc_shm_ctl *c = m->ctl;
	const struct pc_shm_ack *a = &c->ack;
	uint64_t deadline = pc_shm_now_ns(CLOCK_MONOTONIC) + timeout_ms * 1000000ull;
	memset(out, 0, sizeof(*out));
	out->generation = generation;
	for (;;) {
		/* Acquire: the fields written before this store are visible.
		 * They stay put until control publishes again (only this
		 * process does), so a plain read of them is consistent. */
		uint32_t g = __atomic_load_n(&a->acked_generation, __ATOMIC_ACQUIRE);
		if (g == generation) {
			out->acked = true;
			out->result = a->result;
			memcpy(out->error, a->error, sizeof(out->error));
			out->error[sizeof(out->error) - 1] = '\0';
			out->applied_generation = a->applied_generation;
			out->applied_rules = a->applied_rules;
			out->apply_ns = a->apply_ns;
			out->seen_ns = a->seen_ns;
			out->quiescent_ns = a->quiescent_ns;
			return 0;
		}
		if (pc_shm_now_ns(CLOCK_MONOTONIC) > deadline)
			return -ETIMEDOUT;
		nap();
	}
}
