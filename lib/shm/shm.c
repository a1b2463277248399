/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The control segment's life cycle (shm.h). Creation is made safe against a
 * dataplane that opens the segment half-way through: the object is created
 * with O_EXCL, sized, filled, and its magic is stored last with release, so
 * a reader that sees the magic (acquire) sees a complete header. A reader
 * that finds no magic yet gets -EAGAIN and tries again later.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "shm/shm.h"

#define PC_SHM_PAGE 4096u

int pc_shm_name(const char *instance, char *buf, size_t len)
{
	size_t n = instance != NULL ? strlen(instance) : 0;
	if (n == 0 || n > PC_SHM_INSTANCE_MAX || instance[0] == '.')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = instance[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return -EINVAL;
	}
	if ((size_t)snprintf(buf, len, "/portcullis.%s.ctl", instance) >= len)
		return -ENAMETOOLONG;
	return 0;
}

void pc_shm_ring(struct pc_shm_ctl *c)
{
	__atomic_add_fetch(&c->doorbell, 1u, __ATOMIC_RELEASE);
	/* Shared futex (no FUTEX_PRIVATE_FLAG): the waiter maps the same
	 * object in another process. A failure only delays the dataplane to
	 * its next turn. */
	syscall(SYS_futex, &c->doorbell, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

void pc_shm_wait(struct pc_shm_ctl *c, uint32_t seen, unsigned timeout_us)
{
	struct timespec ts = { .tv_sec = timeout_us / 1000000u,
			       .tv_nsec = (long)(timeout_us % 1000000u) * 1000 };
	/* EAGAIN (the word moved on already), EINTR and ETIMEDOUT all mean:
	 * poll again now. */
	syscall(SYS_futex, &c->doorbell, FUTEX_WAIT, seen, &ts, NULL, 0);
}

static uint64_t round_page(uint64_t n)
{
	return (n + PC_SHM_PAGE - 1) & ~(uint64_t)(PC_SHM_PAGE - 1);
}

int pc_shm_validate(const struct pc_shm_ctl *c, size_t map_len, char *err, size_t err_len)
{
	if (map_len < sizeof(*c)) {
		snprintf(err, err_len, "control segment: %zu bytes, smaller than its header (%zu)",
			 map_len, sizeof(*c));
		return -EINVAL;
	}
	uint64_t magic = __atomic_load_n(&c->magic, __ATOMIC_ACQUIRE);
	if (magic == 0) {
		snprintf(err, err_len, "control segment: not initialised yet");
		return -EAGAIN;
	}
	if (magic != PC_SHM_MAGIC) {
		snprintf(err, err_len, "control segment: bad magic 0x%016llx",
			 (unsigned long long)magic);
		return -EINVAL;
	}
	if (c->abi != PC_SHM_ABI_VERSION || c->header_size != sizeof(*c)) {
		snprintf(err, err_len,
			 "control segment: ABI version %u with a %u-byte header, this build speaks "
			 "version %u with %zu bytes (restart both processes from one build)",
			 c->abi, c->header_size, PC_SHM_ABI_VERSION, sizeof(*c));
		return -EPROTO;
	}
	uint64_t smax = c->slot_max;
	if (smax < PC_SHM_MIN_SLOT_MAX || smax > PC_SHM_MAX_SLOT_MAX) {
		snprintf(err, err_len, "control segment: slot size %llu out of range",
			 (unsigned long long)smax);
		return -EINVAL;
	}
	if (c->seg_size != map_len) {
		snprintf(err, err_len, "control segment: header says %llu bytes, object has %zu",
			 (unsigned long long)c->seg_size, map_len);
		return -EINVAL;
	}
	for (unsigned i = 0; i < 2; i++) {
		uint64_t off = c->slot_off[i];
		if (off < sizeof(*c) || off % PC_SHM_PAGE != 0 || off > map_len ||
		    map_len - off < smax) {
			snprintf(err, err_len, "control segment: slot %u at offset %llu out of bounds",
				 i, (unsigned long long)off);
			return -EINVAL;
		}
	}
	if (c->slot_off[0] < c->slot_off[1] ? c->slot_off[0] + smax > c->slot_off[1]
					    : c->slot_off[1] + smax > c->slot_off[0]) {
		snprintf(err, err_len, "control segment: slots overlap");
		return -EINVAL;
	}
	return 0;
}

static int map_fd(int fd, struct pc_shm_map *m, char *err, size_t err_len)
{
	struct stat st;
	if (fstat(fd, &st) < 0) {
		snprintf(err, err_len, "control segment: fstat: %s", strerror(errno));
		return -errno;
	}
	if (st.st_size < (off_t)sizeof(struct pc_shm_ctl)) {
		/* Its creator has not sized it yet. */
		snprintf(err, err_len, "control segment: not initialised yet");
		return -EAGAIN;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		snprintf(err, err_len, "control segment: mmap of %lld bytes: %s",
			 (long long)st.st_size, strerror(errno));
		return -errno;
	}
	m->ctl = p;
	m->len = (size_t)st.st_size;
	m->fd = fd;
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	return 0;
}

int pc_shm_open(const char *instance, struct pc_shm_map *m, char *err, size_t err_len)
{
	char name[PC_SHM_NAME_MAX];
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	if (pc_shm_name(instance, name, sizeof(name)) < 0) {
		snprintf(err, err_len, "instance name '%s' is not valid", instance);
		return -EINVAL;
	}
	int fd = shm_open(name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		int rc = -errno;
		snprintf(err, err_len, "control segment %s: %s", name, strerror(errno));
		return rc;
	}
	int rc = map_fd(fd, m, err, err_len);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	rc = pc_shm_validate(m->ctl, m->len, err, err_len);
	if (rc < 0)
		pc_shm_close(m);
	return rc;
}

int pc_shm_create(const char *instance, uint64_t slot_max, struct pc_shm_map *m, bool *created,
		  char *err, size_t err_len)
{
	char name[PC_SHM_NAME_MAX];
	memset(m, 0, sizeof(*m));
	m->fd = -1;
	*created = false;
	if (pc_shm_name(instance, name, sizeof(name)) < 0) {
		snprintf(err, err_len, "instance name '%s' is not valid", instance);
		return -EINVAL;
	}
	if (slot_max < PC_SHM_MIN_SLOT_MAX || slot_max > PC_SHM_MAX_SLOT_MAX) {
		snprintf(err, err_len, "slot size %llu: must be from %u to %u bytes",
			 (unsigned long long)slot_max, PC_SHM_MIN_SLOT_MAX, PC_SHM_MAX_SLOT_MAX);
		return -EINVAL;
	}
	int fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EEXIST) {
		/* A previous run's segment: attach, keeping its layout, so a
		 * running dataplane notices nothing. */
		int rc = pc_shm_open(instance, m, err, err_len);
		if (rc != -EAGAIN)
			return rc;
		/* Never finished: its creator died half-way. The caller holds
		 * the instance lock, so no one else is making it now. */
		shm_unlink(name);
		fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd < 0) {
		int rc = -errno;
		snprintf(err, err_len, "control segment %s: %s", name, strerror(errno));
		return rc;
	}
	/* shm_open's mode is filtered by the umask; the segment must be 0600
	 * whatever the umask is. */
	fchmod(fd, 0600);
	uint64_t off0 = round_page(sizeof(struct pc_shm_ctl));
	uint64_t slot = round_page(slot_max);
	uint64_t size = off0 + 2 * slot;
	if (ftruncate(fd, (off_t)size) < 0) {
		int rc = -errno;
		snprintf(err, err_len, "control segment %s: ftruncate to %llu bytes: %s", name,
			 (unsigned long long)size, strerror(errno));
		close(fd);
		shm_unlink(name);
		return rc;
	}
	int rc = map_fd(fd, m, err, err_len);
	if (rc < 0) {
		close(fd);
		shm_unlink(name);
		return rc;
	}
	struct pc_shm_ctl *c = m->ctl;
	c->abi = PC_SHM_ABI_VERSION;
	c->header_size = sizeof(*c);
	c->seg_size = size;
	c->slot_max = slot;
	c->slot_off[0] = off0;
	c->slot_off[1] = off0 + slot;
	/* Release: a reader that sees the magic sees the header above. */
	__atomic_store_n(&c->magic, PC_SHM_MAGIC, __ATOMIC_RELEASE);
	*created = true;
	return 0;
}

bool pc_shm_still_current(const char *instance, const struct pc_shm_map *m)
{
	char name[PC_SHM_NAME_MAX], path[PC_SHM_NAME_MAX + 16];
	struct stat st;
	if (m->ctl == NULL || pc_shm_name(instance, name, sizeof(name)) < 0)
		return false;
	snprintf(path, sizeof(path), "/dev/shm%s", name);
	return stat(path, &st) == 0 && st.st_dev == m->dev && st.st_ino == m->ino;
}

void pc_shm_close(struct pc_shm_map *m)
{
	if (m->ctl != NULL)
		munmap(m->ctl, m->len);
	if (m->fd >= 0)
		close(m->fd);
	m->ctl = NULL;
	m->len = 0;
	m->fd = -1;
}
