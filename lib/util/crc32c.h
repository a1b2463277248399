/* SPDX-License-Identifier: BSD-3-Clause
 *
 * CRC-32C (Castagnoli, RFC 3720 appendix B.4): the checksum of a policy
 * image (policy_image.h) and of a control-segment slot (shm_abi.h), so it is
 * paid three times on every push of an image: when control writes the slot,
 * when the dataplane copies it out, and when the image is validated.
 *
 * The CPU computes it with one instruction per 8 bytes (SSE 4.2 crc32),
 * whose latency is three times its throughput: one chain of them runs at a
 * third of what the unit can do. So a long buffer is cut into blocks of three
 * lanes, each lane's CRC runs as an independent chain, and the three are
 * joined with the linearity of the CRC register: the register after lanes
 * A then B equals "A's register advanced over |B| zero bytes" XOR "B's
 * register from zero", and advancing over a fixed lane length is a linear
 * map of the 32 register bits, kept as four 256-entry tables. A bitwise loop
 * serves CPUs without the instruction.
 */
#ifndef PC_CRC32C_H
#define PC_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* CRC-32C of len bytes of p (initial value and final XOR all ones, as
 * iSCSI): "123456789" gives 0xe3069283. Any thread. */
uint32_t pc_crc32c(const void *p, size_t len);

/* memcpy(dst, src, len) and the CRC-32C of those bytes, in one pass: the
 * CRC is of the bytes as read, which are the bytes written. dst and src do
 * not overlap. Any thread. */
uint32_t pc_crc32c_copy(void *dst, const void *src, size_t len);

#endif
