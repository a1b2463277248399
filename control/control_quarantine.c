/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Quarantine table updates (control_quarantine.h). Each change is one write
 * section of the seqlock: quar_seq goes odd, the table changes, quar_seq goes
 * even; the dataplane copies only between two equal even values. Control is
 * the only writer (the instance lock), so no compare-and-swap is needed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control_quarantine.h"

static void write_begin(struct pc_shm_ctl *c)
{
	uint32_t s = c->quar_seq;
	/* Release on the odd value, and a fence so no table store moves
	 * above it: a reader that sees any new entry byte sees the odd value
	 * on its re-check. */
	__atomic_store_n(&c->quar_seq, s | 1u, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void write_end(struct pc_shm_ctl *c)
{
	uint32_t s = c->quar_seq;
	/* Release: the table is complete before the even value shows. */
	__atomic_store_n(&c->quar_seq, (s | 1u) + 1u, __ATOMIC_RELEASE);
	pc_shm_ring(c);
}

static int parse_fp(const char *hex, uint8_t fp[PC_SHM_FP_LEN])
{
	if (hex == NULL || strlen(hex) != 2 * PC_SHM_FP_LEN)
		return -EINVAL;
	for (unsigned i = 0; i < PC_SHM_FP_LEN; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -EINVAL;
		fp[i] = (uint8_t)v;
	}
	for (const char *p = hex; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))
			return -EINVAL;
	return 0;
}

static void fp_hex(const uint8_t fp[PC_SHM_FP_LEN], char *buf)
{
	for (unsigned i = 0; i < PC_SHM_FP_LEN; i++)
		sprintf(buf + 2 * i, "%02x", fp[i]);
}

/* Index of the entry the request names, -1 when none; -2 on a bad request
 * (err set). */
static int find(struct pc_shm_ctl *c, json_t *req, struct pc_shm_quar_entry *key,
		const char **err)
{
	const char *kind = json_string_value(json_object_get(req, "kind"));
	const char *value = json_string_value(json_object_get(req, "value"));
	memset(key, 0, sizeof(*key));
	if (kind != NULL && strcmp(kind, "identity") == 0) {
		key->kind = PC_SHM_QUAR_IDENTITY;
		if (value == NULL || value[0] == '\0' || strlen(value) >= PC_SHM_QUAR_NAME_MAX) {
			*err = "an identity name of 1 to 127 bytes is needed";
			return -2;
		}
		snprintf(key->name, sizeof(key->name), "%s", value);
	} else if (kind != NULL && strcmp(kind, "credential") == 0) {
		key->kind = PC_SHM_QUAR_CREDENTIAL;
		if (parse_fp(value, key->fp) < 0) {
			*err = "a credential fingerprint is 16 hex digits";
			return -2;
		}
		fp_hex(key->fp, key->name);
	} else {
		*err = "kind must be \"identity\" or \"credential\"";
		return -2;
	}
	uint32_t n = c->quar_count;
	for (uint32_t i = 0; i < n && i < PC_SHM_QUAR_MAX; i++) {
		const struct pc_shm_quar_entry *e = &c->quar[i];
		if (e->kind == key->kind && strcmp(e->name, key->name) == 0)
			return (int)i;
	}
	return -1;
}

static const char *kind_name(uint32_t k)
{
	return k == PC_SHM_QUAR_IDENTITY ? "identity" : "credential";
}

static void remove_at(struct pc_shm_ctl *c, uint32_t i)
{
	uint32_t n = c->quar_count;
	if (i + 1 < n)
		c->quar[i] = c->quar[n - 1];
	memset(&c->quar[n - 1], 0, sizeof(c->quar[0]));
	c->quar_count = n - 1;
}

unsigned pc_cp_quarantine_expire(struct pc_shm_map *m, int64_t now_s)
{
	struct pc_shm_ctl *c = m->ctl;
	unsigned gone = 0;
	for (uint32_t i = 0; i < c->quar_count;) {
		struct pc_shm_quar_entry *e = &c->quar[i];
		if (e->expires_s == 0 || e->expires_s > now_s) {
			i++;
			continue;
		}
		if (gone == 0)
			write_begin(c);
		pc_cp_log("quarantine: %s %s expired (reason: %s)", kind_name(e->kind), e->name,
			  e->reason);
		remove_at(c, i);
		gone++;
	}
	if (gone > 0)
		write_end(c);
	return gone;
}

json_t *pc_cp_quarantine_cmd(struct pc_shm_map *m, const char *sub, json_t *req)
{
	struct pc_shm_ctl *c = m->ctl;
	struct pc_shm_quar_entry key;
	const char *err = NULL;
	int64_t now = (int64_t)time(NULL);

	pc_cp_quarantine_expire(m, now);
	if (strcmp(sub, "list") == 0) {
		json_t *arr = json_array();
		for (uint32_t i = 0; i < c->quar_count && i < PC_SHM_QUAR_MAX; i++) {
			const struct pc_shm_quar_entry *e = &c->quar[i];
			json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I, s:I}", "kind",
							     kind_name(e->kind), "value", e->name,
							     "reason", e->reason, "added", (json_int_t)e->added_s,
							     "expires", (json_int_t)e->expires_s));
		}
		return json_pack("{s:b, s:o, s:i}", "ok", 1, "entries", arr, "seq",
				 (json_int_t)c->quar_seq);
	}
	int i = find(c, req, &key, &err);
	if (i == -2)
		return json_pack("{s:b, s:s}", "ok", 0, "error", err);
	const char *reason = json_string_value(json_object_get(req, "reason"));
	if (reason == NULL)
		reason = "";
	if (strcmp(sub, "add") == 0) {
		json_int_t ttl = json_integer_value(json_object_get(req, "ttl_s"));
		if (ttl < 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error", "ttl must be positive");
		if (i < 0 && c->quar_count >= PC_SHM_QUAR_MAX)
			return json_pack("{s:b, s:s}", "ok", 0, "error",
					 "quarantine table full (1024 entries)");
		snprintf(key.reason, sizeof(key.reason), "%s", reason);
		key.added_s = now;
		key.expires_s = ttl > 0 ? now + ttl : 0;
		write_begin(c);
		if (i >= 0)
			c->quar[i] = key;
		else
			c->quar[c->quar_count++] = key;
		write_end(c);
		pc_cp_log("quarantine: %s %s %s (reason: %s, ttl %lld s)", kind_name(key.kind),
			  key.name, i >= 0 ? "updated" : "added", key.reason, (long long)ttl);
		return json_pack("{s:b, s:i}", "ok", 1, "seq", (json_int_t)c->quar_seq);
	}
	if (strcmp(sub, "remove") == 0) {
		if (i < 0)
			return json_pack("{s:b, s:s}", "ok", 0, "error", "no such quarantine entry");
		write_begin(c);
		remove_at(c, (uint32_t)i);
		write_end(c);
		pc_cp_log("quarantine: %s %s removed (reason: %s)", kind_name(key.kind), key.name,
			  reason[0] ? reason : "none given");
		return json_pack("{s:b, s:i}", "ok", 1, "seq", (json_int_t)c->quar_seq);
	}
	return json_pack("{s:b, s:s}", "ok", 0, "error", "unknown quarantine command");
}
