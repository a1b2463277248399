/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Names and output of the counters declared in counters.h. Control path only:
 * the workers never call into this file.
 */
#include <errno.h>
#include <stdbool.h>
#include <inttypes.h>
#include <stdio.h>

#include "counters.h"

static const char *const pc_counter_names[PC_CTR_COUNT] = {
#define PC_X(name, text) [PC_CTR_##name] = text,
	PC_DP_COUNTERS(PC_X)
#undef PC_X
#define PC_X(name, text) [PC_CTR_PKT_##name] = text,
	PC_PKT_REASONS(PC_X)
#undef PC_X
#define PC_X(name, text) [PC_CTR_DENY_##name] = "decisions_denied_" text,
	PC_DECISION_REASONS(PC_X)
#undef PC_X
#define PC_X(name, text) [PC_CTR_ALLOW_##name] = "decisions_allowed_" text,
	PC_DECISION_REASONS(PC_X)
#undef PC_X
#define PC_X(name, text) [PC_CTR_DENY_DP_##name] = "decisions_denied_" text,
	PC_DP_REASONS(PC_X)
#undef PC_X
#define PC_X(name, text) [PC_CTR_ALLOW_DP_##name] = "decisions_allowed_" text,
	PC_DP_REASONS(PC_X)
#undef PC_X
};

const char *pc_counters_name(unsigned i)
{
	if (i >= PC_CTR_COUNT || i == PC_CTR_PKT_OK)
		return NULL;
	return pc_counter_names[i];
}

void pc_counters_add(struct pc_counters *dst, const struct pc_counters *src)
{
	for (unsigned i = 0; i < PC_CTR_COUNT; i++)
		dst->v[i] += __atomic_load_n(&src->v[i], __ATOMIC_RELAXED);
}

int pc_counters_print(const struct pc_counters *c, FILE *out)
{
	for (unsigned i = 0; i < PC_CTR_COUNT; i++) {
		const char *name = pc_counters_name(i);
		if (name != NULL && fprintf(out, "%s %" PRIu64 "\n", name, c->v[i]) < 0)
			return -EIO;
	}
	return fflush(out) == 0 ? 0 : -errno;
}

int pc_counters_write_json(const struct pc_counters *c, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -errno;
	bool first = true;
	int rc = fputc('{', f) == EOF ? -EIO : 0;
	for (unsigned i = 0; rc == 0 && i < PC_CTR_COUNT; i++) {
		const char *name = pc_counters_name(i);
		if (name == NULL)
			continue;
		/* Counter names are fixed identifiers: no escaping needed. */
		if (fprintf(f, "%s\"%s\":%" PRIu64, first ? "" : ",", name, c->v[i]) < 0)
			rc = -EIO;
		first = false;
	}
	if (rc == 0 && fputs("}\n", f) == EOF)
		rc = -EIO;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	return rc;
}
