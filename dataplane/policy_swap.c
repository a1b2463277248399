/* SPDX-License-Identifier: BSD-3-Clause
 *
 * Live policy swap on the main lcore (policy_swap.h; the segment protocol is
 * in lib/shm/shm_abi.h).
 *
 * Order of a swap, and why:
 *   1. copy the slot out, then re-read the publish word: control could
 *      rewrite the slot at any time, so only a private copy taken while the
 *      word stayed the same is validated, and validation is never repeated
 *      on shared bytes;
 *   2. crc32, then pc_policy_from_image(), which checks the image as hostile
 *      input; any failure is acknowledged with its message and the running
 *      policy stays;
 *   3. one fresh engine scratch per worker, made for the new policy; the
 *      scratches travel in the struct pc_dp_policy the workers load, so a
 *      worker's loop always pairs a policy with the scratch made for it (a
 *      Hyperscan scratch is checked against its database, one pass over
 *      it, so fitting one scratch to both policies cost a second pass);
 *   4. release store of dp->active, then rte_rcu_qsbr_synchronize(): after it
 *      no worker holds the old policy or its scratches;
 *   5. acknowledge, the generation last with release: control waits for
 *      every worker to run the new policy, not for the old one to be freed;
 *   6. drain the decision rings once (records of the old generation are all
 *      in them by now) and only then free the old policy, so every record is
 *      formatted with the names of the generation that decided it.
 * The main lcore does nothing else while it waits in step 4; workers keep
 * forwarding throughout, so a swap costs no packets.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_rcu_qsbr.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "dataplane.h"
#include "decision_log.h"
#include "engine/decide.h"
#include "flow_dump.h"
#include "policy/policy.h"
#include "policy_swap.h"
#include "shm/quarantine.h"
#include "shm/shm.h"
#include "util/crc32c.h"
#include "worker.h"

#define PROG "portcullis-dataplane"
#define PC_SWAP_GENS 4          /* policies alive at once: current and the one being retired */
#define PC_SWAP_COPY_TRIES 4    /* publish words changing under a copy before we wait a loop */
#define PC_SWAP_DRAIN_BATCH 32

struct pc_swap_gen {
	uint32_t generation;
	const struct pc_policy *policy;
	bool owned; /* built here, freed here; the startup policy is the caller's */
};

struct pc_swap {
	struct pc_dp *dp;
	char instance[PC_SHM_INSTANCE_MAX + 1];
	struct pc_shm_map map;
	uint64_t slot_max, slot_off[2]; /* validated at attach */
	uint64_t handled;          /* publish word last handled */
	uint32_t doorbell;         /* as loaded at the start of the last poll */
	uint64_t next_heartbeat_ns; /* CLOCK_MONOTONIC */
	uint64_t next_attach_ns;
	uint64_t started_ns;       /* CLOCK_REALTIME */
	uint64_t applied_ns;
	uint32_t generation;       /* what workers run */
	bool attach_logged;
	FILE *log;
	struct pc_swap_gen gens[PC_SWAP_GENS];
	char err[PC_SHM_ERR_MAX];
	uint64_t split_copy_ns, split_build_ns, split_grace_ns; /* of the last swap, for its log line */

	/* The last quarantine table copied out of the segment. */
	struct pc_shm_quar_entry *quar;  /* PC_SHM_QUAR_MAX entries */
	uint32_t quar_n;
	uint32_t quar_seq;              /* quar_seq it was copied at */
	uint32_t quar_epoch;            /* epoch of the table workers use */
	int64_t quar_next_expiry_s;     /* rebuild then; 0: none */
	const struct pc_quarantine *quar_active; /* the table in dp->active */

	struct pc_flow_dump *dump; /* answers the segment's flows requests */
};

/* A workers' table for policy p from the entries copied last, skipping those
 * expired by now_s. NULL when there is nothing to revoke (or no memory:
 * counted as none, and said). */
static struct pc_quarantine *quar_build(struct pc_swap *s, const struct pc_policy *p,
					 int64_t now_s)
{
	uint32_t n_id = pc_policy_identity_count(p);
	uint32_t words = (n_id + 63) / 64;
	uint32_t n_fp = 0, n_live = 0;
	s->quar_next_expiry_s = 0;
	for (uint32_t i = 0; i < s->quar_n; i++) {
		const struct pc_shm_quar_entry *e = &s->quar[i];
		if (e->expires_s != 0 && e->expires_s <= now_s)
			continue;
		if (e->expires_s != 0 &&
		    (s->quar_next_expiry_s == 0 || e->expires_s < s->quar_next_expiry_s))
			s->quar_next_expiry_s = e->expires_s;
		n_live++;
		n_fp += e->kind == PC_SHM_QUAR_CREDENTIAL;
	}
	if (n_live == 0)
		return NULL;
	size_t sz = sizeof(struct pc_quarantine) + (size_t)words * 8 + (size_t)n_fp * PC_QUARANTINE_FP_LEN;
	struct pc_quarantine *q = calloc(1, sz);
	if (q == NULL) {
		fprintf(stderr, PROG ": quarantine table: out of memory, not applied\n");
		return NULL;
	}
	uint64_t *bits = (uint64_t *)(q + 1);
	uint8_t (*fp)[PC_QUARANTINE_FP_LEN] = (void *)(bits + words);
	uint32_t k = 0;
	for (uint32_t i = 0; i < s->quar_n; i++) {
		const struct pc_shm_quar_entry *e = &s->quar[i];
		if (e->expires_s != 0 && e->expires_s <= now_s)
			continue;
		if (e->kind == PC_SHM_QUAR_CREDENTIAL) {
			/* Insertion sort: at most PC_SHM_QUAR_MAX, control path. */
			uint32_t j = k++;
			while (j > 0 && memcmp(fp[j - 1], e->fp, PC_QUARANTINE_FP_LEN) > 0) {
				memcpy(fp[j], fp[j - 1], PC_QUARANTINE_FP_LEN);
				j--;
			}
			memcpy(fp[j], e->fp, PC_QUARANTINE_FP_LEN);
			continue;
		}
		uint32_t id;
		for (id = 0; id < n_id; id++)
			if (strcmp(pc_policy_identity_name(p, id), e->name) == 0)
				break;
		if (id < n_id)
			bits[id >> 6] |= 1ull << (id & 63);
	}
	q->n_identities = n_id;
	q->n_fp = n_fp;
	q->identity_bits = bits;
	q->fp = (const uint8_t (*)[PC_QUARANTINE_FP_LEN])fp;
	s->quar_epoch = s->quar_epoch + 1 == 0 ? 1 : s->quar_epoch + 1;
	q->epoch = s->quar_epoch;
	return q;
}

/* Copy the segment's table when it changed and is not being written.
 * Returns true when s->quar now holds a newer table. Main lcore. */
static bool quar_copy(struct pc_swap *s)
{
	const struct pc_shm_ctl *c = s->map.ctl;
	/* Acquire: the table written before this even value is visible. */
	uint32_t seq = __atomic_load_n(&c->quar_seq, __ATOMIC_ACQUIRE);
	if (likely(seq == s->quar_seq) || (seq & 1))
		return false;
	uint32_t n = ((const volatile struct pc_shm_ctl *)c)->quar_count;
	if (unlikely(n > PC_SHM_QUAR_MAX))
		n = PC_SHM_QUAR_MAX; /* bounded whatever control says */
	memcpy(s->quar, c->quar, (size_t)n * sizeof(s->quar[0]));
	/* The fence keeps the copy's loads before the re-check. */
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&c->quar_seq, __ATOMIC_RELAXED) != seq)
		return false; /* written meanwhile: next loop */
	uint32_t k = 0;
	for (uint32_t i = 0; i < n; i++) {
		struct pc_shm_quar_entry *e = &s->quar[i];
		e->name[sizeof(e->name) - 1] = '\0';
		e->reason[sizeof(e->reason) - 1] = '\0';
		if (e->kind != PC_SHM_QUAR_IDENTITY && e->kind != PC_SHM_QUAR_CREDENTIAL)
			continue; /* not ours to guess at */
		if (k != i)
			s->quar[k] = *e;
		k++;
	}
	s->quar_n = k;
	s->quar_seq = seq;
	return true;
}

/* The swap's publish time, for each worker to compare its first loop under
 * the new pointer with (worker.h: pol_pub_tsc). Relaxed: benchmarks read it
 * after the grace period. Main lcore, just before the store of active. */
static void stamp_publish(struct pc_dp *dp)
{
	uint64_t now = rte_rdtsc();
	for (uint16_t i = 0; i < dp->n_workers; i++)
		__atomic_store_n(&dp->workers[i]->pol_pub_tsc, now, __ATOMIC_RELAXED);
}

/* Publish the current policy again with a new quarantine table, and free
 * the old table after the grace period. Main lcore. */
static void quar_publish(struct pc_swap *s)
{
	struct pc_dp *dp = s->dp;
	struct pc_dp_policy *old = dp->active;
	struct pc_dp_policy *next = rte_zmalloc("pc_policy_ref", sizeof(*next), 0);
	if (next == NULL) {
		fprintf(stderr, PROG ": quarantine: out of memory, table not applied\n");
		return;
	}
	*next = *old; /* the same policy and scratches */
	next->quarantine = quar_build(s, old->policy, (int64_t)time(NULL));
	s->quar_active = next->quarantine;
	stamp_publish(dp);
	__atomic_store_n(&dp->active, next, __ATOMIC_RELEASE);
	rte_rcu_qsbr_synchronize(dp->rcu, RTE_QSBR_THRID_INVALID);
	free((void *)(uintptr_t)old->quarantine);
	rte_free(old);
	struct pc_shm_ack *a = &s->map.ctl->ack;
	a->quar_entries = s->quar_n;
	__atomic_store_n(&a->quar_seq_applied, s->quar_seq, __ATOMIC_RELEASE);
	printf(PROG ": quarantine table applied: %u entries (epoch %u)\n", s->quar_n,
	       pc_quarantine_epoch(next->quarantine));
	fflush(stdout);
}

static const struct pc_policy *gen_policy(const struct pc_swap *s, uint32_t generation)
{
	for (unsigned i = 0; i < PC_SWAP_GENS; i++)
		if (s->gens[i].policy != NULL && s->gens[i].generation == generation)
			return s->gens[i].policy;
	return NULL;
}

static int gen_add(struct pc_swap *s, uint32_t generation, const struct pc_policy *p, bool owned)
{
	for (unsigned i = 0; i < PC_SWAP_GENS; i++) {
		if (s->gens[i].policy == NULL) {
			s->gens[i] = (struct pc_swap_gen){ generation, p, owned };
			return 0;
		}
	}
	return -ENOSPC;
}

/* Forget p; free it when it was ours. */
static void gen_retire(struct pc_swap *s, const struct pc_policy *p)
{
	for (unsigned i = 0; i < PC_SWAP_GENS; i++) {
		if (s->gens[i].policy != p)
			continue;
		if (s->gens[i].owned)
			pc_policy_free((struct pc_policy *)(uintptr_t)p);
		memset(&s->gens[i], 0, sizeof(s->gens[i]));
	}
}

struct pc_swap *pc_swap_create(struct pc_dp *dp, const char *instance,
			       const struct pc_policy *startup)
{
	char name[PC_SHM_NAME_MAX];
	if (pc_shm_name(instance, name, sizeof(name)) < 0) {
		errno = EINVAL;
		return NULL;
	}
	struct pc_swap *s = calloc(1, sizeof(*s));
	if (s == NULL)
		return NULL;
	s->dp = dp;
	snprintf(s->instance, sizeof(s->instance), "%s", instance);
	s->map.fd = -1;
	s->quar = calloc(PC_SHM_QUAR_MAX, sizeof(s->quar[0]));
	if (s->quar == NULL) {
		free(s);
		return NULL;
	}
	s->dump = pc_flow_dump_create(dp);
	if (s->dump == NULL) {
		free(s->quar);
		free(s);
		return NULL;
	}
	s->generation = dp->active->generation;
	s->started_ns = pc_shm_now_ns(CLOCK_REALTIME);
	s->applied_ns = s->started_ns;
	gen_add(s, s->generation, startup, false);
	return s;
}

void pc_swap_set_log(struct pc_swap *s, FILE *out)
{
	s->log = out;
}

uint32_t pc_swap_generation(const struct pc_swap *s)
{
	return s->generation;
}

static void heartbeat(struct pc_swap *s, uint64_t now)
{
	struct pc_shm_ack *a = &s->map.ctl->ack;
	/* Relaxed: status readers only compare it with their clock. */
	__atomic_store_n(&a->heartbeat_ns, now, __ATOMIC_RELAXED);
	s->next_heartbeat_ns = now + PC_SWAP_HEARTBEAT_NS;
}

static void attach(struct pc_swap *s, uint64_t now)
{
	char err[256];
	s->next_attach_ns = now + PC_SWAP_REATTACH_NS;
	if (s->map.ctl != NULL) {
		if (pc_shm_still_current(s->instance, &s->map))
			return;
		printf(PROG ": control segment of instance '%s' went away; looking for a new "
			    "one\n", s->instance);
		fflush(stdout);
		pc_shm_close(&s->map);
	}
	int rc = pc_shm_open(s->instance, &s->map, err, sizeof(err));
	if (rc < 0) {
		/* No control plane (yet) is normal; anything else is said once. */
		if (rc != -ENOENT && rc != -EAGAIN && !s->attach_logged) {
			fprintf(stderr, PROG ": instance '%s': %s\n", s->instance, err);
			s->attach_logged = true;
		}
		return;
	}
	s->attach_logged = false;
	/* The layout pc_shm_open() validated; control could rewrite the
	 * header later, and only these copies are used for bounds. */
	s->slot_max = s->map.ctl->slot_max;
	s->slot_off[0] = s->map.ctl->slot_off[0];
	s->slot_off[1] = s->map.ctl->slot_off[1];
	for (unsigned i = 0; i < 2; i++) {
		if (s->slot_off[i] > s->map.len || s->map.len - s->slot_off[i] < s->slot_max) {
			fprintf(stderr, PROG ": control segment of '%s' changed its layout while "
					"being attached: ignored\n", s->instance);
			pc_shm_close(&s->map);
			return;
		}
	}
	/* Every word found is new to us, even one a previous run handled:
	 * this process has not run it; so is its quarantine table. */
	s->handled = 0;
	s->quar_seq = 0;
	struct pc_shm_ack *a = &s->map.ctl->ack;
	a->pid = (uint32_t)getpid();
	a->workers = s->dp->n_workers;
	a->started_ns = s->started_ns;
	a->applied_generation = s->generation;
	a->applied_rules = pc_policy_rule_count(s->dp->active->policy);
	a->applied_ns = s->applied_ns;
	heartbeat(s, now);
	printf(PROG ": attached to the control segment of instance '%s'\n", s->instance);
	fflush(stdout);
}

static void ack(struct pc_swap *s, uint32_t generation, int result, uint64_t t0,
		uint64_t seen_rt, uint64_t quiescent_rt)
{
	struct pc_shm_ack *a = &s->map.ctl->ack;
	a->result = result;
	snprintf(a->error, sizeof(a->error), "%s", result == 0 ? "" : s->err);
	a->seen_ns = seen_rt;
	a->quiescent_ns = quiescent_rt;
	a->applied_generation = s->generation;
	a->applied_rules = pc_policy_rule_count(s->dp->active->policy);
	a->applied_ns = s->applied_ns;
	uint64_t now = pc_shm_now_ns(CLOCK_MONOTONIC);
	a->apply_ns = now - t0;
	heartbeat(s, now); /* a long grace period must not look like a dead dataplane */
	/* Release: control, loading the generation with acquire, sees every
	 * field above. */
	__atomic_store_n(&a->acked_generation, generation, __ATOMIC_RELEASE);
	if (result == 0)
		printf(PROG ": policy generation %" PRIu32 " applied (%" PRIu32 " rules) in %"
			    PRIu64 " us (copy+crc %" PRIu64 ", build %" PRIu64 ", grace %" PRIu64
			    ")\n", generation, a->applied_rules, a->apply_ns / 1000,
		       s->split_copy_ns / 1000, s->split_build_ns / 1000, s->split_grace_ns / 1000);
	else
		fprintf(stderr, PROG ": policy generation %" PRIu32 " refused, still running "
				"generation %" PRIu32 ": %s\n", generation, s->generation, s->err);
	fflush(stdout);
}

/* Private copy of the image the publish word names, or NULL: with s->err
 * set and *fail the errno when the slot is bad, with *fail 0 when the word
 * kept changing (try again next loop). *word is updated to the word the
 * copy belongs to. */
static uint8_t *copy_slot(struct pc_swap *s, uint64_t *word, size_t *len, uint32_t *crc,
			  uint32_t *got, int *fail)
{
	const struct pc_shm_ctl *c = s->map.ctl;
	*fail = 0;
	for (int t = 0; t < PC_SWAP_COPY_TRIES; t++) {
		uint32_t gen = PC_SHM_PUBLISH_GEN(*word), slot = PC_SHM_PUBLISH_SLOT(*word);
		if (unlikely(slot > 1)) {
			snprintf(s->err, sizeof(s->err),
				 "generation %u: publish names slot %u, there are slots 0 and 1",
				 gen, slot);
			*fail = -EINVAL;
			return NULL;
		}
		/* Volatile: each field is read once, here, whatever control
		 * does meanwhile. */
		const volatile struct pc_shm_slot *d = &c->slot[slot];
		uint64_t n = d->len;
		uint32_t sgen = d->generation;
		*crc = d->crc32;
		if (unlikely(sgen != gen)) {
			snprintf(s->err, sizeof(s->err),
				 "generation %u: slot %u was filled for generation %u", gen, slot,
				 sgen);
			*fail = -EINVAL;
		} else if (unlikely(n == 0 || n > s->slot_max)) {
			snprintf(s->err, sizeof(s->err),
				 "generation %u: slot %u length %" PRIu64 " out of bounds (1 to %" PRIu64
				 " bytes)", gen, slot, n, s->slot_max);
			*fail = -EMSGSIZE;
		}
		uint8_t *buf = NULL;
		if (*fail == 0) {
			buf = malloc(n);
			if (buf == NULL) {
				snprintf(s->err, sizeof(s->err),
					 "generation %u: no memory for a %" PRIu64 "-byte image", gen, n);
				*fail = -ENOMEM;
			} else {
				/* Offsets as validated at attach, not as the
				 * segment says now. */
				*got = pc_crc32c_copy(buf, (const uint8_t *)c + s->slot_off[slot], n);
			}
		}
		uint64_t again = __atomic_load_n(&c->publish, __ATOMIC_ACQUIRE);
		if (again == *word) {
			*len = n;
			return buf;
		}
		/* Control moved on during the copy: whatever we read may be
		 * half of the newer image. Handle the newer word instead. */
		free(buf);
		*fail = 0;
		*word = again;
	}
	return NULL;
}

static void handle(struct pc_swap *s, uint64_t word)
{
	struct pc_dp *dp = s->dp;
	uint64_t t0 = pc_shm_now_ns(CLOCK_MONOTONIC);
	uint64_t seen_rt = pc_shm_now_ns(CLOCK_REALTIME);
	size_t len = 0;
	uint32_t want = 0, got = 0;
	int fail;

	/* The checksum is of the private copy, computed as it is made. */
	uint8_t *img = copy_slot(s, &word, &len, &want, &got, &fail);
	if (img == NULL && fail == 0)
		return; /* still moving: next loop */
	uint32_t gen = PC_SHM_PUBLISH_GEN(word);
	s->handled = word;
	if (img == NULL) {
		ack(s, gen, fail, t0, seen_rt, 0);
		return;
	}
	if (unlikely(want != got)) {
		snprintf(s->err, sizeof(s->err),
			 "generation %u: slot checksum mismatch: slot says crc32 0x%08x, its %zu "
			 "bytes give 0x%08x", gen, want, len, got);
		free(img);
		ack(s, gen, -EBADMSG, t0, seen_rt, 0);
		return;
	}
	char perr[PC_SHM_ERR_MAX - 32];
	uint64_t t_copied = pc_shm_now_ns(CLOCK_MONOTONIC);
	/* The slot checksum just checked is a CRC-32C of these very bytes. */
	struct pc_policy *p = pc_policy_from_checked_image(img, len, perr, sizeof(perr));
	int perrno = errno;
	free(img);
	if (p == NULL) {
		snprintf(s->err, sizeof(s->err), "generation %u: %s", gen, perr);
		ack(s, gen, perrno > 0 ? -perrno : -EINVAL, t0, seen_rt, 0);
		return;
	}

	struct pc_dp_policy *old = dp->active;
	struct pc_dp_policy *next = rte_zmalloc("pc_policy_ref", sizeof(*next), 0);
	int rc = next == NULL ? -ENOMEM : 0;
	for (uint16_t i = 0; rc == 0 && i < dp->n_workers; i++) {
		next->scratch[i] = pc_engine_scratch_new(p);
		if (next->scratch[i] == NULL)
			rc = -ENOMEM;
	}
	if (rc == 0 && old->dlp != NULL && pc_policy_dlp_share(p, old->policy)) {
		/* The same DLP: bodies being scanned keep their streams. */
		next->dlp = old->dlp;
		next->dlp_prev = old->dlp_prev;
	} else if (rc == 0) {
		/* Other patterns for new bodies; the bodies being scanned finish
		 * with the set they started with (one change back). */
		rc = pc_dp_dlp_new(p, gen, dp->n_workers, &next->dlp);
		next->dlp_prev = old->dlp != NULL ? old->dlp : old->dlp_prev;
	}
	if (rc == 0)
		rc = gen_add(s, gen, p, true);
	if (rc < 0) {
		snprintf(s->err, sizeof(s->err), "generation %u: engine scratch: %s", gen,
			 strerror(-rc));
		for (uint16_t i = 0; next != NULL && i < dp->n_workers; i++)
			if (next->scratch[i] != NULL)
				pc_engine_scratch_free(next->scratch[i]);
		if (next != NULL && next->dlp != old->dlp)
			pc_dp_dlp_free(next->dlp, dp->n_workers);
		rte_free(next);
		pc_policy_free(p);
		ack(s, gen, rc, t0, seen_rt, 0);
		return;
	}
	next->policy = p;
	next->generation = gen;
	next->quarantine = quar_build(s, p, (int64_t)time(NULL));
	next->sources = pc_source_lpm_for_policy(p, old->sources);
	uint64_t t_built = pc_shm_now_ns(CLOCK_MONOTONIC);

	/* The worker's record of its current scratch, freed with the worker
	 * at the end; the worker itself decides with pol->scratch[]. */
	for (uint16_t i = 0; i < dp->n_workers; i++)
		__atomic_store_n(&dp->workers[i]->scratch, next->scratch[i], __ATOMIC_RELAXED);
	/* Release: a worker that loads the new pointer (acquire) sees the
	 * policy and the scratches it was built with. */
	stamp_publish(dp);
	__atomic_store_n(&dp->active, next, __ATOMIC_RELEASE);
	s->quar_active = next->quarantine;
	rte_rcu_qsbr_synchronize(dp->rcu, RTE_QSBR_THRID_INVALID);
	uint64_t quiescent_rt = pc_shm_now_ns(CLOCK_REALTIME);
	uint64_t t_grace = pc_shm_now_ns(CLOCK_MONOTONIC);

	s->generation = gen;
	s->applied_ns = quiescent_rt;
	s->split_copy_ns = t_copied - t0;
	s->split_build_ns = t_built - t_copied;
	s->split_grace_ns = t_grace - t_built;
	/* Every worker runs the new generation: that is what control waits
	 * for. Retiring the old one (a large policy takes milliseconds to
	 * free) comes after. */
	ack(s, gen, 0, t0, seen_rt, quiescent_rt);
	/* Every record of the old generation is in the rings now. */
	pc_swap_drain(s, s->log);
	for (uint16_t i = 0; i < dp->n_workers; i++)
		pc_engine_scratch_free(old->scratch[i]);
	/* DLP sets the new generation does not carry on. */
	if (old->dlp != next->dlp && old->dlp != next->dlp_prev)
		pc_dp_dlp_free(old->dlp, dp->n_workers);
	if (old->dlp_prev != next->dlp_prev)
		pc_dp_dlp_free(old->dlp_prev, dp->n_workers);
	pc_source_lpm_free(old->sources);
	free((void *)(uintptr_t)old->quarantine);
	pc_flow_dump_retire(s->dump, old->generation, old->policy); /* its flows stay */
	gen_retire(s, old->policy);
	rte_free(old);
}

int pc_swap_poll(struct pc_swap *s)
{
	uint64_t now = pc_shm_now_ns(CLOCK_MONOTONIC);
	if (now >= s->next_attach_ns)
		attach(s, now);
	if (s->map.ctl == NULL)
		return 0;
	/* Before anything is polled: work handed over after this load rings
	 * a value pc_swap_wait() does not sleep on. */
	s->doorbell = pc_shm_doorbell(s->map.ctl);
	if (now >= s->next_heartbeat_ns) {
		heartbeat(s, now);
		if (s->quar_next_expiry_s != 0 && (int64_t)time(NULL) >= s->quar_next_expiry_s)
			quar_publish(s); /* an entry's TTL ran out, control or not */
	}
	if (quar_copy(s))
		quar_publish(s);
	pc_flow_dump_poll(s->dump, s->map.ctl);
	/* Acquire: the slot control filled before this word is visible. */
	uint64_t word = __atomic_load_n(&s->map.ctl->publish, __ATOMIC_ACQUIRE);
	if (likely(word == s->handled || word == 0))
		return 0;
	handle(s, word);
	return 1;
}

void pc_swap_tune_heap(void)
{
	/* Blocks below 32 MiB (glibc's largest threshold on 64-bit) come from
	 * the heap rather than from mmap, and the heap's top is trimmed only
	 * past 1 GiB of free memory. */
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

void pc_swap_wait(struct pc_swap *s, unsigned max_us)
{
	if (s->map.ctl == NULL)
		rte_delay_us_sleep(max_us);
	else
		pc_shm_wait(s->map.ctl, s->doorbell, max_us);
}

int pc_swap_drain(struct pc_swap *s, FILE *out)
{
	struct pc_dlog_rec recs[PC_SWAP_DRAIN_BATCH];
	char line[PC_DLOG_LINE_MAX];
	int taken = 0, err = 0;
	const struct pc_dp *dp = s->dp;

	for (unsigned r = 0; r < dp->n_workers; r++) {
		struct rte_ring *ring = dp->dlog_rings[r];
		/* Bounded by what the ring held when we started, so a worker
		 * that logs faster than we write cannot keep us here. */
		unsigned left = rte_ring_count(ring);
		while (left > 0) {
			unsigned got = rte_ring_sc_dequeue_burst_elem(
				ring, recs, sizeof(recs[0]),
				RTE_MIN(left, (unsigned)PC_SWAP_DRAIN_BATCH), NULL);
			if (got == 0)
				break;
			left -= got;
			taken += (int)got;
			for (unsigned i = 0; out != NULL && i < got; i++) {
				const struct pc_policy *p = gen_policy(s, recs[i].generation);
				if (p == NULL) /* cannot happen: a policy outlives its records */
					p = dp->active->policy;
				int n = pc_dlog_format(&recs[i], p, line, sizeof(line));
				if (n > 0 && fwrite(line, 1, (size_t)n, out) != (size_t)n)
					err = -EIO;
			}
		}
	}
	if (out != NULL && taken > 0 && fflush(out) != 0)
		err = -errno;
	return err ? err : taken;
}

void pc_swap_free(struct pc_swap *s)
{
	if (s == NULL)
		return;
	if (s->map.ctl != NULL)
		__atomic_store_n(&s->map.ctl->ack.heartbeat_ns, 0, __ATOMIC_RELAXED);
	pc_shm_close(&s->map);
	/* The dataplane (and its active pointer) may be gone already. */
	free((void *)(uintptr_t)s->quar_active);
	free(s->quar);
	pc_flow_dump_free(s->dump);
	for (unsigned i = 0; i < PC_SWAP_GENS; i++)
		if (s->gens[i].policy != NULL && s->gens[i].owned)
			pc_policy_free((struct pc_policy *)(uintptr_t)s->gens[i].policy);
	free(s);
}
