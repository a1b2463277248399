/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Unit tests of the control segment's pieces that need no dataplane: the
 * shm helpers (names, create/attach, header validation), control's publish
 * side of the protocol, the quarantine table updates and the workers' check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control_push.h"
#include "control_quarantine.h"
#include "pc_test.h"
#include "shm/quarantine.h"
#include "shm/shm.h"
#include "util/crc32c.h"

void pc_cp_log(const char *fmt, ...)
{
	(void)fmt;
}

static char inst[64];

static void unlink_seg(void)
{
	char name[PC_SHM_NAME_MAX];
	pc_shm_name(inst, name, sizeof(name));
	shm_unlink(name);
}

static void test_names(void)
{
	char b[PC_SHM_NAME_MAX];
	CU_ASSERT_EQUAL(pc_shm_name("portcullis", b, sizeof(b)), 0);
	CU_ASSERT_STRING_EQUAL(b, "/portcullis.portcullis.ctl");
	CU_ASSERT_EQUAL(pc_shm_name("edge-1_a.b", b, sizeof(b)), 0);
	CU_ASSERT_EQUAL(pc_shm_name("", b, sizeof(b)), -EINVAL);
	CU_ASSERT_EQUAL(pc_shm_name(".hidden", b, sizeof(b)), -EINVAL);
	CU_ASSERT_EQUAL(pc_shm_name("a/b", b, sizeof(b)), -EINVAL);
	CU_ASSERT_EQUAL(pc_shm_name("a b", b, sizeof(b)), -EINVAL);
	char longname[PC_SHM_INSTANCE_MAX + 2];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(pc_shm_name(longname, b, sizeof(b)), -EINVAL);
}

static void test_create_attach_validate(void)
{
	char err[256];
	struct pc_shm_map m, m2, d;
	bool created;
	unlink_seg();
	CU_ASSERT_EQUAL(pc_shm_open(inst, &d, err, sizeof(err)), -ENOENT);
	CU_ASSERT_EQUAL(pc_shm_create(inst, 1000, &m, &created, err, sizeof(err)), -EINVAL);
	CU_ASSERT_EQUAL_FATAL(pc_shm_create(inst, PC_SHM_MIN_SLOT_MAX, &m, &created, err,
					    sizeof(err)), 0);
	CU_ASSERT(created);
	struct stat st;
	CU_ASSERT_EQUAL(fstat(m.fd, &st), 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	CU_ASSERT_EQUAL(m.ctl->slot_max, PC_SHM_MIN_SLOT_MAX);
	m.ctl->publish = PC_SHM_PUBLISH(7, 1);

	/* A second attach keeps the layout and what was published. */
	CU_ASSERT_EQUAL_FATAL(pc_shm_create(inst, PC_SHM_DEFAULT_SLOT_MAX, &m2, &created, err,
					    sizeof(err)), 0);
	CU_ASSERT(!created);
	CU_ASSERT_EQUAL(m2.ctl->slot_max, PC_SHM_MIN_SLOT_MAX);
	CU_ASSERT_EQUAL(PC_SHM_PUBLISH_GEN(m2.ctl->publish), 7);
	pc_shm_close(&m2);

	CU_ASSERT_EQUAL_FATAL(pc_shm_open(inst, &d, err, sizeof(err)), 0);
	CU_ASSERT(pc_shm_still_current(inst, &d));

	/* Header damage, each refused with its own message. */
	struct pc_shm_ctl saved = *m.ctl;
	m.ctl->abi = PC_SHM_ABI_VERSION + 1;
	CU_ASSERT_EQUAL(pc_shm_validate(d.ctl, d.len, err, sizeof(err)), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "ABI version"));
	*m.ctl = saved;
	m.ctl->magic = 42;
	CU_ASSERT_EQUAL(pc_shm_validate(d.ctl, d.len, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "bad magic"));
	*m.ctl = saved;
	m.ctl->slot_off[1] = m.ctl->seg_size - 4096;
	CU_ASSERT_EQUAL(pc_shm_validate(d.ctl, d.len, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "slot 1"));
	*m.ctl = saved;
	m.ctl->slot_off[1] = m.ctl->slot_off[0];
	CU_ASSERT_EQUAL(pc_shm_validate(d.ctl, d.len, err, sizeof(err)), -EINVAL);
	*m.ctl = saved;
	m.ctl->seg_size += 4096;
	CU_ASSERT_EQUAL(pc_shm_validate(d.ctl, d.len, err, sizeof(err)), -EINVAL);
	*m.ctl = saved;
	CU_ASSERT_EQUAL(pc_shm_validate(d.ctl, d.len, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(pc_shm_validate(d.ctl, sizeof(struct pc_shm_ctl) - 1, err, sizeof(err)),
			-EINVAL);

	/* Replaced under the same name: the old mapping is no longer current. */
	unlink_seg();
	CU_ASSERT(!pc_shm_still_current(inst, &d));
	pc_shm_close(&d);
	pc_shm_close(&m);
}

static void test_publish_protocol(void)
{
	char err[256];
	struct pc_shm_map m;
	bool created;
	unlink_seg();
	CU_ASSERT_EQUAL_FATAL(pc_shm_create(inst, PC_SHM_MIN_SLOT_MAX, &m, &created, err,
					    sizeof(err)), 0);
	struct pc_shm_ctl *c = m.ctl;
	CU_ASSERT_EQUAL(pc_cp_next_generation(c), 2);
	CU_ASSERT(!pc_cp_dp_attached(c));

	uint8_t img[100];
	memset(img, 0xab, sizeof(img));
	uint32_t g;
	CU_ASSERT_EQUAL(pc_cp_publish(&m, img, sizeof(img), &g, 10, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(g, 2);
	uint64_t w = c->publish;
	CU_ASSERT_EQUAL(PC_SHM_PUBLISH_GEN(w), 2);
	unsigned s = PC_SHM_PUBLISH_SLOT(w);
	CU_ASSERT_EQUAL(c->slot[s].len, sizeof(img));
	CU_ASSERT_EQUAL(c->slot[s].generation, 2);
	CU_ASSERT_EQUAL(c->slot[s].crc32, pc_crc32c(img, sizeof(img)));
	CU_ASSERT_EQUAL(memcmp(pc_shm_slot_data(&m, s), img, sizeof(img)), 0);

	/* The next push takes the other slot. */
	CU_ASSERT_EQUAL(pc_cp_publish(&m, img, sizeof(img), &g, 10, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(g, 3);
	CU_ASSERT_EQUAL(PC_SHM_PUBLISH_SLOT(c->publish), s ^ 1);

	/* An attached dataplane that has not acknowledged 3 still reads
	 * slot s^1's predecessor word: no overwrite of the slot it may read. */
	c->ack.heartbeat_ns = pc_shm_now_ns(CLOCK_MONOTONIC);
	c->ack.acked_generation = 2;
	CU_ASSERT(pc_cp_dp_attached(c));
	CU_ASSERT_EQUAL(pc_cp_publish(&m, img, sizeof(img), &g, 5, err, sizeof(err)), -EBUSY);
	CU_ASSERT_EQUAL(PC_SHM_PUBLISH_GEN(c->publish), 3);
	c->ack.acked_generation = 3;
	CU_ASSERT_EQUAL(pc_cp_publish(&m, img, sizeof(img), &g, 5, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(g, 4);

	/* Acks: a later acknowledged generation is never gone back on. */
	c->ack.result = -EINVAL;
	snprintf(c->ack.error, sizeof(c->ack.error), "nope");
	c->ack.acked_generation = 4;
	struct pc_cp_ack a;
	CU_ASSERT_EQUAL(pc_cp_wait_ack(&m, 4, 10, &a), 0);
	CU_ASSERT(a.acked);
	CU_ASSERT_EQUAL(a.result, -EINVAL);
	CU_ASSERT_STRING_EQUAL(a.error, "nope");
	CU_ASSERT_EQUAL(pc_cp_wait_ack(&m, 5, 5, &a), -ETIMEDOUT);
	c->ack.acked_generation = 9;
	CU_ASSERT_EQUAL(pc_cp_next_generation(c), 10);

	CU_ASSERT_EQUAL(pc_cp_publish(&m, img, c->slot_max + 1, &g, 5, err, sizeof(err)),
			-EMSGSIZE);
	pc_shm_close(&m);
	unlink_seg();
}

static void test_quarantine_table(void)
{
	char err[256];
	struct pc_shm_map m;
	bool created;
	unlink_seg();
	CU_ASSERT_EQUAL_FATAL(pc_shm_create(inst, PC_SHM_MIN_SLOT_MAX, &m, &created, err,
					    sizeof(err)), 0);
	struct pc_shm_ctl *c = m.ctl;
	json_t *r = json_pack("{s:s, s:s, s:s, s:i}", "kind", "identity", "value", "agent-1",
			      "reason", "leak", "ttl_s", 60);
	json_t *resp = pc_cp_quarantine_cmd(&m, "add", r);
	CU_ASSERT(json_is_true(json_object_get(resp, "ok")));
	CU_ASSERT_EQUAL(c->quar_count, 1);
	CU_ASSERT_EQUAL(c->quar_seq, 2); /* odd while written, even after */
	CU_ASSERT_STRING_EQUAL(c->quar[0].reason, "leak");
	CU_ASSERT(c->quar[0].expires_s > c->quar[0].added_s);
	json_decref(resp);
	json_decref(r);

	r = json_pack("{s:s, s:s}", "kind", "credential", "value", "00112233445566ZZ");
	resp = pc_cp_quarantine_cmd(&m, "add", r);
	CU_ASSERT(json_is_false(json_object_get(resp, "ok")));
	CU_ASSERT_EQUAL(c->quar_count, 1);
	json_decref(resp);
	json_decref(r);
	r = json_pack("{s:s, s:s}", "kind", "credential", "value", "00112233445566ff");
	resp = pc_cp_quarantine_cmd(&m, "add", r);
	CU_ASSERT(json_is_true(json_object_get(resp, "ok")));
	CU_ASSERT_EQUAL(c->quar_count, 2);
	CU_ASSERT_EQUAL(c->quar[1].fp[7], 0xff);
	CU_ASSERT_EQUAL(c->quar[1].expires_s, 0);
	json_decref(resp);
	json_decref(r);

	r = json_pack("{s:s}", "cmd", "quarantine.list");
	resp = pc_cp_quarantine_cmd(&m, "list", r);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(resp, "entries")), 2);
	json_decref(resp);
	json_decref(r);

	/* Expiry drops the identity entry, keeps the other. */
	CU_ASSERT_EQUAL(pc_cp_quarantine_expire(&m, c->quar[0].expires_s), 1);
	CU_ASSERT_EQUAL(c->quar_count, 1);
	CU_ASSERT_EQUAL(c->quar[0].kind, PC_SHM_QUAR_CREDENTIAL);
	CU_ASSERT_EQUAL(c->quar_seq % 2, 0);

	r = json_pack("{s:s, s:s}", "kind", "identity", "value", "agent-1");
	resp = pc_cp_quarantine_cmd(&m, "remove", r);
	CU_ASSERT(json_is_false(json_object_get(resp, "ok"))); /* already gone */
	json_decref(resp);
	json_decref(r);
	r = json_pack("{s:s, s:s}", "kind", "credential", "value", "00112233445566FF");
	resp = pc_cp_quarantine_cmd(&m, "remove", r);
	CU_ASSERT(json_is_true(json_object_get(resp, "ok")));
	CU_ASSERT_EQUAL(c->quar_count, 0);
	json_decref(resp);
	json_decref(r);
	pc_shm_close(&m);
	unlink_seg();
}

static void test_quarantine_check(void)
{
	uint64_t bits[2] = { 1ull << 3, 1ull << 1 }; /* identities 3 and 65 */
	static const uint8_t fps[3][PC_QUARANTINE_FP_LEN] = {
		{ 0, 0, 0, 0, 0, 0, 0, 1 },
		{ 0x10, 1, 2, 3, 4, 5, 6, 7 },
		{ 0xff, 0, 0, 0, 0, 0, 0, 0 },
	};
	struct pc_quarantine q = { .epoch = 5, .n_identities = 100, .n_fp = 3,
				   .identity_bits = bits, .fp = fps };
	uint8_t fp[PC_QUARANTINE_FP_LEN] = { 0x10, 1, 2, 3, 4, 5, 6, 7 };
	uint8_t other[PC_QUARANTINE_FP_LEN] = { 0x10, 1, 2, 3, 4, 5, 6, 8 };
	CU_ASSERT(pc_quarantine_check(&q, 3, NULL));
	CU_ASSERT(pc_quarantine_check(&q, 65, NULL));
	CU_ASSERT(!pc_quarantine_check(&q, 4, NULL));
	CU_ASSERT(!pc_quarantine_check(&q, -1, NULL));
	CU_ASSERT(!pc_quarantine_check(&q, 1000, NULL)); /* beyond the bitmap */
	CU_ASSERT(pc_quarantine_check(&q, -1, fp));
	CU_ASSERT(pc_quarantine_check(&q, -1, fps[0]));
	CU_ASSERT(pc_quarantine_check(&q, -1, fps[2]));
	CU_ASSERT(!pc_quarantine_check(&q, -1, other));
	CU_ASSERT(!pc_quarantine_check(NULL, 3, fp));
	CU_ASSERT_EQUAL(pc_quarantine_epoch(&q), 5);
	CU_ASSERT_EQUAL(pc_quarantine_epoch(NULL), 0);
}

static CU_TestInfo tests[] = {
	PC_TEST(test_names),
	PC_TEST(test_create_attach_validate),
	PC_TEST(test_publish_protocol),
	PC_TEST(test_quarantine_table),
	PC_TEST(test_quarantine_check),
	CU_TEST_INFO_NULL,
};

int main(void)
{
	snprintf(inst, sizeof(inst), "pctest%d", (int)getpid());
	int rc = pc_test_main("shm", tests);
	unlink_seg();
	return rc;
}
