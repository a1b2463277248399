/* SPDX-License-Identifier: BSD-3-Clause
 *
 * shm_poke: play a misbehaving control plane against a running dataplane.
 *
 *   shm_poke INSTANCE MODE POLICY
 *
 * Compiles POLICY, damages the image or its slot description the way MODE
 * says, publishes it as the next generation straight into the control
 * segment, and prints the dataplane's acknowledgement:
 *   acked GENERATION result ERRNO applied GENERATION
 *   error TEXT
 * MODE: good (no damage), crc (slot checksum wrong), trunc (length cut in
 * half, checksum of the cut bytes right), abi (image ABI version bumped),
 * offset (a section's offset beyond the image, both checksums right: only
 * the bounds checks stand in the way), oversize (length beyond the slot),
 * slotgen (slot filled for another generation). Exit 0 when acknowledged,
 * 1 otherwise, 2 for usage.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_push.h"
#include "policy/policy.h"
#include "policy/policy_image.h"
#include "shm/shm.h"
#include "util/crc32c.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: shm_poke INSTANCE MODE POLICY\n");
		return 2;
	}
	const char *mode = argv[2];
	char err[1024];
	struct pc_policy_src *src = pc_policy_load_file(argv[3], err, sizeof(err));
	void *image;
	size_t len;
	if (src == NULL || pc_policy_compile(src, &image, &len, err, sizeof(err)) < 0) {
		fprintf(stderr, "shm_poke: %s\n", err);
		return 1;
	}
	pc_policy_src_free(src);

	struct pc_shm_map m;
	if (pc_shm_open(argv[1], &m, err, sizeof(err)) < 0) {
		fprintf(stderr, "shm_poke: %s\n", err);
		return 1;
	}
	struct pc_shm_ctl *c = m.ctl;
	uint64_t word = __atomic_load_n(&c->publish, __ATOMIC_ACQUIRE);
	unsigned idle = word == 0 ? 0 : (PC_SHM_PUBLISH_SLOT(word) ^ 1) & 1;
	uint32_t gen = pc_cp_next_generation(c);

	struct pc_img_header *h = image;
	if (strcmp(mode, "abi") == 0)
		h->abi++;
	if (strcmp(mode, "offset") == 0) {
		h->sections[0].off = (uint32_t)len + 4096;
		h->crc32 = pc__img_crc(image, len);
	}
	memcpy(pc_shm_slot_data(&m, idle), image, len);
	uint64_t slen = len;
	uint32_t crc = pc_crc32c(image, len);
	uint32_t sgen = gen;
	if (strcmp(mode, "crc") == 0) {
		crc ^= 0x5a5a5a5au;
	} else if (strcmp(mode, "trunc") == 0) {
		slen = len / 2;
		crc = pc_crc32c(image, slen);
	} else if (strcmp(mode, "oversize") == 0) {
		slen = c->slot_max + 1;
	} else if (strcmp(mode, "slotgen") == 0) {
		sgen = gen + 7;
	} else if (strcmp(mode, "good") != 0 && strcmp(mode, "abi") != 0 &&
		   strcmp(mode, "offset") != 0) {
		fprintf(stderr, "shm_poke: unknown mode %s\n", mode);
		return 2;
	}
	c->slot[idle].len = slen;
	c->slot[idle].crc32 = crc;
	c->slot[idle].generation = sgen;
	__atomic_store_n(&c->publish, PC_SHM_PUBLISH(gen, idle), __ATOMIC_RELEASE);
	free(image);

	struct pc_cp_ack ack;
	if (pc_cp_wait_ack(&m, gen, 5000, &ack) < 0) {
		fprintf(stderr, "shm_poke: generation %u not acknowledged within 5 s\n", gen);
		pc_shm_close(&m);
		return 1;
	}
	printf("acked %u result %d applied %u\nerror %s\n", ack.generation, ack.result,
	       ack.applied_generation, ack.error);
	pc_shm_close(&m);
	return 0;
}
