/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Create, map and validate the control segment (shm_abi.h). Control creates
 * the segment (shm_open, mode 0600) or attaches to the one a previous run
 * left; the dataplane only ever opens an existing one, and treats whatever it
 * finds as hostile until pc_shm_validate() has accepted the header.
 */
#ifndef PC_SHM_H
#define PC_SHM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "shm/shm_abi.h"

#define PC_SHM_INSTANCE_MAX 64 /* bytes of an instance name, NUL excluded */
#define PC_SHM_NAME_MAX (PC_SHM_INSTANCE_MAX + 32)
#define PC_SHM_DEFAULT_INSTANCE "portcullis"

struct pc_shm_map {
	struct pc_shm_ctl *ctl; /* NULL when not mapped */
	size_t len;             /* bytes mapped */
	int fd;
	dev_t dev;              /* identity of the object mapped, so a caller can */
	ino_t ino;              /* tell when the name now points to another one */
};

/* Fill buf with the POSIX shm name of instance ("/portcullis.NAME.ctl").
 * Returns 0, or -EINVAL when the instance name is empty, too long, or has a
 * character other than letters, digits, '-', '_' and '.' (or starts with
 * '.'). Any thread. */
int pc_shm_name(const char *instance, char *buf, size_t len);

/* Control: attach to the instance's segment, creating it with two slots of
 * slot_max bytes when there is none. An existing segment keeps its own slot
 * size (*created false); one left unfinished by a creator that died is made
 * again, so the caller must hold the instance lock. Returns 0 or -errno with
 * err filled. Control path. */
int pc_shm_create(const char *instance, uint64_t slot_max, struct pc_shm_map *m, bool *created,
		  char *err, size_t err_len);

/* Dataplane: map the instance's existing segment read-write and validate its
 * header. Returns 0, -ENOENT when there is no segment (yet), -EAGAIN when
 * its creator has not finished it, or another -errno with err filled.
 * Control path. */
int pc_shm_open(const char *instance, struct pc_shm_map *m, char *err, size_t err_len);

/* Check the fixed header of a mapping of map_len bytes: magic, ABI version,
 * sizes, and that both slots lie inside the mapping. Returns 0 or -errno
 * with err filled. Any thread. */
int pc_shm_validate(const struct pc_shm_ctl *c, size_t map_len, char *err, size_t err_len);

/* True when the instance's shm name still names the object m maps (a stat
 * of the name). Control path (a syscall). */
bool pc_shm_still_current(const char *instance, const struct pc_shm_map *m);

/* Unmap and close; m may be unmapped already. */
void pc_shm_close(struct pc_shm_map *m);


/* Control: tell the dataplane there is work (the doorbell protocol of
 * shm_abi.h), after the store that hands it over. */
void pc_shm_ring(struct pc_shm_ctl *c);

/* The dataplane's main lcore: the doorbell now (acquire), to pass to
 * pc_shm_wait() once the segment has been polled. */
static inline uint32_t pc_shm_doorbell(const struct pc_shm_ctl *c)
{
	return __atomic_load_n(&c->doorbell, __ATOMIC_ACQUIRE);
}

/* Sleep until the doorbell differs from seen (or is rung), at most
 * timeout_us. Returns at once when it differs already. Main lcore. */
void pc_shm_wait(struct pc_shm_ctl *c, uint32_t seen, unsigned timeout_us);

/* Image bytes of slot i (i < 2): start of the slot in the mapping. */
static inline uint8_t *pc_shm_slot_data(const struct pc_shm_map *m, unsigned i)
{
	return (uint8_t *)m->ctl + m->ctl->slot_off[i];
}

static inline uint64_t pc_shm_now_ns(clockid_t clk)
{
	struct timespec ts;
	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif
