/* SPDX-License-Identifier: BSD-3-Clause
 *
 * The general paths of json_scan.c behind its fast paths, exported only so
 * that tests can hold the two against each other (a fast path must answer
 * exactly as the general one on every input). Nothing but tests should
 * include this header.
 */
#ifndef PC_JSON_SCAN_PRIV_H
#define PC_JSON_SCAN_PRIV_H

#include "json/json_scan.h"

/* pc_json_scan_object() without its flat-object fast path. Any thread. */
enum pc_json_reason pc__json_scan_object_general(const char *buf, size_t len,
						 struct pc_json_member *members,
						 unsigned max_members, unsigned *n_members);

/* pc_json_int() without its plain-integer fast path. Any thread. */
enum pc_json_reason pc__json_int_general(const struct pc_json_value *v, enum pc_json_round mode,
					 int64_t *out);

#endif
